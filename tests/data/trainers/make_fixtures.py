"""Train small digits networks in the real SNN frameworks and write their own NIR exports.

Dev only: this needs torch and the trainers, which CI never installs. It writes the committed
fixtures under ``tests/data/trainers/<name>/`` (``model.nir``, ``outputs.npz``, ``meta.json``);
``tests/test_trainer_fixtures.py`` only checks that those files are present and consistent.
How to run it (the environment lives outside the repository; see README.md beside this file)::

    python3 -m venv /work/trainers-venv
    /work/trainers-venv/bin/pip install torch==2.13.0        # the CPU wheel, not a CUDA build
    /work/trainers-venv/bin/pip install nir==1.0.8 nirtorch h5py scikit-learn matplotlib pbr
    /work/trainers-venv/bin/pip install --no-deps snntorch==1.0.0 norse==1.1.0 sinabs==3.1.3 \\
        rockpool==3.1.0
    cd <repository root>
    PYTHONPATH=. /work/trainers-venv/bin/python tests/data/trainers/make_fixtures.py [NAME ...]

With no NAME every fixture is rebuilt. ``torch.set_num_threads(1)`` and the fixed seeds make a
rerun on the same versions reproduce the files (the HDF5 container may differ in its bytes).

Data: scikit-learn's bundled digits split exactly as :func:`neurohw.train.digits.load_split`
(seed 0, last 359 images of the permutation are the test set). Inputs, T = 16 steps:

- ``direct``: the pixel value / 16 presented as a constant real-valued current in every step;
- ``rate``: neurohw's deterministic rate code (:func:`neurohw.train.digits.encode_images`),
  0/1 spikes.

Each fixture saves the exact input array the framework was fed for the first 100 test images
(time-major ``(T, n, 64)``), the labels, the framework's own output-layer and hidden-layer
spikes (``uint8`` counts; Sinabs and Rockpool may emit several spikes in one step), the
output-layer membrane as the framework returns it (``meta.json`` says which value that is),
the predictions (argmax of output spike counts over T, ties to the lowest index) and, in
``meta.json``, the accuracy on all 359 test images.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from neurohw.train.digits import encode_images, load_split

warnings.filterwarnings("ignore")  # the exporters' deprecation chatter

HERE = Path(__file__).resolve().parent
STEPS = 16
SEED = 0
N_SAVED = 100
N_CLASSES = 10
DATA_SEED = 0  # the split seed of neurohw.train.digits.load_split


# ---------------------------------------------------------------- data


def digits_inputs():
    """``{"rate": (train, test), "direct": (train, test)}`` time-major float32 inputs, and the
    labels ``(y_train, y_test)``."""
    x_train, y_train, x_test, y_test = load_split(seed=DATA_SEED)

    def direct(images):
        frame = (images.astype(np.float32) / 16.0)[np.newaxis]
        return np.repeat(frame, STEPS, axis=0)

    def rate(images):
        return encode_images(images, STEPS).astype(np.float32)

    inputs = {"rate": (rate(x_train), rate(x_test)), "direct": (direct(x_train), direct(x_test))}
    return inputs, (y_train, y_test)


def predictions(out_spikes: np.ndarray) -> np.ndarray:
    """Argmax of the spike counts over time; numpy's argmax picks the lowest index on a tie."""
    return np.argmax(out_spikes.sum(axis=0), axis=1)


# ---------------------------------------------------------------- training


