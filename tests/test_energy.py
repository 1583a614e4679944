"""The energy estimate (neurohw.flows.energy): activity counts that follow from the core's
datapath on a tiny chip, the sums and bounds, and its errors."""

import re

import numpy as np
import pytest

from neurohw.flows.energy import (
    CONFIDENCE,
    ENERGY_MODELS,
    Coefficient,
    chip_activity,
    estimate_energy,
    weight_read_scale,
)
from neurohw.model import NeuronParams, loihi_cuba_lif
from neurohw.network import InputGroup, Network, Population, Projection
from neurohw.network.mapping import map_network
from neurohw.network.plan_model import simulate_plan


def _chip(params=None, lanes=1):
    network = Network(
        inputs=[InputGroup("x", 3)],
        populations=[Population("o", 4, params or NeuronParams(threshold=100))],
        projections=[Projection("x", "o", np.arange(1, 13).reshape(3, 4))],
        outputs=["o"],
    )
    return map_network(network, lanes=lanes)


X = np.array([[1, 1, 0], [0, 0, 1]])[:, np.newaxis, :]  # 3 input events in 2 steps


def test_activity_follows_from_the_datapath():
    plan = _chip()
    a = chip_activity(plan, {"x": X})
    # Dense core, 4 neurons, 1 lane: every event reads ceil(4 / 1) weight words.
    assert a.weight_reads == 3 * 4 == a.accumulator_updates
    # Each step the sweep reads and writes v and the accumulator of each of the 4 neurons.
    assert a.state_accesses == 2 * 2 * 4 * 2
    assert a.neuron_updates == 4 * 2
    assert a.dsp_multiplies == 0  # no decay
    assert a.synaptic_ops == 3 * 4
    assert a.weight_bits == 8
    # Host: 3 input words and a barrier per window (3 windows) out; no spikes, 3 barriers in.
    assert a.host_words == 3 + 3 + 0 + 3
    trace = simulate_plan(plan, {"x": X})
    # A star: every delivery crosses one router.
    assert a.router_hops == trace.core_events_in.sum() + trace.host_events_in.sum()
    # Two lanes: half the words per event per lane, the same words in all.
    assert chip_activity(_chip(lanes=2), {"x": X}).weight_reads == 3 * 2 * 2


def test_spram_weight_reads():
    """A core's weights in SPRAM: each weight read is a 16-bit SPRAM word holding the weights
    of lanes_per_weight_word lanes, priced as spram_read; the lanes still accumulate each."""
    from neurohw.hw.system import core_config

    plan = _chip(lanes=2)
    bram = chip_activity(plan, {"x": X})
    spram = chip_activity(plan, {"x": X}, weight_memory=("spram",))
    per_word = core_config(plan, plan.cores[0], weight_memory="spram").lanes_per_weight_word
    assert per_word == 2  # two 8-bit weights per 16-bit word
    assert spram.spram and not bram.spram and bram.spram_reads == 0
    assert spram.weight_reads == 0 and spram.spram_reads == bram.weight_reads / per_word == 6
    assert spram.accumulator_updates == bram.accumulator_updates == bram.weight_reads
    e = estimate_energy(plan, {"x": X}, "ice40-up5k", fmax_mhz=50.0, weight_memory=("spram",))
    k = ENERGY_MODELS["ice40-up5k"].coefficients["spram_read"]
    assert e.breakdown["weight_reads"] == pytest.approx(
        tuple(6 * value * 1e-6 for value in (k.nominal, k.low, k.high))
    )


def test_multiply_decays_use_the_dsp_every_neuron_every_step():
    plan = _chip(loihi_cuba_lif(du=300, dv=500, vth=1000))
    a = chip_activity(plan, {"x": X})
    assert a.dsp_multiplies == 2 * 4 * 2  # current and membrane decay, 4 neurons, 2 steps
    # The current adds a state word per neuron.
    assert a.state_accesses == 2 * 3 * 4 * 2


@pytest.mark.parametrize("device", sorted(ENERGY_MODELS))
def test_estimate_sums_and_bounds(device):
    plan = _chip()
    e = estimate_energy(plan, {"x": X}, device, fmax_mhz=50.0, flip_flops=300)
    assert e.total_uj == pytest.approx(sum(v[0] for v in e.breakdown.values()))
    assert e.low_uj < e.total_uj < e.high_uj
    assert e.latency_us == e.activity.cycles / 50.0
    static = ENERGY_MODELS[device].coefficients["static"]
    assert e.breakdown["static"][0] == pytest.approx(static.nominal * 1e-3 * e.latency_us)
    k = ENERGY_MODELS[device].coefficients
    per_cycle = k["clock_cycle"].nominal + 300 * k["clock_ff_cycle"].nominal
    assert e.breakdown["clock"][0] == pytest.approx(e.activity.cycles * per_cycle * 1e-6)
    bram = ENERGY_MODELS[device].coefficients["bram_read"]
    scale = weight_read_scale(8)  # the chip's weights are 8 bits
    assert e.breakdown["weight_reads"][0] == pytest.approx(12 * scale * bram.nominal * 1e-6)
    assert "not a measurement" in e.table() and e.as_dict()["total_uj"] == e.total_uj
    assert set(e.sources) >= {"static", "bram_read", "router_hop", "clock_ff_cycle"}
    assert set(e.confidence) == set(e.sources)


