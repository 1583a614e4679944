"""Bad input, refused early and clearly: one table per layer (model, network, NIR, quantize and
map, events, host link, command line), each row ``(name, call, exception, exact message)``.

Every row must raise neurohw's own exception with exactly that message (nothing accepted
silently, nothing crashing with another exception); the command-line rows also check the exit
status, that stderr is that one line, and that the output folder is as it was: an earlier run's
folder untouched, or no folder, and no staging folder left beside it. ``{tmp}`` in a message is
the test's temporary folder. No row runs an RTL simulation or a synthesis.
"""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import nir
import numpy as np
import pytest

from neurohw.cli import main
from neurohw.events.binning import ClippedCountsError, SensorMapping, bin_events
from neurohw.events.core import Events
from neurohw.flows.pipeline import FlowError, load_source
from neurohw.host.link import Link
from neurohw.io import FileFormatError, load_input, load_population, save_input, save_population
from neurohw.io import Population as FilePopulation
from neurohw.model import loihi_cuba_lif, run
from neurohw.model.params import NeuronParams
from neurohw.network import (
    CoreCapacity,
    InputGroup,
    MappingError,
    Network,
    NetworkError,
    NIRImportError,
    Population,
    Projection,
    QuantizationError,
    import_nir,
    map_network,
    quantize,
)
from neurohw.network.system import check_samples
from tests.test_flow import small_network
from tests.test_host import _core
from tests.test_nir_import import snntorch_graph

pytestmark = pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")

#: Seconds a row may take: a row that hangs fails instead of stalling the suite.
ROW_SECONDS = 60


