"""Synaptic delays in the network description and the system model (docs/learning.md)."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurohw.model import NeuronParams, StepInput, initial_state, step
from neurohw.network import (
    InputGroup,
    Network,
    NetworkError,
    Population,
    Projection,
    check_inputs,
    simulate,
)
from neurohw.network.mapping import map_network
from tests.network_strategies import network_inputs, networks

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RECORD = ("spikes", "v", "i", "refractory")
LIF = NeuronParams(threshold=20, v_width=12)


def rebuild(network, *, max_delay=None, delays=None, inputs=None, projections=None):
    """A copy of ``network`` with other populations' max_delay, projections' delays (a dict
    key -> array) or other projections."""
    max_delay = max_delay or {}
    delays = delays or {}
    populations = [
        Population(p.name, p.size, p.params, p.weight_width, max_delay.get(p.name, p.max_delay))
        for p in network.populations.values()
    ]
    if projections is None:
        projections = [
            Projection(p.source, p.target, p.weights, p.channel, delays.get(p.key, p.delays))
            for p in network.projections
        ]
    return Network(
        inputs=inputs if inputs is not None else list(network.inputs.values()),
        populations=populations,
        projections=projections,
        outputs=network.outputs,
    )


def random_delays(network, rng, largest):
    """Random delays 1..D_target on every synapse, D_target random in 1..largest."""
    depth = {name: int(rng.integers(1, largest, endpoint=True)) for name in network.populations}
    delays = {}
    for p in network.projections:
        d = rng.integers(1, depth[p.target], size=p.weights.shape, endpoint=True)
        delays[p.key] = np.where(p.synapse_mask, d, 0)
    return rebuild(network, max_delay=depth, delays=delays)


def independent_delayed(network, inputs):
    """The delay semantics written again, with a history instead of a ring: the drive of step
    t is sum over projections and delays d of (counts delivered at step t - d + 1, capped)
    @ (weights where delay == d); counts delivered at step s are the inputs of s or the
    source's spikes of s - 1."""
    steps, batch, counts = check_inputs(network, inputs)
    states = {
        name: initial_state(p.params, p.size, batch) for name, p in network.populations.items()
    }
    spikes = {
        name: np.zeros((steps, batch, p.size), dtype=np.int64)
        for name, p in network.populations.items()
    }
    out = {what: {name: [] for name in network.populations} for what in RECORD}

    def delivered(source, s):
        if s < 0:
            return np.zeros((batch, network.size(source)), dtype=np.int64)
        if source in counts:
            return counts[source][s]
        if s == 0:
            return np.zeros((batch, network.size(source)), dtype=np.int64)
        return spikes[source][s - 1]

    for t in range(steps):
        for name, population in network.populations.items():
            params = population.params
            drive = np.zeros((batch, params.input_channels, population.size), dtype=np.int64)
            for p in network.projections_to(name):
                delays = p.delays if p.delays is not None else np.where(p.synapse_mask, 1, 0)
                for j in range(p.weights.shape[0]):
                    for k in range(p.weights.shape[1]):
                        if not p.synapse_mask[j, k]:
                            continue
                        count = delivered(p.source, t - int(delays[j, k]) + 1)[:, j]
                        if params.input_count_cap is not None:
                            count = np.minimum(count, params.input_count_cap)
                        drive[:, p.channel, k] += count * int(p.weights[j, k])
            states[name], fired = step(params, states[name], StepInput(drive=drive))
            spikes[name][t] = fired
            out["spikes"][name].append(fired)
            for what in ("v", "i", "refractory"):
                out[what][name].append(getattr(states[name], what))
    return {what: {name: np.stack(v) for name, v in per.items()} for what, per in out.items()}


def assert_same(trace, other_trace_or_dict, network):
    for what in RECORD:
        expected = (
            other_trace_or_dict[what]
            if isinstance(other_trace_or_dict, dict)
            else getattr(other_trace_or_dict, what)
        )
        for name in network.populations:
            np.testing.assert_array_equal(
                getattr(trace, what)[name], expected[name], err_msg=f"{what} of {name}"
            )


# --- refusals ----------------------------------------------------------------------------------


