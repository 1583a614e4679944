"""Adapters between a neuron core and the routing network (``docs/system.md``,
``docs/system-hardware.md``).

* :class:`CoreIngress` turns the event stream a router delivers to a core into the core's
  ``spikes_in`` (one axon event per unit of spike count; one event carrying the value for a
  graded axon block, ``docs/system.md`` "Graded inputs"), ``step`` (one per barrier) and, at the
  end of a sample, ``cmd`` writes that clear every neuron's state and every slot of the core's
  delay ring (before the events of the sample's first step). It buffers whole windows, so it
  never back-pressures the network while its core sweeps. For a core that accumulates
  'per_event' it holds each window's events in an :class:`AxonOrderBuffer` and issues them in
  ascending axon order after the barrier (the network's event order). Learned weights and STDP traces are
  kept from one sample to the next.
* :class:`CoreEgress` turns the core's ``spikes_out`` and ``done`` into events: one spike event
  per (neuron, step) with key ``core base + neuron`` (and the count in the payload when the
  format has one), then a barrier tagged with the finished step; one barrier tagged ``-1`` right
  after reset.

Key to axon translation: one comparator pair per axon block (``key - key_start < count``), a
priority mux over the (few) blocks, registered before use. A core has one block per source core
and per input group, so this is a handful of subtractors, smaller and faster than a ROM indexed by
the key.
"""

from __future__ import annotations

import numbers

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, fifo, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..model.params import Accumulation
from ..network.plan import AxonBlock
from ..routing import EventFormat
from .conv_core import ConvCore
from .core import NeuronCore, Target
from .event import EventKind, event_layout

__all__ = [
    "AxonDecoder",
    "AxonOrderBuffer",
    "ClearWalk",
    "CoreIngress",
    "CoreEgress",
    "COUNTER_WIDTH",
    "StartStepGate",
    "state_targets",
    "clear_writes",
]

#: Width of the saturating event counters of the adapters.
COUNTER_WIDTH = 16


def _check_int(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < low or (high is not None and value > high):
        allowed = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {allowed}, not {value}")
    return int(value)


def _check_common(fmt, core, keys_per_endpoint):
    if not isinstance(fmt, EventFormat):
        raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
    if not isinstance(core, (NeuronCore, ConvCore)):
        raise TypeError(f"core must be a NeuronCore or a ConvCore, not {core!r}")
    keys_per_endpoint = _check_int(keys_per_endpoint, "keys_per_endpoint", 2, 1 << fmt.key_width)
    if keys_per_endpoint & (keys_per_endpoint - 1):
        raise ValueError(f"keys_per_endpoint must be a power of two, not {keys_per_endpoint}")
    return keys_per_endpoint


def value_width(core) -> int:
    """The graded-value width of ``core``'s events: a :class:`ConvCore` takes spike events
    only (0)."""
    return 0 if isinstance(core, ConvCore) else core.value_width


def max_delay(core) -> int:
    """The delay ring of ``core``: a :class:`ConvCore` has none (1)."""
    return 1 if isinstance(core, ConvCore) else core.max_delay


def state_targets(core: NeuronCore) -> tuple:
    """The ``cmd`` targets that hold a neuron's state: ``V``, each current, the refractory
    counter, the pending spike count (the ones the end-of-sample clear writes to zero)."""
    targets = [Target.V] + [Target.I0 + c for c in range(core.params.n_currents)]
    if core.params.refractory_period:
        targets.append(Target.REFRACTORY)
    if core.params.reset_delay:
        targets.append(Target.PENDING)
    return tuple(Target(t) for t in targets)


def clear_writes(core: NeuronCore) -> tuple:
    """``(target, axon)`` of the writes of 0 the end-of-sample clear makes for every neuron:
    each state target, and with delays (``max_delay > 1``) every slot of every channel's drive
    ring (``ACCc`` with ``axon`` = slot offset)."""
    writes = [(target, 0) for target in state_targets(core)]
    if max_delay(core) > 1:
        writes += [
            (Target(Target.ACC0 + c), slot)
            for c in range(core.channels)
            for slot in range(core.max_delay)
        ]
    return tuple(writes)


#: States of the ingress: passing events on, sending a clear command and waiting for its
#: response, sending a step; with a 'per_event' core, walking the axon-order buffer.
_STATE_EVENT, _STATE_CLEAR_CMD, _STATE_CLEAR_RSP, _STATE_STEP, _STATE_WALK = range(5)


def _saturating_increment(m, counter):
    with m.If(counter != (1 << len(counter)) - 1):
        m.d.sync += counter.eq(counter + 1)


def _check_axon_blocks(axon_blocks, source_start_steps, *, fmt, n_axons):
    """The axon blocks and their sources' start steps (default: 0 each) as tuples, checked:
    blocks inside the ``n_axons`` axons and the key space, not overlapping, caps positive and
    only on counted or unsigned graded blocks (a graded population block carries a spike count
    as its value, clamped like a count)."""
    blocks = tuple(axon_blocks)
    used = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, AxonBlock):
            raise TypeError(f"axon block {index} must be an AxonBlock, not {block!r}")
        if block.count < 1 or block.axon_start < 0 or block.axon_start + block.count > n_axons:
            raise ValueError(
                f"axon block {index} covers axons {block.axon_start} to "
                f"{block.axon_start + block.count - 1}, outside the core's "
                f"{n_axons} axons"
            )
        if block.key_start < 0 or block.key_start + block.count > 1 << fmt.key_width:
            raise ValueError(
                f"axon block {index} keys {block.key_start:#x} to "
                f"{block.key_start + block.count - 1:#x} do not fit in "
                f"{fmt.key_width}-bit keys"
            )
        axons = set(range(block.axon_start, block.axon_start + block.count))
        if axons & used:
            raise ValueError(
                f"axon block {index} overlaps an earlier block on axon {min(axons & used)}"
            )
        used |= axons
    if source_start_steps is None:
        source_start_steps = (0,) * len(blocks)
    source_start_steps = tuple(source_start_steps)
    if len(source_start_steps) != len(blocks):
        raise ValueError(
            f"source_start_steps must give one step per axon block "
            f"({len(blocks)}), not {len(source_start_steps)}"
        )
    source_start_steps = tuple(
        _check_int(value, f"source_start_steps[{index}]", 0, 1 << 16)
        for index, value in enumerate(source_start_steps)
    )
    for index, block in enumerate(blocks):
        if block.count_cap is not None and (block.signed or block.count_cap < 1):
            raise ValueError(
                f"axon block {index} has count_cap={block.count_cap}; a cap "
                f"is a positive count and signed blocks take none"
            )
    return blocks, source_start_steps


