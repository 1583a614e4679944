"""NeuronCore: construction checks in process, and cocotb runs (``sim/bench_neuron_core.py``) that
compare every spike and every state of every step with the reference model."""

from __future__ import annotations

import functools
import re

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.hdl import Fragment

from neurohw.flows.synth import synthesis_verilog
from neurohw.hw.core import CoreConfig, NeuronCore, Status, Target
from neurohw.hw.neuron_update import NeuronUpdate
from neurohw.hw.spram import SPRAM_BANK_MODULE, SPRAM_PACKED_BANK_MODULE
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
    run,
    state_range,
)
from neurohw.model.presets import loihi_cuba_lif, snntorch_leaky, xylo_lif
from neurohw.sim.core_case import make_case, make_graded_case
from neurohw.sim.runner import case_build_dir, run_cocotb
from tests.required_tools import simulators_to_test

TOPLEVEL = "neuron_core"
BENCH = "bench_neuron_core"


# ---------------------------------------------------------------------------------------------
# Random configurations


def random_decay(rng, width, n_neurons=None):
    """A decay; with ``n_neurons``, its constant is one per neuron, the extremes (0 and the
    largest) over-represented."""
    kind = rng.choice(["none", "multiply", "shift"])
    if kind == "none":
        return Decay.none()

    def constant(high):
        if n_neurons is None:
            return int(rng.integers(0, high + 1))
        values = rng.integers(0, high + 1, size=n_neurons)
        extremes = rng.random(n_neurons) < 0.3
        values[extremes] = rng.choice([0, high], size=int(extremes.sum()))
        return values

    if kind == "shift":
        return Decay.shift(constant(int(rng.choice([min(width + 1, 20), 63]))))
    bits = int(rng.integers(1, 13))
    offset = int(rng.integers(0, 2))
    return Decay.multiply(
        constant((1 << bits) - offset), bits, offset=offset, rounding=rng.choice(list(Rounding))
    )


def random_params(
    rng, n_neurons, *, per_neuron: bool | None = None, max_width=24, reset_delay=False
):
    """A valid NeuronParams the core implements (per_event only with before_decay);
    ``reset_delay``: snnTorch's delayed subtraction (reset 'subtract', membrane 'sum')."""
    n_currents = int(rng.integers(0, 3))
    v_width = int(rng.integers(2, max_width + 1))
    i_width = int(rng.integers(2, max_width + 1))
    v_overflow = rng.choice(list(Overflow))
    i_overflow = rng.choice(list(Overflow))
    accumulation, input_timing = Accumulation.SUM, InputTiming.AFTER_DECAY
    if n_currents:
        accumulation = rng.choice(list(Accumulation))
        input_timing = (
            InputTiming.BEFORE_DECAY
            if accumulation is Accumulation.PER_EVENT
            else rng.choice(list(InputTiming))
        )
    reset = ResetMode.SUBTRACT if reset_delay else rng.choice(list(ResetMode))
    v_low, v_high = state_range(v_width, v_overflow)
    if per_neuron is None:
        per_neuron = bool(rng.integers(0, 2))

    def value(low, high):
        if per_neuron and rng.integers(0, 4):
            return rng.integers(low, high + 1, size=n_neurons)
        return int(rng.integers(low, high + 1))

    threshold_shift = int(rng.integers(0, max(0, min(4, v_width - 2)) + 1))
    t_low = 0 if reset is ResetMode.SUBTRACT else -((-v_low) >> threshold_shift)
    t_high = v_high >> threshold_shift
    if rng.integers(0, 2):
        t_high = max(t_low, t_high // 4)
    threshold = value(max(t_low, -(t_high + 1)), t_high)
    bias_exponent = int(rng.integers(0, 4))
    bias_bound = v_high >> bias_exponent
    bias = value(-(bias_bound // 8), bias_bound // 8)
    reset_value = value(v_low, v_high) if reset is ResetMode.VALUE else 0
    # Per-neuron decay constants and a drive bias (the core adds it with 'sum' only), anywhere
    # in its range, its limits included.
    input_shift = int(rng.integers(0, 4))

    def decay(width):
        return random_decay(rng, width, n_neurons if per_neuron and rng.integers(0, 2) else None)

    drive_bias = 0
    if accumulation is Accumulation.SUM and rng.integers(0, 2):
        low, high = state_range(i_width, i_overflow) if n_currents else (v_low, v_high)
        low, high = -((-low) >> input_shift), high >> input_shift
        if rng.integers(0, 2):
            low, high = max(low, -4), min(high, 4)
        drive_bias = value(low, high)
        if isinstance(drive_bias, np.ndarray):
            extremes = rng.random(n_neurons) < 0.2
            drive_bias[extremes] = rng.choice([low, high], size=int(extremes.sum()))
    params = NeuronParams(
        n_currents=n_currents,
        v_width=v_width,
        i_width=i_width,
        v_overflow=v_overflow,
        i_overflow=i_overflow,
        v_decay=decay(v_width),
        i_decay=tuple(decay(i_width) for _ in range(n_currents)),
        accumulation=accumulation,
        input_timing=input_timing,
        input_shift=input_shift,
        drive_bias=drive_bias,
        input_count_cap=None if rng.integers(0, 2) else int(rng.integers(1, 4)),
        membrane_update=rng.choice(list(MembraneUpdate)),
        bias_mantissa=bias,
        bias_exponent=bias_exponent,
        threshold=threshold,
        threshold_shift=threshold_shift,
        comparison=rng.choice(list(Comparison)),
        reset=reset,
        reset_value=reset_value,
        max_spikes=int(rng.integers(1, 8)) if reset is ResetMode.SUBTRACT else 1,
        refractory_period=int(rng.choice([0, 0, 1, 3])),
    )
    if reset_delay:
        params = params.replace(
            membrane_update=MembraneUpdate.SUM, max_spikes=1, refractory_period=0, reset_delay=True
        )
    return params


def random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=0.2):
    low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
    weights = rng.integers(low, high + 1, size=(params.input_channels, n_axons, n_neurons))
    extremes = rng.random(weights.shape) < 0.1
    weights[extremes] = rng.choice([low, high], size=int(extremes.sum()))
    weights[rng.random(weights.shape) < zeros] = 0
    if zeros > 0.5 and n_axons > 1:
        weights[:, rng.integers(0, n_axons), :] = 0  # an axon without synapses
    return weights


def random_spikes(rng, steps, n_axons, *, density=None, max_count=4):
    density = rng.uniform(0.1, 0.7) if density is None else density
    spikes = (rng.random((steps, n_axons)) < density).astype(np.int64)
    many = rng.random((steps, n_axons)) < 0.15
    spikes[many] *= rng.integers(2, max_count + 1, size=int(many.sum()))
    return spikes


# ---------------------------------------------------------------------------------------------
# Cases


def random_traffic(rng):
    return {
        "idle_probability": float(rng.choice([0.0, 0.2, 0.5])),
        "backpressure_probability": float(rng.choice([0.0, 0.3, 0.6])),
        "stall_probability": float(rng.choice([0.0, 0.02])),
        "stall_cycles": int(rng.integers(1, 40)),
    }


def random_case(
    seed,
    *,
    steps,
    max_neurons,
    max_axons,
    max_width=24,
    lanes=(1, 1, 2, 4),
    connectivity=("dense", "dense", "sparse"),
):
    rng = np.random.default_rng(seed)
    n_neurons = int(rng.integers(1, max_neurons + 1))
    n_axons = int(rng.integers(1, max_axons + 1))
    weight_width = int(rng.integers(1, 17))
    lanes = int(rng.choice(lanes))
    connectivity = str(rng.choice(connectivity)) if lanes == 1 else "dense"
    # Redraw a model that never spikes on this input (a weak test), a bounded number of times.
    for _ in range(10):
        params = random_params(rng, n_neurons, max_width=max_width)
        weights = random_weights(
            rng,
            params,
            n_axons,
            n_neurons,
            weight_width,
            zeros=0.6 if connectivity == "sparse" else 0.2,
        )
        spikes = random_spikes(rng, steps, n_axons)
        if run(params, spikes, weights, record=("spikes",)).spikes.any():
            break
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        traffic=random_traffic(rng),
        core_kwargs={"lanes": lanes, "connectivity": connectivity},
        config_weights=bool(rng.integers(0, 4) == 0),
        config_params=bool(rng.integers(0, 4) == 0),
    )


def on_simulators(argnames, values, *, verilator_default=None):
    """Parametrize ``hdl`` (a simulator) and ``argnames`` over ``values`` on every available
    simulator. Verilator builds are slow, so only the ``values`` in ``verilator_default`` (all
    when ``None``) run on it by default; the others are marked ``slow`` there."""
    names = ["hdl", *[name.strip() for name in argnames.split(",") if name.strip()]]
    params = []
    for simulator in simulators_to_test():
        for value in values:
            value_tuple = value if isinstance(value, tuple) else (value,)
            slow = (
                simulator == "verilator"
                and verilator_default is not None
                and value not in verilator_default
            )
            ident = "-".join([simulator, *map(str, value_tuple)])
            marks = [pytest.mark.needs_simulator(simulator)] + ([pytest.mark.slow] if slow else [])
            params.append(pytest.param(simulator, *value_tuple, id=ident, marks=marks))
    return pytest.mark.parametrize(",".join(names), params)


def simulate(core, data, simulator, request):
    run_cocotb(
        core,
        toplevel=TOPLEVEL,
        test_module=BENCH,
        simulator=simulator,
        build_dir=case_build_dir(request.node.nodeid, simulator),
        test_data=data,
    )


# ---------------------------------------------------------------------------------------------
# Simulation tests


@pytest.mark.sim
@on_simulators("seed", range(6), verilator_default=(0, 4))
def test_random(hdl, seed, request):
    core, data = random_case(seed, steps=30, max_neurons=6, max_axons=5)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("lanes", [2, 4], verilator_default=(4,))
def test_random_lanes(hdl, lanes, request):
    core, data = random_case(50 + lanes, steps=30, max_neurons=11, max_axons=4, lanes=[lanes])
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("n_neurons,lanes", [(5, 4), (3, 2)], verilator_default=((5, 4),))
def test_padding_lanes(hdl, n_neurons, lanes, request):
    """Fewer neurons than lane slots: the last local address of the upper lanes holds no
    neuron. A bias makes every real neuron fire every few steps, so a padding slot swept like a
    neuron would fire too; the bench refuses any spike from a neuron that does not exist."""
    rng = np.random.default_rng(n_neurons)
    params = NeuronParams(
        n_currents=1,
        v_width=10,
        i_width=10,
        i_decay=(Decay.shift(2),),
        threshold=40,
        bias_mantissa=9,
    )
    weights = random_weights(rng, params, 3, n_neurons, 6, zeros=0.3)
    spikes = random_spikes(rng, 12, 3)
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=3,
        weight_width=6,
        seed=n_neurons,
        core_kwargs={"lanes": lanes},
    )
    assert core.lane_depth * lanes > n_neurons
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("seed", range(2), verilator_default=(1,))
def test_random_sparse(hdl, seed, request):
    core, data = random_case(
        70 + seed, steps=30, max_neurons=7, max_axons=6, lanes=[1], connectivity=["sparse"]
    )
    simulate(core, data, hdl, request)


