"""ChipPlan: a network placed on cores, with keys, axon maps, routing and the host endpoint.

Plain data, produced by :func:`neurohw.network.mapping.map_network` and consumed by both the
plan-level reference model and the system hardware generator. Conventions (``docs/system.md``):

* **Endpoints.** Cores are endpoints ``0 .. n_cores - 1``; the host is endpoint ``n_cores``.
  Endpoint ``e`` owns the keys ``[e * keys_per_endpoint, (e + 1) * keys_per_endpoint)``.
* **Keys.** Neuron ``j`` of core ``c`` sends key ``c * K + j``. Input line ``j`` of input group
  ``g`` is host key ``n_cores * K + input_offsets[g] + j``. The last key of every endpoint,
  ``e * K + K - 1``, is its *tick key*: never sent as a spike, it exists so that routing carries
  barriers from the host to every core and from every core to the host (the host is the clock
  master: no core starts step ``t`` before the host has closed window ``t - 1``, and the host
  sees barrier ``t`` only after every core has finished step ``t``).
* **Windows.** Window ``w`` carries the spikes cores produce in step ``w`` and the host's input
  counts for step ``w + 1``, and is closed on every link by a barrier tagged ``w``. A core
  starts step ``w + 1`` when barrier ``w`` has reached it; at reset every endpoint sends barrier
  ``-1`` (window -1 carries the inputs of step 0).
* **Events.** One event per (neuron, step) with a non-zero count; the count travels in the
  payload when some source can send more than one spike per step (``fmt.payload_width > 0``),
  and the receiving core turns it into that many axon events (or, on a graded population
  block, applies the capped count as one value). A graded input line sends one
  event per step with a non-zero value, the value in the payload (two's complement in
  ``fmt.payload_width`` bits when signed); the core adds ``value * weight`` in one event.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model.params import NeuronParams
from ..model.stdp import STDPParams
from ..routing import EventFormat, MeshTopology, NetworkPlan, StarTopology
from .graph import DenseLowering, Network

__all__ = ["AxonBlock", "CorePlan", "ChipPlan"]


@dataclass(frozen=True)
class AxonBlock:
    """Axons ``[axon_start, axon_start + count)`` of a core are neurons (or input lines)
    ``[source_start, source_start + count)`` of ``source``, arriving with keys
    ``[key_start, key_start + count)``. ``graded``: the event payload is the value (two's
    complement when ``signed``) that multiplies the weights in one event, instead of a count
    of axon events: the source is a graded input group, or a population whose spike count
    travels graded (``map_network(graded_spikes=True)``). ``count_cap``: the ingress clamps an
    event's count to it before expanding it into axon events, or before passing it as the
    value of an unsigned graded block (the projections' ``count_cap``, and for a graded
    population block also the target's ``input_count_cap``; ``None`` where no cap can act)."""

    source: str
    source_start: int
    count: int
    axon_start: int
    key_start: int
    graded: bool = False
    signed: bool = False
    count_cap: int | None = None

    def axon_of(self, key: int) -> int | None:
        offset = key - self.key_start
        return self.axon_start + offset if 0 <= offset < self.count else None


@dataclass(frozen=True, eq=False)
class CorePlan:
    """One neuron core: neurons ``[neuron_start, neuron_start + n_neurons)`` of
    ``population``, its axon map and its weights ``(channels, n_axons, n_neurons)``; the
    synapses' ``delays`` (same shape, 0 where there is none) in a ring of ``max_delay`` steps;
    with ``stdp``, the ``plastic`` mask (same shape) of the weights that learn.

    A convolution core (``connectivity == "conv"``) has ``conv = (ConvSpec, integer kernel)``
    of its output channels and no stored weights: ``weights`` is that kernel's dense lowering
    ``(1, n_axons, n_neurons)``, built only if some code asks for it (the plan model and the
    chip compute with the kernel; ``docs/system.md``, "Convolution cores")."""

    index: int
    population: str
    neuron_start: int
    n_neurons: int
    params: NeuronParams
    weight_width: int
    axon_blocks: tuple
    weights: np.ndarray | None = field(default=DenseLowering(channel_axis=True), repr=False)
    lanes: int = 1
    connectivity: str = "dense"
    max_events_per_step: int = 1
    max_delay: int = 1
    delays: np.ndarray | None = field(default=None, repr=False)
    stdp: STDPParams | None = None
    plastic: np.ndarray | None = field(default=None, repr=False)
    conv: tuple | None = field(default=None, repr=False)

    @property
    def n_axons(self) -> int:
        if self.conv is not None:
            return self.conv[0].n_axons
        return self.weights.shape[1]

    @property
    def graded(self) -> bool:
        """Some axon block of this core carries graded values."""
        return any(block.graded for block in self.axon_blocks)

    @property
    def neuron_stop(self) -> int:
        return self.neuron_start + self.n_neurons

    @property
    def n_synapses(self) -> int:
        if self.conv is not None:
            return int(self.conv[0].fan_out(self.conv[1]).sum())
        return int(np.count_nonzero(np.any(self.weights != 0, axis=0)))

    def axon_of(self, key: int) -> int | None:
        """The axon a key arrives on, or ``None`` if it does not feed this core."""
        for block in self.axon_blocks:
            axon = block.axon_of(key)
            if axon is not None:
                return axon
        return None


@dataclass(frozen=True, eq=False)
class ChipPlan:
    """A mapped network. ``routing`` is the compiled router network over the
    ``n_cores + 1`` endpoints (host last); ``topology`` the star or mesh it was compiled for."""

    network: Network
    cores: tuple
    keys_per_endpoint: int
    input_offsets: dict
    fmt: EventFormat
    topology: StarTopology | MeshTopology
    routing: NetworkPlan
    connectivity: dict = field(repr=False)
    #: ``{population: s}``: for a network with same-step projections the chip runs
    #: population ``p`` ``s`` steps late (:mod:`neurohw.network.timing`); empty otherwise.
    start_steps: dict = field(default_factory=dict)
    #: The network as mapped; ``network`` is what the chip computes in its one-step timing
    #: (the same network unless it has same-step projections).
    source_network: Network | None = field(default=None, repr=False)

    @property
    def flush_steps(self) -> int:
        """Chip steps a sample runs beyond its own steps (the deepest start step)."""
        return max(self.start_steps.values(), default=0)

    @property
    def given_network(self) -> Network:
        """The network the user mapped (with its same-step projections, if any)."""
        return self.source_network if self.source_network is not None else self.network

    @property
    def n_cores(self) -> int:
        return len(self.cores)

    @property
    def host(self) -> int:
        """The host's endpoint index."""
        return len(self.cores)

    def tick_key(self, endpoint: int) -> int:
        return endpoint * self.keys_per_endpoint + self.keys_per_endpoint - 1

    def neuron_key(self, core: int, neuron: int) -> int:
        """Key of local neuron ``neuron`` of core ``core``."""
        return core * self.keys_per_endpoint + neuron

    def input_key(self, group: str, line: int) -> int:
        return self.host * self.keys_per_endpoint + self.input_offsets[group] + line

    def cores_of(self, population: str) -> tuple:
        return tuple(c for c in self.cores if c.population == population)

    def source_of_key(self, key: int) -> tuple[str, int]:
        """``(population or input group, neuron index)`` that sends ``key``."""
        endpoint, local = divmod(key, self.keys_per_endpoint)
        if endpoint < self.n_cores:
            core = self.cores[endpoint]
            if local < core.n_neurons:
                return core.population, core.neuron_start + local
        elif endpoint == self.host:
            for group, offset in self.input_offsets.items():
                if offset <= local < offset + self.network.inputs[group].size:
                    return group, local - offset
        raise KeyError(f"key {key:#x} is sent by no neuron or input line")
