"""Validated, immutable parameters of the integer LIF neuron.

Every field maps onto one sentence of ``docs/semantics.md``; the reference model, the fast path
and the hardware generator all read these objects and never re-derive semantics on their own.
Parameters are checked when the object is built, so a bad configuration fails where it is written,
not deep inside a simulation.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass, field, fields, replace

import numpy as np

__all__ = [
    "Overflow",
    "Rounding",
    "DecayKind",
    "Accumulation",
    "InputTiming",
    "MembraneUpdate",
    "Comparison",
    "ResetMode",
    "Decay",
    "NeuronParams",
    "state_range",
]

MIN_WIDTH = 2
MAX_WIDTH = 64


class Overflow(enum.Enum):
    """What happens when a state leaves the range of its width ``W``."""

    #: two's-complement wrap into ``[-2^(W-1), 2^(W-1) - 1]``
    WRAP = "wrap"
    #: Lava's wrap: modular, but into ``(-2^(W-1), 2^(W-1)]``
    WRAP_LAVA = "wrap_lava"
    #: clamp to ``[-2^(W-1), 2^(W-1) - 1]``
    SATURATE = "saturate"
    #: clamp to ``[-(2^(W-1) - 1), 2^(W-1) - 1]``
    SATURATE_SYMMETRIC = "saturate_symmetric"


class Rounding(enum.Enum):
    """Rounding of the multiply-and-shift decay ``x * f / 2^k``."""

    TOWARD_ZERO = "toward_zero"
    FLOOR = "floor"
    #: round half up: ``floor((x * f + 2^(k-1)) / 2^k)``
    NEAREST = "nearest"


class DecayKind(enum.Enum):
    NONE = "none"
    #: ``x * (2^k - constant - offset) / 2^k``, rounded
    MULTIPLY = "multiply"
    #: ``x - L(x)`` with ``L(x) = x >> constant``, but at least 1 for positive ``x`` (Xylo)
    SHIFT = "shift"


class Accumulation(enum.Enum):
    #: all weighted input of a step is summed exactly, then the state's overflow policy applies once
    SUM = "sum"
    #: one add per incoming spike, each followed by the state's overflow policy, in axon order
    PER_EVENT = "per_event"


class InputTiming(enum.Enum):
    """Whether a synaptic current receives this step's input before or after it decays."""

    BEFORE_DECAY = "before_decay"
    AFTER_DECAY = "after_decay"


class MembraneUpdate(enum.Enum):
    #: ``v = P(decay(v) + I + bias)``: one projection onto the width (Loihi)
    SUM = "sum"
    #: ``dv = P(wrap(decay(v) - v) + I)``, ``dv = P(dv + bias)``, ``v = P(v + dv)`` (Xylo)
    DELTA = "delta"


class Comparison(enum.Enum):
    GREATER = ">"
    GREATER_EQUAL = ">="


class ResetMode(enum.Enum):
    ZERO = "zero"
    VALUE = "value"
    #: subtract the threshold once per spike, up to ``max_spikes`` spikes in one step
    SUBTRACT = "subtract"
    NONE = "none"


def _coerce_enum(enum_type, value, name):
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum_type)
        raise ValueError(f"{name} must be one of {allowed}, not {value!r}") from None


