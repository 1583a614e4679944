"""Time to verify the whole digits test set in RTL, against the reference model in the same run.

    .venv/bin/python benchmarks/bench_digits_rtl.py [--samples N] [--jobs 2] [--lanes 4]

Trains the digits SNN (seed 0), imports its NIR export, quantizes and maps it, then

* runs the system reference model (numpy) on the test samples and times it;
* splits the samples into ``--jobs`` chunks and verifies each chunk in its own Verilator
  process (every output spike of every step compared with the model), in parallel;
* checks that the RTL's own outputs give the model's prediction on every sample.

Reports wall time, simulated clock cycles per second, and the ratio to the model's time, and
writes ``benchmarks/results/digits_rtl.json``. The issue's target: the whole test set in under
10 minutes on one machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurohw import Chip  # noqa: E402
from neurohw.network import import_nir, map_network, quantize, simulate  # noqa: E402
from neurohw.train import digits  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "digits_rtl.json"


def _chunk(job, plan, group, counts, build_root):
    def progress(text):
        print(f"[job {job}] {text.strip()}", flush=True)

    result = Chip(plan).verify(
        {group: counts},
        simulator="verilator",
        build_dir=build_root / f"job{job}",
        progress=progress,
        seed=job,
    )
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--samples", type=int, default=None, help="test samples to verify (default: all)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel simulator processes")
    parser.add_argument("--lanes", type=int, default=4, help="lanes per core")
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "bench_digits_rtl"))
    args = parser.parse_args(argv)

    model = digits.train()
    build_root = Path(args.build_dir)
    build_root.mkdir(parents=True, exist_ok=True)
    nir_path = digits.export_nir(model, build_root / "digits.nir")
    counts, labels = digits.test_set(
        model.config.steps, seed=model.config.seed, test_fraction=model.config.test_fraction
    )
    if args.samples is not None:
        counts, labels = counts[:, : args.samples], labels[: args.samples]
    network, _ = quantize(import_nir(nir_path, dt=model.dt), weight_width=8)
    plan = map_network(network, lanes=args.lanes)
    group, output = next(iter(network.inputs)), network.outputs[0]
    samples = len(labels)

    start = time.perf_counter()
    trace = simulate(network, {group: counts})
    model_seconds = time.perf_counter() - start
    model_pred = trace.spikes[output].sum(axis=0).argmax(axis=1)

    bounds = np.linspace(0, samples, args.jobs + 1).round().astype(int)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(_chunk, job, plan, group, counts[:, lo:hi], build_root)
            for job, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))
            if hi > lo
        ]
        results = [future.result() for future in futures]
    rtl_seconds = time.perf_counter() - start

    rtl_counts = np.concatenate([r.output_spikes[output] for r in results], axis=1)
    rtl_pred = rtl_counts.sum(axis=0).argmax(axis=1)
    assert np.array_equal(rtl_pred, model_pred), "RTL and model predictions differ"
    cycles = sum(r.cycles for r in results)
    report = {
        "samples": samples,
        "steps": int(counts.shape[0]),
        "lanes": args.lanes,
        "cores": plan.n_cores,
        "jobs": args.jobs,
        "rtl_wall_seconds": round(rtl_seconds, 1),
        "rtl_sim_seconds_per_job": [round(r.seconds, 1) for r in results],
        "model_seconds": round(model_seconds, 4),
        "rtl_over_model_time": round(rtl_seconds / model_seconds, 1),
        "simulated_cycles": cycles,
        "simulated_cycles_per_second": round(cycles / rtl_seconds),
        "cycles_per_inference": round(cycles / samples, 1),
        "model_accuracy": float((model_pred == labels).mean()),
        "rtl_accuracy": float((rtl_pred == labels).mean()),
        "rtl_equals_model_every_sample": True,
    }
    from neurohw.flows.design_hash import provenance

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
    RESULTS.write_text(json.dumps({**report, "provenance": provenance()}, indent=1) + "\n")
    width = max(map(len, report))
    for key, value in report.items():
        print(f"{key:{width}}  {value}")


if __name__ == "__main__":
    main()
