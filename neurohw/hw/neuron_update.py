"""The neuron-update datapath: one call of :func:`neurohw.model.reference.step` for one neuron.

:class:`NeuronUpdate` is a fixed-latency pipeline with a global clock enable. The neuron core
(``neurohw.hw.core``) reads a neuron's state from memory, presents it with this step's exact
drive, and writes back what comes out ``latency`` enabled cycles later. The interface is specified
in ``docs/hw-neuron-update-interface.md``.

Exactness. Every intermediate value is an Amaranth expression whose width Amaranth derives from
its operands, so it holds the unbounded mathematical result; a value is only narrowed where a
comment proves that the narrower width holds every value it can take (the decayed value of ``x``
lies between ``x`` and 0; a reset membrane stays inside its state range).

Pipeline (stages that a configuration does not need are left out; see :meth:`NeuronUpdate.stages`)::

    input          register every input
    input_add      (sum, before_decay) i = P(i + drive << shift)
    decay          multiply decay: x * factor, one registered DSP product per 16-bit slice of x
                   (one for x up to 18 bits); shift decay: x - L
    decay_round    multiply decay: sum of the slice products, (product >> k) + rounding carry
    current_add    (sum, after_decay) i = P(decay(i) + drive << shift)
    membrane_prep  total input (+ bias for 'sum', - the pending threshold with reset_delay; the
                   wrapped leak for 'delta'), refractory and threshold bookkeeping
    membrane       'sum': v = P(decay(v) + total + bias); 'delta': three stages, one per
                   projection of the Xylo chain
    spike_test     (reset 'subtract' without reset_delay) d = v - T - strict; fires when
                   d >= 0
    divide*        (reset 'subtract', max_spikes > 2) bounded restoring division, a few quotient
                   bits per stage
    output         spike decision, reset, refractory counter; registered outputs
"""

from __future__ import annotations

import numbers

import numpy as np
from amaranth import Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..model.params import (
    Accumulation,
    Comparison,
    DecayKind,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    Overflow,
    ResetMode,
    Rounding,
    state_range,
)
from .fixed_point import project as _project

__all__ = [
    "NeuronUpdate",
    "state_port_width",
    "PER_NEURON_NAMES",
    "per_neuron_given",
    "per_neuron_shape",
    "per_neuron_contents",
]

#: Names that :class:`NeuronUpdate` accepts in ``per_neuron``, with the ``NeuronParams`` field
#: each one overrides (``i_decay0`` and ``i_decay1``: the constant of ``i_decay[0]``/``[1]``).
PER_NEURON_NAMES = {
    "threshold": "threshold",
    "bias": "bias_mantissa",
    "reset_value": "reset_value",
    "v_decay": "v_decay",
    "i_decay0": "i_decay[0]",
    "i_decay1": "i_decay[1]",
    "drive_bias": "drive_bias",
}
_DECAY_NAMES = ("v_decay", "i_decay0", "i_decay1")


def _decay_of(params, name):
    """The Decay that a per-neuron decay name refers to, or None if the model has none."""
    if name == "v_decay":
        return params.v_decay
    c = int(name[-1])
    return params.i_decay[c] if c < params.n_currents else None


def per_neuron_given(params: NeuronParams) -> set:
    """The ``per_neuron`` names whose values ``params`` gives per neuron (arrays)."""
    given = {
        name
        for name in ("threshold", "reset_value", "drive_bias")
        if isinstance(getattr(params, PER_NEURON_NAMES[name]), np.ndarray)
    }
    # The memory holds the effective bias: per neuron when the mantissa or the exponent is.
    if isinstance(params.bias, np.ndarray):
        given.add("bias")
    given |= {
        name
        for name in _DECAY_NAMES
        if _decay_of(params, name) is not None and _decay_of(params, name).per_neuron
    }
    return given


def per_neuron_unusable(params: NeuronParams, name: str) -> str | None:
    """Why ``name`` cannot be a per-neuron memory of this model, or None if it can."""
    if name in _DECAY_NAMES:
        spec = _decay_of(params, name)
        if spec is None:
            return f"the model has {params.n_currents} synaptic current(s)"
        if spec.kind is DecayKind.NONE:
            return f"{PER_NEURON_NAMES[name]} is a decay of kind 'none', which has no constant"
    if name == "drive_bias" and params.accumulation is Accumulation.PER_EVENT:
        return (
            "a drive bias with accumulation 'per_event' is one add before the step's "
            "events, which the core does not implement (it adds the events into the current "
            "as they arrive); use accumulation 'sum' or fold the bias into an input line"
        )
    return None


