"""Quantization onto the Loihi CUBA preset: the chosen fields, the report, the integer network's
agreement with the float network, and every refusal with its exact message."""

import json
import math
import re

import nir
import numpy as np
import pytest

from neurohw.model import loihi_cuba_lif
from neurohw.network import Network, simulate
from neurohw.network.floatnet import (
    FloatInput,
    FloatNetwork,
    FloatPopulation,
    FloatProjection,
    simulate_float,
)
from neurohw.network.nir_import import SNNTORCH_DT, import_nir
from neurohw.network.quantize import QuantizationError, encode_inputs, evaluate, quantize

DT = 1e-3


def two_layer(
    *,
    hidden_model="LIF",
    out_model="LIF",
    seed=0,
    thr=1.0,
    tau=8e-3,
    tau_syn=4e-3,
    bias=0.0,
    n_in=6,
    n_hidden=5,
    n_out=3,
    **out_kwargs,
):
    rng = np.random.default_rng(seed)

    def population(name, size, model, **extra):
        kwargs = dict(tau_mem=tau, r=tau / DT, v_leak=0.0)
        if model in ("CubaLIF", "CubaLI"):
            kwargs.update(tau_syn=tau_syn, w_in=tau_syn / DT)
        if model in ("LIF", "CubaLIF", "IF"):
            kwargs["v_threshold"] = thr
        if model == "IF":
            kwargs = dict(r=1 / DT, v_threshold=thr)
        kwargs.update(extra)
        return FloatPopulation(name, size, model, **kwargs)

    pops = [
        population("h", n_hidden, hidden_model, input_bias=bias),
        population("o", n_out, out_model, **out_kwargs),
    ]
    projections = [
        FloatProjection("x", "h", rng.normal(0, 0.6, (n_in, n_hidden))),
        FloatProjection("h", "o", rng.normal(0, 0.8, (n_hidden, n_out))),
    ]
    return FloatNetwork(
        inputs=[FloatInput("x", n_in)],
        populations=pops,
        projections=projections,
        outputs=["o"],
        dt=DT,
    )


def counts(steps, batch, size, seed=1, p=0.4):
    return (np.random.default_rng(seed).random((steps, batch, size)) < p).astype(np.int64)


def test_lif_fields_match_the_loihi_preset():
    net, report = quantize(two_layer(bias=0.05))
    assert isinstance(net, Network)
    h = net.populations["h"]
    layer = report.layers["h"]
    # tau = 8 dt: keep 7/8 -> dv = 512; no synaptic current -> du = 4095.
    assert (layer.dv, layer.du) == (512, 4095)
    assert layer.keep_mem_int == layer.keep_mem_float == 0.875
    assert h.params == loihi_cuba_lif(
        du=4095,
        dv=512,
        vth=layer.threshold_mantissa[0],
        bias_mant=h.params.bias_mantissa,
        bias_exp=layer.bias_exponent,
    )
    # The largest |weight * gain| uses the full 8-bit range (up to the threshold snapping).
    w = {(p.source, p.target): p.weights for p in net.projections}
    assert 120 <= np.abs(w[("x", "h")]).max() <= 127
    # One threshold per population: the scale is snapped so the threshold is exact.
    assert layer.threshold_max_relative_error == 0.0
    assert layer.threshold_mantissa[0] * 64 == pytest.approx(1.0 * layer.scale)
    assert h.params.bias == round(0.05 * layer.scale)


def test_report_errors_are_half_a_step():
    float_net = two_layer(seed=3)
    _, report = quantize(float_net)
    for layer in report.layers.values():
        step = 64 / layer.scale
        for p in layer.projections:
            assert p.max_error <= step / 2 + 1e-12
            assert p.relative_rms_error < 0.5 / 100
            assert p.max_abs_int <= 127
    text = report.table()
    assert "quantization to loihi, 8-bit weights" in text
    assert "x -> h: max |w|" in text
    as_dict = report.to_dict()
    assert as_dict["layers"]["o"]["dv"] == 512


def test_weight_width():
    _, report = quantize(two_layer(), weight_width=4)
    assert all(p.max_abs_int <= 7 for layer in report.layers.values() for p in layer.projections)


def test_cubalif_decays_and_membrane_track_the_float_model():
    """Thresholds out of reach: the integer membrane divided by the scale follows the float
    membrane (a CubaLIF and a CubaLI population, both fed by the input)."""
    rng = np.random.default_rng(2)
    common = dict(tau_mem=8e-3, r=8.0, tau_syn=4e-3, w_in=4.0, v_leak=0.02)
    float_net = FloatNetwork(
        inputs=[FloatInput("x", 6)],
        populations=[
            FloatPopulation("h", 5, "CubaLIF", v_threshold=1e3, **common),
            FloatPopulation("o", 3, "CubaLI", **common),
        ],
        projections=[
            FloatProjection("x", "h", rng.normal(0, 0.6, (6, 5))),
            FloatProjection("x", "o", rng.normal(0, 0.6, (6, 3))),
        ],
        outputs=["o"],
        dt=DT,
    )
    net, report = quantize(float_net, weight_width=12)
    layer = report.layers["h"]
    # tau_syn = 4 dt: keep 3/4 -> du = 4096/4 - 1 = 1023 (Loihi's +1 offset).
    assert layer.du == 1023 and layer.keep_syn_int == 0.75
    x = counts(30, 4, 6)
    f = simulate_float(float_net, {"x": x}, record=("spikes", "v"))
    q = simulate(net, {"x": x}, record=("spikes", "v"))
    for name in ("h", "o"):
        scale = report.layers[name].scale
        peak = np.abs(f.v[name]).max()
        assert peak > 0.1
        assert np.abs(q.v[name] / scale - f.v[name]).max() < 0.01 * peak
    assert not q.spikes["o"].any()
    o = net.populations["o"].params
    assert (o.threshold, o.threshold_shift) == ((1 << 23) - 1, 0)


