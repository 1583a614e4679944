# amaranth: UnusedElaboratable=no
"""CoreIngress / CoreEgress (``neurohw.hw.endpoint``) and SystemTop construction: signatures,
refusals with their exact messages, and short ``amaranth.sim`` runs against hand-written event
sequences. The whole chip against the reference model is ``tests/test_system_sim.py``."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.back import verilog
from amaranth.sim import Simulator

from neurohw.flows.system import generate_system_verilog
from neurohw.hw.core import NeuronCore, Target
from neurohw.hw.endpoint import CoreEgress, CoreIngress, state_targets
from neurohw.hw.system import SystemTop, ingress_fifo_depth
from neurohw.model import Decay, NeuronParams, ResetMode
from neurohw.network import InputGroup, Network, Population, Projection
from neurohw.network.mapping import CoreCapacity, map_network
from neurohw.network.plan import AxonBlock
from neurohw.routing import EventFormat, EventKind

# A refused construction leaves an elaboratable that is never used (as in test_router.py).
pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

FMT = EventFormat(key_width=6, step_width=4, payload_width=2)
K = 8  # keys per endpoint
HOST = 3  # host endpoint: keys 24..31, tick key 31
TICK = HOST * K + K - 1


def make_core(**kwargs):
    params = NeuronParams(
        n_currents=1,
        i_decay=(Decay.none(),),
        refractory_period=2,
        reset=ResetMode.SUBTRACT,
        max_spikes=3,
    )
    return NeuronCore(params, n_neurons=3, n_axons=6, weight_width=4, **kwargs)


BLOCKS = (
    AxonBlock("x", 0, 2, axon_start=0, key_start=HOST * K),  # host lines 0, 1
    AxonBlock("h", 1, 4, axon_start=2, key_start=1 * K + 1),
)  # core 1 neurons 1..4


def make_ingress(**kwargs):
    args = dict(core=make_core(), axon_blocks=BLOCKS, keys_per_endpoint=K, host=HOST, fifo_depth=16)
    args.update(kwargs)
    return CoreIngress(FMT, **args)


# ---------------------------------------------------------------------------------------------
# CoreIngress


def test_ingress_init():
    ingress = make_ingress()
    core = ingress.core
    assert ingress.tick_key == TICK
    assert ingress.state_targets == (Target.V, Target.I0, Target.REFRACTORY)
    members = ingress.signature.members
    assert ingress.i.payload.shape().size == FMT.width
    assert len(ingress.spikes_in.payload) == core.axon_bits
    assert ingress.cmd.payload.shape() == core.cmd_layout
    assert members["rsp"].flow.name == "In"
    assert ingress.dbg_cmd.payload.shape() == core.cmd_layout
    assert len(ingress.eos_dropped) == len(ingress.invalid) == 16
    plain = NeuronCore(NeuronParams(), n_neurons=2, n_axons=1, weight_width=2)
    assert state_targets(plain) == (Target.V,)
    # snnTorch's delayed subtraction: the pending spike count is a state the clear zeroes.
    delayed = NeuronCore(
        NeuronParams(reset="subtract", reset_delay=True), n_neurons=2, n_axons=1, weight_width=2
    )
    assert state_targets(delayed) == (Target.V, Target.PENDING)
    assert delayed.target_bits == 5 and delayed.port_description()["targets"]["PENDING"] == 20


def test_ingress_init_wrong_fmt():
    with pytest.raises(TypeError, match=r"^event format must be an EventFormat, not 3$"):
        CoreIngress(3, core=make_core(), axon_blocks=BLOCKS, keys_per_endpoint=K, host=HOST)


def test_ingress_init_wrong_core():
    with pytest.raises(TypeError, match=r"^core must be a NeuronCore or a ConvCore, not 'core'$"):
        make_ingress(core="core")


def test_ingress_init_wrong_keys_per_endpoint():
    with pytest.raises(ValueError, match=r"^keys_per_endpoint must be a power of two, not 6$"):
        make_ingress(keys_per_endpoint=6)
    with pytest.raises(
        ValueError,
        match=r"^keys_per_endpoint must be between 2 and 64, not "
        r"128$",
    ):
        make_ingress(keys_per_endpoint=128)
    with pytest.raises(TypeError, match=r"^keys_per_endpoint must be an integer, not 8.0$"):
        make_ingress(keys_per_endpoint=8.0)


def test_ingress_init_wrong_host():
    with pytest.raises(ValueError, match=r"^host must be between 0 and 7, not 8$"):
        make_ingress(host=8)


def test_ingress_init_wrong_fifo_depth():
    with pytest.raises(ValueError, match=r"^fifo_depth must be between 2 and 1048576, not 1$"):
        make_ingress(fifo_depth=1)


def test_ingress_init_wrong_blocks():
    with pytest.raises(TypeError, match=r"^axon block 0 must be an AxonBlock, not \(0, 1\)$"):
        make_ingress(axon_blocks=[(0, 1)])
    with pytest.raises(
        ValueError,
        match=r"^axon block 1 covers axons 4 to 7, outside the "
        r"core's 6 axons$",
    ):
        make_ingress(axon_blocks=[BLOCKS[0], AxonBlock("h", 0, 4, 4, 8)])
    with pytest.raises(ValueError, match=r"^axon block 1 overlaps an earlier block on axon 1$"):
        make_ingress(axon_blocks=[BLOCKS[0], AxonBlock("h", 0, 2, 1, 8)])
    with pytest.raises(
        ValueError,
        match=r"^axon block 0 keys 0x3f to 0x40 do not fit in 6-bit "
        r"keys$",
    ):
        make_ingress(axon_blocks=[AxonBlock("h", 0, 2, 0, 63)])
    with pytest.raises(
        ValueError,
        match=r"^axon block 0 has count_cap=0; a cap is a positive "
        r"count and signed blocks take none$",
    ):
        make_ingress(axon_blocks=[AxonBlock("h", 0, 2, 0, 8, count_cap=0)])
    with pytest.raises(
        ValueError,
        match=r"^axon block 0 has count_cap=3; a cap is a positive "
        r"count and signed blocks take none$",
    ):
        make_ingress(
            axon_blocks=[AxonBlock("h", 0, 2, 0, 8, graded=True, signed=True, count_cap=3)]
        )


def _word(kind, key, step, payload=0):
    return FMT.pack(kind, key, step, payload)


def run_ingress(words, *, ready_pattern=(1,), cycles=400, core=None, blocks=BLOCKS):
    """Feed ``words`` into a CoreIngress, play the core (accepting spikes_in, step and cmd,
    answering every cmd), and return what the core saw and the final counters."""
    dut = make_ingress(axon_blocks=blocks, **({} if core is None else {"core": core}))
    seen = []
    counters = {}
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def source(ctx):
        for word in words:
            ctx.set(dut.i.payload.as_value(), word)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
        ctx.set(dut.i.valid, 0)

    async def core(ctx):
        cycle = 0
        pending_rsp = 0
        while cycle < cycles:
            ready = ready_pattern[cycle % len(ready_pattern)]
            ctx.set(dut.spikes_in.ready, ready)
            ctx.set(dut.step.ready, ready)
            ctx.set(dut.cmd.ready, int(not pending_rsp))
            ctx.set(dut.rsp.valid, int(pending_rsp > 0))
            ctx.set(dut.rsp.payload.as_value(), 0)
            (
                _,
                _,
                s_valid,
                s_payload,
                t_valid,
                c_valid,
                c_payload,
                r_ready,
            ) = await ctx.tick().sample(
                dut.spikes_in.valid,
                dut.spikes_in.payload,
                dut.step.valid,
                dut.cmd.valid,
                dut.cmd.payload,
                dut.rsp.ready,
            )
            if pending_rsp and r_ready:
                pending_rsp -= 1
            if s_valid and ready:
                seen.append(("spike", s_payload))
            if t_valid and ready:
                seen.append(("step",))
            if c_valid and not pending_rsp:
                seen.append(
                    (
                        "cmd",
                        c_payload.write,
                        c_payload.target,
                        c_payload.neuron,
                        c_payload.axon,
                        c_payload.data,
                    )
                )
                pending_rsp += 1
            cycle += 1
        for name in ("eos_dropped", "invalid", "tag_error", "cmd_error"):
            counters[name] = ctx.get(getattr(dut, name))

    sim.add_testbench(source, background=True)
    sim.add_testbench(core)
    sim.run()
    return seen, counters


def test_ingress_sim():
    words = [
        # Window -1: host line 1 twice, core-1 neuron 2 three times, a key without an axon,
        # the end-of-sample control, barrier -1.
        _word(EventKind.SPIKE, HOST * K + 1, 15, 2),
        _word(EventKind.SPIKE, K + 2, 15, 3),
        _word(EventKind.SPIKE, 5, 15, 1),
        _word(EventKind.CONTROL, TICK, 15),
        _word(EventKind.BARRIER, TICK, 15),
        # Window 0, the last of the sample: before its events (right after the step of window
        # -1's barrier) every neuron's V, I0 and refractory counter are zeroed; the core's
        # spike is dropped and counted, the host's passes.
        _word(EventKind.SPIKE, K + 1, 0, 1),
        _word(EventKind.SPIKE, HOST * K, 0, 1),
        _word(EventKind.BARRIER, TICK, 0),
        # Window 1: normal again; a barrier with a wrong tag is flagged.
        _word(EventKind.SPIKE, K + 4, 1, 1),
        _word(EventKind.BARRIER, TICK, 2),
    ]
    clear = [
        ("cmd", 1, int(target), neuron, 0, 0)
        for neuron in range(3)
        for target in (Target.V, Target.I0, Target.REFRACTORY)
    ]
    expected = (
        [("spike", 1)] * 2
        + [("spike", 3)] * 3
        + [("step",)]
        + clear
        + [("spike", 0), ("step",)]
        + [("spike", 5), ("step",)]
    )
    for pattern in [(1,), (1, 0, 0), (0, 1)]:
        seen, counters = run_ingress(words, ready_pattern=pattern)
        assert seen == expected, pattern
        assert counters == {"eos_dropped": 1, "invalid": 1, "tag_error": 1, "cmd_error": 0}
    # With a delay ring of 3 slots, the clear also zeroes every slot of every neuron's drive
    # (ACC0 with the slot in the axon field), still before the next sample's first events.
    ring_clear = [
        ("cmd", 1, int(target), neuron, axon, 0)
        for neuron in range(3)
        for target, axon in [
            (Target.V, 0),
            (Target.I0, 0),
            (Target.REFRACTORY, 0),
            (Target.ACC0, 0),
            (Target.ACC0, 1),
            (Target.ACC0, 2),
        ]
    ]
    seen, _ = run_ingress(words, core=make_core(max_delay=3), cycles=600)
    assert seen == (
        [("spike", 1)] * 2
        + [("spike", 3)] * 3
        + [("step",)]
        + ring_clear
        + [("spike", 0), ("step",)]
        + [("spike", 5), ("step",)]
    )


def test_ingress_sim_count_caps():
    """Per-block count caps (a projection's count_cap): the count is clamped to its block's
    cap before it becomes that many axon events; a count under the cap passes whole."""
    blocks = (
        AxonBlock("x", 0, 2, axon_start=0, key_start=HOST * K, count_cap=1),
        AxonBlock("h", 1, 4, axon_start=2, key_start=1 * K + 1, count_cap=2),
    )
    words = [
        _word(EventKind.SPIKE, HOST * K + 1, 15, 2),  # line 1: 2 -> 1 event
        _word(EventKind.SPIKE, K + 2, 15, 3),  # neuron 2 (axon 3): 3 -> 2
        _word(EventKind.SPIKE, K + 3, 15, 1),  # neuron 3 (axon 4): 1 -> 1
        _word(EventKind.BARRIER, TICK, 15),
    ]
    seen, counters = run_ingress(words, blocks=blocks)
    assert seen == [("spike", 1), ("spike", 3), ("spike", 3), ("spike", 4), ("step",)]
    assert counters["invalid"] == 0
    seen, _ = run_ingress(words)  # without caps: every count
    assert seen == [("spike", 1)] * 2 + [("spike", 3)] * 3 + [("spike", 4), ("step",)]


# ---------------------------------------------------------------------------------------------
# CoreEgress


def make_egress(**kwargs):
    args = dict(core=make_core(), index=1, keys_per_endpoint=K)
    args.update(kwargs)
    return CoreEgress(FMT, **args)


def test_egress_init():
    egress = make_egress()
    assert egress.tick_key == 2 * K - 1
    assert egress.spikes_out.payload.shape() == egress.core.spike_layout
    assert egress.o.payload.shape().size == FMT.width


def test_egress_init_wrong_index():
    with pytest.raises(ValueError, match=r"^index must be between 0 and 7, not 8$"):
        make_egress(index=8)


def test_egress_init_wrong_keys():
    with pytest.raises(
        ValueError,
        match=r"^a core of 3 neurons needs more than "
        r"keys_per_endpoint=2 keys \(the last is the tick "
        r"key\)$",
    ):
        make_egress(keys_per_endpoint=2)


def test_egress_init_wrong_payload():
    with pytest.raises(
        ValueError,
        match=r"^the core sends up to 3 spikes per neuron and step, "
        r"which needs a payload of at least 2 bits, not 0$",
    ):
        CoreEgress(EventFormat(key_width=6), core=make_core(), index=1, keys_per_endpoint=K)


def test_egress_init_wrong_unrouted_neuron():
    with pytest.raises(ValueError, match=r"^unrouted neuron must be between 0 and 2, not 3$"):
        make_egress(unrouted_neurons=[1, 3])


def run_egress(dut):
    """Spikes of neurons 0 and 2 in step 0, of neuron 1 in step 1, into ``dut`` with a sink
    that is not ready every third cycle: the events it sends."""
    spikes = [(0, 1, 0), (2, 3, 0), (1, 2, 1)]  # (neuron, count, step)
    dones = [0, 1]
    received = []
    sim = Simulator(dut)
    sim.add_clock(1e-6)

    async def core(ctx):
        await ctx.tick()
        for step in (0, 1):
            for neuron, count, tag in spikes:
                if tag != step:
                    continue
                ctx.set(
                    dut.spikes_out.payload.as_value(),
                    dut.core.spike_layout.const({"neuron": neuron, "count": count, "step": tag})
                    .as_value()
                    .value,
                )
                ctx.set(dut.spikes_out.valid, 1)
                await ctx.tick().until(dut.spikes_out.ready)
            ctx.set(dut.spikes_out.valid, 0)
            ctx.set(dut.done.payload, dones[step])
            ctx.set(dut.done.valid, 1)
            await ctx.tick().until(dut.done.ready)
            ctx.set(dut.done.valid, 0)

    async def sink(ctx):
        for cycle in range(60):
            ready = cycle % 3 != 1
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, dut.o.payload.as_value())
            if valid and ready:
                received.append(FMT.unpack(payload))

    sim.add_testbench(core, background=True)
    sim.add_testbench(sink)
    sim.run()
    return [tuple(e) for e in received]


def test_egress_sim():
    tick = 2 * K - 1
    assert run_egress(make_egress()) == [
        (EventKind.BARRIER, tick, 15, 0),
        (EventKind.SPIKE, K + 0, 0, 1),
        (EventKind.SPIKE, K + 2, 0, 3),
        (EventKind.BARRIER, tick, 0, 0),
        (EventKind.SPIKE, K + 1, 1, 2),
        (EventKind.BARRIER, tick, 1, 0),
    ]


def test_egress_takes_and_does_not_send_spikes_of_unrouted_neurons():
    tick = 2 * K - 1
    assert run_egress(make_egress(unrouted_neurons=[2, 1])) == [
        (EventKind.BARRIER, tick, 15, 0),
        (EventKind.SPIKE, K + 0, 0, 1),
        (EventKind.BARRIER, tick, 0, 0),
        (EventKind.BARRIER, tick, 1, 0),
    ]


# ---------------------------------------------------------------------------------------------
# SystemTop


def tiny_plan(topology="star", max_neurons=2):
    params = NeuronParams(threshold=10)
    rng = np.random.default_rng(0)
    network = Network(
        inputs=[InputGroup("x", 3)],
        populations=[Population("a", 4, params), Population("b", 2, params)],
        projections=[
            Projection("x", "a", rng.integers(-8, 20, (3, 4))),
            Projection("a", "a", rng.integers(-8, 8, (4, 4))),
            Projection("a", "b", rng.integers(0, 20, (4, 2))),
        ],
        outputs=["b"],
    )
    return map_network(network, capacity=CoreCapacity(max_neurons=max_neurons), topology=topology)


# The routers SystemTop builds in its constructor (neurohw/hw/topology.py) are used when the
# top is elaborated, which this test does not do.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_system_init():
    plan = tiny_plan()
    top = SystemTop(plan)
    members = top.signature.members
    assert len(top.host_in.payload) == plan.fmt.width
    assert len(top.host_out.payload) == plan.fmt.width
    assert len(members["eos_dropped"].dimensions) == 1
    assert members["eos_dropped"].dimensions == (plan.n_cores,)
    assert len(top.overflow) == plan.n_cores
    bare = SystemTop(plan, debug=False)
    assert "dbg_cmd" in members and "dbg_cmd" not in bare.signature.members
    description = top.port_description()
    assert description["n_cores"] == plan.n_cores and description["host"] == plan.host
    # Three windows of every key routed to the core plus its barrier.
    keys = sum(1 for targets in plan.connectivity.values() if 0 in targets)
    assert ingress_fifo_depth(plan, 0) == 3 * (keys + 1)


def test_system_init_wrong_plan():
    with pytest.raises(TypeError, match=r"^plan must be a ChipPlan, not 'plan'$"):
        SystemTop("plan")


def test_system_verilog_deterministic(tmp_path):
    plan = tiny_plan("star", max_neurons=4)
    first = generate_system_verilog(plan, tmp_path / "a.v").read_text()
    second = verilog.convert(
        SystemTop(tiny_plan("star", max_neurons=4)), name="neurohw_system", emit_src=False
    )
    assert first == second
    assert "module neurohw_system(" in first


def test_ingress_orders_per_event_core_by_axon():
    """A 'per_event' core's ingress (AxonOrderBuffer) issues a window's events in ascending
    axon order whatever their arrival order, counts a second event on one axon in a window in
    ``invalid`` and adds it (never loses it), and still drops a flagged window's core spikes
    and clears the core after the sample's last step."""
    params = NeuronParams(
        n_currents=1,
        i_decay=(Decay.shift(2),),
        accumulation="per_event",
        input_timing="before_decay",
        refractory_period=2,
        reset=ResetMode.SUBTRACT,
        max_spikes=3,
    )
    core = NeuronCore(params, n_neurons=3, n_axons=6, weight_width=4)
    words = [
        # Window -1: core-1 neuron 4 (axon 5), core-1 neuron 2 (axon 3) three times, host line 1
        # twice, host line 0 once, host line 1 again (a duplicate: 2 + 1 = 3 events on axon 1).
        _word(EventKind.SPIKE, K + 4, 15, 1),
        _word(EventKind.SPIKE, K + 2, 15, 3),
        _word(EventKind.SPIKE, HOST * K + 1, 15, 2),
        _word(EventKind.SPIKE, HOST * K, 15, 1),
        _word(EventKind.SPIKE, HOST * K + 1, 15, 1),
        _word(EventKind.CONTROL, TICK, 15),
        _word(EventKind.BARRIER, TICK, 15),
        # Window 0, the last of the sample: the core's spike is dropped, the host's kept.
        _word(EventKind.SPIKE, K + 1, 0, 1),
        _word(EventKind.SPIKE, HOST * K + 1, 0, 1),
        _word(EventKind.SPIKE, HOST * K, 0, 2),
        _word(EventKind.BARRIER, TICK, 0),
    ]
    clear = [
        ("cmd", 1, int(target), neuron, 0, 0)
        for neuron in range(3)
        for target in (Target.V, Target.I0, Target.REFRACTORY)
    ]
    expected = [("spike", 0)] + [("spike", 1)] * 3 + [("spike", 3)] * 3 + [("spike", 5), ("step",)]
    expected += clear + [("spike", 0)] * 2 + [("spike", 1), ("step",)]
    for pattern in [(1,), (1, 0, 0), (0, 1)]:
        seen, counters = run_ingress(words, ready_pattern=pattern, core=core)
        assert seen == expected, pattern
        assert counters == {"eos_dropped": 1, "invalid": 1, "tag_error": 0, "cmd_error": 0}
