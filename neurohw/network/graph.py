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
from ..model.stdp import STDPError, STDPParams

__all__ = [
    "InputGroup",
    "Population",
    "Projection",
    "Network",
    "NetworkError",
    "MAX_WEIGHT_WIDTH",
    "MAX_DELAY",
    "MAX_VALUE_BITS",
    "FORMAT_VERSION",
]

#: Widest signed weight a projection may use (the neuron core's limit).
MAX_WEIGHT_WIDTH = 16
#: Largest synaptic delay (in steps) a population may accept (``docs/learning.md``).
MAX_DELAY = 256
#: A projection's shifted weights (``weights << weight_shift``) are stored in the cores, so
#: they must fit the widest weight a core holds.
SHIFTED_WEIGHT_BITS = MAX_WEIGHT_WIDTH
MAX_WEIGHT_SHIFT = MAX_WEIGHT_WIDTH - 1
#: Largest per-projection ``count_cap`` (the largest ``input_count_cap`` too).
MAX_COUNT_CAP = 65535
FORMAT_VERSION = 1
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class NetworkError(ValueError):
    """A network description that cannot be used; the message names the part and the value."""


def _check_name(kind: str, name) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise NetworkError(
            f"{kind} name must be an identifier (letters, digits, '_', not "
            f"starting with a digit), not {name!r}"
        )
    return name


