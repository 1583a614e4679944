"""Mapping a :class:`~neurohw.network.Network` onto neuron cores: partition, axon maps, keys,
event format, connectivity, topology and routing tables (``docs/system.md``, "Mapping").

:func:`map_network` returns a :class:`~neurohw.network.plan.ChipPlan`. The decisions, in order:

1. **Partition.** Each population is cut into ``n`` consecutive, near-equal neuron ranges
   (range ``i`` is ``[i * size // n, (i + 1) * size // n)``), one core each; a core never holds
   two populations. ``n`` starts at ``ceil(size / capacity.max_neurons)`` and grows until every
   core of the population fits :class:`CoreCapacity` (axons, weight-memory bits, synapses).
   Since a core's axons depend on how its sources are split, this is repeated over all
   populations until no count changes (counts only grow, so it ends).
2. **Axon blocks.** A core receives, from each source core (or input group) with a non-zero
   weight onto one of its neurons (any channel), **one** block: the run of consecutive source
   neurons from the first to the last one with such a weight (the *needed range*, not the whole
   source core). Blocks are numbered input groups first (in network order), then source
   populations' cores (populations in network order, each one's cores in order), so ascending
   axons are the network's event order of a 'per_event' population
   (:func:`neurohw.network.system.event_order`). A core nothing projects onto gets one unused axon with
   zero weights and no block (a core has at least one axon).
3. **Events per step.** ``max_events_per_step`` = sum over blocks of ``count * min(source
   max count, input_count_cap, the block's count_cap)`` (``count * max |value|`` for a graded
   input group): the most weight units the core's accumulator can receive in a step. With
   ``graded_spikes=True`` a population's block that can carry more than one spike per step onto
   a 'sum' population that does not learn is graded: one event per (neuron, step), its value
   the count clamped by the block's cap (which then includes the target's ``input_count_cap``),
   and the same bound. The cores
   store the projections' shifted weights (``weight << weight_shift``) and a block carries the
   projections' ``count_cap`` for the ingress (``docs/system.md`` "Per-projection shift and
   cap").
4. **Keys.** ``keys_per_endpoint`` K is the smallest power of two above every core's neuron
   count and above the host's total input lines (key ``K - 1`` of each endpoint is its tick key).
   Input groups take consecutive host keys in network order (``input_offsets``).
5. **Event format.** Key width: bits of ``(n_cores + 1) * K - 1`` (or ``key_width``, checked);
   payload width: bits of the largest count a source that sends events can send (0 when all
   are 1), and at least ``value_bits`` of every graded input group that sends events.
6. **Connectivity.** A neuron's (or input line's) key goes to every core where it has a non-zero
   weight, plus the host for output populations; keys that reach nothing are left out (the
   sender must not send them). Host tick key -> every core; each core's tick key -> host.
7. **Topology.** ``"auto"``: a star (one crossbar router) for up to 32 endpoints, else a
   near-square mesh (``width = ceil(sqrt(E))``) with the host at (0, 0) and core ``c`` at
   row-major position ``c + 1``. Routing is compiled by :func:`neurohw.routing.compile_star` /
   :func:`~neurohw.routing.compile_mesh`.

Anything that does not fit raises :class:`MappingError`, naming the parameter, the value and what
would fit.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..model.params import Accumulation, InputTiming
from ..routing import (
    MAX_TABLE_ENTRIES,
    EventFormat,
    MeshTopology,
    RoutingError,
    StarTopology,
    compile_mesh,
    compile_star,
)
from .graph import Network
from .plan import AxonBlock, ChipPlan, CorePlan
from .timing import skew

__all__ = [
    "CoreCapacity",
    "MappingError",
    "map_network",
    "weight_memory_bits",
    "CORE_MAX_NEURONS",
    "CORE_MAX_AXONS",
    "CORE_MAX_LANES",
    "CONV_CORE_MAX_NEURONS",
    "CONV_CORE_MAX_AXONS",
    "STAR_MAX_ENDPOINTS",
    "MESH_MAX_SIDE",
    "MAX_KEY_WIDTH",
]

#: Limits of :class:`neurohw.hw.core.NeuronCore` (repeated here so that mapping does not import
#: the hardware; a test checks they agree).
CORE_MAX_NEURONS = 4096
CORE_MAX_AXONS = 65536
CORE_MAX_LANES = 64
#: Limits of :class:`neurohw.hw.conv_core.ConvCore` (output neurons, input positions).
CONV_CORE_MAX_NEURONS = 1 << 16
CONV_CORE_MAX_AXONS = 1 << 16
#: A star is one router with a port per endpoint; the router has at most 32 ports.
STAR_MAX_ENDPOINTS = 32
#: Largest mesh side :func:`neurohw.routing.compile_mesh` accepts.
MESH_MAX_SIDE = 64
#: Widest key of :class:`neurohw.routing.EventFormat`.
MAX_KEY_WIDTH = 32


class MappingError(ValueError):
    """A network that cannot be mapped as asked; the message names the parameter, the value
    and what would fit."""


def _check_int(name, value, low, high=None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise MappingError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high}"
        raise MappingError(f"{name} must be {allowed}, not {value}")
    return value


@dataclass(frozen=True)
class CoreCapacity:
    """What one neuron core may hold.

    The defaults size one core that fits, with room for routers and the host port, in an
    ECP5-85F-class FPGA (208 block RAMs of 18 Kbit, 3.7 Mbit in all):

    * ``max_neurons = 256``: neurons per core (the hardware allows up to 4096);
    * ``max_axons = 1024``: input axons per core (hardware: up to 65536);
    * ``max_weight_bits = 2**21`` (2 Mbit, 114 block RAMs): the core's weight memory, as
      :func:`weight_memory_bits` counts it; 256 neurons x 1024 axons of 8-bit weights on one
      channel exactly fill it, so two channels or 16-bit weights split a population further;
    * ``max_synapses = None``: non-zero (axon, neuron) pairs per core, unlimited by default (the
      weight-memory bound already limits them); set it to model a synapse-list budget.
    * ``max_conv_neurons = 4096``: output neurons of one convolution core (its neuron-state
      memories, about 100 bits a neuron: 4096 fill some 23 block RAMs); a convolution
      core's kernel (``out_channels x C x Kh x Kw`` weights) counts against
      ``max_weight_bits``, and its input map (axons) against :data:`CONV_CORE_MAX_AXONS`
      only, since it stores no per-axon weights.
    """

    max_neurons: int = 256
    max_axons: int = 1024
    max_weight_bits: int = 1 << 21
    max_synapses: int | None = None
    max_conv_neurons: int = 4096

    def __post_init__(self):
        object.__setattr__(
            self,
            "max_neurons",
            _check_int("capacity max_neurons", self.max_neurons, 1, CORE_MAX_NEURONS),
        )
        object.__setattr__(
            self, "max_axons", _check_int("capacity max_axons", self.max_axons, 1, CORE_MAX_AXONS)
        )
        object.__setattr__(
            self, "max_weight_bits", _check_int("capacity max_weight_bits", self.max_weight_bits, 1)
        )
        if self.max_synapses is not None:
            object.__setattr__(
                self, "max_synapses", _check_int("capacity max_synapses", self.max_synapses, 1)
            )
        object.__setattr__(
            self,
            "max_conv_neurons",
            _check_int(
                "capacity max_conv_neurons", self.max_conv_neurons, 1, CONV_CORE_MAX_NEURONS
            ),
        )


def _bits(value: int) -> int:
    """Bits of an unsigned field holding 0..value (at least 1)."""
    return max(1, int(value).bit_length())


def weight_memory_bits(
    connectivity: str,
    *,
    channels: int,
    n_axons: int,
    n_neurons: int,
    n_synapses: int,
    weight_width: int,
    lanes: int = 1,
) -> int:
    """Bits of a core's synapse memories (``docs/core.md``, "Banking" and "Event phase"):

    * ``"dense"``: ``channels * n_axons * lanes * ceil(n_neurons / lanes) * weight_width``;
    * ``"sparse"``: the fan-out table, ``n_axons * (bits(S) + bits(n_neurons))``, plus per synapse
      a target neuron and a weight per channel, ``S * (bits(n_neurons - 1) + channels *
      weight_width)``, with ``S = n_synapses``.
    """
    if connectivity == "dense":
        return channels * n_axons * lanes * -(-n_neurons // lanes) * weight_width
    if connectivity == "sparse":
        return n_axons * (_bits(n_synapses) + _bits(n_neurons)) + n_synapses * (
            _bits(n_neurons - 1) + channels * weight_width
        )
    raise ValueError(f"connectivity must be 'dense' or 'sparse', not {connectivity!r}")


def _signed_bits(values: np.ndarray) -> int:
    """Bits of the narrowest two's-complement width that holds every value."""
    if not values.size:
        return 1
    return max(
        (value if value >= 0 else ~value).bit_length() + 1
        for value in (int(values.min()), int(values.max()))
    )


