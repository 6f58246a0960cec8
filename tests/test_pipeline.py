"""Tests for labs_utils.pipeline: the TFX components on small CSVs, checked against TFX's rules."""

from __future__ import annotations

import bisect
import csv
import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from google.protobuf.internal.encoder import _VarintBytes
from helpers import TFX_TRANSFORM_OUTPUTS
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from labs_utils import artifacts, example_gen, metadata, pipeline

N_ROWS = 300
RARE_VALUES = [f"r{i:02d}" for i in range(12)]
REFERENCE = Path(__file__).parent / "fixtures" / "tfx_reference"


def _frame() -> pd.DataFrame:
    """300 rows: ints, floats with blanks, text with leading blanks, rare categories, mixed types."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "id": np.arange(N_ROWS),
            "age": rng.integers(17, 91, N_ROWS),
            "score": rng.normal(10, 2, N_ROWS).round(3),
            "city": rng.choice([" Paris", " Rome", " Oslo"], N_ROWS),
            "rare": rng.choice(["common", "usual"], N_ROWS),
            "mixed": rng.integers(0, 5, N_ROWS).astype(object),
            "code": rng.integers(100, 104, N_ROWS).astype(object),
        }
    )
    frame.loc[::13, "score"] = np.nan
    # Each rare value occurs once, so some land only in eval: the unseen-category case.
    frame.loc[range(5, 5 + 20 * len(RARE_VALUES), 20), "rare"] = RARE_VALUES
    frame.loc[3, "mixed"] = 2.5  # one float makes the column FLOAT
    frame.loc[::10, "code"] = "x7"  # a word makes the column BYTES
    return frame


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory, frame) -> str:
    path = tmp_path_factory.mktemp("data") / "tiny.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _context(root: Path, name: str = "t") -> pipeline.InteractiveContext:
    return pipeline.InteractiveContext(root, pipeline_name=name)


@pytest.fixture(scope="module")
def run(tmp_path_factory, csv_path):
    """One pipeline run: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator."""
    context = _context(tmp_path_factory.mktemp("root"), "tiny")
    examples = context.run(pipeline.CsvExampleGen(input_base=csv_path)).outputs["examples"]
    statistics = context.run(pipeline.StatisticsGen(examples)).outputs["statistics"]
    schema = context.run(pipeline.SchemaGen(statistics)).outputs["schema"]
    anomalies = context.run(pipeline.ExampleValidator(statistics, schema)).outputs["anomalies"]
    return context, examples, statistics, schema, anomalies


def _ids(examples: pipeline.Artifact, split: str) -> list[int]:
    return [row["id"] for row in examples.read(split, n=None)]


# --- ExampleGen: the split rule, derived independently ----------------------------------------


def _tfx_feature(kind: str, cell: str) -> tf.train.Feature:
    """Build one feature the way TFX's CsvExampleGen handlers do (empty cell: no values)."""
    if kind == "INT":
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(cell)] if cell else []))
    if kind == "FLOAT":
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(cell)] if cell else []))
    if kind == "STRING":
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[cell.encode()] if cell else []))
    return tf.train.Feature()


def _column_kind(cells: list[str]) -> str:
    """tfx-bsl's column type: INT < FLOAT < STRING over the non-empty cells; none: UNKNOWN."""
    kinds = set()
    for cell in filter(None, cells):
        try:
            kinds.add("INT" if -(2**63) <= int(cell) < 2**63 else "STRING")
        except ValueError:
            try:
                float(cell)
                kinds.add("FLOAT")
            except ValueError:
                kinds.add("STRING")
    for kind in ("STRING", "FLOAT", "INT"):
        if kind in kinds:
            return kind
    return "UNKNOWN"


