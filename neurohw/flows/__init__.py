"""Backends that take neurohw hardware through the open FPGA toolchain and report on it.

:mod:`neurohw.flows.synth`: out-of-context synthesis and place-and-route estimates (resources,
Fmax) on iCE40 UltraPlus and ECP5 with Yosys and nextpnr, and comparison against recorded
baselines.
"""

from .synth import (DEFAULT_TOLERANCES, DEVICES, BaselineError, Regression, SynthesisError,
                    SynthReport, compare_to_baseline, synthesize, update_baseline)

__all__ = [
    "DEFAULT_TOLERANCES",
    "DEVICES",
    "BaselineError",
    "Regression",
    "SynthesisError",
    "SynthReport",
    "compare_to_baseline",
    "synthesize",
    "update_baseline",
]
