"""Data checks: the course layouts derived from the official files equal the mirror's
``course_variant/`` files, every registered file in the mirror matches its hash, and the loaders
return the documented shapes. Reads the course mirror (LABS_DATA_MIRROR or ../shared/datasets).
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labs_utils import datasets

pytestmark = pytest.mark.data

# Mirror files no lab reads, so the registry leaves them out (see datasets/README.md).
UNREGISTERED = ("SOURCE.md", "cifar10/foolbox_test_samples/")


@pytest.fixture(scope="module")
def kw(mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Fetch arguments: one temp cache for the module, filled from the mirror directory."""
    return {"data_dir": tmp_path_factory.mktemp("cache"), "mirror": mirror_dir}


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never reach for official URLs here: these checks are about the mirror's content."""
    monkeypatch.setenv("LABS_OFFLINE", "1")


def test_every_mirror_dataset_and_file_is_registered(mirror_dir):
    entries = datasets.registry()
    assert {p.name for p in mirror_dir.iterdir() if p.is_dir()} == set(entries)
    registered = {(d, f.name) for d, entry in entries.items() for f in entry.files}
    for path in sorted(p for p in mirror_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(mirror_dir).as_posix()
        if rel.endswith(UNREGISTERED[0]) or rel.startswith(UNREGISTERED[1]):
            continue
        dataset, name = rel.split("/", 1)
        stand_in = name.removesuffix(".gz")
        assert (dataset, name) in registered or (dataset, stand_in) in registered, rel


def test_mirror_files_match_their_registered_hashes(mirror_dir):
    absent, unhashed = set(), set()
    for dataset, entry in datasets.registry().items():
        for item in entry.files:
            path = mirror_dir / dataset / item.name
            packed = path.with_name(path.name + ".gz")
            if path.is_file():
                data = path.read_bytes()
            elif packed.is_file():
                data = gzip.decompress(packed.read_bytes())
            else:
                absent.add(f"{dataset}/{item.name}")
                continue
            if item.sha256 == "unknown":
                unhashed.add(f"{dataset}/{item.name}")
            assert item.sha256 == hashlib.sha256(data).hexdigest(), f"{dataset}/{item.name}"
            assert (item.size or len(data)) == len(data), f"{dataset}/{item.name}"
    # The mirror lacks exactly the files nobody could hash (each SOURCE.md says why).
    assert unhashed == set()
    assert absent == {
        "covertype/dataset.csv",
        "jena_climate/jena_climate_2009_2016.csv",
        "wisdm/WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt",
        "cifar10/train.tfrecord",
    }


def test_census_course_file_is_header_plus_official_bytes(kw, tmp_path):
    out = datasets.write_census_course_csv(tmp_path / "census" / "adult.data", **kw)
    course = datasets.fetch_file("census_adult", "course_variant/adult.data", **kw)
    assert out.read_bytes() == course.read_bytes()


def test_census_loader_matches_course_file(kw):
    df = datasets.load_census_adult(**kw)
    course = pd.read_csv(
        datasets.fetch_file("census_adult", "course_variant/adult.data", **kw),
        skipinitialspace=True,
    )
    pd.testing.assert_frame_equal(df, course)
    assert df.shape == (32561, 15)
    assert df["label"].value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert "?" in set(df["workclass"])  # a value, not a missing marker
    assert df.attrs["data_source"] == "mirror"


def test_census_test_file_shares_the_training_layout(kw):
    test = datasets.load_census_adult_test(**kw)
    train = datasets.load_census_adult(**kw)
    assert test.shape == (16281, 15) and list(test.columns) == list(train.columns)
    assert test["label"].value_counts().to_dict() == {"<=50K": 12435, ">50K": 3846}
    assert (test.dtypes == train.dtypes).all()
    assert test.attrs["data_source"] == "mirror"


def test_breast_cancer_loader_matches_course_layout(kw):
    df = datasets.load_breast_cancer(**kw)
    path = datasets.fetch_file("breast_cancer", "course_variant/breast_cancer_data.csv", **kw)
    course = pd.read_csv(path)
    assert course["Unnamed: 32"].isna().all()
    pd.testing.assert_frame_equal(df, course.drop(columns="Unnamed: 32"))
    assert df.shape == (569, 32)
    assert "concave points_mean" in df.columns
    assert df["diagnosis"].value_counts().to_dict() == {"B": 357, "M": 212}


def test_metro_loader_matches_course_layout(kw):
    df = datasets.load_metro_traffic(**kw)
    path = datasets.fetch_file("metro_traffic", "course_variant/metro_traffic_volume.csv", **kw)
    course = pd.read_csv(path, keep_default_na=False)
    assert list(df.columns) == list(course.columns)
    assert df.shape == course.shape == (48204, 13)
    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    assert floats == ["temp", "rain_1h", "snow_1h"]
    pd.testing.assert_frame_equal(df.drop(columns=floats), course.drop(columns=floats))
    for column in floats:  # the course file was rewritten by pandas (e.g. 292.89099999999996)
        assert np.isclose(df[column], course[column], rtol=0, atol=1e-9).all(), column
    assert df["holiday"].nunique() == 12 and "None" in set(df["holiday"])


def test_diabetes_loader_keeps_none_as_a_category(kw):
    df = datasets.load_diabetes(**kw)
    assert df.shape == (101766, 50)
    assert "None" in set(df["max_glu_serum"]) and "None" in set(df["A1Cresult"])
    assert df["race"].isna().any()  # "?" is missing
    assert df["readmitted"].value_counts().to_dict() == {"NO": 54864, ">30": 35545, "<30": 11357}
    assert df.attrs["data_source"] == "mirror"


def test_chicago_taxi_loader(kw):
    df = datasets.load_chicago_taxi(**kw)
    assert df.shape == (15002, 18)
    assert df["pickup_latitude"].isna().any() and df["fare"].notna().any()


def test_covertype_falls_back_to_the_labelled_subset(kw):
    df = datasets.load_covertype(**kw)
    assert df.attrs["data_source"] == "mirror-subset"
    assert df.shape == (351885, 13)
    assert set(df["Cover_Type"]) == set(range(7))
    assert set(df["Wilderness_Area"]) == {"Cache", "Commanche", "Neota", "Rawah"}
    assert df["Soil_Type"].nunique() == 40
    serving = pd.read_csv(datasets.fetch_file("covertype", "course_variant/serving_dataset.csv", **kw))
    assert serving.shape == (100, 12)
    assert list(serving.columns) == [c for c in df.columns if c != "Cover_Type"]
    with pytest.raises(datasets.DataNotAvailableError, match="covertype/dataset.csv"):
        datasets.load_covertype(allow_subset=False, **kw)
