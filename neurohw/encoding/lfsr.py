"""Bernoulli rate code drawn from a documented Galois LFSR, one per channel, so that the
hardware (:class:`neurohw.hw.encoders.RateEncoder`) and this model draw the same numbers.

This is a *stochastic* rate code, unlike :mod:`neurohw.encoding.rate` (a deterministic,
evenly spaced train): each step, each channel spikes with probability about
``value / 2**value_width``, independently of its past spikes (up to the LFSR's statistics).

Definitions (``docs/encoders.md`` has the same text):

* **LFSR.** A ``W``-bit Galois LFSR in right-shift form with the feedback mask
  ``LFSR_MASKS[W]``. One shift maps the state ``s`` (never 0) to
  ``(s >> 1) ^ (mask if s & 1 else 0)``. Every mask in :data:`LFSR_MASKS` gives the maximal
  period ``2**W - 1`` (:func:`lfsr_is_maximal` proves it with the order of the shift's matrix
  over GF(2); the tests run it on every entry).
* **Seeds.** Channel ``c`` starts from ``lfsr_seeds(seed, channels, W)[c]``: the SplitMix64
  output of ``seed + (c + 1) * 0x9E3779B97F4A7C15`` (mod ``2**64``), its low ``W`` bits, and 1
  when those are 0. Explicit per-channel seeds (non-zero, ``W`` bits) may be given instead.
* **Draw.** Each step, each channel's state advances by ``W`` shifts (so consecutive draws share
  no state bit that has not been through the feedback ``W`` times); the draw is the low
  ``value_width`` bits of the new state, ``r = s & (2**value_width - 1)``.
* **Comparison.** The channel spikes iff ``value > r`` (unsigned). So a value of 0 never spikes,
  and over a full LFSR period the spike probability is ``value / 2**V`` exactly up to the one
  missing all-zero state: ``r = 0`` occurs ``2**(W - V) - 1`` times, every other ``r``
  ``2**(W - V)`` times, in ``2**W - 1`` draws.
* **Samples.** A batch ``(steps, batch, channels)`` runs every sample from the seeds (the
  hardware: reset before each sample), so equal inputs give equal spikes.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LFSR_MASKS",
    "lfsr_mask",
    "lfsr_shift",
    "lfsr_advance",
    "lfsr_is_maximal",
    "lfsr_seeds",
    "lfsr_draws",
    "bernoulli_code",
    "check_values",
]

#: Galois (right-shift) feedback masks of maximal-length LFSRs, by width; the mask's bit
#: ``W - 1`` is always set. Widths 3..24 and 32 (the tests prove each maximal).
LFSR_MASKS: dict[int, int] = {
    3: 0x6,
    4: 0xC,
    5: 0x14,
    6: 0x30,
    7: 0x60,
    8: 0xB8,
    9: 0x110,
    10: 0x240,
    11: 0x500,
    12: 0xE08,
    13: 0x1C80,
    14: 0x3802,
    15: 0x6000,
    16: 0xD008,
    17: 0x12000,
    18: 0x20400,
    19: 0x72000,
    20: 0x90000,
    21: 0x140000,
    22: 0x300000,
    23: 0x420000,
    24: 0xE10000,
    32: 0x80200003,
}

_GOLDEN = 0x9E3779B97F4A7C15
_M64 = (1 << 64) - 1


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def lfsr_mask(width: int) -> int:
    """The feedback mask of the ``width``-bit LFSR (:data:`LFSR_MASKS`)."""
    if not _is_int(width) or int(width) not in LFSR_MASKS:
        raise ValueError(f"lfsr_width must be one of {sorted(LFSR_MASKS)}, not {width!r}")
    return LFSR_MASKS[int(width)]


def lfsr_shift(state, mask: int):
    """One Galois shift of ``state`` (int or integer array)."""
    if isinstance(state, np.ndarray):
        return (state >> 1) ^ np.where(state & 1, np.uint64(mask), np.uint64(0)).astype(state.dtype)
    return (state >> 1) ^ (mask if state & 1 else 0)


def lfsr_advance(state, width: int, shifts: int | None = None):
    """``state`` after ``shifts`` Galois shifts (default ``width``: one draw)."""
    mask = lfsr_mask(width)
    for _ in range(width if shifts is None else shifts):
        state = lfsr_shift(state, mask)
    return state


def _gf2_matmul(a: list[int], b: list[int]) -> list[int]:
    """Product of square GF(2) matrices given as column bit masks: (a @ b)[:, j] = a @ b[:, j]."""
    out = []
    for column in b:
        value, bit = 0, 0
        while column:
            if column & 1:
                value ^= a[bit]
            column >>= 1
            bit += 1
        out.append(value)
    return out


def _gf2_power(matrix: list[int], exponent: int) -> list[int]:
    size = len(matrix)
    result = [1 << i for i in range(size)]
    while exponent:
        if exponent & 1:
            result = _gf2_matmul(matrix, result)
        matrix = _gf2_matmul(matrix, matrix)
        exponent >>= 1
    return result


def _prime_factors(n: int) -> list[int]:
    factors, p = [], 2
    while p * p <= n:
        if n % p == 0:
            factors.append(p)
            while n % p == 0:
                n //= p
        p += 1
    if n > 1:
        factors.append(n)
    return factors


def lfsr_is_maximal(width: int, mask: int) -> bool:
    """Whether the Galois shift with ``mask`` has period ``2**width - 1`` on every non-zero
    state: its matrix ``A`` over GF(2) satisfies ``A**(2**width - 1) = I`` and
    ``A**((2**width - 1) / q) != I`` for every prime ``q`` dividing ``2**width - 1``."""
    # Column j of A is the shift of the state with only bit j set.
    matrix = [lfsr_shift(1 << j, mask) for j in range(width)]
    identity = [1 << j for j in range(width)]
    order = (1 << width) - 1
    if _gf2_power(matrix, order) != identity:
        return False
    return all(_gf2_power(matrix, order // q) != identity for q in _prime_factors(order))


def _splitmix64(z: int) -> int:
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _M64
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _M64
    return z ^ (z >> 31)


def lfsr_seeds(seed: int, channels: int, width: int) -> np.ndarray:
    """Per-channel non-zero seeds (uint64, ``width`` bits) derived from one integer ``seed``
    (module docstring)."""
    lfsr_mask(width)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    if not _is_int(channels) or channels < 1:
        raise ValueError(f"channels must be an integer of at least 1, not {channels!r}")
    low = (1 << width) - 1
    seeds = [
        (_splitmix64((int(seed) + (c + 1) * _GOLDEN) & _M64) & low) or 1
        for c in range(int(channels))
    ]
    return np.array(seeds, dtype=np.uint64)


def check_values(values, value_width: int) -> np.ndarray:
    """``values`` as int64 ``(steps, batch, channels)`` (a 2-D ``(steps, channels)`` input gets
    a batch of 1), each in ``0 .. 2**value_width - 1``; refused with ``ValueError`` otherwise."""
    if not _is_int(value_width) or not 1 <= value_width <= 32:
        raise ValueError(f"value_width must be an integer in 1..32, not {value_width!r}")
    array = np.asarray(values)
    if array.dtype.kind not in "iub":
        raise ValueError(f"values must be integers, not dtype {array.dtype}")
    if array.ndim == 2:
        array = array[:, np.newaxis, :]
    if array.ndim != 3 or 0 in array.shape:
        raise ValueError(
            f"values must have shape (steps, channels) or (steps, batch, channels)"
            f" with no empty axis, not {np.shape(values)}"
        )
    array = array.astype(np.int64)
    if array.min() < 0 or array.max() >= 1 << value_width:
        bad = int(array.min() if array.min() < 0 else array.max())
        raise ValueError(
            f"values must lie in 0..{(1 << value_width) - 1} (value_width={value_width}), not {bad}"
        )
    return array


def _shape_back(spikes: np.ndarray, values) -> np.ndarray:
    return spikes[:, 0, :] if np.ndim(values) == 2 else spikes


def _channel_seeds(seed, seeds, channels, width) -> np.ndarray:
    if seeds is None:
        return lfsr_seeds(seed, channels, width)
    array = np.asarray(seeds)
    if array.dtype.kind not in "iu" or array.shape != (channels,):
        raise ValueError(
            f"seeds must be {channels} integers (one per channel), not "
            f"{np.shape(seeds)} of dtype {array.dtype}"
        )
    if (array <= 0).any() or (array >= 1 << width).any():
        raise ValueError(
            f"seeds must lie in 1..{(1 << width) - 1} (lfsr_width={width}), not {array.tolist()}"
        )
    return array.astype(np.uint64)


def lfsr_draws(
    steps: int,
    channels: int,
    *,
    lfsr_width: int = 16,
    seed: int = 1,
    seeds=None,
    value_width: int | None = None,
) -> np.ndarray:
    """The draws ``(steps, channels)`` (int64): each step's new state after ``lfsr_width``
    shifts, masked to ``value_width`` bits when given."""
    mask = lfsr_mask(lfsr_width)
    state = _channel_seeds(seed, seeds, channels, lfsr_width).copy()
    low = (1 << (lfsr_width if value_width is None else value_width)) - 1
    out = np.empty((steps, channels), dtype=np.int64)
    for t in range(steps):
        for _ in range(lfsr_width):
            state = lfsr_shift(state, mask)
        out[t] = (state & np.uint64(low)).astype(np.int64)
    return out


def bernoulli_code(
    values, *, value_width: int, lfsr_width: int = 16, seed: int = 1, seeds=None
) -> np.ndarray:
    """Bernoulli rate code of integer ``values`` ``(steps, channels)`` or ``(steps, batch,
    channels)``: spikes (int64, 0 or 1) of the same shape, ``value > draw`` (module docstring).
    ``value_width <= lfsr_width``."""
    v = check_values(values, value_width)
    lfsr_mask(lfsr_width)
    if value_width > lfsr_width:
        raise ValueError(f"value_width={value_width} must not exceed lfsr_width={lfsr_width}")
    steps, _, channels = v.shape
    draws = lfsr_draws(
        steps, channels, lfsr_width=lfsr_width, seed=seed, seeds=seeds, value_width=value_width
    )
    return _shape_back((v > draws[:, np.newaxis, :]).astype(np.int64), values)
