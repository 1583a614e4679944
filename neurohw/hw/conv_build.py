"""The parts of a :class:`neurohw.hw.conv_core.ConvCore` and the context they share.

:meth:`ConvCore.elaborate <neurohw.hw.conv_core.ConvCore.elaborate>` builds a
:class:`ConvBuild` and calls the parts in order: :func:`control` (phases, counters, reset walk),
:func:`memories` (state, per-neuron parameters, and the accumulator and kernel banks, one of
each per lane), :func:`kernel_walk` (the address generator: kernel positions and channel
groups of the event being applied), :func:`event_decode` (an event's ``(c, y, x)``, pooled, by
constant reciprocals), :func:`accumulate` (the read-modify-write of each lane's accumulator),
:func:`commands`, :func:`sweep` (every neuron through the shared
:class:`neurohw.hw.neuron_update.NeuronUpdate`, spikes out) and :func:`memory_ports`. Each part
reads what earlier parts set on the context and sets its own. With one lane and no pooling the
order and the names are those of the single ``elaborate`` they were split from, so that core's
Verilog is unchanged.

Lanes (``docs/core.md``, "Convolution core"): lane ``b`` holds the output channels
``b * G .. b * G + G - 1`` (``G = ceil(out_channels / lanes)``, the last lane possibly fewer):
its kernel bank holds their weights, its accumulator bank their neurons. The banks are
addressed alike (the local address of channel ``b * G + g`` is that of ``g`` in bank 0), so one
address generator drives every lane: ``lanes`` synaptic ops per clock.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import fifo
from amaranth.lib.memory import Memory

from .core_command import respond, status_response, status_words
from .core_config import _PARAM_TARGETS, COUNTER_WIDTH, STEP_WIDTH, Status, Target
from .core_sweep import spike_output
from .neuron_update import NeuronUpdate, per_neuron_contents

__all__ = ["ConvBuild", "reciprocal"]

# Phases of a conv core.
INIT, RUN, DBG_ISSUE, DBG_CAPTURE, DBG_RESPOND, SWEEP, DONE = range(7)
# States of its event engine.
IDLE, DECODE, DECODE2, ITER, DECODE3 = range(5)


def reciprocal(divisor: int, limit: int) -> tuple[int, int]:
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


class ConvBuild:
    """Signals, memories and helpers of one conv core's elaboration, shared between its parts
    (``None`` until the part that sets them has run)."""

    # set by control
    phase = step_number = overflow_count = invalid_count = events_status = events = None
    saturating_increment = memory = None
    # set by memories and reset_walk
    states = acc = params_mem = kernel = init_ctr = None
    # set by kernel_walk
    ev_state = ev_axon = c_base = pos = ky = kx = oc = oc_kernel = oc_neuron = None
    ty = tx = tx0 = s0_neuron = s0_kernel = s0_valid = s0_ok = last_iteration = None
    r_valid = r_neuron = w_valid = w_neuron = w_ok = event_idle = None
    accept_event = in_axon = axon_ok = under_limit = None
    # set by accumulate
    w_sums = None
    # set by commands
    cmd = cmd_write = cmd_bank = cmd_local = None
    # set by sweep
    sw_addr = sw_local = sw_bank = issue = update = write_back = None

    def __init__(self, core):
        self.core = core
        self.config = config = core.config
        self.spec, self.p = config.spec, config.params
        self.m = Module()
        self.N, self.A, self.KW = config.n_neurons, config.n_axons, config.kernel_words
        self.L, self.G = config.lanes, config.channel_groups
        self.bank_neurons, self.bank_words = config.bank_neurons, config.bank_words

    def lane_suffix(self, lane: int) -> str:
        """Lane 0's names are those of the one-lane core."""
        return "" if lane == 0 else f"_lane{lane}"

    def pick(self, values, index):
        """``values[index]`` over the lanes (the value itself with one lane)."""
        return values[0] if self.L == 1 else Array(values)[index]