def per_neuron_shape(params: NeuronParams, name: str):
    """Shape of the value that per-neuron parameter ``name`` holds in memory and on its port.

    ``threshold``/``bias``/``reset_value``: ``signed(v_width + 1)`` (effective values). A
    multiply decay: the factor ``2^k - d - o``, unsigned, up to ``2^k - o``; a shift decay: the
    shift, ``unsigned(6)`` (0..63). ``drive_bias``: the narrowest signed shape holding its
    allowed range (``docs/semantics.md`` section 6), in weight units.
    """
    if name in ("threshold", "bias", "reset_value"):
        return signed(params.v_width + 1)
    if name in _DECAY_NAMES:
        spec = _decay_of(params, name)
        if spec.kind is DecayKind.SHIFT:
            return unsigned(6)
        return unsigned(((1 << spec.bits) - spec.offset).bit_length())
    if name == "drive_bias":
        if params.n_currents:
            low, high = state_range(params.i_width, params.i_overflow)
        else:
            low, high = state_range(params.v_width, params.v_overflow)
        shift = params.input_shift
        return signed(_signed_width(-((-low) >> shift), high >> shift))
    raise ValueError(f"unknown per-neuron name {name!r}")


def _signed_width(low: int, high: int) -> int:
    """The narrowest two's-complement width holding every integer in ``[low, high]``."""
    width = 1
    while low < -(1 << (width - 1)) or high > (1 << (width - 1)) - 1:
        width += 1
    return width


def per_neuron_contents(params: NeuronParams, name: str):
    """What per-neuron parameter ``name`` holds for every neuron: an int (shared) or an array,
    in the encoding of :func:`per_neuron_shape`."""
    if name == "threshold":
        return params.effective_threshold
    if name == "bias":
        return params.bias
    if name in _DECAY_NAMES:
        spec = _decay_of(params, name)
        return spec.factor if spec.kind is DecayKind.MULTIPLY else spec.constant
    return getattr(params, PER_NEURON_NAMES[name])


#: Quotient bits the spike-count division resolves per pipeline stage.
DIVIDE_BITS_PER_STAGE = 1


def state_port_width(params: NeuronParams, state: str) -> int:
    """Width of the datapath port (and of the memory word) for state ``"v"`` or ``"i"``.

    ``W + 1`` for a state whose overflow policy is ``wrap_lava`` (its range
    ``(-2^(W-1), 2^(W-1)]`` holds ``+2^(W-1)``), ``W`` otherwise.
    """
    if not isinstance(params, NeuronParams):
        raise TypeError(f"params must be a NeuronParams, not {params!r}")
    if state == "v":
        width, overflow = params.v_width, params.v_overflow
    elif state == "i":
        width, overflow = params.i_width, params.i_overflow
    else:
        raise ValueError(f"state must be 'v' or 'i', not {state!r}")
    return width + 1 if overflow is Overflow.WRAP_LAVA else width


#: Width of the unsigned low slices a wide multiplier operand is cut into (iCE40 SB_MAC16 is
#: 16 x 16, ECP5 MULT18X18D is 18 x 18 signed).
MULTIPLY_SLICE = 16


def _slice_offsets(width):
    """Offsets of the slices of a ``width``-bit multiplier operand (see :func:`_slices`)."""
    offsets = [0]
    while width - offsets[-1] > MULTIPLY_SLICE + 2:
        offsets.append(offsets[-1] + MULTIPLY_SLICE)
    return offsets


def _slices(x):
    """``x`` as ``[(slice, offset)]`` with ``x == sum(slice << offset)``: unsigned
    ``MULTIPLY_SLICE``-bit low slices and a signed top slice, so that each slice times a small
    factor is one DSP block whose output is registered, and the adder that combines the partial
    products is in the next stage (Yosys would otherwise put it behind the DSPs, unregistered)."""
    offsets = _slice_offsets(len(x))
    pieces = [(x[a:b], a) for a, b in zip(offsets, offsets[1:])]
    pieces.append((x[offsets[-1] :].as_signed() if len(offsets) > 1 else x, offsets[-1]))
    return pieces


def _wrap(x, width):
    """Two's-complement wrap onto ``width`` bits (``reference._wrap``)."""
    x = Value.cast(x)
    if len(x) < width:
        return x
    return x[:width].as_signed()


