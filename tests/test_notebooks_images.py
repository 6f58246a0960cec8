"""The CIFAR-10 images lab in quick mode through the runner: its results.json must state the lesson."""

from __future__ import annotations

import pytest
from helpers import results_fixture

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
    assert images["ingested_unchanged"] is True


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
    for split, checks in images["record_checks"].items():
        assert checks["records"] == images["split_sizes"][split]
        assert checks["matched_raw_records"] and checks["in_0_1"] and checks["one_hot"]
        assert checks["values_per_image"] == 3072
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
    assert images["max_scaling_error"] < 1e-6
    assert images["timings"]["transform_rows_per_second"] > 0
