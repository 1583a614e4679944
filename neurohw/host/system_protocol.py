"""The chip host link's byte protocol, in pure Python: the one definition of its opcodes, flags
and frame sizes, used by :mod:`neurohw.hw.system_bridge` (the hardware side) and by hosts.

Version 1 (``docs/integration.md``): a frame is an opcode byte and a payload whose length is fixed
by the opcode and the chip's event format (an event word takes ``W = ceil(fmt.width / 8)``
bytes); multi-byte values little-endian. The core link is :mod:`neurohw.host.protocol`.
"""

from __future__ import annotations

import enum

__all__ = [
    "SystemHostOp",
    "SystemDeviceOp",
    "SystemFlags",
    "SYSTEM_PROTOCOL_VERSION",
    "SYSTEM_MAGIC",
    "SYSTEM_INFO_BYTES",
    "host_frames",
    "parse_device_frames",
]

SYSTEM_PROTOCOL_VERSION = 1
SYSTEM_MAGIC = b"NS"
SYSTEM_INFO_BYTES = 16


class SystemHostOp(enum.IntEnum):
    """Opcodes of frames from the host."""

    NOP = 0x00
    EVENT = 0x01
    INFO = 0x04
    SYNC = 0x05
    STATUS = 0x06


class SystemDeviceOp(enum.IntEnum):
    """Opcodes of frames to the host."""

    EVENT = 0x81
    INFO = 0x84
    SYNC = 0x85
    STATUS = 0x86


class SystemFlags(enum.IntFlag):
    """Flags of SYNC and STATUS replies (sticky until reset)."""

    RX_OVERRUN = 1  #: a received byte was lost (receive FIFO full, or the UART overran)
    FRAME_ERROR = 2  #: a UART frame had no stop bit
    BAD_OPCODE = 4  #: an unknown opcode was received (and ignored)
    OVERFLOW = 8  #: some core dropped events over max_events_per_step
    TAG_ERROR = 16  #: a barrier reached some core with an unexpected tag
    CMD_ERROR = 32  #: some core refused a clearing write
    ROUTER_DROP = 64  #: a router dropped an event (router_drops != 0)
    INVALID = 128  #: some core's ingress dropped a meaningless event


def host_frames(words, word_bytes: int) -> bytes:
    """The bytes of one EVENT frame per event word (``encode_samples`` output)."""
    out = bytearray()
    for word in words:
        out.append(SystemHostOp.EVENT)
        out += int(word).to_bytes(word_bytes, "little")
    return bytes(out)


def parse_device_frames(data: bytes, word_bytes: int, status_bytes: int) -> list:
    """Split the device's bytes into ``(SystemDeviceOp, payload bytes)`` frames; a trailing
    incomplete frame is left out."""
    sizes = {
        SystemDeviceOp.EVENT: word_bytes,
        SystemDeviceOp.INFO: SYSTEM_INFO_BYTES,
        SystemDeviceOp.SYNC: 2,
        SystemDeviceOp.STATUS: status_bytes,
    }
    frames, i = [], 0
    while i < len(data):
        op = SystemDeviceOp(data[i])
        if i + 1 + sizes[op] > len(data):
            break
        frames.append((op, bytes(data[i + 1 : i + 1 + sizes[op]])))
        i += 1 + sizes[op]
    return frames
