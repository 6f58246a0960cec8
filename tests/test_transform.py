"""tf.Transform plumbing on three-row inputs: sources, splits, outputs, options and the cache."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import tensorflow as tf
import tensorflow_transform as tft
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    SetupOptions,
    StandardOptions,
)
from tensorflow_metadata.proto.v0 import schema_pb2

from labs_utils import feed, transform

RAW = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0], "s": ["hello", "world", "hello"]})
OUTPUTS = ["s_integerized", "x_centered", "x_centered_times_y_normalized", "y_normalized"]


def preprocessing_fn(inputs):
    """The simple-transform lab's function: mean-centre x, scale y, integerize s, multiply."""
    x_centered = inputs["x"] - tft.mean(inputs["x"])
    y_normalized = tft.scale_to_0_1(inputs["y"])
    return {
        "x_centered": x_centered,
        "y_normalized": y_normalized,
        "s_integerized": tft.compute_and_apply_vocabulary(inputs["s"], vocab_filename="s"),
        "x_centered_times_y_normalized": x_centered * y_normalized,
    }


def write_examples(path: Path, rows: pd.DataFrame, *, gzipped: bool) -> Path:
    """Write rows as tf.Examples to a TFRecord file (gzip without a .gz suffix if asked)."""
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzipped else "")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for row in rows.itertuples(index=False):
            example = tf.train.Example()
            example.features.feature["x"].float_list.value.append(row.x)
            example.features.feature["y"].float_list.value.append(row.y)
            example.features.feature["s"].bytes_list.value.append(row.s.encode())
            writer.write(example.SerializeToString())
    return path


# --- no pipeline ------------------------------------------------------------------------------


def test_infer_raw_schema_maps_dtypes_and_makes_gappy_columns_varlen():
    frame = pd.DataFrame(
        {"i": [1, 2], "f": [0.5, 1.5], "s": ["a", "b"], "b": [True, False], "gap": [1.0, None]}
    )
    schema = transform.infer_raw_schema(frame)
    types = {f.name: f.type for f in schema.feature}
    assert types == {
        "i": schema_pb2.INT,
        "f": schema_pb2.FLOAT,
        "s": schema_pb2.BYTES,
        "b": schema_pb2.INT,
        "gap": schema_pb2.FLOAT,
    }
    fixed = {f.name for f in schema.feature if f.HasField("shape")}
    assert fixed == {"i", "f", "s", "b"}


def test_infer_raw_schema_reads_list_cells_as_varlen():
    schema = transform.infer_raw_schema([{"v": [1, 2], "w": ["a"]}, {"v": [], "w": ["b", "c"]}])
    assert {f.name: f.type for f in schema.feature} == {"v": schema_pb2.INT, "w": schema_pb2.BYTES}
    assert not any(f.HasField("shape") for f in schema.feature)


def test_infer_raw_schema_reads_a_csv_header(tmp_path):
    path = tmp_path / "raw.csv"
    RAW.to_csv(path, index=False)
    schema = transform.infer_raw_schema(path)
    assert {f.name: f.type for f in schema.feature} == {
        "x": schema_pb2.FLOAT,
        "y": schema_pb2.FLOAT,
        "s": schema_pb2.BYTES,
    }


def test_tfrecords_without_a_schema_raise_a_clear_error(tmp_path):
    path = write_examples(tmp_path / "data.tfrecord", RAW, gzipped=False)
    with pytest.raises(ValueError, match="pass schema="):
        transform.transform_data(preprocessing_fn, str(path))


def test_unknown_analyze_split_is_rejected():
    with pytest.raises(ValueError, match="analyze_split 'train'"):
        transform.transform_data(preprocessing_fn, {"eval": RAW})


