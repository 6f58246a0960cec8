"""Sliced TFDV statistics in one process: every slice in one pass over the columns.

TFDV's in-memory path (``stats_impl.generate_statistics_in_memory``) handles one dataset per call;
with ~70 slices its Python code per feature and per slice dominates. ``sliced_statistics`` finds
each slice's rows once (with TFDV's own feature-value slicer) and hands them to
``labs_utils.slice_stats``, which describes each column for all slices at once. Inputs that module
does not reproduce exactly (weights, custom generators or slice functions, nested or bytes
features, ...) go through TFDV's own generators instead, built once for all slices, with the
histogram arithmetic of ``labs_utils.histograms``. Either way the protos equal those of one
``generate_statistics_in_memory`` call per slice (``per_slice_statistics``;
``tests/test_slicing.py`` compares them byte for byte).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import numpy as np

from labs_utils import histograms, slice_stats

if TYPE_CHECKING:
    import pyarrow as pa
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = ["ALL_EXAMPLES", "per_slice_statistics", "slice_batches", "slice_rows", "sliced_statistics"]

ALL_EXAMPLES = "All Examples"  # TFDV's name for the unsliced dataset
_ROW = "__labs_utils_row__"  # row-number column handed to TFDV's slicer


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


def slice_rows(batch: pa.RecordBatch, slice_functions: Iterable) -> dict[str, np.ndarray] | None:
    """Return ``{slice key: row numbers}`` as ``slice_batches`` would cut them, or None.

    None when a function is not TFDV's feature-value slicer: only that one is known to keep
    rows whole, so only its rows can be found by slicing a batch of row numbers.
    """
    import pyarrow as pa

    rows: dict[str, list[np.ndarray]] = {ALL_EXAMPLES: [np.arange(batch.num_rows)]}
    for fn in slice_functions:
        features = _slicer_features(fn)
        if features is None or _ROW in features:
            return None
        names = [name for name in features if name in batch.schema.names]
        columns = [batch.column(name) for name in names] + [pa.array(np.arange(batch.num_rows))]
        for key, part in fn(pa.RecordBatch.from_arrays(columns, names + [_ROW])):
            rows.setdefault(key, []).append(part.column(len(names)).to_numpy())
    return {key: parts[0] if len(parts) == 1 else np.concatenate(parts) for key, parts in rows.items()}


def _slicer_features(fn) -> dict | None:
    """Return the ``features`` of a function made by TFDV's ``get_feature_value_slicer``, else None."""
    from tensorflow_data_validation.utils import slicing_util

    reference = slicing_util.get_feature_value_slicer({"feature": None})
    if getattr(fn, "__code__", None) is not reference.__code__:
        return None
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__, strict=True))
    return cells["features"].cell_contents


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
    rows = slice_rows(batch, slice_functions)
    if (
        rows is not None
        and all(r.size for r in rows.values())
        and slice_stats.supports(batch, plain, generators)
    ):
        datasets = slice_stats.slice_datasets(batch, rows, plain)
    else:
        datasets = _generator_datasets(batch, slice_functions, plain, generators)
    result = statistics_pb2.DatasetFeatureStatisticsList()
    for key, dataset in datasets.items():
        added = result.datasets.add()
        added.CopyFrom(dataset)
        if slice_functions:
            added.name = key
    return result


def _generator_datasets(
    batch, slice_functions, options, generators
) -> dict[str, statistics_pb2.DatasetFeatureStatistics]:
    """Return each slice's statistics from TFDV's own generators, built once for all slices."""
    from tensorflow_data_validation.statistics import stats_impl

    result = {}
    with _fast_histograms():
        for key, part in slice_batches(batch, slice_functions).items():
            partial = stats_impl.generate_partial_statistics_in_memory(part, options, generators)
            result[key] = stats_impl.extract_statistics_output(partial, generators).datasets[0]
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
    """Let TFDV's statistics generators use ``labs_utils.histograms`` for a while."""
    from tensorflow_data_validation.utils import quantiles_util

    saved = quantiles_util.generate_equi_width_histogram, quantiles_util._get_bin_weights
    quantiles_util.generate_equi_width_histogram = histograms.equi_width_histogram
    quantiles_util._get_bin_weights = histograms.bin_weights
    try:
        yield
    finally:
        quantiles_util.generate_equi_width_histogram, quantiles_util._get_bin_weights = saved
