"""UART receiver and transmitter (8 data bits, no parity, 1 stop bit) with stream interfaces.

``divisor`` is the number of clock cycles per bit (``clock_hz / baud``, see
:func:`baud_divisor`). Both ends idle high; a frame is a start bit (0), eight data bits LSB
first and a stop bit (1).

* :class:`UARTTx`: ``data`` (In stream of bytes) -> ``tx`` (the line). ``data.ready`` is high
  while the transmitter is idle; a byte takes ``10 * divisor`` cycles.
* :class:`UARTRx`: ``rx`` (the line, synchronized inside with two flip-flops) -> ``data`` (Out
  stream of bytes). The receiver finds the falling edge of the start bit, checks it again in the
  middle of the bit (a shorter glitch is ignored), samples each data bit in its middle and
  checks the stop bit. A frame whose stop bit is 0 is dropped and pulses ``frame_error``; a byte
  that arrives while the previous one is still offered on ``data`` (UART has no flow control)
  is dropped and pulses ``overrun``. The receiver re-arms in the middle of the stop bit, so it
  tolerates a sender up to about 4 % faster or slower.
"""

from __future__ import annotations

import numbers

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTTx", "UARTRx", "baud_divisor", "MIN_DIVISOR", "MAX_DIVISOR"]

#: Fewest clock cycles per bit: the receiver needs a middle sample after its 2-cycle synchronizer.
MIN_DIVISOR = 4
MAX_DIVISOR = 1 << 24


def _check_divisor(divisor) -> int:
    if isinstance(divisor, bool) or not isinstance(divisor, numbers.Integral):
        raise TypeError(
            f"divisor must be an integer between {MIN_DIVISOR} and {MAX_DIVISOR}, not {divisor!r}"
        )
    if not MIN_DIVISOR <= divisor <= MAX_DIVISOR:
        raise ValueError(
            f"divisor must be an integer between {MIN_DIVISOR} and {MAX_DIVISOR}, not {divisor}"
        )
    return int(divisor)


def baud_divisor(clock_hz: float, baud: float, *, tolerance: float = 0.02) -> int:
    """Clock cycles per bit for ``baud`` at ``clock_hz``, rounded; ``ValueError`` if the
    resulting rate is off by more than ``tolerance`` (2 %: a UART frame tolerates about 4 % in
    total, shared by both ends) or the divisor is out of range."""
    if not clock_hz > 0 or not baud > 0:
        raise ValueError(f"clock_hz and baud must be positive, not {clock_hz!r} and {baud!r}")
    divisor = round(clock_hz / baud)
    if not MIN_DIVISOR <= divisor <= MAX_DIVISOR:
        raise ValueError(
            f"{baud:g} baud at {clock_hz:g} Hz needs a divisor of {divisor}, outside "
            f"{MIN_DIVISOR}..{MAX_DIVISOR}"
        )
    error = abs(clock_hz / divisor - baud) / baud
    if error > tolerance:
        raise ValueError(
            f"{baud:g} baud at {clock_hz:g} Hz: the nearest divisor {divisor} gives "
            f"{clock_hz / divisor:.0f} baud, {100 * error:.1f} % off (more than "
            f"{100 * tolerance:g} %)"
        )
    return divisor


class UARTTx(wiring.Component):
    """8N1 transmitter: ``data`` In(stream of 8 bits) -> ``tx`` Out(1, idles high)."""

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        shift = Signal(10, init=0x3FF)  # {stop, data[7:0], start}, LSB first
        bits = Signal(range(11))  # bits left to send
        timer = Signal(range(self.divisor))
        m.d.comb += [self.tx.eq(shift[0]), self.data.ready.eq(bits == 0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [
                shift.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))),
                bits.eq(10),
                timer.eq(self.divisor - 1),
            ]
        with m.Elif(bits != 0):
            with m.If(timer == 0):
                m.d.sync += [
                    shift.eq((shift >> 1) | (1 << 9)),
                    bits.eq(bits - 1),
                    timer.eq(self.divisor - 1),
                ]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m


class UARTRx(wiring.Component):
    """8N1 receiver: ``rx`` In(1) -> ``data`` Out(stream of 8 bits); ``frame_error`` and
    ``overrun`` pulse for one cycle when a byte is dropped."""

    def __init__(self, divisor: int):
        self.divisor = _check_divisor(divisor)
        super().__init__(
            {
                "rx": In(1, init=1),
                "data": Out(stream.Signature(8)),
                "frame_error": Out(1),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bit = Signal(range(9))
        shift = Signal(8)
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += self.data.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(rx):
                        m.next = "IDLE"  # a glitch, not a start bit
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                        m.next = "DATA"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [
                        shift.eq((shift >> 1) | (rx << 7)),
                        bit.eq(bit + 1),
                        timer.eq(self.divisor - 1),
                    ]
                    with m.If(bit == 7):
                        m.next = "STOP"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("STOP"):
                with m.If(timer == 0):
                    with m.If(~rx):
                        m.d.comb += self.frame_error.eq(1)
                        m.next = "BREAK"
                    with m.Elif(self.data.valid & ~self.data.ready):
                        m.d.comb += self.overrun.eq(1)
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [self.data.valid.eq(1), self.data.payload.eq(shift)]
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += timer.eq(timer - 1)
            with m.State("BREAK"):
                # After a framing error, wait for the line to go idle before the next start bit.
                with m.If(rx):
                    m.next = "IDLE"
        return m