def test_if_population():
    float_net = two_layer(hidden_model="IF", thr=0.5)
    net, report = quantize(float_net)
    assert report.layers["h"].dv == 0
    x = counts(20, 8, 6, seed=2)
    f = simulate_float(float_net, {"x": x})
    q = simulate(net, {"x": x})
    assert np.mean(f.spikes["h"] == q.spikes["h"]) > 0.98


def test_spikes_agree_with_the_float_network():
    float_net = two_layer(seed=4, thr=0.8)
    net, _ = quantize(float_net)
    x = counts(25, 16, 6, seed=5)
    f = simulate_float(float_net, {"x": x})
    q = simulate(net, {"x": x})
    assert f.spikes["h"].sum() > 50
    assert np.mean(f.spikes["h"] == q.spikes["h"]) > 0.98


def test_power_of_two_scale_and_percentile():
    _, report = quantize(two_layer(), power_of_two_scale=True)
    for layer in report.layers.values():
        assert np.log2(layer.scale) == int(np.log2(layer.scale))
    _, report = quantize(two_layer(), weight_percentile=50)
    assert any("clipped to +-127" in note for note in report.layers["h"].notes)


def test_explicit_scale():
    _, report = quantize(two_layer(), scale={"h": 1000.0})
    assert report.layers["h"].scale == 1000.0


def test_subtract_reset_is_kept():
    float_net = two_layer()
    pops = [
        FloatPopulation(
            p.name,
            p.size,
            p.model,
            tau_mem=p.tau_mem,
            r=p.r,
            v_threshold=p.v_threshold,
            reset="subtract",
        )
        for p in float_net.populations.values()
    ]
    float_net = FloatNetwork(
        inputs=float_net.inputs.values(),
        populations=pops,
        projections=float_net.projections,
        outputs=["o"],
        dt=DT,
    )
    net, report = quantize(float_net)
    assert net.populations["h"].params.reset.value == "subtract"


def test_snntorch_graph_quantizes():
    """A graph as snnTorch writes it (scalar parameters, dt = 1e-4) goes through."""
    dt = SNNTORCH_DT
    beta = np.float32(0.875)
    tau = np.asarray(dt / (1 - beta))

    def leaky():
        return nir.LIF(
            tau=tau, v_threshold=np.asarray(np.float32(1.0)), v_leak=np.zeros_like(tau), r=tau / dt
        )

    rng = np.random.default_rng(6)
    nodes = {
        "input": nir.Input(input_type=np.array([1, 6])),
        "0": nir.Affine(
            weight=rng.normal(size=(4, 6)).astype(np.float32), bias=np.zeros(4, dtype=np.float32)
        ),
        "1": leaky(),
        "2": nir.Linear(weight=rng.normal(size=(3, 4)).astype(np.float32)),
        "3": leaky(),
        "output": nir.Output(output_type=np.array([1, 3])),
    }
    edges = [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    float_net = import_nir(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), dt=dt)
    net, report = quantize(float_net)
    assert report.layers["lif_1"].dv == 512
    x = counts(20, 8, 6, seed=7)
    assert (
        np.mean(
            simulate_float(float_net, {"input": x}).spikes["lif_1"]
            == simulate(net, {"input": x}).spikes["lif_1"]
        )
        > 0.98
    )


def test_evaluate():
    float_net = two_layer(seed=8, thr=0.5)
    net, _ = quantize(float_net)
    x = counts(20, 40, 6, seed=9)
    labels = np.argmax(simulate_float(float_net, {"x": x}).spikes["o"].sum(axis=0), axis=1)
    result = evaluate(float_net, net, x, labels, batch_size=16)
    assert result.float_accuracy == 1.0
    assert result.n_samples == 40
    assert abs(result.fixed_accuracy - result.float_accuracy) <= 0.1
    assert result.agreement == result.fixed_accuracy
    assert result.fixed_spikes_per_sample > 0 and result.fixed_synaptic_ops_per_sample > 0
    # Non-spiking readout: the mean membrane decides.
    readout = two_layer(seed=8, thr=0.5, out_model="LI")
    net, _ = quantize(readout)
    result = evaluate(readout, net, {"x": x}, labels)
    assert result.readout == "membrane_mean" and result.agreement >= 0.9


# --- refusals ----------------------------------------------------------------------------------


