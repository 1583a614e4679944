# amaranth: UnusedElaboratable=no
"""The framed host link (protocol version 2): the pure-Python frames and CRC, the gateware
:class:`~neurohw.hw.framing.FramedLink` in amaranth.sim against the Python definitions (good,
corrupt, lost and repeated frames), and :class:`~neurohw.host.framing.FramedTransport` against a
Python model of the device."""

from __future__ import annotations

import binascii
import random
import re

import pytest
from amaranth.hdl import Const, Module, Signal
from amaranth.sim import Simulator

from neurohw.host.framing import (
    MAX_PAYLOAD,
    SOF,
    DeviceFrameReader,
    FramedTransport,
    FramingError,
    crc16,
    device_frame,
    host_frame,
)
from neurohw.hw.framing import FramedLink, crc16_update


def test_crc16_is_ccitt_false():
    # The check value of CRC-16/CCITT-FALSE (CRC-16/IBM-3740) in the CRC catalogue.
    assert crc16(b"123456789") == 0x29B1
    assert crc16(b"") == 0xFFFF
    frame = host_frame(7, b"\x01\x02")
    assert frame[:4] == bytes([SOF, 2, 7, 1]) and len(frame) == 2 + 5
    # Appending the CRC (MSB first) leaves a zero remainder: what the gateware checks.
    assert binascii.crc_hqx(frame[1:], 0xFFFF) == 0


def test_crc16_gateware_matches_binascii():
    rng = random.Random(3)
    data = bytes(rng.randrange(256) for _ in range(40)) + b"123456789"
    m = Module()
    crc = Signal(16, init=0xFFFF)
    byte = Signal(8)
    m.d.sync += crc.eq(crc16_update(crc, byte))
    sim = Simulator(m)
    sim.add_clock(1e-6)
    seen = []

    async def bench(ctx):
        for value in data:
            ctx.set(byte, value)
            await ctx.tick()
            seen.append(ctx.get(crc))

    sim.add_testbench(bench)
    sim.run()
    assert seen == [binascii.crc_hqx(data[: i + 1], 0xFFFF) for i in range(len(data))]
    assert crc16_update(Const(0xFFFF, 16), Const(0x31, 8)).shape().width == 16


def test_frame_errors():
    with pytest.raises(
        ValueError,
        match=re.escape(f"a frame's payload must be at most {MAX_PAYLOAD} bytes, not 65"),
    ):
        host_frame(0, bytes(65))
    with pytest.raises(
        ValueError, match=re.escape("window must be between 1 and 127 frames, not 0")
    ):
        FramedTransport(None, window=0)


def test_device_frame_reader_resynchronizes():
    reader = DeviceFrameReader()
    good = device_frame(3, 0, b"abc")
    bad = bytearray(device_frame(4, 0, b"xyz"))
    bad[5] ^= 0x10
    frames = reader.feed(b"\x00" + good[:4]) + reader.feed(good[4:] + bytes(bad) + good)
    assert frames == [(3, 0, b"abc"), (3, 0, b"abc")]
    assert reader.crc_errors == 1


# -- the gateware against the Python definitions ---------------------------------------------


