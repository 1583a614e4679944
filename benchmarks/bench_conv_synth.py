"""Synthesize one convolution layer on ECP5-85F as a ConvCore at two image sizes, and the same
small layer as a dense-lowered NeuronCore: memory grows with the kernel, not with the image.

    .venv/bin/python benchmarks/bench_conv_synth.py [--run NAME ...] [--json PATH] [-v]

Runs (each one takes minutes; ``--json`` is rewritten after every run):

* ``conv-2x8x8``, ``conv-2x16x16``, ``conv-2x34x34``: :class:`neurohw.hw.conv_core.ConvCore`,
  2 input channels, 8 output channels, 3x3 kernel (``'same'`` padding for 8x8 and 16x16,
  ``'valid'`` for 34x34: 8x32x32 outputs), 8-bit weights, a 16-bit IF neuron (Sinabs' IF:
  no decay, reset by subtraction), ``max_events_per_step=4096``.
* ``dense-2x8x8``: :class:`neurohw.hw.core.NeuronCore` holding the dense lowering of the 8x8
  layer (128 axons x 512 neurons), same neuron and options.
* ``conv-2x16x16-lanes2``, ``conv-2x16x16-lanes4``: the 16x16 layer with 2 and 4 lanes (2 and
  4 synaptic ops per clock).
* ``conv-2x34x34-pool2``: a 2x2 sum pooling in front of a 3x3 ``'same'`` layer, as in the
  N-MNIST CNNs (2x34x34 events pooled to 2x17x17, 8x17x17 outputs), one lane; and
  ``conv-2x34x34-pool2-lanes4`` with 4 lanes.

The dense lowering of the 16x16 layer (512 x 2048 = 1,048,576 8-bit weights, 512 DP16KD at
2048 x 9 each) and of the 34x34 one (2312 x 8192) exceed the ECP5-85F's 208 DP16KD; the script
records their word counts without synthesizing them. Every core sits in the flow's serial I/O
harness; cell counts are the core's alone; nextpnr is asked for 60 MHz.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.design_hash import core_verilog, sha256_text  # noqa: E402
from neurohw.flows.report import readmemh_initializers  # noqa: E402
from neurohw.flows.synth import SynthesisError, synthesize  # noqa: E402
from neurohw.hw.conv import ConvSpec  # noqa: E402
from neurohw.hw.conv_core import ConvCore  # noqa: E402
from neurohw.hw.core import NeuronCore  # noqa: E402
from neurohw.model import NeuronParams  # noqa: E402

DEVICE = "ecp5-85k"
CLOCK_MHZ = 60.0
WEIGHT_WIDTH = 8
EVENTS = 4096
SPECS = {
    "2x8x8": ConvSpec((2, 8, 8), 8, 3, padding="same"),
    "2x16x16": ConvSpec((2, 16, 16), 8, 3, padding="same"),
    "2x34x34": ConvSpec((2, 34, 34), 8, 3),
    "2x34x34-pool2": ConvSpec((2, 34, 34), 8, 3, padding="same", pool=2),
}
RUNS = (
    "conv-2x8x8",
    "dense-2x8x8",
    "conv-2x16x16",
    "conv-2x34x34",
    "conv-2x16x16-lanes2",
    "conv-2x16x16-lanes4",
    "conv-2x34x34-pool2",
    "conv-2x34x34-pool2-lanes4",
)
RESULTS = REPO / "benchmarks" / "results" / "conv_synth.json"
BUILD = REPO / "build" / "benchmarks" / "conv"

#: The synthesis results of a row (``SynthReport.row``), in the order the JSON keeps them.
SYNTH_KEYS = ("luts", "carries", "ffs", "bram", "dsp", "cells", "fmax_mhz", "wall_time_s")


def if_neuron():
    """Sinabs' IF neuron in 16 bits: no decay, reset by subtraction, one spike per step."""
    return NeuronParams(v_width=16, threshold=64, reset="subtract")


def kernel(spec):
    return np.random.default_rng(0).integers(-128, 128, size=spec.kernel_shape)


def parse(name):
    """``(kind, spec, lanes)`` of a run name ``kind-size[-pool2][-lanesL]``."""
    kind, rest = name.split("-", 1)
    size, _, lanes = rest.partition("-lanes")
    return kind, SPECS[size], int(lanes or 1)


def build(name):
    kind, spec, lanes = parse(name)
    if kind == "conv":
        options = {"lanes": lanes} if lanes > 1 else {}
        return ConvCore(
            if_neuron(),
            spec,
            weight_width=WEIGHT_WIDTH,
            kernel=kernel(spec),
            max_events_per_step=EVENTS,
            **options,
        )
    return NeuronCore(
        if_neuron(),
        n_neurons=spec.n_neurons,
        n_axons=spec.n_axons,
        weight_width=WEIGHT_WIDTH,
        weights=spec.dense_matrix(kernel(spec)),
        max_events_per_step=EVENTS,
    )


def run_one(name):
    kind, spec, lanes = parse(name)
    core = build(name)
    options = design_hash.synthesis_options(DEVICE, clock_mhz=CLOCK_MHZ, seed=1, harness=True)
    row = {
        "run": name,
        "device": DEVICE,
        "in_shape": list(spec.in_shape),
        "out_shape": list(spec.out_shape),
        "kernel_words": spec.kernel_words,
        "dense_weight_words": spec.n_axons * spec.n_neurons,
        "n_neurons": spec.n_neurons,
        "lanes": lanes,
        "pool": list(spec.pool),
    }
    if kind == "conv":
        # An interior event: every kernel position reaches an output.
        _, height, width = spec.in_shape
        interior = (height // 2) * width + width // 2
        row["ops_per_event"] = spec.ops_per_event
        row["event_cycles"] = core.event_cycles(interior)
        row["ops_per_clock"] = round(spec.ops_per_event / core.event_cycles(interior), 2)
    text = core_verilog(core)
    row["provenance"] = design_hash.provenance(verilog_sha256=sha256_text(text), options=options)
    try:
        report = synthesize(
            readmemh_initializers(text, BUILD / name),
            device=DEVICE,
            workdir=BUILD / name,
            name=name,
            clock_mhz=CLOCK_MHZ,
            seed=1,
            harness=True,
        )
    except SynthesisError as error:
        row["error"] = str(error)
        return row
    row.update(report.row(SYNTH_KEYS))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", choices=RUNS)
    parser.add_argument("--json", type=Path, default=RESULTS)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    for name in args.run or RUNS:
        row = run_one(name)
        rows = [r for r in rows if r["run"] != name] + [row]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        print(
            f"{name}: {row.get('luts')} LUT4, {row.get('ffs')} FF, {row.get('bram')} DP16KD, "
            f"{row.get('fmax_mhz')} MHz {row.get('error', '')}",
            flush=True,
        )


if __name__ == "__main__":
    main()
