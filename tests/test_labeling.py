"""Advanced labeling helpers on cases small enough to check by hand."""

from __future__ import annotations

import itertools
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression

from labs_utils import labeling

matplotlib.use("Agg")

A = labeling.ABSTAIN


# --- semi-supervised ----------------------------------------------------------------------------


def test_hide_labels_keeps_the_fraction_and_both_classes():
    y = np.array([0] * 95 + [1] * 5)
    for seed in range(20):
        hidden = labeling.hide_labels(y, 0.02, np.random.default_rng(seed))
        kept = hidden != labeling.UNLABELLED
        assert kept.sum() == 2 and set(hidden[kept]) == {0, 1}
        assert (hidden[kept] == y[kept]).all()
    assert y.sum() == 5  # the input is not modified


# --- active learning: selection -------------------------------------------------------------------


def test_smallest_margin_picks_the_rows_nearest_a_tie():
    proba = np.array([[0.9, 0.1], [0.55, 0.45], [0.3, 0.7], [0.5, 0.5], [0.45, 0.55]])
    # margins: 0.8, 0.1, 0.4, 0.0, 0.1 -> row 3, then rows 1 and 4 tie (lower position first)
    assert labeling.select_smallest_margin(proba, 3).tolist() == [3, 1, 4]


def test_smallest_margin_uses_the_two_most_likely_of_three_classes():
    proba = np.array([[0.4, 0.4, 0.2], [0.6, 0.1, 0.3], [0.2, 0.5, 0.3]])
    # top-two gaps: 0.0, 0.3, 0.2
    assert labeling.select_smallest_margin(proba, 3).tolist() == [0, 2, 1]


def test_vote_entropy_by_hand():
    votes = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]])  # 4 members x 3 rows
    # row 0: unanimous -> 0; row 1: 2 vs 2 -> ln 2; row 2: 3 vs 1 -> -(3/4 ln 3/4 + 1/4 ln 1/4)
    expected = [0.0, math.log(2), -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))]
    assert labeling.vote_entropy(votes) == pytest.approx(expected)
    assert labeling.select_most_disagreement(votes, 2).tolist() == [1, 2]


def test_least_covered_takes_the_nearest_row_of_the_emptiest_clusters_first():
    clusters = np.array([0, 0, 1, 1, 2, 2])
    distances = np.array([0.5, 0.1, 0.3, 0.2, 0.9, 0.4])
    labelled = np.array([0, 0, 1])  # cluster 0 has two labels, 1 one, 2 none
    # first pass, emptiest cluster first: cluster 2 (row 5), cluster 1 (row 3), cluster 0 (row 1)
    assert labeling.select_least_covered(clusters, distances, labelled, 3).tolist() == [5, 3, 1]
    # second pass when k exceeds the number of clusters: next-nearest rows, same cluster order
    assert labeling.select_least_covered(clusters, distances, labelled, 5).tolist() == [5, 3, 1, 4, 2]


def test_per_region_takes_each_regions_best_in_turn():
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.05])
    regions = np.array([0, 0, 0, 1, 1, 2])
    # pass 1: best of each region, best first: 0 (0.9), 4 (0.2), 5 (0.05); pass 2: 1 (0.8), 3 (0.1)
    assert labeling.select_per_region(scores, regions, 5).tolist() == [0, 4, 5, 1, 3]
    # plain top-k would take three rows of region 0
    assert np.argsort(-scores)[:3].tolist() == [0, 1, 2]


