"""Accumulation 'per_event' through the network layer, the mapper and the chip
(``docs/system.md`` "Per-event accumulation"): a recurrent Xylo network as Xylo builds it
(per-neuron shift decays, saturating 16-bit states, separate input and recurrent shifts and caps
15/31, multi-spike hidden neurons, a readout) against the per-core reference model with the
documented order, the plan model and the RTL on every simulator."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurohw.flows.system import verify_system
from neurohw.model import Decay, NeuronParams, xylo_lif
from neurohw.model.params import Accumulation, InputTiming
from neurohw.model.reference import StepInput, initial_state, step
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, NetworkError, Population, Projection, simulate
from neurohw.network.mapping import CoreCapacity, MappingError, map_network
from neurohw.network.plan_model import simulate_plan
from neurohw.network.system import event_order
from neurohw.sim.system_case import random_inputs, random_per_event_network

TRAFFIC = {
    "idle_probability": 0.2,
    "backpressure_probability": 0.3,
    "stall_probability": 0.02,
    "stall_cycles": 15,
}
CAPACITY = CoreCapacity(max_neurons=4, max_axons=64)


def _with_accumulation(network: Network, accumulation: Accumulation) -> Network:
    populations = [
        Population(p.name, p.size, p.params.replace(accumulation=accumulation), p.weight_width)
        for p in network.populations.values()
    ]
    return Network(
        inputs=network.inputs.values(),
        populations=populations,
        projections=network.projections,
        outputs=network.outputs,
    )


def _per_population_reference(network: Network, inputs, *, reverse=False):
    """The documented order written out by hand: for each population, one axon per source
    neuron, sources as input groups then populations in declaration order (each source's
    channels on the same axons), ascending source index; ``reverse`` flips it."""
    steps = next(iter(inputs.values())).shape[0]
    batch = next(iter(inputs.values())).shape[1]
    order = [*network.inputs, *network.populations]
    states = {
        name: initial_state(p.params, p.size, batch) for name, p in network.populations.items()
    }
    previous = {
        name: np.zeros((batch, p.size), dtype=np.int64) for name, p in network.populations.items()
    }
    spikes = {name: [] for name in network.populations}
    for t in range(steps):
        fired = {}
        for name, population in network.populations.items():
            counts, weights = [], []
            for source in order:
                onto = [p for p in network.projections if (p.source, p.target) == (source, name)]
                if not onto:
                    continue
                sent = inputs[source][t] if source in network.inputs else previous[source]
                block = np.zeros(
                    (population.params.input_channels, network.size(source), population.size),
                    dtype=np.int64,
                )
                caps = {p.count_cap for p in onto} - {None}
                for p in onto:
                    block[p.channel] = p.weights << p.weight_shift
                counts.append(np.minimum(sent, min(caps)) if caps else sent)
                weights.append(block)
            counts, weights = np.concatenate(counts, axis=1), np.concatenate(weights, axis=1)
            if reverse:
                counts, weights = counts[:, ::-1], weights[:, ::-1]
            states[name], fired[name] = step(
                population.params, states[name], StepInput(spikes=counts, weights=weights)
            )
            spikes[name].append(fired[name])
        previous = fired
    return {name: np.stack(s) for name, s in spikes.items()}


# ---------------------------------------------------------------------------------------------
# The model: the documented order, and that it matters.


@pytest.mark.parametrize("seed", range(3))
def test_network_order_is_the_documented_order(seed):
    network = random_per_event_network(seed)
    inputs = random_inputs(network, seed, steps=8, samples=3, density=0.6)
    got = simulate(network, inputs).spikes
    expected = _per_population_reference(network, inputs)
    for name in network.populations:
        np.testing.assert_array_equal(got[name], expected[name])
    # The order matters: reversed, or summed and saturated once, the spikes differ.
    reversed_ = _per_population_reference(network, inputs, reverse=True)
    summed = simulate(_with_accumulation(network, Accumulation.SUM), inputs).spikes
    assert not np.array_equal(got["h"], reversed_["h"])
    assert not np.array_equal(got["h"], summed["h"])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**20), n_in=st.integers(1, 6), n_h=st.integers(1, 9))
def test_network_order_property(seed, n_in, n_h):
    """Any size: simulate of a 'per_event' network is the per-population reference model fed
    the documented order, and the plan model (cores, keys, axon blocks) agrees."""
    network = random_per_event_network(seed, n_in=n_in, n_h=n_h, n_o=2)
    inputs = random_inputs(network, seed, steps=4, samples=2, density=0.6)
    got = simulate(network, inputs).spikes
    expected = _per_population_reference(network, inputs)
    for name in network.populations:
        np.testing.assert_array_equal(got[name], expected[name])
    plan = map_network(network, capacity=CoreCapacity(max_neurons=3, max_axons=64))
    trace = simulate_plan(plan, inputs)
    for name in network.populations:
        np.testing.assert_array_equal(trace.spikes[name], got[name])


def test_event_order_and_axon_layout():
    """Projections sorted by source (input groups, then populations, in declaration order,
    whatever order the projections are listed in), channels of one source together; the
    mapper's axon blocks follow it, so ascending axons are the network's order."""
    network = random_per_event_network(0)
    reordered = Network(
        inputs=network.inputs.values(),
        populations=network.populations.values(),
        projections=network.projections[::-1],
        outputs=network.outputs,
    )
    keys = [(p.source, p.channel) for p in event_order(reordered, "h")]
    assert keys == [("x", 0), ("x", 1), ("h", 0), ("h", 1)]
    plan = map_network(reordered, capacity=CAPACITY)
    for core in plan.cores:
        if core.population == "h":
            assert [(b.source, b.source_start) for b in core.axon_blocks][0] == ("x", 0)
            starts = [b.axon_start for b in core.axon_blocks]
            assert starts == sorted(starts)


def test_save_load_round_trip(tmp_path):
    network = random_per_event_network(1)
    network.save(tmp_path / "xylo.npz")
    assert Network.load(tmp_path / "xylo.npz") == network


# ---------------------------------------------------------------------------------------------
# Refusals, with their exact messages.


def _xylo(**kwargs):
    return xylo_lif(dash_mem=2, dash_syn=2, threshold=100, **kwargs)


def test_refused_with_delays():
    with pytest.raises(NetworkError) as info:
        Population("h", 3, _xylo(), max_delay=2)
    assert str(info.value) == (
        "population 'h' uses accumulation 'per_event' with max_delay=2; a delay ring holds "
        "pre-summed drives, which cannot keep the order of a step's adds: 'per_event' needs "
        "max_delay=1 (every delay 1)"
    )


def test_refused_graded_input_and_plasticity():
    h = Population("h", 2, _xylo())
    with pytest.raises(NetworkError) as info:
        Network(
            inputs=[InputGroup("g", 2, value_bits=4)],
            populations=[h],
            projections=[Projection("g", "h", np.ones((2, 2), dtype=int))],
            outputs=["h"],
        )
    assert str(info.value) == (
        "projection 'g' -> 'h': input group 'g' is graded (value_bits=4) and population 'h' "
        "uses accumulation 'per_event'; a core adds graded values only with accumulation "
        "'sum': feed a 'per_event' population from a spike-count input group"
    )
    rule = STDPParams(w_min=0, w_max=7, a_plus=1, a_minus=1, shift=2)
    with pytest.raises(NetworkError) as info:
        Network(
            inputs=[InputGroup("x", 2)],
            populations=[Population("h", 2, _xylo(input_count_cap=1))],
            projections=[Projection("x", "h", np.ones((2, 2), dtype=int), plasticity=rule)],
            outputs=["h"],
        )
    assert str(info.value) == (
        "projection 'x' -> 'h' is plastic and population 'h' uses accumulation 'per_event'; "
        "STDP is defined on cores that accumulate 'sum': give the target accumulation 'sum' "
        "or make the projection static"
    )


def _one_population(params):
    return Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("h", 2, params)],
        projections=[Projection("x", "h", np.ones((2, 2), dtype=int))],
        outputs=["h"],
    )


def test_mapper_refuses_drive_bias_and_after_decay():
    network = _one_population(_xylo().replace(drive_bias=3))
    simulate(network, {"x": np.ones((2, 1, 2), dtype=int)})  # the model defines it
    with pytest.raises(MappingError) as info:
        map_network(network)
    assert str(info.value) == (
        "population 'h' uses accumulation 'per_event' with a drive_bias; a core adds a drive "
        "bias into the step's summed drive, not as one add before the step's events: give the "
        "bias to an input line that carries one spike every step (the first line of the first "
        "input group adds first), or use accumulation 'sum'"
    )
    params = NeuronParams(
        n_currents=1,
        i_decay=(Decay.shift(2),),
        accumulation=Accumulation.PER_EVENT,
        input_timing=InputTiming.AFTER_DECAY,
    )
    with pytest.raises(MappingError, match=re.escape("with input_timing 'after_decay'; a core")):
        map_network(_one_population(params))


# ---------------------------------------------------------------------------------------------
# The chip: RTL == model every window (every spike of h and o), on every simulator.


def _xylo_chip(seed, n_in=5, n_h=8, n_o=3):
    network = random_per_event_network(seed, n_in=n_in, n_h=n_h, n_o=n_o)
    plan = map_network(network, capacity=CAPACITY)
    assert sum(core.population == "h" for core in plan.cores) >= 2
    assert all(core.params.accumulation is Accumulation.PER_EVENT for core in plan.cores)
    return network, plan


def test_per_event_chip(simulator, sim_build_dir):
    """``h`` split over two cores, so events from two cores and the host interleave in every
    window; the order matters here (the summed or reversed order gives other spikes, tested
    above), and a buffer bypassed or walked backwards fails this test."""
    network, plan = _xylo_chip(2)
    inputs = random_inputs(network, 2, steps=6, samples=2, density=0.6)
    assert (inputs["x"] > 15).any()  # the input cap acts
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=2
    )
    assert result.windows_compared == 12 and result.output_events_compared > 0
    expected = simulate(network, inputs).spikes
    for name in network.outputs:
        np.testing.assert_array_equal(result.output_spikes[name], expected[name])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_per_event_chip_slow(simulator, sim_build_dir, seed):
    network, plan = _xylo_chip(seed, n_in=9, n_h=14, n_o=4)
    inputs = random_inputs(network, seed, steps=10, samples=3, density=0.6)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=seed
    )
    assert result.windows_compared == 30 and result.output_events_compared > 0
