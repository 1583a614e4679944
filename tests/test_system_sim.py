"""The whole chip in RTL (``neurohw.hw.system.SystemTop``) against the network's reference model:
random multi-core networks (an input group, a recurrent population split over several cores, an
output population), star and mesh topologies, several samples back to back, run through
``sim/bench_system.py`` on every simulator; every output spike of every window is compared with
``neurohw.network.system.simulate``.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from neurohw.flows.system import verify_system
from neurohw.hw.system import core_config
from neurohw.network import simulate
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.network.plan_model import simulate_plan
from neurohw.network.timing import pad_inputs
from neurohw.sim.system_case import (
    expected_eos_dropped,
    expected_windows,
    random_graded_network,
    random_inputs,
    random_learning_network,
    random_network,
    random_same_step_network,
    random_xylo_network,
)

TRAFFIC = {
    "idle_probability": 0.2,
    "backpressure_probability": 0.3,
    "stall_probability": 0.02,
    "stall_cycles": 15,
}


def _plan(seed, topology, *, max_neurons=4, lanes=1, connectivity="auto"):
    network = random_network(seed)
    plan = map_network(
        network,
        capacity=CoreCapacity(max_neurons=max_neurons, max_axons=64),
        topology=topology,
        lanes=lanes,
        connectivity=connectivity,
    )
    assert plan.n_cores >= 3, "the case must split a population over several cores"
    return network, plan


def _run(plan, network, seed, simulator, build_dir, *, steps, samples, traffic=TRAFFIC):
    inputs = random_inputs(network, seed, steps=steps, samples=samples)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=build_dir, traffic=traffic, seed=seed
    )
    assert result.windows_compared == steps * samples
    return result


# ---------------------------------------------------------------------------------------------
# Without a simulator: the bench's expectations (from simulate) agree with the plan-level model.


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("topology", ["star", "mesh"])
def test_expectations_agree_with_plan_model(seed, topology):
    network, plan = _plan(seed, topology)
    inputs = random_inputs(network, seed, steps=5, samples=3)
    spikes = simulate(network, inputs).spikes
    trace = simulate_plan(plan, inputs)
    assert expected_windows(plan, spikes) == [sorted(map(list, w)) for w in trace.host_output]
    assert expected_eos_dropped(plan, spikes) == list(trace.core_events_dropped.sum(axis=1))


@pytest.mark.parametrize("seed", range(6))
def test_same_step_expectations_agree_with_plan_model(seed):
    """A skewed chip (same-step projections): the bench's expectations, from the skewed network
    with its start steps, agree with the plan-level model, drops before a start included."""
    network = random_same_step_network(seed)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64))
    assert plan.start_steps == {"g": 1, "o": 2}
    inputs = pad_inputs(random_inputs(network, seed, steps=5, samples=3), plan.flush_steps)
    spikes = simulate(plan.network, inputs, start_steps=plan.start_steps).spikes
    trace = simulate_plan(plan, inputs)
    assert expected_windows(plan, spikes) == [sorted(map(list, w)) for w in trace.host_output]
    assert expected_eos_dropped(plan, spikes) == list(trace.core_events_dropped.sum(axis=1))


def test_random_networks_exercise_the_features():
    """The CI seeds cover what the system test is for: payload counts, recurrent core-to-core
    traffic dropped at the end of a sample, and output spikes."""
    network, plan = _plan(1, "star")
    assert plan.fmt.payload_width > 0
    inputs = random_inputs(network, 1, steps=5, samples=2)
    spikes = simulate(network, inputs).spikes
    assert sum(expected_eos_dropped(plan, spikes)) > 0
    assert sum(len(w) for w in expected_windows(plan, spikes)) > 0
    assert any(block.source == core.population for core in plan.cores for block in core.axon_blocks)


# ---------------------------------------------------------------------------------------------
# RTL: a small CI set on every simulator, more under -m slow.


def test_star(simulator, sim_build_dir):
    network, plan = _plan(1, "star")
    result = _run(plan, network, 1, simulator, sim_build_dir, steps=5, samples=3)
    assert result.output_events_compared > 0
    # Samples of one step, on the same build: every window is the last of a sample, so each
    # end-of-sample control arrives in the window the previous one flags.
    _run(plan, network, 11, simulator, sim_build_dir, steps=1, samples=4)


def test_learning_with_delays(simulator, sim_build_dir):
    """STDP on a population split over several cores, synaptic delays on every projection,
    several samples back to back: outputs every window, and at the end every plastic weight
    and every trace of every learning core, against simulate_samples (learning carried from
    sample to sample, each sample from cleared state and an empty delay ring)."""
    network = random_learning_network(1)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64))
    assert plan.n_cores >= 3 and sum(core.stdp is not None for core in plan.cores) >= 2
    assert all(core.max_delay > 1 for core in plan.cores)
    result = _run(plan, network, 1, simulator, sim_build_dir, steps=6, samples=3)
    assert result.output_events_compared > 0


def test_same_step(simulator, sim_build_dir):
    """The trainers' timing on the chip: a network with same-step projections, a skip
    connection and recurrent populations runs skewed (two flush steps per sample, start-step
    clears, drops before a start); every window is compared with the skewed network's model,
    and the outputs cut back to the network's own steps equal simulate of the same-step
    network."""
    network = random_same_step_network(5)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64))
    assert plan.n_cores >= 4 and plan.flush_steps == 2
    inputs = random_inputs(network, 5, steps=5, samples=3)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=5
    )
    assert result.windows_compared == (5 + 2) * 3 and result.output_events_compared > 0
    expected = simulate(network, inputs).spikes
    for name in network.outputs:
        np.testing.assert_array_equal(result.output_spikes[name], expected[name])
    # Spikes sent before their source's start were dropped (beyond the end-of-sample ones).
    chip = simulate(plan.network, pad_inputs(inputs, 2), start_steps=plan.start_steps).spikes
    unskewed = dataclasses.replace(plan, start_steps={})
    assert sum(expected_eos_dropped(plan, chip)) > sum(expected_eos_dropped(unskewed, chip))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_learning_with_delays_slow(simulator, sim_build_dir, seed):
    network = random_learning_network(seed)
    plan = map_network(
        network, capacity=CoreCapacity(max_neurons=3, max_axons=64), lanes=2, topology="mesh"
    )
    _run(plan, network, seed, simulator, sim_build_dir, steps=8, samples=4)


@pytest.mark.slow
def test_two_step_samples(simulator, sim_build_dir):
    network, plan = _plan(1, "star")
    _run(plan, network, 12, simulator, sim_build_dir, steps=2, samples=4)


def test_graded_inputs(simulator, sim_build_dir):
    """Graded input groups on the chip: signed 4-bit and unsigned 3-bit values beside a
    spike-count group in one payload, one core mixing graded and counted blocks, a graded
    projection with delays; every output spike of every window and the final states against
    simulate, several samples back to back."""
    network = random_graded_network(1)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64))
    assert plan.n_cores >= 3 and plan.fmt.payload_width == 4
    assert any(b.signed for core in plan.cores for b in core.axon_blocks)
    assert any(core.graded and not all(b.graded for b in core.axon_blocks) for core in plan.cores)
    result = _run(plan, network, 1, simulator, sim_build_dir, steps=5, samples=3)
    assert result.output_events_compared > 0


def test_xylo_shifts_and_caps(simulator, sim_build_dir):
    """Per-projection weight shifts and count caps on the chip, as Xylo builds a network: input
    weights shifted by 2 and input counts capped at 15, recurrent weights shifted by 1 and
    recurrent counts capped at 3, ``h`` split over two cores; every window against simulate.
    Both caps act: input counts and recurrent spike counts above them occur."""
    network = random_xylo_network(0)
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4, max_axons=64))
    h_cores = [core for core in plan.cores if core.population == "h"]
    assert len(h_cores) == 2 and plan.fmt.payload_width == 5
    assert all([b.count_cap for b in core.axon_blocks] == [15, 3, 3] for core in h_cores)
    # The shifted weights are stored: the 4-bit weights of h grew to 6 bits.
    assert all(core.weight_width == 6 for core in h_cores)
    inputs = random_inputs(network, 0, steps=6, samples=2, density=0.6)
    spikes = simulate(network, inputs).spikes
    assert (inputs["x"] > 15).sum() > 0 and (spikes["h"][:-1] > 3).sum() > 0
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=0
    )
    assert result.windows_compared == 12 and result.output_events_compared > 0


def test_graded_spikes(simulator, sim_build_dir):
    """Graded spikes between populations on the chip (``map_network(graded_spikes=True)``): the
    Xylo-style network's ``h`` (up to 7 spikes a step) split over two cores sends each count as
    one event onto ``h`` (recurrent, capped at 3: the ingress clamps the value) and ``o``
    (uncapped); every window against simulate, which is computed with counts. Recurrent counts
    above the cap occur, and the chip applies fewer events than with count expansion."""
    network = random_xylo_network(0)
    capacity = CoreCapacity(max_neurons=4, max_axons=64)
    plan = map_network(network, capacity=capacity, graded_spikes=True)
    h_cores = [core for core in plan.cores if core.population == "h"]
    assert len(h_cores) == 2
    assert all(
        [(b.graded, b.signed, b.count_cap) for b in core.axon_blocks]
        == [(False, False, 15), (True, False, 3), (True, False, 3)]
        for core in h_cores
    )
    assert all(b.graded and b.count_cap is None for b in plan.cores_of("o")[0].axon_blocks)
    inputs = random_inputs(network, 0, steps=6, samples=2, density=0.6)
    spikes = simulate(network, inputs).spikes
    assert (spikes["h"][:-1] > 3).sum() > 0
    counted = simulate_plan(map_network(network, capacity=capacity), inputs)
    graded = simulate_plan(plan, inputs)
    assert graded.events_per_step.sum() < counted.events_per_step.sum()
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=0
    )
    assert result.windows_compared == 12 and result.output_events_compared > 0


@pytest.mark.slow
@pytest.mark.parametrize(
    "make,seed,lanes,topology",
    [
        (random_xylo_network, 1, 2, "mesh"),
        (random_xylo_network, 2, 1, "star"),
        (random_xylo_network, 3, 4, "star"),
        (random_network, 1, 2, "star"),
        (random_network, 8, 1, "mesh"),
    ],
)
def test_graded_spikes_slow(simulator, sim_build_dir, make, seed, lanes, topology):
    """Graded spikes between populations on larger cases: Xylo-style networks (recurrent cap
    binding) and random networks with multi-spike populations, populations over 3+ cores,
    lanes, star and mesh, longer runs."""
    network = make(seed)
    plan = map_network(
        network,
        capacity=CoreCapacity(max_neurons=3, max_axons=64),
        lanes=lanes,
        topology=topology,
        graded_spikes=True,
    )
    assert any(b.graded for core in plan.cores for b in core.axon_blocks)
    inputs = random_inputs(network, seed, steps=8, samples=3, density=0.6)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=seed
    )
    assert result.windows_compared == 24


def test_graded_expectations_agree_with_plan_model():
    network = random_graded_network(2)
    plan = map_network(
        network,
        capacity=CoreCapacity(max_neurons=3, max_axons=64),
        topology="mesh",
        lanes=2,
        connectivity="dense",
    )
    inputs = random_inputs(network, 2, steps=6, samples=3)
    spikes = simulate(network, inputs).spikes
    trace = simulate_plan(plan, inputs)
    assert expected_windows(plan, spikes) == [sorted(map(list, w)) for w in trace.host_output]


def test_mesh(simulator, sim_build_dir):
    if simulator == "verilator":
        pytest.skip("the Verilator mesh build is in the slow set (test_mesh_slow)")
    network, plan = _plan(2, "mesh", max_neurons=5)
    _run(plan, network, 2, simulator, sim_build_dir, steps=4, samples=3)


@pytest.mark.slow
def test_mesh_slow(simulator, sim_build_dir):
    network, plan = _plan(2, "mesh", max_neurons=5)
    _run(plan, network, 2, simulator, sim_build_dir, steps=4, samples=3)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [3, 4, 5, 6])
@pytest.mark.parametrize("topology", ["star", "mesh"])
def test_random_slow(simulator, sim_build_dir, seed, topology):
    rng = np.random.default_rng(seed)
    lanes = int(rng.choice([1, 2]))
    network, plan = _plan(
        seed,
        topology,
        max_neurons=int(rng.integers(3, 5)),
        lanes=lanes,
        connectivity="dense" if lanes > 1 else "auto",
    )
    traffic = {
        "idle_probability": float(rng.choice([0.0, 0.5])),
        "backpressure_probability": float(rng.choice([0.0, 0.3, 0.7])),
        "stall_probability": 0.02,
        "stall_cycles": int(rng.integers(5, 60)),
    }
    _run(
        plan,
        network,
        seed,
        simulator,
        sim_build_dir,
        steps=int(rng.integers(1, 7)),
        samples=int(rng.integers(2, 5)),
        traffic=traffic,
    )


# ---------------------------------------------------------------------------------------------
# Weights in SPRAM (docs/system.md, "Weights in SPRAM").


def _spram_chip(lanes=2):
    """A random 3+-core chip whose even cores keep their weights in SPRAM (packed: 8-bit
    weights, 2 lanes per 16-bit word), the odd ones in block RAM."""
    from neurohw import Chip

    network, plan = _plan(1, "star", lanes=lanes, connectivity="dense")
    kinds = ["spram" if c % 2 == 0 else "bram" for c in range(plan.n_cores)]
    return network, Chip(plan, weight_memory=kinds)


def test_spram_weights(simulator, sim_build_dir):
    """SPRAM cores start without weights; the bench loads every weight over the debug port
    (Chip.weight_load_commands) and the chip must then agree with the model on every spike."""
    network, chip = _spram_chip()
    # The core's description, not a built SystemTop: a top that is never elaborated would
    # raise Amaranth's UnusedElaboratable warning when collected, in whichever test runs then.
    assert (
        core_config(chip.plan, chip.plan.cores[0], weight_memory="spram").lanes_per_weight_word == 2
    )
    assert len(chip.weight_load_commands()) == sum(
        cp.weights.size for c, cp in enumerate(chip.plan.cores) if c % 2 == 0
    )
    result = _run(chip, network, 1, simulator, sim_build_dir, steps=4, samples=2)
    assert result.output_events_compared > 0


def test_spram_weight_memory_refused():
    from neurohw import Chip

    network, plan = _plan(1, "star", lanes=2, connectivity="dense")
    n = plan.n_cores
    with pytest.raises(
        ValueError,
        match=re.escape(
            "weight_memory 'spram' needs debug=True: SPRAM weights are loaded through the "
            "debug port"
        ),
    ):
        Chip(plan, weight_memory="spram", debug=False)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"weight_memory has 2 entries, but the chip has {n} cores (give one of "
            "('bram', 'spram') per core, or one for all)"
        ),
    ):
        Chip(plan, weight_memory=["spram", "bram"])
    with pytest.raises(
        ValueError,
        match=re.escape("weight_memory of core 1 must be one of 'bram', 'spram', not 'huge'"),
    ):
        Chip(plan, weight_memory=["bram", "huge"] + ["bram"] * (n - 2))
    with pytest.raises(TypeError, match=re.escape("weight_memory must be 'bram', 'spram' or")):
        Chip(plan, weight_memory=3)
    _, sparse_plan = _plan(1, "star", connectivity="sparse")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "weight_memory 'spram' for core 0 (population 'h'): weight_memory 'spram' is "
            "implemented for connectivity 'dense' only"
        ),
    ):
        Chip(sparse_plan, weight_memory="spram")
    # Without SPRAM the chip is the block-RAM chip (same Verilog).
    assert Chip(plan, weight_memory="bram").design_hash() == Chip(plan).design_hash()
