"""Tang Nano 9K (Gowin GW1NR-LV9QN88PC6/I5, 27 MHz): ``python -m neurohw.boards.tang_nano_9k`` builds ``top.fs``
(program with ``openFPGALoader -b tangnano9k top.fs``)."""

from functools import partial

from .bitstream import build as _build
from .bitstream import elaborate as _elaborate
from .bitstream import main as _main

BOARD = "tang_nano_9k"
build = partial(_build, BOARD)
elaborate = partial(_elaborate, BOARD)

if __name__ == "__main__":
    raise SystemExit(_main(BOARD))
