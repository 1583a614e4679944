# amaranth: UnusedElaboratable=no
"""UART receiver and transmitter (``neurohw.hw.uart``): parameter checks and amaranth.sim tests
(exact frame timing, loopback with random bytes and divisors, rate mismatch, framing errors,
glitches and overrun)."""

from __future__ import annotations

import random
import re

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


def _receive_with_rate_error(divisor, error, data, phase):
    """Bytes ``UARTRx(divisor)`` receives from a sender whose bit lasts ``divisor * (1 + error)``
    clock periods (a host clock ``error`` off), back to back, starting ``phase`` of a period
    after a clock edge."""
    dut = UARTRx(divisor)
    sim = Simulator(dut)
    period = 1e-6
    sim.add_clock(period)
    bit_time = divisor * (1 + error) * period
    received, errors = [], []

    async def sender(ctx):
        ctx.set(dut.rx, 1)
        await ctx.delay((5 + phase) * period)
        for byte in data:
            for bit in _line_bits(byte):
                ctx.set(dut.rx, bit)
                await ctx.delay(bit_time)
        await ctx.delay(4 * divisor * period)

    async def monitor(ctx):
        ctx.set(dut.data.ready, 1)
        async for _clk_edge, _rst, valid, payload, ferr, ovr in ctx.tick().sample(
            dut.data.valid, dut.data.payload, dut.frame_error, dut.overrun
        ):
            if valid:
                received.append(payload)
            if ferr or ovr:
                errors.append(len(received))

    sim.add_testbench(sender)
    sim.add_testbench(monitor, background=True)
    sim.run()
    return received, errors


# 3 Mbaud on the boards' clocks: iCEBreaker 12 MHz (4), Tang Nano 9K / Primer 20K 27 MHz (9),
# and 8 (a 24 MHz clock); a host clock 2 % off either way (the tolerance of baud_divisor),
# back-to-back bytes, several phases of the start edge against the clock.
@pytest.mark.parametrize("divisor", [4, 8, 9])
@pytest.mark.parametrize("error", [-0.02, 0.0, 0.02])
def test_rx_fast_rate_with_host_clock_error(divisor, error):
    rng = random.Random(divisor)
    data = [rng.randrange(256) for _ in range(12)] + [0x00, 0xFF, 0x55, 0xAA]
    for phase in (0.1, 0.5, 0.9):
        received, errors = _receive_with_rate_error(divisor, error, data, phase)
        assert received == data, (phase, received)
        assert not errors


def test_rx_divisor_4_limit():
    # The check above is not vacuous: a host 5 % fast at divisor 4 puts the stop-bit sample
    # past the end of the stop bit (samples land 2..3 cycles into each 4-cycle bit).
    received, errors = _receive_with_rate_error(4, -0.05, [0x00] * 8, 0.5)
    assert received != [0x00] * 8 or errors


@pytest.mark.parametrize(
    "board, divisor",
    [("icebreaker", 4), ("ulx3s", 25), ("tang_nano_9k", 9), ("tang_primer_20k", 9)],
)
def test_board_max_baud(board, divisor):
    from neurohw.boards.specs import BOARDS, board_pins

    clock_hz = {pin["port"]: pin for pin in board_pins(board)}["clk"]["clock_hz"]
    assert baud_divisor(clock_hz, BOARDS[board].max_baud) == divisor


def test_ulx3s_3_mbaud_refused():
    with pytest.raises(
        ValueError, match=re.escape("the nearest divisor 8 gives 3125000 baud, 4.2 % off")
    ):
        baud_divisor(25e6, 3e6)


def test_baud_argument():
    import argparse

    from neurohw.boards.bitstream import baud_argument

    assert baud_argument("max") == "max" and baud_argument("3000000") == 3_000_000
    for text in ("0", "fast", "-5"):
        with pytest.raises(
            argparse.ArgumentTypeError,
            match=re.escape(f"--baud must be a positive integer or 'max', not {text!r}"),
        ):
            baud_argument(text)
