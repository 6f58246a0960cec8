"""labs_utils.slicing gives exactly the protos of TFDV's one-call-per-slice path."""

import copy
import math

import numpy as np
import pandas as pd
import pytest

tfdv = pytest.importorskip("tensorflow_data_validation")
import pyarrow as pa  # noqa: E402
from tensorflow_data_validation.statistics import stats_impl  # noqa: E402
from tensorflow_data_validation.utils import quantiles_util  # noqa: E402
from tfx_bsl import sketches  # noqa: E402

from labs_utils import datasets, histograms, slice_stats, slicing, validation  # noqa: E402


def _sketch_inputs(values: np.ndarray) -> tuple:
    """Return the arguments TFDV's basic statistics pass to its equal-width histogram."""
    sketch = sketches.QuantilesSketch(0.01, 1 << 32, 1)
    sketch.AddValues(pa.array(values, type=pa.float64()))
    quantiles, counts = sketch.GetQuantilesAndCumulativeWeights(1000)
    finite = values[np.isfinite(values)]
    return (
        quantiles.flatten().to_numpy(zero_copy_only=False),
        counts.flatten().to_numpy(zero_copy_only=False),
        finite.min() if finite.size else np.inf,
        finite.max() if finite.size else -np.inf,
        10,
        float((values == np.inf).sum()),
    )


_RNG = np.random.default_rng(7)
VALUES = {
    "one value": np.array([3.0]),
    "constant": np.full(40, -2.5),
    "two values": np.array([0.0] * 5 + [1.0] * 9),
    "small integers": _RNG.integers(0, 5, size=200).astype(float),
    "many integers": _RNG.integers(0, 80, size=300).astype(float),
    "normal": _RNG.normal(size=250),
    "skewed": _RNG.exponential(size=500) ** 3,
    "with infinities": np.concatenate([_RNG.normal(size=60), [np.inf, np.inf, -np.inf]]),
    "only infinities": np.array([np.inf, -np.inf]),
    "huge spread": np.array([-8e307, 0.0, 8e307, 8e307, 5.0]),
    "ties and negatives": np.repeat([-7.0, -1.0, 0.0, 0.0, 2.5], [3, 40, 1, 1, 9]),
    "integers, wide": _RNG.integers(-100_000, 100_000, size=400),
}


@pytest.mark.parametrize("name", list(VALUES))
def test_equi_width_histogram_is_tfdvs(name):
    args = _sketch_inputs(VALUES[name])
    ours = histograms.equi_width_histogram(*args)
    theirs = quantiles_util.generate_equi_width_histogram(*args)
    assert ours.SerializeToString() == theirs.SerializeToString()
    assert len(ours.buckets) >= 1


@pytest.mark.parametrize("name", list(VALUES))
def test_bin_weights_are_tfdvs(name):
    quantiles, counts = _sketch_inputs(VALUES[name])[:2]
    ours = histograms.bin_weights(quantiles, counts)
    theirs = quantiles_util._get_bin_weights(quantiles, counts)
    for mine, tfdvs in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(mine, tfdvs)


@pytest.fixture(scope="module")
def sliced_frame() -> pd.DataFrame:
    """600 rows, 25 departments of very different sizes, numeric and string columns with gaps."""
    rng = np.random.default_rng(3)
    sizes = rng.zipf(1.6, size=600) % 25
    frame = pd.DataFrame(
        {
            "department": [f"d{s}" for s in sizes],
            "age": rng.integers(18, 90, size=600),
            "dose": rng.exponential(2.0, size=600),
            "visits": rng.integers(0, 4, size=600).astype(float),
            "drug": rng.choice(["No", "Up", "Down", "Steady"], size=600),
        }
    )
    frame.loc[rng.random(600) < 0.1, "dose"] = np.nan
    frame.loc[rng.random(600) < 0.05, "drug"] = None
    return frame


def _by_name(stats) -> dict[str, bytes]:
    return {d.name: d.SerializeToString(deterministic=True) for d in stats.datasets}


def _one_pass_supports(batch, options) -> bool:
    """Whether sliced_statistics computes these slices with labs_utils.slice_stats (not TFDV's generators)."""
    plain = copy.copy(options)
    functions, plain.experimental_slice_functions = plain.experimental_slice_functions or [], None
    generators = stats_impl.get_generators(plain, in_memory=True)
    rows = slicing.slice_rows(batch, functions)
    return rows is not None and slice_stats.supports(batch, plain, generators)


def _assert_equal_to_per_slice_path(batch, options, *, one_pass: bool) -> dict[str, bytes]:
    """Check both paths give the same protos, and that the one-pass path is the one expected."""
    assert _one_pass_supports(batch, options) is one_pass
    ours = _by_name(slicing.sliced_statistics(batch, options))
    reference = _by_name(slicing.per_slice_statistics(batch, options))
    assert list(ours) == list(reference)
    assert ours == reference
    return reference


