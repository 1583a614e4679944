"""The conversion report: ANN accuracy, float-SNN and fixed-point-SNN accuracy as a function of
the number of time steps, and synaptic operations per inference against the ANN's
multiply-accumulates.

Synaptic operations (SOPs) are counted as the chip performs them (``docs/system.md``): every
unit of an input count or a spike, times the number of non-zero integer weights leaving that
input line or neuron (a count ``c`` on a line with ``f`` synapses costs ``c f``: the receiving
core's ingress turns a count into ``c`` axon events). They are split into the input layer's and
the spiking layers' operations, because with direct input the input layer's count is
``steps * sum(q) * fan-out`` whatever the network does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..network.floatnet import simulate_float
from ..network.system import simulate
from .ann import INPUT_NAME, Conversion

__all__ = ["StepResult", "ConversionReport", "conversion_report"]


@dataclass
class StepResult:
    steps: int
    float_accuracy: float
    fixed_accuracy: float
    agreement: float  # float vs fixed predictions, sample by sample
    fixed_sops_per_inference: float  # all SOPs (input + spiking layers)
    fixed_input_sops_per_inference: float
    fixed_spike_sops_per_inference: float
    fixed_spikes_per_inference: float  # spikes of all populations

    def to_dict(self):
        return dict(self.__dict__)


@dataclass
class ConversionReport:
    ann_accuracy: float
    n_samples: int
    macs_per_inference: int
    input_encoding: str
    percentile: float
    weight_width: int
    layer_sizes: list
    lambdas: list
    rows: list = field(default_factory=list)

    def row(self, steps: int) -> StepResult:
        for r in self.rows:
            if r.steps == steps:
                return r
        raise KeyError(steps)

    def first_within(self, points: float = 2.0) -> int | None:
        """Fewest measured steps at which the fixed-point SNN is within ``points`` percentage
        points of the ANN (and stays so at every larger measured step count)."""
        best = None
        for r in sorted(self.rows, key=lambda r: -r.steps):
            if 100 * (self.ann_accuracy - r.fixed_accuracy) <= points:
                best = r.steps
            else:
                break
        return best

    def table(self) -> str:
        """A Markdown table."""
        lines = [
            f"ANN accuracy {100 * self.ann_accuracy:.2f} % on {self.n_samples} samples; "
            f"{self.macs_per_inference} MACs per ANN inference; {self.input_encoding} "
            f"input, percentile {self.percentile:g}, {self.weight_width}-bit weights",
            "",
            "| steps | SNN float | SNN fixed | float/fixed agreement | SOPs / inference "
            "(input + spikes) | SOPs / MACs | spikes / inference |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.steps} | {100 * r.float_accuracy:.2f} % | {100 * r.fixed_accuracy:.2f} % "
                f"| {100 * r.agreement:.2f} % | {r.fixed_sops_per_inference:.0f} "
                f"({r.fixed_input_sops_per_inference:.0f} + {r.fixed_spike_sops_per_inference:.0f})"
                f" | {r.fixed_sops_per_inference / self.macs_per_inference:.2f} "
                f"| {r.fixed_spikes_per_inference:.1f} |"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "rows"}
        out["rows"] = [r.to_dict() for r in self.rows]
        out["first_steps_within_2_points"] = self.first_within(2.0)
        return out

    def save(self, out_dir) -> dict:
        """Write ``conversion_report.json``, ``conversion_report.md`` and
        ``conversion_report.png`` into ``out_dir``; return their paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {
            "json": out_dir / "conversion_report.json",
            "md": out_dir / "conversion_report.md",
            "png": out_dir / "conversion_report.png",
        }
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2, default=float))
        paths["md"].write_text(self.table() + "\n")
        self.plot(paths["png"])
        return paths

    def plot(self, path) -> None:
        """Accuracy and SOPs against steps, as a PNG (matplotlib, Agg backend)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        steps = [r.steps for r in self.rows]
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        left.axhline(100 * self.ann_accuracy, color="k", linestyle="--", label="ANN")
        left.plot(steps, [100 * r.float_accuracy for r in self.rows], "o-", label="SNN float")
        left.plot(
            steps,
            [100 * r.fixed_accuracy for r in self.rows],
            "s-",
            label=f"SNN fixed point ({self.weight_width}-bit)",
        )
        left.set_xscale("log", base=2)
        left.set_xlabel("time steps")
        left.set_ylabel("test accuracy (%)")
        left.set_ylim(max(0.0, 100 * self.ann_accuracy - 30), 100)
        left.grid(True, alpha=0.3)
        left.legend(loc="lower right")
        left.set_title(f"ANN-to-SNN conversion ({self.input_encoding} input)")
        right.plot(steps, [r.fixed_sops_per_inference for r in self.rows], "s-", label="SOPs, all")
        right.plot(
            steps,
            [r.fixed_spike_sops_per_inference for r in self.rows],
            "^-",
            label="SOPs, spiking layers",
        )
        right.axhline(self.macs_per_inference, color="k", linestyle="--", label="ANN MACs")
        right.set_xscale("log", base=2)
        right.set_yscale("log")
        right.set_xlabel("time steps")
        right.set_ylabel("operations per inference")
        right.grid(True, alpha=0.3)
        right.legend(loc="upper left")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


def _fan_out(network):
    fan = {}
    for p in network.projections:
        fan[p.source] = fan.get(p.source, 0) + p.fan_out()
    return fan


def _argmax(counts):
    return np.argmax(counts, axis=1)


def conversion_report(
    conversion: Conversion, x, labels, *, steps=(8, 16, 32, 64, 128), batch_size: int = 1024
) -> ConversionReport:
    """Measure the ANN and, for every step count in ``steps``, the float SNN
    (:func:`neurohw.network.floatnet.simulate_float`) and the integer network
    (:func:`neurohw.network.simulate`) on inputs ``x`` ``(n, n_in)`` with ``labels``.

    With direct input every step has the same counts, so one run of ``max(steps)`` steps gives
    every shorter run as a prefix (a run is causal); with rate input the code depends on the
    run length, so each step count is run separately.
    """
    steps = sorted({int(s) for s in steps})
    if not steps or steps[0] < 1:
        raise ValueError(f"steps must be positive integers, not {steps!r}")
    x = np.asarray(x, dtype=np.float64)
    labels = np.asarray(labels)
    n = labels.shape[0]
    if x.shape[0] != n or n == 0:
        raise ValueError(f"x has {x.shape[0]} samples and labels {n}; need the same, at least 1")
    classes = conversion.classes
    network, float_net = conversion.network, conversion.float_net
    fan = _fan_out(network)
    out = conversion.output
    ann_accuracy = float(np.mean(conversion.ann_predict(x) == labels))

    runs = [steps] if conversion.input_encoding == "direct" else [[s] for s in steps]
    totals = {
        s: dict(
            float_correct=0, fixed_correct=0, agree=0, input_sops=0.0, spike_sops=0.0, spikes=0.0
        )
        for s in steps
    }
    for first in range(0, n, batch_size):
        xb, yb = x[first : first + batch_size], labels[first : first + batch_size]
        for run in runs:
            counts = conversion.encode(xb, max(run))
            inputs = {INPUT_NAME: counts}
            f_trace = simulate_float(float_net, inputs)
            q_trace = simulate(network, inputs)
            for s in run:
                f_pred = classes[_argmax(f_trace.spikes[out][:s].sum(axis=0, dtype=np.int64))]
                q_pred = classes[_argmax(q_trace.spikes[out][:s].sum(axis=0))]
                t = totals[s]
                t["float_correct"] += int(np.sum(f_pred == yb))
                t["fixed_correct"] += int(np.sum(q_pred == yb))
                t["agree"] += int(np.sum(f_pred == q_pred))
                t["input_sops"] += float(
                    (counts[:s].sum(axis=(0, 1)) * fan.get(INPUT_NAME, 0)).sum()
                )
                for name, spikes in q_trace.spikes.items():
                    per_neuron = spikes[:s].sum(axis=(0, 1))
                    t["spikes"] += float(per_neuron.sum())
                    t["spike_sops"] += float((per_neuron * fan.get(name, 0)).sum())
    rows = []
    for s in steps:
        t = totals[s]
        rows.append(
            StepResult(
                steps=s,
                float_accuracy=t["float_correct"] / n,
                fixed_accuracy=t["fixed_correct"] / n,
                agreement=t["agree"] / n,
                fixed_sops_per_inference=(t["input_sops"] + t["spike_sops"]) / n,
                fixed_input_sops_per_inference=t["input_sops"] / n,
                fixed_spike_sops_per_inference=t["spike_sops"] / n,
                fixed_spikes_per_inference=t["spikes"] / n,
            )
        )
    sizes = [conversion.layers[0][0].shape[0]] + [w.shape[1] for w, _ in conversion.layers]
    return ConversionReport(
        ann_accuracy=ann_accuracy,
        n_samples=n,
        macs_per_inference=conversion.macs,
        input_encoding=conversion.input_encoding,
        percentile=conversion.percentile,
        weight_width=conversion.quantization.weight_width,
        layer_sizes=sizes,
        lambdas=list(conversion.lambdas),
        rows=rows,
    )
