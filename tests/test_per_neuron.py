"""Per-neuron decay constants, bias exponents and the drive bias in the model
(docs/semantics.md sections 1, 4-7).

The checks do not recompute the semantics: a population with per-neuron values must equal
independent one-neuron populations with the same values as shared scalars, and a drive bias must
equal an extra first axon that spikes every step with the bias as its weight (an Affine bias as
a constant input line). Loihi's per-neuron du/dv, bias_exp and drive bias are checked against
the independent Lava transliteration (tests/oracles.py).
"""

import json
import re
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurohw.model import (
    Decay,
    NeuronParams,
    Overflow,
    fast,
    initial_state,
    loihi_cuba_lif,
    run,
    state_range,
)
from neurohw.model.params import DecayKind
from neurohw.network.mapping import _slice_params
from tests.oracles import LavaLifBitAcc
from tests.strategies import neuron_params, random_state, random_weights

PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
N = 5


def _scalar_params(params, n):
    """The parameters of neuron ``n`` alone, with every per-neuron value as a shared scalar."""

    def scalar_decay(decay):
        return replace(decay, constant=int(decay.constant[n])) if decay.per_neuron else decay

    changes = {
        name: int(getattr(params, name)[n])
        for name in ("threshold", "bias_mantissa", "bias_exponent", "reset_value", "drive_bias")
        if isinstance(getattr(params, name), np.ndarray)
    }
    return params.replace(
        v_decay=scalar_decay(params.v_decay),
        i_decay=tuple(scalar_decay(d) for d in params.i_decay),
        **changes,
    )


def _run_random(params, seed, steps=12, batch=2, n_axons=4):
    rng = np.random.default_rng(seed)
    weights = random_weights(params, n_axons, N, 8, rng)
    state = random_state(params, N, batch, rng)
    spikes = rng.poisson(1.5, size=(steps, batch, n_axons))
    return state, weights, spikes


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), wide=st.booleans())
def test_per_neuron_population_equals_separate_neurons(data, seed, wide):
    # wide: states of 50-64 bits run on Python integers, the others in int64.
    widths = dict(min_width=50, max_width=64) if wide else {}
    params = data.draw(neuron_params(n_neurons=N, **widths).filter(lambda p: p.per_neuron_fields()))
    state, weights, spikes = _run_random(params, seed)
    together = run(params, spikes, weights, state=state)
    for n in range(N):
        alone = _scalar_params(params, n)
        assert not alone.per_neuron_fields()
        single_state = type(state)(
            v=state.v[:, n : n + 1],
            i=state.i[:, :, n : n + 1],
            refractory=state.refractory[:, n : n + 1],
            pending=None if state.pending is None else state.pending[:, n : n + 1],
        )
        trace = run(alone, spikes, weights[:, :, n : n + 1], state=single_state)
        for name in ("spikes", "v", "i", "refractory"):
            assert np.array_equal(getattr(trace, name)[..., 0], getattr(together, name)[..., n]), (
                name,
                n,
            )


