"""Checks of the ten exercises of c2w2_assignment_transform_traffic.

Exercises 1-4 and 10 build pipeline components; the check reads the component the learner made
(its class, whether it ran, its inputs, its splits) and what it wrote. Exercises 5-9 each append one
helper of ``preprocessing_fn`` to the module file; the check loads that helper from the file, runs it
through tf.Transform on a few hand-written train rows and two eval rows, and compares the outputs
with what pandas computes for the same rows, naming the recognised mistakes: the wrong scaling
function, a vocabulary without OOV buckets, a label compared the wrong way or against a fixed number.
Heavy imports happen inside the checks, so the grader can read the exercise list at once.
"""

from __future__ import annotations

import ast
import logging
import re
import shutil
import tempfile
from collections import ChainMap
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from labs_utils.checks import Assignment, Exercise, Mistake

__all__ = ["ASSIGNMENT", "HELPERS", "Unloadable", "assert_all_passed", "check", "module_helpers"]

LAB = "c2w2_assignment_transform_traffic"
SPLITS = ["train", "eval"]
TEXT_FEATURES = ["holiday", "weather_main", "weather_description"]
OOV_SIZE = 10
BUCKETS = 3
# exercise number -> the module-file helper that exercise writes
HELPERS = {
    5: "scale_z_scores",
    6: "scale_to_unit_range",
    7: "apply_vocabularies",
    8: "bucketize_features",
    9: "label_busy_hours",
}

Namespace = Mapping[str, Any]


# --- the module file --------------------------------------------------------------------------


def _is_placeholder(function: ast.FunctionDef) -> bool:
    """Tell whether a function still raises the exercise placeholder's NotImplementedError."""
    for node in ast.walk(function):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                return True
    return False


class Unloadable:
    """Stands for a written helper whose module file does not parse or import; holds the error."""

    def __init__(self, error: str) -> None:
        self.error = error

    def __call__(self, inputs: Any) -> Any:
        raise Mistake(
            f"the module file does not load: {self.error}",
            "fix that line in its cell and run the cell again (or run the cell that starts the file "
            "and every exercise cell after it).",
        )


def _written_in_text(text: str) -> dict[str, bool]:
    """Return, per top-level function of a file that does not parse, whether its code is written in."""
    written = {}
    for block in re.split(r"(?m)^(?=def )", text):
        match = re.match(r"def (\w+)\(", block)
        if match:
            written[match.group(1)] = "NotImplementedError" not in block
    return written


def module_helpers(module_file: str | Path) -> dict[str, Callable]:
    """Return the helpers the module file defines with code written in (placeholders left out).

    The file is built with ``%%writefile -a``, so a helper written twice counts by its last version,
    as Python's import would take it. If the file does not parse or import, each written helper is an
    ``Unloadable`` that names the error when its check runs.
    """
    path = Path(module_file)
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        broken = Unloadable(f"SyntaxError: {error.msg} (line {error.lineno} of {path.name}).")
        return {
            name: broken for name, done in _written_in_text(text).items() if done and name in HELPERS.values()
        }
    written = {
        node.name: not _is_placeholder(node) for node in tree.body if isinstance(node, ast.FunctionDef)
    }
    wanted = [name for name in HELPERS.values() if written.get(name)]
    if not wanted:
        return {}
    from labs_utils import pipeline

    try:
        module_globals = pipeline.load_preprocessing_fn(path).__globals__
    except Exception as error:  # noqa: BLE001 - reported by the check of each written helper
        broken = Unloadable(f"{type(error).__name__}: {error}")
        return dict.fromkeys(wanted, broken)
    return {name: module_globals[name] for name in wanted if callable(module_globals.get(name))}


def _with_helpers(ns: Namespace) -> Namespace:
    """Return the namespace with the module file's written helpers added (exercises 5-9 define them)."""
    module_file = ns.get("module_file")
    if module_file is None:
        return ns
    return ChainMap(dict(module_helpers(module_file)), dict(ns))


# --- shared pieces for the components -------------------------------------------------------


