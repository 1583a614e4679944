"""Convolution structure through import, quantization, mapping and the chip (issue #15): a
``Conv2d`` projection keeps its (ConvSpec, kernel) next to the dense lowering that stays its
semantics, and ``map_network`` places it on a convolution core."""

import io
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurohw.hw.conv import ConvSpec
from neurohw.network import Network, NetworkError, Projection
from neurohw.network.mapping import CoreCapacity, MappingError, map_network
from tests.test_plan_model import check_plan_against_system
from tests.test_trainer_import import calibration_inputs, import_fixture


def snn_conv_integer(**options):
    from neurohw.network import quantize

    network, meta, data = import_fixture("snn_conv")
    integer, report = quantize(
        network, weight_width=8, calibration={"input": calibration_inputs(meta)}, **options
    )
    return network, integer, report, meta, data


def test_import_keeps_the_conv_structure_of_snn_conv():
    network, meta, data = import_fixture("snn_conv")
    conv, dense = network.projections
    spec, kernel = conv.conv
    assert spec.in_shape == (1, 8, 8) and spec.out_shape == (4, 6, 6)
    assert spec.kernel_size == (3, 3) and spec.stride == (1, 1)
    assert kernel.shape == (4, 1, 3, 3)
    # The float dense matrix is the lowering of the float kernel, entry by entry.
    lowered = np.zeros(conv.weight.shape)
    for axon in range(spec.n_axons):
        for neuron, word in spec.fanout(axon):
            lowered[axon, neuron] = kernel.reshape(-1)[word]
    np.testing.assert_array_equal(lowered, conv.weight)
    assert dense.conv is None


def float_lowering(spec, kernel):
    """The dense lowering of a float kernel, from ``ConvSpec.fanout``."""
    lowered = np.zeros((spec.n_axons, spec.n_neurons))
    for axon in range(spec.n_axons):
        for neuron, word in spec.fanout(axon):
            lowered[axon, neuron] += kernel.reshape(-1)[word]
    return lowered


@pytest.mark.parametrize("pool_kind", ["SumPool2d", "AvgPool2d"])
def test_import_keeps_a_pooled_conv(pool_kind):
    """Input (2, 7, 9) -> 2x3 pooling -> Conv2d 3x3 padding 1 -> IF: one pooled conv on the
    pre-pool map (the last row and column reach nothing), whose lowering is the multiplied-out
    matrix; a pooling with overlapping windows stays dense."""
    import nir

    from neurohw.network import import_nir

    rng = np.random.default_rng(3)

    def net(stride):
        weight = rng.normal(size=(3, 2, 3, 3))
        pooling = getattr(nir, pool_kind)(
            kernel_size=np.array([2, 3]), stride=np.array(stride), padding=np.array([0, 0])
        )
        nodes = {
            "inp": nir.Input(input_type=np.array([2, 7, 9])),
            "pool": pooling,
            "conv": nir.Conv2d(
                input_shape=None,
                weight=weight,
                stride=1,
                padding=1,
                dilation=1,
                groups=1,
                bias=np.zeros(3),
            ),
            "if1": nir.IF(r=np.array(1.0), v_threshold=np.array(1.0), v_reset=np.array(0.0)),
            "out": nir.Output(output_type=np.array([27])),
        }
        order = list(nodes)
        graph = nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), type_check=False)
        return import_nir(graph, dt=1e-3).projections[0], weight

    projection, weight = net([2, 3])
    spec, kernel = projection.conv
    assert spec.in_shape == (2, 7, 9) and spec.pool == (2, 3) and spec.out_shape == (3, 3, 3)
    scale = 1 / 6 if pool_kind == "AvgPool2d" else 1
    np.testing.assert_allclose(kernel, weight * scale)
    np.testing.assert_allclose(float_lowering(spec, kernel), projection.weight, atol=1e-12)
    overlapping, _ = net([1, 1])
    assert overlapping.conv is None


