"""The system reference model: what a whole network computes, step by step, for a batch.

This is the definition the chip is checked against (``docs/system.md``): in step ``t`` every
population takes the input counts of step ``t`` from its input groups and the spike counts of
step ``t - 1`` from its source populations (none at ``t = 0``), sums ``min(count, cap) * weight``
per channel, and advances with :func:`neurohw.model.reference.step`. Partitioning onto cores
changes nothing here: a ChipPlan computes exactly this (tested).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.reference import (NeuronState, StepInput, check_record, initial_state, step)
from .graph import Network, NetworkError

__all__ = ["SystemTrace", "check_inputs", "simulate", "population_drive"]


@dataclass(frozen=True)
class SystemTrace:
    """Per population, one entry per step taken at the end of the step: ``spikes[name]``
    (steps, batch, size) counts; ``v``/``refractory`` (steps, batch, size) and ``i`` (steps,
    batch, n_currents, size) when recorded; ``final_state[name]``."""
    spikes: dict
    v: dict | None
    i: dict | None
    refractory: dict | None
    final_state: dict

    @property
    def steps(self) -> int:
        return next(iter(self.spikes.values())).shape[0]

    def output_counts(self, network: Network) -> dict:
        """Total spikes per output neuron over the run: ``{name: (batch, size)}``."""
        return {name: self.spikes[name].sum(axis=0) for name in network.outputs}


def check_inputs(network: Network, inputs, steps: int | None = None):
    """Validate ``inputs`` ``{group: counts (steps, batch, size) or (steps, size)}`` and return
    ``(steps, batch, {group: int64 (steps, batch, size)})``. Every group must be given."""
    if not isinstance(inputs, dict):
        raise TypeError(f"inputs must be a dict of input group name -> counts, not "
                        f"{type(inputs).__name__}")
    unknown = sorted(set(inputs) - set(network.inputs))
    if unknown:
        raise NetworkError(f"inputs name unknown input group(s) {', '.join(map(repr, unknown))};"
                           f" the network's input groups: "
                           f"{', '.join(map(repr, network.inputs)) or 'none'}")
    missing = [name for name in network.inputs if name not in inputs]
    if missing:
        raise NetworkError(f"inputs miss input group(s) {', '.join(map(repr, missing))}")
    shapes = {}
    arrays = {}
    for name, group in network.inputs.items():
        counts = np.asarray(inputs[name])
        if counts.dtype.kind not in "iub":
            raise NetworkError(f"input {name!r} must hold integer spike counts, not dtype "
                               f"{counts.dtype}")
        if counts.ndim == 2:
            counts = counts[:, np.newaxis, :]
        if counts.ndim != 3 or counts.shape[2] != group.size:
            raise NetworkError(f"input {name!r} must have shape (steps, batch, {group.size}) "
                               f"or (steps, {group.size}), not {np.shape(inputs[name])}")
        counts = counts.astype(np.int64)
        if counts.size and (counts.min() < 0 or counts.max() > group.max_count):
            bad = int(counts.min() if counts.min() < 0 else counts.max())
            raise NetworkError(f"input {name!r} has a spike count of {bad}; counts must be "
                               f"between 0 and the group's max_count={group.max_count}")
        shapes[name] = counts.shape[:2]
        arrays[name] = counts
    if len(set(shapes.values())) > 1:
        raise NetworkError(f"inputs disagree on (steps, batch): {shapes}")
    if shapes:
        in_steps, batch = next(iter(shapes.values()))
        if steps is None:
            steps = in_steps
        elif steps != in_steps:
            raise NetworkError(f"steps={steps} but the inputs have {in_steps} steps")
    else:
        if steps is None:
            raise NetworkError("a network without input groups needs steps=")
        batch = 1
    return steps, batch, arrays


def population_drive(network: Network, name: str, counts_of) -> np.ndarray:
    """Exact drive ``(batch, channels, size)`` of population ``name`` from ``counts_of(source)``
    (``(batch, source size)`` counts reaching it this step)."""
    population = network.populations[name]
    params = population.params
    drive = None
    for projection in network.projections_to(name):
        counts = counts_of(projection.source)
        if params.input_count_cap is not None:
            counts = np.minimum(counts, params.input_count_cap)
        # counts < 2^16, |weights| < 2^15 and at most 2^31 sources: the sum fits int64.
        contribution = counts @ projection.weights
        if drive is None:
            drive = np.zeros((counts.shape[0], params.input_channels, population.size),
                             dtype=np.int64)
        drive[:, projection.channel, :] += contribution
    return drive


def simulate(network: Network, inputs, *, steps: int | None = None, record=("spikes",),
             state: dict | None = None) -> SystemTrace:
    """Run the network for ``steps`` (default: as many as the inputs have).

    ``state`` continues from an earlier run's ``final_state`` (spikes in flight from the last
    step of that run are not carried over: a run starts with none, as the chip does after its
    state is cleared).
    """
    steps, batch, counts = check_inputs(network, inputs, steps)
    record = check_record(record)
    if "spikes" not in record:
        record = ("spikes", *record)
    states = {}
    for name, population in network.populations.items():
        if state is not None and name in state:
            given = state[name]
            if not isinstance(given, NeuronState) or (given.batch, given.n_neurons) != (
                    batch, population.size):
                raise NetworkError(f"state[{name!r}] must be a NeuronState of batch {batch} "
                                   f"and {population.size} neurons")
            states[name] = given
        else:
            states[name] = initial_state(population.params, population.size, batch)

    def trace_for(what):
        if what not in record:
            return None
        out = {}
        for name, population in network.populations.items():
            reference = getattr(states[name], "v" if what == "spikes" else what)
            shape = ((steps, batch, population.params.n_currents, population.size)
                     if what == "i" else (steps, batch, population.size))
            dtype = np.int64 if what in ("spikes", "refractory") else reference.dtype
            out[name] = np.zeros(shape, dtype=dtype)
        return out

    traces = {what: trace_for(what) for what in ("spikes", "v", "i", "refractory")}
    previous = {name: np.zeros((batch, p.size), dtype=np.int64)
                for name, p in network.populations.items()}
    for t in range(steps):
        def counts_of(source, t=t):
            return counts[source][t] if source in counts else previous[source]

        fired = {}
        for name, population in network.populations.items():
            drive = population_drive(network, name, counts_of)
            if drive is None:
                drive = np.zeros((batch, population.params.input_channels, population.size),
                                 dtype=np.int64)
            states[name], fired[name] = step(population.params, states[name],
                                             StepInput(drive=drive))
            traces["spikes"][name][t] = fired[name]
            for what in ("v", "i", "refractory"):
                if traces[what] is not None:
                    traces[what][name][t] = getattr(states[name], what)
        previous = {name: np.asarray(f, dtype=np.int64) for name, f in fired.items()}
    return SystemTrace(spikes=traces["spikes"], v=traces["v"], i=traces["i"],
                       refractory=traces["refractory"], final_state=states)