# --- active learning: the loop -------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool():
    """200 pool rows and 100 evaluation rows where the sign of the first feature is the label."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    return X[:200], y[:200], X[200:], y[200:]


def first_rows(model, X_labelled, y_labelled, X_unlabelled, k, rng):
    """A strategy that takes the first k unlabelled rows."""
    return np.arange(k)


def test_loop_counts_labels_and_queries_each_row_once(pool):
    X, y, X_eval, y_eval = pool
    curve = labeling.active_learning_curve(
        first_rows, LogisticRegression(), X, y, X_eval, y_eval, start=10, batch=7, budget=30, seed=1
    )
    assert curve["n_labels"].tolist() == [10, 17, 24, 30]  # the last batch is cut to the budget
    queried = curve.attrs["queried"]
    assert len(queried) == len(set(queried)) == 30
    start = sorted(queried[:10])
    assert len(set(y[start])) == 2  # both classes in the random start
    # "first unlabelled rows": the smallest positions not in the start set, in order
    assert queried[10:17] == [i for i in range(200) if i not in start][:7]
    assert ((curve["accuracy"] >= 0) & (curve["accuracy"] <= 1)).all()


def test_loop_never_shows_the_strategy_unqueried_labels(pool):
    X, y, X_eval, y_eval = pool
    seen = []

    def spy(model, X_labelled, y_labelled, X_unlabelled, k, rng):
        seen.append((len(y_labelled), len(X_unlabelled)))
        return np.arange(k)

    labeling.active_learning_curve(
        spy, LogisticRegression(), X, y, X_eval, y_eval, start=4, batch=4, budget=12, seed=0
    )
    assert seen == [(4, 196), (8, 192)]


def test_loop_same_seed_same_curve_and_bad_strategies_fail(pool):
    X, y, X_eval, y_eval = pool

    def run(strategy):
        return labeling.active_learning_curve(
            strategy, LogisticRegression(), X, y, X_eval, y_eval, start=6, batch=3, budget=12, seed=5
        )

    assert run(first_rows).attrs["queried"] == run(first_rows).attrs["queried"]
    with pytest.raises(ValueError, match="distinct rows"):
        run(lambda m, Xl, yl, Xu, k, rng: np.zeros(k, dtype=int))
    with pytest.raises(ValueError, match="budget"):
        labeling.active_learning_curve(
            first_rows, LogisticRegression(), X, y, X_eval, y_eval, start=20, batch=3, budget=10, seed=0
        )


def test_margin_sampling_queries_near_the_boundary(pool):
    X, y, X_eval, y_eval = pool

    def margin(model, X_labelled, y_labelled, X_unlabelled, k, rng):
        return labeling.select_smallest_margin(model.predict_proba(X_unlabelled), k)

    curve = labeling.active_learning_curve(
        margin, LogisticRegression(), X, y, X_eval, y_eval, start=10, batch=5, budget=40, seed=0
    )
    queried = curve.attrs["queried"][10:]
    # the label is sign(x0): queried rows sit closer to x0 = 0 than the pool does on average
    assert np.abs(X[queried, 0]).mean() < 0.5 * np.abs(X[:, 0]).mean()


# --- summaries --------------------------------------------------------------------------------


def test_seed_table_and_wins():
    table = labeling.seed_table({"a": {1: [0.5, 0.7]}, "b": {1: [0.2, 0.2]}}, digits=2)
    assert table.loc["a", 1] == "0.60 ± 0.10" and table.loc["b", 1] == "0.20 ± 0.00"
    assert labeling.wins([0.8, 0.5, 0.6], [0.7, 0.5, 0.7]) == 1  # ties do not count
    with pytest.raises(ValueError, match="paired"):
        labeling.wins([0.1], [0.1, 0.2])


def test_plot_curves_draws_one_line_per_method():
    fig = labeling.plot_curves(
        {"x": np.ones((3, 4)), "y": np.zeros((3, 4))}, [1, 2, 3, 4], xlabel="n", ylabel="acc", title="t"
    )
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 2


# --- weak supervision ----------------------------------------------------------------------------

VOTES = np.array(
    [
        [1, 1, A],  # two agree
        [1, 0, A],  # conflict, tie
        [A, 0, 0],  # two agree
        [A, A, A],  # nobody votes
        [1, A, A],  # one vote
    ]
)


def test_apply_lfs_builds_the_vote_matrix_and_rejects_bad_votes():
    df = pd.DataFrame({"age": [20, 40, 60]})
    L = labeling.apply_lfs(
        df, {"young": lambda d: np.where(d["age"] < 30, 0, A), "old": lambda d: np.where(d["age"] > 50, 1, A)}
    )
    assert L.tolist() == [[0, A], [A, A], [A, 1]]
    with pytest.raises(ValueError, match="'bad'"):
        labeling.apply_lfs(df, {"bad": lambda d: np.full(len(d), 2)})


def test_lf_summary_by_hand():
    summary = labeling.lf_summary(VOTES, ["a", "b", "c"], y=np.array([1, 0, 0, 1, 0]))
    # a votes 1 on rows 0, 1, 4: overlaps on 0, 1; conflicts on 1; right only on row 0 (y = 1).
    # b votes on rows 0, 1, 2, all right; c votes on row 2, right.
    assert summary["coverage"].tolist() == pytest.approx([3 / 5, 3 / 5, 1 / 5])
    assert summary["overlaps"].tolist() == pytest.approx([2 / 5, 3 / 5, 1 / 5])
    assert summary["conflicts"].tolist() == pytest.approx([1 / 5, 1 / 5, 0.0])
    assert summary["accuracy"].tolist() == pytest.approx([1 / 3, 1.0, 1.0])
    assert summary.loc["b", "polarity"] == [0, 1]


def test_majority_vote_abstains_on_ties_and_silence():
    assert labeling.majority_vote(VOTES).tolist() == [1, A, 0, A, 1]


def exact_votes(prior: float, rates: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Return a vote matrix whose pattern counts are exactly 10,000 x their model probability.

    ``rates[j]`` = (P(vote 1 | y = 1), P(vote 0 | y = 0)) of function j; nobody abstains.
    """
    rows, truth = [], []
    for label, pattern in itertools.product([0, 1], itertools.product([0, 1], repeat=len(rates))):
        p = prior if label == 1 else 1 - prior
        for vote, (sens, spec) in zip(pattern, rates, strict=True):
            right = sens if label == 1 else spec
            p *= right if vote == label else 1 - right
        count = round(p * 10_000)
        assert abs(count - p * 10_000) < 1e-6
        rows += [pattern] * count
        truth += [label] * count
    return np.array(rows), np.array(truth)


