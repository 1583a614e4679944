"""Writes the neurobench package's metrics of one small network (case.npz, neurobench.json).

Run in a throwaway environment outside the repository, never in neurohw's (neurobench and torch
are not neurohw dependencies):

    python3 -m venv /tmp/nbvenv && /tmp/nbvenv/bin/pip install torch==2.13.0 neurobench
    /tmp/nbvenv/bin/python tests/data/neurobench/check_neurobench.py

The network: 6 inputs -> 5 -> 3 integrate-and-fire neurons (snnTorch ``Leaky`` with beta 1,
threshold 2, reset to zero in the step it fires), integer weights with some zeros, 8 steps of
random binary inputs for 4 samples. ``tests/test_metrics.py`` builds the same network in neurohw
(layers in the same step: the second projection is ``same_step``) and compares.
"""

import json
from pathlib import Path

import numpy as np
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint
from neurobench.metrics.workload import (
    ActivationSparsity,
    MembraneUpdates,
    SynapticOperations,
)
from neurobench.models import SNNTorchModel
from torch.utils.data import DataLoader, TensorDataset

HERE = Path(__file__).parent
THRESHOLD = 2

rng = np.random.default_rng(3)
w1 = rng.integers(-2, 4, size=(6, 5))
w1[rng.random(w1.shape) < 0.3] = 0
w2 = rng.integers(-1, 3, size=(5, 3))
w2[rng.random(w2.shape) < 0.3] = 0
x = (rng.random((8, 4, 6)) < 0.4).astype(np.int64)  # (steps, samples, lines)


def leaky(**kw):
    return snn.Leaky(
        beta=1.0,
        threshold=THRESHOLD,
        reset_mechanism="zero",
        reset_delay=False,
        init_hidden=True,
        **kw,
    )


fc1, fc2 = torch.nn.Linear(6, 5, bias=False), torch.nn.Linear(5, 3, bias=False)
with torch.no_grad():
    fc1.weight.copy_(torch.tensor(w1.T, dtype=torch.float32))
    fc2.weight.copy_(torch.tensor(w2.T, dtype=torch.float32))
net = torch.nn.Sequential(fc1, leaky(), fc2, leaky(output=True))
model = SNNTorchModel(net)

data = torch.tensor(x.transpose(1, 0, 2), dtype=torch.float32)  # (samples, steps, lines)
loader = DataLoader(TensorDataset(data, torch.zeros(4)), batch_size=1)
benchmark = Benchmark(
    model,
    loader,
    [],
    [],
    [
        [Footprint, ConnectionSparsity],
        [ActivationSparsity, SynapticOperations, MembraneUpdates],
    ],
)
results = benchmark.run(quiet=True)

# The spikes of both layers, to check that neurohw's network is the same one.
spikes = {"h": [], "o": []}
for sample in range(4):
    snn.utils.reset(net)
    for step in range(8):
        h = net[1](net[0](data[sample : sample + 1, step]))
        o, _ = net[3](net[2](h))
        spikes["h"].append(h[0].detach().numpy())
        spikes["o"].append(o[0].detach().numpy())
h = np.array(spikes["h"]).reshape(4, 8, 5).transpose(1, 0, 2).astype(np.int64)
o = np.array(spikes["o"]).reshape(4, 8, 3).transpose(1, 0, 2).astype(np.int64)

np.savez(HERE / "case.npz", w1=w1, w2=w2, x=x, threshold=THRESHOLD, spikes_h=h, spikes_o=o)
flat = {}
for name, value in results.items():
    if isinstance(value, dict):
        flat.update(value)
    else:
        flat[name] = value
flat = {k: float(v) for k, v in flat.items()}
flat["versions"] = {
    "neurobench": __import__("importlib.metadata").metadata.version("neurobench"),
    "torch": torch.__version__,
    "snntorch": snn.__version__,
}
(HERE / "neurobench.json").write_text(json.dumps(flat, indent=1, sort_keys=True) + "\n")
print(json.dumps(flat, indent=1))
