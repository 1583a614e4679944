"""Graded spikes between populations (``map_network(graded_spikes=True)``, ``docs/system.md``
"Graded spikes between populations"): which axon blocks go graded, their caps and bounds, the
plan model against the network model (the result must not change, only events), refusals, and
Verilog unchanged where nothing goes graded. The chip in RTL: ``tests/test_system_sim.py``
(``test_graded_spikes``) and ``tests/test_report.py`` (the cycle estimate)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurohw.cli import main
from neurohw.flows.system import generate_system_verilog
from neurohw.model import Decay, NeuronParams, ResetMode
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate
from neurohw.network.mapping import CoreCapacity, MappingError, map_network
from neurohw.network.plan_model import simulate_plan
from neurohw.sim.system_case import random_inputs, random_xylo_network
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_plan_model import EQUIVALENCE, _map, check_plan_against_system

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def _multi(max_spikes=7, cap=None):
    return NeuronParams(
        v_width=14,
        v_decay=Decay.shift(3),
        threshold=10,
        reset=ResetMode.SUBTRACT,
        max_spikes=max_spikes,
        input_count_cap=cap,
    )


def _chain(*, h_spikes=7, o_cap=None, projection_cap=None, stdp=False):
    """``x -> h -> o``: ``h`` fires up to ``h_spikes`` a step; ``o`` has ``input_count_cap=o_cap``
    and the ``h -> o`` projection ``count_cap=projection_cap`` (or STDP)."""
    rng = np.random.default_rng(0)
    return Network(
        inputs=[InputGroup("x", 3, max_count=3)],
        populations=[
            Population("h", 6, _multi(h_spikes)),
            Population("o", 4, _multi(1, 1 if stdp else o_cap)),
        ],
        projections=[
            Projection("x", "h", rng.integers(0, 60, (3, 6))),
            Projection(
                "h",
                "o",
                rng.integers(1, 60, (6, 4)),
                count_cap=projection_cap,
                plasticity=STDPParams() if stdp else None,
            ),
        ],
        outputs=["o"],
    )


def _block(plan, source, target):
    (core,) = plan.cores_of(target)
    (block,) = [b for b in core.axon_blocks if b.source == source]
    return core, block


@pytest.mark.parametrize(
    "o_cap,projection_cap,graded,cap,bound",
    [
        (None, None, True, None, 6 * 7),
        (None, 3, True, 3, 6 * 3),
        (2, None, True, 2, 6 * 2),  # the target's own cap folds into the block's
        (5, 3, True, 3, 6 * 3),
        (3, 5, True, 3, 6 * 3),
        (None, 9, True, None, 6 * 7),  # a cap the source cannot reach is left out
        (1, None, False, None, 6 * 1),  # at most one spike per step: counted, as before
        (None, 1, False, 1, 6 * 1),
    ],
)
def test_which_blocks_go_graded(o_cap, projection_cap, graded, cap, bound):
    """A population's block goes graded when it can carry more than one spike per step; its
    cap is the smaller of the projection's and the target's (the core caps no value), and
    ``max_events_per_step`` is what count expansion gives. Input groups stay counted."""
    network = _chain(o_cap=o_cap, projection_cap=projection_cap)
    plan = map_network(network, graded_spikes=True)
    core, block = _block(plan, "h", "o")
    assert (block.graded, block.signed, block.count_cap) == (graded, False, cap)
    assert core.max_events_per_step == bound
    assert map_network(network).cores_of("o")[0].max_events_per_step == bound
    assert not _block(plan, "x", "h")[1].graded
    assert plan.fmt == map_network(network).fmt


def test_single_spike_and_learning_targets_stay_counted():
    """``max_spikes=1`` sources and learning targets (whose cap is 1) keep count expansion, so
    their chips are exactly the default ones."""
    for network in (_chain(h_spikes=1), _chain(stdp=True)):
        plan = map_network(network, graded_spikes=True)
        assert not any(core.graded for core in plan.cores)


def test_refuses_a_non_boolean_option():
    with pytest.raises(
        MappingError, match=re.escape("graded_spikes must be True or False, not 'auto'") + r"\Z"
    ):
        map_network(_chain(), graded_spikes="auto")


def test_result_unchanged_and_events_fewer():
    """The Xylo-style network (recurrent cap 3 binds): the same spikes and states as
    simulate, with fewer events and synaptic operations than count expansion."""
    network = random_xylo_network(0)
    capacity = CoreCapacity(max_neurons=4, max_axons=64)
    inputs = random_inputs(network, 0, steps=6, samples=2, density=0.6)
    counted = map_network(network, capacity=capacity)
    graded = map_network(network, capacity=capacity, graded_spikes=True)
    check_plan_against_system(graded, network, inputs)
    a, b = simulate_plan(counted, inputs), simulate_plan(graded, inputs)
    assert (simulate(network, inputs).spikes["h"][:-1] > 3).any()
    assert b.events_per_step.sum() < a.events_per_step.sum()
    assert (b.synaptic_ops <= a.synaptic_ops).all() and b.synaptic_ops.sum() < a.synaptic_ops.sum()


@st.composite
def multi_spike_networks(draw):
    """A counted input onto 2-3 populations that fire several spikes a step (subtract reset,
    low thresholds), random (often recurrent) projections with shifts, and caps, both the
    projections' and the targets' own, small enough to bind."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    caps = st.sampled_from([None, None, 1, 2, 3, 5])
    populations = [
        Population(
            f"p{index}",
            draw(st.integers(1, 7)),
            NeuronParams(
                v_width=12,
                v_decay=Decay.shift(draw(st.integers(1, 4))),
                threshold=draw(st.integers(1, 12)),
                reset=ResetMode.SUBTRACT,
                max_spikes=draw(st.integers(1, 9)),
                input_count_cap=draw(caps),
                bias_mantissa=draw(st.integers(-2, 3)),
            ),
            weight_width=5,
        )
        for index in range(draw(st.integers(2, 3)))
    ]
    sizes = {"x": draw(st.integers(1, 5))} | {p.name: p.size for p in populations}
    projections = [
        Projection(
            source,
            target.name,
            rng.integers(-8, 15, (sizes[source], target.size))
            * (rng.random((sizes[source], target.size)) < 0.7),
            weight_shift=draw(st.integers(0, 2)),
            count_cap=draw(caps),
        )
        for target in populations
        for source in sizes
        if source == "x" or draw(st.booleans())
    ]
    return Network(
        inputs=[InputGroup("x", sizes["x"], max_count=draw(st.integers(1, 7)))],
        populations=populations,
        projections=projections,
        outputs=[populations[-1].name],
    )


