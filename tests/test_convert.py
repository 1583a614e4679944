"""ANN-to-SNN conversion: accuracy on digits, the IF quantization, the encoders, the report, the
plan-level model of a converted network, and every refusal with its exact message."""

import re

import numpy as np
import pytest

from neurohw.convert import (
    ConversionError,
    ann_forward,
    conversion_report,
    convert,
    layers_from_mlp,
)
from neurohw.convert.digits import train_mlp
from neurohw.network import simulate
from neurohw.network.floatnet import (
    FloatInput,
    FloatNetwork,
    FloatPopulation,
    FloatProjection,
    simulate_float,
)
from neurohw.network.quantize import QuantizationError, quantize
from neurohw.train.digits import encode_images, load_split


@pytest.fixture(scope="module")
def data():
    return load_split(seed=0)


@pytest.fixture(scope="module")
def mlp():
    return train_mlp(hidden=(64,), seed=0)


@pytest.fixture(scope="module")
def direct(mlp, data):
    return convert(mlp, data[0], input_max=16.0, input_levels=16)


def test_mlp_trains(mlp, data):
    _, _, x_test, y_test = data
    assert mlp.score(x_test / 16, y_test) > 0.97


@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_fixed_point_within_two_points_of_the_ann_at_16_steps(mlp, data, encoding):
    x_train, _, x_test, y_test = data
    conversion = convert(mlp, x_train, input_max=16.0, input_levels=16, input_encoding=encoding)
    report = conversion_report(conversion, x_test, y_test, steps=(16,))
    row = report.row(16)
    assert report.ann_accuracy == pytest.approx(mlp.score(x_test / 16, y_test))
    assert report.ann_accuracy - row.fixed_accuracy <= 0.02
    assert report.ann_accuracy - row.float_accuracy <= 0.02
    assert row.agreement >= 0.98
    assert row.fixed_spike_sops_per_inference > 0
    if encoding == "direct":
        # every count unit of every pixel reaches every hidden neuron it has a weight onto
        fan = np.count_nonzero(conversion.network.projections_to("h1")[0].weights, axis=1)
        expected = 16 * (x_test * fan).sum() / len(y_test)
        assert row.fixed_input_sops_per_inference == pytest.approx(expected)


def test_network_shape_and_neurons(direct):
    net = direct.network
    assert list(net.inputs) == ["x"] and net.inputs["x"].max_count == 16
    assert list(net.populations) == ["h1", "out"] and net.outputs == ("out",)
    for pop in net.populations.values():
        p = pop.params
        assert (p.n_currents, p.reset.value, p.comparison.value, p.max_spikes) == (
            0,
            "subtract",
            ">",
            1,
        )
        assert p.v_decay.kind.value == "none" and p.input_shift == 0
        assert pop.weight_width == 8
    assert direct.macs == 64 * 64 + 64 * 10
    assert direct.latency == 1
    # the threshold is exact: vth / S == 1
    for layer in direct.quantization.layers.values():
        assert layer.threshold_max_relative_error == 0.0


def test_list_of_arrays_equals_the_mlp(mlp, data, direct):
    layers = [(w.copy(), b.copy()) for w, b in zip(mlp.coefs_, mlp.intercepts_)]
    other = convert(layers, data[0], input_max=16.0, input_levels=16)
    assert other.network == direct.network
    assert other.lambdas == direct.lambdas


def test_normalization_is_the_activation_percentile(mlp, data, direct):
    acts = ann_forward(layers_from_mlp(mlp)[0], data[0] / 16, relu_last=True)
    for lam, a in zip(direct.lambdas, acts):
        assert lam == pytest.approx(np.percentile(a[a > 0], 99.9))
    w1 = direct.float_net.projections_to("h1")[0].weight
    np.testing.assert_allclose(w1, mlp.coefs_[0] / 16 / direct.lambdas[0])
    bias = direct.float_net.populations["out"].input_bias
    np.testing.assert_allclose(bias, mlp.intercepts_[1] / direct.lambdas[1])


def test_encoders(mlp, data, direct):
    images = data[2][:7]
    counts = direct.encode(images, 5)
    assert counts.shape == (5, 7, 64)
    np.testing.assert_array_equal(counts[3], images)
    rate = convert(mlp, data[0][:50], input_max=16.0, input_levels=16, input_encoding="rate")
    np.testing.assert_array_equal(rate.encode(images, 16), encode_images(images, 16))
    np.testing.assert_array_equal(rate.encode(images, 11), encode_images(images, 11))
    assert rate.network.inputs["x"].max_count == 1