def _tfx_serialization(features: dict[str, tf.train.Feature]) -> bytes:
    """Serialize an Example with map entries in bytewise name order, built entry by entry.

    Each single-entry Features message has one serialization whatever the runtime; joined in
    sorted order they are what protobuf's C++ deterministic serializer (TFX's) writes.
    """
    entries = b"".join(
        tf.train.Features(feature={name: features[name]}).SerializeToString()
        for name in sorted(features, key=lambda n: n.encode())
    )
    return b"\x0a" + _VarintBytes(len(entries)) + entries


def _expected_splits(csv_file: Path, buckets: dict[str, int]) -> dict[str, set[int]]:
    """Assign each CSV row to a split by TFX's rule: SHA-256 of the record, mod buckets, bisect."""
    with csv_file.open(newline="", encoding="utf-8") as f:
        header, *rows = list(csv.reader(f))
    kinds = {name: _column_kind([row[i] for row in rows]) for i, name in enumerate(header)}
    cumulative = np.cumsum(list(buckets.values())).tolist()
    expected = {name: set() for name in buckets}
    for row in rows:
        features = {name: _tfx_feature(kinds[name], cell) for name, cell in zip(header, row, strict=True)}
        digest = int(hashlib.sha256(_tfx_serialization(features)).hexdigest(), 16)
        split = list(buckets)[bisect.bisect(cumulative, digest % cumulative[-1])]
        expected[split].add(int(row[header.index("id")]))
    return expected


def test_split_follows_tfx_rule_on_hand_built_records(tmp_path):
    """Types, empty cells, quoting, a prefix-named column ("education" / "education-num")."""
    source = REFERENCE / "rows.csv"
    examples = _context(tmp_path).run(pipeline.CsvExampleGen(input_base=source)).outputs["examples"]
    expected = _expected_splits(source, {"train": 2, "eval": 1})
    assert {s: set(_ids(examples, s)) for s in examples.split_names} == expected
    assert all(expected.values())


def test_split_matches_real_tfx_on_the_reference_csv(tmp_path):
    """rows_splits.json was written by TFX 1.16's own CsvExampleGen (tools/conformance)."""
    reference = json.loads((REFERENCE / "rows_splits.json").read_text())
    examples = _context(tmp_path).run(pipeline.CsvExampleGen(input_base=REFERENCE / "rows.csv"))
    examples = examples.outputs["examples"]
    assert {s: sorted(_ids(examples, s)) for s in examples.split_names} == reference["splits"]


def test_split_of_the_census_prefix_differs_from_upb_order():
    """protobuf 4 (upb) sorts "education-num" before "education"; TFX's bytewise order does not."""
    features = {
        "education": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b" Bachelors"])),
        "education-num": tf.train.Feature(int64_list=tf.train.Int64List(value=[13])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=features))
    canonical = example_gen.canonical_serialization(example.SerializeToString())
    assert canonical == _tfx_serialization(features)
    assert canonical.index(b"education\x12") < canonical.index(b"education-num")


def test_partition_feature_keeps_equal_values_together(csv_path, tmp_path, frame):
    gen = pipeline.CsvExampleGen(
        input_base=csv_path, output_splits={"train": 3, "eval": 1, "test": 1}, partition_feature_name="city"
    )
    examples = _context(tmp_path).run(gen).outputs["examples"]
    assert examples.split_names == ["train", "eval", "test"]
    cumulative = [3, 4, 5]
    for split in examples.split_names:
        for city in {r["city"] for r in examples.read(split, n=None)}:
            feature = tf.train.Feature(bytes_list=tf.train.BytesList(value=[city.encode()]))
            bucket = int(hashlib.sha256(feature.SerializeToString()).hexdigest(), 16) % 5
            assert examples.split_names[bisect.bisect(cumulative, bucket)] == split, city
    assert sum(examples.count(s) for s in examples.split_names) == N_ROWS


