"""Graded input groups (``InputGroup(value_bits=k, signed=...)``, ``docs/system.md`` "Graded
inputs"): the network model, the mapping, the plan-level model and the host's encoding, the
hardware's refusals and the ``compile --input-bits`` plumbing. The RTL checks are in
tests/test_neuron_core.py (core) and tests/test_system_sim.py (chip)."""

import dataclasses
import json
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurohw.cli import main
from neurohw.flows.pipeline import FlowError, Source, integer_inputs, load_source
from neurohw.hw.core import NeuronCore
from neurohw.hw.endpoint import CoreIngress
from neurohw.model import Accumulation, InputTiming, loihi_cuba_lif
from neurohw.model.stdp import STDPParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate
from neurohw.network.graph import NetworkError
from neurohw.network.host_events import HostStreamError, encode_samples, input_payload
from neurohw.network.mapping import map_network
from neurohw.network.plan_model import simulate_plan
from neurohw.network.system import check_inputs
from neurohw.routing import EventKind
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_plan_model import EQUIVALENCE, _map, check_plan_against_system

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

PARAMS = loihi_cuba_lif(du=4095, dv=600, vth=30)


def graded_network(group: InputGroup, *, params=PARAMS, seed=0, size=5):
    """``group`` -> ``h`` -> ``o``, random 8-bit weights."""
    rng = np.random.default_rng(seed)
    return Network(
        inputs=[group],
        populations=[Population("h", size, params), Population("o", 3, PARAMS)],
        projections=[
            Projection(group.name, "h", rng.integers(-100, 100, (group.size, size))),
            Projection("h", "o", rng.integers(-60, 100, (size, 3))),
        ],
        outputs=["o", "h"],
    )


# --- InputGroup -----------------------------------------------------------------------------


def test_value_ranges():
    assert InputGroup("x", 3, value_bits=4).value_range == (0, 15)
    assert InputGroup("x", 3, value_bits=4, signed=True).value_range == (-8, 7)
    assert InputGroup("x", 3, value_bits=1, signed=True).value_range == (-1, 0)
    assert InputGroup("x", 3, value_bits=16).max_magnitude == 65535
    assert InputGroup("x", 3, value_bits=16, signed=True).max_magnitude == 32768
    counted = InputGroup("x", 3, max_count=5)
    assert not counted.graded and counted.value_range == (0, 5) and counted.max_magnitude == 5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(value_bits=0), "input group 'x' value_bits must be between 1 and 16, not 0"),
        (dict(value_bits=17), "input group 'x' value_bits must be between 1 and 16, not 17"),
        (dict(value_bits=4.0), "input group 'x' value_bits must be an integer, not 4.0"),
        (
            dict(signed=True),
            "input group 'x' has signed=True without value_bits; only a graded "
            "group (value_bits=1...16) carries signed values",
        ),
        (dict(value_bits=4, signed=1), "input group 'x' signed must be True or False, not 1"),
        (
            dict(value_bits=4, max_count=3),
            "input group 'x' has value_bits=4 and max_count=3; a "
            "graded group carries values, not spike counts: leave "
            "max_count=1",
        ),
    ],
)
def test_input_group_refusals(kwargs, message):
    with pytest.raises(NetworkError, match=re.escape(message) + r"\Z"):
        InputGroup("x", 3, **kwargs)


RULE = STDPParams(w_min=0, w_max=60, a_plus=8, a_minus=8, shift=4, trace_width=8)


def _learning_projections(graded_is_plastic):
    """``g`` (graded) and ``s`` (spikes) onto ``h``; one of the two projections learns."""
    weights = np.full((3, 4), 5)
    return Network(
        inputs=[InputGroup("g", 3, value_bits=4), InputGroup("s", 3)],
        populations=[Population("h", 4, PARAMS.replace(input_count_cap=1))],
        projections=[
            Projection("g", "h", weights, plasticity=RULE if graded_is_plastic else None),
            Projection("s", "h", weights, plasticity=None if graded_is_plastic else RULE),
        ],
        outputs=["h"],
    )