def _component(ns: Namespace, name: str, kind: str) -> Any:
    """Return component ``name`` after checking its class and that it ran."""
    from labs_utils import pipeline

    component = ns[name]
    if not isinstance(component, getattr(pipeline, kind)):
        raise Mistake(f"`{name}` is a {type(component).__name__}, not a pipeline.{kind}.")
    if not component.outputs:
        raise Mistake(f"`{name}` has not run, so it has no outputs yet.", "pass it to context.run.")
    return component


def _same(artifact: Any, other: Any) -> bool:
    """Tell whether two artifacts are the same stored artifact."""
    return getattr(artifact, "id", None) == getattr(other, "id", -1)


def _expect_input(component: Any, key: str, expected: Any, name: str, what: str) -> None:
    """Raise Mistake unless the component's input ``key`` is the artifact ``expected``."""
    given = component.inputs().get(key)
    if not _same(given, expected):
        raise Mistake(
            f"`{name}` did not get `{what}` as its {key}.",
            f"pass `{what}`, the output of the component before it.",
        )


def _expect_all_splits(component: Any, name: str) -> None:
    """Raise Mistake if the component leaves a split out."""
    left_out = getattr(component, "exclude_splits", [])
    if left_out:
        raise Mistake(
            f"`{name}` leaves out the {', '.join(left_out)} split.",
            "drop exclude_splits: the course's components read every split, train and eval.",
        )


# --- exercises 1-4: the data components ---------------------------------------------------------


def _example_gen(ns: Namespace) -> str:
    """Exercise 1: CsvExampleGen over the run's CSV file, run, split 2:1."""
    component = _component(ns, "example_gen", "CsvExampleGen")
    ingested = [Path(f).resolve() for f in component.files]
    expected = Path(str(ns["traffic_csv"])).resolve()
    if ingested != [expected]:
        names = ", ".join(p.name for p in ingested) or "no file"
        raise Mistake(
            f"`example_gen` ingests {names} in {ingested[0].parent if ingested else '?'}, "
            f"not this run's {expected.name}.",
            "pass `traffic_csv` as input_base.",
        )
    if component.output_splits != {"train": 2, "eval": 1}:
        raise Mistake(
            f"`example_gen` splits by {component.output_splits}.",
            "keep ExampleGen's default split: two hash buckets to train, one to eval.",
        )
    examples = component.outputs["examples"]
    sizes = {split: examples.count(split) for split in examples.split_names}
    if sum(sizes.values()) != ns["input_rows"]:
        raise Mistake(f"the splits hold {sum(sizes.values()):,} records, the CSV {ns['input_rows']:,} rows.")
    return f"{sum(sizes.values()):,} rows ingested: train {sizes['train']:,}, eval {sizes['eval']:,}."


def _statistics_gen(ns: Namespace) -> str:
    """Exercise 2: StatisticsGen over the examples, every split."""
    from labs_utils import pipeline

    component = _component(ns, "statistics_gen", "StatisticsGen")
    examples = ns["example_gen"].outputs["examples"]
    _expect_input(component, "examples", examples, "statistics_gen", 'example_gen.outputs["examples"]')
    _expect_all_splits(component, "statistics_gen")
    statistics = component.outputs["statistics"]
    counts = {s: pipeline.load_statistics(statistics, s).datasets[0].num_examples for s in SPLITS}
    expected = {s: examples.count(s) for s in SPLITS}
    if counts != expected:
        raise Mistake(f"the statistics count {counts} examples; the splits hold {expected}.")
    return f"statistics of both splits ({counts['train']:,} and {counts['eval']:,} examples)."


def _schema_gen(ns: Namespace) -> str:
    """Exercise 3: SchemaGen over the statistics, fixed shapes, every split."""
    from labs_utils import pipeline

    component = _component(ns, "schema_gen", "SchemaGen")
    statistics = ns["statistics_gen"].outputs["statistics"]
    _expect_input(component, "statistics", statistics, "schema_gen", 'statistics_gen.outputs["statistics"]')
    if not component.infer_feature_shape:
        raise Mistake(
            "`schema_gen` gives no feature a fixed shape, so Transform would receive sparse tensors.",
            "keep infer_feature_shape on (TFX's default).",
        )
    if component.exclude_splits:
        raise Mistake(
            f"`schema_gen` learns from {', '.join(component.splits)} only: a category that appears only in "
            "eval would then be an anomaly.",
            "drop exclude_splits: SchemaGen reads every split, as TFX's does.",
        )
    schema = pipeline.load_schema(component.outputs["schema"])
    shapeless = sorted(f.name for f in schema.feature if not f.HasField("shape"))
    if shapeless:
        raise Mistake(f"{shapeless} have no fixed shape in the schema.")
    return f"{len(schema.feature)} features inferred from both splits, each with a fixed shape."


