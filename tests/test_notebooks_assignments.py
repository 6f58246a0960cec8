"""Week-2 and week-3 assignments in quick mode through the runner: results.json must state the lesson.

The traffic lab writes its Transform module file at run time; the module test below loads that very
file from the quick run's output and unit-tests its ``preprocessing_fn`` again, outside the notebook.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import read_example_rows, results_fixture, split_files

pytestmark = pytest.mark.notebook

TRAFFIC = "c2w2_assignment_transform_traffic"
COVERTYPE = "c2w3_assignment_pipeline_covertype"
TEXT_FEATURES = ["holiday", "weather_main", "weather_description"]
PASS_THROUGH = ["hour", "day", "day_of_week", "month"]
FLOAT_OUTPUTS = {"temp_xf", "snow_1h_xf", "clouds_all_xf"}
TRAFFIC_OUTPUTS = sorted(
    f"{k}_xf"
    for k in ["temp", "snow_1h", "clouds_all", "rain_1h", "traffic_volume", *TEXT_FEATURES, *PASS_THROUGH]
)
DROPPED = ["Aspect", "Hillshade_3pm"]
MINMAX_01 = [
    "Horizontal_Distance_To_Hydrology",
    "Vertical_Distance_To_Hydrology",
    "Hillshade_9am",
    "Hillshade_Noon",
    "Horizontal_Distance_To_Fire_Points",
]
Z_SCORE = ["Elevation", "Slope", "Horizontal_Distance_To_Roadways"]


traffic = results_fixture(TRAFFIC)
covertype = results_fixture(COVERTYPE)


def _assert_hash_split(sizes: dict, rows: int) -> None:
    assert set(sizes) == {"train", "eval"} and all(n > 0 for n in sizes.values())
    assert sum(sizes.values()) == rows
    assert sizes["train"] / rows == pytest.approx(2 / 3, abs=0.03)


# --- c2w2 traffic ---------------------------------------------------------------------------------


def test_traffic_quick_sample_is_split_two_to_one_with_every_holiday(traffic):
    assert traffic["rows"] == 8_000
    _assert_hash_split(traffic["split_sizes"], traffic["rows"])
    assert len(traffic["holiday_domain"]) == 12 and "None" in traffic["holiday_domain"]


def test_traffic_schema_types(traffic):
    types = traffic["schema_types"]
    assert {f for f, t in types.items() if t == "BYTES"} == {"date_time", *TEXT_FEATURES}
    assert {f for f, t in types.items() if t == "FLOAT"} == {"rain_1h", "snow_1h", "temp"}
    assert {f for f, t in types.items() if t == "INT"} == {"clouds_all", "traffic_volume", *PASS_THROUGH}


def test_traffic_schema_from_both_splits_leaves_no_anomalies_and_oov_ids_for_eval(traffic):
    assert traffic["anomalies"] == {"train": {}, "eval": {}}
    for feature in TEXT_FEATURES:
        unseen = traffic["eval_values_not_in_train"][feature]
        oov_ids = traffic["eval_oov_ids"][feature]
        # OOV ids go exactly to the eval rows whose string the train vocabulary lacks
        assert (oov_ids > 0) == bool(unseen), feature


@pytest.fixture(scope="module")
def traffic_splits(lab_run, traffic) -> dict[str, dict[str, pd.DataFrame]]:
    """The traffic run's ExampleGen and Transform split files, read back as DataFrames."""
    lab_dir = lab_run(TRAFFIC).notebook.parent
    return {
        component: {
            split: pd.DataFrame(read_example_rows(split_files(lab_dir, component, split)))
            for split in ("train", "eval")
        }
        for component in ("CsvExampleGen", "Transform")
    }


