# amaranth: UnusedElaboratable=no
"""RTL templates (``neurohw.templates``): rendering, the package and constraint contents, lint and
compilation of every rendered file with the core in Icarus and Verilator, and a cocotb run
through the AXI4-Stream wrapper compared with the reference model (``sim/bench_templates.py``)."""

from __future__ import annotations

import os
import re
import subprocess

import numpy as np
import pytest

from neurohw.boards.specs import BOARDS, board_pins
from neurohw.hw.core import NeuronCore, Target
from neurohw.model import Decay, NeuronParams
from neurohw.model.presets import loihi_cuba_lif
from neurohw.sim.core_case import make_case
from neurohw.sim.runner import case_build_dir, run_cocotb
from neurohw.templates import core_description, render
from neurohw.toolchain import verilator_environment
from tests.test_neuron_core import on_simulators, random_case, random_spikes, random_weights


def _params():
    return NeuronParams(
        n_currents=1, v_width=16, i_width=16, threshold=100, i_decay=(Decay.shift(1),)
    )


def _core(**kwargs):
    return NeuronCore(_params(), n_neurons=6, n_axons=5, weight_width=8, **kwargs)


def test_render_is_deterministic(tmp_path):
    first = render(_core(), tmp_path / "a", board_tops=True)
    second = render(_core(), tmp_path / "b", board_tops=True)
    assert sorted(first) == [
        "axis",
        "core",
        "icebreaker_pcf",
        "icebreaker_top",
        "inst",
        "json",
        "pkg",
        "tang_nano_9k_cst",
        "tang_nano_9k_top",
        "tang_primer_20k_cst",
        "tang_primer_20k_top",
        "ulx3s_lpf",
        "ulx3s_top",
    ]
    for kind, path in first.items():
        assert path.read_bytes() == second[kind].read_bytes(), kind
        assert str(tmp_path) not in path.read_text(), f"{kind} names the output directory"


def test_render_names(tmp_path):
    files = render(_core(), tmp_path, name="snn0", instance="u_snn", prefix="snn_")
    assert re.search(r"^module snn0_axis \(", files["axis"].read_text(), re.M)
    assert "snn0 core (" in files["axis"].read_text()
    assert re.search(r"^module snn0\(", files["core"].read_text(), re.M)
    assert "snn0_axis u_snn (" in files["inst"].read_text()
    assert "package snn0_pkg;" in files["pkg"].read_text()


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"name": "1bad"}, "name must be a Verilog identifier"),
        ({"instance": "a b"}, "instance must be a Verilog identifier"),
        ({"prefix": "x-"}, "prefix must be a Verilog identifier"),
    ],
)
def test_render_refuses_bad_names(tmp_path, kwargs, error):
    core = _core()
    with pytest.raises(ValueError, match=error):
        render(core, tmp_path, **kwargs)


def test_render_refuses_non_core(tmp_path):
    with pytest.raises(TypeError, match="core must be a NeuronCore"):
        render(object(), tmp_path)


def _localparams(text):
    return {
        name: value
        for name, value in re.findall(
            r"localparam (?:int|longint|bit|logic \[\d+:0\]) (\w+)\s*=\s*"
            r"(?:\d+'[bd])?(\d+);",
            text,
        )
    }


@pytest.mark.parametrize("kwargs", [{}, {"lanes": 2}, {"per_neuron": {"i_decay0", "drive_bias"}}])
def test_package_matches_core(tmp_path, kwargs):
    core = _core(**kwargs)
    params = _localparams(render(core, tmp_path)["pkg"].read_text())
    ports = core.port_description()
    assert int(params["N_NEURONS"]) == 6 and int(params["N_AXONS"]) == 5
    assert int(params["LANES"]) == core.lanes
    assert int(params["DATA_WIDTH"]) == core.data_width
    assert int(params["UPDATE_LATENCY"]) == core.update_latency
    for stream, prefix in (("cmd", "CMD"), ("rsp", "RSP"), ("spikes_out", "SPIKES_OUT")):
        for field, (offset, width, _) in ports[stream].items():
            assert int(params[f"{prefix}_{field.upper()}_OFFSET"]) == offset
            assert int(params[f"{prefix}_{field.upper()}_WIDTH"]) == width
    assert int(params["CMD_TDATA_WIDTH"]) % 8 == 0
    assert (
        int(params["CMD_TDATA_WIDTH"]) >= core.cmd_layout.size > int(params["CMD_TDATA_WIDTH"]) - 8
    )
    # The targets the core's field can address (codes from 16 on only with a 5-bit field).
    assert core.target_bits == (5 if "per_neuron" in kwargs else 4)
    for target in Target:
        if int(target) >= 1 << core.target_bits:
            assert f"TARGET_{target.name}" not in params
            continue
        assert int(params[f"TARGET_{target.name}"]) == int(target)
        assert int(params[f"HAS_TARGET_{target.name}"]) == (target.name in ports["targets"])


