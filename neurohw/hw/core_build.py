"""The elaboration context shared by the parts of a :class:`neurohw.hw.core.NeuronCore`.

:meth:`NeuronCore.elaborate <neurohw.hw.core.NeuronCore.elaborate>` builds a :class:`CoreBuild`
and calls the parts (``core_memories``, ``core_sweep``, ``core_events``, ``core_command``,
``core_stdp``) in order; each reads the signals, memories and helpers that earlier parts set on
it and sets its own. The attributes below are that interface, grouped by the part that sets
them (``None`` until then, or where a configuration does not have them).
"""

from __future__ import annotations

from amaranth.hdl import Module

from ..model.params import Accumulation


class Phase:
    """The core's phases (the values of ``CoreBuild.phase``)."""

    (
        INIT,
        RUN,
        DBG_LOOKUP,
        DBG_ISSUE,
        DBG_WAIT,
        DBG_CAPTURE,
        DBG_RESPOND,
        SWEEP,
        FINISH,
        DONE,
        LEARN_FETCH,
        LEARN_LOAD,
        LEARN_WALK,
        LEARN_DRAIN,
    ) = range(14)


class CoreBuild:
    """Signals, memories and helpers of one core's elaboration, shared between its parts."""

    # set by memory_helpers
    attr_width = attr_word = bank_bits = banked = delay_bits = fan_count = fan_rd = None
    fan_start = lane_valid = lanes = memory = multibank = n_banks = neuron_of = spram = None
    packed_banks = None
    syn_rd = weight_depth = weight_memory = write = None
    # set by lane_memories
    cnt_rd = cnt_wr = pipe_en = x_pre_rd = x_pre_wr = None
    # set by control
    dbg_reading = events = events_status = init_acc = init_axon = init_ctr = init_neuron = None
    invalid_count = learn_enable = overflow_count = phase = ring_address = ring_base = None
    ring_pos = saturating_increment = step_number = None
    # set by event_input
    accept_event = axon_ok = bank_stages = chain = decide = graded = in_axon = in_value = None
    weight_data = weight_issue_addr = None
    # set by dense_events
    count_axon = count_next = count_write = event_count_axon = event_idle = None
    event_read_local = event_weight_addr = rmw_local = rmw_valid = rmw_value = rmw_weights = None
    # set by sparse_events
    s2_local = None
    # set by accumulate
    learn_busy = plastic_bit = w_local = write_stage = None
    # set by command_decode
    accept_cmd = cmd = cmd_acc_addr = cmd_lane = cmd_local = cmd_ok = cmd_waddr = dbg_write = None
    payload = rsp_data = rsp_error = None
    # set by sweep
    clear_axon = clear_busy = count_clear = sw_local = sweep_over = None
    # set by potentiation_walk
    learn_at = learn_axon = learn_base = learn_issue = pre_trace_at = None
    # set by read_addresses
    weight_addr = None

    def __init__(self, core):
        #: The core being elaborated (its ports and its description, ``core.config``).
        self.core = core
        build = self
        build.m = Module()
        build.p = core.params
        build.N, build.A, build.C = core.n_neurons, core.n_axons, core.channels
        build.P, build.D, build.lane_bits = core.lanes, core.lane_depth, core.lane_bits
        build.nc = build.p.n_currents
        build.sum_mode = build.p.accumulation is Accumulation.SUM
        build.sparse = core.connectivity == "sparse"
        build.cap = build.p.input_count_cap
        build.period = build.p.refractory_period
        build.S = max(1, core.n_synapses)
        build.ring = core.max_delay > 1
        build.ring_depth = core.max_delay
        build.stdp = core.stdp
