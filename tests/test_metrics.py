"""NeuroBench metrics (neurohw.flows.metrics) on tiny networks whose figures follow from the
definitions, and on the network checked against the neurobench package itself
(tests/data/neurobench/, written by tests/data/neurobench/check_neurobench.py)."""

import json
from pathlib import Path

import numpy as np
import pytest

from neurohw.flows.metrics import element_bytes, neurobench_metrics
from neurohw.model import NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection, simulate

FIXTURE = Path(__file__).parent / "data" / "neurobench"


def _integrator(threshold=100):
    # x (2 lines) -> o (2 neurons), no leak: v accumulates its drive until it crosses.
    return Network(
        inputs=[InputGroup("x", 2)],
        populations=[Population("o", 2, NeuronParams(threshold=threshold))],
        projections=[Projection("x", "o", np.array([[1, 0], [2, 3]]))],
        outputs=["o"],
    )


def test_metrics_follow_from_the_definitions():
    network = _integrator()
    x = np.array([[1, 0], [0, 0], [1, 1]])[:, np.newaxis, :]  # (steps 3, batch 1, 2)
    m = neurobench_metrics(network, {"x": x})
    # 4 weights of 8 bits (1 byte each) + 2 membranes of 16 bits (2 bytes each).
    assert (m.parameter_bytes, m.state_bytes, m.footprint_bytes) == (4, 4, 8)
    assert m.connection_sparsity == 1 / 4
    # No spikes (threshold 100): every output is zero.
    assert m.activation_sparsity == 1.0
    # Step 0: line 0 (fan-out 1); step 1: nothing; step 2: lines 0 and 1 (fan-out 1 + 2).
    assert m.effective_acs == 4 and m.effective_macs == 0
    assert m.synaptic_operations_dense == 3 * 4
    # v: [1, 0] -> [1, 0] -> [4, 3]: 2 at the first step, 0, then 2 changed.
    assert m.membrane_updates == 4
    assert m.chip_neuron_updates == 6
    assert "effective ACs" in m.table() and m.as_dict()["effective_acs"] == 4


def test_spikes_reach_the_next_layer_one_step_later_and_counts_are_macs():
    # o sends counts of up to 3 per step into p: a count > 1 is not a binary spike, so
    # NeuroBench counts that call as MACs.
    network = Network(
        inputs=[InputGroup("x", 1, max_count=3)],
        populations=[
            Population("o", 1, NeuronParams(threshold=0, reset="subtract", max_spikes=3)),
            Population("p", 2, NeuronParams(threshold=100)),
        ],
        projections=[
            Projection("x", "o", np.array([[1]])),
            Projection("o", "p", np.array([[1, 1]])),
        ],
        outputs=["p"],
    )
    x = np.array([[1], [3], [0]])[:, np.newaxis, :]
    m = neurobench_metrics(network, {"x": x})
    # Threshold 0, subtract reset: v stays above 0, so o sends its maximum, 3, every step.
    assert simulate(network, {"x": x}).spikes["o"].ravel().tolist() == [3, 3, 3]
    # x -> o: step 0 a count of 1 (an AC call), step 1 a count of 3 (a MAC call).
    # o -> p: o's spikes of step t reach p at t + 1: [0, 3, 3]: two MAC calls of fan-out 2.
    assert m.effective_acs == 1
    assert m.effective_macs == 1 + 2 + 2
    assert m.synaptic_operations_dense == 3 * (1 + 2)
    assert m.activation_sparsity == 6 / 9  # o's 3 outputs are non-zero, p's 6 are zero


def test_graded_inputs_are_macs_and_samples_are_averaged():
    network = Network(
        inputs=[InputGroup("g", 2, value_bits=4)],
        populations=[Population("o", 1, NeuronParams(threshold=100))],
        projections=[Projection("g", "o", np.array([[2], [0]]))],
        outputs=["o"],
    )
    g = np.zeros((2, 2, 2), dtype=np.int64)
    g[0, 0, 0] = 5  # sample 0: a value of 5 on line 0 (fan-out 1)
    g[1, 1, 0] = 1  # sample 1: a value of 1 is indistinguishable from a spike: an AC
    m = neurobench_metrics(network, {"g": g})
    assert (m.effective_macs, m.effective_acs) == (0.5, 0.5)


def test_element_bytes():
    assert [element_bytes(b) for b in (1, 8, 9, 16, 17, 33, 64)] == [1, 1, 2, 2, 4, 8, 8]
    with pytest.raises(ValueError, match="bits must be at most 64, not 65"):
        element_bytes(65)


def test_matches_the_neurobench_package():
    """The figures the neurobench package computed for the same network and inputs
    (check_neurobench.py: snnTorch Leaky(beta=1) layers with integer weights)."""
    reference = json.loads((FIXTURE / "neurobench.json").read_text())
    case = np.load(FIXTURE / "case.npz")
    network = Network(
        inputs=[InputGroup("x", case["w1"].shape[0])],
        populations=[
            Population("h", case["w1"].shape[1], NeuronParams(threshold=int(case["threshold"]))),
            Population("o", case["w2"].shape[1], NeuronParams(threshold=int(case["threshold"]))),
        ],
        projections=[
            Projection("x", "h", case["w1"]),
            Projection("h", "o", case["w2"], same_step=True),
        ],
        outputs=["o"],
    )
    spikes = simulate(network, {"x": case["x"]}).spikes
    assert np.array_equal(spikes["h"], case["spikes_h"])  # the same network as snnTorch's
    assert np.array_equal(spikes["o"], case["spikes_o"])
    m = neurobench_metrics(network, {"x": case["x"]})
    ours = {
        "ConnectionSparsity": round(m.connection_sparsity, 4),
        "ActivationSparsity": m.activation_sparsity,
        "Dense": m.synaptic_operations_dense,
        "Effective_MACs": m.effective_macs,
        "Effective_ACs": m.effective_acs,
        "MembraneUpdates": m.membrane_updates,
    }
    for name, value in ours.items():
        assert value == pytest.approx(reference[name]), name
