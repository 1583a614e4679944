"""``Link``: drive a NeuronCore over the host-link byte protocol through any byte transport."""

from __future__ import annotations

import collections
import numbers

import numpy as np

from .framing import FramedTransport
from .protocol import CoreLayout, DeviceOp, Flags, HostOp, unpack_fields

__all__ = [
    "Link",
    "LinkError",
    "LinkTimeout",
    "CommandError",
    "SerialTransport",
    "SpiTransport",
]

#: Names of the states readable per neuron, and their command targets.
STATE_TARGETS = {
    "v": "V",
    "i0": "I0",
    "i1": "I1",
    "refractory": "REFRACTORY",
    "pending": "PENDING",
    "acc0": "ACC0",
    "acc1": "ACC1",
    "threshold": "THRESHOLD",
    "bias": "BIAS",
    "reset_value": "RESET_VALUE",
}
_ERROR_FLAGS = Flags.RX_OVERRUN | Flags.FRAME_ERROR | Flags.BAD_OPCODE


class LinkError(RuntimeError):
    """The device answered something unexpected, or reported a lost byte."""


class LinkTimeout(LinkError):
    """The transport returned no byte while a reply was due."""


class CommandError(LinkError):
    """The core refused a command (its response had ``error = 1``)."""


def _integers(values, what: str) -> np.ndarray:
    """``values`` as int64, refusing (never truncating) a non-integer: a float such as 1.7, a
    bool, or an unsigned value past int64."""
    array = np.asarray(values)
    if array.dtype == object:
        for value in array.flat:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"{what} must be integers, not {value!r}")
        return array
    if array.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, not dtype {array.dtype}")
    if array.dtype.kind == "u" and array.size and array.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} must fit in int64, not {int(array.max())}")
    return array.astype(np.int64)


class SerialTransport:
    """A serial port (pyserial) as a transport: ``SerialTransport("/dev/ttyUSB1", 115200)``.

    pyserial is optional: without it this raises ``ImportError`` naming the package.
    """

    def __init__(self, port: str, baud: int = 115200, *, timeout: float = 1.0):
        try:
            import serial
        except ImportError as error:
            raise ImportError(
                "SerialTransport needs pyserial (`pip install pyserial`); any "
                "object with write(bytes) and read(n) works as a transport"
            ) from error
        self.serial = serial.Serial(port, baud, timeout=timeout)

    def write(self, data: bytes) -> None:
        self.serial.write(data)

    def read(self, n: int) -> bytes:
        return self.serial.read(n)

    def close(self) -> None:
        self.serial.close()


class SpiTransport:
    """An SPI controller (Linux ``spidev``, e.g. a Raspberry Pi) as a transport to a device with
    :class:`neurohw.hw.spi.SPIPeripheral`, for the framed link only (SPI has no idle state a
    byte stream could tell from data; frames can): ``Link.open_spi(layout)``, or
    ``FramedTransport(SpiTransport(bus, device))``.

    SPI is full duplex: every byte written clocks one byte in, kept for ``read``; ``read(n)``
    with nothing kept clocks ``n`` idle bytes (``0x00``) to fetch what the device has. Mode 0,
    ``speed_hz`` at most an eighth of the device's clock. spidev is optional: without it this
    raises ``ImportError`` naming the package. ``spi``: an object with spidev's ``xfer2``
    instead (a simulation).
    """

    def __init__(self, bus: int = 0, device: int = 0, *, speed_hz: int = 1_000_000, spi=None):
        if spi is None:
            try:
                import spidev
            except ImportError as error:
                raise ImportError(
                    "SpiTransport needs spidev (`pip install spidev`, Linux only); any "
                    "object with spidev's xfer2 works as spi="
                ) from error
            spi = spidev.SpiDev()
            spi.open(bus, device)
            spi.mode = 0
            spi.max_speed_hz = int(speed_hz)
        self.spi = spi
        self._rx = bytearray()

    def write(self, data: bytes) -> None:
        self._rx += bytes(self.spi.xfer2(list(data)))

    def read(self, n: int) -> bytes:
        if not self._rx:
            self._rx += bytes(self.spi.xfer2([0] * n))
        data, self._rx = bytes(self._rx[:n]), self._rx[n:]
        return data

    def close(self) -> None:
        close = getattr(self.spi, "close", None)
        if close is not None:
            close()


