"""AEDAT 4 (iniVation DV) polarity events: reader and writer, pure Python + numpy
(``docs/event-camera.md``).

File layout (little-endian):

* the magic ``#!AER-DAT4.0\\r\\n`` (14 bytes);
* ``int32`` length ``L``, then the ``IOHeader`` flatbuffer (``L`` bytes, file identifier
  ``IOHE``): ``compression`` (int32: 0 none, 1 LZ4, 2 LZ4 high, 3 ZSTD, 4 ZSTD high),
  ``dataTablePosition`` (int64, -1 without a data table), ``infoNode`` (an XML string that lists
  the streams: ``<node name="outInfo">`` holds one ``<node name="ID">`` per stream with the
  attribute ``typeIdentifier`` (``EVTS`` for polarity events) and an ``info`` node with
  ``sizeX``/``sizeY``);
* packets up to the data table (or the end of the file): ``int32`` stream id, ``int32`` size
  ``S``, ``S`` bytes compressed as the header says; decompressed, a *size-prefixed* flatbuffer.
  An ``EVTS`` packet is ``table EventPacket { elements: [Event] }`` with
  ``struct Event { t: int64; x: int16; y: int16; on: bool }`` (16 bytes, 8-aligned).

Compression: LZ4 (frame format) needs the ``lz4`` package (PyPI); ZSTD needs ``zstandard``.
Without them a compressed file is refused with an :class:`EventFileError` that says so.
Every offset, length and flatbuffer reference is checked against the buffer before use.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from .core import EventFileError, Events

__all__ = ["MAGIC", "COMPRESSIONS", "read_aedat4", "write_aedat4"]

MAGIC = b"#!AER-DAT4.0\r\n"
COMPRESSIONS = {0: "none", 1: "lz4", 2: "lz4_high", 3: "zstd", 4: "zstd_high"}
EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("on", "u1"), ("pad", "V3")])


class _Buffer:
    """Bounds-checked little-endian reads from one flatbuffer; errors name the file offset."""

    def __init__(self, data: bytes, base: int, path, what: str):
        self.data, self.base, self.path, self.what = data, base, path, what

    def fail(self, position: int, problem: str):
        raise EventFileError(self.path, self.base + position, f"{self.what}: {problem}")

    def unpack(self, fmt: str, position: int):
        size = struct.calcsize(fmt)
        if position < 0 or position + size > len(self.data):
            self.fail(
                max(position, 0),
                f"reference to bytes {position}..{position + size} "
                f"outside the {len(self.data)}-byte flatbuffer",
            )
        return struct.unpack_from("<" + fmt, self.data, position)[0]

    def table(self, position: int) -> tuple[int, list[int]]:
        """``(table position, absolute position of each present field or 0)``."""
        vtable = position - self.unpack("i", position)
        vt_size = self.unpack("H", vtable)
        table_size = self.unpack("H", vtable + 2)
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > len(self.data):
            self.fail(vtable, f"bad vtable size {vt_size}")
        if position + table_size > len(self.data):
            self.fail(position, f"table of {table_size} bytes runs past the flatbuffer")
        fields = []
        for index in range((vt_size - 4) // 2):
            offset = self.unpack("H", vtable + 4 + 2 * index)
            if offset and (offset < 4 or offset >= table_size):
                self.fail(
                    vtable + 4 + 2 * index,
                    f"field {index} offset {offset} outside the {table_size}-byte table",
                )
            fields.append(position + offset if offset else 0)
        return position, fields

    def vector(self, field: int, element_size: int) -> tuple[int, int]:
        """``(start of the elements, count)`` of the vector referenced at ``field``."""
        start = field + self.unpack("I", field)
        count = self.unpack("I", start)
        if start + 4 + count * element_size > len(self.data):
            self.fail(
                start,
                f"vector of {count} x {element_size} bytes runs past the "
                f"{len(self.data)}-byte flatbuffer",
            )
        return start + 4, count


def _field(fields, index):
    return fields[index] if index < len(fields) else 0


def _parse_info(path, offset, text):
    """``{stream id: (typeIdentifier, sizeX or None, sizeY or None)}`` from the infoNode."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise EventFileError(path, offset, f"the header's infoNode is not XML ({error})") from None
    out_info = next((n for n in root.iter("node") if n.get("name") == "outInfo"), None)
    if out_info is None:
        raise EventFileError(
            path, offset, "the header's infoNode has no outInfo node (no stream is described)"
        )
    streams = {}
    for node in out_info.findall("node"):
        name = node.get("name", "")
        if not name.isdigit():
            raise EventFileError(path, offset, f"stream node name {name!r} is not a stream id")
        attrs = {a.get("key"): (a.text or "").strip() for a in node.findall("attr")}
        info = next((n for n in node.findall("node") if n.get("name") == "info"), None)
        size = {}
        if info is not None:
            size = {a.get("key"): (a.text or "").strip() for a in info.findall("attr")}
        try:
            width = int(size["sizeX"]) if "sizeX" in size else None
            height = int(size["sizeY"]) if "sizeY" in size else None
        except ValueError:
            raise EventFileError(
                path,
                offset,
                f"stream {name}: sizeX/sizeY "
                f"{size.get('sizeX')!r}/{size.get('sizeY')!r} "
                f"are not integers",
            ) from None
        if int(name) in streams:
            raise EventFileError(path, offset, f"stream id {name} described twice")
        streams[int(name)] = (attrs.get("typeIdentifier", ""), width, height)
    return streams


