"""Sphinx configuration: the pages in docs/*.md (MyST) and an API reference built from the
docstrings (autodoc, numpydoc sections through napoleon).

Build: ``python -m sphinx -W -b html docs build/docs`` (tests/test_docs.py runs it in CI).
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The checkout, not an installed copy, is documented (an editable install points here anyway).
sys.path.insert(0, str(REPO_ROOT))

project = "neurohw"
copyright = "neurohw authors"
author = "neurohw authors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "myst_parser",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]

# Docstrings are numpydoc ("Parameters\n----------"); napoleon reads them without numpydoc's
# stricter section checks, which the older reST-style docstrings would fail.
napoleon_google_docstring = False
napoleon_numpy_docstring = True
# The hardware components list their ports in a "Members" section, as Amaranth's own docs do.
napoleon_custom_sections = [("Members", "params_style")]
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
# Type hints go in the signature only: rendering them again in the description repeats them.
autodoc_typehints = "signature"

# Headings become anchors so the pages' "see X, section Y" links resolve.
myst_heading_anchors = 3

html_theme = "alabaster"
