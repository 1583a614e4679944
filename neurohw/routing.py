"""Address-event routing in plain Python: the event format, routing tables, the router model
used as scoreboard, and the compiler from network connectivity to per-router tables.

Nothing here imports Amaranth. The hardware (:mod:`neurohw.hw.event`, :mod:`neurohw.hw.router`,
:mod:`neurohw.hw.topology`) is generated from the same objects, so the Python side and the
hardware cannot disagree about a field offset or a route.

* :class:`EventFormat` -- the fields of an address event (kind, key, step tag, optional payload),
  their widths and bit offsets, and :meth:`~EventFormat.pack` / :meth:`~EventFormat.unpack`.
* :class:`RoutingTable` -- an ordered key/mask table, first match wins, each entry naming a set
  of output ports (multicast), with a default for keys that match nothing: a port set or
  :data:`DROP` (drop and report). Bad tables are refused at construction.
* :class:`RouterModel` -- what one router does with every event, from the same table; and
  :func:`check_router_run`, the scoreboard comparing what a router delivered with the model.
* :class:`StarTopology`, :class:`MeshTopology` -- network descriptions compiled into tables
  (:func:`compile_star`, :func:`compile_mesh`) from a connectivity ``{source key: target cores}``.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "EventKind",
    "DropReason",
    "Event",
    "EventFormat",
    "DROP",
    "Entry",
    "RoutingTable",
    "RoutingError",
    "RouterModel",
    "RunReport",
    "check_router_run",
    "check_barrier_sources",
    "MAX_TABLE_ENTRIES",
    "StarTopology",
    "MeshTopology",
    "RouterPlan",
    "NetworkPlan",
    "compile_star",
    "compile_mesh",
    "NetworkModel",
    "MESH_PORTS",
    "LOCAL",
    "NORTH",
    "EAST",
    "SOUTH",
    "WEST",
]


class EventKind(enum.IntEnum):
    """What an event is. Encoded in the 2-bit ``kind`` field."""

    SPIKE = 0  #: a spike from neuron ``key`` in step ``step``
    BARRIER = 1  #: end of step ``step`` on this link: every spike of it has gone before
    CONTROL = 2  #: a configuration/control word for ``key``, routed like a spike


class DropReason(enum.IntEnum):
    """Why an event went out on a router's ``dropped`` stream."""

    UNMATCHED = 1  #: the key matched no table entry and the default is :data:`DROP`


KIND_WIDTH = 2
REASON_WIDTH = 2


class Event(NamedTuple):
    kind: int
    key: int
    step: int
    payload: int = 0

    def __repr__(self):
        try:
            kind = EventKind(self.kind).name
        except ValueError:
            kind = str(self.kind)
        return f"Event({kind}, key={self.key:#x}, step={self.step}, payload={self.payload:#x})"


def _check_width(name, value, minimum, maximum):
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ValueError(
            f"{name} must be an integer between {minimum} and {maximum}, not {value!r}"
        )


