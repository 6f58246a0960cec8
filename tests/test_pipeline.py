"""Tests for labs_utils.pipeline: the TFX-like components on a tiny generated CSV."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
import tensorflow_data_validation as tfdv
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from labs_utils import metadata, pipeline

N_ROWS = 300
RARE_VALUES = [f"r{i:02d}" for i in range(12)]


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


@pytest.fixture(scope="module")
def run(tmp_path_factory, csv_path):
    """One pipeline run: ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator."""
    ctx = pipeline.create_context(tmp_path_factory.mktemp("root"), pipeline_name="tiny")
    examples = pipeline.example_gen(ctx, csv_path)
    statistics = pipeline.statistics_gen(ctx, examples)
    schema = pipeline.schema_gen(ctx, statistics)
    anomalies = pipeline.example_validator(ctx, statistics, schema)
    return ctx, examples, statistics, schema, anomalies


def _ids(examples: pipeline.Artifact, split: str) -> list[int]:
    return [row["id"] for row in examples.read(split, n=None)]


# --- ExampleGen ------------------------------------------------------------------------------


def test_splits_partition_the_input_about_two_to_one(run):
    ctx, examples, *_ = run
    assert examples.split_names == ["train", "eval"]
    train, evaluation = set(_ids(examples, "train")), set(_ids(examples, "eval"))
    assert train and evaluation
    assert not train & evaluation
    assert train | evaluation == set(range(N_ROWS))
    assert 0.55 < len(train) / N_ROWS < 0.78
    assert examples.count("train") == len(train)
    for split in examples.split_names:
        assert examples.files(split) == [f"{examples.uri}/Split-{split}/data_tfrecord-00000-of-00001.gz"]
    expected_dir = ctx.root / "ExampleGen" / "examples"
    assert examples.path.parent == expected_dir
    assert examples.path.name == str(metadata.producer_execution(ctx.store, examples).id)


def test_example_gen_is_deterministic_across_reruns_and_roots(run, csv_path, tmp_path):
    _, examples, *_ = run
    again = pipeline.example_gen(pipeline.create_context(tmp_path, pipeline_name="t"), csv_path)
    for split in examples.split_names:
        assert _ids(again, split) == _ids(examples, split)
        assert list(pipeline._records(again.files(split))) == list(pipeline._records(examples.files(split)))


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
    assert rows[0]["city"].startswith(" ")
    assert len(examples.read("train")) == 3


def test_custom_splits_and_hash_key_keep_groups_together(csv_path, tmp_path, frame):
    ctx = pipeline.create_context(tmp_path, pipeline_name="t")
    examples = pipeline.example_gen(ctx, csv_path, splits={"train": 3, "eval": 1, "test": 1}, hash_key="city")
    assert examples.split_names == ["train", "eval", "test"]
    cities = {s: {r["city"] for r in examples.read(s, n=None)} for s in examples.split_names}
    assert sum(examples.count(s) for s in examples.split_names) == N_ROWS
    seen = [city for group in cities.values() for city in group]
    assert sorted(seen) == sorted(frame["city"].unique()), "each city sits in exactly one split"


def test_directory_of_csv_files_is_one_dataset(tmp_path, frame):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    frame.iloc[:100].to_csv(data_dir / "a.csv", index=False)
    frame.iloc[100:].to_csv(data_dir / "b.csv", index=False)
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    examples = pipeline.example_gen(ctx, data_dir)
    assert sum(examples.count(s) for s in examples.split_names) == N_ROWS


def test_tfrecord_input_is_imported_unchanged(tmp_path):
    records = []
    for i in range(60):
        features = {
            "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[bytes([i, 255, 0])])),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[i % 10])),
        }
        example = tf.train.Example(features=tf.train.Features(feature=features))
        records.append(example.SerializeToString())
    source = tmp_path / "train.tfrecord"
    with tf.io.TFRecordWriter(str(source)) as writer:
        for record in records:
            writer.write(record)
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    examples = pipeline.example_gen(ctx, source, input_format="tfrecord")
    imported = [r for s in examples.split_names for r in pipeline._records(examples.files(s))]
    assert sorted(imported) == sorted(records)
    row = examples.read("train", n=1)[0]
    assert isinstance(row["image_raw"], bytes) and isinstance(row["label"], int)


def test_split_follows_the_farmhash_fingerprint(tmp_path):
    farmhash = pytest.importorskip("farmhash")
    source = tmp_path / "words.tfrecord.gz"
    with tf.io.TFRecordWriter(str(source), options="GZIP") as writer:
        for i in range(90):
            word = tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"word{i}".encode()]))
            example = tf.train.Example(features=tf.train.Features(feature={"w": word}))
            writer.write(example.SerializeToString())
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    examples = pipeline.example_gen(ctx, source, input_format="tfrecord")
    for split, buckets in (("train", {0, 1}), ("eval", {2})):
        records = list(pipeline._records(examples.files(split)))
        # These records are ASCII, so pyfarmhash (which takes str) hashes the same bytes.
        assert {farmhash.fingerprint64(r.decode("ascii")) % 3 for r in records} == buckets


def test_failed_component_registers_no_artifact(csv_path, tmp_path):
    ctx = pipeline.create_context(tmp_path, pipeline_name="t")
    with pytest.raises(ValueError, match="no_such_feature"):
        pipeline.example_gen(ctx, csv_path, hash_key="no_such_feature")
    [execution] = metadata.executions_of_type(ctx.store, "ExampleGen")
    assert execution.last_known_state == metadata_store_pb2.Execution.FAILED
    assert metadata.artifacts_of_type(ctx.store, "Examples") == []
    assert not (tmp_path / "ExampleGen" / "examples" / str(execution.id)).exists()


def test_bad_arguments_are_rejected(csv_path, tmp_path):
    ctx = pipeline.create_context(tmp_path, pipeline_name="t")
    with pytest.raises(ValueError, match="positive integer"):
        pipeline.example_gen(ctx, csv_path, splits={"train": 0, "eval": 1})
    with pytest.raises(FileNotFoundError):
        pipeline.example_gen(ctx, tmp_path / "missing.csv")


# --- StatisticsGen, SchemaGen, ExampleValidator ------------------------------------------------


def test_statistics_cover_every_split(run):
    _, examples, statistics, *_ = run
    assert statistics.type_name == "ExampleStatistics"
    assert statistics.split_names == examples.split_names
    for split in examples.split_names:
        stats = pipeline.load_statistics(statistics, split)
        assert stats.datasets[0].num_examples == examples.count(split)


def test_statistics_with_a_schema_record_it_as_input(run):
    ctx, examples, _, schema, _ = run
    options = tfdv.StatsOptions(infer_type_from_schema=True)
    statistics = pipeline.statistics_gen(ctx, examples, schema=schema, stats_options=options)
    assert options.schema is None, "the caller's options are not modified"
    inputs = metadata.execution_inputs(ctx.store, metadata.producer_execution(ctx.store, statistics))
    assert {k: [a.id for a in v] for k, v in inputs.items()} == {
        "examples": [examples.id],
        "schema": [schema.id],
    }
    assert pipeline.load_statistics(statistics, "eval").datasets[0].num_examples == examples.count("eval")


def test_in_process_statistics_equal_the_beam_path(run):
    ctx, examples, statistics, *_ = run
    beam_stats = pipeline.statistics_gen(ctx, examples, beam=True)
    assert metadata.property_value(metadata.producer_execution(ctx.store, beam_stats), "beam")
    for split in examples.split_names:
        fast = tfdv.get_feature_stats(
            pipeline.load_statistics(statistics, split).datasets[0], tfdv.FeaturePath(["age"])
        )
        slow = tfdv.get_feature_stats(
            pipeline.load_statistics(beam_stats, split).datasets[0], tfdv.FeaturePath(["age"])
        )
        assert fast.num_stats.mean == pytest.approx(slow.num_stats.mean)
        assert fast.num_stats.common_stats.num_non_missing == slow.num_stats.common_stats.num_non_missing
        counts = [
            pipeline.load_statistics(s, split).datasets[0].num_examples for s in (statistics, beam_stats)
        ]
        assert counts[0] == counts[1] == examples.count(split)


def test_schema_types_follow_the_csv(run):
    _, _, _, schema, _ = run
    loaded = pipeline.load_schema(schema)
    types = {f.name: f.type for f in loaded.feature}
    assert types == {
        "id": schema_pb2.INT,
        "age": schema_pb2.INT,
        "score": schema_pb2.FLOAT,
        "city": schema_pb2.BYTES,
        "rare": schema_pb2.BYTES,
        "mixed": schema_pb2.FLOAT,
        "code": schema_pb2.BYTES,
    }
    assert set(tfdv.get_domain(loaded, "city").value) == {" Paris", " Rome", " Oslo"}
    assert not tfdv.get_feature(loaded, "score").presence.min_fraction  # blanks are missing


def test_validator_reports_exactly_the_eval_only_categories(run):
    """Against a train-inferred schema, a domain value seen only in eval is an anomaly."""
    _, examples, _, schema, anomalies = run
    assert anomalies.split_names == ["train", "eval"]
    train, evaluation = (pd.DataFrame(examples.read(s, n=None)) for s in ("train", "eval"))
    loaded = pipeline.load_schema(schema)
    with_domain = [f.name for f in loaded.feature if f.WhichOneof("domain_info") == "domain"]
    assert "rare" in with_domain
    eval_only = {name: set(evaluation[name].dropna()) - set(train[name].dropna()) for name in with_domain}
    eval_only = {name: values for name, values in eval_only.items() if values}
    assert "rare" in eval_only, "the fixture must put some rare values only in eval"

    assert not pipeline.load_anomalies(anomalies, "train").anomaly_info
    found = pipeline.load_anomalies(anomalies, "eval").anomaly_info
    assert set(found) == set(eval_only)
    for name, values in eval_only.items():
        assert [r.type for r in found[name].reason] == [
            anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
        ]
        assert all(value in found[name].description for value in values)
    rare_in_train = set(train["rare"]) - {"common", "usual"}
    assert not any(value in found["rare"].description for value in rare_in_train)


def test_import_schema_gen_copies_a_curated_schema(run, tmp_path):
    ctx, _, statistics, schema, _ = run
    curated = pipeline.load_schema(schema)
    tfdv.set_domain(curated, "age", schema_pb2.IntDomain(name="age", min=17, max=90))
    path = tmp_path / "updated_schema" / "schema.pbtxt"
    path.parent.mkdir()
    tfdv.write_schema_text(curated, str(path))
    imported = pipeline.import_schema_gen(ctx, path)
    assert tfdv.get_domain(pipeline.load_schema(imported), "age").max == 90
    assert imported.path.parent == ctx.root / "ImportSchemaGen" / "schema"
    anomalies = pipeline.example_validator(ctx, statistics, imported)
    validator = metadata.producer_execution(ctx.store, anomalies)
    inputs = metadata.execution_inputs(ctx.store, validator)
    assert {k: [a.id for a in v] for k, v in inputs.items()} == {
        "statistics": [statistics.id],
        "schema": [imported.id],
    }
    assert metadata.parent_artifacts(ctx.store, imported) == []


@pytest.mark.parametrize(
    "content",
    ["feature { name: 'a' type: INT ", "this is not a schema", "\x00\xff binary junk"],
)
def test_import_schema_gen_rejects_a_corrupt_file(tmp_path, content):
    path = tmp_path / "schema.pbtxt"
    path.write_bytes(content.encode("latin-1"))
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    with pytest.raises(ValueError, match="schema.pbtxt") as error:
        pipeline.import_schema_gen(ctx, path)
    assert str(path) in str(error.value) and "write_schema_text" in str(error.value)
    assert metadata.artifacts_of_type(ctx.store, "Schema") == []
    with pytest.raises(ValueError, match="does not exist"):
        pipeline.import_schema_gen(ctx, tmp_path / "missing.pbtxt")


# --- lineage and reruns ----------------------------------------------------------------------


def test_lineage_parents_children_and_producers(run):
    ctx, examples, statistics, schema, anomalies = run
    store = ctx.store

    def ids(artifacts):
        return sorted(a.id for a in artifacts)

    assert ids(metadata.parent_artifacts(store, schema)) == [statistics.id]
    assert ids(metadata.parent_artifacts(store, statistics)) == [examples.id]
    assert ids(metadata.parent_artifacts(store, anomalies)) == sorted([statistics.id, schema.id])
    assert metadata.parent_artifacts(store, examples) == []
    assert statistics.id in ids(metadata.child_artifacts(store, examples))
    producers = {
        a.type_name: metadata.type_name(store, metadata.producer_execution(store, a))
        for a in (examples, statistics, schema, anomalies)
    }
    assert producers == {
        "Examples": "ExampleGen",
        "ExampleStatistics": "StatisticsGen",
        "Schema": "SchemaGen",
        "ExampleAnomalies": "ExampleValidator",
    }
    run_artifacts = {a.id for a in store.get_artifacts_by_context(ctx.run_context.id)}
    assert {examples.id, statistics.id, schema.id, anomalies.id} <= run_artifacts
    assert examples.mlmd.state == metadata_store_pb2.Artifact.LIVE
    assert metadata.property_value(statistics, "split_names") == '["train", "eval"]'


def test_mlmd_tables(run):
    ctx, *_ = run
    types = set(metadata.types_table(ctx.store)["type"])
    assert {"Examples", "ExampleStatistics", "Schema", "ExampleAnomalies", "TransformGraph"} <= types
    assert {"ExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator"} <= types
    table = metadata.artifacts_table(ctx.store, ctx.root)
    first = table[table["type"] == "Examples"].iloc[0]
    assert first["uri"] == f"ExampleGen/examples/{first['execution_id']}"
    assert (table["state"] == "LIVE").all()


def test_rerun_against_the_same_root_reuses_types(csv_path, tmp_path):
    first = pipeline.create_context(tmp_path, pipeline_name="t")
    pipeline.example_gen(first, csv_path)
    types_before = metadata.types_table(first.store)
    second = pipeline.create_context(tmp_path, pipeline_name="t")
    again = pipeline.example_gen(second, csv_path)
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


# --- Transform -------------------------------------------------------------------------------

MODULE = """
import tensorflow_transform as tft


