"""Unit tests for labs_utils.validation on small in-memory frames."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tensorflow_metadata.proto.v0 import schema_pb2  # noqa: E402

from labs_utils import validation  # noqa: E402


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Forty rows: two numeric and two string columns, one with a rare value."""
    return pd.DataFrame(
        {
            "age": [20 + i for i in range(40)],
            "score": [0.5 * i for i in range(40)],
            "colour": ["red", "blue"] * 20,
            "size": ["S"] * 30 + ["M"] * 10,
        }
    )


def test_add_rows_appends_and_fills_missing(frame):
    out = validation.add_rows(frame, [{"age": 99, "colour": "green"}])
    assert len(out) == len(frame) + 1
    last = out.iloc[-1]
    assert last["age"] == 99 and last["colour"] == "green"
    assert pd.isna(last["size"]) and pd.isna(last["score"])
    assert len(frame) == 40  # the input is untouched


def test_statistics_count_examples_and_respect_allowlist(frame):
    stats = validation.generate_statistics(frame, tfdv.StatsOptions(feature_allowlist=["age", "colour"]))
    names = {f.path.step[0] for f in stats.datasets[0].features}
    assert names == {"age", "colour"}
    assert validation.num_examples(stats) == 40


@pytest.mark.parametrize("beam", [False, True])
def test_slices_are_named_by_key_on_both_paths(frame, beam):
    slicer = tfdv.experimental_get_feature_value_slicer({"colour": None})
    options = tfdv.StatsOptions(experimental_slice_functions=[slicer])
    stats = validation.generate_statistics(frame, options, beam=beam)
    assert set(validation.slice_names(stats)) == {"All Examples", "colour_red", "colour_blue"}
    assert validation.num_examples(stats, "colour_red") == 20
    assert validation.num_examples(stats, "All Examples") == 40


def test_in_process_statistics_match_beam(frame):
    fast = validation.generate_statistics(frame)
    slow = validation.generate_statistics(frame, beam=True)
    fast_age = tfdv.get_feature_stats(fast.datasets[0], tfdv.FeaturePath(["age"])).num_stats
    slow_age = tfdv.get_feature_stats(slow.datasets[0], tfdv.FeaturePath(["age"])).num_stats
    assert fast_age.mean == pytest.approx(slow_age.mean)
    assert (fast_age.min, fast_age.max) == (slow_age.min, slow_age.max) == (20, 59)


def test_unknown_slice_name_lists_the_known_ones(frame):
    stats = validation.generate_statistics(frame)
    with pytest.raises(KeyError, match="slices are"):
        validation.slice_statistics(stats, "colour_red")


def test_unexpected_string_is_an_anomaly_with_its_kind(frame):
    schema = tfdv.infer_schema(validation.generate_statistics(frame))
    bad = validation.add_rows(frame, [{"age": 30, "score": 1.0, "colour": "green", "size": "S"}])
    anomalies = tfdv.validate_statistics(validation.generate_statistics(bad), schema)
    assert validation.anomaly_kinds(anomalies) == {"colour": ["ENUM_TYPE_UNEXPECTED_STRING_VALUES"]}
    table = validation.anomalies_table(anomalies)
    assert list(table["feature"]) == ["colour"]
    assert "green" in table.loc[0, "description"]


def test_clean_data_has_no_anomalies(frame):
    schema = tfdv.infer_schema(validation.generate_statistics(frame))
    anomalies = tfdv.validate_statistics(validation.generate_statistics(frame), schema)
    assert validation.anomaly_kinds(anomalies) == {}
    assert validation.anomalies_table(anomalies).empty


def _with_comparators(frame, threshold):
    schema = tfdv.infer_schema(validation.generate_statistics(frame))
    tfdv.get_feature(schema, "size").drift_comparator.infinity_norm.threshold = threshold
    tfdv.get_feature(schema, "colour").skew_comparator.infinity_norm.threshold = threshold
    return schema


def test_identical_inputs_give_zero_distance(frame):
    stats = validation.generate_statistics(frame)
    schema = _with_comparators(frame, 0.01)
    anomalies = tfdv.validate_statistics(stats, schema, previous_statistics=stats, serving_statistics=stats)
    table = validation.comparator_table(anomalies)
    assert set(zip(table["feature"], table["comparator"], strict=True)) == {
        ("size", "drift"),
        ("colour", "skew"),
    }
    assert (table["value"] == 0).all() and not table["exceeded"].any()
    assert validation.anomaly_kinds(anomalies) == {}


@pytest.fixture(scope="module")
def size_shift(frame):
    """Return the shifted frame and the anomalies of its drift check (threshold 0.1) against `frame`."""
    # previous data: size S 75 % -> M 25 %; current: S 50 %, M 50 % => L-infinity distance 0.25
    shifted = frame.assign(size=["S", "M"] * 20)
    anomalies = tfdv.validate_statistics(
        validation.generate_statistics(shifted),
        _with_comparators(frame, 0.1),
        previous_statistics=validation.generate_statistics(frame),
    )
    return shifted, anomalies


def test_comparator_distance_is_the_largest_frequency_change(size_shift):
    _, anomalies = size_shift
    row = validation.comparator_table(anomalies).set_index("feature").loc["size"]
    assert row["measure"] == "L_INFTY"
    assert row["value"] == pytest.approx(0.25)
    assert row["threshold"] == pytest.approx(0.1) and row["exceeded"]
    assert "size" in validation.anomaly_kinds(anomalies)


def test_schema_table_and_domains(frame):
    schema = tfdv.infer_schema(validation.generate_statistics(frame))
    tfdv.set_domain(schema, "age", schema_pb2.IntDomain(name="age", min=17, max=90))
    table = validation.schema_table(schema)
    assert table.loc["age", "type"] == "INT" and table.loc["age", "domain"] == "[17, 90]"
    assert table.loc["colour", "type"] == "BYTES" and table.loc["colour", "domain_size"] == 2
    assert set(validation.domain_values(schema, "size")) == {"S", "M"}
    with pytest.raises(ValueError, match="no string domain"):
        validation.domain_values(schema, "age")


def test_plot_statistics_draws_one_panel_per_feature(frame):
    stats = validation.generate_statistics(frame)
    fig = validation.plot_statistics(stats, stats, ncols=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["age", "score", "colour", "size"]
    assert all(ax.patches for ax in visible)  # every panel has bars


def test_linf_distance_matches_the_comparator(frame, size_shift):
    shifted, anomalies = size_shift
    distance, value = validation.linf_distance(frame["size"], shifted["size"])
    assert distance == pytest.approx(0.25) and value in {"S", "M"}
    row = validation.comparator_table(anomalies).set_index("feature").loc["size"]
    assert row["value"] == pytest.approx(distance)


def test_linf_distance_ignores_missing_values_and_is_zero_for_equal_shares():
    lhs = pd.Series(["a", "b", None, "a", "b"])
    rhs = pd.Series(["b", "a"])
    assert validation.linf_distance(lhs, rhs) == (0.0, "a")
    assert validation.linf_distance(pd.Series([], dtype=object), pd.Series([], dtype=object)) == (0.0, None)


def test_unexpected_values_lists_only_values_outside_the_domain():
    df = pd.DataFrame({"colour": ["red", "green", None, "blue", "green"], "size": ["S", "M", "S", "S", "M"]})
    domains = {"colour": ["red", "blue"], "size": ["S", "M"]}
    assert validation.unexpected_values(df, domains) == {"colour": ["green"]}
    assert validation.unexpected_values(df, {"colour": ["red", "green", "blue"]}) == {}
