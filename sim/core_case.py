"""Test data for the neuron-core bench (``sim/bench_neuron_core.py``).

A case is a NeuronCore plus everything the bench needs to drive it and check it: the events of
every step, configuration writes, command probes, and the reference model's trace (every spike
and every state of every step). Tests and the ``neurohw example`` command build cases here, so
both verify the hardware the same way.

Cores with synaptic delays or STDP (:func:`make_network_case`) are checked against the system
model instead: the core becomes an equivalent network (:func:`core_network`), simulated with
``neurohw.network.simulate``, which also gives the weights and traces at snapshot steps.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from neurohw.hw.core import SPIKE_FIFO_DEPTH, NeuronCore, Status, Target
from neurohw.hw.core_config import _PARAM_TARGETS
from neurohw.hw.neuron_update import per_neuron_contents, per_neuron_given
from neurohw.model import Accumulation, NeuronParams, ResetMode, run
from neurohw.network import InputGroup, Network, Population, Projection, simulate

__all__ = [
    "make_case",
    "make_graded_case",
    "graded_event",
    "command_probes",
    "core_network",
    "network_expectations",
    "make_network_case",
]


def make_case(
    params,
    weights,
    spikes,
    *,
    n_neurons,
    n_axons,
    weight_width,
    seed=0,
    core_kwargs=None,
    traffic=None,
    config_weights=False,
    config_params=False,
    shuffle=None,
    expected_spikes_in=None,
    extra_events=None,
    expected_status=None,
    check_throughput=False,
):
    """Build the core and the bench's test data.

    ``config_weights``: the core starts with zero weights and the bench writes them over
    ``cmd``; ``config_params``: the per-neuron parameters (threshold, bias, reset value, and
    every decay constant and drive bias that ``params`` gives per neuron) start at a different
    value (0) and are written over ``cmd``. ``expected_spikes_in`` overrides the input the
    reference sees (events dropped by design); ``extra_events`` adds raw events per step (e.g.
    bad axons).
    """
    rng = np.random.default_rng(seed + 7919)
    core_kwargs = dict(core_kwargs or {})
    build_params = params
    config = []
    if config_params:
        core_kwargs.setdefault(
            "per_neuron",
            {"threshold", "bias"}
            | per_neuron_given(params)
            | ({"reset_value"} if params.reset is ResetMode.VALUE else set()),
        )
        build_params = _zero_per_neuron(params, core_kwargs["per_neuron"])
        codes = dict(_PARAM_TARGETS)
        for name in sorted(core_kwargs["per_neuron"]):
            values = np.broadcast_to(
                np.asarray(per_neuron_contents(params, name), dtype=object), (n_neurons,)
            )
            config += [[int(codes[name]), n, 0, int(values[n])] for n in range(n_neurons)]
    sparse = core_kwargs.get("connectivity") == "sparse"
    build_weights = weights
    if config_weights:
        # Dense: start from zero weights. Sparse: the synapse set is fixed when the core is
        # built, so start from a placeholder weight (-1 fits every width) on the same pattern.
        build_weights = (
            np.where(np.any(weights != 0, axis=0), -1, 0)[np.newaxis].repeat(
                weights.shape[0], axis=0
            )
            if sparse
            else None
        )
    core = NeuronCore(
        build_params,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        weights=build_weights,
        **core_kwargs,
    )
    if config_weights and sparse:
        config += [
            [int(Target.WEIGHT0) + c, core.synapse_slot(a, n), a, int(weights[c, a, n])]
            for c in range(weights.shape[0])
            for a, n in core.synapse_pairs()
        ]
    elif config_weights:
        config += [
            [int(Target.WEIGHT0) + c, n, a, int(weights[c, a, n])]
            for c in range(weights.shape[0])
            for a in range(n_axons)
            for n in range(n_neurons)
            if weights[c, a, n]
        ]
    probes = command_probes(core, weights, params)

    reference_input = spikes if expected_spikes_in is None else expected_spikes_in
    trace = run(params, reference_input, weights)
    if shuffle is None:
        shuffle = params.accumulation is Accumulation.SUM
    events = step_events(spikes, rng, shuffle=shuffle, extra_events=extra_events)
    data = bench_data(
        core,
        config=config,
        probes=probes,
        events=events,
        expected=expected_states(params, trace),
        seed=seed,
        check_throughput=check_throughput,
        traffic=traffic,
    )
    if expected_status:
        data["expected_status"] = expected_status
    return core, data


def make_graded_case(
    params,
    weights,
    values,
    *,
    n_neurons,
    n_axons,
    weight_width,
    value_width,
    seed=0,
    core_kwargs=None,
    traffic=None,
):
    """A core with graded events (``value_width``): ``values`` (steps, axons) signed, one event
    per non-zero value carrying it, in random order. The reference is
    :func:`neurohw.model.run` on the exact drive ``sum_a values[a] * weights[c, a, n]`` (a
    graded value is one event: the input count cap never applies to it)."""
    rng = np.random.default_rng(seed + 7919)
    core = NeuronCore(
        params,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        weights=weights,
        value_width=value_width,
        **dict(core_kwargs or {}),
    )
    drive = np.einsum("ta,can->tcn", values.astype(np.int64), weights.astype(np.int64))
    trace = run(params, drive=drive[:, np.newaxis])
    events = []
    for t in range(values.shape[0]):
        step = [graded_event(core, int(a), int(values[t, a])) for a in np.flatnonzero(values[t])]
        rng.shuffle(step)
        events.append(step)
    data = bench_data(
        core,
        config=[],
        probes=command_probes(core, weights),
        events=events,
        expected=expected_states(params, trace),
        seed=seed,
        check_throughput=False,
        traffic=traffic,
    )
    return core, data


def expected_states(params, trace) -> dict:
    """Every state of every step of batch entry 0, as the bench compares them. With
    ``reset_delay`` the pending spike count: the model's ``NeuronState.pending`` after a step
    is that step's spike count (``reference.step``)."""
    expected = {
        "spikes": trace.spikes[:, 0],
        "v": trace.v[:, 0],
        "i": trace.i[:, 0],
        "refractory": trace.refractory[:, 0],
    }
    if params.reset_delay:
        expected["pending"] = trace.spikes[:, 0]
    return expected


