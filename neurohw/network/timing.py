"""The trainers' timing on a chip whose every hop takes one step.

snnTorch, Norse, Sinabs and Rockpool compute layer ``l`` at step ``t`` from layer ``l - 1``'s
spikes of the same step; only recurrent edges see the previous step. In a :class:`Network` such
edges are ``same_step`` projections (``docs/system.md``, "Same-step projections"). The chip
delivers every spike one step later (a barrier per step), so it runs such a network *skewed*:
population ``p`` runs ``s(p)`` steps late, where ``s`` is the smallest offset with

* ``s(q) >= s(p) + 1`` for a same-step projection ``p -> q``,
* ``s(q) >= s(p)`` for a one-step projection ``p -> q`` (recurrent edges),
* ``s(q) >= 0`` (input groups act in their own step).

Every projection then takes ``s(q) - s(p) + (0 if same_step else 1)`` chip steps (``s(q)``
for an input group), which is at least the one step of a hop; the steps beyond it become
synaptic delays (a plain feed-forward chain needs none). A sample of ``T`` steps runs
``T + flush`` chip steps (``flush = max s``), the host sending zero input in the last ``flush``;
population ``p``'s step ``t`` is chip step ``t + s(p)``. Before chip step ``s(p)`` a population
may have integrated its bias (or spikes caused by upstream biases), so the chip clears its
neuron state at the start of chip step ``s(p)`` of every sample (the ``start_steps`` of
:func:`neurohw.network.system.simulate`); everything that reaches it earlier is gone then,
and nothing of the sample reaches it later than chip step ``T - 1 + s(p)``.

:func:`skew` builds that one-step network; tests check that simulating it with the padding and
the clears gives exactly :func:`neurohw.network.system.simulate` of the same-step network.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .graph import MAX_DELAY, Network, NetworkError, Projection

__all__ = ["start_offsets", "skew", "pad_inputs", "trainer_steps"]


def start_offsets(network: Network) -> dict:
    """``{population: s}``, the smallest start offsets above (0 for every population when the
    network has no same-step projection). Refuses a one-step projection from a later layer back
    to an earlier one, which the skewed chip cannot deliver in time."""
    offsets = {name: 0 for name in network.populations}
    edges = [
        (p.source, p.target, 1 if p.same_step else 0, p)
        for p in network.projections
        if p.source in network.populations
    ]
    # Longest paths with weights 0 and 1; a cycle through a weight-1 edge never settles.
    for _ in range(len(offsets) + 1):
        changed = None
        for source, target, gain, projection in edges:
            if offsets[source] + gain > offsets[target]:
                offsets[target] = offsets[source] + gain
                changed = projection
        if changed is None:
            return offsets
    raise NetworkError(
        f"projection {changed.source!r} -> {changed.target!r} closes a loop that contains a "
        f"same-step projection: a population feeds back (one step later) into a population "
        f"that precedes it in the same step, which a chip running each layer one step after the "
        f"previous cannot deliver in time; only recurrent projections within a layer (a "
        f"population onto itself or onto a population of the same depth) are supported"
    )


def skew(network: Network) -> tuple[Network, dict]:
    """``(chip network, start_steps)``: the one-step network that computes ``network`` skewed
    (module docstring) and the ``{population: s}`` offsets above zero. A network without
    same-step projections comes back unchanged with ``{}``."""
    if not network.has_same_step:
        return network, {}
    offsets = start_offsets(network)
    projections, needed_delay = [], {name: 1 for name in network.populations}
    for projection in network.projections:
        target_offset = offsets[projection.target]
        if projection.source in network.inputs:
            extra = target_offset
        else:
            extra = (
                target_offset - offsets[projection.source] + (0 if projection.same_step else 1) - 1
            )
        delays = projection.delays
        if extra:
            mask = projection.synapse_mask
            base = delays if delays is not None else mask.astype(np.int64)
            delays = np.where(mask, base + extra, 0)
            needed = int(delays.max()) if delays.size else 1
            if needed > MAX_DELAY:
                raise NetworkError(
                    f"projection {projection.source!r} -> {projection.target!r} needs a delay "
                    f"of {needed} steps on the chip (it skips {extra} layers), more than the "
                    f"largest delay {MAX_DELAY}"
                )
            needed_delay[projection.target] = max(needed_delay[projection.target], needed)
        projections.append(
            Projection(
                projection.source,
                projection.target,
                projection.weights,
                projection.channel,
                delays,
                projection.synapses,
                projection.plasticity,
                weight_shift=projection.weight_shift,
                count_cap=projection.count_cap,
                # A delayed projection has no single kernel step: the chip stores it dense.
                conv=projection.conv if delays is None else None,
            )
        )
    populations = [
        replace(p, max_delay=max(p.max_delay, needed_delay[p.name]))
        for p in network.populations.values()
    ]
    chip = Network(
        inputs=network.inputs.values(),
        populations=populations,
        projections=projections,
        outputs=network.outputs,
    )
    return chip, {name: s for name, s in offsets.items() if s}


def pad_inputs(inputs: dict, flush: int) -> dict:
    """The chip's inputs for a skewed sample: every group's ``(steps, batch, size)`` counts
    followed by ``flush`` steps of zeros (:class:`~neurohw.network.system.Samples` stay
    ``Samples``: zeros are in every group's range)."""
    from .system import Samples

    if isinstance(inputs, Samples):
        return inputs.padded(flush)
    if not flush:
        return dict(inputs)
    return {
        name: np.concatenate(
            [
                np.asarray(counts),
                np.zeros((flush, *np.shape(counts)[1:]), dtype=np.asarray(counts).dtype),
            ]
        )
        for name, counts in inputs.items()
    }


def trainer_steps(values: dict, start_steps: dict, steps: int) -> dict:
    """Per population, the chip's ``(steps + flush, ...)`` record cut back to the network's own
    ``steps``: population ``p``'s step ``t`` is chip step ``t + start_steps[p]``."""
    return {
        name: np.asarray(array)[start_steps.get(name, 0) : start_steps.get(name, 0) + steps]
        for name, array in values.items()
    }