def test_float_snn_rates_approach_the_normalized_ann(mlp, data, direct):
    """With direct input, the hidden layer's firing rate is the normalized ReLU activation
    (clipped at 1) up to 1/T."""
    x = data[2][:20]
    steps = 200
    trace = simulate_float(direct.float_net, {"x": direct.encode(x, steps)})
    rate = trace.spikes["h1"].sum(axis=0) / steps
    ann = np.minimum(ann_forward(direct.layers, x / 16)[0] / direct.lambdas[0], 1.0)
    assert np.max(np.abs(rate - ann)) <= 1.0 / steps + 1e-9


def test_quantize_if_model_matches_the_float_network():
    rng = np.random.default_rng(3)
    pops = [
        FloatPopulation(
            "h",
            7,
            "IF",
            r=1.0,
            v_threshold=1.0,
            reset="subtract",
            input_bias=rng.normal(0, 0.05, 7),
        ),
        FloatPopulation("o", 3, "IF", r=1.0, v_threshold=1.0, reset="subtract"),
    ]
    projections = [
        FloatProjection("x", "h", rng.normal(0, 0.3, (5, 7))),
        FloatProjection("h", "o", rng.normal(0, 0.5, (7, 3))),
    ]
    float_net = FloatNetwork(
        inputs=[FloatInput("x", 5, max_count=3)],
        populations=pops,
        projections=projections,
        outputs=["o"],
        dt=1.0,
    )
    net, report = quantize(float_net, model="if", weight_width=12, v_width=20)
    assert report.model == "if"
    params = net.populations["h"].params
    assert params.v_width == 20 and params.bias_exponent == 0
    assert report.layers["h"].threshold_max_relative_error == 0.0
    x = rng.integers(0, 4, (40, 6, 5))
    f = simulate_float(float_net, {"x": x})
    q = simulate(net, {"x": x})
    assert f.spikes["h"].sum() > 100
    assert np.mean(f.spikes["h"] == q.spikes["h"]) > 0.98


def test_quantize_if_model_refuses_leaky_populations():
    pop = FloatPopulation("h", 2, "LIF", tau_mem=2.0, v_threshold=1.0)
    net = FloatNetwork(
        inputs=[FloatInput("x", 2)],
        populations=[pop],
        projections=[FloatProjection("x", "h", np.eye(2))],
        outputs=["h"],
        dt=1.0,
    )
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'h' (LIF): model 'if' needs IF populations (no leak, no synaptic "
            "current), not LIF; use model='loihi'"
        ),
    ):
        quantize(net, model="if")


def test_report_files(direct, data, tmp_path):
    report = conversion_report(direct, data[2][:30], data[3][:30], steps=(2, 4))
    paths = report.save(tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 4 |" in paths["md"].read_text()
    assert [r.steps for r in report.rows] == [2, 4]
    # direct input: the 2-step run is the prefix of the 4-step run
    assert report.row(2).fixed_input_sops_per_inference * 2 == pytest.approx(
        report.row(4).fixed_input_sops_per_inference
    )


def test_converted_network_on_the_chip_plan(direct, data):
    """The converted network maps onto cores and the plan-level (event-by-event) model equals
    the system reference bit for bit."""
    from neurohw.network.mapping import CoreCapacity, map_network
    from neurohw.network.plan_model import simulate_plan

    plan = map_network(direct.network, capacity=CoreCapacity(max_neurons=32))
    assert plan.n_cores == 3
    inputs = {"x": direct.encode(data[2][:2], 6)}
    trace = simulate_plan(plan, inputs)
    reference = simulate(direct.network, inputs)
    for name in direct.network.populations:
        np.testing.assert_array_equal(trace.spikes[name], reference.spikes[name])


# --- refusals -----------------------------------------------------------------------------------


def _layers():
    rng = np.random.default_rng(0)
    return [(rng.normal(size=(4, 3)), np.zeros(3)), (rng.normal(size=(3, 5)), np.zeros(5))]


def test_refuses_non_relu_mlp(data):
    from sklearn.neural_network import MLPClassifier

    with pytest.raises(
        ConversionError,
        match=re.escape(
            "MLPClassifier activation must be 'relu', not 'tanh': only ReLU activations map "
            "onto integrate-and-fire firing rates"
        ),
    ):
        convert(MLPClassifier(activation="tanh"), data[0])


def test_refuses_unfitted_mlp(data):
    from sklearn.neural_network import MLPClassifier

    with pytest.raises(
        ConversionError,
        match=re.escape("the MLPClassifier is not fitted (it has no coefs_); call fit() first"),
    ):
        convert(MLPClassifier(), data[0])


def test_refuses_non_relu_layers():
    with pytest.raises(
        ConversionError,
        match=re.escape(
            "activation must be 'relu', not 'sigmoid': only ReLU activations map onto "
            "integrate-and-fire firing rates"
        ),
    ):
        convert(_layers(), np.ones((2, 4)), activation="sigmoid")


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda ls: [ls[0], (ls[1][0][:2], ls[1][1])],
            "layer 1 weights have 2 inputs, but layer 0 has 3 outputs (weights are (n_in, n_out); "
            "PyTorch users pass linear.weight.T)",
        ),
        (
            lambda ls: [(ls[0][0], np.zeros(4)), ls[1]],
            "layer 0 biases must have shape (3,) to match weights of shape (4, 3) (n_in, n_out), "
            "not (4,)",
        ),
        (
            lambda ls: [(np.zeros(4), np.zeros(4))],
            "layer 0 weights must be 2-D (n_in, n_out), not shape (4,)",
        ),
        (lambda ls: [], "layers is empty; give at least one (weights, biases) pair"),
        (lambda ls: [(ls[0][0] * np.nan, ls[0][1])], "layer 0 weights and biases must be finite"),
    ],
)
def test_refuses_bad_layers(mutate, message):
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert(mutate(_layers()), np.ones((2, 4)))


