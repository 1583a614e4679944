"""Unsupervised STDP on scikit-learn's digits: competitive learning with lateral inhibition.

``python examples/digits_stdp.py OUT_DIR`` trains, evaluates and writes
``OUT_DIR/report.json``, ``OUT_DIR/weights.png`` (the learned input weights of every excitatory
neuron as an 8x8 image) and ``OUT_DIR/weights.npy``. Seeded and deterministic; one epoch over
the training set takes well under two minutes on one core.

The network (a :class:`neurohw.network.Network`, simulated by :func:`neurohw.network.simulate`,
all integer):

* ``pixels``: 64 input lines; an image (values 0..16) is rate coded by
  :func:`neurohw.encoding.rate.rate_code` with ``levels=16`` over ``steps`` steps.
* ``exc``: ``n_neurons`` membrane-only LIF neurons (multiply leak, reset to zero, refractory).
* ``pixels -> exc``: plastic (pair STDP, ``docs/learning.md``), weights in ``[0, 127]``.
* ``exc -> exc``: static lateral inhibition (``-inhibition`` between every two distinct
  neurons, delivered one step later): the first neuron to fire silences the others.

Between training samples the host (not the chip) applies two integer rules, documented in
``docs/learning.md``, "Digits example":

* weight normalization, per neuron ``k``: ``w[:, k] = min(w_max, (w[:, k] * S) // sum_j w[j, k])``
  (floor; a column summing to 0 is left alone), ``S = column_sum``;
* threshold homeostasis, per neuron: ``theta = theta + theta_step * spikes_in_sample`` then
  ``theta = theta - (theta >> theta_decay_shift)`` (floor), and the neuron's threshold is
  ``base_threshold + theta``; fixed (not adapted) while evaluating.

Each training sample starts from cleared neuron state, as the chip does between samples; the
weights (after the host's normalization), the STDP traces and the host's thresholds carry over
(``docs/learning.md`` section 4: a mapped chip keeps its learning state from sample to sample),
so the chip with the host's two rules applied between samples computes exactly this. Readouts, on spike counts of
the frozen network: (1) each neuron is labelled with the class it fires most for on the
training set (per-class mean counts), and a test image gets the class whose neurons fire most
in total; (2) scikit-learn's ``LogisticRegression`` on the spike counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from neurohw.encoding.rate import rate_code
from neurohw.model import Decay, NeuronParams
from neurohw.model.stdp import STDPParams, STDPState
from neurohw.network import InputGroup, Network, Population, Projection, simulate

__all__ = ["ExampleConfig", "build_network", "normalize_columns", "run", "main"]

KEY = ("pixels", "exc", 0)


@dataclass(frozen=True)
class ExampleConfig:
    n_neurons: int = 100
    steps: int = 24  # time steps per image
    epochs: int = 1
    train_limit: int | None = None  # use only the first N training images (quick runs)
    seed: int = 0
    base_threshold: int = 6000
    inhibition: int = 20000
    column_sum: int = 2600  # weight normalization target S
    theta_step: int = 300
    theta_decay_shift: int = 7
    w_max: int = 127
    a_plus: int = 1
    a_minus: int = 1
    shift: int = 6


def stdp_params(config: ExampleConfig) -> STDPParams:
    return STDPParams(
        w_min=0,
        w_max=config.w_max,
        a_plus=config.a_plus,
        a_minus=config.a_minus,
        shift=config.shift,
        trace_width=8,
        pre_increment=96,
        post_increment=96,
        pre_decay=Decay.multiply(768, 12, rounding="floor"),
        post_decay=Decay.multiply(768, 12, rounding="floor"),
    )


def neuron_params(config: ExampleConfig, theta) -> NeuronParams:
    # input_count_cap=1: the rate code sends at most one spike per line and step anyway, and a
    # learning core needs it (docs/learning.md section 3).
    return NeuronParams(
        v_width=16,
        v_overflow="saturate",
        v_decay=Decay.multiply(384, 12),
        threshold=np.asarray(config.base_threshold + theta, dtype=np.int64),
        refractory_period=1,
        input_count_cap=1,
    )


def build_network(config: ExampleConfig, weights, theta) -> Network:
    """The network of the module docstring with input weights ``weights`` (64, n) and
    homeostatic threshold offsets ``theta`` (n,)."""
    n = config.n_neurons
    inhibition = -config.inhibition * (1 - np.eye(n, dtype=np.int64))
    return Network(
        inputs=[InputGroup("pixels", 64)],
        populations=[Population("exc", n, neuron_params(config, theta), weight_width=16)],
        projections=[
            Projection(
                "pixels",
                "exc",
                weights,
                synapses=np.ones((64, n), dtype=bool),
                plasticity=stdp_params(config),
            ),
            Projection("exc", "exc", inhibition),
        ],
        outputs=["exc"],
    )


def normalize_columns(weights: np.ndarray, column_sum: int, w_max: int) -> np.ndarray:
    """``min(w_max, (w * S) // sum(column))`` per column; zero columns unchanged."""
    sums = weights.sum(axis=0, keepdims=True)
    scaled = (weights * column_sum) // np.maximum(sums, 1)
    return np.where(sums > 0, np.minimum(scaled, w_max), weights)


def _data(config: ExampleConfig):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.reshape(len(digits.images), 64).astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.3, random_state=config.seed, stratify=digits.target
    )
    if config.train_limit is not None:
        x_train, y_train = x_train[: config.train_limit], y_train[: config.train_limit]
    return x_train, y_train, x_test, y_test


def _encode(images, steps):
    """(steps, batch, 64) spikes of the rate code (levels 16)."""
    return rate_code(images, 16, steps)


