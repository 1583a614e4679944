"""The whole chip behind its AXI wrapper (``neurohw.hw.axi_system.AxiSystem``), driven by
cocotbext-axi's stream source/sink (random pauses both ways) and AXI4-Lite master
(``sim/bench_axi_system.py``): every output spike of every step against ``simulate_samples``,
every final state read through the registers by ``neurohw.host.axi.AxiChip``, out-of-range
input addresses dropped and counted, a protocol checker on every AXI channel.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In

from neurohw import Chip
from neurohw.host.axi import (
    ADDRESS_BITS,
    InFlag,
    input_beats,
    input_lines,
    output_bases,
    write_c_driver,
)
from neurohw.hw.core import Target
from neurohw.network import simulate_samples
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.network.system import check_samples
from neurohw.sim.runner import CocotbTestFailure, run_cocotb
from neurohw.sim.system_case import (
    expected_final_states,
    final_step,
    random_inputs,
    random_learning_network,
    random_network,
)

pytest.importorskip("cocotbext.axi")

PAUSES = 0.3


def small_chip(seed=1, **options):
    network = random_network(seed)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64), topology="star")
    return network, Chip(plan, **options)


def expected_steps(plan, spikes) -> list:
    """Per global step the sorted ``[output index, count]`` of the model's output spikes."""
    bases = {}
    offset = 0
    for name in plan.network.outputs:
        bases[name] = offset
        offset += plan.network.populations[name].size
    steps, batch = next(iter(spikes.values())).shape[:2]
    out = []
    for k in range(batch):
        for t in range(steps):
            pairs = []
            for name, base in bases.items():
                row = spikes[name][t, k]
                pairs += [[base + int(j), int(row[j])] for j in np.flatnonzero(row)]
            out.append(sorted(pairs))
    return out


def frames_of(beats) -> list:
    frames, current = [], []
    for tdata, tlast, tuser in beats:
        current.append([tdata, tuser])
        if tlast:
            frames.append(current)
            current = []
    assert not current
    return frames


def add_bad_beats(plan, frames, rng):
    """Beats the wrapper must drop and count, put into random steps: addresses at and beyond
    the input count (never aliased onto a line), and values no group can carry."""
    lines = input_lines(plan)
    bad_address = bad_value = 0
    for frame in frames:
        if rng.random() < 0.5:
            address = lines.count + int(rng.integers(0, 3)) * 37
            frame.insert(0, [address | (1 << ADDRESS_BITS), 0])
            bad_address += 1
        if rng.random() < 0.3:
            group = lines.groups[0]
            frame.insert(0, [group.offset | ((group.high + 1) << ADDRESS_BITS), 0])
            bad_value += 1
    return bad_address, bad_value


def make_axi_case(chip, inputs, *, seed=0, bad_beats=False, states=True):
    plan = chip.plan
    samples = check_samples(plan.network, inputs)
    trace = simulate_samples(plan.network, samples, start_steps=plan.start_steps)
    frames = frames_of(input_beats(plan, samples))
    # The closing empty frame is one more step, from the cleared state (expected_final_states).
    closing = final_step(plan, trace.learning).spikes
    data = {
        "frames": frames,
        "expected_steps": expected_steps(plan, trace.spikes) + expected_steps(plan, closing),
        "pause_probability": PAUSES,
        "seed": seed,
    }
    if states:
        data["expected_final_states"] = expected_final_states(plan, trace.learning)
    if bad_beats:
        rng = np.random.default_rng(seed)
        data["expected_dropped_address"], data["expected_dropped_value"] = add_bad_beats(
            plan, frames, rng
        )
    return chip.axi_top(), data


def run(top, data, simulator, build_dir):
    run_cocotb(
        top,
        toplevel="neurohw_axi_system",
        test_module="bench_axi_system",
        simulator=simulator,
        build_dir=build_dir,
        test_data=data,
    )


# ---------------------------------------------------------------------------------------------
# Without a simulator.


