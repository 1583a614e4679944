"""Event format, routing tables, router model, scoreboard and Router construction."""

import random

import pytest
from amaranth.hdl import Const, Fragment
from amaranth.lib import data, stream, wiring

from neurohw.hw.event import DropReason, EventKind, dropped_layout, event_layout
from neurohw.hw.router import RegisterFIFO, Router, status_addresses
from neurohw.routing import (
    DROP,
    EventFormat,
    RouterModel,
    RoutingError,
    RoutingTable,
    check_router_run,
)
from neurohw.routing import EventKind as PyEventKind

FMT = EventFormat(key_width=8, step_width=4, payload_width=16)

# A component refused in __init__ still exists and would warn that it was never elaborated.
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")


def table(**kwargs):
    entries = kwargs.pop("entries", [(0x00, 0xF0, {0}), (0x10, 0xF0, {1, 2}), (0x20, 0xE0, {2})])
    return RoutingTable(
        entries, n_ports=kwargs.pop("n_ports", 3), key_width=8, **{"default": DROP, **kwargs}
    )


# -- event format ------------------------------------------------------------------------------


def test_format_fields_and_width():
    assert FMT.fields == (("kind", 2), ("key", 8), ("step", 4), ("payload", 16))
    assert FMT.width == 30
    assert EventFormat(payload_width=0).fields[-1] == ("step", 8)


@pytest.mark.parametrize(
    "name, value", [("key_width", 0), ("step_width", 33), ("payload_width", -1)]
)
def test_format_wrong_width(name, value):
    with pytest.raises(
        ValueError,
        match=rf"^{name} must be an integer between \d+ and \d+, "
        rf"not {value}$",
    ):
        EventFormat(**{name: value})


def test_pack_matches_amaranth_layout():
    layout = event_layout(FMT)
    assert layout.size == FMT.width
    rng = random.Random(1)
    for _ in range(200):
        kind = rng.choice(list(PyEventKind))
        key, step, payload = rng.randrange(256), rng.randrange(16), rng.randrange(1 << 16)
        word = FMT.pack(kind, key, step, payload)
        const = data.Const(layout, word)
        assert (const.kind, const.key, const.step, const.payload) == (
            EventKind(kind.value),
            key,
            step,
            payload,
        )
        assert FMT.unpack(word) == (kind, key, step, payload)
        assert (
            Const.cast(
                layout.const(
                    {"kind": EventKind(kind.value), "key": key, "step": step, "payload": payload}
                )
            ).value
            == word
        )


def test_amaranth_enums_mirror_python():
    assert {k.name: k.value for k in EventKind} == {k.name: k.value for k in PyEventKind}
    assert DropReason.UNMATCHED.value == 1


def test_pack_wraps_step_and_refuses_overflow():
    assert FMT.unpack(FMT.pack(PyEventKind.SPIKE, 1, 17)).step == 1
    with pytest.raises(ValueError, match=r"^key must fit in 8 bits, not 256$"):
        FMT.pack(PyEventKind.SPIKE, 256, 0)
    with pytest.raises(ValueError, match=r"^payload must be 0 in a format without payload"):
        EventFormat().pack(PyEventKind.SPIKE, 1, 0, payload=3)


def test_unpack_dropped_matches_layout():
    layout = dropped_layout(FMT, 5)
    word = FMT.pack(PyEventKind.CONTROL, 0x99, 3, 0x1234)
    value = Const.cast(
        layout.const(
            {
                "event": FMT.unpack(word)._asdict() | {"kind": EventKind.CONTROL},
                "reason": DropReason.UNMATCHED,
                "port": 4,
            }
        )
    ).value
    assert FMT.unpack_dropped(value, 5) == (word, 1, 4)


# -- routing tables --------------------------------------------------------------------------


def test_table_first_match_wins():
    t = RoutingTable([(0x70, 0xFF, {3}), (0x70, 0xF0, {2})], n_ports=4, key_width=8, default={0})
    assert t.lookup(0x70) == (0, frozenset({3}))
    assert t.lookup(0x71) == (1, frozenset({2}))
    assert t.lookup(0x80) == (None, frozenset({0}))
    assert t.route(0x05) == {0}


