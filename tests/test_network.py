"""The network description (validation, file format) and the system reference model."""

import json
import re
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurohw.model import Decay, NeuronParams, StepInput, initial_state, loihi_cuba_lif, step
from neurohw.network import (
    InputGroup,
    Network,
    NetworkError,
    Population,
    Projection,
    check_inputs,
    simulate,
)
from tests.network_strategies import network_inputs, networks

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RECORD = ("spikes", "v", "i", "refractory")


def independent_loop(network, inputs):
    """The system semantics written again from docs/system.md, with the definitional form of
    the neuron step: each population's axons are its projections' source lines, one group per
    projection, fed the inputs of step t or the source's spikes of step t - 1."""
    steps, batch, counts = check_inputs(network, inputs)
    layout = {}
    for name, population in network.populations.items():
        projections = network.projections_to(name)
        n_axons = sum(network.size(p.source) for p in projections)
        weights = np.zeros(
            (population.params.input_channels, max(1, n_axons), population.size), dtype=np.int64
        )
        start = 0
        for p in projections:
            weights[p.channel, start : start + network.size(p.source)] = p.weights
            start += network.size(p.source)
        layout[name] = (projections, weights)
    states = {
        name: initial_state(p.params, p.size, batch) for name, p in network.populations.items()
    }
    out = {what: {name: [] for name in network.populations} for what in RECORD}
    previous = {
        name: np.zeros((batch, p.size), dtype=np.int64) for name, p in network.populations.items()
    }
    for t in range(steps):
        fired = {}
        for name, population in network.populations.items():
            projections, weights = layout[name]
            parts = [
                counts[p.source][t] if p.source in counts else previous[p.source]
                for p in projections
            ]
            spikes = (
                np.concatenate(parts, axis=1) if parts else np.zeros((batch, 1), dtype=np.int64)
            )
            states[name], fired[name] = step(
                population.params, states[name], StepInput(spikes=spikes, weights=weights)
            )
            out["spikes"][name].append(fired[name])
            for what in ("v", "i", "refractory"):
                out[what][name].append(getattr(states[name], what))
        previous = fired
    return {
        what: {name: np.stack(values) for name, values in by_name.items()}
        for what, by_name in out.items()
    }


def assert_same(trace, expected, names):
    for what in RECORD:
        for name in names:
            np.testing.assert_array_equal(
                getattr(trace, what)[name], expected[what][name], err_msg=f"{what} of {name}"
            )


def refused(message, function, *args, **kwargs):
    with pytest.raises(NetworkError, match=re.escape(message)):
        function(*args, **kwargs)


def small_network(**changes):
    parts = dict(
        inputs=[InputGroup("x", 3)],
        populations=[Population("h", 2, NeuronParams())],
        projections=[Projection("x", "h", np.ones((3, 2), dtype=int))],
        outputs=["h"],
    )
    parts.update(changes)
    return Network(**parts)


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(name="1x", size=2),
            "input group name must be an identifier (letters, digits, '_', "
            "not starting with a digit), not '1x'",
        ),
        (
            dict(name=3, size=2),
            "input group name must be an identifier (letters, digits, '_', not "
            "starting with a digit), not 3",
        ),
        (dict(name="x", size=0), "input group 'x' size must be at least 1, not 0"),
        (dict(name="x", size=2.0), "input group 'x' size must be an integer, not 2.0"),
        (
            dict(name="x", size=2, max_count=0),
            "input group 'x' max_count must be between 1 and 65535, not 0",
        ),
        (
            dict(name="x", size=2, max_count=65536),
            "input group 'x' max_count must be between 1 and 65535, not 65536",
        ),
    ],
)
def test_input_group_refusals(kwargs, message):
    refused(message, InputGroup, **kwargs)


