"""The unsupervised STDP digits example (examples/digits_stdp.py), on a small quick run."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np


def _load_example():
    # An example script, not a neurohw module: loaded from its file (registered in sys.modules,
    # which dataclasses need while the module runs).
    path = Path(__file__).resolve().parent.parent / "examples" / "digits_stdp.py"
    spec = importlib.util.spec_from_file_location("digits_stdp", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


digits_stdp = _load_example()
ExampleConfig, main, normalize_columns, run = (
    digits_stdp.ExampleConfig,
    digits_stdp.main,
    digits_stdp.normalize_columns,
    digits_stdp.run,
)

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
    np.testing.assert_array_equal(normalize_columns(w, 1000, 127), [[127, 0, 127], [127, 0, 127]])


def test_example_network_maps_and_the_chip_learns_what_the_model_learns():
    """The example's network maps onto cores as it is (plastic input projection, recurrent
    inhibition), and the mapped chip's model learns, image after image, exactly the weights
    the example's model learns (without the host's rules, which act between images)."""
    KEY, _data, _encode, build_network = (
        digits_stdp.KEY,
        digits_stdp._data,
        digits_stdp._encode,
        digits_stdp.build_network,
    )
    from neurohw.network import simulate_samples
    from neurohw.network.mapping import CoreCapacity, map_network
    from neurohw.network.plan_model import simulate_plan

    config = ExampleConfig(n_neurons=12, train_limit=3)
    x_train = _data(config)[0]
    rng = np.random.default_rng(0)
    weights = normalize_columns(
        rng.integers(10, 60, size=(64, 12), endpoint=True), config.column_sum, config.w_max
    )
    network = build_network(config, weights, np.zeros(12, dtype=np.int64))
    plan = map_network(network, capacity=CoreCapacity(max_neurons=6, max_axons=128))
    assert plan.n_cores == 2 and all(core.stdp is not None for core in plan.cores)
    inputs = {"pixels": _encode(x_train, config.steps)}
    reference = simulate_samples(network, inputs)
    chip = simulate_plan(plan, inputs)
    np.testing.assert_array_equal(chip.spikes["exc"], reference.spikes["exc"])
    learned = reference.weights[KEY][0]
    assert not np.array_equal(learned, weights)
    for core in plan.cores:
        [block] = [b for b in core.axon_blocks if b.source == "pixels"]
        rows = slice(block.axon_start, block.axon_start + block.count)
        np.testing.assert_array_equal(
            chip.weights[core.index][0, rows], learned[:, core.neuron_start : core.neuron_stop]
        )
