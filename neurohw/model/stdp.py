"""Trace-based pair STDP in fixed point: the definition the hardware will be checked against.

``docs/learning.md`` is the specification; this module implements it once, vectorized over a
batch of independent runs (every batch element has its own weights and traces). Everything is an
integer: traces are unsigned ``trace_width``-bit values, weights are signed and saturate at
``[w_min, w_max]``, products are right-shifted (floor, exact on non-negative values).

One step of a plastic projection from ``S`` source lines to ``T`` target neurons, given the
source's spikes delivered in this step (``pre``) and the target's spikes of this step (``post``).
A line or neuron *spikes* in a step when its count is at least 1 (learning sees a count ``k > 1``
as one spike). With ``X = 2^trace_width - 1`` and ``sat(v) = min(v, X)``:

1. ``x_pre = sat(decay_pre(x_pre) + pre_increment * pre_spiked)``  (every source line)
2. depression, for every synapse ``(j, k)`` whose source ``j`` spiked, with the post trace as
   it was at the end of the previous step (not decayed, without this step's post spikes):
   ``w = max(w - D, w_min)``, ``D = (a_minus * x_post[k] * h_minus) >> shift``
3. potentiation, for every synapse ``(j, k)`` whose target ``k`` spiked, with the pre trace of
   step 1: ``w = min(w + P, w_max)``, ``P = (a_plus * x_pre[j] * h_plus) >> shift``
4. ``x_post = sat(decay_post(x_post) + post_increment * post_spiked)``  (every target neuron)

``h_plus = h_minus = 1`` for ``weight_dependence="additive"``; for ``"soft"``
``h_plus = w_max - w`` and ``h_minus = w - w_min`` with the weight as it is when that update
is made (so a synapse depressed in step 2 is potentiated in step 3 from its depressed value).
Synapses outside the projection's synapse mask never change.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass, field

import numpy as np

from .fixedpoint import decay
from .params import Decay

__all__ = [
    "STDPParams",
    "STDPState",
    "WeightDependence",
    "initial_stdp_state",
    "stdp_step",
    "trace_update",
    "MAX_TRACE_WIDTH",
    "MAX_AMPLITUDE",
    "MAX_SHIFT",
    "STDPError",
]

MAX_TRACE_WIDTH = 16
MAX_AMPLITUDE = (1 << 16) - 1
#: a_plus (16 bits) * trace (16 bits) * headroom (17 bits) < 2^49: every product fits int64.
MAX_SHIFT = 48
_WEIGHT_LIMIT = 1 << 15


class STDPError(ValueError):
    """An STDP configuration or state that cannot be used; the message names the field."""


class WeightDependence(enum.Enum):
    #: updates independent of the weight (hard bounds by saturation only)
    ADDITIVE = "additive"
    #: potentiation scaled by ``w_max - w``, depression by ``w - w_min`` (soft bounds)
    SOFT = "soft"


def _int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise STDPError(f"STDP {name} must be an integer, not {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise STDPError(f"STDP {name} must be an integer between {low} and {high}, not {value}")
    return value


@dataclass(frozen=True)
class STDPParams:
    """Parameters of one plastic projection (``docs/learning.md``, "STDP").

    ``w_min <= w_max`` bound every plastic weight (16-bit signed at most; a network also checks
    them against the target's ``weight_width``). ``trace_width`` (1..16) is the unsigned width of
    both traces; the increments are added on a spike and the sum saturates at
    ``2^trace_width - 1``. ``pre_decay`` / ``post_decay`` are :class:`neurohw.model.Decay`
    operators (``docs/semantics.md`` section 3) applied once per step to every trace; on a
    non-negative trace every rounding gives a value in ``[0, x]``. Updates are
    ``(a * trace * h) >> shift`` with ``a_plus``/``a_minus`` in 0..65535 and ``shift`` in 0..48.
    """

    w_min: int = 0
    w_max: int = 127
    a_plus: int = 1
    a_minus: int = 1
    shift: int = 0
    trace_width: int = 8
    pre_increment: int = 128
    post_increment: int = 128
    pre_decay: Decay = field(default_factory=lambda: Decay.multiply(512, 12, rounding="floor"))
    post_decay: Decay = field(default_factory=lambda: Decay.multiply(512, 12, rounding="floor"))
    weight_dependence: WeightDependence | str = WeightDependence.ADDITIVE

    def __post_init__(self):
        w_min = _int("w_min", self.w_min, -_WEIGHT_LIMIT, _WEIGHT_LIMIT - 1)
        w_max = _int("w_max", self.w_max, -_WEIGHT_LIMIT, _WEIGHT_LIMIT - 1)
        if w_min > w_max:
            raise STDPError(f"STDP w_min must not exceed w_max, not w_min={w_min} > w_max={w_max}")
        object.__setattr__(self, "w_min", w_min)
        object.__setattr__(self, "w_max", w_max)
        object.__setattr__(self, "a_plus", _int("a_plus", self.a_plus, 0, MAX_AMPLITUDE))
        object.__setattr__(self, "a_minus", _int("a_minus", self.a_minus, 0, MAX_AMPLITUDE))
        object.__setattr__(self, "shift", _int("shift", self.shift, 0, MAX_SHIFT))
        width = _int("trace_width", self.trace_width, 1, MAX_TRACE_WIDTH)
        object.__setattr__(self, "trace_width", width)
        for name in ("pre_increment", "post_increment"):
            object.__setattr__(self, name, _int(name, getattr(self, name), 0, (1 << width) - 1))
        for name in ("pre_decay", "post_decay"):
            value = getattr(self, name)
            if isinstance(value, dict):
                try:
                    value = Decay(**value)
                except (TypeError, ValueError) as error:
                    raise STDPError(f"STDP {name}: {error}") from None
            if not isinstance(value, Decay):
                raise STDPError(f"STDP {name} must be a neurohw.model.Decay, not {value!r}")
            if value.per_neuron:
                # A trace belongs to an axon or a neuron of a whole rule; one constant serves all.
                raise STDPError(
                    f"STDP {name} takes one shared decay constant, not one per "
                    f"neuron ({value.constant.tolist()!r})"
                )
            object.__setattr__(self, name, value)
        dependence = self.weight_dependence
        try:
            dependence = WeightDependence(
                dependence.value if isinstance(dependence, WeightDependence) else dependence
            )
        except ValueError:
            raise STDPError(
                f"STDP weight_dependence must be 'additive' or 'soft', not {dependence!r}"
            ) from None
        object.__setattr__(self, "weight_dependence", dependence)

    @property
    def trace_max(self) -> int:
        return (1 << self.trace_width) - 1

    def to_dict(self) -> dict:
        def decay_dict(d):
            return {
                "kind": d.kind.value,
                "constant": d.constant,
                "bits": d.bits,
                "offset": d.offset,
                "rounding": d.rounding.value,
            }

        return {
            "w_min": self.w_min,
            "w_max": self.w_max,
            "a_plus": self.a_plus,
            "a_minus": self.a_minus,
            "shift": self.shift,
            "trace_width": self.trace_width,
            "pre_increment": self.pre_increment,
            "post_increment": self.post_increment,
            "pre_decay": decay_dict(self.pre_decay),
            "post_decay": decay_dict(self.post_decay),
            "weight_dependence": self.weight_dependence.value,
        }

    @classmethod
    def from_dict(cls, description: dict) -> STDPParams:
        if not isinstance(description, dict):
            raise STDPError(f"STDP parameters must be a mapping, not {description!r}")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(description) - known)
        if unknown:
            raise STDPError(
                f"unknown STDP parameter(s) {', '.join(map(repr, unknown))}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        return cls(**description)


@dataclass(frozen=True)
class STDPState:
    """Learning state of one plastic projection for a batch: ``weights`` (batch, S, T),
    ``pre_trace`` (batch, S) and ``post_trace`` (batch, T), all int64."""

    weights: np.ndarray
    pre_trace: np.ndarray
    post_trace: np.ndarray

    @property
    def batch(self) -> int:
        return self.weights.shape[0]


def initial_stdp_state(params: STDPParams, weights, batch: int = 1, *, synapses=None) -> STDPState:
    """Zero traces and ``weights`` ((S, T), copied for every batch element, or (batch, S, T)).
    Weights of synapses must lie in ``[w_min, w_max]``; outside ``synapses`` they must be 0."""
    weights = np.asarray(weights)
    if weights.dtype.kind not in "iub":
        raise STDPError(f"STDP weights must be integers, not dtype {weights.dtype}")
    if weights.ndim == 2:
        weights = np.broadcast_to(weights, (batch,) + weights.shape)
    if weights.ndim != 3 or weights.shape[0] != batch:
        raise STDPError(
            f"STDP weights must have shape (S, T) or (batch={batch}, S, T), not {weights.shape}"
        )
    weights = weights.astype(np.int64).copy()
    mask = _mask(synapses, weights.shape[1:])
    _check_weights(params, weights, mask)
    return STDPState(
        weights=weights,
        pre_trace=np.zeros(weights.shape[:2], dtype=np.int64),
        post_trace=np.zeros((batch, weights.shape[2]), dtype=np.int64),
    )


def _mask(synapses, shape):
    if synapses is None:
        return np.ones(shape, dtype=bool)
    mask = np.asarray(synapses)
    if mask.dtype != bool or mask.shape != shape:
        raise STDPError(
            f"synapses must be a boolean array of shape {shape}, not {mask.dtype} {mask.shape}"
        )
    return mask


def _check_weights(params, weights, mask):
    inside = weights[:, mask]
    if inside.size and (inside.min() < params.w_min or inside.max() > params.w_max):
        raise STDPError(
            f"plastic weights range from {int(inside.min())} to "
            f"{int(inside.max())}, outside the STDP bounds [w_min, w_max] = "
            f"[{params.w_min}, {params.w_max}]"
        )
    if np.any(weights[:, ~mask]):
        raise STDPError("weights outside the synapse mask must be 0")


def trace_update(trace, spiked, spec: Decay, increment: int, trace_max: int) -> np.ndarray:
    """``min(decay(x) + increment * spiked, trace_max)`` (steps 1 and 4)."""
    decayed = decay(trace, spec)
    return np.minimum(decayed + increment * spiked.astype(np.int64), trace_max)


def stdp_step(
    params: STDPParams, state: STDPState, pre, post, synapses=None, *, check: bool = True
) -> STDPState:
    """One learning step (module docstring, ``docs/learning.md``). ``pre`` (batch, S) are the
    source counts delivered in this step, ``post`` (batch, T) the target's counts of this step;
    ``synapses`` (S, T) bool is the synapse mask (default: every pair). Returns the new state;
    the given one is not modified."""
    weights = state.weights
    batch, n_pre, n_post = weights.shape
    pre = np.asarray(pre)
    post = np.asarray(post)
    if check:
        if pre.shape != (batch, n_pre) or post.shape != (batch, n_post):
            raise STDPError(
                f"pre must have shape {(batch, n_pre)} and post {(batch, n_post)}, "
                f"not {pre.shape} and {post.shape}"
            )
        if pre.dtype.kind not in "iub" or post.dtype.kind not in "iub":
            raise STDPError("pre and post must be integer spike counts")
        if (pre.size and pre.min() < 0) or (post.size and post.min() < 0):
            raise STDPError("spike counts must not be negative")
    mask = _mask(synapses, (n_pre, n_post)) if (check or synapses is None) else synapses
    pre_spiked = pre > 0
    post_spiked = post > 0
    x_max = params.trace_max
    soft = params.weight_dependence is WeightDependence.SOFT

    # 1. Pre traces: decay, then this step's pre spikes.
    pre_trace = trace_update(
        state.pre_trace, pre_spiked, params.pre_decay, params.pre_increment, x_max
    )
    old_post = state.post_trace
    w = weights
    # 2. Depression at synapses whose source spiked, with last step's post trace.
    if pre_spiked.any() and params.a_minus:
        where = pre_spiked[:, :, None] & mask[None]
        amount = params.a_minus * old_post[:, None, :]
        if soft:
            amount = amount * (w - params.w_min)
        amount = amount >> params.shift
        w = np.where(where, np.maximum(w - amount, params.w_min), w)
    # 3. Potentiation at synapses whose target spiked, with this step's pre trace.
    if post_spiked.any() and params.a_plus:
        where = post_spiked[:, None, :] & mask[None]
        amount = params.a_plus * pre_trace[:, :, None]
        if soft:
            amount = amount * (params.w_max - w)
        amount = amount >> params.shift
        w = np.where(where, np.minimum(w + amount, params.w_max), w)
    # 4. Post traces: decay, then this step's post spikes.
    post_trace = trace_update(
        old_post, post_spiked, params.post_decay, params.post_increment, x_max
    )
    if w is weights:
        w = weights.copy()
    return STDPState(weights=w, pre_trace=pre_trace, post_trace=post_trace)
