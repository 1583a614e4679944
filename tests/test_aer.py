"""AER 4-phase pin adapters: construction and simulation with random handshake delays."""

import pytest
from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from neurohw.hw.aer import AERPinsSignature, AERReceiver, AERTransmitter
from neurohw.hw.event import event_layout
from neurohw.routing import EventFormat
from neurohw.sim.runner import run_cocotb

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

FMT = EventFormat(key_width=8, step_width=4, payload_width=4)


class AERPair(wiring.Component):
    """Receiver (pins ``rx`` to stream ``o``) and transmitter (stream ``i`` to pins ``tx``)."""

    def __init__(self, fmt):
        self._receiver = AERReceiver(fmt)
        self._transmitter = AERTransmitter(fmt)
        layout = event_layout(fmt)
        super().__init__(
            {
                "rx": In(AERPinsSignature(fmt.width)),
                "o": Out(stream.Signature(layout)),
                "i": In(stream.Signature(layout)),
                "tx": Out(AERPinsSignature(fmt.width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = receiver = self._receiver
        m.submodules.transmitter = transmitter = self._transmitter
        wiring.connect(m, wiring.flipped(self.rx), receiver.pins)
        wiring.connect(m, receiver.o, wiring.flipped(self.o))
        wiring.connect(m, wiring.flipped(self.i), transmitter.i)
        wiring.connect(m, transmitter.pins, wiring.flipped(self.tx))
        return m


def test_init():
    receiver = AERReceiver(FMT, stages=3)
    assert receiver.stages == 3
    pins = receiver.signature.members["pins"]
    # In(...) presents the sender's signature flipped: req and data in, ack out.
    assert pins.flow is In and dict(pins.signature.members) == {
        "req": In(1),
        "data": In(FMT.width),
        "ack": Out(1),
    }
    assert receiver.signature.members["o"] == Out(stream.Signature(event_layout(FMT)))
    transmitter = AERTransmitter(FMT)
    pins = transmitter.signature.members["pins"]
    assert pins.flow is Out and dict(pins.signature.members)["req"] == Out(1)


def test_init_wrong_stages():
    with pytest.raises(
        ValueError,
        match=r"^synchronizer stages must be an integer of at least "
        r"2, not 1$",
    ):
        AERReceiver(FMT, stages=1)
    with pytest.raises(
        ValueError,
        match=r"^synchronizer stages must be an integer of at least "
        r"2, not 0$",
    ):
        AERTransmitter(FMT, stages=0)


def test_init_wrong_format():
    with pytest.raises(TypeError, match=r"^event format must be an EventFormat, not 16$"):
        AERReceiver(16)


def test_receiver_uses_two_flop_synchronizer():
    from amaranth.back import rtlil

    text = rtlil.convert(AERReceiver(FMT), name="rx", emit_src=False)
    assert "req_sync" in text and text.count("$dff") + text.count("$sdff") >= 2


@pytest.mark.sim
def test_sim_aer(simulator, sim_build_dir):
    run_cocotb(
        AERPair(FMT),
        toplevel="aer_pair",
        test_module="bench_aer",
        simulator=simulator,
        build_dir=sim_build_dir,
        test_data={"width": FMT.width, "seed": 3, "count": 60},
        build_args=("--output-split", "0", "-CFLAGS", "-O0") if simulator == "verilator" else (),
    )
