"""Population coding: one continuous value as the spike counts of ``N`` neurons with tuned
receptive fields, defined in integers so that hardware can reproduce it exactly.

Definition (``docs/conversion.md``, section "Population coding"):

* A value enters as an integer **code** ``u`` in ``0..U-1``, ``U = 2^code_bits`` (what an ADC
  delivers; :meth:`PopulationCode.quantize` maps a float in ``[low, high]`` to
  ``u = clip(floor((x - low) / (high - low) * (U - 1) + 1/2), 0, U - 1)`` on the host).
* Neuron ``k`` (``0..N-1``) has the integer **centre**
  ``c_k = (2 k (U - 1) + (N - 1)) // (2 (N - 1))`` (``round_half_up(k (U - 1) / (N - 1))``: the
  first at 0, the last at ``U - 1``, evenly spread).
* Its **level** is a table lookup on the distance: ``q_k(u) = G[|u - c_k|]`` where ``G`` is the
  tuning table ``G[0..D-1]`` (non-increasing integers in ``0..max_level``) and ``G[d] = 0`` for
  ``d >= D``. The table *is* the definition: it is stored as integers, and hardware holds the
  same integers in a ROM of ``D`` words of ``bits(max_level)`` bits. :func:`gaussian_code` fills
  it with ``G[d] = floor(max_level * exp(-d^2 / (2 sigma^2)) + 1/2)`` and :func:`cosine_code`
  with ``G[d] = floor(max_level * cos(pi d / (2 width)) + 1/2)`` for ``d < width``; both are
  computed once in Python and then only copied.
* **Spikes**, per step, for ``steps`` steps:
  ``mode="count"``: neuron ``k`` sends the count ``q_k(u)`` every step (an input group with
  ``max_count = max_level``); ``mode="rate"``: neuron ``k`` sends binary spikes with the
  deterministic rate code of :mod:`neurohw.encoding.rate` at rate ``q_k(u) / max_level``
  (``max_count = 1``).

Hardware per channel: ``N`` subtract-and-absolute units (or one, time-multiplexed over ``k``),
one shared ROM, and in rate mode one accumulator of ``bits(4 max_level)`` bits per neuron.

Decoding (host side) from the total counts ``n_k`` over the steps:

* ``"template"`` (default): the code ``v`` whose expected totals ``E_k(v)`` (exactly what the
  encoder produces for ``v`` over the same steps and mode) are nearest in L1 distance
  ``sum_k |n_k - E_k(v)|``; ties go to the lower median of the tied codes. On noise-free counts
  the result encodes to exactly the same counts as the input (tested), so the error is the width
  of the set of codes the encoder cannot tell apart.
* ``"centroid"``: ``sum_k n_k c_k / sum_k n_k`` (a float; biased towards the middle near the ends
  of the range, where the tuning curves are cut off).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .rate import rate_code, rate_total

__all__ = ["PopulationCode", "PopulationCodeError", "gaussian_code", "cosine_code", "MODES"]

MODES = ("count", "rate")


class PopulationCodeError(ValueError):
    """Bad population-code parameters or inputs."""


def _int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise PopulationCodeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        bounds = f"at least {low}" if high is None else f"between {low} and {high}"
        raise PopulationCodeError(f"{name} must be {bounds}, not {value}")
    return value


def centres(n_neurons: int, code_bits: int) -> tuple[int, ...]:
    """``c_k = (2 k (U - 1) + (N - 1)) // (2 (N - 1))``, ``U = 2^code_bits``."""
    top = (1 << code_bits) - 1
    n = n_neurons - 1
    return tuple((2 * k * top + n) // (2 * n) for k in range(n_neurons))


@dataclass(frozen=True)
class PopulationCode:
    """An integer population code (module docstring). Build one with :func:`gaussian_code` or
    :func:`cosine_code`, or directly with an explicit ``table``."""

    n_neurons: int
    code_bits: int
    max_level: int
    table: tuple

    def __post_init__(self):
        n = _int(self.n_neurons, "n_neurons", 2, 4096)
        bits = _int(self.code_bits, "code_bits", 1, 16)
        q_max = _int(self.max_level, "max_level", 1, 65535)
        table = (
            tuple(int(g) for g in np.asarray(self.table).reshape(-1))
            if np.asarray(self.table).dtype.kind in "iu"
            else None
        )
        if table is None:
            raise PopulationCodeError(f"table must hold integers, not {self.table!r}")
        while table and table[-1] == 0:
            table = table[:-1]
        if not table:
            raise PopulationCodeError("table must have a positive first entry, not all zeros")
        if len(table) > (1 << bits):
            table = table[: 1 << bits]
        if min(table) < 0 or max(table) > q_max:
            raise PopulationCodeError(
                f"table entries must lie in 0..max_level={q_max}, not {min(table)}..{max(table)}"
            )
        if any(a < b for a, b in zip(table, table[1:])):
            raise PopulationCodeError(
                "table must be non-increasing (a tuning curve falls off "
                "with the distance from the centre)"
            )
        object.__setattr__(self, "n_neurons", n)
        object.__setattr__(self, "code_bits", bits)
        object.__setattr__(self, "max_level", q_max)
        object.__setattr__(self, "table", table)

    # --- the definition -------------------------------------------------------------------

    @property
    def n_codes(self) -> int:
        return 1 << self.code_bits

    @property
    def centres(self) -> tuple[int, ...]:
        return centres(self.n_neurons, self.code_bits)

    def max_count(self, mode: str = "count") -> int:
        """The input group's ``max_count`` for this mode."""
        self._mode(mode)
        return self.max_level if mode == "count" else 1

    def _codes(self, codes) -> np.ndarray:
        u = np.asarray(codes)
        if u.dtype.kind not in "iu":
            raise PopulationCodeError(
                f"codes must be integers (use quantize() for float values), not dtype {u.dtype}"
            )
        u = u.astype(np.int64)
        if u.size and (u.min() < 0 or u.max() >= self.n_codes):
            raise PopulationCodeError(
                f"codes must lie in 0..{self.n_codes - 1} "
                f"(code_bits={self.code_bits}), not {int(u.min())}.."
                f"{int(u.max())}"
            )
        return u

    @staticmethod
    def _mode(mode):
        if mode not in MODES:
            raise PopulationCodeError(
                f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}"
            )

    def levels(self, codes) -> np.ndarray:
        """``q_k(u) = G[|u - c_k|]``: int64 ``(*codes.shape, N)``."""
        u = self._codes(codes)
        distance = np.abs(u[..., np.newaxis] - np.asarray(self.centres, dtype=np.int64))
        rom = np.zeros(self.n_codes, dtype=np.int64)
        rom[: len(self.table)] = self.table
        return rom[distance]

    def encode(self, codes, steps: int, mode: str = "count") -> np.ndarray:
        """Spike counts ``(steps, *codes.shape, N)`` (int64) for integer ``codes``."""
        self._mode(mode)
        steps = _int(steps, "steps", 1)
        q = self.levels(codes)
        if mode == "count":
            return np.broadcast_to(q, (steps,) + q.shape).copy()
        return rate_code(q, self.max_level, steps)

    def quantize(self, values, low: float, high: float) -> np.ndarray:
        """Host side: float ``values`` in ``[low, high]`` to codes
        ``clip(floor((x - low) / (high - low) (U - 1) + 1/2), 0, U - 1)``."""
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise PopulationCodeError(f"need finite low < high, not low={low!r}, high={high!r}")
        x = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise PopulationCodeError("values must be finite")
        u = np.floor((x - low) / (high - low) * (self.n_codes - 1) + 0.5)
        return np.clip(u, 0, self.n_codes - 1).astype(np.int64)

    def value(self, codes, low: float, high: float) -> np.ndarray:
        """Codes (integer or decoded float) back to values in ``[low, high]``."""
        return low + np.asarray(codes, dtype=np.float64) * (high - low) / (self.n_codes - 1)

    # --- decoding ---------------------------------------------------------------------------

    def expected_totals(self, steps: int, mode: str = "count") -> np.ndarray:
        """``E[v, k]``: total counts over ``steps`` steps that code ``v`` produces, int64
        ``(U, N)``."""
        self._mode(mode)
        steps = _int(steps, "steps", 1)
        q = self.levels(np.arange(self.n_codes))
        return steps * q if mode == "count" else rate_total(q, self.max_level, steps)

    def decode(
        self,
        totals,
        steps: int,
        mode: str = "count",
        method: str = "template",
        batch_size: int = 256,
    ) -> np.ndarray:
        """Codes from total counts ``totals`` ``(..., N)`` over ``steps`` steps: int64 codes
        (``"template"``) or float codes (``"centroid"``); module docstring."""
        n = np.asarray(totals)
        if n.dtype.kind not in "iub":
            raise PopulationCodeError(f"totals must be integer spike counts, not dtype {n.dtype}")
        if n.ndim < 1 or n.shape[-1] != self.n_neurons:
            raise PopulationCodeError(
                f"totals must have shape (..., {self.n_neurons}), not {n.shape}"
            )
        n = n.astype(np.int64)
        if method == "centroid":
            c = np.asarray(self.centres, dtype=np.float64)
            total = n.sum(axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = (n * c).sum(axis=-1) / total
            return np.where(total > 0, out, (self.n_codes - 1) / 2)
        if method != "template":
            raise PopulationCodeError(f"method must be 'template' or 'centroid', not {method!r}")
        expected = self.expected_totals(steps, mode)
        flat = n.reshape(-1, self.n_neurons)
        out = np.empty(flat.shape[0], dtype=np.int64)
        for first in range(0, flat.shape[0], batch_size):
            chunk = flat[first : first + batch_size]
            distance = np.abs(chunk[:, np.newaxis, :] - expected[np.newaxis]).sum(axis=-1)
            best = distance == distance.min(axis=1, keepdims=True)
            rank = np.cumsum(best, axis=1)
            target = (best.sum(axis=1, keepdims=True) - 1) // 2 + 1
            out[first : first + batch_size] = np.argmax(best & (rank >= target), axis=1)
        return out.reshape(n.shape[:-1])

    # --- description ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """Everything hardware needs: sizes, the centres and the ROM contents."""
        return {
            "n_neurons": self.n_neurons,
            "code_bits": self.code_bits,
            "max_level": self.max_level,
            "centres": list(self.centres),
            "table": list(self.table),
            "rom_words": len(self.table),
            "rom_word_bits": max(1, self.max_level.bit_length()),
        }


def _spacing(n_neurons, code_bits):
    return ((1 << code_bits) - 1) / (n_neurons - 1)


def gaussian_code(
    n_neurons: int, *, code_bits: int = 8, max_level: int = 15, sigma: float | None = None
) -> PopulationCode:
    """Gaussian tuning: ``G[d] = floor(max_level exp(-d^2 / (2 sigma^2)) + 1/2)``; ``sigma`` in
    code units, default the centre spacing ``(U - 1) / (N - 1)``."""
    n_neurons = _int(n_neurons, "n_neurons", 2, 4096)
    code_bits = _int(code_bits, "code_bits", 1, 16)
    max_level = _int(max_level, "max_level", 1, 65535)
    sigma = _spacing(n_neurons, code_bits) if sigma is None else sigma
    if (
        isinstance(sigma, bool)
        or not isinstance(sigma, (int, float))
        or not math.isfinite(sigma)
        or sigma <= 0
    ):
        raise PopulationCodeError(f"sigma must be a positive number (code units), not {sigma!r}")
    d = np.arange(1 << code_bits, dtype=np.float64)
    table = np.floor(max_level * np.exp(-d * d / (2.0 * sigma * sigma)) + 0.5).astype(np.int64)
    return PopulationCode(n_neurons, code_bits, max_level, tuple(table))


def cosine_code(
    n_neurons: int, *, code_bits: int = 8, max_level: int = 15, width: float | None = None
) -> PopulationCode:
    """Raised-cosine tuning: ``G[d] = floor(max_level cos(pi d / (2 width)) + 1/2)`` for
    ``d < width``, 0 beyond; ``width`` in code units, default twice the centre spacing."""
    n_neurons = _int(n_neurons, "n_neurons", 2, 4096)
    code_bits = _int(code_bits, "code_bits", 1, 16)
    max_level = _int(max_level, "max_level", 1, 65535)
    width = 2 * _spacing(n_neurons, code_bits) if width is None else width
    if (
        isinstance(width, bool)
        or not isinstance(width, (int, float))
        or not math.isfinite(width)
        or width <= 0
    ):
        raise PopulationCodeError(f"width must be a positive number (code units), not {width!r}")
    d = np.arange(1 << code_bits, dtype=np.float64)
    table = np.where(
        d < width,
        np.floor(max_level * np.cos(np.pi * np.minimum(d, width) / (2.0 * width)) + 0.5),
        0,
    )
    return PopulationCode(n_neurons, code_bits, max_level, tuple(table.astype(np.int64)))