def control(build: ConvBuild) -> None:
    """Phases, step number, status counters and the memory helper."""
    core, config, m = build.core, build.config, build.m
    build.phase = Signal(range(7), init=INIT)
    build.step_number = Signal(STEP_WIDTH)
    build.overflow_count = Signal(COUNTER_WIDTH)
    build.invalid_count = Signal(COUNTER_WIDTH)
    build.events_status = Signal(COUNTER_WIDTH)
    build.events = Signal(range(config.max_events_per_step + 1))
    m.d.comb += core.overflow.eq(build.overflow_count != 0)

    def saturating_increment(counter):
        return counter.eq(Mux(counter == (1 << len(counter)) - 1, counter, counter + 1))

    def memory(name, shape, init=(), depth=build.N):
        mem = Memory(shape=shape, depth=depth, init=list(init))
        m.submodules[name] = mem
        return mem.read_port(), mem.write_port()

    build.saturating_increment, build.memory = saturating_increment, memory


def memories(build: ConvBuild) -> None:
    """One read and one write port each, read-first (no transparency): the states and the
    per-neuron parameters (one word per neuron), per lane an accumulator bank and a kernel
    bank; then the reset walk."""
    config, m, p, memory, N = build.config, build.m, build.p, build.memory, build.N
    build.states = {"v": memory("v", signed(config.v_state_width))}
    if p.n_currents:
        build.states["i0"] = memory("i0", signed(config.i_state_width))
    if p.refractory_period:
        build.states["refractory"] = memory("refractory", unsigned(config.refractory_bits))
    if p.reset_delay:
        build.states["pending"] = memory("pending", unsigned(1))
    build.acc = [
        memory(f"acc{build.lane_suffix(b)}", signed(config.acc_width), depth=build.bank_neurons)
        for b in range(build.L)
    ]
    build.params_mem = {
        name: memory(
            f"param_{name}",
            shape,
            np.broadcast_to(np.asarray(per_neuron_contents(p, name), dtype=object), (N,)).tolist(),
        )
        for name, shape in config.param_shapes.items()
    }
    build.kernel = [
        memory(
            f"kernel{build.lane_suffix(b)}",
            signed(config.weight_width),
            [int(w) for w in config.kernel_bank(b)],
            depth=build.bank_words,
        )
        for b in range(build.L)
    ]

    # ---- Reset walk: every state and accumulator to 0 (kernel and parameters stay).
    build.init_ctr = init_ctr = Signal(range(N))
    with m.If(build.phase == INIT):
        m.d.sync += init_ctr.eq(init_ctr + 1)
        with m.If(init_ctr == N - 1):
            m.d.sync += build.phase.eq(RUN)


