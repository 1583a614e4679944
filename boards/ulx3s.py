"""ULX3S (ECP5 LFE5U-85F, 25 MHz): ``python -m neurohw.boards.ulx3s`` builds ``top.bit`` (program
with ``openFPGALoader -b ulx3s top.bit``)."""

from functools import partial

from .bitstream import build as _build
from .bitstream import elaborate as _elaborate
from .bitstream import main as _main

BOARD = "ulx3s"
build = partial(_build, BOARD)
elaborate = partial(_elaborate, BOARD)

if __name__ == "__main__":
    raise SystemExit(_main(BOARD))
