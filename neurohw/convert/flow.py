"""One call from a trained ReLU network to verified Verilog: convert, then the whole flow of
:func:`neurohw.flows.pipeline.run_flow` (map, generate, verify in RTL, synthesize, report)."""

from __future__ import annotations

from ..flows.pipeline import Source, run_flow
from ..network.mapping import CoreCapacity
from .ann import INPUT_NAME, convert

__all__ = ["compile_ann"]


def compile_ann(
    model,
    calibration,
    x,
    out_dir,
    *,
    labels=None,
    steps: int = 16,
    input_encoding: str = "direct",
    verify_samples: int = 4,
    simulators=(),
    devices=(),
    capacity: CoreCapacity = CoreCapacity(),
    lanes: int = 1,
    seed: int = 0,
    **convert_options,
) -> dict:
    """Convert ``model`` (a fitted ``MLPClassifier`` or ``[(weights, biases), ...]``) with
    ``calibration`` inputs, encode the samples ``x`` ``(n, features)`` over ``steps`` steps and
    run the flow into ``out_dir``: the report (dict, also ``report.md``/``report.json``) has
    the fixed-point and float accuracy, the RTL verification of the first ``verify_samples``
    samples on each of ``simulators`` and the synthesis on each of ``devices``.
    ``convert_options`` go to :func:`neurohw.convert.convert` (``percentile``,
    ``weight_width``, ...)."""
    conversion = convert(model, calibration, input_encoding=input_encoding, **convert_options)
    counts = conversion.encode(x, steps)
    source = Source(
        conversion.network,
        conversion.float_net,
        conversion.quantization,
        origin=f"ANN conversion ({input_encoding} input, {steps} steps)",
    )
    return run_flow(
        source,
        out_dir,
        inputs={INPUT_NAME: counts},
        labels=labels,
        name="ann",
        capacity=capacity,
        lanes=lanes,
        verify_samples=verify_samples,
        simulators=tuple(simulators),
        devices=tuple(devices),
        seed=seed,
    )
