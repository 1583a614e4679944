"""Simulation infrastructure: cocotb runner wrapper (:mod:`sim.runner`), reusable
cocotb drivers and monitors (:mod:`sim.lib`), and the cocotb test modules ("benches")
that pytest runs through :func:`sim.runner.run_cocotb`."""
