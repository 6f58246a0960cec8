"""Notebook tests for the week 4 time-series labs: quick runs through the runner, checked on results.json."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import results_fixture

from labs_utils import datasets

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


# --- facts recomputed from the data and the run's files, independently of the notebooks' code ---

WV, MAX_WV, SENTINEL = "wv (m/s)", "max. wv (m/s)", -9999.0
QUICK_ROWS = 20_000  # the weather lab's quick mode reads at most this many rows


def test_weather_sentinels_are_counted_in_the_data_and_injected_only_when_absent(lab_run, weather):
    source = datasets.fetch_jena_climate(quick=True).path()
    data = pd.read_csv(source, nrows=QUICK_ROWS)
    assert weather["input_rows"] == len(data)
    sentinels = int((data[[WV, MAX_WV]] == SENTINEL).to_numpy().sum())
    assert weather["sentinels_in_data"] == sentinels
    (used,) = list(lab_run(WEATHER).notebook.parent.rglob("jena_input.csv"))
    fed = pd.read_csv(used)
    changed = sorted(set(np.flatnonzero((fed.fillna(0) != data.fillna(0)).any(axis=1).to_numpy())))
    if sentinels:
        assert weather["corrupted_row"] is None and changed == []
    else:  # one row corrupted on purpose, in both wind columns, and nothing else touched
        row = weather["corrupted_row"]
        assert changed == [row] and row < weather["split_sizes"]["train"]
        assert (fed.loc[row, [WV, MAX_WV]] == SENTINEL).all()


def test_signals_line_counts_and_users_recomputed_from_the_log_it_read(lab_run, signals):
    lab_dir = lab_run(SIGNALS).notebook.parent
    quick_logs = list(lab_dir.rglob("wisdm_quick.txt"))
    if signals["data_source"] == "synthetic":
        assert quick_logs == []  # the synthetic log is used whole
        log = datasets.fetch_wisdm_raw(quick=True).path()
    else:
        (log,) = quick_logs
    lines = Path(log).read_bytes().splitlines()
    assert signals["lines_read"] == len(lines)
    users = Counter(int(line.split(b",")[0]) for line in lines if line.split(b",")[0].strip().isdigit())
    if signals["data_source"] != "synthetic":
        assert max(users.values()) <= 1_500  # quick mode: the first 1,500 lines of each user
    assert set(signals["users"]["train"]) == {u for u in users if u <= 30}
    assert set(signals["users"]["test"]) == {u for u in users if u > 30}


def read_transformed(lab_dir: Path, split: str) -> pd.DataFrame:
    """Return one split of a lab's transformed TFRecords as a DataFrame (one scalar column per feature)."""
    import tensorflow as tf

    files = sorted(str(p) for p in (lab_dir / "work" / "transformed").glob(f"{split}-*"))
    assert files, f"no transformed {split} files under {lab_dir}"
    dataset = tf.data.TFRecordDataset(files)
    first = tf.train.Example.FromString(next(iter(dataset)).numpy()).features.feature
    spec = {
        name: tf.io.FixedLenFeature([], tf.int64 if f.HasField("int64_list") else tf.float32)
        for name, f in first.items()
    }
    batches = [tf.io.parse_example(batch, spec) for batch in dataset.batch(8192)]
    return pd.DataFrame({name: np.concatenate([b[name].numpy() for b in batches]) for name in spec})


def test_signals_split_vocabulary_and_first_windows_recomputed_from_the_transformed_files(lab_run, signals):
    lab_dir = lab_run(SIGNALS).notebook.parent
    frames = {split: read_transformed(lab_dir, split) for split in ("train", "test")}
    assert {split: len(frame) for split, frame in frames.items()} == signals["split_sizes"]
    assert frames["train"]["user"].max() <= 30 < frames["test"]["user"].min()  # split by subject
    # compute_and_apply_vocabulary numbers the activities by training frequency, most frequent first
    ids = np.bincount(frames["train"]["activity"], minlength=6)
    assert len(ids) == 6 and (np.diff(ids) <= 0).all()
    (vocabulary_file,) = list(lab_dir.rglob("transform_fn/assets/activity"))
    assert vocabulary_file.read_text().split() == signals["vocabulary"]
    # the first windows: rows sorted by user and time, 80 rows every 40, label = the most frequent id
    train = frames["train"].sort_values(["user", "timestamp", "activity", "x", "y", "z"], kind="stable")
    activity = train["activity"].to_numpy()
    votes = [int(np.argmax(np.bincount(activity[40 * k : 40 * k + 80], minlength=6))) for k in range(10)]
    assert votes == signals["first_labels"]
    head = np.round(train[["x", "y", "z"]].to_numpy(float)[:3], 4).tolist()
    assert head == signals["first_window_head"]
    assert (train[["x", "y", "z"]].min() == 0).all() and (train[["x", "y", "z"]].max() == 1).all()


def test_weather_split_and_windows_recomputed_from_the_run_files(lab_run, weather):
    lab_dir = lab_run(WEATHER).notebook.parent
    (used,) = list(lab_dir.rglob("jena_input.csv"))
    fed = pd.read_csv(used)
    times = pd.to_datetime(fed["Date Time"], format="%d.%m.%Y %H:%M:%S", utc=True).astype("int64") // 10**9
    cleaned = {
        split: pd.concat(
            [
                pd.read_csv(p, header=None, names=list(fed.columns))
                for p in (lab_dir / "work" / "cleaned").glob(f"{split}-*")
            ]
        )
        for split in ("train", "test")
    }
    assert {split: len(frame) for split, frame in cleaned.items()} == weather["split_sizes"]
    assert cleaned["train"]["Date Time"].max() < cleaned["test"]["Date Time"].min()  # split by time
    # every reading once, its time in UTC seconds, its sentinel wind readings set to 0
    both = pd.concat(cleaned.values())
    found = sorted(zip(both["Date Time"], both[WV], both[MAX_WV], strict=True))
    wind = fed[[WV, MAX_WV]].where(fed[[WV, MAX_WV]] != SENTINEL, 0.0)
    assert found == sorted(zip(times, wind[WV], wind[MAX_WV], strict=True))
    # windows: sorted train rows, every 6th row, the target T (degC) 72 rows after the last history row
    features = weather["features"]
    train = read_transformed(lab_dir, "train").sort_values(["Date Time", *features]).reset_index(drop=True)
    assert (train[features].min() == 0).all() and (train[features].max() == 1).all()
    last_history_row = (weather["history_hours"] - 1) * 6
    targets = train["T (degC)"].to_numpy()[np.arange(5) + last_history_row + 72]
    assert np.round(targets.astype(float), 4).tolist() == weather["sample_targets"]
    first_row = np.round(train.loc[0, features].to_numpy(float), 4).tolist()
    assert dict(zip(features, first_row, strict=True)) == weather["sample_features"]