def run_link(wire, *, app_bytes=b"", byte_cycles=12, tx_byte_cycles=12, cycles=None):
    """Drive ``wire`` (host bytes) into a FramedLink, one byte every ``byte_cycles``, with
    ``app_bytes`` offered on ``app_tx``; returns (app_rx bytes, device bytes, rejected,
    accepted)."""
    dut = FramedLink()
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    app, line = bytearray(), bytearray()
    cycles = cycles or (len(wire) + 4) * byte_cycles + (len(app_bytes) + 40) * tx_byte_cycles * 2

    async def host(ctx):
        for value in wire:
            ctx.set(dut.line_in.payload, value)
            ctx.set(dut.line_in.valid, 1)
            await ctx.tick()
            ctx.set(dut.line_in.valid, 0)
            await ctx.tick().repeat(byte_cycles - 1)

    async def bridge_out(ctx):
        for value in app_bytes:
            ctx.set(dut.app_tx.payload, value)
            ctx.set(dut.app_tx.valid, 1)
            await ctx.tick().until(dut.app_tx.ready)
        ctx.set(dut.app_tx.valid, 0)

    async def uart_tx(ctx):
        # A transmitter: takes a byte, then is busy for tx_byte_cycles.
        while True:
            ctx.set(dut.line_out.ready, 1)
            _, _, valid, payload = await ctx.tick().sample(dut.line_out.valid, dut.line_out.payload)
            if valid:
                line.append(payload)
                ctx.set(dut.line_out.ready, 0)
                await ctx.tick().repeat(tx_byte_cycles - 1)

    async def bridge_in(ctx):
        ctx.set(dut.app_rx.ready, 1)
        async for _, _, valid, payload in ctx.tick().sample(dut.app_rx.valid, dut.app_rx.payload):
            if valid:
                app.append(payload)

    sim.add_testbench(host, background=True)
    sim.add_testbench(bridge_out, background=True)
    sim.add_testbench(uart_tx, background=True)
    sim.add_testbench(bridge_in, background=True)
    result = {}

    async def end(ctx):
        await ctx.tick().repeat(cycles)
        result["rejected"] = ctx.get(dut.rejected)
        result["accepted"] = ctx.get(dut.accepted)

    sim.add_testbench(end)
    sim.run()
    return bytes(app), bytes(line), result["rejected"], result["accepted"]


def _payloads(rng, n):
    return [
        bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 5, MAX_PAYLOAD])))
        for _ in range(n)
    ]


def test_link_accepts_good_frames_in_order():
    rng = random.Random(1)
    payloads = _payloads(rng, 6)
    wire = b"".join(host_frame(seq, p) for seq, p in enumerate(payloads))
    reply = bytes(rng.randrange(256) for _ in range(100))
    app, line, rejected, accepted = run_link(wire, app_bytes=reply)
    assert app == b"".join(payloads)
    assert (rejected, accepted) == (0, 6)
    reader = DeviceFrameReader()
    frames = reader.feed(line)
    assert reader.crc_errors == 0 and reader.skipped_bytes == 0
    assert b"".join(p for _, _, p in frames) == reply
    assert frames[-1][:2] == (6, 0)  # every frame acknowledged, none rejected
    assert all(len(p) <= MAX_PAYLOAD for _, _, p in frames)


def test_link_rejects_corrupt_lost_and_repeated_frames():
    p = [bytes([i]) * (i + 3) for i in range(5)]
    frames = [host_frame(seq, payload) for seq, payload in enumerate(p)]
    corrupt = bytearray(frames[1])
    corrupt[4] ^= 0x04  # one payload bit
    too_long = bytes([SOF, MAX_PAYLOAD + 1])
    wire = (
        frames[0]
        + bytes(corrupt)  # rejected
        + frames[2]  # follows the lost frame 1: rejected
        + too_long  # a length over MAX_PAYLOAD: rejected
        + frames[1]
        + frames[0]  # repeated: acknowledged again, not delivered twice
        + frames[2]
    )
    app, line, rejected, accepted = run_link(wire)
    assert app == p[0] + p[1] + p[2]
    assert (rejected, accepted) == (3, 3)
    frames_back = DeviceFrameReader().feed(line)
    assert frames_back[-1][:2] == (3, 3)


# -- the host transport against a Python model of the device ---------------------------------


