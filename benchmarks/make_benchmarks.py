"""Regenerate ``BENCHMARKS.md``: resources, Fmax, synaptic operations per second and latency per
inference of a 256-neuron core, the digits network and a 784-128-10 network, on iCE40UP5K and
ECP5-85F, next to published SNN accelerators.

    .venv/bin/python benchmarks/make_benchmarks.py              # synthesize what is missing
    .venv/bin/python benchmarks/make_benchmarks.py --rerun      # synthesize everything again
    .venv/bin/python benchmarks/make_benchmarks.py --table      # only rewrite BENCHMARKS.md

Synthesis results are cached in ``benchmarks/results/system_synth.json`` (one entry per design
and device, with the tool versions); the 256-neuron core's figures come from
``benchmarks/results/core_synth.json`` (``benchmarks/bench_core_synth.py``); the learning, delay
and event-camera sections from ``benchmarks/results/learning.json``
(``benchmarks/bench_learning.py``), when it exists. Cycles per
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
# The repository (neurohw) and this folder (bench_core_synth, whose runs the core rows are).
for _path in (REPO, REPO / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from neurohw import Chip  # noqa: E402
from neurohw.flows import design_hash  # noqa: E402
from neurohw.flows.report import (  # noqa: E402
    CycleEstimate,
    estimate_cycles,
    format_rate,
    format_us,
    synth_report,
)

#: The default results folder (``--out``): the committed figures.
RESULTS_DIR = REPO / "benchmarks" / "results"
RESULTS = RESULTS_DIR / "system_synth.json"
#: Written by ``bench_up5k_spram.py``: the SPRAM chips' RTL check.
UP5K_SPRAM_RESULTS = RESULTS_DIR / "up5k_spram.json"
CORE_RESULTS = RESULTS_DIR / "core_synth.json"
LEARNING_RESULTS = RESULTS_DIR / "learning.json"
CONV_RESULTS = RESULTS_DIR / "conv_synth.json"
CNN_UP5K_RESULTS = RESULTS_DIR / "cnn_up5k.json"
ENERGY_RESULTS = RESULTS_DIR / "energy.json"
#: Written by ``bench_clock_targets.py``: issue 18's clock targets, two seeds each.
CLOCK_RESULTS = RESULTS_DIR / "clock_targets.json"
CNN_RESULTS = RESULTS_DIR / "cnn.json"
OUTPUT = REPO / "BENCHMARKS.md"
BUILD = REPO / "build" / "benchmarks"

DEVICES = ("ice40-up5k", "ecp5-85k")
LABEL = {"ice40-up5k": "iCE40UP5K", "ecp5-85k": "ECP5-85F"}
#: The Xilinx 7-series synthesis estimate (no place and route) the 784-128-10 rows also get, to
#: be compared with the published designs in their own units (LUT6, 36 kbit block RAM).
XILINX = "xc7-estimate"
#: Block RAM bits per device (iCE40 SB_RAM40_4K 4 kbit x 30; ECP5 DP16KD 18 kbit x 208) and the
#: depth x width the core's weight banks occupy (NeuronCore splits weight memories into banks of
#: WEIGHT_BANK_DEPTH = 2048 words; on ECP5 one DP16KD holds 2048 x 9).
BRAM_BITS = {"ice40-up5k": 4096, "ecp5-85k": 18432}
BRAM_COUNT = {"ice40-up5k": 30, "ecp5-85k": 208}

#: Published figures (MNIST, 784-128-10 class networks).
PUBLISHED = [
    {
        "name": "Spiker+ (Carpegna et al.)",
        "logic": "7,612 logic cells",
        "logic_cells": 7612,
        "bram": 18,
        "latency_us": 780.0,
        "notes": "MNIST, published figure",
    },
    {
        "name": "Fan and Levy",
        "logic": "6,358 LUT",
        "logic_cells": 6358,
        "bram": 40.5,
        "latency_us": 520.0,
        "notes": "MNIST, 0.52 ms per image at 100 MHz",
    },
]

#: Latency margins below this fraction of a published point are called thin: nextpnr
#: placements of the same logic differ by several per cent in Fmax.
THIN_MARGIN = 0.05

#: Rows whose cached synthesis predates the width-dependent weight banks of ``NeuronCore``.
SYNTHESIZED_WITH_OLD_CORE: tuple = ()

#: MNIST-sized network: input assumptions (stated next to every number).
MNIST_STEPS = 16
MNIST_INPUT_RATE = 0.10  # spikes per input line and step (Bernoulli)
MNIST_SEED = 0


# -- networks ---------------------------------------------------------------------------------


@functools.cache
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


#: Threshold of the 784-128-10 network's neurons per weight width: 64 for the 8-bit weights; for
#: narrower weights chosen so that the hidden layer spikes about as often as with 8-bit weights
#: (~410-430 hidden spikes per image on the benchmark input; with threshold 64 a 2-bit network
#: is silent and its output core would have nothing to do).
MNIST_THRESHOLD = {8: 64, 4: 8, 2: 2}


def mnist_params(threshold: int = 64):
    """The 784-128-10 network's neurons: LIF without synaptic current, 16-bit membrane, leak
    ``v - v >> 4`` (shift decay, no multiplier), threshold ``threshold``, reset to zero."""
    from neurohw.model import Decay, NeuronParams

    return NeuronParams(
        n_currents=0,
        v_width=16,
        v_overflow="saturate",
        v_decay=Decay.shift(4),
        threshold=threshold,
        reset="zero",
    )


def mnist_network(seed: int = MNIST_SEED, weight_width: int = 8):
    """784 inputs -> 128 LIF -> 10 LIF, dense random integer weights (seeded). 8-bit: uniform in
    [-128, 127] (the original rows); narrower: uniform in the symmetric range
    [-(2^(w-1) - 1), 2^(w-1) - 1] (2-bit: -1, 0, 1; 4-bit: -7..7), threshold
    ``MNIST_THRESHOLD[w]``."""
    from neurohw.network import InputGroup, Network, Population, Projection

    rng = np.random.default_rng(seed)
    top = 2 ** (weight_width - 1)
    low = -top if weight_width >= 8 else -top + 1
    w1 = rng.integers(low, top, size=(784, 128))
    w2 = rng.integers(low, top, size=(128, 10))
    params = mnist_params(MNIST_THRESHOLD[weight_width])
    return Network(
        inputs=[InputGroup("pixels", 784)],
        populations=[
            Population("hidden", 128, params, weight_width=weight_width),
            Population("out", 10, params, weight_width=weight_width),
        ],
        projections=[Projection("pixels", "hidden", w1), Projection("hidden", "out", w2)],
        outputs=["out"],
    )


def mnist_inputs(samples: int = 4, seed: int = MNIST_SEED):
    rng = np.random.default_rng(seed + 1)
    return {"pixels": (rng.random((MNIST_STEPS, samples, 784)) < MNIST_INPUT_RATE).astype(np.int64)}


#: name -> (what, builder of (plan, inputs), lanes note)
def _configs():
    from neurohw.network.mapping import CoreCapacity, map_network

    def digits(lanes):
        def build():
            network, counts = digits_network(0)
            return map_network(network, lanes=lanes), {"input": counts}

        return build

    def mnist(lanes, step_width=8, weight_width=8, out_lanes=None):
        def build():
            network = mnist_network(weight_width=weight_width)
            plan = map_network(
                network,
                lanes=lanes if out_lanes is None else {"hidden": lanes, "out": out_lanes},
                step_width=step_width,
                capacity=CoreCapacity(max_neurons=256, max_axons=1024),
            )
            return plan, mnist_inputs()

        return build

    return {
        "digits-p1": ("digits 64-64-10 (trained, seed 0)", digits(1)),
        "mnist-p8": ("784-128-10, random 8-bit weights, lanes 8", mnist(8)),
        "mnist-p16": ("784-128-10, random 8-bit weights, lanes 16", mnist(16)),
        "mnist-p1": ("784-128-10, random 8-bit weights, lanes 1", mnist(1)),
        "mnist-w2-p4": (
            "784-128-10, random 2-bit weights, lanes 4 (output core lanes 1, 4-bit step tag)",
            mnist(4, step_width=4, weight_width=2, out_lanes=1),
        ),
        "mnist-w2-p8": (
            "784-128-10, random 2-bit weights, lanes 8 (output core lanes 1, 4-bit step tag)",
            mnist(8, step_width=4, weight_width=2, out_lanes=1),
        ),
        "mnist-w4-p4": (
            "784-128-10, random 4-bit weights, lanes 4 (output core lanes 1, 4-bit step tag)",
            mnist(4, step_width=4, weight_width=4, out_lanes=1),
        ),
        "mnist-w2-p2": (
            "784-128-10, random 2-bit weights, lanes 2 (output core lanes 1, 4-bit step tag)",
            mnist(2, step_width=4, weight_width=2, out_lanes=1),
        ),
        # 4-bit weights keep the digits network's fixed-point accuracy (energy.json: 95.5 % at
        # 4 bits, 10.6 % at 2 bits); lanes 8 for the latency that lanes 4 misses by 6 %.
        "mnist-w4-p8": (
            "784-128-10, random 4-bit weights, lanes 8 (output core lanes 1, 4-bit step tag)",
            mnist(8, step_width=4, weight_width=4, out_lanes=1),
        ),
        # The hidden core's weights in the iCE40UP5K's SPRAM (SPRAM_CONFIGS), packed 4 or 8 per
        # 16-bit word: the 784-128-10 on one UP5K.
        "mnist-w4-p4-spram": (
            "784-128-10, random 4-bit weights, lanes 4, hidden weights in SPRAM (4 per word; "
            "output core lanes 1, 4-bit step tag)",
            mnist(4, step_width=4, weight_width=4, out_lanes=1),
        ),
        "mnist-w2-p4-spram": (
            "784-128-10, random 2-bit weights, lanes 4, hidden weights in SPRAM (4 per word; "
            "output core lanes 1, 4-bit step tag)",
            mnist(4, step_width=4, weight_width=2, out_lanes=1),
        ),
        "mnist-w2-p8-spram": (
            "784-128-10, random 2-bit weights, lanes 8, hidden weights in SPRAM (8 per word; "
            "output core lanes 1, 4-bit step tag)",
            mnist(8, step_width=4, weight_width=2, out_lanes=1),
        ),
        # Lanes 2: half the lanes' logic of lanes 4 (the lanes-4 chips fill the UP5K's logic
        # cells and do not place), 2 weights per read, all 4 SPRAM (784 x 64 words).
        "mnist-w4-p2-spram": (
            "784-128-10, random 4-bit weights, lanes 2, hidden weights in SPRAM (2 per word; "
            "output core lanes 1, 4-bit step tag)",
            mnist(2, step_width=4, weight_width=4, out_lanes=1),
        ),
        "mnist-w2-p2-spram": (
            "784-128-10, random 2-bit weights, lanes 2, hidden weights in SPRAM (2 per word; "
            "output core lanes 1, 4-bit step tag)",
            mnist(2, step_width=4, weight_width=2, out_lanes=1),
        ),
        # Lanes 4 with router queues of 1 event (ROUTER_FIFO_DEPTHS): 90 % of the logic cells.
        "mnist-w2-p4-q1-spram": (
            "784-128-10, random 2-bit weights, lanes 4, hidden weights in SPRAM (4 per word; "
            "router queues of 1 event; output core lanes 1, 4-bit step tag)",
            mnist(4, step_width=4, weight_width=2, out_lanes=1),
        ),
    }


#: Configurations whose hidden core keeps its weights in SPRAM (``Chip(weight_memory=...)``):
#: iCE40UP5K only, with the debug port, through which the host loads those weights.
SPRAM_CONFIGS = (
    "mnist-w4-p4-spram",
    "mnist-w2-p4-spram",
    "mnist-w2-p8-spram",
    "mnist-w4-p2-spram",
    "mnist-w2-p2-spram",
    "mnist-w2-p4-q1-spram",
)

#: Router queue depth of the configurations that do not use the default (2): 1 event per
#: queue saves about 210 logic cells on the UP5K (12 queues), at most one event every other
#: cycle per queue, far above what the cores take (one input event per 32 cycles at lanes 4).
ROUTER_FIFO_DEPTHS = {"mnist-w2-p4-q1-spram": 1}


def weight_memory_of(key: str, plan) -> tuple:
    """Per core of ``plan``, where configuration ``key`` keeps its weights: the hidden
    population's cores in SPRAM for :data:`SPRAM_CONFIGS`, else block RAM."""
    spram = key in SPRAM_CONFIGS
    return tuple("spram" if spram and c.population == "hidden" else "bram" for c in plan.cores)