@dataclass(frozen=True)
class EventFormat:
    """Field widths of an address event.

    Fields, from the least significant bit: ``kind`` (2 bits, :class:`EventKind`), ``key``
    (source neuron address), ``step`` (time-step tag, wraps), and ``payload`` (omitted when
    ``payload_width`` is 0). :attr:`fields` is the one definition both sides use: the Amaranth
    layout (:func:`neurohw.hw.event.event_layout`) is built from it in the same order.
    """

    key_width: int = 16
    step_width: int = 8
    payload_width: int = 0

    def __post_init__(self):
        _check_width("key_width", self.key_width, 1, 32)
        _check_width("step_width", self.step_width, 1, 32)
        _check_width("payload_width", self.payload_width, 0, 64)

    @property
    def fields(self) -> tuple[tuple[str, int], ...]:
        """``(name, width)`` pairs from the least significant field up."""
        fields = [("kind", KIND_WIDTH), ("key", self.key_width), ("step", self.step_width)]
        if self.payload_width:
            fields.append(("payload", self.payload_width))
        return tuple(fields)

    @property
    def offsets(self) -> dict[str, int]:
        offsets, offset = {}, 0
        for name, width in self.fields:
            offsets[name] = offset
            offset += width
        return offsets

    @property
    def width(self) -> int:
        return sum(width for _, width in self.fields)

    def pack(self, kind, key: int, step: int, payload: int = 0) -> int:
        """Return the event as an integer of :attr:`width` bits; ``step`` wraps, others must fit."""
        values = {
            "kind": int(kind),
            "key": key,
            "step": step % (1 << self.step_width),
            "payload": payload,
        }
        word = 0
        for name, width in self.fields:
            value = values[name]
            if not 0 <= value < (1 << width):
                raise ValueError(f"{name} must fit in {width} bits, not {value!r}")
            word |= value << self.offsets[name]
        if payload and not self.payload_width:
            raise ValueError(f"payload must be 0 in a format without payload, not {payload!r}")
        return word

    def unpack(self, word: int) -> Event:
        if not 0 <= word < (1 << self.width):
            raise ValueError(f"event word must fit in {self.width} bits, not {word!r}")
        values = {
            name: (word >> self.offsets[name]) & ((1 << width) - 1) for name, width in self.fields
        }
        return Event(values["kind"], values["key"], values["step"], values.get("payload", 0))

    def as_dict(self) -> dict:
        return {
            "key_width": self.key_width,
            "step_width": self.step_width,
            "payload_width": self.payload_width,
        }

    def unpack_dropped(self, word: int, n_ports: int) -> tuple[int, int, int]:
        """Split a drop report (``dropped`` stream payload) into ``(event word, reason, port)``."""
        reason_offset = self.width
        port_offset = reason_offset + REASON_WIDTH
        return (
            word & ((1 << self.width) - 1),
            (word >> reason_offset) & ((1 << REASON_WIDTH) - 1),
            word >> port_offset,
        )


class _Drop:
    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self):
        return "DROP"

    def __reduce__(self):
        return (_Drop, ())


#: Route value meaning "drop the event and report it on the ``dropped`` stream".
DROP = _Drop()

#: Most entries the constant-logic table backend accepts (one comparator per entry).
MAX_TABLE_ENTRIES = 256


class RoutingError(ValueError):
    """A routing description that cannot be built losslessly or at all."""


@dataclass(frozen=True)
class Entry:
    """A table entry: keys ``k`` with ``k & mask == key`` go to every port in ``ports``."""

    key: int
    mask: int
    ports: frozenset

    def matches(self, key: int) -> bool:
        return key & self.mask == self.key


# -- ternary cubes: (value, mask), value bits only where mask is 1 --------------------------


def _overlap(a, b) -> bool:
    return (a[0] ^ b[0]) & a[1] & b[1] == 0


def _subtract(a, b):
    """Cubes covering ``a`` minus ``b``."""
    if not _overlap(a, b):
        return [a]
    result = []
    value, mask = a
    free = b[1] & ~a[1]
    bit = 1
    while free:
        if free & bit:
            # Fix the bits handled so far to b's values and this one to the opposite value.
            result.append((value | (~b[0] & bit), mask | bit))
            value |= b[0] & bit
            mask |= bit
            free &= ~bit
        bit <<= 1
    return result


def _uncovered(cube, cubes, limit=1 << 16):
    """The part of ``cube`` that no cube in ``cubes`` covers, as a list of cubes."""
    remaining = [cube]
    for other in cubes:
        remaining = [piece for part in remaining for piece in _subtract(part, other)]
        if not remaining:
            break
        if len(remaining) > limit:
            raise RoutingError(
                f"routing table is too fragmented to analyse ({len(remaining)} "
                f"uncovered key ranges)"
            )
    return remaining


def _ports_text(ports) -> str:
    return "DROP" if ports is DROP else "{" + ", ".join(str(p) for p in sorted(ports)) + "}"


def _check_ports(what, ports, n_ports) -> frozenset:
    try:
        ports = frozenset(ports)
    except TypeError:
        raise TypeError(f"{what} must be a set of port numbers or DROP, not {ports!r}") from None
    for port in sorted(ports, key=repr):
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < n_ports:
            raise RoutingError(
                f"{what} names port {port!r}, but the router has ports 0 to {n_ports - 1}"
            )
    if not ports:
        raise RoutingError(
            f"{what} routes to no port: an event matching it would be lost "
            f"silently (use default=DROP to drop and report)"
        )
    return ports