@pytest.mark.parametrize(
    "graded_is_plastic, plastic", [(True, "'g' -> 'h'"), (False, "'s' -> 'h'")]
)
def test_graded_input_refused_onto_a_learning_population(graded_is_plastic, plastic):
    message = (
        f"projection 'g' -> 'h': input group 'g' is graded (value_bits=4) and population "
        f"'h' learns (projection {plastic} is plastic); STDP counts spikes, not values: "
        f"feed a learning population from a spike-count input group"
    )
    with pytest.raises(NetworkError, match=re.escape(message) + r"\Z"):
        _learning_projections(graded_is_plastic)


def test_graded_input_onto_per_event_population_refused():
    """A 'per_event' population maps (tests/test_per_event_network.py), but takes no graded
    input: the core adds graded values only with accumulation 'sum'."""
    params = PARAMS.replace(accumulation=Accumulation.PER_EVENT)
    message = (
        "projection 'g' -> 'h': input group 'g' is graded (value_bits=4) and population 'h' "
        "uses accumulation 'per_event'; a core adds graded values only with accumulation "
        "'sum': feed a 'per_event' population from a spike-count input group"
    )
    with pytest.raises(NetworkError, match=re.escape(message) + r"\Z"):
        Network(
            inputs=[InputGroup("g", 2, value_bits=4)],
            populations=[Population("h", 4, params)],
            projections=[Projection("g", "h", np.ones((2, 4), dtype=np.int64))],
            outputs=["h"],
        )


# --- the model ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signed, values, bad, index",
    [
        (False, [[0, 15, 16]], 16, (0, 0, 2)),
        (False, [[3, -1, 0]], -1, (0, 0, 1)),
        (True, [[-8, 7, 0], [0, 0, -9]], -9, (1, 0, 2)),
    ],
)
def test_check_inputs_refuses_values_outside_the_range(signed, values, bad, index):
    network = graded_network(InputGroup("g", 3, value_bits=4, signed=signed))
    low, high = network.inputs["g"].value_range
    kind = "signed" if signed else "unsigned"
    message = (
        f"input 'g' has value {bad} at (step, batch, line) = {index}; graded group "
        f"'g' ({kind}, value_bits=4) takes values between {low} and {high}"
    )
    with pytest.raises(NetworkError, match=re.escape(message) + r"\Z"):
        check_inputs(network, {"g": np.array(values)})


def test_check_inputs_refuses_real_values():
    network = graded_network(InputGroup("g", 3, value_bits=4))
    with pytest.raises(
        NetworkError,
        match=re.escape("input 'g' must hold integer values, not dtype float64") + r"\Z",
    ):
        check_inputs(network, {"g": np.zeros((2, 3))})


@pytest.mark.parametrize("cap", [None, 3])
def test_graded_values_equal_spike_counts(cap):
    """Non-negative values up to max_count act exactly as spike counts without a cap. With a
    cap, counts are capped and values are not: the graded network equals the counted one on
    a target without cap."""
    rng = np.random.default_rng(4)
    params = PARAMS.replace(input_count_cap=cap)
    counted = graded_network(InputGroup("x", 6, max_count=7), params=params)
    graded = graded_network(InputGroup("x", 6, value_bits=3), params=params)
    uncapped = graded_network(InputGroup("x", 6, max_count=7), params=PARAMS)
    counts = rng.integers(0, 8, (9, 2, 6))
    record = ("spikes", "v", "i")
    got = simulate(graded, {"x": counts}, record=record)
    expected = simulate(uncapped if cap else counted, {"x": counts}, record=record)
    for what in record:
        for name in ("h", "o"):
            np.testing.assert_array_equal(getattr(got, what)[name], getattr(expected, what)[name])
    if cap:
        capped = simulate(counted, {"x": counts}).spikes["h"]
        assert not np.array_equal(capped, got.spikes["h"]), "the cap must have mattered"