def train(run, params, x_train, y_train, *, epochs, learning_rate, batch_size=64, logit_scale=1.0):
    """Adam on a cross-entropy over ``logit_scale * output spike counts``. ``run(x)`` takes a
    time-major batch and returns ``(out_spikes, hidden_spikes, out_mem)``."""
    optimiser = torch.optim.Adam(params, lr=learning_rate)
    generator = np.random.default_rng(SEED)
    x_train = torch.from_numpy(x_train)
    y_train = torch.from_numpy(y_train)
    n = x_train.shape[1]
    for epoch in range(epochs):
        order = generator.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            index = torch.from_numpy(order[start : start + batch_size])
            out, _, _ = run(x_train[:, index])
            loss = torch.nn.functional.cross_entropy(logit_scale * out.sum(0), y_train[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss) * len(index)
        print(f"  epoch {epoch + 1}/{epochs}: loss {total / n:.4f}", flush=True)


def evaluate(run, x):
    with torch.no_grad():
        out, hidden, mem = run(torch.from_numpy(x))
    return out.numpy(), hidden.numpy(), mem.numpy()


def as_counts(spikes: np.ndarray, what: str) -> np.ndarray:
    """Spike counts as uint8, refusing anything that is not a small non-negative integer."""
    if not np.array_equal(spikes, np.round(spikes)) or spikes.min() < 0 or spikes.max() > 255:
        raise ValueError(f"{what} are not counts 0..255: min {spikes.min()}, max {spikes.max()}")
    return spikes.astype(np.uint8)


# ---------------------------------------------------------------- snnTorch


def snntorch_fixture(kind: str):
    """snnTorch MLPs (and the conv net). ``kind`` is the fixture name."""
    import snntorch as snn
    from snntorch.export_nir import export_to_nir

    torch.manual_seed(SEED)
    hidden = 48
    info = {
        "framework": "snntorch",
        "framework_version": snn.__version__,
        "reset_mechanism": "subtract",
        "reset_delay": True,
        "spike_test": "mem - threshold > 0 (strict)",
        "beta_clamp": "forward uses beta.clamp(0, 1); the file stores the raw beta",
    }
    if kind == "snn_leaky_direct":
        input_kind = "direct"
        # A per-neuron beta needs a per-neuron threshold too: the exporter builds nir.LIF from
        # both and nir.LIF refuses parameters of different shapes.
        layers = [
            torch.nn.Linear(64, hidden),
            snn.Leaky(
                beta=torch.full((hidden,), 0.9),
                threshold=torch.ones(hidden),
                learn_beta=True,
                init_hidden=True,
            ),
            torch.nn.Linear(hidden, N_CLASSES),
            snn.Leaky(
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                learn_beta=True,
                init_hidden=True,
                output=True,
            ),
        ]
        info.update(learned=["weights", "biases", "beta per neuron"])
    elif kind == "snn_leaky_rate":
        input_kind = "rate"
        layers = [
            torch.nn.Linear(64, hidden),
            snn.Leaky(
                beta=torch.full((hidden,), 0.9),
                threshold=torch.ones(hidden),
                learn_threshold=True,
                init_hidden=True,
            ),
            torch.nn.Linear(hidden, N_CLASSES),
            snn.Leaky(
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                learn_threshold=True,
                init_hidden=True,
                output=True,
            ),
        ]
        info.update(learned=["weights", "biases", "threshold per neuron"])
    elif kind in ("snn_leaky_nodelay", "snn_leaky_zero"):
        # The two other reset conventions the importer must support, on the rate MLP.
        input_kind = "rate"
        reset = (
            {"reset_mechanism": "subtract", "reset_delay": False}
            if kind == "snn_leaky_nodelay"
            else {"reset_mechanism": "zero", "reset_delay": True}
        )
        layers = [
            torch.nn.Linear(64, hidden),
            snn.Leaky(
                beta=torch.full((hidden,), 0.9),
                threshold=torch.ones(hidden),
                init_hidden=True,
                **reset,
            ),
            torch.nn.Linear(hidden, N_CLASSES),
            snn.Leaky(
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                init_hidden=True,
                output=True,
                **reset,
            ),
        ]
        info.update(learned=["weights", "biases"], **reset)
    elif kind == "snn_synaptic":
        input_kind = "rate"
        layers = [
            torch.nn.Linear(64, hidden),
            snn.Synaptic(
                alpha=torch.full((hidden,), 0.8),
                beta=torch.full((hidden,), 0.9),
                threshold=torch.ones(hidden),
                init_hidden=True,
            ),
            torch.nn.Linear(hidden, N_CLASSES),
            snn.Synaptic(
                alpha=torch.full((N_CLASSES,), 0.8),
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                init_hidden=True,
                output=True,
            ),
        ]
        info.update(learned=["weights", "biases"])
    elif kind == "snn_rleaky":
        input_kind = "rate"
        layers = [
            torch.nn.Linear(64, hidden),
            snn.RLeaky(
                beta=torch.full((hidden,), 0.9),
                threshold=torch.ones(hidden),
                linear_features=hidden,
                all_to_all=True,
                init_hidden=True,
            ),
            torch.nn.Linear(hidden, N_CLASSES),
            snn.Leaky(
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                init_hidden=True,
                output=True,
            ),
        ]
        info.update(learned=["weights", "biases", "recurrent weights and bias"])
    elif kind == "snn_conv":
        input_kind = "rate"
        shape = (4, 6, 6)
        layers = [
            torch.nn.Conv2d(1, 4, 3),
            snn.Leaky(
                beta=torch.full(shape, 0.9),
                threshold=torch.ones(shape),
                learn_beta=True,
                init_hidden=True,
            ),
            torch.nn.Flatten(),
            torch.nn.Linear(144, N_CLASSES),
            snn.Leaky(
                beta=torch.full((N_CLASSES,), 0.9),
                threshold=torch.ones(N_CLASSES),
                init_hidden=True,
                output=True,
            ),
        ]
        info.update(learned=["weights", "biases", "beta per neuron (conv layer)"])
    else:
        raise ValueError(kind)
    net = torch.nn.Sequential(*layers)
    neurons = [m for m in net if isinstance(m, snn.SpikingNeuron)]
    conv = kind == "snn_conv"

    def run(x):
        for neuron in neurons:
            neuron.reset_mem()
        outs, hids, mems = [], [], []
        for t in range(x.shape[0]):
            frame = x[t].reshape(-1, 1, 8, 8) if conv else x[t]
            h = net[1](net[0](frame))
            rest = net[2:]
            result = rest(h)  # Leaky: (spk, mem); Synaptic: (spk, syn, mem)
            out, mem = result[0], result[-1]
            outs.append(out)
            hids.append(h.flatten(1))
            mems.append(mem)
        return torch.stack(outs), torch.stack(hids), torch.stack(mems)

    def export():
        if conv:
            return export_to_nir(
                net, torch.zeros(1, 1, 8, 8), ignore_dims=[0]
            ), "export_to_nir(net, torch.zeros(1, 1, 8, 8), ignore_dims=[0])"
        # Without ignore_dims the exporter's own infer_types() fails on the batch dimension.
        return export_to_nir(
            net, torch.zeros(1, 64), ignore_dims=[0]
        ), "export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])"

    info.update(
        dt_written=1e-4,
        input=input_kind,
        out_mem=(
            "the output Leaky mem returned at step t, after this step's reset (reset_delay=False)"
            if info["reset_delay"] is False
            else "the output Leaky/Synaptic mem returned at step t: after the input, "
            "before this step's reset (reset_delay=True applies it at t+1)"
        ),
        image_layout="(1, 8, 8) per step, row-major" if conv else None,
    )
    epochs = {
        "snn_leaky_direct": 20,
        "snn_leaky_rate": 20,
        "snn_leaky_nodelay": 20,
        "snn_leaky_zero": 20,
        "snn_synaptic": 20,
        "snn_rleaky": 20,
        "snn_conv": 20,
    }[kind]
    return net, run, export, info, input_kind, epochs, 5e-3, 0.5


# ---------------------------------------------------------------- Norse


def norse_fixture(kind: str):
    import norse
    import norse.torch as nt

    torch.manual_seed(SEED)
    hidden = 48
    dt = 1e-3
    generator = torch.Generator().manual_seed(SEED)

    def per_neuron(n, low, high):
        # Per-neuron (not scalar) parameters: with scalar tensors nir.write fails ("Scalar
        # datasets don't support chunk/filter options"). Values drawn once, not trained (Norse
        # parameters are plain tensors).
        return low + (high - low) * torch.rand(n, generator=generator)

    if kind == "norse_lif":

        def params(n):
            return nt.LIFParameters(
                tau_syn_inv=per_neuron(n, 150.0, 250.0),
                tau_mem_inv=per_neuron(n, 80.0, 120.0),
                v_leak=torch.zeros(n),
                v_th=torch.ones(n),
                v_reset=torch.zeros(n),
            )

        cell = nt.LIFCell
    else:

        def params(n):
            return nt.LIFBoxParameters(
                tau_mem_inv=per_neuron(n, 80.0, 120.0),
                v_leak=torch.zeros(n),
                v_th=torch.ones(n),
                v_reset=torch.zeros(n),
            )

        cell = nt.LIFBoxCell
    p_hidden, p_out = params(hidden), params(N_CLASSES)
    net = nt.SequentialState(
        torch.nn.Linear(64, hidden),
        cell(p_hidden, dt=dt),
        torch.nn.Linear(hidden, N_CLASSES),
        cell(p_out, dt=dt),
    )

    def run(x):
        s1 = s2 = None
        outs, hids, mems = [], [], []
        for t in range(x.shape[0]):
            h, s1 = net[1](net[0](x[t]), s1)
            out, s2 = net[3](net[2](h), s2)
            outs.append(out)
            hids.append(h)
            mems.append(s2.v)
        return torch.stack(outs), torch.stack(hids), torch.stack(mems)

    def export():
        return norse.torch.to_nir(
            net, torch.zeros(1, 64), dt=dt
        ), f"norse.torch.to_nir(net, torch.zeros(1, 64), dt={dt})"

    info = {
        "framework": "norse",
        "framework_version": norse.__version__,
        "cell": cell.__name__,
        "dt": dt,
        "dt_written": None,
        "reset_mechanism": "to v_reset (norse reset_value)",
        "reset_delay": False,
        "spike_test": "v - v_th > 0 (strict, heaviside)",
        "tau_mem_inv": p_hidden.tau_mem_inv.tolist() + p_out.tau_mem_inv.tolist(),
        "learned": ["weights", "biases"],
        "input": "rate",
        "out_mem": "the output cell's v after this step's reset",
    }
    if kind == "norse_lif":
        info["tau_syn_inv"] = p_hidden.tau_syn_inv.tolist() + p_out.tau_syn_inv.tolist()
    epochs = 40 if kind == "norse_lifbox" else 20  # the box cell learns slower
    return net, run, export, info, "rate", epochs, 5e-3, 0.5


# ---------------------------------------------------------------- Sinabs


def sinabs_fixture(kind: str):
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, MultiSpike

    torch.manual_seed(SEED)
    hidden = 48
    net = torch.nn.Sequential(
        torch.nn.Linear(64, hidden),
        sl.IAFSqueeze(num_timesteps=STEPS),
        torch.nn.Linear(hidden, N_CLASSES),
        sl.IAFSqueeze(num_timesteps=STEPS, record_states=True),
    )
    stateful = [m for m in net if isinstance(m, sl.StatefulLayer)]

    def run(x):
        steps, batch, _ = x.shape
        for layer in stateful:
            layer.reset_states()
        # IAFSqueeze takes (batch * time, ...) with the time index running fastest.
        flat = x.permute(1, 0, 2).reshape(batch * steps, 64)
        h = net[1](net[0](flat))
        out = net[3](net[2](h))

        def time_major(y):
            return y.reshape(batch, steps, -1).permute(1, 0, 2)

        mem = net[3].recordings["v_mem"].reshape(batch, steps, -1).permute(1, 0, 2)
        return time_major(out), time_major(h), mem

    def export():
        graph = sinabs.to_nir(net, torch.zeros(STEPS, 64))
        return graph, "sinabs.to_nir(net, torch.zeros(16, 64))  # one sample of 16 steps, squeezed"

    layer = net[1]
    info = {
        "framework": "sinabs",
        "framework_version": sinabs.__version__,
        "layer": "IAFSqueeze(num_timesteps=16)",
        "dt_written": None,
        "spike_fn": layer.spike_fn.__name__,
        "reset_fn": repr(layer.reset_fn),
        "min_v_mem": layer.min_v_mem,
        "spike_threshold": float(layer.spike_threshold),
        "surrogate_grad_fn": repr(layer.surrogate_grad_fn),
        "reset_mechanism": "subtract (MembraneSubtract: v -= n_spikes * threshold)",
        "reset_delay": False,
        "spike_test": "MultiSpike: n = trunc(v / threshold) where v > 0 (so v >= threshold "
        "spikes; several spikes per step possible)",
        "learned": ["weights", "biases"],
        "input": "rate",
        "out_mem": "the output layer's v_mem after this step's reset (record_states)",
    }
    assert layer.spike_fn is MultiSpike and isinstance(layer.reset_fn, MembraneSubtract)
    return net, run, export, info, "rate", 15, 2e-3, 0.5


def sinabs_conv_fixture(kind: str):
    """A small Sinabs CNN on the 8x8 digits: Conv2d 1-4 3x3 (padding 1), IAF, SumPool2d 2,
    Conv2d 4-8 3x3 (padding 1), IAF, Flatten, Linear 128-10, IAF (IAFSqueeze throughout, the
    layers' defaults: MultiSpike, MembraneSubtract)."""
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, MultiSpike

    torch.manual_seed(SEED)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        sl.IAFSqueeze(num_timesteps=STEPS),
        sl.SumPool2d(2),
        torch.nn.Conv2d(4, 8, 3, padding=1),
        sl.IAFSqueeze(num_timesteps=STEPS),
        torch.nn.Flatten(),
        torch.nn.Linear(128, N_CLASSES),
        sl.IAFSqueeze(num_timesteps=STEPS, record_states=True),
    )
    stateful = [m for m in net if isinstance(m, sl.StatefulLayer)]

    def run(x):
        steps, batch, _ = x.shape
        for layer in stateful:
            layer.reset_states()
        # IAFSqueeze takes (batch * time, ...) with the time index running fastest.
        frames = x.permute(1, 0, 2).reshape(batch * steps, 1, 8, 8)
        h = net[1](net[0](frames))
        out = net[2:](h)

        def time_major(y):
            return y.reshape(batch, steps, -1).permute(1, 0, 2)

        mem = net[7].recordings["v_mem"].reshape(batch, steps, -1).permute(1, 0, 2)
        return time_major(out), time_major(h), mem

    def export():
        graph = sinabs.to_nir(net, torch.zeros(STEPS, 1, 8, 8))
        # Sinabs 3.1.3 exports every Conv2d with input_shape=None (and untyped pooling and
        # flatten nodes), which nir.write cannot store; nir's own type inference fills them in
        # from the graph's shapes. Nothing else changes.
        graph.infer_types()
        return graph, (
            "sinabs.to_nir(net, torch.zeros(16, 1, 8, 8)); graph.infer_types()  # one sample "
            "of 16 steps, squeezed; nir fills in the Conv2d input_shape that Sinabs leaves None"
        )

    layer = net[1]
    info = {
        "framework": "sinabs",
        "framework_version": sinabs.__version__,
        "layer": "IAFSqueeze(num_timesteps=16)",
        "dt_written": None,
        "spike_fn": layer.spike_fn.__name__,
        "reset_fn": repr(layer.reset_fn),
        "min_v_mem": layer.min_v_mem,
        "spike_threshold": float(layer.spike_threshold),
        "surrogate_grad_fn": repr(layer.surrogate_grad_fn),
        "reset_mechanism": "subtract (MembraneSubtract: v -= n_spikes * threshold)",
        "reset_delay": False,
        "spike_test": "MultiSpike: n = trunc(v / threshold) where v > 0 (so v >= threshold "
        "spikes; several spikes per step possible)",
        "learned": ["weights", "biases"],
        "input": "rate",
        "out_mem": "the output layer's v_mem after this step's reset (record_states)",
        "image_layout": "(1, 8, 8) per step, row-major",
        "hidden": "the first IAF layer (4 x 8 x 8, C-H-W row-major)",
    }
    assert layer.spike_fn is MultiSpike and isinstance(layer.reset_fn, MembraneSubtract)
    return net, run, export, info, "rate", 15, 2e-3, 0.5


