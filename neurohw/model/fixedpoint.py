"""Integer operators of the semantics, on numpy arrays.

Each function is exact on mathematical integers. The arrays are int64 when the caller has proven
that no intermediate value can leave 62 bits, and Python-int object arrays otherwise, so the same
code is the definition for every width from 2 to 64 bits.
"""

from __future__ import annotations

import numpy as np

from .params import Decay, DecayKind, Overflow, Rounding, state_range

__all__ = ["project", "decay", "count_spikes_subtract"]


def project(x, width: int, overflow: Overflow):
    """Bring an unbounded integer array into a state's range with the state's policy."""
    low, high = state_range(width, overflow)
    if overflow in (Overflow.SATURATE, Overflow.SATURATE_SYMMETRIC):
        return np.minimum(np.maximum(x, low), high)
    # Both wraps are ``low + ((x - low) mod 2^W)``; they differ only in where the range starts.
    modulus = 1 << width
    if x.dtype == object or width < 63:
        return (x - low) % modulus + low
    raise AssertionError("64-bit wrap must run on object arrays")


def decay(x, spec: Decay):
    """The decayed value of ``x`` (not yet projected onto a width)."""
    if spec.kind is DecayKind.NONE:
        return x
    # A per-neuron constant (one value per neuron, the last axis of x) broadcasts; on Python
    # integers it must be Python integers too, or numpy would compute in int64.
    constant, factor = spec.constant, spec.factor
    if spec.per_neuron and getattr(getattr(x, "dtype", None), "kind", None) == "O":
        constant, factor = constant.astype(object), factor.astype(object)
    if spec.kind is DecayKind.SHIFT:
        leak = x >> constant
        # Xylo's minimum leak: a positive value always loses at least 1; a negative one needs
        # no such rule because an arithmetic shift of a negative number is never 0.
        leak = np.where((leak == 0) & (x > 0), 1, leak)
        return x - leak
    product = x * factor
    k = spec.bits
    if spec.rounding is Rounding.FLOOR:
        return product >> k
    if spec.rounding is Rounding.NEAREST:
        return (product + (1 << (k - 1))) >> k
    return np.where(product < 0, -((-product) >> k), product >> k)


def count_spikes_subtract(v, threshold, comparison_is_strict: bool, max_spikes: int):
    """Spikes a neuron emits under reset by subtraction: the largest ``n <= max_spikes`` such
    that the comparison still holds before each of the ``n`` subtractions.

    A threshold of 0 makes every firing neuron emit ``max_spikes`` spikes and keep its value.
    """
    threshold = np.asarray(threshold)
    positive = threshold > 0
    divisor = np.where(positive, threshold, 1)
    if comparison_is_strict:
        fires = v > threshold
        repeats = (v - threshold - 1) // divisor + 1
    else:
        fires = v >= threshold
        repeats = (v - threshold) // divisor + 1
    repeats = np.where(positive, repeats, max_spikes)
    return np.where(fires, np.minimum(repeats, max_spikes), 0)
