"""Event-camera input: readers and writers for AEDAT 4 and Prophesee EVT 2.0/3.0 RAW files, a
synthetic recording generator, and the mapping and time binning of events into input-group
counts for :func:`neurohw.network.simulate` and the host stream (``docs/event-camera.md``)."""

from pathlib import Path

from .aedat4 import read_aedat4, write_aedat4
from .binning import (
    POLARITIES,
    BinnedEvents,
    BinningReport,
    ClippedCountsError,
    ClippedCountsWarning,
    SensorMapping,
    bin_events,
)
from .core import EventFileError, Events, merge
from .evt import read_evt2, read_evt3, write_evt2, write_evt3
from .synthetic import blinking_spots, moving_edges, noise, synthetic_recording

__all__ = [
    "Events",
    "EventFileError",
    "merge",
    "read_aedat4",
    "write_aedat4",
    "read_evt2",
    "read_evt3",
    "write_evt2",
    "write_evt3",
    "read_events",
    "write_events",
    "FORMATS",
    "moving_edges",
    "blinking_spots",
    "noise",
    "synthetic_recording",
    "SensorMapping",
    "BinningReport",
    "BinnedEvents",
    "bin_events",
    "POLARITIES",
    "ClippedCountsWarning",
    "ClippedCountsError",
]

FORMATS = ("aedat4", "evt2", "evt3")


def read_events(path, **options) -> Events:
    """Read a recording, its format told by its first bytes: the AEDAT 4 magic, or a Prophesee
    RAW header naming EVT 2.0 or 3.0 (``options`` go to the reader)."""
    with open(path, "rb") as file:
        head = file.read(4096)
    if head.startswith(b"#!AER-DAT4.0"):
        return read_aedat4(path, **options)
    if head.startswith(b"%"):
        text = head.decode("ascii", "replace")
        if "EVT3" in text or "evt 3.0" in text:
            return read_evt3(path, **options)
        if "EVT2" in text or "evt 2.0" in text:
            return read_evt2(path, **options)
        raise EventFileError(
            path, 0, "a Prophesee RAW header that names neither EVT 2.0 nor EVT 3.0"
        )
    raise EventFileError(
        path,
        0,
        f"unknown recording format (starts with {head[:16]!r}); "
        f"readable: AEDAT 4, EVT 2.0, EVT 3.0",
    )


def write_events(path, events: Events, format: str, **options) -> Path:
    """Write ``events`` as ``format`` (one of :data:`FORMATS`)."""
    writers = {"aedat4": write_aedat4, "evt2": write_evt2, "evt3": write_evt3}
    if format not in writers:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, not {format!r}")
    return writers[format](path, events, **options)
