"""NIR import: one hand-built graph per supported node type (checked against the node's own
equation, discretized with forward Euler), the exporters' conventions (snnTorch, Norse), nested
and recurrent graphs, and every refusal with its exact message."""

import re

import nir
import numpy as np
import pytest

from neurohw.network.floatnet import FloatNetworkError, simulate_float
from neurohw.network.nir_import import SNNTORCH_DT, NIRImportError, import_nir

DT = 1e-3


def graph(nodes, edges, **kwargs):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False, **kwargs)


def chain(*layers, in_shape, out_shape=(1,)):
    """Input -> layers... -> Output, named l0, l1, ... (the Output's shape only matters to
    nir's own type check when a file is read back)."""
    nodes = {"inp": nir.Input(input_type=np.array(in_shape))}
    names = ["inp"]
    for k, layer in enumerate(layers):
        nodes[f"l{k}"] = layer
        names.append(f"l{k}")
    nodes["out"] = nir.Output(output_type=np.array(out_shape))
    names.append("out")
    return graph(nodes, list(zip(names[:-1], names[1:])))


def spikes(steps, batch, size, seed=0, p=0.4):
    return (np.random.default_rng(seed).random((steps, batch, size)) < p).astype(np.int64)


def lif(size, tau=5e-3, r=1.0, v_leak=0.0, thr=0.5, v_reset=0.0):
    full = lambda x: np.full(size, x, dtype=np.float64)  # noqa: E731
    return nir.LIF(
        tau=full(tau), r=full(r), v_leak=full(v_leak), v_threshold=full(thr), v_reset=full(v_reset)
    )


# --- one graph per node type, against the NIR equations ----------------------------------------


def euler_lif(x_drive, tau, r, v_leak, thr, v_reset, dt=DT):
    """tau dv/dt = (v_leak - v) + r I, forward Euler; spike v > thr, then v = v_reset."""
    v = np.zeros(x_drive.shape[1:])
    out = np.zeros(x_drive.shape)
    for t in range(x_drive.shape[0]):
        v = v + dt / tau * ((v_leak - v) + r * x_drive[t])
        s = v > thr
        out[t] = s
        v = np.where(s, v_reset, v)
    return out


def test_linear_lif():
    w = np.array([[1.0, -0.5, 2.0], [0.3, 0.7, -1.0]])  # (out, in)
    g = chain(
        nir.Linear(weight=w),
        lif(2, tau=4e-3, r=2.0, v_leak=0.1, thr=0.3, v_reset=-0.2),
        in_shape=[3],
    )
    net = import_nir(g, dt=DT)
    x = spikes(12, 4, 3)
    got = simulate_float(net, {"inp": x}).spikes["l1"]
    want = euler_lif(x @ w.T, 4e-3, 2.0, 0.1, 0.3, -0.2)
    assert np.array_equal(got, want)
    assert net.outputs == ("l1",)
    assert net.populations["l1"].origin == "NIR node 'l1' (LIF)"


def test_affine_bias_is_a_constant_drive():
    w = np.array([[0.4, 0.2], [-0.3, 0.9]])
    b = np.array([0.05, -0.02])
    g = chain(nir.Affine(weight=w, bias=b), lif(2, thr=0.2), in_shape=[2])
    net = import_nir(g, dt=DT)
    x = spikes(15, 3, 2, seed=1)
    got = simulate_float(net, {"inp": x}).spikes["l1"]
    assert np.array_equal(got, euler_lif(x @ w.T + b, 5e-3, 1.0, 0.0, 0.2, 0.0))


