"""The address event as an Amaranth data layout, built from :class:`neurohw.routing.EventFormat`.

Cores, routers and AER adapters all carry :func:`event_layout` payloads; the Python side packs
and unpacks the same words with :meth:`EventFormat.pack` / :meth:`EventFormat.unpack`, because
both read the one field list :attr:`EventFormat.fields`.
"""

from amaranth.hdl import unsigned
from amaranth.lib import data, enum

from ..routing import KIND_WIDTH, REASON_WIDTH, EventFormat
from ..routing import DropReason as _PyDropReason
from ..routing import EventKind as _PyEventKind

__all__ = ["EventKind", "DropReason", "event_layout", "dropped_layout"]


class EventKind(enum.Enum, shape=unsigned(KIND_WIDTH)):
    """Amaranth shape of :class:`neurohw.routing.EventKind` (same names and values)."""

    SPIKE = _PyEventKind.SPIKE.value
    BARRIER = _PyEventKind.BARRIER.value
    CONTROL = _PyEventKind.CONTROL.value


class DropReason(enum.Enum, shape=unsigned(REASON_WIDTH)):
    """Amaranth shape of :class:`neurohw.routing.DropReason` (same names and values)."""

    UNMATCHED = _PyDropReason.UNMATCHED.value


def event_layout(fmt: EventFormat) -> data.StructLayout:
    """The :class:`~amaranth.lib.data.StructLayout` of an event in format ``fmt``."""
    if not isinstance(fmt, EventFormat):
        raise TypeError(f"event format must be an EventFormat, not {fmt!r}")
    shapes = {"kind": EventKind}
    return data.StructLayout(
        {name: shapes.get(name, unsigned(width)) for name, width in fmt.fields}
    )


def dropped_layout(fmt: EventFormat, n_ports: int) -> data.StructLayout:
    """A drop report: the ``event``, the ``reason`` and the input ``port`` it arrived on."""
    return data.StructLayout(
        {
            "event": event_layout(fmt),
            "reason": DropReason,
            "port": unsigned(max(1, (n_ports - 1).bit_length())),
        }
    )