def preprocessing_fn(inputs):
    return {
        "age_xf": tft.scale_to_0_1(inputs["age"]),
        "city_xf": tft.compute_and_apply_vocabulary(inputs["city"]),
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


def test_transform_writes_graph_and_examples_with_lineage(run, tmp_path):
    ctx, examples, statistics, *_ = run
    dense_schema = pipeline.schema_gen(ctx, statistics, infer_feature_shape=True)
    module = tmp_path / "census_transform.py"
    module.write_text(MODULE)
    outputs = pipeline.transform(ctx, examples, dense_schema, module_file=module)

    graph = outputs.transform_graph
    assert graph.type_name == "TransformGraph"
    assert sorted(p.name for p in graph.path.iterdir()) == ["transform_fn", "transformed_metadata"]
    assert set(outputs.output().transformed_feature_spec()) == {"age_xf", "city_xf"}
    transformed = outputs.transformed_examples
    assert transformed.type_name == "Examples"
    assert transformed.split_names == examples.split_names
    for split in examples.split_names:
        assert transformed.count(split) == examples.count(split)
    train_rows = transformed.read("train", n=None)
    assert all(0.0 <= r["age_xf"] <= 1.0 for r in train_rows)
    assert {r["city_xf"] for r in train_rows} == {0, 1, 2}

    parents = metadata.parent_artifacts(ctx.store, graph)
    assert sorted((metadata.type_name(ctx.store, a), a.id) for a in parents) == sorted(
        [("Examples", examples.id), ("Schema", dense_schema.id)]
    )
    assert metadata.type_name(ctx.store, metadata.producer_execution(ctx.store, examples)) == "ExampleGen"


def test_context_times_each_component_run_in_order(csv_path, tmp_path):
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="timed")
    examples = pipeline.example_gen(ctx, csv_path)
    pipeline.statistics_gen(ctx, examples)
    pipeline.statistics_gen(ctx, examples)
    assert list(ctx.timings) == ["ExampleGen", "StatisticsGen", "StatisticsGen #2"]
    assert all(seconds >= 0 for seconds in ctx.timings.values())


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
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    with pytest.raises(ValueError) as info:
        pipeline.example_gen(ctx, folder)
    assert str(folder / name) in str(info.value) and expected in str(info.value)


def _schema_file(tmp_path, schema: schema_pb2.Schema):
    path = tmp_path / "schema.pbtxt"
    tfdv.write_schema_text(schema, str(path))
    return path


def test_import_schema_gen_refuses_duplicates_and_mismatched_domains(tmp_path):
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    schema = schema_pb2.Schema()
    schema.feature.add(name="age", type=schema_pb2.INT)
    schema.feature.add(name="age", type=schema_pb2.INT)
    with pytest.raises(ValueError, match=r"used more than once: \['age'\]"):
        pipeline.import_schema_gen(ctx, _schema_file(tmp_path, schema))
    del schema.feature[1]
    schema.feature.add(name="city", type=schema_pb2.BYTES).int_domain.max = 5
    with pytest.raises(ValueError, match="'city' is BYTES but has an int_domain"):
        pipeline.import_schema_gen(ctx, _schema_file(tmp_path, schema))
    assert metadata.artifacts_of_type(ctx.store, "Schema") == []


def test_import_schema_gen_says_a_directory_is_a_directory(tmp_path):
    ctx = pipeline.create_context(tmp_path / "root", pipeline_name="t")
    folder = tmp_path / "updated_schema"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        pipeline.import_schema_gen(ctx, folder)