def test_quantization_keeps_one_integer_kernel():
    network, integer, report, meta, data = snn_conv_integer()
    conv = integer.projections[0]
    spec, kernel = conv.conv
    np.testing.assert_array_equal(spec.dense_matrix(kernel), conv.weights)
    assert integer.projections[1].conv is None


def test_conv_kernel_must_describe_the_weights():
    spec = ConvSpec((1, 4, 4), 2, 3)
    kernel = np.arange(18).reshape(spec.kernel_shape) - 9
    weights = spec.dense_matrix(kernel)
    Projection("a", "b", weights, conv=(spec, kernel))
    bad = weights.copy()
    bad[0, 0] += 1
    with pytest.raises(NetworkError) as error:
        Projection("a", "b", bad, conv=(spec, kernel))
    assert str(error.value) == (
        f"projection 'a' -> 'b': weights are not the dense lowering of the conv kernel "
        f"({spec!r}); conv must describe the weights exactly"
    )
    with pytest.raises(NetworkError, match=re.escape("a conv projection takes no count_cap")):
        Projection("a", "b", weights, conv=(spec, kernel), count_cap=3)


def test_conv_projection_without_dense_weights():
    """A conv projection given its kernel alone: no dense matrix is built by the network, its
    drive or its fan-out; ``weights`` builds the lowering on access; equal to the same
    projection given the lowering."""
    spec = ConvSpec((2, 6, 5), 3, (3, 2), stride=2, padding=1, pool=(1, 2))
    kernel = np.random.default_rng(0).integers(-9, 9, size=spec.kernel_shape)
    lazy = Projection("a", "b", conv=(spec, kernel))
    assert lazy.__dict__["_weights"] is None and lazy.shape == (spec.n_axons, spec.n_neurons)
    counts = np.random.default_rng(1).integers(0, 3, size=(4, spec.n_axons))
    dense = spec.dense_matrix(kernel)
    np.testing.assert_array_equal(lazy.drive(counts), counts @ dense)
    np.testing.assert_array_equal(lazy.fan_out(), np.count_nonzero(dense, axis=1))
    assert lazy.n_synapses == np.count_nonzero(dense)
    assert lazy.__dict__["_weights"] is None
    np.testing.assert_array_equal(lazy.weights, dense)
    assert not lazy.weights.flags.writeable
    assert lazy == Projection("a", "b", dense, conv=(spec, kernel))
    with pytest.raises(NetworkError) as error:
        Projection("a", "b")
    assert str(error.value) == (
        "projection 'a' -> 'b': weights are missing; only a conv projection (conv=(ConvSpec, "
        "kernel)) may leave them out"
    )


def test_simulate_and_plan_model_never_build_the_dense_lowering():
    """simulate, map_network and the plan model of a conv network given kernels alone: every
    spike (and every core's states) equal those of ``simulate`` of the same network with the
    dense lowering as a plain matrix (the definition, computed as a matrix product), and no
    projection or conv core has built its dense matrix."""
    from neurohw.network import simulate
    from neurohw.sim.system_case import random_conv_network, random_inputs

    for seed in range(6):
        network = random_conv_network(seed, pool=bool(seed % 2))
        conv = network.projections[0]
        dense = Network(
            inputs=network.inputs.values(),
            populations=network.populations.values(),
            projections=[
                Projection("x", "c", conv.conv[0].dense_matrix(conv.conv[1])),
                network.projections[1],
            ],
            outputs=network.outputs,
        )
        inputs = random_inputs(network, seed, steps=5, samples=2)
        lazy_trace = simulate(network, inputs)
        dense_trace = simulate(dense, inputs)
        for name in network.populations:
            np.testing.assert_array_equal(lazy_trace.spikes[name], dense_trace.spikes[name])
        plan = map_network(network, conv="core")
        check_plan_against_system(plan, dense, inputs)
        assert conv.__dict__["_weights"] is None
        assert all(core.__dict__["_weights"] is None for core in plan.cores if core.conv)


