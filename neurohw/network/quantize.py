"""Quantization: a :class:`FloatNetwork` to an integer :class:`Network` of Loihi CUBA neurons.

The lowering is term by term (``docs/frontends.md`` section 4). Each population gets one scale
``S`` (integer membrane units per float unit); decays, thresholds and biases may differ per
neuron. With the Loihi preset (``docs/semantics.md``, ``loihi_cuba_lif``: 24-bit states, input
and threshold shifted left by 6, 12-bit decays)::

    float (floatnet)                          integer (Loihi), per neuron
    keep_mem = 1 - dt/tau_mem                 dv = round(4096 * (1 - keep_mem))
    keep_syn = 1 - dt/tau_syn                 du = round(4096 * (1 - keep_syn)) - 1
    no synaptic current (LIF, IF, LI)         du = 4095 (the current keeps nothing)
    weight * gain[target] / s_x[source]       w = round(weight * gain * S / (2^6 s_x)) (signed)
    v_threshold                               vth = round(v_threshold * S / 2^6) (17 bits)
    bias (v_leak, Affine bias into LIF/LI)    bias_mant << bias_exp = round(bias * S) (13 + 3 bits)
    input_bias * gain (Affine bias, CubaLIF)  drive_bias << t = round(input_bias * gain * S)
                                              (t = drive_bias_shift: the smallest of 0..6 at
                                              which drive_bias fits its 18-bit field)

``s_x`` is 1 for spike-count inputs and the input scale of a real-valued input group (graded
integer values ``x_int = round(x * s_x)``, :func:`encode_inputs`).

``S`` is the largest scale at which every field fits: the largest ``|weight * gain / s_x|`` uses
the full weight width, the threshold, the bias and the drive bias fit their Loihi fields, and the
states keep their headroom: with a ``calibration`` data set, ``calibration_margin`` (default 2)
times the float network's peak ``|current|`` and ``|membrane|`` fit the 24-bit states; without
one, the worst case of the current (every input at its largest count, every source spiking, the
drive bias, through the current's steady-state gain ``1 / (1 - keep_syn)``) fits. Then it is
optionally rounded down to a power of two (``power_of_two_scale=True``) or lowered slightly so a
population's single threshold is exact. Spikes are binary, so each population's scale is
independent. With ``per_neuron_scale=True`` each neuron of a spiking population takes the same
limits over its own weights, threshold, biases and peaks (``S`` per neuron).

Non-spiking readouts (LI, CubaLI) get ``threshold_shift = 0`` and a threshold of ``2^23 - 1``,
which the symmetrically saturating membrane can never exceed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model.params import Comparison, NeuronParams, Overflow, ResetMode, state_range
from ..model.presets import loihi_cuba_lif
from .floatnet import FloatNetwork, FloatNetworkError, readout_scores, simulate_float
from .graph import InputGroup, Network, Population, Projection
from .system import simulate

__all__ = [
    "QuantizationError",
    "ProjectionReport",
    "StateReport",
    "InputReport",
    "LayerReport",
    "QuantizationReport",
    "quantize",
    "encode_inputs",
    "AccuracyReport",
    "evaluate",
    "MODELS",
]

#: ``"loihi"``: the ``loihi_cuba_lif`` preset; ``"if"``: a plain integrate-and-fire neuron
#: (membrane only, no decay, no shifts), for IF populations such as ANN-to-SNN conversions.
MODELS = ("loihi", "if")

# Loihi field limits (lava-nc 0.10, docs/semantics.md section 7).
_DECAY_BITS = 12
_DECAY_ONE = 1 << _DECAY_BITS
_INPUT_SHIFT = 6
_THRESHOLD_SHIFT = 6
_VTH_MAX = (1 << 17) - 1
_BIAS_MANT_MAX = (1 << 12) - 1  # 13-bit signed mantissa
_BIAS_EXP_MAX = 7
_STATE_WIDTH = 24
# The drive bias is added to the drive before the shift into the 24-bit current, so it must fit
# the current after the shift: |drive_bias| << 6 <= 2^23 - 1.
_DRIVE_BIAS_MAX = ((1 << (_STATE_WIDTH - 1)) - 1) >> _INPUT_SHIFT
# The calibration run of the integer network repeats it with states this wide (same arithmetic,
# nothing can overflow on realistic data) to see where the 24-bit states wrap or saturate.
_WIDE_STATE_WIDTH = 48
#: Default ``calibration_margin``: the calibration peak times this must fit the 24-bit states
#: (one bit of headroom above the largest value the calibration data produced).
CALIBRATION_MARGIN = 2.0
_MAX_INPUT_BITS = 16


class QuantizationError(ValueError):
    """A float parameter cannot be represented by the chosen integer model."""


@dataclass
class ProjectionReport:
    source: str
    target: str
    n_nonzero_float: int
    n_nonzero_int: int
    max_abs_float: float  # of weight * gain / s_x (float membrane units per event)
    max_abs_int: int
    rms_error: float  # float units, of (int weight * 2^6 / S) - weight * gain / s_x
    max_error: float
    relative_rms_error: float  # rms_error / max_abs_float

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class StateReport:
    """One 24-bit state (``"current"`` u or ``"membrane"`` v) of a population, in integer
    units. ``analytic_bound``: the largest value the worst-case input can drive it to (None
    when unbounded: no leak); ``calibration_peak_float``: the float network's peak on the
    calibration data times the scale; ``calibration_peak_int``: the integer network's peak
    (computed with wide states, so a value beyond the range is seen, not wrapped);
    ``headroom_bits``: ``log2(range / peak)`` of the calibration peak (or of the analytic bound
    without calibration; negative: it does not fit); ``overflows``: how many (step, sample,
    neuron) values of the calibration run fell outside the range (wrapped or saturated)."""

    state: str
    range: int
    analytic_bound: int | None = None
    calibration_peak_float: float | None = None
    calibration_peak_int: int | None = None
    headroom_bits: float | None = None
    overflows: int = 0

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class InputReport:
    """A real-valued input group quantized to ``bits``-bit graded integers ``x_int =
    encode(x * scale)`` (:func:`encode_inputs`); ``max_abs_float``: the calibration's largest
    ``|x|`` (it maps to the largest integer); ``max_error``/``rms_error``: of ``x_int / scale -
    x`` on the calibration data (float input units)."""

    group: str
    bits: int
    signed: bool
    scale: float
    max_abs_float: float
    low: int
    high: int
    max_error: float
    rms_error: float

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class LayerReport:
    """Per population. Per-neuron quantities are summarized: ``dv``, ``du``, the keep factors
    and ``drive_bias`` are one number when the population shares it and ``[min, max]`` when it
    differs per neuron; ``keep_*_max_error`` is the largest ``|integer - float|`` decay factor."""

    population: str
    model: str
    size: int
    scale: float  # integer membrane units per float unit
    dv: int | list
    du: int | list
    keep_mem_float: float | list
    keep_mem_int: float | list
    keep_syn_float: float | list | None
    keep_syn_int: float | list
    threshold_float: list | None  # (min, max)
    threshold_mantissa: list | None  # (min, max)
    threshold_max_relative_error: float | None
    bias_exponent: int
    bias_max_abs_float: float
    bias_max_error: float  # float units
    worst_case_current: int  # |u| bound in integer units (from max input counts)
    projections: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    keep_mem_max_error: float = 0.0
    keep_syn_max_error: float = 0.0
    drive_bias: int | list | None = None  # None: no constant drive into the current
    drive_bias_max_error: float = 0.0  # float current units
    drive_bias_shift: int | None = None  # the drive bias enters as drive_bias << this
    scale_limit: str = ""  # what chose the scale (weights, threshold, current..)
    states: dict = field(default_factory=dict)  # "current"/"membrane" -> StateReport
    #: each neuron's scale with ``per_neuron_scale`` (``scale`` is then ``[min, max]``)
    neuron_scales: list | None = None

    @property
    def scales(self) -> np.ndarray:
        """Each neuron's scale (integer units per float unit): ``neuron_scales``, or
        ``scale`` for every neuron when the population has one scale."""
        if self.neuron_scales is not None:
            return np.asarray(self.neuron_scales, dtype=np.float64)
        return np.full(self.size, float(self.scale))

    @property
    def weight_relative_rms_error(self) -> float:
        errors = [p.relative_rms_error for p in self.projections]
        return max(errors) if errors else 0.0

    def to_dict(self):
        out = dict(self.__dict__)
        out["projections"] = [p.to_dict() for p in self.projections]
        out["states"] = {k: v.to_dict() for k, v in self.states.items()}
        return out


@dataclass
class QuantizationReport:
    model: str
    weight_width: int
    layers: dict
    notes: list = field(default_factory=list)
    #: filled by ``evaluate(..., report=report)``
    accuracy: AccuracyReport | None = None
    #: real-valued input groups: group -> :class:`InputReport`
    inputs: dict = field(default_factory=dict)
    calibration_margin: float | None = None  # None: no calibration (analytic bounds)
    calibration_samples: int = 0

    def to_dict(self):
        return {
            "model": self.model,
            "weight_width": self.weight_width,
            "layers": {k: v.to_dict() for k, v in self.layers.items()},
            "inputs": {k: v.to_dict() for k, v in self.inputs.items()},
            "calibration_margin": self.calibration_margin,
            "calibration_samples": self.calibration_samples,
            "notes": list(self.notes),
            "accuracy": None if self.accuracy is None else self.accuracy.to_dict(),
        }

    def table(self) -> str:
        """A plain-text summary: one line per input group, population, state and projection."""
        lines = [
            f"quantization to {self.model}, {self.weight_width}-bit weights"
            + (
                ""
                if self.calibration_margin is None
                else f", calibrated on {self.calibration_samples} samples (margin "
                f"{self.calibration_margin:g})"
            )
        ]
        for g in self.inputs.values():
            lines.append(
                f"  input {g.group}: real-valued -> {g.bits}-bit "
                f"{'signed' if g.signed else 'unsigned'} graded, s_x {g.scale:.6g} "
                f"(max |x| {g.max_abs_float:.4g} -> {'+-' if g.signed else ''}{g.high}), max err "
                f"{g.max_error:.3e}, rms err {g.rms_error:.3e}"
            )
        for layer in self.layers.values():
            thr = (
                "-"
                if layer.threshold_mantissa is None
                else f"vth {layer.threshold_mantissa[0]}..{layer.threshold_mantissa[1]} "
                f"(rel err {layer.threshold_max_relative_error:.2e})"
            )
            syn = (
                "-"
                if layer.keep_syn_float is None
                else f"{_fmt(layer.keep_syn_float)}->{_fmt(layer.keep_syn_int)}"
            )
            drive = (
                ""
                if layer.drive_bias is None
                else f", drive bias {_fmt(layer.drive_bias)} << {layer.drive_bias_shift} (max err "
                f"{layer.drive_bias_max_error:.2e})"
            )
            scale_text = (
                f"{layer.scale:.6g}"
                if not isinstance(layer.scale, list)
                else f"{layer.scale[0]:.6g}..{layer.scale[1]:.6g} per neuron"
            )
            lines.append(
                f"  {layer.population} ({layer.model}, {layer.size}): scale "
                f"{scale_text} ({layer.scale_limit}), dv {_fmt(layer.dv)} (keep "
                f"{_fmt(layer.keep_mem_float)}->{_fmt(layer.keep_mem_int)}), du "
                f"{_fmt(layer.du)} (keep {syn}), {thr}, bias exp {layer.bias_exponent} "
                f"(max err {layer.bias_max_error:.2e}){drive}"
            )
            for state in layer.states.values():
                parts = [f"range +-{state.range}"]
                if state.analytic_bound is not None:
                    parts.append(f"bound {state.analytic_bound}")
                if state.calibration_peak_int is not None:
                    parts.append(
                        f"calibration peak float {state.calibration_peak_float:.6g}, "
                        f"int {state.calibration_peak_int}"
                    )
                if state.headroom_bits is not None:
                    parts.append(f"headroom {state.headroom_bits:.2f} bits")
                if state.overflows:
                    parts.append(f"OVERFLOWS {state.overflows}")
                lines.append(f"    {state.state}: {', '.join(parts)}")
            for p in layer.projections:
                lines.append(
                    f"    {p.source} -> {p.target}: max |w| {p.max_abs_float:.4g} -> "
                    f"{p.max_abs_int}, rms err {p.rms_error:.3e} "
                    f"({100 * p.relative_rms_error:.3f} % of max), nonzero "
                    f"{p.n_nonzero_float} -> {p.n_nonzero_int}"
                )
            for note in layer.notes:
                lines.append(f"    note: {note}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.accuracy is not None:
            a = self.accuracy
            lines.append(
                f"  accuracy on {a.n_samples} samples: float {a.float_accuracy:.4f}, "
                f"fixed point {a.fixed_accuracy:.4f}, agreement {a.agreement:.4f}"
            )
        return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, list):
        return "..".join(_fmt(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _summary(values, as_type):
    """One number when every neuron shares it, else ``[min, max]`` (report fields)."""
    values = np.asarray(values).reshape(-1)
    if np.all(values == values[0]):
        return as_type(values[0])
    return [as_type(values.min()), as_type(values.max())]


def _per_neuron(values):
    """A NeuronParams field: one int when every neuron shares it, else the int64 array."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    return int(values[0]) if np.all(values == values[0]) else values