def _decompress(path, offset, compression, raw):
    if compression == 0:
        return raw
    if compression in (1, 2):
        try:
            import lz4.frame
        except ImportError:
            raise EventFileError(
                path,
                offset,
                "the file's packets are LZ4-compressed and the "
                "lz4 package is not installed (pip install lz4)",
            ) from None
        try:
            return lz4.frame.decompress(raw)
        except RuntimeError as error:
            raise EventFileError(
                path, offset, f"LZ4 packet does not decompress ({error})"
            ) from None
    try:
        import zstandard
    except ImportError:
        raise EventFileError(
            path,
            offset,
            "the file's packets are ZSTD-compressed, which needs "
            "the zstandard package (not a neurohw dependency: "
            "pip install zstandard, or convert the recording "
            "to LZ4 or no compression)",
        ) from None
    try:
        return zstandard.ZstdDecompressor().decompressobj().decompress(raw)
    except zstandard.ZstdError as error:
        raise EventFileError(path, offset, f"ZSTD packet does not decompress ({error})") from None


def read_aedat4(path, *, stream_id: int | None = None) -> Events:
    """The polarity events of an AEDAT 4 file (one ``EVTS`` stream: the only one, or
    ``stream_id``). Packets of other streams (frames, IMU, triggers) are skipped and counted in
    ``meta["skipped_packets"]``. Raises :class:`EventFileError` on anything malformed or
    truncated."""
    data = Path(path).read_bytes()
    if data[: len(MAGIC)] != MAGIC:
        raise EventFileError(
            path, 0, f"not an AEDAT 4 file: starts with {data[:14]!r}, expected {MAGIC!r}"
        )
    position = len(MAGIC)
    if len(data) < position + 4:
        raise EventFileError(path, position, "truncated: the header length is missing")
    header_size = struct.unpack_from("<i", data, position)[0]
    position += 4
    if header_size < 8 or position + header_size > len(data):
        raise EventFileError(
            path,
            position - 4,
            f"header length {header_size} does not fit the {len(data)}-byte file",
        )
    header = _Buffer(data[position : position + header_size], position, path, "IOHeader")
    _, fields = header.table(header.unpack("I", 0))
    compression = header.unpack("i", fields[0]) if _field(fields, 0) else 0
    table_position = header.unpack("q", fields[1]) if _field(fields, 1) else -1
    if not _field(fields, 2):
        header.fail(0, "no infoNode (stream description)")
    start, length = header.vector(fields[2], 1)
    try:
        info = header.data[start : start + length].decode("utf-8")
    except UnicodeDecodeError as error:
        raise EventFileError(path, position + start, f"infoNode is not UTF-8 ({error})") from None
    if compression not in COMPRESSIONS:
        header.fail(fields[0], f"unknown compression {compression}")
    streams = _parse_info(path, position + start, info)
    position += header_size
    end = len(data)
    if table_position != -1:
        if not position <= table_position <= len(data):
            raise EventFileError(
                path,
                position,
                f"data table position {table_position} lies "
                f"outside the packets {position}..{len(data)}",
            )
        end = table_position

    event_streams = sorted(i for i, (kind, _, _) in streams.items() if kind == "EVTS")
    if stream_id is None:
        if len(event_streams) != 1:
            raise EventFileError(
                path,
                position,
                f"{len(event_streams)} polarity event streams ({event_streams}); pass stream_id",
            )
        stream_id = event_streams[0]
    elif stream_id not in event_streams:
        raise EventFileError(
            path,
            position,
            f"stream {stream_id} is not a polarity event stream (event streams: {event_streams})",
        )
    _, width, height = streams[stream_id]
    if not width or not height:
        raise EventFileError(path, position, f"stream {stream_id} has no sensor size (sizeX/sizeY)")

    chunks, skipped = [], 0
    while position < end:
        if end - position < 8:
            raise EventFileError(
                path, position, f"truncated packet header: {end - position} of 8 bytes"
            )
        sid, size = struct.unpack_from("<ii", data, position)
        if sid not in streams:
            raise EventFileError(
                path, position, f"packet of unknown stream id {sid} (streams: {sorted(streams)})"
            )
        if size < 0 or position + 8 + size > end:
            raise EventFileError(
                path,
                position,
                f"packet of {size} bytes truncated: {end - position - 8} bytes remain",
            )
        packet_at = position
        raw = data[position + 8 : position + 8 + size]
        position += 8 + size
        if sid != stream_id:
            skipped += 1
            continue
        body = _decompress(path, packet_at, compression, raw)
        buf = _Buffer(body, packet_at + 8, path, f"packet at byte {packet_at}")
        prefix = buf.unpack("I", 0)
        if prefix != len(body) - 4:
            buf.fail(0, f"size prefix {prefix} does not match the {len(body) - 4} bytes after it")
        if body[8:12] != b"EVTS":
            buf.fail(8, f"file identifier {body[8:12]!r}, expected b'EVTS'")
        table, fields = buf.table(4 + buf.unpack("I", 4))
        if not _field(fields, 0):
            continue  # an empty packet
        elements, count = buf.vector(fields[0], 16)
        events = np.frombuffer(body, dtype=EVENT_DTYPE, count=count, offset=elements)
        bad = np.flatnonzero(
            (events["x"] < 0)
            | (events["x"] >= width)
            | (events["y"] < 0)
            | (events["y"] >= height)
            | (events["on"] > 1)
            | (events["t"] < 0)
        )
        if bad.size:
            e = events[bad[0]]
            buf.fail(
                elements + 16 * int(bad[0]),
                f"event {int(bad[0])} (t={e['t']}, x={e['x']}, y={e['y']}, on={e['on']}) "
                f"outside the {width}x{height} sensor or invalid",
            )
        chunks.append(events)
    events = np.concatenate(chunks) if chunks else np.zeros(0, dtype=EVENT_DTYPE)
    return Events(
        events["t"],
        events["x"],
        events["y"],
        events["on"],
        width,
        height,
        {
            "format": "aedat4",
            "compression": COMPRESSIONS[compression],
            "stream_id": stream_id,
            "packets": len(chunks),
            "skipped_packets": skipped,
        },
    )