def graded_event(core, axon: int, value: int) -> int:
    """The ``spikes_in`` payload of a graded event: ``{axon, value}``, the value in two's
    complement of ``core.value_width`` bits."""
    fields = core.event_layout
    value_field = fields["value"]
    low, high = -(1 << (core.value_width - 1)), (1 << (core.value_width - 1)) - 1
    if not low <= value <= high:
        raise ValueError(
            f"value {value} does not fit value_width={core.value_width} ([{low}, {high}])"
        )
    mask = (1 << core.value_width) - 1
    return axon | ((value & mask) << value_field.offset)


def _zero_per_neuron(params, names):
    """``params`` with the threshold, bias and reset value 0, and the decay constants and drive
    bias that are per-neuron memories (``names``) shared and 0 (a shift or multiply constant of
    0 is a valid decay). The core starts from these values and the bench writes the real ones;
    a shared value that has no memory must stay as it is, it is built into the core."""

    def zeroed(spec, name):
        return replace(spec, constant=0) if name in names else spec

    return params.replace(
        threshold=0,
        bias_mantissa=0,
        reset_value=0,
        drive_bias=0 if "drive_bias" in names else params.drive_bias,
        v_decay=zeroed(params.v_decay, "v_decay"),
        i_decay=tuple(zeroed(d, f"i_decay{c}") for c, d in enumerate(params.i_decay)),
    )


