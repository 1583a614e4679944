"""The IP package (:mod:`neurohw.flows.ip_package`): each file checked by the tool that reads it.

- ``neurohw_system.vlt`` + ``neurohw_system.v``: ``verilator --lint-only -Wall`` prints nothing;
  a planted truncating assignment is still reported (the waivers are not a blanket);
- ``neurohw_system.core``: FuseSoC runs its ``lint`` target (Verilator ``-Wall``) and fails on
  the planted truncation;
- ``component.xml``: ipyxact's IEEE 1685-2014 bindings read it, keep every element it has
  (a misspelled element is caught), and its ports are the Verilog module's;
- ``mem/``: the weights in the hex files are the plan's weights.
"""

from __future__ import annotations

import collections
import io
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from neurohw import Chip
from neurohw.flows.ip_package import (
    IPXACT_NAMESPACE,
    MemoryImage,
    Port,
    memory_images,
    stream_interfaces,
    verilog_ports,
    write_ip_package,
)
from neurohw.network.mapping import map_network
from neurohw.sim.system_case import random_network
from neurohw.toolchain import verilator_environment

TOP = "neurohw_system"

SNIPPET = """\
module \\top.child (clk, data);
  input clk;
  output [3:0] data;
  reg [3:0] table_ [2:0];
  initial begin
    table_[0] = 4'h1;
    table_[1] = 4'hf;
    table_[2] = 4'h0;
  end
endmodule
module top(clk, i__valid, i__ready, i__payload, o__valid, o__ready, o__payload, odd__valid,
    odd__ready, odd__payload);
  input clk;
  input i__valid;
  output i__ready;
  input [15:0] i__payload;
  output o__valid;
  input o__ready;
  output [7:0] o__payload;
  output odd__valid;
  input odd__ready;
  output [4:0] odd__payload;
  \\top.child  child (
    .clk(clk)
  );
endmodule
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    chip = Chip(map_network(random_network(0)), debug=False)
    return chip, chip.package(tmp_path_factory.mktemp("ip") / "ip")


def _run(args, cwd, timeout=300):
    env = {**os.environ, **verilator_environment()}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _plant_truncation(path):
    """A 4-bit value assigned to a 2-bit wire in the top module: a real WIDTHTRUNC."""
    text = path.read_text()
    head = text.index(f"module {TOP}(")
    body = text.index(";\n", head) + 2
    path.write_text(
        text[:body] + "  wire [3:0] planted_wide = 4'h5;\n  wire [1:0] planted_narrow;\n"
        "  assign planted_narrow = planted_wide;\n" + text[body:]
    )


def test_parsers_on_a_snippet():
    assert verilog_ports(SNIPPET, "top") == [
        Port("clk", "in", 1),
        Port("i__valid", "in", 1),
        Port("i__ready", "out", 1),
        Port("i__payload", "in", 16),
        Port("o__valid", "out", 1),
        Port("o__ready", "in", 1),
        Port("o__payload", "out", 8),
        Port("odd__valid", "out", 1),
        Port("odd__ready", "in", 1),
        Port("odd__payload", "out", 5),
    ]
    streams = stream_interfaces(verilog_ports(SNIPPET, "top"))
    # The 5-bit stream is no AXI4-Stream (TDATA is whole bytes): it stays plain ports.
    assert [(s.name, s.mode) for s in streams] == [("i", "slave"), ("o", "master")]
    assert streams[0].ports == {"TVALID": "i__valid", "TREADY": "i__ready", "TDATA": "i__payload"}
    (image,) = memory_images(SNIPPET)
    assert image == MemoryImage("top.child", "table_", 4, 3, (1, 15, 0))
    assert image.hex_text() == "1\nf\n0\n" and image.file_name == "top.child.table_.hex"


def test_write_ip_package_wrong_top(tmp_path):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "top must name a module of the Verilog, not 'nope' (modules: top, top.child)"
        ),
    ):
        write_ip_package(SNIPPET, "nope", tmp_path / "ip")
    assert not (tmp_path / "ip").exists()


@pytest.mark.parametrize("name", ["vendor", "library", "version"])
def test_write_ip_package_wrong_names(tmp_path, name):
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{name} must be a non-empty name of letters, digits, '_', '.' or '-', not 'a b'"
        ),
    ):
        write_ip_package(SNIPPET, "top", tmp_path / "ip", **{name: "a b"})
    assert not (tmp_path / "ip").exists()


def test_files(package):
    chip, folder = package
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["component.xml", "mem", f"{TOP}.core", f"{TOP}.v", f"{TOP}.vlt"]
    )
    assert (folder / f"{TOP}.v").read_text() == chip.verilog()


def test_memory_files_hold_the_plans_weights(package):
    chip, folder = package
    index = {
        (m["module"], m["memory"]): m
        for m in json.loads((folder / "mem/memories.json").read_text())
    }
    for core in chip.plan.cores:
        entry = index[(f"{TOP}.core{core.index}", "weight0")]
        assert entry["instances"] == [f"{TOP}.core{core.index}"]
        words = [int(line, 16) for line in (folder / "mem" / entry["file"]).read_text().split()]
        assert len(words) == entry["depth"] == core.n_synapses
        width = entry["width"]
        stored = [w - (1 << width) if w >> (width - 1) else w for w in words]
        expected = core.weights[core.weights != 0].tolist()
        assert min(expected) < 0 < max(expected)  # both signs: two's complement is exercised
        assert collections.Counter(w for w in stored if w) == collections.Counter(expected)


def test_verilator_lint_with_the_waivers(package, tmp_path):
    _, folder = package
    for name in (f"{TOP}.v", f"{TOP}.vlt"):
        shutil.copy(folder / name, tmp_path / name)
    args = ["verilator", "--lint-only", "-Wall", f"{TOP}.vlt", f"{TOP}.v"]
    clean = _run(args, tmp_path)
    assert clean.returncode == 0 and clean.stderr == "", clean.stderr[-2000:]
    # Without the waivers Verilator has plenty to say: the configuration file is what silences it.
    assert "%Warning-PROCASSINIT" in _run(args[:3] + [f"{TOP}.v", "-Wno-fatal"], tmp_path).stderr
    _plant_truncation(tmp_path / f"{TOP}.v")
    planted = _run(args, tmp_path)
    assert planted.returncode != 0 and "%Warning-WIDTHTRUNC" in planted.stderr
    assert "planted_narrow" in planted.stderr


def test_fusesoc_lint_target(package, tmp_path):
    _, folder = package
    shutil.copytree(folder, tmp_path / "ip")
    fusesoc = shutil.which("fusesoc", path=os.path.dirname(os.sys.executable)) or "fusesoc"
    args = [fusesoc, "--cores-root", "ip", "run", "--build-root", "build", "--target", "lint"]
    args.append(f"neurohw:neurohw:{TOP}")
    clean = _run(args, tmp_path)
    assert clean.returncode == 0, (clean.stdout + clean.stderr)[-3000:]
    _plant_truncation(tmp_path / "ip" / f"{TOP}.v")
    shutil.rmtree(tmp_path / "build")
    planted = _run(args, tmp_path)
    assert planted.returncode != 0 and "WIDTHTRUNC" in planted.stdout + planted.stderr


def _tags(element):
    return collections.Counter(node.tag for node in element.iter())


def _get(node, *names):
    """Follow IP-XACT element names through ipyxact's generated classes, which spell some
    members with a capital (``BusInterfaces``, ``Vectors``)."""
    for name in names:
        node = getattr(node, name, None) or getattr(node, name[0].upper() + name[1:])
    return node


def _read_ipxact(path):
    """ipyxact's 1685-2014 bindings (generated from the schema) read the file; returns the
    component and the elements the reader dropped (tags it does not know at their place)."""
    from ipyxact import ipxact2014

    component = ipxact2014.parse(str(path), silence=True, print_warnings=False)
    out = io.StringIO()
    component.export(out, 0, name_="component", namespacedef_=f'xmlns:ipxact="{IPXACT_NAMESPACE}"')
    dropped = _tags(ET.parse(path).getroot()) - _tags(ET.fromstring(out.getvalue()))
    return component, dropped


def test_ipxact_component_read_back(package, tmp_path):
    chip, folder = package
    component, dropped = _read_ipxact(folder / "component.xml")
    assert not dropped
    assert (component.vendor, component.library, component.name, component.version) == (
        "neurohw",
        "neurohw",
        TOP,
        "0.1.0",
    )
    ports = []
    for port in _get(component, "model", "ports", "port"):
        vectors = _get(port, "wire", "vectors")
        width = int(_get(vectors, "vector")[0].left.valueOf_) + 1 if vectors else 1
        ports.append(Port(port.name, _get(port, "wire", "direction"), width))
    assert ports == verilog_ports(chip.verilog(), TOP)
    interfaces = {}
    for bus in _get(component, "busInterfaces", "busInterface"):
        (abstraction,) = _get(bus, "abstractionTypes", "abstractionType")
        maps = _get(abstraction, "portMaps", "portMap")
        interfaces[bus.name] = {m.logicalPort.name: m.physicalPort.name for m in maps}
        assert _get(bus, "busType").name == "AXI4Stream"
    assert interfaces == {
        "host_in": {
            "TVALID": "host_in__valid",
            "TREADY": "host_in__ready",
            "TDATA": "host_in__payload",
        },
        "host_out": {
            "TVALID": "host_out__valid",
            "TREADY": "host_out__ready",
            "TDATA": "host_out__payload",
        },
    }
    (file_set,) = _get(component, "fileSets", "fileSet")
    files = [(f.name.valueOf_, f.fileType[0].valueOf_) for f in _get(file_set, "file")]
    assert files == [(f"{TOP}.v", "verilogSource")]
    # The check is not vacuous: an element the schema does not have is dropped, and seen.
    planted = tmp_path / "component.xml"
    planted.write_text(
        (folder / "component.xml").read_text().replace("ipxact:direction>", "ipxact:directon>")
    )
    _, dropped = _read_ipxact(planted)
    assert dropped == {f"{{{IPXACT_NAMESPACE}}}directon": len(ports)}


@pytest.mark.slow
def test_verilator_build_recipe(package, tmp_path):
    """docs/integration.md's build command, as written there, builds the packaged chip."""
    _, folder = package
    for name in (f"{TOP}.v", f"{TOP}.vlt"):
        shutil.copy(folder / name, tmp_path / name)
    args = ["verilator", "--cc", "--build", "-Wall", "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include"]
    args += [f"{TOP}.vlt", f"{TOP}.v", "--top-module", TOP]
    built = _run(args, tmp_path, timeout=900)
    assert built.returncode == 0, (built.stdout + built.stderr)[-3000:]
    assert (tmp_path / "obj_dir" / f"V{TOP}__ALL.a").is_file()