class _Pipeline:
    """Named values of the current pipeline stage; :meth:`close` registers them, ending the
    stage.

    Every value is carried to the next stage (register it or pop it); Python integers are
    constants and are carried without a register. ``stages`` is the plan
    (:meth:`NeuronUpdate.stages`) that the stages closed must follow.
    """

    def __init__(self, m, en, stages):
        self._m = m
        self._en = en
        self._values = {}
        self.stages = stages
        self.depth = 0

    def __getitem__(self, name):
        return self._values[name]

    def __setitem__(self, name, value):
        self._values[name] = value

    def __contains__(self, name):
        return name in self._values

    def pop(self, name):
        return self._values.pop(name)

    def signals(self):
        return [name for name, value in self._values.items() if not isinstance(value, int)]

    def close(self, stage):
        """Register every value: the end of ``stage``, the next stage of the plan."""
        assert self.stages[self.depth] == stage, (self.stages, self.depth, stage)
        self.register(stage)

    def register(self, stage):
        self.depth += 1
        statements = []
        for name, value in self._values.items():
            if isinstance(value, int):
                continue
            value = Value.cast(value)
            reg = Signal(value.shape(), name=f"{stage}_{name}", reset_less=name != "valid")
            statements.append(reg.eq(value))
            self._values[name] = reg
        with self._m.If(self._en):
            self._m.d.sync += statements


def quotient_bits(params: NeuronParams) -> int:
    """Quotient bits of the bounded division: ``min(q, max_spikes - 1)`` needs
    ``bit_length(max_spikes - 1)`` of them."""
    if params.reset is not ResetMode.SUBTRACT or params.reset_delay:
        return 0
    return (params.max_spikes - 1).bit_length()