def test_refuses_nonzero_v_reset():
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'o' (LIF): v_reset=-0.5; the Loihi neuron resets to 0 (supported: "
            "v_reset=0)"
        ),
    ):
        quantize(two_layer(v_reset=-0.5))


def test_refuses_negative_threshold():
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'o' (LIF): v_threshold=-1 is negative; the Loihi threshold vth is "
            "unsigned (supported: v_threshold >= 0)"
        ),
    ):
        quantize(two_layer(v_threshold=-1.0))


def test_refuses_threshold_out_of_range():
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'h' (LIF): v_threshold=1 at scale 1e+08 needs vth=1562500, outside the "
            "Loihi range [0, 131071]"
        ),
    ):
        quantize(two_layer(), scale={"h": 1e8})


def test_refuses_bias_out_of_range():
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'h' (LIF): bias=0.5 at scale 2e+06 needs bias_mant << bias_exp = "
            "1000000, outside the Loihi range [-4095 << 7, 4095 << 7]"
        ),
    ):
        quantize(two_layer(bias=0.5, thr=0.01), scale={"h": 2e6})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"model": "xylo"}, "model must be one of 'loihi', 'if' (IF populations only), not 'xylo'"),
        ({"weight_width": 1}, "weight_width must be an integer between 2 and 16, not 1"),
        ({"weight_width": 8.0}, "weight_width must be an integer between 2 and 16, not 8.0"),
        ({"weight_percentile": 0}, "weight_percentile must be in (0, 100], not 0"),
        ({"scale": {"nope": 1.0}}, "scale names unknown population(s) ['nope']"),
        ({"scale": {"h": -1.0}}, "population 'h' (LIF): scale must be a positive number, not -1.0"),
        ({"per_neuron_scale": 1}, "per_neuron_scale must be True or False, not 1"),
        (
            {"model": "if", "per_neuron_scale": True},
            "per_neuron_scale needs model='loihi'",
        ),
    ],
)
def test_refuses_bad_arguments(kwargs, message):
    with pytest.raises(QuantizationError, match=re.escape(message)):
        quantize(two_layer(), **kwargs)


def test_input_counts_and_a_conv_network():
    """Input counts up to 3 per step; Conv2d -> IF -> SumPool2d -> Linear -> LIF, quantized."""
    rng = np.random.default_rng(10)
    conv = nir.Conv2d(
        input_shape=(4, 4),
        weight=rng.normal(0, 0.5, size=(2, 1, 3, 3)),
        stride=1,
        padding=1,
        dilation=1,
        groups=1,
        bias=np.zeros(2),
    )
    nodes = {
        "inp": nir.Input(input_type=np.array([1, 4, 4])),
        "conv": conv,
        "if1": nir.IF(
            r=np.full((2, 4, 4), 1000.0),
            v_threshold=np.full((2, 4, 4), 1.0),
            v_reset=np.zeros((2, 4, 4)),
        ),
        "pool": nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        "flat": nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
        "fc": nir.Linear(weight=rng.normal(0, 0.5, size=(3, 8))),
        "lif": nir.LIF(
            tau=np.full(3, 4e-3),
            r=np.full(3, 4.0),
            v_leak=np.zeros(3),
            v_threshold=np.full(3, 0.5),
            v_reset=np.zeros(3),
        ),
        "out": nir.Output(output_type=np.array([3])),
    }
    order = list(nodes)
    float_net = import_nir(
        nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), type_check=False),
        dt=DT,
        input_max_count=3,
    )
    net, report = quantize(float_net)
    assert net.inputs["inp"].max_count == 3
    layer = report.layers["if1"]
    assert layer.dv == 0
    w = net.projections[0].weights
    assert layer.worst_case_current == 3 * np.abs(w).sum(axis=0).max() * 64
    x = np.random.default_rng(11).integers(0, 4, size=(20, 6, 16))
    f = simulate_float(float_net, {"inp": x})
    q = simulate(net, {"inp": x})
    assert f.spikes["if1"].sum() > 100
    assert np.mean(f.spikes["if1"] == q.spikes["if1"]) > 0.97


# --- calibration, headroom, overflow (issue #13) ----------------------------------------------


def synaptic(*, seed=0, n_in=40, n_hidden=20, n_out=4, alpha=0.9, beta=0.95, bias=0.0):
    """A snnTorch-Synaptic-like network (dt = 1e-3 with r = tau/dt and w_in = tau_syn/dt, so
    gain 1): the current integrates ten steps of input, the regime where 16-bit weights at the
    full width used to wrap the 24-bit current."""
    rng = np.random.default_rng(seed)
    tau, tau_syn = DT / (1 - beta), DT / (1 - alpha)

    def population(name, size, **extra):
        return FloatPopulation(
            name,
            size,
            "CubaLIF",
            tau_mem=tau,
            r=tau / DT,
            tau_syn=tau_syn,
            w_in=tau_syn / DT,
            v_threshold=1.0,
            **extra,
        )

    return FloatNetwork(
        inputs=[FloatInput("x", n_in)],
        populations=[population("h", n_hidden, input_bias=bias), population("o", n_out)],
        projections=[
            FloatProjection("x", "h", rng.normal(0, 0.15, (n_in, n_hidden))),
            FloatProjection("h", "o", rng.normal(0, 0.3, (n_hidden, n_out))),
        ],
        outputs=["o"],
        dt=DT,
    )


