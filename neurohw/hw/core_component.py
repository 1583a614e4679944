"""The option plumbing shared by the cores: :class:`DescribedCore`.

A :class:`neurohw.hw.core.NeuronCore` and a :class:`neurohw.hw.conv_core.ConvCore` are each
built from a pure-Python description (``CoreConfig``, ``ConvConfig``) that validates every
option, derives the widths and layouts and answers the questions reports and the mapper ask
without hardware. This base class holds what they share: the description is built in
``__new__``, before the component exists, so a construction that raises leaves no unused
elaboratable behind to warn about; the ports come from the description's layouts; and the
description's public attributes read through the core.
"""

from __future__ import annotations

from amaranth.hdl import unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .core_config import STEP_WIDTH

__all__ = ["DescribedCore"]


class DescribedCore(wiring.Component):
    """A core whose ports and options come from a description built before the component.

    A subclass defines ``describe(*args, **options)``, a class method that validates the
    constructor's arguments and returns the description, which has ``event_layout``,
    ``spike_layout``, ``cmd_layout`` and ``rsp_layout``.

    Members
    -------
    spikes_in, step, spikes_out, done, cmd, rsp, overflow
        The stream ports every core has (``docs/core.md``).
    """

    def __new__(cls, *args, src_loc_at=0, **options):
        # Validate first: an exception here leaves no unused elaboratable behind.
        config = cls.describe(*args, **options)
        self = super().__new__(cls, src_loc_at=src_loc_at + 1)
        self.__dict__["config"] = config
        return self

    @classmethod
    def describe(cls, *args, **options):  # pragma: no cover - every core defines it
        raise NotImplementedError

    def __init__(self, *args, src_loc_at=0, **options):
        config = self.config
        super().__init__(
            {
                "spikes_in": In(stream.Signature(config.event_layout)),
                "step": In(stream.Signature(unsigned(1))),
                "spikes_out": Out(stream.Signature(config.spike_layout)),
                "done": Out(stream.Signature(unsigned(STEP_WIDTH))),
                "cmd": In(stream.Signature(config.cmd_layout)),
                "rsp": Out(stream.Signature(config.rsp_layout)),
                "overflow": Out(1),
            }
        )

    def __getattr__(self, name):
        # Only called for names the core itself lacks: the description's public attributes and
        # methods (n_neurons, cmd_layout, port_description, ...).
        config = self.__dict__.get("config")
        if config is not None and not name.startswith("_"):
            return getattr(config, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