def bench_data(core, *, config, probes, events, expected, seed, check_throughput, traffic) -> dict:
    """The bench's test data common to every case: the core's description, the commands, the
    events and the expected trace (``sim/bench_neuron_core.py`` reads these keys)."""
    params = core.params
    return {
        "ports": core.port_description(),
        "params": params.to_dict(),
        "n_neurons": core.n_neurons,
        "n_axons": core.n_axons,
        "n_currents": params.n_currents,
        "refractory_period": params.refractory_period,
        "config": config,
        "probes": probes,
        "events": events,
        "expected": expected,
        "seed": seed,
        "check_throughput": check_throughput,
        "fifo_depth": SPIKE_FIFO_DEPTH,
        **(traffic if traffic is not None else {}),
    }


def step_events(counts, rng, *, shuffle: bool, extra_events=None) -> list:
    """Per step, the axon events of ``counts`` (steps, axons): one per unit of count, in axon
    order or shuffled, plus ``extra_events[t]`` (raw addresses, e.g. invalid axons)."""
    events = []
    for t in range(counts.shape[0]):
        step = [a for a in range(counts.shape[1]) for _ in range(int(counts[t, a]))]
        if extra_events is not None:
            step += list(extra_events[t])
        if shuffle:
            rng.shuffle(step)
        events.append([int(a) for a in step])
    return events


def command_probes(core, weights, params=None):
    """Reads of the weights and the synapse structure (after any configuration), of the last
    neuron's per-neuron parameters (their values in ``params``, default the core's), and
    commands that must be refused."""
    N, A = core.n_neurons, core.n_axons
    probes = []
    params = core.params if params is None else params
    for name, code in _PARAM_TARGETS:
        if name in core.per_neuron:
            value = np.broadcast_to(
                np.asarray(per_neuron_contents(params, name), dtype=object), (N,)
            )[N - 1]
            probes.append([0, int(code), N - 1, 0, 0, int(value)])
        elif int(code) < (1 << core.target_bits):
            probes.append([0, int(code), 0, 0, 0, None])  # not a memory here
    weight = int(Target.WEIGHT0)
    if core.connectivity == "sparse":
        for a, n in core.synapse_pairs():
            slot = core.synapse_slot(a, n)
            probes.append([0, int(Target.SYNAPSE_TARGET), slot, a, 0, n])
        probes.append([0, weight, core.fanout[0], 0, 0, None])  # slot past the fan-out
        probes.append([1, int(Target.SYNAPSE_TARGET), 0, 0, 0, None])  # read only
    else:
        # Probes run after the configuration: the weight is the final one either way.
        probes.append([0, weight, N - 1, A - 1, 0, int(weights[0, A - 1, N - 1])])
    if N < (1 << core.cmd_layout["neuron"].width):
        probes.append([0, int(Target.V), N, 0, 0, None])  # neuron out of range
    if A < (1 << core.axon_bits):
        probes.append([0, weight, 0, A, 0, None])  # axon out of range
    probes.append([1, int(Target.STATUS), 0, 0, 0, None])  # read only
    probes.append([0, int(Target.STATUS), int(Status.STEP), 0, 0, 0])
    if core.acc_width:
        # Writable (to clear the delay ring); a write of 0 to an empty slot changes nothing.
        probes.append([1, int(Target.ACC0), 0, 0, 0, 0])
        probes.append([0, int(Target.ACC0), 0, core.max_delay - 1, 0, 0])
        if core.max_delay < (1 << core.axon_bits):
            probes.append([0, int(Target.ACC0), 0, core.max_delay, 0, None])  # no such slot
    else:
        probes.append([0, int(Target.ACC0), 0, 0, 0, None])  # no accumulator
    if core.params.n_currents < 2:
        probes.append([0, int(Target.I1), 0, 0, 0, None])  # no such current
    if core.params.reset_delay:
        # The pending spike count is a writable state: set, read back, cleared again (the
        # steps start from 0, as the model does).
        pending = int(Target.PENDING)
        probes += [
            [1, pending, N - 1, 0, 1, 0],
            [0, pending, N - 1, 0, 0, 1],
            [1, pending, N - 1, 0, 0, 0],
            [0, pending, N - 1, 0, 0, 0],
        ]
        if N < (1 << core.cmd_layout["neuron"].width):
            probes.append([0, pending, N, 0, 0, None])  # neuron out of range
    elif int(Target.PENDING) < (1 << core.target_bits):
        probes.append([0, int(Target.PENDING), 0, 0, 0, None])  # no pending state
    ports = core.port_description()
    axon_limit = 1 << ports["cmd"]["axon"][1]
    neuron_limit = 1 << ports["cmd"]["neuron"][1]
    max_delay = ports.get("max_delay")
    if max_delay is not None and core.acc_width:
        # The axon field selects the delay-ring slot: every slot is 0 before the first step.
        probes += [[0, int(Target.ACC0), N - 1, k, 0, 0] for k in range(max_delay)]
    if ports.get("stdp"):
        pre, post = int(Target.PRE_TRACE), int(Target.POST_TRACE)
        assert ports["targets"]["PRE_TRACE"] == pre and ports["targets"]["POST_TRACE"] == post
        probes += [
            [0, pre, 0, A - 1, 0, 0],
            [0, post, N - 1, 0, 0, 0],
            [1, pre, 0, 0, 1, None],
            [1, post, 0, 0, 1, None],
        ]  # read only
        if A < axon_limit:
            probes.append([0, pre, 0, A, 0, None])  # axon out of range
        if N < neuron_limit:
            probes.append([0, post, N, 0, 0, None])  # neuron out of range
    elif "PRE_TRACE" in Target.__members__:
        probes += [
            [0, int(Target.PRE_TRACE), 0, 0, 0, None],  # no STDP, no traces
            [0, int(Target.POST_TRACE), 0, 0, 0, None],
        ]
    return probes


