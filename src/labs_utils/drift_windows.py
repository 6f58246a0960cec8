"""Drift over time: calendar windows, each window's distance to a reference, in words and in a plot.

The distances come from ``labs_utils.drift`` (raw columns, so they match a null drawn with
``labs_utils.drift_thresholds``); TFDV statistics per window come from ``labs_utils.validation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from labs_utils.drift import L_INFTY, column_distance, linf_distance, value_counts

if TYPE_CHECKING:  # heavy imports stay lazy so importing this module is cheap
    from matplotlib.figure import Figure
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = ["window_labels", "window_statistics", "drift_table", "describe_change", "plot_drift"]


def window_labels(timestamps: pd.Series, freq: str = "Q") -> pd.Series:
    """Return each timestamp's calendar window (e.g. ``2013Q2`` for quarters, ``2013-04`` for months).

    Introduced in c2x_lab_drift_and_skew.
    """
    return pd.to_datetime(timestamps).dt.to_period(freq).astype(str)


def window_statistics(
    df: pd.DataFrame,
    windows: pd.Series,
    options=None,
    *,
    min_rows: int = 1,
) -> dict[str, statistics_pb2.DatasetFeatureStatisticsList]:
    """Return TFDV statistics for each window label in ``windows``, keyed by label in time order.

    Windows with fewer than ``min_rows`` rows are left out; calendar windows with no rows at all
    (gaps in the record) never appear.
    Introduced in c2x_lab_drift_and_skew.
    """
    from labs_utils import validation

    out = {}
    for label in sorted(windows.unique()):
        part = df[(windows == label).to_numpy()].reset_index(drop=True)
        if len(part) >= min_rows:
            out[label] = validation.generate_statistics(part, options)
    return out


def drift_table(
    df: pd.DataFrame,
    windows: pd.Series,
    reference_window: str,
    measures: Mapping[str, str],
) -> pd.DataFrame:
    """Return each window's distance to the reference window: window, feature, measure, n, distance.

    ``measures`` maps each feature to ``L_INFTY`` or ``JENSEN_SHANNON``; distances come from the raw
    rows (``drift.column_distance``), so they match a null from ``drift_thresholds.bootstrap_null``.
    Introduced in c2x_lab_drift_and_skew.
    """
    labels = windows.to_numpy()
    reference = df[labels == reference_window]
    if reference.empty:
        raise ValueError(
            f"reference window {reference_window!r} has no rows; windows are {sorted(set(labels))}"
        )
    rows = []
    for window in sorted(set(labels)):
        part = df[labels == window]
        for feature, measure in measures.items():
            distance = column_distance(part[feature], reference[feature], measure)
            rows.append(
                {
                    "window": window,
                    "feature": feature,
                    "measure": measure,
                    "n": len(part),
                    "distance": distance,
                }
            )
    return pd.DataFrame(rows, columns=["window", "feature", "measure", "n", "distance"])


def describe_change(window: pd.Series, reference: pd.Series, measure: str) -> str:
    """Return, in words, what changed in one feature between a window and the reference.

    Numeric: means, shares of zeros and whether the window holds one value only; categorical: the
    value whose share moved most. Introduced in c2x_lab_drift_and_skew.
    """
    if measure == L_INFTY:
        distance, value = linf_distance(value_counts(window), value_counts(reference))
        share = (window.astype(str) == value).mean()
        ref_share = (reference.astype(str) == value).mean()
        return f"{value!r}: {share:.1%} of rows (reference {ref_share:.1%})"
    text = f"mean {window.mean():.4g} (reference {reference.mean():.4g})"
    zeros, ref_zeros = (window == 0).mean(), (reference == 0).mean()
    if abs(zeros - ref_zeros) > 0.05:
        text += f", zeros {zeros:.0%} (reference {ref_zeros:.0%})"
    if window.nunique() == 1:
        text += f", every value is {window.iloc[0]:g}"
    if window.max() > 10 * max(reference.max(), 1e-9):
        text += f", max {window.max():g} (reference {reference.max():g})"
    return text


def plot_drift(
    table: pd.DataFrame,
    *,
    threshold_column: str = "threshold",
    fixed_threshold: float | None = None,
    ncols: int = 4,
) -> Figure:
    """Return a figure of each feature's distance per window and its threshold; crossings in red.

    ``table`` has columns window, feature, measure, distance and ``threshold_column``; a
    ``fixed_threshold`` (e.g. the course's 0.03) is drawn as a dashed line for comparison.
    Introduced in c2x_lab_drift_and_skew.
    """
    import matplotlib.pyplot as plt

    features = list(dict.fromkeys(table["feature"]))
    nrows = max(1, math.ceil(len(features) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 2.9 * nrows), squeeze=False)
    for ax in axes.flat[len(features) :]:
        ax.set_visible(False)
    for ax, feature in zip(axes.flat, features, strict=False):
        rows = table[table["feature"] == feature]
        x = np.arange(len(rows))
        ax.plot(x, rows["distance"], marker="o", ms=3, lw=1, label="distance")
        ax.step(x, rows[threshold_column], where="mid", color="grey", lw=1, label="null threshold")
        if fixed_threshold is not None:
            ax.axhline(fixed_threshold, color="black", ls="--", lw=0.8, label=f"fixed {fixed_threshold}")
        crossed = (rows["distance"] > rows[threshold_column]).to_numpy()
        ax.plot(x[crossed], rows["distance"][crossed], "o", color="red", ms=4)
        ax.set_xticks(x, rows["window"], rotation=90, fontsize=6)
        ax.set_title(f"{feature} ({rows['measure'].iloc[0].split('_')[0]})", fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
    if features:
        axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    return fig
