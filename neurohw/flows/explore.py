"""Design-space exploration: which chip configuration fits a device and a latency budget, at
what cost (``docs/explore.md``; ``neurohw explore``).

A sweep is the cross product of the axes that exist today: weight width (NIR sources, each
width quantized once), lanes per core, core capacity (neurons per core) and topology. Each
point goes through three stages:

1. **Analysis** (cheap, a Dask task per point): map the network, generate the chip's Verilog
   (its :meth:`~neurohw.Chip.design_hash` is the cache key), list its memories, run the analytic
   cycle model (:func:`neurohw.flows.report.estimate_cycles`) and the resource model
   (:func:`predict_resources`).
2. **Pruning**: a point whose *lower bounds* (block RAM, LUT4, latency) exceed the device or a
   budget cannot be on the front and is not synthesized.
3. **Synthesis** (a Dask task per surviving point, cached by configuration hash): Yosys and
   nextpnr through :meth:`neurohw.Chip.synthesize`; a failure is recorded with its log.

The Pareto front is taken over the synthesized points that fit the device and meet the budgets,
on LUT4, block RAM, latency (analytic cycles at the synthesized Fmax), fixed-point accuracy and
estimated energy (:func:`neurohw.flows.energy.estimate_energy`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .lut_model import predict_luts

__all__ = [
    "DEVICE_LIMITS",
    "DeviceLimits",
    "LUT_LOWER_FRACTION",
    "SweepPoint",
    "analyze_point",
    "bram_blocks",
    "core_weight_memories",
    "cache_key",
    "memories",
    "pareto_front",
    "predict_resources",
    "spram_blocks",
    "synthesize_point",
    "synthesis_tools",
]


@dataclass(frozen=True)
class DeviceLimits:
    """What a device holds, for pruning before synthesis: ``luts`` LUT4 (iCE40: logic cells),
    ``bram`` block RAMs of ``bram_bits`` bits in the ``bram_shapes`` (depth, width) they can
    take, ``lutram_bits_per_lut`` bits of memory one LUT4 can hold as distributed RAM (0: the
    device has none, a memory in logic takes a flip-flop per bit), ``fmax_ceiling_mhz``,
    a clock no design of this toolkit reaches on the device (latency lower bounds use it), and
    ``spram`` single-port RAM blocks of :data:`SPRAM_BITS` bits (iCE40UP5K SB_SPRAM256KA; 0:
    the device has none, ``weight_memory="spram"`` is refused for it)."""

    luts: int
    ffs: int
    bram: int
    bram_bits: int
    bram_shapes: tuple
    lutram_bits_per_lut: int
    fmax_ceiling_mhz: float
    spram: int = 0


_ICE40_SHAPES = ((256, 16), (512, 8), (1024, 4), (2048, 2))
_ECP5_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))

#: Device capacities (Lattice data sheets: iCE40 UltraPlus family FPGA-DS-02008, ECP5 family
#: FPGA-DS-02012) and Fmax ceilings (twice the best this toolkit's chips reach in
#: BENCHMARKS.md: 103 MHz on the ECP5-85F, about 30 MHz on the iCE40UP5K).
DEVICE_LIMITS = {
    "ice40-up5k": DeviceLimits(5280, 5280, 30, 4096, _ICE40_SHAPES, 0, 100.0, spram=4),
    "ecp5-25k": DeviceLimits(24288, 24288, 56, 18432, _ECP5_SHAPES, 16, 250.0),
    "ecp5-85k": DeviceLimits(83640, 83640, 208, 18432, _ECP5_SHAPES, 16, 250.0),
}

#: Bits of one SPRAM block (SB_SPRAM256KA: 16,384 words of 16 bits).
SPRAM_BITS = 16384 * 16
#: The memory kinds a sweep can give the cores' weights (``Chip(weight_memory=...)``).
WEIGHT_MEMORY_KINDS = ("bram", "spram")
#: A core whose weights hold at most this many bits (four iCE40 block RAMs) keeps them in block
#: RAM at a point whose weight memory is ``"spram"``: it would take a whole 256-kbit SPRAM block
#: and the power-up load for what a few block RAMs hold (``docs/explore.md``, "Memory kind").
SPRAM_MIN_WEIGHT_BITS = 4 * 4096
#: Cycles of one debug-port weight write of the SPRAM load (its round trip through the ingress:
#: 803,598 cycles for the 100,352 writes of the 784-128-10's hidden core, measured in RTL by
#: ``benchmarks/bench_up5k_spram.py``): the load-time estimate is this times the writes.
WEIGHT_LOAD_CYCLES_PER_WRITE = 8

#: ``(depth, bits)``: a memory at most this deep, or with at most this many bits, is left in
#: logic by Yosys 0.5x-0.7x (flip-flops or LUT RAM), not block RAM, so the prediction counts no
#: block for it. From Yosys' ``memory_libmap`` log of synthesized chips: on the iCE40 a 4-deep
#: memory goes to flip-flops and a 9-deep one (117 bits) to ``SB_RAM40_4K``; on ECP5 every
#: memory of the two-core test chip, up to 108 x 8 bits, goes to ``TRELLIS_DPR16X4`` LUT RAM.
LOGIC_MEMORY = {"ice40": (4, 0), "ecp5": (16, 1024)}

#: Pruning uses this fraction of the LUT4 prediction as the lower bound (every chip of
#: :data:`~neurohw.flows.lut_model.LUT_MEASURED` is at least 0.88 of its prediction; a chip
#: whose cores differ much from those may be further off): the report lists any synthesized
#: point below its bound.
LUT_LOWER_FRACTION = 0.5
#: The analytic cycle model is within 4.3 % of the RTL (``TimingModel``): the latency lower
#: bound takes 10 % off.
CYCLE_LOWER_FRACTION = 0.9


@dataclass(frozen=True)
class SweepPoint:
    """One configuration: ``weight_bits`` (``None``: the network file's own weights),
    ``lanes`` of every population's cores but those of ``lanes_of`` (``(population, lanes)``
    pairs, sorted by population, none equal to ``lanes``), ``max_neurons`` per core,
    ``topology`` and ``weight_memory`` (``"bram"``, or ``"spram"``: the largest weight
    memories in SPRAM, :func:`core_weight_memories`)."""

    weight_bits: int | None
    lanes: int
    max_neurons: int
    topology: str
    weight_memory: str = "bram"
    lanes_of: tuple = ()

    def __post_init__(self):
        # From JSON the pairs come back as lists; one spelling keeps points equal and hashable.
        pairs = tuple(sorted((str(pop), int(n)) for pop, n in self.lanes_of if n != self.lanes))
        object.__setattr__(self, "lanes_of", pairs)

    @property
    def label(self) -> str:
        width = "wN" if self.weight_bits is None else f"w{self.weight_bits}"
        lanes = "".join(f"-{pop}={n}" for pop, n in self.lanes_of)
        memory = "" if self.weight_memory == "bram" else f"-{self.weight_memory}"
        return f"{width}-l{self.lanes}{lanes}-n{self.max_neurons}-{self.topology}{memory}"

    def mapping_lanes(self, network):
        """``map_network``'s ``lanes`` for ``network``: the int, or with ``lanes_of`` the
        lanes of every population."""
        if not self.lanes_of:
            return self.lanes
        return {name: dict(self.lanes_of).get(name, self.lanes) for name in network.populations}


def sweep_points(
    weight_bits, lanes, max_neurons, topologies, weight_memories=("bram",), lanes_of=None
) -> list[SweepPoint]:
    """The cross product of the axes, in a fixed order; ``lanes_of`` (``{population: [lanes,
    ...]}``) adds one axis per population named. A point whose population lanes equal its
    ``lanes`` is the point without them, listed once."""
    named = sorted((lanes_of or {}).items())
    per_population = [[(pop, n) for n in choices] for pop, choices in named]
    points = []
    for w, lane, n, t, m, *pairs in itertools.product(
        weight_bits, lanes, max_neurons, topologies, weight_memories, *per_population
    ):
        point = SweepPoint(w, lane, n, t, m, tuple(pairs))
        if point not in points:
            points.append(point)
    return points


def _weight_bits(core_plan) -> int:
    return int(core_plan.weights.size) * core_plan.weight_width


def _core_spram_blocks(plan, core_plan) -> int:
    """SPRAM blocks of one core's packed weights: per channel, one memory per group of
    ``lanes_per_weight_word`` lanes, each in banks of 16,384 words; a bank takes one block per
    16 bits of its word, each weight rounded up to whole 4-bit write-mask nibbles (Yosys keeps
    a 2-bit write granularity by spreading the word over more blocks: 8 weights of 2 bits take
    2 blocks per bank, measured on the 784-128-10 at lanes 8, docs/system.md)."""
    from ..hw.system import core_config

    config = core_config(plan, core_plan, weight_memory="spram")
    group = config.lanes_per_weight_word
    nibble_bits = 4 * math.ceil(config.weight_width / 4)
    blocks_per_bank = math.ceil(group * nibble_bits / 16)
    memories = config.channels * math.ceil(config.lanes / group)
    return memories * config.n_banks * blocks_per_bank


def core_weight_memories(plan, kind: str, *, spram_blocks: int) -> tuple:
    """Each core's weight memory at a point whose weight memory is ``kind``: ``"bram"``,
    every core in block RAM; ``"spram"``, the cores that can keep their weights in SPRAM
    (dense, at most 16-bit weights, no STDP) and hold more than
    :data:`SPRAM_MIN_WEIGHT_BITS` of them, largest first, as long as the device's
    ``spram_blocks`` hold them; the others in block RAM (the 784-128-10: hidden core in
    SPRAM, output core in block RAM, as in the benchmarks)."""
    from ..hw.system import check_weight_memory

    kinds = ["bram"] * plan.n_cores
    if kind == "bram":
        return tuple(kinds)
    free = spram_blocks
    for core in sorted(plan.cores, key=lambda c: (-_weight_bits(c), c.index)):
        if core.conv is not None or _weight_bits(core) <= SPRAM_MIN_WEIGHT_BITS:
            continue
        trial = [*kinds]
        trial[core.index] = "spram"
        try:
            check_weight_memory(plan, tuple(trial))
        except ValueError:
            continue
        blocks = _core_spram_blocks(plan, core)
        if blocks <= free:
            kinds, free = trial, free - blocks
    return tuple(kinds)


def spram_blocks(plan, weight_memories) -> dict:
    """SPRAM of the cores whose ``weight_memories`` entry is ``"spram"``: ``spram``, the
    blocks the packed layout takes (:func:`_core_spram_blocks`), and ``spram_lower``, the
    blocks their weight bits need at least."""
    cores = [c for c, kind in zip(plan.cores, weight_memories) if kind == "spram"]
    return {
        "spram": sum(_core_spram_blocks(plan, c) for c in cores),
        "spram_lower": math.ceil(sum(_weight_bits(c) for c in cores) / SPRAM_BITS),
    }


# -- resource model -----------------------------------------------------------------------------

_MEMORY = re.compile(
    r"^(\s*\(\* ram_style = \"huge\" \*\)\n)?\s*reg (?:signed )?\[(\d+):0\] (\S+) \[(\d+):0\];",
    re.MULTILINE,
)


def memories(verilog: str) -> list[tuple[str, int, int]]:
    """``(name, width, depth)`` of every memory array of a chip's Verilog but the SPRAM weight
    banks (marked ``ram_style = "huge"``, :func:`neurohw.hw.spram.is_spram`; counted by
    :func:`spram_blocks`)."""
    return [
        (name, int(w) + 1, int(d) + 1) for huge, w, name, d in _MEMORY.findall(verilog) if not huge
    ]


def bram_blocks(width: int, depth: int, shapes) -> int:
    """Fewest blocks of any one of ``shapes`` ``(depth, width)`` that hold a ``width`` x
    ``depth`` memory (Yosys maps a memory onto one shape, tiled in width and depth)."""
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in shapes)


def predict_resources(
    verilog: str, *, device: str, cores: int, lanes: int, lane_weight_bits: int, debug: bool
) -> dict:
    """Predicted and lower-bound resources of a chip on ``device``: ``bram`` (every memory
    that :data:`LOGIC_MEMORY` does not leave in logic, in its fewest blocks), ``bram_lower``
    (sound: the memory bits that cannot be in the device's logic need at least that many
    blocks), ``luts`` (:data:`~neurohw.flows.lut_model.LUT_MODEL`), ``luts_lower``
    (:data:`LUT_LOWER_FRACTION` of it) and ``memory_bits``."""
    from .synth import DEVICES

    family = DEVICES[device].family
    limits = DEVICE_LIMITS[device]
    mems = memories(verilog)
    bram = sum(
        bram_blocks(w, d, limits.bram_shapes)
        for _, w, d in mems
        if d > LOGIC_MEMORY[family][0] and w * d > LOGIC_MEMORY[family][1]
    )
    bits = sum(w * d for _, w, d in mems)
    in_logic = (
        limits.luts * limits.lutram_bits_per_lut if limits.lutram_bits_per_lut else limits.ffs
    )
    bram_lower = max(0, math.ceil((bits - in_logic) / limits.bram_bits))
    luts = predict_luts(
        family, cores=cores, lanes=lanes, lane_weight_bits=lane_weight_bits, debug=debug
    )
    return {
        "bram": int(bram),
        "bram_lower": int(bram_lower),
        "luts": int(round(luts)),
        "luts_lower": int(math.floor(LUT_LOWER_FRACTION * luts)),
        "memory_bits": int(bits),
        "memories": len(mems),
    }


# -- stage 1: analysis -----------------------------------------------------------------------------


def _plan(network, point: SweepPoint):
    from ..network.mapping import CoreCapacity, map_network

    capacity = CoreCapacity(max_neurons=point.max_neurons)
    # Dense only: the LUT model (LUT_MODEL) is fitted to neuron cores; a convolution core's
    # logic does not scale with its lanes and neurons as theirs does (docs/explore.md).
    return map_network(
        network,
        lanes=point.mapping_lanes(network),
        capacity=capacity,
        topology=point.topology,
        conv="dense",
    )


def _weight_memories(plan, point: SweepPoint) -> tuple:
    return core_weight_memories(plan, point.weight_memory, spram_blocks=_SPRAM_BLOCKS)


#: The SPRAM blocks :func:`core_weight_memories` may fill: those of the one device that has
#: SPRAM (the CLI refuses ``spram`` for the others), so that a chip does not depend on the
#: device it is synthesized for.
_SPRAM_BLOCKS = max(limits.spram for limits in DEVICE_LIMITS.values())


def _chip(network, point: SweepPoint, debug: bool):
    from ..chip import Chip

    plan = _plan(network, point)
    kinds = _weight_memories(plan, point)
    # A chip without SPRAM cores is built as before the axis existed (same Verilog).
    return Chip(plan, debug=debug, **({"weight_memory": kinds} if "spram" in kinds else {}))


def synthesis_tools(device: str) -> dict:
    """The versions of the tools that synthesize for ``device`` (Yosys and the device's
    nextpnr), read in this process: the tool part of :func:`cache_key`. Only these: a
    simulator, a compiler cache or a package that synthesis does not run would make the key
    depend on the process's environment (the Verilog's hash covers Amaranth). A tool whose
    version cannot be read is an :class:`ExploreError`, never a key."""
    from ..toolchain import synthesis_tool_version
    from .synth import DEVICES

    spec = DEVICES[device]
    tools = {}
    for variable in ("YOSYS", spec.nextpnr):
        version = synthesis_tool_version(variable)
        if version.startswith("unknown"):
            raise ExploreError(
                f"cannot read the version of synthesis tool {variable} ({version}); the "
                f"synthesis cache keys need it"
            )
        tools[variable.lower().replace("_", "-")] = version
    return tools


def cache_key(design_sha256: str, device: str, seed: int, tools: dict) -> str:
    """The configuration hash of one synthesis: the design's Verilog hash with the device's
    flow, clock, seed (:func:`neurohw.flows.design_hash.synthesis_options`) and ``tools``
    (:func:`synthesis_tools`, read once per sweep on the workers)."""
    from .design_hash import measured_sha256, synthesis_options

    options = synthesis_options(device, seed=seed)
    options["tools"] = dict(tools)
    return measured_sha256(design_sha256, options)


def analyze_point(
    network,
    point: SweepPoint,
    *,
    device: str,
    inputs,
    debug: bool,
    seed: int,
    tools: dict,
    clock_mhz: float | None = None,
):
    """Stage 1 of one point (a Dask task): map, Verilog, design hash, cache key (with
    ``tools``, :func:`synthesis_tools`), predicted resources and the analytic cycles on
    ``inputs``. The latency lower bound takes the chip at ``clock_mhz`` (a board's clock),
    or at the device's Fmax ceiling. Returns plain data; a point the mapper refuses is
    returned with ``error``."""
    from ..network.mapping import MappingError
    from .report import estimate_cycles

    record = {"point": asdict(point), "label": point.label}
    try:
        chip = _chip(network, point, debug)
    except MappingError as error:
        record["error"] = f"mapping: {error}"
        return record
    verilog = chip.verilog()
    design = hashlib.sha256(verilog.encode()).hexdigest()
    plan = chip.plan
    estimate = estimate_cycles(plan, inputs)
    limits = DEVICE_LIMITS[device]
    kinds = chip.weight_memory
    if point.weight_memory != "bram":
        writes = len(chip.weight_load_commands())
        record.update(
            weight_memories=list(kinds),
            spram_cores=kinds.count("spram"),
            weight_load_writes=writes,
            weight_load_cycles=WEIGHT_LOAD_CYCLES_PER_WRITE * writes,
        )
    record.update(
        design_sha256=design,
        cache_key=cache_key(design, device, seed, tools),
        cores=plan.n_cores,
        lanes_total=sum(c.lanes for c in plan.cores),
        topology_built=type(plan.topology).__name__,
        cycles_per_inference=estimate.cycles_per_inference,
        latency_cycles=estimate.latency_cycles,
        predicted=predict_resources(
            verilog,
            device=device,
            cores=plan.n_cores,
            lanes=sum(c.lanes for c in plan.cores),
            lane_weight_bits=sum(c.lanes * c.weight_width for c in plan.cores),
            debug=debug,
        ),
    )
    if point.weight_memory != "bram":
        record["predicted"].update(spram_blocks(plan, kinds))
    record["predicted"]["latency_us_lower"] = (
        CYCLE_LOWER_FRACTION * estimate.latency_cycles / (clock_mhz or limits.fmax_ceiling_mhz)
    )
    return record


# -- stage 2: pruning -----------------------------------------------------------------------------


def prune_reason(record: dict, *, device: str, budgets: dict) -> str | None:
    """Why ``record`` cannot be on the front (a lower bound over the device or a budget), or
    ``None``. ``budgets``: ``max_luts``, ``max_brams``, ``max_latency_us`` (each may be
    ``None``)."""
    limits = DEVICE_LIMITS[device]
    predicted = record["predicted"]
    if record.get("spram_cores") == 0:
        return (
            f"weight memory {record['point']['weight_memory']}: no core's weights go to SPRAM "
            f"(none holds more than {SPRAM_MIN_WEIGHT_BITS:,} weight bits in "
            f"{_SPRAM_BLOCKS} SPRAM blocks or fewer): the chip of the bram point"
        )
    if predicted.get("spram_lower", 0) > limits.spram:
        return f"SPRAM lower bound {predicted['spram_lower']} > {limits.spram}"
    luts = min(limits.luts, budgets.get("max_luts") or limits.luts)
    brams = (
        limits.bram if budgets.get("max_brams") is None else min(limits.bram, budgets["max_brams"])
    )
    if predicted["bram_lower"] > brams:
        return f"block RAM lower bound {predicted['bram_lower']} > {brams}"
    if predicted["luts_lower"] > luts:
        return f"LUT4 lower bound {predicted['luts_lower']} > {luts}"
    max_latency = budgets.get("max_latency_us")
    if max_latency is not None:
        lower = predicted["latency_us_lower"]
        if lower > max_latency:
            return f"latency lower bound {lower:.3g} us > {max_latency:g} us"
    return None


# -- stage 3: synthesis ---------------------------------------------------------------------------


def synthesize_point(network, point: SweepPoint, *, device: str, debug: bool, seed: int) -> dict:
    """Stage 3 of one point (a Dask task): synthesize on ``device`` in a temporary folder.
    Returns ``{"synth": SynthReport.to_dict()}``, or ``{"error", "log"}`` (the tool's log
    tail) when it does not fit or a tool fails; any other exception is returned the same way
    with its traceback, so that the sweep goes on."""
    from .synth import SynthesisError

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"neurohw-explore-{point.label}-") as scratch:
        try:
            chip = _chip(network, point, debug)
            report = chip.synthesize(device, workdir=Path(scratch) / point.label, seed=seed)
        except SynthesisError as error:
            return synthesis_failure(error, seconds=time.perf_counter() - start)
        except Exception as error:  # noqa: BLE001 - a failed point is reported, not fatal
            return {
                "error": f"{type(error).__name__}: {error}",
                "log": traceback.format_exc(),
                "seconds": time.perf_counter() - start,
            }
        result = report.to_dict()
        result.pop("workdir", None)
        return {"synth": result, "seconds": time.perf_counter() - start}


#: The start of nextpnr's error when its placer finds no legal placement: like a resource over
#: capacity, a result of the design, the tools and the seed (nextpnr is deterministic), so
#: cached; a tool killed or crashed mid-run writes no such line and is tried again.
NO_PLACEMENT_ERROR = "Unable to find legal placement"


def synthesis_failure(error, *, seconds: float) -> dict:
    """The result of a synthesis that raised ``error`` (a ``SynthesisError``): ``error``,
    ``overflow`` (resources over capacity), ``no_placement`` (nextpnr's error line, when its
    placer found no legal placement), the log's tail and ``seconds``. With ``overflow`` or
    ``no_placement`` the point does not fit, a cached result; otherwise the tool failed."""
    from .synth import parse_nextpnr_failure

    text = ""
    if error.log is not None and Path(error.log).is_file():
        text = Path(error.log).read_text(errors="replace")
    result = {
        "error": str(error),
        "overflow": [list(o) for o in error.overflow],
        "log": _tail(text),
        "seconds": seconds,
    }
    unplaced = [e for e in parse_nextpnr_failure(text)[1] if e.startswith(NO_PLACEMENT_ERROR)]
    if unplaced:
        result["no_placement"] = unplaced[0]
    return result


def does_not_fit(result: dict) -> bool:
    """Whether a synthesis ``result`` says the point does not fit (over capacity, or no
    legal placement): a result of the tools, cached like a synthesized one."""
    return bool(result.get("overflow") or result.get("no_placement"))


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


# -- front -------------------------------------------------------------------------------------


#: The front's objectives: (key, +1 to minimize / -1 to maximize).
OBJECTIVES = (
    ("luts", 1),
    ("bram", 1),
    ("spram", 1),
    ("latency_us", 1),
    ("accuracy", -1),
    ("energy_uj", 1),
)


def pareto_front(rows: list[dict]) -> list[dict]:
    """The rows no other row dominates (at least as good on every objective of
    :data:`OBJECTIVES` that both have, better on one)."""

    keys = [key for key, _ in OBJECTIVES if all(r.get(key) is not None for r in rows)]
    signs = dict(OBJECTIVES)

    def vec(row):
        return [signs[k] * row[k] for k in keys]

    front = []
    for row in rows:
        v = vec(row)
        dominated = any(
            all(a <= b for a, b in zip(vec(o), v)) and any(a < b for a, b in zip(vec(o), v))
            for o in rows
            if o is not row
        )
        if not dominated:
            front.append(row)
    return front


def error_stats(pairs) -> dict | None:
    """Relative error statistics of ``(predicted, measured)`` pairs: mean absolute, worst
    (signed), and the lowest ``measured / predicted``."""
    pairs = [(p, m) for p, m in pairs if p is not None and m is not None and m > 0]
    if not pairs:
        return None
    errors = [(p - m) / m for p, m in pairs]
    return {
        "points": len(pairs),
        "mean_abs_error": float(np.mean(np.abs(errors))),
        "worst_error": float(max(errors, key=abs)),
        "min_measured_over_predicted": float(min(m / p for p, m in pairs if p > 0))
        if any(p > 0 for p, _ in pairs)
        else None,
    }


@dataclass
class CacheFolder:
    """Synthesis results by configuration hash: ``<folder>/<key>.json``, written whole (a
    temporary file renamed into place), so a crash leaves no half entry."""

    folder: Path
    hits: list = field(default_factory=list)

    def get(self, key: str):
        path = self.folder / f"{key}.json"
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(value, sort_keys=True))
        partial.replace(path)


# -- the sweep on Dask ---------------------------------------------------------------------------


class ExploreError(ValueError):
    """An explore setting that cannot be used (the message names it)."""


def dask_client(scheduler: str | None, workers: int):
    """A ``distributed.Client`` of the cluster at ``scheduler``, or of a new ``LocalCluster``
    of ``workers`` single-threaded worker processes. Dask is imported here, so that the rest
    of neurohw does not need it."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ExploreError(
            "neurohw explore runs its sweep on Dask distributed, which is not installed: "
            "pip install 'dask[distributed]'"
        ) from None
    if scheduler is not None:
        return Client(scheduler, timeout="30s")
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster)


