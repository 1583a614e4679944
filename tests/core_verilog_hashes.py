"""Thin wrapper (kept for the helpers that use it): the core hashes of
``benchmarks/verilog_hashes.py``, which documents them.

    PYTHONPATH=. python tests/core_verilog_hashes.py save FILE    # before a change
    PYTHONPATH=. python tests/core_verilog_hashes.py check FILE   # after it
"""

from __future__ import annotations

import sys

from benchmarks.verilog_hashes import core_hashes, core_main

__all__ = ["core_hashes", "hashes"]

#: The old name of :func:`benchmarks.verilog_hashes.core_hashes`.
hashes = core_hashes

if __name__ == "__main__":
    sys.exit(core_main(sys.argv[1:]))
