"""What on-chip learning and synaptic delays cost (resources, Fmax, clock cycles), and the event
rate the event-camera path sustains into the chip, into ``benchmarks/results/learning.json``.

    .venv/bin/python benchmarks/bench_learning.py [--part synth|cycles|camera|all]
        [--run NAME ...] [--neurons N] [--axons A] [--steps S] [--lanes P ...]
        [--simulator verilator|icarus]
        [--json PATH] [--table] [-v]

Three parts (issue #5); each writes ``--json`` as soon as it has measured something, so an
interrupted run keeps what it measured, and ``--table`` only prints the tables of the file.

``synth``: one ``NeuronCore`` configuration synthesized four ways (``VARIANTS``) on ECP5-85F and
iCE40UP5K (``neurohw.flows.synth.synthesize``, the flow's serial I/O harness, nextpnr asked for
1.25 x the device's target, as ``bench_core_synth.py``): 64 neurons x 64 axons, 8-bit weights,
16-bit LIF with one current and ``input_count_cap=1``, lanes 1 (and lanes 4 for two of them on
the ECP5):

* ``static``: the baseline (no delays, no learning);
* ``delays``: ``max_delay=8``, every synapse's delay random in 1..8;
* ``stdp``: pair STDP, additive, 8-bit traces, multiply decays (``STDPParams`` defaults);
* ``stdp-soft-delays``: STDP with soft bounds and the delays of ``delays``.

Every figure is also given as a ratio to ``static`` on the same device and lanes (same run).

``cycles``: the same configurations in RTL simulation (``sim/bench_core_cycles.py``: a
saturating input stream, every sink ready) on one stimulus, plus ``stdp-depress`` (``stdp`` with
``a_plus = 0``: depression alone), at lanes 1 and 4 (``--lanes``); each lanes count is its own
entry of ``cycles_by_lanes`` (``{"1": ..., "4": ...}``; a file with the older single ``cycles``
entry is moved under its lanes on loading). Every step's spikes and the weights after the run
are checked against the system model (``neurohw.network.simulate`` of the equivalent network,
``neurohw.sim.core_case.core_network``). Per step: event phase (first event .. the ``step``
transfer), sweep (``step`` transfer .. ``done``), and the neurons that spiked, per lane (neuron
``n`` in lane ``n % lanes``). Derived: extra cycles per step against ``static`` (same events, same
lanes); potentiation rounds (each round every lane walks the weight column of its next neuron that
spiked, all lanes together: a step has max over lanes of its post spikes in the lane), cycles per
round (a least-squares fit of the learning part of the sweep against the rounds, over the steps with
spikes; ``n_axons + 1`` expected), effective cycles per post spike and per potentiation update (all
learning cycles / post spikes, / post spikes x ``n_axons``), the learning phase's speed-up against
lanes 1 on the same stimulus, extra event-phase cycles per depression update (per input event x
``n_neurons`` weights of its row, expected 0), and the cycles after reset before the first event is
taken (the clearing walk; the delay ring has ``max_delay x ceil(N / lanes)`` words).

``camera``: a synthetic 32 x 32 event-camera recording (moving bar, blinking spots, noise;
``neurohw.events.synthetic_recording``), downsampled 4 x 4 with split polarities onto a
128-line input group (``SensorMapping``, ``bin_events``: 1 ms windows, 20 steps per sample,
``max_count=7``), into a 128 -> 64 -> 10 LIF network mapped with ``map_network`` (lanes 1 and
8), run in RTL by ``neurohw.flows.system.verify_system`` (``sim/bench_system.py``: every output
spike of every window checked, host port fed one word per clock, outputs always taken). The
chip is synthesized on ECP5-85F and iCE40UP5K (``neurohw.flows.report.synth_report``, as
``make_benchmarks.py``). Events per second = input events of the run / (cycles / Fmax), for the
recording as it is and for a dense recording (noise at 1 M events/s: most lines active in every
window) that makes the chip, not the input, the limit.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from neurohw.model import Decay, NeuronParams  # noqa: E402
from neurohw.model.stdp import STDPParams  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "learning.json"
BUILD = REPO / "build" / "bench_learning"

DEVICES = {
    # short name: (neurohw.flows device, target MHz), as benchmarks/bench_core_synth.py
    "ecp5": ("ecp5-85k", 120),
    "up5k": ("ice40-up5k", 40),
}

N_NEURONS = 64
N_AXONS = 64
WEIGHT_WIDTH = 8
MAX_DELAY = 8
SEED = 1
THRESHOLD = 400
#: Input rates of the cycle stimulus (fraction of the axons with an event in a step).
RATES = (0.0, 0.02, 0.05, 0.1, 0.2)


def params(threshold: int = THRESHOLD) -> NeuronParams:
    """16-bit LIF with one current (leaks ``v >> 2``, ``i >> 1``), reset to zero; one event per
    axon and step (``input_count_cap=1``, which on-chip STDP needs; every variant has it)."""
    return NeuronParams(
        n_currents=1,
        v_width=16,
        i_width=16,
        v_overflow="saturate",
        i_overflow="saturate",
        v_decay=Decay.shift(2),
        i_decay=(Decay.shift(1),),
        threshold=threshold,
        reset="zero",
        input_count_cap=1,
    )


def additive() -> STDPParams:
    """Additive pair STDP on weights in [0, 127]: 8-bit traces (increment 128, multiply decay
    ``x * 512 / 4096``), updates ``(trace * 1) >> 6``."""
    return STDPParams(w_min=0, w_max=127, a_plus=1, a_minus=1, shift=6, trace_width=8)


def soft() -> STDPParams:
    """The same with soft bounds: ``(trace * (w_max - w)) >> 12`` up, ``(trace * w) >> 12``
    down."""
    return STDPParams(
        w_min=0, w_max=127, a_plus=1, a_minus=1, shift=12, trace_width=8, weight_dependence="soft"
    )


def depress_only() -> STDPParams:
    """``additive`` with ``a_plus = 0``: the core then skips the potentiation walk."""
    return STDPParams(w_min=0, w_max=127, a_plus=0, a_minus=1, shift=6, trace_width=8)


#: name -> (STDP rule factory or None, delays?)
VARIANTS = {
    "static": (None, False),
    "delays": (None, True),
    "stdp": (additive, False),
    "stdp-soft-delays": (soft, True),
}
#: Cycle-count variants: the synthesized ones plus depression alone.
CYCLE_VARIANTS = {**VARIANTS, "stdp-depress": (depress_only, False)}


def core_arrays(n_neurons: int, n_axons: int, seed: int = SEED):
    """Weights (1, A, N) uniform in [0, 63] (all within the STDP bounds; zero weights are not
    plastic) and delays uniform in 1..MAX_DELAY (0 where the weight is 0: no synapse)."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(0, 64, size=(1, n_axons, n_neurons))
    delays = rng.integers(1, MAX_DELAY + 1, size=(1, n_axons, n_neurons))
    return weights, np.where(weights != 0, delays, 0)


