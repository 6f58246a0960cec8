"""Drift and skew: the distances TFDV's comparators measure, per time window, and thresholds from a null.

The distances follow TFDV's own definitions (``anomalies/metrics.cc`` in tensorflow/data-validation):

- **L-infinity** for categorical features: the largest change of any value's share, each side
  normalised by its own total of non-missing values.
- **Jensen-Shannon divergence** for numeric features: both histograms are aligned on the union of
  their bucket edges (mass spread uniformly inside a bucket), point buckets, infinite buckets and
  NaN counts are kept apart, then ``(KL(p||m) + KL(q||m)) / 2`` with ``log2``, capped at 1.

Functions take value counts and histograms, so the same code reads TFDV statistics protos (and then
agrees with ``tfdv.validate_statistics``) or raw pandas columns (fast enough for thousands of
bootstrap draws).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # heavy imports stay lazy so `import labs_utils.drift` is cheap
    from matplotlib.figure import Figure
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = [
    "L_INFTY",
    "JENSEN_SHANNON",
    "Histogram",
    "value_counts",
    "linf_distance",
    "js_divergence_counts",
    "standard_histogram",
    "js_divergence",
    "counts_from_statistics",
    "histogram_from_statistics",
    "statistics_distance",
    "column_distance",
    "window_labels",
    "window_statistics",
    "drift_table",
    "describe_change",
    "bootstrap_null",
    "null_thresholds",
    "false_alarm_rates",
    "plot_drift",
]

L_INFTY = "L_INFTY"  # TFDV's DriftSkewInfo measurement names
JENSEN_SHANNON = "JENSEN_SHANNON_DIVERGENCE"


@dataclass
class Histogram:
    """Buckets ``(low, high, count)`` plus the NaN count, as in TFDV's ``Histogram`` proto."""

    buckets: list[tuple[float, float, float]] = field(default_factory=list)
    num_nan: float = 0.0


def value_counts(values: pd.Series | Iterable) -> dict[str, float]:
    """Return the counts of each non-missing value, keyed by its text (TFDV's rank-histogram labels)."""
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    counts = series.dropna().astype(str).value_counts()
    return {str(k): float(v) for k, v in counts.items()}


def linf_distance(lhs: Mapping[str, float], rhs: Mapping[str, float]) -> tuple[float, str | None]:
    """Return the L-infinity distance of two value-count maps and the value where it peaks.

    Each side is normalised by its own total; ties go to the last value in sorted order, as in TFDV.
    Introduced in c2x_lab_drift_and_skew.
    """
    left_total = sum(lhs.values()) or 1.0
    right_total = sum(rhs.values()) or 1.0
    best, where = 0.0, None
    for key in sorted(set(lhs) | set(rhs)):
        diff = abs(lhs.get(key, 0.0) / left_total - rhs.get(key, 0.0) / right_total)
        if diff >= best:
            best, where = diff, key
    return best, where


def _js(p: np.ndarray, q: np.ndarray) -> float:
    """Return the base-2 Jensen-Shannon divergence of two aligned mass vectors, capped at 1."""
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("Jensen-Shannon divergence needs two non-empty distributions")
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2
    total = 0.0
    for a in (p, q):
        nz = a > 0
        total += float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))
    return min(total / 2, 1.0)


def js_divergence_counts(lhs: Mapping[str, float], rhs: Mapping[str, float]) -> float:
    """Return the Jensen-Shannon divergence (base 2) of two value-count maps.

    Introduced in c2x_lab_drift_and_skew.
    """
    keys = sorted(set(lhs) | set(rhs))
    p = np.array([lhs.get(k, 0.0) for k in keys], dtype=float)
    q = np.array([rhs.get(k, 0.0) for k in keys], dtype=float)
    return _js(p, q)


