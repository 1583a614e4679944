"""Multicast address-event router with virtual output queues and per-step barriers.

Structure (``n`` ports, ``D = fifo_depth``)::

    i[k] ──► route lookup (ordered key/mask, first match) ──► VOQ[k][0..n-1] (+ drop queue k)
                                                                   │
    o[j] ◄── output register ◄── round-robin over VOQ[0..n-1][j] ◄─┘   dropped ◄── same, over drop queues

* An input event is written, in one cycle, into the queue of *every* output it selects, or into
  none: ``i[k].ready`` is high only when all those queues have room. Multicast is therefore
  atomic: never a duplicate, never a partial delivery, and an input whose branch is blocked
  waits (SpiNNaker's rule: hold the input until every selected output has taken the event).
* Queues are per (input, output) pair, so a blocked output never blocks traffic of the same
  input to other outputs beyond the one event it holds: no head-of-line blocking between
  outputs. Each output takes one event per cycle; events from one input to one output stay in
  order.
* Barriers (``kind == BARRIER``): a barrier on input ``k`` is queued to every output ``j`` with
  ``k`` in ``barrier_sources[j]``; output ``j`` forwards one barrier once it heads the queues of
  all its sources, so every event those inputs sent before their barrier has gone out first, and
  none they sent after it can overtake it.
* Keys that match nothing take ``table.default``: ports, or :data:`~neurohw.routing.DROP`, which
  sends the event with reason ``UNMATCHED`` and its input port to the ``dropped`` stream (itself
  back-pressured: a report is never lost).

* Arbitration is round robin with a registered grant: the queue an output takes from in a cycle
  was chosen in the previous cycle among the queues that may then have a sendable head (see
  ``docs/router.md``), so the arbitration logic never sits between a queue's state and the
  output register or the queue's pop.

Latency: an event accepted at clock edge ``t`` is offered on its outputs from edge ``t + 1`` and
can leave at edge ``t + 2`` (2 cycles per hop). ``i[k].ready`` depends combinationally on
``i[k].payload`` (the lookup); every ``valid`` and ``payload`` comes from a register. With
``input_stage=True`` the lookup result is registered first (3 cycles per hop, ``ready`` from
registers, each of lookup, queue write and arbitration one register-to-register stage: the
configuration for Fmax).
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..routing import DROP, EventFormat, RoutingTable, check_barrier_sources
from .event import DropReason, EventKind, dropped_layout, event_layout

__all__ = [
    "OutputArbiter",
    "RegisterFIFO",
    "RouteLookup",
    "Router",
    "StatusCounters",
    "StatusSignature",
    "status_addresses",
]


class RegisterFIFO(wiring.Component):
    """First-word-fall-through FIFO in flip-flops, for the small queues of a router.

    A ring of ``depth`` registers with read and write pointers: where a write lands does not
    depend on whether the same cycle reads, which keeps the router's arbitration (which reads)
    and its input side (which writes) apart in timing. ``w_en`` is ignored while ``w_rdy`` is
    low and ``r_en`` while ``r_rdy`` is low, as in :mod:`amaranth.lib.fifo`. ``w_rdy`` is "not
    full" (no same-cycle pass-through), so it never depends on ``r_en``. A word written at edge
    ``t`` is readable from edge ``t + 1``.
    """

    def __init__(self, *, width: int, depth: int):
        if not isinstance(width, int) or width < 1:
            raise TypeError(f"FIFO width must be a positive integer, not {width!r}")
        if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {depth!r}")
        self.width = width
        self.depth = depth
        super().__init__(
            {
                "w_data": In(width),
                "w_en": In(1),
                "w_rdy": Out(1),
                "r_data": Out(width),
                "r_en": In(1),
                "r_rdy": Out(1),
                "level": Out(range(depth + 1)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        storage = [Signal(self.width, name=f"entry{n}") for n in range(depth)]
        # Binary pointers (one bit for depth 2): the head is a `depth`-way mux of registers.
        w_ptr = Signal(range(depth))
        r_ptr = Signal(range(depth))
        full = Signal()
        empty = Signal(init=1)
        do_write = Signal()
        do_read = Signal()
        m.d.comb += [
            self.w_rdy.eq(~full),
            self.r_rdy.eq(~empty),
            self.r_data.eq(Array(storage)[r_ptr] if depth > 1 else storage[0]),
            do_write.eq(self.w_en & ~full),
            do_read.eq(self.r_en & ~empty),
        ]

        def advance(pointer):
            if depth == 1:
                return pointer
            if depth & (depth - 1) == 0:
                return pointer + 1
            return Mux(pointer == depth - 1, 0, pointer + 1)

        for n in range(depth):
            with m.If(do_write & ((w_ptr == n) if depth > 1 else 1)):
                m.d.sync += storage[n].eq(self.w_data)
        with m.If(do_write):
            m.d.sync += w_ptr.eq(advance(w_ptr))
        with m.If(do_read):
            m.d.sync += r_ptr.eq(advance(r_ptr))
        with m.If(do_write & ~do_read):
            m.d.sync += [
                self.level.eq(self.level + 1),
                empty.eq(0),
                full.eq(self.level == depth - 1),
            ]
        with m.Elif(do_read & ~do_write):
            m.d.sync += [self.level.eq(self.level - 1), full.eq(0), empty.eq(self.level == 1)]
        return m


def status_addresses(n_ports: int) -> dict[str, int]:
    """Status counter addresses of an ``n_ports`` router: ``in<k>``, ``out<k>``, ``unmatched``,
    ``dropped``, ``hwm<k>`` (the largest queue level input ``k`` reached)."""
    addresses = {f"in{k}": k for k in range(n_ports)}
    addresses |= {f"out{k}": n_ports + k for k in range(n_ports)}
    addresses |= {"unmatched": 2 * n_ports, "dropped": 2 * n_ports + 1}
    addresses |= {f"hwm{k}": 2 * n_ports + 2 + k for k in range(n_ports)}
    return addresses


class StatusSignature(wiring.Signature):
    """Counter read port: drive ``addr``, read ``data`` one cycle later (0 for no counter)."""

    def __init__(self, n_ports: int, counter_width: int):
        super().__init__(
            {
                "addr": In(range(len(status_addresses(n_ports)))),
                "data": Out(counter_width),
            }
        )


class Router(wiring.Component):
    """An ``table.n_ports``-port multicast event router (see the module documentation).

    Parameters
    ----------
    table : :class:`~neurohw.routing.RoutingTable`
        Ordered key/mask entries and the default; its ``n_ports`` is the router's.
    fmt : :class:`~neurohw.routing.EventFormat`
        Event format on every port; its ``key_width`` must equal the table's.
    fifo_depth : int
        Depth of each of the ``n_ports * n_ports`` virtual output queues (and of each drop
        queue). 2 sustains one event per cycle per queue.
    barrier_sources : sequence of sets, optional
        For each output, the inputs whose barrier it waits for. Default: every input.
    counter_width : int
        Width of the status counters (they wrap).
    input_stage : bool
        Register the route lookup at each input (a skid stage in front of the queues): 3
        cycles per hop instead of 2, but ``i[k].ready`` then comes from registers and the
        lookup no longer sits on a path with the arbitration, for a higher Fmax.

    Members
    -------
    i : In(stream.Signature(event_layout(fmt))).array(n_ports)
    o : Out(stream.Signature(event_layout(fmt))).array(n_ports)
    dropped : Out(stream.Signature(dropped_layout(fmt, n_ports)))
        Never valid unless the default is ``DROP``.
    status : Out(StatusSignature(n_ports, counter_width))
        Counters at :func:`status_addresses`.
    """

    def __init__(
        self,
        table: RoutingTable,
        *,
        fmt: EventFormat = EventFormat(),
        fifo_depth: int = 2,
        barrier_sources=None,
        counter_width: int = 16,
        input_stage: bool = False,
    ):
        if not isinstance(table, RoutingTable):
            raise TypeError(f"table must be a RoutingTable, not {table!r}")
        if not isinstance(fmt, EventFormat):
            raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
        if table.key_width != fmt.key_width:
            raise ValueError(
                f"routing table key_width {table.key_width} does not match the "
                f"event format's key_width {fmt.key_width}"
            )
        if not isinstance(fifo_depth, int) or isinstance(fifo_depth, bool) or fifo_depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {fifo_depth!r}")
        if (
            not isinstance(counter_width, int)
            or isinstance(counter_width, bool)
            or not 1 <= counter_width <= 64
        ):
            raise ValueError(
                f"counter_width must be an integer between 1 and 64, not {counter_width!r}"
            )
        if not isinstance(input_stage, bool):
            raise TypeError(f"input_stage must be a bool, not {input_stage!r}")
        self.input_stage = input_stage
        self.table = table
        self.fmt = fmt
        self.n_ports = table.n_ports
        self.fifo_depth = fifo_depth
        self.counter_width = counter_width
        self.barrier_sources = check_barrier_sources(barrier_sources, table.n_ports)
        self.event_layout = event_layout(fmt)
        self.dropped_layout = dropped_layout(fmt, table.n_ports)
        event = stream.Signature(self.event_layout)
        super().__init__(
            {
                "i": In(event).array(self.n_ports),
                "o": Out(event).array(self.n_ports),
                "dropped": Out(stream.Signature(self.dropped_layout)),
                "status": Out(StatusSignature(self.n_ports, counter_width)),
            }
        )

    @property
    def drops(self) -> bool:
        """Whether this router can drop (its default is ``DROP``)."""
        return self.table.default is DROP

    def elaborate(self, platform):
        m = Module()
        n = self.n_ports
        columns = n + 1 if self.drops else n

        # Each queue word is the event plus a flag "is a barrier" (bit `width`), decoded once
        # on the input side so that the arbiters test one bit of the head.
        queues = [
            [RegisterFIFO(width=self.fmt.width + 1, depth=self.fifo_depth) for _ in range(columns)]
            for _ in range(n)
        ]
        for k in range(n):
            for j in range(columns):
                m.submodules[f"voq_{k}_{j}"] = queues[k][j]
        self._queues = queues  # for the formal harness (tests/formal), which reads the levels

        self._stages = []  # (valid, route) of each input stage, for the formal harness
        lookups, incoming = [], []
        for k in range(n):
            m.submodules[f"lookup{k}"] = lookup = RouteLookup(
                self.table, fmt=self.fmt, port=k, barrier_sources=self.barrier_sources
            )
            m.d.comb += lookup.event.eq(self.i[k].payload)
            lookups.append(lookup)
            incoming.append(self._input_side(m, k, lookup.route, queues[k]))

        for j in range(columns):
            is_drop = j == n
            m.submodules[f"arbiter{j}"] = arbiter = OutputArbiter(
                n,
                fmt=self.fmt,
                barrier_sources=() if is_drop else self.barrier_sources[j],
                drop_output=is_drop,
            )
            for k in range(n):
                # The arbiter's look-ahead: an event (not a barrier) offered to this queue.
                offered, offered_barrier = incoming[k]
                m.d.comb += [
                    arbiter.head_valid[k].eq(queues[k][j].r_rdy),
                    arbiter.head_data[k].eq(queues[k][j].r_data),
                    arbiter.incoming[k].eq(offered[j] & ~offered_barrier),
                    queues[k][j].r_en.eq(arbiter.head_pop[k]),
                ]
            wiring.connect(m, wiring.flipped(self.dropped if is_drop else self.o[j]), arbiter.o)

        m.submodules.counters = counters = StatusCounters(
            n, counter_width=self.counter_width, fifo_depth=self.fifo_depth, n_queues=columns
        )
        for k in range(n):
            port = self.i[k]
            m.d.comb += [
                counters.in_transfer[k].eq(port.valid & port.ready),
                counters.unmatched[k].eq(
                    port.valid
                    & port.ready
                    & ~lookups[k].matched
                    & (port.payload.kind != EventKind.BARRIER)
                ),
                *[counters.level[k][j].eq(queues[k][j].level) for j in range(columns)],
            ]
        for j in range(n):
            m.d.comb += counters.out_transfer[j].eq(self.o[j].valid & self.o[j].ready)
        m.d.comb += counters.dropped.eq(self.dropped.valid & self.dropped.ready)
        wiring.connect(m, wiring.flipped(self.status), counters.status)
        return m

    def _input_side(self, m, k, route, queues):
        """Write the event on input ``k`` into every queue of ``queues`` its ``route`` selects, at
        once (``port.ready`` only when all have room), directly or through the input stage.

        Returns what the arbiters may see written this cycle, for their look-ahead: the mask of
        the queues the event is offered to (whether or not they all have room), and whether it
        is a barrier.
        """
        port = self.i[k]
        width = self.fmt.width
        columns = len(queues)
        room = Cat(queue.w_rdy for queue in queues)
        transfer = port.valid & port.ready
        word = Cat(port.payload.as_value(), port.payload.kind == EventKind.BARRIER)
        if not self.input_stage:
            # Bit n of the route (drop) is set only if drops exist.
            m.d.comb += port.ready.eq(~(route[:columns] & ~room).any())
            write_mask = Mux(transfer, route[:columns], 0)
            write_data = word
            offered = Mux(port.valid, route[:columns], 0)
        else:
            stage_valid = Signal(name=f"stage{k}_valid")
            stage_data = Signal(width + 1, name=f"stage{k}_data")
            stage_route = Signal(columns, name=f"stage{k}_route")
            can_go = Signal(name=f"stage{k}_go")
            m.d.comb += [
                can_go.eq(stage_valid & ~(stage_route & ~room).any()),
                port.ready.eq(~stage_valid | can_go),
            ]
            with m.If(transfer):
                m.d.sync += [
                    stage_valid.eq(1),
                    stage_data.eq(word),
                    stage_route.eq(route[:columns]),
                ]
            with m.Elif(can_go):
                m.d.sync += stage_valid.eq(0)
            write_mask = Mux(can_go, stage_route, 0)
            write_data = stage_data
            offered = Mux(stage_valid, stage_route, 0)
            self._stages.append((stage_valid, stage_route))
        for j, queue in enumerate(queues):
            m.d.comb += [queue.w_data.eq(write_data), queue.w_en.eq(write_mask[j])]
        return offered, write_data[width]


class RouteLookup(wiring.Component):
    """The route of the event on input ``port`` of a router: which outputs it goes to.

    Parameters
    ----------
    table : :class:`~neurohw.routing.RoutingTable`
    fmt : :class:`~neurohw.routing.EventFormat`
    port : int
        The input; a barrier goes to the outputs whose ``barrier_sources`` name it.
    barrier_sources : sequence of sets
        For each output, the inputs whose barrier it waits for.

    Members
    -------
    event : In(event_layout(fmt))
    route : Out(n_ports + 1)
        Bit ``j``: output ``j``; bit ``n_ports``: the drop queue. A barrier takes its barrier
        mask, an event no entry matches the table's default.
    matched : Out(1)
        Some table entry matched the key (whatever the kind).

    First match wins, computed flat rather than as a chain of muxes: entry ``e`` hits when it
    matches and no *earlier overlapping entry with different ports* matches (entries that cannot
    both match, or that agree, need no priority), and output bit ``j`` is the OR of the hits of
    the entries naming ``j``.
    """

    def __init__(self, table: RoutingTable, *, fmt: EventFormat, port: int, barrier_sources):
        if not isinstance(table, RoutingTable):
            raise TypeError(f"table must be a RoutingTable, not {table!r}")
        if not isinstance(fmt, EventFormat) or fmt.key_width != table.key_width:
            raise ValueError(
                f"event format must be an EventFormat with the table's key_width "
                f"{table.key_width}, not {fmt!r}"
            )
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < table.n_ports:
            raise ValueError(
                f"port must be an input between 0 and {table.n_ports - 1}, not {port!r}"
            )
        self.table = table
        self.port = port
        self.barrier_sources = check_barrier_sources(barrier_sources, table.n_ports)
        super().__init__(
            {
                "event": In(event_layout(fmt)),
                "route": Out(table.n_ports + 1),
                "matched": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n = self.table.n_ports
        entries = self.table.entries
        match = Signal(len(entries))
        hit = Signal(len(entries))
        for e, entry in enumerate(entries):
            m.d.comb += match[e].eq((self.event.key & entry.mask) == entry.key)
            overriding = [
                o
                for o, other in enumerate(entries[:e])
                if (other.key ^ entry.key) & other.mask & entry.mask == 0
                and other.ports != entry.ports
            ]
            m.d.comb += hit[e].eq(
                match[e] & ~Cat(match[o] for o in overriding).any() if overriding else match[e]
            )
        barrier_mask = sum(1 << j for j in range(n) if self.port in self.barrier_sources[j])
        default = self.table.default
        default_mask = (1 << n) if default is DROP else sum(1 << j for j in default or ())
        table_route = Cat(
            *[
                Cat(hit[e] for e, entry in enumerate(entries) if j in entry.ports).any()
                for j in range(n)
            ],
            Const(0, 1),
        )
        m.d.comb += self.matched.eq(match.any() if entries else 0)
        m.d.comb += self.route.eq(
            Mux(
                self.event.kind == EventKind.BARRIER,
                barrier_mask,
                Mux(self.matched, table_route, default_mask),
            )
        )
        return m


class OutputArbiter(wiring.Component):
    """One output of a router: round robin over the heads of its queues (one per input), the
    barrier of its sources, and the output register.

    Parameters
    ----------
    n_inputs : int
    fmt : :class:`~neurohw.routing.EventFormat`
    barrier_sources : set of int
        The inputs whose barrier this output waits for (none for the drop output).
    drop_output : bool
        The output is the router's ``dropped`` stream: it reports each event it takes with
        reason ``UNMATCHED`` and the input it came from.

    Members
    -------
    head_valid : In(1).array(n_inputs); head_data : In(fmt.width + 1).array(n_inputs)
        Each queue's ``r_rdy`` and ``r_data`` (the event and, in bit ``fmt.width``, whether it
        is a barrier).
    head_pop : Out(1).array(n_inputs)
        Each queue's ``r_en``.
    incoming : In(n_inputs)
        Bit ``k``: an event that is not a barrier is offered to queue ``k`` in this cycle (it
        may be written whether or not the arbiter sees it).
    o : Out(stream of event, or of dropped_layout(fmt, n_inputs) for the drop output)
    """

    def __init__(
        self, n_inputs: int, *, fmt: EventFormat, barrier_sources=(), drop_output: bool = False
    ):
        if not isinstance(n_inputs, int) or isinstance(n_inputs, bool) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive integer, not {n_inputs!r}")
        if not isinstance(fmt, EventFormat):
            raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
        sources = tuple(sorted(barrier_sources))
        if any(not 0 <= k < n_inputs for k in sources):
            raise ValueError(
                f"barrier sources must be inputs between 0 and {n_inputs - 1}, not {sources}"
            )
        if drop_output and sources:
            raise ValueError(
                f"the drop output forwards no barrier, so it has no barrier sources, not {sources}"
            )
        self.n_inputs = n_inputs
        self.fmt = fmt
        self.barrier_sources = sources
        self.drop_output = bool(drop_output)
        layout = dropped_layout(fmt, n_inputs) if drop_output else event_layout(fmt)
        super().__init__(
            {
                "head_valid": In(1).array(n_inputs),
                "head_data": In(fmt.width + 1).array(n_inputs),
                "head_pop": Out(1).array(n_inputs),
                "incoming": In(n_inputs),
                "o": Out(stream.Signature(layout)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n = self.n_inputs
        width = self.fmt.width
        sources = self.barrier_sources
        out = self.o
        head_event = [self.head_data[k][:width] for k in range(n)]
        barrier_head = [self.head_valid[k] & self.head_data[k][width] for k in range(n)]
        # A head that may be sent (a barrier waits for its partners instead).
        request = Signal(n)
        m.d.comb += request.eq(
            Cat(self.head_valid[k] & ~self.head_data[k][width] for k in range(n))
        )
        accept = Signal()
        m.d.comb += accept.eq(~out.valid | out.ready)

        # Registered grant. `grant` (one-hot) names the queue this output takes from in the
        # current cycle; it was chosen in the previous cycle, round robin starting above the
        # previous grant, among the queues that may have a sendable head now: those with one
        # then (a queue granted then is included, it may hold a second event) and those
        # being written then. A guess that turns out empty (or a barrier) costs one idle
        # cycle of this output and nothing else: the take is checked against the head.
        # So no queue state reaches the data path or the pops through the arbitration.
        grant = Signal(n)
        predicted = Signal(n)
        m.d.comb += predicted.eq(request | self.incoming)
        eligible = _above(grant, n)
        masked = predicted & eligible
        with m.If(accept):
            m.d.sync += grant.eq(
                Mux(masked.any(), _lowest_set(masked, n), _lowest_set(predicted, n))
            )

        # Barriers: every source's head is a barrier. Registered: heads that are barriers
        # stay until this output forwards them (they request nothing), so the condition
        # seen one cycle late still holds, unless that cycle forwarded them.
        barrier_ready = Signal()
        if sources:
            with m.If(accept):
                m.d.sync += barrier_ready.eq(
                    Cat(barrier_head[k] for k in sources).all() & ~barrier_ready
                )

        take = Signal(n)
        m.d.comb += take.eq(Mux(barrier_ready, 0, grant & request))
        granted = Signal(width)
        m.d.comb += granted.eq(
            _or_reduce([Mux(grant[k], head_event[k], 0) for k in range(n)], width)
        )

        # The output register loads whenever it may (its enable depends only on valid and
        # ready); what it loads is chosen by the registered grant and barrier flag.
        with m.If(accept):
            m.d.sync += out.valid.eq(barrier_ready | take.any())
            if self.drop_output:
                port_index = Signal(range(max(2, n)), name="dropped_port")
                for k in range(n):
                    with m.If(grant[k]):
                        m.d.comb += port_index.eq(k)
                m.d.sync += [
                    out.payload.event.eq(granted),
                    out.payload.reason.eq(DropReason.UNMATCHED),
                    out.payload.port.eq(port_index),
                ]
            elif sources:
                m.d.sync += out.payload.eq(Mux(barrier_ready, head_event[sources[0]], granted))
            else:
                m.d.sync += out.payload.eq(granted)
        for k in range(n):
            take_barrier = barrier_ready if k in sources else Const(0)
            m.d.comb += self.head_pop[k].eq(accept & (take[k] | take_barrier))
        return m


class StatusCounters(wiring.Component):
    """A router's status counters (:func:`status_addresses`) and their read port.

    Every increment is registered first (the counters lag the transfers by one or two
    cycles), so that no counter adder hangs off the route lookup.

    Members
    -------
    in_transfer, out_transfer, unmatched : In(n_ports)
        Per port, in this cycle: an event accepted on the input, sent on the output, accepted
        on the input without matching a table entry (barriers excluded).
    dropped : In(1)
        A report left on the ``dropped`` stream.
    level : In(range(fifo_depth + 1)).array(n_ports, n_queues)
        The level of each queue of each input (for the high-water marks).
    status : Out(StatusSignature(n_ports, counter_width))
    """

    def __init__(self, n_ports: int, *, counter_width: int, fifo_depth: int, n_queues: int):
        for name, value in [
            ("n_ports", n_ports),
            ("counter_width", counter_width),
            ("fifo_depth", fifo_depth),
            ("n_queues", n_queues),
        ]:
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        self.n_ports = n_ports
        self.counter_width = counter_width
        self.fifo_depth = fifo_depth
        super().__init__(
            {
                "in_transfer": In(n_ports),
                "out_transfer": In(n_ports),
                "unmatched": In(n_ports),
                "dropped": In(1),
                "level": In(range(fifo_depth + 1)).array(n_ports, n_queues),
                "status": Out(StatusSignature(n_ports, counter_width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n = self.n_ports
        cw = self.counter_width
        in_count = [Signal(cw, name=f"in_count{k}") for k in range(n)]
        out_count = [Signal(cw, name=f"out_count{j}") for j in range(n)]
        unmatched = Signal(cw)
        dropped = Signal(cw)
        hwm = [Signal(range(self.fifo_depth + 1), name=f"hwm{k}") for k in range(n)]
        in_seen = Signal(n)
        out_seen = Signal(n)
        unmatched_seen = Signal(n)
        unmatched_inc = Signal(range(n + 1))
        dropped_seen = Signal()
        m.d.sync += [
            in_seen.eq(self.in_transfer),
            out_seen.eq(self.out_transfer),
            unmatched_seen.eq(self.unmatched),
            unmatched_inc.eq(sum(unmatched_seen[k] for k in range(n))),
            dropped_seen.eq(self.dropped),
        ]
        for k in range(n):
            m.d.sync += in_count[k].eq(in_count[k] + in_seen[k])
            # High-water mark as a thermometer: reached[v - 1] once some queue of input k
            # held v words.
            reached = Signal(self.fifo_depth, name=f"reached{k}")
            for v in range(1, self.fifo_depth + 1):
                m.d.sync += reached[v - 1].eq(
                    reached[v - 1] | Cat(level >= v for level in self.level[k]).any()
                )
            m.d.comb += hwm[k].eq(sum(reached[v] for v in range(self.fifo_depth)))
        for j in range(n):
            m.d.sync += out_count[j].eq(out_count[j] + out_seen[j])
        m.d.sync += [
            unmatched.eq(unmatched + unmatched_inc),
            dropped.eq(dropped + dropped_seen),
        ]
        counters = in_count + out_count + [unmatched, dropped] + hwm
        m.d.sync += self.status.data.eq(0)
        with m.Switch(self.status.addr):
            for address, counter in enumerate(counters):
                with m.Case(address):
                    m.d.sync += self.status.data.eq(counter)
        return m


def _lowest_set(value, width):
    """One-hot lowest set bit of ``value`` (0 if none), as prefix ORs."""
    bits = []
    for index in range(width):
        below = Cat(value[:index]).any() if index else Const(0)
        bits.append(value[index] & ~below)
    return Cat(*bits)


def _above(one_hot, width):
    """Mask of the bits strictly above the set bit of ``one_hot``."""
    return Cat(*[Cat(one_hot[:index]).any() if index else Const(0) for index in range(width)])


def _or_reduce(values, width):
    result = Const(0, width)
    for value in values:
        result = result | value
    return result
