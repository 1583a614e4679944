"""Presets that reproduce published integer neurons bit for bit.

Each preset returns a plain :class:`NeuronParams`; nothing about a preset is special to the
simulator or the hardware generator. ``docs/semantics.md`` ("Presets") says which reference
implementation each one was checked against.
"""

from __future__ import annotations

import numpy as np

from .params import (
    Accumulation,
    Comparison,
    Decay,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    Overflow,
    ResetMode,
    Rounding,
)

__all__ = ["loihi_cuba_lif", "xylo_lif", "snntorch_leaky", "PRESETS"]


def loihi_cuba_lif(
    *, du, dv, vth, bias_mant=0, bias_exp=0, refractory_period: int = 0, drive_bias=0
) -> NeuronParams:
    """Loihi's CUBA LIF as in lava-nc 0.10 ``PyLifModelBitAcc``.

    ``du``, ``dv``: 12-bit decay constants, each an integer or a 1-D integer array with one
    value per neuron; ``vth``: 17-bit threshold mantissa (shifted left by 6);
    ``bias_mant``: 13-bit signed, ``bias_exp``: 3-bit (0..7), each an integer or one value per
    neuron (Lava's ``bias_mant`` and ``bias_exp`` are both per-neuron Vars). Input (``a_in``) is
    shifted left by 6.
    ``drive_bias`` (integer or per neuron, default 0) is added to every step's input before
    that shift, i.e. ``drive_bias << 6`` into the current ``u`` each step (an Affine bias
    feeding the synaptic current; Lava's own neuron has no such term).
    Lava delays the input of step t to step t+1 in its Dense process; here that delay belongs to
    the synapse/network layer, so feed the input of step t+1 to reproduce a Lava trace.
    """
    for name, value, high in (
        ("du", du, 4095),
        ("dv", dv, 4095),
        ("vth", vth, (1 << 17) - 1),
        ("bias_exp", bias_exp, 7),
    ):
        if name in ("du", "dv", "bias_exp") and isinstance(value, (np.ndarray, list, tuple)):
            array = np.asarray(value)
            if array.ndim != 1 or array.dtype.kind not in "iu" or array.size == 0:
                raise ValueError(
                    f"Loihi {name} must be an integer or a non-empty 1-D integer "
                    f"array, not {value!r}"
                )
            bad = np.flatnonzero((array < 0) | (array > high))
            if bad.size:
                raise ValueError(
                    f"Loihi {name}[{int(bad[0])}] must be an integer between 0 "
                    f"and {high}, not {int(array[bad[0]])}"
                )
            if name == "du":
                du = array
            elif name == "dv":
                dv = array
            else:
                bias_exp = array
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise ValueError(f"Loihi {name} must be an integer between 0 and {high}, not {value!r}")
    return NeuronParams(
        n_currents=1,
        v_width=24,
        i_width=24,
        v_overflow=Overflow.SATURATE_SYMMETRIC,
        i_overflow=Overflow.WRAP_LAVA,
        i_decay=(Decay.multiply(du, 12, offset=1, rounding=Rounding.TOWARD_ZERO),),
        v_decay=Decay.multiply(dv, 12, rounding=Rounding.TOWARD_ZERO),
        accumulation=Accumulation.SUM,
        input_timing=InputTiming.AFTER_DECAY,
        input_shift=6,
        membrane_update=MembraneUpdate.SUM,
        bias_mantissa=bias_mant,
        bias_exponent=bias_exp,
        threshold=vth,
        threshold_shift=6,
        comparison=Comparison.GREATER,
        reset=ResetMode.ZERO,
        refractory_period=refractory_period,
        drive_bias=drive_bias,
    )


