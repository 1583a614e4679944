"""cocotb bench for :class:`neurohw.hw.system.SystemTop`: drives the host's event stream for a
batch of samples, monitors ``host_out`` under random back-pressure and compares, window by
window, the output spikes and the barrier order with the system reference model.

Test data (made by :func:`neurohw.sim.system_case.make_case`, read with
:func:`neurohw.sim.lib.testdata.load_test_data`):

* ``ports``: ``SystemTop.port_description()`` (event format, cores, debug payload layout);
* ``steps``, ``samples``: samples of ``steps`` steps run back to back;
* ``host_words``: every word the host sends (``host_events.encode_samples``);
* ``expected_windows``: per global step, the sorted ``[key, count]`` the host must receive;
* ``expected_eos_dropped``: per core, the end-of-sample drop counter at the end;
* ``weight_writes`` (chips with SPRAM cores): ``[core, target, neuron, axon, value]`` written
  over the debug port after reset, before the first host word (``Chip.weight_load_commands``);
* ``expected_final_states``: per core, ``[target, neuron, value]`` or ``[target, neuron,
  value, axon]`` read over the debug port after the run (the state one step after the final
  clear; with STDP also every weight of every plastic synapse and every trace);
* traffic: ``seed``, ``idle_probability`` (host_in), ``backpressure_probability``,
  ``stall_probability``, ``stall_cycles`` (host_out);
* with per-sample activity snapshots (``verify_system(..., activity_per_sample=True)``):
  ``snapshot_word_ends`` (per sample, the index after its last host word: the barrier that
  closes its next-to-last window) and ``expected_activity_snapshots`` (the counters there,
  ``predict_activity_snapshots``). The bench then sends the samples one at a time, waits for
  each sample's last window to leave ``host_out`` and settle, and reads every counter before
  sending the next.

The bench writes ``system_results.json`` beside the test data: every word that left
``host_out`` (so callers read the RTL's own outputs), the cycle at which each barrier left it and
the cycle counts derived from them. While it runs, ``progress.txt`` there holds ``done total``
(samples whose last window has left ``host_out``), for progress reports of long runs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout
from cocotb.triggers import Event as CocotbEvent

from neurohw.routing import EventFormat, EventKind
from neurohw.sim.lib.fields import field_value, pack_fields
from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import TEST_DATA_ENV_VAR, load_test_data

#: Cycles the final step's core-to-core spikes are given to reach their cores' ingress.
SETTLE_CYCLES = 256

CLOCK_NS = 10


class SystemTB(TB):
    """Clock, reset, the host port's source and sink, and the debug port.

    Cycles are counted from simulation time in the transfer callbacks, not by a coroutine that
    wakes every clock: a long run's speed is set by how many coroutines wake per cycle. For the
    same reason the debug port's driver and monitor start only when the first command is sent.
    """

    def __init__(self, dut, data):
        super().__init__(dut, clock_period_ns=CLOCK_NS)
        self.data = data
        self.ports = data["ports"]
        self.fmt = EventFormat(**self.ports["format"])
        self.n_cores = self.ports["n_cores"]
        self.seed = int(data.get("seed", 0))
        self.host_in = StreamSource(
            dut,
            "host_in",
            self.clk,
            reset=self.rst,
            idle_probability=float(data.get("idle_probability", 0.0)),
            seed=self.seed,
            on_transfer=self._host_in_transfer,
        )
        self.host_out = StreamSink(
            dut,
            "host_out",
            self.clk,
            reset=self.rst,
            backpressure_probability=float(data.get("backpressure_probability", 0.0)),
            stall_probability=float(data.get("stall_probability", 0.0)),
            stall_cycles=int(data.get("stall_cycles", 0)),
            seed=self.seed + 1,
            on_transfer=self._host_out_transfer,
        )
        self.checkers = [StreamProtocolChecker(dut, "host_out", self.clk, reset=self.rst)]
        self.debug = "dbg_cmd" in self.ports
        self.dbg_cmd = self.dbg_rsp = None
        if self.debug:
            # Driven idle until the debug port's driver and monitor start.
            dut.dbg_cmd__valid.value = 0
            dut.dbg_rsp__ready.value = 0
        self.barrier_cycles: list[int] = []
        self.first_input_cycle = None
        # With activity counters: the chip's ``cycles`` port at the same transfers.
        self.counts_cycles = data.get("expected_activity") is not None
        self.barrier_counts: list[int] = []
        self.first_input_count = None
        # Per-sample snapshots: the host word index each sample starts at, and the cycle
        # (bench and RTL counter) its first word was taken.
        self.transfers = 0
        self.chunk_starts = set(data.get("snapshot_word_ends", [])[:-1]) | {0}
        self.chunk_start_cycles: dict[int, int] = {}
        self.chunk_start_counts: dict[int, int] = {}
        self._barrier_target = None
        self._barriers_seen = CocotbEvent()
        self._progress_path = Path(os.environ[TEST_DATA_ENV_VAR]).with_name("progress.txt")

    async def barriers(self, count: int) -> None:
        """Wait until ``count`` barriers have left host_out."""
        if len(self.barrier_cycles) < count:
            self._barrier_target = count
            self._barriers_seen.clear()
            await self._barriers_seen.wait()

    def _host_in_transfer(self, word: int) -> None:
        if self.first_input_cycle is None:
            self.first_input_cycle = self.elapsed_cycles
            if self.counts_cycles:
                self.first_input_count = self.status("cycles")
        if self.transfers in self.chunk_starts:
            self.chunk_start_cycles[self.transfers] = self.elapsed_cycles
            if self.counts_cycles:
                self.chunk_start_counts[self.transfers] = self.status("cycles")
        self.transfers += 1

    def _host_out_transfer(self, word: int) -> None:
        if self.fmt.unpack(word).kind != EventKind.BARRIER:
            return
        self.barrier_cycles.append(self.elapsed_cycles)
        if self.counts_cycles:
            self.barrier_counts.append(self.status("cycles"))
        self._report_progress()
        if self._barrier_target is not None and len(self.barrier_cycles) >= self._barrier_target:
            self._barrier_target = None
            self._barriers_seen.set()

    def _report_progress(self):
        # Barrier k (k >= 1) closes window k - 1; a sample ends with its window steps - 1.
        steps, samples = self.data["steps"], self.data["samples"]
        closed = len(self.barrier_cycles) - 1
        if closed > 0 and closed % steps == 0 and closed // steps <= samples:
            self._progress_path.write_text(f"{closed // steps} {samples}\n")

    def _start_debug_port(self):
        self.dbg_cmd = StreamSource(
            self.dut, "dbg_cmd", self.clk, reset=self.rst, seed=self.seed + 2
        )
        self.dbg_rsp = StreamSink(self.dut, "dbg_rsp", self.clk, reset=self.rst, seed=self.seed + 3)
        self.checkers.append(StreamProtocolChecker(self.dut, "dbg_rsp", self.clk, reset=self.rst))

    def status(self, name: str, core: int | None = None) -> int:
        handle = getattr(self.dut, name if core is None else f"{name}__{core}")
        return int(handle.value)

    async def load_weights(self, writes) -> None:
        """Write ``[core, target, neuron, axon, value]`` weights over the debug port (SPRAM
        cores, which have no initial contents), back to back; every write must be accepted."""
        if self.dbg_cmd is None:
            self._start_debug_port()
        layout = self.ports["dbg_cmd"]
        names = ("core", "target", "neuron", "axon", "data")
        self.dbg_cmd.send(
            [pack_fields({"write": 1, **dict(zip(names, write))}, layout) for write in writes]
        )
        count = len(self.dbg_rsp.received) + len(writes)
        words = await with_timeout(
            self.dbg_rsp.receive(count), (1000 + 40 * len(writes)) * CLOCK_NS, "ns"
        )
        errors = [
            write
            for write, word in zip(writes, words[-len(writes) :])
            if field_value(word, self.ports["dbg_rsp"]["error"])
        ]
        assert not errors, f"{len(errors)} weight writes refused, first {errors[0]}"

    async def command(self, core, write, target, neuron, axon=0, value=0) -> tuple[int, int]:
        if self.dbg_cmd is None:
            self._start_debug_port()
        layout = self.ports["dbg_cmd"]
        self.dbg_cmd.send(
            [
                pack_fields(
                    {
                        "core": core,
                        "write": write,
                        "target": target,
                        "neuron": neuron,
                        "axon": axon,
                        "data": value,
                    },
                    layout,
                )
            ]
        )
        count = len(self.dbg_rsp.received) + 1
        words = await with_timeout(self.dbg_rsp.receive(count), 20000 * CLOCK_NS, "ns")
        rsp = self.ports["dbg_rsp"]
        return field_value(words[-1], rsp["data"]), field_value(words[-1], rsp["error"])


def _windows(fmt, words, n_windows):
    """Split host_out words into (barrier tag, [events]) per window, in arrival order."""
    windows, current = [], []
    for word in words:
        event = fmt.unpack(word)
        if event.kind == EventKind.BARRIER:
            windows.append((event.step, current))
            current = []
        else:
            current.append(event)
        if len(windows) == n_windows:
            break
    return windows


async def check_activity(tb, data):
    """With activity counters: every counter equals the model's prediction
    (``predict_activity_counters``), read after the run (``docs/system-hardware.md``). Returns
    what the counters read (``None`` without counters)."""
    expected = data.get("expected_activity")
    if expected is None:
        return None
    read, differences = await read_activity(tb, data, expected)
    # The cycle counter against the bench's own count, first host word to the last sample's
    # final barrier on host_out.
    n_steps = data["steps"] * data["samples"]
    read["cycles"] = tb.barrier_counts[n_steps] - tb.first_input_count
    bench_cycles = tb.barrier_cycles[n_steps] - tb.first_input_cycle
    if read["cycles"] != bench_cycles:
        differences.append(f"cycles: RTL {read['cycles']}, bench {bench_cycles}")
    assert not differences, "activity counters differ from the model: " + "; ".join(differences)
    return read


async def read_activity(tb, data, expected, where=""):
    """Read every activity counter (the cores' over the debug port, two 16-bit words each,
    the chip's from its ports) and compare each with ``expected``. Returns what they read
    (without ``cycles``) and the differences, each prefixed with ``where``."""
    differences = []
    read = {"cores": [{} for _ in expected["cores"]]}
    for c, counts in enumerate(expected["cores"]):
        target = tb.ports["cores"][c]["STATUS"]
        for name, want in counts.items():
            # Two 16-bit words, low then high (the response's data field is signed).
            low, error_low = await tb.command(c, 0, target, data["activity_status"][name])
            high, error = await tb.command(c, 0, target, data["activity_status"][f"{name}_HIGH"])
            error |= error_low
            value = (low & 0xFFFF) | (high & 0xFFFF) << 16
            read["cores"][c][name] = value
            if error or value != want:
                differences.append(
                    f"{where}core {c} {name}: RTL {value} (error {error}), model {want}"
                )
    for name in ("host_words_in", "host_words_out", "router_hops"):
        read[name] = tb.status(name)
        if tb.status(name) != expected[name]:
            differences.append(f"{where}{name}: RTL {tb.status(name)}, model {expected[name]}")
    return read, differences


async def send_with_snapshots(tb, data, timeout_ns):
    """Send the samples one at a time; after each, once its last window has left host_out and
    the last step's spikes have settled, read every counter and compare it with the model's
    snapshot. The host holds its words meanwhile, so every core is between steps. Returns the
    reads and their differences from the model; each read has ``cycles``: the cycles the chip ran with the host sending, from each
    sample's first word to its last window's barrier, summed over the samples so far (the
    stalls for the reads left out)."""
    words, steps = data["host_words"], data["steps"]
    snapshots, differences, start, active = [], [], 0, 0
    for k, (end, expected) in enumerate(
        zip(data["snapshot_word_ends"], data["expected_activity_snapshots"])
    ):
        tb.host_in.send(words[start:end])
        # Barriers -1 .. (k + 1) * steps - 1: the sample's last window has been closed.
        await with_timeout(tb.barriers((k + 1) * steps + 1), timeout_ns, "ns")
        await ClockCycles(tb.clk, SETTLE_CYCLES)
        read, wrong = await read_activity(tb, data, expected, where=f"after sample {k}: ")
        active += tb.barrier_counts[(k + 1) * steps] - tb.chunk_start_counts[start]
        read["cycles"] = active
        snapshots.append(read)
        differences += wrong
        start = end
    tb.host_in.send(words[start:])
    return snapshots, differences


@cocotb.test()
async def run_samples(dut):
    """Every output spike of every window, the barrier order and the status counters."""
    data = load_test_data()
    tb = SystemTB(dut, data)
    fmt = tb.fmt
    modulus = 1 << fmt.step_width
    steps, samples = data["steps"], data["samples"]
    n_steps = steps * samples
    expected = data["expected_windows"]
    await tb.reset()
    weight_load_cycles = None
    if data.get("weight_writes"):
        started = tb.elapsed_cycles
        await tb.load_weights(data["weight_writes"])
        weight_load_cycles = tb.elapsed_cycles - started

    # Barriers -1 .. n_steps: the last window's barrier closes the final (clearing) step.
    n_barriers = n_steps + 2
    budget = int(
        data.get("cycle_budget") or 4000 + n_steps * (400 + 60 * sum(data["core_neurons"]))
    )
    slack = (
        1
        + 4 * float(data.get("backpressure_probability", 0.0))
        + 4 * float(data.get("idle_probability", 0.0))
    )
    timeout_ns = (
        int(budget * slack * CLOCK_NS) + 2 * int(data.get("stall_cycles", 0)) * n_steps * CLOCK_NS
    )

    snapshots, snapshot_differences = None, []
    try:
        if data.get("expected_activity_snapshots") is not None:
            snapshots, snapshot_differences = await send_with_snapshots(tb, data, timeout_ns)
        else:
            tb.host_in.send(data["host_words"])
        await with_timeout(tb.barriers(n_barriers), timeout_ns, "ns")
    except Exception:
        got = _windows(fmt, tb.host_out.received, n_barriers)
        raise AssertionError(
            f"timeout after {tb.elapsed_cycles} cycles: {len(tb.barrier_cycles)} of {n_barriers} "
            f"barriers left host_out, {tb.host_in.sent_count} of {len(data['host_words'])} host "
            f"words were taken; windows seen: {[tag for tag, _ in got]}; status: "
            f"eos_dropped {[tb.status('eos_dropped', c) for c in range(tb.n_cores)]}, "
            f"invalid {[tb.status('invalid', c) for c in range(tb.n_cores)]}, "
            f"tag_error {tb.status('tag_error'):#x}"
        ) from None
    await tb.host_in.wait_idle()
    assert not snapshot_differences, "activity snapshots differ from the model: " + "; ".join(
        snapshot_differences
    )

    windows = _windows(fmt, tb.host_out.received, n_barriers)
    assert len(windows) == n_barriers, f"{len(windows)} barriers, expected {n_barriers}"
    # Barrier order: -1, 0, 1, ... (wrapping).
    for index, (tag, _) in enumerate(windows):
        want = (index - 1) % modulus
        assert tag == want, f"barrier {index} tagged {tag}, expected {want}"
    tag, events = windows[0]
    assert not events, f"events before the reset barrier: {events}"
    for w in range(n_steps):
        tag, events = windows[w + 1]
        sample, t = divmod(w, steps)
        for event in events:
            assert event.kind == EventKind.SPIKE, f"window {w}: {event!r} is not a spike"
            assert event.step == w % modulus, (
                f"window {w} (sample {sample}, step {t}): {event!r} carries step {event.step}"
            )
        got = sorted([e.key, e.payload if fmt.payload_width else 1] for e in events)
        keys = [key for key, _ in got]
        assert len(set(keys)) == len(keys), f"window {w}: a key twice: {got}"
        assert got == expected[w], (
            f"window {w} (sample {sample}, step {t}): output spikes differ\n"
            f"  expected {expected[w]}\n  actual   {got}\n"
            f"  missing {[e for e in expected[w] if e not in got]}, "
            f"unexpected {[e for e in got if e not in expected[w]]}"
        )

    # Status after the last window has been closed and cleared. The spikes of the final
    # (clearing) step travel to their cores with no barrier behind them: give them time to
    # arrive (a skewed core counts those of a source that has not started as dropped).
    await ClockCycles(tb.clk, SETTLE_CYCLES)
    for c in range(tb.n_cores):
        actual = tb.status("eos_dropped", c)
        assert actual == data["expected_eos_dropped"][c], (
            f"core {c}: end-of-sample dropped counter {actual}, expected "
            f"{data['expected_eos_dropped'][c]}"
        )
        assert tb.status("invalid", c) == 0, f"core {c}: {tb.status('invalid', c)} invalid events"
    for name in ("overflow", "tag_error", "cmd_error", "router_drops"):
        assert tb.status(name) == 0, f"status {name} = {tb.status(name):#x}, expected 0"

    # Debug port: every core has accumulated up to step n_steps + 1; a bad core is refused.
    if tb.debug:
        await RisingEdge(tb.clk)
        for c in range(tb.n_cores):
            status = tb.ports["cores"][c]
            value, error = await tb.command(c, 0, status["STATUS"], 2)  # Status.STEP
            assert error == 0 and value == n_steps + 1, (
                f"core {c}: STEP status {value} (error {error}), expected {n_steps + 1}"
            )
        # Every state of every neuron: one step from the cleared state without input.
        for c, reads in enumerate(data.get("expected_final_states", [])):
            for target, neuron, want, *axon in reads:
                value, error = await tb.command(c, 0, target, neuron, *axon)
                assert error == 0 and value == want, (
                    f"core {c}, neuron {neuron}, axon {axon[0] if axon else 0}, target "
                    f"{target} after the run: expected {want}, actual {value} (error {error})"
                )
        activity = await check_activity(tb, data)
        if tb.n_cores < (1 << tb.ports["dbg_cmd"]["core"][1]):
            _, error = await tb.command(tb.n_cores, 0, 0, 0)
            assert error == 1, "a command to a core that does not exist was not refused"
    for checker in tb.checkers:
        assert not checker.violations, checker.violations

    cycles = tb.barrier_cycles
    if not tb.debug:
        activity = None
    per_step = [b - a for a, b in zip(cycles[1:], cycles[2 : n_steps + 1])]
    per_sample = [cycles[(k + 1) * steps] - cycles[k * steps] for k in range(samples)]
    if weight_load_cycles is not None and samples:
        # The reset barrier leaves before the weight load: the first sample starts at its
        # first host word.
        per_sample[0] = cycles[steps] - tb.first_input_cycle
    if snapshots is not None:
        # The host held its words between samples: each sample's cycles run from its first
        # word to its last window's barrier, and the windows that span a hold are left out.
        starts = [0, *data["snapshot_word_ends"][:-1]]
        per_sample = [
            cycles[(k + 1) * steps] - tb.chunk_start_cycles[starts[k]] for k in range(samples)
        ]
        per_step = [d for w, d in enumerate(per_step, start=1) if w % steps]
    results = {
        "cycles": cycles[n_steps] - (tb.first_input_cycle or 0),
        "barrier_cycles": cycles,
        "cycles_per_step": per_step,
        "cycles_per_sample": per_sample,
        "activity_snapshots": snapshots,
        "host_words": len(data["host_words"]),
        "output_events": sum(len(w) for w in expected),
        "host_out_words": [int(word) for word in tb.host_out.received],
        "activity": activity,
        "weight_load_cycles": weight_load_cycles,
    }
    Path(os.environ[TEST_DATA_ENV_VAR]).with_name("system_results.json").write_text(
        json.dumps(results)
    )
    tb.log.info(
        "%d samples x %d steps: %d cycles, per step min/mean/max %d/%.1f/%d",
        samples,
        steps,
        results["cycles"],
        min(per_step or [0]),
        sum(per_step) / max(1, len(per_step)),
        max(per_step or [0]),
    )