def graded_case(
    seed, *, lanes=1, connectivity="dense", limited=False, steps=20, max_neurons=6, max_axons=5
):
    """A core with graded events (``value_width`` 2..17, signed values over the whole range,
    the most negative often, so that sign and accumulator width both show) against the
    reference on the exact drive. ``limited``: ``max_events_per_step`` is the exact bound on
    the sum of ``|value|`` (the accumulator as narrow as allowed, the event limit live)."""
    rng = np.random.default_rng(seed)
    n_neurons = int(rng.integers(1, max_neurons + 1))
    n_axons = int(rng.integers(1, max_axons + 1))
    weight_width = int(rng.integers(1, 13))
    value_width = int(rng.integers(2, 18))
    # Redraw (a bounded number of times) a case whose spikes and membranes would not change if
    # the core read the values as unsigned: it could not catch a sign error.
    for _ in range(10):
        params = random_params(rng, n_neurons)
        if params.accumulation is not Accumulation.SUM:
            params = params.replace(accumulation=Accumulation.SUM)
        weights = random_weights(
            rng,
            params,
            n_axons,
            n_neurons,
            weight_width,
            zeros=0.6 if connectivity == "sparse" else 0.2,
        )
        low, high = -(1 << (value_width - 1)), (1 << (value_width - 1)) - 1
        values = rng.integers(low, high + 1, size=(steps, n_axons))
        values[rng.random(values.shape) < 0.3] = 0
        values[rng.random(values.shape) < 0.15] = low
        values[rng.random(values.shape) < 0.1] = 1
        if _sign_matters(params, weights, values, value_width):
            break
    core_kwargs = {"lanes": lanes, "connectivity": connectivity}
    if limited:
        # Without a cap a plain count could reach 65535 per axon: the limit counter is live.
        params = params.replace(input_count_cap=None)
        core_kwargs["max_events_per_step"] = n_axons * (1 << (value_width - 1))
    return make_graded_case(
        params,
        weights,
        values,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        value_width=value_width,
        seed=seed,
        core_kwargs=core_kwargs,
        traffic=random_traffic(rng),
    )


def _sign_matters(params, weights, values, value_width) -> bool:
    """Whether reading the values' two's complement as unsigned changes spikes or membranes."""

    def trace(vals):
        result = run(
            params,
            drive=np.einsum("ta,can->tcn", vals, weights)[:, np.newaxis],
            record=("spikes", "v"),
        )
        return result.spikes, result.v

    unsigned = np.where(values < 0, values + (1 << value_width), values)
    (spikes, v), (spikes_u, v_u) = trace(values), trace(unsigned)
    return spikes.any() and not (np.array_equal(spikes, spikes_u) and np.array_equal(v, v_u))