def test_empty_cells_and_empty_columns_become_features_without_values(tmp_path):
    examples = _context(tmp_path).run(pipeline.CsvExampleGen(input_base=REFERENCE / "rows.csv"))
    examples = examples.outputs["examples"]
    records = [
        tf.train.Example.FromString(r) for s in ("train", "eval") for r in pipeline_records(examples, s)
    ]
    by_id = {r.features.feature["id"].int64_list.value[0]: r.features.feature for r in records}
    assert by_id[0]["score"].WhichOneof("kind") == "float_list" and not by_id[0]["score"].float_list.value
    assert by_id[0]["empty"].WhichOneof("kind") is None  # a column with no values has no type
    assert by_id[3]["mixed"].float_list.value == [2.5]
    assert by_id[5]["big"].bytes_list.value == [b"99999999999999999999"]  # beyond int64: text
    assert by_id[2]["city"].bytes_list.value == [b"a, b"]


def pipeline_records(examples: pipeline.Artifact, split: str) -> list[bytes]:
    return list(artifacts.read_records(examples.files(split)))


# --- ExampleGen: files, determinism, values ---------------------------------------------------


def test_splits_partition_the_input_about_two_to_one(run):
    context, examples, *_ = run
    assert examples.split_names == ["train", "eval"]
    train, evaluation = set(_ids(examples, "train")), set(_ids(examples, "eval"))
    assert not train & evaluation
    assert train | evaluation == set(range(N_ROWS))
    assert 0.55 < len(train) / N_ROWS < 0.78
    assert examples.count("train") == len(train)
    for split in examples.split_names:
        assert examples.files(split) == [f"{examples.uri}/Split-{split}/data_tfrecord-00000-of-00001.gz"]
    assert examples.path.parent == context.pipeline_root / "CsvExampleGen" / "examples"
    assert examples.path.name == str(metadata.producer_execution(context.store, examples).id)


def test_example_gen_records_tfx_properties(run):
    _, examples, *_ = run
    assert dict(examples.mlmd.properties) == {"split_names": examples.mlmd.properties["split_names"]}
    assert examples.properties["split_names"] == '["train", "eval"]'
    custom = {k: metadata.get_value(v) for k, v in examples.mlmd.custom_properties.items()}
    assert custom.pop("input_fingerprint").startswith("split:single_split,num_files:1,total_bytes:")
    assert custom == {"span": 0, "file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE"}


def test_example_gen_is_deterministic_across_reruns_and_roots(run, csv_path, tmp_path):
    _, examples, *_ = run
    again = _context(tmp_path).run(pipeline.CsvExampleGen(input_base=csv_path)).outputs["examples"]
    for split in examples.split_names:
        assert pipeline_records(again, split) == pipeline_records(examples, split)


def test_values_round_trip_with_raw_text_and_missing_cells(run, frame):
    _, examples, *_ = run
    rows = {row["id"]: row for split in ("train", "eval") for row in examples.read(split, n=None)}
    for record in frame.to_dict("records"):
        row = rows[record["id"]]
        assert row["age"] == record["age"] and isinstance(row["age"], int)
        assert row["city"] == record["city"]  # leading blank kept, like TFX
        if pd.isna(record["score"]):
            assert row["score"] is None
        else:
            assert row["score"] == pytest.approx(np.float32(record["score"]))
        assert row["mixed"] == pytest.approx(float(record["mixed"]))
        assert row["code"] == str(record["code"])
    assert len(examples.read("train")) == 3


def test_directory_of_csv_files_is_one_dataset(tmp_path, frame):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    frame.iloc[:100].to_csv(data_dir / "a.csv", index=False)
    frame.iloc[100:].to_csv(data_dir / "b.csv", index=False)
    examples = (
        _context(tmp_path / "root").run(pipeline.CsvExampleGen(input_base=data_dir)).outputs["examples"]
    )
    assert sum(examples.count(s) for s in examples.split_names) == N_ROWS


