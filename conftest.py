"""Repository-wide pytest setup: check that neurohw is installed whole, report the simulators."""

import importlib.util

# sim/ and boards/ are importable only as neurohw.sim and neurohw.boards, which the install
# maps from the repository's folders (pyproject.toml [tool.setuptools.package-dir]). An
# editable install made before that mapping existed finds neurohw but not neurohw.sim.
if importlib.util.find_spec("neurohw.sim") is None:
    raise ImportError("neurohw.sim is not importable: install this checkout with "
                      "`pip install -e '.[dev]'` (again, if it was installed before sim/ became "
                      "neurohw.sim)")


def pytest_report_header(config):
    from neurohw.toolchain import describe
    return ["toolchain:", *(f"  {line}" for line in describe().splitlines())]
