"""Testbench base class for Amaranth-generated toplevels (ports ``clk`` and ``rst``)."""

from __future__ import annotations

import logging

from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

__all__ = ["TB"]


class TB:
    """Wrap ``dut``, start its clock and hold it in reset until :meth:`reset` runs.

    Amaranth's ``sync`` domain has an active-high, synchronous ``rst``. Subclasses
    create their drivers and monitors in ``__init__`` (after ``super().__init__``)
    and pass ``reset=self.rst`` to them, so nothing moves until reset is released.
    """

    def __init__(self, dut, *, clock_period_ns: int = 10):
        self.dut = dut
        self.log = logging.getLogger(f"cocotb.tb.{type(self).__name__}")
        self.clk = dut.clk
        self.rst = dut.rst
        self.rst.value = 1  # from time 0, so no register sees an unreset cycle
        self.clock_period_ns = clock_period_ns
        self.clock = Clock(self.clk, clock_period_ns, unit="ns")
        self.clock.start()
        self._origin_ns = 0

    async def reset(self, cycles: int = 2) -> None:
        """Assert ``rst`` for ``cycles`` rising edges, then release it and wait one more edge."""
        if cycles < 1:
            raise ValueError(f"cycles must be at least 1, not {cycles!r}")
        self.rst.value = 1
        await ClockCycles(self.clk, cycles)
        self.rst.value = 0
        await RisingEdge(self.clk)
        self._origin_ns = get_sim_time("ns")

    @property
    def elapsed_cycles(self) -> int:
        """Rising edges since the last :meth:`reset` released ``rst`` (the first edge after the
        release is cycle 0), from the simulation time: no coroutine per clock."""
        return int((get_sim_time("ns") - self._origin_ns) // self.clock_period_ns)

    async def cycles(self, count: int) -> None:
        """Wait for ``count`` rising edges of the clock."""
        await ClockCycles(self.clk, count)
