"""The float network's inputs and traces: real-valued input groups, the spike-count check, and
the recorded current and pre-reset membrane."""

import re

import numpy as np
import pytest

from neurohw.network.floatnet import (
    FloatInput,
    FloatNetwork,
    FloatNetworkError,
    FloatPopulation,
    FloatProjection,
    simulate_float,
)

DT = 1e-3


def network(real_valued=False, model="LIF"):
    rng = np.random.default_rng(0)
    extra = dict(tau_syn=4e-3, w_in=4.0) if model == "CubaLIF" else {}
    return FloatNetwork(
        inputs=[FloatInput("x", 4, real_valued=real_valued)],
        populations=[FloatPopulation("h", 3, model, tau_mem=8e-3, r=8.0, v_threshold=0.5, **extra)],
        projections=[FloatProjection("x", "h", rng.normal(0, 0.5, (4, 3)))],
        outputs=["h"],
        dt=DT,
    )


def test_real_valued_inputs_drive_the_population():
    x = np.random.default_rng(1).normal(size=(10, 2, 4))
    trace = simulate_float(network(real_valued=True), {"x": x}, record=("spikes", "i"))
    # LIF: the current of a step is gain * (x @ weight).
    net = network(real_valued=True)
    gain = net.discrete("h").gain
    assert np.allclose(trace.i["h"], gain * (x @ net.projections[0].weight))
    assert "real-valued" in net.summary()


def test_count_groups_refuse_real_values():
    with pytest.raises(
        FloatNetworkError,
        match=re.escape(
            "input 'x' has the value 0.5; a spike-count group takes integers between 0 and its "
            "max_count=1 (real_valued=True takes real values)"
        ),
    ):
        simulate_float(network(), {"x": np.full((2, 1, 4), 0.5)})
    with pytest.raises(
        FloatNetworkError,
        match=re.escape(
            "input 'x' has the value 2; a spike-count group takes integers between 0 and its "
            "max_count=1 (real_valued=True takes real values)"
        ),
    ):
        simulate_float(network(), {"x": np.full((2, 1, 4), 2)})
    with pytest.raises(FloatNetworkError, match=re.escape("input 'x' must be finite")):
        simulate_float(network(real_valued=True), {"x": np.full((2, 1, 4), np.nan)})
    with pytest.raises(
        FloatNetworkError, match=re.escape("input 'x': real_valued must be True or False, not 1")
    ):
        FloatInput("x", 4, real_valued=1)


def test_pre_reset_membrane_and_current():
    x = (np.random.default_rng(2).random((20, 3, 4)) < 0.5).astype(np.int64)
    net = network(model="CubaLIF")
    trace = simulate_float(net, {"x": x}, record=("spikes", "v", "v_pre_reset", "i"))
    spiked = trace.spikes["h"].astype(bool)
    assert spiked.any()
    c = net.discrete("h")
    assert np.all(trace.v_pre_reset["h"][spiked] > 0.5)
    assert np.array_equal(trace.v["h"][~spiked], trace.v_pre_reset["h"][~spiked])
    assert np.all(trace.v["h"][spiked] == 0)
    # v_pre_reset[t] = keep_mem v[t - 1] + i[t] + bias
    previous = np.concatenate([np.zeros((1, 3, 3)), trace.v["h"][:-1]])
    assert np.allclose(trace.v_pre_reset["h"], c.keep_mem * previous + trace.i["h"] + c.bias)
    with pytest.raises(
        FloatNetworkError,
        match=re.escape("record may name 'spikes', 'v', 'v_pre_reset' and 'i', not ['u']"),
    ):
        simulate_float(net, {"x": x}, record=("u",))