def test_population_refusals():
    params = NeuronParams()
    refused(
        "population name must be an identifier (letters, digits, '_', not starting with a "
        "digit), not 'a b'",
        Population,
        "a b",
        2,
        params,
    )
    refused("population 'p' size must be at least 1, not 0", Population, "p", 0, params)
    refused("population 'p' params must be a NeuronParams, not {}", Population, "p", 2, {})
    per_event = NeuronParams(n_currents=1, i_decay=Decay.none(), accumulation="per_event")
    refused(
        "population 'p' uses accumulation 'per_event' with max_delay=2; a delay ring holds "
        "pre-summed drives, which cannot keep the order of a step's adds: 'per_event' needs "
        "max_delay=1 (every delay 1)",
        Population,
        "p",
        2,
        per_event,
        max_delay=2,
    )
    refused(
        "population 'p': threshold has 3 per-neuron values, but the population has 2 neurons",
        Population,
        "p",
        2,
        NeuronParams(threshold=np.array([1, 2, 3])),
    )
    refused(
        "population 'p' weight_width must be between 1 and 16, not 17",
        Population,
        "p",
        2,
        params,
        17,
    )
    refused(
        "population 'p' weight_width must be between 1 and 16, not 0", Population, "p", 2, params, 0
    )


def test_projection_refusals():
    refused(
        "projection 'x' -> 'h' weights must be integers, not dtype float64; quantize float "
        "weights first (neurohw.network.quantize)",
        Projection,
        "x",
        "h",
        np.ones((3, 2)),
    )
    refused(
        "projection 'x' -> 'h' weights must be a 2-D (source, target) array, not shape (3,)",
        Projection,
        "x",
        "h",
        np.ones(3, dtype=int),
    )
    refused(
        "projection 'x' -> 'h' channel must be at least 0, not -1",
        Projection,
        "x",
        "h",
        np.ones((3, 2), dtype=int),
        -1,
    )
    projection = Projection("x", "h", np.ones((3, 2), dtype=np.int8))
    assert projection.weights.dtype == np.int64 and not projection.weights.flags.writeable


def test_network_refusals():
    params = NeuronParams()
    h = Population("h", 2, params)
    w = np.ones((3, 2), dtype=int)
    refused(
        "the name 'h' is used twice; input groups and populations need distinct names",
        small_network,
        inputs=[InputGroup("h", 3)],
    )
    refused(
        "the name 'h' is used twice; input groups and populations need distinct names",
        small_network,
        populations=[h, Population("h", 2, params)],
    )
    refused(
        "a network needs at least one population",
        small_network,
        populations=[],
        projections=[],
        outputs=[],
    )
    refused("input groups must be InputGroup objects, not 'x'", small_network, inputs=["x"])
    refused("populations must be Population objects, not 'h'", small_network, populations=["h"])
    refused("projections must be Projection objects, not 5", small_network, projections=[5])
    refused(
        "projection 'y' -> 'h': source 'y' is neither an input group nor a population",
        small_network,
        projections=[Projection("y", "h", w)],
    )
    refused(
        "projection 'h' -> 'x': target 'x' is an input group; targets must be populations",
        small_network,
        projections=[Projection("h", "x", np.ones((2, 3), dtype=int))],
    )
    refused(
        "projection 'x' -> 'z': target 'z' is unknown; targets must be populations",
        small_network,
        projections=[Projection("x", "z", w)],
    )
    refused(
        "projection 'x' -> 'h': weights must have shape (source, target) = (3, 2), not (2, 3)",
        small_network,
        projections=[Projection("x", "h", w.T)],
    )
    refused(
        "projection 'x' -> 'h': channel 1 does not exist; the target's model has 1 input "
        "channel(s) (0 to 0)",
        small_network,
        projections=[Projection("x", "h", w, 1)],
    )
    refused(
        "projection 'x' -> 'h': weights range from -129 to 1, outside the target's "
        "weight_width=8 bits ([-128, 127])",
        small_network,
        projections=[Projection("x", "h", np.array([[1, 1], [-129, 0], [0, 0]]))],
    )
    refused(
        "two projections 'x' -> 'h' on channel 0; merge them into one weight matrix",
        small_network,
        projections=[Projection("x", "h", w), Projection("x", "h", w)],
    )
    refused("output 'x' is not a population; populations: 'h'", small_network, outputs=["x"])
    refused("outputs list a population twice: ['h', 'h']", small_network, outputs=["h", "h"])
    refused("a network needs at least one output population", small_network, outputs=[])
    assert small_network(outputs="h").outputs == ("h",)


