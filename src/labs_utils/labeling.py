"""Advanced labeling: semi-supervised splits, active-learning selection and loop, weak supervision.

Active learning: each ``select_*`` function turns what a strategy computed (class probabilities,
committee votes, cluster centres, regions) into the pool rows to query; ``active_learning_curve``
runs the query-label-retrain loop with the held-back labels as the oracle. Weak supervision:
labeling functions vote 0/1 or abstain (``ABSTAIN``); ``lf_summary`` measures them,
``majority_vote`` and ``fit_label_model`` (Dawid–Skene EM) turn the votes into labels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import clone

if TYPE_CHECKING:  # matplotlib stays lazy so importing this module is cheap
    from matplotlib.figure import Figure

__all__ = [
    "ABSTAIN",
    "UNLABELLED",
    "LabelModel",
    "Strategy",
    "active_learning_curve",
    "apply_lfs",
    "fit_label_model",
    "fit_on_probabilities",
    "hide_labels",
    "lf_summary",
    "majority_vote",
    "plot_curves",
    "seed_table",
    "select_least_covered",
    "select_most_disagreement",
    "select_per_region",
    "select_smallest_margin",
    "vote_entropy",
    "wins",
]

ABSTAIN = -1  # a labeling function's "no opinion"
UNLABELLED = -1  # scikit-learn's semi-supervised marker for a hidden label

# strategy(model, X_labelled, y_labelled, X_unlabelled, k, rng) -> k row positions in X_unlabelled
Strategy = Callable[[Any, np.ndarray, np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]


# --- semi-supervised --------------------------------------------------------------------------


def hide_labels(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Return a copy of ``y`` with all but a random ``fraction`` (both classes kept) set to -1.

    At least one row of every class stays labelled, so a classifier can be fit on the rest.
    Introduced in c2x_lab_advanced_labeling.
    """
    y = np.asarray(y)
    n_keep = max(int(round(fraction * len(y))), len(np.unique(y)))
    while True:
        keep = rng.choice(len(y), n_keep, replace=False)
        if len(np.unique(y[keep])) == len(np.unique(y)):
            break
    hidden = np.full_like(y, UNLABELLED)
    hidden[keep] = y[keep]
    return hidden