def kernel_walk(build: ConvBuild) -> None:
    """The address generator of the event phase: accept (E), decode (D1, D2 and, pooled, D3;
    :func:`event_decode`), then per clock one kernel position, or one channel group of a
    position that reaches an output (S0: addresses and memory reads), R (read data
    registered), W (add and write; :func:`accumulate`)."""
    config, spec, m, core = build.config, build.spec, build.m, build.core
    cin, height, width = spec.in_shape
    cout, out_h, out_w = spec.out_shape
    kh, kw = spec.kernel_size
    G, bank_neurons, bank_words = build.G, build.bank_neurons, build.bank_words
    build.ev_state = ev_state = Signal(range(5 if spec.pooled else 4))
    build.ev_axon = Signal(config.axon_bits)
    build.c_base = c_base = Signal(range(max(2, bank_words)))  # c * Kh * Kw
    build.pos = pos = Signal(range(max(2, kh * kw)))  # ky * Kw + kx
    build.ky = ky = Signal(range(max(2, kh)))
    build.kx = kx = Signal(range(max(2, kw)))
    build.oc = oc = Signal(range(max(2, G)))  # the channel group g: channel b * G + g of lane b
    build.oc_kernel = oc_kernel = Signal(range(max(2, bank_words)))  # g * C * Kh * Kw
    build.oc_neuron = oc_neuron = Signal(range(max(2, bank_neurons)))  # g * Ho * Wo
    pad_y, pad_x = spec.pad_before
    dil_y, dil_x = spec.dilation
    span = max(dil_y * (kh - 1), dil_x * (kw - 1))
    build.ty = ty = Signal(range(-span - 1, height + pad_y + 1))  # y + pad - ky * dilation
    build.tx = tx = Signal(range(-span - 1, width + pad_x + 1))
    build.tx0 = Signal.like(tx)

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
    build.s0_neuron = s0_neuron = Signal(range(max(2, bank_neurons)))
    build.s0_kernel = s0_kernel = Signal(range(max(2, bank_words)))
    m.d.comb += [
        s0_neuron.eq(oy * out_w + ox + oc_neuron),
        s0_kernel.eq(c_base + pos + oc_kernel),
    ]
    build.s0_valid = (ev_state == ITER) & reach
    last_channel = (oc == G - 1) | ~reach
    build.last_iteration = (ev_state == ITER) & last_channel & (ky == kh - 1) & (kx == kw - 1)
    # Lanes whose last channels are past out_channels skip those groups.
    build.s0_ok = [Const(1) if (b + 1) * G <= cout else (oc < cout - b * G) for b in range(build.L)]

    # (Unpacked as in the one elaborate this was split from, which left the valid bits
    # unnamed in the Verilog: kept, so that the Verilog is unchanged.)
    r_valid, r_neuron = Signal(), Signal(range(max(2, bank_neurons)))
    w_valid, w_neuron = Signal(), Signal(range(max(2, bank_neurons)))
    build.r_valid, build.r_neuron, build.w_valid, build.w_neuron = (
        r_valid,
        r_neuron,
        w_valid,
        w_neuron,
    )
    # No forwarding: an op's read (S0) is issued two clocks before its write (W), so it
    # misses the writes of the ops issued in the two clocks before it. Those belong to the
    # same event (an event's first op comes three clocks after the previous event's last,
    # the decode clocks between them), and one event reaches a neuron once
    # (ConvSpec.fanout), so they never write the word it reads. Each lane has its own bank.
    build.event_idle = (ev_state == IDLE) & ~build.r_valid & ~build.w_valid

    m.d.comb += core.spikes_in.ready.eq(
        (build.phase == RUN) & ((ev_state == IDLE) | build.last_iteration)
    )
    build.accept_event = core.spikes_in.valid & core.spikes_in.ready
    build.in_axon = core.spikes_in.payload
    A = build.A
    build.axon_ok = (build.in_axon < A) if A < (1 << config.axon_bits) else Const(1)
    build.under_limit = build.events < config.max_events_per_step

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
                m.d.sync += [kx.eq(0), tx.eq(build.tx0), ky.eq(ky + 1), ty.eq(ty - dil_y)]
                with m.If(ky == kh - 1):
                    m.d.sync += ev_state.eq(IDLE)
            with m.Else():
                m.d.sync += [kx.eq(kx + 1), tx.eq(tx - dil_x)]


def event_decode(build: ConvBuild) -> None:
    """Decode axon = c*H*W + y*W + x without a divider: in the first clock two exact constant
    reciprocals of the axon in parallel give c = axon // (H*W) and the row index c*H + y =
    axon // W; in the second, y and x by constant multiplies and subtractions. One multiplier
    level per clock (a DSP block on the ECP5). With pooling, a third clock divides y and x by
    the window (ConvSpec.pooled_position): a shift for a power of two, a constant reciprocal
    otherwise; an event in the rows or columns that pooling drops goes back to IDLE there."""
    spec, m, A = build.spec, build.m, build.A
    cin, height, width = spec.in_shape
    kh, kw = spec.kernel_size
    ev_state, ev_axon = build.ev_state, build.ev_axon
    pad_y, pad_x = spec.pad_before
    mul_c, shift_c = reciprocal(height * width, A - 1)
    mul_row, shift_row = reciprocal(width, A - 1)
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
    if spec.pooled:
        (pool_y, pool_x), (_, pooled_h, pooled_w) = spec.pool, spec.pooled_shape
        in_y, in_x = Signal.like(y), Signal.like(x)
        with m.If(ev_state == DECODE2):
            m.d.sync += [ev_state.eq(DECODE3), in_y.eq(y), in_x.eq(x)]

        def pooled(value, window, limit):
            multiplier, shift = reciprocal(window, limit)
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
            build.c_base.eq(dec_c * (kh * kw)),
            build.pos.eq(0),
            build.ky.eq(0),
            build.kx.eq(0),
            build.oc.eq(0),
            build.oc_kernel.eq(0),
            build.oc_neuron.eq(0),
            build.ty.eq(y + pad_y),
            build.tx.eq(x + pad_x),
            build.tx0.eq(x + pad_x),
        ]

    with m.If(build.accept_event):
        with m.If(~build.axon_ok):
            m.d.sync += build.saturating_increment(build.invalid_count)
        with m.Elif(~build.under_limit):
            m.d.sync += build.saturating_increment(build.overflow_count)
        with m.Else():
            m.d.sync += [
                ev_axon.eq(build.in_axon),
                ev_state.eq(DECODE),
                build.events.eq(build.events + 1),
                build.saturating_increment(build.events_status),
            ]