class Link:
    """A NeuronCore behind a host link.

    ``transport``: any object with ``write(bytes)`` and ``read(n) -> bytes`` (at most ``n``
    bytes, ``b""`` after a timeout). ``layout``: a :class:`CoreLayout`, the description dict
    or JSON file of :func:`neurohw.templates.render`, or the NeuronCore itself.
    ``timeouts``: consecutive empty reads tolerated while a reply is due.

    Flow control: the device buffers ``rx_fifo_depth`` bytes; the link never has more than
    that many bytes sent and not yet confirmed consumed (a ``SYNC`` after at most half of it,
    whose reply confirms everything before it), so nothing is lost while the core is busy.
    """

    def __init__(self, transport, layout, *, rx_fifo_depth: int | None = None, timeouts: int = 3):
        self.transport = transport
        self.layout = CoreLayout.load(layout)
        if rx_fifo_depth is not None:
            self.layout.rx_fifo_depth = int(rx_fifo_depth)
        self.timeouts = int(timeouts)
        self._window = max(8, self.layout.rx_fifo_depth // 2 - 4)
        self._since_sync = 0
        self._outstanding: collections.deque[tuple[int, int]] = collections.deque()
        self._seq = 0
        self._rx = bytearray()
        self._spikes: list[dict] = []
        self._done: collections.deque[tuple[int, int]] = collections.deque()
        self._rsp: collections.deque[tuple[int, int]] = collections.deque()
        self._info: collections.deque[bytes] = collections.deque()
        self._sync: collections.deque[tuple[int, int]] = collections.deque()
        self.flags = 0
        self.step_number = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    @classmethod
    def open_serial(
        cls,
        port: str,
        layout,
        *,
        baud: int = 115200,
        timeout: float = 1.0,
        framing: bool = False,
        **kwargs,
    ) -> Link:
        """A link over the serial port ``port`` (needs pyserial); ``framing``: the framed link
        (protocol version 2, a device built with ``framing=True``)."""
        transport = SerialTransport(port, baud, timeout=timeout)
        if framing:
            transport = FramedTransport(transport)
        return cls(transport, layout, **kwargs)

    @classmethod
    def open_spi(
        cls, layout, *, bus: int = 0, device: int = 0, speed_hz: int = 1_000_000, **kwargs
    ) -> Link:
        """A framed link over SPI (``/dev/spidev<bus>.<device>``, needs spidev)."""
        return cls(FramedTransport(SpiTransport(bus, device, speed_hz=speed_hz)), layout, **kwargs)

    # -- bytes -----------------------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        """Send one frame, keeping the device's receive FIFO from overflowing."""
        if self._since_sync + len(frame) > self._window:
            self._send_sync()
        while (
            sum(n for _, n in self._outstanding) + self._since_sync + len(frame)
            > self.layout.rx_fifo_depth - 4
        ):
            if not self._outstanding:
                self._send_sync()
            self._wait_sync(self._outstanding[0][0])
        self._write(frame)
        self._since_sync += len(frame)

    def _write(self, data: bytes) -> None:
        self.transport.write(bytes(data))
        self.bytes_sent += len(data)

    def _send_sync(self) -> int:
        seq = self._seq
        self._seq = (self._seq + 1) & 0xFF
        self._write(bytes([HostOp.SYNC, seq]))
        self._outstanding.append((seq, self._since_sync + 2))
        self._since_sync = 0
        return seq

    def _wait_sync(self, seq: int) -> int:
        while True:
            while not self._sync:
                self._receive_frame(f"the reply to SYNC {seq}")
            got, flags = self._sync.popleft()
            expected, _ = self._outstanding.popleft()
            if got != expected:
                raise LinkError(f"SYNC reply {got} arrived, expected {expected}: bytes were lost")
            if got == seq:
                return flags

    def _read_exact(self, n: int, what: str) -> bytes:
        empty = 0
        while len(self._rx) < n:
            chunk = self.transport.read(n - len(self._rx))
            if not chunk:
                empty += 1
                if empty > self.timeouts:
                    raise LinkTimeout(
                        f"timed out waiting for {what} ({len(self._rx)} of {n} bytes received)"
                    )
                continue
            empty = 0
            self._rx += chunk
            self.bytes_received += len(chunk)
        data, self._rx = bytes(self._rx[:n]), self._rx[n:]
        return data

    def _receive_frame(self, what: str) -> None:
        """Read one frame from the device and file it."""
        opcode = self._read_exact(1, what)[0]
        length = self.layout.device_payload_bytes(opcode)
        if length is None:
            raise LinkError(
                f"unknown frame opcode {opcode:#04x} from the device while waiting for {what}"
            )
        value = int.from_bytes(self._read_exact(length, what), "little")
        if opcode == DeviceOp.SPIKE:
            self._spikes.append(unpack_fields(value, self.layout.spike))
        elif opcode == DeviceOp.DONE:
            step, flags = (
                value & ((1 << self.layout.step_width) - 1),
                value >> self.layout.step_width,
            )
            self._note_flags(flags)
            self._done.append((step, flags))
        elif opcode == DeviceOp.RSP:
            fields = unpack_fields(value, self.layout.rsp)
            self._rsp.append((fields["data"], fields["error"]))
        elif opcode == DeviceOp.INFO:
            self._info.append(value.to_bytes(length, "little"))
        else:
            seq, flags = value & 0xFF, value >> 8
            self._note_flags(flags)
            self._sync.append((seq, flags))

    def _note_flags(self, flags: int) -> None:
        self.flags |= flags
        if flags & _ERROR_FLAGS:
            names = [flag.name for flag in Flags if flags & flag & _ERROR_FLAGS]
            raise LinkError(
                f"the device reports {', '.join(names)}: bytes from the host were "
                f"lost or malformed (reset the device)"
            )

    # -- device ----------------------------------------------------------------------------------

    def info(self, *, check: bool = True) -> dict:
        """Ask the device for its ``INFO`` block; with ``check``, ``LinkError`` unless it
        matches the layout. Returns the decoded block."""
        self._send(bytes([HostOp.INFO]))
        while not self._info:
            self._receive_frame("the INFO reply")
        block = self._info.popleft()
        if check and block != self.layout.expected_info():
            raise LinkError(
                f"the device is not the core of this layout: INFO {block.hex()}, "
                f"expected {self.layout.expected_info().hex()}"
            )
        return {
            "magic": block[:2],
            "version": block[2],
            "event_bytes": block[3],
            "cmd_bytes": block[4],
            "rsp_bytes": block[5],
            "spike_bytes": block[6],
            "n_neurons": int.from_bytes(block[7:9], "little"),
            "n_axons": int.from_bytes(block[9:12], "little"),
            "lanes": block[12],
            "rx_fifo_depth": 1 << block[13],
            "data_width": block[14],
            "sparse": bool(block[15] & 1),
        }

    def sync(self) -> int:
        """Wait until the device has consumed everything sent so far; return its flags."""
        seq = self._send_sync()
        return self._wait_sync(seq)

    # -- commands --------------------------------------------------------------------------------

    def commands(self, commands, *, check: bool = True) -> list[tuple[int, int]]:
        """Send ``(write, target, neuron, axon, data)`` commands (pipelined) and return the
        ``(data, error)`` of each response; with ``check``, a refused one raises
        :class:`CommandError`."""
        commands = [(w, self.layout.target(t), n, a, d) for w, t, n, a, d in commands]
        for command in commands:
            self._check_command(command)
        results = []
        pending = collections.deque()
        for command in commands:
            self._send(self.layout.cmd_frame(*command))
            pending.append(command)
            while self._rsp and pending:
                results.append(self._rsp.popleft())
                pending.popleft()
        while pending:
            while not self._rsp:
                self._receive_frame(f"the response to command {pending[0]}")
            results.append(self._rsp.popleft())
            pending.popleft()
        if check:
            for command, (_data, error) in zip(commands, results):
                if error:
                    raise CommandError(
                        f"the core refused command (write, target, neuron, axon, data) = {command}"
                    )
        return results

    def _check_command(self, command) -> None:
        """Refuse, before anything is sent, a field that is not an integer and a weight that
        the core's ``weight_width`` cannot hold (the core would keep only its low bits)."""
        names = ("write", "target", "neuron", "axon", "data")
        for name, value in zip(names, command):
            if isinstance(value, bool) and name != "write":
                raise ValueError(f"command {name} must be an integer, not {value!r}")
            if not isinstance(value, numbers.Integral):
                raise ValueError(f"command {name} must be an integer, not {value!r}")
        write, target, _neuron, _axon, data = command
        width = self.layout.weight_width
        if write and width and target in self._weight_targets:
            low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
            if not low <= data <= high:
                raise ValueError(
                    f"weight {data} does not fit the core's weight_width={width} ([{low}, {high}])"
                )

    @property
    def _weight_targets(self) -> set:
        return {code for name, code in self.layout.targets.items() if name.startswith("WEIGHT")}

    def read(self, target, neuron: int = 0, axon: int = 0) -> int:
        """Read one word (``target`` a name such as ``"V"`` or a code)."""
        [(data, _)] = self.commands([(0, target, neuron, axon, 0)])
        return data

    def write(self, target, value: int, neuron: int = 0, axon: int = 0) -> None:
        self.commands([(1, target, neuron, axon, value)])

    def load_weights(self, weights) -> int:
        """Write every weight: ``weights`` is ``(channels, axons, neurons)`` or ``(axons,
        neurons)``. Sparse cores: only the stored synapses (a non-zero weight elsewhere raises
        ``ValueError``). Returns the number of commands sent."""
        weights = _integers(weights, "weights")
        if weights.ndim == 2:
            weights = weights[np.newaxis]
        L = self.layout
        if weights.shape != (L.channels, L.n_axons, L.n_neurons):
            raise ValueError(
                f"weights must have shape {(L.channels, L.n_axons, L.n_neurons)}, "
                f"not {weights.shape}"
            )
        if L.connectivity == "sparse":
            synapses = self.synapses()
            present = np.zeros(weights.shape[1:], dtype=bool)
            commands = []
            for axon, targets in enumerate(synapses):
                for slot, neuron in enumerate(targets):
                    present[axon, neuron] = True
                    commands += [
                        (1, f"WEIGHT{c}", slot, axon, int(weights[c, axon, neuron]))
                        for c in range(L.channels)
                    ]
            if np.any(weights[:, ~present]):
                raise ValueError(
                    "weights have non-zero entries where the sparse core has no "
                    "synapse (its synapse set is fixed when it is generated)"
                )
        else:
            commands = [
                (1, f"WEIGHT{c}", n, a, int(weights[c, a, n]))
                for c in range(L.channels)
                for a in range(L.n_axons)
                for n in range(L.n_neurons)
            ]
        self.commands(commands)
        return len(commands)

    def synapses(self) -> list[list[int]]:
        """Sparse cores: the target neurons of each axon's fan-out list, by slot."""
        L = self.layout
        result = []
        for axon in range(L.n_axons):
            targets = []
            while True:
                [(neuron, error)] = self.commands(
                    [(0, "SYNAPSE_TARGET", len(targets), axon, 0)], check=False
                )
                if error:
                    break
                targets.append(neuron)
            result.append(targets)
        return result

    def load_params(self, **values) -> None:
        """Write per-neuron parameters held in memories: ``threshold`` (effective, shifted),
        ``bias`` (effective), ``reset_value``; each a scalar or one value per neuron."""
        commands = []
        for name, value in values.items():
            if name not in ("threshold", "bias", "reset_value"):
                raise ValueError(
                    f"parameter must be one of 'threshold', 'bias', 'reset_value', not {name!r}"
                )
            array = np.broadcast_to(_integers(value, name), (self.layout.n_neurons,))
            target = self.layout.target(STATE_TARGETS[name])
            commands += [(1, target, n, 0, int(array[n])) for n in range(self.layout.n_neurons)]
        self.commands(commands)

    def read_state(self, name: str) -> np.ndarray:
        """One state of every neuron: ``"v"``, ``"i0"``, ``"i1"``, ``"refractory"``, ``"acc0"``,
        ``"acc1"`` or a per-neuron parameter."""
        if name not in STATE_TARGETS:
            raise ValueError(
                f"state must be one of {', '.join(map(repr, STATE_TARGETS))}, not {name!r}"
            )
        target = self.layout.target(STATE_TARGETS[name])
        results = self.commands([(0, target, n, 0, 0) for n in range(self.layout.n_neurons)])
        return np.array([data for data, _ in results], dtype=np.int64)

    def write_state(self, name: str, values) -> None:
        """Write one state (``"v"``, ``"i0"``, ``"i1"``, ``"refractory"``) of every neuron."""
        if name not in ("v", "i0", "i1", "refractory"):
            raise ValueError(f"state must be one of 'v', 'i0', 'i1', 'refractory', not {name!r}")
        values = np.broadcast_to(_integers(values, name), (self.layout.n_neurons,))
        target = self.layout.target(STATE_TARGETS[name])
        self.commands([(1, target, n, 0, int(values[n])) for n in range(self.layout.n_neurons)])

    def counters(self) -> dict[str, int]:
        """The core's status counters (``OVERFLOW_EVENTS``, ``INVALID_AXON_EVENTS``, ``STEP``,
        ``EVENTS_THIS_STEP``) and the link's byte counts."""
        names = sorted(self.layout.status, key=self.layout.status.get)
        results = self.commands([(0, "STATUS", self.layout.status[name], 0, 0) for name in names])
        counters = {name: data for name, (data, _) in zip(names, results)}
        counters.update(bytes_sent=self.bytes_sent, bytes_received=self.bytes_received)
        return counters

    # -- steps -----------------------------------------------------------------------------------

    def send_events(self, events) -> int:
        """Send input spikes: axon addresses (a count ``k`` on axon ``a`` is ``k`` events), or
        for a graded core (``layout.value_width``) ``(axon, value)`` pairs too, one event each.
        Returns the number of events sent."""
        count = 0
        for event in events:
            if isinstance(event, (tuple, list)):
                axon, value = _integers(event, "event (axon, value) pairs")
                self._send(self.layout.event_frame(int(axon), int(value)))
            else:
                self._send(self.layout.event_frame(int(_integers(event, "event axons"))))
            count += 1
        return count

    def step(self, events=()) -> dict[int, int]:
        """Send ``events`` (axon addresses), end the step and wait for it: returns
        ``{neuron: spike count}`` of the step."""
        self.send_events(events)
        self._send(bytes([HostOp.STEP]))
        while not self._done:
            self._receive_frame(f"the end of step {self.step_number}")
        step, _ = self._done.popleft()
        expected = self.step_number % (1 << self.layout.step_width)
        if step != expected:
            raise LinkError(f"the device finished step {step}, expected {expected}")
        spikes = {}
        for spike in self._spikes:
            if spike["step"] != expected:
                raise LinkError(
                    f"a spike of neuron {spike['neuron']} carries step "
                    f"{spike['step']}, expected {expected}"
                )
            if spike["neuron"] in spikes:
                raise LinkError(f"neuron {spike['neuron']} reported twice in step {expected}")
            spikes[spike["neuron"]] = spike["count"]
        self._spikes.clear()
        self.step_number += 1
        return spikes

    def run(self, counts, *, shuffle=None) -> np.ndarray:
        """Run ``counts`` (steps, axons) of input spike counts; returns (steps, neurons) spike
        counts. Events of a step are sent in ascending axon order (``shuffle``: a
        ``numpy.random.Generator`` to send them in random order, for accumulation 'sum')."""
        counts = np.asarray(counts)
        if counts.dtype.kind == "b":
            counts = counts.astype(np.int64)
        counts = _integers(counts, "counts")
        if counts.ndim != 2 or counts.shape[1] != self.layout.n_axons:
            raise ValueError(
                f"counts must have shape (steps, {self.layout.n_axons}), not {counts.shape}"
            )
        if counts.size and counts.min() < 0:
            raise ValueError(f"counts must be at least 0, not {int(counts.min())}")
        out = np.zeros((counts.shape[0], self.layout.n_neurons), dtype=np.int64)
        for t, row in enumerate(counts):
            events = np.repeat(np.arange(self.layout.n_axons), row)
            if shuffle is not None:
                shuffle.shuffle(events)
            for neuron, count in self.step(events).items():
                out[t, neuron] = count
        return out

    def close(self) -> None:
        close = getattr(self.transport, "close", None)
        if close is not None:
            close()
