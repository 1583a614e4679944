"""The host-link byte protocols, in pure Python: the one definition of their opcodes, flags,
frame sizes and INFO replies, used by the gateware bridges (:mod:`neurohw.hw.host_bridge`,
:mod:`neurohw.hw.system_bridge`) and by the host library (:mod:`neurohw.host.link`).

This module is the core link (one NeuronCore behind a UART); :mod:`neurohw.host.system_protocol`
is the chip link. Neither imports Amaranth, so a host needs only numpy. ``docs/integration.md``
describes the frames.
"""

from __future__ import annotations

import enum
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "HostOp",
    "DeviceOp",
    "Flags",
    "PROTOCOL_VERSION",
    "MAGIC",
    "INFO_BYTES",
    "DEFAULT_RX_FIFO_DEPTH",
    "payload_sizes",
    "info_reply",
    "CoreLayout",
    "pack_fields",
    "unpack_fields",
]

PROTOCOL_VERSION = 1
MAGIC = b"NH"
INFO_BYTES = 16
DEFAULT_RX_FIFO_DEPTH = 512


class HostOp(enum.IntEnum):
    """Opcodes of frames from the host."""

    NOP = 0x00
    EVENT = 0x01
    STEP = 0x02
    CMD = 0x03
    INFO = 0x04
    SYNC = 0x05


class DeviceOp(enum.IntEnum):
    """Opcodes of frames to the host."""

    SPIKE = 0x81
    DONE = 0x82
    RSP = 0x83
    INFO = 0x84
    SYNC = 0x85


class Flags(enum.IntFlag):
    """Status flags of ``DONE`` and ``SYNC`` frames (sticky until reset, except OVERFLOW which is
    the core's own sticky ``overflow``)."""

    RX_OVERRUN = 1  #: a received byte was lost (receive FIFO full, or the UART overran)
    FRAME_ERROR = 2  #: a UART frame had no stop bit
    BAD_OPCODE = 4  #: an unknown opcode was received (and ignored)
    OVERFLOW = 8  #: the core dropped events over max_events_per_step


def _bytes(width: int) -> int:
    return max(1, math.ceil(width / 8))


def payload_sizes(
    *, event_width: int, cmd_width: int, rsp_width: int, spike_width: int
) -> dict[str, int]:
    """Payload bytes of each frame of a core whose ``spikes_in``, ``cmd``, ``rsp`` and
    ``spikes_out`` payloads are that many bits wide: ``event``, ``cmd``, ``rsp``, ``spike``,
    ``done`` (3: step number and flags), ``info`` (16), ``sync`` (request 1, reply 2)."""
    return {
        "event": _bytes(event_width),
        "cmd": _bytes(cmd_width),
        "rsp": _bytes(rsp_width),
        "spike": _bytes(spike_width),
        "done": 3,
        "info": INFO_BYTES,
        "sync": 1,
        "sync_reply": 2,
    }


def info_reply(
    sizes: dict[str, int],
    *,
    n_neurons: int,
    n_axons: int,
    lanes: int,
    rx_fifo_depth: int,
    data_width: int,
    sparse: bool,
) -> bytes:
    """The 16 bytes of the ``INFO`` reply: ``"NH"``, version, event/cmd/rsp/spike payload bytes,
    neurons (2), axons (3), lanes, log2(receive FIFO depth), data width, sparse."""
    block = bytearray(MAGIC)
    block += bytes([PROTOCOL_VERSION, sizes["event"], sizes["cmd"], sizes["rsp"], sizes["spike"]])
    block += n_neurons.to_bytes(2, "little") + n_axons.to_bytes(3, "little")
    block += bytes([lanes, rx_fifo_depth.bit_length() - 1, data_width, int(sparse)])
    assert len(block) == INFO_BYTES
    return bytes(block)