def _check_int(what: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise NetworkError(f"{what} must be an integer, not {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high}"
        raise NetworkError(f"{what} must be {allowed}, not {value}")
    return value


#: Widest value of a graded input group (``InputGroup(value_bits=...)``).
MAX_VALUE_BITS = 16


@dataclass(frozen=True)
class InputGroup:
    """``size`` external input lines.

    Spike counts (default): each step the host sends a count between 0 and ``max_count`` per
    line; the count bounds the hardware accumulators, and the model refuses larger counts
    instead of computing something the chip cannot.

    Graded (``value_bits=k``, 1..16): each step each line carries an integer value in
    ``[0, 2**k - 1]``, or ``[-2**(k-1), 2**(k-1) - 1]`` with ``signed=True``; a target's drive
    gets ``value * weight`` exactly (``input_count_cap`` does not apply to a value), and the
    chip carries it in one event (``docs/system.md``, "Graded inputs"). ``max_count`` must then
    stay 1."""

    name: str
    size: int
    max_count: int = 1
    value_bits: int | None = None
    signed: bool = False

    def __post_init__(self):
        _check_name("input group", self.name)
        object.__setattr__(
            self, "size", _check_int(f"input group {self.name!r} size", self.size, 1)
        )
        object.__setattr__(
            self,
            "max_count",
            _check_int(f"input group {self.name!r} max_count", self.max_count, 1, MAX_SPIKE_COUNT),
        )
        if not isinstance(self.signed, (bool, np.bool_)):
            raise NetworkError(
                f"input group {self.name!r} signed must be True or False, not {self.signed!r}"
            )
        object.__setattr__(self, "signed", bool(self.signed))
        if self.value_bits is None:
            if self.signed:
                raise NetworkError(
                    f"input group {self.name!r} has signed=True without "
                    f"value_bits; only a graded group (value_bits=1..."
                    f"{MAX_VALUE_BITS}) carries signed values"
                )
            return
        object.__setattr__(
            self,
            "value_bits",
            _check_int(f"input group {self.name!r} value_bits", self.value_bits, 1, MAX_VALUE_BITS),
        )
        if self.max_count != 1:
            raise NetworkError(
                f"input group {self.name!r} has value_bits={self.value_bits} "
                f"and max_count={self.max_count}; a graded group carries "
                f"values, not spike counts: leave max_count=1"
            )

    @property
    def graded(self) -> bool:
        """True when the lines carry values (``value_bits``), not spike counts."""
        return self.value_bits is not None

    @property
    def value_range(self) -> tuple[int, int]:
        """``(lowest, highest)`` value (or count) one line may carry in one step."""
        if not self.graded:
            return 0, self.max_count
        if self.signed:
            return -(1 << (self.value_bits - 1)), (1 << (self.value_bits - 1)) - 1
        return 0, (1 << self.value_bits) - 1

    @property
    def max_magnitude(self) -> int:
        """Largest ``|value|`` (or count) of one line in one step: what bounds accumulators."""
        low, high = self.value_range
        return max(-low, high)


@dataclass(frozen=True, eq=False)
class Population:
    """``size`` neurons of one integer model. ``weight_width`` is the signed width of every
    weight onto this population (it becomes the weight memory width of its cores).
    ``max_delay`` ``D`` (1..256) is the largest synaptic delay of a projection onto it: a core
    keeps ``D`` drive accumulators per neuron (``docs/learning.md``)."""

    name: str
    size: int
    params: NeuronParams
    weight_width: int = 8
    max_delay: int = 1

    def __post_init__(self):
        _check_name("population", self.name)
        object.__setattr__(self, "size", _check_int(f"population {self.name!r} size", self.size, 1))
        if not isinstance(self.params, NeuronParams):
            raise NetworkError(
                f"population {self.name!r} params must be a NeuronParams, not {self.params!r}"
            )
        try:
            self.params.check_population_size(self.size)
        except ValueError as error:
            raise NetworkError(f"population {self.name!r}: {error}") from None
        object.__setattr__(
            self,
            "weight_width",
            _check_int(
                f"population {self.name!r} weight_width", self.weight_width, 1, MAX_WEIGHT_WIDTH
            ),
        )
        object.__setattr__(
            self,
            "max_delay",
            _check_int(f"population {self.name!r} max_delay", self.max_delay, 1, MAX_DELAY),
        )
        if self.per_event and self.max_delay > 1:
            raise NetworkError(
                f"population {self.name!r} uses accumulation 'per_event' with "
                f"max_delay={self.max_delay}; a delay ring holds pre-summed drives, which "
                f"cannot keep the order of a step's adds: 'per_event' needs max_delay=1 "
                f"(every delay 1)"
            )

    @property
    def per_event(self) -> bool:
        """Whether every spike is one add into the current, in the network's event order
        (``docs/system.md``, "Per-event accumulation")."""
        return self.params.accumulation is Accumulation.PER_EVENT

    @property
    def max_count(self) -> int:
        """Largest spike count one neuron sends in one step."""
        return self.params.max_spikes

    def __eq__(self, other):
        if not isinstance(other, Population):
            return NotImplemented
        return (self.name, self.size, self.weight_width, self.max_delay, self.params) == (
            other.name,
            other.size,
            other.weight_width,
            other.max_delay,
            other.params,
        )

    __hash__ = None


class DenseLowering:
    """A dataclass ``weights`` field (``field(default=DenseLowering())``: the default is None)
    of an object with a ``conv = (ConvSpec, kernel)`` attribute: the weights given, or, when
    none were, the conv's :meth:`ConvSpec.dense_matrix` built on first access and kept
    (read-only). ``channel_axis``: the weights are ``(1, axons, neurons)`` (a core's) instead
    of ``(axons, neurons)``. Conv projections and convolution cores keep only their kernels;
    the dense lowering is the semantics and stays available to any code that asks for it."""

    def __init__(self, *, channel_axis: bool = False) -> None:
        self.channel_axis = channel_axis

    def __set_name__(self, owner, name):
        self.slot = f"_{name}"

    def __get__(self, instance, owner=None):
        if instance is None:
            return None
        weights = instance.__dict__[self.slot]
        if weights is None and instance.conv is not None:
            spec, kernel = instance.conv
            weights = spec.dense_matrix(kernel)
            if self.channel_axis:
                weights = weights[np.newaxis]
            weights.setflags(write=False)
            instance.__dict__[self.slot] = weights
        return weights

    def __set__(self, instance, value):
        # The dataclass passes the field's default, this descriptor, when none is given.
        instance.__dict__[self.slot] = None if value is self else value


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from ``source`` (an input group or a population) onto ``target`` (a
    population): ``weights[j, k]`` is the weight from source neuron ``j`` to target neuron
    ``k`` on input ``channel`` of the target's model; zero means no synapse.

    Optional (``docs/learning.md``):

    * ``synapses``: boolean (source, target) mask of the synapses, when a synapse may have a
      zero weight (a plastic one that learned 0); default ``weights != 0``. Weights outside it
      must be 0.
    * ``delays``: integer (source, target) array, ``delays[j, k]`` in ``1..D`` on every synapse
      (``D`` = the target's ``max_delay``) and 0 where there is no synapse. Delay 1 is the
      default timing; delay ``d`` acts ``d - 1`` steps later. ``None``: every delay is 1.
    * ``plasticity``: :class:`neurohw.model.stdp.STDPParams` makes the projection plastic
      (trace-based STDP); ``weights`` are then the initial weights, each within
      ``[w_min, w_max]``.
    * ``same_step``: the trainers' timing (``docs/system.md`` "Same-step projections"): the
      source population's spikes of step ``t`` reach the target in step ``t`` itself (plus
      ``delay - 1`` steps), instead of ``t + 1``. The source must be a population, and the
      same-step projections of a network must not form a cycle.
    * ``weight_shift`` and ``count_cap`` (``docs/system.md`` "Per-projection shift and cap"):
      the projection adds ``min(count, count_cap) * (weight << weight_shift)``, as Xylo shifts
      its input and recurrent weights separately and caps input and recurrent counts
      separately. The target population's ``input_count_cap`` and ``input_shift`` still apply
      on top: the count is capped at the smaller of the two caps, and the target's
      ``input_shift`` shifts the summed drive (so a projection's weights are shifted by
      ``weight_shift + input_shift`` in all). The shifted weights must fit 16 bits signed (the
      widest weight of a core); ``count_cap`` is refused on a graded input group (a value is
      not a count) and both on a plastic projection (STDP bounds the stored weights).
    * ``conv``: ``(ConvSpec, integer kernel)`` when the projection is one convolution layer
      (:class:`neurohw.hw.conv.ConvSpec`, kernel ``(out_channels, C, Kh, Kw)``); its dense
      lowering :meth:`ConvSpec.dense_matrix <neurohw.hw.conv.ConvSpec.dense_matrix>` stays
      the semantics. Leave ``weights`` out (``Projection(source, target, conv=(spec,
      kernel))``): the model, the quantizer and the mapper compute with the kernel
      (:meth:`drive`, :meth:`fan_out`), and ``weights`` is the dense lowering built on first
      access only (``docs/system.md``, "Conv projections without a dense matrix"). Given
      ``weights`` (files written before) must be exactly that lowering. The structure lets
      :func:`neurohw.network.map_network` place it on a convolution core (``docs/system.md``,
      "Convolution cores"). Refused with delays, synapses, plasticity, ``weight_shift`` or
      ``count_cap``.
    """

    source: str
    target: str
    weights: np.ndarray | None = field(default=DenseLowering(), repr=False)
    channel: int = 0
    delays: np.ndarray | None = field(default=None, repr=False)
    synapses: np.ndarray | None = field(default=None, repr=False)
    plasticity: STDPParams | None = None
    same_step: bool = False
    weight_shift: int = 0
    count_cap: int | None = None
    conv: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        where = f"projection {self.source!r} -> {self.target!r}"
        object.__setattr__(
            self,
            "weight_shift",
            _check_int(f"{where} weight_shift", self.weight_shift, 0, MAX_WEIGHT_SHIFT),
        )
        if self.count_cap is not None:
            object.__setattr__(
                self,
                "count_cap",
                _check_int(f"{where} count_cap", self.count_cap, 1, MAX_COUNT_CAP),
            )
        if not isinstance(self.same_step, (bool, np.bool_)):
            raise NetworkError(f"{where}: same_step must be True or False, not {self.same_step!r}")
        object.__setattr__(self, "same_step", bool(self.same_step))
        if self.__dict__["_weights"] is None:  # left out: a conv projection's kernel gives them
            if self.conv is None:
                raise NetworkError(
                    f"{where}: weights are missing; only a conv projection (conv=(ConvSpec, "
                    f"kernel)) may leave them out"
                )
            object.__setattr__(self, "channel", _check_int(f"{where} channel", self.channel, 0))
            self._check_conv(where, None)
            return
        weights = np.asarray(self.weights)
        if weights.dtype.kind not in "iub":
            raise NetworkError(
                f"{where} weights must be "
                f"integers, not dtype {weights.dtype}; quantize float weights "
                f"first (neurohw.network.quantize)"
            )
        if weights.ndim != 2:
            raise NetworkError(
                f"{where} weights must be a 2-D (source, target) array, not shape {weights.shape}"
            )
        if weights.dtype.kind == "u" and weights.size and weights.max() > np.iinfo(np.int64).max:
            # astype(int64) would wrap 2**64 - 1 to -1.
            raise NetworkError(
                f"{where} weights must fit in int64, not {int(weights.max())} (dtype "
                f"{weights.dtype})"
            )
        weights = weights.astype(np.int64)
        weights.setflags(write=False)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "channel", _check_int(f"{where} channel", self.channel, 0))

        if self.synapses is not None:
            mask = np.asarray(self.synapses)
            if mask.dtype != bool or mask.shape != weights.shape:
                raise NetworkError(
                    f"{where}: synapses must be a boolean array of the weights' "
                    f"shape {weights.shape}, not {mask.dtype} {mask.shape}"
                )
            stray = np.argwhere((weights != 0) & ~mask)
            if len(stray):
                j, k = map(int, stray[0])
                raise NetworkError(
                    f"{where}: weights[{j}, {k}] = {int(weights[j, k])} where "
                    f"synapses is False; a non-zero weight needs a synapse"
                )
            mask = mask.copy()
            mask.setflags(write=False)
            object.__setattr__(self, "synapses", mask)
        mask = self.synapse_mask

        if self.delays is not None:
            delays = np.asarray(self.delays)
            if delays.dtype.kind not in "iu":
                raise NetworkError(f"{where}: delays must be integers, not dtype {delays.dtype}")
            if delays.shape != weights.shape:
                raise NetworkError(
                    f"{where}: delays must have the weights' shape "
                    f"{weights.shape}, not {delays.shape}"
                )
            delays = delays.astype(np.int64)
            low = np.argwhere(mask & (delays < 1))
            if len(low):
                j, k = map(int, low[0])
                raise NetworkError(
                    f"{where}: delays[{j}, {k}] = {int(delays[j, k])} on a "
                    f"synapse; a delay must be at least 1 step"
                )
            stray = np.argwhere(~mask & (delays != 0))
            if len(stray):
                j, k = map(int, stray[0])
                raise NetworkError(
                    f"{where}: delays[{j}, {k}] = {int(delays[j, k])} where "
                    f"there is no synapse (zero weight); set delays to 0 there"
                )
            delays.setflags(write=False)
            object.__setattr__(self, "delays", delays)

        if self.plasticity is not None:
            if not isinstance(self.plasticity, STDPParams):
                raise NetworkError(
                    f"{where}: plasticity must be a neurohw.model.stdp."
                    f"STDPParams or None, not {self.plasticity!r}"
                )
            if self.weight_shift or self.count_cap is not None:
                raise NetworkError(
                    f"{where}: a plastic projection takes no weight_shift or "
                    f"count_cap (weight_shift={self.weight_shift}, count_cap="
                    f"{self.count_cap}); STDP updates the stored weights and "
                    f"counts every spike"
                )
            inside = weights[mask]
            rule = self.plasticity
            if inside.size and (inside.min() < rule.w_min or inside.max() > rule.w_max):
                raise NetworkError(
                    f"{where}: initial weights range from {int(inside.min())} "
                    f"to {int(inside.max())}, outside the STDP bounds "
                    f"[w_min, w_max] = [{rule.w_min}, {rule.w_max}]"
                )

        if weights.size and self.weight_shift:
            low, high = -(1 << (SHIFTED_WEIGHT_BITS - 1)), (1 << (SHIFTED_WEIGHT_BITS - 1)) - 1
            w_min, w_max = int(weights.min()), int(weights.max())
            if (w_min << self.weight_shift) < low or (w_max << self.weight_shift) > high:
                raise NetworkError(
                    f"{where}: weights from {w_min} to {w_max} shifted by "
                    f"weight_shift={self.weight_shift} range from "
                    f"{w_min << self.weight_shift} to "
                    f"{w_max << self.weight_shift}, outside the "
                    f"{SHIFTED_WEIGHT_BITS}-bit signed weights a core stores "
                    f"([{low}, {high}]); use a smaller weight_shift"
                )

        if self.conv is not None:
            self._check_conv(where, weights)

    def _check_conv(self, where, weights):
        from ..hw.conv import ConvSpec

        if not isinstance(self.conv, tuple) or len(self.conv) != 2:
            raise NetworkError(f"{where}: conv must be (ConvSpec, kernel), not {self.conv!r}")
        spec, kernel = self.conv
        if not isinstance(spec, ConvSpec):
            raise NetworkError(f"{where}: conv[0] must be a neurohw.hw.conv.ConvSpec, not {spec!r}")
        extras = {
            "delays": self.delays is not None,
            "synapses": self.synapses is not None,
            "plasticity": self.plasticity is not None,
            "weight_shift": self.weight_shift != 0,
            "count_cap": self.count_cap is not None,
        }
        used = [name for name, present in extras.items() if present]
        if used:
            raise NetworkError(
                f"{where}: a conv projection takes no {', '.join(used)} (a convolution core "
                f"stores one kernel, without them)"
            )
        kernel = np.asarray(kernel)
        if kernel.dtype.kind not in "iu" or kernel.shape != spec.kernel_shape:
            raise NetworkError(
                f"{where}: conv kernel must be an integer array of shape {spec.kernel_shape}, "
                f"not {kernel.dtype} {kernel.shape}"
            )
        kernel = kernel.astype(np.int64)
        if weights is not None and (
            weights.shape != (spec.n_axons, spec.n_neurons)
            or not np.array_equal(weights, spec.dense_matrix(kernel))
        ):
            raise NetworkError(
                f"{where}: weights are not the dense lowering of the conv kernel "
                f"({spec!r}); conv must describe the weights exactly"
            )
        kernel.setflags(write=False)
        object.__setattr__(self, "conv", (spec, kernel))

    @property
    def shape(self) -> tuple[int, int]:
        """``(source size, target size)`` of the weights (of a conv projection's lowering,
        without building it)."""
        if self.conv is not None:
            spec = self.conv[0]
            return (spec.n_axons, spec.n_neurons)
        return self.weights.shape

    def weight_range(self) -> tuple[int, int]:
        """``(smallest, largest)`` weight (a conv projection's: of its kernel and, where the
        lowering has positions no kernel word reaches, 0)."""
        if self.conv is not None:
            kernel = self.conv[1]
            return min(0, int(kernel.min())), max(0, int(kernel.max()))
        return int(self.weights.min()), int(self.weights.max())

    def drive(self, values: np.ndarray) -> np.ndarray:
        """``values @ shifted_weights``: what ``values (..., source)`` (capped counts or graded
        values) add to the target, int64; a conv projection computes it from its kernel
        (:meth:`ConvSpec.apply <neurohw.hw.conv.ConvSpec.apply>`)."""
        if self.conv is not None:
            spec, kernel = self.conv
            return spec.apply(kernel, values)
        return np.asarray(values, dtype=np.int64) @ self.shifted_weights

    def fan_out(self) -> np.ndarray:
        """Non-zero weights of each source neuron, ``(source,)`` (``np.count_nonzero(weights,
        axis=1)``; a conv projection's from its kernel, :meth:`ConvSpec.fan_out
        <neurohw.hw.conv.ConvSpec.fan_out>`)."""
        if self.conv is not None:
            spec, kernel = self.conv
            return spec.fan_out(kernel)
        return np.count_nonzero(self.weights, axis=1)

    @property
    def shifted_weights(self) -> np.ndarray:
        """``weights << weight_shift``: what one count adds (before the target's
        ``input_shift``); the mapper stores these in the cores."""
        return self.weights << self.weight_shift if self.weight_shift else self.weights

    @property
    def synapse_mask(self) -> np.ndarray:
        """Boolean (source, target): where a synapse exists."""
        return self.synapses if self.synapses is not None else self.weights != 0

    @property
    def n_synapses(self) -> int:
        if self.conv is not None:
            return int(self.fan_out().sum())
        return int(np.count_nonzero(self.synapse_mask))

    @property
    def largest_delay(self) -> int:
        """The longest delay of any synapse (1 without delays or synapses)."""
        if self.delays is None or not self.delays.size:
            return 1
        return max(1, int(self.delays.max()))

    @property
    def plastic(self) -> bool:
        return self.plasticity is not None

    @property
    def key(self) -> tuple[str, str, int]:
        """``(source, target, channel)``: unique within a network."""
        return (self.source, self.target, self.channel)

    def __eq__(self, other):
        if not isinstance(other, Projection):
            return NotImplemented

        def optional(a, b):
            if a is None or b is None:
                return a is None and b is None
            return np.array_equal(a, b)

        def same_synapses():
            if self.conv is not None and other.conv is not None:
                (spec, kernel), (other_spec, other_kernel) = self.conv, other.conv
                if spec == other_spec and np.array_equal(kernel, other_kernel):
                    # The same lowering, without building it (a conv projection has neither
                    # delays nor a synapse mask).
                    return True
            return (
                np.array_equal(self.weights, other.weights)
                and optional(self.delays, other.delays)
                and np.array_equal(self.synapse_mask, other.synapse_mask)
            )

        return (
            (self.source, self.target, self.channel) == (other.source, other.target, other.channel)
            and same_synapses()
            and self.plasticity == other.plasticity
            and self.same_step == other.same_step
            and (self.weight_shift, self.count_cap) == (other.weight_shift, other.count_cap)
        )

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
        for kind, items, store, cls in (
            ("input group", inputs, self.inputs, InputGroup),
            ("population", populations, self.populations, Population),
        ):
            for item in items:
                if not isinstance(item, cls):
                    raise NetworkError(f"{kind}s must be {cls.__name__} objects, not {item!r}")
                if item.name in self.inputs or item.name in self.populations:
                    raise NetworkError(
                        f"the name {item.name!r} is used twice; input groups and "
                        f"populations need distinct names"
                    )
                store[item.name] = item
        if not self.populations:
            raise NetworkError("a network needs at least one population")

        self.projections: tuple[Projection, ...] = tuple(projections)
        seen = set()
        for projection in self.projections:
            if not isinstance(projection, Projection):
                raise NetworkError(f"projections must be Projection objects, not {projection!r}")
            self._check_projection(projection)
            key = (projection.source, projection.target, projection.channel)
            if key in seen:
                raise NetworkError(
                    f"two projections {projection.source!r} -> "
                    f"{projection.target!r} on channel {projection.channel}; "
                    f"merge them into one weight matrix"
                )
            seen.add(key)
        self._check_graded_targets()
        self._check_per_event_targets()

        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        for name in outputs:
            if name not in self.populations:
                allowed = ", ".join(map(repr, self.populations))
                raise NetworkError(f"output {name!r} is not a population; populations: {allowed}")
        if len(set(outputs)) != len(outputs):
            raise NetworkError(f"outputs list a population twice: {outputs!r}")
        if not outputs:
            raise NetworkError("a network needs at least one output population")
        self.outputs: tuple[str, ...] = tuple(outputs)
        self.step_order: tuple[str, ...] = self._step_order()

    def _step_order(self) -> tuple[str, ...]:
        """The populations in the order one step computes them: every same-step source before
        its targets, otherwise network order (a stable topological sort)."""
        pending = {
            name: {
                p.source
                for p in self.projections
                if p.same_step and p.target == name and p.source != name
            }
            for name in self.populations
        }
        for projection in self.projections:
            if projection.same_step and projection.source == projection.target:
                raise NetworkError(
                    f"projection {projection.source!r} -> {projection.target!r} "
                    f"is same_step onto its own source: a population cannot "
                    f"see its own spikes of the step it computes; a recurrent "
                    f"projection takes one step (same_step=False)"
                )
        order = []
        while pending:
            ready = [name for name, sources in pending.items() if not sources]
            if not ready:
                cycle = " -> ".join(sorted(pending))
                raise NetworkError(
                    f"the same-step projections among populations {cycle} form "
                    f"a cycle (an algebraic loop); at least one projection of "
                    f"the cycle must take one step (same_step=False)"
                )
            name = ready[0]
            order.append(name)
            del pending[name]
            for sources in pending.values():
                sources.discard(name)
        return tuple(order)

    @property
    def has_same_step(self) -> bool:
        """Whether any projection uses the trainers' same-step timing."""
        return any(p.same_step for p in self.projections)

    def _check_projection(self, projection: Projection):
        where = f"projection {projection.source!r} -> {projection.target!r}"
        sizes = {
            **{n: g.size for n, g in self.inputs.items()},
            **{n: p.size for n, p in self.populations.items()},
        }
        if projection.source not in sizes:
            raise NetworkError(
                f"{where}: source {projection.source!r} is neither an input group nor a population"
            )
        if projection.target not in self.populations:
            kind = "an input group" if projection.target in self.inputs else "unknown"
            raise NetworkError(
                f"{where}: target {projection.target!r} is {kind}; targets must be populations"
            )
        if projection.same_step and projection.source in self.inputs:
            raise NetworkError(
                f"{where}: same_step=True from input group "
                f"{projection.source!r}; an input group's counts of step t "
                f"always act in step t, so same_step applies to population "
                f"sources only"
            )
        if projection.same_step and projection.plastic:
            raise NetworkError(
                f"{where}: a plastic projection cannot be same_step; STDP is "
                f"defined for the one-step timing (docs/learning.md)"
            )
        group = self.inputs.get(projection.source)
        if projection.count_cap is not None and group is not None and group.graded:
            raise NetworkError(
                f"{where}: count_cap={projection.count_cap} on graded input "
                f"group {group.name!r} (value_bits={group.value_bits}); a "
                f"graded event carries a value, not a count, so it takes no "
                f"cap"
            )
        target = self.populations[projection.target]
        expected = (sizes[projection.source], target.size)
        if projection.shape != expected:
            raise NetworkError(
                f"{where}: weights must have shape (source, target) = "
                f"{expected}, not {projection.shape}"
            )
        channels = target.params.input_channels
        if projection.channel >= channels:
            raise NetworkError(
                f"{where}: channel {projection.channel} does not exist; the "
                f"target's model has {channels} input channel(s) (0 to "
                f"{channels - 1})"
            )
        width = target.weight_width
        low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
        if np.prod(projection.shape):
            w_min, w_max = projection.weight_range()
            if w_min < low or w_max > high:
                raise NetworkError(
                    f"{where}: weights range from {w_min} to {w_max}, outside "
                    f"the target's weight_width={width} bits ([{low}, {high}])"
                )
        rule = projection.plasticity
        if rule is not None and (rule.w_min < low or rule.w_max > high):
            raise NetworkError(
                f"{where}: STDP bounds [w_min, w_max] = [{rule.w_min}, "
                f"{rule.w_max}] lie outside the target's weight_width={width} "
                f"bits ([{low}, {high}])"
            )
        if projection.delays is not None and projection.largest_delay > target.max_delay:
            j, k = map(int, np.argwhere(projection.delays > target.max_delay)[0])
            raise NetworkError(
                f"{where}: delays[{j}, {k}] = {int(projection.delays[j, k])} "
                f"exceeds max_delay={target.max_delay} of population "
                f"{projection.target!r}; give the target a larger max_delay "
                f"(Population(..., max_delay={projection.largest_delay}))"
            )

    def _check_graded_targets(self):
        """A graded value is not a spike: STDP's traces count spikes, and a learning core
        depresses a row once per event, so a population that learns takes no graded input."""
        learners = {p.target: p for p in self.projections if p.plastic}
        for projection in self.projections:
            group = self.inputs.get(projection.source)
            if group is None or not group.graded or projection.target not in learners:
                continue
            plastic = learners[projection.target]
            raise NetworkError(
                f"projection {projection.source!r} -> {projection.target!r}: input group "
                f"{group.name!r} is graded (value_bits={group.value_bits}) and population "
                f"{projection.target!r} learns (projection {plastic.source!r} -> "
                f"{plastic.target!r} is plastic); STDP counts spikes, not values: feed a "
                f"learning population from a spike-count input group"
            )

    def _check_per_event_targets(self):
        """A 'per_event' population adds each spike in the network's event order: a graded
        value (the core multiplies it only when accumulating 'sum') and STDP (defined on the
        summed drive of a learning core) cannot reach it."""
        for projection in self.projections:
            target = self.populations[projection.target]
            if not target.per_event:
                continue
            where = f"projection {projection.source!r} -> {projection.target!r}"
            group = self.inputs.get(projection.source)
            if group is not None and group.graded:
                raise NetworkError(
                    f"{where}: input group {group.name!r} is graded (value_bits="
                    f"{group.value_bits}) and population {target.name!r} uses accumulation "
                    f"'per_event'; a core adds graded values only with accumulation 'sum': "
                    f"feed a 'per_event' population from a spike-count input group"
                )
            if projection.plastic:
                raise NetworkError(
                    f"{where} is plastic and population {target.name!r} uses accumulation "
                    f"'per_event'; STDP is defined on cores that accumulate 'sum': give the "
                    f"target accumulation 'sum' or make the projection static"
                )

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
    def plastic_projections(self) -> tuple[Projection, ...]:
        return tuple(p for p in self.projections if p.plasticity is not None)

    @property
    def n_neurons(self) -> int:
        return sum(p.size for p in self.populations.values())

    @property
    def n_synapses(self) -> int:
        return sum(p.n_synapses for p in self.projections)

    def summary(self) -> str:
        lines = [
            f"network: {len(self.inputs)} input group(s), {len(self.populations)} "
            f"population(s), {self.n_neurons} neurons, {self.n_synapses} synapses"
        ]
        for group in self.inputs.values():
            low, high = group.value_range
            what = (
                f"{'signed ' if group.signed else ''}{group.value_bits}-bit values {low}..{high}"
                if group.graded
                else f"counts 0..{group.max_count}"
            )
            lines.append(f"  input {group.name}: {group.size} lines, {what}")
        for pop in self.populations.values():
            out = " (output)" if pop.name in self.outputs else ""
            lines.append(
                f"  population {pop.name}: {pop.size} neurons, {pop.weight_width}-bit weights{out}"
            )
        for proj in self.projections:
            extras = "".join(
                [
                    f", weight_shift {proj.weight_shift}" if proj.weight_shift else "",
                    f", count_cap {proj.count_cap}" if proj.count_cap is not None else "",
                ]
            )
            lines.append(
                f"  {proj.source} -> {proj.target} (channel {proj.channel}): "
                f"{proj.n_synapses} synapses{extras}"
            )
        return "\n".join(lines)

    def __eq__(self, other):
        if not isinstance(other, Network):
            return NotImplemented
        return (
            self.inputs == other.inputs
            and self.populations == other.populations
            and self.projections == other.projections
            and self.outputs == other.outputs
        )

    __hash__ = None

    def __repr__(self):
        return (
            f"Network(inputs={list(self.inputs)}, populations={list(self.populations)}, "
            f"projections={len(self.projections)}, outputs={list(self.outputs)})"
        )

    # --- file format ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """JSON-serializable description without the weights (see :meth:`save`)."""
        return {
            "format": "neurohw-network",
            "version": FORMAT_VERSION,
            # Graded fields appear only when used, so older files keep their bytes.
            "inputs": [
                {
                    "name": g.name,
                    "size": g.size,
                    "max_count": g.max_count,
                    **({"value_bits": g.value_bits, "signed": g.signed} if g.graded else {}),
                }
                for g in self.inputs.values()
            ],
            "populations": [
                {
                    "name": p.name,
                    "size": p.size,
                    "weight_width": p.weight_width,
                    "params": p.params.to_dict(),
                    **({"max_delay": p.max_delay} if p.max_delay != 1 else {}),
                }
                for p in self.populations.values()
            ],
            "projections": [self._projection_dict(i, p) for i, p in enumerate(self.projections)],
            "outputs": list(self.outputs),
        }

    @staticmethod
    def _projection_dict(index: int, projection: Projection) -> dict:
        # Optional entries appear only when used, so older files keep their bytes.
        out = {
            "source": projection.source,
            "target": projection.target,
            "channel": projection.channel,
        }
        if projection.conv is None:
            # A conv projection is stored as its kernel alone (files written before also have
            # its dense lowering, which loading checks against the kernel).
            out["weights"] = f"weights_{index}"
        if projection.delays is not None:
            out["delays"] = f"delays_{index}"
        if projection.synapses is not None:
            out["synapses"] = f"synapses_{index}"
        if projection.plasticity is not None:
            out["plasticity"] = projection.plasticity.to_dict()
        if projection.same_step:
            out["same_step"] = True
        if projection.weight_shift:
            out["weight_shift"] = projection.weight_shift
        if projection.count_cap is not None:
            out["count_cap"] = projection.count_cap
        if projection.conv is not None:
            spec = projection.conv[0]
            out["conv"] = {
                "in_shape": list(spec.in_shape),
                "out_channels": spec.out_channels,
                "kernel_size": list(spec.kernel_size),
                "stride": list(spec.stride),
                "padding": spec.padding if isinstance(spec.padding, str) else list(spec.pad_before),
                "dilation": list(spec.dilation),
                "kernel": f"kernel_{index}",
                **({"pool": list(spec.pool)} if spec.pooled else {}),
            }
        return out

    def _arrays(self) -> dict:
        arrays = {}
        for i, projection in enumerate(self.projections):
            if projection.conv is None:
                arrays[f"weights_{i}"] = projection.weights
            if projection.delays is not None:
                arrays[f"delays_{i}"] = projection.delays
            if projection.synapses is not None:
                arrays[f"synapses_{i}"] = projection.synapses
            if projection.conv is not None:
                arrays[f"kernel_{i}"] = projection.conv[1]
        return arrays

    def save(self, path) -> None:
        """Write one ``.npz`` file: ``network.json`` (the description) and one integer array
        per projection. Deterministic: the same network gives the same bytes."""
        arrays = {"network.json": json.dumps(self.to_dict(), indent=1, sort_keys=True).encode()}
        for name, array in self._arrays().items():
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
            arrays[f"{name}.npy"] = buffer.getvalue()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, payload in arrays.items():
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, payload)

    @classmethod
    def load(cls, path) -> Network:
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
                            io.BytesIO(member.read()), allow_pickle=False
                        )
        except (OSError, zipfile.BadZipFile, json.JSONDecodeError, ValueError) as error:
            if isinstance(error, NetworkError):
                raise
            raise NetworkError(f"{path}: cannot read a network file: {error}") from None
        return cls.from_dict(description, weights, where=str(path))

    @classmethod
    def from_dict(cls, description: dict, weights: dict, *, where: str = "network") -> Network:
        if description.get("format") != "neurohw-network":
            raise NetworkError(
                f"{where}: format must be 'neurohw-network', not {description.get('format')!r}"
            )
        if description.get("version") != FORMAT_VERSION:
            raise NetworkError(
                f"{where}: version {description.get('version')!r} is not "
                f"supported; this neurohw reads version {FORMAT_VERSION}"
            )
        try:
            inputs = [InputGroup(**g) for g in description["inputs"]]
            populations = [
                Population(
                    p["name"],
                    p["size"],
                    NeuronParams.from_dict(p["params"]),
                    p["weight_width"],
                    p.get("max_delay", 1),
                )
                for p in description["populations"]
            ]
            projections = []
            for p in description["projections"]:
                arrays = {}
                for entry in ("weights", "delays", "synapses"):
                    if entry not in p:
                        continue
                    if p[entry] not in weights:
                        raise NetworkError(
                            f"{where}: projection {p['source']!r} -> "
                            f"{p['target']!r} refers to missing array "
                            f"{p[entry]!r}"
                        )
                    arrays[entry] = weights[p[entry]]
                if "weights" not in arrays and "conv" not in p:
                    raise KeyError("weights")
                plasticity = p.get("plasticity")
                if plasticity is not None:
                    plasticity = STDPParams.from_dict(plasticity)
                conv = p.get("conv")
                if conv is not None:
                    conv = _conv_from_dict(conv, weights, where)
                projections.append(
                    Projection(
                        p["source"],
                        p["target"],
                        arrays.get("weights"),
                        p["channel"],
                        arrays.get("delays"),
                        arrays.get("synapses"),
                        plasticity,
                        p.get("same_step", False),
                        p.get("weight_shift", 0),
                        p.get("count_cap"),
                        conv,
                    )
                )
            return cls(
                inputs=inputs,
                populations=populations,
                projections=projections,
                outputs=description["outputs"],
            )
        except KeyError as error:
            raise NetworkError(f"{where}: missing entry {error.args[0]!r}") from None
        except (TypeError, ValueError, STDPError) as error:
            if isinstance(error, NetworkError) and str(error).startswith(where):
                raise
            raise NetworkError(f"{where}: {error}") from None


def _conv_from_dict(entry: dict, arrays: dict, where: str) -> tuple:
    """``(ConvSpec, kernel)`` of a projection's ``conv`` entry in a network file."""
    from ..hw.conv import ConvSpec

    if entry["kernel"] not in arrays:
        raise NetworkError(f"{where}: conv refers to missing array {entry['kernel']!r}")
    padding = entry["padding"]
    spec = ConvSpec(
        tuple(entry["in_shape"]),
        entry["out_channels"],
        tuple(entry["kernel_size"]),
        stride=tuple(entry["stride"]),
        padding=padding if isinstance(padding, str) else tuple(padding),
        dilation=tuple(entry["dilation"]),
        pool=tuple(entry.get("pool", (1, 1))),
    )
    return spec, arrays[entry["kernel"]]
