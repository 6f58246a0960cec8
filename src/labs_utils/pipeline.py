"""A small TFX-like component layer: ExampleGen, StatisticsGen, SchemaGen, ImportSchemaGen,
ExampleValidator and Transform as plain functions over a pipeline ``Context``.

TFX does not install on this stack, so each component here does what its TFX namesake does, on the
same libraries (TFDV, TFT, tfx-bsl, Beam): it writes its artifacts under
``<root>/<Component>/<artifact>/<execution id>/`` and records in MLMD the artifact types TFX uses
(Examples, ExampleStatistics, Schema, ExampleAnomalies, TransformGraph), the execution with its
INPUT/OUTPUT events, and the pipeline and pipeline-run contexts. Lineage queries live in
``labs_utils.metadata``.
"""

from __future__ import annotations

import copy
import csv
import datetime
import gzip
import importlib.util
import json
import os
import shutil
import struct
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import tensorflow as tf
import tensorflow_data_validation as tfdv
import tensorflow_transform as tft
from apache_beam.options.pipeline_options import PipelineOptions
from google.protobuf import text_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio

from labs_utils import inputs, metadata  # inputs: issue 11's checks of bad input files
from labs_utils import transform as transform_lib

DEFAULT_SPLITS = {"train": 2, "eval": 1}

# The MLMD artifact types TFX registers, with the properties TFX gives them.
ARTIFACT_TYPES = {
    "Examples": {"span": metadata.INT, "version": metadata.INT, "split_names": metadata.STRING},
    "ExampleStatistics": {"span": metadata.INT, "split_names": metadata.STRING},
    "Schema": {},
    "ExampleAnomalies": {"span": metadata.INT, "split_names": metadata.STRING},
    "TransformGraph": {},
}

EXAMPLES_FILE = "data_tfrecord-00000-of-00001.gz"
STATS_FILE = "FeatureStats.pb"
SCHEMA_FILE = "schema.pbtxt"
ANOMALIES_FILE = "SchemaDiff.pb"

# Decoded Arrow data plus TFDV's working copies take several times the gzip size on disk;
# StatisticsGen stays in-process while that estimate uses under half the available memory.
_IN_MEMORY_EXPANSION = 12
_GZIP_MAGIC = b"\x1f\x8b"
_ENCODE_BATCH = 20_000
_INT64_RANGE = (-(2**63), 2**63 - 1)


# --- the pipeline context ---------------------------------------------------------------------


@dataclass
class Context:
    """Where a pipeline run keeps its artifacts, its MLMD store and its Beam options."""

    root: Path
    store: metadata_store.MetadataStore
    pipeline_name: str
    beam_options: PipelineOptions
    pipeline_context: metadata_store_pb2.Context
    run_context: metadata_store_pb2.Context
    # wall seconds per component run, in run order ("StatisticsGen #2" for a second run)
    timings: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Context(pipeline_name={self.pipeline_name!r}, root={str(self.root)!r}, run_id={self.run_id!r})"
        )

    @property
    def run_id(self) -> str:
        """Return the unique name of this run's ``pipeline_run`` context."""
        return self.run_context.name

    @property
    def contexts(self) -> list[metadata_store_pb2.Context]:
        """Return the pipeline and pipeline-run contexts every execution is attached to."""
        return [self.pipeline_context, self.run_context]


