"""The convolution core: one ``Conv2d`` layer with its kernel stored once and addresses computed.

:class:`ConvCore` computes exactly what a :class:`neurohw.hw.core.NeuronCore` with the dense
lowering of the layer (:meth:`neurohw.hw.conv.ConvSpec.dense_matrix`) computes, every step,
every neuron, every state, but holds ``out_channels x C x Kh x Kw`` weights instead of
``(C*H*W) x (out_channels*Ho*Wo)``. Each input event on axon ``c*H*W + y*W + x`` is decoded to
``(c, y, x)`` and visits the kernel positions ``(ky, kx)``, and for each one that reaches an
output ``(oy, ox)`` every output channel ``oc`` (innermost), adding ``kernel[oc, c, ky, kx]`` into
the drive accumulator of neuron ``oc*Ho*Wo + oy*Wo + ox``: one synaptic op per clock. A
transfer on ``step`` then sweeps every neuron through the shared
:class:`neurohw.hw.neuron_update.NeuronUpdate`, like the neuron core. ``docs/core.md``,
"Convolution core", describes the ports, the commands and the cycle counts.
"""

from __future__ import annotations

import numbers

import numpy as np
from amaranth.hdl import Shape, signed, unsigned
from amaranth.lib import data

from ..model.params import Accumulation, NeuronParams
from ..model.reference import MAX_SPIKE_COUNT
from . import conv_build
from .conv import ConvSpec
from .conv_build import ConvBuild
from .core_component import DescribedCore
from .core_config import (
    _PARAM_TARGETS,
    _WIDE_TARGET_NAMES,
    COUNTER_WIDTH,
    MAX_EVENTS,
    MAX_LANES,
    MAX_WEIGHT_WIDTH,
    STEP_WIDTH,
    CoreConfig,
    Status,
    Target,
    layout_fields,
)
from .neuron_update import (
    PER_NEURON_NAMES,
    per_neuron_shape,
    state_port_width,
    update_stages,
)

__all__ = ["ConvCore", "ConvConfig", "MAX_CONV_NEURONS", "MAX_CONV_AXONS"]

#: Largest output feature map (neurons) and input feature map (axons) of one conv core.
MAX_CONV_NEURONS = 1 << 16
MAX_CONV_AXONS = 1 << 16


def _bits(value: int) -> int:
    return max(1, int(value).bit_length())


