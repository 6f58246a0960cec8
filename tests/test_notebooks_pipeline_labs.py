"""Pipeline and metadata labs in quick mode through the runner: their results.json must state the lesson."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import TFX_TRANSFORM_OUTPUTS, passed_results, read_example_rows, results_fixture, split_files

from labs_utils import datasets

pytestmark = pytest.mark.notebook

TRANSFORM = "c2w2_lab_transform_pipeline_census"
MLMD = "c2w3_lab_ml_metadata"
ITERATIVE = "c2w3_lab_iterative_schema"
UNEXPECTED = ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]
CENSUS_ROWS = 32_561
CATEGORICAL = datasets.CENSUS_CATEGORICAL_FEATURES
NUMERIC = datasets.CENSUS_NUMERIC_FEATURES
PIPELINE_TYPES = {"Examples", "ExampleStatistics", "Schema", "ExampleAnomalies"}


transform_lab = results_fixture(TRANSFORM)
mlmd_lab = results_fixture(MLMD)
iterative_lab = results_fixture(ITERATIVE)


def _assert_hash_split(results: dict) -> None:
    sizes = results["split_sizes"]
    assert list(sizes) == ["train", "eval"] and all(n > 0 for n in sizes.values())
    assert sum(sizes.values()) == results["rows"] < CENSUS_ROWS  # quick mode samples
    assert sizes["train"] / results["rows"] == pytest.approx(2 / 3, abs=0.03)


def _assert_no_anomalies(results: dict) -> None:
    """SchemaGen learned from both splits (TFX's way), so neither split has an anomaly."""
    assert results["anomalies"] == {"train": {}, "eval": {}}


# --- c2w2_lab_transform_pipeline_census ------------------------------------------------------


def test_transform_lab_splits_and_raw_schema(transform_lab):
    _assert_hash_split(transform_lab)
    assert transform_lab["split_names"] == ["train", "eval"]
    schema = transform_lab["schema"]
    assert len(schema["int_features"]) == 6 and "age" in schema["int_features"]
    assert sorted(schema["string_features"]) == sorted([*CATEGORICAL, "label"])
    assert schema["values_keep_leading_blank"] is True
    assert schema["domain_sizes"]["label"] == 2
    assert all(
        isinstance(v, str) and v.startswith(" ")
        for record in transform_lab["first_raw_records"]
        for k, v in record.items()
        if k in schema["string_features"]
    )


def test_transform_lab_has_no_anomalies(transform_lab):
    _assert_no_anomalies(transform_lab)


def test_transform_lab_outputs_types_and_vocabularies(transform_lab):
    assert transform_lab["transform_graph"] == ["metadata", "transform_fn", "transformed_metadata"]
    assert transform_lab["transform_outputs"] == TFX_TRANSFORM_OUTPUTS
    types = transform_lab["transformed_types"]
    assert set(types) == {f"{k}_xf" for k in [*NUMERIC, *CATEGORICAL, "age", "label"]}
    assert all(types[f"{k}_xf"] == "FLOAT" for k in NUMERIC)
    assert all(types[f"{k}_xf"] == "INT" for k in [*CATEGORICAL, "age", "label"])
    assert transform_lab["vocabulary_sizes"] == transform_lab["train_distinct_values"]
    assert transform_lab["vocabulary_sizes"]["label"] == 2
    for record in transform_lab["first_transformed_records"]:
        assert set(record) == set(types)
        assert record["age_xf"] in {0, 1, 2, 3}
        assert all(0.0 <= record[f"{k}_xf"] <= 1.0 for k in NUMERIC)


def test_transform_lab_age_buckets_partition_train(transform_lab):
    starts, counts = transform_lab["age_bucket_starts"], transform_lab["age_bucket_counts"]
    assert len(starts) == len(counts) == 4
    assert starts == sorted(set(starts)) and starts[0] >= 17
    assert sum(counts) == transform_lab["split_sizes"]["train"] and min(counts) > 0


def test_transform_lab_lineage(transform_lab):
    mlmd = transform_lab["mlmd"]
    assert set(mlmd["artifact_types"]) == PIPELINE_TYPES | {"TransformGraph", "TransformCache"}
    assert mlmd["transform_input_producers"] == {"examples": ["CsvExampleGen"], "schema": ["SchemaGen"]}


# --- c2w3_lab_ml_metadata ----------------------------------------------------------------------


def test_mlmd_lab_types_execution_and_events(mlmd_lab):
    assert mlmd_lab["rows"] == 15_002 and mlmd_lab["columns"] == 18  # quick mode reads the whole file
    assert mlmd_lab["types"] == {
        "artifact": ["DataSet", "Schema"],
        "context": ["Experiment"],
        "execution": ["Data Validation"],
    }
    assert mlmd_lab["type_reregistration_same_id"] is True
    execution = mlmd_lab["execution"]
    assert execution["events"] == ["DECLARED_INPUT", "DECLARED_OUTPUT"]
    assert execution["state_property"] == "COMPLETED" and execution["last_known_state"] == "COMPLETE"
    assert execution["id_unchanged_by_update"] is True and execution["executions_in_store"] == 1


def test_mlmd_lab_context_and_lineage(mlmd_lab):
    assert mlmd_lab["context"] == {"name": "Demo", "artifacts": ["Schema"], "executions": ["Data Validation"]}
    lineage = mlmd_lab["lineage"]
    assert lineage["schema_traced_to"] == ["DataSet"]
    assert lineage["traced_uri_is_dataset"] is True and lineage["traced_uri_name"] == "data.csv"


def test_mlmd_lab_schema_has_a_feature_per_column_and_gaps_are_optional(mlmd_lab):
    schema = mlmd_lab["schema"]
    assert schema["features"] == len(schema["types"]) == mlmd_lab["columns"]
    assert schema["optional"] == schema["columns_with_gaps"] and "company" in schema["optional"]
    assert schema["types"]["payment_type"] == "BYTES" and schema["types"]["trip_seconds"] == "INT"
    assert Path(schema["path"]).is_file() and Path(mlmd_lab["statistics_path"]).is_file()


# --- c2w3_lab_iterative_schema -----------------------------------------------------------------


def test_iterative_lab_curated_schema_is_on_disk(iterative_lab):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    _assert_hash_split(iterative_lab)
    curated = iterative_lab["curated_schema"]
    assert curated["age_domain"] == [17, 90]
    assert curated["default_environments"] == ["TRAINING", "SERVING"]
    assert curated["label_not_in_environment"] == ["SERVING"]
    path = Path(curated["path"])
    assert path.parent.name == "updated_schema" and path.name == "schema.pbtxt"
    schema = text_format.Parse(path.read_text(), schema_pb2.Schema())
    age = next(f for f in schema.feature if f.name == "age")
    assert (age.int_domain.min, age.int_domain.max) == (17, 90)


def test_iterative_lab_anomalies_and_environments(iterative_lab):
    _assert_no_anomalies(iterative_lab)
    serving = iterative_lab["serving_anomalies"]
    assert serving == {"TRAINING": {"label": ["SCHEMA_MISSING_COLUMN"]}, "SERVING": {}}
    one_split = iterative_lab["one_split_schemas"]
    for result in one_split.values():
        assert result["anomalies"] == {f: UNEXPECTED for f in result["only_in_validated"]}
    assert any(result["anomalies"] for result in one_split.values())


def test_iterative_lab_validator_read_the_imported_schema(iterative_lab):
    mlmd = iterative_lab["mlmd"]
    assert set(mlmd["artifact_types"]) == PIPELINE_TYPES  # no type without an artifact
    assert mlmd["schema_producers"] == ["ImportSchemaGen", "SchemaGen"]
    assert mlmd["validator_inputs"] == {"ExampleStatistics": "StatisticsGen", "Schema": "ImportSchemaGen"}
    assert mlmd["validator_schema_is_imported"] is True
    assert mlmd["validator_schema_age_domain"] == [17, 90]
    assert mlmd["inferred_schema_consumers"] == 0


# --- facts recomputed from the data and the runs' split files, independently of the notebooks ---


@pytest.mark.parametrize("name", [TRANSFORM, ITERATIVE])
def test_unseen_categories_recomputed_from_the_example_gen_splits(lab_run, name):
    results = passed_results(lab_run(name))
    lab_dir = lab_run(name).notebook.parent
    split = {
        s: pd.DataFrame(read_example_rows(split_files(lab_dir, "CsvExampleGen", s)))
        for s in ("train", "eval")
    }
    assert {s: len(frame) for s, frame in split.items()} == results["split_sizes"]
    unseen = {}
    for feature in CATEGORICAL:
        values = set(split["eval"][feature].dropna()) - set(split["train"][feature].dropna())
        if values:
            unseen[feature] = values
    assert {f: set(v) for f, v in results["unseen_in_train"].items()} == unseen


def test_transform_lab_age_buckets_recomputed_from_the_transformed_examples(lab_run, transform_lab):
    lab_dir = lab_run(TRANSFORM).notebook.parent
    train = pd.DataFrame(read_example_rows(split_files(lab_dir, "Transform", "train")))
    raw = pd.DataFrame(read_example_rows(split_files(lab_dir, "CsvExampleGen", "train")))
    counts = train["age_xf"].value_counts().sort_index()
    assert counts.index.tolist() == [0, 1, 2, 3]
    assert counts.tolist() == transform_lab["age_bucket_counts"]
    # each bucket starts at the youngest age in it, in order
    starts = [int(raw["age"][train["age_xf"] == b].min()) for b in range(4)]
    assert starts == transform_lab["age_bucket_starts"]


def test_mlmd_lab_rows_and_gaps_recomputed_with_pandas(mlmd_lab):
    frame = pd.read_csv(datasets.fetch("chicago_taxi", ["data.csv"]).path("data.csv"))
    assert (len(frame), frame.shape[1]) == (mlmd_lab["rows"], mlmd_lab["columns"])
    gaps = sorted(frame.columns[frame.isna().any()])
    assert sorted(mlmd_lab["schema"]["columns_with_gaps"]) == gaps
