"""Unit tests for labs_utils.timeseries on hand-checked values and small arrays."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from labs_utils import timeseries  # noqa: E402

# --- timestamps and cyclical time -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("01.01.1970 00:00:00", 0),
        ("01.01.2009 00:10:00", 1230768600),
        ("01.01.2017 00:00:00", 1483228800),
        ('"25.12.2016 01:30:00"', 1482629400),
        ("27.03.2016 02:30:00", 1459045800),  # missing in Central European local time, fine in UTC
    ],
)
def test_parse_utc_seconds(text, seconds):
    assert timeseries.parse_utc_seconds(text) == seconds


def test_parse_utc_seconds_ignores_the_machine_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert timeseries.parse_utc_seconds("01.07.2016 12:00:00") == 1467374400
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


def test_day_signal_has_a_one_day_period():
    seconds = np.array([0, 6 * 3600, 12 * 3600, 18 * 3600, 86400, 86400 * 1000 + 6 * 3600])
    sin, cos = timeseries.cyclical_features(seconds, timeseries.DAY_SECONDS)
    np.testing.assert_allclose(sin.numpy(), [0, 1, 0, -1, 0, 1], atol=1e-6)
    np.testing.assert_allclose(cos.numpy(), [1, 0, -1, 0, 1, 0], atol=1e-6)
    assert sin.dtype == tf.float32
    np.testing.assert_allclose(sin.numpy() ** 2 + cos.numpy() ** 2, 1.0, atol=1e-6)


def test_year_signal_uses_the_mean_gregorian_year():
    year = 365.2425 * 86400
    assert timeseries.YEAR_SECONDS == year
    sin, cos = timeseries.cyclical_features(np.array([0.0, year / 4, year / 2, year]), year)
    np.testing.assert_allclose(sin.numpy(), [0, 1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(cos.numpy(), [1, 0, -1, 1], atol=1e-6)


def test_day_signal_keeps_ten_minute_resolution_for_2016_timestamps():
    # float32 Unix time in 2016 steps by 128 s; the float64 reduction keeps 10-minute steps apart
    start = 1482629400  # 25.12.2016 01:30:00 UTC
    seconds = np.array([start, start + 600], dtype=np.int64)
    sin, cos = timeseries.cyclical_features(seconds, timeseries.DAY_SECONDS)
    expected = [2 * math.pi * ((s % 86400) / 86400) for s in seconds]
    np.testing.assert_allclose(sin.numpy(), np.sin(expected), atol=1e-6)
    np.testing.assert_allclose(cos.numpy(), np.cos(expected), atol=1e-6)


@pytest.mark.parametrize(
    ("speed", "deg", "wx", "wy"),
    [
        (2.0, 0.0, 2.0, 0.0),
        (2.0, 90.0, 0.0, 2.0),
        (2.0, 180.0, -2.0, 0.0),
        (3.0, 270.0, 0.0, -3.0),
        (math.sqrt(2), 45.0, 1.0, 1.0),
        (0.0, 123.0, 0.0, 0.0),
    ],
)
def test_wind_vector_components(speed, deg, wx, wy):
    x, y = timeseries.wind_vector(np.float32(speed), np.float32(deg))
    assert float(x) == pytest.approx(wx, abs=1e-5)
    assert float(y) == pytest.approx(wy, abs=1e-5)


def test_wind_vector_puts_359_next_to_1_degree():
    x, y = timeseries.wind_vector(np.array([1.0, 1.0], np.float32), np.array([359.0, 1.0], np.float32))
    assert float(x[0]) == pytest.approx(float(x[1]), abs=1e-6)
    assert float(y[0]) == pytest.approx(-float(y[1]), abs=1e-6)


# --- cleaning lines --------------------------------------------------------------------------


def test_clean_weather_line_parses_utc_and_zeroes_sentinels():
    line = "01.01.2009 00:10:00,996.52,-8.02,-9999.00,-9999.0,152.30\n"
    out = timeseries.clean_weather_line(line, time_index=0, sentinel_indices=[3, 4])
    assert out == "1230768600,996.52,-8.02,0.0,0.0,152.30"


def test_clean_weather_line_leaves_ordinary_values():
    line = "01.01.2009 00:10:00,996.52,-8.02,1.03,1.75,152.30"
    out = timeseries.clean_weather_line(line, time_index=0, sentinel_indices=[3, 4])
    assert out.split(",")[1:] == line.split(",")[1:]


@pytest.mark.parametrize(
    ("line", "status", "cleaned"),
    [
        (
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286;",
            "kept",
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286",
        ),
        (
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286,;\n",
            "kept",
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286",
        ),
        (
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286",
            "kept",
            "33,Jogging,49105962326000,-0.6946377,12.680544,0.50395286",
        ),
        ("11,Walking,1867172313000,4.4,4.4,;", "field_count", "11,Walking,1867172313000,4.4,4.4"),
        ("11,Walking,1867172313000,4.4,4.4,", "trailing_comma", "11,Walking,1867172313000,4.4,4.4,"),
        ("", "empty", ""),
        ("  \n", "empty", ""),
        ("1,Walking,1,2,3,4;1,Walking,2,3,4,5;", "field_count", "1,Walking,1,2,3,41,Walking,2,3,4,5"),
    ],
)
def test_clean_wisdm_line(line, status, cleaned):
    assert timeseries.clean_wisdm_line(line) == (status, cleaned)


def test_cleaning_keeps_bytes_as_bytes():
    weather = timeseries.clean_weather_line(b"01.01.2009 00:10:00,-9999.00", 0, [1])
    assert weather == b"1230768600,0.0"
    assert timeseries.clean_wisdm_line(b"1,Walking,5,1.0,2.0,3.0,;\n") == (
        "kept",
        b"1,Walking,5,1.0,2.0,3.0",
    )


def test_count_clean_results():
    counts = timeseries.count_clean_results(["1,Walking,1,2,3,4;", "", "1,Walking,1,2,3,", "1,a;"])
    assert counts == {"kept": 1, "empty": 1, "trailing_comma": 1, "field_count": 1}


def test_head_per_user_keeps_the_first_lines_of_each_user(tmp_path):
    source = tmp_path / "raw.txt"
    source.write_text("1,a;\n1,b;\n2,c;\n1,d;\n2,e;\n2,f;\n")
    out = timeseries.head_per_user(source, tmp_path / "head.txt", 2)
    assert out.read_text().splitlines() == ["1,a;", "1,b;", "2,c;", "2,e;"]


# --- windows ---------------------------------------------------------------------------------


def test_make_windows_with_shift_and_stride():
    windows = list(timeseries.make_windows(np.arange(10), 3, shift=2, stride=2).as_numpy_iterator())
    assert [w.tolist() for w in windows] == [[0, 2, 4], [2, 4, 6], [4, 6, 8]]
    assert timeseries.window_span(3, stride=2) == 5


def test_make_windows_keeps_dict_columns_aligned():
    values = {"x": np.arange(8, dtype=np.float32).reshape(4, 2), "t": np.array([10, 20, 30, 40])}
    windows = list(timeseries.make_windows(values, 2).as_numpy_iterator())
    assert len(windows) == 3
    assert windows[1]["t"].tolist() == [20, 30]
    assert windows[1]["x"].tolist() == [[2, 3], [4, 5]]


def test_window_target_lies_the_offset_after_the_last_history_step():
    size, history, stride = 8, 5, 3
    series = np.stack([np.arange(100.0), 1000 + np.arange(100.0)], axis=1)  # label = last column
    offset = timeseries.target_offset(size, history, stride)
    assert offset == 9
    dataset = timeseries.make_windows(series, size, stride=stride).map(
        lambda w: timeseries.split_window(w, history)
    )
    for start, (features, target) in enumerate(dataset.take(5).as_numpy_iterator()):
        assert features.shape == (history, 2) and target.shape == (1,)
        last_history_row = start + (history - 1) * stride
        assert features[-1, 0] == last_history_row
        assert target[0] == series[last_history_row + offset, -1]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [([2, 2, 1, 0], 2), ([3, 1, 1, 3], 1), ([5, 4, 5, 4, 0], 4), ([0], 0)],
)
def test_majority_vote_breaks_ties_towards_the_smallest_id(labels, expected):
    vote = timeseries.majority_vote(np.array(labels), num_classes=6)
    assert vote.shape == () and vote.dtype == tf.int64
    assert int(vote) == expected


def test_time_order_report_counts_irregular_steps():
    report = timeseries.time_order_report(np.array([0, 600, 1200, 2400, 2400, 2700]), 600)
    assert report == {"steps": 5, "regular": 2, "gaps": 1, "short": 1, "repeated_or_backwards": 1}


def test_load_scalar_features_reads_them_in_file_order(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for i in range(5):
            example = tf.train.Example(
                features=tf.train.Features(
                    feature={
                        "t": tf.train.Feature(int64_list=tf.train.Int64List(value=[i * 600])),
                        "v": tf.train.Feature(float_list=tf.train.FloatList(value=[i / 2])),
                    }
                )
            )
            writer.write(example.SerializeToString())
    spec = {"t": tf.io.FixedLenFeature([], tf.int64), "v": tf.io.FixedLenFeature([], tf.float32)}
    frame = timeseries.load_scalar_features(path, spec)
    assert frame["t"].tolist() == [0, 600, 1200, 1800, 2400]
    assert frame["v"].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_plots_return_figures():
    frame = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2, "c": np.ones(10)})
    assert timeseries.plot_series(frame, ["a", "b"]).axes
    assert timeseries.plot_counts(frame["a"].head(3)).axes


def test_plot_series_thins_long_frames():
    frame = pd.DataFrame({"a": np.arange(10_000.0)})
    fig = timeseries.plot_series(frame, ["a"], title="long", max_points=1000)
    line = fig.axes[0].lines[0]
    assert len(line.get_xdata()) == 1000 and "one row in 10" in fig._suptitle.get_text()
