"""Code checks for labs_utils.records: file expansion, gzip sniffing and the raw record reader."""

from __future__ import annotations

from pathlib import Path

import pytest
import tensorflow as tf

from labs_utils import records  # noqa: E402

PAYLOADS = [b"", b"one", b"two" * 100]


def write_records(path: Path, payloads: list[bytes], *, gzipped: bool) -> Path:
    """Write raw records with TensorFlow's writer (gzip without a .gz suffix if asked)."""
    options = tf.io.TFRecordOptions(compression_type="GZIP" if gzipped else "")
    with tf.io.TFRecordWriter(str(path), options) as writer:
        for payload in payloads:
            writer.write(payload)
    return path


def test_tfrecord_files_expand_globs_and_sniff_gzip(tmp_path):
    plain = write_records(tmp_path / "a.tfrecord", PAYLOADS, gzipped=False)
    zipped = write_records(tmp_path / "b.tfrecord", PAYLOADS, gzipped=True)  # no .gz suffix
    assert records.tfrecord_files(str(tmp_path / "*.tfrecord")) == [str(plain), str(zipped)]
    assert records.tfrecord_files([plain, str(zipped)]) == [str(plain), str(zipped)]
    assert (records.is_gzip(plain), records.is_gzip(zipped)) == (False, True)
    with pytest.raises(FileNotFoundError):
        records.tfrecord_files(str(tmp_path / "missing-*"))


def test_read_records_matches_tensorflow_for_plain_and_gzip_files(tmp_path):
    plain = write_records(tmp_path / "a.tfrecord", PAYLOADS, gzipped=False)
    zipped = write_records(tmp_path / "b.tfrecord.gz", PAYLOADS[::-1], gzipped=True)
    expected = [r.numpy() for r in tf.data.TFRecordDataset(str(plain))]
    expected += [r.numpy() for r in tf.data.TFRecordDataset(str(zipped), compression_type="GZIP")]
    assert list(records.read_records([plain, zipped])) == expected == PAYLOADS + PAYLOADS[::-1]


@pytest.mark.parametrize("cut", [5, 14, 20])
def test_read_records_names_a_truncated_file(tmp_path, cut):
    path = write_records(tmp_path / "a.tfrecord", [b"abcdefgh"], gzipped=False)
    path.write_bytes(path.read_bytes()[:cut])  # inside the header, the data, the footer
    with pytest.raises(ValueError, match="a.tfrecord is truncated"):
        list(records.read_records(path))