def test_import_example_gen_keeps_records_unchanged(tmp_path):
    records = []
    for i in range(60):
        features = {
            "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[bytes([i, 255, 0])])),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 10])),
        }
        example = tf.train.Example(features=tf.train.Features(feature=features))
        records.append(example_gen.canonical_serialization(example.SerializeToString()))
    source = tmp_path / "train.tfrecord"
    with tf.io.TFRecordWriter(str(source)) as writer:
        for record in records:
            writer.write(record)
    gen = _context(tmp_path / "root").run(pipeline.ImportExampleGen(input_base=source))
    examples = gen.outputs["examples"]
    for split, buckets in (("train", {0, 1}), ("eval", {2})):
        imported = pipeline_records(examples, split)
        assert {int(hashlib.sha256(r).hexdigest(), 16) % 3 for r in imported} == buckets
    assert sorted(r for s in examples.split_names for r in pipeline_records(examples, s)) == sorted(records)


def test_failed_component_registers_no_artifact_and_no_type(csv_path, tmp_path):
    context = _context(tmp_path)
    with pytest.raises(ValueError, match="no_such_feature"):
        context.run(pipeline.CsvExampleGen(input_base=csv_path, partition_feature_name="no_such_feature"))
    [execution] = metadata.executions_of_type(context.store, "CsvExampleGen")
    assert execution.last_known_state == metadata_store_pb2.Execution.FAILED
    assert [t.name for t in context.store.get_artifact_types()] == []
    assert not (tmp_path / "CsvExampleGen" / "examples" / str(execution.id)).exists()


def test_bad_arguments_are_rejected(csv_path, tmp_path):
    with pytest.raises(ValueError, match="positive integer"):
        pipeline.CsvExampleGen(input_base=csv_path, output_splits={"train": 0, "eval": 1})
    with pytest.raises(FileNotFoundError):
        pipeline.CsvExampleGen(input_base=tmp_path / "missing.csv")


# --- StatisticsGen, SchemaGen, ExampleValidator ------------------------------------------------


def test_statistics_cover_every_split_with_tfx_properties(run):
    _, examples, statistics, *_ = run
    assert statistics.type_name == "ExampleStatistics"
    assert statistics.split_names == examples.split_names
    assert statistics.properties["span"] == 0
    assert statistics.properties["sample_rate_by_split"] == {"eval": 1.0, "train": 1.0}
    for split in examples.split_names:
        stats = pipeline.load_statistics(statistics, split)
        assert stats.datasets[0].num_examples == examples.count(split)


def test_statistics_with_a_schema_record_it_as_input(run):
    context, examples, _, schema, _ = run
    options = tfdv.StatsOptions(infer_type_from_schema=True)
    gen = context.run(pipeline.StatisticsGen(examples, schema=schema, stats_options=options))
    assert options.schema is None, "the caller's options are not modified"
    inputs = metadata.execution_inputs(
        context.store, metadata.producer_execution(context.store, gen.outputs["statistics"])
    )
    assert {k: [a.id for a in v] for k, v in inputs.items()} == {
        "examples": [examples.id],
        "schema": [schema.id],
    }


def test_in_process_statistics_equal_the_beam_path(run):
    context, examples, statistics, *_ = run
    beam_stats = context.run(pipeline.StatisticsGen(examples, beam=True)).outputs["statistics"]
    for split in examples.split_names:
        fast, slow = (
            tfdv.get_feature_stats(pipeline.load_statistics(s, split).datasets[0], tfdv.FeaturePath(["age"]))
            for s in (statistics, beam_stats)
        )
        assert fast.num_stats.mean == pytest.approx(slow.num_stats.mean)
        assert fast.num_stats.common_stats.num_non_missing == slow.num_stats.common_stats.num_non_missing


def test_schema_types_follow_the_csv(run):
    _, _, _, schema, _ = run
    loaded = pipeline.load_schema(schema)
    assert {f.name: f.type for f in loaded.feature} == {
        "id": schema_pb2.INT,
        "age": schema_pb2.INT,
        "score": schema_pb2.FLOAT,
        "city": schema_pb2.BYTES,
        "rare": schema_pb2.BYTES,
        "mixed": schema_pb2.FLOAT,
        "code": schema_pb2.BYTES,
    }
    assert set(tfdv.get_domain(loaded, "city").value) == {" Paris", " Rome", " Oslo"}


