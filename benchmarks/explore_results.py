"""The `neurohw explore` runs cited in docs/explore.md ("Measured"), kept small: for each run
folder (OUTDIR of `neurohw explore`), the command's settings, every point's predicted and
synthesized resources, Fmax, cycles and latency, the front, the chosen point, its RTL
verification, the models' prediction errors and the sweep's wall time; each synthesized point
(or point that does not fit the device) with its provenance (`neurohw.flows.design_hash.provenance`: the commit and tool versions of
this tree, and `measured_sha256`, which is the point's explore cache key).

    python benchmarks/explore_results.py NAME=OUTDIR [NAME=OUTDIR ...]

writes benchmarks/results/explore.json (runs named NAME, merged with the runs already there).
"""

import json
import sys
from pathlib import Path

from neurohw.flows.design_hash import provenance, synthesis_options
from neurohw.flows.explore import SYNTH_SEED, does_not_fit, synthesis_tools

RESULTS = Path(__file__).resolve().parent / "results" / "explore.json"

POINT_KEYS = (
    "label", "status", "cached", "cores", "latency_cycles", "luts", "bram", "ffs", "fmax_mhz",
    "latency_us", "accuracy", "energy_uj", "on_front", "pruned", "would_prune", "over_budget",
    "error", "stage", "spram", "weight_memories", "weight_load_writes", "weight_load_cycles", "log",
    "no_placement",
)  # fmt: skip


def run_summary(outdir: Path) -> dict:
    summary = json.loads((outdir / "explore.json").read_text())
    device = summary["device"]
    tools = synthesis_tools(device)
    points = []
    for record in summary["points"]:
        row = {key: record[key] for key in POINT_KEYS if key in record}
        row["predicted"] = record.get("predicted")
        if record.get("point", {}).get("lanes_of"):
            row["lanes_of"] = dict(record["point"]["lanes_of"])
        # A synthesized point, or one that does not fit (a cached result too).
        if "synth" in record or does_not_fit(record):
            row["seconds"] = record.get("seconds")
            options = {**synthesis_options(device, seed=SYNTH_SEED), "tools": tools}
            row["provenance"] = provenance(verilog_sha256=record["design_sha256"], options=options)
            if row["provenance"]["measured_sha256"] != record["cache_key"]:
                raise SystemExit(
                    f"{outdir}: {record['label']}'s cache key is not the one this tree "
                    f"computes with this machine's tools {tools}: rerun the sweep"
                )
        points.append(row)
    verification = [
        {k: v[k] for k in ("simulator", "samples", "cycles_per_sample", "passed", "windows_compared",
                           "output_events_compared")}
        for v in summary.get("verification", [])
    ]  # fmt: skip
    return {
        "source": summary["source"],
        "device": device,
        "board": (summary.get("board") or {}).get("board"),
        "budgets": summary["budgets"],
        "cluster": summary["cluster"],
        "debug": summary["debug"],
        "accuracy": summary["accuracy"],
        "counts": summary["counts"],
        "front": summary["front"],
        "chosen": summary["chosen"],
        "verification": verification,
        "prediction_errors": summary["prediction_errors"],
        "lower_bound_violations": summary["lower_bound_violations"],
        "wall_time_s": round(summary["wall_time_s"], 1),
        "points": points,
    }


def main(argv) -> None:
    runs = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for argument in argv:
        name, outdir = argument.split("=", 1)
        runs[name] = run_summary(Path(outdir))
    RESULTS.write_text(json.dumps(runs, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RESULTS}: {', '.join(sorted(runs))}")


if __name__ == "__main__":
    main(sys.argv[1:])
