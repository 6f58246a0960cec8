"""Unit tests for labs_utils.drift_windows: calendar windows, the drift table, words and the plot."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from labs_utils import drift, drift_windows


def test_window_labels_and_drift_table():
    df = pd.DataFrame(
        {
            "t": pd.to_datetime(["2020-01-05", "2020-02-01", "2020-04-01", "2020-05-01"]),
            "colour": ["red", "red", "red", "blue"],
        }
    )
    windows = drift_windows.window_labels(df["t"], "Q")
    assert list(windows) == ["2020Q1", "2020Q1", "2020Q2", "2020Q2"]
    table = drift_windows.drift_table(df, windows, "2020Q1", {"colour": drift.L_INFTY})
    assert table[["window", "n"]].values.tolist() == [["2020Q1", 2], ["2020Q2", 2]]
    assert table["distance"].tolist() == pytest.approx([0.0, 0.5])
    with pytest.raises(ValueError, match="has no rows"):
        drift_windows.drift_table(df, windows, "2019Q4", {"colour": drift.L_INFTY})


def test_describe_change_names_the_moved_value_and_a_constant_window():
    moved = drift_windows.describe_change(pd.Series(list("abbbb")), pd.Series(list("aac")), drift.L_INFTY)
    assert moved.startswith("'b'")
    text = drift_windows.describe_change(pd.Series([0.0, 0.0]), pd.Series([0.0, 1.0]), drift.JENSEN_SHANNON)
    assert "every value is 0" in text


def test_plot_drift_draws_one_panel_per_feature():
    table = pd.DataFrame(
        {
            "window": ["q1", "q2", "q1", "q2"],
            "feature": ["a", "a", "b", "b"],
            "measure": [drift.L_INFTY] * 2 + [drift.JENSEN_SHANNON] * 2,
            "distance": [0.1, 0.5, 0.0, 0.2],
            "threshold": [0.2, 0.2, 0.1, 0.1],
        }
    )
    fig = drift_windows.plot_drift(table, fixed_threshold=0.03, ncols=2)
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == ["a (L)", "b (JENSEN)"]


def test_window_statistics_skip_empty_and_small_windows():
    pytest.importorskip("tensorflow_data_validation")
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 500), "k": rng.choice(["a", "b", "c"], 500)})
    windows = pd.Series(["w1"] * 495 + ["w2"] * 5)
    stats = drift_windows.window_statistics(frame, windows, min_rows=10)
    assert list(stats) == ["w1"] and stats["w1"].datasets[0].num_examples == 495