def _lists(rows: list, value_type) -> pa.Array:
    """Return a large_list column (None rows are missing) as TFDV's in-memory path reads them."""
    return pa.array(rows, type=pa.large_list(value_type))


@pytest.fixture(scope="module")
def adversarial_batch() -> pa.RecordBatch:
    """Slices with one row, all-missing and all-NaN features, infinities, multivalent and empty lists."""
    rng = np.random.default_rng(11)
    group = ["big"] * 300 + ["one"] + ["no_x"] * 5 + ["nan_x"] * 4 + ["inf_x"] * 3 + ["ties"] * 8
    n = len(group)
    x = (
        list(rng.normal(size=300))
        + [2.0]
        + [None] * 5
        + [float("nan")] * 4
        + [float("inf"), -1e9, float("inf")]
    )
    x += [1.0, 1.0, 2.0, 2.0, None, 0.0, -0.0, 3.0]
    x_rows = [None if v is None else [v] for v in x]
    x_rows[3] = [float("nan"), 1.5]  # NaN beside a value in one list
    n_rows = [list(rng.integers(-5, 5, size=int(k))) if k >= 0 else None for k in rng.integers(-1, 4, size=n)]
    words = ["a", "b", "", "ü", "tie1", "tie2", "c d"]
    s_rows = [list(rng.choice(words, size=int(k))) if k >= 0 else None for k in rng.integers(-1, 3, size=n)]
    s_rows[-8:] = [["tie2"], ["tie1"], ["tie1", "tie2"], [], None, ["ü"], ["ü"], ["tie2", "tie1"]]
    return pa.RecordBatch.from_arrays(
        [
            _lists([[g] for g in group], pa.large_binary()),
            _lists(x_rows, pa.float64()),
            _lists([[v] for v in rng.integers(0, 3, size=n)], pa.int64()),
            _lists(n_rows, pa.int64()),
            _lists([None if r is None else [w.encode() for w in r] for r in s_rows], pa.large_binary()),
            _lists([None] * n, pa.large_binary()),
            _lists([[np.float32(v)] for v in rng.exponential(size=n)], pa.float32()),
        ],
        ["group", "x", "small_int", "int_lists", "words", "never_set", "f32"],
    )


def test_adversarial_slices_equal_one_call_per_slice(adversarial_batch):
    options = tfdv.StatsOptions(
        experimental_slice_functions=[
            tfdv.experimental_get_feature_value_slicer({"group": None}),
            tfdv.experimental_get_feature_value_slicer({"small_int": [0, 2], "group": ["big", "ties"]}),
            tfdv.experimental_get_feature_value_slicer({"group": ["absent"]}),  # an empty slice: no dataset
        ]
    )
    reference = _assert_equal_to_per_slice_path(adversarial_batch, options, one_pass=True)
    assert {"group_one", "group_no_x", "group_nan_x", "group_inf_x", "group_ties"} <= set(reference)
    assert not any("absent" in name for name in reference)


def _without_last_tie(stats, feature: str) -> dict[str, bytes]:
    """Drop ``feature``'s top-k entries tied at the lowest count kept, where TFDV's own choice varies.

    Past 1,024 distinct values tfx_bsl's Misra-Gries sketch evicts values, and which of several
    equally counted ones it keeps follows the iteration order of a C++ hash map: two runs of
    TFDV on the same data can keep different ones.
    """
    result = {}
    for dataset in stats.datasets:
        for f in dataset.features:
            strings = f.string_stats
            if f.path.step[0] == feature and strings.unique > 1024:
                lowest = min(b.sample_count for b in strings.rank_histogram.buckets)
                kept = [b for b in strings.rank_histogram.buckets if b.sample_count > lowest]
                del strings.rank_histogram.buckets[:]
                strings.rank_histogram.buckets.extend(kept)
                top = [v for v in strings.top_values if v.frequency > lowest]
                del strings.top_values[:]
                strings.top_values.extend(top)
        result[dataset.name] = dataset.SerializeToString(deterministic=True)
    return result


def test_more_distinct_strings_than_top_k_buckets_use_tfdvs_sketch():
    rng = np.random.default_rng(5)
    common = [f"v{i}" for i in rng.zipf(1.3, size=2000) % 50]
    rare = [f"r{i}" for i in range(1500)]  # > 1,024 distinct values: the Misra-Gries sketch evicts
    values = common + rare
    order = rng.permutation(len(values))
    batch = pa.RecordBatch.from_arrays(
        [
            _lists(
                [[("half" if i % 2 else "other").encode()] for i in range(len(values))], pa.large_binary()
            ),
            _lists([[values[i].encode()] for i in order], pa.large_binary()),
        ],
        ["half", "token"],
    )
    slicer = tfdv.experimental_get_feature_value_slicer({"half": None})
    options = tfdv.StatsOptions(experimental_slice_functions=[slicer])
    assert _one_pass_supports(batch, options)
    ours = _without_last_tie(slicing.sliced_statistics(batch, options), "token")
    reference = _without_last_tie(slicing.per_slice_statistics(batch, options), "token")
    assert ours == reference
    assert len(reference) == 3


