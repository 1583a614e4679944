"""The time-multiplexed neuron core: one population, its weights and its state in block RAM.

``NeuronCore`` holds the weights (dense matrices, or sparse fan-out lists), the per-step input
accumulators and every neuron's state in synchronous-read memories, banked over ``lanes``, and
runs one time step of ``neurohw.model.reference.step`` for the whole population in two phases:

* event phase: each input spike (an axon address on ``spikes_in``) reads its weight row (``lanes``
  neurons per clock) or its fan-out list (one synapse per clock) and adds each weight into the
  neuron's drive accumulator (accumulation 'sum') or, with one projection per event, into the
  synaptic current itself (accumulation 'per_event');
* sweep phase, started by a transfer on ``step``: every neuron streams once through
  :class:`neurohw.hw.neuron_update.NeuronUpdate`; the new state is written back, the accumulator
  cleared and a non-zero spike count is sent on ``spikes_out``. ``done`` then reports the step.

A command/response port (``cmd``/``rsp``) reads and writes weights, per-neuron parameters and
state between steps. ``docs/core.md`` describes the architecture, cycle counts and the command set.

The core's options, widths, layouts and cycle counts are described without hardware by
:class:`neurohw.hw.core_config.CoreConfig` (re-exported here with the names tools import from
this module).
"""

from __future__ import annotations

from .core_build import CoreBuild
from .core_command import command_decode, command_respond
from .core_component import DescribedCore
from .core_config import (
    COUNTER_WIDTH,
    MAX_AXONS,
    MAX_DELAY,
    MAX_EVENTS,
    MAX_LANES,
    MAX_NEURONS,
    MAX_VALUE_WIDTH,
    MAX_WEIGHT_WIDTH,
    PER_NEURON_NAMES,
    SPIKE_FIFO_DEPTH,
    SPRAM_DEPTH,
    SPRAM_WIDTH,
    STEP_WIDTH,
    WEIGHT_BANK_DEPTH,
    ActivityStatus,
    CoreConfig,
    Status,
    Target,
    layout_fields,
    weight_bank_depth,
)
from .core_events import accumulate, dense_events, event_input, sparse_events
from .core_memories import lane_memories, memory_helpers, read_addresses, write_ports
from .core_stdp import potentiation_walk, traces, weight_updates
from .core_sweep import control, count_activity, finish_step, sweep

__all__ = [
    "NeuronCore",
    "CoreConfig",
    "Target",
    "Status",
    "ActivityStatus",
    "SPIKE_FIFO_DEPTH",
    "MAX_NEURONS",
    "MAX_AXONS",
    "MAX_LANES",
    "MAX_WEIGHT_WIDTH",
    "MAX_EVENTS",
    "MAX_DELAY",
    "MAX_VALUE_WIDTH",
    "STEP_WIDTH",
    "COUNTER_WIDTH",
    "PER_NEURON_NAMES",
    "SPRAM_DEPTH",
    "SPRAM_WIDTH",
    "WEIGHT_BANK_DEPTH",
    "layout_fields",
    "weight_bank_depth",
]


class NeuronCore(DescribedCore):
    """A population of ``n_neurons`` integer LIF neurons fed by ``n_axons`` input axons.

    ``NeuronCore(config)`` builds the core that a :class:`CoreConfig` describes;
    ``NeuronCore(params, n_neurons=..., n_axons=..., weight_width=..., **options)`` first builds
    ``CoreConfig(params, ...)`` from the same arguments (see it for every option). The options
    are validated before the core exists, so a construction that raises leaves no design behind
    to warn about as unused. The description's attributes (``n_neurons``, ``lane_depth``,
    ``cmd_layout``, ``port_description()``, ``update_latency``, ...) read through the core.

    Members
    -------
    spikes_in : In(stream of axon address, or of {axon, value} with value_width)
    step : In(stream, 1-bit payload reserved, send 0)
        A transfer ends the input of the current step and starts the sweep.
    spikes_out : Out(stream of {neuron, count, step})
    done : Out(stream of step number)
        One transfer per step, after every spike of that step has left ``spikes_out``.
    cmd : In(stream of {write, target, neuron, axon, data}); rsp : Out(stream of {data, error})
        One response per command; see :class:`Target` and :class:`Status`.
    overflow : Out(1)
        High once any event was dropped for exceeding ``max_events_per_step``.
    """

    @classmethod
    def describe(cls, config=None, /, **options) -> CoreConfig:
        """The :class:`CoreConfig` of ``NeuronCore(config)`` or ``NeuronCore(params, ...)``."""
        if isinstance(config, CoreConfig):
            if options:
                raise TypeError(
                    f"NeuronCore(config) takes no other options, not "
                    f"{', '.join(sorted(options))}; build a new CoreConfig instead"
                )
            return config
        if config is None:  # NeuronCore(params=..., ...)
            return CoreConfig(**options)
        return CoreConfig(config, **options)

    def elaborate(self, platform):
        # The parts add their logic to one module in this order (each reads what the earlier
        # ones set on the shared CoreBuild), so that the core stays one Verilog module.
        build = CoreBuild(self)
        memory_helpers(build)
        lane_memories(build)
        control(build)
        event_input(build)
        if build.sparse:
            sparse_events(build)
        else:
            dense_events(build)
        accumulate(build)
        command_decode(build)
        command_respond(build)
        sweep(build)
        if build.stdp is not None:
            traces(build)
            potentiation_walk(build)
            weight_updates(build)
        finish_step(build)
        count_activity(build)
        read_addresses(build)
        write_ports(build)
        return build.m