def _with_per_neuron_bias_exponent(params, seed, shared_mantissa):
    """``params`` with one bias exponent per neuron (0..3 and 32 where the mantissa is 0, the
    limits included) and a mantissa, shared or per neuron, that every exponent keeps in range."""
    rng = np.random.default_rng(seed)
    exponents = rng.integers(0, 4, size=N)
    exponents[:2] = [0, 3]
    bound = state_range(params.v_width, params.v_overflow)[1] >> 3
    if shared_mantissa:
        mantissa = int(rng.integers(-bound, bound, endpoint=True))
    else:
        mantissa = rng.integers(-bound, bound, size=N, endpoint=True)
        mantissa[2], exponents[2] = 0, 32
    return params.replace(bias_mantissa=mantissa, bias_exponent=exponents)


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), shared_mantissa=st.booleans())
def test_per_neuron_bias_exponent_equals_separate_neurons(data, seed, shared_mantissa):
    params = _with_per_neuron_bias_exponent(
        data.draw(neuron_params(n_neurons=N)), seed, shared_mantissa
    )
    assert "bias_exponent" in params.per_neuron_fields()
    state, weights, spikes = _run_random(params, seed)
    together = run(params, spikes, weights, state=state)
    for n in range(N):
        alone = _scalar_params(params, n)
        assert not alone.per_neuron_fields()
        assert alone.bias == params.bias[n]
        single_state = type(state)(
            v=state.v[:, n : n + 1],
            i=state.i[:, :, n : n + 1],
            refractory=state.refractory[:, n : n + 1],
            pending=None if state.pending is None else state.pending[:, n : n + 1],
        )
        trace = run(alone, spikes, weights[:, :, n : n + 1], state=single_state)
        for name in ("spikes", "v", "i", "refractory"):
            assert np.array_equal(getattr(trace, name)[..., 0], getattr(together, name)[..., n]), (
                name,
                n,
            )


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), shared_mantissa=st.booleans())
def test_loihi_per_neuron_bias_exp_matches_lava(seed, shared_mantissa):
    rng = np.random.default_rng(seed)
    n, steps = 6, 40
    bias_exp = rng.integers(0, 8, size=n)
    bias_exp[:2] = [0, 7]
    bias = int(rng.integers(-4096, 4096)) if shared_mantissa else rng.integers(-4096, 4096, n)
    du, dv, vth = int(rng.integers(0, 4096)), rng.integers(0, 4096, size=n), 2000
    params = loihi_cuba_lif(du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=bias_exp)
    drive = rng.integers(-127, 128, size=(steps, n))
    trace = run(params, drive=drive)
    lava = LavaLifBitAcc(
        n, du, dv.tolist(), vth, np.broadcast_to(bias, n).tolist(), bias_exp.tolist()
    )
    for t in range(steps):
        spikes = lava.step(drive[t].tolist())
        assert trace.spikes[t, 0].tolist() == spikes, f"step {t}"
        assert trace.v[t, 0].tolist() == lava.v, f"step {t}"
        assert trace.i[t, 0, 0].tolist() == lava.u, f"step {t}"


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_drive_bias_equals_an_always_spiking_first_axon(data, seed):
    # Every mode: sum and per_event, before and after decay, no current (into the membrane).
    params = data.draw(
        neuron_params(n_neurons=N).filter(lambda p: np.any(np.asarray(p.drive_bias) != 0))
    )
    state, weights, spikes = _run_random(params, seed)
    with_bias = run(params, spikes, weights, state=state)
    # The same input with a new axon 0 that spikes once every step; its weight is the drive bias
    # on channel 0 and nothing on the other channels. Per event, axon 0 is added first.
    bias_row = np.zeros((params.input_channels, 1, N), dtype=np.int64)
    bias_row[0, 0, :] = params.drive_bias
    line_weights = np.concatenate([bias_row, weights], axis=1)
    line_spikes = np.concatenate([np.ones(spikes.shape[:2] + (1,), dtype=np.int64), spikes], axis=2)
    as_line = run(params.replace(drive_bias=0), line_spikes, line_weights, state=state)
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(with_bias, name), getattr(as_line, name)), name


