"""Shared fixtures: repository paths, the dataset mirror and quick lab runs, one per lab on demand."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import NOTEBOOKS_DIR, REPO_ROOT

from labs_utils import report, runguard, runner


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
def lab_run() -> Iterator[Callable[[str], runner.LabResult]]:
    """Return ``run(name)``: the lab's quick run, executed on first request and cached for the session.

    Each session writes to its own ``runs/test-quick-<time>-<pid>/`` (so concurrent sessions do not
    clash), where executed notebooks, HTML and a summary of the labs it ran stay for inspection.
    """
    output = REPO_ROOT / "runs" / f"test-quick-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    rotten: list[str] | None = None  # the data cache is re-hashed once per session, as `labs run` does
    labs = {lab.name: lab for lab in runner.discover(NOTEBOOKS_DIR)}
    done: dict[str, runner.LabResult] = {}

    def run(name: str) -> runner.LabResult:
        nonlocal rotten
        if rotten is None:
            rotten = runguard.stale_data(None)
        if rotten:
            pytest.fail("cached data no longer matches its hash:\n" + "\n".join(rotten))
        if name not in labs:
            pytest.fail(f"no lab named {name!r}; labs: {sorted(labs)}")
        if name not in done:
            done[name] = runner.run_lab(labs[name], output_dir=output, quick=True, timeout=600)
        return done[name]

    yield run
    if done:
        report.write_summary(list(done.values()), output)