def _input_range(bits: int, signed: bool) -> tuple[int, int]:
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _round_half_away(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def quantize(
    float_net: FloatNetwork,
    *,
    weight_width: int = 8,
    model: str = "loihi",
    scale: dict | None = None,
    power_of_two_scale: bool = False,
    weight_percentile: float = 100.0,
    v_width: int = _STATE_WIDTH,
    calibration: dict | None = None,
    calibration_margin: float = CALIBRATION_MARGIN,
    accept_overflow: bool = False,
    input_bits: int | None = None,
    per_neuron_scale: bool = False,
) -> tuple[Network, QuantizationReport]:
    """Quantize ``float_net`` onto integer neurons of ``model`` with ``weight_width``-bit signed
    weights: ``"loihi"`` (the ``loihi_cuba_lif`` preset) or ``"if"`` (every population must be
    an ``IF`` population; see :func:`_quantize_if`: membrane only, ``v_width``-bit saturating
    membrane, unshifted weights, threshold and bias, reset by subtraction or to zero).

    ``scale``: optional ``{population: S}`` overriding the chosen per-population scale;
    ``power_of_two_scale``: round each scale down to a power of two; ``weight_percentile``:
    choose the scale from this percentile of ``|weight|`` instead of the maximum (larger weights
    are clipped, and the report says how many).

    ``calibration``: ``{input group: values (steps, batch, size)}`` as :func:`simulate_float`
    takes. The float network runs on it; each population's scale keeps ``calibration_margin``
    times its peak ``|current|`` and ``|membrane|`` inside the 24-bit states (instead of the
    analytic worst case of the current). The quantized network then runs on the same data; a
    state that wraps or saturates there raises :class:`QuantizationError` unless
    ``accept_overflow=True`` (the report counts it either way).

    ``per_neuron_scale``: give every neuron of a spiking population its own scale (the limits
    above over its own incoming weights, threshold, biases and calibration peaks; never smaller
    than the common one but for less than one threshold step, which makes the neuron's threshold
    exact). A spiking neuron's integer dynamics are linear in its scale and its
    spikes do not depend on it, so this only changes integers (thresholds shared in float become
    per neuron, a parameter memory in the core). Non-spiking readouts keep one scale (their
    membranes are compared); :func:`evaluate` divides a membrane readout by the per-neuron
    scales. The report's ``scale`` is then ``[min, max]`` and ``neuron_scales`` lists them.

    ``input_bits``: the width of the graded integer values a real-valued input group
    (``FloatInput(real_valued=True)``) becomes; signed when the calibration has a negative
    value. Its input scale maps the calibration's largest ``|x|`` to the largest integer, or,
    where a target population's scale is bound by a field or state limit, to the value that
    gives the largest input and the largest weight from it the same resolution
    (:func:`_shared_input_peak`).

    Returns the integer :class:`Network` and a :class:`QuantizationReport`. Raises
    :class:`QuantizationError` naming the population, the parameter, its value and the allowed
    range when a parameter cannot be represented.
    """
    if model not in MODELS:
        raise QuantizationError(
            f"model must be one of 'loihi', 'if' (IF populations only), not {model!r}"
        )
    if (
        isinstance(weight_width, bool)
        or not isinstance(weight_width, int)
        or not 2 <= weight_width <= 16
    ):
        raise QuantizationError(
            f"weight_width must be an integer between 2 and 16, not {weight_width!r}"
        )
    if not 0 < weight_percentile <= 100:
        raise QuantizationError(f"weight_percentile must be in (0, 100], not {weight_percentile!r}")
    if (
        isinstance(calibration_margin, bool)
        or not isinstance(calibration_margin, (int, float))
        or not math.isfinite(calibration_margin)
        or calibration_margin < 1
    ):
        raise QuantizationError(
            f"calibration_margin must be a finite number >= 1, not {calibration_margin!r}"
        )
    if not isinstance(accept_overflow, bool):
        raise QuantizationError(f"accept_overflow must be True or False, not {accept_overflow!r}")
    if not isinstance(per_neuron_scale, bool):
        raise QuantizationError(f"per_neuron_scale must be True or False, not {per_neuron_scale!r}")
    if input_bits is not None and (
        isinstance(input_bits, bool)
        or not isinstance(input_bits, int)
        or not 2 <= input_bits <= _MAX_INPUT_BITS
    ):
        raise QuantizationError(
            f"input_bits must be None or an integer between 2 and "
            f"{_MAX_INPUT_BITS}, not {input_bits!r}"
        )
    if calibration is not None and not isinstance(calibration, dict):
        raise QuantizationError(
            f"calibration must be a dict of input group -> values (steps, "
            f"batch, size), as simulate_float takes, not "
            f"{type(calibration).__name__}"
        )
    scale = dict(scale or {})
    unknown = sorted(set(scale) - set(float_net.populations))
    if unknown:
        raise QuantizationError(f"scale names unknown population(s) {unknown}")
    real_groups = [g.name for g in float_net.inputs.values() if g.real_valued]
    if model == "if":
        if per_neuron_scale:
            raise QuantizationError("per_neuron_scale needs model='loihi'")
        if calibration is not None or input_bits is not None or real_groups:
            raise QuantizationError(
                "calibration, input_bits and real-valued input groups need model='loihi'"
            )
        return _quantize_if(
            float_net,
            weight_width=weight_width,
            scale=scale,
            power_of_two_scale=power_of_two_scale,
            weight_percentile=weight_percentile,
            v_width=v_width,
        )
    for group in real_groups:
        if input_bits is None:
            raise QuantizationError(
                f"input group {group!r} is real-valued: pass input_bits "
                f"(the width of its graded integer values, 2..16) and a "
                f"calibration data set"
            )
        if calibration is None:
            raise QuantizationError(
                f"input group {group!r} is real-valued: its input scale "
                f"comes from the calibration data; pass calibration="
                f"{{group: values (steps, batch, size)}}"
            )
    w_max = (1 << (weight_width - 1)) - 1
    v_low, v_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).v_overflow)
    i_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).i_overflow)[1]

    # Calibration: the float network's peaks, and the input scales of real-valued groups.
    float_peaks: dict[str, tuple[float, float]] = {}
    neuron_peaks: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # the same, per neuron
    n_samples = 0
    if calibration is not None:
        try:
            trace = simulate_float(
                float_net, calibration, record=("spikes", "v", "v_pre_reset", "i")
            )
        except FloatNetworkError as error:
            raise QuantizationError(f"calibration: {error}") from error
        for name, pop in float_net.populations.items():
            peak_i = _peak_per_neuron(trace.i[name], pop.size)
            peak_v = np.maximum(
                _peak_per_neuron(trace.v[name], pop.size),
                _peak_per_neuron(trace.v_pre_reset[name], pop.size),
            )
            neuron_peaks[name] = (peak_i, peak_v)
            float_peaks[name] = (float(peak_i.max()), float(peak_v.max()))
        n_samples = int(next(iter(trace.spikes.values())).shape[1])
    input_reports: dict[str, InputReport] = {}
    notes_inputs: list[str] = []
    input_scale: dict[str, float] = {}
    largest_event: dict[str, int] = {}  # the largest |count or graded value| per source
    for group in float_net.inputs.values():
        if not group.real_valued:
            input_scale[group.name], largest_event[group.name] = 1.0, group.max_count
            continue
        x = np.asarray(calibration[group.name], dtype=np.float64)
        max_abs = float(np.abs(x).max()) if x.size else 0.0
        if max_abs == 0:
            raise QuantizationError(
                f"input group {group.name!r}: every calibration value is 0; "
                f"the input scale needs a nonzero largest |x|"
            )
        signed = bool(np.any(x < 0))
        low, high = _input_range(input_bits, signed)
        # The input and the weights share the states' headroom (docs/frontends.md).
        peak_int = _shared_input_peak(
            float_net, group.name, max_abs, high, float_peaks, calibration_margin, w_max
        )
        s_x = peak_int / max_abs
        if peak_int < high:
            notes_inputs.append(
                f"input group {group.name!r}: the calibration's largest |x| maps to "
                f"{peak_int:.4g}, not {high}: its target's scale is bound by a field or "
                f"state limit, and the inputs and weights share that range"
            )
        x_int = np.clip(_round_half_away(x * s_x), low, high)
        error = x_int / s_x - x
        input_reports[group.name] = InputReport(
            group=group.name,
            bits=input_bits,
            signed=signed,
            scale=s_x,
            max_abs_float=max_abs,
            low=low,
            high=high,
            max_error=float(np.abs(error).max()),
            rms_error=float(np.sqrt(np.mean(error**2))),
        )
        input_scale[group.name], largest_event[group.name] = s_x, max(-low, high)
    if input_bits is not None and not real_groups:
        notes_global = [f"input_bits={input_bits} unused: no input group is real-valued"]
    else:
        notes_global = []
    notes_global.extend(notes_inputs)
    for name, pop in float_net.populations.items():
        largest_event[name] = pop.max_spikes  # the largest spike count per step

    populations, projections, layers = [], [], {}
    int_weights: dict[tuple[str, str], np.ndarray] = {}
    for name, pop in float_net.populations.items():
        where = f"population {name!r} ({pop.model}{', ' + pop.origin if pop.origin else ''})"
        c = float_net.discrete(name)
        notes = []
        # Decays, per neuron.
        dv = np.rint(_DECAY_ONE * (1.0 - c.keep_mem)).astype(np.int64)
        if np.any(dv > _DECAY_ONE - 1):
            notes.append(
                f"dv of {int(np.sum(dv > _DECAY_ONE - 1))} neuron(s) clipped to "
                f"{_DECAY_ONE - 1} (the membrane keeps 1/4096 instead of "
                f"{float(c.keep_mem.min()):g})"
            )
            dv = np.minimum(dv, _DECAY_ONE - 1)
        if c.keep_syn is not None:
            du = np.rint(_DECAY_ONE * (1.0 - c.keep_syn)).astype(np.int64) - 1
            if np.any(du < 0):
                notes.append(
                    f"du of {int(np.sum(du < 0))} neuron(s) raised to 0: the Loihi "
                    f"current keeps at most 4095/4096, not "
                    f"{float(c.keep_syn.max()):g}"
                )
            du = np.clip(du, 0, _DECAY_ONE - 1)
        else:
            du = np.full(pop.size, _DECAY_ONE - 1, dtype=np.int64)
        keep_mem_int = 1.0 - dv / _DECAY_ONE
        keep_syn_int = (_DECAY_ONE - du - 1) / _DECAY_ONE
        # Steady-state gain of the current: a constant drive d settles at d / (1 - keep).
        current_gain = 1.0 / (1.0 - keep_syn_int)

        # Reset.
        if pop.spiking:
            if pop.reset == "value" and pop.v_reset != 0:
                raise QuantizationError(
                    f"{where}: v_reset={pop.v_reset:g}; the Loihi neuron "
                    f"resets to 0 (supported: v_reset=0)"
                )
            threshold = np.asarray(c.threshold, dtype=np.float64)
            if np.any(threshold < 0):
                raise QuantizationError(
                    f"{where}: v_threshold={threshold.min():g} is "
                    f"negative; the Loihi threshold vth is unsigned "
                    f"(supported: v_threshold >= 0)"
                )
        else:
            threshold = None

        # Scale: the largest at which the weights use the full width and the threshold, the
        # biases and the states fit.
        incoming = float_net.projections_to(name)
        effective = {
            p.source: p.weight * c.gain[np.newaxis, :] / input_scale.get(p.source, 1.0)
            for p in incoming
        }
        magnitudes = (
            np.concatenate([np.abs(w).reshape(-1) for w in effective.values()])
            if effective
            else np.zeros(0)
        )
        magnitudes = magnitudes[magnitudes > 0]
        reference = float(np.percentile(magnitudes, weight_percentile)) if magnitudes.size else 0.0
        # An Affine bias into a synaptic current is a constant drive (float current units).
        drive_bias_float = c.input_bias * c.gain
        has_drive_bias = c.keep_syn is not None and bool(np.any(drive_bias_float != 0))
        limits = {}
        if reference > 0:
            limits["weights"] = w_max * (1 << _INPUT_SHIFT) / reference
        bias_abs = float(np.abs(c.bias).max()) if c.bias.size else 0.0
        limits.update(
            _field_and_state_limits(
                c, threshold, has_drive_bias, float_peaks.get(name), calibration_margin
            )
        )
        if name not in float_peaks:
            # The worst case of the current in float units: every source at its largest event.
            bound = np.abs(drive_bias_float) if has_drive_bias else np.zeros(pop.size)
            for source, w in effective.items():
                bound = bound + largest_event[source] * np.abs(w).sum(axis=0)
            bound = float(np.max(bound * current_gain))
            if bound > 0:
                limits["current bound"] = i_high / bound
        if name in scale:
            s = float(scale[name])
            if not (math.isfinite(s) and s > 0):
                raise QuantizationError(f"{where}: scale must be a positive number, not {s!r}")
            scale_limit = "explicit"
        elif limits:
            scale_limit = min(limits, key=limits.get)
            s = limits[scale_limit]
            if "weights" in limits and s < limits["weights"]:
                notes.append(
                    f"scale lowered from {limits['weights']:.6g} to {s:.6g} by the "
                    f"{scale_limit}; weights use less than the full width"
                )
        else:
            s, scale_limit = float(1 << _INPUT_SHIFT), "default"
        # Per-neuron scales: a spiking neuron's integer dynamics are linear in its scale and its
        # spikes do not depend on it, so each neuron takes the largest scale its own weights,
        # fields and states allow (never smaller than the common one). A non-spiking readout
        # keeps the common scale: its membranes are compared across neurons.
        per_neuron = per_neuron_scale and pop.spiking and name not in scale
        if per_neuron:
            common_scale = s
            s, scale_limit = _neuron_scales(
                s,
                c,
                threshold,
                effective,
                weight_percentile,
                w_max,
                has_drive_bias,
                drive_bias_float,
                neuron_peaks.get(name),
                calibration_margin,
                largest_event,
                current_gain,
            )

        for _attempt in range(8):
            s_final = (
                _finish_neuron_scales(s, threshold, power_of_two_scale)
                if per_neuron
                else _finish_scale(s, threshold, power_of_two_scale, explicit=name in scale)
            )
            fields = _loihi_fields(
                where,
                name,
                s_final,
                c,
                threshold,
                effective,
                largest_event,
                w_max,
                keep_syn_int,
                has_drive_bias,
                drive_bias_float,
            )
            # Rounding can push the integer worst case slightly above the float one.
            if name in scale or name in float_peaks or fields["worst_current"] <= i_high:
                break
            if per_neuron:
                worst = fields["worst_current_per_neuron"]
                s = np.where(worst > i_high, s * i_high / np.maximum(worst, 1) * (1 - 1e-9), s)
            else:
                s *= i_high / fields["worst_current"] * (1 - 1e-9)
        s = s_final
        if per_neuron:
            notes.append(
                f"per-neuron scales {float(s.min()):.6g}..{float(s.max()):.6g} (the common "
                f"scale would be {common_scale:.6g}): each neuron's weights, threshold, biases "
                f"and states in its own units"
            )
            if np.ptp(threshold) == 0:
                notes.append(
                    "the shared threshold becomes one value per neuron (a per-neuron "
                    "parameter memory in the core)"
                )
        notes.extend(fields["notes"])
        vth_values, bias_mant, bias_exp = fields["vth"], fields["bias_mant"], fields["bias_exp"]
        drive_bias = fields["drive_bias"]

        # Neuron parameters.
        preset_args = dict(
            du=_per_neuron(du),
            dv=_per_neuron(dv),
            vth=0,
            bias_mant=_per_neuron(bias_mant),
            bias_exp=bias_exp,
        )
        if has_drive_bias:
            preset_args["drive_bias"] = _per_neuron(drive_bias)
        params = loihi_cuba_lif(**preset_args)
        if has_drive_bias and fields["drive_bias_shift"] != _INPUT_SHIFT:
            params = params.replace(drive_bias_shift=fields["drive_bias_shift"])
        if vth_values is not None:
            params = params.replace(threshold=_per_neuron(vth_values))
            if pop.reset == "subtract":
                params = params.replace(reset=ResetMode.SUBTRACT)
                notes.append(
                    "reset by subtraction (not a Loihi mode; NeuronParams reset 'subtract')"
                )
            if pop.max_spikes > 1:
                params = params.replace(max_spikes=pop.max_spikes)
                notes.append(f"up to {pop.max_spikes} spikes per step")
            if pop.comparison == ">=":
                params = params.replace(comparison=Comparison.GREATER_EQUAL)
                notes.append("spike test '>=' (not a Loihi mode)")
            if pop.recheck_reset:
                # The float population allows it with reset 'subtract', max_spikes 1 and no
                # reset_delay only: NeuronParams' own conditions.
                params = params.replace(recheck_reset=True)
                notes.append(
                    "a membrane left above threshold by its reset is tested against twice "
                    "the threshold, like the float neuron (snnTorch reset_delay=False; "
                    "NeuronParams recheck_reset)"
                )
            if pop.reset == "subtract" and pop.reset_delay:
                if params.max_spikes == 1:
                    params = params.replace(reset_delay=True)
                    notes.append(
                        "the threshold is subtracted in the next step, after the "
                        "decay, like the float neuron (NeuronParams reset_delay)"
                    )
                else:
                    notes.append(
                        "the float neuron subtracts the threshold one step late "
                        "(reset_delay); with several spikes per step the integer "
                        "neuron subtracts it at the spike (docs/semantics.md "
                        "section 6)"
                    )
        else:
            params = params.replace(threshold=v_high, threshold_shift=0)
            notes.append(
                f"non-spiking readout: threshold {v_high} with threshold_shift 0 (never exceeded)"
            )
        for source, w_int in fields["weights"].items():
            int_weights[(source, name)] = w_int

        worst_current = fields["worst_current"]
        if worst_current > i_high:
            notes.append(
                f"worst-case current {worst_current} exceeds the 24-bit range "
                f"(+-{i_high}); Loihi wraps it if the inputs reach it"
                + (
                    " (the calibration run below shows whether they do)"
                    if name in float_peaks
                    else ""
                )
            )
        states = {
            "current": StateReport(
                "current",
                i_high,
                analytic_bound=worst_current,
                headroom_bits=_bits(i_high, worst_current),
            )
        }
        if np.all(keep_mem_int < 1):
            membrane_bound = int(
                np.ceil(
                    np.max(
                        (fields["worst_current_per_neuron"] + np.abs(bias_mant) * (1 << bias_exp))
                        / (1 - keep_mem_int)
                    )
                )
            )
        else:
            membrane_bound = None  # no leak: only the threshold or saturation bounds it
        if membrane_bound is not None and membrane_bound > v_high:
            notes.append(
                f"worst-case membrane {membrane_bound} exceeds the 24-bit range "
                f"(+-{v_high}); it saturates if the inputs reach it"
            )
        states["membrane"] = StateReport(
            "membrane",
            v_high,
            analytic_bound=membrane_bound,
            headroom_bits=(None if membrane_bound is None else _bits(v_high, membrane_bound)),
        )
        populations.append(Population(name, pop.size, params, weight_width=weight_width))
        layers[name] = LayerReport(
            population=name,
            model=pop.model,
            size=pop.size,
            scale=_summary(s, float) if per_neuron else s,
            neuron_scales=[float(v) for v in s] if per_neuron else None,
            dv=_summary(dv, int),
            du=_summary(du, int),
            keep_mem_float=_summary(c.keep_mem, float),
            keep_mem_int=_summary(keep_mem_int, float),
            keep_syn_float=None if c.keep_syn is None else _summary(c.keep_syn, float),
            keep_syn_int=_summary(keep_syn_int, float),
            keep_mem_max_error=float(np.max(np.abs(keep_mem_int - c.keep_mem))),
            keep_syn_max_error=(
                0.0 if c.keep_syn is None else float(np.max(np.abs(keep_syn_int - c.keep_syn)))
            ),
            threshold_float=(
                None if threshold is None else [float(threshold.min()), float(threshold.max())]
            ),
            threshold_mantissa=(
                None if vth_values is None else [int(vth_values.min()), int(vth_values.max())]
            ),
            threshold_max_relative_error=fields["threshold_error"],
            bias_exponent=bias_exp,
            bias_max_abs_float=bias_abs,
            bias_max_error=fields["bias_error"],
            drive_bias=_summary(drive_bias, int) if has_drive_bias else None,
            drive_bias_shift=fields["drive_bias_shift"] if has_drive_bias else None,
            drive_bias_max_error=fields["drive_bias_error"],
            scale_limit=scale_limit,
            worst_case_current=worst_current,
            projections=fields["reports"],
            notes=notes,
            states=states,
        )
    same_step = {(p.source, p.target): p.same_step for p in float_net.projections}
    convs = {(p.source, p.target): p.conv for p in float_net.projections}
    for (source, target), w in int_weights.items():
        conv = _integer_conv(convs[source, target], w, layers[target].notes, source)
        projections.append(
            Projection(
                source,
                target,
                None if conv is not None else w,
                same_step=same_step[source, target],
                conv=conv,
            )
        )
    inputs = []
    for g in float_net.inputs.values():
        if g.real_valued:
            inputs.append(
                InputGroup(
                    g.name, g.size, value_bits=input_bits, signed=input_reports[g.name].signed
                )
            )
        else:
            inputs.append(InputGroup(g.name, g.size, max_count=g.max_count))
    network = Network(
        inputs=inputs,
        populations=populations,
        projections=projections,
        outputs=list(float_net.outputs),
    )
    report = QuantizationReport(
        model=model,
        weight_width=weight_width,
        layers=layers,
        notes=notes_global,
        inputs=input_reports,
        calibration_margin=(None if calibration is None else float(calibration_margin)),
        calibration_samples=n_samples,
    )
    if calibration is not None:
        _calibrate_integer(
            network, report, calibration, neuron_peaks, v_high, i_high, accept_overflow
        )
    return network, report


