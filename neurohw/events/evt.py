"""Prophesee RAW recordings in EVT 2.0 and EVT 3.0: readers (vectorized numpy) and writers
(``docs/event-camera.md``).

Both start with an ASCII header of lines ``% key value``, ended by ``% end`` (or by the first
line that does not start with ``%``). The sensor size comes from ``% format
EVT2;height=H;width=W`` (or ``EVT3;...``) or ``% geometry WxH``; the format from ``% format``
or ``% evt 2.0`` / ``% evt 3.0``. Timestamps are microseconds.

**EVT 2.0**: 32-bit little-endian words, type in bits 31..28.

====  =============  ==========================================================
type  name           fields
====  =============  ==========================================================
0x0   CD_OFF         ts[5:0] in 27..22, x in 21..11, y in 10..0
0x1   CD_ON          same
0x8   EV_TIME_HIGH   ts[33:6] in 27..0
0xA   EXT_TRIGGER    skipped (counted)
0xE   OTHERS         skipped (counted)
0xF   CONTINUED      skipped (counted)
====  =============  ==========================================================

**EVT 3.0**: 16-bit little-endian words, type in bits 15..12; the decoder keeps registers.

====  =============  ==========================================================
type  name           effect
====  =============  ==========================================================
0x0   EVT_ADDR_Y     y = bits 10..0 (bit 11: system type, ignored)
0x2   EVT_ADDR_X     one event at x = bits 10..0, polarity bit 11
0x3   VECT_BASE_X    base x = bits 10..0, vector polarity bit 11
0x4   VECT_12        events at base + i for each set bit i of bits 11..0; base += 12
0x5   VECT_8         events at base + i for each set bit i of bits 7..0; base += 8
0x6   EVT_TIME_LOW   ts[11:0] = bits 11..0
0x8   EVT_TIME_HIGH  ts[23:12] = bits 11..0
0x7   CONTINUED_4    skipped (counted)
0xA   EXT_TRIGGER    skipped (counted)
0xE   OTHERS         skipped (counted)
0xF   CONTINUED_12   skipped (counted)
====  =============  ==========================================================

Time-high wrap-around (28 bits in EVT 2.0, 12 in EVT 3.0) is unwrapped: a time-high value
below the previous one adds one period. The writers emit a time-high word at least every half
period, so that rule recovers the timestamps exactly.

Refused with :class:`EventFileError` (file, byte offset, problem): a header without format or
sensor size, a format other than the reader's, a size that is not a whole number of words,
an unknown word type, an event before the first time high (and, in EVT 3.0, before the first
time low or y address), a vector before its base, a coordinate outside the sensor.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .core import EventFileError, Events

__all__ = ["read_evt2", "read_evt3", "write_evt2", "write_evt3", "read_raw_header"]

MAX_TIMESTAMP = 1 << 34


def read_raw_header(path, data: bytes) -> tuple[dict, int]:
    """``({key: value}, offset of the first data byte)`` of a Prophesee RAW header."""
    fields, position = {}, 0
    while position < len(data) and data[position : position + 1] == b"%":
        end = data.find(b"\n", position)
        if end < 0:
            raise EventFileError(path, position, "truncated header: a '%' line has no end")
        try:
            line = data[position + 1 : end].decode("ascii").strip()
        except UnicodeDecodeError:
            raise EventFileError(path, position, "header line is not ASCII") from None
        position = end + 1
        if line == "end":
            break
        key, _, value = line.partition(" ")
        fields[key] = value.strip()
    return fields, position


def _geometry(path, fields, expected, width, height):
    version = None
    size = {}
    if "format" in fields:
        name, *options = fields["format"].split(";")
        version = name.strip().upper()
        for option in options:
            key, _, value = option.partition("=")
            size[key.strip()] = value.strip()
    elif "evt" in fields:
        version = {"2.0": "EVT2", "3.0": "EVT3", "2.1": "EVT21"}.get(fields["evt"], fields["evt"])
    if version is None:
        raise EventFileError(
            path, 0, "the header names no event format ('% format' or '% evt' line)"
        )
    if version != expected:
        raise EventFileError(path, 0, f"the header says format {version}, not {expected}")
    if "geometry" in fields and not size:
        match = re.fullmatch(r"(\d+)x(\d+)", fields["geometry"])
        if match:
            size = {"width": match[1], "height": match[2]}
    try:
        w = int(size["width"]) if "width" in size else width
        h = int(size["height"]) if "height" in size else height
    except ValueError:
        raise EventFileError(path, 0, f"sensor size {size} is not integers") from None
    if w is None or h is None:
        raise EventFileError(
            path,
            0,
            "the header gives no sensor size (format width/height "
            "or geometry); pass width= and height=",
        )
    return w, h


def _words(path, data, start, size, dtype):
    body = len(data) - start
    if body % size:
        raise EventFileError(
            path,
            start + body - body % size,
            f"truncated: {body % size} trailing byte(s) do not make a {8 * size}-bit word",
        )
    return np.frombuffer(data, dtype=dtype, offset=start)


def _first(mask):
    return int(np.flatnonzero(mask)[0])


def _unwrap(values, period):
    wraps = np.concatenate([[0], np.cumsum(np.diff(values.astype(np.int64)) < 0)])
    return values.astype(np.int64) + wraps * period


def _last_index(mask):
    """For each position, the index of the last ``True`` at or before it (-1 if none)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _check_range(path, start, size, positions, x, y, width, height):
    bad = np.flatnonzero((x >= width) | (y >= height))
    if bad.size:
        i = bad[0]
        raise EventFileError(
            path,
            start + size * int(positions[i]),
            f"event at x={x[i]}, y={y[i]} outside the {width}x{height} sensor",
        )