@pytest.fixture(autouse=True)
def _no_hang():
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover (Windows)
        yield
        return

    def hung(signum, frame):
        raise TimeoutError(f"a bad-input row ran for more than {ROW_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(ROW_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


PARAMS = loihi_cuba_lif(du=4095, dv=600, vth=30)


def _model(**changes) -> dict:
    return {**PARAMS.to_dict(), **changes}


# --- Files the rows read -------------------------------------------------------------------------


def _write(path: Path, data) -> Path:
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def _params_file(tmp, description) -> Path:
    return _write(tmp / "params.json", json.dumps(description))


def _input_file(tmp, **arrays) -> Path:
    np.savez(tmp / "input.npz", **arrays)
    return tmp / "input.npz"


def _nir_file(tmp, w1=None, b1=None, name="model.nir") -> Path:
    w1 = np.ones((3, 4)) if w1 is None else w1
    b1 = np.zeros(3) if b1 is None else b1
    nir.write(tmp / name, snntorch_graph(w1, b1, np.ones((2, 3)), 0.8, per_neuron=True))
    return tmp / name


def _nan_at(shape, index, value=np.nan):
    array = np.ones(shape)
    array[index] = value
    return array


def _truncated_nir(tmp) -> Path:
    data = _nir_file(tmp, name="whole.nir").read_bytes()
    return _write(tmp / "model.nir", data[:300])


def _population(neurons=3):
    return FilePopulation(neurons, PARAMS)


def _events(t, width=4, height=4):
    n = len(t)
    return Events(np.asarray(t), np.zeros(n, int), np.zeros(n, int), np.ones(n, int), width, height)


class _Silent:
    """A transport that records what is sent and never answers: a refused call sends nothing."""

    def __init__(self):
        self.written = bytearray()

    def write(self, data):
        self.written += data

    def read(self, n):
        return b""


def _link():
    return Link(_Silent(), _core())  # 6 neurons, 5 axons, 8-bit weights


def _single_output(neurons):
    return Network(
        inputs=[InputGroup("x", 1)],
        populations=[Population("o", neurons, PARAMS)],
        projections=[Projection("x", "o", np.ones((1, neurons), dtype=np.int8))],
        outputs=["o"],
    )


# --- API rows: (name, call(tmp), exception, message) ---------------------------------------------

MODEL = [
    (
        "uint64 weights that wrap to -1 in the reference model",
        lambda tmp: run(PARAMS, np.ones((3, 2), int), np.full((2, 3), 2**64 - 1, dtype=np.uint64)),
        ValueError,
        "weights must fit in int64, not 18446744073709551615 (dtype uint64)",
    ),
    (
        "spike counts of 1.7 in the reference model",
        lambda tmp: run(PARAMS, np.full((3, 2), 1.7), np.ones((2, 3), int)),
        TypeError,
        "spikes must be an integer or boolean array, not dtype float64",
    ),
    (
        "float per-neuron threshold in a parameter dict",
        lambda tmp: NeuronParams.from_dict(_model(threshold=[20.5, 3])),
        TypeError,
        "threshold must be an integer or a list of integers, not 20.5 at index 0",
    ),
    (
        "float scalar threshold",
        lambda tmp: NeuronParams.from_dict(_model(threshold=20.7)),
        TypeError,
        "threshold must be an integer or a non-empty 1-D integer array, not 20.7",
    ),
    (
        "float input_shift",
        lambda tmp: NeuronParams.from_dict(_model(input_shift=6.0)),
        TypeError,
        "input_shift must be an integer, not 6.0",
    ),
    (
        "boolean bias",
        lambda tmp: NeuronParams.from_dict(_model(bias_mantissa=True)),
        TypeError,
        "bias_mantissa must be an integer or a non-empty 1-D integer array, not True",
    ),
    (
        "per-neuron threshold past int64",
        lambda tmp: NeuronParams.from_dict(_model(threshold=[2**70, 1])),
        ValueError,
        "threshold values must fit in int64, not 1180591620717411303424 at index 0",
    ),
    (
        "float per-neuron decay constant",
        lambda tmp: NeuronParams.from_dict(
            _model(v_decay={**_model()["v_decay"], "constant": [600, 1.5]})
        ),
        TypeError,
        "v_decay constant must be an integer or a list of integers, not 1.5 at index 1",
    ),
    (
        "unknown parameter",
        lambda tmp: NeuronParams.from_dict(_model(treshold=3)),
        ValueError,
        "unknown neuron parameter(s) 'treshold'; allowed: accumulation, bias_exponent, bias_mantissa, comparison, drive_bias, drive_bias_shift, i_decay, i_overflow, i_width, input_count_cap, input_shift, input_timing, max_spikes, membrane_update, n_currents, recheck_reset, refractory_period, reset, reset_delay, reset_value, threshold, threshold_shift, v_decay, v_overflow, v_width",
    ),
    (
        "v_width 0",
        lambda tmp: NeuronParams.from_dict(_model(v_width=0)),
        ValueError,
        "v_width must be an integer between 2 and 64, not 0",
    ),
    (
        "unknown overflow mode",
        lambda tmp: NeuronParams.from_dict(_model(v_overflow="clip")),
        ValueError,
        "v_overflow must be one of 'wrap', 'wrap_lava', 'saturate', 'saturate_symmetric', not 'clip'",
    ),
    (
        "params file: not JSON",
        lambda tmp: load_population(_write(tmp / "params.json", "{neurons: 3")),
        FileFormatError,
        "{tmp}/params.json: not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1))",
    ),
    (
        "params file: missing",
        lambda tmp: load_population(tmp / "absent.json"),
        FileFormatError,
        "{tmp}/absent.json: cannot read the file (No such file or directory)",
    ),
    (
        "params file: a folder",
        lambda tmp: load_population(tmp),
        FileFormatError,
        "{tmp}: cannot read the file (Is a directory)",
    ),
    (
        "params file: 0 neurons",
        lambda tmp: load_population(_params_file(tmp, {"neurons": 0, "model": _model()})),
        FileFormatError,
        "{tmp}/params.json: key 'neurons' must be a positive integer, not 0",
    ),
    (
        "params file: neurons as text",
        lambda tmp: load_population(_params_file(tmp, {"neurons": "3", "model": _model()})),
        FileFormatError,
        "{tmp}/params.json: key 'neurons' must be a positive integer, not '3'",
    ),
    (
        "params file: float neurons",
        lambda tmp: load_population(_params_file(tmp, {"neurons": 3.0, "model": _model()})),
        FileFormatError,
        "{tmp}/params.json: key 'neurons' must be a positive integer, not 3.0",
    ),
    (
        "params file: model and preset",
        lambda tmp: load_population(
            _params_file(tmp, {"neurons": 3, "model": _model(), "preset": "xylo_lif"})
        ),
        FileFormatError,
        "{tmp}/params.json: keys 'model' and 'preset' are both given; give exactly one",
    ),
    (
        "params file: unknown preset",
        lambda tmp: load_population(_params_file(tmp, {"neurons": 3, "preset": "izhikevich"})),
        FileFormatError,
        "{tmp}/params.json: preset must be one of 'loihi_cuba_lif', 'snntorch_leaky', 'xylo_lif', not 'izhikevich'",
    ),
    (
        "params file: unknown preset argument",
        lambda tmp: load_population(
            _params_file(tmp, {"neurons": 3, "preset": "xylo_lif", "preset_args": {"tau": 3}})
        ),
        FileFormatError,
        "{tmp}/params.json: key 'preset_args': xylo_lif() got an unexpected keyword argument 'tau'",
    ),
    (
        "params file: float per-neuron threshold",
        lambda tmp: load_population(
            _params_file(tmp, {"neurons": 2, "model": _model(threshold=[20.5, 3.0])})
        ),
        FileFormatError,
        "{tmp}/params.json: key 'model': threshold must be an integer or a list of integers, not 20.5 at index 0",
    ),
    (
        "input file: float spikes",
        lambda tmp: load_input(
            _input_file(tmp, spikes=np.full((4, 2), 0.5), weights=np.ones((2, 3), int)),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'spikes' must be an integer or boolean array, not dtype float64",
    ),
    (
        "input file: negative spike count",
        lambda tmp: load_input(
            _input_file(tmp, spikes=-np.ones((4, 2), int), weights=np.ones((2, 3), int)),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'spikes' holds spike counts, which must be between 0 and 65535, not -1",
    ),
    (
        "input file: weights for 4 neurons, population of 3",
        lambda tmp: load_input(
            _input_file(tmp, spikes=np.ones((4, 2), int), weights=np.ones((2, 4), int)),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'weights' targets 4 neurons, but the population has 3",
    ),
    (
        "input file: uint64 weights past int64",
        lambda tmp: load_input(
            _input_file(
                tmp,
                spikes=np.ones((4, 2), int),
                weights=np.full((2, 3), 2**64 - 1, dtype=np.uint64),
            ),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'weights' values must fit in int64",
    ),
    (
        "input file: 0 steps",
        lambda tmp: load_input(
            _input_file(tmp, spikes=np.ones((0, 2), int), weights=np.ones((2, 3), int)),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'spikes' must have shape (steps, axons=2) or (steps, batch, axons=2) with at least one step, not (0, 1, 2)",
    ),
    (
        "input file: text",
        lambda tmp: load_input(_write(tmp / "input.npz", "1 2 3\n"), _population()),
        FileFormatError,
        "{tmp}/input.npz: cannot read the file as .npz (not an .npz archive (np.savez))",
    ),
    (
        "input file: pickled object array",
        lambda tmp: load_input(
            _input_file(tmp, spikes=np.array([None, 1], dtype=object), weights=np.ones((2, 3))),
            _population(),
        ),
        FileFormatError,
        "{tmp}/input.npz: key 'spikes' must be an integer array, not a pickled object array",
    ),
    (
        "input file: unknown key",
        lambda tmp: load_input(_input_file(tmp, spike=np.ones((4, 2), int)), _population()),
        FileFormatError,
        "{tmp}/input.npz: unknown key(s) 'spike'; allowed: 'drive', 'spikes', 'weights'",
    ),
]

NETWORK = [
    (
        "uint64 weights that wrap to -1",
        lambda tmp: Projection("x", "h", np.array([[2**64 - 1]], dtype=np.uint64)),
        NetworkError,
        "projection 'x' -> 'h' weights must fit in int64, not 18446744073709551615 (dtype uint64)",
    ),
    (
        "float weights",
        lambda tmp: Projection("x", "h", np.array([[1.5]])),
        NetworkError,
        "projection 'x' -> 'h' weights must be integers, not dtype float64; quantize float weights first (neurohw.network.quantize)",
    ),
    (
        "NaN weight",
        lambda tmp: Projection("x", "h", np.array([[np.nan]])),
        NetworkError,
        "projection 'x' -> 'h' weights must be integers, not dtype float64; quantize float weights first (neurohw.network.quantize)",
    ),
    (
        "3-D weights",
        lambda tmp: Projection("x", "h", np.ones((1, 2, 3), int)),
        NetworkError,
        "projection 'x' -> 'h' weights must be a 2-D (source, target) array, not shape (1, 2, 3)",
    ),
    (
        "input group of size 0",
        lambda tmp: InputGroup("x", 0),
        NetworkError,
        "input group 'x' size must be at least 1, not 0",
    ),
    (
        "input group max_count 0",
        lambda tmp: InputGroup("x", 3, max_count=0),
        NetworkError,
        "input group 'x' max_count must be between 1 and 65535, not 0",
    ),
    (
        "population of size 0",
        lambda tmp: Population("h", 0, PARAMS),
        NetworkError,
        "population 'h' size must be at least 1, not 0",
    ),
    (
        "projection onto an unknown population",
        lambda tmp: Network(
            inputs=[InputGroup("x", 2)],
            populations=[Population("h", 2, PARAMS)],
            projections=[Projection("x", "y", np.ones((2, 2), int))],
            outputs=["h"],
        ),
        NetworkError,
        "projection 'x' -> 'y': target 'y' is unknown; targets must be populations",
    ),
    (
        "unknown output",
        lambda tmp: Network(
            inputs=[InputGroup("x", 2)],
            populations=[Population("h", 2, PARAMS)],
            projections=[Projection("x", "h", np.ones((2, 2), int))],
            outputs=["o"],
        ),
        NetworkError,
        "output 'o' is not a population; populations: 'h'",
    ),
    (
        "projection weights of the wrong shape",
        lambda tmp: Network(
            inputs=[InputGroup("x", 2)],
            populations=[Population("h", 2, PARAMS)],
            projections=[Projection("x", "h", np.ones((3, 2), int))],
            outputs=["h"],
        ),
        NetworkError,
        "projection 'x' -> 'h': weights must have shape (source, target) = (2, 2), not (3, 2)",
    ),
    (
        "inputs of the wrong shape",
        lambda tmp: check_samples(small_network(), {"x": np.ones((4, 2, 11), int)}),
        NetworkError,
        "input 'x' must have shape (steps, batch, 12) or (steps, 12), not (4, 2, 11)",
    ),
    (
        "1-D inputs",
        lambda tmp: check_samples(small_network(), {"x": np.ones(12, int)}),
        NetworkError,
        "input 'x' must have shape (steps, batch, 12) or (steps, 12), not (12,)",
    ),
    (
        "negative spike count",
        lambda tmp: check_samples(small_network(), {"x": -np.ones((4, 12), int)}),
        NetworkError,
        "input 'x' has a spike count of -1; counts must be between 0 and the group's max_count=2",
    ),
    (
        "float inputs",
        lambda tmp: check_samples(small_network(), {"x": np.full((4, 12), 0.5)}),
        NetworkError,
        "input 'x' must hold integer spike counts, not dtype float64",
    ),
    (
        "an input group missing",
        lambda tmp: check_samples(small_network(), {}),
        NetworkError,
        "inputs miss input group(s) 'x'",
    ),
    (
        "network file: text",
        lambda tmp: Network.load(_write(tmp / "net.npz", "not a network")),
        NetworkError,
        "{tmp}/net.npz: cannot read a network file: File is not a zip file",
    ),
]

NIR = [
    (
        "NaN weight (not blamed on input_bias)",
        lambda tmp: import_nir(_nir_file(tmp, w1=_nan_at((3, 4), (1, 2))), dt=1e-4),
        NIRImportError,
        "NIR node '0' (Affine): weight must be finite, not nan at [1, 2]",
    ),
    (
        "infinite bias",
        lambda tmp: import_nir(_nir_file(tmp, b1=_nan_at((3,), 2, np.inf)), dt=1e-4),
        NIRImportError,
        "NIR node '0' (Affine): bias must be finite, not inf at [2]",
    ),
    (
        "truncated file",
        lambda tmp: import_nir(_truncated_nir(tmp), dt=1e-4),
        NIRImportError,
        "cannot read {tmp}/model.nir: not a readable NIR (HDF5) file (truncated file)",
    ),
    (
        "text file",
        lambda tmp: import_nir(_write(tmp / "model.nir", "hello"), dt=1e-4),
        NIRImportError,
        "cannot read {tmp}/model.nir: not a readable NIR (HDF5) file (file signature not found)",
    ),
    (
        "truncated file through load_source",
        lambda tmp: load_source(_truncated_nir(tmp), dt=1e-4),
        FlowError,
        "cannot read {tmp}/model.nir: not a readable NIR (HDF5) file (truncated file)",
    ),
    (
        "missing file",
        lambda tmp: load_source(tmp / "absent.nir", dt=1e-4),
        FlowError,
        "{tmp}/absent.nir: no such file",
    ),
    (
        "negative dt",
        lambda tmp: import_nir(_nir_file(tmp), dt=-1e-3),
        NIRImportError,
        "dt must be a positive, finite time step in seconds, not -0.001",
    ),
    (
        "unknown file type",
        lambda tmp: load_source(_write(tmp / "model.onnx", "x"), dt=1e-4),
        FlowError,
        "{tmp}/model.onnx: unknown file type '.onnx'; give a NIR file (.nir, .h5) or a network file (.npz) written by Network.save",
    ),
    (
        "plain NIR without dt",
        lambda tmp: load_source(_nir_file(tmp)),
        FlowError,
        "{tmp}/model.nir: importing NIR needs the time step --dt in seconds (NIR fixes none), or --exporter naming the framework that wrote the file (snntorch, norse, sinabs, rockpool); see docs/frontends.md",
    ),
    (
        "input_bits 0",
        lambda tmp: load_source(_nir_file(tmp), dt=1e-4, input_bits=0),
        FlowError,
        "input_bits must be an integer between 1 and 16 (the bits of a graded input value), not 0",
    ),
]

QUANTIZE_MAP = [
    (
        "weight_width 33",
        lambda tmp: quantize(import_nir(_nir_file(tmp), dt=1e-4), weight_width=33),
        QuantizationError,
        "weight_width must be an integer between 2 and 16, not 33",
    ),
    (
        "weight_width 1",
        lambda tmp: quantize(import_nir(_nir_file(tmp), dt=1e-4), weight_width=1),
        QuantizationError,
        "weight_width must be an integer between 2 and 16, not 1",
    ),
    (
        "10^7 neurons, refused before any per-neuron work",
        lambda tmp: map_network(_single_output(10**7)),
        MappingError,
        "39064 endpoints need a 198 x 198 mesh; a mesh side has at most 64 routers, so at most "
        "4095 cores fit (refused before partitioning: 10000000 neurons need at least 39063 "
        "cores of capacity max_neurons=256; raise max_neurons, up to 4096, or make the network "
        "smaller)",
    ),
    (
        "more cores than max_cores",
        lambda tmp: map_network(_single_output(1000), max_cores=3),
        MappingError,
        "the network needs 4 cores ('o': 4 (1000 neurons)) with capacity max_neurons=256, "
        "max_axons=1024, max_weight_bits=2097152, more than max_cores=3; max_cores>=4 would fit "
        "it; by neuron count alone, a capacity with max_neurons>=334 would need only 3 cores",
    ),
    (
        "more cores than a star holds",
        lambda tmp: map_network(_single_output(300), topology="star", capacity=CoreCapacity(8)),
        MappingError,
        "topology='star' has one router port per endpoint, at most 32; this network needs 39 (38 "
        "cores and the host): use topology='mesh' or 'auto', or a capacity that needs at most 31 "
        "cores",
    ),
    (
        "lanes 3",
        lambda tmp: map_network(small_network(), lanes=3),
        MappingError,
        "lanes must be a power of two between 1 and 64 (the neuron core banks neurons by address bits), not 3",
    ),
    (
        "unknown topology",
        lambda tmp: map_network(small_network(), topology="ring"),
        MappingError,
        "topology must be 'auto', 'star' or 'mesh', not 'ring'",
    ),
    (
        "capacity of 0 neurons",
        lambda tmp: CoreCapacity(max_neurons=0),
        MappingError,
        "capacity max_neurons must be between 1 and 4096, not 0",
    ),
    (
        "capacity past the hardware's axons",
        lambda tmp: CoreCapacity(max_axons=70000),
        MappingError,
        "capacity max_axons must be between 1 and 65536, not 70000",
    ),
    (
        "a neuron that needs more axons than a core has",
        lambda tmp: map_network(small_network(), capacity=CoreCapacity(max_axons=4)),
        MappingError,
        "population 'h' cannot be mapped: its neuron 0 alone on a core needs 12 axons (input 'x' lines 0-11: 12), more than capacity max_axons=4; a capacity with max_axons>=12 would fit it (or fewer, more local synapses onto it)",
    ),
]

EVENTS = [
    (
        "one outlier timestamp asks for gigabytes",
        lambda tmp: bin_events(
            _events([0, 5, 10**12]), SensorMapping(4, 4), window_us=1000, steps=10
        ),
        ValueError,
        "binning needs batch=100000001 sample(s) x steps=10 x 32 lines = 32000000320 counts, more than max_cells=67108864: the samples cover 1000000010000 us from t0=0 (the last event is at t=1000000000000); give batch= and t0= to bin a part, drop outlier timestamps, or raise max_cells",
    ),
    (
        "window_us 0",
        lambda tmp: bin_events(_events([0, 5]), SensorMapping(4, 4), window_us=0, steps=10),
        ValueError,
        "window_us must be an integer of at least 1, not 0",
    ),
    (
        "steps 0",
        lambda tmp: bin_events(_events([0, 5]), SensorMapping(4, 4), window_us=10, steps=0),
        ValueError,
        "steps must be an integer of at least 1, not 0",
    ),
    (
        "float t0",
        lambda tmp: bin_events(_events([0, 5]), SensorMapping(4, 4), window_us=10, steps=2, t0=1.5),
        ValueError,
        "t0 must be an integer (microseconds), not 1.5",
    ),
    (
        "batch 0",
        lambda tmp: bin_events(
            _events([0, 5]), SensorMapping(4, 4), window_us=10, steps=2, batch=0
        ),
        ValueError,
        "batch must be an integer of at least 1, not 0",
    ),
    (
        "unknown on_clip",
        lambda tmp: bin_events(
            _events([0, 5]), SensorMapping(4, 4), window_us=10, steps=2, on_clip="ignore"
        ),
        ValueError,
        "on_clip must be 'warn', 'raise' or 'report', not 'ignore'",
    ),
    (
        "clipped counts with on_clip='raise'",
        lambda tmp: bin_events(
            _events([0, 1, 2]), SensorMapping(4, 4), window_us=10, steps=2, on_clip="raise"
        ),
        ClippedCountsError,
        "3 events -> 1 delivered in 1 sample(s) x 2 steps of 10 us from t0=0; clipped 2 in 1 cell(s) (peak count 3 > max_count 1); 0 filtered by polarity, 0 before t0, 0 after the last window",
    ),
    (
        "events of another sensor",
        lambda tmp: bin_events(_events([0, 5]), SensorMapping(8, 8), window_us=10, steps=2),
        ValueError,
        "events of a 4x4 sensor, mapping for 8x8",
    ),
    (
        "sensor width 0",
        lambda tmp: SensorMapping(0, 4),
        ValueError,
        "width must be an integer of at least 1, not 0",
    ),
    (
        "unknown polarity policy",
        lambda tmp: SensorMapping(4, 4, polarity="both"),
        ValueError,
        "polarity must be one of 'split', 'merge', 'on', 'off', not 'both'",
    ),
    (
        "downsample of three factors",
        lambda tmp: SensorMapping(4, 4, downsample=(1, 2, 3)),
        ValueError,
        "downsample must be an integer or (fx, fy), not (1, 2, 3)",
    ),
    (
        "float timestamps",
        lambda tmp: _events([0.5, 1.5]),
        ValueError,
        "events t must be a 1-D integer array, not float64 of shape (2,)",
    ),
]

HOST_LINK = [
    (
        "spike count 1.7 (not truncated to 1)",
        lambda tmp: _link().run(np.full((2, 5), 1.7)),
        ValueError,
        "counts must be integers, not dtype float64",
    ),
    (
        "negative spike count",
        lambda tmp: _link().run(-np.ones((2, 5), int)),
        ValueError,
        "counts must be at least 0, not -1",
    ),
    (
        "counts for 4 axons on a 5-axon core",
        lambda tmp: _link().run(np.ones((2, 4), int)),
        ValueError,
        "counts must have shape (steps, 5), not (2, 4)",
    ),
    (
        "weight 300 on an 8-bit core",
        lambda tmp: _link().load_weights(np.full((5, 6), 300)),
        ValueError,
        "weight 300 does not fit the core's weight_width=8 ([-128, 127])",
    ),
    (
        "weight -129 on an 8-bit core",
        lambda tmp: _link().write("WEIGHT0", -129, neuron=1, axon=2),
        ValueError,
        "weight -129 does not fit the core's weight_width=8 ([-128, 127])",
    ),
    (
        "float weights",
        lambda tmp: _link().load_weights(np.full((5, 6), 1.5)),
        ValueError,
        "weights must be integers, not dtype float64",
    ),
    (
        "weights of the wrong shape",
        lambda tmp: _link().load_weights(np.ones((6, 5), int)),
        ValueError,
        "weights must have shape (1, 5, 6), not (1, 6, 5)",
    ),
    (
        "float state",
        lambda tmp: _link().write("V", 1.5),
        ValueError,
        "command data must be an integer, not 1.5",
    ),
    (
        "float threshold",
        lambda tmp: _link().load_params(threshold=1.5),
        ValueError,
        "threshold must be integers, not dtype float64",
    ),
    (
        "unknown parameter",
        lambda tmp: _link().load_params(tau=3),
        ValueError,
        "parameter must be one of 'threshold', 'bias', 'reset_value', not 'tau'",
    ),
    (
        "float membrane values",
        lambda tmp: _link().write_state("v", [0.5] * 6),
        ValueError,
        "v must be integers, not dtype float64",
    ),
    (
        "unknown state",
        lambda tmp: _link().read_state("u"),
        ValueError,
        "state must be one of 'v', 'i0', 'i1', 'refractory', 'pending', 'acc0', 'acc1', 'threshold', 'bias', 'reset_value', not 'u'",
    ),
    (
        "float axon",
        lambda tmp: _link().send_events([2.5]),
        ValueError,
        "event axons must be integers, not dtype float64",
    ),
    (
        "a value on a spike-only core",
        lambda tmp: _link().send_events([(1, 3)]),
        ValueError,
        "value 3: this core takes spikes only (value_width=0); send a count as that many events",
    ),
]

API_CASES = [
    pytest.param(call, error, message, id=f"{table}: {name}")
    for table, rows in (
        ("model", MODEL),
        ("network", NETWORK),
        ("nir", NIR),
        ("quantize/map", QUANTIZE_MAP),
        ("events", EVENTS),
        ("host link", HOST_LINK),
    )
    for name, call, error, message in rows
]


@pytest.mark.parametrize("call, error, message", API_CASES)
def test_api_refuses(tmp_path, call, error, message):
    with pytest.raises(error) as caught:
        call(tmp_path)
    assert type(caught.value).__module__.startswith("neurohw") or error in (
        TypeError,
        ValueError,
    )
    assert str(caught.value) == message.format(tmp=tmp_path)


# --- Command-line rows: (name, setup(tmp) -> argv, message) --------------------------------------
#
# Every row runs with an earlier run's output folder tmp/out in place, which must be left
# byte for byte as it was; the status is 2 and stderr is the one line "neurohw: error: ...".

OLD_REPORT = '{"from": "an earlier run"}\n'


def _net(tmp) -> str:
    small_network().save(tmp / "net.npz")
    return str(tmp / "net.npz")


def _compile(tmp, *options, inputs=None) -> list:
    argv = ["compile", _net(tmp), "-o", str(tmp / "out")]
    if inputs is not None:
        np.savez(tmp / "inputs.npz", **inputs)
        argv += ["--inputs", str(tmp / "inputs.npz")]
    return argv + ["--verify-samples", "0", "--device", "none", *options]


def _simulate(tmp, *options) -> list:
    save_population(tmp / "params.json", _population())
    save_input(tmp / "input.npz", spikes=np.ones((4, 2), np.uint8), weights=np.ones((2, 3), int))
    return ["simulate", str(tmp / "params.json"), str(tmp / "input.npz"), "-o", str(tmp / "out")]


X = np.ones((4, 2, 12), dtype=np.int64)  # 4 steps, 2 samples of small_network's input 'x'

CLI = [
    (
        "compile: unknown --device, refused before any stage",
        lambda tmp: _compile(tmp)[:-2] + ["--device", "ice40-hx1k"],
        "--device 'ice40-hx1k': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', 'xc7-estimate', 'none'",
    ),
    (
        "compile: unknown --simulator",
        lambda tmp: _compile(tmp)[:-4] + ["--simulator", "modelsim", "--device", "none"],
        "--simulator 'modelsim': must be one of 'icarus', 'verilator'",
    ),
    (
        "compile: --weight-width on a network file (was ignored)",
        lambda tmp: _compile(tmp, "--weight-width", "33"),
        "--weight-width applies to NIR import and quantization; the network file {tmp}/net.npz is integer already (leave out --weight-width)",
    ),
    (
        "compile: --dt on a network file",
        lambda tmp: _compile(tmp, "--dt", "1e-3"),
        "--dt applies to NIR import and quantization; the network file {tmp}/net.npz is integer already (leave out --dt)",
    ),
    (
        "compile: --exporter on a network file",
        lambda tmp: _compile(tmp, "--exporter", "snntorch"),
        "--exporter applies to NIR import and quantization; the network file {tmp}/net.npz is integer already (leave out --exporter)",
    ),
    (
        "compile: missing --inputs file (not 'cannot write')",
        lambda tmp: _compile(tmp, "--inputs", str(tmp / "absent.npz")),
        "cannot read --inputs {tmp}/absent.npz: No such file or directory",
    ),
    (
        "compile: --inputs is a text file",
        lambda tmp: _compile(tmp, "--inputs", str(_write(tmp / "inputs.npz", "1 2 3\n"))),
        "cannot read --inputs {tmp}/inputs.npz: not an .npz archive of numeric arrays",
    ),
    (
        "compile: --inputs is a single .npy array",
        lambda tmp: (
            np.save(tmp / "inputs.npy", X) or _compile(tmp, "--inputs", str(tmp / "inputs.npy"))
        ),
        "--inputs {tmp}/inputs.npy: must be an .npz archive of named arrays (np.savez), not a single .npy array",
    ),
    (
        "compile: --inputs holds a 1-D array",
        lambda tmp: _compile(tmp, inputs={"x": np.ones(12, int)}),
        "input 'x' must have shape (steps, batch, 12) or (steps, 12), not (12,)",
    ),
    (
        "compile: --inputs of the wrong size",
        lambda tmp: _compile(tmp, inputs={"x": np.ones((4, 2, 11), int)}),
        "input 'x' must have shape (steps, batch, 12) or (steps, 12), not (4, 2, 11)",
    ),
    (
        "compile: --inputs with 0 steps",
        lambda tmp: _compile(tmp, inputs={"x": np.ones((0, 2, 12), int)}),
        "inputs must hold at least one step and one sample, not 0 step(s) x 2 sample(s)",
    ),
    (
        "compile: --inputs with float labels",
        lambda tmp: _compile(tmp, inputs={"x": X, "labels": np.array([0.0, 1.5])}),
        "labels must be integer class indices (0..3), not dtype float64",
    ),
    (
        "compile: --inputs with one label for two samples",
        lambda tmp: _compile(tmp, inputs={"x": X, "labels": np.array([1])}),
        "labels must have one entry per sample (2), not shape (1,)",
    ),
    (
        "compile: --inputs with a label past the output population",
        lambda tmp: _compile(tmp, inputs={"x": X, "labels": np.array([1, 4])}),
        "labels must be between 0 and 3 (the output population 'o' has 4 neurons), not 4",
    ),
    (
        "compile: --inputs naming an unknown group",
        lambda tmp: _compile(tmp, inputs={"x": X, "y": X}),
        "inputs name unknown input group(s) 'y'; the network's input groups: 'x'",
    ),
    (
        "compile: --inputs with only labels",
        lambda tmp: _compile(tmp, inputs={"labels": np.array([1, 2])}),
        "--inputs {tmp}/inputs.npz: holds no input arrays (one per input group, named after it)",
    ),
    (
        "compile: --inputs of strings",
        lambda tmp: _compile(tmp, inputs={"x": np.array(["a", "b"])}),
        "--inputs {tmp}/inputs.npz: array 'x' must be numeric, not dtype <U1",
    ),
    (
        "compile: --verify-samples above the samples given (was clamped)",
        lambda tmp: _compile(tmp, inputs={"x": X})[:-4] + ["--verify-samples", "3"],
        "--verify-samples must be between 0 and the 2 samples given, not 3",
    ),
    (
        "compile: --samples 0",
        lambda tmp: _compile(tmp, "--samples", "0"),
        "--samples must be at least 1, not 0",
    ),
    (
        "compile: --rate 2",
        lambda tmp: _compile(tmp, "--rate", "2"),
        "--rate must be between 0 and 1, not 2.0",
    ),
    (
        "compile: --seed -1",
        lambda tmp: _compile(tmp, "--seed", "-1"),
        "--seed must be at least 0, not -1",
    ),
    (
        "compile: --lanes 3",
        lambda tmp: _compile(tmp, "--lanes", "3"),
        "lanes must be a power of two between 1 and 64 (the neuron core banks neurons by address bits), not 3",
    ),
    (
        "compile: --max-neurons 0",
        lambda tmp: _compile(tmp, "--max-neurons", "0"),
        "capacity max_neurons must be between 1 and 4096, not 0",
    ),
    (
        "compile: --max-axons too small for a neuron",
        lambda tmp: _compile(tmp, "--max-axons", "4"),
        "population 'h' cannot be mapped: its neuron 0 alone on a core needs 12 axons (input 'x' lines 0-11: 12), more than capacity max_axons=4; a capacity with max_axons>=12 would fit it (or fewer, more local synapses onto it)",
    ),
    (
        "compile: missing model file",
        lambda tmp: ["compile", str(tmp / "absent.npz"), "-o", str(tmp / "out")],
        "{tmp}/absent.npz: no such file",
    ),
    (
        "compile: truncated NIR file (not a raw h5py error)",
        lambda tmp: ["compile", str(_truncated_nir(tmp)), "-o", str(tmp / "out"), "--dt", "1e-4"],
        "cannot read {tmp}/model.nir: not a readable NIR (HDF5) file (truncated file)",
    ),
    (
        "compile: NIR with a NaN weight",
        lambda tmp: [
            "compile",
            str(_nir_file(tmp, w1=_nan_at((3, 4), (0, 0)))),
            "-o",
            str(tmp / "out"),
            "--dt",
            "1e-4",
        ],
        "{tmp}/model.nir: NIR node '0' (Affine): weight must be finite, not nan at [0, 0]",
    ),
    (
        "compile: NIR with --weight-width 33",
        lambda tmp: [
            "compile",
            str(_nir_file(tmp)),
            "-o",
            str(tmp / "out"),
            "--dt",
            "1e-4",
            "--weight-width",
            "33",
        ],
        "weight_width must be an integer between 2 and 16, not 33",
    ),
    (
        "compile: -o is a file",
        lambda tmp: _compile(tmp)[:2] + ["-o", str(_write(tmp / "file", "x"))] + _compile(tmp)[4:],
        "-o {tmp}/file: exists and is not a folder",
    ),
    (
        "compile: -o holds the model file",
        lambda tmp: _compile(tmp)[:2] + ["-o", str(tmp)] + _compile(tmp)[4:],
        "-o {tmp}: holds the input {tmp}/net.npz; the output folder is replaced as a whole, so give another folder",
    ),
    (
        "simulate: missing parameter file",
        lambda tmp: _simulate(tmp)[:1] + [str(tmp / "absent.json")] + _simulate(tmp)[2:],
        "{tmp}/absent.json: cannot read the file (No such file or directory)",
    ),
    (
        "simulate: --plot-neurons past the population",
        lambda tmp: _simulate(tmp) + ["--plot-neurons", "0,3"],
        "--plot-neurons: neuron must be between 0 and 2, not 3",
    ),
    (
        "simulate: -o holds a file neurohw did not write",
        lambda tmp: _write(tmp / "out" / "notes.txt", "mine") and _simulate(tmp),
        "-o {tmp}/out: holds 'notes.txt', which neurohw did not write; the output folder is replaced as a whole, so give a new or empty folder",
    ),
    (
        "synth: --device none only",
        lambda tmp: ["synth", _net(tmp), "-o", str(tmp / "out"), "--device", "none"],
        "--device none leaves nothing to synthesize; name a device",
    ),
    (
        "synth: --steps 0",
        lambda tmp: ["synth", _net(tmp), "-o", str(tmp / "out"), "--steps", "0"],
        "--steps must be at least 1, not 0",
    ),
    (
        "synth: --weight-width on a network file",
        lambda tmp: ["synth", _net(tmp), "-o", str(tmp / "out"), "--weight-width", "4"],
        "--weight-width applies to NIR import and quantization; the network file {tmp}/net.npz is integer already (leave out --weight-width)",
    ),
    (
        "core-example: --lanes 0",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--lanes", "0"],
        "--lanes must be at least 1, not 0",
    ),
    (
        "core-example: --lanes 3",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--lanes", "3"],
        "--lanes 3: lanes=3 is not implemented by NeuronCore; use a power of two (neurons are banked by the low bits of their address)",
    ),
    (
        "core-example: unknown --device (was checked at stage 4)",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--device", "xc7a35t"],
        "--device 'xc7a35t': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', 'xc7-estimate', 'none'",
    ),
    (
        "core-example: unknown --simulator (was checked at stage 3)",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--simulator", "questa"],
        "--simulator 'questa': must be one of 'icarus', 'verilator'",
    ),
    (
        "core-example: --verify-steps 201",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--verify-steps", "201"],
        "--verify-steps must be between 0 and 200, not 201",
    ),
    (
        "core-example: --seed -1",
        lambda tmp: ["core-example", "-o", str(tmp / "out"), "--seed", "-1"],
        "--seed must be at least 0, not -1",
    ),
    (
        "example: --epochs 0",
        lambda tmp: ["example", "-o", str(tmp / "out"), "--epochs", "0"],
        "--epochs must be at least 1, not 0",
    ),
]


def _folder_state(folder: Path) -> dict:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _staging_left(tmp: Path) -> list:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(".out."))


@pytest.mark.parametrize("setup, message", [pytest.param(s, m, id=name) for name, s, m in CLI])
def test_cli_refuses(tmp_path, capsys, setup, message):
    out = tmp_path / "out"
    out.mkdir()
    _write(out / "report.json", OLD_REPORT)
    argv = setup(tmp_path)
    before = _folder_state(out)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == f"neurohw: error: {message.format(tmp=tmp_path)}\n"
    assert "Traceback" not in captured.err
    assert _folder_state(out) == before
    assert _staging_left(tmp_path) == []


# --- Output folders: reruns replace as a whole, failures change nothing ---------------------------


def test_cli_refusal_leaves_no_folder(tmp_path, capsys):
    assert main(_compile(tmp_path)[:-2] + ["--device", "ice40-hx1k"]) == 2
    assert not (tmp_path / "out").exists()
    assert _staging_left(tmp_path) == []


def _earlier_compile_folder(tmp) -> Path:
    """An output folder as an earlier `neurohw compile` run left it (a few of its files)."""
    out = tmp / "out"
    (out / "testbench").mkdir(parents=True)
    for name in ("system.v", "plan.json", "report.json", "testbench/bench_system.py"):
        _write(out / name, f"{name} of an earlier run\n")
    return out


def test_rerun_replaces_the_folder_as_a_whole(tmp_path, capsys):
    # An earlier compile run's files (system.v, plan.json) must not survive a simulate rerun.
    out = _earlier_compile_folder(tmp_path)
    assert main(_simulate(tmp_path)) == 0
    assert sorted(p.name for p in out.iterdir()) == ["summary.json", "trace.npz", "trace.png"]
    assert _staging_left(tmp_path) == []
    assert "wrote " + str(out / "trace.npz") in capsys.readouterr().out


def test_failure_after_the_checks_keeps_the_old_folder(tmp_path, monkeypatch, capsys):
    # A run that fails while writing (here the plot, after trace.npz is written) publishes
    # nothing: the earlier folder stays as it was, and no staging folder is left.
    import neurohw.plot

    before = _folder_state(_earlier_compile_folder(tmp_path))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", "trace.png")

    monkeypatch.setattr(neurohw.plot, "plot_trace", full_disk)
    assert main(_simulate(tmp_path)) == 1
    assert capsys.readouterr().err == (
        "neurohw: error: cannot write trace.png: No space left on device\n"
    )
    assert _folder_state(tmp_path / "out") == before
    assert _staging_left(tmp_path) == []


@pytest.mark.slow  # two whole compile flows (mapping, Verilog, report, raster): ~10 s each
def test_compile_rerun_into_its_own_folder(tmp_path, capsys):
    # The whole compile flow (no RTL simulation, no synthesis) twice into one folder: the
    # second run replaces the first, and the folder holds exactly one run's files.
    argv = _compile(tmp_path, inputs={"x": X})
    assert main(argv) == 0
    first = sorted(p.name for p in (tmp_path / "out").iterdir())
    (tmp_path / "out" / "sim").mkdir()  # as a run with RTL simulation would leave it
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == first
    assert _staging_left(tmp_path) == []


def test_api_flow_refuses_before_writing(tmp_path):
    from neurohw.flows.pipeline import Source, run_flow

    with pytest.raises(FlowError) as caught:
        run_flow(
            Source(small_network()),
            tmp_path / "out",
            inputs={"x": X},
            verify_samples=0,
            devices=["gowin"],
        )
    assert str(caught.value) == (
        "device must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', 'xc7-estimate', not 'gowin'"
    )
    assert not (tmp_path / "out").exists()


# --- Through the installed command (a separate process) -------------------------------------------

#: The installed console script, or the same entry point through this interpreter.
NEUROHW = (
    [str(Path(sys.executable).parent / "neurohw")]
    if (Path(sys.executable).parent / "neurohw").is_file()
    else [sys.executable, "-c", "import sys; from neurohw.cli import main; sys.exit(main())"]
)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["core-example", "--device", "xc7a35t"],
            "--device 'xc7a35t': must be one of 'ecp5-25k', 'ecp5-85k', 'ice40-up5k', 'xc7-estimate', 'none'",
        ),
        (["compile", "absent.nir", "--dt", "1e-3"], "absent.nir: no such file"),
    ],
)
def test_installed_command_refuses(tmp_path, argv, message):
    argv = argv[:1] + ["-o", str(tmp_path / "out")] + argv[1:]
    result = subprocess.run(
        [*NEUROHW, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=110
    )
    assert (result.returncode, result.stderr) == (2, f"neurohw: error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_tables_are_big_enough():
    # The issue asks for at least 80 cases across every layer and the command line.
    assert len(API_CASES) + len(CLI) >= 80
    assert all(re.fullmatch(r"[^\n]+", m or "x") for *_, m in CLI)
