"""One chip: a mapped network (:class:`~neurohw.network.plan.ChipPlan`) and the options that
decide its hardware, with everything done to it (``docs/system.md``, "The Chip object").

::

    chip = Chip(plan)                               # or Chip(network, lanes=4)
    chip.verilog("system.v")                        # module neurohw_system
    trace = chip.simulate(inputs)                   # the fixed-point model
    result = chip.verify(inputs, simulator="icarus")  # RTL == model, every spike
    synth = chip.synthesize("ice40-up5k", workdir="build/synth")
    report = chip.report(["ecp5-85k"], workdir="build/report")

The options are checked once, here, and the chip's :class:`~neurohw.hw.system.SystemTop` is
built only by :meth:`Chip.top`: the Verilog written, the design simulated and the design
synthesized are one design for one set of options (:meth:`Chip.design_hash` names it). The debug
port is an option like any other: on by default (the verification reads each core's final state
through it), off for the board builds, and ``neurohw compile`` and ``neurohw synth`` both take
``--debug/--no-debug`` with the same default.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from .network.graph import Network
from .network.plan import ChipPlan
from .network.system import Samples, check_samples

__all__ = ["Chip", "DEFAULT_DEBUG", "DEFAULT_ROUTER_FIFO_DEPTH"]

#: The debug port (``dbg_cmd``/``dbg_rsp``, any core's command port) is in the chip unless asked
#: otherwise: the RTL verification reads every core's final state through it, and the Verilog
#: that ``neurohw compile`` writes, verifies and synthesizes is one design.
DEFAULT_DEBUG = True
#: Depth of every router's virtual output queues.
DEFAULT_ROUTER_FIFO_DEPTH = 2

_MAPPING_OPTIONS = ("lanes", "capacity", "topology")


class Chip:
    """A mapped network and the options of its hardware, validated once.

    Parameters
    ----------
    plan : ChipPlan or Network
        The mapped network, or a network to map (:func:`neurohw.network.map_network`) with
        ``lanes``, ``capacity`` and ``topology``.
    lanes : int, optional
        Parallel lanes per core (default 1). Only with a ``Network``: a plan's cores already
        have their lanes.
    capacity : CoreCapacity, optional
        Neurons and axons per core at most. Only with a ``Network``.
    topology : str, optional
        ``"auto"``, ``"star"`` or ``"mesh"`` (default ``"auto"``). Only with a ``Network``.
    debug : bool
        Add the ``dbg_cmd``/``dbg_rsp`` port (default :data:`DEFAULT_DEBUG`).
    router_fifo_depth : int
        Depth of every router's virtual output queues (default 2).

    The weights are held in block RAM: a ``SystemTop`` core has no other memory kind yet (the
    single-core ``NeuronCore`` can use SPRAM), so there is no memory option here.
    """

    def __init__(self, plan, *, lanes: int | None = None, capacity=None,
                 topology: str | None = None, debug: bool = DEFAULT_DEBUG,
                 router_fifo_depth: int = DEFAULT_ROUTER_FIFO_DEPTH):
        if isinstance(plan, Network):
            from .network.mapping import CoreCapacity, map_network
            plan = map_network(plan, lanes=1 if lanes is None else lanes,
                               capacity=CoreCapacity() if capacity is None else capacity,
                               topology="auto" if topology is None else topology)
        elif isinstance(plan, ChipPlan):
            given = {"lanes": lanes, "capacity": capacity, "topology": topology}
            for name in _MAPPING_OPTIONS:
                if given[name] is not None:
                    raise ValueError(f"{name}={given[name]!r} needs a Network to map: a "
                                     f"ChipPlan is already mapped (map the network with "
                                     f"{name}= instead)")
        else:
            raise TypeError(f"plan must be a ChipPlan or a Network, not {plan!r}")
        if not isinstance(debug, bool):
            raise TypeError(f"debug must be True or False, not {debug!r}")
        if isinstance(router_fifo_depth, bool) or not isinstance(router_fifo_depth, int) \
                or router_fifo_depth < 1:
            raise ValueError(f"router_fifo_depth must be a positive integer, not "
                             f"{router_fifo_depth!r}")
        self._plan = plan
        self._debug = debug
        self._router_fifo_depth = router_fifo_depth
        self._verilog = None

    @property
    def plan(self) -> ChipPlan:
        return self._plan

    @property
    def debug(self) -> bool:
        return self._debug

    @property
    def router_fifo_depth(self) -> int:
        return self._router_fifo_depth

    def __repr__(self) -> str:
        return (f"Chip({self._plan.n_cores} cores, debug={self._debug}, "
                f"router_fifo_depth={self._router_fifo_depth})")

    # -- hardware ---------------------------------------------------------------------------

    def top(self):
        """A new :class:`~neurohw.hw.system.SystemTop` of this chip (an Amaranth component is
        elaborated once, so every use gets its own)."""
        from .hw.system import SystemTop
        return SystemTop(self._plan, router_fifo_depth=self._router_fifo_depth,
                         debug=self._debug)

    def verilog(self, path=None) -> str:
        """The Verilog of the chip (module ``neurohw_system``), also written to ``path`` when
        given. It depends only on the plan and the options (no source paths, no dates)."""
        if self._verilog is None:
            from amaranth.back import verilog

            from .hw.system import SYSTEM_TOPLEVEL
            self._verilog = verilog.convert(self.top(), name=SYSTEM_TOPLEVEL, emit_src=False)
        if path is not None:
            Path(path).write_text(self._verilog)
        return self._verilog

    def design_hash(self) -> str:
        """SHA-256 (hex) of :meth:`verilog`: equal hashes, equal designs."""
        return hashlib.sha256(self.verilog().encode()).hexdigest()

    # -- model and verification -------------------------------------------------------------

    def samples(self, inputs) -> Samples:
        """``inputs`` ``{group: (steps, batch, size)}`` validated once against the network the
        plan was mapped from (:func:`neurohw.network.system.check_samples`)."""
        return check_samples(self._plan.given_network, inputs)

    def simulate(self, inputs, **kwargs):
        """The fixed-point model of the chip on ``inputs``: the network the plan was mapped from,
        the samples one after another as on the chip (a plastic network carries what it
        learned; :func:`neurohw.network.system.simulate_samples`). Returns its
        :class:`~neurohw.network.system.SystemTrace`."""
        from .network.system import simulate_samples
        return simulate_samples(self._plan.given_network, self.samples(inputs), **kwargs)

    def verify(self, inputs, *, simulator: str, build_dir=None, traffic=None, seed: int = 0,
               progress=None):
        """Run ``inputs`` through the chip's RTL in ``simulator`` and compare every output spike
        of every window with the model (:func:`neurohw.flows.system.verify_system`). Returns its
        :class:`~neurohw.flows.system.SystemVerificationResult`; raises
        ``sim.runner.CocotbTestFailure`` naming the first mismatch."""
        from .flows.system import verify_system
        return verify_system(self, self.samples(inputs), simulator=simulator,
                             build_dir=build_dir, traffic=traffic, seed=seed, progress=progress)

    # -- synthesis ----------------------------------------------------------------------------

    def synthesize(self, device: str, *, workdir, name: str = "system",
                   clock_mhz: float | None = None, seed: int = 1, harness: bool | None = None,
                   timeout: float | None = None):
        """Synthesize the chip out of context on ``device`` and place and route it, in
        ``workdir`` (:func:`neurohw.flows.report.synthesize_design`, the one synthesis path).
        Returns the :class:`~neurohw.flows.synth.SynthReport`; raises
        :class:`~neurohw.flows.synth.SynthesisError` when it does not fit or a tool fails."""
        from .flows.report import synthesize_design
        return synthesize_design(self.top(), device, workdir=workdir, name=name,
                                 clock_mhz=clock_mhz, seed=seed, harness=harness,
                                 timeout=timeout)

    def description(self) -> dict:
        """Plain data naming the design (for reports): cores, topology, event width, options
        and :meth:`design_hash`."""
        plan = self._plan
        return {"kind": "system", "cores": [
            {"population": c.population, "neurons": c.n_neurons, "axons": c.n_axons,
             "lanes": c.lanes, "weight_width": c.weight_width, "connectivity": c.connectivity}
            for c in plan.cores], "topology": type(plan.topology).__name__,
            "event_bits": plan.fmt.width, "debug": self._debug,
            "router_fifo_depth": self._router_fifo_depth, "design_sha256": self.design_hash()}

    def report(self, devices=(), *, workdir, inputs=None, steps: int = 16,
               input_rate: float = 0.1, name: str = "system", **synth_options):
        """Resources, Fmax and latency per inference on each of ``devices``
        (:func:`neurohw.flows.report.synth_report`), with the cycles of one inference from the
        analytic model on ``inputs`` (or random inputs at ``input_rate`` over ``steps``).
        Returns the :class:`~neurohw.flows.report.DesignReport`."""
        from .flows.report import estimate_cycles, synth_report
        if inputs is not None:
            estimate = estimate_cycles(self._plan, self.samples(inputs))
        else:
            estimate = estimate_cycles(self._plan, steps=steps, input_rate=input_rate)
        return synth_report(self, devices, workdir=workdir, cycles_per_inference=estimate,
                            name=name, **synth_options)
