"""The ``neurohw`` command line: thin subcommands over the Python API.

Each subcommand is two functions: ``add_<name>(subparsers)`` declares its arguments and is
registered with :func:`subcommand`; ``<name>_command(args)`` does the work and returns the exit
status. A new subcommand is one more such pair; nothing else here changes.

Error contract (docs/cli.md, "Errors"): every command checks all its options and inputs before
any stage runs, and writes its outputs into a staging folder beside ``-o OUTDIR`` that replaces
OUTDIR as a whole only when the run succeeds. Exit status: 0 on success; 2 for unusable input
(argparse usage errors, bad options, parameter, model or input files: one line
``neurohw: error: ...`` naming the option or file, the value and what is allowed, no
traceback); 1 when the run fails after the checks (an output cannot be written, the RTL
disagrees with the model). Errors that are not neurohw's are bugs and keep their traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

from . import __version__
from .io import (
    FileFormatError,
    Population,
    SimInput,
    check_output_folder,
    load_input,
    load_population,
    output_folder,
    save_input,
    save_trace,
    write_json,
)
from .model import fast
from .model.presets import PRESETS

__all__ = ["main", "build_parser", "subcommand", "SUBCOMMANDS", "CommandError"]

BACKENDS = ("auto", "numpy", "numba")

#: ``add_<name>(subparsers)`` functions, in the order ``--help`` lists the subcommands.
SUBCOMMANDS = []


class CommandError(Exception):
    """A problem with the command's arguments or inputs, reported without a traceback."""


def subcommand(add_parser):
    """Register a function that adds one subcommand's parser (decorator)."""
    SUBCOMMANDS.append(add_parser)
    return add_parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neurohw", description="Spiking neural networks to bit-exact FPGA hardware."
    )
    parser.add_argument("--version", action="version", version=f"neurohw {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run the command line; return the exit status.

    ``--help``, ``--version`` and usage errors exit through argparse's ``SystemExit``.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except _user_errors() as error:
        print(f"neurohw: error: {error}", file=sys.stderr)
        return 2
    except _RunFailed as failure:
        return failure.status
    except OSError as error:
        print(
            f"neurohw: error: cannot write {error.filename or 'output'}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1


class _RunFailed(Exception):
    """A run that failed after its checks (its message is printed already): nothing is
    published, and the exit status is ``status``."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _user_errors() -> tuple:
    """neurohw's own exceptions for unusable input: printed as one line, exit status 2.
    (Imported when an error happens, so that ``--help`` stays quick.)"""
    from .events.core import EventFileError
    from .flows.explore import ExploreError
    from .flows.pipeline import FlowError
    from .network import MappingError, NetworkError, NIRImportError, QuantizationError
    from .network.floatnet import FloatNetworkError
    from .toolchain import ToolchainError

    return (
        FileFormatError,
        CommandError,
        FlowError,
        ExploreError,
        MappingError,
        NetworkError,
        NIRImportError,
        QuantizationError,
        FloatNetworkError,
        EventFileError,
        ToolchainError,
    )


def _at_least(option: str, value: int, low: int) -> int:
    if value < low:
        raise CommandError(f"{option} must be at least {low}, not {value}")
    return value


def _check_devices(devices, option: str = "--device") -> list[str]:
    """The named devices (``'none'`` dropped) after checking every name."""
    from .flows.synth import DEVICES

    allowed = ", ".join(repr(name) for name in (*sorted(DEVICES), "none"))
    for device in devices:
        if device != "none" and device not in DEVICES:
            raise CommandError(f"{option} {device!r}: must be one of {allowed}")
    return [device for device in devices if device != "none"]


def _check_simulators(simulators) -> list[str]:
    """Named simulators must be known and installed: a run must not pass unverified."""
    from .toolchain import SIMULATORS, simulator_skip_reason

    allowed = ", ".join(repr(name) for name in SIMULATORS)
    for simulator in simulators:
        if simulator not in SIMULATORS:
            raise CommandError(f"--simulator {simulator!r}: must be one of {allowed}")
        reason = simulator_skip_reason(simulator)
        if reason is not None:
            raise CommandError(
                f"--simulator {simulator!r}: not installed here ({reason.split(':')[0]})"
            )
    return list(simulators)


def _read_error(path, what: str, error: Exception) -> CommandError:
    reason = getattr(error, "strerror", None) or str(error)
    return CommandError(f"cannot read {what} {path}: {reason}")


# --- Shared by the simulating subcommands ---------------------------------------------------------


def _neuron_list(text: str) -> list[int]:
    """``--plot-neurons 0,3,7`` as a list of integers."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated neuron indices such as '0,1,2', not {text!r}"
        ) from None


def _add_simulation_options(parser):
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="'numpy': the reference model; 'numba': the compiled fast path; "
        "'auto': numba for large populations it supports. All give the "
        "same trace (default: %(default)s)",
    )
    parser.add_argument(
        "--plot-neurons",
        type=_neuron_list,
        metavar="N,N,...",
        help="neurons whose membrane is plotted, at most 8 (default: 4 spread over the population)",
    )


def _run_model(population: Population, sim_input: SimInput, backend: str):
    """The trace of the model on validated input; every backend gives the same trace."""
    try:
        return fast.simulate(
            population.params,
            sim_input.spikes,
            sim_input.weights,
            drive=sim_input.drive,
            backend=backend,
        )
    except ValueError as error:
        # The input is validated already, so when numba is forced this says why the compiled
        # path cannot run it (e.g. accumulation 'per_event'); 'auto' would have fallen back.
        if backend != "numba":
            raise
        raise CommandError(str(error)) from None


def _check_plot_neurons(plot_neurons, neurons: int):
    from .plot import select_neurons  # matplotlib is slow to import; load on use

    if plot_neurons is None:
        return None
    try:
        return select_neurons(plot_neurons, neurons)
    except (TypeError, ValueError) as error:
        raise CommandError(f"--plot-neurons: {error}") from None


def _simulate_files(params_path, input_path, outdir, *, backend, plot_neurons) -> dict:
    """Load, check, simulate, write trace.npz, summary.json and trace.png; return the paths."""
    population = load_population(params_path)
    sim_input = load_input(input_path, population)
    plot_neurons = _check_plot_neurons(plot_neurons, population.neurons)
    return _simulate(population, sim_input, outdir, backend=backend, plot_neurons=plot_neurons)


