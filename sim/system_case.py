"""Test data for the system bench (``sim/bench_system.py``): a mapped network, the host's event
stream for a batch of samples run back to back, and what the host must receive.

The expectations come from :func:`neurohw.network.system.simulate` (the network's definition):
for every window ``w`` (global step ``w = k * steps + t`` of sample ``k``), the set of
``(key, count)`` of the output populations' neurons that spike in step ``w``, and per core the
number of core-to-core spike events its ingress must drop in the last window of each sample
(the spikes of each sample's last step, once per target core they are routed to).
"""

from __future__ import annotations

import numpy as np

from neurohw.hw.chip_design import DEFAULT_DEBUG, DEFAULT_ROUTER_FIFO_DEPTH, ChipDesign
from neurohw.hw.conv_core import ConvCore
from neurohw.hw.core import ActivityStatus, Target
from neurohw.hw.core_config import ACTIVITY_COUNTER_WIDTH
from neurohw.hw.system import SystemTop
from neurohw.model import Decay, NeuronParams, ResetMode, xylo_lif
from neurohw.model.reference import initial_state
from neurohw.network import InputGroup, Network, Population, Projection, simulate, simulate_samples
from neurohw.network.host_events import encode_samples
from neurohw.network.plan import ChipPlan
from neurohw.network.plan_model import (
    predict_activity_counters,
    predict_activity_snapshots,
    snapshot_word_ends,
)
from neurohw.network.system import Samples, check_samples

__all__ = [
    "make_case",
    "expected_windows",
    "expected_eos_dropped",
    "expected_final_states",
    "cycle_budget",
    "random_network",
    "random_same_step_network",
    "random_inputs",
    "random_graded_network",
    "random_xylo_network",
    "random_per_event_network",
    "random_conv_network",
]


def _key_of(plan: ChipPlan):
    """``{(population, neuron): key}`` of every neuron."""
    keys = {}
    for core in plan.cores:
        for j in range(core.n_neurons):
            keys[(core.population, core.neuron_start + j)] = plan.neuron_key(core.index, j)
    return keys


def expected_windows(plan: ChipPlan, spikes: dict) -> list:
    """One sorted ``[[key, count], ...]`` per global step from ``simulate``'s ``spikes``
    (``{population: (steps, batch, size)}``): the output populations' spikes, batch after
    batch."""
    keys = _key_of(plan)
    steps, batch = next(iter(spikes.values())).shape[:2]
    windows = []
    for k in range(batch):
        for t in range(steps):
            events = []
            for name in plan.network.outputs:
                counts = spikes[name][t, k]
                for neuron in np.flatnonzero(counts):
                    events.append([keys[(name, int(neuron))], int(counts[neuron])])
            windows.append(sorted(events))
    return windows


def expected_eos_dropped(plan: ChipPlan, spikes: dict, final_spikes: dict | None = None) -> list:
    """Per core: core-to-core spike events routed to it in the last step of every sample, and
    (a skewed network, ``plan.start_steps``) those a population sent before its start step,
    including in the final clearing step after the run (``final_spikes``, ``{population: (1,
    1, size)}``: the first step of a sample that never comes)."""
    keys = _key_of(plan)
    dropped = [0] * plan.n_cores

    def count(name, row):
        for neuron in np.flatnonzero(row):
            for target in plan.connectivity.get(keys[(name, int(neuron))], ()):
                if target < plan.n_cores:
                    dropped[target] += 1

    steps, batch = next(iter(spikes.values())).shape[:2]
    for name, counts in spikes.items():
        dropped_steps = sorted({steps - 1, *range(min(plan.start_steps.get(name, 0), steps))})
        for t in dropped_steps:
            for k in range(batch):
                count(name, counts[t, k])
    for name, counts in (final_spikes or {}).items():
        if plan.start_steps.get(name, 0) > 0:
            count(name, counts[0, 0])
    return dropped


