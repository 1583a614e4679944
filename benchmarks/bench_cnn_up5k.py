"""The largest CNN chip that fits the iCE40UP5K: convolution cores and an Affine output core,
placed and routed on the UP5K with its own resources (block RAM, no SPRAM).

    .venv/bin/python benchmarks/bench_cnn_up5k.py [--run NAME ...] [--json PATH]

The runs grow one CNN family step by step (``RUNS``, smallest first); each is a whole chip
(``neurohw.Chip(plan, debug=False)``: the cores, the router, the host port in the flow's serial
I/O harness) mapped with ``conv='core'`` and synthesized with Yosys + nextpnr at the device's
default clock. Every run is recorded, fitting or not (with the resource that overflowed), in
``benchmarks/results/cnn_up5k.json``; ``--json`` is rewritten after every run. All layers have
8-bit weights (random, seeded) and Sinabs' 16-bit IF neuron (reset by subtraction); input
events are 2-channel (polarity) maps, at most one spike per position and step.

* ``s8-c8``: 2x8x8 -> conv 3x3 stride 2 padding 1, 8 channels (8x4x4) -> Affine 10.
* ``s12-c8``: the input 2x12x12 (8x6x6 after the conv).
* ``s16-c4``: 2x16x16, 4 channels (4x8x8).
* ``s12-c12``: 2x12x12, 12 channels (12x6x6).
* ``s12-c16``: 2x12x12, 16 channels (16x6x6).
* ``s12-c4-c8``: 2x12x12 -> conv s2, 4 channels (4x6x6) -> conv 3x3 s2 p1, 8 channels (8x3x3)
  -> Affine 10: a second conv layer at 12x12.
* ``s16-c4-c8``: 2x16x16 -> conv s2, 4 channels (4x8x8) -> conv 3x3 s2 p1, 8 channels (8x4x4)
  -> Affine 10: a second conv layer.
* ``s16-c8``: 2x16x16, 8 channels (8x8x8).

Every core's ingress buffers three windows of every key routed to it
(:func:`neurohw.hw.system.ingress_fifo_depth`), so the block RAM grows with the input map and
with every layer's map, not only with the kernels and neuron states.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from neurohw import Chip  # noqa: E402
from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.report import synth_report  # noqa: E402
from neurohw.hw.conv import ConvSpec  # noqa: E402
from neurohw.model import NeuronParams  # noqa: E402
from neurohw.network import InputGroup, Network, Population, Projection  # noqa: E402
from neurohw.network.mapping import map_network  # noqa: E402

DEVICE = "ice40-up5k"
SEED = 1
RESULTS = REPO / "benchmarks" / "results" / "cnn_up5k.json"
BUILD = REPO / "build" / "benchmarks" / "cnn_up5k"

#: name -> the conv layers ``(ConvSpec options)`` in order; the first one's ``in_shape`` is the
#: input map, every later one's is the previous one's output.
RUNS = {
    "s8-c8": [dict(in_shape=(2, 8, 8), out_channels=8, stride=2, padding=1)],
    "s12-c8": [dict(in_shape=(2, 12, 12), out_channels=8, stride=2, padding=1)],
    "s16-c4": [dict(in_shape=(2, 16, 16), out_channels=4, stride=2, padding=1)],
    "s12-c12": [dict(in_shape=(2, 12, 12), out_channels=12, stride=2, padding=1)],
    "s12-c16": [dict(in_shape=(2, 12, 12), out_channels=16, stride=2, padding=1)],
    "s12-c4-c8": [
        dict(in_shape=(2, 12, 12), out_channels=4, stride=2, padding=1),
        dict(out_channels=8, stride=2, padding=1),
    ],
    "s16-c4-c8": [
        dict(in_shape=(2, 16, 16), out_channels=4, stride=2, padding=1),
        dict(out_channels=8, stride=2, padding=1),
    ],
    "s16-c8": [dict(in_shape=(2, 16, 16), out_channels=8, stride=2, padding=1)],
}
CLASSES = 10


def if_neuron():
    """Sinabs' IF neuron in 16 bits: no decay, reset by subtraction."""
    return NeuronParams(v_width=16, threshold=64, reset="subtract")


def cnn_network(name: str, seed: int = SEED) -> Network:
    """Run ``name``'s CNN: input ``events`` -> ``conv1`` [-> ``conv2``] -> ``out`` (Affine)."""
    rng = np.random.default_rng(seed)
    layers, projections, source, shape = [], [], "events", None
    for index, options in enumerate(RUNS[name], start=1):
        options = dict(options)
        in_shape = options.pop("in_shape", shape)
        spec = ConvSpec(in_shape, kernel_size=3, **options)
        kernel = rng.integers(-64, 128, size=spec.kernel_shape)
        target = f"conv{index}"
        layers.append(Population(target, spec.n_neurons, if_neuron(), weight_width=8))
        projections.append(Projection(source, target, conv=(spec, kernel)))
        source, shape = target, spec.out_shape
    n_features = int(np.prod(shape))
    layers.append(Population("out", CLASSES, if_neuron(), weight_width=8))
    projections.append(
        Projection(source, "out", rng.integers(-128, 128, size=(n_features, CLASSES)))
    )
    inputs = [InputGroup("events", int(np.prod(RUNS[name][0]["in_shape"])))]
    return Network(inputs=inputs, populations=layers, projections=projections, outputs=["out"])


def cnn_plan(name: str):
    return map_network(cnn_network(name), conv="core")


def describe(plan) -> dict:
    cores = []
    for core in plan.cores:
        entry = {
            "population": core.population,
            "connectivity": core.connectivity,
            "n_neurons": core.n_neurons,
            "n_axons": core.n_axons,
        }
        if core.conv is not None:
            spec, kernel = core.conv
            entry.update(
                in_shape=list(spec.in_shape),
                out_shape=list(spec.out_shape),
                pool=list(spec.pool),
                kernel_words=spec.kernel_words,
                dense_weight_words=spec.n_axons * spec.n_neurons,
            )
        else:
            entry["weight_words"] = int(core.weights[0].size)
        cores.append(entry)
    return {
        "neurons": int(sum(c.n_neurons for c in plan.cores)),
        "weight_words": int(
            sum(c["kernel_words"] if "kernel_words" in c else c["weight_words"] for c in cores)
        ),
        "dense_weight_words": int(
            sum(c.get("dense_weight_words", c.get("weight_words", 0)) for c in cores)
        ),
        "cores": cores,
    }


def run_one(name: str) -> dict:
    chip = Chip(cnn_plan(name), debug=False)
    row = {"run": name, "device": DEVICE, **describe(chip.plan)}
    row["provenance"] = design_hash.provenance(
        verilog_sha256=chip.design_hash(),
        options=design_hash.synthesis_options(DEVICE, seed=SEED),
    )
    started = time.monotonic()
    report = synth_report(chip, [DEVICE], workdir=BUILD / name, name=name, seed=SEED)
    result = report.devices[0]
    row.update(result.to_dict())
    if result.synth is not None:
        row["synth_report"] = result.synth.to_dict()
    row["wall_time_s"] = round(time.monotonic() - started, 1)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", choices=sorted(RUNS))
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    for name in args.run or RUNS:
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", flush=True)
        row = run_one(name)
        rows = [r for r in rows if r["run"] != name] + [row]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        print(
            f"[{time.strftime('%H:%M:%S')}] {name}: fits={row['fits']} {row.get('luts')} LUT4 "
            f"{row.get('bram')} BRAM {row.get('fmax_mhz')} MHz {row.get('error', '')[:300]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
