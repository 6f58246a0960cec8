"""Tabular datasets in the course's layout: census, diabetes, breast cancer, traffic, taxi, covertype.

Each ``load_*`` returns a DataFrame derived from the official file, with ``df.attrs["data_source"]``
saying where the bytes came from; ``fetch_kw`` go to :func:`labs_utils.datasets.fetch`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from labs_utils import inputs
from labs_utils.datasets.fetching import Fetched, fetch, fetch_best
from labs_utils.datasets.verify import CHUNK

__all__ = [
    "BREAST_CANCER_COLUMNS", "CENSUS_CATEGORICAL_FEATURES", "CENSUS_COLUMNS", "CENSUS_LABEL",
    "CENSUS_NUMERIC_FEATURES", "load_breast_cancer", "load_census_adult", "load_census_adult_test",
    "load_chicago_taxi", "load_covertype", "load_diabetes", "load_metro_traffic", "write_census_course_csv",
]  # fmt: skip

CENSUS_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "label",
]  # fmt: skip
_WDBC_MEASURES = [
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave points", "symmetry", "fractal_dimension",
]  # fmt: skip
BREAST_CANCER_COLUMNS = ["id", "diagnosis"] + [
    f"{measure}_{stat}" for stat in ("mean", "se", "worst") for measure in _WDBC_MEASURES
]

# The census features as the course's Transform lab groups them (age is bucketized on its own).
CENSUS_CATEGORICAL_FEATURES = [
    "education", "marital-status", "occupation", "race", "relationship", "workclass", "sex",
    "native-country",
]  # fmt: skip
CENSUS_NUMERIC_FEATURES = ["fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
CENSUS_LABEL = "label"


def _read_csv(path: Path, names: list[str] | None = None, **kw) -> pd.DataFrame:
    """Return ``pd.read_csv(path)`` after checking every row has as many fields as ``names`` or the header.

    pandas would shift columns under an extra field and pad short rows with NaN; this refuses
    both, and empty files, with the file and line named.
    """
    inputs.check_field_counts(path, len(names) if names else None, header=names is None)
    if names:
        kw |= {"header": None, "names": names}
    return pd.read_csv(path, **kw)


def _with_source(df: pd.DataFrame, fetched: Fetched) -> pd.DataFrame:
    df.attrs["data_source"] = fetched.data_source
    return df


def load_census_adult(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return the official ``adult.data`` in the course layout (named columns, 32,561 x 15).

    Values are read with ``skipinitialspace=True``; ``df.attrs["data_source"]`` says where the
    bytes came from. ``fetch_kw`` go to :func:`fetch`.

    Introduced in c2w1_lab_tfdv_census.
    """
    fetched = fetched or fetch("census_adult", ["adult.data"], **fetch_kw)
    df = _read_csv(fetched.path("adult.data"), CENSUS_COLUMNS, skipinitialspace=True)
    return _with_source(df, fetched)


def load_census_adult_test(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return the official ``adult.test`` with the columns and labels of ``adult.data`` (16,281 x 15).

    The file opens with a ``|1x3 Cross validator`` line and ends its labels with a period
    (``<=50K.``); both are dropped so the two files share one vocabulary. (That first line is why
    the field-count check of the other loaders does not apply here.)

    Introduced in c2x_lab_advanced_labeling.
    """
    fetched = fetched or fetch("census_adult", ["adult.test"], **fetch_kw)
    df = pd.read_csv(
        fetched.path("adult.test"), header=None, names=CENSUS_COLUMNS, skipinitialspace=True, skiprows=1
    )
    df["label"] = df["label"].str.rstrip(".")
    return _with_source(df, fetched)


def write_census_course_csv(path_out: str | os.PathLike, fetched: Fetched | None = None, **fetch_kw) -> Path:
    """Return the path of the course's census CSV written: a header line, then the official ``adult.data``.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    fetched = fetched or fetch("census_adult", ["adult.data"], **fetch_kw)
    out = Path(path_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fout, fetched.path("adult.data").open("rb") as fin:
        fout.write((",".join(CENSUS_COLUMNS) + "\n").encode())
        shutil.copyfileobj(fin, fout, CHUNK)
    return out


def load_diabetes(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return ``diabetic_data.csv``: ``?`` is missing, the string ``None`` stays a category.

    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w1_assignment_validation_diabetes.
    """
    fetched = fetched or fetch("diabetes_130us", ["diabetic_data.csv"], **fetch_kw)
    df = _read_csv(
        fetched.path("diabetic_data.csv"),
        na_values=["?"],
        keep_default_na=False,
        low_memory=False,
    )
    return _with_source(df, fetched)


def load_breast_cancer(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return ``wdbc.data`` in the course's (Kaggle) layout: id, diagnosis, 30 named features.

    Feature names follow the course file (``radius_mean`` … ``fractal_dimension_worst``, with
    ``concave points_mean`` spelled with a space); it has no empty ``Unnamed: 32`` column.
    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    fetched = fetched or fetch("breast_cancer", ["wdbc.data"], **fetch_kw)
    df = _read_csv(fetched.path("wdbc.data"), BREAST_CANCER_COLUMNS)
    return _with_source(df, fetched)


def load_metro_traffic(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return the UCI traffic file plus the course's month, day, day_of_week (Mon=0), hour.

    The holiday value ``None`` stays a string. ``df.attrs["data_source"]`` says where the bytes
    came from.

    Introduced in c2w2_assignment_transform_traffic.
    """
    name = "Metro_Interstate_Traffic_Volume.csv"
    fetched = fetched or fetch("metro_traffic", [name], **fetch_kw)
    df = _read_csv(fetched.path(name), keep_default_na=False)
    stamp = pd.to_datetime(df["date_time"])
    df["month"] = stamp.dt.month.astype("int64")
    df["day"] = stamp.dt.day.astype("int64")
    df["day_of_week"] = stamp.dt.dayofweek.astype("int64")
    df["hour"] = stamp.dt.hour.astype("int64")
    return _with_source(df, fetched)


def load_chicago_taxi(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Return the TFX Chicago taxi sample (15,002 trips x 18 columns, empty cells as NaN).

    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w3_lab_ml_metadata.
    """
    fetched = fetched or fetch("chicago_taxi", ["data.csv"], **fetch_kw)
    return _with_source(_read_csv(fetched.path("data.csv")), fetched)


def load_covertype(fetched: Fetched | None = None, *, allow_subset: bool = True, **fetch_kw) -> pd.DataFrame:
    """Return Covertype in the course layout: the full 581k-row file, else the mirror subset.

    ``df.attrs["data_source"]`` is ``mirror-subset`` when only the 351,885-row subset could be
    had (set ``allow_subset=False`` to require the full file).

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    fetched = fetched or fetch_best(
        "covertype",
        ["dataset.csv"],
        ["covertype_course_format_subset.csv.gz"],
        allow_subset=allow_subset,
        **fetch_kw,
    )
    return _with_source(_read_csv(fetched.path()), fetched)
