"""cocotb bench for router networks (:class:`neurohw.hw.topology.StarNetwork`,
:class:`neurohw.hw.topology.MeshNetwork`), scoreboarded by :class:`neurohw.routing.NetworkModel`.

Test data: ``format``, ``plan`` (``deliveries`` ``{key: [cores]}``, ``barrier_sources``,
``n_cores``), ``core_keys`` (``{core: [keys it owns]}``), ``router_cores`` (the core on each
router's local port, or -1; drop reports are charged to it), ``seed``, ``events`` (spikes per
core per test) and ``steps``.
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import RisingEdge

from neurohw.routing import (
    DROP,
    EventFormat,
    EventKind,
    NetworkModel,
    NetworkPlan,
    check_router_run,
)
from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data


class NetworkTB(TB):
    def __init__(self, dut, data, *, salt, idle=0.0, backpressure=0.0):
        super().__init__(dut)
        self.fmt = EventFormat(**data["format"])
        plan = data["plan"]
        self.plan = NetworkPlan(
            (),
            {int(k): frozenset(v) for k, v in plan["deliveries"].items()},
            plan["n_cores"],
            tuple(frozenset(s) for s in plan["barrier_sources"]),
        )
        self.model = NetworkModel(self.plan)
        self.n = plan["n_cores"]
        self.core_keys = {int(c): keys for c, keys in data["core_keys"].items()}
        self.router_cores = data["router_cores"]
        seed = data["seed"] * 1000 + salt
        self.random = random.Random(seed)
        self.sources = [
            StreamSource(
                dut, f"i__{c}", self.clk, reset=self.rst, idle_probability=idle, seed=seed + c
            )
            for c in range(self.n)
        ]
        self.sinks = [
            StreamSink(
                dut,
                f"o__{c}",
                self.clk,
                reset=self.rst,
                backpressure_probability=backpressure,
                seed=seed + 100 + c,
            )
            for c in range(self.n)
        ]
        self.drop_sinks = [
            StreamSink(dut, f"dropped__{r}", self.clk, reset=self.rst)
            for r in range(len(self.router_cores))
        ]
        names = (
            [f"i__{c}" for c in range(self.n)]
            + [f"o__{c}" for c in range(self.n)]
            + [f"dropped__{r}" for r in range(len(self.router_cores))]
        )
        self.checkers = [
            StreamProtocolChecker(dut, name, self.clk, reset=self.rst) for name in names
        ]
        self.injected = [[] for _ in range(self.n)]
        self.counter = 0

    def spike(self, core, step):
        self.counter += 1
        return self.fmt.pack(
            EventKind.SPIKE,
            self.random.choice(self.core_keys[core]),
            step,
            self.counter % (1 << self.fmt.payload_width),
        )

    def barrier(self, step):
        self.counter += 1
        return self.fmt.pack(
            EventKind.BARRIER, 0, step, self.counter % (1 << self.fmt.payload_width)
        )

    def send(self, core, words):
        self.injected[core].extend(words)
        self.sources[core].send(words)

    def owed(self):
        per_core, drops = [0] * self.n, 0
        barriers = [
            sum(1 for w in words if self.fmt.unpack(w).kind == EventKind.BARRIER)
            for words in self.injected
        ]
        for core, words in enumerate(self.injected):
            for word in words:
                event = self.fmt.unpack(word)
                if event.kind == EventKind.BARRIER:
                    continue
                targets = self.model.destinations(event, core)
                if targets is DROP:
                    drops += 1
                else:
                    for target in targets:
                        per_core[target] += 1
        for core in range(self.n):
            per_core[core] += min(barriers[s] for s in self.model.barrier_sources[core])
        return per_core, drops

    async def finish(self, *, check_steps, watchdog_cycles=3000, limit_cycles=400_000):
        per_core, drops = self.owed()
        progress = lambda: sum(c.transfer_count for c in self.checkers)  # noqa: E731
        last, still = progress(), 0
        for _ in range(limit_cycles):
            await RisingEdge(self.clk)
            if (
                all(len(s.received) >= want for s, want in zip(self.sinks, per_core))
                and sum(len(s.received) for s in self.drop_sinks) >= drops
            ):
                break
            now = progress()
            still = 0 if now != last else still + 1
            last = now
            if still >= watchdog_cycles:
                raise AssertionError(
                    f"deadlock: nothing moved for {watchdog_cycles} cycles; cores have "
                    f"{[len(s.received) for s in self.sinks]} of {per_core}"
                )
        else:
            raise AssertionError(f"traffic not drained after {limit_cycles} cycles")
        await self.cycles(200)
        dropped = []
        for router, sink in enumerate(self.drop_sinks):
            for word in sink.received:
                event, reason, port = self.fmt.unpack_dropped(word, 5)
                # A mesh router drops only keys from its own core; a star names the input port.
                core = self.router_cores[router]
                dropped.append((event, reason, core if core >= 0 else port))
        report = check_router_run(
            self.model,
            self.fmt,
            self.injected,
            [s.received for s in self.sinks],
            dropped,
            check_steps=check_steps,
        )
        assert not report.errors, "scoreboard:\n  " + "\n  ".join(report.errors)
        for checker in self.checkers:
            assert not checker.violations, checker.violations
        self.log.info("%s", report.summary())
        return report


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def steps_with_barriers(dut):
    """Every core sends S steps (random spikes of step t, then barrier t) with random idle and
    back-pressure: each core receives exactly its owed spikes, step by step, one barrier per
    step after all spikes of that step and before any of the next."""
    data = load_test_data()
    tb = NetworkTB(dut, data, salt=1, idle=0.3, backpressure=0.3)
    await tb.reset()
    modulus = 1 << tb.fmt.step_width
    for core in range(tb.n):
        words = []
        for step in range(data["steps"]):
            count = tb.random.randrange(0, 2 * data["events"] // data["steps"] + 1)
            words += [tb.spike(core, step % modulus) for _ in range(count)]
            words.append(tb.barrier(step % modulus))
        tb.send(core, words)
    report = await tb.finish(check_steps=True)
    assert report.barriers_out == data["steps"] * tb.n


@cocotb.test(timeout_time=60, timeout_unit="ms")
async def saturation_watchdog(dut):
    """Every core injects at full rate with no idles and mild back-pressure on every output;
    a watchdog fails the test if no port moves for 3000 cycles (deadlock)."""
    data = load_test_data()
    tb = NetworkTB(dut, data, salt=2, backpressure=0.1)
    await tb.reset()
    for core in range(tb.n):
        tb.send(core, [tb.spike(core, 0) for _ in range(data["events"])] + [tb.barrier(0)])
    await tb.finish(check_steps=False)
