"""Router benchmark: throughput and per-hop latency under traffic, and synthesis of a 5-port router.

    .venv/bin/python benchmarks/bench_router.py [--cycles N] [--depth D ...] [--synth] [--json PATH]

Traffic (cycle-accurate, ``amaranth.sim``, a 5-port router with unicast blocks per output):

* ``uniform``: every input offers an event every cycle (saturated), to a uniformly random
  output; every output always ready. Throughput = events per clock per port over the measured
  window (after a warm-up), in and out.
* ``hotspot``: as uniform, but half the events go to output 0.
* ``load 0.5`` / ``load 0.8``: Bernoulli injection at that rate per input, uniform outputs:
  the latency distribution of one hop (cycles from the input transfer to the output transfer).
* ``permutation``: input ``k`` to output ``k + 1`` only (no output contention).

Every event carries a unique payload, and every delivered event is checked against the Python
model (right output, once), so the figures are of correct traffic.

``--synth``: a 5-port router (16-bit keys, 8-bit step tags, no payload, 13-entry table, FIFO depth
2) through :func:`neurohw.flows.synth.synthesize` on ``ice40-up5k`` and ``ecp5-85k``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from amaranth.sim import Simulator  # noqa: E402

from neurohw.hw.router import Router  # noqa: E402
from neurohw.routing import EventFormat, EventKind, RoutingTable  # noqa: E402

N = 5
FMT = EventFormat(key_width=8, step_width=4, payload_width=16)


def bench_table():
    return RoutingTable(
        [(0x10 * j, 0xF0, {j}) for j in range(N)], n_ports=N, key_width=8, default={0}
    )


def destinations(pattern, k, rng):
    if pattern == "permutation":
        return (k + 1) % N
    if pattern == "hotspot" and rng.random() < 0.5:
        return 0
    return rng.randrange(N)


def run_traffic(pattern, *, load=1.0, cycles=2000, warmup=200, depth=2, seed=1):
    """Simulate ``cycles`` clocks; return throughput and latency figures."""
    table = bench_table()
    dut = Router(table, fmt=FMT, fifo_depth=depth)
    rng = random.Random(seed)
    sent = {}  # payload -> (input, output, cycle accepted)
    latencies = []
    accepted = [0] * N
    delivered = [0] * N
    errors = []

    async def bench(ctx):
        offered = [None] * N
        uid = 0
        for cycle in range(cycles):
            for k in range(N):
                if offered[k] is None and rng.random() < load:
                    uid = (uid + 1) % (1 << 16)
                    out = destinations(pattern, k, rng)
                    offered[k] = (
                        uid,
                        out,
                        FMT.pack(EventKind.SPIKE, 0x10 * out + rng.randrange(16), 0, uid),
                    )
                port = dut.i[k]
                ctx.set(port.valid, offered[k] is not None)
                if offered[k] is not None:
                    ctx.set(port.payload.as_value(), offered[k][2])
            for j in range(N):
                ctx.set(dut.o[j].ready, 1)
            # Sample the transfers of this cycle, then clock.
            in_transfers = [ctx.get(dut.i[k].valid) and ctx.get(dut.i[k].ready) for k in range(N)]
            out_words = [
                ctx.get(dut.o[j].payload.as_value()) if ctx.get(dut.o[j].valid) else None
                for j in range(N)
            ]
            for k in range(N):
                if in_transfers[k]:
                    uid_k, out, _ = offered[k]
                    sent[uid_k] = (k, out, cycle)
                    offered[k] = None
                    if cycle >= warmup:
                        accepted[k] += 1
            for j, word in enumerate(out_words):
                if word is None:
                    continue
                event = FMT.unpack(word)
                record = sent.pop(event.payload, None)
                if record is None or record[1] != j:
                    errors.append(
                        f"cycle {cycle}: output {j} delivered {event!r} "
                        f"({'unknown' if record is None else 'wrong output'})"
                    )
                    continue
                if cycle >= warmup:
                    delivered[j] += 1
                    latencies.append(cycle - record[2])
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    started = time.monotonic()
    sim.run()
    window = cycles - warmup
    latencies.sort()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else None

    return {
        "pattern": pattern,
        "load": load,
        "depth": depth,
        "cycles": window,
        "in_per_clock_per_port": [round(a / window, 3) for a in accepted],
        "out_per_clock_per_port": [round(d / window, 3) for d in delivered],
        "mean_out_per_clock": round(sum(delivered) / window / N, 3),
        "latency": {
            "min": latencies[0] if latencies else None,
            "median": percentile(0.5),
            "p90": percentile(0.9),
            "p99": percentile(0.99),
            "max": latencies[-1] if latencies else None,
            "mean": round(statistics.fmean(latencies), 2) if latencies else None,
        },
        "errors": errors[:5],
        "sim_seconds": round(time.monotonic() - started, 1),
    }


def synth_router_design(input_stage):
    """The router the synthesis runs measure (also ``bench_clock_targets.py``'s)."""
    fmt = EventFormat(key_width=16, step_width=8, payload_width=0)
    # A mesh-like table: per-direction key blocks, two multicast blocks, a catch-all drop.
    entries = [(j << 12, 0xF000, {j}) for j in range(N)]
    entries += [(0x5000 + (j << 8), 0xFF00, {j, (j + 1) % N}) for j in range(N)]
    entries += [(0x6000, 0xF000, set(range(N))), (0x7000, 0xF800, {1, 3}), (0x7800, 0xF800, {2, 4})]
    table = RoutingTable(entries, n_ports=N, key_width=16, default={0})
    return Router(table, fmt=fmt, fifo_depth=2, input_stage=input_stage)


def synth_router():
    from neurohw.flows.synth import synthesize

    reports = []
    for input_stage in (False, True):
        for device in ("ice40-up5k", "ecp5-85k"):
            router = synth_router_design(input_stage)
            clock = 60 if device == "ice40-up5k" else 150
            name = "router5" + ("-staged" if input_stage else "")
            report = synthesize(
                router,
                device=device,
                top="router",
                name=name,
                workdir=REPO / "build" / "synth" / f"{name}-{device}",
                clock_mhz=clock * 1.2,
            )
            reports.append(report)
            print(report.as_table(), flush=True)
    return [r.to_dict() for r in reports]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--depth", type=int, action="append")
    parser.add_argument("--synth", action="store_true", help="also synthesize (minutes)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results = {"traffic": [], "synthesis": None}
    for depth in args.depth or [2, 4]:
        for pattern, load in (
            ("permutation", 1.0),
            ("uniform", 1.0),
            ("hotspot", 1.0),
            ("uniform", 0.5),
            ("uniform", 0.8),
        ):
            result = run_traffic(pattern, load=load, cycles=args.cycles, depth=depth)
            results["traffic"].append(result)
            lat = result["latency"]
            print(
                f"depth {depth} {pattern:11s} load {load:.1f}: out/clk/port "
                f"{result['out_per_clock_per_port']} (mean {result['mean_out_per_clock']}), "
                f"in {result['in_per_clock_per_port']}; latency min {lat['min']} median "
                f"{lat['median']} p99 {lat['p99']} max {lat['max']}"
                + (f"; ERRORS {result['errors']}" if result["errors"] else ""),
                flush=True,
            )
    if args.synth:
        results["synthesis"] = synth_router()
    if args.json:
        from neurohw.flows.design_hash import provenance

        # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
        results["provenance"] = provenance()
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if any(r["errors"] for r in results["traffic"]) else 0


if __name__ == "__main__":
    sys.exit(main())
