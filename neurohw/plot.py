"""A one-page picture of a trace: spike raster on top, membrane traces of a few neurons below.

Built on :class:`matplotlib.figure.Figure` with the Agg renderer directly, never pyplot, so
plotting touches no global state (no backend switch, no open-figure registry) and is safe in
tests, threads and headless machines.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .model.params import NeuronParams
from .model.reference import Trace

__all__ = [
    "plot_trace",
    "plot_network_raster",
    "plot_energy_breakdown",
    "default_neurons",
    "select_neurons",
    "MAX_MEMBRANE_TRACES",
    "FIGURE_SIZE",
    "DPI",
]

#: Membrane lanes below the raster; more would be too thin to read.
MAX_MEMBRANE_TRACES = 8
#: Drawn when no neurons are chosen.
DEFAULT_MEMBRANE_TRACES = 4
#: Inches and dots per inch: every PNG is 1100 x 800 pixels, whatever the trace.
FIGURE_SIZE = (11.0, 8.0)
DPI = 100


def default_neurons(n_neurons: int) -> list[int]:
    """Up to 4 neurons spread evenly over the population, first and last included."""
    count = min(n_neurons, DEFAULT_MEMBRANE_TRACES)
    return sorted({int(n) for n in np.linspace(0, n_neurons - 1, count).round()})


def select_neurons(neurons, n_neurons: int) -> list[int]:
    """Check a choice of 1 to 8 distinct neuron indices of a population of ``n_neurons``."""
    neurons = list(neurons)
    if not 1 <= len(neurons) <= MAX_MEMBRANE_TRACES:
        raise ValueError(
            f"the membrane plot shows between 1 and {MAX_MEMBRANE_TRACES} "
            f"neurons, not {len(neurons)}"
        )
    neurons = [_check_index(n, n_neurons, "neuron") for n in neurons]
    if len(set(neurons)) != len(neurons):
        raise ValueError(f"neurons must not repeat, not {neurons}")
    return neurons


def plot_trace(
    trace: Trace,
    path,
    *,
    neurons=None,
    batch: int = 0,
    title: str | None = None,
    params: NeuronParams | None = None,
) -> None:
    """Write a PNG of ``trace`` (batch entry ``batch``) to ``path``.

    ``neurons``: indices whose membrane is drawn, one lane each, at most 8; by default 4
    spread evenly. ``params``: when given, each lane shows the neuron's threshold dashed.
    """
    steps, batch_size, n_neurons = trace.spikes.shape
    if trace.v is None:
        raise ValueError("trace has no membrane record; run the model with 'v' in record")
    batch = _check_index(batch, batch_size, "batch")
    neurons = default_neurons(n_neurons) if neurons is None else select_neurons(neurons, n_neurons)
    spikes = trace.spikes[:, batch, :]
    colors = [f"C{k}" for k in range(len(neurons))]

    # Fixed margins rather than a layout engine: the raster and the lanes share exact left and
    # right edges, so their time axes line up, and the layout never depends on tick text.
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    outer = figure.add_gridspec(
        2, 1, height_ratios=(1, 1.25), left=0.085, right=0.91, top=0.92, bottom=0.07, hspace=0.22
    )
    raster = figure.add_subplot(outer[0])
    lanes = (
        outer[1]
        .subgridspec(len(neurons), 1, hspace=0.18)
        .subplots(sharex=True, sharey=True, squeeze=False)[:, 0]
    )
    raster.sharex(lanes[0])
    _draw_raster(raster, spikes, neurons, colors)
    thresholds = _thresholds(params, neurons)
    for lane, neuron, color, threshold in zip(lanes, neurons, colors, thresholds):
        _draw_lane(
            lane, trace.v[:, batch, neuron], neuron, int(spikes[:, neuron].sum()), color, threshold
        )
    lanes[-1].set_xlabel("time step")
    lanes[0].set_xlim(-0.5, steps - 0.5)
    note = ", dashed: threshold" if params is not None else ""
    lanes[0].set_title(f"membrane at the end of each step{note}", fontsize="medium")
    lanes_box = outer[1].get_position(figure)
    figure.text(
        0.012,
        (lanes_box.y0 + lanes_box.y1) / 2,
        "membrane v (integer units)",
        rotation="vertical",
        ha="left",
        va="center",
    )

    if title is None:
        title = f"{n_neurons} neurons, {steps} steps, {int(spikes.sum())} spikes"
        if batch_size > 1:
            title += f" (batch entry {batch} of {batch_size})"
    figure.suptitle(title, y=0.975)
    # Without a Software entry the bytes do not depend on the installed matplotlib version.
    figure.savefig(path, format="png", metadata={"Software": None})


def _check_index(value, size, name) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if not 0 <= value < size:
        raise ValueError(f"{name} must be between 0 and {size - 1}, not {value}")
    return int(value)


def _thresholds(params, neurons) -> list:
    """Each drawn neuron's effective threshold, or None when no parameters were given."""
    if params is None:
        return [None] * len(neurons)
    threshold = params.effective_threshold
    if isinstance(threshold, np.ndarray):
        return [int(threshold[neuron]) for neuron in neurons]
    return [int(threshold)] * len(neurons)


