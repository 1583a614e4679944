"""Scaling of one NeuronCore with its lanes and neurons: logic, block RAM and Fmax (issue 18, 5).

    .venv/bin/python benchmarks/bench_scaling.py [--device ecp5|xc7 ...] [--neurons N ...]
        [--lanes P ...] [--table] [--plot]

A thin client of :func:`neurohw.flows.synth.synthesize`, like ``bench_core_synth.py``: the
16-bit LIF core of that script (``lif16``: one current, multiply decays, saturate, reset to
zero, ``max_events_per_step=4096``) with 64 axons and 8-bit weights, for ``neurons`` in
64..4096 and ``lanes`` in 1..16, on two targets:

* ``ecp5``: the ECP5-85F, placed and routed by nextpnr in the flow's serial I/O harness (as
  ``bench_core_synth.py``; constraint 150 MHz, seed 1): LUT4 (+ 4 per LUT-RAM cell), DP16KD,
  Fmax and the peak synaptic operations per second ``lanes x Fmax``;
* ``xc7``: the Xilinx 7-series synthesis estimate (``xc7-estimate``: LUT6 sites, BRAM36
  equivalents; **no place and route, no Fmax**).

64 axons keep the largest core (4096 neurons: 2 Mbit of weights, 128 DP16KD) within the
ECP5-85F's 208 DP16KD. The tinyODIN comparison reads the ``tinyodin-p4-ecp5`` run of
``bench_core_synth.py`` (``core_synth.json``, the same flow) and tinyODIN's own figures
(``bench_core_synth.TINYODIN``), next to the synaptic operations per second per LUT of every ECP5
point of the sweep.

Results go to ``benchmarks/results/scaling.json`` after every run (a run repeated replaces its
row), each row with its provenance (``neurohw.flows.design_hash``); ``--plot`` writes
``benchmarks/results/scaling.png``. Synthesis is slow (the 16-lane cores take ten minutes on
the ECP5): name the points to measure with ``--neurons``/``--lanes``/``--device``; the table
says which points have been measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import bench_core_synth  # noqa: E402

from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.design_hash import core_verilog, sha256_text  # noqa: E402
from neurohw.flows.report import readmemh_initializers  # noqa: E402
from neurohw.flows.synth import SynthesisError, synthesize  # noqa: E402
from neurohw.hw.core import NeuronCore  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "scaling.json"
PLOT = REPO / "benchmarks" / "results" / "scaling.png"
BUILD = REPO / "build" / "bench_scaling"

#: The synthesis results of a row (``SynthReport.row``, Fmax unrounded), in the JSON's order.
SYNTH_KEYS = (
    "luts",
    "carries",
    "ffs",
    "bram",
    "dsp",
    "logic_cells",
    "cells",
    "fmax_mhz",
    "yosys",
    "nextpnr",
    "wall_time_s",
)

NEURONS = (64, 256, 1024, 4096)
LANES = (1, 2, 4, 8, 16)
AXONS = 64
WEIGHT_WIDTH = 8
#: short name -> (flow device, nextpnr constraint in MHz or None, harness)
TARGETS = {"ecp5": ("ecp5-85k", 150.0, True), "xc7": ("xc7-estimate", None, None)}

#: ECP5 LUT-RAM cell (TRELLIS_DPR16X4) in LUT4 slots, as in make_benchmarks.LUT4_PER_LUTRAM.
LUT4_PER_LUTRAM = 4


def run_name(neurons: int, lanes: int, target: str) -> str:
    return f"n{neurons}-p{lanes}-{target}"


def build_core(neurons: int, lanes: int) -> NeuronCore:
    return NeuronCore(
        bench_core_synth.lif16(),
        n_neurons=neurons,
        n_axons=AXONS,
        weight_width=WEIGHT_WIDTH,
        lanes=lanes,
        **bench_core_synth.EVENTS,
    )


def synth_options(target: str, seed: int = 1) -> dict:
    device, clock, harness = TARGETS[target]
    return design_hash.synthesis_options(device, clock_mhz=clock, seed=seed, harness=harness)


def run_one(neurons: int, lanes: int, target: str, build: Path = BUILD, seed: int = 1) -> dict:
    """Synthesize one point; the row records the error instead when it fails or does not fit."""
    name = run_name(neurons, lanes, target)
    core = build_core(neurons, lanes)
    options = synth_options(target, seed)
    text = core_verilog(core)
    row = {
        "run": name,
        "target": target,
        "device": options["device"],
        "n_neurons": neurons,
        "n_axons": AXONS,
        "weight_width": WEIGHT_WIDTH,
        "lanes": lanes,
        "provenance": design_hash.provenance(verilog_sha256=sha256_text(text), options=options),
    }
    workdir = build / name
    try:
        report = synthesize(
            readmemh_initializers(text, workdir),
            device=options["device"],
            workdir=workdir,
            name=f"core-{name}",
            clock_mhz=options["clock_mhz"],
            seed=seed,
            harness=options["harness"],
        )
    except SynthesisError as error:
        row["error"] = str(error)
        return row
    row.update(report.row(SYNTH_KEYS, fmax_digits=None))
    if report.xilinx is not None:
        row["xilinx"] = report.xilinx
    return row


def lut_slots(row: dict) -> int:
    """Every LUT of a row: ECP5 LUT4 + 4 per LUT-RAM cell; xc7 the LUT6 sites."""
    if "xilinx" in row:
        return row["xilinx"]["luts"]
    return row["luts"] + LUT4_PER_LUTRAM * row["cells"].get("TRELLIS_DPR16X4", 0)


def measured_sha256(row: dict) -> str:
    """What ``row`` measures at this tree (for freshness, seconds)."""
    verilog = sha256_text(core_verilog(build_core(row["n_neurons"], row["lanes"])))
    return design_hash.measured_sha256(verilog, synth_options(row["target"]))


def tinyodin_row() -> dict | None:
    rows = bench_core_synth.RESULTS
    if not rows.exists():
        return None
    for row in json.loads(rows.read_text()):
        if row["run"] == "tinyodin-p4-ecp5" and "error" not in row:
            return row
    return None


def table(rows: list) -> str:
    by = {(r["n_neurons"], r["lanes"], r["target"]): r for r in rows}
    lines = [
        f"One core: lif16, {AXONS} axons, {WEIGHT_WIDTH}-bit weights. ECP5-85F: yosys + nextpnr "
        "(seed 1, 150 MHz constraint, I/O harness); xc7: synthesis estimate, no P&R, no Fmax. "
        "LUT = ECP5 LUT4 + 4 per LUT-RAM cell / xc7 LUT6 sites; BRAM = DP16KD / BRAM36; "
        "SOP/s = lanes x Fmax (peak, dense).",
        "",
        "| neurons | lanes | ECP5 LUT | ECP5 DP16KD | ECP5 Fmax MHz | ECP5 SOP/s | SOP/s per LUT "
        "| xc7 LUT6 | xc7 BRAM36 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in NEURONS:
        for p in LANES:
            e, x = by.get((n, p, "ecp5")), by.get((n, p, "xc7"))
            if e is None and x is None:
                continue
            cells = []
            if e is None:
                cells = ["not measured"] + [""] * 4
            elif "error" in e:
                cells = [f"failed: {e['error'].split(' (log:')[0][:120]}"] + [""] * 4
            else:
                sops = p * e["fmax_mhz"] * 1e6
                cells = [
                    f"{lut_slots(e):,}",
                    f"{e['bram']}",
                    f"{e['fmax_mhz']:.1f}",
                    f"{sops / 1e6:.0f} M",
                    f"{sops / lut_slots(e) / 1e3:.1f} k",
                ]
            if x is None:
                cells += ["not measured", ""]
            elif "error" in x:
                cells += [f"failed: {x['error'].split(' (log:')[0][:120]}", ""]
            else:
                cells += [f"{x['xilinx']['luts']:,}", f"{x['xilinx']['bram36']:g}"]
            lines.append(f"| {n} | {p} | " + " | ".join(cells) + " |")
    tiny = bench_core_synth.TINYODIN
    ref = tinyodin_row()
    lines += [
        "",
        f"tinyODIN (the figures of bench_core_synth.TINYODIN and docs/core.md): {tiny['luts']:,} LUT, "
        f"{tiny['fmax_mhz']} MHz, {tiny['sops'] / 1e6:.0f} M SOP/s: "
        f"{tiny['sops'] / tiny['luts'] / 1e3:.1f} k SOP/s per LUT.",
    ]
    if ref is not None:
        slots = lut_slots(ref)
        lines.append(
            f"Our tinyODIN configuration (bench_core_synth `tinyodin-p4-ecp5`: 256 x 256, 4-bit, "
            f"lanes 4): {slots:,} LUT, {ref['fmax_mhz']:.1f} MHz, "
            f"{ref['sops_per_s'] / 1e6:.0f} M SOP/s: {ref['sops_per_s'] / slots / 1e3:.1f} k "
            f"SOP/s per LUT ({ref['sops_per_s'] / slots / (tiny['sops'] / tiny['luts']):.1f} x "
            "tinyODIN's)."
        )
    return "\n".join(lines)


def plot(rows: list, path: Path = PLOT) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    panels = (
        ("LUTs (ECP5 LUT4 slots; xc7 LUT6 sites)", lut_slots),
        ("block RAM (ECP5 DP16KD; xc7 BRAM36)", None),
        ("ECP5-85F Fmax (MHz)", None),
    )
    for ax, (label, _f) in zip(axes, panels):
        ax.set_xlabel("neurons per core")
        ax.set_ylabel(label)
        ax.set_xscale("log", base=2)
    for p in LANES:
        for target, style in (("ecp5", "-o"), ("xc7", "--s")):
            pts = sorted(
                (r for r in rows if r["lanes"] == p and r["target"] == target and "error" not in r),
                key=lambda r: r["n_neurons"],
            )
            if not pts:
                continue
            xs = [r["n_neurons"] for r in pts]
            label = f"{target}, lanes {p}"
            axes[0].plot(xs, [lut_slots(r) for r in pts], style, label=label)
            bram = [r["xilinx"]["bram36"] if target == "xc7" else r["bram"] for r in pts]
            axes[1].plot(xs, bram, style, label=label)
            if target == "ecp5":
                axes[2].plot(xs, [r["fmax_mhz"] for r in pts], style, label=label)
    axes[0].set_yscale("log")
    for ax in axes:
        if ax.lines:
            ax.legend(fontsize=7)
    axes[0].set_title("logic (xc7: synthesis estimate, no P&R)")
    axes[1].set_title("block RAM")
    axes[2].set_title("Fmax (nextpnr, seed 1)")
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", action="append", choices=sorted(TARGETS), dest="targets")
    parser.add_argument("--neurons", action="append", type=int, choices=NEURONS)
    parser.add_argument("--lanes", action="append", type=int, choices=LANES)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("--build", type=Path, default=BUILD)
    parser.add_argument("--table", action="store_true", help="no synthesis: print the table")
    parser.add_argument("--plot", action="store_true", help=f"write {PLOT.name} beside --json")
    args = parser.parse_args(argv)
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    if not args.table:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        for target in args.targets or sorted(TARGETS):
            for n in args.neurons or NEURONS:
                for p in args.lanes or LANES:
                    name = run_name(n, p, target)
                    started = time.monotonic()
                    print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
                    row = run_one(n, p, target, args.build)
                    rows = [r for r in rows if r["run"] != name] + [row]
                    rows.sort(key=lambda r: (r["target"], r["n_neurons"], r["lanes"]))
                    args.json.write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
                    print(
                        f"[{time.strftime('%H:%M:%S')}] {name}: "
                        f"{row.get('error') or (row.get('fmax_mhz'), lut_slots(row))} "
                        f"({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
    if args.plot:
        plot(rows, args.json.with_name(PLOT.name))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
