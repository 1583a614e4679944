# amaranth: UnusedElaboratable=no
"""The AXI wrapper's one register description (``neurohw.host.axi_registers``) and what is made
from it: the docs table, the C header, the Python host class; and the wrapper's refusals."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from amaranth.hdl import signed
from amaranth.lib import data

from neurohw.host.axi import AxiChip, AxiChipError, input_lines, output_bases
from neurohw.host.axi_registers import AXI_MAGIC, REGISTERS, c_header, markdown_table, register
from neurohw.hw.axi_system import AxiLiteRegisters, AxiSystem, InputFramer, OutputFramer
from neurohw.model import Decay, NeuronParams
from neurohw.network import InputGroup, Network, Population, Projection
from neurohw.network.mapping import map_network

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_register_map_is_well_formed():
    offsets = [r.offset for r in REGISTERS]
    assert len(set(offsets)) == len(offsets)
    assert all(o % 4 == 0 and o < 1 << AxiLiteRegisters.ADDR_BITS for o in offsets)
    assert len({r.name for r in REGISTERS}) == len(REGISTERS)
    for reg in REGISTERS:
        masks = [f.mask for f in reg.fields]
        assert all(m < 1 << 32 for m in masks), reg.name
        _or(masks)


def _or(masks):
    value = 0
    for mask in masks:
        assert not value & mask, "fields overlap"
        value |= mask
    return value


def test_docs_table_is_generated_from_the_description():
    page = (REPO_ROOT / "docs" / "integration.md").read_text()
    table = re.search(r"<!-- registers:begin -->\n(.*?)<!-- registers:end -->", page, re.S)
    assert table is not None
    assert table.group(1) == markdown_table(), (
        "docs/integration.md's register table is stale: paste "
        "neurohw.host.axi_registers.markdown_table() between the registers markers"
    )


def test_c_header_names_every_register_and_compiles(tmp_path):
    header = c_header()
    for reg in REGISTERS:
        assert f"#define NEUROHW_{reg.name} 0x{reg.offset:02X}u" in header
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed: the header was not compiled")
    (tmp_path / "neurohw_regs.h").write_text(header)
    (tmp_path / "check.c").write_text(
        '#include "neurohw_regs.h"\n'
        '_Static_assert(NEUROHW_CMD_RESULT == 0x7Cu, "offset");\n'
        '_Static_assert(NEUROHW_CONTROL_STEP_ENABLE_MASK == 2u, "mask");\n'
        "int main(void) { return NEUROHW_MAGIC == 0x4E485841u ? 0 : 1; }\n"
    )
    subprocess.run(
        [gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "check")]
        + [str(tmp_path / "check.c")],
        check=True,
    )
    assert subprocess.run([str(tmp_path / "check")]).returncode == 0


class FakeBus:
    """Registers as a dict: enough for the host class's own logic."""

    def __init__(self, **values):
        self.values = {register("ID").offset: AXI_MAGIC}
        self.values.update({register(k.upper()).offset: v for k, v in values.items()})
        self.writes = []

    def read32(self, offset):
        return self.values.get(offset, 0)

    def write32(self, offset, value):
        self.writes.append((offset, value))
        self.values[offset] = value


def test_host_class_uses_the_register_names():
    bus = FakeBus(dropped_address=7, cmd_result=0xFFFFFF85)
    chip = AxiChip(bus.read32, bus.write32)
    assert chip.dropped_address == 7
    chip.core_select = 3
    assert bus.writes == [(register("CORE_SELECT").offset, 3)]
    assert chip.read_state(0, 0, 1) == -123
    with pytest.raises(AttributeError, match=re.escape("AxiChip has no register 'nope'")):
        _ = chip.nope
    with pytest.raises(AttributeError, match=re.escape("AxiChip has no register 'ID'")):
        _ = chip.ID


