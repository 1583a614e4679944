"""A spiking digit classifier trained with numpy only, exported to NIR.

Data: scikit-learn's bundled ``load_digits`` (1797 grey 8x8 images, pixel values 0..16; shipped
inside scikit-learn, nothing is downloaded). :func:`load_split` shuffles it with a seeded
permutation and holds out the last ``test_fraction`` (default 20 %, 360 images) as the test set.

Encoding (:func:`encode_images`), deterministic so that the float model, the integer model and
the RTL simulation see exactly the same input: pixel value ``p`` (0..16) becomes a spike train of
``steps`` binary steps whose cumulative count after step ``t`` is
``floor((t + 1) * p / 16 + 1/2)``; i.e. a regular spike train of rate ``p / 16`` spikes per step,
phase-centred (``p = 16`` spikes every step, ``p = 1`` spikes once, in step 7 when
``steps = 16``; the total is ``round_half_up(steps * p / 16)``).

Network: 64 inputs -> ``hidden`` LIF -> 10 LIF, spike-count readout (argmax of the output spike
counts, the lowest index wins a tie). Dynamics, per step ``t`` (the discrete-time form of
:mod:`neurohw.network.floatnet` with ``gain = 1``, ``v_leak = 0``, ``v_reset = 0``)::

    v1 = beta_hidden * v1 + x[t] @ w1 + b1;   s1[t] = v1 > threshold;   v1 = 0 where s1[t]
    v2 = beta_out * v2 + s1[t-1] @ w2 + b2;   s2[t] = v2 > threshold;   v2 = 0 where s2[t]

The output layer sees the hidden spikes one step late (``s1[-1] = 0``): that is the integer
network's delivery of a spike in step ``t + 1``. Training: BPTT through these exact dynamics with
a fast-sigmoid surrogate gradient ``1 / (1 + slope * |v - threshold|)^2`` for the spike, the reset
treated as a constant, a softmax cross-entropy on ``logit_scale * spike counts``, Adam, seeded.
The decay factors default to ``1 - 512/4096 = 0.875``, which the Loihi decay (12-bit ``dv``)
represents exactly.

Export (:func:`to_nir`): ``Input(64) -> Affine -> LIF -> Affine -> LIF -> Output`` with
``dt = model.dt`` (default 1 ms; stored in the graph's metadata, but an importer must still be
told ``dt``), ``tau = dt / (1 - beta)``, ``r = tau / dt`` (so that ``(dt/tau) * r = 1``: the
Euler discretization reproduces the trained dynamics), ``v_leak = 0``, ``v_reset = 0`` -- the same
conventions as snnTorch's exporter, with our ``dt`` and a reset NIR can state.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

__all__ = [
    "DigitsConfig",
    "DigitsModel",
    "load_split",
    "encode_images",
    "test_set",
    "train",
    "forward",
    "to_nir",
    "export_nir",
    "accuracy",
]

N_PIXELS = 64
N_CLASSES = 10
MAX_PIXEL = 16


@dataclass(frozen=True)
class DigitsConfig:
    """Everything that determines a trained model (with the scikit-learn data)."""

    hidden: int = 64
    steps: int = 16
    beta_hidden: float = 1 - 512 / 4096
    beta_out: float = 1 - 512 / 4096
    threshold: float = 1.0
    bias: bool = True
    epochs: int = 40
    batch_size: int = 64
    learning_rate: float = 5e-3
    logit_scale: float = 0.5
    surrogate_slope: float = 5.0
    seed: int = 0
    test_fraction: float = 0.2
    dt: float = 1e-3


@dataclass
class DigitsModel:
    """Trained float weights (``w1`` (64, hidden), ``w2`` (hidden, 10): (source, target)) and
    the configuration; ``history`` holds per-epoch training loss/accuracy."""

    config: DigitsConfig
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    train_seconds: float = 0.0
    history: list = field(default_factory=list)

    @property
    def dt(self) -> float:
        return self.config.dt


def load_split(*, seed: int = 0, test_fraction: float = 0.2):
    """``(x_train, y_train, x_test, y_test)``: images as int64 (n, 64) pixel values 0..16 and
    labels 0..9, split by a permutation drawn from ``numpy.random.default_rng(seed)``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = np.asarray(data.data, dtype=np.int64)
    labels = np.asarray(data.target, dtype=np.int64)
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, not {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = int(round(len(labels) * test_fraction))
    train_idx, test_idx = order[:-n_test], order[-n_test:]
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


def encode_images(images, steps: int) -> np.ndarray:
    """Deterministic rate code: int64 spike counts (steps, batch, 64), each 0 or 1 (module
    docstring)."""
    images = np.asarray(images, dtype=np.int64)
    if images.ndim == 1:
        images = images[np.newaxis]
    if images.ndim != 2 or images.shape[1] != N_PIXELS:
        raise ValueError(f"images must have shape (batch, 64), not {images.shape}")
    if images.size and (images.min() < 0 or images.max() > MAX_PIXEL):
        raise ValueError(f"pixel values must be between 0 and {MAX_PIXEL}")
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    t = np.arange(steps + 1)[:, np.newaxis, np.newaxis]
    # floor(t * p / 16 + 1/2) in integers: (2 * t * p + 16) // 32
    cumulative = (2 * t * images[np.newaxis] + MAX_PIXEL) // (2 * MAX_PIXEL)
    return np.diff(cumulative, axis=0).astype(np.int64)


def test_set(
    steps: int = DigitsConfig.steps,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    limit: int | None = None,
):
    """The held-out test set, encoded: ``(counts int64 (steps, n, 64), labels int64 (n,))``.
    ``limit`` keeps the first ``limit`` samples (for quick checks)."""
    _, _, x_test, y_test = load_split(seed=seed, test_fraction=test_fraction)
    if limit is not None:
        x_test, y_test = x_test[:limit], y_test[:limit]
    return encode_images(x_test, steps), y_test


def _surrogate(v, threshold, slope):
    return 1.0 / (1.0 + slope * np.abs(v - threshold)) ** 2


def _run(x, w1, b1, w2, b2, config: DigitsConfig, keep=False):
    """Forward pass on float counts ``x`` (steps, batch, 64). Returns hidden and output spikes
    (and the pre-reset membranes when ``keep``)."""
    steps, batch, _ = x.shape
    hidden = w1.shape[1]
    theta = config.threshold
    v1 = np.zeros((batch, hidden))
    v2 = np.zeros((batch, N_CLASSES))
    s1 = np.zeros((steps, batch, hidden))
    s2 = np.zeros((steps, batch, N_CLASSES))
    u1 = np.zeros((steps, batch, hidden)) if keep else None
    u2 = np.zeros((steps, batch, N_CLASSES)) if keep else None
    previous = np.zeros((batch, hidden))
    for t in range(steps):
        v1 = config.beta_hidden * v1 + (x[t] @ w1 + b1)
        v2 = config.beta_out * v2 + (previous @ w2 + b2)
        if keep:
            u1[t], u2[t] = v1, v2
        spike1, spike2 = v1 > theta, v2 > theta
        s1[t], s2[t] = spike1, spike2
        v1 = np.where(spike1, 0.0, v1)
        v2 = np.where(spike2, 0.0, v2)
        previous = s1[t]
    return s1, s2, u1, u2


def forward(model: DigitsModel, counts):
    """The trainer's own forward pass on spike counts (steps, batch, 64): returns
    ``(hidden spikes, output spikes)``, each (steps, batch, size) float 0/1 arrays."""
    x = np.asarray(counts, dtype=np.float64)
    s1, s2, _, _ = _run(x, model.w1, model.b1, model.w2, model.b2, model.config)
    return s1, s2


def accuracy(output_spikes, labels) -> float:
    """Fraction of samples whose output spike count is highest (lowest index on ties) for the
    right class."""
    return float(
        np.mean(np.argmax(np.asarray(output_spikes).sum(axis=0), axis=1) == np.asarray(labels))
    )


def train(config: DigitsConfig | None = None, *, verbose: bool = False, **overrides) -> DigitsModel:
    """Train on the training split; deterministic for a given config (seeded numpy)."""
    config = replace(config or DigitsConfig(), **overrides)
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    x_train, y_train, _, _ = load_split(seed=config.seed, test_fraction=config.test_fraction)
    x_all = encode_images(x_train, config.steps).astype(np.float64)
    hidden = config.hidden
    params = {
        "w1": rng.normal(0.0, 1.0 / np.sqrt(N_PIXELS), (N_PIXELS, hidden)) * 1.5,
        "b1": np.zeros(hidden),
        "w2": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, N_CLASSES)) * 1.5,
        "b2": np.zeros(N_CLASSES),
    }
    trainable = ["w1", "w2"] + (["b1", "b2"] if config.bias else [])
    m = {k: np.zeros_like(v) for k, v in params.items()}
    s = {k: np.zeros_like(v) for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    step_count = 0
    history = []
    n = len(y_train)
    theta, slope = config.threshold, config.surrogate_slope
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        total_loss, correct = 0.0, 0
        for first in range(0, n, config.batch_size):
            idx = order[first : first + config.batch_size]
            x, y = x_all[:, idx], y_train[idx]
            batch = len(idx)
            s1, s2, u1, u2 = _run(
                x, params["w1"], params["b1"], params["w2"], params["b2"], config, keep=True
            )
            counts = s2.sum(axis=0)
            logits = config.logit_scale * counts
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            total_loss += float(-np.log(p[np.arange(batch), y] + 1e-12).sum())
            correct += int(np.sum(np.argmax(counts, axis=1) == y))
            g_counts = p.copy()
            g_counts[np.arange(batch), y] -= 1.0
            g_counts *= config.logit_scale / batch
            steps = x.shape[0]
            # Output layer, backwards in time.
            delta2 = np.zeros_like(u2)
            carry = np.zeros((batch, N_CLASSES))
            for t in range(steps - 1, -1, -1):
                d = g_counts * _surrogate(u2[t], theta, slope) + carry * (1.0 - s2[t])
                delta2[t] = d
                carry = config.beta_out * d
            # The output layer's input at step t is s1[t-1].
            s1_prev = np.concatenate([np.zeros_like(s1[:1]), s1[:-1]], axis=0)
            grads = {"w2": np.einsum("tbh,tbo->ho", s1_prev, delta2), "b2": delta2.sum(axis=(0, 1))}
            g_s1 = np.zeros_like(s1)
            g_s1[:-1] = delta2[1:] @ params["w2"].T
            delta1 = np.zeros_like(u1)
            carry = np.zeros((batch, hidden))
            for t in range(steps - 1, -1, -1):
                d = g_s1[t] * _surrogate(u1[t], theta, slope) + carry * (1.0 - s1[t])
                delta1[t] = d
                carry = config.beta_hidden * d
            grads["w1"] = np.einsum("tbi,tbh->ih", x, delta1)
            grads["b1"] = delta1.sum(axis=(0, 1))
            step_count += 1
            for k in trainable:
                m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                s[k] = beta2 * s[k] + (1 - beta2) * grads[k] ** 2
                m_hat = m[k] / (1 - beta1**step_count)
                s_hat = s[k] / (1 - beta2**step_count)
                params[k] = params[k] - config.learning_rate * m_hat / (np.sqrt(s_hat) + eps)
        history.append({"epoch": epoch, "loss": total_loss / n, "train_accuracy": correct / n})
        if verbose:
            print(
                f"epoch {epoch + 1}/{config.epochs}: loss {total_loss / n:.4f}, "
                f"train accuracy {correct / n:.4f}",
                flush=True,
            )
    return DigitsModel(
        config=config,
        w1=params["w1"],
        b1=params["b1"],
        w2=params["w2"],
        b2=params["b2"],
        train_seconds=time.perf_counter() - start,
        history=history,
    )


def to_nir(model: DigitsModel):
    """The model as a ``nir.NIRGraph``: input -> fc1 (Affine) -> lif1 (LIF) -> fc2 (Affine) ->
    lif2 (LIF) -> output; parameters as in the module docstring."""
    import nir

    config = model.config
    dt = config.dt

    def lif(beta, size):
        tau = np.full(size, dt / (1.0 - beta))
        return nir.LIF(
            tau=tau,
            r=tau / dt,
            v_leak=np.zeros(size),
            v_threshold=np.full(size, config.threshold),
            v_reset=np.zeros(size),
        )

    hidden = model.w1.shape[1]
    nodes = {
        "input": nir.Input(input_type={"input": np.array([N_PIXELS])}),
        "fc1": nir.Affine(weight=np.ascontiguousarray(model.w1.T), bias=model.b1.copy()),
        "lif1": lif(config.beta_hidden, hidden),
        "fc2": nir.Affine(weight=np.ascontiguousarray(model.w2.T), bias=model.b2.copy()),
        "lif2": lif(config.beta_out, N_CLASSES),
        "output": nir.Output(output_type={"output": np.array([N_CLASSES])}),
    }
    edges = [
        ("input", "fc1"),
        ("fc1", "lif1"),
        ("lif1", "fc2"),
        ("fc2", "lif2"),
        ("lif2", "output"),
    ]
    metadata = {
        "producer": "neurohw.train.digits",
        "dt": dt,
        "encoding": "rate, deterministic",
        "steps": config.steps,
        "config": {k: v for k, v in asdict(config).items()},
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def export_nir(model: DigitsModel, path) -> Path:
    """Write the model's NIR graph to ``path`` (HDF5, ``nir.write``) and return the path."""
    import nir

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nir.write(path, to_nir(model))
    return path