def _integer_conv(conv, weights: np.ndarray, notes: list, source: str) -> tuple | None:
    """``(ConvSpec, integer kernel)`` of a conv projection whose integer ``weights`` are still
    the lowering of one integer kernel, else ``None`` (with a note): each kernel word is read
    from one synapse it makes, and the kernel's lowering must give back every weight. Scales
    that differ between the neurons of a population (``per_neuron_scale``, or a gain per neuron)
    give one weight several integer values, and the projection stays dense
    (``docs/frontends.md``, "Convolution structure")."""
    if conv is None:
        return None
    spec = conv[0]
    kernel = np.zeros(spec.kernel_words, dtype=np.int64)
    for axon in range(spec.n_axons):
        for neuron, word in spec.fanout(axon):
            kernel[word] = weights[axon, neuron]
    kernel = kernel.reshape(spec.kernel_shape)
    if not np.array_equal(spec.dense_matrix(kernel), weights):
        notes.append(
            f"the conv projection from {source!r} is stored dense: its integer weights differ "
            f"between output positions (scales per neuron), so no single kernel holds them"
        )
        return None
    return spec, kernel


def _field_and_state_limits(c, threshold, has_drive_bias, peaks, calibration_margin) -> dict:
    """The limits on a population's scale other than the weights': its largest threshold, bias
    and drive bias fit their fields and (with calibration ``peaks``, the float network's peak
    ``(|current|, |membrane|)``) ``calibration_margin`` times the peaks fit the 24-bit states."""
    v_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).v_overflow)[1]
    i_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).i_overflow)[1]
    limits = {}
    if threshold is not None and threshold.max() > 0:
        limits["threshold"] = _VTH_MAX * (1 << _THRESHOLD_SHIFT) / threshold.max()
    bias_abs = float(np.abs(c.bias).max()) if c.bias.size else 0.0
    if bias_abs > 0:
        limits["bias"] = _BIAS_MANT_MAX * (1 << _BIAS_EXP_MAX) / bias_abs
    if has_drive_bias:
        limits["drive bias"] = (
            _DRIVE_BIAS_MAX * (1 << _INPUT_SHIFT) / float(np.abs(c.input_bias * c.gain).max())
        )
    if peaks is not None:
        peak_i, peak_v = peaks
        if peak_i > 0:
            limits["current headroom"] = i_high / (calibration_margin * peak_i)
        if peak_v > 0:
            limits["membrane headroom"] = v_high / (calibration_margin * peak_v)
    return limits