def test_traffic_label_threshold_and_oov_ids_recomputed_from_the_split_files(traffic, traffic_splits):
    raw, transformed = traffic_splits["CsvExampleGen"], traffic_splits["Transform"]
    assert {s: len(f) for s, f in raw.items()} == traffic["split_sizes"]
    mean = raw["train"]["traffic_volume"].mean()  # the label: busier than the train mean
    assert traffic["label"]["mean_threshold"] == pytest.approx(mean)
    for split in ("train", "eval"):
        assert len(transformed[split]) == len(raw[split])
        assert transformed[split]["traffic_volume_xf"].sum() == (raw[split]["traffic_volume"] > mean).sum()
    assert traffic["label"]["train_share_above"] == pytest.approx(
        (raw["train"]["traffic_volume"] > mean).mean()
    )
    for feature in TEXT_FEATURES:
        unseen = set(raw["eval"][feature]) - set(raw["train"][feature])
        assert set(traffic["eval_values_not_in_train"][feature]) == unseen, feature
        assert traffic["eval_oov_ids"][feature] == raw["eval"][feature].isin(unseen).sum(), feature


def test_traffic_transformed_schema(traffic):
    types = traffic["transformed_types"]
    assert sorted(types) == TRAFFIC_OUTPUTS
    assert {k for k, t in types.items() if t == "FLOAT"} == FLOAT_OUTPUTS
    assert traffic["categorical_outputs"] == sorted(f"{k}_xf" for k in ["rain_1h", *TEXT_FEATURES])
    assert traffic["vocabulary_sizes"] == traffic["train_distinct_values"]


def test_traffic_first_transformed_records_obey_the_rules(traffic):
    records = traffic["first_transformed_records"]
    assert len(records) == 3
    for record in records:
        assert sorted(record) == TRAFFIC_OUTPUTS
        assert record["traffic_volume_xf"] in {0, 1} and record["rain_1h_xf"] == 2
        assert 0.0 <= record["clouds_all_xf"] <= 1.0
        for key, size in traffic["vocabulary_sizes"].items():
            assert 0 <= record[f"{key}_xf"] < size + 10
    assert 0.3 < traffic["label"]["train_share_above"] < 0.7


def test_traffic_rain_buckets_collapse_to_bucket_two(traffic):
    rain = traffic["rain"]
    assert rain["dry_fraction"] > 2 / 3
    assert rain["pandas_edges"] == rain["probed_edges"] == [0.0, 0.0]
    assert rain["bucket_of_zero"] == 2
    assert rain["train_bucket_counts"] == {"2": traffic["split_sizes"]["train"]}


def test_traffic_notebook_unit_test_saw_the_degenerate_and_the_general_case(traffic):
    unit = traffic["unit_test"]
    one = unit["one_row"]
    assert sorted(one) == TRAFFIC_OUTPUTS
    assert one["temp_xf"] == one["snow_1h_xf"] == 0.0
    # min == max: TFT scales by sigmoid(x) instead of dividing by a zero range
    assert one["clouds_all_xf"] == pytest.approx(1 / (1 + np.exp(-unit["one_row_clouds_all"])), abs=1e-6)
    assert one["traffic_volume_xf"] == 0
    buckets = unit["rain_buckets"]  # the test rows' rain rises row by row
    assert sorted(set(buckets)) == [0, 1, 2] and buckets == sorted(buckets)


def _traffic_rows() -> pd.DataFrame:
    """Four hand-written hours, one per weather kind, volumes on both sides of their mean."""
    return pd.DataFrame(
        {
            "holiday": ["None", "Christmas Day", "None", "None"],
            "temp": [260.0, 270.0, 280.0, 290.0],
            "rain_1h": [0.0, 1.0, 2.0, 3.0],
            "snow_1h": [0.5, 0.0, 0.0, 0.0],
            "clouds_all": [10, 20, 30, 50],
            "weather_main": ["Snow", "Clear", "Clear", "Rain"],
            "weather_description": ["light snow", "sky is clear", "sky is clear", "light rain"],
            "date_time": [
                "2017-12-25 00:00:00",
                "2017-12-25 01:00:00",
                "2017-12-26 02:00:00",
                "2017-12-27 03:00:00",
            ],
            "traffic_volume": [100, 200, 900, 1000],
            "month": [12, 12, 12, 12],
            "day": [25, 25, 26, 27],
            "day_of_week": [0, 0, 1, 2],
            "hour": [0, 1, 2, 3],
        }
    )