def cycle_budget(top: SystemTop, steps: int) -> int:
    """A generous bound on the clock cycles ``steps`` steps may take without back-pressure:
    per step and core, every possible input event's weight row (``max_events_per_step x
    ceil(n_neurons / lanes)``), the sweep, a full clear over the command port and routing
    latency, summed over the cores as if none overlapped."""
    per_step = 0
    for core, ingress in zip(top.cores, top.ingress):
        events = core.max_events_per_step or core.n_axons
        if isinstance(core, ConvCore):
            # Every event visits every kernel position (ConvCore.event_cycles), then the sweep.
            per_step += (
                events * (core.spec.ops_per_event + 2)
                + core.n_neurons
                + 8 * core.n_neurons * len(ingress.clear_writes)
                + 200
            )
            continue
        learning = core.n_neurons * (core.n_axons + 2) if core.stdp is not None else 0
        per_step += (
            events * core.lane_depth
            + core.n_neurons
            + learning
            + 8 * core.n_neurons * len(ingress.clear_writes)
            + 200
        )
    return 4000 + steps * per_step


def final_step(plan: ChipPlan, learning=None):
    """The trace of the step every core runs after the final clear, without input."""
    return simulate(plan.network, Samples.zeros(plan.network, 1), steps=1, learning=learning)


def expected_final_states(plan: ChipPlan, learning=None) -> list:
    """Per core, ``[target, neuron, value]`` of every state of every neuron after a run, and
    with STDP ``[target, neuron, value, axon]`` of every plastic weight and every trace.

    The host's final barrier closes the last sample's last window: the cores clear their state
    and run one more step without input. So at the end every core holds the state ``simulate``
    reaches in one step from the initial state with zero input, and the weights and traces that
    step learns from ``learning`` (the state after the last sample)."""
    last = final_step(plan, learning)
    after = last.final_state
    states = []
    for core in plan.cores:
        state = after[core.population]
        if plan.start_steps.get(core.population) == 1:
            # A population that starts at step 1 is cleared right after that step.
            state = initial_state(core.params, plan.network.populations[core.population].size, 1)
        reads = []
        for j in range(core.n_neurons):
            n = core.neuron_start + j
            reads.append([int(Target.V), j, int(state.v[0, n])])
            for c in range(core.params.n_currents):
                reads.append([int(Target.I0) + c, j, int(state.i[0, c, n])])
            if core.params.refractory_period:
                reads.append([int(Target.REFRACTORY), j, int(state.refractory[0, n])])
        if core.stdp is not None:
            reads += _learned_reads(core, last.learning)
        states.append(reads)
    return states


def _learned_reads(core, learning) -> list:
    """``[target, neuron, value, axon]`` of every plastic weight and every trace of a core."""
    part = slice(core.neuron_start, core.neuron_stop)
    reads = []
    post = None
    for block in core.axon_blocks:
        for channel in range(core.plastic.shape[0]):
            key = (block.source, core.population, channel)
            if key not in learning:
                continue
            state = learning[key]
            post = state.post_trace[0, part]
            for offset in range(block.count):
                axon = block.axon_start + offset
                line = block.source_start + offset
                reads.append([int(Target.PRE_TRACE), 0, int(state.pre_trace[0, line]), axon])
                for j in np.flatnonzero(core.plastic[channel, axon]):
                    reads.append(
                        [
                            int(Target.WEIGHT0) + channel,
                            int(j),
                            int(state.weights[0, line, core.neuron_start + j]),
                            axon,
                        ]
                    )
    if post is not None:
        reads += [[int(Target.POST_TRACE), j, int(post[j]), 0] for j in range(core.n_neurons)]
    return reads


