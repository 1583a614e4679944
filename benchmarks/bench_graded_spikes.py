"""Graded spikes between populations against count expansion, measured in RTL.

    .venv/bin/python benchmarks/bench_graded_spikes.py [--simulator verilator] [--steps 16]
                                                       [--samples 3] [--seeds 0 1 2]
    .venv/bin/python benchmarks/bench_graded_spikes.py --synth sinabs_iaf|xylo0 [--device ecp5-85k]

For Xylo-style networks (``sim/system_case.py`` ``random_xylo_network``: input ``x`` -> ``h``
capped at 15, ``h -> h`` recurrent capped at 3, ``h -> o`` readout; ``h`` fires up to 7 spikes a
step, split over two cores), mapped with and without ``map_network(graded_spikes=True)``: the
RTL's clock cycles per sample (every output spike checked against the model, host port never
idle), the analytic estimate (``flows.report.estimate_cycles``), and the events the cores apply
(plan model). Writes ``benchmarks/results/graded_spikes.json`` and prints the table. The trainer
fixtures are measured by ``benchmarks/bench_trainers.py --graded-spikes``.

``--synth FIXTURE``: the cost of the value path instead: the trainer fixture's (8-bit) core that
receives the multi-spike population, or with ``xylo<seed>`` the whole chip of the Xylo-style
network as above, synthesized out of context with count expansion and with graded spikes
(yosys and nextpnr, ``flows.report.synthesize_design``); writes
``benchmarks/results/graded_spikes_synth_<FIXTURE>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurohw import Chip  # noqa: E402
from neurohw.flows.design_hash import git_commit  # noqa: E402
from neurohw.flows.report import estimate_cycles  # noqa: E402
from neurohw.flows.system import verify_system  # noqa: E402
from neurohw.network.mapping import CoreCapacity, map_network  # noqa: E402
from neurohw.network.plan_model import simulate_plan  # noqa: E402
from neurohw.sim.system_case import random_inputs, random_xylo_network  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "graded_spikes.json"
SYNTH_RESULTS = ROOT / "benchmarks" / "results" / "graded_spikes_synth_{}.json"


def run(seed, graded, args):
    network = random_xylo_network(seed)
    plan = map_network(
        network, capacity=CoreCapacity(max_neurons=4, max_axons=64), graded_spikes=graded
    )
    inputs = random_inputs(network, seed, steps=args.steps, samples=args.samples, density=0.6)
    trace = simulate_plan(plan, inputs)
    estimate = estimate_cycles(plan, inputs)
    result = verify_system(
        plan,
        inputs,
        simulator=args.simulator,
        build_dir=Path(args.build_dir) / f"xylo{seed}-{'graded' if graded else 'counted'}",
    )
    return {
        "network": f"xylo{seed}",
        "graded_spikes": graded,
        "cores": plan.n_cores,
        "events_applied_per_sample": round(float(trace.events_per_step.sum()) / args.samples, 1),
        "cycles_per_sample": round(result.cycles_per_sample_mean, 1),
        "estimate_cycles_per_sample": round(sum(estimate.cycles_per_sample) / args.samples, 1),
        "rtl_equals_model": True,
    }


def synth(name, args):
    from neurohw.flows.report import synthesize_design
    from neurohw.hw.core import NeuronCore
    from neurohw.hw.system import core_config
    from tests.test_trainer_import import quantized_fixture

    xylo = name.startswith("xylo")
    if xylo:
        integer = random_xylo_network(int(name.removeprefix("xylo")))
    else:
        integer = quantized_fixture(name, 8)[1]
    rows = []
    for graded in (False, True):
        kind = "graded" if graded else "counted"
        if xylo:
            plan = map_network(
                integer, capacity=CoreCapacity(max_neurons=4, max_axons=64), graded_spikes=graded
            )
            design, what = Chip(plan).top(), {"design": "chip", "cores": plan.n_cores}
        else:
            plan = map_network(integer, graded_spikes=graded)
            (core,) = [
                c for c in plan.cores if any(b.source in integer.populations for b in c.axon_blocks)
            ]
            design = NeuronCore(core_config(plan, core))
            what = {
                "design": f"core {core.index}",
                "neurons": core.n_neurons,
                "axons": core.n_axons,
                "value_width": core_config(plan, core).value_width,
            }
        report = synthesize_design(
            design,
            args.device,
            workdir=Path(args.build_dir) / f"synth-{name}-{kind}",
            name=f"{name}-{kind}",
            seed=args.seed,
        )
        rows.append(
            {
                "fixture": name,
                **what,
                "graded_spikes": graded,
                "luts": report.luts,
                "carries": report.carries,
                "ffs": report.ffs,
                "dsp": report.dsp,
                "bram": report.bram,
                "fmax_mhz": round(report.fmax["clk"]["achieved"], 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    Path(str(SYNTH_RESULTS).format(name)).write_text(
        json.dumps(
            {"code": git_commit(), "device": args.device, "seed": args.seed, "rows": rows},
            indent=1,
        )
        + "\n"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulator", default="verilator")
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "bench_graded_spikes"))
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--synth", metavar="FIXTURE", help="synthesize a fixture's core both ways")
    parser.add_argument("--device", default="ecp5-85k")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr placement seed")
    args = parser.parse_args(argv)
    if args.synth:
        synth(args.synth, args)
        return
    rows = []
    for seed in args.seeds:
        for graded in (False, True):
            rows.append(run(seed, graded, args))
            print(json.dumps(rows[-1]), flush=True)
    Path(args.output).write_text(
        json.dumps(
            {
                "code": git_commit(),
                "simulator": args.simulator,
                "steps": args.steps,
                "samples": args.samples,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print("| network | graded spikes | events/sample | cycles/sample (RTL) | estimate |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['network']} | {'yes' if r['graded_spikes'] else 'no'} | "
            f"{r['events_applied_per_sample']} | {r['cycles_per_sample']} | "
            f"{r['estimate_cycles_per_sample']} |"
        )


if __name__ == "__main__":
    main()
