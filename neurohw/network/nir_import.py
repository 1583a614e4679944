"""NIR import: a ``nir.NIRGraph`` (or a NIR file) to a :class:`FloatNetwork`.

NIR describes neurons in continuous time and fixes no time step; exporters disagree (snnTorch
writes ``dt = 1e-4``-based parameters, Norse ``r = 1``), so :func:`import_nir` takes ``dt`` as a
required argument and the ``discretization`` explicitly. ``docs/frontends.md`` is the user-facing
description; in short:

* ``Input`` nodes become input groups; ``LIF``, ``CubaLIF``, ``IF`` become spiking populations,
  ``LI``, ``CubaLI`` non-spiking readout populations.
* Every chain of linear nodes between two of those (``Affine``, ``Linear``, ``Scale``,
  ``Flatten``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``, and nested ``NIRGraph`` s, which are
  inlined) is multiplied out into one dense float projection (convolutions and pooling become
  zero-filled dense matrices); edges into one node add up; biases become a constant drive of the
  target population.
* ``timing="same_step"`` (the trainers' timing, the default of the snnTorch, Norse, Sinabs and
  Rockpool profiles): an edge between populations acts in the same step, except recurrent edges
  (those that close a cycle, found by a depth-first walk from the inputs), which take one step.
  ``timing="one_step"`` (the default for plain NIR, as Loihi and Xylo run it): every edge that
  ends at a population takes one step. A cycle of linear nodes alone (an algebraic loop) is
  refused.
* ``exporter=`` applies what one framework's exporter leaves out of the file (an
  :class:`ExporterProfile`: its time step, reset, spike test, multi-spike and per-step factors;
  ``docs/frontends.md`` "Exporter profiles").
* ``Output`` nodes name the output populations; an ``Output`` must be fed by populations
  directly (through ``Flatten`` at most).

Anything else is refused with :class:`NIRImportError`, whose message names the node, its type, the
offending parameter or value and what is supported.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .floatnet import (
    DISCRETIZATIONS,
    RESETS,
    FloatInput,
    FloatNetwork,
    FloatPopulation,
    FloatProjection,
)

__all__ = [
    "NIRImportError",
    "import_nir",
    "SUPPORTED_NODES",
    "SNNTORCH_DT",
    "NORSE_DT",
    "EXPORTERS",
    "TIMINGS",
    "ExporterProfile",
    "PROFILES",
]

#: The time step snnTorch's ``export_to_nir`` assumes (``tau = dt / (1 - beta)``, ``r = tau/dt``).
SNNTORCH_DT = 1e-4
#: Norse's default time step (its exporter writes ``r = 1``).
NORSE_DT = 1e-3

NEURON_NODES = ("LIF", "CubaLIF", "IF", "LI", "CubaLI")
LINEAR_NODES = ("Affine", "Linear", "Scale", "Flatten", "Conv2d", "SumPool2d", "AvgPool2d")
SUPPORTED_NODES = ("Input", "Output", *LINEAR_NODES, *NEURON_NODES, "NIRGraph")
_SUPPORTED_TEXT = ", ".join(SUPPORTED_NODES)
#: Largest dense matrix (entries) a lowered convolution or pooling may produce.
MAX_DENSE_ENTRIES = 1 << 26
#: When edges between populations act: in the step the source spikes, or one step later.
TIMINGS = ("same_step", "one_step")
#: Largest spike count per step the multi-spike profiles keep (Sinabs is unbounded, Rockpool
#: caps at 2^16): the integer neuron's largest ``max_spikes``. A neuron of these frameworks
#: that would spike more often in one step is the one place their import is not exact.
MULTI_SPIKE_CAP = 255


@dataclass(frozen=True)
class ExporterProfile:
    """What one framework's NIR exporter leaves out of the file (``docs/frontends.md``,
    "Exporter profiles"; checked against the frameworks' own outputs in
    ``tests/data/trainers``). ``dt`` is the exporter's fixed time step (None: the caller must
    give it); ``timing``, ``reset``, ``reset_delay``, ``comparison`` and ``max_spikes`` are the
    framework's defaults, each overridable by :func:`import_nir`'s argument of the same name;
    ``factors`` names how the per-step factors are recovered from the file."""

    name: str
    dt: float | None
    timing: str
    reset: str
    reset_delay: bool
    comparison: str
    max_spikes: int
    factors: str


PROFILES = {
    "nir": ExporterProfile("nir", None, "one_step", "value", False, ">", 1, "euler"),
    # snnTorch: Leaky m = clamp(beta) m + I - s_prev theta; the file holds the raw beta, whose
    # tau is negative when beta > 1; the reset mechanism and reset_delay are not written.
    "snntorch": ExporterProfile(
        "snntorch", SNNTORCH_DT, "same_step", "subtract", True, ">", 1, "snntorch"
    ),
    # Norse writes tau multiplied by dt (norse issue 411) and no input scale for LIFCell, whose
    # current takes this step's input before it reaches v.
    "norse": ExporterProfile("norse", NORSE_DT, "same_step", "value", False, ">", 1, "norse"),
    # Sinabs IAF: v += I; n = trunc(v / theta) spikes (MultiSpike), v -= n theta; dt = 1.
    "sinabs": ExporterProfile(
        "sinabs", 1.0, "same_step", "subtract", False, ">=", MULTI_SPIKE_CAP, "euler"
    ),
    # Rockpool LIFTorch: i = exp(-dt/tau_syn) (i + I); v = exp(-dt/tau_mem) v + i; n =
    # floor(v / theta) for v >= theta, v -= n theta. dt follows from r (module docs).
    "rockpool": ExporterProfile(
        "rockpool", None, "same_step", "subtract", False, ">=", MULTI_SPIKE_CAP, "rockpool"
    ),
}
EXPORTERS = tuple(PROFILES)


class NIRImportError(ValueError):
    """A NIR graph uses something the importer does not support (the message says what)."""


def _node_error(name, node, message) -> NIRImportError:
    return NIRImportError(f"NIR node {name!r} ({type(node).__name__}): {message}")


def _describe(value) -> str:
    array = np.asarray(value)
    if array.size == 1:
        return f"{float(array.reshape(-1)[0]):g}"
    return f"values from {float(array.min()):g} to {float(array.max()):g}"


# --- graph flattening ------------------------------------------------------------------------


def _inline(graph, prefix=""):
    """Nodes and edges of ``graph`` with nested NIRGraphs inlined (their Input/Output nodes
    become pass-through nodes named ``outer.inner``)."""
    import nir

    nodes, edges = {}, []
    entry, exit_ = {}, {}
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _inline(node, prefix=f"{full}.")
            inputs = [n for n, v in node.nodes.items() if isinstance(v, nir.Input)]
            outputs = [n for n, v in node.nodes.items() if isinstance(v, nir.Output)]
            if len(inputs) != 1 or len(outputs) != 1:
                raise _node_error(
                    full,
                    node,
                    f"a nested graph must have exactly one Input and "
                    f"one Output node to be inlined, not "
                    f"{len(inputs)} and {len(outputs)}",
                )
            for sub_name, sub in sub_nodes.items():
                nodes[sub_name] = sub
            edges.extend(sub_edges)
            entry[full] = f"{full}.{inputs[0]}"
            exit_[full] = f"{full}.{outputs[0]}"
            # Mark the nested Input/Output as pass-through (identity) nodes.
            nodes[entry[full]] = _PassThrough(node.nodes[inputs[0]])
            nodes[exit_[full]] = _PassThrough(node.nodes[outputs[0]])
        else:
            nodes[full] = node
    for source, target in graph.edges:
        source, target = f"{prefix}{source}", f"{prefix}{target}"
        # An edge may name a nested graph's node directly as "sub.node".
        edges.append((exit_.get(source, source), entry.get(target, target)))
    return nodes, edges


class _PassThrough:
    """The Input or Output node of an inlined nested graph: the identity."""

    def __init__(self, node):
        self.node = node


# --- shapes and linear maps ------------------------------------------------------------------


def _as_shape(value):
    if value is None:
        return None
    if isinstance(value, dict):
        value = next(iter(value.values()), None)
        if value is None:
            return None
    array = np.asarray(value).reshape(-1)
    return tuple(int(x) for x in array)


def _pair(value, name, node_name, node, low):
    if isinstance(value, str):
        raise _node_error(node_name, node, f"{name}={value!r} is not supported here")
    array = np.asarray(value).reshape(-1)
    if array.size == 1:
        array = np.repeat(array, 2)
    if array.size != 2 or not np.all(np.equal(np.mod(array, 1), 0)):
        raise _node_error(
            node_name, node, f"{name}={value!r} must be one integer or a pair of integers"
        )
    pair = (int(array[0]), int(array[1]))
    if min(pair) < low:
        raise _node_error(
            node_name, node, f"{name}={pair} is not supported; supported: integers >= {low}"
        )
    return pair


def _check_dense(name, node, rows, cols):
    if rows * cols > MAX_DENSE_ENTRIES:
        raise _node_error(
            name,
            node,
            f"lowering to a dense ({rows} x {cols}) matrix exceeds "
            f"{MAX_DENSE_ENTRIES} entries; supported: smaller layers",
        )


def _conv2d_matrix(name, node, in_shape):
    weight = np.asarray(node.weight, dtype=np.float64)
    if weight.ndim != 4:
        raise _node_error(
            name,
            node,
            f"weight has shape {weight.shape}; supported: 4-D (C_out, C_in/groups, K_h, K_w)",
        )
    if len(in_shape) != 3:
        raise _node_error(name, node, f"input shape {in_shape} is not (C, H, W)")
    c_in, height, width = in_shape
    c_out, c_per_group, k_h, k_w = weight.shape
    groups = node.groups
    if (
        isinstance(groups, bool)
        or not isinstance(groups, numbers.Integral)
        or groups < 1
        or c_in % groups
        or c_out % groups
        or c_in // groups != c_per_group
    ):
        raise _node_error(
            name,
            node,
            f"groups={groups!r} does not fit C_in={c_in}, "
            f"C_out={c_out} and weight shape {weight.shape}; "
            f"supported: groups dividing both with C_in/groups = "
            f"weight.shape[1]",
        )
    declared = (
        None
        if node.input_shape is None
        else tuple(int(x) for x in np.asarray(node.input_shape).reshape(-1))
    )
    if declared is not None and declared != (height, width):
        raise _node_error(
            name, node, f"input_shape={declared} disagrees with the incoming shape {in_shape}"
        )
    stride = _pair(node.stride, "stride", name, node, 1)
    dilation = _pair(node.dilation, "dilation", name, node, 1)
    if isinstance(node.padding, str):
        if node.padding == "valid":
            pad_before = (0, 0)
            out_h = (height - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
            out_w = (width - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
        elif node.padding == "same":
            if stride != (1, 1):
                raise _node_error(
                    name,
                    node,
                    f"padding='same' with stride={stride} is not "
                    f"supported; supported: padding='same' with "
                    f"stride 1, or integer padding",
                )
            pad_before = (dilation[0] * (k_h - 1) // 2, dilation[1] * (k_w - 1) // 2)
            out_h, out_w = height, width
        else:
            raise _node_error(
                name,
                node,
                f"padding={node.padding!r} is not supported; "
                f"supported: 'valid', 'same', integers >= 0",
            )
    else:
        pad_before = _pair(node.padding, "padding", name, node, 0)
        out_h = (height + 2 * pad_before[0] - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
        out_w = (width + 2 * pad_before[1] - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    if out_h < 1 or out_w < 1:
        raise _node_error(
            name, node, f"the kernel does not fit the input {in_shape} (output {out_h} x {out_w})"
        )
    _check_dense(name, node, c_in * height * width, c_out * out_h * out_w)
    matrix = np.zeros((c_in * height * width, c_out * out_h * out_w))
    oy, ox = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    out_pos = oy * out_w + ox
    for co in range(c_out):
        group = co // (c_out // groups)
        for k in range(c_per_group):
            ci = group * c_per_group + k
            for ky in range(k_h):
                iy = oy * stride[0] - pad_before[0] + ky * dilation[0]
                for kx in range(k_w):
                    ix = ox * stride[1] - pad_before[1] + kx * dilation[1]
                    valid = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
                    rows = ci * height * width + iy[valid] * width + ix[valid]
                    cols = co * out_h * out_w + out_pos[valid]
                    matrix[rows, cols] += weight[co, k, ky, kx]
    bias = np.asarray(node.bias, dtype=np.float64).reshape(-1)
    if bias.size == 1:
        bias = np.repeat(bias, c_out)
    if bias.size != c_out:
        raise _node_error(
            name, node, f"bias has {bias.size} values; supported: one per output channel ({c_out})"
        )
    return matrix, np.repeat(bias, out_h * out_w), (c_out, out_h, out_w)


def _conv_structure(node, in_shape, pool_node=None, pool_in_shape=None):
    """``(ConvSpec, float kernel)`` of a ``Conv2d`` node that a convolution core can hold, or
    ``None`` (grouped, or a stride, kernel or dilation outside :mod:`neurohw.hw.conv`'s limits):
    the projection then keeps only its dense lowering (``docs/frontends.md``). With
    ``pool_node`` (a ``SumPool2d`` or ``AvgPool2d`` in front, whose input is
    ``pool_in_shape``): the pooled conv on the pre-pool map, or ``None`` where the pooling is
    not one a convolution core implements (overlapping windows, padding)."""
    from ..hw.conv import ConvSpec, pool_window

    weight = np.asarray(node.weight, dtype=np.float64)
    pool = None
    if pool_node is not None:
        try:
            pool = pool_window(pool_node.kernel_size, pool_node.stride, pool_node.padding)
        except (TypeError, ValueError):
            return None
        if type(pool_node).__name__ == "AvgPool2d":
            # An average is the sum times 1 / (ph * pw): the kernel takes the factor.
            weight = weight / (pool[0] * pool[1])
        in_shape = pool_in_shape
    if node.groups != 1:
        return None
    padding = node.padding
    if not isinstance(padding, str):
        padding = tuple(int(v) for v in np.asarray(padding).reshape(-1))
        padding = padding[0] if len(padding) == 1 else padding
    stride = tuple(int(v) for v in np.asarray(node.stride).reshape(-1))
    dilation = tuple(int(v) for v in np.asarray(node.dilation).reshape(-1))
    try:
        spec = ConvSpec(
            tuple(int(v) for v in in_shape),
            weight.shape[0],
            weight.shape[2:],
            stride=stride[0] if len(stride) == 1 else stride,
            padding=padding,
            dilation=dilation[0] if len(dilation) == 1 else dilation,
            pool=pool,
        )
    except (TypeError, ValueError):
        return None
    return spec, weight


def _pool2d_matrix(name, node, in_shape, average):
    if len(in_shape) != 3:
        raise _node_error(name, node, f"input shape {in_shape} is not (C, H, W)")
    channels, height, width = in_shape
    kernel = _pair(node.kernel_size, "kernel_size", name, node, 1)
    stride = _pair(
        node.stride if node.stride is not None else node.kernel_size, "stride", name, node, 1
    )
    padding = _pair(node.padding, "padding", name, node, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise _node_error(
            name,
            node,
            f"padding={padding} is not supported with "
            f"kernel_size={kernel}; supported: padding at most half "
            f"the kernel size",
        )
    out_h = (height + 2 * padding[0] - kernel[0]) // stride[0] + 1
    out_w = (width + 2 * padding[1] - kernel[1]) // stride[1] + 1
    if out_h < 1 or out_w < 1:
        raise _node_error(name, node, f"the kernel does not fit the input {in_shape}")
    _check_dense(name, node, channels * height * width, channels * out_h * out_w)
    matrix = np.zeros((channels * height * width, channels * out_h * out_w))
    value = 1.0 / (kernel[0] * kernel[1]) if average else 1.0
    oy, ox = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    for c in range(channels):
        for ky in range(kernel[0]):
            iy = oy * stride[0] - padding[0] + ky
            for kx in range(kernel[1]):
                ix = ox * stride[1] - padding[1] + kx
                valid = (iy >= 0) & (iy < height) & (ix >= 0) & (ix < width)
                rows = c * height * width + iy[valid] * width + ix[valid]
                cols = c * out_h * out_w + (oy * out_w + ox)[valid]
                matrix[rows, cols] += value
    return matrix, np.zeros(matrix.shape[1]), (channels, out_h, out_w)


def _flatten_shape(name, node, in_shape):
    ndim = len(in_shape)
    start, end = int(node.start_dim), int(node.end_dim)
    start_i = start + ndim if start < 0 else start
    end_i = end + ndim if end < 0 else end
    if not (0 <= start_i <= end_i < ndim):
        raise _node_error(
            name, node, f"start_dim={start}, end_dim={end} do not fit the input shape {in_shape}"
        )
    return (
        in_shape[:start_i] + (int(np.prod(in_shape[start_i : end_i + 1])),) + in_shape[end_i + 1 :]
    )


def _linear_map(name, node, in_shape):
    """``(matrix (in, out) or None for identity, bias (out,), out_shape)``."""
    kind = type(node).__name__
    size = int(np.prod(in_shape))
    if kind in ("Affine", "Linear"):
        weight = np.asarray(node.weight, dtype=np.float64)
        if weight.ndim != 2:
            raise _node_error(
                name, node, f"weight has shape {weight.shape}; supported: 2-D (out, in)"
            )
        if weight.shape[1] != size:
            raise _node_error(
                name,
                node,
                f"weight expects {weight.shape[1]} inputs, but the "
                f"incoming shape is {in_shape} ({size} values)",
            )
        bias = (
            np.asarray(node.bias, dtype=np.float64).reshape(-1)
            if kind == "Affine"
            else np.zeros(weight.shape[0])
        )
        if bias.size == 1 and weight.shape[0] != 1:
            bias = np.repeat(bias, weight.shape[0])
        if bias.size != weight.shape[0]:
            raise _node_error(
                name,
                node,
                f"bias has {bias.size} values; supported: one per output ({weight.shape[0]})",
            )
        return weight.T.copy(), bias, (weight.shape[0],)
    if kind == "Scale":
        scale = np.asarray(node.scale, dtype=np.float64).reshape(-1)
        if scale.size == 1:
            scale = np.repeat(scale, size)
        if scale.size != size:
            raise _node_error(
                name,
                node,
                f"scale has {scale.size} values, but the incoming "
                f"shape is {in_shape} ({size} values)",
            )
        return np.diag(scale), np.zeros(size), in_shape
    if kind == "Flatten":
        return None, np.zeros(size), _flatten_shape(name, node, in_shape)
    if kind == "Conv2d":
        return _conv2d_matrix(name, node, in_shape)
    if kind in ("SumPool2d", "AvgPool2d"):
        return _pool2d_matrix(name, node, in_shape, average=(kind == "AvgPool2d"))
    raise AssertionError(kind)


# --- neurons -----------------------------------------------------------------------------------

_NEURON_FIELDS = {
    "LIF": ("tau", "r", "v_leak", "v_threshold", "v_reset"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold", "v_reset", "w_in"),
    "IF": ("r", "v_threshold", "v_reset"),
    "LI": ("tau", "r", "v_leak"),
    "CubaLI": ("tau_syn", "tau_mem", "r", "v_leak", "w_in"),
}


def _neuron_size(name, node):
    """Size from the parameters; None when every parameter is a scalar (snnTorch writes 0-d
    parameters for a scalar ``beta``), to be taken from the incoming edges."""
    shapes = {}
    for field_name in _NEURON_FIELDS[type(node).__name__]:
        value = getattr(node, field_name, None)
        if value is None:
            continue
        array = np.asarray(value)
        if array.size != 1:
            shapes[field_name] = array.shape
    if not shapes:
        return None, None
    distinct = set(shapes.values())
    if len(distinct) > 1:
        raise _node_error(
            name,
            node,
            f"parameters have different shapes {shapes}; supported: one shape, or scalars",
        )
    shape = distinct.pop()
    return int(np.prod(shape)), tuple(int(s) for s in shape)


def _rockpool_dt(name, node) -> float:
    """Rockpool writes ``r = tau_mem exp(-dt / tau_mem) / dt``; solve it for ``dt``."""
    tau = float(np.asarray(node.tau_mem, dtype=np.float64).reshape(-1)[0])
    r = float(np.asarray(node.r, dtype=np.float64).reshape(-1)[0])
    # With u = dt / tau: r = exp(-u) / u, i.e. f(u) = r u - exp(-u) = 0, f increasing in u:
    # bisection.
    k = r
    low, high = 0.0, 1.0
    while k * high - math.exp(-high) < 0:
        high *= 2
        if high > 1e6:
            raise _node_error(
                name, node, f"cannot recover Rockpool's dt from r={r:g}, tau_mem={tau:g}; pass dt="
            )
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if k * mid - math.exp(-mid) < 0 else (low, mid)
    return (low + high) / 2 * tau


def _factors(profile, kind, params, dt):
    """The per-step factors of a profile that are not NIR's Euler step (floatnet keep_mem,
    keep_syn, gain), from the file's raw parameters."""
    if profile.factors == "snntorch":
        # beta = 1 - dt / tau (snnTorch wrote tau = dt / (1 - beta)), clamped as its forward
        # clamps it; the input gain a r (c w_in) is 1 for every beta, a negative tau included.
        out = {}
        tau = params["tau"] if kind in ("LIF", "LI") else params.get("tau_mem")
        if tau is not None:
            out["keep_mem"] = np.clip(1.0 - dt / tau, 0.0, 1.0)
            gain = dt / tau * params["r"]
            if "tau_syn" in params:
                out["keep_syn"] = np.clip(1.0 - dt / params["tau_syn"], 0.0, 1.0)
                gain = gain * dt / params["tau_syn"] * params["w_in"]
            out["gain"] = gain
        return out
    if profile.factors == "norse" and kind in ("CubaLIF", "CubaLI"):
        # LIFCell: i' = i + I; v += dt/tau_mem (v_leak - v + i'); i = (1 - dt/tau_syn) i'.
        return {"gain": dt / params["tau_mem"] * params["r"]}
    if profile.factors == "rockpool" and kind in ("CubaLIF", "CubaLI"):
        # i = exp(-dt/tau_syn) (i + I): the current decays before it reaches v.
        keep_syn = np.exp(-dt / params["tau_syn"])
        return {"keep_mem": np.exp(-dt / params["tau_mem"]), "keep_syn": keep_syn, "gain": keep_syn}
    if profile.factors == "rockpool" and kind in ("LIF", "LI"):
        return {"keep_mem": np.exp(-dt / params["tau"]), "gain": np.ones_like(params["tau"])}
    return {}