GRADED_CASES = [
    (0, 1, "dense", True),
    (1, 1, "sparse", True),
    (2, 2, "dense", False),
    (3, 4, "dense", True),
    (4, 1, "sparse", False),
]


@pytest.mark.sim
@on_simulators(
    "seed,lanes,connectivity,limited",
    GRADED_CASES,
    verilator_default=((0, 1, "dense", True), (1, 1, "sparse", True)),
)
def test_graded(hdl, seed, lanes, connectivity, limited, request):
    """Graded events (one event adds value * weight) against the model: every spike and every
    state of every neuron, every step."""
    core, data = graded_case(200 + seed, lanes=lanes, connectivity=connectivity, limited=limited)
    assert core.value_width >= 2 and (core.event_limited or not limited)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("connectivity", ["dense", "sparse"], verilator_default=())
def test_graded_multibank(hdl, connectivity, request):
    """Graded events through a weight memory of several banks (the value waits for the bank
    register stages)."""
    rng = np.random.default_rng(7)
    n_neurons, n_axons, weight_width, value_width = 6, 700, 6, 9
    params = random_params(rng, n_neurons).replace(accumulation=Accumulation.SUM)
    weights = random_weights(
        rng, params, n_axons, n_neurons, weight_width, zeros=0.2 if connectivity == "dense" else 0.4
    )
    values = rng.integers(-256, 256, size=(6, n_axons))
    values[rng.random(values.shape) < 0.9] = 0
    values[:, :2] = -256  # back to back on the first bank, the extreme value
    values[:, -2:] = 255
    core, data = make_graded_case(
        params,
        weights,
        values,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        value_width=value_width,
        seed=7,
        core_kwargs={"connectivity": connectivity},
    )
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(100, 140))
def test_random_long(hdl, seed, request):
    core, data = random_case(seed, steps=300, max_neurons=12, max_axons=10, max_width=40)
    simulate(core, data, hdl, request)


def preset_case(name, seed, steps):
    rng = np.random.default_rng(seed)
    n_neurons, n_axons = 6, 5
    if name == "loihi":
        threshold = rng.integers(1, 300, size=n_neurons)
        params = loihi_cuba_lif(
            du=int(rng.integers(0, 4096)),
            dv=int(rng.integers(0, 4096)),
            vth=100,
            bias_mant=3,
            bias_exp=2,
            refractory_period=2,
        )
        params = params.replace(threshold=threshold)
        weight_width = 8
    elif name == "xylo":
        params = xylo_lif(
            dash_mem=2,
            dash_syn=(1, 3),
            threshold=rng.integers(0, 400, n_neurons),
            bias=-2,
            weight_shift=1,
            max_spikes=31,
            input_count_cap=3,
        )
        weight_width = 8
    else:
        params = snntorch_leaky(beta_constant=40, threshold=60, decay_bits=8, width=16)
        weight_width = 6
    weights = random_weights(rng, params, n_axons, n_neurons, weight_width)
    spikes = random_spikes(rng, steps, n_axons, density=0.5, max_count=6)
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        traffic=random_traffic(rng),
    )


@pytest.mark.sim
@on_simulators("preset", ["loihi", "xylo", "snntorch"], verilator_default=("xylo",))
def test_preset(hdl, preset, request):
    core, data = preset_case(preset, seed=11, steps=30)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("preset", ["loihi", "xylo", "snntorch"])
def test_preset_long(hdl, preset, request):
    core, data = preset_case(preset, seed=12, steps=400)
    simulate(core, data, hdl, request)


@functools.cache
def reset_delay_case(seed, steps, *, lanes=1, connectivity="dense", config_params=False):
    """snnTorch's delayed subtraction: random models (currents, decays, per-neuron values,
    drive bias) with ``reset_delay``; the pending spike count is read back every step."""
    rng = np.random.default_rng(seed)
    n_neurons, n_axons, weight_width = 7, 5, 8
    for _ in range(10):
        params = random_params(rng, n_neurons, max_width=16, reset_delay=True)
        # A membrane decay that keeps a visible fraction: where the pending threshold is
        # taken off (before or after the decay) must show in the membrane.
        constant = (
            rng.integers(64, 3072, size=n_neurons)
            if rng.integers(0, 2)
            else int(rng.integers(64, 3072))
        )
        params = params.replace(
            v_decay=Decay.multiply(constant, 12, rounding=rng.choice(list(Rounding)))
        )
        weights = random_weights(rng, params, n_axons, n_neurons, weight_width)
        spikes = random_spikes(rng, steps, n_axons, density=0.5, max_count=4)
        fired = run(params, spikes, weights, record=("spikes",)).spikes
        if fired.any() and not fired.all():
            break
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        traffic=random_traffic(rng),
        core_kwargs={"lanes": lanes, "connectivity": connectivity},
        config_params=config_params,
    )


@pytest.mark.sim
@on_simulators(
    "seed,lanes,connectivity,config_params",
    [(31, 1, "dense", False), (43, 2, "dense", True), (33, 1, "sparse", False)],
    verilator_default=((43, 2, "dense", True),),
)
def test_reset_delay(hdl, seed, lanes, connectivity, config_params, request):
    core, data = reset_delay_case(
        seed, 30, lanes=lanes, connectivity=connectivity, config_params=config_params
    )
    assert core.params.reset_delay and "PENDING" in data["ports"]["targets"]
    assert data["expected"]["spikes"].any()
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("preset", ["snntorch"], verilator_default=())
def test_preset_snntorch_reset_delay(hdl, preset, request):
    rng = np.random.default_rng(41)
    n_neurons, n_axons = 6, 5
    params = snntorch_leaky(
        beta_constant=40,
        threshold=rng.integers(20, 80, n_neurons),
        decay_bits=8,
        width=16,
        reset_delay=True,
    )
    weights = random_weights(rng, params, n_axons, n_neurons, 6)
    spikes = random_spikes(rng, 40, n_axons, density=0.5, max_count=6)
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=6,
        seed=41,
        traffic=random_traffic(rng),
    )
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("lanes", [1, 2], verilator_default=(2,))
def test_preset_snntorch_recheck_reset(hdl, lanes, request):
    # snnTorch's reset_delay=False: strong inputs leave reset membranes above threshold, so the
    # re-test against twice the (per-neuron) threshold decides some spikes.
    rng = np.random.default_rng(47)
    n_neurons, n_axons = 6, 5
    params = snntorch_leaky(
        beta_constant=200, threshold=rng.integers(10, 40, n_neurons), decay_bits=8, width=16
    ).replace(recheck_reset=True)
    weights = random_weights(rng, params, n_axons, n_neurons, 6)
    spikes = random_spikes(rng, 40, n_axons, density=0.6, max_count=6)
    plain = run(params.replace(recheck_reset=False), spikes, weights, record=("spikes",))
    rechecked = run(params, spikes, weights, record=("spikes",))
    assert not np.array_equal(plain.spikes, rechecked.spikes)
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=6,
        seed=47,
        traffic=random_traffic(rng),
        core_kwargs={"lanes": lanes},
    )
    simulate(core, data, hdl, request)


