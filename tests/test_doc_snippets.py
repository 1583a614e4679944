"""The ```python blocks of README.md and docs/*.md run as written.

Each block is one test, run on its own (a snippet must work when pasted alone) in a temporary
working directory. Markers are HTML comments on the lines right before the block, invisible in
the rendered page:

* ``<!-- skip-doctest: REASON -->``: not run (a signature, or it needs hardware or long runs);
  the reason is the skip reason.
* ``<!-- doctest-slow -->``: run only with the slow tests (``-m slow``).
* ``<!-- doctest-setup: ... -->``: Python run first, in the same namespace, to make what the
  snippet takes as given (a file, an array); ``REPO_ROOT`` is defined for it.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from neurohw.sim import runner

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

_BLOCK = re.compile(r"^```python\n(?P<code>.*?)^```", re.S | re.M)
# Comments immediately above a block (only blank lines between them and the fence).
_MARKERS = re.compile(r"(?:<!--(?:(?!-->).)*-->\s*)+\Z", re.S)
_MARKER = re.compile(r"<!--(?P<body>(?:(?!-->).)*)-->", re.S)


@dataclass
class Snippet:
    page: Path
    line: int
    code: str
    setup: str = ""
    skip: str | None = None
    slow: bool = False

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"


def snippets(page: Path) -> list[Snippet]:
    text = page.read_text()
    found = []
    for match in _BLOCK.finditer(text):
        snippet = Snippet(page, text.count("\n", 0, match.start()) + 1, match.group("code"))
        before = _MARKERS.search(text[: match.start()])
        for marker in _MARKER.finditer(before.group(0) if before else ""):
            body = marker.group("body").strip()
            if body.startswith("skip-doctest:"):
                snippet.skip = body.removeprefix("skip-doctest:").strip()
            elif body == "doctest-slow":
                snippet.slow = True
            elif body.startswith("doctest-setup:"):
                snippet.setup = body.removeprefix("doctest-setup:").strip("\n")
            else:
                raise ValueError(
                    f"{snippet.name}: unknown marker <!--{marker.group('body')}-->; "
                    "allowed: skip-doctest: REASON, doctest-slow, doctest-setup: CODE"
                )
        found.append(snippet)
    return found


def _params():
    params = []
    for page in PAGES:
        for snippet in snippets(page):
            marks = [pytest.mark.slow] if snippet.slow else []
            if snippet.skip is not None:
                marks.append(pytest.mark.skip(reason=f"{snippet.name}: {snippet.skip}"))
            params.append(pytest.param(snippet, id=snippet.name, marks=marks))
    return params


@pytest.mark.parametrize("snippet", _params())
def test_snippet_runs(snippet, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Its own simulation builds too: BUILD_ROOT is fixed at import (the repository's build/sim),
    # and two snippets calling verify_system in two xdist workers built one chip and ran the
    # other's test data in the same default folder (build/sim/system/verilator).
    monkeypatch.setattr(runner, "BUILD_ROOT", tmp_path / "build" / "sim")
    namespace = {"__name__": "__snippet__", "REPO_ROOT": REPO_ROOT}
    if snippet.setup:
        exec(compile(snippet.setup, f"{snippet.name} (setup)", "exec"), namespace)
    exec(compile(snippet.code, snippet.name, "exec"), namespace)


def test_markers_are_read(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n<!-- skip-doctest: needs a board -->\n```python\nboard()\n```\n\n"
        "<!-- doctest-slow -->\n<!-- doctest-setup:\nx = 1\n-->\n```python\nprint(x)\n```\n"
        "```python\n1\n```\n"
    )
    first, second, third = snippets(page)
    assert (first.skip, first.slow, first.setup, first.code) == (
        "needs a board",
        False,
        "",
        "board()\n",
    )
    assert (second.skip, second.slow, second.setup, second.line) == (None, True, "x = 1", 12)
    assert (third.skip, third.slow, third.setup) == (None, False, "")
