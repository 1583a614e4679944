"""The unsupervised STDP digits example (neurohw.learning.digits_stdp), on a small quick run."""

import json

import numpy as np

from neurohw.learning.digits_stdp import ExampleConfig, main, normalize_columns, run

SMALL = ExampleConfig(n_neurons=25, train_limit=250)


def test_small_run_learns_and_writes_outputs(tmp_path):
    report = run(tmp_path / "a", SMALL)
    assert (tmp_path / "a" / "weights.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    weights = np.load(tmp_path / "a" / "weights.npy")
    assert weights.shape == (64, 25) and weights.min() >= 0 and weights.max() <= 127
    written = json.loads((tmp_path / "a" / "report.json").read_text())
    assert written["logistic_accuracy_test"] == report["logistic_accuracy_test"]
    # Far above chance (0.1) even with 250 training images and 25 neurons.
    assert report["logistic_accuracy_test"] > 0.4
    assert report["neurons_used"] >= 12
    # Seeded: the same configuration learns the same weights.
    run(tmp_path / "b", SMALL)
    np.testing.assert_array_equal(np.load(tmp_path / "b" / "weights.npy"), weights)


def test_command_line(tmp_path, capsys):
    assert main([str(tmp_path), "--neurons", "9", "--train-limit", "40"]) == 0
    assert "test accuracy:" in capsys.readouterr().out
    assert (tmp_path / "report.json").exists()


def test_normalize_columns_is_integer_floor():
    w = np.array([[1, 0, 50], [3, 0, 50]])
    np.testing.assert_array_equal(normalize_columns(w, 10, 127), [[2, 0, 5], [7, 0, 5]])
    np.testing.assert_array_equal(normalize_columns(w, 1000, 127), [[127, 0, 127],
                                                                     [127, 0, 127]])
