"""From a network to verified, synthesized hardware, with one report.

:func:`load_source` turns a NIR file or a saved network into an integer :class:`Network`
(importing and quantizing where needed); :func:`run_flow` then runs the stages

1. reference: the system model on every sample (accuracy when labels are given, and the float
   network's accuracy when there is one), spikes and synaptic operations per inference;
2. mapping onto cores (``plan.json``);
3. Verilog of the whole chip (``system.v``);
4. RTL simulation of the first ``verify_samples`` samples on each simulator, every output spike
   of every window compared with the model; the RTL's own outputs give its accuracy, which must
   equal the model's sample by sample;
5. out-of-context synthesis per device (resources, Fmax, latency per inference at that Fmax);
6. ``report.md`` / ``report.json`` with NeuroBench's metrics and the estimated energy per
   inference (:mod:`neurohw.flows.energy_report`, ``energy.png``), and a spike raster of the
   first sample (``raster.png``).

Every stage prints one progress line as it starts; simulation prints progress per sample.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..chip import DEFAULT_DEBUG
from ..network.graph import MAX_VALUE_BITS, Network
from ..network.mapping import CoreCapacity, map_network
from ..network.system import check_samples, simulate, simulate_samples
from ..toolchain import SIMULATORS

__all__ = [
    "FlowError",
    "Source",
    "load_source",
    "integer_inputs",
    "run_flow",
    "synaptic_operations",
    "write_report",
    "MAX_INPUT_BITS",
]

#: Widest graded input (``--input-bits``): the network's limit.
MAX_INPUT_BITS = MAX_VALUE_BITS


class FlowError(ValueError):
    """An input to the flow that cannot be used; the message says which and why."""


@dataclass
class Source:
    """What the flow starts from: the integer network, and when it came from a float model,
    that model and the quantization report."""

    network: Network
    float_net: object | None = None
    quantization: object | None = None
    origin: str = ""


def _check_input_bits(input_bits):
    if input_bits is None:
        return None
    if (
        isinstance(input_bits, bool)
        or not isinstance(input_bits, (int, np.integer))
        or not 1 <= input_bits <= MAX_INPUT_BITS
    ):
        raise FlowError(
            f"input_bits must be an integer between 1 and {MAX_INPUT_BITS} (the "
            f"bits of a graded input value), not {input_bits!r}"
        )
    return int(input_bits)


def load_source(
    path,
    *,
    dt: float | None = None,
    weight_width: int = 8,
    input_max_count: int = 1,
    input_bits: int | None = None,
    exporter: str = "nir",
    timing: str | None = None,
    reset: str | None = None,
    reset_delay: bool | None = None,
    calibration: dict | None = None,
) -> Source:
    """A NIR file (``.nir``, ``.h5``) or a network file written by :meth:`Network.save`
    (``.npz``, ``.zip``).

    NIR: imported with ``exporter``'s profile (``dt``, ``timing``, ``reset``, ``reset_delay``
    override its defaults; ``docs/frontends.md``) and quantized to ``weight_width`` bits, with
    ``calibration`` (float inputs ``{group: (steps, samples, size)}``) choosing the scales.
    ``input_bits`` (1..16): the inputs are real values, quantized to graded ``input_bits``-bit
    values (``docs/system.md``, "Graded inputs"), which needs ``calibration``. A network file
    fixes its input groups: with ``input_bits`` every group must be graded with that many
    bits."""
    from ..network.nir_import import PROFILES, NIRImportError, import_nir
    from ..network.quantize import quantize

    input_bits = _check_input_bits(input_bits)
    path = Path(path)
    if not path.is_file():
        raise FlowError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".nir", ".h5", ".hdf5"):
        profile = PROFILES.get(exporter)
        if profile is not None and dt is None and profile.dt is None and profile.name != "rockpool":
            raise FlowError(
                f"{path}: importing NIR needs the time step --dt in seconds (NIR "
                f"fixes none), or --exporter naming the framework that wrote the "
                f"file (snntorch, norse, sinabs, rockpool); see docs/frontends.md"
            )
        try:
            float_net = import_nir(
                path,
                dt=dt,
                exporter=exporter,
                timing=timing,
                reset=reset,
                reset_delay=reset_delay,
                input_max_count=input_max_count,
                real_valued_input=input_bits is not None,
            )
        except OSError as error:
            raise FlowError(f"cannot read {path}: {error}") from None
        except NIRImportError as error:
            message = str(error)
            raise FlowError(message if str(path) in message else f"{path}: {message}") from None
        if input_bits is not None and calibration is None:
            raise FlowError(
                f"{path}: real-valued inputs (--input-bits {input_bits}) need "
                f"calibration data to choose their scale: give --inputs (or "
                f"--calibration)"
            )
        network, report = quantize(
            float_net, weight_width=weight_width, calibration=calibration, input_bits=input_bits
        )
        return Source(
            network,
            float_net,
            report,
            origin=f"NIR {path.name} ({exporter}), dt={float_net.dt:g} s",
        )
    if suffix in (".npz", ".zip"):
        network = Network.load(path)
        if input_bits is not None:
            for group in network.inputs.values():
                if group.value_bits != input_bits:
                    what = (
                        f"value_bits={group.value_bits}"
                        if group.graded
                        else "spike counts (not graded)"
                    )
                    raise FlowError(
                        f"{path}: input_bits={input_bits}, but input group "
                        f"{group.name!r} of the network file has {what}; a network "
                        f"file fixes its input groups: leave out --input-bits or "
                        f"save the network with InputGroup(value_bits="
                        f"{input_bits})"
                    )
        return Source(network, origin=f"network {path.name}")
    raise FlowError(
        f"{path}: unknown file type {suffix!r}; give a NIR file (.nir, .h5) or a "
        f"network file (.npz) written by Network.save"
    )


def integer_inputs(source: Source, inputs: dict, *, input_bits: int | None = None) -> dict:
    """``inputs`` with every array as integers for the network of ``source``.

    Integer arrays pass unchanged (:func:`~neurohw.network.system.check_samples` checks them,
    once, in :func:`run_flow`).
    Real-valued (float) arrays are refused without ``input_bits``; with it, a NIR source's
    real-valued groups are encoded with the quantizer's input scale
    (:func:`neurohw.network.quantize.encode_inputs`), and otherwise a float array of whole
    numbers becomes those integers (exactly)."""
    from ..network.quantize import encode_inputs

    input_bits = _check_input_bits(input_bits)
    real = set()
    if source.float_net is not None:
        real = {name for name, g in source.float_net.inputs.items() if g.real_valued}
    out = {}
    for name, array in inputs.items():
        array = np.asarray(array)
        if array.dtype.kind != "f":
            out[name] = array
            continue
        if input_bits is None:
            raise FlowError(
                f"input {name!r} is real-valued (dtype {array.dtype}); give "
                f"input_bits (--input-bits K, 1..{MAX_INPUT_BITS}) to use real "
                f"values as K-bit graded inputs, or integer spike counts"
            )
        if name in real:
            out.update(encode_inputs(source.quantization, {name: array}))
            continue
        if np.all(np.isfinite(array)) and np.array_equal(array, np.round(array)):
            out[name] = array.astype(np.int64)
            continue
        raise FlowError(
            f"input {name!r} holds real values that are not whole numbers (first "
            f"{float(array[~np.isclose(array, np.round(array))].flat[0])!r}); "
            f"a network file's graded groups take integer values"
        )
    return out


def synaptic_operations(network: Network, inputs: dict, spikes: dict) -> np.ndarray:
    """Synaptic operations per sample: every delivered count times its synapse count,
    ``(batch,)``; a graded input's non-zero value is one event, one operation per synapse.
    Spikes of the last step are never delivered (``docs/system.md``)."""
    fan_out = {}
    for projection in network.projections:
        fan_out.setdefault(projection.source, 0)
        fan_out[projection.source] = fan_out[projection.source] + projection.fan_out()
    total = 0
    for source, synapses in fan_out.items():
        counts = inputs[source] if source in inputs else spikes[source][:-1]
        if source in network.inputs and network.inputs[source].graded:
            counts = (counts != 0).astype(np.int64)
        total = total + np.einsum("tbn,n->b", counts, synapses)
    return np.asarray(total, dtype=np.int64)


def _progress(text: str) -> None:
    print(text, flush=True)


def _predictions(network: Network, spikes: dict, output: str) -> np.ndarray:
    # Spike counts over the run; ties go to the lowest index, as np.argmax does.
    return spikes[output].sum(axis=0).argmax(axis=1)


def run_flow(
    source: Source,
    out_dir,
    *,
    inputs: dict,
    labels=None,
    name: str = "network",
    capacity: CoreCapacity = CoreCapacity(),
    lanes: int = 1,
    topology: str = "auto",
    graded_spikes: bool = False,
    verify_samples: int = 10,
    simulators=(),
    devices=(),
    seed: int = 0,
    traffic: dict | None = None,
    float_inputs: dict | None = None,
    debug: bool = DEFAULT_DEBUG,
    files: dict | None = None,
    activity_counters: bool = False,
) -> dict:
    """Run every stage (module docstring) and return the report (also written to
    ``out_dir/report.json`` and ``report.md``). ``inputs`` are the integer network's;
    ``float_inputs`` the float network's when they differ (real values, which ``inputs`` holds
    as graded integers). ``debug``: the chip's debug port (:class:`neurohw.Chip`); the Verilog
    written, verified and synthesized is that one design; ``activity_counters``: its activity
    counters, checked by the verification (the report then has the RTL-counted activity). ``inputs`` are validated once, here
    (:func:`~neurohw.network.system.check_samples`); every later stage takes the checked
    :class:`~neurohw.network.system.Samples`. ``files`` ``{name: path}``: more files copied
    into the output folder (``neurohw example`` adds its NIR export).

    Every argument is checked, and the network mapped, before anything is written; the files go
    to a staging folder beside ``out_dir`` that replaces it as a whole only when every stage has
    succeeded (:func:`neurohw.io.output_folder`), so a failed run leaves ``out_dir`` as it was.
    Raises :class:`FlowError` for unusable inputs and ``neurohw.sim.runner.CocotbTestFailure``
    when the RTL disagrees with the model (nothing is written then)."""
    from ..chip import Chip
    from ..io import output_folder
    from .synth import check_device

    out_dir = Path(out_dir)
    network = source.network
    # Everything is checked before anything is written (docs/cli.md, "Errors"): the inputs, the
    # labels, the options and the mapping; the outputs then go to a staging folder that
    # replaces out_dir only when every stage has succeeded.
    samples = check_samples(network, inputs)
    steps, batch = samples.steps, samples.batch
    if steps < 1 or batch < 1:
        raise FlowError(
            f"inputs must hold at least one step and one sample, not {steps} step(s) x "
            f"{batch} sample(s)"
        )
    output = network.outputs[0]
    if labels is not None:
        labels = _check_labels(labels, batch, output, network.populations[output].size)
    if isinstance(verify_samples, bool) or not 0 <= verify_samples <= batch:
        raise FlowError(
            f"verify_samples must be between 0 and the {batch} samples given, not {verify_samples}"
        )
    for device in devices:
        try:
            check_device(device)
        except ValueError as error:
            raise FlowError(str(error)) from None
    for simulator in simulators:
        if simulator not in SIMULATORS:
            allowed = ", ".join(repr(name) for name in SIMULATORS)
            raise FlowError(f"simulator must be one of {allowed}, not {simulator!r}")
    plan = map_network(
        network,
        capacity=capacity,
        lanes=lanes,
        topology=topology,
        graded_spikes=graded_spikes,
        # Convolution cores have no activity counters (docs/system.md, "Convolution cores").
        conv="dense" if activity_counters else "auto",
    )
    chip = Chip(plan, debug=debug, activity_counters=activity_counters)
    with output_folder(out_dir) as work:
        for file_name, path in (files or {}).items():
            shutil.copy2(path, work / file_name)
        return _run_stages(
            source,
            out_dir,
            work,
            samples=samples,
            labels=labels,
            name=name,
            plan=plan,
            chip=chip,
            verify_samples=verify_samples,
            simulators=simulators,
            devices=devices,
            seed=seed,
            traffic=traffic,
            float_inputs=float_inputs,
        )


def _check_labels(labels, batch: int, output: str, classes: int) -> np.ndarray:
    """Integer class indices, one per sample, each naming a neuron of the output population."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise FlowError(
            f"labels must be integer class indices (0..{classes - 1}), not dtype {labels.dtype}"
        )
    if labels.shape != (batch,):
        raise FlowError(
            f"labels must have one entry per sample ({batch}), not shape {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = int(labels.min() if labels.min() < 0 else labels.max())
        raise FlowError(
            f"labels must be between 0 and {classes - 1} (the output population {output!r} "
            f"has {classes} neurons), not {bad}"
        )
    return labels


def _run_stages(
    source,
    final_dir,
    out_dir,
    *,
    samples,
    labels,
    name,
    plan,
    chip,
    verify_samples,
    simulators,
    devices,
    seed,
    traffic,
    float_inputs,
) -> dict:
    """The stages of :func:`run_flow` on checked arguments, writing into the staging folder
    ``out_dir``; progress lines name the files where they will be, in ``final_dir``."""
    from ..network.quantize import evaluate
    from .synth import SynthesisError

    network = source.network
    steps, batch, counts = samples.steps, samples.batch, samples.counts
    output = network.outputs[0]

    report: dict = {
        "name": name,
        "origin": source.origin,
        "samples": batch,
        "steps": steps,
        "network": _network_summary(network),
    }
    network.save(out_dir / "network.npz")
    if source.quantization is not None:
        (out_dir / "quantization.md").write_text(source.quantization.table() + "\n")
        report["quantization"] = source.quantization.to_dict()

    # 1. Reference model.
    _progress(f"[1/6] reference model: {batch} samples x {steps} steps")
    start = time.perf_counter()
    # A chip that learns runs the samples one after another, carrying what it learned.
    trace = (simulate_samples if network.plastic_projections else simulate)(network, samples)
    model_seconds = time.perf_counter() - start
    fixed_pred = _predictions(network, trace.spikes, output)
    sops = synaptic_operations(network, counts, trace.spikes)
    spikes_per_sample = sum(s.sum(axis=(0, 2)) for s in trace.spikes.values())
    reference = {
        "seconds": round(model_seconds, 3),
        "spikes_per_inference": float(spikes_per_sample.mean()),
        "synaptic_ops_per_inference": float(sops.mean()),
        "input_events_per_inference": float(
            sum(
                np.count_nonzero(c) if network.inputs[name].graded else c.sum()
                for name, c in counts.items()
            )
            / batch
        ),
    }
    if labels is not None:
        reference["fixed_accuracy"] = float((fixed_pred == labels).mean())
        if source.float_net is not None:
            # A real-valued input runs the float network on the real values.
            accuracy = evaluate(
                source.float_net,
                network,
                float_inputs if float_inputs is not None else counts,
                labels,
                report=source.quantization,
            )
            reference["float_accuracy"] = float(accuracy.float_accuracy)
            reference["float_fixed_agreement"] = float(accuracy.agreement)
            if accuracy.fixed_accuracy != reference["fixed_accuracy"]:
                raise AssertionError("evaluate() and the flow disagree on fixed-point accuracy")
    report["reference"] = reference
    _progress(
        "      " + ", ".join(f"{k} {v:.4g}" for k, v in reference.items() if isinstance(v, float))
    )

    # 2. Mapping (done, and checked, before anything was written).
    report["plan"] = _plan_summary(plan)
    (out_dir / "plan.json").write_text(json.dumps(report["plan"], indent=1) + "\n")
    _progress(
        f"[2/6] mapped onto {plan.n_cores} core(s), {report['plan']['topology']} "
        f"topology, {report['plan']['routing_entries']} routing entries"
    )

    # 3. Verilog.
    verilog = out_dir / "system.v"
    chip.verilog(verilog)
    report["verilog"] = {
        "path": verilog.name,
        "bytes": verilog.stat().st_size,
        "debug": chip.debug,
        "activity_counters": chip.activity_counters,
        "design_sha256": chip.design_hash(),
        # The same Verilog packaged for other flows (FuseSoC, IP-XACT, Verilator, memory files).
        "ip_package": "ip",
    }
    chip.package(out_dir / "ip")
    _progress(
        f"[3/6] generated {final_dir / verilog.name} ({verilog.stat().st_size} bytes) and its "
        f"IP package {final_dir / 'ip'}"
    )
    _copy_testbench(out_dir / "testbench")

    # 4. RTL verification.
    report["verification"] = []
    if verify_samples and simulators:
        subset = samples.head(verify_samples)
        for simulator in simulators:
            _progress(
                f"[4/6] RTL simulation on {simulator}: {verify_samples} samples, every "
                f"output spike of every step compared with the model"
            )
            result = chip.verify(
                subset,
                simulator=simulator,
                build_dir=out_dir / "sim" / simulator,
                seed=seed,
                traffic=traffic,
                progress=_progress,
                # With counters, each sample's activity straight from the hardware.
                activity_per_sample=chip.activity_counters,
            )
            entry = {**result.to_dict(), "passed": True}
            rtl_pred = _predictions(network, result.output_spikes, output)
            entry["rtl_matches_model_per_sample"] = bool(
                np.array_equal(rtl_pred, fixed_pred[:verify_samples])
            )
            if labels is not None:
                entry["rtl_accuracy"] = float((rtl_pred == labels[:verify_samples]).mean())
                entry["model_accuracy_same_samples"] = float(
                    (fixed_pred[:verify_samples] == labels[:verify_samples]).mean()
                )
            entry.pop("output_spikes", None)
            if result.activity is None:
                entry.pop("activity", None)
                entry.pop("activity_per_sample", None)
            else:
                entry["activity_equals_model"] = True  # the bench fails on any difference
            report["verification"].append(entry)
            _progress(
                f"      bit-exact on {simulator}: {result.output_events_compared} output "
                f"events, {result.cycles_per_sample_mean:.0f} cycles per inference, "
                f"{result.seconds:.1f} s"
            )
    else:
        _progress("[4/6] RTL simulation skipped")

    # 5. Synthesis.
    report["synthesis"] = []
    cycles = _cycles_per_inference(report)
    for device in devices:
        _progress(f"[5/6] synthesizing for {device} (yosys, nextpnr; out of context)")
        try:
            synth = chip.synthesize(
                device, workdir=out_dir / "synth" / device, name=f"{name}_{device}"
            )
        except SynthesisError as error:
            report["synthesis"].append({"device": device, "error": str(error)})
            _progress(f"      {error}")
            continue
        entry = synth.to_dict()
        if cycles and synth.fmax_mhz:
            entry["latency_us_per_inference"] = cycles / synth.fmax_mhz
        report["synthesis"].append(entry)
        _progress(synth.as_table())
    if not devices:
        _progress("[5/6] synthesis skipped")

    # 6. Report, with the NeuroBench metrics and the energy estimate (flows.energy_report).
    from ..plot import plot_network_raster
    from .energy_report import add_energy_section

    add_energy_section(report, plan, samples, out_dir)

    layers = {g: counts[g][:, 0] for g in network.inputs}
    layers.update({p: trace.spikes[p][:, 0] for p in network.populations})
    title = f"{name}: sample 0"
    text = {
        output: f"predicted {fixed_pred[0]}"
        + (f"\nlabel {labels[0]}" if labels is not None else "")
    }
    plot_network_raster(layers, out_dir / "raster.png", title=title, labels=text)
    paths = write_report(out_dir, report)
    _progress(f"[6/6] report: {final_dir / paths[0].name} ({paths[1].name}, raster.png)")
    return report


def _cycles_per_inference(report) -> float | None:
    runs = [
        v["cycles_per_sample_mean"] for v in report["verification"] if "cycles_per_sample_mean" in v
    ]
    return max(runs) if runs else None


def _network_summary(network: Network) -> dict:
    return {
        "inputs": {g.name: g.size for g in network.inputs.values()},
        "populations": {p.name: p.size for p in network.populations.values()},
        "neurons": network.n_neurons,
        "synapses": network.n_synapses,
        "outputs": list(network.outputs),
    }


def _plan_summary(plan) -> dict:
    topology = type(plan.topology).__name__.removesuffix("Topology").lower()
    return {
        "cores": [
            {
                "index": c.index,
                "population": c.population,
                "neurons": [c.neuron_start, c.neuron_stop],
                "axons": c.n_axons,
                "synapses": c.n_synapses,
                "connectivity": c.connectivity,
                "lanes": c.lanes,
                **({"kernel_words": c.conv[0].kernel_words} if c.conv is not None else {}),
                "max_events_per_step": c.max_events_per_step,
                # Sources whose events arrive graded (graded inputs, graded spikes).
                "graded_sources": [b.source for b in c.axon_blocks if b.graded],
            }
            for c in plan.cores
        ],
        "topology": topology,
        "routers": len(plan.routing.routers),
        "routing_entries": sum(len(r.table) for r in plan.routing.routers),
        "keys_per_endpoint": plan.keys_per_endpoint,
        "event_format": plan.fmt.as_dict(),
        # Same-step projections run skewed: each population's start step, the extra steps.
        "start_steps": dict(plan.start_steps),
        "flush_steps": plan.flush_steps,
    }


def _copy_testbench(directory: Path) -> None:
    """The cocotb bench and its helpers, so the output folder can be re-simulated as is."""
    from neurohw.sim.runner import SIM_DIR

    directory.mkdir(parents=True, exist_ok=True)
    for name in ("bench_system.py", "system_case.py"):
        shutil.copy2(SIM_DIR / name, directory / name)
    shutil.copytree(
        SIM_DIR / "lib",
        directory / "lib",
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )


def write_report(out_dir: Path, report: dict) -> tuple[Path, Path]:
    json_path, md_path = out_dir / "report.json", out_dir / "report.md"
    json_path.write_text(json.dumps(report, indent=1, sort_keys=True, default=float) + "\n")
    ref = report["reference"]
    lines = [
        f"# neurohw: {report['name']}",
        "",
        f"Source: {report['origin'] or 'API'}. "
        f"{report['samples']} samples x {report['steps']} steps.",
        "",
        "## Accuracy and activity (per inference)",
        "",
        "| quantity | value |",
        "|---|---:|",
    ]
    rows = [
        ("float accuracy", ref.get("float_accuracy"), "{:.2%}"),
        ("fixed-point accuracy", ref.get("fixed_accuracy"), "{:.2%}"),
        ("float/fixed agreement", ref.get("float_fixed_agreement"), "{:.2%}"),
        ("input events", ref["input_events_per_inference"], "{:.1f}"),
        ("spikes", ref["spikes_per_inference"], "{:.1f}"),
        ("synaptic operations", ref["synaptic_ops_per_inference"], "{:.0f}"),
    ]
    lines += [
        f"| {label} | {fmt.format(value)} |" for label, value, fmt in rows if value is not None
    ]
    plan = report["plan"]
    lines += [
        "",
        f"## Mapping: {len(plan['cores'])} core(s), {plan['topology']}, "
        f"{plan['routing_entries']} routing entries",
        "",
        "| core | population | neurons | axons | synapses | connectivity |",
        "|---:|---|---|---:|---:|---|",
    ]
    for core in plan["cores"]:
        lo, hi = core["neurons"]
        lines.append(
            f"| {core['index']} | {core['population']} | {lo}..{hi - 1} | "
            f"{core['axons']} | {core['synapses']} | {core['connectivity']} |"
        )
    lines += ["", "## RTL verification (every output spike, every step)", ""]
    if report["verification"]:
        lines += [
            "| simulator | samples | output events | cycles/inference | RTL accuracy | "
            "model accuracy (same samples) | per-sample match | time |",
            "|---|---:|---:|---:|---:|---:|---|---:|",
        ]
        for v in report["verification"]:
            acc = v.get("rtl_accuracy")
            model_acc = v.get("model_accuracy_same_samples")
            lines.append(
                f"| {v['simulator']} | {v['samples']} | {v['output_events_compared']} | "
                f"{v['cycles_per_sample_mean']:.0f} | "
                f"{'-' if acc is None else f'{acc:.2%}'} | "
                f"{'-' if model_acc is None else f'{model_acc:.2%}'} | "
                f"{'yes' if v['rtl_matches_model_per_sample'] else 'NO'} | "
                f"{v['seconds']:.0f} s |"
            )
    else:
        lines.append("skipped")
    if report["synthesis"]:
        lines += [
            "",
            "## Synthesis (out of context)",
            "",
            "| device | LUTs | FFs | BRAM | DSP | Fmax (MHz) | latency/inference |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for s in report["synthesis"]:
            if "error" in s:
                lines.append(
                    f"| {s['device']} | does not fit or failed: {s['error'][:120]} | | | | | |"
                )
                continue
            latency = s.get("latency_us_per_inference")
            lines.append(
                f"| {s['device']} | {s['luts']} | {s['ffs']} | {s['bram']} | "
                f"{s['dsp']} | {s['fmax_mhz'] or 0:.1f} | "
                f"{'-' if latency is None else f'{latency:.1f} us'} |"
            )
        if report["verilog"].get("activity_counters"):
            lines += [
                "",
                "The synthesized design includes the activity counters "
                '(docs/system-hardware.md, "Activity counters", gives their cost; '
                "`--no-activity-counters` leaves them out).",
            ]
    from .energy_report import energy_markdown

    lines += energy_markdown(report)
    md_path.write_text("\n".join(lines) + "\n")
    return md_path, json_path


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use the neurohw command line: neurohw compile / neurohw example")
