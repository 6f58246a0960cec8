"""Code checks for the CIFAR-10 course TFRecord: the lossless quick file, the course file, the JPEG rebuild.

Runs offline: the quick path reads the course mirror; the other paths use a temporary registry and
mirror holding tiny generated files.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from labs_utils import datasets
from labs_utils.datasets import cifar10

LABELS = b"cat\ndog\nfrog\n"
COURSE_SPEC = {
    "image_raw": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Give each test an empty cache, no mirror, no registry override and no downloads."""
    for var in ("LABS_DATA_MIRROR", "LABS_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LABS_OFFLINE", "1")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LABS_DATA_DIR", str(cache))
    return cache


def records(path: Path) -> list[tf.train.Example]:
    return [tf.train.Example.FromString(r) for r in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]


def feature_names(example: tf.train.Example) -> set[str]:
    return set(example.features.feature)


def image_bytes(example: tf.train.Example, key: str = "image_raw") -> bytes:
    return example.features.feature[key].bytes_list.value[0]


def label(example: tf.train.Example) -> int:
    return example.features.feature["label"].int64_list.value[0]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def jpeg(image: np.ndarray) -> bytes:
    return tf.io.encode_jpeg(image, quality=75).numpy()


def tarball(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """Return a .tar.gz holding ``members`` (name -> bytes) and symlinks (name -> target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buffer.getvalue()


def jpeg_mirror(archive: bytes) -> dict[str, bytes]:
    """Return mirror files for the JPEG rebuild: the tarball and labels.txt."""
    return {"cifar10_train_jpeg.tar.gz": archive, "labels.txt": LABELS}


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes], course: bytes) -> None:
    """Register a cifar10 dataset whose mirror holds ``files``; ``course`` sets the course file's id."""
    entries = [
        {"name": "train.tfrecord", "variant": "full", "sha256": "unknown", "git_blob_sha1": git_blob(course)},
        {"name": "labels.txt", "variant": "full", "sha256": sha256(LABELS)},
        {"name": "cifar10_train_jpeg.tar.gz", "variant": "lossy",
         "sha256": sha256(files.get("cifar10_train_jpeg.tar.gz", b""))},
    ]  # fmt: skip
    lines = ["[datasets.cifar10]", 'title = "toy"', 'licence = "none"', 'citation = "none"']
    lines.append('homepage = "http://example.invalid"')
    for entry in entries:
        lines.append("[[datasets.cifar10.files]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    registry = tmp_path / "registry.toml"
    registry.write_text("\n".join(lines) + "\n")
    mirror = tmp_path / "mirror"
    for name, data in files.items():
        (mirror / "cifar10").mkdir(parents=True, exist_ok=True)
        (mirror / "cifar10" / name).write_bytes(data)
    monkeypatch.setenv("LABS_REGISTRY", str(registry))
    monkeypatch.setenv("LABS_DATA_MIRROR", str(mirror))


def test_quick_renames_the_lossless_tfx_records(mirror_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("LABS_DATA_MIRROR", str(mirror_dir))
    out = tmp_path / "data" / "train.tfrecord"
    written = datasets.write_cifar10_course_tfrecord(out, quick=True)
    source = records(mirror_dir / "cifar10" / "cifar10_train.tfrecord")
    course = records(out)
    assert written.path == out and written.n_records == len(course) == len(source) == 128
    assert written.data_source == "mirror-subset" and written.lossy is False
    assert written.source == "cifar10_train.tfrecord"
    assert all(feature_names(example) == {"image_raw", "label"} for example in course)
    assert [label(e) for e in course] == [label(e) for e in source]
    assert [image_bytes(e) for e in course] == [image_bytes(e, "image") for e in source]
    images = np.stack([tf.io.decode_png(image_bytes(e)).numpy() for e in course])
    expected = np.stack([tf.io.decode_png(image_bytes(e, "image")).numpy() for e in source])
    assert images.shape == (128, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, expected)
    assert sorted(p.name for p in out.parent.iterdir()) == ["train.tfrecord"]  # no temp file left


def test_quick_records_parse_with_the_course_feature_spec(mirror_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("LABS_DATA_MIRROR", str(mirror_dir))
    out = datasets.write_cifar10_course_tfrecord(tmp_path / "train.tfrecord", quick=True).path
    record = next(iter(tf.data.TFRecordDataset(str(out))))
    parsed = tf.io.parse_single_example(record, COURSE_SPEC)
    assert 0 <= int(parsed["label"]) < 10
    assert tf.io.decode_png(parsed["image_raw"]).shape == (32, 32, 3)


def test_labels_come_in_label_order(mirror_dir, monkeypatch):
    monkeypatch.setenv("LABS_DATA_MIRROR", str(mirror_dir))
    names = datasets.read_cifar10_labels()
    assert len(names) == 10 == len(set(names))
    assert names[0] == "airplane" and names[3] == "cat" and names[-1] == "truck"


def test_example_holds_png_bytes_and_int_label():
    png = tf.io.encode_png(random_images(1)[0]).numpy()
    example = tf.train.Example.FromString(cifar10._course_example(png, 7))
    assert feature_names(example) == {"image_raw", "label"}
    assert image_bytes(example) == png and label(example) == 7


def test_full_rebuilds_from_jpegs_lossy_in_rank_then_class_order(tmp_path, monkeypatch):
    images = random_images(4)
    names = ["train/cat/0000.jpg", "train/cat/0001.jpg", "train/dog/0000.jpg", "train/frog/0000.jpg"]
    members = {name: jpeg(image) for name, image in zip(names, images, strict=True)}
    members["test/cat/0000.jpg"] = jpeg(images[0])  # another split: ignored
    install(tmp_path, monkeypatch, jpeg_mirror(tarball(members)), b"not in the mirror")
    out = tmp_path / "train.tfrecord"
    written = datasets.write_cifar10_course_tfrecord(out, quick=False)
    assert written.lossy is True and written.data_source == "lossy"
    assert written.source == "cifar10_train_jpeg.tar.gz" and written.n_records == 4
    course = records(out)
    order = ["train/cat/0000.jpg", "train/dog/0000.jpg", "train/frog/0000.jpg", "train/cat/0001.jpg"]
    assert [label(e) for e in course] == [0, 1, 2, 0]
    for example, name in zip(course, order, strict=True):
        pixels = tf.io.decode_png(image_bytes(example)).numpy()
        np.testing.assert_array_equal(pixels, tf.io.decode_jpeg(members[name]).numpy())
    first = tf.io.decode_png(image_bytes(course[0])).numpy().astype(int)
    assert 0 < np.abs(first - images[0]).mean() < 64  # close to the original, but not equal: lossy


def test_full_rebuild_is_deterministic(tmp_path, monkeypatch):
    members = {f"train/dog/{i:04d}.jpg": jpeg(image) for i, image in enumerate(random_images(3, seed=1))}
    install(tmp_path, monkeypatch, jpeg_mirror(tarball(members)), b"absent")
    one = datasets.write_cifar10_course_tfrecord(tmp_path / "a.tfrecord", quick=False).path
    two = datasets.write_cifar10_course_tfrecord(tmp_path / "b.tfrecord", quick=False).path
    assert one.read_bytes() == two.read_bytes()


def test_full_prefers_the_course_file(tmp_path, monkeypatch):
    course_file = tmp_path / "course.tfrecord"
    png = tf.io.encode_png(random_images(1)[0]).numpy()
    with tf.io.TFRecordWriter(str(course_file)) as writer:
        for value in (3, 5):
            writer.write(cifar10._course_example(png, value))
    course = course_file.read_bytes()
    install(tmp_path, monkeypatch, {"train.tfrecord": course, "labels.txt": LABELS}, course)
    written = datasets.write_cifar10_course_tfrecord(tmp_path / "out.tfrecord", quick=False)
    assert written.source == "train.tfrecord" and written.lossy is False
    assert written.data_source == "mirror" and written.n_records == 2
    assert written.path.read_bytes() == course


@pytest.mark.parametrize(
    ("members", "links"),
    [({"../train/cat/0000.jpg": b"x"}, None), ({}, {"train/cat/0000.jpg": "/etc/passwd"})],
    ids=["dot-dot", "symlink"],
)
def test_unsafe_jpeg_tarball_is_refused_and_nothing_written(tmp_path, monkeypatch, members, links):
    install(tmp_path, monkeypatch, jpeg_mirror(tarball(members, links)), b"absent")
    out = tmp_path / "out" / "train.tfrecord"
    with pytest.raises(datasets.UnsafeArchiveError):
        datasets.write_cifar10_course_tfrecord(out, quick=False)
    assert not out.exists() and not (tmp_path / "evil").exists()


def test_unknown_class_folder_is_an_error(tmp_path, monkeypatch):
    members = {"train/horse/0000.jpg": jpeg(random_images(1)[0])}
    install(tmp_path, monkeypatch, jpeg_mirror(tarball(members)), b"absent")
    with pytest.raises(ValueError, match="horse"):
        datasets.write_cifar10_course_tfrecord(tmp_path / "train.tfrecord", quick=False)


def test_full_without_any_source_names_both_files_and_quick_mode(tmp_path, monkeypatch):
    install(tmp_path, monkeypatch, {"labels.txt": LABELS}, b"absent")
    with pytest.raises(datasets.DataNotAvailableError) as caught:
        datasets.write_cifar10_course_tfrecord(tmp_path / "train.tfrecord", quick=False)
    message = str(caught.value)
    assert "cifar10/train.tfrecord" in message and "cifar10_train_jpeg.tar.gz" in message
    assert "QUICK=True" in message and "SOURCE.md" in message
    assert not (tmp_path / "train.tfrecord").exists()