def _simulate(population, sim_input, outdir, *, backend, plot_neurons) -> dict:
    """Simulate checked input; write trace.npz, summary.json and trace.png; return the paths."""
    from .plot import plot_trace

    start = time.perf_counter()
    trace = _run_model(population, sim_input, backend)
    seconds = time.perf_counter() - start

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {
        "trace": outdir / "trace.npz",
        "summary": outdir / "summary.json",
        "plot": outdir / "trace.png",
    }
    summary = save_trace(trace, population.params, paths["trace"], paths["summary"])
    plot_trace(trace, paths["plot"], neurons=plot_neurons, params=population.params)

    steps, batch, neurons = summary["steps"], summary["batch"], summary["neurons"]
    rate = summary["total_spikes"] / (steps * batch * neurons)
    batch_note = f" x batch {batch}" if batch > 1 else ""
    print(
        f"simulated {neurons} neurons for {steps} steps{batch_note} in {seconds:.3f} s "
        f"(backend {backend})"
    )
    print(
        f"spikes: {summary['total_spikes']} in total, {rate:.3f} per neuron per step, "
        f"{sum(1 for count in summary['spikes_per_neuron'] if count)} neurons spiked"
    )
    return paths


# --- neurohw simulate -----------------------------------------------------------------------------


@subcommand
def add_simulate(subparsers):
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a population on an input file",
        description="Simulate a population (PARAMS.json) on an input (INPUT.npz) and write "
        "OUTDIR/trace.npz, OUTDIR/summary.json and OUTDIR/trace.png.",
    )
    parser.add_argument("params", metavar="PARAMS.json", help="population parameter file")
    parser.add_argument(
        "input", metavar="INPUT.npz", help="input: 'spikes' with 'weights', or 'drive'"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        required=True,
        help="directory for the outputs (created if missing)",
    )
    _add_simulation_options(parser)
    parser.set_defaults(run=simulate_command)


def simulate_command(args) -> int:
    population = load_population(args.params)
    sim_input = load_input(args.input, population)
    plot_neurons = _check_plot_neurons(args.plot_neurons, population.neurons)
    inputs = (args.params, args.input)
    check_output_folder(args.output, inputs=inputs)
    with output_folder(args.output, inputs=inputs) as work:
        paths = _simulate(
            population, sim_input, work, backend=args.backend, plot_neurons=plot_neurons
        )
    print("wrote " + ", ".join(str(Path(args.output) / path.name) for path in paths.values()))
    return 0


# --- neurohw core-example -------------------------------------------------------------------------

EXAMPLE_NEURONS = 64
EXAMPLE_AXONS = 32
EXAMPLE_STEPS = 200
EXAMPLE_WEIGHT_WIDTH = 8
#: Steps verified in RTL by default: enough to see every neuron spike, short enough for CI.
EXAMPLE_VERIFY_STEPS = 40
#: Random idle cycles on the inputs and back-pressure on the outputs during verification.
EXAMPLE_TRAFFIC = {"idle_probability": 0.2, "backpressure_probability": 0.3}
#: Preset arguments chosen so that roughly 5-15 % of neurons fire per step on the example input.
EXAMPLE_PRESETS = {
    "loihi_cuba_lif": {"du": 1024, "dv": 256, "vth": 3200},
    # One core fed by external input only: Xylo caps that input at 15.
    "xylo_lif": {"dash_mem": 4, "dash_syn": 2, "threshold": 1600, "input_count_cap": 15},
}


@subcommand
def add_core_example(subparsers):
    parser = subparsers.add_parser(
        "core-example",
        help="one neuron core on random input: simulate, generate, verify, synthesize, report",
        description=f"Build {EXAMPLE_NEURONS} neurons driven by {EXAMPLE_AXONS} input axons "
        f"with random weights and random spikes over {EXAMPLE_STEPS} steps; "
        f"simulate it with the reference model and plot it; generate the neuron "
        f"core's Verilog; verify the first --verify-steps steps bit for bit in "
        f"every available simulator; synthesize it out of context; write "
        f"report.md and report.json.",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        default="out/core-example",
        help="directory for all files (default: %(default)s)",
    )
    parser.add_argument(
        "--preset",
        choices=sorted(EXAMPLE_PRESETS),
        default="loihi_cuba_lif",
        help="neuron model (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the weights and input spikes (default: %(default)s)",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=1,
        help="parallel lanes of the generated core (default: %(default)s)",
    )
    parser.add_argument(
        "--verify-steps",
        type=int,
        default=EXAMPLE_VERIFY_STEPS,
        metavar="N",
        help="steps checked in RTL simulation; 0 skips verification (default: %(default)s)",
    )
    _add_simulator_option(parser)
    parser.add_argument(
        "--device",
        default="ice40-up5k",
        help="device of the out-of-context synthesis estimate, or 'none' (default: %(default)s)",
    )
    _add_simulation_options(parser)
    parser.set_defaults(run=core_example_command)