def test_schema_gen_learns_from_every_split_unless_excluded(run, frame):
    """TFX's SchemaGen: infer on the first split, update with the rest; exclude_splits opts out."""
    context, examples, statistics, schema, anomalies = run
    domain = set(tfdv.get_domain(pipeline.load_schema(schema), "rare").value)
    assert domain == set(frame["rare"]), "every rare value, eval-only ones included"
    expected = tfdv.update_schema(
        tfdv.infer_schema(pipeline.load_statistics(statistics, "train"), infer_feature_shape=True),
        pipeline.load_statistics(statistics, "eval"),
        infer_feature_shape=True,
    )
    assert pipeline.load_schema(schema) == expected
    for split in ("train", "eval"):
        assert not pipeline.load_anomalies(anomalies, split).anomaly_info
    assert anomalies.properties["blessed"] == {"train": 1.0, "eval": 1.0}

    train_only = context.run(pipeline.SchemaGen(statistics, exclude_splits=["eval"])).outputs["schema"]
    validated = context.run(pipeline.ExampleValidator(statistics, train_only)).outputs["anomalies"]
    train_rare = {r["rare"] for r in examples.read("train", n=None)}
    eval_only = {r["rare"] for r in examples.read("eval", n=None)} - train_rare
    assert eval_only, "the fixture must put some rare values only in eval"
    found = pipeline.load_anomalies(validated, "eval").anomaly_info
    assert set(found) == {"rare"}
    assert [r.type for r in found["rare"].reason] == [
        anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
    ]
    assert all(value in found["rare"].description for value in eval_only)
    assert validated.properties["blessed"] == {"train": 1.0, "eval": 0.0}


def test_import_schema_gen_copies_a_curated_schema(run, tmp_path):
    context, _, statistics, schema, _ = run
    curated = pipeline.load_schema(schema)
    tfdv.set_domain(curated, "age", schema_pb2.IntDomain(name="age", min=17, max=90))
    path = tmp_path / "updated_schema" / "schema.pbtxt"
    path.parent.mkdir()
    tfdv.write_schema_text(curated, str(path))
    imported = context.run(pipeline.ImportSchemaGen(path)).outputs["schema"]
    assert tfdv.get_domain(pipeline.load_schema(imported), "age").max == 90
    assert imported.path.parent == context.pipeline_root / "ImportSchemaGen" / "schema"
    anomalies = context.run(pipeline.ExampleValidator(statistics, imported)).outputs["anomalies"]
    inputs = metadata.execution_inputs(context.store, metadata.producer_execution(context.store, anomalies))
    assert {k: [a.id for a in v] for k, v in inputs.items()} == {
        "statistics": [statistics.id],
        "schema": [imported.id],
    }
    assert metadata.parent_artifacts(context.store, imported) == []


@pytest.mark.parametrize(
    "content",
    ["feature { name: 'a' type: INT ", "this is not a schema", "\x00\xff binary junk"],
)
def test_import_schema_gen_rejects_a_corrupt_file(tmp_path, content):
    path = tmp_path / "schema.pbtxt"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ValueError, match="schema.pbtxt") as error:
        pipeline.ImportSchemaGen(path)
    assert str(path) in str(error.value) and "write_schema_text" in str(error.value)
    with pytest.raises(ValueError, match="does not exist"):
        pipeline.ImportSchemaGen(tmp_path / "missing.pbtxt")


# --- lineage, types and reruns ------------------------------------------------------------------


