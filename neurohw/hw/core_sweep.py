"""The control and the neuron sweep of a :class:`neurohw.hw.core.NeuronCore`: phases, reset
walk, the sweep through each lane's :class:`neurohw.hw.neuron_update.NeuronUpdate`, the spike
FIFOs and the end of a step.

Each function adds its part's logic to the core's module through the shared
:class:`neurohw.hw.core_build.CoreBuild` (the signals the parts exchange), in the order
:meth:`neurohw.hw.core.NeuronCore.elaborate` calls them; the order and the names are
those of the single elaborate they were split from, so the Verilog is unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Mux, Signal

from .core_build import CoreBuild, Phase
from .core_config import (
    ACTIVITY_COUNTER_WIDTH,
    ACTIVITY_COUNTERS,
    COUNTER_WIDTH,
    PER_NEURON_NAMES,
    SPIKE_FIFO_DEPTH,
    STEP_WIDTH,
)


def control(build: CoreBuild) -> None:
    """The phases, status counters, delay-ring position and the reset walk."""
    core, m, A, D, ring = build.core, build.m, build.A, build.D, build.ring
    ring_depth, stdp = build.ring_depth, build.stdp

    build.phase = Signal(range(14), init=Phase.INIT)
    # Debug reads keep their addresses from DBG_ISSUE to DBG_CAPTURE.
    build.dbg_reading = (
        (build.phase == Phase.DBG_ISSUE)
        | (build.phase == Phase.DBG_WAIT)
        | (build.phase == Phase.DBG_CAPTURE)
    )
    build.step_number = Signal(STEP_WIDTH)
    build.overflow_count = Signal(COUNTER_WIDTH)
    build.invalid_count = Signal(COUNTER_WIDTH)
    build.events = Signal(range(core.max_events_per_step + 1) if core.config.event_limited else 1)
    build.events_status = Signal(COUNTER_WIDTH)
    m.d.comb += core.overflow.eq(build.overflow_count != 0)
    # Learning on (stdp only): off freezes the weights and the traces (the model's
    # learn=False), e.g. to evaluate what was learned.
    build.learn_enable = Signal(init=1 if stdp is not None else 0)

    def saturating_increment(counter):
        return counter.eq(Mux(counter == (1 << len(counter)) - 1, counter, counter + 1))

    build.saturating_increment = saturating_increment
    # Activity counters (``activity_counters``), in ACTIVITY_COUNTERS order.
    build.activity = (
        [
            Signal(ACTIVITY_COUNTER_WIDTH, name=f"activity_{name.lower()}")
            for name in ACTIVITY_COUNTERS
        ]
        if core.config.activity_counters
        else None
    )

    # Delay ring: slot `ring_pos` (the step number modulo max_delay) holds this step's drive;
    # it starts at word `ring_base` = ring_pos * D of every accumulator memory.
    build.ring_pos = Signal(range(ring_depth))
    build.ring_base = Signal(range(ring_depth * D))

    def ring_address(offset, local):
        """Accumulator word of ``local`` in the slot ``offset`` (< ring_depth) steps ahead."""
        if not ring:
            return local
        slot = Signal(range(2 * ring_depth), name="ring_slot")
        m.d.comb += slot.eq(build.ring_pos + offset)
        wrapped = Mux(slot >= ring_depth, slot - ring_depth, slot)[: len(build.ring_pos)]
        return (wrapped * D + local)[: len(build.ring_base)]

    build.ring_address = ring_address

    # ---- Reset: clear states, accumulators, input counts and traces (weights and params
    # stay).
    init_count = max(ring_depth * D, A)
    build.init_ctr = Signal(range(init_count))
    build.init_neuron = (build.phase == Phase.INIT) & (build.init_ctr < D)
    build.init_acc = (build.phase == Phase.INIT) & (build.init_ctr < ring_depth * D)
    build.init_axon = (build.phase == Phase.INIT) & (build.init_ctr < A)
    with m.If(build.phase == Phase.INIT):
        m.d.sync += build.init_ctr.eq(build.init_ctr + 1)
        with m.If(build.init_ctr == init_count - 1):
            m.d.sync += build.phase.eq(Phase.RUN)


def sweep(build: CoreBuild) -> None:
    """The sweep: one local address per enabled cycle through every lane's update, the
    input-count clear walk, the spike FIFOs merged onto ``spikes_out``."""
    core, m, A, D, cap = build.core, build.m, build.A, build.D, build.cap
    event_idle, lane_bits, lane_valid = build.event_idle, build.lane_bits, build.lane_valid
    lanes, nc, p, period, phase = build.lanes, build.nc, build.p, build.period, build.phase
    pipe_en, stdp, step_number = build.pipe_en, build.stdp, build.step_number

    # ---- Sweep: one local address per enabled cycle, through every lane's update.
    m.d.comb += core.step.ready.eq(
        (phase == Phase.RUN) & event_idle & ~core.spikes_in.valid & ~core.cmd.valid
    )
    build.sw_local = Signal(range(D))
    sw1_valid = Signal()
    sw1_local = Signal(range(D))
    wb_count = Signal(range(D))
    wb_done = Signal()
    build.clear_busy = Signal()
    build.clear_axon = Signal(range(A))

    with m.If(core.step.valid & core.step.ready):
        m.d.sync += [phase.eq(Phase.SWEEP), build.sw_local.eq(0), wb_count.eq(0), wb_done.eq(0)]
        if cap is not None:
            m.d.sync += [build.clear_busy.eq(1), build.clear_axon.eq(0)]
    with m.If(pipe_en):
        m.d.sync += [sw1_valid.eq(phase == Phase.SWEEP), sw1_local.eq(build.sw_local)]
        with m.If(phase == Phase.SWEEP):
            m.d.sync += build.sw_local.eq(build.sw_local + 1)
            with m.If(build.sw_local == D - 1):
                m.d.sync += phase.eq(Phase.FINISH)
    build.count_clear = Signal()
    if cap is not None:
        # With STDP the same walk updates the pre traces from the counts it reads; their
        # read ports are always enabled, so it never waits for a stalled sweep.
        m.d.comb += build.count_clear.eq(build.clear_busy)
        with m.If(build.clear_busy):
            m.d.sync += build.clear_axon.eq(build.clear_axon + 1)
            with m.If(build.clear_axon == A - 1):
                m.d.sync += build.clear_busy.eq(0)

    for lane_index, lane in enumerate(lanes):
        nu = lane.update
        m.d.comb += [
            nu.en.eq(pipe_en),
            nu.in_valid.eq(sw1_valid & lane_valid(lane_index, sw1_local)),
            nu.in_tag.eq(sw1_local),
            nu.in_v.eq(lane.v[0].data),
        ]
        for c in range(nc):
            m.d.comb += nu.in_i[c].eq(lane.i[c][0].data)
        if period:
            m.d.comb += nu.in_refractory.eq(lane.r[0].data)
        if p.reset_delay:
            m.d.comb += nu.in_pending.eq(lane.pending[0].data)
        for c, (rd, _) in enumerate(lane.acc):
            m.d.comb += nu.in_drive[c].eq(rd.data)
        for name in PER_NEURON_NAMES:
            if name in lane.params:
                m.d.comb += getattr(nu, f"in_{name}").eq(lane.params[name][0].data)
        spiking = nu.out_valid & (nu.out_spikes != 0)
        lane.write_back = nu.out_valid & pipe_en
        word = Signal(core.spike_layout, name=f"spike_word_lane{lane_index}")
        m.d.comb += [
            word.neuron.eq((nu.out_tag << lane_bits) | lane_index),
            word.count.eq(nu.out_spikes),
            word.step.eq(step_number),
            lane.fifo.w_data.eq(word),
            lane.fifo.w_en.eq(spiking & pipe_en),
        ]
    # The enable is a register: high when every lane's FIFO had room for two more words in
    # the previous cycle, so it has room for the one word a lane can write now. (It fans
    # out to every read port and pipeline register of every lane; no FIFO or pipeline
    # logic reaches it combinationally.)
    m.d.sync += pipe_en.eq(Cat(*(lane.fifo.level <= SPIKE_FIFO_DEPTH - 2 for lane in lanes)).all())

    # Merge the lanes' spike FIFOs into spikes_out through a register, lowest lane first
    # (a registered choice keeps the offered payload stable until it is taken).
    out_valid = spike_output(m, core, [lane.fifo for lane in lanes])

    write_back = lanes[0].write_back  # lane 0 holds a neuron at every local address
    with m.If(write_back):
        m.d.sync += wb_count.eq(wb_count + 1)
        with m.If(wb_count == D - 1):
            m.d.sync += wb_done.eq(1)
    fifos_empty = Cat(*(lane.fifo.level == 0 for lane in lanes)).all()
    build.sweep_over = (
        (phase == Phase.FINISH) & wb_done & ~build.clear_busy & fifos_empty & ~out_valid
    )
    if stdp is None:
        with m.If(build.sweep_over):
            m.d.sync += phase.eq(Phase.DONE)


def spike_output(m, core, fifos):
    """``spikes_out`` from the spike FIFOs through a register, lowest FIFO first (a registered
    choice keeps the offered payload stable until it is taken); returns the register's valid.
    Shared with :class:`neurohw.hw.conv_core.ConvCore`."""
    out_valid = Signal()
    out_word = Signal(core.spike_layout)
    m.d.comb += [core.spikes_out.valid.eq(out_valid), core.spikes_out.payload.eq(out_word)]
    with m.If(~out_valid | core.spikes_out.ready):
        m.d.sync += out_valid.eq(0)
        for index, fifo in enumerate(fifos):
            with (m.If if index == 0 else m.Elif)(fifo.r_rdy):
                m.d.comb += fifo.r_en.eq(1)
                m.d.sync += [out_valid.eq(1), out_word.eq(fifo.r_data)]
    return out_valid


def finish_step(build: CoreBuild) -> None:
    """``done``, and the next step's counters and ring slot."""
    core, m, D, events = build.core, build.m, build.D, build.events
    events_status, phase, ring = build.events_status, build.phase, build.ring
    ring_base, ring_depth, ring_pos = build.ring_base, build.ring_depth, build.ring_pos
    step_number = build.step_number
    m.d.comb += [core.done.valid.eq(phase == Phase.DONE), core.done.payload.eq(step_number)]
    with m.If(core.done.valid & core.done.ready):
        m.d.sync += [phase.eq(Phase.RUN), step_number.eq(step_number + 1), events_status.eq(0)]
        if core.config.event_limited:
            m.d.sync += events.eq(0)
        if ring:
            last = ring_pos == ring_depth - 1
            m.d.sync += [
                ring_pos.eq(Mux(last, 0, ring_pos + 1)),
                ring_base.eq(Mux(last, 0, ring_base + D)),
            ]


def count_activity(build: CoreBuild) -> None:
    """The activity counters (``activity_counters`` only), saturating: applied events,
    read-modify-write words, neuron-update passes and spike words out."""
    if build.activity is None:
        return
    core, m, lanes = build.core, build.m, build.lanes
    applied, synaptic_ops, neuron_updates, spikes_out = build.activity
    limit = (1 << ACTIVITY_COUNTER_WIDTH) - 1
    with m.If(build.event_applied):
        m.d.sync += build.saturating_increment(applied)
    with m.If(build.rmw_valid):
        m.d.sync += build.saturating_increment(synaptic_ops)
    # Every lane's update in one cycle: add how many wrote back.
    passes = sum(lane.write_back for lane in lanes)
    total = Signal(ACTIVITY_COUNTER_WIDTH + len(lanes).bit_length(), name="activity_update_sum")
    m.d.comb += total.eq(neuron_updates + passes)
    m.d.sync += neuron_updates.eq(Mux(total > limit, limit, total))
    with m.If(core.spikes_out.valid & core.spikes_out.ready):
        m.d.sync += build.saturating_increment(spikes_out)
