"""Test data for the neuron-core bench (``sim/bench_neuron_core.py``).

A case is a NeuronCore plus everything the bench needs to drive it and check it: the events of
every step, configuration writes, command probes, and the reference model's trace (every spike
and every state of every step). Tests and the ``neurohw example`` command build cases here, so
both verify the hardware the same way.
"""

from __future__ import annotations

import numpy as np

from neurohw.hw.core import SPIKE_FIFO_DEPTH, NeuronCore, Status, Target
from neurohw.model import Accumulation, ResetMode, run

__all__ = ["make_case", "command_probes"]


def make_case(params, weights, spikes, *, n_neurons, n_axons, weight_width, seed=0,
              core_kwargs=None, traffic=None, config_weights=False, config_params=False,
              shuffle=None, expected_spikes_in=None, extra_events=None, expected_status=None,
              check_throughput=False):
    """Build the core and the bench's test data.

    ``config_weights``: the core starts with zero weights and the bench writes them over
    ``cmd``; ``config_params``: the per-neuron parameters start at a different value and are
    written over ``cmd``. ``expected_spikes_in`` overrides the input the reference sees
    (events dropped by design); ``extra_events`` adds raw events per step (e.g. bad axons).
    """
    rng = np.random.default_rng(seed + 7919)
    core_kwargs = dict(core_kwargs or {})
    build_params = params
    config = []
    per_neuron_values = {"threshold": params.effective_threshold, "bias": params.bias,
                         "reset_value": params.reset_value}
    if config_params:
        core_kwargs.setdefault("per_neuron", {"threshold", "bias"}
                               | ({"reset_value"} if params.reset is ResetMode.VALUE else set()))
        build_params = params.replace(threshold=0, bias_mantissa=0, reset_value=0)
        for name in sorted(core_kwargs["per_neuron"]):
            values = np.broadcast_to(np.asarray(per_neuron_values[name], dtype=object),
                                     (n_neurons,))
            code = {"threshold": Target.THRESHOLD, "bias": Target.BIAS,
                    "reset_value": Target.RESET_VALUE}[name]
            config += [[int(code), n, 0, int(values[n])] for n in range(n_neurons)]
    sparse = core_kwargs.get("connectivity") == "sparse"
    build_weights = weights
    if config_weights:
        # Dense: start from zero weights. Sparse: the synapse set is fixed when the core is
        # built, so start from a placeholder weight (-1 fits every width) on the same pattern.
        build_weights = (np.where(np.any(weights != 0, axis=0), -1, 0)[np.newaxis]
                         .repeat(weights.shape[0], axis=0) if sparse else None)
    core = NeuronCore(build_params, n_neurons=n_neurons, n_axons=n_axons,
                      weight_width=weight_width, weights=build_weights, **core_kwargs)
    if config_weights and sparse:
        config += [[int(Target.WEIGHT0) + c, core.synapse_slot(a, n), a, int(weights[c, a, n])]
                   for c in range(weights.shape[0]) for a, n in core._synapse_pairs()]
    elif config_weights:
        config += [[int(Target.WEIGHT0) + c, n, a, int(weights[c, a, n])]
                   for c in range(weights.shape[0]) for a in range(n_axons)
                   for n in range(n_neurons) if weights[c, a, n]]
    probes = command_probes(core, weights)

    reference_input = spikes if expected_spikes_in is None else expected_spikes_in
    trace = run(params, reference_input, weights)
    if shuffle is None:
        shuffle = params.accumulation is Accumulation.SUM
    events = []
    for t in range(spikes.shape[0]):
        step_events = [a for a in range(n_axons) for _ in range(int(spikes[t, a]))]
        if extra_events is not None:
            step_events += list(extra_events[t])
        if shuffle:
            rng.shuffle(step_events)
        events.append([int(a) for a in step_events])
    data = {
        "ports": core.port_description(),
        "params": params.to_dict(),
        "n_neurons": n_neurons, "n_axons": n_axons, "n_currents": params.n_currents,
        "refractory_period": params.refractory_period,
        "config": config,
        "probes": probes,
        "events": events,
        "expected": {"spikes": trace.spikes[:, 0], "v": trace.v[:, 0], "i": trace.i[:, 0],
                     "refractory": trace.refractory[:, 0]},
        "seed": seed,
        "check_throughput": check_throughput,
        "fifo_depth": SPIKE_FIFO_DEPTH,
        **(traffic if traffic is not None else {}),
    }
    if expected_status:
        data["expected_status"] = expected_status
    return core, data


def command_probes(core, weights):
    """Reads of the weights and the synapse structure (after any configuration), and commands
    that must be refused."""
    N, A = core.n_neurons, core.n_axons
    probes = []
    weight = int(Target.WEIGHT0)
    if core.connectivity == "sparse":
        for a, n in core._synapse_pairs():
            slot = core.synapse_slot(a, n)
            probes.append([0, int(Target.SYNAPSE_TARGET), slot, a, 0, n])
        probes.append([0, weight, core.fanout[0], 0, 0, None])      # slot past the fan-out
        probes.append([1, int(Target.SYNAPSE_TARGET), 0, 0, 0, None])   # read only
    else:
        # Probes run after the configuration: the weight is the final one either way.
        probes.append([0, weight, N - 1, A - 1, 0, int(weights[0, A - 1, N - 1])])
    if N < (1 << core.cmd_layout["neuron"].width):
        probes.append([0, int(Target.V), N, 0, 0, None])             # neuron out of range
    if A < (1 << core.axon_bits):
        probes.append([0, weight, 0, A, 0, None])                      # axon out of range
    probes.append([1, int(Target.STATUS), 0, 0, 0, None])              # read only
    probes.append([0, int(Target.STATUS), int(Status.STEP), 0, 0, 0])
    if core.acc_width:
        probes.append([1, int(Target.ACC0), 0, 0, 5, None])            # read only
    else:
        probes.append([0, int(Target.ACC0), 0, 0, 0, None])            # no accumulator
    if core.params.n_currents < 2:
        probes.append([0, int(Target.I1), 0, 0, 0, None])              # no such current
    return probes
