"""Fixed-point pair STDP (neurohw.model.stdp) and plastic projections in the system model,
checked against a per-synapse loop written from docs/learning.md."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurohw.model import Decay, NeuronParams
from neurohw.model.stdp import STDPError, STDPParams, STDPState, initial_stdp_state, stdp_step
from neurohw.network import InputGroup, Network, NetworkError, Population, Projection, simulate

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the definition, one synapse at a time, in Python integers ----------------------------------


def decay_one(x: int, spec: Decay) -> int:
    """docs/semantics.md section 3 for a non-negative x."""
    kind = spec.kind.value
    if kind == "none":
        return x
    if kind == "shift":
        leak = x >> spec.constant
        if leak == 0 and x > 0:
            leak = 1
        return x - leak
    p = x * ((1 << spec.bits) - spec.constant - spec.offset)
    if spec.rounding.value == "nearest":
        return (p + (1 << (spec.bits - 1))) >> spec.bits
    return p >> spec.bits  # floor and toward_zero agree on p >= 0


def loop_rule(params, weights, pre_trace, post_trace, pre, post, mask):
    """One step of docs/learning.md, "STDP", per batch element and per synapse."""
    weights = [[[int(v) for v in row] for row in b] for b in weights]
    top = (1 << params.trace_width) - 1
    soft = params.weight_dependence.value == "soft"
    new_pre, new_post = [], []
    for b in range(len(weights)):
        xs = [
            min(decay_one(int(x), params.pre_decay) + params.pre_increment * (int(c) > 0), top)
            for x, c in zip(pre_trace[b], pre[b])
        ]
        old_post = [int(x) for x in post_trace[b]]
        for j in range(len(xs)):
            for k in range(len(old_post)):
                if not mask[j][k]:
                    continue
                w = weights[b][j][k]
                if pre[b][j] > 0:
                    h = (w - params.w_min) if soft else 1
                    w = max(w - ((params.a_minus * old_post[k] * h) >> params.shift), params.w_min)
                if post[b][k] > 0:
                    h = (params.w_max - w) if soft else 1
                    w = min(w + ((params.a_plus * xs[j] * h) >> params.shift), params.w_max)
                weights[b][j][k] = w
        new_pre.append(xs)
        new_post.append(
            [
                min(decay_one(x, params.post_decay) + params.post_increment * (int(c) > 0), top)
                for x, c in zip(old_post, post[b])
            ]
        )
    return (
        np.array(weights, dtype=np.int64),
        np.array(new_pre, dtype=np.int64),
        np.array(new_post, dtype=np.int64),
    )


# --- strategies --------------------------------------------------------------------------------


@st.composite
def decays(draw):
    kind = draw(st.sampled_from(["none", "multiply", "shift"]))
    if kind == "none":
        return Decay.none()
    if kind == "shift":
        return Decay.shift(draw(st.integers(0, 8)))
    bits = draw(st.integers(1, 12))
    return Decay.multiply(
        draw(st.integers(0, 1 << bits)),
        bits,
        rounding=draw(st.sampled_from(["floor", "toward_zero", "nearest"])),
    )


@st.composite
def stdp_params(draw, low=-40, high=40):
    w_min = draw(st.integers(low, high))
    w_max = draw(st.integers(w_min, high))
    width = draw(st.integers(1, 10))
    return STDPParams(
        w_min=w_min,
        w_max=w_max,
        a_plus=draw(st.integers(0, 300)),
        a_minus=draw(st.integers(0, 300)),
        shift=draw(st.integers(0, 12)),
        trace_width=width,
        pre_increment=draw(st.integers(0, (1 << width) - 1)),
        post_increment=draw(st.integers(0, (1 << width) - 1)),
        pre_decay=draw(decays()),
        post_decay=draw(decays()),
        weight_dependence=draw(st.sampled_from(["additive", "soft"])),
    )


def random_problem(rng, params, batch, n_pre, n_post, steps, density=0.3, max_count=2):
    mask = rng.random((n_pre, n_post)) < 0.8
    weights = (
        rng.integers(params.w_min, params.w_max, size=(batch, n_pre, n_post), endpoint=True) * mask
    )
    pre = rng.integers(0, max_count, size=(steps, batch, n_pre), endpoint=True)
    pre[rng.random(pre.shape) > density] = 0
    post = rng.integers(0, max_count, size=(steps, batch, n_post), endpoint=True)
    post[rng.random(post.shape) > density] = 0
    return mask, weights, pre, post


# --- parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"w_min": 5, "w_max": 4}, "STDP w_min must not exceed w_max, not w_min=5 > w_max=4"),
        ({"w_max": 40000}, "STDP w_max must be an integer between -32768 and 32767, not 40000"),
        ({"a_plus": -1}, "STDP a_plus must be an integer between 0 and 65535, not -1"),
        ({"a_minus": 1.5}, "STDP a_minus must be an integer, not 1.5"),
        ({"shift": 49}, "STDP shift must be an integer between 0 and 48, not 49"),
        ({"trace_width": 17}, "STDP trace_width must be an integer between 1 and 16, not 17"),
        (
            {"trace_width": 4, "pre_increment": 16, "post_increment": 1},
            "STDP pre_increment must be an integer between 0 and 15, not 16",
        ),
        ({"post_decay": 3}, "STDP post_decay must be a neurohw.model.Decay, not 3"),
        (
            {"pre_decay": Decay.shift(np.array([1, 2]))},
            "STDP pre_decay takes one shared decay constant, not one per neuron ([1, 2])",
        ),
        (
            {"weight_dependence": "multiplicative"},
            "STDP weight_dependence must be 'additive' or 'soft', not 'multiplicative'",
        ),
    ],
)
def test_refused_params(kwargs, message):
    with pytest.raises(STDPError, match=f"^{re.escape(message)}$"):
        STDPParams(**kwargs)


def test_params_round_trip():
    params = STDPParams(
        w_min=-3,
        w_max=9,
        a_plus=5,
        a_minus=7,
        shift=3,
        trace_width=6,
        pre_increment=40,
        post_increment=20,
        pre_decay=Decay.shift(2),
        post_decay=Decay.multiply(100, 8, rounding="nearest"),
        weight_dependence="soft",
    )
    assert STDPParams.from_dict(params.to_dict()) == params
    with pytest.raises(STDPError, match=re.escape("unknown STDP parameter(s) 'tau'")):
        STDPParams.from_dict({"tau": 3})


def test_initial_weights_outside_bounds_refused():
    with pytest.raises(
        STDPError,
        match=re.escape(
            "plastic weights range from 0 to 9, outside the STDP bounds [w_min, w_max] = [1, 8]"
        ),
    ):
        initial_stdp_state(STDPParams(w_min=1, w_max=8), np.array([[9, 0]]))


# --- the rule ----------------------------------------------------------------------------------


@PROPERTY
@given(
    params=stdp_params(),
    seed=st.integers(0, 2**32 - 1),
    batch=st.integers(1, 3),
    n_pre=st.integers(1, 5),
    n_post=st.integers(1, 5),
)
def test_vectorized_rule_equals_per_synapse_loop(params, seed, batch, n_pre, n_post):
    rng = np.random.default_rng(seed)
    mask, weights, pre, post = random_problem(rng, params, batch, n_pre, n_post, steps=25)
    state = initial_stdp_state(params, weights, batch, synapses=mask)
    w, xp, xq = state.weights, state.pre_trace, state.post_trace
    for t in range(pre.shape[0]):
        state = stdp_step(params, state, pre[t], post[t], mask)
        w, xp, xq = loop_rule(params, w, xp, xq, pre[t], post[t], mask)
        np.testing.assert_array_equal(state.weights, w, err_msg=f"weights, step {t}")
        np.testing.assert_array_equal(state.pre_trace, xp, err_msg=f"pre trace, step {t}")
        np.testing.assert_array_equal(state.post_trace, xq, err_msg=f"post trace, step {t}")


@PROPERTY
@given(params=stdp_params(), seed=st.integers(0, 2**32 - 1))
def test_bounds_never_exceeded_and_masks_kept(params, seed):
    rng = np.random.default_rng(seed)
    mask, weights, pre, post = random_problem(rng, params, 2, 6, 5, steps=300, density=0.5)
    state = initial_stdp_state(params, weights, 2, synapses=mask)
    for t in range(pre.shape[0]):
        state = stdp_step(params, state, pre[t], post[t], mask)
        inside = state.weights[:, mask]
        assert inside.min(initial=params.w_min) >= params.w_min
        assert inside.max(initial=params.w_max) <= params.w_max
        assert not state.weights[:, ~mask].any()
        assert 0 <= state.pre_trace.min() and state.pre_trace.max() <= params.trace_max
        assert 0 <= state.post_trace.min() and state.post_trace.max() <= params.trace_max


@PROPERTY
@given(params=stdp_params(), seed=st.integers(0, 2**32 - 1))
def test_no_update_without_spikes(params, seed):
    rng = np.random.default_rng(seed)
    mask, weights, pre, post = random_problem(rng, params, 2, 4, 4, steps=20)
    state = initial_stdp_state(params, weights, 2, synapses=mask)
    zero_pre, zero_post = np.zeros_like(pre[0]), np.zeros_like(post[0])
    for t in range(pre.shape[0]):
        quiet = stdp_step(params, state, zero_pre, zero_post, mask)
        np.testing.assert_array_equal(quiet.weights, state.weights)
        # pre spikes alone never potentiate; post spikes alone never depress.
        only_pre = stdp_step(params, state, pre[t], zero_post, mask)
        assert (only_pre.weights <= state.weights).all()
        only_post = stdp_step(params, state, zero_pre, post[t], mask)
        assert (only_post.weights >= state.weights).all()
        state = stdp_step(params, state, pre[t], post[t], mask)


@PROPERTY
@given(params=stdp_params(), seed=st.integers(0, 2**32 - 1))
def test_potentiation_needs_pre_before_post(params, seed):
    """A weight grows in step t only if its target spikes in t and its source spiked in some
    step <= t; it shrinks only if its source spikes in t and its target spiked before t."""
    rng = np.random.default_rng(seed)
    mask, weights, pre, post = random_problem(rng, params, 1, 5, 5, steps=40, density=0.2)
    state = initial_stdp_state(params, weights, 1, synapses=mask)
    pre_seen = np.zeros(5, dtype=bool)
    post_seen = np.zeros(5, dtype=bool)
    for t in range(pre.shape[0]):
        new = stdp_step(params, state, pre[t], post[t], mask)
        pre_seen |= pre[t, 0] > 0
        grew = new.weights[0] > state.weights[0]
        shrank = new.weights[0] < state.weights[0]
        allowed_growth = pre_seen[:, None] & (post[t, 0] > 0)[None, :]
        allowed_shrink = (pre[t, 0] > 0)[:, None] & post_seen[None, :]
        assert not (grew & ~allowed_growth).any(), t
        assert not (shrank & ~allowed_shrink).any(), t
        post_seen |= post[t, 0] > 0
        state = new


def test_pair_timing_window():
    """The kernel in delivery steps: pre at s, post at s + n (n >= 0) potentiates by
    a_plus * decay^n(increment); post at s, pre at s + n (n >= 1) depresses by
    a_minus * decay^(n-1)(increment) (docs/learning.md)."""
    params = STDPParams(
        w_min=0,
        w_max=1000,
        a_plus=1,
        a_minus=1,
        trace_width=8,
        pre_increment=128,
        post_increment=128,
        pre_decay=Decay.multiply(2048, 12, rounding="floor"),
        post_decay=Decay.multiply(2048, 12, rounding="floor"),
    )
    for n in range(4):
        state = initial_stdp_state(params, np.array([[500]]))
        for t in range(n + 1):
            state = stdp_step(params, state, [[int(t == 0)]], [[int(t == n)]])
        assert state.weights[0, 0, 0] == 500 + (128 >> n)
    for n in range(1, 5):
        state = initial_stdp_state(params, np.array([[500]]))
        for t in range(n + 1):
            state = stdp_step(params, state, [[int(t == n)]], [[int(t == 0)]])
        assert state.weights[0, 0, 0] == 500 - (128 >> (n - 1))


# --- plastic projections in the system model ---------------------------------------------------

LIF = NeuronParams(threshold=30, v_width=12, v_decay=Decay.multiply(400, 12))


def plastic_network(params, rng, n_in=12, n_out=6, recurrent=True, weight_width=8):
    mask = rng.random((n_in, n_out)) < 0.85
    weights = rng.integers(params.w_min, params.w_max, size=(n_in, n_out), endpoint=True) * mask
    projections = [Projection("x", "p", weights, synapses=mask, plasticity=params)]
    if recurrent:
        projections.append(Projection("p", "p", -6 * (1 - np.eye(n_out, dtype=int))))
    return Network(
        inputs=[InputGroup("x", n_in, max_count=2)],
        populations=[Population("p", n_out, LIF, weight_width=weight_width)],
        projections=projections,
        outputs=["p"],
    )


def replay(network, trace, inputs, batch):
    """The learning rule replayed per synapse over the spikes simulate recorded."""
    projection = network.plastic_projections[0]
    mask = projection.synapse_mask
    w = np.broadcast_to(projection.weights, (batch, *projection.weights.shape)).copy()
    xp = np.zeros((batch, w.shape[1]), dtype=np.int64)
    xq = np.zeros((batch, w.shape[2]), dtype=np.int64)
    for t in range(inputs.shape[0]):
        w, xp, xq = loop_rule(
            projection.plasticity, w, xp, xq, inputs[t], trace.spikes["p"][t], mask
        )
    return w, xp, xq


@PROPERTY
@given(
    params=stdp_params(low=-60, high=60), seed=st.integers(0, 2**32 - 1), batch=st.integers(1, 2)
)
def test_simulate_learns_as_the_rule_defines(params, seed, batch):
    rng = np.random.default_rng(seed)
    network = plastic_network(params, rng, n_in=6, n_out=4)
    x = rng.integers(0, 2, size=(40, batch, 6), endpoint=True)
    x[rng.random(x.shape) < 0.6] = 0
    trace = simulate(network, {"x": x}, snapshot_every=10)
    w, xp, xq = replay(network, trace, x, batch)
    state = trace.learning[("x", "p", 0)]
    np.testing.assert_array_equal(state.weights, w)
    np.testing.assert_array_equal(state.pre_trace, xp)
    np.testing.assert_array_equal(state.post_trace, xq)
    assert trace.weight_snapshots[("x", "p", 0)].shape == (4, batch, 6, 4)
    np.testing.assert_array_equal(trace.weight_snapshots[("x", "p", 0)][-1], w)


def test_drive_uses_the_weights_of_the_previous_step():
    """Step t's drive uses the weights at the end of step t - 1: a neuron driven by one
    plastic synapse sees each potentiation one step later."""
    params = STDPParams(
        w_min=0,
        w_max=100,
        a_plus=1,
        a_minus=0,
        pre_increment=10,
        post_increment=0,
        pre_decay=Decay.none(),
    )
    net = Network(
        inputs=[InputGroup("x", 1)],
        populations=[Population("p", 1, NeuronParams(threshold=0, v_width=12))],
        projections=[Projection("x", "p", np.array([[1]]), plasticity=params)],
        outputs=["p"],
    )
    trace = simulate(
        net, {"x": np.ones((4, 1), dtype=int)}, record=("spikes", "v"), snapshot_every=1
    )
    # Every step: pre trace 10, 20, 30, 40 (no decay); post spikes each step (threshold 0).
    assert trace.weight_snapshots[("x", "p", 0)][:, 0, 0, 0].tolist() == [11, 31, 61, 100]
    assert trace.v["p"][:, 0, 0].tolist() == [0, 0, 0, 0]  # reset to zero after each spike
    net2 = Network(
        inputs=[InputGroup("x", 1)],
        populations=[Population("p", 1, NeuronParams(threshold=1000, v_width=12))],
        projections=[Projection("x", "p", np.array([[1]]), plasticity=params)],
        outputs=["p"],
    )
    trace2 = simulate(net2, {"x": np.ones((3, 1), dtype=int)}, record=("spikes", "v"))
    assert trace2.v["p"][:, 0, 0].tolist() == [1, 2, 3]  # never spikes: weight stays 1


def test_learn_false_and_continuation():
    params = STDPParams(w_min=0, w_max=60, a_plus=3, a_minus=2, shift=2, weight_dependence="soft")
    rng = np.random.default_rng(5)
    network = plastic_network(params, rng, recurrent=False)
    x = rng.integers(0, 2, size=(200, 12), endpoint=True)
    frozen = simulate(network, {"x": x}, learn=False)
    np.testing.assert_array_equal(frozen.weights[("x", "p", 0)][0], network.projections[0].weights)
    whole = simulate(network, {"x": x})
    first = simulate(network, {"x": x[:77]})
    second = simulate(network, {"x": x[77:]}, state=first.final_state, learning=first.learning)
    np.testing.assert_array_equal(second.weights[("x", "p", 0)], whole.weights[("x", "p", 0)])
    np.testing.assert_array_equal(
        np.concatenate([first.spikes["p"], second.spikes["p"]]), whole.spikes["p"]
    )
    assert not np.array_equal(whole.weights[("x", "p", 0)][0], network.projections[0].weights)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "learn names [('x', 'q', 0)], which are not plastic projections of the network; "
            "plastic projections: [('x', 'p', 0)]"
        ),
    ):
        simulate(network, {"x": x}, learn=[("x", "q", 0)])


@pytest.mark.parametrize("weight_dependence", ["additive", "soft"])
def test_long_random_run_stays_in_bounds_and_matches(weight_dependence):
    """Thousands of steps of random activity: weights within [w_min, w_max] at every snapshot,
    and the final weights and traces equal the per-synapse replay."""
    shift = 4 if weight_dependence == "additive" else 11
    params = STDPParams(
        w_min=-20,
        w_max=100,
        a_plus=9,
        a_minus=11,
        shift=shift,
        trace_width=7,
        pre_increment=90,
        post_increment=70,
        pre_decay=Decay.multiply(700, 12, rounding="floor"),
        post_decay=Decay.shift(3),
        weight_dependence=weight_dependence,
    )
    rng = np.random.default_rng(11)
    network = plastic_network(params, rng, n_in=10, n_out=5)
    x = (rng.random((3000, 10)) < 0.15).astype(np.int64)
    trace = simulate(network, {"x": x}, snapshot_every=50)
    snaps = trace.weight_snapshots[("x", "p", 0)]
    mask = network.projections[0].synapse_mask
    assert snaps[:, :, mask].min() >= params.w_min and snaps[:, :, mask].max() <= params.w_max
    assert trace.spikes["p"].sum() > 100
    assert len(np.unique(snaps[:, 0][:, mask], axis=0)) > 10  # it does learn
    w, xp, xq = replay(network, trace, x[:, None, :], 1)
    np.testing.assert_array_equal(trace.learning[("x", "p", 0)].weights, w)
    np.testing.assert_array_equal(trace.learning[("x", "p", 0)].pre_trace, xp)
    np.testing.assert_array_equal(trace.learning[("x", "p", 0)].post_trace, xq)


# --- description -------------------------------------------------------------------------------


def test_network_refusals_and_file_format(tmp_path):
    params = STDPParams(w_min=0, w_max=200)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': STDP bounds [w_min, w_max] = [0, 200] lie outside the "
            "target's weight_width=8 bits ([-128, 127])"
        ),
    ):
        Network(
            inputs=[InputGroup("x", 2)],
            populations=[Population("p", 2, LIF)],
            projections=[Projection("x", "p", np.ones((2, 2), int), plasticity=params)],
            outputs=["p"],
        )
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': initial weights range from -1 to 1, outside the STDP "
            "bounds [w_min, w_max] = [0, 200]"
        ),
    ):
        Projection("x", "p", np.array([[1, -1]]), plasticity=params)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': plasticity must be a neurohw.model.stdp.STDPParams or "
            "None, not {'w_min': 0}"
        ),
    ):
        Projection("x", "p", np.array([[1, 1]]), plasticity={"w_min": 0})

    network = plastic_network(
        STDPParams(w_min=-5, w_max=50, weight_dependence="soft"), np.random.default_rng(1)
    )
    network.save(tmp_path / "n.npz")
    loaded = Network.load(tmp_path / "n.npz")
    assert loaded == network
    assert loaded.projections[0].plasticity == network.projections[0].plasticity
    np.testing.assert_array_equal(
        loaded.projections[0].synapse_mask, network.projections[0].synapse_mask
    )
    # Mapping plastic projections: tests/test_plan_learning.py.


def test_learning_state_checked():
    network = plastic_network(STDPParams(w_min=0, w_max=50), np.random.default_rng(2))
    x = np.zeros((3, 12), dtype=int)
    bad = STDPState(np.full((1, 12, 6), 51), np.zeros((1, 12), int), np.zeros((1, 6), int))
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "learning[('x', 'p', 0)]: plastic weights range from 51 to 51, outside the STDP "
            "bounds [w_min, w_max] = [0, 50]"
        ),
    ):
        simulate(network, {"x": x}, learning={("x", "p", 0): bad})