def test_cubalif_and_cubali():
    w = np.array([[1.0, 0.5], [-0.4, 1.2]])
    tau_syn, tau_mem, r, w_in, thr = 2e-3, 5e-3, 3.0, 1.5, 0.2
    cuba = nir.CubaLIF(
        tau_syn=np.full(2, tau_syn),
        tau_mem=np.full(2, tau_mem),
        r=np.full(2, r),
        v_leak=np.zeros(2),
        v_threshold=np.full(2, thr),
        w_in=np.full(2, w_in),
    )
    x = spikes(20, 2, 2, seed=2)
    net = import_nir(chain(nir.Linear(weight=w), cuba, in_shape=[2]), dt=DT)
    trace = simulate_float(net, {"inp": x}, record=("spikes", "v"))
    # tau_syn dI/dt = -I + w_in S; tau_mem dv/dt = (v_leak - v) + r I (new I used), Euler.
    i = np.zeros((2, 2))
    v = np.zeros((2, 2))
    for t in range(20):
        i = i + DT / tau_syn * (-i + w_in * (x[t] @ w.T))
        v = v + DT / tau_mem * (-v + r * i)
        s = v > thr
        assert np.array_equal(trace.spikes["l1"][t], s)
        v = np.where(s, 0.0, v)
        assert np.allclose(trace.v["l1"][t], v, atol=1e-12)

    li = nir.CubaLI(
        tau_syn=np.full(2, tau_syn),
        tau_mem=np.full(2, tau_mem),
        r=np.full(2, r),
        v_leak=np.full(2, 0.1),
        w_in=np.full(2, w_in),
    )
    net = import_nir(chain(nir.Linear(weight=w), li, in_shape=[2]), dt=DT)
    trace = simulate_float(net, {"inp": x}, record=("spikes", "v"))
    i = np.zeros((2, 2))
    v = np.zeros((2, 2))
    for t in range(20):
        i = i + DT / tau_syn * (-i + w_in * (x[t] @ w.T))
        v = v + DT / tau_mem * ((0.1 - v) + r * i)
        assert np.allclose(trace.v["l1"][t], v, atol=1e-12)
    assert not trace.spikes["l1"].any()
    assert not net.populations["l1"].spiking


def test_if_and_li():
    w = np.array([[2.0, 1.0]])
    node = nir.IF(r=np.array([300.0]), v_threshold=np.array([0.5]), v_reset=np.array([0.0]))
    x = spikes(10, 2, 2, seed=3)
    net = import_nir(chain(nir.Linear(weight=w), node, in_shape=[2]), dt=DT)
    got = simulate_float(net, {"inp": x}).spikes["l1"]
    v = np.zeros((2, 1))
    for t in range(10):  # dv/dt = r I
        v = v + DT * 300.0 * (x[t] @ w.T)
        s = v > 0.5
        assert np.array_equal(got[t], s)
        v = np.where(s, 0.0, v)

    li = nir.LI(tau=np.array([4e-3]), r=np.array([2.0]), v_leak=np.array([-0.1]))
    net = import_nir(chain(nir.Linear(weight=w), li, in_shape=[2]), dt=DT)
    got = simulate_float(net, {"inp": x}, record=("spikes", "v")).v["l1"]
    v = np.zeros((2, 1))
    for t in range(10):
        v = v + DT / 4e-3 * ((-0.1 - v) + 2.0 * (x[t] @ w.T))
        assert np.allclose(got[t], v, atol=1e-12)


def test_scale_and_flatten():
    scale = np.array([1.0, -2.0, 0.5, 3.0])
    w = np.arange(8, dtype=float).reshape(2, 4) / 10
    nodes = {
        "inp": nir.Input(input_type=np.array([1, 2, 2])),
        "flat": nir.Flatten(input_type=None, start_dim=0, end_dim=-1),
        "scale": nir.Scale(scale=scale),
        "fc": nir.Linear(weight=w),
        "lif": lif(2, thr=0.1),
        "out": nir.Output(output_type=np.array([2])),
    }
    g = graph(
        nodes, [("inp", "flat"), ("flat", "scale"), ("scale", "fc"), ("fc", "lif"), ("lif", "out")]
    )
    net = import_nir(g, dt=DT)
    (projection,) = net.projections
    assert projection.source == "inp" and projection.target == "lif"
    assert np.allclose(projection.weight, (w * scale).T)
    assert net.inputs["inp"].size == 4


def naive_conv(x, w, bias, stride, padding, dilation, groups):
    c_in, h, wd = x.shape
    c_out, cpg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (padding[0], padding[0]), (padding[1], padding[1])))
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((c_out, oh, ow))
    for co in range(c_out):
        g = co // (c_out // groups)
        for k in range(cpg):
            for y in range(oh):
                for z in range(ow):
                    for a in range(kh):
                        for b in range(kw):
                            out[co, y, z] += (
                                w[co, k, a, b]
                                * xp[
                                    g * cpg + k,
                                    y * stride[0] + a * dilation[0],
                                    z * stride[1] + b * dilation[1],
                                ]
                            )
        out[co] += bias[co]
    return out


