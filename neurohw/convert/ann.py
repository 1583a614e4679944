"""ANN-to-SNN conversion: a trained ReLU multilayer perceptron to an integer spiking Network.

The classic rate-based conversion (Diehl et al. 2015, Rueckauer et al. 2017), defined exactly
(``docs/conversion.md``):

* **Layers**: ``(W_l, b_l)``, ``W_l`` of shape ``(n_in, n_out)`` (scikit-learn's ``coefs_`` and
  Keras' layout; PyTorch users pass ``linear.weight.T``), ReLU after every layer but the last.
* **Data-based normalization**: on a calibration set, ``a_0 = x / input_max``,
  ``a_l = relu(a_{l-1} W'_l + b'_l)`` with the *original* ANN (the last layer's ReLU only for
  this statistic); ``lambda_l`` = the ``percentile``-th percentile of the positive entries of
  ``a_l`` (``lambda_0 = 1``). The SNN uses ``W_l lambda_{l-1} / lambda_l`` and
  ``b_l / lambda_l`` with threshold 1, so a rate of one spike per step stands for the
  activation ``lambda_l``.
* **Neurons**: integrate-and-fire (no leak) with reset by subtraction, at most one spike per
  step; the bias is a constant current added to the membrane every step. In float
  (:mod:`neurohw.network.floatnet`: ``IF``, ``dt = 1``, ``r = 1``, ``v_threshold = 1``,
  ``reset="subtract"``) and in integers through ``quantize(..., model="if")``:
  ``v = sat(v + sum count * w + bias)``; ``v > vth``: spike, ``v -= vth``.
* **Input**: features ``x`` in ``[0, input_max]`` become integer levels
  ``q = floor(x / input_max * L + 1/2)`` (``L = input_levels``; digits pixels 0..16 with
  ``input_max = 16``, ``L = 16`` are exact). ``"direct"`` (constant current): the input group
  has ``max_count = L`` and carries ``q`` on every line in every step, with first-layer weights
  ``W_1 / (L lambda_1)``, so the first layer's drive is the exact constant
  ``(q / L) W_1 / lambda_1`` each step. ``"rate"``: binary spikes of the deterministic rate
  code of :mod:`neurohw.encoding.rate` (``floor((t + 1) q / L + 1/2)`` cumulative, the digits
  encoder) with first-layer weights ``W_1 / lambda_1``.
* **Output**: the last layer is an IF population too; the class is the argmax of its spike
  counts over the run (the lowest index wins a tie). Spikes of layer ``l`` reach layer ``l + 1``
  one step later, so the output layer of an ``L``-layer network first receives input in step
  ``L - 1``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ..encoding.rate import rate_code
from ..network.floatnet import FloatInput, FloatNetwork, FloatPopulation, FloatProjection
from ..network.graph import Network
from ..network.quantize import QuantizationReport, quantize

__all__ = [
    "ConversionError",
    "Conversion",
    "convert",
    "layers_from_mlp",
    "ann_forward",
    "INPUT_ENCODINGS",
    "INPUT_NAME",
]

INPUT_ENCODINGS = ("direct", "rate")
INPUT_NAME = "x"


class ConversionError(ValueError):
    """A network or a calibration set that cannot be converted; the message says why."""


def _layer_names(n_layers: int) -> list[str]:
    return [f"h{k + 1}" for k in range(n_layers - 1)] + ["out"]


def layers_from_mlp(mlp) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """``([(W, b), ...], classes)`` of a fitted scikit-learn ``MLPClassifier`` with ReLU
    hidden layers and one output per class."""
    activation = getattr(mlp, "activation", None)
    if activation != "relu":
        raise ConversionError(
            f"MLPClassifier activation must be 'relu', not {activation!r}: "
            f"only ReLU activations map onto integrate-and-fire firing rates"
        )
    if not hasattr(mlp, "coefs_") or not hasattr(mlp, "intercepts_"):
        raise ConversionError(
            "the MLPClassifier is not fitted (it has no coefs_); call fit() first"
        )
    classes = np.asarray(mlp.classes_)
    if mlp.coefs_[-1].shape[1] != len(classes) or len(classes) < 3:
        raise ConversionError(
            f"the MLPClassifier has {len(classes)} classes and "
            f"{mlp.coefs_[-1].shape[1]} output unit(s); conversion needs one "
            f"output unit per class (at least 3 classes; scikit-learn gives "
            f"a 2-class problem a single logistic output)"
        )
    layers = [
        (np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64))
        for w, b in zip(mlp.coefs_, mlp.intercepts_)
    ]
    return layers, classes


def _check_layers(layers) -> list[tuple[np.ndarray, np.ndarray]]:
    try:
        layers = list(layers)
    except TypeError:
        raise ConversionError(
            f"layers must be a list of (weights, biases) pairs, not {type(layers).__name__}"
        ) from None
    if not layers:
        raise ConversionError("layers is empty; give at least one (weights, biases) pair")
    out = []
    for k, layer in enumerate(layers):
        try:
            w, b = layer
        except (TypeError, ValueError):
            raise ConversionError(f"layer {k} must be a (weights, biases) pair") from None
        w = np.asarray(w, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if w.ndim != 2:
            raise ConversionError(
                f"layer {k} weights must be 2-D (n_in, n_out), not shape {w.shape}"
            )
        if b.shape != (w.shape[1],):
            raise ConversionError(
                f"layer {k} biases must have shape ({w.shape[1]},) to match "
                f"weights of shape {w.shape} (n_in, n_out), not {b.shape}"
            )
        if k and w.shape[0] != out[-1][0].shape[1]:
            raise ConversionError(
                f"layer {k} weights have {w.shape[0]} inputs, but layer "
                f"{k - 1} has {out[-1][0].shape[1]} outputs (weights are "
                f"(n_in, n_out); PyTorch users pass linear.weight.T)"
            )
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ConversionError(f"layer {k} weights and biases must be finite")
        out.append((w, b))
    return out


def ann_forward(layers, x, *, relu_last: bool = False) -> list[np.ndarray]:
    """Activations of every layer (the last without ReLU unless ``relu_last``) for inputs
    ``x`` ``(n, n_in)``."""
    activations = []
    a = np.asarray(x, dtype=np.float64)
    for k, (w, b) in enumerate(layers):
        z = a @ w + b
        a = np.maximum(z, 0.0) if (k < len(layers) - 1 or relu_last) else z
        activations.append(a)
    return activations


@dataclass
class Conversion:
    """The result of :func:`convert`: the original layers, the normalization, the float SNN,
    the integer :class:`Network` and its quantization report, and the input encoder."""

    layers: list = field(repr=False)
    classes: np.ndarray = field(repr=False)
    lambdas: list  # lambda_1..lambda_L (activation percentiles)
    percentile: float
    input_encoding: str
    input_levels: int
    input_max: float
    float_net: FloatNetwork = field(repr=False)
    network: Network = field(repr=False)
    quantization: QuantizationReport = field(repr=False)
    notes: list = field(default_factory=list)

    @property
    def population_names(self) -> list[str]:
        return _layer_names(len(self.layers))

    @property
    def output(self) -> str:
        return "out"

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one ANN inference (dense layers)."""
        return int(sum(w.shape[0] * w.shape[1] for w, _ in self.layers))

    @property
    def latency(self) -> int:
        """Steps before the output layer first receives input (one per hop)."""
        return len(self.layers) - 1

    def input_levels_of(self, x) -> np.ndarray:
        """Integer levels ``q = floor(x / input_max * L + 1/2)``, int64 ``(n, n_in)``."""
        x = np.asarray(x, dtype=np.float64)
        n_in = self.layers[0][0].shape[0]
        if x.ndim == 1:
            x = x[np.newaxis]
        if x.ndim != 2 or x.shape[1] != n_in:
            raise ConversionError(f"inputs must have shape (n, {n_in}), not {x.shape}")
        if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > self.input_max):
            raise ConversionError(
                f"input features must lie in [0, input_max={self.input_max:g}]"
                f", not [{x.min():g}, {x.max():g}]; counts cannot be "
                f"negative"
            )
        return np.floor(x / self.input_max * self.input_levels + 0.5).astype(np.int64)

    def encode(self, x, steps: int) -> np.ndarray:
        """Input counts int64 ``(steps, n, n_in)`` for features ``x`` ``(n, n_in)``."""
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
            raise ConversionError(f"steps must be a positive integer, not {steps!r}")
        q = self.input_levels_of(x)
        if self.input_encoding == "direct":
            return np.broadcast_to(q, (int(steps),) + q.shape).copy()
        return rate_code(q, self.input_levels, int(steps))

    def ann_predict(self, x) -> np.ndarray:
        """Class labels the ANN predicts (argmax of the last layer)."""
        scores = ann_forward(self.layers, np.asarray(x, dtype=np.float64) / self.input_max)[-1]
        return self.classes[np.argmax(scores, axis=1)]

    def summary(self) -> str:
        lines = [
            f"ANN-to-SNN conversion: {len(self.layers)} layers "
            f"({' -> '.join(str(w.shape[0]) for w, _ in self.layers)} -> "
            f"{self.layers[-1][0].shape[1]}), {self.input_encoding} input "
            f"({self.input_levels} levels), percentile {self.percentile:g}",
            "  lambdas: "
            + ", ".join(
                f"{name} {lam:.4g}" for name, lam in zip(self.population_names, self.lambdas)
            ),
        ]
        lines += [f"  note: {note}" for note in self.notes]
        lines.append(self.quantization.table())
        return "\n".join(lines)