# ---------------------------------------------------------------- Rockpool

WEIGHT_SCALE = 0.1


def rockpool_fixture(kind: str):
    import rockpool
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch
    from rockpool.nn.modules.torch.lif_torch import PeriodicExponential
    from rockpool.nn.modules.torch.nir import to_nir
    from rockpool.parameters import Constant

    torch.manual_seed(SEED)
    hidden = 48
    dt = 1e-3
    generator = torch.Generator().manual_seed(SEED)

    def per_neuron(n, low, high):
        return Constant(low + (high - low) * torch.rand(n, generator=generator))

    def lif(n):
        # Time constants drawn per neuron and kept fixed (Constant): trained taus can run
        # negative with this learning rate. The bias is fixed at 0: the exporter writes
        # v_leak = 0 and drops a trained bias without a word (README). The default surrogate
        # (StepPWL) has no gradient below threshold - 0.5 and left this network near chance;
        # PeriodicExponential has the same forward pass (floor(v / threshold) where
        # v >= threshold) and trains.
        return LIFTorch(
            n,
            tau_mem=per_neuron(n, 0.015, 0.03),
            tau_syn=per_neuron(n, 0.004, 0.008),
            bias=Constant(torch.zeros(n)),
            dt=dt,
            spike_generation_fn=PeriodicExponential,
        )

    net = Sequential(
        LinearTorch((64, hidden), has_bias=True),
        lif(hidden),
        LinearTorch((hidden, N_CLASSES), has_bias=True),
        lif(N_CLASSES),
    )
    mods = [getattr(net, name) for name in net._submodulenames]
    with torch.no_grad():
        # The current and the membrane each integrate (gain ~ 1/(1-beta) * 1/(1-alpha), about
        # 25 here): Rockpool's default kaiming weights then make every neuron fire several
        # spikes per step and training stalls near chance. Start from smaller weights.
        for linear in (mods[0], mods[2]):
            linear.weight.mul_(WEIGHT_SCALE)

    def run(x):
        net.reset_state()
        batch_major = x.permute(1, 0, 2)
        h, _, _ = mods[1](mods[0](batch_major)[0])
        out, _, rec = mods[3](mods[2](h)[0], record=True)
        return out.permute(1, 0, 2), h.permute(1, 0, 2), rec["vmem"].permute(1, 0, 2)

    def export():
        return to_nir(net), "rockpool.nn.modules.torch.nir.to_nir(net)  # sample (1, 64)"

    lif_h = mods[1]
    info = {
        "framework": "rockpool",
        "framework_version": rockpool.__version__,
        "layer": "LIFTorch",
        "dt": dt,
        "dt_written": None,
        "tau_mem": lif_h.tau_mem.tolist() + mods[3].tau_mem.tolist(),
        "tau_syn": lif_h.tau_syn.flatten().tolist() + mods[3].tau_syn.flatten().tolist(),
        "decay": "alpha = exp(-dt / tau_mem) (membrane), beta = exp(-dt / tau_syn) "
        "(current); exponential, not Euler",
        "max_spikes_per_dt": float(lif_h.max_spikes_per_dt),
        "spike_generation_fn": "PeriodicExponential (forward identical to the default StepPWL)",
        "spike_test": "n = floor(v / threshold) where v >= threshold (>=, multi-spike up "
        "to max_spikes_per_dt)",
        "reset_mechanism": "subtract (v -= n * threshold)",
        "reset_delay": False,
        "bias": "fixed at 0 (a trained bias is dropped by the exporter)",
        "learned": ["weights", "Linear biases", "threshold per neuron"],
        "initial_weight_scale": WEIGHT_SCALE,
        "input": "rate",
        "out_mem": "the output LIFTorch vmem after this step's reset (record=True)",
    }
    params = (
        [p for p in net.parameters().astorch()]
        if hasattr(net.parameters(), "astorch")
        else list(torch.nn.Module.parameters(net))
    )
    return net, run, export, info, "rate", 15, 2e-3, 1.0, params


