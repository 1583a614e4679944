"""A minimal stream component that exists only to exercise the simulation infrastructure."""

from amaranth.hdl import Const, Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out


class StreamAddConstant(wiring.Component):
    """Registered stream stage: ``o.payload = i.payload + addend`` (mod 2**width).

    One pipeline register with ready passed through combinationally, so both idle
    cycles on the input and back-pressure on the output reach the testbench.
    """

    def __init__(self, width: int = 16, addend: int = 0x1234):
        if not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive integer, not {width!r}")
        self.width = width
        self.addend = addend % (1 << width)
        super().__init__(
            {
                "i": In(stream.Signature(width)),
                "o": Out(stream.Signature(width)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        # Accept a new word whenever the output register is empty or being emptied.
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.ready):
            m.d.sync += [
                self.o.valid.eq(self.i.valid),
                self.o.payload.eq(self.i.payload + Const(self.addend, self.width)),
            ]
        return m
