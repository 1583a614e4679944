"""Host link: a byte protocol between a host (over a UART) and a :class:`NeuronCore`'s streams.

* :class:`HostBridge` turns a byte stream from the host into transfers on the core's
  ``spikes_in``, ``step`` and ``cmd`` streams, and the core's ``spikes_out``, ``done`` and
  ``rsp`` transfers into frames back to the host.
* :class:`UartHost` is a core, a bridge and a UART (:mod:`neurohw.hw.uart`): ports ``uart_rx``,
  ``uart_tx`` and two status LEDs, in the ``sync`` domain.

Board top levels (pins, clock, reset button) are in ``boards/top.py``.

The protocol is defined once, in :mod:`neurohw.host.protocol` (opcodes, flags, frame sizes, the
INFO reply); this module builds its hardware side. Every frame is an opcode byte followed by a
payload of a length fixed by the opcode and the core's widths, little-endian. Host to device:
``NOP`` (0x00, no payload), ``EVENT`` (0x01, axon), ``STEP`` (0x02), ``CMD`` (0x03, command
word), ``INFO`` (0x04), ``SYNC`` (0x05, one sequence byte). Device to host: ``SPIKE`` (0x81,
spike word), ``DONE`` (0x82, step number (2 bytes) and a flags byte), ``RSP`` (0x83, response
word), ``INFO`` (0x84, 16 bytes), ``SYNC`` (0x85, the sequence byte and a flags byte).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..host.protocol import (
    INFO_BYTES,
    MAGIC,
    PROTOCOL_VERSION,
    DeviceOp,
    Flags,
    HostOp,
    info_reply,
    payload_sizes,
)
from .core import STEP_WIDTH, NeuronCore
from .framing import UartBridgeTop, check_rx_fifo_depth

# The protocol's names are re-exported: the bridge's users need them together with it.
__all__ = [
    "HostOp",
    "DeviceOp",
    "Flags",
    "PROTOCOL_VERSION",
    "INFO_BYTES",
    "MAGIC",
    "frame_sizes",
    "info_block",
    "HostBridge",
    "UartHost",
]


def frame_sizes(core: NeuronCore) -> dict[str, int]:
    """Payload bytes of each frame for ``core`` (:func:`neurohw.host.protocol.payload_sizes`)."""
    # A graded core's EVENT payload is its whole {axon, value} word.
    return payload_sizes(
        event_width=core.axon_bits + core.value_width,
        cmd_width=core.cmd_layout.size,
        rsp_width=core.rsp_layout.size,
        spike_width=core.spike_layout.size,
    )


def info_block(core: NeuronCore, rx_fifo_depth: int) -> bytes:
    """The 16 bytes of the ``INFO`` reply for ``core``
    (:func:`neurohw.host.protocol.info_reply`)."""
    return info_reply(
        frame_sizes(core),
        n_neurons=core.n_neurons,
        n_axons=core.n_axons,
        lanes=core.lanes,
        rx_fifo_depth=rx_fifo_depth,
        data_width=core.data_width,
        sparse=core.connectivity == "sparse",
    )


class HostBridge(wiring.Component):
    """Bytes from the host (``rx``) to the core's input streams; the core's output streams to
    bytes to the host (``tx``).

    Members: ``rx`` In(stream of bytes; a byte offered when the receive FIFO is full is lost and
    flagged), ``tx`` Out(stream of bytes), ``core`` (the core's ports, flipped: connect it to the
    core with :func:`amaranth.lib.wiring.connect`), ``rx_error`` In(1) (pulse: the UART lost a
    byte or saw a framing error; bit 0 overrun, bit 1 framing), ``done_toggle`` Out(1) (flips at
    every ``done``), ``error`` Out(1) (any flag of :class:`Flags`).

    ``rx_fifo_depth`` (a power of two, 16..65536) bytes of buffering let the host send while the
    core is busy; the host keeps at most that many bytes unconsumed (``SYNC``).
    """

    def __init__(self, core: NeuronCore, *, rx_fifo_depth: int = 512):
        if not isinstance(core, NeuronCore):
            raise TypeError(f"core must be a NeuronCore, not {core!r}")
        check_rx_fifo_depth(rx_fifo_depth)
        self.rx_fifo_depth = rx_fifo_depth
        self.sizes = frame_sizes(core)
        self.info = info_block(core, rx_fifo_depth)
        # A graded core's EVENT payload is its whole {axon, value} word.
        self._widths = {
            "event": core.axon_bits + core.value_width,
            "cmd": core.cmd_layout.size,
            "rsp": core.rsp_layout.size,
            "spike": core.spike_layout.size,
        }
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "tx": Out(stream.Signature(8)),
                "core": Out(core.signature.flip()),
                "rx_error": In(2),
                "done_toggle": Out(1),
                "error": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        sizes = self.sizes
        core = self.core

        # ---- Receive FIFO.
        m.submodules.rx_fifo = rx_fifo = fifo.SyncFIFOBuffered(width=8, depth=self.rx_fifo_depth)
        m.d.comb += [
            rx_fifo.w_data.eq(self.rx.payload),
            rx_fifo.w_en.eq(self.rx.valid),
            self.rx.ready.eq(1),
        ]
        flags = Signal(3)  # RX_OVERRUN, FRAME_ERROR, BAD_OPCODE (sticky)
        with m.If(self.rx.valid & ~rx_fifo.w_rdy):
            m.d.sync += flags[0].eq(1)
        with m.If(self.rx_error[0]):
            m.d.sync += flags[0].eq(1)
        with m.If(self.rx_error[1]):
            m.d.sync += flags[1].eq(1)
        all_flags = Signal(8)
        m.d.comb += [all_flags.eq(flags | (core.overflow << 3)), self.error.eq(all_flags != 0)]

        # ---- Parser: opcode, payload bytes (shifted in from the top), then the transfer.
        max_in = max(sizes["event"], sizes["cmd"], sizes["sync"])
        buf = Signal(8 * max_in)
        left = Signal(range(max_in + 1))
        op = Signal(8)
        byte = rx_fifo.r_data
        # Requests for the transmitter: INFO, or SYNC with its sequence byte.
        req_valid = Signal()
        req_info = Signal()
        req_seq = Signal(8)
        req_ready = Signal()

        def payload(nbytes, width):
            return buf[8 * (max_in - nbytes) :][:width]

        m.d.comb += [
            core.spikes_in.payload.eq(payload(sizes["event"], self._widths["event"])),
            core.cmd.payload.eq(payload(sizes["cmd"], self._widths["cmd"])),
            core.step.payload.eq(0),
        ]
        with m.FSM():
            with m.State("OPCODE"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += op.eq(byte)
                    with m.Switch(byte):
                        with m.Case(HostOp.NOP):
                            pass
                        with m.Case(HostOp.EVENT):
                            m.d.sync += left.eq(sizes["event"])
                            m.next = "PAYLOAD"
                        with m.Case(HostOp.CMD):
                            m.d.sync += left.eq(sizes["cmd"])
                            m.next = "PAYLOAD"
                        with m.Case(HostOp.SYNC):
                            m.d.sync += left.eq(sizes["sync"])
                            m.next = "PAYLOAD"
                        with m.Case(HostOp.STEP, HostOp.INFO):
                            m.next = "ISSUE"
                        with m.Default():
                            m.d.sync += flags[2].eq(1)
            with m.State("PAYLOAD"):
                m.d.comb += rx_fifo.r_en.eq(1)
                with m.If(rx_fifo.r_rdy):
                    m.d.sync += [buf.eq((buf >> 8) | (byte << (8 * max_in - 8))), left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "ISSUE"
            with m.State("ISSUE"):
                taken = Signal()
                with m.Switch(op):
                    with m.Case(HostOp.EVENT):
                        m.d.comb += [core.spikes_in.valid.eq(1), taken.eq(core.spikes_in.ready)]
                    with m.Case(HostOp.STEP):
                        m.d.comb += [core.step.valid.eq(1), taken.eq(core.step.ready)]
                    with m.Case(HostOp.CMD):
                        m.d.comb += [core.cmd.valid.eq(1), taken.eq(core.cmd.ready)]
                    with m.Default():  # INFO, SYNC
                        m.d.comb += [
                            req_valid.eq(1),
                            req_info.eq(op == HostOp.INFO),
                            req_seq.eq(payload(1, 8)),
                            taken.eq(req_ready),
                        ]
                with m.If(taken):
                    m.next = "OPCODE"

        # ---- Transmitter: one frame at a time, opcode then payload bytes LSB first.
        max_out = 1 + max(
            sizes["spike"], sizes["rsp"], sizes["done"], sizes["info"], sizes["sync_reply"]
        )
        out = Signal(8 * max_out)
        count = Signal(range(max_out + 1))
        m.d.comb += [self.tx.valid.eq(count != 0), self.tx.payload.eq(out[:8])]
        with m.If(self.tx.valid & self.tx.ready):
            m.d.sync += [out.eq(out >> 8), count.eq(count - 1)]

        def frame(opcode, value, nbytes):
            return [out.eq(Const(opcode, 8) | (value << 8)), count.eq(1 + nbytes)]

        idle = count == 0
        info = int.from_bytes(self.info, "little")
        with m.If(idle):
            # Responses first, then spikes, then done: the core offers done only after the
            # bridge has taken every spike of the step, and a frame is sent whole.
            with m.If(core.rsp.valid):
                m.d.comb += core.rsp.ready.eq(1)
                m.d.sync += frame(DeviceOp.RSP, core.rsp.payload.as_value(), sizes["rsp"])
            with m.Elif(core.spikes_out.valid):
                m.d.comb += core.spikes_out.ready.eq(1)
                m.d.sync += frame(
                    DeviceOp.SPIKE, core.spikes_out.payload.as_value(), sizes["spike"]
                )
            with m.Elif(core.done.valid):
                m.d.comb += core.done.ready.eq(1)
                m.d.sync += frame(
                    DeviceOp.DONE, core.done.payload | (all_flags << STEP_WIDTH), sizes["done"]
                )
                m.d.sync += self.done_toggle.eq(~self.done_toggle)
            with m.Elif(req_valid):
                m.d.comb += req_ready.eq(1)
                with m.If(req_info):
                    m.d.sync += frame(DeviceOp.INFO, Const(info, 8 * INFO_BYTES), INFO_BYTES)
                with m.Else():
                    m.d.sync += frame(DeviceOp.SYNC, req_seq | (all_flags << 8), 2)
        return m


class UartHost(UartBridgeTop):
    """A core behind a UART host link, in the ``sync`` domain.

    Members: ``uart_rx`` In(1) (from the host, idles high), ``uart_tx`` Out(1), ``led`` Out(2)
    (bit 0 toggles at every step, bit 1 is the error flag). ``divisor``: clock cycles per bit
    (:func:`neurohw.hw.uart.baud_divisor`). ``framing``: the framed link (protocol version 2,
    :class:`neurohw.hw.framing.FramedLink`) between the UART and the bridge; ``link.rejected``
    counts the host frames it rejected (port ``rejected``).
    """

    def __init__(
        self, core: NeuronCore, *, divisor: int, rx_fifo_depth: int = 512, framing: bool = False
    ):
        self.core = core
        bridge = HostBridge(core, rx_fifo_depth=rx_fifo_depth)
        super().__init__(bridge, divisor=divisor, framing=framing)

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = self.core
        m.submodules.bridge = bridge = self.bridge
        wiring.connect(m, bridge.core, self.core)
        self.connect_uart(m, bridge.done_toggle)
        return m
