"""TFDV's histogram arithmetic on numpy arrays: the same numbers, without a walk per proto bucket.

TFDV (``quantiles_util``) turns a quantiles sketch into an equal-width histogram by merging ~1,000
quantile bins into ten buckets one proto bucket at a time, which dominates the cost of small
slices. These functions do the same arithmetic in the same order on arrays, so the protos are
identical (``tests/test_slicing.py`` compares them with TFDV's on many inputs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = ["bin_weights", "equi_width_histogram", "quantiles_histogram"]


def bin_weights(
    boundaries: np.ndarray, cumulative_weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (low bounds, high bounds, weights) of quantile bins, as TFDV's ``_get_bin_weights``.

    Bins that share an upper bound share their weight evenly; the weight below the first
    boundary (the minimum) is spread over the leading bins identical to the first one.
    """
    cumulative = cumulative_weights.astype(np.float64)
    low, high = boundaries[:-1], boundaries[1:]
    weights = np.diff(cumulative)
    if not low.size:
        return low, high, weights
    starts = np.concatenate([[0], np.flatnonzero(high[1:] != high[:-1]) + 1])
    sizes = np.diff(np.concatenate([starts, [low.size]]))
    # A group with at most one nonzero (non-negative) weight sums to its largest weight exactly,
    # whatever the order of the additions; other groups take numpy's own sum of the same slice.
    nonzero = np.add.reduceat(weights != 0, starts)
    exact = (nonzero <= 1) & (np.minimum.reduceat(weights, starts) >= 0)
    totals = np.maximum.reduceat(weights, starts)
    for i in np.flatnonzero(~exact & (sizes > 1)):
        totals[i] = weights[starts[i] : starts[i] + sizes[i]].sum()
    weights = np.repeat(np.where(sizes > 1, totals / sizes, totals), sizes)
    same_as_first = (low == low[0]) & (high == high[0])
    leading = low.size if same_as_first.all() else int(np.argmin(same_as_first))
    if leading:
        weights[0:leading] += cumulative[0] / leading
    return low, high, weights


def equi_width_histogram(
    quantiles: np.ndarray,
    cumulative_counts: np.ndarray,
    finite_min: float,
    finite_max: float,
    num_buckets: int,
    num_pos_inf: float,
) -> statistics_pb2.Histogram:
    """Return the equal-width histogram TFDV's ``generate_equi_width_histogram`` returns.

    Each bucket's count is the overlap-weighted sum of the quantile bins it covers, added in
    bin order as TFDV adds them; the overlaps of all buckets and bins are computed at once.
    """
    from tensorflow_data_validation.utils import quantiles_util
    from tensorflow_metadata.proto.v0 import statistics_pb2

    result = statistics_pb2.Histogram(type=statistics_pb2.Histogram.STANDARD)
    if not np.isfinite(finite_min) and not np.isfinite(finite_max):
        result.buckets.add(low_value=finite_min, high_value=finite_max, sample_count=cumulative_counts[-1])
        return result
    if not (np.isfinite(finite_min) and np.isfinite(finite_max)) or np.any(quantiles[:-1] > quantiles[1:]):
        raise ValueError(f"expected finite bounds and sorted quantiles, got [{finite_min}, {finite_max}]")
    quantiles, cumulative_counts, num_neg_inf = quantiles_util._strip_infinities(
        quantiles, cumulative_counts, finite_max, num_pos_inf
    )
    low, high, weight = bin_weights(quantiles, cumulative_counts)
    if finite_min == finite_max:
        bounds = np.array([finite_min, finite_max])
    else:
        bounds = np.linspace(finite_min, finite_max, num_buckets + 1)
        if not np.isfinite(bounds).all():
            return result  # overflow: TFDV returns an empty histogram too
    if num_neg_inf:
        result.buckets.add(low_value=float("-inf"), high_value=float("-inf"), sample_count=num_neg_inf)
    low, high = low.astype(np.float64), high.astype(np.float64)
    starts, stops = _walks(bounds, low, high)
    bins = np.concatenate([np.arange(start, stop) for start, stop in zip(starts, stops, strict=True)])
    bucket = np.repeat(np.arange(starts.size), stops - starts)
    overlap = _overlaps(bounds[bucket], bounds[bucket + 1], bucket == 0, low[bins], high[bins])
    contribution = overlap * weight[bins]
    edges = np.concatenate([[0], np.cumsum(stops - starts)])
    for i in range(starts.size):
        # added in bin order from 0, as TFDV does, so a lone -0.0 comes out as 0.0 there too
        count = np.add.accumulate(np.concatenate([[0.0], contribution[edges[i] : edges[i + 1]]]))[-1]
        result.buckets.add(low_value=bounds[i], high_value=bounds[i + 1], sample_count=count)
    if num_pos_inf:
        result.buckets.add(low_value=float("inf"), high_value=float("inf"), sample_count=num_pos_inf)
    return result


def quantiles_histogram(quantiles: np.ndarray, cumulative_counts: np.ndarray) -> statistics_pb2.Histogram:
    """Return the QUANTILES histogram TFDV's ``generate_quantiles_histogram`` returns."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    result = statistics_pb2.Histogram(type=statistics_pb2.Histogram.QUANTILES)
    add = result.buckets.add
    for low, high, weight in zip(*bin_weights(quantiles, cumulative_counts), strict=True):
        add(low_value=low, high_value=high, sample_count=weight)
    return result


def _walks(bounds: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the first and past-the-last quantile bin TFDV's walk visits for each bucket.

    TFDV stops at the first bin wholly after the bucket and starts the next bucket's walk at
    the last bin that wholly preceded this one: the last bin ending before the bucket, or a point
    bin on its left edge (except for the first bucket). Bins are sorted, so binary search finds both.
    """
    lo, hi = bounds[:-1], bounds[1:]
    ending_before = np.searchsorted(high, lo, side="left") - 1
    last_at_edge = np.searchsorted(high, lo, side="right") - 1
    edge = np.clip(last_at_edge, 0, None)
    is_point = (last_at_edge >= 0) & (low[edge] == lo) & (high[edge] == lo)
    is_point[0] = False
    last = np.where(is_point, last_at_edge, ending_before)
    starts = np.maximum.accumulate(np.concatenate([[0], last[:-1]])).astype(np.int64)
    return starts, np.maximum(np.searchsorted(low, hi, side="right"), starts)


def _overlaps(
    lo: np.ndarray, hi: np.ndarray, first: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Return the fraction of each bin [low, high] inside its bucket [lo, hi], TFDV's ``_overlap``.

    TFDV's cases: a point bin on a bucket's left edge counts only for the first bucket; a bin
    wholly before or after adds nothing; a contained bin adds all of itself; a partly covered bin
    adds the covered fraction of its width, computed with TFDV's operands.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        overlap = (np.minimum(high, hi) - np.maximum(low, lo)) / (high - low)
    overlap[(lo <= low) & (high <= hi)] = 1.0
    point_on_edge = (high == low) & (low == lo)
    overlap[(high < lo) | (low > hi) | point_on_edge] = 0.0
    overlap[first & point_on_edge] = 1.0
    return overlap