def _counts(network, images, steps, chunk=256):
    """Spike counts (batch, n) of the frozen network, in chunks."""
    out = []
    for start in range(0, len(images), chunk):
        trace = simulate(
            network, {"pixels": _encode(images[start : start + chunk], steps)}, learn=False
        )
        out.append(trace.spikes["exc"].sum(axis=0))
    return np.concatenate(out)


def train(config: ExampleConfig, x_train):
    rng = np.random.default_rng(config.seed)
    n = config.n_neurons
    weights = normalize_columns(
        rng.integers(10, 60, size=(64, n), endpoint=True), config.column_sum, config.w_max
    )
    theta = np.zeros(n, dtype=np.int64)
    pre_trace = np.zeros((1, 64), np.int64)
    post_trace = np.zeros((1, n), np.int64)
    spikes_per_sample = []
    for _ in range(config.epochs):
        order = rng.permutation(len(x_train))
        for index in order:
            network = build_network(config, weights, theta)
            spikes = _encode(x_train[index : index + 1], config.steps)
            learning = {KEY: STDPState(weights[None].copy(), pre_trace, post_trace)}
            trace = simulate(network, {"pixels": spikes}, learning=learning)
            pre_trace = trace.learning[KEY].pre_trace
            post_trace = trace.learning[KEY].post_trace
            weights = normalize_columns(trace.weights[KEY][0], config.column_sum, config.w_max)
            fired = trace.spikes["exc"][:, 0].sum(axis=0)
            spikes_per_sample.append(int(fired.sum()))
            theta = theta + config.theta_step * fired
            theta = theta - (theta >> config.theta_decay_shift)
    return weights, theta, spikes_per_sample


def evaluate(config, network, x_train, y_train, x_test, y_test):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train_counts = _counts(network, x_train, config.steps)
    test_counts = _counts(network, x_test, config.steps)
    # Label vote: per-class mean count of each neuron, its class = argmax.
    means = np.stack([train_counts[y_train == c].mean(axis=0) for c in range(10)])
    labels = means.argmax(axis=0)
    active = means.max(axis=0) > 0

    def vote(counts):
        scores = np.stack(
            [
                counts[:, (labels == c) & active].sum(axis=1)
                / max(1, np.count_nonzero((labels == c) & active))
                for c in range(10)
            ],
            axis=1,
        )
        return scores.argmax(axis=1)

    scaler = StandardScaler().fit(train_counts)
    readout = LogisticRegression(max_iter=2000, C=1.0)
    readout.fit(scaler.transform(train_counts), y_train)
    return {
        "vote_accuracy_train": float((vote(train_counts) == y_train).mean()),
        "vote_accuracy_test": float((vote(test_counts) == y_test).mean()),
        "logistic_accuracy_train": float(readout.score(scaler.transform(train_counts), y_train)),
        "logistic_accuracy_test": float(readout.score(scaler.transform(test_counts), y_test)),
        "mean_spikes_per_test_image": float(test_counts.sum(axis=1).mean()),
        "silent_test_images": int((test_counts.sum(axis=1) == 0).sum()),
        "neurons_used": int(active.sum()),
        "neuron_labels": labels.tolist(),
    }


def weights_png(weights, path, labels=None) -> None:
    """Every neuron's 64 input weights as an 8x8 tile, in a near-square grid (Agg, no
    pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = weights.shape[1]
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    figure = Figure(figsize=(cols * 0.9, rows * 0.9 + 0.4), dpi=100)
    FigureCanvasAgg(figure)
    for k in range(n):
        axes = figure.add_subplot(rows, cols, k + 1)
        axes.imshow(
            weights[:, k].reshape(8, 8),
            cmap="gray_r",
            vmin=0,
            vmax=max(1, int(weights.max())),
            interpolation="nearest",
        )
        axes.set_xticks([])
        axes.set_yticks([])
        if labels is not None:
            axes.set_title(str(labels[k]), fontsize=7, pad=1)
    figure.suptitle("learned pixel -> neuron weights (title: neuron's class)", fontsize=9)
    figure.savefig(path)


def run(out_dir, config: ExampleConfig = ExampleConfig()) -> dict:
    """Train, evaluate, write the report, the weights and the image; return the report."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    x_train, y_train, x_test, y_test = _data(config)
    weights, theta, spikes = train(config, x_train)
    trained = time.perf_counter()
    network = build_network(config, weights, theta)
    report = {
        "config": asdict(config),
        "train_images": int(len(x_train)),
        "test_images": int(len(x_test)),
        "mean_spikes_per_training_image": float(np.mean(spikes)),
    }
    report.update(evaluate(config, network, x_train, y_train, x_test, y_test))
    report["train_seconds"] = round(trained - started, 2)
    report["total_seconds"] = round(time.perf_counter() - started, 2)
    np.save(out / "weights.npy", weights)
    weights_png(weights, out / "weights.png", report["neuron_labels"])
    (out / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python examples/digits_stdp.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out_dir")
    parser.add_argument("--neurons", type=int, default=ExampleConfig.n_neurons)
    parser.add_argument("--epochs", type=int, default=ExampleConfig.epochs)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=ExampleConfig.seed)
    args = parser.parse_args(argv)
    config = ExampleConfig(
        n_neurons=args.neurons, epochs=args.epochs, train_limit=args.train_limit, seed=args.seed
    )
    report = run(args.out_dir, config)
    print(
        f"test accuracy: {report['logistic_accuracy_test']:.3f} (logistic readout on spike "
        f"counts), {report['vote_accuracy_test']:.3f} (neuron label vote); "
        f"{report['neurons_used']}/{config.n_neurons} neurons used; "
        f"{report['total_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