def _shared_input_peak(float_net, group, max_abs, high, float_peaks, calibration_margin, w_max):
    """The largest integer input value ``X`` of a real-valued ``group`` (its input scale is
    ``X / max_abs``) when its target populations' scales are bound by a field or state limit.

    At such a population's scale ``S``, the largest integer weight ``W`` from the group and
    ``X`` have a fixed product ``C = max |weight * gain| * S * max_abs / 64``: more input
    resolution means coarser weights. ``X = max(sqrt(C), C / w_max)`` gives both the same
    relative resolution (or the weights their full width), never more than ``high``; the
    smallest ``X`` over the target populations wins. ``high`` where no such limit binds."""
    best = float(high)
    for name, pop in float_net.populations.items():
        incoming = float_net.projections_to(name)
        if not any(p.source == group for p in incoming):
            continue
        c = float_net.discrete(name)
        threshold = np.asarray(c.threshold, dtype=np.float64) if pop.spiking else None
        has_drive_bias = c.keep_syn is not None and bool(np.any(c.input_bias * c.gain != 0))
        limits = _field_and_state_limits(
            c, threshold, has_drive_bias, float_peaks.get(name), calibration_margin
        )
        # The weights from spike sources (s_x = 1) bind the scale too.
        for p in incoming:
            source_group = float_net.inputs.get(p.source)
            if p.source == group or (source_group is not None and source_group.real_valued):
                continue
            other = float(np.abs(p.weight * c.gain[np.newaxis, :]).max())
            if other > 0:
                limits[p.source] = w_max * (1 << _INPUT_SHIFT) / other
        if not limits:
            continue
        s = min(limits.values())
        m = max(
            float(np.abs(p.weight * c.gain[np.newaxis, :]).max())
            for p in incoming
            if p.source == group
        )
        product = m * s * max_abs / (1 << _INPUT_SHIFT)
        if product <= 0:
            continue
        best = min(best, max(math.sqrt(product), product / w_max))
    return best