def test_network_file_stores_a_conv_projection_as_its_kernel(tmp_path):
    """A conv projection is saved as its kernel alone (no ``weights_0`` array); a file written
    before, with the dense lowering next to the kernel, still loads (and is checked)."""
    import json
    import zipfile

    from neurohw.sim.system_case import random_conv_network

    network = random_conv_network(4)
    network.save(tmp_path / "net.npz")
    with zipfile.ZipFile(tmp_path / "net.npz") as archive:
        names = archive.namelist()
        description = json.loads(archive.read("network.json"))
    assert "weights_0.npy" not in names and "kernel_0.npy" in names
    assert "weights" not in description["projections"][0]
    loaded = Network.load(tmp_path / "net.npz")
    assert loaded.projections[0] == network.projections[0]
    assert loaded.projections[0].__dict__["_weights"] is None

    # The format before: the dense lowering as weights_0, named by the projection.
    spec, kernel = network.projections[0].conv
    description["projections"][0]["weights"] = "weights_0"
    with (
        zipfile.ZipFile(tmp_path / "old.npz", "w") as old,
        zipfile.ZipFile(tmp_path / "net.npz") as new,
    ):
        for name in names:
            data = new.read(name)
            if name == "network.json":
                data = json.dumps(description).encode()
            old.writestr(name, data)
        buffer = io.BytesIO()
        np.save(buffer, spec.dense_matrix(kernel))
        old.writestr("weights_0.npy", buffer.getvalue())
    old_loaded = Network.load(tmp_path / "old.npz")
    assert old_loaded.projections[0] == network.projections[0]
    np.testing.assert_array_equal(old_loaded.projections[0].conv[1], kernel)


def test_network_file_keeps_the_conv_structure(tmp_path):
    network, integer, report, meta, data = snn_conv_integer()
    integer.save(tmp_path / "net.npz")
    loaded = Network.load(tmp_path / "net.npz")
    spec, kernel = integer.projections[0].conv
    loaded_spec, loaded_kernel = loaded.projections[0].conv
    assert repr(loaded_spec) == repr(spec)
    np.testing.assert_array_equal(loaded_kernel, kernel)
    assert loaded.projections[1].conv is None


# ---------------------------------------------------------------------------------------------
# Mapping: conv projections on convolution cores, the plan model against simulate.


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 10_000),
    conv=st.sampled_from(["auto", "core", "dense"]),
    max_conv_neurons=st.sampled_from([4096, 8, 20]),
    input_seed=st.integers(0, 100),
    pool=st.booleans(),
)
def test_plan_model_with_conv_cores_equals_simulate(seed, conv, max_conv_neurons, input_seed, pool):
    from neurohw.sim.system_case import random_conv_network, random_inputs

    network = random_conv_network(seed, pool=pool)
    spec = network.projections[0].conv[0]
    per_channel = spec.n_neurons // spec.out_channels
    capacity = CoreCapacity(max_conv_neurons=max(max_conv_neurons, per_channel))
    plan = map_network(network, capacity=capacity, conv=conv)
    conv_cores = [core for core in plan.cores if core.connectivity == "conv"]
    if conv == "dense":
        assert not conv_cores
    else:
        assert conv_cores and all(core.population == "c" for core in conv_cores)
        assert sum(core.conv[0].out_channels for core in conv_cores) == spec.out_channels
        for core in conv_cores:
            assert core.n_neurons <= capacity.max_conv_neurons
            np.testing.assert_array_equal(core.conv[0].dense_matrix(core.conv[1]), core.weights[0])
    inputs = random_inputs(network, input_seed, steps=5, samples=2)
    check_plan_against_system(plan, network, inputs)


