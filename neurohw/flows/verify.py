"""Bit-exact verification of a generated neuron core against the reference model.

The cocotb bench (``sim/bench_neuron_core.py``) drives the core with every input event of every
step, reads every neuron's state over the debug port after each step, and compares spikes and
states with the reference model's trace. This module is the Python-side entry to it, shared by
the tests and the command line.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..hw.core import NeuronCore
from ..model import NeuronParams

__all__ = ["VerificationResult", "verify_core", "generate_core_verilog", "CORE_TOPLEVEL"]

CORE_TOPLEVEL = "neuron_core"


@dataclass(frozen=True)
class VerificationResult:
    simulator: str
    steps: int
    neurons: int
    input_events: int
    spikes_compared: int
    state_values_compared: int
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def verify_core(
    params: NeuronParams,
    weights,
    spikes,
    *,
    weight_width: int,
    simulator: str,
    build_dir,
    core_kwargs=None,
    traffic=None,
    seed: int = 0,
) -> VerificationResult:
    """Build a NeuronCore for ``params``/``weights``, run ``spikes`` (steps, axons) through it in
    ``simulator`` and compare every spike and every state of every step with the reference.

    Raises ``neurohw.sim.runner.CocotbTestFailure`` naming the first mismatch (step, neuron, state,
    expected, actual). ``traffic`` sets the bench's random idle/back-pressure probabilities.
    """
    # The bench and runner live in the repository's sim/ package (installed with neurohw).
    from neurohw.sim.core_case import make_case
    from neurohw.sim.runner import run_cocotb

    weights = np.asarray(weights, dtype=np.int64)
    if weights.ndim == 2:
        weights = weights[np.newaxis]
    spikes = np.asarray(spikes, dtype=np.int64)
    n_axons, n_neurons = weights.shape[1], weights.shape[2]
    core, data = make_case(
        params,
        weights,
        spikes,
        n_neurons=n_neurons,
        n_axons=n_axons,
        weight_width=weight_width,
        seed=seed,
        core_kwargs=core_kwargs,
        traffic=traffic,
    )
    start = time.perf_counter()
    run_cocotb(
        core,
        toplevel=CORE_TOPLEVEL,
        test_module="bench_neuron_core",
        simulator=simulator,
        build_dir=Path(build_dir),
        test_data=data,
    )
    states_per_neuron = 2 + params.n_currents  # v, refractory, each current
    return VerificationResult(
        simulator=simulator,
        steps=int(spikes.shape[0]),
        neurons=n_neurons,
        input_events=int(spikes.sum()),
        spikes_compared=int(data["expected"]["spikes"].sum()),
        state_values_compared=int(spikes.shape[0]) * n_neurons * states_per_neuron,
        seconds=time.perf_counter() - start,
    )


def generate_core_verilog(core: NeuronCore, path) -> Path:
    """Deterministic Verilog of ``core`` (no source paths), written to ``path``."""
    from amaranth.back import verilog

    path = Path(path)
    path.write_text(verilog.convert(core, name=CORE_TOPLEVEL, emit_src=False))
    return path
