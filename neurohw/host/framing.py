"""The framed host link (protocol version 2), in pure Python: the one definition of its frames
and CRC, used by the gateware (:mod:`neurohw.hw.framing`) and by hosts
(:class:`FramedTransport`).

Version 2 carries the byte stream of version 1 (the core link of :mod:`neurohw.host.protocol`,
the chip link of :mod:`neurohw.host.system_protocol`) unchanged, inside frames that have a
length, a sequence number and a CRC; ``docs/integration.md`` ("Framed link") describes them.

* Host to device: ``SOF, len, seq, payload[len], crc_hi, crc_lo``.
* Device to host: ``SOF, len, ack, rejects, payload[len], crc_hi, crc_lo``.

``len`` is 0..:data:`MAX_PAYLOAD`. The CRC is CRC-16/CCITT-FALSE (polynomial 0x1021, initial
value 0xFFFF, not reflected, no final XOR; :func:`binascii.crc_hqx` with ``0xFFFF``) over every
byte after ``SOF`` and before the CRC, sent most significant byte first. The device accepts a
host frame whose CRC checks and whose ``seq`` is the one it expects; it drops a repeated frame
(a retransmission it already has) and rejects, counting them, a frame whose CRC or length is
wrong or that follows a lost one. ``ack`` is the sequence number the device expects next (every
frame before it arrived); ``rejects`` counts rejected frames modulo 256, so a host sees a
rejection as a change and sends every unacknowledged frame again (go-back-N).
"""

from __future__ import annotations

import binascii
import collections

__all__ = [
    "FRAMING_VERSION",
    "SOF",
    "MAX_PAYLOAD",
    "HOST_OVERHEAD",
    "DEVICE_OVERHEAD",
    "crc16",
    "host_frame",
    "device_frame",
    "DeviceFrameReader",
    "FramedTransport",
    "FramingError",
]

FRAMING_VERSION = 2
SOF = 0xA5
#: Most payload bytes in one frame (either direction).
MAX_PAYLOAD = 64
#: Bytes a frame adds to its payload: host (SOF, len, seq, CRC) and device (SOF, len, ack,
#: rejects, CRC).
HOST_OVERHEAD = 5
DEVICE_OVERHEAD = 6
_CRC_INIT = 0xFFFF


