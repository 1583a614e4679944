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
from amaranth.hdl import Const, Module, Mux, Shape, Signal, signed, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..model.params import Accumulation, NeuronParams
from ..model.reference import MAX_SPIKE_COUNT
from .conv import ConvSpec
from .core_config import (
    _PARAM_TARGETS,
    _WIDE_TARGET_NAMES,
    COUNTER_WIDTH,
    MAX_EVENTS,
    MAX_WEIGHT_WIDTH,
    STEP_WIDTH,
    CoreConfig,
    Status,
    Target,
    layout_fields,
)
from .neuron_update import (
    PER_NEURON_NAMES,
    NeuronUpdate,
    per_neuron_contents,
    per_neuron_shape,
    state_port_width,
    update_stages,
)

__all__ = ["ConvCore", "MAX_CONV_NEURONS", "MAX_CONV_AXONS"]

#: Largest output feature map (neurons) and input feature map (axons) of one conv core.
MAX_CONV_NEURONS = 1 << 16
MAX_CONV_AXONS = 1 << 16


def _bits(value: int) -> int:
    return max(1, int(value).bit_length())


def _reciprocal(divisor: int, limit: int) -> tuple[int, int]:
    """``(multiplier, shift)`` with ``(a * multiplier) >> shift == a // divisor`` for every
    ``0 <= a <= limit`` (checked exhaustively): the axon decode divides by a constant without a
    divider."""
    values = np.arange(limit + 1, dtype=np.int64)
    for shift in range(64):
        multiplier = -(-(1 << shift) // divisor)
        if multiplier * limit >= (1 << 62):
            break
        if np.array_equal((values * multiplier) >> shift, values // divisor):
            return multiplier, shift
    raise AssertionError(f"no exact reciprocal of {divisor} up to {limit}")  # pragma: no cover


class _Config:
    """The validated options of a :class:`ConvCore` and everything derived from them."""

    def __init__(self, params, spec, weight_width, kernel, max_events_per_step, per_neuron):
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
                "count": unsigned(params.spike_count_width),
                "step": unsigned(STEP_WIDTH),
            }
        )

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


