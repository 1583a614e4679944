"""Networks trained and exported by the real frameworks (tests/data/trainers) import unmodified
and compute what their framework computed: every hidden and output spike of the framework's own
run, with the exporter profile that supplies what each file leaves out."""

import json

import numpy as np
import pytest

from neurohw.network import import_nir, simulate_float
from tests.test_trainer_fixtures import FIXTURES, FIXTURES_DIR
from tests.test_trainer_fixtures import load as load_fixture


def import_fixture(name, **options):
    """The fixture's file, imported with its framework's profile and the conventions recorded in
    meta.json (the options a user passes: snnTorch's reset mechanism and reset_delay, the
    input kind)."""
    meta, data = load_fixture(name)
    if meta["framework"] == "snntorch":
        options.setdefault("reset", "value" if meta["reset_mechanism"] == "zero" else "subtract")
        options.setdefault("reset_delay", bool(meta["reset_delay"]))
    options.setdefault("real_valued_input", meta["input"] == "direct")
    network = import_nir(FIXTURES_DIR / name / "model.nir", exporter=meta["framework"], **options)
    return network, meta, data


def float_inputs(network, data):
    (group,) = network.inputs
    return {group: data["x"].astype(np.float64 if network.inputs[group].real_valued else np.int64)}


#: Spike counts (hidden, output) where the float64 import and the framework's float32 fall on
#: either side of a threshold: sinabs_conv's hidden neuron 169 of image 80 reaches 2.0000005
#: thresholds in step 11 in float64 (two spikes, membrane 5e-7 after), just under 2 in Sinabs'
#: float32 (one spike, one more in step 12); the output layer then differs in the same two steps.
FLOAT32_TIES = {"sinabs_conv": (2, 2)}


@pytest.mark.parametrize("name", FIXTURES)
def test_float_import_reproduces_the_framework(name):
    network, meta, data = import_fixture(name)
    trace = simulate_float(network, float_inputs(network, data))
    hidden, output = network.step_order[0], network.outputs[0]
    assert network.step_order[-1] == output
    if name in FLOAT32_TIES:
        differ = (
            int((trace.spikes[hidden] != data["hidden_spikes"]).sum()),
            int((trace.spikes[output] != data["out_spikes"]).sum()),
        )
        assert differ == FLOAT32_TIES[name]
        return
    np.testing.assert_array_equal(trace.spikes[hidden], data["hidden_spikes"], err_msg=name)
    np.testing.assert_array_equal(trace.spikes[output], data["out_spikes"], err_msg=name)


@pytest.mark.parametrize("name", ["snn_leaky_rate", "norse_lif", "sinabs_iaf", "rockpool_lif"])
def test_one_step_timing_is_not_the_framework(name):
    """The check above can fail: with a step per layer (the NIR default) the output differs."""
    network, meta, data = import_fixture(name, timing="one_step")
    trace = simulate_float(network, float_inputs(network, data))
    assert not np.array_equal(trace.spikes[network.outputs[0]], data["out_spikes"])


# ---------------------------------------------------------------------------------------------
# Fixed point and RTL: the fixtures' integer networks on the chip.


def calibration_inputs(meta, count=200):
    """The first ``count`` training images, encoded as the fixture's framework was fed them
    (the calibration set: never the test images)."""
    from neurohw.train.digits import encode_images, load_split

    images = load_split(seed=0)[0][:count]
    if meta["input"] == "direct":
        return np.repeat((images / 16.0)[np.newaxis], meta["steps"], axis=0)
    return encode_images(images, meta["steps"])


def quantized_fixture(name, weight_width=8):
    from neurohw.network import quantize

    network, meta, data = import_fixture(name)
    (group,) = network.inputs
    direct = meta["input"] == "direct"
    integer, report = quantize(
        network,
        weight_width=weight_width,
        calibration={group: calibration_inputs(meta)},
        input_bits=8 if direct else None,
    )
    return network, integer, report, meta, data


@pytest.mark.parametrize(
    "name",
    # In CI: the one the drive bias in weight units kept outside the bar; the others under -m slow.
    [n if n == "rockpool_lif" else pytest.param(n, marks=pytest.mark.slow) for n in FIXTURES],
)
def test_8_bit_fixed_point_meets_the_bar(name):
    """Issue #13's bar on the whole digits test set (359 images): 8-bit fixed point within 0.5
    points of the framework's accuracy, with >= 99 % prediction agreement (with the float
    network, whose predictions are the framework's)."""
    from neurohw.network import evaluate
    from neurohw.train.digits import encode_images, load_split

    network, integer, report, meta, data = quantized_fixture(name)
    images, labels = load_split(seed=0)[2:]
    if meta["input"] == "direct":
        x = np.repeat((images / 16.0)[np.newaxis], meta["steps"], axis=0)
    else:
        x = encode_images(images, meta["steps"])
    (group,) = network.inputs
    accuracy = evaluate(network, integer, {group: x}, labels, report=report)
    assert accuracy.float_accuracy == meta["accuracy"]
    assert abs(accuracy.fixed_accuracy - meta["accuracy"]) <= 0.005, accuracy
    assert accuracy.agreement >= 0.99, accuracy