def example_inputs(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(spikes (steps, axons) uint8, weights (axons, neurons) int8)``.

    Each axon fires independently with its own probability per step (a Bernoulli approximation
    of a Poisson train); weights lean excitatory so that the population is active.
    """
    rng = np.random.default_rng(seed)
    rates = rng.uniform(0.02, 0.15, size=EXAMPLE_AXONS)
    spikes = (rng.random((EXAMPLE_STEPS, EXAMPLE_AXONS)) < rates).astype(np.uint8)
    weights = rng.integers(-64, 128, size=(EXAMPLE_AXONS, EXAMPLE_NEURONS)).astype(np.int8)
    return spikes, weights


def _stage(number: int, text: str) -> None:
    print(f"[{number}/5] {text}", flush=True)


def core_example_command(args) -> int:
    from .hw.core import NeuronCore

    # Every option is checked, and the core built, before anything is written.
    if args.verify_steps < 0 or args.verify_steps > EXAMPLE_STEPS:
        raise CommandError(
            f"--verify-steps must be between 0 and {EXAMPLE_STEPS}, not {args.verify_steps}"
        )
    _at_least("--seed", args.seed, 0)
    _at_least("--lanes", args.lanes, 1)
    devices = _check_devices([args.device])
    simulators = None
    if args.verify_steps:
        from .toolchain import available_simulators

        simulators = _check_simulators(args.simulator or available_simulators())
    plot_neurons = _check_plot_neurons(args.plot_neurons, EXAMPLE_NEURONS)
    params = PRESETS[args.preset](**EXAMPLE_PRESETS[args.preset])
    spikes, weights = example_inputs(args.seed)
    try:
        core = NeuronCore(
            params,
            n_neurons=EXAMPLE_NEURONS,
            n_axons=EXAMPLE_AXONS,
            weight_width=EXAMPLE_WEIGHT_WIDTH,
            weights=weights,
            lanes=args.lanes,
        )
    except (TypeError, ValueError) as error:
        raise CommandError(f"--lanes {args.lanes}: {error}") from None
    check_output_folder(args.output)
    with output_folder(args.output) as work:
        _core_example_stages(
            args, work, core, params, spikes, weights, simulators, devices, plot_neurons
        )
    _stage(5, f"report: {Path(args.output) / 'report.md'}, {Path(args.output) / 'report.json'}")
    for label, name in (
        ("parameters", "params.json"),
        ("input", "input.npz"),
        ("trace", "trace.npz"),
        ("summary", "summary.json"),
        ("plot", "trace.png"),
        ("verilog", "neuron_core.v"),
    ):
        print(f"  {label + ':':12}{Path(args.output) / name}")
    return 0


def _core_example_stages(
    args, outdir, core, params, spikes, weights, simulators, devices, plot_neurons
) -> None:
    """Stages 1-4 and the report of ``core-example``, written into the staging folder."""
    from .flows.verify import generate_core_verilog, verify_core

    params_path, input_path = outdir / "params.json", outdir / "input.npz"
    write_json(
        params_path,
        {
            "neurons": EXAMPLE_NEURONS,
            "preset": args.preset,
            "preset_args": EXAMPLE_PRESETS[args.preset],
        },
    )
    save_input(input_path, spikes=spikes, weights=weights)

    # 1. Reference model, through the files just written, exactly as `neurohw simulate` would.
    _stage(1, f"reference model: {EXAMPLE_NEURONS} {args.preset} neurons, {EXAMPLE_STEPS} steps")
    paths = _simulate_files(
        params_path, input_path, outdir, backend=args.backend, plot_neurons=plot_neurons
    )
    report = {
        "example": {
            "preset": args.preset,
            "seed": args.seed,
            "neurons": EXAMPLE_NEURONS,
            "axons": EXAMPLE_AXONS,
            "steps": EXAMPLE_STEPS,
            "weight_width": EXAMPLE_WEIGHT_WIDTH,
            "lanes": args.lanes,
        },
        "model": json_summary(paths["summary"]),
    }

    # 2. Hardware generation (the core was built, and checked, before anything was written).
    verilog_path = generate_core_verilog(core, outdir / "neuron_core.v")
    final_verilog = Path(args.output) / verilog_path.name
    _stage(2, f"generated {final_verilog} ({verilog_path.stat().st_size} bytes)")
    report["verilog"] = str(final_verilog)

    # 3. Bit-exact verification in RTL simulation.
    report["verification"] = []
    if args.verify_steps:
        for simulator in simulators:
            _stage(
                3,
                f"verifying {args.verify_steps} steps on {simulator} (every spike and "
                f"every state of every neuron, every step)",
            )
            result = _verify(
                verify_core, params, weights, spikes[: args.verify_steps], simulator, outdir, args
            )
            if result is None:
                # A failed run publishes nothing; the mismatch is printed above.
                raise _RunFailed(1)
            report["verification"].append({**result.to_dict(), "passed": True})
            print(
                f"      bit-exact: {result.steps} steps x {result.neurons} neurons, "
                f"{result.input_events} input events, {result.spikes_compared} spikes and "
                f"{result.state_values_compared} state values compared "
                f"({result.seconds:.1f} s)",
                flush=True,
            )
    else:
        _stage(3, "verification skipped (--verify-steps 0)")

    # 4. Synthesis estimate.
    if devices:
        from .flows.synth import SynthesisError, synthesize

        (device,) = devices
        _stage(4, f"synthesizing for {device} with yosys and nextpnr (out of context)")
        try:
            synth = synthesize(
                core, device=device, workdir=outdir / "synth", name=f"example_{args.preset}"
            )
        except SynthesisError as error:
            raise CommandError(str(error)) from None
        report["synthesis"] = synth.to_dict()
        print(synth.as_table(), flush=True)
    else:
        _stage(4, "synthesis skipped (--device none)")

    # 5. Report.
    _write_report(outdir, report)


def _verify(verify_core, params, weights, spikes, simulator, outdir, args):
    """Run one simulator; print the mismatch and return None if the hardware disagrees."""
    from neurohw.sim.runner import CocotbTestFailure

    try:
        return verify_core(
            params,
            weights,
            spikes,
            weight_width=EXAMPLE_WEIGHT_WIDTH,
            simulator=simulator,
            build_dir=outdir / "sim" / simulator,
            core_kwargs={"lanes": args.lanes},
            traffic=EXAMPLE_TRAFFIC,
            seed=args.seed,
        )
    except CocotbTestFailure as failure:
        print(
            f"neurohw: error: RTL and reference model disagree on {simulator}:\n{failure}",
            file=sys.stderr,
        )
        return None


def json_summary(path) -> dict:
    import json

    summary = json.loads(Path(path).read_text())
    return {key: summary[key] for key in ("steps", "neurons", "total_spikes") if key in summary}


def _write_report(outdir: Path, report: dict) -> tuple[Path, Path]:
    json_path, md_path = outdir / "report.json", outdir / "report.md"
    write_json(json_path, report)
    example, model = report["example"], report["model"]
    lines = [
        f"# neurohw example: {example['preset']}, seed {example['seed']}",
        "",
        f"{example['neurons']} neurons, {example['axons']} axons, "
        f"{example['weight_width']}-bit weights, {example['lanes']} lane(s), "
        f"{example['steps']} steps; reference model: {model.get('total_spikes')} spikes.",
        "",
        "## Verification (RTL against the reference model, every step)",
        "",
        "| simulator | steps | neurons | input events | spikes | state values | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for entry in report.get("verification", []):
        lines.append(
            f"| {entry['simulator']} | {entry.get('steps', '')} | "
            f"{entry.get('neurons', '')} | {entry.get('input_events', '')} | "
            f"{entry.get('spikes_compared', '')} | "
            f"{entry.get('state_values_compared', '')} | "
            f"{'bit-exact' if entry['passed'] else 'MISMATCH'} |"
        )
    if "synthesis" in report:
        from .flows.synth import SynthReport

        lines += [
            "",
            "## Synthesis (out of context)",
            "",
            SynthReport.from_dict(report["synthesis"]).as_table(),
        ]
    md_path.write_text("\n".join(lines) + "\n")
    return md_path, json_path


# --- neurohw compile ------------------------------------------------------------------------------


def _add_flow_options(
    parser, *, default_samples: int, default_lanes: int = 1, activity_counters: bool = False
):
    parser.add_argument(
        "--verify-samples",
        type=int,
        default=None,
        metavar="N",
        help="samples simulated in RTL and compared with the model, step by "
        f"step; 0 skips RTL simulation (default: {default_samples}, or every "
        "sample when there are fewer)",
    )
    parser.set_defaults(default_verify_samples=default_samples)
    _add_simulator_option(parser)
    parser.add_argument(
        "--device",
        action="append",
        metavar="DEVICE",
        help="device of an out-of-context synthesis estimate, repeatable: "
        "ice40-up5k, ecp5-25k, ecp5-85k, xc7-estimate (Xilinx 7-series synthesis estimate, "
        "no place and route), or 'none' (default: ecp5-85k)",
    )
    parser.add_argument(
        "--max-neurons",
        type=int,
        default=256,
        metavar="N",
        help="neurons per core at most (default: %(default)s)",
    )
    parser.add_argument(
        "--max-axons",
        type=int,
        default=1024,
        metavar="N",
        help="input axons per core at most (default: %(default)s)",
    )
    parser.add_argument(
        "--lanes",
        type=int,
        default=default_lanes,
        help="parallel lanes per core (default: %(default)s)",
    )
    parser.add_argument(
        "--topology",
        choices=("auto", "star", "mesh"),
        default="auto",
        help="router topology (default: star up to 32 endpoints, else mesh)",
    )
    _add_graded_spikes_option(parser)
    parser.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    _add_debug_option(parser)
    parser.add_argument(
        "--activity-counters",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the chip's activity counters in the Verilog, the simulation and the synthesis; "
        "the RTL verification checks them against the model and the report says so "
        "(docs/energy.md; default: "
        + ("on, off with --no-debug" if activity_counters else "off")
        + ")",
    )
    parser.set_defaults(default_activity_counters=activity_counters)


def _add_graded_spikes_option(parser):
    parser.add_argument(
        "--graded-spikes",
        action="store_true",
        help="send a multi-spike population's spike count as one graded event (the core "
        "multiplies the weight by it) instead of that many events: fewer cycles, one "
        "multiplier per lane in the receiving cores; the result is the same",
    )


def _add_debug_option(parser):
    """``--debug/--no-debug``: one default for ``compile`` and ``synth``, so that both build,
    and report, the same design from one plan (``neurohw.chip.DEFAULT_DEBUG``)."""
    from .chip import DEFAULT_DEBUG

    parser.add_argument(
        "--debug",
        action=argparse.BooleanOptionalAction,
        default=DEFAULT_DEBUG,
        help="the chip's debug port (any core's command port; the RTL "
        "verification reads the cores' final state through it) in the "
        "Verilog, the simulation and the synthesis (default: on)",
    )


def _flow_settings(args, *, samples: int):
    """The flow's settings from the options, every one checked; ``samples``: how many the
    inputs hold (``--verify-samples`` may not ask for more; its default takes at most these)."""
    from .network.mapping import CoreCapacity, MappingError
    from .toolchain import available_simulators

    devices = _check_devices(args.device or ["ecp5-85k"])
    try:
        capacity = CoreCapacity(max_neurons=args.max_neurons, max_axons=args.max_axons)
    except (MappingError, ValueError) as error:
        raise CommandError(str(error)) from None
    _at_least("--lanes", args.lanes, 1)
    _at_least("--seed", args.seed, 0)
    verify_samples = args.verify_samples
    if verify_samples is None:
        verify_samples = min(args.default_verify_samples, samples)
    elif not 0 <= verify_samples <= samples:
        raise CommandError(
            f"--verify-samples must be between 0 and the {samples} samples given, "
            f"not {verify_samples}"
        )
    simulators = []
    if verify_samples:
        simulators = _check_simulators(args.simulator or available_simulators())
    return {
        "capacity": capacity,
        "lanes": args.lanes,
        "topology": args.topology,
        "graded_spikes": args.graded_spikes,
        "verify_samples": verify_samples,
        "simulators": simulators,
        "devices": devices,
        "seed": args.seed,
        "debug": args.debug,
        "activity_counters": _activity_counters(args),
    }


def _activity_counters(args) -> bool:
    """``--activity-counters`` as given, else the command's default (``example``: on, as far
    as the debug port they are read through is on)."""
    if args.activity_counters is not None:
        return args.activity_counters
    return args.default_activity_counters and args.debug


def _run_flow(source, outdir, **kwargs) -> int:
    from neurohw.sim.runner import CocotbTestFailure

    from .flows.pipeline import run_flow

    try:
        run_flow(source, outdir, **kwargs)
    except CocotbTestFailure as failure:
        print(f"neurohw: error: RTL and reference model disagree:\n{failure}", file=sys.stderr)
        return 1
    return 0


def _add_source_options(parser) -> None:
    """How a NIR file is read: the exporter's profile and the conventions it leaves out."""
    from .network.nir_import import EXPORTERS, TIMINGS

    parser.add_argument(
        "--dt",
        type=float,
        help="time step in seconds for NIR import (default: the exporter's; "
        "required for plain NIR; see docs/frontends.md)",
    )
    parser.add_argument(
        "--exporter",
        choices=EXPORTERS,
        help="the framework whose exporter wrote the NIR file; supplies its "
        "time step, timing, reset and spike test (default: nir)",
    )
    parser.add_argument(
        "--timing",
        choices=TIMINGS,
        help="same_step: a layer sees the previous layer's spikes of the same "
        "step (the frameworks'); one_step: every layer adds a step "
        "(default: the exporter's)",
    )
    parser.add_argument(
        "--reset",
        choices=("value", "subtract"),
        help="reset mechanism, which NIR files do not hold (default: the "
        "exporter's; snnTorch reset_mechanism='zero' is 'value')",
    )
    parser.add_argument(
        "--reset-delay",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="snnTorch's reset_delay (default: the exporter's)",
    )
    parser.add_argument(
        "--weight-width",
        type=int,
        help=f"signed weight width of the quantized network, 2..16 (default: {DEFAULT_WEIGHT_WIDTH})",
    )


