"""Tang Primer 20K on its Dock (Gowin GW2A-LV18PG256C8/I7, 27 MHz): ``python -m neurohw.boards.tang_primer_20k`` builds ``top.fs``
(program with ``openFPGALoader -b tangprimer20k top.fs``)."""

from functools import partial

from .bitstream import build as _build
from .bitstream import elaborate as _elaborate
from .bitstream import main as _main

BOARD = "tang_primer_20k"
build = partial(_build, BOARD)
elaborate = partial(_elaborate, BOARD)

if __name__ == "__main__":
    raise SystemExit(_main(BOARD))
