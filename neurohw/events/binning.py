"""Event-camera input to the network: mapping pixels to input lines and binning time windows
into steps (``docs/event-camera.md``).

**Mapping** (:class:`SensorMapping`): a ``width`` x ``height`` sensor, downsampled by
``(fx, fy)`` (pixel ``(x, y)`` falls in cell ``(x // fx, y // fy)`` of a
``ceil(width / fx)`` x ``ceil(height / fy)`` grid), and a polarity policy:

* ``"split"``: two lines per cell, ``line = 2 * (cy * gw + cx) + p`` (OFF even, ON odd);
* ``"merge"``: one line per cell, ``line = cy * gw + cx``, both polarities counted;
* ``"on"`` / ``"off"``: one line per cell, events of the other polarity are filtered out
  (counted in the report).

**Binning** (:func:`bin_events`): step ``k`` of sample ``b`` collects the events with
``t0 + (b * steps + k) * window_us <= t < t0 + (b * steps + k + 1) * window_us`` (half-open
windows, back to back, no overlap), ``t0`` by default the first event's timestamp. ``batch``
samples by default cover every event (``ceil((t_max - t0 + 1) / (steps * window_us))``). A
line's count in a step is the number of its events in the window; counts above ``max_count``
(the input group's) are clipped to it. Nothing is dropped silently: events before ``t0``,
after the last window, filtered by polarity, and the clipped excess are all counted in the
:class:`BinningReport`, and clipping also warns (``on_clip="warn"``, default), raises
(``"raise"``) or only reports (``"report"``).

**Size limit**: the counts array has ``steps * batch * size`` cells; more than ``max_cells``
(default :data:`MAX_CELLS`, 2**26 cells, 512 MiB of int64) is refused before anything is
allocated, naming the span it would cover, so one outlier timestamp cannot ask for gigabytes
(give ``batch`` and ``t0`` to bin a part of a long recording).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .core import Events

__all__ = [
    "SensorMapping",
    "BinningReport",
    "BinnedEvents",
    "bin_events",
    "POLARITIES",
    "ClippedCountsWarning",
    "ClippedCountsError",
    "MAX_CELLS",
]

POLARITIES = ("split", "merge", "on", "off")

#: Cells (steps x batch x lines) that :func:`bin_events` allocates at most by default.
MAX_CELLS = 1 << 26


class ClippedCountsWarning(UserWarning):
    """Some step had more events on a line than the input group's ``max_count``."""


class ClippedCountsError(ValueError):
    """Counts above ``max_count`` with ``on_clip="raise"``."""


