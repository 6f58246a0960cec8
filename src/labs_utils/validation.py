"""Data validation with TFDV: statistics, anomalies as tables, comparators, slices and static plots."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # heavy imports stay lazy so `import labs_utils.validation` is cheap
    import pyarrow as pa
    from matplotlib.figure import Figure
    from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2

__all__ = [
    "ALL_EXAMPLES", "add_rows", "anomalies_table", "anomaly_kinds", "comparator_table",
    "domain_values", "generate_statistics", "linf_distance", "num_examples", "plot_statistics",
    "schema_table", "slice_names", "slice_statistics", "unexpected_values",
]  # fmt: skip

ALL_EXAMPLES = "All Examples"  # TFDV's name for the unsliced dataset


def add_rows(df: pd.DataFrame, rows: Sequence[dict]) -> pd.DataFrame:
    """Return ``df`` with ``rows`` appended (``pd.concat``; replaces the removed ``DataFrame.append``).

    Columns a row leaves out become missing values. Introduced in c2w1_lab_tfdv_census.
    """
    extra = pd.DataFrame(list(rows), columns=df.columns)
    return pd.concat([df, extra], ignore_index=True)


def _record_batch(data: pd.DataFrame | pa.RecordBatch) -> pa.RecordBatch:
    """Turn a frame into the list-array RecordBatch TFDV consumes."""
    import pyarrow as pa
    from tfx_bsl.arrow import table_util

    if isinstance(data, pa.RecordBatch):
        return data
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame or pyarrow RecordBatch, got {type(data).__name__}")
    return table_util.CanonicalizeRecordBatch(pa.RecordBatch.from_pandas(data, preserve_index=False))


def generate_statistics(
    data: pd.DataFrame | pa.RecordBatch,
    options=None,
    *,
    beam: bool | None = None,
    beam_pipeline_args: Sequence[str] | None = None,
    beam_options: Sequence[str] | None = None,
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Return TFDV statistics for in-memory data, computed in process unless Beam is asked for.

    Honours ``feature_allowlist``, ``schema``/``infer_type_from_schema`` and
    ``experimental_slice_functions`` from ``options`` on both paths; each slice becomes a dataset
    named by its slice key, next to ``"All Examples"``, as TFDV's Beam path names them. The
    in-process path computes all slices in one pass (``labs_utils.slicing``).

    Args:
        data: a pandas DataFrame (string, numeric or bool columns) or an Arrow RecordBatch of lists.
        options: a ``tfdv.StatsOptions``; default options when None.
        beam: run ``tfdv.GenerateStatistics`` in a Beam pipeline (slower start-up). The default,
            None, uses Beam exactly when ``beam_pipeline_args`` is not empty.
        beam_pipeline_args: Beam flags as TFX spells them, e.g. ``["--direct_num_workers=2",
            "--direct_running_mode=multi_processing"]``; see ``labs_utils.scaling``.
        beam_options: deprecated spelling of ``beam_pipeline_args``.

    Raises:
        ValueError: ``beam=False`` with ``beam_pipeline_args``: the in-process path has no Beam
            to pass them to.

    Introduced in c2w1_lab_tfdv_census.
    """
    import tensorflow_data_validation as tfdv

    from labs_utils import slicing

    if beam_options is not None:
        beam_pipeline_args = _renamed_beam_args(beam_pipeline_args, beam_options)
    if beam is False and beam_pipeline_args:
        raise ValueError(
            f"beam=False computes statistics in process, without Beam, so beam_pipeline_args "
            f"{list(beam_pipeline_args)} would be ignored; drop them or leave beam unset"
        )
    options = options if options is not None else tfdv.StatsOptions()
    batch = _record_batch(data)
    if beam or (beam is None and beam_pipeline_args):
        return _beam_statistics(batch, options, beam_pipeline_args)
    return slicing.sliced_statistics(batch, options)