def standard_histogram(values: pd.Series | np.ndarray, num_buckets: int = 10) -> Histogram:
    """Return an equal-width histogram from min to max (TFDV's STANDARD layout, exact counts).

    TFDV interpolates its buckets from a quantile sketch; these counts are exact, so Jensen-Shannon
    values from raw columns differ from TFDV's by the sketch's small error.
    Introduced in c2x_lab_drift_and_skew.
    """
    x = np.asarray(values, dtype=float)
    nan = float(np.isnan(x).sum())
    x = x[~np.isnan(x)]
    pos_inf = float(np.isposinf(x).sum())
    neg_inf = float(np.isneginf(x).sum())
    x = x[np.isfinite(x)]
    buckets: list[tuple[float, float, float]] = []
    if neg_inf:
        buckets.append((-math.inf, -math.inf, neg_inf))
    if x.size:
        low, high = float(x.min()), float(x.max())
        if low == high:
            buckets.append((low, high, float(x.size)))
        else:
            counts, edges = np.histogram(x, bins=num_buckets, range=(low, high))
            buckets += [(float(edges[i]), float(edges[i + 1]), float(c)) for i, c in enumerate(counts)]
    if pos_inf:
        buckets.append((math.inf, math.inf, pos_inf))
    return Histogram(buckets, nan)


def _split(hist: Histogram) -> tuple[list[tuple[float, float, float]], dict[float, float], float]:
    """Split a histogram into interval buckets, point masses and the mass of infinite buckets."""
    intervals, points, infinite = [], {}, 0.0
    for low, high, count in hist.buckets:
        if not (math.isfinite(low) and math.isfinite(high)):
            infinite += count
        elif low == high:
            points[low] = points.get(low, 0.0) + count
        else:
            intervals.append((low, high, count))
    return intervals, points, infinite


def _rebucket(intervals: list[tuple[float, float, float]], edges: np.ndarray) -> np.ndarray:
    """Spread each bucket's count uniformly over the new buckets between ``edges``."""
    if not intervals or edges.size < 2:
        return np.zeros(max(edges.size - 1, 0))
    low, high, count = (np.array(c, dtype=float)[:, None] for c in zip(*intervals, strict=True))
    overlap = np.clip(np.minimum(edges[None, 1:], high) - np.maximum(edges[None, :-1], low), 0.0, None)
    return (count * overlap / (high - low)).sum(axis=0)


def js_divergence(lhs: Histogram, rhs: Histogram) -> float:
    """Return the Jensen-Shannon divergence (base 2, capped at 1) of two numeric histograms.

    Aligns the histograms the way TFDV does before it compares them: interval buckets are re-cut on
    the union of both sets of edges, point buckets are matched by value, infinite and NaN masses get
    buckets of their own that never overlap.
    Introduced in c2x_lab_drift_and_skew.
    """
    left_iv, left_pt, left_inf = _split(lhs)
    right_iv, right_pt, right_inf = _split(rhs)
    edges = np.unique([e for b in left_iv + right_iv for e in b[:2]])
    p = list(_rebucket(left_iv, edges))
    q = list(_rebucket(right_iv, edges))
    for point in sorted(set(left_pt) | set(right_pt)):
        p.append(left_pt.get(point, 0.0))
        q.append(right_pt.get(point, 0.0))
    if left_inf:
        p.append(left_inf)
        q.append(0.0)
    if right_inf:
        p.append(0.0)
        q.append(right_inf)
    if lhs.num_nan > 0 or rhs.num_nan > 0:  # NaN buckets are deliberately mismatched, as in TFDV
        p += [0.0, lhs.num_nan]
        q += [rhs.num_nan, 0.0]
    return _js(np.array(p, dtype=float), np.array(q, dtype=float))


def _feature(stats: statistics_pb2.DatasetFeatureStatisticsList, feature: str):
    """Return the FeatureNameStatistics of ``feature`` in the first dataset."""
    for f in stats.datasets[0].features:
        if ".".join(f.path.step) == feature or f.name == feature:
            return f
    raise KeyError(f"feature {feature!r} is not in the statistics")


def counts_from_statistics(
    stats: statistics_pb2.DatasetFeatureStatisticsList, feature: str
) -> dict[str, float]:
    """Return a categorical feature's value counts from its rank histogram (what TFDV compares).

    Introduced in c2x_lab_drift_and_skew.
    """
    f = _feature(stats, feature)
    return {b.label: float(b.sample_count) for b in f.string_stats.rank_histogram.buckets}


def histogram_from_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList, feature: str) -> Histogram:
    """Return a numeric feature's STANDARD histogram from TFDV statistics.

    Introduced in c2x_lab_drift_and_skew.
    """
    f = _feature(stats, feature)
    for h in f.num_stats.histograms:
        if h.type == h.STANDARD:
            return Histogram([(b.low_value, b.high_value, b.sample_count) for b in h.buckets], h.num_nan)
    raise KeyError(f"feature {feature!r} has no standard histogram")


