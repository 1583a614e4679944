"""``benchmarks/bench_learning.py`` at a tiny size, so that the benchmark cannot rot: the cycle
part runs every variant in RTL simulation (spikes and learned weights checked against the
model by the bench) and the derived figures have the expected structure. No timing is
asserted beyond "learning costs cycles when neurons spike"."""

from __future__ import annotations

import importlib.util
import json

import pytest

from neurohw.toolchain import available_simulators
from sim.runner import REPO_ROOT

pytestmark = pytest.mark.sim


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_learning", REPO_ROOT / "benchmarks" / "bench_learning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _simulator():
    simulators = available_simulators()
    if not simulators:
        pytest.skip("no HDL simulator")
    # Icarus builds a small core in a second; Verilator's C++ build takes longer.
    return "icarus" if "icarus" in simulators else simulators[0]


def test_cycle_part_at_a_tiny_size(tmp_path):
    bench = _bench()
    n, a = 8, 8
    cycles = bench.measure_cycles(n_neurons=n, n_axons=a, steps=12, simulator=_simulator(),
                                  build=tmp_path / "cycles", threshold=60,
                                  rates=(0.0, 0.25, 0.5), progress=None)
    assert set(cycles["runs"]) == set(bench.CYCLE_VARIANTS)
    assert list(cycles["runs"])[0] == "static"
    summary = cycles["summary"]
    for name, run in cycles["runs"].items():
        assert len(run["steps"]) == 12
        assert run["weights_checked"] == n * a
        for step in run["steps"]:
            assert set(step) == {"events", "spikes", "event_phase", "sweep", "step"}
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


def test_tables_from_results(tmp_path):
    """``--table`` and the derived synthesis ratios work on a results file."""
    bench = _bench()
    row = {"device": "ecp5-85k", "lanes": 1, "luts": 100, "carries": 10, "ffs": 50, "bram": 2,
           "spram": 0, "dsp": 0, "logic_cells": 150, "fmax_mhz": 100.0}
    rows = bench.synth_ratios({"static-p1-ecp5": dict(row),
                               "stdp-p1-ecp5": dict(row, luts=150, fmax_mhz=80.0)})
    assert rows["stdp-p1-ecp5"]["ratio"]["luts"] == 1.5
    assert rows["stdp-p1-ecp5"]["ratio"]["fmax_mhz"] == 0.8
    assert rows["static-p1-ecp5"]["ratio"]["luts"] == 1.0
    path = tmp_path / "learning.json"
    path.write_text(json.dumps({"synth": rows}))
    assert bench.main(["--table", "--json", str(path)]) == 0
