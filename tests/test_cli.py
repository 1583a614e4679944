"""The ``neurohw`` command line, run in-process through ``main``."""

import json
import struct

import numpy as np
import pytest

import neurohw
from neurohw.cli import example_inputs, main
from neurohw.io import Population, save_input, save_population
from neurohw.model import loihi_cuba_lif, run, snntorch_leaky
from neurohw.plot import DPI, FIGURE_SIZE, plot_trace

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


EXPECTED_PNG_SIZE = (round(FIGURE_SIZE[0] * DPI), round(FIGURE_SIZE[1] * DPI))


def test_version(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out == f"neurohw {neurohw.__version__}\n"


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "simulate" in out and "example" in out


def test_simulate_matches_reference(tmp_path, capsys):
    # Per-neuron thresholds and a batch of two exercise the array paths of the file formats.
    params = loihi_cuba_lif(du=1024, dv=256, vth=20).replace(threshold=np.array([10, 20, 30]))
    rng = np.random.default_rng(3)
    spikes = rng.integers(0, 3, size=(30, 2, 6)).astype(np.uint8)
    weights = rng.integers(-40, 100, size=(6, 3)).astype(np.int8)
    save_population(tmp_path / "params.json", Population(3, params))
    save_input(tmp_path / "input.npz", spikes=spikes, weights=weights)

    status = main(
        [
            "simulate",
            str(tmp_path / "params.json"),
            str(tmp_path / "input.npz"),
            "-o",
            str(tmp_path / "out"),
            "--plot-neurons",
            "2,0",
        ]
    )
    assert status == 0
    expected = run(params, spikes, weights)
    with np.load(tmp_path / "out" / "trace.npz") as archive:
        for name in ("spikes", "v", "i", "refractory"):
            np.testing.assert_array_equal(archive[name], getattr(expected, name))
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["total_spikes"] == int(expected.spikes.sum())
    assert _png_size(tmp_path / "out" / "trace.png") == EXPECTED_PNG_SIZE
    out = capsys.readouterr().out
    assert "simulated 3 neurons for 30 steps x batch 2" in out


def test_simulate_drive(tmp_path):
    params = snntorch_leaky(beta_constant=32, threshold=100)
    drive = np.random.default_rng(4).integers(-10, 60, size=(25, 5)).astype(np.int32)
    save_population(tmp_path / "params.json", Population(5, params))
    save_input(tmp_path / "input.npz", drive=drive)
    assert (
        main(
            [
                "simulate",
                str(tmp_path / "params.json"),
                str(tmp_path / "input.npz"),
                "-o",
                str(tmp_path / "out"),
                "--backend",
                "numpy",
            ]
        )
        == 0
    )
    expected = run(params, drive=drive)
    with np.load(tmp_path / "out" / "trace.npz") as archive:
        np.testing.assert_array_equal(archive["spikes"], expected.spikes)
        np.testing.assert_array_equal(archive["v"], expected.v)


#: Skip the RTL simulation and the synthesis, which have their own tests below.
MODEL_ONLY = ("--verify-steps", "0", "--device", "none")


@pytest.mark.sim
def test_example_verifies_the_generated_core(tmp_path, simulator, capsys):
    # The whole main job, shortened: the RTL must match the reference model on every step.
    assert (
        main(
            [
                "core-example",
                "-o",
                str(tmp_path),
                "--verify-steps",
                "6",
                "--simulator",
                simulator,
                "--device",
                "none",
                "--lanes",
                "2",
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "report.json").read_text())
    (entry,) = report["verification"]
    assert entry["passed"] and entry["simulator"] == simulator and entry["steps"] == 6
    assert entry["state_values_compared"] == 6 * 64 * 3
    assert "bit-exact" in (tmp_path / "report.md").read_text()
    assert "[5/5]" in capsys.readouterr().out


def test_example_wrong_verify_steps(tmp_path, capsys):
    assert main(["core-example", "-o", str(tmp_path), "--verify-steps", "201"]) == 2
    assert capsys.readouterr().err == (
        "neurohw: error: --verify-steps must be between 0 and 200, not 201\n"
    )


def test_example_is_deterministic(tmp_path, capsys):
    files = ("params.json", "input.npz", "trace.npz", "summary.json")
    assert main(["core-example", "-o", str(tmp_path / "a"), *MODEL_ONLY]) == 0
    assert main(["core-example", "-o", str(tmp_path / "b"), "--seed", "0", *MODEL_ONLY]) == 0
    for name in files + ("neuron_core.v",):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert _png_size(tmp_path / "a" / "trace.png") == EXPECTED_PNG_SIZE
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert (summary["neurons"], summary["steps"]) == (64, 200)
    assert 0 < summary["total_spikes"] < 64 * 200
    assert str(tmp_path / "a" / "trace.png") in capsys.readouterr().out


def test_example_seed_and_preset(tmp_path):
    assert (
        main(
            [
                "core-example",
                "-o",
                str(tmp_path),
                "--seed",
                "1",
                "--preset",
                "xylo_lif",
                *MODEL_ONLY,
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "params.json").read_text())["preset"] == "xylo_lif"
    with np.load(tmp_path / "input.npz") as archive:
        np.testing.assert_array_equal(archive["spikes"], example_inputs(1)[0])
        assert not np.array_equal(archive["spikes"], example_inputs(0)[0])


# --- Errors: one line on stderr, exit status 2, no traceback ------------------------------------


def _simulate_with(tmp_path, population, arrays, *extra):
    params_path, input_path = tmp_path / "params.json", tmp_path / "input.npz"
    params_path.write_text(json.dumps(population))
    np.savez(input_path, **arrays)
    return main(
        ["simulate", str(params_path), str(input_path), "-o", str(tmp_path / "out"), *extra]
    )


POPULATION = {
    "neurons": 4,
    "preset": "snntorch_leaky",
    "preset_args": {"beta_constant": 16, "threshold": 50},
}
SPIKES = np.zeros((3, 2), np.int64)
WEIGHTS = np.zeros((2, 4), np.int64)


@pytest.mark.parametrize(
    "population, arrays, file, problem",
    [
        (
            POPULATION,
            {"spikes": SPIKES},
            "input.npz",
            "missing key 'weights', needed with key 'spikes'",
        ),
        (
            POPULATION,
            {"spikes": SPIKES.astype(np.float64), "weights": WEIGHTS},
            "input.npz",
            "key 'spikes' must be an integer or boolean array, not dtype float64",
        ),
        (
            {**POPULATION, "preset": "foo"},
            {"spikes": SPIKES, "weights": WEIGHTS},
            "params.json",
            "preset must be one of 'loihi_cuba_lif', 'snntorch_leaky', 'xylo_lif', not 'foo'",
        ),
        (
            POPULATION,
            {"spikes": SPIKES, "weights": WEIGHTS, "drive": np.zeros((3, 4), np.int64)},
            "input.npz",
            "keys 'spikes' and 'drive' are both given; give exactly one",
        ),
        (
            {"preset": "snntorch_leaky"},
            {"spikes": SPIKES, "weights": WEIGHTS},
            "params.json",
            "missing key 'neurons' (the population size)",
        ),
    ],
)
def test_bad_files(tmp_path, capsys, population, arrays, file, problem):
    assert _simulate_with(tmp_path, population, arrays) == 2
    captured = capsys.readouterr()
    assert captured.err == f"neurohw: error: {tmp_path / file}: {problem}\n"
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_missing_input_file(tmp_path, capsys):
    (tmp_path / "params.json").write_text(json.dumps(POPULATION))
    status = main(
        [
            "simulate",
            str(tmp_path / "params.json"),
            str(tmp_path / "absent.npz"),
            "-o",
            str(tmp_path / "out"),
        ]
    )
    assert status == 2
    assert capsys.readouterr().err.startswith(
        f"neurohw: error: {tmp_path / 'absent.npz'}: cannot read the file as .npz"
    )


def test_bad_plot_neurons(tmp_path, capsys):
    arrays = {"spikes": SPIKES, "weights": WEIGHTS}
    assert _simulate_with(tmp_path, POPULATION, arrays, "--plot-neurons", "1,4") == 2
    assert capsys.readouterr().err == (
        "neurohw: error: --plot-neurons: neuron must be between 0 and 3, not 4\n"
    )


def test_backend_that_cannot_run_the_model(tmp_path, capsys):
    # The compiled path does not do accumulation 'per_event' (Xylo); forcing it is an error.
    population = {
        "neurons": 4,
        "preset": "xylo_lif",
        "preset_args": {"dash_mem": 4, "dash_syn": 2, "threshold": 50},
    }
    arrays = {"spikes": SPIKES, "weights": WEIGHTS}
    assert _simulate_with(tmp_path, population, arrays, "--backend", "numba") == 2
    assert capsys.readouterr().err.startswith(
        "neurohw: error: backend 'numba' cannot run this configuration: "
    )


def test_usage_error_exits_2(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["simulate"])
    assert caught.value.code == 2


# --- Plot ---------------------------------------------------------------------------------------


def test_plot_trace_png(tmp_path):
    params = snntorch_leaky(beta_constant=16, threshold=np.arange(40, 52))
    trace = run(params, drive=np.random.default_rng(5).integers(-5, 30, size=(40, 3, 12)))
    path = tmp_path / "trace.png"
    plot_trace(trace, path, neurons=range(8), batch=2, title="custom", params=params)
    assert _png_size(path) == EXPECTED_PNG_SIZE


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"neurons": range(9)}, "the membrane plot shows between 1 and 8 neurons, not 9"),
        ({"neurons": [1, 1]}, "neurons must not repeat, not [1, 1]"),
        ({"batch": 1}, "batch must be between 0 and 0, not 1"),
    ],
)
def test_plot_trace_errors(tmp_path, kwargs, error):
    trace = run(snntorch_leaky(beta_constant=16, threshold=10), drive=np.ones((5, 10), int))
    with pytest.raises(ValueError) as caught:
        plot_trace(trace, tmp_path / "x.png", **kwargs)
    assert str(caught.value) == error


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["example"], True),
        (["example", "--no-debug"], False),
        (["example", "--no-activity-counters"], False),
        (["compile", "net.npz", "-o", "out"], False),
        (["compile", "net.npz", "-o", "out", "--activity-counters"], True),
    ],
)
def test_activity_counters_default_on_in_the_example_only(argv, expected):
    from neurohw.cli import _activity_counters, build_parser

    assert _activity_counters(build_parser().parse_args(argv)) is expected
