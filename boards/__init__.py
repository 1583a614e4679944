"""Board top levels of the UART host link, built with amaranth-boards and the YoWASP toolchain.

    python -m neurohw.boards.icebreaker    # iCEBreaker (iCE40UP5K): build/boards/icebreaker/
    python -m neurohw.boards.ulx3s         # ULX3S (ECP5 LFE5U-85F): build/boards/ulx3s/

or from Python::

    from neurohw.boards import build
    result = build("icebreaker", core, build_dir="build/boards/icebreaker")
    print(result.bitstream, result.summary())

The top level (:class:`BoardTop`) is :class:`neurohw.hw.host_bridge.UartHost` (core, byte bridge,
UART) on the board's clock, with the board's USB-serial UART, a reset button and two LEDs (step
toggle, error). Pins come from amaranth-boards (the same pins as the constraint files that
:func:`neurohw.templates.render` writes). Amaranth's build scripts call the tools named by the
``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``, ``NEXTPNR_ECP5`` and ``ECPPACK`` variables; :func:`build`
sets them to the YoWASP commands (``neurohw.toolchain.synthesis_environment``, each overridable
from the environment), so nothing but pip-installed tools is needed.
"""

from .common import DEFAULT_BAUD, BoardBuild, BoardTop, build, default_core, elaborate

__all__ = ["BoardTop", "BoardBuild", "build", "elaborate", "default_core", "DEFAULT_BAUD"]