class _DeviceModel:
    """The device's framed link in Python (what FramedLink does), echoing every accepted
    payload back, with host-to-device bytes corrupted at chosen indexes."""

    def __init__(self, corrupt=()):
        self.corrupt = set(corrupt)
        self.index = 0
        self.expected = 0
        self.rejects = 0
        self.delivered = bytearray()
        self.out = bytearray()
        self._buffer = bytearray()

    def write(self, data):
        for value in data:
            if self.index in self.corrupt:
                value ^= 0x01
            self.index += 1
            self._buffer.append(value)
        self._parse()

    def _parse(self):
        b = self._buffer
        while b:
            if b[0] != SOF:
                del b[0]
                continue
            if len(b) < 2:
                return
            if b[1] > MAX_PAYLOAD:
                del b[:2]
                self._reply(rejected=True)
                continue
            size = b[1] + 5
            if len(b) < size:
                return
            frame, b[:size] = bytes(b[:size]), b""
            ahead = (frame[2] - self.expected) & 0xFF
            if crc16(frame[1:]) != 0 or 0 < ahead < 128:
                self._reply(rejected=True)
            elif ahead == 0:
                self.expected = (self.expected + 1) & 0xFF
                self.delivered += frame[3:-2]
                self._reply(payload=frame[3:-2])
            else:
                self._reply()

    def _reply(self, *, rejected=False, payload=b""):
        self.rejects = (self.rejects + rejected) & 0xFF
        self.out += device_frame(self.expected, self.rejects, payload)

    def read(self, n):
        data, self.out[:n] = bytes(self.out[:n]), b""
        return data


def test_transport_retries_rejected_frames():
    data = bytes(random.Random(2).randrange(256) for _ in range(500))
    device = _DeviceModel(corrupt={10, 80, 300})
    link = FramedTransport(device)
    link.write(data)
    echo = bytearray()
    while len(echo) < len(data):
        chunk = link.read(len(data))
        assert chunk
        echo += chunk
    assert bytes(device.delivered) == data == bytes(echo)
    assert link.rejected >= 3 and link.retransmitted >= 3
    assert link.payload_sent == len(data)


def test_transport_without_framed_device_fails_clearly():
    class Silent:
        def write(self, data):
            pass

        def read(self, n):
            return b""

    link = FramedTransport(Silent(), retries=2)
    link.write(b"\x04")
    with pytest.raises(
        FramingError,
        match=re.escape(
            "the device acknowledged none of 1 frame(s) after 2 retries (is it built with the "
            "framed link, framing=True?)"
        ),
    ):
        link.read(1)


def test_transport_reports_corrupt_device_frame():
    class Corrupt:
        def write(self, data):
            pass

        def read(self, n):
            frame = bytearray(device_frame(1, 0, b"abc"))
            frame[4] ^= 1
            return bytes(frame)

    link = FramedTransport(Corrupt())
    link.write(b"\x04")
    with pytest.raises(
        FramingError,
        match=re.escape("a frame from the device failed its CRC (1 so far): its bytes are lost"),
    ):
        link.read(1)


# -- the framed link over SPI ------------------------------------------------------------------


def test_framed_link_over_spi():
    """A controller (SPI mode 0, the clock at an eighth of the device's) sends frames, one of them
    corrupted, and clocks idle bytes to fetch the replies; the device (SPIPeripheral +
    FramedLink, echoing every accepted payload) rejects the corrupted frame and the one after
    it, and accepts both when they are sent again."""
    from amaranth.lib import wiring

    from neurohw.hw.spi import IDLE_BYTE, SPIPeripheral

    m = Module()
    m.submodules.spi = spi = SPIPeripheral()
    m.submodules.link = link = FramedLink()
    wiring.connect(m, spi.data_in, link.line_in)
    wiring.connect(m, link.line_out, spi.data_out)
    wiring.connect(m, link.app_rx, link.app_tx)  # echo
    payloads = [b"first", bytes(range(40)), b"\xa5\x00\xff"]
    frames = [host_frame(seq, p) for seq, p in enumerate(payloads)]
    corrupt = bytearray(frames[1])
    corrupt[10] ^= 0x80
    half = 4  # clock cycles per half SPI period
    received = bytearray()
    overruns = []

    async def transfer(ctx, data):
        ctx.set(spi.cs_n, 0)
        await ctx.tick().repeat(half)
        for byte in data:
            value = 0
            for i in range(8):
                ctx.set(spi.copi, (byte >> (7 - i)) & 1)
                await ctx.tick().repeat(half)
                value = (value << 1) | ctx.get(spi.cipo)
                ctx.set(spi.sck, 1)
                await ctx.tick().repeat(half)
                ctx.set(spi.sck, 0)
            received.append(value)
        await ctx.tick().repeat(half)
        ctx.set(spi.cs_n, 1)
        await ctx.tick().repeat(2 * half)

    async def controller(ctx):
        await transfer(ctx, frames[0] + bytes(corrupt) + frames[2])
        for _ in range(4):
            await transfer(ctx, bytes([IDLE_BYTE]) * 16)
        await transfer(ctx, frames[1] + frames[2])
        for _ in range(8):
            await transfer(ctx, bytes([IDLE_BYTE]) * 16)

    async def monitor(ctx):
        async for _, _, overrun in ctx.tick().sample(spi.overrun):
            if overrun:
                overruns.append(1)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(controller)
    sim.add_testbench(monitor, background=True)
    sim.run()
    reader = DeviceFrameReader()
    replies = reader.feed(bytes(received))
    assert reader.crc_errors == 0 and not overruns
    assert b"".join(p for _, _, p in replies) == b"".join(payloads)
    assert replies[-1][:2] == (3, 2)  # all three acknowledged; two rejections counted
    # Between frames the device sends only the idle byte.
    assert reader.skipped_bytes == received.count(IDLE_BYTE) - sum(
        p.count(IDLE_BYTE) + bytes(f[:4]).count(IDLE_BYTE) + f[-2:].count(IDLE_BYTE)
        for f, p in ((device_frame(a, r, p), p) for a, r, p in replies)
    )