# -- synthesis cache --------------------------------------------------------------------------


def load_results(path: Path = RESULTS) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def save_results(results: dict, path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def precheck(plan, device: str) -> str | None:
    """Why ``plan`` cannot fit ``device``, decided before synthesis, or ``None``.

    The core stores dense weights per lane in banks of ``weight_bank_depth(width)`` words (one
    ECP5 DP16KD at that width); on the iCE40 each bank takes the fewest 4 kbit SB_RAM40_4K
    (2048 x 2, 1024 x 4, 512 x 8, 256 x 16) that hold it. For a chip whose weights are all
    in block RAM, a design whose weight banks alone exceed the device's block RAMs is
    reported as not fitting without running the tools (nextpnr would stop at the same place
    after minutes of synthesis)."""
    from neurohw.hw.core import weight_bank_depth

    if device != "ice40-up5k":
        return None
    # SB_RAM40_4K: 256 x 16, 512 x 8, 1024 x 4, 2048 x 2 (depth x width per block).
    shapes = ((256, 16), (512, 8), (1024, 4), (2048, 2))

    def blocks_for(depth: int, width: int) -> int:
        return min(-(-depth // d) * -(-width // w) for d, w in shapes)

    blocks = 0
    bits = 0
    for core in plan.cores:
        depth = core.n_axons * -(-core.n_neurons // core.lanes)
        bank = weight_bank_depth(core.weight_width)
        full, last = divmod(depth, bank)
        per_lane = full * blocks_for(bank, core.weight_width) + (
            blocks_for(last, core.weight_width) if last else 0
        )
        channels = core.weights.shape[0]
        blocks += channels * core.lanes * per_lane
        bits += core.weights.shape[0] * core.n_axons * core.n_neurons * core.weight_width
    if blocks > BRAM_COUNT[device]:
        return (
            f"weights alone need {blocks} SB_RAM40_4K (4 kbit) > {BRAM_COUNT[device]} "
            f"({bits} weight bits, all in block RAM; see the SPRAM rows)"
        )
    return None


#: Synthesis options of the chip rows (``synth_report``'s defaults: the device's clock
#: constraint, seed 1, the harness where the ports exceed the pins).
SYNTH_SEED = 1


def devices_of(key: str) -> tuple:
    """The devices configuration ``key`` is synthesized on: the 784-128-10 ones also get the
    Xilinx estimate; the SPRAM ones only the iCE40UP5K (the one device with SPRAM)."""
    if key in SPRAM_CONFIGS:
        return ("ice40-up5k",)
    return DEVICES + (XILINX,) if key.startswith("mnist") else DEVICES


def chip_of(key: str) -> Chip:
    """The chip configuration ``key`` synthesizes: as a board carries it, without the debug
    port (with it for SPRAM weights, which the host loads through it)."""
    _what, builder = _configs()[key]
    plan, _inputs = builder()
    kinds = weight_memory_of(key, plan)
    if "spram" in kinds:
        depth = ROUTER_FIFO_DEPTHS.get(key)
        return Chip(plan, weight_memory=kinds, **({"router_fifo_depth": depth} if depth else {}))
    return Chip(plan, debug=False)


def chip_provenance(chip: Chip, device: str) -> dict:
    """Provenance of a chip row: :meth:`neurohw.Chip.design_hash` and the synthesis options."""
    return design_hash.provenance(
        verilog_sha256=chip.design_hash(),
        options=design_hash.synthesis_options(device, seed=SYNTH_SEED),
    )


def synthesize_config(
    key: str,
    devices=DEVICES,
    *,
    results: dict,
    rerun: bool = False,
    build: Path = BUILD,
    path: Path = RESULTS,
) -> dict:
    """Synthesize configuration ``key`` on ``devices`` (unless cached, or with ``rerun``) and
    store each device's :class:`DeviceResult` dict, with its ``provenance``, in
    ``results[key][device]``; ``results`` is saved to ``path`` after each device."""
    chip = chip_of(key)
    plan = chip.plan
    entry = results.setdefault(key, {})
    for device in devices:
        if device in entry and not rerun:
            continue
        # SPRAM weights are not in block RAM: the tools decide.
        reason = None if key in SPRAM_CONFIGS else precheck(plan, device)
        started = time.monotonic()
        print(f"[{time.strftime('%H:%M:%S')}] {key} on {device} ...", file=sys.stderr, flush=True)
        if reason:
            entry[device] = {
                "device": device,
                "fits": False,
                "error": reason,
                "overflow": [],
                "precheck": True,
            }
        else:
            # The rows are the chip as a board carries it, without the debug port.
            report = synth_report(chip, [device], workdir=build / key, name=key, seed=SYNTH_SEED)
            result = report.devices[0]
            entry[device] = result.to_dict()
            if result.synth is not None:
                entry[device]["synth_report"] = result.synth.to_dict()
        entry[device]["provenance"] = chip_provenance(chip, device)
        print(
            f"[{time.strftime('%H:%M:%S')}] {key} on {device}: "
            f"{entry[device].get('error') or entry[device].get('fmax_mhz')} "
            f"({time.monotonic() - started:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        save_results(results, path)
    return entry


# -- freshness --------------------------------------------------------------------------------

#: The core runs whose rows BENCHMARKS.md shows (``core_rows``).
CORE_TABLE_RUNS = ("lif16-p1-up5k", "lif16-p1-ecp5", "lif16-p16-ecp5", "lif16-a32-p1-up5k")


def recorded_sha256(row: dict) -> str | None:
    """The ``measured_sha256`` a result row recorded, ``None`` for a row without provenance."""
    return (row.get("provenance") or {}).get("measured_sha256")


def _why_stale(recorded: str | None, current: str) -> str | None:
    if recorded is None:
        return "no provenance (measured before hashes were recorded)"
    if recorded != current:
        return f"design or options changed (recorded {recorded[:12]}, HEAD {current[:12]})"
    return None


@functools.cache
def chip_design_hash(key: str) -> str:
    """The Verilog hash of configuration ``key``'s chip (the same on every device)."""
    return chip_of(key).design_hash()


@functools.cache
def chip_measured_sha256(key: str, device: str) -> str:
    """What chip row ``key`` on ``device`` measures at this tree (seconds, no synthesis)."""
    return design_hash.measured_sha256(
        chip_design_hash(key), design_hash.synthesis_options(device, seed=SYNTH_SEED)
    )


def stale_chip_rows(results: dict, keys=None) -> dict:
    """``{"key/device": why}`` for every chip row of ``results`` (those of ``keys`` only, when
    given) whose recorded hash differs from what this tree generates."""
    configs = _configs()
    stale = {}
    for key, entry in sorted(results.items()):
        if key.startswith("_") or (keys is not None and key not in keys):
            continue
        for device, row in sorted(entry.items()):
            if key not in configs:
                stale[f"{key}/{device}"] = "configuration no longer defined"
                continue
            why = _why_stale(recorded_sha256(row), chip_measured_sha256(key, device))
            if why:
                stale[f"{key}/{device}"] = why
    return stale


def stale_core_rows(rows: list, runs=None) -> dict:
    """``{"core:run": why}`` for every row of ``core_synth.json`` (those of ``runs`` only, when
    given) whose recorded hash differs from what this tree generates
    (:func:`bench_core_synth.measured_sha256`)."""
    import bench_core_synth

    stale = {}
    for row in rows:
        run = row["run"]
        if runs is not None and run not in runs:
            continue
        if run not in bench_core_synth.RUNS:
            stale[f"core:{run}"] = "run no longer defined"
            continue
        current = bench_core_synth.measured_sha256(run, row.get("seed", 1))
        why = _why_stale(recorded_sha256(row), current)
        if why:
            stale[f"core:{run}"] = why
    return stale


def stale_clock_rows(rows: list) -> dict:
    """``{"clock:target:seedN": why}`` for every row of ``clock_targets.json`` whose recorded
    hash differs from what this tree generates (:func:`bench_clock_targets.measured_sha256`)."""
    import bench_clock_targets

    stale = {}
    for row in rows:
        name = f"clock:{row['target']}:seed{row['seed']}"
        if row["target"] not in bench_clock_targets.TARGETS:
            stale[name] = "target no longer defined"
            continue
        current = bench_clock_targets.measured_sha256(row["target"], row["seed"])
        why = _why_stale(recorded_sha256(row), current)
        if why:
            stale[name] = why
    return stale


def _short_cell(name: str) -> str:
    # nextpnr's cell names carry the harness prefix and Yosys' mapping suffixes.
    name = name.removeprefix("dut.")
    for suffix in ("_TRELLIS_FF_Q", "_SB_DFF", "_SB_LUT4", "_LUT4_Z", "_DI_LUT4"):
        name = name.split(suffix, 1)[0]
    return name


def clock_cause(path: dict | None) -> str:
    """What a critical path is made of, in one table cell."""
    if path is None:
        return "no register-to-register path"
    routing = 100 * path["routing_ns"] / path["delay_ns"]
    return (
        f"{path['delay_ns']:.2f} ns `{_short_cell(path['start'])}` -> "
        f"`{_short_cell(path['end'])}`: clock-to-out {path['clock_to_out_ns']:.2f}, "
        f"{path['logic_levels']} logic levels {path['logic_ns']:.2f}, routing "
        f"{path['routing_ns']:.2f} ns ({routing:.0f} %)"
    )


def clock_target_lines(rows: list, stale: dict | None = None) -> list[str]:
    """The "Clock targets (issue 18)" section from ``clock_targets.json``'s rows."""
    import bench_clock_targets

    if not rows:
        return []
    stale = stale or {}
    lines = [
        "## Clock targets (issue 18)",
        "",
        "`benchmarks/bench_clock_targets.py` (results: `benchmarks/results/clock_targets.json`): "
        "each configuration placed with seeds 1 and 2; the critical path is nextpnr's for the "
        "better seed (`SynthReport.critical_path`: clock-to-out of the start cell, logic "
        "levels, routing). The core rows are `bench_core_synth.py`'s runs (nextpnr asked for "
        "150 MHz on the ECP5-85F, 50 on the iCE40UP5K); the router is `bench_router.py`'s "
        "(72 MHz asked). Both router configurations forward 1 event per clock per port.",
        "",
        "| target | configuration | device | target MHz | seed 1 | seed 2 | best | "
        "critical path of the best (the measured cause) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_key: dict = {}
    for row in rows:
        by_key.setdefault(row["target"], {})[row["seed"]] = row
    for key, (what, device, target, _design) in bench_clock_targets.TARGETS.items():
        seeds = by_key.get(key)
        if not seeds:
            continue
        figures = []
        for seed in bench_clock_targets.SEEDS:
            row = seeds.get(seed)
            flag = " STALE" if f"clock:{key}:seed{seed}" in stale else ""
            if row is None:
                figures.append("not measured")
            elif "error" in row:
                # The tool's own words, without the flow's preamble and log path.
                reason = row["error"].split("): ", 1)[-1].split(" (log: ", 1)[0]
                figures.append(f"failed{flag}: {reason[:100]}")
            else:
                figures.append(f"{row['fmax_mhz']:.1f}{flag}")
        placed = [row for row in seeds.values() if "error" not in row]
        if placed:
            best = max(placed, key=lambda row: row["fmax_mhz"])
            verdict = "met" if best["fmax_mhz"] >= target else "MISS"
            best_text = f"**{best['fmax_mhz']:.1f}** (seed {best['seed']}) {verdict}"
            cause = clock_cause(best.get("critical_path"))
            experiment = best.get("outreg_experiment")
            if experiment:
                cause += (
                    f"; with the DP16KD output registers on (timing experiment, not "
                    f"functional): {experiment['fmax_mhz']:.1f} MHz, then "
                    f"{clock_cause(experiment['critical_path'])}"
                )
        else:
            best_text, cause = "-", "-"
        kind = "router" if key.startswith("router") else "neuron core"
        lines.append(
            f"| {kind} >= {target} MHz | {what} | {LABEL[device]} | {target} | "
            f"{figures[0]} | {figures[1]} | {best_text} | {cause} |"
        )
    lines += [
        "",
        "What the paths mean and what would close them: `docs/core.md` and `docs/router.md`, "
        '"Clock targets (issue 18)".',
        "",
    ]
    return lines


def stale_conv_rows(conv_rows: list, cnn_rows: list) -> dict:
    """``{"conv:run" or "cnn:run": why}`` for every row of ``conv_synth.json`` and
    ``cnn_up5k.json`` whose recorded hash differs from what this tree generates
    (``bench_conv_synth.build``, ``bench_cnn_up5k.cnn_plan`` as a chip without the debug
    port)."""
    import bench_cnn_up5k
    import bench_conv_synth

    stale = {}
    for row in conv_rows:
        run = row["run"]
        if run not in bench_conv_synth.RUNS:
            stale[f"conv:{run}"] = "run no longer defined"
            continue
        verilog = design_hash.sha256_text(design_hash.core_verilog(bench_conv_synth.build(run)))
        options = (row.get("provenance") or {}).get("options", {})
        why = _why_stale(recorded_sha256(row), design_hash.measured_sha256(verilog, options))
        if why:
            stale[f"conv:{run}"] = why
    for row in cnn_rows:
        run = row["run"]
        if run not in bench_cnn_up5k.RUNS:
            stale[f"cnn:{run}"] = "run no longer defined"
            continue
        chip = Chip(bench_cnn_up5k.cnn_plan(run), debug=False)
        current = design_hash.measured_sha256(
            chip.design_hash(), design_hash.synthesis_options(row["device"], seed=SYNTH_SEED)
        )
        why = _why_stale(recorded_sha256(row), current)
        if why:
            stale[f"cnn:{run}"] = why
    return stale


def load_rows(path: Path) -> list:
    return json.loads(path.read_text()) if path.exists() else []


def load_core_rows(path: Path = CORE_RESULTS) -> list:
    return json.loads(path.read_text()) if path.exists() else []


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


#: LUT4 equivalents of one ECP5 LUT-RAM cell (TRELLIS_DPR16X4, 16 words x 4 bits): its 64 bits
#: fill four 16-bit LUT4s, which nextpnr places as four TRELLIS_COMB in RAM mode (plus a
#: TRELLIS_RAMW write port). iCE40 has no LUT-RAM.
LUT4_PER_LUTRAM = 4


def lutram_cells(result: dict) -> int | None:
    """ECP5 LUT-RAM cells (TRELLIS_DPR16X4) of a result row: from its Yosys cell counts
    (``cells``, or ``synth_report.cells``); ``None`` for a row that did not record them."""
    cells = result.get("cells")
    if cells is None:
        cells = (result.get("synth_report") or {}).get("cells")
    if cells is None:
        return None
    return cells.get("TRELLIS_DPR16X4", 0)


def lut4_column(result: dict) -> str:
    """Every LUT of a row in LUT4 equivalents: logic LUT4s plus ``LUT4_PER_LUTRAM`` per
    LUT-RAM cell, with the LUT-RAM count named when there is any."""
    dpr = lutram_cells(result)
    if dpr is None:
        return f"{result['luts']:,} (LUT-RAM not recorded)"
    total = result["luts"] + LUT4_PER_LUTRAM * dpr
    return f"{total:,} ({dpr} LUT-RAM)" if dpr else f"{total:,}"


def _row(label, device, result, *, latency_us=None, sops=None, assumptions="") -> str:
    if not result.get("fits", "error" not in result) or "error" in result and result["error"]:
        reason = result.get("error", "").split(" (log:")[0]
        return (
            f"| {label} | {LABEL.get(device, device)} | does not fit: {reason} "
            f"| | | | | | | | | {assumptions} |"
        )
    fmax = result["fmax_mhz"]
    return (
        f"| {label} | {LABEL.get(device, device)} | {lut4_column(result)} | "
        f"{_fmt_int(result['carries'])} | {_fmt_int(result['ffs'])} | {result['bram']} | "
        f"{result['spram']} | {result['dsp']} | {_fmt_int(result['logic_cells'])} | "
        f"{fmax:.1f} | {'-' if sops is None else format_rate(sops)} | "
        f"{'-' if latency_us is None else format_us(latency_us)} | {assumptions} |"
    )


HEADER = (
    "| design | device | LUT4 (logic + 4 per LUT-RAM cell) | carry | FF | BRAM | SPRAM | DSP | logic cells | Fmax MHz "
    "| synaptic ops/s | latency | assumptions |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


def _flag(label: str, why: str | None) -> str:
    return label if why is None else f"{label} **STALE: {why}**"


def core_rows(rows: list, stale: dict | None = None) -> list[str]:
    """The core's table rows from ``core_synth.json``'s ``rows``; a row named in ``stale``
    (:func:`stale_core_rows`) is flagged in its label."""
    stale = stale or {}
    by = {r["run"]: r for r in rows}
    lines = []
    events = 26
    for run in CORE_TABLE_RUNS:
        r = by.get(run)
        if r is None:
            continue
        label = _flag(
            f"256-neuron core ({r['n_neurons']} x {r['n_axons']} axons, 8-bit, lanes {r['lanes']})",
            stale.get(f"core:{run}"),
        )
        if "error" in r:
            lines.append(
                _row(
                    label,
                    r["device"],
                    {"fits": False, "error": r["error"]},
                    assumptions="core alone, in the flow's I/O harness",
                )
            )
            continue
        result = dict(r, fits=True)
        cycles = core_latency(r, events)
        lines.append(
            _row(
                label,
                r["device"],
                result,
                latency_us=cycles / r["fmax_mhz"],
                sops=r["lanes"] * r["fmax_mhz"] * 1e6,
                assumptions=(
                    f"peak SOP/s = lanes x Fmax; latency = one step with "
                    f"{events} input events (10 % of axons): {cycles:.0f} "
                    f"cycles; core alone in the I/O harness"
                    + ("; 32-axon variant (block RAM only)" if r["n_axons"] == 32 else "")
                    + (f"; {r['spram']} SPRAM for the weights" if r.get("spram") else "")
                ),
            )
        )
    return lines


def system_rows(results: dict, estimates: dict, stale: dict | None = None) -> list[str]:
    """The chip rows; a row named in ``stale`` (:func:`stale_chip_rows`) is flagged."""
    stale = stale or {}
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
                assumptions = (
                    f"{est['steps']} steps; {est['input_spikes']:.0f} input spikes "
                    f"per sample (mean of {est['samples']}); "
                    f"{est['cycles_per_inference']:.0f} cycles per sample (analytic)"
                )
            label = _flag(what, stale.get(f"{key}/{device}"))
            lines.append(
                _row(label, device, result, latency_us=latency, sops=sops, assumptions=assumptions)
            )
    return lines


def estimate_dict(est: CycleEstimate, inputs_total: float) -> dict:
    d = est.to_dict()
    d["input_spikes"] = inputs_total
    return d


def config_assumptions(key: str) -> str:
    """The stated assumptions of 784-128-10 configuration ``key``: weight width and range,
    threshold, lanes per core, step tag, steps and input rate."""
    _what, builder = _configs()[key]
    plan, _inputs = builder()
    hidden, out = plan.cores_of("hidden")[0], plan.cores_of("out")[0]
    w = hidden.weight_width
    top = 2 ** (w - 1)
    low = -top if w >= 8 else -top + 1
    return (
        f"{w}-bit weights uniform in [{low}, {top - 1}] (seed {MNIST_SEED}), threshold "
        f"{MNIST_THRESHOLD[w]}; lanes {hidden.lanes} (hidden, 128 neurons) / {out.lanes} "
        f"(output, 10 neurons); {plan.fmt.step_width}-bit step tag; {MNIST_STEPS} steps, "
        f"input rate {MNIST_INPUT_RATE} per line and step"
    )


def _margin(ours: float, theirs: float, unit: str, fmt=lambda v: f"{v:,.0f}") -> str:
    diff = ours - theirs
    word = "better" if ours < theirs else "WORSE"
    return (
        f"{word} ({fmt(ours)} vs {fmt(theirs)} {unit}, "
        f"{'+' if diff >= 0 else '-'}{fmt(abs(diff))}, {100 * diff / theirs:+.0f} %)"
    )


def dominance(results: dict, estimates: dict, stale: dict | None = None) -> tuple[list[str], dict]:
    """Compare every synthesized 784-128-10 configuration on the ECP5-85F with the published
    points; returns the Markdown lines and each configuration's checks per published point
    (``{key: {name: {"logic": ok, "bram": ok, "latency": ok}}}``) with the margins."""
    lines = [
        "| configuration | logic cells (TRELLIS_COMB) | LUT4 + 4 x LUT-RAM + 2 x CCU2C | block RAM "
        "(DP16KD, 18 kbit) | in 36 kbit units | Fmax MHz | time per image | vs Spiker+ "
        "(7,612 LC, 18 BRAM, 780 us) | vs Fan and Levy (6,358 LUT, 40.5 BRAM, 520 us) |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    normalized = []
    verdicts = {}
    for key, (what, _b) in _configs().items():
        if not key.startswith("mnist"):
            continue
        r = results.get(key, {}).get("ecp5-85k")
        est = estimates.get(key)
        if not r or not r.get("fits") or est is None:
            continue
        lut = r["luts"] + LUT4_PER_LUTRAM * (lutram_cells(r) or 0) + 2 * r["carries"]
        lc = r["logic_cells"]
        us = est["cycles_per_inference"] / r["fmax_mhz"]
        cells = []
        verdict = {}
        for pub in PUBLISHED:
            checks = {
                "logic": lc < pub["logic_cells"],
                "bram": r["bram"] < pub["bram"],
                "latency": us < pub["latency_us"],
            }
            margins = {
                "logic": _margin(lc, pub["logic_cells"], "cells"),
                "bram": _margin(r["bram"], pub["bram"], "blocks", lambda v: f"{v:g}"),
                "latency": _margin(us, pub["latency_us"], "us"),
            }
            verdict[pub["name"]] = {"checks": checks, "margins": margins}
            cells.append(
                "; ".join(f"{name} {margins[name]}" for name in checks)
                + ("; **dominates**" if all(checks.values()) else "")
            )
        verdicts[key] = verdict
        what = _flag(what, (stale or {}).get(f"{key}/ecp5-85k"))
        lines.append(
            f"| {what} | {lc:,} | {lut:,} | {r['bram']} | {r['bram'] / 2:g} | "
            f"{r['fmax_mhz']:.1f} | {format_us(us)} | {cells[0]} | {cells[1]} |"
        )
        # Like for like as far as the counts allow: LUT4 + 2 x CCU2C against LUTs, block RAM
        # in 36 kbit units (Vivado's BRAM tiles, a RAMB18 counting 0.5).
        for pub in PUBLISHED:
            if lut < pub["logic_cells"] and r["bram"] / 2 < pub["bram"] and us < pub["latency_us"]:
                normalized.append(f"{key} dominates {pub['name']}")
    lines += [
        "",
        "Assumptions per configuration (all: 784 inputs -> 128 LIF -> 10 LIF, dense, "
        "LIF without synaptic current, 16-bit membrane, leak `v >> 4`, reset to zero; "
        "time per image = analytic cycles per image / the configuration's own Fmax):",
        "",
    ]
    for key in verdicts:
        lines.append(
            f"* `{key}`: {config_assumptions(key)}; "
            f"{estimates[key]['cycles_per_inference']:.0f} cycles per image, "
            f"{estimates[key]['events_per_inference'][1]:.0f} hidden spikes per image."
        )
    lines += [
        "",
        "Normalized view (not the target's terms): LUT4 + 4 x LUT-RAM + 2 x CCU2C (a "
        "Xilinx LUT count includes LUTs used as memory) against the "
        "published LUT / logic-cell count and block RAM in 36 kbit units (DP16KD / 2) "
        "against the published BRAM: "
        + ("; ".join(normalized) if normalized else "no configuration dominates")
        + ".",
    ]
    return lines, verdicts


def xilinx_verdicts(results: dict, estimates: dict) -> dict:
    """Every 784-128-10 configuration with a Xilinx estimate and an ECP5 row, against the
    published points in their own units: ``{key: {"lut6", "bram36", "us", "fmax_mhz",
    "x": xilinx_resources, "verdict": {name: {"checks", "margins"}}}}``. The time per image is
    the analytic cycles at the configuration's measured ECP5-85F Fmax: the estimate has no
    place and route, so no Xilinx Fmax."""
    out = {}
    for key in _configs():
        entry = results.get(key, {})
        x_row, ecp5 = entry.get(XILINX), entry.get("ecp5-85k")
        est = estimates.get(key)
        if not (x_row and x_row.get("fits") and ecp5 and ecp5.get("fits") and est):
            continue
        x = x_row["xilinx"]
        us = est["cycles_per_inference"] / ecp5["fmax_mhz"]
        verdict = {}
        for pub in PUBLISHED:
            checks = {
                "logic": x["luts"] < pub["logic_cells"],
                "bram": x["bram36"] < pub["bram"],
                "latency": us < pub["latency_us"],
            }
            margins = {
                "logic": _margin(x["luts"], pub["logic_cells"], "LUT"),
                "bram": _margin(x["bram36"], pub["bram"], "BRAM36", lambda v: f"{v:g}"),
                "latency": _margin(us, pub["latency_us"], "us"),
            }
            verdict[pub["name"]] = {"checks": checks, "margins": margins}
        out[key] = {
            "lut6": x["luts"],
            "bram36": x["bram36"],
            "us": us,
            "fmax_mhz": ecp5["fmax_mhz"],
            "x": x,
            "ecp5": ecp5,
            "verdict": verdict,
        }
    return out


@functools.cache
def _weight_width(key: str) -> int:
    _what, builder = _configs()[key]
    plan, _inputs = builder()
    return plan.cores_of("hidden")[0].weight_width


def digits_accuracy(path: Path = ENERGY_RESULTS) -> dict:
    """``{weight width: fixed-point test accuracy}`` of the trained digits network quantized to
    that width (``bench_energy.py``'s ``energy.json``); empty when it does not exist."""
    if not path.exists():
        return {}
    points = json.loads(path.read_text()).get("points", [])
    return {p["weight_width"]: p["fixed_accuracy"] for p in points if "fixed_accuracy" in p}


def xilinx_lines(
    results: dict, estimates: dict, stale: dict | None = None, accuracy: dict | None = None
) -> list[str]:
    """The "in the published designs' units" table: the Xilinx 7-series synthesis estimate of
    every 784-128-10 configuration next to its ECP5-85F figures and both published points;
    ``accuracy`` (:func:`digits_accuracy`) gives the side column of the weight width's
    accuracy on the digits."""
    stale = stale or {}
    accuracy = accuracy or {}
    verdicts = xilinx_verdicts(results, estimates)
    if not verdicts:
        return []
    what = {key: w for key, (w, _b) in _configs().items()}
    lines = [
        "### In the published designs' units (Xilinx 7-series, synthesis estimate, no P&R, "
        "no Fmax)",
        "",
        "| configuration | LUT6 (logic + LUT-RAM + SRL) | FF | BRAM36 (RAMB36 + RAMB18 / 2) "
        "| DSP48E1 | ECP5-85F: logic cells, DP16KD | time per image (at the ECP5-85F Fmax) "
        "| vs Spiker+ (7,612 LC, 18 BRAM36, 780 us) | vs Fan and Levy (6,358 LUT, 40.5 BRAM36, "
        "520 us) | digits accuracy at this weight width |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for key, v in verdicts.items():
        x, ecp5 = v["x"], v["ecp5"]
        width = results[key][XILINX].get("weight_width") or _weight_width(key)
        acc = f"{accuracy[width]:.1%}" if width in accuracy else "-"
        cells = [
            "; ".join(f"{name} {c['margins'][name]}" for name in c["checks"])
            + ("; **dominates**" if all(c["checks"].values()) else "")
            for c in v["verdict"].values()
        ]
        lines.append(
            f"| {_flag(what[key], stale.get(f'{key}/{XILINX}'))} | {x['luts']:,} "
            f"({x['logic_luts']:,} + {x['lutram_luts']:,} + {x['srl']:,}) | {x['ffs']:,} | "
            f"{x['bram36']:g} ({x['ramb36']} + {x['ramb18']} / 2) | {x['dsp48e1']} | "
            f"{ecp5['logic_cells']:,}, {ecp5['bram']} | {format_us(v['us'])} "
            f"({v['fmax_mhz']:.1f} MHz) | {cells[0]} | {cells[1]} | {acc} |"
        )
    both = [
        k
        for k, v in verdicts.items()
        if all(all(c["checks"].values()) for c in v["verdict"].values())
    ]
    thin = []
    for key, v in verdicts.items():
        for pub in PUBLISHED:
            c = v["verdict"][pub["name"]]
            if not all(c["checks"].values()):
                continue
            for what_, ours, theirs in (
                ("latency", v["us"], pub["latency_us"]),
                ("LUT", v["lut6"], pub["logic_cells"]),
                ("BRAM36", v["bram36"], pub["bram"]),
            ):
                if (theirs - ours) / theirs < THIN_MARGIN:
                    thin.append(
                        f"`{key}` against {pub['name'].split(' (')[0]}: {what_} "
                        f"{100 * (theirs - ours) / theirs:.1f} % below"
                    )
    lines += [
        "",
        "Yosys `synth_xilinx -family xc7 -flatten -noiopad -noclkbuf` (the flow's "
        "`xc7-estimate` device): cell counts after technology mapping, **no place and route, "
        "so no Fmax and no Vivado**; a LUT-RAM cell counts the LUT6 sites it fills (RAM32M, "
        "RAM64M, RAM256X1S: 4). The time per image is the analytic cycles at the "
        "configuration's ECP5-85F Fmax (measured by nextpnr): a 7-series part would clock the "
        "same logic at least as fast, which is an assumption, not a measurement. Yosys picks "
        "each memory's implementation (the weight banks of the table above go to RAMB18E1 "
        "in true-dual-port mode at the weight's width; the short remainder bank of a lane and "
        "the state memories to LUT-RAM). The accuracy column is not this network's: it is the "
        "fixed-point test accuracy of the trained digits network (64-64-10, "
        "`bench_energy.py`, `energy.json`) with its weights quantized after training to the "
        "row's width, a hint of what the width costs; a 784-128-10 trained at that width "
        "(quantization-aware) may do better.",
        "",
        (
            "**Dominates both published points at once in their units**: "
            + ", ".join(f"`{k}`" for k in both)
            + "."
            if both
            else "**No configuration dominates both published points at once in their units.**"
        ),
    ]
    if thin:
        lines += [
            "",
            "**Thin margins** (under "
            f"{100 * THIN_MARGIN:.0f} %: within one placement's Fmax spread for the latency, "
            "within what place and route and Vivado's own mapping change for the LUTs): "
            + "; ".join(thin)
            + ".",
        ]
    return lines


# -- learning, delays and the event-camera path (benchmarks/bench_learning.py) ---------------


def _num(value, fmt="{:.2f}") -> str:
    if value is None:
        return "-"
    return fmt.format(0.0 if abs(value) < 1e-9 else value)


def energy_lines(path: Path = ENERGY_RESULTS) -> list[str]:
    """The "Energy per inference" section, from ``energy.json`` (written by
    ``benchmarks/bench_energy.py``); nothing when it does not exist."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    lines = [
        "",
        "## Energy per inference (estimates) against published figures",
        "",
        "Estimates, not measurements (`docs/energy.md`: the model, every coefficient's source "
        "and confidence (vendor data sheet, published board measurement, derived, or our "
        "estimate where nothing was published) and its low..high range), from "
        "`benchmarks/bench_energy.py` "
        f"(`benchmarks/results/energy.json`, commit {data['git_commit'][:12]}; the sweep "
        "against input event rate and weight width: `benchmarks/results/energy_sweep.png`). "
        "No published row is like for like: other networks, data sets and devices, measured "
        "or reported where ours are estimated.",
        "",
        "| design | task | energy per inference | latency | mean power | pJ per SOP | basis |",
        "|---|---|---:|---:|---:|---:|---|",
    ]

    def figure(value, digits=3):
        # Significant digits without exponents (2.65e+03 reads as 2,650).
        if value >= 10**digits:
            return f"{float(f'{value:.{digits}g}'):,.0f}"
        return f"{value:.{digits}g}"

    for row in data["comparison"]:
        energy = "-" if row.get("energy_uj") is None else f"{figure(row['energy_uj'])} uJ"
        if row.get("energy_range_uj"):
            low, high = row["energy_range_uj"]
            energy += f" ({figure(low, 2)}..{figure(high, 2)})"
        latency = "-" if row.get("latency_us") is None else f"{figure(row['latency_us'])} us"
        power = "-" if row.get("power_mw") is None else f"{figure(row['power_mw'])} mW"
        per_sop = "-" if row.get("pj_per_sop") is None else figure(row["pj_per_sop"])
        basis = row["basis"] + ("" if row.get("like_for_like", True) else "; not like for like")
        lines.append(
            f"| {row['design']} | {row['task']} | {energy} | {latency} | {power} | {per_sop} "
            f"| {basis} |"
        )
    metrics = data["neurobench_test_set"].get("8")
    if metrics:
        lines += [
            "",
            f"NeuroBench metrics of the digits network (8-bit, {metrics['samples']} test "
            f"images, {metrics['fixed_accuracy']:.1%} accuracy): footprint "
            f"{metrics['footprint_bytes']:,} B, connection sparsity "
            f"{metrics['connection_sparsity']:.4f}, activation sparsity "
            f"{metrics['activation_sparsity']:.4f}, dense synaptic operations "
            f"{metrics['synaptic_operations_dense']:,.0f}, effective ACs "
            f"{metrics['effective_acs']:,.0f}, effective MACs {metrics['effective_macs']:,.0f}, "
            f"membrane updates {metrics['membrane_updates']:,.0f} per inference.",
        ]
    return lines


def learning_lines(path: Path = LEARNING_RESULTS) -> list[str]:
    """The "Learning and delays" and "Event-camera path" sections, from ``learning.json``
    (written by ``benchmarks/bench_learning.py``); nothing when it does not exist."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    lines = []
    synth = data.get("synth") or {}
    by_lanes = dict(data.get("cycles_by_lanes") or {})
    if data.get("cycles") and str(data["cycles"].get("lanes", 1)) not in by_lanes:
        by_lanes[str(data["cycles"].get("lanes", 1))] = data["cycles"]  # before cycles_by_lanes
    keys = sorted(by_lanes, key=int)
    if synth or by_lanes:
        lines += [
            "",
            "## Learning and delays",
            "",
            "`benchmarks/bench_learning.py` (`benchmarks/results/learning.json`): one core, "
            "64 neurons x 64 axons, 8-bit weights, 16-bit LIF with one current and "
            "`input_count_cap=1` (on-chip STDP needs it; every variant has it), built four "
            "ways: static (the baseline), with delays (`max_delay=8`, random delays 1..8), "
            "with STDP (additive, 8-bit traces, multiply decays) and with STDP (soft "
            "bounds) plus the delays. Ratios are to the static core on the same device and "
            "lanes, synthesized in the same run; the core sits in the flow's I/O harness "
            "as in the 256-neuron core rows.",
            "",
        ]
    if synth:
        lines += [
            "| core | device | lanes | LUT4 (logic only, LUT-RAM not counted) | carry | FF | BRAM | DSP | logic cells | "
            "Fmax MHz | x static: LUT4 | FF | BRAM | logic cells | Fmax |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        order = {"static": 0, "delays": 1, "stdp": 2, "stdp-soft-delays": 3}
        rows = sorted(
            synth.values(),
            key=lambda r: (r["device"] != "ecp5-85k", r["lanes"], order.get(r["variant"], 9)),
        )
        for r in rows:
            device = LABEL.get(r["device"], r["device"])
            if "error" in r:
                lines.append(
                    f"| {r['variant']} | {device} | {r['lanes']} | does not fit / "
                    f"failed: {r['error'].split(' (log:')[0][:160]} "
                    "| | | | | | | | | | | |"
                )
                continue
            ratio = r.get("ratio") or {}
            lines.append(
                f"| {r['variant']} | {device} | {r['lanes']} | {_fmt_int(r['luts'])} | "
                f"{_fmt_int(r['carries'])} | {_fmt_int(r['ffs'])} | {r['bram']} | {r['dsp']} | "
                f"{_fmt_int(r['logic_cells'])} | {r['fmax_mhz']:.1f} | "
                + " | ".join(
                    _num(ratio.get(m)) for m in ("luts", "ffs", "bram", "logic_cells", "fmax_mhz")
                )
                + " |"
            )
        lines.append("")
    if by_lanes:
        cycles = by_lanes[keys[0]]
        rates = ", ".join(f"{100 * r:g}" for r in cycles["rates"])
        order = ["static", "delays", "stdp", "stdp-soft-delays", "stdp-depress"]

        def ordered(summary):
            return sorted(summary, key=lambda n: order.index(n) if n in order else 9)

        lines += [
            f"Clock cycles in RTL simulation ({cycles['simulator']}, "
            f"`sim/bench_core_cycles.py`): the same core with lanes "
            f"{' and '.join(keys)}, {cycles['steps']} steps of one stimulus (each step "
            f"{rates} % of the axons, drawn per step; the same events at every lanes "
            "count, and the same neurons spike), input stream saturating, outputs always "
            "taken; every step's spikes and the weights after the run checked against "
            "the system model. `stdp-depress` is `stdp` with `a_plus = 0` (depression "
            "alone). x static and the extra cycles are against the static core with the "
            "same lanes.",
            "",
            "| core | lanes | cycles / step | x static | extra cycles / step | post spikes "
            "| extra cycles / input event | cycles / depression update | cycles after "
            "reset |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for key in keys:
            summary = by_lanes[key]["summary"]
            for name in ordered(summary):
                r = summary[name]
                lines.append(
                    f"| {name} | {key} | {r['cycles_per_step']:.1f} | "
                    f"{r['ratio_to_static']:.3f} | "
                    f"{_num(r['extra_cycles_per_step'], '{:.1f}')} | {r['post_spikes']} | "
                    f"{_num(r.get('extra_cycles_per_event'))} | "
                    f"{_num(r.get('cycles_per_depression_update'), '{:.3f}')} | "
                    f"{r['ready_after_reset']} |"
                )
        learners = [
            (key, name, by_lanes[key]["summary"][name])
            for key in keys
            for name in ordered(by_lanes[key]["summary"])
            if by_lanes[key]["summary"][name].get("potentiation_rounds") is not None
        ]
        if learners:
            lines += [
                "",
                "Potentiation runs in rounds after the sweep: each round every lane "
                "takes its next neuron that spiked in the step (neuron n lives in lane "
                "n % lanes) and all lanes walk their neurons' weight columns together, "
                "one axon per cycle, so a step has as many rounds as its busiest lane has "
                "spiking neurons (at lanes 1, one per post spike). Cycles / round and the "
                "fixed cycles of a step that learns are fitted against the rounds (steps "
                "with spikes); potentiation cycles are what the sweep takes beyond the "
                "static core's, less the sweep stall (below); cycles / post spike and / "
                "potentiation update are the potentiation cycles over the post spikes "
                "(x the axons); x faster is against lanes 1 on the same stimulus "
                "(potentiation, and in brackets all the learning cycles).",
                "",
                "| core | lanes | post spikes | rounds | lanes busy / round | cycles / "
                "round | fixed cycles / learning step | potentiation cycles | sweep stall "
                "cycles | cycles / post spike | cycles / potentiation update | x faster "
                "than lanes 1 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for key, name, r in learners:
                vs = r.get("vs_lanes_1") or {}
                faster = (
                    f"{_num(vs.get('potentiation_speedup'))} ({_num(vs.get('learning_speedup'))})"
                    if vs.get("potentiation_speedup") and key != "1"
                    else "-"
                )
                lines.append(
                    f"| {name} | {key} | {r['post_spikes']} | {r['potentiation_rounds']} | "
                    f"{_num(r['lane_occupancy'] * int(key) if r.get('lane_occupancy') else None)}"
                    f" | {_num(r.get('cycles_per_round'))} | "
                    f"{_num(r.get('learning_cycles_per_step_fixed'), '{:.1f}')} | "
                    f"{_num(r.get('potentiation_cycles'), '{:,.0f}')} | "
                    f"{_num(r.get('sweep_stall_cycles'), '{:,.0f}')} | "
                    f"{_num(r.get('cycles_per_post_spike_effective'))} | "
                    f"{_num(r.get('cycles_per_potentiation_update'), '{:.3f}')} | {faster} |"
                )
        summary = cycles["summary"]
        stdp = summary.get("stdp", {})
        delays = summary.get("delays", {})
        if stdp.get("cycles_per_round") is not None:
            lines += [
                "",
                f"At lanes {keys[0]}, learning costs "
                f"{stdp['cycles_per_round']:.2f} cycles per post spike (one round: the "
                f"walk of its {cycles['n_axons']}-weight column and its load, "
                f"{stdp['cycles_per_round_expected']} expected) plus "
                f"{stdp['learning_cycles_per_step_fixed']:.1f} per step that learns, "
                f"{stdp['cycles_per_post_spike_effective']:.2f} cycles per post spike in "
                f"all ({stdp['cycles_per_potentiation_update']:.3f} per potentiation "
                f"update), and nothing per input event: depression rides on the event's "
                f"row read ({_num(stdp.get('cycles_per_depression_update'), '{:.3f}')} "
                f"cycles per depression update; a step with events ends "
                f"{_num(stdp.get('extra_event_phase_fixed'), '{:.0f}')} cycles later, "
                f"the deeper write pipeline). The whole-run ratio to the static core "
                f"depends on how many neurons spike: here "
                f"{stdp['post_spikes'] / stdp['steps']:.0f} of {cycles['n_neurons']} "
                f"per step on average.",
            ]
        for key in keys[1:]:
            entry = by_lanes[key]
            s = entry["summary"].get("stdp", {})
            vs = s.get("vs_lanes_1") or {}
            if s.get("cycles_per_round") is None or "potentiation_speedup" not in vs:
                continue
            lines += [
                "",
                f"At lanes {key} the same {s['post_spikes']} post spikes take "
                f"{s['potentiation_rounds']} rounds instead of "
                f"{stdp['potentiation_rounds']} ({s['rounds_per_learning_step']:.1f} per "
                f"step that learns; {s['lane_occupancy'] * int(key):.2f} of {key} lanes "
                f"busy per round on average, as a step's spikes do not spread evenly "
                f"over the lanes and the busiest lane sets the rounds), at "
                f"{s['cycles_per_round']:.2f} cycles per round (fit, largest residual "
                f"{s['round_fit_max_residual']:.1f} cycles; "
                f"{s['cycles_per_round_expected']} expected) plus "
                f"{s['learning_cycles_per_step_fixed']:.1f} per step that learns: "
                f"{s['cycles_per_post_spike_effective']:.2f} cycles per post spike, "
                f"{s['cycles_per_potentiation_update']:.3f} per potentiation update; "
                f"potentiation is {vs['potentiation_speedup']:.2f} x faster than at "
                f"lanes 1, all the learning cycles {vs['learning_speedup']:.2f} x, the "
                f"whole run {vs['cycles_speedup']:.2f} x (the event phase and the "
                f"sweep shrink with the lanes too).",
            ]
            stall = entry["summary"].get("stdp-depress", {})
            model = stall.get("sweep_stall")
            if model:
                fit_note = ""
                if s.get("cycles_per_round_uncorrected") is not None:
                    fit_note = (
                        f"; fitted without removing it, a round would seem to cost "
                        f"{s['cycles_per_round_uncorrected']:.2f} cycles and a step "
                        f"that learns "
                        f"{s['learning_cycles_per_step_fixed_uncorrected']:.1f}, as "
                        f"the stall grows with the spikes and so with the rounds"
                    )
                lines += [
                    "",
                    f"Learning also costs at lanes {key} before potentiation "
                    f"starts: the sweep of a learning core stalls when many neurons "
                    f"spike. Most likely cause (`core.py`): its input-count clearing "
                    f"walk, which updates the pre traces, only advances while every "
                    f"lane's spike FIFO has room, and {key} lanes fill them faster than "
                    f"`spikes_out` drains them (one spike a clock); there is no such "
                    f"stall at lanes 1. `stdp-depress` shows it alone "
                    f"({_num(stall['extra_cycles_per_step'], '{:.1f}')} extra cycles per "
                    f"step, x {stall['ratio_to_static']:.3f}); fitted there as "
                    f"{model['cycles_per_spike']:.2f} cycles per post spike beyond "
                    f"{model['knee_spikes']} in a step, it is subtracted from the "
                    f"learning cycles of the potentiating cores (the sweep stall "
                    f"column){fit_note}.",
                ]
        if delays:
            lines += [
                "",
                f"Delays add {_num(delays['extra_cycles_per_step'], '{:.1f}')} "
                f"cycles per step on average at lanes {keys[0]} "
                f"({_num(delays.get('extra_cycles_per_event'))} per input event); the "
                f"reset clears the {cycles['max_delay']}-slot delay ring "
                f"({delays['ready_after_reset']} cycles before the first event instead "
                f"of {summary['static']['ready_after_reset']}).",
            ]
    camera = data.get("camera")
    if camera and camera.get("rates"):
        cfg = camera["config"]
        lines += [
            "",
            "## Event-camera path",
            "",
            f"A synthetic {cfg['width']} x {cfg['height']} event-camera recording "
            f"(`neurohw.events`: moving bar, blinking spots, noise) downsampled "
            f"{cfg['downsample']} x {cfg['downsample']} with split polarities onto a "
            f"128-line input group ({cfg['window_us']} us windows, {cfg['steps']} steps "
            f"per sample, counts up to {cfg['max_count']} per line and window), into a "
            f"128 -> {cfg['hidden']} -> {cfg['outputs']} LIF chip, in RTL simulation "
            "(`verify_system`: host port fed one word per clock, every output spike "
            "checked) and synthesized; events per second = input events of the run / "
            "(cycles / Fmax). `dense` is noise at "
            f"{cfg['dense_rate_hz'] / 1e6:g} M events/s, which makes the chip, not the "
            "sensor, the limit (the sustained maximum).",
            "",
            "| chip | device | input | Fmax MHz | cycles / step | host spike events / "
            "cycle | host spike events / s | camera events / s | x real time |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, entry in camera.get("sim", {}).items():
            for short, device in (("ecp5", "ecp5-85k"), ("up5k", "ice40-up5k")):
                for name in sorted(entry["runs"], key=lambda n: n != "recording"):
                    r = entry["runs"][name]
                    rate = camera["rates"].get(f"{key}-{short}-{name}")
                    if rate is None:
                        continue
                    lines.append(
                        f"| lanes {entry['lanes']} | {LABEL[device]} | {name} | "
                        f"{rate['fmax_mhz']:.1f} | {r['cycles_per_step_mean']:.0f} | "
                        f"{r['spike_words_per_cycle']:.4f} | "
                        f"{format_rate(rate['spike_words_per_s'])} | "
                        f"{format_rate(rate['delivered_events_per_s'])} | "
                        f"{rate['real_time_factor']:.0f} |"
                    )
        best = {}
        for key, rate in camera["rates"].items():
            if key.endswith("-dense"):
                device = LABEL["ecp5-85k" if "-ecp5-" in key else "ice40-up5k"]
                if rate["delivered_events_per_s"] > best.get(device, ({}, ""))[0].get(
                    "delivered_events_per_s", 0
                ):
                    best[device] = (rate, key.split("-")[0][1:])
        if best:
            lines += [
                "",
                "Sustained maximum (the `dense` input): "
                + "; ".join(
                    f"{format_rate(rate['delivered_events_per_s'])} camera events/s "
                    f"({format_rate(rate['spike_words_per_s'])} host spike events/s) on the "
                    f"{device} (lanes {lanes}, {rate['fmax_mhz']:.1f} MHz)"
                    for device, (rate, lanes) in best.items()
                )
                + ".",
            ]
        for key, synth in sorted(camera.get("synth", {}).items()):
            if synth.get("error") or not synth.get("fits", True):
                lanes, _, short = key.partition("-")
                reason = (synth.get("error") or "").split(" over capacity")[0]
                reason = reason.split(" (log:")[0].split(": ", 1)[-1][:200]
                lines += [
                    "",
                    f"Lanes {lanes[1:]} on the "
                    f"{LABEL.get(synth.get('device'), short)}: does not fit ({reason}).",
                ]
    return lines


def spram_lines(results: dict, path: Path) -> list[str]:
    """The paragraph on the SPRAM rows: synaptic operations per clock per SPRAM read and the RTL
    check of ``bench_up5k_spram.py`` (``path``), where it has run."""
    rtl = json.loads(path.read_text()) if path.exists() else {}
    lines = []
    for key in SPRAM_CONFIGS:
        row = results.get(key, {}).get("ice40-up5k")
        if row is None:
            continue
        _what, builder = _configs()[key]
        plan, _inputs = builder()
        hidden = plan.cores_of("hidden")[0]
        per_word = min(hidden.lanes, 16 // hidden.weight_width)
        text = (
            f"* `{key}`: {hidden.lanes} synaptic operations per clock in the hidden core, "
            f"from one {per_word * hidden.weight_width}-bit SPRAM word per read ({per_word} weights of "
            f"{hidden.weight_width} bits)"
        )
        check = rtl.get(key)
        if check:
            measured = sum(check["cycles_per_sample"]) / len(check["cycles_per_sample"])
            analytic = sum(check["analytic_cycles_per_sample"]) / len(
                check["analytic_cycles_per_sample"]
            )
            text += (
                f"; RTL (Verilator) equal to the model on {check['samples']} samples "
                f"({check['windows_compared']} windows, {check['output_events_compared']} "
                f"output spikes), {measured:,.0f} cycles per sample measured vs "
                f"{analytic:,.0f} analytic on the same samples; the "
                f"weight load: {check['weight_writes']:,} debug-port writes in "
                f"{check['weight_load_cycles']:,} cycles, once after power-up"
            )
        else:
            text += "; not verified in RTL yet (`benchmarks/bench_up5k_spram.py`)"
        lines.append(text + ".")
    if not lines:
        return []
    return [
        'SPRAM rows (iCE40UP5K; `docs/system.md` "Weights in SPRAM"): the hidden core\'s '
        "weights in SB_SPRAM256KA, packed; the chips keep the debug port, through which the "
        "host loads those weights, so their logic includes it.",
        "",
        *lines,
        "",
    ]


def cnn_lines(path: Path = CNN_RESULTS) -> list[str]:
    """The "N-MNIST-sized CNN" section, from ``cnn.json`` (``benchmarks/bench_cnn.py``); empty
    when it does not exist."""
    if not path.exists():
        return []
    rows = {row["run"]: row for row in json.loads(path.read_text())}
    model, verify, synth = rows.get("model"), rows.get("verify"), rows.get("synth")
    lines = [
        "## N-MNIST-sized CNN on one ECP5-85F",
        "",
        "`benchmarks/bench_cnn.py` (`benchmarks/results/cnn.json`): the synthetic CNN of "
        "`neurohw.sim.cnn_case` (2x34x34 events -> conv 3x3 8 ch -> 2x2 sum pool, conv 3x3 16 "
        "ch -> 2x2 sum pool, conv 3x3 16 ch -> Affine 400-64-10; IF on the conv layers, LIF on "
        "the Affine ones; random 8-bit weights, seed 0), mapped by default: the conv layers on "
        "convolution cores (conv1 split over two cores of 4 output channels), the Affine "
        "layers on neuron cores. Conv projections carry their kernels only (`docs/system.md`, "
        '"Conv projections without a dense matrix").',
        "",
    ]
    if model:
        events = model["input_events_per_sample"]
        rates = ", ".join(f"{k} {v:.3f}" for k, v in model["spikes_per_neuron_step"].items())
        lines += [
            f"* Input: {model['steps']} steps, {events['mean']:,.0f} events per sample on "
            f"average ({events['min']:,} to {events['max']:,}, {model['samples']} samples). "
            f"Spikes per neuron and step: {rates}.",
            f"* Weights: {model['kernel_words']:,} kernel words for the three conv layers, "
            f"against {model['dense_lowering_words']:,} weights in their dense lowerings "
            f"({model['dense_lowering_words'] / model['kernel_words']:,.0f}x); "
            f"{model['affine_words']:,} Affine weights.",
            f"* Model: `simulate` of {model['simulate_samples']} samples in "
            f"{model['simulate_s']:.2f} s, peak memory {model['peak_rss_mb']:.0f} MB "
            f"(process), no dense matrix built.",
        ]
    if verify:
        per_sample = verify["cycles_per_sample"]
        lines.append(
            f"* RTL ({verify['simulator'].capitalize()}): {verify['samples']} samples, "
            f"{verify['windows_compared']} windows and {verify['output_events_compared']} "
            f"output events equal to the model; cycles per sample "
            f"{', '.join(f'{c:,}' for c in per_sample)}."
        )
    verify_all = rows.get("verify-all")
    if verify_all:
        lines.append(
            f"* RTL, every layer an output ({verify_all['simulator'].capitalize()}, "
            f"{verify_all['samples']} sample of {verify_all['steps']} steps): "
            f"{verify_all['output_events_compared']:,} spikes of all five layers equal to the "
            f"model; {verify_all['cycles_per_sample'][0]:,} cycles."
        )
    if synth:
        if "error" in synth:
            lines.append(f"* ECP5-85F: does not fit: {synth['error']}")
        else:
            lines.append(
                f"* ECP5-85F (no debug port, nextpnr seed 1): {synth['luts']:,} LUT4, "
                f"{synth['carries']:,} CCU2C, {synth['ffs']:,} FF, {synth['bram']} of 208 "
                f"DP16KD, {synth['dsp']} MULT18X18D, {synth['fmax_mhz']:.1f} MHz: it fits, "
                "with every kernel stored once."
            )
    return lines + [""]


#: The stated workload of the convolution rows' latency: input events per sample (every one an
#: interior event, the most clocks per event) over ``CONV_STEPS`` steps.
CONV_EVENTS_PER_SAMPLE = 4096
CONV_STEPS = 16
#: The CNN chips' stated input: spikes per input line and step (Bernoulli, seed 0), 16 steps.
CNN_INPUT_RATE = 0.05


def conv_lines(conv_rows, cnn_rows, stale: dict) -> list[str]:
    """The "Convolution cores" section: ``conv_synth.json`` (one layer as a ConvCore and as its
    dense lowering, image sizes, lanes, pooling; ECP5-85F) and ``cnn_up5k.json`` (CNN chips
    grown on the iCE40UP5K)."""
    import bench_cnn_up5k
    import bench_conv_synth

    from neurohw.flows.report import TimingModel
    from neurohw.hw.conv_core import ConvCore

    if not conv_rows and not cnn_rows:
        return []
    rows = {row["run"]: row for row in conv_rows}
    lines = [
        "",
        "## Convolution cores",
        "",
        "One convolution layer (2 input channels, 8 output channels, 3x3 kernel, 8-bit weights, "
        "a 16-bit IF neuron; `benchmarks/bench_conv_synth.py`, results "
        "`benchmarks/results/conv_synth.json`) as a `ConvCore` (kernel stored once) and, at "
        "2x8x8, as the `NeuronCore` holding its dense lowering, on the ECP5-85F (60 MHz asked, "
        "serial I/O harness, the core's cells). Synaptic ops per second: the ops per clock of "
        "an interior event (72 ops in `event_cycles` clocks: lanes x ops per clock, less the "
        "decode clocks) x Fmax. Latency per sample: "
        f"{CONV_EVENTS_PER_SAMPLE:,} input events (all interior) over {CONV_STEPS} steps, "
        f"`event_cycles` each plus a sweep of `N + L + "
        f"{TimingModel().conv_sweep_overhead}` clocks per step (`estimate_cycles`' model of a "
        "convolution core alone), at Fmax.",
        "",
        "| run | input | outputs (neurons) | lanes | weight words (dense lowering) | LUT4 | FF "
        "| DP16KD | DSP | Fmax MHz | clocks per event | synaptic ops/s | latency per sample |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in bench_conv_synth.RUNS:
        row = rows.get(run)
        if row is None:
            continue
        kind, spec, lanes = bench_conv_synth.parse(run)
        label = _flag(f"`{run}`", stale.get(f"conv:{run}"))
        shape = "x".join(map(str, row["in_shape"]))
        if row.get("pool", [1, 1]) != [1, 1]:
            shape += f", {row['pool'][0]}x{row['pool'][1]} sum pool"
        out = "x".join(map(str, row["out_shape"]))
        if kind == "conv":
            words = f"{row['kernel_words']:,} ({row['dense_weight_words']:,})"
            config = ConvCore.describe(
                bench_conv_synth.if_neuron(),
                spec,
                weight_width=bench_conv_synth.WEIGHT_WIDTH,
                max_events_per_step=bench_conv_synth.EVENTS,
                **({"lanes": lanes} if lanes > 1 else {}),
            )
            clocks = row["event_cycles"] if "event_cycles" in row else None
            if clocks is None:
                _, height, width = spec.in_shape
                clocks = config.event_cycles((height // 2) * width + width // 2)
            sops = f"{spec.ops_per_event / clocks * row['fmax_mhz']:.0f} M"
            cycles = CONV_EVENTS_PER_SAMPLE * clocks + CONV_STEPS * (
                spec.n_neurons + config.update_latency + TimingModel().conv_sweep_overhead
            )
            latency = f"{cycles / row['fmax_mhz']:,.0f} us"
        else:
            # One weight row per event, one neuron per clock (one lane).
            words = f"{row['dense_weight_words']:,}"
            clocks = spec.n_neurons
            sops = f"{spec.ops_per_event / clocks * row['fmax_mhz']:.0f} M"
            latency = "-"
        lines.append(
            f"| {label} | {shape} | {out} ({row['n_neurons']:,}) | {lanes} | {words} "
            f"| {row['luts']:,} | {row['ffs']:,} | {row['bram']} | {row['dsp']} "
            f"| {row['fmax_mhz']:.1f} | {clocks} | {sops} | {latency} |"
        )
    conv, dense = rows.get("conv-2x8x8"), rows.get("dense-2x8x8")
    if conv and dense:
        lines += [
            "",
            f"**Kernel against dense lowering** (2x8x8, one run each, same neuron and options): "
            f"the dense lowering needs {dense['bram'] / conv['bram']:.0f}x the block RAM "
            f"({dense['bram']} DP16KD against {conv['bram']}), "
            f"{dense['luts'] / conv['luts']:.1f}x the LUT4 ({dense['luts']:,} against "
            f"{conv['luts']:,}) and {dense['ffs'] / conv['ffs']:.1f}x the FFs, for "
            f"{dense['dense_weight_words'] / conv['kernel_words']:.0f}x the weight words "
            f"({dense['dense_weight_words']:,} against {conv['kernel_words']}); it applies an "
            f"event in 512 clocks (one weight row) where the convolution core takes "
            f"{conv.get('event_cycles') or 74}.",
        ]
    sizes = [rows.get(f"conv-{size}") for size in ("2x8x8", "2x16x16", "2x34x34")]
    if all(sizes):
        lines += [
            "",
            "**Memory against image size**: "
            + ", ".join(
                f"{'x'.join(map(str, r['in_shape']))}: {r['kernel_words']} kernel words, "
                f"{r['n_neurons']:,} neurons, {r['bram']} DP16KD"
                for r in sizes
            )
            + ". The kernel stays 144 words (LUT RAM); the block RAM that grows is the neurons' "
            "state and accumulators (which a dense core needs as well), "
            f"{sizes[2]['bram'] / sizes[0]['bram']:.1f}x for "
            f"{sizes[2]['n_neurons'] / sizes[0]['n_neurons']:.0f}x the neurons; the dense "
            f"lowering would grow {sizes[2]['dense_weight_words'] / sizes[0]['dense_weight_words']:.0f}x "
            f"({sizes[2]['dense_weight_words']:,} words at 2x34x34, beyond the ECP5-85F).",
        ]
    order = list(bench_cnn_up5k.RUNS)
    cnn_rows = sorted(
        cnn_rows, key=lambda row: order.index(row["run"]) if row["run"] in order else len(order)
    )
    if cnn_rows:
        lines += [
            "",
            "### The largest CNN on the iCE40UP5K",
            "",
            "Whole chips (`neurohw.Chip(plan, debug=False)`: convolution cores, an Affine output "
            "core of 10 neurons, the router and the host port in the serial I/O harness), "
            "8-bit random weights, Sinabs' 16-bit IF neuron, mapped with `conv='core'` and "
            "placed and routed on the iCE40UP5K (block RAM only, no SPRAM; "
            "`benchmarks/bench_cnn_up5k.py`, results `benchmarks/results/cnn_up5k.json`). "
            "Grown one step at a time from the smallest (`s8-c8`): the input map (8x8, 12x12, "
            "16x16), the channels (4, 8, 12, 16) and a second conv layer, until each direction "
            "failed to place. Latency and synaptic ops: "
            f"`estimate_cycles` on random input at {CNN_INPUT_RATE} spikes per line and step, "
            "16 steps, 2 samples, at the chip's Fmax.",
            "",
            "| run | layers | neurons | weight words (dense lowering) | fits | LUT4 (of 5,280) "
            "| BRAM (of 30) | Fmax MHz | latency per sample | synaptic ops/s |",
            "|---|---|---:|---:|---|---:|---:|---:|---:|---:|",
        ]
        for row in cnn_rows:
            run = row["run"]
            layers = " -> ".join(
                ["x".join(map(str, row["cores"][0]["in_shape"]))]
                + [
                    "x".join(map(str, c["out_shape"]))
                    for c in row["cores"]
                    if c["connectivity"] == "conv"
                ]
                + ["10"]
            )
            label = _flag(f"`{run}`", stale.get(f"cnn:{run}"))
            if row["fits"]:
                estimate = estimate_cycles(
                    bench_cnn_up5k.cnn_plan(run),
                    steps=16,
                    input_rate=CNN_INPUT_RATE,
                    samples=2,
                )
                fmax = row["fmax_mhz"]
                latency = f"{estimate.cycles_per_inference / fmax:,.0f} us"
                sops = f"{estimate.synaptic_ops_per_inference * fmax / estimate.cycles_per_inference:.1f} M"
                fits = "yes"
                cells = f"{row['luts']:,} | {row['bram']} | {fmax:.1f}"
            else:
                over = ", ".join(
                    f"{bel} {used}/{available}" for bel, used, available in row["overflow"]
                )
                # No overflow: nextpnr found no legal placement (logic at its limit).
                fits = f"no: {over or 'no legal placement (nextpnr)'}"
                cells, latency, sops = "- | - | -", "-", "-"
            lines.append(
                f"| {label} | {layers} | {row['neurons']:,} | {row['weight_words']:,} "
                f"({row['dense_weight_words']:,}) | {fits} | {cells} | {latency} | {sops} |"
            )
        fitting = [row for row in cnn_rows if row["fits"]]
        if fitting:
            largest = max(fitting, key=lambda row: row["neurons"])
            lines += [
                "",
                f"Largest that fits: `{largest['run']}` ({largest['neurons']:,} neurons, "
                f"{largest['bram']} of 30 block RAMs). Block RAM is the limit, and most of it "
                "is not the kernels: every core's ingress buffers three windows of every key "
                "routed to it (`ingress_fifo_depth`), so each layer's input map costs FIFO "
                'words as well as neuron state (docs/benchmarks.md, "Convolution cores").',
            ]
    return lines


def render(
    results: dict,
    estimates: dict,
    core: list,
    stale: dict | None = None,
    learning: Path = LEARNING_RESULTS,
    energy: Path = ENERGY_RESULTS,
    spram_rtl: Path = UP5K_SPRAM_RESULTS,
    clock_rows: list | None = None,
    conv_rows: list = (),
    cnn_rows: list = (),
) -> str:
    """BENCHMARKS.md from the chip ``results``, the cycle ``estimates`` and the ``core`` rows;
    the rows named in ``stale`` are flagged in place and listed at the top."""
    from neurohw.flows.report import TimingModel

    stale = stale or {}

    versions = sorted(
        {
            (d.get("yosys"), d.get("nextpnr"))
            for e in results.values()
            for d in e.values()
            if d.get("yosys") and d.get("device") != XILINX
        }
    )
    lines = [
        "# Benchmarks",
        "",
        "Generated by `.venv/bin/python benchmarks/make_benchmarks.py` (synthesis results cached "
        "in `benchmarks/results/system_synth.json` and `benchmarks/results/core_synth.json`, "
        "each row with the commit, the tool versions and the hash of the Verilog and options it "
        "measured; `--check` lists the rows whose hash differs from what the tree generates, "
        "`--rerun --only KEY` measures one again). What each number means and every "
        "assumption: `docs/benchmarks.md`.",
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
    ]
    if stale:
        lines += [
            "**Stale rows** (their recorded design hash differs from what this tree generates; "
            "`make_benchmarks.py --rerun --only KEY` measures them again):",
            "",
            *(f"* `{row}`: {why}" for row, why in sorted(stale.items())),
            "",
        ]
    lines += [
        "## Resources, Fmax, throughput, latency",
        "",
        HEADER,
        *core_rows(core, stale),
        *system_rows(results, estimates, stale),
        "",
        "Synaptic ops/s: for the core, the peak (`lanes x Fmax`, one synaptic operation per lane "
        "per clock); for networks, the effective rate: synaptic operations of a sample (events "
        "applied x non-zero weights they reach) over the time per sample. Latency for networks: "
        "mean time per sample with samples back to back (the end-of-sample clear included).",
        "",
        *spram_lines(results, spram_rtl),
        *clock_target_lines(clock_rows or [], stale),
        "## 784-128-10 against published accelerators",
        "",
    ]
    dom_lines, verdicts = dominance(results, estimates, stale)
    lines += dom_lines
    lines += [
        "",
        f"Input: {MNIST_STEPS} time steps, each of the 784 lines spiking with probability "
        f"{MNIST_INPUT_RATE} per step (Bernoulli, seed {MNIST_SEED + 1}): "
        f"{MNIST_STEPS * 784 * MNIST_INPUT_RATE:.0f} input spikes per image expected "
        f"({estimates.get('mnist-p8', {}).get('input_spikes', 0):.0f} in the 4 samples "
        "the cycles are estimated on), the activity of rate-coded MNIST (mean pixel "
        "intensity ~0.13). Random weights, not a trained network: the hardware cost does "
        "not depend on the values, and the thresholds are set so that the hidden layer "
        "spikes about as often at every weight width. Published figures are the papers' "
        "own (Xilinx devices: LUT6 and 36 kbit block RAMs, so neither logic nor block RAM "
        "counts are like for like). "
        + (
            f"{', '.join(f'`{k}`' for k in SYNTHESIZED_WITH_OLD_CORE)} "
            f"{'was' if len(SYNTHESIZED_WITH_OLD_CORE) == 1 else 'were'} synthesized "
            "before the core's weight banks became width-dependent (at 8 bits a bank is "
            "2048 words before and after); the other rows with the current core. "
            if SYNTHESIZED_WITH_OLD_CORE
            else ""
        )
        + "The 2- and 4-bit rows (one DP16KD per weight bank at the weight's width: "
        "8k x 2, 4k x 4) set the output core to lanes 1 "
        "(`map_network(lanes={'hidden': L, 'out': 1})`).",
        "",
    ]
    met = [k for k, v in verdicts.items() if all(all(c["checks"].values()) for c in v.values())]
    if met:
        lines.append(
            f"**Target met** by: {', '.join(met)} (fewer logic cells, fewer block "
            "RAMs and lower time per image than both published points, in the "
            "target's terms and with the assumptions above)."
        )
    else:
        lines.append(
            "**Target not met** by any configuration in the ECP5-85F counts (in the published "
            "designs' units: the next section)."
        )
    if len(met) < len(verdicts):
        failing = []
        for key, verdict in verdicts.items():
            if key in met:
                continue
            worse = [
                f"{name} {pub.split(' (')[0]}: {c['margins'][name]}"
                for pub, c in verdict.items()
                for name, ok in c["checks"].items()
                if not ok
            ]
            failing.append(f"`{key}`: " + "; ".join(worse))
        lines += ["", "Criteria missed per configuration:", ""]
        lines += [f"* {f}." for f in failing]
        partial = []
        for key, v in verdicts.items():
            wins = [pub.split(" (")[0] for pub, c in v.items() if all(c["checks"].values())]
            if key not in met and wins:
                partial.append(f"`{key}` ({', '.join(wins)})")
        if partial:
            lines += ["", "Dominating one published point only: " + ", ".join(partial) + "."]
    # A verdict decided by a few per cent of latency rests on one placement's Fmax.
    thin = []
    for key, verdict in verdicts.items():
        us = estimates[key]["cycles_per_inference"] / results[key]["ecp5-85k"]["fmax_mhz"]
        for pub in PUBLISHED:
            margin = (pub["latency_us"] - us) / pub["latency_us"]
            if all(verdict[pub["name"]]["checks"].values()) and margin < THIN_MARGIN:
                thin.append(
                    f"`{key}` is faster than {pub['name'].split(' (')[0]}'s "
                    f"{pub['latency_us']:.0f} us by {pub['latency_us'] - us:.1f} us "
                    f"({100 * margin:.1f} %) only"
                )
    if thin:
        lines += [
            "",
            "**Thin margins**: "
            + "; ".join(thin)
            + f". A latency margin under {100 * THIN_MARGIN:.0f} % is within the Fmax spread "
            "between nextpnr placements of the same logic (seed 1 only here), so these "
            "verdicts are not robust.",
        ]
    lines += [
        "",
        "Where the block RAMs go (measured, `mnist-w2-p4`): 16 DP16KD for the hidden "
        "core's 2-bit weights (per lane 784 x 32 = 25,088 words = three 8k x 2 banks and a "
        "512-word remainder bank, each its own DP16KD), 3 for its ingress FIFO (2,358 "
        "event words of 18 bits: three windows of every key), 1 for the output core's "
        "FIFO, 1 for the output core's weights. With 2-bit weights the count is 21 at "
        "lanes 4 and 8 (measured; lanes 16, one bank per lane, computed), 19 at lanes 2 "
        "(measured) and 18 at lanes 1 (computed), the last two too slow; "
        "docs/benchmarks.md lists what would get below 18. Latency margins of a few per "
        "cent depend on one nextpnr seed's Fmax and on the analytic model (within 2 % "
        "of RTL simulation on the digits network).",
    ]
    lines += ["", *xilinx_lines(results, estimates, stale, digits_accuracy(energy))]
    lines += learning_lines(learning)
    lines += conv_lines(conv_rows, cnn_rows, stale)
    lines += energy_lines(energy)
    lines += ["", *cnn_lines()]
    lines += ["## Timing model constants", "", "`" + repr(TimingModel()) + "`", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rerun", action="store_true", help="synthesize again (the --only rows, or everything)"
    )
    parser.add_argument(
        "--table",
        action="store_true",
        help="no synthesis: rewrite the table from the cached results",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="no synthesis, nothing written: list the stale rows (of --only, or all); exit 1 "
        "when there is one",
    )
    parser.add_argument(
        "--allow-stale",
        action="store_true",
        help="write BENCHMARKS.md even with stale rows (flagged STALE in place and listed)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="KEY",
        help="configuration (chip key, or core run of bench_core_synth.py) to synthesize or check",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS_DIR,
        help=f"results folder read and written (default: {RESULTS_DIR.relative_to(REPO)})",
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    import bench_core_synth

    chips, runs = list(_configs()), list(bench_core_synth.RUNS)
    unknown = [key for key in args.only or () if key not in chips and key not in runs]
    if unknown:
        parser.error(
            f"--only {unknown[0]!r} is not a configuration: chip keys {', '.join(chips)}; "
            f"core runs {', '.join(runs)}"
        )
    paths = {
        "chips": args.out / RESULTS.name,
        "core": args.out / CORE_RESULTS.name,
        "learning": args.out / LEARNING_RESULTS.name,
        "energy": args.out / ENERGY_RESULTS.name,
        "clock": args.out / CLOCK_RESULTS.name,
    }
    results = load_results(paths["chips"])
    core = load_core_rows(paths["core"])
    clock_rows = load_core_rows(paths["clock"])
    conv_rows = load_rows(args.out / CONV_RESULTS.name)
    cnn_rows = load_rows(args.out / CNN_UP5K_RESULTS.name)
    chip_keys = [k for k in args.only or chips if k in chips]
    core_runs = [k for k in args.only or () if k in runs]
    if args.check:
        stale = {
            **stale_core_rows(core, set(core_runs) if args.only else None),
            **stale_chip_rows(results, set(chip_keys) if args.only else None),
            **({} if args.only else stale_clock_rows(clock_rows)),
            **({} if args.only else stale_conv_rows(conv_rows, cnn_rows)),
        }
        for row, why in sorted(stale.items()):
            print(f"STALE {row}: {why}")
        checked = len(core_runs if args.only else core + clock_rows) + sum(
            len(v) for k, v in results.items() if not k.startswith("_") and k in chip_keys
        )
        checked += 0 if args.only else len(conv_rows) + len(cnn_rows)
        print(f"{checked - len(stale)} of {checked} rows fresh")
        return 1 if stale else 0
    if not args.table:
        for run in core_runs:
            if args.rerun or run not in {row["run"] for row in core}:
                bench_core_synth.main(["--run", run, "--json", str(paths["core"])])
        core = load_core_rows(paths["core"])
        for key in chip_keys:
            synthesize_config(
                key, devices_of(key), results=results, rerun=args.rerun, path=paths["chips"]
            )
    stale = {
        **stale_core_rows(core, set(CORE_TABLE_RUNS)),
        **stale_chip_rows(results),
        **stale_clock_rows(clock_rows),
        **stale_conv_rows(conv_rows, cnn_rows),
    }
    if stale and not args.allow_stale:
        for row, why in sorted(stale.items()):
            print(f"STALE {row}: {why}", file=sys.stderr)
        print(
            f"{args.output} not written: {len(stale)} stale row(s); measure them again with "
            "--rerun --only KEY, or write the table with them flagged with --allow-stale",
            file=sys.stderr,
        )
        return 1
    estimates = {}
    for key, (_what, builder) in _configs().items():
        plan, inputs = builder()
        est = estimate_cycles(plan, inputs)
        total = sum(float((np.asarray(v) != 0).sum()) for v in inputs.values()) / est.samples
        estimates[key] = estimate_dict(est, total)
    results["_estimates"] = estimates
    save_results(results, paths["chips"])
    text = render(
        {k: v for k, v in results.items() if not k.startswith("_")},
        estimates,
        core,
        stale,
        learning=paths["learning"],
        energy=paths["energy"],
        spram_rtl=args.out / UP5K_SPRAM_RESULTS.name,
        clock_rows=clock_rows,
        conv_rows=conv_rows,
        cnn_rows=cnn_rows,
    )
    args.output.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