@pytest.mark.parametrize(
    "stride,padding,dilation,groups",
    [(1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (1, 0), 1, 2), (1, 1, 2, 1)],
)
def test_conv2d_lowered_to_a_zero_filled_projection(stride, padding, dilation, groups):
    rng = np.random.default_rng(4)
    c_in, c_out, h, wd = 2, 4, 6, 5
    w = rng.normal(size=(c_out, c_in // groups, 3, 3))
    bias = rng.normal(size=c_out)
    conv = nir.Conv2d(
        input_shape=None,
        weight=w,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bias,
    )
    size_of = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    x = rng.normal(size=(c_in, h, wd))
    want = naive_conv(x, w, bias, size_of(stride), size_of(padding), size_of(dilation), groups)
    n_out = want.size
    li = nir.LI(tau=np.full(n_out, 1e-3), r=np.ones(n_out), v_leak=np.zeros(n_out))
    net = import_nir(chain(conv, li, in_shape=[c_in, h, wd]), dt=DT)
    (projection,) = net.projections
    pop = net.populations["l1"]
    assert np.allclose(x.reshape(-1) @ projection.weight + pop.input_bias, want.reshape(-1))
    assert np.count_nonzero(projection.weight) < projection.weight.size  # zero-filled


def test_conv2d_same_padding():
    rng = np.random.default_rng(5)
    w = rng.normal(size=(1, 1, 3, 3))
    conv = nir.Conv2d(
        input_shape=(4, 4),
        weight=w,
        stride=1,
        padding="same",
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    li = nir.LI(tau=np.full(16, 1e-3), r=np.ones(16), v_leak=np.zeros(16))
    net = import_nir(chain(conv, li, in_shape=[1, 4, 4]), dt=DT)
    x = rng.normal(size=(1, 4, 4))
    want = naive_conv(x, w, np.zeros(1), (1, 1), (1, 1), (1, 1), 1)
    assert np.allclose(x.reshape(-1) @ net.projections[0].weight, want.reshape(-1))


@pytest.mark.parametrize("kind", ["SumPool2d", "AvgPool2d"])
def test_pooling(kind):
    x = np.arange(2 * 4 * 6, dtype=float).reshape(2, 4, 6)
    pool = getattr(nir, kind)(
        kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
    )
    li = nir.LI(tau=np.full(12, 1e-3), r=np.ones(12), v_leak=np.zeros(12))
    net = import_nir(chain(pool, li, in_shape=[2, 4, 6]), dt=DT)
    want = x.reshape(2, 2, 2, 3, 2).sum(axis=(2, 4))
    if kind == "AvgPool2d":
        want = want / 4
    assert np.allclose(x.reshape(-1) @ net.projections[0].weight, want.reshape(-1))


def test_conv_network_runs():
    """Input (1, 4, 4) -> Conv2d -> IF -> SumPool2d -> Flatten -> Linear -> LIF -> Output."""
    rng = np.random.default_rng(6)
    conv = nir.Conv2d(
        input_shape=(4, 4),
        weight=rng.normal(size=(2, 1, 3, 3)),
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
        "fc": nir.Linear(weight=rng.normal(size=(3, 8))),
        "lif": lif(3),
        "out": nir.Output(output_type=np.array([3])),
    }
    order = list(nodes)
    net = import_nir(graph(nodes, list(zip(order[:-1], order[1:]))), dt=DT)
    assert {p.source + ">" + p.target for p in net.projections} == {"inp>if1", "if1>lif"}
    assert net.projections[1].weight.shape == (32, 3)
    trace = simulate_float(net, {"inp": spikes(8, 2, 16, seed=7)})
    assert trace.spikes["if1"].any()


def test_fan_in_edges_add_and_recurrence_takes_one_step():
    """Two Linear nodes into one LIF add up; a LIF -> Linear -> LIF cycle is a recurrent
    projection whose spikes arrive one step later."""
    w_in = np.array([[1.0, 0.0], [0.0, 1.0]])
    w_extra = np.array([[0.5, 0.0], [0.0, 0.0]])
    w_rec = np.array([[0.0, 0.6], [0.6, 0.0]])
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "a": nir.Linear(weight=w_in),
        "b": nir.Linear(weight=w_extra),
        "lif": lif(2, tau=1e-3, thr=0.55),
        "rec": nir.Linear(weight=w_rec),
        "out": nir.Output(output_type=np.array([2])),
    }
    edges = [
        ("inp", "a"),
        ("inp", "b"),
        ("a", "lif"),
        ("b", "lif"),
        ("lif", "rec"),
        ("rec", "lif"),
        ("lif", "out"),
    ]
    net = import_nir(graph(nodes, edges), dt=DT)
    weights = {(p.source, p.target): p.weight for p in net.projections}
    assert np.allclose(weights[("inp", "lif")], (w_in + w_extra).T)
    assert np.allclose(weights[("lif", "lif")], w_rec.T)
    x = np.zeros((4, 1, 2), dtype=np.int64)
    x[0, 0, 0] = 1
    got = simulate_float(net, {"inp": x}).spikes["lif"][:, 0]
    # tau = dt: v = input exactly. Step 0: neuron 0 gets 1.5 -> spikes; step 1: neuron 1 gets
    # 0.6 from the recurrent edge -> spikes; step 2: neuron 0 gets 0.6 -> spikes ...
    assert got.tolist() == [[1, 0], [0, 1], [1, 0], [0, 1]]


def test_nested_graph_is_inlined():
    """snnTorch's RSynaptic export: a nested graph with a CubaLIF and a recurrent Linear."""
    n = 3
    sub = graph(
        {
            "input": nir.Input(input_type=np.array([n])),
            "lif": nir.CubaLIF(
                tau_syn=np.full(n, 2e-3),
                tau_mem=np.full(n, 4e-3),
                r=np.full(n, 4.0),
                v_leak=np.zeros(n),
                v_threshold=np.full(n, 0.5),
                w_in=np.full(n, 2.0),
            ),
            "w_rec": nir.Linear(weight=np.eye(n) * 0.2),
            "output": nir.Output(output_type=np.array([n])),
        },
        [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    nodes = {
        "input": nir.Input(input_type=np.array([2])),
        "fc": nir.Linear(weight=np.ones((n, 2))),
        "rsyn": sub,
        "output": nir.Output(output_type=np.array([n])),
    }
    net = import_nir(graph(nodes, [("input", "fc"), ("fc", "rsyn"), ("rsyn", "output")]), dt=DT)
    assert list(net.populations) == ["rsyn_lif"]
    assert net.outputs == ("rsyn_lif",)
    assert {(p.source, p.target) for p in net.projections} == {
        ("input", "rsyn_lif"),
        ("rsyn_lif", "rsyn_lif"),
    }


def test_file_round_trip(tmp_path):
    w = np.array([[1.0, -0.5], [0.3, 0.7]])
    g = chain(nir.Affine(weight=w, bias=np.array([0.1, 0.0])), lif(2), in_shape=[2], out_shape=[2])
    nir.write(tmp_path / "g.nir", g)
    a = import_nir(g, dt=DT)
    b = import_nir(tmp_path / "g.nir", dt=DT)
    x = spikes(10, 2, 2, seed=8)
    assert np.array_equal(
        simulate_float(a, {"inp": x}).spikes["l1"], simulate_float(b, {"inp": x}).spikes["l1"]
    )


def test_exact_discretization():
    g = chain(
        nir.Linear(weight=np.eye(1)),
        nir.LI(tau=np.array([2e-3]), r=np.array([1.0]), v_leak=np.zeros(1)),
        in_shape=[1],
    )
    net = import_nir(g, dt=DT, discretization="exact")
    c = net.discrete("l1")
    assert np.isclose(c.keep_mem[0], np.exp(-0.5))
    assert np.isclose(c.gain[0], 1 - np.exp(-0.5))


# --- exporter conventions --------------------------------------------------------------------


def snntorch_leaky(beta, threshold=1.0, per_neuron=None):
    """What snntorch.export_nir._extract_snntorch_module writes for snn.Leaky (snnTorch 0.9):
    dt = 1e-4, tau = dt / (1 - beta), r = tau / dt, v_leak = 0, v_reset left to NIR's default
    (zeros); parameters are float32 arrays shaped like beta (0-d for a scalar beta)."""
    dt = 1e-4
    beta = np.asarray(beta, dtype=np.float32)
    if per_neuron is not None:
        beta = np.full(per_neuron, beta, dtype=np.float32)
    vthr = np.full(beta.shape, threshold, dtype=np.float32)
    tau = dt / (1 - beta)
    return nir.LIF(tau=tau, v_threshold=vthr, v_leak=np.zeros_like(beta), r=tau / dt)


def snntorch_graph(w1, b1, w2, beta, per_neuron=False):
    """The graph export_to_nir (via nirtorch) writes for
    Sequential(Linear(4, 3), Leaky(beta), Linear(3, 2, bias=False), Leaky(beta, output=True)):
    nodes named after the Sequential indices, an Input shaped like the sample data (with its
    batch dimension of 1)."""
    nodes = {
        "input": nir.Input(input_type=np.array([1, w1.shape[1]])),
        "0": nir.Affine(weight=w1.astype(np.float32), bias=b1.astype(np.float32)),
        "1": snntorch_leaky(beta, per_neuron=w1.shape[0] if per_neuron else None),
        "2": nir.Linear(weight=w2.astype(np.float32)),
        "3": snntorch_leaky(beta, per_neuron=w2.shape[0] if per_neuron else None),
        "output": nir.Output(output_type=np.array([1, w2.shape[0]])),
    }
    edges = [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    return graph(nodes, edges)


def snntorch_reference(x, w1, b1, w2, beta, reset):
    """snn.Leaky with reset_delay=False: mem = beta * mem + input; spk = mem > thr; then
    mem -= spk * thr (subtract) or mem = 0 where spk (zero). Layer 2 sees layer 1's spikes of the
    previous step (the integer network's delivery delay)."""

    def layer(drive):
        mem = np.zeros(drive.shape[1:])
        out = np.zeros(drive.shape)
        for t in range(drive.shape[0]):
            mem = beta * mem + drive[t]
            spk = mem > 1.0
            out[t] = spk
            mem = mem - spk * 1.0 if reset == "subtract" else np.where(spk, 0.0, mem)
        return out

    s1 = layer(x @ w1.T + b1)
    s1_delayed = np.concatenate([np.zeros_like(s1[:1]), s1[:-1]])
    return s1, layer(s1_delayed @ w2.T)


@pytest.mark.parametrize("reset", ["subtract", "value"])
def test_snntorch_export_conventions(reset):
    rng = np.random.default_rng(9)
    w1, b1, w2 = rng.normal(size=(3, 4)), rng.normal(size=3) * 0.1, rng.normal(size=(2, 3))
    # Weights exactly representable in float32, so the float32 export loses nothing.
    w1, b1, w2 = (a.astype(np.float32).astype(np.float64) for a in (w1, b1, w2))
    beta = 0.75  # exact in float32 as well
    net = import_nir(snntorch_graph(w1, b1, w2, beta), dt=SNNTORCH_DT, reset=reset)
    assert list(net.populations) == ["lif_1", "lif_3"]  # "1", "3" are not valid names
    assert net.nir_names == {"input": "input", "lif_1": "1", "lif_3": "3"}
    c = net.discrete("lif_1")
    assert np.allclose(c.keep_mem, beta, atol=1e-7) and np.allclose(c.gain, 1.0, atol=1e-6)
    x = spikes(30, 5, 4, seed=10, p=0.5)
    trace = simulate_float(net, {"input": x})
    s1, s2 = snntorch_reference(x, w1, b1, w2, beta, reset)
    assert np.array_equal(trace.spikes["lif_1"], s1)
    assert np.array_equal(trace.spikes["lif_3"], s2)


def test_snntorch_file_with_per_neuron_beta(tmp_path):
    """nir 1.0.8 cannot write 0-d parameters to a file (h5py refuses compressed scalars), so an
    snnTorch file carries beta per neuron; the import is the same."""
    rng = np.random.default_rng(11)
    w1, b1, w2 = rng.normal(size=(3, 4)), np.zeros(3), rng.normal(size=(2, 3))
    nir.write(tmp_path / "snn.nir", snntorch_graph(w1, b1, w2, 0.875, per_neuron=True))
    net = import_nir(tmp_path / "snn.nir", dt=SNNTORCH_DT)
    assert net.populations["lif_1"].size == 3
    assert np.allclose(net.discrete("lif_3").keep_mem, 0.875)


def test_snntorch_graph_with_wrong_dt_is_refused():
    g = snntorch_graph(np.ones((3, 4)), np.zeros(3), np.ones((2, 3)), 0.8)
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node '1' (LIF): tau=0.0005 is shorter than dt=0.001: forward Euler needs "
            "dt/tau <= 1. Check dt (snnTorch exports assume dt=0.0001, Norse dt=0.001) or use "
            "discretization='exact'"
        ),
    ):
        import_nir(g, dt=1e-3)


def test_norse_conventions():
    """Norse's LIFBoxCell exports nir.LIF(tau=1/tau_mem_inv, r=1, v_leak, v_threshold, v_reset);
    its step is v += dt * tau_mem_inv * ((v_leak - v) + input), Euler with r = 1."""
    tau_mem_inv, v_leak, v_th, v_reset = 100.0, 0.0, 0.3, 0.0
    w = np.array([[2.0, 1.0, -1.0]])
    node = nir.LIF(
        tau=np.array([1 / tau_mem_inv]),
        r=np.ones(1),
        v_leak=np.array([v_leak]),
        v_threshold=np.array([v_th]),
        v_reset=np.array([v_reset]),
    )
    net = import_nir(chain(nir.Linear(weight=w), node, in_shape=[3]), dt=1e-3)
    x = spikes(40, 3, 3, seed=12, p=0.7)
    got = simulate_float(net, {"inp": x}).spikes["l1"]
    v = np.zeros((3, 1))
    for t in range(40):
        v = v + 1e-3 * tau_mem_inv * ((v_leak - v) + x[t] @ w.T)
        z = v > v_th
        assert np.array_equal(got[t], z)
        v = np.where(z, v_reset, v)


# --- refusals ----------------------------------------------------------------------------------


def simple(neuron=None, dt_meta=None):
    neuron = neuron if neuron is not None else lif(2)
    kwargs = {"metadata": {"dt": dt_meta}} if dt_meta is not None else {}
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "fc": nir.Linear(weight=np.eye(2)),
        "n": neuron,
        "out": nir.Output(output_type=np.array([2])),
    }
    return graph(nodes, [("inp", "fc"), ("fc", "n"), ("n", "out")], **kwargs)


@pytest.mark.parametrize(
    "dt,shown",
    [(0, "0"), (-1e-3, "-0.001"), (float("nan"), "nan"), ("1e-3", "'1e-3'"), (True, "True")],
)
def test_bad_dt(dt, shown):
    with pytest.raises(
        NIRImportError,
        match=re.escape(f"dt must be a positive, finite time step in seconds, not {shown}"),
    ):
        import_nir(simple(), dt=dt)


def test_dt_is_required():
    message = (
        "dt is required for exporter='nir': NIR fixes no time step; pass the dt the "
        "model was trained with"
    )
    with pytest.raises(NIRImportError, match=re.escape(message)):
        import_nir(simple())
    with pytest.raises(NIRImportError, match=re.escape(message)):
        import_nir(simple(), dt=None)


def test_dt_disagreeing_with_metadata():
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "dt=0.0001 disagrees with the graph's metadata dt=0.001; pass dt=0.001 (or "
            "check_metadata_dt=False)"
        ),
    ):
        import_nir(simple(dt_meta=1e-3), dt=1e-4)
    import_nir(simple(dt_meta=1e-3), dt=1e-4, check_metadata_dt=False)