def statistics_distance(
    lhs: statistics_pb2.DatasetFeatureStatisticsList,
    rhs: statistics_pb2.DatasetFeatureStatisticsList,
    feature: str,
) -> tuple[str, float]:
    """Return (measure, distance) for one feature of two statistics: L-infinity or Jensen-Shannon.

    Categorical (string) features get L-infinity, numeric features Jensen-Shannon, the comparators
    TFDV offers for each; the value equals what ``tfdv.validate_statistics`` reports.
    Introduced in c2x_lab_drift_and_skew.
    """
    if _feature(lhs, feature).HasField("string_stats"):
        distance, _ = linf_distance(
            counts_from_statistics(lhs, feature), counts_from_statistics(rhs, feature)
        )
        return L_INFTY, distance
    return JENSEN_SHANNON, js_divergence(
        histogram_from_statistics(lhs, feature), histogram_from_statistics(rhs, feature)
    )


def column_distance(lhs: pd.Series, rhs: pd.Series, measure: str) -> float:
    """Return the L-infinity or Jensen-Shannon distance of two raw columns.

    Introduced in c2x_lab_drift_and_skew.
    """
    if measure == L_INFTY:
        return linf_distance(value_counts(lhs), value_counts(rhs))[0]
    if measure == JENSEN_SHANNON:
        return js_divergence(standard_histogram(lhs), standard_histogram(rhs))
    raise ValueError(f"unknown measure {measure!r}; use {L_INFTY!r} or {JENSEN_SHANNON!r}")


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
    """Compute TFDV statistics for each window label in ``windows`` (in time order).

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
    """Tabulate each window's distance to the reference window: window, feature, measure, n, distance.

    ``measures`` maps each feature to ``L_INFTY`` or ``JENSEN_SHANNON``; distances come from the raw
    rows (:func:`column_distance`), so they match a null drawn with :func:`bootstrap_null`.
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
    """Say in words what changed in one feature between a window and the reference.

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


def _equal_width_counts(x: np.ndarray, num_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Return per-row bucket edges and counts of equal-width histograms over a 2-D sample array."""
    low, high = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    width = np.where(high > low, high - low, 1.0)
    index = np.clip(((x - low) / width * num_buckets).astype(int), 0, num_buckets - 1)
    offsets = np.arange(x.shape[0])[:, None] * num_buckets
    counts = np.bincount((index + offsets).ravel(), minlength=x.shape[0] * num_buckets)
    edges = low + (high - low) * np.linspace(0.0, 1.0, num_buckets + 1)[None, :]
    return edges, counts.reshape(x.shape[0], num_buckets).astype(float)


def _js_rows(a: np.ndarray, b: np.ndarray, num_buckets: int = 10) -> np.ndarray:
    """Return ``js_divergence(standard_histogram(a[i]), standard_histogram(b[i]))`` for every row i."""
    out = np.empty(a.shape[0])
    constant = (a.min(axis=1) == a.max(axis=1)) | (b.min(axis=1) == b.max(axis=1))
    for i in np.flatnonzero(constant):  # point buckets: the general alignment handles them
        out[i] = js_divergence(standard_histogram(a[i], num_buckets), standard_histogram(b[i], num_buckets))
    rows = ~constant
    if rows.any():
        edges_a, counts_a = _equal_width_counts(a[rows], num_buckets)
        edges_b, counts_b = _equal_width_counts(b[rows], num_buckets)
        edges = np.sort(
            np.concatenate([edges_a, edges_b], axis=1), axis=1
        )  # repeated edges add empty buckets
        lows, highs = edges[:, None, :-1], edges[:, None, 1:]
        masses = []
        for bucket_edges, counts in ((edges_a, counts_a), (edges_b, counts_b)):
            low, high = bucket_edges[:, :-1, None], bucket_edges[:, 1:, None]
            overlap = np.clip(np.minimum(highs, high) - np.maximum(lows, low), 0.0, None)
            masses.append((counts[:, :, None] * overlap / (high - low)).sum(axis=1))
        p, q = (m / m.sum(axis=1, keepdims=True) for m in masses)
        m = (p + q) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(p > 0, p * np.log2(p / m), 0.0) + np.where(q > 0, q * np.log2(q / m), 0.0)
        out[rows] = np.minimum(kl.sum(axis=1) / 2, 1.0)
    return out


