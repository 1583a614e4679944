"""What a :class:`~neurohw.hw.core.NeuronCore` looks like from outside, as JSON-compatible data:
its streams as AXI4-Stream interfaces and the description that the vendor templates
(:mod:`neurohw.templates`) and the host library (:class:`neurohw.host.protocol.CoreLayout`) use.

Here, below both of them, so that neither imports the other.
"""

from __future__ import annotations

import math

from .core import STEP_WIDTH, NeuronCore

__all__ = ["axis_streams", "core_description"]

_STREAMS = (
    # (core port, AXI-Stream interface, direction, constant prefix, description)
    (
        "spikes_in",
        "s_axis_spikes",
        "in",
        "SPIKES_IN",
        "input spikes: one axon address per transfer",
    ),
    (
        "step",
        "s_axis_step",
        "in",
        "STEP_IN",
        "step: one transfer ends the step's input (TDATA reserved, send 0)",
    ),
    ("cmd", "s_axis_cmd", "in", "CMD", "commands {write, target, neuron, axon, data}"),
    ("spikes_out", "m_axis_spikes", "out", "SPIKES_OUT", "output spikes {neuron, count, step}"),
    ("done", "m_axis_done", "out", "DONE", "done: the step number, after every spike of the step"),
    ("rsp", "m_axis_rsp", "out", "RSP", "responses {data, error}, one per command, in order"),
)


def _bytes(width: int) -> int:
    return max(1, math.ceil(width / 8))


def axis_streams(core: NeuronCore) -> list[dict]:
    """The core's streams as AXI4-Stream interfaces: port, interface name, direction, payload
    width, TDATA width (bytes) and payload fields ``{name, offset, width, signed}``."""
    description = core.port_description()
    # A graded core's event is {axon, value} (docs/core.md, "Graded events").
    widths = {
        "spikes_in": core.axon_bits + core.value_width,
        "step": 1,
        "cmd": core.cmd_layout.size,
        "spikes_out": core.spike_layout.size,
        "done": STEP_WIDTH,
        "rsp": core.rsp_layout.size,
    }
    fields = {
        "spikes_in": description["spikes_in"],
        "step": {"reserved": (0, 1, False)},
        "cmd": description["cmd"],
        "spikes_out": description["spikes_out"],
        "done": {"step": (0, STEP_WIDTH, False)},
        "rsp": description["rsp"],
    }
    streams = []
    for port, axis, direction, const, text in _STREAMS:
        width = widths[port]
        streams.append(
            {
                "port": port,
                "axis": axis,
                "direction": direction,
                "const": const,
                "description": text,
                "width": width,
                "tdata_width": 8 * _bytes(width),
                "direction_text": "slave, input" if direction == "in" else "master, output",
                "fields": [
                    {"name": n, "offset": o, "width": w, "signed": bool(s)}
                    for n, (o, w, s) in sorted(fields[port].items(), key=lambda x: x[1][0])
                ],
            }
        )
    return streams


def core_description(core: NeuronCore, *, name: str = "neuron_core") -> dict:
    """Everything the templates and the host library need to know about ``core``, as
    JSON-compatible data (``port_description()`` plus sizes and the AXI-Stream widths)."""
    ports = core.port_description()
    event_limit = ports["event_limit"]
    return {
        "name": name,
        "n_neurons": core.n_neurons,
        "n_axons": core.n_axons,
        "weight_width": core.weight_width,
        "lanes": core.lanes,
        "lane_depth": core.lane_depth,
        "channels": core.channels,
        "n_currents": core.params.n_currents,
        "connectivity": core.connectivity,
        "n_synapses": core.n_synapses if core.connectivity == "sparse" else 0,
        "v_state_width": core.v_state_width,
        "i_state_width": core.i_state_width,
        "acc_width": core.acc_width,
        "data_width": core.data_width,
        "axon_bits": core.axon_bits,
        "value_width": core.value_width,
        "step_width": STEP_WIDTH,
        "latency": core.update_latency,
        "reset_cycles": max(core.lane_depth, core.n_axons),
        "event_limit": event_limit if event_limit is not None else 0,
        "per_neuron": sorted(core.per_neuron),
        "params": core.params.to_dict(),
        "ports": {
            key: ports[key]
            for key in (
                "spikes_in",
                "cmd",
                "rsp",
                "spikes_out",
                "targets",
                "status",
                "step_width",
                "latency",
                "lanes",
                "connectivity",
                "input_count_cap",
                "event_limit",
            )
        },
        "streams": axis_streams(core),
    }
