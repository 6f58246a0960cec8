"""Unit tests for labs_utils.drift_thresholds: the bootstrap null and the thresholds read from it."""

import numpy as np
import pandas as pd
import pytest

from labs_utils import drift, drift_thresholds


def test_null_of_a_constant_reference_is_zero():
    null = drift_thresholds.bootstrap_null(pd.Series(["a"] * 10), [5], drift.L_INFTY, draws=20)
    assert (null["distance"] == 0).all() and len(null) == 20


def test_null_shrinks_with_sample_size_and_sets_the_false_alarm_rate():
    reference = pd.Series(np.random.default_rng(0).choice(["a", "b", "c"], size=5_000))
    null = drift_thresholds.bootstrap_null(reference, [50, 5_000], drift.L_INFTY, draws=400, seed=1)
    thresholds = drift_thresholds.null_thresholds(null, 0.05)
    assert thresholds[(50, 50)] > 3 * thresholds[(5_000, 5_000)]
    rates = drift_thresholds.false_alarm_rates(null, float(thresholds[(50, 50)]))
    assert rates[(50, 50)] <= 0.05  # by construction of the quantile
    assert rates[(5_000, 5_000)] == 0.0
    with pytest.raises(ValueError, match="false_alarm_rate"):
        drift_thresholds.null_thresholds(null, 1.5)


def test_fast_bootstrap_js_equals_the_reference_implementation():
    rng = np.random.default_rng(3)
    for values in (
        rng.normal(size=400),
        rng.integers(0, 4, size=300).astype(float),
        np.r_[np.zeros(50), 1.0],
    ):
        a = values[rng.integers(0, values.size, (30, 40))]
        b = values[rng.integers(0, values.size, (30, 25))]
        fast = drift_thresholds._js_rows(a, b)
        slow = [
            drift.js_divergence(drift.standard_histogram(x), drift.standard_histogram(y))
            for x, y in zip(a, b, strict=True)
        ]
        np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_null_against_the_whole_reference_records_its_size():
    null = drift_thresholds.bootstrap_null(
        pd.Series(np.arange(100.0)), [(10, None)], drift.JENSEN_SHANNON, draws=5
    )
    assert set(null["n_rhs"]) == {100} and (null["distance"] > 0).all()


def test_unknown_measure_is_an_error():
    with pytest.raises(ValueError, match="unknown measure"):
        drift_thresholds.bootstrap_null(pd.Series([1.0]), [1], "WASSERSTEIN")
