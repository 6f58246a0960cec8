"""Time series features: cyclical encodings, wind vectors, log-line cleaning and tf.data windows.

The encodings take TensorFlow tensors (inside a tf.Transform ``preprocessing_fn``) or NumPy
arrays (eagerly, in tests). Windows come from ``tf.data.Dataset.window``.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labs_utils import records

if TYPE_CHECKING:  # heavy imports stay lazy so `import labs_utils.timeseries` is cheap
    import tensorflow as tf
    from matplotlib.figure import Figure

__all__ = [
    "DAY_SECONDS", "DROP_REASONS", "JENA_TIME_FORMAT", "KEPT", "WIND_SENTINEL", "WISDM_ACTIVITIES",
    "WISDM_COLUMNS", "YEAR_SECONDS", "clean_weather_line", "clean_wisdm_line",
    "count_clean_results", "cyclical_features", "head_per_user", "load_scalar_features",
    "majority_vote", "make_windows", "parse_utc_seconds", "plot_counts", "plot_series",
    "split_window", "target_offset", "time_order_report", "wind_vector", "window_span",
]  # fmt: skip

DAY_SECONDS = 24 * 60 * 60
YEAR_SECONDS = 365.2425 * DAY_SECONDS  # mean Gregorian year
JENA_TIME_FORMAT = "%d.%m.%Y %H:%M:%S"
WIND_SENTINEL = -9999.0  # the Jena file's code for a failed wind reading

WISDM_COLUMNS = ("user", "activity", "timestamp", "x", "y", "z")
WISDM_ACTIVITIES = ("Walking", "Jogging", "Upstairs", "Downstairs", "Sitting", "Standing")
KEPT = "kept"
DROP_REASONS = ("empty", "field_count", "trailing_comma")
_PARSE_BATCH = 4096


# --- timestamps and cyclical time -------------------------------------------------------------


def parse_utc_seconds(text: str, fmt: str = JENA_TIME_FORMAT) -> int:
    """Return the Unix seconds of a ``dd.mm.YYYY HH:MM:SS`` time stamp read as UTC.

    ``datetime.timestamp`` on a naive datetime uses the machine's time zone (the course's bug);
    this never does. Introduced in c2w4_lab_weather_timeseries.
    """
    moment = datetime.strptime(text.strip().strip('"'), fmt).replace(tzinfo=UTC)
    return int(moment.timestamp())


def cyclical_features(seconds: Any, period: float) -> tuple[tf.Tensor, tf.Tensor]:
    """Return ``(sin, cos)`` of ``2π · seconds / period`` as float32 tensors.

    The phase is reduced modulo ``period`` in float64 first: a float32 Unix time in 2016 is only
    exact to 128 s, which would smear the day signal. Introduced in c2w4_lab_weather_timeseries.
    """
    import tensorflow as tf

    t = tf.cast(seconds, tf.float64)
    phase = (2.0 * math.pi / period) * tf.math.floormod(t, tf.constant(period, tf.float64))
    return tf.cast(tf.sin(phase), tf.float32), tf.cast(tf.cos(phase), tf.float32)


def wind_vector(speed: Any, direction_deg: Any) -> tuple[tf.Tensor, tf.Tensor]:
    """Return the wind components ``(Wx, Wy) = speed · (cos θ, sin θ)``, θ = direction in radians.

    A calm wind (speed 0) maps to (0, 0) whatever its direction, and 359° lands next to 1°.
    Introduced in c2w4_lab_weather_timeseries.
    """
    import tensorflow as tf

    speed = tf.cast(speed, tf.float32)
    theta = tf.cast(direction_deg, tf.float32) * (math.pi / 180.0)
    return speed * tf.cos(theta), speed * tf.sin(theta)


def clean_weather_line(
    line: str | bytes,
    time_index: int,
    sentinel_indices: Sequence[int],
    sentinel: float = WIND_SENTINEL,
) -> str | bytes:
    """Return a Jena CSV data line with its time as UTC seconds and sentinel readings set to 0.

    The sentinel test compares numbers, so ``-9999.00`` (the file's two-decimal format) and
    ``-9999.0`` both match. Bytes in (as TFXIO's CSV decoder wants them), bytes out.
    Introduced in c2w4_lab_weather_timeseries.
    """
    if isinstance(line, bytes):
        return clean_weather_line(line.decode("utf-8"), time_index, sentinel_indices, sentinel).encode()
    fields = line.rstrip("\r\n").split(",")
    fields[time_index] = str(parse_utc_seconds(fields[time_index]))
    for i in sentinel_indices:
        if float(fields[i]) == sentinel:
            fields[i] = "0.0"
    return ",".join(fields)


# --- windows ---------------------------------------------------------------------------------


def make_windows(values: Any, size: int, *, shift: int = 1, stride: int = 1) -> tf.data.Dataset:
    """Return a series cut into overlapping windows with ``tf.data``: ``window``, ``flat_map(batch)``.

    Args:
        values: an array, tensor, ``tf.data.Dataset`` or dict of them (e.g. features and time),
            first axis = time, already in time order.
        size: elements per window.
        shift: rows between the starts of consecutive windows.
        stride: rows between the elements inside a window (6 turns 10-minute rows into hours).

    Returns:
        A dataset of windows shaped ``(size, ...)`` (a dict of them for dict input); windows that
        would run past the end are dropped.

    Introduced in c2w4_lab_weather_timeseries.
    """
    import tensorflow as tf

    dataset = (
        values
        if isinstance(values, tf.data.Dataset)
        else (tf.data.Dataset.from_tensor_slices(dict(values) if isinstance(values, Mapping) else values))
    )
    windows = dataset.window(size, shift=shift, stride=stride, drop_remainder=True)
    if isinstance(dataset.element_spec, Mapping):
        return windows.flat_map(lambda w: tf.data.Dataset.zip({k: v.batch(size) for k, v in w.items()}))
    return windows.flat_map(lambda w: w.batch(size))


def window_span(size: int, stride: int = 1) -> int:
    """Return how many consecutive rows one window of ``size`` elements covers.

    Introduced in c2w4_lab_weather_timeseries.
    """
    return (size - 1) * stride + 1


def target_offset(size: int, history: int, stride: int = 1) -> int:
    """Return how many rows the target (last element) lies after the last history element.

    Introduced in c2w4_lab_weather_timeseries.
    """
    return (size - history) * stride


def split_window(window: Any, history: int, label_index: int = -1) -> tuple[Any, Any]:
    """Return a ``(size, features)`` window split into the first ``history`` rows and the last label.

    Returns ``(features[:history], window[-1:, label_index])``; the target keeps shape ``(1,)``.
    Introduced in c2w4_lab_weather_timeseries.
    """
    return window[:history], window[-1:, label_index]


def majority_vote(labels: Any, num_classes: int) -> tf.Tensor:
    """Return the most frequent label id; a tie goes to the smallest id (``bincount`` + ``argmax``).

    Introduced in c2w4_lab_accelerometer_signals.
    """
    import tensorflow as tf

    counts = tf.math.bincount(tf.cast(labels, tf.int32), minlength=num_classes, maxlength=num_classes)
    return tf.argmax(counts, output_type=tf.int64)


def time_order_report(seconds: np.ndarray, step: int) -> dict[str, int]:
    """Return counts of a time column's steps: how many equal ``step``, are longer, or go backwards.

    Introduced in c2w4_lab_weather_timeseries.
    """
    diffs = np.diff(np.asarray(seconds, dtype=np.int64))
    return {
        "steps": int(diffs.size),
        "regular": int((diffs == step).sum()),
        "gaps": int((diffs > step).sum()),
        "short": int(((diffs > 0) & (diffs < step)).sum()),
        "repeated_or_backwards": int((diffs <= 0).sum()),
    }


# --- reading transformed examples back -------------------------------------------------------


def load_scalar_features(files: str | Path | Sequence[str | Path], feature_spec: Mapping) -> pd.DataFrame:
    """Return a DataFrame with one column per ``feature_spec`` feature, parsed from TFRecord files.

    Scalar features (``FixedLenFeature([])``) only; files come back in the order given (a glob
    is expanded in sorted order). Introduced in c2w4_lab_weather_timeseries.
    """
    import tensorflow as tf

    paths = [files] if isinstance(files, str | Path) else list(files)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in feature_spec}
    serialized = itertools.chain.from_iterable(records.read_records(p) for p in paths)
    while chunk := list(itertools.islice(serialized, _PARSE_BATCH)):
        for name, value in tf.io.parse_example(chunk, dict(feature_spec)).items():
            columns[name].append(value.numpy())
    return pd.DataFrame(
        {name: np.concatenate(parts) if parts else np.array([]) for name, parts in columns.items()}
    )


# --- the WISDM raw log -----------------------------------------------------------------------


def clean_wisdm_line(line: str | bytes) -> tuple[str, str | bytes]:
    """Return ``(status, cleaned)`` for one raw WISDM line, status ``"kept"`` or a drop reason.

    Removes ``,;`` and ``;`` (the record terminator, sometimes preceded by a stray comma), then
    keeps lines with exactly five commas and no trailing comma. Reasons: ``empty``,
    ``field_count`` (fields missing, or two records run together), ``trailing_comma`` (the last
    value is missing). Bytes in, bytes out. Introduced in c2w4_lab_accelerometer_signals.
    """
    if isinstance(line, bytes):
        status, cleaned = clean_wisdm_line(line.decode("utf-8", errors="replace"))
        return status, cleaned.encode()
    cleaned = line.strip().replace(",;", "").replace(";", "").strip()
    if not cleaned:
        return "empty", cleaned
    if cleaned.count(",") != len(WISDM_COLUMNS) - 1:
        return "field_count", cleaned
    if cleaned.endswith(","):
        return "trailing_comma", cleaned
    return KEPT, cleaned


def count_clean_results(lines: Iterable[str | bytes]) -> Counter:
    """Return how many lines ``clean_wisdm_line`` classifies each way (``kept``, each drop reason).

    Introduced in c2w4_lab_accelerometer_signals.
    """
    return Counter(clean_wisdm_line(line)[0] for line in lines)


def head_per_user(source: str | Path, target: str | Path, lines_per_user: int) -> Path:
    """Return ``target`` after copying the first ``lines_per_user`` raw lines of each user to it.

    Lines are copied byte for byte, malformed ones included, so the cleaning still meets them.
    Introduced in c2w4_lab_accelerometer_signals.
    """
    seen: Counter = Counter()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(target, "wb") as dst:
        for line in src:
            user = line.split(b",", 1)[0].strip()
            if seen[user] < lines_per_user:
                seen[user] += 1
                dst.write(line if line.endswith(b"\n") else line + b"\n")
    return target


# --- plots -----------------------------------------------------------------------------------


def plot_series(
    df: pd.DataFrame, columns: Sequence[str], *, title: str = "", max_points: int = 5000
) -> Figure:
    """Return a shared-x figure plotting each column against the index in its own row.

    Long frames are thinned to every k-th row (at most ``max_points``): matplotlib takes minutes
    to draw 14 panels of 420,000 points, and a screen shows no more detail anyway.
    Introduced in c2w4_lab_weather_timeseries.
    """
    import matplotlib.pyplot as plt

    step = max(1, math.ceil(len(df) / max_points))
    thin = df.iloc[::step]
    fig, axes = plt.subplots(
        len(columns), 1, figsize=(10, 1.6 * len(columns)), sharex=True, squeeze=False, layout="constrained"
    )
    for ax, name in zip(axes[:, 0], columns, strict=True):
        ax.plot(thin.index, thin[name].to_numpy(), linewidth=0.8)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    fig.suptitle(title if step == 1 else f"{title} (one row in {step})")
    return fig


def plot_counts(counts: pd.Series, *, title: str = "", xlabel: str = "") -> Figure:
    """Return a bar chart of counts (e.g. readings per activity or per user).

    Introduced in c2w4_lab_accelerometer_signals.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3))
    ax.bar([str(k) for k in counts.index], counts.to_numpy())
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    return fig
