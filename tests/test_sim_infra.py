"""End-to-end check of the simulation infrastructure on every available simulator."""

import random

import pytest

from neurohw.sim.infra_dut import StreamAddConstant
from neurohw.sim.runner import (
    BUILD_ROOT,
    CocotbTestFailure,
    case_build_dir,
    run_cocotb,
    write_verilog,
)

WIDTH = 16
ADDEND = 0x1234
TOPLEVEL = "stream_add_constant"
BENCH = "bench_stream_infra"


def stream_test_data(seed: int, count: int = 300, **overrides) -> dict:
    rng = random.Random(seed)
    # Include the wrap-around corners alongside random words.
    inputs = [0, (1 << WIDTH) - 1, (1 << WIDTH) - ADDEND] + [
        rng.randrange(1 << WIDTH) for _ in range(count)
    ]
    return {"inputs": inputs, "addend": ADDEND, "width": WIDTH, "seed": seed, **overrides}


@pytest.mark.sim
def test_stream_bench_passes(simulator, sim_build_dir):
    run_cocotb(
        StreamAddConstant(WIDTH, ADDEND),
        toplevel=TOPLEVEL,
        test_module=BENCH,
        simulator=simulator,
        build_dir=sim_build_dir,
        test_data=stream_test_data(seed=7),
    )


@pytest.mark.sim
def test_failing_bench_fails_pytest(simulator, sim_build_dir):
    wrong = stream_test_data(seed=8, count=20, expected_offset=ADDEND + 1)
    expected_message = (
        r"(?s)1 of 1 cocotb tests failed on .*full_throughput: 23 of 23 outputs differ"
    )
    with pytest.raises(CocotbTestFailure, match=expected_message):
        run_cocotb(
            StreamAddConstant(WIDTH, ADDEND),
            toplevel=TOPLEVEL,
            test_module=BENCH,
            simulator=simulator,
            build_dir=sim_build_dir,
            test_data=wrong,
            testcase="full_throughput",
        )


@pytest.mark.sim
def test_build_error_is_reported(simulator, sim_build_dir):
    broken = "module broken(input clk, input rst); assign nowhere = ; endmodule\n"
    with pytest.raises(CocotbTestFailure, match="failed to build broken"):
        run_cocotb(
            broken,
            toplevel="broken",
            test_module=BENCH,
            simulator=simulator,
            build_dir=sim_build_dir,
        )


def test_case_build_dirs_are_distinct_and_safe():
    first = case_build_dir("tests/test_x.py::test_y[icarus-4]", "icarus")
    second = case_build_dir("tests/test_x.py::test_y[icarus-8]", "icarus")
    assert first != second
    assert first.parent.parent == BUILD_ROOT and first.name == "icarus"
    assert not set("[]/:") & set(first.parent.name)


def test_case_build_dir_rejects_unknown_simulator():
    with pytest.raises(
        ValueError, match="simulator must be one of 'icarus', 'verilator', not 'vcs'"
    ):
        case_build_dir("x", "vcs")


def test_write_verilog_keeps_unchanged_file(tmp_path):
    path = tmp_path / "dut.v"
    write_verilog(StreamAddConstant(), toplevel="dut", path=path)
    first_mtime = path.stat().st_mtime_ns
    write_verilog(StreamAddConstant(), toplevel="dut", path=path)
    assert path.stat().st_mtime_ns == first_mtime
    assert "module dut(" in path.read_text()