def _example_validator(ns: Namespace) -> str:
    """Exercise 4: ExampleValidator of the statistics against the schema, every split."""
    from labs_utils import pipeline, validation

    component = _component(ns, "example_validator", "ExampleValidator")
    statistics = ns["statistics_gen"].outputs["statistics"]
    schema = ns["schema_gen"].outputs["schema"]
    _expect_input(
        component, "statistics", statistics, "example_validator", 'statistics_gen.outputs["statistics"]'
    )
    _expect_input(component, "schema", schema, "example_validator", 'schema_gen.outputs["schema"]')
    _expect_all_splits(component, "example_validator")
    if component.environment is not None:
        raise Mistake(
            f"`example_validator` validates in the {component.environment} environment.",
            "this schema has no environments: leave environment out.",
        )
    anomalies = component.outputs["anomalies"]
    found = {s: validation.anomaly_kinds(pipeline.load_anomalies(anomalies, s)) for s in SPLITS}
    return f"both splits validated against the schema; anomalies: {found}."


# --- exercises 5-9: the helpers of preprocessing_fn -------------------------------------------


def _train_rows() -> Any:
    """Return six hand-written train hours; the volume of the third equals their mean (550)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "holiday": ["None", "None", "Labor Day", "None", "None", "None"],
            "temp": [280.0, 290.0, 300.0, 270.0, 285.0, 275.0],
            "rain_1h": [0.0, 0.5, 1.0, 2.0, 3.0, 4.0],
            "snow_1h": [0.0, 0.0, 0.0, 0.0, 1.0, 0.5],
            "clouds_all": [10, 40, 90, 20, 50, 75],
            "weather_main": ["Clouds", "Rain", "Clouds", "Rain", "Snow", "Clouds"],
            "weather_description": [
                "few clouds",
                "light rain",
                "overcast clouds",
                "light rain",
                "light snow",
                "few clouds",
            ],  # fmt: skip
            "date_time": [f"2016-09-05 {h:02d}:00:00" for h in [0, 8, 12, 17, 23, 3]],
            "traffic_volume": [100, 300, 550, 800, 1000, 550],
            "month": [9] * 6,
            "day": [5] * 6,
            "day_of_week": [0] * 6,
            "hour": [0, 8, 12, 17, 23, 3],
        }
    )


def _eval_rows() -> Any:
    """Return two eval hours: the second has strings the train rows never had."""
    import pandas as pd

    return pd.DataFrame(
        {
            "holiday": ["None", "Christmas Day"],
            "temp": [280.0, 260.0],
            "rain_1h": [0.0, 5.0],
            "snow_1h": [0.0, 2.0],
            "clouds_all": [10, 100],
            "weather_main": ["Clouds", "Fog"],
            "weather_description": ["few clouds", "fog"],
            "date_time": ["2016-12-25 01:00:00", "2016-12-25 02:00:00"],
            "traffic_volume": [540, 560],
            "month": [12, 12],
            "day": [25, 25],
            "day_of_week": [6, 6],
            "hour": [1, 2],
        }
    )


def _run_helper(ns: Namespace, name: str) -> dict[str, Any]:
    """Return the helper's outputs on the check rows: frames per split, the schema, vocabulary sizes."""
    helper = ns[name]
    if isinstance(helper, Unloadable):
        helper(None)  # raises the Mistake naming the error
    from labs_utils import transform

    def preprocessing_fn(inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = helper(inputs)
        if not isinstance(outputs, Mapping) or not outputs:
            raise Mistake(f"`{name}` returned {type(outputs).__name__} {outputs!r}, not a dict of outputs.")
        return dict(outputs)

    rows = {"train": _train_rows(), "eval": _eval_rows()}
    work = Path(tempfile.mkdtemp(prefix="traffic_check_"))
    beam_log = logging.getLogger("apache_beam")
    level = beam_log.level
    beam_log.setLevel(logging.ERROR)  # the check cell shows its verdict, not Beam's warnings
    try:
        try:
            result = transform.transform_data(
                preprocessing_fn, rows, schema=transform.infer_raw_schema(rows["train"]), output_dir=work
            )
        except Mistake:
            raise
        except Exception as error:  # noqa: BLE001 - the learner's code failed inside tf.Transform
            text = str(error).strip().splitlines()
            raise Mistake(
                f"`{name}` raised {type(error).__name__}: {text[-1] if text else ''}",
                "run the unit test below on it and read the first error.",
            ) from None
        output = result.output()
        vocabularies = {}
        for key in TEXT_FEATURES:
            try:
                vocabularies[key] = output.vocabulary_size_by_name(key)
            except (ValueError, KeyError, OSError):
                vocabularies[key] = None
        return {"frames": result.transformed, "schema": result.transformed_schema, "vocab": vocabularies}
    finally:
        beam_log.setLevel(level)
        shutil.rmtree(work, ignore_errors=True)


def _expect_keys(frame: Any, name: str, keys: list[str]) -> None:
    """Raise Mistake unless the helper's outputs are exactly ``<key>_xf`` for ``keys``."""
    expected = sorted(f"{key}_xf" for key in keys)
    got = sorted(frame.columns)
    if got == expected:
        return
    if sorted(keys) == got:
        raise Mistake(
            f"`{name}` names its outputs {got}, without the `_xf` suffix.",
            "name each output _transformed_name(key).",
        )
    raise Mistake(f"`{name}` returns {got}; it should return {expected}.")


def _close(values: Any, expected: Any) -> bool:
    """Tell whether two columns agree to float32 precision."""
    return bool(
        np.allclose(np.asarray(values, dtype="float64"), np.asarray(expected, dtype="float64"), atol=1e-5)
    )


def _z(values: Any) -> Any:
    """Return population z-scores."""
    return (values - values.mean()) / values.std(ddof=0)


def _unit(values: Any) -> Any:
    """Return values scaled by their min and max to [0, 1]."""
    return (values - values.min()) / (values.max() - values.min())


def _z_scores(ns: Namespace) -> str:
    """Exercise 5: temp and snow_1h as z-scores over the train rows."""
    frame = _run_helper(ns, HELPERS[5])["frames"]["train"]
    rows = _train_rows()
    _expect_keys(frame, HELPERS[5], ["temp", "snow_1h"])
    for key in ["temp", "snow_1h"]:
        values, raw = frame[f"{key}_xf"], rows[key]
        if _close(values, _z(raw)):
            continue
        if _close(values, _unit(raw)):
            raise Mistake(
                f"{key}_xf runs from 0 to 1: that scales by the minimum and maximum, not to a z-score.",
                "a z-score subtracts the mean and divides by the standard deviation; find the tft "
                "function that does that.",
            )
        if _close(values, raw):
            raise Mistake(f"{key}_xf equals the raw {key}: nothing was scaled.")
        raise Mistake(f"{key}_xf does not have mean 0 and standard deviation 1 over the train rows.")
    return "temp and snow_1h become z-scores of the train rows (mean 0, standard deviation 1)."


def _unit_range(ns: Namespace) -> str:
    """Exercise 6: clouds_all scaled to [0, 1] by the train min and max."""
    frame = _run_helper(ns, HELPERS[6])["frames"]["train"]
    raw = _train_rows()["clouds_all"]
    _expect_keys(frame, HELPERS[6], ["clouds_all"])
    values = frame["clouds_all_xf"]
    if _close(values, _unit(raw)):
        return "clouds_all runs from 0 (fewest train clouds) to 1 (most)."
    if _close(values, _z(raw)):
        raise Mistake(
            "clouds_all_xf has mean 0 and negative values: that is a z-score.",
            "map the train minimum to 0 and the maximum to 1 with the matching tft function.",
        )
    if _close(values, raw / 100):
        raise Mistake(
            "clouds_all_xf is the percentage divided by 100: a fixed scale, not the train range.",
            "let tf.Transform find the minimum and maximum over the train split.",
        )
    raise Mistake("clouds_all_xf is not (x - min) / (max - min) over the train rows.")


def _vocabularies(ns: Namespace) -> str:
    """Exercise 7: vocabulary ids with 10 OOV buckets, files named after each feature."""
    result = _run_helper(ns, HELPERS[7])
    train, held_out = result["frames"]["train"], result["frames"]["eval"]
    rows, eval_rows = _train_rows(), _eval_rows()
    _expect_keys(train, HELPERS[7], TEXT_FEATURES)
    for key in TEXT_FEATURES:
        ids, size = train[f"{key}_xf"], int(rows[key].nunique())
        if ids.dtype.kind not in "iu":
            raise Mistake(f"{key}_xf holds {ids.dtype} values, not integer ids.")
        if (ids >= size).any() or (ids < 0).any():
            raise Mistake(
                f"some train strings of {key} got no vocabulary id of their own: the vocabulary keeps "
                "fewer strings than the train rows have.",
                "top_k is the vocabulary's size: use _VOCAB_SIZE.",
            )
        if ids.groupby(rows[key]).nunique().max() != 1 or ids.nunique() != size:
            raise Mistake(f"{key}_xf does not give each string one id of its own.")
        most = rows[key].value_counts()
        if most.iloc[0] > most.iloc[1] and ids[rows[key] == most.index[0]].iloc[0] != 0:
            raise Mistake(
                f"the most frequent {key} does not get id 0.", "compute the vocabulary, don't hash."
            )
        unseen = held_out[f"{key}_xf"][~eval_rows[key].isin(set(rows[key]))]
        if (unseen < 0).any():
            raise Mistake(
                f"an eval {key} the train rows never had got id -1: the vocabulary has no OOV buckets.",
                "look up num_oov_buckets; the constants give _OOV_SIZE.",
            )
        feature = next(f for f in result["schema"].feature if f.name == f"{key}_xf")
        oov = feature.int_domain.max - size + 1
        if oov != OOV_SIZE:
            raise Mistake(
                f"{key}_xf has {oov} OOV bucket(s); the constants ask for {OOV_SIZE}.",
                "pass num_oov_buckets=_OOV_SIZE.",
            )
        if not ((unseen >= size) & (unseen < size + OOV_SIZE)).all():
            raise Mistake(f"an unseen eval {key} got an id outside the OOV buckets.")
        if result["vocab"][key] is None:
            raise Mistake(
                f"no vocabulary file is named {key}, so the lab cannot look it up by feature later.",
                "pass vocab_filename=key.",
            )
    return f"ids by frequency, and {OOV_SIZE} OOV buckets catch the eval strings the train rows lacked."


def _buckets(ns: Namespace) -> str:
    """Exercise 8: rain_1h in three quantile buckets."""
    frame = _run_helper(ns, HELPERS[8])["frames"]["train"]
    _expect_keys(frame, HELPERS[8], ["rain_1h"])
    buckets = frame["rain_1h_xf"]
    if buckets.dtype.kind not in "iu":
        raise Mistake(f"rain_1h_xf holds {buckets.dtype} values, not bucket ids.")
    if not buckets.is_monotonic_increasing:  # the check rows' rain rises row by row
        raise Mistake("more rain does not give a higher bucket: these are no quantile buckets of rain_1h.")
    if set(buckets) != set(range(BUCKETS)):
        raise Mistake(
            f"the rising rain of the check rows lands in buckets {sorted(set(buckets))}, not 0, 1 and 2.",
            "use the bucket count the constants give for the feature (_FEATURE_BUCKET_COUNT[key]).",
        )
    return "rain_1h lands in 3 quantile buckets that rise with the rain."


def _label(ns: Namespace) -> str:
    """Exercise 9: 1 for volumes above the train mean, int64."""
    frames = _run_helper(ns, HELPERS[9])["frames"]
    _expect_keys(frames["train"], HELPERS[9], ["traffic_volume"])
    rows, eval_rows = _train_rows(), _eval_rows()
    mean = rows["traffic_volume"].mean()
    labels = frames["train"]["traffic_volume_xf"]
    if labels.dtype != np.int64:
        raise Mistake(
            f"the label is {labels.dtype}, not int64.", "cast the comparison with tf.cast(..., tf.int64)."
        )
    expected = (rows["traffic_volume"] > mean).astype("int64")
    if labels.tolist() == expected.tolist():
        held_out = frames["eval"]["traffic_volume_xf"].tolist()
        if held_out != (eval_rows["traffic_volume"] > mean).astype("int64").tolist():
            raise Mistake("the eval rows are not compared with the train mean.")
        return f"hours above the train mean ({mean:g} on the check rows) are 1, the others 0."
    volume = rows["traffic_volume"]
    if labels.tolist() == (volume >= mean).astype("int64").tolist():
        raise Mistake(
            "hours exactly at the mean get label 1.",
            "the label marks volumes strictly greater than the mean.",
        )
    if labels.tolist() == (volume < mean).astype("int64").tolist():
        raise Mistake("busy hours get 0 and quiet ones 1: the comparison is reversed.")
    by_volume = labels[volume.sort_values(kind="stable").index]
    if by_volume.is_monotonic_increasing:  # a threshold rule, but not at this data's mean
        raise Mistake(
            f"the labels do not split the check rows at their mean ({mean:g}): the threshold is a fixed "
            "number, not the mean of the analyzed (train) split.",
            "compute the mean with tft.mean inside the function, so Transform takes it from train.",
        )
    raise Mistake("the label is not 1 exactly for volumes above the train mean.")


# --- exercise 10: Transform ---------------------------------------------------------------------


def _transform(ns: Namespace) -> str:
    """Exercise 10: Transform of the examples with the schema and the module file, analyzing train."""
    component = _component(ns, "transform_component", "Transform")
    examples = ns["example_gen"].outputs["examples"]
    schema = ns["schema_gen"].outputs["schema"]
    _expect_input(component, "examples", examples, "transform_component", 'example_gen.outputs["examples"]')
    _expect_input(component, "schema", schema, "transform_component", 'schema_gen.outputs["schema"]')
    module_file = Path(str(ns["module_file"])).resolve()
    if component.module_file != module_file:
        raise Mistake(
            f"`transform_component` runs {component.module_file or 'a function'}, not your module file.",
            "pass module_file=module_file.",
        )
    if component.analyze_split != "train":
        raise Mistake(
            f"`transform_component` analyzes the {component.analyze_split} split: the means, ranges, "
            "quantiles and vocabularies would come from data the model is evaluated on.",
            "analyze the train split (the default) and transform both.",
        )
    transformed = component.outputs["transformed_examples"]
    if sorted(transformed.split_names) != sorted(SPLITS):
        raise Mistake(f"the transformed examples hold the splits {transformed.split_names}.")
    sizes = {s: transformed.count(s) for s in SPLITS}
    return f"train analyzed; both splits transformed ({sizes['train']:,} and {sizes['eval']:,} records)."


ASSIGNMENT = Assignment(
    LAB,
    [
        Exercise(1, "ExampleGen", ("example_gen",), _example_gen),
        Exercise(2, "StatisticsGen", ("statistics_gen",), _statistics_gen, needs=(1,)),
        Exercise(3, "SchemaGen", ("schema_gen",), _schema_gen, needs=(2,)),
        Exercise(4, "ExampleValidator", ("example_validator",), _example_validator, needs=(2, 3)),
        Exercise(5, "z-scores", (HELPERS[5],), _z_scores),
        Exercise(6, "scale to [0, 1]", (HELPERS[6],), _unit_range),
        Exercise(7, "vocabularies with OOV buckets", (HELPERS[7],), _vocabularies),
        Exercise(8, "quantile buckets", (HELPERS[8],), _buckets),
        Exercise(9, "the label", (HELPERS[9],), _label),
        Exercise(10, "Transform", ("transform_component",), _transform, needs=(1, 3, *sorted(HELPERS))),
    ],
)


def check(number: int, namespace: Namespace) -> None:
    """Show and record exercise ``number``'s verdict on the notebook's ``namespace`` (``globals()``).

    Introduced in c2w2_assignment_transform_traffic.
    """
    ASSIGNMENT.check(number, _with_helpers(namespace))


def assert_all_passed() -> None:
    """Raise AssertionError unless every exercise's check passed in this run.

    Introduced in c2w2_assignment_transform_traffic.
    """
    ASSIGNMENT.assert_all_passed()
