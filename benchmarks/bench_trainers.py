"""Trained networks from the real frameworks, from their exporter's file to verified RTL.

    .venv/bin/python benchmarks/bench_trainers.py [--rtl-samples 3] [--simulator verilator]
                                                  [--weight-width 8] [--graded-spikes] [NAME ...]

For every fixture in ``tests/data/trainers`` (snnTorch, Norse, Sinabs, Rockpool; each written by
its framework's own NIR exporter), with no edit of the file:

* imports it with its framework's exporter profile and runs the float network on the whole
  digits test set (359 images): its accuracy must equal the framework's own, which
  ``meta.json`` recorded (the baseline, from the same data);
* quantizes it (``--weight-width``, scales from 200 training images) and runs the fixed-point
  model on the same images: accuracy and sample-by-sample agreement with the float network
  (whose predictions are the framework's);
* maps it onto cores (skewed for the frameworks' same-step timing) and verifies
  ``--rtl-samples`` test images in RTL: every output spike of every chip step against the
  model, and the RTL's predictions; reports clock cycles per sample. ``--graded-spikes`` maps
  with ``map_network(graded_spikes=True)`` (a multi-spike population's count travels as one
  graded event, ``docs/system.md`` "Graded spikes between populations").

Writes ``benchmarks/results/trainers.json`` (with the code's git hash and the tool versions) and
prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurohw import Chip  # noqa: E402
from neurohw.flows.design_hash import git_commit, provenance  # noqa: E402
from neurohw.network import encode_inputs, evaluate, map_network, simulate  # noqa: E402
from neurohw.train.digits import encode_images, load_split  # noqa: E402
from tests.test_trainer_import import FIXTURES, quantized_fixture  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "trainers.json"


def test_inputs(meta):
    images, labels = load_split(seed=0)[2:]
    if meta["input"] == "direct":
        return np.repeat((images / 16.0)[np.newaxis], meta["steps"], axis=0), labels
    return encode_images(images, meta["steps"]), labels


def run(name, args, build_root):
    start = time.perf_counter()
    network, integer, report, meta, data = quantized_fixture(name, args.weight_width)
    (group,) = network.inputs
    x, labels = test_inputs(meta)
    accuracy = evaluate(network, integer, {group: x}, labels, report=report)
    plan = map_network(integer, graded_spikes=args.graded_spikes)
    row = {
        "fixture": name,
        "framework": f"{meta['framework']} {meta['framework_version']}",
        "trainer_accuracy": meta["accuracy"],
        "float_accuracy": accuracy.float_accuracy,
        "float_equals_trainer": bool(accuracy.float_accuracy == meta["accuracy"]),
        "fixed_accuracy": accuracy.fixed_accuracy,
        "fixed_minus_trainer_points": round(100 * (accuracy.fixed_accuracy - meta["accuracy"]), 2),
        "agreement": accuracy.agreement,
        "weight_width": args.weight_width,
        "cores": plan.n_cores,
        "graded_spikes": args.graded_spikes,
        "chip_steps_per_sample": meta["steps"] + plan.flush_steps,
    }
    if args.rtl_samples:
        n = args.rtl_samples
        chip_inputs = (
            {group: x[:, :n]}
            if meta["input"] != "direct"
            else encode_inputs(report, {group: x[:, :n]})
        )
        result = Chip(plan).verify(
            chip_inputs, simulator=args.simulator, build_dir=build_root / name
        )
        output = integer.outputs[0]
        model = simulate(integer, chip_inputs).spikes[output]
        assert np.array_equal(result.output_spikes[output], model), name
        rtl_pred = result.output_spikes[output].sum(axis=0).argmax(axis=1)
        row.update(
            rtl_samples=n,
            rtl_equals_model=True,
            rtl_predictions_equal_model=bool(
                np.array_equal(rtl_pred, model.sum(axis=0).argmax(axis=1))
            ),
            cycles_per_sample=round(result.cycles_per_sample_mean, 1),
        )
    row["seconds"] = round(time.perf_counter() - start, 1)
    return row


def table(rows) -> str:
    lines = [
        "| fixture | framework | trainer | float | fixed | agreement | cores | chip steps "
        "| cycles/sample | RTL = model |",
        "|" + "---|" * 10,
    ]
    for r in rows:
        rtl = f"yes ({r['rtl_samples']})" if r.get("rtl_equals_model") else "-"
        lines.append(
            f"| {r['fixture']} | {r['framework']} | {100 * r['trainer_accuracy']:.2f} % | "
            f"{100 * r['float_accuracy']:.2f} % | {100 * r['fixed_accuracy']:.2f} % | "
            f"{100 * r['agreement']:.1f} % | {r['cores']} | {r['chip_steps_per_sample']} | "
            f"{r.get('cycles_per_sample', '-')} | "
            f"{rtl} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=FIXTURES, metavar="NAME")
    parser.add_argument("--rtl-samples", type=int, default=3)
    parser.add_argument("--simulator", default="verilator")
    parser.add_argument("--weight-width", type=int, default=8)
    parser.add_argument(
        "--graded-spikes",
        action="store_true",
        help="send multi-spike populations' counts as graded events (map_network option)",
    )
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "bench_trainers"))
    parser.add_argument("--output", default=str(RESULTS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIXTURES))
    if unknown:
        parser.error(f"unknown fixture(s) {unknown}; known: {FIXTURES}")
    rows = []
    for name in args.names:
        rows.append(run(name, args, Path(args.build_dir)))
        print(json.dumps(rows[-1]), flush=True)
    result = {
        "code": git_commit(),
        "tools": {pkg: version(pkg) for pkg in ("numpy", "amaranth", "cocotb", "verilator", "nir")},
        "test_images": 359,
        "rows": rows,
        # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
        "provenance": provenance(),
    }
    Path(args.output).write_text(json.dumps(result, indent=1) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