def test_wider_weights_never_lose_accuracy():
    """16-bit weights at the full width wrap this network's current (the old scale rule); the
    analytic current bound and the calibration both keep it inside 24 bits, and 16-bit weights
    are then at least as accurate as 8-bit ones (accuracy: agreement with the float network)."""
    float_net = synaptic()
    x = counts(30, 120, 40, seed=12, p=0.3)
    labels = np.argmax(simulate_float(float_net, {"x": x}).spikes["o"].sum(axis=0), axis=1)
    calibration = {"x": x[:, :40]}
    for options in ({}, {"calibration": calibration}):
        accuracy = {}
        for width in (8, 16):
            net, report = quantize(float_net, weight_width=width, **options)
            accuracy[width] = evaluate(float_net, net, x, labels).fixed_accuracy
            for layer in report.layers.values():
                assert layer.states["current"].overflows == 0
            if not options:
                # Without calibration the analytic worst case of the current fits 24 bits.
                assert all(
                    layer.worst_case_current <= layer.states["current"].range
                    for layer in report.layers.values()
                )
        assert accuracy[16] >= accuracy[8] >= 0.95
    # The old rule (the largest 16-bit weight at full width) wraps, and the calibration run
    # sees it.
    old = {p.target: 32767 * 64 / np.abs(p.weight).max() for p in float_net.projections}
    net, report = quantize(
        float_net, weight_width=16, scale=old, calibration=calibration, accept_overflow=True
    )
    assert report.layers["h"].states["current"].overflows > 0
    assert evaluate(float_net, net, x, labels).fixed_accuracy < 0.9
    assert "(accepted)" in report.notes[0]


def test_calibration_headroom():
    float_net = synaptic(seed=1)
    x = counts(30, 32, 40, seed=13, p=0.3)
    margin = 2.0
    net, report = quantize(
        float_net, weight_width=16, calibration={"x": x}, calibration_margin=margin
    )
    assert report.calibration_margin == margin and report.calibration_samples == 32
    for layer in report.layers.values():
        assert layer.scale_limit in ("current headroom", "membrane headroom")
        binding = layer.states[layer.scale_limit.split()[0]]
        # The calibration peak times the margin fits the state (up to the threshold snapping,
        # which only lowers the scale): at least log2(margin) bits of headroom.
        assert binding.calibration_peak_float * margin <= binding.range
        for state in layer.states.values():
            assert state.overflows == 0
            assert state.calibration_peak_int <= state.range
            assert state.headroom_bits == pytest.approx(
                np.log2(state.range / state.calibration_peak_int)
            )
        # The integer peak tracks the float peak at the scale.
        assert binding.calibration_peak_int == pytest.approx(
            binding.calibration_peak_float, rel=0.02
        )
        assert binding.headroom_bits >= np.log2(margin) - 0.03
    text = report.table()
    assert "calibrated on 32 samples (margin 2)" in text and "headroom" in text
    assert report.to_dict()["layers"]["h"]["states"]["current"]["overflows"] == 0
    # A larger margin gives a smaller scale.
    _, wider = quantize(float_net, weight_width=16, calibration={"x": x}, calibration_margin=8.0)
    assert wider.layers["h"].scale < report.layers["h"].scale


def test_overflow_on_the_calibration_data_is_refused():
    float_net = synaptic(seed=2)
    x = counts(30, 16, 40, seed=14, p=0.3)
    big = {"h": 3e6}
    _, report = quantize(
        float_net, weight_width=16, scale=big, calibration={"x": x}, accept_overflow=True
    )
    current = report.layers["h"].states["current"]
    membrane = report.layers["h"].states["membrane"]
    assert current.overflows > 0 and current.calibration_peak_int > current.range
    message = (
        "the integer network overflows its 24-bit states on the calibration data: "
        f"population 'h': the current wraps in {current.overflows} values (peak "
        f"{current.calibration_peak_int}, range +-{current.range})"
    )
    if membrane.overflows:
        message += (
            f"; population 'h': the membrane saturates in {membrane.overflows} values "
            f"(peak {membrane.calibration_peak_int}, range +-{membrane.range})"
        )
    assert report.notes == [message + " (accepted)"]
    assert "OVERFLOWS" in report.table()
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            message + " (accept_overflow=True keeps the network; a smaller scale avoids it)"
        ),
    ):
        quantize(float_net, weight_width=16, scale=big, calibration={"x": x})


def test_analytic_bound_without_calibration():
    """Without calibration the scale keeps the worst case of the current (every input at its
    largest count through the steady-state gain 1 / (1 - keep_syn)) inside 24 bits."""
    float_net = synaptic(seed=3)
    _, report = quantize(float_net, weight_width=16)
    for layer in report.layers.values():
        assert layer.scale_limit == "current bound"
        current = layer.states["current"]
        assert current.analytic_bound == layer.worst_case_current <= current.range
        assert current.analytic_bound > current.range / 2  # the bound is what binds
        assert current.calibration_peak_int is None


