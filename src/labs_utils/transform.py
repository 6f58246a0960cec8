"""tf.Transform plumbing: run a ``preprocessing_fn`` over a DataFrame, CSV or TFRecords with Beam.

The lesson calls (``tft.scale_to_0_1``, ``tft_beam.AnalyzeAndTransformDataset``) stay in the
notebooks; this module feeds them Arrow record batches through TFXIO, which is almost twice as fast
as feeding instance dicts (``tools/bench_transform.py`` measures both), and handles temp dirs and
Beam options.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from apache_beam.options.pipeline_options import PipelineOptions
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.beam import analyzer_cache
from tensorflow_transform.tf_metadata import schema_utils
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio

from labs_utils import feed, records, scaling

__all__ = [
    "DEFAULT_BEAM_FLAGS", "TransformResult", "as_text", "beam_pipeline_options", "infer_raw_schema",
    "load_example_files", "transform_data",
]  # fmt: skip

Source = feed.Source

DEFAULT_BEAM_FLAGS = scaling.DEFAULT_BEAM_FLAGS


@dataclass
class TransformResult:
    """What ``transform_data`` produced: the graph, its output schema and the transformed data."""

    transform_graph_dir: Path
    transformed_schema: schema_pb2.Schema
    transformed: dict[str, pd.DataFrame] = field(default_factory=dict)
    transformed_examples: dict[str, list[Path]] = field(default_factory=dict)

    def output(self) -> tft.TFTransformOutput:
        """Return the loaded transform graph (``transform_features_layer``, vocabularies, schema)."""
        return tft.TFTransformOutput(str(self.transform_graph_dir))


def beam_pipeline_options(
    beam_pipeline_args: Sequence[str] | PipelineOptions | None = None,
) -> PipelineOptions:
    """Return new explicit Beam options: in-process DirectRunner unless the flags say otherwise.

    Flags are parsed from the given list only, never from ``sys.argv`` (which inside Jupyter holds
    the kernel's arguments). Pass e.g. ``["--direct_running_mode=multi_processing",
    "--direct_num_workers=2"]`` to use both cores, or ``["--runner=PortableRunner", ...]`` /
    ``["--runner=DataflowRunner", ...]`` to run elsewhere (see ``labs_utils.scaling``).
    Introduced in c2w2_lab_simple_transform.
    """
    return scaling.pipeline_options(beam_pipeline_args)


def infer_raw_schema(data: pd.DataFrame | list[dict] | str | Path) -> schema_pb2.Schema:
    """Return a raw schema inferred from pandas dtypes: int→INT, float→FLOAT, other→BYTES.

    A column with one value in every row becomes a ``FixedLenFeature([])``; one with missing
    values or list cells a ``VarLenFeature`` (a sparse tensor in the ``preprocessing_fn``).
    A CSV path is read with pandas (header row required). Introduced in c2w2_lab_simple_transform.
    """
    frame = _as_frame(data)
    spec = {}
    for name, column in frame.items():
        lists = column.map(lambda v: isinstance(v, list | tuple | np.ndarray))
        if lists.any():
            values = pd.Series([x for v in column[lists] for x in v])
            spec[str(name)] = tf.io.VarLenFeature(_tf_dtype(values))
        elif column.isna().any():
            spec[str(name)] = tf.io.VarLenFeature(_tf_dtype(column.dropna().infer_objects()))
        else:
            spec[str(name)] = tf.io.FixedLenFeature([], _tf_dtype(column))
    return schema_utils.schema_from_feature_spec(spec)


def _tf_dtype(values: pd.Series) -> tf.dtypes.DType:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return tf.int64
    if pd.api.types.is_float_dtype(values):
        return tf.float32
    return tf.string


def _as_frame(data: pd.DataFrame | list[dict] | str | Path) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, list) and all(isinstance(row, Mapping) for row in data):
        return pd.DataFrame(data)
    if isinstance(data, str | Path) and str(data).endswith(".csv"):
        with tf.io.gfile.GFile(str(data)) as f:
            return pd.read_csv(f)
    raise ValueError(
        f"Cannot infer a raw schema from {_describe(data)}: pass schema=... "
        "(TFRecord inputs always need one, e.g. from tfdv.infer_schema or the SchemaGen artifact)."
    )


def _describe(data: Any) -> str:
    return repr(data) if isinstance(data, str | Path) else type(data).__name__


def transform_data(
    preprocessing_fn: Callable[[dict[str, Any]], dict[str, Any]],
    data: Source | Mapping[str, Source],
    *,
    schema: schema_pb2.Schema | None = None,
    analyze_split: str = "train",
    output_dir: str | Path | None = None,
    write_examples: bool = False,
    materialize: bool = True,
    beam_pipeline_args: Sequence[str] | None = None,
    batch_size: int | None = None,
    transform_graph_dir: str | Path | None = None,
    examples_dir: str | Path | None = None,
    tft_context: Mapping[str, Any] | None = None,
    cache_dir: str | Path | None = None,
    beam_options: Sequence[str] | PipelineOptions | None = None,
) -> TransformResult:
    """Return the results of analyzing one split with ``preprocessing_fn`` and transforming every split.

    Args:
        preprocessing_fn: the tf.Transform function (dict of raw tensors → dict of outputs).
        data: a source or ``{split: source}``; a source is a DataFrame, a list of instance dicts,
            a ``.csv`` path with a header row, or TFRecord file(s)/glob of serialized
            ``tf.Example`` (gzip detected by ``.gz`` suffix or the file's magic bytes).
        schema: raw schema; inferred from the analyze split for DataFrames, dicts and CSV.
        analyze_split: the split that ``AnalyzeAndTransformDataset`` sees; the others only get
            ``TransformDataset`` with the same transform function.
        output_dir: a local (or shared-filesystem) directory for the outputs and tf.Transform's
            scratch space, which is removed afterwards. ``None`` makes a ``tempfile.mkdtemp``
            directory that is *kept* (the graph must outlive this call); delete it when done.
        write_examples: also write gzip TFRecords of transformed ``tf.Example`` per split under
            ``examples_dir`` (default ``output_dir/transformed_examples``), TFX layout
            ``Split-<split>/transformed_examples-*.gz``.
        materialize: return each split's transformed rows as a DataFrame. Rows from DataFrames and
            dicts keep their input order; rows from files come in the runner's order.
        beam_pipeline_args: Beam flags as TFX spells them, e.g. ``["--direct_running_mode=
            multi_processing", "--direct_num_workers=2"]``; in-process DirectRunner when empty.
            See ``beam_pipeline_options``.
        batch_size: rows per record batch (TFXIO and TFT default when ``None``).
        transform_graph_dir: where the graph goes (default ``output_dir/transform_graph``).
        tft_context: extra ``tft_beam.Context`` arguments, e.g. ``use_deep_copy_optimization``.
        cache_dir: keep analyzer results here (``tft_beam.AnalyzeDatasetWithCache``); a rerun
            over identical analyze-split data and ``preprocessing_fn`` skips those analyzers.
        beam_options: deprecated spelling of ``beam_pipeline_args`` (also takes ``PipelineOptions``).

    Returns:
        A ``TransformResult``; ``result.output()`` is the ``tft.TFTransformOutput``.

    Introduced in c2w2_lab_simple_transform.
    """
    options = _options_from(beam_pipeline_args, beam_options)
    sources = dict(data) if isinstance(data, Mapping) else {analyze_split: data}
    if analyze_split not in sources:
        raise ValueError(f"analyze_split {analyze_split!r} is not one of {sorted(sources)}")
    if schema is None:
        schema = infer_raw_schema(sources[analyze_split])
    root = Path(output_dir) if output_dir is not None else Path(tempfile.mkdtemp(prefix="tft_"))
    graph_dir = Path(transform_graph_dir or root / "transform_graph")
    ex_dir = Path(examples_dir or root / "transformed_examples")
    scratch = root / f".tft_tmp_{uuid.uuid4().hex[:8]}"
    _remove_earlier_outputs(graph_dir, ex_dir, list(sources))
    context_args = {"temp_dir": str(scratch), "desired_batch_size": batch_size}
    context_args.update(tft_context or {})
    try:
        with (
            beam.Pipeline(options=options) as pipeline,
            tft_beam.Context(passthrough_keys={feed.ROW_KEY}, **context_args),
        ):
            raw = {
                split: feed.read_source(pipeline, split, source, schema, batch_size)
                for split, source in sources.items()
            }
            if cache_dir is None:
                analyze = tft_beam.AnalyzeAndTransformDataset(preprocessing_fn, output_record_batches=True)
                transformed, transform_fn = raw[analyze_split] | "AnalyzeAndTransform" >> analyze
            else:
                key = analyzer_cache.DatasetKey(f"{analyze_split}-{_fingerprint(sources[analyze_split])}")
                transform_fn = _analyze_with_cache(
                    pipeline, preprocessing_fn, raw[analyze_split], key, str(cache_dir)
                )
                transform = tft_beam.TransformDataset(output_record_batches=True)
                transformed = (raw[analyze_split], transform_fn) | "Transform" >> transform
            _ = transform_fn | "WriteTransformFn" >> tft_beam.WriteTransformFn(str(graph_dir))
            for split in sources:
                if split != analyze_split:
                    transform = tft_beam.TransformDataset(output_record_batches=True)
                    transformed = (raw[split], transform_fn) | f"Transform[{split}]" >> transform
                _write_split(split, transformed, write_examples, materialize, ex_dir, scratch)
        output = tft.TFTransformOutput(str(graph_dir))
        frames = (
            {split: _read_materialized(scratch / "materialized" / split) for split in sources}
            if materialize
            else {}
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    examples = (
        {split: sorted(ex_dir.glob(f"Split-{split}/*.gz")) for split in sources} if write_examples else {}
    )
    return TransformResult(graph_dir, output.transformed_metadata.schema, frames, examples)


def _options_from(
    beam_pipeline_args: Sequence[str] | None, beam_options: Sequence[str] | PipelineOptions | None
) -> PipelineOptions:
    """Return the options for one run from ``beam_pipeline_args`` or the deprecated ``beam_options``."""
    if beam_options is None:
        return beam_pipeline_options(beam_pipeline_args)
    if beam_pipeline_args is not None:
        raise TypeError("pass beam_pipeline_args only; beam_options is its deprecated spelling")
    warnings.warn(
        "transform_data(beam_options=...) is deprecated; pass beam_pipeline_args=[...] (TFX's name)",
        DeprecationWarning,
        stacklevel=3,
    )
    return beam_pipeline_options(beam_options)


def _remove_earlier_outputs(graph_dir: Path, examples_dir: Path, splits: list[str]) -> None:
    """Delete the graph and example shards an earlier run wrote; leave everything else alone."""
    # Old shards would mix with new ones, and WriteTransformFn cannot rename over a non-empty dir.
    for name in (tft.TFTransformOutput.TRANSFORM_FN_DIR, tft.TFTransformOutput.TRANSFORMED_METADATA_DIR):
        shutil.rmtree(graph_dir / name, ignore_errors=True)
    for split in splits:
        for shard in (examples_dir / f"Split-{split}").glob("transformed_examples-*"):
            shard.unlink()


def _analyze_with_cache(
    pipeline: beam.Pipeline,
    preprocessing_fn: Callable,
    dataset: tuple[beam.PCollection, tfxio.TensorAdapterConfig],
    key: analyzer_cache.DatasetKey,
    cache_dir: str,
) -> beam.PCollection:
    """Analyze with the cache under ``cache_dir`` for ``key`` and write back what was computed."""
    data, config = dataset
    input_cache = pipeline | "ReadCache" >> analyzer_cache.ReadAnalysisCacheFromFS(cache_dir, [key])
    transform_fn, output_cache = ({key: data}, input_cache, config) | "AnalyzeWithCache" >> (
        tft_beam.AnalyzeDatasetWithCache(preprocessing_fn)
    )
    _ = output_cache | "WriteCache" >> analyzer_cache.WriteAnalysisCacheToFS(pipeline, cache_dir, [key])
    return transform_fn


def _fingerprint(source: Source) -> str:
    """Return a short content hash of in-memory rows, or of file names, sizes and mtimes."""
    digest = hashlib.sha256()
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, list) and source and all(isinstance(r, Mapping) for r in source)
    ):
        frame = source if isinstance(source, pd.DataFrame) else pd.DataFrame(source)
        digest.update(pickle.dumps(list(frame.columns)))
        try:
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        except TypeError:  # list-valued cells are unhashable
            digest.update(pickle.dumps(frame.to_numpy().tolist()))
    else:
        patterns = [source] if isinstance(source, str | Path) else list(source)
        for path in sorted({f for p in patterns for f in tf.io.gfile.glob(str(p))}):
            stat = tf.io.gfile.stat(path)
            digest.update(f"{path}:{stat.length}:{stat.mtime_nsec}".encode())
    return digest.hexdigest()[:16]


def _write_split(
    split: str,
    transformed: tuple[beam.PCollection, Any],
    write_examples: bool,
    materialize: bool,
    examples_dir: Path,
    scratch: Path,
) -> None:
    """Attach the sinks for one split's transformed (RecordBatch, passthrough) pairs."""
    batches, metadata = transformed
    if write_examples:
        without_row_key = batches | f"DropRowKey[{split}]" >> beam.Map(
            lambda pair: (_drop_row_key(pair[0]), pair[1])
        )
        _ = (
            (without_row_key, metadata)
            | f"Encode[{split}]" >> tft_beam.EncodeTransformedDataset()
            | f"WriteExamples[{split}]"
            >> beam.io.WriteToTFRecord(
                str(examples_dir / f"Split-{split}" / "transformed_examples"),
                file_name_suffix=".gz",
                compression_type=beam.io.filesystem.CompressionTypes.GZIP,
            )
        )
    if materialize:
        # Arrow IPC bytes in a TFRecord file: a sink any runner has, read back after the run.
        _ = (
            batches
            | f"Serialize[{split}]" >> beam.Map(lambda pair: _record_batch_to_bytes(pair[0]))
            | f"WriteRows[{split}]" >> beam.io.WriteToTFRecord(str(scratch / "materialized" / split / "part"))
        )


def _drop_row_key(batch: pa.RecordBatch) -> pa.RecordBatch:
    index = batch.schema.get_field_index(feed.ROW_KEY)
    if index < 0:
        return batch
    keep = [i for i in range(batch.num_columns) if i != index]
    return pa.RecordBatch.from_arrays(
        [batch.column(i) for i in keep], names=[batch.schema.names[i] for i in keep]
    )


def _record_batch_to_bytes(batch: pa.RecordBatch) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _read_materialized(directory: Path) -> pd.DataFrame:
    """Read the Arrow batches written by ``_write_split`` back into one DataFrame."""
    files = sorted(str(p) for p in directory.glob("part*"))
    batches = []
    for record in records.read_records(files) if files else ():
        batches.extend(pa.ipc.open_stream(io.BytesIO(record)).read_all().to_batches())
    return _frame_from_batches(batches)


def load_example_files(
    source: str | Path | Sequence[str | Path], schema: schema_pb2.Schema | None = None
) -> pd.DataFrame:
    """Return the ``tf.Example``s of TFRecord file(s) or a glob (gzip detected) as a DataFrame.

    Features holding one value per row become scalar columns, others lists; bytes are decoded to
    str. With ``schema``, only its features are read, with its types. Introduced in
    c2w2_lab_simple_transform.
    """
    decoder = example_coder.ExamplesToRecordBatchDecoder(schema.SerializeToString() if schema else None)
    batches = []
    for path in records.tfrecord_files(source):
        serialized = list(records.read_records(path))
        if serialized:
            batches.append(decoder.DecodeBatch(serialized))
    return _frame_from_batches(batches)


def _frame_from_batches(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    """Concatenate record batches into a DataFrame, restoring input order when rows carry it."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return pd.DataFrame()
    # promote: files decoded without a schema may lack a feature another file has.
    table = pa.concat_tables([pa.Table.from_batches([b]) for b in batches], promote=True)
    frame = pd.DataFrame({name: _list_column_values(table.column(name)) for name in table.column_names})
    if feed.ROW_KEY in frame:
        frame = frame.sort_values(feed.ROW_KEY).drop(columns=feed.ROW_KEY).reset_index(drop=True)
    return frame[sorted(frame.columns)]


def _list_column_values(column: pa.ChunkedArray) -> np.ndarray | list:
    """Return scalars for a one-value-per-row list column, else Python lists (None when null)."""
    array = column.combine_chunks()
    lengths = pa.compute.list_value_length(array)
    if array.null_count == 0 and pa.compute.all(pa.compute.equal(lengths, 1)).as_py():
        values = array.flatten()
        if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
            return [as_text(v) for v in values.to_pylist()]
        return values.to_numpy(zero_copy_only=False)
    return [None if v is None else [as_text(x) for x in v] for v in array.to_pylist()]


def as_text(value: Any) -> Any:
    """Return UTF-8 bytes decoded to str; other values (and undecodable bytes) as they are."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    return value