# ---------------------------------------------------------------------------------------------
# Cores with delays and STDP, checked against the system model

#: Names used in the network that stands for one core.
POPULATION = "p"
_PROBE_POPULATION = "trace_probe"
_PROBE_INPUT = "trace_probe_in"


def _as_channels(array, name, dtype=None):
    if array is None:
        return None
    array = np.asarray(array)
    if dtype is not None:
        array = array.astype(dtype)
    if array.ndim == 2:
        array = array[np.newaxis]
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape (channels, axons, neurons) or (axons, "
            f"neurons), not {array.shape}"
        )
    return array


def _axon_ranges(weights, plastic):
    """Split the axons into contiguous ranges such that, per channel, every range's block is
    entirely plastic (only plastic synapses: a plastic projection) or entirely static."""
    channels, n_axons, _ = weights.shape
    kinds = np.zeros((channels, n_axons), dtype=np.int64)  # 0 empty, 1 static, 2 plastic
    for c in range(channels):
        for a in range(n_axons):
            has_plastic = bool(plastic[c, a].any())
            has_static = bool(np.any((weights[c, a] != 0) & ~plastic[c, a]))
            if has_plastic and has_static:
                raise ValueError(
                    f"axon {a}, channel {c} has both plastic and static synapses; "
                    f"a network projection is either plastic or static"
                )
            kinds[c, a] = 2 if has_plastic else (1 if has_static else 0)
    ranges = []
    start = 0
    current = np.zeros(channels, dtype=np.int64)
    for a in range(n_axons):
        row = kinds[:, a]
        if np.any((current != 0) & (row != 0) & (current != row)):
            ranges.append((start, a))
            start = a
            current = np.zeros(channels, dtype=np.int64)
        current = np.where(row != 0, row, current)
    ranges.append((start, n_axons))
    kinds_of = [[int(kinds[c, lo:hi].max()) for c in range(channels)] for lo, hi in ranges]
    return ranges, kinds_of


