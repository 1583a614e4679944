"""Same-step projections (the trainers' timing): the system model, the skewed chip network that
computes it, the plan-level model of that chip, and the refusals."""

import functools
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurohw.model import loihi_cuba_lif
from neurohw.model.reference import StepInput, initial_state, step
from neurohw.network import (
    InputGroup,
    Network,
    NetworkError,
    Population,
    Projection,
    simulate,
    simulate_samples,
)
from neurohw.network.mapping import MappingError, map_network
from neurohw.network.timing import pad_inputs, skew, start_offsets, trainer_steps
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_plan_model import check_plan_against_system

PROPERTY = settings(
    max_examples=80,
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


def chain(same_step=True, bias=3, skip=False, recurrent=False):
    """in -> a -> b -> c (same-step), biased neurons; optionally in -> c and c -> c."""
    rng = np.random.default_rng(1)
    params = loihi_cuba_lif(du=800, dv=300, vth=12, bias_mant=bias)
    group = InputGroup("x", 5)
    pops = [Population(name, 4, params) for name in "abc"]
    projections = [
        Projection("x", "a", rng.integers(-60, 120, (5, 4))),
        Projection("a", "b", rng.integers(-60, 120, (4, 4)), same_step=same_step),
        Projection("b", "c", rng.integers(-60, 120, (4, 4)), same_step=same_step),
    ]
    if skip:
        projections.append(Projection("x", "c", rng.integers(-60, 120, (5, 4))))
        projections.append(
            Projection("a", "c", rng.integers(-60, 120, (4, 4)), same_step=same_step)
        )
    if recurrent:
        projections.append(Projection("c", "c", rng.integers(-60, 60, (4, 4))))
    return Network(inputs=[group], populations=pops, projections=projections, outputs=["c"])


def chain_inputs(steps=12, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": (rng.random((steps, batch, 5)) < 0.5).astype(np.int64)}


def test_same_step_chain_is_layer_by_layer():
    """An independent unrolling: each layer steps on the previous layer's spikes of the same
    step, recurrent edges on the previous step's."""
    network = chain(skip=True, recurrent=True)
    inputs = chain_inputs()
    trace = simulate(network, inputs, record=RECORD)
    steps, batch = 12, 2
    state = {n: initial_state(p.params, p.size, batch) for n, p in network.populations.items()}
    fired = {n: np.zeros((batch, p.size), dtype=np.int64) for n, p in network.populations.items()}
    w = {(p.source, p.target): p.weights for p in network.projections}
    for t in range(steps):
        x = inputs["x"][t]
        drives = {}
        drives["a"] = x @ w["x", "a"]
        state["a"], fired["a"] = step(
            network.populations["a"].params, state["a"], StepInput(drive=drives["a"][:, None, :])
        )
        drives["b"] = fired["a"] @ w["a", "b"]
        state["b"], fired["b"] = step(
            network.populations["b"].params, state["b"], StepInput(drive=drives["b"][:, None, :])
        )
        drive_c = (
            fired["b"] @ w["b", "c"]
            + x @ w["x", "c"]
            + fired["a"] @ w["a", "c"]
            + np.asarray(fired["c"]) @ w["c", "c"]
        )
        state["c"], fired["c"] = step(
            network.populations["c"].params, state["c"], StepInput(drive=drive_c[:, None, :])
        )
        for name in "abc":
            np.testing.assert_array_equal(trace.spikes[name][t], fired[name], err_msg=f"{name} {t}")
            np.testing.assert_array_equal(trace.v[name][t], state[name].v, err_msg=f"{name} {t}")
    assert trace.spikes["c"].sum() > 0


def test_one_step_chain_lags_the_same_step_chain():
    """Without biases, the one-step chain's layer l is the same-step chain's, l steps late."""
    inputs = chain_inputs(steps=14)
    same = simulate(chain(bias=0), inputs)
    hop = simulate(chain(same_step=False, bias=0), inputs)
    for lag, name in enumerate("abc"):
        np.testing.assert_array_equal(hop.spikes[name][lag:], same.spikes[name][: 14 - lag])
    assert same.spikes["c"].sum() > 0


def test_start_offsets_and_skewed_network():
    network = chain(skip=True, recurrent=True)
    assert network.step_order == ("a", "b", "c")
    assert start_offsets(network) == {"a": 0, "b": 1, "c": 2}
    chip, start_steps = skew(network)
    assert start_steps == {"b": 1, "c": 2}
    assert not chip.has_same_step
    delays = {(p.source, p.target): p.delays for p in chip.projections}
    assert delays["x", "a"] is None and delays["a", "b"] is None and delays["b", "c"] is None
    mask = network.projections[3].synapse_mask  # x -> c: two steps late
    np.testing.assert_array_equal(delays["x", "c"], np.where(mask, 3, 0))
    mask = network.projections[4].synapse_mask  # a -> c: skips b
    np.testing.assert_array_equal(delays["a", "c"], np.where(mask, 2, 0))
    assert delays["c", "c"] is None  # recurrent: one step, as before
    assert chip.populations["c"].max_delay == 3
    assert skew(chain(same_step=False)) == (chain(same_step=False), {})


def check_skew(network, inputs):
    """The skewed chip network, padded and cleared at the start steps, computes ``network``."""
    chip, start_steps = skew(network)
    flush = max(start_steps.values(), default=0)
    steps = next(iter(inputs.values())).shape[0]
    reference = simulate(network, inputs, record=RECORD)
    skewed = simulate(chip, pad_inputs(inputs, flush), record=RECORD, start_steps=start_steps)
    for what in RECORD:
        got = trainer_steps(getattr(skewed, what), start_steps, steps)
        for name in network.populations:
            np.testing.assert_array_equal(
                got[name], getattr(reference, what)[name], err_msg=f"{what} {name}"
            )
    return reference


def test_skew_computes_the_same_step_chain():
    reference = check_skew(chain(skip=True, recurrent=True), chain_inputs())
    assert reference.spikes["c"].sum() > 0


def test_without_the_start_clear_biases_leak_into_the_skewed_chip():
    """The clear at the start step is needed: without it the biased deeper layers differ."""
    network = chain(bias=200)
    chip, start_steps = skew(network)
    inputs = chain_inputs()
    reference = simulate(network, inputs, record=RECORD)
    uncleared = simulate(chip, pad_inputs(inputs, 2), record=RECORD)
    got = trainer_steps(uncleared.v, start_steps, 12)
    assert not np.array_equal(got["c"], reference.v["c"])
    check_skew(network, inputs)


@PROPERTY
@given(st.data())
def test_skew_property(data):
    network = data.draw(networks(same_step=True))
    inputs = data.draw(network_inputs(network, max_steps=8))
    check_skew(network, inputs)


@PROPERTY
@given(st.data())
def test_plan_of_a_same_step_network(data):
    """The plan-level chip of a same-step network is the skewed network with its start clears,
    sample after sample; cut back, it is the same-step network's own trace."""
    network = data.draw(networks(same_step=True))
    try:
        plan = map_network(network, **data.draw(mapping_options(network)))
    except MappingError:
        assume(False)
    inputs = data.draw(network_inputs(network, max_steps=6))
    steps = next(iter(inputs.values())).shape[0]
    chip_inputs = pad_inputs(inputs, plan.flush_steps)
    reference_model = functools.partial(simulate_samples, start_steps=plan.start_steps)
    trace, _ = check_plan_against_system(
        plan, plan.network, chip_inputs, reference_model=reference_model
    )
    expected = simulate(network, inputs)
    for name, spikes in trainer_steps(trace.spikes, plan.start_steps, steps).items():
        np.testing.assert_array_equal(spikes, expected.spikes[name], err_msg=name)
    assert plan.given_network is network or not network.has_same_step


def test_plan_records_the_skew():
    network = chain(skip=True)
    plan = map_network(network)
    assert plan.start_steps == {"b": 1, "c": 2} and plan.flush_steps == 2
    assert plan.given_network is network and plan.network.populations["c"].max_delay == 3
    plan = map_network(chain(same_step=False))
    assert plan.start_steps == {} and plan.flush_steps == 0 and plan.source_network is None


def test_save_load_keeps_same_step(tmp_path):
    network = chain(skip=True, recurrent=True)
    network.save(tmp_path / "net.npz")
    loaded = Network.load(tmp_path / "net.npz")
    assert loaded == network
    assert [p.same_step for p in loaded.projections] == [False, True, True, False, True, False]
    assert loaded != chain(same_step=False, skip=True, recurrent=True)


def _pop(name, size=2):
    return Population(name, size, loihi_cuba_lif(du=0, dv=0, vth=1))


def _net(projections, populations=("a", "b")):
    return Network(
        inputs=[InputGroup("x", 2)],
        populations=[_pop(n) for n in populations],
        projections=projections,
        outputs=[populations[-1]],
    )


def test_refusals():
    w = np.ones((2, 2), dtype=np.int64)
    with pytest.raises(
        NetworkError,
        match=re.escape("projection 'a' -> 'b': same_step must be True or False, not 1"),
    ):
        Projection("a", "b", w, same_step=1)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'a': same_step=True from input group 'x'; an input group's "
            "counts of step t always act in step t, so same_step applies to population "
            "sources only"
        ),
    ):
        _net([Projection("x", "a", w, same_step=True)])
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'a' -> 'a' is same_step onto its own source: a population cannot see "
            "its own spikes of the step it computes; a recurrent projection takes one step "
            "(same_step=False)"
        ),
    ):
        _net([Projection("a", "a", w, same_step=True)])
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "the same-step projections among populations a -> b form a cycle (an algebraic "
            "loop); at least one projection of the cycle must take one step "
            "(same_step=False)"
        ),
    ):
        _net([Projection("a", "b", w, same_step=True), Projection("b", "a", w, same_step=True)])
    back = _net([Projection("a", "b", w, same_step=True), Projection("b", "a", w)])
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "closes a loop that contains a same-step projection: a population feeds back (one "
            "step later) into a population that precedes it in the same step"
        ),
    ):
        skew(back)
    with pytest.raises(
        NetworkError, match=re.escape("start_steps names 'z', which is not a population")
    ):
        simulate(back, {"x": np.zeros((2, 2), dtype=np.int64)}, start_steps={"z": 1})
    with pytest.raises(
        NetworkError, match=re.escape("start_steps['a'] must be a non-negative integer, not -1")
    ):
        simulate(back, {"x": np.zeros((2, 2), dtype=np.int64)}, start_steps={"a": -1})


def test_a_deep_skip_needs_a_delay_the_chip_has():
    names = [f"p{k}" for k in range(258)]
    w = np.ones((2, 2), dtype=np.int64)
    projections = [Projection(a, b, w, same_step=True) for a, b in zip(names, names[1:])]
    projections.append(Projection("x", names[-1], w))
    network = _net(projections, populations=names)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p257' needs a delay of 258 steps on the chip (it skips 257 "
            "layers), more than the largest delay 256"
        ),
    ):
        skew(network)
