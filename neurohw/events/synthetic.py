"""Synthetic event-camera recordings for tests and benchmarks: moving edges (bars), blinking
spots and background noise, deterministic for a seed (``docs/event-camera.md``).

Every generator returns :class:`Events` sorted by time (stable); timestamps are integers
computed exactly (no floating point), plus an optional seeded jitter of ``0..jitter_us``.
"""

from __future__ import annotations

import numpy as np

from .core import Events, merge

__all__ = ["moving_edges", "blinking_spots", "noise", "synthetic_recording"]


def _check(name, value, low=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, not {value!r}")
    return int(value)


def _sorted(t, x, y, p, width, height):
    order = np.lexsort((p, x, y, t))
    return Events(t[order], x[order], y[order], p[order], width, height)


def moving_edges(
    width: int,
    height: int,
    *,
    duration_us: int,
    speed: int = 2000,
    bar: int = 4,
    direction: str = "x",
    jitter_us: int = 0,
    seed: int = 0,
) -> Events:
    """A bright bar ``bar`` pixels wide sweeping across the sensor at ``speed`` pixels per
    second, again and again (period ``(size + bar) / speed``), along ``direction`` ``"x"`` (left
    to right) or ``"y"`` (top to bottom). Its leading edge makes an ON event in every pixel of
    the column (row) it enters at ``t = (k * (size + bar) + c) * 10**6 // speed``, its trailing
    edge an OFF event ``bar`` pixels later."""
    width, height = _check("width", width, 1), _check("height", height, 1)
    duration_us, speed = _check("duration_us", duration_us, 1), _check("speed", speed, 1)
    bar, jitter_us = _check("bar", bar, 1), _check("jitter_us", jitter_us)
    if direction not in ("x", "y"):
        raise ValueError(f"direction must be 'x' or 'y', not {direction!r}")
    size, across = (width, height) if direction == "x" else (height, width)
    period = size + bar
    # Positions (in pixels since t = 0) of the leading edge entering each line.
    last = duration_us * speed // 10**6 + 1
    ts, lines, pols = [], [], []
    for polarity, delay in ((1, 0), (0, bar)):
        steps = np.arange(0, last + 1)
        line = steps % period - delay
        keep = (line >= 0) & (line < size)
        t = steps[keep] * 10**6 // speed
        keep_t = t < duration_us
        ts.append(t[keep_t])
        lines.append(line[keep][keep_t])
        pols.append(np.full(int(keep_t.sum()), polarity))
    t, line, p = (np.concatenate(a) for a in (ts, lines, pols))
    t, line, p = (np.repeat(a, across) for a in (t, line, p))
    other = np.tile(np.arange(across), len(t) // across) if len(t) else np.zeros(0, int)
    if jitter_us:
        t = t + np.random.default_rng(seed).integers(0, jitter_us + 1, size=len(t))
    x, y = (line, other) if direction == "x" else (other, line)
    return _sorted(t, x, y, p, width, height)


def blinking_spots(
    width: int,
    height: int,
    *,
    duration_us: int,
    spots: int = 3,
    radius: int = 2,
    period_us: int = 20_000,
    on_us: int | None = None,
    jitter_us: int = 0,
    seed: int = 0,
) -> Events:
    """``spots`` discs of ``radius`` pixels at seeded random places, each blinking with
    ``period_us`` from a seeded random phase: every pixel of a disc makes an ON event at
    ``phase + k * period_us`` and an OFF event ``on_us`` (default half the period) later."""
    width, height = _check("width", width, 1), _check("height", height, 1)
    duration_us, spots = _check("duration_us", duration_us, 1), _check("spots", spots, 1)
    radius, period_us = _check("radius", radius), _check("period_us", period_us, 2)
    on_us = period_us // 2 if on_us is None else _check("on_us", on_us, 1)
    if on_us >= period_us:
        raise ValueError(f"on_us={on_us} must be below period_us={period_us}")
    jitter_us = _check("jitter_us", jitter_us)
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(spots):
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        phase = int(rng.integers(0, period_us))
        dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
        inside = dx * dx + dy * dy <= radius * radius
        px, py = cx + dx[inside], cy + dy[inside]
        ok = (px >= 0) & (px < width) & (py >= 0) & (py < height)
        px, py = px[ok], py[ok]
        for polarity, offset in ((1, 0), (0, on_us)):
            times = np.arange(phase + offset, duration_us, period_us)
            t = np.repeat(times, len(px))
            parts.append(
                (t, np.tile(px, len(times)), np.tile(py, len(times)), np.full(len(t), polarity))
            )
    t, x, y, p = (np.concatenate([part[i] for part in parts]) for i in range(4))
    if jitter_us:
        t = t + rng.integers(0, jitter_us + 1, size=len(t))
    return _sorted(t, x, y, p, width, height)


def noise(
    width: int, height: int, *, duration_us: int, rate_hz: int = 1000, seed: int = 0
) -> Events:
    """Background activity: ``rate_hz * duration_us // 10**6`` events at uniform random
    times, pixels and polarities."""
    width, height = _check("width", width, 1), _check("height", height, 1)
    duration_us, rate_hz = _check("duration_us", duration_us, 1), _check("rate_hz", rate_hz)
    rng = np.random.default_rng(seed)
    n = rate_hz * duration_us // 10**6
    return _sorted(
        rng.integers(0, duration_us, n),
        rng.integers(0, width, n),
        rng.integers(0, height, n),
        rng.integers(0, 2, n),
        width,
        height,
    )


def synthetic_recording(
    width: int = 64, height: int = 48, *, duration_us: int = 200_000, seed: int = 0
) -> Events:
    """A moving bar, three blinking spots and 2 kHz of noise, merged in time order."""
    return merge(
        moving_edges(
            width, height, duration_us=duration_us, speed=width * 10, jitter_us=50, seed=seed
        ),
        blinking_spots(width, height, duration_us=duration_us, jitter_us=30, seed=seed + 1),
        noise(width, height, duration_us=duration_us, rate_hz=2000, seed=seed + 2),
    )