def test_host_class_refuses_another_device():
    with pytest.raises(
        AxiChipError,
        match=re.escape("register ID reads 0xdeadbeef, not 0x4e485841: no neurohw AxiSystem there"),
    ):
        AxiChip(lambda offset: 0xDEADBEEF, lambda offset, value: None)


def test_host_class_reports_a_refused_command():
    bus = FakeBus(cmd_status=2)
    chip = AxiChip(bus.read32, bus.write32)
    with pytest.raises(
        AxiChipError, match=re.escape("core 9 refused the command (target 0, neuron 1, axon 0)")
    ):
        chip.read_state(9, 0, 1)


def test_host_class_gives_up_on_a_lost_command():
    bus = FakeBus()
    status = register("CMD_STATUS").offset

    def read32(offset):
        # Idle until the command is issued, then busy for ever.
        if offset == status:
            return 1 if bus.writes else 0
        return bus.read32(offset)

    chip = AxiChip(read32, bus.write32)
    with pytest.raises(
        AxiChipError, match=re.escape("the command on core 0 did not finish in 100000 polls")
    ):
        chip.read_state(0, 0, 0)


def _plan(n_in):
    params = NeuronParams(n_currents=0, v_width=12, v_decay=Decay.shift(3), threshold=20)
    network = Network(
        inputs=[InputGroup("x", n_in)],
        populations=[Population("o", 2, params)],
        projections=[Projection("x", "o", [[1, 1]] * n_in)],
        outputs=["o"],
    )
    return map_network(network)


def _wide_plan(n_in):
    """Just what input_lines reads of a plan with ``n_in`` input lines (mapping that many
    would take long)."""
    group = InputGroup("x", n_in)
    return SimpleNamespace(
        network=SimpleNamespace(inputs={"x": group}),
        input_offsets={"x": 0},
        connectivity={},
        input_key=lambda name, line: line,
        fmt=SimpleNamespace(payload_width=0),
    )


def test_refusals():
    with pytest.raises(TypeError, match=re.escape("top must be a SystemTop, not 3")):
        AxiSystem(3)
    with pytest.raises(TypeError, match=re.escape("plan must be a ChipPlan, not None")):
        InputFramer(None)
    with pytest.raises(TypeError, match=re.escape("plan must be a ChipPlan, not None")):
        OutputFramer(None)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "the chip has 65537 input lines; the AXI wrapper's input address has 16 bits "
            "(at most 65536 lines)"
        ),
    ):
        input_lines(_wide_plan(65537))
    with pytest.raises(KeyError, match=re.escape("no register 'NOPE'; the registers are ID, ")):
        register("NOPE")


def test_address_map_of_a_small_chip():
    plan = _plan(3)
    lines = input_lines(plan)
    assert (lines.count, lines.routed_mask) == (3, 0b111)
    assert output_bases(plan) == {0: 0}


def test_c_driver_sources_are_package_data(tmp_path):
    """``write_c_driver`` reads the sources as package data: the wheel must carry them."""
    import tomllib

    from neurohw.host.axi import C_DRIVER_FILES, write_c_driver

    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert config["tool"]["setuptools"]["package-data"]["neurohw.host"] == ["c/*.c", "c/*.h"]
    names = [path.name for path in write_c_driver(tmp_path)]
    assert names == ["neurohw_regs.h", *C_DRIVER_FILES]
    assert (tmp_path / "neurohw_regs.h").read_text() == c_header()