def _peak_per_neuron(values, size: int) -> np.ndarray:
    """The largest ``|value|`` of each neuron over the steps and samples of a float trace."""
    values = np.abs(np.asarray(values, dtype=np.float64)).reshape(-1, size)
    return values.max(axis=0) if values.shape[0] else np.zeros(size)


def _neuron_scales(
    common,
    c,
    threshold,
    effective,
    weight_percentile,
    w_max,
    has_drive_bias,
    drive_bias_float,
    peaks,
    calibration_margin,
    largest_event,
    current_gain,
):
    """Each neuron's scale (``quantize(per_neuron_scale=True)``): the limits of the common scale
    (:func:`_field_and_state_limits`, the weights', the current bound) taken per neuron, over
    that neuron's own incoming weights (its column), threshold, biases and calibration peaks
    (``peaks``: per-neuron ``(|current|, |membrane|)`` arrays, or None). A neuron with no limit
    keeps the ``common`` scale. Returns the scales and a summary of what bound them."""
    size = c.bias.shape[0]
    with np.errstate(divide="ignore"):
        limits = {}
        if effective:
            columns = np.abs(np.concatenate(list(effective.values()), axis=0))
            reference = np.array(
                [
                    np.percentile(col[col > 0], weight_percentile) if np.any(col > 0) else 0.0
                    for col in columns.T
                ]
            )
            limits["weights"] = w_max * (1 << _INPUT_SHIFT) / reference
        if threshold is not None:
            limits["threshold"] = _VTH_MAX * (1 << _THRESHOLD_SHIFT) / threshold
        limits["bias"] = _BIAS_MANT_MAX * (1 << _BIAS_EXP_MAX) / np.abs(c.bias)
        if has_drive_bias:
            limits["drive bias"] = _DRIVE_BIAS_MAX * (1 << _INPUT_SHIFT) / np.abs(drive_bias_float)
        i_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).i_overflow)[1]
        v_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).v_overflow)[1]
        if peaks is not None:
            limits["current headroom"] = i_high / (calibration_margin * peaks[0])
            limits["membrane headroom"] = v_high / (calibration_margin * peaks[1])
        else:
            bound = np.abs(drive_bias_float) if has_drive_bias else np.zeros(size)
            for source, w in effective.items():
                bound = bound + largest_event[source] * np.abs(w).sum(axis=0)
            limits["current bound"] = i_high / (bound * current_gain)
    names = list(limits)
    table = np.stack([np.broadcast_to(limits[k], (size,)) for k in names])
    binding = np.argmin(table, axis=0)
    scales = table[binding, np.arange(size)]
    bound = np.isfinite(scales)
    scales = np.where(bound, scales, common)
    counts = {}
    for k, is_bound in zip(binding, bound):
        key = names[k] if is_bound else "common"
        counts[key] = counts.get(key, 0) + 1
    summary = "per neuron: " + ", ".join(
        f"{key} {n}" for key, n in sorted(counts.items(), key=lambda item: -item[1])
    )
    return scales.astype(np.float64), summary


def _finish_neuron_scales(s, threshold, power_of_two_scale: bool) -> np.ndarray:
    """:func:`_finish_scale` per neuron: each scale rounded down to a power of two, or lowered
    slightly so that the neuron's threshold is exact."""
    if power_of_two_scale:
        return 2.0 ** np.floor(np.log2(s))
    if threshold is None:
        return s
    steps_ = np.floor(threshold * s / (1 << _THRESHOLD_SHIFT))
    exact = (threshold > 0) & (steps_ >= 1)
    return np.where(exact, steps_ * (1 << _THRESHOLD_SHIFT) / np.where(exact, threshold, 1), s)


