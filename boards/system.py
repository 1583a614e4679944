"""Board top levels of a whole mapped network (``SystemTop``) behind the UART host link.

    python -m neurohw.boards.system ulx3s [--build-dir DIR] [--baud 115200]   # the digits network
    python -m neurohw.boards.system icebreaker

or from Python::

    from neurohw.boards.system import build_system, digits_plan
    result = build_system("ulx3s", digits_plan(), build_dir="build/boards/ulx3s-system")

The top level (:class:`SystemBoardTop`) is :class:`neurohw.hw.system_bridge.UartSystem`
(``SystemTop``, the event-word bridge, UART) on the board's clock, with the board's USB-serial
UART, a reset button and two LEDs (barrier activity, error). The frame format is in
``docs/integration.md`` ("System host link"). When the chip does not fit the board's FPGA,
:func:`build_system` raises :class:`SystemDoesNotFit` naming the resources over capacity.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module
from amaranth.lib import io
from amaranth.lib.cdc import ResetSynchronizer

from neurohw.hw.system import SystemTop
from neurohw.hw.system_bridge import UartSystem
from neurohw.hw.uart import baud_divisor
from neurohw.network.plan import ChipPlan

from .common import _SCRIPT_AFTER_READ, DEFAULT_BAUD, BUILD_ROOT, BoardBuild, _check_board

__all__ = ["SystemBoardTop", "SystemDoesNotFit", "build_system", "elaborate_system",
           "digits_plan"]


class SystemDoesNotFit(RuntimeError):
    """The chip does not fit the board's FPGA; ``overflow`` lists ``(bel, used, available)``."""

    def __init__(self, message, overflow):
        super().__init__(message)
        self.overflow = overflow


def digits_plan(seed: int = 0, *, lanes: int = 1) -> ChipPlan:
    """The digits network (``neurohw.train.digits``, seed ``seed``) -> NIR -> import -> 8-bit
    quantization -> mapping (two cores: 64 hidden, 10 output neurons)."""
    from neurohw.network.mapping import map_network
    from neurohw.network.nir_import import import_nir
    from neurohw.network.quantize import quantize
    from neurohw.train import digits
    model = digits.train(seed=seed)
    network, _ = quantize(import_nir(digits.to_nir(model), dt=model.dt), weight_width=8)
    return map_network(network, lanes=lanes)


class SystemBoardTop(Elaboratable):
    """:class:`UartSystem` clocked by the board's clock, reset by its button (synchronized), on
    its UART pins, with two LEDs (bit 0 toggles at every barrier to the host, bit 1 error)."""

    def __init__(self, plan: ChipPlan, board: str, *, baud: int = DEFAULT_BAUD,
                 rx_fifo_depth: int = 512, router_fifo_depth: int = 2):
        if not isinstance(plan, ChipPlan):
            self._MustUse__silence = True
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        self.spec = _check_board(board)
        self.board = board
        platform = self.spec.platform_class()
        self.clock_hz = float(platform().lookup(*self.spec.clock).clock.frequency)
        self.divisor = baud_divisor(self.clock_hz, baud)
        self.baud = baud
        self.system = SystemTop(plan, router_fifo_depth=router_fifo_depth, debug=False)
        self.host = UartSystem(self.system, divisor=self.divisor, rx_fifo_depth=rx_fifo_depth)

    def elaborate(self, platform):
        m = Module()
        spec = self.spec
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


def elaborate_system(board: str, plan: ChipPlan, **kwargs):
    """Elaborate the system board top on its platform; Amaranth's build plan (no tool runs)."""
    spec = _check_board(board)
    top = SystemBoardTop(plan, board, **kwargs)
    return spec.platform_class()().build(top, name="top", do_build=False,
                                         script_after_read=_SCRIPT_AFTER_READ)


def _overflow(log_text: str):
    from neurohw.flows.synth import parse_nextpnr_failure
    return parse_nextpnr_failure(log_text)[0]


def build_system(board: str, plan: ChipPlan, *, build_dir=None, baud: int = DEFAULT_BAUD,
                 rx_fifo_depth: int = 512, seed: int = 1) -> BoardBuild:
    """Synthesize, place and route the system board top and write its bitstream (``top.bin``
    for the iCEBreaker, ``top.bit`` for the ULX3S) into ``build_dir`` (default
    ``build/boards/<board>-system``). Raises :class:`SystemDoesNotFit` when nextpnr finds a
    resource over capacity (the message lists each), ``RuntimeError`` for other failures."""
    from neurohw.flows.synth import parse_nextpnr_report
    from neurohw.toolchain import synthesis_environment

    spec = _check_board(board)
    build_dir = Path(build_dir if build_dir is not None
                     else BUILD_ROOT / f"{board}-system")
    build_dir.mkdir(parents=True, exist_ok=True)
    top = SystemBoardTop(plan, board, baud=baud, rx_fifo_depth=rx_fifo_depth)
    platform = spec.platform_class()()
    products = platform.build(top, name="top", build_dir=str(build_dir), do_build=False,
                              script_after_read=_SCRIPT_AFTER_READ,
                              nextpnr_opts=f"--seed {int(seed)} --report top_report.json")
    env = {**os.environ, **synthesis_environment()}
    start = time.perf_counter()
    try:
        products.execute_local(str(build_dir), env=env)
    except Exception as error:
        logs = [build_dir / "top.tim", build_dir / "top.rpt"]
        text = "\n".join(path.read_text(errors="replace") for path in logs if path.exists())
        overflow = _overflow(text)
        if overflow:
            over = ", ".join(f"{bel} {used}/{available}" for bel, used, available in overflow)
            raise SystemDoesNotFit(
                f"the {plan.n_cores}-core system does not fit the {board} "
                f"({platform.device}): {over} over capacity (log: {build_dir / 'top.tim'})",
                overflow) from error
        raise RuntimeError(f"building the {board} system bitstream failed ({error}); end of "
                           f"the logs in {build_dir}:\n{text[-3000:]}") from error
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


def main(argv=None) -> int:
    import argparse
    import logging
    parser = argparse.ArgumentParser(prog="python -m neurohw.boards.system",
                                     description="Build a board bitstream of the digits network "
                                                 "(SystemTop behind the UART host link).")
    parser.add_argument("board", choices=["icebreaker", "ulx3s"])
    parser.add_argument("--build-dir", default=None)
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = build_system(args.board, digits_plan(), build_dir=args.build_dir, baud=args.baud,
                          seed=args.seed)
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
