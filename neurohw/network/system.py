"""The system reference model: what a whole network computes, step by step, for a batch.

This is the definition the chip is checked against (``docs/system.md``): in step ``t`` every
population takes the input counts of step ``t`` from its input groups and the spike counts of
step ``t - 1`` from its source populations (none at ``t = 0``), sums
``min(count, cap) * (weight << weight_shift)`` (``value * (weight << weight_shift)`` for a graded
input group; ``cap`` the smaller of the projection's ``count_cap`` and the target's
``input_count_cap``) per channel, and advances with
:func:`neurohw.model.reference.step`; a 'per_event' population instead adds every spike on its
own, in the order of :func:`event_order` (``docs/system.md``, "Per-event accumulation"). Partitioning onto cores changes nothing here: a ChipPlan
computes exactly this (tested).

Synaptic delays and STDP (``docs/learning.md``): a synapse of delay ``d`` adds its contribution
``d - 1`` steps after the default timing (a ring of ``max_delay`` future drives per target), and
plastic projections update their weights after every population has stepped, in the order
:mod:`neurohw.model.stdp` defines. A step's drive always uses the weights at the end of the
previous step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..model.reference import NeuronState, StepInput, check_record, initial_state, step
from ..model.stdp import STDPError, STDPState, initial_stdp_state, stdp_step
from .graph import Network, NetworkError

__all__ = [
    "SystemTrace",
    "Samples",
    "check_samples",
    "check_inputs",
    "simulate",
    "simulate_samples",
    "population_drive",
    "population_events",
    "event_order",
]


@dataclass(frozen=True)
class SystemTrace:
    """Per population, one entry per step taken at the end of the step: ``spikes[name]``
    (steps, batch, size) counts; ``v``/``refractory`` (steps, batch, size) and ``i`` (steps,
    batch, n_currents, size) when recorded; ``final_state[name]``.

    With plastic projections: ``learning[(source, target, channel)]`` is the final
    :class:`neurohw.model.stdp.STDPState` (weights (batch, S, T) and traces), and
    ``weight_snapshots[key]`` (snapshots, batch, S, T) the weights at the end of every
    ``snapshot_every``-th step, when asked for, and ``trace_snapshots[key]`` the traces at the
    same steps: ``(pre (snapshots, batch, S), post (snapshots, batch, T))``."""

    spikes: dict
    v: dict | None
    i: dict | None
    refractory: dict | None
    final_state: dict
    learning: dict | None = None
    weight_snapshots: dict | None = None
    trace_snapshots: dict | None = None

    @property
    def weights(self) -> dict:
        """Final weights (batch, S, T) of every plastic projection, by projection key."""
        return {key: state.weights for key, state in (self.learning or {}).items()}

    @property
    def steps(self) -> int:
        return next(iter(self.spikes.values())).shape[0]

    def output_counts(self, network: Network) -> dict:
        """Total spikes per output neuron over the run: ``{name: (batch, size)}``."""
        return {name: self.spikes[name].sum(axis=0) for name in network.outputs}


@dataclass(frozen=True, eq=False)
class Samples(Mapping):
    """Inputs validated once against a network's input groups (:func:`check_samples`).

    ``counts``: ``{group: int64 (steps, batch, size)}``, read-only (a graded group's values
    instead of counts). ``groups``: the input groups they were checked against. Every function
    that takes inputs (:func:`check_inputs`, and so :func:`simulate`, the plan model, the host
    encoder, the RTL verification) accepts a ``Samples`` of the same input groups as already
    checked, so one compile validates its samples once, at its entry. A ``Samples`` reads as
    the mapping ``counts`` (``samples["x"]``, ``samples.items()``), so code written for a dict
    of arrays takes it as it is."""

    steps: int
    batch: int
    counts: dict
    groups: tuple

    def __getitem__(self, name: str) -> np.ndarray:
        return self.counts[name]

    def __iter__(self):
        return iter(self.counts)

    def __len__(self) -> int:
        return len(self.counts)

    def fits(self, network: Network) -> bool:
        """Whether these samples were checked against ``network``'s input groups."""
        return self.groups == tuple(network.inputs.values())

    def padded(self, flush: int) -> Samples:
        """The samples followed by ``flush`` steps of zero input (a skewed chip's timing,
        :func:`neurohw.network.timing.pad_inputs`); zero is in every group's range."""
        if not flush:
            return self
        counts = {
            name: _read_only(
                np.concatenate([array, np.zeros((flush, *array.shape[1:]), dtype=array.dtype)])
            )
            for name, array in self.counts.items()
        }
        return Samples(self.steps + flush, self.batch, counts, self.groups)

    def first(self, n: int) -> Samples:
        """The first ``n`` samples (all of them when there are fewer)."""
        if n >= self.batch:
            return self
        counts = {name: array[:, :n] for name, array in self.counts.items()}
        return Samples(self.steps, n, counts, self.groups)

    def select(self, order) -> Samples:
        """Samples ``order`` (batch indices, in that order), still checked."""
        order = [int(k) for k in order]
        counts = {name: _read_only(array[:, order]) for name, array in self.counts.items()}
        return Samples(self.steps, len(order), counts, self.groups)

    def sample(self, k: int) -> Samples:
        """Sample ``k`` alone (batch 1)."""
        counts = {name: array[:, k : k + 1] for name, array in self.counts.items()}
        return Samples(self.steps, 1, counts, self.groups)

    @classmethod
    def zeros(cls, network: Network, steps: int, batch: int = 1) -> Samples:
        """``steps`` steps of no input to every group of ``network`` (zero is in every group's
        range, so there is nothing to check)."""
        counts = {
            name: _read_only(np.zeros((steps, batch, group.size), dtype=np.int64))
            for name, group in network.inputs.items()
        }
        return cls(steps, batch, counts, tuple(network.inputs.values()))

    def head(self, samples: int) -> Samples:
        """The first ``samples`` samples."""
        counts = {name: array[:, :samples] for name, array in self.counts.items()}
        return Samples(
            self.steps, min(self.batch, samples) if counts else self.batch, counts, self.groups
        )


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def check_samples(network: Network, inputs, steps: int | None = None) -> Samples:
    """Validate ``inputs`` ``{group: counts (steps, batch, size) or (steps, size)}`` (a graded
    group's values instead of counts) once, into :class:`Samples`. Every group must be given;
    a count or value outside its group's range is refused, never clipped. ``Samples`` already
    checked against the same input groups (and ``steps``) are returned as they are."""
    if isinstance(inputs, Samples):
        if inputs.fits(network) and steps in (None, inputs.steps):
            return inputs
        inputs = dict(inputs.counts)
    steps, batch, counts = _validate(network, inputs, steps)
    return Samples(
        steps,
        batch,
        {name: _read_only(array) for name, array in counts.items()},
        tuple(network.inputs.values()),
    )


