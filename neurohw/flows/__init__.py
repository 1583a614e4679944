"""Flows that take a network or a core to verified Verilog, through the open FPGA toolchain, and
report on it.

:mod:`neurohw.flows.pipeline`: the end-to-end flow of ``neurohw compile`` and ``neurohw example``.
:mod:`neurohw.flows.verify` and :mod:`neurohw.flows.system`: Verilog of a core or a chip and its
RTL simulation against the reference model. :mod:`neurohw.flows.synth`: out-of-context synthesis
and place-and-route estimates (resources, Fmax) on iCE40 UltraPlus and ECP5 with Yosys and
nextpnr, and comparison against recorded baselines. :mod:`neurohw.flows.report`: cycle estimates
and design reports.
"""

from .pipeline import FlowError, load_source, run_flow
from .report import DesignReport, estimate_cycles, synth_report
from .synth import (
    DEFAULT_TOLERANCES,
    DEVICES,
    BaselineError,
    Regression,
    SynthesisError,
    SynthReport,
    compare_to_baseline,
    synthesize,
    update_baseline,
)
from .system import SystemVerificationResult, generate_system_verilog, verify_system
from .verify import VerificationResult, generate_core_verilog, verify_core

__all__ = [
    "run_flow",
    "load_source",
    "FlowError",
    "verify_core",
    "generate_core_verilog",
    "VerificationResult",
    "verify_system",
    "generate_system_verilog",
    "SystemVerificationResult",
    "estimate_cycles",
    "synth_report",
    "DesignReport",
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