def _bits(state_range_high: int, peak) -> float | None:
    """Headroom ``log2(range / peak)`` in bits (None when the peak is 0)."""
    return None if not peak else float(math.log2(state_range_high / peak))


def _finish_scale(s: float, threshold, power_of_two_scale: bool, *, explicit: bool) -> float:
    """Round the chosen scale down to a power of two, or lower it slightly so that a single
    threshold of the population is exact (both only lower it: every limit still holds)."""
    if power_of_two_scale:
        return 2.0 ** math.floor(math.log2(s))
    if (
        not explicit
        and threshold is not None
        and threshold.size
        and np.ptp(threshold) == 0
        and threshold[0] > 0
    ):
        steps_ = math.floor(threshold[0] * s / (1 << _THRESHOLD_SHIFT))
        if steps_ >= 1:
            return steps_ * (1 << _THRESHOLD_SHIFT) / threshold[0]
    return s


def _loihi_fields(
    where,
    target,
    s,
    c,
    threshold,
    effective,
    largest_event,
    w_max,
    keep_syn_int,
    has_drive_bias,
    drive_bias_float,
) -> dict:
    """The integer fields of one population at scale ``s`` and their errors."""
    notes = []
    vth_values = None
    threshold_error = None
    if threshold is not None:
        vth_values = np.rint(threshold * s / (1 << _THRESHOLD_SHIFT)).astype(np.int64)
        if vth_values.max() > _VTH_MAX:
            k = int(np.argmax(vth_values))
            raise QuantizationError(
                f"{where}: v_threshold={threshold[k]:g} at scale {_scale_of(s, k):g} needs vth="
                f"{int(vth_values[k])}, outside the Loihi range [0, {_VTH_MAX}]"
            )
        back = vth_values * (1 << _THRESHOLD_SHIFT) / s
        threshold_error = float(
            np.max(np.abs(back - threshold) / np.maximum(np.abs(threshold), 1e-300))
        )
        if np.any(vth_values == 0):
            notes.append("a threshold rounds to 0: those neurons spike on any positive membrane")

    bias_int = c.bias * s
    bias_exp = 0
    while (
        bias_exp < _BIAS_EXP_MAX
        and np.max(np.abs(np.rint(bias_int / (1 << bias_exp)))) > _BIAS_MANT_MAX
    ):
        bias_exp += 1
    bias_mant = np.rint(bias_int / (1 << bias_exp)).astype(np.int64)
    if bias_mant.size and np.max(np.abs(bias_mant)) > _BIAS_MANT_MAX:
        k = int(np.argmax(np.abs(bias_mant)))
        bad = float(c.bias[k])
        raise QuantizationError(
            f"{where}: bias={bad:g} at scale {_scale_of(s, k):g} needs bias_mant << bias_exp = "
            f"{int(round(bad * _scale_of(s, k)))}, outside the Loihi range "
            f"[-{_BIAS_MANT_MAX} << {_BIAS_EXP_MAX}, {_BIAS_MANT_MAX} << {_BIAS_EXP_MAX}]"
        )
    bias_error = (
        float(np.max(np.abs(bias_mant * (1 << bias_exp) / s - c.bias))) if c.bias.size else 0.0
    )

    drive_bias = np.zeros(c.bias.shape, dtype=np.int64)
    drive_bias_error = 0.0
    drive_bias_shift = _INPUT_SHIFT
    if has_drive_bias:
        # The constant drive is added every step to every neuron, so its rounding error does
        # not average out like the weights': it gets the current's own resolution, the smallest
        # drive_bias_shift at which every value fits the drive_bias field (like bias_exp).
        in_current_units = drive_bias_float * s
        drive_bias_shift = 0
        while (
            drive_bias_shift < _INPUT_SHIFT
            and np.max(np.abs(np.rint(in_current_units / (1 << drive_bias_shift))))
            > _DRIVE_BIAS_MAX
        ):
            drive_bias_shift += 1
        drive_bias = np.rint(in_current_units / (1 << drive_bias_shift)).astype(np.int64)
        if np.max(np.abs(drive_bias)) > _DRIVE_BIAS_MAX:
            k = int(np.argmax(np.abs(drive_bias)))
            raise QuantizationError(
                f"{where}: the Affine bias into the synaptic current (input_bias * gain = "
                f"{float(drive_bias_float[k]):g}) at scale {_scale_of(s, k):g} needs drive_bias="
                f"{int(drive_bias[k])}, outside [-{_DRIVE_BIAS_MAX}, {_DRIVE_BIAS_MAX}] (the "
                f"24-bit current after the shift by {_INPUT_SHIFT})"
            )
        drive_bias_error = float(
            np.max(np.abs(drive_bias * (1 << drive_bias_shift) / s - drive_bias_float))
        )

    reports, weights = [], {}
    worst = np.abs(drive_bias).astype(np.float64) * (1 << drive_bias_shift)
    for source, w_eff in effective.items():
        w_int = np.rint(w_eff * s / (1 << _INPUT_SHIFT))
        clipped = int(np.sum(np.abs(w_int) > w_max))
        if clipped:
            notes.append(f"{clipped} weight(s) from {source!r} clipped to +-{w_max}")
        w_int = np.clip(w_int, -w_max - 1, w_max).astype(np.int64)
        weights[source] = w_int
        error = w_int * (1 << _INPUT_SHIFT) / s - w_eff
        max_abs = float(np.abs(w_eff).max()) if w_eff.size else 0.0
        rms = float(np.sqrt(np.mean(error**2))) if error.size else 0.0
        reports.append(
            ProjectionReport(
                source=source,
                target=target,
                n_nonzero_float=int(np.count_nonzero(w_eff)),
                n_nonzero_int=int(np.count_nonzero(w_int)),
                max_abs_float=max_abs,
                max_abs_int=int(np.abs(w_int).max()) if w_int.size else 0,
                rms_error=rms,
                max_error=float(np.abs(error).max()) if error.size else 0.0,
                relative_rms_error=rms / max_abs if max_abs else 0.0,
            )
        )
        worst = worst + largest_event[source] * np.abs(w_int).sum(axis=0) * (1 << _INPUT_SHIFT)
    # The Loihi decay rounds toward zero, so |u| never exceeds the steady state of the worst
    # drive: worst / (1 - keep).
    worst_per_neuron = np.ceil(worst / (1.0 - keep_syn_int))
    return dict(
        vth=vth_values,
        threshold_error=threshold_error,
        bias_mant=bias_mant,
        bias_exp=bias_exp,
        bias_error=bias_error,
        drive_bias=drive_bias,
        drive_bias_shift=drive_bias_shift,
        drive_bias_error=drive_bias_error,
        weights=weights,
        reports=reports,
        notes=notes,
        worst_current_per_neuron=worst_per_neuron,
        worst_current=int(worst_per_neuron.max()) if worst_per_neuron.size else 0,
    )


def _scale_of(s, neuron: int) -> float:
    """The scale of one neuron: ``s`` is one number or one per neuron."""
    return float(s[neuron]) if np.ndim(s) else float(s)


def _wide(network: Network) -> Network:
    """The same network with 48-bit states (and readout thresholds out of reach), to see what
    the 24-bit states would have to hold."""
    high = (1 << (_WIDE_STATE_WIDTH - 1)) - 1
    populations = []
    for p in network.populations.values():
        params = p.params.replace(v_width=_WIDE_STATE_WIDTH, i_width=_WIDE_STATE_WIDTH)
        if p.params.threshold_shift == 0:  # a non-spiking readout
            params = params.replace(threshold=high)
        populations.append(
            Population(p.name, p.size, params, weight_width=p.weight_width, max_delay=p.max_delay)
        )
    return Network(
        inputs=list(network.inputs.values()),
        populations=populations,
        projections=list(network.projections),
        outputs=list(network.outputs),
    )