def check_inputs(network: Network, inputs, steps: int | None = None):
    """``(steps, batch, {group: int64 (steps, batch, size)})`` of ``inputs`` validated by
    :func:`check_samples` (checked once: ``Samples`` of the same input groups pass as they
    are)."""
    samples = check_samples(network, inputs, steps)
    return samples.steps, samples.batch, dict(samples.counts)


def _validate(network: Network, inputs, steps: int | None):
    """The checks of :func:`check_samples` (the only place inputs are validated)."""
    if not isinstance(inputs, dict):
        raise TypeError(
            f"inputs must be a dict of input group name -> counts, not {type(inputs).__name__}"
        )
    unknown = sorted(set(inputs) - set(network.inputs))
    if unknown:
        raise NetworkError(
            f"inputs name unknown input group(s) {', '.join(map(repr, unknown))};"
            f" the network's input groups: "
            f"{', '.join(map(repr, network.inputs)) or 'none'}"
        )
    missing = [name for name in network.inputs if name not in inputs]
    if missing:
        raise NetworkError(f"inputs miss input group(s) {', '.join(map(repr, missing))}")
    shapes = {}
    arrays = {}
    for name, group in network.inputs.items():
        counts = np.asarray(inputs[name])
        if counts.dtype.kind not in "iub":
            what = "values" if group.graded else "spike counts"
            raise NetworkError(f"input {name!r} must hold integer {what}, not dtype {counts.dtype}")
        if counts.ndim == 2:
            counts = counts[:, np.newaxis, :]
        if counts.ndim != 3 or counts.shape[2] != group.size:
            raise NetworkError(
                f"input {name!r} must have shape (steps, batch, {group.size}) "
                f"or (steps, {group.size}), not {np.shape(inputs[name])}"
            )
        counts = counts.astype(np.int64)
        if group.graded:
            _check_values(name, group, counts)
        elif counts.size and (counts.min() < 0 or counts.max() > group.max_count):
            bad = int(counts.min() if counts.min() < 0 else counts.max())
            raise NetworkError(
                f"input {name!r} has a spike count of {bad}; counts must be "
                f"between 0 and the group's max_count={group.max_count}"
            )
        shapes[name] = counts.shape[:2]
        arrays[name] = counts
    if len(set(shapes.values())) > 1:
        raise NetworkError(f"inputs disagree on (steps, batch): {shapes}")
    if shapes:
        in_steps, batch = next(iter(shapes.values()))
        if steps is None:
            steps = in_steps
        elif steps != in_steps:
            raise NetworkError(f"steps={steps} but the inputs have {in_steps} steps")
    else:
        if steps is None:
            raise NetworkError("a network without input groups needs steps=")
        batch = 1
    return steps, batch, arrays


