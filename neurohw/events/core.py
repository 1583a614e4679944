"""Event arrays and the error every reader raises (``docs/event-camera.md``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Events", "EventFileError", "merge"]


class EventFileError(ValueError):
    """A recording that cannot be read as its format says: names the file, the byte offset and
    the problem. Nothing of a file that raised this is returned."""

    def __init__(self, path, offset: int, problem: str):
        self.path = os.fspath(path)
        self.offset = int(offset)
        self.problem = problem
        super().__init__(f"{self.path}: at byte {self.offset}: {problem}")


@dataclass(frozen=True, eq=False)
class Events:
    """Polarity events of a ``width`` x ``height`` sensor.

    ``t`` (int64, microseconds), ``x``/``y`` (int64 pixel coordinates, ``0 <= x < width``,
    ``0 <= y < height``), ``p`` (int64 polarity: 1 = ON, brighter; 0 = OFF). Arrays are in
    recording order (not necessarily sorted by time). ``meta`` holds what the reader saw
    (format, skipped words or packets), informative only.
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray
    width: int
    height: int
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("width", "height"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, np.integer))
                or not 1 <= value <= 1 << 16
            ):
                raise ValueError(f"{name} must be an integer in 1..65536, not {value!r}")
            object.__setattr__(self, name, int(value))
        arrays = {}
        for name in ("t", "x", "y", "p"):
            array = np.asarray(getattr(self, name))
            if array.ndim != 1 or (array.size and array.dtype.kind not in "iub"):
                raise ValueError(
                    f"events {name} must be a 1-D integer array, not "
                    f"{array.dtype} of shape {array.shape}"
                )
            arrays[name] = array.astype(np.int64)
        lengths = {name: len(a) for name, a in arrays.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"events arrays differ in length: {lengths}")
        n = lengths["t"]
        if n:
            for name, high in (("x", self.width), ("y", self.height), ("p", 2)):
                bad = np.flatnonzero((arrays[name] < 0) | (arrays[name] >= high))
                if bad.size:
                    raise ValueError(
                        f"event {bad[0]} has {name}={arrays[name][bad[0]]}, outside 0..{high - 1}"
                    )
            if arrays["t"].min() < 0:
                raise ValueError(
                    f"event {int(np.argmin(arrays['t']))} has a negative "
                    f"timestamp {int(arrays['t'].min())}"
                )
        for name, array in arrays.items():
            object.__setattr__(self, name, array)

    def __len__(self) -> int:
        return len(self.t)

    @classmethod
    def empty(cls, width: int, height: int) -> Events:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, z, z, width, height)

    def take(self, index) -> Events:
        return Events(
            self.t[index],
            self.x[index],
            self.y[index],
            self.p[index],
            self.width,
            self.height,
            dict(self.meta),
        )

    def sorted(self) -> Events:
        """A copy in canonical order: by ``t``, then ``y``, ``x``, ``p``."""
        return self.take(np.lexsort((self.p, self.x, self.y, self.t)))

    def same_as(self, other: Events) -> bool:
        """Equal sensor size and the same multiset of events (order ignored)."""
        if (self.width, self.height, len(self)) != (other.width, other.height, len(other)):
            return False
        a, b = self.sorted(), other.sorted()
        return all(np.array_equal(getattr(a, n), getattr(b, n)) for n in "txyp")

    def __repr__(self) -> str:
        span = f", t {self.t.min()}..{self.t.max()} us" if len(self) else ""
        return f"Events({len(self)} events, {self.width}x{self.height}{span})"


def merge(*streams: Events) -> Events:
    """One stream of the events of ``streams`` (same sensor size), sorted by time (stable)."""
    if not streams:
        raise ValueError("merge needs at least one event stream")
    sizes = {(s.width, s.height) for s in streams}
    if len(sizes) > 1:
        raise ValueError(f"cannot merge streams of different sensor sizes: {sorted(sizes)}")
    width, height = sizes.pop()
    t = np.concatenate([s.t for s in streams])
    order = np.argsort(t, kind="stable")
    return Events(
        t[order],
        np.concatenate([s.x for s in streams])[order],
        np.concatenate([s.y for s in streams])[order],
        np.concatenate([s.p for s in streams])[order],
        width,
        height,
    )
