"""Notebook tests for the week 4 time-series labs: quick runs through the runner, checked on results.json."""

from __future__ import annotations

import pytest
from helpers import passed_results

pytestmark = pytest.mark.notebook

WEATHER = "c2w4_lab_weather_timeseries"
SIGNALS = "c2w4_lab_accelerometer_signals"
ACTIVITIES = {"Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing"}


def test_weather_lab_splits_by_time_and_windows_in_order(lab_run):
    results = passed_results(lab_run(WEATHER))
    sizes = results["split_sizes"]
    assert sizes["train"] > 0 and sizes["test"] > 0
    assert sizes["train"] + sizes["test"] == results["input_rows"]
    assert sizes["train"] / results["input_rows"] == pytest.approx(300_000 / 420_551, abs=0.01)
    features = results["features"]
    assert len(features) == 13 and features[-1] == "T (degC)"
    assert {"Wx", "Wy", "Day sin", "Day cos", "Year sin", "Year cos"} <= set(features)
    assert not {"wv (m/s)", "wd (deg)", "max. wv (m/s)", "Tpot (K)"} & set(features)
    assert results["features_shape"] == [72, results["history_hours"], 13]
    assert results["target_shape"] == [72, 1]
    assert results["target_offset_rows"] == 72
    assert results["sentinels_in_data"] > 0 or results["corrupted_row"] is not None
    assert set(results["test_min_max"]) == set(features)
    assert len(results["sample_targets"]) == 5
    assert all(0.0 <= v <= 1.0 for v in results["sample_features"].values())  # a train window


def test_weather_lab_on_the_slice_uses_short_windows(lab_run):
    results = passed_results(lab_run(WEATHER))
    if results["data_source"] != "mirror-subset":
        pytest.skip(f"ran on {results['data_source']} data, not the 1,000-row slice")
    assert results["input_rows"] == 1000 and results["history_hours"] == 24
    assert results["corrupted_row"] is not None
    for split in ("train", "test"):
        order = results["time_order"][split]
        assert order["regular"] == order["steps"]  # the slice has no gaps nor repeats


def test_signals_lab_cleans_splits_by_user_and_windows(lab_run):
    results = passed_results(lab_run(SIGNALS))
    assert results["synthetic"] == (results["data_source"] == "synthetic")
    assert set(results["vocabulary"]) == ACTIVITIES and len(results["vocabulary"]) == 6
    assert results["lines_read"] == results["lines_kept"] + sum(results["lines_dropped"].values())
    assert sum(results["split_sizes"].values()) == results["lines_kept"]
    assert set(results["users"]["train"]) <= set(range(1, 31))
    assert set(results["users"]["test"]) <= set(range(31, 37))
    assert results["batch_shape"] == [100, 80, 3] and results["label_shape"] == [100]
    assert all(0 <= label < 6 for label in results["first_labels"])
    assert results["windows"]["train"] > 0 and results["windows"]["test"] > 0
    assert all(0.0 <= v <= 1.0 for row in results["first_window_head"] for v in row)


def test_signals_lab_synthetic_log_has_malformed_lines_of_each_kind(lab_run):
    results = passed_results(lab_run(SIGNALS))
    if results["data_source"] != "synthetic":
        pytest.skip(f"ran on {results['data_source']} data")
    assert set(results["lines_dropped"]) == {"empty", "field_count", "trailing_comma"}
    assert all(count > 0 for count in results["lines_dropped"].values())
    assert len(results["users"]["train"]) == 30 and len(results["users"]["test"]) == 6
    assert results["windows_spanning_users"] > 0  # why the label is a vote