def accumulate(build: ConvBuild) -> None:
    """R and W of every lane: the accumulator word and the kernel weight read in S0 are
    registered, then added (the write is in :func:`memory_ports`)."""
    config, m = build.config, build.m
    m.d.sync += [
        build.r_valid.eq(build.s0_valid),
        build.r_neuron.eq(build.s0_neuron),
        build.w_valid.eq(build.r_valid),
        build.w_neuron.eq(build.r_neuron),
    ]
    build.w_sums, build.w_ok = [], []
    for b in range(build.L):
        suffix = build.lane_suffix(b)
        w_raw = Signal(signed(config.acc_width), name=f"w_raw{suffix}")
        w_weight = Signal(signed(config.weight_width), name=f"w_weight{suffix}")
        m.d.sync += [w_raw.eq(build.acc[b][0].data), w_weight.eq(build.kernel[b][0].data)]
        if isinstance(build.s0_ok[b], Const):
            build.w_ok.append(None)
        else:  # a lane whose last group is partly past out_channels
            r_ok = Signal(name=f"r_ok{suffix}")
            w_ok = Signal(name=f"w_ok{suffix}")
            m.d.sync += [r_ok.eq(build.s0_ok[b]), w_ok.eq(r_ok)]
            build.w_ok.append(w_ok)
        w_sum = Signal(signed(config.acc_width), name=f"w_sum{suffix}")
        m.d.comb += w_sum.eq(w_raw + w_weight)
        build.w_sums.append(w_sum)


def commands(build: ConvBuild) -> None:
    """Commands, between steps with the event pipeline drained: acceptance and target check,
    the read (issue, capture) and the response. With lanes, the bank and the local address of
    an ``ACC0`` neuron or a ``WEIGHT0`` kernel word are found when the command is accepted."""
    core, config, m, N, KW = build.core, build.config, build.m, build.N, build.KW
    phase, states, params_mem = build.phase, build.states, build.params_mem
    build.cmd = cmd = Signal(config.cmd_layout)
    cmd_ok = Signal()
    rsp_data = Signal(signed(config.data_width))
    rsp_error = Signal()
    m.d.comb += core.cmd.ready.eq((phase == RUN) & build.event_idle & ~core.spikes_in.valid)
    accept_cmd = core.cmd.valid & core.cmd.ready
    payload = core.cmd.payload
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
    if build.L > 1:
        lane_addresses(build, payload, accept_cmd)
    else:
        build.cmd_bank, build.cmd_local = Const(0), cmd.neuron
    with m.If(phase == DBG_ISSUE):
        m.d.sync += phase.eq(DBG_CAPTURE)
    build.cmd_write = (phase == DBG_ISSUE) & cmd.write
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
                    acc_data = [rd.data for rd, _ in build.acc]
                    m.d.sync += rsp_data.eq(build.pick(acc_data, build.cmd_bank))
                with m.Case(Target.WEIGHT0):
                    kernel_data = [rd.data for rd, _ in build.kernel]
                    m.d.sync += rsp_data.eq(build.pick(kernel_data, build.cmd_bank))
                with m.Case(Target.STATUS):
                    words = status_words(
                        build.overflow_count,
                        build.invalid_count,
                        build.step_number,
                        build.events_status,
                    )
                    status_response(m, cmd.neuron, rsp_data, words)
    respond(m, core, phase == DBG_RESPOND, phase.eq(RUN), rsp_data, rsp_error)


