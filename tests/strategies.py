"""Hypothesis strategies that draw any accepted neuron configuration, states and inputs."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from neurohw.model import (
    Accumulation,
    Comparison,
    Decay,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    Overflow,
    ResetMode,
    Rounding,
    state_range,
)


@st.composite
def decays(draw, width, n_neurons=None):
    """Any decay; with ``n_neurons``, 'multiply' and 'shift' constants are sometimes drawn per
    neuron, with the extremes (0 and the largest constant) over-represented."""
    kind = draw(st.sampled_from(["none", "multiply", "shift"]))
    if kind == "none":
        return Decay.none()

    def constant(low, high):
        if n_neurons is not None and draw(st.booleans()):
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            values = rng.integers(low, high, size=n_neurons, endpoint=True)
            extremes = rng.random(n_neurons) < 0.3
            values[extremes] = rng.choice([low, high], size=int(extremes.sum()))
            return values
        return draw(st.integers(low, high))

    if kind == "shift":
        return Decay.shift(constant(0, min(width + 1, 20)))
    bits = draw(st.integers(1, 12))
    offset = draw(st.integers(0, 1))
    rounding = draw(st.sampled_from(list(Rounding)))
    return Decay.multiply(constant(0, (1 << bits) - offset), bits, offset=offset, rounding=rounding)


@st.composite
def neuron_params(draw, n_neurons=None, max_width=32, min_width=2, reset_delay=None):
    """Any valid NeuronParams, with per-neuron arrays of length ``n_neurons`` when given;
    ``reset_delay=True`` only models with it (None: drawn where it is allowed)."""
    n_currents = draw(st.integers(0, 2))
    v_width = draw(st.integers(min_width, max_width))
    i_width = draw(st.integers(min_width, max_width))
    v_overflow = draw(st.sampled_from(list(Overflow)))
    i_overflow = draw(st.sampled_from(list(Overflow)))
    accumulation = Accumulation.SUM
    input_timing = InputTiming.AFTER_DECAY
    if n_currents:
        accumulation = draw(st.sampled_from(list(Accumulation)))
        input_timing = draw(st.sampled_from(list(InputTiming)))
    reset = ResetMode.SUBTRACT if reset_delay else draw(st.sampled_from(list(ResetMode)))
    v_low, v_high = state_range(v_width, v_overflow)

    def per_neuron_or_scalar(low, high):
        if n_neurons is not None and draw(st.booleans()):
            seed = draw(st.integers(0, 2**32 - 1))
            # Per-neuron arrays are int64 (wrap_lava's 64-bit range reaches 2^63).
            low, high = max(low, -(1 << 63)), min(high, (1 << 63) - 1)
            return np.random.default_rng(seed).integers(low, high, size=n_neurons, endpoint=True)
        return draw(st.integers(low, high))

    threshold_shift = draw(st.integers(0, max(0, min(4, v_width - 2))))
    t_low = 0 if reset is ResetMode.SUBTRACT else -((-v_low) >> threshold_shift)
    t_high = v_high >> threshold_shift
    # Thresholds near the top of the range make spiking rare; favour reachable ones.
    if draw(st.booleans()):
        t_high = max(t_low, t_high // 4)
    threshold = per_neuron_or_scalar(max(t_low, -(t_high + 1)), t_high)
    bias_exponent = draw(st.integers(0, 3))
    bias_bound = v_high >> bias_exponent
    bias = per_neuron_or_scalar(-(bias_bound // 8), bias_bound // 8)
    reset_value = per_neuron_or_scalar(v_low, v_high) if reset is ResetMode.VALUE else 0
    max_spikes = draw(st.integers(1, 31)) if reset is ResetMode.SUBTRACT else 1
    cap = draw(st.one_of(st.none(), st.integers(1, 15)))
    input_shift = draw(st.integers(0, 6))
    # The drive bias: anywhere in its range (the limits included), or a small value.
    d_low, d_high = state_range(i_width, i_overflow) if n_currents else (v_low, v_high)
    d_low, d_high = -((-d_low) >> input_shift), d_high >> input_shift
    drive_bias = draw(st.sampled_from(["zero", "small", "full"]))
    if drive_bias == "zero":
        drive_bias = 0
    elif drive_bias == "small":
        drive_bias = per_neuron_or_scalar(max(d_low, -8), min(d_high, 8))
    else:
        drive_bias = per_neuron_or_scalar(d_low, d_high)
    membrane_update = (
        MembraneUpdate.SUM if reset_delay else draw(st.sampled_from(list(MembraneUpdate)))
    )
    refractory_period = draw(st.sampled_from([0, 0, 1, 3]))
    # snnTorch's delayed subtraction, where it is defined (docs/semantics.md section 6).
    if reset_delay is None:
        reset_delay = (
            reset is ResetMode.SUBTRACT
            and membrane_update is MembraneUpdate.SUM
            and draw(st.booleans())
        )
    if reset_delay:
        max_spikes, refractory_period = 1, 0
    return NeuronParams(
        n_currents=n_currents,
        v_width=v_width,
        i_width=i_width,
        v_overflow=v_overflow,
        i_overflow=i_overflow,
        v_decay=draw(decays(v_width, n_neurons)),
        i_decay=tuple(draw(decays(i_width, n_neurons)) for _ in range(n_currents)),
        accumulation=accumulation,
        input_timing=input_timing,
        input_shift=input_shift,
        input_count_cap=cap,
        drive_bias=drive_bias,
        membrane_update=membrane_update,
        bias_mantissa=bias,
        bias_exponent=bias_exponent,
        threshold=threshold,
        threshold_shift=threshold_shift,
        comparison=draw(st.sampled_from(list(Comparison))),
        reset=reset,
        reset_value=reset_value,
        max_spikes=max_spikes,
        refractory_period=refractory_period,
        reset_delay=reset_delay,
    )


def random_state(params, n_neurons, batch, rng):
    """A state drawn inside every range, with the extremes over-represented."""
    from neurohw.model import NeuronState

    def values(width, overflow, shape):
        low, high = state_range(width, overflow)
        count = int(np.prod(shape))
        if high < (1 << 62) and low > -(1 << 62):
            drawn = rng.integers(low, high, size=count, endpoint=True, dtype=np.int64).tolist()
        else:
            # numpy cannot draw 64-bit-wide ranges; compose two 32-bit halves instead.
            span = high - low + 1
            drawn = [
                low + (int(a) << 32 | int(b)) % span
                for a, b in rng.integers(0, 1 << 32, size=(count, 2))
            ]
        out = np.array(drawn, dtype=object)
        extremes = rng.random(out.size) < 0.2
        out[extremes] = rng.choice(
            np.array([low, high, 0, -1, 1], dtype=object), size=int(extremes.sum())
        )
        out = np.clip(out, low, high).reshape(shape)
        return out

    v = values(params.v_width, params.v_overflow, (batch, n_neurons))
    i = values(params.i_width, params.i_overflow, (batch, params.n_currents, n_neurons))
    refractory = rng.integers(0, params.refractory_period + 1, size=(batch, n_neurons))
    template = __import__("neurohw.model", fromlist=["initial_state"]).initial_state(
        params, n_neurons, batch
    )
    # With reset_delay, last step's spike count (0 or 1) is a state like the others.
    pending = (
        rng.integers(0, 2, size=(batch, n_neurons)).astype(np.int64) if params.reset_delay else None
    )
    return NeuronState(
        v=v.astype(template.v.dtype),
        i=i.astype(template.i.dtype),
        refractory=refractory.astype(np.int64),
        pending=pending,
    )


def random_weights(params, n_axons, n_neurons, weight_width, rng):
    low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
    weights = rng.integers(
        low, high, size=(params.input_channels, n_axons, n_neurons), endpoint=True
    )
    weights[rng.random(weights.shape) < 0.2] = 0
    return weights