def per_neuron_case(preset, seed, steps, *, config_params=False, lanes=1, drive_bias_shift=None):
    """Per-neuron decay constants (0 and the largest included: Loihi du = 4095 keeps nothing of
    the current, dv = 0 keeps all of v) and, for Loihi, a drive bias at both ends of its range
    (the current wraps) and small ones, shifted by ``drive_bias_shift`` (None: 6, weight
    units)."""
    rng = np.random.default_rng(seed)
    n_neurons, n_axons = 8, 5
    if preset == "loihi":
        du = rng.integers(0, 4096, size=n_neurons)
        dv = rng.integers(0, 4096, size=n_neurons)
        du[:3], dv[:3] = [4095, 0, 4095], [0, 4095, 4095]
        drive_bias = rng.integers(-20, 21, size=n_neurons)
        drive_bias[3:5] = [1 << 17, -(1 << 17) + 1]
        params = loihi_cuba_lif(
            du=du,
            dv=dv,
            vth=60,
            bias_mant=rng.integers(-8, 8, n_neurons),
            bias_exp=2,
            refractory_period=1,
            drive_bias=drive_bias,
        ).replace(drive_bias_shift=drive_bias_shift)
        weight_width = 8
    else:
        params = xylo_lif(
            dash_mem=2,
            dash_syn=(1, 3),
            threshold=rng.integers(0, 400, n_neurons),
            bias=-2,
            weight_shift=1,
            max_spikes=31,
            input_count_cap=3,
        )
        params = params.replace(
            v_decay=Decay.shift(np.array([0, 15, 63, 1, 2, 3, 4, 5])),
            i_decay=(
                Decay.shift(rng.integers(0, 16, n_neurons)),
                Decay.shift(np.array([63, 0, 1, 15, 8, 2, 3, 4])),
            ),
        )
        weight_width = 8
    weights = random_weights(rng, params, n_axons, n_neurons, weight_width)
    spikes = random_spikes(rng, steps, n_axons, density=0.5, max_count=6)
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        traffic=random_traffic(rng),
        config_params=config_params,
        core_kwargs={"lanes": lanes},
    )


@pytest.mark.sim
@on_simulators(
    "preset,config_params,lanes",
    [("loihi", False, 1), ("loihi", True, 2), ("xylo", False, 1), ("xylo", True, 1)],
    verilator_default=(("loihi", True, 2), ("xylo", False, 1)),
)
def test_per_neuron_decays_and_drive_bias(hdl, preset, config_params, lanes, request):
    core, data = per_neuron_case(
        preset, seed=21, steps=40, config_params=config_params, lanes=lanes
    )
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("drive_bias_shift", [0, 3], verilator_default=(0,))
def test_drive_bias_shift(hdl, drive_bias_shift, request):
    """The drive bias in finer steps than a weight (``drive_bias << t``, t < input_shift): what
    the quantizer gives an Affine bias into a synaptic current."""
    core, data = per_neuron_case("loihi", seed=22, steps=40, drive_bias_shift=drive_bias_shift)
    simulate(core, data, hdl, request)


def bias_exponent_case(seed, steps):
    """Loihi with one bias exponent per neuron (0 and 7 included) and a shared mantissa: Lava's
    ``bias_exp`` is per neuron, and the core keeps the effective bias in its per-neuron memory
    although the mantissa alone is shared."""
    rng = np.random.default_rng(seed)
    n_neurons, n_axons = 8, 5
    bias_exp = rng.integers(0, 8, size=n_neurons)
    bias_exp[:3] = [3, 0, 7]
    params = loihi_cuba_lif(
        du=int(rng.integers(0, 4096)),
        dv=int(rng.integers(0, 400)),
        vth=60,
        bias_mant=60,
        bias_exp=bias_exp,
        refractory_period=1,
    )
    weight_width = 8
    weights = random_weights(rng, params, n_axons, n_neurons, weight_width)
    spikes = random_spikes(rng, steps, n_axons, density=0.5, max_count=6)
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        traffic=random_traffic(rng),
    )


@pytest.mark.sim
@on_simulators("seed", [31])
def test_per_neuron_bias_exponent(hdl, seed, request):
    core, data = bias_exponent_case(seed, steps=40)
    assert "bias" in core.per_neuron
    simulate(core, data, hdl, request)


def hazard_case(n_neurons, accumulation, cap, lanes=1, connectivity="dense", steps=20):
    """Back-to-back events on few neurons and few axons, source never idle: every read in the
    read-modify-write pipelines hits the neuron (and axon count) written the cycle before."""
    rng = np.random.default_rng(n_neurons * 10 + (accumulation == "per_event"))
    n_axons, weight_width = 2, 6
    params = NeuronParams(
        n_currents=1 if accumulation == "per_event" else 0,
        v_width=14,
        i_width=12,
        i_overflow=Overflow.SATURATE,
        v_overflow=Overflow.WRAP,
        i_decay=(Decay.shift(1),) if accumulation == "per_event" else (),
        accumulation=accumulation,
        input_timing="before_decay" if accumulation == "per_event" else "after_decay",
        input_count_cap=cap,
        threshold=700,
        reset="subtract",
        max_spikes=3,
    )
    weights = random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=0.0)
    if connectivity == "sparse":
        # Fan-outs of 0, 1 and 2 synapses that share neuron 0: consecutive synapses of
        # back-to-back events hit the same accumulator word.
        n_axons = 3
        weights = random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=0.0)
        weights[:, 0, :] = 0
        weights[:, 1, 1:] = 0
        weights[:, 1, 0] = weights[:, 1, 0] | 1
        weights[:, 2, 0] = weights[:, 2, 0] | 1
    spikes = rng.integers(0, 9, size=(steps, n_axons))
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=3,
        check_throughput=True,
        core_kwargs={"lanes": lanes, "connectivity": connectivity},
        traffic={"idle_probability": 0.0, "backpressure_probability": 0.0},
    )


HAZARD_CASES = [
    (1, "sum", 2, 1, "dense"),
    (1, "per_event", 5, 1, "dense"),
    (2, "sum", 3, 1, "dense"),
    (2, "per_event", None, 1, "dense"),
    (3, "sum", None, 1, "dense"),
    (4, "sum", 2, 4, "dense"),
    (3, "per_event", 3, 4, "dense"),
    (5, "sum", None, 2, "dense"),
    (1, "sum", 3, 1, "sparse"),
    (2, "per_event", 4, 1, "sparse"),
    (3, "sum", None, 1, "sparse"),
]


@pytest.mark.sim
@on_simulators(
    "n_neurons,accumulation,cap,lanes,connectivity",
    HAZARD_CASES,
    # One "sum" case per connectivity too: the sum and per-event forwarding paths differ.
    verilator_default=(
        (1, "per_event", 5, 1, "dense"),
        (3, "per_event", 3, 4, "dense"),
        (2, "per_event", 4, 1, "sparse"),
        (4, "sum", 2, 4, "dense"),
        (1, "sum", 3, 1, "sparse"),
    ),
)
def test_hazard(hdl, n_neurons, accumulation, cap, lanes, connectivity, request):
    core, data = hazard_case(n_neurons, accumulation, cap, lanes, connectivity)
    simulate(core, data, hdl, request)


