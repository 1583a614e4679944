"""SHA-256 of the chip's Verilog (``neurohw.Chip.verilog``) for a few CI-style plans, the debug
port on and off, to show a refactoring leaves the hardware byte-identical.

    python benchmarks/verilog_hashes.py > before.json     # at the old commit
    python benchmarks/verilog_hashes.py --compare before.json

At the old commit (before ``neurohw.Chip``) the same text is
``verilog.convert(SystemTop(plan, debug=..., router_fifo_depth=...), name="neurohw_system",
emit_src=False)``, which is what ``Chip.verilog`` returns; the script falls back to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.sim.system_case import (
    random_graded_network,
    random_learning_network,
    random_network,
    random_same_step_network,
    random_xylo_network,
)


def plans():
    yield "random0-star", map_network(random_network(0))
    yield "random1-mesh", map_network(random_network(1), topology="mesh")
    yield (
        "random2-lanes2-split",
        map_network(random_network(2), lanes=2, capacity=CoreCapacity(max_neurons=4)),
    )
    yield "xylo0", map_network(random_xylo_network(0))
    yield "samestep0", map_network(random_same_step_network(0))
    yield "graded0", map_network(random_graded_network(0))
    yield "learning0", map_network(random_learning_network(0))


def verilog_text(plan, debug: bool, depth: int) -> str:
    try:
        from neurohw import Chip
    except ImportError:  # before neurohw.Chip
        from amaranth.back import verilog

        from neurohw.hw.system import SYSTEM_TOPLEVEL, SystemTop

        return verilog.convert(
            SystemTop(plan, debug=debug, router_fifo_depth=depth),
            name=SYSTEM_TOPLEVEL,
            emit_src=False,
        )
    return Chip(plan, debug=debug, router_fifo_depth=depth).verilog()


def hashes() -> dict:
    out = {}
    for name, plan in plans():
        for debug in (True, False):
            for depth in (2, 4) if name == "random0-star" else (2,):
                text = verilog_text(plan, debug, depth)
                out[f"{name}-debug{int(debug)}-fifo{depth}"] = hashlib.sha256(
                    text.encode()
                ).hexdigest()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare", metavar="JSON", help="hashes written earlier; exit 1 on any difference"
    )
    args = parser.parse_args(argv)
    current = hashes()
    if not args.compare:
        json.dump(current, sys.stdout, indent=1)
        print()
        return 0
    before = json.loads(Path(args.compare).read_text())
    changed = sorted(k for k in before.keys() | current.keys() if before.get(k) != current.get(k))
    for key in changed:
        print(f"{key}: {before.get(key)} -> {current.get(key)}")
    print(f"{len(current) - len(changed)} of {len(current)} identical")
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
