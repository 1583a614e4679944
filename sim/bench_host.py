"""cocotb bench: the host library (:class:`neurohw.host.Link`) against the RTL of
:class:`neurohw.hw.host_bridge.UartHost` (core + byte bridge + UART), through a UART model.

The testbench holds a UART model on the DUT's ``uart_rx``/``uart_tx`` pins (exact bit timing,
``divisor`` clocks per bit; every received frame's stop bit is checked). The host library runs
unchanged in a cocotb bridge thread; its transport (:class:`SimTransport`) hands bytes to the
model and waits in simulated time for bytes from it. The host session loads the weights (and
per-neuron parameters) over the link, runs every step, reads every neuron's state after every
step, and compares spikes and states with the reference model's trace.

Test data (``tests/test_host.py``): ``layout`` (``neurohw.templates.core_description``),
``rx_fifo_depth``, ``divisor``, ``weights``, ``params`` (per-neuron values to write, or none),
``events`` per step, ``expected`` (the reference trace, as in ``sim/core_case.py``).

Framed link (protocol version 2, ``framing``): the host library runs over
:class:`neurohw.host.framing.FramedTransport`; ``corrupt`` lists indexes of bytes to the device
whose bit 0 the UART model flips (each must be caught by a CRC and the frame sent again: the
device's ``rejected`` counter must count them and the trace must still match). ``throughput``:
a second session that runs ``throughput["steps"]`` steps of ``throughput["events"]`` events
each, timed in clock cycles, written to ``throughput.json`` beside the test data.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

import cocotb
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, ReadOnly, RisingEdge

from neurohw.host import Link, LinkError
from neurohw.host.framing import FramedTransport
from neurohw.sim.lib.tb import TB
from neurohw.sim.lib.testdata import TEST_DATA_ENV_VAR, load_test_data


class UartModel:
    """The host end of the serial line: sends queued bytes on ``uart_rx``, receives
    ``uart_tx``."""

    def __init__(self, dut, clk, divisor: int, corrupt=()):
        self.dut, self.clk, self.divisor = dut, clk, divisor
        self.corrupt = set(corrupt)  # indexes of bytes sent with bit 0 flipped
        self.sent = 0
        self.to_device: deque[int] = deque()
        self.from_device = bytearray()
        self._have_data = Event()
        self._received = Event()
        self.errors: list[str] = []
        dut.uart_rx.value = 1
        cocotb.start_soon(self._drive())
        cocotb.start_soon(self._sample())

    async def send(self, data: bytes) -> None:
        self.to_device.extend(data)
        self._have_data.set()

    async def receive(self, n: int, timeout_cycles: int) -> bytes:
        if not self.from_device:
            self._received.clear()
            await First(self._received.wait(), ClockCycles(self.clk, timeout_cycles))
        data = bytes(self.from_device[:n])
        del self.from_device[:n]
        return data

    async def _drive(self):
        while True:
            if not self.to_device:
                self._have_data.clear()
                await self._have_data.wait()
                await RisingEdge(self.clk)
                continue
            byte = self.to_device.popleft()
            if self.sent in self.corrupt:
                byte ^= 0x01
            self.sent += 1
            for bit in [0] + [(byte >> i) & 1 for i in range(8)] + [1]:
                self.dut.uart_rx.value = bit
                await ClockCycles(self.clk, self.divisor)

    async def _sample(self):
        tx = self.dut.uart_tx
        while True:
            await FallingEdge(tx)
            await ClockCycles(self.clk, self.divisor // 2)
            await ReadOnly()
            if int(tx.value) != 0:
                continue  # not a start bit
            byte = 0
            for i in range(8):
                await ClockCycles(self.clk, self.divisor)
                await ReadOnly()
                byte |= int(tx.value) << i
            await ClockCycles(self.clk, self.divisor)
            await ReadOnly()
            if int(tx.value) != 1:
                self.errors.append(f"byte {byte:#04x} from the device has no stop bit")
            self.from_device.append(byte)
            self._received.set()


class SimTransport:
    """The host library's transport in a bridge thread: blocking ``write``/``read`` that run the
    UART model in simulated time."""

    def __init__(self, model: UartModel, timeout_cycles: int):
        self._send = resume(model.send)
        self._receive = resume(model.receive)
        self.timeout_cycles = timeout_cycles

    def write(self, data: bytes) -> None:
        self._send(bytes(data))

    def read(self, n: int) -> bytes:
        return self._receive(n, self.timeout_cycles)


def host_session(transport, data, log):
    """What a user's script does, checked against the reference model."""
    link = Link(transport, data["layout"], rx_fifo_depth=data["rx_fifo_depth"])
    info = link.info()
    log.info("device: %s", info)
    commands = link.load_weights(data["weights"])
    if data.get("params"):
        link.load_params(**data["params"])
    expected = data["expected"]
    n_neurons = data["layout"]["n_neurons"]
    states = ["v"] + [f"i{c}" for c in range(data["layout"]["n_currents"])]
    if "REFRACTORY" in data["layout"]["ports"]["targets"]:
        states.append("refractory")
    for t, events in enumerate(data["events"]):
        spikes = link.step(events)
        for neuron in range(n_neurons):
            want, got = expected["spikes"][t][neuron], spikes.get(neuron, 0)
            assert got == want, f"step {t}, neuron {neuron}, spikes: expected {want}, actual {got}"
        for name in states:
            values = link.read_state(name)
            for neuron in range(n_neurons):
                if name == "v":
                    want = expected["v"][t][neuron]
                elif name == "refractory":
                    want = expected["refractory"][t][neuron]
                else:
                    want = expected["i"][t][int(name[1:])][neuron]
                assert values[neuron] == want, (
                    f"step {t}, neuron {neuron}, {name}: expected {want}, actual {values[neuron]}"
                )
    if data.get("framing"):
        transport.flush()
    counters = link.counters()
    steps = len(data["events"])
    assert counters["STEP"] == steps % (1 << 16), counters
    assert counters["OVERFLOW_EVENTS"] == 0 and counters["INVALID_AXON_EVENTS"] == 0, counters
    assert link.sync() == 0, f"device flags {link.flags}"
    log.info(
        "%d steps, %d weight commands, %d bytes sent, %d received",
        steps,
        commands,
        counters["bytes_sent"],
        counters["bytes_received"],
    )
    # A malformed byte is reported by the device, and the library raises.
    transport.write(bytes([0x7F]))
    try:
        link.sync()
    except LinkError as error:
        assert "BAD_OPCODE" in str(error), error
    else:
        raise AssertionError("an unknown opcode was not reported")
    return counters


