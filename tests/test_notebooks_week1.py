"""Week-1 labs in quick mode through the runner: their results.json must state the lesson."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from helpers import results_fixture

pytestmark = pytest.mark.notebook

CENSUS = "c2w1_lab_tfdv_census"
DIABETES = "c2w1_assignment_validation_diabetes"
UNEXPECTED = ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
MISSING_LABEL = {"readmitted": ["SCHEMA_MISSING_COLUMN"]}


census = results_fixture(CENSUS)
diabetes = results_fixture(DIABETES)


def test_census_split_is_the_whole_file_80_20(census):
    sizes = census["split_sizes"]
    assert set(sizes) == {"train", "eval"}
    assert sizes["train"] + sizes["eval"] == 32_561 == census["rows"]
    assert sizes["train"] / 32_561 == pytest.approx(0.8, abs=1e-3)


def test_census_anomalies_clear_after_curation(census):
    anomalies = census["anomalies"]
    assert set(anomalies["after_cleaning"]) == {"native-country", "occupation", "race"}
    assert all(kinds == UNEXPECTED for kinds in anomalies["after_cleaning"].values())
    assert anomalies["after_curation"] == {}
    assert "age" in anomalies["uncleaned_eval_vs_curated_schema"]


def test_census_slices_are_named_by_sex_and_add_up(census):
    slices = census["slices"]
    assert set(slices) == {"All Examples", "sex_Male", "sex_Female"}
    total = slices["All Examples"]
    assert slices["sex_Male"] + slices["sex_Female"] == total == census["split_sizes"]["train"]


def test_diabetes_split_is_contiguous_70_15_15_of_all_rows(diabetes):
    sizes = diabetes["split_sizes"]
    assert sum(sizes.values()) == diabetes["rows"] == 101_766  # quick mode keeps every row
    assert sizes["train"] == int(0.7 * diabetes["rows"])
    assert sizes["eval"] == (diabetes["rows"] - sizes["train"]) // 2
    assert abs(sizes["eval"] - sizes["serving"]) <= 1
    assert diabetes["quick_changes"], "quick mode must say what it changed"
    assert diabetes["excluded_features"] == ["encounter_id", "patient_nbr"]
    ranges = diabetes["encounter_id_ranges"]  # contiguous blocks of a file in encounter order
    assert ranges["train"][1] < ranges["eval"][0] <= ranges["eval"][1] < ranges["serving"][0]


def test_diabetes_every_exercise_passes_in_the_solved_notebook(diabetes):
    assert diabetes["exercises"] == {str(n): "passed" for n in range(1, 13)}


def test_diabetes_schema_facts(diabetes):
    schema = diabetes["schema"]
    assert schema["features"] == diabetes["approved_features"] == 48
    assert schema["strings_without_domain"] == ["diag_1", "diag_2", "diag_3"]
    assert {"race", "weight", "payer_code", "medical_specialty"} <= set(schema["optional"])
    assert "glimepiride-pioglitazone" in schema["single_valued_in_train"]


def test_diabetes_anomalies_clear_stage_by_stage(diabetes):
    stages = diabetes["anomalies"]
    assert stages["eval"] == {"medical_specialty": UNEXPECTED, "glimepiride-pioglitazone": UNEXPECTED}
    assert stages["eval_after_domain_fixes"] == {}
    value_features = {"payer_code", "medical_specialty", "metformin-rosiglitazone", "metformin-pioglitazone"}
    assert stages["serving"] == {**MISSING_LABEL, **{f: UNEXPECTED for f in value_features}}
    assert stages["serving_after_min_domain_mass"] == {
        **MISSING_LABEL,
        "metformin-rosiglitazone": UNEXPECTED,
        "metformin-pioglitazone": UNEXPECTED,
    }
    assert stages["serving_after_shared_domain"] == MISSING_LABEL
    assert stages["serving_in_serving_environment"] == {}
    assert stages["serving_without_environment"] == MISSING_LABEL


def test_diabetes_pandas_finds_the_values_tfdv_reports(diabetes):
    unexpected = diabetes["unexpected_values"]
    stages = diabetes["anomalies"]
    assert set(unexpected["eval"]) == set(stages["eval"])
    assert set(unexpected["serving"]) == {f for f, k in stages["serving"].items() if k == UNEXPECTED}


def test_diabetes_relaxed_features_keep_most_serving_values_in_domain(diabetes):
    mass = diabetes["min_domain_mass"]
    assert mass["features"] == ["payer_code", "medical_specialty"] and mass["value"] == 0.9
    assert all(0.9 <= share < 1 for share in mass["serving_share_in_domain"].values())


def test_diabetes_drug_columns_share_one_domain(diabetes):
    shared = diabetes["shared_domain"]
    assert shared["name"] == "metformin"
    assert set(shared["values"]) == {"Down", "No", "Steady", "Up"}
    assert len(shared["features"]) == 22 and "chlorpropamide" in shared["features"]
    assert diabetes["environments"] == {
        "default": ["TRAINING", "SERVING"],
        "not_in_environment": {"readmitted": ["SERVING"]},
    }


def test_diabetes_comparators_fire_at_003_and_clear_at_the_courses_0035(diabetes):
    comparators = diabetes["comparators"]
    assert comparators["initial_threshold"] == 0.03 and comparators["accepted_shift"] == 0.035  # the course's
    measured = {(m["feature"], m["comparator"]): m for m in comparators["measured"]}
    assert set(measured) == {("diabetesMed", "skew"), ("payer_code", "drift")}
    for m in measured.values():
        assert m["measure"] == "L_INFTY"
        assert m["threshold"] == 0.03 < m["value"] and m["exceeded"]
    for check in comparators["pandas_check"]:
        assert check["pandas"] == pytest.approx(check["tfdv"], abs=1e-6)
        assert check["train_halves_noise"] < check["tfdv"]
    relaxed = {(m["feature"], m["comparator"]): m for m in comparators["relaxed"]}
    assert set(relaxed) == set(measured)
    for key, m in relaxed.items():
        assert m["threshold"] == 0.035 and m["value"] == pytest.approx(measured[key]["value"])
        assert m["value"] < 0.035 and not m["exceeded"]
    assert diabetes["anomalies"]["comparators_at_initial_threshold"] == {
        "diabetesMed": ["COMPARATOR_L_INFTY_HIGH"],
        "payer_code": ["COMPARATOR_L_INFTY_HIGH"],
    }
    assert diabetes["anomalies"]["comparators_at_accepted_shift"] == {}


def test_diabetes_slices_are_specialties_and_add_up(diabetes):
    slices = diabetes["slices"]
    sizes = slices["sizes"]
    assert slices["feature"] == "medical_specialty"
    assert slices["count"] == len(sizes) > 1
    assert all(name.startswith("medical_specialty_") for name in sizes)
    assert set(slices["compared"]) <= set(sizes)
    assert sum(sizes.values()) <= slices["rows"] <= diabetes["split_sizes"]["train"]


def test_diabetes_frozen_schema_reloads_with_environments(diabetes):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    frozen = diabetes["frozen_schema"]
    path = Path(frozen["path"])
    assert frozen["round_trip"] is True and path.name == "schema.pbtxt" and path.is_file()
    schema = text_format.Parse(path.read_text(), schema_pb2.Schema())
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    label = next(f for f in schema.feature if f.name == "readmitted")
    assert list(label.not_in_environment) == ["SERVING"]
    assert len(schema.feature) == 48


# --- lesson facts recomputed with pandas from the data, independently of the notebooks' code ----


def test_census_slice_sizes_are_the_sexes_of_the_first_80_percent(census):
    from labs_utils import datasets

    df = datasets.load_census_adult()
    assert len(df) == census["rows"]
    train = df.iloc[: len(df) - math.ceil(0.2 * len(df))]  # ordered split, eval rounded up
    counts = train["sex"].value_counts()
    assert census["slices"] == {
        "All Examples": len(train),
        "sex_Male": int(counts["Male"]),
        "sex_Female": int(counts["Female"]),
    }


def test_diabetes_comparator_distances_are_the_largest_share_changes(diabetes):
    from labs_utils import datasets

    df = datasets.load_diabetes()
    train_len = int(0.7 * len(df))
    eval_len = (len(df) - train_len) // 2
    train, evaluation = df.iloc[:train_len], df.iloc[train_len : train_len + eval_len]
    serving = df.iloc[train_len + eval_len :]
    pairs = {("diabetesMed", "skew"): serving, ("payer_code", "drift"): evaluation}
    for m in diabetes["comparators"]["measured"]:
        other = pairs[(m["feature"], m["comparator"])]
        shares = pd.concat(
            [
                train[m["feature"]].value_counts(normalize=True),
                other[m["feature"]].value_counts(normalize=True),
            ],
            axis=1,
        ).fillna(0.0)
        largest = float((shares.iloc[:, 0] - shares.iloc[:, 1]).abs().max())
        assert m["value"] == pytest.approx(largest, abs=1e-6), (m["feature"], m["comparator"])
        assert m["exceeded"] == (largest > m["threshold"])


def test_diabetes_optional_features_are_the_ones_missing_in_train(diabetes):
    from labs_utils import datasets

    df = datasets.load_diabetes()
    train = df.iloc[: int(0.7 * len(df))].drop(columns=["encounter_id", "patient_nbr"])
    # TFDV marks a feature optional (min_fraction < 1) exactly when some training rows lack it
    assert diabetes["schema"]["optional"] == sorted(c for c in train.columns if train[c].isna().any())
