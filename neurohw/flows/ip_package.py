"""An IP package of a generated design, for other people's flows (``docs/integration.md``).

::

    chip = Chip(plan, debug=False)
    chip.package("ip")            # or: neurohw compile ... (writes OUTDIR/ip)

writes, beside the Verilog (``neurohw_system.v``, named after its module):

- ``neurohw_system.vlt``: the Verilator configuration that waives the warnings Amaranth's
  Verilog raises under ``-Wall`` (:data:`neurohw.hw.lint.LINT_WAIVERS`, each with its reason);
  ``verilator --lint-only -Wall neurohw_system.vlt neurohw_system.v`` reports nothing else;
- ``neurohw_system.core``: a FuseSoC (CAPI2) core with the RTL, the waivers and a ``lint``
  target (Verilator ``--lint-only -Wall``);
- ``component.xml``: an IP-XACT (IEEE 1685-2014) component: the ports, an AXI4-Stream bus
  interface for every valid/ready/payload stream whose payload is whole bytes, the file set;
- ``mem/``: one ``$readmemh`` file per memory of the design with its initial contents
  (weights, routing tables, per-neuron parameters and the zeroed state), and ``mem/memories.json``
  naming each file's module, memory, width, depth and instances.

Everything is read off the Verilog text that is shipped, so the package describes that file
and nothing else. The writer refuses a design it cannot describe (no module of that name) before
writing anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from ..hw.lint import verilator_waiver_config

__all__ = [
    "IPXACT_NAMESPACE",
    "MemoryImage",
    "PACKAGE_FILES",
    "Port",
    "BusInterface",
    "bus_interfaces",
    "fusesoc_core",
    "ipxact_component",
    "memory_images",
    "stream_interfaces",
    "verilog_ports",
    "write_ip_package",
]

IPXACT_NAMESPACE = "http://www.accellera.org/XMLSchema/IPXACT/1685-2014"
#: AMBA's own VLNVs of the AXI4-Stream bus and its RTL abstraction (IP-XACT bus definitions
#: published by Arm), which IP integrators (Vivado, Kactus2) recognize.
AXI4_STREAM_BUS = ("amba.com", "AMBA4", "AXI4Stream", "r0p0_1")
AXI4_STREAM_RTL = ("amba.com", "AMBA4", "AXI4Stream_rtl", "r0p0_1")
AXI4_LITE_BUS = ("amba.com", "AMBA4", "AXI4-Lite", "r0p0_0")
AXI4_LITE_RTL = ("amba.com", "AMBA4", "AXI4-Lite_rtl", "r0p0_0")
#: AXI4-Lite's signals (the logical names are these, upper case) after the interface's prefix.
AXI4_LITE_SIGNALS = (
    "awaddr", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready", "bresp", "bvalid",
    "bready", "araddr", "arvalid", "arready", "rdata", "rresp", "rvalid", "rready",
)  # fmt: skip

#: What :func:`write_ip_package` writes into its folder (``{top}`` is the module name).
PACKAGE_FILES = ("{top}.v", "{top}.vlt", "{top}.core", "component.xml", "mem")

_IDENT = r"(?:\\\S+|[A-Za-z_][\w$]*)"
_MODULE = re.compile(rf"^module ({_IDENT})\s*\(")
_PORT = re.compile(
    rf"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):(\d+)\]\s+)?({_IDENT})\s*;"
)
_MEMORY = re.compile(rf"^\s*reg\s+(?:signed\s+)?\[(\d+):0\]\s+({_IDENT})\s*\[(\d+):0\]\s*;")
_INIT = re.compile(rf"^\s*({_IDENT})\[(\d+)\]\s*=\s*(\d+)'h([0-9a-fA-F]+)\s*;")
_INSTANCE = re.compile(rf"^\s*({_IDENT})\s+({_IDENT})\s*\($")


def _plain(identifier: str) -> str:
    """A Verilog identifier without its escape (``\\a.b`` -> ``a.b``)."""
    return identifier[1:] if identifier.startswith("\\") else identifier


@dataclass(frozen=True)
class Port:
    """A port of the top module: ``direction`` ``'in'``/``'out'``/``'inout'``, ``width`` bits."""

    name: str
    direction: str
    width: int


@dataclass(frozen=True)
class BusInterface:
    """A group of the top module's ports that is one AMBA interface: ``mode`` ``'slave'``
    (the design responds or receives) or ``'master'``; ``bus`` and ``abstraction`` the
    interface's IP-XACT VLNVs; ``ports`` maps its logical port names (``TVALID``, ``AWADDR``,
    ...) to the module's ports."""

    name: str
    mode: str
    ports: dict
    bus: tuple = AXI4_STREAM_BUS
    abstraction: tuple = AXI4_STREAM_RTL