class RoutingTable:
    """An ordered key/mask table: the first entry whose ``key & mask`` matches wins.

    ``entries`` is a sequence of :class:`Entry` or ``(key, mask, ports)`` tuples. ``default``
    is what a key matching no entry gets: a set of ports, :data:`DROP` (drop and report), or
    ``None`` (the lossless default): then the entries must cover every key, which is checked.

    ``conflicts="first_match"`` lets overlapping entries name different ports (the first one
    wins, as in SpiNNaker); ``"forbid"`` refuses that. Either way an entry that earlier entries
    shadow completely is refused, since it can never be used.
    """

    def __init__(
        self,
        entries: Iterable,
        *,
        n_ports: int,
        key_width: int,
        default=None,
        conflicts: str = "first_match",
        max_entries: int = MAX_TABLE_ENTRIES,
    ):
        _check_width("n_ports", n_ports, 1, 32)
        _check_width("key_width", key_width, 1, 32)
        if conflicts not in ("first_match", "forbid"):
            raise ValueError(f"conflicts must be 'first_match' or 'forbid', not {conflicts!r}")
        self.n_ports = n_ports
        self.key_width = key_width
        self.conflicts = conflicts
        key_mask = (1 << key_width) - 1
        checked = []
        for index, entry in enumerate(entries):
            if isinstance(entry, Entry):
                key, mask, ports = entry.key, entry.mask, entry.ports
            else:
                try:
                    key, mask, ports = entry
                except (TypeError, ValueError):
                    raise TypeError(
                        f"entry {index} must be an Entry or a (key, mask, ports) "
                        f"tuple, not {entry!r}"
                    ) from None
            for name, value in (("key", key), ("mask", mask)):
                if not isinstance(value, int) or not 0 <= value <= key_mask:
                    raise RoutingError(
                        f"entry {index}: {name} must be an integer that fits in "
                        f"{key_width} bits, not {value!r}"
                    )
            if key & ~mask:
                raise RoutingError(
                    f"entry {index}: key {key:#x} has bits outside mask "
                    f"{mask:#x}, so it matches no key"
                )
            checked.append(Entry(key, mask, _check_ports(f"entry {index}", ports, n_ports)))
        if len(checked) > max_entries:
            raise RoutingError(
                f"routing table has {len(checked)} entries, more than the "
                f"{max_entries} the table backend supports"
            )
        self.entries = tuple(checked)
        if default is not None and default is not DROP:
            default = _check_ports("default", default, n_ports)
        self.default = default

        for index, entry in enumerate(checked):
            earlier = [
                (e.key, e.mask)
                for e in checked[:index]
                if _overlap((e.key, e.mask), (entry.key, entry.mask))
            ]
            if earlier and not _uncovered((entry.key, entry.mask), earlier):
                raise RoutingError(
                    f"entry {index} (key {entry.key:#x}, mask {entry.mask:#x}) "
                    f"is shadowed by earlier entries and can never match"
                )
            if conflicts == "forbid":
                for other_index, other in enumerate(checked[:index]):
                    if (
                        _overlap((other.key, other.mask), (entry.key, entry.mask))
                        and other.ports != entry.ports
                    ):
                        raise RoutingError(
                            f"entries {other_index} and {index} overlap (key "
                            f"{other.key | entry.key:#x} matches both) with different ports "
                            f"{_ports_text(other.ports)} and {_ports_text(entry.ports)}"
                        )
        if default is None:
            uncovered = _uncovered((0, 0), [(e.key, e.mask) for e in checked])
            if uncovered:
                raise RoutingError(
                    f"routing table does not cover every key (key "
                    f"{min(c[0] for c in uncovered):#x} matches no entry) and has "
                    f"no default: "
                    f"give default=DROP or a set of ports"
                )

    def lookup(self, key: int):
        """Return ``(entry index or None, ports or DROP)`` for ``key``."""
        for index, entry in enumerate(self.entries):
            if entry.matches(key):
                return index, entry.ports
        return None, self.default

    def route(self, key: int):
        return self.lookup(key)[1]

    def as_dict(self) -> dict:
        default = self.default
        return {
            "entries": [[e.key, e.mask, sorted(e.ports)] for e in self.entries],
            "n_ports": self.n_ports,
            "key_width": self.key_width,
            "default": "drop"
            if default is DROP
            else (None if default is None else sorted(default)),
            "conflicts": self.conflicts,
        }

    @classmethod
    def from_dict(cls, description: Mapping) -> RoutingTable:
        default = description["default"]
        default = DROP if default == "drop" else (None if default is None else set(default))
        return cls(
            description["entries"],
            n_ports=description["n_ports"],
            key_width=description["key_width"],
            default=default,
            conflicts=description.get("conflicts", "first_match"),
        )

    def __len__(self):
        return len(self.entries)

    def __repr__(self):
        return (
            f"RoutingTable({len(self.entries)} entries, n_ports={self.n_ports}, "
            f"default={_ports_text(self.default) if self.default is not None else None})"
        )