def test_check_inputs_refusals():
    network = small_network()
    refused(
        "inputs name unknown input group(s) 'y'; the network's input groups: 'x'",
        check_inputs,
        network,
        {"x": np.zeros((2, 3), dtype=int), "y": 0},
    )
    refused("inputs miss input group(s) 'x'", check_inputs, network, {})
    refused(
        "input 'x' must hold integer spike counts, not dtype float64",
        check_inputs,
        network,
        {"x": np.zeros((2, 3))},
    )
    refused(
        "input 'x' must have shape (steps, batch, 3) or (steps, 3), not (2, 4)",
        check_inputs,
        network,
        {"x": np.zeros((2, 4), dtype=int)},
    )
    refused(
        "input 'x' has a spike count of 2; counts must be between 0 and the group's max_count=1",
        check_inputs,
        network,
        {"x": np.full((2, 3), 2)},
    )
    refused(
        "input 'x' has a spike count of -1; counts must be between 0 and the group's max_count=1",
        check_inputs,
        network,
        {"x": np.full((2, 3), -1)},
    )
    refused(
        "steps=3 but the inputs have 2 steps",
        check_inputs,
        network,
        {"x": np.zeros((2, 3), dtype=int)},
        3,
    )
    two = small_network(inputs=[InputGroup("x", 3), InputGroup("y", 1)])
    refused(
        "inputs disagree on (steps, batch): {'x': (2, 1), 'y': (3, 1)}",
        check_inputs,
        two,
        {"x": np.zeros((2, 3), dtype=int), "y": np.zeros((3, 1), dtype=int)},
    )
    none = small_network(inputs=[], projections=[])
    refused("a network without input groups needs steps=", check_inputs, none, {})
    with pytest.raises(
        TypeError, match=re.escape("inputs must be a dict of input group name -> counts, not list")
    ):
        check_inputs(network, [])
    refused(
        "state['h'] must be a NeuronState of batch 1 and 2 neurons",
        simulate,
        network,
        {"x": np.zeros((2, 3), dtype=int)},
        state={"h": initial_state(NeuronParams(), 3)},
    )


# -- file format -------------------------------------------------------------------------------


def rich_network():
    rng = np.random.default_rng(5)
    return Network(
        inputs=[InputGroup("x", 4, max_count=3), InputGroup("y", 2)],
        populations=[
            Population("h", 5, loihi_cuba_lif(du=100, dv=300, vth=7, bias_mant=np.arange(5))),
            Population(
                "o",
                3,
                NeuronParams(n_currents=2, i_decay=Decay.shift(2), threshold=np.array([3, 4, 5])),
                weight_width=12,
            ),
        ],
        projections=[
            Projection("x", "h", rng.integers(-50, 50, (4, 5))),
            Projection("h", "h", rng.integers(-50, 50, (5, 5))),
            Projection("y", "o", rng.integers(-50, 50, (2, 3)), channel=1),
            Projection("h", "o", rng.integers(-2000, 2000, (5, 3))),
        ],
        outputs=["o", "h"],
    )


def test_save_load_round_trip_is_byte_deterministic(tmp_path):
    network = rich_network()
    network.save(tmp_path / "a.npz")
    rich_network().save(tmp_path / "b.npz")
    data = (tmp_path / "a.npz").read_bytes()
    assert data == (tmp_path / "b.npz").read_bytes()
    loaded = Network.load(tmp_path / "a.npz")
    assert loaded == network
    loaded.save(tmp_path / "c.npz")
    assert (tmp_path / "c.npz").read_bytes() == data
    inputs = {
        "x": np.random.default_rng(0).integers(0, 4, (6, 2, 4)),
        "y": np.random.default_rng(1).integers(0, 2, (6, 2, 2)),
    }
    for name in network.populations:
        np.testing.assert_array_equal(
            simulate(loaded, inputs).spikes[name], simulate(network, inputs).spikes[name]
        )
    assert "population o: 3 neurons, 12-bit weights (output)" in network.summary()


