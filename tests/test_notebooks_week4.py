"""Notebook tests for the week 4 time-series labs: quick runs through the runner, checked on results.json."""

from __future__ import annotations

import pytest
from helpers import results_fixture

pytestmark = pytest.mark.notebook

WEATHER = "c2w4_lab_weather_timeseries"
SIGNALS = "c2w4_lab_accelerometer_signals"
ACTIVITIES = {"Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing"}

weather = results_fixture(WEATHER)
signals = results_fixture(SIGNALS)


def test_weather_lab_splits_by_time_and_windows_in_order(weather):
    sizes = weather["split_sizes"]
    assert sizes["train"] > 0 and sizes["test"] > 0
    assert sizes["train"] + sizes["test"] == weather["input_rows"]
    assert sizes["train"] / weather["input_rows"] == pytest.approx(300_000 / 420_551, abs=0.01)
    features = weather["features"]
    assert len(features) == 13 and features[-1] == "T (degC)"
    assert {"Wx", "Wy", "Day sin", "Day cos", "Year sin", "Year cos"} <= set(features)
    assert not {"wv (m/s)", "wd (deg)", "max. wv (m/s)", "Tpot (K)"} & set(features)
    assert weather["features_shape"] == [72, weather["history_hours"], 13]
    assert weather["target_shape"] == [72, 1]
    assert weather["target_offset_rows"] == 72
    assert weather["sentinels_in_data"] > 0 or weather["corrupted_row"] is not None
    assert set(weather["test_min_max"]) == set(features)
    assert len(weather["sample_targets"]) == 5
    assert all(0.0 <= v <= 1.0 for v in weather["sample_features"].values())  # a train window


def test_weather_lab_on_the_slice_uses_short_windows(weather):
    if weather["data_source"] != "mirror-subset":
        pytest.skip(f"ran on {weather['data_source']} data, not the 1,000-row slice")
    assert weather["input_rows"] == 1000 and weather["history_hours"] == 24
    assert weather["corrupted_row"] is not None
    for split in ("train", "test"):
        order = weather["time_order"][split]
        assert order["regular"] == order["steps"]  # the slice has no gaps nor repeats


def test_signals_lab_cleans_splits_by_user_and_windows(signals):
    assert signals["synthetic"] == (signals["data_source"] == "synthetic")
    assert set(signals["vocabulary"]) == ACTIVITIES and len(signals["vocabulary"]) == 6
    assert signals["lines_read"] == signals["lines_kept"] + sum(signals["lines_dropped"].values())
    assert sum(signals["split_sizes"].values()) == signals["lines_kept"]
    assert set(signals["users"]["train"]) <= set(range(1, 31))
    assert set(signals["users"]["test"]) <= set(range(31, 37))
    assert signals["batch_shape"] == [100, 80, 3] and signals["label_shape"] == [100]
    assert all(0 <= label < 6 for label in signals["first_labels"])
    assert signals["windows"]["train"] > 0 and signals["windows"]["test"] > 0
    assert all(0.0 <= v <= 1.0 for row in signals["first_window_head"] for v in row)


def test_signals_lab_synthetic_log_has_malformed_lines_of_each_kind(signals):
    if signals["data_source"] != "synthetic":
        pytest.skip(f"ran on {signals['data_source']} data")
    assert set(signals["lines_dropped"]) == {"empty", "field_count", "trailing_comma"}
    assert all(count > 0 for count in signals["lines_dropped"].values())
    assert len(signals["users"]["train"]) == 30 and len(signals["users"]["test"]) == 6
    assert signals["windows_spanning_users"] > 0  # why the label is a vote
