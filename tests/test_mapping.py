"""Mapping a network onto cores: partition, axon blocks, keys, connectivity, topology, refusals."""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurohw.model import Decay, NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection, mapping
from neurohw.network.mapping import CoreCapacity, MappingError, map_network, weight_memory_bits
from neurohw.routing import MeshTopology, RoutingError, StarTopology
from tests.network_strategies import mapping_options, networks

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def one_layer(n_in=50, n=10, weights=None, params=None, max_count=1):
    weights = np.ones((n_in, n), dtype=int) if weights is None else weights
    return Network(
        inputs=[InputGroup("x", n_in, max_count)],
        populations=[Population("h", n, params or NeuronParams())],
        projections=[Projection("x", "h", weights)],
        outputs=["h"],
    )


def refused(message, network, **options):
    with pytest.raises(MappingError, match=re.escape(message)):
        map_network(network, **options)


# -- invariants every plan must satisfy, checked from the network alone ----------------------


def check_plan(plan, capacity=CoreCapacity()):
    network = plan.network
    K = plan.keys_per_endpoint
    assert K & (K - 1) == 0
    lines = sum(g.size for g in network.inputs.values())
    assert K > max(c.n_neurons for c in plan.cores) and K > lines
    # Partition: each population is consecutive ranges, in order, one population per core.
    for name, population in network.populations.items():
        cores = plan.cores_of(name)
        starts = [c.neuron_start for c in cores]
        assert starts[0] == 0 and cores[-1].neuron_stop == population.size
        assert all(a.neuron_stop == b.neuron_start for a, b in zip(cores, cores[1:]))
        for core in cores:
            assert 1 <= core.n_neurons <= capacity.max_neurons
            values = population.params.per_neuron_values()
            assert core.params.per_neuron_values().keys() == values.keys()
            for label, array in values.items():
                np.testing.assert_array_equal(
                    core.params.per_neuron_values()[label],
                    array[core.neuron_start : core.neuron_stop],
                )
    assert [c.index for c in plan.cores] == list(range(plan.n_cores))
    # Input offsets: consecutive host keys in network order.
    offset = 0
    for name, group in network.inputs.items():
        assert plan.input_offsets[name] == offset
        offset += group.size

    expected_targets = {}
    for core in plan.cores:
        population = network.populations[core.population]
        assert core.n_axons <= capacity.max_axons or not core.axon_blocks
        bits = weight_memory_bits(
            core.connectivity,
            channels=population.params.input_channels,
            n_axons=core.n_axons,
            n_neurons=core.n_neurons,
            n_synapses=int(np.count_nonzero(np.any(core.weights, axis=0))),
            weight_width=population.weight_width,
            lanes=core.lanes,
        )
        assert bits <= capacity.max_weight_bits
        # Blocks tile the axons in order; keys are the senders' keys.
        axon = 0
        for block in core.axon_blocks:
            assert block.axon_start == axon
            axon += block.count
            for offset in range(block.count):
                assert plan.source_of_key(block.key_start + offset) == (
                    block.source,
                    block.source_start + offset,
                )
            # One block per source core: a block never spans two source cores.
            assert (block.key_start // K) == ((block.key_start + block.count - 1) // K)
        assert axon == core.n_axons or (axon == 0 and core.n_axons == 1)
        # Weights: every projection's weights onto this core are found at its axons, and
        # nothing else is there.
        rebuilt = np.zeros_like(core.weights)
        events = 0
        for projection in network.projections_to(core.population):
            part = projection.weights[:, core.neuron_start : core.neuron_stop]
            used = np.flatnonzero(
                np.any(
                    np.stack(
                        [
                            p.weights[:, core.neuron_start : core.neuron_stop] != 0
                            for p in network.projections
                            if (p.source, p.target) == (projection.source, core.population)
                        ]
                    ),
                    axis=(0, 2),
                )
            )
            for source_neuron in used:
                blocks = [
                    b
                    for b in core.axon_blocks
                    if b.source == projection.source
                    and b.source_start <= source_neuron < b.source_start + b.count
                ]
                assert len(blocks) == 1
                a = blocks[0].axon_start + source_neuron - blocks[0].source_start
                rebuilt[projection.channel, a] = part[source_neuron]
        np.testing.assert_array_equal(rebuilt, core.weights)
        # Blocks are the needed range: first and last source neuron of each have a synapse here.
        for block in core.axon_blocks:
            rows = np.any(
                core.weights[:, block.axon_start : block.axon_start + block.count] != 0, axis=(0, 2)
            )
            assert rows[0] and rows[-1]
            cap = population.params.input_count_cap
            per = network.max_count(block.source)
            events += block.count * (min(per, cap) if cap else per)
        assert core.max_events_per_step == max(1, events)
        # Connectivity expected from the weights.
        for block in core.axon_blocks:
            rows = np.any(
                core.weights[:, block.axon_start : block.axon_start + block.count] != 0, axis=(0, 2)
            )
            for offset in np.flatnonzero(rows):
                expected_targets.setdefault(block.key_start + int(offset), set()).add(core.index)
        if core.population in network.outputs:
            for j in range(core.n_neurons):
                expected_targets.setdefault(plan.neuron_key(core.index, j), set()).add(plan.host)
    for c in range(plan.n_cores):
        expected_targets[plan.tick_key(c)] = {plan.host}
    expected_targets[plan.tick_key(plan.host)] = set(range(plan.n_cores))
    assert {k: set(v) for k, v in plan.connectivity.items()} == expected_targets
    assert {k: set(v) for k, v in plan.routing.deliveries.items()} == expected_targets

    # Event format and topology.
    assert plan.fmt.key_width >= ((plan.n_cores + 1) * K - 1).bit_length()
    senders = {b.source for c in plan.cores for b in c.axon_blocks} | set(network.outputs)
    largest = max(network.max_count(s) for s in senders)
    assert plan.fmt.payload_width == (0 if largest == 1 else largest.bit_length())
    if isinstance(plan.topology, StarTopology):
        assert plan.topology.n_cores == plan.n_cores + 1 <= 32
    else:
        assert plan.topology.cores[plan.host] == (0, 0)
        assert len(set(plan.topology.cores)) == plan.n_cores + 1


@PROPERTY
@given(st.data())
def test_random_plans_keep_every_invariant(data):
    network = data.draw(networks())
    options = data.draw(mapping_options(network))
    try:
        plan = map_network(network, **options)
    except MappingError as error:
        # Refused only when one neuron alone needs more axons than a core has.
        assert "alone on a core needs" in str(error) and "max_axons=" in str(error)
        assume(False)
    check_plan(plan, options["capacity"])
    assert plan.fmt.step_width == options["step_width"]
    if options["topology"] != "auto":
        kind = StarTopology if options["topology"] == "star" else MeshTopology
        assert isinstance(plan.topology, kind)


# -- partition ---------------------------------------------------------------------------------


def test_capacity_defaults_and_hardware_limits():
    from neurohw.hw import core

    assert (mapping.CORE_MAX_NEURONS, mapping.CORE_MAX_AXONS, mapping.CORE_MAX_LANES) == (
        core.MAX_NEURONS,
        core.MAX_AXONS,
        core.MAX_LANES,
    )
    default = CoreCapacity()
    assert (
        default.max_neurons,
        default.max_axons,
        default.max_weight_bits,
        default.max_synapses,
    ) == (256, 1024, 1 << 21, None)
    # The default weight memory holds a full 256 x 1024 core of 8-bit weights, one channel.
    assert (
        weight_memory_bits(
            "dense", channels=1, n_axons=1024, n_neurons=256, n_synapses=0, weight_width=8
        )
        == default.max_weight_bits
    )


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_neurons", 5000, "capacity max_neurons must be between 1 and 4096, not 5000"),
        ("max_neurons", 0, "capacity max_neurons must be between 1 and 4096, not 0"),
        ("max_axons", 0, "capacity max_axons must be between 1 and 65536, not 0"),
        ("max_axons", 65537, "capacity max_axons must be between 1 and 65536, not 65537"),
        ("max_weight_bits", 1.5, "capacity max_weight_bits must be an integer, not 1.5"),
        ("max_synapses", 0, "capacity max_synapses must be at least 1, not 0"),
        ("max_neurons", True, "capacity max_neurons must be an integer, not True"),
    ],
)
def test_capacity_refusals(field, value, message):
    with pytest.raises(MappingError, match=re.escape(message)):
        CoreCapacity(**{field: value})


