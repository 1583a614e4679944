"""The fixed-point projection of the hardware: one Amaranth expression for
:func:`neurohw.model.fixedpoint.project`, used by the neuron update datapath
(:mod:`neurohw.hw.neuron_update`) and the per-event current update of the neuron core
(:mod:`neurohw.hw.core_events`), so that the model's saturate / wrap policies exist once in
hardware. The ranges come from the model (:func:`neurohw.model.params.state_range`).
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Value, signed

from ..model.params import Overflow, state_range

__all__ = ["project"]


def project(x, width: int, overflow: Overflow):
    """``neurohw.model.fixedpoint.project`` of an exact signed value ``x``.

    Saturation tests the bits above the sign bit of the target width (a LUT tree, not a
    comparator). ``wrap_lava`` is a two's-complement wrap whose only difference is that
    ``-2^(W-1)`` becomes ``+2^(W-1)``: same low ``W`` bits, and bit ``W`` (the sign of the
    ``W + 1``-bit result) set only for the other negative values.
    """
    x = Value.cast(x)
    if not x.shape().signed:
        x = Cat(x, Const(0, 1)).as_signed()
    n = len(x)
    if n < width:
        # Every value of x fits the range (no wrap_lava corner case below 2^(W-2)).
        return x
    if overflow is Overflow.WRAP:
        return x[:width].as_signed()
    if overflow is Overflow.WRAP_LAVA:
        return Cat(x[:width], x[width - 1] & x[: width - 1].any()).as_signed()
    low, high = state_range(width, overflow)
    top = x[width - 1 :]
    fits = ~top.any() | top.all()
    if overflow is Overflow.SATURATE_SYMMETRIC:
        # -2^(W-1) has the right top bits but lies outside the symmetric range.
        fits = ~top.any() | (top.all() & x[: width - 1].any())
    return Mux(
        fits,
        x[:width].as_signed(),
        Mux(x[-1], Const(low, signed(width)), Const(high, signed(width))),
    )
