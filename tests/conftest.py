"""Shared fixtures: repository paths, the dataset mirror and one quick run of every lab."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from labs_utils import runner

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
QUICK_RUN_DIR = REPO_ROOT / "runs" / "test-quick"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """Return the repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """Return the dataset mirror directory (LABS_DATA_MIRROR, else ../shared/datasets)."""
    env = os.environ.get("LABS_DATA_MIRROR")
    if env and env.startswith(("http://", "https://")):
        pytest.skip(f"LABS_DATA_MIRROR is a URL ({env}); this test needs a mirror directory")
    path = Path(env).resolve() if env else REPO_ROOT.parent / "shared" / "datasets"
    if not path.is_dir():
        pytest.skip(f"dataset mirror {path} is absent; set LABS_DATA_MIRROR to a mirror directory")
    return path


@pytest.fixture(scope="session")
def quick_run() -> dict[str, tuple[runner.LabResult, dict[str, Any] | None]]:
    """Run every lab in quick mode once (2 at a time) into runs/test-quick/.

    Returns:
        {lab name: (LabResult, parsed results.json or None)}; executed notebooks and HTML stay
        in runs/test-quick/<lab>/ for inspection.
    """
    labs = runner.discover(NOTEBOOKS_DIR)
    results = runner.run_labs(labs, output_dir=QUICK_RUN_DIR, quick=True, jobs=2, timeout=600)
    runner.write_summary(results, QUICK_RUN_DIR)
    return {r.lab: (r, r.results) for r in results}


def lab_results(quick_run: dict[str, tuple[runner.LabResult, Any]], name: str) -> dict[str, Any]:
    """Assert that lab `name` passed in the quick run and return its results.json."""
    assert name in quick_run, f"no lab named {name!r}; ran {sorted(quick_run)}"
    result, results = quick_run[name]
    assert result.passed, (
        f"{name} {result.status} in cell {result.cell_index} ({result.cell_source!r}): "
        f"{result.error}; see {result.html or result.notebook}"
    )
    assert results is not None, f"{name} passed but wrote no results.json"
    return results
