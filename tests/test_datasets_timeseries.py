"""Code checks for the week-4 time-series datasets: the synthetic WISDM log, Jena and WISDM fallbacks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labs_utils import datasets, timeseries

# --- the synthetic WISDM log -----------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("wisdm") / "raw.txt"
    return datasets.write_synthetic_wisdm(path, users=4, readings_per_user=600, seed=3)


def test_synthetic_wisdm_is_deterministic(synthetic_log, tmp_path):
    again = datasets.write_synthetic_wisdm(tmp_path / "again.txt", users=4, readings_per_user=600, seed=3)
    other = datasets.write_synthetic_wisdm(tmp_path / "other.txt", users=4, readings_per_user=600, seed=4)
    assert again.read_bytes() == synthetic_log.read_bytes()
    assert other.read_bytes() != synthetic_log.read_bytes()


def test_synthetic_wisdm_has_the_raw_format_and_malformed_lines(synthetic_log):
    lines = synthetic_log.read_text().splitlines()
    counts = timeseries.count_clean_results(lines)
    assert set(counts) == {"kept", "empty", "field_count", "trailing_comma"}
    assert counts["kept"] > 0.98 * 4 * 600
    assert any(line.endswith(",;") and line.count(",") == 6 for line in lines)  # stray comma, valid
    kept = [timeseries.clean_wisdm_line(line)[1] for line in lines]
    kept = [line for line in kept if timeseries.clean_wisdm_line(line)[0] == "kept"]
    frame = pd.DataFrame([line.split(",") for line in kept], columns=timeseries.WISDM_COLUMNS)
    frame = frame.astype({"user": int, "timestamp": np.int64, "x": float, "y": float, "z": float})
    assert set(frame["user"]) == {1, 2, 3, 4}
    assert set(frame["activity"]) == set(timeseries.WISDM_ACTIVITIES)
    assert frame[["x", "y", "z"]].abs().max().max() <= 20
    steps = frame.groupby("user")["timestamp"].diff().dropna()
    assert steps.median() == pytest.approx(50e6, rel=0.05)  # 20 Hz in nanoseconds


def test_synthetic_still_postures_are_dominated_by_gravity(synthetic_log):
    rows = [line.rstrip(";").split(",") for line in synthetic_log.read_text().splitlines()]
    frame = pd.DataFrame([r for r in rows if len(r) == 6 and r[5]], columns=timeseries.WISDM_COLUMNS)
    frame[["x", "y", "z"]] = frame[["x", "y", "z"]].astype(float)
    magnitude = np.sqrt((frame[["x", "y", "z"]] ** 2).sum(axis=1))
    spread = magnitude.groupby(frame["activity"]).std()
    level = magnitude.groupby(frame["activity"]).mean()
    for still in ("Sitting", "Standing"):
        assert level[still] == pytest.approx(9.8, abs=0.5)
        assert spread[still] < spread["Walking"] / 5
    assert spread["Jogging"] > spread["Walking"]


# --- data access for the time-series labs (labs_utils.datasets) --------------------------------


@pytest.fixture
def offline_cache(tmp_path, monkeypatch, mirror_dir):
    """An empty cache, the mirror directory, and no official downloads."""
    monkeypatch.setenv("LABS_OFFLINE", "1")
    monkeypatch.setenv("LABS_DATA_MIRROR", str(mirror_dir))
    return tmp_path / "cache"


def test_jena_quick_falls_back_to_the_real_slice(offline_cache):
    fetched = datasets.fetch_jena_climate(quick=True, data_dir=offline_cache)
    assert fetched.data_source == "mirror-subset"
    frame = pd.read_csv(fetched.path())
    assert len(frame) == 1000 and frame.columns[0] == "Date Time"
    seconds = frame["Date Time"].map(timeseries.parse_utc_seconds)
    assert (seconds.diff().dropna() == 600).all()


def test_jena_full_without_the_full_file_names_it(offline_cache):
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch_jena_climate(quick=False, data_dir=offline_cache)
    message = str(info.value)
    assert datasets.JENA_FULL in message and "SOURCE.md" in message and "QUICK=True" in message


def test_wisdm_raw_quick_is_labelled_synthetic_and_full_raises(offline_cache):
    fetched = datasets.fetch_wisdm_raw(quick=True, data_dir=offline_cache)
    assert fetched.data_source == "synthetic"
    again = datasets.fetch_wisdm_raw(quick=True, data_dir=offline_cache)
    assert again.path().read_bytes() == fetched.path().read_bytes()
    first = fetched.path().read_text().splitlines()[0]
    assert timeseries.clean_wisdm_line(first)[0] == "kept"
    real_place = offline_cache / "wisdm" / datasets.WISDM_RAW
    assert not real_place.exists()  # the stand-in never poses as the real file
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch_wisdm_raw(quick=False, data_dir=offline_cache)
    assert datasets.WISDM_RAW in str(info.value) and "SOURCE.md" in str(info.value)
