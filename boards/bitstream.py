"""The board build: a design's board top level (:class:`neurohw.boards.top.BoardTop`) through Amaranth's
build plan, Yosys, nextpnr and the packer of the YoWASP toolchain, into a bitstream.

The design is a ``NeuronCore`` (the host link of one core; default :func:`default_core`) or a
chip (:class:`neurohw.Chip` or a ``ChipPlan``; the system host link). When the design does not
fit the board's FPGA, :func:`build` raises :class:`DoesNotFit` naming the resources over
capacity.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from neurohw.hw.core import NeuronCore

from .specs import check_board
from .top import DEFAULT_BAUD, BoardTop, default_core

__all__ = ["BoardBuild", "DoesNotFit", "build", "elaborate", "BUILD_ROOT"]

# Board builds go under the working directory, never into the installed package.
BUILD_ROOT = Path("build") / "boards"

# Yosys 0.70's ABC9 asserts (`count_id(wire->name) == 0`) on a module with a port `x` and a wire
# named `x[0]`, which Amaranth emits for array members; give non-port wires plain names (as
# neurohw.flows.synth does).
_SCRIPT_AFTER_READ = "rename -unescape w:* i:* %d o:* %d"


class DoesNotFit(RuntimeError):
    """The design does not fit the board's FPGA; ``overflow`` lists ``(bel, used, available)``."""

    def __init__(self, message, overflow):
        super().__init__(message)
        self.overflow = overflow


@dataclass
class BoardBuild:
    """Result of :func:`build`."""

    board: str
    device: str
    bitstream: str
    build_dir: str
    seconds: float
    clock_mhz: float
    fmax_mhz: dict = field(default_factory=dict)
    utilization: dict = field(default_factory=dict)
    baud: int = DEFAULT_BAUD
    divisor: int = 0

    def summary(self) -> str:
        used = ", ".join(
            f"{bel} {v['used']}/{v['available']}"
            for bel, v in sorted(self.utilization.items())
            if v["used"]
        )
        fmax = ", ".join(
            f"{clock} {value['achieved']:.1f} MHz (constraint {value['constraint']:.1f})"
            for clock, value in self.fmax_mhz.items()
        )
        return (
            f"{self.board} ({self.device}): {self.bitstream} in {self.seconds:.0f} s; "
            f"{used}; Fmax {fmax or 'n/a'}; UART {self.baud} baud (divisor {self.divisor})"
        )


#: The bitstream each device family's packer writes.
_BITSTREAM_NAMES = {"ice40": "top.bin", "ecp5": "top.bit", "gowin": "top.fs"}


def _part(platform) -> str:
    """The FPGA's part name (Lattice platforms call it ``device``, Gowin platforms ``part``)."""
    return getattr(platform, "device", None) or platform.part


