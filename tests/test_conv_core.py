"""ConvCore: construction checks in process, and cocotb runs on the neuron-core bench
(``sim/bench_neuron_core.py``) that compare every spike and every state of every step with the
reference model run on the layer's dense lowering."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from amaranth.hdl import Fragment

from neurohw.flows import design_hash
from neurohw.hw.conv import ConvSpec
from neurohw.hw.conv_core import ConvCore
from neurohw.hw.lint import unwaived
from neurohw.model import Accumulation, Decay, NeuronParams, run
from neurohw.model.presets import loihi_cuba_lif, snntorch_leaky, xylo_lif
from neurohw.sim.conv_case import make_conv_case
from neurohw.sim.runner import case_build_dir, run_cocotb
from tests.test_core_lint import lint
from tests.test_neuron_core import on_simulators, random_params, random_spikes, random_traffic

TOPLEVEL = "conv_core"
BENCH = "bench_neuron_core"


def simulate(core, data, simulator, request):
    run_cocotb(
        core,
        toplevel=TOPLEVEL,
        test_module=BENCH,
        simulator=simulator,
        build_dir=case_build_dir(request.node.nodeid, simulator),
        test_data=data,
    )


def random_spec(rng, *, max_side=5, pooled=False):
    """A small random layer; ``pooled``: with a sum pooling of window 1..3 per axis in front
    (the input then has rows and columns left over that pooling drops), at least 2 rows."""
    kernel = tuple(int(k) for k in rng.integers(1, 4, size=2))
    dilation = tuple(int(d) for d in rng.choice([1, 1, 2], size=2))
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    pool = (int(rng.integers(2, 4)), int(rng.integers(1, 4))) if pooled else (1, 1)
    in_shape = (
        int(rng.integers(1, 3)),
        int(rng.integers(extent[0], extent[0] + max_side - 2)) * pool[0]
        + int(rng.integers(0, pool[0])),
        int(rng.integers(extent[1], extent[1] + max_side - 2)) * pool[1]
        + int(rng.integers(0, pool[1])),
    )
    choice = int(rng.integers(0, 3))
    stride = (1, 1) if choice == 1 else tuple(int(s) for s in rng.integers(1, 3, size=2))
    padding = ["valid", "same", tuple(int(p) for p in rng.integers(0, 3, size=2))][choice]
    return ConvSpec(
        in_shape,
        int(rng.integers(1, 4)),
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        pool=pool if pooled else None,
    )


def conv_params(rng, n_neurons):
    """A random model the conv core implements ('sum', at most one current, no cap)."""
    for _ in range(100):
        params = random_params(rng, n_neurons)
        if params.n_currents <= 1 and params.accumulation is Accumulation.SUM:
            return params.replace(input_count_cap=None)
    raise AssertionError("no conv-compatible model drawn")


def random_lanes(rng, out_channels):
    """A lane count the layer allows, more than one where it has two channels or more."""
    allowed = [
        n for n in range(2, out_channels + 1) if (n - 1) * -(-out_channels // n) < out_channels
    ]
    return int(rng.choice(allowed)) if allowed else 1


def random_conv_case(seed, steps=12, *, pooled=False, lanes=False):
    rng = np.random.default_rng(seed)
    spec = random_spec(rng, pooled=pooled)
    if lanes and spec.out_channels == 1:
        spec = ConvSpec(
            spec.in_shape,
            int(rng.integers(2, 6)),
            spec.kernel_size,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            pool=spec.pool,
        )
    weight_width = int(rng.integers(2, 9))
    low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
    for _ in range(10):
        params = conv_params(rng, spec.n_neurons)
        kernel = rng.integers(low, high + 1, size=spec.kernel_shape)
        spikes = random_spikes(rng, steps, spec.n_axons)
        if run(params, spikes, spec.dense_matrix(kernel), record=("spikes",)).spikes.any():
            break
    options = {"lanes": random_lanes(rng, spec.out_channels)} if lanes else {}
    core = ConvCore(params, spec, weight_width=weight_width, kernel=kernel, **options)
    return core, make_conv_case(core, spikes, seed=seed, traffic=random_traffic(rng))


@pytest.mark.sim
@on_simulators("seed", range(2), verilator_default=(0,))
def test_random(hdl, seed, request):
    core, data = random_conv_case(seed)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(100, 130))
def test_random_long(hdl, seed, request):
    core, data = random_conv_case(seed, steps=25)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("seed", range(1), verilator_default=(0,))
def test_random_pooled(hdl, seed, request):
    """A random layer behind a random sum pooling (windows 1..3, left-over rows and columns)."""
    core, data = random_conv_case(seed, pooled=True)
    assert core.spec.pooled
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(200, 220))
def test_random_pooled_long(hdl, seed, request):
    core, data = random_conv_case(seed, steps=25, pooled=True)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@on_simulators("seed", range(1), verilator_default=(0,))
def test_random_lanes(hdl, seed, request):
    """A random pooled layer with a random number of lanes (2 .. out_channels)."""
    core, data = random_conv_case(seed + 3, pooled=True, lanes=True)
    assert core.lanes > 1
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("seed", range(300, 320))
def test_random_lanes_long(hdl, seed, request):
    core, data = random_conv_case(seed, steps=25, pooled=bool(seed % 2), lanes=True)
    simulate(core, data, hdl, request)


def preset_case(name, seed, steps=8):
    """A real neuron model on a small layer: Loihi (stride 2, padding 1, per-neuron
    thresholds), Xylo's datapath with accumulation 'sum' (padding 'same', per-neuron
    thresholds), snnTorch with the delayed reset (padding 'same', dilation 2)."""
    rng = np.random.default_rng(seed)
    if name == "loihi":
        spec = ConvSpec((2, 6, 6), 3, 3, stride=2, padding=1)
        params = loihi_cuba_lif(
            du=int(rng.integers(0, 4096)),
            dv=int(rng.integers(0, 4096)),
            vth=100,
            bias_mant=3,
            bias_exp=2,
            refractory_period=2,
        ).replace(threshold=rng.integers(1, 300, size=spec.n_neurons))
        weight_width = 8
    elif name == "xylo":
        spec = ConvSpec((2, 5, 5), 2, 3, padding="same")
        params = xylo_lif(
            dash_mem=2,
            dash_syn=(1,),
            threshold=rng.integers(0, 400, spec.n_neurons),
            bias=-2,
            weight_shift=1,
            max_spikes=31,
        ).replace(accumulation=Accumulation.SUM)  # per-event projection is refused here
        weight_width = 8
    else:
        spec = ConvSpec((1, 6, 6), 2, 3, padding="same", dilation=2)
        params = snntorch_leaky(
            beta_constant=40, threshold=60, decay_bits=8, width=16, reset_delay=True
        )
        weight_width = 6
    low, high = -(1 << (weight_width - 1)), (1 << (weight_width - 1)) - 1
    kernel = rng.integers(low, high + 1, size=spec.kernel_shape)
    spikes = random_spikes(rng, steps, spec.n_axons, density=0.5, max_count=6)
    core = ConvCore(params, spec, weight_width=weight_width, kernel=kernel)
    return core, make_conv_case(core, spikes, seed=seed, traffic=random_traffic(rng))


@pytest.mark.sim
@on_simulators("preset", ["loihi", "xylo", "snntorch"], verilator_default=("loihi",))
def test_preset(hdl, preset, request):
    core, data = preset_case(preset, seed=11)
    simulate(core, data, hdl, request)


HAZARD_SPECS = {
    # One op per event: consecutive events on one axon hit one neuron two clocks apart.
    "1x1": ConvSpec((1, 2, 2), 1, 1),
    # Overlapping receptive fields: every event reaches most of the 2 x 2 x 2 outputs.
    "2x2-same": ConvSpec((1, 2, 2), 2, 2, padding="same"),
    # Stride 2 with padding: unreachable kernel positions take one clock each.
    "3x3-stride2": ConvSpec((1, 3, 3), 2, 3, stride=2, padding=1),
    # A realistic layer shape: 72 synaptic ops per interior event, 74 clocks.
    "3x3-8ch": ConvSpec((1, 4, 4), 8, 3, padding="same"),
    # Pooling 3 x 2 (a reciprocal and a shift): the events of one window hit the same neurons
    # back to back; the last row and column are dropped (one clock each).
    "pool3x2": ConvSpec((1, 7, 5), 2, 2, padding="same", pool=(3, 2)),
    # Lanes: 8 channels in 2 and 4 banks (36 and 18 clocks for the 72 ops of an interior
    # event), and 5 channels in 2 banks of 3 and 2 (the last group has one idle lane).
    "3x3-8ch-lanes2": ConvSpec((1, 4, 4), 8, 3, padding="same"),
    "3x3-8ch-lanes4": ConvSpec((1, 4, 4), 8, 3, padding="same"),
    "3x3-5ch-lanes2": ConvSpec((1, 4, 4), 5, 3, padding="same"),
}
HAZARD_LANES = {"3x3-8ch-lanes2": 2, "3x3-8ch-lanes4": 4, "3x3-5ch-lanes2": 2}


def hazard_case(name, steps=5):
    """Back-to-back events from a source that is never idle, on few axons: reads in the
    accumulator's read-modify-write pipeline hit words written one and two clocks before,
    and the exact accept cadence (``ConvCore.event_cycles``) is checked."""
    spec = HAZARD_SPECS[name]
    rng = np.random.default_rng(len(name))
    params = NeuronParams(v_width=14, threshold=200, reset="subtract", max_spikes=3)
    kernel = rng.integers(-32, 32, size=spec.kernel_shape) | 1
    spikes = rng.integers(0, 6, size=(steps, spec.n_axons))
    spikes[:, 1:] *= rng.random((steps, spec.n_axons - 1)) < 0.5
    core = ConvCore(params, spec, weight_width=6, kernel=kernel, lanes=HAZARD_LANES.get(name, 1))
    traffic = {"idle_probability": 0.0, "backpressure_probability": 0.0}
    return core, make_conv_case(core, spikes, seed=5, traffic=traffic, check_throughput=True)


#: Hazard layers run with ``-m slow`` only (CI time): two lanes without a remainder are also
#: in CI through ``test_random_lanes``.
HAZARD_SLOW = ("3x3-8ch-lanes2",)


@pytest.mark.sim
@on_simulators(
    "name", [n for n in HAZARD_SPECS if n not in HAZARD_SLOW], verilator_default=("2x2-same",)
)
def test_hazard(hdl, name, request):
    core, data = hazard_case(name)
    simulate(core, data, hdl, request)


@pytest.mark.sim
@pytest.mark.slow
@on_simulators("name", HAZARD_SLOW)
def test_hazard_slow(hdl, name, request):
    core, data = hazard_case(name)
    simulate(core, data, hdl, request)


def test_event_cycles():
    """Clocks per event: 2 to decode, out_channels per kernel position that reaches an
    output, 1 per position that does not."""
    params = NeuronParams(v_width=8, threshold=10)
    spec = ConvSpec((2, 8, 8), 4, 3, padding=1)
    core = ConvCore(params, spec, weight_width=4)
    assert core.event_cycles(3 * 8 + 3) == 2 + 9 * 4  # interior: every position reaches
    assert core.event_cycles(0) == 2 + 4 * 4 + 5  # corner: 4 positions reach
    assert core.port_description()["event_cycles"][0] == 2 + 4 * 4 + 5
    Fragment.get(core, None)  # elaborates
    pooled = ConvCore(params, ConvSpec((2, 9, 8), 4, 3, padding=1, pool=2), weight_width=4)
    assert pooled.decode_clocks == 3
    assert pooled.event_cycles(3 * 8 + 3) == 3 + 9 * 4  # pooled (1, 1): interior
    assert pooled.event_cycles(8 * 8 + 3) == 3 + 1  # row 8 is dropped by pooling
    Fragment.get(pooled, None)
    for lanes, groups in [(2, 2), (4, 1)]:  # ceil(4 / lanes) clocks per position
        laned = ConvCore(params, spec, weight_width=4, lanes=lanes)
        assert laned.event_cycles(3 * 8 + 3) == 2 + 9 * groups
        assert laned.event_cycles(0) == 2 + 4 * groups + 5
        assert laned.port_description()["lanes"] == lanes
        Fragment.get(laned, None)


@pytest.mark.parametrize(
    "change, error, message",
    [
        (
            {
                "params": NeuronParams(
                    n_currents=1,
                    accumulation="per_event",
                    i_decay=(Decay.shift(1),),
                    input_timing="before_decay",
                )
            },
            ValueError,
            "params.accumulation must be 'sum' for a conv core, not 'per_event' (per-event "
            "projection is implemented by the neuron core only)",
        ),
        (
            {"params": NeuronParams(n_currents=2, i_decay=(Decay.shift(1), Decay.shift(1)))},
            ValueError,
            "params.n_currents must be 0 or 1 for a conv core (one kernel), not 2",
        ),
        (
            {"params": NeuronParams(input_count_cap=2)},
            ValueError,
            "params.input_count_cap must be None for a conv core, not 2 (the per-axon count "
            "memory is not implemented here)",
        ),
        ({"params": 3}, TypeError, "params must be a NeuronParams, not 3"),
        ({"spec": (2, 6, 6)}, TypeError, "spec must be a neurohw.hw.conv.ConvSpec, not (2, 6, 6)"),
        (
            {"weight_width": 0},
            ValueError,
            "weight_width must be an integer between 1 and 32, not 0",
        ),
        (
            {"kernel": np.zeros((3, 2, 3), dtype=int)},
            ValueError,
            "kernel must have shape (out_channels, C, Kh, Kw) = (3, 2, 3, 3), not (3, 2, 3)",
        ),
        (
            {"max_events_per_step": 0},
            ValueError,
            "max_events_per_step must be an integer between 1 and 4294967296, not 0",
        ),
        (
            {"spec": ConvSpec((1, 300, 300), 1, 1)},
            ValueError,
            "the output (1, 300, 300) has 90000 neurons; a conv core holds at most 65536",
        ),
        ({"pipeline": 2}, TypeError, "ConvCore got unexpected options pipeline"),
        (
            {"lanes": 0},
            ValueError,
            "lanes must be an integer between 1 and 3 (out_channels=3, at most 64), not 0",
        ),
        (
            {"lanes": 4},
            ValueError,
            "lanes must be an integer between 1 and 3 (out_channels=3, at most 64), not 4",
        ),
        (
            {"lanes": 4, "spec": ConvSpec((2, 6, 6), 5, 3)},
            ValueError,
            "lanes=4 leaves lane 3 without an output channel (out_channels=5, 2 per lane); "
            "allowed: 1, 2, 3, 5",
        ),
    ],
)
def test_refused(change, error, message):
    args = {
        "params": NeuronParams(v_width=8, threshold=10),
        "spec": ConvSpec((2, 6, 6), 3, 3),
        "weight_width": 4,
        **change,
    }
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        ConvCore(args.pop("params"), args.pop("spec"), **args)


def test_conv_synth_rows_are_fresh():
    """Every row of benchmarks/results/conv_synth.json measured the Verilog this tree
    generates, with the options it records (``benchmarks/bench_conv_synth.py``)."""
    benchmarks = Path(__file__).resolve().parent.parent / "benchmarks"
    sys.path.insert(0, str(benchmarks))
    try:
        import bench_conv_synth
    finally:
        sys.path.remove(str(benchmarks))
    rows = json.loads((benchmarks / "results" / "conv_synth.json").read_text())
    assert sorted(row["run"] for row in rows) == sorted(bench_conv_synth.RUNS)
    for row in rows:
        provenance = row["provenance"]
        text = design_hash.core_verilog(bench_conv_synth.build(row["run"]))
        verilog_sha256 = design_hash.sha256_text(text)
        assert verilog_sha256 == provenance["verilog_sha256"], row["run"]
        assert (
            design_hash.measured_sha256(verilog_sha256, provenance["options"])
            == provenance["measured_sha256"]
        ), row["run"]


@pytest.mark.sim
@on_simulators("", [()])
def test_dropped_events(hdl, request):
    """Events past max_events_per_step and events to axons past the input (6 and 7 of a 3-bit
    axon field) are dropped and counted, never applied."""
    rng = np.random.default_rng(21)
    spec = ConvSpec((1, 2, 3), 2, 2, padding="same")
    limit, steps = 5, 12
    params = NeuronParams(v_width=12, threshold=40)
    kernel = rng.integers(-16, 16, size=spec.kernel_shape)
    spikes = rng.integers(0, 3, size=(steps, spec.n_axons))
    accepted = np.zeros_like(spikes)
    overflow = 0
    events = []
    for t in range(steps):
        order = [a for a in range(spec.n_axons) for _ in range(int(spikes[t, a]))]
        rng.shuffle(order)
        for a in order:
            if accepted[t].sum() >= limit:
                overflow += 1
            else:
                accepted[t, a] += 1
        events.append([int(a) for a in order] + ([6, 7] if t % 3 == 0 else []))
    assert overflow > 0
    core = ConvCore(params, spec, weight_width=5, kernel=kernel, max_events_per_step=limit)
    data = make_conv_case(
        core,
        spikes,
        events=events,
        expected_spikes_in=accepted,
        expected_status={
            "OVERFLOW_EVENTS": overflow,
            "INVALID_AXON_EVENTS": 2 * len(range(0, steps, 3)),
            "STEP": steps,
        },
    )
    simulate(core, data, hdl, request)


@pytest.mark.parametrize("preset", ["loihi", "snntorch", "pooled-lanes"])
def test_lint(preset, tmp_path):
    """``verilator --lint-only -Wall`` reports nothing beyond the neuron core's waivers
    (``tests/test_core_lint.py``); also with pooling 3 x 2 and 3 lanes over 8 channels."""
    if preset == "pooled-lanes":
        spec = ConvSpec((2, 9, 8), 8, 3, padding=1, pool=(3, 2))
        params = NeuronParams(v_width=12, threshold=50, refractory_period=2)
        core = ConvCore(params, spec, weight_width=6, lanes=3)
    else:
        core, _ = preset_case(preset, seed=11, steps=1)
    bad = unwaived(lint(core, tmp_path))
    assert not bad, "\n".join(f"%Warning-{code} line {line}: {text}" for code, line, text in bad)


@pytest.mark.parametrize("lanes", [1, 3])
def test_memories_describe_the_verilog(lanes):
    """ConvConfig.memories() (what the resource estimates read) lists exactly the memories the
    core's Verilog holds, widths and depths: states, per-neuron parameters, the lanes'
    accumulator and kernel banks, the spike FIFO."""
    from neurohw.flows.explore import memories

    spec = ConvSpec((2, 6, 5), 5, 3, padding="same", pool=(1, 1))
    # One lane: snnTorch's delayed reset (a pending-spike memory); three: a refractory counter.
    params = snntorch_leaky(
        beta_constant=40, threshold=np.arange(spec.n_neurons) % 40 + 20, reset_delay=lanes == 1
    )
    if lanes > 1:
        params = params.replace(refractory_period=2)
    options = dict(weight_width=6, max_events_per_step=300, lanes=lanes)
    config = ConvCore.describe(params, spec, **options)
    verilog = design_hash.core_verilog(ConvCore(params, spec, **options))
    assert sorted((w, d) for _, w, d in memories(verilog)) == sorted(
        (w, d) for _, w, d in config.memories()
    )
    kernel_words = sum(d for name, _, d in config.memories() if name.startswith("kernel"))
    assert kernel_words == lanes * -(-5 // lanes) * 2 * 9
