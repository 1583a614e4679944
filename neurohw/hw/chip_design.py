"""The hardware of one chip: a mapped network (:class:`~neurohw.network.plan.ChipPlan`) and the
options that decide its gateware, validated once (``docs/system.md``, "The Chip object").

:class:`ChipDesign` is the only place a :class:`~neurohw.hw.system.SystemTop` is built. It is
the part of :class:`neurohw.Chip` that the flows and the test benches need (the design, its
Verilog and its hash) without the actions (simulate, verify, synthesize) that the flows
themselves implement, so the layers import one way: ``neurohw.Chip`` -> flows -> ``ChipDesign``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..network.plan import ChipPlan

__all__ = ["ChipDesign", "DEFAULT_DEBUG", "DEFAULT_ROUTER_FIFO_DEPTH"]

#: The debug port (``dbg_cmd``/``dbg_rsp``, any core's command port) is in the chip unless asked
#: otherwise: the RTL verification reads every core's final state through it, and the Verilog
#: that ``neurohw compile`` writes, verifies and synthesizes is one design.
DEFAULT_DEBUG = True
#: Depth of every router's virtual output queues.
DEFAULT_ROUTER_FIFO_DEPTH = 2


class ChipDesign:
    """A ``ChipPlan`` and the options of its hardware (``debug``, ``router_fifo_depth``,
    ``activity_counters``, ``weight_memory``), validated once; :meth:`top`, :meth:`verilog`,
    :meth:`design_hash`, :meth:`description`, :meth:`weight_load_commands`."""

    def __init__(
        self,
        plan: ChipPlan,
        *,
        debug: bool = DEFAULT_DEBUG,
        router_fifo_depth: int = DEFAULT_ROUTER_FIFO_DEPTH,
        activity_counters: bool = False,
        weight_memory="bram",
    ):
        if not isinstance(plan, ChipPlan):
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        from .system import check_weight_memory

        weight_memory = check_weight_memory(plan, weight_memory)
        if not isinstance(debug, bool):
            raise TypeError(f"debug must be True or False, not {debug!r}")
        if not isinstance(activity_counters, bool):
            raise TypeError(f"activity_counters must be True or False, not {activity_counters!r}")
        if activity_counters and not debug:
            raise ValueError(
                "activity_counters=True needs debug=True: the cores' counters are read "
                "through the debug port"
            )
        if "spram" in weight_memory and not debug:
            raise ValueError(
                "weight_memory 'spram' needs debug=True: SPRAM weights are loaded through "
                "the debug port"
            )
        if (
            isinstance(router_fifo_depth, bool)
            or not isinstance(router_fifo_depth, int)
            or router_fifo_depth < 1
        ):
            raise ValueError(
                f"router_fifo_depth must be a positive integer, not {router_fifo_depth!r}"
            )
        self._plan = plan
        self._debug = debug
        self._router_fifo_depth = router_fifo_depth
        self._activity_counters = activity_counters
        self._weight_memory = weight_memory
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

    @property
    def activity_counters(self) -> bool:
        return self._activity_counters

    @property
    def weight_memory(self) -> tuple:
        """Each core's weight memory kind, ``"bram"`` or ``"spram"``."""
        return self._weight_memory

    def weight_load_commands(self) -> list:
        """``[core, target, neuron, axon, value]`` debug-port writes that load the SPRAM cores'
        weights, to send after reset and before the first sample
        (:func:`neurohw.hw.system.weight_load_commands`; empty without SPRAM cores)."""
        from .system import weight_load_commands

        return weight_load_commands(self._plan, self._weight_memory)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._plan.n_cores} cores, debug={self._debug}, "
            f"router_fifo_depth={self._router_fifo_depth})"
        )

    # -- hardware ---------------------------------------------------------------------------

    def top(self):
        """A new :class:`~neurohw.hw.system.SystemTop` of this chip (an Amaranth component is
        elaborated once, so every use gets its own)."""
        from .system import SystemTop

        return SystemTop(
            self._plan,
            router_fifo_depth=self._router_fifo_depth,
            debug=self._debug,
            counters=self._activity_counters,
            **({"weight_memory": self._weight_memory} if "spram" in self._weight_memory else {}),
        )

    def axi_top(self):
        """A new :class:`~neurohw.hw.axi_system.AxiSystem`: this chip behind an AXI4-Stream
        input and output and an AXI4-Lite register bank (``docs/integration.md``)."""
        from .axi_system import AxiSystem

        return AxiSystem(self.top())

    def axi_verilog(self, path=None) -> str:
        """The Verilog of :meth:`axi_top` (module ``neurohw_axi_system``), also written to
        ``path`` when given."""
        from amaranth.back import verilog

        from .axi_system import AXI_TOPLEVEL

        text = verilog.convert(self.axi_top(), name=AXI_TOPLEVEL, emit_src=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    def verilog(self, path=None) -> str:
        """The Verilog of the chip (module ``neurohw_system``), also written to ``path`` when
        given. It depends only on the plan and the options (no source paths, no dates)."""
        if self._verilog is None:
            from amaranth.back import verilog

            from .system import SYSTEM_TOPLEVEL

            self._verilog = verilog.convert(self.top(), name=SYSTEM_TOPLEVEL, emit_src=False)
        if path is not None:
            Path(path).write_text(self._verilog)
        return self._verilog

    def design_hash(self) -> str:
        """SHA-256 (hex) of :meth:`verilog`: equal hashes, equal designs."""
        return hashlib.sha256(self.verilog().encode()).hexdigest()

    def description(self) -> dict:
        """Plain data naming the design (for reports): cores, topology, event width, options
        and :meth:`design_hash`."""
        plan = self._plan
        return {
            "kind": "system",
            "cores": [
                {
                    "population": c.population,
                    "neurons": c.n_neurons,
                    "axons": c.n_axons,
                    "lanes": c.lanes,
                    "weight_width": c.weight_width,
                    "connectivity": c.connectivity,
                }
                for c in plan.cores
            ],
            "topology": type(plan.topology).__name__,
            "event_bits": plan.fmt.width,
            "debug": self._debug,
            "router_fifo_depth": self._router_fifo_depth,
            **({"activity_counters": True} if self._activity_counters else {}),
            **(
                {"weight_memory": list(self._weight_memory)}
                if "spram" in self._weight_memory
                else {}
            ),
            "design_sha256": self.design_hash(),
        }
