"""Quantization onto the Loihi CUBA preset: the chosen fields, the report, the integer network's
agreement with the float network, and every refusal with its exact message."""

import re

import nir
import numpy as np
import pytest

from neurohw.model import loihi_cuba_lif
from neurohw.network import Network, simulate
from neurohw.network.floatnet import (FloatInput, FloatNetwork, FloatPopulation,
                                      FloatProjection, simulate_float)
from neurohw.network.nir_import import SNNTORCH_DT, import_nir
from neurohw.network.quantize import QuantizationError, evaluate, quantize

DT = 1e-3


def two_layer(*, hidden_model="LIF", out_model="LIF", seed=0, thr=1.0, tau=8e-3, tau_syn=4e-3,
              bias=0.0, n_in=6, n_hidden=5, n_out=3, **out_kwargs):
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

    pops = [population("h", n_hidden, hidden_model, input_bias=bias),
            population("o", n_out, out_model, **out_kwargs)]
    projections = [FloatProjection("x", "h", rng.normal(0, 0.6, (n_in, n_hidden))),
                   FloatProjection("h", "o", rng.normal(0, 0.8, (n_hidden, n_out)))]
    return FloatNetwork(inputs=[FloatInput("x", n_in)], populations=pops,
                        projections=projections, outputs=["o"], dt=DT)


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
    assert h.params == loihi_cuba_lif(du=4095, dv=512, vth=layer.threshold_mantissa[0],
                                      bias_mant=h.params.bias_mantissa,
                                      bias_exp=layer.bias_exponent)
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
    assert all(p.max_abs_int <= 7 for layer in report.layers.values()
               for p in layer.projections)


def test_cubalif_decays_and_membrane_track_the_float_model():
    """Thresholds out of reach: the integer membrane divided by the scale follows the float
    membrane (a CubaLIF and a CubaLI population, both fed by the input)."""
    rng = np.random.default_rng(2)
    common = dict(tau_mem=8e-3, r=8.0, tau_syn=4e-3, w_in=4.0, v_leak=0.02)
    float_net = FloatNetwork(
        inputs=[FloatInput("x", 6)],
        populations=[FloatPopulation("h", 5, "CubaLIF", v_threshold=1e3, **common),
                     FloatPopulation("o", 3, "CubaLI", **common)],
        projections=[FloatProjection("x", "h", rng.normal(0, 0.6, (6, 5))),
                     FloatProjection("x", "o", rng.normal(0, 0.6, (6, 3)))],
        outputs=["o"], dt=DT)
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
    pops = [FloatPopulation(p.name, p.size, p.model, tau_mem=p.tau_mem, r=p.r,
                            v_threshold=p.v_threshold, reset="subtract")
            for p in float_net.populations.values()]
    float_net = FloatNetwork(inputs=float_net.inputs.values(), populations=pops,
                             projections=float_net.projections, outputs=["o"], dt=DT)
    net, report = quantize(float_net)
    assert net.populations["h"].params.reset.value == "subtract"


