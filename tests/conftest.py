"""Fixtures for HDL simulation tests, and the skip-or-fail rule for missing tools.

A test that takes the ``simulator`` argument is run once per simulator from
:func:`tests.required_tools.simulators_to_test` (``NEUROHW_SIMULATORS`` selects them; unset,
every simulator neurohw drives). Before each test, the tools its markers ask for
(``needs_simulator``, ``needs_abc``) are looked up: a missing one skips the test with a reason
naming it, or fails it when the environment demands that tool (tests/required_tools.py).
``sim_build_dir`` is that case's private build directory under ``build/sim/``.
"""

import pytest

from sim.runner import case_build_dir
from tests.required_tools import require_abc, require_simulator, simulator_params


def pytest_generate_tests(metafunc):
    if "simulator" in metafunc.fixturenames:
        metafunc.parametrize("simulator", simulator_params())


def pytest_runtest_setup(item):
    for marker in item.iter_markers("needs_simulator"):
        require_simulator(*marker.args)
    if item.get_closest_marker("needs_abc") is not None:
        require_abc()


@pytest.fixture
def sim_build_dir(request, simulator):
    return case_build_dir(request.node.nodeid, simulator)
