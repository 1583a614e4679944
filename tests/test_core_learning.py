"""NeuronCore with synaptic delays and on-chip STDP (docs/learning.md sections 1-3), checked bit
for bit against the system model: every case is a core plus the equivalent network
(``neurohw.sim.core_case.core_network``), simulated with ``neurohw.network.simulate``; the cocotb
bench (``sim/bench_neuron_core.py``) compares every spike of every step, the neuron states, and at
snapshot steps every weight and every pre and post trace."""

from __future__ import annotations

import time

import numpy as np
import pytest

from neurohw.hw.core import Status, Target
from neurohw.model import Accumulation, Decay, NeuronParams, Rounding
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate
from neurohw.sim.core_case import core_network, make_network_case, network_expectations
from tests.test_neuron_core import (
    on_simulators,
    random_params,
    random_spikes,
    random_traffic,
    random_weights,
)
from tests.test_neuron_core import (
    simulate as run_bench,
)

# ---------------------------------------------------------------------------------------------
# System model: trace snapshots


def test_trace_snapshots_match_the_final_learning_state():
    """``trace_snapshots`` are taken with ``weight_snapshots``; the last one of a run whose
    length is a multiple of ``snapshot_every`` is ``trace.learning``'s traces."""
    rng = np.random.default_rng(5)
    rule = STDPParams(
        w_min=-20,
        w_max=40,
        a_plus=3,
        a_minus=2,
        shift=4,
        trace_width=6,
        pre_increment=40,
        post_increment=25,
        pre_decay=Decay.multiply(300, 10, rounding="nearest"),
        post_decay=Decay.shift(2),
        weight_dependence="soft",
    )
    weights = rng.integers(-20, 41, size=(5, 3))
    network = Network(
        inputs=[InputGroup("x", 5, max_count=2)],
        populations=[Population("p", 3, NeuronParams(threshold=30, v_width=10), 8)],
        projections=[
            Projection("x", "p", weights, synapses=np.ones((5, 3), dtype=bool), plasticity=rule),
            Projection("p", "p", np.array([[0, 5, 0], [0, 0, 5], [5, 0, 0]])),
        ],
        outputs=["p"],
    )
    x = rng.integers(0, 3, size=(60, 2, 5))
    trace = simulate(network, {"x": x}, snapshot_every=20)
    key = ("x", "p", 0)
    pre, post = trace.trace_snapshots[key]
    assert pre.shape == (3, 2, 5) and post.shape == (3, 2, 3)
    np.testing.assert_array_equal(pre[-1], trace.learning[key].pre_trace)
    np.testing.assert_array_equal(post[-1], trace.learning[key].post_trace)
    assert trace.weight_snapshots[key].shape == (3, 2, 5, 3)
    assert pre.any() and post.any()
    # A run of the first 40 steps ends with the second snapshot.
    half = simulate(network, {"x": x[:40]})
    np.testing.assert_array_equal(pre[1], half.learning[key].pre_trace)
    np.testing.assert_array_equal(post[1], half.learning[key].post_trace)
    np.testing.assert_array_equal(trace.weight_snapshots[key][1], half.learning[key].weights)
    # No snapshots asked for, or nothing plastic: None.
    assert simulate(network, {"x": x}).trace_snapshots is None
    static = Network(
        inputs=[InputGroup("x", 5, 2)],
        populations=[Population("p", 3, NeuronParams())],
        projections=[Projection("x", "p", weights)],
        outputs=["p"],
    )
    assert simulate(static, {"x": x}, snapshot_every=5).trace_snapshots is None


# ---------------------------------------------------------------------------------------------
# Random configurations

DECAY_KINDS = ("none", "multiply", "shift")


def random_trace_decay(rng, kind, trace_width):
    if kind == "none":
        return Decay.none()
    if kind == "shift":
        return Decay.shift(int(rng.integers(0, min(trace_width, 8) + 1)))
    bits = int(rng.integers(1, 13))
    return Decay.multiply(
        int(rng.integers(0, (1 << bits) + 1)), bits, rounding=rng.choice(list(Rounding))
    )


