"""System-level flows: the Verilog of a mapped chip, and its bit-exact verification in an HDL
simulator against the network's reference model (``docs/system-hardware.md``).

``verify_system`` runs the cocotb bench ``sim/bench_system.py``: the host's event stream for a
batch of samples goes in through ``host_in``; every output spike of every window that leaves
``host_out`` is compared with :func:`neurohw.network.system.simulate`, as are the barrier order
and the per-core end-of-sample drop counters.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..hw.chip_design import DEFAULT_DEBUG, DEFAULT_ROUTER_FIFO_DEPTH, ChipDesign
from ..hw.system import SYSTEM_TOPLEVEL
from ..network.plan import ChipPlan
from ..network.system import check_samples
from ..network.timing import trainer_steps

__all__ = [
    "SystemVerificationResult",
    "generate_system_verilog",
    "verify_system",
    "SYSTEM_TOPLEVEL",
]

#: Verilator's C++ for a whole chip is one large file (the runner keeps ``--output-split 0``);
#: compiling it without optimization takes a fraction of the time (about 40 s instead of 110 s
#: for the digits chip), which pays for short runs; long runs simulate 1.6x faster optimized.
VERILATOR_FAST_BUILD = ("-CFLAGS", "-O0")
#: Simulated steps (samples x steps) above which Verilator builds with optimization.
OPTIMIZED_BUILD_STEPS = 1500


@dataclass(frozen=True)
class SystemVerificationResult:
    """What one RTL run compared, and how long it took (simulated cycles and wall clock)."""

    simulator: str
    samples: int
    steps: int
    cores: int
    host_words: int
    output_events_compared: int
    windows_compared: int
    cycles: int
    cycles_per_sample: tuple
    cycles_per_step_mean: float
    cycles_per_step_max: int
    seconds: float
    #: What the RTL itself sent to the host, decoded: ``{output population: (steps, samples,
    #: size)}`` spike counts (equal to the model's when the run passed).
    output_spikes: dict = field(default_factory=dict, repr=False, compare=False)
    #: With a chip's activity counters: what the RTL's counters read after the run (an
    #: :class:`~neurohw.network.plan_model.ActivityCounters`, equal to the model's prediction
    #: when the run passed); ``None`` without counters.
    activity: object = field(default=None, repr=False, compare=False)
    #: With ``activity_per_sample=True``: per sample, what the counters counted during it (the
    #: difference of two reads between samples, ``ActivityCounters``, equal to the model's
    #: ``predict_activity_snapshots`` differences when the run passed; ``cycles``: the
    #: sample's own, from its first host word to its last window's barrier); else ``None``.
    activity_per_sample: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def cycles_per_sample_mean(self) -> float:
        return sum(self.cycles_per_sample) / max(1, len(self.cycles_per_sample))

    def to_dict(self) -> dict:
        result = asdict(self)
        result.pop("output_spikes")
        result["activity"] = None if self.activity is None else self.activity.as_dict()
        result["activity_per_sample"] = (
            None
            if self.activity_per_sample is None
            else [sample.as_dict() for sample in self.activity_per_sample]
        )
        result["cycles_per_sample_mean"] = self.cycles_per_sample_mean
        return result


def generate_system_verilog(
    plan: ChipPlan,
    path,
    *,
    router_fifo_depth: int = DEFAULT_ROUTER_FIFO_DEPTH,
    debug: bool = DEFAULT_DEBUG,
) -> Path:
    """Write the Verilog of ``plan``'s chip (module ``neurohw_system``) to ``path``
    (:meth:`neurohw.Chip.verilog`). The text depends only on the plan and the options (no
    source paths, no timestamps)."""
    path = Path(path)
    ChipDesign(plan, router_fifo_depth=router_fifo_depth, debug=debug).verilog(path)
    return path


def verify_system(
    plan,
    inputs,
    *,
    simulator: str,
    build_dir=None,
    traffic=None,
    seed: int = 0,
    router_fifo_depth: int = DEFAULT_ROUTER_FIFO_DEPTH,
    progress=None,
    activity_per_sample: bool = False,
) -> SystemVerificationResult:
    """Run ``inputs`` ``{group: (steps, batch, size)}`` (samples back to back) through the RTL
    of ``plan`` (a :class:`neurohw.Chip`, or a ``ChipPlan`` with the chip's default options and
    ``router_fifo_depth``) in ``simulator`` and compare every output spike of every window
    with :func:`neurohw.network.system.simulate`.

    For a network with same-step projections the chip runs skewed
    (:mod:`neurohw.network.timing`): each sample gets ``plan.flush_steps`` more steps of zero
    input, every window of the chip's run is compared with the skewed network's model, and
    ``output_spikes`` are cut back to the network's own steps.

    ``traffic``: ``{"idle_probability", "backpressure_probability", "stall_probability",
    "stall_cycles"}`` of the host port. ``build_dir`` defaults to
    ``build/sim/system/<simulator>`` (``NEUROHW_SIM_BUILD_DIR`` moves ``build/sim``). Raises
    ``neurohw.sim.runner.CocotbTestFailure`` naming the first mismatch (window, sample, step, expected
    and actual spikes, or a counter or state read after the run). ``progress``: a function
    called with a line of text when the build starts and as samples complete. ``inputs`` may
    be :class:`~neurohw.network.system.Samples` already checked (they are not checked again).

    ``activity_per_sample`` (a chip with activity counters): per-inference activity from the
    hardware: the bench holds the host's words between samples, reads every counter there and
    checks each read against the model (``predict_activity_snapshots``); the result's
    ``activity_per_sample`` holds each sample's counts (``docs/system-hardware.md``, "Activity
    counters"). The holds stretch the run: ``cycles`` includes them, ``cycles_per_sample`` and
    the per-step figures leave them out.
    """
    from neurohw.sim.runner import BUILD_ROOT, run_cocotb
    from neurohw.sim.system_case import make_case

    if isinstance(plan, ChipPlan):
        plan = ChipDesign(plan, router_fifo_depth=router_fifo_depth)
    if not isinstance(plan, ChipDesign):
        raise TypeError(f"plan must be a Chip or a ChipPlan, not {plan!r}")
    chip, plan = plan, plan.plan
    if not isinstance(activity_per_sample, bool):
        raise TypeError(f"activity_per_sample must be True or False, not {activity_per_sample!r}")
    if activity_per_sample and not chip.activity_counters:
        raise ValueError(
            "activity_per_sample=True needs a chip with activity counters "
            "(Chip(..., activity_counters=True))"
        )
    samples = check_samples(plan.given_network, inputs)
    steps, batch = samples.steps, samples.batch
    chip_steps = steps + plan.flush_steps
    top, data = make_case(
        chip,
        samples.padded(plan.flush_steps),
        seed=seed,
        traffic=traffic,
        activity_per_sample=activity_per_sample,
    )
    build_dir = Path(build_dir) if build_dir is not None else BUILD_ROOT / "system" / simulator
    results_file = build_dir.resolve() / "system_results.json"
    results_file.unlink(missing_ok=True)
    progress_file = build_dir.resolve() / "progress.txt"
    progress_file.unlink(missing_ok=True)
    start = time.perf_counter()
    with _ProgressWatcher(progress_file, progress, start):
        run_cocotb(
            top,
            toplevel=SYSTEM_TOPLEVEL,
            test_module="bench_system",
            simulator=simulator,
            build_dir=build_dir,
            test_data=data,
            seed=seed + 1,
            build_args=_build_args(simulator, chip_steps * batch),
        )
    seconds = time.perf_counter() - start
    results = json.loads(results_file.read_text())
    per_step = results["cycles_per_step"] or [0]
    output_spikes = trainer_steps(
        _rtl_output_spikes(plan, results["host_out_words"], chip_steps, batch),
        plan.start_steps,
        steps,
    )
    return SystemVerificationResult(
        simulator=simulator,
        samples=batch,
        steps=steps,
        cores=plan.n_cores,
        host_words=len(data["host_words"]),
        output_events_compared=results["output_events"],
        windows_compared=chip_steps * batch,
        cycles=results["cycles"],
        cycles_per_sample=tuple(results["cycles_per_sample"]),
        cycles_per_step_mean=sum(per_step) / len(per_step),
        cycles_per_step_max=max(per_step),
        seconds=seconds,
        output_spikes=output_spikes,
        activity=_rtl_activity(results.get("activity")),
        activity_per_sample=_per_sample(results.get("activity_snapshots")),
    )


def _per_sample(snapshots):
    """The bench's reads between samples as each sample's ``ActivityCounters`` (the
    difference of consecutive reads; ``None`` without snapshots)."""
    if snapshots is None:
        return None
    from ..network.plan_model import ActivityCounters

    reads = [ActivityCounters.from_dict(read) for read in snapshots]
    zero = reads[0] - reads[0]
    return tuple(b - a for a, b in zip([zero, *reads], reads))


def _rtl_activity(read):
    """The bench's counter reads as an ``ActivityCounters`` (``None`` without counters)."""
    if read is None:
        return None
    from ..network.plan_model import ActivityCounters

    return ActivityCounters(
        cores=tuple(dict(core) for core in read["cores"]),
        host_words_in=read["host_words_in"],
        host_words_out=read["host_words_out"],
        router_hops=read["router_hops"],
        cycles=read["cycles"],
    )


