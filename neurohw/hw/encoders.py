"""Spike encoders in hardware, bit-exact with :mod:`neurohw.encoding` (``docs/encoders.md``).

Three components share one stream design (:class:`StreamEncoder`):

* :class:`RateEncoder`: Bernoulli spikes from one Galois LFSR per channel
  (:func:`neurohw.encoding.bernoulli_code`);
* :class:`LatencyEncoder`: time-to-first-spike within a window of ``window`` steps
  (:func:`neurohw.encoding.latency_code`);
* :class:`DeltaEncoder`: ON/OFF delta modulation (:func:`neurohw.encoding.delta_code`).

:class:`PopulationEncoder` (a population code, :mod:`neurohw.encoding.population`) uses the same
``i``/``o`` streams, keys, tags and reset convention, but walks the ``N`` neurons of each value
one per clock (its docstring).

Streams
-------
``i`` (``In(stream.Signature(unsigned(value_width)))``): the values of channels ``0 .. N - 1``
of step 0, then those of step 1, and so on; the channel of a value is its position in the step.

``o`` (``Out(stream.Signature(event_layout(fmt)))``, the system's address event,
:class:`neurohw.routing.EventFormat`): per step, one ``SPIKE`` event for each output line that
spikes, in ascending line order (key ``key_base + line``; ``payload`` 1 when the format has a
payload), then one ``BARRIER`` (key ``barrier_key``), even when nothing spiked. Both carry the
step tag ``(first_tag + step) mod 2**fmt.step_width``. Output lines are the channels (rate,
latency) or ``2c`` (ON) and ``2c + 1`` (OFF) of channel ``c`` (delta).

With ``key_base = plan.input_key(group, 0)``, ``barrier_key = plan.tick_key(plan.host)`` and
``first_tag = -1`` this is the host's per-step stream for that input group
(``docs/system.md``): input spikes of step ``s`` then barrier ``s - 1``, all tagged ``s - 1``,
when every line of the group is routed; ``neurohw.hw.aer.AERTransmitter`` puts it on pins.
The end-of-sample control event is not generated: a sample boundary is a reset of the encoder.

Timing: one value per clock while ``o`` is ready, plus one clock per step for the barrier;
``o`` is a register (no combinational path from ``i`` to ``o``); ``i.ready`` depends on
``o.ready`` (allowed by the stream rules). Per-channel state (LFSR, latency "fired" bit, delta
reference) lives in one memory of ``channels`` words, read one clock ahead of use. Memories are
not cleared by reset, so during the first step after reset a channel's state is taken from its
reset value (a seed ROM for the LFSRs, a constant otherwise) instead of the memory; every
channel is written in that step.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Const, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..encoding.lfsr import LFSR_MASKS, bernoulli_code, lfsr_seeds
from ..encoding.temporal import REFERENCE_UPDATES, delta_code, latency_code
from ..routing import EventFormat
from ..routing import EventKind as RoutingEventKind
from .event import EventKind, event_layout

__all__ = [
    "StreamEncoder",
    "RateEncoder",
    "LatencyEncoder",
    "DeltaEncoder",
    "PopulationEncoder",
    "lfsr_unrolled",
]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name, value, low, high=None):
    if not _is_int(value) or value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} must be an integer {span}, not {value!r}")
    return value


def _output_keys(fmt, out_lines, key_base, barrier_key, first_tag, *, payload_width=0):
    """``(key_base, barrier_key, first_tag, fmt)`` of an encoder's output, checked: ``fmt``
    (default: the narrowest keys that hold ``out_lines`` lines from ``key_base`` and the
    barrier key, 8-bit steps, ``payload_width``-bit payloads) must hold every key."""
    key_base = _check_int("key_base", key_base, 0)
    barrier_key = _check_int("barrier_key", barrier_key, 0)
    if not _is_int(first_tag):
        raise ValueError(f"first_tag must be an integer, not {first_tag!r}")
    top_key = max(key_base + out_lines - 1, barrier_key)
    if fmt is None:
        fmt = EventFormat(
            key_width=max(1, top_key.bit_length()), step_width=8, payload_width=payload_width
        )
    if not isinstance(fmt, EventFormat):
        raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
    if top_key >= 1 << fmt.key_width:
        raise ValueError(
            f"key {top_key} (key_base={key_base} + {out_lines} lines, "
            f"barrier_key={barrier_key}) does not fit the format's "
            f"key_width={fmt.key_width}"
        )
    return key_base, barrier_key, first_tag, fmt


def _send(o, fmt: EventFormat, kind, key, tag, payload) -> list:
    """The statements that put one event on stream ``o`` (its payload only where ``fmt`` has
    one)."""
    statements = [
        o.valid.eq(1),
        o.payload.kind.eq(kind),
        o.payload.key.eq(key),
        o.payload.step.eq(tag),
    ]
    if fmt.payload_width:
        statements.append(o.payload.payload.eq(payload))
    return statements


def _expected_words(encoder, counts) -> list[int]:
    """The words an encoder's ``o`` carries for the model's ``counts`` ``(steps, lines)``: a
    SPIKE per nonzero line (the count as payload where the format has one), then the step's
    BARRIER."""
    fmt = encoder.fmt
    words = []
    for t, row in enumerate(counts):
        tag = encoder.first_tag + t
        for line in np.flatnonzero(row):
            payload = int(row[line]) if fmt.payload_width else 0
            words.append(
                fmt.pack(RoutingEventKind.SPIKE, encoder.key_base + int(line), tag, payload)
            )
        words.append(fmt.pack(RoutingEventKind.BARRIER, encoder.barrier_key, tag))
    return words


def lfsr_unrolled(width: int, mask: int, shifts: int) -> list[int]:
    """The ``shifts``-fold Galois shift as a linear map: entry ``i`` is the mask of the input
    state bits whose XOR is output bit ``i`` (hardware builds one XOR per output bit)."""
    bits = [1 << i for i in range(width)]  # bit i of the state, as a set of inputs
    for _ in range(shifts):
        low = bits[0]
        bits = [bits[i + 1] if i + 1 < width else 0 for i in range(width)]
        bits = [b ^ (low if mask >> i & 1 else 0) for i, b in enumerate(bits)]
    return bits


class StreamEncoder(wiring.Component):
    """Common stream machinery of the encoders (module docstring). Subclasses give
    ``state_width``, ``out_lines``, :meth:`initial_state` and :meth:`encode`."""

    state_width: int
    out_lines: int

    def __init__(
        self,
        channels: int,
        value_width: int,
        *,
        fmt: EventFormat | None = None,
        key_base: int = 0,
        barrier_key: int = 0,
        first_tag: int = 0,
    ):
        self.channels = _check_int("channels", channels, 1, 1 << 16)
        self.value_width = _check_int("value_width", value_width, 1, 32)
        self.key_base, self.barrier_key, first_tag, fmt = _output_keys(
            fmt, self.out_lines, key_base, barrier_key, first_tag
        )
        self.fmt = fmt
        self.first_tag = first_tag % (1 << fmt.step_width)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self.value_width))),
                "o": Out(stream.Signature(event_layout(fmt))),
            }
        )

    # Subclass interface ------------------------------------------------------------------

    def initial_state(self) -> list[int]:
        """Reset value of each channel's state word."""
        raise NotImplementedError

    def encode(self, m, value, state, first):
        """Return ``(spike, off, new_state)`` for one value (``first``: first step of the
        window, for the latency code); ``off`` selects line ``2c + 1`` (delta only)."""
        raise NotImplementedError

    def step_logic(self, m, end_of_step):
        """Extra per-step state (latency window position); ``end_of_step`` pulses once per
        step. Returns the ``first`` flag passed to :meth:`encode`."""
        return Const(0, 1)

    def model(self, values):
        """The reference model's spikes ``(steps, out_lines)`` for ``values`` ``(steps,
        channels)`` with this encoder's parameters."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------

    def expected_words(self, values) -> list[int]:
        """The words ``o`` carries for ``values`` ``(steps, channels)``, from the model."""
        return _expected_words(self, np.asarray(self.model(values)))

    def elaborate(self, platform):
        m = Module()
        n = self.channels
        chan_width = max(1, (n - 1).bit_length())
        chan = Signal(chan_width)
        tag = Signal(self.fmt.step_width, init=self.first_tag)
        first_step = Signal(init=1)  # state comes from its reset value, not the memory
        barrier_pending = Signal()
        primed = Signal()  # the memories' read data is valid (one clock)
        m.d.sync += primed.eq(1)

        init = self.initial_state()
        mem = Memory(shape=unsigned(self.state_width), depth=n, init=init)
        m.submodules.state = mem
        wp = mem.write_port()
        rp = mem.read_port(transparent_for=(wp,))
        rom_rp = None
        if len(set(init)) == 1:
            reset_state = Const(init[0], self.state_width)
        else:
            rom = Memory(shape=unsigned(self.state_width), depth=n, init=init)
            m.submodules.reset_state = rom
            rom_rp = rom.read_port()
            reset_state = rom_rp.data

        out_free = ~self.o.valid | self.o.ready
        accept = Signal()
        end_of_step = Signal()
        m.d.comb += [
            accept.eq(self.i.valid & primed & ~barrier_pending & out_free),
            self.i.ready.eq(primed & ~barrier_pending & out_free),
            end_of_step.eq(barrier_pending & out_free),
        ]
        first = self.step_logic(m, end_of_step)

        last = chan == n - 1
        next_chan = Mux(last, 0, chan + 1)
        raddr = Mux(accept, next_chan, chan)
        m.d.comb += rp.addr.eq(raddr)
        if rom_rp is not None:
            m.d.comb += rom_rp.addr.eq(raddr)

        state = Mux(first_step, reset_state, rp.data)
        spike, off, new_state = self.encode(m, self.i.payload, state, first)
        m.d.comb += [wp.addr.eq(chan), wp.data.eq(new_state), wp.en.eq(accept)]

        key = Signal(self.fmt.key_width)
        if self.out_lines == 2 * n:
            m.d.comb += key.eq(self.key_base + chan * 2 + off)
        else:
            m.d.comb += key.eq(self.key_base + chan)

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(accept):
            m.d.sync += chan.eq(next_chan)
            with m.If(last):
                m.d.sync += barrier_pending.eq(1)
            with m.If(spike):
                m.d.sync += _send(self.o, self.fmt, EventKind.SPIKE, key, tag, 1)
        with m.If(end_of_step):
            m.d.sync += [barrier_pending.eq(0), first_step.eq(0), tag.eq(tag + 1)]
            m.d.sync += _send(self.o, self.fmt, EventKind.BARRIER, self.barrier_key, tag, 0)
        return m


class RateEncoder(StreamEncoder):
    """Bernoulli rate code: channel ``c`` spikes iff ``value > draw``; the draw is the low
    ``value_width`` bits of its ``lfsr_width``-bit Galois LFSR after ``lfsr_width`` shifts,
    seeded with ``lfsr_seeds(seed, channels, lfsr_width)`` or the given ``seeds``
    (:func:`neurohw.encoding.bernoulli_code`)."""

    def __init__(
        self,
        channels: int,
        value_width: int = 8,
        *,
        lfsr_width: int = 16,
        seed: int = 1,
        seeds=None,
        **kwargs,
    ):
        if not _is_int(lfsr_width) or lfsr_width not in LFSR_MASKS:
            raise ValueError(f"lfsr_width must be one of {sorted(LFSR_MASKS)}, not {lfsr_width!r}")
        _check_int("value_width", value_width, 1, 32)
        if value_width > lfsr_width:
            raise ValueError(f"value_width={value_width} must not exceed lfsr_width={lfsr_width}")
        _check_int("channels", channels, 1, 1 << 16)
        if seeds is None:
            _check_int("seed", seed, 0)
            seeds = [int(s) for s in lfsr_seeds(seed, channels, lfsr_width)]
        else:
            seeds = list(seeds)
            if len(seeds) != channels or not all(
                _is_int(int(s)) and 1 <= int(s) < 1 << lfsr_width for s in seeds
            ):
                raise ValueError(
                    f"seeds must be {channels} integers in "
                    f"1..{(1 << lfsr_width) - 1}, not {seeds!r}"
                )
            seeds = [int(s) for s in seeds]
        self.lfsr_width = lfsr_width
        self.mask = LFSR_MASKS[lfsr_width]
        self.seeds = seeds
        self.state_width = lfsr_width
        self.out_lines = channels
        super().__init__(channels, value_width, **kwargs)

    def initial_state(self):
        return list(self.seeds)

    def model(self, values):
        return bernoulli_code(
            values, value_width=self.value_width, lfsr_width=self.lfsr_width, seeds=self.seeds
        )

    def encode(self, m, value, state, first):
        taps = lfsr_unrolled(self.lfsr_width, self.mask, self.lfsr_width)
        advanced = Signal(self.lfsr_width)
        for i, inputs in enumerate(taps):
            bit = Const(0, 1)
            for j in range(self.lfsr_width):
                if inputs >> j & 1:
                    bit = bit ^ state[j]
            m.d.comb += advanced[i].eq(bit)
        spike = value > advanced[: self.value_width]
        return spike, Const(0, 1), advanced


class LatencyEncoder(StreamEncoder):
    """Time-to-first-spike code in windows of ``window`` steps: channel ``c`` spikes at the
    first position ``p`` of the window with ``value >= threshold`` and ``p >= L(value)``,
    ``L(x) = ((2**V - 1 - x) * window) >> V`` (:func:`neurohw.encoding.latency_code`)."""

    def __init__(
        self, channels: int, value_width: int = 8, *, window: int = 16, threshold: int = 1, **kwargs
    ):
        _check_int("value_width", value_width, 1, 32)
        self.window = _check_int("window", window, 1, 1 << 16)
        self.threshold = _check_int("threshold", threshold, 0, 1 << value_width)
        self.state_width = 1
        self.out_lines = channels if _is_int(channels) else 0
        super().__init__(channels, value_width, **kwargs)

    def initial_state(self):
        return [0] * self.channels

    def model(self, values):
        return latency_code(
            values, value_width=self.value_width, window=self.window, threshold=self.threshold
        )

    def step_logic(self, m, end_of_step):
        position = Signal(range(self.window), name="position")
        with m.If(end_of_step):
            m.d.sync += position.eq(Mux(position == self.window - 1, 0, position + 1))
        self.position = position
        return position == 0

    def encode(self, m, value, state, first):
        v = self.value_width
        top = (1 << v) - 1
        # p >= ((top - x) * T) >> V  <=>  (p + 1) << V > (top - x) * T
        product = Signal(v + self.window.bit_length() + 1)
        m.d.comb += product.eq((top - value) * self.window)
        lhs = Signal(v + 18)
        m.d.comb += lhs.eq((self.position + 1) << v)
        fired = state[0] & ~first
        spike = (value >= self.threshold) & (lhs > product) & ~fired
        return spike, Const(0, 1), fired | spike


class DeltaEncoder(StreamEncoder):
    """Delta modulation with ON (line ``2c``) and OFF (line ``2c + 1``) spikes: with
    ``d = value - r``, ON iff ``d >= threshold``, OFF iff ``-d >= threshold``; on a spike
    ``r = value`` (``reference="value"``) or ``r = r +/- threshold`` (``"threshold"``); ``r`` starts
    at ``initial`` (:func:`neurohw.encoding.delta_code`)."""

    def __init__(
        self,
        channels: int,
        value_width: int = 8,
        *,
        threshold: int = 1,
        reference: str = "value",
        initial: int = 0,
        **kwargs,
    ):
        _check_int("value_width", value_width, 1, 32)
        top = (1 << value_width) - 1
        self.threshold = _check_int("threshold", threshold, 1, top)
        if reference not in REFERENCE_UPDATES:
            raise ValueError(
                f"reference must be one of "
                f"{', '.join(map(repr, REFERENCE_UPDATES))}, not {reference!r}"
            )
        self.reference = reference
        self.initial = _check_int("initial", initial, 0, top)
        self.state_width = value_width
        self.out_lines = 2 * channels if _is_int(channels) else 0
        super().__init__(channels, value_width, **kwargs)

    def initial_state(self):
        return [self.initial] * self.channels

    def model(self, values):
        return delta_code(
            values,
            value_width=self.value_width,
            threshold=self.threshold,
            reference=self.reference,
            initial=self.initial,
        )

    def encode(self, m, value, state, first):
        v = self.value_width
        d = Signal(range(-(1 << v), 1 << v))
        m.d.comb += d.eq(value - state)
        on = d >= self.threshold
        off = -d >= self.threshold
        new = Signal(v)
        if self.reference == "value":
            m.d.comb += new.eq(Mux(on | off, value, state))
        else:
            m.d.comb += new.eq(
                Mux(on, state + self.threshold, Mux(off, state - self.threshold, state))
            )
        return on | off, off, new


class PopulationEncoder(wiring.Component):
    """The hardware of a :class:`neurohw.encoding.population.PopulationCode`
    (``docs/encoders.md``, "Population encoder").

    ``i`` carries one code ``u`` (``code.code_bits`` bits) per channel per step, channels
    ``0 .. channels - 1`` of step 0, then step 1, and so on. Neuron ``k`` of channel ``c`` is
    output line ``c * N + k``. For each value the encoder walks ``k = 0 .. N - 1``, one neuron
    per clock: the centre ``c_k`` comes from a ROM of ``N`` words, the distance ``|u - c_k|``
    addresses the tuning-table ROM (``G``, ``len(code.table)`` words of ``bits(max_level)``
    bits; distances beyond the table give 0), and

    * ``mode="count"``: a ``SPIKE`` with ``payload = q_k(u)`` when ``q_k(u) > 0`` (the format
      needs ``payload_width >= bits(max_level)``);
    * ``mode="rate"``: the rate-code accumulator of :mod:`neurohw.encoding.rate`, one word of
      ``bits(4 max_level)`` bits per line in a memory (``a = max_level`` after reset, ``a += 2 q``,
      spike and ``a -= 2 max_level`` when ``a >= 2 max_level``); ``payload`` 1 if the format has
      one.

    Then one ``BARRIER`` per step; tags, keys and the reset convention as
    :class:`StreamEncoder`. Throughput: ``N`` clocks per value plus one per step; ``i.ready``
    rises in the clock that handles the value's last neuron (``N = 1`` is not a population).
    """

    def __init__(
        self,
        code,
        channels: int = 1,
        *,
        mode: str = "count",
        fmt: EventFormat | None = None,
        key_base: int = 0,
        barrier_key: int = 0,
        first_tag: int = 0,
    ):
        from ..encoding.population import MODES, PopulationCode

        if not isinstance(code, PopulationCode):
            raise TypeError(
                f"code must be a PopulationCode (gaussian_code, cosine_code), not {code!r}"
            )
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")
        self.code = code
        self.mode = mode
        self.channels = _check_int("channels", channels, 1, 1 << 16)
        self.n_neurons = code.n_neurons
        self.out_lines = self.channels * self.n_neurons
        self.value_width = code.code_bits
        self.level_width = max(1, code.max_level.bit_length())
        self.acc_width = (4 * code.max_level).bit_length()
        need_payload = self.level_width if mode == "count" else 0
        self.key_base, self.barrier_key, first_tag, fmt = _output_keys(
            fmt, self.out_lines, key_base, barrier_key, first_tag, payload_width=need_payload
        )
        if fmt.payload_width < need_payload:
            raise ValueError(
                f"count mode sends levels up to max_level={code.max_level} in the "
                f"payload: the format needs payload_width>={need_payload}, not "
                f"{fmt.payload_width}"
            )
        self.fmt = fmt
        self.first_tag = first_tag % (1 << fmt.step_width)
        super().__init__(
            {
                "i": In(stream.Signature(unsigned(self.value_width))),
                "o": Out(stream.Signature(event_layout(fmt))),
            }
        )

    def levels(self, values) -> np.ndarray:
        """``q_k(u)`` of every line: int64 ``(steps, channels * N)`` for codes ``values``
        ``(steps, channels)`` (:meth:`PopulationCode.levels`)."""
        u = np.asarray(values)
        if u.ndim != 2 or u.shape[1] != self.channels:
            raise ValueError(f"values must have shape (steps, {self.channels}), not {u.shape}")
        return self.code.levels(u).reshape(u.shape[0], self.out_lines)

    def model(self, values) -> np.ndarray:
        """The model's spike counts ``(steps, channels * N)`` for codes ``values`` ``(steps,
        channels)``, one code per channel per step. For codes held over the steps this is
        exactly ``code.encode(u, steps, mode)`` (tested); a code that changes from step to step
        changes ``q`` in the count (count mode) or in the accumulator's increment (rate mode,
        the hardware form of :mod:`neurohw.encoding.rate` with ``q`` taken per step)."""
        q = self.levels(values)
        if self.mode == "count":
            return q
        levels = self.code.max_level
        acc = np.full(q.shape[1:], levels, dtype=np.int64)
        out = np.zeros_like(q)
        for t in range(q.shape[0]):
            acc = acc + 2 * q[t]
            fire = acc >= 2 * levels
            out[t] = fire
            acc = acc - 2 * levels * fire
        return out

    def expected_words(self, values) -> list[int]:
        """The words ``o`` carries for ``values`` ``(steps, channels)``, from :meth:`model`."""
        return _expected_words(self, self.model(values))

    def elaborate(self, platform):
        m = Module()
        code = self.code
        n, lines = self.n_neurons, self.out_lines
        rate = self.mode == "rate"

        k = Signal(range(n))  # neuron of the current value
        line = Signal(range(lines))  # c * N + k
        chan = Signal(range(self.channels))
        tag = Signal(self.fmt.step_width, init=self.first_tag)
        first_step = Signal(init=1)
        barrier_pending = Signal()
        primed = Signal()
        m.d.sync += primed.eq(1)

        out_free = ~self.o.valid | self.o.ready
        go = Signal()  # handle neuron k of the value on i
        last_k = k == n - 1
        last_chan = chan == self.channels - 1
        end_of_step = Signal()
        m.d.comb += [
            go.eq(self.i.valid & primed & ~barrier_pending & out_free),
            self.i.ready.eq(primed & ~barrier_pending & out_free & last_k),
            end_of_step.eq(barrier_pending & out_free),
        ]
        next_line = Mux(line == lines - 1, 0, line + 1)

        # Centre ROM and tuning-table ROM (asynchronous reads: small, in LUTs).
        centres = Memory(shape=unsigned(self.value_width), depth=n, init=list(code.centres))
        m.submodules.centres = centres
        c_rp = centres.read_port(domain="comb")
        table = Memory(
            shape=unsigned(self.level_width), depth=len(code.table), init=list(code.table)
        )
        m.submodules.table = table
        t_rp = table.read_port(domain="comb")
        u = self.i.payload
        centre = c_rp.data
        distance = Signal(self.value_width)
        m.d.comb += [
            c_rp.addr.eq(k),
            distance.eq(Mux(u >= centre, u - centre, centre - u)),
            t_rp.addr.eq(distance),
        ]
        level = Signal(self.level_width)
        m.d.comb += level.eq(Mux(distance < len(code.table), t_rp.data, 0))

        if rate:
            levels = code.max_level
            acc = Memory(shape=unsigned(self.acc_width), depth=lines, init=[levels] * lines)
            m.submodules.accumulators = acc
            wp = acc.write_port()
            rp = acc.read_port(transparent_for=(wp,))
            m.d.comb += rp.addr.eq(Mux(go, next_line, line))
            state = Mux(first_step, levels, rp.data)
            total = Signal(self.acc_width)
            m.d.comb += total.eq(state + 2 * level)
            spike = total >= 2 * levels
            m.d.comb += [
                wp.addr.eq(line),
                wp.en.eq(go),
                wp.data.eq(Mux(spike, total - 2 * levels, total)),
            ]
            payload = 1
        else:
            spike = level != 0
            payload = level

        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(go):
            m.d.sync += [line.eq(next_line), k.eq(Mux(last_k, 0, k + 1))]
            with m.If(last_k):
                m.d.sync += chan.eq(Mux(last_chan, 0, chan + 1))
                with m.If(last_chan):
                    m.d.sync += barrier_pending.eq(1)
            with m.If(spike):
                m.d.sync += _send(
                    self.o, self.fmt, EventKind.SPIKE, self.key_base + line, tag, payload
                )
        with m.If(end_of_step):
            m.d.sync += [barrier_pending.eq(0), first_step.eq(0), tag.eq(tag + 1)]
            m.d.sync += _send(self.o, self.fmt, EventKind.BARRIER, self.barrier_key, tag, 0)
        return m