#: The NIR import options: a network file is integer already, so none of them applies to one.
NIR_ONLY_OPTIONS = {
    "dt": "--dt",
    "exporter": "--exporter",
    "timing": "--timing",
    "reset": "--reset",
    "reset_delay": "--reset-delay",
    "weight_width": "--weight-width",
}
DEFAULT_WEIGHT_WIDTH = 8


def _source_kwargs(args, *, calibration_option: str | None = None) -> dict:
    """``load_source`` keywords from the options, after checking that they fit the model file:
    the NIR options are refused with a network file rather than ignored."""
    if Path(args.source).suffix.lower() in (".npz", ".zip"):
        given = [flag for key, flag in NIR_ONLY_OPTIONS.items() if getattr(args, key) is not None]
        if calibration_option:
            given.append(calibration_option)
        if given:
            raise CommandError(
                f"{given[0]} applies to NIR import and quantization; the network file "
                f"{args.source} is integer already (leave out {', '.join(given)})"
            )
    return dict(
        dt=args.dt,
        weight_width=DEFAULT_WEIGHT_WIDTH if args.weight_width is None else args.weight_width,
        exporter=args.exporter or "nir",
        timing=args.timing,
        reset=args.reset,
        reset_delay=args.reset_delay,
    )


def _add_simulator_option(parser) -> None:
    parser.add_argument(
        "--simulator",
        action="append",
        metavar="NAME",
        help="simulator to verify on, repeatable (default: every available "
        "one; see NEUROHW_SIMULATORS)",
    )


