"""Feature selection: one evaluation routine that judges filter, wrapper and embedded methods alike.

The lab writes each selection call itself (``SelectKBest``, ``RFE``, ``SelectFromModel``, a Pearson
filter) and gets a list of column names; ``compare`` evaluates each list with the same seeded random
forest on the same stratified, train-scaled split, so the table differs only by features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

__all__ = [
    "METRICS", "compare", "correlated_pairs", "drop_features", "evaluate", "fit_predict",
    "plot_correlation_heatmap", "plot_metrics", "split_and_scale",
]  # fmt: skip

METRICS = ("accuracy", "roc_auc", "precision", "recall", "f1")


def split_and_scale(
    X: pd.DataFrame, y: pd.Series, *, test_size: float = 0.2, random_state: int = 123
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Return a split stratified by ``y``, standardized with a scaler fit on the train part only.

    Returns:
        ``(X_train, X_test, y_train, y_test)``; the X frames keep the column names.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=random_state
    )
    scaler = StandardScaler().fit(X_train)

    def scale(part: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(scaler.transform(part), columns=X.columns, index=part.index)

    return scale(X_train), scale(X_test), y_train, y_test


def _make_forest(random_state: int = 47) -> RandomForestClassifier:
    """Return the harness's model: an entropy random forest with a fixed seed.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    return RandomForestClassifier(criterion="entropy", random_state=random_state)


def fit_predict(
    X_train: pd.DataFrame,
    X_test: pd.DataFrame,
    y_train: pd.Series,
    features: Sequence[str] | None = None,
    *,
    random_state: int = 47,
) -> np.ndarray:
    """Return the hard test predictions of the harness forest fit on ``features`` (default: all).

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    columns = list(X_train.columns if features is None else features)
    model = _make_forest(random_state).fit(X_train[columns], y_train)
    return model.predict(X_test[columns])


def _metrics_from_predictions(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Return accuracy, ROC AUC, precision, recall and F1 keyed by name.

    ROC AUC is computed from hard 0/1 labels, as in the course (it equals balanced accuracy);
    use predicted probabilities for the usual ranking AUC.
    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall": float(recall_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred)),
    }


def evaluate(
    X_train: pd.DataFrame,
    X_test: pd.DataFrame,
    y_train: pd.Series,
    y_test: pd.Series,
    features: Sequence[str] | None = None,
    *,
    random_state: int = 47,
) -> dict[str, float]:
    """Return the test metrics, keyed by name, of the harness forest fit on ``features``.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    y_pred = fit_predict(X_train, X_test, y_train, features, random_state=random_state)
    return _metrics_from_predictions(y_test, y_pred)


def compare(
    methods: Mapping[str, Sequence[str]],
    X_train: pd.DataFrame,
    X_test: pd.DataFrame,
    y_train: pd.Series,
    y_test: pd.Series,
    *,
    random_state: int = 47,
) -> pd.DataFrame:
    """Return one row per method: its feature count and the metrics of its feature list.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    rows = [
        {
            "method": name,
            "n_features": len(features),
            **evaluate(X_train, X_test, y_train, y_test, features, random_state=random_state),
        }
        for name, features in methods.items()
    ]
    return pd.DataFrame(rows).set_index("method")


# --- filters: helpers around the selection calls the lab writes ------------------------------


def correlated_pairs(X: pd.DataFrame, *, threshold: float = 0.9) -> pd.DataFrame:
    """Return feature pairs whose |Pearson r| exceeds ``threshold``, strongest first.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    corr = X.corr()
    names = list(corr.columns)
    pairs = [
        {"feature_a": a, "feature_b": b, "r": float(corr.loc[a, b])}
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if abs(corr.loc[a, b]) > threshold
    ]
    table = pd.DataFrame(pairs, columns=["feature_a", "feature_b", "r"])
    return table.reindex(table["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def drop_features(features: Sequence[str], drop: Sequence[str]) -> list[str]:
    """Return ``features`` without ``drop``; every name in ``drop`` must be in ``features``.

    Raises:
        KeyError: a name to drop is not among the features (e.g. a misspelt column), which would
            otherwise be skipped silently.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    unknown = [name for name in drop if name not in features]
    if unknown:
        raise KeyError(f"Cannot drop {unknown}: not among the features {list(features)}")
    return [name for name in features if name not in set(drop)]


# --- plots ------------------------------------------------------------------------------------


def plot_metrics(
    table: pd.DataFrame, metrics: Sequence[str] = METRICS, *, ylim: tuple[float, float] | None = None
) -> Figure:
    """Return a grouped bar chart: one group per metric, one bar per method (``compare`` output).

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(table)
    positions = np.arange(len(metrics))
    for i, (method, row) in enumerate(table.iterrows()):
        label = f"{method} ({int(row['n_features'])})" if "n_features" in row else str(method)
        ax.bar(positions + i * width, row[list(metrics)].astype(float), width, label=label)
    ax.set_xticks(positions + width * (len(table) - 1) / 2, metrics)
    low = float(table[list(metrics)].to_numpy().min())
    ax.set_ylim(ylim or (max(0.0, low - 0.05), 1.0))
    ax.set_ylabel("score on the test split")
    ax.set_title("Metrics by feature-selection method (features in brackets)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def plot_correlation_heatmap(
    frame: pd.DataFrame, *, title: str = "Pearson correlation", annotate: bool = False
) -> Figure:
    """Return a heatmap figure of the Pearson correlation matrix of ``frame``'s numeric columns.

    ``annotate=True`` writes each r (two decimals) in its cell, white on the dark ends of the scale.
    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    corr = frame.select_dtypes("number").corr()
    size = max(6.0, 0.35 * len(corr))
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(corr)), corr.columns, rotation=90, fontsize="small")
    ax.set_yticks(range(len(corr)), corr.index, fontsize="small")
    if annotate:
        for (i, j), value in np.ndenumerate(corr.to_numpy()):
            if not np.isnan(value):
                colour = "white" if abs(value) > 0.6 else "black"
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small", color=colour)
    fig.colorbar(image, ax=ax, shrink=0.8, label="r")
    ax.set_title(title)
    fig.tight_layout()
    return fig