@PROPERTY
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_drive_bias_shift_equals_finer_weights(data, seed):
    """``drive_bias << t`` with ``t = drive_bias_shift < input_shift = s``: the same as the drive
    bias in weight units (``drive_bias_shift`` None) on a neuron whose ``input_shift`` is ``t``
    and whose weights are ``2^(s - t)`` times larger (``(w << (s - t)) << t = w << s``), every
    mode (sum and per_event, before and after decay, no current)."""
    params = data.draw(
        neuron_params(n_neurons=N).filter(
            lambda p: p.input_shift > 0 and np.any(np.asarray(p.drive_bias) != 0)
        )
    )
    t = data.draw(st.integers(0, params.input_shift - 1))
    state, weights, spikes = _run_random(params, seed)
    shifted = run(params.replace(drive_bias_shift=t), spikes, weights, state=state)
    finer = run(
        params.replace(input_shift=t),
        spikes,
        np.asarray(weights, dtype=np.int64) << (params.input_shift - t),
        state=state,
    )
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(shifted, name), getattr(finer, name)), name
    # A multiple of 2^(s - t) is the drive bias in weight units, divided.
    unit = 1 << (params.input_shift - t)
    coarse = params.replace(drive_bias=np.asarray(params.drive_bias) // unit)
    as_weight_units = run(coarse, spikes, weights, state=state)
    as_shifted = run(
        coarse.replace(drive_bias=np.asarray(coarse.drive_bias) * unit, drive_bias_shift=t),
        spikes,
        weights,
        state=state,
    )
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(as_weight_units, name), getattr(as_shifted, name)), name


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            dict(input_shift=6, drive_bias_shift=7),
            "drive_bias_shift must be an integer between 0 and 6, not 7",
        ),
        (
            dict(input_shift=6, drive_bias_shift=-1),
            "drive_bias_shift must be an integer between 0 and 6, not -1",
        ),
        (
            dict(input_shift=0, drive_bias_shift=1),
            "drive_bias_shift must be an integer between 0 and 0, not 1",
        ),
    ],
)
def test_drive_bias_shift_refusals(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        NeuronParams(**kwargs)
    with pytest.raises(TypeError, match=re.escape("drive_bias_shift must be an integer, not 1.5")):
        NeuronParams(input_shift=6, drive_bias_shift=1.5)


def test_drive_bias_shift_round_trips_and_leaves_old_descriptions_alone():
    params = loihi_cuba_lif(du=1, dv=2, vth=3, drive_bias=np.array([5, -7])).replace(
        drive_bias_shift=0
    )
    assert params.to_dict()["drive_bias_shift"] == 0
    assert NeuronParams.from_dict(params.to_dict()) == params
    assert params != params.replace(drive_bias_shift=None)
    assert "drive_bias_shift" not in loihi_cuba_lif(du=1, dv=2, vth=3).to_dict()
    assert fast.unsupported_reason(params) == (
        "a drive_bias_shift below input_shift runs on the numpy reference only (the "
        "kernel adds the drive bias in weight units)"
    )
    assert fast.unsupported_reason(params.replace(drive_bias_shift=6)) is None


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    vth=st.integers(0, (1 << 17) - 1),
    bias_exp=st.integers(0, 7),
    drive_scale=st.sampled_from([8, 127, 511]),
    extremes=st.booleans(),
)
def test_loihi_per_neuron_du_dv_drive_bias_match_lava(seed, vth, bias_exp, drive_scale, extremes):
    rng = np.random.default_rng(seed)
    n, steps = 6, 40
    du = rng.integers(0, 4096, size=n)
    dv = rng.integers(0, 4096, size=n)
    if extremes:
        # du=4095 keeps nothing of the current (factor 0), du=0 and dv=0 keep everything.
        du[:3], dv[:3] = [0, 4095, 4095], [4095, 0, 4095]
    drive_bias = rng.integers(-(1 << 17) + 1, (1 << 17) + 1, size=n)
    drive_bias[rng.random(n) < 0.5] = rng.integers(-300, 300)
    bias = rng.integers(-4096, 4096, size=n)
    params = loihi_cuba_lif(
        du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=bias_exp, drive_bias=drive_bias
    )
    drive = rng.integers(-drive_scale, drive_scale + 1, size=(steps, n))
    trace = run(params, drive=drive)
    lava = LavaLifBitAcc(
        n, du.tolist(), dv.tolist(), vth, bias.tolist(), bias_exp, drive_bias.tolist()
    )
    for t in range(steps):
        spikes = lava.step(drive[t].tolist())
        assert trace.spikes[t, 0].tolist() == spikes, f"step {t}"
        assert trace.v[t, 0].tolist() == lava.v, f"step {t}"
        assert trace.i[t, 0, 0].tolist() == lava.u, f"step {t}"


def test_loihi_drive_bias_at_its_limits_wraps_the_current_like_lava():
    # drive_bias << 6 at +2^23 (the top of wrap_lava's range) and at -(2^23 - 64): the current
    # wraps within a few steps; the transliteration wraps the same way.
    drive_bias = np.array([1 << 17, -(1 << 17) + 1, 1, 0])
    params = loihi_cuba_lif(
        du=np.array([0, 0, 4095, 0]),
        dv=np.array([4095, 4095, 0, 0]),
        vth=(1 << 17) - 1,
        drive_bias=drive_bias,
    )
    drive = np.array([[1, -1, 0, 0]] * 5)
    trace = run(params, drive=drive)
    lava = LavaLifBitAcc(
        4, [0, 0, 4095, 0], [4095, 4095, 0, 0], (1 << 17) - 1, [0] * 4, 0, drive_bias.tolist()
    )
    for t in range(len(drive)):
        lava.step(drive[t].tolist())
        assert trace.i[t, 0, 0].tolist() == lava.u
        assert trace.v[t, 0].tolist() == lava.v
    assert trace.i[:, 0, 0, 0].min() < 0 < trace.i[:, 0, 0, 1].max(), "both must have wrapped"