def _load_inputs(path) -> tuple[dict, np.ndarray | None]:
    """``(arrays, labels)`` of an ``--inputs`` file: its input arrays (one per input group,
    named after it; at least one) and its ``labels`` array, if any."""
    arrays = _load_arrays(path, "--inputs")
    labels = arrays.pop("labels", None)
    if not arrays:
        raise CommandError(
            f"--inputs {path}: holds no input arrays (one per input group, named after it)"
        )
    return arrays, labels


def _load_arrays(path, what) -> dict:
    """The arrays of an ``.npz`` file given to option ``what``, each checked to be numeric."""
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise CommandError(
                f"{what} {path}: must be an .npz archive of named arrays (np.savez), "
                f"not a single .npy array"
            )
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except CommandError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise _read_error(path, what, error) from None
    except ValueError as error:
        # np.load's hint for a text file or a pickle is about allow_pickle; say what it is.
        raise CommandError(
            f"cannot read {what} {path}: not an .npz archive of numeric arrays"
            + ("" if "pickle" in str(error) else f" ({error})")
        ) from None
    for key, array in arrays.items():
        if array.dtype.kind not in "biuf":
            raise CommandError(
                f"{what} {path}: array {key!r} must be numeric, not dtype {array.dtype}"
            )
    return arrays


@subcommand
def add_compile(subparsers):
    parser = subparsers.add_parser(
        "compile",
        help="a NIR file or network file to verified Verilog, with a report",
        description="Import (NIR: with --dt) and quantize, or load a network file; map it onto "
        "cores; write OUTDIR/system.v, the testbench, the quantization report; "
        "verify the RTL against the reference model on the inputs; synthesize; "
        "write OUTDIR/report.md and report.json.",
    )
    parser.add_argument(
        "source",
        metavar="MODEL",
        help="NIR file (.nir/.h5) or network file (.npz) from Network.save",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        required=True,
        help="directory for all files (created if missing)",
    )
    _add_source_options(parser)
    parser.add_argument(
        "--inputs",
        metavar="INPUTS.npz",
        help="input counts (or graded values): one (steps, samples, size) "
        "array per input group, named after it, and optionally 'labels' "
        "(samples,); real-valued arrays need --input-bits. Default: "
        "seeded random spikes (--samples x --steps, rate --rate)",
    )
    parser.add_argument(
        "--input-bits",
        type=_input_bits,
        metavar="K",
        help="graded inputs: every input line carries a K-bit value (1..16) "
        "in one event per step instead of a spike count "
        "(docs/system.md, 'Graded inputs'); with NIR, --inputs may hold "
        "real values, quantized with a scale from the calibration data",
    )
    parser.add_argument(
        "--calibration",
        metavar="CAL.npz",
        help="float inputs (one array per input group) that choose the "
        "quantization scales (default: the --inputs)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=4,
        help="random samples when no --inputs (default: %(default)s)",
    )
    parser.add_argument(
        "--steps", type=int, default=16, help="steps per random sample (default: %(default)s)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.2,
        help="spike probability per line and step of the random inputs (default: %(default)s)",
    )
    _add_flow_options(parser, default_samples=4)
    _add_lanes_of_option(
        parser,
        several=False,
        help="the lanes of one population's cores, overriding --lanes for it, e.g. "
        "'out=1'; repeatable",
    )
    parser.set_defaults(run=compile_command)


def _input_bits(text: str) -> int:
    """``--input-bits K``: an integer 1..16 (argparse reports anything else, exit status 2)."""
    from .network.graph import MAX_VALUE_BITS

    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_VALUE_BITS:
        raise argparse.ArgumentTypeError(
            f"must be an integer between 1 and {MAX_VALUE_BITS} "
            f"(the bits of a graded input value), not {text!r}"
        )
    return value


def compile_command(args) -> int:
    from .flows.pipeline import integer_inputs, load_source

    # Every option and input is checked before anything is written (run_flow maps the network
    # before it writes, too).
    source_kwargs = _source_kwargs(
        args, calibration_option="--calibration" if args.calibration else None
    )
    arrays, labels = _load_inputs(args.inputs) if args.inputs else (None, None)
    calibration = _load_arrays(args.calibration, "--calibration") if args.calibration else arrays
    source = load_source(
        args.source, input_bits=args.input_bits, calibration=calibration, **source_kwargs
    )
    network = source.network
    float_inputs = None
    if arrays is not None:
        inputs = integer_inputs(source, arrays, input_bits=args.input_bits)
        if any(np.asarray(a).dtype.kind == "f" for a in arrays.values()):
            float_inputs = arrays
    else:
        _at_least("--samples", args.samples, 1)
        _at_least("--steps", args.steps, 1)
        if not 0 <= args.rate <= 1:
            raise CommandError(f"--rate must be between 0 and 1, not {args.rate}")
        _at_least("--seed", args.seed, 0)
        rng = np.random.default_rng(args.seed)
        inputs = {
            name: (rng.random((args.steps, args.samples, group.size)) < args.rate).astype(np.int64)
            for name, group in network.inputs.items()
        }
        for name, group in network.inputs.items():
            if group.graded:
                # An active line carries any value of the group's range (0 stays silent).
                low, high = group.value_range
                inputs[name] *= rng.integers(low, high + 1, size=inputs[name].shape)
    # Checked once here; the flow takes the Samples as they are (network.system.Samples).
    inputs = _checked_samples(network, inputs)
    settings = _flow_settings(args, samples=inputs.batch)
    lanes_of = _lanes_of(args.lanes_of, network)
    if lanes_of:
        settings["lanes"] = {
            name: lanes_of.get(name, [args.lanes])[0] for name in network.populations
        }
    check_output_folder(args.output, inputs=(args.source, args.inputs, args.calibration))
    return _run_flow(
        source,
        args.output,
        inputs=inputs,
        labels=labels,
        name=Path(args.source).stem,
        float_inputs=float_inputs,
        **settings,
    )


def _checked_samples(network, inputs):
    """The inputs checked against the network (:class:`~neurohw.network.system.Samples`)."""
    from .network.system import check_samples

    return check_samples(network, inputs)


# --- neurohw example ------------------------------------------------------------------------------