class ConvConfig:
    """The validated options of a :class:`ConvCore` and everything derived from them, without
    hardware (``ConvCore(params, spec, **options)`` builds ``ConvConfig(params, spec,
    **options)`` first; see it for the options)."""

    def __init__(
        self,
        params,
        spec,
        *,
        weight_width=None,
        kernel=None,
        max_events_per_step=None,
        per_neuron=None,
        lanes=1,
    ):
        if not isinstance(params, NeuronParams):
            raise TypeError(f"params must be a NeuronParams, not {params!r}")
        if not isinstance(spec, ConvSpec):
            raise TypeError(f"spec must be a neurohw.hw.conv.ConvSpec, not {spec!r}")
        if (
            isinstance(weight_width, bool)
            or not isinstance(weight_width, numbers.Integral)
            or not 1 <= weight_width <= MAX_WEIGHT_WIDTH
        ):
            raise ValueError(
                f"weight_width must be an integer between 1 and {MAX_WEIGHT_WIDTH}, "
                f"not {weight_width!r}"
            )
        self._check_model(params)
        if spec.n_neurons > MAX_CONV_NEURONS:
            raise ValueError(
                f"the output {spec.out_shape} has {spec.n_neurons} neurons; a conv core holds "
                f"at most {MAX_CONV_NEURONS}"
            )
        if spec.n_axons > MAX_CONV_AXONS:
            raise ValueError(
                f"the input {spec.in_shape} has {spec.n_axons} positions; a conv core takes "
                f"at most {MAX_CONV_AXONS}"
            )
        #: Output channels per lane (the last lane may hold fewer).
        self.channel_groups = self._check_lanes(spec, lanes)
        self.lanes = int(lanes)
        self.params, self.spec, self.weight_width = params, spec, int(weight_width)
        self.kernel = (
            spec.check_kernel(kernel, self.weight_width)
            if kernel is not None
            else spec.check_kernel(np.zeros(spec.kernel_shape, dtype=np.int64), weight_width)
        )
        if max_events_per_step is None:
            max_events_per_step = spec.n_axons * MAX_SPIKE_COUNT
        elif (
            isinstance(max_events_per_step, bool)
            or not isinstance(max_events_per_step, numbers.Integral)
            or not 1 <= max_events_per_step <= MAX_EVENTS
        ):
            raise ValueError(
                f"max_events_per_step must be an integer between 1 and {MAX_EVENTS}, "
                f"not {max_events_per_step!r}"
            )
        self.max_events_per_step = int(max_events_per_step)
        self.per_neuron = CoreConfig._check_per_neuron(params, per_neuron)
        self.n_neurons, self.n_axons = spec.n_neurons, spec.n_axons
        self.kernel_words = spec.kernel_words
        #: Words of each lane's accumulator bank and kernel bank.
        _, out_h, out_w = spec.out_shape
        self.bank_neurons = self.channel_groups * out_h * out_w
        self.bank_words = self.channel_groups * spec.kernel_words // spec.out_channels
        self.neuron_bits = _bits(self.n_neurons - 1)
        self.axon_bits = _bits(self.n_axons - 1)
        self.v_state_width = state_port_width(params, "v")
        self.i_state_width = state_port_width(params, "i")
        self.refractory_bits = params.refractory_period.bit_length()
        # One event adds at most one kernel weight to a neuron (ConvSpec.fanout reaches each
        # neuron once), so this holds any step's sum exactly, as in the neuron core.
        self.acc_width = self.weight_width + self.max_events_per_step.bit_length()
        self.param_shapes = {
            name: Shape.cast(per_neuron_shape(params, name))
            for name in PER_NEURON_NAMES
            if name in self.per_neuron
        }
        param_data_width = max(
            [params.v_width + 1]
            + [shape.width + (not shape.signed) for shape in self.param_shapes.values()]
        )
        self.data_width = max(
            self.v_state_width,
            self.i_state_width,
            self.refractory_bits + 1,
            self.acc_width,
            self.weight_width,
            param_data_width,
            COUNTER_WIDTH + 1,
            STEP_WIDTH + 1,
        )
        self.target_bits = (
            5
            if params.reset_delay or any(name in self.per_neuron for name in _WIDE_TARGET_NAMES)
            else 4
        )
        self.update_latency = len(update_stages(params))
        #: Spike FIFO depth: every neuron in the update pipeline fits, so the sweep issues one
        #: neuron per clock while ``spikes_out`` keeps up.
        self.fifo_depth = self.update_latency + 4
        self._layouts()

    @staticmethod
    def _check_model(params) -> None:
        """The neuron models a conv core implements."""
        if params.accumulation is not Accumulation.SUM:
            raise ValueError(
                f"params.accumulation must be 'sum' for a conv core, not "
                f"{params.accumulation.value!r} (per-event projection is implemented by the "
                f"neuron core only)"
            )
        if params.n_currents > 1:
            raise ValueError(
                f"params.n_currents must be 0 or 1 for a conv core (one kernel), not "
                f"{params.n_currents}"
            )
        if params.input_count_cap is not None:
            raise ValueError(
                f"params.input_count_cap must be None for a conv core, not "
                f"{params.input_count_cap} (the per-axon count memory is not implemented here)"
            )

    @staticmethod
    def _check_lanes(spec, lanes) -> int:
        """``lanes`` checked against the layer; returns the output channels per lane."""
        if (
            isinstance(lanes, bool)
            or not isinstance(lanes, numbers.Integral)
            or not 1 <= lanes <= min(MAX_LANES, spec.out_channels)
        ):
            raise ValueError(
                f"lanes must be an integer between 1 and {min(MAX_LANES, spec.out_channels)} "
                f"(out_channels={spec.out_channels}, at most {MAX_LANES}), not {lanes!r}"
            )
        groups = -(-spec.out_channels // lanes)
        if (lanes - 1) * groups >= spec.out_channels:
            allowed = [
                n
                for n in range(1, min(MAX_LANES, spec.out_channels) + 1)
                if (n - 1) * -(-spec.out_channels // n) < spec.out_channels
            ]
            raise ValueError(
                f"lanes={lanes} leaves lane {lanes - 1} without an output channel "
                f"(out_channels={spec.out_channels}, {groups} per lane); allowed: "
                f"{', '.join(map(str, allowed))}"
            )
        return groups

    def _layouts(self) -> None:
        """The stream payloads: command, response, event and spike words."""
        self.cmd_layout = data.StructLayout(
            {
                "write": unsigned(1),
                "target": unsigned(self.target_bits),
                "neuron": unsigned(
                    max(self.neuron_bits, _bits(self.kernel_words - 1), _bits(len(Status) - 1))
                ),
                "axon": unsigned(self.axon_bits),
                "data": signed(self.data_width),
            }
        )
        self.rsp_layout = data.StructLayout({"data": signed(self.data_width), "error": unsigned(1)})
        self.event_layout = unsigned(self.axon_bits)
        self.spike_layout = data.StructLayout(
            {
                "neuron": unsigned(self.neuron_bits),
                "count": unsigned(self.params.spike_count_width),
                "step": unsigned(STEP_WIDTH),
            }
        )

    def kernel_bank(self, lane: int) -> np.ndarray:
        """The initial contents of ``lane``'s kernel bank: the kernel words of its output
        channels in :meth:`ConvSpec.kernel_index` order, zeros past ``out_channels``."""
        flat = self.kernel.reshape(-1)
        start = lane * self.bank_words
        words = np.zeros(self.bank_words, dtype=np.int64)
        chunk = flat[start : start + self.bank_words]
        words[: len(chunk)] = chunk
        return words

    def event_cycles(self, axon: int) -> int:
        """Clocks between the transfers of an event on ``axon`` and of the next one, with a
        source that is never idle: :attr:`decode_clocks` to decode it, then
        :meth:`ConvSpec.event_iterations <neurohw.hw.conv.ConvSpec.event_iterations>` with
        :attr:`lanes` (the next event is taken in the last of them). An event dropped (invalid
        axon, event limit) takes one."""
        return self.decode_clocks + self.spec.event_iterations(axon, self.lanes)

    @property
    def decode_clocks(self) -> int:
        """Clocks from an event's transfer to its first kernel position: 2 (channel and row by
        constant reciprocals, then y and x), 3 with pooling (then the pooled y and x)."""
        return 3 if self.spec.pooled else 2

    def memories(self) -> list:
        """``(name, width, depth)`` of every memory the core builds (the block RAM candidates;
        ``conv_build.memories`` and the sweep's spike FIFO): each state and per-neuron parameter
        one word per neuron, per lane an accumulator bank (:attr:`bank_neurons` words) and a
        kernel bank (:attr:`bank_words` words). The kernel's words do not grow with the image;
        the states, parameters and accumulators do."""
        params = self.params
        out = [("v", self.v_state_width, self.n_neurons)]
        if params.n_currents:
            out.append(("i0", self.i_state_width, self.n_neurons))
        if params.refractory_period:
            out.append(("refractory", self.refractory_bits, self.n_neurons))
        if params.reset_delay:
            out.append(("pending", 1, self.n_neurons))
        out += [(f"acc{b}", self.acc_width, self.bank_neurons) for b in range(self.lanes)]
        out += [
            (f"param_{name}", shape.width, self.n_neurons)
            for name, shape in self.param_shapes.items()
        ]
        out += [(f"kernel{b}", self.weight_width, self.bank_words) for b in range(self.lanes)]
        out.append(("spike_fifo", self.spike_layout.size, self.fifo_depth))
        return out

    def port_description(self) -> dict:
        """Field offsets of the stream payloads and the targets present, as plain data (the
        keys of :meth:`neurohw.hw.core.CoreConfig.port_description` that apply)."""
        return {
            "spikes_in": {"axon": (0, self.axon_bits, False)},
            "value_width": 0,
            "cmd": layout_fields(self.cmd_layout),
            "rsp": layout_fields(self.rsp_layout),
            "spikes_out": layout_fields(self.spike_layout),
            "targets": self.targets(),
            "status": {member.name: int(member) for member in Status if member != Status.LEARNING},
            "step_width": STEP_WIDTH,
            "latency": self.update_latency,
            "lanes": self.lanes,
            "connectivity": "conv",
            "input_count_cap": None,
            "event_limit": self.max_events_per_step,
            "event_cycles": [self.event_cycles(a) for a in range(self.n_axons)],
            "max_delay": 1,
            "stdp": False,
        }

    @property
    def targets_by_name(self) -> tuple:
        """``(per-neuron parameter name, Target)`` pairs (``core_config._PARAM_TARGETS``)."""
        return tuple((name, int(code)) for name, code in _PARAM_TARGETS)

    def targets(self) -> dict:
        params = self.params
        present = {
            "V": True,
            "I0": params.n_currents >= 1,
            "REFRACTORY": params.refractory_period > 0,
            "PENDING": params.reset_delay,
            "ACC0": True,
            "WEIGHT0": True,
            **{code.name: name in self.per_neuron for name, code in _PARAM_TARGETS},
            "STATUS": True,
        }
        return {name: int(Target[name]) for name, here in present.items() if here}


class ConvCore(DescribedCore):
    """One convolution layer of integer LIF neurons (``docs/core.md``, "Convolution core").

    Parameters
    ----------
    params : NeuronParams
        The neuron model: accumulation 'sum', at most one synaptic current, no input count cap.
        Per-neuron arrays (length ``spec.n_neurons``) are held in per-neuron memories.
    spec : ConvSpec
        Shapes, pooling, stride, padding and dilation.
    weight_width : int
        Signed width of a kernel weight, 1..32.
    kernel : integer array (out_channels, C, Kh, Kw), optional
        Initial kernel (zeros if None); writable over ``cmd`` (``Target.WEIGHT0``, the kernel
        word ``ConvSpec.kernel_index`` in the ``neuron`` field).
    max_events_per_step : int, optional
        Applied events per step; sizes the accumulator. Default ``C*H*W * 65535``.
    per_neuron : set of str, optional
        As for :class:`neurohw.hw.core.NeuronCore`.
    lanes : int, optional
        Output channels updated per clock (1 by default): ``lanes`` kernel banks and
        accumulator banks, ``ceil(out_channels / lanes)`` channels each.

    Members
    -------
    spikes_in, step, spikes_out, done, cmd, rsp, overflow
        As for :class:`neurohw.hw.core.NeuronCore` (axon ``c*H*W + y*W + x`` in, neuron
        ``oc*Ho*Wo + oy*Wo + ox`` out).
    """

    OPTIONS = ("weight_width", "kernel", "max_events_per_step", "per_neuron", "lanes")

    @classmethod
    def describe(cls, params, spec, **options) -> ConvConfig:
        """The :class:`ConvConfig` of ``ConvCore(params, spec, **options)``."""
        unexpected = sorted(set(options) - set(cls.OPTIONS))
        if unexpected:
            raise TypeError(f"ConvCore got unexpected options {', '.join(unexpected)}")
        return ConvConfig(params, spec, **options)

    def elaborate(self, platform):
        # The parts add their logic to one module in this order (each reads what the earlier
        # ones set on the shared ConvBuild), so that the core stays one Verilog module.
        build = ConvBuild(self)
        conv_build.control(build)
        conv_build.memories(build)
        conv_build.kernel_walk(build)
        conv_build.event_decode(build)
        conv_build.accumulate(build)
        conv_build.commands(build)
        conv_build.sweep(build)
        conv_build.memory_ports(build)
        return build.m