def read_evt2(path, *, width: int | None = None, height: int | None = None) -> Events:
    """The CD events of an EVT 2.0 RAW file (module docstring)."""
    data = Path(path).read_bytes()
    fields, start = read_raw_header(path, data)
    width, height = _geometry(path, fields, "EVT2", width, height)
    words = _words(path, data, start, 4, "<u4").astype(np.int64)
    kind = words >> 28
    known = np.isin(kind, [0x0, 0x1, 0x8, 0xA, 0xE, 0xF])
    if not known.all():
        i = _first(~known)
        raise EventFileError(path, start + 4 * i, f"unknown EVT 2.0 word type {kind[i]:#x}")
    high = kind == 0x8
    cd = kind <= 1
    last_high = _last_index(high)
    if (cd & (last_high < 0)).any():
        raise EventFileError(
            path, start + 4 * _first(cd & (last_high < 0)), "CD event before the first EV_TIME_HIGH"
        )
    high_values = _unwrap(words[high] & 0x0FFFFFFF, 1 << 28)
    ordinal = np.cumsum(high) - 1
    w = words[cd]
    t = (high_values[ordinal[cd]] << 6) | ((w >> 22) & 0x3F)
    x, y = (w >> 11) & 0x7FF, w & 0x7FF
    _check_range(path, start, 4, np.flatnonzero(cd), x, y, width, height)
    return Events(
        t,
        x,
        y,
        kind[cd],
        width,
        height,
        {"format": "evt2", "words": len(words), "skipped_words": int((~cd & ~high).sum())},
    )


def read_evt3(path, *, width: int | None = None, height: int | None = None) -> Events:
    """The CD events of an EVT 3.0 RAW file (module docstring)."""
    data = Path(path).read_bytes()
    fields, start = read_raw_header(path, data)
    width, height = _geometry(path, fields, "EVT3", width, height)
    words = _words(path, data, start, 2, "<u2").astype(np.int64)
    kind = words >> 12
    known = np.isin(kind, [0x0, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0xA, 0xE, 0xF])
    if not known.all():
        i = _first(~known)
        raise EventFileError(path, start + 2 * i, f"unknown EVT 3.0 word type {kind[i]:#x}")
    payload = words & 0xFFF
    is_y, is_x, is_base = kind == 0x0, kind == 0x2, kind == 0x3
    is_v12, is_v8 = kind == 0x4, kind == 0x5
    is_low, is_high = kind == 0x6, kind == 0x8
    emits = is_x | is_v12 | is_v8
    for mask, what in ((is_high, "EVT_TIME_HIGH"), (is_low, "EVT_TIME_LOW"), (is_y, "EVT_ADDR_Y")):
        last = _last_index(mask)
        if (emits & (last < 0)).any():
            raise EventFileError(
                path, start + 2 * _first(emits & (last < 0)), f"event word before the first {what}"
            )
    vectors = is_v12 | is_v8
    last_base = _last_index(is_base)
    if (vectors & (last_base < 0)).any():
        raise EventFileError(
            path,
            start + 2 * _first(vectors & (last_base < 0)),
            "vector word before the first VECT_BASE_X",
        )
    high_values = _unwrap(payload[is_high], 1 << 12)
    high = high_values[(np.cumsum(is_high) - 1)]
    low = payload[np.maximum(_last_index(is_low), 0)]
    t_all = (high << 12) | low
    y_all = payload[np.maximum(_last_index(is_y), 0)] & 0x7FF

    # Single events.
    xi = np.flatnonzero(is_x)
    parts = [(xi, np.zeros(len(xi), dtype=np.int64), payload[xi] & 0x7FF, (payload[xi] >> 11) & 1)]
    # Vector events: base = VECT_BASE_X value + 12/8 per vector word since it.
    step = 12 * is_v12 + 8 * is_v8
    cumulative = np.cumsum(step) - step  # steps before each word
    base_at = np.maximum(last_base, 0)
    base = (payload[base_at] & 0x7FF) + cumulative - cumulative[base_at]
    polarity = (payload[base_at] >> 11) & 1
    for mask, bits in ((is_v12, 12), (is_v8, 8)):
        vi = np.flatnonzero(mask)
        if not vi.size:
            continue
        set_bits = (payload[vi, np.newaxis] >> np.arange(bits)) & 1
        row, bit = np.nonzero(set_bits)
        parts.append((vi[row], bit, base[vi[row]] + bit, polarity[vi[row]]))
    where = np.concatenate([p[0] for p in parts])
    order = np.lexsort((np.concatenate([p[1] for p in parts]), where))
    where = where[order]
    x = np.concatenate([p[2] for p in parts])[order]
    p = np.concatenate([p[3] for p in parts])[order]
    t, y = t_all[where], y_all[where]
    _check_range(path, start, 2, where, x, y, width, height)
    return Events(
        t,
        x,
        y,
        p,
        width,
        height,
        {
            "format": "evt3",
            "words": len(words),
            "skipped_words": int(np.isin(kind, [0x7, 0xA, 0xE, 0xF]).sum()),
        },
    )