def _check_int(value, name, *, low=None, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bounds = f"between {low} and {high}"
        elif low is not None:
            bounds = f"at least {low}"
        else:
            bounds = f"at most {high}"
        raise ValueError(f"{name} must be an integer {bounds}, not {value}")
    return value


def _int_or_per_neuron(value, name):
    """A scalar integer, or a read-only 1-D int64 array of per-neuron values."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    array = np.asarray(value)
    if array.ndim != 1 or array.dtype.kind not in "iu" or array.size == 0:
        raise TypeError(
            f"{name} must be an integer or a non-empty 1-D integer array, not {value!r}"
        )
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{name} values must fit in int64")
    array = array.astype(np.int64, copy=True)
    array.setflags(write=False)
    return array


def _check_int_or_per_neuron(value, name, *, low, high):
    """A scalar integer checked like :func:`_check_int`, or a per-neuron array whose every value
    lies in ``[low, high]`` (the error names the first offending neuron)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return _check_int(value, name, low=low, high=high)
    array = _int_or_per_neuron(value, name)
    bad = np.flatnonzero((array < low) | (array > high))
    if bad.size:
        raise ValueError(
            f"{name}[{int(bad[0])}] must be an integer between {low} and {high}, "
            f"not {int(array[bad[0]])}"
        )
    return array


#: The integer fields of :class:`NeuronParams` that may hold one value per neuron.
_PER_NEURON_INTEGER_FIELDS = (
    "threshold",
    "bias_mantissa",
    "bias_exponent",
    "reset_value",
    "drive_bias",
)


def state_range(width: int, overflow: Overflow) -> tuple[int, int]:
    """Inclusive ``(low, high)`` range that a state of this width and policy can hold."""
    half = 1 << (width - 1)
    if overflow is Overflow.WRAP_LAVA:
        return -half + 1, half
    if overflow is Overflow.SATURATE_SYMMETRIC:
        return -half + 1, half - 1
    return -half, half - 1


@dataclass(frozen=True, eq=False)
class Decay:
    """One decay operator; see ``docs/semantics.md`` section "Decay".

    ``constant`` of a 'multiply' or 'shift' decay is an integer shared by the population, or a
    1-D integer array with one value per neuron (trainers learn a decay per neuron).
    """

    kind: DecayKind | str = DecayKind.NONE
    constant: int | np.ndarray = 0
    bits: int = 12
    offset: int = 0
    rounding: Rounding | str = Rounding.TOWARD_ZERO

    def __post_init__(self):
        kind = _coerce_enum(DecayKind, self.kind, "decay kind")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(
            self, "rounding", _coerce_enum(Rounding, self.rounding, "decay rounding")
        )
        bits = _check_int(self.bits, "decay bits", low=1, high=32)
        object.__setattr__(self, "bits", bits)
        offset = _check_int(self.offset, "decay offset", low=0, high=1)
        object.__setattr__(self, "offset", offset)
        if kind is DecayKind.MULTIPLY:
            constant = _check_int_or_per_neuron(
                self.constant, "multiply decay constant", low=0, high=(1 << bits) - offset
            )
        elif kind is DecayKind.SHIFT:
            constant = _check_int_or_per_neuron(
                self.constant, "shift decay constant", low=0, high=63
            )
            if offset:
                raise ValueError(
                    f"decay offset applies to multiply decay only, not to {kind.value!r} decay"
                )
        else:
            constant = _check_int(self.constant, "decay constant")
            if constant != 0 or offset:
                raise ValueError(
                    "a decay of kind 'none' takes no constant or offset, "
                    f"not constant={constant}, offset={offset}"
                )
        object.__setattr__(self, "constant", constant)

    @property
    def per_neuron(self) -> bool:
        """True if the constant holds one value per neuron."""
        return isinstance(self.constant, np.ndarray)

    @property
    def factor(self):
        """The multiplier ``2^bits - constant - offset`` of a multiply decay (an int64 array
        when the constant is per neuron)."""
        return (1 << self.bits) - self.constant - self.offset

    def select_neurons(self, index) -> Decay:
        """This decay for a subset of the neurons (``index``: a slice or index array); a shared
        constant is kept as it is."""
        if not self.per_neuron:
            return self
        return replace(self, constant=self.constant[index])

    @classmethod
    def none(cls) -> Decay:
        return cls(DecayKind.NONE)

    @classmethod
    def multiply(cls, constant, bits=12, *, offset=0, rounding=Rounding.TOWARD_ZERO) -> Decay:
        return cls(DecayKind.MULTIPLY, constant, bits, offset, rounding)

    @classmethod
    def shift(cls, constant) -> Decay:
        return cls(DecayKind.SHIFT, constant)

    def __eq__(self, other):
        if not isinstance(other, Decay):
            return NotImplemented
        return _decay_to_dict(self) == _decay_to_dict(other)

    def __hash__(self):
        return hash(repr(sorted(_decay_to_dict(self).items())))


@dataclass(frozen=True, eq=False)
class NeuronParams:
    """The integer LIF neuron model of one population.

    ``threshold``, ``bias_mantissa``, ``bias_exponent``, ``reset_value``, ``drive_bias`` and the
    constants of the decays (``v_decay``, ``i_decay``) are scalars shared by the population or
    1-D arrays with one value per neuron; every other field is shared.
    """

    n_currents: int = 0
    v_width: int = 16
    i_width: int = 16
    v_overflow: Overflow | str = Overflow.SATURATE
    i_overflow: Overflow | str = Overflow.SATURATE
    v_decay: Decay = field(default_factory=Decay.none)
    i_decay: tuple[Decay, ...] = ()
    accumulation: Accumulation | str = Accumulation.SUM
    input_timing: InputTiming | str = InputTiming.AFTER_DECAY
    input_shift: int = 0
    input_count_cap: int | None = None
    membrane_update: MembraneUpdate | str = MembraneUpdate.SUM
    bias_mantissa: int | np.ndarray = 0
    bias_exponent: int | np.ndarray = 0
    threshold: int | np.ndarray = 64
    threshold_shift: int = 0
    comparison: Comparison | str = Comparison.GREATER
    reset: ResetMode | str = ResetMode.ZERO
    reset_value: int | np.ndarray = 0
    max_spikes: int = 1
    refractory_period: int = 0
    #: added to ``drive[0]`` every step, in weight units (before ``input_shift``): a constant
    #: input into the first synaptic current, or into the membrane when there is none
    drive_bias: int | np.ndarray = 0
    #: with reset 'subtract': the threshold of a spike is subtracted in the next step's
    #: membrane update, after the decay (snnTorch's ``reset_delay=True``), not at the spike
    reset_delay: bool = False
    #: with reset 'subtract': a neuron whose stored membrane passes the threshold test (it was
    #: left above threshold after its reset) tests this step against twice the threshold; the
    #: reset still subtracts it once (snnTorch's ``reset_delay=False`` re-test)
    recheck_reset: bool = False
    #: the drive bias enters channel 0 as ``drive_bias << drive_bias_shift`` (0..input_shift;
    #: None: ``input_shift``, i.e. in weight units): a smaller shift gives the constant input
    #: finer steps than a weight's, with the same range of ``drive_bias`` values
    drive_bias_shift: int | None = None

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        n_currents = _check_int(self.n_currents, "n_currents", low=0, high=2)
        set_("n_currents", n_currents)
        set_("v_width", _check_int(self.v_width, "v_width", low=MIN_WIDTH, high=MAX_WIDTH))
        set_("i_width", _check_int(self.i_width, "i_width", low=MIN_WIDTH, high=MAX_WIDTH))
        set_("v_overflow", _coerce_enum(Overflow, self.v_overflow, "v_overflow"))
        set_("i_overflow", _coerce_enum(Overflow, self.i_overflow, "i_overflow"))
        for name in ("v_decay",):
            if not isinstance(getattr(self, name), Decay):
                raise TypeError(f"{name} must be a Decay, not {getattr(self, name)!r}")
        i_decay = self.i_decay
        if isinstance(i_decay, Decay):
            i_decay = (i_decay,) * n_currents
        i_decay = tuple(i_decay)
        if len(i_decay) != n_currents or not all(isinstance(d, Decay) for d in i_decay):
            raise ValueError(
                f"i_decay must hold one Decay per synaptic current "
                f"({n_currents}), not {self.i_decay!r}"
            )
        set_("i_decay", i_decay)
        accumulation = _coerce_enum(Accumulation, self.accumulation, "accumulation")
        set_("accumulation", accumulation)
        input_timing = _coerce_enum(InputTiming, self.input_timing, "input_timing")
        set_("input_timing", input_timing)
        set_(
            "membrane_update", _coerce_enum(MembraneUpdate, self.membrane_update, "membrane_update")
        )
        set_("input_shift", _check_int(self.input_shift, "input_shift", low=0, high=32))
        if self.input_count_cap is not None:
            set_(
                "input_count_cap",
                _check_int(self.input_count_cap, "input_count_cap", low=1, high=1 << 16),
            )
        # Per neuron like Lava's bias_exp (Loihi stores a mantissa and an exponent per neuron).
        set_(
            "bias_exponent",
            _check_int_or_per_neuron(self.bias_exponent, "bias_exponent", low=0, high=32),
        )
        set_("threshold_shift", _check_int(self.threshold_shift, "threshold_shift", low=0, high=32))
        set_("comparison", _coerce_enum(Comparison, self.comparison, "comparison"))
        reset = _coerce_enum(ResetMode, self.reset, "reset")
        set_("reset", reset)
        set_("max_spikes", _check_int(self.max_spikes, "max_spikes", low=1, high=255))
        set_(
            "refractory_period",
            _check_int(self.refractory_period, "refractory_period", low=0, high=(1 << 16) - 1),
        )
        set_("threshold", _int_or_per_neuron(self.threshold, "threshold"))
        set_("bias_mantissa", _int_or_per_neuron(self.bias_mantissa, "bias_mantissa"))
        set_("reset_value", _int_or_per_neuron(self.reset_value, "reset_value"))
        set_("drive_bias", _int_or_per_neuron(self.drive_bias, "drive_bias"))
        if self.drive_bias_shift is not None:
            set_(
                "drive_bias_shift",
                _check_int(self.drive_bias_shift, "drive_bias_shift", low=0, high=self.input_shift),
            )

        # Options that only make sense together.
        if accumulation is Accumulation.PER_EVENT and n_currents == 0:
            raise ValueError(
                "accumulation 'per_event' needs a synaptic current to accumulate "
                "into (n_currents >= 1), not n_currents=0"
            )
        if input_timing is InputTiming.BEFORE_DECAY and n_currents == 0:
            raise ValueError(
                "input_timing 'before_decay' applies to synaptic currents; "
                "with n_currents=0 use 'after_decay'"
            )
        if reset is not ResetMode.SUBTRACT and self.max_spikes != 1:
            raise ValueError(
                f"max_spikes > 1 needs reset 'subtract', not reset "
                f"{reset.value!r} with max_spikes={self.max_spikes}"
            )
        if not isinstance(self.reset_delay, (bool, np.bool_)):
            raise TypeError(f"reset_delay must be True or False, not {self.reset_delay!r}")
        set_("reset_delay", bool(self.reset_delay))
        if self.reset_delay:
            # Each of these would need a rule the semantics does not define (section 5): a held
            # neuron's pending subtraction, several pending thresholds, a Xylo delta chain.
            if reset is not ResetMode.SUBTRACT:
                raise ValueError(
                    f"reset_delay=True needs reset 'subtract', not reset {reset.value!r}"
                )
            if self.membrane_update is not MembraneUpdate.SUM:
                raise ValueError(
                    f"reset_delay=True needs membrane_update 'sum', not "
                    f"{self.membrane_update.value!r}"
                )
            if self.max_spikes != 1:
                raise ValueError(
                    f"reset_delay=True needs max_spikes=1, not max_spikes={self.max_spikes}"
                )
            if self.refractory_period:
                raise ValueError(
                    f"reset_delay=True needs refractory_period=0, not "
                    f"refractory_period={self.refractory_period}"
                )
        if not isinstance(self.recheck_reset, (bool, np.bool_)):
            raise TypeError(f"recheck_reset must be True or False, not {self.recheck_reset!r}")
        set_("recheck_reset", bool(self.recheck_reset))
        if self.recheck_reset:
            # snnTorch's re-test is defined for one spike per step with its reset at the spike;
            # a held neuron or a Xylo delta chain would need rules snnTorch does not have.
            if reset is not ResetMode.SUBTRACT:
                raise ValueError(
                    f"recheck_reset=True needs reset 'subtract', not reset {reset.value!r}"
                )
            if self.reset_delay:
                raise ValueError(
                    "recheck_reset=True needs reset_delay=False (snnTorch re-tests only "
                    "without reset_delay)"
                )
            if self.membrane_update is not MembraneUpdate.SUM:
                raise ValueError(
                    f"recheck_reset=True needs membrane_update 'sum', not "
                    f"{self.membrane_update.value!r}"
                )
            if self.max_spikes != 1:
                raise ValueError(
                    f"recheck_reset=True needs max_spikes=1, not max_spikes={self.max_spikes}"
                )
            if self.refractory_period:
                raise ValueError(
                    f"recheck_reset=True needs refractory_period=0, not "
                    f"refractory_period={self.refractory_period}"
                )
        if reset is not ResetMode.VALUE and np.any(np.asarray(self.reset_value) != 0):
            raise ValueError(
                f"reset_value is used by reset 'value' only, not by reset {reset.value!r}"
            )

        # Before the range checks: the effective bias combines two arrays that may differ.
        sizes = {label: array.shape[0] for label, array in self.per_neuron_values().items()}
        if len(set(sizes.values())) > 1:
            listed = ", ".join(f"{label} {size}" for label, size in sizes.items())
            raise ValueError(
                f"per-neuron parameters must all have one value per neuron, but "
                f"their lengths differ: {listed}"
            )

        v_low, v_high = state_range(self.v_width, self.v_overflow)
        self._check_per_neuron_range(
            "threshold",
            self.effective_threshold,
            v_low,
            v_high,
            f"v_width={self.v_width} ({self.v_overflow.value})",
        )
        if reset is ResetMode.SUBTRACT and np.any(np.asarray(self.threshold) < 0):
            raise ValueError(
                f"threshold must be non-negative with reset 'subtract', "
                f"not {self._describe(self.threshold)}"
            )
        self._check_per_neuron_range(
            "bias", self.bias, v_low, v_high, f"v_width={self.v_width} ({self.v_overflow.value})"
        )
        self._check_per_neuron_range(
            "reset_value",
            self.reset_value,
            v_low,
            v_high,
            f"v_width={self.v_width} ({self.v_overflow.value})",
        )
        # drive_bias << input_shift is added to a current (or to the membrane input) and must
        # be a value that state can hold; the bounds below are those of drive_bias itself.
        if n_currents:
            target, low, high = (
                f"i_width={self.i_width} ({self.i_overflow.value})",
                *state_range(self.i_width, self.i_overflow),
            )
        else:
            target, low, high = (f"v_width={self.v_width} ({self.v_overflow.value})", v_low, v_high)
        shift = self.input_shift
        self._check_per_neuron_range(
            "drive_bias",
            self.drive_bias,
            -((-low) >> shift),
            high >> shift,
            f"{target} after input_shift={shift}",
        )

    @staticmethod
    def _describe(value):
        array = np.asarray(value)
        if array.ndim == 0:
            return str(int(array))
        return f"values from {int(array.min())} to {int(array.max())}"

    def _check_per_neuron_range(self, name, value, low, high, what):
        array = np.asarray(value, dtype=object)
        if array.size and (array.min() < low or array.max() > high):
            raise ValueError(
                f"{name} {self._describe_object(array)} cannot be held by "
                f"{what}: allowed range is [{low}, {high}]"
            )

    @staticmethod
    def _describe_object(array):
        if array.ndim == 0:
            return str(int(array))
        return f"(values from {int(array.min())} to {int(array.max())})"

    @property
    def effective_drive_bias_shift(self) -> int:
        """The shift of the drive bias: ``drive_bias_shift``, or ``input_shift`` when None."""
        return self.input_shift if self.drive_bias_shift is None else self.drive_bias_shift

    @property
    def effective_threshold(self):
        """``threshold << threshold_shift``, as an int or an object array (never overflows)."""
        return _shift_exact(self.threshold, self.threshold_shift)

    @property
    def bias(self):
        """``bias_mantissa << bias_exponent``, as an int or an object array (one value per
        neuron when the mantissa or the exponent is per neuron)."""
        return _shift_exact(self.bias_mantissa, self.bias_exponent)

    @property
    def input_channels(self) -> int:
        """Number of weight matrices a population of this model takes: one per current, or
        one for the membrane when there is no current."""
        return max(1, self.n_currents)

    @property
    def spike_count_width(self) -> int:
        """Bits needed for a neuron's spike count in one step."""
        return max(1, int(self.max_spikes).bit_length())

    def per_neuron_fields(self) -> tuple[str, ...]:
        """Names of the fields that hold per-neuron values (``v_decay`` and ``i_decay`` when a
        decay constant is per neuron); :meth:`select_neurons` slices them all."""
        names = [
            name
            for name in _PER_NEURON_INTEGER_FIELDS
            if isinstance(getattr(self, name), np.ndarray)
        ]
        if self.v_decay.per_neuron:
            names.append("v_decay")
        if any(d.per_neuron for d in self.i_decay):
            names.append("i_decay")
        return tuple(names)

    def per_neuron_values(self) -> dict[str, np.ndarray]:
        """Every per-neuron array, by a label that errors use too (``"threshold"``,
        ``"v_decay constant"``, ``"i_decay[0] constant"``, ...)."""
        values = {
            name: getattr(self, name)
            for name in _PER_NEURON_INTEGER_FIELDS
            if isinstance(getattr(self, name), np.ndarray)
        }
        if self.v_decay.per_neuron:
            values["v_decay constant"] = self.v_decay.constant
        for c, d in enumerate(self.i_decay):
            if d.per_neuron:
                values[f"i_decay[{c}] constant"] = d.constant
        return values

    def check_population_size(self, n_neurons: int) -> None:
        """Raise if a per-neuron array does not have ``n_neurons`` entries."""
        for label, array in self.per_neuron_values().items():
            size = array.shape[0]
            if size != n_neurons:
                raise ValueError(
                    f"{label} has {size} per-neuron values, but the population "
                    f"has {n_neurons} neurons"
                )

    def select_neurons(self, index) -> NeuronParams:
        """The parameters of a subset of the neurons (``index``: a slice or an index array),
        e.g. the neurons one core holds; shared fields are kept as they are."""
        changes = {}
        for name in self.per_neuron_fields():
            if name == "v_decay":
                changes[name] = self.v_decay.select_neurons(index)
            elif name == "i_decay":
                changes[name] = tuple(d.select_neurons(index) for d in self.i_decay)
            else:
                changes[name] = getattr(self, name)[index]
        return self.replace(**changes) if changes else self

    def replace(self, **changes) -> NeuronParams:
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain, JSON-serializable description (inverse of :meth:`from_dict`)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, Decay):
                value = _decay_to_dict(value)
            elif f.name == "i_decay":
                value = [_decay_to_dict(d) for d in value]
            elif isinstance(value, np.ndarray):
                value = value.tolist()
            if (f.name in ("reset_delay", "recheck_reset") and not value) or (
                f.name == "drive_bias_shift" and value is None
            ):
                # Left out when off, so that every description written before the field
                # existed (and every hash of one) stays the same.
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, description: dict) -> NeuronParams:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(description) - known)
        if unknown:
            raise ValueError(
                f"unknown neuron parameter(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        kwargs = dict(description)
        if "v_decay" in kwargs:
            kwargs["v_decay"] = _decay_from(kwargs["v_decay"], "v_decay")
        if "i_decay" in kwargs:
            kwargs["i_decay"] = tuple(_decay_from(d, "i_decay") for d in kwargs["i_decay"])
        for name in _PER_NEURON_INTEGER_FIELDS:
            if isinstance(kwargs.get(name), list):
                kwargs[name] = _integer_list(kwargs[name], name)
        return cls(**kwargs)

    def __eq__(self, other):
        if not isinstance(other, NeuronParams):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash(repr(sorted(self.to_dict().items())))


def _decay_to_dict(decay: Decay) -> dict:
    constant = decay.constant.tolist() if decay.per_neuron else decay.constant
    return {
        "kind": decay.kind.value,
        "constant": constant,
        "bits": decay.bits,
        "offset": decay.offset,
        "rounding": decay.rounding.value,
    }


def _decay_from(value, name) -> Decay:
    if isinstance(value, Decay):
        return value
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a Decay or a mapping, not {value!r}")
    value = dict(value)
    if isinstance(value.get("constant"), list):
        value["constant"] = _integer_list(value["constant"], f"{name} constant")
    return Decay(**value)


def _integer_list(values: list, name: str) -> np.ndarray:
    """A per-neuron list (from JSON) as int64, refusing (not truncating) a non-integer entry."""
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(
                f"{name} must be an integer or a list of integers, not {value!r} at index {index}"
            )
        if not np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max:
            raise ValueError(f"{name} values must fit in int64, not {value} at index {index}")
    return np.asarray(values, dtype=np.int64)


def _shift_exact(value, shift):
    """``value << shift`` without overflow: an int, or an object array when either operand is a
    per-neuron array (a per-neuron shift of a shared value broadcasts it)."""
    if isinstance(value, np.ndarray) or isinstance(shift, np.ndarray):
        return np.asarray(value).astype(object) << np.asarray(shift).astype(object)
    return int(value) << shift