def _population(name, pop_name, node, size, dt, discretization, reset, profile, options):
    kind = type(node).__name__
    params = {}
    for field_name in _NEURON_FIELDS[kind]:
        value = getattr(node, field_name, None)
        if value is None:
            continue
        array = np.asarray(value, dtype=np.float64).reshape(-1)
        if not np.all(np.isfinite(array)):
            raise _node_error(
                name, node, f"{field_name} must be finite, not {np.asarray(value).tolist()}"
            )
        if array.size not in (1, size):
            raise _node_error(
                name, node, f"{field_name} has {array.size} values but the node receives {size}"
            )
        params[field_name] = array
    if profile.factors == "norse":
        # Norse writes dt * tau (norse issue 411): the real tau is the file's over dt.
        for tau_name in ("tau", "tau_mem", "tau_syn"):
            if tau_name in params:
                params[tau_name] = params[tau_name] / dt
    factors = _factors(profile, kind, params, dt)
    for tau_name in ("tau", "tau_mem", "tau_syn"):
        if tau_name in params and profile.factors != "snntorch":
            tau = params[tau_name]
            if np.any(tau <= 0):
                raise _node_error(
                    name, node, f"{tau_name} must be positive, not {_describe(tau[tau <= 0])}"
                )
            if discretization == "euler" and np.any(dt / tau > 1):
                raise _node_error(
                    name,
                    node,
                    f"{tau_name}={_describe(tau.min())} is shorter than dt={dt:g}: "
                    f"forward Euler needs dt/{tau_name} <= 1. Check dt (snnTorch "
                    f"exports assume dt={SNNTORCH_DT:g}, Norse dt={NORSE_DT:g}) or "
                    f"use discretization='exact'",
                )
    v_reset = 0.0
    if "v_reset" in params:
        values = params["v_reset"]
        if np.ptp(values) != 0:
            raise _node_error(
                name,
                node,
                f"v_reset has different values per neuron "
                f"({_describe(values)}); supported: one v_reset "
                f"shared by the population",
            )
        v_reset = float(values[0])
    spiking = kind in ("LIF", "CubaLIF", "IF")
    common = dict(
        name=pop_name,
        size=size,
        model=kind,
        r=params["r"],
        v_reset=v_reset,
        reset=reset if spiking else "value",
        origin=f"NIR node {name!r} ({kind})",
        **factors,
    )
    if spiking:
        common.update(
            reset_delay=options["reset_delay"] and reset == "subtract",
            recheck_reset=(
                profile.name == "snntorch" and reset == "subtract" and not options["reset_delay"]
            ),
            comparison=options["comparison"],
            max_spikes=options["max_spikes"] if reset == "subtract" else 1,
        )
    overridden = {"keep_mem", "keep_syn"} & set(factors)
    if kind in ("LIF", "LI"):
        common.update(
            tau_mem=None if "keep_mem" in overridden else params["tau"], v_leak=params["v_leak"]
        )
    if kind in ("CubaLIF", "CubaLI"):
        common.update(
            tau_mem=None if "keep_mem" in overridden else params["tau_mem"],
            tau_syn=None if "keep_syn" in overridden else params["tau_syn"],
            v_leak=params["v_leak"],
            w_in=params["w_in"],
        )
    if spiking:
        common.update(v_threshold=params["v_threshold"])
    return common