def test_bad_discretization_and_reset():
    with pytest.raises(
        NIRImportError, match=re.escape("discretization must be one of 'euler', 'exact', not 'rk4'")
    ):
        import_nir(simple(), dt=DT, discretization="rk4")
    with pytest.raises(
        NIRImportError, match=re.escape("reset must be one of 'value', 'subtract', not 'zero'")
    ):
        import_nir(simple(), dt=DT, reset="zero")


def test_not_a_graph():
    with pytest.raises(
        NIRImportError, match=re.escape("expected a nir.NIRGraph or a path to a NIR file, not LIF")
    ):
        import_nir(lif(2), dt=DT)


SUPPORTED = (
    "Input, Output, Affine, Linear, Scale, Flatten, Conv2d, SumPool2d, AvgPool2d, LIF, "
    "CubaLIF, IF, LI, CubaLI, NIRGraph"
)


@pytest.mark.parametrize(
    "node,kind",
    [
        (nir.Threshold(threshold=np.ones(2)), "Threshold"),
        (nir.Delay(delay=np.ones(2)), "Delay"),
        (nir.I(r=np.ones(2)), "I"),
    ],
)
def test_unsupported_node(node, kind):
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            f"NIR node 'n' ({kind}): node type {kind} is not supported; supported: {SUPPORTED}"
        ),
    ):
        import_nir(simple(node), dt=DT)