def _with_column(batch: pa.RecordBatch, name: str, array: pa.Array) -> pa.RecordBatch:
    """Return ``batch`` with one more column (pyarrow 10's RecordBatch has no append_column)."""
    return pa.RecordBatch.from_arrays([*batch.columns, array], [*batch.schema.names, name])


@pytest.mark.parametrize(
    "case", ["not utf-8", "long string", "null column", "weights", "custom slice function", "no rows"]
)
def test_inputs_outside_the_one_pass_path_still_equal_tfdv(adversarial_batch, case):
    batch, options = adversarial_batch, tfdv.StatsOptions()
    slicer = tfdv.experimental_get_feature_value_slicer({"group": None})
    if case == "not utf-8":
        batch = _with_column(
            batch, "raw", _lists([[b"\xff\xfe"]] + [[b"ok"]] * (batch.num_rows - 1), pa.large_binary())
        )
    elif case == "long string":
        batch = _with_column(
            batch, "raw", _lists([[b"x" * 1024]] + [[b"ok"]] * (batch.num_rows - 1), pa.large_binary())
        )
    elif case == "null column":
        batch = _with_column(batch, "raw", pa.array([None] * batch.num_rows, type=pa.null()))
    elif case == "weights":
        batch = _with_column(batch, "w", _lists([[1.0 + i % 3] for i in range(batch.num_rows)], pa.float64()))
        options = tfdv.StatsOptions(weight_feature="w")
    elif case == "custom slice function":
        slicer = lambda b: [("first_half", b.slice(0, b.num_rows // 2))]  # noqa: E731
    else:
        batch = batch.slice(0, 0)
    options.experimental_slice_functions = [slicer]
    _assert_equal_to_per_slice_path(batch, options, one_pass=False)


def test_one_pass_equals_one_call_per_slice(sliced_frame):
    schema = tfdv.infer_schema(validation.generate_statistics(sliced_frame))
    options = tfdv.StatsOptions(
        schema=schema,
        infer_type_from_schema=True,
        feature_allowlist=["age", "dose", "visits", "drug"],
        experimental_slice_functions=[
            tfdv.experimental_get_feature_value_slicer({"department": None}),
            tfdv.experimental_get_feature_value_slicer({"drug": ["Up", "Down"]}),
        ],
    )
    batch = validation._record_batch(sliced_frame)
    reference = _assert_equal_to_per_slice_path(batch, options, one_pass=True)
    assert len(reference) > 20  # All Examples, the departments and two drug slices


def test_without_slices_one_unnamed_dataset_as_tfdv(sliced_frame):
    batch = validation._record_batch(sliced_frame)
    ours = slicing.sliced_statistics(batch, tfdv.StatsOptions())
    theirs = tfdv.generate_statistics_from_dataframe(sliced_frame, n_jobs=1)
    assert [d.name for d in ours.datasets] == [""]
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)


def test_tfdv_is_left_unpatched_afterwards_even_on_error(sliced_frame):
    original = quantiles_util.generate_equi_width_histogram

    def broken(batch):
        raise RuntimeError("slice function failed")

    options = tfdv.StatsOptions(experimental_slice_functions=[broken])
    with pytest.raises(RuntimeError, match="slice function failed"):
        slicing.sliced_statistics(validation._record_batch(sliced_frame), options)
    assert quantiles_util.generate_equi_width_histogram is original


def _diabetes_train() -> pd.DataFrame:
    """Return the lab's shuffled training rows (c2w1_assignment_validation_diabetes)."""
    df = datasets.load_diabetes()
    return df.iloc[: int(len(df) * 0.7)].sample(frac=1, random_state=48).reset_index(drop=True)


@pytest.mark.data
@pytest.mark.parametrize("lab", ["census", "diabetes quick", "diabetes full"])
def test_lab_slices_equal_one_call_per_slice(lab):
    if lab == "census":
        df = datasets.load_census_adult()
        train = df.iloc[: len(df) - math.ceil(0.2 * len(df))]  # the lab's ordered split
        frame, feature, allowlist = train, "sex", None
    else:
        train = _diabetes_train()
        frame = train.sample(n=10_000, random_state=42) if lab == "diabetes quick" else train
        feature, allowlist = (
            "medical_specialty",
            [c for c in train if c not in ("encounter_id", "patient_nbr")],
        )
    schema = tfdv.infer_schema(
        validation.generate_statistics(frame, tfdv.StatsOptions(feature_allowlist=allowlist))
    )
    options = tfdv.StatsOptions(
        schema=schema,
        infer_type_from_schema=True,
        feature_allowlist=allowlist,
        experimental_slice_functions=[tfdv.experimental_get_feature_value_slicer({feature: None})],
    )
    reference = _assert_equal_to_per_slice_path(validation._record_batch(frame), options, one_pass=True)
    assert len(reference) == 1 + frame[feature].nunique()