@subcommand
def add_example(subparsers):
    parser = subparsers.add_parser(
        "example",
        help="the main job on the built-in digits example: train, export NIR, "
        "import, quantize, map, generate, verify, synthesize, report",
        description="Train a spiking classifier on scikit-learn's bundled 8x8 digits with "
        "numpy surrogate gradients; export it to NIR; run `neurohw compile` on it "
        "with the held-out test set: float, fixed-point and RTL accuracy (RTL must "
        "equal fixed point sample by sample), spikes and synaptic operations per "
        "inference, cycles per inference, resources and Fmax, a spike raster.",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUTDIR",
        default="out/example",
        help="directory for all files (default: %(default)s)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="training epochs (default: the trainer's)"
    )
    # Counters on: the report shows the RTL-counted activity equal to the model's, and says
    # that the synthesized design includes them (docs/system-hardware.md, "Activity counters").
    _add_flow_options(parser, default_samples=10, default_lanes=4, activity_counters=True)
    parser.set_defaults(run=example_command)


def example_command(args) -> int:
    import tempfile

    from .flows.pipeline import Source
    from .network import import_nir, quantize
    from .train import digits

    if args.epochs is not None:
        _at_least("--epochs", args.epochs, 1)
    _at_least("--seed", args.seed, 0)
    overrides = {"seed": args.seed}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    config = digits.DigitsConfig(**overrides)
    counts, labels = digits.test_set(
        config.steps, seed=config.seed, test_fraction=config.test_fraction
    )
    settings = _flow_settings(args, samples=len(labels))
    check_output_folder(args.output)
    print("[0/6] training the digits SNN (numpy, surrogate gradients)", flush=True)
    model = digits.train(config)
    with tempfile.TemporaryDirectory() as scratch:
        nir_path = digits.export_nir(model, Path(scratch) / "digits.nir")
        print(f"      trained in {model.train_seconds:.1f} s; exported digits.nir", flush=True)
        float_net = import_nir(nir_path, dt=model.dt)
        network, report = quantize(float_net, weight_width=DEFAULT_WEIGHT_WIDTH)
        source = Source(network, float_net, report, origin=f"NIR digits.nir, dt={model.dt:g} s")
        group = next(iter(network.inputs))
        return _run_flow(
            source,
            args.output,
            inputs={group: counts},
            labels=labels,
            name="digits",
            files={"digits.nir": nir_path},
            **settings,
        )


# --- neurohw synth --------------------------------------------------------------------------------


@subcommand
def add_synth(subparsers):
    parser = subparsers.add_parser(
        "synth",
        help="resources, Fmax and latency per inference of a network's chip",
        description="Map a network (NIR with --dt, or a network file) onto cores, synthesize "
        "the whole chip out of context for each --device with yosys and nextpnr, "
        "and write OUTDIR/synth.json and OUTDIR/synth.md: LUTs/logic cells, "
        "flip-flops, block RAM, SPRAM, DSP, Fmax, and latency per inference at "
        "that Fmax from the cycle model (random inputs at --rate over --steps). "
        "A device the chip does not fit is reported with the reason, and the exit "
        "status is then 1.",
    )
    parser.add_argument(
        "source",
        metavar="MODEL",
        help="NIR file (.nir/.h5) or network file (.npz) from Network.save",
    )
    parser.add_argument("-o", "--output", metavar="OUTDIR", required=True)
    _add_source_options(parser)
    parser.add_argument(
        "--device",
        action="append",
        metavar="DEVICE",
        help="ice40-up5k, ecp5-25k, ecp5-85k or xc7-estimate (Xilinx 7-series resources "
        "from synth_xilinx: no place and route, no Fmax), repeatable (default: ice40-up5k "
        "and ecp5-85k)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=16,
        help="steps per inference for the latency (default: %(default)s)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.1,
        help="input spikes per line and step for the latency (default: %(default)s)",
    )
    parser.add_argument("--max-neurons", type=int, default=256, metavar="N")
    parser.add_argument("--max-axons", type=int, default=1024, metavar="N")
    parser.add_argument("--lanes", type=int, default=1)
    parser.add_argument("--topology", choices=("auto", "star", "mesh"), default="auto")
    _add_graded_spikes_option(parser)
    _add_debug_option(parser)
    parser.set_defaults(run=synth_command)


def synth_command(args) -> int:
    from .chip import Chip
    from .flows.pipeline import load_source
    from .flows.report import estimate_cycles, synth_report
    from .network import CoreCapacity, MappingError, map_network

    devices = _check_devices(args.device or ["ice40-up5k", "ecp5-85k"])
    if not devices:
        raise CommandError("--device none leaves nothing to synthesize; name a device")
    _at_least("--steps", args.steps, 1)
    if not 0 <= args.rate <= 1:
        raise CommandError(f"--rate must be between 0 and 1, not {args.rate}")
    _at_least("--lanes", args.lanes, 1)
    try:
        capacity = CoreCapacity(max_neurons=args.max_neurons, max_axons=args.max_axons)
    except (MappingError, ValueError) as error:
        raise CommandError(str(error)) from None
    source = load_source(args.source, **_source_kwargs(args))
    plan = map_network(
        source.network,
        lanes=args.lanes,
        topology=args.topology,
        capacity=capacity,
        graded_spikes=args.graded_spikes,
    )
    chip = Chip(plan, debug=args.debug)
    estimate = estimate_cycles(plan, steps=args.steps, input_rate=args.rate)
    target = check_output_folder(args.output, inputs=(args.source,))
    print(
        f"mapped onto {plan.n_cores} core(s); cycle model: "
        f"{estimate.cycles_per_inference:.0f} cycles per inference "
        f"({estimate.assumptions})",
        flush=True,
    )
    with output_folder(args.output, inputs=(args.source,)) as work:
        report = synth_report(
            chip,
            devices,
            workdir=work / "synth",
            cycles_per_inference=estimate,
            name=Path(args.source).stem,
        )
        for result in report.devices:
            if result.error is not None:
                # Name the logs where they are once the output folder is published.
                result.error = result.error.replace(str(work), str(target))
        report.to_json(work / "synth.json")
        (work / "synth.md").write_text(report.as_markdown() + "\n")
    print(report.as_markdown())
    # The report records every device; a device without a synthesis is a failed command.
    failed = [result for result in report.devices if not result.fits]
    for result in failed:
        print(f"neurohw: error: {result.error}", file=sys.stderr)
    return 1 if failed else 0


# --- neurohw explore ------------------------------------------------------------------------------


def _int_list(low: int, high: int, example: str, *, power_of_two: bool = False):
    """An argparse type: comma-separated integers in ``low..high`` (powers of two if asked),
    in the order given, without repeats."""
    what = "powers of two" if power_of_two else "integers"

    def parse(text: str) -> list[int]:
        try:
            values = [int(part) for part in text.split(",")]
        except ValueError:
            values = None
        if (
            not values
            or any(not low <= v <= high for v in values)
            or (power_of_two and any(v & (v - 1) for v in values))
            or len(set(values)) != len(values)
        ):
            raise argparse.ArgumentTypeError(
                f"must be comma-separated {what} between {low} and {high} without repeats, "
                f"such as {example!r}, not {text!r}"
            )
        return values

    return parse


def _add_lanes_of_option(parser, *, several: bool, help: str):
    """``--lanes-of POP=L`` (``several``: ``POP=L,L,...``, an axis), repeatable: the lanes of
    one population's neuron cores, the others at ``--lanes``. One parser for ``compile`` and
    ``explore``; :func:`_lanes_of` checks the names against the network."""
    from .network.mapping import CORE_MAX_LANES

    values = _int_list(1, CORE_MAX_LANES, "1,2" if several else "1", power_of_two=True)
    metavar = "POP=L,L,..." if several else "POP=L"

    def parse(text: str) -> tuple[str, list[int]]:
        population, equals, lanes = text.partition("=")
        if not equals or not population:
            raise argparse.ArgumentTypeError(
                f"must be a population and its lanes, such as {'out=1,2' if several else 'out=1'!r}"
                f", not {text!r}"
            )
        try:
            choices = values(lanes)
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentTypeError(f"{population!r}: lanes {error}") from None
        if not several and len(choices) != 1:
            raise argparse.ArgumentTypeError(
                f"{population!r}: one lanes value per population, not {lanes!r}"
            )
        return population, choices

    parser.add_argument("--lanes-of", type=parse, action="append", metavar=metavar, help=help)


def _lanes_of(given, network) -> dict:
    """``--lanes-of`` as ``{population: [lanes, ...]}`` (one value for ``compile``): each
    name a population of ``network``, named once."""
    lanes_of = {}
    for population, choices in given or ():
        if population not in network.populations:
            raise CommandError(
                f"--lanes-of {population}=...: the network has no population {population!r}; "
                f"its populations: {', '.join(map(repr, network.populations))}"
            )
        if population in lanes_of:
            raise CommandError(f"--lanes-of {population}=...: {population!r} is named twice")
        lanes_of[population] = choices
    return lanes_of


def _topology_list(text: str) -> list[str]:
    values = text.split(",")
    if any(v not in ("auto", "star", "mesh") for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated topologies out of 'auto', 'star', 'mesh' without "
            f"repeats, such as 'star,mesh', not {text!r}"
        )
    return values


def _weight_memory_list(text: str) -> list[str]:
    values = text.split(",")
    if any(v not in ("bram", "spram") for v in values) or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"must be comma-separated weight memories out of 'bram', 'spram' without "
            f"repeats, such as 'bram,spram', not {text!r}"
        )
    return values