def _block_cap(network, projections, source, target) -> int | None:
    """The ``count_cap`` of an axon block: the projections of ``source`` onto ``target`` share
    the block's axons (one per source neuron, whatever the channel), so they must agree on
    it. ``None`` where no cap can act (it is at least the most the source sends or the
    target's own ``input_count_cap``), so such a core is built as without caps."""
    caps = {p.count_cap for p in projections}
    if len(caps) > 1:
        listed = ", ".join(f"channel {p.channel}: {p.count_cap}" for p in projections)
        raise MappingError(
            f"the projections {source!r} -> {target!r} ({listed}) give different count_cap "
            f"values; they share one axon per source neuron on a core, whose ingress has one "
            f"cap per axon block: give them the same count_cap"
        )
    cap = caps.pop()
    own = network.populations[target].params.input_count_cap
    bound = network.max_count(source) if own is None else min(network.max_count(source), own)
    return cap if cap is not None and cap < bound else None


def _spike_cap(network, source, target, block_cap) -> int | None:
    """The cap of a graded population block: the smaller of the projections' ``count_cap``
    (``block_cap``) and the target's ``input_count_cap``, since the core does not cap a graded
    value; ``None`` when it is at least the most the source sends."""
    caps = [c for c in (block_cap, network.populations[target].params.input_count_cap) if c]
    cap = min(caps, default=None)
    return cap if cap is not None and cap < network.max_count(source) else None


def _grades_spikes(network, source, target, spike_cap, rules) -> bool:
    """Whether ``source``'s spikes onto ``target`` travel graded with ``graded_spikes``: the
    block can carry more than one spike per step, and the target sums its drive ('sum') and
    does not learn (its traces count spikes). A 'per_event' target keeps count expansion."""
    most = network.max_count(source) if spike_cap is None else spike_cap
    population = network.populations[target]
    return most > 1 and not population.per_event and target not in rules


