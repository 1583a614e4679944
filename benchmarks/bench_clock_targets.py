"""Issue 18's clock targets: each configuration synthesized with two placement seeds, its Fmax and
nextpnr's critical path (the measured cause where a target is missed).

    .venv/bin/python benchmarks/bench_clock_targets.py [--target KEY ...] [--seed N ...]

Targets: the neuron core >= 150 MHz on the ECP5-85F at lanes 1 and 4 and >= 45 MHz on the
iCE40UP5K; the 5-port router >= 60 MHz on the UP5K with 1 event per clock per port and at most
3 cycles per hop. The core rows are ``bench_core_synth.py``'s runs (same design, same options:
nextpnr asked for 150 MHz on the ECP5, 50 MHz on the UP5K); the router rows are
``bench_router.py --synth``'s router (nextpnr asked for 72 MHz). Every row records its
measured hash (``docs/benchmarks.md``, "Freshness"), so ``make_benchmarks.py --check`` finds it
stale when the design or the flow changes; ``make_benchmarks.py`` renders the table
"Clock targets (issue 18)" from ``benchmarks/results/clock_targets.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for _path in (REPO, REPO / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.synth import (  # noqa: E402
    SynthesisError,
    SynthReport,
    describe_critical_path,
    synthesis_verilog,
    synthesize,
)

RESULTS = REPO / "benchmarks" / "results" / "clock_targets.json"
SEEDS = (1, 2)
#: The router's nextpnr constraint (``bench_router.py``: 1.2 x the 60 MHz target).
ROUTER_CLOCK_MHZ = 72.0

#: key: (what, device, target MHz, core run of bench_core_synth.py or router input_stage).
TARGETS = {
    "core-ecp5-lanes1": ("neuron core, lanes 1 (lif16-p1)", "ecp5-85k", 150, "lif16-p1-ecp5"),
    "core-ecp5-lanes4": ("neuron core, lanes 4 (tinyodin-p4)", "ecp5-85k", 150, "tinyodin-p4-ecp5"),
    "core-up5k-lanes1": ("neuron core, lanes 1 (lif16-p1)", "ice40-up5k", 45, "lif16-p1-up5k"),
    "core-up5k-lanes4": (
        "neuron core, lanes 4 (tinyodin-p4)",
        "ice40-up5k",
        45,
        "tinyodin-p4-up5k",
    ),
    "router-up5k-staged": ("router, input_stage=True, 3 cycles/hop", "ice40-up5k", 60, True),
    "router-up5k": ("router, default, 2 cycles/hop", "ice40-up5k", 60, False),
}


def _router(input_stage):
    import bench_router

    return bench_router.synth_router_design(input_stage)


def _router_options(device, seed):
    return design_hash.synthesis_options(device, clock_mhz=ROUTER_CLOCK_MHZ, seed=seed)


@functools.cache
def _verilog_sha256(key):
    design = TARGETS[key][3]
    if isinstance(design, str):
        import bench_core_synth

        text = design_hash.core_verilog(bench_core_synth.build_core(design))
    else:
        text = synthesis_verilog(_router(design), "router")
    return design_hash.sha256_text(text)


def measured_sha256(key, seed):
    """What row ``(key, seed)`` measures at this tree (seconds, no synthesis): the design's
    Verilog hash (computed once per target) and the run's options."""
    _what, device, _target, design = TARGETS[key]
    if isinstance(design, str):
        import bench_core_synth

        options = bench_core_synth.synth_options(design, seed)
    else:
        options = _router_options(device, seed)
    return design_hash.measured_sha256(_verilog_sha256(key), options)


def run_one(key, seed, build):
    what, device, target, design = TARGETS[key]
    row = {"target": key, "what": what, "device": device, "target_mhz": target, "seed": seed}
    if isinstance(design, str):
        import bench_core_synth

        core_row = bench_core_synth.run_one(design, build / f"core-seed{seed}", seed)
        row["provenance"] = core_row.get("provenance")
        if "error" in core_row:
            row["error"] = core_row["error"]
            return row
        report = SynthReport.from_json(Path(core_row["workdir"]) / "synth_report.json")
    else:
        text = synthesis_verilog(_router(design), "router")
        options = _router_options(device, seed)
        row["provenance"] = design_hash.provenance(
            verilog_sha256=design_hash.sha256_text(text), options=options
        )
        try:
            report = synthesize(
                _router(design),
                device=device,
                top="router",
                name=f"router5{'-staged' if design else ''}",
                workdir=build / "router" / f"{key}-seed{seed}",
                clock_mhz=ROUTER_CLOCK_MHZ,
                seed=seed,
            )
        except SynthesisError as error:
            row["error"] = str(error)
            return row
    path = report.critical_path
    row.update(
        {
            "fmax_mhz": round(report.fmax_mhz or 0.0, 2),
            "luts": report.luts,
            "ffs": report.ffs,
            "logic_cells": report.logic_cells,
            "critical_path": path,
            "critical_path_text": describe_critical_path(path) if path else None,
            "yosys": report.yosys_version,
            "nextpnr": report.nextpnr_version,
            "workdir": report.workdir,
        }
    )
    return row


