"""SPI peripheral (the device side of an SPI host link): mode 0 (clock idles low, data sampled on
the rising edge and changed on the falling edge), most significant bit first, full duplex.

:class:`SPIPeripheral` members: ``sck``, ``cs_n``, ``copi`` In(1) (from the controller; ``cs_n``
idles high), ``cipo`` Out(1); ``data_in`` Out(stream of the bytes received; a byte not taken
before the next one completes is dropped and pulses ``overrun``), ``data_out`` In(stream of the
bytes to send). Every byte the controller clocks exchanges one byte each way: the device sends
the byte ``data_out`` offers when the byte starts, or :data:`IDLE_BYTE` when it offers none.

The pins are synchronized (two flip-flops) and sampled with the ``sync`` clock, so the SPI clock
may be at most a eighth of it (a half SPI period must cover the synchronizer and the output
register before the controller samples). Meant to carry the framed link
(:mod:`neurohw.hw.framing`): its frames start with ``0xA5`` and the idle bytes between them
are skipped on both ends.
"""

from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["SPIPeripheral", "IDLE_BYTE"]

#: What the device sends when it has nothing to send (never a frame start).
IDLE_BYTE = 0x00


class SPIPeripheral(wiring.Component):
    def __init__(self):
        super().__init__(
            {
                "sck": In(1),
                "cs_n": In(1, init=1),
                "copi": In(1),
                "cipo": Out(1),
                "data_in": Out(stream.Signature(8)),
                "data_out": In(stream.Signature(8)),
                "overrun": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        sck, cs_n, copi = Signal(), Signal(init=1), Signal()
        m.submodules.sync_sck = FFSynchronizer(self.sck, sck)
        m.submodules.sync_cs_n = FFSynchronizer(self.cs_n, cs_n, init=1)
        m.submodules.sync_copi = FFSynchronizer(self.copi, copi)
        sck_prev = Signal()
        cs_prev = Signal(init=1)
        m.d.sync += [sck_prev.eq(sck), cs_prev.eq(cs_n)]
        rise = sck & ~sck_prev & ~cs_n
        fall = ~sck & sck_prev & ~cs_n
        selected = cs_prev & ~cs_n

        shift_in = Signal(8)
        shift_out = Signal(8)
        bits = Signal(range(8))
        boundary = Signal()  # the next falling edge starts a new byte
        loaded = Signal()  # shift_out holds data_out's byte (not the idle byte)
        m.d.comb += self.cipo.eq(shift_out[7])

        with m.If(self.data_in.valid & self.data_in.ready):
            m.d.sync += self.data_in.valid.eq(0)

        # A byte to send is put on the line when its byte starts (chip select, or the falling
        # edge after the previous byte's last bit) but taken from data_out only at its first
        # rising edge: a controller that ends the transfer there has not received it.
        with m.If(selected | (fall & boundary)):
            m.d.sync += [
                shift_out.eq(Mux(self.data_out.valid, self.data_out.payload, IDLE_BYTE)),
                loaded.eq(self.data_out.valid),
                boundary.eq(0),
            ]
        with m.Elif(fall):
            m.d.sync += shift_out.eq(shift_out << 1)

        with m.If(cs_n):
            m.d.sync += [bits.eq(0), boundary.eq(0), loaded.eq(0)]
        with m.Elif(rise):
            m.d.sync += [shift_in.eq((shift_in << 1) | copi), bits.eq(bits + 1)]
            with m.If((bits == 0) & loaded):
                m.d.comb += self.data_out.ready.eq(1)
                m.d.sync += loaded.eq(0)
            with m.If(bits == 7):
                m.d.sync += boundary.eq(1)
                with m.If(self.data_in.valid & ~self.data_in.ready):
                    m.d.comb += self.overrun.eq(1)
                with m.Else():
                    m.d.sync += [
                        self.data_in.valid.eq(1),
                        self.data_in.payload.eq((shift_in << 1) | copi),
                    ]
        return m
