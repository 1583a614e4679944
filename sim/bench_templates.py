"""cocotb bench for the AXI4-Stream wrapper rendered by :func:`neurohw.templates.render`.

The wrapper (``<name>_axis``) is simulated together with the core it wraps, and driven by the
neuron-core bench itself (:func:`bench_neuron_core.run_trace`): :class:`AxisView` presents the
wrapper's AXI4-Stream ports (``s_axis_spikes_tdata``/``tvalid``/``tready``, ...) and its
active-low ``aresetn`` under the core's port names (``spikes_in__payload``/``valid``/``ready``,
active-high ``rst``). Every output spike and, read back over ``s_axis_cmd``/``m_axis_rsp``,
every state of every neuron after every step is compared with the reference model; the test
data is the neuron-core bench's (``sim/core_case.py``), with the payload field offsets, which
the wrapper keeps (TDATA is the payload zero-padded to bytes).
"""

from __future__ import annotations

import cocotb
from cocotb.types import LogicArray

from neurohw.hw.description import _STREAMS
from neurohw.sim.bench_neuron_core import run_trace

#: core port -> AXI4-Stream interface of the wrapper
AXIS_NAMES = {port: axis for port, axis, *_ in _STREAMS}
_SIGNALS = {"valid": "tvalid", "ready": "tready", "payload": "tdata"}


class ActiveHighReset:
    """An active-low reset handle seen as an active-high one (``value`` reads and writes)."""

    def __init__(self, handle):
        self._handle = handle

    @property
    def value(self):
        value = self._handle.value
        if not value.is_resolvable:
            return value
        return LogicArray(1 - int(value), 1)

    @value.setter
    def value(self, value):
        self._handle.value = 1 - int(value)


class AxisView:
    """The wrapper ``dut`` with the core's port names (``clk``, ``rst``, ``<port>__valid``...)."""

    def __init__(self, dut):
        self._dut = dut
        self.clk = dut.aclk
        self.rst = ActiveHighReset(dut.aresetn)

    def __getattr__(self, name):
        port, _, signal = name.partition("__")
        if port not in AXIS_NAMES or signal not in _SIGNALS:
            raise AttributeError(f"the AXI4-Stream wrapper has no port for {name!r}")
        return getattr(self._dut, f"{AXIS_NAMES[port]}_{_SIGNALS[signal]}")


@cocotb.test()
async def axis_trace(dut):
    """Events, sweep, spikes and every state through the AXI4-Stream ports, step by step."""
    await run_trace(AxisView(dut))
