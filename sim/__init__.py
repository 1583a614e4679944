"""Simulation infrastructure (the repository's ``sim/``, installed as ``neurohw.sim``): the cocotb
runner wrapper (:mod:`neurohw.sim.runner`), reusable cocotb drivers and monitors
(:mod:`neurohw.sim.lib`), the cases that turn a design and the reference model into bench data
(:mod:`neurohw.sim.core_case`, :mod:`neurohw.sim.system_case`), and the cocotb test modules
("benches", ``neurohw.sim.bench_*``) that :func:`run_cocotb` runs inside the simulator."""

from .runner import (
    BUILD_ROOT,
    SIM_DIR,
    CocotbTestFailure,
    case_build_dir,
    run_cocotb,
    write_verilog,
)

__all__ = [
    "run_cocotb",
    "case_build_dir",
    "write_verilog",
    "CocotbTestFailure",
    "BUILD_ROOT",
    "SIM_DIR",
]