# ---------------------------------------------------------------------------------------------
# Writing


def _io_header(compression: int, info: str) -> bytes:
    text = info.encode("utf-8")
    out = bytearray()
    out += struct.pack("<I4s", 24, b"IOHE")  # root table at 24
    out += struct.pack("<HHHHH", 10, 20, 4, 8, 16)  # vtable at 8
    out += bytes(6)  # pad to 24
    out += struct.pack("<iiqI", 16, compression, -1, 4)  # table: vtable at 24 - 16
    out += struct.pack("<I", len(text)) + text + b"\0"
    out += bytes(-len(out) % 8)
    return bytes(out)


def _event_packet(t, x, y, p) -> bytes:
    elements = np.zeros(len(t), dtype=EVENT_DTYPE)
    elements["t"], elements["x"], elements["y"], elements["on"] = t, x, y, p
    body = bytearray()
    body += struct.pack("<I4s", 16, b"EVTS")  # root (from byte 4) at 20
    body += struct.pack("<HHH", 6, 8, 4) + bytes(2)  # vtable at 12
    body += struct.pack("<iI", 8, 4)  # table at 20, vector at 28
    body += struct.pack("<I", len(t)) + elements.tobytes()  # elements at 32
    return struct.pack("<I", len(body)) + bytes(body)


