"""The installed package: one top-level package ``neurohw`` whose every module imports, with no
import cycle among its modules, and whose setuptools package list covers every folder.

The import graph is read with :mod:`ast` from the files of the installed package (the
repository's ``neurohw/``, ``sim/`` and ``boards/`` in an editable install), counting imports
inside functions too: a cycle hidden in a function is still a cycle between two layers.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import neurohw

REPO_ROOT = Path(__file__).resolve().parent.parent


def package_modules(package: str) -> dict[str, Path]:
    """``{module name: file}`` of every module under ``package`` and its mapped subpackages
    (found through the import system, so a ``package-dir`` mapping is followed)."""
    modules = {}
    pending = [package]
    while pending:
        name = pending.pop()
        root = Path(importlib.import_module(name).__file__).parent
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.setdefault(".".join((name, *parts)), path)
        # Subpackages that live elsewhere (neurohw.sim in sim/): directories of their own.
        for child in ("sim", "boards", "rtl_templates"):
            qualified = f"{name}.{child}"
            if name == package and qualified not in modules and importlib.util.find_spec(qualified):
                pending.append(qualified)
    return modules


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Edges ``module -> modules it imports`` among ``modules`` (at any depth of the file)."""
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in modules:
                        targets.append(submodule)
                    # `from pkg import sub` inside pkg needs only sub (pkg is being imported
                    # already); anything else runs pkg's __init__ too.
                    if submodule not in modules or not name.startswith(base + "."):
                        targets.append(base)
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_every_module_imports():
    modules = package_modules("neurohw")
    # The layers the package maps in from the repository's other folders are there.
    assert {
        "neurohw.sim.runner",
        "neurohw.sim.bench_system",
        "neurohw.boards.bitstream",
        "neurohw.rtl_templates",
    } <= set(modules)
    for name in sorted(modules):
        importlib.import_module(name)


def test_no_import_cycles():
    graph = import_graph(package_modules("neurohw"))
    cycles = import_cycles(graph)
    details = [
        "; ".join(f"{a} -> {b}" for a in cycle for b in sorted(graph[a]) if b in cycle)
        for cycle in cycles
    ]
    assert not cycles, "import cycles in neurohw:\n  " + "\n  ".join(details)


def test_cycle_check_finds_a_planted_cycle(tmp_path):
    # The checker on a package where a function-local import closes a cycle, and on the same
    # package without it.
    files = {
        "pkg.__init__": "",
        "pkg.a": "from .b import f\n",
        "pkg.b": "def f():\n    from . import c\n",
        "pkg.c": "from pkg.a import f\n",
    }
    modules = {}
    for key, text in files.items():
        path = tmp_path / (key.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        modules[key.removesuffix(".__init__")] = path
    assert import_cycles(import_graph(modules)) == [["pkg.a", "pkg.b", "pkg.c"]]
    modules["pkg.c"].write_text("import math\n")
    assert import_cycles(import_graph(modules)) == []


def test_package_list_covers_every_folder():
    # pyproject.toml lists the packages by hand (a package-dir mapping rules out find); a new
    # subpackage missing from the list would be left out of the wheel.
    setuptools = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    mapping = setuptools["package-dir"]
    expected = set()
    for package, folder in {"neurohw": "neurohw", **mapping}.items():
        for init in (REPO_ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO_ROOT / folder).parts
            expected.add(".".join((package, *parts)))
    assert listed == expected


def test_templates_are_package_data():
    from neurohw.templates import TEMPLATE_DIR

    names = {entry.name for entry in TEMPLATE_DIR.iterdir() if entry.name.endswith(".j2")}
    assert names == {path.name for path in (REPO_ROOT / "rtl_templates").glob("*.j2")}
    assert (
        "*.j2"
        in tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
            "package-data"
        ]["neurohw.rtl_templates"]
    )


def test_nothing_imports_sim_or_boards_by_folder_name():
    # Only neurohw is installed: the repository's sim/ and boards/ are neurohw.sim and
    # neurohw.boards, in the package, the tests and the benchmarks alike.
    files = [
        *package_modules("neurohw").values(),
        *REPO_ROOT.glob("tests/**/*.py"),
        *REPO_ROOT.glob("benchmarks/**/*.py"),
        *REPO_ROOT.glob("examples/**/*.py"),
    ]
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and not node.level
                else []
            )
            offenders += [
                f"{path}:{node.lineno}: {name}"
                for name in names
                if name and name.split(".")[0] in ("sim", "boards")
            ]
    assert not offenders, "\n".join(offenders)


def test_simulation_failures_are_neurohw_errors():
    from neurohw.sim import CocotbTestFailure

    assert issubclass(CocotbTestFailure, neurohw.VerificationError)
    assert issubclass(CocotbTestFailure, AssertionError)  # pytest reports a failed check


def test_build_folders_are_under_the_working_directory(tmp_path):
    # Not inside the installed package: a fresh interpreter in another directory puts the
    # simulation builds under that directory (NEUROHW_SIM_BUILD_DIR unset), and so the boards.
    env = {key: value for key, value in os.environ.items() if key != "NEUROHW_SIM_BUILD_DIR"}
    code = (
        "import neurohw.sim.runner as r, neurohw.boards.bitstream as b; "
        "print(r.BUILD_ROOT); print(b.BUILD_ROOT.resolve())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    assert out[:2] == [
        str(tmp_path.resolve() / "build" / "sim"),
        str(tmp_path.resolve() / "build" / "boards"),
    ]
