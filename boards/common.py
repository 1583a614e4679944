"""Board top level and build function shared by ``boards.icebreaker`` and ``boards.ulx3s``."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from neurohw.hw.core import NeuronCore
from neurohw.hw.host_bridge import UartHost
from neurohw.hw.uart import baud_divisor
from neurohw.model import Decay, NeuronParams
from neurohw.templates import BOARDS

__all__ = ["DEFAULT_BAUD", "BoardTop", "BoardBuild", "build", "elaborate", "default_core"]

DEFAULT_BAUD = 115200
# Board builds go under the working directory, never into the installed package.
BUILD_ROOT = Path("build") / "boards"

# Yosys 0.70's ABC9 asserts (`count_id(wire->name) == 0`) on a module with a port `x` and a wire
# named `x[0]`, which Amaranth emits for array members; give non-port wires plain names (as
# neurohw.flows.synth does).
_SCRIPT_AFTER_READ = "rename -unescape w:* i:* %d o:* %d"


def _check_board(board):
    if board not in BOARDS:
        raise ValueError(f"board must be one of {', '.join(map(repr, BOARDS))}, not {board!r}")
    return BOARDS[board]


def default_core(seed: int = 0) -> NeuronCore:
    """A small demo core (64 neurons, 32 axons, 8-bit random weights, one current)."""
    rng = np.random.default_rng(seed)
    params = NeuronParams(n_currents=1, v_width=16, i_width=16, v_overflow="saturate",
                          i_overflow="saturate", v_decay=Decay.multiply(3891, 12),
                          i_decay=(Decay.multiply(2048, 12),), threshold=400, reset="zero")
    weights = rng.integers(-64, 128, size=(32, 64))
    return NeuronCore(params, n_neurons=64, n_axons=32, weight_width=8, weights=weights)


class BoardTop(Elaboratable):
    """The host link on a board: :class:`UartHost` clocked by the board's clock, reset by its
    button (synchronized), on its UART pins, with two LEDs."""

    def __init__(self, core: NeuronCore, board: str, *, baud: int = DEFAULT_BAUD,
                 rx_fifo_depth: int = 512):
        self.spec = _check_board(board)
        self.board = board
        platform = self.spec.platform_class()
        self.clock_hz = float(platform().lookup(*self.spec.clock).clock.frequency)
        self.divisor = baud_divisor(self.clock_hz, baud)
        self.baud = baud
        self.host = UartHost(core, divisor=self.divisor, rx_fifo_depth=rx_fifo_depth)

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
        # Raw ports (dir="-") and explicit buffers; the ports carry the board's polarity, so
        # the buttons and LEDs are active high here.
        m.submodules.clk = clk = io.Buffer("i", platform.request(*spec.clock, dir="-"))
        m.submodules.button = button = io.Buffer("i", platform.request(*spec.button, dir="-"))
        uart = platform.request(*spec.uart, dir="-")
        m.submodules.uart_rx = rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = tx = io.Buffer("o", uart.tx)
        leds = []
        for i, led in enumerate(spec.leds):
            m.submodules[f"led{i}"] = buffer = io.Buffer("o", platform.request(*led, dir="-"))
            leds.append(buffer)
        m.domains.sync = ClockDomain()
        m.d.comb += ClockSignal("sync").eq(clk.i)
        m.submodules.reset_sync = ResetSynchronizer(button.i, domain="sync")
        m.submodules.host = host = self.host
        m.d.comb += [host.uart_rx.eq(rx.i), tx.o.eq(host.uart_tx)]
        m.d.comb += [led.o.eq(host.led[i]) for i, led in enumerate(leds)]
        return m


def elaborate(board: str, core: NeuronCore | None = None, **kwargs):
    """Elaborate the board top level on its platform and return Amaranth's build plan (the
    RTLIL, the constraint file and the build script; no tool runs)."""
    spec = _check_board(board)
    top = BoardTop(core if core is not None else default_core(), board, **kwargs)
    return spec.platform_class()().build(top, name="top", do_build=False,
                                         script_after_read=_SCRIPT_AFTER_READ)


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
        used = ", ".join(f"{bel} {v['used']}/{v['available']}"
                         for bel, v in sorted(self.utilization.items()) if v["used"])
        fmax = ", ".join(f"{clock} {value['achieved']:.1f} MHz (constraint "
                         f"{value['constraint']:.1f})" for clock, value in self.fmax_mhz.items())
        return (f"{self.board} ({self.device}): {self.bitstream} in {self.seconds:.0f} s; "
                f"{used}; Fmax {fmax or 'n/a'}; UART {self.baud} baud (divisor {self.divisor})")


def build(board: str, core: NeuronCore | None = None, *, build_dir=None,
          baud: int = DEFAULT_BAUD, rx_fifo_depth: int = 512, seed: int = 1) -> BoardBuild:
    """Synthesize, place and route the board top level and write its bitstream
    (``top.bin`` for the iCEBreaker, ``top.bit`` for the ULX3S) into ``build_dir``
    (default ``build/boards/<board>`` under the working directory). Raises ``RuntimeError``
    with the end of the log when a tool fails."""
    from neurohw.flows.synth import parse_nextpnr_report
    from neurohw.toolchain import synthesis_environment

    spec = _check_board(board)
    build_dir = Path(build_dir if build_dir is not None else BUILD_ROOT / board)
    build_dir.mkdir(parents=True, exist_ok=True)
    top = BoardTop(core if core is not None else default_core(), board, baud=baud,
                   rx_fifo_depth=rx_fifo_depth)
    platform = spec.platform_class()()
    plan = platform.build(top, name="top", build_dir=str(build_dir), do_build=False,
                          script_after_read=_SCRIPT_AFTER_READ,
                          nextpnr_opts=f"--seed {int(seed)} --report top_report.json")
    env = {**os.environ, **synthesis_environment()}
    start = time.perf_counter()
    try:
        plan.execute_local(str(build_dir), env=env)
    except Exception as error:
        logs = [build_dir / "top.rpt", build_dir / "top.tim"]
        tail = "\n".join(path.read_text(errors="replace")[-3000:] for path in logs
                         if path.exists())
        raise RuntimeError(f"building the {board} bitstream failed ({error}); end of the "
                           f"logs in {build_dir}:\n{tail}") from error
    seconds = time.perf_counter() - start
    bitstream = build_dir / ("top.bin" if spec.device.startswith("ice40") else "top.bit")
    if not bitstream.exists():
        raise RuntimeError(f"no bitstream at {bitstream}")
    fmax, utilization = {}, {}
    report = build_dir / "top_report.json"
    if report.exists():
        fmax, utilization = parse_nextpnr_report(json.loads(report.read_text()))
    result = BoardBuild(board=board, device=platform.device, bitstream=str(bitstream),
                        build_dir=str(build_dir), seconds=seconds, clock_mhz=top.clock_hz / 1e6,
                        fmax_mhz=fmax, utilization=utilization, baud=baud, divisor=top.divisor)
    (build_dir / "board_build.json").write_text(json.dumps(asdict(result), indent=2) + "\n")
    return result


def main(board: str, argv=None) -> int:
    """Command line of ``python -m neurohw.boards.<board>``."""
    import argparse
    import logging
    parser = argparse.ArgumentParser(prog=f"python -m neurohw.boards.{board}",
                                     description=f"Build the {board} host-link bitstream of a "
                                                 f"demo NeuronCore with the YoWASP toolchain.")
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rtl", default=None, help="also render the integration files "
                        "(neurohw.templates) of the core into this directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    core = default_core()
    if args.rtl:
        from neurohw.templates import render
        render(default_core(), args.rtl, board_tops=True, baud=args.baud)
    result = build(board, core, build_dir=args.build_dir, baud=args.baud, seed=args.seed)
    print(result.summary())
    return 0