def _calibrate_integer(network, report, calibration, neuron_peaks, v_high, i_high, accept_overflow):
    """Run the quantized network on the calibration data (24-bit and wide states); fill the
    states' calibration peaks, headroom and overflow counts; refuse an overflow unless
    ``accept_overflow``."""
    encoded = encode_inputs(report, calibration)
    record = ("spikes", "v", "i")
    narrow = simulate(network, encoded, record=record)
    wide = simulate(_wide(network), encoded, record=record)
    problems = []
    for name, layer in report.layers.items():
        # The float peak in integer units: the largest of peak * scale over the neurons.
        peak_i_float, peak_v_float = (
            float(np.max(peak * layer.scales)) for peak in neuron_peaks[name]
        )
        current = wide.i[name][:, :, 0, :]
        membrane = wide.v[name]
        for state, values, high, peak_float in (
            ("current", current, i_high, peak_i_float),
            ("membrane", membrane, v_high, peak_v_float),
        ):
            entry = layer.states[state]
            entry.calibration_peak_float = peak_float
            entry.calibration_peak_int = int(np.abs(values).max()) if values.size else 0
            entry.headroom_bits = _bits(high, entry.calibration_peak_int)
            entry.overflows = int(np.sum(np.abs(values) > high))
            if entry.overflows:
                verb = "wraps" if state == "current" else "saturates"
                problems.append(
                    f"population {name!r}: the {state} {verb} in "
                    f"{entry.overflows} values (peak {entry.calibration_peak_int}, "
                    f"range +-{high})"
                )
    # No state left its range, yet the spikes differ: a membrane saturated before its reset
    # (invisible in the recorded membrane after the reset). With a recorded overflow, the spikes
    # downstream of it differ as a consequence and are not counted again.
    for name, layer in report.layers.items():
        differ = int(np.sum(narrow.spikes[name] != wide.spikes[name]))
        if differ:
            layer.notes.append(
                f"calibration: {differ} spike values of the 24-bit network differ "
                f"from those with unbounded states"
            )
            if not problems:
                layer.states["membrane"].overflows = differ
                problems.append(
                    f"population {name!r}: {differ} spike values differ from the "
                    f"unbounded states (the membrane saturates before the reset)"
                )
    if problems:
        message = (
            "the integer network overflows its 24-bit states on the calibration data: "
            + "; ".join(problems)
        )
        if not accept_overflow:
            raise QuantizationError(
                message + " (accept_overflow=True keeps the network; a smaller scale avoids it)"
            )
        report.notes.append(message + " (accepted)")


def encode_inputs(network_or_report, float_inputs: dict) -> dict:
    """The integer inputs the chip gets for ``float_inputs`` ``{group: values (steps, batch,
    size)}``: a real-valued group (``report.inputs``) becomes ``clip(round(x * s_x), low,
    high)``, rounding half away from zero (``sign(y) * floor(|y| + 1/2)``, what C's ``lround``
    does), clipped to its ``bits``-bit range; a spike-count group passes through as int64.
    ``network_or_report``: the :class:`QuantizationReport` of :func:`quantize` (it holds the
    input scales), or a :class:`Network` without graded input groups."""
    if isinstance(network_or_report, QuantizationReport):
        scales = network_or_report.inputs
    elif isinstance(network_or_report, Network):
        graded = [
            name
            for name, g in network_or_report.inputs.items()
            if getattr(g, "value_bits", None) is not None
        ]
        if graded:
            raise QuantizationError(
                f"input group {graded[0]!r} is graded: its input scale is in "
                f"the QuantizationReport; pass the report"
            )
        scales = {}
    else:
        raise TypeError(
            f"encode_inputs takes a QuantizationReport or a Network, not "
            f"{type(network_or_report).__name__}"
        )
    if not isinstance(float_inputs, dict):
        raise TypeError(
            f"float_inputs must be a dict of input group -> values, not "
            f"{type(float_inputs).__name__}"
        )
    out = {}
    for name, values in float_inputs.items():
        if name in scales:
            entry = scales[name]
            x = np.asarray(values, dtype=np.float64)
            out[name] = np.clip(_round_half_away(x * entry.scale), entry.low, entry.high).astype(
                np.int64
            )
        else:
            array = np.asarray(values)
            if array.dtype.kind == "f":
                if np.any(array != np.rint(array)):
                    raise QuantizationError(
                        f"input {name!r} is a spike-count group but holds non-integer values"
                    )
            out[name] = array.astype(np.int64)
    return out


def _quantize_if(
    float_net: FloatNetwork,
    *,
    weight_width: int,
    scale: dict,
    power_of_two_scale: bool,
    weight_percentile: float,
    v_width: int,
) -> tuple[Network, QuantizationReport]:
    """``model="if"``: every population is an IF population (``keep_mem = 1``, no current) and
    becomes ``NeuronParams(n_currents=0, v_width, saturate, no decay, input_shift=0,
    threshold_shift=0, comparison '>', reset 'subtract' or 'zero', max_spikes=1)``, so one
    integer step is ``v = sat(v + sum count * w + bias)``, then the spike test ``v > vth``, the
    float step term by term with::

        w    = round(weight * gain * S)       (weight_width-bit signed)
        vth  = round(v_threshold * S)         (exact when the population has one threshold)
        bias = round(bias * S)                (bias_exponent 0)

    ``S = (2^(weight_width-1) - 1) / max|weight * gain|`` (or the ``weight_percentile``), lowered
    so that the threshold and the bias fit ``v_width`` with room for one step of input, then so
    that a single threshold is an exact integer (or rounded down to a power of two)."""
    if isinstance(v_width, bool) or not isinstance(v_width, int) or not 4 <= v_width <= 64:
        raise QuantizationError(f"v_width must be an integer between 4 and 64, not {v_width!r}")
    w_max = (1 << (weight_width - 1)) - 1
    v_high = (1 << (v_width - 1)) - 1
    populations, projections, layers = [], [], {}
    for name, pop in float_net.populations.items():
        where = f"population {name!r} ({pop.model}{', ' + pop.origin if pop.origin else ''})"
        if pop.model != "IF":
            raise QuantizationError(
                f"{where}: model 'if' needs IF populations (no leak, no "
                f"synaptic current), not {pop.model}; use model='loihi'"
            )
        if pop.reset == "value" and pop.v_reset != 0:
            raise QuantizationError(
                f"{where}: v_reset={pop.v_reset:g}; model 'if' resets to "
                f"0 or by subtraction (supported: v_reset=0)"
            )
        c = float_net.discrete(name)
        threshold = np.asarray(c.threshold, dtype=np.float64)
        if np.any(threshold < 0):
            raise QuantizationError(
                f"{where}: v_threshold={threshold.min():g} is negative "
                f"(supported: v_threshold >= 0)"
            )
        notes = []
        incoming = float_net.projections_to(name)
        effective = {p.source: p.weight * c.gain[np.newaxis, :] for p in incoming}
        magnitudes = (
            np.concatenate([np.abs(w).reshape(-1) for w in effective.values()])
            if effective
            else np.zeros(0)
        )
        magnitudes = magnitudes[magnitudes > 0]
        reference = float(np.percentile(magnitudes, weight_percentile)) if magnitudes.size else 0.0
        # One step's largest input, in float units: threshold + bias + drive must fit.
        max_counts = {
            p.source: (
                float_net.inputs[p.source].max_count
                if p.source in float_net.inputs
                else float_net.populations[p.source].max_spikes
            )
            for p in incoming
        }
        step_drive = sum(max_counts[src] * np.abs(w).sum(axis=0) for src, w in effective.items())
        step_drive = float(np.max(step_drive)) if incoming else 0.0
        bias_abs = float(np.abs(c.bias).max()) if c.bias.size else 0.0
        headroom = float(threshold.max()) + bias_abs + step_drive
        limits = []
        if reference > 0:
            limits.append(w_max / reference)
        if headroom > 0:
            limits.append(v_high / headroom)
        if name in scale:
            s = float(scale[name])
            if not (math.isfinite(s) and s > 0):
                raise QuantizationError(f"{where}: scale must be a positive number, not {s!r}")
        elif limits:
            s = min(limits)
            if reference > 0 and s < limits[0]:
                notes.append(
                    f"scale lowered from {limits[0]:.6g} to {s:.6g} so that one "
                    f"step's input fits v_width={v_width}"
                )
        else:
            s = 1.0
        if power_of_two_scale:
            s = 2.0 ** math.floor(math.log2(s))
        elif (
            name not in scale
            and threshold.size
            and np.ptp(threshold) == 0
            and threshold[0] > 0
            and math.floor(threshold[0] * s) >= 1
        ):
            s = math.floor(threshold[0] * s) / threshold[0]
        vth = np.rint(threshold * s).astype(np.int64)
        if vth.max() > v_high:
            raise QuantizationError(
                f"{where}: v_threshold={threshold.max():g} at scale {s:g} "
                f"needs vth={int(vth.max())}, outside v_width={v_width} "
                f"([0, {v_high}])"
            )
        threshold_error = float(
            np.max(np.abs(vth / s - threshold) / np.maximum(np.abs(threshold), 1e-300))
        )
        if np.any(vth == 0):
            notes.append("a threshold rounds to 0: those neurons spike on any positive membrane")
        bias_int = np.rint(c.bias * s).astype(np.int64)
        if bias_int.size and np.max(np.abs(bias_int)) > v_high:
            raise QuantizationError(
                f"{where}: bias={float(np.abs(c.bias).max()):g} at scale "
                f"{s:g} needs {int(np.abs(bias_int).max())}, outside "
                f"v_width={v_width} ([{-v_high}, {v_high}])"
            )
        bias_error = float(np.max(np.abs(bias_int / s - c.bias))) if c.bias.size else 0.0
        reset = ResetMode.SUBTRACT if pop.reset == "subtract" else ResetMode.ZERO
        params = NeuronParams(
            n_currents=0,
            v_width=v_width,
            v_overflow=Overflow.SATURATE,
            input_shift=0,
            bias_mantissa=(int(bias_int[0]) if np.all(bias_int == bias_int[0]) else bias_int),
            bias_exponent=0,
            threshold=(int(vth[0]) if np.all(vth == vth[0]) else vth),
            threshold_shift=0,
            comparison=(Comparison.GREATER_EQUAL if pop.comparison == ">=" else Comparison.GREATER),
            reset=reset,
            max_spikes=pop.max_spikes,
        )
        projection_reports = []
        worst = np.zeros(pop.size)
        for p in incoming:
            w_eff = effective[p.source]
            w_int = np.rint(w_eff * s)
            clipped = int(np.sum(np.abs(w_int) > w_max))
            if clipped:
                notes.append(f"{clipped} weight(s) from {p.source!r} clipped to +-{w_max}")
            w_int = np.clip(w_int, -w_max - 1, w_max).astype(np.int64)
            conv = _integer_conv(p.conv, w_int, notes, p.source)
            # A conv projection keeps its integer kernel alone (its lowering is w_int).
            projections.append(
                Projection(
                    p.source,
                    name,
                    None if conv is not None else w_int,
                    same_step=p.same_step,
                    conv=conv,
                )
            )
            error = w_int / s - w_eff
            max_abs = float(np.abs(w_eff).max()) if w_eff.size else 0.0
            rms = float(np.sqrt(np.mean(error**2))) if error.size else 0.0
            projection_reports.append(
                ProjectionReport(
                    source=p.source,
                    target=name,
                    n_nonzero_float=int(np.count_nonzero(w_eff)),
                    n_nonzero_int=int(np.count_nonzero(w_int)),
                    max_abs_float=max_abs,
                    max_abs_int=int(np.abs(w_int).max()) if w_int.size else 0,
                    rms_error=rms,
                    max_error=float(np.abs(error).max()) if error.size else 0.0,
                    relative_rms_error=rms / max_abs if max_abs else 0.0,
                )
            )
            worst += max_counts[p.source] * np.abs(w_int).sum(axis=0)
        worst_step = int(worst.max() + np.abs(bias_int).max()) if worst.size else 0
        if worst_step:
            notes.append(
                f"no leak: the membrane can move by up to {worst_step} per step and "
                f"saturates at +-{v_high} (after at least {v_high // worst_step} steps "
                f"of the worst-case input)"
            )
        populations.append(Population(name, pop.size, params, weight_width=weight_width))
        layers[name] = LayerReport(
            population=name,
            model=pop.model,
            size=pop.size,
            scale=s,
            dv=0,
            du=0,
            keep_mem_float=1.0,
            keep_mem_int=1.0,
            keep_syn_float=None,
            keep_syn_int=0.0,
            threshold_float=[float(threshold.min()), float(threshold.max())],
            threshold_mantissa=[int(vth.min()), int(vth.max())],
            threshold_max_relative_error=threshold_error,
            bias_exponent=0,
            bias_max_abs_float=bias_abs,
            bias_max_error=bias_error,
            worst_case_current=worst_step,
            projections=projection_reports,
            notes=notes,
        )
    inputs = [InputGroup(g.name, g.size, max_count=g.max_count) for g in float_net.inputs.values()]
    network = Network(
        inputs=inputs,
        populations=populations,
        projections=projections,
        outputs=list(float_net.outputs),
    )
    return network, QuantizationReport(model="if", weight_width=weight_width, layers=layers)