def outreg_experiment(workdir, out):
    """A timing experiment, not a design: the placed ECP5 run in ``workdir`` placed and routed
    again (same nextpnr options and seed) with every DP16KD's output register switched on
    (``REGMODE_A/B = "OUTREG"``), which adds one cycle of read latency the core does not expect,
    so the netlist is not functional; its Fmax and critical path say what the block RAMs'
    clock-to-out costs and which path comes next. ``{"fmax_mhz", "critical_path",
    "block_rams"}``; the netlist and nextpnr's files are written to ``out``."""
    import subprocess

    from neurohw.flows.synth import DEVICES, parse_critical_paths, parse_nextpnr_report
    from neurohw.toolchain import synthesis_tool

    workdir, out = Path(workdir), Path(out)
    report = SynthReport.from_json(workdir / "synth_report.json")
    if not report.device.startswith("ecp5"):
        raise ValueError(f"the OUTREG experiment needs an ECP5 run, not {report.device!r}")
    netlist = json.loads((workdir / "netlist.json").read_text())
    block_rams = 0
    for module in netlist["modules"].values():
        for cell in module.get("cells", {}).values():
            if cell["type"] == "DP16KD":
                cell["parameters"].update(REGMODE_A="OUTREG", REGMODE_B="OUTREG")
                block_rams += 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "netlist.json").write_text(json.dumps(netlist))
    subprocess.run(
        [
            synthesis_tool(DEVICES[report.device].nextpnr),
            *DEVICES[report.device].nextpnr_args,
            *("--json", "netlist.json", "--report", "nextpnr_report.json"),
            *("--timing-allow-fail", "--freq", f"{report.clock_mhz:g}"),
            *("--seed", str(report.seed), "--quiet", "--log", "nextpnr.log"),
        ],
        cwd=out,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    nextpnr = json.loads((out / "nextpnr_report.json").read_text())
    fmax, _ = parse_nextpnr_report(nextpnr)
    paths = [p for p in parse_critical_paths(nextpnr) if p["from_clock"] == p["to_clock"]]
    return {
        "fmax_mhz": round(min(t["achieved"] for t in fmax.values()), 2),
        "critical_path": paths[0] if paths else None,
        "block_rams": block_rams,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", choices=list(TARGETS))
    parser.add_argument("--seed", type=int, action="append", help="default: 1 and 2")
    parser.add_argument("--build", type=Path, default=REPO / "build" / "bench_clock_targets")
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument(
        "--outreg-experiment",
        metavar="KEY",
        choices=[k for k, v in TARGETS.items() if v[1].startswith("ecp5")],
        help="no synthesis: place and route the measured ECP5 row KEY (its --seed, default 1) "
        "again with the block RAM output registers on (timing only, not functional); the "
        "result is stored in the row as 'outreg_experiment'",
    )
    args = parser.parse_args(argv)
    if args.outreg_experiment:
        rows = json.loads(args.json.read_text())
        seed = (args.seed or [1])[0]
        (row,) = [r for r in rows if (r["target"], r["seed"]) == (args.outreg_experiment, seed)]
        row["outreg_experiment"] = outreg_experiment(
            row["workdir"], Path(row["workdir"]).with_name(Path(row["workdir"]).name + "-outreg")
        )
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        path = row["outreg_experiment"]["critical_path"]
        print(
            f"{args.outreg_experiment} seed {seed} with OUTREG: "
            f"{row['outreg_experiment']['fmax_mhz']:.1f} MHz (was {row['fmax_mhz']:.1f}); "
            f"critical path {describe_critical_path(path) if path else None}"
        )
        return 0
    # Rows of earlier invocations are kept; a (target, seed) measured again replaces its row.
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    for key in args.target or list(TARGETS):
        for seed in args.seed or SEEDS:
            started = time.monotonic()
            print(f"[{time.strftime('%H:%M:%S')}] {key} seed {seed} ...", file=sys.stderr)
            row = run_one(key, seed, args.build)
            rows = [r for r in rows if (r["target"], r["seed"]) != (key, seed)] + [row]
            order = list(TARGETS)
            rows.sort(key=lambda r: (order.index(r["target"]), r["seed"]))
            args.json.write_text(json.dumps(rows, indent=2) + "\n")
            summary = row.get("error") or (
                f"{row['fmax_mhz']:.1f} MHz; critical path {row['critical_path_text']}"
            )
            print(
                f"[{time.strftime('%H:%M:%S')}] {key} seed {seed}: {summary} "
                f"({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