def test_snntorch_graph_quantizes():
    """A graph as snnTorch writes it (scalar parameters, dt = 1e-4) goes through."""
    dt = SNNTORCH_DT
    beta = np.float32(0.875)
    tau = np.asarray(dt / (1 - beta))

    def leaky():
        return nir.LIF(tau=tau, v_threshold=np.asarray(np.float32(1.0)),
                       v_leak=np.zeros_like(tau), r=tau / dt)

    rng = np.random.default_rng(6)
    nodes = {"input": nir.Input(input_type=np.array([1, 6])),
             "0": nir.Affine(weight=rng.normal(size=(4, 6)).astype(np.float32),
                             bias=np.zeros(4, dtype=np.float32)),
             "1": leaky(), "2": nir.Linear(weight=rng.normal(size=(3, 4)).astype(np.float32)),
             "3": leaky(), "output": nir.Output(output_type=np.array([1, 3]))}
    edges = [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    float_net = import_nir(nir.NIRGraph(nodes=nodes, edges=edges, type_check=False), dt=dt)
    net, report = quantize(float_net)
    assert report.layers["lif_1"].dv == 512
    x = counts(20, 8, 6, seed=7)
    assert np.mean(simulate_float(float_net, {"input": x}).spikes["lif_1"]
                   == simulate(net, {"input": x}).spikes["lif_1"]) > 0.98


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
    with pytest.raises(QuantizationError, match=re.escape(
            "population 'o' (LIF): v_reset=-0.5; the Loihi neuron resets to 0 (supported: "
            "v_reset=0)")):
        quantize(two_layer(v_reset=-0.5))


def test_refuses_negative_threshold():
    with pytest.raises(QuantizationError, match=re.escape(
            "population 'o' (LIF): v_threshold=-1 is negative; the Loihi threshold vth is "
            "unsigned (supported: v_threshold >= 0)")):
        quantize(two_layer(v_threshold=-1.0))


def test_refuses_threshold_out_of_range():
    with pytest.raises(QuantizationError, match=re.escape(
            "population 'h' (LIF): v_threshold=1 at scale 1e+08 needs vth=1562500, outside the "
            "Loihi range [0, 131071]")):
        quantize(two_layer(), scale={"h": 1e8})


def test_refuses_bias_out_of_range():
    with pytest.raises(QuantizationError, match=re.escape(
            "population 'h' (LIF): bias=0.5 at scale 2e+06 needs bias_mant << bias_exp = "
            "1000000, outside the Loihi range [-4095 << 7, 4095 << 7]")):
        quantize(two_layer(bias=0.5, thr=0.01), scale={"h": 2e6})


@pytest.mark.parametrize("kwargs,message", [
    ({"model": "xylo"}, "model must be one of 'loihi', 'if' (IF populations only), not 'xylo'"),
    ({"weight_width": 1}, "weight_width must be an integer between 2 and 16, not 1"),
    ({"weight_width": 8.0}, "weight_width must be an integer between 2 and 16, not 8.0"),
    ({"weight_percentile": 0}, "weight_percentile must be in (0, 100], not 0"),
    ({"scale": {"nope": 1.0}}, "scale names unknown population(s) ['nope']"),
    ({"scale": {"h": -1.0}}, "population 'h' (LIF): scale must be a positive number, not -1.0"),
])
def test_refuses_bad_arguments(kwargs, message):
    with pytest.raises(QuantizationError, match=re.escape(message)):
        quantize(two_layer(), **kwargs)


def test_input_counts_and_a_conv_network():
    """Input counts up to 3 per step; Conv2d -> IF -> SumPool2d -> Linear -> LIF, quantized."""
    rng = np.random.default_rng(10)
    conv = nir.Conv2d(input_shape=(4, 4), weight=rng.normal(0, 0.5, size=(2, 1, 3, 3)),
                      stride=1, padding=1, dilation=1, groups=1, bias=np.zeros(2))
    nodes = {"inp": nir.Input(input_type=np.array([1, 4, 4])), "conv": conv,
             "if1": nir.IF(r=np.full((2, 4, 4), 1000.0), v_threshold=np.full((2, 4, 4), 1.0),
                           v_reset=np.zeros((2, 4, 4))),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                                   padding=np.array([0, 0])),
             "flat": nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
             "fc": nir.Linear(weight=rng.normal(0, 0.5, size=(3, 8))),
             "lif": nir.LIF(tau=np.full(3, 4e-3), r=np.full(3, 4.0), v_leak=np.zeros(3),
                            v_threshold=np.full(3, 0.5), v_reset=np.zeros(3)),
             "out": nir.Output(output_type=np.array([3]))}
    order = list(nodes)
    float_net = import_nir(nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])),
                                        type_check=False), dt=DT, input_max_count=3)
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
