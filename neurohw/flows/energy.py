"""An estimate of the energy per inference of a mapped chip, per FPGA family.

**An estimate, not a measurement.** Energy per inference is

    sum over activity types (count per inference x energy per event)
    + (clock network per cycle + clock per flip-flop and cycle x flip-flops) x cycles
    + static power x time per inference,

with the activity counted by the plan-level model
(:func:`neurohw.network.plan_model.simulate_plan`, which the RTL equals bit for bit) and the
hardware's documented datapath (``docs/core.md``, ``docs/router.md``), the cycles from
:func:`neurohw.flows.report.estimate_cycles`, and the time at the chip's Fmax. Every coefficient
has a nominal value, a low and a high bound, its source and how it is known (vendor data
sheet, published measurement, derived or our estimate: :data:`ENERGY_MODELS`,
``docs/energy.md`` section 2): the low and high totals use every low or every high coefficient.

Activity types, per inference (:class:`Activity`):

* ``weight_reads``: weight words read: a dense core reads ``ceil(N / P)`` words per lane and
  channel for every axon event (zeros included); a sparse core one synapse word per synapse
  (priced per 16-bit word, scaled to the weights' width by :func:`weight_read_scale`);
* ``accumulator_updates``: read-modify-writes of a drive accumulator, one per weight word read
  (the adder of the synaptic-operation datapath and a block RAM read and write);
* ``state_accesses``: the sweep reads and writes every state word of every neuron every step
  (membrane, currents, refractory counter, one accumulator per channel);
* ``neuron_updates``: neuron-update pipeline passes (every neuron, every step);
* ``dsp_multiplies``: one per neuron, step and multiply decay (the DSP slices of the update);
* ``router_hops``: event words through a router (each delivery, times routers on its way);
* ``host_words``: words through the host port, both ways (events and barriers; the board's link
  beyond the port is not included).

With SPRAM weights (iCE40UP5K ``weight_memory="spram"``, per core: :func:`chip_activity`'s
``weight_memory``) a core's weight reads are SPRAM accesses of 16-bit words, each holding the
weights of ``lanes_per_weight_word`` lanes (``spram_reads``, priced as ``spram_read``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..model.params import DecayKind

__all__ = [
    "CONFIDENCE",
    "Coefficient",
    "EnergyModel",
    "ENERGY_MODELS",
    "Activity",
    "EnergyEstimate",
    "chip_activity",
    "counted_activity",
    "estimate_energy",
    "weight_read_scale",
]


#: How a coefficient is known, strongest first (``Coefficient.confidence``): ``vendor``, a
#: figure from the vendor's data sheet; ``measured``, from a published board measurement;
#: ``derived``, computed from vendor or measured figures with an assumption of ours (written
#: in the source); ``estimate``, no published figure was found: our own switched-capacitance
#: estimate, with a wide range.
CONFIDENCE = ("vendor", "measured", "derived", "estimate")


@dataclass(frozen=True)
class Coefficient:
    """Energy per event (pJ) or power (mW, ``static``): ``nominal`` within ``[low, high]``;
    ``source`` says where each value comes from (document, table, value, units) and
    ``confidence`` how it is known (:data:`CONFIDENCE`)."""

    nominal: float
    low: float
    high: float
    source: str
    confidence: str = "estimate"

    def __post_init__(self):
        if not 0 <= self.low <= self.nominal <= self.high:
            raise ValueError(
                f"a coefficient needs 0 <= low <= nominal <= high, not "
                f"{self.low}, {self.nominal}, {self.high}"
            )
        if self.confidence not in CONFIDENCE:
            raise ValueError(
                f"confidence must be one of {', '.join(CONFIDENCE)}, not {self.confidence!r}"
            )


# The sources read for these coefficients (docs/energy.md section 2 quotes them):
_DS_ICE40 = (
    "Lattice iCE40 UltraPlus Family Data Sheet FPGA-DS-02008 (rev. 1.9, Dec. 2020), Table 4.6 "
    "'Supply Current': ICCSTDBY 'Core Power Supply Static Current' 75 uA typical at VCC = "
    "1.2 V, TJ = 25 C, 0 MHz, blank pattern"
)
_TINYVISION = (
    "tinyvision-ai-inc/ice40_power README (commit 1af931e), iCE40UP5K on Lattice's UltraPlus "
    "breakout board, Joulescope JS110, core rail at 1.219 V"
)
_ECP5_DS = (
    "ECP5 and ECP5-5G Family Data Sheet (FPGA-DS-02012) section 3.10 'Supply Current "
    "(Static)' for LFE5U-12F/LFE5U-25F/LFE5UM-25F, 0 Hz: ICC 77 mA typical (core, 1.1 V), "
    "ICCAUX 16 mA (2.5 V), ICCIO 0.5 mA per bank; read as quoted in two public board design "
    "notes, not in the data sheet itself"
)
_NO_SOURCE = (
    "no published per-access figure found (the data sheets give static currents only; the "
    "Lattice power calculators are not open; the iCE40 board measurements list block RAM as "
    "future work)"
)
_LC_ICE40 = (
    "0.20 pJ per active iCE40 logic cell and cycle, measured: "
    + _TINYVISION
    + ": an 8x8 multiply in LUTs, 180 more LCs, adds 351 uA at 12 MHz (996 against 645 uA)"
)


#: Activity types and the coefficient that prices each (``docs/energy.md`` section 2).
ACTIVITY_COEFFICIENT = {
    "weight_reads": "bram_read",
    "accumulator_updates": "accumulate",
    "state_accesses": "bram_access",
    "neuron_updates": "neuron_update",
    "dsp_multiplies": "dsp_multiply",
    "router_hops": "router_hop",
    "host_words": "host_word",
}


def weight_read_scale(bits: float) -> float:
    """The ``bram_read`` coefficient is for a 16-bit word; a narrower word reads fewer bit
    lines and sense amplifiers while the address decode and clocking stay: a quarter of the
    energy fixed, three quarters in proportion to the bits (an estimate, ``docs/energy.md``)."""
    return 0.25 + 0.75 * min(float(bits), 16.0) / 16.0


@dataclass(frozen=True)
class EnergyModel:
    """One device family's coefficients (pJ per event; ``clock_cycle`` pJ per clock cycle,
    ``clock_ff_cycle`` pJ per flip-flop and cycle; ``static`` in mW) and the Fmax assumed when
    no synthesis gives one."""

    family: str
    coefficients: dict = field(repr=False)
    default_fmax_mhz: float = 0.0
    fmax_source: str = ""


ENERGY_MODELS = {
    "ice40-up5k": EnergyModel(
        "iCE40UP5K",
        {
            "bram_read": Coefficient(
                15,
                5,
                40,
                "estimate, " + _NO_SOURCE + ": SB_RAM40_4K read of one 16-bit word as ~10 uA/MHz "
                "per active block at 1.2 V (C V^2), x3 either way",
            ),
            "spram_read": Coefficient(
                40,
                15,
                100,
                "estimate, " + _NO_SOURCE + ": SB_SPRAM256KA access, a 256 kbit macro ~2.5x a "
                "4 kbit block's bit-line energy per word",
            ),
            "accumulate": Coefficient(
                36,
                12,
                96,
                "derived from the block RAM estimate: a read and a write (15 + 18 pJ) + a 16-bit "
                "adder (~15 LCs x 0.2 pJ, measured per LC: see neuron_update)",
            ),
            "bram_access": Coefficient(16, 5, 44, "mean of a block RAM read (15) and write (18)"),
            "neuron_update": Coefficient(
                20,
                10,
                60,
                "derived: ~200 LCs of the neuron-update pipeline (our count) x "
                + _LC_ICE40
                + "; x 50 % activity (25..100 %, our judgement)",
                "derived",
            ),
            "dsp_multiply": Coefficient(
                23,
                10,
                60,
                "measured: "
                + _TINYVISION
                + ": an 8x8 SB_MAC16 multiply every cycle adds 237 uA at 12 MHz (882 against "
                "645 uA, 44 LCs more: 6 uA of their clock) = 23 pJ per multiply; a 16x16 "
                "multiply is not measured (the high bound allows for it)",
                "measured",
            ),
            "router_hop": Coefficient(
                40,
                15,
                100,
                "derived from the block RAM estimate: a FIFO word written and read (15 + 18 pJ) "
                "+ lookup and arbiter (~50 LCs x 0.2 pJ x 50 %)",
            ),
            "host_word": Coefficient(
                20, 8, 60, "estimate: a FIFO word + the port's registers (not the board's link)"
            ),
            "clock_cycle": Coefficient(
                52,
                40,
                70,
                "measured: "
                + _TINYVISION
                + ": a 28-bit counter (32 LCs) on an external 12 MHz clock draws 613.5 uA "
                "against 92.1 uA with the clock halted: 43.4 uA/MHz = 53 pJ per cycle, of "
                "which 0.5 pJ the LCs' own (clock_ff_cycle); on the HFOSC, 645 to 2184 uA "
                "from 12 to 48 MHz: 42.8 uA/MHz = 52 pJ per cycle. The global clock network's "
                "cost per cycle whatever the design's size",
                "measured",
            ),
            "clock_ff_cycle": Coefficient(
                0.0144,
                0.01,
                0.03,
                "measured: "
                + _TINYVISION
                + ": 32 to 228 LCs of counters at 12 MHz draw 613.5 to 641.3 uA: 0.0118 uA/MHz "
                "= 0.0144 pJ per LC (flip-flop) and cycle, with the counters' own toggling",
                "measured",
            ),
            "static": Coefficient(
                0.11,
                0.09,
                0.5,
                "vendor: "
                + _DS_ICE40
                + " (0.090 mW); measured: "
                + _TINYVISION
                + ": 85.6 uA blank design, 92.1 uA a design with its clock halted (0.104, "
                "0.112 mW); the high bound (hot die) is our judgement: the data sheet gives "
                "no maximum",
                "vendor",
            ),
        },
        default_fmax_mhz=32.8,
        fmax_source="BENCHMARKS.md, the digits chip on iCE40UP5K (nextpnr)",
    ),
    "ecp5-85k": EnergyModel(
        "ECP5-85F",
        {
            "bram_read": Coefficient(
                25,
                10,
                60,
                "estimate, " + _NO_SOURCE + ": DP16KD read of one word, ~20 uA/MHz per active "
                "block at 1.1 V (C V^2), x2.5 either way",
            ),
            "spram_read": Coefficient(25, 10, 60, "ECP5 has no SPRAM: as a block RAM read"),
            "accumulate": Coefficient(
                59,
                24,
                140,
                "derived from the block RAM estimate: a read and a write (25 + 30 pJ) + a 16-bit "
                "adder (4 pJ)",
            ),
            "bram_access": Coefficient(28, 11, 65, "mean of a block RAM read (25) and write (30)"),
            "neuron_update": Coefficient(
                20,
                7,
                60,
                "estimate, no ECP5 measurement found: the iCE40UP5K's derived 20 pJ at ECP5's "
                "1.1 V core ((1.1 / 1.2)^2 = 0.84) with longer routing",
            ),
            "dsp_multiply": Coefficient(
                20,
                8,
                60,
                "estimate, no ECP5 measurement found: the iCE40UP5K's measured 23 pJ (8x8) "
                "scaled to 1.1 V, for a MULT18X18D",
            ),
            "router_hop": Coefficient(
                50,
                20,
                120,
                "derived from the block RAM estimate: a FIFO word written and read + lookup and "
                "arbiter",
            ),
            "host_word": Coefficient(25, 10, 70, "estimate: a FIFO word + the port's registers"),
            "clock_cycle": Coefficient(
                90,
                30,
                250,
                "estimate, no ECP5 measurement found: the iCE40UP5K's measured 52 pJ per cycle "
                "at 1.1 V, x2 for the larger die's clock spines (our judgement)",
            ),
            "clock_ff_cycle": Coefficient(
                0.02,
                0.01,
                0.06,
                "estimate, no ECP5 measurement found: the iCE40UP5K's measured 0.0144 pJ at "
                "1.1 V with longer clock branches",
            ),
            "static": Coefficient(
                250,
                125,
                450,
                "derived: "
                + _ECP5_DS
                + ", i.e. 125 mW (84.7 + 40) for the 25F die; the 85F's own table was not "
                "read: its larger die leaks more (low bound: the 25F's figure; nominal and "
                "high: about 2x and 3.6x, our judgement for 3.5x the logic). VCCIO banks not "
                "counted",
                "derived",
            ),
        },
        default_fmax_mhz=103.0,
        fmax_source="BENCHMARKS.md, the digits chip on ECP5-85F (nextpnr)",
    ),
}
ENERGY_MODELS["ecp5-25k"] = EnergyModel(
    "ECP5-25F",
    {
        **ENERGY_MODELS["ecp5-85k"].coefficients,
        "static": Coefficient(
            125,
            100,
            250,
            "vendor: "
            + _ECP5_DS
            + ": 77 mA x 1.1 V + 16 mA x 2.5 V = 125 mW typical at 25 C; the range (process, "
            "hot die) is our judgement. VCCIO banks not counted",
            "vendor",
        ),
    },
    default_fmax_mhz=103.0,
    fmax_source="as the ECP5-85F",
)


@dataclass(frozen=True)
class Activity:
    """Counts per inference (means over the samples run) of every activity type (module
    docstring), the cycles per inference and the synaptic operations (non-zero weights reached
    by an applied event, as ``simulate_plan`` counts them)."""

    weight_reads: float
    accumulator_updates: float
    state_accesses: float
    neuron_updates: float
    dsp_multiplies: float
    router_hops: float
    host_words: float
    cycles: float
    synaptic_ops: float
    spram: bool = False
    weight_bits: float = 16.0
    #: Weight words read from SPRAM (16-bit words, one per ``lanes_per_weight_word`` lanes);
    #: ``weight_reads`` are the block-RAM (and LUT) weight reads, ``accumulator_updates``
    #: both kinds' lane reads.
    spram_reads: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


def chip_activity(plan, inputs, *, cycles=None, weight_memory=None) -> Activity:
    """The :class:`Activity` of ``plan``'s chip on ``inputs`` (``{group: (steps, batch,
    size)}``, as :func:`~neurohw.flows.report.estimate_cycles` takes them); ``weight_memory``:
    per core, ``"bram"`` or ``"spram"`` (``Chip.weight_memory``; default all block RAM);
    ``cycles``: a
    :class:`~neurohw.flows.report.CycleEstimate` already computed for the same inputs."""
    from ..hw.system import conv_config, core_config
    from ..network.plan_model import simulate_plan
    from ..network.timing import pad_inputs
    from .report import _hops, conv_axon_counts, estimate_cycles

    padded = pad_inputs(inputs, plan.flush_steps)
    trace = simulate_plan(plan, padded)
    if cycles is None:
        cycles = estimate_cycles(plan, inputs)
    B, T = trace.samples, trace.steps
    kinds = ("bram",) * plan.n_cores if weight_memory is None else tuple(weight_memory)
    configs = [
        conv_config(cp) if cp.conv is not None else core_config(plan, cp, weight_memory=kind)
        for cp, kind in zip(plan.cores, kinds)
    ]
    weight_reads = state = updates = multiplies = bits_read = spram_reads = lane_reads = 0.0
    spram = False
    for c, (cp, config) in enumerate(zip(plan.cores, configs)):
        params = cp.params
        channels = params.input_channels
        if cp.conv is not None:
            # A convolution core reads one kernel word and updates one accumulator per output
            # channel of every kernel position an event reaches (zero weights included).
            spec = cp.conv[0]
            fanout = np.array([len(spec.fanout(a)) for a in range(spec.n_axons)])
            reads = int((conv_axon_counts(plan, cp, padded, trace) @ fanout).sum())
        elif config.connectivity == "dense":
            reads = trace.events_per_step[c].sum() * config.lane_depth * config.lanes * channels
        else:
            reads = trace.synaptic_ops[c].sum()
        lane_reads += reads
        if cp.conv is None and config.weight_memory == "spram":
            # One 16-bit SPRAM word holds the weights of lanes_per_weight_word lanes.
            spram = True
            spram_reads += reads / config.lanes_per_weight_word
        else:
            weight_reads += reads
            bits_read += reads * cp.weight_width
        words = 1 + params.n_currents + (1 if params.refractory_period else 0) + channels
        state += 2 * words * cp.n_neurons * T * B
        updates += cp.n_neurons * T * B
        decays = [params.v_decay, *params.i_decay]
        multiplies += sum(d.kind is DecayKind.MULTIPLY for d in decays) * cp.n_neurons * T * B
    # Each delivery crosses the routers between its source and its target; per target, the
    # mean over the endpoints that send to it.
    host, K = plan.host, plan.keys_per_endpoint
    sources = [set() for _ in range(plan.n_cores + 1)]
    for key, targets in plan.connectivity.items():
        for target in targets:
            sources[target].add(key // K)
    sources[host].update(range(plan.n_cores))
    for c in range(plan.n_cores):
        sources[c].add(host)  # the host's tick key reaches every core
    delivered = [*trace.core_events_in.sum(axis=1), trace.host_events_in.sum()]
    hops = sum(
        delivered[t] * float(np.mean([_hops(plan, s, t) for s in sorted(sources[t])]))
        for t in range(plan.n_cores + 1)
    )
    windows = B * T + 1
    sent = sum(
        int(np.count_nonzero(np.asarray(v)[:T])) for v in padded.values()
    )  # one word per line with a non-zero count or value
    host_words = sent + windows + trace.host_events_in.sum() + windows
    return Activity(
        weight_reads=float(weight_reads) / B,
        accumulator_updates=float(lane_reads) / B,
        state_accesses=float(state) / B,
        neuron_updates=float(updates) / B,
        dsp_multiplies=float(multiplies) / B,
        router_hops=float(hops) / B,
        host_words=float(host_words) / B,
        cycles=float(cycles.cycles_per_inference),
        synaptic_ops=float(trace.synaptic_ops.sum()) / B,
        spram=spram,
        weight_bits=float(bits_read / weight_reads) if weight_reads else 16.0,
        spram_reads=float(spram_reads) / B,
    )


def counted_activity(plan, counters, samples: int, model: Activity) -> Activity:
    """The :class:`Activity` of a run of ``samples`` samples from the chip's own activity
    counters (``counters``: an :class:`~neurohw.network.plan_model.ActivityCounters` read
    from the RTL, e.g. ``SystemVerificationResult.activity``) instead of the plan model:
    weight reads, accumulator updates, state accesses, neuron updates, DSP multiplies and host
    words are derived from the counts (``ActivityCounters.memory_accesses``), router hops are
    the chip's ``router_hops`` and cycles its ``cycles`` (first host word to the last sample's
    final barrier; ``model``'s where ``counters.cycles`` is ``None``, as in a prediction); the
    non-zero synaptic operations and the weights' width, which the chip does not count, stay
    ``model``'s. The counters cover the whole run, the step after the final clear included
    (one sweep per core more than the samples' own, and its spikes' hops), divided by
    ``samples``."""
    accesses = counters.memory_accesses(plan)
    updates = multiplies = 0.0
    for core, counts in zip(plan.cores, counters.cores):
        updates += counts["NEURON_UPDATES"]
        decays = [core.params.v_decay, *core.params.i_decay]
        multiplies += sum(d.kind is DecayKind.MULTIPLY for d in decays) * counts["NEURON_UPDATES"]
    reads = sum(a["weight_reads"] for a in accesses)
    return Activity(
        weight_reads=reads / samples,
        accumulator_updates=sum(a["accumulator_updates"] for a in accesses) / samples,
        state_accesses=sum(a["state_reads"] + a["state_writes"] for a in accesses) / samples,
        neuron_updates=updates / samples,
        dsp_multiplies=multiplies / samples,
        router_hops=counters.router_hops / samples,
        host_words=(counters.host_words_in + counters.host_words_out) / samples,
        cycles=model.cycles if counters.cycles is None else counters.cycles / samples,
        synaptic_ops=model.synaptic_ops,
        spram=model.spram,
        weight_bits=model.weight_bits,
    )


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference on one device: ``breakdown`` ``{part: (nominal, low, high)}`` in
    uJ (activity types, ``clock``, ``static``), their sums ``total_uj`` / ``low_uj`` /
    ``high_uj``; ``latency_us`` the time per inference at ``fmax_mhz`` (``fmax_source`` says
    where that came from), ``flip_flops`` the clocked flip-flops (``ff_source``)."""

    device: str
    family: str
    activity: Activity
    fmax_mhz: float
    fmax_source: str
    flip_flops: int
    ff_source: str
    latency_us: float
    breakdown: dict
    total_uj: float
    low_uj: float
    high_uj: float
    sources: dict = field(repr=False)
    confidence: dict = field(repr=False, default_factory=dict)

    @property
    def uj_per_synaptic_op(self) -> float:
        return self.total_uj / self.activity.synaptic_ops if self.activity.synaptic_ops else 0.0

    def as_dict(self) -> dict:
        out = asdict(self)
        out["breakdown"] = {k: list(v) for k, v in self.breakdown.items()}
        out["label"] = "estimate (docs/energy.md), not a measurement"
        return out

    def table(self) -> str:
        """A markdown table of the breakdown (uJ per inference) with each count."""
        counts = self.activity.as_dict()
        lines = [
            f"Estimated energy per inference on {self.family} (an estimate, not a "
            f"measurement; docs/energy.md): **{self.total_uj:.3g} uJ** "
            f"({self.low_uj:.3g}..{self.high_uj:.3g}), {self.latency_us:.1f} us at "
            f"{self.fmax_mhz:.1f} MHz ({self.fmax_source}).",
            "",
            "| part | count per inference | uJ | low | high |",
            "|---|---:|---:|---:|---:|",
        ]
        for part, (nominal, low, high) in self.breakdown.items():
            if part == "clock":
                count = f"({self.flip_flops:,} FF + network) x {self.activity.cycles:,.0f} cycles"
            elif part == "static":
                count = f"{self.latency_us:.1f} us"
            else:
                count = f"{counts[part]:,.0f}"
            lines.append(f"| {part} | {count} | {nominal:.3g} | {low:.3g} | {high:.3g} |")
        lines.append(
            f"| **total** | | **{self.total_uj:.3g}** | {self.low_uj:.3g} | {self.high_uj:.3g} |"
        )
        return "\n".join(lines)


