"""The whole chip of a :class:`~neurohw.network.plan.ChipPlan`: one neuron core per core plan,
its ingress and egress adapters, the routing network and the host port
(``docs/system-hardware.md``; the contract is ``docs/system.md``).

::

    host_in ─► barrier gate ─► network.i[host]          network.o[host] ─► host_out
    network.o[c] ─► CoreIngress c ─► NeuronCore c ─► CoreEgress c ─► network.i[c]
                    (spikes_in, step, cmd/rsp)   (spikes_out, done)

The network is a ``StarNetwork`` or ``MeshNetwork`` compiled from the plan's topology and
connectivity; the host is its endpoint ``plan.host``.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..network.plan import ChipPlan
from ..routing import MAX_TABLE_ENTRIES, MeshTopology, StarTopology
from .conv_core import ConvConfig, ConvCore
from .core import NeuronCore
from .core_config import ACTIVITY_COUNTER_WIDTH, CoreConfig
from .endpoint import COUNTER_WIDTH, CoreEgress, CoreIngress
from .event import EventKind, event_layout
from .topology import MeshNetwork, StarNetwork

__all__ = [
    "SystemTop",
    "SYSTEM_TOPLEVEL",
    "WEIGHT_MEMORIES",
    "check_weight_memory",
    "ingress_fifo_depth",
    "core_value_width",
    "weight_load_commands",
]

#: Name of the generated Verilog module.
SYSTEM_TOPLEVEL = "neurohw_system"

#: Windows a core's ingress buffers. The host port lets the host's barrier ``w`` in only after
#: barrier ``w - 1`` has left on ``host_out``, so at most three windows (``w - 1``, ``w``,
#: ``w + 1``) are in flight to a core at once.
WINDOWS_BUFFERED = 3


def ingress_fifo_depth(plan: ChipPlan, core: int) -> int:
    """Events a core's ingress buffers: :data:`WINDOWS_BUFFERED` windows of (every key routed
    to the core, once, plus the barrier)."""
    keys = sum(1 for targets in plan.connectivity.values() if core in targets)
    return WINDOWS_BUFFERED * (keys + 1)


def core_value_width(plan: ChipPlan, core_plan) -> int:
    """The ``value_width`` of a core's graded events: 0 without graded axon blocks, else the
    payload width plus one, so that any payload, read as unsigned or as two's complement,
    reaches the multiplier whole (``docs/system.md``, "Graded inputs")."""
    return plan.fmt.payload_width + 1 if core_plan.graded else 0


#: Memory kinds of a chip core's weights (``SystemTop(weight_memory=...)``).
WEIGHT_MEMORIES = ("bram", "spram")


def check_weight_memory(plan: ChipPlan, weight_memory) -> tuple:
    """``weight_memory`` of a chip (``"bram"``, ``"spram"``, or one of them per core) as one
    kind per core, checked: an SPRAM core must be one that ``NeuronCore`` can build with SPRAM
    weights (dense, weights of at most 16 bits, no STDP)."""
    n = plan.n_cores
    if isinstance(weight_memory, str):
        kinds = (weight_memory,) * n
    elif isinstance(weight_memory, (tuple, list)):
        kinds = tuple(weight_memory)
        if len(kinds) != n:
            raise ValueError(
                f"weight_memory has {len(kinds)} entries, but the chip has {n} cores "
                f"(give one of {WEIGHT_MEMORIES} per core, or one for all)"
            )
    else:
        raise TypeError(
            f"weight_memory must be 'bram', 'spram' or a sequence of them (one per core), "
            f"not {weight_memory!r}"
        )
    for index, kind in enumerate(kinds):
        if kind not in WEIGHT_MEMORIES:
            raise ValueError(
                f"weight_memory of core {index} must be one of 'bram', 'spram', not {kind!r}"
            )
        if kind == "spram":
            cp = plan.cores[index]
            try:
                core_config(plan, cp, weight_memory="spram")
            except ValueError as error:
                raise ValueError(
                    f"weight_memory 'spram' for core {index} (population "
                    f"{cp.population!r}): {error}"
                ) from None
    return kinds


def core_config(
    plan: ChipPlan, core_plan, *, activity_counters: bool = False, weight_memory: str = "bram"
) -> CoreConfig:
    """The :class:`CoreConfig` of one neuron core of ``plan``: what :class:`SystemTop` builds
    and what the cycle estimates read (no hardware is built). With ``weight_memory="spram"``
    the core's weights are in SPRAM, packed (``packed_weights``), and start at zero: the host
    writes them (:func:`weight_load_commands`). A convolution core has none
    (:func:`conv_core`)."""
    if core_plan.conv is not None:
        raise ValueError(
            f"core {core_plan.index} is a convolution core (population "
            f"{core_plan.population!r}), which has no neuron-core configuration; its "
            f"description is conv_config(core_plan)"
        )
    spram = weight_memory == "spram"
    return CoreConfig(
        core_plan.params,
        n_neurons=core_plan.n_neurons,
        n_axons=core_plan.n_axons,
        weight_width=core_plan.weight_width,
        weights=None if spram else core_plan.weights,
        connectivity=core_plan.connectivity,
        lanes=core_plan.lanes,
        max_events_per_step=core_plan.max_events_per_step,
        max_delay=core_plan.max_delay,
        delays=core_plan.delays,
        stdp=core_plan.stdp,
        plastic=core_plan.plastic,
        value_width=core_value_width(plan, core_plan),
        activity_counters=activity_counters,
        **({"weight_memory": "spram", "packed_weights": True} if spram else {}),
    )


def conv_core(core_plan) -> ConvCore:
    """The :class:`ConvCore` of a convolution core plan: its channels' kernel (the plan's
    weights are that kernel's dense lowering by construction, ``CorePlan``) and its lanes."""
    return ConvCore(core_plan.params, core_plan.conv[0], **_conv_options(core_plan))


