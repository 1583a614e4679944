"""Fixtures for HDL simulation tests.

A test that takes the ``simulator`` argument is run once per simulator from
:func:`neurohw.toolchain.available_simulators` (``NEUROHW_SIMULATORS`` selects them).
``sim_build_dir`` is that case's private build directory under ``build/sim/``.
"""

import functools

import pytest

from neurohw.toolchain import available_simulators
from neurohw.sim.runner import case_build_dir


@functools.cache
def _simulators() -> tuple[str, ...]:
    return tuple(available_simulators())


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", _simulators())


@pytest.fixture
def sim_build_dir(request, simulator):
    return case_build_dir(request.node.nodeid, simulator)