def check_barrier_sources(barrier_sources, n_ports) -> tuple[frozenset, ...]:
    """Validate ``barrier_sources`` (one input set per output; ``None``: all inputs)."""
    if barrier_sources is None:
        return tuple(frozenset(range(n_ports)) for _ in range(n_ports))
    barrier_sources = tuple(barrier_sources)
    if len(barrier_sources) != n_ports:
        raise RoutingError(
            f"barrier_sources must name an input set for each of the {n_ports} "
            f"outputs, not {len(barrier_sources)}"
        )
    result = []
    for output, sources in enumerate(barrier_sources):
        sources = frozenset(sources)
        for port in sources:
            if not isinstance(port, int) or not 0 <= port < n_ports:
                raise RoutingError(
                    f"barrier_sources[{output}] names input {port!r}, but the "
                    f"router has inputs 0 to {n_ports - 1}"
                )
        result.append(sources)
    return tuple(result)


# -- the router model and the scoreboard ------------------------------------------------------


class RouterModel:
    """What a router built from ``table`` does with each event.

    Spikes and control events go to ``table.route(key)`` (a port set or :data:`DROP`). A
    barrier arriving on input ``i`` is owed to every output ``o`` with ``i`` in
    ``barrier_sources[o]``; output ``o`` forwards the barrier of step ``t`` once it has arrived
    from all its sources (so it carries one barrier per step), after every event those inputs
    sent before it.
    """

    def __init__(self, table: RoutingTable, *, barrier_sources=None):
        self.table = table
        self.n_ports = table.n_ports
        self.barrier_sources = check_barrier_sources(barrier_sources, table.n_ports)
        self.barrier_targets = tuple(
            frozenset(o for o in range(self.n_ports) if i in self.barrier_sources[o])
            for i in range(self.n_ports)
        )

    def destinations(self, event: Event, in_port: int):
        """Output ports ``event`` arriving on ``in_port`` is owed to, or :data:`DROP`."""
        if event.kind == EventKind.BARRIER:
            return self.barrier_targets[in_port]
        return self.table.route(event.key)

    def fan_out(self, event: Event, in_port: int) -> int:
        """Deliveries (or drop reports) one event must produce: the conservation weight."""
        destinations = self.destinations(event, in_port)
        return 1 if destinations is DROP else len(destinations)

    def status_counters(
        self,
        fmt: EventFormat,
        injected: Sequence[Sequence[int]],
        delivered: Sequence[Sequence[int]],
        dropped: int,
        *,
        counter_width: int,
    ) -> dict[str, int]:
        """The router's transfer counters after a run (:func:`neurohw.hw.router.status_addresses`
        names them): ``in<k>`` and ``out<j>`` the words that crossed each port, ``unmatched``
        the non-barrier events that matched no entry, ``dropped`` the drop reports, each modulo
        ``2**counter_width``."""
        modulus = 1 << counter_width
        counters = {f"in{k}": len(words) % modulus for k, words in enumerate(injected)}
        counters |= {f"out{j}": len(words) % modulus for j, words in enumerate(delivered)}
        events = [fmt.unpack(word) for words in injected for word in words]
        unmatched = sum(
            1 for e in events if e.kind != EventKind.BARRIER and self.table.lookup(e.key)[0] is None
        )
        counters |= {"unmatched": unmatched % modulus, "dropped": dropped % modulus}
        return counters

    def blocked_high_water(
        self, fmt: EventFormat, injected: Sequence[Sequence[int]], *, fifo_depth: int
    ) -> dict[str, int]:
        """The high-water marks ``hwm<k>`` (the most words any queue of input ``k`` held) after
        ``injected`` arrives while every output and the drop stream refuse everything.

        Each input has one queue per output (and one for drops). Every event is written into
        its queue; the first one for an output moves on into that output's register (the queue
        held it, level 1, for a cycle), the rest wait in the queue, at most ``fifo_depth``
        (then the input stalls). That holds only if no two inputs send to one
        output (else which one's event takes the register depends on arbitration), and without
        barriers (merged across inputs): refused otherwise.
        """
        feeders: dict[object, int] = {}
        high_water = {}
        for k, words in enumerate(injected):
            per_queue: dict[object, int] = {}
            for word in words:
                event = fmt.unpack(word)
                if event.kind == EventKind.BARRIER:
                    raise ValueError("blocked_high_water: barriers are merged across inputs")
                destinations = self.destinations(event, k)
                for queue in ["drop"] if destinations is DROP else destinations:
                    if feeders.setdefault(queue, k) != k:
                        raise ValueError(
                            f"blocked_high_water: inputs {feeders[queue]} and {k} both send "
                            f"to output {queue}"
                        )
                    per_queue[queue] = per_queue.get(queue, 0) + 1
            high_water[f"hwm{k}"] = max(
                (max(1, min(fifo_depth, count - 1)) for count in per_queue.values()), default=0
            )
        return high_water


