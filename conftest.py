"""Repository-wide pytest setup: make `sim` importable and report the simulators in the header."""

import sys
from pathlib import Path

# The `sim` package (cocotb runner, benches) lives beside `neurohw` but is not
# installed; tests import it as `from sim.runner import ...`.
REPO_ROOT = str(Path(__file__).resolve().parent)
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


def pytest_report_header(config):
    from neurohw.toolchain import describe
    return ["toolchain:", *(f"  {line}" for line in describe().splitlines())]
