"""labs_utils.slicing gives exactly the protos of TFDV's one-call-per-slice path."""

import numpy as np
import pandas as pd
import pytest

tfdv = pytest.importorskip("tensorflow_data_validation")
import pyarrow as pa  # noqa: E402
from tensorflow_data_validation.utils import quantiles_util  # noqa: E402
from tfx_bsl import sketches  # noqa: E402

from labs_utils import histograms, slicing, validation  # noqa: E402


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
    ours = _by_name(slicing.sliced_statistics(batch, options))
    reference = _by_name(slicing.per_slice_statistics(batch, options))
    assert len(reference) > 20  # All Examples, the departments and two drug slices
    assert ours == reference


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
