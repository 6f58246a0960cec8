"""TFDV's default statistics for many slices of one batch, one column at a time.

``generate_statistics_in_memory`` runs TFDV's two default generators (basic statistics, top-k and
uniques sketches) once per slice, through Python code per feature and per slice. Here each column
is prepared once for the whole batch (row lengths, missing rows, dictionary codes of strings) and
each slice is a numpy index into it. Quantiles still come from tfx_bsl's own sketch fed the
slice's values; top-k counts and distinct counts are plain counts where TFDV's sketches are exact
(at most 1,024 distinct values in the slice; no two values with one hash), else tfx_bsl's sketch
on the slice's values. Past 1,024 distinct values TFDV's own choice among the values tied at the
lowest kept count varies from run to run (the sketch's C++ hash map order), here as in TFDV.
``supports`` names the inputs handled; ``tests/test_slicing.py`` checks the protos equal TFDV's.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from labs_utils import histograms

if TYPE_CHECKING:
    import pyarrow as pa
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = ["slice_datasets", "supports"]

_SKETCH_CAPACITY = 1 << 32  # TFDV's max_num_elements for every quantiles sketch
_LARGE_STRING = 1024  # TFDV's top-k sketch replaces strings this long (or longer) by a placeholder
_QUANTILES_PER_BUCKET = 100  # TFDV's _NUM_QUANTILES_FACTOR_FOR_STD_HISTOGRAM


def supports(batch: pa.RecordBatch, options, generators: list) -> bool:
    """Return whether ``slice_datasets`` reproduces TFDV for this batch, options and generators.

    That is: exactly TFDV's two default generators, no weights, no bytes or categorical-int
    features in the schema, and flat lists of numbers or of short UTF-8 strings without nulls.
    """
    from tensorflow_data_validation.statistics.generators import (
        basic_stats_generator,
        top_k_uniques_sketch_stats_generator,
    )
    from tensorflow_data_validation.utils import schema_util

    default = [
        basic_stats_generator.BasicStatsGenerator,
        top_k_uniques_sketch_stats_generator.TopKUniquesSketchStatsGenerator,
    ]
    schema = options.schema
    if [type(g) for g in generators] != default or options.example_weight_map.all_weight_features():
        return False
    if schema is not None and (
        schema_util.get_bytes_features(schema)
        or schema_util.get_categorical_numeric_feature_types(schema)
        or any(schema_util.get_bytes_features_categorical_value(schema).values())  # CATEGORICAL_YES or _NO
    ):
        return False
    return batch.num_rows > 0 and all(
        _Column.supports(batch.column(name)) for name in _feature_names(batch, options)
    )


def slice_datasets(
    batch: pa.RecordBatch, rows: dict[str, np.ndarray], options
) -> dict[str, statistics_pb2.DatasetFeatureStatistics]:
    """Return ``{slice key: the DatasetFeatureStatistics TFDV computes for batch rows[key]}``.

    ``rows`` holds each slice's row indices in ascending order, as TFDV's slicer takes them.
    """
    from tensorflow_metadata.proto.v0 import statistics_pb2
    from tfx_bsl.statistics import merge_util

    basic = {key: statistics_pb2.DatasetFeatureStatistics(num_examples=len(r)) for key, r in rows.items()}
    top_k = {key: statistics_pb2.DatasetFeatureStatistics() for key in rows}
    num_values_histograms: dict[tuple, statistics_pb2.Histogram] = {}
    everything = np.concatenate(list(rows.values()))
    edges = np.cumsum([0] + [r.size for r in rows.values()])
    for name in _feature_names(batch, options):
        column = _Column(batch.column(name))
        for key, part in zip(rows, column.parts(everything, edges), strict=True):
            feature = basic[key].features.add(type=column.kind)
            feature.path.step.append(name)
            _fill_basic(feature, part, options, num_values_histograms)
            if column.kind == statistics_pb2.FeatureNameStatistics.STRING:
                _add_top_k(top_k[key], name, part, options)
    return {
        key: merge_util.merge_dataset_feature_statistics([basic[key], top_k[key]]).datasets[0] for key in rows
    }


def _feature_names(batch: pa.RecordBatch, options) -> list[str]:
    """Return the columns TFDV describes, in its order (the allow-list's, when there is one)."""
    names = batch.schema.names
    return [n for n in options.feature_allowlist if n in names] if options.feature_allowlist else list(names)


class _Column:
    """One list column of the whole batch, ready to be cut into slices by row index."""

    def __init__(self, array: pa.Array):
        import pyarrow as pa
        import pyarrow.compute as pc
        from tensorflow_metadata.proto.v0 import statistics_pb2

        values = array.values
        offsets = np.asarray(array.offsets, dtype=np.int64)
        self.missing = array.is_null().to_numpy(zero_copy_only=False)
        self.starts = offsets[:-1]
        self.lengths = np.where(self.missing, 0, np.diff(offsets))
        self.univalent = bool((self.lengths == 1).all())
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            is_int = pa.types.is_integer(values.type)
            self.kind = (
                statistics_pb2.FeatureNameStatistics.INT
                if is_int
                else statistics_pb2.FeatureNameStatistics.FLOAT
            )
            self.values = values.to_numpy(zero_copy_only=False)
            return
        self.kind = statistics_pb2.FeatureNameStatistics.STRING
        encoded = pc.dictionary_encode(values)
        self.dictionary = encoded.dictionary
        self.values = encoded.indices.to_numpy(zero_copy_only=False)
        raw = self.dictionary.cast(pa.large_binary()).to_pylist()
        self.labels = [v.decode("utf-8") for v in raw]
        self.byte_lengths = np.array([len(v) for v in raw], dtype=np.int64)
        self.rank = np.argsort(np.argsort(np.array(raw, dtype=object)))  # order of the raw bytes
        # a KMV sketch counts distinct hashes exactly while it holds fewer than its size: if the whole
        # dictionary has no two equal hashes, every slice's estimate is its count of distinct values
        self.hashes_differ = len(raw) < _kmv_size() and _distinct_hashes(self.dictionary) == len(raw)

    @staticmethod
    def supports(array: pa.Array) -> bool:
        """Return whether the column is a flat list of numbers or short UTF-8 strings, no null values."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not (pa.types.is_list(array.type) or pa.types.is_large_list(array.type)):
            return False
        values = array.values
        if values.null_count:
            return False
        if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
            return True
        if not (
            pa.types.is_binary(values.type)
            or pa.types.is_large_binary(values.type)
            or pa.types.is_string(values.type)
            or pa.types.is_large_string(values.type)
        ):
            return False
        distinct = pc.unique(values)
        if len(distinct) and pc.max(pc.binary_length(distinct)).as_py() >= _LARGE_STRING:
            return False
        try:
            [v.decode("utf-8") for v in distinct.cast(pa.large_binary()).to_pylist()]
        except UnicodeDecodeError:
            return False
        return True

    def parts(self, rows: np.ndarray, edges: np.ndarray) -> list[_Part]:
        """Return this column's part of each slice; slice i's rows are ``rows[edges[i]:edges[i + 1]]``.

        Values come in row order, as TFDV flattens a slice's column.
        """
        if self.univalent:  # one value in every row: no lengths to look at
            values = self.values[self.starts[rows]]
            return [
                _Part(self, b - a, b - a, values[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)
            ]
        lengths = self.lengths[rows]
        present = ~self.missing[rows]
        before = np.cumsum(lengths) - lengths
        values = self.values[np.repeat(self.starts[rows] - before, lengths) + np.arange(lengths.sum())]
        value_edges = np.concatenate([[0], np.cumsum(lengths)])[edges]
        parts = []
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            part = _Part(self, b - a, int(present[a:b].sum()), values[value_edges[i] : value_edges[i + 1]])
            part.lengths = lengths[a:b][present[a:b]]
            parts.append(part)
        return parts


class _Part:
    """A column's rows of one slice: row count, rows with a value list, flattened values (or codes)."""

    __slots__ = ["column", "num_rows", "num_present", "values", "lengths"]

    def __init__(self, column: _Column, num_rows: int, num_present: int, values: np.ndarray):
        self.column, self.num_rows, self.num_present, self.values = column, num_rows, num_present, values
        self.lengths = None  # list lengths of the present rows; None when each holds one value


def _fill_basic(feature, part: _Part, options, cache: dict) -> None:
    """Fill ``feature`` as TFDV's BasicStatsGenerator does for one flat feature of one slice."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    total = np.int64(part.values.size)  # TFDV's count is a numpy integer, which divisions below keep
    if part.column.kind == statistics_pb2.FeatureNameStatistics.STRING:
        stats = feature.string_stats
        if total:
            stats.avg_length = int(part.column.byte_lengths[part.values].sum()) / total
    else:
        stats = feature.num_stats
        _fill_numeric(stats, part.values, options)
    common = stats.common_stats
    common.num_non_missing = part.num_present
    common.num_missing = part.num_rows - part.num_present
    common.tot_num_values = total
    if part.num_present:
        lengths = part.lengths
        common.min_num_values = 1 if lengths is None else lengths.min()
        common.max_num_values = 1 if lengths is None else lengths.max()
        common.avg_num_values = common.tot_num_values / common.num_non_missing
        common.num_values_histogram.CopyFrom(_num_values_histogram(part, options, cache))


def _num_values_histogram(part: _Part, options, cache: dict) -> statistics_pb2.Histogram:
    """Return TFDV's quantiles histogram of list lengths; equal sketch inputs share one result."""
    import pyarrow as pa

    lengths = np.ones(1, dtype=np.int64) if part.lengths is None else part.lengths.astype(np.int64)
    if lengths.min() == lengths.max():  # TFDV's value_counts of the lengths is one pair
        key: tuple = (int(lengths[0]), part.num_present)
        grouped = None
    else:
        grouped = pa.array(lengths).value_counts()
        key = (grouped.field(0).to_numpy().tobytes(), grouped.field(1).to_numpy().tobytes())
    if key not in cache:
        if grouped is None:
            values, counts = pa.array(lengths[:1]), pa.array(np.array([part.num_present], dtype=np.int64))
        else:
            values, counts = grouped.field(0), grouped.field(1)
        quantiles, cumulative = _sketch_quantiles(
            values, counts, options.num_values_histogram_buckets, options
        )
        cache[key] = histograms.quantiles_histogram(quantiles, cumulative)
    return cache[key]


def _sketch_quantiles(
    values: pa.Array, weights: pa.Array | None, num: int, options
) -> tuple[np.ndarray, np.ndarray]:
    """Return (quantiles, cumulative weights) of TFDV's quantiles sketch over ``values``."""
    from tfx_bsl import sketches

    sketch = sketches.QuantilesSketch(options.epsilon, _SKETCH_CAPACITY, 1)
    if weights is None:
        sketch.AddValues(values)
    else:
        sketch.AddValues(values, weights)
    sketch.Compact()  # TFDV compacts every accumulator before extracting output
    quantiles, cumulative = sketch.GetQuantilesAndCumulativeWeights(num)
    return (
        quantiles.flatten().to_numpy(zero_copy_only=False),
        cumulative.flatten().to_numpy(zero_copy_only=False),
    )


def _fill_numeric(stats, values: np.ndarray, options) -> None:
    """Fill NumericStatistics (all but common stats) as TFDV does for one slice's values."""
    import pyarrow as pa
    from tensorflow_data_validation.utils import quantiles_util, variance_util
    from tensorflow_metadata.proto.v0 import statistics_pb2

    nan = np.isnan(values)
    num_nan = int(nan.sum())
    present = values[~nan]
    if not present.size:
        if num_nan:
            stats.histograms.add(type=statistics_pb2.Histogram.STANDARD).num_nan = num_nan
            stats.histograms.add(type=statistics_pb2.Histogram.QUANTILES).num_nan = num_nan
        return
    moments = variance_util.MeanVarAccumulator()
    moments.update(present.astype(np.float64))
    stats.mean = float(moments.mean)
    stats.std_dev = math.sqrt(max(0, moments.variance))
    stats.num_zeros = present.size - np.count_nonzero(present)
    low, high = np.min(present), np.max(present)
    stats.min, stats.max = float(low), float(high)
    finite_low, finite_high = low, high
    if low == -np.inf or high == np.inf:
        finite = present[np.isfinite(present)]
        finite_low, finite_high = (finite.min(), finite.max()) if finite.size else (np.inf, -np.inf)
    num_quantiles = _QUANTILES_PER_BUCKET * options.num_quantiles_histogram_buckets
    quantiles, cumulative = _sketch_quantiles(pa.array(present), None, num_quantiles, options)
    stats.median = float(quantiles_util.find_median(quantiles))
    pos_inf = float(np.isposinf(present).sum())
    standard = stats.histograms.add()
    standard.CopyFrom(
        histograms.equi_width_histogram(
            quantiles, cumulative, finite_low, finite_high, options.num_histogram_buckets, pos_inf
        )
    )
    standard.num_nan = num_nan
    coarse = quantiles_util.rebin_quantiles(quantiles, cumulative, _QUANTILES_PER_BUCKET)
    quantile = stats.histograms.add()
    quantile.CopyFrom(histograms.quantiles_histogram(*coarse))
    quantile.num_nan = num_nan


def _add_top_k(dataset, name: str, part: _Part, options) -> None:
    """Add the feature TFDV's TopKUniquesSketchStatsGenerator outputs for one slice's strings."""
    import pyarrow as pa
    from tensorflow_data_validation.statistics import stats_impl

    column = part.column
    counts = np.bincount(part.values, minlength=len(column.labels))
    seen = np.flatnonzero(counts)
    if not seen.size:
        return  # TFDV outputs no top-k feature when the slice has no value
    mg_buckets = max(
        stats_impl._DEFAULT_MG_SKETCH_SIZE, options.num_top_values, options.num_rank_histogram_buckets
    )
    if seen.size <= mg_buckets:  # the Misra-Gries sketch never evicts: its counts are the counts
        order = np.lexsort((-column.rank[seen], -counts[seen]))
        pairs = [(column.labels[i], float(counts[i])) for i in seen[order]]
    else:
        pairs = _misra_gries(column.dictionary.take(pa.array(part.values)), mg_buckets)
    feature = dataset.features.add()
    feature.path.step.append(name)
    stats = feature.string_stats
    buckets = stats.rank_histogram.buckets
    for rank, (label, count) in enumerate(
        pairs[: max(options.num_top_values, options.num_rank_histogram_buckets)]
    ):
        if count < options.frequency_threshold:
            break
        if rank < options.num_top_values:
            stats.top_values.add(value=label, frequency=count)
        if rank < options.num_rank_histogram_buckets:
            buckets.add(low_rank=rank, high_rank=rank, sample_count=count, label=label)
    stats.unique = (
        seen.size if column.hashes_differ else _distinct_hashes(column.dictionary.take(pa.array(seen)))
    )


def _kmv_size() -> int:
    """Return the number of hashes TFDV's distinct-values sketch keeps."""
    from tensorflow_data_validation.statistics import stats_impl

    return stats_impl._DEFAULT_KMV_SKETCH_SIZE


def _distinct_hashes(values: pa.Array) -> int:
    """Return TFDV's estimate of distinct values (a KMV sketch), the same for any repeats of ``values``."""
    from tfx_bsl import sketches

    sketch = sketches.KmvSketch(_kmv_size())
    sketch.AddValues(values)
    return sketch.Estimate()


def _misra_gries(values: pa.Array, num_buckets: int) -> list[tuple[str, float]]:
    """Return TFDV's top-k (label, count) pairs from its Misra-Gries sketch, sorted as TFDV sorts them."""
    from tensorflow_data_validation import constants
    from tfx_bsl import sketches

    sketch = sketches.MisraGriesSketch(
        num_buckets=num_buckets,
        invalid_utf8_placeholder=constants.NON_UTF8_PLACEHOLDER,
        large_string_threshold=_LARGE_STRING,
        large_string_placeholder=constants.LARGE_BYTES_PLACEHOLDER,
    )
    sketch.AddValues(values)
    pairs = sorted(
        ((p["values"], p["counts"]) for p in sketch.Estimate().to_pylist()),
        key=lambda p: (p[1], p[0]),
        reverse=True,
    )
    return [(value.decode("utf-8"), count) for value, count in pairs]
