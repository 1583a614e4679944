"""The digits front end: encoding, the numpy surrogate-gradient trainer, the NIR export, and the
round trip train -> NIR file -> import -> float simulation (equal to the trainer's own forward
pass) -> quantization -> fixed-point accuracy."""

import re

import nir
import numpy as np
import pytest

from neurohw.network.floatnet import simulate_float
from neurohw.network.nir_import import NIRImportError, import_nir
from neurohw.network.quantize import evaluate, quantize
from neurohw.train import digits

SMALL = dict(hidden=32, epochs=4, seed=0)


@pytest.fixture(scope="module")
def model():
    return digits.train(**SMALL)


@pytest.fixture(scope="module")
def test_data(model):
    return digits.test_set(model.config.steps, seed=model.config.seed, limit=120)


def test_encoding_is_a_deterministic_rate_code():
    images = np.zeros((3, 64), dtype=np.int64)
    images[0, :] = 16
    images[1, 5] = 1
    images[2, :] = np.arange(64) % 17
    x = digits.encode_images(images, 16)
    assert x.shape == (16, 3, 64) and x.dtype == np.int64
    assert set(np.unique(x)) <= {0, 1}
    assert x[:, 0].all()  # 16: a spike every step
    assert np.flatnonzero(x[:, 1, 5]).tolist() == [7]  # 1: once, mid-window
    assert not x[:, 1, :5].any()
    assert np.array_equal(x[:, 2].sum(axis=0), images[2])  # 16 steps: p spikes
    # Other lengths: round_half_up(steps * p / 16) spikes.
    x = digits.encode_images(images[2:], 20)
    assert np.array_equal(x.sum(axis=0)[0], (20 * images[2] * 2 + 16) // 32)
    assert np.array_equal(digits.encode_images(images, 16), digits.encode_images(images, 16))


def test_encoding_refusals():
    with pytest.raises(ValueError, match=re.escape("pixel values must be between 0 and 16")):
        digits.encode_images(np.full((1, 64), 17), 16)
    with pytest.raises(
        ValueError, match=re.escape("images must have shape (batch, 64), not (1, 63)")
    ):
        digits.encode_images(np.zeros((1, 63)), 16)
    with pytest.raises(ValueError, match=re.escape("steps must be at least 1, not 0")):
        digits.encode_images(np.zeros((1, 64)), 0)


def test_split_and_test_set():
    x_train, y_train, x_test, y_test = digits.load_split(seed=0)
    assert (len(y_train), len(y_test)) == (1438, 359)
    assert x_train.shape == (1438, 64) and x_test.max() <= 16
    counts, labels = digits.test_set(16, seed=0)
    assert counts.shape == (16, 359, 64) and counts.dtype == np.int64
    assert np.array_equal(labels, y_test)
    assert np.array_equal(counts, digits.encode_images(x_test, 16))
    assert digits.test_set(16, seed=0, limit=10)[0].shape == (16, 10, 64)


def test_training_is_seeded():
    a = digits.train(hidden=8, epochs=1, seed=3)
    b = digits.train(hidden=8, epochs=1, seed=3)
    assert np.array_equal(a.w1, b.w1) and np.array_equal(a.w2, b.w2)
    assert a.history == b.history


def test_training_learns(model, test_data):
    counts, labels = test_data
    _, out = digits.forward(model, counts)
    assert model.train_seconds < 60
    assert digits.accuracy(out, labels) > 0.85
    assert model.history[-1]["train_accuracy"] > model.history[0]["train_accuracy"]


def test_nir_export(model, tmp_path):
    path = digits.export_nir(model, tmp_path / "sub" / "digits.nir")
    graph = nir.read(path)
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds == {
        "input": "Input",
        "fc1": "Affine",
        "lif1": "LIF",
        "fc2": "Affine",
        "lif2": "LIF",
        "output": "Output",
    }
    lif1 = graph.nodes["lif1"]
    assert np.allclose(lif1.tau, model.dt / (1 - model.config.beta_hidden))
    assert np.allclose(lif1.r * model.dt / lif1.tau, 1.0)
    assert np.array_equal(graph.nodes["fc1"].weight, model.w1.T)
    assert float(graph.metadata["dt"]) == model.dt
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["digits.nir"]


def test_round_trip_equals_the_trainers_forward_pass(model, test_data, tmp_path):
    counts, _ = test_data
    float_net = import_nir(digits.export_nir(model, tmp_path / "d.nir"), dt=model.dt)
    trace = simulate_float(float_net, {"input": counts})
    hidden, out = digits.forward(model, counts)
    assert np.array_equal(trace.spikes["lif1"], hidden)
    assert np.array_equal(trace.spikes["lif2"], out)
    c = float_net.discrete("lif1")
    assert np.allclose(c.keep_mem, model.config.beta_hidden, atol=1e-12)
    assert np.allclose(c.gain, 1.0, atol=1e-12)
    assert np.allclose(c.bias, model.b1, atol=1e-12)


def test_wrong_dt_is_refused(model):
    with pytest.raises(
        NIRImportError, match=re.escape("dt=0.0001 disagrees with the graph's metadata dt=0.001")
    ):
        import_nir(digits.to_nir(model), dt=1e-4)


def test_fixed_point_accuracy_within_two_points(model, test_data):
    counts, labels = test_data
    float_net = import_nir(digits.to_nir(model), dt=model.dt)
    network, report = quantize(float_net, weight_width=8)
    assert report.layers["lif1"].dv == 512 and report.layers["lif1"].du == 4095
    result = evaluate(float_net, network, counts, labels, report=report)
    assert report.accuracy is result
    assert f"accuracy on {len(labels)} samples: float" in report.table()
    assert report.to_dict()["accuracy"]["fixed_accuracy"] == result.fixed_accuracy
    _, out = digits.forward(model, counts)
    assert result.float_accuracy == digits.accuracy(out, labels)
    assert result.fixed_accuracy >= result.float_accuracy - 0.02
    assert result.agreement >= 0.95


@pytest.mark.slow
def test_default_configuration_meets_the_targets():
    """The documented run (docs/frontends.md): float >= 90 %, fixed point within 2 points."""
    model = digits.train()
    counts, labels = digits.test_set(model.config.steps, seed=model.config.seed)
    float_net = import_nir(digits.to_nir(model), dt=model.dt)
    network, _ = quantize(float_net)
    result = evaluate(float_net, network, counts, labels)
    assert result.float_accuracy >= 0.90
    assert result.fixed_accuracy >= result.float_accuracy - 0.02