def core_network(
    params,
    weights,
    *,
    n_neurons,
    weight_width,
    max_delay=1,
    delays=None,
    stdp=None,
    plastic=None,
    max_counts=None,
):
    """The network that computes what one core with these weights, delays and plastic
    synapses computes: an input group ``in{r}`` per axon range ``r``, the population ``p``
    (``params``, ``weight_width``, ``max_delay``) and one projection per (axon range, channel)
    that is plastic (``synapses`` = its plastic mask, ``plasticity=stdp``) or static.

    With ``stdp`` the network also holds probes for the traces the core keeps for every axon
    and neuron (also those in no plastic projection): a population ``trace_probe`` of one
    neuron with a synapse-less plastic projection from every input group (its pre traces are
    the core's pre traces) and a synapse-less plastic projection onto ``p`` from a silent input
    ``trace_probe_in`` (its post traces are the core's post traces). They change nothing in
    ``p``.

    The weights/delays/plastic arrays assembled back from the projections onto ``p`` are
    checked to equal the core's, so the equivalence is checked, not assumed. Returns
    ``(network, ranges)``; ``ranges`` lists ``(first axon, end)``.
    """
    weights = _as_channels(weights, "weights", np.int64)
    channels, n_axons, _ = weights.shape
    delays = _as_channels(delays, "delays", np.int64)
    if stdp is None:
        if plastic is not None and np.any(plastic):
            raise ValueError("plastic synapses need stdp")
        plastic = np.zeros(weights.shape, dtype=bool)
    else:
        plastic = (weights != 0) if plastic is None else _as_channels(plastic, "plastic", bool)
    ranges, kinds = _axon_ranges(weights, plastic)
    if max_counts is None:
        max_counts = np.ones(n_axons, dtype=np.int64)
    inputs = [
        InputGroup(f"in{r}", hi - lo, max(1, int(np.max(max_counts[lo:hi]))))
        for r, (lo, hi) in enumerate(ranges)
    ]
    populations = [Population(POPULATION, n_neurons, params, weight_width, max_delay)]
    projections = []
    for r, (lo, hi) in enumerate(ranges):
        for c in range(channels):
            block = weights[c, lo:hi]
            block_delays = None if delays is None else delays[c, lo:hi]
            if kinds[r][c] == 2:
                projections.append(
                    Projection(
                        f"in{r}", POPULATION, block, c, block_delays, plastic[c, lo:hi].copy(), stdp
                    )
                )
            elif block.any():
                projections.append(Projection(f"in{r}", POPULATION, block, c, block_delays))
    if stdp is not None:
        inputs.append(InputGroup(_PROBE_INPUT, 1))
        populations.append(Population(_PROBE_POPULATION, 1, NeuronParams(), weight_width))
        for r, (lo, hi) in enumerate(ranges):
            projections.append(
                Projection(
                    f"in{r}",
                    _PROBE_POPULATION,
                    np.zeros((hi - lo, 1), dtype=np.int64),
                    synapses=np.zeros((hi - lo, 1), dtype=bool),
                    plasticity=stdp,
                )
            )
        projections.append(
            Projection(
                _PROBE_INPUT,
                POPULATION,
                np.zeros((1, n_neurons), dtype=np.int64),
                synapses=np.zeros((1, n_neurons), dtype=bool),
                plasticity=stdp,
            )
        )
    network = Network(
        inputs=inputs, populations=populations, projections=projections, outputs=[POPULATION]
    )

    # The reconstruction: the projections onto p give back exactly the core's arrays.
    got_weights = np.zeros_like(weights)
    got_delays = np.zeros_like(weights)
    got_plastic = np.zeros(weights.shape, dtype=bool)
    any_delays = False
    for projection in network.projections_to(POPULATION):
        if projection.source == _PROBE_INPUT:
            assert not projection.synapse_mask.any()
            continue
        lo, hi = ranges[int(projection.source[2:])]
        c = projection.channel
        got_weights[c, lo:hi] += projection.weights
        if projection.delays is not None:
            any_delays = True
            got_delays[c, lo:hi] += projection.delays
        if projection.plastic:
            assert projection.plasticity == stdp
            got_plastic[c, lo:hi] |= projection.synapse_mask
    assert np.array_equal(got_weights, weights), "network weights differ from the core's"
    assert np.array_equal(got_plastic, plastic), "network plastic mask differs from the core's"
    if delays is None:
        assert not any_delays
    else:
        assert np.array_equal(got_delays, delays), "network delays differ from the core's"
    return network, ranges


