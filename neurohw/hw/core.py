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

import re

import numpy as np
from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..model.params import Accumulation, DecayKind, Overflow, Rounding, state_range
from ..model.stdp import WeightDependence
from .core_config import (COUNTER_WIDTH, MAX_AXONS, MAX_DELAY, MAX_EVENTS,  # noqa: F401
                          MAX_LANES, MAX_NEURONS, MAX_VALUE_WIDTH, MAX_WEIGHT_WIDTH,
                          PER_NEURON_NAMES, SPIKE_FIFO_DEPTH, SPRAM_DEPTH, SPRAM_WIDTH,
                          STEP_WIDTH, WEIGHT_BANK_DEPTH, _PARAM_TARGETS, _bits, CoreConfig,
                          Status, Target, layout_fields, weight_bank_depth)
from .neuron_update import NeuronUpdate, per_neuron_contents

__all__ = ["NeuronCore", "CoreConfig", "Target", "Status", "SPIKE_FIFO_DEPTH", "MAX_NEURONS",
           "MAX_AXONS", "STEP_WIDTH", "COUNTER_WIDTH", "layout_fields", "strip_spram_init"]


_SPRAM_INIT = re.compile(r'(\(\* ram_style = "huge" \*\)\n\s*reg [^\n]*;\n)'
                         r'\s*initial begin\n(?:\s*[\w$.\\]+\[\d+\] = [^\n]*\n)+\s*end\n')


def strip_spram_init(verilog_text: str) -> str:
    """Remove the (all-zero) initializers of the SPRAM weight memories from the Verilog of a
    core built with ``weight_memory='spram'``.

    Amaranth initializes every memory, but an iCE40 SPRAM has no initial contents, and Yosys
    maps a memory marked ``ram_style = "huge"`` onto SB_SPRAM256KA only if it has none. The
    core refuses non-zero initial weights in that mode (they are written over ``cmd``), so
    dropping the zeros changes nothing but the power-up contents, which the core never reads
    before they are written. Use the stripped text for synthesis; simulation may use either.
    """
    return _SPRAM_INIT.sub(lambda match: match.group(1), verilog_text)


def _project(value, width: int, overflow: Overflow):
    """Amaranth expression: ``neurohw.model.fixedpoint.project`` of a signed value."""
    low, high = state_range(width, overflow)
    if overflow in (Overflow.SATURATE, Overflow.SATURATE_SYMMETRIC):
        return Mux(value > high, high, Mux(value < low, low, value))
    wrapped = value.as_signed()[:width].as_signed()
    if overflow is Overflow.WRAP:
        return wrapped
    # wrap_lava: range (-2^(W-1), 2^(W-1)]; -2^(W-1) is the same residue as +2^(W-1).
    return Mux(wrapped == -(1 << (width - 1)), Const(1 << (width - 1), width + 1), wrapped)