AXI_TOP = "neurohw_axi_system"


@pytest.fixture(scope="module")
def axi_package(tmp_path_factory):
    chip = Chip(map_network(random_network(0)), debug=False)
    return chip, chip.package(tmp_path_factory.mktemp("ip") / "ip", interface="axi")


def test_package_wrong_interface(tmp_path):
    chip = Chip(map_network(random_network(0)), debug=False)
    with pytest.raises(
        ValueError, match=re.escape("interface must be 'stream' or 'axi', not 'apb'")
    ):
        chip.package(tmp_path / "ip", interface="apb")
    assert not (tmp_path / "ip").exists()


def test_axi_package(axi_package, tmp_path):
    """The AXI wrapper's package: lint-clean under the same waivers, FuseSoC's lint target,
    the IP-XACT component with its AXI4-Stream and AXI4-Lite interfaces, and the C driver."""
    chip, folder = axi_package
    assert (folder / f"{AXI_TOP}.v").read_text() == chip.axi_verilog()
    assert sorted(p.name for p in (folder / "driver").iterdir()) == [
        "neurohw_driver.c",
        "neurohw_driver.h",
        "neurohw_regs.h",
    ]
    for name in (f"{AXI_TOP}.v", f"{AXI_TOP}.vlt"):
        shutil.copy(folder / name, tmp_path / name)
    lint = _run(["verilator", "--lint-only", "-Wall", f"{AXI_TOP}.vlt", f"{AXI_TOP}.v"], tmp_path)
    assert lint.returncode == 0 and lint.stderr == "", lint.stderr[-2000:]
    fusesoc = shutil.which("fusesoc", path=os.path.dirname(os.sys.executable)) or "fusesoc"
    args = [fusesoc, "--cores-root", str(folder), "run", "--build-root", "build"]
    run = _run([*args, "--target", "lint", f"neurohw:neurohw:{AXI_TOP}"], tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    component, dropped = _read_ipxact(folder / "component.xml")
    assert not dropped
    buses = {
        bus.name: (_get(bus, "busType").name, sorted(m.logicalPort.name for m in _maps(bus)))
        for bus in _get(component, "busInterfaces", "busInterface")
    }
    assert buses == {
        "m_axis": ("AXI4Stream", ["TDATA", "TLAST", "TREADY", "TVALID"]),
        "s_axis": ("AXI4Stream", ["TDATA", "TLAST", "TREADY", "TUSER", "TVALID"]),
        "s_axil": (
            "AXI4-Lite",
            sorted(
                "AWADDR AWVALID AWREADY WDATA WSTRB WVALID WREADY BRESP BVALID BREADY ARADDR "
                "ARVALID ARREADY RDATA RRESP RVALID RREADY".split()
            ),
        ),
    }


def _maps(bus):
    (abstraction,) = _get(bus, "abstractionTypes", "abstractionType")
    return _get(abstraction, "portMaps", "portMap")