class AxonDecoder(wiring.Component):
    """The key and payload of a spike event to what it means for one core: which axon block
    it hits, the axon, the count to expand into axon events, and whether the value is graded.

    One comparator pair per axon block (``key - key_start < count``) and a priority mux over
    the (few) blocks, the first block winning; purely combinational, every output one
    unconditional expression (see :class:`CoreIngress`).

    Parameters
    ----------
    fmt : EventFormat
    core : NeuronCore
        The core the blocks' axons belong to.
    axon_blocks : sequence of AxonBlock
    source_start_steps : sequence of int, optional
        One per block: its source's start step (default 0 each).

    Members
    -------
    key : In(fmt.key_width); payload : In(fmt.payload_width)
    hit : Out(1)
        The key lies in some block.
    axon : Out(core.axon_bits)
    count : Out(max(1, fmt.payload_width))
        The payload, clamped to the block's ``count_cap`` (only blocks whose cap a payload
        can exceed get a comparator; an unsigned graded block's value is clamped the same
        way); 1 for a format without payload.
    graded, signed : Out(1)
        The block is graded (its payload is one value), and signed.
    source_start : Out(range(max(source_start_steps) + 2))
        The block's source start step (0 where none is given).
    """

    def __init__(self, fmt: EventFormat, *, core: NeuronCore, axon_blocks, source_start_steps=None):
        if not isinstance(fmt, EventFormat):
            raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
        if not isinstance(core, (NeuronCore, ConvCore)):
            raise TypeError(f"core must be a NeuronCore or a ConvCore, not {core!r}")
        self.fmt = fmt
        self.axon_blocks, self.source_start_steps = _check_axon_blocks(
            axon_blocks, source_start_steps, fmt=fmt, n_axons=core.n_axons
        )
        super().__init__(
            {
                "key": In(fmt.key_width),
                "payload": In(fmt.payload_width),
                "hit": Out(1),
                "axon": Out(core.axon_bits),
                "count": Out(max(1, fmt.payload_width)),
                "graded": Out(1),
                "signed": Out(1),
                "source_start": Out(range(max(*self.source_start_steps, 0) + 2)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        blocks = self.axon_blocks
        insides, offsets = [], []
        for index, block in enumerate(blocks):
            offset = Signal(fmt.key_width, name=f"block{index}_offset")
            m.d.comb += offset.eq(self.key - block.key_start)
            insides.append((self.key >= block.key_start) & (offset < block.count))
            offsets.append(offset)
        choice = 0
        for block, inside, offset in reversed(list(zip(blocks, insides, offsets))):
            choice = Mux(inside, block.axon_start + offset, choice)  # first block wins
        m.d.comb += [self.hit.eq(Cat(*insides).any() if insides else 0), self.axon.eq(choice)]
        graded_in = [inside for block, inside in zip(blocks, insides) if block.graded]
        signed_in = [inside for block, inside in zip(blocks, insides) if block.signed]
        if graded_in:
            m.d.comb += [
                self.graded.eq(Cat(*graded_in).any()),
                self.signed.eq(Cat(*signed_in).any() if signed_in else 0),
            ]

        # Per-block count caps (per-projection count_cap): the count is clamped before it is
        # expanded into axon events.
        count = self.payload if fmt.payload_width else 1
        if fmt.payload_width:
            for block, inside in reversed(list(zip(blocks, insides))):
                if block.count_cap is not None and block.count_cap < (1 << fmt.payload_width) - 1:
                    count = Mux(inside & (self.payload > block.count_cap), block.count_cap, count)
        m.d.comb += self.count.eq(count)

        source_start = 0
        for start, inside in reversed(list(zip(self.source_start_steps, insides))):
            if start:
                source_start = Mux(inside, start, source_start)
        m.d.comb += self.source_start.eq(source_start)
        return m


class AxonOrderBuffer(wiring.Component):
    """A window's spike events, issued in ascending axon order: the ingress of a core that
    accumulates 'per_event' (``docs/system-hardware.md``, "Per-event order").

    During a window, every event the ingress keeps is stored: its count added into a per-axon
    memory (``A`` words of the count width). A key reaches a core at most once per window, so
    one entry per axon holds it; a second event on an axon in one window (which routing does
    not produce) is added to the first (saturating at the count width) and flagged on
    ``duplicate``, never lost.
    A store takes two cycles (read, then write the sum). At the barrier, ``walk`` starts a walk
    over axons ``0 .. A - 1``: each stored count goes out as that many events of its axon, and
    its word is cleared; an empty axon takes one cycle, an axon with count ``k`` takes ``k``
    accepted events. ``busy`` stays high until the walk has passed the last axon.

    Parameters
    ----------
    core : NeuronCore
        The core it feeds (its axons and event layout; accumulation 'per_event').
    count_width : int
        Width of the counts stored (the ingress's count, after the block caps).

    Members
    -------
    store : In(stream of {axon, count})
        An event of the window; taken (ready) in the second cycle it is valid. Not while
        ``busy``.
    walk : In(1)
        Start the walk (one cycle).
    busy : Out(1)
        The walk is in progress.
    spikes : Out(stream of the core's event layout)
        Connect to the core's ``spikes_in``.
    duplicate : Out(1)
        The event stored now found its axon's count already set in this window (the ingress
        counts it in ``invalid``).
    """

    def __init__(self, core: NeuronCore, *, count_width: int):
        if not isinstance(core, NeuronCore):
            raise TypeError(f"core must be a NeuronCore, not {core!r}")
        if core.params.accumulation is not Accumulation.PER_EVENT or core.value_width:
            raise ValueError(
                "an axon-order buffer feeds a core with accumulation 'per_event' and plain "
                "spike events (value_width 0)"
            )
        self.core = core
        self.count_width = _check_int(count_width, "count_width", 1, 32)
        super().__init__(
            {
                "store": In(
                    stream.Signature(
                        data.StructLayout(
                            {"axon": unsigned(core.axon_bits), "count": unsigned(count_width)}
                        )
                    )
                ),
                "walk": In(1),
                "busy": Out(1),
                "spikes": Out(stream.Signature(core.event_layout)),
                "duplicate": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        n_axons = self.core.n_axons
        full = (1 << self.count_width) - 1
        m.submodules.counts = counts = Memory(
            shape=unsigned(self.count_width), depth=n_axons, init=[]
        )
        rd = counts.read_port()
        wr = counts.write_port()

        store_read = Signal()  # rd.data holds the stored count of store.payload.axon
        walk_live = Signal()  # rd.data holds the stored count of walk_axon
        walk_axon = Signal(range(max(2, n_axons)))
        sent = Signal(self.count_width)  # events of walk_axon already accepted
        stored = rd.data
        total = Signal(self.count_width + 1)
        accepted = Signal()
        axon_done = Signal()
        last_axon = Signal()
        # Every combinational signal is one unconditional expression (see CoreIngress).
        m.d.comb += [
            total.eq(stored + self.store.payload.count),
            accepted.eq(self.spikes.valid & self.spikes.ready),
            axon_done.eq(walk_live & ((stored == sent) | (accepted & (sent + 1 == stored)))),
            last_axon.eq(walk_axon == n_axons - 1),
            self.store.ready.eq(store_read & ~self.busy),
            self.spikes.valid.eq(walk_live & (stored != sent)),
            self.spikes.payload.eq(walk_axon),
            # The walk reads the next axon as one is done (or the first one); a store reads
            # its axon's word first.
            rd.addr.eq(
                Mux(self.busy, Mux(walk_live, walk_axon + 1, walk_axon), self.store.payload.axon)
            ),
            rd.en.eq(Mux(self.busy, ~walk_live | axon_done, self.store.valid & ~store_read)),
            wr.addr.eq(Mux(self.busy, walk_axon, self.store.payload.axon)),
            wr.data.eq(Mux(self.busy, 0, Mux(total > full, full, total))),
            wr.en.eq(Mux(self.busy, axon_done, self.store.valid & self.store.ready)),
        ]
        m.d.comb += self.duplicate.eq(self.store.valid & self.store.ready & (stored != 0))
        with m.If(self.store.valid & ~self.busy):
            m.d.sync += store_read.eq(~store_read)
        with m.If(self.walk):
            m.d.sync += [self.busy.eq(1), walk_axon.eq(0), walk_live.eq(0), sent.eq(0)]
        with m.Elif(self.busy):
            m.d.sync += walk_live.eq(1)
            with m.If(axon_done):
                m.d.sync += sent.eq(0)
                with m.If(last_axon):
                    m.d.sync += [self.busy.eq(0), walk_live.eq(0)]
                with m.Else():
                    m.d.sync += walk_axon.eq(walk_axon + 1)
            with m.Elif(accepted):
                m.d.sync += sent.eq(sent + 1)
        return m


class ClearWalk(wiring.Component):
    """The end-of-sample (and start-step) clear of a core: every clear write of every neuron,
    one ``cmd`` write at a time, neuron by neuron.

    Parameters
    ----------
    core : NeuronCore
        Its neurons, ``cmd`` layout and clear writes (:func:`clear_writes`).
    state_only : bool
        Whether a walk may write only the state targets (:func:`state_targets`, the first
        clear writes), not the delay ring: the clear of a population's start step.

    Members
    -------
    restart : In(1)
        Start the walk again at the first write of neuron 0; ``restart_state_only`` (with
        ``state_only``) makes it a walk over the state targets.
    advance : In(1)
        The current write is done: go to the next.
    cmd : Out(core.cmd_layout)
        The current write (of 0).
    last : Out(1)
        The current write is the walk's last.
    """

    def __init__(self, core: NeuronCore, *, state_only: bool = False):
        if not isinstance(core, (NeuronCore, ConvCore)):
            raise TypeError(f"core must be a NeuronCore or a ConvCore, not {core!r}")
        self.core = core
        self.writes = clear_writes(core)
        self.n_state_writes = len(state_targets(core))
        self.state_only = bool(state_only)
        super().__init__(
            {
                "restart": In(1),
                "restart_state_only": In(1),
                "advance": In(1),
                "cmd": Out(core.cmd_layout),
                "last": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        core = self.core
        targets = self.writes
        n_neurons = core.n_neurons
        clear_last = len(targets) - 1
        if self.state_only:
            clear_last = Signal(range(len(targets)), init=len(targets) - 1)
        clear_neuron = Signal(range(n_neurons))
        clear_target = Signal(range(len(targets)))
        code = Const(int(targets[-1][0]), core.target_bits)
        axon = Const(targets[-1][1], core.axon_bits)
        for index in reversed(range(len(targets) - 1)):
            code = Mux(clear_target == index, int(targets[index][0]), code)
            axon = Mux(clear_target == index, targets[index][1], axon)
        m.d.comb += [
            self.cmd.write.eq(1),
            self.cmd.neuron.eq(clear_neuron),
            self.cmd.target.eq(code),
            self.cmd.axon.eq(axon),
            self.cmd.data.eq(0),
            self.last.eq((clear_target == clear_last) & (clear_neuron == n_neurons - 1)),
        ]
        with m.If(self.restart):
            m.d.sync += [clear_neuron.eq(0), clear_target.eq(0)]
            if self.state_only:
                m.d.sync += clear_last.eq(
                    Mux(self.restart_state_only, self.n_state_writes - 1, len(targets) - 1)
                )
        with m.Elif(self.advance):
            with m.If(clear_target == clear_last):
                m.d.sync += clear_target.eq(0)
                with m.If(clear_neuron != n_neurons - 1):
                    m.d.sync += clear_neuron.eq(clear_neuron + 1)
            with m.Else():
                m.d.sync += clear_target.eq(clear_target + 1)
        return m


class StartStepGate(wiring.Component):
    """Skewed timing (same-step projections, ``neurohw.network.timing``) at a core's ingress:
    the steps started in the current sample, against the start steps of the core's
    population and of the sources of its spikes.

    Parameters
    ----------
    start_step : int
        The start step of the core's population (0: it starts with the sample).
    source_start_steps : sequence of int
        The start steps of the sources of its axon blocks.

    Members
    -------
    step : In(1)
        The core is sent a step in this cycle; ``last_step``: it is the last of the sample.
    source_start : In(range(max(start_step, *source_start_steps) + 2))
        The start step of the source of the current spike.
    early : Out(1)
        That spike was sent before its source started (a spike of the sample's local window
        ``k`` arrives once ``k + 1`` steps started: too early while at most its start step).
    starts : Out(1)
        The step sent now is step ``start_step - 1`` of the sample and not its last: the
        population starts after it (never with ``start_step`` 0).
    """

    def __init__(self, *, start_step: int, source_start_steps):
        self.start_step = _check_int(start_step, "start_step", 0, 1 << 16)
        self.source_start_steps = tuple(
            _check_int(value, f"source_start_steps[{index}]", 0, 1 << 16)
            for index, value in enumerate(source_start_steps)
        )
        self.cap = max(self.start_step, *self.source_start_steps, 0) + 1
        super().__init__(
            {
                "step": In(1),
                "last_step": In(1),
                "source_start": In(range(self.cap + 1)),
                "early": Out(1),
                "starts": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        steps_started = Signal(range(self.cap + 1))  # saturating at cap
        m.d.comb += self.early.eq(steps_started <= self.source_start)
        if self.start_step:
            m.d.comb += self.starts.eq(~self.last_step & (steps_started == self.start_step - 1))
        with m.If(self.step):
            with m.If(self.last_step):
                m.d.sync += steps_started.eq(0)
            with m.Elif(steps_started != self.cap):
                m.d.sync += steps_started.eq(steps_started + 1)
        return m


class CoreIngress(wiring.Component):
    """Router events in, one core's ``spikes_in`` / ``step`` / ``cmd`` out.

    Parameters
    ----------
    fmt : EventFormat
    core : NeuronCore
        The core this ingress feeds (its axon count, layouts and state targets). With
        accumulation 'per_event' the ingress sorts each window's events by axon
        (:class:`AxonOrderBuffer`, walked between the barrier and the step).
    axon_blocks : sequence of AxonBlock
        Which keys land on which axons; blocks must lie inside the core's axons and not overlap.
    keys_per_endpoint : power of two
        ``K``: endpoint ``e`` owns keys ``[e*K, (e+1)*K)``.
    host : int
        The host's endpoint; spikes with its keys are host inputs, every other spike is
        core-to-core. A ``CONTROL`` event with the host's tick key is the end-of-sample event.
    fifo_depth : int
        Events buffered (``SyncFIFOBuffered``, block-RAM friendly). ``SystemTop`` sizes it for
        three windows, which is what can be in flight to one core when the host is at most one
        barrier ahead (``docs/system-hardware.md``), so the ingress never refuses an event.
    start_step : int
        For a skewed network (same-step projections, ``neurohw.network.timing``): the chip
        step of each sample at which this core's population starts. After the core has started
        step ``start_step - 1`` of a sample, the ingress clears its neuron state (not its delay
        ring). 0: no such clear (the hardware is the same as without the parameter).
    source_start_steps : sequence of int
        One per axon block: its source population's start step (0 for input groups). A
        core-to-core spike its source sent before that step of the sample is dropped and
        counted in ``eos_dropped``.

    Members
    -------
    i : In(stream of event)
        Events delivered by the router.
    spikes_in, step, cmd : Out(streams of the core); rsp : In(the core's rsp stream)
        Connect to the same-named members of the core.
    dbg_cmd : In(core cmd stream); dbg_rsp : Out(core rsp stream)
        A debug command path into the core's ``cmd`` port; it waits while the ingress clears
        the core, and the ingress waits for an outstanding debug response.
    eos_dropped : Out(16)
        Core-to-core spike events dropped at sample boundaries: in the last window of a
        sample, and those a source sent before its start step (saturating).
    invalid : Out(16)
        Spike events whose key maps to no axon or whose count is 0, control events other than
        end-of-sample, and
        events of an unknown kind, dropped (saturating); for a 'per_event' core also a second
        event on one axon in one window, added to the first (:class:`AxonOrderBuffer`).
        Routing should make this 0.
    tag_error : Out(1)
        Sticky: a barrier arrived whose tag was not the one expected (``-1``, ``0``, ...).
    cmd_error : Out(1)
        Sticky: the core refused a clearing write.
    """

    def __init__(
        self,
        fmt: EventFormat,
        *,
        core: NeuronCore,
        axon_blocks,
        keys_per_endpoint,
        host,
        fifo_depth=16,
        start_step=0,
        source_start_steps=None,
    ):
        keys_per_endpoint = _check_common(fmt, core, keys_per_endpoint)
        n_endpoints = (1 << fmt.key_width) // keys_per_endpoint
        host = _check_int(host, "host", 0, n_endpoints - 1)
        fifo_depth = _check_int(fifo_depth, "fifo_depth", 2, 1 << 20)
        start_step = _check_int(start_step, "start_step", 0, 1 << 16)
        blocks, source_start_steps = _check_axon_blocks(
            axon_blocks, source_start_steps, fmt=fmt, n_axons=core.n_axons
        )
        if any(block.graded for block in blocks):
            # The payload, read as unsigned or as two's complement, must reach the core whole.
            needed = fmt.payload_width + 1
            if value_width(core) < needed:
                raise ValueError(
                    f"axon blocks carry graded values in a {fmt.payload_width}-bit "
                    f"payload, so the core needs value_width>={needed}, not "
                    f"{value_width(core)}"
                )
        self.fmt = fmt
        self.core = core
        self.axon_blocks = blocks
        self.start_step = start_step
        self.source_start_steps = source_start_steps
        self.keys_per_endpoint = keys_per_endpoint
        self.host = host
        self.fifo_depth = fifo_depth
        self.state_targets = state_targets(core)
        self.clear_writes = clear_writes(core)
        super().__init__(
            {
                "i": In(stream.Signature(event_layout(fmt))),
                "spikes_in": Out(stream.Signature(core.event_layout)),
                "step": Out(stream.Signature(unsigned(1))),
                "cmd": Out(stream.Signature(core.cmd_layout)),
                "rsp": In(stream.Signature(core.rsp_layout)),
                "dbg_cmd": In(stream.Signature(core.cmd_layout)),
                "dbg_rsp": Out(stream.Signature(core.rsp_layout)),
                "eos_dropped": Out(COUNTER_WIDTH),
                "invalid": Out(COUNTER_WIDTH),
                "tag_error": Out(1),
                "cmd_error": Out(1),
            }
        )

    @property
    def tick_key(self) -> int:
        """The host's tick key: the key of the end-of-sample control event."""
        return self.host * self.keys_per_endpoint + self.keys_per_endpoint - 1

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        count_width = max(1, fmt.payload_width)
        step_mask = (1 << fmt.step_width) - 1

        # ---- Window buffer.
        m.submodules.fifo = buffer = fifo.SyncFIFOBuffered(width=fmt.width, depth=self.fifo_depth)
        m.d.comb += [
            buffer.w_data.eq(self.i.payload),
            buffer.w_en.eq(self.i.valid),
            self.i.ready.eq(buffer.w_rdy),
        ]

        # ---- Decode the head of the buffer into the current-event register. Every
        # combinational signal below is one unconditional expression (a continuous assignment
        # in Verilog): Icarus never evaluates an `always @*` whose inputs keep their time-0
        # values, which would leave a valid or ready undefined until they change.
        head = data.View(event_layout(fmt), buffer.r_data)
        m.submodules.decoder = decoder = AxonDecoder(
            fmt,
            core=self.core,
            axon_blocks=self.axon_blocks,
            source_start_steps=self.source_start_steps,
        )
        m.d.comb += decoder.key.eq(head.key)
        if fmt.payload_width:
            m.d.comb += decoder.payload.eq(head.payload)
        # Graded blocks (their payload is a value, passed on in one event); without any, the
        # ingress is what it was before graded inputs existed.
        graded = any(block.graded for block in self.axon_blocks)

        # ---- Skewed timing (the gate is left out without it): the current event's source
        # start against the steps started in this sample.
        skewed = self.start_step > 0 or any(self.source_start_steps)
        if skewed:
            m.submodules.start_gate = start_gate = StartStepGate(
                start_step=self.start_step, source_start_steps=self.source_start_steps
            )

        cur = self._current_event(
            count_width, source_start_width=len(start_gate.source_start) if skewed else 1
        )

        # ---- A 'per_event' core adds events in arrival order, which routing does not fix: its
        # window's events are stored by axon and issued in ascending axon order at the barrier
        # (the buffer is left out for 'sum' cores, whose order is free).
        ordered = self.core.params.accumulation is Accumulation.PER_EVENT
        if ordered:
            m.submodules.order = order = AxonOrderBuffer(self.core, count_width=count_width)

        # ---- Execution state.
        state = Signal(range(5 if ordered else 4))
        eos_armed = Signal()  # end-of-sample seen in this window: the next one is the last
        eos_active = Signal()  # this window is the last of a sample
        expected_tag = Signal(fmt.step_width, init=step_mask)  # -1
        # Clearing writes (every clear write of every neuron, one command at a time; the
        # start-step clear writes only the state targets, not the delay ring), sharing the
        # core's command port with the debug path.
        m.submodules.clear = clear = ClearWalk(self.core, state_only=self.start_step > 0)
        dbg_busy = self._command_port(
            m,
            clear.cmd,
            clearing=state == _STATE_CLEAR_CMD,
            may_debug=(state == _STATE_EVENT) | (state == _STATE_STEP),
        )

        step_sent, in_event, is_barrier, is_control, drop_eos, drop_early, bad, retire = (
            self._classify(
                m,
                state,
                cur,
                eos_active,
                start_gate if skewed else None,
                order if ordered else None,
                graded=graded,
            )
        )

        advance = ~cur.valid | retire
        m.d.comb += buffer.r_en.eq(advance)
        with m.If(advance):
            self._load_current_event(
                m, cur, buffer.r_rdy, head, decoder, skewed=skewed, graded=graded
            )
        if not ordered:
            with m.Elif(self.spikes_in.valid & self.spikes_in.ready):
                m.d.sync += cur.count.eq(cur.count - 1)

        with m.If(in_event & (drop_eos | drop_early)):
            _saturating_increment(m, self.eos_dropped)
        with m.If(in_event & bad):
            _saturating_increment(m, self.invalid)
        if ordered:
            # A second event on one axon in one window: added to the first, and counted.
            with m.If(order.duplicate):
                _saturating_increment(m, self.invalid)
        with m.If(in_event & is_control & cur.tick):
            m.d.sync += eos_armed.eq(1)

        self._sequence(
            m,
            state,
            cur,
            is_barrier,
            step_sent,
            expected_tag,
            eos_armed,
            eos_active,
            clear,
            dbg_busy,
            start_gate if skewed else None,
            order if ordered else None,
        )
        return m

    def _classify(self, m, state, cur, eos_active, start_gate, order, *, graded):
        """Classify the current event (spike, control, barrier; dropped at a sample boundary,
        before its source started, or invalid) and drive the core's ``spikes_in`` and ``step``
        from it; ``start_gate`` is the :class:`StartStepGate` of a skewed network and ``order``
        the :class:`AxonOrderBuffer` of a 'per_event' core, else ``None``. Returns the flags the
        window sequence and the counters use, ``retire`` last: the current event is done."""
        skewed = start_gate is not None
        ordered = order is not None
        step_sent = Signal()
        in_event = Signal()
        is_spike = Signal()
        is_control = Signal()
        is_barrier = Signal()
        drop_eos = Signal()
        drop_early = Signal()
        bad = Signal()
        retire = Signal()
        if ordered:
            keep = Signal()  # a spike event the core will get: stored for the walk
            in_walk_start = Signal()
            m.d.comb += in_walk_start.eq((state == _STATE_EVENT) & cur.valid & is_barrier)
        m.d.comb += [
            step_sent.eq((state == _STATE_STEP) & self.step.ready),
            in_event.eq(cur.valid & (state == _STATE_EVENT)),
            is_spike.eq(cur.kind == EventKind.SPIKE),
            is_control.eq(cur.kind == EventKind.CONTROL),
            is_barrier.eq(cur.kind == EventKind.BARRIER),
            drop_eos.eq(is_spike & ~cur.host & eos_active),
            # A spike of the sample's local window k reaches this core once steps_started is
            # k + 1: its source had not started when steps_started <= its start step.
            drop_early.eq(
                (is_spike & ~cur.host & ~eos_active & cur.hit & start_gate.early) if skewed else 0
            ),
            # A spike without an axon or with a zero count, a control event other than the
            # end of sample, or an unknown kind.
            bad.eq(
                (is_spike & ~drop_eos & (~cur.hit | (cur.count == 0)))
                | (is_control & ~cur.tick)
                | ~(is_spike | is_control | is_barrier)
            ),
            *(
                [keep.eq(in_event & is_spike & ~drop_eos & ~drop_early & ~bad)]
                + [self.spikes_in.valid.eq(order.spikes.valid)]
                if ordered
                else [self.spikes_in.valid.eq(in_event & is_spike & ~drop_eos & ~drop_early & ~bad)]
            ),
            *(
                []
                if value_width(self.core)
                else [self.spikes_in.payload.eq(order.spikes.payload if ordered else cur.axon)]
            ),
            self.step.valid.eq(state == _STATE_STEP),
            self.step.payload.eq(0),
            retire.eq(
                (
                    in_event
                    & (
                        drop_eos
                        | drop_early
                        | bad
                        | is_control
                        | (
                            (order.store.valid & order.store.ready)
                            if ordered
                            else (
                                self.spikes_in.valid
                                & self.spikes_in.ready
                                & ((cur.graded | (cur.count == 1)) if graded else (cur.count == 1))
                            )
                        )
                    )
                )
                | step_sent
            ),
        ]

        if value_width(self.core):
            # A count goes out as that many events of value 1; a graded value in one event.
            value = Mux(cur.graded, Mux(cur.signed, cur.count.as_signed(), cur.count), 1)
            m.d.comb += [
                self.spikes_in.payload.axon.eq(cur.axon),
                self.spikes_in.payload.value.eq(value),
            ]

        if ordered:
            m.d.comb += [
                order.store.valid.eq(keep),
                order.store.payload.axon.eq(cur.axon),
                order.store.payload.count.eq(cur.count),
                order.spikes.ready.eq(self.spikes_in.ready),
                order.walk.eq(in_walk_start),
            ]

        return step_sent, in_event, is_barrier, is_control, drop_eos, drop_early, bad, retire

    def _current_event(self, count_width, *, source_start_width):
        """The current-event register: the buffer's head, decoded (see ``_load_current_event``)."""
        cur = Signal(
            data.StructLayout(
                {
                    "valid": 1,
                    "kind": EventKind,
                    "hit": 1,
                    "host": 1,
                    "tick": 1,
                    "axon": self.core.axon_bits,
                    "count": count_width,
                    "graded": 1,
                    "signed": 1,
                    "tag": self.fmt.step_width,
                    "source_start": source_start_width,
                }
            )
        )
        return cur

    def _sequence(
        self,
        m,
        state,
        cur,
        is_barrier,
        step_sent,
        expected_tag,
        eos_armed,
        eos_active,
        clear,
        dbg_busy,
        start_gate,
        order,
    ):
        """The window sequence: events until the barrier, the step, and the clear walk after a
        sample's last step (or at the population's start step); ``start_gate`` is the
        :class:`StartStepGate` of a skewed network, else ``None``; ``order`` the
        :class:`AxonOrderBuffer` of a 'per_event' core (walked between the barrier and the
        step), else ``None``."""
        if start_gate is not None:
            m.d.comb += [
                start_gate.step.eq(step_sent),
                start_gate.last_step.eq(eos_armed),
                start_gate.source_start.eq(cur.source_start),
            ]
        # The walk restarts with every step, and advances with each response to its writes.
        m.d.comb += [
            clear.restart.eq(step_sent),
            clear.restart_state_only.eq(start_gate.starts if self.start_step else 0),
            clear.advance.eq((state == _STATE_CLEAR_RSP) & self.rsp.valid & ~dbg_busy),
        ]

        with m.Switch(state):
            with m.Case(_STATE_EVENT):
                with m.If(cur.valid & is_barrier):
                    with m.If(cur.tag != expected_tag):
                        m.d.sync += self.tag_error.eq(1)
                    m.d.sync += state.eq(_STATE_STEP if order is None else _STATE_WALK)
            if order is not None:
                with m.Case(_STATE_WALK):
                    with m.If(~order.busy):
                        m.d.sync += state.eq(_STATE_STEP)
            with m.Case(_STATE_CLEAR_CMD):
                with m.If(self.cmd.valid & self.cmd.ready):
                    m.d.sync += state.eq(_STATE_CLEAR_RSP)
            with m.Case(_STATE_CLEAR_RSP):
                with m.If(self.rsp.valid & ~dbg_busy):
                    with m.If(self.rsp.payload.error):
                        m.d.sync += self.cmd_error.eq(1)
                    m.d.sync += state.eq(Mux(clear.last, _STATE_EVENT, _STATE_CLEAR_CMD))
            with m.Case(_STATE_STEP):
                # The step just sent is the sample's last when eos_armed: the clear follows it
                # (its commands wait for the core's done) and precedes the events of the next
                # sample's first step, so that they land in a cleared delay ring.
                with m.If(self.step.ready):
                    m.d.sync += [
                        state.eq(Mux(eos_armed, _STATE_CLEAR_CMD, _STATE_EVENT)),
                        eos_active.eq(eos_armed),
                        eos_armed.eq(0),
                        expected_tag.eq(expected_tag + 1),
                    ]
                    if self.start_step:
                        # After step start_step - 1 the population starts: clear its state.
                        with m.If(start_gate.starts):
                            m.d.sync += state.eq(_STATE_CLEAR_CMD)

    def _load_current_event(self, m, cur, valid, head, decoder, *, skewed, graded):
        """Load the current-event register ``cur`` with the buffer's ``head`` (present when
        ``valid``) and its decode; the source start only when ``skewed``, the graded and
        signed flags only when some block is ``graded``."""
        endpoint_bits = (self.keys_per_endpoint - 1).bit_length()
        m.d.sync += [
            cur.valid.eq(valid),
            cur.kind.eq(head.kind),
            cur.hit.eq(decoder.hit),
            cur.host.eq(head.key[endpoint_bits:] == self.host),
            cur.tick.eq(head.key == self.tick_key),
            cur.axon.eq(decoder.axon),
            cur.count.eq(decoder.count),
            cur.tag.eq(head.step),
        ]
        if skewed:
            m.d.sync += cur.source_start.eq(decoder.source_start)
        if graded:
            m.d.sync += [cur.graded.eq(decoder.graded), cur.signed.eq(decoder.signed)]

    def _command_port(self, m, clear_cmd, *, clearing, may_debug):
        """Drive the core's ``cmd``/``rsp``: the clear command while ``clearing``, else the
        debug path, which goes in between events and steps (``may_debug``), never during a
        clear. Returns ``dbg_busy``: a debug command waits for its response."""
        dbg_busy = Signal()
        dbg_allowed = ~dbg_busy & may_debug
        m.d.comb += [
            self.cmd.valid.eq(Mux(clearing, ~dbg_busy, self.dbg_cmd.valid & dbg_allowed)),
            self.cmd.payload.eq(
                Mux(clearing, clear_cmd.as_value(), self.dbg_cmd.payload.as_value())
            ),
            self.dbg_cmd.ready.eq(self.cmd.ready & dbg_allowed),
            self.dbg_rsp.payload.eq(self.rsp.payload),
            self.dbg_rsp.valid.eq(self.rsp.valid & dbg_busy),
            self.rsp.ready.eq(Mux(dbg_busy, self.dbg_rsp.ready, 1)),
        ]
        with m.If(self.dbg_cmd.valid & self.dbg_cmd.ready):
            m.d.sync += dbg_busy.eq(1)
        with m.If(self.dbg_rsp.valid & self.dbg_rsp.ready):
            m.d.sync += dbg_busy.eq(0)
        return dbg_busy


class CoreEgress(wiring.Component):
    """One core's ``spikes_out`` / ``done`` in, router events out.

    Parameters
    ----------
    fmt : EventFormat
    core : NeuronCore
    index : int
        The core's endpoint; its neuron ``j`` sends key ``index * K + j``.
    keys_per_endpoint : power of two
        ``K``; the core's neurons must leave the last key (the tick key) free.
    unrouted_neurons : iterable of int
        Local neurons whose key reaches nothing (no synapse, not an output): their spikes are
        taken from the core and not sent, as the plan model says (``docs/system.md``), instead
        of reaching a router that drops them and counts a drop. Empty (default): every spike is
        sent, and the egress is built exactly as without the option.

    Members
    -------
    spikes_out, done : In(the core's streams)
    o : Out(stream of event)
        A barrier tagged ``-1`` after reset; then per step the spike events (key, count in the
        payload if any, step tag) and a barrier tagged with the step (key: the tick key).
    """

    def __init__(
        self, fmt: EventFormat, *, core: NeuronCore, index, keys_per_endpoint, unrouted_neurons=()
    ):
        keys_per_endpoint = _check_common(fmt, core, keys_per_endpoint)
        index = _check_int(index, "index", 0, (1 << fmt.key_width) // keys_per_endpoint - 1)
        unrouted_neurons = frozenset(
            _check_int(j, "unrouted neuron", 0, core.n_neurons - 1) for j in unrouted_neurons
        )
        if core.n_neurons > keys_per_endpoint - 1:
            raise ValueError(
                f"a core of {core.n_neurons} neurons needs more than "
                f"keys_per_endpoint={keys_per_endpoint} keys (the last is the "
                f"tick key)"
            )
        max_count = core.params.max_spikes
        if max_count > 1 and fmt.payload_width < max_count.bit_length():
            raise ValueError(
                f"the core sends up to {max_count} spikes per neuron and step, "
                f"which needs a payload of at least {max_count.bit_length()} bits, "
                f"not {fmt.payload_width}"
            )
        self.fmt = fmt
        self.core = core
        self.index = index
        self.keys_per_endpoint = keys_per_endpoint
        self.unrouted_neurons = unrouted_neurons
        super().__init__(
            {
                "spikes_out": In(stream.Signature(core.spike_layout)),
                "done": In(stream.Signature(unsigned(len(core.done.payload)))),
                "o": Out(stream.Signature(event_layout(fmt))),
            }
        )

    @property
    def tick_key(self) -> int:
        return self.index * self.keys_per_endpoint + self.keys_per_endpoint - 1

    def elaborate(self, platform):
        m = Module()
        fmt = self.fmt
        base = self.index * self.keys_per_endpoint
        first = Signal(init=1)  # the reset barrier is still to be sent
        out_valid = Signal()
        out = Signal(event_layout(fmt))
        m.d.comb += [self.o.valid.eq(out_valid), self.o.payload.eq(out)]
        free = ~out_valid | self.o.ready
        m.d.comb += [
            self.spikes_out.ready.eq(free & ~first),
            self.done.ready.eq(free & ~first & ~self.spikes_out.valid),
        ]
        with m.If(free):
            m.d.sync += out_valid.eq(0)
            with m.If(first):
                m.d.sync += [
                    out_valid.eq(1),
                    first.eq(0),
                    out.kind.eq(EventKind.BARRIER),
                    out.key.eq(self.tick_key),
                    out.step.eq((1 << fmt.step_width) - 1),
                ]
                if fmt.payload_width:
                    m.d.sync += out.payload.eq(0)
            with m.Elif(self.spikes_out.valid):
                spike = self.spikes_out.payload
                sends = 1
                if self.unrouted_neurons:
                    # One bit per neuron: whether its key reaches anything (taken, not sent).
                    routed = Const(
                        sum(
                            1 << j
                            for j in range(self.core.n_neurons)
                            if j not in self.unrouted_neurons
                        ),
                        self.core.n_neurons,
                    )
                    sends = routed.bit_select(spike.neuron, 1)
                m.d.sync += [
                    out_valid.eq(sends),
                    out.kind.eq(EventKind.SPIKE),
                    out.key.eq(base + spike.neuron),
                    out.step.eq(spike.step),
                ]
                if fmt.payload_width:
                    m.d.sync += out.payload.eq(spike.count)
            with m.Elif(self.done.valid):
                m.d.sync += [
                    out_valid.eq(1),
                    out.kind.eq(EventKind.BARRIER),
                    out.key.eq(self.tick_key),
                    out.step.eq(self.done.payload),
                ]
                if fmt.payload_width:
                    m.d.sync += out.payload.eq(0)
        return m
