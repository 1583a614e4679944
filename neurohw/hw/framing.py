"""The framed host link's gateware (protocol version 2, :mod:`neurohw.host.framing`): between a
byte line (a UART) and a bridge's byte streams, it checks each host frame's CRC before any of
its bytes reach the bridge, and frames the bridge's output with a CRC.

:class:`FramedLink` members: ``line_in`` In(stream of bytes from the UART receiver; always
ready), ``line_out`` Out(stream of bytes to the UART transmitter), ``app_rx`` Out(stream: the
payload bytes of accepted frames, in order, to the bridge's ``rx``), ``app_tx`` In(stream: the
bridge's ``tx`` bytes, framed), ``rejected`` Out(16) (host frames rejected: wrong CRC or
length, or following a lost frame; saturates at 65535), ``accepted`` Out(16) (frames
accepted, wrapping: a progress indicator).

Payload bytes are written into a buffer of ``2 * MAX_PAYLOAD`` bytes as they arrive and only
become visible to ``app_rx`` (committed) when the frame's CRC checks; otherwise the write
pointer rolls back. ``app_rx`` drains the buffer one byte per cycle while the bridge is ready
(the bridges are always ready), far faster than bytes arrive, so a frame never waits for room;
if the buffer is ever full, the frame is rejected (and sent again by the host), never cut.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..host.framing import MAX_PAYLOAD, SOF
from .uart import UARTRx, UARTTx

__all__ = ["FramedLink", "UartBridgeTop", "check_rx_fifo_depth", "crc16_update", "connect_framed"]

_POLY = 0x1021
_CRC_INIT = 0xFFFF
#: Cycles the transmitter waits after the last byte from the bridge before it sends a partly
#: filled frame: the bridge writes a reply frame one byte per cycle, so this gathers it whole.
LINGER_CYCLES = 16
#: Cycles an acknowledgment waits for bytes from the bridge to ride along with (a step's reply
#: usually follows the frame that ended the step): an acknowledgment alone costs a frame.
ACK_DELAY_CYCLES = 256


def crc16_update(crc: Value, byte: Value) -> Value:
    """``crc`` (16 bits) after ``byte``, CRC-16/CCITT-FALSE (MSB first), as logic."""
    for i in range(8):
        feedback = crc[15] ^ byte[7 - i]
        crc = Cat(Const(0, 1), crc[:15]) ^ Mux(feedback, Const(_POLY, 16), Const(0, 16))
    return crc


class FramedLink(wiring.Component):
    def __init__(self):
        self.buffer_depth = 2 * MAX_PAYLOAD
        super().__init__(
            {
                "line_in": In(stream.Signature(8)),
                "line_out": Out(stream.Signature(8)),
                "app_rx": Out(stream.Signature(8)),
                "app_tx": In(stream.Signature(8)),
                "rejected": Out(16),
                "accepted": Out(16),
            }
        )

    def elaborate(self, platform):
        m = Module()
        reply, expected, rejects = self._transmitter(m)
        self._receiver(m, reply, expected, rejects)
        return m

    def _transmitter(self, m: Module):
        """Device -> host: the bridge's bytes gathered in a FIFO and sent as frames, each
        carrying the acknowledgment and reject count. Returns the signals the receiver drives:
        ``reply`` (a host frame awaits an answer), ``expected`` (the next sequence number to
        accept) and ``rejects`` (rejected host frames, modulo 256)."""
        m.submodules.tx_fifo = tx_fifo = fifo.SyncFIFOBuffered(width=8, depth=MAX_PAYLOAD)
        m.d.comb += [
            tx_fifo.w_data.eq(self.app_tx.payload),
            tx_fifo.w_en.eq(self.app_tx.valid),
            self.app_tx.ready.eq(tx_fifo.w_rdy),
        ]
        quiet = Signal(range(LINGER_CYCLES + 1))
        with m.If(self.app_tx.valid & self.app_tx.ready):
            m.d.sync += quiet.eq(0)
        with m.Elif(quiet != LINGER_CYCLES):
            m.d.sync += quiet.eq(quiet + 1)

        reply = Signal()  # a host frame was received: acknowledge or report it
        expected = Signal(8)  # sequence number of the next host frame to accept
        rejects = Signal(8)  # rejected host frames, modulo 256 (sent in every device frame)
        tx_crc = Signal(16)
        tx_len = Signal(range(MAX_PAYLOAD + 1))
        tx_left = Signal(range(MAX_PAYLOAD + 1))
        out = self.line_out
        sent = out.valid & out.ready
        waited = Signal(range(ACK_DELAY_CYCLES + 1))
        tx_ack = Signal(8)
        tx_rejects = Signal(8)
        tx_next_crc = Signal(16)
        m.d.comb += tx_next_crc.eq(crc16_update(tx_crc, out.payload))
        # The FSM only updates registers; the outputs are plain functions of its state below
        # (continuous assignments: Icarus evaluates them from time 0).
        with m.FSM(name="tx") as tx_fsm:
            with m.State("IDLE"):
                level = tx_fifo.r_level
                with m.If(reply & (waited != ACK_DELAY_CYCLES)):
                    m.d.sync += waited.eq(waited + 1)
                with m.If(
                    (reply & (waited == ACK_DELAY_CYCLES))
                    | (level == MAX_PAYLOAD)
                    | ((level != 0) & (quiet == LINGER_CYCLES))
                ):
                    m.d.sync += waited.eq(0)
                    m.d.sync += [reply.eq(0), tx_len.eq(level), tx_left.eq(level)]
                    # Held for the frame: a line that reads a byte ahead sees what it sends.
                    m.d.sync += [tx_ack.eq(expected), tx_rejects.eq(rejects)]
                    m.d.sync += tx_crc.eq(_CRC_INIT)
                    m.next = "SOF"
            with m.State("SOF"):
                with m.If(sent):
                    m.next = "LEN"
            for state, after in (("LEN", "ACK"), ("ACK", "REJECTS")):
                with m.State(state):
                    with m.If(sent):
                        m.d.sync += tx_crc.eq(tx_next_crc)
                        m.next = after
            with m.State("REJECTS"):
                with m.If(sent):
                    m.d.sync += tx_crc.eq(tx_next_crc)
                    with m.If(tx_len == 0):
                        m.next = "CRC_HI"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(sent):
                    m.d.sync += [tx_crc.eq(tx_next_crc), tx_left.eq(tx_left - 1)]
                    with m.If(tx_left == 1):
                        m.next = "CRC_HI"
            with m.State("CRC_HI"):
                with m.If(sent):
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                with m.If(sent):
                    m.next = "IDLE"
        on = tx_fsm.ongoing
        m.d.comb += [
            out.valid.eq(~on("IDLE")),
            out.payload.eq(
                Mux(
                    on("SOF"),
                    SOF,
                    Mux(
                        on("LEN"),
                        tx_len,
                        Mux(
                            on("ACK"),
                            tx_ack,
                            Mux(
                                on("REJECTS"),
                                tx_rejects,
                                Mux(
                                    on("PAYLOAD"),
                                    tx_fifo.r_data,
                                    Mux(on("CRC_HI"), tx_crc[8:], tx_crc[:8]),
                                ),
                            ),
                        ),
                    ),
                )
            ),
            tx_fifo.r_en.eq(on("PAYLOAD") & out.ready),
        ]
        return reply, expected, rejects

    def _receiver(self, m: Module, reply, expected, rejects):
        """Host -> device: frames checked, their payloads committed to the buffer and drained
        into ``app_rx``; a rejected frame rolls the write pointer back."""
        depth = self.buffer_depth
        ptr_bits = depth.bit_length()  # one more than the address: full and empty differ
        m.submodules.buffer = buffer = Memory(shape=8, depth=depth, init=[])
        write = buffer.write_port()
        read = buffer.read_port()
        wr = Signal(ptr_bits)  # next byte of the frame being received
        commit = Signal(ptr_bits)  # end of the accepted bytes
        rd = Signal(ptr_bits)  # next byte to hand to app_rx
        room = (wr - rd)[:ptr_bits] != depth

        # Drain: a registered read, one byte per cycle while app_rx is ready.
        load = Signal()
        m.d.comb += [
            load.eq((rd != commit) & (~self.app_rx.valid | self.app_rx.ready)),
            read.addr.eq(rd[: ptr_bits - 1]),
            read.en.eq(load),
            self.app_rx.payload.eq(read.data),
        ]
        with m.If(load):
            m.d.sync += [rd.eq(rd + 1), self.app_rx.valid.eq(1)]
        with m.Elif(self.app_rx.ready):
            m.d.sync += self.app_rx.valid.eq(0)

        rx_crc = Signal(16)
        length = Signal(range(MAX_PAYLOAD + 1))
        left = Signal(range(MAX_PAYLOAD + 1))
        seq = Signal(8)
        lost = Signal()  # a payload byte found the buffer full: the frame cannot be accepted
        byte = self.line_in.payload
        new_crc = Signal(16)
        m.d.comb += new_crc.eq(crc16_update(rx_crc, byte))
        m.d.comb += [
            self.line_in.ready.eq(1),
            write.addr.eq(wr[: ptr_bits - 1]),
            write.data.eq(byte),
        ]

        def reject():
            return [
                wr.eq(commit),
                rejects.eq(rejects + 1),
                reply.eq(1),
                self.rejected.eq(Mux(self.rejected == 0xFFFF, 0xFFFF, self.rejected + 1)),
            ]

        with m.FSM(name="rx") as rx_fsm:
            with m.State("HUNT"):
                with m.If(self.line_in.valid & (byte == SOF)):
                    m.d.sync += [rx_crc.eq(_CRC_INIT), lost.eq(0)]
                    m.next = "LEN"
            with m.State("LEN"):
                with m.If(self.line_in.valid):
                    with m.If(byte > MAX_PAYLOAD):
                        m.d.sync += reject()
                        m.next = "HUNT"
                    with m.Else():
                        m.d.sync += [rx_crc.eq(new_crc), length.eq(byte), left.eq(byte)]
                        m.next = "SEQ"
            with m.State("SEQ"):
                with m.If(self.line_in.valid):
                    m.d.sync += [rx_crc.eq(new_crc), seq.eq(byte)]
                    with m.If(length == 0):
                        m.next = "CRC_HI"
                    with m.Else():
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(self.line_in.valid):
                    m.d.sync += [rx_crc.eq(new_crc), left.eq(left - 1)]
                    with m.If(left == 1):
                        m.next = "CRC_HI"
                    with m.If(room):
                        m.d.sync += wr.eq(wr + 1)
                    with m.Else():
                        m.d.sync += lost.eq(1)
            with m.State("CRC_HI"):
                with m.If(self.line_in.valid):
                    m.d.sync += rx_crc.eq(new_crc)
                    m.next = "CRC_LO"
            with m.State("CRC_LO"):
                with m.If(self.line_in.valid):
                    m.next = "HUNT"
                    ahead = (seq - expected)[:8]
                    with m.If((new_crc != 0) | lost):
                        m.d.sync += reject()
                    with m.Elif(ahead == 0):
                        m.d.sync += [
                            commit.eq(wr),
                            expected.eq(expected + 1),
                            reply.eq(1),
                            self.accepted.eq(self.accepted + 1),
                        ]
                    with m.Elif(ahead[7]):
                        # A frame sent again that already arrived: acknowledge it again.
                        m.d.sync += [wr.eq(commit), reply.eq(1)]
                    with m.Else():
                        # A frame after a lost one: the host sends both again.
                        m.d.sync += reject()
        m.d.comb += write.en.eq(rx_fsm.ongoing("PAYLOAD") & self.line_in.valid & room)


def connect_framed(m: Module, uart_rx, uart_tx, link: FramedLink, bridge) -> None:
    """Connect a UART receiver and transmitter, a :class:`FramedLink` and a bridge (its
    ``rx`` and ``tx`` byte streams)."""
    wiring.connect(m, uart_rx.data, link.line_in)
    wiring.connect(m, link.line_out, uart_tx.data)
    wiring.connect(m, link.app_rx, bridge.rx)
    wiring.connect(m, bridge.tx, link.app_tx)


def check_rx_fifo_depth(rx_fifo_depth) -> None:
    """A bridge's receive FIFO depth in bytes: a power of two from 16 to 65536."""
    if (
        isinstance(rx_fifo_depth, bool)
        or not isinstance(rx_fifo_depth, int)
        or not 16 <= rx_fifo_depth <= 65536
        or rx_fifo_depth & (rx_fifo_depth - 1)
    ):
        raise ValueError(
            f"rx_fifo_depth must be a power of two between 16 and 65536, not {rx_fifo_depth!r}"
        )


