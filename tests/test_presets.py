"""The presets against the published models: golden vectors and independent oracles."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurohw.model import loihi_cuba_lif, run, snntorch_leaky, xylo_lif
from tests.oracles import LavaLifBitAcc, XyloLayer


def test_loihi_lava_golden_impulse():
    # Lava's own test: a=128 at the first step, du=0, dv=2048, no bias.
    params = loihi_cuba_lif(du=0, dv=2048, vth=(1 << 17) - 1)
    drive = np.zeros((8, 1), dtype=np.int64)
    drive[0, 0] = 128
    trace = run(params, drive=drive)
    assert trace.v[:, 0, 0].tolist() == [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    du=st.integers(0, 4095),
    dv=st.integers(0, 4095),
    vth=st.integers(0, (1 << 17) - 1),
    bias_exp=st.integers(0, 7),
    seed=st.integers(0, 2**32 - 1),
    drive_scale=st.sampled_from([8, 127, 511]),
)
def test_loihi_matches_lava_bit_accurate(du, dv, vth, bias_exp, seed, drive_scale):
    rng = np.random.default_rng(seed)
    n, steps = 6, 40
    bias = rng.integers(-4096, 4096, size=n)
    params = loihi_cuba_lif(du=du, dv=dv, vth=vth, bias_mant=bias, bias_exp=bias_exp)
    drive = rng.integers(-drive_scale, drive_scale + 1, size=(steps, n))
    trace = run(params, drive=drive)
    lava = LavaLifBitAcc(n, du, dv, vth, bias.tolist(), bias_exp)
    for t in range(steps):
        spikes = lava.step(drive[t].tolist())
        assert trace.spikes[t, 0].tolist() == spikes, f"step {t}"
        assert trace.v[t, 0].tolist() == lava.v, f"step {t}"
        assert trace.i[t, 0, 0].tolist() == lava.u, f"step {t}"


def test_loihi_current_wraps_like_lava():
    # Drive the current past +2^23: Lava's wrap keeps +2^23 itself and maps beyond it down.
    params = loihi_cuba_lif(du=0, dv=4095, vth=(1 << 17) - 1)
    steps = 6
    drive = np.full((steps, 1), (1 << 15) - 1, dtype=np.int64)
    trace = run(params, drive=drive)
    lava = LavaLifBitAcc(1, 0, 4095, (1 << 17) - 1, [0], 0)
    for t in range(steps):
        lava.step([int(drive[t, 0])])
        assert trace.i[t, 0, 0, 0] == lava.u[0]
    currents = trace.i[:, 0, 0, 0]
    assert currents.min() < 0 < currents[0], "the current must have wrapped"
    assert currents.max() <= 1 << 23


def _xylo_case(rng, n_syn, n_axons, n, dash_mem, dash_syn, weight_shift, threshold_kind):
    weights = rng.integers(-128, 128, size=(n_syn, n_axons, n))
    weights[rng.random(weights.shape) < 0.3] = 0
    if threshold_kind == "zero":
        threshold = np.zeros(n, dtype=np.int64)
    else:
        threshold = rng.integers(1, 1 << 15, size=n)
    bias = rng.integers(-(1 << 15), 1 << 15, size=n)
    return weights, threshold, bias


@settings(max_examples=50, deadline=None, derandomize=True)
@given(
    n_syn=st.sampled_from([1, 2]),
    dash_mem=st.integers(0, 15),
    dash_syn=st.lists(st.integers(0, 15), min_size=2, max_size=2),
    weight_shift=st.integers(0, 7),
    seed=st.integers(0, 2**32 - 1),
    threshold_kind=st.sampled_from(["random", "random", "zero"]),
    max_spikes=st.sampled_from([31, 1]),
    rate=st.sampled_from([0.05, 0.5, 3.0]),
)
def test_xylo_matches_xylosim(
    n_syn, dash_mem, dash_syn, weight_shift, seed, threshold_kind, max_spikes, rate
):
    rng = np.random.default_rng(seed)
    n_axons, n, steps = 5, 4, 25
    dash_syn = dash_syn[:n_syn]
    weights, threshold, bias = _xylo_case(
        rng, n_syn, n_axons, n, dash_mem, dash_syn, weight_shift, threshold_kind
    )
    counts = rng.poisson(rate, size=(steps, n_axons))
    counts[rng.random(counts.shape) < 0.05] = 20  # above Xylo's input cap of 15
    params = xylo_lif(
        dash_mem=dash_mem,
        dash_syn=dash_syn,
        threshold=threshold,
        bias=bias,
        weight_shift=weight_shift,
        max_spikes=max_spikes,
        input_count_cap=15,  # XyloLayer's input path: external input only
    )
    trace = run(params, counts, weights)
    xylo = XyloLayer(
        weights.tolist(),
        dash_mem,
        dash_syn,
        threshold.tolist(),
        bias.tolist(),
        weight_shift,
        max_spikes=max_spikes,
    )
    for t in range(steps):
        spikes = xylo.step(counts[t].tolist())
        assert trace.spikes[t, 0].tolist() == spikes, f"step {t}"
        assert trace.v[t, 0].tolist() == xylo.v, f"step {t}"
        for syn in range(n_syn):
            assert trace.i[t, 0, syn].tolist() == xylo.i[syn], f"step {t}, current {syn}"


def _xylo_single(dash_mem, threshold, v0=0, i0=0, bias=0, dash_syn=4, steps=3, max_spikes=31):
    params = xylo_lif(
        dash_mem=dash_mem,
        dash_syn=dash_syn,
        threshold=threshold,
        bias=bias,
        max_spikes=max_spikes,
        input_count_cap=15,
    )
    from neurohw.model import NeuronState, initial_state

    state = initial_state(params, 1)
    state = NeuronState(v=np.array([[v0]]), i=np.array([[[i0]]]), refractory=state.refractory)
    return run(
        params, np.zeros((steps, 1), dtype=np.int64), np.zeros((1, 1), dtype=np.int64), state=state
    )


def test_xylo_edge_stuck_at_minimum_with_dash_zero():
    # -L(-32768) = 32768 wraps to -32768 in the int16 leak, so v saturates back to -32768.
    trace = _xylo_single(dash_mem=0, threshold=100, v0=-(1 << 15))
    assert trace.v[:, 0, 0].tolist() == [-(1 << 15)] * 3


def test_xylo_edge_minimum_leak():
    # A positive value loses at least 1; -1 decays to 0 for any shift.
    assert _xylo_single(dash_mem=15, threshold=1000, v0=5).v[:, 0, 0].tolist() == [4, 3, 2]
    assert _xylo_single(dash_mem=15, threshold=1000, v0=-1).v[:, 0, 0].tolist() == [0, 0, 0]


def test_xylo_edge_threshold_zero_gives_spike_cap():
    trace = _xylo_single(dash_mem=15, threshold=0, v0=7, max_spikes=31)
    assert trace.spikes[:, 0, 0].tolist() == [31, 31, 31]
    assert trace.v[:, 0, 0].tolist() == [6, 5, 4]


def test_xylo_edge_multi_spike_cap():
    trace = _xylo_single(dash_mem=15, threshold=10, v0=(1 << 15) - 1, steps=1)
    assert trace.spikes[0, 0, 0] == 31
    assert trace.v[0, 0, 0] == (1 << 15) - 2 - 310


def test_xylo_edge_dash_syn_zero_wipes_current():
    trace = _xylo_single(dash_mem=15, threshold=1 << 14, i0=1000, dash_syn=0, steps=1)
    assert trace.i[0, 0, 0, 0] == 0
    assert trace.v[0, 0, 0] == 0


def test_snntorch_leaky_preset_fields():
    params = snntorch_leaky(beta_constant=32, threshold=100, reset="zero")
    assert params.v_decay.factor == 256 - 32
    assert params.comparison.value == ">"
    with pytest.raises(
        ValueError,
        match=r"^snnTorch reset must be 'subtract' or 'zero', "
        r"not 'none'$",
    ):
        snntorch_leaky(beta_constant=32, threshold=100, reset="none")


def test_snntorch_leaky_matches_float_recurrence_when_exact():
    # With beta = 1/2 and even values the integer recurrence has no rounding; it must then equal
    # snnTorch's float recurrence mem = beta * mem + x - spk * thr, spk = mem > thr.
    params = snntorch_leaky(beta_constant=128, threshold=40, decay_bits=8)
    drive = np.array([[64], [0], [32], [96], [0], [0], [128], [2]], dtype=np.int64)
    trace = run(params, drive=drive)
    mem = 0.0
    for t in range(len(drive)):
        mem = 0.5 * mem + float(drive[t, 0])
        spk = mem > 40
        mem -= 40 * spk
        assert trace.spikes[t, 0, 0] == int(spk)
        assert trace.v[t, 0, 0] == int(np.floor(mem))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(du=4096, dv=0, vth=1), "Loihi du must be an integer between 0 and 4095, not 4096"),
        (
            dict(du=0, dv=0, vth=1 << 17),
            "Loihi vth must be an integer between 0 and 131071, not 131072",
        ),
        (
            dict(du=0, dv=0, vth=1, bias_exp=8),
            "Loihi bias_exp must be an integer between 0 and 7, not 8",
        ),
    ],
)
def test_loihi_wrong_parameters(kwargs, message):
    with pytest.raises(ValueError) as info:
        loihi_cuba_lif(**kwargs)
    assert str(info.value) == message


def test_xylo_defaults_and_per_neuron_decays():
    """No population-level cap by default (a network caps input and recurrent projections
    separately); per-neuron dash_mem/dash_syn step like one-neuron populations."""
    params = xylo_lif(dash_mem=2, dash_syn=(1, 3), threshold=50)
    assert params.input_count_cap is None and params.input_shift == 0
    dash_mem, dash_syn = np.array([0, 3, 15]), np.array([2, 0, 7])
    per_neuron = xylo_lif(dash_mem=dash_mem, dash_syn=dash_syn, threshold=40)
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 4, size=(12, 4))
    weights = rng.integers(-60, 90, size=(4, 3))
    trace = run(per_neuron, counts, weights)
    for n in range(3):
        alone = xylo_lif(dash_mem=int(dash_mem[n]), dash_syn=int(dash_syn[n]), threshold=40)
        single = run(alone, counts, weights[:, n : n + 1])
        np.testing.assert_array_equal(trace.spikes[:, :, n], single.spikes[:, :, 0])
        np.testing.assert_array_equal(trace.v[:, :, n], single.v[:, :, 0])
    with pytest.raises(ValueError) as info:
        xylo_lif(dash_mem=np.array([1, 16]), dash_syn=1, threshold=1)
    assert str(info.value) == "Xylo dash_mem[1] must be a 4-bit integer between 0 and 15, not 16"


def test_xylo_wrong_parameters():
    with pytest.raises(ValueError) as info:
        xylo_lif(dash_mem=16, dash_syn=1, threshold=1)
    assert str(info.value) == "Xylo dash_mem must be a 4-bit integer between 0 and 15, not 16"
    with pytest.raises(ValueError) as info:
        xylo_lif(dash_mem=1, dash_syn=(1, 2, 3), threshold=1)
    assert str(info.value) == "Xylo neurons have 1 or 2 synaptic currents, not 3"