def test_table_round_trips_through_dict():
    t = table()
    again = RoutingTable.from_dict(t.as_dict())
    assert again.entries == t.entries and again.default is DROP
    assert all(again.route(k) == t.route(k) for k in range(256))


def test_table_wrong_key_outside_mask():
    with pytest.raises(
        RoutingError,
        match=r"^entry 0: key 0x11 has bits outside mask 0xf0, "
        r"so it matches no key$",
    ):
        table(entries=[(0x11, 0xF0, {0})])


def test_table_wrong_port():
    with pytest.raises(
        RoutingError,
        match=r"^entry 1 names port 3, but the router has ports "
        r"0 to 2$",
    ):
        table(entries=[(0x00, 0xF0, {0}), (0x10, 0xF0, {3})])


def test_table_wrong_empty_route():
    with pytest.raises(
        RoutingError,
        match=r"^entry 0 routes to no port: an event matching it "
        r"would be lost silently",
    ):
        table(entries=[(0x00, 0xF0, set())])


def test_table_wrong_conflict_when_forbidden():
    entries = [(0x70, 0xFF, {1}), (0x70, 0xF0, {2})]
    table(entries=entries)  # first match: allowed
    with pytest.raises(
        RoutingError,
        match=r"^entries 0 and 1 overlap \(key 0x70 matches "
        r"both\) with different ports \{1\} and \{2\}$",
    ):
        table(entries=entries, conflicts="forbid")
    table(entries=[(0x70, 0xFF, {2}), (0x70, 0xF0, {2})], conflicts="forbid")  # same ports


def test_table_wrong_shadowed_entry():
    with pytest.raises(
        RoutingError,
        match=r"^entry 2 \(key 0x10, mask 0xfc\) is shadowed by "
        r"earlier entries and can never match$",
    ):
        table(entries=[(0x10, 0xFE, {0}), (0x12, 0xFE, {1}), (0x10, 0xFC, {2})])


def test_table_wrong_uncovered_without_default():
    with pytest.raises(
        RoutingError,
        match=r"^routing table does not cover every key \(key "
        r"0x40 matches no entry\) and has no default",
    ):
        table(default=None)
    full = table(entries=[(0x00, 0x80, {0}), (0x80, 0x80, {1})], default=None)
    assert full.route(0xFF) == {1}


def test_table_wrong_too_big():
    entries = [(k, 0xFF, {0}) for k in range(10)]
    with pytest.raises(
        RoutingError,
        match=r"^routing table has 10 entries, more than the 8 "
        r"the table backend supports$",
    ):
        table(entries=entries, max_entries=8)


def test_table_wrong_conflicts_option():
    with pytest.raises(
        ValueError,
        match=r"^conflicts must be 'first_match' or 'forbid', "
        r"not 'last'$",
    ):
        table(conflicts="last")


def test_table_wrong_default_port():
    with pytest.raises(
        RoutingError,
        match=r"^default names port 7, but the router has ports "
        r"0 to 2$",
    ):
        table(default={7})


# -- model and scoreboard ----------------------------------------------------------------------


def spike(key, step=0, payload=0):
    return FMT.pack(PyEventKind.SPIKE, key, step, payload)


def barrier(step, payload=0):
    return FMT.pack(PyEventKind.BARRIER, 0, step, payload)


def test_model_destinations():
    model = RouterModel(table(), barrier_sources=[{0, 1}, {1}, set()])
    assert model.destinations(FMT.unpack(spike(0x15)), 0) == {1, 2}
    assert model.destinations(FMT.unpack(spike(0x99)), 2) is DROP
    assert model.destinations(FMT.unpack(barrier(3)), 1) == {0, 1}
    assert model.destinations(FMT.unpack(barrier(3)), 2) == frozenset()
    assert model.fan_out(FMT.unpack(spike(0x99)), 0) == 1


