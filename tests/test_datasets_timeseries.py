"""Code checks for the week-4 time-series datasets: the synthetic WISDM log, Jena and WISDM fallbacks."""

from __future__ import annotations

from pathlib import Path

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
    """An empty cache, the mirror directory, no official downloads, stand-ins allowed, no data log."""
    monkeypatch.delenv("LABS_REQUIRE_OFFICIAL_DATA", raising=False)
    monkeypatch.delenv("LABS_DATA_LOG", raising=False)
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


def test_jena_full_mode_runs_on_the_slice_when_the_full_file_is_out_of_reach(offline_cache):
    fetched = datasets.fetch_jena_climate(quick=False, data_dir=offline_cache)
    assert fetched.data_source == "mirror-subset"
    assert list(fetched.paths) == [datasets.JENA_SUBSET]
    assert not (offline_cache / "jena_climate" / datasets.JENA_FULL).exists()


@pytest.mark.parametrize(
    ("fetch", "official", "stand_in"),
    [
        (datasets.fetch_jena_climate, datasets.JENA_FULL, Path("jena_climate") / datasets.JENA_SUBSET),
        (datasets.fetch_wisdm_raw, datasets.WISDM_RAW, Path("wisdm") / "synthetic"),
    ],
    ids=["jena-slice", "wisdm-synthetic"],
)
def test_required_official_data_refuses_the_stand_in(offline_cache, monkeypatch, fetch, official, stand_in):
    monkeypatch.setenv("LABS_REQUIRE_OFFICIAL_DATA", "1")
    with pytest.raises(datasets.DataNotAvailableError) as info:
        fetch(quick=False, data_dir=offline_cache)
    message = str(info.value)
    assert official in message and "SOURCE.md" in message
    assert "LABS_REQUIRE_OFFICIAL_DATA=1" in message and "--require-official-data" in message
    assert not (offline_cache / stand_in).exists()  # never fetched or written


def test_jena_with_an_empty_mirror_names_both_files(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_OFFLINE", "1")
    monkeypatch.setenv("LABS_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch_jena_climate(quick=False, data_dir=tmp_path / "cache")
    message = str(info.value)
    assert datasets.JENA_FULL in message and datasets.JENA_SUBSET in message
    assert "not available either" in message


@pytest.mark.parametrize("quick", [True, False])
def test_wisdm_raw_without_a_real_copy_is_the_labelled_synthetic_log(offline_cache, quick):
    fetched = datasets.fetch_wisdm_raw(quick=quick, data_dir=offline_cache)
    assert fetched.data_source == "synthetic"
    again = datasets.fetch_wisdm_raw(quick=quick, data_dir=offline_cache)
    assert again.path().read_bytes() == fetched.path().read_bytes()
    first = fetched.path().read_text().splitlines()[0]
    assert timeseries.clean_wisdm_line(first)[0] == "kept"
    real_place = offline_cache / "wisdm" / datasets.WISDM_RAW
    assert not real_place.exists()  # the stand-in never poses as the real file


def test_data_log_records_each_stand_in_and_what_it_replaced(offline_cache, monkeypatch, tmp_path):
    log = tmp_path / "data_used.jsonl"
    monkeypatch.setenv("LABS_DATA_LOG", str(log))
    datasets.fetch_jena_climate(quick=False, data_dir=offline_cache)
    datasets.fetch_wisdm_raw(quick=False, data_dir=offline_cache)
    records = datasets.read_data_log(log)
    stand_ins = [(r["dataset"], r["files"], r["stand_in_for"]) for r in records if r["stand_in_for"]]
    assert stand_ins == [
        ("jena_climate", [datasets.JENA_SUBSET], [datasets.JENA_FULL]),
        ("wisdm", ["synthetic/WISDM_ar_v1.1_raw_synthetic.txt"], [datasets.WISDM_RAW]),
    ]
    assert [r["data_source"] for r in records if r["stand_in_for"]] == ["mirror-subset", "synthetic"]
    plain = [r for r in records if not r["stand_in_for"]]
    assert [(r["dataset"], r["files"]) for r in plain] == [("jena_climate", [datasets.JENA_SUBSET])]


def test_banner_names_the_stand_in_and_the_official_url(offline_cache):
    fetched = datasets.fetch_jena_climate(quick=False, data_dir=offline_cache)
    banner = datasets.data_banner(fetched)
    text = str(banner)
    assert banner.stand_in and text.startswith("STAND-IN DATA (mirror-subset)")
    official_url = datasets.registry()["jena_climate"].file(datasets.JENA_FULL).url
    assert official_url in text and "labs data fetch jena_climate" in text
    assert "LABS_DATA_MIRROR" in text and datasets.JENA_SUBSET in text
    assert "STAND-IN DATA" in banner._repr_html_() and official_url in banner._repr_html_()


def test_banner_for_the_official_file_is_one_line():
    official = datasets.Fetched("census_adult", {"adult.data": Path("/x/adult.data")}, "official")
    banner = datasets.data_banner(official)
    assert not banner.stand_in and "\n" not in str(banner)
    assert str(banner).startswith("Data: the official census_adult") and "adult.data" in str(banner)


def test_show_data_source_prints_outside_jupyter(offline_cache, capsys):
    fetched = datasets.fetch_wisdm_raw(quick=False, data_dir=offline_cache)
    datasets.show_data_source(fetched)
    out = capsys.readouterr().out
    assert out.startswith("STAND-IN DATA (synthetic)") and "WISDM_ar_latest.tar.gz" in out
    assert "WISDM_ar_v1.1_raw_synthetic.txt" in out.splitlines()[0]
    assert "WISDM_ar_latest.tar.gz (member WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt)" in out
    assert "readme.txt" not in out  # only the file the lab needs
