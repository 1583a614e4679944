"""Hypothesis strategies for small random networks, their inputs and mapping options."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from neurohw.model import Accumulation, loihi_cuba_lif
from neurohw.network import InputGroup, Network, Population, Projection
from neurohw.network.mapping import CoreCapacity
from tests.strategies import neuron_params


@st.composite
def population_params(draw, size):
    """A 'sum' model: the Loihi preset, or any NeuronParams drawn as tests/strategies.py does
    (0-2 currents, so multi-channel CUBA models too), per-neuron arrays of ``size``."""
    if draw(st.integers(0, 3)) == 0:
        return loihi_cuba_lif(
            du=draw(st.integers(0, 4095)),
            dv=draw(st.integers(0, 4095)),
            vth=draw(st.integers(0, 40)),
            bias_mant=draw(st.integers(-20, 20)),
        )
    params = draw(neuron_params(n_neurons=size, max_width=20, min_width=4))
    if params.accumulation is not Accumulation.SUM:
        params = params.replace(accumulation=Accumulation.SUM)
    return params


def input_group(draw, name, max_size, graded):
    """A spike-count group, or (``graded``, two times in three) a graded one of 1-16 bits,
    unsigned or signed."""
    size = draw(st.integers(1, max_size))
    if graded and draw(st.integers(0, 2)):
        return InputGroup(
            name,
            size,
            value_bits=draw(st.sampled_from([1, 2, 3, 4, 8, 16])),
            signed=draw(st.booleans()),
        )
    return InputGroup(name, size, draw(st.sampled_from([1, 1, 2, 3])))


@st.composite
def networks(
    draw,
    max_size=9,
    max_groups=3,
    max_populations=4,
    graded=False,
    same_step=False,
    shifts_and_caps=False,
):
    """1-3 input groups (with ``graded``, most of them graded), 1-4 populations, random (often
    recurrent, multi-channel) projections with random density and weight widths, 1+ outputs.

    ``same_step=True``: the trainers' layered timing: a projection from an earlier population
    onto a later one is often same-step, a population may project onto itself (one step), and
    no projection goes back to an earlier population.

    ``shifts_and_caps=True``: projections often have a ``weight_shift`` (0-3) and a
    ``count_cap`` (1-3, the same on every channel of a source and target, as a core's axon
    block needs; none from a graded group)."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    groups = [
        input_group(draw, f"in{g}", max_size, graded)
        for g in range(draw(st.integers(1, max_groups)))
    ]
    populations = []
    for p in range(draw(st.integers(1, max_populations))):
        size = draw(st.integers(1, max_size))
        populations.append(
            Population(
                f"pop{p}", size, draw(population_params(size)), weight_width=draw(st.integers(2, 8))
            )
        )
    names = [g.name for g in groups] + [p.name for p in populations]
    sizes = {g.name: g.size for g in groups} | {p.name: p.size for p in populations}
    projections = []
    for target in populations:
        channels = target.params.input_channels
        for source in names:
            if not draw(st.booleans()):
                continue
            later = source in names and names.index(source) > names.index(target.name)
            if same_step and later:
                continue
            same = bool(
                same_step
                and source.startswith("pop")
                and source != target.name
                and draw(st.booleans())
            )
            graded_source = any(g.name == source and g.graded for g in groups)
            cap = (
                draw(st.sampled_from([None, 1, 2, 3]))
                if shifts_and_caps and not graded_source
                else None
            )
            for channel in range(channels):
                if channel and not draw(st.booleans()):
                    continue
                high = (1 << (target.weight_width - 1)) - 1
                weights = rng.integers(
                    -high - 1, high, size=(sizes[source], target.size), endpoint=True
                )
                weights[rng.random(weights.shape) < draw(st.sampled_from([0.0, 0.3, 0.8]))] = 0
                shift = draw(st.integers(0, 3)) if shifts_and_caps else 0
                projections.append(
                    Projection(
                        source,
                        target.name,
                        weights,
                        channel,
                        same_step=same,
                        weight_shift=shift,
                        count_cap=cap,
                    )
                )
    n_outputs = draw(st.integers(1, len(populations)))
    outputs = [p.name for p in populations[:n_outputs]]
    return Network(inputs=groups, populations=populations, projections=projections, outputs=outputs)


@st.composite
def network_inputs(draw, network, max_steps=6, max_batch=3):
    """``{group: (steps, batch, size)}`` counts within each group's max_count (a graded
    group's values over its whole range, both ends included), often sparse."""
    steps = draw(st.integers(1, max_steps))
    batch = draw(st.integers(1, max_batch))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.sampled_from([0.2, 0.5, 0.9]))
    out = {}
    for name, group in network.inputs.items():
        low, high = group.value_range
        counts = rng.integers(low, high, size=(steps, batch, group.size), endpoint=True)
        counts[rng.random(counts.shape) > density] = 0
        if group.graded and counts.size > 1:
            counts.flat[:2] = (low, high)  # the extremes, where truncation would show
        out[name] = counts
    return out


@st.composite
def mapping_options(draw, network):
    """Capacities that force splits over several cores, lanes, connectivity, topology, a
    short step tag (so window tags wrap within a run) and, often, graded spikes between
    populations."""
    largest = max(p.size for p in network.populations.values())
    max_neurons = draw(st.integers(1, largest))
    max_axons = draw(st.sampled_from([1024, 1024, draw(st.integers(4, 40))]))
    lanes = draw(st.sampled_from([1, 1, 2, 4]))
    connectivity = draw(st.sampled_from(["auto", "dense"] + (["sparse"] if lanes == 1 else [])))
    return dict(
        capacity=CoreCapacity(max_neurons=max_neurons, max_axons=max_axons),
        lanes=lanes,
        connectivity=connectivity,
        topology=draw(st.sampled_from(["auto", "auto", "star", "mesh"])),
        step_width=draw(st.sampled_from([2, 3, 8])),
        graded_spikes=draw(st.booleans()),
    )