def test_scoreboard_accepts_interleaving_and_finds_faults():
    model = RouterModel(table())
    injected = [
        [spike(0x01, 0, 1), spike(0x15, 0, 2), barrier(0, 3)],
        [spike(0x02, 0, 4), barrier(0, 5), spike(0x99, 1, 6)],
        [barrier(0, 7)],
    ]
    good = [
        [spike(0x02, 0, 4), spike(0x01, 0, 1), barrier(0, 3)],
        [spike(0x15, 0, 2), barrier(0, 3)],
        [spike(0x15, 0, 2), barrier(0, 3)],
    ]
    drops = [(spike(0x99, 1, 6), 1, 1)]
    report = check_router_run(model, FMT, injected, good, drops, check_steps=True)
    assert report.errors == [] and report.conserved
    assert (report.injected, report.expected, report.delivered, report.dropped) == (4, 5, 4, 1)

    lost = [good[0], good[1], [barrier(0, 3)]]
    report = check_router_run(model, FMT, injected, lost, drops)
    assert any("barrier passed before it arrived from input(s) [0]" in e for e in report.errors)
    assert not report.conserved

    duplicated = [good[0] + [spike(0x01, 0, 1)], good[1], good[2]]
    errors = check_router_run(model, FMT, injected, duplicated, drops).errors
    assert any("not owed to this output (duplicate or misrouted)" in e for e in errors)

    reordered = [[spike(0x01, 0, 1), barrier(0, 3), spike(0x02, 0, 4)], good[1], good[2]]
    errors = check_router_run(model, FMT, injected, reordered, drops).errors
    assert any("barrier passed before it arrived from input(s) [1]" in e for e in errors)

    unreported = check_router_run(model, FMT, injected, good, []).errors
    assert any("input 1: 1 unmatched event(s) never reported" in e for e in unreported)


def test_scoreboard_checks_steps():
    model = RouterModel(table())
    injected = [
        [barrier(0), spike(0x01, 0, 1), barrier(1)],
        [barrier(0), barrier(1)],
        [barrier(0), barrier(1)],
    ]
    delivered = [
        [barrier(0), spike(0x01, 0, 1), barrier(1)],
        [barrier(0), barrier(1)],
        [barrier(0), barrier(1)],
    ]
    errors = check_router_run(model, FMT, injected, delivered, check_steps=True).errors
    assert any("step 0 between barriers of step 0 and 1" in e for e in errors)


# -- the Router component --------------------------------------------------------------------


def test_init():
    router = Router(table(), fmt=FMT, fifo_depth=3)
    Fragment.get(router, None)  # elaborates
    assert router.n_ports == 3 and router.drops
    assert router.signature.members["i"] == wiring.In(stream.Signature(event_layout(FMT))).array(3)
    assert router.signature.members["o"] == wiring.Out(stream.Signature(event_layout(FMT))).array(3)
    assert router.barrier_sources == (frozenset({0, 1, 2}),) * 3
    assert status_addresses(3) == {
        "in0": 0,
        "in1": 1,
        "in2": 2,
        "out0": 3,
        "out1": 4,
        "out2": 5,
        "unmatched": 6,
        "dropped": 7,
        "hwm0": 8,
        "hwm1": 9,
        "hwm2": 10,
    }


def test_init_wrong_fifo_depth():
    with pytest.raises(ValueError, match=r"^FIFO depth must be a positive integer, not 0$"):
        Router(table(), fmt=FMT, fifo_depth=0)


def test_init_wrong_table():
    with pytest.raises(TypeError, match=r"^table must be a RoutingTable, not \[\]$"):
        Router([], fmt=FMT)


def test_init_wrong_key_width():
    with pytest.raises(
        ValueError,
        match=r"^routing table key_width 8 does not match the event "
        r"format's key_width 16$",
    ):
        Router(table(), fmt=EventFormat())


