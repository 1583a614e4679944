"""Latency (time-to-first-spike) and delta-modulation codes of integer values, exact integer
definitions shared with the hardware (:mod:`neurohw.hw.encoders`); ``docs/encoders.md``.

Inputs are ``values`` ``(steps, channels)`` or ``(steps, batch, channels)`` of unsigned
integers in ``0 .. 2**V - 1`` (``V = value_width``): one value per channel per step. Every
sample of a batch starts from the encoder's reset state.

**Latency code** (``window`` ``T`` steps, ``threshold`` ``h``). Step ``t`` is position
``p = t mod T`` of its window. The latency of a value is::

    L(x) = ((2**V - 1 - x) * T) >> V          # 0 for the largest value, T - 1 for 0

Channel ``c`` spikes at step ``t`` iff ``x[t, c] >= h``, ``p >= L(x[t, c])``, and it has not
spiked yet in this window: at most one spike per channel per window, at ``p = L(x)`` for a
value held over the window (a value that rises later in the window fires at once). Values
below ``h`` (default 1: zero) never fire.

**Delta modulation** (``threshold`` ``θ >= 1``, reference update ``reference``, ``initial``
reference ``r0``). Each channel keeps a reference ``r`` (``r0`` at reset). Each step, with
``d = x - r``: the channel's ON line spikes iff ``d >= θ``, its OFF line iff ``-d >= θ`` (never
both); on a spike the reference is updated, otherwise kept:

* ``reference="value"``: ``r = x`` (send-on-delta: the change is measured from the last value
  that caused a spike);
* ``reference="threshold"``: ``r = r + θ`` (ON) or ``r - θ`` (OFF): a delta modulator that
  tracks the signal one threshold per step.

Either way ``r`` stays in ``0 .. 2**V - 1``. Output lines: ON of channel ``c`` is line ``2c``,
OFF is line ``2c + 1`` (``2 * channels`` lines).
"""

from __future__ import annotations

import numpy as np

from .lfsr import _is_int, _shape_back, check_values

__all__ = ["latency", "latency_code", "delta_code", "REFERENCE_UPDATES"]

REFERENCE_UPDATES = ("value", "threshold")


def _check_window(window):
    if not _is_int(window) or not 1 <= window <= 1 << 16:
        raise ValueError(f"window must be an integer in 1..65536, not {window!r}")


def latency(values, *, value_width: int, window: int) -> np.ndarray:
    """``L(x) = ((2**V - 1 - x) * T) >> V`` (int64) for integer ``values`` of any shape."""
    _check_window(window)
    x = np.asarray(values, dtype=np.int64)
    return (((1 << value_width) - 1 - x) * int(window)) >> value_width


def latency_code(values, *, value_width: int, window: int, threshold: int = 1) -> np.ndarray:
    """Time-to-first-spike code (module docstring): spikes (int64, 0/1) shaped as ``values``."""
    v = check_values(values, value_width)
    _check_window(window)
    if not _is_int(threshold) or not 0 <= threshold <= 1 << value_width:
        raise ValueError(
            f"threshold must be an integer in 0..{1 << value_width}, not {threshold!r}"
        )
    lat = latency(v, value_width=value_width, window=window)
    steps = v.shape[0]
    fired = np.zeros(v.shape[1:], dtype=bool)
    out = np.zeros(v.shape, dtype=np.int64)
    for t in range(steps):
        p = t % window
        if p == 0:
            fired[:] = False
        spike = (v[t] >= threshold) & (p >= lat[t]) & ~fired
        fired |= spike
        out[t] = spike
    return _shape_back(out, values)


def delta_code(
    values, *, value_width: int, threshold: int, reference: str = "value", initial: int = 0
) -> np.ndarray:
    """Delta modulation (module docstring): spikes (int64, 0/1) ``(steps, [batch,] 2 *
    channels)``, ON of channel ``c`` on line ``2c``, OFF on ``2c + 1``."""
    v = check_values(values, value_width)
    top = (1 << value_width) - 1
    if not _is_int(threshold) or not 1 <= threshold <= top:
        raise ValueError(f"threshold must be an integer in 1..{top}, not {threshold!r}")
    if reference not in REFERENCE_UPDATES:
        raise ValueError(
            f"reference must be one of {', '.join(map(repr, REFERENCE_UPDATES))}, not {reference!r}"
        )
    if not _is_int(initial) or not 0 <= initial <= top:
        raise ValueError(f"initial must be an integer in 0..{top}, not {initial!r}")
    steps, batch, channels = v.shape
    ref = np.full((batch, channels), int(initial), dtype=np.int64)
    out = np.zeros((steps, batch, 2 * channels), dtype=np.int64)
    for t in range(steps):
        d = v[t] - ref
        on = d >= threshold
        off = -d >= threshold
        if reference == "value":
            ref = np.where(on | off, v[t], ref)
        else:
            ref = ref + threshold * on - threshold * off
        out[t, :, 0::2] = on
        out[t, :, 1::2] = off
    return _shape_back(out, values)
