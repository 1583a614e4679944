"""The Verilator ``-Wall`` warnings that Amaranth's Verilog legitimately raises, and why.

One list, :data:`LINT_WAIVERS`, serves the core lint test (``tests/test_core_lint.py``), the
chip lint test and the Verilator configuration file shipped in an IP package
(:func:`verilator_waiver_config`, ``docs/integration.md``). Each waiver names one warning code
and the message it may have, so that a real problem of the same code (a truncating assignment,
say) is still reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LINT_WAIVERS", "LintWaiver", "unwaived", "verilator_waiver_config"]


@dataclass(frozen=True)
class LintWaiver:
    """One waived Verilator warning.

    ``code``: the warning code (``WIDTHTRUNC``); ``pattern``: a regular expression the message
    must match; ``glob``: the same message as a Verilator ``-match`` wildcard (``*`` and ``?``)
    for configuration files, ``None`` for the whole code; ``reason``: why it is harmless.
    """

    code: str
    pattern: str
    glob: str | None
    reason: str

    def matches(self, code: str, message: str) -> bool:
        return code == self.code and re.search(self.pattern, message) is not None


LINT_WAIVERS = (
    LintWaiver(
        "PROCASSINIT",
        r"Procedural assignment to declaration with initial value",
        "Procedural assignment to declaration with initial value*",
        "Amaranth declares every register with its reset/init value as a Verilog initializer "
        "(`reg x = 1'h0;`) and assigns it in an always block: the FPGA power-up value.",
    ),
    LintWaiver(
        "WIDTHEXPAND",
        r"expects \d+ bits on the (LHS|RHS), but (LHS|RHS)'s .* generates \d+ bits",
        "Operator * expects * bits on the ?HS, but ?HS's * generates * bits*",
        "The Yosys Verilog backend emits operands at their own width and relies on Verilog's "
        "context-determined extension (signed operands are declared signed), which is exactly "
        "Amaranth's arithmetic; bit-exactness is checked by simulation.",
    ),
    LintWaiver(
        "WIDTHTRUNC",
        r"Logical operator LOGNOT expects 1 bit on the LHS",
        "Logical operator LOGNOT expects 1 bit on the LHS*",
        "`!x` on a multi-bit value (Yosys' $logic_not, i.e. `x == 0`) is well defined; no other "
        "truncation is waived.",
    ),
    LintWaiver(
        "WIDTHTRUNC",
        r"Operator ASSIGNW expects 1 bits on the Assign RHS, but Assign RHS's SHIFTR generates",
        "Operator ASSIGNW expects 1 bits on the Assign RHS, but Assign RHS's SHIFTR generates*",
        "A one-bit select at a variable index (`Value.bit_select(i, 1)`, Yosys' $shiftx) is "
        "written as `assign y = x >> i;` into a one-bit wire: the truncation keeps bit i, which "
        "is the select.",
    ),
    LintWaiver(
        "UNUSEDSIGNAL",
        r"(Signal is not used|Bits of signal are not used|Signal is not driven, nor used)",
        None,
        "Amaranth keeps every named signal and its generated temporaries (`$123`, unused upper bits "
        "of an arithmetic result, `$signature__*` members of memory ports, flattened payload views "
        "such as `cmd__payload.axon`) and signals a configuration does not need (the reserved "
        "`step` payload bit, the cap bypass without a cap); synthesis removes them.",
    ),
    LintWaiver(
        "CASEINCOMPLETE",
        r"Case values incompletely covered",
        "Case values incompletely covered*",
        "Yosys' process output writes a default assignment before a `casez` without a default "
        "branch (an Amaranth Switch without Default), so uncovered values keep that assignment.",
    ),
    LintWaiver(
        "ASCRANGE",
        r"Ascending bit range vector: left < right of bit range: \[-1:0\]",
        "Ascending bit range vector: left < right of bit range: ?-1:0?*",
        "A zero-width signal (e.g. the refractory counter of a neuron without a refractory period) "
        "is emitted as `[-1:0]` and never read.",
    ),
    LintWaiver(
        "UNSIGNED",
        r"Comparison is constant due to unsigned arithmetic",
        "Comparison is constant due to unsigned arithmetic*",
        "A chip's axon decoder tests `key >= first_key` for every block; for a block that starts "
        "at key 0 the test is always true, and synthesis removes it.",
    ),
    LintWaiver(
        "DECLFILENAME",
        r"does not match MODULE name: '[\w$]+\.",
        "Filename '*' does not match MODULE name: '*.*'*",
        "Amaranth writes every submodule (`neurohw_system.core0`, `neuron_core.spike_fifo_lane0`, "
        "...) into the top module's file; the file itself is named after the top module.",
    ),
)


def unwaived(warnings) -> list:
    """The ``(code, line, message)`` warnings that no waiver covers."""
    return [w for w in warnings if not any(x.matches(w[0], w[2]) for x in LINT_WAIVERS)]


def verilator_waiver_config(file_name: str) -> str:
    """A Verilator configuration file (``.vlt``) that waives :data:`LINT_WAIVERS` in
    ``file_name`` only (matched as ``*/file_name``), each with its message, so that
    ``verilator --lint-only -Wall NAME.vlt NAME.v`` reports nothing else."""
    lines = [
        "`verilator_config",
        f"// Generated by neurohw: the warnings Amaranth's Verilog raises under -Wall in "
        f"{file_name}, and why.",
    ]
    for waiver in LINT_WAIVERS:
        lines.append(f"// {waiver.code}: {waiver.reason}")
        match = f' -match "{waiver.glob}"' if waiver.glob else ""
        lines.append(f'lint_off -rule {waiver.code} -file "*{file_name}"{match}')
    return "\n".join(lines) + "\n"