def _run_gowin_flow(products, build_dir: Path, spec, *, clock_mhz: float, seed: int) -> None:
    """Yosys, nextpnr-himbaechel and gowin_pack on the files of Amaranth's build plan.

    Amaranth 0.5's own Gowin script calls the legacy ``nextpnr-gowin``, which places no block
    RAM (``no BELs remaining to implement cell type 'SPX9'`` for any core with weights in
    BSRAM); nextpnr-himbaechel does, so the plan's files (RTLIL, Yosys script, CST) are
    extracted and run through it here. ``--freq`` makes the report's constraint the board clock.
    """
    import subprocess

    from neurohw.toolchain import synthesis_tool

    products.extract(str(build_dir))
    part = spec.platform_class().part
    steps = [
        [synthesis_tool("YOSYS"), "-q", "-l", "top.rpt", "top.ys"],
        [
            synthesis_tool("NEXTPNR_HIMBAECHEL"),
            "--quiet",
            "--seed",
            str(int(seed)),
            "--freq",
            f"{clock_mhz:g}",
            "--report",
            "top_report.json",
            "--log",
            "top.tim",
            "--device",
            part,
            "--vopt",
            f"family={spec.gowin_die}",
            "--vopt",
            "cst=top.cst",
            "--json",
            "top.syn.json",
            "--write",
            "top.pnr.json",
        ],
        [synthesis_tool("GOWIN_PACK"), "-d", spec.gowin_die, "-o", "top.fs", "top.pnr.json"],
    ]
    for step in steps:
        result = subprocess.run(step, cwd=build_dir, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(
                f"{Path(step[0]).name} exited with {result.returncode}: "
                f"{(result.stdout + result.stderr)[-2000:]}"
            )


def _is_core(design) -> bool:
    return design is None or isinstance(design, NeuronCore)


def elaborate(board: str, design=None, **kwargs):
    """Elaborate the board top level of ``design`` (default :func:`default_core`) on its
    platform and return Amaranth's build plan (the RTLIL, the constraint file and the build
    script; no tool runs)."""
    spec = check_board(board)
    top = BoardTop(design if design is not None else default_core(), board, **kwargs)
    return spec.platform_class()().build(
        top, name="top", do_build=False, script_after_read=_SCRIPT_AFTER_READ
    )


def build(
    board: str,
    design=None,
    *,
    build_dir=None,
    baud: int = DEFAULT_BAUD,
    rx_fifo_depth: int = 512,
    seed: int = 1,
    framing: bool = False,
) -> BoardBuild:
    """Synthesize, place and route the board top level of ``design`` (default
    :func:`default_core`) and write its bitstream (``top.bin`` for the iCEBreaker, ``top.bit``
    for the ULX3S) into ``build_dir`` (default ``build/boards/<board>`` for a core,
    ``build/boards/<board>-system`` for a chip). Raises :class:`DoesNotFit` when nextpnr finds
    a resource over capacity (the message lists each), ``RuntimeError`` with the end of the
    logs for other failures."""
    from neurohw.flows.synth import parse_nextpnr_failure, parse_nextpnr_report
    from neurohw.toolchain import synthesis_environment

    spec = check_board(board)
    core = _is_core(design)
    folder = board if core else f"{board}-system"
    build_dir = Path(build_dir if build_dir is not None else BUILD_ROOT / folder)
    build_dir.mkdir(parents=True, exist_ok=True)
    top = BoardTop(
        design if design is not None else default_core(),
        board,
        baud=baud,
        rx_fifo_depth=rx_fifo_depth,
        framing=framing,
    )
    platform = spec.platform_class()()
    products = platform.build(
        top,
        name="top",
        build_dir=str(build_dir),
        do_build=False,
        script_after_read=_SCRIPT_AFTER_READ,
        nextpnr_opts=f"--seed {int(seed)} --report top_report.json",
    )
    env = {**os.environ, **synthesis_environment()}
    start = time.perf_counter()
    try:
        if spec.gowin_die:
            _run_gowin_flow(products, build_dir, spec, clock_mhz=top.clock_hz / 1e6, seed=seed)
        else:
            products.execute_local(str(build_dir), env=env)
    except Exception as error:
        logs = [build_dir / "top.tim", build_dir / "top.rpt"]
        text = "\n".join(path.read_text(errors="replace") for path in logs if path.exists())
        overflow = parse_nextpnr_failure(text)[0]
        if overflow:
            over = ", ".join(f"{bel} {used}/{available}" for bel, used, available in overflow)
            what = "core" if core else f"{top.host.top.plan.n_cores}-core system"
            raise DoesNotFit(
                f"the {what} does not fit the {board} ({_part(platform)}): {over} over "
                f"capacity (log: {build_dir / 'top.tim'})",
                overflow,
            ) from error
        raise RuntimeError(
            f"building the {board} {'' if core else 'system '}bitstream failed "
            f"({error}); end of the logs in {build_dir}:\n{text[-3000:]}"
        ) from error
    seconds = time.perf_counter() - start
    bitstream = build_dir / _BITSTREAM_NAMES.get(spec.device.split("-")[0], "top.bit")
    if not bitstream.exists():
        raise RuntimeError(f"no bitstream at {bitstream}")
    fmax, utilization = {}, {}
    report = build_dir / "top_report.json"
    if report.exists():
        fmax, utilization = parse_nextpnr_report(json.loads(report.read_text()))
    result = BoardBuild(
        board=board,
        device=_part(platform),
        bitstream=str(bitstream),
        build_dir=str(build_dir),
        seconds=seconds,
        clock_mhz=top.clock_hz / 1e6,
        fmax_mhz=fmax,
        utilization=utilization,
        baud=baud,
        divisor=top.divisor,
    )
    (build_dir / "board_build.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def baud_argument(text: str):
    """``--baud``: a positive integer, or ``max`` (the board's :attr:`BoardSpec.max_baud`)."""
    if text == "max":
        return text
    try:
        baud = int(text)
    except ValueError:
        baud = 0
    if baud <= 0:
        import argparse

        raise argparse.ArgumentTypeError(
            f"--baud must be a positive integer or 'max', not {text!r}"
        )
    return baud


def main(board: str, argv=None) -> int:
    """Command line of ``python -m boards.<board>``: the host link of the demo core."""
    import argparse
    import logging

    parser = argparse.ArgumentParser(
        prog=f"python -m boards.{board}",
        description=f"Build the {board} host-link bitstream of a "
        f"demo NeuronCore with the YoWASP toolchain.",
    )
    parser.add_argument("--build-dir", default=None)
    parser.add_argument(
        "--baud",
        type=baud_argument,
        default=DEFAULT_BAUD,
        help=f"UART rate (default {DEFAULT_BAUD}), or 'max' for the board's fastest "
        f"({check_board(board).max_baud})",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--framing",
        action="store_true",
        help="the framed host link (protocol version 2: CRC, acknowledgments, retries)",
    )
    parser.add_argument(
        "--rtl",
        default=None,
        help="also render the integration files "
        "(neurohw.templates) of the core into this directory",
    )
    args = parser.parse_args(argv)
    if args.baud == "max":
        args.baud = check_board(board).max_baud
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    core = default_core()
    if args.rtl:
        from neurohw.templates import render

        render(default_core(), args.rtl, board_tops=True, baud=args.baud)
    result = build(
        board,
        core,
        build_dir=args.build_dir,
        baud=args.baud,
        seed=args.seed,
        framing=args.framing,
    )
    print(result.summary())
    return 0
