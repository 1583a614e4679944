# amaranth: UnusedElaboratable=no
"""The chip's activity counters (``Chip(..., activity_counters=True)``, docs/system-hardware.md
"Activity counters") against the plan model's prediction
(:func:`neurohw.network.plan_model.predict_activity_counters`): the system bench reads every
counter after the run and fails on any difference, on every simulator."""

from __future__ import annotations

import dataclasses
import re

import pytest

from neurohw import Chip
from neurohw.flows.energy import chip_activity, counted_activity
from neurohw.flows.energy_report import energy_markdown
from neurohw.flows.metrics import neurobench_metrics
from neurohw.flows.system import verify_system
from neurohw.hw.chip_design import ChipDesign
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.network.plan_model import predict_activity_counters, simulate_plan
from neurohw.sim.system_case import random_inputs, random_network


def _plan(seed=1, connectivity="auto", topology="star"):
    network = random_network(seed)
    plan = map_network(
        network,
        capacity=CoreCapacity(max_neurons=4, max_axons=64),
        topology=topology,
        connectivity=connectivity,
    )
    return network, plan


def test_counters_off_by_default_and_need_the_debug_port():
    _, plan = _plan()
    assert ChipDesign(plan).activity_counters is False
    with pytest.raises(
        ValueError,
        match=re.escape(
            "activity_counters=True needs debug=True: the cores' counters are read "
            "through the debug port"
        ),
    ):
        ChipDesign(plan, debug=False, activity_counters=True)
    with pytest.raises(
        TypeError, match=re.escape("activity_counters must be True or False, not 1")
    ):
        ChipDesign(plan, activity_counters=1)


def test_prediction_follows_the_plan_model():
    network, plan = _plan()
    inputs = random_inputs(network, 1, steps=5, samples=3)
    trace = simulate_plan(plan, inputs)
    counters = predict_activity_counters(plan, inputs)
    for core, counts in zip(plan.cores, counters.cores):
        assert counts["APPLIED_EVENTS"] == trace.events_per_step[core.index].sum()
        assert counts["NEURON_UPDATES"] == core.n_neurons * (5 * 3 + 1)
    assert counters.host_words_out >= 5 * 3 + 2
    top = counters.saturated(width=2)
    assert max(v for core in top.cores for v in core.values()) <= 3
    accesses = counters.memory_accesses(plan)
    assert accesses[0]["weight_reads"] == counters.cores[0]["SYNAPTIC_OPS"] * (
        plan.cores[0].params.input_channels
    )


# CI runs one case per simulator (sparse on Icarus, dense on Verilator); the slow set runs the
# other two, so every (simulator, connectivity) pair is checked somewhere.
_CI_CASES = {("icarus", "sparse"), ("verilator", "dense")}


@pytest.mark.parametrize("connectivity", ["dense", "sparse"])
def test_rtl_counters_equal_the_model(simulator, sim_build_dir, connectivity):
    if (simulator, connectivity) not in _CI_CASES:
        pytest.skip(f"{connectivity} on {simulator} runs in the slow set (test_rtl_counters_slow)")
    _check_rtl_counters(simulator, sim_build_dir, connectivity)


@pytest.mark.slow
@pytest.mark.parametrize("connectivity", ["dense", "sparse"])
def test_rtl_counters_slow(simulator, sim_build_dir, connectivity):
    if (simulator, connectivity) in _CI_CASES:
        pytest.skip(f"{connectivity} on {simulator} runs in CI (test_rtl_counters_equal_the_model)")
    _check_rtl_counters(simulator, sim_build_dir, connectivity)


def _check_rtl_counters(simulator, sim_build_dir, connectivity):
    # The dense case on a mesh: its router hops follow multi-hop X-then-Y trees.
    topology = "mesh" if connectivity == "dense" else "star"
    network, plan = _plan(connectivity=connectivity, topology=topology)
    inputs = random_inputs(network, 1, steps=4, samples=2)
    chip = Chip(plan, activity_counters=True)
    result = verify_system(chip, inputs, simulator=simulator, build_dir=sim_build_dir, seed=1)
    assert result.windows_compared == 8
    predicted = predict_activity_counters(plan, inputs)
    assert result.activity == predicted
    assert result.activity.router_hops == predicted.router_hops > 0
    # The bench compared the cycle counter with its own count.
    assert result.activity.cycles == result.cycles > 0
    # The energy model on the RTL-counted activity: the weight reads are the model's, the
    # router hops and cycles the chip's.
    model = chip_activity(plan, inputs)
    counted = counted_activity(plan, result.activity, 2, model)
    assert counted.weight_reads == model.weight_reads > 0
    assert counted.router_hops == result.activity.router_hops / 2
    assert counted.cycles == result.cycles / 2


