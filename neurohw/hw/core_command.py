"""The command/response port of a :class:`neurohw.hw.core.NeuronCore` (``docs/core.md``,
"Commands"): target decoding, the debug read pipeline and the response; the status words and
the response handshake (:func:`status_words`, :func:`status_response`, :func:`respond`) are
shared with :class:`neurohw.hw.conv_core.ConvCore`.

Each function adds its part's logic to the core's module through the shared
:class:`neurohw.hw.core_build.CoreBuild` (the signals the parts exchange), in the order
:meth:`neurohw.hw.core.NeuronCore.elaborate` calls them; the order and the names are
those of the single elaborate they were split from, so the Verilog is unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Array, Cat, Const, Signal, signed

from .core_build import CoreBuild, Phase
from .core_config import _PARAM_TARGETS, ACTIVITY_COUNTERS, ActivityStatus, Status, Target


def command_decode(build: CoreBuild) -> None:
    """Command port: acceptance, target check, address set-up and the read wait."""
    core, m, A, C, D, N, P = build.core, build.m, build.A, build.C, build.D, build.N, build.P
    S, bank_stages, cap, event_idle = build.S, build.bank_stages, build.cap, build.event_idle
    fan_count, fan_start, lane_bits = build.fan_count, build.fan_start, build.lane_bits
    learn_enable, nc, p, period = build.learn_enable, build.nc, build.p, build.period
    phase, ring, ring_address = build.phase, build.ring, build.ring_address
    ring_depth, ring_pos, sparse, stdp = build.ring_depth, build.ring_pos, build.sparse, build.stdp
    sum_mode = build.sum_mode

    # ---- Commands.
    build.cmd = Signal(core.cmd_layout)
    build.cmd_ok = Signal()
    build.cmd_lane = Signal(range(P))
    build.cmd_local = Signal(range(D))
    build.cmd_waddr = Signal(range(A * D if not sparse else S))
    build.rsp_data = Signal(signed(core.data_width))
    build.rsp_error = Signal()
    m.d.comb += core.cmd.ready.eq((phase == Phase.RUN) & event_idle & ~core.spikes_in.valid)
    build.accept_cmd = core.cmd.valid & core.cmd.ready
    build.payload = core.cmd.payload
    neuron_ok = build.payload.neuron < N
    axon_ok_cmd = build.payload.axon < A
    synapse_targets = [Target.WEIGHT0 + c for c in range(C)]
    if sparse:
        synapse_targets.append(Target.SYNAPSE_TARGET)
    ok = Signal()
    with m.Switch(build.payload.target):
        with m.Case(Target.V):
            m.d.comb += ok.eq(neuron_ok)
        for c in range(nc):
            with m.Case(Target.I0 + c):
                m.d.comb += ok.eq(neuron_ok)
        if period:
            with m.Case(Target.REFRACTORY):
                m.d.comb += ok.eq(neuron_ok)
        if p.reset_delay:
            with m.Case(Target.PENDING):
                m.d.comb += ok.eq(neuron_ok)
        if sum_mode:
            with m.Case(*(Target.ACC0 + c for c in range(C))):
                m.d.comb += ok.eq(neuron_ok & (build.payload.axon < ring_depth))
        if sparse:
            # The slot is checked against the axon's fan-out in DBG_LOOKUP.
            with m.Case(*(Target.WEIGHT0 + c for c in range(C))):
                m.d.comb += ok.eq(axon_ok_cmd)
            with m.Case(Target.SYNAPSE_TARGET):
                m.d.comb += ok.eq(axon_ok_cmd & ~build.payload.write)
        else:
            with m.Case(*(Target.WEIGHT0 + c for c in range(C))):
                m.d.comb += ok.eq(neuron_ok & axon_ok_cmd)
        for name, code in _PARAM_TARGETS:
            if name in core.per_neuron:
                with m.Case(code):
                    m.d.comb += ok.eq(neuron_ok)
        with m.Case(Target.STATUS):
            writable = (build.payload.neuron == Status.LEARNING) if stdp is not None else Const(0)
            m.d.comb += ok.eq(
                (build.payload.neuron < core.config.n_status) & (~build.payload.write | writable)
            )
        if cap is not None:
            with m.Case(Target.INPUT_COUNT):
                m.d.comb += ok.eq(axon_ok_cmd & ~build.payload.write)
        if stdp is not None:
            with m.Case(Target.PRE_TRACE):
                m.d.comb += ok.eq(axon_ok_cmd & ~build.payload.write)
            with m.Case(Target.POST_TRACE):
                m.d.comb += ok.eq(neuron_ok & ~build.payload.write)
    local = build.payload.neuron[lane_bits:]
    build.cmd_acc_addr = Signal(range(ring_depth * D))
    with m.If(build.accept_cmd):
        m.d.sync += [
            build.cmd.eq(build.payload),
            build.cmd_ok.eq(ok),
            build.cmd_local.eq(local),
            phase.eq(Phase.DBG_LOOKUP if sparse else Phase.DBG_ISSUE),
        ]
        if ring:
            m.d.sync += build.cmd_acc_addr.eq(
                ring_address(build.payload.axon[: len(ring_pos)], local)
            )
        else:
            m.d.sync += build.cmd_acc_addr.eq(local)
        if not sparse:
            m.d.sync += build.cmd_waddr.eq(build.payload.axon * D + local)
        if P > 1:
            m.d.sync += build.cmd_lane.eq(build.payload.neuron[:lane_bits])
    if sparse:
        with m.If(phase == Phase.DBG_LOOKUP):
            # The fan-out of cmd.axon was read in the accept cycle.
            m.d.sync += [
                build.cmd_waddr.eq(fan_start + build.cmd.neuron),
                phase.eq(Phase.DBG_ISSUE),
            ]
            with m.If(Cat(*(build.cmd.target == code for code in synapse_targets)).any()):
                m.d.sync += build.cmd_ok.eq(build.cmd_ok & (build.cmd.neuron < fan_count))
    build.dbg_write = (phase == Phase.DBG_ISSUE) & build.cmd.write & build.cmd_ok
    if stdp is not None:
        with m.If(build.dbg_write & (build.cmd.target == Target.STATUS)):
            m.d.sync += learn_enable.eq(build.cmd.data[0])
    # The response is taken from registers: every memory's read data is registered as it
    # is (state: here; accumulators / the per-event current and the weights: in the event
    # pipeline's R and W stages), two cycles after the read for weights in several banks.
    # Cycles from the read (DBG_ISSUE) to the capture: 1 + W waits, W the register stages
    # between a weight read and the weight register of stage W (sparse: at least one, the
    # registered read data of the one-bank memory).
    weight_stages = max(bank_stages, 1) if sparse else bank_stages
    dbg_wait = Signal(range(weight_stages + 2))
    with m.If(phase == Phase.DBG_ISSUE):
        m.d.sync += [phase.eq(Phase.DBG_WAIT), dbg_wait.eq(weight_stages)]
    with m.If(phase == Phase.DBG_WAIT):
        m.d.sync += dbg_wait.eq(dbg_wait - 1)
        with m.If(dbg_wait == 0):
            m.d.sync += phase.eq(Phase.DBG_CAPTURE)


def command_respond(build: CoreBuild) -> None:
    """Command port: capture of the read data and the response."""
    core, m, C, P, cap, cmd = build.core, build.m, build.C, build.P, build.cap, build.cmd
    cmd_lane, cmd_ok, cnt_rd = build.cmd_lane, build.cmd_ok, build.cnt_rd
    events_status, invalid_count, lanes = build.events_status, build.invalid_count, build.lanes
    learn_enable, nc, overflow_count = build.learn_enable, build.nc, build.overflow_count
    p, period, phase, rsp_data = build.p, build.period, build.phase, build.rsp_data
    rsp_error, s2_local, sparse, stdp = build.rsp_error, build.s2_local, build.sparse, build.stdp
    step_number, sum_mode, x_pre_rd = build.step_number, build.sum_mode, build.x_pre_rd

    def registered(value, name):
        reg = Signal.like(value, name=name, reset_less=True)
        m.d.sync += reg.eq(value)
        return reg

    for lane_index, lane in enumerate(lanes):
        lane.dbg_v = registered(lane.v[0].data, f"dbg_v_lane{lane_index}")
        lane.dbg_i = (
            [registered(lane.i[c][0].data, f"dbg_i{c}_lane{lane_index}") for c in range(nc)]
            if sum_mode
            else lane.rmw_raw
        )
        lane.dbg_r = registered(lane.r[0].data, f"dbg_r_lane{lane_index}") if period else None
        lane.dbg_pending = (
            registered(lane.pending[0].data, f"dbg_pending_lane{lane_index}")
            if p.reset_delay
            else None
        )
        lane.dbg_params = {
            name: registered(ports[0].data, f"dbg_{name}_lane{lane_index}")
            for name, ports in lane.params.items()
        }
    dbg_count = registered(cnt_rd.data, "dbg_count") if cap is not None else None
    if stdp is not None:
        dbg_pre_trace = registered(x_pre_rd.data, "dbg_pre_trace")
        for lane_index, lane in enumerate(lanes):
            lane.dbg_post_trace = registered(
                lane.x_post[0].data, f"dbg_post_trace_lane{lane_index}"
            )

    def pick(values):
        return values[0] if P == 1 else Array(values)[cmd_lane]

    with m.If(phase == Phase.DBG_CAPTURE):
        m.d.sync += [rsp_error.eq(~cmd_ok), rsp_data.eq(0), phase.eq(Phase.DBG_RESPOND)]
        with m.If(cmd_ok & ~cmd.write):
            with m.Switch(cmd.target):
                with m.Case(Target.V):
                    m.d.sync += rsp_data.eq(pick([lane.dbg_v for lane in lanes]))
                for c in range(nc):
                    with m.Case(Target.I0 + c):
                        m.d.sync += rsp_data.eq(pick([lane.dbg_i[c] for lane in lanes]))
                if period:
                    with m.Case(Target.REFRACTORY):
                        m.d.sync += rsp_data.eq(pick([lane.dbg_r for lane in lanes]))
                if p.reset_delay:
                    with m.Case(Target.PENDING):
                        m.d.sync += rsp_data.eq(pick([lane.dbg_pending for lane in lanes]))
                if sum_mode:
                    for c in range(C):
                        with m.Case(Target.ACC0 + c):
                            m.d.sync += rsp_data.eq(pick([lane.rmw_raw[c] for lane in lanes]))
                for c in range(C):
                    with m.Case(Target.WEIGHT0 + c):
                        m.d.sync += rsp_data.eq(pick([lane.rmw_weight[c] for lane in lanes]))
                if sparse:
                    with m.Case(Target.SYNAPSE_TARGET):
                        m.d.sync += rsp_data.eq(s2_local)
                for name, code in _PARAM_TARGETS:
                    if name in core.per_neuron:
                        with m.Case(code):
                            m.d.sync += rsp_data.eq(pick([lane.dbg_params[name] for lane in lanes]))
                with m.Case(Target.STATUS):
                    words = status_words(overflow_count, invalid_count, step_number, events_status)
                    words.append((Status.LEARNING, learn_enable))
                    for name, counter in zip(ACTIVITY_COUNTERS, build.activity or ()):
                        words.append((ActivityStatus[name], counter[:16]))
                        words.append((ActivityStatus[f"{name}_HIGH"], counter[16:]))
                    status_response(m, cmd.neuron, rsp_data, words)
                if cap is not None:
                    with m.Case(Target.INPUT_COUNT):
                        m.d.sync += rsp_data.eq(dbg_count)
                if stdp is not None:
                    with m.Case(Target.PRE_TRACE):
                        m.d.sync += rsp_data.eq(dbg_pre_trace)
                    with m.Case(Target.POST_TRACE):
                        m.d.sync += rsp_data.eq(pick([lane.dbg_post_trace for lane in lanes]))
    respond(m, core, phase == Phase.DBG_RESPOND, phase.eq(Phase.RUN), rsp_data, rsp_error)


def status_words(overflow_count, invalid_count, step_number, events_status) -> list:
    """``(Status, value)`` of the status words every core has, in ``Status`` order."""
    return [
        (Status.OVERFLOW_EVENTS, overflow_count),
        (Status.INVALID_AXON_EVENTS, invalid_count),
        (Status.STEP, step_number),
        (Status.EVENTS_THIS_STEP, events_status),
    ]


def status_response(m, index, rsp_data, words) -> None:
    """A ``Target.STATUS`` read: ``rsp_data`` takes the value of the word ``index`` selects
    among ``words`` (``(status code, value)`` pairs); any other index leaves it."""
    with m.Switch(index):
        for code, value in words:
            with m.Case(code):
                m.d.sync += rsp_data.eq(value)


def respond(m, core, responding, back_to_run, rsp_data, rsp_error) -> None:
    """The response port: ``rsp`` offers ``rsp_data`` / ``rsp_error`` while ``responding``;
    its transfer ends the command (``back_to_run``, the phase assignment)."""
    m.d.comb += [
        core.rsp.valid.eq(responding),
        core.rsp.payload.data.eq(rsp_data),
        core.rsp.payload.error.eq(rsp_error),
    ]
    with m.If(core.rsp.valid & core.rsp.ready):
        m.d.sync += back_to_run