# --- real-valued inputs ---------------------------------------------------------------------


def real_valued_net(seed=0, n_in=8):
    rng = np.random.default_rng(seed)
    tau = 8e-3
    return FloatNetwork(
        inputs=[FloatInput("x", n_in, real_valued=True)],
        populations=[
            FloatPopulation("h", 10, "LIF", tau_mem=tau, r=tau / DT, v_threshold=1.0),
            FloatPopulation("o", 3, "LIF", tau_mem=tau, r=tau / DT, v_threshold=1.0),
        ],
        projections=[
            FloatProjection("x", "h", rng.normal(0, 0.3, (n_in, 10))),
            FloatProjection("h", "o", rng.normal(0, 0.8, (10, 3))),
        ],
        outputs=["o"],
        dt=DT,
    )


def test_real_valued_input_becomes_a_graded_group():
    float_net = real_valued_net()
    x = np.random.default_rng(15).normal(0.3, 0.5, (20, 60, 8))
    calibration = {"x": x[:, :20]}
    net, report = quantize(float_net, calibration=calibration, input_bits=8)
    group = net.inputs["x"]
    assert (group.value_bits, group.signed) == (8, True)
    entry = report.inputs["x"]
    max_abs = np.abs(calibration["x"]).max()
    assert entry.scale == 127 / max_abs and (entry.low, entry.high) == (-128, 127)
    assert entry.max_error <= 0.5 / entry.scale + 1e-12
    # encode_inputs: round half away from zero, then clip to the group's range.
    probe = {"x": np.array([[0.5, -0.5, 1.5, -2.5, 1e9, -1e9, 0.0, 0.49]]) / entry.scale}
    assert encode_inputs(report, probe)["x"].tolist() == [[1, -1, 2, -3, 127, -128, 0, 0]]
    # w_int = round(weight * gain * S / (64 s_x)): the integer drive x_int w_int approximates
    # the float drive in the population's integer units.
    w = {(p.source, p.target): p.weights for p in net.projections}[("x", "h")]
    layer = report.layers["h"]
    gain = float_net.discrete("h").gain
    expected = np.rint(
        float_net.projections_to("h")[0].weight * gain * layer.scale / (64 * entry.scale)
    )
    assert np.array_equal(w, expected)
    f = simulate_float(float_net, {"x": x})
    q = simulate(net, encode_inputs(report, {"x": x}))
    assert f.spikes["h"].sum() > 50
    assert np.mean(f.spikes["h"] == q.spikes["h"]) > 0.98
    labels = np.argmax(f.spikes["o"].sum(axis=0), axis=1)
    result = evaluate(float_net, net, x, labels, report=report)
    assert result.float_accuracy == 1.0 and result.fixed_accuracy >= 0.9
    assert "input x: real-valued -> 8-bit signed graded" in report.table()
    # Non-negative calibration data: unsigned values, the full 2^k - 1.
    net, report = quantize(float_net, calibration={"x": np.abs(x)}, input_bits=6)
    assert (net.inputs["x"].signed, report.inputs["x"].high) == (False, 63)


def test_real_valued_refusals():
    float_net = real_valued_net()
    x = np.random.default_rng(16).normal(size=(5, 2, 8))
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "input group 'x' is real-valued: pass input_bits (the width of its graded integer "
            "values, 2..16) and a calibration data set"
        ),
    ):
        quantize(float_net, calibration={"x": x})
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "input group 'x' is real-valued: its input scale comes from the calibration data; "
            "pass calibration={group: values (steps, batch, size)}"
        ),
    ):
        quantize(float_net, input_bits=8)
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "input group 'x': every calibration value is 0; the input scale needs a nonzero "
            "largest |x|"
        ),
    ):
        quantize(float_net, calibration={"x": np.zeros((5, 2, 8))}, input_bits=8)
    net, report = quantize(float_net, calibration={"x": x}, input_bits=8)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "input group 'x' is real-valued: pass report=<the QuantizationReport of quantize> "
            "so its values can be encoded"
        ),
    ):
        evaluate(float_net, net, x, np.zeros(2))
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "input group 'x' is graded: its input scale is in the QuantizationReport; pass the "
            "report"
        ),
    ):
        encode_inputs(net, {"x": x})


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"calibration_margin": 0.5}, "calibration_margin must be a finite number >= 1, not 0.5"),
        ({"accept_overflow": 1}, "accept_overflow must be True or False, not 1"),
        ({"input_bits": 1}, "input_bits must be None or an integer between 2 and 16, not 1"),
        ({"input_bits": 17}, "input_bits must be None or an integer between 2 and 16, not 17"),
        (
            {"calibration": [1]},
            "calibration must be a dict of input group -> values (steps, batch, "
            "size), as simulate_float takes, not list",
        ),
        (
            {"calibration": {"x": np.full((3, 6), 0.5)}},
            "calibration: input 'x' has the value 0.5; a spike-count group takes integers between 0 "
            "and its max_count=1 (real_valued=True takes real values)",
        ),
    ],
)
def test_refuses_bad_calibration_arguments(kwargs, message):
    with pytest.raises(QuantizationError, match=re.escape(message)):
        quantize(two_layer(), **kwargs)