def _gather(client, futures: dict, what: str, progress, on_result=None) -> dict:
    """Results of ``{future: name}`` as they finish, one progress line each; a task that
    raised (a worker that died included) becomes ``{"error", "log"}``. ``on_result(name,
    result)`` runs on each result as it arrives, before the next is awaited (the synthesis
    cache writes: a client killed later keeps what finished)."""
    from distributed import as_completed

    results = {}
    total = len(futures)
    for done, future in enumerate(as_completed(list(futures)), start=1):
        name = futures[future]
        try:
            results[name] = future.result()
        except Exception as error:  # noqa: BLE001 - reported as the point's failure
            results[name] = {
                "error": f"{type(error).__name__}: {error}",
                "log": "".join(traceback.format_exception(error)),
            }
        if on_result is not None:
            on_result(name, results[name])
        status = "failed" if "error" in results[name] else "done"
        progress(f"[{what} {done}/{total}] {name}: {status}")
    return results


def prepare_tools(client, device: str) -> dict:
    """Read the synthesis tools' versions (:func:`synthesis_tools`) on each worker, one worker
    after the other, before any point runs, and return them: the tool part of every cache key
    of the sweep. One worker at a time: a YoWASP tool compiles its WebAssembly into a per-user
    cache on its first run on a machine, and two processes doing that at once can crash one of
    them (Yosys killed by SIGBUS, exit status -7, seen with two fresh workers); afterwards
    every run finds the cache. Workers that report different versions are refused: a point's
    key is computed by one worker and its synthesis may run on another."""
    found = {}
    for address in client.scheduler_info()["workers"]:
        found[address] = client.submit(
            synthesis_tools,
            device,
            workers=[address],
            pure=False,
            key=f"prepare-tools-{address}-{time.time_ns()}",
        ).result()
    versions = list(found.values())
    if any(v != versions[0] for v in versions):
        listing = "; ".join(f"{address}: {v}" for address, v in found.items())
        raise ExploreError(
            f"the workers have different synthesis tools ({listing}): install the same "
            f"versions on every worker"
        )
    return versions[0]