@dataclass
class RunReport:
    """What :func:`check_router_run` found. ``errors`` is empty when the run was correct."""

    errors: list = field(default_factory=list)
    injected: int = 0  #: non-barrier events accepted by the router
    expected: int = 0  #: sum of their fan-out (deliveries plus drop reports owed)
    delivered: int = 0  #: non-barrier events delivered on outputs
    dropped: int = 0  #: events reported on the dropped stream
    barriers_in: int = 0
    barriers_out: int = 0

    @property
    def conserved(self) -> bool:
        return self.expected == self.delivered + self.dropped

    def summary(self) -> str:
        return (
            f"injected {self.injected} x fan-out = {self.expected}, delivered "
            f"{self.delivered} + dropped {self.dropped} = {self.delivered + self.dropped}; "
            f"barriers in {self.barriers_in}, out {self.barriers_out}"
        )


def check_router_run(
    model: RouterModel,
    fmt: EventFormat,
    injected: Sequence[Sequence[int]],
    delivered: Sequence[Sequence[int]],
    dropped: Sequence[tuple[int, int, int]] = (),
    *,
    check_steps: bool = False,
    max_errors: int = 10,
) -> RunReport:
    """Compare a router run with the model.

    ``injected[i]`` and ``delivered[o]`` are the packed event words that crossed input ``i`` and
    output ``o``, in order; ``dropped`` holds ``(event word, reason, input port)`` reports.
    Every output must carry an interleaving of, for each input, exactly the events the model
    sends from that input to that output, in their order of arrival (no loss, duplicate,
    misroute or reordering per input); a barrier may pass only when it heads the pending events
    of every source input. With ``check_steps``, events between barriers ``t-1`` and ``t`` on
    an output must all be tagged ``t``. Events should carry unique payloads, so that an
    interleaving has one reading.
    """
    report = RunReport()
    n = model.n_ports
    step_modulus = 1 << fmt.step_width

    def error(message):
        if len(report.errors) < max_errors:
            report.errors.append(message)

    pending = [[deque() for _ in range(n)] for _ in range(n)]  # [output][input]
    drops = [deque() for _ in range(n)]
    for in_port, words in enumerate(injected):
        for word in words:
            event = fmt.unpack(word)
            destinations = model.destinations(event, in_port)
            if event.kind == EventKind.BARRIER:
                report.barriers_in += 1
            else:
                report.injected += 1
                report.expected += 1 if destinations is DROP else len(destinations)
            if destinations is DROP:
                drops[in_port].append(word)
            else:
                for output in destinations:
                    pending[output][in_port].append(word)

    for output, words in enumerate(delivered):
        queues = pending[output]
        sources = sorted(model.barrier_sources[output])
        current_step = None  # step of the events expected before the next barrier
        for position, word in enumerate(words):
            event = fmt.unpack(word)
            where = f"output {output}, delivery {position} ({event!r})"
            if event.kind == EventKind.BARRIER:
                report.barriers_out += 1

                # A merged barrier keeps only its step: key and payload are those of the
                # lowest-numbered source, so compare kind and step.
                def same_barrier(owed, event=event):
                    owed = fmt.unpack(owed)
                    return owed.kind == EventKind.BARRIER and owed.step == event.step

                late = [i for i in sources if not queues[i] or not same_barrier(queues[i][0])]
                if late:
                    heads = {i: (fmt.unpack(queues[i][0]) if queues[i] else None) for i in late}
                    error(
                        f"{where}: barrier passed before it arrived from input(s) {late} "
                        f"(their next owed events: {heads})"
                    )
                for i in sources:
                    if queues[i] and same_barrier(queues[i][0]):
                        queues[i].popleft()
                current_step = (event.step + 1) % step_modulus
                continue
            report.delivered += 1
            candidates = [i for i in range(n) if queues[i] and queues[i][0] == word]
            if not candidates:
                owed_later = [i for i in range(n) if word in queues[i]]
                if owed_later:
                    error(
                        f"{where}: delivered out of order (input {owed_later[0]} owes "
                        f"{fmt.unpack(queues[owed_later[0]][0])!r} first: lost, misrouted "
                        f"or overtaken)"
                    )
                    queues[owed_later[0]].remove(word)
                else:
                    error(f"{where}: not owed to this output (duplicate or misrouted)")
                continue
            queues[candidates[0]].popleft()
            if check_steps:
                if current_step is not None and event.step != current_step:
                    error(
                        f"{where}: step {event.step} between barriers of step "
                        f"{(current_step - 1) % step_modulus} and {current_step}"
                    )
        for i in range(n):
            if queues[i]:
                error(
                    f"output {output}: {len(queues[i])} event(s) from input {i} never "
                    f"delivered, first {fmt.unpack(queues[i][0])!r}"
                )

    for word, reason, in_port in dropped:
        report.dropped += 1
        event = fmt.unpack(word)
        if not 0 <= in_port < n or not drops[in_port] or drops[in_port][0] != word:
            error(f"drop report {event!r} from input {in_port} (reason {reason}) not owed")
            continue
        drops[in_port].popleft()
        if reason != DropReason.UNMATCHED:
            error(f"drop report {event!r}: reason {reason}, expected {DropReason.UNMATCHED}")
    for in_port, queue in enumerate(drops):
        if queue:
            error(
                f"input {in_port}: {len(queue)} unmatched event(s) never reported, first "
                f"{fmt.unpack(queue[0])!r}"
            )
    if not report.conserved:
        error(f"conservation violated: {report.summary()}")
    return report


