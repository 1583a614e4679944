"""cocotb drivers and monitors for ``amaranth.lib.stream`` ports.

An Amaranth stream member ``name`` appears in the generated Verilog as the ports
``name__valid``, ``name__ready`` and ``name__payload`` (the payload flattened into
one vector, whatever its Amaranth layout). The rules these classes follow and check
are those of :mod:`amaranth.lib.stream`:

* a transfer happens on a rising clock edge where ``valid`` and ``ready`` are both high;
* once ``valid`` is asserted, the producer holds ``valid`` and ``payload`` until the transfer;
* ``valid`` must not depend combinationally on ``ready`` (``ready`` may depend on ``valid``).

Every class samples in the ``ReadOnly`` phase of a cycle, when the values that the
next rising edge will act on have settled, and drives right after the rising edge.
While an optional ``reset`` signal is high, nothing is sent, received or checked.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event, ReadOnly, RisingEdge

__all__ = ["StreamPort", "StreamSource", "StreamSink", "StreamProtocolChecker", "signal_to_int"]


def signal_to_int(value, *, signed: bool = False) -> int:
    """Convert a sampled cocotb value to a Python ``int`` (two's complement if ``signed``)."""
    if not value.is_resolvable:
        raise ValueError(f"value must be resolvable to 0/1 bits, not {str(value)!r}")
    if signed and hasattr(value, "to_signed"):
        return value.to_signed()
    return int(value)


class StreamPort:
    """The three handles of the stream port ``name`` on ``dut``."""

    def __init__(self, dut, name: str):
        try:
            self.valid = getattr(dut, f"{name}__valid")
            self.ready = getattr(dut, f"{name}__ready")
            self.payload = getattr(dut, f"{name}__payload")
        except AttributeError as error:
            raise AttributeError(
                f"stream port {name!r} needs {name}__valid, {name}__ready and {name}__payload "
                f"on the toplevel: {error}"
            ) from None
        self.name = name
        self.width = len(self.payload)


def _in_reset(reset) -> bool:
    # X during the first cycles counts as reset: nothing meaningful can transfer yet.
    return reset is not None and not (reset.value.is_resolvable and int(reset.value) == 0)


class StreamSource:
    """Drive the stream input ``name`` of ``dut`` from a queue of integers.

    ``idle_probability`` is the chance of leaving ``valid`` low for a cycle before
    offering the next word, drawn from a ``random.Random(seed)`` so that runs repeat.
    Negative integers are sent in two's complement. ``on_transfer(value)``, if given, is called
    in the ``ReadOnly`` phase of the cycle each word transfers.

    With nothing queued the driver sleeps (``valid`` low) until :meth:`send`, instead of
    waking every clock: long simulations spend most of their time in such wake-ups.
    """

    def __init__(
        self,
        dut,
        name: str,
        clock,
        *,
        reset=None,
        idle_probability: float = 0.0,
        seed: int = 0,
        on_transfer=None,
    ):
        if not 0.0 <= idle_probability < 1.0:
            raise ValueError(f"idle_probability must be in [0, 1), not {idle_probability!r}")
        self.port = StreamPort(dut, name)
        self.clock = clock
        self.reset = reset
        self.idle_probability = idle_probability
        self.random = random.Random(seed)
        self.sent_count = 0
        self.on_transfer = on_transfer
        self._queue: deque[int] = deque()
        self._idle = Event()
        self._idle.set()
        self._queued = Event()
        self.port.valid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, values: Iterable[int]) -> None:
        """Queue ``values`` for sending; returns at once."""
        mask = (1 << self.port.width) - 1
        for value in values:
            self._queue.append(int(value) & mask)
        if self._queue:
            self._idle.clear()
            self._queued.set()

    async def wait_idle(self) -> None:
        """Wait until every queued word has been transferred."""
        await self._idle.wait()

    async def _run(self) -> None:
        current: int | None = None
        transferred = False
        while True:
            if current is None and not self._queue:
                # Nothing to offer (valid is already low): sleep until send().
                self._queued.clear()
                await self._queued.wait()
            await RisingEdge(self.clock)
            if transferred:
                current = None
                self.sent_count += 1
                if not self._queue:
                    self._idle.set()
            if _in_reset(self.reset):
                # Reset empties the DUT; re-offer the word afterwards instead of losing it.
                self.port.valid.value = 0
            elif current is None and self._queue and self.random.random() >= self.idle_probability:
                current = self._queue.popleft()
                self.port.payload.value = current
                self.port.valid.value = 1
            elif current is None:
                self.port.valid.value = 0
            else:
                self.port.valid.value = 1  # holding an offered word (possibly after reset)
            await ReadOnly()
            transferred = (
                current is not None and not _in_reset(self.reset) and self.port.ready.value == 1
            )
            if transferred and self.on_transfer is not None:
                self.on_transfer(current)


