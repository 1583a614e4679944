"""The synthetic N-MNIST-sized CNN (issue #15): model, RTL check and ECP5-85F synthesis.

    .venv/bin/python benchmarks/bench_cnn.py [--run NAME ...] [--json PATH] [-v]

The network is :func:`neurohw.sim.cnn_case.nmnist_cnn` (seed 0): 2x34x34 events -> conv 3x3
8 ch -> [2x2 sum pool] conv 3x3 16 ch -> [2x2 sum pool] conv 3x3 16 ch -> Affine 400 -> 64 ->
10, IF neurons on the conv layers, LIF on the Affine ones, random 8-bit weights. Input:
:func:`neurohw.sim.cnn_case.nmnist_events` (15 steps, about 2,300 events per sample). It is
mapped with the default mapping (conv layers on convolution cores, split by output channels
where one core's 4,096 neurons are too few).

Runs (``--json`` is rewritten after every run):

* ``model``: the mapping, the spike rates of every layer, the kernel words against the words of
  the dense lowering, and the time and peak memory of ``simulate`` (no dense matrix is built).
* ``verify``: chip RTL == plan model == ``simulate`` on 2 samples on Verilator (every output
  spike of every step, the cores' final state), cycles per sample.
* ``verify-all``: the same network with every population an output (every spike of every layer
  sent to the host and compared), one sample of 6 steps on Verilator.
* ``synth``: the chip without the debug port on the ECP5-85F (yowasp Yosys + nextpnr, 25 MHz
  asked): LUT4, FF, DP16KD, Fmax.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from neurohw import Chip  # noqa: E402
from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.design_hash import sha256_text  # noqa: E402
from neurohw.flows.synth import SynthesisError  # noqa: E402
from neurohw.sim.cnn_case import nmnist_cnn, nmnist_events  # noqa: E402

DEVICE = "ecp5-85k"
CLOCK_MHZ = 25.0
SEED = 0
INPUT_SEED = 1
STEPS = 15
MODEL_SAMPLES = 20
VERIFY_SAMPLES = 2
RUNS = ("model", "verify", "verify-all", "synth")
#: ``verify-all``: every population an output, so every spike of every layer reaches the host
#: and is compared, on one shorter sample.
ALL_LAYERS = ("conv1", "conv2", "conv3", "hidden", "out")
ALL_LAYERS_STEPS = 6
RESULTS = REPO / "benchmarks" / "results" / "cnn.json"
BUILD = REPO / "build" / "benchmarks" / "cnn"

#: The synthesis results of a row (``SynthReport.row``), in the order the JSON keeps them.
SYNTH_KEYS = ("luts", "carries", "ffs", "bram", "dsp", "cells", "fmax_mhz", "wall_time_s")


def plan_rows(plan) -> list:
    return [
        {
            "core": core.index,
            "population": core.population,
            "kind": core.connectivity,
            "neurons": core.n_neurons,
            "axons": core.n_axons,
            **(
                {
                    "kernel_words": core.conv[0].kernel_words,
                    "out_channels": core.conv[0].out_channels,
                }
                if core.conv is not None
                else {}
            ),
        }
        for core in plan.cores
    ]


def run_model():
    from neurohw.network import simulate
    from neurohw.network.mapping import map_network

    network = nmnist_cnn(SEED)
    inputs = nmnist_events(INPUT_SEED, samples=MODEL_SAMPLES, steps=STEPS)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    trace = simulate(network, inputs)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    plan = map_network(network)
    convs = [p for p in network.projections if p.conv is not None]
    events = inputs["events"].sum(axis=(0, 2))
    return {
        "run": "model",
        "steps": STEPS,
        "samples": MODEL_SAMPLES,
        "input_events_per_sample": {
            "mean": float(events.mean()),
            "min": int(events.min()),
            "max": int(events.max()),
        },
        "spikes_per_neuron_step": {
            name: round(float(trace.spikes[name].mean()), 4) for name in network.populations
        },
        "kernel_words": sum(p.conv[0].kernel_words for p in convs),
        "dense_lowering_words": sum(int(np.prod(p.shape)) for p in convs),
        "affine_words": sum(int(np.prod(p.shape)) for p in network.projections if p.conv is None),
        "simulate_s": round(seconds, 3),
        "simulate_samples": MODEL_SAMPLES,
        "peak_rss_mb": round(peak / 1024, 1),
        "rss_before_simulate_mb": round(before / 1024, 1),
        "dense_built": any(p.__dict__["_weights"] is not None for p in convs),
        "cores": plan_rows(plan),
    }


def run_verify():
    from neurohw.flows.system import verify_system

    chip = Chip(nmnist_cnn(SEED))
    inputs = nmnist_events(INPUT_SEED, samples=VERIFY_SAMPLES, steps=STEPS)
    start = time.perf_counter()
    result = verify_system(
        chip, inputs, simulator="verilator", build_dir=BUILD / "verilator", progress=print
    )
    return {
        "run": "verify",
        "simulator": "verilator",
        "samples": VERIFY_SAMPLES,
        "steps": STEPS,
        "windows_compared": result.windows_compared,
        "output_events_compared": result.output_events_compared,
        "cycles": result.cycles,
        "cycles_per_sample": [int(c) for c in result.cycles_per_sample],
        "wall_time_s": round(time.perf_counter() - start, 1),
        "design_sha256": chip.design_hash(),
    }


def run_verify_all():
    from neurohw.flows.system import verify_system

    network = nmnist_cnn(SEED, outputs=ALL_LAYERS)
    chip = Chip(network)
    inputs = nmnist_events(INPUT_SEED, samples=1, steps=ALL_LAYERS_STEPS)
    start = time.perf_counter()
    result = verify_system(
        chip, inputs, simulator="verilator", build_dir=BUILD / "verilator-all", progress=print
    )
    return {
        "run": "verify-all",
        "simulator": "verilator",
        "outputs": list(ALL_LAYERS),
        "samples": 1,
        "steps": ALL_LAYERS_STEPS,
        "windows_compared": result.windows_compared,
        "output_events_compared": result.output_events_compared,
        "cycles": result.cycles,
        "cycles_per_sample": [int(c) for c in result.cycles_per_sample],
        "wall_time_s": round(time.perf_counter() - start, 1),
        "design_sha256": chip.design_hash(),
    }


def run_synth():
    chip = Chip(nmnist_cnn(SEED), debug=False)
    options = design_hash.synthesis_options(DEVICE, clock_mhz=CLOCK_MHZ, seed=1, harness=False)
    row = {
        "run": "synth",
        "device": DEVICE,
        "debug": False,
        "cores": plan_rows(chip.plan),
        "provenance": design_hash.provenance(
            verilog_sha256=sha256_text(chip.verilog()), options=options
        ),
    }
    try:
        report = chip.synthesize(
            DEVICE, workdir=BUILD / "synth", name="cnn", clock_mhz=CLOCK_MHZ, seed=1
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
    for name in args.run or RUNS:
        runs = {
            "model": run_model,
            "verify": run_verify,
            "verify-all": run_verify_all,
            "synth": run_synth,
        }
        row = runs[name]()
        # Re-read: runs of this script may go on side by side (synthesis takes long).
        rows = json.loads(args.json.read_text()) if args.json.exists() else []
        rows = [r for r in rows if r["run"] != name] + [row]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