def _check_values(name, group, values):
    """Refuse (never clip) a graded value outside the group's range, naming the first one."""
    low, high = group.value_range
    bad = np.argwhere((values < low) | (values > high))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        kind = "signed" if group.signed else "unsigned"
        raise NetworkError(
            f"input {name!r} has value {int(values[index])} at (step, batch, "
            f"line) = {index}; graded group {name!r} ({kind}, value_bits="
            f"{group.value_bits}) takes values between {low} and {high}"
        )


def effective_counts(network: Network, projection, counts, params) -> np.ndarray:
    """What multiplies the (shifted) weights of ``projection``: a graded input group's values
    as they are, any other source's counts capped at the smaller of the projection's
    ``count_cap`` and the target's ``input_count_cap`` (``docs/system.md``: the cap limits
    spikes, a graded value is one event)."""
    group = network.inputs.get(projection.source)
    if group is not None and group.graded:
        return counts
    caps = [cap for cap in (params.input_count_cap, projection.count_cap) if cap is not None]
    return np.minimum(counts, min(caps)) if caps else counts


def population_drive(network: Network, name: str, counts_of) -> np.ndarray:
    """Exact drive ``(batch, channels, size)`` of population ``name`` from
    ``counts_of(projection)`` (``(batch, source size)`` counts reaching it over that projection
    this step)."""
    population = network.populations[name]
    params = population.params
    drive = None
    for projection in network.projections_to(name):
        counts = effective_counts(network, projection, counts_of(projection), params)
        # |counts or values| <= 2^16, |shifted weights| <= 2^15 and at most 2^31 sources: the
        # sum fits int64.
        contribution = projection.drive(counts)
        if drive is None:
            drive = np.zeros(
                (counts.shape[0], params.input_channels, population.size), dtype=np.int64
            )
        drive[:, projection.channel, :] += contribution
    return drive


def event_order(network: Network, name: str) -> tuple:
    """The projections onto population ``name`` in the order a 'per_event' population adds
    their spikes within a step (``docs/system.md``, "Per-event accumulation"): by source,
    input groups then populations, each in declaration order; projections of one source by
    channel. Within a projection, source neurons (lines) in ascending index."""
    rank = {source: index for index, source in enumerate([*network.inputs, *network.populations])}
    return tuple(sorted(network.projections_to(name), key=lambda p: (rank[p.source], p.channel)))


def population_events(network: Network, name: str, counts_of):
    """The step's input of 'per_event' population ``name`` in its event order
    (:func:`event_order`): ``(counts (batch, axons), weights (channels, axons, size))`` with
    one axon per source neuron of each projection, the counts capped as in
    :func:`population_drive` and the weights shifted by each projection's ``weight_shift``
    (zero on the other channels), for :func:`neurohw.model.reference.step`'s spike form,
    which adds ``count`` times ``weight << input_shift`` axon by axon with the current's
    policy after every add."""
    population = network.populations[name]
    params = population.params
    counts, weights = [], []
    for projection in event_order(network, name):
        counts.append(effective_counts(network, projection, counts_of(projection), params))
        block = np.zeros(
            (params.input_channels, projection.weights.shape[0], population.size), dtype=np.int64
        )
        block[projection.channel] = projection.shifted_weights
        weights.append(block)
    if not counts:
        return None, None
    return np.concatenate(counts, axis=1), np.concatenate(weights, axis=1)