# -- topologies --------------------------------------------------------------------------------

#: Port numbers of a mesh router.
LOCAL, NORTH, EAST, SOUTH, WEST = range(5)
MESH_PORTS = 5
_DIRECTIONS = {NORTH: (0, 1), EAST: (1, 0), SOUTH: (0, -1), WEST: (-1, 0)}
_OPPOSITE = {NORTH: SOUTH, SOUTH: NORTH, EAST: WEST, WEST: EAST}


@dataclass(frozen=True)
class RouterPlan:
    """One router of a compiled network: its table and barrier sources."""

    table: RoutingTable
    barrier_sources: tuple


@dataclass(frozen=True)
class NetworkPlan:
    """A compiled network: ``routers[r]`` and, for the model, ``deliveries[key]`` (target cores)
    and ``barrier_sources[c]``: the cores whose barrier of step ``t`` core ``c``'s barrier ``t``
    follows (the cores that send to ``c``, or ``c`` itself when none does)."""

    routers: tuple
    deliveries: Mapping
    n_cores: int
    barrier_sources: tuple = ()


def _core_barrier_sources(deliveries, n_cores, owner) -> tuple[frozenset, ...]:
    senders = [set() for _ in range(n_cores)]
    for key, targets in deliveries.items():
        for target in targets:
            senders[target].add(owner(key))
    return tuple(frozenset(s) or frozenset({c}) for c, s in enumerate(senders))


class NetworkModel:
    """A whole network seen as one router with a port per core, for :func:`check_router_run`:
    a spike from core ``s`` with key ``k`` is owed to every core in ``plan.deliveries[k]``
    (:data:`DROP` if none: the source's router reports it), in order per (source, target)
    pair, since X-then-Y routes are fixed and every hop keeps order per input and output."""

    def __init__(self, plan: NetworkPlan):
        self.plan = plan
        self.n_ports = plan.n_cores
        self.barrier_sources = plan.barrier_sources
        self.barrier_targets = tuple(
            frozenset(c for c in range(self.n_ports) if s in self.barrier_sources[c])
            for s in range(self.n_ports)
        )

    def destinations(self, event: Event, in_port: int):
        if event.kind == EventKind.BARRIER:
            return self.barrier_targets[in_port]
        targets = self.plan.deliveries.get(event.key)
        return frozenset(targets) if targets else DROP


