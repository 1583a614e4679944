"""NeuroBench algorithm-track metrics of an integer network on a workload.

NeuroBench (Yik et al., "The neurobench framework for benchmarking neuromorphic computing
algorithms and systems", Nature Communications 16, 1545 (2025); the ``neurobench`` package's
``neurobench.metrics``) defines the figures every SNN paper reports. :func:`neurobench_metrics`
computes them from the model (:func:`neurohw.network.system.simulate`), with NeuroBench's own
definitions, here on the integer network instead of a torch module (``docs/energy.md`` section 1
gives each definition and what its torch counterpart is):

* ``footprint_bytes`` (static): bytes of the parameters and the state buffers, each element in
  the smallest of 1, 2, 4, 8 bytes holding its width (as torch's ``element_size``): every
  projection's dense weight matrix (zeros included, as a ``Linear`` layer stores them), its
  delays when it has some, and each neuron's membrane, synaptic currents and refractory counter;
* ``connection_sparsity`` (static): zero weights over all weights of every projection's dense
  matrix (NeuroBench's ``ConnectionSparsity``, not rounded here);
* ``activation_sparsity``: zero outputs over all outputs of every population, over all steps
  and samples (``ActivationSparsity``; input groups are not layers' outputs and do not count);
* ``synaptic_operations``: per sample, NeuroBench's ``SynapticOperations``: ``dense`` is every
  weight of every projection once per step (the layer called with all-ones input and
  weights); ``effective_acs`` / ``effective_macs`` count, per projection and step, the
  non-zero inputs times their non-zero weights, as ACs when every input of that call is 0 or
  +-1 (binary spikes) and as MACs otherwise (a multi-spike count or a graded value);
* ``membrane_updates``: per sample, NeuroBench's ``MembraneUpdates``: every neuron at the first
  step, then each neuron whose membrane potential changed over a step.

A projection's input at step ``t`` is what reaches it then: the input group's values at ``t``;
a population's spikes of step ``t - 1`` (``t`` for a same-step projection), as the network's
timing delivers them (``docs/system.md``). NeuroBench classifies a call over its whole batch;
here each sample is one call (NeuroBench with batch size 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..network.graph import Network
from ..network.system import check_samples, simulate, simulate_samples

__all__ = ["NeuroBenchMetrics", "neurobench_metrics", "element_bytes"]


def element_bytes(bits: int) -> int:
    """Bytes of the smallest power-of-two integer type that holds ``bits`` bits."""
    for size in (1, 2, 4, 8):
        if bits <= 8 * size:
            return size
    raise ValueError(f"bits must be at most 64, not {bits}")


@dataclass(frozen=True)
class NeuroBenchMetrics:
    """NeuroBench's algorithm-track metrics (module docstring), per inference (sample).

    ``synaptic_operations_dense``, ``effective_macs``, ``effective_acs`` and
    ``membrane_updates`` are means over the ``samples`` samples; ``chip_neuron_updates`` is what
    a time-driven chip does (every neuron every step), next to NeuroBench's count of changed
    membranes."""

    samples: int
    steps: int
    footprint_bytes: int
    parameter_bytes: int
    state_bytes: int
    connection_sparsity: float
    activation_sparsity: float
    synaptic_operations_dense: float
    effective_macs: float
    effective_acs: float
    membrane_updates: float
    chip_neuron_updates: float

    def as_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        """A markdown table of the metrics."""
        rows = [
            ("footprint", f"{self.footprint_bytes:,} B", "parameters + state"),
            ("  parameters", f"{self.parameter_bytes:,} B", "dense weights (and delays)"),
            ("  state", f"{self.state_bytes:,} B", "v, currents, refractory per neuron"),
            ("connection sparsity", f"{self.connection_sparsity:.4f}", "zero weights / weights"),
            ("activation sparsity", f"{self.activation_sparsity:.4f}", "zero outputs / outputs"),
            (
                "synaptic operations, dense",
                f"{self.synaptic_operations_dense:,.0f}",
                "every weight every step",
            ),
            ("effective MACs", f"{self.effective_macs:,.1f}", "non-binary inputs x non-zero w"),
            ("effective ACs", f"{self.effective_acs:,.1f}", "spikes x non-zero weights"),
            ("membrane updates", f"{self.membrane_updates:,.1f}", "membranes that changed"),
            ("chip neuron updates", f"{self.chip_neuron_updates:,.0f}", "every neuron every step"),
        ]
        lines = ["| NeuroBench metric (per inference) | value | definition |", "|---|---:|---|"]
        lines += [f"| {name} | {value} | {what} |" for name, value, what in rows]
        return "\n".join(lines)


def _footprint(network: Network) -> tuple[int, int]:
    parameters = 0
    for projection in network.projections:
        width = network.populations[projection.target].weight_width
        parameters += int(np.prod(projection.shape)) * element_bytes(width)
        if projection.delays is not None:
            max_delay = network.populations[projection.target].max_delay
            parameters += projection.delays.size * element_bytes(max(1, max_delay.bit_length()))
    state = 0
    for population in network.populations.values():
        params = population.params
        per_neuron = element_bytes(params.v_width)
        per_neuron += params.n_currents * element_bytes(params.i_width)
        if params.refractory_period:
            per_neuron += element_bytes(params.refractory_period.bit_length())
        state += per_neuron * population.size
    return parameters, state


def _projection_input(network: Network, projection, counts: dict, spikes: dict) -> np.ndarray:
    """(steps, batch, source size): what reaches ``projection`` at each step."""
    if projection.source in network.inputs:
        return np.asarray(counts[projection.source])
    emitted = spikes[projection.source]
    if projection.same_step:
        return emitted
    delivered = np.zeros_like(emitted)
    delivered[1:] = emitted[:-1]
    return delivered


def neurobench_metrics(network: Network, inputs, *, steps: int | None = None) -> NeuroBenchMetrics:
    """NeuroBench's metrics of ``network`` on the samples ``inputs`` (as
    :func:`~neurohw.network.system.simulate` takes them); a network that learns runs its
    samples one after another (:func:`~neurohw.network.system.simulate_samples`)."""
    samples = check_samples(network, inputs, steps)
    run = simulate_samples if network.plastic_projections else simulate
    trace = run(network, samples, record=("spikes", "v"))
    T, B = samples.steps, samples.batch

    parameters, state = _footprint(network)
    weights = sum(int(np.prod(p.shape)) for p in network.projections)
    zero_weights = weights - sum(int(p.fan_out().sum()) for p in network.projections)

    outputs = sum(s.size for s in trace.spikes.values())
    nonzero_outputs = sum(int(np.count_nonzero(s)) for s in trace.spikes.values())

    dense = T * weights  # per sample
    macs = acs = 0
    for projection in network.projections:
        x = _projection_input(network, projection, samples.counts, trace.spikes)
        fan_out = projection.fan_out()  # (source,)
        ops = np.einsum("tbn,n->tb", (x != 0).astype(np.int64), fan_out)  # per call
        binary = np.all(np.abs(x) <= 1, axis=2)  # (steps, batch): an AC call
        acs += int(ops[binary].sum())
        macs += int(ops[~binary].sum())

    updates = 0
    for name, population in network.populations.items():
        v = np.asarray(trace.v[name])
        updates += B * population.size  # the first step: every neuron
        if T > 1:
            updates += int(np.count_nonzero(v[1:] != v[:-1]))

    return NeuroBenchMetrics(
        samples=B,
        steps=T,
        footprint_bytes=parameters + state,
        parameter_bytes=parameters,
        state_bytes=state,
        connection_sparsity=zero_weights / weights if weights else 0.0,
        activation_sparsity=(outputs - nonzero_outputs) / outputs if outputs else 0.0,
        synaptic_operations_dense=float(dense),
        effective_macs=macs / B,
        effective_acs=acs / B,
        membrane_updates=updates / B,
        chip_neuron_updates=float(T * network.n_neurons),
    )
