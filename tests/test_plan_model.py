"""The plan-level chip model against the system reference model, and the host's event stream."""

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from neurohw.model import NeuronParams, loihi_cuba_lif
from neurohw.network import InputGroup, Network, Population, Projection, simulate
from neurohw.network.host_events import (
    HostStreamError,
    decode_outputs,
    encode_sample,
    encode_samples,
    events_to_counts,
    output_event_sets,
)
from neurohw.network.mapping import CoreCapacity, MappingError, map_network
from neurohw.network.plan_model import PlanModelError, simulate_plan
from neurohw.routing import EventKind
from tests.network_strategies import mapping_options, network_inputs, networks

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
EQUIVALENCE = settings(PROPERTY, max_examples=150)
RECORD = ("spikes", "v", "i", "refractory")


def _map(network, options):
    try:
        return map_network(network, **options)
    except MappingError:
        assume(False)


def received_stream(plan, spikes, *, first_step=0, leading_barrier=True, order=None):
    """The words the host receives for output spikes ``{pop: (steps, size)}``, as the contract
    says (per window: its spikes in the given key order, then its barrier)."""
    fmt = plan.fmt
    tick = plan.tick_key(plan.host)
    steps = next(iter(spikes.values())).shape[0]
    words = [fmt.pack(EventKind.BARRIER, tick, first_step - 1)] if leading_barrier else []
    for t in range(steps):
        events = []
        for core in plan.cores:
            if core.population in plan.network.outputs:
                row = spikes[core.population][t, core.neuron_start : core.neuron_stop]
                events += [
                    (plan.neuron_key(core.index, int(j)), int(row[j])) for j in np.flatnonzero(row)
                ]
        if order is not None:
            order.shuffle(events)
        words += [
            fmt.pack(EventKind.SPIKE, key, first_step + t, count if fmt.payload_width else 0)
            for key, count in events
        ]
        words.append(fmt.pack(EventKind.BARRIER, tick, first_step + t))
    return words


def check_plan_against_system(plan, network, inputs, *, reference_model=simulate):
    """Every spike and every core's states of ``simulate_plan`` against ``reference_model``
    (``simulate``, or ``simulate_samples`` for networks that learn)."""
    trace = simulate_plan(plan, inputs)
    reference = reference_model(network, inputs, record=RECORD)
    for name in network.populations:
        np.testing.assert_array_equal(trace.spikes[name], reference.spikes[name], err_msg=name)
    for core in plan.cores:
        part = slice(core.neuron_start, core.neuron_stop)
        where = f"core {core.index} ({core.population} {core.neuron_start}..)"
        np.testing.assert_array_equal(
            trace.v[core.index], reference.v[core.population][..., part], err_msg=where
        )
        np.testing.assert_array_equal(
            trace.i[core.index], reference.i[core.population][..., part], err_msg=where
        )
        np.testing.assert_array_equal(
            trace.refractory[core.index],
            reference.refractory[core.population][..., part],
            err_msg=where,
        )
    return trace, reference


def core_deliveries(plan, core, fired):
    """Deliveries of ``fired`` (the core's spike counts) to cores, counted from the plan's
    connectivity (not its compiled routes)."""
    return sum(
        len(
            [
                t
                for t in plan.connectivity.get(plan.neuron_key(core.index, int(j)), ())
                if t != plan.host
            ]
        )
        for j in np.flatnonzero(fired)
    )


