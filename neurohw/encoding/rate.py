"""Deterministic rate code: an integer level ``q`` in ``0..levels`` becomes a regular train of
binary spikes of rate ``q / levels`` per step.

Definition (the one :func:`neurohw.train.digits.encode_images` uses with ``levels = 16``): the
cumulative spike count after step ``t`` (``t = 0, 1, ...``) is::

    C(t) = floor((t + 1) * q / levels + 1/2) = (2 (t + 1) q + levels) // (2 levels)

and the spike of step ``t`` is ``C(t) - C(t - 1)`` (``C(-1) = 0``), always 0 or 1 since
``q <= levels``. Over ``steps`` steps the total is ``round_half_up(steps * q / levels)``.

Hardware form (bit-exact, tested): one accumulator per line, ``a = levels`` after reset; each step
``a = a + 2 q``; if ``a >= 2 levels`` the line spikes and ``a = a - 2 levels``. This needs an adder
and a comparator of ``bits(4 levels)`` bits per line, no multiplier or divider.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rate_code", "rate_code_accumulator", "rate_total"]


def _check(levels_values, levels: int, steps: int) -> np.ndarray:
    if isinstance(levels, bool) or not isinstance(levels, (int, np.integer)) or levels < 1:
        raise ValueError(f"levels must be a positive integer, not {levels!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, not {steps!r}")
    q = np.asarray(levels_values)
    if q.dtype.kind not in "iub":
        raise ValueError(f"levels_values must be integers, not dtype {q.dtype}")
    q = q.astype(np.int64)
    if q.size and (q.min() < 0 or q.max() > levels):
        raise ValueError(
            f"levels_values must lie in 0..{levels}, not {int(q.min())}..{int(q.max())}"
        )
    return q


def rate_code(levels_values, levels: int, steps: int) -> np.ndarray:
    """Binary spikes ``(steps, *levels_values.shape)`` (int64, each 0 or 1) of the rate code of
    integer levels ``levels_values`` (each in ``0..levels``), closed form (module docstring)."""
    q = _check(levels_values, levels, steps)
    t = np.arange(steps + 1).reshape((steps + 1,) + (1,) * q.ndim)
    cumulative = (2 * t * q[np.newaxis] + levels) // (2 * levels)
    return np.diff(cumulative, axis=0).astype(np.int64)


def rate_code_accumulator(levels_values, levels: int, steps: int) -> np.ndarray:
    """The same spikes as :func:`rate_code`, computed as the hardware does (one accumulator per
    line, module docstring)."""
    q = _check(levels_values, levels, steps)
    acc = np.full(q.shape, levels, dtype=np.int64)
    out = np.zeros((steps,) + q.shape, dtype=np.int64)
    for t in range(steps):
        acc = acc + 2 * q
        fire = acc >= 2 * levels
        out[t] = fire
        acc = acc - 2 * levels * fire
    return out


def rate_total(levels_values, levels: int, steps: int) -> np.ndarray:
    """Total spikes over ``steps`` steps: ``round_half_up(steps * q / levels)``."""
    q = _check(levels_values, levels, steps)
    return (2 * steps * q + levels) // (2 * levels)