def create_context(
    root: str | Path,
    *,
    pipeline_name: str,
    metadata_path: str | Path | None = None,
    beam_options: Sequence[str] | PipelineOptions | None = None,
) -> Context:
    """Create a pipeline context: artifact root, SQLite MLMD store and a fresh pipeline-run context.

    Args:
        root: pipeline root; components write under ``<root>/<Component>/``.
        metadata_path: SQLite file of the MLMD store (default ``<root>/metadata.sqlite``).
        beam_options: Beam flags or ``PipelineOptions`` (in-process DirectRunner by default; see
            ``transform.beam_pipeline_options``).

    Reusing a root reuses its store: types are shared, and each call starts a new run context.
    Introduced in c2w2_lab_transform_pipeline_census.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    store = metadata.open_store(metadata_path or root / "metadata.sqlite")
    for name, properties in ARTIFACT_TYPES.items():
        metadata.register_artifact_type(store, name, properties)
    pipeline = metadata.get_or_create_context(store, "pipeline", pipeline_name)
    metadata.register_context_type(store, "pipeline_run")
    run_id = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    while store.get_context_by_type_and_name("pipeline_run", f"{pipeline_name}:{run_id}"):
        run_id = f"{run_id}-{uuid.uuid4().hex[:6]}"
    run = metadata.get_or_create_context(store, "pipeline_run", f"{pipeline_name}:{run_id}", parent=pipeline)
    options = transform_lib.beam_pipeline_options(beam_options)
    return Context(root, store, pipeline_name, options, pipeline, run)


# --- artifact handles ----------------------------------------------------------------------------


@dataclass
class Artifact:
    """A component output: the stored MLMD artifact plus helpers to find and read its files."""

    mlmd: metadata_store_pb2.Artifact
    type_name: str

    def __repr__(self) -> str:
        splits = f", split_names={self.split_names}" if self.split_names else ""
        return f"Artifact(type_name={self.type_name!r}, id={self.id}, uri={self.uri!r}{splits})"

    @property
    def id(self) -> int:
        return self.mlmd.id

    @property
    def uri(self) -> str:
        return self.mlmd.uri

    @property
    def path(self) -> Path:
        return Path(self.mlmd.uri)

    @property
    def split_names(self) -> list[str]:
        """Return the split names recorded in the ``split_names`` property (TFX's JSON list)."""
        raw = metadata.property_value(self.mlmd, "split_names")
        return json.loads(raw) if raw else []

    @property
    def properties(self) -> dict[str, Any]:
        """Return properties and custom properties as one dict of python values."""
        table = metadata.properties_table(self.mlmd)
        return dict(zip(table["property"], table["value"], strict=True))

    def split_uri(self, split: str) -> str:
        """Return the directory of one split (``<uri>/Split-<split>``)."""
        if split not in self.split_names:
            raise KeyError(f"{self.type_name} artifact has no split {split!r}: {self.split_names}")
        return str(self.path / f"Split-{split}")

    def files(self, split: str) -> list[str]:
        """Return the data files of one split, sorted."""
        return sorted(str(p) for p in Path(self.split_uri(split)).iterdir() if p.is_file())

    def read(self, split: str = "train", n: int | None = 3) -> list[dict[str, Any]]:
        """Return the first ``n`` tf.Examples of a split (all if None) as dicts of python values.

        Single values come back as scalars, lists stay lists, bytes become ``str`` when they are
        UTF-8 text, and a feature present without values (an empty CSV cell) is None.
        Introduced in c2w2_lab_transform_pipeline_census.
        """
        self._require_examples()
        rows = []
        for record in _records(self.files(split)):
            if n is not None and len(rows) >= n:
                break
            rows.append(example_to_dict(tf.train.Example.FromString(record)))
        return rows

    def count(self, split: str) -> int:
        """Return the number of records in a split."""
        self._require_examples()
        return sum(1 for _ in _records(self.files(split)))

    def _require_examples(self) -> None:
        if self.type_name != "Examples":
            raise TypeError(f"only Examples artifacts hold records; this is {self.type_name}")


def example_to_dict(example: tf.train.Example) -> dict[str, Any]:
    """Convert a tf.Example to ``{feature: value}`` with plain python values, keys sorted."""
    row = {}
    for name in sorted(example.features.feature):
        feature = example.features.feature[name]
        kind = feature.WhichOneof("kind")
        if kind is None:
            row[name] = None
            continue
        values = [transform_lib.as_text(v) for v in getattr(feature, kind).value]
        row[name] = values[0] if len(values) == 1 else values
    return row


def _records(files: Sequence[str | Path]) -> Iterator[bytes]:
    """Yield raw records of TFRecord files, gzip or not (framing only; CRCs are not checked)."""
    for path in files:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
        with (gzip.open if gzipped else open)(path, "rb") as stream:
            while header := stream.read(12):
                if len(header) < 12:
                    raise ValueError(f"{path} is truncated: not a complete TFRecord file")
                (length,) = struct.unpack("<Q", header[:8])
                data = stream.read(length)
                if len(data) < length or len(stream.read(4)) < 4:
                    raise ValueError(f"{path} is truncated: not a complete TFRecord file")
                yield data


# --- running a component ------------------------------------------------------------------------


@dataclass
class _Output:
    type_name: str
    properties: dict[str, Any]
    custom_properties: dict[str, Any]


def _run_component(
    ctx: Context,
    component: str,
    inputs: Mapping[str, Artifact],
    parameters: Mapping[str, Any],
    produce: Callable[[dict[str, Path]], dict[str, _Output]],
    output_keys: Sequence[str],
) -> dict[str, Artifact]:
    """Run ``produce`` as one MLMD execution; register its outputs only if it succeeds."""
    store = ctx.store
    start = time.perf_counter()
    execution = metadata.start_execution(
        store,
        component,
        {key: [artifact.mlmd] for key, artifact in inputs.items()},
        contexts=ctx.contexts,
        properties={k: v for k, v in parameters.items() if v is not None},
    )
    dirs = {key: ctx.root / component / key / str(execution.id) for key in output_keys}
    try:
        for directory in dirs.values():
            _fresh_dir(store, directory)
        outputs = produce(dirs)
    except BaseException:
        metadata.fail_execution(store, execution)
        for directory in dirs.values():
            shutil.rmtree(directory, ignore_errors=True)
        raise
    artifacts = {}
    for key, output in outputs.items():
        metadata.register_artifact_type(store, output.type_name, ARTIFACT_TYPES[output.type_name])
        custom = {"producer_component": component, **output.custom_properties}
        artifacts[key] = metadata.new_artifact(
            store,
            output.type_name,
            dirs[key],
            properties=output.properties,
            custom_properties=custom,
        )
    metadata.complete_execution(
        store,
        execution,
        {key: [artifact] for key, artifact in artifacts.items()},
        contexts=ctx.contexts,
    )
    runs = sum(1 for name in ctx.timings if name.split(" #")[0] == component)
    ctx.timings[component if runs == 0 else f"{component} #{runs + 1}"] = round(
        time.perf_counter() - start, 2
    )
    return {key: Artifact(artifact, outputs[key].type_name) for key, artifact in artifacts.items()}


def _fresh_dir(store: metadata_store.MetadataStore, directory: Path) -> None:
    # A directory left from a store that was deleted (execution ids restart at 1) is stale; one
    # that the store knows about must never be overwritten.
    if directory.exists():
        if store.get_artifacts_by_uri(str(directory)):
            raise FileExistsError(f"{directory} belongs to a registered artifact; use a new root")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


def _split_properties(split_names: Sequence[str], **extra: Any) -> dict[str, Any]:
    return {"split_names": json.dumps(list(split_names)), "span": 0, **extra}


# --- ExampleGen ---------------------------------------------------------------------------------


def example_gen(
    ctx: Context,
    input_path: str | Path,
    *,
    input_format: str = "csv",
    splits: Mapping[str, int] | None = None,
    hash_key: str | None = None,
) -> Artifact:
    """Ingest CSV or TFRecord files into hash-split gzip TFRecords of tf.Example (ExampleGen).

    Args:
        input_path: a file or a directory of ``*.csv`` / TFRecord files (CSV needs a header row;
            ``.csv.gz`` works).
        input_format: ``"csv"`` (types inferred per column like TFX's CsvExampleGen: INT if every
            value is an integer, FLOAT if every value is a number, else BYTES with the raw text
            kept; an empty cell is a missing value) or ``"tfrecord"`` (tf.Examples imported
            unchanged, like ImportExampleGen).
        splits: split name -> hash buckets; default ``{"train": 2, "eval": 1}``. A record goes to
            the split that owns bucket ``Fingerprint64(key) % sum(buckets)`` (farmhash, as TFX's
            ExampleGen), so every rerun splits the same way.
        hash_key: feature whose first value is the key, so equal values stay together;
            default: the whole (canonically serialized) example.

    Returns:
        The ``Examples`` artifact with ``Split-<name>/data_tfrecord-00000-of-00001.gz`` per split.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    splits = dict(DEFAULT_SPLITS if splits is None else splits)
    if not splits or any(not isinstance(w, int) or w <= 0 for w in splits.values()):
        raise ValueError(f"splits must map split names to positive integer buckets, got {splits}")
    if input_format not in ("csv", "tfrecord"):
        raise ValueError(f"input_format must be 'csv' or 'tfrecord', got {input_format!r}")
    files = _input_files(Path(input_path), input_format)
    parameters = {
        "input_base": str(Path(input_path).resolve()),
        "input_format": input_format,
        "splits": splits,
        "hash_key": hash_key,
    }

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        batches = _csv_examples(files) if input_format == "csv" else _tfrecord_examples(files)
        _write_splits(batches, dirs["examples"], splits, hash_key)
        properties = _split_properties(splits, version=0)
        custom = {"file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE"}
        return {"examples": _Output("Examples", properties, custom)}

    outputs = _run_component(ctx, "ExampleGen", {}, parameters, produce, ["examples"])
    return outputs["examples"]


def _input_files(path: Path, input_format: str) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"ExampleGen input {path} does not exist")
    patterns = ("*.csv", "*.csv.gz") if input_format == "csv" else ("*",)
    files = sorted({p for pattern in patterns for p in path.glob(pattern) if p.is_file()})
    files = [p for p in files if not p.name.startswith(".")]
    if not files:
        raise FileNotFoundError(f"no {input_format} files in {path}")
    return files


def _write_splits(
    batches: Iterator[list[bytes]], out_dir: Path, splits: Mapping[str, int], hash_key: str | None
) -> None:
    """Hash each record into a split and append it to that split's gzip TFRecord file."""
    names = list(splits)
    # Split i takes buckets [sum(w[:i]), sum(w[:i+1])): TFX's bisect over cumulative buckets.
    bounds = np.cumsum([splits[name] for name in names])
    writers = {}
    for name in names:
        (out_dir / f"Split-{name}").mkdir(parents=True, exist_ok=True)
        path = str(out_dir / f"Split-{name}" / EXAMPLES_FILE)
        writers[name] = tf.io.TFRecordWriter(path, options="GZIP")
    try:
        for records in batches:
            keys = records if hash_key is None else [_partition_key(r, hash_key) for r in records]
            buckets = tf.strings.to_hash_bucket_fast(keys, int(bounds[-1])).numpy()
            for record, index in zip(records, np.searchsorted(bounds, buckets, side="right"), strict=True):
                writers[names[index]].write(record)
    finally:
        for writer in writers.values():
            writer.close()


def _partition_key(record: bytes, feature_name: str) -> bytes:
    feature = tf.train.Example.FromString(record).features.feature.get(feature_name)
    kind = feature.WhichOneof("kind") if feature is not None else None
    values = getattr(feature, kind).value if kind else []
    if not values:
        raise ValueError(f"hash_key feature {feature_name!r} is missing from a record")
    value = values[0]
    return value if isinstance(value, bytes) else str(value).encode()


def _deterministic(records: Sequence[bytes]) -> list[bytes]:
    # The C++ encoder's map order varies between processes; a canonical serialization keeps the
    # hash split (and the files) identical across reruns.
    return [tf.train.Example.FromString(r).SerializeToString(deterministic=True) for r in records]


def _tfrecord_examples(files: Sequence[Path]) -> Iterator[list[bytes]]:
    batch = []
    for record in _records(files):
        batch.append(record)
        if len(batch) == _ENCODE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as f:
        header = next(csv.reader(f), None)
    if not header:
        raise ValueError(f"{path} has no header row; ExampleGen needs column names in line 1")
    return header


def _read_csv_as_text(files: Sequence[Path]) -> pa.Table:
    """Read CSV files with every column as raw text (leading blanks kept, empty cells '')."""
    header = _csv_header(files[0])
    tables = []
    for path in files:
        if _csv_header(path) != header:
            raise ValueError(f"{path} has a different header from {files[0]}")
        tables.append(
            pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                ),
            )
        )
    return pa.concat_tables(tables)


