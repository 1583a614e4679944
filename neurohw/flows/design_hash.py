"""What a published figure measured: the hash of the design's Verilog, the options it was
measured with, the neurohw sources, the git commit and the tool versions.

A figure is *fresh* when the hash it records equals the hash of what the current tree generates
for the same configuration. For RTL and synthesis figures the hash is that of the generated
Verilog plus the options (:func:`measured_sha256`): recomputing it takes seconds (no synthesis)
and a refactoring that keeps the Verilog byte-identical keeps the figure fresh. Figures of the
Python model have no Verilog; they record :func:`sources_sha256`, the hash of the neurohw
sources they ran (any change to the package makes them stale). ``docs/benchmarks.md``
("Freshness") documents the choice; ``benchmarks/verilog_hashes.py`` is the command-line tool.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from pathlib import Path

__all__ = [
    "core_verilog",
    "git_commit",
    "measured_sha256",
    "provenance",
    "sha256_text",
    "sources_sha256",
    "synthesis_options",
    "tool_versions",
    "verilog_text",
]

_PACKAGE = Path(__file__).resolve().parent.parent


def sha256_text(text: str) -> str:
    """SHA-256 (hex) of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode()).hexdigest()


def verilog_text(design, top: str = "top") -> str:
    """The Verilog Amaranth generates for ``design`` (module ``top``, no source locations):
    the text the byte-identical check (``benchmarks/verilog_hashes.py``) hashes."""
    from amaranth.back import verilog

    return verilog.convert(design, name=top, emit_src=False)


def core_verilog(design) -> str:
    """The Verilog text synthesis reads for a component (a ``NeuronCore``, a bridge): the
    top-level module ``top`` of :func:`neurohw.flows.synth.synthesis_verilog` (SPRAM banks
    included), before :func:`neurohw.flows.report.readmemh_initializers` moves initializers to
    files (a step that depends only on this text)."""
    from .synth import synthesis_verilog

    return synthesis_verilog(design, "top")


def synthesis_options(
    device: str, *, clock_mhz: float | None = None, seed: int = 1, harness: bool | None = None
) -> dict:
    """The options of one synthesis run as plain data: the device's flow (its Yosys command and
    nextpnr arguments from :data:`neurohw.flows.synth.DEVICES`, so that a change to the flow
    makes its figures stale too), the clock constraint (``None``: the device's default,
    resolved here), the placement seed and the I/O harness choice (``None``: the flow decides
    from the design's port count, which the Verilog fixes)."""
    from .synth import DEVICES

    spec = DEVICES[device]
    return {
        "device": device,
        "synth": spec.synth,
        "nextpnr_args": list(spec.nextpnr_args),
        "clock_mhz": spec.clock_mhz if clock_mhz is None else clock_mhz,
        "seed": seed,
        "harness": harness,
    }


def measured_sha256(verilog_sha256: str, options: dict) -> str:
    """SHA-256 (hex) naming one measurement: the design's Verilog hash and the options
    (device, clock, seed, ...) as canonical JSON."""
    return sha256_text(json.dumps({"verilog": verilog_sha256, "options": options}, sort_keys=True))


@functools.cache
def sources_sha256() -> str:
    """SHA-256 (hex) of the neurohw package's Python sources and templates (path and content
    of each, in path order): the identity of what a model-level figure ran."""
    digest = hashlib.sha256()
    files = sorted(
        p for p in _PACKAGE.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".v", ".sv")
    )
    for path in files:
        digest.update(path.relative_to(_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def git_commit(repo: Path | None = None) -> str:
    """``git describe --always --dirty --abbrev=40`` of the checkout holding neurohw (the
    commit, ``-dirty`` when the tree has uncommitted changes), or ``"unknown"`` outside git."""
    try:
        result = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=repo or _PACKAGE.parent,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return result.stdout.strip() or "unknown"


@functools.cache
def tool_versions() -> dict:
    """Versions of the tools a figure may depend on: yosys, nextpnr (iCE40 and ECP5),
    verilator, icarus, amaranth, numpy, python. A missing tool is recorded as
    ``"not found"``, never silently left out."""
    from importlib.metadata import PackageNotFoundError, version

    from ..toolchain import simulator_version, synthesis_tool_version

    def guarded(function, *args):
        try:
            return function(*args)
        except Exception as error:  # noqa: BLE001 - any failure is recorded, not raised
            return f"not found ({type(error).__name__}: {error})"

    def package(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not found"

    return {
        "yosys": guarded(synthesis_tool_version, "YOSYS"),
        "nextpnr-ice40": guarded(synthesis_tool_version, "NEXTPNR_ICE40"),
        "nextpnr-ecp5": guarded(synthesis_tool_version, "NEXTPNR_ECP5"),
        "verilator": guarded(simulator_version, "verilator"),
        "icarus": guarded(simulator_version, "icarus"),
        "amaranth": package("amaranth"),
        "numpy": package("numpy"),
        "python": platform.python_version(),
    }


def provenance(*, verilog_sha256: str | None = None, options: dict | None = None) -> dict:
    """The ``"provenance"`` entry of a result row: commit, tool versions and the hash of what
    was measured. With ``verilog_sha256`` (an RTL or synthesis row): ``kind = "verilog"`` and
    ``measured_sha256`` over the Verilog hash and ``options``; without it (a model row):
    ``kind = "sources"`` and the neurohw sources' hash."""
    entry = {"commit": git_commit(), "tools": tool_versions()}
    if verilog_sha256 is None:
        entry.update(kind="sources", measured_sha256=sources_sha256())
    else:
        options = dict(options or {})
        entry.update(
            kind="verilog",
            verilog_sha256=verilog_sha256,
            options=options,
            measured_sha256=measured_sha256(verilog_sha256, options),
        )
    return entry
