"""cocotb bench for :class:`neurohw.hw.core.NeuronCore`: runs a spike trace step by step and
compares every output spike and every neuron's state with ``neurohw.model.reference.run``.

Test data (made by ``tests/test_neuron_core.py``, read with
:func:`neurohw.sim.lib.testdata.load_test_data`):

* ``ports``: ``NeuronCore.port_description()`` (payload field offsets, target codes, latency);
* ``n_neurons``, ``n_axons``, ``n_currents``, ``refractory_period``;
* ``config``: commands ``[target, neuron, axon, value]`` written (and read back) before step 0;
* ``probes``: commands ``[write, target, neuron, axon, data, expected]`` sent after ``config``;
  ``expected`` is the response data, or ``None`` when the command must be refused;
* ``events``: per step, the axon addresses to send, in order (a count k on axon a = k events);
* ``expected``: ``spikes``/``v``/``refractory`` (steps, neurons) and ``i`` (steps, currents,
  neurons) from the reference model, states at the end of each step; ``pending`` (steps,
  neurons) with ``reset_delay``;
* ``expected_status``: optional ``{status name: value}`` checked after the last step;
* traffic: ``seed``, ``idle_probability``, ``backpressure_probability``, ``stall_probability``,
  ``stall_cycles``, ``cmd_idle_probability``;
* ``sweep_hold_cycles``: ``spikes_out.ready`` is held low for that many cycles from the start of
  every sweep (far longer than any buffer: the sweep must stall, not drop);
* ``check_throughput``: with a source that is never idle, require the exact event-accept cadence
  (``_expected_gaps``) and report the sweep length;
* ``state_every``: optional, the states are read every that many steps (and after the last);
  the spikes are checked every step;
* ``snapshots``: optional ``{steps, weights (n, C, A, N), pre_trace (n, A), post_trace (n, N)}``
  (the traces only with STDP) from the system model, and ``weight_reads`` (``[channel, neuron
  field, axon, neuron]`` of every weight word): at the end of each of those steps every weight
  and every trace is read and compared.

After the run the core is reset: every state, every delay-ring slot of the accumulators and
every trace must read 0, and the weights keep the values of the last snapshot step.
"""

from __future__ import annotations

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge, with_timeout

from neurohw.sim.lib.fields import field_value, pack_fields
from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data

CLOCK_NS = 10


def _expected_gaps(events, ports) -> list[int]:
    """Cycles between consecutive event transfers when the source is never idle: a dense
    event takes its row (``event_cycles``); the sparse engine looks one event ahead, so the
    transfer of event k+1 waits for the synapses of event k-1."""
    cost = ports["event_cycles"]
    if ports["connectivity"] in ("dense", "conv"):
        # (A conv core also takes the next event in the last clock of the previous one.)
        return [cost[axon] for axon in events[:-1]]
    # Sparse: an event dropped by the input count cap or the event limit skips its fan-out.
    cap, limit = ports["input_count_cap"], ports["event_limit"]
    counts: dict[int, int] = {}
    applied = 0
    costs = []
    for axon in events:
        live = (cap is None or counts.get(axon, 0) < cap) and (limit is None or applied < limit)
        if live:
            counts[axon] = counts.get(axon, 0) + 1
            applied += 1
        costs.append(cost[axon] if live else 1)
    return [1] + costs[:-2]


class HoldableSink(StreamSink):
    """A :class:`StreamSink` that can also be told to refuse for the next ``hold_cycles``."""

    hold_cycles = 0

    def _ready_this_cycle(self, stall_left: int) -> tuple[bool, int]:
        if self.hold_cycles > 0:
            self.hold_cycles -= 1
            return False, stall_left
        return super()._ready_this_cycle(stall_left)


