"""The chip's sample-by-sample semantics with delays and STDP: ``simulate_samples`` (the network
model) against ``simulate_plan`` (the mapped chip, core by core, event by event), and the
mapping's handling of delays and plastic projections."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurohw.model import NeuronParams
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate, simulate_samples
from neurohw.network.mapping import MappingError, map_network
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_delays import random_delays
from tests.test_plan_model import check_plan_against_system
from tests.test_stdp import stdp_params

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
RECORD = ("spikes", "v", "i", "refractory")


def rules(weight_width):
    """Random STDP rules whose bounds fit ``weight_width``-bit weights."""
    high = (1 << (weight_width - 1)) - 1
    return stdp_params(low=-high - 1, high=high)


def make_learning(network, rng, rule_of):
    """A copy of ``network`` in which every projection onto one random population (if it has
    any) is plastic under one rule: that population gets input_count_cap=1, its weights are
    clipped into the rule's bounds, and a few zero weights become synapses."""
    candidates = sorted({p.target for p in network.projections})
    if not candidates:
        return network, None
    learner = candidates[int(rng.integers(0, len(candidates)))]
    population = network.populations[learner]
    rule = rule_of(population.weight_width)
    populations = [
        Population(
            p.name,
            p.size,
            p.params.replace(input_count_cap=1) if p.name == learner else p.params,
            p.weight_width,
            p.max_delay,
        )
        for p in network.populations.values()
    ]
    projections = []
    for p in network.projections:
        if p.target != learner:
            projections.append(p)
            continue
        mask = p.synapse_mask | (rng.random(p.weights.shape) < 0.2)
        weights = np.where(mask, np.clip(p.weights, rule.w_min, rule.w_max), 0)
        delays = None
        if p.delays is not None:
            delays = np.where(mask, np.maximum(p.delays, 1), 0)
        projections.append(
            Projection(
                p.source, p.target, weights, p.channel, delays, synapses=mask, plasticity=rule
            )
        )
    return Network(
        inputs=list(network.inputs.values()),
        populations=populations,
        projections=projections,
        outputs=network.outputs,
    ), learner


def check_plan_against_samples(plan, network, inputs):
    """Spikes and states as in tests/test_plan_model.py, against ``simulate_samples``, and
    every learning core's final weights against the projections' learned weights."""
    trace, reference = check_plan_against_system(
        plan, network, inputs, reference_model=simulate_samples
    )
    for core in plan.cores:
        if core.stdp is None:
            continue
        part = slice(core.neuron_start, core.neuron_stop)
        learned = trace.weights[core.index]
        for block in core.axon_blocks:
            rows = slice(block.axon_start, block.axon_start + block.count)
            lines = slice(block.source_start, block.source_start + block.count)
            for channel in range(learned.shape[0]):
                key = (block.source, core.population, channel)
                if key in reference.learning:
                    np.testing.assert_array_equal(
                        learned[channel, rows],
                        reference.learning[key].weights[0][lines, part],
                        err_msg=f"core {core.index} weights from {key}",
                    )
    return trace, reference


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_plan_model_with_delays_and_stdp_equals_samples_model(data, seed):
    """Random networks with random delays, one population learning under a random rule,
    random mappings (cores split, lanes, star/mesh), several samples back to back."""
    rng = np.random.default_rng(seed)
    network = data.draw(networks(max_size=7, max_populations=3))
    network = random_delays(network, rng, 4)
    network, learner = make_learning(network, rng, lambda width: data.draw(rules(width)))
    inputs = data.draw(network_inputs(network, max_steps=6, max_batch=3))
    try:
        plan = map_network(network, **data.draw(mapping_options(network)))
    except MappingError:
        assume(False)
    trace, reference = check_plan_against_samples(plan, network, inputs)
    if learner is not None:
        assert any(core.stdp is not None for core in plan.cores)


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_samples_model_without_learning_is_the_batch_model(data, seed):
    network = random_delays(
        data.draw(networks(max_size=6, max_populations=3)), np.random.default_rng(seed), 3
    )
    inputs = data.draw(network_inputs(network, max_steps=5, max_batch=3))
    batched = simulate(network, inputs, record=RECORD)
    samples = simulate_samples(network, inputs, record=RECORD)
    for what in RECORD:
        for name in network.populations:
            np.testing.assert_array_equal(
                getattr(samples, what)[name], getattr(batched, what)[name]
            )
    for name in network.populations:
        np.testing.assert_array_equal(samples.final_state[name].v, batched.final_state[name].v)


