"""Every lab's results.json names the lab, the mode and an honest data source."""

from __future__ import annotations

import pytest
from helpers import NOTEBOOKS_DIR, QUICK_DATA_SOURCES, passed_results

from labs_utils import runner


def test_every_lab_has_its_expected_data_sources():
    assert set(QUICK_DATA_SOURCES) == {lab.name for lab in runner.discover(NOTEBOOKS_DIR)}


@pytest.mark.notebook
@pytest.mark.parametrize("name", sorted(QUICK_DATA_SOURCES))
def test_results_name_the_lab_mode_and_data_source(lab_run, name):
    results = passed_results(lab_run(name))
    assert results["lab"] == name
    assert results["quick"] is True
    assert results["data_source"] in QUICK_DATA_SOURCES[name]