def run_sweep(
    networks: dict,
    points: list,
    *,
    device: str,
    inputs,
    budgets: dict,
    cache: Path,
    client,
    debug: bool,
    seed: int,
    prune: bool = True,
    clock_mhz: float | None = None,
    progress=print,
) -> list[dict]:
    """Analyze, prune and synthesize ``points`` (``networks``: the integer network of each
    weight width) on ``client``; return one record per point with its ``status``: ``pruned``,
    ``failed``, ``synthesized`` (``cached`` says whether the synthesis came from ``cache``).
    With ``prune=False`` every point is synthesized and ``would_prune`` keeps the reason (the
    exhaustive check of the pruning)."""
    cache = CacheFolder(Path(cache))
    tools = prepare_tools(client, device)
    network_futures = {w: client.scatter(net, broadcast=True) for w, net in networks.items()}
    inputs_future = client.scatter(inputs, broadcast=True)
    futures = {
        client.submit(
            analyze_point,
            network_futures[p.weight_bits],
            p,
            device=device,
            inputs=inputs_future,
            debug=debug,
            seed=seed,
            tools=tools,
            clock_mhz=clock_mhz,
            key=f"analyze-{p.label}-{time.time_ns()}",
        ): p.label
        for p in points
    }
    analyses = _gather(client, futures, "analysis", progress)
    records = []
    to_synthesize = {}
    for p in points:
        record = analyses[p.label]
        record.setdefault("label", p.label)
        record.setdefault("point", asdict(p))
        records.append(record)
        if "error" in record:
            record["status"] = "failed"
            record["stage"] = "analysis"
            continue
        reason = prune_reason(record, device=device, budgets=budgets)
        if reason is not None:
            if prune:
                record["status"] = "pruned"
                record["pruned"] = reason
                continue
            record["would_prune"] = reason
        cached = cache.get(record["cache_key"])
        if cached is not None:
            record.update(cached, cached=True)
            continue
        to_synthesize[p.label] = (p, record)
    futures = {
        client.submit(
            synthesize_point,
            network_futures[p.weight_bits],
            p,
            device=device,
            debug=debug,
            seed=seed,
            key=f"synthesize-{p.label}-{time.time_ns()}",
        ): label
        for label, (p, _) in to_synthesize.items()
    }
    progress(
        f"{len(points)} points: {sum(r.get('status') == 'pruned' for r in records)} pruned, "
        f"{sum('cached' in r for r in records)} cached, {len(futures)} to synthesize"
    )

    def keep(label, result):
        # Each result into the cache as it arrives, so that a client killed mid-sweep loses
        # no finished point. A point that does not fit (over capacity, no legal placement) is
        # a result (cached); a tool or worker failure is not, so that a rerun tries it again.
        if "synth" in result or does_not_fit(result):
            cache.put(to_synthesize[label][1]["cache_key"], result)

    synthesized = _gather(client, futures, "synthesis", progress, keep) if futures else {}
    for label, result in synthesized.items():
        to_synthesize[label][1].update(result, cached=False)
    for record in records:
        if "status" in record:
            continue
        if "synth" in record:
            record["status"] = "synthesized"
        elif does_not_fit(record):
            record["status"] = "does not fit"
        else:
            record["status"] = "failed"
            record["stage"] = "synthesis"
    return records


