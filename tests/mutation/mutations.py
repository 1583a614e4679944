"""The planted generator bugs of the mutation harness (``tests/mutation/run.py``).

Each mutation is one small, real edit of an Amaranth generator source (a text replacement that
must match exactly once) and the fast tests that must catch it; ``{sim}`` in a test id is the
simulator the harness runs (Icarus, else Verilator).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    path: str  # relative to the repository root, inside neurohw/
    old: str
    new: str
    tests: tuple[str, ...]


CORE = "tests/test_neuron_core.py"
ROUTER_SIM = "tests/test_router_sim.py::test_sim_router_5port[{sim}]"

MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "phantom_padding_neuron",
        "the padding slots of the last local address are swept like neurons (phantom spikes)",
        "neurohw/hw/core_memories.py",
        "        return Const(1) if lane < full_lanes else (local != D - 1)\n",
        "        return Const(1)\n",
        (f"{CORE}::test_padding_lanes[{{sim}}-5-4]",),
    ),
    Mutation(
        "high_water_off_by_one",
        "the router's high-water mark counts a level only once the queue holds one more word",
        "neurohw/hw/router.py",
        "reached[v - 1] | Cat(level >= v for level in self.level[k]).any()",
        "reached[v - 1] | Cat(level > v for level in self.level[k]).any()",
        (ROUTER_SIM, "tests/test_router_formal.py::test_prove_router_drop_default"),
    ),
    Mutation(
        "current_add_saturates",
        "the after-decay current add saturates where the policy says wrap",
        "neurohw/hw/neuron_update.py",
        'pipe[f"i{c}_d"] + self._scaled(pipe, c), p.i_width, p.i_overflow',
        'pipe[f"i{c}_d"] + self._scaled(pipe, c), p.i_width, Overflow.SATURATE'
        " if p.i_overflow is Overflow.WRAP else p.i_overflow",
        ("tests/test_neuron_update.py::test_sim_directed_overflow",),
    ),
    Mutation(
        "input_add_saturates",
        "the before-decay current add saturates where the policy says wrap",
        "neurohw/hw/neuron_update.py",
        'pipe[f"i{c}"] + self._scaled(pipe, c), p.i_width, p.i_overflow',
        'pipe[f"i{c}"] + self._scaled(pipe, c), p.i_width, Overflow.SATURATE'
        " if p.i_overflow is Overflow.WRAP else p.i_overflow",
        ("tests/test_neuron_update.py::test_sim_directed_overflow",),
    ),
    Mutation(
        "wrap_lava_corner_lost",
        "wrap_lava projects -2^(W-1) like a plain wrap (not to +2^(W-1))",
        "neurohw/hw/fixed_point.py",
        "return Cat(x[:width], x[width - 1] & x[: width - 1].any()).as_signed()",
        "return Cat(x[:width], x[width - 1]).as_signed()",
        ("tests/test_neuron_update.py::test_sim_directed_overflow",),
    ),
    Mutation(
        "hazard_forward_previous_write_removed",
        "the read-modify-write ignores the write of the previous cycle to the same word",
        "neurohw/hw/core_events.py",
        "m.d.comb += old.eq(Mux(fwd1, held1, Mux(fwd2, held2, raw)))",
        "m.d.comb += old.eq(Mux(fwd2, held2, raw))",
        (
            f"{CORE}::test_hazard[{{sim}}-1-sum-2-1-dense]",
            f"{CORE}::test_hazard[{{sim}}-1-per_event-5-1-dense]",
        ),
    ),
    Mutation(
        "hazard_forward_second_write_removed",
        "the read-modify-write ignores the write two cycles ahead to the same word",
        "neurohw/hw/core_events.py",
        "m.d.comb += old.eq(Mux(fwd1, held1, Mux(fwd2, held2, raw)))",
        "m.d.comb += old.eq(Mux(fwd1, held1, raw))",
        (
            f"{CORE}::test_hazard[{{sim}}-1-sum-2-1-dense]",
            f"{CORE}::test_hazard[{{sim}}-1-per_event-5-1-dense]",
        ),
    ),
    Mutation(
        "count_cap_bypass_removed",
        "back-to-back events on one axon read its input count without the one-entry bypass",
        "neurohw/hw/core_events.py",
        "m.d.comb += count.eq(Mux(bp_valid & (bp_axon == axon), bp_data, cnt_rd.data))",
        "m.d.comb += count.eq(cnt_rd.data)",
        (
            f"{CORE}::test_hazard[{{sim}}-1-sum-2-1-dense]",
            f"{CORE}::test_hazard[{{sim}}-1-per_event-5-1-dense]",
        ),
    ),
    Mutation(
        "count_cap_off_by_one",
        "the input count cap lets one event more through",
        "neurohw/hw/core_events.py",
        "under_cap = count < cap",
        "under_cap = count <= cap",
        (
            f"{CORE}::test_hazard[{{sim}}-1-sum-2-1-dense]",
            f"{CORE}::test_hazard[{{sim}}-1-per_event-5-1-dense]",
        ),
    ),
    Mutation(
        "event_limit_off_by_one",
        "the per-step event limit lets one event more through",
        "neurohw/hw/core_events.py",
        "under_limit = events < core.max_events_per_step",
        "under_limit = events <= core.max_events_per_step",
        (f"{CORE}::test_dropped_events[{{sim}}]",),
    ),
    Mutation(
        "graded_value_unsigned",
        "the weight x value product reads a graded event's value as unsigned",
        "neurohw/hw/core_events.py",
        "m.d.sync += product.eq(rmw_weights[lane_index][c] * rmw_value)",
        "m.d.sync += product.eq(rmw_weights[lane_index][c] * rmw_value.as_unsigned())",
        (
            f"{CORE}::test_graded[{{sim}}-0-1-dense-True]",
            f"{CORE}::test_graded[{{sim}}-2-2-dense-False]",
        ),
    ),
    Mutation(
        "reset_delay_pending_lost",
        "with reset_delay the pending spike is never recorded (no delayed subtraction)",
        "neurohw/hw/neuron_update.py",
        "statements.append(self.out_pending.eq(fires))",
        "statements.append(self.out_pending.eq(0))",
        (
            "tests/test_neuron_update.py::test_sim_reset_delay_exhaustive",
            f"{CORE}::test_reset_delay[{{sim}}-31-1-dense-False]",
        ),
    ),
    Mutation(
        "recheck_reset_not_doubled",
        "with recheck_reset a membrane left above threshold is tested against T, not 2T",
        "neurohw/hw/neuron_update.py",
        'pipe["retest_extra"] = Mux(pipe.pop("recheck"), threshold, 0)',
        'pipe["retest_extra"] = Mux(pipe.pop("recheck"), 0, 0)',
        (
            "tests/test_neuron_update.py::test_sim_recheck_reset_exhaustive",
            f"{CORE}::test_preset_snntorch_recheck_reset[{{sim}}-2]",
        ),
    ),
    Mutation(
        "per_neuron_decay_of_neuron_0",
        "every neuron's per-neuron decay memory holds neuron 0's constant",
        "neurohw/hw/core_memories.py",
        "np.asarray(per_neuron_contents(p, name), dtype=object), (N,)",
        "np.asarray(np.ravel(per_neuron_contents(p, name))[: 1 if 'decay' in name else None],"
        " dtype=object), (N,)",
        (
            f"{CORE}::test_per_neuron_decays_and_drive_bias[{{sim}}-loihi-False-1]",
            f"{CORE}::test_per_neuron_decays_and_drive_bias[{{sim}}-xylo-False-1]",
        ),
    ),
    Mutation(
        "router_duplicate_livelock",
        "an output never pops the event it sends: it repeats it forever",
        "neurohw/hw/router.py",
        "m.d.comb += self.head_pop[k].eq(accept & (take[k] | take_barrier))",
        "m.d.comb += self.head_pop[k].eq(accept & take_barrier)",
        (ROUTER_SIM,),
    ),
    Mutation(
        "router_output_counter_counts_offers",
        "the output counters count cycles offered, not words taken",
        "neurohw/hw/router.py",
        "m.d.comb += counters.out_transfer[j].eq(self.o[j].valid & self.o[j].ready)",
        "m.d.comb += counters.out_transfer[j].eq(self.o[j].valid)",
        (ROUTER_SIM,),
    ),
    Mutation(
        "ingress_count_clamp_removed",
        "the ingress no longer clamps a spike count to its axon block's count_cap",
        "neurohw/hw/endpoint.py",
        "count = Mux(inside & (self.payload > block.count_cap), block.count_cap, count)",
        "count = Mux(inside & (self.payload > block.count_cap), self.payload, count)",
        ("tests/test_endpoint.py::test_ingress_sim_count_caps",),
    ),
)