def update_stages(params: NeuronParams) -> tuple[str, ...]:
    """Names of the pipeline stages of :class:`NeuronUpdate` for ``params``, in order; one
    register each (a pure function, so that a core's latency is known without building it)."""
    p = params
    decays = (p.v_decay, *p.i_decay)
    stages = ["input"]
    if p.accumulation is Accumulation.SUM and p.input_timing is InputTiming.BEFORE_DECAY:
        stages.append("input_add")
    if any(d.kind is not DecayKind.NONE for d in decays):
        stages.append("decay")
    if any(d.kind is DecayKind.MULTIPLY for d in decays):
        stages.append("decay_round")
    if (
        p.accumulation is Accumulation.SUM
        and p.input_timing is InputTiming.AFTER_DECAY
        and p.n_currents
    ):
        stages.append("current_add")
    stages.append("membrane_prep")
    if p.membrane_update is MembraneUpdate.SUM:
        stages.append("membrane")
    else:
        stages += ["membrane_leak", "membrane_bias", "membrane"]
    if p.reset is ResetMode.SUBTRACT and not p.reset_delay:
        stages.append("spike_test")
        bits = quotient_bits(params)
        stages += [f"divide{k}" for k in range(-(-bits // DIVIDE_BITS_PER_STAGE))]
    stages.append("output")
    return tuple(stages)


class NeuronUpdate(wiring.Component):
    """Fixed-latency pipeline computing one :func:`neurohw.model.reference.step` of one neuron.

    Parameters
    ----------
    params : :class:`NeuronParams`
        The neuron model. Per-neuron arrays in it must be named in ``per_neuron``.
    drive_width : int
        Width of each signed channel of ``in_drive`` (the exact sum over axons of count * weight,
        in weight units, before ``input_shift``). Unused for accumulation 'per_event', where the
        core has already added every event into ``in_i``.
    per_neuron : set of str
        Which of ``"threshold"``, ``"bias"``, ``"reset_value"``, ``"v_decay"``, ``"i_decay0"``,
        ``"i_decay1"``, ``"drive_bias"`` come in on ports; the others are the scalars of
        ``params``.
    tag_width : int
        Width of ``in_tag``/``out_tag``, carried through unchanged.

    Members
    -------
    en : In(1)
        The whole pipeline advances one stage when high.
    in_valid, in_tag, out_valid, out_tag :
        Carried through with the neuron.
    in_v, out_v : signed(``state_port_width(params, "v")``)
    in_i, out_i : ArrayLayout(signed(``state_port_width(params, "i")``), n_currents)
    in_refractory, out_refractory : range(refractory_period + 1)
    in_drive : ArrayLayout(signed(drive_width), params.input_channels)
    in_threshold, in_bias, in_reset_value : signed(v_width + 1)
        Effective (already shifted) per-neuron values; read only when named in ``per_neuron``.
        A threshold must be non-negative with reset 'subtract', like in ``NeuronParams``.
    in_v_decay, in_i_decay0, in_i_decay1, in_drive_bias : :func:`per_neuron_shape`
        Present only when named in ``per_neuron``: a decay's factor (multiply) or shift, the
        drive bias in weight units. A factor must not exceed ``2^bits``.
    in_pending, out_pending : In(1), Out(1)
        Present only with ``reset_delay``: the previous step's spike count, whose threshold
        this step subtracts, and this step's (equal to ``out_spikes``).
    out_spikes : range(max_spikes + 1)
        Spikes emitted this step.
    """

    def __init__(self, params, *, drive_width, per_neuron=frozenset(), tag_width=16):
        if not isinstance(params, NeuronParams):
            raise TypeError(f"params must be a NeuronParams, not {params!r}")
        if (
            params.accumulation is Accumulation.PER_EVENT
            and params.input_timing is InputTiming.AFTER_DECAY
        ):
            raise ValueError(
                "accumulation 'per_event' with input_timing 'after_decay' is not "
                "supported: the core adds the events into the current before the "
                "datapath decays it, so use input_timing 'before_decay'"
            )
        if (
            isinstance(drive_width, bool)
            or not isinstance(drive_width, numbers.Integral)
            or drive_width <= 0
        ):
            raise TypeError(f"drive_width must be a positive integer, not {drive_width!r}")
        if (
            isinstance(tag_width, bool)
            or not isinstance(tag_width, numbers.Integral)
            or tag_width < 0
        ):
            raise TypeError(f"tag_width must be a non-negative integer, not {tag_width!r}")
        allowed = ", ".join(map(repr, sorted(PER_NEURON_NAMES)))
        if isinstance(per_neuron, str) or not isinstance(per_neuron, (set, frozenset, list, tuple)):
            raise TypeError(
                f"per_neuron must be a set of names among {allowed}, not {per_neuron!r}"
            )
        per_neuron = frozenset(per_neuron)
        unknown = sorted(
            name for name in per_neuron if not isinstance(name, str) or name not in PER_NEURON_NAMES
        )
        if unknown:
            raise ValueError(
                f"per_neuron names must be among {allowed}, not {', '.join(map(repr, unknown))}"
            )
        for name in sorted(per_neuron_given(params) - per_neuron):
            field_name = PER_NEURON_NAMES[name]
            if name == "bias" and not isinstance(params.bias_mantissa, np.ndarray):
                field_name = "bias_exponent"
            raise ValueError(
                f"params.{field_name} holds per-neuron values, so {name!r} must be in per_neuron"
            )
        for name in sorted(per_neuron):
            reason = per_neuron_unusable(params, name)
            if reason is not None:
                raise ValueError(f"per_neuron {name!r} cannot be used: {reason}")
        if params.accumulation is Accumulation.PER_EVENT and np.any(
            np.asarray(params.drive_bias) != 0
        ):
            raise ValueError(
                f"drive_bias is not supported with accumulation 'per_event': "
                f"{per_neuron_unusable(params, 'drive_bias')}"
            )

        self._params = params
        self._drive_width = int(drive_width)
        self._per_neuron = per_neuron
        self._tag_width = int(tag_width)

        v_port = state_port_width(params, "v")
        i_port = state_port_width(params, "i")
        super().__init__(
            {
                "en": In(1),
                "in_valid": In(1),
                "in_tag": In(self._tag_width),
                "in_v": In(signed(v_port)),
                "in_i": In(data.ArrayLayout(signed(i_port), params.n_currents)),
                "in_refractory": In(range(params.refractory_period + 1)),
                "in_drive": In(data.ArrayLayout(signed(self._drive_width), params.input_channels)),
                "in_threshold": In(signed(params.v_width + 1)),
                "in_bias": In(signed(params.v_width + 1)),
                "in_reset_value": In(signed(params.v_width + 1)),
                # Only the ports a core uses: a shared-parameter datapath is the one it always was.
                **{
                    f"in_{name}": In(per_neuron_shape(params, name))
                    for name in ("v_decay", "i_decay0", "i_decay1", "drive_bias")
                    if name in per_neuron
                },
                "out_valid": Out(1),
                "out_tag": Out(self._tag_width),
                "out_v": Out(signed(v_port)),
                "out_i": Out(data.ArrayLayout(signed(i_port), params.n_currents)),
                "out_refractory": Out(range(params.refractory_period + 1)),
                "out_spikes": Out(range(params.max_spikes + 1)),
                # Only with reset_delay: every other datapath keeps its ports.
                **({"in_pending": In(1), "out_pending": Out(1)} if params.reset_delay else {}),
            }
        )

    @property
    def params(self) -> NeuronParams:
        return self._params

    @property
    def drive_width(self) -> int:
        return self._drive_width

    @property
    def per_neuron(self) -> frozenset:
        return self._per_neuron

    @property
    def tag_width(self) -> int:
        return self._tag_width

    # -- pipeline plan ----------------------------------------------------------------------

    def _quotient_bits(self):
        return quotient_bits(self._params)

    def stages(self) -> tuple[str, ...]:
        """Names of the pipeline stages, in order; one register each (:func:`update_stages`)."""
        return update_stages(self._params)

    @property
    def latency(self) -> int:
        """Enabled cycles from ``in_*`` to ``out_*``."""
        return len(self.stages())

    # -- datapath ---------------------------------------------------------------------------

    def elaborate(self, platform):
        m = Module()
        pipe = _Pipeline(m, self.en, self.stages())
        self._input_stage(pipe)
        if "input_add" in pipe.stages:
            # The current receives this step's input before it decays.
            p = self._params
            for c in range(p.n_currents):
                pipe[f"i{c}"] = _project(
                    pipe[f"i{c}"] + self._scaled(pipe, c), p.i_width, p.i_overflow
                )
            pipe.close("input_add")
        self._decay_stages(m, pipe)
        if "current_add" in pipe.stages:
            # The decayed current receives this step's input.
            p = self._params
            for c in range(p.n_currents):
                pipe[f"i{c}_d"] = _project(
                    pipe[f"i{c}_d"] + self._scaled(pipe, c), p.i_width, p.i_overflow
                )
            pipe.close("current_add")
        self._membrane_prep_stage(pipe)
        self._membrane_stages(pipe)
        self._spike_stages(m, pipe)
        return m

    @property
    def _keeps_v(self):
        """The old membrane is needed after its decay: a held (refractory) neuron keeps it, and
        'delta' adds its change to it."""
        p = self._params
        return p.refractory_period > 0 or p.membrane_update is MembraneUpdate.DELTA

    def _scaled(self, pipe, c):
        """Channel ``c``'s drive, shifted by ``input_shift`` (wiring only); channel 0 with the
        drive bias, which joins it in weight units before the shift (the sum is exact,
        Amaranth widens it, and is projected once with the rest)."""
        shift = self._params.input_shift
        drive = pipe.pop(f"drive{c}")
        if c == 0 and "drive_bias" in pipe:
            # A drive_bias_shift t below the shift s: (drive << s) + (b << t) as
            # ((drive << (s - t)) + b) << t, still one sum (docs/semantics.md section 4).
            bias_shift = self._params.effective_drive_bias_shift
            if bias_shift != shift:
                drive = drive << (shift - bias_shift)
            drive = drive + pipe.pop("drive_bias")
            shift = bias_shift
        return drive << shift if shift else drive

    def _input_stage(self, pipe):
        """input: register every input (the scalars of shared parameters as constants)."""
        p = self._params
        pipe["valid"] = self.in_valid
        if self._tag_width:
            pipe["tag"] = self.in_tag
        pipe["v"] = self.in_v
        for c in range(p.n_currents):
            pipe[f"i{c}"] = self.in_i[c]
        if p.refractory_period > 0:
            pipe["refr"] = self.in_refractory
        if p.reset_delay:
            pipe["pending"] = self.in_pending
        if p.accumulation is Accumulation.SUM:
            for c in range(p.input_channels):
                pipe[f"drive{c}"] = self.in_drive[c]
        pipe["threshold"] = (
            self.in_threshold if "threshold" in self._per_neuron else int(p.effective_threshold)
        )
        if p.recheck_reset:
            # The stored membrane passes the threshold test: it was left above threshold by its
            # reset, so this step tests against twice the threshold (no new state).
            threshold = pipe["threshold"]
            strict = p.comparison is Comparison.GREATER
            pipe["recheck"] = (self.in_v > threshold) if strict else (self.in_v >= threshold)
        pipe["bias"] = self.in_bias if "bias" in self._per_neuron else int(p.bias)
        if p.reset is ResetMode.VALUE:
            pipe["reset_value"] = (
                self.in_reset_value if "reset_value" in self._per_neuron else int(p.reset_value)
            )
        if "drive_bias" in self._per_neuron:
            pipe["drive_bias"] = self.in_drive_bias
        elif p.accumulation is Accumulation.SUM and int(p.drive_bias):
            pipe["drive_bias"] = int(p.drive_bias)
        for name in _DECAY_NAMES:
            if name in self._per_neuron:
                pipe[f"{name}_operand"] = getattr(self, f"in_{name}")
        pipe.close("input")

    def _decay_stages(self, m, pipe):
        """decay and decay_round: ``v`` and each current decayed, as ``v_d`` and ``i<c>_d``.

        The decayed value of x lies between x and 0 inclusive (a multiply factor is at most
        2^k, whatever the rounding; the leak of a shift decay lies between sign(x) and x), so
        it fits the port width of x exactly and never needs a projection.
        """
        p = self._params
        keep_v = self._keeps_v
        states = [("v", p.v_decay, state_port_width(p, "v"))]
        states += [(f"i{c}", p.i_decay[c], state_port_width(p, "i")) for c in range(p.n_currents)]
        operand_names = {"v": "v_decay", "i0": "i_decay0", "i1": "i_decay1"}

        def per_neuron_operand(name):
            """This neuron's factor or shift from memory, or None when the decay is shared."""
            key = f"{operand_names[name]}_operand"
            return pipe.pop(key) if key in pipe else None

        if "decay" in pipe.stages:
            for name, spec, _width in states:
                if spec.kind is DecayKind.NONE:
                    continue
                x = pipe[name] if name == "v" and keep_v else pipe.pop(name)
                operand = per_neuron_operand(name)
                if spec.kind is DecayKind.MULTIPLY:
                    # Plain multiplies by the factor, one per DSP-sized slice of x, each
                    # registered at the DSP output (see _slices). A shared factor is a
                    # constant; a per-neuron one comes from memory (the same DSPs, variable
                    # operand, same latency).
                    factor = (
                        operand
                        if operand is not None
                        else Const(spec.factor, unsigned(max(1, spec.factor.bit_length())))
                    )
                    for j, (piece, _offset) in enumerate(_slices(x)):
                        pipe[f"{name}_pp{j}"] = piece * factor
                    if spec.rounding is Rounding.TOWARD_ZERO:
                        pipe[f"{name}_negative"] = x[-1]
                elif operand is not None:
                    pipe[f"{name}_decayed"] = self._variable_shift_decay(x, operand)
                else:
                    pipe[f"{name}_decayed"] = self._shift_decay(x, spec.constant)
            pipe.close("decay")

        # decay_round: (x * factor + rounding) >> k == (product >> k) + carry.
        if "decay_round" in pipe.stages:
            for name, spec, width in states:
                if spec.kind is DecayKind.MULTIPLY:
                    pipe[f"{name}_decayed"] = self._round_product(m, pipe, name, spec, width)
            pipe.close("decay_round")

        for name, spec, _width in states:
            if spec.kind is not DecayKind.NONE:
                pipe[f"{name}_d"] = pipe.pop(f"{name}_decayed")
            else:
                pipe[f"{name}_d"] = pipe[name] if name == "v" and keep_v else pipe.pop(name)

    @staticmethod
    def _round_product(m, pipe, name, spec, width):
        """The decayed ``name``: the sum of its partial products, ``>> k`` with the carry of
        the decay's rounding, read as a ``width``-bit value."""
        product = 0
        for j, offset in enumerate(_slice_offsets(width)):
            partial = pipe.pop(f"{name}_pp{j}")
            product = partial << offset if j == 0 else product + (partial << offset)
        # Sign-extended far enough to read `product >> k` as a width-bit value.
        k = spec.bits
        extended = Signal(signed(max(len(product), k + width + 1)), name=f"{name}_product")
        m.d.comb += extended.eq(product)
        if spec.rounding is Rounding.FLOOR:
            carry = Const(0, 1)
        elif spec.rounding is Rounding.NEAREST:  # + 2^(k-1)
            carry = extended[k - 1]
        else:
            # Toward zero: + (2^k - 1) when the product is negative, i.e. when x is
            # (a zero factor gives a zero product, whose low bits are all zero).
            carry = pipe.pop(f"{name}_negative") & extended[:k].any()
        shifted = extended[k : k + width]
        return (shifted + carry)[:width].as_signed()

    def _membrane_prep_stage(self, pipe):
        """membrane_prep: the exact total input; refractory and threshold bookkeeping."""
        p = self._params
        strict = 1 if p.comparison is Comparison.GREATER else 0
        if p.n_currents:
            total = pipe["i0_d"]
            for c in range(1, p.n_currents):
                total = total + pipe[f"i{c}_d"]
        else:
            total = self._scaled(pipe, 0)
        if p.membrane_update is MembraneUpdate.SUM:
            pipe["total_bias"] = total + pipe.pop("bias")
            if p.reset_delay:
                # Last step's threshold joins the exact sum, projected once with it (a held
                # neuron cannot occur: reset_delay needs refractory_period 0).
                pipe["total_bias"] = pipe["total_bias"] - Mux(
                    pipe.pop("pending"), pipe["threshold"], 0
                )
        else:
            pipe["total"] = total
            pipe["leak"] = _wrap(pipe.pop("v_d") - pipe["v"], p.v_width)
        if p.refractory_period > 0:
            refr = pipe.pop("refr")
            pipe["held"] = refr.any()
            pipe["refr_next"] = Mux(refr.any(), refr - 1, 0)
        threshold = pipe.pop("threshold")
        if self._quotient_bits():
            # The division compares with T itself; 0 <= T <= 2^(W-1) fits W unsigned bits.
            pipe["divisor"] = threshold if isinstance(threshold, int) else threshold[: p.v_width]
        pipe["threshold_strict"] = threshold + strict if strict else threshold
        if p.recheck_reset:
            # The re-test adds T once more to the compared threshold (Amaranth widens the sum:
            # 2T + strict needs one more bit); the reset subtracts T once (`retest_extra`).
            pipe["retest_extra"] = Mux(pipe.pop("recheck"), threshold, 0)
            pipe["threshold_strict"] = pipe["threshold_strict"] + pipe["retest_extra"]
        pipe.close("membrane_prep")

    def _membrane_stages(self, pipe):
        """membrane ('delta': membrane_leak, membrane_bias, membrane): the new membrane
        ``v_new``, the old one where the neuron is held."""
        p = self._params
        v_width = p.v_width
        if p.membrane_update is MembraneUpdate.SUM:
            v_new = _project(pipe.pop("v_d") + pipe.pop("total_bias"), v_width, p.v_overflow)
        else:
            pipe["delta"] = _project(pipe.pop("leak") + pipe.pop("total"), v_width, p.v_overflow)
            pipe.close("membrane_leak")
            pipe["delta"] = _project(pipe["delta"] + pipe.pop("bias"), v_width, p.v_overflow)
            pipe.close("membrane_bias")
            v_new = _project(pipe["v"] + pipe.pop("delta"), v_width, p.v_overflow)
        if p.refractory_period > 0:
            v_new = Mux(pipe["held"], pipe.pop("v"), v_new)
        elif self._keeps_v:
            pipe.pop("v")
        pipe["v_new"] = v_new
        pipe.close("membrane")

    def _spike_test(self, pipe, v_new):
        """``d = v - T - strict`` and whether the neuron fires (``d >= 0``, not held)."""
        d = v_new - pipe.pop("threshold_strict")
        fires = ~d[-1]
        if self._params.refractory_period > 0:
            fires = fires & ~pipe.pop("held")
        return d, fires

    def _spike_stages(self, m, pipe):
        """Spike test (spike_test and divide* with reset 'subtract'), reset, refractory
        counter, and the output stage (registered outputs)."""
        p = self._params
        v_width = p.v_width
        strict = 1 if p.comparison is Comparison.GREATER else 0
        if p.reset is ResetMode.SUBTRACT and not p.reset_delay:
            d, fires = self._spike_test(pipe, pipe["v_new"])
            pipe["fires"] = fires
            # When the neuron fires, 0 <= d <= 2^(W-1): v <= 2^(W-1) and T + strict >= 0.
            pipe["remainder"] = d[:v_width]
            pipe.close("spike_test")
            quotient = self._divide(pipe, v_width)
            fires = pipe.pop("fires")
            n = Mux(fires, quotient + 1, 0)
            # v - (q + 1) * T = d - q*T + strict = remainder + strict, which lies in
            # [strict, T + strict - 1] or (when q was bounded) in [strict, v]: in range.
            reset_v = pipe.pop("remainder") + strict
            if p.recheck_reset:
                # The re-test compared with 2T, the reset subtracts T once: v - T = d + strict
                # + T lies in [T + strict, v] when the neuron fired (max_spikes 1: q = 0).
                reset_v = reset_v + pipe.pop("retest_extra")
            v_out = Mux(fires, reset_v, pipe.pop("v_new"))
        else:
            v_new = pipe.pop("v_new")
            d, fires = self._spike_test(pipe, v_new)
            n = fires
            # 'none', and 'subtract' with reset_delay: the membrane is kept, the next step
            # subtracts the threshold (out_pending).
            if p.reset is ResetMode.ZERO:
                v_out = Mux(fires, 0, v_new)
            elif p.reset is ResetMode.VALUE:
                v_out = Mux(fires, pipe.pop("reset_value"), v_new)
            else:
                v_out = v_new
        refr_out = (
            Mux(fires, p.refractory_period, pipe.pop("refr_next")) if p.refractory_period > 0 else 0
        )

        # output: registered outputs.
        assert pipe.stages[pipe.depth] == "output", (pipe.stages, pipe.depth)
        statements = [
            self.out_valid.eq(pipe.pop("valid")),
            self.out_v.eq(v_out),
            self.out_refractory.eq(refr_out),
            self.out_spikes.eq(n),
        ]
        if p.reset_delay:
            statements.append(self.out_pending.eq(fires))
        if self._tag_width:
            statements.append(self.out_tag.eq(pipe.pop("tag")))
        for c in range(p.n_currents):
            statements.append(self.out_i[c].eq(pipe.pop(f"i{c}_d")))
        with m.If(self.en):
            m.d.sync += statements
        pipe.depth += 1
        leftover = pipe.signals()
        assert not leftover, leftover
        assert pipe.depth == len(pipe.stages)

    @staticmethod
    def _shift_decay(x, constant):
        """``x - L`` with ``L = x >> constant``, at least 1 for positive ``x`` (Xylo)."""
        width = len(x)
        leak = x >> constant
        positive = ~x[-1] & x.any()
        # x >> constant == 0 for a positive x when its bits from `constant` up are all zero.
        small = positive & ~x[min(constant, width - 1) :].any()
        return (x - Mux(small, 1, leak))[:width].as_signed()

    @staticmethod
    def _variable_shift_decay(x, shift):
        """:meth:`_shift_decay` with the shift from memory: a barrel shifter. For a positive
        ``x`` the leak ``x >> shift`` is 0 exactly when the minimum leak of 1 applies."""
        width = len(x)
        leak = x >> shift  # arithmetic: a shift past the width gives the sign
        positive = ~x[-1] & x.any()
        small = positive & ~leak.any()
        return (x - Mux(small, 1, leak))[:width].as_signed()

    def _divide(self, pipe, width):
        """Bounded restoring division: ``q = min(floor(d / T), max_spikes - 1)`` and the
        remainder ``d - q*T``, one compare-subtract of ``T << b`` per quotient bit.

        While the quotient prefix equals that of the bound ``L = max_spikes - 1`` ("tight"), bit
        ``b`` may only be set where ``L`` has it; once a bit of ``L`` was refused the prefix is
        below ``L`` and the division runs free. This yields ``min(q, L)`` without a multiplier.
        With ``T = 0`` every compare succeeds, giving ``q = L`` and the remainder ``d``.
        """
        bits = self._quotient_bits()
        bound = self._params.max_spikes - 1
        if not bits:
            return Const(0, 1)
        tight = True  # a Python constant until the first data-dependent decision
        for index, b in enumerate(reversed(range(bits))):
            remainder = pipe["remainder"]
            high = remainder[b:]
            diff = high - pipe["divisor"]
            fits = ~diff[-1]
            if (bound >> b) & 1:
                take = fits
                new_tight = fits if tight is True else tight & fits
            elif tight is True:
                take, new_tight = None, True
            else:
                take, new_tight = fits & ~tight, tight
            if take is not None:
                pipe["remainder"] = Mux(take, Cat(remainder[:b], diff[: width - b]), remainder)
                pipe[f"q{b}"] = take
            else:
                pipe[f"q{b}"] = Const(0, 1)
            if new_tight is not True:
                pipe["tight"] = new_tight
                tight = pipe["tight"]
            if (index + 1) % DIVIDE_BITS_PER_STAGE == 0 or index + 1 == bits:
                pipe.close(f"divide{index // DIVIDE_BITS_PER_STAGE}")
                if "tight" in pipe:
                    tight = pipe["tight"]
        if "tight" in pipe:
            pipe.pop("tight")
        pipe.pop("divisor")
        return Cat(*[Value.cast(pipe.pop(f"q{b}")) for b in range(bits)])