def small(delays=None, max_delay=3, weights=None, source="x"):
    weights = np.array([[1, 0], [2, 3]]) if weights is None else weights
    return Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("p", 2, LIF, max_delay=max_delay)],
        projections=[Projection(source, "p", weights, delays=delays)],
        outputs=["p"],
    )


@pytest.mark.parametrize(
    "delays, message",
    [
        (
            np.array([[1, 0], [2]], dtype=object),
            "projection 'x' -> 'p': delays must be integers, not dtype object",
        ),
        (
            np.array([[1.0, 0.0], [2.0, 1.0]]),
            "projection 'x' -> 'p': delays must be integers, not dtype float64",
        ),
        (
            np.ones((2, 3), dtype=int),
            "projection 'x' -> 'p': delays must have the weights' shape (2, 2), not (2, 3)",
        ),
        (
            np.array([[1, 0], [0, 1]]),
            "projection 'x' -> 'p': delays[1, 0] = 0 on a synapse; a delay must be at least 1 step",
        ),
        (
            np.array([[-2, 0], [1, 1]]),
            "projection 'x' -> 'p': delays[0, 0] = -2 on a synapse; a delay must be at least 1 step",
        ),
        (
            np.array([[1, 2], [1, 1]]),
            "projection 'x' -> 'p': delays[0, 1] = 2 where there is no synapse (zero weight); set "
            "delays to 0 there",
        ),
        (
            np.array([[1, 0], [4, 1]]),
            "projection 'x' -> 'p': delays[1, 0] = 4 exceeds max_delay=3 of population 'p'; give the "
            "target a larger max_delay (Population(..., max_delay=4))",
        ),
    ],
)
def test_refused_delays(delays, message):
    with pytest.raises(NetworkError, match=f"^{re.escape(message)}$"):
        small(delays)


@pytest.mark.parametrize(
    "value, message",
    [
        (0, "population 'p' max_delay must be between 1 and 256, not 0"),
        (257, "population 'p' max_delay must be between 1 and 256, not 257"),
        (2.0, "population 'p' max_delay must be an integer, not 2.0"),
    ],
)
def test_refused_max_delay(value, message):
    with pytest.raises(NetworkError, match=f"^{re.escape(message)}$"):
        Population("p", 2, LIF, max_delay=value)


def test_delay_above_default_max_delay_refused():
    with pytest.raises(NetworkError, match=re.escape("exceeds max_delay=1 of population 'p'")):
        small(np.array([[2, 0], [1, 1]]), max_delay=1)


def test_zero_weight_synapse_takes_a_delay():
    weights = np.array([[1, 0], [2, 3]])
    synapses = np.array([[True, True], [True, True]])
    net = Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("p", 2, LIF, max_delay=3)],
        projections=[Projection("x", "p", weights, delays=np.full((2, 2), 3), synapses=synapses)],
        outputs=["p"],
    )
    assert net.projections[0].n_synapses == 4
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': weights[0, 1] = 5 where synapses is False; a non-zero "
            "weight needs a synapse"
        ),
    ):
        Projection("x", "p", np.array([[1, 5]]), synapses=np.array([[True, False]]))
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': synapses must be a boolean array of the weights' shape "
            "(1, 2), not int64 (1, 2)"
        ),
    ):
        Projection("x", "p", np.array([[1, 5]]), synapses=np.array([[1, 1]]))


def test_mapping_keeps_delays():
    net = small(np.array([[1, 0], [3, 1]]))
    [core] = map_network(net).cores
    assert core.max_delay == 3
    np.testing.assert_array_equal(core.delays[0], [[1, 0], [3, 1]])


def test_save_load_keeps_delays(tmp_path):
    net = small(np.array([[2, 0], [3, 1]]))
    net.save(tmp_path / "a.npz")
    loaded = Network.load(tmp_path / "a.npz")
    assert loaded == net
    assert loaded.populations["p"].max_delay == 3
    np.testing.assert_array_equal(loaded.projections[0].delays, [[2, 0], [3, 1]])
    assert loaded != small(None)
    net.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


# --- semantics ---------------------------------------------------------------------------------


