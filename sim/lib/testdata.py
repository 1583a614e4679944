"""Read the stimuli and expectations that pytest hands to a cocotb bench.

:func:`neurohw.sim.runner.run_cocotb` writes its ``test_data`` argument to a JSON file (or
passes an existing ``.json``/``.npz`` path through) and names it in the environment
variable ``NEUROHW_TEST_DATA``; the bench calls :func:`load_test_data`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["TEST_DATA_ENV_VAR", "load_test_data"]

TEST_DATA_ENV_VAR = "NEUROHW_TEST_DATA"


def load_test_data():
    """Return the test data of this run: a ``dict`` from JSON, or a mapping of arrays from ``.npz``."""
    location = os.environ.get(TEST_DATA_ENV_VAR)
    if not location:
        raise RuntimeError(
            f"{TEST_DATA_ENV_VAR} is not set: run this bench through neurohw.sim.runner.run_cocotb "
            f"with test_data=..."
        )
    path = Path(location)
    if path.suffix == ".npz":
        import numpy

        with numpy.load(path) as archive:
            return {name: archive[name] for name in archive.files}
    if path.suffix == ".json":
        return json.loads(path.read_text())
    raise ValueError(f"{TEST_DATA_ENV_VAR} must name a .json or .npz file, not {location!r}")
