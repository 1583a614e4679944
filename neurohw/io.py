"""File formats: population parameters (JSON), simulation input (.npz) and traces (.npz + JSON).

Loaders check everything they can before a simulation starts and raise :class:`FileFormatError`
with a message that names the file, the key and the problem, so a user can fix the file without
reading a traceback. Writers are deterministic: the same arrays and parameters give the same
bytes, which lets tests and users compare outputs with ``cmp``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model.params import Accumulation, NeuronParams
from .model.presets import PRESETS
from .model.reference import MAX_SPIKE_COUNT, Trace

__all__ = [
    "FileFormatError",
    "Population",
    "SimInput",
    "load_population",
    "save_population",
    "load_input",
    "save_input",
    "trace_summary",
    "save_trace",
    "write_json",
    "OUTPUT_NAMES",
    "check_output_folder",
    "output_folder",
]

POPULATION_KEYS = ("model", "neurons", "preset", "preset_args")
INPUT_KEYS = ("drive", "spikes", "weights")
TRACE_KEYS = ("spikes", "v", "i", "refractory")

# A fixed timestamp for every member of the .npz archives we write; ``np.savez`` stamps the
# current time, which would make two otherwise identical files differ.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class FileFormatError(ValueError):
    """A parameter or input file that cannot be used; the message starts with the file name."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _quoted(names) -> str:
    return ", ".join(repr(name) for name in sorted(names))


