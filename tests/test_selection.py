"""Feature-selection harness on tiny synthetic data where one feature decides the label."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from labs_utils import selection

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    """200 rows: ``signal`` decides y, ``echo`` is signal plus a little noise, 6 noise columns."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=200)
    X = pd.DataFrame({f"noise_{i}": rng.normal(size=200) for i in range(6)})
    X.insert(2, "signal", signal)
    X["echo"] = signal + rng.normal(scale=0.05, size=200)
    X["offset"] = X["noise_0"] * 10 + 100  # unscaled on purpose
    y = pd.Series((signal > 0).astype(int), name="y")
    return X, y


@pytest.fixture(scope="module")
def split(data):
    return selection.split_and_scale(*data)


def test_split_is_stratified_and_scaled_on_train_only(data, split):
    X, y = data
    X_train, X_test, y_train, y_test = split
    assert len(X_train) == 160 and len(X_test) == 40
    assert list(X_train.columns) == list(X.columns)
    assert y_train.mean() == pytest.approx(y.mean(), abs=0.01)
    assert y_test.mean() == pytest.approx(y.mean(), abs=0.03)
    np.testing.assert_allclose(X_train.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(X_train.std(ddof=0), 1, atol=1e-12)
    # The test part uses the train statistics, so it is not exactly standardized itself.
    assert not np.allclose(X_test.mean(), 0, atol=1e-12)
    assert set(X_train.index).isdisjoint(X_test.index)


def test_evaluate_returns_each_metric_under_its_name(split):
    metrics = selection.evaluate(*split, ["signal"])
    assert tuple(metrics) == selection.METRICS
    assert all(0.0 <= value <= 1.0 for value in metrics.values())
    assert metrics["accuracy"] > 0.9


def test_accuracy_equals_confusion_matrix_diagonal_share(split):
    X_train, X_test, y_train, y_test = split
    features = ["noise_0", "noise_1", "signal"]
    y_pred = selection.fit_predict(X_train, X_test, y_train, features)
    tn, fp, fn, tp = confusion_matrix(y_test, y_pred).ravel()
    metrics = selection.evaluate(X_train, X_test, y_train, y_test, features)
    assert metrics["accuracy"] == pytest.approx((tp + tn) / len(y_test))
    assert metrics["precision"] == pytest.approx(tp / (tp + fp))
    assert metrics["recall"] == pytest.approx(tp / (tp + fn))
    # From hard labels, ROC AUC is the mean of the two class recalls.
    assert metrics["roc_auc"] == pytest.approx((tp / (tp + fn) + tn / (tn + fp)) / 2)


def test_metrics_on_known_predictions_are_not_swapped():
    metrics = selection._metrics_from_predictions([0, 0, 0, 1, 1], [0, 0, 1, 1, 0])
    assert metrics["accuracy"] == pytest.approx(3 / 5)
    assert metrics["precision"] == pytest.approx(1 / 2)
    assert metrics["recall"] == pytest.approx(1 / 2)
    assert metrics["f1"] == pytest.approx(1 / 2)
    assert metrics["roc_auc"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_compare_builds_one_row_per_method_with_counts(split):
    methods = {"all": list(split[0].columns), "signal only": ["signal"], "noise": ["noise_3"]}
    table = selection.compare(methods, *split)
    assert list(table.index) == list(methods)
    assert list(table.columns) == ["n_features", *selection.METRICS]
    assert table["n_features"].tolist() == [9, 1, 1]
    assert table.loc["signal only", "accuracy"] > table.loc["noise", "accuracy"]
    assert table.loc["all"].tolist() == pytest.approx(
        [9, *selection.evaluate(*split, methods["all"]).values()]
    )


def test_correlated_pairs_finds_the_echo(data):
    pairs = selection.correlated_pairs(data[0], threshold=0.9)
    assert len(pairs) == 2
    found = {frozenset(p) for p in pairs[["feature_a", "feature_b"]].itertuples(index=False)}
    assert found == {frozenset({"signal", "echo"}), frozenset({"noise_0", "offset"})}
    assert pairs["r"].abs().is_monotonic_decreasing


def test_drop_features_keeps_order_and_rejects_unknown_names():
    assert selection.drop_features(["a", "b", "c"], ["b"]) == ["a", "c"]
    with pytest.raises(KeyError, match="concavepoints_mean"):
        selection.drop_features(["concave points_mean", "radius_mean"], ["concavepoints_mean"])


def test_plots_return_figures(split, data):
    table = selection.compare({"a": ["signal"], "b": ["noise_1", "signal"]}, *split)
    bars = selection.plot_metrics(table)
    heat = selection.plot_correlation_heatmap(data[0], annotate=True)
    assert isinstance(bars, Figure) and isinstance(heat, Figure)
    assert len(bars.axes[0].patches) == 2 * len(selection.METRICS)
    assert heat.axes[0].get_images()[0].get_array().shape == (9, 9)


@pytest.fixture(scope="module")
def noise_split() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Labels unrelated to 10 noise features: what a model learns here depends on its seed."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({f"n{i}": rng.normal(size=300) for i in range(10)})
    y = pd.Series(rng.integers(0, 2, size=300), name="y")
    return selection.split_and_scale(X, y)


def test_the_split_is_the_same_on_every_call(data):
    first, again = selection.split_and_scale(*data), selection.split_and_scale(*data)
    assert list(first[0].index) == list(again[0].index)
    assert list(first[1].index) == list(again[1].index)


def test_the_harness_forest_is_seeded(noise_split):
    X_train, X_test, y_train, _ = noise_split
    first = selection.fit_predict(X_train, X_test, y_train, random_state=47)
    again = selection.fit_predict(X_train, X_test, y_train, random_state=47)
    other = selection.fit_predict(X_train, X_test, y_train, random_state=48)
    assert (first == again).all()
    assert (other != first).any(), "on pure noise another seed gives other predictions"
