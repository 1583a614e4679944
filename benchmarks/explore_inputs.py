"""Inputs of the `neurohw explore` runs in docs/explore.md ("Measured"): the digits network
(trained, exported to NIR) with its labelled test set, and a 784-128-10 network file with
random 8-bit weights and rate-coded random inputs (the BENCHMARKS.md mnist rows' network).

    python benchmarks/explore_inputs.py OUTDIR

writes OUTDIR/digits.nir, OUTDIR/digits_test.npz (counts and labels), OUTDIR/mnist.npz (the
784-128-10 network file) and OUTDIR/mnist_inputs.npz; and, for the iCE40UP5K sweeps with
weights in SPRAM, OUTDIR/mnist_w2.npz and OUTDIR/mnist_w4.npz (the 784-128-10 of the
BENCHMARKS.md ``mnist-w*-spram`` rows, random 2- and 4-bit weights,
``make_benchmarks.mnist_network``) with OUTDIR/mnist_bench_inputs.npz (their inputs,
``make_benchmarks.mnist_inputs``).
"""

import sys
from pathlib import Path

import numpy as np

from neurohw.model import loihi_cuba_lif
from neurohw.network import InputGroup, Network, Population, Projection
from neurohw.train import digits


def main(outdir) -> None:
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    config = digits.DigitsConfig()
    model = digits.train(config)
    digits.export_nir(model, outdir / "digits.nir")
    counts, labels = digits.test_set(
        config.steps, seed=config.seed, test_fraction=config.test_fraction
    )
    np.savez(outdir / "digits_test.npz", input=counts, labels=labels)
    print(f"digits: dt {model.dt}, {len(labels)} test samples, input shape {counts.shape}")

    rng = np.random.default_rng(1)
    params = loihi_cuba_lif(du=4095, dv=256, vth=400)
    network = Network(
        inputs=[InputGroup("x", 784)],
        populations=[Population("h", 128, params), Population("o", 10, params)],
        projections=[
            Projection("x", "h", rng.integers(-128, 128, (784, 128))),
            Projection("h", "o", rng.integers(-128, 128, (128, 10))),
        ],
        outputs=["o"],
    )
    network.save(outdir / "mnist.npz")
    x = (rng.random((16, 4, 784)) < 0.1).astype(np.int64)
    np.savez(outdir / "mnist_inputs.npz", x=x)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import make_benchmarks as mb

    for width in (2, 4):
        mb.mnist_network(weight_width=width).save(outdir / f"mnist_w{width}.npz")
    np.savez(outdir / "mnist_bench_inputs.npz", **mb.mnist_inputs())


if __name__ == "__main__":
    main(sys.argv[1])