def lane_addresses(build: ConvBuild, payload, accept_cmd) -> None:
    """The bank and the local address of the accepted command's accumulator neuron or kernel
    word, registered: comparisons with the banks' first words and a subtraction of the
    chosen constant (no divider, no multiplier)."""
    m, L = build.m, build.L
    build.cmd_bank = Signal(range(L), name="cmd_bank")
    build.cmd_local = Signal(range(max(build.bank_neurons, build.bank_words)), name="cmd_local")

    def bank_and_first(size):
        bank, first = Const(0, range(L)), Const(0)
        for b in range(1, L):
            past = payload.neuron >= b * size
            bank, first = Mux(past, b, bank), Mux(past, b * size, first)
        return bank, first

    is_weight = payload.target == Target.WEIGHT0
    weight_bank, weight_first = bank_and_first(build.bank_words)
    neuron_bank, neuron_first = bank_and_first(build.bank_neurons)
    with m.If(accept_cmd):
        m.d.sync += [
            build.cmd_bank.eq(Mux(is_weight, weight_bank, neuron_bank)),
            build.cmd_local.eq(payload.neuron - Mux(is_weight, weight_first, neuron_first)),
        ]


def sweep(build: ConvBuild) -> None:
    """One neuron per clock through the update pipeline, while the spike FIFO has room for
    every neuron in flight; then ``done``. With lanes the drive comes from the neuron's bank
    (``sw_bank``, ``sw_local``), the states from their one memory (``sw_addr``)."""
    core, config, m, p, N = build.core, build.config, build.m, build.p, build.N
    phase, states, step_number = build.phase, build.states, build.step_number
    m.d.comb += core.step.ready.eq(
        (phase == RUN) & build.event_idle & ~core.spikes_in.valid & ~core.cmd.valid
    )
    build.update = update = NeuronUpdate(
        p,
        drive_width=config.acc_width,
        per_neuron=config.per_neuron,
        tag_width=config.neuron_bits,
    )
    m.submodules.update = update
    spike_fifo = fifo.SyncFIFO(width=config.spike_layout.size, depth=config.fifo_depth)
    m.submodules.spike_fifo = spike_fifo
    build.sw_addr = sw_addr = Signal(range(N + 1))
    in_flight = Signal(range(config.update_latency + 3))
    build.issue = issue = (
        (phase == SWEEP) & (sw_addr < N) & (in_flight + spike_fifo.level < config.fifo_depth)
    )
    u_valid = Signal()
    u_neuron = Signal(config.neuron_bits)
    m.d.sync += [u_valid.eq(issue), u_neuron.eq(sw_addr[: config.neuron_bits])]
    with m.If(core.step.valid & core.step.ready):
        m.d.sync += [phase.eq(SWEEP), sw_addr.eq(0)]
    with m.If(issue):
        m.d.sync += sw_addr.eq(sw_addr + 1)
    if build.L > 1:
        build.sw_bank = sw_bank = Signal(range(build.L))
        build.sw_local = sw_local = Signal(range(build.bank_neurons))
        u_bank = Signal.like(sw_bank)
        m.d.sync += u_bank.eq(sw_bank)
        with m.If(core.step.valid & core.step.ready):
            m.d.sync += [sw_bank.eq(0), sw_local.eq(0)]
        with m.If(issue):
            m.d.sync += sw_local.eq(sw_local + 1)
            with m.If(sw_local == build.bank_neurons - 1):
                m.d.sync += [sw_local.eq(0), sw_bank.eq(sw_bank + 1)]
    else:
        build.sw_bank, build.sw_local, u_bank = Const(0), sw_addr, Const(0)
    m.d.sync += in_flight.eq(in_flight + issue - update.out_valid)
    m.d.comb += [
        update.en.eq(1),
        update.in_valid.eq(u_valid),
        update.in_tag.eq(u_neuron),
        update.in_v.eq(states["v"][0].data),
        update.in_drive[0].eq(build.pick([rd.data for rd, _ in build.acc], u_bank)),
    ]
    if p.n_currents:
        m.d.comb += update.in_i[0].eq(states["i0"][0].data)
    if p.refractory_period:
        m.d.comb += update.in_refractory.eq(states["refractory"][0].data)
    if p.reset_delay:
        m.d.comb += update.in_pending.eq(states["pending"][0].data)
    for name, (rd, _) in build.params_mem.items():
        m.d.comb += getattr(update, f"in_{name}").eq(rd.data)
    build.write_back = update.out_valid
    word = Signal(config.spike_layout)
    m.d.comb += [
        word.neuron.eq(update.out_tag),
        word.count.eq(update.out_spikes),
        word.step.eq(step_number),
        spike_fifo.w_data.eq(word),
        spike_fifo.w_en.eq(build.write_back & (update.out_spikes != 0)),
    ]
    out_valid = spike_output(m, core, [spike_fifo])
    with m.If(
        (phase == SWEEP)
        & (sw_addr == N)
        & (in_flight == 0)
        & ~u_valid
        & (spike_fifo.level == 0)
        & ~out_valid
    ):
        m.d.sync += phase.eq(DONE)
    m.d.comb += [core.done.valid.eq(phase == DONE), core.done.payload.eq(step_number)]
    with m.If(core.done.valid & core.done.ready):
        m.d.sync += [phase.eq(RUN), step_number.eq(step_number + 1), build.events_status.eq(0)]
        m.d.sync += build.events.eq(0)