def estimate_energy(
    plan,
    inputs,
    device: str,
    *,
    fmax_mhz: float | None = None,
    flip_flops: int | None = None,
    activity: Activity | None = None,
    weight_memory=None,
) -> EnergyEstimate:
    """:class:`EnergyEstimate` of ``plan``'s chip on ``inputs`` on ``device`` (a key of
    :data:`ENERGY_MODELS`). ``fmax_mhz`` and ``flip_flops`` come from a synthesis of this chip
    when there is one; without, the family's default Fmax (the digits chip's) and 1,000
    flip-flops per core (an estimate), each labelled as such in the result. ``weight_memory``:
    per core, where the chip keeps its weights (``Chip.weight_memory``; default block RAM),
    for :func:`chip_activity`."""
    if device not in ENERGY_MODELS:
        raise ValueError(
            f"device must be one of {', '.join(sorted(ENERGY_MODELS))} (an energy model), "
            f"not {device!r}"
        )
    model = ENERGY_MODELS[device]
    if activity is None:
        activity = chip_activity(plan, inputs, weight_memory=weight_memory)
    if fmax_mhz is None:
        fmax, fmax_source = model.default_fmax_mhz, f"assumed: {model.fmax_source}"
    elif not fmax_mhz > 0:
        raise ValueError(f"fmax_mhz must be positive, not {fmax_mhz!r}")
    else:
        fmax, fmax_source = float(fmax_mhz), "synthesis of this chip"
    if flip_flops is None:
        ffs, ff_source = 1000 * plan.n_cores, "estimated: 1,000 per core (no synthesis)"
    else:
        ffs, ff_source = int(flip_flops), "synthesis of this chip"
    k = model.coefficients
    latency_us = activity.cycles / fmax
    counts = activity.as_dict()
    breakdown = {}
    for part, name in ACTIVITY_COEFFICIENT.items():
        coefficient = k[name]
        scale = 1.0
        if part == "weight_reads":
            scale = weight_read_scale(activity.weight_bits)
        breakdown[part] = tuple(
            counts[part] * scale * value * 1e-6
            for value in (coefficient.nominal, coefficient.low, coefficient.high)
        )  # pJ -> uJ
        if part == "weight_reads" and activity.spram_reads:
            # SPRAM words are priced whole: 16 bits whatever the weights' width.
            spram = k["spram_read"]
            breakdown[part] = tuple(
                bram + activity.spram_reads * value * 1e-6
                for bram, value in zip(breakdown[part], (spram.nominal, spram.low, spram.high))
            )
    # The clock network costs per cycle (clock_cycle) plus per clocked flip-flop.
    network, per_ff = k["clock_cycle"], k["clock_ff_cycle"]
    breakdown["clock"] = tuple(
        activity.cycles * (base + ffs * ff) * 1e-6
        for base, ff in (
            (network.nominal, per_ff.nominal),
            (network.low, per_ff.low),
            (network.high, per_ff.high),
        )
    )
    static = k["static"]
    breakdown["static"] = tuple(
        value * 1e-3 * latency_us for value in (static.nominal, static.low, static.high)
    )  # mW x us = nJ -> uJ
    sources = {name: c.source for name, c in k.items()}
    confidence = {name: c.confidence for name, c in k.items()}
    return EnergyEstimate(
        device=device,
        family=model.family,
        activity=activity,
        fmax_mhz=fmax,
        fmax_source=fmax_source,
        flip_flops=ffs,
        ff_source=ff_source,
        latency_us=latency_us,
        breakdown=breakdown,
        total_uj=sum(v[0] for v in breakdown.values()),
        low_uj=sum(v[1] for v in breakdown.values()),
        high_uj=sum(v[2] for v in breakdown.values()),
        sources=sources,
        confidence=confidence,
    )
