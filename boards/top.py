"""The board top level: a design behind the UART host link, on a board's pins.

One link, chosen by the design: a :class:`~neurohw.hw.core.NeuronCore` goes behind
:class:`~neurohw.hw.host_bridge.UartHost` (the core's streams as frames), a chip
(:class:`neurohw.Chip`, or a ``ChipPlan``) behind :class:`~neurohw.hw.system_bridge.UartSystem`
(its event words as frames); ``docs/integration.md`` has both protocols. Around the link, one
top level in two forms:

* :class:`BoardTop`: on an amaranth-boards platform (the board's clock, reset button, USB-serial
  UART and two LEDs, requested from the platform), for the bitstream builds of ``neurohw.boards.build``;
* :class:`PinTop`: the same with plain ports (``clk``, ``button``, ``uart_rx``, ``uart_tx``,
  ``led``) and the board's polarities, the Verilog module ``<board>_top``
  (:func:`board_top_verilog`) that :func:`neurohw.templates.render` writes next to the
  constraint files for other tools.

Pins and polarities come from the board specs (:mod:`neurohw.boards.specs`).
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import ClockDomain, ClockSignal, Elaboratable, Module, Signal
from amaranth.lib import io, wiring
from amaranth.lib.cdc import ResetSynchronizer
from amaranth.lib.wiring import In, Out

from neurohw.chip import Chip
from neurohw.hw.core import NeuronCore
from neurohw.hw.host_bridge import UartHost
from neurohw.hw.system_bridge import UartSystem
from neurohw.hw.uart import baud_divisor
from neurohw.model import Decay, NeuronParams
from neurohw.network.plan import ChipPlan

from .specs import board_pins, check_board

__all__ = [
    "DEFAULT_BAUD",
    "BOARD_DEBUG",
    "BoardTop",
    "PinTop",
    "board_top_verilog",
    "uart_link",
    "default_core",
]

DEFAULT_BAUD = 115200
#: A ``ChipPlan`` put on a board becomes ``Chip(plan, debug=BOARD_DEBUG)``: nothing on the board
#: drives the debug port (the UART link carries event words only), so it is left out. Pass a
#: :class:`neurohw.Chip` to choose.
BOARD_DEBUG = False


def default_core(seed: int = 0) -> NeuronCore:
    """A small demo core (64 neurons, 32 axons, 8-bit random weights, one current)."""
    rng = np.random.default_rng(seed)
    params = NeuronParams(
        n_currents=1,
        v_width=16,
        i_width=16,
        v_overflow="saturate",
        i_overflow="saturate",
        v_decay=Decay.multiply(3891, 12),
        i_decay=(Decay.multiply(2048, 12),),
        threshold=400,
        reset="zero",
    )
    weights = rng.integers(-64, 128, size=(32, 64))
    return NeuronCore(params, n_neurons=64, n_axons=32, weight_width=8, weights=weights)


def uart_link(design, *, divisor: int, rx_fifo_depth: int = 512, framing: bool = False):
    """``design`` behind the UART host link: ports ``uart_rx``, ``uart_tx``, ``led`` (2 bits),
    in the ``sync`` domain. ``design``: a ``NeuronCore`` (:class:`UartHost`), a
    :class:`neurohw.Chip` or a ``ChipPlan`` (:class:`UartSystem`). ``framing``: the framed link
    (protocol version 2, :mod:`neurohw.hw.framing`)."""
    if isinstance(design, NeuronCore):
        return UartHost(design, divisor=divisor, rx_fifo_depth=rx_fifo_depth, framing=framing)
    if isinstance(design, ChipPlan):
        design = Chip(design, debug=BOARD_DEBUG)
    if isinstance(design, Chip):
        return UartSystem(
            design.top(), divisor=divisor, rx_fifo_depth=rx_fifo_depth, framing=framing
        )
    raise TypeError(f"design must be a NeuronCore, a Chip or a ChipPlan, not {design!r}")


class BoardTop(Elaboratable):
    """``design``'s UART link (:func:`uart_link`) clocked by the board's clock, reset by its
    button (synchronized), on its UART pins, with two LEDs (bit 0 toggles at every step of a
    core, every barrier to the host of a chip; bit 1 error)."""

    def __init__(
        self,
        design,
        board: str,
        *,
        baud: int = DEFAULT_BAUD,
        rx_fifo_depth: int = 512,
        framing: bool = False,
    ):
        self.spec = check_board(board)
        self.board = board
        platform = self.spec.platform_class()
        self.clock_hz = float(platform().lookup(*self.spec.clock).clock.frequency)
        self.divisor = baud_divisor(self.clock_hz, baud)
        self.baud = baud
        self.host = uart_link(
            design, divisor=self.divisor, rx_fifo_depth=rx_fifo_depth, framing=framing
        )
        self.design = design

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


class PinTop(wiring.Component):
    """``design``'s UART link (:func:`uart_link`) as a chip top level: ``clk``, ``button``
    (reset, asynchronously asserted, synchronously released), ``uart_rx``, ``uart_tx``, ``led``
    (2 bits), with the button and LED polarities of a board (``button_active_low``,
    ``led_active_low``)."""

    def __init__(
        self,
        design,
        *,
        divisor: int,
        button_active_low: bool = False,
        led_active_low: bool = False,
        rx_fifo_depth: int = 512,
    ):
        self.host = uart_link(design, divisor=divisor, rx_fifo_depth=rx_fifo_depth)
        self.button_active_low = bool(button_active_low)
        self.led_active_low = bool(led_active_low)
        super().__init__(
            {
                "clk": In(1),
                "button": In(1),
                "uart_rx": In(1, init=1),
                "uart_tx": Out(1),
                "led": Out(2),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = sync = ClockDomain(local=True)
        pressed = Signal()
        m.d.comb += [
            sync.clk.eq(self.clk),
            pressed.eq(~self.button if self.button_active_low else self.button),
        ]
        m.submodules.reset_sync = ResetSynchronizer(pressed, domain="sync")
        m.submodules.host = host = self.host
        m.d.comb += [
            host.uart_rx.eq(self.uart_rx),
            self.uart_tx.eq(host.uart_tx),
            self.led.eq(~host.led if self.led_active_low else host.led),
        ]
        return m


def board_top_verilog(
    design, board: str, *, baud: int = DEFAULT_BAUD, rx_fifo_depth: int = 512
) -> str:
    """Verilog of module ``<board>_top`` (:class:`PinTop` with the board's clock and
    polarities, from :func:`neurohw.boards.specs.board_pins`) for the constraint files of
    :func:`neurohw.templates.render`."""
    from amaranth.back import verilog

    pins = {pin["port"]: pin for pin in board_pins(board)}
    top = PinTop(
        design,
        divisor=baud_divisor(pins["clk"]["clock_hz"], baud),
        button_active_low=pins["button"]["invert"],
        led_active_low=pins["led[0]"]["invert"],
        rx_fifo_depth=rx_fifo_depth,
    )
    return verilog.convert(top, name=f"{board}_top", emit_src=False)
