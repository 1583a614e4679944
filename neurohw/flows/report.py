"""Synthesis reports of a core or a whole mapped network, with latency per inference.

:func:`synth_report` synthesizes a design (an Amaranth component, a :class:`NeuronCore`, a
:class:`neurohw.Chip`, or a :class:`~neurohw.network.plan.ChipPlan`, which becomes a ``Chip``)
out of context on one or more devices through :func:`synthesize_design`, the one synthesis path
(:func:`neurohw.flows.synth.synthesize` on :func:`verilog_for_synthesis`), and returns a
:class:`DesignReport`: per device the resources (LUT4/logic cells, FFs, block RAM, SPRAM, DSP),
the achieved Fmax of every clock, or the reason the design does not fit; and, when the cycles of
one inference are known, the latency per inference and synaptic operations per second at that
Fmax. ``to_dict()`` is JSON-able, ``as_markdown()`` a readable table::

    from neurohw.flows.report import synth_report, estimate_cycles
    estimate = estimate_cycles(plan, {"input": counts})       # analytic, from the core timing
    report = synth_report(plan, ["ice40-up5k", "ecp5-85k"], workdir="build/report",
                          cycles=estimate)
    print(report.as_markdown())

Cycles per inference (:func:`estimate_cycles`) is an analytic model of the chip's timing built
from the documented timing of its parts (``docs/core.md``, ``docs/system-hardware.md``,
``docs/router.md``), evaluated step by step with the event counts of the run (or of an average
spike rate). The constants are in :class:`TimingModel`; ``docs/benchmarks.md`` derives them and
``tests/test_report.py`` checks the estimate against the cycles the RTL simulation measures.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..model.params import Accumulation
from .synth import DEVICES, SynthesisError, SynthReport, synthesize

__all__ = [
    "TimingModel",
    "CycleEstimate",
    "estimate_cycles",
    "core_cycles_per_step",
    "DeviceResult",
    "DesignReport",
    "synth_report",
    "synthesize_design",
    "synthesize_chip",
    "debug_port_note",
    "verilog_for_synthesis",
    "DEVICE_LABELS",
]

DEVICE_LABELS = {
    "ice40-up5k": "iCE40UP5K",
    "ecp5-25k": "ECP5-25F",
    "ecp5-85k": "ECP5-85F",
    "xc7-estimate": "Xilinx 7-series (synthesis estimate, no P&R, no Fmax)",
}


# -- Verilog with large memory initializers as $readmemh --------------------------------------

_INIT_BLOCK = re.compile(
    r"  initial begin\n((?:    [\w$.\\]+\[\d+\] = \d+'[dhb][0-9a-fA-F_]+;\n)+)  end\n"
)
_INIT_LINE = re.compile(r"    ([\w$.\\]+)\[(\d+)\] = (\d+)'([dhb])([0-9a-fA-F_]+);")


def verilog_for_synthesis(design, workdir, *, top: str = "top", min_words: int = 1024) -> str:
    """The Verilog of ``design`` for synthesis (:func:`neurohw.flows.synth.synthesis_verilog`)
    with large memory initializers loaded by ``$readmemh`` (:func:`readmemh_initializers`)."""
    from .synth import synthesis_verilog

    return readmemh_initializers(synthesis_verilog(design, top), workdir, min_words=min_words)


def synthesize_design(
    design,
    device: str,
    *,
    workdir,
    name: str | None = None,
    clock_mhz: float | None = None,
    seed: int = 1,
    harness: bool | None = None,
    timeout: float | None = None,
) -> SynthReport:
    """The one synthesis path of a component (a chip's ``SystemTop`` through
    :meth:`neurohw.Chip.synthesize`, a core, a bridge): :func:`verilog_for_synthesis` into
    ``workdir``, then :func:`neurohw.flows.synth.synthesize` there. Raises
    :class:`~neurohw.flows.synth.SynthesisError`."""
    source = verilog_for_synthesis(design, workdir)
    return synthesize(
        source,
        device=device,
        workdir=workdir,
        name=name,
        clock_mhz=clock_mhz,
        seed=seed,
        harness=harness,
        timeout=timeout,
    )


def synthesize_chip(chip, device: str, *, workdir, **options) -> SynthReport:
    """:func:`synthesize_design` of ``chip.top()`` (a :class:`neurohw.Chip`); ``options`` as
    there. When nextpnr cannot place or route a chip that has the debug port, the
    :class:`~neurohw.flows.synth.SynthesisError` also says the port's share of the chip
    (:func:`debug_port_note`)."""
    try:
        return synthesize_design(chip.top(), device, workdir=workdir, **options)
    except SynthesisError as error:
        if not chip.debug or error.tool != "nextpnr":
            raise
        raise SynthesisError(
            f"{error}; {debug_port_note(chip, device)}",
            log=error.log,
            overflow=error.overflow,
            tool=error.tool,
        ) from None


def debug_port_note(chip, device: str) -> str:
    """What the debug port of ``chip`` costs on ``device`` (LUT4, the estimate of
    :data:`neurohw.flows.lut_model.LUT_MODEL`), and how to build the chip without it, or why
    the chip needs it (SPRAM weights, activity counters)."""
    from .lut_model import predict_luts

    family = DEVICES[device].family
    cores = chip.plan.n_cores
    lanes = sum(core.lanes for core in chip.plan.cores)
    share = predict_luts(
        family, cores=cores, lanes=lanes, lane_weight_bits=0, debug=True
    ) - predict_luts(family, cores=cores, lanes=lanes, lane_weight_bits=0, debug=False)
    note = (
        f"the debug port takes about {share:.0f} LUT4 of this chip (the resource model's "
        f"estimate for {cores} core(s) of {lanes} lane(s) in all)"
    )
    needs = []
    if "spram" in chip.weight_memory:
        needs.append("its SPRAM weights are loaded through it")
    if chip.activity_counters:
        needs.append("its activity counters are read through it")
    if needs:
        return f"{note}, and the chip needs it: {' and '.join(needs)}"
    return (
        f"{note}: --no-debug (Chip(plan, debug=False)) builds the chip without it, as the "
        f"board builds do"
    )


def readmemh_initializers(text: str, workdir, *, min_words: int = 1024) -> str:
    """``text`` with every memory initializer of at least ``min_words`` words loaded by
    ``$readmemh`` from a hex file written into ``workdir`` (where Yosys runs).

    Amaranth writes one assignment per word; Yosys' Verilog front end takes many minutes over the
    100,000 words of a 784 x 128 weight memory. The netlist and the memory contents are the same.
    Hex files are numbered (``mem<k>.hex``), so memories of the same name in different modules
    (every core has a ``weight0_lane0``) do not collide.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    counter = [0]

    def replace(match):
        lines = [_INIT_LINE.match(line) for line in match.group(1).splitlines()]
        if len(lines) < min_words or any(line is None for line in lines):
            return match.group(0)
        names = {line[1] for line in lines}
        if len(names) != 1 or [int(line[2]) for line in lines] != list(range(len(lines))):
            return match.group(0)
        name = names.pop()
        base = {"d": 10, "h": 16, "b": 2}
        width = int(lines[0][3])
        values = [int(line[5].replace("_", ""), base[line[4]]) for line in lines]
        digits = max(1, -(-width // 4))
        filename = f"mem{counter[0]}.hex"
        counter[0] += 1
        (workdir / filename).write_text("".join(f"{v:0{digits}x}\n" for v in values))
        return f'  initial $readmemh("{filename}", {name});\n'

    return _INIT_BLOCK.sub(replace, text)


# -- analytic timing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimingModel:
    """Constants of the analytic timing model (clock cycles), from the parts' documentation.

    * ``sweep_overhead``: a core's step takes ``D + L + sweep_overhead`` cycles after its last
      event's row: ``docs/core.md`` gives ``D + L + 6`` to ``D + L + 8`` from the ``step``
      transfer to ``done``, and ``step`` is accepted once the 3-stage event pipeline is empty
      and the ingress has decoded the barrier (10 in all, fitted).
    * ``ingress_latency``: from an event word entering a core's ingress to the core's
      ``spikes_in`` (window FIFO, decode register, FSM: ``docs/system-hardware.md``); the same
      for a barrier to the ``step`` transfer.
    * ``egress_latency``: ``done`` to the barrier word leaving the egress register.
    * ``hop_latency``: per router on the way (``docs/router.md``: 2 cycles per hop, 3 with the
      skid stage that registers the lookup, which the system's routers use).
    * ``clear_cycles_per_write``: the end-of-sample clear writes 0 to every state of every
      neuron over the command port, ``3`` cycles per command plus the response hand-shake
      (``docs/system-hardware.md``: about 5; 6 measured).

    The documented values were checked against the cycles the RTL takes
    (``verify_system``, ``tests/test_report.py``); ``sweep_overhead``, ``ingress_latency``,
    ``hop_latency`` and ``min_cycles_per_event`` were then fitted to four such runs (the digits
    network, 2 samples x 16 steps, 64 cycles per event; three small networks with lanes 1, 2, 4,
    star and mesh), which the model matches within 4.3 % over whole runs.
    * ``host_gate_latency``: from a barrier leaving ``host_out`` to the next host barrier
      passing the gate and entering the network.
    * ``min_cycles_per_event``: the ingress hands the core at most one axon event every
      ``min_cycles_per_event`` cycles (visible with ``ceil(N / P) < 2``).
    * ``conv_sweep_overhead``: a convolution core's step takes ``N + L +
      conv_sweep_overhead`` cycles after its last event (``docs/core.md``, "Convolution
      core": ``N + L + 2`` from the ``step`` transfer to ``done``, plus the barrier's decode
      and hand-over as for the neuron core); its events take ``ConvConfig.event_cycles`` each
      (decode clocks plus the kernel positions, ``ceil(out_channels / lanes)`` clocks for each
      that reaches an output).
    * ``conv_clear_cycles_per_write``: a convolution core's command takes 4 cycles (one more
      than the neuron core's) plus the response hand-shake.
    """

    sweep_overhead: int = 10
    ingress_latency: int = 8
    egress_latency: int = 1
    hop_latency: int = 3
    clear_cycles_per_write: int = 6
    host_gate_latency: int = 1
    min_cycles_per_event: int = 2
    conv_sweep_overhead: int = 5
    conv_clear_cycles_per_write: int = 4


@dataclass
class CycleEstimate:
    """Result of :func:`estimate_cycles` (clock cycles; steps of all samples back to back).

    ``cycles_per_step``: per global step, the time between the barriers of consecutive windows
    at the host; ``cycles_per_sample``: per sample; ``cycles_per_inference`` their mean (the
    throughput-bound time per sample when samples run back to back, including the end-of-sample
    clear); ``latency_cycles``: one sample alone, from its first input word to the host
    receiving the output layer's last spikes (pipeline fill included).
    ``synaptic_ops_per_inference``: mean synaptic operations (non-zero weights reached by an
    applied event) per sample; ``events_per_inference``: mean axon events applied per sample,
    per core; ``critical_core``: the core whose work dominates most steps.
    """

    steps: int
    samples: int
    cycles_per_step: list
    cycles_per_sample: list
    cycles_per_inference: float
    latency_cycles: int
    synaptic_ops_per_inference: float
    events_per_inference: list
    critical_core: int
    assumptions: str = ""
    model: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def core_cycles_per_step(core, events: int, model: TimingModel = TimingModel()) -> int:
    """Cycles one :class:`NeuronCore` or its ``CoreConfig`` (alone, inputs always offered,
    outputs always taken) needs for a step with ``events`` input events: ``events * ceil(N /
    P)`` event phase (dense, one weight word per lane per clock) plus the sweep ``ceil(N / P)
    + L + sweep_overhead``."""
    D = core.lane_depth
    per_event = (
        D if core.connectivity == "dense" else max(1, core.n_synapses // max(1, core.n_axons))
    )
    return int(events) * per_event + D + core.update_latency + model.sweep_overhead


def _hops(plan, source: int, target: int) -> int:
    """Routers between two endpoints: 1 in a star; Manhattan distance + 1 in a mesh."""
    from ..routing import StarTopology

    topology = plan.topology
    if isinstance(topology, StarTopology):
        return 1
    width = topology.width
    a = divmod(_mesh_position(plan, source), width)
    b = divmod(_mesh_position(plan, target), width)
    return abs(a[0] - b[0]) + abs(a[1] - b[1]) + 1


def _mesh_position(plan, endpoint: int) -> int:
    # docs/system.md: the host at (0, 0), core c at row-major position c + 1.
    return 0 if endpoint == plan.host else endpoint + 1


def estimate_cycles(
    plan,
    inputs=None,
    *,
    steps: int | None = None,
    samples: int | None = None,
    input_rate: float | None = None,
    seed: int = 0,
    model: TimingModel = TimingModel(),
    cores=None,
) -> CycleEstimate:
    """Analytic cycles per inference of ``plan``'s chip (``SystemTop``), host port never idle
    and ``host_out`` always ready.

    ``inputs`` ``{group: (steps, batch, size)}`` are run through the plan-level model
    (:func:`neurohw.network.plan_model.simulate_plan`) to count, per window, the events each
    core applies and each source sends; without ``inputs``, ``input_rate`` (spikes per line and
    step, Bernoulli, seeded) over ``steps`` steps and ``samples`` samples (default 1) makes them.
    Both are in the network's own timing: a skewed plan (same-step projections,
    ``plan.flush_steps``) runs each sample ``flush_steps`` steps longer, with zero input, and
    a skewed core clears its neurons' state once more at its start step.

    The timing recurrence, per global step ``s`` and core ``c`` (``D_c = ceil(N_c / P)``,
    ``L_c`` its update latency, ``h`` hop latency times routers on the way):

    * host barrier ``s - 1`` enters when barrier ``s - 2`` has left ``host_out`` (the gate) and
      the host has sent the step's input words (one per clock);
    * core ``c`` applies the events of window ``s - 1`` one after another,
      ``max(D_c, min_cycles_per_event)`` cycles each (sparse: the mean fan-out),
      starting when it finished step ``s - 1`` and the first event arrived (a core's events
      arrive during its source's sweep; the host's events right after the previous barrier);
    * it starts step ``s`` when its events are applied and barrier ``s - 1`` arrived from every
      source (the host's tick barrier included), after ``ingress_latency``; a 'per_event' core
      applies its events only after that barrier arrived, in its ingress's walk over its ``A``
      axons: ``A`` cycles plus the events (``docs/system-hardware.md`` "Per-event order"); at
      the first step of
      a sample (not the first sample) it first clears every state of every neuron
      (``clear_cycles_per_write`` per write);
    * the sweep ends ``D_c + L_c + sweep_overhead`` later (and not before its spikes left, one
      per clock); the barrier leaves the egress ``egress_latency`` later and reaches the host
      after the hops; the host's barrier ``s`` is the last of the cores'.
    """
    from ..hw.endpoint import clear_writes, state_targets
    from ..hw.system import conv_config, core_config
    from ..network.plan_model import simulate_plan
    from ..network.timing import pad_inputs

    if inputs is None:
        if steps is None or input_rate is None:
            raise ValueError("give inputs, or steps and input_rate")
        rng = np.random.default_rng(seed)
        samples = 1 if samples is None else int(samples)
        inputs = {
            name: (rng.random((steps, samples, group.size)) < input_rate).astype(np.int64) * 1
            for name, group in plan.network.inputs.items()
        }
    inputs = pad_inputs(inputs, plan.flush_steps)
    trace = simulate_plan(plan, inputs)
    T, B = trace.steps, trace.samples
    n = plan.n_cores
    if cores is None:
        # Only their description is needed (widths, latency, fan-out): no hardware is built.
        cores = [
            conv_config(cp) if cp.conv is not None else core_config(plan, cp) for cp in plan.cores
        ]
    conv = [cp.conv is not None for cp in plan.cores]
    # A convolution core sweeps one neuron per clock, whatever its lanes.
    D = [core.n_neurons if conv[c] else core.lane_depth for c, core in enumerate(cores)]
    L = [core.update_latency for core in cores]
    per_event = [
        max(
            model.min_cycles_per_event,
            0
            if conv[c]
            else D[c]
            if cores[c].connectivity == "dense"
            else max(1, round(cores[c].n_synapses / max(1, cores[c].n_axons))),
        )
        for c in range(n)
    ]
    sweep_overhead = [
        model.conv_sweep_overhead if conv[c] else model.sweep_overhead for c in range(n)
    ]
    per_write = [
        model.conv_clear_cycles_per_write if conv[c] else model.clear_cycles_per_write
        for c in range(n)
    ]
    ordered = [cores[c].params.accumulation is Accumulation.PER_EVENT for c in range(n)]
    # A convolution core has no delay ring: its clear writes are its states.
    clear = [
        per_write[c]
        * cores[c].n_neurons
        * len(state_targets(cores[c]) if conv[c] else clear_writes(cores[c]))
        for c in range(n)
    ]
    start_step = [plan.start_steps.get(cp.population, 0) for cp in plan.cores]
    start_clear = [
        per_write[c] * cores[c].n_neurons * len(state_targets(cores[c])) for c in range(n)
    ]
    # Potentiation after the sweep: each spiking neuron's column (n_axons + 1 cycles), then
    # the update pipeline drains.
    column = [
        cores[c].n_axons + 1
        if not conv[c] and cores[c].stdp is not None and cores[c].stdp.a_plus
        else 0
        for c in range(n)
    ]

    # Sources of each core (cores that route keys to it), and whether the host sends it events.
    host = plan.host
    K = plan.keys_per_endpoint
    sources = [set() for _ in range(n)]
    for key, targets in plan.connectivity.items():
        endpoint = key // K
        if endpoint == host:
            continue
        for t in targets:
            if t != host:
                sources[t].add(endpoint)
    hop_h2c = [model.hop_latency * _hops(plan, host, c) for c in range(n)]
    hop_c2h = [model.hop_latency * _hops(plan, c, host) for c in range(n)]
    hop_cc = [[model.hop_latency * _hops(plan, a, b) for b in range(n)] for a in range(n)]

    events = trace.events_per_step  # (n, B*T): events applied in step g
    # Cycles of the events each core applies in step g: events * per_event, or a convolution
    # core's own event cycles, which depend on the axon (kernel positions clipped at borders).
    event_work = events * np.asarray(per_event, dtype=np.int64)[:, np.newaxis]
    for c, cp in enumerate(plan.cores):
        if conv[c]:
            event_work[c] = _conv_event_cycles(plan, cp, cores[c], inputs, trace)
    # Host input words per window: one per input line with a non-zero count.
    counts = {name: np.asarray(v) for name, v in inputs.items()}
    host_words = np.zeros(B * T + 1, dtype=np.int64)
    for _name, c in counts.items():
        nz = (c[:T, :B, :] != 0).sum(axis=2)  # (T, B)
        host_words[: B * T] += nz.T.reshape(-1)
    spikes_out = np.zeros((n, B * T), dtype=np.int64)
    for c, cp in enumerate(plan.cores):
        s = trace.spikes[cp.population][:, :, cp.neuron_start : cp.neuron_stop]
        spikes_out[c] = (s != 0).sum(axis=2).T.reshape(-1)

    G = B * T
    done = np.zeros((n, G + 1))  # done[c][g + 1]: core finished step g; index 0: reset
    host_barrier_out = np.zeros(G + 1)  # barrier g left host_out; index 0: barrier -1
    sweep_start = np.zeros((n, G + 1))
    # Reset: every core clears max(D, A) cycles (a convolution core its N neurons), then
    # sends barrier -1.
    for c in range(n):
        done[c][0] = D[c] if conv[c] else max(D[c], cores[c].n_axons)
    host_barrier_out[0] = max(done[c][0] + model.egress_latency + hop_c2h[c] for c in range(n))
    host_barrier_in = np.zeros(G + 1)  # host barrier g - 1 entered (index g)
    work = np.zeros((n, G))
    for g in range(G):
        # Host: the inputs of step g, then barrier g - 1 (held until barrier g - 2 left).
        start_words = host_barrier_in[g] + 1 if g else 0.0
        words_end = start_words + host_words[g]
        gate = host_barrier_out[g - 1] + model.host_gate_latency if g >= 1 else 0.0
        host_barrier_in[g + 1] = max(words_end, gate) + 1
        first_sample_step = (g % T == 0) and g > 0
        for c in range(n):
            barrier_arrivals = [host_barrier_in[g + 1] + hop_h2c[c]]
            first_event = host_barrier_in[g] + hop_h2c[c] if g else hop_h2c[c]
            last_event_arrival = words_end + hop_h2c[c]
            for s in sources[c]:
                barrier_arrivals.append(done[s][g] + model.egress_latency + hop_cc[s][c])
                if g >= 1:
                    first_event = min(first_event, sweep_start[s][g] + L[s] + hop_cc[s][c])
                    last_event_arrival = max(last_event_arrival, done[s][g] + hop_cc[s][c])
            e = int(events[c][g])
            work_e = int(event_work[c][g])
            # The last event's own cycles (a convolution core's mean event of the step).
            last_e = -(-work_e // e) if e else 0
            if ordered[c]:
                # A 'per_event' core's ingress stores the window's events and, once the
                # barrier is in, walks its axons: one cycle per axon plus the events, paced
                # by the core (docs/system-hardware.md "Per-event order"). The barrier's
                # ingress latency overlaps the walk (fitted: three runs, 3-5 % above the RTL).
                start = max(
                    done[c][g] + work_e,
                    max(barrier_arrivals) + cores[c].n_axons + work_e,
                )
            else:
                apply_start = max(done[c][g], first_event + model.ingress_latency)
                events_end = max(
                    apply_start + work_e,
                    last_event_arrival + model.ingress_latency + last_e if e else 0,
                )
                start = max(events_end, max(barrier_arrivals) + model.ingress_latency)
            if first_sample_step:
                start += clear[c]
            if start_step[c] and g % T == start_step[c]:
                start += start_clear[c]
            sweep_start[c][g + 1] = start
            sweep = D[c] + L[c] + sweep_overhead[c]
            done[c][g + 1] = start + max(sweep, L[c] + int(spikes_out[c][g]) + 3)
            if column[c] and spikes_out[c][g]:
                done[c][g + 1] += 2 + column[c] * int(spikes_out[c][g]) + 6
            work[c][g] = done[c][g + 1] - done[c][g]
        host_barrier_out[g + 1] = max(
            done[c][g + 1] + model.egress_latency + hop_c2h[c] for c in range(n)
        )
    per_step = np.diff(host_barrier_out)
    per_sample = [float(host_barrier_out[(k + 1) * T] - host_barrier_out[k * T]) for k in range(B)]
    # One sample alone: its first word (time 0 after the reset barrier) to the host having
    # the last output spikes; the pipeline depth is part of the steps' recurrence.
    latency = float(per_sample[0]) if B else 0.0
    critical = int(np.bincount(np.argmax(work, axis=0), minlength=n).argmax()) if G else 0
    ops = float(trace.synaptic_ops.sum()) / max(1, B)
    return CycleEstimate(
        steps=T,
        samples=B,
        cycles_per_step=[float(x) for x in per_step],
        cycles_per_sample=per_sample,
        cycles_per_inference=float(np.mean(per_sample)) if per_sample else 0.0,
        latency_cycles=int(round(latency)),
        synaptic_ops_per_inference=ops,
        events_per_inference=[float(events[c].sum()) / max(1, B) for c in range(n)],
        critical_core=critical,
        assumptions=(
            f"{T} steps per sample, {B} sample(s); input spikes per sample "
            f"{float(sum(host_words)) / max(1, B):.1f} (mean); dense cores apply an event "
            f"in ceil(N/P) cycles"
            + (
                ", convolution cores in their decode clocks plus ceil(out_channels/lanes) per "
                "kernel position that reaches an output"
                if any(conv)
                else ""
            )
            + "; host port never idle, host_out always ready"
        ),
        model=dataclasses.asdict(model),
    )


def conv_axon_counts(plan, core_plan, inputs, trace) -> np.ndarray:
    """``(steps, samples, n_axons)``: the events convolution core ``core_plan`` applies per axon
    and step in ``trace`` (:func:`~neurohw.network.plan_model.simulate_plan` of the padded
    ``inputs``). Its axons are its source's neurons (``docs/system.md``, "Convolution cores"):
    an input group's counts of the same step, or a population's spikes of the step before
    (none at a sample's first step, nor before a skewed source's start step), on the axons
    whose keys are routed to the core (a source neuron with no weight here is not sent);
    checked against the plan model's event counts."""
    T, B = trace.steps, trace.samples
    counts = np.zeros((T, B, core_plan.n_axons), dtype=np.int64)
    for block in core_plan.axon_blocks:
        source = slice(block.source_start, block.source_start + block.count)
        axons = slice(block.axon_start, block.axon_start + block.count)
        routed = np.array(
            [
                core_plan.index in plan.connectivity.get(block.key_start + k, ())
                for k in range(block.count)
            ]
        )
        if block.source in plan.network.inputs:
            counts[:, :, axons] += np.asarray(inputs[block.source])[:T, :B, source] * routed
        else:
            start = plan.start_steps.get(block.source, 0)
            spikes = np.asarray(trace.spikes[block.source])[:, :, source] * routed
            counts[max(1, start + 1) :, :, axons] += spikes[max(0, start) : T - 1]
    applied = counts.sum(axis=2).T.reshape(-1)
    if not np.array_equal(applied, trace.events_per_step[core_plan.index]):
        raise RuntimeError(
            f"core {core_plan.index}: the convolution core's events per step "
            f"({applied.tolist()}) differ from the plan model's "
            f"({trace.events_per_step[core_plan.index].tolist()})"
        )
    return counts


def _conv_event_cycles(plan, core_plan, config, inputs, trace) -> np.ndarray:
    """``(samples * steps,)``: the cycles convolution core ``core_plan`` spends applying each
    step's events: ``ConvConfig.event_cycles`` of every event's axon (a count of ``k`` is ``k``
    events; :func:`conv_axon_counts`)."""
    cycles = np.array([config.event_cycles(a) for a in range(config.n_axons)], dtype=np.int64)
    return (conv_axon_counts(plan, core_plan, inputs, trace) @ cycles).T.reshape(-1)


# -- reports ------------------------------------------------------------------------------------


@dataclass
class DeviceResult:
    """One device's outcome: a :class:`SynthReport`, or ``error`` (does not fit / failed) with
    ``overflow`` ``[(bel, used, available)]``."""

    device: str
    synth: SynthReport | None = None
    error: str | None = None
    overflow: list = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.synth is not None

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"device": self.device, "fits": self.fits}
        if self.synth is not None:
            s = self.synth
            out.update(
                {
                    "luts": s.luts,
                    "carries": s.carries,
                    "ffs": s.ffs,
                    "bram": s.bram,
                    "spram": s.spram,
                    "dsp": s.dsp,
                    "logic_cells": s.logic_cells,
                    "fmax": s.fmax,
                    "fmax_mhz": s.fmax_mhz,
                    "clock_mhz": s.clock_mhz,
                    "utilization": s.utilization,
                    "capacity": s.capacity,
                    "harness": s.harness,
                    "yosys": s.yosys_version,
                    "nextpnr": s.nextpnr_version,
                    "seed": s.seed,
                    "wall_time_s": s.wall_time_s,
                }
            )
            if s.xilinx is not None:
                out["xilinx"] = s.xilinx
        else:
            out.update({"error": self.error, "overflow": [list(o) for o in self.overflow]})
        return out


@dataclass
class DesignReport:
    """Result of :func:`synth_report`: per device a :class:`DeviceResult`, and the cycles of one
    inference (if given) to derive latency and synaptic operations per second at each Fmax."""

    design: str
    devices: list
    cycles_per_inference: float | None = None
    synaptic_ops_per_inference: float | None = None
    latency_cycles: float | None = None
    assumptions: str = ""
    description: dict = field(default_factory=dict)

    def latency_us(self, result: DeviceResult) -> float | None:
        """Latency per inference at the device's achieved Fmax, in microseconds."""
        cycles = (
            self.latency_cycles if self.latency_cycles is not None else self.cycles_per_inference
        )
        if cycles is None or not result.fits or not result.synth.fmax_mhz:
            return None
        return cycles / result.synth.fmax_mhz

    def time_per_inference_us(self, result: DeviceResult) -> float | None:
        if self.cycles_per_inference is None or not result.fits or not result.synth.fmax_mhz:
            return None
        return self.cycles_per_inference / result.synth.fmax_mhz

    def synaptic_ops_per_s(self, result: DeviceResult) -> float | None:
        t = self.time_per_inference_us(result)
        if t is None or self.synaptic_ops_per_inference is None:
            return None
        return self.synaptic_ops_per_inference / (t * 1e-6)

    def to_dict(self) -> dict:
        devices = []
        for r in self.devices:
            d = r.to_dict()
            d["latency_us"] = self.latency_us(r)
            d["time_per_inference_us"] = self.time_per_inference_us(r)
            d["synaptic_ops_per_s"] = self.synaptic_ops_per_s(r)
            devices.append(d)
        return {
            "design": self.design,
            "cycles_per_inference": self.cycles_per_inference,
            "latency_cycles": self.latency_cycles,
            "synaptic_ops_per_inference": self.synaptic_ops_per_inference,
            "assumptions": self.assumptions,
            "description": self.description,
            "devices": devices,
        }

    def to_json(self, path=None) -> str:
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True, default=_jsonable) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def as_markdown(self) -> str:
        """One row per device: resources, Fmax, latency and synaptic ops/s (or why it does not
        fit), and the assumptions below the table."""
        lines = [
            f"| {self.design} | LUT4 | carry | FF | BRAM | SPRAM | DSP | logic cells "
            f"| Fmax MHz | latency/inference | SOP/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in self.devices:
            label = DEVICE_LABELS.get(r.device, r.device)
            if not r.fits:
                lines.append(f"| {label} | does not fit: {_short_error(r)} |||||||||")
                continue
            s = r.synth
            if s.xilinx is not None:
                x = s.xilinx
                lines.append(
                    f"| {label} | {x['luts']} LUT6 ({x['lutram_luts']} LUT-RAM, {x['srl']} SRL) "
                    f"| {x['carry4']} CARRY4 | {x['ffs']} | {x['bram36']:g} BRAM36 | 0 | "
                    f"{x['dsp48e1']} DSP48E1 | - | no P&R | - | - |"
                )
                continue
            fmax = "-" if s.fmax_mhz is None else f"{s.fmax_mhz:.1f}"
            lat = self.latency_us(r)
            sops = self.synaptic_ops_per_s(r)
            lines.append(
                f"| {label} | {s.luts} | {s.carries} | {s.ffs} | {s.bram} | {s.spram} | "
                f"{s.dsp} | {s.logic_cells} | {fmax} | "
                f"{'-' if lat is None else format_us(lat)} | "
                f"{'-' if sops is None else format_rate(sops)} |"
            )
        if self.assumptions:
            lines += ["", self.assumptions]
        return "\n".join(lines)


def format_us(us: float) -> str:
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} us"


def format_rate(ops: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if ops >= scale:
            return f"{ops / scale:.1f} {unit}"
    return f"{ops:.0f}"


def _short_error(result: DeviceResult) -> str:
    if result.overflow:
        return "; ".join(f"{bel} {used}/{available}" for bel, used, available in result.overflow)
    return (result.error or "").splitlines()[0][:200]


def _jsonable(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"{value!r} is not JSON-able")


def synth_report(
    design_or_plan,
    devices,
    *,
    workdir,
    cycles_per_inference=None,
    name: str | None = None,
    clock_mhz: dict | float | None = None,
    seed: int = 1,
    harness: bool | None = None,
    router_fifo_depth: int = 2,
    synaptic_ops_per_inference: float | None = None,
    latency_cycles: float | None = None,
    assumptions: str = "",
    timeout: float | None = None,
) -> DesignReport:
    """Synthesize ``design_or_plan`` on each of ``devices`` and report resources, Fmax and, with
    the cycles of one inference, latency and synaptic operations per second.

    ``design_or_plan``: a :class:`neurohw.Chip`, a ``ChipPlan`` (synthesized as
    ``Chip(plan, router_fifo_depth=router_fifo_depth)``, the chip's default options), or any
    Amaranth component (a ``NeuronCore``, a board bridge). ``devices``: names of
    :data:`neurohw.flows.synth.DEVICES` (one string or several). Each device runs in
    ``workdir/<device>`` through :func:`synthesize_design` (a chip through
    :func:`synthesize_chip`, as :meth:`neurohw.Chip.synthesize`); large memory initializers go
    through ``$readmemh``
    (:func:`verilog_for_synthesis`). ``cycles_per_inference``: a number, or a
    :class:`CycleEstimate` (its cycles, latency, synaptic operations and assumptions are used).
    ``clock_mhz``: the nextpnr constraint, one number or ``{device: MHz}`` (default: the
    device's). A design that does not fit, or a tool failure, is recorded in the device's
    :class:`DeviceResult` (``error``, ``overflow``) instead of raising.
    """
    from amaranth.lib import wiring

    from ..hw.chip_design import ChipDesign
    from ..network.plan import ChipPlan

    if isinstance(devices, str):
        devices = [devices]
    for device in devices:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(sorted(DEVICES))}, not {device!r}")
    description: dict[str, Any] = {}
    if isinstance(design_or_plan, ChipPlan):
        design_or_plan = ChipDesign(design_or_plan, router_fifo_depth=router_fifo_depth)
    if isinstance(design_or_plan, ChipDesign):
        chip = design_or_plan
        description = chip.description()
        default_name = "system"

        def run(device, device_dir, **options):
            return synthesize_chip(chip, device, workdir=device_dir, **options)
    elif isinstance(design_or_plan, wiring.Component):
        design = design_or_plan
        default_name = type(design).__name__
        if hasattr(design, "n_neurons"):
            description = {
                "kind": "core",
                "neurons": design.n_neurons,
                "axons": design.n_axons,
                "lanes": design.lanes,
            }

        def run(device, device_dir, **options):
            return synthesize_design(design, device, workdir=device_dir, **options)
    else:
        raise TypeError(
            f"design_or_plan must be a Chip, a ChipPlan or an Amaranth component, "
            f"not {design_or_plan!r}"
        )
    name = name or default_name
    if isinstance(cycles_per_inference, CycleEstimate):
        estimate = cycles_per_inference
        cycles_per_inference = estimate.cycles_per_inference
        if latency_cycles is None:
            latency_cycles = estimate.latency_cycles
        if synaptic_ops_per_inference is None:
            synaptic_ops_per_inference = estimate.synaptic_ops_per_inference
        assumptions = assumptions or estimate.assumptions
    workdir = Path(workdir)
    results = []
    for device in devices:
        clock = clock_mhz.get(device) if isinstance(clock_mhz, dict) else clock_mhz
        try:
            report = run(
                device,
                workdir / device,
                name=name,
                clock_mhz=clock,
                seed=seed,
                harness=harness,
                timeout=timeout,
            )
        except SynthesisError as error:
            results.append(DeviceResult(device, error=str(error), overflow=list(error.overflow)))
            continue
        results.append(DeviceResult(device, synth=report))
    out = DesignReport(
        design=name,
        devices=results,
        cycles_per_inference=cycles_per_inference,
        synaptic_ops_per_inference=synaptic_ops_per_inference,
        latency_cycles=latency_cycles,
        assumptions=assumptions,
        description=description,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    out.to_json(workdir / "design_report.json")
    return out