def test_lineage_parents_children_and_producers(run):
    context, examples, statistics, schema, anomalies = run
    store = context.store

    def ids(found):
        return sorted(a.id for a in found)

    assert ids(metadata.parent_artifacts(store, schema)) == [statistics.id]
    assert ids(metadata.parent_artifacts(store, statistics)) == [examples.id]
    assert ids(metadata.parent_artifacts(store, anomalies)) == sorted([statistics.id, schema.id])
    assert metadata.parent_artifacts(store, examples) == []
    producers = {
        a.type_name: metadata.type_name(store, metadata.producer_execution(store, a))
        for a in (examples, statistics, schema, anomalies)
    }
    assert producers == {
        "Examples": "CsvExampleGen",
        "ExampleStatistics": "StatisticsGen",
        "Schema": "SchemaGen",
        "ExampleAnomalies": "ExampleValidator",
    }
    run_artifacts = {a.id for a in store.get_artifacts_by_context(context.run_context.id)}
    assert {examples.id, statistics.id, schema.id, anomalies.id} <= run_artifacts
    assert examples.mlmd.state == metadata_store_pb2.Artifact.LIVE


def test_only_types_with_artifacts_are_registered(csv_path, tmp_path):
    context = _context(tmp_path)
    examples = context.run(pipeline.CsvExampleGen(input_base=csv_path)).outputs["examples"]
    assert [t.name for t in context.store.get_artifact_types()] == ["Examples"]
    context.run(pipeline.StatisticsGen(examples))
    assert sorted(t.name for t in context.store.get_artifact_types()) == ["ExampleStatistics", "Examples"]
    assert dict(context.store.get_artifact_type("Examples").properties) == {
        "span": metadata.INT,
        "version": metadata.INT,
        "split_names": metadata.STRING,
    }


def test_mlmd_tables(run):
    context, *_ = run
    types = set(metadata.types_table(context.store)["type"])
    assert {"Examples", "ExampleStatistics", "Schema", "ExampleAnomalies"} <= types
    assert {"CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator"} <= types
    table = metadata.artifacts_table(context.store, context.pipeline_root)
    first = table[table["type"] == "Examples"].iloc[0]
    assert first["uri"] == f"CsvExampleGen/examples/{first['execution_id']}"
    assert (table["state"] == "LIVE").all()


def test_rerun_against_the_same_root_reuses_types(csv_path, tmp_path):
    first = _context(tmp_path)
    first.run(pipeline.CsvExampleGen(input_base=csv_path))
    types_before = metadata.types_table(first.store)
    second = _context(tmp_path)
    again = second.run(pipeline.CsvExampleGen(input_base=csv_path)).outputs["examples"]
    pd.testing.assert_frame_equal(metadata.types_table(second.store), types_before)
    assert second.run_id != first.run_id
    assert len(metadata.artifacts_of_type(second.store, "Examples")) == 2
    assert [a.id for a in second.store.get_artifacts_by_context(second.run_context.id)] == [again.id]


def test_handles_guard_their_use(run):
    _, examples, _, schema, _ = run
    with pytest.raises(KeyError, match="test"):
        examples.split_uri("test")
    with pytest.raises(TypeError, match="Schema"):
        schema.read()


def test_context_times_each_component_run_in_order(csv_path, tmp_path):
    context = _context(tmp_path / "root", "timed")
    examples = context.run(pipeline.CsvExampleGen(input_base=csv_path)).outputs["examples"]
    context.run(pipeline.StatisticsGen(examples))
    context.run(pipeline.StatisticsGen(examples))
    assert list(context.timings) == ["CsvExampleGen", "StatisticsGen", "StatisticsGen #2"]
    assert all(seconds >= 0 for seconds in context.timings.values())


# --- Transform -------------------------------------------------------------------------------

MODULE = """
import tensorflow_transform as tft


def preprocessing_fn(inputs):
    return {
        "age_xf": tft.scale_to_0_1(inputs["age"]),
        "city_xf": tft.compute_and_apply_vocabulary(inputs["city"], vocab_filename="city"),
    }
"""