# --- Population parameter files ------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """A population of ``neurons`` identical-model neurons.

    ``preset`` and ``preset_args`` are kept when the population came from a preset, so saving it
    writes the short preset form back instead of every model field.
    """

    neurons: int
    params: NeuronParams
    preset: str | None = None
    preset_args: dict | None = None

    def to_dict(self) -> dict:
        if self.preset is not None:
            return {
                "neurons": self.neurons,
                "preset": self.preset,
                "preset_args": dict(self.preset_args or {}),
            }
        return {"neurons": self.neurons, "model": self.params.to_dict()}


def load_population(path) -> Population:
    """Read ``{"neurons": N, "model": {...}}`` or ``{"neurons": N, "preset": ..., ...}``."""
    text = _read_text(path)
    try:
        description = json.loads(text)
    except json.JSONDecodeError as error:
        raise FileFormatError(path, f"not valid JSON ({error})") from None
    return _population_from(description, path)


def _population_from(description, path) -> Population:
    if not isinstance(description, dict):
        raise FileFormatError(path, f"must hold a JSON object, not {type(description).__name__}")
    unknown = set(description) - set(POPULATION_KEYS)
    if unknown:
        raise FileFormatError(
            path, f"unknown key(s) {_quoted(unknown)}; allowed: {_quoted(POPULATION_KEYS)}"
        )
    if "neurons" not in description:
        raise FileFormatError(path, "missing key 'neurons' (the population size)")
    neurons = description["neurons"]
    if isinstance(neurons, bool) or not isinstance(neurons, int) or neurons < 1:
        raise FileFormatError(path, f"key 'neurons' must be a positive integer, not {neurons!r}")
    has_model, has_preset = "model" in description, "preset" in description
    if has_model and has_preset:
        raise FileFormatError(path, "keys 'model' and 'preset' are both given; give exactly one")
    if not has_model and not has_preset:
        raise FileFormatError(path, "missing key 'model' (neuron parameters) or key 'preset'")

    if has_model:
        if "preset_args" in description:
            raise FileFormatError(path, "key 'preset_args' is only used with key 'preset'")
        model = description["model"]
        if not isinstance(model, dict):
            raise FileFormatError(path, f"key 'model' must be a JSON object, not {model!r}")
        params = _build(path, "model", NeuronParams.from_dict, model)
        preset, preset_args = None, None
    else:
        preset = description["preset"]
        if preset not in PRESETS:
            raise FileFormatError(path, f"preset must be one of {_quoted(PRESETS)}, not {preset!r}")
        preset_args = description.get("preset_args", {})
        if not isinstance(preset_args, dict):
            raise FileFormatError(
                path, f"key 'preset_args' must be a JSON object, not {preset_args!r}"
            )
        params = _build(path, "preset_args", lambda args: PRESETS[preset](**args), preset_args)

    try:
        params.check_population_size(neurons)
    except ValueError as error:
        raise FileFormatError(path, str(error)) from None
    return Population(neurons=neurons, params=params, preset=preset, preset_args=preset_args)


def _build(path, key, build, arguments):
    # Parameter validation raises ValueError or TypeError (a preset called with a missing or
    # unknown argument raises TypeError); both describe a bad file here, not a bug.
    try:
        return build(arguments)
    except (ValueError, TypeError) as error:
        raise FileFormatError(path, f"key {key!r}: {error}") from None


def save_population(path, population: Population) -> None:
    write_json(path, population.to_dict())


def write_json(path, data) -> None:
    """Sorted keys and a trailing newline, so equal data gives equal bytes."""
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _read_text(path) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise FileFormatError(path, f"cannot read the file ({_reason(error)})") from None


def _reason(error) -> str:
    return getattr(error, "strerror", None) or str(error)


# --- Output folders -------------------------------------------------------------------------------

#: Every file or folder that a neurohw command writes into its output folder. An existing folder
#: holding only these (or nothing) is replaced as a whole by a rerun; anything else in it is the
#: user's, and the command refuses the folder rather than delete it.
OUTPUT_NAMES = frozenset(
    {
        "chosen",
        "digits.nir",
        "energy.png",
        "explore.json",
        "explore.md",
        "explore.png",
        "input.npz",
        "ip",
        "network.npz",
        "neuron_core.v",
        "params.json",
        "plan.json",
        "quantization.md",
        "raster.png",
        "report.json",
        "report.md",
        "sim",
        "summary.json",
        "synth",
        "synth.json",
        "synth.md",
        "system.v",
        "testbench",
        "trace.npz",
        "trace.png",
    }
)


def check_output_folder(path, *, inputs=(), option: str = "-o") -> Path:
    """Refuse an output folder that a run could not replace as a whole without losing the
    user's files: a file, the current folder or one above it, a folder holding one of the
    ``inputs`` or anything neurohw does not write (:data:`OUTPUT_NAMES`). Returns the path."""
    target = Path(path)
    resolved = target.resolve()
    if target.exists() and not target.is_dir():
        raise FileFormatError(f"{option} {target}", "exists and is not a folder")
    if resolved == Path.cwd().resolve() or resolved in Path.cwd().resolve().parents:
        raise FileFormatError(
            f"{option} {target}",
            "is the current folder or holds it; the output folder is replaced "
            "as a whole, so give a folder of its own such as 'out'",
        )
    for source in inputs:
        if source is not None and resolved in Path(source).resolve().parents:
            raise FileFormatError(
                f"{option} {target}",
                f"holds the input {source}; the output folder is replaced as a "
                f"whole, so give another folder",
            )
    if target.is_dir():
        foreign = sorted(entry.name for entry in target.iterdir() if entry.name not in OUTPUT_NAMES)
        if foreign:
            raise FileFormatError(
                f"{option} {target}",
                f"holds {', '.join(repr(n) for n in foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}, which neurohw did not write; the "
                f"output folder is replaced as a whole, so give a new or empty folder",
            )
    return target


@contextmanager
def output_folder(path, *, inputs=(), option: str = "-o"):
    """Write a command's outputs atomically: yield a fresh staging folder beside ``path`` (same
    file system) and, when the block succeeds, rename it into place, replacing any earlier
    output folder as a whole; when the block raises, the staging folder is removed and ``path``
    is left as it was (or absent). :func:`check_output_folder` first."""
    target = check_output_folder(path, inputs=inputs, option=option)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(
        tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    )
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    # mkdtemp makes the folder private (0700); give it the permissions a plain mkdir would.
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
        old.rmdir()
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)


# --- Simulation input files ----------------------------------------------------------------------


@dataclass(frozen=True)
class SimInput:
    """Validated input of one simulation, in the full-rank shapes of the reference model.

    Either ``spikes`` (steps, batch, axons) with ``weights`` (channels, axons, neurons), or
    ``drive`` (steps, batch, channels, neurons); all int64.
    """

    spikes: np.ndarray | None = None
    weights: np.ndarray | None = None
    drive: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return (self.spikes if self.drive is None else self.drive).shape[0]

    @property
    def batch(self) -> int:
        return (self.spikes if self.drive is None else self.drive).shape[1]


def load_input(path, population: Population) -> SimInput:
    """Read and check an input ``.npz`` against the population it will drive."""
    arrays = _read_npz(path)
    unknown = set(arrays) - set(INPUT_KEYS)
    if unknown:
        raise FileFormatError(
            path, f"unknown key(s) {_quoted(unknown)}; allowed: {_quoted(INPUT_KEYS)}"
        )
    if "spikes" in arrays and "drive" in arrays:
        raise FileFormatError(path, "keys 'spikes' and 'drive' are both given; give exactly one")
    if "drive" in arrays:
        if "weights" in arrays:
            raise FileFormatError(
                path, "key 'weights' is only used with key 'spikes', not with key 'drive'"
            )
        return SimInput(drive=_check_drive(path, arrays["drive"], population))
    if "spikes" not in arrays:
        raise FileFormatError(path, "missing key 'spikes' (with 'weights') or key 'drive'")
    if "weights" not in arrays:
        raise FileFormatError(path, "missing key 'weights', needed with key 'spikes'")
    weights = _check_weights(path, arrays["weights"], population)
    spikes = _check_spikes(path, arrays["spikes"], weights.shape[1])
    return SimInput(spikes=spikes, weights=weights)


def _read_npz(path) -> dict:
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            arrays = {}
            for name in names:
                try:
                    arrays[name] = archive[name]
                except ValueError:
                    # np.load refuses pickled (object) arrays; integers never need them.
                    raise FileFormatError(
                        path, f"key {name!r} must be an integer array, not a pickled object array"
                    ) from None
    except FileFormatError:
        raise
    except ValueError as error:
        # np.load takes a file that is not a zip archive for a pickle and hints at
        # allow_pickle, which would be the wrong advice here.
        reason = "not an .npz archive (np.savez)" if "pickle" in str(error) else _reason(error)
        raise FileFormatError(path, f"cannot read the file as .npz ({reason})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise FileFormatError(path, f"cannot read the file as .npz ({_reason(error)})") from None
    return arrays


def _check_integer(path, key, array, *, allow_bool=False):
    kinds = "iub" if allow_bool else "iu"
    if array.dtype.kind not in kinds:
        what = "an integer or boolean" if allow_bool else "an integer"
        raise FileFormatError(path, f"key {key!r} must be {what} array, not dtype {array.dtype}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise FileFormatError(path, f"key {key!r} values must fit in int64")
    return array.astype(np.int64)


def _check_weights(path, weights, population):
    params = population.params
    weights = _check_integer(path, "weights", weights)
    channels = params.input_channels
    if weights.ndim == 2 and channels == 1:
        weights = weights[np.newaxis]
    if weights.ndim != 3 or weights.shape[0] != channels:
        expected = "(axons, neurons) or " if channels == 1 else ""
        raise FileFormatError(
            path,
            f"key 'weights' must have shape {expected}(channels="
            f"{channels}, axons, neurons), not {weights.shape}",
        )
    if weights.shape[2] != population.neurons:
        raise FileFormatError(
            path,
            f"key 'weights' targets {weights.shape[2]} neurons, but the "
            f"population has {population.neurons}",
        )
    return weights


def _check_spikes(path, spikes, axons):
    spikes = _check_integer(path, "spikes", spikes, allow_bool=True)
    if spikes.ndim == 2:
        spikes = spikes[:, np.newaxis, :]
    if spikes.ndim != 3 or spikes.shape[2] != axons or 0 in spikes.shape[:2]:
        raise FileFormatError(
            path,
            f"key 'spikes' must have shape (steps, axons={axons}) or "
            f"(steps, batch, axons={axons}) with at least one step, "
            f"not {spikes.shape}",
        )
    if spikes.size and (spikes.min() < 0 or spikes.max() > MAX_SPIKE_COUNT):
        bad = spikes.min() if spikes.min() < 0 else spikes.max()
        raise FileFormatError(
            path,
            f"key 'spikes' holds spike counts, which must be between 0 "
            f"and {MAX_SPIKE_COUNT}, not {bad}",
        )
    return spikes


def _check_drive(path, drive, population):
    params = population.params
    if params.accumulation is Accumulation.PER_EVENT:
        raise FileFormatError(
            path,
            "key 'drive' cannot feed a model with accumulation "
            "'per_event', where the order of events matters; give "
            "'spikes' and 'weights' instead",
        )
    drive = _check_integer(path, "drive", drive)
    channels, neurons = params.input_channels, population.neurons
    if drive.ndim == 2:
        drive = drive[:, np.newaxis, np.newaxis, :]
    elif drive.ndim == 3:
        drive = drive[:, :, np.newaxis, :]
    if drive.ndim != 4 or drive.shape[2:] != (channels, neurons) or 0 in drive.shape[:2]:
        raise FileFormatError(
            path,
            f"key 'drive' must have shape (steps, neurons={neurons}), "
            f"(steps, batch, neurons={neurons}) or (steps, batch, "
            f"channels={channels}, neurons={neurons}) with at least "
            f"one step, not {drive.shape}",
        )
    return drive


def save_input(path, *, spikes=None, weights=None, drive=None) -> None:
    """Write an input ``.npz`` (deterministic bytes); give spikes with weights, or drive."""
    if (spikes is None) == (drive is None):
        raise ValueError("save_input needs exactly one of spikes (with weights) or drive")
    if spikes is not None and weights is None:
        raise ValueError("save_input needs weights with spikes")
    arrays = {"spikes": spikes, "weights": weights} if spikes is not None else {"drive": drive}
    _write_npz(path, arrays)


def _write_npz(path, arrays: dict) -> None:
    """Like ``np.savez_compressed``, but with fixed member timestamps and order."""
    with zipfile.ZipFile(path, "w") as archive:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(
                buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, buffer.getvalue())


# --- Traces ---------------------------------------------------------------------------------------


def trace_summary(trace: Trace, params: NeuronParams) -> dict:
    """Counts a person reads first, plus the parameters that produced the trace."""
    steps, batch, neurons = trace.spikes.shape
    per_neuron = trace.spikes.sum(axis=(0, 1))
    return {
        "steps": int(steps),
        "batch": int(batch),
        "neurons": int(neurons),
        "total_spikes": int(per_neuron.sum()),
        "spikes_per_neuron": [int(count) for count in per_neuron],
        "params": params.to_dict(),
    }


def save_trace(trace: Trace, params: NeuronParams, npz_path, summary_path) -> dict:
    """Write the recorded arrays to ``npz_path`` and the summary JSON; return the summary."""
    arrays = {}
    for name in TRACE_KEYS:
        array = getattr(trace, name)
        if array is not None:
            arrays[name] = _as_int64(array, name)
    _write_npz(npz_path, arrays)
    summary = trace_summary(trace, params)
    write_json(summary_path, summary)
    return summary


def _as_int64(array, name) -> np.ndarray:
    # Models wider than the reference's int64 fast path record Python-int object arrays, which
    # .npz can only hold pickled; every state of a width up to 64 bits fits int64 except the top
    # value of a 64-bit 'wrap_lava' state.
    if array.dtype != object:
        return array.astype(np.int64, copy=False)
    low, high = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    if array.size and (array.min() < low or array.max() > high):
        raise ValueError(
            f"trace {name!r} holds values outside int64, which .npz cannot store without pickling"
        )
    return array.astype(np.int64)
