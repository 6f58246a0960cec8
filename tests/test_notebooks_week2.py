"""Week-2 labs in quick mode through the runner: their results.json must state the lesson."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import results_fixture

pytestmark = pytest.mark.notebook

SIMPLE = "c2w2_lab_simple_transform"
SELECTION = "c2w2_lab_feature_selection_breast_cancer"
METHODS = ["all", "correlation", "drop_correlated", "kbest", "rfe", "importance", "l1"]
METRICS = ["accuracy", "roc_auc", "precision", "recall", "f1"]


simple = results_fixture(SIMPLE)
chosen = results_fixture(SELECTION)


# --- c2w2_lab_simple_transform: every value follows from x = y = 1, 2, 3 and s = hello, world, hello


def test_simple_raw_schema_and_four_typed_outputs(simple):
    assert simple["raw_schema"] == {"s": "BYTES", "x": "FLOAT", "y": "FLOAT"}
    assert simple["transformed_schema"] == {
        "s_integerized": "INT",
        "x_centered": "FLOAT",
        "x_centered_times_y_normalized": "FLOAT",
        "y_normalized": "FLOAT",
    }


def test_simple_values_are_the_hand_derived_ones(simple):
    transformed = simple["transformed"]
    assert transformed["x_centered"] == pytest.approx([-1.0, 0.0, 1.0])  # x - mean(x) = x - 2
    assert transformed["y_normalized"] == pytest.approx([0.0, 0.5, 1.0])  # (y - 1) / (3 - 1)
    assert transformed["x_centered_times_y_normalized"] == pytest.approx([0.0, 0.0, 1.0])
    assert transformed["s_integerized"] == [0, 1, 0]  # hello is the frequent token
    assert simple["vocabulary"] == ["hello", "world"]
    for name, values in simple["expected"].items():
        assert transformed[name] == pytest.approx(values)


def test_simple_new_rows_use_the_training_statistics(simple):
    new = simple["new_rows_transformed"]  # rows (x, y, s) = (4, 4, world) and (0, 0, goodbye)
    assert new["x_centered"] == pytest.approx([2.0, -2.0])
    assert new["y_normalized"] == pytest.approx([1.5, -0.5])
    assert new["x_centered_times_y_normalized"] == pytest.approx([3.0, 1.0])
    assert new["s_integerized"] == [1, -1]


def test_simple_record_batch_path_gives_the_same_rows(simple):
    batch = simple["record_batch_path"]  # transform.transform_data's rows, in input order
    assert set(batch) == set(simple["transformed"])
    for name, values in simple["transformed"].items():
        assert batch[name] == pytest.approx(values), name


def test_simple_graphs_and_examples_on_disk_give_the_hand_derived_values(lab_run):
    import tensorflow as tf
    import tensorflow_transform as tft

    from labs_utils import transform

    lab_dir = lab_run(SIMPLE).notebook.parent
    raw = {"x": tf.constant([1.0, 2.0, 3.0]), "y": tf.constant([1.0, 2.0, 3.0])}
    raw["s"] = tf.constant(["hello", "world", "hello"])
    hand = {
        "x_centered": [-1.0, 0.0, 1.0],
        "y_normalized": [0.0, 0.5, 1.0],
        "x_centered_times_y_normalized": [0.0, 0.0, 1.0],
        "s_integerized": [0, 1, 0],
    }
    for graph in (lab_dir / "transform_graph", lab_dir / "record_batches" / "transform_graph"):
        out = tft.TFTransformOutput(str(graph)).transform_raw_features(raw)
        for name, values in hand.items():
            assert out[name].numpy().tolist() == pytest.approx(values), (graph, name)
    written = transform.load_example_files(str(lab_dir / "transformed_examples" / "part*.gz"))
    written = written.sort_values("x_centered").reset_index(drop=True)
    for name, values in hand.items():
        assert written[name].tolist() == pytest.approx(values), name


# --- c2w2_lab_feature_selection_breast_cancer ------------------------------------------------------


def test_selection_uses_all_rows_in_a_stratified_80_20_split(chosen):
    assert chosen["rows"] == 569 and chosen["n_features"] == len(chosen["feature_names"]) == 30
    sizes = chosen["split_sizes"]
    assert sizes["train"] + sizes["test"] == chosen["rows"]
    assert sizes["test"] / chosen["rows"] == pytest.approx(0.2, abs=0.01)


def test_selection_records_every_method_with_names_count_and_named_metrics(chosen):
    methods = chosen["methods"]
    assert list(methods) == METHODS
    assert chosen["metric_names"] == METRICS
    names = set(chosen["feature_names"])
    for name, method in methods.items():
        assert method["count"] == len(method["features"]) == len(set(method["features"])), name
        assert set(method["features"]) <= names, name
        assert list(method["metrics"]) == METRICS, name
        assert all(0.0 < v <= 1.0 and not math.isnan(v) for v in method["metrics"].values()), name
    assert methods["all"]["count"] == 30
    assert all(m["count"] < 30 for name, m in methods.items() if name != "all")


def test_selection_counts_follow_the_methods(chosen):
    methods = chosen["methods"]
    assert methods["kbest"]["count"] == methods["rfe"]["count"] == 20
    correlated = set(methods["correlation"]["features"])
    dropped = chosen["dropped_as_correlated"]
    assert "concave points_mean" in dropped and "concave points_mean" in correlated
    assert set(methods["drop_correlated"]["features"]) == correlated - set(dropped)
    assert methods["drop_correlated"]["count"] == methods["correlation"]["count"] - 5


def test_selection_metrics_are_in_their_own_columns(chosen):
    positives, negatives = (chosen["test_class_counts"][k] for k in ("malignant", "benign"))
    assert positives + negatives == chosen["split_sizes"]["test"]
    for name, method in chosen["methods"].items():
        m = method["metrics"]
        # From hard labels, ROC AUC = (recall + specificity) / 2, and accuracy weighs the two class
        # recalls by class size; F1 is the harmonic mean of precision and recall. Any swap breaks these.
        specificity = 2 * m["roc_auc"] - m["recall"]
        assert 0.0 <= specificity <= 1.0, name
        accuracy = (m["recall"] * positives + specificity * negatives) / (positives + negatives)
        assert m["accuracy"] == pytest.approx(accuracy), name
        assert m["f1"] == pytest.approx(2 * m["precision"] * m["recall"] / (m["precision"] + m["recall"])), (
            name
        )
        assert m["accuracy"] > 0.8, name


def test_selection_correlation_filter_recomputed_with_numpy(chosen):
    from labs_utils import datasets

    df = datasets.load_breast_cancer()
    malignant = (df["diagnosis"] == "M").to_numpy(dtype=float)
    features = chosen["feature_names"]
    r = {f: np.corrcoef(df[f].to_numpy(dtype=float), malignant)[0, 1] for f in features}
    assert chosen["rows"] == len(df) and chosen["split_sizes"]["test"] == math.ceil(0.2 * len(df))
    assert set(chosen["methods"]["correlation"]["features"]) == {f for f in features if abs(r[f]) > 0.2}
    positives = chosen["test_class_counts"]["malignant"]
    assert positives / chosen["split_sizes"]["test"] == pytest.approx(malignant.mean(), abs=0.01)


def test_selection_importance_and_l1_picks_recomputed_with_scikit_learn(chosen):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.svm import LinearSVC

    from labs_utils import datasets, selection

    df = datasets.load_breast_cancer()
    X = df.drop(columns=[c for c in ["id", "Unnamed: 32", "diagnosis"] if c in df.columns])
    y = (df["diagnosis"] == "M").astype(int)
    X_train, _, y_train, _ = selection.split_and_scale(X, y, test_size=0.2, random_state=123)
    seed = chosen["seed"]
    forest = RandomForestClassifier(random_state=seed).fit(X_train, y_train)
    weights = dict(zip(X_train.columns, forest.feature_importances_.tolist(), strict=True))
    assert chosen["importances"] == pytest.approx(weights, rel=1e-9)  # the same seeded forest
    important = [f for f, w in weights.items() if w >= 0.013]
    assert chosen["methods"]["importance"]["features"] == important
    svm = LinearSVC(C=1.0, penalty="l1", dual=False, max_iter=10_000, random_state=seed).fit(X_train, y_train)
    # an L1 penalty zeroes weights; SelectFromModel keeps those above 1e-5 for such models
    nonzero = [f for f, w in zip(X_train.columns, np.abs(svm.coef_[0]), strict=True) if w > 1e-5]
    assert 0 < len(nonzero) < len(X_train.columns)
    assert chosen["methods"]["l1"]["features"] == nonzero