# --- the importer ------------------------------------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _recurrent_edges(edges, inputs) -> set:
    """The edges that close a cycle: back edges of a depth-first walk from the inputs (in
    graph order), then from any population not reached. A trainer computes the layers in that
    order, so these are the edges that carry the previous step's spikes."""
    successors: dict = {}
    for source, target in edges:
        successors.setdefault(source, []).append(target)
    back, done, on_stack = set(), set(), set()
    starts = list(inputs) + [source for source, _ in edges] + [target for _, target in edges]
    for start in starts:
        if start in done:
            continue
        stack = [(start, iter(successors.get(start, ())))]
        on_stack.add(start)
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                on_stack.discard(node)
                done.add(node)
            elif child in on_stack:
                back.add((node, child))
            elif child not in done:
                on_stack.add(child)
                stack.append((child, iter(successors.get(child, ()))))
    return back


def _network_name(nir_name: str, kind: str, taken: set) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", nir_name)
    if not _NAME.match(name):
        name = f"{kind.lower()}_{name}"
    base, k = name, 1
    while name in taken:
        name = f"{base}_{k}"
        k += 1
    taken.add(name)
    return name


def _check_finite(graph) -> None:
    """Refuse a NaN or infinite weight or bias where the file holds it (a NaN weight would
    otherwise surface as a NaN bias of the population it feeds, folded in further on). Neuron
    parameters are checked with the neuron (:func:`_population`)."""
    for name, node in graph.nodes.items():
        if type(node).__name__ in _NEURON_FIELDS:
            continue
        for field, value in sorted(vars(node).items()):
            if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
                bad = np.argwhere(~np.isfinite(value))
                if len(bad):
                    index = tuple(int(i) for i in bad[0])
                    raise _node_error(
                        name, node, f"{field} must be finite, not {value[index]} at {list(index)}"
                    )


