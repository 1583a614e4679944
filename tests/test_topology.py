"""Topology compilers (star, X-then-Y mesh), their refusals, and networks in simulation."""

import random

import pytest
from amaranth.hdl import Fragment

from neurohw.hw.topology import MeshNetwork, StarNetwork
from neurohw.routing import (
    DROP,
    EAST,
    LOCAL,
    NORTH,
    SOUTH,
    WEST,
    EventFormat,
    MeshTopology,
    NetworkModel,
    RoutingError,
    StarTopology,
    compile_mesh,
    compile_star,
)
from neurohw.sim.runner import run_cocotb

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

FMT = EventFormat(key_width=8, step_width=4, payload_width=16)
VERILATOR_ARGS = ("--output-split", "0", "-CFLAGS", "-O0")  # see tests/test_router_sim.py


def random_connectivity(n_cores, keys_per_core, seed, *, fan_out=(0, 3)):
    rng = random.Random(seed)
    return {
        core * keys_per_core + k: set(rng.sample(range(n_cores), rng.randint(*fan_out)))
        for core in range(n_cores)
        for k in range(keys_per_core)
    }


def follow(plan, topology, key):
    """Walk the compiled mesh tables from the key's owner; return the cores reached."""
    reached, frontier = set(), [(topology.cores[topology.owner(key)], LOCAL)]
    position = {tuple(p): c for c, p in enumerate(topology.cores)}
    steps = {NORTH: (0, 1), EAST: (1, 0), SOUTH: (0, -1), WEST: (-1, 0)}
    hops = 0
    while frontier:
        (x, y), _ = frontier.pop()
        ports = plan.routers[topology.router_index(x, y)].table.route(key)
        assert ports is not DROP, f"key {key:#x} dropped at ({x}, {y})"
        for port in ports:
            if port == LOCAL:
                reached.add(position[(x, y)])
            else:
                dx, dy = steps[port]
                frontier.append(((x + dx, y + dy), port))
        hops += 1
        assert hops < 1000
    return reached


# -- compilers -------------------------------------------------------------------------------


def test_star_routes_every_key_to_its_targets():
    topology = StarTopology(n_cores=4, keys_per_core=16, key_width=8)
    conn = random_connectivity(4, 16, seed=1)
    plan = compile_star(topology, conn)
    table = plan.routers[0].table
    for key, targets in conn.items():
        assert table.route(key) == (frozenset(targets) if targets else DROP)
    assert len(table) < len(conn)  # ranges were merged into key/mask blocks


def test_mesh_routes_follow_x_then_y_and_reach_targets():
    cores = [(x, y) for y in range(3) for x in range(3)]
    topology = MeshTopology(width=3, height=3, cores=cores, keys_per_core=8, key_width=8)
    conn = random_connectivity(9, 8, seed=2, fan_out=(1, 4))
    plan = compile_mesh(topology, conn)
    for key, targets in conn.items():
        assert follow(plan, topology, key) == targets
    # X first: from (0, 0) to (2, 2) leaves east, and turns north only at x = 2.
    key = 0  # core 0 at (0, 0)
    plan = compile_mesh(topology, {key: {8}})
    assert plan.routers[0].table.route(key) == {EAST}
    assert plan.routers[1].table.route(key) == {EAST}
    assert plan.routers[2].table.route(key) == {NORTH}
    assert plan.routers[8].table.route(key) == {LOCAL}


def test_mesh_barrier_sources_follow_traffic():
    topology = MeshTopology(width=2, height=1, cores=[(0, 0), (1, 0)], keys_per_core=4, key_width=8)
    plan = compile_mesh(topology, {0: {1}})  # core 0 -> core 1 only
    left, right = plan.routers
    assert left.barrier_sources[EAST] == {LOCAL}
    assert left.barrier_sources[LOCAL] == {LOCAL}  # nobody sends to core 0: its own barrier
    assert right.barrier_sources[LOCAL] == {WEST}
    assert plan.barrier_sources == ({0}, {0})
    model = NetworkModel(plan)
    assert model.barrier_targets == ({0, 1}, frozenset())


def test_mesh_wrong_core_outside():
    with pytest.raises(
        RoutingError,
        match=r"^core 1 at \(2, 0\) is outside the 2 x 2 mesh: "
        r"unreachable$",
    ):
        compile_mesh(MeshTopology(2, 2, [(0, 0), (2, 0)], keys_per_core=4, key_width=8), {})


def test_mesh_wrong_unknown_target():
    with pytest.raises(
        RoutingError,
        match=r"^key 0x1 targets core 5, which is not in the "
        r"network \(cores 0 to 1\): unreachable$",
    ):
        compile_mesh(MeshTopology(2, 1, [(0, 0), (1, 0)], keys_per_core=4, key_width=8), {1: {5}})