# ---------------------------------------------------------------------------------------------
# Writing


def _header(version: str, events: Events) -> bytes:
    name = {"2.0": "EVT2", "3.0": "EVT3"}[version]
    return (
        f"% evt {version}\n% format {name};height={events.height};width={events.width}\n"
        f"% geometry {events.width}x{events.height}\n% generator neurohw\n% end\n"
    ).encode("ascii")


def _check_writable(events: Events):
    if events.width > 2048 or events.height > 2048:
        raise ValueError(
            f"a {events.width}x{events.height} sensor does not fit EVT's 11-bit coordinates"
        )
    if len(events) and events.t.max() >= MAX_TIMESTAMP:
        raise ValueError(
            f"timestamps must be below 2**34 us for the EVT writers, not {int(events.t.max())}"
        )


def write_evt2(path, events: Events) -> Path:
    """Write ``events`` (sorted by time, stably) as an EVT 2.0 RAW file: an EV_TIME_HIGH before
    the first event and whenever ``t >> 6`` changes, then one CD word per event."""
    _check_writable(events)
    order = np.argsort(events.t, kind="stable")
    t, x, y, p = (events.t[order], events.x[order], events.y[order], events.p[order])
    high = t >> 6
    change = np.ones(len(t), dtype=bool)
    change[1:] = high[1:] != high[:-1]
    out = np.zeros(len(t) + int(change.sum()), dtype="<u4")
    position = np.arange(len(t)) + np.cumsum(change)
    out[position] = (p << 28) | ((t & 0x3F) << 22) | (x << 11) | y
    out[position[change] - 1] = (0x8 << 28) | high[change]
    path = Path(path)
    path.write_bytes(_header("2.0", events) + out.tobytes())
    return path


def write_evt3(path, events: Events) -> Path:
    """Write ``events`` as an EVT 3.0 RAW file. Events are grouped by (t, y, polarity) in time
    order; a group's x addresses go out as VECT_BASE_X + VECT_12/VECT_8 words where three or
    more fall within 12 pixels, otherwise as EVT_ADDR_X words. Time-high words start from 0 and
    step at most 2048 (half their period) at a time."""
    _check_writable(events)
    order = np.lexsort((events.x, events.p, events.y, events.t))
    t, x, y, p = (events.t[order], events.x[order], events.y[order], events.p[order])
    words = []
    emit = words.append
    current_high, current_low, current_y = 0, None, None
    emit(0x8000)
    n = len(t)
    i = 0
    while i < n:
        j = i
        while j < n and t[j] == t[i] and y[j] == y[i] and p[j] == p[i]:
            j += 1
        high, low = int(t[i]) >> 12, int(t[i]) & 0xFFF
        if high != current_high:
            while high - current_high > 2048:
                current_high += 2048
                emit(0x8000 | (current_high & 0xFFF))
            current_high = high
            emit(0x8000 | (high & 0xFFF))
            current_low = None
        if low != current_low:
            emit(0x6000 | low)
            current_low = low
        if y[i] != current_y:
            emit(0x0000 | int(y[i]))
            current_y = y[i]
        xs, pol = [int(v) for v in x[i:j]], int(p[i])
        k = 0
        while k < len(xs):
            run = xs[k : k + 12]
            run = [v for v in run if v < xs[k] + 12]
            if len(run) >= 3 and len(set(run)) == len(run):
                base = xs[k]
                emit(0x3000 | (pol << 11) | base)
                while k < len(xs) and base <= xs[k] < base + 12:
                    mask = 0
                    while k < len(xs) and xs[k] < base + 12 and not mask >> (xs[k] - base) & 1:
                        mask |= 1 << (xs[k] - base)
                        k += 1
                    if mask >> 8:
                        emit(0x4000 | mask)
                        base += 12
                    else:
                        emit(0x5000 | mask)
                        base += 8
            else:
                emit(0x2000 | (pol << 11) | xs[k])
                k += 1
        i = j
    path = Path(path)
    path.write_bytes(_header("3.0", events) + np.array(words, dtype="<u2").tobytes())
    return path
