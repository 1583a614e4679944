"""System-level flows: the Verilog of a mapped chip, and its bit-exact verification in an HDL
simulator against the network's reference model (``docs/system-hardware.md``).

``verify_system`` runs the cocotb bench ``sim/bench_system.py``: the host's event stream for a
batch of samples goes in through ``host_in``; every output spike of every window that leaves
``host_out`` is compared with :func:`neurohw.network.system.simulate`, as are the barrier order
and the per-core end-of-sample drop counters.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..hw.system import SYSTEM_TOPLEVEL, SystemTop
from ..network.plan import ChipPlan
from ..network.system import check_inputs

__all__ = ["SystemVerificationResult", "generate_system_verilog", "verify_system",
           "SYSTEM_TOPLEVEL"]

#: Verilator's C++ for a whole chip is one large file (the runner keeps ``--output-split 0``);
#: compiling it without optimization takes a fraction of the time and the runs are short.
VERILATOR_FAST_BUILD = ("-CFLAGS", "-O0")


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

    def to_dict(self) -> dict:
        return asdict(self)


def generate_system_verilog(plan: ChipPlan, path, *, router_fifo_depth: int = 2,
                            debug: bool = True) -> Path:
    """Write the Verilog of ``plan``'s chip (module ``neurohw_system``) to ``path``. The text
    depends only on the plan and the options (no source paths, no timestamps)."""
    from amaranth.back import verilog
    path = Path(path)
    top = SystemTop(plan, router_fifo_depth=router_fifo_depth, debug=debug)
    path.write_text(verilog.convert(top, name=SYSTEM_TOPLEVEL, emit_src=False))
    return path


def verify_system(plan: ChipPlan, inputs, *, simulator: str, build_dir=None, traffic=None,
                  seed: int = 0, router_fifo_depth: int = 2) -> SystemVerificationResult:
    """Run ``inputs`` ``{group: (steps, batch, size)}`` (samples back to back) through the RTL
    of ``plan`` in ``simulator`` and compare every output spike of every window with
    :func:`neurohw.network.system.simulate`.

    ``traffic``: ``{"idle_probability", "backpressure_probability", "stall_probability",
    "stall_cycles"}`` of the host port. ``build_dir`` defaults to
    ``build/sim/system/<simulator>`` (``NEUROHW_SIM_BUILD_DIR`` moves ``build/sim``). Raises
    ``sim.runner.CocotbTestFailure`` naming the first mismatch (window, sample, step, expected
    and actual spikes, or a counter or state read after the run).
    """
    from sim.runner import BUILD_ROOT, run_cocotb
    from sim.system_case import make_case

    if not isinstance(plan, ChipPlan):
        raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
    steps, batch, counts = check_inputs(plan.network, inputs)
    top, data = make_case(plan, counts, seed=seed, traffic=traffic,
                          router_fifo_depth=router_fifo_depth)
    build_dir = Path(build_dir) if build_dir is not None else BUILD_ROOT / "system" / simulator
    results_file = build_dir.resolve() / "system_results.json"
    results_file.unlink(missing_ok=True)
    start = time.perf_counter()
    run_cocotb(top, toplevel=SYSTEM_TOPLEVEL, test_module="bench_system", simulator=simulator,
               build_dir=build_dir, test_data=data, seed=seed + 1,
               build_args=VERILATOR_FAST_BUILD if simulator == "verilator" else ())
    seconds = time.perf_counter() - start
    results = json.loads(results_file.read_text())
    per_step = results["cycles_per_step"] or [0]
    return SystemVerificationResult(
        simulator=simulator, samples=batch, steps=steps, cores=plan.n_cores,
        host_words=len(data["host_words"]),
        output_events_compared=results["output_events"], windows_compared=steps * batch,
        cycles=results["cycles"], cycles_per_sample=tuple(results["cycles_per_sample"]),
        cycles_per_step_mean=sum(per_step) / len(per_step), cycles_per_step_max=max(per_step),
        seconds=seconds)
