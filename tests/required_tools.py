"""Which external tools a test needs, and what happens when one is missing.

The rule (README, "Tests"): a test that needs a simulator or tool that is not installed is
skipped, with a reason that names the missing tool, so the README's test command passes on a
machine that has only Python, g++, make and perl. Where the environment demands the tool
(``NEUROHW_SIMULATORS`` names the simulator, ``NEUROHW_REQUIRE_ABC=1`` for ``yosys-abc``), its
absence is an error instead: CI sets both, so it cannot go green on a smaller test matrix.

Tests declare what they need with markers, checked in ``tests/conftest.py`` before each test:

* ``@pytest.mark.needs_simulator("icarus")``: the test runs that simulator (directly or
  through a flow). Tests parametrized over ``simulator`` get the marker for their simulator;
  :func:`simulator_params` does the same for other parametrizations.
* ``@pytest.mark.needs_abc``: the test runs the native ``yosys-abc`` (unbounded formal proofs).
"""

from __future__ import annotations

import os

import pytest

from neurohw.toolchain import SIMULATORS, requested_simulators, simulator_skip_reason
from tests.formal.harness import abc_program

REQUIRE_ABC_ENV_VAR = "NEUROHW_REQUIRE_ABC"


def simulators_to_test() -> tuple[str, ...]:
    """The simulators to parametrize HDL tests over: those ``NEUROHW_SIMULATORS`` names, else
    every simulator neurohw drives (a missing one is then skipped, with its reason)."""
    return tuple(requested_simulators() or SIMULATORS)


def simulator_params() -> list:
    """One ``pytest.param`` per simulator of :func:`simulators_to_test`, carrying its
    ``needs_simulator`` marker."""
    return [
        pytest.param(name, marks=pytest.mark.needs_simulator(name)) for name in simulators_to_test()
    ]


def require_simulator(simulator: str) -> None:
    """Return if ``simulator`` is installed; skip the calling test if it is not, or raise
    :class:`neurohw.toolchain.ToolchainError` if ``NEUROHW_SIMULATORS`` demands it."""
    reason = simulator_skip_reason(simulator)
    if reason is not None:
        pytest.skip(reason)


def abc_skip_reason() -> str | None:
    """``None`` if a native ``yosys-abc`` is available, else why the test is skipped; an error
    (:class:`RuntimeError`) when ``NEUROHW_REQUIRE_ABC=1`` demands it."""
    if abc_program() is not None:
        return None
    if os.environ.get(REQUIRE_ABC_ENV_VAR) == "1":
        raise RuntimeError(
            f"{REQUIRE_ABC_ENV_VAR}=1 but no yosys-abc was found (PATH, or ABC): "
            "the unbounded router proofs cannot run (apt-get install yosys)"
        )
    return (
        "yosys-abc not on PATH and ABC unset: unbounded abc pdr proofs skipped, the bounded "
        f"checks run instead (apt-get install yosys; set {REQUIRE_ABC_ENV_VAR}=1 to demand it)"
    )


def require_abc() -> None:
    """Like :func:`require_simulator`, for ``yosys-abc``."""
    reason = abc_skip_reason()
    if reason is not None:
        pytest.skip(reason)
