"""Synthesize whole NeuronCores on iCE40UP5K and ECP5-85F: area, Fmax and synaptic ops per second.

    .venv/bin/python benchmarks/bench_core_synth.py [--run NAME ...] [--json PATH] [-v]

A thin client of :func:`neurohw.flows.synth.synthesize`. Runs (in sequence, each one can take
minutes; results are written to ``--json`` after every run, so an interrupted sweep keeps what it
measured):

* ``lif16-p1-{up5k,ecp5}``: 256 neurons x 256 axons, 8-bit weights, 16-bit neuron (one current,
  multiply decays, saturate, reset to zero), ``lanes=1``. Targets: >= 40 MHz on the UP5K,
  >= 120 MHz on the ECP5-85F.
* ``loihi-p1-{up5k,ecp5}``: the same sizes with the Loihi CUBA preset (24-bit states).
* ``loihi64-{shared,perneuron}-ecp5``: 64 x 64, 8-bit weights, Loihi preset; shared du/dv
  against per-neuron du, dv and drive bias (the cost of per-neuron parameter memories).
* ``loihi64-{subtract,resetdelay}-ecp5``: the shared core with reset by subtraction, without and
  with ``reset_delay`` (the pending spike count per neuron).
* ``lif16-p16-ecp5``: the 16-bit core with ``lanes=16``; target: Fmax within 20 % of P = 1.
* ``tinyodin-p4-{ecp5,up5k}``: the tinyODIN comparison (256 x 256, 4-bit weights, 12-bit
  membrane, no synaptic current), ``lanes=4`` so that P x Fmax >= 100 M SOP/s (5 x tinyODIN).
  64 k 4-bit synapses (256 kbit) exceed the UP5K's 120 kbit of block RAM: the UP5K runs of the
  256 x 256 cores place the weights in the four SPRAMs (``weight_memory="spram"``; weights are
  then written over ``cmd``; the synthesis flow builds the SPRAM banks without initializers,
  ``neurohw.flows.synth.synthesis_verilog``).

Every core is built with ``max_events_per_step=4096`` (``EVENTS``): the default bound,
``n_axons * 65535``, makes the accumulator 32 bits wide, and its carry chain then limits the UP5K.

The core sits in the flow's serial I/O harness on both devices (every port registered, so all
paths are register to register). Cell counts (LUT4, carry, FF, BRAM, DSP) are the core's alone;
LC/COMB (placed ICESTORM_LC / TRELLIS_COMB) and Fmax are those of the whole placed design.
nextpnr is asked for 1.25 x the device's target. SOP/s = lanes x Fmax (dense event phase: one
synaptic operation per lane per clock, ``benchmarks/bench_core_throughput.py`` measures it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


import numpy as np  # noqa: E402

from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.design_hash import core_verilog, sha256_text  # noqa: E402
from neurohw.flows.report import readmemh_initializers  # noqa: E402
from neurohw.flows.synth import SynthesisError, synthesize  # noqa: E402
from neurohw.hw.core import NeuronCore  # noqa: E402
from neurohw.model import Decay, NeuronParams, loihi_cuba_lif  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "core_synth.json"

DEVICES = {
    # short name: (neurohw.flows device, target MHz)
    "up5k": ("ice40-up5k", 40),
    "ecp5": ("ecp5-85k", 120),
}

#: Bits of one block RAM (iCE40 SB_RAM40_4K; ECP5 DP16KD, 18 kbit with parity).
BRAM_BITS = {"up5k": 4096, "ecp5": 18432}
#: Bits of one iCE40UP5K SPRAM block (SB_SPRAM256KA, 16k x 16); counted with the block RAM bits.
SPRAM_BITS = 262144

TINYODIN = {
    "luts": 2981,
    "ffs": 1810,
    "bram": 17,
    "fmax_mhz": 39.7,
    "sops": 20e6,
    "up5k_lcs": 3855,
    "up5k_fmax_mhz": 11.9,
}


def lif16():
    return NeuronParams(
        n_currents=1,
        v_width=16,
        i_width=16,
        v_overflow="saturate",
        i_overflow="saturate",
        v_decay=Decay.multiply(410, 12),
        i_decay=(Decay.multiply(1024, 12),),
        threshold=1000,
        reset="zero",
    )


def tinyodin():
    return NeuronParams(
        n_currents=0,
        v_width=12,
        v_overflow="saturate",
        v_decay=Decay.none(),
        threshold=100,
        reset="zero",
    )


#: Input events per step the accumulators are sized for (16 per axon on average for 256 axons;
#: events past it in a step are dropped and counted). The default bound, n_axons * 65535, gives
#: a 32-bit accumulator whose carry chain limits the UP5K's Fmax.
EVENTS = {"max_events_per_step": 4096}
SPRAM = {"weight_memory": "spram", **EVENTS}

#: name -> (params factory, n_neurons, n_axons, weight_width, lanes, device short name[,
#: extra NeuronCore keyword arguments])
RUNS = {
    "lif16-p1-ecp5": (lif16, 256, 256, 8, 1, "ecp5", EVENTS),
    "lif16-p1-up5k": (lif16, 256, 256, 8, 1, "up5k", SPRAM),
    "lif16-p16-ecp5": (lif16, 256, 256, 8, 16, "ecp5", EVENTS),
    "tinyodin-p4-ecp5": (tinyodin, 256, 256, 4, 4, "ecp5", EVENTS),
    "loihi-p1-ecp5": (
        lambda: loihi_cuba_lif(du=1024, dv=410, vth=100),
        256,
        256,
        8,
        1,
        "ecp5",
        EVENTS,
    ),
    "loihi-p1-up5k": (
        lambda: loihi_cuba_lif(du=1024, dv=410, vth=100),
        256,
        256,
        8,
        1,
        "up5k",
        SPRAM,
    ),
    "tinyodin-p4-up5k": (tinyodin, 256, 256, 4, 4, "up5k", SPRAM),
    # 256 x 256 x 8-bit weights (512 kbit) cannot fit the UP5K's 120 kbit of block RAM: the same
    # neurons with 32 axons (64 kbit of weights), to measure the datapath's Fmax on the iCE40.
    "lif16-a32-p1-up5k": (lif16, 256, 32, 8, 1, "up5k", EVENTS),
    "loihi-a32-p1-up5k": (
        lambda: loihi_cuba_lif(du=1024, dv=410, vth=100),
        256,
        32,
        8,
        1,
        "up5k",
        EVENTS,
    ),
    # The cost of per-neuron decays and an Affine bias into the current (docs/core.md): a
    # 64 x 64 Loihi core with shared du/dv and no drive bias, against per-neuron du, dv and
    # drive_bias in memories beside the state.
    "loihi64-shared-ecp5": (
        lambda: loihi_cuba_lif(du=1024, dv=410, vth=100),
        64,
        64,
        8,
        1,
        "ecp5",
        EVENTS,
    ),
    "loihi64-perneuron-ecp5": (lambda: loihi_per_neuron(64), 64, 64, 8, 1, "ecp5", EVENTS),
    # The cost of snnTorch's reset_delay (docs/core.md): the quantizer's snnTorch neuron (the
    # Loihi preset with reset by subtraction) without and with the pending spike count.
    "loihi64-subtract-ecp5": (lambda: loihi_subtract(False), 64, 64, 8, 1, "ecp5", EVENTS),
    "loihi64-resetdelay-ecp5": (lambda: loihi_subtract(True), 64, 64, 8, 1, "ecp5", EVENTS),
}


def loihi_subtract(reset_delay):
    """The Loihi preset with reset by subtraction, the threshold taken off at the spike or
    (``reset_delay``) in the next step after the decay."""
    return loihi_cuba_lif(du=1024, dv=410, vth=100).replace(
        reset="subtract", reset_delay=reset_delay
    )


def loihi_per_neuron(n):
    """Loihi with learned per-neuron du, dv (the extremes included) and drive bias."""
    rng = np.random.default_rng(64)
    du, dv = rng.integers(0, 4096, size=n), rng.integers(0, 4096, size=n)
    du[:2], dv[:2] = [0, 4095], [4095, 0]
    return loihi_cuba_lif(
        du=du, dv=dv, vth=100, drive_bias=rng.integers(-(1 << 17) + 1, (1 << 17) + 1, size=n)
    )


def build_core(name):
    """The ``NeuronCore`` of run ``name`` (``RUNS``)."""
    factory, n, a, ww, lanes, dev, *extra = RUNS[name]
    kwargs = extra[0] if extra else {}
    return NeuronCore(factory(), n_neurons=n, n_axons=a, weight_width=ww, lanes=lanes, **kwargs)


def synth_options(name, seed=1):
    """The options run ``name`` is synthesized with (recorded in its provenance)."""
    flow_device, target = DEVICES[RUNS[name][5]]
    return design_hash.synthesis_options(
        flow_device, clock_mhz=target * 1.25, seed=seed, harness=True
    )


def measured_sha256(name, seed=1):
    """What run ``name`` measures at this tree (seconds, no synthesis): the hash of the core's
    synthesis Verilog and its options (:func:`neurohw.flows.design_hash.measured_sha256`)."""
    verilog_sha256 = sha256_text(core_verilog(build_core(name)))
    return design_hash.measured_sha256(verilog_sha256, synth_options(name, seed))


def run_one(name, build, seed=1):
    _factory, n, a, ww, lanes, dev, *_extra = RUNS[name]
    flow_device, target = DEVICES[dev]
    core = build_core(name)
    options = synth_options(name, seed)
    row = {
        "run": name,
        "device": flow_device,
        "n_neurons": n,
        "n_axons": a,
        "weight_width": ww,
        "lanes": lanes,
        "target_mhz": target,
        "update_latency": core.update_latency,
        "weight_memory": core.weight_memory,
        "max_events_per_step": core.max_events_per_step,
        "acc_width": core.acc_width,
    }
    try:
        text = core_verilog(core)
        row["provenance"] = design_hash.provenance(
            verilog_sha256=sha256_text(text), options=options
        )
        source = readmemh_initializers(text, build / name)
        report = synthesize(
            source,
            device=options["device"],
            workdir=build / name,
            name=f"core-{name}",
            clock_mhz=options["clock_mhz"],
            seed=seed,
            harness=options["harness"],
        )
    except SynthesisError as error:
        row["error"] = str(error)
        return row
    fmax = report.fmax_mhz or 0.0
    row.update(
        {
            "luts": report.luts,
            "carries": report.carries,
            "ffs": report.ffs,
            "bram": report.bram,
            "spram": report.spram,
            "dsp": report.dsp,
            "logic_cells": report.logic_cells,
            # Every Yosys cell type of the core (LUT-RAM included: ECP5 TRELLIS_DPR16X4).
            "cells": report.cells,
            "fmax_mhz": round(fmax, 2),
            "sops_per_s": lanes * fmax * 1e6,
            "utilization": report.utilization,
            "wall_time_s": report.wall_time_s,
            "yosys": report.yosys_version,
            "nextpnr": report.nextpnr_version,
            "seed": seed,
            "workdir": report.workdir,
        }
    )
    return derive(row)


def derive(row):
    """Add the per-neuron and per-synapse figures to a result row."""
    if "error" in row:
        return row
    n, a, dev = row["n_neurons"], row["n_axons"], row["run"].rsplit("-", 1)[1]
    row.pop("bits_per_synapse", None)
    row.pop("synapses_per_bram", None)
    row.update(
        {
            "luts_per_neuron": round(row["luts"] / n, 2),
            "ffs_per_neuron": round(row["ffs"] / n, 2),
            "weight_bits_per_synapse": row["weight_width"],
            "bram_bits_per_synapse": round(
                (row["bram"] * BRAM_BITS[dev] + row.get("spram", 0) * SPRAM_BITS) / (n * a), 2
            ),
            "luts_per_synapse": round(row["luts"] / (n * a), 4),
            "sops_per_s": row["lanes"] * row["fmax_mhz"] * 1e6,
        }
    )
    return row


def table(rows):
    lines = [
        "| run | device | P | LUT4 | carry | FF | BRAM | SPRAM | DSP | LC/COMB | LUT/neuron "
        "| BRAM bits/synapse | Fmax MHz | target | SOP/s (P x Fmax) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(
                f"| {r['run']} | {r['device']} | {r['lanes']} | does not fit / failed: "
                f"{r['error'][:200]} ||||||||||||"
            )
            continue
        verdict = "ok" if r["fmax_mhz"] >= r["target_mhz"] else "MISS"
        lines.append(
            f"| {r['run']} | {r['device']} | {r['lanes']} | {r['luts']} | {r['carries']} | "
            f"{r['ffs']} | {r['bram']} | {r['spram']} | {r['dsp']} | {r['logic_cells']} | "
            f"{r['luts_per_neuron']} | {r['bram_bits_per_synapse']} | {r['fmax_mhz']:.1f} | {r['target_mhz']} {verdict} | "
            f"{r['sops_per_s'] / 1e6:.0f} M |"
        )
    by = {r["run"]: r for r in rows if "error" not in r}
    if "lif16-p1-ecp5" in by and "lif16-p16-ecp5" in by:
        p1, p16 = by["lif16-p1-ecp5"]["fmax_mhz"], by["lif16-p16-ecp5"]["fmax_mhz"]
        drop = 100 * (1 - p16 / p1)
        lines.append(
            f"\nECP5 Fmax P=1 -> P=16: {p1:.1f} -> {p16:.1f} MHz ({drop:.1f} % drop; "
            f"target < 20 %: {'ok' if drop < 20 else 'MISS'})"
        )
    if "tinyodin-p4-ecp5" in by:
        r = by["tinyodin-p4-ecp5"]
        lines.append(
            f"tinyODIN config on ECP5: {r['sops_per_s'] / 1e6:.0f} M SOP/s vs tinyODIN "
            f"20 M ({r['sops_per_s'] / TINYODIN['sops']:.1f} x; "
            f"tinyODIN 2981 LUT, 1810 FF, 17 BRAM, 39.7 MHz)"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run", action="append", choices=list(RUNS), help="run(s), in order (default: all)"
    )
    parser.add_argument("--build", type=Path, default=REPO / "build" / "bench_core_synth")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS.parent,
        help=f"results folder (default: {RESULTS.parent.relative_to(REPO)}); "
        f"the results file is {RESULTS.name} there",
    )
    parser.add_argument("--json", type=Path, help=f"results file (default: OUT/{RESULTS.name})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-v", "--verbose", action="store_true", help="log the flow's progress")
    parser.add_argument(
        "--table",
        action="store_true",
        help="only print the table of the results in --json (no synthesis)",
    )
    args = parser.parse_args(argv)
    if args.json is None:
        args.json = args.out / RESULTS.name
    if args.table:
        rows = [derive(row) for row in json.loads(args.json.read_text())]
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        print(table(rows))
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    # Results of earlier invocations are kept; a run repeated here replaces its row.
    rows = json.loads(args.json.read_text()) if args.json.exists() else []
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for name in args.run or list(RUNS):
        rows = [row for row in rows if row["run"] != name]
        started = time.monotonic()
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
        row = run_one(name, args.build, args.seed)
        rows.append(row)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        summary = row.get("error") or f"{row['fmax_mhz']:.1f} MHz, {row['luts']} LUT4"
        print(
            f"[{time.strftime('%H:%M:%S')}] {name}: {summary} ({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
    order = list(RUNS)
    rows.sort(key=lambda row: order.index(row["run"]) if row["run"] in order else len(order))
    print(table([derive(row) for row in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
