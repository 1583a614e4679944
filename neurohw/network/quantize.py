"""Quantization: a :class:`FloatNetwork` to an integer :class:`Network` of Loihi CUBA neurons.

The lowering is term by term (``docs/frontends.md``). Each population gets one scale ``S``
(integer membrane units per float unit). With the Loihi preset (``docs/semantics.md``,
``loihi_cuba_lif``: 24-bit states, input and threshold shifted left by 6, 12-bit decays)::

    float (floatnet)                          integer (Loihi)
    keep_mem = 1 - dt/tau_mem                 dv = round(4096 * (1 - keep_mem))
    keep_syn = 1 - dt/tau_syn                 du = round(4096 * (1 - keep_syn)) - 1
    no synaptic current (LIF, IF, LI)         du = 4095 (the current keeps nothing)
    weight * gain[target]                     w = round(weight * gain * S / 2^6), weight_width bits
    v_threshold                               vth = round(v_threshold * S / 2^6) (17 bits)
    bias (v_leak, Affine bias)                bias_mant << bias_exp = round(bias * S) (13 + 3 bits)

``S = (2^(weight_width-1) - 1) * 2^6 / max|weight * gain|`` over every projection onto the
population (the largest weight uses the full width), lowered if the threshold or the bias would
not fit, and optionally rounded down to a power of two (``power_of_two_scale=True``: the scale is
then a pure shift). Spikes are binary, so each population's scale is independent.

Non-spiking readouts (LI, CubaLI) get ``threshold_shift = 0`` and a threshold of ``2^23 - 1``,
which the symmetrically saturating membrane can never exceed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..model.params import Comparison, NeuronParams, Overflow, ResetMode, state_range
from ..model.presets import loihi_cuba_lif
from .floatnet import FloatNetwork, readout_scores, simulate_float
from .graph import InputGroup, Network, Population, Projection
from .system import simulate

__all__ = ["QuantizationError", "ProjectionReport", "LayerReport", "QuantizationReport",
           "quantize", "AccuracyReport", "evaluate", "MODELS"]

#: ``"loihi"``: the ``loihi_cuba_lif`` preset; ``"if"``: a plain integrate-and-fire neuron
#: (membrane only, no decay, no shifts), for IF populations such as ANN-to-SNN conversions.
MODELS = ("loihi", "if")

# Loihi field limits (lava-nc 0.10, docs/semantics.md section 7).
_DECAY_BITS = 12
_DECAY_ONE = 1 << _DECAY_BITS
_INPUT_SHIFT = 6
_THRESHOLD_SHIFT = 6
_VTH_MAX = (1 << 17) - 1
_BIAS_MANT_MAX = (1 << 12) - 1      # 13-bit signed mantissa
_BIAS_EXP_MAX = 7
_STATE_WIDTH = 24


class QuantizationError(ValueError):
    """A float parameter cannot be represented by the chosen integer model."""


@dataclass
class ProjectionReport:
    source: str
    target: str
    n_nonzero_float: int
    n_nonzero_int: int
    max_abs_float: float         # of weight * gain (float membrane units per spike)
    max_abs_int: int
    rms_error: float             # float units, of (int weight * 2^6 / S) - weight * gain
    max_error: float
    relative_rms_error: float    # rms_error / max_abs_float

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class LayerReport:
    population: str
    model: str
    size: int
    scale: float                 # integer membrane units per float unit
    dv: int
    du: int
    keep_mem_float: float
    keep_mem_int: float
    keep_syn_float: float | None
    keep_syn_int: float
    threshold_float: list | None          # (min, max)
    threshold_mantissa: list | None       # (min, max)
    threshold_max_relative_error: float | None
    bias_exponent: int
    bias_max_abs_float: float
    bias_max_error: float                 # float units
    worst_case_current: int               # |i| bound in integer units (from max input counts)
    projections: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def weight_relative_rms_error(self) -> float:
        errors = [p.relative_rms_error for p in self.projections]
        return max(errors) if errors else 0.0

    def to_dict(self):
        out = dict(self.__dict__)
        out["projections"] = [p.to_dict() for p in self.projections]
        return out


@dataclass
class QuantizationReport:
    model: str
    weight_width: int
    layers: dict
    notes: list = field(default_factory=list)
    #: filled by ``evaluate(..., report=report)``
    accuracy: "AccuracyReport | None" = None

    def to_dict(self):
        return {"model": self.model, "weight_width": self.weight_width,
                "layers": {k: v.to_dict() for k, v in self.layers.items()},
                "notes": list(self.notes),
                "accuracy": None if self.accuracy is None else self.accuracy.to_dict()}

    def table(self) -> str:
        """A plain-text summary: one line per population and per projection."""
        lines = [f"quantization to {self.model}, {self.weight_width}-bit weights"]
        for layer in self.layers.values():
            thr = ("-" if layer.threshold_mantissa is None else
                   f"vth {layer.threshold_mantissa[0]}..{layer.threshold_mantissa[1]} "
                   f"(rel err {layer.threshold_max_relative_error:.2e})")
            syn = ("-" if layer.keep_syn_float is None
                   else f"{layer.keep_syn_float:.6f}->{layer.keep_syn_int:.6f}")
            lines.append(f"  {layer.population} ({layer.model}, {layer.size}): scale "
                         f"{layer.scale:.6g}, dv {layer.dv} (keep {layer.keep_mem_float:.6f}->"
                         f"{layer.keep_mem_int:.6f}), du {layer.du} (keep {syn}), {thr}, bias "
                         f"exp {layer.bias_exponent} (max err {layer.bias_max_error:.2e})")
            for p in layer.projections:
                lines.append(f"    {p.source} -> {p.target}: max |w| {p.max_abs_float:.4g} -> "
                             f"{p.max_abs_int}, rms err {p.rms_error:.3e} "
                             f"({100 * p.relative_rms_error:.3f} % of max), nonzero "
                             f"{p.n_nonzero_float} -> {p.n_nonzero_int}")
            for note in layer.notes:
                lines.append(f"    note: {note}")
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.accuracy is not None:
            a = self.accuracy
            lines.append(f"  accuracy on {a.n_samples} samples: float {a.float_accuracy:.4f}, "
                         f"fixed point {a.fixed_accuracy:.4f}, agreement {a.agreement:.4f}")
        return "\n".join(lines)


def _uniform(values, what, where):
    values = np.asarray(values, dtype=np.float64)
    if values.size and np.ptp(values) > 1e-12 * max(1.0, float(np.abs(values).max())):
        raise QuantizationError(f"{where}: {what} differs per neuron (from {values.min():g} to "
                                f"{values.max():g}); the Loihi neuron has one value per "
                                f"population")
    return float(values.reshape(-1)[0])


def quantize(float_net: FloatNetwork, *, weight_width: int = 8, model: str = "loihi",
             scale: dict | None = None, power_of_two_scale: bool = False,
             weight_percentile: float = 100.0,
             v_width: int = _STATE_WIDTH) -> tuple[Network, QuantizationReport]:
    """Quantize ``float_net`` onto integer neurons of ``model`` with ``weight_width``-bit signed
    weights: ``"loihi"`` (the ``loihi_cuba_lif`` preset) or ``"if"`` (every population must be
    an ``IF`` population; see :func:`_quantize_if`: membrane only, ``v_width``-bit saturating
    membrane, unshifted weights, threshold and bias, reset by subtraction or to zero).

    ``scale``: optional ``{population: S}`` overriding the chosen per-population scale;
    ``power_of_two_scale``: round each scale down to a power of two; ``weight_percentile``:
    choose the scale from this percentile of ``|weight|`` instead of the maximum (larger weights
    are clipped, and the report says how many).

    Returns the integer :class:`Network` and a :class:`QuantizationReport`. Raises
    :class:`QuantizationError` naming the population, the parameter, its value and the allowed
    range when a parameter cannot be represented.
    """
    if model not in MODELS:
        raise QuantizationError(f"model must be one of 'loihi', 'if' (IF populations only), "
                                f"not {model!r}")
    if isinstance(weight_width, bool) or not isinstance(weight_width, int) \
            or not 2 <= weight_width <= 16:
        raise QuantizationError(f"weight_width must be an integer between 2 and 16, not "
                                f"{weight_width!r}")
    if not 0 < weight_percentile <= 100:
        raise QuantizationError(f"weight_percentile must be in (0, 100], not "
                                f"{weight_percentile!r}")
    scale = dict(scale or {})
    unknown = sorted(set(scale) - set(float_net.populations))
    if unknown:
        raise QuantizationError(f"scale names unknown population(s) {unknown}")
    if model == "if":
        return _quantize_if(float_net, weight_width=weight_width, scale=scale,
                            power_of_two_scale=power_of_two_scale,
                            weight_percentile=weight_percentile, v_width=v_width)
    w_max = (1 << (weight_width - 1)) - 1
    v_low, v_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).v_overflow)
    i_high = state_range(_STATE_WIDTH, loihi_cuba_lif(du=0, dv=0, vth=0).i_overflow)[1]

    populations, projections, layers = [], [], {}
    int_weights: dict[tuple[str, str], np.ndarray] = {}
    for name, pop in float_net.populations.items():
        where = f"population {name!r} ({pop.model}{', ' + pop.origin if pop.origin else ''})"
        c = float_net.discrete(name)
        notes = []
        # Decays.
        keep_mem = _uniform(c.keep_mem, "tau_mem", where)
        dv = int(round(_DECAY_ONE * (1.0 - keep_mem)))
        if dv > _DECAY_ONE - 1:
            notes.append(f"dv {dv} clipped to {_DECAY_ONE - 1} (the membrane keeps 1/4096 "
                         f"instead of {keep_mem:g})")
            dv = _DECAY_ONE - 1
        if c.keep_syn is not None:
            keep_syn = _uniform(c.keep_syn, "tau_syn", where)
            du = int(round(_DECAY_ONE * (1.0 - keep_syn))) - 1
            if du < 0:
                notes.append(f"du {du} raised to 0: the Loihi current keeps at most "
                             f"4095/4096, not {keep_syn:g}")
                du = 0
            if du > _DECAY_ONE - 1:
                du = _DECAY_ONE - 1
            if np.any(c.input_bias != 0):
                raise QuantizationError(
                    f"{where}: a constant input (Affine bias, values from "
                    f"{c.input_bias.min():g} to {c.input_bias.max():g}) enters the synaptic "
                    f"current, but the Loihi bias adds to the membrane; supported: Linear "
                    f"(bias-free) projections onto CubaLIF/CubaLI, or Affine onto LIF/IF/LI")
        else:
            keep_syn = None
            du = _DECAY_ONE - 1
        keep_mem_int = 1.0 - dv / _DECAY_ONE
        keep_syn_int = (_DECAY_ONE - du - 1) / _DECAY_ONE

        # Reset.
        if pop.spiking:
            if pop.reset == "value" and pop.v_reset != 0:
                raise QuantizationError(f"{where}: v_reset={pop.v_reset:g}; the Loihi neuron "
                                        f"resets to 0 (supported: v_reset=0)")
            threshold = np.asarray(c.threshold, dtype=np.float64)
            if np.any(threshold < 0):
                raise QuantizationError(f"{where}: v_threshold={threshold.min():g} is "
                                        f"negative; the Loihi threshold vth is unsigned "
                                        f"(supported: v_threshold >= 0)")
        else:
            threshold = None

        # Scale: full weight range, lowered so the threshold and the bias fit.
        incoming = float_net.projections_to(name)
        effective = {p.source: p.weight * c.gain[np.newaxis, :] for p in incoming}
        magnitudes = np.concatenate([np.abs(w).reshape(-1) for w in effective.values()]) \
            if effective else np.zeros(0)
        magnitudes = magnitudes[magnitudes > 0]
        reference = (float(np.percentile(magnitudes, weight_percentile))
                     if magnitudes.size else 0.0)
        limits = []
        if reference > 0:
            limits.append(w_max * (1 << _INPUT_SHIFT) / reference)
        if threshold is not None and threshold.max() > 0:
            limits.append(_VTH_MAX * (1 << _THRESHOLD_SHIFT) / threshold.max())
        bias_abs = float(np.abs(c.bias).max()) if c.bias.size else 0.0
        if bias_abs > 0:
            limits.append(_BIAS_MANT_MAX * (1 << _BIAS_EXP_MAX) / bias_abs)
        if name in scale:
            s = float(scale[name])
            if not (math.isfinite(s) and s > 0):
                raise QuantizationError(f"{where}: scale must be a positive number, not {s!r}")
        elif limits:
            s = min(limits)
            if reference > 0 and s < limits[0]:
                notes.append(f"scale lowered from {limits[0]:.6g} to {s:.6g} so the threshold "
                             f"and bias fit; weights use less than the full width")
        else:
            s = float(1 << _INPUT_SHIFT)
        if power_of_two_scale:
            s = 2.0 ** math.floor(math.log2(s))
        elif name not in scale and threshold is not None and threshold.size \
                and np.ptp(threshold) == 0 and threshold[0] > 0:
            # One threshold for the population: lower the scale slightly so that it is exact.
            steps_ = math.floor(threshold[0] * s / (1 << _THRESHOLD_SHIFT))
            if steps_ >= 1:
                s = steps_ * (1 << _THRESHOLD_SHIFT) / threshold[0]

        # Threshold.
        vth_values = None
        threshold_error = None
        if threshold is not None:
            vth_values = np.rint(threshold * s / (1 << _THRESHOLD_SHIFT)).astype(np.int64)
            if vth_values.max() > _VTH_MAX:
                raise QuantizationError(
                    f"{where}: v_threshold={threshold.max():g} at scale {s:g} needs vth="
                    f"{int(vth_values.max())}, outside the Loihi range [0, {_VTH_MAX}]")
            back = vth_values * (1 << _THRESHOLD_SHIFT) / s
            threshold_error = float(np.max(np.abs(back - threshold) / np.maximum(
                np.abs(threshold), 1e-300)))
            if np.any(vth_values == 0):
                notes.append("a threshold rounds to 0: those neurons spike on any positive "
                             "membrane")

        # Bias.
        bias_int = c.bias * s
        bias_exp = 0
        while bias_exp < _BIAS_EXP_MAX and np.max(np.abs(np.rint(bias_int / (1 << bias_exp)))) \
                > _BIAS_MANT_MAX:
            bias_exp += 1
        bias_mant = np.rint(bias_int / (1 << bias_exp)).astype(np.int64)
        if bias_mant.size and np.max(np.abs(bias_mant)) > _BIAS_MANT_MAX:
            bad = float(c.bias[np.argmax(np.abs(bias_mant))])
            raise QuantizationError(
                f"{where}: bias={bad:g} at scale {s:g} needs bias_mant << bias_exp = "
                f"{int(round(bad * s))}, outside the Loihi range "
                f"[-{_BIAS_MANT_MAX} << {_BIAS_EXP_MAX}, {_BIAS_MANT_MAX} << {_BIAS_EXP_MAX}]")
        bias_error = float(np.max(np.abs(bias_mant * (1 << bias_exp) / s - c.bias))) \
            if c.bias.size else 0.0

        # Neuron parameters.
        uniform_bias = bool(np.all(bias_mant == bias_mant[0]))
        params = loihi_cuba_lif(du=du, dv=dv, vth=0, bias_mant=int(bias_mant[0]) if uniform_bias
                                else bias_mant, bias_exp=bias_exp)
        if vth_values is not None:
            params = params.replace(threshold=(int(vth_values[0]) if np.all(
                vth_values == vth_values[0]) else vth_values))
            if pop.reset == "subtract":
                params = params.replace(reset=ResetMode.SUBTRACT)
                notes.append("reset by subtraction (not a Loihi mode; NeuronParams reset "
                             "'subtract')")
        else:
            params = params.replace(threshold=v_high, threshold_shift=0)
            notes.append(f"non-spiking readout: threshold {v_high} with threshold_shift 0 "
                         f"(never exceeded)")

        # Weights.
        projection_reports = []
        worst = np.zeros(pop.size)
        for p in incoming:
            w_eff = effective[p.source]
            w_int = np.rint(w_eff * s / (1 << _INPUT_SHIFT))
            clipped = int(np.sum(np.abs(w_int) > w_max))
            if clipped:
                notes.append(f"{clipped} weight(s) from {p.source!r} clipped to +-{w_max}")
            w_int = np.clip(w_int, -w_max - 1, w_max).astype(np.int64)
            int_weights[(p.source, name)] = w_int
            error = w_int * (1 << _INPUT_SHIFT) / s - w_eff
            max_abs = float(np.abs(w_eff).max()) if w_eff.size else 0.0
            rms = float(np.sqrt(np.mean(error ** 2))) if error.size else 0.0
            projection_reports.append(ProjectionReport(
                source=p.source, target=name, n_nonzero_float=int(np.count_nonzero(w_eff)),
                n_nonzero_int=int(np.count_nonzero(w_int)), max_abs_float=max_abs,
                max_abs_int=int(np.abs(w_int).max()) if w_int.size else 0,
                rms_error=rms, max_error=float(np.abs(error).max()) if error.size else 0.0,
                relative_rms_error=rms / max_abs if max_abs else 0.0))
            count = (float_net.inputs[p.source].max_count if p.source in float_net.inputs
                     else 1)
            worst += count * np.abs(w_int).sum(axis=0) * (1 << _INPUT_SHIFT)
        retain = (_DECAY_ONE - du - 1) / _DECAY_ONE
        worst_current = int(np.ceil(worst.max() / (1 - retain))) if worst.size else 0
        if worst_current > i_high:
            notes.append(f"worst-case current {worst_current} exceeds the 24-bit range "
                         f"(+-{i_high}); Loihi wraps it (not expected with realistic inputs)")
        populations.append(Population(name, pop.size, params, weight_width=weight_width))
        layers[name] = LayerReport(
            population=name, model=pop.model, size=pop.size, scale=s, dv=dv, du=du,
            keep_mem_float=keep_mem, keep_mem_int=keep_mem_int, keep_syn_float=keep_syn,
            keep_syn_int=keep_syn_int,
            threshold_float=(None if threshold is None
                             else [float(threshold.min()), float(threshold.max())]),
            threshold_mantissa=(None if vth_values is None
                                else [int(vth_values.min()), int(vth_values.max())]),
            threshold_max_relative_error=threshold_error, bias_exponent=bias_exp,
            bias_max_abs_float=bias_abs, bias_max_error=bias_error,
            worst_case_current=worst_current, projections=projection_reports, notes=notes)
    for (source, target), w in int_weights.items():
        projections.append(Projection(source, target, w))
    inputs = [InputGroup(g.name, g.size, max_count=g.max_count)
              for g in float_net.inputs.values()]
    network = Network(inputs=inputs, populations=populations, projections=projections,
                      outputs=list(float_net.outputs))
    report = QuantizationReport(model=model, weight_width=weight_width, layers=layers)
    return network, report


def _quantize_if(float_net: FloatNetwork, *, weight_width: int, scale: dict,
                 power_of_two_scale: bool, weight_percentile: float,
                 v_width: int) -> tuple[Network, QuantizationReport]:
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
        raise QuantizationError(f"v_width must be an integer between 4 and 64, not "
                                f"{v_width!r}")
    w_max = (1 << (weight_width - 1)) - 1
    v_high = (1 << (v_width - 1)) - 1
    populations, projections, layers = [], [], {}
    for name, pop in float_net.populations.items():
        where = f"population {name!r} ({pop.model}{', ' + pop.origin if pop.origin else ''})"
        if pop.model != "IF":
            raise QuantizationError(f"{where}: model 'if' needs IF populations (no leak, no "
                                    f"synaptic current), not {pop.model}; use model='loihi'")
        if pop.reset == "value" and pop.v_reset != 0:
            raise QuantizationError(f"{where}: v_reset={pop.v_reset:g}; model 'if' resets to "
                                    f"0 or by subtraction (supported: v_reset=0)")
        c = float_net.discrete(name)
        threshold = np.asarray(c.threshold, dtype=np.float64)
        if np.any(threshold < 0):
            raise QuantizationError(f"{where}: v_threshold={threshold.min():g} is negative "
                                    f"(supported: v_threshold >= 0)")
        notes = []
        incoming = float_net.projections_to(name)
        effective = {p.source: p.weight * c.gain[np.newaxis, :] for p in incoming}
        magnitudes = np.concatenate([np.abs(w).reshape(-1) for w in effective.values()]) \
            if effective else np.zeros(0)
        magnitudes = magnitudes[magnitudes > 0]
        reference = (float(np.percentile(magnitudes, weight_percentile))
                     if magnitudes.size else 0.0)
        # One step's largest input, in float units: threshold + bias + drive must fit.
        max_counts = {p.source: (float_net.inputs[p.source].max_count
                                 if p.source in float_net.inputs else 1) for p in incoming}
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
                notes.append(f"scale lowered from {limits[0]:.6g} to {s:.6g} so that one "
                             f"step's input fits v_width={v_width}")
        else:
            s = 1.0
        if power_of_two_scale:
            s = 2.0 ** math.floor(math.log2(s))
        elif name not in scale and threshold.size and np.ptp(threshold) == 0 \
                and threshold[0] > 0 and math.floor(threshold[0] * s) >= 1:
            s = math.floor(threshold[0] * s) / threshold[0]
        vth = np.rint(threshold * s).astype(np.int64)
        if vth.max() > v_high:
            raise QuantizationError(f"{where}: v_threshold={threshold.max():g} at scale {s:g} "
                                    f"needs vth={int(vth.max())}, outside v_width={v_width} "
                                    f"([0, {v_high}])")
        threshold_error = float(np.max(np.abs(vth / s - threshold)
                                       / np.maximum(np.abs(threshold), 1e-300)))
        if np.any(vth == 0):
            notes.append("a threshold rounds to 0: those neurons spike on any positive membrane")
        bias_int = np.rint(c.bias * s).astype(np.int64)
        if bias_int.size and np.max(np.abs(bias_int)) > v_high:
            raise QuantizationError(f"{where}: bias={float(np.abs(c.bias).max()):g} at scale "
                                    f"{s:g} needs {int(np.abs(bias_int).max())}, outside "
                                    f"v_width={v_width} ([{-v_high}, {v_high}])")
        bias_error = float(np.max(np.abs(bias_int / s - c.bias))) if c.bias.size else 0.0
        reset = ResetMode.SUBTRACT if pop.reset == "subtract" else ResetMode.ZERO
        params = NeuronParams(
            n_currents=0, v_width=v_width, v_overflow=Overflow.SATURATE, input_shift=0,
            bias_mantissa=(int(bias_int[0]) if np.all(bias_int == bias_int[0]) else bias_int),
            bias_exponent=0,
            threshold=(int(vth[0]) if np.all(vth == vth[0]) else vth), threshold_shift=0,
            comparison=Comparison.GREATER, reset=reset, max_spikes=1)
        projection_reports = []
        worst = np.zeros(pop.size)
        for p in incoming:
            w_eff = effective[p.source]
            w_int = np.rint(w_eff * s)
            clipped = int(np.sum(np.abs(w_int) > w_max))
            if clipped:
                notes.append(f"{clipped} weight(s) from {p.source!r} clipped to +-{w_max}")
            w_int = np.clip(w_int, -w_max - 1, w_max).astype(np.int64)
            projections.append(Projection(p.source, name, w_int))
            error = w_int / s - w_eff
            max_abs = float(np.abs(w_eff).max()) if w_eff.size else 0.0
            rms = float(np.sqrt(np.mean(error ** 2))) if error.size else 0.0
            projection_reports.append(ProjectionReport(
                source=p.source, target=name, n_nonzero_float=int(np.count_nonzero(w_eff)),
                n_nonzero_int=int(np.count_nonzero(w_int)), max_abs_float=max_abs,
                max_abs_int=int(np.abs(w_int).max()) if w_int.size else 0,
                rms_error=rms, max_error=float(np.abs(error).max()) if error.size else 0.0,
                relative_rms_error=rms / max_abs if max_abs else 0.0))
            worst += max_counts[p.source] * np.abs(w_int).sum(axis=0)
        worst_step = int(worst.max() + np.abs(bias_int).max()) if worst.size else 0
        if worst_step:
            notes.append(f"no leak: the membrane can move by up to {worst_step} per step and "
                         f"saturates at +-{v_high} (after at least {v_high // worst_step} steps "
                         f"of the worst-case input)")
        populations.append(Population(name, pop.size, params, weight_width=weight_width))
        layers[name] = LayerReport(
            population=name, model=pop.model, size=pop.size, scale=s, dv=0, du=0,
            keep_mem_float=1.0, keep_mem_int=1.0, keep_syn_float=None, keep_syn_int=0.0,
            threshold_float=[float(threshold.min()), float(threshold.max())],
            threshold_mantissa=[int(vth.min()), int(vth.max())],
            threshold_max_relative_error=threshold_error, bias_exponent=0,
            bias_max_abs_float=bias_abs, bias_max_error=bias_error,
            worst_case_current=worst_step, projections=projection_reports, notes=notes)
    inputs = [InputGroup(g.name, g.size, max_count=g.max_count)
              for g in float_net.inputs.values()]
    network = Network(inputs=inputs, populations=populations, projections=projections,
                      outputs=list(float_net.outputs))
    return network, QuantizationReport(model="if", weight_width=weight_width, layers=layers)


# --- float versus fixed-point accuracy ----------------------------------------------------------

@dataclass
class AccuracyReport:
    n_samples: int
    float_accuracy: float
    fixed_accuracy: float
    agreement: float                 # fraction of samples where both predict the same class
    float_predictions: np.ndarray = field(repr=False)
    fixed_predictions: np.ndarray = field(repr=False)
    output: str = ""
    readout: str = "spike_count"
    fixed_spikes_per_sample: float = 0.0       # all populations, per inference
    fixed_synaptic_ops_per_sample: float = 0.0  # spikes x fan-out (nonzero weights)

    def to_dict(self):
        return {k: v for k, v in self.__dict__.items() if not isinstance(v, np.ndarray)}


def _as_inputs(network, inputs):
    if isinstance(inputs, dict):
        return inputs
    if len(network.inputs) != 1:
        raise ValueError(f"the network has {len(network.inputs)} input groups; pass a dict")
    return {next(iter(network.inputs)): inputs}


def evaluate(float_net: FloatNetwork, network: Network, inputs, labels, *,
             output: str | None = None, readout: str = "auto", batch_size: int = 512,
             report: QuantizationReport | None = None) -> AccuracyReport:
    """Float (:func:`simulate_float`) versus fixed-point (:func:`neurohw.network.simulate`)
    accuracy on a labelled dataset. ``inputs``: counts (steps, n, size) for a single input group,
    or a dict of them; ``readout``: ``"spike_count"``, ``"membrane_mean"``, ``"membrane_last"``
    or ``"auto"`` (spike counts for spiking outputs, the mean membrane for LI/CubaLI). With
    ``report``, the result is also stored as ``report.accuracy``."""
    output = output or network.outputs[0]
    if output not in float_net.populations or output not in network.populations:
        raise ValueError(f"output {output!r} is not a population of both networks")
    if readout == "auto":
        readout = "spike_count" if float_net.populations[output].spiking else "membrane_mean"
    inputs = _as_inputs(network, inputs)
    labels = np.asarray(labels)
    n = labels.shape[0]
    record = ("spikes",) if readout == "spike_count" else ("spikes", "v")
    fan_out = {name: np.zeros(network.size(name)) for name in network.populations}
    for p in network.projections:
        if p.source in fan_out:
            fan_out[p.source] += np.count_nonzero(p.weights, axis=1)
    float_pred, fixed_pred = [], []
    spikes_total, ops_total = 0.0, 0.0
    for first in range(0, n, batch_size):
        chunk = {k: np.asarray(v)[:, first:first + batch_size] for k, v in inputs.items()}
        f_trace = simulate_float(float_net, chunk, record=record)
        f_scores = readout_scores(f_trace.spikes[output],
                                  None if f_trace.v is None else f_trace.v[output],
                                  readout=readout)
        q_trace = simulate(network, chunk, record=record)
        q_scores = readout_scores(q_trace.spikes[output],
                                  None if q_trace.v is None else q_trace.v[output],
                                  readout=readout)
        float_pred.append(np.argmax(f_scores, axis=1))
        fixed_pred.append(np.argmax(q_scores, axis=1))
        for name, s in q_trace.spikes.items():
            spikes_total += float(s.sum())
            ops_total += float((s.sum(axis=(0, 1)) * fan_out[name]).sum())
        for name, group in network.inputs.items():
            counts = chunk[name].sum(axis=(0, 1))
            in_fan = np.zeros(group.size)
            for p in network.projections_from(name):
                in_fan += np.count_nonzero(p.weights, axis=1)
            ops_total += float((counts * in_fan).sum())
    float_pred = np.concatenate(float_pred)
    fixed_pred = np.concatenate(fixed_pred)
    result = AccuracyReport(
        n_samples=n, float_accuracy=float(np.mean(float_pred == labels)),
        fixed_accuracy=float(np.mean(fixed_pred == labels)),
        agreement=float(np.mean(float_pred == fixed_pred)), float_predictions=float_pred,
        fixed_predictions=fixed_pred, output=output, readout=readout,
        fixed_spikes_per_sample=spikes_total / n, fixed_synaptic_ops_per_sample=ops_total / n)
    if report is not None:
        report.accuracy = result
    return result