def multibank_case(n_neurons, n_axons, lanes, accumulation, weight_memory, seed):
    """Weight memories deeper than one bank (WEIGHT_BANK_DEPTH words, or an SPRAM block): the
    bank is selected from registered read data, several cycles after the read."""
    rng = np.random.default_rng(seed)
    per_event = accumulation == "per_event"
    params = NeuronParams(
        n_currents=1,
        v_width=14,
        i_width=12,
        i_overflow=Overflow.SATURATE,
        v_overflow=Overflow.WRAP,
        i_decay=(Decay.shift(1),),
        accumulation=accumulation,
        input_timing="before_decay" if per_event else "after_decay",
        input_count_cap=None if per_event or weight_memory == "spram" else 3,
        threshold=300,
        reset="subtract",
        max_spikes=3,
    )
    # "spram_p4" / "spram_p2": SPRAM with packed 4-bit / 2-bit weights (several lanes per word).
    packed = weight_memory.startswith("spram_p")
    spram = weight_memory == "spram" or packed
    # "bram4": 4-bit weights, whose banks are twice as deep (4096 words).
    weight_width = {"bram4": 4, "spram_p4": 4, "spram_p2": 2}.get(weight_memory, 6)
    weight_memory = "bram" if weight_memory == "bram4" else weight_memory
    core_kwargs = {"lanes": lanes, "weight_memory": "spram" if spram else weight_memory}
    if packed:
        core_kwargs["packed_weights"] = True
    # Packed words: enough non-zero weights that most words hold several lanes' weights.
    zeros = 0.5 if packed and n_axons * n_neurons < 8000 else 0.97 if spram else 0.2
    weights = random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=zeros)
    steps = 6
    spikes = random_spikes(rng, steps, n_axons, density=min(0.5, 40 / n_axons))
    # Back-to-back events on the first and the last axons (the first and the last bank).
    spikes[:, :2] += 1
    spikes[:, -2:] += 1
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        check_throughput=not spram,
        core_kwargs=core_kwargs,
        config_weights=spram,
        traffic=(
            {"idle_probability": 0.0, "backpressure_probability": 0.0}
            if not spram
            else {"idle_probability": 0.2, "backpressure_probability": 0.3}
        ),
    )


MULTIBANK_CASES = [
    (5, 420, 1, "sum", "bram"),
    (6, 700, 2, "per_event", "bram"),
    (3, 1400, 1, "sum", "bram4"),
    (2, 1100, 1, "sum", "bram"),
    (64, 257, 1, "sum", "spram"),
    (64, 1040, 4, "sum", "spram_p4"),
    (30, 100, 8, "sum", "spram_p2"),
    # 2 lanes of 4-bit weights per 8-bit word: the hidden core of the 784-128-10 that fits
    # the iCE40UP5K (benchmarks mnist-w4-p2-spram).
    (20, 300, 2, "sum", "spram_p4"),
]


@pytest.mark.sim
@on_simulators(
    "n_neurons,n_axons,lanes,accumulation,weight_memory",
    MULTIBANK_CASES,
    verilator_default=((6, 700, 2, "per_event", "bram"),),
)
def test_multibank(hdl, n_neurons, n_axons, lanes, accumulation, weight_memory, request):
    core, data = multibank_case(
        n_neurons, n_axons, lanes, accumulation, weight_memory, seed=n_axons
    )
    simulate(core, data, hdl, request)


def test_init_spram():
    params = NeuronParams(v_width=8)
    core = NeuronCore(params, n_neurons=4, n_axons=5000, weight_width=8, weight_memory="spram")
    assert core.weight_memory == "spram"
    # Simulation: two Amaranth memories marked for SPRAM, initialized (with zeros).
    text = verilog.convert(core, name="top", emit_src=False)
    assert text.count('ram_style = "huge"') == 2
    # Synthesis (the platform memory hook): two instances of a bank module without initializer.
    synthesis = synthesis_verilog(core, "top")
    assert len(re.findall(rf"^ +{SPRAM_BANK_MODULE} #\(", synthesis, re.M)) == 2
    assert synthesis.count('ram_style = "huge"') == 1 and len(synthesis) < len(text) / 10
    assert "initial" not in synthesis[synthesis.index(f"module {SPRAM_BANK_MODULE}") :]
    with pytest.raises(ValueError, match="weight_memory must be one of 'bram', 'spram', not 'x'"):
        NeuronCore(params, n_neurons=4, n_axons=5, weight_width=8, weight_memory="x")
    with pytest.raises(ValueError, match="no initial contents"):
        NeuronCore(
            params,
            n_neurons=2,
            n_axons=1,
            weight_width=8,
            weight_memory="spram",
            weights=np.ones((1, 2), dtype=np.int64),
        )
    with pytest.raises(ValueError, match="up to 16 bits, not 17"):
        NeuronCore(params, n_neurons=2, n_axons=1, weight_width=17, weight_memory="spram")


def test_init_packed_spram():
    """Packed weights: lanes per 16-bit word, the synthesis banks (a write enable per weight)
    and the refusals."""
    params = NeuronParams(v_width=8)

    def core(width, lanes, cls=CoreConfig, **options):
        return cls(params, n_neurons=16, n_axons=3, weight_width=width, lanes=lanes, **options)

    for width, lanes, per_word in (
        (4, 8, 4),
        (2, 8, 8),
        (2, 4, 4),
        (3, 8, 4),
        (8, 1, 1),
        (9, 4, 1),
    ):
        packed = core(width, lanes, weight_memory="spram", packed_weights=True)
        assert packed.lanes_per_weight_word == per_word, (width, lanes)
    assert core(4, 8, weight_memory="spram").lanes_per_weight_word == 1
    synthesis = synthesis_verilog(
        core(4, 8, NeuronCore, weight_memory="spram", packed_weights=True), "top"
    )
    # Two memories of 4 lanes each, 16-bit words with 4-bit write enables; no unpacked bank.
    assert len(re.findall(rf"^ +{SPRAM_PACKED_BANK_MODULE} #\(", synthesis, re.M)) == 2
    assert ".GRANULARITY(32'd4)" in synthesis and f"module {SPRAM_BANK_MODULE} " not in synthesis
    with pytest.raises(
        ValueError,
        match=re.escape(
            "packed_weights=True needs weight_memory 'spram' (16-bit SPRAM words shared by "
            "several lanes), not 'bram'"
        ),
    ):
        core(4, 4, packed_weights=True)
    with pytest.raises(TypeError, match=re.escape("packed_weights must be True or False, not 1")):
        core(4, 4, weight_memory="spram", packed_weights=1)
    with pytest.raises(ValueError, match="connectivity 'dense' only"):
        NeuronCore(
            params,
            n_neurons=2,
            n_axons=1,
            weight_width=8,
            weight_memory="spram",
            connectivity="sparse",
        )