def _key_ranges_to_cubes(keys: Iterable[int], key_width: int) -> list[tuple[int, int]]:
    """Cover exactly ``keys`` with aligned power-of-two blocks (key, mask)."""
    keys = sorted(set(keys))
    full = (1 << key_width) - 1
    cubes = []
    index = 0
    while index < len(keys):
        start = keys[index]
        end = start
        while index + 1 < len(keys) and keys[index + 1] == end + 1:
            index += 1
            end = keys[index]
        index += 1
        while start <= end:
            size = start & -start if start else 1 << key_width
            while size > end - start + 1:
                size >>= 1
            cubes.append((start, full & ~(size - 1)))
            start += size
    return cubes


def _check_connectivity(connectivity, n_cores, key_width, owner) -> dict[int, frozenset]:
    result = {}
    for key, targets in connectivity.items():
        if not isinstance(key, int) or not 0 <= key < (1 << key_width):
            raise RoutingError(f"source key {key!r} does not fit in {key_width} bits")
        targets = frozenset(targets)
        for target in targets:
            if not isinstance(target, int) or not 0 <= target < n_cores:
                raise RoutingError(
                    f"key {key:#x} targets core {target!r}, which is not in the "
                    f"network (cores 0 to {n_cores - 1}): unreachable"
                )
        if owner(key) is None:
            raise RoutingError(f"source key {key:#x} belongs to no core")
        result[key] = targets
    return result


def _table_from_routes(
    routes: Mapping[int, frozenset], *, n_ports, key_width, max_entries, where
) -> RoutingTable:
    by_ports: dict[frozenset, list[int]] = {}
    for key, ports in routes.items():
        if ports:
            by_ports.setdefault(ports, []).append(key)
    return _table_from_port_groups(
        by_ports, n_ports=n_ports, key_width=key_width, max_entries=max_entries, where=where
    )


def _table_from_port_groups(
    by_ports: Mapping[frozenset, list], *, n_ports, key_width, max_entries, where
) -> RoutingTable:
    """The table sending each key of ``by_ports[ports]`` to ``ports``."""
    entries = []
    for ports in sorted(by_ports, key=lambda p: sorted(p)):
        entries += [
            (key, mask, ports) for key, mask in _key_ranges_to_cubes(by_ports[ports], key_width)
        ]
    if len(entries) > max_entries:
        raise RoutingError(
            f"{where} needs {len(entries)} table entries, more than the "
            f"{max_entries} the table backend supports"
        )
    # Keys that are never sent to this router are don't-cares; DROP makes a stray one visible.
    return RoutingTable(
        entries,
        n_ports=n_ports,
        key_width=key_width,
        default=DROP,
        conflicts="forbid",
        max_entries=max_entries,
    )


@dataclass(frozen=True)
class StarTopology:
    """One router with a port per core (a crossbar). Core ``c`` owns keys
    ``[c * keys_per_core, (c + 1) * keys_per_core)``."""

    n_cores: int
    keys_per_core: int
    key_width: int = 16

    def owner(self, key):
        core = key // self.keys_per_core
        return core if core < self.n_cores else None


def compile_star(
    topology: StarTopology,
    connectivity: Mapping[int, Iterable[int]],
    *,
    max_entries: int = MAX_TABLE_ENTRIES,
) -> NetworkPlan:
    """Table for a star: key ``k`` goes to the ports of its target cores."""
    _check_width("n_cores", topology.n_cores, 1, 32)
    if topology.n_cores * topology.keys_per_core > 1 << topology.key_width:
        raise RoutingError(
            f"{topology.n_cores} cores of {topology.keys_per_core} keys do not "
            f"fit in {topology.key_width}-bit keys"
        )
    conn = _check_connectivity(connectivity, topology.n_cores, topology.key_width, topology.owner)
    table = _table_from_routes(
        conn,
        n_ports=topology.n_cores,
        key_width=topology.key_width,
        max_entries=max_entries,
        where="the star router",
    )
    sources = []
    for output in range(topology.n_cores):
        feeding = {topology.owner(k) for k, targets in conn.items() if output in targets}
        # A core nothing sends to still needs one barrier per step: its own closes the loop.
        sources.append(frozenset(feeding) or frozenset({output}))
    return NetworkPlan(
        (RouterPlan(table, tuple(sources)),),
        conn,
        topology.n_cores,
        _core_barrier_sources(conn, topology.n_cores, topology.owner),
    )


