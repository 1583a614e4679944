"""Host link of a whole chip: a byte protocol between a host (over a UART) and a
:class:`~neurohw.hw.system.SystemTop`'s ``host_in``/``host_out`` event-word streams.

* :class:`SystemBridge` turns frames from the host into ``host_in`` transfers and every
  ``host_out`` word into a frame to the host, and answers INFO, SYNC and STATUS requests.
* :class:`UartSystem` is a ``SystemTop``, a bridge and a UART (:mod:`neurohw.hw.uart`): ports
  ``uart_rx``, ``uart_tx`` and two LEDs, in the ``sync`` domain (``boards/`` puts it on a board).

The protocol is defined once, in :mod:`neurohw.host.system_protocol`; this module builds its
hardware side. Protocol (version 1, ``docs/integration.md``): a frame is an opcode byte and a
payload whose length is fixed by the opcode and the chip's event format; multi-byte values
little-endian. An event word (``plan.fmt.pack(kind, key, step, payload)``,
``neurohw.network.host_events``) takes ``W = ceil(fmt.width / 8)`` bytes.

Host to device: ``NOP`` (0x00), ``EVENT`` (0x01, one word, W bytes), ``INFO`` (0x04), ``SYNC``
(0x05, sequence byte), ``STATUS`` (0x06). Device to host: ``EVENT`` (0x81, one ``host_out``
word), ``INFO`` (0x84, 16 bytes), ``SYNC`` (0x85, sequence byte, flags), ``STATUS`` (0x86, flags,
router drops (2 bytes), then per core: invalid (2), end-of-sample drops (2)).
"""

from __future__ import annotations

import math

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..host.system_protocol import (
    SYSTEM_INFO_BYTES,
    SYSTEM_MAGIC,
    SYSTEM_PROTOCOL_VERSION,
    SystemDeviceOp,
    SystemFlags,
    SystemHostOp,
    host_frames,
    parse_device_frames,
)
from .framing import UartBridgeTop, check_rx_fifo_depth
from .system import SystemTop

# The protocol's names (neurohw.host.system_protocol) are re-exported: the bridge's users need
# them together with it.
__all__ = [
    "SystemHostOp",
    "SystemDeviceOp",
    "SystemFlags",
    "SYSTEM_PROTOCOL_VERSION",
    "SYSTEM_MAGIC",
    "SYSTEM_INFO_BYTES",
    "word_bytes",
    "system_info_block",
    "status_bytes",
    "host_frames",
    "parse_device_frames",
    "SystemBridge",
    "UartSystem",
]


def word_bytes(top: SystemTop) -> int:
    """Bytes of one event word on the link."""
    return max(1, math.ceil(top.fmt.width / 8))


def status_bytes(top: SystemTop) -> int:
    """Payload bytes of a STATUS reply: flags, router drops (2), per core invalid and
    end-of-sample drops (2 + 2)."""
    return 3 + 4 * top.plan.n_cores


def system_info_block(top: SystemTop, rx_fifo_depth: int) -> bytes:
    """The 16 bytes of the INFO reply: ``"NS"``, version, word bytes, key width, step width,
    payload width, cores (2), keys per endpoint log2, log2(rx FIFO depth), host endpoint (2),
    status bytes (1), 2 reserved."""
    fmt, plan = top.fmt, top.plan
    block = bytearray(SYSTEM_MAGIC)
    block += bytes(
        [SYSTEM_PROTOCOL_VERSION, word_bytes(top), fmt.key_width, fmt.step_width, fmt.payload_width]
    )
    block += plan.n_cores.to_bytes(2, "little")
    block += bytes([plan.keys_per_endpoint.bit_length() - 1, rx_fifo_depth.bit_length() - 1])
    block += plan.host.to_bytes(2, "little")
    block += bytes([status_bytes(top), 0, 0])
    assert len(block) == SYSTEM_INFO_BYTES
    return bytes(block)