def conv_config(core_plan) -> ConvConfig:
    """The :class:`ConvConfig` of a convolution core plan (what :func:`conv_core` builds and
    what the cycle, energy and resource estimates read; no hardware is built)."""
    return ConvCore.describe(core_plan.params, core_plan.conv[0], **_conv_options(core_plan))


def _conv_options(core_plan) -> dict:
    spec, kernel = core_plan.conv
    # One lane is the core's default: left out, so one-lane cores build as they always did.
    lanes = {"lanes": core_plan.lanes} if core_plan.lanes != 1 else {}
    return dict(
        weight_width=core_plan.weight_width,
        kernel=kernel,
        max_events_per_step=core_plan.max_events_per_step,
        **lanes,
    )


def weight_load_commands(plan: ChipPlan, weight_memory) -> list:
    """The debug-port writes that load the weights of the SPRAM cores of ``plan`` (an SPRAM has
    no initial contents, and its power-up contents are undefined): ``[core, target, neuron,
    axon, value]`` for every weight of every channel, zeros included, core by core, axon by
    axon. Empty when no core has SPRAM weights."""
    from .core_config import Target

    commands = []
    for cp, kind in zip(plan.cores, check_weight_memory(plan, weight_memory)):
        if kind != "spram":
            continue
        weights = cp.weights
        for c in range(weights.shape[0]):
            for axon in range(cp.n_axons):
                for neuron in range(cp.n_neurons):
                    commands.append(
                        [
                            cp.index,
                            int(Target.WEIGHT0) + c,
                            neuron,
                            axon,
                            int(weights[c, axon, neuron]),
                        ]
                    )
    return commands


