"""Drift and skew distances: what TFDV's drift and skew comparators measure, from statistics or raw columns.

The distances follow TFDV's own definitions (``anomalies/metrics.cc`` in tensorflow/data-validation):

- **L-infinity** for categorical features: the largest change of any value's share, each side
  normalised by its own total of non-missing values.
- **Jensen-Shannon divergence** for numeric features: both histograms are aligned on the union of
  their bucket edges (mass spread uniformly inside a bucket), point buckets, infinite buckets and
  NaN counts are kept apart, then ``(KL(p||m) + KL(q||m)) / 2`` with ``log2``, capped at 1.

Functions take value counts and histograms, so the same code reads TFDV statistics protos (and then
agrees with ``tfdv.validate_statistics``) or raw pandas columns. Thresholds from a null distribution
live in ``drift_thresholds``; windows over time, their tables and plots in ``drift_windows``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # heavy imports stay lazy so `import labs_utils.drift` is cheap
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
    """Return a histogram's interval buckets, point masses by value, and the mass of infinite buckets."""
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
    """Return the counts re-cut on ``edges``, each bucket's count spread uniformly over its width."""
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
