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


def in_ci() -> bool:
    """Return whether this is a CI run (`.ci/run` sets LABS_CI=1), where nothing may be skipped."""
    return os.environ.get("LABS_CI", "").strip() not in ("", "0")


def skip_or_fail(reason: str) -> None:
    """Skip the test locally (the terminal summary lists it); fail it in CI."""
    if in_ci():
        pytest.fail(f"{reason} (LABS_CI is set, so this fails instead of skipping)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """Return the dataset mirror directory (LABS_DATA_MIRROR, else ../shared/datasets)."""
    env = os.environ.get("LABS_DATA_MIRROR")
    if env and env.startswith(("http://", "https://")):
        skip_or_fail(f"LABS_DATA_MIRROR is a URL ({env}); this test needs a mirror directory")
    path = Path(env).resolve() if env else REPO_ROOT.parent / "shared" / "datasets"
    if not path.is_dir():
        skip_or_fail(f"dataset mirror {path} is absent; set LABS_DATA_MIRROR to a mirror directory")
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """List every skipped test with its reason in a banner, so a green run cannot hide them."""
    skipped = terminalreporter.stats.get("skipped", [])
    if not skipped:
        return
    reasons: dict[str, list[str]] = {}
    for report_ in skipped:
        reason = report_.longrepr[2] if isinstance(report_.longrepr, tuple) else str(report_.longrepr)
        reasons.setdefault(reason.removeprefix("Skipped: "), []).append(report_.nodeid)
    terminalreporter.write_sep("!", f"{len(skipped)} TESTS SKIPPED: these checks did not run", red=True)
    for reason, ids in sorted(reasons.items(), key=lambda item: -len(item[1])):
        terminalreporter.write_line(f"{len(ids):4d} x {reason}")
        for nodeid in ids[:3]:
            terminalreporter.write_line(f"         {nodeid}")
        if len(ids) > 3:
            terminalreporter.write_line(f"         ... and {len(ids) - 3} more")


@pytest.fixture(scope="session")
def lab_run() -> Iterator[Callable[[str], runner.LabResult]]:
    """Return ``run(name)``: the lab's quick run, executed on first request and cached for the session.

    Each session writes to its own ``runs/test-quick-<time>-<pid>/`` (so concurrent sessions do not
    clash), where executed notebooks, HTML and a summary of the labs it ran stay for inspection;
    ``summary.json`` is rewritten as each lab finishes, and ``run.output`` names the folder.
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
            report.write_summary([done[n] for n in labs if n in done], output)  # in course order
        return done[name]

    run.output = output  # type: ignore[attr-defined]  # where the session's summary.json lies
    yield run
