# amaranth: UnusedElaboratable=no
"""Host link: the bridge's parameters, the host library's protocol helpers, and end-to-end cocotb
runs of the host library against the RTL (UART model + bridge + core, ``sim/bench_host.py``),
compared with the reference model, on every simulator."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from neurohw.host import CoreLayout, Link, LinkError, LinkTimeout, SerialTransport
from neurohw.host.protocol import pack_fields, unpack_fields
from neurohw.hw.core import NeuronCore
from neurohw.hw.host_bridge import HostBridge, UartHost, info_block
from neurohw.model import Decay, NeuronParams, ResetMode, run
from neurohw.model.presets import loihi_cuba_lif
from neurohw.sim.core_case import make_case
from neurohw.sim.runner import case_build_dir, run_cocotb
from neurohw.templates import core_description
from tests.test_neuron_core import on_simulators, random_params, random_spikes, random_weights


def _core(**kwargs):
    params = NeuronParams(
        n_currents=1, v_width=16, i_width=16, threshold=100, i_decay=(Decay.shift(1),)
    )
    return NeuronCore(params, n_neurons=6, n_axons=5, weight_width=8, **kwargs)


@pytest.mark.parametrize("depth", [16, 512, 4096])
def test_info_block_matches_host(depth):
    core = _core(lanes=2)
    layout = CoreLayout.from_core(core, rx_fifo_depth=depth)
    assert layout.expected_info() == info_block(core, depth)
    assert layout.expected_info()[:2] == b"NH"


@pytest.mark.parametrize("depth", [8, 15, 100, 1 << 17, True, "512"])
def test_bridge_refuses_fifo_depth(depth):
    core = _core()
    with pytest.raises(ValueError, match="rx_fifo_depth must be a power of two"):
        HostBridge(core, rx_fifo_depth=depth)


def test_bridge_refuses_non_core():
    with pytest.raises(TypeError, match="core must be a NeuronCore"):
        HostBridge(object())


def test_layout_sources(tmp_path):
    core = _core()
    description = json.loads(json.dumps(core_description(core)))
    path = tmp_path / "core.json"
    path.write_text(json.dumps(description))
    for source in (description, path, str(path), core):
        layout = CoreLayout.load(source)
        assert layout.n_neurons == 6 and layout.sizes["cmd"] == 5
    with pytest.raises(TypeError, match="core layout must be"):
        CoreLayout.load(42)
    with pytest.raises(ValueError, match="lacks 'ports'"):
        CoreLayout({"n_neurons": 1, "n_axons": 1, "axon_bits": 1})
    with pytest.raises(ValueError, match="no command target 'I1'"):
        CoreLayout.load(description).target("I1")


def test_pack_unpack_fields():
    layout = {"a": (0, 3, False), "b": (3, 5, True)}
    word = pack_fields({"a": 5, "b": -3}, layout)
    assert unpack_fields(word, layout) == {"a": 5, "b": -3}
    with pytest.raises(ValueError, match="does not fit signed 5 bits"):
        pack_fields({"b": 16}, layout)


class _Silent:
    def __init__(self):
        self.written = bytearray()

    def write(self, data):
        self.written += data

    def read(self, n):
        return b""


def test_link_times_out_and_frames_commands():
    transport = _Silent()
    link = Link(transport, _core())
    with pytest.raises(LinkTimeout, match="timed out waiting for the INFO reply"):
        link.info()
    assert bytes(transport.written) == b"\x04"
    with pytest.raises(ValueError, match="does not fit"):
        link.layout.cmd_frame(0, 0, neuron=8)


class _Scripted(_Silent):
    def __init__(self, reply):
        super().__init__()
        self.reply = bytearray(reply)

    def read(self, n):
        data, self.reply = bytes(self.reply[:n]), self.reply[n:]
        return data


def test_link_reports_device_flags_and_mismatch():
    core = _core()
    link = Link(_Scripted(b"\x85\x00\x01"), core)
    with pytest.raises(LinkError, match="RX_OVERRUN"):
        link.sync()
    link = Link(_Scripted(b"\x84" + bytes(16)), core)
    with pytest.raises(LinkError, match="not the core of this layout"):
        link.info()
    link = Link(_Scripted(b"\x42"), core)
    with pytest.raises(LinkError, match="unknown frame opcode 0x42"):
        link.sync()


def test_serial_transport_needs_pyserial():
    try:
        import serial  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pyserial"):
            SerialTransport("/dev/null")
    else:
        pytest.skip("pyserial is installed")


def test_uart_host_elaborates():
    from amaranth.back import rtlil

    text = rtlil.convert(UartHost(_core(), divisor=104), name="uart_host")
    assert "uart_rx" in text and "uart_tx" in text


# ---------------------------------------------------------------------------------------------
# End to end, against the RTL


def host_case(kind, steps=8, *, divisor=5, framing=False):
    rng = np.random.default_rng({"dense": 1, "sparse": 2, "params": 3}[kind])
    depth = 512
    if kind == "params":
        n_neurons, n_axons, weight_width = 7, 4, 8
        params = loihi_cuba_lif(
            du=1024, dv=410, vth=40, refractory_period=2, bias_mant=3, bias_exp=1
        )
        params = params.replace(threshold=rng.integers(1, 80, size=n_neurons))
        kwargs = {"lanes": 2}
    else:
        n_neurons, n_axons, weight_width = 6, 5, 6
        for _ in range(20):
            params = random_params(rng, n_neurons, per_neuron=False, max_width=16)
            if params.reset is not ResetMode.VALUE:
                break
        kwargs = {"connectivity": "sparse"} if kind == "sparse" else {}
        if kind == "sparse":
            depth = 16  # the smallest FIFO: flow control on every frame
    for _ in range(10):
        weights = random_weights(
            rng, params, n_axons, n_neurons, weight_width, zeros=0.6 if kind == "sparse" else 0.2
        )
        spikes = random_spikes(rng, steps, n_axons, density=0.6)
        if run(params, spikes, weights, record=("spikes",)).spikes.any():
            break
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=int(rng.integers(1000)),
        core_kwargs=kwargs,
        config_weights=True,
        config_params=(kind == "params"),
    )
    host_params = {}
    if kind == "params":
        host_params = {"threshold": params.effective_threshold, "bias": params.bias}
    test_data = {
        "layout": core_description(core),
        "rx_fifo_depth": depth,
        "divisor": divisor,
        "weights": weights,
        "params": host_params,
        "events": data["events"],
        "expected": data["expected"],
        "framing": framing,
    }
    return UartHost(core, divisor=divisor, rx_fifo_depth=depth, framing=framing), test_data


def graded_host_case(steps=8):
    """A graded core (value_width 6) behind the host link: ``(axon, value)`` events, one
    EVENT frame each, signed values over the whole range."""
    from tests.test_neuron_core import graded_case

    core, data = graded_case(300, steps=steps, max_neurons=6, max_axons=5)
    fields = core.event_layout
    offset, width = fields["value"].offset, core.value_width

    def pair(word):
        value = word >> offset
        return [word & ((1 << offset) - 1), value - (1 << width) if value >> (width - 1) else value]

    test_data = {
        "layout": core_description(core),
        "rx_fifo_depth": 64,
        "divisor": 5,
        "weights": np.asarray(core.weights),
        "params": {},
        "events": [[pair(word) for word in step] for step in data["events"]],
        "expected": data["expected"],
    }
    return UartHost(core, divisor=5, rx_fifo_depth=64), test_data


# Builds a host case only to read its core's layout; the elaboratables that sim/core_case.py and
# neurohw/hw/host_bridge.py make for it are never elaborated.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_graded_event_frames():
    top, _ = graded_host_case(steps=1)
    layout = CoreLayout.from_core(top.core)
    width = layout.value_width
    assert layout.sizes["event"] == -(-(layout.event["axon"][1] + width) // 8)
    frame = layout.event_frame(1, -1)
    word = int.from_bytes(frame[1:], "little")
    assert word == 1 | (((1 << width) - 1) << layout.event["value"][0])
    low = -(1 << (width - 1))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"value {low - 1} does not fit the core's value_width={width} ([{low}, {-low - 1}])"
        )
        + r"\Z",
    ):
        layout.event_frame(0, low - 1)


@pytest.mark.sim
@on_simulators("", [()])
def test_host_link_graded(hdl, request):
    """The host link sends graded events ((axon, value) frames) to a graded core; every spike
    and state against the model."""
    top, data = graded_host_case()
    run_cocotb(
        top,
        toplevel="uart_host",
        test_module="bench_host",
        simulator=hdl,
        build_dir=case_build_dir(request.node.nodeid, hdl),
        test_data=data,
    )


@pytest.mark.sim
@on_simulators("kind", ["dense", "sparse", "params"], verilator_default=("dense",))
def test_host_link_end_to_end(hdl, kind, request):
    top, data = host_case(kind)
    run_cocotb(
        top,
        toplevel="uart_host",
        test_module="bench_host",
        simulator=hdl,
        build_dir=case_build_dir(request.node.nodeid, hdl),
        test_data=data,
    )


@pytest.mark.sim
@on_simulators("", [()])
def test_framed_host_link_3_mbaud(hdl, request):
    """The framed link (protocol version 2) at divisor 4 (3 Mbaud on a 12 MHz clock), with
    three bytes to the device corrupted on the line: each is caught by the CRC, counted by the
    device's ``rejected`` counter (read by the host in every frame), and the frame is sent again;
    every spike and state still matches the model."""
    top, data = host_case("dense", steps=4, divisor=4, framing=True)
    data["corrupt"] = [30, 200, 333]
    run_cocotb(
        top,
        toplevel="uart_host",
        test_module="bench_host",
        simulator=hdl,
        build_dir=case_build_dir(request.node.nodeid, hdl),
        test_data=data,
    )


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("framing", [False, True], ids=["v1", "framed"])
def test_host_link_throughput(framing, request):
    """Host-link throughput at divisor 4 (3 Mbaud at 12 MHz), measured in simulation end to
    end (host library, UART line, bridge, core and back): steps of 24 events, the version 1
    link against the framed one. Figures in ``throughput.json`` and docs/integration.md."""
    top, data = host_case("dense", steps=1, divisor=4, framing=framing)
    data["events"] = []  # only the timed session
    data["throughput"] = {"steps": 12, "events": 24}
    build_dir = case_build_dir(request.node.nodeid, "icarus")
    run_cocotb(
        top,
        toplevel="uart_host",
        test_module="bench_host",
        simulator="icarus",
        build_dir=build_dir,
        test_data=data,
    )
    result = json.loads((build_dir / "throughput.json").read_text())
    line_bytes_per_cycle = 1 / (10 * 4)
    payload = 2 * result["events"] + result["steps"]  # EVENT frames and STEP opcodes
    efficiency = payload / result["cycles"] / line_bytes_per_cycle
    print(f"{'framed' if framing else 'v1'}: {result}, line efficiency {efficiency:.2f}")
    # The framed link costs its headers, CRCs and acknowledgments, not a stall per frame.
    assert efficiency > (0.5 if framing else 0.6), efficiency