class ConvCore(wiring.Component):
    """One convolution layer of integer LIF neurons (``docs/core.md``, "Convolution core").

    Parameters
    ----------
    params : NeuronParams
        The neuron model: accumulation 'sum', at most one synaptic current, no input count cap.
        Per-neuron arrays (length ``spec.n_neurons``) are held in per-neuron memories.
    spec : ConvSpec
        Shapes, stride, padding and dilation.
    weight_width : int
        Signed width of a kernel weight, 1..32.
    kernel : integer array (out_channels, C, Kh, Kw), optional
        Initial kernel (zeros if None); writable over ``cmd`` (``Target.WEIGHT0``, the kernel
        word ``ConvSpec.kernel_index`` in the ``neuron`` field).
    max_events_per_step : int, optional
        Applied events per step; sizes the accumulator. Default ``C*H*W * 65535``.
    per_neuron : set of str, optional
        As for :class:`neurohw.hw.core.NeuronCore`.

    Members
    -------
    spikes_in, step, spikes_out, done, cmd, rsp, overflow
        As for :class:`neurohw.hw.core.NeuronCore` (axon ``c*H*W + y*W + x`` in, neuron
        ``oc*Ho*Wo + oy*Wo + ox`` out).
    """

    def __new__(cls, params, spec, *, src_loc_at=0, **options):
        # Validate first: an exception here leaves no unused elaboratable behind.
        config = _Config(
            params,
            spec,
            options.pop("weight_width", None),
            options.pop("kernel", None),
            options.pop("max_events_per_step", None),
            options.pop("per_neuron", None),
        )
        if options:
            raise TypeError(f"ConvCore got unexpected options {', '.join(sorted(options))}")
        self = super().__new__(cls, src_loc_at=src_loc_at + 1)
        self.__dict__["config"] = config
        return self

    def __init__(self, params, spec, *, src_loc_at=0, **options):
        config = self.config
        super().__init__(
            {
                "spikes_in": In(stream.Signature(config.event_layout)),
                "step": In(stream.Signature(unsigned(1))),
                "spikes_out": Out(stream.Signature(config.spike_layout)),
                "done": Out(stream.Signature(unsigned(STEP_WIDTH))),
                "cmd": In(stream.Signature(config.cmd_layout)),
                "rsp": Out(stream.Signature(config.rsp_layout)),
                "overflow": Out(1),
            }
        )

    def __getattr__(self, name):
        config = self.__dict__.get("config")
        if config is not None and not name.startswith("_"):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def event_cycles(self, axon: int) -> int:
        """Clocks between the transfers of an event on ``axon`` and of the next one, with a
        source that is never idle: :attr:`decode_clocks` to decode it, then
        :meth:`ConvSpec.event_iterations <neurohw.hw.conv.ConvSpec.event_iterations>` (the next
        event is taken in the last of them). An event dropped (invalid axon, event limit) takes
        one."""
        return self.decode_clocks + self.spec.event_iterations(axon)

    @property
    def decode_clocks(self) -> int:
        """Clocks from an event's transfer to its first kernel position: 2 (channel and row by
        constant reciprocals, then y and x), 3 with pooling (then the pooled y and x)."""
        return 3 if self.spec.pooled else 2

    def port_description(self) -> dict:
        """Field offsets of the stream payloads and the targets present, as plain data (the
        keys of :meth:`neurohw.hw.core.CoreConfig.port_description` that apply)."""
        config = self.config
        return {
            "spikes_in": {"axon": (0, config.axon_bits, False)},
            "value_width": 0,
            "cmd": layout_fields(config.cmd_layout),
            "rsp": layout_fields(config.rsp_layout),
            "spikes_out": layout_fields(config.spike_layout),
            "targets": config.targets(),
            "status": {member.name: int(member) for member in Status if member != Status.LEARNING},
            "step_width": STEP_WIDTH,
            "latency": config.update_latency,
            "lanes": 1,
            "connectivity": "conv",
            "input_count_cap": None,
            "event_limit": config.max_events_per_step,
            "event_cycles": [self.event_cycles(a) for a in range(config.n_axons)],
            "max_delay": 1,
            "stdp": False,
        }

    def elaborate(self, platform):
        config, spec, p = self.config, self.config.spec, self.config.params
        m = Module()
        N, A, KW = config.n_neurons, config.n_axons, config.kernel_words
        cin, height, width = spec.in_shape
        cout, out_h, out_w = spec.out_shape
        kh, kw = spec.kernel_size
        period = p.refractory_period
        nc = p.n_currents

        INIT, RUN, DBG_ISSUE, DBG_CAPTURE, DBG_RESPOND, SWEEP, DONE = range(7)
        phase = Signal(range(7), init=INIT)
        step_number = Signal(STEP_WIDTH)
        overflow_count = Signal(COUNTER_WIDTH)
        invalid_count = Signal(COUNTER_WIDTH)
        events_status = Signal(COUNTER_WIDTH)
        events = Signal(range(config.max_events_per_step + 1))
        m.d.comb += self.overflow.eq(overflow_count != 0)

        def saturating_increment(counter):
            return counter.eq(Mux(counter == (1 << len(counter)) - 1, counter, counter + 1))

        def memory(name, shape, init=(), depth=N):
            mem = Memory(shape=shape, depth=depth, init=list(init))
            m.submodules[name] = mem
            return mem.read_port(), mem.write_port()

        # ---- Memories: one read and one write port each, read-first (no transparency).
        states = {"v": memory("v", signed(config.v_state_width))}
        if nc:
            states["i0"] = memory("i0", signed(config.i_state_width))
        if period:
            states["refractory"] = memory("refractory", unsigned(config.refractory_bits))
        if p.reset_delay:
            states["pending"] = memory("pending", unsigned(1))
        acc_rd, acc_wr = memory("acc", signed(config.acc_width))
        params_mem = {
            name: memory(
                f"param_{name}",
                shape,
                np.broadcast_to(
                    np.asarray(per_neuron_contents(p, name), dtype=object), (N,)
                ).tolist(),
            )
            for name, shape in config.param_shapes.items()
        }
        kernel_rd, kernel_wr = memory(
            "kernel",
            signed(config.weight_width),
            [int(w) for w in config.kernel.reshape(-1)],
            depth=KW,
        )

        # ---- Reset walk: every state and accumulator to 0 (kernel and parameters stay).
        init_ctr = Signal(range(N))
        with m.If(phase == INIT):
            m.d.sync += init_ctr.eq(init_ctr + 1)
            with m.If(init_ctr == N - 1):
                m.d.sync += phase.eq(RUN)

        # ---- Event engine: accept (E), decode (D1, D2), then one kernel position or one output
        # channel per clock (S0: addresses and memory reads), R (read data registered),
        # W (add and write).
        IDLE, DECODE, DECODE2, ITER, DECODE3 = range(5)
        ev_state = Signal(range(5 if spec.pooled else 4))
        ev_axon = Signal(config.axon_bits)
        c_base = Signal(range(max(2, KW)))  # c * Kh * Kw
        pos = Signal(range(max(2, kh * kw)))  # ky * Kw + kx
        ky = Signal(range(max(2, kh)))
        kx = Signal(range(max(2, kw)))
        oc = Signal(range(max(2, cout)))
        oc_kernel = Signal(range(max(2, KW)))  # oc * C * Kh * Kw
        oc_neuron = Signal(range(max(2, N)))  # oc * Ho * Wo
        pad_y, pad_x = spec.pad_before
        dil_y, dil_x = spec.dilation
        span = max(dil_y * (kh - 1), dil_x * (kw - 1))
        ty = Signal(range(-span - 1, height + pad_y + 1))  # y + pad - ky * dilation
        tx = Signal(range(-span - 1, width + pad_x + 1))
        tx0 = Signal.like(tx)

        def output_of(t, stride, size):
            """(reaches, output coordinate) of an offset ``t`` (ConvSpec._output_of)."""
            shift = stride.bit_length() - 1
            coordinate = Signal(range(max(2, size)))
            m.d.comb += coordinate.eq((t >> shift)[: len(coordinate)])
            aligned = Const(1) if stride == 1 else (t[0] == 0)
            return (t >= 0) & aligned & ((t >> shift) < size), coordinate

        reach_y, oy = output_of(ty, spec.stride[0], out_h)
        reach_x, ox = output_of(tx, spec.stride[1], out_w)
        reach = Signal()
        m.d.comb += reach.eq(reach_y & reach_x)
        s0_neuron = Signal(range(max(2, N)))
        s0_kernel = Signal(range(max(2, KW)))
        m.d.comb += [
            s0_neuron.eq(oy * out_w + ox + oc_neuron),
            s0_kernel.eq(c_base + pos + oc_kernel),
        ]
        s0_valid = (ev_state == ITER) & reach
        last_channel = (oc == cout - 1) | ~reach
        last_iteration = (ev_state == ITER) & last_channel & (ky == kh - 1) & (kx == kw - 1)

        r_valid, r_neuron = Signal(), Signal(range(max(2, N)))
        w_valid, w_neuron = Signal(), Signal(range(max(2, N)))
        w_raw = Signal(signed(config.acc_width))
        w_weight = Signal(signed(config.weight_width))
        # No forwarding: an op's read (S0) is issued two clocks before its write (W), so it
        # misses the writes of the ops issued in the two clocks before it. Those belong to the
        # same event (an event's first op comes three clocks after the previous event's last,
        # the two decode clocks between them), and one event reaches a neuron once
        # (ConvSpec.fanout), so they never write the word it reads.
        event_idle = (ev_state == IDLE) & ~r_valid & ~w_valid

        m.d.comb += self.spikes_in.ready.eq((phase == RUN) & ((ev_state == IDLE) | last_iteration))
        accept_event = self.spikes_in.valid & self.spikes_in.ready
        in_axon = self.spikes_in.payload
        axon_ok = (in_axon < A) if A < (1 << config.axon_bits) else Const(1)
        under_limit = events < config.max_events_per_step

        with m.If(ev_state == ITER):
            with m.If(~last_channel):
                m.d.sync += [
                    oc.eq(oc + 1),
                    oc_kernel.eq(oc_kernel + cin * kh * kw),
                    oc_neuron.eq(oc_neuron + out_h * out_w),
                ]
            with m.Else():
                m.d.sync += [oc.eq(0), oc_kernel.eq(0), oc_neuron.eq(0), pos.eq(pos + 1)]
                with m.If(kx == kw - 1):
                    m.d.sync += [kx.eq(0), tx.eq(tx0), ky.eq(ky + 1), ty.eq(ty - dil_y)]
                    with m.If(ky == kh - 1):
                        m.d.sync += ev_state.eq(IDLE)
                with m.Else():
                    m.d.sync += [kx.eq(kx + 1), tx.eq(tx - dil_x)]

        # Decode axon = c*H*W + y*W + x without a divider: in the first clock two exact
        # constant reciprocals of the axon in parallel give c = axon // (H*W) and the row
        # index c*H + y = axon // W; in the second, y and x by constant multiplies and
        # subtractions. One multiplier level per clock (a DSP block on the ECP5).
        mul_c, shift_c = _reciprocal(height * width, A - 1)
        mul_row, shift_row = _reciprocal(width, A - 1)
        dec_c = Signal(range(max(2, cin)))
        dec_row = Signal(range(max(2, cin * height)))
        y = Signal(range(max(2, height)))
        x = Signal(range(max(2, width)))
        m.d.comb += [
            y.eq(dec_row - dec_c * height),
            x.eq(ev_axon - dec_row * width),  # ev_axon holds until the last iteration
        ]
        with m.If(ev_state == DECODE):
            m.d.sync += [
                ev_state.eq(DECODE2),
                dec_c.eq((ev_axon * mul_c) >> shift_c),
                dec_row.eq((ev_axon * mul_row) >> shift_row),
            ]
        # With pooling, a third clock divides y and x by the window (ConvSpec.pooled_position):
        # a shift for a power of two, a constant reciprocal otherwise; an event in the rows or
        # columns that pooling drops goes back to IDLE there.
        if spec.pooled:
            (pool_y, pool_x), (_, pooled_h, pooled_w) = spec.pool, spec.pooled_shape
            in_y, in_x = Signal.like(y), Signal.like(x)
            with m.If(ev_state == DECODE2):
                m.d.sync += [ev_state.eq(DECODE3), in_y.eq(y), in_x.eq(x)]

            def pooled(value, window, limit):
                multiplier, shift = _reciprocal(window, limit)
                return (value * multiplier) >> shift if multiplier != 1 else value >> shift

            y, x = pooled(in_y, pool_y, height - 1), pooled(in_x, pool_x, width - 1)
            start_state = DECODE3
            dropped = (in_y >= pooled_h * pool_y) | (in_x >= pooled_w * pool_x)
            next_state = Mux(dropped, IDLE, ITER)
        else:
            start_state, next_state = DECODE2, ITER
        with m.If(ev_state == start_state):
            m.d.sync += [
                ev_state.eq(next_state),
                c_base.eq(dec_c * (kh * kw)),
                pos.eq(0),
                ky.eq(0),
                kx.eq(0),
                oc.eq(0),
                oc_kernel.eq(0),
                oc_neuron.eq(0),
                ty.eq(y + pad_y),
                tx.eq(x + pad_x),
                tx0.eq(x + pad_x),
            ]

        with m.If(accept_event):
            with m.If(~axon_ok):
                m.d.sync += saturating_increment(invalid_count)
            with m.Elif(~under_limit):
                m.d.sync += saturating_increment(overflow_count)
            with m.Else():
                m.d.sync += [
                    ev_axon.eq(in_axon),
                    ev_state.eq(DECODE),
                    events.eq(events + 1),
                    saturating_increment(events_status),
                ]

        m.d.sync += [
            r_valid.eq(s0_valid),
            r_neuron.eq(s0_neuron),
            w_valid.eq(r_valid),
            w_neuron.eq(r_neuron),
            w_raw.eq(acc_rd.data),
            w_weight.eq(kernel_rd.data),
        ]
        w_sum = Signal(signed(config.acc_width))
        m.d.comb += w_sum.eq(w_raw + w_weight)

        # ---- Commands (between steps, with the event pipeline drained).
        cmd = Signal(config.cmd_layout)
        cmd_ok = Signal()
        rsp_data = Signal(signed(config.data_width))
        rsp_error = Signal()
        m.d.comb += self.cmd.ready.eq((phase == RUN) & event_idle & ~self.spikes_in.valid)
        accept_cmd = self.cmd.valid & self.cmd.ready
        payload = self.cmd.payload
        neuron_ok = payload.neuron < N
        state_targets = {"v": Target.V, "i0": Target.I0}
        state_targets.update(refractory=Target.REFRACTORY, pending=Target.PENDING)
        param_codes = dict(_PARAM_TARGETS)
        ok = Signal()
        with m.Switch(payload.target):
            for name in states:
                with m.Case(state_targets[name]):
                    m.d.comb += ok.eq(neuron_ok)
            for name in params_mem:
                with m.Case(param_codes[name]):
                    m.d.comb += ok.eq(neuron_ok)
            with m.Case(Target.ACC0):
                m.d.comb += ok.eq(neuron_ok & (payload.axon == 0))
            with m.Case(Target.WEIGHT0):
                m.d.comb += ok.eq((payload.neuron < KW) & (payload.axon == 0))
            with m.Case(Target.STATUS):
                m.d.comb += ok.eq(~payload.write & (payload.neuron <= Status.EVENTS_THIS_STEP))
        with m.If(accept_cmd):
            m.d.sync += [cmd.eq(payload), cmd_ok.eq(ok)]
            m.d.sync += phase.eq(Mux(ok, DBG_ISSUE, DBG_RESPOND))
            m.d.sync += [rsp_error.eq(~ok), rsp_data.eq(0)]
        with m.If(phase == DBG_ISSUE):
            m.d.sync += phase.eq(DBG_CAPTURE)
        cmd_write = (phase == DBG_ISSUE) & cmd.write
        with m.If(phase == DBG_CAPTURE):
            m.d.sync += phase.eq(DBG_RESPOND)
            with m.If(cmd.write):
                m.d.sync += rsp_data.eq(cmd.data)
            with m.Else():
                with m.Switch(cmd.target):
                    for name, (rd, _) in states.items():
                        with m.Case(state_targets[name]):
                            m.d.sync += rsp_data.eq(rd.data)
                    for name, (rd, _) in params_mem.items():
                        with m.Case(param_codes[name]):
                            m.d.sync += rsp_data.eq(rd.data)
                    with m.Case(Target.ACC0):
                        m.d.sync += rsp_data.eq(acc_rd.data)
                    with m.Case(Target.WEIGHT0):
                        m.d.sync += rsp_data.eq(kernel_rd.data)
                    with m.Case(Target.STATUS):
                        with m.Switch(cmd.neuron):
                            with m.Case(Status.OVERFLOW_EVENTS):
                                m.d.sync += rsp_data.eq(overflow_count)
                            with m.Case(Status.INVALID_AXON_EVENTS):
                                m.d.sync += rsp_data.eq(invalid_count)
                            with m.Case(Status.STEP):
                                m.d.sync += rsp_data.eq(step_number)
                            with m.Case(Status.EVENTS_THIS_STEP):
                                m.d.sync += rsp_data.eq(events_status)
        m.d.comb += [
            self.rsp.valid.eq(phase == DBG_RESPOND),
            self.rsp.payload.data.eq(rsp_data),
            self.rsp.payload.error.eq(rsp_error),
        ]
        with m.If(self.rsp.valid & self.rsp.ready):
            m.d.sync += phase.eq(RUN)

        # ---- Sweep: one neuron per clock through the update pipeline, while the spike FIFO
        # has room for every neuron in flight.
        m.d.comb += self.step.ready.eq(
            (phase == RUN) & event_idle & ~self.spikes_in.valid & ~self.cmd.valid
        )
        update = NeuronUpdate(
            p,
            drive_width=config.acc_width,
            per_neuron=config.per_neuron,
            tag_width=config.neuron_bits,
        )
        m.submodules.update = update
        spike_fifo = fifo.SyncFIFO(width=config.spike_layout.size, depth=config.fifo_depth)
        m.submodules.spike_fifo = spike_fifo
        sw_addr = Signal(range(N + 1))
        in_flight = Signal(range(config.update_latency + 3))
        issue = (
            (phase == SWEEP) & (sw_addr < N) & (in_flight + spike_fifo.level < config.fifo_depth)
        )
        u_valid = Signal()
        u_neuron = Signal(config.neuron_bits)
        m.d.sync += [u_valid.eq(issue), u_neuron.eq(sw_addr[: config.neuron_bits])]
        with m.If(self.step.valid & self.step.ready):
            m.d.sync += [phase.eq(SWEEP), sw_addr.eq(0)]
        with m.If(issue):
            m.d.sync += sw_addr.eq(sw_addr + 1)
        m.d.sync += in_flight.eq(in_flight + issue - update.out_valid)
        m.d.comb += [
            update.en.eq(1),
            update.in_valid.eq(u_valid),
            update.in_tag.eq(u_neuron),
            update.in_v.eq(states["v"][0].data),
            update.in_drive[0].eq(acc_rd.data),
        ]
        if nc:
            m.d.comb += update.in_i[0].eq(states["i0"][0].data)
        if period:
            m.d.comb += update.in_refractory.eq(states["refractory"][0].data)
        if p.reset_delay:
            m.d.comb += update.in_pending.eq(states["pending"][0].data)
        for name, (rd, _) in params_mem.items():
            m.d.comb += getattr(update, f"in_{name}").eq(rd.data)
        write_back = update.out_valid
        word = Signal(config.spike_layout)
        m.d.comb += [
            word.neuron.eq(update.out_tag),
            word.count.eq(update.out_spikes),
            word.step.eq(step_number),
            spike_fifo.w_data.eq(word),
            spike_fifo.w_en.eq(write_back & (update.out_spikes != 0)),
        ]
        out_valid = Signal()
        out_word = Signal(config.spike_layout)
        m.d.comb += [self.spikes_out.valid.eq(out_valid), self.spikes_out.payload.eq(out_word)]
        with m.If(~out_valid | self.spikes_out.ready):
            m.d.sync += out_valid.eq(0)
            with m.If(spike_fifo.r_rdy):
                m.d.comb += spike_fifo.r_en.eq(1)
                m.d.sync += [out_valid.eq(1), out_word.eq(spike_fifo.r_data)]
        with m.If(
            (phase == SWEEP)
            & (sw_addr == N)
            & (in_flight == 0)
            & ~u_valid
            & (spike_fifo.level == 0)
            & ~out_valid
        ):
            m.d.sync += phase.eq(DONE)
        m.d.comb += [self.done.valid.eq(phase == DONE), self.done.payload.eq(step_number)]
        with m.If(self.done.valid & self.done.ready):
            m.d.sync += [phase.eq(RUN), step_number.eq(step_number + 1), events_status.eq(0)]
            m.d.sync += events.eq(0)

        # ---- Read addresses and write ports, per phase.
        state_read = Mux(phase == SWEEP, sw_addr, cmd.neuron)
        for rd, _ in (*states.values(), *params_mem.values()):
            m.d.comb += rd.addr.eq(state_read)
        m.d.comb += [
            acc_rd.addr.eq(Mux(phase == SWEEP, sw_addr, Mux(phase == RUN, s0_neuron, cmd.neuron))),
            kernel_rd.addr.eq(Mux(phase == RUN, s0_kernel, cmd.neuron)),
        ]
        for name, (_, wr) in states.items():
            with m.If(phase == INIT):
                m.d.comb += [wr.en.eq(1), wr.addr.eq(init_ctr), wr.data.eq(0)]
            with m.Elif(write_back):
                m.d.comb += [wr.en.eq(1), wr.addr.eq(update.out_tag)]
                if name == "v":
                    m.d.comb += wr.data.eq(update.out_v)
                elif name == "i0":
                    m.d.comb += wr.data.eq(update.out_i[0])
                elif name == "refractory":
                    m.d.comb += wr.data.eq(update.out_refractory)
                else:
                    m.d.comb += wr.data.eq(update.out_pending)
            with m.Elif(cmd_write & (cmd.target == state_targets[name])):
                m.d.comb += [wr.en.eq(1), wr.addr.eq(cmd.neuron), wr.data.eq(cmd.data)]
        for name, (_, wr) in params_mem.items():
            with m.If(cmd_write & (cmd.target == param_codes[name])):
                m.d.comb += [wr.en.eq(1), wr.addr.eq(cmd.neuron), wr.data.eq(cmd.data)]
        with m.If(phase == INIT):
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(init_ctr), acc_wr.data.eq(0)]
        with m.Elif(issue):
            # The sweep reads a neuron's drive and clears it in the same clock (read-first).
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(sw_addr), acc_wr.data.eq(0)]
        with m.Elif(w_valid):
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(w_neuron), acc_wr.data.eq(w_sum)]
        with m.Elif(cmd_write & (cmd.target == Target.ACC0)):
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(cmd.neuron), acc_wr.data.eq(cmd.data)]
        with m.If(cmd_write & (cmd.target == Target.WEIGHT0)):
            m.d.comb += [
                kernel_wr.en.eq(1),
                kernel_wr.addr.eq(cmd.neuron),
                kernel_wr.data.eq(cmd.data),
            ]
        return m
