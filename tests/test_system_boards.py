"""The system host link (``neurohw.hw.system_bridge``) and a chip on the board top
(``neurohw.boards.top.BoardTop``): a byte-level simulation of the bridge in front of a small chip (fast, the
outputs compared with the network's definition), elaboration on both boards (fast), and (slow)
the digits network's bitstream on the ULX3S and the iCEBreaker."""

from __future__ import annotations

import re

import numpy as np
import pytest
from amaranth.sim import Simulator

from neurohw import Chip
from neurohw.hw.system_bridge import (
    SystemBridge,
    SystemDeviceOp,
    SystemFlags,
    SystemHostOp,
    host_frames,
    parse_device_frames,
    status_bytes,
    system_info_block,
    word_bytes,
)
from neurohw.model import Decay, NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate
from neurohw.network.host_events import decode_outputs, encode_samples
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.routing import EventKind


def small_plan(lanes=1):
    rng = np.random.default_rng(3)
    params = NeuronParams(n_currents=0, v_width=12, v_decay=Decay.shift(3), threshold=20)
    net = Network(
        inputs=[InputGroup("x", 6)],
        populations=[Population("h", 5, params), Population("o", 3, params)],
        projections=[
            Projection("x", "h", rng.integers(-4, 20, size=(6, 5))),
            Projection("h", "o", rng.integers(-4, 25, size=(5, 3))),
        ],
        outputs=["o"],
    )
    return map_network(net, lanes=lanes, capacity=CoreCapacity(max_neurons=3))


def test_bridge_runs_a_chip_byte_by_byte():
    plan = small_plan()
    rng = np.random.default_rng(0)
    steps, samples = 3, 2
    counts = (rng.random((steps, samples, 6)) < 0.6).astype(np.int64)
    words = encode_samples(plan, {"x": counts})
    top = Chip(plan, debug=False).top()
    bridge = SystemBridge(top, rx_fifo_depth=128)
    W = word_bytes(top)
    request = bytes([SystemHostOp.INFO, 0x42])  # INFO, then an unknown opcode
    request += host_frames(words, W)
    request += bytes([SystemHostOp.SYNC, 7, SystemHostOp.STATUS])

    from amaranth.hdl import Module
    from amaranth.lib import wiring

    m = Module()
    m.submodules.top = top
    m.submodules.bridge = bridge
    wiring.connect(m, bridge.host_in, top.host_in)
    wiring.connect(m, top.host_out, bridge.host_out)
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
    received = bytearray()
    n_status = status_bytes(top)

    async def testbench(ctx):
        ctx.set(bridge.tx.ready, 1)
        sent = 0
        for cycle in range(60000):
            # One byte every other clock (a UART is far slower); the bridge takes any byte
            # offered (its FIFO of 64 bytes is never full at this pace while host_out drains).
            offer = sent < len(request) and cycle % 3 == 0
            ctx.set(bridge.rx.valid, offer)
            if offer:
                ctx.set(bridge.rx.payload, request[sent])
                sent += 1
            if ctx.get(bridge.tx.valid):
                received.append(ctx.get(bridge.tx.payload))
            await ctx.tick()
            if sent == len(request) and cycle % 64 == 0 and received:
                frames = parse_device_frames(bytes(received), W, n_status)
                if any(op == SystemDeviceOp.STATUS for op, _ in frames):
                    break

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()

    frames = parse_device_frames(bytes(received), W, n_status)
    info = [p for op, p in frames if op == SystemDeviceOp.INFO]
    assert info == [system_info_block(top, 128)]
    out_words = [int.from_bytes(p, "little") for op, p in frames if op == SystemDeviceOp.EVENT]
    # Up to the barrier of the last window (the chip then runs one more step, which the host
    # ignores: docs/system-hardware.md).
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
    sync = [p for op, p in frames if op == SystemDeviceOp.SYNC]
    assert sync and sync[0][0] == 7
    assert sync[0][1] & SystemFlags.BAD_OPCODE
    status = [p for op, p in frames if op == SystemDeviceOp.STATUS][0]
    assert status[0] == SystemFlags.BAD_OPCODE  # nothing else went wrong
    assert int.from_bytes(status[1:3], "little") == 0  # router drops


# The top (and the routers it builds) only feeds the refused bridges.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_bridge_refusals():
    top = Chip(small_plan(), debug=False).top()
    with pytest.raises(TypeError, match="top must be a SystemTop"):
        SystemBridge(object())
    with pytest.raises(ValueError, match="rx_fifo_depth must be a power of two"):
        SystemBridge(top, rx_fifo_depth=100)


@pytest.mark.parametrize("board", ["icebreaker", "ulx3s", "tang_nano_9k", "tang_primer_20k"])
def test_system_board_elaborates(board):
    from neurohw import boards

    products = boards.elaborate(board, small_plan())
    assert "rename -unescape" in products.files["top.ys"]
    assert "core0" in products.files["top.il"]


def test_system_board_debug_port_is_the_chips_choice():
    """A ChipPlan goes on the board without the debug port (neurohw.boards.top.BOARD_DEBUG); a Chip
    with its own options."""
    from neurohw import boards

    def debug_core_field(design):
        rtlil = boards.elaborate("ulx3s", design).files["top.il"]
        return ".core" in "".join(re.findall(r"wire [^\n]*dbg_cmd__payload\S*", rtlil))

    assert not debug_core_field(small_plan())
    assert debug_core_field(Chip(small_plan()))


@pytest.mark.slow
def test_digits_bitstream_ulx3s(tmp_path):
    from neurohw.boards import build
    from neurohw.boards.system import digits_plan

    result = build("ulx3s", digits_plan(), build_dir=tmp_path / "ulx3s")
    assert result.bitstream.endswith("top.bit")
    for clock in result.fmax_mhz.values():
        assert clock["achieved"] >= clock["constraint"], result.summary()


@pytest.mark.slow
@pytest.mark.parametrize("board", ["tang_nano_9k", "tang_primer_20k"])
def test_digits_bitstream_gowin(tmp_path, board):
    """The digits chip on the Gowin boards (nextpnr-himbaechel, gowin_pack): a bitstream, timing
    met at the board's 27 MHz clock."""
    from neurohw.boards import build
    from neurohw.boards.system import digits_plan

    result = build(board, digits_plan(), build_dir=tmp_path / board)
    assert result.bitstream.endswith("top.fs")
    assert result.fmax_mhz, result.summary()
    for clock in result.fmax_mhz.values():
        assert clock["achieved"] >= clock["constraint"] == 27, result.summary()
    print(result.summary())


@pytest.mark.slow
def test_digits_bitstream_icebreaker(tmp_path):
    """The digits chip on the iCE40UP5K: a bitstream if it fits, else the error names every
    resource over capacity."""
    from neurohw.boards import DoesNotFit, build
    from neurohw.boards.system import digits_plan

    try:
        result = build("icebreaker", digits_plan(), build_dir=tmp_path / "ice")
    except DoesNotFit as error:
        assert error.overflow and all(used > available for _, used, available in error.overflow)
        assert "over capacity" in str(error)
        return
    assert result.bitstream.endswith("top.bin")
