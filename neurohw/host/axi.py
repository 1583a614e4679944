"""The host's side of a chip's AXI wrapper (:class:`neurohw.hw.axi_system.AxiSystem`,
``docs/integration.md`` "The chip's AXI wrapper"): the one definition of the stream word layouts,
the beats a batch of samples becomes (:func:`input_beats`), the reading of the output stream
(:func:`decode_output_words`) and :class:`AxiChip`, the register bank seen from Python.

Input beat (``s_axis``, 32-bit TDATA): ``[15:0]`` input address (the line's index over the
network's input groups in order), ``[31:16]`` value (a count, or a graded value in two's
complement; 1 for a binary spike). TUSER bit 0 ``NO_EVENT``: the beat carries no event (an empty
step is one such beat with TLAST); bit 1 ``END_OF_SAMPLE``: on the TLAST beat, this step is the
last of its sample. TLAST: the beat is the last of its step.

Output word (``m_axis``, 32-bit TDATA): a spike is ``[15:0]`` output index (the neuron's index
over the output populations in order), ``[30:16]`` count, bit 31 = 0, TLAST = 0; the
end-of-step word is bit 31 = 1, ``[30:0]`` the step number since reset, TLAST = 1.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..routing import EventKind
from .axi_registers import AXI_MAGIC, REGISTERS, register

__all__ = [
    "WORD_BITS",
    "ADDRESS_BITS",
    "OUT_END_OF_STEP_BIT",
    "InFlag",
    "IN_FLAGS",
    "InputGroupLines",
    "InputLines",
    "input_lines",
    "output_bases",
    "input_beats",
    "decode_output_words",
    "AxiChipError",
    "AxiChip",
    "C_DRIVER_FILES",
    "write_c_driver",
]

#: The C driver's sources (``neurohw/host/c/``), written with the generated ``neurohw_regs.h``.
C_DRIVER_FILES = ("neurohw_driver.h", "neurohw_driver.c")


def write_c_driver(directory) -> list:
    """Write ``neurohw_regs.h`` (generated from the register table) and the driver's sources
    into ``directory``; returns their paths."""
    from importlib.resources import files
    from pathlib import Path

    from .axi_registers import c_header

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "neurohw_regs.h"]
    paths[0].write_text(c_header())
    for name in C_DRIVER_FILES:
        path = directory / name
        path.write_text(files(__package__).joinpath("c", name).read_text())
        paths.append(path)
    return paths


WORD_BITS = 32
#: Bits of the input address and of the output index (the low half of TDATA).
ADDRESS_BITS = 16
#: Bit 31 of an output word: the end-of-step word.
OUT_END_OF_STEP_BIT = 31
_VALUE_BITS = WORD_BITS - ADDRESS_BITS
_COUNT_BITS = OUT_END_OF_STEP_BIT - ADDRESS_BITS


class InFlag(enum.IntFlag):
    """TUSER bits of an input beat."""

    NO_EVENT = 1  #: the beat carries no event (an empty step: one such beat with TLAST)
    END_OF_SAMPLE = 2  #: with TLAST: the step is the last of its sample


#: Bit position of each TUSER flag.
IN_FLAGS = {flag: flag.bit_length() - 1 for flag in InFlag}


@dataclass(frozen=True)
class InputGroupLines:
    name: str
    offset: int
    size: int
    low: int
    high: int


@dataclass(frozen=True)
class InputLines:
    """The input address space: ``count`` lines, the groups in order, and which lines reach a
    core (bit ``a`` of ``routed_mask``)."""

    count: int
    groups: tuple
    routed_mask: int
    address_bits: int = ADDRESS_BITS


def input_lines(plan) -> InputLines:
    """The input addresses of ``plan``'s chip; refuses a chip the word layout cannot carry."""
    groups, offset, mask = [], 0, 0
    for name, group in plan.network.inputs.items():
        if plan.input_offsets[name] != offset:
            raise ValueError(
                f"input group {name!r} starts at host key offset {plan.input_offsets[name]}, "
                f"not {offset}: the AXI wrapper needs the groups' lines back to back"
            )
        low, high = group.value_range
        groups.append(InputGroupLines(name, offset, group.size, low, high))
        for line in range(group.size):
            if plan.connectivity.get(plan.input_key(name, line)):
                mask |= 1 << (offset + line)
        offset += group.size
    if offset > 1 << ADDRESS_BITS:
        raise ValueError(
            f"the chip has {offset} input lines; the AXI wrapper's input address has "
            f"{ADDRESS_BITS} bits (at most {1 << ADDRESS_BITS} lines)"
        )
    if plan.fmt.payload_width > _VALUE_BITS:
        raise ValueError(
            f"the chip's event payload has {plan.fmt.payload_width} bits; the AXI wrapper's "
            f"input value has {_VALUE_BITS}"
        )
    return InputLines(offset, tuple(groups), mask)