def test_traffic_module_file_from_the_quick_run_passes_a_unit_test(traffic, tmp_path):
    """Load the module the quick run wrote and check it on one row and on four rows."""
    from labs_utils import pipeline, transform  # imports TensorFlow: only when this test runs

    fn = pipeline.load_preprocessing_fn(traffic["module_file"])
    schema = pipeline.read_schema_file(traffic["raw_schema_file"])
    rows = _traffic_rows()

    one = transform.transform_data(fn, rows.iloc[:1], schema=schema, output_dir=tmp_path / "one").transformed
    one = one["train"].iloc[0]
    assert sorted(one.index) == TRAFFIC_OUTPUTS
    assert one["temp_xf"] == 0.0 and one["traffic_volume_xf"] == 0
    # min == max: TFT scales by sigmoid(x) instead of dividing by a zero range
    assert one["clouds_all_xf"] == pytest.approx(1 / (1 + np.exp(-rows["clouds_all"][0])), abs=1e-6)

    out = transform.transform_data(fn, rows, schema=schema, output_dir=tmp_path / "rows").transformed["train"]
    assert sorted(out.columns) == TRAFFIC_OUTPUTS and len(out) == len(rows)
    assert {c for c in out.columns if out[c].dtype == np.float32} == FLOAT_OUTPUTS
    assert out["traffic_volume_xf"].tolist() == [0, 0, 1, 1]  # mean volume is 550
    temp = rows["temp"]
    np.testing.assert_allclose(out["temp_xf"], (temp - temp.mean()) / temp.std(ddof=0), atol=1e-5)
    np.testing.assert_allclose(out["clouds_all_xf"], [0.0, 0.25, 0.5, 1.0], atol=1e-6)
    assert out["weather_main_xf"][1] == out["weather_main_xf"][2] == 0  # "Clear" is the most frequent
    assert out["holiday_xf"][0] == out["holiday_xf"][2] == 0 != out["holiday_xf"][1]
    for key in PASS_THROUGH:
        assert out[f"{key}_xf"].tolist() == rows[key].tolist()


# --- c2w3 covertype -------------------------------------------------------------------------------


def test_covertype_selection_uses_every_row_and_drops_aspect_and_hillshade_3pm(covertype):
    selection = covertype["feature_selection"]
    assert selection["rows"] == covertype["rows_loaded"]
    assert selection["dropped"] == DROPPED and len(selection["selected"]) == 8
    scores = selection["f_scores"]
    assert max(scores[f] for f in DROPPED) < min(scores[f] for f in selection["selected"])
    if covertype["data_source"] == "mirror-subset":
        assert covertype["rows_loaded"] == 351_885


def test_covertype_quick_pipeline_runs_on_a_sample_holding_the_serving_values(covertype):
    sample = covertype["quick_sample"]
    assert covertype["rows"] == sample["rows"] + sample["added_rows_for_serving_values"]
    _assert_hash_split(covertype["split_sizes"], covertype["rows"])


def test_covertype_schema_is_curated_with_environments(covertype):
    schema = covertype["schema"]
    types = schema["types"]
    assert len(types) == 11
    assert sorted(f for f, t in types.items() if t == "BYTES") == ["Soil_Type", "Wilderness_Area"]
    assert sum(t == "INT" for t in types.values()) == 9 and types["Cover_Type"] == "INT"
    assert schema["wilderness_areas"] == ["Cache", "Commanche", "Neota", "Rawah"]
    assert covertype["soil_types"]["loaded"] == 40
    assert 0 < covertype["soil_types"]["schema"] <= 40
    assert schema["curated_domains"] == {
        "Hillshade_9am": [0, 255],
        "Hillshade_Noon": [0, 255],
        "Slope": [0, 90],
        "Cover_Type": [0, 6],
    }
    assert schema["environments"] == ["TRAINING", "SERVING"] and schema["label_not_in"] == ["SERVING"]
    assert covertype["label_stats_kind"] == {"inferred": "num_stats", "imported": "string_stats"}


