"""Encoders in cocotb on Icarus and Verilator (``sim/bench_encoders.py``): random inputs and
random stream traffic, every output event compared with the model. The default run is a fast
subset (one random configuration per encoder and simulator); ``-m slow`` adds longer runs on
more configurations."""

from __future__ import annotations

import numpy as np
import pytest

from neurohw.sim.runner import run_cocotb
from tests.test_encoders import random_encoder, random_values

pytestmark = [
    pytest.mark.sim,
    pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable"),
]

KINDS = ("rate", "latency", "delta")


def run_case(kind, seed, steps, simulator, build_dir, **config):
    rng = np.random.default_rng(1000 + 17 * seed + len(kind))
    enc = random_encoder(kind, rng, **config)
    values = random_values(enc, steps, rng)
    expected = enc.expected_words(values)
    fields = {name: [enc.fmt.offsets[name], width] for name, width in enc.fmt.fields}
    test_data = {
        "values": np.asarray(values).reshape(-1),
        "expected": expected,
        "steps": steps,
        "fields": fields,
        "seed": seed,
        "idle_probability": float(rng.choice([0.0, 0.3])),
        "backpressure_probability": float(rng.choice([0.0, 0.3, 0.6])),
        "stall_probability": float(rng.choice([0.0, 0.02])),
        "stall_cycles": int(rng.integers(1, 30)),
    }
    assert len(expected) >= steps + steps // 10, "too few spikes to test anything"
    run_cocotb(
        enc,
        toplevel=f"{kind}_encoder",
        test_module="bench_encoders",
        simulator=simulator,
        build_dir=build_dir,
        test_data=test_data,
    )
    return len(expected)


@pytest.mark.parametrize("kind", KINDS)
def test_encoder_sim(kind, simulator, sim_build_dir):
    run_case(kind, 0, 60, simulator, sim_build_dir, channels=8, windows=(3, 5, 8))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(1, 5))
@pytest.mark.parametrize("kind", KINDS)
def test_encoder_sim_long(kind, seed, simulator, sim_build_dir):
    run_case(
        kind,
        seed,
        400,
        simulator,
        sim_build_dir,
        channels=int(2 + 5 * seed),
        windows=(1, 7, 16, 40),
    )