def output_bases(plan) -> dict:
    """``{core index: output index of the core's first neuron}`` for the output populations'
    cores; refuses a chip the output word cannot carry."""
    offsets, offset = {}, 0
    for name in plan.network.outputs:
        offsets[name] = offset
        offset += plan.network.populations[name].size
        if plan.network.max_count(name) >= 1 << _COUNT_BITS:
            raise ValueError(
                f"output population {name!r} sends counts up to {plan.network.max_count(name)}; "
                f"the AXI wrapper's output count has {_COUNT_BITS} bits"
            )
    if offset > 1 << ADDRESS_BITS:
        raise ValueError(
            f"the chip has {offset} output lines; the AXI wrapper's output index has "
            f"{ADDRESS_BITS} bits"
        )
    return {
        core.index: offsets[core.population] + core.neuron_start
        for core in plan.cores
        if core.population in offsets
    }


def input_beats(plan, samples) -> list[tuple[int, bool, int]]:
    """``(tdata, tlast, tuser)`` of every ``s_axis`` beat for a batch of samples run back to
    back (``neurohw.network.Samples``, or ``{group: (steps, batch, size)}``): one frame per
    step, then one empty frame that closes the batch (the chip clears the last sample's state
    and runs one step without input). The wrapper turns them into exactly
    ``neurohw.network.host_events.encode_samples``' words."""
    from ..network.host_events import encode_samples

    lines = input_lines(plan)
    host_base = plan.host * plan.keys_per_endpoint
    width = plan.fmt.payload_width
    beats, pending, end_of_sample = [], [], False
    for word in encode_samples(plan, samples):
        event = plan.fmt.unpack(word)
        if event.kind == EventKind.SPIKE:
            address = event.key - host_base
            value = event.payload if width else 1
            group = next(g for g in lines.groups if g.offset <= address < g.offset + g.size)
            if group.low < 0 and value >= 1 << (width - 1):
                value -= 1 << width
            pending.append(address | ((value & ((1 << _VALUE_BITS) - 1)) << ADDRESS_BITS))
        elif event.kind == EventKind.CONTROL:
            end_of_sample = True
        else:
            last_flag = InFlag.END_OF_SAMPLE if end_of_sample else 0
            if not pending:
                beats.append((0, True, int(InFlag.NO_EVENT | last_flag)))
            else:
                beats += [(data, False, 0) for data in pending[:-1]]
                beats.append((pending[-1], True, int(last_flag)))
            pending, end_of_sample = [], False
    return beats


def decode_output_words(words, *, first_step: int = 0):
    """Split ``m_axis`` words (``(tdata, tlast)`` pairs) into one ``{output index: count}``
    per step; checks the framing (TLAST exactly on end-of-step words, step numbers counting up
    from ``first_step``) and raises ``ValueError`` naming the first bad word."""
    steps, current = [], {}
    for position, (word, last) in enumerate(words):
        end = bool(word >> OUT_END_OF_STEP_BIT & 1)
        if end != bool(last):
            raise ValueError(
                f"word {position} ({word:#010x}): TLAST={int(last)} on a {'end-of-step' if end else 'spike'} word"
            )
        if end:
            step = word & ((1 << OUT_END_OF_STEP_BIT) - 1)
            expected = (first_step + len(steps)) % (1 << OUT_END_OF_STEP_BIT)
            if step != expected:
                raise ValueError(f"word {position}: end of step {step}, expected {expected}")
            steps.append(current)
            current = {}
        else:
            index = word & ((1 << ADDRESS_BITS) - 1)
            if index in current:
                raise ValueError(f"word {position}: output {index} twice in step {len(steps)}")
            current[index] = word >> ADDRESS_BITS & ((1 << _COUNT_BITS) - 1)
    if current:
        raise ValueError(f"{len(current)} spike word(s) after the last end-of-step word")
    return steps