def test_init_wrong_barrier_sources():
    with pytest.raises(
        RoutingError,
        match=r"^barrier_sources must name an input set for each "
        r"of the 3 outputs, not 2$",
    ):
        Router(table(), fmt=FMT, barrier_sources=[{0}, {1}])
    with pytest.raises(
        RoutingError,
        match=r"^barrier_sources\[1\] names input 5, but the "
        r"router has inputs 0 to 2$",
    ):
        Router(table(), fmt=FMT, barrier_sources=[{0}, {5}, {1}])


def test_init_wrong_input_stage():
    with pytest.raises(TypeError, match=r"^input_stage must be a bool, not 1$"):
        Router(table(), fmt=FMT, input_stage=1)


def test_init_wrong_counter_width():
    with pytest.raises(
        ValueError,
        match=r"^counter_width must be an integer between 1 and 64, "
        r"not 0$",
    ):
        Router(table(), fmt=FMT, counter_width=0)


def test_fifo_init_wrong_depth():
    with pytest.raises(ValueError, match=r"^FIFO depth must be a positive integer, not 0$"):
        RegisterFIFO(width=8, depth=0)


def test_sim_fifo_order_and_levels():
    """RegisterFIFO against a Python deque, random reads and writes (amaranth.sim)."""
    from collections import deque

    from amaranth.sim import Simulator

    for depth in (1, 2, 3):
        dut = RegisterFIFO(width=8, depth=depth)
        sim = Simulator(dut)
        sim.add_clock(1e-6)

        async def bench(ctx, depth=depth, dut=dut):
            rng, model = random.Random(depth), deque()
            for value in range(300):
                w_en, r_en = rng.random() < 0.6, rng.random() < 0.5
                ctx.set(dut.w_en, w_en)
                ctx.set(dut.w_data, value & 0xFF)
                ctx.set(dut.r_en, r_en)
                assert ctx.get(dut.level) == len(model)
                assert ctx.get(dut.w_rdy) == (len(model) < depth)
                assert ctx.get(dut.r_rdy) == bool(model)
                if model:
                    assert ctx.get(dut.r_data) == model[0]
                read = r_en and model
                write = w_en and len(model) < depth
                await ctx.tick()
                if read:
                    model.popleft()
                if write:
                    model.append(value & 0xFF)

        sim.add_testbench(bench)
        sim.run()


def test_model_status_counters_and_blocked_high_water():
    table = RoutingTable(
        [(0x00, 0xF0, {0}), (0x10, 0xF0, {1}), (0x20, 0xF0, {0, 1})],
        n_ports=2,
        key_width=8,
        default=DROP,
    )
    model = RouterModel(table)
    spike = PyEventKind.SPIKE
    injected = [
        [FMT.pack(spike, 0x01, 0, 1), FMT.pack(spike, 0x02, 0, 2), FMT.pack(spike, 0x90, 0, 3)],
        [FMT.pack(spike, 0x11, 0, 4)],
    ]
    delivered = [[injected[0][0], injected[0][1]], [injected[1][0]]]
    counters = model.status_counters(FMT, injected, delivered, 1, counter_width=1)
    assert counters == {"in0": 1, "in1": 1, "out0": 0, "out1": 1, "unmatched": 1, "dropped": 1}
    # Input 0: two events queued for output 0 (one in its register) and one for the drops.
    high_water = model.blocked_high_water(FMT, injected, fifo_depth=2)
    assert high_water == {"hwm0": 1, "hwm1": 1}
    assert model.blocked_high_water(FMT, [injected[0] * 3, []], fifo_depth=2) == {
        "hwm0": 2,
        "hwm1": 0,
    }
    with pytest.raises(
        ValueError, match=r"^blocked_high_water: inputs 0 and 1 both send to output 0$"
    ):
        model.blocked_high_water(FMT, [injected[0], [FMT.pack(spike, 0x03, 0, 5)]], fifo_depth=2)
    with pytest.raises(
        ValueError, match=r"^blocked_high_water: barriers are merged across inputs$"
    ):
        model.blocked_high_water(FMT, [[FMT.pack(PyEventKind.BARRIER, 0, 0)], []], fifo_depth=2)
