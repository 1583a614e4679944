"""cocotb bench for :class:`neurohw.hw.axi_system.AxiSystem`, driven by third-party models as an
FPGA integrator's bench would be: cocotbext-axi's ``AxiStreamSource`` (input beats, one frame
per step), ``AxiStreamSink`` (output words) and ``AxiLiteMaster`` (the register bank), with
random pause generators on both streams, and a protocol checker on every channel of every AXI
port (a VALID dropped before its handshake, or a payload changed while stalled, fails the run).

Test data (made by ``tests/test_axi_system.py``):

* ``frames``: per step, ``[[tdata, tuser], ...]`` (TLAST is the frame's last beat);
* ``expected_steps``: per step, the sorted ``[[output index, count], ...]`` of the model;
* ``expected_final_states``: per core ``[target, neuron, value(, axon)]``, read through the
  command registers by :class:`neurohw.host.axi.AxiChip` in a bridged thread;
* ``expected_dropped_address`` / ``expected_dropped_value``: the drop counters at the end;
* ``learning_cores``: cores whose learning is switched off and on again through
  ``AxiChip.set_learning`` after the state reads (each must read 1, 0, 1);
* ``pause_probability``, ``seed``; ``c_driver``: a shared library to exercise after the frames
  instead of the final-state reads (``neurohw_driver.c`` through ctypes, its read32/write32
  bridged to AXI-Lite transactions); what it returned goes to ``axi_results.json``.

Writes ``axi_results.json`` beside the test data: per step, the cycle (from the first input
beat) at which its end-of-step word arrived, and the checker's transfer counts.
"""

from __future__ import annotations

import ctypes
import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.task import bridge, resume
from cocotb.triggers import ReadOnly, RisingEdge, Timer, with_timeout
from cocotbext.axi import (
    AxiLiteBus,
    AxiLiteMaster,
    AxiStreamBus,
    AxiStreamFrame,
    AxiStreamSink,
    AxiStreamSource,
)

from neurohw.host.axi import AxiChip, decode_output_words
from neurohw.host.axi_registers import register
from neurohw.sim.lib.testdata import TEST_DATA_ENV_VAR, load_test_data

CLOCK_NS = 10


class AxiChannelChecker:
    """One VALID/READY channel: outside reset, a transfer offered without READY is offered
    again, unchanged, in the next cycle (AXI: "once VALID is asserted it must remain asserted
    until the handshake", payload stable meanwhile)."""

    def __init__(self, name, clock, resetn, valid, ready, payload):
        self.name = name
        self.clock, self.resetn = clock, resetn
        self.valid, self.ready, self.payload = valid, ready, payload
        self.violations = []
        self.transfers = 0
        cocotb.start_soon(self._run())

    def _values(self):
        return tuple(str(signal.value) for signal in self.payload)

    async def _run(self):
        pending = None
        while True:
            await RisingEdge(self.clock)
            await ReadOnly()
            if str(self.resetn.value) != "1":
                pending = None
                continue
            valid = str(self.valid.value)
            if valid not in ("0", "1"):
                self.violations.append(
                    f"{self.name}: VALID is {valid!r} at {get_sim_time('ns')} ns"
                )
                continue
            if pending is not None:
                if valid != "1":
                    self.violations.append(
                        f"{self.name}: VALID dropped before the handshake at {get_sim_time('ns')} ns"
                    )
                elif self._values() != pending:
                    self.violations.append(
                        f"{self.name}: payload changed while stalled at {get_sim_time('ns')} ns "
                        f"({pending} -> {self._values()})"
                    )
            pending = None
            if valid == "1":
                if str(self.ready.value) == "1":
                    self.transfers += 1
                else:
                    pending = self._values()


def _pauses(rng, probability):
    while True:
        yield rng.random() < probability


