"""What data a lab run used, without running a kernel: stand-ins from a data log and results.json,
the official-data check and the banner (test_standins.py runs the same through real notebooks)."""

from __future__ import annotations

import json

import nbformat
import pytest

from labs_utils import data_used, execution
from labs_utils.datasets import standins

JENA_SLICE = {
    "dataset": "jena_climate",
    "files": ["jena_climate_2009_2016_rows419552-420551_official_layout.csv"],
    "data_source": "mirror-subset",
    "stand_in_for": ["jena_climate_2009_2016.csv"],
}
CENSUS = {"dataset": "census_adult", "files": ["adult.data"], "data_source": "official", "stand_in_for": []}


def test_a_logged_stand_in_names_the_file_it_replaced_and_the_way_to_it():
    (entry,) = data_used.stand_ins([JENA_SLICE, CENSUS], {"data_source": "mirror-subset"})
    assert (entry["dataset"], entry["data_source"]) == ("jena_climate", "mirror-subset")
    assert entry["files"] == ["jena_climate_2009_2016_rows419552-420551_official_layout.csv"]
    assert entry["how_to_get"] == standins.how_to_get("jena_climate", ["jena_climate_2009_2016.csv"])
    assert any("jena_climate_2009_2016.csv" in step for step in entry["how_to_get"])
    assert data_used.stand_ins([JENA_SLICE], {}, quick=True) == [entry]  # a logged one counts in quick mode


@pytest.mark.parametrize(
    ("records", "results", "quick", "datasets"),
    [
        ([CENSUS], {"data_source": "synthetic"}, False, ["census_adult"]),  # labelled a stand-in in full mode
        ([CENSUS], {"data_source": "official", "lossy": True}, False, ["census_adult"]),
        ([CENSUS], {"data_source": "synthetic"}, True, []),  # quick mode's samples are on purpose
        ([], {"data_source": "synthetic"}, False, []),  # inline data replaces no official file
        ([CENSUS], {"data_source": "official"}, False, []),
        ([CENSUS], None, False, []),
    ],
)
def test_a_stand_in_label_in_results_json_counts_only_for_registered_data_in_full_mode(
    records, results, quick, datasets
):
    found = data_used.stand_ins(records, results, quick)
    assert [entry["dataset"] for entry in found] == datasets
    assert all(entry["data_source"] == results["data_source"] for entry in found)


def _result(tmp_path, records, status="passed"):
    """Return a LabResult and the data log holding ``records``."""
    log = tmp_path / data_used.DATA_LOG
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    return execution.LabResult("c0w1_lab", status, 1.0, False, data_source="mirror-subset"), log


def test_required_official_data_fails_a_passed_run_on_a_stand_in(tmp_path):
    result, log = _result(tmp_path, [JENA_SLICE])
    data_used.check_data(result, log, require_official=False)
    assert result.passed and [s["dataset"] for s in result.stand_ins] == ["jena_climate"]
    data_used.check_data(result, log, require_official=True)
    assert result.status == "failed"
    assert "jena_climate (mirror-subset)" in result.error and "`labs data fetch jena_climate`" in result.error


def test_required_official_data_keeps_a_failure_and_passes_official_data(tmp_path):
    failed, log = _result(tmp_path, [JENA_SLICE], status="timeout")
    data_used.check_data(failed, log, require_official=True)
    assert failed.status == "timeout" and failed.error is None  # the first cause stays the reason
    official, log = _result(tmp_path, [CENSUS])
    data_used.check_data(official, log, require_official=True)
    assert official.passed and official.stand_ins == []


def test_the_banner_is_the_first_cell_and_names_each_stand_in(tmp_path):
    path = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), str(path))
    (entry,) = data_used.stand_ins([JENA_SLICE], {})
    data_used.add_banner(path, [entry])
    cells = nbformat.read(str(path), as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "code"]
    assert cells[0].metadata["tags"] == ["stand-in-data"]
    assert (
        "**jena_climate**: `mirror-subset` `jena_climate_2009_2016_rows419552-420551_official_layout.csv`"
        in cells[0].source
    )
    assert all(f"  - {step}" in cells[0].source for step in entry["how_to_get"])