def xylo_lif(
    *,
    dash_mem,
    dash_syn,
    threshold,
    bias=0,
    weight_shift: int = 0,
    max_spikes: int = 31,
    input_count_cap: int | None = None,
) -> NeuronParams:
    """Xylo v2's integer LIF as in xylosim 0.1.3 (``XyloIAFNeuron``, ``XyloLayer``).

    ``dash_mem`` and each ``dash_syn`` (one shift per synaptic current, one or two) are 4-bit
    shifts, each an integer or a 1-D integer array with one value per neuron (Xylo keeps one
    per neuron). Hidden neurons use ``max_spikes=31``, readout neurons ``max_spikes=1``.

    ``input_count_cap`` (default ``None``) and ``weight_shift`` (default 0) act on every input
    of the population. Xylo caps external input at 15 and recurrent spikes at 31 and shifts
    input and recurrent weights separately, so in a network leave both at their defaults and
    give each projection its own (``docs/system.md`` "Per-projection shift and cap"):
    ``Projection("x", "h", w_in, weight_shift=s_in, count_cap=15)`` from the input group,
    ``Projection("h", "h", w_rec, weight_shift=s_rec, count_cap=31)`` for the recurrent
    weights; with ``max_spikes=31`` on ``h`` the recurrent cap never acts, and the readout
    ``Projection("h", "o", w_out)`` is not capped at all (Xylo's readout sees every hidden
    spike). A single population fed only by external input (xylosim's ``XyloLayer``) is
    ``xylo_lif(..., weight_shift=s_in, input_count_cap=15)``.
    """
    dash_syn = (dash_syn,) if not isinstance(dash_syn, (tuple, list)) else tuple(dash_syn)

    def shift(name, value):
        if isinstance(value, np.ndarray):
            array = value
            if array.ndim != 1 or array.dtype.kind not in "iu":
                raise ValueError(
                    f"Xylo {name} must be an integer or a 1-D integer array (one per neuron), "
                    f"not {array.dtype} of shape {array.shape}"
                )
            bad = np.flatnonzero((array < 0) | (array > 15))
            if bad.size:
                raise ValueError(
                    f"Xylo {name}[{int(bad[0])}] must be a 4-bit integer between 0 and 15, "
                    f"not {int(array[bad[0]])}"
                )
            return Decay.shift(array.astype(np.int64))
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 15:
            raise ValueError(f"Xylo {name} must be a 4-bit integer between 0 and 15, not {value!r}")
        return Decay.shift(value)

    if len(dash_syn) not in (1, 2):
        raise ValueError(f"Xylo neurons have 1 or 2 synaptic currents, not {len(dash_syn)}")
    v_decay = shift("dash_mem", dash_mem)
    i_decay = tuple(shift(f"dash_syn[{k}]", d) for k, d in enumerate(dash_syn))
    return NeuronParams(
        n_currents=len(dash_syn),
        v_width=16,
        i_width=16,
        v_overflow=Overflow.SATURATE,
        i_overflow=Overflow.SATURATE,
        i_decay=i_decay,
        v_decay=v_decay,
        accumulation=Accumulation.PER_EVENT,
        input_timing=InputTiming.BEFORE_DECAY,
        input_shift=weight_shift,
        input_count_cap=input_count_cap,
        membrane_update=MembraneUpdate.DELTA,
        bias_mantissa=bias,
        threshold=threshold,
        comparison=Comparison.GREATER_EQUAL,
        reset=ResetMode.SUBTRACT,
        max_spikes=max_spikes,
    )


def snntorch_leaky(
    *,
    beta_constant: int,
    threshold,
    decay_bits: int = 8,
    width: int = 16,
    reset: str = "subtract",
    reset_delay: bool = False,
) -> NeuronParams:
    """An integer snnTorch ``Leaky``: ``mem = beta * mem + x``, spike when ``mem > thr``.

    ``beta = 1 - beta_constant / 2^decay_bits``, rounded toward minus infinity (an arithmetic
    shift). The reset (by subtraction or to zero) is applied in the step that spikes, like
    snnTorch with ``reset_delay=False``; with ``reset_delay=True`` (reset 'subtract' only) the
    threshold is subtracted in the next step, after the decay, like snnTorch's default.
    """
    if reset not in ("subtract", "zero"):
        raise ValueError(f"snnTorch reset must be 'subtract' or 'zero', not {reset!r}")
    return NeuronParams(
        n_currents=0,
        v_width=width,
        v_overflow=Overflow.SATURATE,
        v_decay=Decay.multiply(beta_constant, decay_bits, rounding=Rounding.FLOOR),
        threshold=threshold,
        comparison=Comparison.GREATER,
        reset=ResetMode(reset),
        reset_delay=reset_delay,
    )


PRESETS = {
    "loihi_cuba_lif": loihi_cuba_lif,
    "xylo_lif": xylo_lif,
    "snntorch_leaky": snntorch_leaky,
}