def test_population_split_into_near_equal_ranges():
    plan = map_network(one_layer(n_in=4, n=600))
    assert [(c.neuron_start, c.n_neurons) for c in plan.cores] == [(0, 200), (200, 200), (400, 200)]
    check_plan(plan)


def test_weight_memory_splits_a_population():
    # 2 channels of 16-bit weights: a 256-neuron core of 1024 axons needs 8 Mbit; the default
    # 2 Mbit capacity takes at most 64 neurons per core.
    rng = np.random.default_rng(0)
    params = NeuronParams(n_currents=2, i_decay=Decay.none())
    w = [rng.integers(1, 1000, (1024, 256)) for _ in range(2)]
    network = Network(
        inputs=[InputGroup("x", 1024)],
        populations=[Population("h", 256, params, weight_width=16)],
        projections=[Projection("x", "h", w[0], 0), Projection("x", "h", w[1], 1)],
        outputs=["h"],
    )
    plan = map_network(network, connectivity="dense")
    assert plan.n_cores == 4
    assert all(c.connectivity == "dense" for c in plan.cores)
    three = weight_memory_bits(
        "dense", channels=2, n_axons=1024, n_neurons=-(-256 // 3), n_synapses=0, weight_width=16
    )
    assert three > CoreCapacity().max_weight_bits
    check_plan(plan)


def test_local_connectivity_splits_by_axons():
    # Each neuron sees a window of 10 consecutive inputs: smaller cores need fewer axons.
    n = 64
    weights = np.zeros((n + 9, n), dtype=int)
    for k in range(n):
        weights[k : k + 10, k] = 1 + k % 3
    capacity = CoreCapacity(max_axons=20)
    plan = map_network(one_layer(n_in=n + 9, n=n, weights=weights), capacity=capacity)
    assert plan.n_cores > 1
    for core in plan.cores:
        (block,) = core.axon_blocks
        assert (block.source_start, block.count) == (core.neuron_start, core.n_neurons + 9)
    # One core fewer would not fit: its largest range needs more axons than the capacity.
    fewer = plan.n_cores - 1
    largest = max((k + 1) * n // fewer - k * n // fewer for k in range(fewer))
    assert largest + 9 > capacity.max_axons
    check_plan(plan, capacity)


def test_split_sources_give_one_block_per_source_core():
    rng = np.random.default_rng(2)
    network = Network(
        inputs=[InputGroup("x", 5)],
        populations=[Population("a", 9, NeuronParams()), Population("b", 4, NeuronParams())],
        projections=[
            Projection("x", "a", rng.integers(1, 5, (5, 9))),
            Projection("a", "b", rng.integers(1, 5, (9, 4))),
            Projection("b", "b", rng.integers(1, 5, (4, 4))),
        ],
        outputs=["b"],
    )
    plan = map_network(network, capacity=CoreCapacity(max_neurons=3))
    b_cores = plan.cores_of("b")
    assert len(plan.cores_of("a")) == 3 and len(b_cores) == 2
    for core in b_cores:
        # Input groups first, then source populations' cores in core order.
        assert [
            (blk.source, blk.key_start // plan.keys_per_endpoint) for blk in core.axon_blocks
        ] == [("a", 0), ("a", 1), ("a", 2), ("b", b_cores[0].index), ("b", b_cores[1].index)]
    check_plan(plan, CoreCapacity(max_neurons=3))


def test_core_without_inputs_gets_one_unused_axon():
    network = Network(
        inputs=[],
        populations=[Population("a", 3, NeuronParams(bias_mantissa=5))],
        projections=[],
        outputs=["a"],
    )
    plan = map_network(network)
    (core,) = plan.cores
    assert core.axon_blocks == () and core.n_axons == 1 and not core.weights.any()
    assert core.max_events_per_step == 1 and core.connectivity == "dense"
    assert plan.input_offsets == {}
    assert plan.keys_per_endpoint == 4


def test_max_events_per_step_uses_counts_and_cap():
    params = NeuronParams(input_count_cap=2)
    plan = map_network(one_layer(n_in=6, n=2, params=params, max_count=3))
    assert plan.cores[0].max_events_per_step == 6 * 2
    plan = map_network(one_layer(n_in=6, n=2, max_count=3))
    assert plan.cores[0].max_events_per_step == 6 * 3
    assert plan.fmt.payload_width == 2


def test_payload_ignores_sources_that_send_nothing():
    network = Network(
        inputs=[InputGroup("x", 3, max_count=7), InputGroup("y", 2)],
        populations=[Population("h", 2, NeuronParams())],
        projections=[
            Projection("x", "h", np.zeros((3, 2), dtype=int)),
            Projection("y", "h", np.ones((2, 2), dtype=int)),
        ],
        outputs=["h"],
    )
    plan = map_network(network)
    assert plan.fmt.payload_width == 0
    assert [b.source for b in plan.cores[0].axon_blocks] == ["y"]
    assert plan.input_key("x", 0) not in plan.connectivity


def test_connectivity_routes_only_non_zero_weights_and_ticks():
    weights = np.array([[1, 0, 0, 0], [0, 0, 0, 2], [0, 0, 0, 0]])
    plan = map_network(
        one_layer(n_in=3, n=4, weights=weights), capacity=CoreCapacity(max_neurons=2)
    )
    host = plan.host
    assert plan.connectivity[plan.input_key("x", 0)] == {0}
    assert plan.connectivity[plan.input_key("x", 1)] == {1}
    assert plan.input_key("x", 2) not in plan.connectivity
    assert plan.connectivity[plan.tick_key(host)] == {0, 1}
    assert plan.connectivity[plan.tick_key(0)] == {host}
    assert plan.connectivity[plan.neuron_key(1, 1)] == {host}
    # Per-neuron parameters are sliced with the neurons.
    params = NeuronParams(threshold=np.array([5, 6, 7, 8]))
    plan = map_network(one_layer(n_in=3, n=4, params=params), capacity=CoreCapacity(max_neurons=2))
    assert [list(c.params.threshold) for c in plan.cores] == [[5, 6], [7, 8]]


# -- topology and format ----------------------------------------------------------------------


def test_star_up_to_32_endpoints_then_mesh():
    plan = map_network(one_layer(n_in=2, n=31), capacity=CoreCapacity(max_neurons=1))
    assert isinstance(plan.topology, StarTopology) and plan.topology.n_cores == 32
    plan = map_network(one_layer(n_in=2, n=32), capacity=CoreCapacity(max_neurons=1))
    assert isinstance(plan.topology, MeshTopology)
    assert (plan.topology.width, plan.topology.height) == (6, 6)
    assert plan.topology.cores[plan.host] == (0, 0)
    assert plan.topology.cores[0] == (1, 0)
    check_plan(plan, CoreCapacity(max_neurons=1))
    plan = map_network(
        one_layer(n_in=2, n=3), capacity=CoreCapacity(max_neurons=1), topology="mesh"
    )
    assert (plan.topology.width, plan.topology.height) == (2, 2)
    assert len(plan.routing.routers) == 4


def test_key_width_and_step_width():
    plan = map_network(one_layer(n_in=50, n=10), step_width=5)
    assert plan.keys_per_endpoint == 64 and plan.fmt.key_width == 7
    assert plan.fmt.step_width == 5
    plan = map_network(one_layer(n_in=50, n=10), key_width=12)
    assert plan.fmt.key_width == 12
    # Exactly K - 1 lines still leave room for the tick key.
    assert map_network(one_layer(n_in=63, n=1)).keys_per_endpoint == 64
    assert map_network(one_layer(n_in=64, n=1)).keys_per_endpoint == 128


# -- refusals ----------------------------------------------------------------------------------


def test_refusals_of_options():
    network = one_layer()
    refused(
        "lanes must be a power of two between 1 and 64 (the neuron core banks neurons by "
        "address bits), not 3",
        network,
        lanes=3,
    )
    refused("lanes must be between 1 and 64, not 0", network, lanes=0)
    refused("lanes must be between 1 and 64, not 128", network, lanes=128)
    refused(
        "connectivity must be 'auto', 'dense' or 'sparse', not 'csr'", network, connectivity="csr"
    )
    refused(
        "connectivity='sparse' needs lanes=1 (a sparse core issues one synapse per clock), "
        "not lanes=2; use connectivity='dense' or 'auto' with lanes=2",
        network,
        connectivity="sparse",
        lanes=2,
    )
    refused("topology must be 'auto', 'star' or 'mesh', not 'ring'", network, topology="ring")
    refused("step_width must be between 1 and 32, not 0", network, step_width=0)
    refused("key_width must be between 1 and 32, not 33", network, key_width=33)
    refused("max_cores must be at least 1, not 0", network, max_cores=0)
    with pytest.raises(TypeError, match=re.escape("network must be a Network, not None")):
        map_network(None)
    with pytest.raises(TypeError, match=re.escape("capacity must be a CoreCapacity, not 5")):
        map_network(network, capacity=5)


def test_refusal_axons_even_with_one_neuron():
    weights = np.ones((50, 10), dtype=int)
    weights[:5, 3] = 0
    refused(
        "population 'h' cannot be mapped: its neuron 0 alone on a core needs 50 axons "
        "(input 'x' lines 0-49: 50), more than capacity max_axons=20; a capacity with "
        "max_axons>=50 would fit it (or fewer, more local synapses onto it)",
        one_layer(weights=weights),
        capacity=CoreCapacity(max_axons=20),
    )
    # Two sources, named with their ranges.
    network = Network(
        inputs=[InputGroup("x", 30)],
        populations=[Population("a", 4, NeuronParams()), Population("b", 2, NeuronParams())],
        projections=[
            Projection("x", "a", np.ones((30, 4), dtype=int)),
            Projection("x", "b", np.ones((30, 2), dtype=int)),
            Projection("a", "b", np.ones((4, 2), dtype=int)),
        ],
        outputs=["b"],
    )
    refused(
        "population 'b' cannot be mapped: its neuron 0 alone on a core needs 34 axons "
        "(input 'x' lines 0-29: 30; population 'a' neurons 0-1: 2; population 'a' neurons "
        "2-3: 2), more than capacity max_axons=31",
        network,
        capacity=CoreCapacity(max_neurons=2, max_axons=31),
    )


def test_refusal_weight_memory_and_synapses():
    refused(
        "population 'h' cannot be mapped: its neuron 0 alone on a core needs 400 bits of "
        "dense weight memory (50 axons: input 'x' lines 0-49: 50), more than capacity "
        "max_weight_bits=100; a capacity with max_weight_bits>=400 would fit it",
        one_layer(),
        capacity=CoreCapacity(max_weight_bits=100),
    )
    refused(
        "population 'h' cannot be mapped: its neuron 0 alone on a core needs 50 synapses "
        "(input 'x' lines 0-49: 50), more than capacity max_synapses=30; a capacity with "
        "max_synapses>=50 would fit it",
        one_layer(),
        capacity=CoreCapacity(max_synapses=30),
    )
    # Within the limits, the synapse budget splits the population instead.
    plan = map_network(one_layer(), capacity=CoreCapacity(max_synapses=200))
    assert [c.n_neurons for c in plan.cores] == [3, 3, 4]


def test_refusal_too_many_cores():
    refused(
        "the network needs 3 cores ('h': 3 (600 neurons)) with capacity max_neurons=256, "
        "max_axons=1024, max_weight_bits=2097152, more than max_cores=2; max_cores>=3 would "
        "fit it; by neuron count alone, a capacity with max_neurons>=300 would need only 2 "
        "cores",
        one_layer(n_in=4, n=600),
        max_cores=2,
    )
    network = Network(
        inputs=[],
        populations=[Population("a", 1, NeuronParams()), Population("b", 1, NeuronParams())],
        projections=[],
        outputs=["a"],
    )
    refused(
        "more than max_cores=1; max_cores>=2 would fit it; a core holds one population, so "
        "no capacity fits these 2 populations in fewer than 2 cores",
        network,
        max_cores=1,
    )


def test_refusal_key_width_and_endpoints(monkeypatch):
    refused(
        "key_width=5 is too small: 1 cores and the host are 2 endpoints of "
        "keys_per_endpoint=64 keys, which need key_width>=7",
        one_layer(),
        key_width=5,
    )
    monkeypatch.setattr(mapping, "MAX_KEY_WIDTH", 8)
    refused(
        "10 cores and the host need 11 endpoints of keys_per_endpoint=64 keys, 10-bit keys; "
        "an event key has at most 8 bits, so at most 4 endpoints fit",
        one_layer(n=40),
        capacity=CoreCapacity(max_neurons=4),
    )


def test_refusal_topology_size(monkeypatch):
    refused(
        "topology='star' has one router port per endpoint, at most 32; this network needs "
        "41 (40 cores and the host): use topology='mesh' or 'auto', or a capacity that needs "
        "at most 31 cores",
        one_layer(n=40),
        capacity=CoreCapacity(max_neurons=1),
        topology="star",
    )
    monkeypatch.setattr(mapping, "MESH_MAX_SIDE", 3)
    refused(
        "11 endpoints need a 4 x 3 mesh; a mesh side has at most 3 routers, so at most 8 cores fit",
        one_layer(n=40),
        capacity=CoreCapacity(max_neurons=4),
        topology="mesh",
    )


def test_refusal_routing_table_too_large():
    with pytest.raises(
        MappingError,
        match=re.escape(
            "routing 4 cores and the host over a star of 5 endpoints failed: the star router "
            "needs 12 table entries, more than the 2 the table backend supports "
            "(max_table_entries=2); topology='mesh' spreads the entries over several routers, "
            "or a capacity that needs fewer cores, would reduce it"
        ),
    ) as info:
        map_network(one_layer(n=4), capacity=CoreCapacity(max_neurons=1), max_table_entries=2)
    assert isinstance(info.value.__cause__, RoutingError)
    refused(
        "routing 40 cores and the host over a 7 x 6 mesh failed: router (0, 0) needs 84 "
        "table entries, more than the 2 the table backend supports (max_table_entries=2); "
        "a larger max_table_entries, or a capacity that needs fewer cores, would reduce it",
        one_layer(n=40),
        capacity=CoreCapacity(max_neurons=1),
        max_table_entries=2,
    )


def test_refusal_per_event_after_decay():
    # 'per_event' maps (tests/test_per_event_network.py), but not with after_decay input,
    # which the core does not implement.
    params = NeuronParams(
        n_currents=1, i_decay=Decay.none(), accumulation="per_event", input_timing="after_decay"
    )
    refused(
        "population 'h' uses accumulation 'per_event' with input_timing 'after_decay'; a core "
        "adds events into the current before its sweep decays it: use input_timing "
        "'before_decay' (Xylo's)",
        one_layer(params=params),
    )


def test_large_population_costs_per_core_not_per_neuron(monkeypatch):
    """A 20,000-neuron population (79 cores) is partitioned with one capacity check per core
    and routed with one path per (source core, target), not one per neuron or key: 10^6
    neurons then map (or are refused) in seconds."""
    from neurohw import routing

    size = 20_000
    network = Network(
        inputs=[InputGroup("x", 16)],
        populations=[Population("o", size, NeuronParams(threshold=10))],
        projections=[Projection("x", "o", np.ones((16, size), dtype=int))],
        outputs=["o"],
    )
    needs, paths = [], []
    need, xy_path = mapping._Mapper.need, routing._xy_path

    def counted_need(self, *args):
        needs.append(args)
        return need(self, *args)

    def counted_path(*args):
        paths.append(args)
        return xy_path(*args)

    monkeypatch.setattr(mapping._Mapper, "need", counted_need)
    monkeypatch.setattr(routing, "_xy_path", counted_path)
    plan = map_network(network, max_table_entries=1024)
    assert plan.n_cores == 79
    # The partition checks its split once, then once more to see nothing changed (it was one
    # check per neuron, 20,000, before).
    assert len(needs) == 2 * plan.n_cores
    # Each core's keys go to the host; the host's input lines to every core.
    assert len(paths) == 2 * plan.n_cores