def test_conv1d_unsupported():
    conv = nir.Conv1d(
        input_shape=None,
        weight=np.ones((1, 1, 2)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    with pytest.raises(
        NIRImportError, match=re.escape("NIR node 'l0' (Conv1d): node type Conv1d is not supported")
    ):
        import_nir(chain(conv, lif(3), in_shape=[1, 4]), dt=DT)


def test_per_neuron_v_reset_refused():
    node = nir.LIF(
        tau=np.full(2, 5e-3),
        r=np.ones(2),
        v_leak=np.zeros(2),
        v_threshold=np.ones(2),
        v_reset=np.array([0.0, -0.5]),
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'n' (LIF): v_reset has different values per neuron (values from -0.5 to "
            "0); supported: one v_reset shared by the population"
        ),
    ):
        import_nir(simple(node), dt=DT)


def test_nonpositive_tau_refused():
    node = nir.CubaLIF(
        tau_syn=np.array([2e-3, 0.0]),
        tau_mem=np.full(2, 5e-3),
        r=np.ones(2),
        v_leak=np.zeros(2),
        v_threshold=np.ones(2),
    )
    with pytest.raises(
        NIRImportError, match=re.escape("NIR node 'n' (CubaLIF): tau_syn must be positive, not 0")
    ):
        import_nir(simple(node), dt=DT)


def test_non_finite_parameter_refused():
    node = lif(2)
    node.v_threshold = np.array([1.0, np.inf])
    with pytest.raises(
        NIRImportError,
        match=re.escape("NIR node 'n' (LIF): v_threshold must be finite, not [1.0, inf]"),
    ):
        import_nir(simple(node), dt=DT)


def test_size_mismatch_refused():
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'n' (LIF): has 3 neurons but the edge from 'fc' carries 2 values"
        ),
    ):
        import_nir(simple(lif(3)), dt=DT)