def throughput_session(transport, data, tb):
    """Steps of ``throughput["events"]`` events each, back to back, timed: cycles per step and
    per event, and the bytes on the wire each way."""
    spec = data["throughput"]
    link = Link(transport, data["layout"], rx_fifo_depth=data["rx_fifo_depth"])
    link.info()
    n_axons = data["layout"]["n_axons"]
    events = [[(t + k) % n_axons for k in range(spec["events"])] for t in range(spec["steps"])]
    framed = isinstance(transport, FramedTransport)
    sent0 = transport.wire_sent if framed else link.bytes_sent
    start = tb.elapsed_cycles
    for step_events in events:
        link.step(step_events)
    cycles = tb.elapsed_cycles - start
    sent = (transport.wire_sent if framed else link.bytes_sent) - sent0
    return {
        "cycles": cycles,
        "wire_bytes_to_device": sent,
        "steps": len(events),
        "events": sum(map(len, events)),
    }


@cocotb.test()
async def host_link(dut):
    """The host library runs a trace over the UART and matches the reference model."""
    data = load_test_data()
    tb = TB(dut)
    divisor = int(data["divisor"])
    model = UartModel(dut, tb.clk, divisor, corrupt=data.get("corrupt", ()))
    await tb.reset()
    transport = SimTransport(model, timeout_cycles=200 * 10 * divisor + 20000)
    if data.get("framing"):
        transport = FramedTransport(transport)
    if data["events"]:
        await bridge(host_session)(transport, data, tb.log)
    assert not model.errors, model.errors
    if data.get("framing") and data["events"]:
        await ClockCycles(tb.clk, 2)
        rejected = int(dut.rejected.value)
        tb.log.info(
            "framed link: %d frames sent, %d sent again, %d rejected (device counter %d)",
            transport.frames_sent,
            transport.retransmitted,
            transport.rejected,
            rejected,
        )
        # Every rejection the device counted reached the host, and a corrupted byte caused
        # at least one (the trace above matched: each rejected frame was sent again).
        assert rejected == transport.rejected, (rejected, transport.rejected)
        assert (rejected >= 1) == bool(data.get("corrupt")), rejected
    if data.get("throughput"):
        result = await bridge(throughput_session)(transport, data, tb)
        assert not model.errors, model.errors
        result.update(divisor=divisor, framing=bool(data.get("framing")))
        path = Path(os.environ[TEST_DATA_ENV_VAR]).parent / "throughput.json"
        path.write_text(json.dumps(result) + "\n")
        tb.log.info("throughput: %s", result)
