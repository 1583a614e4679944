"""File formats: population JSON, input .npz, trace .npz + summary JSON."""

import json

import numpy as np
import pytest

from neurohw.io import (
    FileFormatError,
    Population,
    load_input,
    load_population,
    save_input,
    save_population,
    save_trace,
    write_json,
)
from neurohw.model import loihi_cuba_lif, run, snntorch_leaky, xylo_lif


def _population_file(tmp_path, description, name="params.json"):
    path = tmp_path / name
    path.write_text(json.dumps(description))
    return path


def _npz(tmp_path, name="input.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _error(path, problem):
    return f"{path}: {problem}"


LOIHI = {
    "neurons": 4,
    "preset": "loihi_cuba_lif",
    "preset_args": {"du": 1024, "dv": 256, "vth": 100},
}


# --- Population files ---------------------------------------------------------------------------


def test_preset_population():
    population = Population(
        4, loihi_cuba_lif(du=1024, dv=256, vth=100), "loihi_cuba_lif", LOIHI["preset_args"]
    )
    assert population.to_dict() == LOIHI


def test_load_preset_population(tmp_path):
    population = load_population(_population_file(tmp_path, LOIHI))
    assert population.neurons == 4
    assert population.params == loihi_cuba_lif(du=1024, dv=256, vth=100)
    assert population.preset == "loihi_cuba_lif"


def test_model_population_round_trip(tmp_path):
    params = xylo_lif(dash_mem=4, dash_syn=(2, 3), threshold=np.array([10, 20, 30]))
    path = tmp_path / "params.json"
    save_population(path, Population(3, params))
    loaded = load_population(path)
    assert loaded.params == params and loaded.neurons == 3 and loaded.preset is None
    # Deterministic: saving again gives the same bytes.
    again = tmp_path / "again.json"
    save_population(again, loaded)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.parametrize(
    "description, problem",
    [
        ({"preset": "loihi_cuba_lif"}, "missing key 'neurons' (the population size)"),
        ({"neurons": 0, "model": {}}, "key 'neurons' must be a positive integer, not 0"),
        ({"neurons": 2}, "missing key 'model' (neuron parameters) or key 'preset'"),
        (
            {"neurons": 2, "model": {}, "preset": "xylo_lif"},
            "keys 'model' and 'preset' are both given; give exactly one",
        ),
        (
            {"neurons": 2, "preset": "foo"},
            "preset must be one of 'loihi_cuba_lif', 'snntorch_leaky', 'xylo_lif', not 'foo'",
        ),
        (
            {"neurons": 2, "modle": {}},
            "unknown key(s) 'modle'; allowed: 'model', 'neurons', 'preset', 'preset_args'",
        ),
        (
            {"neurons": 2, "model": {"v_width": 1}},
            "key 'model': v_width must be an integer between 2 and 64, not 1",
        ),
        (
            {"neurons": 2, "preset": "snntorch_leaky", "preset_args": {"threshold": 5}},
            "key 'preset_args': snntorch_leaky() missing 1 required keyword-only argument: "
            "'beta_constant'",
        ),
        (
            {"neurons": 2, "model": {"threshold": [1, 2, 3]}},
            "threshold has 3 per-neuron values, but the population has 2 neurons",
        ),
    ],
)
def test_population_errors(tmp_path, description, problem):
    path = _population_file(tmp_path, description)
    with pytest.raises(FileFormatError) as caught:
        load_population(path)
    assert str(caught.value) == _error(path, problem)


def test_population_not_json(tmp_path):
    path = tmp_path / "params.json"
    path.write_text("{neurons: 3}")
    with pytest.raises(FileFormatError, match=r"params\.json: not valid JSON"):
        load_population(path)


def test_population_missing_file(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(FileFormatError) as caught:
        load_population(path)
    assert str(caught.value) == _error(path, "cannot read the file (No such file or directory)")


# --- Input files --------------------------------------------------------------------------------


def _loihi(neurons=4):
    return Population(neurons, loihi_cuba_lif(du=1024, dv=256, vth=100))


def test_input_spikes_are_normalized(tmp_path):
    spikes = np.array([[1, 0, 2], [0, 1, 0]], dtype=np.uint8)
    weights = np.arange(12, dtype=np.int8).reshape(3, 4)
    sim_input = load_input(_npz(tmp_path, spikes=spikes, weights=weights), _loihi())
    assert sim_input.spikes.shape == (2, 1, 3) and sim_input.spikes.dtype == np.int64
    assert sim_input.weights.shape == (1, 3, 4) and sim_input.weights.dtype == np.int64
    assert (sim_input.steps, sim_input.batch) == (2, 1)


def test_input_drive_is_normalized(tmp_path):
    drive = np.ones((5, 2, 4), dtype=np.int32)
    population = Population(4, snntorch_leaky(beta_constant=16, threshold=50))
    sim_input = load_input(_npz(tmp_path, drive=drive), population)
    assert sim_input.drive.shape == (5, 2, 1, 4) and sim_input.spikes is None


@pytest.mark.parametrize(
    "arrays, problem",
    [
        ({"spikes": np.zeros((3, 2), np.int64)}, "missing key 'weights', needed with key 'spikes'"),
        (
            {"weights": np.zeros((2, 4), np.int64)},
            "missing key 'spikes' (with 'weights') or key 'drive'",
        ),
        (
            {"spikes": np.zeros((3, 2)), "weights": np.zeros((2, 4), np.int64)},
            "key 'spikes' must be an integer or boolean array, not dtype float64",
        ),
        (
            {"spikes": np.zeros((3, 2), np.int64), "weights": np.zeros((2, 4), np.float32)},
            "key 'weights' must be an integer array, not dtype float32",
        ),
        (
            {
                "spikes": np.zeros((3, 2), np.int64),
                "weights": np.zeros((2, 4), np.int64),
                "drive": np.zeros((3, 4), np.int64),
            },
            "keys 'spikes' and 'drive' are both given; give exactly one",
        ),
        (
            {"drive": np.zeros((3, 4), np.int64), "weights": np.zeros((2, 4), np.int64)},
            "key 'weights' is only used with key 'spikes', not with key 'drive'",
        ),
        (
            {
                "spikes": np.zeros((3, 2), np.int64),
                "weights": np.zeros((2, 4), np.int64),
                "extra": np.zeros(1),
            },
            "unknown key(s) 'extra'; allowed: 'drive', 'spikes', 'weights'",
        ),
        (
            {"spikes": np.zeros((3, 2), np.int64), "weights": np.zeros((2, 5), np.int64)},
            "key 'weights' targets 5 neurons, but the population has 4",
        ),
        (
            {"spikes": np.zeros((3, 3), np.int64), "weights": np.zeros((2, 4), np.int64)},
            "key 'spikes' must have shape (steps, axons=2) or (steps, batch, axons=2) with at least "
            "one step, not (3, 1, 3)",
        ),
        (
            {"spikes": -np.ones((3, 2), np.int64), "weights": np.zeros((2, 4), np.int64)},
            "key 'spikes' holds spike counts, which must be between 0 and 65535, not -1",
        ),
        (
            {"drive": np.zeros((3, 5), np.int64)},
            "key 'drive' must have shape (steps, neurons=4), (steps, batch, neurons=4) or (steps, "
            "batch, channels=1, neurons=4) with at least one step, not (3, 1, 1, 5)",
        ),
    ],
)
def test_input_errors(tmp_path, arrays, problem):
    path = _npz(tmp_path, **arrays)
    with pytest.raises(FileFormatError) as caught:
        load_input(path, _loihi())
    assert str(caught.value) == _error(path, problem)


def test_drive_rejected_for_per_event_models(tmp_path):
    population = Population(4, xylo_lif(dash_mem=4, dash_syn=2, threshold=100))
    path = _npz(tmp_path, drive=np.zeros((3, 4), np.int64))
    with pytest.raises(FileFormatError, match="accumulation 'per_event'"):
        load_input(path, population)


def test_input_object_array_is_refused(tmp_path):
    path = _npz(
        tmp_path, spikes=np.array([[1, 2]], dtype=object), weights=np.zeros((2, 4), np.int64)
    )
    with pytest.raises(FileFormatError) as caught:
        load_input(path, _loihi())
    assert str(caught.value) == _error(
        path, "key 'spikes' must be an integer array, not a pickled object array"
    )


def test_input_not_npz(tmp_path):
    path = tmp_path / "input.npz"
    path.write_text("not a zip")
    with pytest.raises(FileFormatError, match=r"input\.npz: cannot read the file as \.npz"):
        load_input(path, _loihi())


def test_save_input_is_deterministic_and_loadable(tmp_path):
    spikes = np.eye(3, dtype=np.uint8)
    weights = np.arange(12, dtype=np.int16).reshape(3, 4)
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_input(first, spikes=spikes, weights=weights)
    save_input(second, spikes=spikes, weights=weights)
    assert first.read_bytes() == second.read_bytes()
    with np.load(first) as archive:
        assert sorted(archive.files) == ["spikes", "weights"]
        np.testing.assert_array_equal(archive["weights"], weights)
        assert archive["spikes"].dtype == np.uint8


# --- Traces -------------------------------------------------------------------------------------


def test_save_trace(tmp_path):
    params = loihi_cuba_lif(du=1024, dv=256, vth=10)
    rng = np.random.default_rng(1)
    spikes = rng.integers(0, 2, size=(20, 2, 5))
    weights = rng.integers(-20, 60, size=(5, 3))
    trace = run(params, spikes, weights)
    summary = save_trace(trace, params, tmp_path / "trace.npz", tmp_path / "summary.json")

    with np.load(tmp_path / "trace.npz") as archive:
        assert sorted(archive.files) == ["i", "refractory", "spikes", "v"]
        for name in archive.files:
            np.testing.assert_array_equal(archive[name], getattr(trace, name))
    text = (tmp_path / "summary.json").read_text()
    assert json.loads(text) == summary
    assert text == json.dumps(summary, indent=2, sort_keys=True) + "\n"
    assert summary["steps"] == 20 and summary["batch"] == 2 and summary["neurons"] == 3
    assert summary["spikes_per_neuron"] == trace.spikes.sum(axis=(0, 1)).tolist()
    assert summary["total_spikes"] == int(trace.spikes.sum())
    assert summary["params"] == params.to_dict()


def test_save_trace_of_wide_model(tmp_path):
    # 64-bit states run on Python-int object arrays; the file must still hold plain int64.
    params = snntorch_leaky(beta_constant=16, threshold=1000, width=64)
    trace = run(params, drive=np.full((6, 2), 400))
    assert trace.v.dtype == object
    save_trace(trace, params, tmp_path / "trace.npz", tmp_path / "summary.json")
    with np.load(tmp_path / "trace.npz", allow_pickle=False) as archive:
        assert archive["v"].dtype == np.int64
        np.testing.assert_array_equal(archive["v"], trace.v.astype(np.int64))


def test_write_json_sorted(tmp_path):
    write_json(tmp_path / "x.json", {"b": 1, "a": [2, 3]})
    assert (tmp_path / "x.json").read_text() == '{\n  "a": [\n    2,\n    3\n  ],\n  "b": 1\n}\n'
