# amaranth: UnusedElaboratable=no
"""UART receiver and transmitter (``neurohw.hw.uart``): parameter checks and amaranth.sim tests
(exact frame timing, loopback with random bytes and divisors, rate mismatch, framing errors,
glitches and overrun)."""

from __future__ import annotations

import random

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from neurohw.hw.uart import MAX_DIVISOR, UARTRx, UARTTx, baud_divisor


@pytest.mark.parametrize("cls", [UARTTx, UARTRx])
@pytest.mark.parametrize(
    "divisor, error",
    [
        (3, ValueError),
        (MAX_DIVISOR + 1, ValueError),
        (0, ValueError),
        (4.0, TypeError),
        (True, TypeError),
        ("8", TypeError),
    ],
)
def test_divisor_refused(cls, divisor, error):
    with pytest.raises(error, match="divisor must be an integer between 4 and"):
        cls(divisor)


def test_baud_divisor():
    assert baud_divisor(12e6, 115200) == 104
    assert baud_divisor(25e6, 115200) == 217
    assert baud_divisor(48e6, 3e6) == 16
    with pytest.raises(ValueError, match="% off"):
        baud_divisor(12e6, 900e3)  # 13 cycles per bit: 923 kbaud
    with pytest.raises(ValueError, match="outside"):
        baud_divisor(1e6, 500e3)
    with pytest.raises(ValueError, match="positive"):
        baud_divisor(0, 9600)


def _line_bits(byte):
    return [0] + [(byte >> i) & 1 for i in range(8)] + [1]


def test_tx_frame_timing():
    divisor = 7
    dut = UARTTx(divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        assert ctx.get(dut.tx) == 1
        for byte in (0xA5, 0x00, 0xFF, 0x3C):
            ctx.set(dut.data.payload, byte)
            ctx.set(dut.data.valid, 1)
            await ctx.tick().until(dut.data.ready)
            ctx.set(dut.data.valid, 0)
            # Sample the line once per cycle over the whole frame.
            line = []
            for _ in range(10 * divisor):
                line.append(ctx.get(dut.tx))
                await ctx.tick()
            seen.append(line)

    sim.add_testbench(bench)
    sim.run()
    for byte, line in zip((0xA5, 0x00, 0xFF, 0x3C), seen):
        # The transfer cycle itself is sampled before the register update: skip it.
        bits = [line[1 + k * divisor : 1 + (k + 1) * divisor] for k in range(10)]
        for k, expected in enumerate(_line_bits(byte)):
            assert all(b == expected for b in bits[k][: divisor - 1]), (hex(byte), k, bits[k])


class _Loopback:
    def __init__(self, tx_divisor, rx_divisor):
        self.m = Module()
        self.m.submodules.tx = self.tx = UARTTx(tx_divisor)
        self.m.submodules.rx = self.rx = UARTRx(rx_divisor)
        self.m.d.comb += self.rx.rx.eq(self.tx.tx)


@pytest.mark.parametrize(
    "tx_divisor, rx_divisor",
    [(4, 4), (5, 5), (13, 13), (104, 104), (100, 103), (103, 100), (32, 33)],
)
def test_loopback(tx_divisor, rx_divisor):
    rng = random.Random(tx_divisor * 1000 + rx_divisor)
    data = [rng.randrange(256) for _ in range(24)] + [0, 255, 0x55, 0xAA]
    top = _Loopback(tx_divisor, rx_divisor)
    sim = Simulator(top.m)
    sim.add_clock(1e-6)
    received, errors = [], []

    async def sender(ctx):
        for byte in data:
            ctx.set(top.tx.data.payload, byte)
            ctx.set(top.tx.data.valid, 1)
            await ctx.tick().until(top.tx.data.ready)
            ctx.set(top.tx.data.valid, 0)
            for _ in range(rng.choice([0, 0, 1, 30])):
                await ctx.tick()

    async def receiver(ctx):
        ctx.set(top.rx.data.ready, 1)
        while len(received) < len(data):
            await ctx.tick()
            if ctx.get(top.rx.data.valid):
                received.append(ctx.get(top.rx.data.payload))
            if ctx.get(top.rx.frame_error) or ctx.get(top.rx.overrun):
                errors.append(len(received))

    sim.add_testbench(sender, background=True)
    sim.add_testbench(receiver)
    sim.run_until(1e-6 * (len(data) + 2) * 12 * max(tx_divisor, rx_divisor) * 1.5)
    assert received == data
    assert not errors


def _drive_frames(dut, divisor, frames, results):
    """Testbench: drive ``frames`` (lists of line bits) on ``dut.rx``, each bit ``divisor``
    cycles, with ``data.ready`` held high; collect bytes and error pulses in ``results``."""

    async def driver(ctx):
        ctx.set(dut.rx, 1)
        await ctx.tick().repeat(5)
        for frame in frames:
            if isinstance(frame, tuple):  # ("glitch", cycles): a short low pulse
                ctx.set(dut.rx, 0)
                await ctx.tick().repeat(frame[1])
                ctx.set(dut.rx, 1)
                await ctx.tick().repeat(2 * divisor)
                continue
            for bit in frame:
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(divisor)
            ctx.set(dut.rx, 1)
            await ctx.tick().repeat(2 * divisor)

    async def monitor(ctx):
        ctx.set(dut.data.ready, results.get("ready", 1))
        async for _clk_edge, _rst, valid, payload, ferr, ovr in ctx.tick().sample(
            dut.data.valid, dut.data.payload, dut.frame_error, dut.overrun
        ):
            if valid and results.get("ready", 1):
                results["bytes"].append(payload)
            if ferr:
                results["frame_errors"] += 1
            if ovr:
                results["overruns"] += 1

    return driver, monitor


def _run_frames(frames, divisor=8, ready=1):
    dut = UARTRx(divisor)
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    results = {"bytes": [], "frame_errors": 0, "overruns": 0, "ready": ready}
    driver, monitor = _drive_frames(dut, divisor, frames, results)
    sim.add_testbench(driver)
    sim.add_testbench(monitor, background=True)
    sim.run()
    return results


def test_rx_framing_error_then_recovers():
    bad = [0] + [1, 0, 1, 0, 1, 0, 1, 0] + [0] + [0] * 3  # stop bit 0, line held low (break)
    results = _run_frames([_line_bits(0x12), bad, _line_bits(0x34)])
    assert results["bytes"] == [0x12, 0x34]
    assert results["frame_errors"] == 1 and results["overruns"] == 0


def test_rx_ignores_glitch():
    # A low pulse shorter than half a bit is not a start bit.
    results = _run_frames([("glitch", 4), _line_bits(0x5A), ("glitch", 5)], divisor=12)
    assert results["bytes"] == [0x5A]
    assert results["frame_errors"] == 0


def test_rx_overrun():
    results = _run_frames([_line_bits(1), _line_bits(2), _line_bits(3)], ready=0)
    assert results["bytes"] == []
    assert results["overruns"] == 2