def test_model_if_refuses_calibration():
    with pytest.raises(
        QuantizationError,
        match=re.escape("calibration, input_bits and real-valued input groups need model='loihi'"),
    ):
        quantize(
            two_layer(hidden_model="IF", out_model="IF"),
            model="if",
            calibration={"x": np.zeros((3, 6), dtype=int)},
        )


# --- per-neuron parameters and the drive bias (issue #13) -------------------------------------


def test_per_neuron_decays_and_thresholds_track_the_float_network():
    """snnTorch 1.0 writes one beta (and alpha) per neuron: each neuron gets its own dv/du, and
    the integer spike trains follow the float ones."""
    rng = np.random.default_rng(20)
    n_in, n_h = 8, 12
    beta = rng.uniform(0.8, 0.97, n_h)
    alpha = rng.uniform(0.5, 0.9, n_h)
    tau, tau_syn = DT / (1 - beta), DT / (1 - alpha)
    thresholds = rng.uniform(0.5, 1.5, n_h)
    float_net = FloatNetwork(
        inputs=[FloatInput("x", n_in)],
        populations=[
            FloatPopulation(
                "h",
                n_h,
                "CubaLIF",
                tau_mem=tau,
                r=tau / DT,
                tau_syn=tau_syn,
                w_in=tau_syn / DT,
                v_threshold=thresholds,
            ),
            FloatPopulation("o", 3, "LIF", tau_mem=tau[:3], r=tau[:3] / DT, v_threshold=1.0),
        ],
        projections=[
            FloatProjection("x", "h", rng.normal(0, 0.4, (n_in, n_h))),
            FloatProjection("h", "o", rng.normal(0, 0.8, (n_h, 3))),
        ],
        outputs=["o"],
        dt=DT,
    )
    net, report = quantize(float_net, weight_width=12)
    h = report.layers["h"]
    dv = np.rint(4096 * (1 - beta)).astype(int)
    du = np.rint(4096 * (1 - alpha)).astype(int) - 1
    assert h.dv == [int(dv.min()), int(dv.max())] and h.du == [int(du.min()), int(du.max())]
    params = net.populations["h"].params
    assert np.array_equal(params.v_decay.constant, dv)
    assert np.array_equal(params.i_decay[0].constant, du)
    assert np.array_equal(params.threshold, np.rint(thresholds * h.scale / 64))
    assert h.keep_mem_max_error <= 0.5 / 4096 + 1e-12
    assert h.keep_syn_max_error <= 0.5 / 4096 + 1e-12
    assert h.threshold_max_relative_error < 1e-3
    assert "dv " in report.table() and ".." in report.table()
    x = counts(40, 16, n_in, seed=21, p=0.3)
    f = simulate_float(float_net, {"x": x})
    q = simulate(net, {"x": x})
    assert f.spikes["h"].sum() > 200
    for name in ("h", "o"):
        assert np.mean(f.spikes[name] == q.spikes[name]) > 0.98


def test_per_neuron_tau_of_the_old_refusal_now_quantizes():
    """The network the old refusal named ("tau_mem differs per neuron", printing beta)."""
    net, report = quantize(two_layer(tau_mem=np.array([8e-3, 8e-3, 10e-3])))
    assert report.layers["o"].dv == [410, 512]
    assert report.layers["o"].keep_mem_float == [0.875, 0.9]


def test_drive_bias_into_the_synaptic_current_is_exact():
    """An Affine bias into a CubaLIF's current becomes drive_bias << drive_bias_shift =
    round(input_bias * gain * S), the shift the smallest at which every value fits the field
    (here 0: the current's own resolution, not the weights'): the integer network equals the
    same network fed by an always-on input line whose weights are drive_bias on a neuron with
    input_shift = drive_bias_shift and every other weight 2^(6 - shift) times larger (bit for
    bit), and the current tracks the float one."""
    import dataclasses

    bias = np.array([0.3, -0.2, 0.05, 0.0, 0.11])
    float_net = two_layer(hidden_model="CubaLIF", bias=bias, thr=1e3)
    net, report = quantize(float_net)
    layer = report.layers["h"]
    gain = float_net.discrete("h").gain
    shift = layer.drive_bias_shift
    assert shift == 0
    expected = np.rint(bias * gain * layer.scale / (1 << shift)).astype(np.int64)
    params = net.populations["h"].params
    assert params.drive_bias_shift == shift
    assert np.array_equal(params.drive_bias, expected)
    assert layer.drive_bias == [int(expected.min()), int(expected.max())]
    assert layer.drive_bias_max_error == pytest.approx(
        np.max(np.abs(expected * (1 << shift) / layer.scale - bias * gain))
    )
    assert layer.drive_bias_max_error <= 0.5 / layer.scale + 1e-12
    # Reference: no drive bias, one more input line that is always 1 with weights drive_bias.
    from neurohw.network import InputGroup, Population, Projection

    plain = Population(
        "h",
        5,
        params.replace(drive_bias=0, drive_bias_shift=None, input_shift=shift),
        weight_width=16,
    )
    finer = [
        dataclasses.replace(p, weights=p.weights << (6 - shift)) if p.target == "h" else p
        for p in net.projections
    ]
    reference = Network(
        inputs=[*net.inputs.values(), InputGroup("one", 1)],
        populations=[plain, net.populations["o"]],
        projections=[*finer, Projection("one", "h", expected[np.newaxis, :])],
        outputs=["o"],
    )
    x = counts(30, 4, 6, seed=22)
    q = simulate(net, {"x": x}, record=("spikes", "v", "i"))
    r = simulate(
        reference, {"x": x, "one": np.ones((30, 4, 1), dtype=np.int64)}, record=("spikes", "v", "i")
    )
    assert np.array_equal(q.i["h"], r.i["h"]) and np.array_equal(q.v["h"], r.v["h"])
    f = simulate_float(float_net, {"x": x}, record=("spikes", "i"))
    peak = np.abs(f.i["h"]).max()
    assert np.abs(q.i["h"][:, :, 0] / layer.scale - f.i["h"]).max() < 0.01 * peak
    # Without input the current settles at drive_bias * 64 / (1 - keep_syn_int).
    assert "drive bias" in report.table()