# -- accuracy per weight width --------------------------------------------------------------------


def networks_by_width(source, weight_bits, calibration=None) -> dict:
    """``{width: (integer network, quantization report)}``: a NIR source quantized once per
    width; a network file as it is (``{None: (network, None)}``)."""
    from ..network.quantize import quantize

    if source.float_net is None:
        return {None: (source.network, None)}
    return {
        w: quantize(source.float_net, weight_width=w, calibration=calibration) for w in weight_bits
    }


def fixed_accuracy(network, inputs: dict, labels, *, output: str | None = None) -> float:
    """Accuracy of the fixed-point model (:func:`neurohw.network.simulate`) on ``inputs``:
    the output population's most-spiking neuron (ties to the lowest index) against
    ``labels``."""
    from ..network.system import simulate

    output = output or network.outputs[0]
    trace = simulate(network, inputs)
    predictions = trace.spikes[output].sum(axis=0).argmax(axis=1)
    return float(np.mean(predictions == np.asarray(labels)))


# -- the whole exploration -----------------------------------------------------------------------


def _meets(row: dict, budgets: dict) -> list[str]:
    over = []
    if budgets.get("max_luts") is not None and row["luts"] > budgets["max_luts"]:
        over.append(f"LUT4 {row['luts']} > {budgets['max_luts']}")
    if budgets.get("max_brams") is not None and row["bram"] > budgets["max_brams"]:
        over.append(f"block RAM {row['bram']} > {budgets['max_brams']}")
    limit = budgets.get("max_latency_us")
    if limit is not None and (row["latency_us"] is None or row["latency_us"] > limit):
        over.append(f"latency {row['latency_us']} us > {limit:g} us")
    return over


