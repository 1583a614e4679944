"""Check README.md's per-framework equations against the committed fixtures (dev only).

Reads each fixture's ``model.nir`` (weights and neuron parameters) and ``meta.json`` (dt and the
conventions the file leaves out), re-simulates the first 100 test images in float32 numpy with
the equations written in README.md, and prints how many hidden and output spikes differ from the
framework's own (``outputs.npz``) and the largest output-membrane difference. Last run: 0
mismatches on all fixtures, membranes within 1e-5. This documents the conventions; it is not the
importer (that lives in ``neurohw.network``), and it only handles the chain-shaped graphs here.

    /work/main/.venv/bin/python tests/data/trainers/check_equations.py [NAME ...]
"""

import json
import sys
from pathlib import Path

import nir
import numpy as np

HERE = Path(__file__).resolve().parent
f32 = np.float32
SNNTORCH_DT = f32(1e-4)  # hard-coded in snnTorch's exporter


def as32(value):
    return np.asarray(value, dtype=f32)


def chain(graph):
    """Node names from Input to Output, skipping snnTorch's recurrent ``*.w_rec`` nodes."""
    following = {}
    for source, target in graph.edges:
        following.setdefault(source, []).append(target)
    order, node = [], "input"
    while node != "output":
        node = next(t for t in following[node] if t not in order and not t.endswith(".w_rec"))
        order.append(node)
    return order[:-1]


def conv2d_valid(x, weight, bias):
    """The 3x3 'valid' convolution of snn_conv: x (n, 1, 8, 8) -> (n, 4, 6, 6)."""
    size = x.shape[-1] - weight.shape[-1] + 1
    out = np.zeros((x.shape[0], weight.shape[0], size, size), f32)
    for i in range(weight.shape[2]):
        for j in range(weight.shape[3]):
            out += np.einsum(
                "bchw,kc->bkhw", x[:, :, i : i + size, j : j + size], weight[:, :, i, j]
            )
    return out + bias[None, :, None, None]


def neuron_step(framework, meta, graph, key, node, drive, state, previous_spikes):
    """One step of one neuron layer, per README.md. Returns the spikes; updates ``state``."""
    kind = type(node).__name__
    zeros = np.zeros_like(drive)
    v = state.get("v", zeros)
    if framework == "snntorch":
        theta = as32(node.v_threshold)
        if key.endswith(".lif"):  # RLeaky: the layer's own spikes of the previous step
            feedback = graph.nodes[key.replace(".lif", ".w_rec")]
            drive = (
                drive
                + previous_spikes.get(key, zeros) @ as32(feedback.weight).T
                + as32(feedback.bias)
            )
        reset = (v > theta).astype(f32)
        if kind == "CubaLIF":
            alpha = f32(1) - SNNTORCH_DT / as32(node.tau_syn)
            beta = f32(1) - SNNTORCH_DT / as32(node.tau_mem)
            current = alpha * state.get("i", zeros) + drive
            state["i"] = current
            v = beta * v + current - reset * theta
        else:
            beta = np.clip(f32(1) - SNNTORCH_DT / as32(node.tau), 0, 1)  # the forward's clamp
            if meta["reset_mechanism"] == "zero":
                v = beta * ((1 - reset) * v) + drive
            else:
                v = beta * v + drive - reset * theta
        spikes = (v > theta).astype(f32)
        if meta["reset_delay"] is False:
            v = v - (spikes - reset) * theta
    elif framework == "norse":
        dt = f32(meta["dt"])
        theta, v_leak = as32(node.v_threshold), as32(node.v_leak)
        if kind == "CubaLIF":
            tau_mem_inv = dt / as32(node.tau_mem)  # the file holds dt / tau_mem_inv
            tau_syn_inv = dt / as32(node.tau_syn)
            current = state.get("i", zeros) + drive
            v = v + dt * tau_mem_inv * ((v_leak - v) + current)
            state["i"] = current + (-dt * tau_syn_inv * current)
        else:
            tau_mem_inv = dt / as32(node.tau)
            v = v + dt * tau_mem_inv * (drive + v_leak - v)
        spikes = (v - theta > 0).astype(f32)
        v = (1 - spikes) * v + spikes * as32(node.v_reset)
    elif framework == "sinabs":
        theta = as32(node.v_threshold)
        v = v + drive
        spikes = ((v > 0) * np.trunc(v / theta)).astype(f32)
        v = v - spikes * theta
    elif framework == "rockpool":
        dt = f32(meta["dt"])
        theta = as32(node.v_threshold)
        current = (state.get("i", zeros) + drive) * np.exp(-dt / as32(node.tau_syn))
        state["i"] = current
        v = v * np.exp(-dt / as32(node.tau_mem)) + current
        spikes = ((v >= theta) * np.floor(v / theta)).astype(f32)
        v = v - spikes * theta
    else:
        raise ValueError(f"unknown framework {framework!r}")
    state["v"] = v
    return spikes


def check(name):
    folder = HERE / name
    graph = nir.read(folder / "model.nir", type_check=False)
    meta = json.loads((folder / "meta.json").read_text())
    with np.load(folder / "outputs.npz") as saved:
        data = {key: saved[key] for key in saved.files}
    x = data["x"].astype(f32)
    steps, n, _ = x.shape
    layers = chain(graph)
    states, previous_spikes = {}, {}
    outs, hiddens, mems = [], [], []
    for t in range(steps):
        signal, hidden = x[t], None
        for key in layers:
            node = graph.nodes[key]
            kind = type(node).__name__
            if kind == "Affine":
                signal = signal @ as32(node.weight).T + as32(node.bias)
            elif kind == "Linear":
                signal = signal @ as32(node.weight).T
            elif kind == "Conv2d":
                signal = conv2d_valid(
                    signal.reshape(n, 1, 8, 8), as32(node.weight), as32(node.bias)
                )
            elif kind == "Flatten":
                signal = signal.reshape(n, -1)
            else:
                signal = neuron_step(
                    meta["framework"],
                    meta,
                    graph,
                    key,
                    node,
                    signal,
                    states.setdefault(key, {}),
                    previous_spikes,
                )
                previous_spikes[key] = signal
                if hidden is None:
                    hidden = signal.reshape(n, -1)
        outs.append(signal)
        hiddens.append(hidden)
        mems.append(states[layers[-1]]["v"])
    out, hidden = np.stack(outs), np.stack(hiddens)
    hidden_diff = int(np.sum(hidden != data["hidden_spikes"]))
    out_diff = int(np.sum(out != data["out_spikes"]))
    mem_diff = float(np.max(np.abs(np.stack(mems) - data["out_mem"])))
    print(
        f"{name:18s} hidden spikes differing {hidden_diff}/{hidden.size}, output "
        f"{out_diff}/{out.size}, max |out_mem difference| {mem_diff:.1e}"
    )
    return hidden_diff + out_diff


def main(names):
    names = names or sorted(p.name for p in HERE.iterdir() if (p / "model.nir").exists())
    return 1 if sum(check(name) for name in names) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