def _draw_raster(axes, spikes, neurons, colors):
    n_neurons = spikes.shape[1]
    # Small markers for large populations, so rows do not merge into a solid block.
    size = float(np.clip(2000 / n_neurons, 2, 30))
    times, rows = np.nonzero(spikes)
    chosen = np.isin(rows, neurons)
    axes.scatter(times[~chosen], rows[~chosen], s=size, marker="|", color="0.3", linewidths=1.2)
    # The neurons drawn below keep their lane colour here, to tie the two panels together.
    for neuron, color in zip(neurons, colors):
        mask = rows == neuron
        axes.scatter(times[mask], rows[mask], s=size * 1.5, marker="|", color=color, linewidths=1.8)
        axes.axhline(neuron, color=color, linewidth=3, alpha=0.15, zorder=0)
    axes.set_ylim(-0.8, n_neurons - 0.2)  # room for the markers of the first and last rows
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("neuron")
    axes.set_title("spike raster (coloured rows: membranes below)", fontsize="medium")


def _draw_lane(axes, v, neuron, spike_count, color, threshold):
    steps = np.arange(v.shape[0])
    # "mid": the value recorded at step t spans [t - 0.5, t + 0.5], under its raster column.
    axes.step(steps, v.astype(float), where="mid", color=color, linewidth=1.1)
    if threshold is not None:
        axes.axhline(threshold, color="0.3", linestyle="--", linewidth=0.9)
    axes.text(
        1.005,
        0.5,
        f"neuron {neuron}\n{spike_count} spikes",
        transform=axes.transAxes,
        color=color,
        fontsize="small",
        va="center",
        ha="left",
    )
    axes.yaxis.set_major_locator(MaxNLocator(nbins=3))
    # Plain integers: an offset or exponent label would be drawn over the lane above.
    axes.ticklabel_format(axis="y", style="plain", useOffset=False)
    axes.tick_params(axis="y", labelsize="small")
    axes.grid(True, alpha=0.3)


def plot_network_raster(
    layers, path, *, title: str | None = None, labels: dict | None = None
) -> None:
    """One spike raster per layer, stacked, for one sample.

    ``layers``: ``{name: counts (steps, size)}`` in the order to draw, inputs first. A count
    above one is drawn as a darker marker. ``labels``: optional text per layer drawn at the
    right (for instance the predicted class of an output layer).
    """
    if not layers:
        raise ValueError("plot_network_raster needs at least one layer")
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    sizes = [np.asarray(counts).shape[1] for counts in layers.values()]
    # Panel heights follow the layer sizes, but a small layer still gets a readable panel.
    ratios = [max(size, sum(sizes) / 8) for size in sizes]
    axes_list = figure.subplots(len(layers), 1, sharex=True, gridspec_kw={"height_ratios": ratios})
    axes_list = np.atleast_1d(axes_list)
    for axes, (name, counts) in zip(axes_list, layers.items()):
        counts = np.asarray(counts)
        steps, size = counts.shape
        times, rows = np.nonzero(counts)
        marker = float(np.clip(1500 / max(size, 1), 4, 40))
        shade = np.clip(counts[times, rows] / max(int(counts.max(initial=1)), 1), 0.35, 1.0)
        axes.scatter(
            times, rows, s=marker, marker="|", c=shade, cmap="Greys", vmin=0, vmax=1, linewidths=1.2
        )
        axes.set_ylim(-0.8, size - 0.2)
        axes.set_xlim(-0.5, steps - 0.5)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        axes.set_ylabel(f"{name}\n({size})", fontsize="small")
        text = (labels or {}).get(name)
        if text:
            axes.text(
                1.005, 0.5, text, transform=axes.transAxes, fontsize="small", va="center", ha="left"
            )
    axes_list[-1].set_xlabel("time step")
    axes_list[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    if title:
        figure.suptitle(title, fontsize="medium")
    figure.savefig(path, dpi=DPI)


def plot_energy_breakdown(breakdowns, path, *, title: str | None = None) -> None:
    """A bar chart of estimated energy per inference by part, one group of bars per device.

    ``breakdowns``: ``{device label: {part: (nominal, low, high)}}`` in uJ (the
    ``breakdown`` of :class:`neurohw.flows.energy.EnergyEstimate`); each bar's whisker spans
    its low..high bound. The axis is logarithmic: parts differ by orders of magnitude.
    """
    if not breakdowns:
        raise ValueError("plot_energy_breakdown needs at least one device")
    parts = list(next(iter(breakdowns.values())))
    figure = Figure(figsize=(11.0, 5.0), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    width = 0.8 / len(breakdowns)
    x = np.arange(len(parts))
    for k, (device, breakdown) in enumerate(breakdowns.items()):
        nominal = np.array([breakdown[part][0] for part in parts])
        low = np.array([breakdown[part][1] for part in parts])
        high = np.array([breakdown[part][2] for part in parts])
        total = nominal.sum()
        axes.bar(
            x + (k - (len(breakdowns) - 1) / 2) * width,
            nominal,
            width,
            yerr=[nominal - low, high - nominal],
            capsize=3,
            label=f"{device}: {total:.3g} uJ in all",
        )
    axes.set_xticks(x, parts, rotation=30, ha="right", fontsize="small")
    axes.set_yscale("log")
    axes.set_ylabel("uJ per inference (estimate)")
    axes.legend(fontsize="small")
    axes.set_title(title or "Estimated energy per inference by part (low..high)", fontsize="medium")
    figure.tight_layout()
    # Without a Software entry the bytes do not depend on the installed matplotlib version.
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