def test_beam_options_default_to_an_explicit_in_process_direct_runner(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel.json"])
    options = transform.beam_pipeline_options()
    assert options.get_all_options(retain_unknown_options=True)["runner"] == "DirectRunner"
    assert options.view_as(DirectOptions).direct_running_mode == "in_memory"
    assert "-f" not in options.get_all_options(retain_unknown_options=True).values()


def test_beam_options_pass_through():
    flags = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    options = transform.beam_pipeline_options(flags)
    direct = options.view_as(DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_processing", 2)
    # Worker processes need cloudpickle to rebuild a notebook's preprocessing_fn with its globals.
    assert options.view_as(SetupOptions).pickle_library == "cloudpickle"
    chosen = transform.beam_pipeline_options([*flags, "--pickle_library=dill"])
    assert chosen.view_as(SetupOptions).pickle_library == "dill"
    assert transform.beam_pipeline_options().view_as(SetupOptions).pickle_library == "default"
    flink = transform.beam_pipeline_options(["--runner=FlinkRunner"])
    assert flink.view_as(StandardOptions).runner == "FlinkRunner"
    assert flink.view_as(DirectOptions).direct_running_mode == "in_memory"  # Beam's default, not ours
    given = PipelineOptions(["--runner=DirectRunner"])
    copied = transform.beam_pipeline_options(given)
    # a copy: a portable run sets its options' runner to None, which must not leak to the next run
    assert copied is not given and copied.get_all_options() == given.get_all_options()


def test_record_batches_look_like_decoded_examples():
    rows = [{"v": [1, 2], "s": "a"}, {"v": None, "s": "b"}, {"v": [3], "s": "c"}]
    schema = schema_pb2.Schema()
    schema.feature.add(name="v", type=schema_pb2.INT)
    schema.feature.add(name="s", type=schema_pb2.BYTES)
    batches = feed.record_batches(rows, schema, batch_size=2)
    assert [b.num_rows for b in batches] == [2, 1]
    table = pa.Table.from_batches(batches)
    assert table.schema.field("v").type == pa.large_list(pa.int64())
    assert table.schema.field("s").type == pa.large_list(pa.large_binary())
    assert table.column("v").to_pylist() == [[1, 2], None, [3]]
    assert table.column("s").to_pylist() == [[b"a"], [b"b"], [b"c"]]
    assert table.column(feed.ROW_KEY).to_pylist() == [[0], [1], [2]]


def test_record_batches_turn_missing_scalars_into_nulls():
    frame = pd.DataFrame({"f": [1.5, np.nan, 2.5], "s": ["a", None, "c"]})
    batch = feed.record_batches(frame, transform.infer_raw_schema(frame))[0]
    assert batch.column(batch.schema.get_field_index("f")).to_pylist() == [[1.5], None, [2.5]]
    assert batch.column(batch.schema.get_field_index("s")).to_pylist() == [[b"a"], None, [b"c"]]


# --- one run over three kinds of source -------------------------------------------------------


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> Iterator[tuple[transform.TransformResult, pd.DataFrame, pd.DataFrame]]:
    """Analyze a DataFrame; transform a CSV and TFRecords (plain + unsuffixed gzip) with it."""
    tmp = tmp_path_factory.mktemp("sources")
    eval_rows = pd.DataFrame({"x": [10.0, 0.0], "y": [5.0, 0.0], "s": ["world", "unseen"]})
    eval_rows.to_csv(tmp / "eval.csv", index=False)
    test_files = [
        write_examples(tmp / "part-0", RAW.iloc[:2], gzipped=False),
        write_examples(tmp / "part-1", RAW.iloc[2:], gzipped=True),
    ]
    result = transform.transform_data(
        preprocessing_fn,
        {"train": RAW, "eval": tmp / "eval.csv", "test": [str(p) for p in test_files]},
        write_examples=True,
    )
    yield result, eval_rows, RAW
    shutil.rmtree(result.transform_graph_dir.parent)  # output_dir=None keeps a mkdtemp dir


def test_train_values_follow_from_the_three_rows(mixed):
    result, _, raw = mixed
    train = result.transformed["train"]
    assert list(train.columns) == OUTPUTS
    # mean(x) = 2; min/max(y) = 1/3; "hello" is the frequent token, so it gets id 0.
    np.testing.assert_allclose(train["x_centered"], [-1.0, 0.0, 1.0])
    np.testing.assert_allclose(train["y_normalized"], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(train["x_centered_times_y_normalized"], [0.0, 0.0, 1.0])
    assert train["s_integerized"].tolist() == [0, 1, 0]
    assert train["s_integerized"].dtype == np.int64 and train["x_centered"].dtype == np.float32
    assert len(raw) == len(train)


def test_other_splits_reuse_the_train_statistics(mixed):
    result, _, _ = mixed
    # File rows come in the runner's order: sort them. Raw x = 0, 10; y = 0, 5.
    evaluated = result.transformed["eval"].sort_values("x_centered").reset_index(drop=True)
    np.testing.assert_allclose(evaluated["x_centered"], [-2.0, 8.0])
    np.testing.assert_allclose(evaluated["y_normalized"], [-0.5, 2.0])
    assert evaluated["s_integerized"].tolist() == [-1, 1]  # unseen token → default -1
    tested = result.transformed["test"].sort_values("x_centered").reset_index(drop=True)
    pd.testing.assert_frame_equal(tested, result.transformed["train"])


def test_transformed_schema_lists_the_four_outputs(mixed):
    result, _, _ = mixed
    types = {f.name: f.type for f in result.transformed_schema.feature}
    assert types == {
        "x_centered": schema_pb2.FLOAT,
        "y_normalized": schema_pb2.FLOAT,
        "x_centered_times_y_normalized": schema_pb2.FLOAT,
        "s_integerized": schema_pb2.INT,
    }
    assert result.output().vocabulary_by_name("s") == [b"hello", b"world"]  # by frequency


def test_graph_outlives_the_call_and_temp_dirs_are_gone(mixed):
    result, _, _ = mixed
    graph = result.transform_graph_dir
    assert (graph / "transform_fn").is_dir() and (graph / "transformed_metadata").is_dir()
    assert not list(graph.parent.glob(".tft_tmp_*"))
    new_row = {"x": tf.constant([4.0]), "y": tf.constant([4.0]), "s": tf.constant(["world"])}
    out = result.output().transform_raw_features(new_row)
    assert out["x_centered"].numpy().tolist() == [2.0]
    assert out["y_normalized"].numpy().tolist() == [1.5]
    assert out["s_integerized"].numpy().tolist() == [1]


def test_written_examples_match_the_materialized_rows(mixed):
    result, _, _ = mixed
    key = ["x_centered", "s_integerized"]
    for split, frame in result.transformed.items():
        files = result.transformed_examples[split]
        assert [(f.parent.name, f.suffix) for f in files] == [(f"Split-{split}", ".gz")]
        assert files[0].read_bytes()[:2] == b"\x1f\x8b"
        loaded = transform.load_example_files(files, result.transformed_schema)
        pd.testing.assert_frame_equal(
            loaded.sort_values(key).reset_index(drop=True), frame.sort_values(key).reset_index(drop=True)
        )


def test_load_example_files_agrees_with_tf_parsing(mixed):
    result, _, _ = mixed
    files = [str(p) for p in result.transformed_examples["train"]]
    spec = result.output().transformed_feature_spec()
    parsed = pd.DataFrame(
        {k: v.numpy().item() for k, v in tf.io.parse_single_example(record, spec).items()}
        for record in tf.data.TFRecordDataset(files, compression_type="GZIP")
    )
    loaded = transform.load_example_files(files)  # types inferred from the examples themselves
    assert list(loaded.columns) == OUTPUTS
    pd.testing.assert_frame_equal(loaded, parsed[OUTPUTS], check_dtype=False)


# --- dict rows, options and the analyzer cache ------------------------------------------------


def sum_fn(inputs):
    """Sum a ragged feature per row and scale it to [0, 1]."""
    dense = tf.sparse.to_dense(inputs["v"])
    return {"v_sum_scaled": tft.scale_to_0_1(tf.reduce_sum(dense, axis=1))}


def test_dict_rows_run_multi_threaded_and_rerun_into_the_same_dirs_from_the_cache(tmp_path):
    rows = [{"v": [1, 2]}, {"v": []}, {"v": [5, 5, 5]}, {"v": [3]}]
    schema = transform.infer_raw_schema(rows)
    options = ["--direct_running_mode=multi_threading", "--direct_num_workers=2"]
    graph, examples, cache = tmp_path / "graph", tmp_path / "examples", tmp_path / "cache"
    # The pipeline layer's layout: the graph dir doubles as the output dir.
    dirs = {"output_dir": graph, "transform_graph_dir": graph, "examples_dir": examples}
    kwargs = {"schema": schema, "cache_dir": cache, "write_examples": True, **dirs}
    first = transform.transform_data(sum_fn, rows, beam_pipeline_args=options, batch_size=2, **kwargs)
    expected = [3 / 15, 0.0, 1.0, 3 / 15]
    np.testing.assert_allclose(first.transformed["train"]["v_sum_scaled"], expected)
    cached = sorted(p.name for p in cache.iterdir())
    assert len(cached) == 1 and cached[0].startswith("train-")

    again = transform.transform_data(sum_fn, rows, **kwargs)
    pd.testing.assert_frame_equal(again.transformed["train"], first.transformed["train"])
    assert sorted(p.name for p in cache.iterdir()) == cached  # same data, same key
    assert again.transform_graph_dir == graph
    assert sorted(p.name for p in graph.iterdir()) == ["transform_fn", "transformed_metadata"]
    assert again.transformed_examples == {"train": sorted((examples / "Split-train").iterdir())}
    assert len(again.transformed_examples["train"]) == 1


def scale_fn(inputs):
    """Scale x to [0, 1] with the analyzed min and max: the output shows which data was analyzed."""
    return {"x_scaled": tft.scale_to_0_1(inputs["x"])}


def test_the_analyzer_cache_is_keyed_by_the_data_and_read_back(tmp_path, monkeypatch):
    small = pd.DataFrame({"x": [0.0, 5.0, 10.0]})
    wide = pd.DataFrame({"x": [0.0, 5.0, 20.0]})
    cache = tmp_path / "cache"

    def run(frame: pd.DataFrame, name: str) -> list[float]:
        result = transform.transform_data(scale_fn, frame, output_dir=tmp_path / name, cache_dir=cache)
        return result.transformed["train"]["x_scaled"].tolist()

    assert run(small, "a") == pytest.approx([0.0, 0.5, 1.0])
    (entry,) = cache.iterdir()
    assert entry.name == f"train-{transform._fingerprint(small)}"  # keyed by the data's fingerprint
    # A cached entry is read back: give the wide data the small data's key, and the stored
    # analyzer results (max 10) are what the transform uses instead of the wide data's max 20.
    # (That the key changes with the data is test_fingerprints_change_with_the_content.)
    small_key = transform._fingerprint(small)
    monkeypatch.setattr(transform, "_fingerprint", lambda source: small_key)
    assert run(wide, "b") == pytest.approx([0.0, 0.5, 2.0])


def test_fingerprints_change_with_the_content(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0], "s": ["a", "b"]})
    assert transform._fingerprint(frame) == transform._fingerprint(frame.copy())
    assert transform._fingerprint(frame) != transform._fingerprint(frame.assign(x=[1.0, 2.5]))
    assert transform._fingerprint(frame) != transform._fingerprint(frame.rename(columns={"s": "t"}))
    rows = [{"v": [1, 2]}, {"v": []}]
    assert transform._fingerprint(rows) != transform._fingerprint([{"v": [1, 3]}, {"v": []}])
    # the rows are what the pipeline reads; the index is not
    assert transform._fingerprint(frame) == transform._fingerprint(frame.set_axis([10, 11]))
    path = tmp_path / "data.csv"
    path.write_text("x\n1\n")
    before = transform._fingerprint(str(path)), transform._fingerprint([str(path)])
    path.write_text("x\n1\n2\n")
    assert transform._fingerprint(str(path)) != before[0]
    assert transform._fingerprint([str(path)]) != before[1]  # a list of files, not of rows