def test_affine_weight_not_2d_refused():
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Affine): weight has shape (2, 2, 2); supported: 2-D (out, in)"
        ),
    ):
        import_nir(
            chain(nir.Affine(weight=np.ones((2, 2, 2)), bias=np.zeros(2)), lif(2), in_shape=[2]),
            dt=DT,
        )


def test_affine_input_size_mismatch_refused():
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Linear): weight expects 3 inputs, but the incoming shape is (2,) "
            "(2 values)"
        ),
    ):
        import_nir(chain(nir.Linear(weight=np.ones((2, 3))), lif(2), in_shape=[2]), dt=DT)


def test_conv_same_padding_with_stride_refused():
    conv = nir.Conv2d(
        input_shape=None,
        weight=np.ones((1, 1, 3, 3)),
        stride=2,
        padding="same",
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Conv2d): padding='same' with stride=(2, 2) is not supported; "
            "supported: padding='same' with stride 1, or integer padding"
        ),
    ):
        import_nir(chain(conv, lif(16), in_shape=[1, 4, 4]), dt=DT)


def test_conv_bad_stride_and_groups_refused():
    conv = nir.Conv2d(
        input_shape=None,
        weight=np.ones((1, 1, 3, 3)),
        stride=0,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Conv2d): stride=(0, 0) is not supported; supported: integers >= 1"
        ),
    ):
        import_nir(chain(conv, lif(4), in_shape=[1, 4, 4]), dt=DT)
    conv = nir.Conv2d(
        input_shape=None,
        weight=np.ones((3, 1, 3, 3)),
        stride=1,
        padding=0,
        dilation=1,
        groups=2,
        bias=np.zeros(3),
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Conv2d): groups=2 does not fit C_in=2, C_out=3 and weight shape "
            "(3, 1, 3, 3); supported: groups dividing both with C_in/groups = weight.shape[1]"
        ),
    ):
        import_nir(chain(conv, lif(12), in_shape=[2, 4, 4]), dt=DT)