class CoreTB(TB):
    """Clock, reset and one stream model per port of the core, with seeded random traffic."""

    def __init__(self, dut, data):
        super().__init__(dut, clock_period_ns=CLOCK_NS)
        self.data = data
        self.ports = data["ports"]
        seed = int(data.get("seed", 0))
        idle = float(data.get("idle_probability", 0.0))
        backpressure = float(data.get("backpressure_probability", 0.0))
        stall_probability = float(data.get("stall_probability", 0.0))
        stall_cycles = int(data.get("stall_cycles", 0))
        self.events = StreamSource(
            dut, "spikes_in", self.clk, reset=self.rst, idle_probability=idle, seed=seed
        )
        self.step = StreamSource(
            dut, "step", self.clk, reset=self.rst, idle_probability=idle, seed=seed + 1
        )
        self.cmd = StreamSource(
            dut,
            "cmd",
            self.clk,
            reset=self.rst,
            idle_probability=float(data.get("cmd_idle_probability", idle)),
            seed=seed + 2,
        )
        self.spikes = HoldableSink(
            dut,
            "spikes_out",
            self.clk,
            reset=self.rst,
            backpressure_probability=backpressure,
            stall_probability=stall_probability,
            stall_cycles=stall_cycles,
            seed=seed + 3,
        )
        self.done = StreamSink(
            dut,
            "done",
            self.clk,
            reset=self.rst,
            backpressure_probability=backpressure,
            seed=seed + 4,
        )
        self.rsp = StreamSink(
            dut,
            "rsp",
            self.clk,
            reset=self.rst,
            backpressure_probability=backpressure,
            seed=seed + 5,
        )
        self.checkers = [
            StreamProtocolChecker(dut, name, self.clk, reset=self.rst)
            for name in ("spikes_out", "done", "rsp")
        ]
        self.responses_taken = 0
        self.cycle = 0
        self.event_cycles: list[int] = []
        cocotb.start_soon(self._monitor())

    async def _monitor(self):
        """Count cycles and record the cycle of every spikes_in transfer."""
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            self.cycle += 1
            if (
                self.dut.spikes_in__valid.value == 1
                and self.dut.spikes_in__ready.value == 1
                and self.dut.rst.value == 0
            ):
                self.event_cycles.append(self.cycle)

    def timeout_ns(self, cycles: int) -> int:
        stall = int(self.data.get("stall_cycles", 0))
        backpressure = float(self.data.get("backpressure_probability", 0.0))
        slack = 1 + 4 * backpressure + 4 * float(self.data.get("idle_probability", 0.0))
        return int((cycles * slack * 4 + 2000 + 8 * stall * self.data["n_neurons"]) * CLOCK_NS)

    async def commands(self, commands) -> list[tuple[int, int]]:
        """Send ``(write, target, neuron, axon, value)`` commands; return ``(data, error)``
        of each response, in order."""
        layout = self.ports["cmd"]
        self.cmd.send(
            pack_fields({"write": w, "target": t, "neuron": n, "axon": a, "data": d}, layout)
            for w, t, n, a, d in commands
        )
        count = self.responses_taken + len(commands)
        words = await with_timeout(
            self.rsp.receive(count), self.timeout_ns(12 * len(commands)), "ns"
        )
        words = words[self.responses_taken : count]
        self.responses_taken = count
        rsp = self.ports["rsp"]
        return [(field_value(word, rsp["data"]), field_value(word, rsp["error"])) for word in words]