@pytest.mark.sim
@on_simulators("", [()])
def test_long_backpressure(hdl, request):
    """spikes_out stalled for thousands of cycles while every neuron spikes: the sweep stalls
    and nothing is dropped."""
    n_neurons, n_axons = 24, 2
    params = NeuronParams(v_width=12, threshold=0, comparison=">=", reset="none")
    weights = np.ones((1, n_axons, n_neurons), dtype=np.int64)
    spikes = np.ones((3, n_axons), dtype=np.int64)
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=3,
        seed=5,
        traffic={"sweep_hold_cycles": 1500, "backpressure_probability": 0.5},
    )
    assert data["expected"]["spikes"].sum() == 3 * n_neurons
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("", [()])
def test_dropped_events(hdl, request):
    """Events past max_events_per_step and events to axons >= n_axons are dropped and counted;
    events past the input count cap are dropped by definition."""
    rng = np.random.default_rng(21)
    n_neurons, n_axons, limit, cap, steps = 3, 5, 6, 2, 12
    params = NeuronParams(
        n_currents=1,
        i_decay=(Decay.none(),),
        v_width=12,
        i_width=12,
        input_count_cap=cap,
        threshold=100,
    )
    weights = random_weights(rng, params, n_axons, n_neurons, 5)
    spikes = rng.integers(0, 4, size=(steps, n_axons))
    accepted = np.zeros_like(spikes)
    overflow = 0
    extra = []
    orders = []
    for t in range(steps):
        order = [a for a in range(n_axons) for _ in range(int(spikes[t, a]))]
        rng.shuffle(order)
        orders.append(order)
        counts = np.zeros(n_axons, dtype=np.int64)
        for a in order:
            if counts[a] >= cap:
                continue
            if accepted[t].sum() >= limit:
                overflow += 1
                continue
            counts[a] += 1
            accepted[t, a] += 1
        extra.append([5, 7] if t % 3 == 0 else [])
    assert overflow > 0
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=5,
        core_kwargs={"max_events_per_step": limit},
        expected_spikes_in=accepted,
        shuffle=False,
        expected_status={
            "OVERFLOW_EVENTS": overflow,
            "INVALID_AXON_EVENTS": 2 * len(range(0, steps, 3)),
            "STEP": steps,
        },
    )
    # Send in the order used above, the bad axons last.
    data["events"] = [order + bad for order, bad in zip(orders, extra)]
    simulate(core, data, hdl, request)


# ---------------------------------------------------------------------------------------------
# In-process tests


def small_core(**overrides):
    kwargs = {"n_neurons": 4, "n_axons": 3, "weight_width": 8}
    params = overrides.pop("params", NeuronParams())
    kwargs.update(overrides)
    return NeuronCore(params, **kwargs)


def test_init():
    params = NeuronParams(
        n_currents=2,
        i_decay=Decay.shift(2),
        v_width=16,
        i_width=12,
        threshold=np.arange(5),
        refractory_period=3,
        input_count_cap=4,
    )
    core = NeuronCore(params, n_neurons=5, n_axons=6, weight_width=7)
    assert core.per_neuron == {"threshold"}
    assert core.max_events_per_step == 6 * 4
    assert core.acc_width == 7 + (24).bit_length()
    assert core.weights.shape == (2, 6, 5) and not core.weights.any()
    members = dict(core.signature.members)
    assert set(members) == {"spikes_in", "step", "spikes_out", "done", "cmd", "rsp", "overflow"}
    assert core.spikes_in.payload.shape().width == 3
    assert core.spikes_out.payload.neuron.shape().width == 3
    description = core.port_description()
    assert set(description["targets"]) == {
        "V",
        "I0",
        "I1",
        "REFRACTORY",
        "ACC0",
        "ACC1",
        "WEIGHT0",
        "WEIGHT1",
        "THRESHOLD",
        "STATUS",
        "INPUT_COUNT",
    }
    assert description["status"]["OVERFLOW_EVENTS"] == Status.OVERFLOW_EVENTS
    Fragment.get(core, None)
    # Without a cap, 'sum' sizes the accumulator for every count the reference accepts.
    core = small_core()
    assert core.max_events_per_step == 3 * 65535
    Fragment.get(core, None)
    # 'per_event' keeps no accumulator and needs no limit.
    core = small_core(params=xylo_lif(dash_mem=1, dash_syn=2, threshold=10))
    assert core.max_events_per_step is None and core.acc_width == 0
    assert "ACC0" not in core.port_description()["targets"]
    Fragment.get(core, None)  # elaborates


def test_core_config():
    """The description builds no hardware; NeuronCore(config) and NeuronCore(params, **options)
    build the same core; the update latency is known without building the datapath."""
    params = NeuronParams(reset="subtract", max_spikes=7, v_decay=Decay.multiply(410, 12))
    config = CoreConfig(params, n_neurons=5, n_axons=3, weight_width=4, lanes=2)
    assert (config.lane_depth, config.n_banks, config.bank_stages) == (3, 1, 0)
    update = NeuronUpdate(params, drive_width=config.acc_width, tag_width=config.local_bits)
    assert config.update_latency == update.latency
    Fragment.get(update, None)
    core = NeuronCore(config)
    assert core.config is config and core.lane_depth == 3 and core.update_latency == update.latency
    same = NeuronCore(params, n_neurons=5, n_axons=3, weight_width=4, lanes=2)
    assert same.port_description() == core.port_description() == config.port_description()
    assert verilog.convert(same) == verilog.convert(core)
    with pytest.raises(
        AttributeError,
        match=re.escape("a CoreConfig is immutable; build a new one instead of setting 'lanes'"),
    ):
        config.lanes = 4
    with pytest.raises(
        TypeError,
        match=re.escape(
            "NeuronCore(config) takes no other options, not lanes; build a new CoreConfig instead"
        ),
    ):
        NeuronCore(config, lanes=4)


@pytest.mark.parametrize(
    "name,value,error",
    [
        ("n_neurons", 0, ValueError),
        ("n_neurons", 4097, ValueError),
        ("n_neurons", 2.0, TypeError),
        ("n_axons", 0, ValueError),
        ("n_axons", 65537, ValueError),
        ("n_axons", True, TypeError),
        ("weight_width", 0, ValueError),
        ("weight_width", 33, ValueError),
        ("max_events_per_step", 0, ValueError),
        ("lanes", 0, ValueError),
    ],
)
def test_init_wrong_integer(name, value, error):
    bounds = {
        "n_neurons": (1, 4096),
        "n_axons": (1, 65536),
        "weight_width": (1, 32),
        "max_events_per_step": (1, 1 << 32),
        "lanes": (1, 64),
    }[name]
    shown = repr(value) if error is TypeError else str(value)
    message = f"{name} must be an integer between {bounds[0]} and {bounds[1]}, not {shown}"
    with pytest.raises(error, match=f"^{message}$"):
        small_core(**{name: value})


