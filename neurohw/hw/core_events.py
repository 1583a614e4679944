"""The event path of a :class:`neurohw.hw.core.NeuronCore`: event acceptance with the input cap
and the event limit, the dense (weight row) and sparse (fan-out list) pipelines, and the
read-modify-write stage that adds each weight into its accumulator or current.

Each function adds its part's logic to the core's module through the shared
:class:`neurohw.hw.core_build.CoreBuild` (the signals the parts exchange), in the order
:meth:`neurohw.hw.core.NeuronCore.elaborate` calls them; the order and the names are
those of the single elaborate they were split from, so the Verilog is unchanged.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Mux, Signal, signed

from .core_build import CoreBuild, Phase
from .fixed_point import project


def event_input(build: CoreBuild) -> None:
    """Event acceptance, the per-event cap and limit decision, and the weight store's
    registered bank select."""
    core, m, A, bank_bits, cap = build.core, build.m, build.A, build.bank_bits, build.cap
    cnt_rd, events, events_status = build.cnt_rd, build.events, build.events_status
    invalid_count, lanes, multibank = build.invalid_count, build.lanes, build.multibank
    n_banks, overflow_count, ring = build.n_banks, build.overflow_count, build.ring
    saturating_increment, sparse = build.saturating_increment, build.sparse
    weight_depth = build.weight_depth

    # ---- Event phase.
    build.accept_event = core.spikes_in.valid & core.spikes_in.ready
    build.graded = core.value_width > 0
    build.in_axon = core.spikes_in.payload.axon if build.graded else core.spikes_in.payload
    build.in_value = core.spikes_in.payload.value if build.graded else None
    build.axon_ok = (build.in_axon < A) if A < (1 << core.axon_bits) else Const(1)

    def magnitude(value):
        """|value| of a graded event (what it adds to the event limit), 1 otherwise."""
        if value is None:
            return 1
        out = Signal(core.value_width, name="event_magnitude")
        m.d.comb += out.eq(Mux(value < 0, -value, value))
        return out

    with m.If(build.accept_event & ~build.axon_ok):
        m.d.sync += saturating_increment(invalid_count)

    def decide(first, axon, value=None):
        """Cap and event limit, once per event (when ``first``), from the axon's count read
        in the previous cycle; a graded event counts as |value| towards the limit. Returns
        (live, count write enable, new count)."""
        units = magnitude(value)
        under_cap, count_write, count_next = Const(1), Const(0), None
        if cap is not None:
            # One-entry bypass: a count written in the previous cycle is not yet visible to
            # the read issued in that cycle (back-to-back events on one axon).
            bp_valid = Signal()
            bp_axon = Signal(core.axon_bits)
            bp_data = Signal(core.count_bits)
            count = Signal(core.count_bits)
            m.d.comb += count.eq(Mux(bp_valid & (bp_axon == axon), bp_data, cnt_rd.data))
            under_cap = count < cap
            count_next = count + 1
        if not core.config.event_limited:
            under_limit = Const(1)
        elif value is None:
            under_limit = events < core.max_events_per_step
        else:
            under_limit = events + units <= core.max_events_per_step
        live = under_cap & under_limit
        build.event_applied = first & live  # what the activity counter counts
        with m.If(first):
            with m.If(live):
                m.d.sync += saturating_increment(events_status)
                if core.config.event_limited:
                    m.d.sync += events.eq(events + units)
            with m.If(under_cap & ~under_limit):
                m.d.sync += saturating_increment(overflow_count)
        if cap is not None:
            count_write = first & live
            m.d.sync += [bp_valid.eq(count_write), bp_axon.eq(axon), bp_data.eq(count_next)]
        return live, count_write, count_next

    build.decide = decide

    def chain(value, stages, name):
        """``value`` registered 0, 1, .., ``stages`` times (the stages of the pipeline)."""
        out = [value]
        for stage in range(stages):
            reg = Signal.like(value, name=f"{name}_s{stage + 1}", reset_less=True)
            m.d.sync += reg.eq(out[-1])
            out.append(reg)
        return out

    build.chain = chain

    # Weight read data. Multi-bank: every bank's read data is registered `bank_stages`
    # times and the bank selected from the last registers, so the weight reaches the
    # read-data stage R `bank_stages` cycles later than with one bank.
    build.weight_issue_addr = Signal(range(max(2, weight_depth)))
    # Dense: two register stages per bank (the first can sit next to its block RAM, the
    # second next to the bank select); sparse: one.
    # Dense with a delay ring: one stage more, so that the accumulator read (which needs the
    # synapse's delay, read with its weight) is issued a cycle after the weight read.
    build.bank_stages = (1 if sparse else 2) if multibank else (1 if ring and not sparse else 0)
    for lane_index, lane in enumerate(lanes):
        lane.bank_sel = [
            Signal(range(max(2, n_banks)), name=f"bank_sel{n}_lane{lane_index}", reset_less=True)
            for n in range(build.bank_stages + 1)
        ]
        if multibank:
            m.d.sync += lane.bank_sel[0].eq(lane.weight_read_addr[bank_bits:])
            m.d.sync += [
                later.eq(earlier) for earlier, later in zip(lane.bank_sel, lane.bank_sel[1:])
            ]

    def weight_data(lane):
        """Per channel: the weight, ``bank_stages`` cycles after the read data (the bank
        read data registered that many times, then selected)."""
        if build.bank_stages == 0:
            return [banks[0][0].data for banks in lane.w]
        selected = []
        for c, banks in enumerate(lane.w):
            regs = [rd.data for rd, _ in banks]
            for stage in range(build.bank_stages):
                stage_regs = [
                    Signal(
                        signed(core.weight_width), name=f"wbank{b}_s{stage}_c{c}", reset_less=True
                    )
                    for b in range(n_banks)
                ]
                m.d.sync += [reg.eq(data) for reg, data in zip(stage_regs, regs)]
                regs = stage_regs
            selected.append(Array(regs)[lane.bank_sel[-1]] if multibank else regs[0])
        return selected

    build.weight_data = weight_data


def dense_events(build: CoreBuild) -> None:
    """Dense event path: an event's weight row, one local address per cycle, down to the
    read-data stage R."""
    core, m, A, D, accept_event = build.core, build.m, build.A, build.D, build.accept_event
    axon_ok, bank_stages, chain = build.axon_ok, build.bank_stages, build.chain
    decide, graded, in_axon, in_value = build.decide, build.graded, build.in_axon, build.in_value
    lanes, phase, weight_data = build.lanes, build.phase, build.weight_data

    # Dense: an event's weight row is issued one local address per cycle (S0); with one
    # weight bank every lane then reads its accumulator (S0), registers the read data
    # (R = S1) and adds and writes it (W = S2); with several banks (two register stages
    # each) the accumulator read is issued in S2 and R = S3, W = S4. The next event is
    # accepted in the row's last cycle, so rows run back to back.
    cur_valid = Signal()
    cur_first = Signal()
    cur_axon = Signal(core.axon_bits)
    cur_local = Signal(range(D))
    cur_waddr = Signal(range(A * D))
    cur_last = cur_local == D - 1
    ev_valid = Signal()
    ev_first = Signal()
    ev_axon = Signal(core.axon_bits)
    ev_local = Signal(range(D))
    row_live = Signal()
    # Graded: the event's value travels with its row down to stage R.
    cur_value = Signal(signed(max(1, core.value_width)), reset_less=True)
    ev_value = Signal(signed(max(1, core.value_width)), reset_less=True)

    m.d.comb += core.spikes_in.ready.eq((phase == Phase.RUN) & (~cur_valid | cur_last))
    with m.If(accept_event & axon_ok):
        m.d.sync += [
            cur_valid.eq(1),
            cur_first.eq(1),
            cur_axon.eq(in_axon),
            cur_local.eq(0),
            cur_waddr.eq(in_axon * D),
        ]
        if graded:
            m.d.sync += cur_value.eq(in_value)
    with m.Elif(cur_valid):
        m.d.sync += [cur_first.eq(0), cur_local.eq(cur_local + 1), cur_waddr.eq(cur_waddr + 1)]
        with m.If(cur_last):
            m.d.sync += cur_valid.eq(0)
    m.d.sync += [
        ev_valid.eq(cur_valid),
        ev_first.eq(cur_first),
        ev_axon.eq(cur_axon),
        ev_local.eq(cur_local),
    ]
    if graded:
        m.d.sync += ev_value.eq(cur_value)

    live_first, build.count_write, build.count_next = decide(
        ev_valid & ev_first, ev_axon, ev_value if graded else None
    )
    build.count_axon = ev_axon
    with m.If(ev_valid & ev_first):
        m.d.sync += row_live.eq(live_first)
    s1_live = ev_valid & Mux(ev_first, live_first, row_live)
    # Stages S1 .. S(1 + bank_stages) = R; the accumulator read is issued in R - 1.
    valids, locals_ = [s1_live], [ev_local]
    for stage in range(bank_stages):
        valid = Signal(name=f"ev{stage + 2}_valid")
        local = Signal(range(D), name=f"ev{stage + 2}_local")
        m.d.sync += [valid.eq(valids[-1]), local.eq(locals_[-1])]
        valids.append(valid)
        locals_.append(local)
    build.rmw_valid, build.rmw_local = valids[-1], locals_[-1]
    build.rmw_value = chain(ev_value, bank_stages, "ev_value")[-1] if graded else None
    build.event_read_local = locals_[-2] if bank_stages else cur_local
    build.event_idle = ~cur_valid & ~ev_valid
    for valid in valids[1:]:
        build.event_idle = build.event_idle & ~valid
    build.rmw_weights = [weight_data(lane) for lane in lanes]
    build.event_weight_addr = cur_waddr
    build.event_count_axon = cur_axon


def sparse_events(build: CoreBuild) -> None:
    """Sparse event path: the fan-out lookahead, then one synapse per cycle down to the
    read-data stage R."""
    core, m, C, D, S = build.core, build.m, build.C, build.D, build.S
    accept_event, axon_ok, chain = build.accept_event, build.axon_ok, build.chain
    decide, fan_count, fan_start = build.decide, build.fan_count, build.fan_start
    graded, in_axon, in_value, lanes = build.graded, build.in_axon, build.in_value, build.lanes
    multibank, phase, syn_rd = build.multibank, build.phase, build.syn_rd
    weight_data = build.weight_data
    # Sparse: a one-event lookahead stage (A) reads the axon's fan-out (start, count)
    # and input count while the previous event's synapses issue; then each synapse is
    # read (S0), its target's state is read (S1), registered (R = S2), added and written
    # (W = S3).
    a_full = Signal()
    a_axon = Signal(core.axon_bits)
    cur_valid = Signal()
    cur_addr = Signal(range(S + 1))
    cur_remaining = Signal(range(max(core.fanout) + 1))
    cur_last = cur_remaining == 1
    s1_valid = Signal()
    s2_valid = Signal()
    build.s2_local = Signal(range(D))

    a_moves = a_full & (~cur_valid | cur_last)
    m.d.comb += core.spikes_in.ready.eq((phase == Phase.RUN) & (~a_full | a_moves))
    a_value = Signal(signed(max(1, core.value_width)), reset_less=True)
    cur_value = Signal.like(a_value, name="cur_value")
    with m.If(accept_event & axon_ok):
        m.d.sync += [a_full.eq(1), a_axon.eq(in_axon)]
        if graded:
            m.d.sync += a_value.eq(in_value)
    with m.Elif(a_moves):
        m.d.sync += a_full.eq(0)
    live, build.count_write, build.count_next = decide(a_moves, a_axon, a_value if graded else None)
    build.count_axon = a_axon
    with m.If(a_moves & live & (fan_count != 0)):
        m.d.sync += [cur_valid.eq(1), cur_addr.eq(fan_start), cur_remaining.eq(fan_count)]
        if graded:
            m.d.sync += cur_value.eq(a_value)
    with m.Elif(cur_valid):
        m.d.sync += [cur_addr.eq(cur_addr + 1), cur_remaining.eq(cur_remaining - 1)]
        with m.If(cur_last):
            m.d.sync += cur_valid.eq(0)
    m.d.sync += [s1_valid.eq(cur_valid), s2_valid.eq(s1_valid), build.s2_local.eq(syn_rd.data)]
    if multibank:
        s2_weights = weight_data(lanes[0])
    else:
        s2_weights = [
            Signal(signed(core.weight_width), name=f"s2_weight{c}", reset_less=True)
            for c in range(C)
        ]
        m.d.sync += [reg.eq(banks[0][0].data) for reg, banks in zip(s2_weights, lanes[0].w)]

    build.rmw_valid = s2_valid
    build.rmw_local = build.s2_local
    # The value of each synapse's event, aligned with its weight (S0 -> S2).
    build.rmw_value = chain(cur_value, 2, "syn_value")[-1] if graded else None
    build.rmw_weights = [s2_weights]
    build.event_read_local = syn_rd.data
    build.event_weight_addr = cur_addr
    build.event_count_axon = Mux(accept_event, in_axon, a_axon)
    build.event_idle = ~a_full & ~cur_valid & ~s1_valid & ~s2_valid


def accumulate(build: CoreBuild) -> None:
    """The read-modify-write of stage W: accumulate ('sum') or add into the current
    ('per_event'), with forwarding of the two writes ahead."""
    core, m, C, D, bank_stages = build.core, build.m, build.C, build.D, build.bank_stages
    chain, delay_bits, event_read_local = build.chain, build.delay_bits, build.event_read_local
    graded, lane_valid, lanes, p = build.graded, build.lane_valid, build.lanes, build.p
    ring, ring_address, ring_depth = build.ring, build.ring_address, build.ring_depth
    rmw_local, rmw_valid, rmw_value = build.rmw_local, build.rmw_valid, build.rmw_value
    rmw_weights, sparse, sum_mode = build.rmw_weights, build.sparse, build.sum_mode

    # Accumulate (sum) or add into the current (per_event). In the read-data stage R
    # (rmw_*) the state's read data is registered as it is (a block RAM output drives
    # nothing but a register) together with the weight; in stage W the registered value
    # is replaced by the newer one if one of the two operations ahead wrote the same word
    # after the read was issued -- the one that wrote in the previous cycle (held1) or the
    # one before it (held2), as decided in R and registered -- then added and written.
    rmw_width = core.acc_width if sum_mode else core.i_state_width
    w_valid = Signal()
    build.w_local = Signal(range(D))
    bp_valid = Signal()
    m.d.sync += [w_valid.eq(rmw_valid), build.w_local.eq(rmw_local), bp_valid.eq(w_valid)]

    # Synapse attributes: the attribute word reaches stage S1 with the weight's read data;
    # attr_at(lane, k) is it at stage S(1 + k).
    # Stage of the accumulator read (R - 1) and of the write (W), counted from S0.
    acc_read_stage = 1 if sparse else bank_stages
    build.write_stage = acc_read_stage + 2
    for lane_index, lane in enumerate(lanes):
        lane.attr_at = (
            chain(lane.attr[0].data, build.write_stage - 1, f"attr_lane{lane_index}")
            if lane.attr is not None
            else None
        )

    def delay_field(lane, c, stage):
        word = lane.attr_at[stage - 1]
        return word[c * delay_bits : (c + 1) * delay_bits]

    def plastic_bit(lane, c, stage):
        return lane.attr_at[stage - 1][C * delay_bits + c]

    build.plastic_bit = plastic_bit

    for lane_index, lane in enumerate(lanes):
        lane.rmw = []
        lane.rmw_raw = []
        lane.rmw_weight = []
        lane.event_acc_addr = []
        lane.w_addr = []
        for c, (rd, _) in enumerate(lane.acc if sum_mode else lane.i):
            # The word this event adds to: the neuron's, in the ring slot of its delay.
            if ring:
                event_addr = ring_address(delay_field(lane, c, acc_read_stage), event_read_local)
                rmw_addr = Signal(range(ring_depth * D), name=f"rmw_addr{c}_lane{lane_index}")
                m.d.sync += rmw_addr.eq(event_addr)
            else:
                event_addr, rmw_addr = event_read_local, rmw_local
            w_addr = Signal.like(rmw_addr, name=f"w_addr{c}_lane{lane_index}")
            bp_addr = Signal.like(rmw_addr, name=f"bp_addr{c}_lane{lane_index}")
            fwd1 = Signal(name=f"fwd1_{c}_lane{lane_index}")
            fwd2 = Signal(name=f"fwd2_{c}_lane{lane_index}")
            m.d.sync += [
                w_addr.eq(rmw_addr),
                bp_addr.eq(w_addr),
                fwd1.eq(w_valid & (w_addr == rmw_addr)),
                fwd2.eq(bp_valid & (bp_addr == rmw_addr)),
            ]
            raw = Signal(signed(rmw_width), name=f"rmw_raw{c}_lane{lane_index}", reset_less=True)
            held1 = Signal(
                signed(rmw_width), name=f"rmw_held1_{c}_lane{lane_index}", reset_less=True
            )
            held2 = Signal(
                signed(rmw_width), name=f"rmw_held2_{c}_lane{lane_index}", reset_less=True
            )
            old = Signal(signed(rmw_width), name=f"rmw_old{c}_lane{lane_index}")
            weight = Signal(
                signed(core.weight_width), name=f"rmw_weight{c}_lane{lane_index}", reset_less=True
            )
            new = Signal(signed(rmw_width), name=f"rmw_new{c}_lane{lane_index}")
            m.d.sync += [
                weight.eq(rmw_weights[lane_index][c]),
                raw.eq(rd.data),
                held1.eq(new),
                held2.eq(held1),
            ]
            m.d.comb += old.eq(Mux(fwd1, held1, Mux(fwd2, held2, raw)))
            if graded:
                # The multiplier of a graded event, registered next to the weight so that
                # stage W stays an add (the weight register also serves weight reads).
                product = Signal(
                    signed(core.weight_width + core.value_width),
                    name=f"rmw_product{c}_lane{lane_index}",
                    reset_less=True,
                )
                m.d.sync += product.eq(rmw_weights[lane_index][c] * rmw_value)
                m.d.comb += new.eq(old + product)
            elif sum_mode:
                m.d.comb += new.eq(old + weight)
            else:
                m.d.comb += new.eq(
                    project(old + (weight << p.input_shift), p.i_width, p.i_overflow)
                )
            lane.rmw.append(new)
            lane.rmw_raw.append(raw)
            lane.rmw_weight.append(weight)
            lane.event_acc_addr.append(event_addr)
            lane.w_addr.append(w_addr)
        assert len(lane.rmw_weight) == C
        lane.event_write = w_valid & lane_valid(lane_index, build.w_local)
    # High while a learning update is in the pipeline after stage W (assigned below).
    build.learn_busy = Signal()
    build.event_idle = build.event_idle & ~w_valid & ~build.learn_busy