def convert(
    model,
    calibration,
    *,
    percentile: float = 99.9,
    input_encoding: str = "direct",
    input_levels: int = 16,
    input_max: float = 1.0,
    weight_width: int = 8,
    v_width: int = 24,
    activation: str = "relu",
    classes=None,
) -> Conversion:
    """Convert a ReLU network to an integer spiking :class:`Network` (module docstring).

    ``model``: a fitted scikit-learn ``MLPClassifier`` (``activation='relu'``) or a list of
    ``(weights (n_in, n_out), biases (n_out,))`` numpy pairs with ReLU between them
    (``activation`` must then be ``"relu"``; ``classes`` optionally names the outputs).
    ``calibration``: ANN inputs ``(n, n_in)`` in ``[0, input_max]`` for the normalization.
    Returns a :class:`Conversion`; ``.network`` maps and generates like any other Network.
    """
    if isinstance(model, (list, tuple)):
        if activation != "relu":
            raise ConversionError(
                f"activation must be 'relu', not {activation!r}: only ReLU "
                f"activations map onto integrate-and-fire firing rates"
            )
        layers = _check_layers(model)
        n_out = layers[-1][0].shape[1]
        classes = np.arange(n_out) if classes is None else np.asarray(classes)
        if classes.shape != (n_out,):
            raise ConversionError(
                f"classes must name the {n_out} outputs, not shape {classes.shape}"
            )
    elif (
        hasattr(model, "activation")
        and hasattr(model, "classes_")
        or type(model).__name__ == "MLPClassifier"
    ):
        layers, classes = layers_from_mlp(model)
        layers = _check_layers(layers)
    else:
        raise ConversionError(
            f"model must be a fitted sklearn MLPClassifier or a list of "
            f"(weights, biases) pairs, not {type(model).__name__}"
        )
    if input_encoding not in INPUT_ENCODINGS:
        raise ConversionError(
            f"input_encoding must be one of "
            f"{', '.join(map(repr, INPUT_ENCODINGS))}, not {input_encoding!r}"
        )
    if (
        isinstance(input_levels, bool)
        or not isinstance(input_levels, numbers.Integral)
        or not 1 <= input_levels <= 65535
    ):
        raise ConversionError(
            f"input_levels must be an integer between 1 and 65535, not {input_levels!r}"
        )
    if (
        isinstance(percentile, bool)
        or not isinstance(percentile, numbers.Real)
        or not 0 < percentile <= 100
    ):
        raise ConversionError(f"percentile must be in (0, 100], not {percentile!r}")
    if (
        isinstance(input_max, bool)
        or not isinstance(input_max, numbers.Real)
        or not math.isfinite(input_max)
        or input_max <= 0
    ):
        raise ConversionError(f"input_max must be a positive number, not {input_max!r}")
    n_in = layers[0][0].shape[0]
    calibration = np.asarray(calibration, dtype=np.float64)
    if calibration.size == 0:
        raise ConversionError(
            f"the calibration set is empty (shape {calibration.shape}); pass "
            f"at least one sample of shape (n, {n_in}), e.g. the training "
            f"inputs"
        )
    if calibration.ndim != 2:
        raise ConversionError(
            f"the calibration set must be 2-D (n, {n_in}), not shape {calibration.shape}"
        )
    if calibration.shape[1] != n_in:
        raise ConversionError(
            f"calibration samples have {calibration.shape[1]} features, but "
            f"the first layer has {n_in} inputs"
        )
    if not np.all(np.isfinite(calibration)):
        raise ConversionError("the calibration set must be finite")

    notes = []
    activations = ann_forward(layers, calibration / input_max, relu_last=True)
    lambdas = []
    names = _layer_names(len(layers))
    for name, a in zip(names, activations):
        positive = a[a > 0]
        if positive.size == 0:
            notes.append(f"{name}: no positive activation on the calibration set; lambda = 1")
            lambdas.append(1.0)
        else:
            lambdas.append(float(np.percentile(positive, percentile)))

    inputs = [
        FloatInput(
            INPUT_NAME, n_in, max_count=int(input_levels) if input_encoding == "direct" else 1
        )
    ]
    populations, projections = [], []
    source, previous_lambda = INPUT_NAME, 1.0
    for (w, b), name, lam in zip(layers, names, lambdas):
        weight = w * previous_lambda / lam
        if source == INPUT_NAME and input_encoding == "direct":
            weight = weight / input_levels
        populations.append(
            FloatPopulation(
                name,
                w.shape[1],
                "IF",
                r=1.0,
                v_threshold=1.0,
                input_bias=b / lam,
                reset="subtract",
                origin="ReLU layer",
            )
        )
        projections.append(FloatProjection(source, name, weight))
        source, previous_lambda = name, lam
    float_net = FloatNetwork(
        inputs=inputs, populations=populations, projections=projections, outputs=["out"], dt=1.0
    )
    network, report = quantize(float_net, model="if", weight_width=weight_width, v_width=v_width)
    return Conversion(
        layers=layers,
        classes=classes,
        lambdas=lambdas,
        percentile=float(percentile),
        input_encoding=input_encoding,
        input_levels=int(input_levels),
        input_max=float(input_max),
        float_net=float_net,
        network=network,
        quantization=report,
        notes=notes,
    )