def _check(name, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class SensorMapping:
    """Pixels and polarities of a ``width`` x ``height`` sensor to input lines (module doc)."""

    width: int
    height: int
    downsample: int | tuple[int, int] = 1
    polarity: str = "split"

    def __post_init__(self):
        _check("width", self.width, 1)
        _check("height", self.height, 1)
        factors = self.downsample
        if not isinstance(factors, tuple):
            factors = (factors, factors)
        if len(factors) != 2:
            raise ValueError(f"downsample must be an integer or (fx, fy), not {self.downsample!r}")
        object.__setattr__(
            self,
            "downsample",
            (_check("downsample fx", factors[0], 1), _check("downsample fy", factors[1], 1)),
        )
        if self.polarity not in POLARITIES:
            raise ValueError(
                f"polarity must be one of {', '.join(map(repr, POLARITIES))}, not {self.polarity!r}"
            )

    @property
    def grid(self) -> tuple[int, int]:
        """``(columns, rows)`` of the downsampled grid."""
        fx, fy = self.downsample
        return -(-self.width // fx), -(-self.height // fy)

    @property
    def size(self) -> int:
        """Input lines: cells, times 2 with ``polarity="split"``."""
        gw, gh = self.grid
        return gw * gh * (2 if self.polarity == "split" else 1)

    def lines(self, events: Events) -> tuple[np.ndarray, np.ndarray]:
        """``(line of each kept event, mask of kept events)``."""
        if (events.width, events.height) != (self.width, self.height):
            raise ValueError(
                f"events of a {events.width}x{events.height} sensor, mapping for "
                f"{self.width}x{self.height}"
            )
        fx, fy = self.downsample
        gw, _ = self.grid
        cell = (events.y // fy) * gw + events.x // fx
        if self.polarity == "split":
            return 2 * cell + events.p, np.ones(len(events), dtype=bool)
        if self.polarity == "merge":
            return cell, np.ones(len(events), dtype=bool)
        keep = events.p == (1 if self.polarity == "on" else 0)
        return cell[keep], keep

    def line_of(self, x: int, y: int, p: int) -> int | None:
        """The line of one event, ``None`` if its polarity is filtered out."""
        lines, keep = self.lines(Events([0], [x], [y], [p], self.width, self.height))
        return int(lines[0]) if keep[0] else None


@dataclass(frozen=True)
class BinningReport:
    """Where every event of the input went."""

    events: int  # events given
    binned: int  # events counted in some (step, line) before clipping
    clipped: int  # of those, the excess above max_count (not delivered)
    clipped_cells: int  # (sample, step, line) cells that were clipped
    peak_count: int  # the largest count of a cell before clipping
    filtered: int  # events of a polarity the mapping drops
    before_start: int  # events with t < t0
    after_end: int  # events at or after the end of the last sample
    t0: int
    window_us: int
    steps: int
    batch: int
    max_count: int

    @property
    def delivered(self) -> int:
        return self.binned - self.clipped

    def __str__(self) -> str:
        return (
            f"{self.events} events -> {self.delivered} delivered in {self.batch} sample(s)"
            f" x {self.steps} steps of {self.window_us} us from t0={self.t0}; "
            f"clipped {self.clipped} in {self.clipped_cells} cell(s) (peak count "
            f"{self.peak_count} > max_count {self.max_count})"
            if self.clipped
            else f"{self.events} events -> {self.delivered} delivered in {self.batch} sample(s)"
            f" x {self.steps} steps of {self.window_us} us from t0={self.t0}; none clipped"
        ) + (
            f"; {self.filtered} filtered by polarity, {self.before_start} before t0, "
            f"{self.after_end} after the last window"
        )


@dataclass(frozen=True)
class BinnedEvents:
    """``counts`` int64 ``(steps, batch, size)``, the shape ``neurohw.network.simulate`` and
    ``host_events.encode_samples`` take for an input group, and the report."""

    counts: np.ndarray
    report: BinningReport

    def inputs(self, group: str) -> dict:
        return {group: self.counts}


def bin_events(
    events: Events,
    mapping: SensorMapping,
    *,
    window_us: int,
    steps: int,
    batch: int | None = None,
    t0: int | None = None,
    max_count: int = 1,
    on_clip: str = "warn",
    max_cells: int = MAX_CELLS,
) -> BinnedEvents:
    """Bin ``events`` into input counts (module docstring)."""
    window_us, steps = _check("window_us", window_us, 1), _check("steps", steps, 1)
    max_cells = _check("max_cells", max_cells, 1)
    max_count = _check("max_count", max_count, 1)
    if on_clip not in ("warn", "raise", "report"):
        raise ValueError(f"on_clip must be 'warn', 'raise' or 'report', not {on_clip!r}")
    lines, keep = mapping.lines(events)
    t = events.t[keep]
    if t0 is None:
        t0 = int(events.t.min()) if len(events) else 0
    elif isinstance(t0, bool) or not isinstance(t0, (int, np.integer)):
        raise ValueError(f"t0 must be an integer (microseconds), not {t0!r}")
    span = steps * window_us
    if batch is None:
        t_max = int(events.t.max()) if len(events) else t0
        batch = max(1, (t_max - t0) // span + 1)
    batch = _check("batch", batch, 1)
    if batch * steps * mapping.size > max_cells:
        t_last = int(events.t.max()) if len(events) else t0
        raise ValueError(
            f"binning needs batch={batch} sample(s) x steps={steps} x {mapping.size} lines = "
            f"{batch * steps * mapping.size} counts, more than max_cells={max_cells}: the "
            f"samples cover {batch * span} us from t0={t0} (the last event is at t={t_last}); "
            f"give batch= and t0= to bin a part, drop outlier timestamps, or raise max_cells"
        )
    rel = t - t0
    before = rel < 0
    after = rel >= batch * span
    inside = ~before & ~after
    slot = rel[inside] // window_us  # global step: sample * steps + step
    flat = slot * mapping.size + lines[inside]
    raw = np.bincount(flat, minlength=batch * steps * mapping.size)
    raw = raw.reshape(batch, steps, mapping.size).transpose(1, 0, 2)
    over = raw > max_count
    report = BinningReport(
        events=len(events),
        binned=int(inside.sum()),
        clipped=int((raw[over] - max_count).sum()),
        clipped_cells=int(over.sum()),
        peak_count=int(raw.max()) if raw.size else 0,
        filtered=int((~keep).sum()),
        before_start=int(before.sum()),
        after_end=int(after.sum()),
        t0=int(t0),
        window_us=window_us,
        steps=steps,
        batch=batch,
        max_count=max_count,
    )
    if report.clipped:
        if on_clip == "raise":
            raise ClippedCountsError(str(report))
        if on_clip == "warn":
            warnings.warn(str(report), ClippedCountsWarning, stacklevel=2)
    counts = np.minimum(raw, max_count).astype(np.int64)
    return BinnedEvents(np.ascontiguousarray(counts), report)
