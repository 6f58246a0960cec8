"""The CIFAR-10 images lab in quick mode through the runner: its results.json must state the lesson."""

from __future__ import annotations

import glob
import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from helpers import results_fixture

from labs_utils import datasets

pytestmark = pytest.mark.notebook

IMAGES = "c2w4_lab_images_cifar10"


images = results_fixture(IMAGES)


def test_quick_mode_runs_on_the_lossless_subset(images):
    assert images["lossy"] is False and images["data_file"] == "cifar10_train.tfrecord"
    assert images["records"] == 128


def test_example_gen_keeps_every_record_and_splits_2_to_1(images):
    sizes = images["split_sizes"]
    assert set(sizes) == {"train", "eval"} and min(sizes.values()) > 0
    assert sum(sizes.values()) == images["records"]
    assert sizes["train"] / images["records"] == pytest.approx(2 / 3, abs=0.1)


def test_label_counts_add_up_per_split(images):
    names = images["label_names"]
    assert len(names) == len(set(names)) == 10 and names[0] == "airplane"
    for split, counts in images["label_counts"].items():
        assert set(counts) <= set(names)
        assert sum(counts.values()) == images["split_sizes"][split]


def test_schema_has_two_required_fixed_shape_features_and_no_anomalies(images):
    assert images["schema"] == {
        "image_raw": {"type": "BYTES", "presence": "required", "shape": [1]},
        "label": {"type": "INT", "presence": "required", "shape": [1]},
    }
    assert images["anomalies"] == {"train": {}, "eval": {}}
    stats = images["image_stats"]
    train = images["split_sizes"]["train"]
    assert stats["invalid_utf8_count"] == train and 0 < stats["distinct_records"] <= train
    assert stats["unique_estimate"] == pytest.approx(stats["distinct_records"], rel=0.05)


def test_transform_outputs_scaled_images_and_one_hot_labels(images):
    assert images["transformed_feature_spec"] == {"image_raw_xf": [32, 32, 3], "label_xf": [10]}
    assert images["transformed_records"] == images["split_sizes"]  # counted in the Transform output
    first = images["first_record"]
    assert sum(first["label_xf"]) == 1.0 and set(first["label_xf"]) == {0.0, 1.0}
    assert first["label_xf"].index(1.0) == first["label"]
    assert first["label_name"] == images["label_names"][first["label"]]
    assert all(0.0 <= v <= 1.0 for v in first["image_raw_xf_first_values"])


def test_analysed_pixel_range_matches_the_train_pixels(images):
    pixels = images["pixel_range"]
    assert 0 <= pixels["train_min"] < pixels["train_max"] <= 255
    assert pixels["graph_min"] == pytest.approx(pixels["train_min"], abs=1e-3)
    assert pixels["graph_max"] == pytest.approx(pixels["train_max"], abs=1e-3)


# --- facts recomputed from the run's own files, independently of the notebook's code -----------


def read_examples(pattern: str) -> list:
    """Return the tf.Examples in the (gzip) TFRecord files matching `pattern`."""
    import tensorflow as tf

    files = sorted(glob.glob(pattern))
    assert files, f"no files match {pattern}"
    gzipped = files[0].endswith(".gz")
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP" if gzipped else "")
    return [tf.train.Example.FromString(record.numpy()) for record in dataset]


def only_artifact_dir(lab_dir: Path, component: str, artifact: str) -> Path:
    """Return the single execution folder of a component's artifact in the run's pipeline root."""
    (found,) = sorted((lab_dir / "work" / "pipeline" / component / artifact).iterdir())
    return found


@pytest.fixture(scope="module")
def images_files(lab_run, images) -> dict:
    """Source records (from the data cache), ExampleGen's splits and Transform's outputs, parsed."""
    lab_dir = lab_run(IMAGES).notebook.parent
    source = datasets.fetch_file("cifar10", images["data_file"])
    examples = only_artifact_dir(lab_dir, "ImportExampleGen", "examples")
    transformed = only_artifact_dir(lab_dir, "Transform", "transformed_examples")
    return {
        "source": read_examples(str(source)),
        "splits": {s: read_examples(f"{examples}/Split-{s}/*") for s in ("train", "eval")},
        "transformed": {s: read_examples(f"{transformed}/Split-{s}/*") for s in ("train", "eval")},
    }


def image_and_label(example, image_key: str) -> tuple[str, int]:
    """Return the sha256 of an example's encoded image and its label."""
    feature = example.features.feature
    return hashlib.sha256(feature[image_key].bytes_list.value[0]).hexdigest(), feature[
        "label"
    ].int64_list.value[0]


def pixels_and_label(example) -> tuple[bytes, int]:
    """Return a raw example's decoded pixels (uint8, 32x32x3) and its label."""
    import tensorflow as tf

    feature = example.features.feature
    image = tf.io.decode_png(feature["image_raw"].bytes_list.value[0], channels=3).numpy()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    return image, feature["label"].int64_list.value[0]


def test_example_gen_splits_hold_each_source_record_exactly_once(images, images_files):
    source = Counter(image_and_label(e, "image") for e in images_files["source"])
    split = {
        s: Counter(image_and_label(e, "image_raw") for e in ex) for s, ex in images_files["splits"].items()
    }
    assert split["train"] + split["eval"] == source  # same images, same labels, none lost or doubled
    assert not set(split["train"]) & set(split["eval"])
    assert {s: sum(c.values()) for s, c in split.items()} == images["split_sizes"]
    assert sum(source.values()) == images["records"]


def test_transformed_examples_are_the_raw_pixels_scaled_by_the_train_range(images, images_files):
    train_pixels = [pixels_and_label(e)[0] for e in images_files["splits"]["train"]]
    low, high = int(min(p.min() for p in train_pixels)), int(max(p.max() for p in train_pixels))
    assert (low, high) == (images["pixel_range"]["train_min"], images["pixel_range"]["train_max"])
    for split in ("train", "eval"):
        expected = Counter()
        for example in images_files["splits"][split]:
            pixels, label = pixels_and_label(example)
            expected[(pixels.ravel().tobytes(), label)] += 1
        found = Counter()
        for example in images_files["transformed"][split]:
            feature = example.features.feature
            values = np.array(feature["image_raw_xf"].float_list.value, dtype=np.float64)
            one_hot = np.array(feature["label_xf"].float_list.value)
            assert values.size == 3072 and values.min() >= 0.0 and values.max() <= 1.0
            assert one_hot.size == 10 and set(one_hot) <= {0.0, 1.0} and one_hot.sum() == 1.0
            unscaled = values * (high - low) + low  # undo scale_to_0_1 with the train range
            pixels = np.rint(unscaled)
            assert np.abs(unscaled - pixels).max() < 1e-3, "not a pixel scaled by the train range"
            found[(pixels.astype(np.uint8).tobytes(), int(one_hot.argmax()))] += 1
        assert found == expected, f"{split}: transformed records do not match the raw ones"
        assert sum(found.values()) == images["transformed_records"][split]