def test_mesh_wrong_shared_tile():
    with pytest.raises(
        RoutingError,
        match=r"^cores 0 and 1 are both at \(0, 0\); a router has "
        r"one local port$",
    ):
        compile_mesh(MeshTopology(2, 1, [(0, 0), (0, 0)], keys_per_core=4, key_width=8), {})


def test_mesh_wrong_key_without_owner():
    with pytest.raises(RoutingError, match=r"^source key 0x10 belongs to no core$"):
        compile_mesh(
            MeshTopology(2, 1, [(0, 0), (1, 0)], keys_per_core=4, key_width=8), {0x10: {1}}
        )


def test_star_wrong_table_too_big():
    topology = StarTopology(n_cores=4, keys_per_core=16, key_width=8)
    conn = random_connectivity(4, 16, seed=3)
    with pytest.raises(
        RoutingError,
        match=r"^the star router needs \d+ table entries, more "
        r"than the 4 the table backend supports$",
    ):
        compile_star(topology, conn, max_entries=4)


def test_star_wrong_keys_do_not_fit():
    with pytest.raises(RoutingError, match=r"^4 cores of 100 keys do not fit in 8-bit keys$"):
        compile_star(StarTopology(n_cores=4, keys_per_core=100, key_width=8), {})


def test_network_init():
    topology = MeshTopology(2, 2, [(0, 0), (1, 1)], keys_per_core=4, key_width=8)
    network = MeshNetwork(topology, {0: {1}, 4: {0, 1}}, fmt=FMT)
    Fragment.get(network, None)
    assert len(network.i) == 2 and len(network.dropped) == 4
    star = StarNetwork(StarTopology(3, 4, key_width=8), {0: {1, 2}}, fmt=FMT)
    Fragment.get(star, None)
    with pytest.raises(ValueError, match=r"^FIFO depth must be a positive integer, not 0$"):
        StarNetwork(StarTopology(3, 4, key_width=8), {}, fmt=FMT, fifo_depth=0)


# -- simulation ------------------------------------------------------------------------------


def network_test_data(network, *, seed, events, steps):
    plan = network.plan
    t = network.topology
    n = plan.n_cores
    if isinstance(network, MeshNetwork):
        position = {tuple(p): c for c, p in enumerate(t.cores)}
        router_cores = [
            position.get((r % t.width, r // t.width), -1) for r in range(t.width * t.height)
        ]
    else:
        router_cores = [-1]  # a star's drop report names the input port, which is the core
    return {
        "format": network.fmt.as_dict(),
        "plan": {
            "deliveries": {str(k): sorted(v) for k, v in plan.deliveries.items()},
            "barrier_sources": [sorted(s) for s in plan.barrier_sources],
            "n_cores": n,
        },
        "core_keys": {
            str(c): [k for k in plan.deliveries if t.owner(k) == c] or [c * t.keys_per_core]
            for c in range(n)
        },
        "router_cores": router_cores,
        "seed": seed,
        "events": events,
        "steps": steps,
    }


def run_network(network, simulator, build_dir, data):
    run_cocotb(
        network,
        toplevel="network",
        test_module="bench_network",
        simulator=simulator,
        build_dir=build_dir,
        test_data=data,
        build_args=VERILATOR_ARGS if simulator == "verilator" else (),
    )


@pytest.mark.sim
def test_sim_mesh_2x2(simulator, sim_build_dir):
    cores = [(0, 0), (1, 0), (0, 1), (1, 1)]
    topology = MeshTopology(2, 2, cores, keys_per_core=16, key_width=8)
    conn = random_connectivity(4, 16, seed=4, fan_out=(1, 3))
    network = MeshNetwork(topology, conn, fmt=FMT)
    run_network(
        network, simulator, sim_build_dir, network_test_data(network, seed=4, events=120, steps=6)
    )


@pytest.mark.sim
@pytest.mark.slow
def test_sim_mesh_3x3(simulator, sim_build_dir):
    cores = [(x, y) for y in range(3) for x in range(3) if (x, y) != (1, 1)]  # centre: no core
    topology = MeshTopology(3, 3, cores, keys_per_core=16, key_width=8)
    conn = random_connectivity(len(cores), 16, seed=5, fan_out=(0, 4))
    network = MeshNetwork(topology, conn, fmt=FMT)
    run_network(
        network, simulator, sim_build_dir, network_test_data(network, seed=5, events=300, steps=10)
    )


@pytest.mark.sim
@pytest.mark.slow
def test_sim_star_4(simulator, sim_build_dir):
    topology = StarTopology(n_cores=4, keys_per_core=16, key_width=8)
    network = StarNetwork(topology, random_connectivity(4, 16, seed=6), fmt=FMT)
    run_network(
        network, simulator, sim_build_dir, network_test_data(network, seed=6, events=200, steps=8)
    )