class NeuronCore(wiring.Component):
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

    def __new__(cls, config, /, *, src_loc_at=0, **options):
        # Validate first: an exception here leaves no unused elaboratable behind.
        config = cls._as_config(config, options)
        self = super().__new__(cls, src_loc_at=src_loc_at + 1)
        self.__dict__["config"] = config
        return self

    @staticmethod
    def _as_config(config, options) -> CoreConfig:
        if isinstance(config, CoreConfig):
            if options:
                raise TypeError(f"NeuronCore(config) takes no other options, not "
                                f"{', '.join(sorted(options))}; build a new CoreConfig instead")
            return config
        return CoreConfig(config, **options)

    def __init__(self, config, /, *, src_loc_at=0, **options):
        config = self.config
        super().__init__({
            "spikes_in": In(stream.Signature(config.event_layout)),
            "step": In(stream.Signature(unsigned(1))),
            "spikes_out": Out(stream.Signature(config.spike_layout)),
            "done": Out(stream.Signature(unsigned(STEP_WIDTH))),
            "cmd": In(stream.Signature(config.cmd_layout)),
            "rsp": Out(stream.Signature(config.rsp_layout)),
            "overflow": Out(1),
        })

    def __getattr__(self, name):
        # Only called for names the core itself lacks: the description's public attributes and
        # methods (n_neurons, cmd_layout, port_description, ...).
        config = self.__dict__.get("config")
        if config is not None and not name.startswith("_"):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


    def elaborate(self, platform):
        m = Module()
        p = self.params
        N, A, C = self.n_neurons, self.n_axons, self.channels
        P, D, lane_bits = self.lanes, self.lane_depth, self.lane_bits
        nc = p.n_currents
        sum_mode = p.accumulation is Accumulation.SUM
        sparse = self.connectivity == "sparse"
        cap = p.input_count_cap
        period = p.refractory_period
        S = max(1, self.n_synapses)
        ring = self.max_delay > 1
        ring_depth = self.max_delay
        stdp = self.stdp

        def memory(name, shape, depth, init=(), attrs=None):
            mem = Memory(shape=shape, depth=depth, init=list(init), attrs=attrs)
            m.submodules[name] = mem
            return mem.read_port(), mem.write_port()

        # Weight memories are split into banks of `bank_depth` words (SPRAM blocks with
        # weight_memory='spram'); with more than one bank, each bank's read data is registered
        # and the bank is selected from the registers one cycle later.
        spram = self.weight_memory == "spram"
        bank_depth = SPRAM_DEPTH if spram else weight_bank_depth(self.weight_width)
        weight_depth = S if sparse else A * D
        n_banks = -(-weight_depth // bank_depth)
        multibank = n_banks > 1
        bank_bits = (bank_depth - 1).bit_length() if multibank else 0

        def weight_memory(name, init):
            init = list(init)
            attrs = {"ram_style": "huge"} if spram else None
            if not multibank:
                return [memory(name, signed(self.weight_width), weight_depth, init, attrs)]
            return [memory(f"{name}_bank{b}", signed(self.weight_width),
                           min(bank_depth, weight_depth - b * bank_depth),
                           init[b * bank_depth:(b + 1) * bank_depth], attrs)
                    for b in range(n_banks)]

        def write(port, sources):
            """Drive a write port from (condition, address, value) sources, first one first."""
            for index, (condition, address, value) in enumerate(sources):
                with (m.If if index == 0 else m.Elif)(condition):
                    m.d.comb += [port.en.eq(1), port.addr.eq(address), port.data.eq(value)]

        def neuron_of(lane, local):
            return local * P + lane

        def banked(values, lane):
            """Per-neuron values of one lane, in local order (padding 0)."""
            return [int(values[neuron_of(lane, j)]) if neuron_of(lane, j) < N else 0
                    for j in range(D)]

        # Neurons neuron_of(l, D-1) >= N are padding: lanes from `full_lanes` on have no
        # neuron at the last local address.
        full_lanes = N - (D - 1) * P

        def lane_valid(lane, local):
            return Const(1) if lane < full_lanes else (local != D - 1)

        # Sparse connectivity: fan-out table and synapse memories (lanes=1).
        start_bits = _bits(self.n_synapses)
        fanout_bits = _bits(max(self.fanout))
        if sparse:
            fan_rd, _ = memory("fanout", unsigned(start_bits + fanout_bits), A,
                               (start | count << start_bits
                                for start, count in zip(self.fanout_start, self.fanout)))
            fan_start = fan_rd.data[:start_bits]
            fan_count = fan_rd.data[start_bits:]
            syn_rd, _ = memory("synapse_target", unsigned(self.neuron_bits), S,
                               self.synapse_targets)

        # Synapse attribute word: per channel, the delay - 1 (delay_bits), then per channel the
        # plastic bit.
        delay_bits = self.delay_bits
        attr_width = C * delay_bits + (C if stdp is not None else 0)

        def attr_word(axon, neuron):
            if neuron >= N:
                return 0
            word = 0
            for c in range(C):
                word |= (int(self.delays[c, axon, neuron]) - 1) << (c * delay_bits)
                if stdp is not None:
                    word |= int(self.plastic[c, axon, neuron]) << (C * delay_bits + c)
            return word

        lanes = []
        for l in range(P):
            lane = _Lane()
            if sparse:
                lane.w = [weight_memory(f"weight{c}", (int(self.weights[c, a, n])
                                                       for a, n in self.config.synapse_pairs()))
                          for c in range(C)]
            else:
                lane.w = [weight_memory(f"weight{c}_lane{l}",
                                        (x for a in range(A) for x in banked(self.weights[c, a], l)))
                          for c in range(C)]
            lane.v = memory(f"v_lane{l}", signed(self.v_state_width), D)
            lane.i = [memory(f"i{c}_lane{l}", signed(self.i_state_width), D) for c in range(nc)]
            lane.r = (memory(f"refractory_lane{l}", unsigned(self.refractory_bits), D)
                      if period else None)
            # reset_delay: each neuron's spike count of the last step (max_spikes is 1).
            lane.pending = memory(f"pending_lane{l}", unsigned(1), D) if p.reset_delay else None
            lane.acc = ([memory(f"acc{c}_lane{l}", signed(self.acc_width), ring_depth * D)
                         for c in range(C)] if sum_mode else [])
            # Per synapse and channel, next to the weight: its delay - 1 and its plastic bit.
            lane.attr = None
            if attr_width:
                pairs = (list(self.config.synapse_pairs()) if sparse else
                         [(a, neuron_of(l, j)) for a in range(A) for j in range(D)])
                lane.attr = memory(f"synapse_attr_lane{l}", unsigned(attr_width), weight_depth,
                                   (attr_word(a, n) for a, n in pairs))
            lane.x_post = (memory(f"post_trace_lane{l}", unsigned(stdp.trace_width), D)
                           if stdp is not None else None)
            lane.params = {}
            for name in PER_NEURON_NAMES:
                if name in self.per_neuron:
                    values = np.broadcast_to(
                        np.asarray(per_neuron_contents(p, name), dtype=object), (N,))
                    lane.params[name] = memory(f"{name}_lane{l}", self.param_shapes[name], D,
                                               banked(values, l))
            lane.update = NeuronUpdate(p, drive_width=self.acc_width if sum_mode else 1,
                                       per_neuron=set(self.per_neuron),
                                       tag_width=self.local_bits)
            m.submodules[f"update_lane{l}"] = lane.update
            lane.fifo = fifo.SyncFIFO(width=self.spike_layout.size,
                                              depth=SPIKE_FIFO_DEPTH)
            m.submodules[f"spike_fifo_lane{l}"] = lane.fifo
            lanes.append(lane)
        cnt_rd = cnt_wr = None
        if cap is not None:
            cnt_rd, cnt_wr = memory("input_count", unsigned(self.count_bits), A)
        if stdp is not None:
            x_pre_rd, x_pre_wr = memory("pre_trace", unsigned(stdp.trace_width), A)
            for l, lane in enumerate(lanes):
                # The lane's neurons (local addresses) that spiked this step.
                lane.post_list = memory(f"post_list_lane{l}", unsigned(self.local_bits), D)
        # Weight read address of each lane: the shared one, except while potentiation walks
        # a different neuron's column in every lane.
        for l, lane in enumerate(lanes):
            lane.weight_read_addr = Signal(range(max(2, weight_depth)),
                                           name=f"weight_read_addr_lane{l}")

        # Every read port follows the sweep pipeline's enable (high outside a stall).
        pipe_en = Signal(init=1)
        read_ports = [rd for lane in lanes for rd, _ in lane.ports()]
        read_ports += [cnt_rd] if cnt_rd is not None else []
        read_ports += [fan_rd, syn_rd] if sparse else []
        weight_read_ports = [rd for lane in lanes for banks in lane.w for rd, _ in banks]
        for rd in read_ports:
            if not (spram and any(rd is w for w in weight_read_ports)):
                # With STDP the input counts are read by the trace sweep, which waits for
                # its data itself.
                if not (stdp is not None and rd is cnt_rd):
                    m.d.comb += rd.en.eq(pipe_en)

        # Phases.
        (INIT, RUN, DBG_LOOKUP, DBG_ISSUE, DBG_WAIT, DBG_CAPTURE, DBG_RESPOND,
         SWEEP, FINISH, DONE, LEARN_FETCH, LEARN_LOAD, LEARN_WALK, LEARN_DRAIN) = range(14)
        phase = Signal(range(14), init=INIT)
        # Debug reads keep their addresses from DBG_ISSUE to DBG_CAPTURE.
        dbg_reading = (phase == DBG_ISSUE) | (phase == DBG_WAIT) | (phase == DBG_CAPTURE)
        step_number = Signal(STEP_WIDTH)
        overflow_count = Signal(COUNTER_WIDTH)
        invalid_count = Signal(COUNTER_WIDTH)
        events = Signal(range(self.max_events_per_step + 1) if self.config.event_limited else 1)
        events_status = Signal(COUNTER_WIDTH)
        m.d.comb += self.overflow.eq(overflow_count != 0)
        # Learning on (stdp only): off freezes the weights and the traces (the model's
        # learn=False), e.g. to evaluate what was learned.
        learn_enable = Signal(init=1 if stdp is not None else 0)

        def saturating_increment(counter):
            return counter.eq(Mux(counter == (1 << len(counter)) - 1, counter, counter + 1))

        # Delay ring: slot `ring_pos` (the step number modulo max_delay) holds this step's drive;
        # it starts at word `ring_base` = ring_pos * D of every accumulator memory.
        ring_pos = Signal(range(ring_depth))
        ring_base = Signal(range(ring_depth * D))

        def ring_address(offset, local):
            """Accumulator word of ``local`` in the slot ``offset`` (< ring_depth) steps ahead."""
            if not ring:
                return local
            slot = Signal(range(2 * ring_depth), name="ring_slot")
            m.d.comb += slot.eq(ring_pos + offset)
            wrapped = Mux(slot >= ring_depth, slot - ring_depth, slot)[:len(ring_pos)]
            return (wrapped * D + local)[:len(ring_base)]

        # ---- Reset: clear states, accumulators, input counts and traces (weights and params
        # stay).
        init_count = max(ring_depth * D, A)
        init_ctr = Signal(range(init_count))
        init_neuron = (phase == INIT) & (init_ctr < D)
        init_acc = (phase == INIT) & (init_ctr < ring_depth * D)
        init_axon = (phase == INIT) & (init_ctr < A)
        with m.If(phase == INIT):
            m.d.sync += init_ctr.eq(init_ctr + 1)
            with m.If(init_ctr == init_count - 1):
                m.d.sync += phase.eq(RUN)

        # ---- Event phase.
        accept_event = self.spikes_in.valid & self.spikes_in.ready
        graded = self.value_width > 0
        in_axon = self.spikes_in.payload.axon if graded else self.spikes_in.payload
        in_value = self.spikes_in.payload.value if graded else None
        axon_ok = (in_axon < A) if A < (1 << self.axon_bits) else Const(1)

        def magnitude(value):
            """|value| of a graded event (what it adds to the event limit), 1 otherwise."""
            if value is None:
                return 1
            out = Signal(self.value_width, name="event_magnitude")
            m.d.comb += out.eq(Mux(value < 0, -value, value))
            return out
        with m.If(accept_event & ~axon_ok):
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
                bp_axon = Signal(self.axon_bits)
                bp_data = Signal(self.count_bits)
                count = Signal(self.count_bits)
                m.d.comb += count.eq(Mux(bp_valid & (bp_axon == axon), bp_data, cnt_rd.data))
                under_cap = count < cap
                count_next = count + 1
            if not self.config.event_limited:
                under_limit = Const(1)
            elif value is None:
                under_limit = events < self.max_events_per_step
            else:
                under_limit = events + units <= self.max_events_per_step
            live = under_cap & under_limit
            with m.If(first):
                with m.If(live):
                    m.d.sync += saturating_increment(events_status)
                    if self.config.event_limited:
                        m.d.sync += events.eq(events + units)
                with m.If(under_cap & ~under_limit):
                    m.d.sync += saturating_increment(overflow_count)
            if cap is not None:
                count_write = first & live
                m.d.sync += [bp_valid.eq(count_write), bp_axon.eq(axon), bp_data.eq(count_next)]
            return live, count_write, count_next

        def chain(value, stages, name):
            """``value`` registered 0, 1, .., ``stages`` times (the stages of the pipeline)."""
            out = [value]
            for stage in range(stages):
                reg = Signal.like(value, name=f"{name}_s{stage + 1}", reset_less=True)
                m.d.sync += reg.eq(out[-1])
                out.append(reg)
            return out

        # Weight read data. Multi-bank: every bank's read data is registered `bank_stages`
        # times and the bank selected from the last registers, so the weight reaches the
        # read-data stage R `bank_stages` cycles later than with one bank.
        weight_issue_addr = Signal(range(max(2, weight_depth)))
        # Dense: two register stages per bank (the first can sit next to its block RAM, the
        # second next to the bank select); sparse: one.
        # Dense with a delay ring: one stage more, so that the accumulator read (which needs the
        # synapse's delay, read with its weight) is issued a cycle after the weight read.
        bank_stages = (1 if sparse else 2) if multibank else (1 if ring and not sparse else 0)
        for l, lane in enumerate(lanes):
            lane.bank_sel = [Signal(range(max(2, n_banks)), name=f"bank_sel{n}_lane{l}",
                                    reset_less=True) for n in range(bank_stages + 1)]
            if multibank:
                m.d.sync += lane.bank_sel[0].eq(lane.weight_read_addr[bank_bits:])
                m.d.sync += [later.eq(earlier)
                             for earlier, later in zip(lane.bank_sel, lane.bank_sel[1:])]

        def weight_data(lane):
            """Per channel: the weight, ``bank_stages`` cycles after the read data (the bank
            read data registered that many times, then selected)."""
            if bank_stages == 0:
                return [banks[0][0].data for banks in lane.w]
            selected = []
            for c, banks in enumerate(lane.w):
                regs = [rd.data for rd, _ in banks]
                for stage in range(bank_stages):
                    stage_regs = [Signal(signed(self.weight_width), name=f"wbank{b}_s{stage}_c{c}",
                                         reset_less=True) for b in range(n_banks)]
                    m.d.sync += [reg.eq(data) for reg, data in zip(stage_regs, regs)]
                    regs = stage_regs
                selected.append(Array(regs)[lane.bank_sel[-1]] if multibank else regs[0])
            return selected

        if not sparse:
            # Dense: an event's weight row is issued one local address per cycle (S0); with one
            # weight bank every lane then reads its accumulator (S0), registers the read data
            # (R = S1) and adds and writes it (W = S2); with several banks (two register stages
            # each) the accumulator read is issued in S2 and R = S3, W = S4. The next event is
            # accepted in the row's last cycle, so rows run back to back.
            cur_valid = Signal()
            cur_first = Signal()
            cur_axon = Signal(self.axon_bits)
            cur_local = Signal(range(D))
            cur_waddr = Signal(range(A * D))
            cur_last = cur_local == D - 1
            ev_valid = Signal()
            ev_first = Signal()
            ev_axon = Signal(self.axon_bits)
            ev_local = Signal(range(D))
            row_live = Signal()
            # Graded: the event's value travels with its row down to stage R.
            cur_value = Signal(signed(max(1, self.value_width)), reset_less=True)
            ev_value = Signal(signed(max(1, self.value_width)), reset_less=True)

            m.d.comb += self.spikes_in.ready.eq((phase == RUN) & (~cur_valid | cur_last))
            with m.If(accept_event & axon_ok):
                m.d.sync += [
                    cur_valid.eq(1), cur_first.eq(1), cur_axon.eq(in_axon),
                    cur_local.eq(0), cur_waddr.eq(in_axon * D),
                ]
                if graded:
                    m.d.sync += cur_value.eq(in_value)
            with m.Elif(cur_valid):
                m.d.sync += [cur_first.eq(0), cur_local.eq(cur_local + 1),
                             cur_waddr.eq(cur_waddr + 1)]
                with m.If(cur_last):
                    m.d.sync += cur_valid.eq(0)
            m.d.sync += [ev_valid.eq(cur_valid), ev_first.eq(cur_first), ev_axon.eq(cur_axon),
                         ev_local.eq(cur_local)]
            if graded:
                m.d.sync += ev_value.eq(cur_value)

            live_first, count_write, count_next = decide(ev_valid & ev_first, ev_axon,
                                                         ev_value if graded else None)
            count_axon = ev_axon
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
            rmw_valid, rmw_local = valids[-1], locals_[-1]
            rmw_value = chain(ev_value, bank_stages, "ev_value")[-1] if graded else None
            event_read_local = locals_[-2] if bank_stages else cur_local
            event_idle = ~cur_valid & ~ev_valid
            for valid in valids[1:]:
                event_idle = event_idle & ~valid
            rmw_weights = [weight_data(lane) for lane in lanes]
            event_weight_addr = cur_waddr
            event_count_axon = cur_axon
        else:
            # Sparse: a one-event lookahead stage (A) reads the axon's fan-out (start, count)
            # and input count while the previous event's synapses issue; then each synapse is
            # read (S0), its target's state is read (S1), registered (R = S2), added and written
            # (W = S3).
            a_full = Signal()
            a_axon = Signal(self.axon_bits)
            cur_valid = Signal()
            cur_addr = Signal(range(S + 1))
            cur_remaining = Signal(range(max(self.fanout) + 1))
            cur_last = cur_remaining == 1
            s1_valid = Signal()
            s2_valid = Signal()
            s2_local = Signal(range(D))

            a_moves = a_full & (~cur_valid | cur_last)
            m.d.comb += self.spikes_in.ready.eq((phase == RUN) & (~a_full | a_moves))
            a_value = Signal(signed(max(1, self.value_width)), reset_less=True)
            cur_value = Signal.like(a_value, name="cur_value")
            with m.If(accept_event & axon_ok):
                m.d.sync += [a_full.eq(1), a_axon.eq(in_axon)]
                if graded:
                    m.d.sync += a_value.eq(in_value)
            with m.Elif(a_moves):
                m.d.sync += a_full.eq(0)
            live, count_write, count_next = decide(a_moves, a_axon,
                                                   a_value if graded else None)
            count_axon = a_axon
            with m.If(a_moves & live & (fan_count != 0)):
                m.d.sync += [cur_valid.eq(1), cur_addr.eq(fan_start),
                             cur_remaining.eq(fan_count)]
                if graded:
                    m.d.sync += cur_value.eq(a_value)
            with m.Elif(cur_valid):
                m.d.sync += [cur_addr.eq(cur_addr + 1), cur_remaining.eq(cur_remaining - 1)]
                with m.If(cur_last):
                    m.d.sync += cur_valid.eq(0)
            m.d.sync += [s1_valid.eq(cur_valid), s2_valid.eq(s1_valid),
                         s2_local.eq(syn_rd.data)]
            if multibank:
                s2_weights = weight_data(lanes[0])
            else:
                s2_weights = [Signal(signed(self.weight_width), name=f"s2_weight{c}",
                                     reset_less=True)
                              for c in range(C)]
                m.d.sync += [reg.eq(banks[0][0].data)
                             for reg, banks in zip(s2_weights, lanes[0].w)]

            rmw_valid = s2_valid
            rmw_local = s2_local
            # The value of each synapse's event, aligned with its weight (S0 -> S2).
            rmw_value = chain(cur_value, 2, "syn_value")[-1] if graded else None
            rmw_weights = [s2_weights]
            event_read_local = syn_rd.data
            event_weight_addr = cur_addr
            event_count_axon = Mux(accept_event, in_axon, a_axon)
            event_idle = ~a_full & ~cur_valid & ~s1_valid & ~s2_valid

        # Accumulate (sum) or add into the current (per_event). In the read-data stage R
        # (rmw_*) the state's read data is registered as it is (a block RAM output drives
        # nothing but a register) together with the weight; in stage W the registered value
        # is replaced by the newer one if one of the two operations ahead wrote the same word
        # after the read was issued -- the one that wrote in the previous cycle (held1) or the
        # one before it (held2), as decided in R and registered -- then added and written.
        rmw_width = self.acc_width if sum_mode else self.i_state_width
        w_valid = Signal()
        w_local = Signal(range(D))
        bp_valid = Signal()
        m.d.sync += [w_valid.eq(rmw_valid), w_local.eq(rmw_local), bp_valid.eq(w_valid)]

        # Synapse attributes: the attribute word reaches stage S1 with the weight's read data;
        # attr_at(lane, k) is it at stage S(1 + k).
        # Stage of the accumulator read (R - 1) and of the write (W), counted from S0.
        acc_read_stage = 1 if sparse else bank_stages
        write_stage = acc_read_stage + 2
        for l, lane in enumerate(lanes):
            lane.attr_at = (chain(lane.attr[0].data, write_stage - 1, f"attr_lane{l}")
                            if lane.attr is not None else None)

        def delay_field(lane, c, stage):
            word = lane.attr_at[stage - 1]
            return word[c * delay_bits:(c + 1) * delay_bits]

        def plastic_bit(lane, c, stage):
            return lane.attr_at[stage - 1][C * delay_bits + c]

        for l, lane in enumerate(lanes):
            lane.rmw = []
            lane.rmw_raw = []
            lane.rmw_weight = []
            lane.event_acc_addr = []
            lane.w_addr = []
            for c, (rd, _) in enumerate(lane.acc if sum_mode else lane.i):
                # The word this event adds to: the neuron's, in the ring slot of its delay.
                if ring:
                    event_addr = ring_address(delay_field(lane, c, acc_read_stage),
                                              event_read_local)
                    rmw_addr = Signal(range(ring_depth * D), name=f"rmw_addr{c}_lane{l}")
                    m.d.sync += rmw_addr.eq(event_addr)
                else:
                    event_addr, rmw_addr = event_read_local, rmw_local
                w_addr = Signal.like(rmw_addr, name=f"w_addr{c}_lane{l}")
                bp_addr = Signal.like(rmw_addr, name=f"bp_addr{c}_lane{l}")
                fwd1 = Signal(name=f"fwd1_{c}_lane{l}")
                fwd2 = Signal(name=f"fwd2_{c}_lane{l}")
                m.d.sync += [w_addr.eq(rmw_addr), bp_addr.eq(w_addr),
                             fwd1.eq(w_valid & (w_addr == rmw_addr)),
                             fwd2.eq(bp_valid & (bp_addr == rmw_addr))]
                raw = Signal(signed(rmw_width), name=f"rmw_raw{c}_lane{l}",
                             reset_less=True)
                held1 = Signal(signed(rmw_width), name=f"rmw_held1_{c}_lane{l}",
                             reset_less=True)
                held2 = Signal(signed(rmw_width), name=f"rmw_held2_{c}_lane{l}",
                             reset_less=True)
                old = Signal(signed(rmw_width), name=f"rmw_old{c}_lane{l}")
                weight = Signal(signed(self.weight_width), name=f"rmw_weight{c}_lane{l}",
                             reset_less=True)
                new = Signal(signed(rmw_width), name=f"rmw_new{c}_lane{l}")
                m.d.sync += [weight.eq(rmw_weights[l][c]), raw.eq(rd.data),
                             held1.eq(new), held2.eq(held1)]
                m.d.comb += old.eq(Mux(fwd1, held1, Mux(fwd2, held2, raw)))
                if graded:
                    # The multiplier of a graded event, registered next to the weight so that
                    # stage W stays an add (the weight register also serves weight reads).
                    product = Signal(signed(self.weight_width + self.value_width),
                                     name=f"rmw_product{c}_lane{l}", reset_less=True)
                    m.d.sync += product.eq(rmw_weights[l][c] * rmw_value)
                    m.d.comb += new.eq(old + product)
                elif sum_mode:
                    m.d.comb += new.eq(old + weight)
                else:
                    m.d.comb += new.eq(_project(old + (weight << p.input_shift),
                                                p.i_width, p.i_overflow))
                lane.rmw.append(new)
                lane.rmw_raw.append(raw)
                lane.rmw_weight.append(weight)
                lane.event_acc_addr.append(event_addr)
                lane.w_addr.append(w_addr)
            assert len(lane.rmw_weight) == C
            lane.event_write = w_valid & lane_valid(l, w_local)
        # High while a learning update is in the pipeline after stage W (assigned below).
        learn_busy = Signal()
        event_idle = event_idle & ~w_valid & ~learn_busy

        # ---- Commands.
        cmd = Signal(self.cmd_layout)
        cmd_ok = Signal()
        cmd_lane = Signal(range(P))
        cmd_local = Signal(range(D))
        cmd_waddr = Signal(range(A * D if not sparse else S))
        rsp_data = Signal(signed(self.data_width))
        rsp_error = Signal()
        m.d.comb += self.cmd.ready.eq((phase == RUN) & event_idle & ~self.spikes_in.valid)
        accept_cmd = self.cmd.valid & self.cmd.ready
        payload = self.cmd.payload
        neuron_ok = payload.neuron < N
        axon_ok_cmd = payload.axon < A
        synapse_targets = [Target.WEIGHT0 + c for c in range(C)]
        if sparse:
            synapse_targets.append(Target.SYNAPSE_TARGET)
        ok = Signal()
        with m.Switch(payload.target):
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
                    m.d.comb += ok.eq(neuron_ok & (payload.axon < ring_depth))
            if sparse:
                # The slot is checked against the axon's fan-out in DBG_LOOKUP.
                with m.Case(*(Target.WEIGHT0 + c for c in range(C))):
                    m.d.comb += ok.eq(axon_ok_cmd)
                with m.Case(Target.SYNAPSE_TARGET):
                    m.d.comb += ok.eq(axon_ok_cmd & ~payload.write)
            else:
                with m.Case(*(Target.WEIGHT0 + c for c in range(C))):
                    m.d.comb += ok.eq(neuron_ok & axon_ok_cmd)
            for name, code in _PARAM_TARGETS:
                if name in self.per_neuron:
                    with m.Case(code):
                        m.d.comb += ok.eq(neuron_ok)
            with m.Case(Target.STATUS):
                writable = ((payload.neuron == Status.LEARNING) if stdp is not None
                            else Const(0))
                m.d.comb += ok.eq((payload.neuron < len(Status)) & (~payload.write | writable))
            if cap is not None:
                with m.Case(Target.INPUT_COUNT):
                    m.d.comb += ok.eq(axon_ok_cmd & ~payload.write)
            if stdp is not None:
                with m.Case(Target.PRE_TRACE):
                    m.d.comb += ok.eq(axon_ok_cmd & ~payload.write)
                with m.Case(Target.POST_TRACE):
                    m.d.comb += ok.eq(neuron_ok & ~payload.write)
        local = payload.neuron[lane_bits:]
        cmd_acc_addr = Signal(range(ring_depth * D))
        with m.If(accept_cmd):
            m.d.sync += [cmd.eq(payload), cmd_ok.eq(ok), cmd_local.eq(local),
                         phase.eq(DBG_LOOKUP if sparse else DBG_ISSUE)]
            if ring:
                m.d.sync += cmd_acc_addr.eq(ring_address(payload.axon[:len(ring_pos)], local))
            else:
                m.d.sync += cmd_acc_addr.eq(local)
            if not sparse:
                m.d.sync += cmd_waddr.eq(payload.axon * D + local)
            if P > 1:
                m.d.sync += cmd_lane.eq(payload.neuron[:lane_bits])
        if sparse:
            with m.If(phase == DBG_LOOKUP):
                # The fan-out of cmd.axon was read in the accept cycle.
                m.d.sync += [cmd_waddr.eq(fan_start + cmd.neuron), phase.eq(DBG_ISSUE)]
                with m.If(Cat(*(cmd.target == code for code in synapse_targets)).any()):
                    m.d.sync += cmd_ok.eq(cmd_ok & (cmd.neuron < fan_count))
        dbg_write = (phase == DBG_ISSUE) & cmd.write & cmd_ok
        if stdp is not None:
            with m.If(dbg_write & (cmd.target == Target.STATUS)):
                m.d.sync += learn_enable.eq(cmd.data[0])
        # The response is taken from registers: every memory's read data is registered as it
        # is (state: here; accumulators / the per-event current and the weights: in the event
        # pipeline's R and W stages), two cycles after the read for weights in several banks.
        # Cycles from the read (DBG_ISSUE) to the capture: 1 + W waits, W the register stages
        # between a weight read and the weight register of stage W (sparse: at least one, the
        # registered read data of the one-bank memory).
        weight_stages = max(bank_stages, 1) if sparse else bank_stages
        dbg_wait = Signal(range(weight_stages + 2))
        with m.If(phase == DBG_ISSUE):
            m.d.sync += [phase.eq(DBG_WAIT), dbg_wait.eq(weight_stages)]
        with m.If(phase == DBG_WAIT):
            m.d.sync += dbg_wait.eq(dbg_wait - 1)
            with m.If(dbg_wait == 0):
                m.d.sync += phase.eq(DBG_CAPTURE)

        def registered(value, name):
            reg = Signal.like(value, name=name, reset_less=True)
            m.d.sync += reg.eq(value)
            return reg

        for l, lane in enumerate(lanes):
            lane.dbg_v = registered(lane.v[0].data, f"dbg_v_lane{l}")
            lane.dbg_i = ([registered(lane.i[c][0].data, f"dbg_i{c}_lane{l}") for c in range(nc)]
                          if sum_mode else lane.rmw_raw)
            lane.dbg_r = registered(lane.r[0].data, f"dbg_r_lane{l}") if period else None
            lane.dbg_pending = (registered(lane.pending[0].data, f"dbg_pending_lane{l}")
                                if p.reset_delay else None)
            lane.dbg_params = {name: registered(ports[0].data, f"dbg_{name}_lane{l}")
                               for name, ports in lane.params.items()}
        dbg_count = registered(cnt_rd.data, "dbg_count") if cap is not None else None
        if stdp is not None:
            dbg_pre_trace = registered(x_pre_rd.data, "dbg_pre_trace")
            for l, lane in enumerate(lanes):
                lane.dbg_post_trace = registered(lane.x_post[0].data, f"dbg_post_trace_lane{l}")

        def pick(values):
            return values[0] if P == 1 else Array(values)[cmd_lane]

        with m.If(phase == DBG_CAPTURE):
            m.d.sync += [rsp_error.eq(~cmd_ok), rsp_data.eq(0), phase.eq(DBG_RESPOND)]
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
                                m.d.sync += rsp_data.eq(
                                    pick([lane.rmw_raw[c] for lane in lanes]))
                    for c in range(C):
                        with m.Case(Target.WEIGHT0 + c):
                            m.d.sync += rsp_data.eq(pick([lane.rmw_weight[c] for lane in lanes]))
                    if sparse:
                        with m.Case(Target.SYNAPSE_TARGET):
                            m.d.sync += rsp_data.eq(s2_local)
                    for name, code in _PARAM_TARGETS:
                        if name in self.per_neuron:
                            with m.Case(code):
                                m.d.sync += rsp_data.eq(
                                    pick([lane.dbg_params[name] for lane in lanes]))
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
                            with m.Case(Status.LEARNING):
                                m.d.sync += rsp_data.eq(learn_enable)
                    if cap is not None:
                        with m.Case(Target.INPUT_COUNT):
                            m.d.sync += rsp_data.eq(dbg_count)
                    if stdp is not None:
                        with m.Case(Target.PRE_TRACE):
                            m.d.sync += rsp_data.eq(dbg_pre_trace)
                        with m.Case(Target.POST_TRACE):
                            m.d.sync += rsp_data.eq(
                                pick([lane.dbg_post_trace for lane in lanes]))
        m.d.comb += [self.rsp.valid.eq(phase == DBG_RESPOND),
                     self.rsp.payload.data.eq(rsp_data), self.rsp.payload.error.eq(rsp_error)]
        with m.If(self.rsp.valid & self.rsp.ready):
            m.d.sync += phase.eq(RUN)

        # ---- Sweep: one local address per enabled cycle, through every lane's update.
        m.d.comb += self.step.ready.eq((phase == RUN) & event_idle & ~self.spikes_in.valid
                                       & ~self.cmd.valid)
        sw_local = Signal(range(D))
        sw1_valid = Signal()
        sw1_local = Signal(range(D))
        wb_count = Signal(range(D))
        wb_done = Signal()
        clear_busy = Signal()
        clear_axon = Signal(range(A))

        with m.If(self.step.valid & self.step.ready):
            m.d.sync += [phase.eq(SWEEP), sw_local.eq(0), wb_count.eq(0), wb_done.eq(0)]
            if cap is not None:
                m.d.sync += [clear_busy.eq(1), clear_axon.eq(0)]
        with m.If(pipe_en):
            m.d.sync += [sw1_valid.eq(phase == SWEEP), sw1_local.eq(sw_local)]
            with m.If(phase == SWEEP):
                m.d.sync += sw_local.eq(sw_local + 1)
                with m.If(sw_local == D - 1):
                    m.d.sync += phase.eq(FINISH)
        count_clear = Signal()
        if cap is not None:
            # With STDP the same walk updates the pre traces from the counts it reads; their
            # read ports are always enabled, so it never waits for a stalled sweep.
            m.d.comb += count_clear.eq(clear_busy)
            with m.If(clear_busy):
                m.d.sync += clear_axon.eq(clear_axon + 1)
                with m.If(clear_axon == A - 1):
                    m.d.sync += clear_busy.eq(0)

        for l, lane in enumerate(lanes):
            nu = lane.update
            m.d.comb += [nu.en.eq(pipe_en), nu.in_valid.eq(sw1_valid & lane_valid(l, sw1_local)),
                         nu.in_tag.eq(sw1_local), nu.in_v.eq(lane.v[0].data)]
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
            word = Signal(self.spike_layout, name=f"spike_word_lane{l}")
            m.d.comb += [word.neuron.eq((nu.out_tag << lane_bits) | l),
                         word.count.eq(nu.out_spikes), word.step.eq(step_number),
                         lane.fifo.w_data.eq(word), lane.fifo.w_en.eq(spiking & pipe_en)]
        # The enable is a register: high when every lane's FIFO had room for two more words in
        # the previous cycle, so it has room for the one word a lane can write now. (It fans
        # out to every read port and pipeline register of every lane; no FIFO or pipeline
        # logic reaches it combinationally.)
        m.d.sync += pipe_en.eq(Cat(*(lane.fifo.level <= SPIKE_FIFO_DEPTH - 2
                                     for lane in lanes)).all())

        # Merge the lanes' spike FIFOs into spikes_out through a register, lowest lane first
        # (a registered choice keeps the offered payload stable until it is taken).
        out_valid = Signal()
        out_word = Signal(self.spike_layout)
        m.d.comb += [self.spikes_out.valid.eq(out_valid), self.spikes_out.payload.eq(out_word)]
        with m.If(~out_valid | self.spikes_out.ready):
            m.d.sync += out_valid.eq(0)
            for l, lane in enumerate(lanes):
                with (m.If if l == 0 else m.Elif)(lane.fifo.r_rdy):
                    m.d.comb += lane.fifo.r_en.eq(1)
                    m.d.sync += [out_valid.eq(1), out_word.eq(lane.fifo.r_data)]

        write_back = lanes[0].write_back  # lane 0 holds a neuron at every local address
        with m.If(write_back):
            m.d.sync += wb_count.eq(wb_count + 1)
            with m.If(wb_count == D - 1):
                m.d.sync += wb_done.eq(1)
        fifos_empty = Cat(*(lane.fifo.level == 0 for lane in lanes)).all()
        sweep_over = (phase == FINISH) & wb_done & ~clear_busy & fifos_empty & ~out_valid
        if stdp is None:
            with m.If(sweep_over):
                m.d.sync += phase.eq(DONE)
        else:
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
                return Mux(total > X, X, total)[:stdp.trace_width]

            # Pre traces: the input-count clearing walk reads each axon's count and trace and
            # writes the trace a cycle later.
            pre_wr_valid = Signal()
            pre_wr_axon = Signal(range(A))
            m.d.sync += [pre_wr_valid.eq(count_clear & learn_enable),
                         pre_wr_axon.eq(clear_axon)]
            write(x_pre_wr, [(init_axon, init_ctr, 0),
                             (pre_wr_valid, pre_wr_axon,
                              trace_next(x_pre_rd.data, cnt_rd.data != 0, stdp.pre_decay,
                                         stdp.pre_increment))])
            # Post traces: read as each neuron's update leaves the pipeline, written a cycle
            # later (depression read them during the event phase, before this).
            for l, lane in enumerate(lanes):
                nu = lane.update
                post_valid = Signal(name=f"post_trace_valid_lane{l}")
                post_tag = Signal(range(D), name=f"post_trace_tag_lane{l}")
                post_spiked = Signal(name=f"post_trace_spiked_lane{l}")
                m.d.sync += [post_valid.eq(lane.write_back & learn_enable),
                             post_tag.eq(nu.out_tag),
                             post_spiked.eq(nu.out_spikes != 0)]
                rd, wr = lane.x_post
                with m.Switch(phase):
                    with m.Case(SWEEP, FINISH):
                        m.d.comb += rd.addr.eq(nu.out_tag)
                    with m.Case(DBG_ISSUE, DBG_WAIT, DBG_CAPTURE):
                        m.d.comb += rd.addr.eq(cmd_local)
                    with m.Default():
                        m.d.comb += rd.addr.eq(event_read_local)
                write(wr, [(init_neuron, init_ctr, 0),
                           (post_valid, post_tag,
                            trace_next(rd.data, post_spiked, stdp.post_decay,
                                       stdp.post_increment))])

            # The neurons that spiked, per lane, as the sweep writes their spikes.
            for l, lane in enumerate(lanes):
                lane.post_count = Signal(range(D + 1), name=f"post_count_lane{l}")
                spiked = lane.fifo.w_en
                with m.If(self.step.valid & self.step.ready):
                    m.d.sync += lane.post_count.eq(0)
                with m.Elif(spiked):
                    m.d.sync += lane.post_count.eq(lane.post_count + 1)
                _, wr = lane.post_list
                m.d.comb += [wr.en.eq(spiked), wr.addr.eq(lane.post_count),
                             wr.data.eq(lane.update.out_tag)]

            # Potentiation, in rounds: in each round every lane takes its next neuron that
            # spiked (if any) and all lanes walk their neurons' columns together, one axon per
            # cycle (the pre trace of that axon is shared).
            learn_round = Signal(range(D + 1))
            learn_axon = Signal(range(A))
            learn_base = Signal(range(A * D))
            more = Cat(*(learn_round < lane.post_count for lane in lanes)).any()
            any_spiked = Cat(*(lane.post_count != 0 for lane in lanes)).any()
            with m.If(sweep_over):
                m.d.sync += [learn_round.eq(0),
                             phase.eq(Mux(any_spiked & learn_enable, LEARN_FETCH, DONE)
                                      if stdp.a_plus else DONE)]
            with m.If(phase == LEARN_FETCH):
                m.d.sync += phase.eq(LEARN_LOAD)
            for l, lane in enumerate(lanes):
                rd, _ = lane.post_list
                lane.learn_local = Signal(range(D), name=f"learn_local_lane{l}")
                lane.learn_active = Signal(name=f"learn_active_lane{l}")
                m.d.comb += rd.addr.eq(learn_round)
                with m.If(phase == LEARN_LOAD):
                    m.d.sync += [lane.learn_local.eq(rd.data),
                                 lane.learn_active.eq(learn_round < lane.post_count)]
            with m.If(phase == LEARN_LOAD):
                m.d.sync += [learn_axon.eq(0), learn_base.eq(0),
                             learn_round.eq(learn_round + 1), phase.eq(LEARN_WALK)]
            learn_issue = phase == LEARN_WALK
            with m.If(learn_issue):
                m.d.sync += [learn_axon.eq(learn_axon + 1), learn_base.eq(learn_base + D)]
                with m.If(learn_axon == A - 1):
                    m.d.sync += phase.eq(Mux(more, LEARN_LOAD, LEARN_DRAIN))
            learn_at = chain(learn_issue, write_stage, "learn_valid")
            pre_trace_at = chain(x_pre_rd.data, write_stage - 1, "learn_pre_trace")
            with m.If(phase == LEARN_DRAIN):
                with m.If(~Cat(*learn_at[1:]).any() & ~learn_busy):
                    m.d.sync += phase.eq(DONE)

            # Weight updates, from stage W (where the event pipeline holds the old weight):
            # depression of an event's row with the post trace read next to its accumulator,
            # or potentiation of a column with the pre trace. U1 multiplies, U2 bounds, and the
            # result is written in U2 (no read of the same weight can come before: a second
            # event of the axon in this step is dropped by the cap of 1, and a column walk
            # never reads a word twice).
            potentiate = learn_at[write_stage]
            soft = stdp.weight_dependence is WeightDependence.SOFT
            busy = []
            for l, lane in enumerate(lanes):
                lane.learn_update_addr = chain(lane.weight_read_addr, write_stage + 2,
                                               f"learn_weight_addr_lane{l}")[-1]
                active_at = chain(learn_issue & lane.learn_active, write_stage,
                                  f"learn_active_lane{l}")
                post_trace_w = chain(lane.x_post[0].data, 1, f"learn_post_trace_lane{l}")[1]
                trace = Mux(potentiate, pre_trace_at[write_stage - 1], post_trace_w)
                lane.learn_we = []
                lane.learn_wd = []
                for c in range(C):
                    plastic_here = plastic_bit(lane, c, write_stage)
                    mine = Mux(potentiate, active_at[write_stage], lane.event_write)
                    old = lane.rmw_weight[c]
                    headroom = (Mux(potentiate, stdp.w_max - old, old - stdp.w_min) if soft
                                else Const(1))
                    u1_en = Signal(name=f"learn_u1_en{c}_lane{l}")
                    u1_pot = Signal(name=f"learn_u1_pot{c}_lane{l}")
                    u1_weight = Signal(signed(self.weight_width), name=f"learn_u1_w{c}_lane{l}",
                                       reset_less=True)
                    product = trace * headroom
                    u1_product = Signal.like(product, name=f"learn_u1_product{c}_lane{l}",
                                             reset_less=True)
                    m.d.sync += [u1_en.eq(mine & plastic_here & learn_enable),
                                 u1_pot.eq(potentiate), u1_weight.eq(old),
                                 u1_product.eq(product)]
                    change = (Mux(u1_pot, stdp.a_plus, stdp.a_minus) * u1_product) >> stdp.shift
                    raised = u1_weight + change
                    lowered = u1_weight - change
                    bounded = Mux(u1_pot, Mux(raised > stdp.w_max, stdp.w_max, raised),
                                  Mux(lowered < stdp.w_min, stdp.w_min, lowered))
                    u2_en = Signal(name=f"learn_u2_en{c}_lane{l}")
                    u2_weight = Signal(signed(self.weight_width), name=f"learn_u2_w{c}_lane{l}",
                                       reset_less=True)
                    m.d.sync += [u2_en.eq(u1_en), u2_weight.eq(bounded)]
                    lane.learn_we.append(u2_en)
                    lane.learn_wd.append(u2_weight)
                    busy += [u1_en, u2_en]
            m.d.comb += learn_busy.eq(Cat(*busy).any())
        m.d.comb += [self.done.valid.eq(phase == DONE), self.done.payload.eq(step_number)]
        with m.If(self.done.valid & self.done.ready):
            m.d.sync += [phase.eq(RUN), step_number.eq(step_number + 1), events_status.eq(0)]
            if self.config.event_limited:
                m.d.sync += events.eq(0)
            if ring:
                last = ring_pos == ring_depth - 1
                m.d.sync += [ring_pos.eq(Mux(last, 0, ring_pos + 1)),
                             ring_base.eq(Mux(last, 0, ring_base + D))]

        # ---- Read addresses (shared by every lane).
        local_addr = Signal(range(D))
        with m.Switch(phase):
            with m.Case(SWEEP):
                m.d.comb += local_addr.eq(sw_local)
            with m.Case(DBG_ISSUE, DBG_WAIT, DBG_CAPTURE):
                m.d.comb += local_addr.eq(cmd_local)
            with m.Default():
                m.d.comb += local_addr.eq(event_read_local)
        weight_addr = weight_issue_addr
        m.d.comb += weight_addr.eq(Mux(dbg_reading, cmd_waddr, event_weight_addr))
        for lane in lanes:
            if stdp is not None:
                m.d.comb += lane.weight_read_addr.eq(
                    Mux(learn_issue, learn_base + lane.learn_local, weight_addr))
            else:
                m.d.comb += lane.weight_read_addr.eq(weight_addr)
        for lane in lanes:
            for rd, _ in lane.state_ports():
                m.d.comb += rd.addr.eq(local_addr)
            for c, (rd, _) in enumerate(lane.acc):
                with m.Switch(phase):
                    with m.Case(SWEEP):
                        m.d.comb += rd.addr.eq(ring_base + sw_local if ring else sw_local)
                    with m.Case(DBG_ISSUE, DBG_WAIT, DBG_CAPTURE):
                        m.d.comb += rd.addr.eq(cmd_acc_addr)
                    with m.Default():
                        m.d.comb += rd.addr.eq(lane.event_acc_addr[c])
            read_addr = lane.weight_read_addr
            for banks in lane.w:
                for rd, _ in banks:
                    m.d.comb += rd.addr.eq(read_addr[:bank_bits] if multibank else read_addr)
            if lane.attr is not None:
                m.d.comb += lane.attr[0].addr.eq(read_addr)
        if sparse:
            m.d.comb += [syn_rd.addr.eq(weight_addr),
                         fan_rd.addr.eq(Mux(accept_cmd, payload.axon, event_count_axon))]
        if stdp is not None:
            m.d.comb += [cnt_rd.addr.eq(Mux(dbg_reading, cmd.axon,
                                            Mux(clear_busy, clear_axon, event_count_axon))),
                         x_pre_rd.addr.eq(Mux(dbg_reading, cmd.axon,
                                              Mux(clear_busy, clear_axon, learn_axon)))]
        elif cnt_rd is not None:
            m.d.comb += cnt_rd.addr.eq(Mux(dbg_reading, cmd.axon, event_count_axon))

        # ---- Write ports. The sources are active in disjoint phases.

        for l, lane in enumerate(lanes):
            nu = lane.update
            mine = dbg_write if P == 1 else dbg_write & (cmd_lane == l)
            write(lane.v[1], [(init_neuron, init_ctr, 0),
                              (lane.write_back, nu.out_tag, nu.out_v),
                              (mine & (cmd.target == Target.V), cmd_local, cmd.data)])
            for c in range(nc):
                sources = [(init_neuron, init_ctr, 0),
                           (lane.write_back, nu.out_tag, nu.out_i[c])]
                if not sum_mode:
                    sources.append((lane.event_write, w_local, lane.rmw[c]))
                sources.append((mine & (cmd.target == Target.I0 + c), cmd_local, cmd.data))
                write(lane.i[c][1], sources)
            if period:
                write(lane.r[1], [(init_neuron, init_ctr, 0),
                                  (lane.write_back, nu.out_tag, nu.out_refractory),
                                  (mine & (cmd.target == Target.REFRACTORY), cmd_local,
                                   cmd.data)])
            if p.reset_delay:
                write(lane.pending[1], [(init_neuron, init_ctr, 0),
                                        (lane.write_back, nu.out_tag, nu.out_pending),
                                        (mine & (cmd.target == Target.PENDING), cmd_local,
                                         cmd.data)])
            for c, (_, wr) in enumerate(lane.acc):
                write(wr, [(init_acc, init_ctr, 0),
                           (lane.write_back, ring_base + nu.out_tag if ring else nu.out_tag, 0),
                           (lane.event_write, lane.w_addr[c], lane.rmw[c]),
                           (mine & (cmd.target == Target.ACC0 + c), cmd_acc_addr, cmd.data)])
            for c, banks in enumerate(lane.w):
                # A command writes in DBG_ISSUE, where the read address is cmd_waddr too: the
                # same address signal on both ports (one read/write port for an SPRAM).
                cmd_write = mine & (cmd.target == Target.WEIGHT0 + c)
                if stdp is not None:
                    write_en = Signal(name=f"weight_we{c}_lane{l}")
                    write_addr = Signal.like(weight_addr, name=f"weight_waddr{c}_lane{l}")
                    write_data = Signal(signed(self.weight_width), name=f"weight_wd{c}_lane{l}")
                    with m.If(lane.learn_we[c]):
                        m.d.comb += [write_en.eq(1), write_addr.eq(lane.learn_update_addr),
                                     write_data.eq(lane.learn_wd[c])]
                    with m.Else():
                        m.d.comb += [write_en.eq(cmd_write), write_addr.eq(weight_addr),
                                     write_data.eq(cmd.data)]
                else:
                    write_en, write_addr, write_data = cmd_write, weight_addr, cmd.data
                for b, (_, wr) in enumerate(banks):
                    bank_hit = (write_addr[bank_bits:] == b) if multibank else Const(1)
                    m.d.comb += [wr.addr.eq(write_addr[:bank_bits] if multibank
                                            else write_addr),
                                 wr.data.eq(write_data),
                                 wr.en.eq(write_en & bank_hit)]
                    if spram:
                        # One port: no read in a cycle that writes (SPRAM read data is
                        # unchanged while writing, and a write command reads nothing).
                        m.d.comb += banks[b][0].en.eq(pipe_en & ~wr.en)
            for name, code in _PARAM_TARGETS:
                if name in lane.params:
                    write(lane.params[name][1], [(mine & (cmd.target == code), cmd_local,
                                                  cmd.data)])
        if cnt_wr is not None:
            write(cnt_wr, [(init_axon, init_ctr, 0),
                           (count_clear, clear_axon, 0),
                           (count_write, count_axon, count_next)])
        return m


class _Lane:
    """The memories, update pipeline and spike FIFO of one lane (elaboration only)."""

    def state_ports(self):
        """Ports addressed by the local neuron index."""
        ports = [self.v, *self.i, *self.params.values()]
        ports += [self.r] if self.r is not None else []
        return ports + ([self.pending] if self.pending is not None else [])

    def ports(self):
        """Ports whose reads follow the sweep pipeline's enable."""
        return [*self.state_ports(), *self.acc, *(bank for banks in self.w for bank in banks)]
