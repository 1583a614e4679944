"""The AXI4-Lite register map of :class:`neurohw.hw.axi_system.AxiSystem`, in pure Python: the
one description that the hardware (:class:`neurohw.hw.axi_system.AxiLiteRegisters`), the C
header (:func:`c_header`, ``neurohw_regs.h``), the documentation table (:func:`markdown_table`,
``docs/integration.md``) and the Python host class (:class:`neurohw.host.axi.AxiChip`) are all
made from.

The map is the same for every chip: per-core values are read through ``CORE_SELECT``, and what a
chip lacks (the command path without the debug port, the activity counters) reads 0 and is said
so by ``CONFIG``. Registers are 32 bits wide at word-aligned offsets; only whole-word accesses
(``WSTRB = 0xF``) are accepted.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Access",
    "Field",
    "Register",
    "REGISTERS",
    "REGISTER_MAP_VERSION",
    "AXI_MAGIC",
    "register",
    "c_header",
    "markdown_table",
]

#: Bumped whenever a register moves or changes meaning.
REGISTER_MAP_VERSION = 1
#: ``ID`` reads this: ``"NHXA"`` in ASCII, most significant byte first.
AXI_MAGIC = 0x4E485841


class Access(enum.Enum):
    RO = "RO"  #: read only; a write is refused (SLVERR)
    RW = "RW"  #: read and write
    WO = "WO"  #: write only (a command); reads 0


@dataclass(frozen=True)
class Field:
    """Bits ``[offset + width - 1 : offset]`` of a register."""

    name: str
    offset: int
    width: int
    doc: str

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.offset


@dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: Access
    doc: str
    #: The value after reset; ``None``: a constant of the chip (``INPUTS``, ``CONFIG``, ...).
    reset: int | None = 0
    fields: tuple = ()


def _flags(*names_docs):
    return tuple(Field(name, bit, 1, doc) for bit, (name, doc) in enumerate(names_docs))


REGISTERS = (
    Register("ID", 0x00, Access.RO, 'Magic number ``0x4E485841`` ("NHXA").', AXI_MAGIC),
    Register("VERSION", 0x04, Access.RO, "Version of this register map.", REGISTER_MAP_VERSION),
    Register(
        "INPUTS", 0x08, Access.RO, "Input lines (valid input addresses are below this).", None
    ),
    Register("OUTPUTS", 0x0C, Access.RO, "Output lines (output indices are below this).", None),
    Register(
        "CONFIG",
        0x10,
        Access.RO,
        "What this chip was built with.",
        None,
        fields=(
            Field("CORES", 0, 16, "Neuron cores."),
            Field("DEBUG", 16, 1, "The command path (``CMD_*``) is present."),
            Field("ACTIVITY", 17, 1, "The activity counters are present (else they read 0)."),
            Field("PAYLOAD_BITS", 24, 8, "Bits of an event's count/value on the chip."),
        ),
    ),
    Register(
        "CONTROL",
        0x20,
        Access.RW,
        "Run control.",
        reset=0b10,
        fields=(
            Field(
                "SOFT_RESET",
                0,
                1,
                "Write 1: reset the chip, both stream framers and the counters (one cycle; "
                "reads 0). The register bank keeps its values.",
            ),
            Field(
                "STEP_ENABLE",
                1,
                1,
                "1 (reset): the input stream is taken. 0: ``s_axis_tready`` stays low before "
                "the next beat (a beat already started is finished).",
            ),
        ),
    ),
    Register(
        "STATUS",
        0x24,
        Access.RO,
        "Error flags (sticky until reset) and the command path's state.",
        fields=_flags(
            ("OVERFLOW", "Some core dropped events over its per-step limit."),
            ("TAG_ERROR", "A barrier reached some core with an unexpected tag."),
            ("CMD_ERROR", "Some core refused a clearing write."),
            ("ROUTER_DROP", "A router dropped an event (``ROUTER_DROPS`` != 0)."),
            ("INVALID", "Some core's ingress dropped a meaningless event."),
            ("INPUT_DROP", "An input beat was dropped (``DROPPED_ADDRESS``/``VALUE`` != 0)."),
            ("CMD_BUSY", "A command is in flight."),
        ),
    ),
    Register(
        "DROPPED_ADDRESS",
        0x30,
        Access.RO,
        "Input beats dropped: address not below ``INPUTS`` (saturating).",
    ),
    Register(
        "DROPPED_VALUE",
        0x34,
        Access.RO,
        "Input beats dropped: a value the line's group cannot carry (saturating).",
    ),
    Register("ROUTER_DROPS", 0x38, Access.RO, "Events the routers dropped (16-bit, saturating)."),
    Register("STEPS_OUT", 0x3C, Access.RO, "End-of-step words sent on ``m_axis`` since reset."),
    Register("CORE_SELECT", 0x40, Access.RW, "Core whose values ``CORE_*`` read."),
    Register(
        "CORE_INVALID",
        0x44,
        Access.RO,
        "Selected core: meaningless events its ingress dropped (16-bit, saturating).",
    ),
    Register(
        "CORE_EOS_DROPPED",
        0x48,
        Access.RO,
        "Selected core: core-to-core spikes dropped at sample ends (16-bit, saturating).",
    ),
    Register(
        "CORE_FLAGS",
        0x4C,
        Access.RO,
        "Selected core's sticky flags (all 0 for a core index out of range).",
        fields=_flags(
            ("OVERFLOW", "Events dropped over the per-step limit."),
            ("TAG_ERROR", "A barrier with an unexpected tag."),
            ("CMD_ERROR", "A refused clearing write."),
        ),
    ),
    Register("HOST_WORDS_IN", 0x50, Access.RO, "Activity: event words into the chip."),
    Register("HOST_WORDS_OUT", 0x54, Access.RO, "Activity: event words out of the chip."),
    Register("ROUTER_HOPS", 0x58, Access.RO, "Activity: events that left a router output."),
    Register("CYCLES", 0x5C, Access.RO, "Activity: clock cycles since reset."),
    Register("CMD_CORE", 0x60, Access.RW, "Command: the core."),
    Register("CMD_TARGET", 0x64, Access.RW, "Command: the target (``docs/core.md``)."),
    Register("CMD_NEURON", 0x68, Access.RW, "Command: the neuron."),
    Register("CMD_AXON", 0x6C, Access.RW, "Command: the axon (weights)."),
    Register("CMD_DATA", 0x70, Access.RW, "Command: the value a write writes (two's complement)."),
    Register(
        "CMD_ISSUE",
        0x74,
        Access.WO,
        "Start the command in ``CMD_*`` (refused with SLVERR while ``CMD_BUSY`` or without the "
        "command path; a value wider than the chip's field sets ``CMD_STATUS.ERROR`` and sends "
        "nothing).",
        fields=(Field("WRITE", 0, 1, "1: write ``CMD_DATA``; 0: read into ``CMD_RESULT``."),),
    ),
    Register(
        "CMD_STATUS",
        0x78,
        Access.RO,
        "The command path.",
        fields=_flags(
            ("BUSY", "A command is in flight."),
            ("ERROR", "The last command was refused (bad core, target or address)."),
        ),
    ),
    Register(
        "CMD_RESULT",
        0x7C,
        Access.RO,
        "What the last command read (sign-extended to 32 bits).",
    ),
)

_BY_NAME = {r.name: r for r in REGISTERS}


def register(name: str) -> Register:
    """The register called ``name``."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no register {name!r}; the registers are {', '.join(_BY_NAME)}") from None