def test_init_wrong_params():
    with pytest.raises(TypeError, match=r"^params must be a NeuronParams, not \{\}$"):
        NeuronCore({}, n_neurons=1, n_axons=1, weight_width=1)


def test_init_wrong_lanes():
    with pytest.raises(
        ValueError,
        match=r"^lanes=3 is not implemented by NeuronCore; use a "
        r"power of two \(neurons are banked by the low bits "
        r"of their address\)$",
    ):
        small_core(lanes=3)


def test_init_sparse():
    weights = np.array([[[0, 3, 0, -1], [0, 0, 0, 0], [2, 0, 0, 0]]])
    core = small_core(weights=weights, connectivity="sparse")
    assert core.fanout == (2, 0, 1) and core.fanout_start == (0, 2, 2)
    assert core.synapse_targets == (1, 3, 0) and core.n_synapses == 3
    assert core.synapse_slot(0, 3) == 1 and core.synapse_slot(1, 0) is None
    assert core.port_description()["event_cycles"] == [2, 1, 1]
    assert core.port_description()["targets"]["SYNAPSE_TARGET"] == Target.SYNAPSE_TARGET
    Fragment.get(core, None)
    empty = small_core(connectivity="sparse")
    assert empty.n_synapses == 0
    Fragment.get(empty, None)


def test_init_lanes():
    core = small_core(n_neurons=5, lanes=4)
    assert core.lane_depth == 2 and core.lane_bits == 2
    assert core.port_description()["event_cycles"] == [2, 2, 2]
    assert core.port_description()["lanes"] == 4
    Fragment.get(core, None)


def test_init_wrong_connectivity():
    with pytest.raises(
        ValueError,
        match=r"^lanes=2 with connectivity 'sparse' is not "
        r"implemented by NeuronCore; use lanes=1$",
    ):
        small_core(connectivity="sparse", lanes=2)
    with pytest.raises(
        ValueError,
        match=r"^connectivity must be one of 'dense', 'sparse', "
        r"not 'diagonal'$",
    ):
        small_core(connectivity="diagonal")


def test_init_wrong_per_neuron():
    params = NeuronParams(threshold=np.array([1, 2, 3, 4]))
    with pytest.raises(
        ValueError,
        match=r"^per_neuron must include 'threshold': params give "
        r"it per neuron$",
    ):
        small_core(params=params, per_neuron={"bias"})
    with pytest.raises(
        ValueError,
        match=r"^per_neuron names must be among 'threshold', 'bias', "
        r"'reset_value', 'v_decay', 'i_decay0', 'i_decay1', "
        r"'drive_bias', not 'leak'$",
    ):
        small_core(per_neuron={"leak"})
    with pytest.raises(TypeError, match=r"^per_neuron must be a set of names"):
        small_core(per_neuron="bias")
    with pytest.raises(
        ValueError,
        match=r"^threshold has 4 per-neuron values, but the "
        r"population has 5 neurons$",
    ):
        small_core(params=params, n_neurons=5)


def test_init_per_neuron_decays_and_drive_bias():
    params = loihi_cuba_lif(
        du=np.array([0, 4095, 7, 1]),
        dv=np.array([4096 - 1, 0, 3, 2]),
        vth=5,
        drive_bias=np.array([1 << 17, -(1 << 17) + 1, 0, 1]),
    )
    core = small_core(params=params)
    assert core.per_neuron == {"v_decay", "i_decay0", "drive_bias"}
    # Factor memories (13 and 12 bits, unsigned: cmd data needs one more bit), the drive bias
    # in 19 signed bits; codes from 16 on need a 5-bit target field.
    assert {name: (shape.width, shape.signed) for name, shape in core.param_shapes.items()} == {
        "v_decay": (13, False),
        "i_decay0": (12, False),
        "drive_bias": (19, True),
    }
    assert core.target_bits == 5 and core.cmd_layout["target"].shape.width == 5
    assert core.data_width >= 25
    targets = core.port_description()["targets"]
    assert targets["V_DECAY"] == 16 and targets["I0_DECAY"] == 17
    assert targets["DRIVE_BIAS"] == 19 and "I1_DECAY" not in targets
    Fragment.get(core, None)
    # A shared-parameter core keeps the 4-bit target field of before.
    shared = small_core(params=loihi_cuba_lif(du=0, dv=0, vth=5))
    assert shared.target_bits == 4
    Fragment.get(shared, None)
    # Xylo: per-neuron shift decays (barrel shifters), 6-bit memories.
    xylo = small_core(
        params=xylo_lif(dash_mem=2, dash_syn=(1, 3), threshold=5).replace(
            v_decay=Decay.shift(np.array([0, 1, 15, 63]))
        ),
        per_neuron={"v_decay", "i_decay1"},
    )
    assert xylo.param_shapes["v_decay"].width == 6
    Fragment.get(xylo, None)


# The refused cores' neuron-update parts are built (neurohw/hw/core.py) before the refusal.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_init_wrong_per_neuron_decays_and_drive_bias():
    params = NeuronParams(v_decay=Decay.multiply(np.array([1, 2, 3, 4])))
    with pytest.raises(
        ValueError,
        match=r"^per_neuron must include 'v_decay': params give it "
        r"per neuron$",
    ):
        small_core(params=params, per_neuron={"threshold"})
    with pytest.raises(
        ValueError,
        match=r"^per_neuron 'i_decay0' cannot be used: the model has "
        r"0 synaptic current\(s\)$",
    ):
        small_core(per_neuron={"i_decay0"})
    with pytest.raises(
        ValueError,
        match=r"^drive_bias is not supported with accumulation "
        r"'per_event': a drive bias with accumulation "
        r"'per_event' is one add before the step's events",
    ):
        small_core(params=xylo_lif(dash_mem=2, dash_syn=1, threshold=5).replace(drive_bias=2))
    with pytest.raises(
        ValueError,
        match=r"^i_decay\[0\] constant has 4 per-neuron values, but "
        r"the population has 5 neurons$",
    ):
        small_core(params=loihi_cuba_lif(du=np.arange(4), dv=0, vth=1), n_neurons=5)


def test_init_wrong_weights():
    with pytest.raises(ValueError, match=r"^weights have 2 axons, but n_axons is 3$"):
        small_core(weights=np.zeros((1, 2, 4), dtype=int))
    with pytest.raises(ValueError, match=r"^weights target 5 neurons, but the population has 4$"):
        small_core(weights=np.zeros((3, 5), dtype=int))
    with pytest.raises(
        ValueError,
        match=r"^weights must fit weight_width=8 bits \(\[-128, 127\]\)"
        r", but range from 128 to 128$",
    ):
        small_core(weights=np.full((3, 4), 128))
    with pytest.raises(TypeError, match=r"^weights must be an integer array, not dtype float64$"):
        small_core(weights=np.zeros((3, 4)))


