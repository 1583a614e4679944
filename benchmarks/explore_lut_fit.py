"""The fit of `neurohw explore`'s LUT4 model (``neurohw.flows.lut_model.LUT_MODEL``) to the
synthesized chips of ``LUT_MEASURED``, per family: non-negative least squares on the relative
error, then each chip's prediction, the error statistics (mean |error|, worst) and the lowest
measured / predicted ratio (what bounds ``LUT_LOWER_FRACTION``) of the fitted and of the
current ``LUT_MODEL`` (docs/explore.md, "Resource and latency models").

    python benchmarks/explore_lut_fit.py
"""

import numpy as np
from scipy.optimize import nnls

from neurohw.flows.lut_model import LUT_MEASURED, LUT_MODEL, predict_luts

TERMS = ("base", "per_core", "per_lane", "per_lane_weight_bit", "per_debug_core", "per_debug_lane")


def features(cores, lanes, lane_weight_bits, debug):
    return [1, cores, lanes, lane_weight_bits, cores * debug, lanes * debug]


def stats(predicted, measured):
    errors = (predicted - measured) / measured
    worst = errors[np.argmax(np.abs(errors))]
    return (
        f"mean |error| {100 * np.mean(np.abs(errors)):.1f} %, worst {100 * worst:+.1f} %, "
        f"lowest measured/predicted {np.min(measured / predicted):.2f}"
    )


def main() -> None:
    for family in sorted({row[0] for row in LUT_MEASURED}):
        rows = [row for row in LUT_MEASURED if row[0] == family]
        measured = np.array([row[6] for row in rows], dtype=float)
        a = np.array([features(*row[2:6]) for row in rows], dtype=float)
        coefficients, _ = nnls(a / measured[:, None], np.ones(len(rows)))
        fitted = a @ coefficients
        current = np.array(
            [
                predict_luts(family, cores=c, lanes=n, lane_weight_bits=b, debug=d)
                for _, _, c, n, b, d, _ in rows
            ]
        )
        print(f"{family}: {len(rows)} chips")
        print("  fitted:", dict(zip(TERMS, np.round(coefficients, 1).tolist())))
        print("  LUT_MODEL:", LUT_MODEL[family])
        print(f"  fitted: {stats(fitted, measured)}")
        print(f"  LUT_MODEL: {stats(current, measured)}")
        for row, p in zip(rows, current):
            print(
                f"    {row[1]:<38} {row[6]:>6,} predicted {p:>7,.0f} ({100 * (p / row[6] - 1):+.1f} %)"
            )


if __name__ == "__main__":
    main()
