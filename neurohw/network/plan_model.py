"""The plan-level model: the chip of a :class:`~neurohw.network.plan.ChipPlan`, event by event.

It computes what the mapped chip does as ``docs/system.md`` describes it, independently of
:func:`neurohw.network.system.simulate` (which works on populations and never sees cores, keys or
routes): the host's stream is encoded with :mod:`.host_events` and read back window by window;
every event goes through ``plan.routing.deliveries`` to its target endpoints; each core turns
the keys it receives into axon counts through its axon blocks, advances with
:func:`neurohw.model.reference.step` in its definitional form (``StepInput(spikes=counts,
weights=core.weights)``, the core's own weight slice) and sends its spikes back as events.
Samples run back to back as on the chip: the end-of-sample control event arms every core's
ingress, which drops (and counts) the core-to-core spikes of the sample's last window and
clears the core's state and its delay ring before that window's events.

A core with delays keeps its own ring of drives (``docs/learning.md`` section 3, indexed by the
core's step number since reset); a core with STDP learns on its own weight slice with one pre
trace per axon and one post trace per neuron, and keeps weights and traces from one sample to
the next.

Tests check that this equals :func:`~neurohw.network.system.simulate_samples` (and, without
learning, :func:`~neurohw.network.system.simulate`) bit for bit, which checks the mapping; the
hardware is then checked against either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.reference import StepInput, initial_state, step
from ..model.stdp import STDPState, stdp_step
from ..routing import EventKind
from .host_events import encode_samples
from .plan import ChipPlan
from .system import check_inputs, check_samples

__all__ = [
    "PlanTrace",
    "PlanModelError",
    "simulate_plan",
    "ActivityCounters",
    "predict_activity_counters",
    "predict_activity_snapshots",
    "snapshot_word_ends",
]


class PlanModelError(RuntimeError):
    """The plan breaks its own contract while running (a mapping bug): an event for a key no
    axon block holds, or more events in a step than a core's ``max_events_per_step``."""


@dataclass(frozen=True)
class PlanTrace:
    """What :func:`simulate_plan` recorded for ``samples`` samples of ``steps`` steps run back to
    back (global step ``g = k * steps + t`` for sample ``k``, window ``w`` carries the spikes of
    step ``w``; windows run from -1 to ``k * steps - 1``, index ``w + 1`` below).

    * ``spikes[population]``: (steps, samples, size) spike counts;
    * ``v[core]``, ``refractory[core]``: (steps, samples, n_neurons); ``i[core]``: (steps,
      samples, n_currents, n_neurons): each core's state at the end of each step;
    * ``host_output[g]``: frozenset of ``(key, count)`` the host receives in window ``g``;
    * ``window_events``: (windows,) spike and control events injected into the network per
      window (host and cores, once per event however many targets it has);
    * ``core_events_in``: (n_cores, windows) events delivered to each core (spikes and control,
      including those its ingress drops); ``host_events_in``: (windows,);
    * ``core_events_dropped``: (n_cores, samples) core-to-core spikes each core's ingress dropped
      in the last window of each sample;
    * ``unrouted_spikes``: (n_cores,) spikes of neurons whose key reaches nothing (not sent);
    * ``synaptic_ops``: (n_cores, samples * steps): per core and global step, the sum over axons
      of ``min(count, cap) * fan-out`` (non-zero weights on any channel; a graded axon with a
      non-zero value counts its fan-out once: one multiply-add per synapse);
    * ``events_per_step``: (n_cores, samples * steps) axon events applied (after the cap; a
      graded value is one event, and ``max_events_per_step`` bounds its ``|value|``);
    * ``weights``: ``{core: (channels, n_axons, n_neurons)}`` the final weights of every core
      with STDP.
    """

    steps: int
    samples: int
    spikes: dict
    v: dict
    i: dict
    refractory: dict
    host_output: tuple
    window_events: np.ndarray
    core_events_in: np.ndarray
    host_events_in: np.ndarray
    core_events_dropped: np.ndarray
    unrouted_spikes: np.ndarray
    synaptic_ops: np.ndarray
    events_per_step: np.ndarray
    weights: dict | None = None

    @property
    def total_synaptic_ops(self) -> int:
        return int(self.synaptic_ops.sum())