def _build_args(simulator: str, total_steps: int) -> tuple:
    if simulator == "verilator" and total_steps <= OPTIMIZED_BUILD_STEPS:
        return VERILATOR_FAST_BUILD
    return ()


def _rtl_output_spikes(plan: ChipPlan, words, steps: int, batch: int) -> dict:
    """Decode the words the RTL sent to the host into ``{population: (steps, batch, size)}``.
    The stream ends with the window the cores run after the final clear: cut it off."""
    from ..network.host_events import decode_outputs
    from ..routing import EventKind

    fmt, n_windows = plan.fmt, steps * batch
    barriers, cut = 0, len(words)
    for index, word in enumerate(words):
        if fmt.unpack(int(word)).kind == EventKind.BARRIER:
            barriers += 1
            if barriers == n_windows + 1:  # barrier -1, then one per window
                cut = index + 1
                break
    flat = decode_outputs(plan, words[:cut], steps=n_windows)
    return {
        name: np.ascontiguousarray(counts.reshape(batch, steps, -1).transpose(1, 0, 2))
        for name, counts in flat.items()
    }


class _ProgressWatcher:
    """Relays the bench's ``progress.txt`` (``done total``) to a callback from a thread, since
    the simulator runs in this process's foreground until it ends."""

    def __init__(self, path: Path, callback, start: float):
        self.path, self.callback, self.start = path, callback, start
        self._stop = threading.Event()
        self._thread = None
        self._last = None

    def __enter__(self):
        if self.callback is not None:
            self.callback("      building and starting the simulation")
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(1.0):
            self._report()
        self._report()  # the samples that completed since the last poll

    def _report(self):
        try:
            text = self.path.read_text().strip()
        except OSError:
            return
        parts = text.split()
        if len(parts) == 2 and text != self._last:  # else: caught mid-write, read again
            self._last = text
            done, total = parts
            self.callback(
                f"      {done}/{total} samples simulated ({time.perf_counter() - self.start:.0f} s)"
            )

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return False
