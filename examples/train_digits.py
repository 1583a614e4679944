"""Train the built-in digits classifier (:mod:`neurohw.train.digits`), export it to NIR, import and
quantize it (Loihi-style neurons, 8-bit weights) and report float versus fixed-point test
accuracy, without hardware. ``neurohw example`` does the same and goes on to the chip.

Run: ``python examples/train_digits.py OUT_DIR [--seed S] [--epochs E] [--hidden H] [--steps T]``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from neurohw.network.nir_import import import_nir
from neurohw.network.quantize import evaluate, quantize
from neurohw.train.digits import DigitsConfig, export_nir, test_set, train


def run(out_dir, config: DigitsConfig | None = None, *, verbose: bool = True, **overrides) -> dict:
    """Train, export ``digits.nir``, import it, quantize (Loihi, 8-bit weights) and evaluate
    float versus fixed point on the test set. Writes only into ``out_dir``: ``digits.nir``,
    ``test_set.npz`` (``counts`` (steps, n, 64), ``labels``), ``network.zip`` (the integer
    network) and ``summary.json``. Returns the summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cpu_start = time.process_time()
    model = train(config, verbose=verbose, **overrides)
    cpu_seconds = time.process_time() - cpu_start
    nir_path = export_nir(model, out_dir / "digits.nir")
    counts, labels = test_set(
        model.config.steps, seed=model.config.seed, test_fraction=model.config.test_fraction
    )
    np.savez_compressed(out_dir / "test_set.npz", counts=counts, labels=labels)
    float_net = import_nir(nir_path, dt=model.dt)
    network, report = quantize(float_net, weight_width=8)
    network.save(out_dir / "network.zip")
    result = evaluate(float_net, network, counts, labels, report=report)
    summary = {
        "config": asdict(model.config),
        "train_seconds": model.train_seconds,
        "train_cpu_seconds": cpu_seconds,
        "n_test": int(len(labels)),
        **result.to_dict(),
        "quantization": report.to_dict(),
    }
    summary["quantization"].pop("accuracy", None)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    if verbose:
        print(report.table())
        print(
            f"float accuracy {result.float_accuracy:.4f}, fixed-point accuracy "
            f"{result.fixed_accuracy:.4f} ({len(labels)} test samples, agreement "
            f"{result.agreement:.4f}); training {model.train_seconds:.1f} s "
            f"({cpu_seconds:.1f} s CPU)"
        )
    return summary


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python examples/train_digits.py",
        description="Train the spiking digits classifier (numpy), export it to NIR, quantize "
        "it and report float versus fixed-point test accuracy.",
    )
    parser.add_argument(
        "out_dir", help="directory for digits.nir, test_set.npz, network.zip, summary.json"
    )
    parser.add_argument("--seed", type=int, default=DigitsConfig.seed)
    parser.add_argument("--epochs", type=int, default=DigitsConfig.epochs)
    parser.add_argument("--hidden", type=int, default=DigitsConfig.hidden)
    parser.add_argument("--steps", type=int, default=DigitsConfig.steps)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    run(
        args.out_dir,
        seed=args.seed,
        epochs=args.epochs,
        hidden=args.hidden,
        steps=args.steps,
        verbose=not args.quiet,
    )


if __name__ == "__main__":
    main()