def test_snn_conv_maps_its_conv_layer_on_a_convolution_core():
    network, integer, report, meta, data = snn_conv_integer()
    plan = map_network(integer)
    kinds = [(core.population, core.connectivity) for core in plan.cores]
    assert kinds == [("lif_1", "conv"), ("lif_4", "dense")]
    assert [core.n_neurons for core in plan.cores] == [144, 10]
    dense = map_network(integer, conv="dense")
    assert "conv" not in [core.connectivity for core in dense.cores]
    # Split by output channels: one channel (36 neurons) per core.
    split = map_network(integer, capacity=CoreCapacity(max_conv_neurons=72))
    assert [(c.neuron_start, c.n_neurons) for c in split.cores[:2]] == [(0, 72), (72, 72)]
    x = data["x"][:, :3].astype(np.int64)
    for each in (plan, split):
        check_skewed_plan(each, integer, {"input": x})


def check_skewed_plan(plan, network, inputs):
    """The plan model of a same-step network (the trainers' timing): the skewed chip network,
    padded, against ``simulate_samples``, and cut back, against ``simulate`` of ``network``."""
    import functools

    from neurohw.network import simulate, simulate_samples
    from neurohw.network.timing import pad_inputs, trainer_steps

    steps = next(iter(inputs.values())).shape[0]
    reference_model = functools.partial(simulate_samples, start_steps=plan.start_steps)
    trace, _ = check_plan_against_system(
        plan, plan.network, pad_inputs(inputs, plan.flush_steps), reference_model=reference_model
    )
    expected = simulate(network, inputs)
    for name, spikes in trainer_steps(trace.spikes, plan.start_steps, steps).items():
        np.testing.assert_array_equal(spikes, expected.spikes[name], err_msg=name)
    return trace


def test_conv_mapping_refusals():
    network = random_conv_network_with_cap()
    with pytest.raises(MappingError) as error:
        map_network(network, conv="core")
    assert str(error.value) == (
        "conv='core' cannot place population 'c' on a convolution core: input_count_cap=2 (a "
        "convolution core has no count cap); use conv='auto' (dense where a convolution core "
        "cannot) or 'dense'"
    )
    assert "conv" not in [core.connectivity for core in map_network(network).cores]
    with pytest.raises(
        MappingError, match=re.escape("conv must be 'auto', 'dense' or 'core', not 'x'")
    ):
        map_network(network, conv="x")
    from neurohw.sim.system_case import random_conv_network

    network = random_conv_network(3)
    spec = network.projections[0].conv[0]
    per_channel = spec.n_neurons // spec.out_channels
    with pytest.raises(MappingError) as error:
        map_network(network, capacity=CoreCapacity(max_conv_neurons=per_channel - 1))
    assert str(error.value) == (
        f"population 'c' cannot be mapped on convolution cores: one output channel has "
        f"{per_channel} neurons and {spec.kernel_words // spec.out_channels * 8} kernel bits, "
        f"more than capacity max_conv_neurons={per_channel - 1} or max_weight_bits=2097152; "
        f"raise them, or map it with conv='dense'"
    )


def random_conv_network_with_cap():
    import dataclasses

    from neurohw.sim.system_case import random_conv_network

    network = random_conv_network(3)
    populations = [
        dataclasses.replace(p, params=p.params.replace(input_count_cap=2)) if name == "c" else p
        for name, p in network.populations.items()
    ]
    return Network(
        inputs=network.inputs.values(),
        populations=populations,
        projections=network.projections,
        outputs=network.outputs,
    )


def test_mapping_limits_agree_with_the_convolution_core():
    from neurohw.hw import conv_core
    from neurohw.network import mapping

    assert mapping.CONV_CORE_MAX_NEURONS == conv_core.MAX_CONV_NEURONS
    assert mapping.CONV_CORE_MAX_AXONS == conv_core.MAX_CONV_AXONS


# ---------------------------------------------------------------------------------------------
# The chip: convolution cores in RTL against the model, every spike of every window.

TRAFFIC = {
    "idle_probability": 0.2,
    "backpressure_probability": 0.3,
    "stall_probability": 0.02,
    "stall_cycles": 15,
}


