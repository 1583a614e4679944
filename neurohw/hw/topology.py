"""Router networks generated from a description: a star (one crossbar router) or a 2D mesh of
5-port routers with X-then-Y routing, tables compiled from connectivity by
:func:`neurohw.routing.compile_star` / :func:`neurohw.routing.compile_mesh`.

Both present one event stream pair per core: ``i[c]`` (events core ``c`` injects: its spikes,
then a barrier per step) and ``o[c]`` (events delivered to core ``c``: the spikes of every step
``t`` from the cores that target it, then one barrier ``t``).
"""

from amaranth.hdl import Cat, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..routing import (
    EAST,
    LOCAL,
    MESH_PORTS,
    NORTH,
    SOUTH,
    WEST,
    EventFormat,
    MeshTopology,
    NetworkPlan,
    StarTopology,
    compile_mesh,
    compile_star,
)
from .event import EventKind, dropped_layout, event_layout
from .router import Router

__all__ = ["StarNetwork", "MeshNetwork"]


def _check_common(fmt, fifo_depth):
    if not isinstance(fmt, EventFormat):
        raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
    if not isinstance(fifo_depth, int) or isinstance(fifo_depth, bool) or fifo_depth < 1:
        raise ValueError(f"FIFO depth must be a positive integer, not {fifo_depth!r}")


def _check_hops(hops):
    if not isinstance(hops, bool):
        raise TypeError(f"hops must be True or False, not {hops!r}")
    return hops


def hop_signals(routers):
    """One bit per output port of each router in ``routers`` (router by router, port by port):
    an event that is not a barrier (a spike or control word) leaves that output this cycle.
    Their sum over a run is the network's router hops (``docs/system-hardware.md``, "Activity
    counters"); barriers are flow control, not traffic, and are not counted."""
    return Cat(
        port.valid & port.ready & (port.payload.kind != EventKind.BARRIER)
        for router in routers
        for port in router.o
    )


class _RouterNetwork(wiring.Component):
    """What :class:`StarNetwork` and :class:`MeshNetwork` share: their options, checked, and
    their compiled routing plan."""

    def _compile(
        self, compile_plan, topology, connectivity, fmt, fifo_depth, max_entries, hops
    ) -> EventFormat:
        """Check and keep the options (``fmt`` default: the topology's key width), compile the
        routing plan with ``compile_plan``; returns the event format."""
        fmt = fmt or EventFormat(key_width=topology.key_width)
        _check_common(fmt, fifo_depth)
        self.count_hops = _check_hops(hops)
        kwargs = {} if max_entries is None else {"max_entries": max_entries}
        self.plan: NetworkPlan = compile_plan(topology, connectivity, **kwargs)
        self.topology = topology
        self.fmt = fmt
        self.fifo_depth = fifo_depth
        return fmt


class StarNetwork(_RouterNetwork):
    """All cores on one router (a crossbar): core ``c`` on port ``c``.

    Members: ``i``/``o`` (one event stream per core), ``dropped`` (the router's drop reports;
    a compiled table drops only keys nobody declared); with ``hops=True`` also ``hops``
    (:func:`hop_signals`).
    """

    def __init__(
        self,
        topology: StarTopology,
        connectivity,
        *,
        fmt: EventFormat = None,
        fifo_depth: int = 2,
        max_entries: int = None,
        hops: bool = False,
    ):
        fmt = self._compile(
            compile_star, topology, connectivity, fmt, fifo_depth, max_entries, hops
        )
        router_plan = self.plan.routers[0]
        self._router = Router(
            router_plan.table,
            fmt=fmt,
            fifo_depth=fifo_depth,
            barrier_sources=router_plan.barrier_sources,
        )
        event = stream.Signature(event_layout(fmt))
        members = {
            "i": In(event).array(topology.n_cores),
            "o": Out(event).array(topology.n_cores),
            "dropped": Out(stream.Signature(dropped_layout(fmt, topology.n_cores))).array(1),
        }
        if self.count_hops:
            members["hops"] = Out(topology.n_cores)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        m.submodules.router = router = self._router
        for c in range(self.topology.n_cores):
            wiring.connect(m, wiring.flipped(self.i[c]), router.i[c])
            wiring.connect(m, router.o[c], wiring.flipped(self.o[c]))
        wiring.connect(m, router.dropped, wiring.flipped(self.dropped[0]))
        m.d.comb += router.status.addr.eq(0)
        if self.count_hops:
            m.d.comb += self.hops.eq(hop_signals([router]))
        return m


