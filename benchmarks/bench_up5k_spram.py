"""The 784-128-10 chips with SPRAM weights (``make_benchmarks.SPRAM_CONFIGS``) in RTL against
the model: the weights loaded over the debug port, then a few samples, every output spike of
every window compared (Verilator).

    .venv/bin/python benchmarks/bench_up5k_spram.py [--only mnist-w4-p4-spram] [--samples 2]

Writes ``benchmarks/results/up5k_spram.json``: per configuration the samples, windows and
output events compared, the measured cycles per sample next to the analytic estimate of the
benchmark table, the debug-port cycles of the weight load, and the provenance (commit, tools,
the chip's Verilog hash). ``make_benchmarks.py`` shows them under the resources table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_benchmarks as mb  # noqa: E402

from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.report import estimate_cycles  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "up5k_spram.json"


def verify(key: str, samples: int, build_root: Path) -> dict:
    chip = mb.chip_of(key)
    inputs = mb.mnist_inputs(samples=samples)
    build = build_root / key
    started = time.perf_counter()
    result = chip.verify(inputs, simulator="verilator", build_dir=build, progress=print)
    bench = json.loads((build / "system_results.json").read_text())
    estimate = estimate_cycles(chip.plan, inputs)
    return {
        "samples": samples,
        "windows_compared": result.windows_compared,
        "output_events_compared": result.output_events_compared,
        "cycles_per_sample": list(result.cycles_per_sample),
        "analytic_cycles_per_sample": list(estimate.cycles_per_sample),
        "weight_writes": len(chip.weight_load_commands()),
        "weight_load_cycles": bench["weight_load_cycles"],
        "seconds": round(time.perf_counter() - started, 1),
        "provenance": design_hash.provenance(verilog_sha256=chip.design_hash()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=mb.SPRAM_CONFIGS)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "bench_up5k_spram")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    for key in args.only or mb.SPRAM_CONFIGS:
        results[key] = verify(key, args.samples, args.build_dir)
        print(json.dumps({key: results[key]}, indent=1))
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
