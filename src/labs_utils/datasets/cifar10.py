"""CIFAR-10 in the course's TFRecord layout (``image_raw`` PNG bytes + ``label``).

Quick mode converts TFX's 128 lossless records; full mode copies the course's 50,000-image file or,
failing that, rebuilds it from the mirror's JPEG tarball (complete but lossy). TensorFlow is
imported only inside the functions that need it.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labs_utils import records
from labs_utils.datasets.archives import UnsafeArchiveError, check_member_name
from labs_utils.datasets.fetching import DataNotAvailableError, fetch, refuse_stand_in
from labs_utils.datasets.standins import official_data_required, record_use
from labs_utils.datasets.verify import temp_path

__all__ = [
    "CIFAR10_COURSE", "CIFAR10_JPEG", "CIFAR10_LABELS", "CIFAR10_SHAPE", "CIFAR10_SUBSET",
    "CourseRecords", "read_cifar10_labels", "write_cifar10_course_tfrecord",
]  # fmt: skip

CIFAR10_COURSE = "train.tfrecord"
CIFAR10_SUBSET = "cifar10_train.tfrecord"
CIFAR10_JPEG = "cifar10_train_jpeg.tar.gz"
CIFAR10_LABELS = "labels.txt"
CIFAR10_SHAPE = (32, 32, 3)


@dataclass(frozen=True)
class CourseRecords:
    """A TFRecord file written in a course layout, and where its content came from.

    ``source`` is the registry file it was made from; ``lossy`` is True when the pixels went
    through lossy compression on the way (the CIFAR-10 JPEG rebuild).
    """

    dataset: str
    path: Path
    data_source: str
    n_records: int
    source: str
    lossy: bool = False


def read_cifar10_labels(data_dir: str | os.PathLike | None = None, **fetch_kw) -> list[str]:
    """Return the ten CIFAR-10 class names in label order (from ``labels.txt``).

    Introduced in c2w4_lab_images_cifar10.
    """
    path = fetch("cifar10", [CIFAR10_LABELS], data_dir=data_dir, **fetch_kw).path()
    return _class_names(path.read_text(encoding="utf-8"))


def _class_names(text: str) -> list[str]:
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"labels.txt must list unique class names, one per line; got {names}")
    return names


def _course_example(image_png: bytes, label: int) -> bytes:
    """Serialize one tf.Example in the course layout: ``image_raw`` (PNG bytes) and ``label``.

    Introduced in c2w4_lab_images_cifar10.
    """
    import tensorflow as tf  # lazy: only the image labs need TensorFlow here

    feature = {
        "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_png])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)


def write_cifar10_course_tfrecord(
    out_path: str | os.PathLike,
    *,
    quick: bool,
    data_dir: str | os.PathLike | None = None,
    **fetch_kw,
) -> CourseRecords:
    """Return what was written: the course's CIFAR-10 ``train.tfrecord`` (``image_raw`` PNG + ``label``).

    Quick mode converts the 128 lossless TFX records ``cifar10_train.tfrecord``: ``image`` is
    renamed ``image_raw`` with its PNG bytes unchanged, ``id`` is dropped (``mirror-subset``).
    Full mode copies the course's 50,000-image file when the cache, mirror or official URL has
    it (verified by its git blob id). Otherwise it rebuilds the 50,000 training images from the
    mirror's JPEG tarball: each JPEG decoded and re-encoded as PNG, labelled by its class's line
    in ``labels.txt``, ordered by rank within the class, then by class. That copy is complete
    but JPEG-degraded: ``lossy=True`` and ``data_source`` ``lossy``; with
    ``LABS_REQUIRE_OFFICIAL_DATA=1`` that rebuild is refused.
    The file is written atomically (temp file, then rename).

    Raises:
        DataNotAvailableError: full mode found neither the course file nor the JPEG tarball, or
            found only the tarball while the official file is required.

    Introduced in c2w4_lab_images_cifar10.
    """
    out = Path(out_path)
    kw = {"data_dir": data_dir, **fetch_kw}
    if quick:
        fetched = fetch("cifar10", [CIFAR10_SUBSET], **kw)
        n = _write_tfrecord(out, _renamed_tfx_records(fetched.path()))
        return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_SUBSET)
    try:
        fetched = fetch("cifar10", [CIFAR10_COURSE], **kw)
    except DataNotAvailableError as exc:
        if official_data_required():
            raise refuse_stand_in(exc) from exc
        missing_course = exc
    else:
        n = _write_tfrecord(out, records.read_records(fetched.path()))
        return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_COURSE)
    try:
        fetched = fetch("cifar10", [CIFAR10_JPEG, CIFAR10_LABELS], **kw)
    except DataNotAvailableError as exc:
        message = (
            f"{missing_course}\n\nThe lossy rebuild source {CIFAR10_JPEG} is not available "
            f"either:\n{exc}\n\nQuick mode (QUICK=True) runs on the 128 lossless records "
            f"{CIFAR10_SUBSET}; see cifar10/SOURCE.md."
        )
        raise DataNotAvailableError(message, exc.dataset, exc.file, exc.reasons) from exc
    names = _class_names(fetched.path(CIFAR10_LABELS).read_text(encoding="utf-8"))
    images = _cifar10_jpegs(fetched.path(CIFAR10_JPEG), names, split="train")
    pngs = _jpegs_to_pngs([jpeg for _, jpeg in images])
    examples = (_course_example(png, label) for (label, _), png in zip(images, pngs, strict=True))
    n = _write_tfrecord(out, examples)
    record_use("cifar10", [CIFAR10_JPEG, CIFAR10_LABELS], "lossy", stand_in_for=[CIFAR10_COURSE])
    return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_JPEG, lossy=True)


def _renamed_tfx_records(path: Path) -> Iterator[bytes]:
    """Yield TFX's CIFAR-10 records (``image``, ``label``, ``id``) in the course layout."""
    import tensorflow as tf

    for record in records.read_records(path):
        feature = tf.train.Example.FromString(record).features.feature
        yield _course_example(feature["image"].bytes_list.value[0], feature["label"].int64_list.value[0])