def test_saturating_drive_bias_per_event_is_one_projection_before_the_events():
    # An 8-bit saturating current at 100, drive bias 100 then one event of -100: the bias
    # saturates first (127), then the event brings it to 27. Summed, all three cancel to 100.
    common = dict(
        n_currents=1,
        i_width=8,
        i_overflow="saturate",
        v_width=16,
        input_timing="before_decay",
        threshold=1000,
        drive_bias=100,
        i_decay=(Decay.none(),),
    )
    weights = np.array([[[-100]]])
    state = initial_state(NeuronParams(**common), 1)
    state = type(state)(v=state.v, i=np.full((1, 1, 1), 100), refractory=state.refractory)
    per_event = run(
        NeuronParams(accumulation="per_event", **common), np.array([[1]]), weights, state=state
    )
    summed = run(NeuronParams(accumulation="sum", **common), np.array([[1]]), weights, state=state)
    assert per_event.i[0, 0, 0, 0] == 27
    assert summed.i[0, 0, 0, 0] == 100


def test_membrane_only_drive_bias_adds_into_the_membrane_input():
    params = NeuronParams(
        v_width=8,
        v_overflow="saturate",
        threshold=127,
        reset="none",
        input_shift=1,
        drive_bias=np.array([3, -64, 63]),
    )
    trace = run(params, drive=np.zeros((3, 3), dtype=np.int64))
    assert trace.v[:, 0].tolist() == [[6, -128, 126], [12, -128, 127], [18, -128, 127]]


# ---- validation: exact messages --------------------------------------------------------------