def test_description_json(tmp_path):
    import json

    core = _core()
    data = json.loads(render(core, tmp_path)["json"].read_text())
    assert data == json.loads(json.dumps(core_description(core)))
    assert data["ports"]["cmd"]["data"] == [11, core.data_width, True]


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_constraints_match_amaranth_boards(tmp_path, board):
    files = render(_core(), tmp_path)
    pins = {pin["port"]: pin["pin"] for pin in board_pins(board)}
    assert set(pins) == {"clk", "button", "uart_rx", "uart_tx", "led[0]", "led[1]"}
    if board == "icebreaker":
        text = files["icebreaker_pcf"].read_text()
        found = dict(re.findall(r"^set_io .*?(\S+) (\S+)$", text, re.M))
        assert found == pins
        assert pins["clk"] == "35" and pins["uart_rx"] == "6" and pins["uart_tx"] == "9"
        assert "set_frequency clk 12" in text
    elif board == "ulx3s":
        text = files["ulx3s_lpf"].read_text()
        found = dict(re.findall(r'^LOCATE COMP "(\S+)" SITE "(\S+)";$', text, re.M))
        assert found == pins
        assert pins["clk"] == "G2" and pins["uart_rx"] == "M1" and pins["uart_tx"] == "L4"
        assert 'FREQUENCY PORT "clk" 25 MHZ;' in text
    else:
        text = files[f"{board}_cst"].read_text()
        found = dict(re.findall(r'^IO_LOC "(\S+)" (\S+);$', text, re.M))
        assert found == pins
        expected = {"tang_nano_9k": ("52", "18", "17"), "tang_primer_20k": ("H11", "T13", "M11")}
        assert (pins["clk"], pins["uart_rx"], pins["uart_tx"]) == expected[board]
        assert "// clk: 27 MHz" in text


# ---------------------------------------------------------------------------------------------
# Compilation of every rendered file, with the core

LINT_CONFIGS = {
    "dense-p1": lambda: _core(),
    "dense-p4-loihi": lambda: NeuronCore(
        loihi_cuba_lif(du=1024, dv=410, vth=100, refractory_period=2),
        n_neurons=9,
        n_axons=300,
        weight_width=8,
        lanes=4,
    ),
    "dense-p2-per-neuron": lambda: NeuronCore(
        loihi_cuba_lif(
            du=np.arange(6) * 800, dv=np.arange(6) * 819, vth=100, drive_bias=np.arange(6) - 3
        ),
        n_neurons=6,
        n_axons=5,
        weight_width=8,
        lanes=2,
    ),
    "sparse": lambda: NeuronCore(
        _params(),
        n_neurons=7,
        n_axons=4,
        weight_width=3,
        weights=np.array([[[1, 0, 0, 2, 0, 0, 0]] * 4]),
        connectivity="sparse",
    ),
}

_CHECK_TOP = """\
// Compiles the instantiation template and uses the package's types and widths.
module inst_check (input wire aclk, input wire aresetn);
    import {name}_pkg::*;
`include "{name}_axis_inst.vh"
    cmd_t cmd;
    rsp_t rsp;
    spikes_out_t spike;
    logic [CMD_TDATA_WIDTH-1:0] cmd_word;
    assign cmd_word = core_s_axis_cmd_tdata;
    assign cmd = cmd_word[CMD_WIDTH-1:0];
    assign rsp = core_m_axis_rsp_tdata[RSP_WIDTH-1:0];
    assign spike = core_m_axis_spikes_tdata[SPIKES_OUT_WIDTH-1:0];
endmodule
"""

#: Warnings expected in the compile-check top (the template's wires are left for the user to
#: connect) and in the package (constants a design need not use). Any warning in the wrapper
#: fails; the core's own warnings are checked by tests/test_core_lint.py.
_CHECK_WAIVERS = {
    "inst_check.sv": {"UNDRIVEN", "UNUSEDSIGNAL"},
    "neuron_core_axis_inst.vh": {"UNDRIVEN", "UNUSEDSIGNAL"},
    "neuron_core_pkg.sv": {"UNUSEDPARAM"},
}


def _render_with_check(core, directory):
    files = render(core, directory)
    (directory / "inst_check.sv").write_text(_CHECK_TOP.format(name="neuron_core"))
    return files, [files["pkg"].name, files["core"].name, files["axis"].name, "inst_check.sv"]


@pytest.mark.parametrize("config", sorted(LINT_CONFIGS))
def test_verilator_lint(tmp_path, config):
    _, sources = _render_with_check(LINT_CONFIGS[config](), tmp_path)
    env = verilator_environment()
    result = subprocess.run(
        ["verilator", "--lint-only", "-Wall", "--top-module", "inst_check", *sources],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )
    problems = []
    for line in result.stderr.splitlines():
        match = re.match(r"^%(Warning|Error)(?:-(\w+))?: ([^:]+):\d+:\d+: (.*)$", line)
        if not match:
            continue
        kind, code, path, message = match.groups()
        if path == "neuron_core.v" and kind == "Warning":
            continue
        if kind == "Warning" and code in _CHECK_WAIVERS.get(path, ()):
            continue
        problems.append(line)
    assert not problems, "\n".join(problems)
    assert "%Error:" not in result.stderr.replace("%Error: Exiting due to", ""), result.stderr[
        -3000:
    ]