def c_header() -> str:
    """``neurohw_regs.h``: an offset per register, a mask and shift per field, the magic, the
    command targets."""
    from ..hw.core_config import Status, Target

    lines = [
        "/* neurohw_regs.h: AXI4-Lite register map of a neurohw AxiSystem.",
        " * Generated by neurohw.host.axi_registers; do not edit. */",
        "#ifndef NEUROHW_REGS_H",
        "#define NEUROHW_REGS_H",
        "",
        f"#define NEUROHW_MAGIC 0x{AXI_MAGIC:08X}u",
        f"#define NEUROHW_REGMAP_VERSION {REGISTER_MAP_VERSION}u",
        "",
        "/* Command targets (docs/core.md) and the status word that switches learning. */",
        *(f"#define NEUROHW_TARGET_{t.name} {int(t)}u" for t in Target),
        f"#define NEUROHW_STATUS_LEARNING {int(Status.LEARNING)}u",
        "",
    ]
    for reg in REGISTERS:
        lines.append(f"/* {reg.name} ({reg.access.value}): {_plain(reg.doc)} */")
        lines.append(f"#define NEUROHW_{reg.name} 0x{reg.offset:02X}u")
        for f in reg.fields:
            prefix = f"NEUROHW_{reg.name}_{f.name}"
            lines.append(f"#define {prefix}_SHIFT {f.offset}u")
            lines.append(f"#define {prefix}_MASK 0x{f.mask:08X}u")
        lines.append("")
    lines.append("#endif /* NEUROHW_REGS_H */")
    return "\n".join(lines) + "\n"


def markdown_table() -> str:
    """The register table of ``docs/integration.md`` (checked there by a test)."""
    rows = ["| offset | name | access | reset | meaning and fields |", "|---|---|---|---|---|"]
    for reg in REGISTERS:
        parts = [reg.doc.replace("``", "`")]
        for f in reg.fields:
            bits = f"[{f.offset + f.width - 1}:{f.offset}]" if f.width > 1 else f"[{f.offset}]"
            parts.append(f"`{bits}` `{f.name}`: {f.doc.replace('``', '`')}")
        reset = "chip" if reg.reset is None else f"`0x{reg.reset:X}`"
        rows.append(
            f"| `0x{reg.offset:02X}` | `{reg.name}` | {reg.access.value} | {reset} "
            f"| {'<br>'.join(parts)} |"
        )
    return "\n".join(rows) + "\n"


def _plain(text: str) -> str:
    return text.replace("``", "").replace("*/", "* /")