def _learning_states(network, batch, learning):
    states = {}
    given = dict(learning or {})
    keys = {p.key for p in network.plastic_projections}
    unknown = sorted(set(given) - keys)
    if unknown:
        raise NetworkError(
            f"learning names {unknown}, which are not plastic projections of "
            f"the network; plastic projections: {sorted(keys)}"
        )
    for projection in network.plastic_projections:
        key = projection.key
        if key in given:
            value = given[key]
            shape = (batch, *projection.weights.shape)
            if (
                not isinstance(value, STDPState)
                or value.weights.shape != shape
                or value.pre_trace.shape != shape[:2]
                or value.post_trace.shape != (batch, shape[2])
            ):
                raise NetworkError(
                    f"learning[{key!r}] must be an STDPState with weights of shape {shape}"
                )
            try:
                checked = initial_stdp_state(
                    projection.plasticity, value.weights, batch, synapses=projection.synapse_mask
                )
            except STDPError as error:
                raise NetworkError(f"learning[{key!r}]: {error}") from None
            states[key] = STDPState(
                checked.weights, value.pre_trace.astype(np.int64), value.post_trace.astype(np.int64)
            )
        else:
            states[key] = initial_stdp_state(
                projection.plasticity, projection.weights, batch, synapses=projection.synapse_mask
            )
    return states


def _learning_enabled(network, learn):
    keys = {p.key for p in network.plastic_projections}
    if learn is True:
        return keys
    if learn is False or learn is None:
        return set()
    chosen = set(map(tuple, learn))
    unknown = sorted(chosen - keys)
    if unknown:
        raise NetworkError(
            f"learn names {unknown}, which are not plastic projections of the "
            f"network; plastic projections: {sorted(keys)}"
        )
    return chosen


