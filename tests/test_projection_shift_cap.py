"""Per-projection weight shifts and count caps (``Projection(weight_shift=, count_cap=)``,
``docs/system.md`` "Per-projection shift and cap"): the system model against an independent
computation, the plan model against the system model, the mapper's folding, the refusals, the
file format, and the chip (both simulators) on a Xylo-like network."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurohw.flows.system import generate_system_verilog
from neurohw.model import Decay, NeuronParams
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, NetworkError, Population, Projection, simulate
from neurohw.network.mapping import MappingError, map_network
from neurohw.network.plan_model import simulate_plan
from neurohw.network.timing import pad_inputs, trainer_steps
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_plan_model import EQUIVALENCE, PROPERTY, _map, check_plan_against_system


def _lif(**changes):
    """An integrator: no current, no decay, a threshold the tests never reach."""
    return NeuronParams(**{"v_width": 24, "threshold": 1 << 20, **changes})


# ---------------------------------------------------------------------------------------------
# The system model against an independent computation.


def test_drive_is_capped_counts_times_shifted_weights():
    """Two input groups onto one population whose threshold is never reached: v after each
    step is the running sum of min(count, cap) * (w << shift), the caps being the smaller of
    the projection's and the target's, and the target's input_shift applying on top."""
    rng = np.random.default_rng(3)
    a, b = rng.integers(-7, 8, size=(3, 4)), rng.integers(-7, 8, size=(2, 4))
    params = _lif(input_shift=1, input_count_cap=5)
    network = Network(
        inputs=[InputGroup("a", 3, 9), InputGroup("b", 2, 9)],
        populations=[Population("p", 4, params, weight_width=4)],
        projections=[
            Projection("a", "p", a, weight_shift=2, count_cap=3),
            Projection("b", "p", b, weight_shift=1),
        ],
        outputs=["p"],
    )
    counts_a = rng.integers(0, 10, size=(6, 1, 3))
    counts_b = rng.integers(0, 10, size=(6, 1, 2))
    trace = simulate(network, {"a": counts_a, "b": counts_b}, record=("v",))
    v = np.zeros(4, dtype=np.int64)
    for t in range(6):
        drive = np.minimum(counts_a[t, 0], 3) @ (a * 4) + np.minimum(counts_b[t, 0], 5) @ (b * 2)
        v = v + drive * 2
        np.testing.assert_array_equal(trace.v["p"][t, 0], v)
    assert (counts_a > 3).any() and (counts_b > 5).any()


# ---------------------------------------------------------------------------------------------
# The plan model against the system model.


@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model_with_shifts_and_caps(data):
    network = data.draw(networks(shifts_and_caps=True))
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network, max_steps=8))
    check_plan_against_system(plan, network, inputs)


@PROPERTY
@given(st.data())
def test_same_step_plan_with_shifts_and_caps(data):
    """The skewed chip of a same-step network (timing.skew rebuilds its projections) keeps
    each projection's shift and cap: cut back, the plan model is the network's own trace."""
    network = data.draw(networks(same_step=True, shifts_and_caps=True))
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network, max_steps=6))
    steps = next(iter(inputs.values())).shape[0]
    trace = simulate_plan(plan, pad_inputs(inputs, plan.flush_steps))
    expected = simulate(network, inputs)
    for name, spikes in trainer_steps(trace.spikes, plan.start_steps, steps).items():
        np.testing.assert_array_equal(spikes, expected.spikes[name], err_msg=name)


# ---------------------------------------------------------------------------------------------
# The mapper: shifted weights folded into the cores, one cap per axon block.


def _xylo_like(recurrent_caps=(3, 3), input_cap=15):
    params = NeuronParams(
        n_currents=2, i_decay=Decay.shift(2), threshold=30, reset="subtract", max_spikes=7
    )
    rng = np.random.default_rng(1)
    return Network(
        inputs=[InputGroup("x", 3, 31)],
        populations=[Population("h", 4, params, weight_width=4)],
        projections=[
            Projection(
                "x", "h", rng.integers(-8, 8, size=(3, 4)), weight_shift=2, count_cap=input_cap
            ),
            Projection(
                "h",
                "h",
                rng.integers(-8, 8, size=(4, 4)),
                channel=0,
                weight_shift=1,
                count_cap=recurrent_caps[0],
            ),
            Projection(
                "h",
                "h",
                rng.integers(-8, 8, size=(4, 4)),
                channel=1,
                weight_shift=3,
                count_cap=recurrent_caps[1],
            ),
        ],
        outputs=["h"],
    )


def test_mapper_folds_shifts_and_keeps_one_cap_per_block():
    network = _xylo_like()
    plan = map_network(network)
    (core,) = plan.cores
    x, hh0, hh1 = network.projections
    # Axons 0-2 are x, 3-6 are h; channel 1 of the recurrent axons holds the other matrix.
    np.testing.assert_array_equal(core.weights[0, :3], x.weights << 2)
    np.testing.assert_array_equal(core.weights[0, 3:], hh0.weights << 1)
    np.testing.assert_array_equal(core.weights[1, 3:], hh1.weights << 3)
    # 4-bit weights shifted by 3 need 7 bits.
    assert core.weight_width == 7
    assert [(b.source, b.count_cap) for b in core.axon_blocks] == [("x", 15), ("h", 3)]
    # The accumulator bound counts capped events: 3 lines * 15 + 4 neurons * 3.
    assert core.max_events_per_step == 3 * 15 + 4 * 3


