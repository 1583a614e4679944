"""Fixtures for HDL simulation tests, and the skip-or-fail rule for missing tools.

A test that takes the ``simulator`` argument is run once per simulator from
:func:`tests.required_tools.simulators_to_test` (``NEUROHW_SIMULATORS`` selects them; unset,
every simulator neurohw drives). Before each test, the tools its markers ask for
(``needs_simulator``, ``needs_abc``) are looked up: a missing one skips the test with a reason
naming it, or fails it when the environment demands that tool (tests/required_tools.py).
``sim_build_dir`` is that case's private build directory under ``build/sim/``.

Amaranth's warnings are errors in tests (pyproject.toml, ``filterwarnings``). Amaranth reports an
elaboratable that was never elaborated (``UnusedElaboratable``) only when the garbage collector
frees it, at a time unrelated to the test that made it; so after each test the collector runs
and such an object fails the test that made it, naming the line that created it. A test file
that builds elaboratables on purpose without elaborating them (to read their layouts, or to see
a constructor refuse a parameter) says so with Amaranth's linter comment as its first line:
``# amaranth: UnusedElaboratable=no``. (An automatic collection during the test fails it too,
through pytest's unraisable-exception warning; one that happens to run in pytest's own code
between two tests goes unreported, so the check can miss an object; an object kept alive past
its test's end is reported in a later one, with the line that built it.)
"""

import gc
import warnings

import pytest
from amaranth.hdl import UnusedElaboratable

from neurohw.sim.runner import case_build_dir
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    # After the test's fixtures are torn down. Freezing what survives keeps the next collection
    # to the objects the next test makes (a full collection takes ~0.5 s on this suite's heap).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnusedElaboratable)
        gc.collect()
    gc.freeze()
    unused = []
    for warning in caught:
        if issubclass(warning.category, UnusedElaboratable):
            unused.append(f"{warning.filename}:{warning.lineno}: {warning.message}")
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    # A module's `pytestmark = pytest.mark.filterwarnings("ignore::...UnusedElaboratable")`
    # still silences it (for elaboratables that library code builds inside the module's objects).
    if unused and not any(
        argument.startswith("ignore") and "UnusedElaboratable" in argument
        for marker in item.iter_markers("filterwarnings")
        for argument in marker.args
    ):
        pytest.fail(
            "Amaranth UnusedElaboratable (elaborate it, do not build it, or start the "
            "file with `# amaranth: UnusedElaboratable=no`):\n" + "\n".join(unused),
            pytrace=False,
        )
