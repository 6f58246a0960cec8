"""Feed tf.Transform Arrow record batches from DataFrames and dicts, CSV files and TFRecord files.

``record_batches`` lays rows out like decoded ``tf.Example``s, with each row's position in a hidden
column so results come back in input order; ``read_source`` returns the Beam source and tensor
adapter config for one split, whatever kind of source it is.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pandas as pd
import pyarrow as pa
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx_bsl.public import tfxio

from labs_utils import records

__all__ = ["ROW_KEY", "Source", "read_source", "record_batches"]

Source = pd.DataFrame | list[dict] | str | Path | list[str | Path]
# Hidden column that carries each in-memory row's position through TFT (a passthrough key), so
# materialized frames come back in input order whatever order the runner emits batches in.
ROW_KEY = "__labs_row__"
ARROW_VALUE_TYPES = {
    schema_pb2.INT: pa.int64(),
    schema_pb2.FLOAT: pa.float32(),
    schema_pb2.BYTES: pa.large_binary(),
}


# --- reading sources into record batches -----------------------------------------------------


def read_source(
    pipeline: beam.Pipeline,
    split: str,
    source: Source,
    schema: schema_pb2.Schema,
    batch_size: int | None,
) -> tuple[beam.PCollection, tfxio.TensorAdapterConfig]:
    """Return ``(PCollection[RecordBatch], TensorAdapterConfig)`` for one split's source."""
    if isinstance(source, pd.DataFrame) or (
        isinstance(source, list) and source and all(isinstance(r, Mapping) for r in source)
    ):
        return _read_in_memory(pipeline, split, source, schema, batch_size)
    if isinstance(source, str | Path) and str(source).endswith(".csv"):
        return _read_csv(pipeline, split, source, schema, batch_size)
    return _read_tfrecords(pipeline, split, source, schema, batch_size)


def _read_in_memory(
    pipeline: beam.Pipeline,
    split: str,
    rows: pd.DataFrame | list[dict],
    schema: schema_pb2.Schema,
    batch_size: int | None,
) -> tuple[beam.PCollection, tfxio.TensorAdapterConfig]:
    config = _tensor_adapter_config(schema)
    batches = record_batches(rows, schema, batch_size=batch_size or 1000)
    pcoll = pipeline | f"Create[{split}]" >> beam.Create(batches, reshuffle=False)
    return pcoll, config


def _tensor_adapter_config(schema: schema_pb2.Schema) -> tfxio.TensorAdapterConfig:
    """Return the adapter config matching ``record_batches``: tf.Example types plus row index."""
    example_io = tfxio.TFExampleBeamRecord(physical_format="inmem", schema=schema)
    arrow_schema = example_io.ArrowSchema().append(pa.field(ROW_KEY, pa.large_list(pa.int64())))
    return tfxio.TensorAdapterConfig(arrow_schema, example_io.TensorRepresentations())


def record_batches(
    rows: pd.DataFrame | list[dict], schema: schema_pb2.Schema, *, batch_size: int = 1000
) -> list[pa.RecordBatch]:
    """Return rows as Arrow record batches laid out like decoded ``tf.Example``s.

    Each schema feature becomes a ``large_list`` column (missing values → null) and the row's
    position rides along in a hidden column. Introduced in c2w2_lab_simple_transform.
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    missing = [f.name for f in schema.feature if f.name not in frame.columns]
    if missing:
        raise ValueError(f"Columns {missing} are in the schema but not in the data")
    if not len(frame):
        raise ValueError("No rows to transform")
    # Convert chunk by chunk: a slice of one big batch would pickle the whole table's buffers.
    return [
        _record_batch(frame.iloc[start : start + batch_size], schema, start)
        for start in range(0, len(frame), batch_size)
    ]


def _record_batch(frame: pd.DataFrame, schema: schema_pb2.Schema, first_row: int) -> pa.RecordBatch:
    columns = {f.name: _list_array(frame[f.name], f.type) for f in schema.feature}
    rows = pd.Series(np.arange(first_row, first_row + len(frame)))
    columns[ROW_KEY] = _list_array(rows, schema_pb2.INT)
    return pa.RecordBatch.from_pydict(columns)


def _list_array(column: pd.Series, feature_type: int) -> pa.Array:
    """Return a ``large_list`` array for a column of scalars or of per-row lists."""
    value_type = ARROW_VALUE_TYPES[feature_type]
    if column.map(lambda v: isinstance(v, list | tuple | np.ndarray)).any():
        lists = [None if _is_missing(v) else [_convert(x, feature_type) for x in _as_list(v)] for v in column]
        return pa.array(lists, type=pa.large_list(value_type))
    present = ~column.isna().to_numpy()
    offsets = np.concatenate([[0], np.cumsum(present)]).astype(np.int64)
    offsets_array = pa.array(offsets, mask=np.concatenate([~present, [False]]), type=pa.int64())
    return pa.LargeListArray.from_arrays(offsets_array, _values_array(column[present], feature_type))


def _values_array(values: pd.Series, feature_type: int) -> pa.Array:
    if feature_type == schema_pb2.BYTES:
        return pa.array([_convert(v, feature_type) for v in values], type=pa.large_binary())
    dtype = np.int64 if feature_type == schema_pb2.INT else np.float32
    return pa.array(values.to_numpy().astype(dtype), type=ARROW_VALUE_TYPES[feature_type])


def _is_missing(value: Any) -> bool:
    return value is None or (np.isscalar(value) and pd.isna(value))


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple | np.ndarray) else [value]


def _convert(value: Any, feature_type: int) -> Any:
    if feature_type == schema_pb2.BYTES:
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    if feature_type == schema_pb2.INT:
        return int(value)
    return float(value)


def _read_csv(
    pipeline: beam.Pipeline,
    split: str,
    path: str | Path,
    schema: schema_pb2.Schema,
    batch_size: int | None,
) -> tuple[beam.PCollection, tfxio.TensorAdapterConfig]:
    with tf.io.gfile.GFile(str(path)) as f:
        header = next(csv.reader([f.readline()]))
    csv_io = tfxio.CsvTFXIO(file_pattern=str(path), column_names=header, schema=schema, skip_header_lines=1)
    pcoll = pipeline | f"ReadCsv[{split}]" >> csv_io.BeamSource(batch_size)
    return pcoll, csv_io.TensorAdapterConfig()


def _read_tfrecords(
    pipeline: beam.Pipeline,
    split: str,
    source: str | Path | Sequence[str | Path],
    schema: schema_pb2.Schema,
    batch_size: int | None,
) -> tuple[beam.PCollection, tfxio.TensorAdapterConfig]:
    compression = beam.io.filesystem.CompressionTypes
    by_type: dict[str, list[str]] = {}
    for path in records.tfrecord_files(source):
        kind = compression.GZIP if records.is_gzip(path) else compression.UNCOMPRESSED
        by_type.setdefault(kind, []).append(path)
    parts = [
        pipeline
        | f"Files[{split}-{kind}]" >> beam.Create(paths)
        | f"Read[{split}-{kind}]" >> beam.io.ReadAllFromTFRecord(compression_type=kind)
        for kind, paths in by_type.items()
    ]
    serialized = parts[0] if len(parts) == 1 else parts | f"Flatten[{split}]" >> beam.Flatten()
    example_io = tfxio.TFExampleBeamRecord(physical_format="tfrecord", schema=schema)
    pcoll = serialized | f"Decode[{split}]" >> example_io.BeamSource(batch_size)
    return pcoll, example_io.TensorAdapterConfig()