def test_mapper_leaves_out_caps_that_cannot_act():
    """A cap at or above what the source sends (or the target's own cap) is no cap: the
    block gets none, so the ingress is built as without caps."""
    network = _xylo_like(recurrent_caps=(7, 7), input_cap=31)
    (core,) = map_network(network).cores
    assert [b.count_cap for b in core.axon_blocks] == [None, None]


def test_mapper_refuses_different_caps_on_one_block():
    network = _xylo_like(recurrent_caps=(3, 5))
    message = (
        "the projections 'h' -> 'h' (channel 0: 3, channel 1: 5) give different "
        "count_cap values; they share one axon per source neuron on a core, whose "
        "ingress has one cap per axon block: give them the same count_cap"
    )
    with pytest.raises(MappingError, match=re.escape(message)):
        map_network(network)


# ---------------------------------------------------------------------------------------------
# Refusals, equality and the file format.


def test_refusals():
    weights = np.array([[100, -3]])
    with pytest.raises(
        NetworkError,
        match=re.escape("projection 'x' -> 'p' weight_shift must be between 0 and 15, not 16"),
    ):
        Projection("x", "p", weights, weight_shift=16)
    with pytest.raises(
        NetworkError,
        match=re.escape("projection 'x' -> 'p' weight_shift must be an integer, not 1.0"),
    ):
        Projection("x", "p", weights, weight_shift=1.0)
    with pytest.raises(
        NetworkError,
        match=re.escape("projection 'x' -> 'p' count_cap must be between 1 and 65535, not 0"),
    ):
        Projection("x", "p", weights, count_cap=0)
    with pytest.raises(
        NetworkError,
        match=re.escape("projection 'x' -> 'p' count_cap must be between 1 and 65535, not 65536"),
    ):
        Projection("x", "p", weights, count_cap=65536)
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': weights from -3 to 100 shifted by weight_shift=9 range "
            "from -1536 to 51200, outside the 16-bit signed weights a core stores ([-32768, "
            "32767]); use a smaller weight_shift"
        ),
    ):
        Projection("x", "p", weights, weight_shift=9)
    Projection("x", "p", weights, weight_shift=8)  # 25600 fits
    rule = STDPParams(
        w_min=-20,
        w_max=40,
        a_plus=3,
        a_minus=2,
        shift=4,
        trace_width=6,
        pre_increment=40,
        post_increment=25,
    )
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'x' -> 'p': a plastic projection takes no weight_shift or count_cap "
            "(weight_shift=0, count_cap=2); STDP updates the stored weights and counts every "
            "spike"
        ),
    ):
        Projection("x", "p", np.array([[10, -3]]), plasticity=rule, count_cap=2)


def test_count_cap_refused_on_graded_input():
    with pytest.raises(
        NetworkError,
        match=re.escape(
            "projection 'g' -> 'p': count_cap=3 on graded input group 'g' (value_bits=4); a "
            "graded event carries a value, not a count, so it takes no cap"
        ),
    ):
        Network(
            inputs=[InputGroup("g", 1, value_bits=4)],
            populations=[Population("p", 2, NeuronParams())],
            projections=[Projection("g", "p", np.array([[1, 2]]), count_cap=3)],
            outputs=["p"],
        )


def test_equality_and_file_round_trip(tmp_path):
    network = _xylo_like()
    plain = Network(
        inputs=network.inputs.values(),
        populations=network.populations.values(),
        projections=[
            Projection(p.source, p.target, p.weights, p.channel) for p in network.projections
        ],
        outputs=network.outputs,
    )
    assert network != plain
    assert (
        "  x -> h (channel 0): 11 synapses, weight_shift 2, count_cap 15"
        in network.summary().splitlines()
    )
    assert network.projections[0] != Projection(
        "x", "h", network.projections[0].weights, weight_shift=2
    )
    network.save(tmp_path / "xylo.npz")
    assert Network.load(tmp_path / "xylo.npz") == network
    description = network.to_dict()["projections"]
    assert [(p.get("weight_shift"), p.get("count_cap")) for p in description] == [
        (2, 15),
        (1, 3),
        (3, 3),
    ]
    # Without shifts and caps the entries are left out, so older files keep their bytes.
    assert all(
        "weight_shift" not in p and "count_cap" not in p for p in plain.to_dict()["projections"]
    )


def test_verilog_without_acting_caps_is_unchanged(tmp_path):
    """Caps that cannot act are left out of the axon blocks, and an ingress without capped
    blocks is built as before caps existed: the same Verilog, byte for byte."""
    capped = _xylo_like(recurrent_caps=(7, 7), input_cap=31)
    plain = Network(
        inputs=capped.inputs.values(),
        populations=capped.populations.values(),
        projections=[
            Projection(p.source, p.target, p.weights, p.channel, weight_shift=p.weight_shift)
            for p in capped.projections
        ],
        outputs=capped.outputs,
    )
    generate_system_verilog(map_network(capped), tmp_path / "capped.v")
    generate_system_verilog(map_network(plain), tmp_path / "plain.v")
    assert (tmp_path / "capped.v").read_bytes() == (tmp_path / "plain.v").read_bytes()
