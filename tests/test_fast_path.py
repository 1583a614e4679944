"""The compiled fast path (``neurohw.model.fast``) against the numpy reference, bit for bit.

Random configurations cover every option the fast path accepts; random initial states lie inside
the state ranges; random drives include values far beyond every width (saturation and wrap) and
beyond int64. Every spike count and every state is compared after every step.
Each example compiles one kernel (~0.5 s), so the example count is small and fixed
(derandomized). ``NEUROHW_FAST_PATH_EXAMPLES=500`` explores more, with random seeds.
"""

import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from neurohw.model import (
    Accumulation,
    Comparison,
    Decay,
    DecayKind,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    NeuronState,
    Overflow,
    ResetMode,
    Rounding,
    StepInput,
    fast,
    initial_state,
    loihi_cuba_lif,
    run,
    snntorch_leaky,
    state_range,
    step,
    xylo_lif,
)

_EXPLORE = int(os.environ.get("NEUROHW_FAST_PATH_EXAMPLES", "0"))
PROPERTY = settings(
    deadline=None,
    derandomize=not _EXPLORE,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
INT64 = np.iinfo(np.int64)


def _ceil_shift(x, s):
    return -((-x) >> s)


def _array_of(rng, low, high, n):
    """n integers in [low, high], with the bounds and 0 (if inside) mixed in."""
    values = rng.integers(low, high, size=n, endpoint=True)
    specials = [low, high] + ([0] if low <= 0 <= high else [])
    mask = rng.random(n) < 0.3
    values[mask] = rng.choice(specials, size=int(mask.sum()))
    return values.astype(np.int64)


@st.composite
def decays(draw, max_bits, n=None):
    """A decay the fast path accepts; with ``n``, constants are sometimes one per neuron."""
    kinds = [DecayKind.NONE, DecayKind.SHIFT] + ([DecayKind.MULTIPLY] if max_bits >= 1 else [])
    kind = draw(st.sampled_from(kinds))
    if kind is DecayKind.NONE:
        return Decay.none()
    per_neuron = n is not None and draw(st.booleans())
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind is DecayKind.SHIFT:
        if per_neuron:
            return Decay.shift(_array_of(rng, 0, draw(st.sampled_from([6, 63])), n))
        return Decay.shift(draw(st.one_of(st.integers(0, 6), st.integers(0, 63))))
    bits = draw(
        st.one_of(
            st.sampled_from([b for b in (1, 4, 12) if b <= max_bits]),
            st.integers(1, min(32, max_bits)),
        )
    )
    offset = draw(st.integers(0, 1))
    top = (1 << bits) - offset
    if per_neuron:
        constant = _array_of(rng, 0, top, n)
    else:
        constant = draw(
            st.one_of(
                st.sampled_from(sorted({0, 1 if top else 0, top, max(top - 1, 0)})),
                st.integers(0, top),
            )
        )
    return Decay.multiply(
        constant, bits, offset=offset, rounding=draw(st.sampled_from(list(Rounding)))
    )


@st.composite
def configurations(draw):
    """(params, n_neurons): any configuration the fast path supports."""
    n = draw(st.sampled_from([1, 3, 17, 40, 67]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    widths = st.one_of(st.sampled_from([2, 3, 8, 16, 24, 32]), st.integers(2, 59))
    n_currents = draw(st.integers(0, 2))
    v_width = draw(widths)
    i_width = draw(widths) if n_currents else 16
    widest = max(v_width, i_width if n_currents else 0)
    max_bits = min(32, fast.INT64_SAFE_BITS - widest)  # the fast path's own bound
    v_overflow = draw(st.sampled_from(list(Overflow)))
    i_overflow = draw(st.sampled_from(list(Overflow)))
    v_low, v_high = state_range(v_width, v_overflow)
    reset = draw(st.sampled_from(list(ResetMode)))

    threshold_shift = draw(st.integers(0, min(32, v_width)))
    t_low, t_high = _ceil_shift(v_low, threshold_shift), v_high >> threshold_shift
    if reset is ResetMode.SUBTRACT:
        t_low = 0
    if draw(st.booleans()):
        threshold = _array_of(rng, t_low, t_high, n)
    else:
        threshold = draw(
            st.one_of(
                st.sampled_from(sorted({t_low, t_high, max(t_low, 0)})), st.integers(t_low, t_high)
            )
        )
    bias_exponent = draw(st.integers(0, min(32, v_width)))
    b_low, b_high = _ceil_shift(v_low, bias_exponent), v_high >> bias_exponent
    bias = (
        _array_of(rng, b_low, b_high, n)
        if draw(st.booleans())
        else draw(st.integers(b_low, b_high))
    )
    reset_value = 0
    if reset is ResetMode.VALUE:
        reset_value = (
            _array_of(rng, v_low, v_high, n)
            if draw(st.booleans())
            else draw(st.integers(v_low, v_high))
        )
    input_shift = draw(st.one_of(st.integers(0, 8), st.integers(0, 32)))
    d_low, d_high = state_range(i_width, i_overflow) if n_currents else (v_low, v_high)
    d_low, d_high = _ceil_shift(d_low, input_shift), d_high >> input_shift
    drive_bias = draw(st.sampled_from(["zero", "scalar", "per_neuron"]))
    drive_bias = {
        "zero": 0,
        "scalar": draw(st.sampled_from(sorted({d_low, d_high, 0}))),
        "per_neuron": _array_of(rng, d_low, d_high, n),
    }[drive_bias]
    params = NeuronParams(
        n_currents=n_currents,
        v_width=v_width,
        i_width=i_width,
        v_overflow=v_overflow,
        i_overflow=i_overflow,
        v_decay=draw(decays(max_bits, n)),
        i_decay=tuple(draw(decays(max_bits, n)) for _ in range(n_currents)),
        accumulation=Accumulation.SUM,
        input_timing=(
            draw(st.sampled_from(list(InputTiming))) if n_currents else InputTiming.AFTER_DECAY
        ),
        input_shift=input_shift,
        drive_bias=drive_bias,
        membrane_update=draw(st.sampled_from(list(MembraneUpdate))),
        bias_mantissa=bias,
        bias_exponent=bias_exponent,
        threshold=threshold,
        threshold_shift=threshold_shift,
        comparison=draw(st.sampled_from(list(Comparison))),
        reset=reset,
        reset_value=reset_value,
        max_spikes=(
            draw(st.one_of(st.just(1), st.sampled_from([2, 31, 255]), st.integers(1, 255)))
            if reset is ResetMode.SUBTRACT
            else 1
        ),
        refractory_period=draw(st.one_of(st.just(0), st.integers(1, 4), st.just(65535))),
    )
    return params, n


def _random_drive(rng, params, shape, dtype_name):
    """Drive values mixing small, boundary-crossing, huge and extreme magnitudes."""
    width = params.i_width if params.n_currents else params.v_width
    near = 1 << max(0, width + 1 - params.input_shift)
    size = int(np.prod(shape))
    regime = rng.choice(5, size=size, p=rng.dirichlet(np.ones(5)))
    small = rng.integers(-3, 4, size=size)
    boundary = rng.integers(-near, near, size=size, endpoint=True)
    huge = rng.choice([-1, 1], size=size) * (np.int64(1) << rng.integers(30, 63, size=size)).astype(
        np.int64
    )
    extreme = rng.choice([INT64.min, INT64.max, INT64.min + 1, 0], size=size)
    values = np.select(
        [regime == 0, regime == 1, regime == 2, regime == 3],
        [small, boundary, huge, extreme],
        default=0,
    ).astype(np.int64)
    if dtype_name == "object":
        out = values.astype(object)
        beyond = rng.random(size) < 0.3
        out[beyond] = [
            int(s) * ((1 << 70) + int(k))
            for s, k in zip(
                rng.choice([-1, 1], size=int(beyond.sum())),
                rng.integers(0, 1 << 40, size=int(beyond.sum())),
            )
        ]
        return out.reshape(shape)
    info = np.iinfo(dtype_name)
    out = np.clip(values, max(info.min, INT64.min), min(info.max, INT64.max)).astype(dtype_name)
    if dtype_name == "uint64":
        out[rng.random(size) < 0.2] = np.iinfo(np.uint64).max  # beyond int64
    return out.reshape(shape)


def _same(fast_array, ref_array):
    return np.asarray(fast_array).tolist() == np.asarray(ref_array).tolist()


@settings(PROPERTY, max_examples=_EXPLORE or 45)
@given(
    config=configurations(),
    batch=st.integers(1, 3),
    steps=st.integers(1, 7),
    dtype=st.sampled_from(
        ["int64"] * 5 + ["int32", "int16", "int8", "uint8", "uint32", "uint64", "object"]
    ),
    seed=st.integers(0, 2**32 - 1),
    refractory_start=st.booleans(),
)
def test_fast_path_matches_reference(config, batch, steps, dtype, seed, refractory_start):
    params, n = config
    assert fast.supports(params)
    source = fast.kernel_source(params)
    event(source.splitlines()[0])  # int32 or int64 arithmetic
    event(
        f"reset {params.reset.value}, currents {params.n_currents}, {params.membrane_update.value}"
    )
    rng = np.random.default_rng(seed)
    ref_dtype = initial_state(params, n, batch).v.dtype  # int64, or object for wide states
    v_low, v_high = state_range(params.v_width, params.v_overflow)
    i_low, i_high = state_range(params.i_width, params.i_overflow)
    r_high = min(params.refractory_period + 2, 65535) if refractory_start else 0
    state = NeuronState(
        v=_array_of(rng, v_low, v_high, batch * n).reshape(batch, n).astype(ref_dtype),
        i=_array_of(rng, i_low, i_high, batch * params.n_currents * n)
        .reshape(batch, params.n_currents, n)
        .astype(ref_dtype),
        refractory=_array_of(rng, 0, r_high, batch * n).reshape(batch, n),
    )
    drives = [
        _random_drive(rng, params, (batch, params.input_channels, n), dtype) for _ in range(steps)
    ]

    population = fast.FastPopulation(params, n, batch, state=state)
    assert _same(population.state().v, state.v) and _same(population.state().i, state.i)
    ref_state = state
    for t, drive in enumerate(drives):
        spikes = population.step(drive)
        ref_state, ref_spikes = step(params, ref_state, StepInput(drive=drive))
        got = population.state()
        assert _same(spikes, ref_spikes), f"spikes differ at step {t}"
        assert _same(got.v, ref_state.v), f"v differs at step {t}"
        assert _same(got.i, ref_state.i), f"i differs at step {t}"
        assert _same(got.refractory, ref_state.refractory), f"refractory differs at step {t}"

    # The multi-step entry (compiled time loop, or per-step when recording) gives the same Trace.
    stacked = np.stack(drives)
    record = ("spikes", "v", "i", "refractory") if seed % 2 else ("spikes",)
    trace = fast.run_fast(params, stacked, state=state, record=record)
    ref_trace = run(params, drive=stacked, state=state, record=record)
    for name in ("spikes", "v", "i", "refractory"):
        assert _same(getattr(trace, name), getattr(ref_trace, name)), name
        if getattr(ref_trace, name) is not None:
            assert getattr(trace, name).dtype == getattr(ref_trace, name).dtype, name
    assert _same(trace.final_state.v, ref_state.v)
    assert _same(trace.final_state.i, ref_state.i)
    assert _same(trace.final_state.refractory, ref_state.refractory)


def test_loihi_preset_large_population():
    """The benchmarked configuration, wide enough to run the vectorized loop body."""
    rng = np.random.default_rng(7)
    n, steps, batch = 5000, 30, 2
    params = loihi_cuba_lif(
        du=410,
        dv=205,
        vth=60,
        bias_mant=rng.integers(-4096, 4096, n),
        bias_exp=2,
        refractory_period=3,
    )
    drive = np.where(
        rng.random((steps, batch, 1, n)) < 0.2, rng.integers(-2000, 2000, (steps, batch, 1, n)), 0
    ).astype(np.int32)
    drive[5, 0, 0, :100] = np.iinfo(np.int32).max  # wraps the 24-bit current
    ref = run(params, drive=drive.astype(np.int64))
    got = fast.run_fast(params, drive)
    assert ref.spikes.sum() > 1000
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(got, name), getattr(ref, name)), name
    population = fast.FastPopulation(params, n, batch)
    assert population.state_bytes_per_neuron == 4 + 4 + 2
    assert np.array_equal(population.advance(drive), ref.spikes)


def test_per_neuron_bias_exponent_with_a_shared_mantissa():
    """A shared mantissa with per-neuron exponents is a per-neuron bias for the kernel."""
    rng = np.random.default_rng(8)
    n, steps, batch = 64, 30, 2
    params = loihi_cuba_lif(
        du=410, dv=205, vth=60, bias_mant=-37, bias_exp=rng.integers(0, 8, n), refractory_period=1
    )
    drive = rng.integers(-300, 300, (steps, batch, 1, n)).astype(np.int32)
    ref = run(params, drive=drive.astype(np.int64))
    got = fast.run_fast(params, drive)
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(got, name), getattr(ref, name)), name
    assert fast.FastPopulation(params, n, batch).param_bytes_per_neuron == 2


def test_kernel_has_no_mode_branches():
    source = fast.kernel_source(loihi_cuba_lif(du=1, dv=2, vth=3))
    loop = source.split("for n in range(n_neurons):")[1]
    assert "if " not in loop.replace(" if ", " ? ")  # only conditional expressions (selects)
    assert "4094" in loop and "4094" not in source.split("for n")[0]  # constants resolved
    assert source.startswith("# arithmetic: int32")  # 24-bit states, 12-bit decays
    wide = NeuronParams(n_currents=1, v_width=29, i_decay=Decay.none())
    assert fast.kernel_source(wide).startswith("# arithmetic: int64")
    assert fast.kernel_source(NeuronParams(v_width=28, v_decay=Decay.multiply(3, 16))).startswith(
        "# arithmetic: int64"
    )


# ---- which configurations run where --------------------------------------------------------


def test_supports_bound():
    for width in (30, 50, 59, 60):
        for bits in (1, 3, 4, 12):
            params = NeuronParams(v_width=width, v_decay=Decay.multiply(1, bits))
            assert fast.supports(params) == (width + max(bits, 3) <= 62), (width, bits)
    # Shift and none decays do not widen products; only the 3 bits of sums count.
    assert fast.supports(NeuronParams(v_width=59, v_decay=Decay.shift(63)))
    assert not fast.supports(NeuronParams(v_width=60))
    assert not fast.supports(
        NeuronParams(n_currents=1, v_width=8, i_width=60, i_decay=Decay.none())
    )
    assert fast.supports(NeuronParams(n_currents=0, v_width=8, i_width=64))  # no current
    reason = fast.unsupported_reason(NeuronParams(v_width=64))
    assert "67 bits" in reason and "62" in reason


def test_per_event_is_rejected_and_falls_back():
    params = xylo_lif(dash_mem=2, dash_syn=(1, 3), threshold=50)
    assert not fast.supports(params)
    assert "per_event" in fast.unsupported_reason(params)
    rng = np.random.default_rng(3)
    spikes = rng.integers(0, 3, size=(6, 1, 5))
    weights = rng.integers(-20, 20, size=(2, 5, 4))
    expected = run(params, spikes, weights)
    got = fast.simulate(params, spikes, weights)  # auto: falls back to the reference
    assert np.array_equal(got.spikes, expected.spikes) and np.array_equal(got.v, expected.v)
    with pytest.raises(ValueError, match="backend 'numba' cannot run.*per_event"):
        fast.simulate(params, spikes, weights, backend="numba")
    with pytest.raises(ValueError, match="does not support.*per_event"):
        fast.FastPopulation(params, 4)


def test_reset_delay_is_rejected_and_falls_back():
    params = snntorch_leaky(beta_constant=40, threshold=30, reset_delay=True)
    reason = (
        "reset_delay=True runs on the numpy reference only (the kernel keeps no pending "
        "spike count)"
    )
    assert fast.unsupported_reason(params) == reason
    drive = np.random.default_rng(4).integers(-10, 60, size=(20, 5000))
    expected = run(params, drive=drive)
    got = fast.simulate(params, drive=drive)  # auto: the reference, whatever the size
    assert np.array_equal(got.spikes, expected.spikes) and np.array_equal(got.v, expected.v)
    assert expected.spikes.any()
    with pytest.raises(
        ValueError, match=re.escape(f"backend 'numba' cannot run this configuration: {reason}")
    ):
        fast.simulate(params, drive=drive, backend="numba")


def test_wide_configuration_falls_back():
    params = NeuronParams(v_width=64, v_overflow="wrap", threshold=1 << 62)
    drive = np.array([[1 << 62], [1 << 62]], dtype=object)
    expected = run(params, drive=drive)
    got = fast.simulate(params, drive=np.repeat(drive, 4096, axis=1))
    assert got.v[:, 0, 0].tolist() == expected.v[:, 0, 0].tolist() == [1 << 62, -(1 << 63)]
    with pytest.raises(
        ValueError,
        match=r"backend 'numba' cannot run this configuration: "
        r"intermediate values need 67 bits",
    ):
        fast.simulate(params, drive=drive, backend="numba")
    with pytest.raises(ValueError, match="backend must be"):
        fast.simulate(params, drive=drive, backend="gpu")


def test_auto_backend_choice(monkeypatch):
    params = loihi_cuba_lif(du=100, dv=100, vth=10)
    rng = np.random.default_rng(5)
    big = rng.integers(-300, 300, size=(4, 1, fast.AUTO_MIN_NEURONS))
    small = big[:, :, :100]
    expected_big = run(params, drive=big)
    expected_small = run(params, drive=small)
    calls = []
    real_run_fast, real_run = fast.run_fast, fast.reference.run
    monkeypatch.setattr(
        fast, "run_fast", lambda *a, **k: calls.append("numba") or real_run_fast(*a, **k)
    )
    monkeypatch.setattr(
        fast.reference, "run", lambda *a, **k: calls.append("numpy") or real_run(*a, **k)
    )
    got = fast.simulate(params, drive=big)
    assert calls == ["numba"] and np.array_equal(got.v, expected_big.v)
    calls.clear()
    got = fast.simulate(params, drive=small)
    assert calls == ["numpy"] and np.array_equal(got.v, expected_small.v)
    calls.clear()
    got = fast.simulate(params, drive=small, backend="numba")
    assert calls == ["numba"] and np.array_equal(got.v, expected_small.v)
    calls.clear()
    fast.simulate(params, drive=big, backend="numpy")
    assert calls == ["numpy"]
    # An initial state outside the state ranges cannot be held: auto falls back, numba refuses.
    bad = initial_state(params, fast.AUTO_MIN_NEURONS)
    bad = NeuronState(v=bad.v + (1 << 24), i=bad.i, refractory=bad.refractory)
    calls.clear()
    fast.simulate(params, drive=big, state=bad)
    assert calls == ["numpy"]
    with pytest.raises(
        ValueError,
        match=r"backend 'numba' cannot run this input: the initial "
        r"state.v leaves \[-8388607, 8388607\]",
    ):
        fast.simulate(params, drive=big, state=bad, backend="numba")


def test_simulate_spikes_and_weights():
    params = snntorch_leaky(beta_constant=30, threshold=200, reset="subtract")
    rng = np.random.default_rng(11)
    spikes = rng.integers(0, 2, size=(10, 2, 30))
    weights = rng.integers(-40, 60, size=(30, 20))
    expected = run(params, spikes, weights)
    got = fast.simulate(params, spikes, weights, backend="numba")
    for name in ("spikes", "v", "i", "refractory"):
        assert np.array_equal(getattr(got, name), getattr(expected, name)), name


def test_step_validation():
    params = loihi_cuba_lif(du=1, dv=1, vth=1)
    population = fast.FastPopulation(params, 8, batch=2)
    with pytest.raises(ValueError, match=r"drive must have shape"):
        population.step(np.zeros((1, 1, 8), np.int64))
    with pytest.raises(TypeError, match="integer"):
        population.step(np.zeros((2, 1, 8), np.float64))
    with pytest.raises(ValueError, match=r"refractory values from 70000 to 70000"):
        population.set_state(
            NeuronState(
                v=np.zeros((2, 8), np.int64),
                i=np.zeros((2, 1, 8), np.int64),
                refractory=np.full((2, 8), 70000),
            )
        )
