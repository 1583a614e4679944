"""A synthetic N-MNIST-sized convolutional SNN and N-MNIST-like event input (issue #15).

The network has the shape of the NIR paper's Sinabs N-MNIST CNN, with random (seeded) integer
weights instead of trained ones::

    events 2x34x34 -> conv1 3x3, 8 ch  -> IF 8x32x32
                   -> 2x2 SumPool -> conv2 3x3, 16 ch -> IF 16x14x14
                   -> 2x2 SumPool -> conv3 3x3, 16 ch -> IF 16x5x5
                   -> Affine 400 -> 64, LIF -> Affine 64 -> 10, LIF

Each pooling is the :class:`~neurohw.hw.conv.ConvSpec` ``pool`` in front of the next
convolution, as ``import_nir`` builds it. The conv projections carry only their kernels
(``Projection(source, target, conv=(spec, kernel))``): no dense matrix is built.
"""

from __future__ import annotations

import numpy as np

from neurohw.hw.conv import ConvSpec
from neurohw.model import Decay, NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection

__all__ = ["CONV_SPECS", "nmnist_cnn", "nmnist_events"]

#: The three convolution layers: ``(name, spec)``.
CONV_SPECS = (
    ("conv1", ConvSpec((2, 34, 34), 8, 3)),
    ("conv2", ConvSpec((8, 32, 32), 16, 3, pool=2)),
    ("conv3", ConvSpec((16, 14, 14), 16, 3, pool=2)),
)
HIDDEN = 64
CLASSES = 10
WEIGHT_WIDTH = 8

# Thresholds, chosen (with the kernels' positive bias below) so that every layer spikes at a
# plausible rate on nmnist_events (measured rates in docs/system.md).
CONV_THRESHOLDS = (250, 1000, 4000)
HIDDEN_THRESHOLD = 2500
KERNEL_LOW = -110
AFFINE_LOW = -110
OUTPUT_THRESHOLD = 300


def _if(threshold: int) -> NeuronParams:
    """Sinabs' IF neuron in 16 bits: no decay, reset by subtraction."""
    return NeuronParams(v_width=16, threshold=threshold, reset="subtract")


def _lif(threshold: int) -> NeuronParams:
    """A LIF neuron: membrane decay ``v -= v >> 3`` per step, reset to zero."""
    return NeuronParams(v_width=16, threshold=threshold, v_decay=Decay.shift(3))


def nmnist_cnn(seed: int = 0, *, outputs=("out",)) -> Network:
    """The synthetic N-MNIST-sized CNN with weights drawn from ``seed``: input group
    ``events`` (2312 lines, one event each per step), populations ``conv1``, ``conv2``,
    ``conv3``, ``hidden``, ``out``; ``outputs`` (default ``out``; every population makes the
    chip send every spike of every layer to the host, for an RTL check of all of them)."""
    rng = np.random.default_rng(seed)
    populations, projections = [], []
    source = "events"
    for (name, spec), threshold in zip(CONV_SPECS, CONV_THRESHOLDS):
        # Random 8-bit kernels leaning positive, so that activity reaches the deeper layers.
        kernel = rng.integers(KERNEL_LOW, 128, size=spec.kernel_shape)
        populations.append(
            Population(name, spec.n_neurons, _if(threshold), weight_width=WEIGHT_WIDTH)
        )
        projections.append(Projection(source, name, conv=(spec, kernel)))
        source = name
    flat = CONV_SPECS[-1][1].n_neurons
    populations.append(
        Population("hidden", HIDDEN, _lif(HIDDEN_THRESHOLD), weight_width=WEIGHT_WIDTH)
    )
    projections.append(
        Projection(source, "hidden", rng.integers(AFFINE_LOW, 128, size=(flat, HIDDEN)))
    )
    populations.append(
        Population("out", CLASSES, _lif(OUTPUT_THRESHOLD), weight_width=WEIGHT_WIDTH)
    )
    projections.append(
        Projection("hidden", "out", rng.integers(AFFINE_LOW, 128, size=(HIDDEN, CLASSES)))
    )
    return Network(
        inputs=[InputGroup("events", CONV_SPECS[0][1].n_axons)],
        populations=populations,
        projections=projections,
        outputs=list(outputs),
    )


def nmnist_events(seed: int, *, samples: int = 1, steps: int = 15, events: int = 4000):
    """``{"events": (steps, samples, 2312)}`` spike counts 0/1 like N-MNIST's: each sample a
    digit-like stroke pattern (three random line segments, 2 pixels wide) that moves by a
    saccade of one pixel every few steps; ``events`` events per sample are drawn (ON and OFF
    polarity on the strokes, 10 % of them background noise), and those that land on the same
    line in one step or are moved off the map are dropped: 4000 give about 2,300 (measured in
    ``docs/system.md``)."""
    rng = np.random.default_rng(seed)
    channels, height, width = CONV_SPECS[0][1].in_shape
    out = np.zeros((steps, samples, channels * height * width), dtype=np.int64)
    for sample in range(samples):
        mask = np.zeros((height, width), dtype=bool)
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.integers(6, 28, size=(2, 2))
            for t in np.linspace(0.0, 1.0, 40):
                y, x = int(round(y0 + t * (y1 - y0))), int(round(x0 + t * (x1 - x0)))
                mask[y : y + 2, x : x + 2] = True
        pixels = np.argwhere(mask)
        per_step = events / steps
        for step in range(steps):
            shift = np.array([step // 5, (step // 3) % 3 - 1])
            n_signal = rng.poisson(0.9 * per_step)
            chosen = pixels[rng.integers(0, len(pixels), size=n_signal)] + shift
            chosen = chosen[(chosen >= 0).all(axis=1) & (chosen < [height, width]).all(axis=1)]
            polarity = rng.integers(0, 2, size=len(chosen))
            noise = rng.poisson(0.1 * per_step)
            ys = np.concatenate([chosen[:, 0], rng.integers(0, height, size=noise)])
            xs = np.concatenate([chosen[:, 1], rng.integers(0, width, size=noise)])
            cs = np.concatenate([polarity, rng.integers(0, channels, size=noise)])
            out[step, sample, cs * height * width + ys * width + xs] = 1
    return {"events": out}
