"""The "energy from sparsity" curve of the digits chip: estimated energy and latency per
inference against the input event rate and the weight width, on iCE40UP5K and ECP5-85F, with the
NeuroBench metrics of the real test set and a comparison with published figures.

    .venv/bin/python benchmarks/bench_energy.py [--samples N] [--json PATH] [--plot PATH]

Trains the digits SNN (seed 0, as ``neurohw example``), imports its NIR export and quantizes it
to each weight width (2, 4, 8, 16 bits), maps it (lanes 1, as BENCHMARKS.md's digits rows) and
estimates (:func:`neurohw.flows.energy.estimate_energy`; an estimate, not a measurement:
``docs/energy.md``) for

* the test set's own inputs (the first ``--samples`` images), and
* Bernoulli inputs of each rate (spikes per line and step, seeded) over the same 16 steps,
  ``--samples`` samples each.

Latency is the analytic cycles per inference at BENCHMARKS.md's Fmax of the 8-bit digits chip
(every width: only the 8-bit chip was synthesized), clock energy with that chip's flip-flops.
Writes ``benchmarks/results/energy.json`` (git commit, tool versions) and
``benchmarks/results/energy_sweep.png``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from neurohw.flows.energy import ENERGY_MODELS, chip_activity, estimate_energy  # noqa: E402
from neurohw.flows.metrics import neurobench_metrics  # noqa: E402
from neurohw.network import import_nir, map_network, quantize, simulate  # noqa: E402
from neurohw.train import digits  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
DEVICES = ("ice40-up5k", "ecp5-85k")
WIDTHS = (2, 4, 8, 16)
RATES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)

#: Published energy per inference (REFERENCE.md section 6; ODIN and MLAccel: docs/energy.md
#: section 3, as read). None is like for like: other networks, data sets and devices, and
#: those are measurements where ours are estimates.
PUBLISHED = [
    {
        "design": "Spiker+",
        "task": "MNIST (FPGA)",
        "energy_uj": 180e-3 * 780,
        "latency_us": 780,
        "basis": "measured: 180 mW x 780 us per image",
    },
    {
        "design": "Fan and Levy",
        "task": "MNIST (FPGA)",
        "energy_uj": 198.0,
        "latency_us": None,
        "basis": "reported: 0.198 mJ per image",
    },
    {
        "design": "NeuroHLS",
        "task": "N-MNIST, 784-128-10 (FPGA)",
        "energy_uj": 2.16,
        "latency_us": 0.8,
        "basis": "reported: 2.16 uJ, 0.8 us per inference",
    },
    {
        "design": "ODIN (Frenkel et al., IEEE TBioCAS 2018)",
        "task": "MNIST 16x16, 10 LIF neurons, online learning (28 nm ASIC)",
        "energy_uj": 15e-3,
        "latency_us": None,
        "pj_per_sop": 12.7,
        "basis": "measured: 15 nJ per inference at 0.55 V, 12.7 pJ per SOP (minimum); an ASIC",
    },
    {
        "design": "MLAccel (Symbiotic EDA, 2018)",
        "task": "convolution accelerator, longrun demo (iCE40UP5K, 12 MHz)",
        "energy_uj": None,
        "latency_us": None,
        "power_mw": 10.58,
        "basis": "measured on the iCE40UP5K breakout board: core 8.7 mA at 1.216 V "
        "(10.58 mW; 2.9 mA idle), 14.0 mA at 20 MHz; no per-inference figure: the same device "
        "busy, a dense CNN accelerator",
    },
    {
        "design": "Xylo Audio 2 (SynSense)",
        "task": "keyword spotting (ASIC)",
        "energy_uj": 6.6,
        "latency_us": None,
        "basis": "measured: 291 uW, 6.6 uJ per inference",
    },
]


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _synthesized():
    """FFs and Fmax of the 8-bit digits chip per device (benchmarks/results/system_synth.json)."""
    data = json.loads((RESULTS / "system_synth.json").read_text())["digits-p1"]
    return {d: (data[d]["ffs"], data[d]["fmax_mhz"]) for d in DEVICES}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=32, help="samples per point")
    parser.add_argument("--json", default=str(RESULTS / "energy.json"))
    parser.add_argument("--plot", default=str(RESULTS / "energy_sweep.png"))
    parser.add_argument("--build-dir", default=str(ROOT / "build" / "bench_energy"))
    args = parser.parse_args(argv)
    start = time.perf_counter()

    model = digits.train()
    build = Path(args.build_dir)
    build.mkdir(parents=True, exist_ok=True)
    nir_path = digits.export_nir(model, build / "digits.nir")
    counts, labels = digits.test_set(
        model.config.steps, seed=model.config.seed, test_fraction=model.config.test_fraction
    )
    steps = counts.shape[0]
    synthesized = _synthesized()
    rng = np.random.default_rng(0)

    points = []
    metrics = {}
    for width in WIDTHS:
        network, _ = quantize(import_nir(nir_path, dt=model.dt), weight_width=width)
        plan = map_network(network, lanes=1)
        group = next(iter(network.inputs))
        size = network.inputs[group].size
        output = simulate(network, {group: counts}).spikes[network.outputs[0]]
        accuracy = float((output.sum(axis=0).argmax(axis=1) == labels).mean())
        metrics[width] = {
            **neurobench_metrics(network, {group: counts}).as_dict(),
            "fixed_accuracy": accuracy,
        }
        workloads = [("test set", None, counts[:, : args.samples])]
        for rate in RATES:
            x = (rng.random((steps, args.samples, size)) < rate).astype(np.int64)
            workloads.append((f"rate {rate}", rate, x))
        for name, rate, x in workloads:
            activity = chip_activity(plan, {group: x})
            events = float(np.count_nonzero(x)) / x.shape[1]
            for device in DEVICES:
                ffs, fmax = synthesized[device]
                e = estimate_energy(
                    plan, None, device, fmax_mhz=fmax, flip_flops=ffs, activity=activity
                )
                points.append(
                    {
                        "weight_width": width,
                        "fixed_accuracy": accuracy,
                        "workload": name,
                        "input_rate": rate if rate is not None else events / (steps * size),
                        "input_events_per_inference": events,
                        "device": device,
                        "energy_uj": e.total_uj,
                        "energy_low_uj": e.low_uj,
                        "energy_high_uj": e.high_uj,
                        "latency_us": e.latency_us,
                        "breakdown_uj": {k: v[0] for k, v in e.breakdown.items()},
                        "activity": activity.as_dict(),
                    }
                )
        print(f"weight width {width}: done ({time.perf_counter() - start:.0f} s)", flush=True)

    ours = [p for p in points if p["workload"] == "test set" and p["weight_width"] == 8]
    comparison = [
        {
            "design": f"neurohw digits 64-64-10, {ENERGY_MODELS[p['device']].family}",
            "task": "sklearn digits 8x8, 16 steps (this repository)",
            "energy_uj": p["energy_uj"],
            "energy_range_uj": [p["energy_low_uj"], p["energy_high_uj"]],
            "latency_us": p["latency_us"],
            "power_mw": p["energy_uj"] / p["latency_us"] * 1e3,
            "pj_per_sop": p["energy_uj"] / p["activity"]["synaptic_ops"] * 1e6,
            "basis": "estimate (docs/energy.md), not a measurement",
        }
        for p in ours
    ] + [{**p, "like_for_like": False} for p in PUBLISHED]

    versions = {
        name: metadata.version(name) for name in ("neurohw", "numpy", "matplotlib", "amaranth")
    }
    versions["python"] = platform.python_version()
    result = {
        "git_commit": _git_commit(),
        "versions": versions,
        "samples_per_point": args.samples,
        "steps": steps,
        "fmax_and_ffs": {d: {"ffs": f, "fmax_mhz": m} for d, (f, m) in synthesized.items()},
        "label": "estimates (docs/energy.md), not measurements",
        "neurobench_test_set": {str(w): m for w, m in metrics.items()},
        "points": points,
        "comparison": comparison,
        "seconds": round(time.perf_counter() - start, 1),
    }
    Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    _plot(points, Path(args.plot))
    print(f"wrote {args.json} and {args.plot}")
    for p in ours:
        print(
            f"  {p['device']}: {p['energy_uj']:.3g} uJ ({p['energy_low_uj']:.3g}.."
            f"{p['energy_high_uj']:.3g}), {p['latency_us']:.1f} us per inference (test set)"
        )
    return 0


def _plot(points, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for d, device in enumerate(DEVICES):
        ax = axes[d]
        for width in WIDTHS:
            sweep = [
                p
                for p in points
                if p["device"] == device
                and p["weight_width"] == width
                and p["workload"] != "test set"
            ]
            x = [p["input_rate"] for p in sweep]
            label = f"{width}-bit (accuracy {sweep[0]['fixed_accuracy']:.0%})"
            (line,) = ax.plot(x, [p["energy_uj"] for p in sweep], marker="o", label=label)
            if width == 8:
                ax.fill_between(
                    x,
                    [p["energy_low_uj"] for p in sweep],
                    [p["energy_high_uj"] for p in sweep],
                    color=line.get_color(),
                    alpha=0.15,
                    label="8-bit low..high",
                )
        test = [
            p
            for p in points
            if p["device"] == device and p["workload"] == "test set" and p["weight_width"] == 8
        ]
        ax.plot(
            [p["input_rate"] for p in test],
            [p["energy_uj"] for p in test],
            "k*",
            markersize=12,
            label="test set, 8-bit",
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input spikes per line and step")
        ax.set_ylabel("estimated energy per inference (uJ)")
        ax.set_title(f"digits chip, {ENERGY_MODELS[device].family} (estimate)")
        ax.legend(fontsize=8)
    ax = axes[2]
    for device in DEVICES:
        sweep = [
            p
            for p in points
            if p["device"] == device and p["weight_width"] == 8 and p["workload"] != "test set"
        ]
        ax.plot(
            [p["input_rate"] for p in sweep],
            [p["latency_us"] for p in sweep],
            marker="o",
            label=ENERGY_MODELS[device].family,
        )
    ax.set_xscale("log")
    ax.set_xlabel("input spikes per line and step")
    ax.set_ylabel("latency per inference (us)")
    ax.set_title("latency (analytic cycles at Fmax), 8-bit")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