def test_save_load_round_trip(tmp_path):
    network = Network(
        inputs=[
            InputGroup("a", 3, value_bits=5, signed=True),
            InputGroup("b", 2, value_bits=16),
            InputGroup("c", 2, max_count=3),
        ],
        populations=[Population("h", 4, PARAMS)],
        projections=[
            Projection(n, "h", np.ones((s, 4), dtype=int))
            for n, s in (("a", 3), ("b", 2), ("c", 2))
        ],
        outputs=["h"],
    )
    network.save(tmp_path / "n.npz")
    loaded = Network.load(tmp_path / "n.npz")
    assert loaded == network
    assert loaded.inputs["a"] == InputGroup("a", 3, value_bits=5, signed=True)
    entries = network.to_dict()["inputs"]
    assert entries[0] == {"name": "a", "size": 3, "max_count": 1, "value_bits": 5, "signed": True}
    # A count group's entry is as before graded groups existed (older files keep their bytes).
    assert entries[2] == {"name": "c", "size": 2, "max_count": 3}
    assert "input a: 3 lines, signed 5-bit values -16..15" in network.summary()


# --- mapping, plan model, host events ---------------------------------------------------------


def test_mapping_sizes_payload_and_accumulators():
    network = Network(
        inputs=[
            InputGroup("g", 4, value_bits=6, signed=True),
            InputGroup("u", 3, value_bits=3),
            InputGroup("x", 2, max_count=3),
        ],
        populations=[Population("h", 4, PARAMS.replace(input_count_cap=2))],
        projections=[
            Projection(n, "h", np.ones((s, 4), dtype=int))
            for n, s in (("g", 4), ("u", 3), ("x", 2))
        ],
        outputs=["h"],
    )
    plan = map_network(network)
    assert plan.fmt.payload_width == 6
    (core,) = plan.cores
    # |value| bounds for graded blocks (no cap), min(count, cap) for the counted one.
    assert core.max_events_per_step == 4 * 32 + 3 * 7 + 2 * 2
    assert [(b.source, b.graded, b.signed) for b in core.axon_blocks] == [
        ("g", True, True),
        ("u", True, False),
        ("x", False, False),
    ]
    # Even a 1-bit graded group makes the value travel in the payload.
    one_bit = graded_network(InputGroup("g", 3, value_bits=1))
    assert map_network(one_bit).fmt.payload_width == 1


def test_host_encodes_signed_values_in_twos_complement():
    network = graded_network(InputGroup("g", 3, value_bits=4, signed=True))
    plan = map_network(network)
    values = np.array([[[-8, 7, -1]]])
    words = encode_samples(plan, {"g": values})
    events = [plan.fmt.unpack(w) for w in words if plan.fmt.unpack(w).kind == EventKind.SPIKE]
    assert [(e.key - plan.input_key("g", 0), e.payload) for e in events] == [
        (0, 0b1000),
        (1, 0b0111),
        (2, 0b1111),
    ]


def test_host_refuses_a_value_the_payload_cannot_carry():
    network = graded_network(InputGroup("g", 3, value_bits=4, signed=True))
    plan = map_network(network)
    narrow = dataclasses.replace(plan, fmt=dataclasses.replace(plan.fmt, payload_width=3))
    message = (
        "input 'g' line 1: signed value -8 cannot be sent: the group takes -8..7 and "
        "the event payload has 3 bit(s)"
    )
    with pytest.raises(HostStreamError, match=re.escape(message) + r"\Z"):
        input_payload(narrow, "g", 1, -8)
    assert input_payload(narrow, "g", 1, -4) == 0b100
    with pytest.raises(
        HostStreamError,
        match=re.escape(
            "input 'g' line 0: signed value 8 cannot be sent: the group takes -8..7 and the "
            "event payload has 4 bit(s)"
        )
        + r"\Z",
    ):
        input_payload(plan, "g", 0, 8)