def pack_fields(values: dict, layout: dict) -> int:
    """Pack ``{field: value}`` into a word with ``layout`` ``{field: (offset, width, signed)}``
    (negative values in two's complement); a value that does not fit raises ``ValueError``."""
    word = 0
    for name, value in values.items():
        offset, width, signed = layout[name]
        value = int(value)
        low, high = (
            (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        )
        if not low <= value <= high:
            raise ValueError(
                f"{name}={value} does not fit {'signed' if signed else 'unsigned'} {width} bits"
            )
        word |= (value & ((1 << width) - 1)) << offset
    return word


def unpack_fields(word: int, layout: dict) -> dict:
    """The fields of ``word`` by ``layout`` (signed fields sign-extended)."""
    fields = {}
    for name, (offset, width, signed) in layout.items():
        value = (word >> offset) & ((1 << width) - 1)
        if signed and width and value >> (width - 1):
            value -= 1 << width
        fields[name] = value
    return fields


@dataclass
class CoreLayout:
    """What the host needs to know about the core behind a link: sizes, payload layouts,
    command targets and status words. Made from :func:`neurohw.templates.core_description`
    (a dict, or the ``<name>.json`` file that :func:`neurohw.templates.render` writes), or
    from a :class:`~neurohw.hw.core.NeuronCore` with :meth:`from_core`."""

    description: dict
    rx_fifo_depth: int = DEFAULT_RX_FIFO_DEPTH

    def __post_init__(self):
        d = self.description
        for key in ("n_neurons", "n_axons", "axon_bits", "ports"):
            if key not in d:
                raise ValueError(
                    f"core description lacks {key!r}: make it with "
                    f"neurohw.templates.core_description"
                )
        ports = d["ports"]
        self.n_neurons = int(d["n_neurons"])
        self.n_axons = int(d["n_axons"])
        self.channels = int(d.get("channels", 1))
        self.n_currents = int(d.get("n_currents", 0))
        self.connectivity = d.get("connectivity", "dense")
        self.lanes = int(d.get("lanes", 1))
        self.data_width = int(d["data_width"])
        self.weight_width = int(d.get("weight_width", 0))
        # Graded events (docs/core.md): an EVENT frame carries {axon, value}.
        self.value_width = int(d.get("value_width", 0))
        self.event = {
            k: tuple(v)
            for k, v in ports.get("spikes_in", {"axon": (0, int(d["axon_bits"]), False)}).items()
        }
        self.cmd = {k: tuple(v) for k, v in ports["cmd"].items()}
        self.rsp = {k: tuple(v) for k, v in ports["rsp"].items()}
        self.spike = {k: tuple(v) for k, v in ports["spikes_out"].items()}
        self.targets = dict(ports["targets"])
        self.status = dict(ports["status"])
        self.step_width = int(ports["step_width"])
        width = lambda layout: sum(w for _, w, _ in layout.values())  # noqa: E731
        self.sizes = payload_sizes(
            event_width=width(self.event),
            cmd_width=width(self.cmd),
            rsp_width=width(self.rsp),
            spike_width=width(self.spike),
        )

    @classmethod
    def load(cls, source, *, rx_fifo_depth: int = DEFAULT_RX_FIFO_DEPTH) -> CoreLayout:
        """From a :class:`CoreLayout`, a description dict, a JSON file path or a NeuronCore."""
        if isinstance(source, CoreLayout):
            return source
        if isinstance(source, dict):
            return cls(source, rx_fifo_depth)
        if isinstance(source, (str, os.PathLike)):
            return cls(json.loads(Path(source).read_text()), rx_fifo_depth)
        if hasattr(source, "port_description"):
            return cls.from_core(source, rx_fifo_depth=rx_fifo_depth)
        raise TypeError(
            f"core layout must be a description dict, a JSON file or a NeuronCore, not {source!r}"
        )

    @classmethod
    def from_core(cls, core, *, rx_fifo_depth: int = DEFAULT_RX_FIFO_DEPTH) -> CoreLayout:
        # Imported here: the description needs Amaranth, which a host alone does not.
        from ..hw.description import core_description

        return cls(json.loads(json.dumps(core_description(core))), rx_fifo_depth)

    # -- frames --------------------------------------------------------------------------------

    def device_payload_bytes(self, opcode: int) -> int | None:
        """Payload length of a frame from the device, or ``None`` for an unknown opcode."""
        return {
            DeviceOp.SPIKE: self.sizes["spike"],
            DeviceOp.DONE: self.sizes["done"],
            DeviceOp.RSP: self.sizes["rsp"],
            DeviceOp.INFO: INFO_BYTES,
            DeviceOp.SYNC: self.sizes["sync_reply"],
        }.get(opcode)

    def event_frame(self, axon: int, value: int | None = None) -> bytes:
        """One input event: a spike on ``axon``, or on a graded core (``value_width``) the
        event ``{axon, value}`` that adds ``value * weight`` (default value 1, a spike). A
        value the core cannot hold is refused, never truncated."""
        if self.value_width:
            value = 1 if value is None else int(value)
            low, high = -(1 << (self.value_width - 1)), (1 << (self.value_width - 1)) - 1
            if not low <= value <= high:
                raise ValueError(
                    f"value {value} does not fit the core's value_width="
                    f"{self.value_width} ([{low}, {high}])"
                )
            if not 0 <= axon < self.n_axons:
                raise ValueError(f"axon {axon} does not fit the event frame")
            word = pack_fields({"axon": axon, "value": value}, self.event)
            return bytes([HostOp.EVENT]) + word.to_bytes(self.sizes["event"], "little")
        if value is not None and value != 1:
            raise ValueError(
                f"value {value}: this core takes spikes only (value_width=0); send "
                f"a count as that many events"
            )
        if not 0 <= axon < (1 << (8 * self.sizes["event"])):
            raise ValueError(f"axon {axon} does not fit the event frame")
        return bytes([HostOp.EVENT]) + int(axon).to_bytes(self.sizes["event"], "little")

    def cmd_frame(
        self, write: int, target: int, neuron: int = 0, axon: int = 0, data: int = 0
    ) -> bytes:
        word = pack_fields(
            {
                "write": int(bool(write)),
                "target": target,
                "neuron": neuron,
                "axon": axon,
                "data": data,
            },
            self.cmd,
        )
        return bytes([HostOp.CMD]) + word.to_bytes(self.sizes["cmd"], "little")

    def expected_info(self) -> bytes:
        """The ``INFO`` reply a device with this core answers."""
        return info_reply(
            self.sizes,
            n_neurons=self.n_neurons,
            n_axons=self.n_axons,
            lanes=self.lanes,
            rx_fifo_depth=self.rx_fifo_depth,
            data_width=self.data_width,
            sparse=self.connectivity == "sparse",
        )

    def target(self, name) -> int:
        """The code of command target ``name`` (``"V"``, ``"WEIGHT0"``, ...); ``ValueError``
        when this core does not implement it."""
        if isinstance(name, int):
            return name
        key = str(name).upper()
        if key not in self.targets:
            raise ValueError(
                f"this core has no command target {name!r} (it has "
                f"{', '.join(sorted(self.targets))})"
            )
        return self.targets[key]
