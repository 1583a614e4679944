"""Integer neuron semantics: parameters, presets and the reference model.

Imports nothing from the hardware side; the hardware imports this.
"""

from .fast import FastPopulation, run_fast, simulate, supports
from .params import (
    Accumulation,
    Comparison,
    Decay,
    DecayKind,
    InputTiming,
    MembraneUpdate,
    NeuronParams,
    Overflow,
    ResetMode,
    Rounding,
    state_range,
)
from .presets import PRESETS, loihi_cuba_lif, snntorch_leaky, xylo_lif
from .reference import NeuronState, StepInput, Trace, check_weights, initial_state, run, step

__all__ = [
    "Accumulation",
    "Comparison",
    "Decay",
    "DecayKind",
    "InputTiming",
    "MembraneUpdate",
    "NeuronParams",
    "Overflow",
    "ResetMode",
    "Rounding",
    "state_range",
    "PRESETS",
    "loihi_cuba_lif",
    "snntorch_leaky",
    "xylo_lif",
    "NeuronState",
    "StepInput",
    "Trace",
    "check_weights",
    "initial_state",
    "run",
    "step",
    "FastPopulation",
    "run_fast",
    "simulate",
    "supports",
]