# --- active learning: selection ---------------------------------------------------------------


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Return the positions of the ``k`` largest scores; ties go to the lower position."""
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")[:k]


def select_smallest_margin(proba: np.ndarray, k: int) -> np.ndarray:
    """Return the ``k`` rows whose two most likely classes are closest in probability.

    Margin sampling; with two classes it picks the same rows as least-confidence sampling.
    Introduced in c2x_lab_advanced_labeling.
    """
    top2 = np.sort(np.asarray(proba, dtype=float), axis=1)[:, -2:]
    return _top(-(top2[:, 1] - top2[:, 0]), k)


def vote_entropy(votes: np.ndarray) -> np.ndarray:
    """Return the entropy (nats) of each column's committee votes; ``votes`` is members x rows.

    Introduced in c2x_lab_advanced_labeling.
    """
    votes = np.asarray(votes)
    entropy = np.zeros(votes.shape[1])
    for label in np.unique(votes):
        share = (votes == label).mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy -= np.where(share > 0, share * np.log(share), 0.0)
    return entropy


def select_most_disagreement(votes: np.ndarray, k: int) -> np.ndarray:
    """Return the ``k`` rows the committee disagrees on most (highest vote entropy).

    Query by committee. Introduced in c2x_lab_advanced_labeling.
    """
    return _top(vote_entropy(votes), k)


def select_least_covered(
    clusters: np.ndarray, distances: np.ndarray, labelled_clusters: np.ndarray, k: int
) -> np.ndarray:
    """Return ``k`` rows, one per cluster, from the clusters with the fewest labelled rows.

    ``clusters`` and ``distances`` (to the row's own centre) describe the unlabelled rows,
    ``labelled_clusters`` the labelled ones. Each pick is the row nearest its centre, so the
    queried rows are representative and spread out. When fewer than ``k`` clusters have
    unlabelled rows, the next-nearest rows are taken in another pass.
    Cluster-based sampling. Introduced in c2x_lab_advanced_labeling.
    """
    clusters, distances = np.asarray(clusters), np.asarray(distances, dtype=float)
    counts = pd.Series(np.asarray(labelled_clusters)).value_counts()
    order = np.lexsort((distances, clusters))  # by cluster, nearest first
    rank = np.empty(len(order), dtype=int)
    starts = np.r_[0, np.flatnonzero(np.diff(clusters[order])) + 1]
    for start, stop in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rank[order[start:stop]] = np.arange(stop - start)
    coverage = np.array([counts.get(c, 0) for c in clusters])
    # pass (rank) first, then least-covered cluster, then nearest to the centre, then position
    picked = np.lexsort((np.arange(len(clusters)), distances, coverage, rank))
    return picked[:k]


def select_per_region(scores: np.ndarray, regions: np.ndarray, k: int) -> np.ndarray:
    """Return ``k`` rows: the highest-scoring row of each region in turn, then the second, ...

    Region-based sampling: run a selection (``scores``, e.g. negative margins) inside every
    region so that no part of the input space is left out. Within a pass, regions whose best
    remaining score is higher come first. Introduced in c2x_lab_advanced_labeling.
    """
    scores, regions = np.asarray(scores, dtype=float), np.asarray(regions)
    order = np.lexsort((-scores, regions))  # by region, best first
    rank = np.empty(len(order), dtype=int)
    starts = np.r_[0, np.flatnonzero(np.diff(regions[order])) + 1]
    for start, stop in zip(starts, np.r_[starts[1:], len(order)], strict=True):
        rank[order[start:stop]] = np.arange(stop - start)
    return np.lexsort((np.arange(len(scores)), -scores, rank))[:k]


# --- active learning: the loop ----------------------------------------------------------------


def active_learning_curve(
    strategy: Strategy,
    model: Any,
    X_pool: np.ndarray,
    y_pool: np.ndarray,
    X_eval: np.ndarray,
    y_eval: np.ndarray,
    *,
    start: int,
    batch: int,
    budget: int,
    seed: int,
) -> pd.DataFrame:
    """Run pool-based active learning and return accuracy on the evaluation set per label count.

    Starts from ``start`` random pool rows (both classes present), then repeatedly fits a clone of
    ``model`` on the labelled rows, scores it on ``(X_eval, y_eval)`` and asks ``strategy`` for
    ``batch`` unlabelled rows, whose labels the oracle (``y_pool``, held back until queried)
    reveals, until ``budget`` labels are used. The strategy never sees unqueried labels.

    Returns:
        One row per fit: ``n_labels``, ``accuracy``; ``df.attrs["queried"]`` lists the pool
        positions in query order.

    Introduced in c2x_lab_advanced_labeling.
    """
    X_pool, y_pool = np.asarray(X_pool), np.asarray(y_pool)
    if not 0 < start <= budget <= len(y_pool):
        raise ValueError(f"need 0 < start ({start}) <= budget ({budget}) <= pool size ({len(y_pool)})")
    rng = np.random.default_rng(seed)
    labelled = list(hide_labels(y_pool, start / len(y_pool), rng) != UNLABELLED)
    queried = list(np.flatnonzero(labelled))
    rows = []
    while True:
        fitted = clone(model).fit(X_pool[queried], y_pool[queried])
        rows.append({"n_labels": len(queried), "accuracy": float(fitted.score(X_eval, y_eval))})
        if len(queried) >= budget:
            break
        unlabelled = np.setdiff1d(np.arange(len(y_pool)), queried)
        k = min(batch, budget - len(queried))
        picks = np.asarray(strategy(fitted, X_pool[queried], y_pool[queried], X_pool[unlabelled], k, rng))
        if len(picks) != k or len(np.unique(picks)) != k:
            raise ValueError(f"strategy returned {len(np.unique(picks))} distinct rows, expected {k}")
        queried += list(unlabelled[picks])
    curve = pd.DataFrame(rows)
    curve.attrs["queried"] = [int(i) for i in queried]
    return curve


def seed_table(scores: Mapping[str, Mapping[Any, Sequence[float]]], *, digits: int = 4) -> pd.DataFrame:
    """Return a mean ± std table: one row per method, one column per setting, over seeds.

    ``scores`` maps method → setting (e.g. labelled fraction, label count) → one score per seed.
    Introduced in c2x_lab_advanced_labeling.
    """
    table = {
        method: {
            setting: f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"
            for setting, values in by_setting.items()
        }
        for method, by_setting in scores.items()
    }
    return pd.DataFrame(table).T


def wins(scores: Sequence[float], baseline: Sequence[float]) -> int:
    """Return in how many seeds ``scores`` beat ``baseline`` (paired by seed, strictly).

    Introduced in c2x_lab_advanced_labeling.
    """
    scores, baseline = np.asarray(scores, dtype=float), np.asarray(baseline, dtype=float)
    if scores.shape != baseline.shape:
        raise ValueError(f"paired scores differ in shape: {scores.shape} vs {baseline.shape}")
    return int((scores > baseline).sum())


def plot_curves(
    curves: Mapping[str, np.ndarray], x: Sequence[float], *, xlabel: str, ylabel: str, title: str
) -> Figure:
    """Draw each method's mean curve over seeds with a ±1 std band; ``curves`` are seeds x points.

    Introduced in c2x_lab_advanced_labeling.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        mean, std = values.mean(axis=0), values.std(axis=0)
        (line,) = ax.plot(x, mean, marker="o", markersize=3, label=f"{name} ({len(values)} seeds)")
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


# --- weak supervision -------------------------------------------------------------------------


def apply_lfs(df: pd.DataFrame, lfs: Mapping[str, Callable[[pd.DataFrame], np.ndarray]]) -> np.ndarray:
    """Apply each labeling function to ``df`` and return the rows x functions vote matrix.

    Each function maps the frame to one vote per row: 0, 1 or ``ABSTAIN``.
    Introduced in c2x_lab_advanced_labeling.
    """
    columns = []
    for name, lf in lfs.items():
        votes = np.asarray(lf(df), dtype=int)
        bad = sorted(set(np.unique(votes)) - {ABSTAIN, 0, 1})
        if votes.shape != (len(df),) or bad:
            raise ValueError(f"labeling function {name!r} must return one of -1, 0, 1 per row; got {bad}")
        columns.append(votes)
    return np.column_stack(columns)


def lf_summary(L: np.ndarray, names: Sequence[str], y: np.ndarray | None = None) -> pd.DataFrame:
    """Return each labeling function's polarity, coverage, overlaps and conflicts (and accuracy).

    Coverage: share of rows it votes on. Overlaps: share of rows where it and another function
    vote. Conflicts: share of rows where another function votes differently. With gold ``y``,
    ``accuracy`` is its share of correct votes (for reading only: the label model never sees it).
    Introduced in c2x_lab_advanced_labeling.
    """
    L = np.asarray(L)
    voted = L != ABSTAIN
    others = voted.sum(axis=1, keepdims=True) - voted
    rows = []
    for j, name in enumerate(names):
        mine = voted[:, j]
        differ = (voted & (L != L[:, [j]])).any(axis=1)
        row = {
            "lf": name,
            "polarity": sorted(int(v) for v in np.unique(L[mine, j])),
            "coverage": float(mine.mean()),
            "overlaps": float((mine & (others[:, j] > 0)).mean()),
            "conflicts": float((mine & differ).mean()),
        }
        if y is not None:
            row["accuracy"] = float((L[mine, j] == np.asarray(y)[mine]).mean()) if mine.any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("lf")


def majority_vote(L: np.ndarray, n_classes: int = 2) -> np.ndarray:
    """Return each row's most voted class; ``ABSTAIN`` where nobody votes or the top classes tie.

    Introduced in c2x_lab_advanced_labeling.
    """
    L = np.asarray(L)
    counts = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1)
    best = counts.argmax(axis=1)
    tied = (counts == counts.max(axis=1, keepdims=True)).sum(axis=1) > 1
    return np.where(tied | (counts.max(axis=1) == 0), ABSTAIN, best)