def test_load_refusals(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip")
    with pytest.raises(NetworkError, match=re.escape(f"{path}: cannot read a network file: ")):
        Network.load(path)

    def write(description, arrays=()):
        with zipfile.ZipFile(path, "w") as archive:
            if description is not None:
                archive.writestr("network.json", json.dumps(description))
            for name in arrays:
                import io

                buffer = io.BytesIO()
                np.save(buffer, np.ones((3, 2), dtype=np.int64))
                archive.writestr(f"{name}.npy", buffer.getvalue())

    write(None)
    refused(f"{path}: not a neurohw network file (no network.json)", Network.load, path)
    good = small_network().to_dict()
    write({**good, "format": "other"})
    refused(f"{path}: format must be 'neurohw-network', not 'other'", Network.load, path)
    write({**good, "version": 99})
    refused(
        f"{path}: version 99 is not supported; this neurohw reads version 1", Network.load, path
    )
    write(good)
    refused(
        f"{path}: projection 'x' -> 'h' refers to missing array 'weights_0'", Network.load, path
    )
    write({k: v for k, v in good.items() if k != "outputs"}, ["weights_0"])
    refused(f"{path}: missing entry 'outputs'", Network.load, path)
    bad = json.loads(json.dumps(good))
    bad["populations"][0]["params"]["v_width"] = 1
    write(bad, ["weights_0"])
    refused(f"{path}: v_width must be", Network.load, path)
    bad["populations"][0]["params"]["colour"] = 1
    write(bad, ["weights_0"])
    refused(f"{path}: unknown neuron parameter(s) 'colour'", Network.load, path)
    bad = json.loads(json.dumps(good))
    bad["outputs"] = ["x"]
    write(bad, ["weights_0"])
    refused(f"{path}: output 'x' is not a population; populations: 'h'", Network.load, path)
    write(good, ["weights_0"])
    assert Network.load(path) == small_network()


# -- the system model --------------------------------------------------------------------------


@PROPERTY
@given(st.data())
def test_simulate_equals_an_independent_loop(data):
    network = data.draw(networks())
    inputs = data.draw(network_inputs(network, max_steps=8))
    trace = simulate(network, inputs, record=RECORD)
    assert_same(trace, independent_loop(network, inputs), network.populations)


@PROPERTY
@given(st.data())
def test_batch_gives_each_sample_alone(data):
    network = data.draw(networks())
    inputs = data.draw(network_inputs(network, max_batch=4))
    together = simulate(network, inputs, record=RECORD)
    batch = next(iter(inputs.values())).shape[1]
    for k in range(batch):
        alone = simulate(network, {name: c[:, k] for name, c in inputs.items()}, record=RECORD)
        for what in RECORD:
            for name in network.populations:
                np.testing.assert_array_equal(
                    getattr(together, what)[name][:, k], getattr(alone, what)[name][:, 0]
                )


def chain(params=None, recurrent=False):
    """x -> a -> b, with a's neurons easy to fire."""
    rng = np.random.default_rng(11)
    params = params or NeuronParams(threshold=12, reset="subtract", max_spikes=2)
    projections = [
        Projection("x", "a", rng.integers(1, 6, (4, 5))),
        Projection("a", "b", rng.integers(1, 6, (5, 3))),
    ]
    if recurrent:
        projections.append(Projection("a", "a", rng.integers(-4, 6, (5, 5))))
    return Network(
        inputs=[InputGroup("x", 4, max_count=3)],
        populations=[Population("a", 5, params), Population("b", 3, params)],
        projections=projections,
        outputs=["b"],
    )


def perturbed_inputs(t0, steps=8):
    rng = np.random.default_rng(3)
    base = rng.integers(0, 4, (steps, 1, 4))
    changed = base.copy()
    changed[t0] = 3 - base[t0]
    return {"x": base}, {"x": changed}


@pytest.mark.parametrize("recurrent", [False, True])
def test_input_acts_in_its_step_and_spikes_one_step_later(recurrent):
    network = chain(recurrent=recurrent)
    t0 = 3
    base, changed = perturbed_inputs(t0)
    one = simulate(network, base, record=RECORD)
    two = simulate(network, changed, record=RECORD)
    # The input of step t0 changes a in step t0 (not before) ...
    assert np.array_equal(one.v["a"][:t0], two.v["a"][:t0])
    assert not np.array_equal(one.v["a"][t0], two.v["a"][t0])
    # ... and b only from step t0 + 1: a's spikes of step t take one step to arrive.
    assert np.array_equal(one.v["b"][: t0 + 1], two.v["b"][: t0 + 1])
    assert np.array_equal(one.spikes["b"][: t0 + 1], two.spikes["b"][: t0 + 1])
    assert not np.array_equal(one.spikes["a"][t0], two.spikes["a"][t0])
    assert not np.array_equal(one.v["b"][t0 + 1], two.v["b"][t0 + 1])
    for inputs, trace in ((base, one), (changed, two)):
        assert_same(trace, independent_loop(network, inputs), network.populations)


def test_recurrent_spikes_arrive_next_step():
    network = chain(recurrent=True)
    plain = chain(recurrent=False)
    inputs, _ = perturbed_inputs(0)
    with_loop = simulate(network, inputs, record=RECORD)
    without = simulate(plain, inputs, record=RECORD)
    first = int(np.flatnonzero(with_loop.spikes["a"].reshape(8, -1).any(axis=1))[0])
    # Until a has spiked once, the recurrent projection has delivered nothing.
    assert np.array_equal(with_loop.v["a"][: first + 1], without.v["a"][: first + 1])
    assert not np.array_equal(with_loop.v["a"], without.v["a"])
    assert_same(with_loop, independent_loop(network, inputs), network.populations)


def test_input_count_cap_limits_each_line():
    capped = chain(
        params=NeuronParams(threshold=12, reset="subtract", max_spikes=2, input_count_cap=1)
    )
    inputs, _ = perturbed_inputs(0)
    assert inputs["x"].max() > 1
    trace = simulate(capped, inputs, record=RECORD)
    clipped = simulate(capped, {"x": np.minimum(inputs["x"], 1)}, record=RECORD)
    assert_same(trace, {what: getattr(clipped, what) for what in RECORD}, capped.populations)
    uncapped = simulate(chain(), inputs, record=RECORD)
    assert not np.array_equal(uncapped.v["a"], trace.v["a"])
    assert_same(trace, independent_loop(capped, inputs), capped.populations)


def test_network_without_inputs_needs_steps():
    network = small_network(
        inputs=[], projections=[], populations=[Population("h", 2, NeuronParams(bias_mantissa=20))]
    )
    trace = simulate(network, {}, steps=5)
    assert trace.steps == 5 and trace.spikes["h"].shape == (5, 1, 2)
    assert trace.output_counts(network)["h"].shape == (1, 2)
    assert_same(
        simulate(network, {}, steps=5, record=RECORD),
        independent_loop_steps(network, 5),
        network.populations,
    )


def independent_loop_steps(network, steps):
    population = network.populations["h"]
    state = initial_state(population.params, population.size)
    out = {what: {"h": []} for what in RECORD}
    weights = np.zeros((1, 1, population.size), dtype=np.int64)
    for _ in range(steps):
        state, fired = step(
            population.params,
            state,
            StepInput(spikes=np.zeros((1, 1), dtype=np.int64), weights=weights),
        )
        out["spikes"]["h"].append(fired)
        for what in ("v", "i", "refractory"):
            out[what]["h"].append(getattr(state, what))
    return {what: {"h": np.stack(v["h"])} for what, v in out.items()}