@dataclass(frozen=True)
class MeshTopology:
    """A ``width`` x ``height`` mesh of 5-port routers (:data:`LOCAL`, :data:`NORTH`,
    :data:`EAST`, :data:`SOUTH`, :data:`WEST`), router ``x + y * width`` at ``(x, y)``, one core
    on the local port of each router listed in ``cores`` (core ``c`` at ``cores[c]``), owning
    keys ``[c * keys_per_core, (c + 1) * keys_per_core)``. Routing is X then Y."""

    width: int
    height: int
    cores: tuple
    keys_per_core: int
    key_width: int = 16

    def owner(self, key):
        core = key // self.keys_per_core
        return core if core < len(self.cores) else None

    def router_index(self, x, y):
        return x + y * self.width


def _xy_path(source, target):
    """Routers and output ports along the X-then-Y route: [(x, y, out_port), ...]."""
    (x, y), (tx, ty) = source, target
    path = []
    while x != tx:
        port = EAST if tx > x else WEST
        path.append((x, y, port))
        x += 1 if port == EAST else -1
    while y != ty:
        port = NORTH if ty > y else SOUTH
        path.append((x, y, port))
        y += 1 if port == NORTH else -1
    path.append((x, y, LOCAL))
    return path


def compile_mesh(
    topology: MeshTopology,
    connectivity: Mapping[int, Iterable[int]],
    *,
    max_entries: int = MAX_TABLE_ENTRIES,
) -> NetworkPlan:
    """Per-router tables for X-then-Y routing of ``connectivity`` ``{key: target cores}``.

    A multicast key follows the union of its X-then-Y paths (a tree, branching where paths
    part). Each router's barrier sources for an output are the inputs some key reaches that
    output from, so barriers follow exactly the links spikes can use; a core no key targets
    gets its own barrier back through its router.
    """
    _check_width("mesh width", topology.width, 1, 64)
    _check_width("mesh height", topology.height, 1, 64)
    cores = tuple(tuple(position) for position in topology.cores)
    if not cores:
        raise RoutingError("the mesh has no cores")
    seen = {}
    for core, (x, y) in enumerate(cores):
        if not (0 <= x < topology.width and 0 <= y < topology.height):
            raise RoutingError(
                f"core {core} at ({x}, {y}) is outside the {topology.width} x "
                f"{topology.height} mesh: unreachable"
            )
        if (x, y) in seen:
            raise RoutingError(
                f"cores {seen[(x, y)]} and {core} are both at ({x}, {y}); a "
                f"router has one local port"
            )
        seen[(x, y)] = core
    if len(cores) * topology.keys_per_core > 1 << topology.key_width:
        raise RoutingError(
            f"{len(cores)} cores of {topology.keys_per_core} keys do not fit in "
            f"{topology.key_width}-bit keys"
        )
    conn = _check_connectivity(connectivity, len(cores), topology.key_width, topology.owner)
    n_routers = topology.width * topology.height
    # Keys of one source core with the same targets follow the same tree: route each such
    # group once (a population of 10^5 neurons has a few hundred groups, not 10^5 keys).
    groups: dict[tuple, list[int]] = {}
    for key, targets in conn.items():
        groups.setdefault((topology.owner(key), targets), []).append(key)
    by_ports = [dict() for _ in range(n_routers)]  # [r] {out ports: keys}
    feeds = [[set() for _ in range(MESH_PORTS)] for _ in range(n_routers)]  # [r][out] inputs
    for (owner, targets), keys in groups.items():
        source = cores[owner]
        ports = {}  # router -> out ports of this group's tree
        for target in targets:
            in_port = LOCAL
            for x, y, out_port in _xy_path(source, cores[target]):
                r = topology.router_index(x, y)
                ports.setdefault(r, set()).add(out_port)
                feeds[r][out_port].add(in_port)
                in_port = _OPPOSITE.get(out_port)
        for r, out_ports in ports.items():
            by_ports[r].setdefault(frozenset(out_ports), []).extend(keys)
    routers = []
    for r in range(n_routers):
        x, y = r % topology.width, r // topology.width
        table = _table_from_port_groups(
            by_ports[r],
            n_ports=MESH_PORTS,
            key_width=topology.key_width,
            max_entries=max_entries,
            where=f"router ({x}, {y})",
        )
        sources = [frozenset(f) for f in feeds[r]]
        if (x, y) in seen and not sources[LOCAL]:
            sources[LOCAL] = frozenset({LOCAL})
        routers.append(RouterPlan(table, tuple(sources)))
    return NetworkPlan(
        tuple(routers), conn, len(cores), _core_barrier_sources(conn, len(cores), topology.owner)
    )