def test_refuses_drive_bias_out_of_range():
    with pytest.raises(
        QuantizationError,
        match=re.escape(
            "population 'h' (CubaLIF): the Affine bias into the synaptic current (input_bias * "
            "gain = 0.5) at scale 2e+07 needs drive_bias=156250, outside [-131071, 131071] (the "
            "24-bit current after the shift by 6)"
        ),
    ):
        quantize(two_layer(hidden_model="CubaLIF", bias=0.5, thr=0.01), scale={"h": 2e7})


def test_snntorch_synaptic_with_learned_beta_and_linear_bias():
    """What snnTorch 1.0 writes for nn.Linear -> Synaptic(learn_beta, learn_alpha): an Affine
    with a bias into a CubaLIF whose tau/tau_syn differ per neuron (dt = 1e-4). Both used to
    be refused; now they quantize and the spikes follow the float network."""
    dt = SNNTORCH_DT
    rng = np.random.default_rng(23)
    n_in, n_h, n_out = 6, 8, 3

    def synaptic_node(size):
        beta = rng.uniform(0.8, 0.95, size).astype(np.float32)
        alpha = rng.uniform(0.6, 0.9, size).astype(np.float32)
        tau, tau_syn = dt / (1 - beta), dt / (1 - alpha)
        return nir.CubaLIF(
            tau_mem=tau,
            tau_syn=tau_syn,
            r=tau / dt,
            v_leak=np.zeros(size),
            v_threshold=np.ones(size),
            w_in=tau_syn / dt,
        )

    nodes = {
        "input": nir.Input(input_type=np.array([1, n_in])),
        "0": nir.Affine(weight=rng.normal(0, 0.5, (n_h, n_in)), bias=rng.normal(0, 0.05, n_h)),
        "1": synaptic_node(n_h),
        "2": nir.Affine(weight=rng.normal(0, 0.8, (n_out, n_h)), bias=rng.normal(0, 0.05, n_out)),
        "3": synaptic_node(n_out),
        "output": nir.Output(output_type=np.array([1, n_out])),
    }
    order = list(nodes)
    float_net = import_nir(
        nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])), type_check=False), dt=dt
    )
    x = counts(40, 16, n_in, seed=24, p=0.3)
    net, report = quantize(float_net, weight_width=12, calibration={"input": x})
    layer = report.layers["cubalif_1"]
    assert isinstance(layer.dv, list) and isinstance(layer.du, list)
    assert layer.drive_bias is not None
    f = simulate_float(float_net, {"input": x})
    q = simulate(net, {"input": x})
    assert f.spikes["cubalif_1"].sum() > 100
    for name in ("cubalif_1", "cubalif_3"):
        assert np.mean(f.spikes[name] == q.spikes[name]) > 0.97


def test_graded_input_and_weights_share_a_state_bound_scale():
    """Where a state limit binds the target's scale, the integer input x_int and weight w_int
    have a fixed product at that scale: the input scale gives both the same resolution
    (docs/frontends.md), so wider inputs never take the weights' precision away."""
    float_net = real_valued_net()
    x = np.abs(np.random.default_rng(15).normal(0.3, 0.5, (20, 60, 8)))
    calibration = {"x": x[:, :20]}
    labels = np.argmax(simulate_float(float_net, {"x": x}).spikes["o"].sum(axis=0), axis=1)
    results = {}
    for bits in (8, 12, 16):
        # A large margin makes the membrane headroom bind, as a deep membrane does in practice.
        net, report = quantize(
            float_net, calibration=calibration, input_bits=bits, calibration_margin=100
        )
        layer, entry = report.layers["h"], report.inputs["x"]
        assert layer.scale_limit == "membrane headroom"
        w = {(p.source, p.target): p.weights for p in net.projections}[("x", "h")]
        largest_input = entry.scale * entry.max_abs_float
        largest_weight = np.abs(float_net.projections_to("h")[0].weight).max() * (
            float_net.discrete("h").gain.max()
        )
        product = largest_weight * layer.scale * entry.max_abs_float / 64
        # (S is then lowered slightly so that the single threshold is exact)
        assert largest_input == pytest.approx(math.sqrt(product), rel=0.01)
        assert largest_input < entry.high
        assert abs(int(np.abs(w).max()) - largest_input) <= 1
        assert (
            f"input group 'x': the calibration's largest |x| maps to {largest_input:.4g}, "
            f"not {entry.high}" in report.notes[0]
        )
        results[bits] = evaluate(float_net, net, x, labels, report=report).agreement
    assert results[8] == results[12] == results[16] > 0.9


