"""Unit tests for labs_utils.drift: hand-checked distances and their agreement with TFDV."""

import math

import numpy as np
import pandas as pd
import pytest

from labs_utils import drift

H = drift.Histogram


# --- L-infinity ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lhs", "rhs", "expected", "where"),
    [
        ({"a": 3, "b": 1}, {"a": 3, "b": 1}, 0.0, "b"),  # identical: 0 (ties go to the last value)
        ({"a": 5}, {"b": 2}, 1.0, "b"),  # disjoint categories: 1
        ({"a": 3, "b": 1}, {"a": 1, "b": 1}, 0.25, "b"),  # 0.75 vs 0.5 on both values, tie -> "b"
        ({"a": 6, "b": 3, "c": 1}, {"a": 2, "b": 2, "c": 6}, 0.5, "c"),  # |0.1 - 0.6|
        ({"x": 10, "y": 30}, {"x": 20, "y": 20}, 0.25, "y"),  # totals differ: each side its own total
    ],
)
def test_linf_distance_hand_checked(lhs, rhs, expected, where):
    distance, value = drift.linf_distance(lhs, rhs)
    assert distance == pytest.approx(expected)
    assert value == where


def test_value_counts_ignore_missing_and_use_text_labels():
    assert drift.value_counts(pd.Series(["a", None, "a", 1])) == {"a": 2.0, "1": 1.0}


# --- Jensen-Shannon ------------------------------------------------------------------------------


def test_js_counts_identical_disjoint_and_hand_computed():
    assert drift.js_divergence_counts({"a": 1, "b": 3}, {"a": 2, "b": 6}) == pytest.approx(0.0)
    assert drift.js_divergence_counts({"a": 1}, {"b": 1}) == pytest.approx(1.0)
    # p = (1, 0), q = (1/2, 1/2): m = (3/4, 1/4); JS = (log2(4/3) + 0.5 log2(2/3) + 0.5 log2(2)) / 2
    expected = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    assert drift.js_divergence_counts({"a": 4}, {"a": 1, "b": 1}) == pytest.approx(expected)


def test_js_histograms_identical_is_zero_and_disjoint_is_one():
    h = H([(0.0, 1.0, 3.0), (1.0, 2.0, 1.0)])
    assert drift.js_divergence(h, h) == pytest.approx(0.0)
    assert drift.js_divergence(H([(0.0, 1.0, 5.0)]), H([(2.0, 3.0, 5.0)])) == pytest.approx(1.0)


def test_js_rebuckets_uniformly_on_the_union_of_edges():
    # [0, 2] with 4 values splits into [0, 1] and [1, 2] with 2 each; against [0, 1] holding all 4:
    # p = (1/2, 1/2), q = (1, 0): the hand-computed value above, mirrored.
    expected = (math.log2(4 / 3) + 0.5 * math.log2(2 / 3) + 0.5) / 2
    assert drift.js_divergence(H([(0.0, 2.0, 4.0)]), H([(0.0, 1.0, 4.0)])) == pytest.approx(expected)


def test_js_point_bucket_never_overlaps_an_interval():
    # TFDV keeps zero-width buckets apart, so a constant window diverges fully from a spread one
    assert drift.js_divergence(H([(0.0, 0.0, 10.0)]), H([(0.0, 1.0, 10.0)])) == pytest.approx(1.0)
    assert drift.js_divergence(H([(0.0, 0.0, 4.0)]), H([(0.0, 0.0, 9.0)])) == pytest.approx(0.0)


def test_js_nan_buckets_are_mismatched_as_in_tfdv():
    same = H([(0.0, 1.0, 1.0)], num_nan=1.0)
    # both sides have half their mass in NaN, yet TFDV puts the two NaN masses in different buckets
    expected = drift.js_divergence_counts({"x": 1, "nan_l": 1}, {"x": 1, "nan_r": 1})
    assert drift.js_divergence(same, same) == pytest.approx(expected)
    assert expected > 0


def test_js_empty_histogram_is_an_error():
    with pytest.raises(ValueError, match="non-empty"):
        drift.js_divergence(H([]), H([(0.0, 1.0, 1.0)]))


def test_standard_histogram_has_ten_equal_buckets_from_min_to_max():
    h = drift.standard_histogram(pd.Series([0.0, 1.0, 2.0, 10.0, np.nan]))
    assert len(h.buckets) == 10 and h.num_nan == 1
    assert h.buckets[0] == (0.0, 1.0, 1.0) and h.buckets[-1] == (9.0, 10.0, 1.0)
    assert sum(b[2] for b in h.buckets) == 4
    assert drift.standard_histogram(pd.Series([3.0, 3.0])).buckets == [(3.0, 3.0, 2.0)]


def test_unknown_measure_is_an_error():
    with pytest.raises(ValueError, match="unknown measure"):
        drift.column_distance(pd.Series([1.0]), pd.Series([1.0]), "WASSERSTEIN")


# --- agreement with TFDV ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two small frames whose numeric and categorical columns differ."""
    rng = np.random.default_rng(7)
    lhs = pd.DataFrame({"x": rng.normal(0, 1, 500), "k": rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])})
    rhs = pd.DataFrame(
        {"x": rng.normal(0.7, 1.5, 400), "k": rng.choice(["a", "b", "d"], 400, p=[0.3, 0.3, 0.4])}
    )
    return lhs, rhs


def test_distances_from_statistics_equal_tfdv_validate_statistics(two_windows):
    tfdv = pytest.importorskip("tensorflow_data_validation")
    from labs_utils import validation

    lhs_stats, rhs_stats = (validation.generate_statistics(df) for df in two_windows)
    schema = tfdv.infer_schema(lhs_stats)
    tfdv.get_feature(schema, "k").drift_comparator.infinity_norm.threshold = 0.01
    tfdv.get_feature(schema, "x").drift_comparator.jensen_shannon_divergence.threshold = 0.01
    anomalies = tfdv.validate_statistics(rhs_stats, schema, previous_statistics=lhs_stats)
    reported = validation.comparator_table(anomalies).set_index("feature")
    for feature in ("k", "x"):
        measure, value = drift.statistics_distance(rhs_stats, lhs_stats, feature)
        assert reported.loc[feature, "measure"] == measure
        assert value == pytest.approx(reported.loc[feature, "value"], abs=1e-9)
    # the raw path agrees exactly for L-infinity and within the quantile sketch's error for JS
    lhs, rhs = two_windows
    assert drift.column_distance(rhs["k"], lhs["k"], drift.L_INFTY) == pytest.approx(
        reported.loc["k", "value"]
    )
    js_raw = drift.column_distance(rhs["x"], lhs["x"], drift.JENSEN_SHANNON)
    assert js_raw == pytest.approx(reported.loc["x", "value"], abs=0.02)