@pytest.mark.needs_simulator("icarus")
@pytest.mark.parametrize("config", sorted(LINT_CONFIGS))
def test_icarus_compile(tmp_path, config):
    _, sources = _render_with_check(LINT_CONFIGS[config](), tmp_path)
    result = subprocess.run(
        [
            "iverilog",
            "-g2012",
            "-Wall",
            "-Wno-timescale",
            "-o",
            "check.vvp",
            "-s",
            "inst_check",
            *sources,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # Port width mismatches between the template, the wrapper and the core are warnings.
    wrapper_problems = [
        line for line in result.stderr.splitlines() if "neuron_core.v" not in line.split(":")[0]
    ]
    assert not wrapper_problems, "\n".join(wrapper_problems)


# ---------------------------------------------------------------------------------------------
# Simulation through the AXI4-Stream ports


def _axis_case(kind):
    if kind == "random":
        return random_case(3, steps=12, max_neurons=6, max_axons=5, lanes=[1])
    if kind == "lanes":
        return random_case(52, steps=12, max_neurons=9, max_axons=4, lanes=[2])
    rng = np.random.default_rng(5)
    params = loihi_cuba_lif(du=1024, dv=410, vth=60, refractory_period=2)
    weights = random_weights(rng, params, 5, 6, 8, zeros=0.6)
    spikes = random_spikes(rng, 12, 5, density=0.5)
    return make_case(
        params,
        weights,
        spikes,
        n_neurons=6,
        n_axons=5,
        weight_width=8,
        seed=5,
        core_kwargs={"connectivity": "sparse"},
        traffic={"idle_probability": 0.2, "backpressure_probability": 0.3},
    )


@pytest.mark.sim
@on_simulators("kind", ["random", "lanes", "sparse"], verilator_default=("random",))
def test_axis_wrapper_sim(hdl, kind, request):
    core, data = _axis_case(kind)
    build_dir = case_build_dir(request.node.nodeid, hdl)
    files = render(core, build_dir / "rtl")
    design = files["core"].read_text() + "\n" + files["axis"].read_text()
    run_cocotb(
        design,
        toplevel="neuron_core_axis",
        test_module="bench_templates",
        simulator=hdl,
        build_dir=build_dir,
        test_data=data,
    )


# ---------------------------------------------------------------------------------------------
# The rendered host-link top levels with the rendered constraint files, through the open tools
# (what a user of another flow would do with these files).

_PNR = {
    "icebreaker": (
        "NEXTPNR_ICE40",
        "synth_ice40",
        ["--up5k", "--package", "sg48", "--pcf", "icebreaker.pcf", "--asc", "top.asc"],
    ),
    "ulx3s": (
        "NEXTPNR_ECP5",
        "synth_ecp5",
        ["--85k", "--package", "CABGA381", "--lpf", "ulx3s.lpf", "--textcfg", "top.config"],
    ),
    "tang_nano_9k": (
        "NEXTPNR_HIMBAECHEL",
        "synth_gowin",
        ["--device", "GW1NR-LV9QN88PC6/I5", "--vopt", "family=GW1N-9C"]
        + ["--vopt", "cst=tang_nano_9k.cst", "--freq", "27"],
    ),
    "tang_primer_20k": (
        "NEXTPNR_HIMBAECHEL",
        "synth_gowin",
        ["--device", "GW2A-LV18PG256C8/I7", "--vopt", "family=GW2A-18C"]
        + ["--vopt", "cst=tang_primer_20k.cst", "--freq", "27"],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("board", sorted(_PNR))
def test_rendered_board_top_places_with_constraints(tmp_path, board):
    from neurohw.toolchain import synthesis_tool

    render(_core(), tmp_path, board_tops=True)
    nextpnr, synth, args = _PNR[board]
    script = (
        f"read_verilog {board}_top.v; hierarchy -top {board}_top; "
        f"rename -unescape w:* i:* %d o:* %d; {synth} -top {board}_top -json top.json"
    )
    result = subprocess.run(
        [synthesis_tool("YOSYS"), "-q", "-l", "yosys.log", "-p", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (tmp_path / "yosys.log").read_text()[-3000:]
    # No --pcf-allow-unconstrained: every port must be placed by the constraint file.
    result = subprocess.run(
        [
            synthesis_tool(nextpnr),
            "--json",
            "top.json",
            "--report",
            "report.json",
            "--log",
            "nextpnr.log",
            *args,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (tmp_path / "nextpnr.log").read_text()[-3000:]
    import json

    fmax = json.loads((tmp_path / "report.json").read_text())["fmax"]
    assert fmax and all(v["achieved"] >= v["constraint"] for v in fmax.values()), fmax
