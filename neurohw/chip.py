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

from .hw.chip_design import DEFAULT_DEBUG, DEFAULT_ROUTER_FIFO_DEPTH, ChipDesign
from .network.graph import Network
from .network.plan import ChipPlan
from .network.system import Samples, check_samples

__all__ = ["Chip", "DEFAULT_DEBUG", "DEFAULT_ROUTER_FIFO_DEPTH"]

_MAPPING_OPTIONS = ("lanes", "capacity", "topology", "graded_spikes")


class Chip(ChipDesign):
    """A mapped network and the options of its hardware, validated once.

    Parameters
    ----------
    plan : ChipPlan or Network
        The mapped network, or a network to map (:func:`neurohw.network.map_network`) with
        ``lanes``, ``capacity``, ``topology`` and ``graded_spikes``.
    lanes : int, optional
        Parallel lanes per core (default 1). Only with a ``Network``: a plan's cores already
        have their lanes.
    capacity : CoreCapacity, optional
        Neurons and axons per core at most. Only with a ``Network``.
    topology : str, optional
        ``"auto"``, ``"star"`` or ``"mesh"`` (default ``"auto"``). Only with a ``Network``.
    graded_spikes : bool, optional
        Send multi-spike populations' counts as graded events (default ``False``;
        ``docs/system.md`` "Graded spikes between populations"). Only with a ``Network``.
    debug : bool
        Add the ``dbg_cmd``/``dbg_rsp`` port (default :data:`DEFAULT_DEBUG`).
    router_fifo_depth : int
        Depth of every router's virtual output queues (default 2).
    activity_counters : bool
        Add the activity counters (default off; ``docs/system-hardware.md``): the RTL
        verification then checks them against the model's prediction.
    weight_memory : str or sequence of str
        Where the cores keep their weights: ``"bram"`` (default, block RAM initialized by the
        bitstream), ``"spram"`` (the iCE40UP5K's SPRAM, several narrow weights per 16-bit
        word, loaded over the debug port before the first sample: needs ``debug``;
        :meth:`weight_load_commands`), or one of them per core (``docs/system.md``, "Weights
        in SPRAM").
    """

    def __init__(
        self,
        plan,
        *,
        lanes: int | None = None,
        capacity=None,
        topology: str | None = None,
        graded_spikes: bool | None = None,
        debug: bool = DEFAULT_DEBUG,
        router_fifo_depth: int = DEFAULT_ROUTER_FIFO_DEPTH,
        activity_counters: bool = False,
        weight_memory="bram",
    ):
        if isinstance(plan, Network):
            from .network.mapping import CoreCapacity, map_network

            plan = map_network(
                plan,
                lanes=1 if lanes is None else lanes,
                capacity=CoreCapacity() if capacity is None else capacity,
                topology="auto" if topology is None else topology,
                graded_spikes=False if graded_spikes is None else graded_spikes,
            )
        elif isinstance(plan, ChipPlan):
            given = {
                "lanes": lanes,
                "capacity": capacity,
                "topology": topology,
                "graded_spikes": graded_spikes,
            }
            for name in _MAPPING_OPTIONS:
                if given[name] is not None:
                    raise ValueError(
                        f"{name}={given[name]!r} needs a Network to map: a "
                        f"ChipPlan is already mapped (map the network with "
                        f"{name}= instead)"
                    )
        else:
            raise TypeError(f"plan must be a ChipPlan or a Network, not {plan!r}")
        super().__init__(
            plan,
            debug=debug,
            router_fifo_depth=router_fifo_depth,
            activity_counters=activity_counters,
            weight_memory=weight_memory,
        )

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

    def verify(
        self,
        inputs,
        *,
        simulator: str,
        build_dir=None,
        traffic=None,
        seed: int = 0,
        progress=None,
        activity_per_sample: bool = False,
    ):
        """Run ``inputs`` through the chip's RTL in ``simulator`` and compare every output spike
        of every window with the model (:func:`neurohw.flows.system.verify_system`; with
        ``activity_per_sample``, the activity counters read between samples too). Returns its
        :class:`~neurohw.flows.system.SystemVerificationResult`; raises
        ``neurohw.sim.runner.CocotbTestFailure`` naming the first mismatch."""
        from .flows.system import verify_system

        return verify_system(
            self,
            self.samples(inputs),
            simulator=simulator,
            build_dir=build_dir,
            traffic=traffic,
            seed=seed,
            progress=progress,
            activity_per_sample=activity_per_sample,
        )

    # -- packaging ----------------------------------------------------------------------------

    def package(self, directory, *, interface: str = "stream"):
        """Write an IP package for other flows into ``directory``: the Verilog named after its
        module, Verilator waivers, a FuseSoC core, an IP-XACT component and the memories'
        initial contents (:func:`neurohw.flows.ip_package.write_ip_package`).

        ``interface``: ``"stream"`` packages :meth:`verilog` (module ``neurohw_system``, its
        host streams); ``"axi"`` packages :meth:`axi_verilog` (module ``neurohw_axi_system``:
        AXI4-Stream in and out, the AXI4-Lite register bank) and adds the C driver with its
        generated register header in ``driver/``. Returns the folder."""
        from .flows.ip_package import write_ip_package
        from .hw.axi_system import AXI_TOPLEVEL
        from .hw.system import SYSTEM_TOPLEVEL

        if interface not in ("stream", "axi"):
            raise ValueError(f"interface must be 'stream' or 'axi', not {interface!r}")
        axi = interface == "axi"
        folder = write_ip_package(
            self.axi_verilog() if axi else self.verilog(),
            AXI_TOPLEVEL if axi else SYSTEM_TOPLEVEL,
            directory,
            description=f"neurohw chip: {self.plan.n_cores} core(s), design sha256 "
            f"{self.design_hash()}{', AXI wrapper' if axi else ''}",
        )
        if axi:
            from .host.axi import write_c_driver

            (folder / "driver").mkdir(exist_ok=True)
            write_c_driver(folder / "driver")
        return folder

    # -- synthesis ----------------------------------------------------------------------------

    def synthesize(
        self,
        device: str,
        *,
        workdir,
        name: str = "system",
        clock_mhz: float | None = None,
        seed: int = 1,
        harness: bool | None = None,
        timeout: float | None = None,
    ):
        """Synthesize the chip out of context on ``device`` and place and route it, in
        ``workdir`` (:func:`neurohw.flows.report.synthesize_chip` on the one synthesis path).
        Returns the :class:`~neurohw.flows.synth.SynthReport`; raises
        :class:`~neurohw.flows.synth.SynthesisError` when it does not fit or a tool fails (with
        the debug port's share when the chip has the port and nextpnr fails)."""
        from .flows.report import synthesize_chip

        return synthesize_chip(
            self,
            device,
            workdir=workdir,
            name=name,
            clock_mhz=clock_mhz,
            seed=seed,
            harness=harness,
            timeout=timeout,
        )

    def report(
        self,
        devices=(),
        *,
        workdir,
        inputs=None,
        steps: int = 16,
        input_rate: float = 0.1,
        name: str = "system",
        **synth_options,
    ):
        """Resources, Fmax and latency per inference on each of ``devices``
        (:func:`neurohw.flows.report.synth_report`), with the cycles of one inference from the
        analytic model on ``inputs`` (or random inputs at ``input_rate`` over ``steps``).
        Returns the :class:`~neurohw.flows.report.DesignReport`."""
        from .flows.report import estimate_cycles, synth_report

        if inputs is not None:
            estimate = estimate_cycles(self._plan, self.samples(inputs))
        else:
            estimate = estimate_cycles(self._plan, steps=steps, input_rate=input_rate)
        return synth_report(
            self,
            devices,
            workdir=workdir,
            cycles_per_inference=estimate,
            name=name,
            **synth_options,
        )