def network_expectations(network, ranges, counts, *, snapshot_every=None, learn=True):
    """Simulate the core's network on ``counts`` (steps, axons) and return the expected trace
    of ``p`` (``spikes``/``v``/``refractory`` (steps, N), ``i`` (steps, currents, N)) and, with
    ``snapshot_every``, ``snapshots``: the steps (every ``snapshot_every``-th and the last),
    the weights (n, C, A, N) assembled from the plastic projections' snapshots and the static
    weights, and with plastic projections the traces ``pre_trace`` (n, A), ``post_trace``
    (n, N)."""
    counts = np.asarray(counts, dtype=np.int64)
    steps = counts.shape[0]
    inputs = {f"in{r}": counts[:, lo:hi] for r, (lo, hi) in enumerate(ranges)}
    plastic_keys = [p.key for p in network.plastic_projections]
    if plastic_keys:
        inputs[_PROBE_INPUT] = np.zeros((steps, 1), dtype=np.int64)
    trace = simulate(
        network,
        inputs,
        record=("spikes", "v", "i", "refractory"),
        snapshot_every=snapshot_every,
        learn=learn,
    )
    expected = {
        "spikes": trace.spikes[POPULATION][:, 0],
        "v": trace.v[POPULATION][:, 0],
        "i": trace.i[POPULATION][:, 0],
        "refractory": trace.refractory[POPULATION][:, 0],
    }
    if network.populations[POPULATION].params.reset_delay:
        expected["pending"] = expected["spikes"]  # NeuronState.pending after each step
    if snapshot_every is None:
        return expected, None

    population = network.populations[POPULATION]
    n_axons = ranges[-1][1]
    channels = population.params.input_channels
    snapshot_steps = [t for t in range(steps) if (t + 1) % snapshot_every == 0]
    final = steps - 1 not in snapshot_steps and steps > 0
    if final:
        snapshot_steps.append(steps - 1)
    n = len(snapshot_steps)

    def plastic_weights(key):
        """(n, S, T): the snapshots, then the final weights if the last step is not one."""
        out = trace.weight_snapshots[key][:, 0]
        if final:
            out = np.concatenate([out, trace.learning[key].weights[:1]])
        return out

    def traces(key):
        pre, post = (x[:, 0] for x in trace.trace_snapshots[key])
        if final:
            pre = np.concatenate([pre, trace.learning[key].pre_trace[:1]])
            post = np.concatenate([post, trace.learning[key].post_trace[:1]])
        return pre, post

    weights = np.zeros((n, channels, n_axons, population.size), dtype=np.int64)
    for projection in network.projections_to(POPULATION):
        if projection.source == _PROBE_INPUT:
            continue
        lo, hi = ranges[int(projection.source[2:])]
        c = projection.channel
        weights[:, c, lo:hi] = (
            plastic_weights(projection.key) if projection.plastic else projection.weights
        )
    snapshots = {"steps": snapshot_steps, "weights": weights}
    if plastic_keys:
        pre = np.concatenate(
            [traces((f"in{r}", _PROBE_POPULATION, 0))[0] for r in range(len(ranges))], axis=1
        )
        post = traces((_PROBE_INPUT, POPULATION, 0))[1]
        # Every plastic projection of p keeps the same traces as the probes.
        for projection in network.projections_to(POPULATION):
            if projection.plastic and projection.source != _PROBE_INPUT:
                lo, hi = ranges[int(projection.source[2:])]
                own_pre, own_post = traces(projection.key)
                assert np.array_equal(own_pre, pre[:, lo:hi])
                assert np.array_equal(own_post, post)
        snapshots["pre_trace"] = pre
        snapshots["post_trace"] = post
    return expected, snapshots