def choose(front: list[dict]) -> dict | None:
    """The point written out: the most accurate on the front, then the fewest LUT4, then the
    lowest latency (``docs/explore.md``, "The chosen point")."""
    if not front:
        return None
    return min(
        front,
        key=lambda r: (-(r.get("accuracy") or 0.0), r["luts"], r["latency_us"] or math.inf),
    )


def finish(records, *, networks, device, inputs, budgets, accuracy, clock_mhz=None) -> dict:
    """Fill each synthesized record's front columns (LUT4, block RAM, Fmax, latency, accuracy,
    energy) and budget verdict; return the front, the chosen point, the prediction errors and
    the pruning check. With ``clock_mhz`` (a board's clock, which the chip runs at) the
    latency and energy are at that clock, and a point whose Fmax is below it is over budget;
    otherwise they are at the synthesized Fmax."""
    from .energy import estimate_energy

    for record in records:
        if record.get("status") != "synthesized":
            continue
        synth = record["synth"]
        achieved = [clock["achieved"] for clock in synth["fmax"].values()]
        fmax = min(achieved) if achieved else None
        width = record["point"]["weight_bits"]
        clock = clock_mhz or fmax
        record.update(
            luts=synth["luts"],
            bram=synth["bram"],
            spram=synth.get("spram", 0),
            ffs=synth["ffs"],
            fmax_mhz=fmax,
            latency_us=record["latency_cycles"] / clock if clock else None,
            accuracy=accuracy.get(width),
        )
        network = networks[width][0]
        point = SweepPoint(**record["point"])
        plan = _plan(network, point)
        energy = estimate_energy(
            plan,
            inputs,
            device,
            fmax_mhz=clock,
            flip_flops=synth["ffs"],
            weight_memory=_weight_memories(plan, point),
        )
        record["energy_uj"] = energy.total_uj
        over = _meets(record, budgets)
        if clock_mhz is not None and (fmax is None or fmax < clock_mhz):
            over.append(f"Fmax {fmax or 0:.1f} MHz < the board clock {clock_mhz:g} MHz")
        if over:
            record["status"] = "over budget"
            record["over_budget"] = over
    feasible = [r for r in records if r.get("status") == "synthesized"]
    front = pareto_front(feasible)
    for record in front:
        record["on_front"] = True
    synthesized = [r for r in records if "synth" in r]
    errors = {
        "luts": error_stats((r["predicted"]["luts"], r["synth"]["luts"]) for r in synthesized),
        "bram": error_stats((r["predicted"]["bram"], r["synth"]["bram"]) for r in synthesized),
    }
    with_spram = [r for r in synthesized if "spram" in r["predicted"]]
    if with_spram:
        errors["spram"] = error_stats(
            (r["predicted"]["spram"], r["synth"].get("spram", 0)) for r in with_spram
        )
    lower_bound_violations = [
        r["label"]
        for r in synthesized
        if r["synth"]["luts"] < r["predicted"]["luts_lower"]
        or r["synth"]["bram"] < r["predicted"]["bram_lower"]
        or r["synth"].get("spram", 0) < r["predicted"].get("spram_lower", 0)
        or (r.get("latency_us") or math.inf) < r["predicted"]["latency_us_lower"]
    ]
    pruning_check = [r["label"] for r in front if "would_prune" in r]
    return {
        "front": [r["label"] for r in front],
        "chosen": choose(front),
        "prediction_errors": errors,
        "lower_bound_violations": lower_bound_violations,
        "front_points_pruning_would_remove": pruning_check,
    }