@pytest.mark.parametrize("device", sorted(ENERGY_MODELS))
def test_every_coefficient_says_how_it_is_known(device):
    # A vendor or measured figure names its document; an estimate says that no published
    # figure was found or what it was scaled from (docs/energy.md section 2).
    for name, c in ENERGY_MODELS[device].coefficients.items():
        assert c.confidence in CONFIDENCE, name
        if c.confidence in ("vendor", "measured"):
            assert re.search(r"Data Sheet|ice40_power", c.source), name
        if c.confidence == "estimate":
            assert re.search(r"estimate|as a block RAM|mean of", c.source), name
    ice40 = ENERGY_MODELS["ice40-up5k"].coefficients
    # The iCE40UP5K's static power: the data sheet's 75 uA typical at 1.2 V within the range.
    assert ice40["static"].low <= 0.075 * 1.2 <= ice40["static"].nominal


def test_more_input_events_cost_more_energy():
    plan = _chip()
    quiet = estimate_energy(plan, {"x": np.zeros_like(X)}, "ice40-up5k")
    busy = estimate_energy(plan, {"x": X}, "ice40-up5k")
    assert busy.total_uj > quiet.total_uj
    assert quiet.activity.weight_reads == 0
    assert quiet.fmax_source.startswith("assumed:") and quiet.ff_source.startswith("estimated")


def test_errors():
    plan = _chip()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "device must be one of ecp5-25k, ecp5-85k, ice40-up5k (an energy model), not 'gw1n'"
        ),
    ):
        estimate_energy(plan, {"x": X}, "gw1n")
    with pytest.raises(ValueError, match=re.escape("fmax_mhz must be positive, not 0")):
        estimate_energy(plan, {"x": X}, "ice40-up5k", fmax_mhz=0)
    with pytest.raises(
        ValueError,
        match=re.escape("a coefficient needs 0 <= low <= nominal <= high, not 2, 1, 3"),
    ):
        Coefficient(1, 2, 3, "x")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "confidence must be one of vendor, measured, derived, estimate, not 'guess'"
        ),
    ):
        Coefficient(1, 1, 1, "x", "guess")


def test_weight_read_scale():
    assert [weight_read_scale(b) for b in (16, 8, 0, 32)] == [1.0, 0.625, 0.25, 1.0]


def test_flow_report_without_simulation_or_synthesis(tmp_path):
    """The report's sections come from the model alone: no simulator, no synthesis needed;
    a synthesized device's Fmax and flip-flops replace the assumed ones."""
    from neurohw.flows.energy_report import add_energy_section, energy_markdown
    from neurohw.flows.pipeline import Source, run_flow
    from neurohw.network.system import check_samples

    plan = _chip()
    x = np.tile(X, (1, 3, 1))
    report = run_flow(Source(plan.network), tmp_path, inputs={"x": x}, verify_samples=0)
    assert report["energy"]["samples"] == 3
    assert report["energy"]["activity"] == chip_activity(plan, {"x": x}).as_dict()
    assert "## Energy per inference: an estimate" in (tmp_path / "report.md").read_text()
    synthesized = {"synthesis": [{"device": "ecp5-25k", "ffs": 123, "fmax_mhz": 77.0}]}
    add_energy_section(synthesized, plan, check_samples(plan.network, {"x": x}), tmp_path)
    devices = synthesized["energy"]["devices"]
    assert [d["device"] for d in devices] == ["ice40-up5k", "ecp5-85k", "ecp5-25k"]
    assert (devices[2]["fmax_mhz"], devices[2]["flip_flops"]) == (77.0, 123)
    assert devices[2]["fmax_source"] == "synthesis of this chip"
    assert energy_markdown({}) == []


def test_breakdown_chart(tmp_path):
    from neurohw.plot import plot_energy_breakdown

    e = estimate_energy(_chip(), {"x": X}, "ice40-up5k")
    plot_energy_breakdown({e.family: e.breakdown}, tmp_path / "a.png")
    plot_energy_breakdown({e.family: e.breakdown}, tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    with pytest.raises(ValueError, match="plot_energy_breakdown needs at least one device"):
        plot_energy_breakdown({}, tmp_path / "c.png")