def memory_ports(build: ConvBuild) -> None:
    """Read addresses and write ports, per phase."""
    m, phase, cmd, cmd_write = build.m, build.phase, build.cmd, build.cmd_write
    init_ctr, issue, update = build.init_ctr, build.issue, build.update
    state_read = Mux(phase == SWEEP, build.sw_addr, cmd.neuron)
    for rd, _ in (*build.states.values(), *build.params_mem.values()):
        m.d.comb += rd.addr.eq(state_read)
    for (acc_rd, _), (kernel_rd, _) in zip(build.acc, build.kernel):
        m.d.comb += [
            acc_rd.addr.eq(
                Mux(
                    phase == SWEEP,
                    build.sw_local,
                    Mux(phase == RUN, build.s0_neuron, build.cmd_local),
                )
            ),
            kernel_rd.addr.eq(Mux(phase == RUN, build.s0_kernel, build.cmd_local)),
        ]
    state_targets = {"v": Target.V, "i0": Target.I0}
    state_targets.update(refractory=Target.REFRACTORY, pending=Target.PENDING)
    outputs = {"v": "out_v", "refractory": "out_refractory", "pending": "out_pending"}
    for name, (_, wr) in build.states.items():
        with m.If(phase == INIT):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(init_ctr), wr.data.eq(0)]
        with m.Elif(build.write_back):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(update.out_tag)]
            m.d.comb += wr.data.eq(
                update.out_i[0] if name == "i0" else getattr(update, outputs[name])
            )
        with m.Elif(cmd_write & (cmd.target == state_targets[name])):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(cmd.neuron), wr.data.eq(cmd.data)]
    param_codes = dict(_PARAM_TARGETS)
    for name, (_, wr) in build.params_mem.items():
        with m.If(cmd_write & (cmd.target == param_codes[name])):
            m.d.comb += [wr.en.eq(1), wr.addr.eq(cmd.neuron), wr.data.eq(cmd.data)]
    for b, ((_, acc_wr), (_, kernel_wr)) in enumerate(zip(build.acc, build.kernel)):
        # Lane conditions only where there are lanes (one lane: the one-lane core's logic).
        lanes = build.L > 1
        init = (phase == INIT) & (init_ctr < build.bank_neurons) if lanes else phase == INIT
        clear = issue & (build.sw_bank == b) if lanes else issue
        add = build.w_valid if build.w_ok[b] is None else build.w_valid & build.w_ok[b]
        acc_cmd = cmd_write & (cmd.target == Target.ACC0)
        weight_cmd = cmd_write & (cmd.target == Target.WEIGHT0)
        if lanes:
            acc_cmd, weight_cmd = (
                acc_cmd & (build.cmd_bank == b),
                weight_cmd & (build.cmd_bank == b),
            )
        with m.If(init):
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(init_ctr), acc_wr.data.eq(0)]
        with m.Elif(clear):
            # The sweep reads a neuron's drive and clears it in the same clock (read-first).
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(build.sw_local), acc_wr.data.eq(0)]
        with m.Elif(add):
            m.d.comb += [
                acc_wr.en.eq(1),
                acc_wr.addr.eq(build.w_neuron),
                acc_wr.data.eq(build.w_sums[b]),
            ]
        with m.Elif(acc_cmd):
            m.d.comb += [acc_wr.en.eq(1), acc_wr.addr.eq(build.cmd_local), acc_wr.data.eq(cmd.data)]
        with m.If(weight_cmd):
            m.d.comb += [
                kernel_wr.en.eq(1),
                kernel_wr.addr.eq(build.cmd_local),
                kernel_wr.data.eq(cmd.data),
            ]
