"""cocotb bench for the AER pin adapters (:mod:`neurohw.hw.aer`), on a wrapper with an
:class:`~neurohw.hw.aer.AERReceiver` (pins ``rx__req``/``rx__data`` in, ``rx__ack`` out, stream
``o``) and an :class:`~neurohw.hw.aer.AERTransmitter` (stream ``i``, pins ``tx__req``/
``tx__data`` out, ``tx__ack`` in).

The bench plays the external asynchronous devices: a sender and a receiver whose edges fall at
random times, not aligned to the clock, with random delays in every phase. Monitors check the
4-phase rules on both pin sets; scoreboards require every word to cross each way once, in order.

Test data: ``width``, ``seed``, ``count`` (words each way).
"""

from __future__ import annotations

import random

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge, Timer, ValueChange, with_timeout

from neurohw.sim.lib.streams import StreamProtocolChecker, StreamSink, StreamSource
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import load_test_data


class AERTB(TB):
    def __init__(self, dut, data, *, salt, max_delay_ns=40, idle=0.0, backpressure=0.0):
        super().__init__(dut)
        self.width = data["width"]
        self.random = random.Random(data["seed"] * 100 + salt)
        self.max_delay_ns = max_delay_ns
        self.violations: list[str] = []
        dut.rx__req.value = 0
        dut.rx__data.value = 0
        dut.tx__ack.value = 0
        self.source = StreamSource(
            dut, "i", self.clk, reset=self.rst, idle_probability=idle, seed=data["seed"] + salt
        )
        self.sink = StreamSink(
            dut,
            "o",
            self.clk,
            reset=self.rst,
            backpressure_probability=backpressure,
            seed=data["seed"] + salt + 1,
        )
        self.checkers = [
            StreamProtocolChecker(dut, name, self.clk, reset=self.rst) for name in ("i", "o")
        ]
        self.pin_received: list[int] = []
        self.pin_sent = 0
        cocotb.start_soon(self._tx_device())
        cocotb.start_soon(self._tx_monitor())

    async def delay(self):
        # Odd picosecond counts: the edges land anywhere relative to the 10 ns clock.
        await Timer(self.random.randrange(1, self.max_delay_ns * 1000, 7), unit="ps")

    def words(self, count):
        return [self.random.randrange(1 << self.width) for _ in range(count)]

    async def send_pins(self, words):
        """The external AER sender on the rx pins."""
        dut = self.dut
        for word in words:
            await self.delay()
            dut.rx__data.value = word
            await self.delay()  # bundled data: set up before req
            if dut.rx__ack.value != 0:
                self.violations.append("rx: ack still high when a new req begins")
            dut.rx__req.value = 1
            await RisingEdge(dut.rx__ack)
            await self.delay()
            dut.rx__req.value = 0
            await FallingEdge(dut.rx__ack)
            self.pin_sent += 1

    async def _tx_device(self):
        """The external AER receiver on the tx pins."""
        dut = self.dut
        while True:
            await RisingEdge(dut.tx__req)
            await self.delay()
            self.pin_received.append(int(dut.tx__data.value))
            dut.tx__ack.value = 1
            await FallingEdge(dut.tx__req)
            await self.delay()
            dut.tx__ack.value = 0

    async def _tx_monitor(self):
        """req must not rise while ack is high; tx__data must hold while tx__req is high."""
        cocotb.start_soon(self._tx_data_monitor())
        dut = self.dut
        while True:
            await RisingEdge(dut.tx__req)
            if dut.tx__ack.value != 0:
                self.violations.append("tx: req rose while ack was still high")

    async def _tx_data_monitor(self):
        dut = self.dut
        while True:
            await ValueChange(dut.tx__data)
            if dut.tx__req.value == 1:
                self.violations.append("tx: data changed while req was high")

    async def check_rx_ack(self):
        """rx__ack must rise only while rx__req is high and fall only once it is low."""
        dut = self.dut
        while True:
            await RisingEdge(dut.rx__ack)
            if dut.rx__req.value != 1:
                self.violations.append("rx: ack rose without req")
            await FallingEdge(dut.rx__ack)
            if dut.rx__req.value != 0:
                self.violations.append("rx: ack fell while req was high")


async def run_both_ways(dut, *, salt, stall_ns=0, **options):
    data = load_test_data()
    tb = AERTB(dut, data, salt=salt, **options)
    cocotb.start_soon(tb.check_rx_ack())
    await tb.reset()
    to_pins, from_pins = tb.words(data["count"]), tb.words(data["count"])
    if stall_ns:
        tb.sink.backpressure_probability = 1.0
    tb.source.send(to_pins)
    sender = cocotb.start_soon(tb.send_pins(from_pins))
    if stall_ns:
        await Timer(stall_ns, unit="ns")
        assert len(tb.sink.received) == 0 and tb.pin_sent == 0, (
            "a stalled stream must hold the AER sender"
        )
        assert int(dut.rx__ack.value) == 0 and int(dut.rx__req.value) == 1
        tb.sink.backpressure_probability = 0.0
    await with_timeout(sender, 20, "ms")
    await with_timeout(tb.sink.receive(len(from_pins)), 1, "ms")
    await tb.source.wait_idle()
    for _ in range(200):
        if len(tb.pin_received) >= len(to_pins):
            break
        await Timer(100, unit="ns")
    await Timer(500, unit="ns")
    assert tb.sink.received == from_pins, "AER in: words lost, duplicated or reordered"
    assert tb.pin_received == to_pins, "AER out: words lost, duplicated or reordered"
    assert not tb.violations, tb.violations[:5]
    for checker in tb.checkers:
        assert not checker.violations


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def random_handshake_delays(dut):
    """Both directions at once, every handshake phase delayed at random (up to 40 ns)."""
    await run_both_ways(dut, salt=1, idle=0.3, backpressure=0.3)


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def fast_devices(dut):
    """External devices faster than the clock (delays under 3 ns): the synchronizers pace them."""
    await run_both_ways(dut, salt=2, max_delay_ns=3)


@cocotb.test(timeout_time=50, timeout_unit="ms")
async def stalled_stream_holds_sender(dut):
    """With `o` refusing for 2 us, the receiver must not acknowledge: the sender waits, no loss."""
    await run_both_ways(dut, salt=3, stall_ns=2000)
