"""Skips that could hide failures: in CI a missing dataset mirror fails the run; locally every skip
is listed in a banner at the end of the run."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import REPO_ROOT

NEEDS_MIRROR = "tests/test_datasets.py::test_fetch_from_mirror_directory_records_source"


def start_pytest(**env: str) -> subprocess.Popen:
    """Start the one test that needs a mirror directory, in a fresh pytest, with `env` added."""
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", NEEDS_MIRROR]
    full_env = {k: v for k, v in os.environ.items() if k != "LABS_CI"} | env
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=full_env, stdout=subprocess.PIPE, text=True)


def test_without_a_mirror_directory_ci_fails_and_a_local_run_says_so():
    mirror = "http://127.0.0.1:9/mirror"  # a URL is no directory, like an absent folder
    # Both sessions at once: each spends most of its time importing.
    local, ci = start_pytest(LABS_DATA_MIRROR=mirror), start_pytest(LABS_DATA_MIRROR=mirror, LABS_CI="1")
    local_out, ci_out = local.communicate()[0], ci.communicate()[0]
    assert local.returncode == 0, local_out
    assert "1 TESTS SKIPPED: these checks did not run" in local_out
    assert NEEDS_MIRROR in local_out
    assert ci.returncode == 1, ci_out
    assert "LABS_CI is set, so this fails instead of skipping" in ci_out


def test_ci_entry_sets_labs_ci():
    assert "export LABS_CI=1" in (REPO_ROOT / ".ci" / "run").read_text()