def test_input_beats_frame_every_step():
    network, chip = small_chip()
    inputs = random_inputs(network, 1, steps=3, samples=2)
    beats = input_beats(chip.plan, inputs)
    frames = frames_of(beats)
    # One frame per step, and one more that brings the last step's outputs out.
    assert len(frames) == 3 * 2 + 1
    assert frames[-1] == [[0, int(InFlag.NO_EVENT)]]
    ends = [frame[-1][1] & InFlag.END_OF_SAMPLE for frame in frames]
    assert [bool(e) for e in ends] == [False, False, True, False, False, True, False]


def test_output_bases_cover_the_output_populations():
    _network, chip = small_chip()
    plan = chip.plan
    bases = output_bases(plan)
    first = plan.network.outputs[0]
    assert min(bases[c.index] for c in plan.cores_of(first)) == 0


class OnSync(wiring.Component):
    """An AxiSystem inside an Amaranth design that has its own ``sync`` domain (aclk/aresetn
    from it): ports ``clk``/``rst`` and the AXI signals."""

    def __init__(self, inner):
        self.inner = inner
        members = dict(inner.signature.members)
        del members["aclk"], members["aresetn"]
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        m.d.comb += [inner.aclk.eq(ClockSignal()), inner.aresetn.eq(~ResetSignal())]
        for name, member in self.signature.members.items():
            if member.flow == In:
                m.d.comb += getattr(inner, name).eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(getattr(inner, name))
        # A register of the parent's own sync domain beside it.
        seen = Signal()
        m.d.sync += seen.eq(self.m_axis_tvalid)
        return m


def test_axi_system_sits_in_a_design_with_its_own_sync_domain():
    _network, chip = small_chip()
    text = verilog.convert(OnSync(chip.axi_top()), name="soc", emit_src=False)
    assert "module soc(" in text


# ---------------------------------------------------------------------------------------------
# RTL.


def test_axi_small_chip(simulator, sim_build_dir):
    """A 4-core chip, 3 samples of 4 steps under random pauses both ways, with bad beats and
    the final states read by AxiChip; then the C driver on the same build."""
    network, chip = small_chip()
    assert chip.plan.n_cores >= 3
    inputs = random_inputs(network, 1, steps=4, samples=3)
    top, data = make_axi_case(chip, inputs, seed=1, bad_beats=True)
    assert data["expected_dropped_address"] > 0 and data["expected_dropped_value"] > 0
    assert sum(len(step) for step in data["expected_steps"]) > 0
    run(top, data, simulator, sim_build_dir)
    # The same design again (no rebuild), its registers driven by the C driver.
    check_c_driver(chip, network, simulator, sim_build_dir)


def test_axi_learning_chip(simulator, sim_build_dir):
    """STDP with delays on a population split over cores: outputs, and at the end every
    plastic weight and trace read through the registers; learning switched off and on per core
    (``AxiChip.set_learning``). CI on Icarus; Verilator in the slow set."""
    if simulator != "icarus":
        pytest.skip(f"the learning chip on {simulator} runs in the slow set")
    _check_learning_chip(simulator, sim_build_dir)


@pytest.mark.slow
def test_axi_learning_chip_slow(simulator, sim_build_dir):
    if simulator == "icarus":
        pytest.skip("the learning chip on icarus runs in CI")
    _check_learning_chip(simulator, sim_build_dir)


def _check_learning_chip(simulator, build_dir):
    network = random_learning_network(1)
    chip = Chip(map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64)))
    inputs = random_inputs(network, 1, steps=4, samples=2)
    top, data = make_axi_case(chip, inputs, seed=4)
    data["learning_cores"] = [core.index for core in chip.plan.cores if core.stdp is not None]
    assert data["learning_cores"]
    run(top, data, simulator, build_dir)


class ValidDroppingTop(wiring.Component):
    """A planted bug for the protocol checker: the chip's AxiSystem with ``m_axis_tvalid``
    forced low every other cycle, whether or not its word was taken."""

    def __init__(self, inner):
        self.inner = inner
        super().__init__(dict(inner.signature.members))

    def elaborate(self, platform):
        m = Module()
        m.submodules.inner = inner = self.inner
        m.domains.planted = planted = ClockDomain("planted", local=True)
        m.d.comb += [planted.clk.eq(self.aclk), planted.rst.eq(~self.aresetn)]
        toggle = Signal()
        m.d.planted += toggle.eq(~toggle)
        for name, member in self.signature.members.items():
            if name in ("m_axis_tvalid", "m_axis_tready"):
                continue
            if member.flow == In:
                m.d.comb += getattr(inner, name).eq(getattr(self, name))
            else:
                m.d.comb += getattr(self, name).eq(getattr(inner, name))
        m.d.comb += [
            self.m_axis_tvalid.eq(inner.m_axis_tvalid & toggle),
            inner.m_axis_tready.eq(self.m_axis_tready & toggle),
        ]
        return m