# --- float versus fixed-point accuracy ----------------------------------------------------------


@dataclass
class AccuracyReport:
    n_samples: int
    float_accuracy: float
    fixed_accuracy: float
    agreement: float  # fraction of samples where both predict the same class
    float_predictions: np.ndarray = field(repr=False)
    fixed_predictions: np.ndarray = field(repr=False)
    output: str = ""
    readout: str = "spike_count"
    fixed_spikes_per_sample: float = 0.0  # all populations, per inference
    fixed_synaptic_ops_per_sample: float = 0.0  # spikes x fan-out (nonzero weights)

    def to_dict(self):
        return {k: v for k, v in self.__dict__.items() if not isinstance(v, np.ndarray)}


def _as_inputs(network, inputs):
    if isinstance(inputs, dict):
        return inputs
    if len(network.inputs) != 1:
        raise ValueError(f"the network has {len(network.inputs)} input groups; pass a dict")
    return {next(iter(network.inputs)): inputs}


def evaluate(
    float_net: FloatNetwork,
    network: Network,
    inputs,
    labels,
    *,
    output: str | None = None,
    readout: str = "auto",
    batch_size: int = 512,
    report: QuantizationReport | None = None,
) -> AccuracyReport:
    """Float (:func:`simulate_float`) versus fixed-point (:func:`neurohw.network.simulate`)
    accuracy on a labelled dataset. ``inputs``: counts (steps, n, size) for a single input group,
    or a dict of them; ``readout``: ``"spike_count"``, ``"membrane_mean"``, ``"membrane_last"``
    or ``"auto"`` (spike counts for spiking outputs, the mean membrane for LI/CubaLI). With
    ``report``, the result is also stored as ``report.accuracy``. Real-valued input groups take
    real values: the float network gets them as they are, the integer network gets
    :func:`encode_inputs` of them (which needs ``report``, the one :func:`quantize` returned)."""
    output = output or network.outputs[0]
    if output not in float_net.populations or output not in network.populations:
        raise ValueError(f"output {output!r} is not a population of both networks")
    if readout == "auto":
        readout = "spike_count" if float_net.populations[output].spiking else "membrane_mean"
    inputs = _as_inputs(network, inputs)
    real = [name for name, g in float_net.inputs.items() if g.real_valued]
    if real and report is None:
        raise ValueError(
            f"input group {real[0]!r} is real-valued: pass report=<the "
            f"QuantizationReport of quantize> so its values can be encoded"
        )
    labels = np.asarray(labels)
    n = labels.shape[0]
    record = ("spikes",) if readout == "spike_count" else ("spikes", "v")
    fan_out = {name: np.zeros(network.size(name)) for name in network.populations}
    for p in network.projections:
        if p.source in fan_out:
            fan_out[p.source] += p.fan_out()
    layer = None if report is None else report.layers.get(output)
    per_neuron_scales = None if layer is None or layer.neuron_scales is None else layer.scales
    float_pred, fixed_pred = [], []
    spikes_total, ops_total = 0.0, 0.0
    for first in range(0, n, batch_size):
        chunk = {k: np.asarray(v)[:, first : first + batch_size] for k, v in inputs.items()}
        f_trace = simulate_float(float_net, chunk, record=record)
        f_scores = readout_scores(
            f_trace.spikes[output],
            None if f_trace.v is None else f_trace.v[output],
            readout=readout,
        )
        encoded = encode_inputs(report if report is not None else network, chunk)
        q_trace = simulate(network, encoded, record=record)
        q_scores = readout_scores(
            q_trace.spikes[output],
            None if q_trace.v is None else q_trace.v[output],
            readout=readout,
        )
        if readout != "spike_count" and per_neuron_scales is not None:
            # Membranes in each neuron's own units are compared in float units.
            q_scores = q_scores / per_neuron_scales
        float_pred.append(np.argmax(f_scores, axis=1))
        fixed_pred.append(np.argmax(q_scores, axis=1))
        for name, s in q_trace.spikes.items():
            spikes_total += float(s.sum())
            ops_total += float((s.sum(axis=(0, 1)) * fan_out[name]).sum())
        for name, group in network.inputs.items():
            # A graded value is one event per nonzero value; a count is that many events.
            events = encoded[name]
            if getattr(group, "value_bits", None) is not None:
                events = events != 0
            counts = np.abs(events).sum(axis=(0, 1))
            in_fan = np.zeros(group.size)
            for p in network.projections_from(name):
                in_fan += p.fan_out()
            ops_total += float((counts * in_fan).sum())
    float_pred = np.concatenate(float_pred)
    fixed_pred = np.concatenate(fixed_pred)
    result = AccuracyReport(
        n_samples=n,
        float_accuracy=float(np.mean(float_pred == labels)),
        fixed_accuracy=float(np.mean(fixed_pred == labels)),
        agreement=float(np.mean(float_pred == fixed_pred)),
        float_predictions=float_pred,
        fixed_predictions=fixed_pred,
        output=output,
        readout=readout,
        fixed_spikes_per_sample=spikes_total / n,
        fixed_synaptic_ops_per_sample=ops_total / n,
    )
    if report is not None:
        report.accuracy = result
    return result
