"""The ``neurohw`` command line: thin subcommands over the Python API.

Each subcommand is two functions: ``add_<name>(subparsers)`` declares its arguments and is
registered with :func:`subcommand`; ``<name>_command(args)`` does the work and returns the exit
status. A new subcommand is one more such pair; nothing else here changes.

Exit status: 0 on success, 2 for unusable input (argparse usage errors, bad parameter or input
files: the message is printed as ``neurohw: error: ...`` with no traceback), 1 when an output
cannot be written.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from . import __version__
from .io import (FileFormatError, Population, SimInput, load_input, load_population,
                 save_input, save_trace, write_json)
from .model import fast

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
        prog="neurohw",
        description="Spiking neural networks to bit-exact FPGA hardware.")
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
    except (FileFormatError, CommandError) as error:
        print(f"neurohw: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"neurohw: error: cannot write {error.filename or 'output'}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1


# --- Shared by the simulating subcommands ---------------------------------------------------------

def _neuron_list(text: str) -> list[int]:
    """``--plot-neurons 0,3,7`` as a list of integers."""
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be comma-separated neuron indices such as '0,1,2', not {text!r}") from None


def _add_simulation_options(parser):
    parser.add_argument("--backend", choices=BACKENDS, default="auto",
                        help="'numpy': the reference model; 'numba': the compiled fast path; "
                             "'auto': numba for large populations it supports. All give the "
                             "same trace (default: %(default)s)")
    parser.add_argument("--plot-neurons", type=_neuron_list, metavar="N,N,...",
                        help="neurons whose membrane is plotted, at most 8 "
                             "(default: 4 spread over the population)")


def _run_model(population: Population, sim_input: SimInput, backend: str):
    """The trace of the model on validated input; every backend gives the same trace."""
    try:
        return fast.simulate(population.params, sim_input.spikes, sim_input.weights,
                             drive=sim_input.drive, backend=backend)
    except ValueError as error:
        # The input is validated already, so when numba is forced this says why the compiled
        # path cannot run it (e.g. accumulation 'per_event'); 'auto' would have fallen back.
        if backend != "numba":
            raise
        raise CommandError(str(error)) from None


def _simulate_files(params_path, input_path, outdir, *, backend, plot_neurons) -> dict:
    """Load, check, simulate, write trace.npz, summary.json and trace.png; return the paths."""
    from .plot import plot_trace, select_neurons  # matplotlib is slow to import; load on use

    population = load_population(params_path)
    sim_input = load_input(input_path, population)
    if plot_neurons is not None:
        try:
            plot_neurons = select_neurons(plot_neurons, population.neurons)
        except (TypeError, ValueError) as error:
            raise CommandError(f"--plot-neurons: {error}") from None

    start = time.perf_counter()
    trace = _run_model(population, sim_input, backend)
    seconds = time.perf_counter() - start

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = {"trace": outdir / "trace.npz", "summary": outdir / "summary.json",
             "plot": outdir / "trace.png"}
    summary = save_trace(trace, population.params, paths["trace"], paths["summary"])
    plot_trace(trace, paths["plot"], neurons=plot_neurons, params=population.params)

    steps, batch, neurons = summary["steps"], summary["batch"], summary["neurons"]
    rate = summary["total_spikes"] / (steps * batch * neurons)
    batch_note = f" x batch {batch}" if batch > 1 else ""
    print(f"simulated {neurons} neurons for {steps} steps{batch_note} in {seconds:.3f} s "
          f"(backend {backend})")
    print(f"spikes: {summary['total_spikes']} in total, {rate:.3f} per neuron per step, "
          f"{sum(1 for count in summary['spikes_per_neuron'] if count)} neurons spiked")
    return paths


# --- neurohw simulate -----------------------------------------------------------------------------

@subcommand
def add_simulate(subparsers):
    parser = subparsers.add_parser(
        "simulate", help="simulate a population on an input file",
        description="Simulate a population (PARAMS.json) on an input (INPUT.npz) and write "
                    "OUTDIR/trace.npz, OUTDIR/summary.json and OUTDIR/trace.png.")
    parser.add_argument("params", metavar="PARAMS.json", help="population parameter file")
    parser.add_argument("input", metavar="INPUT.npz",
                        help="input: 'spikes' with 'weights', or 'drive'")
    parser.add_argument("-o", "--output", metavar="OUTDIR", required=True,
                        help="directory for the outputs (created if missing)")
    _add_simulation_options(parser)
    parser.set_defaults(run=simulate_command)


def simulate_command(args) -> int:
    paths = _simulate_files(args.params, args.input, args.output, backend=args.backend,
                            plot_neurons=args.plot_neurons)
    print("wrote " + ", ".join(str(path) for path in paths.values()))
    return 0


# --- neurohw example ------------------------------------------------------------------------------

EXAMPLE_NEURONS = 64
EXAMPLE_AXONS = 32
EXAMPLE_STEPS = 200
#: Preset arguments chosen so that roughly 5-15 % of neurons fire per step on the example input.
EXAMPLE_PRESETS = {
    "loihi_cuba_lif": {"du": 1024, "dv": 256, "vth": 3200},
    "xylo_lif": {"dash_mem": 4, "dash_syn": 2, "threshold": 1600},
}


@subcommand
def add_example(subparsers):
    parser = subparsers.add_parser(
        "example", help="simulate a built-in example population and plot it",
        description=f"Build {EXAMPLE_NEURONS} neurons driven by {EXAMPLE_AXONS} input axons "
                    f"with random weights and random spikes over {EXAMPLE_STEPS} steps, "
                    f"write its parameter and input files, simulate it and plot the trace.")
    parser.add_argument("-o", "--output", metavar="OUTDIR", default="out/example",
                        help="directory for all files (default: %(default)s)")
    parser.add_argument("--preset", choices=sorted(EXAMPLE_PRESETS), default="loihi_cuba_lif",
                        help="neuron model (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the weights and input spikes (default: %(default)s)")
    _add_simulation_options(parser)
    parser.set_defaults(run=example_command)


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


def example_command(args) -> int:
    outdir = Path(args.output)
    outdir.mkdir(parents=True, exist_ok=True)
    params_path, input_path = outdir / "params.json", outdir / "input.npz"
    write_json(params_path, {"neurons": EXAMPLE_NEURONS, "preset": args.preset,
                             "preset_args": EXAMPLE_PRESETS[args.preset]})
    spikes, weights = example_inputs(args.seed)
    save_input(input_path, spikes=spikes, weights=weights)
    # Go through the files just written, exactly as `neurohw simulate` would.
    paths = _simulate_files(params_path, input_path, outdir, backend=args.backend,
                            plot_neurons=args.plot_neurons)
    print(f"example ({args.preset}, seed {args.seed}) in {outdir}/:")
    for label, path in (("parameters", params_path), ("input", input_path),
                        ("trace", paths["trace"]), ("summary", paths["summary"]),
                        ("plot", paths["plot"])):
        print(f"  {label + ':':12}{path}")
    print(f"rerun with: neurohw simulate {params_path} {input_path} -o {outdir}")
    return 0