def test_single_synapse_timing():
    """One input spike at step 0 through a delay-d synapse reaches the membrane at step d-1;
    a population's spike at step s through delay d at step s + d."""
    params = NeuronParams(threshold=5, v_width=12)
    for d in (1, 2, 4):
        net = Network(
            inputs=[InputGroup("x", 1)],
            populations=[
                Population("a", 1, params, max_delay=4),
                Population("b", 1, params, max_delay=4),
            ],
            projections=[
                Projection("x", "a", np.array([[6]]), delays=np.array([[d]])),
                Projection("a", "b", np.array([[6]]), delays=np.array([[d]])),
            ],
            outputs=["b"],
        )
        x = np.zeros((10, 1), dtype=int)
        x[0, 0] = 1
        trace = simulate(net, {"x": x})
        assert np.flatnonzero(trace.spikes["a"][:, 0, 0]).tolist() == [d - 1]
        assert np.flatnonzero(trace.spikes["b"][:, 0, 0]).tolist() == [2 * d - 1]


@PROPERTY
@given(data=st.data())
def test_delays_of_one_are_todays_timing(data):
    network = data.draw(networks())
    inputs = data.draw(network_inputs(network))
    ones = {p.key: np.where(p.synapse_mask, 1, 0) for p in network.projections}
    delayed = rebuild(network, delays=ones, max_delay={n: 3 for n in network.populations})
    assert_same(
        simulate(delayed, inputs, record=RECORD), simulate(network, inputs, record=RECORD), network
    )


@PROPERTY
@given(data=st.data(), d=st.integers(1, 4))
def test_input_delay_equals_shifted_inputs(data, d):
    """Every input-group synapse of delay d: the same as delay 1 with every input shifted
    d - 1 steps later (zeros first)."""
    network = data.draw(networks())
    inputs = data.draw(network_inputs(network, max_steps=8))
    delays = {
        p.key: np.where(p.synapse_mask, d, 0)
        for p in network.projections
        if p.source in network.inputs
    }
    delayed = rebuild(network, delays=delays, max_delay={n: 4 for n in network.populations})
    shifted = {}
    for name, x in inputs.items():
        moved = np.zeros_like(x)
        if d - 1 < x.shape[0]:
            moved[d - 1 :] = x[: x.shape[0] - (d - 1)]
        shifted[name] = moved
    assert_same(
        simulate(delayed, inputs, record=RECORD), simulate(network, shifted, record=RECORD), network
    )


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_random_delays_match_independent_history(data, seed):
    network = random_delays(data.draw(networks(max_size=6)), np.random.default_rng(seed), 4)
    inputs = data.draw(network_inputs(network, max_steps=10, max_batch=2))
    assert_same(
        simulate(network, inputs, record=RECORD), independent_delayed(network, inputs), network
    )


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_mixed_delays_equal_sum_of_per_delay_projections(data, seed):
    """A projection with mixed delays from an input group equals one projection per delay,
    each from its own copy of the group (fed the same counts) with that delay everywhere."""
    network = random_delays(data.draw(networks(max_size=6)), np.random.default_rng(seed), 4)
    inputs = data.draw(network_inputs(network, max_steps=10, max_batch=2))
    groups, projections, split_inputs = [], [], {}
    for g in network.inputs.values():
        for d in range(1, 5):
            groups.append(InputGroup(f"{g.name}_d{d}", g.size, g.max_count))
            split_inputs[f"{g.name}_d{d}"] = inputs[g.name]
    for p in network.projections:
        if p.source not in network.inputs:
            projections.append(p)
            continue
        for d in range(1, 5):
            mask = p.synapse_mask & (p.delays == d)
            if mask.any():
                projections.append(
                    Projection(
                        f"{p.source}_d{d}",
                        p.target,
                        np.where(mask, p.weights, 0),
                        p.channel,
                        np.where(mask, d, 0),
                        mask,
                    )
                )
    split = rebuild(network, inputs=groups, projections=projections)
    assert_same(
        simulate(split, split_inputs, record=RECORD),
        simulate(network, inputs, record=RECORD),
        network,
    )
