"""The committed trainer fixtures (tests/data/trainers/, made by make_fixtures.py in a dev-only
environment with the real frameworks) are present and consistent with their meta.json.

This checks the files only: it needs nir and numpy, never torch or a trainer."""

import json
from pathlib import Path

import nir
import numpy as np
import pytest

FIXTURES_DIR = Path(__file__).parent / "data" / "trainers"
FIXTURES = [
    "snn_leaky_direct",
    "snn_leaky_rate",
    "snn_leaky_nodelay",
    "snn_leaky_zero",
    "snn_synaptic",
    "snn_rleaky",
    "snn_conv",
    "norse_lif",
    "norse_lifbox",
    "sinabs_iaf",
    "sinabs_conv",
    "rockpool_lif",
]
# Which NIR neuron node each framework's exporter writes for these networks.
NEURON_NODES = {
    "snn_leaky_direct": {"LIF"},
    "snn_leaky_rate": {"LIF"},
    "snn_leaky_nodelay": {"LIF"},
    "snn_leaky_zero": {"LIF"},
    "snn_synaptic": {"CubaLIF"},
    "snn_rleaky": {"LIF"},
    "snn_conv": {"LIF"},
    "norse_lif": {"CubaLIF"},
    "norse_lifbox": {"LIF"},
    "sinabs_iaf": {"IF"},
    "sinabs_conv": {"IF"},
    "rockpool_lif": {"CubaLIF"},
}
SIZE_LIMIT_BYTES = 2 * 1024 * 1024


def load(name):
    folder = FIXTURES_DIR / name
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "outputs.npz") as arrays:
        data = {key: arrays[key] for key in arrays.files}
    return meta, data


def test_every_fixture_folder_is_listed():
    folders = sorted(
        p.name for p in FIXTURES_DIR.iterdir() if p.is_dir() and not p.name.startswith("__")
    )
    assert folders == sorted(FIXTURES)


def test_fixtures_stay_small():
    total = sum(p.stat().st_size for p in FIXTURES_DIR.rglob("*") if p.is_file())
    assert total < SIZE_LIMIT_BYTES


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_is_consistent(name):
    meta, data = load(name)
    steps, n = meta["steps"], meta["n_saved"]
    assert meta["name"] == name
    assert meta["nir_version"] == "1.0.8"
    assert set(data) == {"x", "labels", "out_spikes", "hidden_spikes", "out_mem", "predictions"}
    assert data["x"].shape == (steps, n, meta["n_inputs"])
    assert data["labels"].shape == data["predictions"].shape == (n,)
    assert data["out_spikes"].shape == data["out_mem"].shape == (steps, n, meta["n_outputs"])
    assert data["hidden_spikes"].shape == (steps, n, meta["n_hidden"])
    assert data["out_spikes"].dtype == data["hidden_spikes"].dtype == np.uint8
    if meta["input"] == "rate":
        assert data["x"].dtype == np.uint8 and set(np.unique(data["x"])) <= {0, 1}
    else:
        assert data["x"].dtype == np.float32
    # The predictions are the argmax of the saved output spike counts (lowest index on a tie).
    np.testing.assert_array_equal(
        np.argmax(data["out_spikes"].sum(axis=0), axis=1), data["predictions"]
    )
    assert meta["accuracy_first_saved"] == pytest.approx(
        np.mean(data["predictions"] == data["labels"])
    )
    # meta's maxima are over all 359 test images, the saved ones are the first 100 of them.
    assert int(data["hidden_spikes"].max()) <= meta["max_hidden_spikes_per_step"]
    assert int(data["out_spikes"].max()) <= meta["max_out_spikes_per_step"]
    assert 0.85 <= meta["accuracy"] <= 1.0


@pytest.mark.parametrize("name", FIXTURES)
def test_model_file_opens_with_the_expected_nodes(name):
    meta, _ = load(name)
    graph = nir.read(FIXTURES_DIR / name / "model.nir", type_check=False)
    kinds = {}
    for key, node in graph.nodes.items():
        kinds.setdefault(type(node).__name__, []).append(key)
    assert {"Input", "Output"} <= set(kinds)
    neurons = {kind for kind in kinds if kind in {"LIF", "CubaLIF", "IF", "LI", "CubaLI", "I"}}
    assert neurons == NEURON_NODES[name]
    # Input size: 64 pixels for the MLPs, one 8x8 image for the conv net (batch dims that some
    # exporters keep are leading 1s).
    input_shape = [int(d) for d in graph.nodes[kinds["Input"][0]].input_type["input"]]
    expected = [1, 8, 8] if name in ("snn_conv", "sinabs_conv") else [meta["n_inputs"]]
    assert input_shape[-len(expected) :] == expected
    assert all(d == 1 for d in input_shape[: -len(expected)])
    # The output neurons have one parameter per class.
    output_key = kinds["Output"][0]
    last = next(a for a, b in graph.edges if b == output_key)
    assert np.asarray(graph.nodes[last].v_threshold).shape == (meta["n_outputs"],)