def _renamed_beam_args(beam_pipeline_args: Sequence[str] | None, beam_options: Sequence[str]) -> list[str]:
    """Return the flags given by the deprecated ``beam_options``; TypeError if both spellings are used."""
    import warnings

    if beam_pipeline_args is not None:
        raise TypeError("pass beam_pipeline_args only; beam_options is its deprecated spelling")
    warnings.warn(
        "generate_statistics(beam_options=...) is deprecated; pass beam_pipeline_args=[...] (TFX's name)",
        DeprecationWarning,
        stacklevel=3,
    )
    return list(beam_options)


def _beam_statistics(batch, options, beam_pipeline_args):
    """Run TFDV's Beam statistics over one in-memory RecordBatch."""
    import tempfile
    from pathlib import Path

    import apache_beam as beam
    import tensorflow_data_validation as tfdv

    from labs_utils import scaling

    with tempfile.TemporaryDirectory(prefix="labs-stats-") as tmp:
        out = str(Path(tmp) / "stats.pb")
        with beam.Pipeline(options=scaling.pipeline_options(beam_pipeline_args)) as p:
            _ = (
                p
                | beam.Create([batch])
                | tfdv.GenerateStatistics(options)
                | tfdv.WriteStatisticsToBinaryFile(out)
            )
        return tfdv.load_stats_binary(out)


def slice_names(stats: statistics_pb2.DatasetFeatureStatisticsList) -> list[str]:
    """Return the dataset (slice) names in a statistics proto, in stored order.

    Introduced in c2w1_lab_tfdv_census.
    """
    return [d.name for d in stats.datasets]