def make_case(
    plan,
    inputs,
    *,
    seed: int = 0,
    traffic=None,
    debug: bool | None = None,
    router_fifo_depth: int | None = None,
    activity_per_sample: bool = False,
):
    """Build the system and the bench's test data for ``inputs`` ``{group: (steps, batch,
    size)}`` (the batch runs back to back, one sample after another). ``plan``: a
    :class:`neurohw.Chip` (which has its options), or a ``ChipPlan`` made into ``Chip(plan,
    debug=debug, router_fifo_depth=router_fifo_depth)`` (the Chip's defaults when left out).
    ``activity_per_sample`` (a chip with activity counters): the bench holds the host between
    samples and reads every counter there (``predict_activity_snapshots``)."""
    if isinstance(plan, ChipDesign):
        if debug is not None or router_fifo_depth is not None:
            raise TypeError(
                "debug and router_fifo_depth are options of the Chip given; pass a "
                "ChipPlan to choose them here"
            )
        chip = plan
    else:
        chip = ChipDesign(
            plan,
            debug=DEFAULT_DEBUG if debug is None else debug,
            router_fifo_depth=DEFAULT_ROUTER_FIFO_DEPTH
            if router_fifo_depth is None
            else router_fifo_depth,
        )
    plan = chip.plan
    samples = check_samples(plan.network, inputs)
    steps, batch = samples.steps, samples.batch
    # The chip runs the batch one sample after another; learning carries over. The inputs are
    # in the chip's own timing (padded for a skewed network: neurohw.network.timing).
    trace = simulate_samples(plan.network, samples, start_steps=plan.start_steps)
    top = chip.top()
    words = encode_samples(plan, samples)
    windows = expected_windows(plan, trace.spikes)
    data = {
        "ports": top.port_description(),
        "steps": steps,
        "samples": batch,
        "host_words": words,
        "expected_windows": windows,
        "expected_eos_dropped": expected_eos_dropped(
            plan, trace.spikes, final_step(plan, trace.learning).spikes
        ),
        "expected_final_states": expected_final_states(plan, trace.learning),
        "input_events": sum(1 for w in words if plan.fmt.unpack(w).kind == 0),
        "seed": seed,
        "core_neurons": [core.n_neurons for core in plan.cores],
        "cycle_budget": cycle_budget(top, steps * batch),
        **(traffic or {}),
    }
    weight_writes = chip.weight_load_commands()
    if weight_writes:
        # SPRAM cores start without weights: the bench writes them first, over dbg_cmd.
        data["weight_writes"] = weight_writes
    if chip.activity_counters:
        # What the chip's counters read at the end of the run (saturated as they saturate).
        expected = predict_activity_counters(plan, samples).saturated()
        data["expected_activity"] = expected.as_dict()
        data["activity_status"] = {member.name: int(member) for member in ActivityStatus}
        data["activity_width"] = ACTIVITY_COUNTER_WIDTH
        if activity_per_sample:
            data["snapshot_word_ends"] = snapshot_word_ends(plan, words, steps)
            data["expected_activity_snapshots"] = [
                snapshot.saturated().as_dict()
                for snapshot in predict_activity_snapshots(plan, samples)
            ]
    elif activity_per_sample:
        raise ValueError(
            "activity_per_sample=True needs a chip with activity counters "
            "(Chip(..., activity_counters=True))"
        )
    return top, data


# -- random networks for the system tests ------------------------------------------------------


def _random_params(rng, size):
    n_currents = int(rng.integers(0, 3))
    reset = ResetMode.SUBTRACT if rng.integers(0, 3) == 0 else ResetMode.ZERO
    max_spikes = (
        int(rng.integers(2, 4)) if reset is ResetMode.SUBTRACT and rng.integers(0, 2) else 1
    )
    per_neuron = bool(rng.integers(0, 2))
    threshold = rng.integers(20, 60, size=size) if per_neuron else int(rng.integers(20, 60))

    # Per-neuron models also learn their decays and carry a constant input (drive bias), which
    # the cores keep in per-neuron memories (5-bit command targets).
    def shift(low, high):
        return (
            rng.integers(low, high + 1, size=size)
            if per_neuron
            else int(rng.integers(low, high + 1))
        )

    return NeuronParams(
        n_currents=n_currents,
        v_width=12,
        i_width=12,
        v_decay=Decay.shift(shift(1, 3)),
        i_decay=tuple(Decay.shift(shift(1, 2)) for _ in range(n_currents)),
        drive_bias=rng.integers(-1, 3, size=size) if per_neuron else 0,
        bias_mantissa=int(rng.integers(-2, 4)),
        threshold=threshold,
        reset=reset,
        max_spikes=max_spikes,
        refractory_period=int(rng.choice([0, 0, 1, 2])),
        input_count_cap=None if rng.integers(0, 2) else 2,
    )