def import_nir(
    graph_or_path,
    *,
    dt: float | None = None,
    exporter: str = "nir",
    timing: str | None = None,
    discretization: str = "euler",
    reset: str | None = None,
    reset_delay: bool | None = None,
    max_spikes: int | None = None,
    input_max_count: int = 1,
    real_valued_input: bool = False,
    check_metadata_dt: bool = True,
) -> FloatNetwork:
    """Import a NIR graph (a ``nir.NIRGraph`` or a path to a NIR HDF5 file).

    Parameters
    ----------
    dt : float
        The time step in seconds. NIR fixes none: required for ``exporter="nir"`` and
        ``"rockpool"`` when it cannot be recovered; the snnTorch (``SNNTORCH_DT``, 1e-4, which
        its exporter hard-codes), Norse (``NORSE_DT``, 1e-3, its default) and Sinabs (1)
        profiles default to their framework's. Use the ``dt`` the model was trained with;
        ``model.dt`` for :mod:`neurohw.train.digits`.
    exporter : ``"nir"`` (the file as NIR defines it), ``"snntorch"``, ``"norse"``,
        ``"sinabs"`` or ``"rockpool"``: the framework that wrote the file, whose conventions
        the file leaves out (:data:`PROFILES`, ``docs/frontends.md`` "Exporter profiles").
    timing : ``"same_step"`` (the trainers': a layer sees the previous layer's spikes of the
        same step; recurrent edges one step) or ``"one_step"`` (every edge into a population
        takes one step). Default: the profile's (``"one_step"`` for ``"nir"``, ``"same_step"``
        for the four frameworks).
    discretization : ``"euler"`` (default; forward Euler, as snnTorch, Norse and Loihi's
        ``du = 4096*dt/tau`` mapping assume) or ``"exact"`` (zero-order hold,
        ``1 - exp(-dt/tau)``); profiles that recover their framework's own factors ignore it.
    reset : ``"value"`` (NIR: ``v = v_reset`` after a spike) or ``"subtract"``
        (``v -= v_threshold``); default: the profile's (snnTorch's default mechanism
        ``"subtract"``; pass ``"value"`` for ``reset_mechanism="zero"``).
    reset_delay : snnTorch's ``reset_delay`` (default True: the threshold is subtracted in the
        next step); only with ``reset="subtract"``.
    max_spikes : the most spikes a neuron emits in one step (subtractive reset); default: the
        profile's (255, the integer neuron's limit, for Sinabs' MultiSpike and Rockpool;
        1 otherwise).
    input_max_count : largest spike count per input line and step.
    real_valued_input : the Input nodes carry real values (snnTorch direct encoding) instead of
        spike counts; quantize them with ``quantize(..., input_bits=K)``.
    check_metadata_dt : refuse a ``dt`` that disagrees with a ``dt`` stored in the graph's
        metadata (as :mod:`neurohw.train.digits` writes).
    """
    import nir

    if exporter not in PROFILES:
        raise NIRImportError(
            f"exporter must be one of {', '.join(map(repr, EXPORTERS))}, not {exporter!r}"
        )
    profile = PROFILES[exporter]
    timing = profile.timing if timing is None else timing
    if timing not in TIMINGS:
        raise NIRImportError(
            f"timing must be one of {', '.join(map(repr, TIMINGS))}, not {timing!r}"
        )
    reset = profile.reset if reset is None else reset
    reset_delay = profile.reset_delay if reset_delay is None else reset_delay
    if not isinstance(reset_delay, bool):
        raise NIRImportError(f"reset_delay must be True or False, not {reset_delay!r}")
    if reset_delay and reset != "subtract":
        if exporter == "snntorch" and reset == "value":
            reset_delay = False  # snnTorch's zero reset lands before the decay anyway
        else:
            raise NIRImportError(f"reset_delay=True needs reset='subtract', not {reset!r}")
    max_spikes = profile.max_spikes if max_spikes is None else max_spikes
    if (
        isinstance(max_spikes, bool)
        or not isinstance(max_spikes, numbers.Integral)
        or not 1 <= max_spikes <= MULTI_SPIKE_CAP
    ):
        raise NIRImportError(
            f"max_spikes must be an integer between 1 and {MULTI_SPIKE_CAP}, not {max_spikes!r}"
        )
    if not isinstance(real_valued_input, bool):
        raise NIRImportError(f"real_valued_input must be True or False, not {real_valued_input!r}")
    options = {
        "reset_delay": reset_delay,
        "comparison": profile.comparison,
        "max_spikes": int(max_spikes),
    }
    if dt is None:
        dt = profile.dt
    if dt is None and exporter != "rockpool":
        raise NIRImportError(
            f"dt is required for exporter={exporter!r}: NIR fixes no time "
            f"step; pass the dt the model was trained with"
        )
    if dt is not None and (
        isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not math.isfinite(dt) or dt <= 0
    ):
        raise NIRImportError(f"dt must be a positive, finite time step in seconds, not {dt!r}")
    if discretization not in DISCRETIZATIONS:
        raise NIRImportError(
            f"discretization must be one of "
            f"{', '.join(map(repr, DISCRETIZATIONS))}, not {discretization!r}"
        )
    if reset not in RESETS:
        raise NIRImportError(f"reset must be one of {', '.join(map(repr, RESETS))}, not {reset!r}")
    if isinstance(graph_or_path, (str, Path)):
        # nir.read's own type check rejects e.g. snnTorch's Input with a batch dimension;
        # the importer checks shapes itself.
        try:
            graph = nir.read(graph_or_path, type_check=False)
        except (OSError, KeyError, ValueError, TypeError) as error:
            # h5py's message names neither the file nor what is wrong with it for a user.
            reason = getattr(error, "strerror", None) or str(error)
            # h5py: "Unable to synchronously open file (truncated file: eof = 300, ...)";
            # the words in the parentheses say what is wrong with the file.
            detail = re.search(r"\(([^():,=]+)", reason)
            reason = detail.group(1).strip() if detail else reason
            raise NIRImportError(
                f"cannot read {graph_or_path}: not a readable NIR (HDF5) file ({reason})"
            ) from None
    else:
        graph = graph_or_path
    if not isinstance(graph, nir.NIRGraph):
        raise NIRImportError(
            f"expected a nir.NIRGraph or a path to a NIR file, not {type(graph_or_path).__name__}"
        )
    _check_finite(graph)
    if dt is None:  # Rockpool: dt follows from the first CubaLIF's r and tau_mem
        found = [(n, v) for n, v in graph.nodes.items() if isinstance(v, nir.CubaLIF)]
        if not found:
            raise NIRImportError(
                "dt is required: the graph has no CubaLIF to recover Rockpool's dt from"
            )
        dt = _rockpool_dt(*found[0])
    dt = float(dt)
    metadata = getattr(graph, "metadata", None) or {}
    if check_metadata_dt and "dt" in metadata:
        stored = float(np.asarray(metadata["dt"]).reshape(-1)[0])
        if not math.isclose(stored, dt, rel_tol=1e-9):
            raise NIRImportError(
                f"dt={dt:g} disagrees with the graph's metadata dt={stored:g}; "
                f"pass dt={stored:g} (or check_metadata_dt=False)"
            )

    nodes, edges = _inline(graph)
    for name, node in nodes.items():
        if isinstance(node, _PassThrough):
            continue
        kind = type(node).__name__
        if kind not in SUPPORTED_NODES:
            raise _node_error(
                name, node, f"node type {kind} is not supported; supported: {_SUPPORTED_TEXT}"
            )
    for source, target in edges:
        for end in (source, target):
            if end not in nodes:
                raise NIRImportError(f"edge ({source!r}, {target!r}) names an unknown node {end!r}")
    predecessors = {name: [] for name in nodes}
    for source, target in edges:
        predecessors[target].append(source)
    for name, node in nodes.items():
        if isinstance(node, nir.Input) and predecessors[name]:
            raise _node_error(
                name, node, f"an Input node cannot receive edges (from {predecessors[name]})"
            )

    def kind_of(name):
        node = nodes[name]
        return "PassThrough" if isinstance(node, _PassThrough) else type(node).__name__

    # Shapes, sizes and linear maps. Sources (Input, neurons) start chains; a neuron's shape
    # comes from its parameters or, if they are scalars, from its inputs.
    out_shape: dict[str, tuple] = {}
    maps: dict[str, tuple] = {}
    convs: dict[str, tuple | None] = {}  # Conv2d node -> (ConvSpec, float kernel) or None
    for name, node in nodes.items():
        kind = kind_of(name)
        if kind == "Input":
            shape = _as_shape(node.input_type)
            if shape is None:
                raise _node_error(name, node, "the Input node has no shape")
            out_shape[name] = shape
        elif kind in NEURON_NODES:
            size, shape = _neuron_size(name, node)
            if size is not None:
                out_shape[name] = shape

    def shape_of(name, visiting=()):
        if name in out_shape:
            return out_shape[name]
        node = nodes[name]
        if name in visiting:
            raise _node_error(
                name,
                node,
                "the node lies on a cycle of linear nodes (an "
                "algebraic loop); supported: cycles that pass through "
                "a neuron population (they take one step)",
            )
        preds = predecessors[name]
        if not preds:
            raise _node_error(
                name, node, "the node has no incoming edge, so its input shape is unknown"
            )
        shapes = [shape_of(p, visiting + (name,)) for p in preds]
        sizes = {int(np.prod(s)) for s in shapes}
        if len(sizes) > 1:
            raise _node_error(
                name,
                node,
                f"incoming edges from {preds} have different sizes {[tuple(s) for s in shapes]}",
            )
        in_shape = shapes[0]
        kind = kind_of(name)
        if kind in LINEAR_NODES:
            matrix, bias, shape = _linear_map(name, node, in_shape)
            maps[name] = (matrix, bias)
            if kind == "Conv2d":
                convs[name] = _conv_structure(node, in_shape)
        else:  # PassThrough, Output, scalar-parameter neuron: identity
            shape = in_shape
        out_shape[name] = shape
        return shape

    for name in nodes:
        if kind_of(name) not in ("Input",):
            if kind_of(name) == "Output" and not predecessors[name]:
                raise _node_error(name, nodes[name], "the Output node has no incoming edge")
            if predecessors[name] or kind_of(name) not in NEURON_NODES:
                shape_of(name)
    # A neuron with its own shape must agree with what it receives.
    for name in nodes:
        if kind_of(name) in NEURON_NODES:
            for p in predecessors[name]:
                if int(np.prod(out_shape[p])) != int(np.prod(out_shape[name])):
                    raise _node_error(
                        name,
                        nodes[name],
                        f"has {int(np.prod(out_shape[name]))} neurons but the edge "
                        f"from {p!r} carries {int(np.prod(out_shape[p]))} values",
                    )
            if name not in out_shape:
                raise _node_error(
                    name,
                    nodes[name],
                    "all parameters are scalars and nothing feeds the node, so its size is unknown",
                )

    # Express every node's output as a sum over sources of (source @ matrix) + bias.
    sources = {n for n in nodes if kind_of(n) == "Input" or kind_of(n) in NEURON_NODES}
    memo: dict[str, tuple[dict, np.ndarray]] = {}

    def expression(name, visiting=()):
        """The output of ``name`` as ({source: matrix (source size, size)}, bias (size,))."""
        size = int(np.prod(out_shape[name]))
        if name in sources:
            return {name: None}, np.zeros(size)
        if name in memo:
            return memo[name]
        if name in visiting:
            raise _node_error(
                name,
                nodes[name],
                "the node lies on a cycle of linear nodes (an "
                "algebraic loop); supported: cycles that pass "
                "through a neuron population",
            )
        terms, bias = incoming(name, visiting + (name,))
        matrix, own_bias = maps.get(name, (None, np.zeros(size)))
        if matrix is not None:
            terms = {s: (m @ matrix if m is not None else matrix) for s, m in terms.items()}
            bias = bias @ matrix
        memo[name] = (terms, bias + own_bias)
        return memo[name]

    def incoming(name, visiting=()):
        terms: dict = {}
        size = int(np.prod(out_shape[predecessors[name][0]])) if predecessors[name] else 0
        bias = np.zeros(size)
        for p in predecessors[name]:
            p_terms, p_bias = expression(p, visiting)
            bias = bias + p_bias
            for s, m in p_terms.items():
                if m is None:
                    m = np.eye(int(np.prod(out_shape[s])))
                terms[s] = terms[s] + m if s in terms else m
        return terms, bias

    def conv_of(name):
        """``(source, (ConvSpec, kernel))`` when everything that feeds population ``name`` is
        one ``Conv2d`` node reading one source, through identity nodes only; else ``None``."""

        def through_identities(node_name):
            while (
                kind_of(node_name) in ("Flatten", "PassThrough")
                and len(predecessors[node_name]) == 1
            ):
                node_name = predecessors[node_name][0]
            return node_name

        preds = predecessors[name]
        if len(preds) != 1:
            return None
        conv = through_identities(preds[0])
        if kind_of(conv) != "Conv2d" or len(predecessors[conv]) != 1:
            return None
        source = through_identities(predecessors[conv][0])
        if source in sources:
            return (source, convs[conv]) if convs[conv] is not None else None
        pool = source
        if kind_of(pool) not in ("SumPool2d", "AvgPool2d") or len(predecessors[pool]) != 1:
            return None
        source = through_identities(predecessors[pool][0])
        if source not in sources:
            return None
        structure = _conv_structure(
            nodes[conv], out_shape[conv], nodes[pool], out_shape[predecessors[pool][0]]
        )
        return (source, structure) if structure is not None else None

    taken: set = set()
    names = {}
    inputs = []
    for name, _node in nodes.items():
        if kind_of(name) == "Input":
            names[name] = _network_name(name, "input", taken)
            inputs.append(
                FloatInput(
                    names[name],
                    int(np.prod(out_shape[name])),
                    max_count=input_max_count,
                    real_valued=real_valued_input,
                )
            )
    populations, projections = [], []
    for name, node in nodes.items():
        kind = kind_of(name)
        if kind not in NEURON_NODES:
            continue
        names[name] = _network_name(name, kind, taken)
        size = int(np.prod(out_shape[name]))
        terms, bias = incoming(name) if predecessors[name] else ({}, np.zeros(size))
        spec = _population(
            name, names[name], node, size, dt, discretization, reset, profile, options
        )
        populations.append(FloatPopulation(**spec, input_bias=bias))
        structure = conv_of(name)
        for source, matrix in terms.items():
            if matrix is None:
                matrix = np.eye(size)
            conv = structure[1] if structure is not None and structure[0] == source else None
            projections.append((source, names[name], matrix, conv))
    recurrent = _recurrent_edges(
        [(names[s], t) for s, t, _, _ in projections],
        [names[n] for n in nodes if kind_of(n) == "Input"],
    )
    projections = [
        FloatProjection(
            names[s],
            t,
            m,
            same_step=(
                timing == "same_step" and kind_of(s) != "Input" and (names[s], t) not in recurrent
            ),
            conv=conv,
        )
        for s, t, m, conv in projections
    ]

    outputs = []
    for name, node in nodes.items():
        if kind_of(name) != "Output":
            continue
        terms, bias = incoming(name)
        for source, matrix in terms.items():
            direct = matrix is None or (
                matrix.shape[0] == matrix.shape[1]
                and np.array_equal(matrix, np.eye(matrix.shape[0]))
            )
            if kind_of(source) not in NEURON_NODES or not direct or np.any(bias != 0):
                raise _node_error(
                    name,
                    node,
                    f"receives a transformed signal from {source!r} "
                    f"({kind_of(source)}); supported: Output nodes "
                    f"fed directly by neuron populations (add an LI "
                    f"readout layer after a linear layer)",
                )
            if names[source] not in outputs:
                outputs.append(names[source])
    if not outputs:
        raise NIRImportError(
            "the graph has no Output node fed by a neuron population; "
            "supported: at least one Output node after LIF, CubaLIF, IF, LI or "
            "CubaLI"
        )
    network = FloatNetwork(
        inputs=inputs,
        populations=populations,
        projections=projections,
        outputs=outputs,
        dt=dt,
        discretization=discretization,
    )
    network.nir_names = {v: k for k, v in names.items()}
    return network
