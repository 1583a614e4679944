"""On-chip STDP of a :class:`neurohw.hw.core.NeuronCore` (``docs/learning.md`` section 3):
traces, the potentiation walk and the weight updates.

Each function adds its part's logic to the core's module through the shared
:class:`neurohw.hw.core_build.CoreBuild` (the signals the parts exchange), in the order
:meth:`neurohw.hw.core.NeuronCore.elaborate` calls them; the order and the names are
those of the single elaborate they were split from, so the Verilog is unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Mux, Signal, signed

from ..model.params import DecayKind, Rounding
from ..model.stdp import WeightDependence
from .core_build import CoreBuild, Phase


def traces(build: CoreBuild) -> None:
    """STDP: pre traces (on the input-count clear walk) and post traces (as each update
    leaves the pipeline)."""
    m, A, D, clear_axon, cmd_local = build.m, build.A, build.D, build.clear_axon, build.cmd_local
    cnt_rd, count_clear, event_read_local = build.cnt_rd, build.count_clear, build.event_read_local
    init_axon, init_ctr, init_neuron = build.init_axon, build.init_ctr, build.init_neuron
    lanes, learn_enable, phase, stdp = build.lanes, build.learn_enable, build.phase, build.stdp
    write, x_pre_rd, x_pre_wr = build.write, build.x_pre_rd, build.x_pre_wr
    # ---- Learning (docs/learning.md section 3): trace sweeps and potentiation.
    X = stdp.trace_max

    def trace_next(x, spiked, spec, increment):
        """``min(decay(x) + increment * spiked, X)`` of a non-negative trace."""
        if spec.kind is DecayKind.NONE:
            decayed = x
        elif spec.kind is DecayKind.SHIFT:
            leak = x >> spec.constant
            decayed = x - Mux((leak == 0) & (x != 0), 1, leak)
        else:
            product = x * spec.factor
            if spec.rounding is Rounding.NEAREST:
                product = product + (1 << (spec.bits - 1))
            decayed = product >> spec.bits
        total = Signal(range(2 * X + 2), name="trace_total")
        m.d.comb += total.eq(decayed + Mux(spiked, increment, 0))
        return Mux(total > X, X, total)[: stdp.trace_width]

    # Pre traces: the input-count clearing walk reads each axon's count and trace and
    # writes the trace a cycle later.
    pre_wr_valid = Signal()
    pre_wr_axon = Signal(range(A))
    m.d.sync += [pre_wr_valid.eq(count_clear & learn_enable), pre_wr_axon.eq(clear_axon)]
    write(
        x_pre_wr,
        [
            (init_axon, init_ctr, 0),
            (
                pre_wr_valid,
                pre_wr_axon,
                trace_next(x_pre_rd.data, cnt_rd.data != 0, stdp.pre_decay, stdp.pre_increment),
            ),
        ],
    )
    # Post traces: read as each neuron's update leaves the pipeline, written a cycle
    # later (depression read them during the event phase, before this).
    for lane_index, lane in enumerate(lanes):
        nu = lane.update
        post_valid = Signal(name=f"post_trace_valid_lane{lane_index}")
        post_tag = Signal(range(D), name=f"post_trace_tag_lane{lane_index}")
        post_spiked = Signal(name=f"post_trace_spiked_lane{lane_index}")
        m.d.sync += [
            post_valid.eq(lane.write_back & learn_enable),
            post_tag.eq(nu.out_tag),
            post_spiked.eq(nu.out_spikes != 0),
        ]
        rd, wr = lane.x_post
        with m.Switch(phase):
            with m.Case(Phase.SWEEP, Phase.FINISH):
                m.d.comb += rd.addr.eq(nu.out_tag)
            with m.Case(Phase.DBG_ISSUE, Phase.DBG_WAIT, Phase.DBG_CAPTURE):
                m.d.comb += rd.addr.eq(cmd_local)
            with m.Default():
                m.d.comb += rd.addr.eq(event_read_local)
        write(
            wr,
            [
                (init_neuron, init_ctr, 0),
                (
                    post_valid,
                    post_tag,
                    trace_next(rd.data, post_spiked, stdp.post_decay, stdp.post_increment),
                ),
            ],
        )


def potentiation_walk(build: CoreBuild) -> None:
    """STDP: the list of neurons that spiked and the potentiation walk over their weight
    columns."""
    core, m, A, D, chain, lanes = build.core, build.m, build.A, build.D, build.chain, build.lanes
    learn_busy, learn_enable, phase = build.learn_busy, build.learn_enable, build.phase
    stdp, sweep_over, write_stage = build.stdp, build.sweep_over, build.write_stage
    x_pre_rd = build.x_pre_rd

    # The neurons that spiked, per lane, as the sweep writes their spikes.
    for lane_index, lane in enumerate(lanes):
        lane.post_count = Signal(range(D + 1), name=f"post_count_lane{lane_index}")
        spiked = lane.fifo.w_en
        with m.If(core.step.valid & core.step.ready):
            m.d.sync += lane.post_count.eq(0)
        with m.Elif(spiked):
            m.d.sync += lane.post_count.eq(lane.post_count + 1)
        _, wr = lane.post_list
        m.d.comb += [wr.en.eq(spiked), wr.addr.eq(lane.post_count), wr.data.eq(lane.update.out_tag)]

    # Potentiation, in rounds: in each round every lane takes its next neuron that
    # spiked (if any) and all lanes walk their neurons' columns together, one axon per
    # cycle (the pre trace of that axon is shared).
    learn_round = Signal(range(D + 1))
    build.learn_axon = Signal(range(A))
    build.learn_base = Signal(range(A * D))
    more = Cat(*(learn_round < lane.post_count for lane in lanes)).any()
    any_spiked = Cat(*(lane.post_count != 0 for lane in lanes)).any()
    with m.If(sweep_over):
        m.d.sync += [
            learn_round.eq(0),
            phase.eq(
                Mux(any_spiked & learn_enable, Phase.LEARN_FETCH, Phase.DONE)
                if stdp.a_plus
                else Phase.DONE
            ),
        ]
    with m.If(phase == Phase.LEARN_FETCH):
        m.d.sync += phase.eq(Phase.LEARN_LOAD)
    for lane_index, lane in enumerate(lanes):
        rd, _ = lane.post_list
        lane.learn_local = Signal(range(D), name=f"learn_local_lane{lane_index}")
        lane.learn_active = Signal(name=f"learn_active_lane{lane_index}")
        m.d.comb += rd.addr.eq(learn_round)
        with m.If(phase == Phase.LEARN_LOAD):
            m.d.sync += [
                lane.learn_local.eq(rd.data),
                lane.learn_active.eq(learn_round < lane.post_count),
            ]
    with m.If(phase == Phase.LEARN_LOAD):
        m.d.sync += [
            build.learn_axon.eq(0),
            build.learn_base.eq(0),
            learn_round.eq(learn_round + 1),
            phase.eq(Phase.LEARN_WALK),
        ]
    build.learn_issue = phase == Phase.LEARN_WALK
    with m.If(build.learn_issue):
        m.d.sync += [
            build.learn_axon.eq(build.learn_axon + 1),
            build.learn_base.eq(build.learn_base + D),
        ]
        with m.If(build.learn_axon == A - 1):
            m.d.sync += phase.eq(Mux(more, Phase.LEARN_LOAD, Phase.LEARN_DRAIN))
    build.learn_at = chain(build.learn_issue, write_stage, "learn_valid")
    build.pre_trace_at = chain(x_pre_rd.data, write_stage - 1, "learn_pre_trace")
    with m.If(phase == Phase.LEARN_DRAIN):
        with m.If(~Cat(*build.learn_at[1:]).any() & ~learn_busy):
            m.d.sync += phase.eq(Phase.DONE)


def weight_updates(build: CoreBuild) -> None:
    """STDP: the weight updates (depression on an event's row, potentiation on a column)
    from stage W."""
    core, m, C, chain, lanes = build.core, build.m, build.C, build.chain, build.lanes
    learn_at, learn_busy, learn_enable = build.learn_at, build.learn_busy, build.learn_enable
    learn_issue, plastic_bit = build.learn_issue, build.plastic_bit
    pre_trace_at, stdp, write_stage = build.pre_trace_at, build.stdp, build.write_stage

    # Weight updates, from stage W (where the event pipeline holds the old weight):
    # depression of an event's row with the post trace read next to its accumulator,
    # or potentiation of a column with the pre trace. U1 multiplies, U2 bounds, and the
    # result is written in U2 (no read of the same weight can come before: a second
    # event of the axon in this step is dropped by the cap of 1, and a column walk
    # never reads a word twice).
    potentiate = learn_at[write_stage]
    soft = stdp.weight_dependence is WeightDependence.SOFT
    busy = []
    for lane_index, lane in enumerate(lanes):
        lane.learn_update_addr = chain(
            lane.weight_read_addr, write_stage + 2, f"learn_weight_addr_lane{lane_index}"
        )[-1]
        active_at = chain(
            learn_issue & lane.learn_active, write_stage, f"learn_active_lane{lane_index}"
        )
        post_trace_w = chain(lane.x_post[0].data, 1, f"learn_post_trace_lane{lane_index}")[1]
        trace = Mux(potentiate, pre_trace_at[write_stage - 1], post_trace_w)
        lane.learn_we = []
        lane.learn_wd = []
        for c in range(C):
            plastic_here = plastic_bit(lane, c, write_stage)
            mine = Mux(potentiate, active_at[write_stage], lane.event_write)
            old = lane.rmw_weight[c]
            headroom = Mux(potentiate, stdp.w_max - old, old - stdp.w_min) if soft else Const(1)
            u1_en = Signal(name=f"learn_u1_en{c}_lane{lane_index}")
            u1_pot = Signal(name=f"learn_u1_pot{c}_lane{lane_index}")
            u1_weight = Signal(
                signed(core.weight_width), name=f"learn_u1_w{c}_lane{lane_index}", reset_less=True
            )
            product = trace * headroom
            u1_product = Signal.like(
                product, name=f"learn_u1_product{c}_lane{lane_index}", reset_less=True
            )
            m.d.sync += [
                u1_en.eq(mine & plastic_here & learn_enable),
                u1_pot.eq(potentiate),
                u1_weight.eq(old),
                u1_product.eq(product),
            ]
            change = (Mux(u1_pot, stdp.a_plus, stdp.a_minus) * u1_product) >> stdp.shift
            raised = u1_weight + change
            lowered = u1_weight - change
            bounded = Mux(
                u1_pot,
                Mux(raised > stdp.w_max, stdp.w_max, raised),
                Mux(lowered < stdp.w_min, stdp.w_min, lowered),
            )
            u2_en = Signal(name=f"learn_u2_en{c}_lane{lane_index}")
            u2_weight = Signal(
                signed(core.weight_width), name=f"learn_u2_w{c}_lane{lane_index}", reset_less=True
            )
            m.d.sync += [u2_en.eq(u1_en), u2_weight.eq(bounded)]
            lane.learn_we.append(u2_en)
            lane.learn_wd.append(u2_weight)
            busy += [u1_en, u2_en]
    m.d.comb += learn_busy.eq(Cat(*busy).any())