@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model(data):
    network = data.draw(networks())
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network, max_steps=8))
    trace, reference = check_plan_against_system(plan, network, inputs)
    steps, samples = trace.steps, trace.samples

    # The host receives exactly the output populations' spikes, window by window.
    for k in range(samples):
        got = events_to_counts(plan, trace.host_output[k * steps : (k + 1) * steps])
        for name in network.outputs:
            np.testing.assert_array_equal(got[name], reference.spikes[name][:, k])

    # End of sample: each core drops the core-to-core spikes of the sample's last step.
    expected = np.zeros((plan.n_cores, samples), dtype=np.int64)
    for k in range(samples):
        for source in plan.cores:
            fired = reference.spikes[source.population][
                steps - 1, k, source.neuron_start : source.neuron_stop
            ]
            for j in np.flatnonzero(fired):
                for target in plan.connectivity.get(plan.neuron_key(source.index, int(j)), ()):
                    if target != plan.host:
                        expected[target, k] += 1
    np.testing.assert_array_equal(trace.core_events_dropped, expected)

    # Events and operations: the bound holds, and the totals add up.
    for core in plan.cores:
        assert trace.events_per_step[core.index].max() <= core.max_events_per_step
    total_in = trace.core_events_in.sum() + trace.host_events_in.sum()
    sent_spikes = sum(
        core_deliveries(
            plan,
            core,
            reference.spikes[core.population][t, k, core.neuron_start : core.neuron_stop],
        )
        for core in plan.cores
        for t in range(steps)
        for k in range(samples)
    )
    host_words = encode_samples(plan, inputs)
    host_deliveries = sum(
        len(plan.connectivity[e.key])
        for e in map(plan.fmt.unpack, host_words)
        if e.kind != EventKind.BARRIER
    )
    output_spikes = sum(int(np.count_nonzero(reference.spikes[name])) for name in network.outputs)
    assert total_in == sent_spikes + host_deliveries + output_spikes
    routed_spikes = sum(
        int(
            np.count_nonzero(
                [plan.connectivity.get(plan.neuron_key(c.index, j)) for j in np.flatnonzero(fired)]
            )
        )
        for c in plan.cores
        for t in range(steps)
        for k in range(samples)
        for fired in [reference.spikes[c.population][t, k, c.neuron_start : c.neuron_stop]]
    )
    host_events = sum(1 for w in host_words if plan.fmt.unpack(w).kind != EventKind.BARRIER)
    assert trace.window_events.sum() == routed_spikes + host_events