@pytest.mark.parametrize(
    "calibration, message",
    [
        (
            np.zeros((0, 4)),
            "the calibration set is empty (shape (0, 4)); pass at least one sample "
            "of shape (n, 4), e.g. the training inputs",
        ),
        (
            [],
            "the calibration set is empty (shape (0,)); pass at least one sample of shape (n, 4), "
            "e.g. the training inputs",
        ),
        (np.ones((3, 5)), "calibration samples have 5 features, but the first layer has 4 inputs"),
        (np.ones(4), "the calibration set must be 2-D (n, 4), not shape (4,)"),
    ],
)
def test_refuses_bad_calibration(calibration, message):
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert(_layers(), calibration)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(input_encoding="poisson"),
            "input_encoding must be one of 'direct', 'rate', not 'poisson'",
        ),
        (dict(percentile=0), "percentile must be in (0, 100], not 0"),
        (dict(input_levels=0), "input_levels must be an integer between 1 and 65535, not 0"),
        (dict(input_max=-1.0), "input_max must be a positive number, not -1.0"),
        (dict(classes=[1, 2]), "classes must name the 5 outputs, not shape (2,)"),
    ],
)
def test_refuses_bad_options(kwargs, message):
    with pytest.raises(ConversionError, match=re.escape(message)):
        convert(_layers(), np.ones((2, 4)), **kwargs)


def test_refuses_bad_model_and_inputs():
    with pytest.raises(
        ConversionError,
        match=re.escape(
            "model must be a fitted sklearn MLPClassifier or a list of (weights, biases) "
            "pairs, not dict"
        ),
    ):
        convert({}, np.ones((2, 4)))
    conversion = convert(_layers(), np.ones((2, 4)))
    with pytest.raises(
        ConversionError,
        match=re.escape(
            "input features must lie in [0, input_max=1], not [-0.5, 1]; counts cannot be negative"
        ),
    ):
        conversion.encode(np.array([[-0.5, 1, 0, 0]]), 4)
    with pytest.raises(
        ConversionError, match=re.escape("inputs must have shape (n, 4), not (1, 3)")
    ):
        conversion.encode(np.zeros((1, 3)), 4)
    with pytest.raises(ConversionError, match=re.escape("steps must be a positive integer, not 0")):
        conversion.encode(np.zeros((1, 4)), 0)


def test_refuses_binary_mlp():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    x = rng.random((20, 3))
    mlp = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        mlp.fit(x, (x[:, 0] > 0.5).astype(int))
    with pytest.raises(
        ConversionError,
        match=re.escape(
            "the MLPClassifier has 2 classes and 1 output unit(s); conversion needs one output "
            "unit per class (at least 3 classes; scikit-learn gives a 2-class problem a single "
            "logistic output)"
        ),
    ):
        convert(mlp, x)
