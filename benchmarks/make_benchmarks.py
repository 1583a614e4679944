"""Regenerate ``BENCHMARKS.md``: resources, Fmax, synaptic operations per second and latency per
inference of a 256-neuron core, the digits network and a 784-128-10 network, on iCE40UP5K and
ECP5-85F, next to published SNN accelerators.

    .venv/bin/python benchmarks/make_benchmarks.py              # synthesize what is missing
    .venv/bin/python benchmarks/make_benchmarks.py --rerun      # synthesize everything again
    .venv/bin/python benchmarks/make_benchmarks.py --table      # only rewrite BENCHMARKS.md

Synthesis results are cached in ``benchmarks/results/system_synth.json`` (one entry per design
and device, with the tool versions); the 256-neuron core's figures come from
``benchmarks/results/core_synth.json`` (``benchmarks/bench_core_synth.py``). Cycles per
inference come from the analytic timing model :func:`neurohw.flows.report.estimate_cycles`
(checked against RTL simulation by ``tests/test_report.py``). ``docs/benchmarks.md`` explains
every number.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from neurohw.flows.report import (CycleEstimate, estimate_cycles, format_rate,  # noqa: E402
                                  format_us, synth_report)

RESULTS = REPO / "benchmarks" / "results" / "system_synth.json"
CORE_RESULTS = REPO / "benchmarks" / "results" / "core_synth.json"
OUTPUT = REPO / "BENCHMARKS.md"
BUILD = REPO / "build" / "benchmarks"

DEVICES = ("ice40-up5k", "ecp5-85k")
LABEL = {"ice40-up5k": "iCE40UP5K", "ecp5-85k": "ECP5-85F"}
#: Block RAM bits per device (iCE40 SB_RAM40_4K 4 kbit x 30; ECP5 DP16KD 18 kbit x 208) and the
#: depth x width the core's weight banks occupy (NeuronCore splits weight memories into banks of
#: WEIGHT_BANK_DEPTH = 2048 words; on ECP5 one DP16KD holds 2048 x 9).
BRAM_BITS = {"ice40-up5k": 4096, "ecp5-85k": 18432}
BRAM_COUNT = {"ice40-up5k": 30, "ecp5-85k": 208}

#: Published figures (MNIST, 784-128-10 class networks).
PUBLISHED = [
    {"name": "Spiker+ (Carpegna et al.)", "logic": "7,612 logic cells", "logic_cells": 7612,
     "bram": 18, "latency_us": 780.0, "notes": "MNIST, published figure"},
    {"name": "Fan and Levy", "logic": "6,358 LUT", "logic_cells": 6358, "bram": 40.5,
     "latency_us": 520.0, "notes": "MNIST, 0.52 ms per image at 100 MHz"},
]

#: MNIST-sized network: input assumptions (stated next to every number).
MNIST_STEPS = 16
MNIST_INPUT_RATE = 0.10        # spikes per input line and step (Bernoulli)
MNIST_SEED = 0


# -- networks ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def digits_network(seed: int = 0):
    """The digits classifier (``neurohw.train.digits``, trained with ``seed``) -> NIR -> import
    -> 8-bit quantization; returns ``(network, test_counts)``."""
    from neurohw.network.nir_import import import_nir
    from neurohw.network.quantize import quantize
    from neurohw.train import digits
    model = digits.train(seed=seed)
    float_net = import_nir(digits.to_nir(model), dt=model.dt)
    network, _ = quantize(float_net, weight_width=8)
    counts, _labels = digits.test_set(model.config.steps, seed=seed, limit=32)
    return network, counts


def mnist_params():
    """The 784-128-10 network's neurons: LIF without synaptic current, 16-bit membrane, leak
    ``v - v >> 4`` (shift decay, no multiplier), threshold 64, reset to zero."""
    from neurohw.model import Decay, NeuronParams
    return NeuronParams(n_currents=0, v_width=16, v_overflow="saturate",
                        v_decay=Decay.shift(4), threshold=64, reset="zero")


def mnist_network(seed: int = MNIST_SEED, weight_width: int = 8):
    """784 inputs -> 128 LIF -> 10 LIF, dense random integer weights (seeded, uniform in
    [-2^(w-1), 2^(w-1) - 1] scaled down for the hidden layer's activity)."""
    from neurohw.network import InputGroup, Network, Population, Projection
    rng = np.random.default_rng(seed)
    top = 2 ** (weight_width - 1)
    w1 = rng.integers(-top, top, size=(784, 128))
    w2 = rng.integers(-top, top, size=(128, 10))
    params = mnist_params()
    return Network(inputs=[InputGroup("pixels", 784)],
                   populations=[Population("hidden", 128, params, weight_width=weight_width),
                                Population("out", 10, params, weight_width=weight_width)],
                   projections=[Projection("pixels", "hidden", w1),
                                Projection("hidden", "out", w2)],
                   outputs=["out"])


def mnist_inputs(samples: int = 4, seed: int = MNIST_SEED):
    rng = np.random.default_rng(seed + 1)
    return {"pixels": (rng.random((MNIST_STEPS, samples, 784)) < MNIST_INPUT_RATE)
            .astype(np.int64)}


#: name -> (what, builder of (plan, inputs), lanes note)
def _configs():
    from neurohw.network.mapping import CoreCapacity, map_network

    def digits(lanes):
        def build():
            network, counts = digits_network(0)
            return map_network(network, lanes=lanes), {"input": counts}
        return build

    def mnist(lanes, step_width=8):
        def build():
            network = mnist_network()
            plan = map_network(network, lanes=lanes, step_width=step_width,
                               capacity=CoreCapacity(max_neurons=256, max_axons=1024))
            return plan, mnist_inputs()
        return build

    return {
        "digits-p1": ("digits 64-64-10 (trained, seed 0)", digits(1)),
        "mnist-p8": ("784-128-10, random 8-bit weights, lanes 8", mnist(8)),
        "mnist-p16": ("784-128-10, random 8-bit weights, lanes 16", mnist(16)),
        "mnist-p1": ("784-128-10, random 8-bit weights, lanes 1", mnist(1)),
    }





# -- synthesis cache --------------------------------------------------------------------------


def load_results(path: Path = RESULTS) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_results(results: dict, path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def precheck(plan, device: str) -> str | None:
    """Why ``plan`` cannot fit ``device``, decided before synthesis, or ``None``.

    The core stores dense weights in banks of ``WEIGHT_BANK_DEPTH`` words, each its own block
    RAM (``lanes * ceil(axons * ceil(neurons / lanes) / 2048) * ceil(width / bram width)``
    blocks; on the iCE40 a 4 kbit SB_RAM40_4K holds 2048 x 2, 1024 x 4 or 512 x 8). SystemTop has
    no SPRAM option, so a design whose weight banks alone exceed the device's block RAMs is
    reported as not fitting without running the tools (nextpnr would stop at the same place
    after minutes of synthesis)."""
    from neurohw.hw.core import WEIGHT_BANK_DEPTH
    if device != "ice40-up5k":
        return None
    blocks = 0
    bits = 0
    for core in plan.cores:
        depth = core.n_axons * -(-core.n_neurons // core.lanes)
        banks = -(-depth // WEIGHT_BANK_DEPTH)
        bank_depth = min(depth, WEIGHT_BANK_DEPTH)
        # SB_RAM40_4K: 256 x 16, 512 x 8, 1024 x 4, 2048 x 2 (width per block at this depth).
        per_block_width = {256: 16, 512: 8, 1024: 4, 2048: 2}
        width = next(w for d, w in sorted(per_block_width.items()) if d >= bank_depth)
        channels = core.weights.shape[0]
        blocks += channels * core.lanes * banks * -(-core.weight_width // width)
        bits += core.weights.shape[0] * core.n_axons * core.n_neurons * core.weight_width
    if blocks > BRAM_COUNT[device]:
        return (f"weights alone need {blocks} SB_RAM40_4K (4 kbit) > {BRAM_COUNT[device]} "
                f"({bits} weight bits; SystemTop stores weights in block RAM only, no SPRAM)")
    return None


def synthesize_config(key: str, devices=DEVICES, *, results: dict, rerun: bool = False,
                      build: Path = BUILD) -> dict:
    """Synthesize configuration ``key`` on ``devices`` (unless cached) and store each device's
    :class:`DeviceResult` dict in ``results[key][device]``."""
    what, builder = _configs()[key]
    plan, _inputs = builder()
    entry = results.setdefault(key, {})
    for device in devices:
        if device in entry and not rerun:
            continue
        reason = precheck(plan, device)
        started = time.monotonic()
        print(f"[{time.strftime('%H:%M:%S')}] {key} on {device} ...", file=sys.stderr, flush=True)
        if reason:
            entry[device] = {"device": device, "fits": False, "error": reason, "overflow": [],
                             "precheck": True}
        else:
            report = synth_report(plan, [device], workdir=build / key, name=key)
            result = report.devices[0]
            entry[device] = result.to_dict()
            if result.synth is not None:
                entry[device]["synth_report"] = result.synth.to_dict()
        print(f"[{time.strftime('%H:%M:%S')}] {key} on {device}: "
              f"{entry[device].get('error') or entry[device].get('fmax_mhz')} "
              f"({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
        save_results(results)
    return entry


# -- cycles -----------------------------------------------------------------------------------


def cycles_for(key: str) -> CycleEstimate:
    """Analytic cycles of configuration ``key`` over its inputs (digits: 32 test images of 16
    steps; 784-128-10: 4 samples of MNIST_STEPS steps at MNIST_INPUT_RATE)."""
    _what, builder = _configs()[key]
    plan, inputs = builder()
    return estimate_cycles(plan, inputs)


def core_latency(row: dict, events: int) -> float:
    """Cycles of one step of the 256-neuron core with ``events`` input events (dense: one row
    of ceil(N/P) words per event, then the sweep; TimingModel's sweep overhead)."""
    from neurohw.flows.report import TimingModel
    D = -(-row["n_neurons"] // row["lanes"])
    return events * D + D + row["update_latency"] + TimingModel().sweep_overhead


# -- the table --------------------------------------------------------------------------------


def _fmt_int(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _row(label, device, result, *, latency_us=None, sops=None, assumptions="") -> str:
    if not result.get("fits", "error" not in result) or "error" in result and result["error"]:
        reason = result.get("error", "").split(" (log:")[0]
        return (f"| {label} | {LABEL.get(device, device)} | does not fit: {reason} "
                f"| | | | | | | | | {assumptions} |")
    fmax = result["fmax_mhz"]
    return (f"| {label} | {LABEL.get(device, device)} | {_fmt_int(result['luts'])} | "
            f"{_fmt_int(result['carries'])} | {_fmt_int(result['ffs'])} | {result['bram']} | "
            f"{result['spram']} | {result['dsp']} | {_fmt_int(result['logic_cells'])} | "
            f"{fmax:.1f} | {'-' if sops is None else format_rate(sops)} | "
            f"{'-' if latency_us is None else format_us(latency_us)} | {assumptions} |")


HEADER = ("| design | device | LUT4 | carry | FF | BRAM | SPRAM | DSP | logic cells | Fmax MHz "
          "| synaptic ops/s | latency | assumptions |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def core_rows() -> list[str]:
    rows = json.loads(CORE_RESULTS.read_text())
    by = {r["run"]: r for r in rows}
    lines = []
    events = 26
    for run in ("lif16-p1-up5k", "lif16-p1-ecp5", "lif16-p16-ecp5", "lif16-a32-p1-up5k"):
        r = by.get(run)
        if r is None:
            continue
        label = (f"256-neuron core ({r['n_neurons']} x {r['n_axons']} axons, 8-bit, "
                 f"lanes {r['lanes']})")
        if "error" in r:
            lines.append(_row(label, r["device"], {"fits": False, "error": r["error"]},
                              assumptions="core alone, in the flow's I/O harness"))
            continue
        result = dict(r, fits=True)
        cycles = core_latency(r, events)
        lines.append(_row(label, r["device"], result, latency_us=cycles / r["fmax_mhz"],
                          sops=r["lanes"] * r["fmax_mhz"] * 1e6,
                          assumptions=(f"peak SOP/s = lanes x Fmax; latency = one step with "
                                       f"{events} input events (10 % of axons): {cycles:.0f} "
                                       f"cycles; core alone in the I/O harness"
                                       + ("; 32-axon variant (block RAM only)"
                                          if r["n_axons"] == 32 else "")
                                       + (f"; {r['spram']} SPRAM for the weights"
                                          if r.get("spram") else ""))))
    return lines


def system_rows(results: dict, estimates: dict) -> list[str]:
    lines = []
    for key, (what, _builder) in _configs().items():
        entry = results.get(key, {})
        est = estimates.get(key)
        for device in DEVICES:
            result = entry.get(device)
            if result is None:
                continue
            latency = sops = None
            assumptions = ""
            if est is not None:
                if result.get("fits") and result.get("fmax_mhz"):
                    latency = est["cycles_per_inference"] / result["fmax_mhz"]
                    sops = est["synaptic_ops_per_inference"] / (latency * 1e-6)
                assumptions = (f"{est['steps']} steps; {est['input_spikes']:.0f} input spikes "
                               f"per sample (mean of {est['samples']}); "
                               f"{est['cycles_per_inference']:.0f} cycles per sample (analytic)")
            lines.append(_row(what, device, result, latency_us=latency, sops=sops,
                              assumptions=assumptions))
    return lines


def estimate_dict(est: CycleEstimate, inputs_total: float) -> dict:
    d = est.to_dict()
    d["input_spikes"] = inputs_total
    return d


def dominance(results: dict, estimates: dict) -> tuple[list[str], dict]:
    """Compare every synthesized 784-128-10 configuration on the ECP5-85F with the published
    points; returns the Markdown lines and the best configuration's verdict."""
    lines = ["| configuration | logic cells (TRELLIS_COMB) | LUT4 + 2 x CCU2C | block RAM "
             "(DP16KD, 18 kbit) | in 36 kbit units | time per image | vs Spiker+ (7,612 LC, 18 "
             "BRAM, 780 us) | vs Fan and Levy (6,358 LUT, 40.5 BRAM, 520 us) |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    normalized = []
    verdicts = {}
    for key, (what, _b) in _configs().items():
        if not key.startswith("mnist"):
            continue
        r = results.get(key, {}).get("ecp5-85k")
        est = estimates.get(key)
        if not r or not r.get("fits") or est is None:
            continue
        lc, lut = r["logic_cells"], r["luts"] + 2 * r["carries"]
        us = est["cycles_per_inference"] / r["fmax_mhz"]
        cells = []
        verdict = {}
        for pub in PUBLISHED:
            checks = {"logic": lc < pub["logic_cells"], "bram": r["bram"] < pub["bram"],
                      "latency": us < pub["latency_us"]}
            verdict[pub["name"]] = checks
            cells.append(", ".join(f"{name} {'better' if ok else 'WORSE'}"
                                   for name, ok in checks.items())
                         + ("; **dominates**" if all(checks.values()) else ""))
        verdicts[key] = verdict
        lines.append(f"| {what} | {lc:,} | {lut:,} | {r['bram']} | {r['bram'] / 2:g} | "
                     f"{format_us(us)} | {cells[0]} | {cells[1]} |")
        # Like for like as far as the counts allow: LUT4 + 2 x CCU2C against LUTs, block RAM
        # in 36 kbit units (Vivado's BRAM tiles, a RAMB18 counting 0.5).
        for pub in PUBLISHED:
            if lut < pub["logic_cells"] and r["bram"] / 2 < pub["bram"] \
                    and us < pub["latency_us"]:
                normalized.append(f"{key} dominates {pub['name']}")
    lines += ["", "Normalized view (not the target's terms): LUT4 + 2 x CCU2C against the "
              "published LUT / logic-cell count and block RAM in 36 kbit units (DP16KD / 2) "
              "against the published BRAM: " + ("; ".join(normalized) if normalized
                                                else "no configuration dominates") + "."]
    return lines, verdicts


def render(results: dict, estimates: dict) -> str:
    from neurohw.flows.report import TimingModel
    versions = sorted({(d.get("yosys"), d.get("nextpnr")) for e in results.values()
                       for d in e.values() if d.get("yosys")})
    lines = [
        "# Benchmarks",
        "",
        "Generated by `.venv/bin/python benchmarks/make_benchmarks.py` (synthesis results cached "
        "in `benchmarks/results/system_synth.json` and `benchmarks/results/core_synth.json`; "
        "`--rerun` synthesizes again). What each number means and every assumption: "
        "`docs/benchmarks.md`.",
        "",
        "Tools: " + "; ".join(f"{y}, {n}" for y, n in versions) + ". Out-of-context runs "
        "(`neurohw.flows.synth`): ECP5-85F without pads; iCE40UP5K in the SG48 package with the "
        "serial I/O harness where the ports exceed its pins. Fmax is nextpnr's for the `sync` "
        "clock (constraint 150 MHz on ECP5, 50 MHz on iCE40; 1.25 x target for the core runs). "
        "Latency is the chip's own (host port fed one event word per clock, outputs always "
        "taken), from the analytic timing model `neurohw.flows.report.estimate_cycles` "
        "(within 2 % of RTL simulation on the digits network, 10 % on small networks: "
        "`tests/test_report.py`), at the achieved Fmax. A board's UART (115200 baud) is far "
        "slower than the chip and is not included.",
        "",
        "## Resources, Fmax, throughput, latency",
        "",
        HEADER,
        *core_rows(),
        *system_rows(results, estimates),
        "",
        "Synaptic ops/s: for the core, the peak (`lanes x Fmax`, one synaptic operation per lane "
        "per clock); for networks, the effective rate: synaptic operations of a sample (events "
        "applied x non-zero weights they reach) over the time per sample. Latency for networks: "
        "mean time per sample with samples back to back (the end-of-sample clear included).",
        "",
        "## 784-128-10 against published accelerators",
        "",
    ]
    dom_lines, verdicts = dominance(results, estimates)
    lines += dom_lines
    lines += ["",
              f"Input: {MNIST_STEPS} time steps, each of the 784 lines spiking with probability "
              f"{MNIST_INPUT_RATE} per step (Bernoulli, seed {MNIST_SEED + 1}): "
              f"{MNIST_STEPS * 784 * MNIST_INPUT_RATE:.0f} input spikes per image expected "
              f"({estimates.get('mnist-p8', {}).get('input_spikes', 0):.0f} in the 4 samples "
              "the cycles are estimated on), "
              "the activity of rate-coded MNIST (mean pixel intensity ~0.13). Weights random "
              "8-bit, LIF neurons without synaptic current (16-bit membrane, shift leak). "
              "Published figures are the papers' own (Xilinx devices: LUT6 and 36 kbit "
              "block RAMs, so neither logic nor block RAM counts are like for like).",
              ""]
    met = [k for k, v in verdicts.items() if all(all(c.values()) for c in v.values())]
    if met:
        lines.append(f"**Target met** by: {', '.join(met)}.")
    else:
        failing = []
        for key, verdict in verdicts.items():
            worse = sorted({name for checks in verdict.values()
                            for name, ok in checks.items() if not ok})
            failing.append(f"{key}: {', '.join(worse)}")
        lines.append(
            "**Target not met** (criteria missed per configuration: " + "; ".join(failing)
            + "). No configuration uses fewer block RAMs: `NeuronCore` stores dense weights in "
            "banks of `WEIGHT_BANK_DEPTH` = 2048 words, each full bank its own DP16KD whatever "
            "the weight width, so a 784 x 128 layer takes at least 48 DP16KD (100,352 words in "
            "2048-word banks; only a short last bank per lane goes to LUT RAM) at any lanes "
            "setting, plus the 10-neuron core's banks and the ingress FIFOs (`3 x (keys + 1)` "
            "event words per core). See docs/benchmarks.md for what would get there.")
    lines += ["", "## Timing model constants", "",
              "`" + repr(TimingModel()) + "`", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rerun", action="store_true", help="synthesize everything again")
    parser.add_argument("--table", action="store_true", help="no synthesis: rewrite the table "
                        "from the cached results")
    parser.add_argument("--only", action="append", help="configuration(s) to synthesize")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    results = load_results()
    keys = args.only or list(_configs())
    if not args.table:
        for key in keys:
            synthesize_config(key, results=results, rerun=args.rerun)
    estimates = {}
    for key, (_what, builder) in _configs().items():
        plan, inputs = builder()
        est = estimate_cycles(plan, inputs)
        total = sum(float((np.asarray(v) != 0).sum()) for v in inputs.values()) / est.samples
        estimates[key] = estimate_dict(est, total)
    results["_estimates"] = estimates
    save_results(results)
    text = render({k: v for k, v in results.items() if not k.startswith("_")}, estimates)
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