def core_kwargs(variant: str, n_neurons: int, n_axons: int, seed: int = SEED) -> dict:
    """The ``NeuronCore`` keyword arguments of ``variant`` (besides params and sizes)."""
    rule, with_delays = CYCLE_VARIANTS[variant]
    weights, delays = core_arrays(n_neurons, n_axons, seed)
    kwargs = {"weights": weights}
    if with_delays:
        kwargs.update(max_delay=MAX_DELAY, delays=delays)
    if rule is not None:
        kwargs["stdp"] = rule()
    return kwargs


def build_core(
    variant: str,
    *,
    n_neurons: int = N_NEURONS,
    n_axons: int = N_AXONS,
    lanes: int = 1,
    seed: int = SEED,
    threshold: int = THRESHOLD,
):
    from neurohw.hw.core import NeuronCore

    return NeuronCore(
        params(threshold),
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=WEIGHT_WIDTH,
        lanes=lanes,
        **core_kwargs(variant, n_neurons, n_axons, seed),
    )


def _stamp(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- synthesis --------------------------------------------------------------------------------

#: run name -> (variant, lanes, device short name)
SYNTH_RUNS = {f"{variant}-p1-{dev}": (variant, 1, dev) for dev in DEVICES for variant in VARIANTS}
SYNTH_RUNS.update({f"{variant}-p4-ecp5": (variant, 4, "ecp5") for variant in ("static", "stdp")})

SYNTH_METRICS = ("luts", "carries", "ffs", "bram", "spram", "dsp", "logic_cells", "fmax_mhz")
#: A synthesis row's results (``SynthReport.row``), in the order the JSON keeps them.
SYNTH_ROW_KEYS = (
    *SYNTH_METRICS,
    "utilization",
    "wall_time_s",
    "yosys",
    "nextpnr",
    "seed",
)


def run_synth(name: str, build: Path, seed: int = 1) -> dict:
    from neurohw.flows.report import verilog_for_synthesis
    from neurohw.flows.synth import SynthesisError, synthesize

    variant, lanes, dev = SYNTH_RUNS[name]
    flow_device, target = DEVICES[dev]
    core = build_core(variant, lanes=lanes)
    stdp = core.stdp
    row = {
        "run": name,
        "variant": variant,
        "device": flow_device,
        "n_neurons": core.n_neurons,
        "n_axons": core.n_axons,
        "weight_width": core.weight_width,
        "lanes": lanes,
        "max_delay": core.max_delay,
        "acc_width": core.acc_width,
        "stdp": None
        if stdp is None
        else {
            "weight_dependence": stdp.weight_dependence.value,
            "trace_width": stdp.trace_width,
            "decay": stdp.pre_decay.kind.value,
        },
        "target_mhz": target,
    }
    try:
        source = verilog_for_synthesis(core, build / name)
        report = synthesize(
            source,
            device=flow_device,
            workdir=build / name,
            name=f"core-{name}",
            clock_mhz=target * 1.25,
            seed=seed,
            harness=True,
        )
    except SynthesisError as error:
        row["error"] = str(error)
        return row
    row.update(report.row(SYNTH_ROW_KEYS))
    return row


def synth_ratios(rows: dict) -> dict:
    """Add to every row its ratio to the ``static`` row of the same device and lanes."""
    for name, row in rows.items():
        if "error" in row or name not in SYNTH_RUNS:
            continue
        _variant, lanes, dev = SYNTH_RUNS[name]
        base = rows.get(f"static-p{lanes}-{dev}")
        if base is None or "error" in base:
            row.pop("ratio", None)
            continue
        row["ratio"] = {
            metric: (round(row[metric] / base[metric], 3) if base[metric] else None)
            for metric in SYNTH_METRICS
        }
    return rows


def synth_table(rows: dict) -> str:
    lines = [
        "| run | device | P | LUT4 | carry | FF | BRAM | DSP | LC/COMB | Fmax MHz | "
        "x static: LUT4 / FF / BRAM / LC / Fmax |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in [n for n in SYNTH_RUNS if n in rows] + [n for n in rows if n not in SYNTH_RUNS]:
        r = rows[name]
        if "error" in r:
            lines.append(
                f"| {name} | {r['device']} | {r['lanes']} | failed: {r['error'][:160]} |||||||"
            )
            continue
        ratio = r.get("ratio") or {}
        ratios = " / ".join(
            "-" if ratio.get(m) is None else f"{ratio[m]:.2f}"
            for m in ("luts", "ffs", "bram", "logic_cells", "fmax_mhz")
        )
        lines.append(
            f"| {name} | {r['device']} | {r['lanes']} | {r['luts']} | {r['carries']} | "
            f"{r['ffs']} | {r['bram']} | {r['dsp']} | {r['logic_cells']} | "
            f"{r['fmax_mhz']:.1f} | {ratios} |"
        )
    return "\n".join(lines)


# -- cycles -----------------------------------------------------------------------------------


def stimulus(n_axons: int, steps: int, seed: int = SEED, rates=RATES):
    """Input counts (steps, axons) in {0, 1}: each step draws its rate from ``rates``
    (default 0, 2, 5, 10, 20 % of the axons), so steps range from silent to busy and the
    population's spike count from none to all."""
    rng = np.random.default_rng(seed + 100)
    rates = rng.choice(np.asarray(rates, dtype=float), size=steps)
    return (rng.random((steps, n_axons)) < rates[:, None]).astype(np.int64)


def cycle_case(
    variant: str,
    counts,
    *,
    n_neurons: int,
    n_axons: int,
    lanes: int = 1,
    seed: int = SEED,
    check_weights: bool = True,
    threshold: int = THRESHOLD,
):
    """The core of ``variant`` and the test data of ``sim/bench_core_cycles.py`` for
    ``counts`` (steps, axons): expected spikes and learned weights from the system model."""
    from neurohw.hw.core import Target
    from neurohw.sim.core_case import core_network, network_expectations

    core = build_core(
        variant, n_neurons=n_neurons, n_axons=n_axons, lanes=lanes, seed=seed, threshold=threshold
    )
    p = core.params
    weights = np.asarray(core.weights)
    steps = counts.shape[0]
    network, ranges = core_network(
        p,
        weights,
        n_neurons=n_neurons,
        weight_width=WEIGHT_WIDTH,
        max_delay=core.max_delay,
        delays=(np.where(weights != 0, core.delays, 0) if core.max_delay > 1 else None),
        stdp=core.stdp,
    )
    expected, snapshots = network_expectations(
        network, ranges, counts, snapshot_every=steps if steps else None
    )
    rng = np.random.default_rng(seed + 200)
    events = []
    for t in range(steps):
        step_events = [int(a) for a in np.flatnonzero(counts[t])]
        rng.shuffle(step_events)
        events.append(step_events)
    final = snapshots["weights"][-1] if snapshots is not None else weights
    reads = (
        [
            [int(Target.WEIGHT0) + c, n, a, int(final[c, a, n])]
            for c in range(final.shape[0])
            for a in range(n_axons)
            for n in range(n_neurons)
        ]
        if check_weights
        else []
    )
    data = {
        "ports": core.port_description(),
        "events": events,
        "expected_spikes": np.asarray(expected["spikes"]).tolist(),
        "weight_reads": reads,
    }
    learned = int(np.abs(final - weights).sum()) if core.stdp is not None else 0
    return core, data, learned


def run_cycle_variant(
    variant: str,
    counts,
    *,
    n_neurons: int,
    n_axons: int,
    lanes: int,
    simulator: str,
    build: Path,
    seed: int = SEED,
    check_weights: bool = True,
    threshold: int = THRESHOLD,
) -> dict:
    """Simulate ``variant`` on ``counts``; returns its per-step cycle record."""
    from neurohw.sim.runner import run_cocotb

    core, data, learned = cycle_case(
        variant,
        counts,
        n_neurons=n_neurons,
        n_axons=n_axons,
        lanes=lanes,
        seed=seed,
        check_weights=check_weights,
        threshold=threshold,
    )
    build_dir = build / f"{variant}-n{n_neurons}-a{n_axons}-p{lanes}-{simulator}"
    out = build_dir.resolve() / "cycles.json"
    out.unlink(missing_ok=True)
    started = time.monotonic()
    run_cocotb(
        core,
        toplevel="neuron_core",
        test_module="bench_core_cycles",
        simulator=simulator,
        build_dir=build_dir,
        test_data=data,
        extra_env={"CYCLES_RESULTS": str(out)},
    )
    result = json.loads(out.read_text())
    steps = []
    for t, r in enumerate(result["steps"]):
        start = r["first_event"] if r["first_event"] is not None else r["step_accept"]
        # The test checked every step's spikes against the model, so the model's spiking
        # neurons are the core's: neuron n lives in lane n % lanes.
        spiked = np.flatnonzero(np.asarray(data["expected_spikes"][t]))
        assert len(spiked) == r["spikes"], (t, len(spiked), r["spikes"])
        steps.append(
            {
                "events": r["events"],
                "spikes": r["spikes"],
                "spikes_per_lane": spikes_per_lane(spiked, lanes),
                "event_phase": r["step_accept"] - start,
                "sweep": r["done"] - r["step_accept"],
                "step": r["done"] - start + 1,
            }
        )
    return {
        "variant": variant,
        "lanes": lanes,
        "max_delay": core.max_delay,
        "stdp": core.stdp is not None,
        "a_plus": core.stdp.a_plus if core.stdp is not None else None,
        "ready_after_reset": result["ready_after_reset"],
        "weights_checked": result["weights_checked"],
        "weight_change": learned,
        "steps": steps,
        "wall_time_s": round(time.monotonic() - started, 1),
    }


def spikes_per_lane(neurons, lanes: int) -> list[int]:
    """How many of ``neurons`` (the neurons that spiked in a step) each lane holds (neuron
    ``n`` lives in lane ``n % lanes``)."""
    return np.bincount(np.asarray(neurons, dtype=int) % lanes, minlength=lanes).tolist()


def potentiation_rounds(step: dict) -> int:
    """The potentiation rounds of a step: every lane takes one of its spiking neurons per round,
    so as many rounds as the busiest lane has spiking neurons (a lanes-1 record without
    ``spikes_per_lane``: its spikes)."""
    per_lane = step.get("spikes_per_lane")
    return int(max(per_lane)) if per_lane else int(step["spikes"])


def _fit(x, y):
    """Least-squares ``y = a + b x``; ``(a, b)`` or ``None`` with fewer than two distinct x."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(set(x.tolist())) < 2:
        return None
    b, a = np.polyfit(x, y, 1)
    # Exact fits leave rounding noise (-1e-15) that would print as -0.
    return tuple(0.0 if abs(v) < 1e-9 else float(v) for v in (a, b))


def _stall_model(runs: dict, base_sweep) -> dict | None:
    """The sweep stall of a learning core, from its depression-only run (STDP, ``a_plus = 0``):
    extra sweep cycles ``= c x max(0, spikes - k)``, least squares (``c`` through the origin for
    every integer ``k``, the best ``k`` kept). ``None`` without such a run or when the model
    explains less than a cycle per step on it (no stall: lanes 1)."""
    run = next((r for r in runs.values() if r["stdp"] and not r["a_plus"]), None)
    if run is None:
        return None
    k = np.array([s["spikes"] for s in run["steps"]], dtype=float)
    y = np.array([s["sweep"] - base_sweep(s["spikes"]) for s in run["steps"]])
    best = None
    for knee in range(int(k.max()) if len(k) else 0):
        x = np.maximum(0.0, k - knee)
        if not x.any():
            continue
        c = float(x @ y / (x @ x))
        err = float(((y - c * x) ** 2).sum())
        if best is None or err < best[0]:
            best = (err, knee, c)
    if best is None or best[2] <= 0:
        return None
    _, knee, c = best
    explained = c * np.maximum(0.0, k - knee).sum() / len(k)
    if explained < 1.0:
        return None
    return {
        "variant": run["variant"],
        "knee_spikes": knee,
        "cycles_per_spike": round(c, 4),
        "cycles_per_step": round(float(explained), 2),
    }


def derive_cycles(runs: dict, *, n_neurons: int, n_axons: int, lanes: int = 1) -> dict:
    """Per variant: totals, and against ``static`` (same events, same lanes): extra cycles per
    step, the learning costs per potentiation round, per post spike and per synaptic update,
    the delay ring's reset cost.

    * Event phase: ``extra = a + b x events`` over the steps with events (least squares): ``b``
      is the extra cost of an event, ``a`` a fixed pipeline latency of a step with events.
      Depression updates the ``n_neurons`` weights of an event's row, so it costs
      ``b / n_neurons`` cycles per update.
    * Sweep: the static core's sweep is ``ceil(N/P)`` + pipeline + a small overhead that grows
      by a cycle or two when the last neurons spike (their spikes must leave before ``done``);
      it is modelled as ``a0 + b0 x spikes`` (least squares on the static run), and
      ``sweep - (a0 + b0 x spikes)`` is what learning adds after the sweep.
    * Potentiation runs in rounds: each round every lane takes its next neuron that spiked and
      all lanes walk their columns together (``n_axons + 1`` cycles), so a step has as many
      rounds as its busiest lane has spiking neurons (``potentiation_rounds``). Over the steps
      with post spikes ``extra = a + b x rounds``: ``b`` cycles per round, ``a`` a fixed cost of
      a step that learns. Effective cycles per post spike = all the learning cycles / post
      spikes, per potentiation update = / (post spikes x ``n_axons``); at the margin, a full
      round updates ``lanes x n_axons`` weights in ``b`` cycles. At lanes 1 rounds = spikes
      (``cycles_per_post_spike``, the slope against the spikes, is kept for every lanes).
    * A learning core's sweep can also stall before potentiation starts: its input-count
      clearing walk (which updates the pre traces) only advances while every lane's spike FIFO
      has room, and with several lanes a busy sweep fills the FIFOs faster than ``spikes_out``
      (one word a clock) drains them. The depression-only run (``stdp`` with ``a_plus = 0``)
      has the stall and no potentiation, so its extra sweep cycles are fitted as
      ``c x max(0, spikes - k)`` (``sweep_stall``, see ``_stall_model``) and subtracted from
      the learning cycles of the potentiating variants before the fit against the rounds:
      ``learning_cycles`` is everything the sweep takes beyond the static one,
      ``potentiation_cycles`` that minus the modelled stall.
    """
    base = runs["static"]
    base_fit = _fit([s["spikes"] for s in base["steps"]], [s["sweep"] for s in base["steps"]])
    if base_fit is None:
        base_fit = (float(np.median([s["sweep"] for s in base["steps"]])), 0.0)

    def base_sweep(spikes):
        return base_fit[0] + base_fit[1] * spikes

    stall = _stall_model(runs, base_sweep)

    def stall_cycles(spikes):
        if stall is None:
            return 0.0
        return stall["cycles_per_spike"] * max(0, spikes - stall["knee_spikes"])

    base_total = sum(s["step"] for s in base["steps"])
    summary = {}
    for name, run in runs.items():
        steps = run["steps"]
        total = sum(s["step"] for s in steps)
        events = sum(s["events"] for s in steps)
        spikes = sum(s["spikes"] for s in steps)
        rounds = [potentiation_rounds(s) for s in steps]
        extra_step = [s["step"] - b["step"] for s, b in zip(steps, base["steps"])]
        extra_event = [
            (s["events"], s["event_phase"] - b["event_phase"])
            for s, b in zip(steps, base["steps"])
            if s["events"]
        ]
        learn = [(s["spikes"], s["sweep"] - base_sweep(s["spikes"])) for s in steps]
        with_spikes = [(k, c) for k, c in learn if k]
        with_rounds = [(r, c) for r, (k, c) in zip(rounds, learn) if k]
        quiet = [c for k, c in learn if not k]
        row = {
            "steps": len(steps),
            "input_events": events,
            "post_spikes": spikes,
            "cycles": total,
            "cycles_per_step": round(total / max(1, len(steps)), 2),
            "ratio_to_static": round(total / base_total, 4),
            "extra_cycles": int(sum(extra_step)),
            "extra_cycles_per_step": round(sum(extra_step) / max(1, len(steps)), 2),
            "extra_event_phase_cycles": int(sum(c for _, c in extra_event)),
            "static_sweep_fit": [round(base_fit[0], 3), round(base_fit[1], 4)],
            "extra_sweep_cycles_quiet_steps": (round(float(np.mean(quiet)), 2) if quiet else None),
            "ready_after_reset": run["ready_after_reset"],
            "extra_reset_cycles": run["ready_after_reset"] - base["ready_after_reset"],
            "weight_change": run["weight_change"],
        }
        fit = _fit(*zip(*extra_event)) if len(extra_event) >= 2 else None
        if fit is not None:
            row["extra_event_phase_fixed"] = round(fit[0], 3)
            row["extra_cycles_per_event"] = round(fit[1], 4)
        if run["stdp"] and not run["a_plus"] and stall is not None:
            row["sweep_stall"] = stall
        if run["stdp"]:
            row["depression_updates"] = events * n_neurons
            if fit is not None:
                row["cycles_per_depression_update"] = round(fit[1] / n_neurons, 5)
        if run["stdp"] and run["a_plus"]:
            potentiation_updates = spikes * n_axons
            extra_learn = sum(c for _, c in with_spikes)
            n_rounds = sum(r for r, _ in with_rounds)
            spiking = [s["spikes"] for s in steps if s["spikes"]]
            stalled = sum(stall_cycles(k) for k in spiking)
            potentiation = extra_learn - stalled
            row.update(
                {
                    "potentiation_updates": potentiation_updates,
                    "potentiation_rounds": n_rounds,
                    "learning_steps": len(with_rounds),
                    "rounds_per_learning_step": (
                        round(n_rounds / len(with_rounds), 3) if with_rounds else None
                    ),
                    "lane_occupancy": (round(spikes / (n_rounds * lanes), 4) if n_rounds else None),
                    "cycles_per_round_expected": n_axons + 1,
                    "learning_cycles": round(extra_learn, 1),
                    "sweep_stall_cycles": round(stalled, 1),
                    "potentiation_cycles": round(potentiation, 1),
                    "cycles_per_post_spike_effective": (
                        round(potentiation / spikes, 3) if spikes else None
                    ),
                    "cycles_per_potentiation_update": (
                        round(potentiation / potentiation_updates, 4)
                        if potentiation_updates
                        else None
                    ),
                }
            )
            fit = _fit(*zip(*with_rounds)) if len(with_rounds) >= 2 else None
            if fit is not None and stall is not None:
                row["cycles_per_round_uncorrected"] = round(fit[1], 3)
                row["learning_cycles_per_step_fixed_uncorrected"] = round(fit[0], 2)
            corrected = [(r, c - stall_cycles(k)) for (r, c), k in zip(with_rounds, spiking)]
            fit = _fit(*zip(*corrected)) if len(corrected) >= 2 else None
            if fit is not None:
                a, b = fit
                residual = [c - (a + b * r) for r, c in corrected]
                row.update(
                    {
                        "cycles_per_round": round(b, 3),
                        "learning_cycles_per_step_fixed": round(a, 2),
                        "round_fit_max_residual": round(max(abs(x) for x in residual), 2),
                        "cycles_per_potentiation_update_marginal": round(b / (lanes * n_axons), 4),
                    }
                )
            fit = _fit(*zip(*with_spikes)) if len(with_spikes) >= 2 else None
            if fit is not None:
                row["cycles_per_post_spike"] = round(fit[1], 3)
        summary[name] = row
    return summary


def measure_cycles(
    *,
    n_neurons: int = N_NEURONS,
    n_axons: int = N_AXONS,
    steps: int = 40,
    lanes: int = 1,
    simulator: str = "verilator",
    build: Path = BUILD / "cycles",
    variants=None,
    seed: int = SEED,
    check_weights: bool = True,
    threshold: int = THRESHOLD,
    rates=RATES,
    progress=_stamp,
) -> dict:
    """Run every cycle variant (``static`` always, first) on one stimulus; returns the
    ``cycles`` entry of the results (configuration, per-variant runs and derived figures)."""
    counts = stimulus(n_axons, steps, seed, rates)
    names = ["static"] + [v for v in (variants or CYCLE_VARIANTS) if v != "static"]
    runs = {}
    for name in names:
        if progress:
            progress(
                f"cycles {name} ({n_neurons} x {n_axons}, lanes {lanes}, {steps} steps, "
                f"{simulator}) ..."
            )
        runs[name] = run_cycle_variant(
            name,
            counts,
            n_neurons=n_neurons,
            n_axons=n_axons,
            lanes=lanes,
            simulator=simulator,
            build=build,
            seed=seed,
            check_weights=check_weights,
            threshold=threshold,
        )
    return {
        "n_neurons": n_neurons,
        "n_axons": n_axons,
        "lanes": lanes,
        "steps": steps,
        "simulator": simulator,
        "seed": seed,
        "threshold": threshold,
        "rates": [float(r) for r in rates],
        "weight_width": WEIGHT_WIDTH,
        "max_delay": MAX_DELAY,
        "input_events_per_step": [int(x) for x in counts.sum(axis=1)],
        "runs": runs,
        "summary": derive_cycles(runs, n_neurons=n_neurons, n_axons=n_axons, lanes=lanes),
    }


#: What must match for two ``cycles`` entries to be on the same stimulus and core sizes.
SAME_STIMULUS = (
    "n_neurons",
    "n_axons",
    "steps",
    "seed",
    "threshold",
    "rates",
    "weight_width",
    "max_delay",
    "input_events_per_step",
)


def compare_lanes(by_lanes: dict) -> dict:
    """Add to every variant of every entry of ``by_lanes`` (``{"1": cycles, "4": cycles}``) its
    speed-up against lanes 1 on the same stimulus (``vs_lanes_1``: whole run, learning phase,
    and whether the post spikes agree, as they must: lanes change the timing only)."""
    base = by_lanes.get("1")
    for entry in by_lanes.values():
        for name, row in entry["summary"].items():
            row.pop("vs_lanes_1", None)
            if base is None or any(entry.get(k) != base.get(k) for k in SAME_STIMULUS):
                continue
            ref = base["summary"].get(name)
            if ref is None:
                continue
            vs = {
                "cycles_speedup": round(ref["cycles"] / row["cycles"], 3),
                "same_post_spikes": ref["post_spikes"] == row["post_spikes"],
            }
            for key_, out in (
                ("learning_cycles", "learning_speedup"),
                ("potentiation_cycles", "potentiation_speedup"),
            ):
                if ref.get(key_) and row.get(key_):
                    vs[out] = round(ref[key_] / row[key_], 3)
            row["vs_lanes_1"] = vs
    return by_lanes


def migrate(results: dict) -> dict:
    """Results written before ``cycles_by_lanes``: their single ``cycles`` entry (one lanes
    count) moves under its lanes; lanes-1 steps get their ``spikes_per_lane`` (one lane holds
    every neuron) and every summary is derived again (the run data are unchanged)."""
    legacy = results.pop("cycles", None)
    if legacy is not None:
        results.setdefault("cycles_by_lanes", {}).setdefault(str(legacy.get("lanes", 1)), legacy)
    for key, entry in results.get("cycles_by_lanes", {}).items():
        lanes = int(entry.get("lanes", key))
        for run in entry["runs"].values():
            run.setdefault("lanes", lanes)
            if lanes == 1:
                for step in run["steps"]:
                    step.setdefault("spikes_per_lane", [step["spikes"]])
        entry["summary"] = derive_cycles(
            entry["runs"], n_neurons=entry["n_neurons"], n_axons=entry["n_axons"], lanes=lanes
        )
    if results.get("cycles_by_lanes"):
        compare_lanes(results["cycles_by_lanes"])
    return results


def cycles_table(cycles: dict) -> str:
    lines = [
        "| variant | cycles (run) | x static | extra cycles / step | input events | "
        "post spikes | extra cycles / event (fit) | fixed extra / step with events | "
        "learning cycles | of which sweep stall | rounds | cycles / round (fit) | fixed "
        "learning cycles / step | cycles / post spike | cycles / potentiation update | "
        "potentiation x faster than lanes 1 | cycles / depression update | cycles after "
        "reset |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        "---:|---:|",
    ]

    def cell(value, fmt="{:.3f}"):
        return "-" if value is None else fmt.format(value + 0.0 if abs(value) > 1e-9 else 0.0)

    order = list(CYCLE_VARIANTS)
    for name in sorted(cycles["summary"], key=lambda n: order.index(n) if n in order else 9):
        r = cycles["summary"][name]
        lines.append(
            f"| {name} | {r['cycles']} | {r['ratio_to_static']:.3f} | "
            f"{r['extra_cycles_per_step']:.1f} | {r['input_events']} | {r['post_spikes']} | "
            f"{cell(r.get('extra_cycles_per_event'), '{:.2f}')} | "
            f"{cell(r.get('extra_event_phase_fixed'), '{:.1f}')} | "
            f"{cell(r.get('learning_cycles'), '{:.0f}')} | "
            f"{cell(r.get('sweep_stall_cycles'), '{:.0f}')} | "
            f"{cell(r.get('potentiation_rounds'), '{:.0f}')} | "
            f"{cell(r.get('cycles_per_round'), '{:.2f}')} | "
            f"{cell(r.get('learning_cycles_per_step_fixed'), '{:.1f}')} | "
            f"{cell(r.get('cycles_per_post_spike_effective'), '{:.2f}')} | "
            f"{cell(r.get('cycles_per_potentiation_update'))} | "
            f"{cell((r.get('vs_lanes_1') or {}).get('potentiation_speedup'), '{:.2f}')} | "
            f"{cell(r.get('cycles_per_depression_update'))} | {r['ready_after_reset']} |"
        )
    return "\n".join(lines)


# -- event camera -----------------------------------------------------------------------------

CAMERA = {
    "width": 32,
    "height": 32,
    "downsample": 4,
    "polarity": "split",
    "window_us": 1000,
    "steps": 20,
    "max_count": 7,
    "hidden": 64,
    "outputs": 10,
    "duration_us": 200_000,
    "dense_rate_hz": 1_000_000,
    "dense_duration_us": 40_000,
}


def camera_network(lanes: int, seed: int = 0):
    """128 DVS lines -> 64 LIF -> 10 LIF (16-bit membrane, leak ``v >> 3``, no current,
    threshold 64), random weights (seeded; input weights uniform in [-12, 12]: on the
    recording about 10 % of the hidden neurons spike per step, 40 % on the dense input), mapped
    with ``map_network(lanes=lanes)``."""
    from neurohw.events import SensorMapping
    from neurohw.network import InputGroup, Network, Population, Projection, map_network

    mapping = SensorMapping(
        CAMERA["width"],
        CAMERA["height"],
        downsample=CAMERA["downsample"],
        polarity=CAMERA["polarity"],
    )
    rng = np.random.default_rng(seed)
    p = NeuronParams(
        n_currents=0,
        v_width=16,
        v_overflow="saturate",
        v_decay=Decay.shift(3),
        threshold=64,
        reset="zero",
    )
    hidden, out = CAMERA["hidden"], CAMERA["outputs"]
    network = Network(
        inputs=[InputGroup("dvs", mapping.size, max_count=CAMERA["max_count"])],
        populations=[
            Population("hidden", hidden, p, weight_width=8),
            Population("out", out, p, weight_width=8),
        ],
        projections=[
            Projection("dvs", "hidden", rng.integers(-12, 13, (mapping.size, hidden))),
            Projection("hidden", "out", rng.integers(-16, 32, (hidden, out))),
        ],
        outputs=["out"],
    )
    return map_network(network, lanes=lanes), mapping


def camera_recordings(mapping) -> dict:
    """``{name: (events, binned)}``: the synthetic recording, and dense noise."""
    from neurohw.events import bin_events, noise, synthetic_recording

    c = CAMERA
    recordings = {
        "recording": synthetic_recording(
            c["width"], c["height"], duration_us=c["duration_us"], seed=0
        ),
        "dense": noise(
            c["width"],
            c["height"],
            duration_us=c["dense_duration_us"],
            rate_hz=c["dense_rate_hz"],
            seed=3,
        ),
    }
    out = {}
    for name, events in recordings.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            binned = bin_events(
                events,
                mapping,
                window_us=c["window_us"],
                steps=c["steps"],
                max_count=c["max_count"],
                on_clip="report",
            )
        out[name] = (events, binned)
    return out


def run_camera_sim(lanes: int, simulator: str, build: Path) -> dict:
    from neurohw import Chip

    plan, mapping = camera_network(lanes)
    rows = {}
    for name, (events, binned) in camera_recordings(mapping).items():
        _stamp(f"camera p{lanes} {name}: {binned.report}")
        counts = binned.counts
        result = Chip(plan).verify(
            binned.inputs("dvs"),
            simulator=simulator,
            build_dir=build / f"camera-p{lanes}-{name}-{simulator}",
        )
        spike_words = int((counts > 0).sum())
        row_events = int(counts.sum())
        sensor_us = binned.report.steps * binned.report.batch * binned.report.window_us
        rows[name] = {
            "sensor_events": int(len(events.t)),
            "delivered_events": binned.report.delivered,
            "clipped_events": binned.report.clipped,
            "sensor_time_us": sensor_us,
            "sensor_event_rate_per_s": round(binned.report.delivered / (sensor_us * 1e-6)),
            "samples": result.samples,
            "steps": result.steps,
            "host_words": result.host_words,
            "spike_words": spike_words,
            "row_events": row_events,
            "cycles": result.cycles,
            "cycles_per_step_mean": round(result.cycles_per_step_mean, 1),
            "spike_words_per_cycle": round(spike_words / result.cycles, 5),
            "delivered_events_per_cycle": round(binned.report.delivered / result.cycles, 5),
            "output_events_compared": result.output_events_compared,
            "simulator": simulator,
            "wall_time_s": round(result.seconds, 1),
        }
        _stamp(
            f"camera p{lanes} {name}: {result.cycles} cycles, {spike_words} spike words, "
            f"{rows[name]['spike_words_per_cycle']:.4f} words/cycle"
        )
    return {
        "lanes": lanes,
        "cores": [
            {
                "population": c.population,
                "neurons": c.n_neurons,
                "axons": c.n_axons,
                "lanes": c.lanes,
            }
            for c in plan.cores
        ],
        "runs": rows,
    }


def run_camera_synth(lanes: int, dev: str, build: Path) -> dict:
    from neurohw import Chip
    from neurohw.flows.report import synth_report

    plan, _ = camera_network(lanes)
    flow_device, _target = DEVICES[dev]
    # As a board carries it, without the debug port (the numbers recorded so far).
    report = synth_report(
        Chip(plan, debug=False),
        [flow_device],
        workdir=build / f"camera-p{lanes}",
        name=f"camera-p{lanes}",
    )
    result = report.devices[0].to_dict()
    keep = (
        "device",
        "fits",
        "error",
        "luts",
        "carries",
        "ffs",
        "bram",
        "spram",
        "dsp",
        "logic_cells",
        "fmax_mhz",
        "yosys",
        "nextpnr",
    )
    return {k: result.get(k) for k in keep if k in result}


def camera_rates(camera: dict) -> dict:
    """Events per second at each synthesized Fmax (input events / (cycles / Fmax))."""
    rates = {}
    for key, entry in camera.get("sim", {}).items():
        for dev in DEVICES:
            synth = camera.get("synth", {}).get(f"{key}-{dev}")
            if not synth or not synth.get("fmax_mhz"):
                continue
            fmax = synth["fmax_mhz"] * 1e6
            for name, r in entry["runs"].items():
                seconds = r["cycles"] / fmax
                rates[f"{key}-{dev}-{name}"] = {
                    "fmax_mhz": round(synth["fmax_mhz"], 2),
                    "spike_words_per_s": round(r["spike_words"] / seconds),
                    "delivered_events_per_s": round(r["delivered_events"] / seconds),
                    "real_time_factor": round(r["sensor_time_us"] * 1e-6 / seconds, 2),
                }
    return rates


def camera_table(camera: dict) -> str:
    lines = [
        "| chip | input | Fmax MHz | cycles | cycles / step | host spike words | words / "
        "cycle | words / s | camera events delivered | camera events / s | x real time |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, entry in camera.get("sim", {}).items():
        for dev in DEVICES:
            for name in sorted(entry["runs"], key=lambda n: n != "recording"):
                r = entry["runs"][name]
                rate = camera.get("rates", {}).get(f"{key}-{dev}-{name}")
                if rate is None:
                    continue
                lines.append(
                    f"| {key} ({DEVICES[dev][0]}) | {name} | {rate['fmax_mhz']:.1f} | "
                    f"{r['cycles']} | {r['cycles_per_step_mean']:.0f} | {r['spike_words']} | "
                    f"{r['spike_words_per_cycle']:.4f} | {rate['spike_words_per_s'] / 1e6:.2f} M "
                    f"| {r['delivered_events']} | {rate['delivered_events_per_s'] / 1e6:.2f} M | "
                    f"{rate['real_time_factor']:.0f} |"
                )
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------


def load(path: Path) -> dict:
    return migrate(json.loads(path.read_text())) if path.exists() else {}


def save(results: dict, path: Path) -> None:
    from neurohw.flows.design_hash import provenance

    path.parent.mkdir(parents=True, exist_ok=True)
    # What it ran: the neurohw sources (docs/benchmarks.md, "Freshness").
    results["provenance"] = provenance()
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")


def print_tables(results: dict) -> None:
    if results.get("synth"):
        print(synth_table(results["synth"]), "\n")
    for key in sorted(results.get("cycles_by_lanes", {}), key=int):
        print(f"cycles, lanes {key}:\n" + cycles_table(results["cycles_by_lanes"][key]), "\n")
    if results.get("camera"):
        print(camera_table(results["camera"]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("synth", "cycles", "camera", "all"), default="all")
    parser.add_argument(
        "--run",
        action="append",
        choices=list(SYNTH_RUNS),
        help="synthesis run(s), in order (default: all)",
    )
    parser.add_argument("--neurons", type=int, default=N_NEURONS, help="cycles part")
    parser.add_argument("--axons", type=int, default=N_AXONS, help="cycles part")
    parser.add_argument("--steps", type=int, default=40, help="cycles part")
    parser.add_argument(
        "--lanes",
        type=int,
        action="append",
        help="cycles part: lanes of the core, each kept as its own entry (default 1 and 4)",
    )
    parser.add_argument(
        "--camera-lanes",
        type=int,
        action="append",
        help="camera part: lanes of the chip (default 1 and 8)",
    )
    parser.add_argument("--simulator", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--build", type=Path, default=BUILD)
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS,
        help=f"results file (default: {RESULTS.relative_to(REPO)})",
    )
    parser.add_argument("--seed", type=int, default=1, help="nextpnr seed")
    parser.add_argument("--table", action="store_true", help="only print the tables of --json")
    parser.add_argument("-v", "--verbose", action="store_true", help="log the flows' progress")
    args = parser.parse_args(argv)
    results = load(args.json)
    if args.table:
        print_tables(results)
        return 0
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    parts = ("cycles", "camera", "synth") if args.part == "all" else (args.part,)

    if "cycles" in parts:
        by_lanes = results.setdefault("cycles_by_lanes", {})
        for lanes in args.lanes or [1, 4]:
            by_lanes[str(lanes)] = measure_cycles(
                n_neurons=args.neurons,
                n_axons=args.axons,
                steps=args.steps,
                lanes=lanes,
                simulator=args.simulator,
                build=args.build / "cycles",
            )
            compare_lanes(by_lanes)
            save(results, args.json)
        for key in sorted(by_lanes, key=int):
            print(f"cycles, lanes {key}:\n" + cycles_table(by_lanes[key]), "\n", flush=True)

    if "camera" in parts:
        camera = results.setdefault("camera", {})
        camera["config"] = CAMERA
        for lanes in args.camera_lanes or [1, 8]:
            key = f"p{lanes}"
            _stamp(f"camera {key}: RTL simulation ...")
            camera.setdefault("sim", {})[key] = run_camera_sim(
                lanes, args.simulator, args.build / "camera-sim"
            )
            save(results, args.json)
            for dev in DEVICES:
                _stamp(f"camera {key} on {dev}: synthesis ...")
                started = time.monotonic()
                synth = run_camera_synth(lanes, dev, args.build / "camera-synth" / dev)
                camera.setdefault("synth", {})[f"{key}-{dev}"] = synth
                camera["rates"] = camera_rates(camera)
                save(results, args.json)
                _stamp(
                    f"camera {key} on {dev}: {synth.get('error') or synth.get('fmax_mhz')} "
                    f"({time.monotonic() - started:.0f} s)"
                )
        print(camera_table(camera), "\n", flush=True)

    if "synth" in parts:
        rows = results.setdefault("synth", {})
        for name in args.run or list(SYNTH_RUNS):
            started = time.monotonic()
            _stamp(f"synth {name} ...")
            rows[name] = run_synth(name, args.build / "synth", args.seed)
            synth_ratios(rows)
            save(results, args.json)
            row = rows[name]
            summary = row.get("error") or (
                f"{row['fmax_mhz']:.1f} MHz, {row['luts']} LUT4, "
                f"{row['ffs']} FF, {row['bram']} BRAM"
            )
            _stamp(f"synth {name}: {summary} ({time.monotonic() - started:.0f} s)")
        print(synth_table(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