def random_stdp(rng, weight_width, *, decay_kind, dependence, trace_width=None, other_kind=None):
    """STDPParams whose bounds fit ``weight_width`` and whose updates are a small fraction of
    the bounds' span (so that weights move in both directions without saturating at once)."""
    low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
    w_min, w_max = sorted(int(v) for v in rng.integers(low, high + 1, size=2))
    if rng.integers(0, 3) == 0:
        w_min, w_max = max(low, min(0, w_max - 1)), high
    if w_max - w_min < 2:
        w_min, w_max = low, high
    if trace_width is None:
        trace_width = int(rng.choice([1, 3, 6, 8, 11, 16]))
    top = (1 << trace_width) - 1
    span = w_max - w_min
    base = top * (max(1, span // 2) if dependence == "soft" else 1)

    def amplitude(shift):
        magnitude = int(rng.integers(1, max(1, span // 4) + 1))
        return int(np.clip((magnitude << shift) // base, 1, 65535))

    # (a * trace * h) >> shift of about magnitude: shift between log2(base / magnitude) and
    # log2(65535 * base / magnitude).
    shift = int(
        rng.integers(
            max(0, base.bit_length() - max(1, span // 4).bit_length()),
            min(48, base.bit_length() + 12) + 1,
        )
    )
    other = rng.choice(DECAY_KINDS) if other_kind is None else other_kind
    decays = [
        random_trace_decay(rng, decay_kind, trace_width),
        random_trace_decay(rng, other, trace_width),
    ]
    rng.shuffle(decays)
    return STDPParams(
        w_min=w_min,
        w_max=w_max,
        a_plus=amplitude(shift),
        a_minus=amplitude(shift),
        shift=shift,
        trace_width=trace_width,
        pre_increment=int(rng.integers(1, top + 1)),
        post_increment=int(rng.integers(1, top + 1)),
        pre_decay=decays[0],
        post_decay=decays[1],
        weight_dependence=dependence,
    )


def random_sum_params(rng, n_neurons, *, cap=False, max_width=20):
    """random_params restricted to accumulation 'sum' (redrawn until it is); ``cap``: with
    ``input_count_cap=1`` (STDP)."""
    while True:
        params = random_params(rng, n_neurons, max_width=max_width)
        if params.accumulation is Accumulation.SUM:
            return params.replace(input_count_cap=1) if cap else params


def random_delays(rng, synapses, max_delay):
    return np.where(synapses, rng.integers(1, max_delay + 1, size=synapses.shape), 0)


def delay_config(
    seed,
    *,
    steps=50,
    max_neurons=8,
    max_axons=6,
    lanes=(1, 2, 4),
    connectivity=("dense", "dense", "sparse"),
    state_every=None,
    max_delays=(1, 6),
):
    """Random params ('sum'), weights and delays (max_delay within ``max_delays``), dense or
    sparse, any lanes: the arguments of make_network_case (redrawn a few times until some
    neuron spikes)."""
    rng = np.random.default_rng(1000 + seed)
    n_neurons = int(rng.integers(1, max_neurons + 1))
    n_axons = int(rng.integers(1, max_axons + 1))
    weight_width = int(rng.integers(1, 17))
    lanes = int(rng.choice(lanes))
    connectivity = str(rng.choice(connectivity)) if lanes == 1 else "dense"
    max_delay = int(rng.integers(max_delays[0], max_delays[1] + 1))
    for _ in range(10):
        params = random_sum_params(rng, n_neurons)
        weights = random_weights(
            rng,
            params,
            n_axons,
            n_neurons,
            weight_width,
            zeros=0.6 if connectivity == "sparse" else 0.2,
        )
        delays = random_delays(rng, weights != 0, max_delay)
        counts = random_spikes(rng, steps, n_axons)
        network, ranges = core_network(
            params,
            weights,
            n_neurons=n_neurons,
            weight_width=weight_width,
            max_delay=max_delay,
            delays=delays,
            max_counts=counts.max(axis=0),
        )
        expected, _ = network_expectations(network, ranges, counts)
        if expected["spikes"].any():
            break
    core_kwargs = {"lanes": lanes, "connectivity": connectivity}
    return dict(
        params=params,
        weights=weights,
        counts=counts,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        max_delay=max_delay,
        delays=delays,
        seed=seed,
        core_kwargs=core_kwargs,
        traffic=random_traffic(rng),
        snapshot_every=steps,
        state_every=state_every,
    )


def make(config):
    """The core and the bench data of a configuration (``*_config``)."""
    core, data = make_network_case(**config)
    shown = {
        key: config.get(key)
        for key in ("n_neurons", "n_axons", "weight_width", "max_delay", "core_kwargs", "stdp")
    }
    data["summary"] = (
        f"seed={config['seed']}, {shown}, "
        f"currents={config['params'].n_currents}, "
        f"cap={config['params'].input_count_cap}"
    )
    return core, data


def stdp_blocks(rng, params, n_axons, n_neurons, weight_width, rule):
    """Weights (C, A, N) and plastic mask: the axons split into 1-2 ranges, each (range,
    channel) block plastic (a random synapse mask, weights within the STDP bounds, some 0) or
    static (any weight); at least one plastic block."""
    channels = params.input_channels
    cut = int(rng.integers(1, n_axons)) if n_axons > 1 and rng.integers(0, 2) else n_axons
    ranges = [(0, cut)] + ([(cut, n_axons)] if cut < n_axons else [])
    kinds = rng.random((len(ranges), channels)) < 0.6
    kinds[rng.integers(0, len(ranges)), rng.integers(0, channels)] = True
    static = random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=0.3)
    weights = np.zeros((channels, n_axons, n_neurons), dtype=np.int64)
    plastic = np.zeros(weights.shape, dtype=bool)
    for r, (lo, hi) in enumerate(ranges):
        for c in range(channels):
            if kinds[r, c]:
                mask = rng.random((hi - lo, n_neurons)) < 0.75
                values = rng.integers(rule.w_min, rule.w_max + 1, size=mask.shape)
                weights[c, lo:hi] = np.where(mask, values, 0)
                plastic[c, lo:hi] = mask
            else:
                weights[c, lo:hi] = static[c, lo:hi]
    return weights, plastic


def _learning_activity(counts, expected, snapshots, weights, plastic):
    """Pre and post spikes on plastic synapses, and weights that both rose and fell."""
    pre = np.any(counts[:, plastic.any(axis=(0, 2))] > 0)
    post = np.any(expected["spikes"][:, plastic.any(axis=(0, 1))] > 0)
    history = np.concatenate([weights[np.newaxis], snapshots["weights"]])
    change = np.diff(history, axis=0)
    return bool(pre and post and (change > 0).any() and (change < 0).any())


def stdp_config(
    seed,
    *,
    decay_kind,
    dependence,
    steps=80,
    snapshot_every=10,
    max_neurons=6,
    max_axons=6,
    lanes=(1, 2, 4),
    delays=None,
    state_every=None,
    density=None,
    min_neurons=1,
    min_axons=1,
    weight_width=None,
    trace_width=None,
    other_kind=None,
):
    """A dense core (input_count_cap=1) with STDP on random blocks, random STDPParams using
    ``decay_kind`` for one of the traces and ``dependence``; ``delays``: True, False or None
    (random). Redrawn (a bounded number of times) until learning actually happens: the
    arguments of make_network_case."""
    rng = np.random.default_rng(2000 + seed)
    n_neurons = int(rng.integers(min_neurons, max_neurons + 1))
    n_axons = int(rng.integers(min_axons, max_axons + 1))
    weight_width = int(rng.integers(3, 17)) if weight_width is None else weight_width
    lanes = int(rng.choice(lanes))
    use_delays = bool(rng.integers(0, 2)) if delays is None else delays
    max_delay = int(rng.integers(2, 7)) if use_delays else 1
    for _ in range(30):
        params = random_sum_params(rng, n_neurons, cap=True)
        rule = random_stdp(
            rng,
            weight_width,
            decay_kind=decay_kind,
            dependence=dependence,
            trace_width=trace_width,
            other_kind=other_kind,
        )
        weights, plastic = stdp_blocks(rng, params, n_axons, n_neurons, weight_width, rule)
        synapse_delays = (
            random_delays(rng, (weights != 0) | plastic, max_delay) if use_delays else None
        )
        counts = random_spikes(rng, steps, n_axons, density=density, max_count=2)
        network, ranges = core_network(
            params,
            weights,
            n_neurons=n_neurons,
            weight_width=weight_width,
            max_delay=max_delay,
            delays=synapse_delays,
            stdp=rule,
            plastic=plastic,
            max_counts=counts.max(axis=0),
        )
        expected, snapshots = network_expectations(
            network, ranges, counts, snapshot_every=snapshot_every
        )
        if _learning_activity(counts, expected, snapshots, weights, plastic):
            break
    else:
        raise AssertionError(f"stdp_config({seed}): no configuration with learning activity")
    return dict(
        params=params,
        weights=weights,
        counts=counts,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        max_delay=max_delay,
        delays=synapse_delays,
        stdp=rule,
        plastic=plastic,
        seed=seed,
        core_kwargs={"lanes": lanes, "connectivity": "dense"},
        traffic=random_traffic(rng),
        snapshot_every=snapshot_every,
        state_every=state_every,
    )


# ---------------------------------------------------------------------------------------------
# In process: the generators and the network reconstruction


def test_network_expectations():
    """Snapshot steps (every k-th and the last), shapes, static weights unchanged, silent axons
    without a pre trace. (No core is built: this checks the harness alone.)"""
    rng = np.random.default_rng(3)
    n_neurons, n_axons, weight_width = 5, 4, 8
    params = random_sum_params(rng, n_neurons, cap=True)
    rule = random_stdp(rng, weight_width, decay_kind="multiply", dependence="soft")
    weights, plastic = stdp_blocks(rng, params, n_axons, n_neurons, weight_width, rule)
    counts = random_spikes(rng, 30, n_axons, max_count=2)
    counts[:, -1] = 0
    network, ranges = core_network(
        params,
        weights,
        n_neurons=n_neurons,
        weight_width=weight_width,
        stdp=rule,
        plastic=plastic,
        max_counts=counts.max(axis=0),
    )
    assert len(network.plastic_projections) >= 2  # a real one and the probes
    expected, snapshots = network_expectations(network, ranges, counts, snapshot_every=7)
    assert expected["spikes"].shape == (30, n_neurons)
    assert snapshots["steps"] == [6, 13, 20, 27, 29]
    assert snapshots["weights"].shape == (5, params.input_channels, n_axons, n_neurons)
    assert snapshots["pre_trace"].shape == (5, n_axons)
    assert snapshots["post_trace"].shape == (5, n_neurons)
    np.testing.assert_array_equal(
        snapshots["weights"][:, ~plastic],
        np.broadcast_to(weights[~plastic], snapshots["weights"][:, ~plastic].shape),
    )
    assert not snapshots["pre_trace"][:, -1].any()


@pytest.mark.parametrize("seed", range(12))
def test_stdp_configs_learn(seed):
    """The STDP generator gives pre and post spikes and weight changes in both directions
    (stdp_config raises otherwise), cap 1, bounds within the weight width, and delays only on
    synapses. (No core is built: this checks the harness alone.)"""
    config = stdp_config(
        100 + seed, decay_kind=DECAY_KINDS[seed % 3], dependence=("additive", "soft")[seed // 3 % 2]
    )
    rule, width = config["stdp"], config["weight_width"]
    assert config["params"].input_count_cap == 1
    assert -(1 << (width - 1)) <= rule.w_min <= rule.w_max < (1 << (width - 1))
    if config["delays"] is not None:
        synapses = (config["weights"] != 0) | config["plastic"]
        assert (config["delays"][synapses] >= 1).all() and not config["delays"][~synapses].any()
        assert config["delays"].max() <= config["max_delay"]


def test_core_network_refuses_mixed_blocks():
    params = NeuronParams(input_count_cap=1)
    weights = np.array([[1, 2], [3, 0]])
    plastic = np.array([[True, False], [False, False]])
    with pytest.raises(ValueError, match="axon 0, channel 0 has both plastic and static"):
        core_network(
            params,
            weights,
            n_neurons=2,
            weight_width=4,
            stdp=STDPParams(w_min=-8, w_max=7),
            plastic=plastic,
        )
    # Axon 0 plastic, axon 1 static: two input groups.
    plastic = np.array([[True, True], [False, False]])
    network, ranges = core_network(
        params,
        weights,
        n_neurons=2,
        weight_width=4,
        stdp=STDPParams(w_min=-8, w_max=7),
        plastic=plastic,
    )
    assert ranges == [(0, 1), (1, 2)]
    assert [p.key for p in network.projections_to("p") if p.plastic] == [
        ("in0", "p", 0),
        ("trace_probe_in", "p", 0),
    ]


# ---------------------------------------------------------------------------------------------
# Simulation


def _run(core, data, hdl, request):
    started = time.monotonic()
    try:
        run_bench(core, data, hdl, request)
    except Exception as error:
        raise AssertionError(f"{error}\ncase: {data.get('summary')}") from error
    print(f"{request.node.nodeid}: {time.monotonic() - started:.1f} s ({data.get('summary')})")


@pytest.mark.sim
@on_simulators("seed", range(5), verilator_default=(3,))
def test_delays(hdl, seed, request):
    """Random delays (max_delay 2..6) on random 'sum' models, dense and sparse, lanes 1/2/4,
    random traffic; every spike and state of every step, and the weights at the end and after
    reset, against the system model."""
    lanes, connectivity = [
        (1, ["dense"]),
        (2, ["dense"]),
        (4, ["dense"]),
        (1, ["sparse"]),
        (1, ["sparse"]),
    ][seed]
    core, data = make(
        delay_config(seed, steps=50, lanes=[lanes], connectivity=connectivity, max_delays=(2, 6))
    )
    _run(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(10, 40))
def test_delays_sweep(hdl, seed, request):
    core, data = make(delay_config(seed, steps=120, max_neurons=12, max_axons=10))
    _run(core, data, hdl, request)


# (decay kind of one trace, weight dependence, lanes, delays, trace width or None: random)
STDP_CASES = [
    ("none", "additive", 1, False, None),
    ("multiply", "soft", 2, True, 16),
    ("shift", "additive", 4, True, None),
    ("multiply", "additive", 1, True, None),
    ("shift", "soft", 1, False, 16),
    ("none", "soft", 4, False, None),
]


@pytest.mark.sim
@on_simulators(
    "kind,dependence,lanes,delays,trace_width",
    STDP_CASES,
    verilator_default=(("multiply", "soft", 2, True, 16),),
)
def test_stdp(hdl, kind, dependence, lanes, delays, trace_width, request):
    """Random STDP rules (every decay kind and rounding, both weight dependences), random
    plastic blocks and masks, lanes 1/2/4, with and without delays: spikes and states every
    step, every weight and trace every 10 steps, against the system model."""
    seed = STDP_CASES.index((kind, dependence, lanes, delays, trace_width))
    core, data = make(
        stdp_config(
            seed,
            decay_kind=kind,
            dependence=dependence,
            lanes=[lanes],
            delays=delays,
            trace_width=trace_width,
            steps=80,
            snapshot_every=10,
        )
    )
    _run(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(20, 50))
def test_stdp_sweep(hdl, seed, request):
    core, data = make(
        stdp_config(
            seed,
            decay_kind=DECAY_KINDS[seed % 3],
            dependence=("additive", "soft")[seed // 3 % 2],
            steps=100,
            max_neurons=10,
            max_axons=8,
            snapshot_every=10,
        )
    )
    _run(core, data, hdl, request)


def hazard_config(n_neurons, lanes, connectivity, learning, steps=25):
    """Back-to-back events (source never idle) on few neurons, with delays 1..3 (and STDP):
    consecutive read-modify-writes hit the same neuron in different delay-ring slots, and with
    STDP the same weight rows; the accept cadence must stay one row (or fan-out) per event.
    Redrawn (bounded) until neurons spike and, with STDP, weights move both ways."""
    rng = np.random.default_rng(300 + 10 * n_neurons + lanes + 5 * learning)
    n_axons, weight_width, max_delay = 3, 6, 3
    rule = (
        STDPParams(
            w_min=-20,
            w_max=31,
            a_plus=3,
            a_minus=9,
            shift=3,
            trace_width=5,
            pre_increment=12,
            post_increment=9,
            pre_decay=Decay.shift(2),
            post_decay=Decay.multiply(900, 12, rounding="nearest"),
            weight_dependence="soft",
        )
        if learning
        else None
    )
    for _ in range(30):
        params = NeuronParams(
            n_currents=1,
            v_width=14,
            i_width=12,
            i_decay=(Decay.shift(1),),
            input_count_cap=1 if learning else int(rng.choice([2, 3])),
            threshold=int(rng.integers(20, 200)),
            reset="subtract",
            max_spikes=3,
        )
        plastic = None
        if learning:
            weights = rng.integers(-20, 32, size=(1, n_axons, n_neurons))
            plastic = np.ones(weights.shape, dtype=bool)
        else:
            weights = random_weights(rng, params, n_axons, n_neurons, weight_width, zeros=0.0)
            if connectivity == "sparse":  # fan-outs of 0, 1 and 2 that share neuron 0
                weights[:, 0, :] = 0
                weights[:, 1, 1:] = 0
                weights[:, 1:, 0] |= 1
        synapses = (weights != 0) | (plastic if learning else False)
        delays = random_delays(rng, synapses, max_delay)
        counts = rng.integers(0, 9, size=(steps, n_axons))
        network, ranges = core_network(
            params,
            weights,
            n_neurons=n_neurons,
            weight_width=weight_width,
            max_delay=max_delay,
            delays=delays,
            stdp=rule,
            plastic=plastic,
            max_counts=counts.max(axis=0),
        )
        expected, snapshots = network_expectations(
            network, ranges, counts, snapshot_every=5 if learning else None
        )
        if (
            _learning_activity(counts, expected, snapshots, weights, plastic)
            if learning
            else expected["spikes"].any()
        ):
            break
    else:
        raise AssertionError(
            f"hazard_config{n_neurons, lanes, connectivity, learning}: no active configuration"
        )
    return dict(
        params=params,
        weights=weights,
        counts=counts,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        max_delay=max_delay,
        delays=delays,
        stdp=rule,
        plastic=plastic,
        seed=3,
        core_kwargs={"lanes": lanes, "connectivity": connectivity},
        traffic={"idle_probability": 0.0, "backpressure_probability": 0.0},
        snapshot_every=5 if learning else None,
        check_throughput=True,
    )


# (neurons, lanes, connectivity, STDP)
HAZARD_CASES = [
    (1, 1, "dense", False),
    (2, 1, "dense", True),
    (3, 2, "dense", True),
    (4, 4, "dense", False),
    (2, 1, "sparse", False),
    (1, 1, "dense", True),
]


@pytest.mark.sim
@on_simulators(
    "n_neurons,lanes,connectivity,learning",
    HAZARD_CASES,
    verilator_default=((2, 1, "dense", True),),
)
def test_hazard(hdl, n_neurons, lanes, connectivity, learning, request):
    core, data = make(hazard_config(n_neurons, lanes, connectivity, learning))
    _run(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("", [()])
def test_stdp_frozen(hdl, request):
    """Learning turned off over cmd (Status.LEARNING = 0) before the run: the same plastic core
    and stimulus as a learning case, now against the model with learn=False (weights and
    traces frozen), every weight and trace every 10 steps."""
    config = stdp_config(
        1, decay_kind="multiply", dependence="soft", steps=60, snapshot_every=10, lanes=[2]
    )
    core, data = make(dict(config, learn=False))
    assert data["config"] == [[int(Target.STATUS), int(Status.LEARNING), 0, 0]]
    _run(core, data, hdl, request)


# Builds the cases (their cores) for their expected weights only.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_stdp_frozen_differs_from_learning():
    """The frozen case is a real check: the same case learning would expect other weights."""
    config = stdp_config(
        1, decay_kind="multiply", dependence="soft", steps=60, snapshot_every=10, lanes=[2]
    )
    learning = make(config)[1]["snapshots"]["weights"]
    frozen = make(dict(config, learn=False))[1]["snapshots"]["weights"]
    assert not np.array_equal(learning, frozen)
    assert all(np.array_equal(snapshot, frozen[0]) for snapshot in frozen)


LONG_STEPS = 2000


def long_config():
    return stdp_config(
        7,
        decay_kind="multiply",
        other_kind="shift",
        dependence="soft",
        steps=LONG_STEPS,
        snapshot_every=250,
        state_every=10,
        delays=True,
        lanes=[2],
        min_neurons=4,
        min_axons=4,
        max_neurons=6,
        max_axons=6,
        density=0.3,
        weight_width=8,
    )


@pytest.mark.sim
@on_simulators("", [()])
def test_stdp_long(hdl, request):
    """2000 steps of random activity with STDP and delays: spikes every step, states every 10
    steps, every weight and trace every 250 steps and at the end (and after reset)."""
    core, data = make(long_config())
    assert len(data["snapshots"]["steps"]) == LONG_STEPS // 250
    _run(core, data, hdl, request)
