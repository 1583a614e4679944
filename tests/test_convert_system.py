"""A converted network on the chip's RTL: a small scikit-learn ``MLPClassifier`` (digits 0-4,
images pooled to 4 x 4, 16 hidden units) converted with :func:`neurohw.convert.convert` (direct
and rate input), mapped with :func:`neurohw.network.mapping.map_network` over several cores and
run through :func:`neurohw.flows.system.verify_system` on every simulator. verify_system compares
every output spike of every step with :func:`neurohw.network.simulate`; on top of that the
predictions decoded from what the RTL sent (``result.output_spikes``) must equal the model's on
every sample."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from neurohw.convert import convert
from neurohw.flows.system import verify_system
from neurohw.network import simulate
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.train.digits import MAX_PIXEL, load_split

pytestmark = [
    pytest.mark.sim,
    pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable"),
]

CLASSES = (0, 1, 2, 3, 4)
STEPS = 8
SAMPLES = 3


def pool(images):
    """8 x 8 images (pixels 0..16) to 4 x 4, each the mean of a 2 x 2 block rounded down:
    still 0..16."""
    x = np.asarray(images).reshape(-1, 4, 2, 4, 2)
    return x.sum(axis=(2, 4)) // 4


@functools.cache
def digits_subset():
    x_train, y_train, x_test, y_test = load_split(seed=0)
    keep_train, keep_test = np.isin(y_train, CLASSES), np.isin(y_test, CLASSES)
    return (
        pool(x_train[keep_train]).reshape(-1, 16),
        y_train[keep_train],
        pool(x_test[keep_test]).reshape(-1, 16),
        y_test[keep_test],
    )


@functools.cache
def trained_mlp():
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, y_train, _, _ = digits_subset()
    mlp = MLPClassifier(
        hidden_layer_sizes=(16,),
        activation="relu",
        alpha=1e-3,
        batch_size=64,
        learning_rate_init=3e-3,
        max_iter=150,
        random_state=0,
    )
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train / MAX_PIXEL, y_train)
    return mlp


@functools.cache
def converted(encoding):
    x_train, _, _, _ = digits_subset()
    return convert(
        trained_mlp(),
        x_train,
        input_max=float(MAX_PIXEL),
        input_levels=MAX_PIXEL,
        input_encoding=encoding,
    )


def predictions(conversion, output_counts):
    """Class labels from output spike counts ``(steps, batch, classes)`` (argmax of the totals,
    lowest index on a tie)."""
    return conversion.classes[np.argmax(output_counts.sum(axis=0), axis=1)]


def test_the_ann_is_worth_converting():
    _, _, x_test, y_test = digits_subset()
    conv = converted("direct")
    assert np.mean(conv.ann_predict(x_test) == y_test) > 0.9


@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_converted_network_rtl(encoding, simulator, sim_build_dir):
    conv = converted(encoding)
    network = conv.network
    plan = map_network(network, capacity=CoreCapacity(max_neurons=8))
    assert plan.n_cores >= 3, "the hidden layer should be split over cores"
    _, _, x_test, y_test = digits_subset()
    x = x_test[:SAMPLES]
    (group,) = network.inputs
    inputs = {group: conv.encode(x, STEPS)}
    result = verify_system(plan, inputs, simulator=simulator, build_dir=sim_build_dir, seed=1)
    assert result.windows_compared == STEPS * SAMPLES
    assert result.output_events_compared > 0

    model = simulate(network, inputs).spikes[conv.output]
    rtl = result.output_spikes[conv.output]
    assert np.array_equal(rtl, model)
    assert np.array_equal(predictions(conv, rtl), predictions(conv, model))
    assert np.mean(predictions(conv, model) == y_test[:SAMPLES]) >= 2 / 3


def test_compile_ann_in_one_call(tmp_path, simulator):
    """MLPClassifier.fit(...) to verified Verilog in one call (docs/conversion.md)."""
    from neurohw.convert import compile_ann

    x_train, _, x_test, y_test = digits_subset()
    report = compile_ann(
        trained_mlp(),
        x_train,
        x_test[:12],
        tmp_path,
        labels=y_test[:12],
        steps=STEPS,
        input_max=float(MAX_PIXEL),
        input_levels=MAX_PIXEL,
        verify_samples=2,
        simulators=[simulator],
        capacity=CoreCapacity(max_neurons=8),
    )
    (entry,) = report["verification"]
    assert entry["passed"] and entry["rtl_matches_model_per_sample"]
    assert entry["output_events_compared"] > 0
    assert report["reference"]["fixed_accuracy"] >= 0.75
    assert (tmp_path / "system.v").is_file() and (tmp_path / "report.md").is_file()
