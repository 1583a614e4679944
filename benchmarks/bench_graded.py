"""What graded input events save in clock cycles: one digits-sized input step (64 lines,
4-bit values) on one neuron core, as graded events against the same values sent as spike
counts (one axon event per unit), into ``benchmarks/results/graded.json``.

    .venv/bin/python benchmarks/bench_graded.py [--simulator verilator|icarus] [--steps S]
        [--neurons N] [--lanes P ...] [--json PATH]

Both cores hold the same 64 x ``--neurons`` 8-bit weights and the same 16-bit CUBA LIF model
(no input count cap); the graded core has ``value_width=5`` (a 4-bit unsigned payload, read
signed). Each step every line carries a value drawn from 1..15 (a dense, real-valued input as
direct/current encoding gives it; the first step is all 15s, the worst case of counts). The
graded core gets one event per line and step carrying the value; the counted core gets the
value as that many events of the line. ``sim/bench_core_cycles.py`` runs each under a
saturating stream, checks every step's spikes against the reference model (the drive
``values @ weights``, the same for both) and records the cycles from a step's first event to
its ``done``. Reported per core and lanes: events and cycles per step (mean, and the all-15
step), and the ratio counted / graded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = 64
VALUE_BITS = 4
WEIGHT_WIDTH = 8
SEED = 13


def _params():
    from neurohw.model import loihi_cuba_lif

    return loihi_cuba_lif(du=1024, dv=512, vth=200)


def stimulus(steps: int, seed: int = SEED) -> np.ndarray:
    """(steps, 64) values in 1..15; step 0 all 15 (the most events a counted step can have)."""
    rng = np.random.default_rng(seed)
    values = rng.integers(1, (1 << VALUE_BITS), size=(steps, LINES))
    values[0] = (1 << VALUE_BITS) - 1
    return values


def case(kind: str, values, *, n_neurons: int, lanes: int, seed: int = SEED):
    """The core and the ``bench_core_cycles`` data for ``kind`` ``"graded"`` or ``"counted"``."""
    from neurohw.hw.core import NeuronCore
    from neurohw.model import run
    from neurohw.sim.core_case import graded_event

    rng = np.random.default_rng(seed + 1)
    params = _params()
    high = (1 << (WEIGHT_WIDTH - 1)) - 1
    weights = rng.integers(-high // 4, high + 1, size=(1, LINES, n_neurons))
    bound = LINES * ((1 << VALUE_BITS) - 1)  # the mapping's exact max_events_per_step
    core = NeuronCore(
        params,
        n_neurons=n_neurons,
        n_axons=LINES,
        weight_width=WEIGHT_WIDTH,
        weights=weights,
        lanes=lanes,
        max_events_per_step=bound,
        value_width=VALUE_BITS + 1 if kind == "graded" else 0,
    )
    expected = run(
        params, drive=np.einsum("ta,can->tcn", values, weights)[:, np.newaxis], record=("spikes",)
    ).spikes[:, 0]
    events = []
    for t in range(values.shape[0]):
        if kind == "graded":
            step = [graded_event(core, a, int(values[t, a])) for a in range(LINES)]
        else:
            step = [a for a in range(LINES) for _ in range(int(values[t, a]))]
        rng.shuffle(step)
        events.append([int(e) for e in step])
    return core, {
        "ports": core.port_description(),
        "events": events,
        "expected_spikes": expected.tolist(),
        "weight_reads": [],
    }


def measure(kind: str, values, *, n_neurons: int, lanes: int, simulator: str, build: Path) -> dict:
    from neurohw.sim.runner import run_cocotb

    core, data = case(kind, values, n_neurons=n_neurons, lanes=lanes)
    build_dir = build / f"{kind}-n{n_neurons}-p{lanes}-{simulator}"
    out = build_dir.resolve() / "cycles.json"
    out.unlink(missing_ok=True)
    started = time.monotonic()
    run_cocotb(
        core,
        toplevel="neuron_core",
        test_module="bench_core_cycles",
        simulator=simulator,
        build_dir=build_dir,
        test_data=data,
        extra_env={"CYCLES_RESULTS": str(out)},
    )
    steps = json.loads(out.read_text())["steps"]
    cycles = [r["done"] - r["first_event"] + 1 for r in steps]
    return {
        "events_per_step": [r["events"] for r in steps],
        "cycles_per_step": cycles,
        "cycles_mean": float(np.mean(cycles)),
        "cycles_all_15": cycles[0],
        "event_cycles_per_event": core.event_cycles(0),
        "synaptic_ops_per_clock": core.lanes,
        "wall_time_s": round(time.monotonic() - started, 1),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", default="verilator")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--neurons", type=int, default=64)
    parser.add_argument("--lanes", type=int, action="append")
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "graded.json"
    )
    args = parser.parse_args(argv)
    values = stimulus(args.steps)
    build = ROOT / "build" / "bench_graded"
    results = {
        "lines": LINES,
        "value_bits": VALUE_BITS,
        "neurons": args.neurons,
        "steps": args.steps,
        "simulator": args.simulator,
        "mean_value": float(values.mean()),
        "by_lanes": {},
    }
    for lanes in args.lanes or [1]:
        entry = {
            kind: measure(
                kind,
                values,
                n_neurons=args.neurons,
                lanes=lanes,
                simulator=args.simulator,
                build=build,
            )
            for kind in ("graded", "counted")
        }
        entry["ratio_mean"] = entry["counted"]["cycles_mean"] / entry["graded"]["cycles_mean"]
        entry["ratio_all_15"] = entry["counted"]["cycles_all_15"] / entry["graded"]["cycles_all_15"]
        results["by_lanes"][str(lanes)] = entry
        print(
            f"lanes {lanes}: graded {entry['graded']['cycles_mean']:.0f} cycles/step "
            f"({entry['graded']['cycles_all_15']} all-15), counted "
            f"{entry['counted']['cycles_mean']:.0f} ({entry['counted']['cycles_all_15']}); "
            f"ratio {entry['ratio_mean']:.2f} ({entry['ratio_all_15']:.2f} all-15)"
        )
    from neurohw.flows.design_hash import provenance

    args.json.parent.mkdir(parents=True, exist_ok=True)
    # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
    results["provenance"] = provenance()
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
