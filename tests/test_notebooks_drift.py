"""The drift-and-skew lab in quick mode through the runner; lesson facts rechecked from the raw data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import results_fixture

from labs_utils import datasets

pytestmark = pytest.mark.notebook

LAB = "c2x_lab_drift_and_skew"
REPO_ROOT = Path(__file__).resolve().parents[1]
REAL_SOURCES = {"official", "mirror", "mirror-subset"}


drift_lab = results_fixture(LAB)


@pytest.fixture(scope="module")
def traffic() -> pd.DataFrame:
    """The raw traffic file read with plain pandas, not through the lab's loader."""
    name = "Metro_Interstate_Traffic_Volume.csv"
    path = datasets.fetch("metro_traffic", [name]).path(name)
    df = pd.read_csv(path, keep_default_na=False, parse_dates=["date_time"])
    df["quarter"] = df["date_time"].dt.to_period("Q").astype(str)
    return df


def test_results_name_the_lab_mode_sources_and_the_synthetic_part(drift_lab):
    assert drift_lab["data_source"] in REAL_SOURCES
    assert set(drift_lab["data_sources"]) == {"metro_traffic", "census_adult"}
    assert drift_lab["quick_changes"], "quick mode must say what it changed"
    assert list(drift_lab["synthetic"]) == ["concept_shift_labels"]
    assert drift_lab["shift"]["concept_relabel"] == "synthetic"


def test_windows_are_the_quarters_with_rows_and_the_gap_has_none(drift_lab, traffic):
    quarters = sorted(traffic["quarter"].unique())
    assert drift_lab["traffic_drift"]["windows"] == quarters
    assert "2014Q4" not in quarters and "2015Q1" not in quarters
    sizes = {r["window"]: r["n"] for r in drift_lab["traffic_drift"]["table"]}
    assert sizes == traffic["quarter"].value_counts().drop("2013Q2").to_dict()


def test_stuck_rain_sensor_windows_recomputed_from_raw_data(drift_lab, traffic):
    # quarters in which rain_1h never changes, found with pandas alone
    constant = sorted(q for q, g in traffic.groupby("quarter") if g["rain_1h"].nunique() == 1)
    assert constant == drift_lab["traffic_drift"]["rain_constant_windows"]
    assert {"2017Q1", "2017Q2", "2017Q3", "2017Q4", "2018Q1", "2018Q2"} <= set(constant)
    rain = {r["window"]: r for r in drift_lab["traffic_drift"]["table"] if r["feature"] == "rain_1h"}
    for quarter in constant:
        assert rain[quarter]["distance"] == pytest.approx(1.0) and rain[quarter]["drifted"]


def test_weather_main_distances_recomputed_from_raw_data(drift_lab, traffic):
    """Each quarter's L-infinity distance of weather_main, from value shares counted with pandas."""
    reference_window = drift_lab["traffic_drift"]["reference_window"]
    shares = traffic.groupby("quarter")["weather_main"].value_counts(normalize=True)
    reference = shares[reference_window]
    rows = [r for r in drift_lab["traffic_drift"]["table"] if r["feature"] == "weather_main"]
    assert len(rows) == len(drift_lab["traffic_drift"]["windows"]) - 1  # every window but the reference
    for row in rows:
        expected = shares[row["window"]].sub(reference, fill_value=0).abs().max()
        assert row["distance"] == pytest.approx(expected, abs=1e-9), row["window"]  # JSON keeps 10 digits


def test_winter_quarters_drift_in_temperature(drift_lab, traffic):
    winters = sorted(q for q in traffic["quarter"].unique() if q.endswith("Q1"))
    assert drift_lab["traffic_drift"]["winter_quarters"] == winters
    temp = {r["window"]: r for r in drift_lab["traffic_drift"]["table"] if r["feature"] == "temp"}
    spring = traffic.loc[traffic["quarter"] == "2013Q2", "temp"].mean()
    for quarter in winters:
        assert temp[quarter]["drifted"]
        assert traffic.loc[traffic["quarter"] == quarter, "temp"].mean() < spring - 10  # Kelvin


def test_null_thresholds_shrink_with_sample_size(drift_lab):
    for feature in ("weather_main", "temp"):
        table = drift_lab["null_thresholds"][feature]
        sizes = sorted(table, key=int)
        thresholds = [table[n]["threshold"] for n in sizes]
        assert thresholds == sorted(thresholds, reverse=True)
        assert table[sizes[0]]["false_alarm_rate_at_0.03"] > 0.5
        assert table[sizes[-1]]["false_alarm_rate_at_0.03"] < drift_lab["settings"]["false_alarm_rate"]


def test_each_kind_fires_where_it_should_and_stays_silent_elsewhere(drift_lab):
    skew = drift_lab["distribution_skew"]
    assert {"age", "marital-status", "relationship"} <= set(skew["biased_fires"])
    assert skew["random_fires"] == []
    schema = drift_lab["schema_skew"]
    assert set(schema["anomalies"]) == {"age", "hours-per-week", "workclass"}
    assert schema["unchanged_in_serving_env"] == {}
    assert schema["hours_per_week_js"] < drift_lab["settings"]["course_threshold"]
    feature = drift_lab["feature_skew"]
    assert {r["feature"] for r in feature["pandas_path"] if r["exceeded"]} == {
        "clouds_xf",
        "temp_xf",
        "weather_xf",
    }
    assert all(r["value"] == 0 for r in feature["graph_path"])
    assert set(feature["graph_max_abs_difference"].values()) == {0.0}
    batches = {b["batch"]: b for b in drift_lab["shift"]["batches"]}
    covariate = batches["covariate shift (winter rows)"]
    concept = batches["concept shift (synthetic relabel)"]
    assert covariate["inputs_fire"] and not covariate["fires"]
    assert concept["inputs_fire"] == [] and concept["fires"]


def test_biased_sample_is_younger_than_the_population(drift_lab):
    census = datasets.load_census_adult()
    rows = {r["feature"]: r for r in drift_lab["distribution_skew"]["table"]}
    assert rows["age"]["biased"] > rows["age"]["threshold"] > rows["age"]["random"]
    assert (census["age"] < 30).mean() < 0.35  # the population the 4x weight over-samples from