def _write_tfrecord(out: Path, serialized: Iterator[bytes]) -> int:
    """Write records to an uncompressed TFRecord file atomically; return how many."""
    import tensorflow as tf

    n = 0
    with temp_path(out) as tmp:
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for record in serialized:
                writer.write(record)
                n += 1
        os.replace(tmp, out)
    return n


def _cifar10_jpegs(archive: Path, names: list[str], split: str) -> list[tuple[int, bytes]]:
    """Read ``<split>/<class>/<rank>.jpg`` members in memory; return (label, JPEG bytes) pairs.

    Nothing is written to disk, and every member name is checked like ``extract_archive`` does.
    Pairs come ordered by rank, then label, so the classes interleave.
    """
    labels = {name: index for index, name in enumerate(names)}
    found = {}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            check_member_name(archive, member.name)
            if member.isdir():
                continue
            if not member.isfile():
                raise UnsafeArchiveError(f"{archive.name}: {member.name!r} is not a regular file")
            parts = PurePosixPath(member.name).parts
            if len(parts) != 3 or parts[0] != split:
                continue
            cls, stem = parts[1], PurePosixPath(parts[2]).stem
            if cls not in labels or not stem.isdigit() or not parts[2].endswith(".jpg"):
                raise ValueError(f"{archive.name}: unexpected member {member.name!r}")
            found[(int(stem), labels[cls])] = tar.extractfile(member).read()
    if not found:
        raise ValueError(f"{archive.name} holds no {split}/<class>/<rank>.jpg images")
    return [(label, found[(rank, label)]) for rank, label in sorted(found)]


def _jpegs_to_pngs(jpegs: list[bytes]) -> Iterator[bytes]:
    """Decode each 32x32 RGB JPEG and re-encode it as PNG, in order."""
    import tensorflow as tf

    def convert(data: tf.Tensor) -> tf.Tensor:
        image = tf.ensure_shape(tf.io.decode_jpeg(data, channels=3), CIFAR10_SHAPE)
        return tf.io.encode_png(image)

    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(jpegs, dtype=tf.string))
    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Batches: fetching 50,000 single elements costs more than converting them.
    for batch in dataset.batch(512).as_numpy_iterator():
        yield from batch