def test_covertype_anomalies_at_each_stage(covertype):
    stages = covertype["anomalies"]
    assert stages["train_vs_inferred"] == stages["train_vs_imported"] == {}
    assert stages["eval_vs_inferred"] == stages["eval_vs_imported"] == {}  # SchemaGen read both splits
    assert stages["post_transform"] == {}
    new_columns = {f: ["SCHEMA_NEW_COLUMN"] for f in DROPPED}
    assert stages["serving_all_columns"] == {"Cover_Type": ["SCHEMA_MISSING_COLUMN"], **new_columns}
    assert stages["serving_selected"] == {"Cover_Type": ["SCHEMA_MISSING_COLUMN"]}
    assert stages["serving_selected_in_serving_environment"] == {}
    assert stages["serving_all_columns_in_serving_environment"] == new_columns


def test_covertype_transform_outputs(covertype):
    types = covertype["transformed_types"]
    selected = covertype["feature_selection"]["selected"]
    expected = [f"{k}_xf" for k in [*selected, "Wilderness_Area", "Soil_Type"]] + ["Cover_Type"]
    assert sorted(types) == sorted(expected)
    assert {k for k, t in types.items() if t == "INT"} == {"Wilderness_Area_xf", "Soil_Type_xf", "Cover_Type"}
    assert covertype["transformed_domains"] == {"Wilderness_Area_xf": [-1, 3, True]}
    ranges = covertype["transformed_train_ranges"]
    for key in MINMAX_01:
        assert ranges[f"{key}_xf"][0] == 0.0 and ranges[f"{key}_xf"][1] == pytest.approx(1.0, abs=1e-6)
    for key in Z_SCORE:
        assert ranges[f"{key}_xf"][0] < 0 < ranges[f"{key}_xf"][1]
    assert 0 <= ranges["Wilderness_Area_xf"][0] and ranges["Wilderness_Area_xf"][1] <= 3
    assert 0 <= ranges["Soil_Type_xf"][0] and ranges["Soil_Type_xf"][1] <= 9
    assert ranges["Cover_Type"] == [0.0, 6.0]
    assert all(sorted(record) == sorted(types) for record in covertype["first_transformed_records"])


def test_covertype_lineage_leads_to_examples_and_the_imported_schema(covertype):
    lineage = covertype["lineage"]
    assert lineage["transform_graph_parents"] == [
        {"type": "Examples", "producer": "CsvExampleGen"},
        {"type": "Schema", "producer": "ImportSchemaGen"},
    ]
    assert lineage["examples_parents"] == lineage["imported_schema_parents"] == 0
    assert {"CsvExampleGen", "ImportSchemaGen", "Transform"} <= set(covertype["component_seconds"])
    assert covertype["artifact_types"] == [
        "ExampleAnomalies", "ExampleStatistics", "Examples", "Schema", "TransformCache", "TransformGraph",
    ]  # fmt: skip
    outputs = covertype["transform_outputs"]
    assert outputs["transformed_examples"] == ["Examples", {"split_names": '["train", "eval"]'}]
    assert outputs["updated_analyzer_cache"] == ["TransformCache", {}]


def test_covertype_scaling_and_unseen_values_recomputed_from_the_split_files(lab_run, covertype):
    lab_dir = lab_run(COVERTYPE).notebook.parent
    raw = {
        s: pd.DataFrame(read_example_rows(split_files(lab_dir, "CsvExampleGen", s)))
        for s in ("train", "eval")
    }
    train_xf = pd.DataFrame(read_example_rows(split_files(lab_dir, "Transform", "train")))
    assert {s: len(frame) for s, frame in raw.items()} == covertype["split_sizes"]
    assert len(train_xf) == len(raw["train"])
    for key in Z_SCORE:  # z-scores with the train mean and (population) standard deviation
        values = raw["train"][key].astype(float)
        expected = sorted((values - values.mean()) / values.std(ddof=0))
        np.testing.assert_allclose(sorted(train_xf[f"{key}_xf"]), expected, atol=1e-4, err_msg=key)
    for key in MINMAX_01:
        values = raw["train"][key].astype(float)
        expected = sorted((values - values.min()) / (values.max() - values.min()))
        np.testing.assert_allclose(sorted(train_xf[f"{key}_xf"]), expected, atol=1e-5, err_msg=key)
    for feature in ("Wilderness_Area", "Soil_Type"):
        unseen = set(raw["eval"][feature]) - set(raw["train"][feature])
        assert set(covertype["unseen_in_train"].get(feature, [])) == unseen, feature