@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model_with_graded_inputs(data):
    """Random networks whose input groups are mostly graded (1 to 16 bits, signed or not,
    values over the whole range): the chip's plan model equals simulate bit for bit, every
    core's state every step; the accumulator bound holds."""
    network = data.draw(networks(graded=True))
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network, max_steps=6))
    trace, _ = check_plan_against_system(plan, network, inputs)
    for core in plan.cores:
        assert trace.events_per_step[core.index].max() <= core.max_events_per_step


def test_graded_events_are_one_event_each():
    """A graded value travels as one event (one host word, one synaptic op per synapse)."""
    network = graded_network(InputGroup("g", 3, value_bits=8))
    plan = map_network(network)
    values = np.array([[[200, 0, 3]], [[0, 0, 0]]])
    trace = simulate_plan(plan, {"g": values})
    assert trace.window_events[0] == 2
    fanout = (network.projections[0].weights != 0).sum(axis=1)
    assert trace.synaptic_ops[0, 0] == fanout[0] + fanout[2]


# --- hardware refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(value_width=1),
            "value_width=1 cannot hold the value 1 of a plain spike as a signed "
            "number; use 0 (no graded events) or 2..33",
        ),
        (dict(value_width=34), "value_width must be an integer between 0 and 33, not 34"),
        (
            dict(
                value_width=4,
                params=PARAMS.replace(
                    accumulation=Accumulation.PER_EVENT, input_timing=InputTiming.BEFORE_DECAY
                ),
            ),
            "value_width=4 (graded events) needs accumulation 'sum', not 'per_event'",
        ),
        (
            dict(value_width=4, stdp=RULE, params=PARAMS.replace(input_count_cap=1)),
            "value_width=4 (graded events) cannot be used with stdp: the traces count spikes, not "
            "values",
        ),
    ],
)
def test_core_refusals(kwargs, message):
    params = kwargs.pop("params", PARAMS)
    with pytest.raises(ValueError, match=re.escape(message) + r"\Z"):
        NeuronCore(params, n_neurons=4, n_axons=3, weight_width=8, **kwargs)


def test_ingress_needs_a_wide_enough_core():
    plan = map_network(graded_network(InputGroup("g", 3, value_bits=4, signed=True)))
    cp = plan.cores[0]
    core = NeuronCore(
        cp.params,
        n_neurons=cp.n_neurons,
        n_axons=cp.n_axons,
        weight_width=cp.weight_width,
        value_width=4,
    )
    message = (
        "axon blocks carry graded values in a 4-bit payload, so the core needs "
        "value_width>=5, not 4"
    )
    with pytest.raises(ValueError, match=re.escape(message) + r"\Z"):
        CoreIngress(
            plan.fmt,
            core=core,
            axon_blocks=cp.axon_blocks,
            keys_per_endpoint=plan.keys_per_endpoint,
            host=plan.host,
        )


