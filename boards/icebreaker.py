"""iCEBreaker (iCE40UP5K-SG48, 12 MHz): ``python -m neurohw.boards.icebreaker`` builds ``top.bin``
(program with ``iceprog top.bin``)."""

from functools import partial

from .bitstream import build as _build
from .bitstream import elaborate as _elaborate
from .bitstream import main as _main

BOARD = "icebreaker"
build = partial(_build, BOARD)
elaborate = partial(_elaborate, BOARD)

if __name__ == "__main__":
    raise SystemExit(_main(BOARD))