def output_counts(plan, steps) -> dict:
    """``{output population: (len(steps), size) int64}`` from :func:`decode_output_words`."""
    out, bases, offset = {}, {}, 0
    for name in plan.network.outputs:
        size = plan.network.populations[name].size
        out[name] = np.zeros((len(steps), size), dtype=np.int64)
        bases[name] = (offset, size)
        offset += size
    for t, spikes in enumerate(steps):
        for index, count in spikes.items():
            for name, (base, size) in bases.items():
                if base <= index < base + size:
                    out[name][t, index - base] = count
                    break
            else:
                raise ValueError(f"step {t}: output index {index} is no output neuron's")
    return out


class AxiChipError(RuntimeError):
    """The chip refused a register access or a command."""


class AxiChip:
    """The register bank of an :class:`~neurohw.hw.axi_system.AxiSystem`, through two
    functions the platform supplies: ``read32(offset) -> int`` and ``write32(offset, value)``
    (an AXI4-Lite read and write at the bank's base; they raise on a SLVERR).

    Every register of :mod:`neurohw.host.axi_registers` is an attribute of the same name in
    lower case (``chip.dropped_address``, ``chip.control = ...``); :meth:`read_state` and
    :meth:`write_state` run one command on a core (``docs/core.md`` targets).
    """

    #: ``CMD_STATUS`` reads before a command counts as lost (as ``NEUROHW_CMD_POLLS`` in C).
    COMMAND_POLLS = 100_000

    def __init__(self, read32: Callable[[int], int], write32: Callable[[int, int], None]):
        object.__setattr__(self, "_read32", read32)
        object.__setattr__(self, "_write32", write32)
        magic = read32(register("ID").offset)
        if magic != AXI_MAGIC:
            raise AxiChipError(
                f"register ID reads {magic:#010x}, not {AXI_MAGIC:#010x}: no neurohw AxiSystem there"
            )

    def __getattr__(self, name):
        reg = _lower_register(name)
        return self._read32(reg.offset)

    def __setattr__(self, name, value):
        reg = _lower_register(name)
        self._write32(reg.offset, int(value) & 0xFFFFFFFF)

    def soft_reset(self) -> None:
        """Reset the chip, the framers and the counters (the registers keep their values)."""
        self.control = self.control | 1

    def _command(self, write: bool, core: int, target: int, neuron: int, axon: int, data: int):
        if self.cmd_status & 1:
            raise AxiChipError("a command is still in flight (CMD_STATUS.BUSY)")
        self.cmd_core, self.cmd_target, self.cmd_neuron = core, target, neuron
        self.cmd_axon, self.cmd_data = axon, data
        self.cmd_issue = int(write)
        for _ in range(self.COMMAND_POLLS):
            if not (status := self.cmd_status) & 1:
                break
        else:
            raise AxiChipError(
                f"the command on core {core} did not finish in {self.COMMAND_POLLS} polls"
            )
        if status & 2:
            raise AxiChipError(
                f"core {core} refused the command (target {target}, neuron {neuron}, axon {axon})"
            )
        result = self.cmd_result
        return result - (1 << 32) if result >> 31 else result

    def read_state(self, core: int, target: int, neuron: int, axon: int = 0) -> int:
        """Value of ``target`` of ``neuron`` (and ``axon``) on ``core``."""
        return self._command(False, core, target, neuron, axon, 0)

    def write_state(self, core: int, target: int, neuron: int, value: int, axon: int = 0) -> None:
        """Write ``value`` to ``target`` of ``neuron`` (and ``axon``) on ``core``."""
        self._command(True, core, target, neuron, axon, value)

    def learning(self, core: int) -> bool:
        """Whether ``core`` (a core with STDP) learns: its ``LEARNING`` status word."""
        from ..hw.core_config import Status, Target

        return bool(self.read_state(core, Target.STATUS, Status.LEARNING) & 1)

    def set_learning(self, core: int, enable: bool) -> None:
        """Switch ``core``'s learning (STDP) on or off; off freezes its weights and traces. A
        core without STDP refuses (:class:`AxiChipError`)."""
        from ..hw.core_config import Status, Target

        self.write_state(core, Target.STATUS, Status.LEARNING, int(bool(enable)))


def _lower_register(name):
    upper = name.upper()
    if name != name.lower() or upper not in {r.name for r in REGISTERS}:
        raise AttributeError(
            f"AxiChip has no register {name!r}; the registers are "
            f"{', '.join(r.name.lower() for r in REGISTERS)}"
        )
    return register(upper)
