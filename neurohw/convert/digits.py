"""The digits conversion example: scikit-learn ``MLPClassifier`` -> integer SNN -> report.

``python -m neurohw.convert.digits OUT_DIR`` trains a ReLU MLP on the digits training split
(the split of :mod:`neurohw.train.digits`, pixels scaled by 1/16), converts it with
:func:`neurohw.convert.convert` (direct and rate input), measures both with
:func:`neurohw.convert.conversion_report` on the 359 test images and writes, into ``OUT_DIR``
only: ``network_direct.zip`` / ``network_rate.zip`` (the integer networks),
``direct/`` and ``rate/`` (``conversion_report.{json,md,png}``) and ``summary.json``.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

from ..train.digits import MAX_PIXEL, load_split
from .ann import convert
from .report import conversion_report

__all__ = ["train_mlp", "run", "main", "DEFAULT_STEPS"]

DEFAULT_STEPS = (4, 8, 16, 32, 64, 128)


def train_mlp(*, hidden=(64,), seed: int = 0, max_iter: int = 100):
    """A ReLU ``MLPClassifier`` on the digits training split (inputs ``pixels / 16``); Adam,
    batch 128, learning rate 3e-3, L2 1e-3, ``max_iter`` epochs, seeded; about 1 s of CPU on one
    thread (BLAS is limited to one thread while fitting: on a shared machine more threads are
    much slower)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    x_train, y_train, _, _ = load_split(seed=seed)
    mlp = MLPClassifier(
        hidden_layer_sizes=tuple(hidden),
        activation="relu",
        alpha=1e-3,
        batch_size=128,
        learning_rate_init=3e-3,
        max_iter=max_iter,
        random_state=seed,
    )
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x_train / MAX_PIXEL, y_train)
    return mlp


def run(
    out_dir,
    *,
    hidden=(64,),
    seed: int = 0,
    steps=DEFAULT_STEPS,
    percentile=99.9,
    weight_width: int = 8,
    verbose: bool = True,
) -> dict:
    """Train, convert (direct and rate input), report; write into ``out_dir`` (module
    docstring). Returns the summary."""
    from threadpoolctl import threadpool_limits

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.process_time()
    mlp = train_mlp(hidden=hidden, seed=seed)
    train_cpu = time.process_time() - start
    x_train, _, x_test, y_test = load_split(seed=seed)
    summary = {
        "hidden": list(hidden),
        "seed": seed,
        "percentile": percentile,
        "weight_width": weight_width,
        "train_cpu_seconds": train_cpu,
        "n_test": int(len(y_test)),
        "encodings": {},
    }
    for encoding in ("direct", "rate"):
        conversion = convert(
            mlp,
            x_train,
            input_max=float(MAX_PIXEL),
            input_levels=MAX_PIXEL,
            input_encoding=encoding,
            percentile=percentile,
            weight_width=weight_width,
        )
        conversion.network.save(out_dir / f"network_{encoding}.zip")
        with threadpool_limits(1):
            report = conversion_report(conversion, x_test, y_test, steps=steps)
        report.save(out_dir / encoding)
        summary["encodings"][encoding] = {
            **report.to_dict(),
            "quantization": conversion.quantization.to_dict(),
        }
        if verbose:
            print(conversion.summary())
            print(report.table())
            print(f"fixed point within 2 points of the ANN from {report.first_within(2.0)} steps\n")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    return summary


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m neurohw.convert.digits",
        description="Train a ReLU MLPClassifier on digits, convert it to an integer SNN (direct "
        "and rate input) and write the conversion report (table, JSON, PNG).",
    )
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--steps", type=int, nargs="+", default=list(DEFAULT_STEPS))
    parser.add_argument("--percentile", type=float, default=99.9)
    parser.add_argument("--weight-width", type=int, default=8)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    run(
        args.out_dir,
        hidden=tuple(args.hidden),
        seed=args.seed,
        steps=tuple(args.steps),
        percentile=args.percentile,
        weight_width=args.weight_width,
        verbose=not args.quiet,
    )


if __name__ == "__main__":
    main()