@PROPERTY
@given(st.data())
def test_host_events_round_trip(data):
    network = data.draw(networks())
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network))
    steps = next(iter(inputs.values())).shape[0]
    batch = next(iter(inputs.values())).shape[1]
    first_step = data.draw(st.integers(0, 300))

    # Sent: the words carry the routed lines' counts, window by window, then the barrier.
    words = encode_samples(plan, inputs, first_step=first_step)
    fmt = plan.fmt
    events = [fmt.unpack(w) for w in words]
    barriers = [e for e in events if e.kind == EventKind.BARRIER]
    assert [e.step for e in barriers] == [
        (first_step - 1 + w) % (1 << fmt.step_width) for w in range(batch * steps + 1)
    ]
    controls = [i for i, e in enumerate(events) if e.kind == EventKind.CONTROL]
    assert len(controls) == batch
    decoded = {name: np.zeros_like(c) for name, c in inputs.items()}
    window = first_step - 1
    for event in events:
        if event.kind == EventKind.BARRIER:
            window += 1
            continue
        assert event.step == window % (1 << fmt.step_width)
        if event.kind == EventKind.CONTROL:
            assert event.key == plan.tick_key(plan.host)
            assert (window - first_step + 1) % steps == steps - 1
            continue
        group, line = plan.source_of_key(event.key)
        g = window + 1 - first_step
        decoded[group][g % steps, g // steps, line] = event.payload if fmt.payload_width else 1
    for name, counts in inputs.items():
        routed = np.array(
            [bool(plan.connectivity.get(plan.input_key(name, j))) for j in range(counts.shape[2])],
            dtype=bool,
        )
        np.testing.assert_array_equal(decoded[name], counts * routed)

    # Received: output spikes in any order within a window decode back to the same counts.
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    reference = simulate(network, inputs)
    for k in range(batch):
        spikes = {name: reference.spikes[name][:, k] for name in network.outputs}
        stream = received_stream(
            plan, spikes, first_step=first_step + k * steps, leading_barrier=bool(k % 2), order=rng
        )
        decoded = decode_outputs(plan, stream, steps=steps, first_step=first_step + k * steps)
        for name in network.outputs:
            np.testing.assert_array_equal(decoded[name], spikes[name])


# -- fixed examples: samples, wrap-around, refusals -------------------------------------------


def chain_network(rng=None):
    rng = rng or np.random.default_rng(7)
    return Network(
        inputs=[InputGroup("x", 6, max_count=3)],
        populations=[
            Population("h", 7, loihi_cuba_lif(du=300, dv=500, vth=4)),
            Population("o", 3, NeuronParams(threshold=20)),
        ],
        projections=[
            Projection("x", "h", rng.integers(-60, 120, (6, 7))),
            Projection("h", "h", rng.integers(-30, 30, (7, 7))),
            Projection("h", "o", rng.integers(-10, 60, (7, 3))),
        ],
        outputs=["o"],
    )


def test_samples_are_run_in_the_given_order():
    network = chain_network()
    plan = map_network(network, capacity=CoreCapacity(max_neurons=3), step_width=2)
    inputs = {"x": np.random.default_rng(1).integers(0, 4, (5, 4, 6))}
    trace = simulate_plan(plan, inputs, samples=[3, 0, 0])
    reference = simulate(network, {"x": inputs["x"][:, [3, 0, 0]]})
    for name in network.populations:
        np.testing.assert_array_equal(trace.spikes[name], reference.spikes[name])
    np.testing.assert_array_equal(trace.spikes["h"][:, 1], trace.spikes["h"][:, 2])
    with pytest.raises(IndexError, match=re.escape("sample 4 is not in the batch of 4")):
        simulate_plan(plan, inputs, samples=[4])
    with pytest.raises(ValueError, match=re.escape("samples is empty: nothing to run")):
        simulate_plan(plan, inputs, samples=[])


def test_network_without_inputs_runs_on_steps():
    network = Network(
        inputs=[],
        populations=[
            Population("a", 4, NeuronParams(bias_mantissa=np.array([3, 5, 7, 9]), threshold=10)),
            Population("b", 2, NeuronParams(threshold=1)),
        ],
        projections=[Projection("a", "b", np.array([[1, 0], [0, 1], [1, 1], [2, 0]]))],
        outputs=["b"],
    )
    plan = map_network(network, capacity=CoreCapacity(max_neurons=2))
    trace = simulate_plan(plan, {}, steps=9)
    reference = simulate(network, {}, steps=9)
    for name in network.populations:
        np.testing.assert_array_equal(trace.spikes[name], reference.spikes[name])
    assert trace.samples == 1


def test_synaptic_ops_count_capped_events_times_fanout():
    network = chain_network()
    plan = map_network(network, capacity=CoreCapacity(max_neurons=4))
    inputs = {"x": np.random.default_rng(3).integers(0, 4, (6, 2, 6))}
    trace = simulate_plan(plan, inputs)
    reference = simulate(network, inputs)
    # Independently: per population and step, sum over source neurons of count * (number of
    # non-zero weights from it onto the population), all from the network's projections.
    total = 0
    for k in range(2):
        for t in range(6):
            for projection in network.projections:
                if projection.source == "x":
                    counts = inputs["x"][t, k]
                elif t == 0:
                    continue
                else:
                    counts = reference.spikes[projection.source][t - 1, k]
                total += int(counts @ np.count_nonzero(projection.weights, axis=1))
    assert trace.total_synaptic_ops == total


def test_plan_model_refuses_a_broken_plan():
    network = chain_network()
    plan = map_network(network)
    inputs = {"x": np.full((3, 1, 6), 3)}
    core = plan.cores[0]
    broken = dataclasses.replace(
        plan, cores=(dataclasses.replace(core, max_events_per_step=1), *plan.cores[1:])
    )
    with pytest.raises(
        PlanModelError,
        match=r"core 0 applied \d+ events in step 0, more than "
        r"its max_events_per_step=1",
    ):
        simulate_plan(broken, inputs)
    no_blocks = dataclasses.replace(
        plan, cores=(dataclasses.replace(core, axon_blocks=()), *plan.cores[1:])
    )
    with pytest.raises(
        PlanModelError,
        match=r"core 0 received key 0x[0-9a-f]+ in window -1, "
        r"which no axon block of it holds",
    ):
        simulate_plan(no_blocks, inputs)


def test_encode_sample_refuses_a_batch():
    plan = map_network(chain_network())
    with pytest.raises(
        ValueError,
        match=re.escape(
            "one sample's inputs must be (steps, size) or (steps, 1, size), not a batch of 2; "
            "use encode_samples for a batch"
        ),
    ):
        encode_sample(plan, {"x": np.zeros((3, 2, 6), dtype=int)})
    words = encode_sample(plan, {"x": np.zeros((3, 6), dtype=int)}, end_of_sample=False)
    assert [plan.fmt.unpack(w).kind for w in words] == [EventKind.BARRIER] * 3


def test_output_stream_refusals():
    network = chain_network()
    plan = map_network(network, capacity=CoreCapacity(max_neurons=2))
    fmt = plan.fmt
    tick = plan.tick_key(plan.host)
    o_core = plan.cores_of("o")[0]
    h_core = plan.cores_of("h")[0]
    key = plan.neuron_key(o_core.index, 0)
    barrier = lambda w: fmt.pack(EventKind.BARRIER, tick, w)  # noqa: E731
    spike = lambda k, w: fmt.pack(EventKind.SPIKE, k, w, 1)  # noqa: E731

    def refused(words, message, steps=2):
        with pytest.raises(HostStreamError, match=re.escape(message)):
            output_event_sets(plan, words, steps=steps)

    assert output_event_sets(
        plan, [barrier(-1), spike(key, 0), barrier(0), barrier(1)], steps=2
    ) == [frozenset({(key, 1)}), frozenset()]
    refused([spike(key, 1), barrier(0), barrier(1)], "step tag 1, expected 0")
    refused(
        [spike(plan.neuron_key(h_core.index, 0), 0), barrier(0), barrier(1)],
        f"key {plan.neuron_key(h_core.index, 0):#x} is no output neuron's (sent by 'h')",
    )
    refused(
        [spike(plan.tick_key(0), 0), barrier(0), barrier(1)],
        f"key {plan.tick_key(0):#x} is no output neuron's (sent by None)",
    )
    refused(
        [spike(key, 0), spike(key, 0), barrier(0), barrier(1)], f"key {key:#x} twice in one window"
    )
    refused(
        [fmt.pack(EventKind.CONTROL, tick, 0), barrier(0), barrier(1)],
        "only spikes and barriers reach the host",
    )
    refused(
        [barrier(0)], "the stream ends before the barrier of window 1 (1 of 2 windows complete)"
    )
    refused([barrier(0), barrier(1), spike(key, 2)], "1 event(s) after the barrier of window 1")


def test_payload_counts_in_output_stream():
    network = Network(
        inputs=[InputGroup("x", 2, max_count=1)],
        populations=[Population("o", 2, NeuronParams(reset="subtract", max_spikes=5, threshold=3))],
        projections=[Projection("x", "o", np.array([[9, 2], [4, 17]]))],
        outputs=["o"],
    )
    plan = map_network(network)
    assert plan.fmt.payload_width == 3
    fmt = plan.fmt
    key = plan.neuron_key(0, 1)
    tick = plan.tick_key(plan.host)
    with pytest.raises(HostStreamError, match=re.escape("count 6 outside 1..5")):
        output_event_sets(
            plan,
            [fmt.pack(EventKind.SPIKE, key, 0, 6), fmt.pack(EventKind.BARRIER, tick, 0)],
            steps=1,
        )
    inputs = {"x": np.array([[[1, 1]], [[0, 1]], [[1, 0]]])}
    trace, reference = check_plan_against_system(plan, network, inputs)
    assert reference.spikes["o"].max() > 1