class SystemTop(wiring.Component):
    """Cores, adapters, routers and the host port of ``plan``, as one component.

    Parameters
    ----------
    plan : ChipPlan
    router_fifo_depth : int
        Depth of every router's virtual output queues.
    debug : bool
        Add the ``dbg_cmd``/``dbg_rsp`` port (any core's command port, selected by ``core``).
    weight_memory : str or sequence of str
        Where each core keeps its weights: ``"bram"`` (default, initialized by the bitstream)
        or ``"spram"`` (the iCE40UP5K's SB_SPRAM256KA, packed ``16 // weight_width`` lanes per
        word, no initial contents: loaded over ``dbg_cmd`` before the first sample,
        :func:`weight_load_commands`, so it needs ``debug``); one kind for every core, or one
        per core.
    counters : bool
        Activity counters (``docs/system-hardware.md``): every core's
        :class:`~neurohw.hw.core.ActivityStatus` words (read through ``dbg_cmd``, which they
        need) and the ``host_words_in`` / ``host_words_out`` / ``router_hops`` / ``cycles``
        ports. Off (default): the chip is built exactly as without the option.

    Members
    -------
    host_in : In(stream of ``plan.fmt.width``-bit event words)
        What the host sends (``neurohw.network.host_events.encode_samples``). A barrier is held
        (``ready`` low) until the previous barrier has left on ``host_out``: the host can be at
        most one window ahead of the slowest core, which bounds what the ingresses buffer.
    host_out : Out(stream of event words)
        Output populations' spikes of each window, then its barrier (``-1`` first, after reset).
    eos_dropped[c] : Out(16)
        Core-to-core spike events core ``c``'s ingress dropped in the last window of a sample.
    invalid[c] : Out(16)
        Events core ``c``'s ingress dropped as meaningless (key without axon, unknown control).
    overflow, tag_error, cmd_error : Out(n_cores)
        Per core (bit ``c``): the core's sticky overflow flag; a barrier with an unexpected
        tag; a refused clearing write.
    router_drops : Out(16)
        Drop reports of all routers (each router's ``dropped`` stream is always taken and
        counted here, saturating), so no event is lost unseen.
    dbg_cmd : In(stream of {core, write, target, neuron, axon, data});
    dbg_rsp : Out(stream of {data, error})
        One command at a time to core ``core``'s ``cmd`` port (see ``docs/core.md``); a core
        index out of range answers ``error = 1``.
    """

    def __init__(
        self,
        plan: ChipPlan,
        *,
        router_fifo_depth: int = 2,
        debug: bool = True,
        counters: bool = False,
        weight_memory="bram",
    ):
        if not isinstance(plan, ChipPlan):
            raise TypeError(f"plan must be a ChipPlan, not {plan!r}")
        self.weight_memory = check_weight_memory(plan, weight_memory)
        if "spram" in self.weight_memory and not debug:
            raise ValueError(
                "weight_memory 'spram' needs debug=True: SPRAM weights are loaded through dbg_cmd"
            )
        if not isinstance(counters, bool):
            raise TypeError(f"counters must be True or False, not {counters!r}")
        if counters and not debug:
            raise ValueError(
                "counters=True needs debug=True: the cores' activity counters are read "
                "through dbg_cmd"
            )
        self.counters = counters
        if not isinstance(plan.topology, (StarTopology, MeshTopology)):
            raise TypeError(
                f"plan topology must be a StarTopology or MeshTopology, not {plan.topology!r}"
            )
        self.plan = plan
        self.fmt = fmt = plan.fmt
        K = plan.keys_per_endpoint
        self.cores = []
        self.ingress = []
        self.egress = []
        if counters and any(cp.conv is not None for cp in plan.cores):
            raise ValueError(
                "counters=True is not available with convolution cores (they have no "
                "activity counters); map with conv='dense' or build without counters"
            )
        for cp in plan.cores:
            if cp.conv is not None:
                core = conv_core(cp)
            else:
                core = NeuronCore(
                    core_config(
                        plan,
                        cp,
                        activity_counters=counters,
                        weight_memory=self.weight_memory[cp.index],
                    )
                )
            self.cores.append(core)
            starts = plan.start_steps
            self.ingress.append(
                CoreIngress(
                    fmt,
                    core=core,
                    axon_blocks=cp.axon_blocks,
                    keys_per_endpoint=K,
                    host=plan.host,
                    fifo_depth=ingress_fifo_depth(plan, cp.index),
                    start_step=starts.get(cp.population, 0),
                    source_start_steps=[starts.get(block.source, 0) for block in cp.axon_blocks],
                )
            )
            unrouted = [
                j
                for j in range(cp.n_neurons)
                if not plan.routing.deliveries.get(plan.neuron_key(cp.index, j))
            ]
            self.egress.append(
                CoreEgress(
                    fmt,
                    core=core,
                    index=cp.index,
                    keys_per_endpoint=K,
                    unrouted_neurons=unrouted,
                )
            )
        entries = max([MAX_TABLE_ENTRIES] + [len(r.table.entries) for r in plan.routing.routers])
        network_cls = StarNetwork if isinstance(plan.topology, StarTopology) else MeshNetwork
        self.network = network_cls(
            plan.topology,
            plan.connectivity,
            fmt=fmt,
            fifo_depth=router_fifo_depth,
            max_entries=entries,
            **({"hops": True} if counters else {}),
        )
        self.debug = bool(debug)

        n = plan.n_cores
        word = stream.Signature(unsigned(fmt.width))
        members = {
            "host_in": In(word),
            "host_out": Out(word),
            "eos_dropped": Out(COUNTER_WIDTH).array(n),
            "invalid": Out(COUNTER_WIDTH).array(n),
            "overflow": Out(n),
            "tag_error": Out(n),
            "cmd_error": Out(n),
            "router_drops": Out(COUNTER_WIDTH),
        }
        if counters:
            members["host_words_in"] = Out(ACTIVITY_COUNTER_WIDTH)
            members["host_words_out"] = Out(ACTIVITY_COUNTER_WIDTH)
            members["router_hops"] = Out(ACTIVITY_COUNTER_WIDTH)
            members["cycles"] = Out(ACTIVITY_COUNTER_WIDTH)
        if self.debug:
            cmd_layouts = [core.cmd_layout for core in self.cores]
            self.dbg_cmd_layout = data.StructLayout(
                {
                    "core": unsigned(max(1, (n - 1).bit_length())),
                    "write": unsigned(1),
                    "target": unsigned(max(core.target_bits for core in self.cores)),
                    "neuron": unsigned(max(layout["neuron"].shape.width for layout in cmd_layouts)),
                    "axon": unsigned(max(layout["axon"].shape.width for layout in cmd_layouts)),
                    "data": signed(max(core.data_width for core in self.cores)),
                }
            )
            self.dbg_rsp_layout = data.StructLayout(
                {
                    "data": signed(max(core.data_width for core in self.cores)),
                    "error": unsigned(1),
                }
            )
            members["dbg_cmd"] = In(stream.Signature(self.dbg_cmd_layout))
            members["dbg_rsp"] = Out(stream.Signature(self.dbg_rsp_layout))
        super().__init__(members)

    def port_description(self) -> dict:
        """Plain-data description for testbenches: event format, core count, status port names,
        debug payload field offsets and each core's command targets."""
        from .core import layout_fields

        description = {
            "format": self.fmt.as_dict(),
            "n_cores": self.plan.n_cores,
            "host": self.plan.host,
            "counter_width": COUNTER_WIDTH,
            "counters": self.counters,
            "cores": [core.port_description()["targets"] for core in self.cores],
        }
        if self.debug:
            description["dbg_cmd"] = layout_fields(self.dbg_cmd_layout)
            description["dbg_rsp"] = layout_fields(self.dbg_rsp_layout)
        return description

    def _count_hops_and_cycles(self, m, network):
        """``router_hops``: events (not barriers) that left a router output, every router;
        ``cycles``: clock cycles since reset. Both saturating at ``2**32 - 1``."""
        top = (1 << ACTIVITY_COUNTER_WIDTH) - 1
        # Registered twice (the output transfers, then their sum) so that neither the adder
        # tree nor the counter hangs off the routers' arbitration: the count lags by 2 cycles.
        seen = Signal(len(network.hops))
        per_cycle = Signal(range(len(network.hops) + 1))
        hops = Signal(ACTIVITY_COUNTER_WIDTH)
        bumped = Signal(ACTIVITY_COUNTER_WIDTH + 1)
        m.d.sync += [seen.eq(network.hops), per_cycle.eq(sum(seen[k] for k in range(len(seen))))]
        m.d.comb += [bumped.eq(hops + per_cycle), self.router_hops.eq(hops)]
        m.d.sync += hops.eq(Mux(bumped > top, top, bumped))
        cycles = Signal(ACTIVITY_COUNTER_WIDTH)
        m.d.comb += self.cycles.eq(cycles)
        with m.If(cycles != top):
            m.d.sync += cycles.eq(cycles + 1)

    def elaborate(self, platform):
        m = Module()
        plan = self.plan
        n = plan.n_cores
        host = plan.host
        m.submodules.network = network = self.network

        for c in range(n):
            core, ingress, egress = self.cores[c], self.ingress[c], self.egress[c]
            m.submodules[f"core{c}"] = core
            m.submodules[f"ingress{c}"] = ingress
            m.submodules[f"egress{c}"] = egress
            wiring.connect(m, network.o[c], ingress.i)
            for name in ("spikes_in", "step", "cmd"):
                wiring.connect(m, getattr(ingress, name), getattr(core, name))
            wiring.connect(m, core.rsp, ingress.rsp)
            wiring.connect(m, core.spikes_out, egress.spikes_out)
            wiring.connect(m, core.done, egress.done)
            wiring.connect(m, egress.o, network.i[c])
            m.d.comb += [
                self.eos_dropped[c].eq(ingress.eos_dropped),
                self.invalid[c].eq(ingress.invalid),
                self.overflow[c].eq(core.overflow),
                self.tag_error[c].eq(ingress.tag_error),
                self.cmd_error[c].eq(ingress.cmd_error),
            ]

        # ---- Host port: the host may be at most one barrier ahead of the chip.
        layout = event_layout(self.fmt)
        incoming = data.View(layout, self.host_in.payload)
        outgoing = data.View(layout, network.o[host].payload)
        lead = Signal(range(-2, 3))  # host barriers in - barriers out
        is_barrier = incoming.kind == EventKind.BARRIER
        gate = ~is_barrier | (lead <= 0)
        m.d.comb += [
            network.i[host].payload.eq(self.host_in.payload),
            network.i[host].valid.eq(self.host_in.valid & gate),
            self.host_in.ready.eq(network.i[host].ready & gate),
            self.host_out.payload.eq(network.o[host].payload),
            self.host_out.valid.eq(network.o[host].valid),
            network.o[host].ready.eq(self.host_out.ready),
        ]
        barrier_in = self.host_in.valid & self.host_in.ready & is_barrier
        barrier_out = (
            self.host_out.valid & self.host_out.ready & (outgoing.kind == EventKind.BARRIER)
        )
        with m.If(barrier_in & ~barrier_out):
            m.d.sync += lead.eq(lead + 1)
        with m.Elif(barrier_out & ~barrier_in):
            m.d.sync += lead.eq(lead - 1)

        if self.counters:
            # Words through the host port, since reset, saturating.
            for name, port in (("host_words_in", self.host_in), ("host_words_out", self.host_out)):
                count = Signal(ACTIVITY_COUNTER_WIDTH, name=f"{name}_count")
                counter = getattr(self, name)
                m.d.comb += counter.eq(count)
                with m.If(port.valid & port.ready & (count != (1 << ACTIVITY_COUNTER_WIDTH) - 1)):
                    m.d.sync += count.eq(count + 1)
            self._count_hops_and_cycles(m, network)

        # ---- Router drop reports: always taken, counted.
        router_drops = Signal(COUNTER_WIDTH)
        m.d.comb += self.router_drops.eq(router_drops)
        drops = [d.valid for d in network.dropped]
        for d in network.dropped:
            m.d.comb += d.ready.eq(1)
        # Several routers may report in one cycle: add them all (saturating).
        total = sum(drops)
        bumped = Signal(COUNTER_WIDTH + 3)
        m.d.comb += bumped.eq(router_drops + total)
        m.d.sync += router_drops.eq(
            Mux(bumped >> COUNTER_WIDTH != 0, (1 << COUNTER_WIDTH) - 1, bumped)
        )

        # ---- Debug command port.
        if self.debug:
            cmd = self.dbg_cmd.payload
            busy = Signal()
            target_core = Signal(range(max(2, n)))
            bad = Signal()
            # A core outside the chip, or an address wider than the core's field, is refused
            # here (error response) instead of being truncated into another neuron's address.
            # (Unconditional expressions only: see CoreIngress on Icarus and `always @*`.)
            bad_now = Signal()
            forward_ready = Signal()
            bad_terms = [cmd.core >= n]
            ready_terms = []
            for c in range(n):
                port = self.ingress[c].dbg_cmd
                fields = self.cores[c].cmd_layout
                neuron_width = fields["neuron"].shape.width
                axon_width = fields["axon"].shape.width
                selected = cmd.core == c
                excess = Cat(cmd.neuron[neuron_width:], cmd.axon[axon_width:])
                if len(excess):
                    bad_terms.append(selected & excess.any())
                ready_terms.append(selected & port.ready)
                m.d.comb += [
                    port.payload.write.eq(cmd.write),
                    port.payload.target.eq(cmd.target),
                    port.payload.neuron.eq(cmd.neuron[:neuron_width]),
                    port.payload.axon.eq(cmd.axon[:axon_width]),
                    port.payload.data.eq(cmd.data),
                    port.valid.eq(self.dbg_cmd.valid & ~busy & selected & ~bad_now),
                ]
            m.d.comb += [
                bad_now.eq(Cat(*bad_terms).any()),
                forward_ready.eq(Cat(*ready_terms).any()),
                self.dbg_cmd.ready.eq(~busy & (bad_now | forward_ready)),
            ]
            with m.If(self.dbg_cmd.valid & self.dbg_cmd.ready):
                m.d.sync += [busy.eq(1), target_core.eq(cmd.core), bad.eq(bad_now)]
            # The response is registered (valid from a flip-flop).
            rsp_valid = Signal()
            rsp_data = Signal(self.dbg_rsp_layout["data"].shape)
            rsp_error = Signal()
            for c in range(n):
                port = self.ingress[c].dbg_rsp
                selected = busy & ~bad & ~rsp_valid & (target_core == c)
                m.d.comb += port.ready.eq(selected)
                with m.If(selected & port.valid):
                    m.d.sync += [
                        rsp_valid.eq(1),
                        rsp_data.eq(port.payload.data),
                        rsp_error.eq(port.payload.error),
                    ]
            with m.If(busy & bad & ~rsp_valid):
                m.d.sync += [rsp_valid.eq(1), rsp_data.eq(0), rsp_error.eq(1)]
            m.d.comb += [
                self.dbg_rsp.valid.eq(rsp_valid),
                self.dbg_rsp.payload.data.eq(rsp_data),
                self.dbg_rsp.payload.error.eq(rsp_error),
            ]
            with m.If(self.dbg_rsp.valid & self.dbg_rsp.ready):
                m.d.sync += [busy.eq(0), rsp_valid.eq(0)]
        return m
