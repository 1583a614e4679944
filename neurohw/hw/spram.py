"""SPRAM weight memories for synthesis, through Amaranth's platform memory hook.

A core built with ``weight_memory='spram'`` keeps its weights in ordinary
:class:`amaranth.lib.memory.Memory` banks marked ``ram_style = "huge"`` (see
:mod:`neurohw.hw.core_memories`); simulation uses them as they are. Amaranth writes an initializer
for every memory (all zero here), but Yosys maps a memory onto the iCE40UP5K's SB_SPRAM256KA only
if it has no initial contents, and the SPRAM has none. For synthesis, :class:`SynthesisMemories`
is passed as the platform of the conversion: Amaranth calls its ``get_memory`` (the documented
hook of ``Memory.elaborate``), which builds each ``ram_style = "huge"`` memory as an instance of
:data:`SPRAM_BANK_MODULE`, a Verilog memory with the same ports and no initializer
(:func:`spram_bank_verilog`); every other memory is built as Amaranth builds it. The core refuses
non-zero initial weights in that mode (they are written over ``cmd``), so nothing but the
power-up contents, which the core never reads before writing them, differs from simulation.
"""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Instance, Module

__all__ = [
    "SPRAM_BANK_MODULE",
    "SPRAM_PACKED_BANK_MODULE",
    "SynthesisMemories",
    "spram_bank_verilog",
    "spram_packed_bank_verilog",
    "is_spram",
]

#: Name of the Verilog module of one SPRAM weight bank.
SPRAM_BANK_MODULE = "neurohw_spram_bank"
#: Name of the Verilog module of one SPRAM bank of packed weights (a write enable per weight).
SPRAM_PACKED_BANK_MODULE = "neurohw_spram_packed_bank"


def is_spram(memory) -> bool:
    """Whether ``memory`` is an SPRAM weight bank (marked ``ram_style = "huge"``)."""
    return dict(memory.attrs).get("ram_style") == "huge"


def spram_bank_verilog() -> str:
    """Verilog of :data:`SPRAM_BANK_MODULE`: one synchronous read port with enable (it reads the
    old word when the same word is written, as Amaranth's non-transparent read port does), one
    write port, no initial contents."""
    return f"""
module {SPRAM_BANK_MODULE} #(parameter WIDTH = 16, parameter DEPTH = 16384,
                             parameter ABITS = 14) (
    input wire clk,
    input wire rd_en,
    input wire [ABITS-1:0] rd_addr,
    output reg [WIDTH-1:0] rd_data,
    input wire wr_en,
    input wire [ABITS-1:0] wr_addr,
    input wire [WIDTH-1:0] wr_data
);
    (* ram_style = "huge" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
    always @(posedge clk) begin
        if (wr_en)
            mem[wr_addr] <= wr_data;
        if (rd_en)
            rd_data <= mem[rd_addr];
    end
endmodule
"""


def spram_packed_bank_verilog() -> str:
    """Verilog of :data:`SPRAM_PACKED_BANK_MODULE`: as :func:`spram_bank_verilog`, with one
    write enable per ``GRANULARITY`` bits (the weights of a core with ``packed_weights``).
    Yosys maps it onto SB_SPRAM256KA's nibble write mask; a granularity under 4 bits is kept
    by splitting the word over more SPRAM blocks (``docs/core.md``, "Packed weights")."""
    return f"""
module {SPRAM_PACKED_BANK_MODULE} #(parameter WIDTH = 16, parameter DEPTH = 16384,
                                    parameter ABITS = 14, parameter GRANULARITY = 4) (
    input wire clk,
    input wire rd_en,
    input wire [ABITS-1:0] rd_addr,
    output reg [WIDTH-1:0] rd_data,
    input wire [WIDTH/GRANULARITY-1:0] wr_en,
    input wire [ABITS-1:0] wr_addr,
    input wire [WIDTH-1:0] wr_data
);
    (* ram_style = "huge" *) reg [WIDTH-1:0] mem [0:DEPTH-1];
    integer k;
    always @(posedge clk) begin
        for (k = 0; k < WIDTH/GRANULARITY; k = k + 1)
            if (wr_en[k])
                mem[wr_addr][k*GRANULARITY +: GRANULARITY] <= wr_data[k*GRANULARITY +: GRANULARITY];
        if (rd_en)
            rd_data <= mem[rd_addr];
    end
endmodule
"""


class SynthesisMemories:
    """The platform of a conversion for synthesis: SPRAM banks as :data:`SPRAM_BANK_MODULE`
    instances, every other memory unchanged. ``used`` says whether any SPRAM bank was built (the
    Verilog then needs :func:`spram_bank_verilog`), ``packed_used`` whether a bank with a write
    enable per weight was (:func:`spram_packed_bank_verilog`)."""

    def __init__(self):
        self.used = False
        self.packed_used = False

    def verilog(self) -> str:
        """The Verilog of the bank modules the conversion used (empty if none)."""
        return (spram_bank_verilog() if self.used else "") + (
            spram_packed_bank_verilog() if self.packed_used else ""
        )

    def get_memory(self, memory):
        if not is_spram(memory):
            return memory.elaborate(None)
        (read,), (write,) = memory.read_ports, memory.write_ports
        if read.domain != write.domain:
            raise ValueError(
                f"an SPRAM weight bank has one read and one write port in one domain, "
                f"not {memory!r}"
            )
        m = Module()
        granular = len(write.en) != 1
        if granular:
            self.packed_used = True
            module = SPRAM_PACKED_BANK_MODULE
            extra = {"p_GRANULARITY": len(write.data) // len(write.en)}
        else:
            self.used = True
            module, extra = SPRAM_BANK_MODULE, {}
        m.submodules.bank = Instance(
            module,
            p_WIDTH=len(read.data),
            p_DEPTH=memory.depth,
            p_ABITS=len(read.addr),
            **extra,
            i_clk=ClockSignal(read.domain),
            i_rd_en=read.en,
            i_rd_addr=read.addr,
            o_rd_data=read.data,
            i_wr_en=write.en,
            i_wr_addr=write.addr,
            i_wr_data=write.data,
        )
        return m