async def run_trace(dut):
    data = load_test_data()
    tb = CoreTB(dut, data)
    targets = tb.ports["targets"]
    status = tb.ports["status"]
    n_neurons, n_currents = data["n_neurons"], data["n_currents"]
    step_modulus = 1 << tb.ports["step_width"]
    expected = data["expected"]
    spike_fields = tb.ports["spikes_out"]
    await tb.reset()

    # Run-time configuration: write, then read back every word.
    config = data.get("config", [])
    if config:
        results = await tb.commands([(1, t, n, a, value) for t, n, a, value in config])
        assert all(error == 0 for _, error in results), f"config write refused: {results}"
        results = await tb.commands([(0, t, n, a, 0) for t, n, a, _ in config])
        for (target, neuron, axon, value), (got, error) in zip(config, results):
            assert error == 0 and got == value, (
                f"config read-back of target {target}, neuron {neuron}, axon {axon}: expected "
                f"{value}, actual {got} (error={error})"
            )

    # Probes: [write, target, neuron, axon, data, expected data, or None for an error].
    probes = data.get("probes", [])
    if probes:
        results = await tb.commands([probe[:5] for probe in probes])
        for probe, (got, error) in zip(probes, results):
            want = probe[5]
            if want is None:
                assert error == 1, f"command {probe[:5]} should be refused, answered {got}"
            else:
                assert error == 0 and got == want, (
                    f"command {probe[:5]}: expected {want}, actual {got} (error={error})"
                )

    state_reads = [("v", targets["V"], None)]
    state_reads += [(f"i[{c}]", targets[f"I{c}"], c) for c in range(n_currents)]
    if "REFRACTORY" in targets:
        state_reads.append(("refractory", targets["REFRACTORY"], None))
    if "PENDING" in targets:
        state_reads.append(("pending", targets["PENDING"], None))

    steps = len(data["events"])
    state_every = int(data.get("state_every") or 1)
    snapshots = data.get("snapshots")
    snapshot_index = {step: k for k, step in enumerate(snapshots["steps"])} if snapshots else {}
    # Potentiation walks a weight column per spiking neuron after the sweep.
    learn_cycles = data["n_neurons"] * data["n_axons"] if tb.ports.get("stdp") else 0

    spikes_seen = 0
    for t, events in enumerate(data["events"]):
        cycle_before = tb.cycle
        tb.events.send(events)
        await with_timeout(tb.events.wait_idle(), tb.timeout_ns(len(events) * n_neurons + 10), "ns")
        if data.get("check_throughput") and len(events) > 1:
            cycles = tb.event_cycles[-len(events) :]
            gaps = [b - a for a, b in zip(cycles, cycles[1:])]
            expected_gaps = _expected_gaps(events, tb.ports)
            assert gaps == expected_gaps, (
                f"step {t}: events were accepted {gaps} cycles apart, expected "
                f"{expected_gaps} (each event's row or fan-out back to back)"
            )
        sweep_start = tb.cycle
        hold = int(data.get("sweep_hold_cycles", 0))
        tb.spikes.hold_cycles = hold
        tb.step.send([0])
        words = await with_timeout(
            tb.done.receive(t + 1), tb.timeout_ns(4 * n_neurons + 200 + hold + learn_cycles), "ns"
        )
        if hold and sum(1 for count in expected["spikes"][t] if count) > data["fifo_depth"]:
            assert tb.cycle - sweep_start >= hold, (
                f"step {t}: the sweep ended {tb.cycle - sweep_start} cycles after step although "
                f"spikes_out was held not ready for {hold} cycles"
            )
        assert words[t] == t % step_modulus, (
            f"step {t}: done reported step {words[t]}, expected {t % step_modulus}"
        )
        if t == 0 or data.get("check_throughput"):
            tb.log.info(
                "step %d: %d events in %d cycles, sweep %d cycles",
                t,
                len(events),
                sweep_start - cycle_before,
                tb.cycle - sweep_start,
            )

        # Every spike of step t has been transferred before done.
        got = {}
        for word in tb.spikes.received[spikes_seen:]:
            neuron = field_value(word, spike_fields["neuron"])
            count = field_value(word, spike_fields["count"])
            step = field_value(word, spike_fields["step"])
            assert step == t % step_modulus, (
                f"step {t}: spike of neuron {neuron} carries step number {step}"
            )
            assert neuron not in got, f"step {t}: neuron {neuron} reported twice"
            assert count > 0, f"step {t}: neuron {neuron} reported with spike count 0"
            got[neuron] = count
        spikes_seen = len(tb.spikes.received)
        phantoms = sorted(neuron for neuron in got if neuron >= n_neurons)
        assert not phantoms, (
            f"step {t}: spikes from neurons {phantoms}, which do not exist (the core has "
            f"{n_neurons}: a padding lane's slot must never spike)"
        )
        assert len(tb.done.received) == t + 1, (
            f"step {t}: done sent {len(tb.done.received)} words, expected {t + 1}"
        )
        for neuron in range(n_neurons):
            want = expected["spikes"][t][neuron]
            actual = got.get(neuron, 0)
            assert actual == want, (
                f"step {t}, neuron {neuron}, spikes: expected {want}, actual {actual}"
            )

        if t in snapshot_index:
            await check_snapshot(tb, data, f"step {t}", snapshot_index[t])
        if (t + 1) % state_every and t != steps - 1:
            continue

        # Every neuron's state at the end of the step.
        reads = [(name, c, neuron) for neuron in range(n_neurons) for name, _, c in state_reads]
        results = await tb.commands(
            [(0, code, neuron, 0, 0) for neuron in range(n_neurons) for _, code, _ in state_reads]
        )
        for (name, c, neuron), (actual, error) in zip(reads, results):
            assert error == 0, f"step {t}, neuron {neuron}, {name}: read refused"
            if name == "v":
                want = expected["v"][t][neuron]
            elif name in ("refractory", "pending"):
                want = expected[name][t][neuron]
            else:
                want = expected["i"][t][c][neuron]
            assert actual == want, (
                f"step {t}, neuron {neuron}, {name}: expected {want}, actual {actual}"
            )

    for name, want in data.get("expected_status", {}).items():
        [(actual, error)] = await tb.commands([(0, targets["STATUS"], status[name], 0, 0)])
        assert error == 0 and actual == want, f"status {name}: expected {want}, actual {actual}"

    max_delay = int(tb.ports.get("max_delay", 1))
    if max_delay > 1 and "ACC0" in targets:
        # Drive still in flight in the ring (logged: the reset below must clear it).
        ring = [
            (targets[f"ACC{c}"], neuron, k)
            for neuron in range(n_neurons)
            for c in range(2)
            if f"ACC{c}" in targets
            for k in range(max_delay)
        ]
        results = await tb.commands([(0, code, neuron, k, 0) for code, neuron, k in ring])
        tb.log.info(
            "before reset: %d of %d delay-ring words are non-zero",
            sum(1 for value, _ in results if value),
            len(ring),
        )

    # Reset clears every state (and the accumulators), not the weights.
    await RisingEdge(tb.clk)  # leave the ReadOnly phase the last response was seen in
    await tb.reset()
    tb.responses_taken = len(tb.rsp.received)
    # (what, target, neuron field, axon field)
    probes = [
        (f"neuron {neuron}, {name}", code, neuron, 0)
        for neuron in range(n_neurons)
        for name, code, _ in state_reads
    ]
    # Every slot of the delay ring (the axon field selects the slot offset).
    probes += [
        (
            f"neuron {neuron}, acc{c}" + (f" slot {k}" if max_delay > 1 else ""),
            targets[f"ACC{c}"],
            neuron,
            k,
        )
        for neuron in range(n_neurons)
        for c in range(2)
        if f"ACC{c}" in targets
        for k in range(max_delay)
    ]
    if "PRE_TRACE" in targets:
        probes += [
            (f"pre trace of axon {axon}", targets["PRE_TRACE"], 0, axon)
            for axon in range(data["n_axons"])
        ]
    if "POST_TRACE" in targets:
        probes += [
            (f"post trace of neuron {neuron}", targets["POST_TRACE"], neuron, 0)
            for neuron in range(n_neurons)
        ]
    results = await tb.commands([(0, code, neuron, axon, 0) for _, code, neuron, axon in probes])
    for (what, _, _, _), (actual, error) in zip(probes, results):
        assert error == 0 and actual == 0, (
            f"after reset, {what}: expected 0, actual {actual} (error={error})"
        )
    if snapshots and snapshots["steps"] and snapshots["steps"][-1] == steps - 1:
        # Weights are configuration: reset keeps the learned values.
        await check_snapshot(tb, data, "after reset", len(snapshots["steps"]) - 1, traces=False)
    # Nothing was sent that nobody asked for: after the last step and the reset no spike, no
    # done word and no response beyond those the commands asked for.
    await tb.cycles(20)
    extra_spikes = len(tb.spikes.received) - spikes_seen
    assert extra_spikes == 0, f"{extra_spikes} spike words after the last step's done"
    assert len(tb.done.received) == steps, (
        f"done sent {len(tb.done.received)} words for {steps} steps"
    )
    assert len(tb.rsp.received) == tb.responses_taken, (
        f"rsp sent {len(tb.rsp.received)} words for {tb.responses_taken} commands"
    )
    for checker in tb.checkers:
        assert not checker.violations, checker.violations