def _info_xml(stream_id: int, width: int, height: int, compression: str, source: str) -> str:
    return (
        '<dv version="2.0">\n'
        '    <node name="outInfo" path="/mainloop/Recorder/outInfo/">\n'
        f'        <node name="{stream_id}" path="/mainloop/Recorder/outInfo/{stream_id}/">\n'
        f'            <attr key="compression" type="string">{compression.upper()}</attr>\n'
        '            <attr key="originalModuleName" type="string">neurohw</attr>\n'
        '            <attr key="originalOutputName" type="string">events</attr>\n'
        '            <attr key="typeDescription" type="string">Array of events (polarity '
        "ON/OFF).</attr>\n"
        '            <attr key="typeIdentifier" type="string">EVTS</attr>\n'
        f'            <node name="info" path="/mainloop/Recorder/outInfo/{stream_id}/info/">\n'
        f'                <attr key="sizeX" type="int">{width}</attr>\n'
        f'                <attr key="sizeY" type="int">{height}</attr>\n'
        f'                <attr key="source" type="string">{source}</attr>\n'
        "            </node>\n"
        "        </node>\n"
        "    </node>\n"
        "</dv>\n"
    )


def write_aedat4(
    path,
    events: Events,
    *,
    compression: str = "none",
    packet_events: int = 4096,
    stream_id: int = 0,
    source: str = "neurohw",
) -> Path:
    """Write ``events`` as an AEDAT 4 file with one ``EVTS`` stream, ``packet_events`` events
    per packet, no data table. ``compression``: ``"none"`` or ``"lz4"`` (needs ``lz4``)."""
    codes = {"none": 0, "lz4": 1}
    if compression not in codes:
        raise ValueError(f"compression must be 'none' or 'lz4', not {compression!r}")
    if isinstance(packet_events, bool) or not isinstance(packet_events, int) or packet_events < 1:
        raise ValueError(f"packet_events must be a positive integer, not {packet_events!r}")
    compress = None
    if compression == "lz4":
        import lz4.frame

        compress = lz4.frame.compress
    info = _info_xml(stream_id, events.width, events.height, compression, source)
    header = _io_header(codes[compression], info)
    out = bytearray(MAGIC + struct.pack("<i", len(header)) + header)
    for start in range(0, len(events), packet_events):
        s = slice(start, start + packet_events)
        body = _event_packet(events.t[s], events.x[s], events.y[s], events.p[s])
        if compress:
            body = compress(body)
        out += struct.pack("<ii", stream_id, len(body)) + body
    path = Path(path)
    path.write_bytes(bytes(out))
    return path
