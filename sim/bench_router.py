"""cocotb bench for :class:`neurohw.hw.router.Router`, scoreboarded by
:class:`neurohw.routing.RouterModel` through :func:`neurohw.routing.check_router_run`.

Test data (:func:`neurohw.sim.lib.testdata.load_test_data`): ``format`` (EventFormat fields),
``table`` (:meth:`RoutingTable.as_dict`), ``barrier_sources``, ``fifo_depth``,
``counter_width``, ``seed``, ``events`` (events per input per test) and the key groups the
traffic generators draw from: ``unicast`` (``{output: [keys]}``), ``multicast`` (``{"1,2":
[keys]}``), ``broadcast`` and ``unmatched`` (key lists; empty when there is no such key).

Every test ends the same way (:meth:`RouterTB.finish`): wait until the model's count of owed
deliveries and drop reports has arrived, idle a while longer, then require the scoreboard to
find every output an exact interleaving of the per-input event sequences (no loss, duplicate,
misroute or reordering), the conservation law ``injected x fan-out = delivered + dropped``, the
status counters equal to what crossed the ports, and no stream-rule violation on any port.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from neurohw.routing import (
    DROP,
    EventFormat,
    EventKind,
    RouterModel,
    RoutingTable,
    check_router_run,
)
from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data


def status_addresses(n_ports):
    # Same map as neurohw.hw.router.status_addresses, restated so the bench checks it.
    addresses = {f"in{k}": k for k in range(n_ports)}
    addresses |= {f"out{k}": n_ports + k for k in range(n_ports)}
    addresses |= {"unmatched": 2 * n_ports, "dropped": 2 * n_ports + 1}
    addresses |= {f"hwm{k}": 2 * n_ports + 2 + k for k in range(n_ports)}
    return addresses


class RouterTB(TB):
    def __init__(
        self,
        dut,
        data,
        *,
        salt: int,
        idle=0.0,
        backpressure=0.0,
        stall_probability=0.0,
        stall_cycles=0,
    ):
        super().__init__(dut)
        self.data = data
        self.fmt = EventFormat(**data["format"])
        self.table = RoutingTable.from_dict(data["table"])
        self.model = RouterModel(self.table, barrier_sources=data["barrier_sources"])
        self.n = self.table.n_ports
        self.random = random.Random(data["seed"] * 1000 + salt)
        seed = data["seed"] * 1000 + salt
        dut.status__addr.value = 0
        self.sources = [
            StreamSource(
                dut, f"i__{k}", self.clk, reset=self.rst, idle_probability=idle, seed=seed + 10 + k
            )
            for k in range(self.n)
        ]
        self.sinks = [
            StreamSink(
                dut,
                f"o__{j}",
                self.clk,
                reset=self.rst,
                backpressure_probability=backpressure,
                stall_probability=stall_probability,
                stall_cycles=stall_cycles,
                seed=seed + 50 + j,
            )
            for j in range(self.n)
        ]
        self.drop_sink = StreamSink(
            dut,
            "dropped",
            self.clk,
            reset=self.rst,
            backpressure_probability=backpressure,
            seed=seed + 99,
        )
        self.checkers = [
            StreamProtocolChecker(dut, name, self.clk, reset=self.rst)
            for name in [f"i__{k}" for k in range(self.n)]
            + [f"o__{j}" for j in range(self.n)]
            + ["dropped"]
        ]
        self.injected = [[] for _ in range(self.n)]
        self.payload_counter = 0
        # Inputs seen stalled (valid and not ready outside reset): only a full queue stalls one.
        self.stalled = [False] * self.n
        cocotb.start_soon(self._watch_stalls())

    async def _watch_stalls(self):
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            if self.dut.rst.value == 1:
                continue
            for k in range(self.n):
                port = f"i__{k}"
                if (
                    getattr(self.dut, f"{port}__valid").value == 1
                    and getattr(self.dut, f"{port}__ready").value == 0
                ):
                    self.stalled[k] = True

    # -- traffic --------------------------------------------------------------------------

    def event(self, key, step=0, kind=EventKind.SPIKE):
        """A packed event with a unique payload (so the scoreboard has one reading)."""
        self.payload_counter += 1
        payload = self.payload_counter % (1 << self.fmt.payload_width)
        return self.fmt.pack(kind, key, step, payload)

    def barrier(self, step):
        return self.event(0, step, EventKind.BARRIER)

    def random_key(self, weights=None):
        groups = {
            "unicast": [k for keys in self.data["unicast"].values() for k in keys],
            "multicast": [k for keys in self.data["multicast"].values() for k in keys],
            "broadcast": self.data["broadcast"],
            "unmatched": self.data["unmatched"],
        }
        weights = weights or {"unicast": 6, "multicast": 2, "broadcast": 1, "unmatched": 1}
        names = [name for name in weights if groups[name]]
        group = self.random.choices(names, [weights[name] for name in names])[0]
        return self.random.choice(groups[group])

    def send(self, k, words):
        self.injected[k].extend(words)
        self.sources[k].send(words)

    def owed(self):
        """(deliveries per output, drop reports) the model says the injected traffic needs."""
        per_output = [0] * self.n
        drops = 0
        for k, words in enumerate(self.injected):
            for word in words:
                destinations = self.model.destinations(self.fmt.unpack(word), k)
                if destinations is DROP:
                    drops += 1
                else:
                    for j in destinations:
                        per_output[j] += 1
        # A barrier is merged: one per step leaves an output, whatever number of sources.
        for j in range(self.n):
            sources = self.model.barrier_sources[j]
            if sources:
                steps = [
                    sum(1 for w in self.injected[k] if self.fmt.unpack(w).kind == EventKind.BARRIER)
                    for k in sources
                ]
                per_output[j] -= sum(steps) - min(steps)
        return per_output, drops

    # -- ending ---------------------------------------------------------------------------

    def progress(self):
        return sum(checker.transfer_count for checker in self.checkers)

    def owed_words(self):
        """Per output and for the drop stream, the set of words the model owes it (a merged
        barrier leaves with the word of one of its sources)."""
        per_output = [set() for _ in range(self.n)]
        drops = set()
        for k, words in enumerate(self.injected):
            for word in words:
                destinations = self.model.destinations(self.fmt.unpack(word), k)
                if destinations is DROP:
                    drops.add(word)
                else:
                    for j in destinations:
                        per_output[j].add(word)
        return per_output, drops

    async def drain(self, *, watchdog_cycles=2000, limit_cycles=200_000):
        """Wait for every owed delivery. Two watchdogs: a deadlock one (no transfer on any
        port for ``watchdog_cycles``) and a livelock one (transfers go on, but no output
        receives an owed word it had not received before for ``watchdog_cycles``: e.g. the
        same event repeated forever)."""
        per_output, drops = self.owed()
        owed_words, owed_drops = self.owed_words()
        # Owed words seen so far per output (and the drop stream): duplicates add nothing.
        seen = [set() for _ in range(self.n + 1)]
        read = [0] * (self.n + 1)
        streams = [*self.sinks, self.drop_sink]
        owed_sets = [*owed_words, owed_drops]

        def owed_progress():
            for index, sink in enumerate(streams):
                new = sink.received[read[index] :]
                read[index] = len(sink.received)
                seen[index].update(word for word in new if word in owed_sets[index])
            return sum(len(words) for words in seen)

        last_progress, still = self.progress(), 0
        last_owed, owed_still = owed_progress(), 0
        for cycle in range(limit_cycles):
            await RisingEdge(self.clk)
            owed_now = owed_progress()
            if (
                all(len(s.received) >= want for s, want in zip(self.sinks, per_output))
                and len(self.drop_sink.received) >= drops
                and all(len(s._queue) == 0 for s in self.sources)
            ):
                break
            progress = self.progress()
            still = 0 if progress != last_progress else still + 1
            owed_still = 0 if owed_now != last_owed else owed_still + 1
            last_progress, last_owed = progress, owed_now
            counts = (
                f"outputs have {[len(s.received) for s in self.sinks]} of {per_output} "
                f"({[len(words) for words in seen[: self.n]]} distinct owed), dropped "
                f"{len(self.drop_sink.received)} of {drops}"
            )
            if still >= watchdog_cycles:
                # Misrouted traffic also leaves some outputs short: let the scoreboard say so.
                return cycle, (
                    f"deadlock: no transfer on any port for {watchdog_cycles} cycles; {counts}"
                )
            if owed_still >= watchdog_cycles:
                return cycle, (
                    f"livelock: ports keep transferring but no owed word arrived for "
                    f"{watchdog_cycles} cycles (repeats or misroutes); {counts}"
                )
        else:
            return cycle, f"traffic not drained after {limit_cycles} cycles"
        await self.cycles(100)  # anything extra (a duplicate) would arrive by now
        return cycle, None

    async def read_status(self, name):
        self.dut.status__addr.value = status_addresses(self.n)[name]
        await RisingEdge(self.clk)
        await RisingEdge(self.clk)
        await ReadOnly()
        value = int(self.dut.status__data.value)
        await RisingEdge(self.clk)
        return value

    async def check_status(self, dropped, high_water=None):
        """Every status counter: the transfer counters exactly as the model counts them, and
        the high-water marks exactly as ``high_water`` gives them (``{"hwm<k>": value}``) or
        else as far as the run shows them: 0 for an input that took nothing, at least 1 for
        one that took a word (every word passes through a queue), the depth for one seen
        stalled (only a full queue stalls an input)."""
        expected = self.model.status_counters(
            self.fmt,
            self.injected,
            [s.received for s in self.sinks],
            dropped,
            counter_width=self.data["counter_width"],
        )
        for name, want in expected.items():
            actual = await self.read_status(name)
            assert actual == want, f"status {name}: expected {want}, actual {actual}"
        depth = self.data["fifo_depth"]
        for k in range(self.n):
            name = f"hwm{k}"
            actual = await self.read_status(name)
            if high_water is not None:
                want = high_water[name]
                assert actual == want, f"status {name}: expected {want}, actual {actual}"
            elif not self.injected[k]:
                assert actual == 0, f"status {name}: input {k} took nothing, hwm is {actual}"
            elif self.stalled[k]:
                assert actual == depth, (
                    f"status {name}: input {k} stalled (a queue was full), hwm is {actual}, "
                    f"not the depth {depth}"
                )
            else:
                assert 1 <= actual <= depth, f"status {name}: {actual} not in [1, {depth}]"

    async def finish(self, *, check_steps=False, watchdog_cycles=2000):
        cycles, stuck = await self.drain(watchdog_cycles=watchdog_cycles)
        dropped = [self.fmt.unpack_dropped(word, self.n) for word in self.drop_sink.received]
        report = check_router_run(
            self.model,
            self.fmt,
            self.injected,
            [s.received for s in self.sinks],
            dropped,
            check_steps=check_steps,
        )
        assert stuck is None or not stuck.startswith("livelock"), stuck
        assert not report.errors, "scoreboard:\n  " + "\n  ".join(report.errors)
        assert stuck is None, stuck
        assert report.conserved, report.summary()
        await self.check_status(len(dropped))
        for checker in self.checkers:
            assert not checker.violations, checker.violations
        self.log.info("%s in %d cycles", report.summary(), cycles)
        return report, cycles


def _events(data, scale=1.0):
    return max(1, int(data["events"] * scale))


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def random_traffic(dut):
    """Random keys (unicast, multicast, broadcast, unmatched) on every input, random idle
    cycles on every input and random back-pressure and stall windows on every output."""
    data = load_test_data()
    tb = RouterTB(
        dut, data, salt=1, idle=0.3, backpressure=0.3, stall_probability=0.01, stall_cycles=20
    )
    await tb.reset()
    for k in range(tb.n):
        tb.send(k, [tb.event(tb.random_key()) for _ in range(_events(data))])
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def full_rate_permutation(dut):
    """No idles, no back-pressure, input k sending only to output (k + 1) mod n: every output
    must carry one event per clock once the pipeline is full."""
    data = load_test_data()
    tb = RouterTB(dut, data, salt=2)
    await tb.reset()
    count = _events(data)
    for k in range(tb.n):
        keys = data["unicast"][str((k + 1) % tb.n)]
        tb.send(k, [tb.event(tb.random.choice(keys)) for _ in range(count)])
    start = tb.progress()
    report, cycles = await tb.finish()
    # drain() stops at the cycle the last event arrives: count + pipeline latency. A depth-1
    # queue cannot be written while full, so it passes an event every other cycle.
    per_event = 2 if data["fifo_depth"] == 1 else 1
    assert cycles <= per_event * count + 4, f"{count} events per output took {cycles} cycles"
    assert tb.progress() - start == 2 * tb.n * count


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def long_stall(dut):
    """Output 0 refuses everything for far longer than all buffering; its inputs must stall
    (nothing lost), other outputs keep flowing, and all arrives once it resumes."""
    data = load_test_data()
    tb = RouterTB(dut, data, salt=3, idle=0.2)
    await tb.reset()
    capacity = tb.n * data["fifo_depth"] + 1
    tb.sinks[0].backpressure_probability = 1.0
    for k in range(tb.n):
        tb.send(
            k,
            [
                tb.event(tb.random_key({"unicast": 3, "multicast": 1, "broadcast": 1}))
                for _ in range(_events(data))
            ],
        )
    await tb.cycles(20 * capacity + 200)
    assert len(tb.sinks[0].received) == 0
    stalled = [len(s._queue) for s in tb.sources]
    assert any(stalled), "the stall did not stall any input"
    tb.sinks[0].backpressure_probability = 0.0
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def high_water_marks(dut):
    """Every output (and the drop stream) refuses everything; input k sends k mod (depth + 2)
    events to output k only (or, where there is no unicast key for it, to the
    drop stream): the model (``RouterModel.blocked_high_water``) gives every high-water mark
    exactly, 0 and the depth included, and an off-by-one fails here. Then everything
    drains and every counter is checked again."""
    data = load_test_data()
    tb = RouterTB(dut, data, salt=8)
    await tb.reset()
    depth = data["fifo_depth"]
    for sink in [*tb.sinks, tb.drop_sink]:
        sink.backpressure_probability = 1.0
    used_drop = False
    for k in range(tb.n):
        keys = data["unicast"][str(k)]
        if not keys:
            if used_drop or not data["unmatched"] or tb.table.default is not DROP:
                continue
            keys, used_drop = data["unmatched"], True
        tb.send(k, [tb.event(tb.random.choice(keys)) for _ in range(k % (depth + 2))])
    await tb.cycles(50 + 10 * depth)
    high_water = tb.model.blocked_high_water(tb.fmt, tb.injected, fifo_depth=depth)
    assert {0, depth} <= set(high_water.values()), high_water
    await tb.check_status(0, high_water)
    for sink in [*tb.sinks, tb.drop_sink]:
        sink.backpressure_probability = 0.0
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def multicast_blocked_branch(dut):
    """Input 0 sends multicast events to outputs {1, 2} while output 2 is blocked: output 1 may
    run ahead only by what branch 2 buffers (one queue plus the output register), then the input
    is held; nothing is duplicated or lost when output 2 resumes."""
    data = load_test_data()
    tb = RouterTB(dut, data, salt=4)
    await tb.reset()
    keys = data["multicast"]["1,2"]
    tb.sinks[2].backpressure_probability = 1.0
    tb.send(0, [tb.event(tb.random.choice(keys)) for _ in range(_events(data, 0.5))])
    await tb.cycles(300)
    buffered = data["fifo_depth"] + 1  # branch 2's queue and output register
    assert len(tb.sinks[1].received) == buffered, (
        f"output 1 got {len(tb.sinks[1].received)} events while its sibling was blocked"
    )
    # With an input stage, one more event waits there (for both branches).
    assert tb.sources[0].sent_count == buffered + int(data.get("input_stage", False))
    tb.sinks[2].backpressure_probability = 0.0
    await tb.finish()


@cocotb.test(timeout_time=20, timeout_unit="ms")
async def unmatched_keys(dut):
    """Keys that match no entry take the default: with DROP each is reported once, with its
    input port and reason UNMATCHED, on a back-pressured `dropped` stream."""
    data = load_test_data()
    if not data["unmatched"]:
        return
    tb = RouterTB(dut, data, salt=5, idle=0.3, backpressure=0.5)
    await tb.reset()
    for k in range(tb.n):
        tb.send(
            k,
            [
                tb.event(tb.random_key({"unicast": 1, "unmatched": 3}))
                for _ in range(_events(data, 0.5))
            ],
        )
    report, _ = await tb.finish()
    assert report.dropped > 0 if tb.table.default is DROP else report.dropped == 0


@cocotb.test(timeout_time=40, timeout_unit="ms")
async def barrier_ordering(dut):
    """Each input sends steps 0..S-1: random spikes tagged t, then barrier t. Every output
    must carry one barrier per step, no step-t spike after barrier t and none of step t+1
    before it, under random idle and back-pressure."""
    data = load_test_data()
    tb = RouterTB(
        dut, data, salt=6, idle=0.4, backpressure=0.3, stall_probability=0.01, stall_cycles=15
    )
    await tb.reset()
    steps = data["steps"]
    modulus = 1 << tb.fmt.step_width
    for k in range(tb.n):
        words = []
        for step in range(steps):
            for _ in range(tb.random.randrange(0, 2 * _events(data) // steps + 1)):
                words.append(
                    tb.event(
                        tb.random_key({"unicast": 4, "multicast": 2, "broadcast": 1}),
                        step % modulus,
                    )
                )
            words.append(tb.barrier(step % modulus))
        tb.send(k, words)
    report, _ = await tb.finish(check_steps=True)
    sourced = [j for j in range(tb.n) if tb.model.barrier_sources[j]]
    assert report.barriers_out == steps * len(sourced)


@cocotb.test(timeout_time=40, timeout_unit="ms")
async def all_to_all_watchdog(dut):
    """Every input sends to every output at full offered load, multicast and unicast mixed,
    with back-pressure: a watchdog fails the test if no port moves for 500 cycles."""
    data = load_test_data()
    tb = RouterTB(dut, data, salt=7, backpressure=0.2)
    await tb.reset()
    for k in range(tb.n):
        words = []
        for index in range(_events(data)):
            target = str(index % tb.n)
            if index % 7 == 3 and data["broadcast"]:
                words.append(tb.event(tb.random.choice(data["broadcast"])))
            else:
                words.append(tb.event(tb.random.choice(data["unicast"][target])))
        tb.send(k, words)
    await tb.finish(watchdog_cycles=500)
