"""Memories of a :class:`neurohw.hw.core.NeuronCore`: the weight store (one memory per lane and
channel, split into BRAM banks or SPRAM blocks), the state, accumulator, parameter and trace
memories, and their read addresses and write ports.

Each function adds its part's logic to the core's module through the shared
:class:`neurohw.hw.core_build.CoreBuild` (the signals the parts exchange), in the order
:meth:`neurohw.hw.core.NeuronCore.elaborate` calls them; the order and the names are
those of the single elaborate they were split from, so the Verilog is unchanged.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Const, Mux, Signal, signed, unsigned
from amaranth.lib import fifo
from amaranth.lib.memory import Memory

from .core_build import CoreBuild, Phase
from .core_config import (
    _PARAM_TARGETS,
    PER_NEURON_NAMES,
    SPIKE_FIFO_DEPTH,
    SPRAM_DEPTH,
    Target,
    _bits,
    weight_bank_depth,
)
from .neuron_update import NeuronUpdate, per_neuron_contents


def memory_helpers(build: CoreBuild) -> None:
    """The memory constructor, write-port driver and lane addressing helpers; the weight
    store's banking (BRAM banks or SPRAM blocks); the sparse fan-out tables."""
    core, m, A, C, D, N, P = build.core, build.m, build.A, build.C, build.D, build.N, build.P
    S, sparse, stdp = build.S, build.sparse, build.stdp

    def memory(name, shape, depth, init=(), attrs=None):
        mem = Memory(shape=shape, depth=depth, init=list(init), attrs=attrs)
        m.submodules[name] = mem
        return mem.read_port(), mem.write_port()

    build.memory = memory

    # Weight memories are split into banks of `bank_depth` words (SPRAM blocks with
    # weight_memory='spram'); with more than one bank, each bank's read data is registered
    # and the bank is selected from the registers one cycle later.
    build.spram = core.weight_memory == "spram"
    bank_depth = SPRAM_DEPTH if build.spram else weight_bank_depth(core.weight_width)
    build.weight_depth = S if sparse else A * D
    build.n_banks = -(-build.weight_depth // bank_depth)
    build.multibank = build.n_banks > 1
    build.bank_bits = (bank_depth - 1).bit_length() if build.multibank else 0

    def weight_memory(name, init):
        init = list(init)
        attrs = {"ram_style": "huge"} if build.spram else None
        if not build.multibank:
            return [memory(name, signed(core.weight_width), build.weight_depth, init, attrs)]
        return [
            memory(
                f"{name}_bank{b}",
                signed(core.weight_width),
                min(bank_depth, build.weight_depth - b * bank_depth),
                init[b * bank_depth : (b + 1) * bank_depth],
                attrs,
            )
            for b in range(build.n_banks)
        ]

    build.weight_memory = weight_memory

    def write(port, sources):
        """Drive a write port from (condition, address, value) sources, first one first."""
        for index, (condition, address, value) in enumerate(sources):
            with (m.If if index == 0 else m.Elif)(condition):
                m.d.comb += [port.en.eq(1), port.addr.eq(address), port.data.eq(value)]

    build.write = write

    def neuron_of(lane, local):
        return local * P + lane

    build.neuron_of = neuron_of

    def banked(values, lane):
        """Per-neuron values of one lane, in local order (padding 0)."""
        return [int(values[neuron_of(lane, j)]) if neuron_of(lane, j) < N else 0 for j in range(D)]

    build.banked = banked

    # Neurons neuron_of(lane_index, D-1) >= N are padding: lanes from `full_lanes` on have no
    # neuron at the last local address.
    full_lanes = N - (D - 1) * P

    def lane_valid(lane, local):
        return Const(1) if lane < full_lanes else (local != D - 1)

    build.lane_valid = lane_valid

    # Sparse connectivity: fan-out table and synapse memories (lanes=1).
    start_bits = _bits(core.n_synapses)
    fanout_bits = _bits(max(core.fanout))
    if sparse:
        build.fan_rd, _ = memory(
            "fanout",
            unsigned(start_bits + fanout_bits),
            A,
            (start | count << start_bits for start, count in zip(core.fanout_start, core.fanout)),
        )
        build.fan_start = build.fan_rd.data[:start_bits]
        build.fan_count = build.fan_rd.data[start_bits:]
        build.syn_rd, _ = memory(
            "synapse_target", unsigned(core.neuron_bits), S, core.synapse_targets
        )

    # Synapse attribute word: per channel, the delay - 1 (delay_bits), then per channel the
    # plastic bit.
    build.delay_bits = core.delay_bits
    build.attr_width = C * build.delay_bits + (C if stdp is not None else 0)

    def attr_word(axon, neuron):
        if neuron >= N:
            return 0
        word = 0
        for c in range(C):
            word |= (int(core.delays[c, axon, neuron]) - 1) << (c * build.delay_bits)
            if stdp is not None:
                word |= int(core.plastic[c, axon, neuron]) << (C * build.delay_bits + c)
        return word

    build.attr_word = attr_word

    build.lanes = []


def lane_memories(build: CoreBuild) -> None:
    """Every lane's memories (weights, states, accumulators, synapse attributes, per-neuron
    parameters, traces), update pipeline and spike FIFO; the input counts; the read enables
    that follow the sweep pipeline's enable."""
    core, m, A, C, D, N, P = build.core, build.m, build.A, build.C, build.D, build.N, build.P
    attr_width, attr_word, banked, cap = build.attr_width, build.attr_word, build.banked, build.cap
    fan_rd, lanes, memory, nc = build.fan_rd, build.lanes, build.memory, build.nc
    neuron_of, p, period, ring_depth = build.neuron_of, build.p, build.period, build.ring_depth
    sparse, spram, stdp, sum_mode = build.sparse, build.spram, build.stdp, build.sum_mode
    syn_rd, weight_depth, weight_memory = build.syn_rd, build.weight_depth, build.weight_memory
    for lane_index in range(P):
        lane = _Lane()
        if sparse:
            lane.w = [
                weight_memory(
                    f"weight{c}",
                    (int(core.weights[c, a, n]) for a, n in core.config.synapse_pairs()),
                )
                for c in range(C)
            ]
        elif core.lanes_per_weight_word > 1:
            lane.w = packed_weight_memories(build, lane_index)
        else:
            lane.w = [
                weight_memory(
                    f"weight{c}_lane{lane_index}",
                    (x for a in range(A) for x in banked(core.weights[c, a], lane_index)),
                )
                for c in range(C)
            ]
        lane.v = memory(f"v_lane{lane_index}", signed(core.v_state_width), D)
        lane.i = [
            memory(f"i{c}_lane{lane_index}", signed(core.i_state_width), D) for c in range(nc)
        ]
        lane.r = (
            memory(f"refractory_lane{lane_index}", unsigned(core.refractory_bits), D)
            if period
            else None
        )
        # reset_delay: each neuron's spike count of the last step (max_spikes is 1).
        lane.pending = (
            memory(f"pending_lane{lane_index}", unsigned(1), D) if p.reset_delay else None
        )
        lane.acc = (
            [
                memory(f"acc{c}_lane{lane_index}", signed(core.acc_width), ring_depth * D)
                for c in range(C)
            ]
            if sum_mode
            else []
        )
        # Per synapse and channel, next to the weight: its delay - 1 and its plastic bit.
        lane.attr = None
        if attr_width:
            pairs = (
                list(core.config.synapse_pairs())
                if sparse
                else [(a, neuron_of(lane_index, j)) for a in range(A) for j in range(D)]
            )
            lane.attr = memory(
                f"synapse_attr_lane{lane_index}",
                unsigned(attr_width),
                weight_depth,
                (attr_word(a, n) for a, n in pairs),
            )
        lane.x_post = (
            memory(f"post_trace_lane{lane_index}", unsigned(stdp.trace_width), D)
            if stdp is not None
            else None
        )
        lane.params = {}
        for name in PER_NEURON_NAMES:
            if name in core.per_neuron:
                values = np.broadcast_to(
                    np.asarray(per_neuron_contents(p, name), dtype=object), (N,)
                )
                lane.params[name] = memory(
                    f"{name}_lane{lane_index}",
                    core.param_shapes[name],
                    D,
                    banked(values, lane_index),
                )
        lane.update = NeuronUpdate(
            p,
            drive_width=core.acc_width if sum_mode else 1,
            per_neuron=set(core.per_neuron),
            tag_width=core.local_bits,
        )
        m.submodules[f"update_lane{lane_index}"] = lane.update
        lane.fifo = fifo.SyncFIFO(width=core.spike_layout.size, depth=SPIKE_FIFO_DEPTH)
        m.submodules[f"spike_fifo_lane{lane_index}"] = lane.fifo
        lanes.append(lane)
    build.cnt_rd = build.cnt_wr = None
    if cap is not None:
        build.cnt_rd, build.cnt_wr = memory("input_count", unsigned(core.count_bits), A)
    if stdp is not None:
        build.x_pre_rd, build.x_pre_wr = memory("pre_trace", unsigned(stdp.trace_width), A)
        for lane_index, lane in enumerate(lanes):
            # The lane's neurons (local addresses) that spiked this step.
            lane.post_list = memory(f"post_list_lane{lane_index}", unsigned(core.local_bits), D)
    # Weight read address of each lane: the shared one, except while potentiation walks
    # a different neuron's column in every lane.
    for lane_index, lane in enumerate(lanes):
        lane.weight_read_addr = Signal(
            range(max(2, weight_depth)), name=f"weight_read_addr_lane{lane_index}"
        )

    # Every read port follows the sweep pipeline's enable (high outside a stall).
    build.pipe_en = Signal(init=1)
    read_ports = [rd for lane in lanes for rd, _ in lane.ports()]
    read_ports += [build.cnt_rd] if build.cnt_rd is not None else []
    read_ports += [fan_rd, syn_rd] if sparse else []
    weight_read_ports = [rd for lane in lanes for banks in lane.w for rd, _ in banks]
    for rd in read_ports:
        if not (spram and any(rd is w for w in weight_read_ports)):
            # With STDP the input counts are read by the trace sweep, which waits for
            # its data itself.
            if not (stdp is not None and rd is build.cnt_rd):
                m.d.comb += rd.en.eq(build.pipe_en)


def read_addresses(build: CoreBuild) -> None:
    """Read addresses of every memory, per phase."""
    m, D, accept_cmd, bank_bits = build.m, build.D, build.accept_cmd, build.bank_bits
    clear_axon, clear_busy, cmd = build.clear_axon, build.clear_busy, build.cmd
    cmd_acc_addr, cmd_local, cmd_waddr = build.cmd_acc_addr, build.cmd_local, build.cmd_waddr
    cnt_rd, dbg_reading, event_count_axon = build.cnt_rd, build.dbg_reading, build.event_count_axon
    event_read_local, event_weight_addr = build.event_read_local, build.event_weight_addr
    fan_rd, lanes, learn_axon = build.fan_rd, build.lanes, build.learn_axon
    learn_base, learn_issue, multibank = build.learn_base, build.learn_issue, build.multibank
    payload, phase, ring, ring_base = build.payload, build.phase, build.ring, build.ring_base
    sparse, stdp, sw_local, syn_rd = build.sparse, build.stdp, build.sw_local, build.syn_rd
    weight_issue_addr, x_pre_rd = build.weight_issue_addr, build.x_pre_rd

    # ---- Read addresses (shared by every lane).
    local_addr = Signal(range(D))
    with m.Switch(phase):
        with m.Case(Phase.SWEEP):
            m.d.comb += local_addr.eq(sw_local)
        with m.Case(Phase.DBG_ISSUE, Phase.DBG_WAIT, Phase.DBG_CAPTURE):
            m.d.comb += local_addr.eq(cmd_local)
        with m.Default():
            m.d.comb += local_addr.eq(event_read_local)
    build.weight_addr = weight_issue_addr
    m.d.comb += build.weight_addr.eq(Mux(dbg_reading, cmd_waddr, event_weight_addr))
    for lane in lanes:
        if stdp is not None:
            m.d.comb += lane.weight_read_addr.eq(
                Mux(learn_issue, learn_base + lane.learn_local, build.weight_addr)
            )
        else:
            m.d.comb += lane.weight_read_addr.eq(build.weight_addr)
    for lane in lanes:
        for rd, _ in lane.state_ports():
            m.d.comb += rd.addr.eq(local_addr)
        for c, (rd, _) in enumerate(lane.acc):
            with m.Switch(phase):
                with m.Case(Phase.SWEEP):
                    m.d.comb += rd.addr.eq(ring_base + sw_local if ring else sw_local)
                with m.Case(Phase.DBG_ISSUE, Phase.DBG_WAIT, Phase.DBG_CAPTURE):
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
        m.d.comb += [
            syn_rd.addr.eq(build.weight_addr),
            fan_rd.addr.eq(Mux(accept_cmd, payload.axon, event_count_axon)),
        ]
    if stdp is not None:
        m.d.comb += [
            cnt_rd.addr.eq(
                Mux(dbg_reading, cmd.axon, Mux(clear_busy, clear_axon, event_count_axon))
            ),
            x_pre_rd.addr.eq(Mux(dbg_reading, cmd.axon, Mux(clear_busy, clear_axon, learn_axon))),
        ]
    elif cnt_rd is not None:
        m.d.comb += cnt_rd.addr.eq(Mux(dbg_reading, cmd.axon, event_count_axon))


def write_ports(build: CoreBuild) -> None:
    """Write ports of every memory; the sources are active in disjoint phases."""
    core, m, P, bank_bits = build.core, build.m, build.P, build.bank_bits
    clear_axon, cmd, cmd_acc_addr = build.clear_axon, build.cmd, build.cmd_acc_addr
    cmd_lane, cmd_local, cnt_wr = build.cmd_lane, build.cmd_local, build.cnt_wr
    count_axon, count_clear, count_next = build.count_axon, build.count_clear, build.count_next
    count_write, dbg_write, init_acc = build.count_write, build.dbg_write, build.init_acc
    init_axon, init_ctr, init_neuron = build.init_axon, build.init_ctr, build.init_neuron
    lanes, multibank, nc, p, period = build.lanes, build.multibank, build.nc, build.p, build.period
    pipe_en, ring, ring_base, spram = build.pipe_en, build.ring, build.ring_base, build.spram
    stdp, sum_mode, w_local = build.stdp, build.sum_mode, build.w_local
    weight_addr, write = build.weight_addr, build.write

    # ---- Write ports. The sources are active in disjoint phases.

    for lane_index, lane in enumerate(lanes):
        nu = lane.update
        mine = dbg_write if P == 1 else dbg_write & (cmd_lane == lane_index)
        write(
            lane.v[1],
            [
                (init_neuron, init_ctr, 0),
                (lane.write_back, nu.out_tag, nu.out_v),
                (mine & (cmd.target == Target.V), cmd_local, cmd.data),
            ],
        )
        for c in range(nc):
            sources = [(init_neuron, init_ctr, 0), (lane.write_back, nu.out_tag, nu.out_i[c])]
            if not sum_mode:
                sources.append((lane.event_write, w_local, lane.rmw[c]))
            sources.append((mine & (cmd.target == Target.I0 + c), cmd_local, cmd.data))
            write(lane.i[c][1], sources)
        if period:
            write(
                lane.r[1],
                [
                    (init_neuron, init_ctr, 0),
                    (lane.write_back, nu.out_tag, nu.out_refractory),
                    (mine & (cmd.target == Target.REFRACTORY), cmd_local, cmd.data),
                ],
            )
        if p.reset_delay:
            write(
                lane.pending[1],
                [
                    (init_neuron, init_ctr, 0),
                    (lane.write_back, nu.out_tag, nu.out_pending),
                    (mine & (cmd.target == Target.PENDING), cmd_local, cmd.data),
                ],
            )
        for c, (_, wr) in enumerate(lane.acc):
            write(
                wr,
                [
                    (init_acc, init_ctr, 0),
                    (lane.write_back, ring_base + nu.out_tag if ring else nu.out_tag, 0),
                    (lane.event_write, lane.w_addr[c], lane.rmw[c]),
                    (mine & (cmd.target == Target.ACC0 + c), cmd_acc_addr, cmd.data),
                ],
            )
        for c, banks in enumerate(lane.w):
            # A command writes in DBG_ISSUE, where the read address is cmd_waddr too: the
            # same address signal on both ports (one read/write port for an SPRAM).
            cmd_write = mine & (cmd.target == Target.WEIGHT0 + c)
            if stdp is not None:
                write_en = Signal(name=f"weight_we{c}_lane{lane_index}")
                write_addr = Signal.like(weight_addr, name=f"weight_waddr{c}_lane{lane_index}")
                write_data = Signal(
                    signed(core.weight_width), name=f"weight_wd{c}_lane{lane_index}"
                )
                with m.If(lane.learn_we[c]):
                    m.d.comb += [
                        write_en.eq(1),
                        write_addr.eq(lane.learn_update_addr),
                        write_data.eq(lane.learn_wd[c]),
                    ]
                with m.Else():
                    m.d.comb += [
                        write_en.eq(cmd_write),
                        write_addr.eq(weight_addr),
                        write_data.eq(cmd.data),
                    ]
            else:
                write_en, write_addr, write_data = cmd_write, weight_addr, cmd.data
            for b, (_, wr) in enumerate(banks):
                bank_hit = (write_addr[bank_bits:] == b) if multibank else Const(1)
                m.d.comb += [
                    wr.addr.eq(write_addr[:bank_bits] if multibank else write_addr),
                    wr.data.eq(write_data),
                    wr.en.eq(write_en & bank_hit),
                ]
                if spram:
                    # One port: no read in a cycle that writes (SPRAM read data is
                    # unchanged while writing, and a write command reads nothing).
                    writing = wr.word_en.any() if isinstance(wr, _PackedWrite) else wr.en
                    m.d.comb += banks[b][0].en.eq(pipe_en & ~writing)
        for name, code in _PARAM_TARGETS:
            if name in lane.params:
                write(lane.params[name][1], [(mine & (cmd.target == code), cmd_local, cmd.data)])
    if cnt_wr is not None:
        write(
            cnt_wr,
            [
                (init_axon, init_ctr, 0),
                (count_clear, clear_axon, 0),
                (count_write, count_axon, count_next),
            ],
        )


def packed_weight_memories(build: CoreBuild, lane_index: int) -> list:
    """Per channel, the banks of lane ``lane_index`` in a core with packed weights: the lanes
    ``g * G .. g * G + G - 1`` (``G = lanes_per_weight_word``) share one memory per channel
    whose words hold lane ``g * G + k``'s weight in bits ``k * W .. k * W + W - 1``; the first
    lane of a group builds it and every lane gets its slice of the read data and of the write
    port (one write enable per slice)."""
    core, m = build.core, build.m
    G, W = core.lanes_per_weight_word, core.weight_width
    first, k = lane_index - lane_index % G, lane_index % G
    if k == 0:
        build.packed_banks = [
            [
                _packed_memory(
                    m,
                    f"weight{c}_lanes{first}_{first + G - 1}"
                    + (f"_bank{b}" if build.multibank else ""),
                    G,
                    W,
                    min(SPRAM_DEPTH, build.weight_depth - b * SPRAM_DEPTH),
                )
                for b in range(build.n_banks)
            ]
            for c in range(build.C)
        ]
    return [
        [(_PackedRead(rd, k, W), _PackedWrite(wr, k, W)) for rd, wr in banks]
        for banks in build.packed_banks
    ]


def _packed_memory(m, name, lanes, width, depth):
    """One SPRAM bank of ``lanes`` weights of ``width`` bits per word (no initial contents:
    the weights are written over ``cmd``), with a write enable per weight."""
    mem = Memory(shape=unsigned(lanes * width), depth=depth, init=[], attrs={"ram_style": "huge"})
    m.submodules[name] = mem
    return mem.read_port(), mem.write_port(granularity=width)


class _PackedRead:
    """One lane's view of a packed bank's read port: the shared address and enable (every
    lane of the group drives them with the same value), the lane's signed slice of the data."""

    def __init__(self, port, index, width):
        self.addr, self.en = port.addr, port.en
        self.data = port.data[index * width : (index + 1) * width].as_signed()


class _PackedWrite:
    """One lane's view of a packed bank's write port: the shared address, the lane's slice of
    the data and its bit of the enable (``word_en``: the whole enable)."""

    def __init__(self, port, index, width):
        self.addr, self.word_en = port.addr, port.en
        self.data = port.data[index * width : (index + 1) * width]
        self.en = port.en[index]


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
