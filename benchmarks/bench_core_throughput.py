"""Synaptic operations per clock of a dense NeuronCore, measured in RTL simulation (Verilator).

    .venv/bin/python benchmarks/bench_core_throughput.py [--lanes P ...] [--neurons N]
        [--axons A] [--events E] [--steps S] [--simulator verilator|icarus] [--json PATH]

For each ``P`` (default 1, 4, 16) a dense core (``N`` = 256 neurons, ``A`` = 64 axons, 8-bit
weights, 16-bit neuron with one current) runs ``S`` steps of ``E`` events each under a saturating
stream (``sim/bench_core_throughput.py``: ``spikes_in`` and ``step`` always valid, sinks always
ready). Per step:

* event phase = first accepted event .. last accumulator write (inclusive), synops = E x N;
  synops/clock is compared with ``P`` (target >= 0.95 P);
* whole step = first accepted event .. ``done`` transfer (inclusive), i.e. event phase plus the
  sweep; sweep = ``step`` transfer .. ``done`` transfer, reported per neuron.

The spikes of every step are checked against the reference model. Prints a Markdown table;
``--json`` writes the measurements.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from neurohw.hw.core import NeuronCore  # noqa: E402
from neurohw.model import Decay, NeuronParams, run  # noqa: E402
from neurohw.sim.runner import run_cocotb  # noqa: E402


def params():
    return NeuronParams(
        n_currents=1,
        v_width=16,
        i_width=16,
        v_overflow="saturate",
        i_overflow="saturate",
        v_decay=Decay.multiply(410, 12),
        i_decay=(Decay.multiply(1024, 12),),
        threshold=1000,
        reset="zero",
    )


def measure(lanes, *, n_neurons, n_axons, n_events, steps, simulator, build, seed=1):
    rng = np.random.default_rng(seed)
    p = params()
    weights = rng.integers(-128, 128, size=(1, n_axons, n_neurons))
    events = [list(rng.integers(0, n_axons, size=n_events)) for _ in range(steps)]
    counts = np.zeros((steps, n_axons), dtype=np.int64)
    for t, step_events in enumerate(events):
        np.add.at(counts[t], step_events, 1)
    expected = np.asarray(run(p, spikes=counts, weights=weights, record=("spikes",)).spikes)
    expected = expected.reshape(steps, n_neurons)  # (steps, batch 1, neurons)
    core = NeuronCore(
        p, n_neurons=n_neurons, n_axons=n_axons, weight_width=8, weights=weights, lanes=lanes
    )
    build_dir = build / f"p{lanes}-n{n_neurons}-a{n_axons}-{simulator}"
    out = build_dir / "throughput.json"
    out.unlink(missing_ok=True)
    started = time.monotonic()
    run_cocotb(
        core,
        toplevel="neuron_core",
        test_module="bench_core_throughput",
        simulator=simulator,
        build_dir=build_dir,
        test_data={
            "ports": core.port_description(),
            "n_neurons": n_neurons,
            "lanes": lanes,
            "events": events,
            "expected_spikes": expected.tolist(),
        },
        extra_env={"THROUGHPUT_RESULTS": str(out.resolve())},
    )
    wall = time.monotonic() - started
    D = -(-n_neurons // lanes)
    rows = []
    for r in json.loads(out.read_text()):
        event_cycles = r["last_accumulate"] - r["first_event"] + 1
        step_cycles = r["done"] - r["first_event"] + 1
        sweep_cycles = r["done"] - r["step_accept"]
        synops = r["events"] * n_neurons
        rows.append(
            {
                "lanes": lanes,
                "n_neurons": n_neurons,
                "n_axons": n_axons,
                "step": r["step"],
                "events": r["events"],
                "synops": synops,
                "rows_cycles": r["events"] * D,
                "event_phase_cycles": event_cycles,
                "accumulate_cycles": r["accumulate_cycles"],
                "synops_per_clock_event": round(synops / event_cycles, 3),
                "ratio_to_P_event": round(synops / event_cycles / lanes, 4),
                "step_cycles": step_cycles,
                "synops_per_clock_step": round(synops / step_cycles, 3),
                "ratio_to_P_step": round(synops / step_cycles / lanes, 4),
                "sweep_cycles": sweep_cycles,
                "sweep_cycles_per_neuron": round(sweep_cycles / n_neurons, 4),
                "spikes": r["spikes"],
                "simulator": simulator,
                "wall_time_s": round(wall, 1),
            }
        )
    return rows


def table(rows):
    lines = [
        "| P | N | events | synops | event-phase cycles | synops/clk (event) | / P | "
        "step cycles | synops/clk (step) | / P | sweep cycles | sweep cyc/neuron | spikes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ok = "ok" if r["ratio_to_P_event"] >= 0.95 else "MISS"
        lines.append(
            f"| {r['lanes']} | {r['n_neurons']} | {r['events']} | {r['synops']} | "
            f"{r['event_phase_cycles']} | {r['synops_per_clock_event']:.2f} | "
            f"{r['ratio_to_P_event']:.3f} {ok} | {r['step_cycles']} | "
            f"{r['synops_per_clock_step']:.2f} | {r['ratio_to_P_step']:.3f} | "
            f"{r['sweep_cycles']} | {r['sweep_cycles_per_neuron']:.3f} | {r['spikes']} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, action="append", help="P (default 1, 4, 16)")
    parser.add_argument("--neurons", type=int, default=256)
    parser.add_argument("--axons", type=int, default=64)
    parser.add_argument("--events", type=int, default=128, help="events per step")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--build", type=Path, default=REPO / "build" / "bench_core_throughput")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args(argv)
    rows = []
    for lanes in args.lanes or [1, 4, 16]:
        print(f"[{time.strftime('%H:%M:%S')}] P={lanes} ...", file=sys.stderr, flush=True)
        rows += measure(
            lanes,
            n_neurons=args.neurons,
            n_axons=args.axons,
            n_events=args.events,
            steps=args.steps,
            simulator=args.simulator,
            build=args.build,
        )
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            from neurohw.flows.design_hash import provenance

            # What the rows ran: the neurohw sources (docs/benchmarks.md, "Freshness").
            for row in rows:
                row["provenance"] = provenance()
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
    print(table(rows))
    print(
        f"\n{args.simulator}; event phase = first accepted event .. last accumulator write; "
        f"step = first event .. done; sweep = step transfer .. done"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