async def check_snapshot(tb, data, when, index, *, traces=True):
    """Read every weight (and, with STDP, every pre and post trace) and compare them with
    snapshot ``index`` of the system model."""
    targets = tb.ports["targets"]
    snapshots = data["snapshots"]
    weights = snapshots["weights"][index]
    reads = data["weight_reads"]
    results = await tb.commands(
        [(0, targets[f"WEIGHT{c}"], field, axon, 0) for c, field, axon, _ in reads]
    )
    for (c, _, axon, neuron), (actual, error) in zip(reads, results):
        want = weights[c][axon][neuron]
        assert error == 0 and actual == want, (
            f"{when}, weight of channel {c}, axon {axon}, neuron {neuron}: expected {want}, "
            f"actual {actual} (error={error})"
        )
    if not traces or "pre_trace" not in snapshots:
        return
    pre = snapshots["pre_trace"][index]
    post = snapshots["post_trace"][index]
    results = await tb.commands(
        [(0, targets["PRE_TRACE"], 0, axon, 0) for axon in range(len(pre))]
        + [(0, targets["POST_TRACE"], neuron, 0, 0) for neuron in range(len(post))]
    )
    for axon, (actual, error) in enumerate(results[: len(pre)]):
        assert error == 0 and actual == pre[axon], (
            f"{when}, pre trace of axon {axon}: expected {pre[axon]}, actual {actual} "
            f"(error={error})"
        )
    for neuron, (actual, error) in enumerate(results[len(pre) :]):
        assert error == 0 and actual == post[neuron], (
            f"{when}, post trace of neuron {neuron}: expected {post[neuron]}, actual {actual} "
            f"(error={error})"
        )


@cocotb.test()
async def trace(dut):
    """Events, sweep, spikes and every state, step by step, against the reference model."""
    await run_trace(dut)
