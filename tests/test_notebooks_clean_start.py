"""A clean start: every lab's set-up cell prints its versions and nothing else, headless and interactive;
an interactive run writes nothing into the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from labs_utils import kernel, outputs, runner

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
LAB_NAMES = [lab.name for lab in runner.discover(NOTEBOOKS_DIR)]
INTERACTIVE_LAB = "c2w1_lab_tfdv_census"  # a full run takes seconds

pytestmark = pytest.mark.notebook


def setup_cell_problems(nb: nbformat.NotebookNode) -> list[str]:
    """List what the set-up cell (the first code cell) shows besides its versions on stdout."""
    cell = next(c for c in nb.cells if c.cell_type == "code")
    problems = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream" and output.name == "stdout":
            continue
        text = output.get("text") or output.get("evalue") or sorted(output.get("data", {}))
        problems.append(f"{output.output_type} {output.get('name', '')}: {str(text)[:300]}")
    if not any(o.get("name") == "stdout" for o in cell.get("outputs", [])):
        problems.append("no versions printed")
    return problems


@pytest.mark.parametrize("name", LAB_NAMES)
def test_setup_cell_shows_only_the_versions(lab_run, name):
    result = lab_run(name)
    assert result.notebook is not None, f"{name}: no executed notebook ({result.error})"
    problems = setup_cell_problems(nbformat.read(str(result.notebook), as_version=4))
    assert not problems, f"{name}'s set-up cell shows more than versions:\n" + "\n".join(problems)


def _git_status() -> str:
    """Return `git status --porcelain` of the repository, untracked files listed one by one."""
    proc = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"{REPO_ROOT} is not a git checkout: {proc.stderr.strip()}")
    return proc.stdout


def test_interactive_run_from_notebooks_leaves_git_status_unchanged():
    """Run a lab as JupyterLab does: the registered kernel, cwd notebooks/, no injected parameters."""
    from nbclient import NotebookClient

    kernel.install()
    results = Path(outputs.interactive_dir(INTERACTIVE_LAB)) / "results.json"
    results.unlink(missing_ok=True)
    before = _git_status()
    nb = nbformat.read(str(NOTEBOOKS_DIR / f"{INTERACTIVE_LAB}.ipynb"), as_version=4)
    NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    assert _git_status() == before, "an interactive run changed the repository"
    assert results.exists(), f"the run should have written {results}"
    assert setup_cell_problems(nb) == [], "the registered kernel's start-up is not quiet"
