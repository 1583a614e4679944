"""Asynchronous AER pins (4-phase REQ/ACK, bundled data) to and from event streams.

Four-phase handshake, as on event cameras and neuromorphic chips: the sender drives ``data``,
then raises ``req``; the receiver takes ``data`` and raises ``ack``; the sender lowers ``req``;
the receiver lowers ``ack``. ``req`` (at a receiver) and ``ack`` (at a sender) come from
another clock domain or none, so each passes a two-flip-flop synchronizer before use; ``data``
is not synchronized: by the protocol it is stable from before ``req`` rises until ``ack`` rises.

Both adapters are lossless: the receiver raises ``ack`` only once the stream has taken the
event, so a stalled stream stalls the external sender.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

from ..routing import EventFormat
from .event import event_layout

__all__ = ["AERReceiver", "AERTransmitter", "AERPinsSignature"]


class AERPinsSignature(wiring.Signature):
    """AER pins seen from the sender: ``req`` and ``data`` out, ``ack`` in."""

    def __init__(self, width: int):
        super().__init__({"req": Out(1), "data": Out(width), "ack": In(1)})


def _check_format(fmt):
    if not isinstance(fmt, EventFormat):
        raise TypeError(f"event format must be an EventFormat, not {fmt!r}")


def _check_stages(stages):
    if not isinstance(stages, int) or isinstance(stages, bool) or stages < 2:
        raise ValueError(f"synchronizer stages must be an integer of at least 2, not {stages!r}")


class AERReceiver(wiring.Component):
    """AER pins in, event stream out.

    Members: ``pins`` (``In(AERPinsSignature(fmt.width))``: ``req`` and ``data`` in, ``ack``
    out), ``o`` (``Out(stream.Signature(event_layout(fmt)))``).

    Per event: ``req`` is seen high after the synchronizer; ``data`` is captured and offered on
    ``o``; after the transfer ``ack`` rises; once ``req`` is seen low, ``ack`` falls.
    """

    def __init__(self, fmt: EventFormat = EventFormat(), *, stages: int = 2):
        _check_format(fmt)
        _check_stages(stages)
        self.fmt = fmt
        self.stages = stages
        super().__init__(
            {
                "pins": In(AERPinsSignature(fmt.width)),
                "o": Out(stream.Signature(event_layout(fmt))),
            }
        )

    def elaborate(self, platform):
        m = Module()
        req = Signal()
        m.submodules.req_sync = FFSynchronizer(self.pins.req, req, stages=self.stages)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(req):
                    m.d.sync += [self.o.payload.eq(self.pins.data), self.o.valid.eq(1)]
                    m.next = "OFFER"
            with m.State("OFFER"):
                with m.If(self.o.ready):
                    m.d.sync += [self.o.valid.eq(0), self.pins.ack.eq(1)]
                    m.next = "ACK"
            with m.State("ACK"):
                with m.If(~req):
                    m.d.sync += self.pins.ack.eq(0)
                    m.next = "IDLE"
        return m


class AERTransmitter(wiring.Component):
    """Event stream in, AER pins out.

    Members: ``i`` (``In(stream.Signature(event_layout(fmt)))``), ``pins``
    (``Out(AERPinsSignature(fmt.width))``: ``req`` and ``data`` out, ``ack`` in).

    Per event: take it from ``i`` and drive ``data``; one cycle later (setup time) raise
    ``req``; when ``ack`` is seen high, lower ``req``; when ``ack`` is seen low, take the next.
    ``data`` holds from before ``req`` rises until the next event.
    """

    def __init__(self, fmt: EventFormat = EventFormat(), *, stages: int = 2):
        _check_format(fmt)
        _check_stages(stages)
        self.fmt = fmt
        self.stages = stages
        super().__init__(
            {
                "i": In(stream.Signature(event_layout(fmt))),
                "pins": Out(AERPinsSignature(fmt.width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        ack = Signal()
        m.submodules.ack_sync = FFSynchronizer(self.pins.ack, ack, stages=self.stages)
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(self.i.valid):
                    m.d.sync += self.pins.data.eq(self.i.payload)
                    m.next = "SETUP"
            with m.State("SETUP"):
                m.d.sync += self.pins.req.eq(1)
                m.next = "REQ"
            with m.State("REQ"):
                with m.If(ack):
                    m.d.sync += self.pins.req.eq(0)
                    m.next = "RELEASE"
            with m.State("RELEASE"):
                with m.If(~ack):
                    m.next = "IDLE"
        # Outside the FSM, so that the Verilog is a continuous assignment: an `always @*` that
        # depends only on a register that never changes after time 0 is never evaluated by
        # Icarus, leaving `ready` undefined until the first state change.
        m.d.comb += self.i.ready.eq(fsm.ongoing("IDLE"))
        return m
