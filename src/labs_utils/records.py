"""TFRecord files: expand paths and globs, tell gzip from plain, read the raw records.

One reader for every module that reads TFRecords outside Beam (datasets, transform, timeseries).
It reads the framing only (length, data, CRC fields) and does not check the CRCs; a truncated file
is an error naming the file. TensorFlow is imported only to expand globs and open files, so
``import labs_utils.records`` stays cheap.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["GZIP_MAGIC", "is_gzip", "read_records", "tfrecord_files"]

GZIP_MAGIC = b"\x1f\x8b"
_HEADER = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER = 4  # uint32 masked CRC of the data

Source = str | Path | Sequence[str | Path]


def tfrecord_files(source: Source) -> list[str]:
    """Return the existing files a TFRecord path, glob or list of them names, sorted.

    Raises:
        FileNotFoundError: nothing matches.

    Introduced in c2w2_lab_simple_transform.
    """
    import tensorflow as tf

    patterns = [source] if isinstance(source, str | Path) else list(source)
    files = sorted({f for p in patterns for f in tf.io.gfile.glob(str(p))})
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {patterns}")
    return files


def is_gzip(path: str | Path) -> bool:
    """Return True when a file is gzip-compressed (``.gz`` suffix or gzip magic bytes).

    Introduced in c2w2_lab_simple_transform.
    """
    import tensorflow as tf

    if str(path).endswith(".gz"):
        return True
    with tf.io.gfile.GFile(str(path), "rb") as f:
        return f.read(2) == GZIP_MAGIC


def read_records(source: Source) -> Iterator[bytes]:
    """Return an iterator over the raw records of TFRecord file(s) or globs, gzip or not, in file order.

    Raises:
        ValueError: a file ends inside a record (not a complete TFRecord file).

    Introduced in c2w2_lab_simple_transform.
    """
    import tensorflow as tf

    for path in tfrecord_files(source):
        with tf.io.gfile.GFile(path, "rb") as raw:
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip(path) else raw
            while header := stream.read(_HEADER):
                length = struct.unpack("<Q", header[:8])[0] if len(header) == _HEADER else -1
                data = stream.read(length) if length >= 0 else b""
                if len(data) != length or len(stream.read(_FOOTER)) < _FOOTER:
                    raise ValueError(f"{path} is truncated: not a complete TFRecord file")
                yield data