@dataclass(frozen=True)
class LabelModel:
    """A fitted Dawid–Skene label model.

    ``prior[c]`` is P(y = c); ``confusion[j, c, o]`` is P(function j outputs o | y = c), where
    output o = 0 is abstain and o = 1 + c' is a vote for class c'. Abstaining is an output like any
    other, so a function that only ever votes 1 still tells the classes apart by how often it fires.
    """

    prior: np.ndarray
    confusion: np.ndarray
    n_iter: int

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """Return P(y = c | votes) for each row of the vote matrix ``L`` (rows x classes)."""
        outputs = np.asarray(L) + 1  # ABSTAIN -> 0, class c -> 1 + c
        log_post = np.log(self.prior)[None, :].repeat(len(outputs), axis=0)
        for j in range(outputs.shape[1]):
            log_post += np.log(self.confusion[j][:, outputs[:, j]]).T
        log_post -= log_post.max(axis=1, keepdims=True)
        post = np.exp(log_post)
        return post / post.sum(axis=1, keepdims=True)

    def predict(self, L: np.ndarray) -> np.ndarray:
        """Return the most probable class of each row."""
        return self.predict_proba(L).argmax(axis=1)

    def accuracies(self) -> np.ndarray:
        """Return each function's learned accuracy: P(vote = y | it votes)."""
        classes = len(self.prior)
        right = sum(self.prior[c] * self.confusion[:, c, 1 + c] for c in range(classes))
        fires = sum(self.prior[c] * (1 - self.confusion[:, c, 0]) for c in range(classes))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(fires > 0, right / fires, np.nan)


