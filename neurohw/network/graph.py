"""The integer network: input groups, populations, projections and outputs.

A :class:`Network` is plain, validated data. Its meaning (what each step computes and when a
spike arrives) is written in ``docs/system.md`` and implemented once, by
:func:`neurohw.network.system.simulate`; mapping, hardware generation and the front ends all
consume or produce this one description.
"""

from __future__ import annotations

import io
import json
import numbers
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model.params import Accumulation, NeuronParams
from ..model.reference import MAX_SPIKE_COUNT

__all__ = ["InputGroup", "Population", "Projection", "Network", "NetworkError",
           "MAX_WEIGHT_WIDTH", "FORMAT_VERSION"]

#: Widest signed weight a projection may use (the neuron core's limit).
MAX_WEIGHT_WIDTH = 16
FORMAT_VERSION = 1
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class NetworkError(ValueError):
    """A network description that cannot be used; the message names the part and the value."""


def _check_name(kind: str, name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise NetworkError(f"{kind} name must be an identifier (letters, digits, '_', not "
                           f"starting with a digit), not {name!r}")
    return name


def _check_int(what: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NetworkError(f"{what} must be an integer, not {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high}"
        raise NetworkError(f"{what} must be {allowed}, not {value}")
    return value


@dataclass(frozen=True)
class InputGroup:
    """``size`` external input lines. Each step the host sends a spike count between 0 and
    ``max_count`` per line; the count bounds the hardware accumulators, and the model refuses
    larger counts instead of computing something the chip cannot."""
    name: str
    size: int
    max_count: int = 1

    def __post_init__(self):
        _check_name("input group", self.name)
        object.__setattr__(self, "size", _check_int(f"input group {self.name!r} size",
                                                    self.size, 1))
        object.__setattr__(self, "max_count", _check_int(
            f"input group {self.name!r} max_count", self.max_count, 1, MAX_SPIKE_COUNT))


@dataclass(frozen=True, eq=False)
class Population:
    """``size`` neurons of one integer model. ``weight_width`` is the signed width of every
    weight onto this population (it becomes the weight memory width of its cores)."""
    name: str
    size: int
    params: NeuronParams
    weight_width: int = 8

    def __post_init__(self):
        _check_name("population", self.name)
        object.__setattr__(self, "size", _check_int(f"population {self.name!r} size",
                                                    self.size, 1))
        if not isinstance(self.params, NeuronParams):
            raise NetworkError(f"population {self.name!r} params must be a NeuronParams, not "
                               f"{self.params!r}")
        if self.params.accumulation is not Accumulation.SUM:
            raise NetworkError(
                f"population {self.name!r} uses accumulation "
                f"{self.params.accumulation.value!r}; a network supports only 'sum': with "
                f"'per_event' the result depends on the order in which spikes from different "
                f"sources arrive, which routing does not fix")
        try:
            self.params.check_population_size(self.size)
        except ValueError as error:
            raise NetworkError(f"population {self.name!r}: {error}") from None
        object.__setattr__(self, "weight_width", _check_int(
            f"population {self.name!r} weight_width", self.weight_width, 1, MAX_WEIGHT_WIDTH))

    @property
    def max_count(self) -> int:
        """Largest spike count one neuron sends in one step."""
        return self.params.max_spikes

    def __eq__(self, other):
        if not isinstance(other, Population):
            return NotImplemented
        return ((self.name, self.size, self.weight_width, self.params)
                == (other.name, other.size, other.weight_width, other.params))

    __hash__ = None


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from ``source`` (an input group or a population) onto ``target`` (a
    population): ``weights[j, k]`` is the weight from source neuron ``j`` to target neuron
    ``k`` on input ``channel`` of the target's model; zero means no synapse."""
    source: str
    target: str
    weights: np.ndarray = field(repr=False)
    channel: int = 0

    def __post_init__(self):
        weights = np.asarray(self.weights)
        if weights.dtype.kind not in "iub":
            raise NetworkError(f"projection {self.source!r} -> {self.target!r} weights must be "
                               f"integers, not dtype {weights.dtype}; quantize float weights "
                               f"first (neurohw.network.quantize)")
        if weights.ndim != 2:
            raise NetworkError(f"projection {self.source!r} -> {self.target!r} weights must be "
                               f"a 2-D (source, target) array, not shape {weights.shape}")
        weights = weights.astype(np.int64)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "channel", _check_int(
            f"projection {self.source!r} -> {self.target!r} channel", self.channel, 0))

    @property
    def n_synapses(self) -> int:
        return int(np.count_nonzero(self.weights))

    def __eq__(self, other):
        if not isinstance(other, Projection):
            return NotImplemented
        return ((self.source, self.target, self.channel) == (other.source, other.target,
                                                              other.channel)
                and np.array_equal(self.weights, other.weights))

    __hash__ = None


class Network:
    """A validated integer spiking network.

    Parameters
    ----------
    inputs : iterable of InputGroup
    populations : iterable of Population
    projections : iterable of Projection
        Any source to any population, including recurrent ones (a population onto itself).
        Two projections with the same source, target and channel are refused: merge them.
    outputs : iterable of population names
        Populations whose spikes leave the chip (to the host).
    """

    def __init__(self, *, inputs, populations, projections, outputs):
        self.inputs: dict[str, InputGroup] = {}
        self.populations: dict[str, Population] = {}
        for kind, items, store, cls in (("input group", inputs, self.inputs, InputGroup),
                                        ("population", populations, self.populations,
                                         Population)):
            for item in items:
                if not isinstance(item, cls):
                    raise NetworkError(f"{kind}s must be {cls.__name__} objects, not {item!r}")
                if item.name in self.inputs or item.name in self.populations:
                    raise NetworkError(f"the name {item.name!r} is used twice; input groups and "
                                       f"populations need distinct names")
                store[item.name] = item
        if not self.populations:
            raise NetworkError("a network needs at least one population")

        self.projections: tuple[Projection, ...] = tuple(projections)
        seen = set()
        for projection in self.projections:
            if not isinstance(projection, Projection):
                raise NetworkError(f"projections must be Projection objects, not "
                                   f"{projection!r}")
            self._check_projection(projection)
            key = (projection.source, projection.target, projection.channel)
            if key in seen:
                raise NetworkError(f"two projections {projection.source!r} -> "
                                   f"{projection.target!r} on channel {projection.channel}; "
                                   f"merge them into one weight matrix")
            seen.add(key)

        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        for name in outputs:
            if name not in self.populations:
                allowed = ", ".join(map(repr, self.populations))
                raise NetworkError(f"output {name!r} is not a population; populations: "
                                   f"{allowed}")
        if len(set(outputs)) != len(outputs):
            raise NetworkError(f"outputs list a population twice: {outputs!r}")
        if not outputs:
            raise NetworkError("a network needs at least one output population")
        self.outputs: tuple[str, ...] = tuple(outputs)

    def _check_projection(self, projection: Projection):
        where = f"projection {projection.source!r} -> {projection.target!r}"
        sizes = {**{n: g.size for n, g in self.inputs.items()},
                 **{n: p.size for n, p in self.populations.items()}}
        if projection.source not in sizes:
            raise NetworkError(f"{where}: source {projection.source!r} is neither an input "
                               f"group nor a population")
        if projection.target not in self.populations:
            kind = "an input group" if projection.target in self.inputs else "unknown"
            raise NetworkError(f"{where}: target {projection.target!r} is {kind}; targets "
                               f"must be populations")
        target = self.populations[projection.target]
        expected = (sizes[projection.source], target.size)
        if projection.weights.shape != expected:
            raise NetworkError(f"{where}: weights must have shape (source, target) = "
                               f"{expected}, not {projection.weights.shape}")
        channels = target.params.input_channels
        if projection.channel >= channels:
            raise NetworkError(f"{where}: channel {projection.channel} does not exist; the "
                               f"target's model has {channels} input channel(s) (0 to "
                               f"{channels - 1})")
        width = target.weight_width
        low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if projection.weights.size:
            w_min, w_max = int(projection.weights.min()), int(projection.weights.max())
            if w_min < low or w_max > high:
                raise NetworkError(f"{where}: weights range from {w_min} to {w_max}, outside "
                                   f"the target's weight_width={width} bits ([{low}, {high}])")

    # --- queries ----------------------------------------------------------------------------

    def size(self, name: str) -> int:
        """Neurons (or input lines) of a population or input group."""
        if name in self.populations:
            return self.populations[name].size
        return self.inputs[name].size

    def max_count(self, name: str) -> int:
        """Largest spike count one neuron (or input line) of ``name`` sends in one step."""
        if name in self.populations:
            return self.populations[name].max_count
        return self.inputs[name].max_count

    def projections_to(self, target: str) -> tuple[Projection, ...]:
        return tuple(p for p in self.projections if p.target == target)

    def projections_from(self, source: str) -> tuple[Projection, ...]:
        return tuple(p for p in self.projections if p.source == source)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def summary(self) -> str:
        lines = [f"network: {len(self.inputs)} input group(s), {len(self.populations)} "
                 f"population(s), {self.n_neurons} neurons, {self.n_synapses} synapses"]
        for group in self.inputs.values():
            lines.append(f"  input {group.name}: {group.size} lines, counts 0..{group.max_count}")
        for pop in self.populations.values():
            out = " (output)" if pop.name in self.outputs else ""
            lines.append(f"  population {pop.name}: {pop.size} neurons, "
                         f"{pop.weight_width}-bit weights{out}")
        for proj in self.projections:
            lines.append(f"  {proj.source} -> {proj.target} (channel {proj.channel}): "
                         f"{proj.n_synapses} synapses")
        return "\n".join(lines)

    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        return (self.inputs == other.inputs and self.populations == other.populations
                and self.projections == other.projections and self.outputs == other.outputs)

    __hash__ = None

    def __repr__(self):
        return (f"Network(inputs={list(self.inputs)}, populations={list(self.populations)}, "
                f"projections={len(self.projections)}, outputs={list(self.outputs)})")

    # --- file format ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-serializable description without the weights (see :meth:`save`)."""
        return {
            "format": "neurohw-network",
            "version": FORMAT_VERSION,
            "inputs": [{"name": g.name, "size": g.size, "max_count": g.max_count}
                       for g in self.inputs.values()],
            "populations": [{"name": p.name, "size": p.size, "weight_width": p.weight_width,
                             "params": p.params.to_dict()} for p in self.populations.values()],
            "projections": [{"source": p.source, "target": p.target, "channel": p.channel,
                             "weights": f"weights_{i}"} for i, p in enumerate(self.projections)],
            "outputs": list(self.outputs),
        }

    def save(self, path) -> None:
        """Write one ``.npz`` file: ``network.json`` (the description) and one integer array
        per projection. Deterministic: the same network gives the same bytes."""
        arrays = {"network.json": json.dumps(self.to_dict(), indent=1,
                                             sort_keys=True).encode()}
        for i, projection in enumerate(self.projections):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(projection.weights), allow_pickle=False)
            arrays[f"weights_{i}.npy"] = buffer.getvalue()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, payload in arrays.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, payload)

    @classmethod
    def load(cls, path) -> "Network":
        """Read a file written by :meth:`save`; problems raise :class:`NetworkError` naming the
        file and the entry."""
        path = Path(path)
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
                if "network.json" not in names:
                    raise NetworkError(f"{path}: not a neurohw network file (no network.json)")
                description = json.loads(archive.read("network.json"))
                weights = {}
                for name in names - {"network.json"}:
                    with archive.open(name) as member:
                        weights[name.removesuffix(".npy")] = np.load(
                            io.BytesIO(member.read()), allow_pickle=False)
        except (OSError, zipfile.BadZipFile, json.JSONDecodeError, ValueError) as error:
            if isinstance(error, NetworkError):
                raise
            raise NetworkError(f"{path}: cannot read a network file: {error}") from None
        return cls.from_dict(description, weights, where=str(path))

    @classmethod
    def from_dict(cls, description: dict, weights: dict, *, where: str = "network") -> "Network":
        if description.get("format") != "neurohw-network":
            raise NetworkError(f"{where}: format must be 'neurohw-network', not "
                               f"{description.get('format')!r}")
        if description.get("version") != FORMAT_VERSION:
            raise NetworkError(f"{where}: version {description.get('version')!r} is not "
                               f"supported; this neurohw reads version {FORMAT_VERSION}")
        try:
            inputs = [InputGroup(**g) for g in description["inputs"]]
            populations = [Population(p["name"], p["size"], NeuronParams.from_dict(p["params"]),
                                      p["weight_width"]) for p in description["populations"]]
            projections = []
            for p in description["projections"]:
                if p["weights"] not in weights:
                    raise NetworkError(f"{where}: projection {p['source']!r} -> "
                                       f"{p['target']!r} refers to missing array "
                                       f"{p['weights']!r}")
                projections.append(Projection(p["source"], p["target"], weights[p["weights"]],
                                              p["channel"]))
            return cls(inputs=inputs, populations=populations, projections=projections,
                       outputs=description["outputs"])
        except KeyError as error:
            raise NetworkError(f"{where}: missing entry {error.args[0]!r}") from None
        except (TypeError, ValueError) as error:
            if isinstance(error, NetworkError) and str(error).startswith(where):
                raise
            raise NetworkError(f"{where}: {error}") from None
