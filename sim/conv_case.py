"""Test data for a :class:`neurohw.hw.conv_core.ConvCore` on the neuron-core bench
(``sim/bench_neuron_core.py``): the reference is :func:`neurohw.model.run` on the layer's dense
lowering (:meth:`neurohw.hw.conv.ConvSpec.dense_matrix`), the same integer semantics the
neuron core implements, so every spike and every state of every step is compared with it."""

from __future__ import annotations

import numpy as np

from neurohw.hw.core import Status, Target
from neurohw.hw.neuron_update import per_neuron_contents
from neurohw.model import run

from .core_case import bench_data, expected_states, step_events

__all__ = ["make_conv_case", "conv_probes"]


def make_conv_case(
    core, spikes, *, seed=0, traffic=None, check_throughput=False, extra_events=None
):
    """The bench data of ``core`` (its kernel and parameters as built) on ``spikes`` (steps,
    axons): events shuffled within each step (the order of a step's events cannot matter with
    accumulation 'sum'); ``extra_events[t]`` are raw addresses added to step ``t`` (e.g. axons
    past the input, dropped and counted)."""
    rng = np.random.default_rng(seed + 7919)
    weights = core.spec.dense_matrix(core.kernel)
    trace = run(core.params, spikes, weights)
    events = step_events(spikes, rng, shuffle=True, extra_events=extra_events)
    return bench_data(
        core,
        config=[],
        probes=conv_probes(core),
        events=events,
        expected=expected_states(core.params, trace),
        seed=seed,
        check_throughput=check_throughput,
        traffic=traffic,
    )


def conv_probes(core) -> list:
    """Commands ``[write, target, neuron, axon, data, expected or None]`` sent before step 0:
    kernel words read back (and one written and restored), the last neuron's per-neuron
    parameters, and commands that must be refused."""
    N, words = core.n_neurons, core.kernel_words
    flat = core.kernel.reshape(-1)
    weight = int(Target.WEIGHT0)
    probes = [[0, weight, k, 0, 0, int(flat[k])] for k in sorted({0, words // 2, words - 1})]
    probes += [[1, weight, words - 1, 0, 1, 1], [0, weight, words - 1, 0, 0, 1]]
    probes += [[1, weight, words - 1, 0, int(flat[-1]), int(flat[-1])]]
    for name in sorted(core.per_neuron):
        code = dict(core.targets_by_name)[name]
        value = np.broadcast_to(
            np.asarray(per_neuron_contents(core.params, name), dtype=object), (N,)
        )[N - 1]
        probes.append([0, code, N - 1, 0, 0, int(value)])
    probes += [
        [0, int(Target.ACC0), N - 1, 0, 0, 0],
        [0, int(Target.STATUS), int(Status.STEP), 0, 0, 0],
        [1, int(Target.STATUS), int(Status.STEP), 0, 0, None],  # read only
        [0, int(Target.STATUS), int(Status.LEARNING), 0, 0, None],  # no learning
        [0, int(Target.ACC0), 0, 1, 0, None],  # one accumulator slot
        [0, int(Target.WEIGHT0), 0, 1, 0, None],  # the kernel word is in the neuron field
        [0, int(Target.SYNAPSE_TARGET), 0, 0, 0, None],  # no such target
    ]
    if words < (1 << core.cmd_layout["neuron"].width):
        probes.append([0, weight, words, 0, 0, None])  # past the kernel
    if N < (1 << core.cmd_layout["neuron"].width):
        probes.append([0, int(Target.V), N, 0, 0, None])  # neuron out of range
    return probes