@pytest.mark.parametrize(
    "factory, message",
    [
        (
            lambda: Decay.multiply(np.array([0, 4095, 4096]), 12, offset=1),
            "multiply decay constant[2] must be an integer between 0 and 4095, not 4096",
        ),
        (
            lambda: Decay.multiply(np.array([-1, 5]), 4),
            "multiply decay constant[0] must be an integer between 0 and 16, not -1",
        ),
        (
            lambda: Decay.shift(np.array([0, 63, 64, 70])),
            "shift decay constant[2] must be an integer between 0 and 63, not 64",
        ),
        (
            lambda: Decay.shift(np.array([[1, 2]])),
            "shift decay constant must be an integer or a non-empty 1-D integer array, "
            "not array([[1, 2]])",
        ),
        (
            lambda: Decay.multiply(np.array([0.5]), 4),
            "multiply decay constant must be an integer or a non-empty 1-D integer array, "
            "not array([0.5])",
        ),
        (
            lambda: Decay(DecayKind.NONE, np.array([1])),
            "decay constant must be an integer, not array([1])",
        ),
        (
            lambda: loihi_cuba_lif(du=np.array([1, 4096]), dv=0, vth=1),
            "Loihi du[1] must be an integer between 0 and 4095, not 4096",
        ),
        (
            lambda: loihi_cuba_lif(du=0, dv=np.array([-3]), vth=1),
            "Loihi dv[0] must be an integer between 0 and 4095, not -3",
        ),
        (
            lambda: loihi_cuba_lif(du=0, dv=0, vth=1, drive_bias=(1 << 17) + 1),
            "drive_bias 131073 cannot be held by i_width=24 (wrap_lava) after input_shift=6: "
            "allowed range is [-131071, 131072]",
        ),
        (
            lambda: NeuronParams(
                n_currents=1,
                i_width=8,
                i_overflow="saturate",
                input_shift=2,
                i_decay=Decay.none(),
                drive_bias=np.array([0, -33]),
            ),
            "drive_bias (values from -33 to 0) cannot be held by i_width=8 (saturate) after "
            "input_shift=2: allowed range is [-32, 31]",
        ),
        (
            lambda: NeuronParams(v_width=8, v_overflow="saturate_symmetric", drive_bias=128),
            "drive_bias 128 cannot be held by v_width=8 (saturate_symmetric) after input_shift=0: "
            "allowed range is [-127, 127]",
        ),
        (
            lambda: NeuronParams(drive_bias=1.5),
            "drive_bias must be an integer or a non-empty 1-D integer array, not 1.5",
        ),
        (
            lambda: NeuronParams(bias_exponent=np.array([0, 32, 33])),
            "bias_exponent[2] must be an integer between 0 and 32, not 33",
        ),
        (
            lambda: NeuronParams(bias_exponent=np.array([-1, 0])),
            "bias_exponent[0] must be an integer between 0 and 32, not -1",
        ),
        (
            lambda: NeuronParams(bias_exponent=33),
            "bias_exponent must be an integer between 0 and 32, not 33",
        ),
        (
            lambda: NeuronParams(bias_exponent=np.array([1.0])),
            "bias_exponent must be an integer or a non-empty 1-D integer array, not array([1.])",
        ),
        (
            lambda: NeuronParams(v_width=8, bias_mantissa=3, bias_exponent=np.array([0, 6, 1])),
            "bias (values from 3 to 192) cannot be held by v_width=8 (saturate): allowed range is "
            "[-128, 127]",
        ),
        (
            lambda: NeuronParams(bias_mantissa=np.array([1, 2]), bias_exponent=np.array([1, 2, 3])),
            "per-neuron parameters must all have one value per neuron, but their lengths differ: "
            "bias_mantissa 2, bias_exponent 3",
        ),
        (
            lambda: loihi_cuba_lif(du=0, dv=0, vth=1, bias_exp=np.array([7, 8])),
            "Loihi bias_exp[1] must be an integer between 0 and 7, not 8",
        ),
        (
            lambda: loihi_cuba_lif(du=0, dv=0, vth=1, bias_exp=[0.5]),
            "Loihi bias_exp must be an integer or a non-empty 1-D integer array, not [0.5]",
        ),
        (
            lambda: NeuronParams(
                threshold=np.array([1, 2]), v_decay=Decay.shift(np.array([1, 2, 3]))
            ),
            "per-neuron parameters must all have one value per neuron, but their lengths differ: "
            "threshold 2, v_decay constant 3",
        ),
    ],
)
def test_refusals(factory, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message) + "$"):
        factory()


def test_population_size_names_the_decay():
    params = NeuronParams(n_currents=1, i_decay=Decay.multiply(np.array([1, 2, 3]), 4))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "i_decay[0] constant has 3 per-neuron values, but the population has 4 neurons"
        ),
    ):
        initial_state(params, 4)


# ---- files, equality, slicing ------------------------------------------------------------------


def _per_neuron_example():
    return NeuronParams(
        n_currents=2,
        i_width=16,
        v_decay=Decay.multiply(np.array([0, 7, 4096, 3]), 12),
        i_decay=(Decay.shift(np.array([0, 1, 2, 63])), Decay.multiply(5, 4, offset=1)),
        threshold=np.array([1, 2, 3, 4]),
        drive_bias=np.array([-5, 0, 5, 9]),
    )


def test_round_trip_through_json_equality_and_hash():
    params = _per_neuron_example()
    again = NeuronParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params and hash(again) == hash(params)
    assert again.v_decay.per_neuron and isinstance(again.drive_bias, np.ndarray)
    assert params.to_dict()["v_decay"]["constant"] == [0, 7, 4096, 3]
    changed = params.replace(v_decay=Decay.multiply(np.array([0, 7, 4096, 2]), 12))
    assert changed != params
    assert params.replace(drive_bias=np.array([-5, 0, 5, 8])) != params
    # A per-neuron array of equal values is still per neuron: not equal to the scalar.
    assert Decay.multiply(np.array([3, 3]), 4) != Decay.multiply(3, 4)
    assert Decay.multiply(np.array([3, 3]), 4) == Decay.multiply(np.array([3, 3]), 4)


