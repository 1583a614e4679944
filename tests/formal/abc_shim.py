#!/usr/bin/env python3
"""Run a native ``yosys-abc`` for yowasp-sby, dropping the ``pdr -l`` switch older ABCs lack.

yowasp-sby calls ``$ABC -c '...; pdr -v -l; ...'``. ``-l`` only makes ABC log which output of
a multi-property run it solved; ABC from Yosys 0.23 (Debian 12) refuses it. The real program
is ``NEUROHW_ABC`` (default: ``yosys-abc`` on ``PATH``).
"""

import os
import re
import shutil
import sys

program = os.environ.get("NEUROHW_ABC") or shutil.which("yosys-abc")
if program is None:
    sys.exit("abc_shim: no yosys-abc found (install a native Yosys, or set NEUROHW_ABC)")
arguments = [re.sub(r"\bpdr((?: -\w+)*) -l\b", r"pdr\1", a) for a in sys.argv[1:]]
os.execv(program, [program, *arguments])