def test_load_preprocessing_fn_from_a_module_file(tmp_path):
    good = tmp_path / "module.py"
    good.write_text(MODULE)
    assert pipeline.load_preprocessing_fn(good).__name__ == "preprocessing_fn"
    # Like the course: the module imports a constants file that sits next to it.
    (tmp_path / "tiny_constants.py").write_text("KEYS = ['age']\n")
    (tmp_path / "uses_constants.py").write_text(
        "import tiny_constants\n\ndef preprocessing_fn(inputs):\n"
        "    return {k + '_xf': inputs[k] for k in tiny_constants.KEYS}\n"
    )
    fn = pipeline.load_preprocessing_fn(tmp_path / "uses_constants.py")
    assert fn({"age": 1}) == {"age_xf": 1}
    bad = tmp_path / "empty.py"
    bad.write_text("x = 1\n")
    with pytest.raises(ValueError, match="empty.py defines no preprocessing_fn"):
        pipeline.load_preprocessing_fn(bad)


@pytest.fixture(scope="module")
def transformed(run, tmp_path_factory):
    context, examples, _, schema, _ = run
    module = tmp_path_factory.mktemp("module") / "tiny_transform.py"
    module.write_text(MODULE)
    return context.run(pipeline.Transform(examples, schema, module_file=module))


# TFX 1.16 (verified by make conformance): only the transformed examples get a property.
TRANSFORM_PROPERTIES = {"transformed_examples": {"split_names": '["train", "eval"]'}}
EXPECTED_TRANSFORM_OUTPUTS = {
    key: (type_name, TRANSFORM_PROPERTIES.get(key, {})) for key, type_name in TFX_TRANSFORM_OUTPUTS.items()
}


@pytest.mark.parametrize("key", sorted(EXPECTED_TRANSFORM_OUTPUTS))
def test_every_transform_output_has_tfx_type_properties_and_parents(run, transformed, key):
    context, examples, _, schema, _ = run
    artifact = transformed.outputs[key]
    type_name, properties = EXPECTED_TRANSFORM_OUTPUTS[key]
    assert (artifact.type_name, metadata.type_name(context.store, artifact)) == (type_name, type_name)
    stored = {k: metadata.get_value(v) for k, v in artifact.mlmd.properties.items()}
    assert stored == properties
    assert dict(artifact.mlmd.custom_properties) == {}
    parents = metadata.parent_artifacts(context.store, artifact)
    assert sorted(a.id for a in parents) == sorted([examples.id, schema.id])
    producer = metadata.producer_execution(context.store, artifact)
    assert metadata.type_name(context.store, producer) == "Transform"
    assert artifact.path == context.pipeline_root / "Transform" / key / str(producer.id)
    assert any(artifact.path.iterdir()), f"{key} wrote nothing"


def test_transform_outputs_hold_what_tfx_writes(run, transformed):
    _, examples, _, schema, _ = run
    outputs = transformed.outputs
    assert set(outputs) == set(EXPECTED_TRANSFORM_OUTPUTS)
    graph = outputs["transform_graph"]
    assert sorted(p.name for p in graph.path.iterdir()) == [
        "metadata",
        "transform_fn",
        "transformed_metadata",
    ]
    tft_output = pipeline.load_transform_output(graph)
    assert set(tft_output.transformed_feature_spec()) == {"age_xf", "city_xf"}
    assert set(tft_output.raw_feature_spec()) == {f.name for f in pipeline.load_schema(schema).feature}
    assert pipeline.load_schema(outputs["pre_transform_schema"]) == pipeline.load_schema(schema)
    assert pipeline.load_schema(outputs["post_transform_schema"]) == tft_output.transformed_metadata.schema
    pre = pipeline.load_statistics(outputs["pre_transform_stats"], None).datasets[0]
    post = pipeline.load_statistics(outputs["post_transform_stats"], None).datasets[0]
    assert pre.num_examples == examples.count("train")
    assert post.num_examples == examples.count("train") + examples.count("eval")
    assert {f.path.step[0] for f in post.features} == {"age_xf", "city_xf"}
    assert not pipeline.load_anomalies(outputs["post_transform_anomalies"], None).anomaly_info
    cache = outputs["updated_analyzer_cache"]
    assert any(p.is_dir() for p in cache.path.iterdir()), "one cache entry for the analyzed split"
    rows = outputs["transformed_examples"]
    for split in examples.split_names:
        assert rows.count(split) == examples.count(split)
    train_rows = rows.read("train", n=None)
    assert all(0.0 <= r["age_xf"] <= 1.0 for r in train_rows)
    assert {r["city_xf"] for r in train_rows} == {0, 1, 2}