def plastic_pair(cap=1, rule=STDPParams(w_min=0, w_max=50), **projection):
    params = NeuronParams(threshold=30, v_width=12, input_count_cap=cap)
    weights = np.array([[10, 0, 3], [0, 20, 0]])
    return Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("p", 3, params, weight_width=8, max_delay=2)],
        projections=[
            Projection(
                "x",
                "p",
                weights,
                plasticity=rule,
                synapses=np.array([[1, 0, 1], [1, 1, 0]], bool),
                **projection,
            )
        ],
        outputs=["p"],
    )


def test_samples_model_carries_learning_across_samples():
    network = plastic_pair(
        rule=STDPParams(
            w_min=0, w_max=50, a_plus=1, a_minus=2, shift=6, pre_increment=100, post_increment=100
        )
    )
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(12, 3, 2))
    samples = simulate_samples(network, {"x": x})
    carried = None
    for k in range(3):
        one = simulate(network, {"x": x[:, k : k + 1]}, learning=carried)
        np.testing.assert_array_equal(samples.spikes["p"][:, k], one.spikes["p"][:, 0])
        carried = one.learning
    np.testing.assert_array_equal(samples.weights[("x", "p", 0)], carried[("x", "p", 0)].weights)
    # ... which is not what independent batch elements learn.
    assert not np.array_equal(
        samples.weights[("x", "p", 0)][0], simulate(network, {"x": x}).weights[("x", "p", 0)][2]
    )


def test_mapping_keeps_delays_and_learning():
    delays = np.array([[2, 0, 1], [1, 2, 0]])
    plan = map_network(plastic_pair(delays=delays))
    [core] = plan.cores
    assert core.max_delay == 2 and core.connectivity == "dense"
    np.testing.assert_array_equal(core.delays[0], delays)
    np.testing.assert_array_equal(core.plastic[0], [[1, 0, 1], [1, 1, 0]])
    assert core.stdp == STDPParams(w_min=0, w_max=50)
    # The zero-weight synapse (1, 0) is routed: it can grow.
    assert plan.connectivity[plan.input_key("x", 1)] == {0}


def test_mapping_refuses_learning_it_cannot_do():
    with pytest.raises(
        MappingError,
        match=re.escape(
            "projection 'x' -> 'p' is plastic, so population 'p' needs input_count_cap=1 (a core "
            "depresses an axon's row on its first event of a step), not 2; learning sees any "
            "count as one spike"
        ),
    ):
        map_network(plastic_pair(cap=2))
    with pytest.raises(
        MappingError,
        match=re.escape(
            "connectivity='sparse' cannot learn: population(s) 'p' have plastic inputs, and a "
            "core's potentiation walks a dense weight column; use connectivity='auto' or "
            "'dense'"
        ),
    ):
        map_network(plastic_pair(), connectivity="sparse")
    network = plastic_pair()
    other = Projection(
        "x",
        "p",
        np.array([[1, 0, 0], [0, 0, 1]]),
        channel=1,
        plasticity=STDPParams(w_min=0, w_max=40),
    )
    params = network.populations["p"].params.replace(
        n_currents=2, i_decay=(network.populations["p"].params.v_decay,) * 2
    )
    two = Network(
        inputs=list(network.inputs.values()),
        populations=[Population("p", 3, params, weight_width=8)],
        projections=[
            Projection(
                "x",
                "p",
                np.array([[10, 0, 3], [0, 20, 0]]),
                plasticity=STDPParams(w_min=0, w_max=50),
            ),
            other,
        ],
        outputs=["p"],
    )
    with pytest.raises(
        MappingError,
        match=re.escape(
            "projection 'x' -> 'p' has STDP parameters that differ from another plastic "
            "projection onto 'p': a core has one STDP rule; give them the same STDPParams"
        ),
    ):
        map_network(two)
