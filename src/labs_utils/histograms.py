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
    ends = np.concatenate([starts[1:], [low.size]])
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        # numpy's own sum of the same slice, so rounding matches TFDV's
        weights[start:end] = weights[start:end].sum() / (end - start)
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
    overlap, precedes, follows = _overlaps(bounds, low.astype(np.float64), high.astype(np.float64))
    contribution = overlap * weight
    start = 0
    for i in range(bounds.size - 1):
        # TFDV walks bins from the last one wholly before the previous bucket to the first one after.
        after = np.flatnonzero(follows[i, start:])
        stop = start + int(after[0]) if after.size else low.size
        if np.isnan(overlap[i, start:stop]).any():
            raise ValueError(f"cannot overlap bins with bucket [{bounds[i]}, {bounds[i + 1]}]")
        # TFDV starts each sum at 0, so a lone -0.0 comes out as 0.0 there too
        count = np.add.accumulate(np.concatenate([[0.0], contribution[i, start:stop]]))[-1]
        result.buckets.add(low_value=bounds[i], high_value=bounds[i + 1], sample_count=count)
        before = np.flatnonzero(precedes[i, start:stop])
        if before.size:
            start += int(before[-1])
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


def _overlaps(bounds: np.ndarray, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (overlap fraction, bin precedes, bin follows), one row per bucket, one column per bin.

    The cases are TFDV's ``_overlap`` in its order: a point bin on a bucket's left edge counts only
    for the first bucket; a bin wholly before or after adds nothing; a contained bin adds all of
    itself; a partly covered bin adds the covered fraction of its width.
    """
    lo, hi = bounds[:-1, None], bounds[1:, None]
    first = np.zeros((bounds.size - 1, 1), dtype=bool)
    first[0] = True
    point_on_edge = (high == low) & (low == lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = high - low
        cases = [
            first & point_on_edge,
            ~first & point_on_edge,
            high < lo,
            low > hi,
            (lo <= low) & (hi >= high),
            lo <= low,
            hi >= high,
            (lo > low) & (hi < high),
        ]
        values = [1.0, 0.0, 0.0, 0.0, 1.0, (hi - low) / width, (high - lo) / width, (hi - lo) / width]
        overlap = np.select(cases, values, default=np.nan)
    precedes = ~cases[0] & (cases[1] | cases[2])
    follows = ~cases[0] & ~cases[1] & ~cases[2] & cases[3]
    return overlap, precedes, follows