def _ranges(size: int, n: int) -> list[tuple[int, int]]:
    return [(i * size // n, (i + 1) * size // n) for i in range(n)]


def _span(start: int, stop: int) -> str:
    return f"{start}" if stop - start == 1 else f"{start}-{stop - 1}"


@dataclass
class _Need:
    """What one candidate core needs."""

    blocks: list  # (source, source core ordinal or None, first, stop)
    n_axons: int
    n_synapses: int
    weight_bits: int
    connectivity: str


class _Mapper:
    def __init__(self, network, capacity, lanes, connectivity, conv=None):
        self.network = network
        self.capacity = capacity
        #: ``{population: lanes}`` of every population's neuron cores.
        self.lanes = lanes
        self.connectivity = connectivity
        #: ``{population: its conv Projection}``: the populations placed on convolution cores.
        self.conv = dict(conv or {})
        # Synapse pattern per (source, target), the union over channels (a plastic synapse
        # of weight 0 is one: it may grow), built on first use (pattern_of): a population on
        # convolution cores never needs the dense pattern of its conv projection.
        self.pattern: dict[tuple[str, str], np.ndarray] = {}
        self.weights: dict[tuple[str, str], list] = {}
        # Populations with plastic inputs: their cores learn, which needs dense weights.
        self.learning = {p.target for p in network.projections if p.plastic}
        for projection in network.projections:
            pair = (projection.source, projection.target)
            self.weights.setdefault(pair, []).append(projection)
        # A core stores weight << weight_shift, so its weights grow to hold the shifted ones.
        self.weight_width = {
            name: max(
                [p.weight_width]
                + [
                    _signed_bits(np.array(q.weight_range()) << q.weight_shift)
                    for q in network.projections_to(name)
                    if np.prod(q.shape)
                ]
            )
            for name, p in network.populations.items()
        }
        order = list(network.inputs) + list(network.populations)
        self.sources = {
            name: [s for s in order if (s, name) in self.weights] for name in network.populations
        }

    def pattern_of(self, pair) -> np.ndarray:
        """The synapse pattern (source, target) of the projections of ``pair``."""
        if pair not in self.pattern:
            masks = [projection.synapse_mask for projection in self.weights[pair]]
            self.pattern[pair] = functools.reduce(np.logical_or, masks)
        return self.pattern[pair]

    def ranges(self, name, n) -> list[tuple[int, int]]:
        """The neuron ranges of population ``name`` on ``n`` cores: near-equal, or on
        convolution cores near-equal runs of whole output channels."""
        if name in self.conv:
            spec = self.conv[name].conv[0]
            per_channel = spec.n_neurons // spec.out_channels
            return [(a * per_channel, b * per_channel) for a, b in _ranges(spec.out_channels, n)]
        return _ranges(self.network.populations[name].size, n)

    def conv_split(self, name) -> int:
        """Fewest convolution cores that hold population ``name`` (split by output channels),
        or raise :class:`MappingError`."""
        spec, kernel = self.conv[name].conv
        capacity = self.capacity
        per_channel = spec.n_neurons // spec.out_channels
        width = self.weight_width[name]
        channel_bits = spec.kernel_words // spec.out_channels * width
        if per_channel > capacity.max_conv_neurons or channel_bits > capacity.max_weight_bits:
            raise MappingError(
                f"population {name!r} cannot be mapped on convolution cores: one output "
                f"channel has {per_channel} neurons and {channel_bits} kernel bits, more than "
                f"capacity max_conv_neurons={capacity.max_conv_neurons} or "
                f"max_weight_bits={capacity.max_weight_bits}; raise them, or map it with "
                f"conv='dense'"
            )
        for n in range(1, spec.out_channels + 1):
            widest = max(b - a for a, b in _ranges(spec.out_channels, n))
            if (
                widest * per_channel <= capacity.max_conv_neurons
                and widest * channel_bits <= capacity.max_weight_bits
            ):
                return n
        raise AssertionError(name)  # pragma: no cover: one channel per core fits

    def source_ranges(self, source, splits):
        if source in self.network.inputs:
            return [((0, self.network.inputs[source].size), None)]
        return [(r, i) for i, r in enumerate(self.ranges(source, splits[source]))]

    def need(self, target, start, stop, splits) -> _Need:
        population = self.network.populations[target]
        blocks, synapses = [], 0
        for source in self.sources[target]:
            pattern = self.pattern_of((source, target))[:, start:stop]
            rows = pattern.any(axis=1)
            for (s_start, s_stop), ordinal in self.source_ranges(source, splits):
                used = np.flatnonzero(rows[s_start:s_stop])
                if used.size:
                    first, last = s_start + int(used[0]), s_start + int(used[-1]) + 1
                    blocks.append((source, ordinal, first, last))
                    synapses += int(np.count_nonzero(pattern[first:last]))
        n_axons = sum(stop_ - first for _, _, first, stop_ in blocks)
        n_neurons = stop - start
        channels = population.params.input_channels
        options = []
        if self.connectivity in ("auto", "dense") or synapses == 0 or target in self.learning:
            options.append("dense")
        if (
            self.connectivity in ("auto", "sparse")
            and self.lanes[target] == 1
            and synapses > 0
            and target not in self.learning
        ):
            options.append("sparse")
        bits = {
            mode: weight_memory_bits(
                mode,
                channels=channels,
                n_axons=max(1, n_axons),
                n_neurons=n_neurons,
                n_synapses=synapses,
                weight_width=self.weight_width[target],
                lanes=self.lanes[target],
            )
            for mode in options
        }
        # Prefer dense on a tie (it is the faster one with lanes > 1, and the same with 1).
        mode = min(options, key=lambda m: (bits[m], m != "dense"))
        return _Need(blocks, n_axons, synapses, bits[mode], mode)

    def fits(self, need: _Need) -> bool:
        capacity = self.capacity
        return (
            need.n_axons <= capacity.max_axons
            and need.weight_bits <= capacity.max_weight_bits
            and (capacity.max_synapses is None or need.n_synapses <= capacity.max_synapses)
        )

    def smallest_split(self, name, splits):
        """Smallest core count >= splits[name] whose cores all fit, or None."""
        if name in self.conv:
            return splits[name]
        size = self.network.populations[name].size
        trial = dict(splits)
        # Most populations fit at once: try that before any per-neuron work (a network of 10^6
        # neurons then costs one need() per core, not one per neuron).
        trial[name] = splits[name]
        if all(self.fits(self.need(name, a, b, trial)) for a, b in _ranges(size, splits[name])):
            return splits[name]
        # A core's needs only grow with its neuron range, so if one neuron alone does not fit,
        # no split does.
        trial[name] = size
        if not all(self.fits(self.need(name, k, k + 1, trial)) for k in range(size)):
            return None
        for n in range(splits[name] + 1, size + 1):
            trial[name] = n
            if all(self.fits(self.need(name, a, b, trial)) for a, b in _ranges(size, n)):
                return n
        return None

    def refuse(self, name, splits):
        """The error for a population whose cores do not fit even one neuron per core."""
        size = self.network.populations[name].size
        trial = dict(splits)
        trial[name] = size
        capacity = self.capacity
        worst = None
        for neuron in range(size):
            need = self.need(name, neuron, neuron + 1, trial)
            if not self.fits(need):
                worst = (neuron, need)
                break
        neuron, need = worst
        sources = []
        for source, ordinal, first, stop in need.blocks:
            kind = "input" if ordinal is None else "population"
            where = "lines" if ordinal is None else "neurons"
            sources.append(f"{kind} {source!r} {where} {_span(first, stop)}: {stop - first}")
        by = "; ".join(sources)
        head = f"population {name!r} cannot be mapped: its neuron {neuron} alone on a core needs"
        if need.n_axons > capacity.max_axons:
            return MappingError(
                f"{head} {need.n_axons} axons ({by}), more than capacity "
                f"max_axons={capacity.max_axons}; a capacity with max_axons>={need.n_axons} "
                f"would fit it (or fewer, more local synapses onto it)"
            )
        if need.weight_bits > capacity.max_weight_bits:
            return MappingError(
                f"{head} {need.weight_bits} bits of {need.connectivity} weight memory "
                f"({need.n_axons} axons: {by}), more than capacity "
                f"max_weight_bits={capacity.max_weight_bits}; a capacity with "
                f"max_weight_bits>={need.weight_bits} would fit it"
            )
        return MappingError(
            f"{head} {need.n_synapses} synapses ({by}), more than capacity "
            f"max_synapses={capacity.max_synapses}; a capacity with "
            f"max_synapses>={need.n_synapses} would fit it"
        )

    def partition(self, max_cores):
        network, capacity = self.network, self.capacity
        splits = {
            name: self.conv_split(name) if name in self.conv else -(-p.size // capacity.max_neurons)
            for name, p in network.populations.items()
        }
        failed = {}
        changed = True
        while changed:
            changed = False
            for name in network.populations:
                if name in failed:
                    continue
                n = self.smallest_split(name, splits)
                if n is None:
                    failed[name] = True
                    continue
                if n != splits[name]:
                    splits[name] = n
                    changed = True
            # A population that failed may fit once its sources are split further: retry it
            # while anything changes.
            if changed:
                failed.clear()
        if failed:
            raise self.refuse(next(iter(failed)), splits)
        total = sum(splits.values())
        if max_cores is not None and total > max_cores:
            parts = ", ".join(
                f"{name!r}: {n} ({network.populations[name].size} neurons)"
                for name, n in splits.items()
            )
            sizes = [p.size for p in network.populations.values()]
            if max_cores < len(sizes):
                hint = (
                    f"a core holds one population, so no capacity fits these "
                    f"{len(sizes)} populations in fewer than {len(sizes)} cores"
                )
            else:
                wanted = next(
                    m
                    for m in range(capacity.max_neurons, max(sizes) + 1)
                    if sum(-(-size // m) for size in sizes) <= max_cores
                )
                hint = (
                    f"by neuron count alone, a capacity with max_neurons>={wanted} would "
                    f"need only {max_cores} cores"
                )
                if wanted > CORE_MAX_NEURONS:
                    hint += f" (more than a core's {CORE_MAX_NEURONS})"
            raise MappingError(
                f"the network needs {total} cores ({parts}) with capacity "
                f"max_neurons={capacity.max_neurons}, max_axons={capacity.max_axons}, "
                f"max_weight_bits={capacity.max_weight_bits}, more than max_cores={max_cores}; "
                f"max_cores>={total} would fit it; {hint}"
            )
        return splits


def _conv_cores(network, mapper, name, ranges, splits, first_index, source_key, lanes) -> list:
    """The convolution cores of population ``name``: one per range of whole output channels,
    each with the channels' kernel and the whole input map as its axons (axon = source neuron:
    ``c * H * W + y * W + x``), one block per source core, and the most lanes up to ``lanes``
    that its channels allow (:func:`conv_core_lanes`)."""
    from ..hw.conv import ConvSpec

    projection = mapper.conv[name]
    spec, kernel = projection.conv
    source = projection.source
    per_channel = spec.n_neurons // spec.out_channels
    blocks, events = [], 0
    for (first, last), ordinal in mapper.source_ranges(source, splits):
        blocks.append(
            AxonBlock(
                source=source,
                source_start=first,
                count=last - first,
                axon_start=first,
                key_start=source_key(source, ordinal, first),
            )
        )
        events += (last - first) * network.max_count(source)
    cores = []
    for start, stop in ranges:
        channels = slice(start // per_channel, stop // per_channel)
        core_spec = ConvSpec(
            spec.in_shape,
            channels.stop - channels.start,
            spec.kernel_size,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            pool=spec.pool,
        )
        core_kernel = kernel[channels]
        core_kernel.setflags(write=False)
        cores.append(
            CorePlan(
                index=first_index + len(cores),
                population=name,
                neuron_start=start,
                n_neurons=stop - start,
                params=_slice_params(network.populations[name].params, start, stop),
                weight_width=mapper.weight_width[name],
                axon_blocks=tuple(blocks),
                lanes=conv_core_lanes(core_spec.out_channels, lanes),
                connectivity="conv",
                max_events_per_step=max(1, events),
                conv=(core_spec, core_kernel),
            )
        )
    return cores


def conv_core_lanes(out_channels: int, lanes: int) -> int:
    """The lanes a convolution core of ``out_channels`` channels gets for ``conv_lanes=lanes``:
    the most, up to ``lanes``, that leave no lane without a channel (``ceil(out_channels / n)``
    channels per lane; ``docs/core.md``, "Convolution core")."""
    return max(
        n
        for n in range(1, min(lanes, out_channels) + 1)
        if (n - 1) * -(-out_channels // n) < out_channels
    )


def _slice_params(params, start, stop):
    return params.select_neurons(slice(start, stop))


def _refuse_impossible_size(network, capacity) -> None:
    """Refuse, before any per-neuron work, a network that needs more cores than any mapping
    can have: a core holds at most ``capacity.max_neurons`` neurons, so the populations need at
    least this many cores, and a mesh has at most ``MESH_MAX_SIDE**2 - 1`` (star and
    ``max_cores`` limits are checked with the partition, which names each population's cores)."""
    least = sum(-(-p.size // capacity.max_neurons) for p in network.populations.values())
    if least > MESH_MAX_SIDE**2 - 1:
        # The words of the mesh check after the partition, for the fewest cores possible.
        endpoints = least + 1
        width = math.isqrt(endpoints - 1) + 1
        height = -(-endpoints // width)
        raise MappingError(
            f"{endpoints} endpoints need a {width} x {height} mesh; a mesh side has at most "
            f"{MESH_MAX_SIDE} routers, so at most {MESH_MAX_SIDE**2 - 1} cores fit (refused "
            f"before partitioning: {network.n_neurons} neurons need at least {least} cores of "
            f"capacity max_neurons={capacity.max_neurons}; raise max_neurons, up to "
            f"{CORE_MAX_NEURONS}, or make the network smaller)"
        )


def _conv_refusal(network, name, rules) -> str | None:
    """Why population ``name``'s conv projection cannot go on a convolution core (``None``
    when it can): a convolution core holds one kernel onto neurons that sum their drive."""
    population = network.populations[name]
    params = population.params
    incoming = network.projections_to(name)
    if len(incoming) != 1:
        return (
            f"it has {len(incoming)} incoming projections (a convolution core takes one "
            f"conv projection)"
        )
    (projection,) = incoming
    if projection.conv is None:
        return "its projection has no conv structure"
    if projection.channel != 0:
        return f"its projection is on channel {projection.channel} (a convolution core has one)"
    if params.accumulation is not Accumulation.SUM:
        return f"accumulation is {params.accumulation.value!r} (a convolution core sums)"
    if params.n_currents > 1:
        return f"n_currents={params.n_currents} (a convolution core has at most one current)"
    if params.input_count_cap is not None:
        return f"input_count_cap={params.input_count_cap} (a convolution core has no count cap)"
    if population.max_delay != 1:
        return f"max_delay={population.max_delay} (a convolution core has no delays)"
    if name in rules:
        return "it learns (a convolution core has no STDP)"
    group = network.inputs.get(projection.source)
    if group is not None and group.graded:
        return f"its source {projection.source!r} is graded (a convolution core takes spikes)"
    spec = projection.conv[0]
    if spec.n_axons > CONV_CORE_MAX_AXONS:
        return (
            f"its input map has {spec.n_axons} positions, more than a convolution core's "
            f"{CONV_CORE_MAX_AXONS}"
        )
    return None


def _conv_populations(network, conv, rules, weight_width) -> dict:
    """``{population: conv projection}`` of the populations ``conv`` places on convolution
    cores (``docs/system.md``, "Convolution cores")."""
    placed = {}
    for name in network.populations:
        incoming = network.projections_to(name)
        if not any(p.conv is not None for p in incoming) or conv == "dense":
            continue
        reason = _conv_refusal(network, name, rules)
        if reason is not None:
            if conv == "core":
                raise MappingError(
                    f"conv='core' cannot place population {name!r} on a convolution core: "
                    f"{reason}; use conv='auto' (dense where a convolution core cannot) or "
                    f"'dense'"
                )
            continue
        (projection,) = incoming
        spec = projection.conv[0]
        kernel_bits = spec.kernel_words * weight_width[name]
        synapses = projection.n_synapses
        dense_bits = min(
            weight_memory_bits(
                mode,
                channels=1,
                n_axons=spec.n_axons,
                n_neurons=spec.n_neurons,
                n_synapses=max(1, synapses),
                weight_width=weight_width[name],
            )
            for mode in ("dense", "sparse")
        )
        if conv == "core" or kernel_bits < dense_bits:
            placed[name] = projection
    return placed


def population_lanes(network: Network, lanes) -> dict[str, int]:
    """``{population: lanes}`` of every population of ``network`` for ``map_network``'s
    ``lanes`` (an int for every population, or a mapping; a population it does not name gets
    1), each value checked to be a power of two between 1 and ``CORE_MAX_LANES``."""

    def check(name, value):
        value = _check_int(name, value, 1, CORE_MAX_LANES)
        if value & (value - 1):
            raise MappingError(
                f"{name} must be a power of two between 1 and {CORE_MAX_LANES} (the "
                f"neuron core banks neurons by address bits), not {value}"
            )
        return value

    if not isinstance(lanes, Mapping):
        lanes = check("lanes", lanes)
        return dict.fromkeys(network.populations, lanes)
    unknown = [name for name in lanes if name not in network.populations]
    if unknown:
        raise MappingError(
            f"lanes names {', '.join(map(repr, unknown))}, not a population of the network; "
            f"its populations: {', '.join(map(repr, network.populations))}"
        )
    return {
        name: check(f"lanes[{name!r}]", lanes[name]) if name in lanes else 1
        for name in network.populations
    }


def map_network(
    network: Network,
    *,
    capacity: CoreCapacity = CoreCapacity(),
    lanes: int | Mapping[str, int] = 1,
    connectivity: str = "auto",
    topology: str = "auto",
    key_width: int | None = None,
    step_width: int = 8,
    max_cores: int | None = None,
    max_table_entries: int = MAX_TABLE_ENTRIES,
    graded_spikes: bool = False,
    conv: str = "auto",
    conv_lanes: int = 1,
) -> ChipPlan:
    """Place ``network`` on neuron cores and compile its routing (``docs/system.md``, "Mapping").

    Parameters
    ----------
    capacity : CoreCapacity
        What one core may hold (defaults: 256 neurons, 1024 axons, 2 Mbit of weights).
    lanes : power of two, 1..64, or a mapping population -> power of two
        Neuron lanes (synaptic operations per clock, dense) of every neuron core, or of the
        cores of each population named, e.g. ``{"hidden": 2, "out": 1}``; a population the
        mapping does not name gets 1 lane (the default); a name that is not a population of
        the network is refused. As the int, the mapping sets neuron cores only: a population
        placed on convolution cores takes ``conv_lanes``.
    connectivity : "auto", "dense" or "sparse"
        Synapse storage of every core; "auto" picks, per core, the one with fewer weight-memory
        bits (sparse only with ``lanes=1``; a core without synapses is dense).
    topology : "auto", "star" or "mesh"
        "auto": a star for up to 32 endpoints (cores + host), else a mesh.
    key_width : int or None
        Key bits of the event format; default: the fewest that hold every endpoint's keys.
    step_width : int
        Bits of the step tag (windows and barriers wrap at ``2**step_width``).
    max_cores : int or None
        Refuse a network that needs more cores than this (a device budget).
    max_table_entries : int
        Entries a router's table may have (the table backend's limit).
    graded_spikes : bool
        Send a population's spike count to a core as one graded event (value ``min(count,
        cap)``, multiplied by the weights in the core) instead of expanding it into that many
        axon events, on every axon block that can carry more than one spike per step onto a
        'sum' population that does not learn (``docs/system.md``, "Graded spikes between
        populations"). The network's result is the same either way; only events and cycles
        (fewer) and the cores' value path (one multiplier per lane and channel) differ.
    conv : "auto", "dense" or "core"
        Where a population fed by one conv projection (``Projection.conv``) goes
        (``docs/system.md``, "Convolution cores"): "core" on convolution cores (the kernel stored
        once; refused, naming the reason, where one cannot hold it), "dense" on neuron cores
        with the dense lowering, "auto" on convolution cores wherever one can hold it and its
        kernel takes fewer bits than the lowering would on a neuron core.
    conv_lanes : int, 1..64
        Lanes of every convolution core (output channels updated per clock): a core gets the
        most lanes up to ``conv_lanes`` that its channels fill (:func:`conv_core_lanes`).
        ``lanes`` applies to neuron cores only.
    """
    if not isinstance(network, Network):
        raise TypeError(f"network must be a Network, not {network!r}")
    given_network = network
    # Same-step projections run skewed: each population some steps late (timing.py).
    network, start_steps = skew(network)
    if not isinstance(capacity, CoreCapacity):
        raise TypeError(f"capacity must be a CoreCapacity, not {capacity!r}")
    lanes_of = population_lanes(given_network, lanes)
    if connectivity not in ("auto", "dense", "sparse"):
        raise MappingError(
            f"connectivity must be 'auto', 'dense' or 'sparse', not {connectivity!r}"
        )
    if connectivity == "sparse" and any(n != 1 for n in lanes_of.values()):
        raise MappingError(
            f"connectivity='sparse' needs lanes=1 (a sparse core issues one "
            f"synapse per clock), not lanes={lanes!r}; use connectivity='dense' "
            f"or 'auto' with lanes={lanes!r}"
        )
    if topology not in ("auto", "star", "mesh"):
        raise MappingError(f"topology must be 'auto', 'star' or 'mesh', not {topology!r}")
    if key_width is not None:
        key_width = _check_int("key_width", key_width, 1, MAX_KEY_WIDTH)
    step_width = _check_int("step_width", step_width, 1, 32)
    if max_cores is not None:
        max_cores = _check_int("max_cores", max_cores, 1)
    max_table_entries = _check_int("max_table_entries", max_table_entries, 1)
    if not isinstance(graded_spikes, bool):
        raise MappingError(f"graded_spikes must be True or False, not {graded_spikes!r}")
    if conv not in ("auto", "dense", "core"):
        raise MappingError(f"conv must be 'auto', 'dense' or 'core', not {conv!r}")
    conv_lanes = _check_int("conv_lanes", conv_lanes, 1, CORE_MAX_LANES)
    _refuse_impossible_size(network, capacity)
    for population in network.populations.values():
        params = population.params
        if not population.per_event:
            continue
        # A core adds a step's events in arrival order; its ingress sorts them by axon, and
        # the axon blocks below are laid out in the network's event order (event_order).
        where = f"population {population.name!r} uses accumulation 'per_event'"
        if np.any(np.asarray(params.drive_bias) != 0):
            raise MappingError(
                f"{where} with a drive_bias; a core adds a drive bias into the step's summed "
                f"drive, not as one add before the step's events: give the bias to an input "
                f"line that carries one spike every step (the first line of the first input "
                f"group adds first), or use accumulation 'sum'"
            )
        if params.input_timing is not InputTiming.BEFORE_DECAY:
            raise MappingError(
                f"{where} with input_timing {params.input_timing.value!r}; a core adds "
                f"events into the current before its sweep decays it: use input_timing "
                f"'before_decay' (Xylo's)"
            )
    rules = {}
    for projection in network.plastic_projections:
        target = network.populations[projection.target]
        where = f"projection {projection.source!r} -> {projection.target!r}"
        if target.params.input_count_cap != 1:
            raise MappingError(
                f"{where} is plastic, so population {target.name!r} needs input_count_cap=1 "
                f"(a core depresses an axon's row on its first event of a step), not "
                f"{target.params.input_count_cap!r}; learning sees any count as one spike"
            )
        rule = rules.setdefault(projection.target, projection.plasticity)
        if projection.plasticity != rule:
            raise MappingError(
                f"{where} has STDP parameters that differ from another plastic projection onto "
                f"{projection.target!r}: a core has one STDP rule; give them the same "
                f"STDPParams"
            )
    if connectivity == "sparse" and rules:
        raise MappingError(
            f"connectivity='sparse' cannot learn: population(s) "
            f"{', '.join(map(repr, sorted(rules)))} have plastic inputs, and a core's "
            f"potentiation walks a dense weight column; use connectivity='auto' or 'dense'"
        )

    mapper = _Mapper(network, capacity, lanes_of, connectivity)
    mapper.conv = _conv_populations(network, conv, rules, mapper.weight_width)
    splits = mapper.partition(max_cores)

    # Cores, in population order.
    ranges = {name: mapper.ranges(name, splits[name]) for name in network.populations}
    first_core, n_cores = {}, 0
    for name in network.populations:
        first_core[name] = n_cores
        n_cores += splits[name]
    input_offsets, lines = {}, 0
    for name, group in network.inputs.items():
        input_offsets[name] = lines
        lines += group.size
    largest_core = max(b - a for rs in ranges.values() for a, b in rs)
    keys_per_endpoint = 1 << max(largest_core, lines).bit_length()
    n_endpoints = n_cores + 1
    needed_width = (n_endpoints * keys_per_endpoint - 1).bit_length()
    if needed_width > MAX_KEY_WIDTH:
        raise MappingError(
            f"{n_cores} cores and the host need {n_endpoints} endpoints of "
            f"keys_per_endpoint={keys_per_endpoint} keys, {needed_width}-bit keys; an event key "
            f"has at most {MAX_KEY_WIDTH} bits, so at most "
            f"{(1 << MAX_KEY_WIDTH) // keys_per_endpoint} endpoints fit"
        )
    if key_width is None:
        key_width = needed_width
    elif key_width < needed_width:
        raise MappingError(
            f"key_width={key_width} is too small: {n_cores} cores and the host are "
            f"{n_endpoints} endpoints of keys_per_endpoint={keys_per_endpoint} keys, which need "
            f"key_width>={needed_width}"
        )

    def source_key(source, ordinal, first):
        if ordinal is None:
            return n_cores * keys_per_endpoint + input_offsets[source] + first
        core = first_core[source] + ordinal
        return core * keys_per_endpoint + first - ranges[source][ordinal][0]

    cores = []
    for name, population in network.populations.items():
        params = population.params
        cap = params.input_count_cap
        if name in mapper.conv:
            cores += _conv_cores(
                network, mapper, name, ranges[name], splits, len(cores), source_key, conv_lanes
            )
            continue
        for start, stop in ranges[name]:
            need = mapper.need(name, start, stop, splits)
            blocks, axon, events = [], 0, 0
            weights = np.zeros(
                (params.input_channels, max(1, need.n_axons), stop - start), dtype=np.int64
            )
            delays = np.zeros(weights.shape, dtype=np.int64)
            plastic = np.zeros(weights.shape, dtype=bool)
            for source, ordinal, first, last in need.blocks:
                count = last - first
                group = network.inputs.get(source)
                graded = group is not None and group.graded
                block_cap = _block_cap(network, mapper.weights[(source, name)], source, name)
                if group is None and graded_spikes:
                    # A graded population block: the ingress clamps the count by every cap
                    # (the core applies a value uncapped) and passes it as one value.
                    spike_cap = _spike_cap(network, source, name, block_cap)
                    if _grades_spikes(network, source, name, spike_cap, rules):
                        graded, block_cap = True, spike_cap
                blocks.append(
                    AxonBlock(
                        source=source,
                        source_start=first,
                        count=count,
                        axon_start=axon,
                        key_start=source_key(source, ordinal, first),
                        graded=graded,
                        signed=graded and group is not None and group.signed,
                        count_cap=block_cap,
                    )
                )
                for projection in mapper.weights[(source, name)]:
                    rows = slice(axon, axon + count)
                    weights[projection.channel, rows] = projection.shifted_weights[
                        first:last, start:stop
                    ]
                    if projection.delays is not None:
                        delays[projection.channel, rows] = projection.delays[first:last, start:stop]
                    if projection.plastic:
                        plastic[projection.channel, rows] = projection.synapse_mask[
                            first:last, start:stop
                        ]
                if graded and group is not None:
                    # One event adds value * weight: the accumulator bound counts |value|
                    # units, and the cap does not apply to a value.
                    per_axon = group.max_magnitude
                else:
                    per_axon = network.max_count(source)
                    # A graded population block bounds its value as its counts are bounded.
                    if cap is not None:
                        per_axon = min(per_axon, cap)
                    if block_cap is not None:
                        per_axon = min(per_axon, block_cap)
                events += count * per_axon
                axon += count
            for array in (weights, delays, plastic):
                array.setflags(write=False)
            rule = rules.get(name)
            cores.append(
                CorePlan(
                    index=len(cores),
                    population=name,
                    neuron_start=start,
                    n_neurons=stop - start,
                    params=_slice_params(params, start, stop),
                    weight_width=mapper.weight_width[name],
                    axon_blocks=tuple(blocks),
                    weights=weights,
                    lanes=lanes_of[name],
                    connectivity=need.connectivity,
                    max_events_per_step=max(1, events),
                    max_delay=population.max_delay,
                    delays=delays,
                    stdp=rule,
                    plastic=plastic if rule is not None else None,
                )
            )

    # Connectivity: keys -> target endpoints.
    host = n_cores
    targets: dict[int, set] = {}
    for core in cores:
        for block in core.axon_blocks:
            if core.conv is not None:
                # The axons whose events reach a neuron of the core (block = the whole map).
                reached = core.conv[0].fan_out(core.conv[1]) > 0
                rows = reached[block.source_start : block.source_start + block.count]
            else:
                pattern = mapper.pattern_of((block.source, core.population))
                rows = pattern[
                    block.source_start : block.source_start + block.count,
                    core.neuron_start : core.neuron_stop,
                ].any(axis=1)
            for offset in np.flatnonzero(rows):
                targets.setdefault(block.key_start + int(offset), set()).add(core.index)
    for name in network.outputs:
        for c in range(first_core[name], first_core[name] + splits[name]):
            for j in range(cores[c].n_neurons):
                targets.setdefault(c * keys_per_endpoint + j, set()).add(host)
    for c in range(n_cores):
        targets[c * keys_per_endpoint + keys_per_endpoint - 1] = {host}
    targets[host * keys_per_endpoint + keys_per_endpoint - 1] = set(range(n_cores))
    conn = {key: frozenset(targets[key]) for key in sorted(targets)}

    # Payload: the largest count a source that sends anything can send.
    senders = {block.source for core in cores for block in core.axon_blocks}
    senders.update(network.outputs)
    counted = [
        network.max_count(s)
        for s in senders
        if not (s in network.inputs and network.inputs[s].graded)
    ]
    largest_count = max(counted or [1])
    payload_width = 0 if largest_count == 1 else largest_count.bit_length()
    # A graded group's value always travels in the payload (two's complement when signed),
    # even at value_bits=1: the receiving ingress takes it as the value, not as a count.
    for source in senders:
        if source in network.inputs and network.inputs[source].graded:
            payload_width = max(payload_width, network.inputs[source].value_bits)
    fmt = EventFormat(key_width=key_width, step_width=step_width, payload_width=payload_width)

    # Topology and routing.
    if topology == "auto":
        topology = "star" if n_endpoints <= STAR_MAX_ENDPOINTS else "mesh"
    if topology == "star":
        if n_endpoints > STAR_MAX_ENDPOINTS:
            raise MappingError(
                f"topology='star' has one router port per endpoint, at most "
                f"{STAR_MAX_ENDPOINTS}; this network needs {n_endpoints} ({n_cores} cores and "
                f"the host): use topology='mesh' or 'auto', or a capacity that needs at most "
                f"{STAR_MAX_ENDPOINTS - 1} cores"
            )
        shape = StarTopology(
            n_cores=n_endpoints, keys_per_core=keys_per_endpoint, key_width=key_width
        )
        described = f"a star of {n_endpoints} endpoints"
        compile_ = compile_star
    else:
        width = math.isqrt(n_endpoints - 1) + 1 if n_endpoints > 1 else 1
        width = min(width, n_endpoints)
        height = -(-n_endpoints // width)
        if max(width, height) > MESH_MAX_SIDE:
            raise MappingError(
                f"{n_endpoints} endpoints need a {width} x {height} mesh; a mesh side has at "
                f"most {MESH_MAX_SIDE} routers, so at most {MESH_MAX_SIDE**2 - 1} cores fit"
            )
        positions = [(p % width, p // width) for p in range(n_endpoints)]
        # Host at (0, 0), core c at row-major position c + 1.
        shape = MeshTopology(
            width=width,
            height=height,
            cores=tuple(positions[1:]) + (positions[0],),
            keys_per_core=keys_per_endpoint,
            key_width=key_width,
        )
        described = f"a {width} x {height} mesh"
        compile_ = compile_mesh
    try:
        routing = compile_(shape, conn, max_entries=max_table_entries)
    except RoutingError as error:
        hint = (
            "topology='mesh' spreads the entries over several routers"
            if topology == "star"
            else "a larger max_table_entries"
        )
        raise MappingError(
            f"routing {n_cores} cores and the host over {described} failed: {error} "
            f"(max_table_entries={max_table_entries}); {hint}, or a capacity that needs fewer "
            f"cores, would reduce it"
        ) from error

    return ChipPlan(
        network=network,
        cores=tuple(cores),
        keys_per_endpoint=keys_per_endpoint,
        input_offsets=input_offsets,
        fmt=fmt,
        topology=shape,
        routing=routing,
        connectivity=conn,
        start_steps=start_steps,
        source_network=None if network is given_network else given_network,
    )