# --- compile --input-bits -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "17", "four"])
def test_cli_input_bits_out_of_range(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as stop:
        main(["compile", str(tmp_path / "n.npz"), "-o", str(tmp_path / "o"), "--input-bits", value])
    assert stop.value.code == 2
    assert (
        f"argument --input-bits: must be an integer between 1 and 16 (the bits of a graded "
        f"input value), not {value!r}"
    ) in capsys.readouterr().err


def test_cli_input_bits_must_match_a_network_file(tmp_path, capsys):
    graded_network(InputGroup("g", 3, value_bits=4)).save(tmp_path / "n.npz")
    assert (
        main(
            [
                "compile",
                str(tmp_path / "n.npz"),
                "-o",
                str(tmp_path / "o"),
                "--input-bits",
                "6",
                "--device",
                "none",
                "--verify-samples",
                "0",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err == (
        f"neurohw: error: {tmp_path / 'n.npz'}: input_bits=6, but input group 'g' of the "
        f"network file has value_bits=4; a network file fixes its input groups: leave out "
        f"--input-bits or save the network with InputGroup(value_bits=6)\n"
    )


def test_cli_real_valued_inputs_need_input_bits(tmp_path, capsys):
    graded_network(InputGroup("g", 3, value_bits=4)).save(tmp_path / "n.npz")
    np.savez(tmp_path / "in.npz", g=np.full((4, 2, 3), 2.0))
    arguments = [
        "compile",
        str(tmp_path / "n.npz"),
        "-o",
        str(tmp_path / "o"),
        "--inputs",
        str(tmp_path / "in.npz"),
        "--device",
        "none",
        "--verify-samples",
        "0",
    ]
    assert main(arguments) == 2
    assert capsys.readouterr().err == (
        "neurohw: error: input 'g' is real-valued (dtype float64); give input_bits "
        "(--input-bits K, 1..16) to use real values as K-bit graded inputs, or integer spike "
        "counts\n"
    )
    # With --input-bits, whole-number real values are taken exactly.
    assert main(arguments + ["--input-bits", "4"]) == 0
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["reference"]["input_events_per_inference"] == 4 * 3


def test_integer_inputs_refuses_fractions():
    network = graded_network(InputGroup("g", 3, value_bits=4))
    message = (
        "input 'g' holds real values that are not whole numbers (first 0.5); a network "
        "file's graded groups take integer values"
    )
    with pytest.raises(FlowError, match=re.escape(message) + r"\Z"):
        integer_inputs(
            Source(network, origin="network n.npz"), {"g": np.full((2, 3), 0.5)}, input_bits=4
        )
    with pytest.raises(
        FlowError,
        match=re.escape(
            "input_bits must be an integer between 1 and 16 (the bits of a graded input "
            "value), not 0"
        )
        + r"\Z",
    ):
        integer_inputs(Source(network), {}, input_bits=0)


def test_compile_graded_network_file(tmp_path, simulator):
    """A graded network file through the whole flow, RTL verification included: the random
    inputs are graded values, the RTL's outputs equal the model's sample by sample."""
    graded_network(InputGroup("g", 3, value_bits=4, signed=True)).save(tmp_path / "n.npz")
    assert (
        main(
            [
                "compile",
                str(tmp_path / "n.npz"),
                "-o",
                str(tmp_path / "o"),
                "--input-bits",
                "4",
                "--device",
                "none",
                "--samples",
                "2",
                "--steps",
                "6",
                "--verify-samples",
                "2",
                "--simulator",
                simulator,
                "--rate",
                "0.9",
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["reference"]["input_events_per_inference"] > 0
    (entry,) = report["verification"]
    assert entry["passed"] and entry["rtl_matches_model_per_sample"]


def test_nir_with_input_bits_needs_calibration(tmp_path):
    """Real-valued inputs take their scale from calibration data; without it the flow says so,
    and with it the quantizer builds a graded input group of input_bits."""
    import nir

    from tests.test_nir_import import snntorch_graph

    path = tmp_path / "s.nir"
    nir.write(
        path, snntorch_graph(np.ones((3, 4)), np.zeros(3), np.ones((2, 3)), 0.8, per_neuron=True)
    )
    message = (
        f"{path}: real-valued inputs (--input-bits 4) need calibration data to choose "
        f"their scale: give --inputs (or --calibration)"
    )
    with pytest.raises(FlowError, match=re.escape(message) + r"\Z"):
        load_source(path, dt=1e-4, input_bits=4)
    calibration = {"input": np.random.default_rng(0).random((5, 3, 4))}
    source = load_source(path, dt=1e-4, input_bits=4, calibration=calibration)
    (group,) = source.network.inputs.values()
    assert group.graded and group.value_bits == 4 and not group.signed
