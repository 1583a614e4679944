"""Simulation infrastructure: cocotb runner wrapper (:mod:`neurohw.sim.runner`), reusable
cocotb drivers and monitors (:mod:`neurohw.sim.lib`), and the cocotb test modules ("benches")
that pytest runs through :func:`neurohw.sim.runner.run_cocotb`."""