class TB:
    def __init__(self, dut, data):
        self.dut = dut
        self.data = data
        seed = int(data.get("seed", 0))
        self.rng = random.Random(seed)
        cocotb.start_soon(Clock(dut.aclk, CLOCK_NS, unit="ns").start())
        dut.aresetn.value = 0
        self.source = AxiStreamSource(
            AxiStreamBus.from_prefix(dut, "s_axis"),
            dut.aclk,
            dut.aresetn,
            reset_active_level=False,
            byte_lanes=1,  # no TKEEP: a beat is one whole word
        )
        self.sink = AxiStreamSink(
            AxiStreamBus.from_prefix(dut, "m_axis"),
            dut.aclk,
            dut.aresetn,
            reset_active_level=False,
            byte_lanes=1,
        )
        self.axil = AxiLiteMaster(
            AxiLiteBus.from_prefix(dut, "s_axil"), dut.aclk, dut.aresetn, reset_active_level=False
        )
        probability = float(data.get("pause_probability", 0.0))
        if probability:
            self.source.set_pause_generator(_pauses(random.Random(seed + 1), probability))
            self.sink.set_pause_generator(_pauses(random.Random(seed + 2), probability))
        self.checkers = []
        for name, valid, ready, payload in (
            ("s_axis", "s_axis_tvalid", "s_axis_tready", ("tdata", "tlast", "tuser")),
            ("m_axis", "m_axis_tvalid", "m_axis_tready", ("tdata", "tlast")),
            ("s_axil.aw", "s_axil_awvalid", "s_axil_awready", ("awaddr",)),
            ("s_axil.w", "s_axil_wvalid", "s_axil_wready", ("wdata", "wstrb")),
            ("s_axil.b", "s_axil_bvalid", "s_axil_bready", ("bresp",)),
            ("s_axil.ar", "s_axil_arvalid", "s_axil_arready", ("araddr",)),
            ("s_axil.r", "s_axil_rvalid", "s_axil_rready", ("rdata", "rresp")),
        ):
            prefix = name.split(".")[0]
            signals = [getattr(dut, f"{prefix}_{field}") for field in payload]
            self.checkers.append(
                AxiChannelChecker(
                    name, dut.aclk, dut.aresetn, getattr(dut, valid), getattr(dut, ready), signals
                )
            )

    async def reset(self):
        self.dut.aresetn.value = 0
        for _ in range(3):
            await RisingEdge(self.dut.aclk)
        self.dut.aresetn.value = 1
        await RisingEdge(self.dut.aclk)

    def check_protocol(self):
        violations = [v for checker in self.checkers for v in checker.violations]
        assert not violations, (
            f"{len(violations)} AXI protocol violation(s), first: {violations[0]}"
        )

    async def read32(self, offset):
        response = await self.axil.read_dword(offset)
        return response

    async def write32(self, offset, value):
        await self.axil.write_dword(offset, value)


def _bridged_chip(tb):
    """An :class:`AxiChip` whose read32/write32 are AXI-Lite transactions, for a thread started
    with :func:`cocotb.task.bridge`."""
    return AxiChip(resume(tb.read32), resume(tb.write32))