def test_hops_follow_the_routing_trees():
    from neurohw.network.plan_model import event_hops

    _, star = _plan()
    # A star delivers each event once per destination port: one hop per delivery.
    for key, targets in star.connectivity.items():
        assert event_hops(star, key // star.keys_per_endpoint, key) == len(targets)
    _, mesh = _plan(topology="mesh")
    K = mesh.keys_per_endpoint
    for key, targets in mesh.connectivity.items():
        source = key // K
        hops = event_hops(mesh, source, key)
        # At least one local port per target and at least the farthest target's distance,
        # at most the sum of the X-then-Y paths (shared links counted once).
        paths = [_manhattan(mesh, source, t) for t in targets]
        assert max(paths) + len(targets) <= hops <= sum(paths) + len(targets)


def _manhattan(plan, a, b):
    (ax, ay), (bx, by) = plan.topology.cores[a], plan.topology.cores[b]
    return abs(ax - bx) + abs(ay - by)


def test_report_says_rtl_counted_activity_equals_the_model():
    counters = {"cores": [], "host_words_in": 1, "host_words_out": 2}
    report = {
        "neurobench": dataclasses.asdict(
            neurobench_metrics(_plan()[0], random_inputs(_plan()[0], 1, steps=2, samples=1))
        ),
        "energy": {"samples": 1, "tables": []},
    }
    report["energy"]["rtl_counted"] = {
        "simulators": ["icarus", "verilator"],
        "samples": 10,
        "counters": counters,
    }
    assert (
        "RTL-counted activity == model: the chip's activity counters after 10 samples on "
        "icarus, verilator equal the plan model's prediction" in "\n".join(energy_markdown(report))
    )
    counters |= {"router_hops": 1234, "cycles": 56789}
    assert (
        "Router hops counted: 1,234; cycles counted from the first host word to the last "
        "sample's barrier: 56,789 (equal to the testbench's count)."
        in "\n".join(energy_markdown(report))
    )


def test_core_option_and_status_words():
    from neurohw.hw.core_config import ActivityStatus, CoreConfig, Status
    from neurohw.model import loihi_cuba_lif

    params = loihi_cuba_lif(du=4095, dv=600, vth=30)
    plain = CoreConfig(params, n_neurons=5, n_axons=3, weight_width=4)
    counted = CoreConfig(params, n_neurons=5, n_axons=3, weight_width=4, activity_counters=True)
    assert plain.n_status == len(Status)
    assert counted.n_status == max(ActivityStatus) + 1
    assert "SYNAPTIC_OPS_HIGH" not in plain.port_description()["status"]
    assert counted.port_description()["status"]["SYNAPTIC_OPS_HIGH"] == 8
    with pytest.raises(
        TypeError, match=re.escape("activity_counters must be True or False, not 'yes'")
    ):
        CoreConfig(params, n_neurons=5, n_axons=3, weight_width=4, activity_counters="yes")


# Like any refused Amaranth component, the half-built top is reported as unused.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_system_counters_need_the_debug_port():
    from neurohw.hw.system import SystemTop

    _, plan = _plan()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "counters=True needs debug=True: the cores' activity counters are read through dbg_cmd"
        ),
    ):
        SystemTop(plan, debug=False, counters=True)


def test_network_hops_option_is_a_bool():
    from neurohw.hw.topology import StarNetwork

    _, plan = _plan()
    with pytest.raises(TypeError, match=re.escape("hops must be True or False, not 1")):
        StarNetwork(plan.topology, plan.connectivity, fmt=plan.fmt, hops=1)