def _m_step(outputs: np.ndarray, post: np.ndarray, smoothing: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (prior, confusion) maximising the expected likelihood under posteriors ``post``."""
    n_rows, n_lfs = outputs.shape
    n_classes = post.shape[1]
    prior = (post.sum(axis=0) + smoothing) / (n_rows + n_classes * smoothing)
    confusion = np.empty((n_lfs, n_classes, n_classes + 1))
    for o in range(n_classes + 1):
        confusion[:, :, o] = (outputs == o).T.astype(float) @ post + smoothing
    confusion /= confusion.sum(axis=2, keepdims=True)
    return prior, confusion


def fit_label_model(
    L: np.ndarray,
    n_classes: int = 2,
    *,
    class_balance: Sequence[float] | None = None,
    max_iter: int = 200,
    tol: float = 1e-8,
    smoothing: float = 0.01,
) -> LabelModel:
    """Fit a Dawid–Skene model to the vote matrix ``L`` by EM, without any gold labels.

    EM starts from the (soft) majority vote, then alternates: estimate each function's
    class-conditional output rates from the current label posteriors (M-step, with add-``smoothing``
    counts), and recompute the posteriors from those rates, assuming the functions are
    independent given the true label (E-step). Stops when no parameter moves more than ``tol``.
    ``class_balance`` (P(y = c), e.g. from domain knowledge) holds the prior fixed instead of
    learning it, as Snorkel's ``LabelModel.fit(class_balance=...)`` does.
    Introduced in c2x_lab_advanced_labeling.
    """
    L = np.asarray(L)
    if L.ndim != 2 or not np.isin(L, [ABSTAIN, *range(n_classes)]).all():
        raise ValueError(f"L must be a rows x functions matrix of -1 (abstain) or 0..{n_classes - 1}")
    outputs = L + 1
    votes = np.stack([(L == c).sum(axis=1) for c in range(n_classes)], axis=1).astype(float)
    totals = votes.sum(axis=1, keepdims=True)
    post = np.where(totals > 0, votes / np.maximum(totals, 1), 1.0 / n_classes)
    fixed = None if class_balance is None else np.asarray(class_balance, dtype=float)
    if fixed is not None and (
        fixed.shape != (n_classes,) or not np.isclose(fixed.sum(), 1) or (fixed <= 0).any()
    ):
        raise ValueError(f"class_balance must be {n_classes} positive probabilities summing to 1")
    prior, confusion = _m_step(outputs, post, smoothing)
    prior = prior if fixed is None else fixed
    for n_iter in range(1, max_iter + 1):
        post = LabelModel(prior, confusion, n_iter).predict_proba(L)
        new_prior, new_confusion = _m_step(outputs, post, smoothing)
        new_prior = new_prior if fixed is None else fixed
        moved = max(np.abs(new_prior - prior).max(), np.abs(new_confusion - confusion).max())
        prior, confusion = new_prior, new_confusion
        if moved < tol:
            break
    return LabelModel(prior, confusion, n_iter)


def fit_on_probabilities(model: Any, X: np.ndarray, proba: np.ndarray) -> Any:
    """Fit ``model`` to soft labels: each row once per class, weighted by that class's probability.

    Minimising the weighted log loss this way equals training on the expected loss under the
    label model's posterior (the "noise-aware" end model). Returns the fitted model.
    Introduced in c2x_lab_advanced_labeling.
    """
    X, proba = np.asarray(X), np.asarray(proba, dtype=float)
    n_classes = proba.shape[1]
    X_rep = np.concatenate([X] * n_classes)
    y_rep = np.repeat(np.arange(n_classes), len(X))
    weights = proba.T.reshape(-1)
    keep = weights > 0
    return model.fit(X_rep[keep], y_rep[keep], sample_weight=weights[keep])