def test_conv_input_shape_disagreement_refused():
    conv = nir.Conv2d(
        input_shape=(5, 5),
        weight=np.ones((1, 1, 3, 3)),
        stride=1,
        padding=0,
        dilation=1,
        groups=1,
        bias=np.zeros(1),
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (Conv2d): input_shape=(5, 5) disagrees with the incoming shape (1, 4, 4)"
        ),
    ):
        import_nir(chain(conv, lif(4), in_shape=[1, 4, 4]), dt=DT)


def test_pool_padding_refused():
    pool = nir.SumPool2d(
        kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([2, 0])
    )
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'l0' (SumPool2d): padding=(2, 0) is not supported with kernel_size=(2, 2); "
            "supported: padding at most half the kernel size"
        ),
    ):
        import_nir(chain(pool, lif(4), in_shape=[1, 4, 4]), dt=DT)


def test_algebraic_loop_refused():
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "a": nir.Linear(weight=np.eye(2)),
        "b": nir.Linear(weight=np.eye(2)),
        "n": lif(2),
        "out": nir.Output(output_type=np.array([2])),
    }
    edges = [("inp", "a"), ("a", "b"), ("b", "a"), ("b", "n"), ("n", "out")]
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "(Linear): the node lies on a cycle of linear nodes (an algebraic loop); supported: "
            "cycles that pass through a neuron population"
        ),
    ):
        import_nir(graph(nodes, edges), dt=DT)