class FramingError(RuntimeError):
    """The framed link failed: a frame from the device was corrupt (its bytes are lost), or
    the device did not acknowledge a frame after every retry."""


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (``crc16(b"123456789") == 0x29B1``)."""
    return binascii.crc_hqx(bytes(data), _CRC_INIT)


def _check_payload(payload: bytes) -> bytes:
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(
            f"a frame's payload must be at most {MAX_PAYLOAD} bytes, not {len(payload)}"
        )
    return payload


def host_frame(seq: int, payload: bytes) -> bytes:
    """The bytes of a host frame."""
    payload = _check_payload(payload)
    body = bytes([len(payload), seq & 0xFF]) + payload
    return bytes([SOF]) + body + crc16(body).to_bytes(2, "big")


def device_frame(ack: int, rejects: int, payload: bytes) -> bytes:
    """The bytes of a device frame (what the gateware sends; for models and tests)."""
    payload = _check_payload(payload)
    body = bytes([len(payload), ack & 0xFF, rejects & 0xFF]) + payload
    return bytes([SOF]) + body + crc16(body).to_bytes(2, "big")


class DeviceFrameReader:
    """Splits the device's bytes into frames: :meth:`feed` returns the good frames as
    ``(ack, rejects, payload)``; a frame whose length or CRC is wrong is counted in
    ``crc_errors`` (and the reader looks for the next ``SOF``)."""

    def __init__(self):
        self._buffer = bytearray()
        self.crc_errors = 0
        self.skipped_bytes = 0  #: bytes outside any frame (line noise, a lost frame's tail)

    @property
    def in_frame(self) -> bool:
        """Part of a frame has arrived."""
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[tuple[int, int, bytes]]:
        self._buffer += data
        frames = []
        buffer = self._buffer
        while buffer:
            if buffer[0] != SOF:
                del buffer[0]
                self.skipped_bytes += 1
                continue
            if len(buffer) < 2:
                break
            length = buffer[1]
            if length > MAX_PAYLOAD:
                self.crc_errors += 1
                del buffer[0]
                continue
            size = length + DEVICE_OVERHEAD
            if len(buffer) < size:
                break
            body = bytes(buffer[1 : size - 2])
            if crc16(body) != int.from_bytes(buffer[size - 2 : size], "big"):
                self.crc_errors += 1
                del buffer[0]  # resynchronize on the next SOF
                continue
            frames.append((body[1], body[2], body[3:]))
            del buffer[:size]
        return frames


class FramedTransport:
    """A byte transport (``write(bytes)``, ``read(n)``, as :class:`neurohw.host.Link` takes)
    that speaks the framed link over another one (a serial port, SPI, a simulation).

    Written bytes are gathered into frames of up to :data:`MAX_PAYLOAD` bytes; a partly filled
    frame is sent before every read (a reply is awaited only after a request went out). At
    most ``window`` frames are unacknowledged; a rejection reported by the device, or no
    acknowledgment while the underlying ``read`` times out, sends every unacknowledged frame
    again, up to ``retries`` times in a row before :class:`FramingError`. A corrupt frame
    from the device raises :class:`FramingError` (its bytes cannot be recovered: the device
    keeps no copy).

    Counters: ``frames_sent``, ``retransmitted`` (frames sent again), ``rejected`` (host frames
    the device rejected), ``device_crc_errors``, ``payload_sent``, ``payload_received``,
    ``wire_sent``, ``wire_received`` (bytes).
    """

    def __init__(self, transport, *, window: int = 4, retries: int = 8):
        if not 1 <= int(window) <= 127:
            raise ValueError(f"window must be between 1 and 127 frames, not {window!r}")
        self.transport = transport
        self.window = int(window)
        self.retries = int(retries)
        self._reader = DeviceFrameReader()
        self._pending = bytearray()  # written, not yet framed
        self._unacked: collections.deque[tuple[int, bytes]] = collections.deque()
        self._seq = 0
        self._rejects = 0  # the device's count after its reset
        self._rx = bytearray()
        self._failures = 0
        self.frames_sent = 0
        self.retransmitted = 0
        self.rejected = 0
        self.payload_sent = 0
        self.payload_received = 0
        self.wire_sent = 0
        self.wire_received = 0

    @property
    def device_crc_errors(self) -> int:
        return self._reader.crc_errors

    # -- transport interface ---------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._pending += data
        while len(self._pending) >= MAX_PAYLOAD:
            self._send_frame(MAX_PAYLOAD)

    def read(self, n: int) -> bytes:
        """Up to ``n`` payload bytes from the device; ``b""`` when the underlying transport
        timed out with every frame acknowledged."""
        self.flush()
        while not self._rx:
            if not self._pump():
                if not self._unacked:
                    return b""
                self._timeout()
        data, self._rx = bytes(self._rx[:n]), self._rx[n:]
        return data

    def flush(self) -> None:
        """Send the partly filled frame, if any."""
        while self._pending:
            self._send_frame(min(len(self._pending), MAX_PAYLOAD))

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()

    # -- frames ----------------------------------------------------------------------------------

    def _send_frame(self, size: int) -> None:
        while len(self._unacked) >= self.window:
            if not self._pump():
                self._timeout()
        payload, self._pending = bytes(self._pending[:size]), self._pending[size:]
        frame = host_frame(self._seq, payload)
        self._unacked.append((self._seq, frame))
        self._seq = (self._seq + 1) & 0xFF
        self._raw_write(frame)
        self.frames_sent += 1
        self.payload_sent += len(payload)

    def _raw_write(self, data: bytes) -> None:
        self.transport.write(data)
        self.wire_sent += len(data)

    def _pump(self) -> bool:
        """Read what the device sent and handle its frames; ``False`` if the read timed out."""
        chunk = self.transport.read(MAX_PAYLOAD + DEVICE_OVERHEAD)
        if not chunk:
            return False
        self.wire_received += len(chunk)
        errors = self._reader.crc_errors
        frames = self._reader.feed(chunk)
        for ack, rejects, payload in frames:
            self._acknowledge(ack)
            if rejects != self._rejects:
                self.rejected += (rejects - self._rejects) & 0xFF
                self._resend()
            self._rejects = rejects
            self._rx += payload
            self.payload_received += len(payload)
        if self._reader.crc_errors != errors:
            raise FramingError(
                f"a frame from the device failed its CRC ({self._reader.crc_errors} so far): "
                f"its bytes are lost"
            )
        # Only bytes between frames (the idle bytes a SPI read clocks in): nothing arrived.
        return bool(frames) or self._reader.in_frame

    def _acknowledge(self, ack: int) -> None:
        # Cumulative: every unacknowledged frame before ``ack`` arrived.
        while self._unacked and 0 < ((ack - self._unacked[0][0]) & 0xFF) <= self.window:
            self._unacked.popleft()
            self._failures = 0

    def _resend(self) -> None:
        for _seq, frame in self._unacked:
            self._raw_write(frame)
            self.retransmitted += 1

    def _timeout(self) -> None:
        self._failures += 1
        if self._failures > self.retries:
            raise FramingError(
                f"the device acknowledged none of {len(self._unacked)} frame(s) after "
                f"{self.retries} retries (is it built with the framed link, framing=True?)"
            )
        self._resend()
