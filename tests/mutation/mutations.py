"""The planted generator bugs of the mutation harness (``tests/mutation/run.py``).

Each mutation is one small, real edit of an Amaranth generator source (a text replacement that
must match exactly once) and the fast tests that must catch it; ``{sim}`` in a test id is the
simulator the harness runs (Icarus, else Verilator).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    path: str  # relative to the repository root, inside neurohw/
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "current_add_saturates",
        "the after-decay current add saturates where the policy says wrap",
        "neurohw/hw/neuron_update.py",
        '                    pipe[f"i{c}_d"] + self._scaled(pipe, c), p.i_width, p.i_overflow\n',
        '                    pipe[f"i{c}_d"] + self._scaled(pipe, c), p.i_width, Overflow.SATURATE\n',
        ("tests/test_neuron_update.py::test_sim_directed_overflow",),
    ),
    Mutation(
        "input_add_saturates",
        "the before-decay current add saturates where the policy says wrap",
        "neurohw/hw/neuron_update.py",
        '                    pipe[f"i{c}"] + self._scaled(pipe, c), p.i_width, p.i_overflow\n',
        '                    pipe[f"i{c}"] + self._scaled(pipe, c), p.i_width, Overflow.SATURATE\n',
        ("tests/test_neuron_update.py::test_sim_directed_overflow",),
    ),
    Mutation(
        "phantom_padding_neuron",
        "the padding slots of the last local address are swept like neurons (phantom spikes)",
        "neurohw/hw/core_memories.py",
        "        return Const(1) if lane < full_lanes else (local != D - 1)\n",
        "        return Const(1)\n",
        ("tests/test_neuron_core.py::test_padding_lanes[{sim}-5-4]",),
    ),
)