def _bank_run(debug, script):
    """Simulate the register bank of a small chip (``debug``) alone; ``script(bus)`` runs
    with ``await bus.write(offset, value, strobe=0xF) -> bresp`` and ``await bus.read(offset)
    -> (rdata, rresp)``."""
    from amaranth.sim import Simulator

    layouts = {}
    if debug:
        # As SystemTop's debug port of a one-core chip of 3 axons and 2 neurons.
        layouts = {
            "cmd_layout": data.StructLayout(
                {
                    "core": 1,
                    "write": 1,
                    "target": 5,
                    "neuron": 1,
                    "axon": 2,
                    "data": signed(16),
                }
            ),
            "rsp_layout": data.StructLayout({"data": signed(16), "error": 1}),
        }
    bank = AxiLiteRegisters(_plan(3), **layouts)
    results = {}

    async def testbench(ctx):
        class Bus:
            bank = None

            async def write(self, offset, value, strobe=0xF):
                ctx.set(bank.awaddr, offset)
                ctx.set(bank.wdata, value & 0xFFFFFFFF)
                ctx.set(bank.wstrb, strobe)
                ctx.set(bank.awvalid, 1)
                ctx.set(bank.wvalid, 1)
                ctx.set(bank.bready, 1)
                await ctx.tick().until(bank.awready)
                self.soft_reset_after_write = ctx.get(bank.soft_reset)
                ctx.set(bank.awvalid, 0)
                ctx.set(bank.wvalid, 0)
                await ctx.tick().until(bank.bvalid)
                return ctx.get(bank.bresp)

            async def read(self, offset):
                ctx.set(bank.araddr, offset)
                ctx.set(bank.arvalid, 1)
                ctx.set(bank.rready, 1)
                await ctx.tick().until(bank.arready)
                ctx.set(bank.arvalid, 0)
                await ctx.tick().until(bank.rvalid)
                return ctx.get(bank.rdata), ctx.get(bank.rresp)

            def get(self, signal):
                return ctx.get(signal)

        bus = Bus()
        bus.bank = bank
        results.update(await script(bus))

    sim = Simulator(bank)
    sim.add_clock(1e-8)
    sim.add_testbench(testbench)
    sim.run()
    return bank, results


OKAY, SLVERR = 0, 2


def test_register_bank_refusals_without_the_command_path():
    async def script(bus):
        return {
            "config": await bus.read(register("CONFIG").offset),
            "issue": await bus.write(register("CMD_ISSUE").offset, 1),
            "partial": await bus.write(register("CORE_SELECT").offset, 1, strobe=0x3),
            "read_only": await bus.write(register("DROPPED_ADDRESS").offset, 5),
            "unmapped_write": await bus.write(0x84, 5),
            "unmapped_read": await bus.read(0x84),
            "core_select": await bus.read(register("CORE_SELECT").offset),
            "id": await bus.read(register("ID").offset),
            "inputs": await bus.read(register("INPUTS").offset),
        }

    _bank, got = _bank_run(False, script)
    assert got["config"] == (1 | (0 << 16), OKAY)  # one core, no command path
    assert (got["issue"], got["partial"], got["read_only"], got["unmapped_write"]) == (SLVERR,) * 4
    assert got["unmapped_read"] == (0, SLVERR)
    assert got["core_select"] == (0, OKAY), "a refused partial write changed CORE_SELECT"
    assert got["id"] == (AXI_MAGIC, OKAY)
    assert got["inputs"] == (3, OKAY)


def test_register_bank_refuses_a_command_field_it_would_truncate():
    async def script(bus):
        out = {"core": await bus.write(register("CMD_CORE").offset, 2)}  # 1-bit core field
        out["issue"] = await bus.write(register("CMD_ISSUE").offset, 0)
        out["status"] = await bus.read(register("CMD_STATUS").offset)
        out["sent"] = bus.get(bus.bank.cmd.valid)
        return out

    _bank, got = _bank_run(True, script)
    assert (got["core"], got["issue"], got["sent"]) == (OKAY, OKAY, 0)
    assert got["status"] == (0b10, OKAY)  # not busy, ERROR: nothing was sent


def test_soft_reset_is_one_cycle_and_keeps_step_enable():
    async def script(bus):
        await bus.write(register("CONTROL").offset, 0b01)  # soft reset, step enable 0
        pulse = bus.soft_reset_after_write
        control = await bus.read(register("CONTROL").offset)
        return {"pulse": pulse, "after": bus.get(bus.bank.soft_reset), "control": control}

    _bank, got = _bank_run(True, script)
    assert got == {"pulse": 1, "after": 0, "control": (0, OKAY)}