# --- per-neuron scales -----------------------------------------------------------------------


def test_per_neuron_scales_are_each_neurons_own_quantization():
    """per_neuron_scale=True: each neuron of a spiking population is quantized exactly as the
    whole population would be at that neuron's scale (the integer oracle: quantize with the
    explicit common scale S_i, take neuron i), its scale is the largest its own weights,
    threshold and calibration peaks allow (never below the common scale), and a non-spiking
    readout keeps one scale."""
    rng = np.random.default_rng(5)
    thresholds = np.array([1.0, 0.8, 1.3, 0.9, 1.1])
    float_net = two_layer(
        hidden_model="CubaLIF",
        out_model="CubaLI",
        thr=thresholds,
        bias=rng.normal(0, 0.05, 5),
        seed=7,
    )
    x = counts(30, 16, 6, seed=8)
    common_net, common = quantize(float_net, calibration={"x": x})
    net, report = quantize(float_net, calibration={"x": x}, per_neuron_scale=True)
    layer = report.layers["h"]
    scales = layer.scales
    assert layer.neuron_scales == scales.tolist() and layer.scale == [scales.min(), scales.max()]
    params = net.populations["h"].params
    # At least the common scale, but for making the threshold exact (less than one step of it).
    assert np.all(scales >= common.layers["h"].scale * (1 - 1 / params.threshold))
    assert np.ptp(scales) > 0 and np.median(scales) > common.layers["h"].scale
    assert layer.scale_limit.startswith("per neuron: ")
    weights = {(p.source, p.target): p.weights for p in net.projections}
    for i, s in enumerate(scales):
        alone, _ = quantize(float_net, calibration={"x": x}, scale={"h": s})
        alone_params = alone.populations["h"].params
        alone_weights = {(p.source, p.target): p.weights for p in alone.projections}
        assert np.array_equal(weights["x", "h"][:, i], alone_weights["x", "h"][:, i])
        assert params.threshold[i] == np.asarray(alone_params.threshold).reshape(-1)[i]
        assert params.drive_bias[i] == np.asarray(alone_params.drive_bias).reshape(-1)[i]
    # Every threshold is exact at its neuron's scale.
    assert layer.threshold_max_relative_error == pytest.approx(0.0, abs=1e-12)
    # The readout's membranes are compared across neurons: one scale, the common one.
    assert report.layers["o"].neuron_scales is None
    assert report.layers["o"].scale == common.layers["o"].scale
    assert np.array_equal(
        weights["h", "o"],
        {(p.source, p.target): p.weights for p in common_net.projections}["h", "o"],
    )
    assert "per neuron" in report.table()
    assert json.dumps(report.to_dict())
    # The states stay within the headroom the calibration asked for.
    for state in layer.states.values():
        assert state.overflows == 0 and state.headroom_bits >= 1 - 0.05


def test_membrane_readout_of_a_spiking_output_is_divided_back():
    """A membrane readout of a spiking output with per-neuron scales compares the membranes in
    float units: evaluate divides each neuron's by its scale (the report says which)."""
    base = two_layer(seed=1, v_threshold=np.array([50.0, 60.0, 70.0]))
    # Output weights of very different sizes: very different per-neuron scales.
    float_net = FloatNetwork(
        inputs=list(base.inputs.values()),
        populations=list(base.populations.values()),
        projections=[
            FloatProjection(
                p.source,
                p.target,
                p.weight * (np.array([1.0, 0.25, 0.5]) if p.target == "o" else 1),
            )
            for p in base.projections
        ],
        outputs=["o"],
        dt=DT,
    )
    x = counts(20, 40, 6, seed=10)
    net, report = quantize(float_net, calibration={"x": x}, per_neuron_scale=True)
    labels = np.zeros(40, dtype=int)
    result = evaluate(float_net, net, x, labels, readout="membrane_last", report=report)
    v = simulate(net, {"x": x}, record=("spikes", "v")).v["o"][-1]
    scales = report.layers["o"].scales
    assert scales.max() > 2 * scales.min()
    expected = np.argmax(v / scales, axis=1)
    assert np.array_equal(result.fixed_predictions, expected)
    assert result.agreement >= 0.95
    assert len(set(result.float_predictions)) > 1
    assert np.mean(np.argmax(v, axis=1) == result.float_predictions) < 0.9  # undivided