@subcommand
def add_explore(subparsers):
    from .network.mapping import CORE_MAX_LANES, CORE_MAX_NEURONS

    parser = subparsers.add_parser(
        "explore",
        help="design-space exploration: the chip configurations that fit a device and budgets",
        description="Sweep weight width (NIR), lanes, neurons per core, topology and "
        "weight memory; prune "
        "the points the analytic resource and cycle models show cannot fit; "
        "synthesize the others on a Dask cluster (a local one by default), each "
        "result cached by configuration hash; write OUTDIR/explore.md, "
        "explore.json and explore.png (the Pareto front over LUT4, block RAM, "
        "latency, accuracy and energy, every point, the models' errors) and the "
        "chosen chip in OUTDIR/chosen (docs/explore.md).",
    )
    parser.add_argument(
        "source", metavar="MODEL", help="NIR file (.nir/.h5) or network file (.npz)"
    )
    parser.add_argument("-o", "--output", metavar="OUTDIR", required=True)
    parser.add_argument(
        "--device", help="ice40-up5k, ecp5-25k or ecp5-85k (default: --board's FPGA)"
    )
    parser.add_argument(
        "--board",
        help="icebreaker or ulx3s: its FPGA is the device, the chip runs at its clock, and "
        "chosen/chip.json holds its pins and the bitstream build command",
    )
    parser.add_argument("--max-latency-us", type=float, metavar="X", help="latency budget")
    parser.add_argument("--max-luts", type=int, metavar="N", help="LUT4 budget")
    parser.add_argument("--max-brams", type=int, metavar="N", help="block RAM budget")
    parser.add_argument(
        "--weight-bits",
        type=_int_list(2, 16, "2,4,8"),
        metavar="W,W,...",
        help="weight widths to quantize a NIR model to (default: 8; a network file keeps its own)",
    )
    parser.add_argument(
        "--lanes",
        type=_int_list(1, CORE_MAX_LANES, "1,2,4", power_of_two=True),
        default=[1, 2, 4],
        metavar="L,L,...",
        help="lanes per core (default: 1,2,4)",
    )
    _add_lanes_of_option(
        parser,
        several=True,
        help="lanes of one population's cores, an axis beside --lanes (the other "
        "populations keep --lanes), e.g. 'out=1'; repeatable, the cross product",
    )
    parser.add_argument(
        "--max-neurons",
        type=_int_list(1, CORE_MAX_NEURONS, "64,256"),
        default=[256],
        metavar="N,N,...",
        help="neurons per core at most (default: 256)",
    )
    parser.add_argument(
        "--topology",
        type=_topology_list,
        default=["auto"],
        metavar="T,T,...",
        help="router topologies: auto, star, mesh (default: auto)",
    )
    parser.add_argument(
        "--weight-memory",
        type=_weight_memory_list,
        default=["bram"],
        metavar="M,M,...",
        help="where the cores keep their weights: bram, spram (the largest weight memories in "
        "the iCE40UP5K's SPRAM, loaded over the debug port; default: bram)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a running Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes of the local cluster (default: the CPU cores)",
    )
    parser.add_argument(
        "--cache",
        metavar="DIR",
        help="synthesis results by configuration hash (default: ~/.cache/neurohw/explore)",
    )
    parser.add_argument(
        "--inputs",
        metavar="X.npz",
        help="integer input counts, one (steps, samples, size) array per input group, and "
        "optionally 'labels' (samples,) for the accuracy (default: seeded random spikes, "
        "--samples x --steps at --rate)",
    )
    parser.add_argument("--samples", type=int, default=4, help="random samples (default: 4)")
    parser.add_argument("--steps", type=int, default=16, help="random steps (default: 16)")
    parser.add_argument(
        "--rate", type=float, default=0.1, help="random spike probability (default: 0.1)"
    )
    parser.add_argument("--dt", type=float, help="NIR time step in seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    parser.add_argument(
        "--no-prune",
        dest="prune",
        action="store_false",
        help="synthesize every point (the exhaustive check of the pruning)",
    )
    parser.add_argument(
        "--verify-samples",
        type=int,
        default=0,
        metavar="N",
        help="verify the chosen chip in RTL on the first N samples (default: 0)",
    )
    _add_simulator_option(parser)
    _add_debug_option(parser)
    parser.set_defaults(run=explore_command)