def simulate(
    network: Network,
    inputs,
    *,
    steps: int | None = None,
    record=("spikes",),
    state: dict | None = None,
    learning: dict | None = None,
    learn=True,
    snapshot_every: int | None = None,
    start_steps: dict | None = None,
) -> SystemTrace:
    """Run the network for ``steps`` (default: as many as the inputs have).

    ``state`` continues from an earlier run's ``final_state`` (spikes in flight from the last
    step of that run are not carried over: a run starts with none, as the chip does after its
    state is cleared; neither are delayed contributions still in the delay ring).

    Plastic projections (``docs/learning.md``): ``learning`` ``{(source, target, channel):
    STDPState}`` continues from an earlier run's ``trace.learning`` (default: the projection's
    weights for every batch element, zero traces); ``learn`` is True (every plastic projection
    learns), False (weights frozen, traces not updated) or a collection of projection keys;
    ``snapshot_every`` records the weights (``weight_snapshots``) and the traces
    (``trace_snapshots``) at the end of every that many steps.

    ``start_steps`` ``{population: s}``: the population's spikes of steps before ``s`` reach
    no population (they are recorded, and an output population's reach the host), and its
    neuron state is set back to its initial value at the start of step ``s`` (its delay ring
    is kept). This is how a chip runs a network with same-step projections, each population
    ``s`` steps late (:mod:`neurohw.network.timing`); populations not named start at step 0.
    """
    steps, batch, counts = check_inputs(network, inputs, steps)
    start_steps = _check_start_steps(network, start_steps)
    plastic = _learning_states(network, batch, learning)
    enabled = _learning_enabled(network, learn)
    if snapshot_every is not None and (
        isinstance(snapshot_every, bool)
        or not isinstance(snapshot_every, (int, np.integer))
        or snapshot_every < 1
    ):
        raise NetworkError(
            f"snapshot_every must be a positive integer or None, not {snapshot_every!r}"
        )
    record = check_record(record)
    if "spikes" not in record:
        record = ("spikes", *record)
    states = {}
    for name, population in network.populations.items():
        if state is not None and name in state:
            given = state[name]
            if not isinstance(given, NeuronState) or (given.batch, given.n_neurons) != (
                batch,
                population.size,
            ):
                raise NetworkError(
                    f"state[{name!r}] must be a NeuronState of batch {batch} "
                    f"and {population.size} neurons"
                )
            states[name] = given
        else:
            states[name] = initial_state(population.params, population.size, batch)

    def trace_for(what):
        if what not in record:
            return None
        out = {}
        for name, population in network.populations.items():
            reference = getattr(states[name], "v" if what == "spikes" else what)
            shape = (
                (steps, batch, population.params.n_currents, population.size)
                if what == "i"
                else (steps, batch, population.size)
            )
            dtype = np.int64 if what in ("spikes", "refractory") else reference.dtype
            out[name] = np.zeros(shape, dtype=dtype)
        return out

    traces = {what: trace_for(what) for what in ("spikes", "v", "i", "refractory")}
    previous = {
        name: np.zeros((batch, p.size), dtype=np.int64) for name, p in network.populations.items()
    }
    silent = dict(previous)  # zeros, never written
    # Populations whose projections are all static with delay 1 keep the original path.
    special = {
        name
        for name, p in network.populations.items()
        if any(q.plastic or q.largest_delay > 1 for q in network.projections_to(name))
    }
    # Delay ring per such target: slot (t + d - 1) mod D holds what acts in step t + d - 1.
    rings = {
        name: np.zeros(
            (
                network.populations[name].max_delay,
                batch,
                network.populations[name].params.input_channels,
                network.populations[name].size,
            ),
            dtype=np.int64,
        )
        for name in special
    }
    # Per projection onto a special target: [(d, weight mask of the synapses of delay d)].
    delay_masks = {}
    for projection in network.projections:
        if projection.target in special and projection.largest_delay > 1:
            mask = projection.synapse_mask
            delay_masks[projection.key] = [
                (int(d), mask & (projection.delays == d))
                for d in np.unique(projection.delays[mask])
            ]
    snapshots = {key: [] for key in plastic} if snapshot_every is not None and plastic else None
    trace_snapshots = {key: ([], []) for key in plastic} if snapshots is not None else None

    for t in range(steps):
        fired = {}

        def counts_of(projection, t=t, fired=fired, previous=previous):
            source = projection.source
            if source in counts:
                return counts[source][t]
            sent = t if projection.same_step else t - 1
            if sent < start_steps.get(source, 0):
                return silent[source]  # a source's spikes before its start are dropped
            return fired[source] if projection.same_step else previous[source]

        for name in network.step_order:
            population = network.populations[name]
            if start_steps.get(name) == t and t > 0:
                states[name] = initial_state(population.params, population.size, batch)
            if population.per_event:
                # Every spike is one add, in the network's event order.
                events, weights = population_events(network, name, counts_of)
                if events is None:
                    events = np.zeros((batch, 1), dtype=np.int64)
                    weights = np.zeros(
                        (population.params.input_channels, 1, population.size), dtype=np.int64
                    )
                step_input = StepInput(spikes=events, weights=weights)
            else:
                if name in special:
                    drive = _delayed_drive(
                        network, name, counts_of, plastic, delay_masks, rings[name], t
                    )
                else:
                    drive = population_drive(network, name, counts_of)
                if drive is None:
                    drive = np.zeros(
                        (batch, population.params.input_channels, population.size),
                        dtype=np.int64,
                    )
                step_input = StepInput(drive=drive)
            states[name], fired[name] = step(population.params, states[name], step_input)
            traces["spikes"][name][t] = fired[name]
            for what in ("v", "i", "refractory"):
                if traces[what] is not None:
                    traces[what][name][t] = getattr(states[name], what)
        # Learning, after every population has stepped: pre = the counts delivered in step t
        # (the drive above used the weights of the end of step t - 1), post = step t's spikes.
        for projection in network.plastic_projections:
            key = projection.key
            if key in enabled:
                plastic[key] = stdp_step(
                    projection.plasticity,
                    plastic[key],
                    counts_of(projection),
                    np.asarray(fired[projection.target]),
                    projection.synapse_mask,
                    check=False,
                )
            if snapshots is not None and (t + 1) % snapshot_every == 0:
                snapshots[key].append(plastic[key].weights.copy())
                trace_snapshots[key][0].append(plastic[key].pre_trace.copy())
                trace_snapshots[key][1].append(plastic[key].post_trace.copy())
        previous = {name: np.asarray(f, dtype=np.int64) for name, f in fired.items()}
    if snapshots is not None:
        snapshots = {
            key: (
                np.stack(v)
                if v
                else np.zeros((0, batch, *plastic[key].weights.shape[1:]), dtype=np.int64)
            )
            for key, v in snapshots.items()
        }

        def stacked(arrays, like):
            return np.stack(arrays) if arrays else np.zeros((0, *like.shape), dtype=np.int64)

        trace_snapshots = {
            key: (stacked(pre, plastic[key].pre_trace), stacked(post, plastic[key].post_trace))
            for key, (pre, post) in trace_snapshots.items()
        }
    return SystemTrace(
        spikes=traces["spikes"],
        v=traces["v"],
        i=traces["i"],
        refractory=traces["refractory"],
        final_state=states,
        learning=plastic or None,
        weight_snapshots=snapshots,
        trace_snapshots=trace_snapshots,
    )