class SystemBridge(wiring.Component):
    """Bytes from the host (``rx``) to ``host_in``; ``host_out`` words to bytes (``tx``).

    Members: ``rx`` In(stream of bytes; a byte offered when the receive FIFO is full is lost and
    flagged), ``tx`` Out(stream of bytes), ``host_in`` Out(event words, to the chip),
    ``host_out`` In(event words, from the chip), the chip's status inputs (``overflow``,
    ``tag_error``, ``cmd_error`` (``n_cores`` bits), ``router_drops``, ``invalid[c]``,
    ``eos_dropped[c]``), ``rx_error`` In(2) (UART overrun, framing pulses), ``activity``
    Out(1) (toggles at every barrier the host receives), ``error`` Out(1) (any flag).

    The chip holds a host barrier until the previous one has left ``host_out``; the bridge keeps
    taking ``host_out`` words while it waits, so the link never deadlocks. UART has no flow
    control: the host keeps at most ``rx_fifo_depth`` bytes not yet confirmed by a SYNC reply
    (a SYNC is answered once every byte before it has been handed to the chip).
    """

    def __init__(self, top: SystemTop, *, rx_fifo_depth: int = 512):
        if not isinstance(top, SystemTop):
            raise TypeError(f"top must be a SystemTop, not {top!r}")
        check_rx_fifo_depth(rx_fifo_depth)
        self.top = top
        self.rx_fifo_depth = rx_fifo_depth
        self.word_bytes = word_bytes(top)
        self.status_bytes = status_bytes(top)
        self.info = system_info_block(top, rx_fifo_depth)
        n = top.plan.n_cores
        word = stream.Signature(top.fmt.width)
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "tx": Out(stream.Signature(8)),
                "host_in": Out(word),
                "host_out": In(word),
                "overflow": In(n),
                "tag_error": In(n),
                "cmd_error": In(n),
                "router_drops": In(16),
                "invalid": In(16).array(n),
                "eos_dropped": In(16).array(n),
                "rx_error": In(2),
                "activity": Out(1),
                "error": Out(1),
            }
        )

    def elaborate(self, platform):
        from amaranth.lib import data

        from .event import EventKind, event_layout

        m = Module()
        W = self.word_bytes
        width = self.top.fmt.width
        n = self.top.plan.n_cores

        m.submodules.rx_fifo = rx_fifo = fifo.SyncFIFOBuffered(width=8, depth=self.rx_fifo_depth)
        m.d.comb += [
            rx_fifo.w_data.eq(self.rx.payload),
            rx_fifo.w_en.eq(self.rx.valid),
            self.rx.ready.eq(1),
        ]
        link_flags = Signal(3)  # RX_OVERRUN, FRAME_ERROR, BAD_OPCODE (sticky)
        with m.If((self.rx.valid & ~rx_fifo.w_rdy) | self.rx_error[0]):
            m.d.sync += link_flags[0].eq(1)
        with m.If(self.rx_error[1]):
            m.d.sync += link_flags[1].eq(1)
        invalid_any = Cat(*[(c != 0) for c in self.invalid]).any()
        flags = Signal(8)
        m.d.comb += [
            flags.eq(
                Cat(
                    link_flags,
                    self.overflow.any(),
                    self.tag_error.any(),
                    self.cmd_error.any(),
                    self.router_drops != 0,
                    invalid_any,
                )
            ),
            self.error.eq(flags != 0),
        ]

        # ---- Parser.
        max_in = max(W, 1)
        buf = Signal(8 * max_in)
        left = Signal(range(max_in + 1))
        op = Signal(8)
        byte = rx_fifo.r_data
        req_valid = Signal()
        req_kind = Signal(2)  # 0 INFO, 1 SYNC, 2 STATUS
        req_seq = Signal(8)
        req_ready = Signal()
        m.d.comb += self.host_in.payload.eq(buf[8 * (max_in - W) :][:width])
        with m.FSM():
            with m.State("OPCODE"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += op.eq(byte)
                    with m.Switch(byte):
                        with m.Case(SystemHostOp.NOP):
                            pass
                        with m.Case(SystemHostOp.EVENT):
                            m.d.sync += left.eq(W)
                            m.next = "PAYLOAD"
                        with m.Case(SystemHostOp.SYNC):
                            m.d.sync += left.eq(1)
                            m.next = "PAYLOAD"
                        with m.Case(SystemHostOp.INFO, SystemHostOp.STATUS):
                            m.next = "ISSUE"
                        with m.Default():
                            m.d.sync += link_flags[2].eq(1)
            with m.State("PAYLOAD"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += [buf.eq((buf >> 8) | (byte << (8 * max_in - 8))), left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "ISSUE"
            with m.State("ISSUE"):
                taken = Signal()
                with m.If(op == SystemHostOp.EVENT):
                    m.d.comb += [self.host_in.valid.eq(1), taken.eq(self.host_in.ready)]
                with m.Else():
                    m.d.comb += [
                        req_valid.eq(1),
                        req_kind.eq(_request_kind(op)),
                        req_seq.eq(buf[8 * (max_in - 1) :]),
                        taken.eq(req_ready),
                    ]
                with m.If(taken):
                    m.next = "OPCODE"

        # ---- Transmitter: one frame at a time, opcode then payload bytes LSB first.
        max_out = 1 + max(W, SYSTEM_INFO_BYTES, 2, self.status_bytes)
        out = Signal(8 * max_out)
        count = Signal(range(max_out + 1))
        m.d.comb += [self.tx.valid.eq(count != 0), self.tx.payload.eq(out[:8])]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += [out.eq(out >> 8), count.eq(count - 1)]

        def frame(opcode, value, nbytes):
            return [out.eq(Const(opcode, 8) | (value << 8)), count.eq(1 + nbytes)]

        idle = count == 0
        incoming = data.View(event_layout(self.top.fmt), self.host_out.payload)
        status = Cat(
            flags, self.router_drops, *[Cat(self.invalid[c], self.eos_dropped[c]) for c in range(n)]
        )
        with m.If(idle):
            # Requests first (rare, short), then the chip's words.
            with m.If(req_valid):
                m.d.comb += req_ready.eq(1)
                with m.Switch(req_kind):
                    with m.Case(0):
                        m.d.sync += frame(
                            SystemDeviceOp.INFO,
                            Const(int.from_bytes(self.info, "little"), 8 * SYSTEM_INFO_BYTES),
                            SYSTEM_INFO_BYTES,
                        )
                    with m.Case(1):
                        m.d.sync += frame(SystemDeviceOp.SYNC, req_seq | (flags << 8), 2)
                    with m.Default():
                        m.d.sync += frame(SystemDeviceOp.STATUS, status, self.status_bytes)
            with m.Elif(self.host_out.valid):
                m.d.comb += self.host_out.ready.eq(1)
                m.d.sync += frame(SystemDeviceOp.EVENT, self.host_out.payload, W)
                with m.If(incoming.kind == EventKind.BARRIER):
                    m.d.sync += self.activity.eq(~self.activity)
        return m


def _request_kind(op):
    """Request kind of an opcode: 0 INFO, 1 SYNC, 2 STATUS."""
    from amaranth.hdl import Mux

    return Mux(op == SystemHostOp.INFO, 0, Mux(op == SystemHostOp.SYNC, 1, 2))


class UartSystem(UartBridgeTop):
    """A ``SystemTop`` behind a UART host link, in the ``sync`` domain.

    Members: ``uart_rx`` In(1) (idles high), ``uart_tx`` Out(1), ``led`` Out(2) (bit 0 toggles
    at every barrier sent to the host, bit 1 is the error flag). ``divisor``: clock cycles per
    bit (:func:`neurohw.hw.uart.baud_divisor`). ``framing``: the framed link (protocol version 2,
    :class:`neurohw.hw.framing.FramedLink`) between the UART and the bridge; port ``rejected``
    counts the host frames it rejected.
    """

    def __init__(
        self, top: SystemTop, *, divisor: int, rx_fifo_depth: int = 512, framing: bool = False
    ):
        self.top = top
        bridge = SystemBridge(top, rx_fifo_depth=rx_fifo_depth)
        super().__init__(bridge, divisor=divisor, framing=framing)

    def elaborate(self, platform):
        m = Module()
        top, bridge = self.top, self.bridge
        m.submodules.system = top
        m.submodules.bridge = bridge
        wiring.connect(m, bridge.host_in, top.host_in)
        wiring.connect(m, top.host_out, bridge.host_out)
        m.d.comb += [
            bridge.overflow.eq(top.overflow),
            bridge.tag_error.eq(top.tag_error),
            bridge.cmd_error.eq(top.cmd_error),
            bridge.router_drops.eq(top.router_drops),
        ]
        for c in range(top.plan.n_cores):
            m.d.comb += [
                bridge.invalid[c].eq(top.invalid[c]),
                bridge.eos_dropped[c].eq(top.eos_dropped[c]),
            ]
        if top.debug:
            m.d.comb += [top.dbg_cmd.valid.eq(0), top.dbg_rsp.ready.eq(1)]
        self.connect_uart(m, bridge.activity)
        return m
