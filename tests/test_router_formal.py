"""Formal proofs (yowasp-sby, ``abc pdr``: unbounded) of the router and its FIFOs.

Properties (tests/formal/harness.py): stream rules on every output under inputs assumed to obey
them, and per output the conservation law accepted-owed = sent + in flight (drops included, as
the ``dropped`` stream is an output); for the FIFO, order, no loss, no duplicate and the level.
``rst`` is free, so every property holds across a reset at any cycle.

The ``abc pdr`` engine runs ABC as a separate ``yosys-abc`` program, which YoWASP does not ship:
it comes from a native Yosys (``apt-get install yosys``). Without it these proofs are skipped
and a bounded check with Yosys's built-in SAT solver runs instead (``test_bounded_*``).
"""

import pytest

from neurohw.routing import DROP, EventFormat, RoutingTable
from neurohw.sim.runner import BUILD_ROOT
from tests.formal.harness import FIFOHarness, RouterHarness, abc_program, bounded_check, prove

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

# Skipped without yosys-abc, naming it; CI installs it and sets NEUROHW_REQUIRE_ABC=1 (.ci/run),
# which makes a missing yosys-abc an error, not a quiet fallback to the bounded checks
# (tests/required_tools.py).
needs_abc = pytest.mark.needs_abc

FORMAL_DIR = BUILD_ROOT.parent / "formal"
FORMAT = EventFormat(key_width=3, step_width=1)


def drop_table():
    """Unicast, multicast, broadcast and unmatched (dropped) keys, with first-match overlap."""
    return RoutingTable(
        [
            (0b000, 0b110, {0}),
            (0b010, 0b110, {1, 2}),
            (0b100, 0b111, {0, 1, 2}),
            (0b101, 0b111, {2}),
        ],
        n_ports=3,
        key_width=3,
        default=DROP,
    )


def port_default_table():
    return RoutingTable(
        [(0b000, 0b100, {0, 1}), (0b110, 0b111, {2})], n_ports=3, key_width=3, default={1}
    )


def check(result):
    assert result.passed, f"{result.status}; end of the log:\n" + "\n".join(
        result.log.splitlines()[-25:]
    )


@needs_abc
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_prove_fifo(depth):
    check(
        prove(FIFOHarness(depth=depth), name=f"fifo{depth}", directory=FORMAL_DIR / f"fifo{depth}")
    )


@needs_abc
def test_prove_router_drop_default():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2)
    check(prove(harness, name="router_drop", directory=FORMAL_DIR / "router_drop"))


@needs_abc
def test_prove_router_port_default_narrow_barriers():
    harness = RouterHarness(
        port_default_table(), fmt=FORMAT, fifo_depth=1, barrier_sources=[{0, 1}, {2}, set()]
    )
    check(prove(harness, name="router_ports", directory=FORMAL_DIR / "router_ports"))


@needs_abc
@pytest.mark.slow
def test_prove_router_input_stage():
    # With depth-2 queues behind the stage abc pdr does not converge within 10 minutes; the
    # bounded check covers that configuration (test_bounded_router_input_stage_deep).
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=1, input_stage=True)
    check(prove(harness, name="router_staged", directory=FORMAL_DIR / "router_staged"))


def test_prove_fails_against_wrong_model():
    """The proof is not vacuous: a model that forgets one multicast branch is refuted, by
    ``abc pdr`` where yosys-abc exists, else by the bounded check (so this runs everywhere)."""
    wrong = RoutingTable(
        [(0b000, 0b110, {0}), (0b010, 0b110, {1}), (0b100, 0b111, {0, 1, 2}), (0b101, 0b111, {2})],
        n_ports=3,
        key_width=3,
        default=DROP,
    )
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2, model_table=wrong)
    if abc_program() is not None:
        result = prove(harness, name="router_wrong", directory=FORMAL_DIR / "router_wrong")
    else:
        result = bounded_check(harness, directory=FORMAL_DIR / "bounded_router_wrong", depth=5)
    assert result.status == "FAIL", result.log[-2000:]


@needs_abc
@pytest.mark.slow
def test_prove_router_5port():
    table = RoutingTable(
        [
            (0b000, 0b111, {0}),
            (0b001, 0b111, {1, 2}),
            (0b010, 0b110, {3, 4}),
            (0b100, 0b100, set(range(5))),
        ],
        n_ports=5,
        key_width=3,
        default=DROP,
    )
    harness = RouterHarness(table, fmt=FORMAT, fifo_depth=2)
    check(prove(harness, name="router5", directory=FORMAL_DIR / "router5", timeout=3000))


@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
def test_bounded_router_drop_default():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2)
    check(bounded_check(harness, directory=FORMAL_DIR / "bounded_router", depth=5))


@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
def test_bounded_fifo():
    check(bounded_check(FIFOHarness(depth=2), directory=FORMAL_DIR / "bounded_fifo", depth=8))


@pytest.mark.slow
def test_bounded_router_deep():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2)
    check(bounded_check(harness, directory=FORMAL_DIR / "bounded_router_deep", depth=10))


@pytest.mark.slow
def test_bounded_router_input_stage_deep():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2, input_stage=True)
    # Measured: 2,124 s of Yosys CPU time to PASS (SAT, 161,471 variables); 600 s was too few.
    check(
        bounded_check(
            harness,
            directory=FORMAL_DIR / "bounded_staged_deep",
            depth=10,
            cpu_limit_s=3600,
        )
    )
