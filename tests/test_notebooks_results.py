"""Every lab's results.json names the lab, the mode and an honest data source."""

from __future__ import annotations

import json

import pytest
from helpers import NO_QUICK_MODE, NOTEBOOKS_DIR, QUICK_DATA_SOURCES, passed_results

from labs_utils import hygiene, runner


def test_every_lab_has_its_expected_data_sources():
    assert set(QUICK_DATA_SOURCES) == {lab.name for lab in runner.discover(NOTEBOOKS_DIR)}


@pytest.mark.parametrize("name", sorted(QUICK_DATA_SOURCES))
def test_quick_is_a_parameter_exactly_where_it_changes_something(name):
    declared = hygiene.declared_parameters(NOTEBOOKS_DIR / f"{name}.ipynb")
    assert ("QUICK" in declared) == (name not in NO_QUICK_MODE)


@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(QUICK_DATA_SOURCES))
def test_results_name_the_lab_mode_and_data_source(lab_run, name):
    results = passed_results(lab_run(name))
    assert results["lab"] == name
    if name in NO_QUICK_MODE:
        assert "quick" not in results, f"{name} has no quick mode, so its results do not claim one"
    else:
        assert results["quick"] is True
    assert results["data_source"] in QUICK_DATA_SOURCES[name]


@pytest.mark.notebook
def test_the_quick_run_summary_lists_every_lab_passed_with_its_data_source(lab_run):
    for name in QUICK_DATA_SOURCES:
        lab_run(name)  # runs the labs no other test of this session ran
    records = json.loads((lab_run.output / "summary.json").read_text(encoding="utf-8"))
    assert [r["lab"] for r in records] == [lab.name for lab in runner.discover(NOTEBOOKS_DIR)]
    for record in records:
        assert record["status"] == "passed", f"{record['lab']}: {record['error']}"
        assert record["quick"] is True and record["error"] is None
        written = json.loads((lab_run.output / record["lab"] / "results.json").read_text(encoding="utf-8"))
        assert record["data_source"] == written["data_source"], record["lab"]
        assert (lab_run.output / record["html"]).is_file()
