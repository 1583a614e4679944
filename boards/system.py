"""A whole mapped network on a board: the digits network's chip behind the UART host link.

    python -m neurohw.boards.system ulx3s [--build-dir DIR] [--baud 115200]        # the digits network
    python -m neurohw.boards.system icebreaker

or from Python (the one board build, :func:`neurohw.boards.build`, with a chip)::

    from neurohw.boards import build
    from neurohw.boards.system import digits_plan
    result = build("ulx3s", digits_plan(), build_dir="build/boards/ulx3s-system")

The top level is :class:`neurohw.boards.top.BoardTop` of the chip: ``Chip(plan, debug=False)``
(:data:`neurohw.boards.top.BOARD_DEBUG`) behind :class:`neurohw.hw.system_bridge.UartSystem` (the
event-word bridge and the UART) on the board's clock, with the board's USB-serial UART, a reset
button and two LEDs (barrier activity, error). The frame format is in ``docs/integration.md``
("System host link"). When the chip does not fit the board's FPGA, the build raises
:class:`neurohw.boards.DoesNotFit` naming the resources over capacity.
"""

from __future__ import annotations

from neurohw.network.plan import ChipPlan

from .bitstream import baud_argument, build
from .specs import check_board
from .top import DEFAULT_BAUD

__all__ = ["digits_plan"]


def digits_plan(seed: int = 0, *, lanes: int = 1) -> ChipPlan:
    """The digits network (``neurohw.train.digits``, seed ``seed``) -> NIR -> import -> 8-bit
    quantization -> mapping (two cores: 64 hidden, 10 output neurons)."""
    from neurohw.network.mapping import map_network
    from neurohw.network.nir_import import import_nir
    from neurohw.network.quantize import quantize
    from neurohw.train import digits

    model = digits.train(seed=seed)
    network, _ = quantize(import_nir(digits.to_nir(model), dt=model.dt), weight_width=8)
    return map_network(network, lanes=lanes)


def main(argv=None) -> int:
    import argparse
    import logging

    parser = argparse.ArgumentParser(
        prog="python -m neurohw.boards.system",
        description="Build a board bitstream of the digits network "
        "(its chip behind the UART host link).",
    )
    parser.add_argument("board", choices=["icebreaker", "ulx3s"])
    parser.add_argument("--build-dir", default=None)
    parser.add_argument(
        "--baud",
        type=baud_argument,
        default=DEFAULT_BAUD,
        help=f"UART rate (default {DEFAULT_BAUD}), or 'max' for the board's fastest",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--framing",
        action="store_true",
        help="the framed host link (protocol version 2: CRC, acknowledgments, retries)",
    )
    args = parser.parse_args(argv)
    if args.baud == "max":
        args.baud = check_board(args.board).max_baud
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = build(
        args.board,
        digits_plan(),
        build_dir=args.build_dir,
        baud=args.baud,
        seed=args.seed,
        framing=args.framing,
    )
    print(result.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
