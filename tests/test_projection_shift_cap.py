"""Per-projection weight shifts and count caps (``Projection(weight_shift=, count_cap=)``,
``docs/system.md`` "Per-projection shift and cap"): the system model against an independent
computation, the plan model against the system model, the mapper's folding, the refusals, the
file format, and the chip (both simulators) on a Xylo-like network."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, strategies as st

from neurohw.model import NeuronParams
from neurohw.network import InputGroup, Network, NetworkError, Population, Projection, simulate
from neurohw.network.mapping import CoreCapacity, MappingError, map_network
from neurohw.network.plan_model import simulate_plan
from tests.network_strategies import mapping_options, network_inputs, networks
from tests.test_plan_model import EQUIVALENCE, _map, check_plan_against_system


def _lif(**changes):
    """An integrator: no current, no decay, a threshold the tests never reach."""
    return NeuronParams(**{"v_width": 24, "threshold": 1 << 20, **changes})


# ---------------------------------------------------------------------------------------------
# The system model against an independent computation.

def test_drive_is_capped_counts_times_shifted_weights():
    """Two input groups onto one population whose threshold is never reached: v after each
    step is the running sum of min(count, cap) * (w << shift), the caps being the smaller of
    the projection's and the target's, and the target's input_shift applying on top."""
    rng = np.random.default_rng(3)
    a, b = rng.integers(-7, 8, size=(3, 4)), rng.integers(-7, 8, size=(2, 4))
    params = _lif(input_shift=1, input_count_cap=5)
    network = Network(
        inputs=[InputGroup("a", 3, 9), InputGroup("b", 2, 9)],
        populations=[Population("p", 4, params, weight_width=4)],
        projections=[Projection("a", "p", a, weight_shift=2, count_cap=3),
                     Projection("b", "p", b, weight_shift=1)],
        outputs=["p"])
    counts_a = rng.integers(0, 10, size=(6, 1, 3))
    counts_b = rng.integers(0, 10, size=(6, 1, 2))
    trace = simulate(network, {"a": counts_a, "b": counts_b}, record=("v",))
    v = np.zeros(4, dtype=np.int64)
    for t in range(6):
        drive = (np.minimum(counts_a[t, 0], 3) @ (a * 4)
                 + np.minimum(counts_b[t, 0], 5) @ (b * 2))
        v = v + drive * 2
        np.testing.assert_array_equal(trace.v["p"][t, 0], v)
    assert (counts_a > 3).any() and (counts_b > 5).any()


# ---------------------------------------------------------------------------------------------
# The plan model against the system model.

@EQUIVALENCE
@given(st.data())
def test_plan_model_equals_system_model_with_shifts_and_caps(data):
    network = data.draw(networks(shifts_and_caps=True))
    plan = _map(network, data.draw(mapping_options(network)))
    inputs = data.draw(network_inputs(network, max_steps=8))
    check_plan_against_system(plan, network, inputs)
