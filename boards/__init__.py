"""Boards, in one place: the board specs and their pins (:mod:`neurohw.boards.specs`), the board top
level of a design behind the UART host link (:mod:`neurohw.boards.top`) and the bitstream build
(:mod:`neurohw.boards.bitstream`), built with amaranth-boards and the YoWASP toolchain.

    python -m neurohw.boards.icebreaker            # iCEBreaker (iCE40UP5K): build/boards/icebreaker/
    python -m neurohw.boards.ulx3s                 # ULX3S (ECP5 LFE5U-85F): build/boards/ulx3s/
    python -m neurohw.boards.system ulx3s          # the digits network's chip: build/boards/ulx3s-system/

or from Python::

    from neurohw.boards import build
    result = build("icebreaker", core, build_dir="build/boards/icebreaker")   # or a Chip
    print(result.bitstream, result.summary())

The top level (:class:`BoardTop`) is the design's UART link (a ``NeuronCore`` behind
:class:`neurohw.hw.host_bridge.UartHost`, a chip behind :class:`neurohw.hw.system_bridge.UartSystem`)
on the board's clock, with the board's USB-serial UART, a reset button and two LEDs. Pins come
from the specs (:data:`BOARDS`, read from amaranth-boards), which also give the constraint files
that :func:`neurohw.templates.render` writes. Amaranth's build scripts call the tools named by
the ``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``, ``NEXTPNR_ECP5`` and ``ECPPACK`` variables;
:func:`build` sets them to the YoWASP commands (``neurohw.toolchain.synthesis_environment``, each
overridable from the environment), so nothing but pip-installed tools is needed.
"""

from .bitstream import BoardBuild, DoesNotFit, build, elaborate
from .specs import BOARDS, BoardSpec, board_pins, check_board
from .top import DEFAULT_BAUD, BoardTop, PinTop, board_top_verilog, default_core

__all__ = [
    "BOARDS",
    "BoardSpec",
    "board_pins",
    "check_board",
    "BoardTop",
    "PinTop",
    "board_top_verilog",
    "default_core",
    "DEFAULT_BAUD",
    "BoardBuild",
    "DoesNotFit",
    "build",
    "elaborate",
]
