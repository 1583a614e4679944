"""Formal proofs (yowasp-sby, ``abc pdr``: unbounded) of the router and its FIFOs.

Properties (tests/formal/harness.py): stream rules on every output under inputs assumed to obey
them, and per output the conservation law accepted-owed = sent + in flight (drops included, as
the ``dropped`` stream is an output); for the FIFO, order, no loss, no duplicate and the level.
``rst`` is free, so every property holds across a reset at any cycle.

The ``abc pdr`` engine runs ABC as a separate ``yosys-abc`` program, which YoWASP does not ship:
it comes from a native Yosys (``apt-get install yosys``). Without it these proofs are skipped
and a bounded check with Yosys's built-in SAT solver runs instead (``test_bounded_*``).
"""

import re

import pytest
from amaranth.back import verilog

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


def proof_parts(n_ports):
    """A router proof split into one proof per output (``n_ports``: the drop stream) and one of
    the status port's high-water marks, as ``RouterHarness`` options by name.

    Each part has a smaller inductive invariant to find than the whole proof: the whole 5-port
    proof had not finished after 32 minutes of CPU time (abc pdr's frame 3), its parts take 3 to
    73 s each (measured in session 28; docs/router.md, "Split proofs").
    test_split_proof_asserts_what_one_proof_asserts checks that the parts together assert every
    property of the single proof.
    """
    return {
        **{
            f"output{j}": {"checked_outputs": [j], "check_high_water": False}
            for j in range(n_ports)
        },
        "dropped": {"checked_outputs": [n_ports], "check_high_water": False},
        "high_water": {"checked_outputs": [], "check_high_water": True},
    }


@needs_abc
@pytest.mark.slow
@pytest.mark.parametrize("part", proof_parts(3))
def test_prove_router_input_stage(part):
    # As one proof, abc pdr did not converge within 10 minutes with depth-2 queues behind the
    # stage; split, each part took 3 to 60 s of CPU time.
    harness = RouterHarness(
        drop_table(), fmt=FORMAT, fifo_depth=2, input_stage=True, **proof_parts(3)[part]
    )
    check(prove(harness, name=part, directory=FORMAL_DIR / f"router_staged_{part}"))


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


def five_port_table(multicast_1=frozenset({1, 2})):
    return RoutingTable(
        [
            (0b000, 0b111, {0}),
            (0b001, 0b111, set(multicast_1)),
            (0b010, 0b110, {3, 4}),
            (0b100, 0b100, set(range(5))),
        ],
        n_ports=5,
        key_width=3,
        default=DROP,
    )


@needs_abc
@pytest.mark.slow
@pytest.mark.parametrize("part", proof_parts(5))
def test_prove_router_5port(part):
    harness = RouterHarness(five_port_table(), fmt=FORMAT, fifo_depth=2, **proof_parts(5)[part])
    check(prove(harness, name=part, directory=FORMAL_DIR / f"router5_{part}"))


def assertion_messages(harness):
    """The message of every assertion in the harness's Verilog, in order."""
    text = verilog.convert(harness, name="top", emit_src=False)
    return re.findall(r'\$write\("([^"]*)"\);\s*assert', text)


@pytest.mark.parametrize("table", [drop_table(), five_port_table()], ids=["3port", "5port"])
def test_split_proof_asserts_what_one_proof_asserts(table):
    n = table.n_ports
    whole = assertion_messages(RouterHarness(table, fmt=FORMAT, fifo_depth=2))
    parts = [
        message
        for options in proof_parts(n).values()
        for message in assertion_messages(RouterHarness(table, fmt=FORMAT, fifo_depth=2, **options))
    ]
    # Per output and the drop stream: the stream rules and conservation; per input: its hwm.
    assert len(whole) == 2 * (n + 1) + n
    assert sorted(parts) == sorted(whole)


def test_split_part_must_name_an_output():
    with pytest.raises(ValueError) as error:
        RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2, checked_outputs=[1, 4, 7])
    assert (
        str(error.value)
        == "checked_outputs must name outputs 0 to 3 (3: the drop stream), not [4, 7]"
    )


def test_split_5port_proof_fails_on_its_output_against_wrong_model():
    """A model that forgets output 2 of a multicast fails output 2's part of the proof."""
    harness = RouterHarness(
        five_port_table(),
        fmt=FORMAT,
        fifo_depth=2,
        model_table=five_port_table(multicast_1={1}),
        **proof_parts(5)["output2"],
    )
    if abc_program() is not None:
        result = prove(harness, name="wrong", directory=FORMAL_DIR / "router5_wrong")
    else:
        result = bounded_check(harness, directory=FORMAL_DIR / "bounded_router5_wrong", depth=5)
    assert result.status == "FAIL", result.log[-2000:]


@needs_abc
def test_prove_reports_its_cpu_limit():
    """A proof that runs out of CPU time says so (the whole 5-port proof needs far more)."""
    harness = RouterHarness(five_port_table(), fmt=FORMAT, fifo_depth=2)
    result = prove(harness, name="limited", directory=FORMAL_DIR / "router5_limited", cpu_limit_s=5)
    assert not result.passed
    assert result.status == "CPU LIMIT (5 s of CPU time used up by sby or a program it ran)"


@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
def test_bounded_router_drop_default():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2)
    check(bounded_check(harness, directory=FORMAL_DIR / "bounded_router", depth=5))


@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
def test_bounded_fifo():
    check(bounded_check(FIFOHarness(depth=2), directory=FORMAL_DIR / "bounded_fifo", depth=8))


@pytest.mark.slow
@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
def test_bounded_router_deep():
    harness = RouterHarness(drop_table(), fmt=FORMAT, fifo_depth=2)
    check(bounded_check(harness, directory=FORMAL_DIR / "bounded_router_deep", depth=10))


@pytest.mark.slow
@pytest.mark.skipif(abc_program() is not None, reason="the unbounded proofs ran instead")
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