def slice_statistics(
    stats: statistics_pb2.DatasetFeatureStatisticsList, name: str
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Return the statistics of the slice called ``name`` (slice order is not stable, names are).

    Introduced in c2w1_lab_tfdv_census.
    """
    import tensorflow_data_validation as tfdv

    if name not in slice_names(stats):
        raise KeyError(f"no slice named {name!r}; slices are {slice_names(stats)}")
    return tfdv.get_slice_stats(stats, name)


def num_examples(stats: statistics_pb2.DatasetFeatureStatisticsList, slice_name: str | None = None) -> int:
    """Return the example count of the first dataset, or of the named slice.

    Introduced in c2w1_lab_tfdv_census.
    """
    datasets = stats.datasets if slice_name is None else slice_statistics(stats, slice_name).datasets
    return int(datasets[0].num_examples)


def _path_name(path) -> str:
    """Join a TFDV/TFMD path proto's steps with dots."""
    return ".".join(path.step)


def anomaly_kinds(anomalies: anomalies_pb2.Anomalies) -> dict[str, list[str]]:
    """Return each anomalous feature's sorted reason types (e.g. ENUM_TYPE_UNEXPECTED_STRING_VALUES).

    Dataset-level anomalies are listed under the key ``"__dataset__"``.
    Introduced in c2w1_lab_tfdv_census.
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    def names(info) -> list[str]:
        return sorted({anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason})

    kinds = {feature: names(info) for feature, info in anomalies.anomaly_info.items()}
    if anomalies.HasField("dataset_anomaly_info"):
        kinds["__dataset__"] = names(anomalies.dataset_anomaly_info)
    return dict(sorted(kinds.items()))


def anomalies_table(anomalies: anomalies_pb2.Anomalies) -> pd.DataFrame:
    """Return a table of anomalies: one row per feature with kinds, short and long description.

    Introduced in c2w1_lab_tfdv_census.
    """
    kinds = anomaly_kinds(anomalies)
    rows = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        rows.append(
            {
                "feature": feature,
                "kind": ", ".join(kinds[feature]),
                "short_description": info.short_description,
                "description": info.description,
            }
        )
    if "__dataset__" in kinds:
        info = anomalies.dataset_anomaly_info
        rows.append(
            {
                "feature": "__dataset__",
                "kind": ", ".join(kinds["__dataset__"]),
                "short_description": info.short_description,
                "description": info.description,
            }
        )
    return pd.DataFrame(rows, columns=["feature", "kind", "short_description", "description"])


def comparator_table(anomalies: anomalies_pb2.Anomalies) -> pd.DataFrame:
    """Return a table of every drift/skew measurement: feature, comparator, measure, value, threshold.

    ``exceeded`` is ``value > threshold``, the rule TFDV applies before it reports an anomaly.
    Introduced in c2w1_assignment_validation_diabetes.
    """
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    measure_name = anomalies_pb2.DriftSkewInfo.Measurement.Type.Name
    rows = []
    for info in anomalies.drift_skew_info:
        for comparator, measurements in (
            ("drift", info.drift_measurements),
            ("skew", info.skew_measurements),
        ):
            for m in measurements:
                rows.append(
                    {
                        "feature": _path_name(info.path),
                        "comparator": comparator,
                        "measure": measure_name(m.type),
                        "value": m.value,
                        "threshold": m.threshold,
                        "exceeded": m.value > m.threshold,
                    }
                )
    columns = ["feature", "comparator", "measure", "value", "threshold", "exceeded"]
    return pd.DataFrame(rows, columns=columns)


def linf_distance(lhs: pd.Series, rhs: pd.Series) -> tuple[float, object]:
    """Return the L-infinity distance of two categorical columns and the value where it peaks.

    The distance is the largest change in any value's share of the non-missing values, the measure
    TFDV's ``infinity_norm`` comparators apply. Use it to check a comparator with pandas.
    Introduced in c2w1_assignment_validation_diabetes.
    """
    left = lhs.value_counts(normalize=True, dropna=True)
    right = rhs.value_counts(normalize=True, dropna=True)
    values = left.index.union(right.index)
    diff = (left.reindex(values, fill_value=0.0) - right.reindex(values, fill_value=0.0)).abs()
    if diff.empty:
        return 0.0, None
    return float(diff.max()), diff.idxmax()


def unexpected_values(df: pd.DataFrame, domains: Mapping[str, Iterable]) -> dict[str, list]:
    """Return, per feature of ``domains``, the sorted non-missing values of ``df`` outside its domain.

    Features whose values all lie in the domain are left out, so ``{}`` means every value is known:
    the pandas counterpart of TFDV's unexpected-string anomalies.
    Introduced in c2w1_assignment_validation_diabetes.
    """
    found = {}
    for feature, domain in domains.items():
        present = pd.Series(df[feature].dropna().unique())
        outside = present[~present.isin(list(domain))]
        if not outside.empty:
            found[feature] = sorted(outside.tolist())
    return dict(sorted(found.items()))


def _domain(schema: schema_pb2.Schema, feature) -> tuple[str, list[str] | str]:
    """Describe a feature's domain as (kind, values or range text)."""
    kind = feature.WhichOneof("domain_info")
    if kind == "domain":
        return "shared:" + feature.domain, domain_values(schema, feature.name)
    if kind is None:
        return "", ""
    dom = getattr(feature, kind)
    if kind == "int_domain":
        lo = dom.min if dom.HasField("min") else ""
        hi = dom.max if dom.HasField("max") else ""
        return kind, f"[{lo}, {hi}]"
    return kind, str(dom).replace("\n", " ").strip()


def domain_values(schema: schema_pb2.Schema, feature: str) -> list[str]:
    """Return the string values of a feature's (own or shared) string domain.

    Introduced in c2w1_lab_tfdv_census.
    """
    for f in schema.feature:
        if f.name != feature:
            continue
        if f.WhichOneof("domain_info") == "string_domain":
            return list(f.string_domain.value)
        if f.WhichOneof("domain_info") == "domain":
            for d in schema.string_domain:
                if d.name == f.domain:
                    return list(d.value)
        raise ValueError(f"feature {feature!r} has no string domain")
    raise KeyError(f"no feature {feature!r} in the schema")


def schema_table(schema: schema_pb2.Schema) -> pd.DataFrame:
    """Return a table of a schema: type, presence, valency, domain per feature (unlike display_schema).

    Introduced in c2w1_lab_tfdv_census.
    """
    from tensorflow_metadata.proto.v0 import schema_pb2

    rows = []
    for f in schema.feature:
        kind, values = _domain(schema, f)
        presence = f.presence
        required = presence.HasField("min_fraction") and presence.min_fraction >= 1.0
        if f.HasField("shape"):
            valency = "fixed shape " + "x".join(str(d.size) for d in f.shape.dim) if f.shape.dim else "single"
        elif f.value_count.min == 1 and f.value_count.max == 1:
            valency = "single"
        else:
            valency = "multi" if f.HasField("value_count") else ""
        rows.append(
            {
                "feature": f.name,
                "type": schema_pb2.FeatureType.Name(f.type),
                "presence": "required" if required else "optional",
                "valency": valency,
                "domain_kind": kind,
                "domain": values,
                "domain_size": len(values) if isinstance(values, list) else None,
                "environments": ", ".join(f.in_environment)
                or ", ".join("not " + e for e in f.not_in_environment),
            }
        )
    return pd.DataFrame(rows).set_index("feature")


def _feature_stats(stats: statistics_pb2.DatasetFeatureStatisticsList) -> dict:
    """Index the first dataset's features by name."""
    return {_path_name(f.path) or f.name: f for f in stats.datasets[0].features}


def _numeric_bars(fstats) -> tuple[list[float], list[float], list[float]]:
    """Return (left edges, widths, sample fractions) of a numeric feature's standard histogram."""
    hist = next(
        (h for h in fstats.num_stats.histograms if h.type == h.STANDARD),
        None,
    )
    if hist is None or not hist.buckets:
        return [], [], []
    total = sum(b.sample_count for b in hist.buckets) or 1.0
    lefts = [b.low_value for b in hist.buckets]
    widths = [max(b.high_value - b.low_value, 1e-9) for b in hist.buckets]
    return lefts, widths, [b.sample_count / total for b in hist.buckets]


def _top_values(fstats) -> dict[str, float]:
    """Return a categorical feature's value frequencies as fractions of its non-missing count."""
    s = fstats.string_stats
    buckets = s.rank_histogram.buckets or []
    counts = {b.label: b.sample_count for b in buckets}
    if not counts:
        counts = {v.value: v.frequency for v in s.top_values}
    total = s.common_stats.num_non_missing or sum(counts.values()) or 1.0
    return {k: v / total for k, v in counts.items()}


def plot_statistics(
    lhs: statistics_pb2.DatasetFeatureStatisticsList,
    rhs: statistics_pb2.DatasetFeatureStatisticsList | None = None,
    *,
    lhs_name: str = "train",
    rhs_name: str = "eval",
    features: Sequence[str] | None = None,
    top_k: int = 8,
    ncols: int = 4,
) -> Figure:
    """Return one panel per feature: numeric histograms, top categorical values, two datasets overlaid.

    A static companion to ``tfdv.visualize_statistics`` (Facets) that stays readable in HTML exports
    without internet. Bars are fractions of each dataset so different sizes compare.
    Introduced in c2w1_lab_tfdv_census.
    """
    import matplotlib.pyplot as plt

    left = _feature_stats(lhs)
    right = _feature_stats(rhs) if rhs is not None else {}
    names = list(features) if features is not None else list(left)
    nrows = max(1, math.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(4 * ncols, 2.8 * nrows), squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names, strict=False):
        f = left.get(name)
        g = right.get(name)
        if f is None:
            ax.set_title(f"{name} (absent)")
            continue
        if f.HasField("num_stats"):
            for stats_, label, alpha in ((f, lhs_name, 0.6), (g, rhs_name, 0.5)):
                if stats_ is None or not stats_.HasField("num_stats"):
                    continue
                x, w, h = _numeric_bars(stats_)
                ax.bar(x, h, width=w, align="edge", alpha=alpha, label=label)
        else:
            lv = _top_values(f)
            rv = _top_values(g) if g is not None and g.HasField("string_stats") else {}
            cats = sorted(set(lv) | set(rv), key=lambda c: -(lv.get(c, 0) + rv.get(c, 0)))[:top_k]
            pos = range(len(cats))
            ax.barh([p + 0.2 for p in pos], [lv.get(c, 0) for c in cats], height=0.4, label=lhs_name)
            if rv:
                ax.barh([p - 0.2 for p in pos], [rv.get(c, 0) for c in cats], height=0.4, label=rhs_name)
            ax.set_yticks(list(pos), [c[:18] for c in cats], fontsize=7)
            ax.invert_yaxis()
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
    if rhs is not None and names:
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
