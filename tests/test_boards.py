"""Board top levels (``boards/``): fast elaboration on both platforms with the pins of the
constraint templates, and (slow) bitstream builds with the YoWASP toolchain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurohw import boards
from neurohw.boards.specs import BOARDS, board_pins


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_top_elaborates(board):
    plan = boards.elaborate(board)
    files = plan.files
    # The build places the same pins as the rendered constraint templates.
    pins = {pin["port"]: pin["pin"] for pin in board_pins(board)}
    if board == "icebreaker":
        placed = set(re.findall(r"^set_io \S+ (\S+)$", files["top.pcf"], re.M))
    elif board == "ulx3s":
        placed = set(re.findall(r'^LOCATE COMP "\S+" SITE "(\S+)";$', files["top.lpf"], re.M))
    else:
        placed = set(re.findall(r'^IO_LOC "\S+" (\S+);$', files["top.cst"], re.M))
    assert set(pins.values()) <= placed
    # The ABC9 work-around is in the Yosys script.
    assert "rename -unescape" in files["top.ys"]
    assert "top" in files["top.il"]


def test_board_refused():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "board must be one of 'icebreaker', 'ulx3s', 'tang_nano_9k', 'tang_primer_20k', not 'arty'"
        ),
    ):
        boards.elaborate("arty")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "board must be one of 'icebreaker', 'ulx3s', 'tang_nano_9k', 'tang_primer_20k', not 'arty'"
        ),
    ):
        board_pins("arty")


# Like any refused Amaranth elaboratable, the half-built top is reported as unused.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_board_top_refuses_other_designs():
    with pytest.raises(
        TypeError, match=re.escape("design must be a NeuronCore, a Chip or a ChipPlan, not 'core'")
    ):
        boards.BoardTop("core", "icebreaker")


# The refused top's core (boards.default_core) is never elaborated.
@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")
def test_board_baud_checked():
    with pytest.raises(ValueError, match="% off"):
        boards.BoardTop(boards.default_core(), "icebreaker", baud=900_000)


@pytest.mark.slow
@pytest.mark.parametrize("board", sorted(BOARDS))
def test_board_bitstream(board, tmp_path):
    result = boards.build(board, build_dir=tmp_path / board)
    bitstream = Path(result.bitstream)
    assert bitstream.exists() and bitstream.stat().st_size > 10_000
    assert result.fmax_mhz, result.summary()
    for clock in result.fmax_mhz.values():
        assert clock["achieved"] >= clock["constraint"], result.summary()