@dataclass(frozen=True)
class MemoryImage:
    """The initial contents of one memory (``reg [width-1:0] name [depth-1:0]``) of ``module``."""

    module: str
    memory: str
    width: int
    depth: int
    values: tuple

    @property
    def file_name(self) -> str:
        return re.sub(r"[^\w.-]", "_", f"{self.module}.{self.memory}") + ".hex"

    def hex_text(self) -> str:
        digits = max(1, (self.width + 3) // 4)
        return "".join(f"{value:0{digits}x}\n" for value in self.values)


def _modules(text: str) -> dict:
    """``{module name: [lines]}`` of a Verilog text written by Yosys."""
    modules, current = {}, None
    for line in text.splitlines():
        if current is None:
            found = _MODULE.match(line)
            if found:
                current = _plain(found[1])
                modules[current] = []
        elif line.startswith("endmodule"):
            current = None
        else:
            modules[current].append(line)
    return modules


def _module_lines(text: str, top: str) -> list:
    modules = _modules(text)
    if top not in modules:
        raise ValueError(
            f"top must name a module of the Verilog, not {top!r} (modules: "
            f"{', '.join(sorted(modules)[:5]) or 'none'})"
        )
    return modules[top]


def verilog_ports(text: str, top: str) -> list:
    """The :class:`Port` s of module ``top``, in declaration order."""
    ports = []
    for line in _module_lines(text, top):
        found = _PORT.match(line)
        if found:
            direction = {"input": "in", "output": "out", "inout": "inout"}[found[1]]
            width = abs(int(found[2]) - int(found[3])) + 1 if found[2] is not None else 1
            ports.append(Port(_plain(found[4]), direction, width))
    return ports


def stream_interfaces(ports) -> list:
    """The AXI4-Stream view of every ``X__valid``/``X__ready``/``X__payload`` group (Amaranth's
    flattened ``stream.Signature``) and every ``X_tvalid``/``X_tready``/``X_tdata`` group whose
    data is whole bytes, as AXI4-Stream's TDATA must be; other groups stay plain ports."""
    by_name = {port.name: port for port in ports}
    found = []
    for port in ports:
        for valid, ready, data, last, user in (
            ("__valid", "__ready", "__payload", None, None),
            ("_tvalid", "_tready", "_tdata", "_tlast", "_tuser"),
        ):
            if not port.name.endswith(valid):
                continue
            stem = port.name[: -len(valid)]
            names = {"TVALID": stem + valid, "TREADY": stem + ready, "TDATA": stem + data}
            if last:
                names |= {"TLAST": stem + last, "TUSER": stem + user}
            names = {logical: name for logical, name in names.items() if name in by_name}
            if {"TVALID", "TREADY", "TDATA"} - set(names) or by_name[names["TDATA"]].width % 8:
                continue
            mode = "slave" if port.direction == "in" else "master"
            found.append(BusInterface(stem, mode, names))
    return found


def lite_interfaces(ports) -> list:
    """The AXI4-Lite view of every ``X_awaddr`` ... ``X_rready`` group that has all 17 signals
    (a slave when its ``awaddr`` is an input)."""
    by_name = {port.name: port for port in ports}
    found = []
    for port in ports:
        if not port.name.endswith("_awaddr"):
            continue
        stem = port.name[: -len("awaddr")]
        names = {signal.upper(): stem + signal for signal in AXI4_LITE_SIGNALS}
        if all(name in by_name for name in names.values()):
            mode = "slave" if port.direction == "in" else "master"
            found.append(BusInterface(stem[:-1], mode, names, AXI4_LITE_BUS, AXI4_LITE_RTL))
    return found


def bus_interfaces(ports) -> list:
    """Every AMBA interface among ``ports``: :func:`stream_interfaces` and
    :func:`lite_interfaces`."""
    return stream_interfaces(ports) + lite_interfaces(ports)


def memory_images(text: str) -> list:
    """The :class:`MemoryImage` of every memory with an ``initial`` block, module by module.
    Entries the block leaves out are 0 (Verilog would leave them undefined; Yosys writes every
    entry of an initialized memory)."""
    images = []
    for module, lines in _modules(text).items():
        shapes, values = {}, {}
        for line in lines:
            if found := _MEMORY.match(line):
                shapes[_plain(found[2])] = (int(found[1]) + 1, int(found[3]) + 1)
            elif (found := _INIT.match(line)) and _plain(found[1]) in shapes:
                values.setdefault(_plain(found[1]), {})[int(found[2])] = int(found[4], 16)
        for memory, (width, depth) in shapes.items():
            if memory in values:
                contents = values[memory]
                images.append(
                    MemoryImage(
                        module,
                        memory,
                        width,
                        depth,
                        tuple(contents.get(i, 0) for i in range(depth)),
                    )
                )
    return images


def _instances(text: str, top: str) -> dict:
    """``{module: [instance paths from top]}`` of every module instantiated under ``top``."""
    children = {
        module: [
            (_plain(found[1]), _plain(found[2]))
            for line in lines
            if (found := _INSTANCE.match(line)) and not found[1].startswith("$")
        ]
        for module, lines in _modules(text).items()
    }
    paths: dict = {}

    def walk(module, path):
        for child, instance in children.get(module, ()):
            if child in children:
                paths.setdefault(child, []).append(f"{path}.{instance}")
                walk(child, f"{path}.{instance}")

    walk(top, top)
    return paths


def fusesoc_core(top: str, *, vendor: str, library: str, version: str, description: str) -> str:
    """A FuseSoC CAPI2 core file for ``{top}.v`` with its Verilator waivers: targets ``default``
    (the RTL) and ``lint`` (Verilator ``--lint-only -Wall``)."""
    return f"""CAPI=2:
# Generated by neurohw. Check it: fusesoc --cores-root . run --target lint {vendor}:{library}:{top}
name: {vendor}:{library}:{top}:{version}
description: {json.dumps(description)}

filesets:
  rtl:
    files:
      - {top}.v
    file_type: verilogSource
  verilator_waivers:
    files:
      - {top}.vlt
    file_type: vlt

targets:
  default:
    filesets: [rtl]
    toplevel: {top}
  lint:
    default_tool: verilator
    filesets: [rtl, verilator_waivers]
    toplevel: {top}
    tools:
      verilator:
        mode: lint-only
        verilator_options: [-Wall]
"""


def ipxact_component(
    top: str, ports, *, vendor: str, library: str, version: str, description: str, files=()
) -> str:
    """An IP-XACT 1685-2014 ``component`` of module ``top`` with ``ports`` (:class:`Port`),
    a bus interface per :func:`bus_interfaces` group (AXI4-Stream, AXI4-Lite) and a file set
    of ``files`` (Verilog first)."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<ipxact:component xmlns:ipxact="{IPXACT_NAMESPACE}">',
        f"  <ipxact:vendor>{escape(vendor)}</ipxact:vendor>",
        f"  <ipxact:library>{escape(library)}</ipxact:library>",
        f"  <ipxact:name>{escape(top)}</ipxact:name>",
        f"  <ipxact:version>{escape(version)}</ipxact:version>",
    ]
    interfaces = bus_interfaces(ports)
    if interfaces:
        lines.append("  <ipxact:busInterfaces>")
        for interface in interfaces:
            bus, rtl = interface.bus, interface.abstraction
            lines += [
                "    <ipxact:busInterface>",
                f"      <ipxact:name>{escape(interface.name)}</ipxact:name>",
                f'      <ipxact:busType vendor="{bus[0]}" library="{bus[1]}" name="{bus[2]}" '
                f'version="{bus[3]}"/>',
                "      <ipxact:abstractionTypes>",
                "        <ipxact:abstractionType>",
                f'          <ipxact:abstractionRef vendor="{rtl[0]}" library="{rtl[1]}" '
                f'name="{rtl[2]}" version="{rtl[3]}"/>',
                "          <ipxact:portMaps>",
            ]
            for logical, physical in interface.ports.items():
                lines += [
                    "            <ipxact:portMap>",
                    f"              <ipxact:logicalPort><ipxact:name>{logical}</ipxact:name>"
                    "</ipxact:logicalPort>",
                    f"              <ipxact:physicalPort><ipxact:name>{escape(physical)}"
                    "</ipxact:name></ipxact:physicalPort>",
                    "            </ipxact:portMap>",
                ]
            lines += [
                "          </ipxact:portMaps>",
                "        </ipxact:abstractionType>",
                "      </ipxact:abstractionTypes>",
                f"      <ipxact:{interface.mode}/>",
                "    </ipxact:busInterface>",
            ]
        lines.append("  </ipxact:busInterfaces>")
    lines += [
        "  <ipxact:model>",
        "    <ipxact:views>",
        "      <ipxact:view>",
        "        <ipxact:name>rtl</ipxact:name>",
        "        <ipxact:componentInstantiationRef>verilog_rtl</ipxact:componentInstantiationRef>",
        "      </ipxact:view>",
        "    </ipxact:views>",
        "    <ipxact:instantiations>",
        "      <ipxact:componentInstantiation>",
        "        <ipxact:name>verilog_rtl</ipxact:name>",
        "        <ipxact:language>verilog</ipxact:language>",
        f"        <ipxact:moduleName>{escape(top)}</ipxact:moduleName>",
        "        <ipxact:fileSetRef><ipxact:localName>rtl</ipxact:localName></ipxact:fileSetRef>",
        "      </ipxact:componentInstantiation>",
        "    </ipxact:instantiations>",
        "    <ipxact:ports>",
    ]
    for port in ports:
        vector = (
            "          <ipxact:vectors><ipxact:vector>"
            f"<ipxact:left>{port.width - 1}</ipxact:left><ipxact:right>0</ipxact:right>"
            "</ipxact:vector></ipxact:vectors>"
            if port.width > 1
            else None
        )
        lines += [
            "      <ipxact:port>",
            f"        <ipxact:name>{escape(port.name)}</ipxact:name>",
            "        <ipxact:wire>",
            f"          <ipxact:direction>{port.direction}</ipxact:direction>",
            *([vector] if vector else []),
            "        </ipxact:wire>",
            "      </ipxact:port>",
        ]
    lines += ["    </ipxact:ports>", "  </ipxact:model>", "  <ipxact:fileSets>"]
    lines += [
        "    <ipxact:fileSet>",
        "      <ipxact:name>rtl</ipxact:name>",
    ]
    for name, file_type in files:
        lines += [
            "      <ipxact:file>",
            f"        <ipxact:name>{escape(name)}</ipxact:name>",
            f"        <ipxact:fileType>{file_type}</ipxact:fileType>",
            "      </ipxact:file>",
        ]
    lines += [
        "    </ipxact:fileSet>",
        "  </ipxact:fileSets>",
        f"  <ipxact:description>{escape(description)}</ipxact:description>",
        "</ipxact:component>",
    ]
    return "\n".join(lines) + "\n"


def write_ip_package(
    text: str,
    top: str,
    directory,
    *,
    vendor: str = "neurohw",
    library: str = "neurohw",
    version: str = "0.1.0",
    description: str = "",
) -> Path:
    """Write the IP package of the Verilog ``text`` (top module ``top``) into ``directory``
    (created; files of the same names are replaced). Returns the folder."""
    ports = verilog_ports(text, top)  # refuses an unknown top before anything is written
    for name, value in (("vendor", vendor), ("library", library), ("version", version)):
        if not isinstance(value, str) or not re.fullmatch(r"[\w.-]+", value):
            raise ValueError(
                f"{name} must be a non-empty name of letters, digits, '_', '.' or '-', not "
                f"{value!r}"
            )
    directory = Path(directory)
    images = memory_images(text)
    instances = _instances(text, top)
    (directory / "mem").mkdir(parents=True, exist_ok=True)
    (directory / f"{top}.v").write_text(text)
    (directory / f"{top}.vlt").write_text(verilator_waiver_config(f"{top}.v"))
    (directory / f"{top}.core").write_text(
        fusesoc_core(top, vendor=vendor, library=library, version=version, description=description)
    )
    files = [(f"{top}.v", "verilogSource")]
    (directory / "component.xml").write_text(
        ipxact_component(
            top,
            ports,
            vendor=vendor,
            library=library,
            version=version,
            description=description,
            files=files,
        )
    )
    index = []
    for image in images:
        (directory / "mem" / image.file_name).write_text(image.hex_text())
        index.append(
            {
                "file": image.file_name,
                "module": image.module,
                "memory": image.memory,
                "width": image.width,
                "depth": image.depth,
                "instances": instances.get(image.module, [top] if image.module == top else []),
            }
        )
    (directory / "mem" / "memories.json").write_text(json.dumps(index, indent=1) + "\n")
    return directory