def test_snapshots_add_up_to_the_run():
    from neurohw.network.host_events import encode_samples
    from neurohw.network.plan_model import predict_activity_snapshots, snapshot_word_ends

    network, plan = _plan(topology="mesh")
    inputs = random_inputs(network, 1, steps=4, samples=3)
    snapshots = predict_activity_snapshots(plan, inputs)
    total = predict_activity_counters(plan, inputs)
    assert len(snapshots) == 3
    # Each sample's own activity: every neuron swept once per step; the first sample's host
    # words are its chunk of the host stream.
    first, *_ = snapshots
    per_sample = [b - a for a, b in zip([first - first, *snapshots], snapshots)]
    for counts in per_sample:
        for core, c in zip(plan.cores, counts.cores):
            assert c["NEURON_UPDATES"] == core.n_neurons * 4
    assert sum(s.cores[0]["APPLIED_EVENTS"] for s in per_sample) == total.cores[0]["APPLIED_EVENTS"]
    ends = snapshot_word_ends(plan, encode_samples(plan, inputs), 4)
    assert [s.host_words_in for s in snapshots] == ends
    assert len(encode_samples(plan, inputs)) == ends[-1] + 1 == total.host_words_in
    # The last snapshot and the end of the run (the final barrier, one sweep, its spikes).
    rest = total - snapshots[-1]
    assert rest.host_words_in == 1
    assert all(c["NEURON_UPDATES"] == core.n_neurons for core, c in zip(plan.cores, rest.cores))
    assert all(c["APPLIED_EVENTS"] == c["SYNAPTIC_OPS"] == 0 for c in rest.cores)


def test_snapshots_need_counters():
    network, plan = _plan()
    inputs = random_inputs(network, 1, steps=2, samples=1)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "activity_per_sample=True needs a chip with activity counters "
            "(Chip(..., activity_counters=True))"
        ),
    ):
        verify_system(Chip(plan), inputs, simulator="icarus", activity_per_sample=True)
    with pytest.raises(
        TypeError, match=re.escape("activity_per_sample must be True or False, not 1")
    ):
        verify_system(Chip(plan), inputs, simulator="icarus", activity_per_sample=1)


@pytest.mark.parametrize("connectivity", ["sparse", "dense"])
def test_rtl_counters_per_sample(simulator, sim_build_dir, connectivity):
    # Read between samples: each sample's activity straight from the hardware, equal to the
    # model's (the bench fails on any difference in any read). CI runs the sparse star on
    # Icarus and the dense mesh on Verilator, as test_rtl_counters_equal_the_model.
    if (simulator, connectivity) not in _CI_CASES:
        pytest.skip(f"{connectivity} on {simulator} runs in the slow set")
    _check_per_sample(simulator, sim_build_dir, connectivity)


@pytest.mark.slow
@pytest.mark.parametrize("connectivity", ["sparse", "dense"])
def test_rtl_counters_per_sample_slow(simulator, sim_build_dir, connectivity):
    if (simulator, connectivity) in _CI_CASES:
        pytest.skip(f"{connectivity} on {simulator} runs in CI")
    _check_per_sample(simulator, sim_build_dir, connectivity)


def _check_per_sample(simulator, sim_build_dir, connectivity):
    from neurohw.network.plan_model import predict_activity_snapshots

    topology = "mesh" if connectivity == "dense" else "star"
    network, plan = _plan(connectivity=connectivity, topology=topology)
    inputs = random_inputs(network, 1, steps=4, samples=3)
    chip = Chip(plan, activity_counters=True)
    result = verify_system(
        chip, inputs, simulator=simulator, build_dir=sim_build_dir, seed=1, activity_per_sample=True
    )
    assert result.activity == predict_activity_counters(plan, inputs)
    snapshots = predict_activity_snapshots(plan, inputs)
    model = [b - a for a, b in zip([snapshots[0] - snapshots[0], *snapshots], snapshots)]
    assert list(result.activity_per_sample) == model
    # The per-sample cycles are each sample's own (the holds between samples left out).
    assert [s.cycles for s in result.activity_per_sample] == list(result.cycles_per_sample)
    assert all(s.cycles > 0 for s in result.activity_per_sample)
    assert result.cycles > sum(result.cycles_per_sample)