def test_axi_checker_catches_a_dropped_valid(simulator, sim_build_dir):
    """The protocol checker fails on a planted bug (:class:`ValidDroppingTop`). CI runs it on
    Icarus (the checker is the bench's Python, the same on both); Verilator in the slow set."""
    if simulator != "icarus":
        pytest.skip(f"the planted bug on {simulator} runs in the slow set")
    _check_planted_bug(simulator, sim_build_dir)


@pytest.mark.slow
def test_axi_checker_catches_a_dropped_valid_slow(simulator, sim_build_dir):
    if simulator == "icarus":
        pytest.skip("the planted bug on icarus runs in CI")
    _check_planted_bug(simulator, sim_build_dir)


def _check_planted_bug(simulator, sim_build_dir):
    network, chip = small_chip()
    inputs = random_inputs(network, 1, steps=2, samples=1)
    top, data = make_axi_case(chip, inputs, seed=2, states=False)
    with pytest.raises(CocotbTestFailure, match="m_axis: VALID dropped before the handshake"):
        run(ValidDroppingTop(top), data, simulator, sim_build_dir)


def check_c_driver(chip, network, simulator, build_dir):
    """``neurohw_driver.c``, compiled with gcc as a shared library, loaded with ctypes, its
    read32/write32 AXI4-Lite transactions on the RTL (cocotb.task.bridge/resume): init, a
    state write read back, a refused command, a counter, a soft reset that clears it."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip(
            "gcc is not installed: the C driver was not compiled nor run (the RTL checks passed)"
        )
    source = build_dir / "c"
    paths = write_c_driver(source)
    library = build_dir / "libneurohw_driver.so"
    subprocess.run(
        [gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-shared", "-fPIC"]
        + ["-o", str(library), str(source / "neurohw_driver.c")],
        check=True,
    )
    assert [p.name for p in paths] == ["neurohw_regs.h", "neurohw_driver.h", "neurohw_driver.c"]
    inputs = random_inputs(network, 3, steps=2, samples=1)
    top, data = make_axi_case(chip, inputs, seed=3, bad_beats=True, states=False)
    # Wider than the command's core field (SystemTop: max(1, (n - 1).bit_length()) bits).
    bad_core = 1 << max(1, (chip.plan.n_cores - 1).bit_length())
    data["c_driver"] = str(library)
    data["c_checks"] = {"write": [1, int(Target.V), 2, 0, -123], "bad_core": bad_core}
    run(top, data, simulator, build_dir)
    report = json.loads((build_dir / "axi_results.json").read_text())["c_driver"]
    assert report == {
        "init": 0,
        "write": 0,
        "read_back": 0,
        "value": -123,
        "bad_core": -4,  # NEUROHW_ECMD
        "counter": 0,
        "dropped_address": data["expected_dropped_address"],
        "soft_reset": 0,
        "counter_after_reset": 0,
        "dropped_address_after_reset": 0,
    }


@pytest.mark.slow
def test_axi_digits_chip(simulator, sim_build_dir):
    """The digits chip (``neurohw example``'s network: 64 inputs, 64 hidden and 10 output
    neurons on two cores) through the AXI wrapper: three test images back to back under random
    pauses, every output spike and final state against the model, with bad beats; then the C
    driver's register checks on the same chip."""
    from neurohw.boards.system import digits_plan
    from neurohw.train import digits

    chip = Chip(digits_plan(seed=1))
    counts, _labels = digits.test_set(limit=3)
    (group,) = chip.plan.network.inputs
    inputs = {group: counts}
    top, data = make_axi_case(chip, inputs, seed=5, bad_beats=True)
    run(top, data, simulator, sim_build_dir)
    # The same chip controlled by the C driver through its AXI-Lite registers.
    check_c_driver(chip, chip.plan.network, simulator, sim_build_dir)