async def _run_frames(tb, data):
    frames = data["frames"]
    expected = data["expected_steps"]
    start = get_sim_time("ns")

    async def send():
        for frame in frames:
            await tb.source.send(
                AxiStreamFrame(tdata=[beat[0] for beat in frame], tuser=[beat[1] for beat in frame])
            )

    cocotb.start_soon(send())
    words = []
    ends = []  # cycle of each step's end-of-step word
    for _ in range(len(expected)):
        frame = await with_timeout(tb.sink.recv(), int(data.get("timeout_us", 2000)), "us")
        ends.append(int((get_sim_time("ns") - start) // CLOCK_NS))
        assert frame.tdata, "an empty output frame"
        words += [(word, i == len(frame.tdata) - 1) for i, word in enumerate(frame.tdata)]
    steps = decode_output_words(words)
    for t, (got, want) in enumerate(zip(steps, expected)):
        assert sorted(got.items()) == [tuple(p) for p in want], (
            f"step {t}: RTL sent {sorted(got.items())}, the model {want}"
        )
    await Timer(50 * CLOCK_NS, "ns")
    assert tb.sink.empty(), "output words after the last expected step"
    return ends


async def _check_counters(tb, data):
    for name in ("dropped_address", "dropped_value"):
        key = f"expected_{name}"
        if key in data:
            value = await tb.read32(register(name.upper()).offset)
            assert value == data[key], f"{name.upper()} reads {value}, expected {data[key]}"


@cocotb.test()
async def run_axi_system(dut):
    data = load_test_data()
    tb = TB(dut, data)
    await tb.reset()
    results = {}
    results["step_end_cycles"] = await _run_frames(tb, data)
    await _check_counters(tb, data)
    if data.get("c_driver"):
        results["c_driver"] = await _run_c_driver(tb, data)
    else:
        states = data.get("expected_final_states")
        if states:

            @bridge
            def read_states():
                chip = _bridged_chip(tb)
                mismatches = []
                for core, reads in enumerate(states):
                    for read in reads:
                        target, neuron, value = read[:3]
                        axon = read[3] if len(read) > 3 else 0
                        got = chip.read_state(core, target, neuron, axon)
                        if got != value:
                            mismatches.append((core, target, neuron, axon, got, value))
                # Learning switched off and on through the registers, on every learning core.
                for core in data.get("learning_cores", ()):
                    seen = [chip.learning(core)]
                    chip.set_learning(core, False)
                    seen.append(chip.learning(core))
                    chip.set_learning(core, True)
                    seen.append(chip.learning(core))
                    if seen != [True, False, True]:
                        mismatches.append(("learning", core, seen))
                return mismatches

            mismatches = await read_states()
            assert not mismatches, (
                f"final states differ (core, target, neuron, axon, RTL, model): {mismatches[:5]}"
            )
    tb.check_protocol()
    results["transfers"] = {c.name: c.transfers for c in tb.checkers}
    out = Path(os.environ[TEST_DATA_ENV_VAR]).parent / "axi_results.json"
    out.write_text(json.dumps(results))


# -- the C driver ------------------------------------------------------------------------------

READ32 = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32)
)
WRITE32 = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32)


async def _run_c_driver(tb, data):
    """Load the driver, give it read32/write32 that run AXI-Lite transactions on the RTL, and
    run its calls from a bridged thread: the blocking C code drives the simulated bus."""
    library = ctypes.CDLL(data["c_driver"])
    check = data["c_checks"]
    read_blocking = resume(tb.read32)
    write_blocking = resume(tb.write32)

    def read32(_context, offset, value):
        try:
            value[0] = read_blocking(offset)
        except Exception:  # a SLVERR: the driver sees a failed access
            return -1
        return 0

    def write32(_context, offset, value):
        try:
            write_blocking(offset, value)
        except Exception:
            return -1
        return 0

    read_fn, write_fn = READ32(read32), WRITE32(write32)

    @bridge
    def exercise():
        # struct neurohw_dev is {read32, write32, context}: three pointers.
        class Dev(ctypes.Structure):
            _fields_ = [("read32", READ32), ("write32", WRITE32), ("context", ctypes.c_void_p)]

        dev = Dev(read_fn, write_fn, None)
        lib = library
        lib.neurohw_init.restype = ctypes.c_int
        lib.neurohw_read_state.restype = ctypes.c_int
        lib.neurohw_write_state.restype = ctypes.c_int
        lib.neurohw_read_register.restype = ctypes.c_int
        report = {"init": lib.neurohw_init(ctypes.byref(dev))}
        value = ctypes.c_int32()
        core, target, neuron, axon, new = check["write"]
        report["write"] = lib.neurohw_write_state(
            ctypes.byref(dev), core, target, neuron, axon, ctypes.c_int32(new)
        )
        report["read_back"] = lib.neurohw_read_state(
            ctypes.byref(dev), core, target, neuron, axon, ctypes.byref(value)
        )
        report["value"] = value.value
        bad = check["bad_core"]
        report["bad_core"] = lib.neurohw_read_state(
            ctypes.byref(dev), bad, target, neuron, axon, ctypes.byref(value)
        )
        counter = ctypes.c_uint32()
        report["counter"] = lib.neurohw_read_register(
            ctypes.byref(dev), register("DROPPED_ADDRESS").offset, ctypes.byref(counter)
        )
        report["dropped_address"] = counter.value
        report["soft_reset"] = lib.neurohw_soft_reset(ctypes.byref(dev))
        # The reset cleared the counters.
        report["counter_after_reset"] = lib.neurohw_read_register(
            ctypes.byref(dev), register("DROPPED_ADDRESS").offset, ctypes.byref(counter)
        )
        report["dropped_address_after_reset"] = counter.value
        return report

    return await exercise()