def _shares(codes: np.ndarray, k: int) -> np.ndarray:
    """Return each row's share of every category code 0..k-1."""
    offsets = np.arange(codes.shape[0])[:, None] * k
    counts = np.bincount((codes + offsets).ravel(), minlength=codes.shape[0] * k).reshape(codes.shape[0], k)
    return counts / codes.shape[1]


def bootstrap_null(
    reference: pd.Series,
    sizes: Iterable[int | tuple[int, int | None]],
    measure: str,
    *,
    draws: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Sample the distance between two random samples of the *same* data: the no-drift distribution.

    For each size ``n`` (or pair ``(n_lhs, n_rhs)``) draw both samples with replacement from
    ``reference`` ``draws`` times and measure them with ``measure``. A pair ``(n, None)`` compares each
    sample with the whole reference instead (for a fixed reference such as a full population).
    Returns columns ``n_lhs, n_rhs, draw, distance``.
    Introduced in c2x_lab_drift_and_skew.
    """
    values = reference.dropna().to_numpy()
    if values.size == 0:
        raise ValueError("bootstrap_null needs a reference with at least one non-missing value")
    if measure not in (L_INFTY, JENSEN_SHANNON):
        raise ValueError(f"unknown measure {measure!r}; use {L_INFTY!r} or {JENSEN_SHANNON!r}")
    rng = np.random.default_rng(seed)
    if measure == L_INFTY:
        pool, uniques = pd.factorize(pd.Series(values).astype(str))
    else:
        pool = values.astype(float)
        if not np.isfinite(pool).all():
            raise ValueError("bootstrap_null with Jensen-Shannon needs finite values")
    rows = []
    for size in sizes:
        n_lhs, n_rhs = size if isinstance(size, tuple) else (size, size)
        fixed = n_rhs is None
        n_rhs = pool.size if fixed else n_rhs
        done = 0
        while done < draws:  # blocks keep memory at about 4 million values per side
            block = min(draws - done, max(1, 4_000_000 // max(n_lhs, n_rhs)))
            a = pool[rng.integers(0, pool.size, (block, n_lhs))]
            b = (
                np.broadcast_to(pool, (block, pool.size))
                if fixed
                else pool[rng.integers(0, pool.size, (block, n_rhs))]
            )
            if measure == L_INFTY:
                distances = np.abs(_shares(a, len(uniques)) - _shares(b, len(uniques))).max(axis=1)
            else:
                distances = _js_rows(a, b)
            rows += [(int(n_lhs), int(n_rhs), done + i, float(d)) for i, d in enumerate(distances)]
            done += block
    return pd.DataFrame(rows, columns=["n_lhs", "n_rhs", "draw", "distance"])


def null_thresholds(null: pd.DataFrame, false_alarm_rate: float) -> pd.Series:
    """Return, per sample size, the distance that no-drift samples exceed with ``false_alarm_rate``.

    The ``1 - false_alarm_rate`` quantile of each size's null distances, indexed by
    ``(n_lhs, n_rhs)``. Introduced in c2x_lab_drift_and_skew.
    """
    if not 0 < false_alarm_rate < 1:
        raise ValueError(f"false_alarm_rate must lie in (0, 1), got {false_alarm_rate}")
    grouped = null.groupby(["n_lhs", "n_rhs"])["distance"]
    return grouped.quantile(1 - false_alarm_rate, interpolation="higher").rename("threshold")


def false_alarm_rates(null: pd.DataFrame, threshold: float) -> pd.Series:
    """Return, per sample size, the share of no-drift draws whose distance exceeds ``threshold``.

    Introduced in c2x_lab_drift_and_skew.
    """
    exceeded = null["distance"] > threshold
    return exceeded.groupby([null["n_lhs"], null["n_rhs"]]).mean().rename("false_alarm_rate")


def plot_drift(
    table: pd.DataFrame,
    *,
    threshold_column: str = "threshold",
    fixed_threshold: float | None = None,
    ncols: int = 4,
) -> Figure:
    """Draw each feature's distance per window with its threshold; crossing windows are marked red.

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
