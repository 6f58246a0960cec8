"""The data augmentation lab in quick mode through the runner: results.json states the lesson, and
the run's own files (curves, predictions, test scores) reproduce its numbers independently."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import passed_results

pytestmark = pytest.mark.notebook

LAB = "c2x_lab_data_augmentation"


@pytest.fixture(scope="module")
def run(lab_run) -> tuple[dict, Path]:
    """Run the lab once in quick mode; return its results.json and its output folder."""
    result = lab_run(LAB)
    return passed_results(result), Path(result.notebook).parent


@pytest.fixture(scope="module")
def results(run) -> dict:
    return run[0]


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mann–Whitney ROC AUC with average ranks for ties (written here, not sklearn's)."""
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    positives = y == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def test_roc_auc_helper_on_a_hand_computed_case():
    y = np.array([0, 0, 1, 1, 0])
    p = np.array([0.1, 0.5, 0.5, 0.9, 0.2])  # one tie across classes counts one half
    assert roc_auc(y, p) == pytest.approx((3 + 2.5) / 6)


def test_quick_run_is_labelled_and_uses_lossy_mirror_images(results):
    assert results["data_source"] == "lossy"
    assert results["table_data_source"] in ("mirror", "official")
    seeds = results["seeds"]
    assert len(seeds) == len(set(seeds)) >= 3 and results["min_wins"] == len(seeds) - 1
    images = results["images"]
    assert images["train_images"] == 10 * images["class_counts"]["airplane"]
    assert len(set(images["class_counts"].values())) == 1  # balanced classes


def test_augmentation_shrinks_the_memorisation_gap_in_every_seed(results):
    images = results["images"]
    n = len(results["seeds"])
    gap = {
        c: np.array(images["clean_train_accuracy"][c]) - np.array(images["final_val_accuracy"][c])
        for c in ("none", "augmented")
    }
    assert int((gap["augmented"] < gap["none"]).sum()) == images["gap_wins"] == n
    # augmented models fit their own training images less well: they cannot memorise them
    assert (
        np.array(images["clean_train_accuracy"]["augmented"]) < images["clean_train_accuracy"]["none"]
    ).all()


def test_curves_file_reproduces_the_final_accuracies_and_the_win_count(run):
    results, out = run
    curves = pd.read_csv(out / "image_curves.csv")
    epochs, seeds = results["images"]["epochs"], results["seeds"]
    assert len(curves) == 2 * len(seeds) * epochs and set(curves.epoch) == set(range(1, epochs + 1))
    final = curves[curves.epoch == epochs].pivot(index="seed", columns="condition", values="val_accuracy")
    for condition in ("none", "augmented"):
        assert final.loc[seeds, condition].tolist() == pytest.approx(
            results["images"]["final_val_accuracy"][condition]
        )
    assert int((final.augmented > final.none).sum()) == results["images"]["accuracy_wins"]


def test_saved_predictions_reproduce_the_last_validation_accuracy(run):
    """Accuracy recomputed from the predicted classes equals what Keras reported for the last epoch."""
    results, out = run
    saved = np.load(out / "image_val_predictions.npz")
    labels = saved["labels"]
    assert len(labels) == results["images"]["val_images"]
    for condition in ("none", "augmented"):
        for seed, reported in zip(
            results["seeds"], results["images"]["final_val_accuracy"][condition], strict=True
        ):
            assert float((saved[f"{condition}_{seed}"] == labels).mean()) == pytest.approx(reported, abs=1e-6)


def test_test_scores_reproduce_each_roc_auc(run):
    results, out = run
    scores = pd.read_csv(out / "table_test_scores.csv")
    assert set(scores.method) == {"none", "random oversampling", "SMOTE-like", "noise injection"}
    for (method, seed), part in scores.groupby(["method", "seed"]):
        assert len(part) == results["table"]["test_rows"]
        expected = results["table"]["roc_auc"][method][results["seeds"].index(seed)]
        assert roc_auc(part.y.to_numpy(), part.p.to_numpy()) == pytest.approx(expected, abs=1e-6)


def test_table_augmentation_moves_the_threshold_but_not_the_ranking(results):
    table, n, min_wins = results["table"], len(results["seeds"]), results["min_wins"]
    for method in ("random oversampling", "SMOTE-like"):
        assert table["wins"][method]["balanced_accuracy"] >= min_wins
        assert table["mean"][method]["train_positive_rate"] == pytest.approx(0.5)
        assert table["mean"][method]["recall"] > table["mean"]["none"]["recall"]
        assert table["mean"][method]["accuracy"] < table["mean"]["none"]["accuracy"]
    for method in ("random oversampling", "SMOTE-like", "noise injection"):
        assert table["wins"][method]["roc_auc"] <= n - min_wins
    assert table["mean"]["noise injection"]["train_rows"] == 3 * table["train_rows"]
    assert 0.2 < table["positive_rate"] < 0.3  # census: about a quarter earn more than 50K
