"""Float networks: the trained (or imported) network before quantization.

A :class:`FloatNetwork` has the same shape as the integer :class:`neurohw.network.Network`
(input groups, populations, projections, outputs) but keeps NIR's continuous-time neuron
parameters (``tau``, ``r``, ``v_leak``, ``v_threshold``, ``v_reset``, ``w_in``) together with an
explicit time step ``dt`` and a ``discretization``. :func:`simulate_float` runs it with exactly
the timing of the integer network (``docs/system.md``): the input counts of step ``t`` act in step
``t``; a population's spikes of step ``t`` reach its targets in step ``t + 1``.

Discrete-time form (what every population computes in one step, ``docs/frontends.md``)::

    drive = input_bias + sum over projections of  counts_or_spikes @ weight
    with a synaptic current (CubaLIF, CubaLI):  i = keep_syn * i + gain * drive;  I = i
    without (LIF, IF, LI):                      I = gain * drive
    v = keep_mem * v + I + bias
    spiking models: spike where v > v_threshold; then v = v_reset (or v -= v_threshold with
    reset="subtract")

This is the order of the Loihi CUBA neuron (current first, the membrane uses the new current;
spike test after the membrane update), so the integer lowering in
:mod:`neurohw.network.quantize` is term by term. With ``a = dt/tau_mem`` and ``c = dt/tau_syn``
(``discretization="euler"``) or ``a = 1 - exp(-dt/tau_mem)``, ``c = 1 - exp(-dt/tau_syn)``
(``"exact"``, zero-order hold)::

    keep_mem = 1 - a      keep_syn = 1 - c
    LIF, LI:          gain = a * r                     bias = a * v_leak
    CubaLIF, CubaLI:  gain = a * r * c * w_in          bias = a * v_leak
    IF:               keep_mem = 1, gain = dt * r,     bias = 0

A constant ``input_bias`` (an Affine bias in NIR) enters the drive, so for populations without a
synaptic current it is one more constant term ``gain * input_bias`` of the membrane.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "NEURON_MODELS",
    "SPIKING_MODELS",
    "DISCRETIZATIONS",
    "FloatNetworkError",
    "FloatInput",
    "FloatPopulation",
    "FloatProjection",
    "FloatNetwork",
    "Discrete",
    "FloatTrace",
    "simulate_float",
    "readout_scores",
]

#: Neuron models a float population may have (the NIR names).
NEURON_MODELS = ("LIF", "CubaLIF", "IF", "LI", "CubaLI")
SPIKING_MODELS = ("LIF", "CubaLIF", "IF")
_CURRENT_MODELS = ("CubaLIF", "CubaLI")
DISCRETIZATIONS = ("euler", "exact")
RESETS = ("value", "subtract")
COMPARISONS = (">", ">=")


class FloatNetworkError(ValueError):
    """A float network (or a call on it) is not valid."""


def _check_dt(dt) -> float:
    if isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not math.isfinite(dt) or dt <= 0:
        raise FloatNetworkError(
            f"dt must be a positive, finite number of seconds (the time step), not {dt!r}"
        )
    return float(dt)


def _vector(value, size: int, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        array = np.full(size, float(array.reshape(-1)[0]))
    array = array.reshape(-1)
    if array.shape != (size,):
        raise FloatNetworkError(
            f"{what} has {array.size} values, but the population has {size} neurons"
        )
    if not np.all(np.isfinite(array)):
        raise FloatNetworkError(f"{what} must be finite, not {array}")
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class FloatInput:
    """``size`` external input lines; each step carries a spike count 0..``max_count``, or,
    with ``real_valued=True``, any finite real number (direct encoding, e.g. snnTorch feeding
    the pixels straight into the first layer). :func:`neurohw.network.quantize.quantize` turns
    a real-valued group into a graded integer input group (``input_bits``)."""

    name: str
    size: int
    max_count: int = 1
    real_valued: bool = False

    def __post_init__(self):
        if not isinstance(self.real_valued, bool):
            raise FloatNetworkError(
                f"input {self.name!r}: real_valued must be True or False, not {self.real_valued!r}"
            )


@dataclass(frozen=True, eq=False)
class FloatPopulation:
    """``size`` float neurons with NIR's continuous-time parameters (one value per neuron;
    scalars are broadcast). ``tau_mem`` is NIR's ``tau`` for LIF/LI; it is unused for IF.
    ``tau_syn`` and ``w_in`` are used by CubaLIF/CubaLI only; ``v_threshold`` by the spiking
    models only. ``input_bias`` is a constant added to the drive every step (Affine biases).
    ``reset``: ``"value"`` (NIR: ``v = v_reset`` after a spike) or ``"subtract"``
    (``v -= v_threshold``, snnTorch's default mechanism, which NIR cannot express).
    ``reset_delay`` (with ``"subtract"``): the threshold is subtracted in the next step's update,
    after the decay (``v' = keep v + I - v_threshold s_prev``), as snnTorch does with its
    default ``reset_delay=True``; ``False``: right after the spike. ``recheck_reset`` (with
    ``"subtract"`` and no delay; snnTorch's ``reset_delay=False``): when the stored membrane is
    still above the threshold after its reset, the next step's spike test sees the threshold
    subtracted once more (snnTorch computes its reset flag from the stored membrane), while the
    membrane itself keeps ``keep v + I - v_threshold s``.

    ``comparison`` (``">"``, NIR's, or ``">="``) is the spike test; ``max_spikes`` > 1 (with
    ``"subtract"``) lets a neuron spike up to that many times in one step, subtracting the
    threshold once per spike (Sinabs' MultiSpike, Rockpool). ``keep_mem``, ``keep_syn`` and
    ``gain`` (per neuron) replace the per-step factors derived from the time constants and
    ``dt``: an exporter profile sets them where the framework's own step is not NIR's Euler step
    (``docs/frontends.md``, "Exporter profiles")."""

    name: str
    size: int
    model: str
    tau_mem: np.ndarray | float | None = None
    tau_syn: np.ndarray | float | None = None
    r: np.ndarray | float = 1.0
    v_leak: np.ndarray | float = 0.0
    v_threshold: np.ndarray | float | None = None
    v_reset: float = 0.0
    w_in: np.ndarray | float = 1.0
    input_bias: np.ndarray | float = 0.0
    reset: str = "value"
    origin: str = ""
    reset_delay: bool = False
    comparison: str = ">"
    max_spikes: int = 1
    recheck_reset: bool = False
    keep_mem: np.ndarray | float | None = None
    keep_syn: np.ndarray | float | None = None
    gain: np.ndarray | float | None = None

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        if self.model not in NEURON_MODELS:
            raise FloatNetworkError(
                f"population {self.name!r}: model {self.model!r} is not "
                f"supported; supported: {', '.join(NEURON_MODELS)}"
            )
        if (
            isinstance(self.size, bool)
            or not isinstance(self.size, numbers.Integral)
            or self.size < 1
        ):
            raise FloatNetworkError(
                f"population {self.name!r}: size must be a positive integer, not {self.size!r}"
            )
        set_("size", int(self.size))
        where = f"population {self.name!r} ({self.model})"
        if self.model != "IF" and (self.tau_mem is not None or self.keep_mem is None):
            if self.tau_mem is None:
                raise FloatNetworkError(f"{where} needs tau_mem")
            set_("tau_mem", _vector(self.tau_mem, self.size, f"{where} tau_mem"))
            if np.any(self.tau_mem <= 0):
                raise FloatNetworkError(
                    f"{where}: tau_mem must be positive, not {float(self.tau_mem.min())}"
                )
        else:
            set_("tau_mem", None)
        if self.model in _CURRENT_MODELS and (self.tau_syn is not None or self.keep_syn is None):
            if self.tau_syn is None:
                raise FloatNetworkError(f"{where} needs tau_syn")
            set_("tau_syn", _vector(self.tau_syn, self.size, f"{where} tau_syn"))
            if np.any(self.tau_syn <= 0):
                raise FloatNetworkError(
                    f"{where}: tau_syn must be positive, not {float(self.tau_syn.min())}"
                )
        else:
            set_("tau_syn", None)
        for name in ("r", "v_leak", "w_in", "input_bias"):
            set_(name, _vector(getattr(self, name), self.size, f"{where} {name}"))
        if self.model in SPIKING_MODELS:
            if self.v_threshold is None:
                raise FloatNetworkError(f"{where} needs v_threshold")
            set_("v_threshold", _vector(self.v_threshold, self.size, f"{where} v_threshold"))
        else:
            set_("v_threshold", None)
        if not isinstance(self.v_reset, numbers.Real) or not math.isfinite(self.v_reset):
            raise FloatNetworkError(
                f"{where}: v_reset must be one finite number shared by the "
                f"population, not {self.v_reset!r}"
            )
        set_("v_reset", float(self.v_reset))
        if self.reset not in RESETS:
            raise FloatNetworkError(
                f"{where}: reset must be one of {', '.join(RESETS)}, not {self.reset!r}"
            )
        if not isinstance(self.reset_delay, bool):
            raise FloatNetworkError(
                f"{where}: reset_delay must be True or False, not {self.reset_delay!r}"
            )
        if self.comparison not in COMPARISONS:
            raise FloatNetworkError(
                f"{where}: comparison must be one of "
                f"{', '.join(map(repr, COMPARISONS))}, not "
                f"{self.comparison!r}"
            )
        if (
            isinstance(self.max_spikes, bool)
            or not isinstance(self.max_spikes, numbers.Integral)
            or not 1 <= self.max_spikes <= 65535
        ):
            raise FloatNetworkError(
                f"{where}: max_spikes must be an integer between 1 and "
                f"65535, not {self.max_spikes!r}"
            )
        if self.max_spikes > 1 and self.reset != "subtract":
            raise FloatNetworkError(
                f"{where}: max_spikes={self.max_spikes} needs reset='subtract', not {self.reset!r}"
            )
        for name in ("keep_mem", "keep_syn", "gain"):
            value = getattr(self, name)
            if value is not None:
                set_(name, _vector(value, self.size, f"{where} {name}"))
        if self.keep_syn is not None and not self.has_current:
            raise FloatNetworkError(
                f"{where}: keep_syn is given but {self.model} has no synaptic current"
            )
        if self.recheck_reset and (
            self.reset != "subtract" or self.reset_delay or self.max_spikes != 1
        ):
            raise FloatNetworkError(
                f"{where}: recheck_reset=True needs reset='subtract', "
                f"reset_delay=False and max_spikes=1"
            )
        if self.reset_delay and self.reset != "subtract":
            raise FloatNetworkError(
                f"{where}: reset_delay=True needs reset='subtract' (a reset "
                f"to a value is the same one step late: pass "
                f"reset_delay=False), not reset={self.reset!r}"
            )

    @property
    def spiking(self) -> bool:
        return self.model in SPIKING_MODELS

    @property
    def has_current(self) -> bool:
        return self.model in _CURRENT_MODELS

    def discrete(self, dt: float, discretization: str = "euler") -> Discrete:
        """The per-step coefficients for time step ``dt`` (module docstring)."""
        dt = _check_dt(dt)
        if discretization not in DISCRETIZATIONS:
            raise FloatNetworkError(
                f"discretization must be one of "
                f"{', '.join(map(repr, DISCRETIZATIONS))}, not "
                f"{discretization!r}"
            )
        where = f"population {self.name!r} ({self.model})"

        def fraction(tau, name):
            ratio = dt / tau
            if discretization == "exact":
                return -np.expm1(-ratio)
            if np.any(ratio > 1):
                worst = float(tau.min())
                raise FloatNetworkError(
                    f"{where}: {name}={worst:g} is shorter than dt={dt:g}; forward Euler needs "
                    f"dt/{name} <= 1 (decay factor 1 - dt/{name} >= 0). Use a smaller dt or "
                    f"discretization='exact'"
                )
            return ratio

        zeros = np.zeros(self.size)
        if self.model == "IF":
            keep_mem = np.ones(self.size)
            gain = dt * self.r
            bias = zeros
        else:
            a = (
                1.0 - self.keep_mem
                if self.keep_mem is not None
                else fraction(self.tau_mem, "tau_mem")
            )
            keep_mem = 1.0 - a
            gain = a * self.r
            bias = a * self.v_leak
        keep_syn = None
        if self.has_current:
            c = (
                1.0 - self.keep_syn
                if self.keep_syn is not None
                else fraction(self.tau_syn, "tau_syn")
            )
            keep_syn = 1.0 - c
            gain = gain * c * self.w_in
        if self.keep_mem is not None:
            keep_mem = self.keep_mem
        if self.gain is not None:
            gain = self.gain
        if not self.has_current:
            bias = bias + gain * self.input_bias
        return Discrete(
            keep_mem=keep_mem,
            keep_syn=keep_syn,
            gain=gain,
            bias=bias,
            input_bias=(self.input_bias if self.has_current else zeros),
            threshold=self.v_threshold,
            v_reset=self.v_reset,
            reset=self.reset,
            reset_delay=self.reset_delay,
            comparison=self.comparison,
            max_spikes=self.max_spikes,
            recheck_reset=self.recheck_reset,
        )


@dataclass(frozen=True)
class Discrete:
    """One step's coefficients of a float population (per neuron). ``keep_syn`` is None without
    a synaptic current; ``input_bias`` is the constant drive that enters the current (zero when
    it is already folded into ``bias``); ``threshold`` is None for non-spiking readouts."""

    keep_mem: np.ndarray
    keep_syn: np.ndarray | None
    gain: np.ndarray
    bias: np.ndarray
    input_bias: np.ndarray
    threshold: np.ndarray | None
    v_reset: float
    reset: str
    reset_delay: bool = False
    comparison: str = ">"
    max_spikes: int = 1
    recheck_reset: bool = False


@dataclass(frozen=True, eq=False)
class FloatProjection:
    """Float weights ``weight[j, k]`` from source neuron ``j`` onto target neuron ``k``.
    ``same_step``: the source population's spikes of step ``t`` act in step ``t`` (the trainers'
    timing, :class:`neurohw.network.Projection`); otherwise in step ``t + 1``.
    ``conv``: ``(ConvSpec, float kernel)`` when the projection is one ``Conv2d`` layer whose
    dense lowering is ``weight`` (``docs/frontends.md``, "Convolution structure"); ``None`` for
    any other projection."""

    source: str
    target: str
    weight: np.ndarray = field(repr=False)
    same_step: bool = False
    conv: tuple | None = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.same_step, bool):
            raise FloatNetworkError(
                f"projection {self.source!r} -> {self.target!r}: same_step "
                f"must be True or False, not {self.same_step!r}"
            )
        weight = np.array(self.weight, dtype=np.float64)
        if weight.ndim != 2:
            raise FloatNetworkError(
                f"projection {self.source!r} -> {self.target!r}: weight "
                f"must be a 2-D (source, target) array, not shape "
                f"{weight.shape}"
            )
        if not np.all(np.isfinite(weight)):
            raise FloatNetworkError(
                f"projection {self.source!r} -> {self.target!r}: weights must be finite"
            )
        weight.setflags(write=False)
        object.__setattr__(self, "weight", weight)
        if self.conv is not None:
            from ..hw.conv import ConvSpec

            spec, kernel = self.conv
            kernel = np.array(kernel, dtype=np.float64)
            if not isinstance(spec, ConvSpec) or kernel.shape != spec.kernel_shape:
                raise FloatNetworkError(
                    f"projection {self.source!r} -> {self.target!r}: conv must be "
                    f"(ConvSpec, kernel of shape (out_channels, C, Kh, Kw)), not {self.conv!r}"
                )
            if weight.shape != (spec.n_axons, spec.n_neurons):
                raise FloatNetworkError(
                    f"projection {self.source!r} -> {self.target!r}: weight shape "
                    f"{weight.shape} is not the ({spec.n_axons}, {spec.n_neurons}) of {spec!r}"
                )
            kernel.setflags(write=False)
            object.__setattr__(self, "conv", (spec, kernel))


class FloatNetwork:
    """Input groups, float populations, float projections and outputs, with the time step
    ``dt`` (seconds) and the ``discretization`` (``"euler"`` or ``"exact"``) that turn the
    continuous-time parameters into per-step coefficients."""

    def __init__(
        self, *, inputs, populations, projections, outputs, dt: float, discretization: str = "euler"
    ):
        self.dt = _check_dt(dt)
        if discretization not in DISCRETIZATIONS:
            raise FloatNetworkError(
                f"discretization must be one of "
                f"{', '.join(map(repr, DISCRETIZATIONS))}, not "
                f"{discretization!r}"
            )
        self.discretization = discretization
        self.inputs: dict[str, FloatInput] = {}
        self.populations: dict[str, FloatPopulation] = {}
        for item in list(inputs) + list(populations):
            if item.name in self.inputs or item.name in self.populations:
                raise FloatNetworkError(f"the name {item.name!r} is used twice")
            (self.inputs if isinstance(item, FloatInput) else self.populations)[item.name] = item
        if not self.populations:
            raise FloatNetworkError("a network needs at least one population")
        merged: dict[tuple[str, str], np.ndarray] = {}
        timing: dict[tuple[str, str], bool] = {}
        convs: dict[tuple[str, str], tuple | None] = {}
        for projection in projections:
            sizes = {
                **{n: g.size for n, g in self.inputs.items()},
                **{n: p.size for n, p in self.populations.items()},
            }
            where = f"projection {projection.source!r} -> {projection.target!r}"
            if projection.source not in sizes:
                raise FloatNetworkError(f"{where}: unknown source {projection.source!r}")
            if projection.target not in self.populations:
                raise FloatNetworkError(
                    f"{where}: target {projection.target!r} is not a population"
                )
            expected = (sizes[projection.source], self.populations[projection.target].size)
            if projection.weight.shape != expected:
                raise FloatNetworkError(
                    f"{where}: weight must have shape {expected}, not {projection.weight.shape}"
                )
            if projection.same_step and projection.source in self.inputs:
                raise FloatNetworkError(
                    f"{where}: same_step=True from input group "
                    f"{projection.source!r}; input groups always act in "
                    f"their own step"
                )
            key = (projection.source, projection.target)
            if key in timing and timing[key] != projection.same_step:
                raise FloatNetworkError(
                    f"{where}: one projection is same_step and another is "
                    f"not; a pair of populations has one timing"
                )
            timing[key] = projection.same_step
            # Two projections of one pair add up to one dense matrix: no single kernel is left.
            convs[key] = None if key in merged else projection.conv
            merged[key] = merged[key] + projection.weight if key in merged else projection.weight
        self.projections: tuple[FloatProjection, ...] = tuple(
            FloatProjection(s, t, w, timing[s, t], convs[s, t]) for (s, t), w in merged.items()
        )
        outputs = [outputs] if isinstance(outputs, str) else list(outputs)
        for name in outputs:
            if name not in self.populations:
                raise FloatNetworkError(
                    f"output {name!r} is not a population; populations: "
                    f"{', '.join(map(repr, self.populations))}"
                )
        if not outputs:
            raise FloatNetworkError("a network needs at least one output population")
        self.outputs: tuple[str, ...] = tuple(outputs)
        self.step_order = _step_order(self)
        # Check that every population discretizes (e.g. Euler stability) now, not mid-run.
        for population in self.populations.values():
            population.discrete(self.dt, self.discretization)

    def discrete(self, name: str) -> Discrete:
        return self.populations[name].discrete(self.dt, self.discretization)

    def projections_to(self, target: str) -> tuple[FloatProjection, ...]:
        return tuple(p for p in self.projections if p.target == target)

    def size(self, name: str) -> int:
        if name in self.populations:
            return self.populations[name].size
        return self.inputs[name].size

    def summary(self) -> str:
        lines = [f"FloatNetwork dt={self.dt:g} s, discretization={self.discretization}"]
        for g in self.inputs.values():
            lines.append(
                f"  input {g.name}: {g.size} lines, "
                + ("real-valued" if g.real_valued else f"max_count {g.max_count}")
            )
        for p in self.populations.values():
            lines.append(
                f"  population {p.name}: {p.size} x {p.model}"
                + (f" (from {p.origin})" if p.origin else "")
            )
        for p in self.projections:
            lines.append(
                f"  projection {p.source} -> {p.target}: {p.weight.shape}, "
                f"{np.count_nonzero(p.weight)} nonzero"
            )
        lines.append(f"  outputs: {', '.join(self.outputs)}")
        return "\n".join(lines)

    def __repr__(self):
        return (
            f"FloatNetwork(inputs={list(self.inputs)}, populations={list(self.populations)},"
            f" outputs={list(self.outputs)}, dt={self.dt:g}, "
            f"discretization={self.discretization!r})"
        )


@dataclass(frozen=True)
class FloatTrace:
    """Per population, ``(steps, batch, size)`` arrays: ``spikes`` (0/1 floats as int8) and,
    when recorded, ``v`` (membrane after the reset), ``v_pre_reset`` (membrane before the spike
    test and the reset) and ``i`` (the current ``I`` of the step: the synaptic current of
    CubaLIF/CubaLI, ``gain * drive`` of LIF/IF/LI, which is what the Loihi ``u`` holds)."""

    spikes: dict
    v: dict | None = None
    i: dict | None = None
    v_pre_reset: dict | None = None

    def output_counts(self, network: FloatNetwork) -> dict:
        return {name: self.spikes[name].sum(axis=0, dtype=np.int64) for name in network.outputs}


def _float_inputs(network: FloatNetwork, inputs) -> tuple[int, int, dict]:
    if not isinstance(inputs, dict):
        raise TypeError(
            f"inputs must be a dict of input name -> counts, not {type(inputs).__name__}"
        )
    unknown = sorted(set(inputs) - set(network.inputs))
    missing = sorted(set(network.inputs) - set(inputs))
    if unknown or missing:
        raise FloatNetworkError(
            f"inputs must give exactly the input groups "
            f"{sorted(network.inputs)}; unknown: {unknown}, missing: "
            f"{missing}"
        )
    arrays, shapes = {}, set()
    for name, group in network.inputs.items():
        counts = np.asarray(inputs[name], dtype=np.float64)
        if counts.ndim == 2:
            counts = counts[:, np.newaxis, :]
        if counts.ndim != 3 or counts.shape[2] != group.size:
            raise FloatNetworkError(
                f"input {name!r} must have shape (steps, batch, "
                f"{group.size}), not {np.shape(inputs[name])}"
            )
        if not np.all(np.isfinite(counts)):
            raise FloatNetworkError(f"input {name!r} must be finite")
        if (
            not group.real_valued
            and counts.size
            and (
                np.any(counts != np.rint(counts))
                or counts.min() < 0
                or counts.max() > group.max_count
            )
        ):
            bad = counts[(counts != np.rint(counts)) | (counts < 0) | (counts > group.max_count)][0]
            raise FloatNetworkError(
                f"input {name!r} has the value {bad:g}; a spike-count "
                f"group takes integers between 0 and its max_count="
                f"{group.max_count} (real_valued=True takes real values)"
            )
        arrays[name] = counts
        shapes.add(counts.shape[:2])
    if len(shapes) != 1:
        raise FloatNetworkError(f"inputs disagree on (steps, batch): {shapes}")
    steps, batch = shapes.pop()
    return steps, batch, arrays


def _spike_counts(v, c: Discrete) -> np.ndarray:
    """Spikes of one step (floats): 1 where ``v`` passes the threshold, or with ``max_spikes``
    > 1 the number of threshold subtractions that keep passing it, at most ``max_spikes``."""
    threshold = c.threshold
    fire = v >= threshold if c.comparison == ">=" else v > threshold
    if c.max_spikes == 1:
        return fire.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v / threshold
        n = np.floor(ratio) if c.comparison == ">=" else np.ceil(ratio) - 1
    n = np.where(threshold > 0, n, c.max_spikes)  # a zero threshold fires the cap
    return np.where(fire, np.clip(n, 1, c.max_spikes), 0).astype(np.float64)


def _step_order(network: FloatNetwork) -> tuple:
    """Populations in the order a step computes them: every same-step source first."""
    pending = {
        name: {p.source for p in network.projections if p.same_step and p.target == name}
        for name in network.populations
    }
    order = []
    while pending:
        ready = [name for name, sources in pending.items() if not (sources - {name})]
        if not ready or any(name in pending[name] for name in ready):
            cycle = " -> ".join(sorted(pending))
            raise FloatNetworkError(
                f"the same-step projections among populations {cycle} form "
                f"a cycle (an algebraic loop); a recurrent projection must "
                f"take one step (same_step=False)"
            )
        order.append(ready[0])
        del pending[ready[0]]
        for sources in pending.values():
            sources.discard(order[-1])
    return tuple(order)


def simulate_float(network: FloatNetwork, inputs, *, record=("spikes",)) -> FloatTrace:
    """Run ``network`` on ``inputs`` ``{group: counts (steps, batch, size)}`` (float64 math);
    a ``real_valued`` group takes real values instead of counts. ``record`` may name
    ``"spikes"``, ``"v"``, ``"v_pre_reset"`` and ``"i"`` (:class:`FloatTrace`).

    Same timing as :func:`neurohw.network.simulate`: in step ``t`` a population takes the input
    counts of step ``t``, its source populations' spikes of step ``t - 1`` and, over same-step
    projections, their spikes of step ``t`` (populations computed in ``network.step_order``).
    """
    record = tuple(record)
    bad = set(record) - {"spikes", "v", "v_pre_reset", "i"}
    if bad:
        raise FloatNetworkError(
            f"record may name 'spikes', 'v', 'v_pre_reset' and 'i', not {sorted(bad)}"
        )
    steps, batch, counts = _float_inputs(network, inputs)
    coeffs = {name: network.discrete(name) for name in network.populations}
    incoming = {name: network.projections_to(name) for name in network.populations}
    v = {n: np.zeros((batch, p.size)) for n, p in network.populations.items()}
    i = {n: np.zeros((batch, p.size)) for n, p in network.populations.items()}
    previous = {n: np.zeros((batch, p.size)) for n, p in network.populations.items()}
    spikes = {
        n: np.zeros((steps, batch, p.size), dtype=np.int32) for n, p in network.populations.items()
    }
    v_trace = (
        {n: np.zeros((steps, batch, p.size)) for n, p in network.populations.items()}
        if "v" in record
        else None
    )
    i_trace = (
        {n: np.zeros((steps, batch, p.size)) for n, p in network.populations.items()}
        if "i" in record
        else None
    )
    pre_trace = (
        {n: np.zeros((steps, batch, p.size)) for n, p in network.populations.items()}
        if "v_pre_reset" in record
        else None
    )
    for t in range(steps):
        fired = {}
        for name in network.step_order:
            population = network.populations[name]
            c = coeffs[name]
            drive = np.zeros((batch, population.size))
            for projection in incoming[name]:
                if projection.source in counts:
                    source = counts[projection.source][t]
                elif projection.same_step:
                    source = fired[projection.source]
                else:
                    source = previous[projection.source]
                drive += source @ projection.weight
            if c.keep_syn is not None:
                i[name] = c.keep_syn * i[name] + c.gain * (drive + c.input_bias)
                current = i[name]
            else:
                current = c.gain * drive
            v_new = c.keep_mem * v[name] + current + c.bias
            if c.reset_delay:
                v_new = v_new - previous[name] * c.threshold
            if pre_trace is not None:
                pre_trace[name][t] = v_new
            if c.threshold is not None:
                tested = v_new
                if c.recheck_reset:
                    tested = v_new - (v[name] > c.threshold) * c.threshold
                fired[name] = _spike_counts(tested, c)
                if c.reset == "value":
                    v_new = np.where(fired[name] > 0, c.v_reset, v_new)
                elif not c.reset_delay:
                    v_new = v_new - fired[name] * c.threshold
            else:
                fired[name] = np.zeros((batch, population.size))
            v[name] = v_new
            spikes[name][t] = fired[name]
            if v_trace is not None:
                v_trace[name][t] = v_new
            if i_trace is not None:
                i_trace[name][t] = current
        previous = fired
    return FloatTrace(spikes=spikes, v=v_trace, i=i_trace, v_pre_reset=pre_trace)


def readout_scores(spikes, v=None, *, readout: str = "spike_count") -> np.ndarray:
    """Class scores ``(batch, size)`` of an output population from its traces (steps, batch,
    size): ``"spike_count"`` sums the spikes, ``"membrane_mean"`` averages the membrane (for
    non-spiking LI/CubaLI readouts), ``"membrane_last"`` takes the last step's membrane. The
    prediction is ``argmax`` (the lowest index wins a tie), the same for float and integer
    traces: a per-population positive scale does not change it."""
    if readout == "spike_count":
        return np.asarray(spikes).sum(axis=0)
    if v is None:
        raise ValueError(f"readout {readout!r} needs the membrane trace (record 'v')")
    if readout == "membrane_mean":
        return np.asarray(v, dtype=np.float64).mean(axis=0)
    if readout == "membrane_last":
        return np.asarray(v, dtype=np.float64)[-1]
    raise ValueError(
        f"readout must be 'spike_count', 'membrane_mean' or 'membrane_last', not {readout!r}"
    )