def _weights(rng, rows, cols, width, density):
    high = (1 << (width - 1)) - 1
    weights = rng.integers(-high // 2, high + 1, size=(rows, cols))
    weights[rng.random((rows, cols)) >= density] = 0
    return weights


def random_network(seed: int) -> Network:
    """Input group ``x`` -> population ``h`` (recurrent) -> population ``o``, plus ``x -> o``
    and sometimes a second input group ``y -> h``; outputs ``o`` and sometimes ``h``. Sizes and
    models drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(3, 8))
    n_h = int(rng.integers(5, 11))
    n_o = int(rng.integers(2, 6))
    x = InputGroup("x", n_in, max_count=int(rng.choice([1, 1, 2])))
    ph = _random_params(rng, n_h)
    po = _random_params(rng, n_o)
    h = Population("h", n_h, ph, weight_width=8)
    o = Population("o", n_o, po, weight_width=8)
    projections = [
        Projection("x", "h", _weights(rng, n_in, n_h, 8, 0.7)),
        Projection("h", "h", _weights(rng, n_h, n_h, 8, 0.3) // 2, channel=ph.input_channels - 1),
        Projection("h", "o", _weights(rng, n_h, n_o, 8, 0.6)),
        Projection("x", "o", _weights(rng, n_in, n_o, 8, 0.3)),
    ]
    outputs = ["o", "h"] if rng.integers(0, 2) else ["o"]
    inputs = [x]
    if rng.integers(0, 2):
        # A second input group: its lines take host keys after x's (input_offsets).
        n_y = int(rng.integers(2, 5))
        inputs.append(InputGroup("y", n_y))
        projections.append(Projection("y", "h", _weights(rng, n_y, n_h, 8, 0.5)))
    return Network(inputs=inputs, populations=[h, o], projections=projections, outputs=outputs)


def random_xylo_network(seed: int) -> Network:
    """A Xylo-style network (``docs/system.md`` "Per-projection shift and cap"): input ``x``
    (counts up to 31) -> ``h`` with ``weight_shift=2, count_cap=15``, ``h -> h`` recurrent with
    ``weight_shift=1, count_cap=3`` (small, so the cap acts), ``h -> o`` readout. ``h`` fires up
    to 7 spikes a step (subtract reset), so recurrent counts above the cap occur."""
    rng = np.random.default_rng(seed)
    n_in, n_h, n_o = 5, 8, 3
    h_params = NeuronParams(
        v_width=14,
        v_decay=Decay.shift(3),
        threshold=24,
        reset=ResetMode.SUBTRACT,
        max_spikes=7,
        bias_mantissa=int(rng.integers(0, 3)),
    )
    o_params = NeuronParams(
        v_width=14, v_decay=Decay.shift(2), threshold=40, reset=ResetMode.SUBTRACT, max_spikes=3
    )
    projections = [
        Projection("x", "h", _weights(rng, n_in, n_h, 4, 0.7), weight_shift=2, count_cap=15),
        Projection("h", "h", _weights(rng, n_h, n_h, 4, 0.4), weight_shift=1, count_cap=3),
        Projection("h", "o", _weights(rng, n_h, n_o, 6, 0.7)),
    ]
    return Network(
        inputs=[InputGroup("x", n_in, max_count=31)],
        populations=[
            Population("h", n_h, h_params, weight_width=4),
            Population("o", n_o, o_params, weight_width=6),
        ],
        projections=projections,
        outputs=["o", "h"],
    )


def random_per_event_network(seed: int, *, n_in: int = 5, n_h: int = 8, n_o: int = 3) -> Network:
    """A recurrent Xylo network as Xylo builds it (``docs/system.md`` "Per-event
    accumulation"): ``x`` (counts up to 31) -> ``h`` with ``weight_shift=6, count_cap=15``,
    ``h -> h`` with ``weight_shift=5, count_cap=31``, ``h -> o`` readout; ``h`` and ``o`` are
    ``xylo_lif`` (16-bit saturating states, 'per_event', per-neuron shift decays, ``h`` up to 31
    spikes a step, ``o`` one). Large mixed-sign weights saturate the currents within a step,
    so the order of the adds changes the result (tested). Outputs ``o`` and ``h``."""
    rng = np.random.default_rng(seed)
    h_params = xylo_lif(
        dash_mem=rng.integers(1, 6, size=n_h),
        dash_syn=(rng.integers(0, 4, size=n_h), rng.integers(1, 5, size=n_h)),
        threshold=rng.integers(1500, 8000, size=n_h),
        bias=rng.integers(-500, 500, size=n_h),
        max_spikes=31,
    )
    o_params = xylo_lif(
        dash_mem=rng.integers(1, 6, size=n_o),
        dash_syn=rng.integers(0, 4, size=n_o),
        threshold=rng.integers(10000, 30000, size=n_o),
        max_spikes=1,
    )

    def weights(rows, cols, density, channels=1):
        return [
            np.where(
                rng.random((rows, cols)) < density, rng.integers(-127, 128, size=(rows, cols)), 0
            )
            for _ in range(channels)
        ]

    w_in, w_rec, w_out = (
        weights(n_in, n_h, 0.8, 2),
        weights(n_h, n_h, 0.5, 2),
        weights(n_h, n_o, 0.8),
    )
    projections = [
        *(Projection("x", "h", w, c, weight_shift=6, count_cap=15) for c, w in enumerate(w_in)),
        *(Projection("h", "h", w, c, weight_shift=5, count_cap=31) for c, w in enumerate(w_rec)),
        Projection("h", "o", w_out[0], weight_shift=6),
    ]
    return Network(
        inputs=[InputGroup("x", n_in, max_count=31)],
        populations=[
            Population("h", n_h, h_params, weight_width=8),
            Population("o", n_o, o_params, weight_width=8),
        ],
        projections=projections,
        outputs=["o", "h"],
    )


def random_same_step_network(seed: int) -> Network:
    """The trainers' timing (same-step projections) in a network the chip must run skewed:
    ``x -> h -> g -> o`` same-step, ``h -> o`` skipping ``g`` and ``x -> o`` (both become
    synaptic delays), ``h -> h`` and ``o -> o`` recurrent (one step); random models with
    biases, so the start-step clears matter. Outputs ``o`` and sometimes ``g``."""
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(3, 7))
    sizes = {
        "h": int(rng.integers(5, 10)),
        "g": int(rng.integers(3, 7)),
        "o": int(rng.integers(2, 5)),
    }
    # Strong biases: deeper layers spike before they start, which the chip must drop.
    params = {
        name: _random_params(rng, size).replace(bias_mantissa=rng.integers(-5, 45, size=size))
        for name, size in sizes.items()
    }
    populations = [Population(name, size, params[name]) for name, size in sizes.items()]

    def projection(source, target, density, same_step, shrink=1):
        rows = n_in if source == "x" else sizes[source]
        weights = _weights(rng, rows, sizes[target], 8, density) // shrink
        return Projection(source, target, weights, same_step=same_step)

    projections = [
        projection("x", "h", 0.7, False),
        projection("h", "h", 0.3, False, 2),
        projection("h", "g", 0.7, True),
        projection("g", "o", 0.7, True),
        projection("h", "o", 0.3, True),
        projection("x", "o", 0.3, False),
        projection("o", "o", 0.3, False, 2),
    ]
    outputs = ["o", "g"] if rng.integers(0, 2) else ["o"]
    return Network(
        inputs=[InputGroup("x", n_in)],
        populations=populations,
        projections=projections,
        outputs=outputs,
    )


def random_inputs(
    network: Network, seed: int, *, steps: int, samples: int, density: float = 0.4
) -> dict:
    rng = np.random.default_rng(seed + 1)
    inputs = {}
    for name, group in network.inputs.items():
        counts = (rng.random((steps, samples, group.size)) < density).astype(np.int64)
        if group.graded:
            # Any value of the group's range where a line is active, both extremes included.
            low, high = group.value_range
            counts *= rng.integers(low, high + 1, size=counts.shape)
            if counts.size > 1:
                counts.flat[:2] = (low, high)
        elif group.max_count > 1:
            counts *= rng.integers(1, group.max_count + 1, size=counts.shape)
        inputs[name] = counts
    return inputs


def random_graded_network(seed: int) -> Network:
    """Graded input groups next to a spike-count one: ``g`` (signed 4-bit values) -> ``h`` and,
    with delays up to 2, -> ``o``; ``u`` (unsigned 3-bit) -> ``h``; ``x`` (counts up to 2) ->
    ``h``; ``h`` recurrent and -> ``o``. So one payload carries counts, unsigned and signed
    values, and one core mixes graded and counted blocks. Outputs ``o`` and ``h``."""
    rng = np.random.default_rng(seed)
    n_g, n_u, n_x = int(rng.integers(3, 7)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
    n_h, n_o = int(rng.integers(5, 10)), int(rng.integers(2, 5))
    ph = _random_params(rng, n_h)
    po = _random_params(rng, n_o)
    # Small weights: a value of up to 8 times a weight should not saturate every membrane.
    to_o = _weights(rng, n_g, n_o, 5, 0.6)
    projections = [
        Projection("g", "h", _weights(rng, n_g, n_h, 5, 0.7)),
        Projection("u", "h", _weights(rng, n_u, n_h, 5, 0.7)),
        Projection("x", "h", _weights(rng, n_x, n_h, 8, 0.7)),
        Projection("h", "h", _weights(rng, n_h, n_h, 8, 0.3) // 2, channel=ph.input_channels - 1),
        Projection("h", "o", _weights(rng, n_h, n_o, 8, 0.6)),
        Projection(
            "g", "o", to_o, delays=np.where(to_o != 0, rng.integers(1, 3, size=to_o.shape), 0)
        ),
    ]
    return Network(
        inputs=[
            InputGroup("g", n_g, value_bits=4, signed=True),
            InputGroup("u", n_u, value_bits=3),
            InputGroup("x", n_x, max_count=2),
        ],
        populations=[
            Population("h", n_h, ph, weight_width=8),
            Population("o", n_o, po, weight_width=8, max_delay=2),
        ],
        projections=projections,
        outputs=["o", "h"],
    )


def random_learning_network(seed: int) -> Network:
    """``x`` -> ``h`` plastic (STDP, a random rule) with delays up to 3, ``h`` -> ``h``
    recurrent and ``h`` -> ``o`` static with delays, ``x`` -> ``o``; ``h`` has
    input_count_cap=1 (a learning core's requirement). Outputs ``o`` and ``h``."""
    from neurohw.model.stdp import STDPParams

    rng = np.random.default_rng(seed)
    n_in, n_h, n_o = int(rng.integers(3, 7)), int(rng.integers(5, 10)), int(rng.integers(2, 5))
    ph = _random_params(rng, n_h).replace(input_count_cap=1)
    po = _random_params(rng, n_o)
    rule = STDPParams(
        w_min=int(rng.integers(-20, 1)),
        w_max=int(rng.integers(40, 100)),
        a_plus=int(rng.integers(1, 40)),
        a_minus=int(rng.integers(1, 40)),
        shift=int(rng.integers(3, 7)),
        trace_width=int(rng.integers(4, 9)),
        pre_increment=int(rng.integers(1, 16)),
        post_increment=int(rng.integers(1, 16)),
        pre_decay=Decay.multiply(
            int(rng.integers(100, 2000)), 12, rounding=str(rng.choice(["floor", "nearest"]))
        ),
        post_decay=Decay.shift(int(rng.integers(1, 4))),
        weight_dependence=str(rng.choice(["additive", "soft"])),
    )
    synapses = rng.random((n_in, n_h)) < 0.7
    plastic_weights = np.where(
        synapses, rng.integers(rule.w_min, rule.w_max + 1, size=(n_in, n_h)), 0
    )

    def delays(weights, mask, largest):
        return np.where(mask, rng.integers(1, largest + 1, size=weights.shape), 0)

    recurrent = _weights(rng, n_h, n_h, 8, 0.3) // 2
    to_o = _weights(rng, n_h, n_o, 8, 0.6)
    projections = [
        Projection(
            "x",
            "h",
            plastic_weights,
            delays=delays(plastic_weights, synapses, 3),
            synapses=synapses,
            plasticity=rule,
        ),
        Projection(
            "h",
            "h",
            recurrent,
            channel=ph.input_channels - 1,
            delays=delays(recurrent, recurrent != 0, 3),
        ),
        Projection("h", "o", to_o, delays=delays(to_o, to_o != 0, 2)),
        Projection("x", "o", _weights(rng, n_in, n_o, 8, 0.3)),
    ]
    return Network(
        inputs=[InputGroup("x", n_in)],
        populations=[
            Population("h", n_h, ph, weight_width=8, max_delay=3),
            Population("o", n_o, po, weight_width=8, max_delay=2),
        ],
        projections=projections,
        outputs=["o", "h"],
    )


def random_conv_network(seed: int, *, pool: bool = False) -> Network:
    """Input group ``x`` (a ``C x H x W`` map) -> conv population ``c`` (one
    :class:`~neurohw.hw.conv.ConvSpec` drawn from ``seed``: kernel, stride, padding, dilation,
    channels; ``Projection.conv``) -> dense population ``o``; outputs ``o`` and sometimes
    ``c``. The conv population's model is one a convolution core holds (at most one current,
    no input count cap). ``pool``: a sum pooling window (1..3 a side, not both 1) in front of
    the convolution, on a larger input map."""
    from neurohw.hw.conv import ConvSpec

    rng = np.random.default_rng(seed)
    while True:
        in_shape = (int(rng.integers(1, 3)), int(rng.integers(3, 7)), int(rng.integers(3, 7)))
        window = (1, 1)
        if pool:
            while window == (1, 1):
                window = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            in_shape = (
                in_shape[0],
                in_shape[1] * window[0] + int(rng.integers(0, window[0])),
                in_shape[2] * window[1] + int(rng.integers(0, window[1])),
            )
        stride = int(rng.choice([1, 1, 2]))
        padding = (
            rng.choice(["valid", "same", "int"]) if stride == 1 else rng.choice(["valid", "int"])
        )
        try:
            spec = ConvSpec(
                in_shape,
                int(rng.integers(1, 4)),
                (int(rng.integers(1, 4)), int(rng.integers(1, 4))),
                stride=stride,
                padding=int(rng.integers(0, 2)) if padding == "int" else str(padding),
                dilation=int(rng.choice([1, 1, 2])),
                pool=window,
            )
            break
        except ValueError:
            continue
    kernel = rng.integers(-60, 128, size=spec.kernel_shape)
    kernel[rng.random(spec.kernel_shape) < 0.2] = 0
    params = _random_params(rng, spec.n_neurons).replace(input_count_cap=None)
    if params.n_currents > 1:
        params = params.replace(n_currents=1, i_decay=params.i_decay[:1])
    n_o = int(rng.integers(2, 5))
    x = InputGroup("x", spec.n_axons, max_count=int(rng.choice([1, 1, 2])))
    c = Population("c", spec.n_neurons, params, weight_width=8)
    o = Population("o", n_o, _random_params(rng, n_o), weight_width=8)
    projections = [
        Projection("x", "c", conv=(spec, kernel)),
        Projection("c", "o", _weights(rng, spec.n_neurons, n_o, 8, 0.5)),
    ]
    outputs = ["o", "c"] if rng.integers(0, 2) else ["o"]
    return Network(inputs=[x], populations=[c, o], projections=projections, outputs=outputs)