def test_output_after_linear_refused():
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "n": lif(2),
        "fc": nir.Linear(weight=2 * np.eye(2)),
        "out": nir.Output(output_type=np.array([2])),
    }
    edges = [("inp", "n"), ("n", "fc"), ("fc", "out")]
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'out' (Output): receives a transformed signal from 'n' (LIF); supported: "
            "Output nodes fed directly by neuron populations (add an LI readout layer after a "
            "linear layer)"
        ),
    ):
        import_nir(graph(nodes, edges), dt=DT)


def test_output_from_input_refused():
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "n": lif(2),
        "out": nir.Output(output_type=np.array([2])),
    }
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'out' (Output): receives a transformed signal from 'inp' (Input)"
        ),
    ):
        import_nir(graph(nodes, [("inp", "n"), ("inp", "out")]), dt=DT)


def test_no_output_refused():
    nodes = {"inp": nir.Input(input_type=np.array([2])), "n": lif(2)}
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "the graph has no Output node fed by a neuron population; supported: at least one "
            "Output node after LIF, CubaLIF, IF, LI or CubaLI"
        ),
    ):
        import_nir(graph(nodes, [("inp", "n")]), dt=DT)


def test_nested_graph_without_single_input_refused():
    sub = graph(
        {"lif": lif(2), "output": nir.Output(output_type=np.array([2]))}, [("lif", "output")]
    )
    nodes = {
        "inp": nir.Input(input_type=np.array([2])),
        "sub": sub,
        "out": nir.Output(output_type=np.array([2])),
    }
    with pytest.raises(
        NIRImportError,
        match=re.escape(
            "NIR node 'sub' (NIRGraph): a nested graph must have exactly one Input and one "
            "Output node to be inlined, not 0 and 1"
        ),
    ):
        import_nir(graph(nodes, [("inp", "sub"), ("sub", "out")]), dt=DT)


def test_float_network_checks_euler_stability():
    """The float network itself refuses an unstable Euler step (for hand-built networks)."""
    from neurohw.network.floatnet import FloatInput, FloatNetwork, FloatPopulation

    pop = FloatPopulation("p", 1, "LIF", tau_mem=1e-4, v_threshold=1.0)
    with pytest.raises(
        FloatNetworkError,
        match=re.escape(
            "population 'p' (LIF): tau_mem=0.0001 is shorter than dt=0.001; forward Euler needs "
            "dt/tau_mem <= 1 (decay factor 1 - dt/tau_mem >= 0). Use a smaller dt or "
            "discretization='exact'"
        ),
    ):
        FloatNetwork(
            inputs=[FloatInput("i", 1)], populations=[pop], projections=[], outputs=["p"], dt=1e-3
        )