def _host_windows(plan: ChipPlan, words, first_window: int, n_windows: int) -> list:
    """Split the host's stream into the events of windows ``first_window ..``, checking tags."""
    fmt = plan.fmt
    modulus = 1 << fmt.step_width
    windows, current = [], []
    for word in words:
        event = fmt.unpack(word)
        window = first_window + len(windows)
        if event.step != window % modulus:
            raise PlanModelError(
                f"host event {event!r} in window {window} has tag "
                f"{event.step}, expected {window % modulus}"
            )
        if event.kind == EventKind.BARRIER:
            windows.append(current)
            current = []
        else:
            current.append(event)
    if current or len(windows) != n_windows:
        raise PlanModelError(f"the host stream has {len(windows)} windows, expected {n_windows}")
    return windows


def simulate_plan(plan: ChipPlan, inputs, *, samples=None, steps: int | None = None) -> PlanTrace:
    """Run the chip of ``plan`` on a batch, one sample after another.

    ``inputs``: ``{group: counts (steps, batch, size) or (steps, size)}``, every input group
    given (as :func:`neurohw.network.system.simulate` takes them), in the chip's own timing:
    for a plan with ``start_steps`` (same-step projections) each sample's inputs followed by
    ``plan.flush_steps`` zero steps (:func:`neurohw.network.timing.pad_inputs`), and the result
    is ``simulate_samples(plan.network, ..., start_steps=plan.start_steps)``; ``samples``: the batch
    indices to run, in that order (default: all); ``steps``: needed only without input groups
    (then the batch is one sample).
    """
    network = plan.network
    start_steps = plan.start_steps
    checked = check_samples(network, inputs, steps)
    steps, batch = checked.steps, checked.batch
    order = list(range(batch)) if samples is None else [int(k) for k in samples]
    for k in order:
        if not 0 <= k < batch:
            raise IndexError(f"sample {k} is not in the batch of {batch}")
    n_samples = len(order)
    if n_samples == 0:
        raise ValueError("samples is empty: nothing to run")
    selected = checked.select(order)
    total = n_samples * steps
    n_windows = total + 1  # windows -1 .. total - 1
    host = plan.host
    n_cores = plan.n_cores
    fmt = plan.fmt
    deliveries = plan.routing.deliveries
    tick = plan.tick_key(host)

    host_windows = _host_windows(plan, encode_samples(plan, selected, steps=steps), -1, n_windows)

    # Each core's view: its blocks, its fan-out, its state.
    fanout = [
        core.conv[0].fan_out(core.conv[1])
        if core.conv is not None
        else np.count_nonzero(np.any(core.weights != 0, axis=0), axis=1)
        for core in plan.cores
    ]
    states = [initial_state(core.params, core.n_neurons, 1) for core in plan.cores]
    armed = [False] * n_cores  # end-of-sample seen in the previous window
    rings = [
        _CoreRing(core) if core.max_delay > 1 or core.stdp is not None else None
        for core in plan.cores
    ]

    spikes = {
        name: np.zeros((steps, n_samples, p.size), dtype=np.int64)
        for name, p in network.populations.items()
    }
    v, cur, refr = {}, {}, {}
    for core in plan.cores:
        v[core.index] = np.zeros(
            (steps, n_samples, core.n_neurons), dtype=states[core.index].v.dtype
        )
        cur[core.index] = np.zeros(
            (steps, n_samples, core.params.n_currents, core.n_neurons),
            dtype=states[core.index].i.dtype,
        )
        refr[core.index] = np.zeros((steps, n_samples, core.n_neurons), dtype=np.int64)
    host_output = []
    window_events = np.zeros(n_windows, dtype=np.int64)
    core_events_in = np.zeros((n_cores, n_windows), dtype=np.int64)
    host_events_in = np.zeros(n_windows, dtype=np.int64)
    dropped = np.zeros((n_cores, n_samples), dtype=np.int64)
    unrouted = np.zeros(n_cores, dtype=np.int64)
    sops = np.zeros((n_cores, total), dtype=np.int64)
    applied = np.zeros((n_cores, total), dtype=np.int64)

    # Window -1 has the host's events only; each later window also the cores' spikes.
    core_spikes = []  # (source endpoint, key, count) of the current window
    for w in range(-1, total):
        # 1. Route every event of window w to its endpoints.
        inbox = [[] for _ in range(n_cores + 1)]
        for event in host_windows[w + 1]:
            targets = deliveries.get(event.key)
            if not targets:
                raise PlanModelError(f"the host sent key {event.key:#x}, which routes nowhere")
            window_events[w + 1] += 1
            count = event.payload if fmt.payload_width else 1
            for target in targets:
                inbox[target].append((host, event.kind, event.key, count))
        for source, key, count in core_spikes:
            window_events[w + 1] += 1
            for target in deliveries[key]:
                inbox[target].append((source, EventKind.SPIKE, key, count))
        received = set()
        for _, _kind, key, count in inbox[host]:
            host_events_in[w + 1] += 1
            received.add((key, count))
        if w >= 0:
            host_output.append(frozenset(received))

        # 2. Each core's ingress, then (on barrier w) its step w + 1.
        g = w + 1
        sample, t = divmod(g, steps)
        core_spikes = []
        for core in plan.cores:
            c = core.index
            axon_counts = np.zeros(core.n_axons, dtype=np.int64)
            graded = np.zeros(core.n_axons, dtype=bool)
            arm_next = False
            for source, kind, key, count in inbox[c]:
                core_events_in[c, w + 1] += 1
                if kind == EventKind.CONTROL:
                    if key != tick:
                        raise PlanModelError(
                            f"core {c} received a control event with key "
                            f"{key:#x}; only the host's tick key is one"
                        )
                    arm_next = True
                    continue
                if armed[c] and source != host:
                    dropped[c, (w + 1) // steps - 1] += 1
                    continue
                if source != host and w % steps < start_steps.get(plan.cores[source].population, 0):
                    # A skewed source's spikes before its start step reach no core.
                    dropped[c, w // steps] += 1
                    continue
                block = _block_of(core, key)
                if block is None:
                    raise PlanModelError(
                        f"core {c} received key {key:#x} in window {w}, which "
                        f"no axon block of it holds"
                    )
                axon = block.axon_of(key)
                if block.graded:
                    # The ingress reads the payload as the value (two's complement when
                    # signed) and passes it on in one event, not expanded; only an unsigned
                    # (population) block has a cap, applied below as to a count, and the
                    # core does not cap a value (the mapper folds input_count_cap into it).
                    graded[axon] = True
                    if block.signed and count >> (fmt.payload_width - 1):
                        count -= 1 << fmt.payload_width
                if block.count_cap is not None:
                    # The ingress clamps the count to its block's cap before expanding it.
                    count = min(count, block.count_cap)
                axon_counts[axon] += count
            if armed[c]:
                states[c] = initial_state(core.params, core.n_neurons, 1)
                if rings[c] is not None:
                    rings[c].clear()
            armed[c] = arm_next
            if g >= total:
                continue
            if t and t == start_steps.get(core.population):
                # A skewed population starts here: what it integrated before is cleared (its
                # delay ring is kept), as the core's ingress does after the step before.
                states[c] = initial_state(core.params, core.n_neurons, 1)
            capped = axon_counts
            if core.params.input_count_cap is not None:
                capped = np.where(
                    graded, axon_counts, np.minimum(axon_counts, core.params.input_count_cap)
                )
            # A graded event is one event and one synaptic operation per synapse (one
            # multiply-add), but |value| weight units for the accumulator's bound.
            events = np.where(graded, capped != 0, capped)
            applied[c, g] = int(events.sum())
            units = int(np.abs(capped).sum())
            if units > core.max_events_per_step:
                raise PlanModelError(
                    f"core {c} applied {units} events in step {g}, more than "
                    f"its max_events_per_step={core.max_events_per_step} (a "
                    f"graded event counts as |value|)"
                )
            sops[c, g] = int(events @ fanout[c])
            if core.conv is not None:
                # A convolution core: its kernel's correlation, the sum its dense lowering
                # gives (one current, no cap, spikes only: mapping.py's conditions).
                drive = core.conv[0].apply(core.conv[1], capped)
                states[c], fired = step(
                    core.params, states[c], StepInput(drive=drive[np.newaxis, np.newaxis])
                )
                fired = np.asarray(fired, dtype=np.int64)[0]
            elif graded.any() and rings[c] is None:
                # reference.step's spike form takes counts only; the drive form is the same
                # sum, with the values as they are and the counts capped.
                drive = np.einsum("a,can->cn", capped, core.weights.astype(np.int64))
                states[c], fired = step(core.params, states[c], StepInput(drive=drive[np.newaxis]))
                fired = np.asarray(fired, dtype=np.int64)[0]
            elif rings[c] is None:
                states[c], fired = step(
                    core.params,
                    states[c],
                    StepInput(spikes=axon_counts[np.newaxis, :], weights=core.weights),
                )
                fired = np.asarray(fired, dtype=np.int64)[0]
            else:
                states[c], fired = step(
                    core.params, states[c], StepInput(drive=rings[c].drive(g, capped))
                )
                fired = np.asarray(fired, dtype=np.int64)[0]
                rings[c].learn(axon_counts, fired)
            spikes[core.population][t, sample, core.neuron_start : core.neuron_stop] = fired
            v[c][t, sample] = states[c].v[0]
            cur[c][t, sample] = states[c].i[0]
            refr[c][t, sample] = states[c].refractory[0]
            for j in np.flatnonzero(fired):
                key = plan.neuron_key(c, int(j))
                if deliveries.get(key):
                    core_spikes.append((c, key, int(fired[j])))
                else:
                    unrouted[c] += 1

    return PlanTrace(
        steps=steps,
        samples=n_samples,
        spikes=spikes,
        v=v,
        i=cur,
        refractory=refr,
        host_output=tuple(host_output),
        window_events=window_events,
        core_events_in=core_events_in,
        host_events_in=host_events_in,
        core_events_dropped=dropped,
        unrouted_spikes=unrouted,
        synaptic_ops=sops,
        events_per_step=applied,
        weights={
            core.index: rings[core.index].weights for core in plan.cores if core.stdp is not None
        }
        or None,
    )


def _block_of(core, key):
    """The axon block of ``core`` that holds ``key``, or ``None``."""
    for block in core.axon_blocks:
        if block.axon_of(key) is not None:
            return block
    return None


class _CoreRing:
    """One core's delay ring of drives and, with STDP, its learning weights and traces."""

    def __init__(self, core):
        self.core = core
        self.ring = np.zeros(
            (core.max_delay, core.params.input_channels, core.n_neurons), dtype=np.int64
        )
        self.weights = core.weights.astype(np.int64).copy()
        delays = core.delays if core.delays is not None else np.ones_like(self.weights)
        # Every synapse that can carry a non-zero weight, by its delay (0 counts as 1).
        present = (self.weights != 0) | (core.plastic if core.plastic is not None else False)
        delays = np.maximum(delays, 1)
        self.by_delay = [(int(d), present & (delays == d)) for d in np.unique(delays[present])]
        self.pre_trace = np.zeros((1, core.n_axons), dtype=np.int64)
        self.post_trace = np.zeros((1, core.n_neurons), dtype=np.int64)

    def clear(self):
        self.ring[:] = 0

    def drive(self, g, capped):
        """Add this step's contributions (with the current weights) and take slot ``g``."""
        depth = self.ring.shape[0]
        for d, mask in self.by_delay:
            for channel in range(self.weights.shape[0]):
                self.ring[(g + d - 1) % depth, channel] += capped @ np.where(
                    mask[channel], self.weights[channel], 0
                )
        slot = g % depth
        drive = self.ring[slot].copy()
        self.ring[slot] = 0
        return drive[np.newaxis]

    def learn(self, axon_counts, fired):
        rule = self.core.stdp
        if rule is None:
            return
        pre, post = axon_counts[np.newaxis], fired[np.newaxis]
        new = None
        for channel in range(self.weights.shape[0]):
            new = stdp_step(
                rule,
                STDPState(self.weights[channel][np.newaxis], self.pre_trace, self.post_trace),
                pre,
                post,
                self.core.plastic[channel],
            )
            self.weights[channel] = new.weights[0]
        self.pre_trace, self.post_trace = new.pre_trace, new.post_trace


#: Width of the chip's activity counters (``neurohw.hw.core_config.ACTIVITY_COUNTER_WIDTH``):
#: each saturates at ``2**ACTIVITY_COUNTER_WIDTH - 1``.
ACTIVITY_COUNTER_WIDTH = 32


@dataclass(frozen=True)
class ActivityCounters:
    """Activity of a whole run (reset, the samples one after another, the final clearing step)
    as the chip's activity counters count it (``docs/system-hardware.md``, "Activity
    counters"), unsaturated.

    * ``cores``: per core, ``{ActivityStatus name: count}``: ``APPLIED_EVENTS``,
      ``SYNAPTIC_OPS`` (read-modify-write words: ``lane_depth`` per applied event on a dense
      core, the fan-out on a sparse one), ``NEURON_UPDATES``, ``SPIKES_OUT``;
    * ``host_words_in``, ``host_words_out``: words through the host port;
    * ``router_hops``: events (spikes and control words, not barriers) that left a router
      output, over every router (:func:`event_hops` per event);
    * ``cycles``: what the RTL's cycle counter read from the first host word to the last
      sample's final barrier on ``host_out`` (``None`` in a prediction: the bench compares
      it with its own count; not compared by ``==``).

    Memory accesses follow from these where the datapath makes them exact
    (:meth:`memory_accesses`)."""

    cores: tuple
    host_words_in: int
    host_words_out: int
    router_hops: int = 0
    cycles: int | None = field(default=None, compare=False)

    def saturated(self, width: int = ACTIVITY_COUNTER_WIDTH) -> ActivityCounters:
        """The values the counters read: each at most ``2**width - 1``."""
        top = (1 << width) - 1
        return ActivityCounters(
            cores=tuple({name: min(v, top) for name, v in core.items()} for core in self.cores),
            host_words_in=min(self.host_words_in, top),
            host_words_out=min(self.host_words_out, top),
            router_hops=min(self.router_hops, top),
            cycles=None if self.cycles is None else min(self.cycles, top),
        )

    def memory_accesses(self, plan: ChipPlan) -> list:
        """Per core, ``{weight_reads, accumulator_updates, state_reads, state_writes}`` derived
        from the counts and the core's datapath (``docs/energy.md``): each read-modify-write
        word reads one weight word per lane (dense; one synapse word, sparse) and channel and
        updates one accumulator word per lane and channel; each neuron update reads and writes
        every state word of the neuron (membrane, currents, refractory counter, one accumulator
        per channel)."""
        from ..hw.system import core_config

        out = []
        for core, counts in zip(plan.cores, self.cores):
            config = core_config(plan, core)
            params = core.params
            channels = params.input_channels
            per_word = channels * (config.lanes if config.connectivity == "dense" else 1)
            words = 1 + params.n_currents + (1 if params.refractory_period else 0) + channels
            out.append(
                {
                    "weight_reads": counts["SYNAPTIC_OPS"] * per_word,
                    "accumulator_updates": counts["SYNAPTIC_OPS"] * per_word,
                    "state_reads": counts["NEURON_UPDATES"] * words,
                    "state_writes": counts["NEURON_UPDATES"] * words,
                }
            )
        return out

    def __sub__(self, other: ActivityCounters) -> ActivityCounters:
        """The activity between two reads of the counters (``self`` the later): what the chip
        did in between, e.g. one sample (:func:`predict_activity_snapshots`); ``cycles`` the
        difference where both have one."""
        if not isinstance(other, ActivityCounters):
            return NotImplemented
        return ActivityCounters(
            cores=tuple(
                {name: a[name] - b[name] for name in a} for a, b in zip(self.cores, other.cores)
            ),
            host_words_in=self.host_words_in - other.host_words_in,
            host_words_out=self.host_words_out - other.host_words_out,
            router_hops=self.router_hops - other.router_hops,
            cycles=None
            if self.cycles is None or other.cycles is None
            else self.cycles - other.cycles,
        )

    @classmethod
    def from_dict(cls, read: dict) -> ActivityCounters:
        """The inverse of :meth:`as_dict` (e.g. what a testbench read)."""
        return cls(
            cores=tuple(dict(core) for core in read["cores"]),
            host_words_in=read["host_words_in"],
            host_words_out=read["host_words_out"],
            router_hops=read["router_hops"],
            cycles=read.get("cycles"),
        )

    def as_dict(self) -> dict:
        return {
            "cores": [dict(core) for core in self.cores],
            "host_words_in": self.host_words_in,
            "host_words_out": self.host_words_out,
            "router_hops": self.router_hops,
            "cycles": self.cycles,
        }


def event_hops(plan: ChipPlan, source: int, key: int) -> int:
    """Router outputs an event (a spike or control word) with ``key`` sent by endpoint
    ``source`` (a core or ``plan.host``) leaves, along its multicast tree in
    ``plan.routing``: in a star, one per destination port; in a mesh, every link and local port
    of the X-then-Y tree, each once however many destinations lie beyond it (0 where a
    router drops it)."""
    from ..routing import DROP, EAST, LOCAL, NORTH, SOUTH, WEST, StarTopology

    routers = plan.routing.routers
    topology = plan.topology
    if isinstance(topology, StarTopology):
        ports = routers[0].table.route(key)
        return 0 if ports is DROP else len(ports)
    step = {EAST: (1, 0), WEST: (-1, 0), NORTH: (0, 1), SOUTH: (0, -1)}
    hops = 0
    pending = [topology.cores[source]]
    visited = 0
    while pending:
        x, y = pending.pop()
        visited += 1
        if visited > len(routers):
            raise RuntimeError(f"key {key} from endpoint {source} loops in the mesh")
        ports = routers[topology.router_index(x, y)].table.route(key)
        if ports is DROP:
            continue
        for port in sorted(ports):
            hops += 1
            if port != LOCAL:
                dx, dy = step[port]
                pending.append((x + dx, y + dy))
    return hops


def predict_activity_counters(plan: ChipPlan, inputs, *, steps: int | None = None):
    """The :class:`ActivityCounters` of a run of ``inputs`` (as :func:`simulate_plan` takes
    them) on ``plan``'s chip, from reset: every sample, then the step every core runs after the
    final clear (from the initial state, without input: its spikes leave the cores, and those of
    output populations reach the host in the last window)."""
    from ..hw.system import core_config

    trace = simulate_plan(plan, inputs, steps=steps)
    run_steps, batch, counts = check_inputs(plan.network, inputs, steps)
    zeros = {name: np.zeros((1, 1, c.shape[2]), dtype=np.int64) for name, c in counts.items()}
    final = simulate_plan(plan, zeros, steps=1)
    sweeps = trace.samples * trace.steps + 1
    cores = []
    for core in plan.cores:
        c = core.index
        config = core_config(plan, core)
        applied = int(trace.events_per_step[c].sum())
        if config.connectivity == "dense":
            rmw_words = applied * config.lane_depth
        else:
            rmw_words = int(trace.synaptic_ops[c].sum())
        part = slice(core.neuron_start, core.neuron_stop)
        spikes_out = int(np.count_nonzero(trace.spikes[core.population][:, :, part]))
        spikes_out += int(np.count_nonzero(final.spikes[core.population][:, :, part]))
        cores.append(
            {
                "APPLIED_EVENTS": applied,
                "SYNAPTIC_OPS": rmw_words,
                "NEURON_UPDATES": core.n_neurons * sweeps,
                "SPIKES_OUT": spikes_out,
            }
        )
    outputs = sum(len(window) for window in trace.host_output)
    outputs += len(final.host_output[0])
    barriers = trace.samples * trace.steps + 2  # -1 .. samples * steps
    host_words = encode_samples(plan, counts, steps=run_steps)
    # Router hops: every spike of every core (the run's and the final step's) and every host
    # word that is not a barrier, each along its tree.
    hops = 0
    K = plan.keys_per_endpoint
    for core in plan.cores:
        part = slice(core.neuron_start, core.neuron_stop)
        per_neuron = np.count_nonzero(trace.spikes[core.population][:, :, part], axis=(0, 1))
        per_neuron += np.count_nonzero(final.spikes[core.population][:, :, part], axis=(0, 1))
        for j, count in enumerate(per_neuron):
            if count:
                hops += int(count) * event_hops(plan, core.index, core.index * K + j)
    for word in host_words:
        event = plan.fmt.unpack(int(word))
        if event.kind != EventKind.BARRIER:
            hops += event_hops(plan, plan.host, event.key)
    return ActivityCounters(
        cores=tuple(cores),
        host_words_in=len(host_words),
        host_words_out=outputs + barriers,
        router_hops=hops,
    )


def predict_activity_snapshots(plan: ChipPlan, inputs, *, steps: int | None = None) -> tuple:
    """The chip's activity counters between samples (``docs/system-hardware.md``, "Activity
    counters"), one :class:`ActivityCounters` per sample: what they read when the host has sent
    every word of samples ``0 .. k`` up to the barrier that closes sample ``k``'s next-to-last
    window (:func:`snapshot_word_ends`), holds the rest, and sample ``k``'s last window has left
    ``host_out``. Each is a run of samples ``0 .. k`` (:func:`predict_activity_counters`) less
    what the end of such a run adds after that point: the host's final barrier, one sweep per
    core from the cleared state and its spikes, their hops and output words, and the final
    window's barrier. Consecutive differences (``later - earlier``) are each sample's own
    activity; the last snapshot plus that tail is the whole run's."""
    run_steps, batch, counts = check_inputs(plan.network, inputs, steps)
    zeros = {name: np.zeros((1, 1, c.shape[2]), dtype=np.int64) for name, c in counts.items()}
    final = simulate_plan(plan, zeros, steps=1)
    cores, hops = [], 0
    K = plan.keys_per_endpoint
    for core in plan.cores:
        part = slice(core.neuron_start, core.neuron_stop)
        fired = np.count_nonzero(final.spikes[core.population][:, :, part], axis=(0, 1))
        cores.append(
            {
                "APPLIED_EVENTS": 0,
                "SYNAPTIC_OPS": 0,
                "NEURON_UPDATES": core.n_neurons,
                "SPIKES_OUT": int(fired.sum()),
            }
        )
        for j, count in enumerate(fired):
            if count:
                hops += int(count) * event_hops(plan, core.index, core.index * K + j)
    tail = ActivityCounters(
        cores=tuple(cores),
        host_words_in=1,
        host_words_out=len(final.host_output[0]) + 1,
        router_hops=hops,
    )
    return tuple(
        predict_activity_counters(
            plan, {name: c[:, : k + 1] for name, c in counts.items()}, steps=run_steps
        )
        - tail
        for k in range(batch)
    )


def snapshot_word_ends(plan: ChipPlan, words, steps: int) -> list:
    """Per sample, the index in the host's words (``encode_samples``) after the barrier that
    closes its next-to-last window (window ``(k + 1) * steps - 2``): where the host holds for
    a snapshot (:func:`predict_activity_snapshots`). The words after the last one are the
    final barrier."""
    ends, barriers = [], 0
    for index, word in enumerate(words):
        if plan.fmt.unpack(int(word)).kind == EventKind.BARRIER:
            barriers += 1
            if barriers % steps == 0:
                ends.append(index + 1)
    return ends[: (barriers - 1) // steps]
