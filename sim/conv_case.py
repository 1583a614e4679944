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
    core,
    spikes,
    *,
    seed=0,
    traffic=None,
    check_throughput=False,
    events=None,
    expected_spikes_in=None,
    expected_status=None,
):
    """The bench data of ``core`` (its kernel and parameters as built) on ``spikes`` (steps,
    axons): events shuffled within each step (the order of a step's events cannot matter with
    accumulation 'sum'), or ``events`` (per step, raw addresses in sending order, e.g. with
    axons past the input). ``expected_spikes_in`` overrides the counts the reference sees
    (events dropped by design); ``expected_status`` ``{status name: value}`` is checked after
    the last step."""
    rng = np.random.default_rng(seed + 7919)
    weights = core.spec.dense_matrix(core.kernel)
    reference = spikes if expected_spikes_in is None else expected_spikes_in
    trace = run(core.params, reference, weights)
    if events is None:
        events = step_events(spikes, rng, shuffle=True)
    data = bench_data(
        core,
        config=[],
        probes=conv_probes(core),
        events=events,
        expected=expected_states(core.params, trace),
        seed=seed,
        check_throughput=check_throughput,
        traffic=traffic,
    )
    if expected_status:
        data["expected_status"] = expected_status
    return data


def conv_probes(core) -> list:
    """Commands ``[write, target, neuron, axon, data, expected or None]`` sent before step 0:
    kernel words read back (and one written and restored), with lanes the words and
    accumulators on each side of every bank boundary, the last neuron's per-neuron parameters,
    and commands that must be refused."""
    N, words = core.n_neurons, core.kernel_words
    flat = core.kernel.reshape(-1)
    weight = int(Target.WEIGHT0)
    read = {0, words // 2, words - 1}
    accumulators = set()
    for lane in range(1, core.lanes):
        read |= {lane * core.bank_words - 1, lane * core.bank_words}
        accumulators |= {lane * core.bank_neurons - 1, lane * core.bank_neurons}
    probes = [[0, weight, k, 0, 0, int(flat[k])] for k in sorted(read) if k < words]
    probes += [[0, int(Target.ACC0), n, 0, 0, 0] for n in sorted(accumulators) if n < N]
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
