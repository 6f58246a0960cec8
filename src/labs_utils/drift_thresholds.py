"""Drift thresholds from a null distribution: distances between random samples of the same data.

A distance means little on its own: two samples of unchanged data are never at distance 0, and the
smaller they are, the further apart they fall. ``bootstrap_null`` draws such no-drift pairs many
times; ``null_thresholds`` turns them into the distance only a chosen share of them exceeds, and
``false_alarm_rates`` says how often a fixed threshold fires on them. The distances themselves are
``labs_utils.drift``'s, computed on raw columns.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from labs_utils.drift import JENSEN_SHANNON, L_INFTY, js_divergence, standard_histogram

__all__ = ["bootstrap_null", "null_thresholds", "false_alarm_rates"]


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
    """Return distances between random samples of the *same* data: the no-drift (null) distribution.

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