def test_recheck_reset_brings_the_integer_network_to_snntorch():
    """snnTorch's reset_delay=False re-test (NeuronParams recheck_reset, set by the quantizer):
    at 16 bits, where rounding leaves few differences, the integer network's spikes are
    snnTorch's saved ones but for 101 hidden and 9 output spikes of 100 images; without the
    re-test 1,465 and 193 differ (docs/frontends.md)."""
    import dataclasses

    from neurohw.network import Network, simulate

    network, integer, report, meta, data = quantized_fixture("snn_leaky_nodelay", 16)
    assert all(pop.params.recheck_reset for pop in integer.populations.values())
    plain = Network(
        inputs=integer.inputs.values(),
        populations=[
            dataclasses.replace(pop, params=pop.params.replace(recheck_reset=False))
            for pop in integer.populations.values()
        ],
        projections=integer.projections,
        outputs=integer.outputs,
    )
    (group,) = integer.inputs
    hidden, output = network.step_order[0], network.outputs[0]
    differ = {}
    for label, net in (("recheck", integer), ("plain", plain)):
        spikes = simulate(net, {group: data["x"].astype(np.int64)}).spikes
        differ[label] = (
            int((spikes[hidden] != data["hidden_spikes"]).sum()),
            int((spikes[output] != data["out_spikes"]).sum()),
        )
    assert differ["recheck"][0] <= 150 and differ["recheck"][1] <= 20, differ
    assert differ["plain"][0] >= 1000 and differ["plain"][1] >= 100, differ


# In CI: learned per-neuron thresholds, a recurrent RLeaky, multi-spike Sinabs; the others under
# -m slow.
RTL_CI = ["snn_leaky_rate", "snn_rleaky", "sinabs_iaf"]


def _rtl_case(name, simulator, build_dir, samples):
    from neurohw.flows.system import verify_system
    from neurohw.network import encode_inputs, map_network, simulate

    network, integer, report, meta, data = quantized_fixture(name)
    plan = map_network(integer)
    # Every layer after the first is same-step: each runs one step later than the one before.
    assert plan.flush_steps == len(integer.populations) - 1
    (group,) = network.inputs
    x = data["x"][:, :samples]
    inputs = (
        encode_inputs(report, {group: x.astype(np.float64)})
        if meta["input"] == "direct"
        else {group: x.astype(np.int64)}
    )
    result = verify_system(plan, inputs, simulator=simulator, build_dir=build_dir)
    expected = simulate(integer, inputs).spikes
    output = integer.outputs[0]
    np.testing.assert_array_equal(result.output_spikes[output], expected[output])
    assert result.output_events_compared > 0


@pytest.mark.parametrize("name", RTL_CI)
def test_fixture_on_the_chip(name, simulator, sim_build_dir):
    """The fixture's integer network, mapped onto the chip, skewed for the trainers' timing:
    every output spike of every chip step on one test image equals the model's."""
    _rtl_case(name, simulator, sim_build_dir, samples=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in FIXTURES if n not in RTL_CI])
def test_fixture_on_the_chip_slow(name, simulator, sim_build_dir):
    _rtl_case(name, simulator, sim_build_dir, samples=3)


def test_compile_a_fixture_unmodified(tmp_path, simulator):
    """`neurohw compile MODEL.nir --exporter snntorch --inputs X.npz`: the exporter's file with
    no edit, through import, quantization (scales from the given inputs), the skewed chip and
    the RTL check, with float, fixed-point and RTL accuracy in the report."""
    from neurohw.cli import main

    meta, data = load_fixture("snn_rleaky")
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, input=data["x"][:, :8].astype(np.int64), labels=data["labels"][:8])
    out = tmp_path / "out"
    assert (
        main(
            [
                "compile",
                str(FIXTURES_DIR / "snn_rleaky" / "model.nir"),
                "--exporter",
                "snntorch",
                "--inputs",
                str(inputs),
                "-o",
                str(out),
                "--verify-samples",
                "2",
                "--simulator",
                simulator,
                "--device",
                "none",
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert report["origin"] == "NIR model.nir (snntorch), dt=0.0001 s"
    # The imported float network is the framework: its accuracy is the framework's.
    trainer = float((data["predictions"][:8] == data["labels"][:8]).mean())
    assert report["reference"]["float_accuracy"] == trainer
    (entry,) = report["verification"]
    assert entry["rtl_matches_model_per_sample"]
    assert entry["windows_compared"] == 2 * (16 + 1)
    assert report["plan"]["start_steps"] == {"lif_3": 1} and report["plan"]["flush_steps"] == 1
