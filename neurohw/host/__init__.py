"""Host library for a NeuronCore behind the UART host link (:mod:`neurohw.hw.host_bridge`).

    from neurohw.host import Link
    link = Link.open_serial("/dev/ttyUSB1", "build/rtl/neuron_core.json", baud=115200)
    link.info()                       # checks the device against the description
    link.load_weights(weights)        # (channels, axons, neurons) or (axons, neurons)
    spikes = link.run(input_counts)   # (steps, axons) -> (steps, neurons)
    v = link.read_state("v")

Any object with ``write(bytes)`` and ``read(n) -> bytes`` (returning ``b""`` on a timeout) is a
transport; :class:`SerialTransport` wraps pyserial when it is installed. The byte protocols are
defined in :mod:`neurohw.host.protocol` (core link) and :mod:`neurohw.host.system_protocol` (chip
link), in pure Python, and described in ``docs/integration.md``. :class:`FramedTransport`
speaks the framed link (protocol version 2, :mod:`neurohw.host.framing`: CRC, acknowledgments
and retries) over any such transport: ``Link.open_serial(..., framing=True)``; :class:`SpiTransport` carries
it over SPI (``Link.open_spi``).
"""

from .framing import FramedTransport, FramingError
from .link import CommandError, Link, LinkError, LinkTimeout, SerialTransport, SpiTransport
from .protocol import CoreLayout, DeviceOp, Flags, HostOp
from .system_protocol import SystemDeviceOp, SystemFlags, SystemHostOp

__all__ = [
    "Link",
    "LinkError",
    "LinkTimeout",
    "CommandError",
    "SerialTransport",
    "SpiTransport",
    "FramedTransport",
    "FramingError",
    "CoreLayout",
    "HostOp",
    "DeviceOp",
    "Flags",
    "SystemHostOp",
    "SystemDeviceOp",
    "SystemFlags",
]
