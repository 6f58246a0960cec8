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
    ids = mlmd_lab["dataset_type_ids"]  # registering an existing type again returns its id
    assert ids["registered"] == ids["registered_again"] > 0
    execution = mlmd_lab["execution"]
    assert execution["events"] == ["DECLARED_INPUT", "DECLARED_OUTPUT"]
    assert execution["state_property"] == "COMPLETED" and execution["last_known_state"] == "COMPLETE"
    assert execution["ids"]["put"] == execution["ids"]["after_update"] > 0
    assert execution["executions_in_store"] == 1  # put_executions with an id updates, it adds nothing


def test_mlmd_lab_context_and_lineage(mlmd_lab):
    assert mlmd_lab["context"] == {"name": "Demo", "artifacts": ["Schema"], "executions": ["Data Validation"]}
    lineage = mlmd_lab["lineage"]
    assert lineage["schema_traced_to"] == ["DataSet"]
    traced = Path(lineage["traced_uri"])
    assert traced == Path(mlmd_lab["data_file"]) and traced.name == "data.csv"
    taxi = pd.read_csv(traced)  # the traced artifact is the very table the lab read
    assert taxi.shape == (mlmd_lab["rows"], mlmd_lab["columns"])


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
    assert mlmd["validator_schema_age_domain"] == [17, 90]
    assert mlmd["inferred_schema_consumers"] == 0


# --- facts recomputed from the data and the runs' split files, independently of the notebooks ---


def _example_gen_splits(lab_run, name: str) -> dict[str, pd.DataFrame]:
    """Return a lab run's ExampleGen train and eval records, read from its split files."""
    lab_dir = lab_run(name).notebook.parent
    return {
        s: pd.DataFrame(read_example_rows(split_files(lab_dir, "CsvExampleGen", s)))
        for s in ("train", "eval")
    }


def _only_file(lab_dir: Path, pattern: str) -> Path:
    """Return the one file below a lab run's folder that matches a glob pattern."""
    found = sorted(lab_dir.rglob(pattern))
    assert len(found) == 1, f"expected one {pattern} under {lab_dir}: {found}"
    return found[0]


@pytest.mark.parametrize("name", [TRANSFORM, ITERATIVE])
def test_example_gen_splits_hold_the_rows_and_share_no_record(lab_run, name):
    results = passed_results(lab_run(name))
    split = _example_gen_splits(lab_run, name)
    assert {s: len(frame) for s, frame in split.items()} == results["split_sizes"]
    # a hash bucket takes whole records, so a record (duplicates included) lands in one split only
    keys = {s: set(map(tuple, frame.astype(str)[sorted(frame)].to_numpy())) for s, frame in split.items()}
    assert not keys["train"] & keys["eval"]


@pytest.mark.parametrize("name", [TRANSFORM, ITERATIVE])
def test_schema_gen_domains_recomputed_from_the_example_gen_splits(lab_run, name):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    passed_results(lab_run(name))
    lab_dir = lab_run(name).notebook.parent
    path = _only_file(lab_dir, "SchemaGen/schema/*/schema.pbtxt")
    schema = text_format.Parse(path.read_text(), schema_pb2.Schema())
    domains = {d.name: set(d.value) for d in schema.string_domain}
    domain_of = {f.name: f.domain for f in schema.feature}
    split = _example_gen_splits(lab_run, name)
    for feature in [*CATEGORICAL, datasets.CENSUS_LABEL]:
        seen = set(split["train"][feature]) | set(split["eval"][feature])
        assert domains[domain_of[feature]] == seen, feature  # SchemaGen learned from both splits
        assert all(value.startswith(" ") for value in seen), feature  # ExampleGen keeps the raw text


def test_iterative_lab_one_split_categories_recomputed_from_the_splits(lab_run, iterative_lab):
    split = _example_gen_splits(lab_run, ITERATIVE)
    for learned_from, validated in (("train", "eval"), ("eval", "train")):
        only = {}
        for feature in [*CATEGORICAL, datasets.CENSUS_LABEL]:
            values = set(split[validated][feature]) - set(split[learned_from][feature])
            if values:
                only[feature] = sorted(values)
        assert iterative_lab["one_split_schemas"][learned_from]["only_in_validated"] == only, learned_from


def test_iterative_lab_store_on_disk_shows_the_validator_read_the_imported_schema(lab_run, iterative_lab):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from labs_utils import metadata

    lab_dir = lab_run(ITERATIVE).notebook.parent
    path = _only_file(lab_dir, "metadata.sqlite")
    store = metadata.open_store(path)
    [anomalies] = store.get_artifacts_by_type("ExampleAnomalies")
    validator = metadata.producer_execution(store, anomalies)
    inputs = metadata.execution_inputs(store, validator)
    assert sorted(inputs) == ["schema", "statistics"] and all(len(group) == 1 for group in inputs.values())
    [schema_artifact] = inputs["schema"]
    importer = metadata.producer_execution(store, schema_artifact)
    assert metadata.type_name(store, importer) == "ImportSchemaGen"
    schema_file = Path(metadata.property_value(importer, "schema_file"))
    assert schema_file == Path(iterative_lab["curated_schema"]["path"])
    used = text_format.Parse((Path(schema_artifact.uri) / "schema.pbtxt").read_text(), schema_pb2.Schema())
    age = next(f for f in used.feature if f.name == "age")
    assert (age.int_domain.min, age.int_domain.max) == (17, 90)
    [inferred] = [a for a in store.get_artifacts_by_type("Schema") if a.id != schema_artifact.id]
    assert metadata.type_name(store, metadata.producer_execution(store, inferred)) == "SchemaGen"
    assert metadata.consumer_executions(store, inferred) == []


def test_transform_lab_graph_on_disk_reproduces_transforms_train_records(lab_run, transform_lab):
    import numpy as np
    import tensorflow as tf
    import tensorflow_transform as tft

    lab_dir = lab_run(TRANSFORM).notebook.parent
    graph = _only_file(lab_dir, "Transform/transform_graph/*/transform_fn/saved_model.pb").parents[1]
    output = tft.TFTransformOutput(str(graph))
    raw_files = split_files(lab_dir, "CsvExampleGen", "train")
    compression = "GZIP" if raw_files[0].suffix == ".gz" else ""
    records = tf.data.TFRecordDataset([str(f) for f in raw_files], compression_type=compression)
    raw = tf.io.parse_example(
        records.batch(transform_lab["split_sizes"]["train"]).get_single_element(), output.raw_feature_spec()
    )
    by_graph = {k: v.numpy().ravel() for k, v in output.transform_raw_features(raw).items()}
    written = pd.DataFrame(read_example_rows(split_files(lab_dir, "Transform", "train")))
    assert set(by_graph) == set(written) == set(transform_lab["transformed_types"])
    assert len(written) == transform_lab["split_sizes"]["train"]
    for name, values in by_graph.items():  # sorted per feature: Beam may write records in any order
        assert np.array_equal(np.sort(values), np.sort(written[name].to_numpy())), name


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
