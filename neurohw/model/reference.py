"""The reference model: one time step of a population, written as the semantics reads.

This is the readable definition (``docs/semantics.md``). It is vectorized over neurons and over a
batch of independent runs, and uses integer arithmetic only. ``neurohw.model.fast`` is a compiled
path that must agree with it bit for bit.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from .fixedpoint import count_spikes_subtract, decay, project
from .params import (
    Accumulation,
    Comparison,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    ResetMode,
    state_range,
)

__all__ = ["NeuronState", "StepInput", "Trace", "initial_state", "step", "run", "check_weights"]

# Intermediate values are bounded by this many bits before we fall back to Python integers.
_INT64_SAFE_BITS = 62
#: Largest number of spikes one axon may carry in one step.
MAX_SPIKE_COUNT = (1 << 16) - 1


@dataclass(frozen=True)
class NeuronState:
    """State of a batch of populations at the end of a step.

    ``v``: membrane, shape (batch, neurons); ``i``: synaptic currents, shape
    (batch, n_currents, neurons); ``refractory``: remaining refractory steps, shape
    (batch, neurons); ``pending``: with ``reset_delay``, the spike count of the step that just
    ended, whose threshold the next step subtracts, shape (batch, neurons); None (no such
    state) without ``reset_delay``, where it reads as zeros.
    """

    v: np.ndarray
    i: np.ndarray
    refractory: np.ndarray
    pending: np.ndarray | None = None

    @property
    def batch(self) -> int:
        return self.v.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.v.shape[1]


@dataclass(frozen=True)
class Trace:
    """What :func:`run` recorded, one entry per step, each taken at the end of the step."""

    spikes: np.ndarray  # (steps, batch, neurons), spike counts
    v: np.ndarray | None = None  # (steps, batch, neurons)
    i: np.ndarray | None = None  # (steps, batch, n_currents, neurons)
    refractory: np.ndarray | None = None
    final_state: NeuronState | None = None


def _uses_int64(params: NeuronParams) -> bool:
    widest = max(params.v_width, params.i_width if params.n_currents else 0)
    decay_bits = max([d.bits + 1 for d in (params.v_decay, *params.i_decay)])
    # A membrane sum adds at most the decayed value, two currents and a bias: 3 more bits.
    return widest + decay_bits + 3 <= _INT64_SAFE_BITS


def _state_dtype(params: NeuronParams):
    return np.int64 if _uses_int64(params) else object


def initial_state(params: NeuronParams, n_neurons: int, batch: int = 1) -> NeuronState:
    """All states zero, as after reset."""
    n_neurons = _check_count(n_neurons, "n_neurons", low=1)
    batch = _check_count(batch, "batch", low=1)
    params.check_population_size(n_neurons)
    dtype = _state_dtype(params)
    return NeuronState(
        v=np.zeros((batch, n_neurons), dtype=dtype),
        i=np.zeros((batch, params.n_currents, n_neurons), dtype=dtype),
        refractory=np.zeros((batch, n_neurons), dtype=np.int64),
        pending=np.zeros((batch, n_neurons), dtype=np.int64) if params.reset_delay else None,
    )


def _check_count(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return int(value)


def check_weights(
    params: NeuronParams, weights, n_neurons: int | None = None, weight_width: int | None = None
) -> np.ndarray:
    """Validate a weight array and return it as int64 of shape (channels, axons, neurons).

    A 2-D array (axons, neurons) is accepted for a model with one input channel.
    """
    array = np.asarray(weights)
    if array.dtype.kind not in "iu":
        raise TypeError(f"weights must be an integer array, not dtype {array.dtype}")
    if array.ndim == 2 and params.input_channels == 1:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[0] != params.input_channels:
        raise ValueError(
            f"weights must have shape (channels={params.input_channels}, axons, "
            f"neurons), not {array.shape}"
        )
    if n_neurons is not None and array.shape[2] != n_neurons:
        raise ValueError(
            f"weights target {array.shape[2]} neurons, but the population has {n_neurons}"
        )
    if weight_width is not None:
        low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
        if array.size and (array.min() < low or array.max() > high):
            raise ValueError(
                f"weights must fit weight_width={weight_width} bits "
                f"([{low}, {high}]), but range from {array.min()} to {array.max()}"
            )
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        # astype(int64) would wrap 2**64 - 1 to -1.
        raise ValueError(f"weights must fit in int64, not {int(array.max())} (dtype {array.dtype})")
    return array.astype(np.int64, copy=False)


@dataclass(frozen=True)
class StepInput:
    """This step's synaptic input, in one of two forms.

    ``spikes`` (batch, axons) spike counts with ``weights`` (channels, axons, neurons): the
    definition. ``drive`` (batch, channels, neurons): the exact per-channel sum
    ``sum_a min(count_a, cap) * weights[c, a, n]`` computed elsewhere; only valid with
    accumulation 'sum', where the order of events cannot matter.
    """

    spikes: np.ndarray | None = None
    weights: np.ndarray | None = None
    drive: np.ndarray | None = None


def _capped_counts(params: NeuronParams, spikes) -> np.ndarray:
    counts = np.asarray(spikes)
    if counts.dtype.kind not in "iub":
        raise TypeError(f"spikes must be an integer or boolean array, not dtype {counts.dtype}")
    counts = counts.astype(np.int64)
    if counts.size and (counts.min() < 0 or counts.max() > MAX_SPIKE_COUNT):
        bad = counts.min() if counts.min() < 0 else counts.max()
        raise ValueError(f"spike counts must be between 0 and {MAX_SPIKE_COUNT}, not {bad}")
    if params.input_count_cap is not None:
        counts = np.minimum(counts, params.input_count_cap)
    return counts


def _drive_from(params: NeuronParams, step_input: StepInput, batch: int, n_neurons: int):
    """Exact per-channel drive (batch, channels, neurons) in weight units, int64 or object."""
    if step_input.drive is not None:
        drive = np.asarray(step_input.drive)
        if drive.dtype.kind not in "iu" and drive.dtype != object:
            raise TypeError(f"drive must be an integer array, not dtype {drive.dtype}")
        # Narrow dtypes would overflow when shifted, and uint64 does not mix with int64: widen
        # to int64 where every value fits, to Python integers otherwise.
        if drive.dtype != object:
            low, high = (int(drive.min()), int(drive.max())) if drive.size else (0, 0)
            fits = -(1 << 63) <= low and high < (1 << 63)
            drive = drive.astype(np.int64) if fits else drive.astype(object)
        expected = (batch, params.input_channels, n_neurons)
        if drive.shape != expected:
            raise ValueError(f"drive must have shape {expected}, not {drive.shape}")
        return drive
    counts = _capped_counts(params, step_input.spikes)
    weights = step_input.weights
    if counts.shape != (batch, weights.shape[1]):
        raise ValueError(
            f"spikes must have shape (batch={batch}, axons={weights.shape[1]}), not {counts.shape}"
        )
    # einsum in int64 is exact while |count * weight| sums stay below 2^62; a weight is at most
    # 32 bits and a count at most 2^16, so that holds for up to 2^14 axons; beyond, use objects.
    if weights.shape[1] <= (1 << 14) and (not weights.size or np.abs(weights).max() < (1 << 31)):
        return np.einsum("ba,can->bcn", counts, weights)
    return np.einsum("ba,can->bcn", counts.astype(object), weights.astype(object))


def _fits_int64(array, extra_bits: int) -> bool:
    if array.dtype == object:
        return False
    if not array.size:
        return True
    # Not np.abs: |-2^63| does not fit int64.
    magnitude = max(-int(array.min()), int(array.max()))
    return magnitude.bit_length() + extra_bits <= _INT64_SAFE_BITS


def step(params: NeuronParams, state: NeuronState, step_input: StepInput):
    """Advance every neuron by one time step. Returns ``(new_state, spike_counts)``.

    The order of operations is the one in ``docs/semantics.md``, section "One time step".
    """
    batch, n_neurons = state.batch, state.n_neurons
    if step_input.drive is None and (step_input.spikes is None or step_input.weights is None):
        raise ValueError("step input needs either drive, or spikes together with weights")
    if step_input.drive is not None and params.accumulation is Accumulation.PER_EVENT:
        raise ValueError(
            "accumulation 'per_event' needs spikes and weights, not a pre-summed "
            "drive: the order of the events matters"
        )
    weights = None
    if step_input.drive is None:
        weights = check_weights(params, step_input.weights, n_neurons)

    # The state's dtype alone is not enough: an int64 state of a configuration whose
    # intermediates can exceed 62 bits must still be computed exactly.
    exact = state.v.dtype == object or not _uses_int64(params)
    if params.accumulation is Accumulation.PER_EVENT and not exact:
        # k spikes of one axon add k * (w << shift) at once; keep that inside int64.
        cap_bits = (params.input_count_cap or MAX_SPIKE_COUNT).bit_length()
        exact = not _fits_int64(weights, params.input_shift + cap_bits + 1)
    as_exact = (lambda a: a.astype(object)) if exact else (lambda a: a)

    refractory = state.refractory > 0
    has_drive_bias = bool(np.any(np.asarray(params.drive_bias) != 0))

    # 1. Synaptic currents: input and decay, in the configured order.
    currents = []
    if params.accumulation is Accumulation.PER_EVENT:
        counts = _capped_counts(params, step_input.spikes)
        if counts.shape != (batch, weights.shape[1]):
            raise ValueError(
                f"spikes must have shape (batch={batch}, axons={weights.shape[1]}),"
                f" not {counts.shape}"
            )
        for c in range(params.n_currents):
            current = as_exact(state.i[:, c, :])
            spec = params.i_decay[c]
            if params.input_timing is InputTiming.AFTER_DECAY:
                current = project(decay(current, spec), params.i_width, params.i_overflow)
            if c == 0 and has_drive_bias:
                # The drive bias is one add and one projection, before the step's events.
                current = project(
                    current
                    + (
                        _per_neuron_exact(params.drive_bias, exact)
                        << params.effective_drive_bias_shift
                    ),
                    params.i_width,
                    params.i_overflow,
                )
            current = _accumulate_per_event(params, current, counts, weights[c], exact)
            if params.input_timing is InputTiming.BEFORE_DECAY:
                current = project(decay(current, spec), params.i_width, params.i_overflow)
            currents.append(current)
        membrane_drive = None
    else:
        drive = _drive_from(params, step_input, batch, n_neurons)
        shift = params.input_shift
        if has_drive_bias:
            # drive[0] = the step's input + drive_bias, exactly; both are then shifted and
            # projected together, once.
            drive_bias = np.asarray(params.drive_bias)
            if drive.dtype == object or not (_fits_int64(drive, 2) and _fits_int64(drive_bias, 2)):
                drive, drive_bias = drive.astype(object), drive_bias.astype(object)
            drive = drive.copy()
            # (drive << s) + (b << t) = ((drive << (s - t)) + b) << t, every channel shifted
            # by s in all: one exact sum, then the same single projection.
            if params.effective_drive_bias_shift != shift:
                pre_shift = shift - params.effective_drive_bias_shift
                if drive.dtype != object and not _fits_int64(drive, pre_shift + 2):
                    drive, drive_bias = drive.astype(object), drive_bias.astype(object)
                drive = drive << pre_shift
                shift = params.effective_drive_bias_shift
            drive[:, 0, :] = drive[:, 0, :] + drive_bias
        if exact or not _fits_int64(drive, shift + 2):
            drive = drive.astype(object)
            if not exact:
                exact = True
                as_exact = lambda a: a.astype(object)  # noqa: E731
        scaled = drive << shift
        for c in range(params.n_currents):
            current = as_exact(state.i[:, c, :])
            spec = params.i_decay[c]
            if params.input_timing is InputTiming.BEFORE_DECAY:
                current = project(current + scaled[:, c, :], params.i_width, params.i_overflow)
                current = project(decay(current, spec), params.i_width, params.i_overflow)
            else:
                current = project(
                    decay(current, spec) + scaled[:, c, :], params.i_width, params.i_overflow
                )
            currents.append(current)
        membrane_drive = scaled[:, 0, :] if params.n_currents == 0 else None

    # 2. Total input to the membrane: the exact sum of the currents, or the drive itself.
    if params.n_currents:
        total_input = currents[0]
        for current in currents[1:]:
            total_input = total_input + current
    else:
        total_input = membrane_drive

    # 3. Membrane update.
    v = as_exact(state.v)
    bias = _per_neuron(params.bias, exact)
    v_decayed = decay(v, params.v_decay)
    threshold = _per_neuron(params.effective_threshold, exact)
    if params.reset_delay:
        # The threshold of last step's spike, subtracted inside this step's one projection.
        pending = (
            np.zeros((batch, n_neurons), dtype=np.int64)
            if state.pending is None
            else np.asarray(state.pending).astype(np.int64)
        )
        total_input = total_input - as_exact(pending) * threshold
    if params.membrane_update is MembraneUpdate.SUM:
        v_new = project(v_decayed + total_input + bias, params.v_width, params.v_overflow)
    else:
        leak = _wrap(v_decayed - v, params.v_width)
        delta = project(leak + total_input, params.v_width, params.v_overflow)
        delta = project(delta + bias, params.v_width, params.v_overflow)
        v_new = project(v + delta, params.v_width, params.v_overflow)
    v_new = np.where(refractory, v, v_new)

    # 4. Spike test and reset.
    strict = params.comparison is Comparison.GREATER
    if params.reset is ResetMode.SUBTRACT:
        test_threshold = threshold
        if params.recheck_reset:
            # A stored membrane that passes the test was left above threshold by its reset:
            # this step tests against twice the threshold (max_spikes is 1).
            over = (v > threshold) if strict else (v >= threshold)
            test_threshold = threshold + np.where(over, threshold, 0)
        spikes = count_spikes_subtract(v_new, test_threshold, strict, params.max_spikes)
        spikes = np.where(refractory, 0, spikes)
        if not params.reset_delay:  # delayed: the next step subtracts it
            v_new = v_new - spikes * threshold
    else:
        fired = (v_new > threshold) if strict else (v_new >= threshold)
        fired = fired & ~refractory
        spikes = fired.astype(np.int64)
        if params.reset is ResetMode.ZERO:
            v_new = np.where(fired, 0, v_new)
        elif params.reset is ResetMode.VALUE:
            v_new = np.where(fired, _per_neuron(params.reset_value, exact), v_new)

    # 5. Refractory counter: set by a spike, counted down while held.
    new_refractory = np.where(
        refractory, state.refractory - 1, np.where(spikes > 0, params.refractory_period, 0)
    )

    dtype = state.v.dtype
    i_new = np.stack(currents, axis=1) if currents else np.zeros((batch, 0, n_neurons), dtype=dtype)
    new_state = NeuronState(
        v=np.asarray(v_new).astype(dtype),
        i=np.asarray(i_new).astype(dtype),
        refractory=new_refractory.astype(np.int64),
        pending=(np.asarray(spikes).astype(np.int64) if params.reset_delay else None),
    )
    return new_state, np.asarray(spikes).astype(np.int64)


def _accumulate_per_event(params, current, counts, weights, exact):
    """One add and one projection per incoming spike, axons in index order.

    ``k`` spikes from one axon add the same weight ``k`` times; under saturation (monotone, and
    starting inside the range) and under wrap (modular) that equals one projection of
    ``current + k * w``, which is what we compute.
    """
    shift = params.input_shift
    for axon in range(weights.shape[0]):
        k = counts[:, axon]
        if not k.any():
            continue
        w = weights[axon]
        if exact:
            w = w.astype(object)
        added = k[:, np.newaxis] * (w << shift)[np.newaxis, :]
        current = project(current + added, params.i_width, params.i_overflow)
    return current


def _wrap(x, width):
    low = -(1 << (width - 1))
    return (x - low) % (1 << width) + low


def _per_neuron_exact(value, exact):
    """A per-neuron int64 array or int, as Python integers when computing exactly."""
    if isinstance(value, np.ndarray) and exact:
        return value.astype(object)
    return value


def _per_neuron(value, exact):
    if isinstance(value, np.ndarray):
        return value if exact or value.dtype != object else value.astype(np.int64)
    return value


def run(
    params: NeuronParams,
    spikes=None,
    weights=None,
    *,
    drive=None,
    batch: int | None = None,
    n_neurons: int | None = None,
    state: NeuronState | None = None,
    record=("spikes", "v", "i", "refractory"),
) -> Trace:
    """Run ``steps`` time steps.

    ``spikes``: (steps, axons) or (steps, batch, axons) spike counts, with ``weights``
    (channels, axons, neurons) or (axons, neurons). Or ``drive``: (steps, neurons),
    (steps, batch, neurons) for one channel, or (steps, batch, channels, neurons).
    """
    if (spikes is None) == (drive is None):
        raise ValueError("run needs exactly one of spikes (with weights) or drive")
    if spikes is not None:
        if weights is None:
            raise ValueError("spikes need weights")
        weights = check_weights(params, weights)
        spikes = np.asarray(spikes)
        if spikes.ndim == 2:
            spikes = spikes[:, np.newaxis, :]
        if spikes.ndim != 3:
            raise ValueError(
                f"spikes must have shape (steps, axons) or (steps, batch, axons), "
                f"not {spikes.shape}"
            )
        steps, batch_size = spikes.shape[0], spikes.shape[1]
        size = weights.shape[2]
    else:
        drive = drive_4d(drive)
        steps, batch_size, size = drive.shape[0], drive.shape[1], drive.shape[3]
    if n_neurons is not None and n_neurons != size:
        raise ValueError(f"n_neurons={n_neurons} does not match the input's {size} neurons")
    if batch is not None and batch != batch_size:
        raise ValueError(f"batch={batch} does not match the input's batch of {batch_size}")
    if state is None:
        state = initial_state(params, size, batch_size)
    elif (state.batch, state.n_neurons) != (batch_size, size):
        raise ValueError(
            f"state has batch {state.batch} and {state.n_neurons} neurons, but the "
            f"input has batch {batch_size} and {size} neurons"
        )
    record = check_record(record)

    spike_trace = np.zeros((steps, batch_size, size), dtype=np.int64)
    v_trace = np.zeros((steps, batch_size, size), dtype=state.v.dtype) if "v" in record else None
    i_trace = (
        np.zeros((steps, batch_size, params.n_currents, size), dtype=state.i.dtype)
        if "i" in record
        else None
    )
    r_trace = (
        np.zeros((steps, batch_size, size), dtype=np.int64) if "refractory" in record else None
    )
    for t in range(steps):
        if spikes is not None:
            step_input = StepInput(spikes=spikes[t], weights=weights)
        else:
            step_input = StepInput(drive=drive[t])
        state, fired = step(params, state, step_input)
        spike_trace[t] = fired
        if v_trace is not None:
            v_trace[t] = state.v
        if i_trace is not None:
            i_trace[t] = state.i
        if r_trace is not None:
            r_trace[t] = state.refractory
    return Trace(spikes=spike_trace, v=v_trace, i=i_trace, refractory=r_trace, final_state=state)


RECORDABLE = ("spikes", "v", "i", "refractory")


def check_record(record) -> tuple[str, ...]:
    """The names of the traces to record, checked."""
    record = tuple(record)
    unknown = set(record) - set(RECORDABLE)
    if unknown:
        raise ValueError(
            f"record must name 'spikes', 'v', 'i' or 'refractory', not {sorted(unknown)}"
        )
    return record


def drive_4d(drive) -> np.ndarray:
    """A drive of any accepted shape as (steps, batch, channels, neurons)."""
    drive = np.asarray(drive)
    if drive.ndim == 2:
        drive = drive[:, np.newaxis, np.newaxis, :]
    elif drive.ndim == 3:
        drive = drive[:, :, np.newaxis, :]
    if drive.ndim != 4:
        raise ValueError(
            f"drive must have shape (steps, neurons), (steps, batch, neurons) "
            f"or (steps, batch, channels, neurons), not {drive.shape}"
        )
    return drive


def value_range(params: NeuronParams, state_name: str) -> tuple[int, int]:
    """Inclusive range of ``'v'`` or ``'i'`` under the model's width and overflow policy."""
    if state_name == "v":
        return state_range(params.v_width, params.v_overflow)
    if state_name == "i":
        return state_range(params.i_width, params.i_overflow)
    raise ValueError(f"state_name must be 'v' or 'i', not {state_name!r}")