COLUMNS = (
    ("point", "label"),
    ("status", "status"),
    ("cores", "cores"),
    ("LUT4 (pred.)", "predicted_luts"),
    ("LUT4", "luts"),
    ("BRAM (pred.)", "predicted_bram"),
    ("BRAM", "bram"),
    ("SPRAM (pred.)", "predicted_spram"),
    ("SPRAM", "spram"),
    ("Fmax MHz", "fmax_mhz"),
    ("cycles", "latency_cycles"),
    ("latency us", "latency_us"),
    ("accuracy", "accuracy"),
    ("energy uJ", "energy_uj"),
    ("SPRAM load cycles", "weight_load_cycles"),
)


def _cell(record, key):
    if key.startswith("predicted_"):
        value = record.get("predicted", {}).get(key[len("predicted_") :])
    else:
        value = record.get(key)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown(summary: dict) -> str:
    """The report: settings, the front, every point, prediction errors, failures' logs."""
    records = summary["points"]
    lines = [
        f"# neurohw explore: {summary['source']} on {summary['device']}",
        "",
        f"{len(records)} points ({summary['counts']}); sweep wall time "
        f"{summary['wall_time_s']:.1f} s on {summary['cluster']}. Budgets: "
        + (
            ", ".join(f"{k} {v}" for k, v in summary["budgets"].items() if v is not None)
            or "the device's"
        )
        + ".",
        "",
    ]
    board = summary.get("board")
    if board:
        pins = ", ".join(f"{pin['port']} {pin['pin']}" for pin in board["pins"])
        lines += [
            f"Board: {board['board']} ({board['device']}); the chip runs at the board's "
            f"{board['clock_mhz']:g} MHz clock (latency and energy at it; a point whose Fmax is "
            f"lower is over budget); host link pins: {pins}.",
            "",
        ]
    lines += [
        "## Pareto front",
        "",
    ]
    header = "| " + " | ".join(name for name, _ in COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    front = [r for r in records if r.get("on_front")]
    lines += [header, rule] if front else ["No synthesized point fits the device and budgets."]
    for r in front:
        lines.append("| " + " | ".join(_cell(r, key) for _, key in COLUMNS) + " |")
    chosen = summary.get("chosen")
    if chosen:
        lines += ["", f"Chosen: **{chosen}** (written to `chosen/`)."]
    lines += ["", "## All points", "", header, rule]
    for r in records:
        lines.append("| " + " | ".join(_cell(r, key) for _, key in COLUMNS) + " |")
    lines += ["", "## Analytic models against synthesis", ""]
    for what, stats in summary["prediction_errors"].items():
        if stats is None:
            lines.append(f"- {what}: no synthesized point")
        else:
            lines.append(
                f"- {what}: {stats['points']} points, mean |error| "
                f"{100 * stats['mean_abs_error']:.1f} %, worst {100 * stats['worst_error']:+.1f} %"
            )
    lines.append(
        "- lower bounds under the synthesized value: "
        + (", ".join(summary["lower_bound_violations"]) or "none")
    )
    for r in records:
        if r.get("status") == "pruned":
            lines.append(f"- pruned {r['label']}: {r['pruned']}")
        elif "would_prune" in r:
            lines.append(f"- pruning would remove {r['label']} (--no-prune): {r['would_prune']}")
    if any("would_prune" in r for r in records):
        lines.append(
            "- front points that pruning would remove: "
            + (", ".join(summary["front_points_pruning_would_remove"]) or "none")
        )
    failed = [r for r in records if r.get("status") in ("failed", "does not fit")]
    if failed:
        lines += ["", "## Failed points", ""]
        for r in failed:
            lines += [f"### {r['label']}", "", f"{r.get('error', '')}", ""]
            if r.get("log"):
                lines += ["```", r["log"], "```", ""]
    return "\n".join(lines) + "\n"


def plot_front(records, path, *, title: str, chosen: str | None = None) -> None:
    """LUT4 against latency of every synthesized point, the front and the chosen point
    marked."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.0, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    rows = [r for r in records if r.get("latency_us") is not None]
    for status, marker in (("synthesized", "o"), ("over budget", "x")):
        others = [r for r in rows if r["status"] == status and not r.get("on_front")]
        if others:
            axes.scatter(
                [r["latency_us"] for r in others],
                [r["luts"] for r in others],
                marker=marker,
                color="0.6",
                label=status,
            )
    front = [r for r in rows if r.get("on_front")]
    if front:
        axes.scatter(
            [r["latency_us"] for r in front],
            [r["luts"] for r in front],
            color="C3",
            label="Pareto front",
        )
        for r in front:
            axes.annotate(r["label"], (r["latency_us"], r["luts"]), fontsize="x-small")
    picked = [r for r in rows if r["label"] == chosen]
    if picked:
        axes.scatter(
            [picked[0]["latency_us"]],
            [picked[0]["luts"]],
            s=200,
            facecolors="none",
            edgecolors="k",
            label="chosen",
        )
    axes.set_xlabel("latency per inference (us)")
    axes.set_ylabel("LUT4")
    axes.set_title(title, fontsize="medium")
    if rows:
        axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)


#: nextpnr's placement seed for every point (the flow's default).
SYNTH_SEED = 1


def explore(
    source,
    outdir,
    *,
    device: str,
    points: list,
    inputs: dict,
    labels,
    budgets: dict,
    cache,
    scheduler: str | None,
    workers: int,
    debug: bool,
    seed: int,
    prune: bool = True,
    verify_samples: int = 0,
    simulators=(),
    name: str = "",
    calibration: dict | None = None,
    board: str | None = None,
    progress=print,
) -> dict:
    """The whole exploration into ``outdir``: ``explore.json``, ``explore.md``,
    ``explore.png`` and ``chosen/`` (``system.v``, ``network.npz``, ``chip.json``; with
    ``verify_samples``, the chosen chip verified in RTL on each of ``simulators``, its
    build folders in ``sim/``). A NIR ``source`` is quantized once per weight width, with
    ``calibration`` (float inputs) choosing the scales. With ``board`` (its device is
    ``device``; :func:`board_description`) the chip runs at the board's clock and
    ``chip.json`` holds the board's pins and the command that builds the chosen point's
    bitstream (:func:`build_chosen`). Returns the summary written to ``explore.json``."""
    from ..io import write_json

    start = time.perf_counter()
    outdir = Path(outdir)
    on_board = None if board is None else board_description(board)
    clock_mhz = None if on_board is None else on_board["clock_mhz"]
    widths = sorted({p.weight_bits for p in points}, key=lambda w: -1 if w is None else w)
    networks = networks_by_width(source, [w for w in widths if w is not None], calibration)
    accuracy = {}
    if labels is not None:
        for width, (network, _) in networks.items():
            accuracy[width] = fixed_accuracy(network, inputs, labels)
            progress(
                f"fixed-point accuracy, {'the network' if width is None else f'{width}-bit'} "
                f"weights: {accuracy[width]:.4f} on {len(labels)} samples"
            )
    client = dask_client(scheduler, workers)
    cluster = (
        f"Dask scheduler {scheduler}"
        if scheduler
        else f"a local Dask cluster of {workers} worker process(es)"
    )
    progress(f"sweeping {len(points)} points on {cluster}")
    try:
        records = run_sweep(
            {w: net for w, (net, _) in networks.items()},
            points,
            device=device,
            inputs=inputs,
            budgets=budgets,
            cache=cache,
            client=client,
            debug=debug,
            seed=SYNTH_SEED,
            prune=prune,
            clock_mhz=clock_mhz,
            progress=progress,
        )
    finally:
        cluster_object = getattr(client, "cluster", None)
        client.close()
        if cluster_object is not None:
            cluster_object.close()
    result = finish(
        records,
        networks=networks,
        device=device,
        inputs=inputs,
        budgets=budgets,
        accuracy=accuracy,
        clock_mhz=clock_mhz,
    )
    chosen = result.pop("chosen")
    counts = {}
    for r in records:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    summary = {
        "source": name,
        "device": device,
        "board": on_board,
        "budgets": budgets,
        "cluster": cluster,
        "debug": debug,
        "seed": seed,
        "cache": str(cache),
        "accuracy": {("network" if w is None else str(w)): a for w, a in accuracy.items()},
        "counts": ", ".join(f"{n} {status}" for status, n in sorted(counts.items())),
        "points": records,
        **result,
        "chosen": chosen["label"] if chosen else None,
    }
    if chosen is not None:
        summary["chosen_chip"] = _write_chosen(
            chosen, networks, outdir / "chosen", debug=debug, device=device, board=on_board
        )
        if verify_samples:
            summary["verification"] = _verify_chosen(
                chosen, networks, inputs, verify_samples, simulators, outdir, debug, progress
            )
            measured = [
                (chosen["cycles_verified"], v["cycles_per_sample_mean"])
                for v in summary["verification"]
            ]
            summary["prediction_errors"]["cycles"] = error_stats(measured)
    summary["wall_time_s"] = time.perf_counter() - start
    write_json(outdir / "explore.json", summary)
    (outdir / "explore.md").write_text(markdown(summary))
    plot_front(
        records, outdir / "explore.png", title=f"{name} on {device}", chosen=summary["chosen"]
    )
    progress(markdown(summary).split("## All points")[0].rstrip())
    return summary


def _write_chosen(
    record, networks, folder: Path, *, debug: bool, device: str, board: dict | None = None
) -> dict:
    """The chosen point's network, Verilog and options: ``neurohw compile
    chosen/network.npz`` with the options in ``chip.json`` rebuilds the same chip (same
    ``design_sha256``). With ``board`` (:func:`board_description`), the board and the
    command that builds the chip's bitstream for it (:func:`build_chosen`)."""
    from ..io import write_json

    point = SweepPoint(**record["point"])
    network = networks[point.weight_bits][0]
    folder.mkdir(parents=True, exist_ok=True)
    network.save(folder / "network.npz")
    chip = _chip(network, point, debug)
    chip.verilog(folder / "system.v")
    description = {
        "point": record["point"],
        "device": device,
        "options": {
            "lanes": point.lanes,
            "lanes_of": dict(point.lanes_of),
            "max_neurons": point.max_neurons,
            "topology": point.topology,
            "debug": debug,
            "weight_memory": list(chip.weight_memory),
        },
        "compile_command": (
            f"neurohw compile chosen/network.npz --lanes {point.lanes} "
            + "".join(f"--lanes-of {pop}={n} " for pop, n in point.lanes_of)
            + f"--max-neurons "
            f"{point.max_neurons} --topology {point.topology} --device {device} "
            f"{'--debug' if debug else '--no-debug'} -o OUT"
        ),
        "chip": chip.description(),
    }
    if "spram" in chip.weight_memory:
        # `neurohw compile` builds block-RAM weights only: the SPRAM chip is rebuilt in Python.
        description["compile_command"] = None
        description["rebuild_command"] = (
            'python -c "from neurohw.flows.explore import chosen_chip; '
            "chosen_chip('chosen').verilog('system.v')\""
        )
        writes = len(chip.weight_load_commands())
        description["weight_load"] = {
            "writes": writes,
            "cycles_estimate": WEIGHT_LOAD_CYCLES_PER_WRITE * writes,
            "when": "once per power-up, over the debug port, before the first sample "
            "(Chip.weight_load_commands)",
        }
    if board is not None:
        description["board"] = board
        description["board_build_command"] = (
            'python -c "from neurohw.flows.explore import build_chosen; '
            "print(build_chosen('chosen').summary())\""
        )
    write_json(folder / "chip.json", description)
    return description


def _verify_chosen(record, networks, inputs, samples, simulators, outdir, debug, progress):
    """The chosen chip against the model in RTL on the first ``samples`` samples; the RTL's
    cycles per sample beside the analytic model's on the same samples."""
    from .report import estimate_cycles

    point = SweepPoint(**record["point"])
    chip = _chip(networks[point.weight_bits][0], point, debug)
    subset = {name: np.asarray(v)[:, :samples] for name, v in inputs.items()}
    record["cycles_verified"] = float(
        np.mean(estimate_cycles(chip.plan, chip.samples(subset)).cycles_per_sample)
    )
    results = []
    for simulator in simulators:
        progress(f"verifying {record['label']} on {simulator}, {samples} sample(s)")
        result = chip.verify(subset, simulator=simulator, build_dir=outdir / "sim" / simulator)
        entry = result.to_dict()
        entry.pop("output_spikes", None)
        entry.pop("activity", None)
        results.append({**entry, "passed": True})
    return results


# -- on a board ------------------------------------------------------------------------------------


def board_description(board: str) -> dict:
    """What a sweep for ``board`` uses: its ``device``, the ``clock_mhz`` the chip runs at on
    it (the board's oscillator: the board top level has no PLL) and the ``pins`` of the host
    link (:func:`neurohw.boards.board_pins`: clock, reset button, UART, two LEDs). A board
    whose FPGA has no device in :data:`DEVICE_LIMITS` is an :class:`ExploreError`."""
    from ..boards import BOARDS, board_pins, check_board

    try:
        spec = check_board(board)
    except ValueError:
        spec = None
    placed = [name for name, b in BOARDS.items() if b.device in DEVICE_LIMITS]
    if spec is None or spec.device not in DEVICE_LIMITS:
        why = "" if spec is None else f" (its FPGA, {spec.device}, is not one explore places)"
        raise ExploreError(
            f"--board {board!r}: must be one of {', '.join(repr(name) for name in placed)}{why}"
        )
    pins = board_pins(board)
    [clock] = [pin for pin in pins if pin["port"] == "clk"]
    return {
        "board": board,
        "device": spec.device,
        "clock_mhz": clock["clock_hz"] / 1e6,
        "pins": pins,
    }


def chosen_chip(folder):
    """The chip of a sweep's ``chosen/`` folder, rebuilt from its ``network.npz`` and
    ``chip.json``; an :class:`ExploreError` if it is not the design the sweep chose (its
    ``design_sha256`` differs: the folder was changed)."""
    from ..network import Network

    folder = Path(folder)
    description = json.loads((folder / "chip.json").read_text())
    point = SweepPoint(**description["point"])
    chip = _chip(Network.load(folder / "network.npz"), point, description["options"]["debug"])
    expected = description["chip"]["design_sha256"]
    if chip.design_hash() != expected:
        raise ExploreError(
            f"{folder}: the chip rebuilt from network.npz and chip.json has design_sha256 "
            f"{chip.design_hash()}, not the chosen {expected}"
        )
    return chip


def build_chosen(folder, *, build_dir=None, seed: int = 1):
    """Build the bitstream of a sweep's chosen chip (:func:`chosen_chip`) for the board of its
    ``chip.json`` with :func:`neurohw.boards.build` (the chip behind the UART host link), in
    ``build_dir`` (default ``<folder>/board``); returns the :class:`neurohw.boards.BoardBuild`."""
    from ..boards import build

    folder = Path(folder)
    description = json.loads((folder / "chip.json").read_text())
    if "board" not in description:
        raise ExploreError(f"{folder / 'chip.json'}: names no board (explore ran without --board)")
    board = description["board"]["board"]
    return build(
        board,
        chosen_chip(folder),
        build_dir=build_dir if build_dir is not None else folder / "board",
        seed=seed,
    )