@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model_multi_spike(data):
    """Multi-spike populations whose caps bind, mapped with graded spikes: the plan model
    equals simulate bit for bit, every core's state every step, and the bound holds."""
    network = data.draw(multi_spike_networks())
    plan = _map(network, data.draw(mapping_options(network)) | {"graded_spikes": True})
    inputs = data.draw(network_inputs(network, max_steps=6))
    trace, _ = check_plan_against_system(plan, network, inputs)
    for core in plan.cores:
        assert trace.events_per_step[core.index].max() <= core.max_events_per_step


@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model_with_graded_spikes(data):
    """Random networks (multi-spike populations, per-projection shifts and caps, graded and
    counted inputs) mapped with graded spikes: the plan model equals simulate bit for bit,
    every core's state every step, and the accumulator bound holds."""
    network = data.draw(networks(shifts_and_caps=True, graded=data.draw(st.booleans())))
    plan = _map(network, data.draw(mapping_options(network)) | {"graded_spikes": True})
    inputs = data.draw(network_inputs(network, max_steps=6))
    trace, _ = check_plan_against_system(plan, network, inputs)
    for core in plan.cores:
        assert trace.events_per_step[core.index].max() <= core.max_events_per_step


def test_verilog_unchanged_without_graded_blocks(tmp_path):
    """A network whose populations send one spike a step maps to byte-identical Verilog with
    ``graded_spikes=True``."""
    network = _chain(h_spikes=1)
    generate_system_verilog(map_network(network, graded_spikes=True), tmp_path / "g.v")
    generate_system_verilog(map_network(network), tmp_path / "c.v")
    assert (tmp_path / "g.v").read_bytes() == (tmp_path / "c.v").read_bytes()


@pytest.mark.needs_simulator("icarus")
def test_compile_with_graded_spikes(tmp_path):
    """``neurohw compile --graded-spikes``: the flow maps with the option (the report lists the
    graded sources of each core) and the RTL equals the model."""
    random_xylo_network(0).save(tmp_path / "xylo.npz")
    arguments = ["compile", str(tmp_path / "xylo.npz"), "-o", str(tmp_path / "o")]
    arguments += ["--device", "none", "--samples", "2", "--steps", "6", "--verify-samples", "2"]
    arguments += ["--simulator", "icarus", "--rate", "0.9", "--max-neurons", "4"]
    assert main([*arguments, "--graded-spikes"]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    cores = report["plan"]["cores"]
    assert [c["graded_sources"] for c in cores] == [["h", "h"], ["h", "h"], ["h", "h"]]
    (entry,) = report["verification"]
    assert entry["passed"] and entry["rtl_matches_model_per_sample"]