def test_transform_without_analyzer_cache_has_no_cache_output(run, tmp_path):
    context, examples, _, schema, _ = run
    module = tmp_path / "tiny_transform.py"
    module.write_text(MODULE)
    transform = context.run(
        pipeline.Transform(examples, schema, module_file=module, disable_analyzer_cache=True)
    )
    assert set(transform.outputs) == set(EXPECTED_TRANSFORM_OUTPUTS) - {"updated_analyzer_cache"}
    producer = metadata.producer_execution(context.store, transform.outputs["transform_graph"])
    assert not (context.pipeline_root / "Transform" / "updated_analyzer_cache" / str(producer.id)).exists()
    assert transform.outputs["transformed_examples"].count("eval") == examples.count("eval")


# --- hardening (issue 11): bad inputs are named with file, line and cause -------------------

ROWS = b"id,x\n" + b"".join(b"%d,%d\n" % (i, i * 7919 % 10007) for i in range(20000))


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("b_ragged.csv", b"id,x\n1,2\n3,4,5\n", "b_ragged.csv, line 3: 3 fields, but the header has 2"),
        ("b_dup.csv", b"id,id\n1,2\n", "b_dup.csv, line 1: duplicate column names ['id']"),
        ("b_latin1.csv", b"id,x\n1,caf\xe9\n", "b_latin1.csv, line 2: not UTF-8 text"),
        ("b_cut.csv.gz", gzip.compress(ROWS)[:2000], "the gzip stream is damaged or cut short"),
    ],
)
def test_example_gen_names_the_bad_file_in_a_folder(tmp_path, name, data, expected):
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "a_good.csv").write_bytes(b"id,x\n1,2\n3,4\n")
    (folder / name).write_bytes(data)
    ctx = pipeline.InteractiveContext(tmp_path / "root", pipeline_name="t")
    with pytest.raises(ValueError) as info:
        ctx.run(pipeline.CsvExampleGen(input_base=folder))
    assert str(folder / name) in str(info.value) and expected in str(info.value)


def _schema_file(tmp_path, schema: schema_pb2.Schema):
    path = tmp_path / "schema.pbtxt"
    tfdv.write_schema_text(schema, str(path))
    return path


def test_import_schema_gen_refuses_duplicates_and_mismatched_domains(tmp_path):
    ctx = pipeline.InteractiveContext(tmp_path / "root", pipeline_name="t")
    schema = schema_pb2.Schema()
    schema.feature.add(name="age", type=schema_pb2.INT)
    schema.feature.add(name="age", type=schema_pb2.INT)
    with pytest.raises(ValueError, match=r"used more than once: \['age'\]"):
        ctx.run(pipeline.ImportSchemaGen(_schema_file(tmp_path, schema)))
    del schema.feature[1]
    schema.feature.add(name="city", type=schema_pb2.BYTES).int_domain.max = 5
    with pytest.raises(ValueError, match="'city' is BYTES but has an int_domain"):
        ctx.run(pipeline.ImportSchemaGen(_schema_file(tmp_path, schema)))
    assert metadata.artifacts_of_type(ctx.store, "Schema") == []


def test_import_schema_gen_says_a_directory_is_a_directory(tmp_path):
    ctx = pipeline.InteractiveContext(tmp_path / "root", pipeline_name="t")
    folder = tmp_path / "updated_schema"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        ctx.run(pipeline.ImportSchemaGen(folder))
