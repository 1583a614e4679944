"""Mutation harness: plant each generator bug of :data:`tests.mutation.mutations.MUTATIONS` in a
temporary copy of the ``neurohw`` package, run the fast tests that must catch it, and report
caught/missed and a score.

Usage (from the repository root, with the checkout's venv)::

    .venv/bin/python -m tests.mutation.run                 # every mutation
    .venv/bin/python -m tests.mutation.run NAME [NAME...]  # some of them
    .venv/bin/python -m tests.mutation.run --list          # the list, with their tests
    .venv/bin/python -m tests.mutation.run --baseline      # the selected tests, unmutated

The checkout's files are never modified: each mutation is a one-line text replacement in a copy
of ``neurohw/`` under a temporary folder, imported first (``import neurohw`` before pytest
starts, so the copy is the ``neurohw`` every test and every generator uses in that run). The
cocotb benches (``neurohw.sim``, the checkout's ``sim/``) are not mutated: the mutations are in
the generators, the benches and the models are the checkers. Every run gets its own simulation
build folder (``NEUROHW_SIM_BUILD_DIR``) and runs its tests on Icarus (Verilator's C++ builds are
slower than these short benches), or on Verilator where Icarus is missing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.mutation.mutations import MUTATIONS, Mutation

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = REPO_ROOT / "neurohw"

#: Runs pytest with the mutated copy imported first: pytest puts the repository root on
#: sys.path[0] when it loads the root conftest, which would otherwise shadow the copy.
_BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); import neurohw; "
    "assert neurohw.__file__.startswith(sys.argv[1]), neurohw.__file__; "
    "import pytest; sys.exit(pytest.main(sys.argv[2:]))"
)


@dataclass
class Outcome:
    mutation: Mutation
    status: str  # "caught", "missed" or "error"
    seconds: float
    detail: str
    reason: str = ""  # the first failure line pytest printed (why it was caught)


def apply(mutation: Mutation, root: Path) -> None:
    """Apply ``mutation`` to the copy of the package under ``root`` (``root/neurohw``)."""
    path = root / mutation.path
    text = path.read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise ValueError(
            f"mutation {mutation.name}: the text to replace occurs {count} times in "
            f"{mutation.path}, not once: {mutation.old!r}"
        )
    path.write_text(text.replace(mutation.old, mutation.new))


def pick_simulator() -> str:
    """Icarus where it is installed (fast builds for short benches), else Verilator."""
    from neurohw.toolchain import available_simulators

    simulators = available_simulators()
    if not simulators:
        raise RuntimeError("the mutation harness needs Icarus or Verilator")
    return "icarus" if "icarus" in simulators else simulators[0]


def selected_tests(mutation: Mutation, simulator: str) -> list[str]:
    return [test.replace("{sim}", simulator) for test in mutation.tests]


#: Seconds a mutation's tests may run; a mutant that hangs them counts as not caught.
TIMEOUT_S = 900


def run_tests(tests: list[str], package_root: Path, build_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["NEUROHW_SIM_BUILD_DIR"] = str(build_dir)
    command = [
        sys.executable,
        "-c",
        _BOOTSTRAP,
        str(package_root),
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-m",
        "",  # the selection is explicit: slow-marked parametrizations run too
        *tests,
    ]
    # A session of its own, so that a timeout ends the simulators pytest started too.
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\ntimed out after {TIMEOUT_S} s"
        return subprocess.CompletedProcess(command, -1, stdout, stderr)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_mutation(mutation: Mutation, simulator: str, *, baseline: bool = False) -> Outcome:
    """Plant ``mutation`` (unless ``baseline``) in a fresh copy and run its tests: ``caught``
    if they fail, ``missed`` if they pass, ``error`` if pytest could not run them."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neurohw-mutant-") as tmp:
        root = Path(tmp)
        shutil.copytree(PACKAGE, root / "neurohw", ignore=shutil.ignore_patterns("__pycache__"))
        if not baseline:
            apply(mutation, root)
        result = run_tests(selected_tests(mutation, simulator), root, root / "build")
    seconds = time.monotonic() - start
    output = result.stdout + result.stderr
    tail = "\n".join(output.splitlines()[-15:])
    reasons = [line[1:].strip() for line in output.splitlines() if line.startswith("E ")]
    # The cocotb runner's first line only says how many cocotb tests failed: skip it.
    reasons = [
        line
        for line in reasons
        if line and not line.startswith("+") and "cocotb tests failed" not in line
    ]
    # pytest's exit codes: 0 all passed, 1 some failed; anything else (no test collected,
    # usage or internal error, the timeout) means the check did not run to an answer.
    if result.returncode == 0:
        status = "passed" if baseline else "missed"
    elif result.returncode == 1:
        status = "failed" if baseline else "caught"
    else:
        status = "error"
    return Outcome(mutation, status, seconds, tail, reasons[0][:160] if reasons else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument(
        "--baseline", action="store_true", help="run each selected mutation's tests unmutated"
    )
    parser.add_argument("--simulator", help="icarus or verilator (default: icarus if present)")
    args = parser.parse_args(argv)
    by_name = {mutation.name: mutation for mutation in MUTATIONS}
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        parser.error(f"unknown mutations {unknown}; known: {sorted(by_name)}")
    selected = [by_name[name] for name in args.names] or list(MUTATIONS)
    simulator = args.simulator or pick_simulator()
    if args.list:
        for mutation in selected:
            print(f"{mutation.name}: {mutation.description}")
            print(f"    {mutation.path}: {mutation.old.strip()!r} -> {mutation.new.strip()!r}")
            for test in selected_tests(mutation, simulator):
                print(f"    {test}")
        return 0
    if not args.baseline:
        # A mutation counts as caught only if its tests pass without it: run them all once,
        # unmutated, first.
        tests = list(dict.fromkeys(t for m in selected for t in selected_tests(m, simulator)))
        with tempfile.TemporaryDirectory(prefix="neurohw-baseline-") as tmp:
            root = Path(tmp)
            shutil.copytree(PACKAGE, root / "neurohw", ignore=shutil.ignore_patterns("__pycache__"))
            result = run_tests(tests, root, root / "build")
        if result.returncode != 0:
            print(result.stdout[-3000:] + result.stderr[-2000:])
            print("the tests fail without any mutation: fix them first")
            return 2
        print(f"baseline: the {len(tests)} selected tests pass unmutated", flush=True)
    outcomes = []
    for mutation in selected:
        outcome = run_mutation(mutation, simulator, baseline=args.baseline)
        outcomes.append(outcome)
        print(f"{outcome.status:7} {outcome.seconds:6.1f} s  {mutation.name}", flush=True)
        if outcome.reason:
            print(f"        {outcome.reason}", flush=True)
        if outcome.status not in ("caught", "passed"):
            print("        " + outcome.detail.replace("\n", "\n        "), flush=True)
    good = sum(outcome.status in ("caught", "passed") for outcome in outcomes)
    what = "passed unmutated" if args.baseline else "caught"
    print(f"score: {good}/{len(outcomes)} {what} ({simulator})")
    return 0 if good == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