def _delayed_drive(network, name, counts_of, plastic, delay_masks, ring, t):
    """Drive of step ``t`` for a target with delays or plastic inputs: every projection adds
    ``min(count, cap) * weight`` (the weights at the end of step ``t - 1``) into the ring slot
    of step ``t + d - 1``; then slot ``t`` is taken out and cleared."""
    population = network.populations[name]
    params = population.params
    depth = ring.shape[0]
    for projection in network.projections_to(name):
        counts = effective_counts(network, projection, counts_of(projection), params)
        if projection.plastic:
            weights = plastic[projection.key].weights  # (batch, S, T)
        else:
            weights = projection.shifted_weights  # (S, T)
        groups = delay_masks.get(projection.key)
        if groups is None:
            groups = [(1, None)]
        for d, mask in groups:
            w = weights if mask is None else np.where(mask, weights, 0)
            if w.ndim == 3:
                contribution = np.einsum("bs,bst->bt", counts, w)
            else:
                contribution = counts @ w
            ring[(t + d - 1) % depth, :, projection.channel, :] += contribution
    slot = t % depth
    drive = ring[slot].copy()
    ring[slot] = 0
    return drive


def _check_start_steps(network: Network, start_steps) -> dict:
    if start_steps is None:
        return {}
    if not isinstance(start_steps, dict):
        raise NetworkError(
            f"start_steps must be a dict of population name -> step, not "
            f"{type(start_steps).__name__}"
        )
    checked = {}
    for name, value in start_steps.items():
        if name not in network.populations:
            raise NetworkError(f"start_steps names {name!r}, which is not a population")
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise NetworkError(
                f"start_steps[{name!r}] must be a non-negative integer, not {value!r}"
            )
        checked[name] = int(value)
    return checked


def simulate_samples(
    network: Network,
    inputs,
    *,
    steps: int | None = None,
    record=("spikes",),
    learning: dict | None = None,
    learn=True,
    start_steps: dict | None = None,
) -> SystemTrace:
    """The chip's way through a batch: the samples one after another, each from cleared neuron
    state and an empty delay ring (as :func:`simulate` starts every batch element), while the
    plastic projections carry their weights and traces from one sample into the next (in
    :func:`simulate` every batch element learns on its own).

    Without plastic projections this equals :func:`simulate`. The result stacks the samples
    along the batch axis; ``learning`` and ``weights`` are the state after the last sample
    (batch 1).
    """
    samples = check_samples(network, inputs, steps)
    steps, batch = samples.steps, samples.batch
    traces = []
    carried = learning
    for k in range(batch):
        trace = simulate(
            network,
            samples.sample(k),
            steps=steps,
            record=record,
            learning=carried,
            learn=learn,
            start_steps=start_steps,
        )
        carried = trace.learning
        traces.append(trace)

    def stacked(what):
        if getattr(traces[0], what) is None:
            return None
        return {
            name: np.concatenate([getattr(t, what)[name] for t in traces], axis=1)
            for name in getattr(traces[0], what)
        }

    def joined(name, field):
        parts = [getattr(t.final_state[name], field) for t in traces]
        return None if parts[0] is None else np.concatenate(parts)

    final_state = {
        name: NeuronState(*(joined(name, field) for field in ("v", "i", "refractory", "pending")))
        for name in traces[0].final_state
    }
    return SystemTrace(
        spikes=stacked("spikes"),
        v=stacked("v"),
        i=stacked("i"),
        refractory=stacked("refractory"),
        final_state=final_state,
        learning=carried,
    )