def _infer_kind(text: str) -> int:
    """Return 0 for INT, 1 for FLOAT, 2 for STRING, the way tfx-bsl's CSV decoder decides."""
    try:
        value = int(text)
        return 0 if _INT64_RANGE[0] <= value <= _INT64_RANGE[1] else 2
    except ValueError:
        try:
            float(text)
            return 1
        except ValueError:
            return 2


def _typed_column(column: pa.ChunkedArray) -> pa.Array | None:
    """Convert one text column to int64 / float32 / binary values, '' -> null; None if all empty."""
    column = column.combine_chunks()
    uniques = [u for u in pc.unique(column).to_pylist() if u != ""]
    if not uniques:
        return None
    kind = max(_infer_kind(u) for u in uniques)
    if kind == 0:
        values = pa.array([int(u) for u in uniques], pa.int64())
    elif kind == 1:
        values = pa.array([float(u) for u in uniques], pa.float32())
    else:
        values = pa.array([u.encode("utf-8") for u in uniques], pa.binary())
    return values.take(pc.index_in(column, value_set=pa.array(uniques, pa.string())))


def _list_column(values: pa.Array) -> pa.Array:
    """Wrap one value per row into a list array; null rows become null lists (missing)."""
    valid = np.asarray(values.is_valid())
    offsets = pa.array(np.concatenate([[0], np.cumsum(valid)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, values.drop_null(), mask=pa.array(~valid))


def _csv_examples(files: Sequence[Path]) -> Iterator[list[bytes]]:
    """Yield batches of serialized tf.Examples built from CSV rows."""
    table = inputs.read_checked(_read_csv_as_text, files)  # issue 11: name the bad file, line, cause
    columns = {}
    for name in table.column_names:
        typed = _typed_column(table.column(name))
        if typed is not None:
            columns[name] = _list_column(typed)
    del table
    if not columns:
        raise ValueError(f"{files[0]} has no values")
    batch = pa.RecordBatch.from_arrays(list(columns.values()), list(columns))
    encoder = example_coder.RecordBatchToExamplesEncoder()
    for start in range(0, batch.num_rows, _ENCODE_BATCH):
        yield _deterministic(encoder.encode(batch.slice(start, _ENCODE_BATCH)))


# --- StatisticsGen ------------------------------------------------------------------------------


def statistics_gen(
    ctx: Context,
    examples: Artifact,
    *,
    schema: Artifact | None = None,
    stats_options: tfdv.StatsOptions | None = None,
    beam: bool = False,
) -> Artifact:
    """Compute TFDV statistics for every split of ``examples`` (StatisticsGen).

    Args:
        schema: a Schema artifact to put into the stats options (with
            ``StatsOptions(infer_type_from_schema=True)`` types then follow the schema).
        stats_options: ``tfdv.StatsOptions``; not modified (a copy gets the schema).
        beam: run ``tfdv.GenerateStatistics`` in a Beam pipeline with ``ctx.beam_options``.
            By default a split that fits in memory is decoded into one Arrow RecordBatch and
            computed in-process (TFDV's ``generate_statistics_in_memory``: ~1 s where the Beam
            DirectRunner takes ~40 s on 100k rows); larger splits take the Beam path anyway.

    Returns:
        The ``ExampleStatistics`` artifact with ``Split-<name>/FeatureStats.pb`` per split.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    options = copy.copy(stats_options) if stats_options is not None else tfdv.StatsOptions()
    if schema is not None:
        options.schema = load_schema(schema)
    split_names = examples.split_names
    use_beam = beam or not all(_fits_in_memory(examples.files(s)) for s in split_names)
    inputs = {"examples": examples, **({"schema": schema} if schema is not None else {})}
    parameters = {"stats_options_json": _options_json(options), "beam": use_beam}

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        out = dirs["statistics"]
        paths = {split: out / f"Split-{split}" / STATS_FILE for split in split_names}
        for path in paths.values():
            path.parent.mkdir(parents=True)
        if use_beam:
            _beam_statistics(ctx, examples, options, paths)
        else:
            for split, path in paths.items():
                path.write_bytes(_in_memory_statistics(examples, split, options).SerializeToString())
        return {"statistics": _Output("ExampleStatistics", _split_properties(split_names), {})}

    outputs = _run_component(ctx, "StatisticsGen", inputs, parameters, produce, ["statistics"])
    return outputs["statistics"]


def _options_json(options: tfdv.StatsOptions) -> str:
    light = copy.copy(options)
    light.schema = None  # the schema is an input artifact; don't copy it into MLMD
    try:
        return light.to_json()
    except ValueError as exc:  # slice functions and custom generators can't be serialized
        return json.dumps({"unserializable": str(exc)})


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2 * 1024**3


def _fits_in_memory(files: Sequence[str]) -> bool:
    size = sum(Path(f).stat().st_size for f in files)
    return size * _IN_MEMORY_EXPANSION < _available_memory() // 2


def _in_memory_statistics(
    examples: Artifact, split: str, options: tfdv.StatsOptions
) -> statistics_pb2.DatasetFeatureStatisticsList:
    records = list(_records(examples.files(split)))
    if not records:
        raise ValueError(f"split {split!r} of {examples.uri} is empty: nothing to describe")
    batch = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(records)
    return stats_impl.generate_statistics_in_memory(batch, options)


def _beam_statistics(
    ctx: Context, examples: Artifact, options: tfdv.StatsOptions, paths: Mapping[str, Path]
) -> None:
    with beam.Pipeline(options=ctx.beam_options) as pipeline:
        for split, path in paths.items():
            source = tfxio.TFExampleRecord(
                file_pattern=examples.files(split),
                telemetry_descriptors=["labs_utils", "StatisticsGen"],
            )
            _ = (
                pipeline
                | f"Read[{split}]" >> source.BeamSource()
                | f"Stats[{split}]" >> tfdv.GenerateStatistics(options)
                | f"Write[{split}]" >> tfdv.WriteStatisticsToBinaryFile(str(path))
            )


def load_statistics(
    statistics: Artifact, split: str = "train"
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Load one split's statistics from an ExampleStatistics artifact.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return tfdv.load_stats_binary(str(Path(statistics.split_uri(split)) / STATS_FILE))


# --- SchemaGen and ImportSchemaGen --------------------------------------------------------------


def schema_gen(
    ctx: Context,
    statistics: Artifact,
    *,
    infer_feature_shape: bool = False,
    splits: Sequence[str] = ("train",),
) -> Artifact:
    """Infer a schema from statistics with ``tfdv.infer_schema`` (SchemaGen).

    Args:
        infer_feature_shape: give features that always have one value a fixed shape (dense
            tensors in Transform) instead of none (sparse tensors).
        splits: the statistics splits to learn from: the first is inferred, the rest update it.
            Default train only, so a category that only eval has is an anomaly (TFX's SchemaGen
            reads every split and would fold it into the domain).

    Returns:
        The ``Schema`` artifact holding ``schema.pbtxt``.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    missing = [s for s in splits if s not in statistics.split_names]
    if not splits or missing:
        raise ValueError(f"splits {list(splits)} must name splits of {statistics.split_names}")
    parameters = {"infer_feature_shape": infer_feature_shape, "splits": list(splits)}

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        schema = None
        for split in splits:
            stats = load_statistics(statistics, split)
            if schema is None:
                schema = tfdv.infer_schema(stats, infer_feature_shape=infer_feature_shape)
            else:
                schema = tfdv.update_schema(schema, stats, infer_feature_shape=infer_feature_shape)
        tfdv.write_schema_text(schema, str(dirs["schema"] / SCHEMA_FILE))
        return {"schema": _Output("Schema", {}, {})}

    inputs = {"statistics": statistics}
    return _run_component(ctx, "SchemaGen", inputs, parameters, produce, ["schema"])["schema"]


def read_schema_file(path: str | Path) -> schema_pb2.Schema:
    """Parse a schema text file, raising a ValueError that names the file and the fix."""
    path = Path(path)
    fix = "write it with tfdv.write_schema_text(schema, path) and rerun"
    inputs.check_schema_path(path)  # issue 11: a directory is not "missing"
    if not path.is_file():
        raise ValueError(f"schema file {path} does not exist: {fix}")
    try:
        schema = text_format.Parse(path.read_text(encoding="utf-8"), schema_pb2.Schema())
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise ValueError(f"schema file {path} is not a valid Schema text proto ({exc}): {fix}") from exc
    if not schema.feature:
        raise ValueError(f"schema file {path} defines no features: {fix}")
    inputs.check_schema(schema, path)  # issue 11: duplicate names, domains that don't fit the type
    return schema


def import_schema_gen(ctx: Context, schema_file: str | Path) -> Artifact:
    """Import a curated ``schema.pbtxt`` as a Schema artifact (ImportSchemaGen).

    The file is parsed first: a missing or corrupt file raises a ValueError and records nothing.
    Introduced in c2w3_lab_iterative_schema.
    """
    schema_file = Path(schema_file).resolve()
    read_schema_file(schema_file)

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        shutil.copyfile(schema_file, dirs["schema"] / SCHEMA_FILE)
        return {"schema": _Output("Schema", {}, {})}

    parameters = {"schema_file": str(schema_file)}
    return _run_component(ctx, "ImportSchemaGen", {}, parameters, produce, ["schema"])["schema"]


def load_schema(schema: Artifact) -> schema_pb2.Schema:
    """Load the schema of a Schema artifact.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return read_schema_file(schema.path / SCHEMA_FILE)


# --- ExampleValidator ---------------------------------------------------------------------------


def example_validator(
    ctx: Context,
    statistics: Artifact,
    schema: Artifact,
    *,
    environment: str | None = None,
) -> Artifact:
    """Validate every split's statistics against a schema (ExampleValidator).

    Returns:
        The ``ExampleAnomalies`` artifact with ``Split-<name>/SchemaDiff.pb`` (an Anomalies proto).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    split_names = statistics.split_names

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        schema_proto = load_schema(schema)
        for split in split_names:
            anomalies = tfdv.validate_statistics(
                load_statistics(statistics, split), schema_proto, environment=environment
            )
            path = dirs["anomalies"] / f"Split-{split}" / ANOMALIES_FILE
            path.parent.mkdir(parents=True)
            path.write_bytes(anomalies.SerializeToString())
        return {"anomalies": _Output("ExampleAnomalies", _split_properties(split_names), {})}

    inputs = {"statistics": statistics, "schema": schema}
    parameters = {"environment": environment}
    outputs = _run_component(ctx, "ExampleValidator", inputs, parameters, produce, ["anomalies"])
    return outputs["anomalies"]


def load_anomalies(anomalies: Artifact, split: str = "eval") -> anomalies_pb2.Anomalies:
    """Load one split's anomalies from an ExampleAnomalies artifact.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    path = Path(anomalies.split_uri(split)) / ANOMALIES_FILE
    return anomalies_pb2.Anomalies.FromString(path.read_bytes())


# --- Transform ----------------------------------------------------------------------------------


@dataclass
class TransformOutputs:
    """Transform's two artifacts and the helper's result (graph dir, transformed schema)."""

    transform_graph: Artifact
    transformed_examples: Artifact
    result: transform_lib.TransformResult

    def output(self) -> tft.TFTransformOutput:
        """Load the transform graph as a ``tft.TFTransformOutput``."""
        return load_transform_output(self.transform_graph)


def load_preprocessing_fn(module_file: str | Path) -> Callable:
    """Import ``preprocessing_fn`` from a Python file (its folder is importable while loading).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    path = Path(module_file).resolve()
    if not path.is_file():
        raise ValueError(f"module file {path} does not exist")
    name = f"_labs_transform_module_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered like an import, so the module (and the globals preprocessing_fn uses) stays alive.
    sys.modules[name] = module
    # Course module files import a constants module that sits next to them.
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    fn = getattr(module, "preprocessing_fn", None)
    if not callable(fn):
        raise ValueError(
            f"module file {path} defines no preprocessing_fn: add "
            "`def preprocessing_fn(inputs): ...` returning a dict of transformed features"
        )
    return fn


def transform(
    ctx: Context,
    examples: Artifact,
    schema: Artifact,
    *,
    module_file: str | Path | None = None,
    preprocessing_fn: Callable | None = None,
    analyze_split: str = "train",
) -> TransformOutputs:
    """Analyze the train split with a ``preprocessing_fn`` and transform every split (Transform).

    Args:
        module_file: a Python file defining ``preprocessing_fn`` (TFX's style); or pass
            ``preprocessing_fn`` directly. Exactly one of the two.
        analyze_split: the split whose full-pass statistics (means, vocabularies) are computed.

    Returns:
        ``TransformOutputs`` with the ``TransformGraph`` artifact (``transform_fn/``,
        ``transformed_metadata/``) and the transformed ``Examples`` artifact.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    if (module_file is None) == (preprocessing_fn is None):
        raise ValueError("pass exactly one of module_file= and preprocessing_fn=")
    fn = load_preprocessing_fn(module_file) if module_file is not None else preprocessing_fn
    split_names = examples.split_names
    if analyze_split not in split_names:
        raise ValueError(f"analyze_split {analyze_split!r} is not one of {split_names}")
    parameters = {
        "module_file": str(Path(module_file).resolve()) if module_file is not None else None,
        "preprocessing_fn": f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', fn)}",
        "analyze_split": analyze_split,
    }
    results = []

    def produce(dirs: dict[str, Path]) -> dict[str, _Output]:
        result = transform_lib.transform_data(
            fn,
            {split: examples.files(split) for split in split_names},
            schema=load_schema(schema),
            analyze_split=analyze_split,
            output_dir=dirs["transform_graph"],
            transform_graph_dir=dirs["transform_graph"],
            examples_dir=dirs["transformed_examples"],
            write_examples=True,
            materialize=False,
            beam_options=ctx.beam_options,
        )
        results.append(result)
        properties = _split_properties(split_names, version=0)
        custom = {"file_format": "tfrecords_gzip", "payload_format": "FORMAT_TF_EXAMPLE"}
        return {
            "transform_graph": _Output("TransformGraph", {}, {}),
            "transformed_examples": _Output("Examples", properties, custom),
        }

    outputs = _run_component(
        ctx,
        "Transform",
        {"examples": examples, "schema": schema},
        parameters,
        produce,
        ["transform_graph", "transformed_examples"],
    )
    return TransformOutputs(outputs["transform_graph"], outputs["transformed_examples"], results[0])


def load_transform_output(transform_graph: Artifact) -> tft.TFTransformOutput:
    """Load a TransformGraph artifact as a ``tft.TFTransformOutput``.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return tft.TFTransformOutput(transform_graph.uri)