def make_network_case(
    params,
    weights,
    counts,
    *,
    n_neurons,
    n_axons,
    weight_width,
    max_delay=1,
    delays=None,
    stdp=None,
    plastic=None,
    seed=0,
    core_kwargs=None,
    traffic=None,
    snapshot_every=None,
    state_every=None,
    check_throughput=False,
    learn=True,
):
    """Build a core with synaptic delays and/or STDP and the bench's test data, the expected
    values coming from :func:`neurohw.network.simulate` on the equivalent network
    (:func:`core_network`).

    ``weights`` (C, A, N) or (A, N); ``counts`` (steps, A) input spike counts; ``delays`` and
    ``plastic`` of the weights' shape (``None``: delay 1 / ``weights != 0``). Every (axon range,
    channel) block must be entirely plastic or entirely static. ``snapshot_every``: the bench
    reads every weight (and with ``stdp`` every trace) at the end of every that many steps and
    of the last step; ``state_every``: the neuron states are compared every that many steps
    (and at the last), the spikes every step; ``check_throughput``: the bench requires the
    event-accept cadence of ``port_description()["event_cycles"]`` (use a never idle source);
    ``learn=False``: the bench first turns learning off (``Status.LEARNING``), and the model
    runs with ``learn=False`` (weights and traces frozen).
    """
    weights = _as_channels(weights, "weights", np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape[1:] != (n_axons,):
        raise ValueError(f"counts must have shape (steps, {n_axons}), not {counts.shape}")
    if params.accumulation is not Accumulation.SUM:
        raise ValueError("a core with delays or STDP needs accumulation 'sum'")
    rng = np.random.default_rng(seed + 7919)
    core_kwargs = dict(core_kwargs or {})
    extra = {}
    # Only the arguments in use, so that the same cases build on a core without them.
    if max_delay != 1:
        extra["max_delay"] = max_delay
    if delays is not None:
        extra["delays"] = _as_channels(delays, "delays", np.int64)
    if stdp is not None:
        extra["stdp"] = stdp
        if plastic is not None:
            extra["plastic"] = _as_channels(plastic, "plastic", bool)
    core = NeuronCore(
        params,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        weights=weights,
        **core_kwargs,
        **extra,
    )
    max_counts = counts.max(axis=0) if counts.size else None
    network, ranges = core_network(
        params,
        weights,
        n_neurons=n_neurons,
        weight_width=weight_width,
        max_delay=max_delay,
        delays=delays,
        stdp=stdp,
        plastic=plastic,
        max_counts=max_counts,
    )
    expected, snapshots = network_expectations(
        network, ranges, counts, snapshot_every=snapshot_every, learn=learn
    )
    events = step_events(counts, rng, shuffle=True)  # 'sum': the order is free
    config = [] if learn else [[int(Target.STATUS), int(Status.LEARNING), 0, 0]]
    data = bench_data(
        core,
        config=config,
        probes=command_probes(core, weights),
        events=events,
        expected=expected,
        seed=seed,
        check_throughput=check_throughput,
        traffic=traffic,
    )
    if state_every is not None:
        data["state_every"] = int(state_every)
    if snapshots is not None:
        data["snapshots"] = snapshots
        data["weight_reads"] = weight_reads(core)
    return core, data


def weight_reads(core):
    """Every weight word as ``[channel, neuron field, axon, neuron]``: dense every (channel,
    axon, neuron); sparse every synapse, addressed by its fan-out slot (the other weights are
    0 by construction)."""
    if core.connectivity == "sparse":
        return [
            [c, core.synapse_slot(a, n), a, n]
            for c in range(core.channels)
            for a, n in core.synapse_pairs()
        ]
    return [
        [c, n, a, n]
        for c in range(core.channels)
        for a in range(core.n_axons)
        for n in range(core.n_neurons)
    ]
