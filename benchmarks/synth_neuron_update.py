"""Synthesize a standalone NeuronUpdate on iCE40UP5K and ECP5-85F and print area and Fmax.

    .venv/bin/python benchmarks/synth_neuron_update.py [--config NAME ...] [--device NAME ...]
        [--check-baseline | --update-baseline] [--baseline PATH]

A thin client of :func:`neurohw.flows.synth.synthesize`. The datapath sits in the flow's serial
I/O harness (every input fed from a shift register, every output shifted out through a
parallel-load register) on both devices, so that all its paths are register to register and it
fits the 39 I/O pins of the UP5K SG48 package. Cell counts (LUT4, carry cells, flip-flops, DSP
blocks) are those of the datapath alone (Yosys keeps it a module of its own and counts the harness
apart); LC/COMB (nextpnr's placed ICESTORM_LC / TRELLIS_COMB) and Fmax are those of the whole
placed design. nextpnr is asked for 1.25 x the target so that it works on the critical paths. Tools:
``YOSYS``, ``NEXTPNR_ICE40``, ``NEXTPNR_ECP5`` (default: YoWASP, from the venv).

``--check-baseline`` compares every run with ``benchmarks/baselines/neuron_update.json``
(:data:`neurohw.flows.synth.DEFAULT_TOLERANCES`) and exits with status 1 on a regression;
``--update-baseline`` records the runs there instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from neurohw.flows.synth import compare_to_baseline, synthesize, update_baseline  # noqa: E402
from neurohw.hw.neuron_update import NeuronUpdate  # noqa: E402
from neurohw.model import Decay, NeuronParams, loihi_cuba_lif, xylo_lif  # noqa: E402

BASELINE = REPO / "benchmarks" / "baselines" / "neuron_update.json"


def configurations():
    """name -> (NeuronParams, drive_width, per_neuron)."""
    return {
        "lif16": (
            NeuronParams(
                n_currents=1,
                v_width=16,
                i_width=16,
                v_overflow="saturate",
                i_overflow="saturate",
                v_decay=Decay.multiply(410, 12),
                i_decay=Decay.multiply(1024, 12),
                threshold=1000,
                reset="zero",
            ),
            20,
            frozenset(),
        ),
        "loihi": (loihi_cuba_lif(du=1024, dv=410, vth=100), 24, frozenset()),
        "xylo": (
            xylo_lif(dash_mem=3, dash_syn=(2, 4), threshold=[1000]),
            16,
            frozenset({"threshold"}),
        ),
    }


def neuron_update(config):
    params, drive_width, per_neuron = configurations()[config]
    return NeuronUpdate(params, drive_width=drive_width, per_neuron=per_neuron)


DEVICES = {
    # name: (neurohw.flows device, target MHz)
    "up5k": ("ice40-up5k", 40),
    "ecp5-85k": ("ecp5-85k", 120),
}


def synthesize_config(config, device, build, seed=1):
    """Run one configuration on one device; returns ``(SynthReport, latency, target)``."""
    flow_device, target = DEVICES[device]
    dut = neuron_update(config)
    report = synthesize(
        dut,
        device=flow_device,
        workdir=build / f"{config}-{device}",
        name=f"neuron_update-{config}",
        clock_mhz=target * 1.25,
        seed=seed,
        harness=True,
    )
    return report, dut.latency, target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        action="append",
        choices=sorted(configurations()),
        help="configuration(s) to synthesize (default: lif16 and loihi)",
    )
    parser.add_argument(
        "--device", action="append", choices=sorted(DEVICES), help="device(s) (default: all)"
    )
    parser.add_argument("--build", type=Path, default=REPO / "build" / "synth_neuron_update")
    parser.add_argument("--seed", type=int, default=1, help="nextpnr seed (default: 1)")
    baseline = parser.add_mutually_exclusive_group()
    baseline.add_argument(
        "--check-baseline",
        action="store_true",
        help="compare with the baseline; exit status 1 on a regression",
    )
    baseline.add_argument(
        "--update-baseline", action="store_true", help="record the results as the baseline"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=BASELINE,
        help=f"baseline file (default: {BASELINE.relative_to(REPO)})",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the flow's progress")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    rows = []
    for config in args.config or ["lif16", "loihi"]:
        for device in args.device or list(DEVICES):
            report, latency, target = synthesize_config(config, device, args.build, args.seed)
            rows.append((config, device, latency, target, report))
            print(
                f"  {config} on {device}: {report.fmax_mhz or 0:.1f} MHz "
                f"({report.wall_time_s:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    header = (
        f"{'config':<8} {'device':<9} {'latency':>7} {'LUT4':>6} {'carry':>6} {'FF':>6} "
        f"{'DSP':>4} {'LC/COMB':>8} {'Fmax MHz':>9} {'target':>7}"
    )
    print(header)
    print("-" * len(header))
    for config, device, latency, target, r in rows:
        fmax = r.fmax_mhz or 0.0  # None: no register-to-register path
        verdict = "ok" if fmax >= target else "MISS"
        print(
            f"{config:<8} {device:<9} {latency:>7} {r.luts:>6} {r.carries:>6} {r.ffs:>6} "
            f"{r.dsp:>4} {r.logic_cells:>8} {fmax:>9.1f} {target:>5} {verdict}"
        )
    print(
        "LUT4/carry/FF/DSP: datapath only (Yosys, harness excluded); LC/COMB: whole design "
        "incl. harness (ICESTORM_LC / TRELLIS_COMB, nextpnr)"
    )
    print(f"synthesis: {rows[0][4].yosys_version}, {rows[0][4].nextpnr_version}, seed {args.seed}")
    status = 0
    for config, device, _, _, report in rows:
        if args.update_baseline:
            update_baseline(report, args.baseline)
        elif args.check_baseline:
            regressions = compare_to_baseline(report, args.baseline)
            for regression in regressions:
                print(f"REGRESSION {config} on {device}: {regression}")
            status = status or int(bool(regressions))
    if args.check_baseline and not status:
        print(f"no regression against {args.baseline}")
    return status


if __name__ == "__main__":
    sys.exit(main())