class UartBridgeTop(wiring.Component):
    """A bridge behind a UART, with the framed link between them or without it: the part that
    :class:`~neurohw.hw.host_bridge.UartHost` and :class:`~neurohw.hw.system_bridge.UartSystem`
    share. ``bridge``: its ``rx``/``tx`` byte streams, ``rx_error`` In(2) (UART overrun,
    framing) and ``error`` Out(1) are used. ``divisor``: clock cycles per bit
    (:func:`neurohw.hw.uart.baud_divisor`).

    Members: ``uart_rx`` In(1) (idles high), ``uart_tx`` Out(1), ``led`` Out(2) (bit 0 the
    ``activity`` given to :meth:`connect_uart`, bit 1 the bridge's error flag), and with
    ``framing`` ``rejected`` Out(16) (host frames the framed link rejected). A subclass adds its
    design and the bridge to its module, then calls :meth:`connect_uart`.
    """

    def __init__(self, bridge, *, divisor: int, framing: bool):
        self.bridge = bridge
        self.uart_in = UARTRx(divisor)
        self.uart_out = UARTTx(divisor)
        self.divisor = divisor
        self.framing = bool(framing)
        self.link = FramedLink() if self.framing else None
        ports = {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "led": Out(2)}
        if self.framing:
            ports["rejected"] = Out(16)  # host frames the framed link rejected
        super().__init__(ports)

    def connect_uart(self, m: Module, activity: Value) -> None:
        """Add the UART receiver and transmitter (and the framed link) to ``m`` and connect them
        to the bridge and the ports; ``activity`` drives LED 0."""
        bridge = self.bridge
        m.submodules.uart_rx = rx = self.uart_in
        m.submodules.uart_tx = tx = self.uart_out
        if self.framing:
            # A byte the UART loses fails its frame's CRC: the frame is rejected and sent
            # again, so UART errors are not the bridge's sticky flags here.
            m.submodules.link = link = self.link
            connect_framed(m, rx, tx, link, bridge)
            m.d.comb += [
                self.rejected.eq(link.rejected),
                rx.rx.eq(self.uart_rx),
                self.uart_tx.eq(tx.tx),
                self.led.eq(activity | (bridge.error << 1)),
            ]
            return
        wiring.connect(m, rx.data, bridge.rx)
        wiring.connect(m, bridge.tx, tx.data)
        m.d.comb += [
            rx.rx.eq(self.uart_rx),
            self.uart_tx.eq(tx.tx),
            bridge.rx_error.eq(rx.overrun | (rx.frame_error << 1)),
            self.led.eq(activity | (bridge.error << 1)),
        ]
