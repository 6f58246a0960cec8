"""The component layer against real TFX 1.16: split, schema, anomalies, artifacts, records.

Runs ``tools/conformance/conformance.py`` on a census sample where a Python 3.10 exists (CI has
one under pyenv); ``make unit`` leaves it out. The first run builds the reference venv (minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tools" / "conformance"))
import conformance  # noqa: E402  (tools/conformance is not a package)

pytestmark = pytest.mark.conformance


def test_pipeline_matches_tfx_1_16():
    if conformance.find_python310() is None:
        pytest.skip("SKIPPED CONFORMANCE: no Python 3.10 for the TFX reference (set PY310=...)")
    # Under build/, not pytest's tmp_path: a run takes minutes, and concurrent pytest sessions of the
    # same user prune each other's old tmp_path folders.
    output = REPO_ROOT / "build" / "conformance-test"
    command = [sys.executable, str(REPO_ROOT / "tools" / "conformance" / "conformance.py")]
    done = subprocess.run(
        [*command, "--rows", "4000", "--output", str(output)], capture_output=True, text=True, timeout=3600
    )
    report = (output / "report.md").read_text() if (output / "report.md").exists() else done.stdout[-3000:]
    assert done.returncode == 0, f"TFX and labs_utils differ:\n{report}\n{done.stderr[-2000:]}"
    rows = json.loads((output / "report.json").read_text())
    checks = {name for name, *_ in (r[1:] for run in rows.values() for r in run)}
    assert "ExampleGen split train: same records" in checks
    assert "Transform split eval: same transformed records" in checks
    assert all(status in ("same", "known") for run in rows.values() for status, *_ in run)