def test_label_model_posterior_by_hand():
    # three symmetric functions with accuracies 0.9, 0.8, 0.6 and a balanced prior.
    # votes (1, 0, 0): P(y=1) ∝ 0.9·0.2·0.4 = 0.072, P(y=0) ∝ 0.1·0.8·0.6 = 0.048 -> 0.6 for y=1,
    # although the majority says 0.
    accuracies = [0.9, 0.8, 0.6]
    confusion = np.array([[[0.0, a, 1 - a], [0.0, 1 - a, a]] for a in accuracies])
    model = labeling.LabelModel(prior=np.array([0.5, 0.5]), confusion=confusion, n_iter=0)
    assert model.predict_proba(np.array([[1, 0, 0]]))[0] == pytest.approx([0.4, 0.6])
    assert labeling.majority_vote(np.array([[1, 0, 0]])).tolist() == [0]
    assert model.accuracies() == pytest.approx(accuracies)


def test_label_model_learns_the_accuracies_without_labels():
    # Three conditionally independent functions fix the seven parameters exactly (eight patterns),
    # so EM on the exact counts recovers them, and with them the hand-derived labels above.
    L, truth = exact_votes(0.5, [(0.9, 0.9), (0.8, 0.8), (0.6, 0.6)])
    model = labeling.fit_label_model(L, smoothing=0.0, tol=1e-12, max_iter=5000)
    assert model.prior == pytest.approx([0.5, 0.5], abs=1e-3)
    assert model.accuracies() == pytest.approx([0.9, 0.8, 0.6], abs=1e-3)
    assert model.predict_proba(np.array([[1, 0, 0]]))[0, 1] == pytest.approx(0.6, abs=1e-3)
    # the label model follows the best function on (1, 0, 0) and (0, 1, 1); the majority does not
    for pattern, expected in [((1, 0, 0), 1), ((0, 1, 1), 0), ((1, 1, 0), 1), ((0, 0, 1), 0)]:
        assert model.predict(np.array([pattern]))[0] == expected, pattern
    assert (model.predict(L) == truth).mean() > (labeling.majority_vote(L) == truth).mean()