class MeshNetwork(_RouterNetwork):
    """A ``width`` x ``height`` mesh: router ``(x, y)`` links its :data:`EAST` port to the
    :data:`WEST` port of ``(x + 1, y)`` and its :data:`NORTH` port to the :data:`SOUTH` port
    of ``(x, y + 1)``; core ``c`` sits on the :data:`LOCAL` port of router ``cores[c]``.
    Ports on the mesh edge are tied off (no input; output never ready, and never routed to).

    Members: ``i``/``o`` (one event stream per core), ``dropped`` (one per router); with
    ``hops=True`` also ``hops`` (:func:`hop_signals`, router ``r``'s port ``p`` at bit
    ``r * MESH_PORTS + p``).
    """

    def __init__(
        self,
        topology: MeshTopology,
        connectivity,
        *,
        fmt: EventFormat = None,
        fifo_depth: int = 2,
        max_entries: int = None,
        hops: bool = False,
    ):
        fmt = self._compile(
            compile_mesh, topology, connectivity, fmt, fifo_depth, max_entries, hops
        )
        self._routers = [
            Router(plan.table, fmt=fmt, fifo_depth=fifo_depth, barrier_sources=plan.barrier_sources)
            for plan in self.plan.routers
        ]
        event = stream.Signature(event_layout(fmt))
        n_cores = len(topology.cores)
        members = {
            "i": In(event).array(n_cores),
            "o": Out(event).array(n_cores),
            "dropped": Out(stream.Signature(dropped_layout(fmt, MESH_PORTS))).array(
                len(self._routers)
            ),
        }
        if self.count_hops:
            members["hops"] = Out(MESH_PORTS * len(self._routers))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        t = self.topology
        for index, router in enumerate(self._routers):
            m.submodules[f"router_{index % t.width}_{index // t.width}"] = router
            wiring.connect(m, router.dropped, wiring.flipped(self.dropped[index]))
            m.d.comb += router.status.addr.eq(0)
        used_in, used_out = set(), set()

        def link(source, out_port, target, in_port):
            wiring.connect(m, self._routers[source].o[out_port], self._routers[target].i[in_port])
            used_out.add((source, out_port))
            used_in.add((target, in_port))

        for y in range(t.height):
            for x in range(t.width):
                here = t.router_index(x, y)
                if x + 1 < t.width:
                    east = t.router_index(x + 1, y)
                    link(here, EAST, east, WEST)
                    link(east, WEST, here, EAST)
                if y + 1 < t.height:
                    north = t.router_index(x, y + 1)
                    link(here, NORTH, north, SOUTH)
                    link(north, SOUTH, here, NORTH)
        for core, (x, y) in enumerate(t.cores):
            router = self._routers[t.router_index(x, y)]
            wiring.connect(m, wiring.flipped(self.i[core]), router.i[LOCAL])
            wiring.connect(m, router.o[LOCAL], wiring.flipped(self.o[core]))
            used_in.add((t.router_index(x, y), LOCAL))
            used_out.add((t.router_index(x, y), LOCAL))
        for index, router in enumerate(self._routers):
            for port in (LOCAL, NORTH, EAST, SOUTH, WEST):
                if (index, port) not in used_in:
                    m.d.comb += router.i[port].valid.eq(0)
                if (index, port) not in used_out:
                    m.d.comb += router.o[port].ready.eq(0)
        if self.count_hops:
            m.d.comb += self.hops.eq(hop_signals(self._routers))
        return m