def test_per_neuron_fields_and_core_slices():
    params = _per_neuron_example()
    assert params.per_neuron_fields() == ("threshold", "drive_bias", "v_decay", "i_decay")
    part = _slice_params(params, 1, 3)
    assert part.v_decay.constant.tolist() == [7, 4096]
    assert part.i_decay[0].constant.tolist() == [1, 2]
    assert part.i_decay[1] == params.i_decay[1]
    assert part.threshold.tolist() == [2, 3] and part.drive_bias.tolist() == [0, 5]
    part.check_population_size(2)
    # The slice behaves as the same neurons of the whole population.
    rng = np.random.default_rng(3)
    drive = rng.integers(-50, 50, size=(6, 1, 2, 4))
    whole = run(params, drive=drive)
    sliced = run(part, drive=drive[..., 1:3])
    assert np.array_equal(whole.v[..., 1:3], sliced.v)
    assert np.array_equal(whole.i[..., 1:3], sliced.i)


def test_drive_bias_limits_are_accepted():
    low, high = state_range(24, Overflow.WRAP_LAVA)
    assert (low, high) == (-(1 << 23) + 1, 1 << 23)
    loihi_cuba_lif(du=0, dv=0, vth=1, drive_bias=np.array([-(1 << 17) + 1, 1 << 17]))


def test_network_file_keeps_per_neuron_decays_and_drive_bias(tmp_path):
    params = loihi_cuba_lif(
        du=np.array([0, 4095, 100]),
        dv=np.array([4096 - 1, 0, 7]),
        vth=3,
        drive_bias=np.array([5, -5, 1 << 17]),
    )
    check_network_file_round_trip(params, tmp_path)


def check_network_file_round_trip(params, tmp_path):
    """A three-neuron population of ``params`` saved and loaded: the same parameters and the
    same spikes."""
    from neurohw.network import InputGroup, Network, Population, Projection, simulate

    network = Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("h", 3, params)],
        projections=[Projection("x", "h", np.ones((2, 3), dtype=int))],
        outputs=["h"],
    )
    network.save(tmp_path / "net.zip")
    loaded = Network.load(tmp_path / "net.zip")
    assert loaded.populations["h"].params == params
    inputs = {"x": np.random.default_rng(0).integers(0, 2, size=(6, 2))}
    assert np.array_equal(
        simulate(loaded, inputs).spikes["h"], simulate(network, inputs).spikes["h"]
    )


def test_loihi_preset_takes_lists_or_arrays():
    as_lists = loihi_cuba_lif(du=[1, 4095], dv=[4095, 0], vth=1, drive_bias=[3, -3])
    as_arrays = loihi_cuba_lif(
        du=np.array([1, 4095]), dv=np.array([4095, 0]), vth=1, drive_bias=np.array([3, -3])
    )
    assert as_lists == as_arrays
    assert as_lists.i_decay[0].factor.tolist() == [4094, 0]  # du = 4095 keeps nothing
    with pytest.raises(
        ValueError,
        match=re.escape("Loihi du must be an integer or a non-empty 1-D integer array, not [0.5]"),
    ):
        loihi_cuba_lif(du=[0.5], dv=0, vth=1)


def test_per_neuron_bias_exponent_round_trip_equality_and_slices(tmp_path):
    params = loihi_cuba_lif(
        du=100, dv=np.array([4095, 0, 7]), vth=3, bias_mant=-5, bias_exp=[0, 7, 3]
    )
    assert params.per_neuron_fields() == ("bias_exponent", "v_decay")
    assert params.bias.tolist() == [-5, -5 << 7, -5 << 3]
    again = NeuronParams.from_dict(json.loads(json.dumps(params.to_dict())))
    assert again == params and hash(again) == hash(params)
    assert isinstance(again.bias_exponent, np.ndarray)
    assert params.replace(bias_exponent=np.array([0, 7, 2])) != params
    # A per-neuron array of equal exponents is still per neuron: not equal to the scalar.
    assert params.replace(bias_exponent=np.array([3, 3, 3])) != params.replace(bias_exponent=3)
    assert _slice_params(params, 1, 3).bias_exponent.tolist() == [7, 3]
    check_network_file_round_trip(params, tmp_path)