class _SpiDeviceModel(_DeviceModel):
    """spidev's ``xfer2`` on the device model: a byte in for every byte out, idle bytes (0x00)
    when it has nothing to send."""

    def xfer2(self, values):
        self.write(bytes(values))
        data = self.read(len(values))
        return list(data + bytes(len(values) - len(data)))


def test_spi_transport_framed_echo():
    from neurohw.host import SpiTransport

    data = bytes(random.Random(5).randrange(256) for _ in range(300))
    device = _SpiDeviceModel(corrupt={50})
    link = FramedTransport(SpiTransport(spi=device))
    link.write(data)
    echo = bytearray()
    while len(echo) < len(data):
        chunk = link.read(len(data))
        assert chunk
        echo += chunk
    assert bytes(echo) == data == bytes(device.delivered)
    assert link.rejected >= 1
    assert link.read(1) == b""  # only idle bytes: nothing arrived


def test_spi_transport_needs_spidev(monkeypatch):
    import builtins

    from neurohw.host import SpiTransport

    real_import = builtins.__import__

    def no_spidev(name, *args, **kwargs):
        if name == "spidev":
            raise ImportError("No module named 'spidev'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spidev)
    with pytest.raises(
        ImportError,
        match=re.escape(
            "SpiTransport needs spidev (`pip install spidev`, Linux only); any object with "
            "spidev's xfer2 works as spi="
        ),
    ):
        SpiTransport()


# -- a chip behind the framed link --------------------------------------------------------------


def test_framed_chip_link():
    """The chip link (SystemBridge in front of a small chip) behind FramedLink, byte by byte in
    Amaranth simulation: the request in host frames (one corrupted, then sent again), the
    replies out of device frames; the output spikes match the network's definition and the
    device counted the rejections."""
    import numpy as np
    from amaranth.lib import wiring

    from neurohw import Chip
    from neurohw.hw.system_bridge import (
        SystemBridge,
        SystemDeviceOp,
        SystemHostOp,
        host_frames,
        parse_device_frames,
        status_bytes,
        word_bytes,
    )
    from neurohw.network import simulate
    from neurohw.network.host_events import decode_outputs, encode_samples
    from neurohw.routing import EventKind
    from tests.test_system_boards import small_plan

    plan = small_plan()
    rng = np.random.default_rng(0)
    steps, samples = 3, 2
    counts = (rng.random((steps, samples, 6)) < 0.6).astype(np.int64)
    words = encode_samples(plan, {"x": counts})
    top = Chip(plan, debug=False).top()
    bridge = SystemBridge(top, rx_fifo_depth=128)
    W = word_bytes(top)
    request = host_frames(words, W) + bytes([SystemHostOp.SYNC, 7, SystemHostOp.STATUS])
    chunks = [request[i : i + MAX_PAYLOAD] for i in range(0, len(request), MAX_PAYLOAD)]
    frames = [host_frame(seq, chunk) for seq, chunk in enumerate(chunks)]
    corrupt = bytearray(frames[0])
    corrupt[7] ^= 0x02
    # The corrupted frame and those after it are rejected; then all of them are sent again.
    wire = bytes(corrupt) + b"".join(frames[1:]) + b"".join(frames)

    m = Module()
    m.submodules.top = top
    m.submodules.bridge = bridge
    m.submodules.link = link = FramedLink()
    wiring.connect(m, bridge.host_in, top.host_in)
    wiring.connect(m, top.host_out, bridge.host_out)
    wiring.connect(m, link.app_rx, bridge.rx)
    wiring.connect(m, bridge.tx, link.app_tx)
    m.d.comb += [
        bridge.overflow.eq(top.overflow),
        bridge.tag_error.eq(top.tag_error),
        bridge.cmd_error.eq(top.cmd_error),
        bridge.router_drops.eq(top.router_drops),
    ]
    for c in range(plan.n_cores):
        m.d.comb += [
            bridge.invalid[c].eq(top.invalid[c]),
            bridge.eos_dropped[c].eq(top.eos_dropped[c]),
        ]
    line = bytearray()
    n_status = status_bytes(top)
    result = {}

    def replies():
        return DeviceFrameReader().feed(bytes(line))

    async def testbench(ctx):
        ctx.set(link.line_out.ready, 1)
        sent = 0
        for cycle in range(80000):
            offer = sent < len(wire) and cycle % 8 == 0  # a line byte every 8 clocks
            ctx.set(link.line_in.valid, offer)
            if offer:
                ctx.set(link.line_in.payload, wire[sent])
                sent += 1
            if ctx.get(link.line_out.valid):
                line.append(ctx.get(link.line_out.payload))
            await ctx.tick()
            if sent == len(wire) and cycle % 256 == 0:
                app = b"".join(p for _, _, p in replies())
                if any(
                    op == SystemDeviceOp.STATUS for op, _ in parse_device_frames(app, W, n_status)
                ):
                    break
        result["rejected"] = ctx.get(link.rejected)

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()

    device_frames = replies()
    app = b"".join(p for _, _, p in device_frames)
    frames_out = parse_device_frames(app, W, n_status)
    assert result["rejected"] == len(frames) == device_frames[-1][1]
    assert device_frames[-1][0] == len(frames)  # every frame acknowledged
    out_words = [int.from_bytes(p, "little") for op, p in frames_out if op == SystemDeviceOp.EVENT]
    last = (steps * samples - 1) % (1 << plan.fmt.step_width)
    end = next(
        i
        for i, w in enumerate(out_words)
        if plan.fmt.unpack(w).kind == EventKind.BARRIER and plan.fmt.unpack(w).step == last
    )
    got = decode_outputs(plan, out_words[: end + 1], steps=steps * samples)["o"]
    expected = simulate(plan.network, {"x": counts}).spikes["o"]
    expected = expected.transpose(1, 0, 2).reshape(steps * samples, -1)
    assert np.array_equal(got, expected), (got, expected)
    status = [p for op, p in frames_out if op == SystemDeviceOp.STATUS][0]
    assert status[0] == 0  # no lost byte, no bad opcode: corruption never reached the bridge
    assert [p for op, p in frames_out if op == SystemDeviceOp.SYNC][0][0] == 7


@pytest.mark.parametrize("design", ["core", "chip"])
def test_framed_board_top_elaborates(design):
    from neurohw import boards
    from neurohw.boards.specs import BOARDS
    from tests.test_system_boards import small_plan

    source = boards.default_core() if design == "core" else small_plan()
    products = boards.elaborate(
        "icebreaker", source, baud=BOARDS["icebreaker"].max_baud, framing=True
    )
    rtlil = products.files["top.il"]
    assert "host.link" in rtlil and "rejected" in rtlil