@pytest.mark.slow
def test_conv_cores_on_the_chip(simulator, sim_build_dir):
    """A 2x5x5 map through a stride-2 conv split over three convolution cores (one output
    channel each) and a dense output population, host traffic with idles, back-pressure and
    stalls: every output spike (both populations) of every window and every core's final states
    against simulate."""
    from neurohw.flows.system import verify_system
    from neurohw.sim.system_case import random_conv_network, random_inputs

    network = random_conv_network(7)
    spec = network.projections[0].conv[0]
    assert spec.stride == (2, 2) and network.outputs == ("o", "c")
    plan = map_network(
        network,
        capacity=CoreCapacity(max_neurons=4, max_conv_neurons=spec.n_neurons // 3),
        conv="core",
    )
    assert [core.connectivity for core in plan.cores][:3] == ["conv"] * 3
    inputs = random_inputs(network, 7, steps=4, samples=2)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=7
    )
    assert result.windows_compared == 8 and result.output_events_compared > 0


def test_pooled_conv_cores_on_the_chip(simulator, sim_build_dir):
    """A 2x12x3 map, 3x1 sum pooling in front of a conv (the axons are the pre-pool map),
    split over two convolution cores: every window's output spikes against simulate."""
    from neurohw.flows.system import verify_system
    from neurohw.sim.system_case import random_conv_network, random_inputs

    network = random_conv_network(8, pool=True)
    spec = network.projections[0].conv[0]
    assert spec.pool == (3, 1) and spec.n_axons == 72 and network.outputs == ("o", "c")
    plan = map_network(network, capacity=CoreCapacity(max_conv_neurons=6), conv="core")
    assert [core.connectivity for core in plan.cores] == ["conv", "conv", "dense"]
    inputs = random_inputs(network, 8, steps=4, samples=2)
    result = verify_system(
        plan, inputs, simulator=simulator, build_dir=sim_build_dir, traffic=TRAFFIC, seed=8
    )
    assert result.windows_compared == 8 and result.output_events_compared > 0


def test_neurons_without_fan_out_send_nothing_on_the_chip(simulator, sim_build_dir):
    """Conv neurons 1, 18, 31 and 67 have no non-zero weight to ``o`` and ``c`` is not an
    output: their keys route nowhere. They fire (16 spikes in the model), and the chip sends
    none of them: the router drop counter stays 0 (verify_system checks it) and every spike of
    ``o`` equals the model's."""
    from neurohw.flows.system import verify_system
    from neurohw.network.plan_model import simulate_plan
    from neurohw.sim.system_case import random_conv_network, random_inputs

    network = random_conv_network(4, pool=True)
    assert network.outputs == ("o",)
    plan = map_network(network, conv="core")
    assert [core.connectivity for core in plan.cores] == ["conv", "sparse"]
    unrouted = [
        j
        for j in range(plan.cores[0].n_neurons)
        if not plan.routing.deliveries.get(plan.neuron_key(0, j))
    ]
    assert unrouted == [1, 18, 31, 67]
    inputs = random_inputs(network, 4, steps=4, samples=2)
    assert simulate_plan(plan, inputs).unrouted_spikes.tolist() == [16, 0]
    result = verify_system(plan, inputs, simulator=simulator, build_dir=sim_build_dir)
    assert result.windows_compared == 8 and result.output_events_compared > 0


def fixture_on_the_chip(name, simulator, build_dir):
    """The fixture's 8-bit network on the chip (default mapping: its conv layers on
    convolution cores): every output spike of every chip step against the model, on three test
    images with Verilator and one with Icarus (slower). Returns the plan."""
    from neurohw.flows.system import verify_system
    from neurohw.network import simulate
    from tests.test_trainer_import import quantized_fixture

    network, integer, report, meta, data = quantized_fixture(name)
    plan = map_network(integer)
    samples = 3 if simulator == "verilator" else 1
    inputs = {"input": data["x"][:, :samples].astype(np.int64)}
    result = verify_system(plan, inputs, simulator=simulator, build_dir=build_dir)
    output = integer.outputs[0]
    expected = simulate(integer, inputs).spikes[output]
    np.testing.assert_array_equal(result.output_spikes[output], expected)
    assert result.output_events_compared > 0
    return plan