def explore_command(args) -> int:
    from .flows import explore as ex
    from .flows.pipeline import load_source
    from .network.system import check_samples

    # Every option and input is checked before the cluster starts or anything is written.
    # Every point is placed and routed (fit, Fmax): the devices with a place-and-route flow.
    placed = ", ".join(repr(name) for name in sorted(ex.DEVICE_LIMITS))
    if args.board is not None:
        board_device = ex.board_description(args.board)["device"]
        if args.device is not None and args.device != board_device:
            raise CommandError(
                f"--device {args.device!r}: the {args.board} board carries {board_device!r} "
                f"(leave out --device)"
            )
        args.device = board_device
    if args.device is None:
        raise CommandError("give --device DEVICE or --board BOARD")
    if args.device not in ex.DEVICE_LIMITS:
        raise CommandError(f"--device {args.device!r}: must be one of {placed}")
    (device,) = _check_devices([args.device])
    if "spram" in args.weight_memory:
        with_spram = [name for name, limits in ex.DEVICE_LIMITS.items() if limits.spram]
        if not ex.DEVICE_LIMITS[device].spram:
            raise CommandError(
                f"--weight-memory spram: the device {device!r} has no SPRAM (only "
                f"{', '.join(repr(name) for name in with_spram)} has): leave out spram"
            )
        if not args.debug:
            raise CommandError(
                "--weight-memory spram needs the debug port (the host loads SPRAM weights "
                "through it): leave out --no-debug"
            )
    if args.max_latency_us is not None and not args.max_latency_us > 0:
        raise CommandError(f"--max-latency-us must be positive, not {args.max_latency_us}")
    if args.max_luts is not None:
        _at_least("--max-luts", args.max_luts, 1)
    if args.max_brams is not None:
        _at_least("--max-brams", args.max_brams, 0)
    if args.scheduler is not None:
        if args.workers is not None:
            raise CommandError(
                "--workers sizes the local cluster; the --scheduler cluster has its own "
                "workers (leave out --workers)"
            )
        if not re.match(r"^[a-z0-9+]+://\S+$", args.scheduler):
            raise CommandError(
                f"--scheduler {args.scheduler!r}: must be a scheduler address such as "
                f"'tcp://host:8786'"
            )
    if args.workers is None:
        workers = os.cpu_count() or 1
    else:
        workers = _at_least("--workers", args.workers, 1)
    _at_least("--seed", args.seed, 0)
    is_network_file = Path(args.source).suffix.lower() in (".npz", ".zip")
    if is_network_file:
        for flag, value in (("--weight-bits", args.weight_bits), ("--dt", args.dt)):
            if value is not None:
                raise CommandError(
                    f"{flag} applies to NIR import and quantization; the network file "
                    f"{args.source} is integer already (leave out {flag})"
                )
    weight_bits = args.weight_bits or [DEFAULT_WEIGHT_WIDTH]
    arrays, labels = _load_inputs(args.inputs) if args.inputs else (None, None)
    if arrays is not None:
        for name, array in arrays.items():
            if array.dtype.kind == "f":
                raise CommandError(
                    f"--inputs {args.inputs}: array {name!r} must hold integer counts, "
                    f"not dtype {array.dtype}"
                )
    # As in `neurohw compile`: the user's inputs choose the quantization scales.
    calibration = (
        None if arrays is None else {k: np.asarray(v, dtype=float) for k, v in arrays.items()}
    )
    source = load_source(
        args.source, dt=args.dt, weight_width=weight_bits[0], calibration=calibration
    )
    if arrays is None:
        _at_least("--samples", args.samples, 1)
        _at_least("--steps", args.steps, 1)
        if not 0 <= args.rate <= 1:
            raise CommandError(f"--rate must be between 0 and 1, not {args.rate}")
        rng = np.random.default_rng(args.seed)
        arrays = {
            name: (rng.random((args.steps, args.samples, group.size)) < args.rate).astype(np.int64)
            for name, group in source.network.inputs.items()
        }
    samples = check_samples(source.network, arrays)
    inputs = {name: np.asarray(v) for name, v in samples.counts.items()}
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        if labels.shape[0] != samples.batch:
            raise CommandError(
                f"--inputs {args.inputs}: 'labels' has {labels.shape[0]} entries for "
                f"{samples.batch} samples"
            )
    if not 0 <= args.verify_samples <= samples.batch:
        raise CommandError(
            f"--verify-samples must be between 0 and the {samples.batch} samples given, "
            f"not {args.verify_samples}"
        )
    if args.verify_samples and not args.debug:
        raise CommandError(
            "--verify-samples needs the debug port (the RTL verification reads the cores' "
            "state through it): leave out --no-debug"
        )
    simulators = []
    if args.verify_samples:
        from .toolchain import available_simulators

        simulators = _check_simulators(args.simulator or available_simulators())
    cache = Path(args.cache) if args.cache else Path.home() / ".cache" / "neurohw" / "explore"
    if cache.exists() and not cache.is_dir():
        raise CommandError(f"--cache {cache}: exists and is not a folder")
    check_output_folder(args.output, inputs=(args.source, args.inputs))
    budgets = {
        "max_luts": args.max_luts,
        "max_brams": args.max_brams,
        "max_latency_us": args.max_latency_us,
    }
    from neurohw.sim.runner import CocotbTestFailure

    if is_network_file:
        weight_bits = [None]
    lanes_of = _lanes_of(args.lanes_of, source.network)
    points = ex.sweep_points(
        weight_bits,
        args.lanes,
        args.max_neurons,
        args.topology,
        args.weight_memory,
        lanes_of=lanes_of,
    )
    try:
        with output_folder(args.output, inputs=(args.source, args.inputs)) as work:
            ex.explore(
                source,
                work,
                device=device,
                points=points,
                inputs=inputs,
                labels=labels,
                budgets=budgets,
                cache=cache,
                scheduler=args.scheduler,
                workers=workers,
                debug=args.debug,
                seed=args.seed,
                prune=args.prune,
                verify_samples=args.verify_samples,
                simulators=simulators,
                name=Path(args.source).name,
                calibration=calibration,
                board=args.board,
            )
    except CocotbTestFailure as failure:
        print(f"neurohw: error: RTL and reference model disagree:\n{failure}", file=sys.stderr)
        return 1
    print(f"wrote {Path(args.output) / 'explore.md'}")
    return 0