def test_init_wrong_per_event_after_decay():
    params = NeuronParams(
        n_currents=1, i_decay=Decay.none(), accumulation="per_event", input_timing="after_decay"
    )
    with pytest.raises(
        ValueError,
        match=r"^accumulation 'per_event' with input_timing "
        r"'after_decay' is not implemented by NeuronCore",
    ):
        small_core(params=params)


@pytest.mark.parametrize("lanes,connectivity", [(1, "dense"), (2, "dense"), (1, "sparse")])
def test_verilog_deterministic(lanes, connectivity):
    def convert():
        params = xylo_lif(dash_mem=1, dash_syn=(2, 3), threshold=np.arange(3) * 5)
        weights = (np.arange(2 * 4 * 3).reshape(2, 4, 3) - 10) * (np.arange(3) != 1)
        core = NeuronCore(
            params,
            n_neurons=3,
            n_axons=4,
            weight_width=6,
            weights=weights,
            lanes=lanes,
            connectivity=connectivity,
        )
        return verilog.convert(core, name=TOPLEVEL, emit_src=False)

    first, second = convert(), convert()
    assert first == second
    assert f"module {TOPLEVEL}(" in first


# ---------------------------------------------------------------------------------------------
# Delays and STDP: construction (the bit-exact runs are in tests/test_core_learning.py)

CAP1 = NeuronParams(input_count_cap=1)


def test_init_delays():
    delays = np.array([[1, 2, 0, 3], [3, 3, 3, 3], [0, 0, 0, 0]])
    core = small_core(max_delay=3, delays=delays)
    assert core.max_delay == 3 and core.delay_bits == 2
    assert core.delays.tolist() == [np.maximum(delays, 1).tolist()]  # 0 (no synapse) -> 1
    # A ring slot gathers up to max_delay steps of events.
    assert core.acc_width == 8 + (3 * 65535 * 3).bit_length()
    assert core.port_description()["max_delay"] == 3
    assert not core.port_description()["stdp"]
    Fragment.get(core, None)
    plain = small_core()
    assert plain.delays.tolist() == np.ones((1, 3, 4), dtype=int).tolist()
    assert "PRE_TRACE" not in plain.port_description()["targets"]
    Fragment.get(plain, None)


def test_init_wrong_delays():
    with pytest.raises(
        ValueError,
        match=r"^max_delay must be an integer between 1 and 256, "
        r"not 0$",
    ):
        small_core(max_delay=0)
    with pytest.raises(
        ValueError,
        match=r"^delays\[0, 1, 2\] = 4 is outside 0..max_delay=3; "
        r"raise max_delay or shorten the delay$",
    ):
        small_core(max_delay=3, delays=np.array([[1, 1, 1, 1], [1, 1, 4, 1], [1, 1, 1, 1]]))
    with pytest.raises(ValueError, match=r"^delays\[0, 0, 0\] = -1 is outside 0..max_delay=1"):
        small_core(delays=np.full((3, 4), -1))
    with pytest.raises(
        ValueError,
        match=r"^delays must have the weights' shape \(1, 3, 4\), "
        r"not \(3, 3\)$",
    ):
        small_core(max_delay=2, delays=np.ones((3, 3), dtype=int))
    with pytest.raises(TypeError, match=r"^delays must be an integer array, not dtype float64$"):
        small_core(max_delay=2, delays=np.ones((3, 4)))
    with pytest.raises(
        ValueError,
        match=r"^max_delay=2 needs accumulation 'sum' \(delays are a "
        r"ring of drive accumulators\), not 'per_event'$",
    ):
        small_core(params=xylo_lif(dash_mem=1, dash_syn=2, threshold=10), max_delay=2)


def test_init_stdp():
    from neurohw.model.stdp import STDPParams

    weights = np.array([[0, 5, 0, 1], [2, 0, 0, 0], [0, 0, 0, 7]])
    stdp = STDPParams(w_min=0, w_max=10, trace_width=6, pre_increment=20, post_increment=30)
    core = small_core(params=CAP1, weights=weights, stdp=stdp)
    assert core.plastic.tolist() == [(weights != 0).tolist()]  # default: the synapses
    description = core.port_description()
    assert description["stdp"]
    assert description["targets"]["PRE_TRACE"] == Target.PRE_TRACE == 14
    assert description["targets"]["POST_TRACE"] == Target.POST_TRACE == 15
    Fragment.get(core, None)
    plastic = np.ones((3, 4), dtype=bool)  # zero weights learn too
    core = small_core(
        params=CAP1,
        weights=weights,
        stdp=stdp,
        plastic=plastic,
        lanes=2,
        max_delay=4,
        delays=np.full((3, 4), 4),
    )
    assert core.plastic.all()
    Fragment.get(core, None)


def test_init_wrong_stdp():
    from neurohw.model.stdp import STDPParams

    stdp = STDPParams(w_min=0, w_max=100)
    with pytest.raises(
        TypeError,
        match=r"^stdp must be a neurohw.model.stdp.STDPParams or None, "
        r"not \{\}$",
    ):
        small_core(params=CAP1, stdp={})
    with pytest.raises(
        ValueError,
        match=r"^plastic is given without stdp; pass "
        r"stdp=STDPParams\(...\) to make weights learn$",
    ):
        small_core(plastic=np.ones((3, 4), dtype=bool))
    with pytest.raises(
        ValueError,
        match=r"^stdp needs params.input_count_cap=1, not None: an "
        r"axon's first event of a step depresses its row, so a "
        r"second event would read the depressed weights$",
    ):
        small_core(stdp=stdp)
    with pytest.raises(ValueError, match=r"^stdp is implemented for connectivity 'dense' only"):
        small_core(params=CAP1, stdp=stdp, connectivity="sparse")
    with pytest.raises(ValueError, match=r"^stdp needs accumulation 'sum', not 'per_event'$"):
        small_core(
            params=xylo_lif(dash_mem=1, dash_syn=2, threshold=10, input_count_cap=1), stdp=stdp
        )
    with pytest.raises(
        ValueError,
        match=r"^stdp needs weight_memory 'bram' \(a learning weight "
        r"is read and written in one cycle\), not 'spram'$",
    ):
        small_core(params=CAP1, stdp=stdp, weight_memory="spram")
    with pytest.raises(
        ValueError,
        match=r"^stdp bounds \[w_min, w_max\] = \[0, 200\] must lie "
        r"within the 8-bit weight range \[-128, 127\]$",
    ):
        small_core(params=CAP1, stdp=STDPParams(w_min=0, w_max=200))
    with pytest.raises(
        ValueError,
        match=r"^plastic weight weights\[0, 2, 1\] = -3 is outside the "
        r"stdp bounds \[w_min, w_max\] = \[0, 100\]$",
    ):
        small_core(params=CAP1, stdp=stdp, weights=np.array([[0] * 4, [0] * 4, [0, -3, 0, 0]]))
    with pytest.raises(
        ValueError,
        match=r"^plastic must be a boolean array of the weights' shape "
        r"\(1, 3, 4\), not int64 \(3, 4\)$",
    ):
        small_core(params=CAP1, stdp=stdp, plastic=np.ones((3, 4), dtype=np.int64))
