"""Where the logic cells of an iCE40UP5K chip go: Yosys ``synth_ice40`` with the hierarchy kept
(one row per module: SB_LUT4, SB_CARRY, flip-flops, block RAM, SPRAM), and the flip-flops'
control sets (distinct clock-enable and reset nets) of the flat netlist that the benchmark's
synthesis gave nextpnr (``build/benchmarks/CONFIG/ice40-up5k/netlist.json``, serial harness
included; written by ``make_benchmarks.py --rerun --only CONFIG``).

    .venv/bin/python benchmarks/up5k_breakdown.py mnist-w2-p4-spram [--depth 2]

The configuration is one of ``make_benchmarks._configs()`` (built as ``make_benchmarks.chip_of``
builds it). Keeping the hierarchy stops Yosys from optimizing across module boundaries, so the
totals are above those of the flat synthesis of the benchmark rows (``make_benchmarks.py``); the
proportions are what this measures. The control sets are counted on the flat netlist, as nextpnr
packs it: an iCE40 logic block's 8 flip-flops share one clock enable and one set/reset.
"""

from __future__ import annotations

import argparse
import collections
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import make_benchmarks as mb  # noqa: E402

from neurohw.flows.report import verilog_for_synthesis  # noqa: E402
from neurohw.toolchain import synthesis_tool  # noqa: E402

#: The SPRAM banks must be flattened into their parent: Yosys maps a memory onto SB_SPRAM256KA
#: only once its read and write addresses are seen to be one signal.
SCRIPT = """read_verilog top.v
hierarchy -top top
rename -unescape w:* i:* %d o:* %d
setattr -mod -set keep_hierarchy 1 *
setattr -mod -unset keep_hierarchy *neurohw_spram_packed_bank* *weight0_lanes*
synth_ice40 -dsp -top top
tee -q -o stat.json stat -json
"""


def _resources(cells: collections.Counter) -> tuple[int, int, int, int, int]:
    flip_flops = sum(n for kind, n in cells.items() if kind.startswith("SB_DFF"))
    return (
        cells["SB_LUT4"],
        cells["SB_CARRY"],
        flip_flops,
        cells["SB_RAM40_4K"],
        cells["SB_SPRAM256KA"],
    )


def module_rows(stat: dict, max_depth: int) -> list[tuple[str, tuple]]:
    """``(indented module name, (LUT4, CARRY, FF, RAM, SPRAM))`` with submodules included,
    down to ``max_depth`` levels below the top."""
    modules = {name.lstrip("\\"): m for name, m in stat["modules"].items()}

    def own(name):
        return modules[name].get("num_cells_by_type", {})

    def total(name):
        cells = collections.Counter()
        for kind, n in own(name).items():
            if kind in modules:
                for k, v in total(kind).items():
                    cells[k] += v * n
            else:
                cells[kind] += n
        return cells

    rows = []

    def walk(name, depth):
        label = name if depth == 0 else name.split(".")[-1]
        rows.append(("  " * depth + label, _resources(total(name))))
        if depth < max_depth:
            children = [kind for kind in own(name) if kind in modules]
            children.sort(key=lambda k: -sum(_resources(total(k))[:3]))
            for child in children:
                walk(child, depth + 1)

    walk("top", 0)
    return rows


def control_sets(netlist: dict) -> dict:
    """Flip-flops, distinct enable / reset nets and (enable, reset) pairs of the flat netlist."""
    (module,) = [m for m in netlist["modules"].values() if "top" in m.get("attributes", {})]
    enables, resets, pairs = collections.Counter(), collections.Counter(), collections.Counter()
    for cell in module["cells"].values():
        if not cell["type"].startswith("SB_DFF"):
            continue
        ports = cell["connections"]
        enable = tuple(ports.get("E", ["1"]))
        reset = tuple(ports.get("R", ports.get("S", ["0"])))
        enables[enable] += 1
        resets[reset] += 1
        pairs[enable, reset] += 1
    return {
        "flip_flops": sum(pairs.values()),
        "enable_nets": len(enables),
        "reset_nets": len(resets),
        "control_sets": len(pairs),
        "control_sets_under_8": sum(1 for n in pairs.values() if n < 8),
        "logic_blocks_for_flip_flops": sum(-(-n // 8) for n in pairs.values()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", choices=sorted(mb._configs()))
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "up5k_breakdown")
    args = parser.parse_args(argv)
    workdir = args.build_dir / args.config
    workdir.mkdir(parents=True, exist_ok=True)
    chip = mb.chip_of(args.config)
    (workdir / "top.v").write_text(verilog_for_synthesis(chip.top(), workdir))
    (workdir / "breakdown.ys").write_text(SCRIPT)
    subprocess.run(
        [synthesis_tool("YOSYS"), "-q", "-l", "yosys.log", "breakdown.ys"],
        cwd=workdir,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    stat = json.loads((workdir / "stat.json").read_text())
    print(f"{args.config} (hierarchy kept; {chip.design_hash()[:12]})")
    print(f"{'module':40s} {'LUT4':>6s} {'CARRY':>6s} {'FF':>6s} {'RAM':>4s} {'SPRAM':>5s}")
    for label, (lut, carry, ff, ram, spram) in module_rows(stat, args.depth):
        print(f"{label:40s} {lut:6d} {carry:6d} {ff:6d} {ram:4d} {spram:5d}")
    netlist = ROOT / "build" / "benchmarks" / args.config / "ice40-up5k" / "netlist.json"
    if netlist.exists():
        print(json.dumps(control_sets(json.loads(netlist.read_text()))))
    else:
        print(f"no control sets: {netlist} is missing (make_benchmarks.py --rerun --only ...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
