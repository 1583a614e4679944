"""The mutation harness (tests/mutation/): every planted generator bug is caught by its tests.

The fast tests check the list itself (each mutation applies to the current sources exactly once
and names tests that exist); the slow one plants each bug in a copy of the package and runs its
tests (``python -m tests.mutation.run`` does the same from the command line, with a report).
"""

import hashlib
import subprocess
import sys

import pytest

from tests.mutation.mutations import MUTATIONS
from tests.mutation.run import REPO_ROOT, apply, pick_simulator


def test_mutation_names_are_unique():
    names = [mutation.name for mutation in MUTATIONS]
    assert len(names) == len(set(names)) and len(names) >= 15


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda mutation: mutation.name)
def test_mutation_applies_once(mutation, tmp_path):
    target = tmp_path / mutation.path
    target.parent.mkdir(parents=True)
    target.write_text((REPO_ROOT / mutation.path).read_text())
    apply(mutation, tmp_path)
    assert target.read_text() != (REPO_ROOT / mutation.path).read_text()
    assert mutation.path.startswith("neurohw/hw/"), "mutations plant generator bugs only"


def test_mutation_apply_refuses_a_stale_mutation(tmp_path):
    mutation = MUTATIONS[0]
    target = tmp_path / mutation.path
    target.parent.mkdir(parents=True)
    target.write_text("nothing to replace\n")
    with pytest.raises(ValueError, match=f"mutation {mutation.name}: the text to replace occurs 0"):
        apply(mutation, tmp_path)


def test_mutation_tests_exist():
    """Every test a mutation names is collected (a renamed test would make it vacuous)."""
    ids = sorted({test.replace("{sim}", "icarus") for m in MUTATIONS for test in m.tests})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "", *ids],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected = {line.split("[")[0] for line in result.stdout.splitlines() if "::" in line}
    assert {test.split("[")[0] for test in ids} <= collected


def _package_digest():
    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "neurohw").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_every_mutation_is_caught():
    simulator = pick_simulator()
    before = _package_digest()
    result = subprocess.run(
        [sys.executable, "-m", "tests.mutation.run", "--simulator", simulator],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert f"score: {len(MUTATIONS)}/{len(MUTATIONS)} caught" in result.stdout
    assert _package_digest() == before, "the harness changed the checkout's sources"