FIXTURES = {
    "snn_leaky_direct": snntorch_fixture,
    "snn_leaky_rate": snntorch_fixture,
    "snn_leaky_nodelay": snntorch_fixture,
    "snn_leaky_zero": snntorch_fixture,
    "snn_synaptic": snntorch_fixture,
    "snn_rleaky": snntorch_fixture,
    "snn_conv": snntorch_fixture,
    "norse_lif": norse_fixture,
    "norse_lifbox": norse_fixture,
    "sinabs_iaf": sinabs_fixture,
    "sinabs_conv": sinabs_conv_fixture,
    "rockpool_lif": rockpool_fixture,
}


def build(name: str, inputs, labels):
    import nir
    import nirtorch
    import sklearn

    torch.manual_seed(SEED)
    made = FIXTURES[name](name)
    net, run, export, info, input_kind, epochs, learning_rate, logit_scale = made[:8]
    params = made[8] if len(made) > 8 else list(net.parameters())
    x_train, x_test = inputs[input_kind]
    y_train, y_test = labels
    print(f"{name}: training {epochs} epochs on {x_train.shape[1]} images", flush=True)
    started = time.perf_counter()
    train(
        run,
        params,
        x_train,
        y_train,
        epochs=epochs,
        learning_rate=learning_rate,
        logit_scale=logit_scale,
    )
    seconds = time.perf_counter() - started

    out, hidden, mem = evaluate(run, x_test)
    predicted = predictions(out)
    accuracy = float(np.mean(predicted == y_test))
    print(
        f"{name}: accuracy {accuracy:.4f} on {len(y_test)} test images, {seconds:.1f} s", flush=True
    )

    folder = HERE / name
    folder.mkdir(exist_ok=True)
    graph, export_call = export()
    nir.write(folder / "model.nir", graph)
    nir.read(folder / "model.nir", type_check=False)  # the file opens again

    saved = slice(0, N_SAVED)
    np.savez_compressed(
        folder / "outputs.npz",
        x=(x_test[:, saved].astype(np.uint8) if input_kind == "rate" else x_test[:, saved]),
        labels=y_test[saved].astype(np.int64),
        out_spikes=as_counts(out[:, saved], f"{name} output spikes"),
        hidden_spikes=as_counts(hidden[:, saved], f"{name} hidden spikes"),
        out_mem=mem[:, saved].astype(np.float32),
        predictions=predicted[saved].astype(np.int64),
    )
    info = {key: value for key, value in info.items() if value is not None or key == "dt_written"}
    info.update(
        name=name,
        torch_version=torch.__version__,
        nir_version=nir.__version__,
        nirtorch_version=getattr(nirtorch, "__version__", "unknown"),
        sklearn_version=sklearn.__version__,
        export_call=export_call,
        steps=STEPS,
        n_inputs=64,
        n_hidden=int(hidden.shape[2]),
        n_outputs=N_CLASSES,
        n_saved=N_SAVED,
        n_test=int(len(y_test)),
        data_split="neurohw.train.digits.load_split(seed=0)",
        input_encoding=(
            "neurohw.train.digits.encode_images(images, 16): 0/1 spikes"
            if input_kind == "rate"
            else "pixel / 16 as a constant real-valued input in every step"
        ),
        x_dtype="uint8 0/1 spikes" if input_kind == "rate" else "float32",
        training_seed=SEED,
        epochs=epochs,
        learning_rate=learning_rate,
        loss=f"cross-entropy on {logit_scale} * output spike counts, Adam, batch 64",
        train_seconds=round(seconds, 1),
        accuracy=accuracy,
        accuracy_first_saved=float(np.mean(predicted[saved] == y_test[saved])),
        max_hidden_spikes_per_step=int(hidden.max()),
        max_out_spikes_per_step=int(out.max()),
    )
    (folder / "meta.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def main(names):
    torch.set_num_threads(1)
    inputs, labels = digits_inputs()
    for name in names or FIXTURES:
        build(name, inputs, labels)


if __name__ == "__main__":
    main(sys.argv[1:])
