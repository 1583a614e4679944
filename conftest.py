"""Repository-wide pytest setup: check that the neurohw under test is this checkout's, whole, and
report the simulators in the header."""

import importlib.util
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent


def _check_install():
    # sim/, boards/ and rtl_templates/ are importable only as neurohw.sim, neurohw.boards and
    # neurohw.rtl_templates, which the install maps onto a checkout's folders (pyproject.toml
    # [tool.setuptools.package-dir]). An editable install made before that mapping finds neurohw
    # but not neurohw.sim; one made from another checkout maps them onto that checkout's folders
    # (also inside the simulator, where cocotb imports the benches), so its tests would run this
    # checkout's neurohw against the other's benches.
    reinstall = f"install this checkout with `pip install -e '{REPO_ROOT}[dev]'` in its own venv"
    neurohw_spec = importlib.util.find_spec("neurohw")
    if Path(neurohw_spec.origin).resolve().parent != REPO_ROOT / "neurohw":
        return  # testing an installed wheel (or another tree) on purpose
    for package in ("sim", "boards", "rtl_templates"):
        spec = importlib.util.find_spec(f"neurohw.{package}")
        if spec is None:
            raise ImportError(f"neurohw.{package} is not importable: {reinstall}")
        location = Path(spec.origin).resolve().parent
        if location != REPO_ROOT / package:
            raise ImportError(
                f"neurohw.{package} comes from {location}, not from this checkout's "
                f"{REPO_ROOT / package}: {reinstall}"
            )


_check_install()


def pytest_report_header(config):
    from neurohw.toolchain import describe

    return ["toolchain:", *(f"  {line}" for line in describe().splitlines())]