class StreamSink:
    """Accept transfers from the stream output ``name`` of ``dut`` into :attr:`received`.

    Back-pressure: each cycle ``ready`` is low with ``backpressure_probability``;
    in addition, with ``stall_probability`` per cycle a stall of ``stall_cycles``
    consecutive not-ready cycles begins. Draws come from ``random.Random(seed)``.
    ``on_transfer(value)``, if given, is called in the ``ReadOnly`` phase of the cycle each word
    transfers.
    """

    def __init__(
        self,
        dut,
        name: str,
        clock,
        *,
        reset=None,
        signed: bool = False,
        backpressure_probability: float = 0.0,
        stall_probability: float = 0.0,
        stall_cycles: int = 0,
        seed: int = 1,
        on_transfer=None,
    ):
        if not 0.0 <= backpressure_probability < 1.0:
            raise ValueError(
                f"backpressure_probability must be in [0, 1), not {backpressure_probability!r}"
            )
        if not 0.0 <= stall_probability < 1.0:
            raise ValueError(f"stall_probability must be in [0, 1), not {stall_probability!r}")
        if stall_cycles < 0:
            raise ValueError(f"stall_cycles must be non-negative, not {stall_cycles!r}")
        self.port = StreamPort(dut, name)
        self.clock = clock
        self.reset = reset
        self.signed = signed
        self.backpressure_probability = backpressure_probability
        self.stall_probability = stall_probability
        self.stall_cycles = stall_cycles
        self.random = random.Random(seed)
        self.received: list[int] = []
        self.on_transfer = on_transfer
        self._wanted: int | None = None
        self._enough = Event()
        self.port.ready.value = 0
        self._task = cocotb.start_soon(self._run())

    async def receive(self, count: int) -> list[int]:
        """Wait until ``count`` words in total have been received and return the first ``count``.

        Bound the wait with the test's ``timeout_time`` or :func:`cocotb.triggers.with_timeout`.
        """
        if len(self.received) < count:
            self._wanted = count
            self._enough.clear()
            await self._enough.wait()
        return self.received[:count]

    def _ready_this_cycle(self, stall_left: int) -> tuple[bool, int]:
        if stall_left > 0:
            return False, stall_left - 1
        if self.stall_cycles and self.random.random() < self.stall_probability:
            return False, self.stall_cycles - 1
        return self.random.random() >= self.backpressure_probability, 0

    async def _run(self) -> None:
        stall_left = 0
        while True:
            await RisingEdge(self.clock)
            if _in_reset(self.reset):
                self.port.ready.value = 0
                continue
            ready, stall_left = self._ready_this_cycle(stall_left)
            self.port.ready.value = int(ready)
            await ReadOnly()
            if ready and self.port.valid.value == 1 and not _in_reset(self.reset):
                payload = self.port.payload.value
                if not payload.is_resolvable:
                    raise AssertionError(
                        f"{self.port.name}: payload is {str(payload)!r} during a transfer "
                        f"at {get_sim_time('ns')} ns"
                    )
                self.received.append(signal_to_int(payload, signed=self.signed))
                if self.on_transfer is not None:
                    self.on_transfer(self.received[-1])
                if self._wanted is not None and len(self.received) >= self._wanted:
                    self._wanted = None
                    self._enough.set()


class StreamProtocolChecker:
    """Watch the stream port ``name`` and fail the test on a producer rule violation.

    Checked every cycle outside reset: ``valid`` is 0 or 1; ``payload`` is fully
    defined while ``valid``; and a word offered without ``ready`` is offered again,
    unchanged, in the next cycle. Whether ``valid`` depends combinationally on
    ``ready`` is a structural property that cycle sampling cannot see.

    With ``raise_on_violation=False`` violations are only collected in
    :attr:`violations`, which lets a bench prove the checker itself works.
    """

    def __init__(self, dut, name: str, clock, *, reset=None, raise_on_violation: bool = True):
        self.port = StreamPort(dut, name)
        self.clock = clock
        self.reset = reset
        self.raise_on_violation = raise_on_violation
        self.violations: list[str] = []
        self.transfer_count = 0
        self._task = cocotb.start_soon(self._run())

    def _violation(self, message: str) -> None:
        message = f"{self.port.name}: {message} at {get_sim_time('ns')} ns"
        self.violations.append(message)
        if self.raise_on_violation:
            raise AssertionError(f"stream protocol violation on {message}")

    async def _run(self) -> None:
        pending: int | None = None  # payload offered last cycle and not yet taken
        while True:
            await RisingEdge(self.clock)
            await ReadOnly()
            if _in_reset(self.reset):
                pending = None
                continue
            valid, ready, payload = (
                self.port.valid.value,
                self.port.ready.value,
                self.port.payload.value,
            )
            if not valid.is_resolvable:
                self._violation(f"valid is {str(valid)!r}")
                continue
            if pending is not None:
                if valid != 1:
                    self._violation(f"valid dropped before payload {pending:#x} was transferred")
                elif payload.is_resolvable and int(payload) != pending:
                    self._violation(
                        f"payload changed from {pending:#x} to {int(payload):#x} before the transfer"
                    )
            pending = None
            if valid == 1:
                if not payload.is_resolvable:
                    self._violation(f"payload is {str(payload)!r} while valid")
                    continue
                if ready == 1:
                    self.transfer_count += 1
                else:
                    pending = int(payload)