def test_label_model_learns_asymmetric_rates_and_a_skewed_prior():
    L, _ = exact_votes(0.2, [(0.9, 0.7), (0.6, 0.95), (0.8, 0.8)])
    model = labeling.fit_label_model(L, smoothing=0.0, tol=1e-12, max_iter=5000)
    assert model.prior[1] == pytest.approx(0.2, abs=1e-3)
    sensitivity = model.confusion[:, 1, 2]  # P(vote 1 | y = 1)
    specificity = model.confusion[:, 0, 1]  # P(vote 0 | y = 0)
    assert sensitivity == pytest.approx([0.9, 0.6, 0.8], abs=1e-3)
    assert specificity == pytest.approx([0.7, 0.95, 0.8], abs=1e-3)


def test_a_silent_function_changes_nothing_and_abstaining_can_carry_information():
    L, _ = exact_votes(0.5, [(0.9, 0.9), (0.8, 0.8), (0.6, 0.6)])
    silent = labeling.fit_label_model(np.column_stack([L, np.full(len(L), A)]), smoothing=0.0, tol=1e-12)
    plain = labeling.fit_label_model(L, smoothing=0.0, tol=1e-12)
    patterns = np.array(list(itertools.product([0, 1], repeat=3)))
    with_silent = np.column_stack([patterns, np.full(len(patterns), A)])
    assert silent.predict_proba(with_silent) == pytest.approx(plain.predict_proba(patterns), abs=1e-9)
    # a function that votes 1 only for y = 1 rows (half of them) and abstains otherwise:
    # its abstain rate differs by class (1/2 vs 1), which the model reads as evidence.
    confusion = np.array([[[1.0, 0.0, 0.0], [0.5, 0.0, 0.5]]])
    one_sided = labeling.LabelModel(prior=np.array([0.5, 0.5]), confusion=confusion, n_iter=0)
    # abstain: P(y=1) ∝ 0.5·0.5, P(y=0) ∝ 0.5·1 -> 1/3
    assert one_sided.predict_proba(np.array([[A]]))[0, 1] == pytest.approx(1 / 3)


def test_label_model_rejects_bad_votes():
    with pytest.raises(ValueError, match="abstain"):
        labeling.fit_label_model(np.array([[0, 2]]))


def test_fit_on_probabilities_matches_hard_labels_when_certain():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(int)
    hard = LogisticRegression().fit(X, y)
    soft = labeling.fit_on_probabilities(LogisticRegression(), X, np.eye(2)[y])
    assert soft.coef_ == pytest.approx(hard.coef_, rel=1e-4)
    # 50/50 labels carry no signal: the model learns nothing
    flat = labeling.fit_on_probabilities(LogisticRegression(), X, np.full((100, 2), 0.5))
    assert np.abs(flat.coef_).max() < 1e-6


def test_a_given_class_balance_stays_fixed():
    L, _ = exact_votes(0.2, [(0.9, 0.7), (0.6, 0.95), (0.8, 0.8)])
    model = labeling.fit_label_model(L, class_balance=[0.8, 0.2], smoothing=0.0, tol=1e-12, max_iter=5000)
    assert model.prior.tolist() == [0.8, 0.2]
    assert model.confusion[:, 1, 2] == pytest.approx([0.9, 0.6, 0.8], abs=1e-3)  # the true prior: same fit
    with pytest.raises(ValueError, match="class_balance"):
        labeling.fit_label_model(L, class_balance=[0.5, 0.6])
