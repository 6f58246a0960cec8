"""Sliced TFDV statistics in one process: slice once, reuse one set of generators, finish fast.

TFDV's in-memory path (``stats_impl.generate_statistics_in_memory``) handles one dataset per call.
With ~70 slices most of the time goes into finishing the numeric histograms of small slices:
TFDV merges a 1,000-bucket quantiles histogram into ten equal-width buckets one proto bucket at a
time. ``sliced_statistics`` keeps TFDV's own generators and accumulators, builds them once for all
slices, and swaps in ``equi_width_histogram`` and ``bin_weights``: the same arithmetic in the same
order on numpy arrays, so the protos are identical (``tests/test_slicing.py`` checks both).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = [
    "ALL_EXAMPLES",
    "bin_weights",
    "equi_width_histogram",
    "per_slice_statistics",
    "slice_batches",
    "sliced_statistics",
]

ALL_EXAMPLES = "All Examples"  # TFDV's name for the unsliced dataset


def slice_batches(batch: pa.RecordBatch, slice_functions: Iterable) -> dict[str, pa.RecordBatch]:
    """Return ``{slice key: rows}`` for ``All Examples`` and every slice the functions yield.

    Each TFDV slice function groups the batch in one pass; pieces that several functions give
    the same key are concatenated.
    """
    import pyarrow as pa

    pieces: dict[str, list[pa.RecordBatch]] = {ALL_EXAMPLES: [batch]}
    for fn in slice_functions:
        for key, part in fn(batch):
            pieces.setdefault(key, []).append(part)
    return {
        key: parts[0] if len(parts) == 1 else pa.Table.from_batches(parts).combine_chunks().to_batches()[0]
        for key, parts in pieces.items()
    }


def sliced_statistics(batch: pa.RecordBatch, options) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Return TFDV statistics of ``batch`` and of each slice of ``options``, computed in process.

    Equal to calling ``generate_statistics_in_memory`` once per slice (datasets in slice order,
    each named by its slice key when ``options`` has slice functions), only faster.
    """
    from tensorflow_data_validation.statistics import stats_impl
    from tensorflow_metadata.proto.v0 import statistics_pb2

    plain = copy.copy(options)
    slice_functions = list(plain.experimental_slice_functions or [])
    plain.experimental_slice_functions = None
    generators = stats_impl.get_generators(plain, in_memory=True)
    result = statistics_pb2.DatasetFeatureStatisticsList()
    with _fast_histograms():
        for key, part in slice_batches(batch, slice_functions).items():
            partial = stats_impl.generate_partial_statistics_in_memory(part, plain, generators)
            stats = stats_impl.extract_statistics_output(partial, generators)
            dataset = result.datasets.add()
            dataset.CopyFrom(stats.datasets[0])
            if slice_functions:
                dataset.name = key
    return result


def per_slice_statistics(batch: pa.RecordBatch, options) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Return the same statistics with one plain ``generate_statistics_in_memory`` call per slice.

    The reference ``sliced_statistics`` is checked and benchmarked against (``make bench``).
    """
    from tensorflow_data_validation.statistics import stats_impl
    from tensorflow_metadata.proto.v0 import statistics_pb2

    plain = copy.copy(options)
    slice_functions = list(plain.experimental_slice_functions or [])
    plain.experimental_slice_functions = None
    result = statistics_pb2.DatasetFeatureStatisticsList()
    for key, part in slice_batches(batch, slice_functions).items():
        dataset = result.datasets.add()
        dataset.CopyFrom(stats_impl.generate_statistics_in_memory(part, plain).datasets[0])
        if slice_functions:
            dataset.name = key
    return result


@contextlib.contextmanager
def _fast_histograms() -> Iterator[None]:
    """Let TFDV's statistics generators use ``equi_width_histogram`` and ``bin_weights`` for a while."""
    from tensorflow_data_validation.utils import quantiles_util

    saved = quantiles_util.generate_equi_width_histogram, quantiles_util._get_bin_weights
    quantiles_util.generate_equi_width_histogram = equi_width_histogram
    quantiles_util._get_bin_weights = bin_weights
    try:
        yield
    finally:
        quantiles_util.generate_equi_width_histogram, quantiles_util._get_bin_weights = saved


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