@pytest.mark.slow
def test_snn_conv_on_the_chip(simulator, sim_build_dir):
    """The snnTorch conv fixture end to end: NIR -> 8-bit fixed point -> a chip whose conv
    layer is one convolution core (the kernel, 36 words, stored once) -> RTL == model."""
    plan = fixture_on_the_chip("snn_conv", simulator, sim_build_dir)
    assert [core.connectivity for core in plan.cores] == ["conv", "dense"]
    assert plan.cores[0].conv[1].size == 36


@pytest.mark.slow
def test_sinabs_conv_on_the_chip(simulator, sim_build_dir):
    """The Sinabs CNN end to end: both conv layers on convolution cores, the second with the
    2x2 sum pooling in front (its axons are the first layer's 4x8x8 map, multi-spike counts
    expanded into events by the ingress), the Linear readout on a neuron core -> RTL == model."""
    plan = fixture_on_the_chip("sinabs_conv", simulator, sim_build_dir)
    assert [core.connectivity for core in plan.cores] == ["conv", "conv", "dense"]
    assert plan.cores[1].conv[0].pool == (2, 2) and plan.cores[1].n_axons == 256


@pytest.mark.parametrize("name", ["snn_conv", "sinabs_conv"])
def test_conv_fixture_fixed_point_accuracy_on_the_stored_samples(name):
    """8-bit fixed point of a conv fixture against the framework's own predictions on its 100
    stored test images (what the chip computes: the RTL checks above are bit-exact with it)."""
    from neurohw.network import evaluate
    from tests.test_trainer_import import quantized_fixture

    network, integer, report, meta, data = quantized_fixture(name)
    accuracy = evaluate(network, integer, {"input": data["x"].astype(np.int64)}, data["labels"])
    framework = float(np.mean(data["predictions"] == data["labels"]))
    np.testing.assert_array_equal(accuracy.float_predictions, data["predictions"])
    assert accuracy.float_accuracy == framework
    assert abs(accuracy.fixed_accuracy - framework) <= 0.01, accuracy
    assert accuracy.agreement >= 0.99, accuracy


def test_conv_lanes():
    """map_network(conv_lanes=n) gives every convolution core the most lanes up to n that its
    output channels fill (ConvCore refuses a lane without a channel); neuron cores keep
    ``lanes``; the plan model is unchanged by lanes."""
    from neurohw.network.mapping import conv_core_lanes

    assert [conv_core_lanes(5, n) for n in (1, 2, 3, 4, 5, 8)] == [1, 2, 3, 3, 5, 5]
    assert [conv_core_lanes(8, n) for n in (4, 5, 6, 7, 8, 64)] == [4, 4, 4, 4, 8, 8]
    assert conv_core_lanes(1, 64) == 1
    from neurohw.hw.conv import ConvSpec
    from neurohw.hw.conv_core import ConvCore
    from neurohw.model import NeuronParams

    for channels in range(1, 13):
        for n in range(1, 13):
            lanes = conv_core_lanes(channels, n)
            ConvCore.describe(
                NeuronParams(), ConvSpec((1, 3, 3), channels, 1), weight_width=4, lanes=lanes
            )
    network, integer, report, meta, data = snn_conv_integer()
    plan = map_network(integer, conv_lanes=4, lanes=2)
    assert [(c.connectivity, c.lanes) for c in plan.cores] == [("conv", 4), ("dense", 2)]
    with pytest.raises(MappingError, match=re.escape("conv_lanes must be between 1 and 64, not 0")):
        map_network(integer, conv_lanes=0)
    with pytest.raises(MappingError, match=re.escape("conv_lanes must be an integer, not 2.0")):
        map_network(integer, conv_lanes=2.0)
