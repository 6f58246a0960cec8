"""How ExampleGen turns CSV rows into tf.Example records and splits them, as TFX 1.16 does.

TFX's CsvExampleGen reads the header with ``readline().strip().split(",")``, parses each row with
Python's ``csv`` module and infers one type per column over the whole file: INT if every non-empty
cell is an int64, FLOAT if every one is a number, else STRING (the raw text, leading blanks kept).
An empty cell becomes a feature of that type with no values; a column with no values at all becomes
a feature with no type. ExampleGen then sends each record to a split by hashing it: the SHA-256 of
the record's deterministic serialization (map entries sorted by name), or of one feature's with
``partition_feature_name``, modulo the total number of hash buckets, bisected into the splits'
cumulative buckets (``_GeneratePartitionKey`` and ``_PartitionFn`` in TFX's ``base_example_gen_executor.py``).
The pipeline's ``CsvExampleGen`` and ``ImportExampleGen`` components use this module.
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from itertools import accumulate
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import tensorflow as tf
from tfx_bsl.coders import example_coder

from labs_utils import artifacts, inputs

__all__ = [
    "canonical_serialization",
    "csv_records",
    "input_files",
    "partition_key",
    "split_index",
    "tfrecord_records",
    "write_splits",
]

EXAMPLES_FILE = "data_tfrecord-00000-of-00001.gz"
_ENCODE_BATCH = 20_000
_INT64_RANGE = (-(2**63), 2**63 - 1)
_INT, _FLOAT, _STRING = 0, 1, 2


def partition_key(record: bytes, feature_name: str | None = None) -> bytes:
    """Return the bytes TFX hashes for a record: the whole record or one feature, serialized.

    Args:
        record: a deterministically serialized tf.Example (map keys sorted).
        feature_name: TFX's ``partition_feature_name``: hash this feature (an int64 or bytes
            list), so records with equal values land in the same split.
    """
    if feature_name is None:
        return record
    feature = tf.train.Example.FromString(record).features.feature.get(feature_name)
    if feature is None:
        raise ValueError(f"partition feature {feature_name!r} is missing from a record")
    kind = feature.WhichOneof("kind")
    if kind is None:
        raise ValueError(f"partition feature {feature_name!r} holds no value in a record")
    if kind not in ("bytes_list", "int64_list"):
        raise ValueError(f"partition feature {feature_name!r} must be int64 or bytes, not {kind}")
    return feature.SerializeToString(deterministic=True)


def split_index(key: bytes, cumulative_buckets: Sequence[int]) -> int:
    """Return the split a partition key falls in: SHA-256 mod total buckets, then bisect."""
    bucket = int(hashlib.sha256(key).hexdigest(), 16) % cumulative_buckets[-1]
    return bisect.bisect(cumulative_buckets, bucket)


def write_splits(
    batches: Iterator[list[bytes]],
    out_dir: Path,
    splits: Mapping[str, int],
    partition_feature_name: str | None = None,
) -> dict[str, int]:
    """Send each record to its split and write ``Split-<name>/`` gzip TFRecords; return the counts.

    Records keep their input order within a split (TFX shuffles them before writing).
    """
    names = list(splits)
    cumulative = list(accumulate(splits[name] for name in names))
    writers = {}
    counts = dict.fromkeys(names, 0)
    for name in names:
        (out_dir / f"Split-{name}").mkdir(parents=True, exist_ok=True)
        writers[name] = tf.io.TFRecordWriter(str(out_dir / f"Split-{name}" / EXAMPLES_FILE), options="GZIP")
    try:
        for records in batches:
            for record in records:
                name = names[split_index(partition_key(record, partition_feature_name), cumulative)]
                writers[name].write(record)
                counts[name] += 1
    finally:
        for writer in writers.values():
            writer.close()
    return counts


def input_files(path: Path, input_format: str) -> list[Path]:
    """Return the input files: ``path`` itself, or its ``*.csv``/``*.csv.gz`` (or all) files."""
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


def tfrecord_records(files: Sequence[Path]) -> Iterator[list[bytes]]:
    """Yield batches of the records of TFRecord files, unchanged (ImportExampleGen)."""
    batch = []
    for record in artifacts.read_records(files):
        batch.append(record)
        if len(batch) == _ENCODE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        header = f.readline().strip()
    if not header:
        raise ValueError(f"{path} has no header row; ExampleGen needs column names in line 1")
    return header.split(",")


def _read_csv_as_text(files: Sequence[Path]) -> pa.Table:
    """Read CSV files with every column as raw text (leading blanks kept, empty cells '')."""
    header = _csv_header(files[0])
    tables = []
    for path in files:
        if _csv_header(path) != header:
            raise ValueError(f"{path} has a different header from {files[0]}; give each its own input")
        try:
            table = pa_csv.read_csv(
                path,
                read_options=pa_csv.ReadOptions(column_names=header, skip_rows=1),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in header},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path} is not a CSV file with {len(header)} columns per row: {exc}") from exc
        tables.append(table)
    return pa.concat_tables(tables)


def _infer_kind(text: str) -> int:
    """Return the type tfx-bsl infers for one non-empty cell: INT, FLOAT or STRING."""
    try:
        value = int(text)
        return _INT if _INT64_RANGE[0] <= value <= _INT64_RANGE[1] else _STRING
    except ValueError:
        try:
            float(text)
            return _FLOAT
        except ValueError:
            return _STRING


def _typed_column(column: pa.ChunkedArray) -> pa.Array:
    """Return one CSV column as a list array: one typed value per cell, [] for an empty cell.

    A column without any value becomes all-null lists: features with no type, as in TFX.
    """
    column = column.combine_chunks()
    uniques = [u for u in pc.unique(column).to_pylist() if u != ""]
    if not uniques:
        return pa.nulls(len(column), pa.list_(pa.int64()))
    kind = max(_infer_kind(u) for u in uniques)
    if kind == _INT:
        values = pa.array([int(u) for u in uniques], pa.int64())
    elif kind == _FLOAT:
        values = pa.array([float(u) for u in uniques], pa.float32())
    else:
        values = pa.array([u.encode("utf-8") for u in uniques], pa.binary())
    typed = values.take(pc.index_in(column, value_set=pa.array(uniques, pa.string())))
    present = np.asarray(typed.is_valid())
    offsets = pa.array(np.concatenate([[0], np.cumsum(present)]).astype(np.int32))
    return pa.ListArray.from_arrays(offsets, typed.drop_null())


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Return the varint at ``pos`` and the position after it."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _length_prefixed(payload: bytes) -> bytes:
    """Return field 1 (wire type 2) holding ``payload``: tag, varint length, bytes."""
    size, head = len(payload), bytearray(b"\x0a")
    while size >= 0x80:
        head.append((size & 0x7F) | 0x80)
        size >>= 7
    head.append(size)
    return bytes(head) + payload


def canonical_serialization(record: bytes) -> bytes:
    """Return a serialized tf.Example with its feature map entries sorted bytewise by name.

    This is ``SerializeToString(deterministic=True)`` as TFX 1.16 runs it (protobuf 3.20, C++):
    protobuf 4's upb runtime, ours, sorts a name before its own prefix ("education-num" before
    "education"), which would change every hash. A map entry's bytes are the same in both.
    """
    if not record:
        return record
    size, pos = _varint(record, 1)  # field 1, Features
    features, entries = record[pos : pos + size], []
    pos = 0
    while pos < len(features):
        size, start = _varint(features, pos + 1)  # field 1, one map entry
        entry = features[start : start + size]
        key_size, key_start = _varint(entry, 1)  # the entry's field 1, the feature name
        entries.append((entry[key_start : key_start + key_size], entry))
        pos = start + size
    entries.sort(key=lambda pair: pair[0])
    return _length_prefixed(b"".join(_length_prefixed(entry) for _, entry in entries))


def csv_records(files: Sequence[Path]) -> Iterator[list[bytes]]:
    """Yield batches of deterministically serialized tf.Examples, one per CSV row, TFX's way."""
    table = inputs.read_checked(_read_csv_as_text, files)  # names the bad file, line and cause
    if table.num_rows == 0:
        raise ValueError(f"{files[0]} has a header but no rows")
    columns = [_typed_column(table.column(name)) for name in table.column_names]
    batch = pa.RecordBatch.from_arrays(columns, table.column_names)
    del table
    encoder = example_coder.RecordBatchToExamplesEncoder()
    for start in range(0, batch.num_rows, _ENCODE_BATCH):
        # The C++ encoder's map order is arbitrary; TFX hashes the deterministic serialization.
        yield [canonical_serialization(r) for r in encoder.encode(batch.slice(start, _ENCODE_BATCH))]
