"""The Covertype assignment's exercises: their cells, their checks' messages and the grader on real runs.

The generic tests of tests/test_exercises.py (fresh learner copy, no solution text left in it, clean
copy naming the project kernel) run on this assignment too, parametrized over every assignment.
Here: the check of each recognised mistake on small in-memory inputs, then three notebook runs: the
solved notebook (the session's shared quick run), the blank learner copy, and one copy with five
seeded mistakes.
"""

from __future__ import annotations

from types import SimpleNamespace

import nbformat
import pandas as pd
import pytest
from helpers import NOTEBOOKS_DIR, REPO_ROOT, learner_notebook

from labs_utils import checks, exercises, metadata
from labs_utils.checks import covertype

COVERTYPE = "c2w3_assignment_pipeline_covertype"
SOLVED = NOTEBOOKS_DIR / f"{COVERTYPE}.ipynb"
LEARNER_COPY = REPO_ROOT / "exercises" / f"{COVERTYPE}.ipynb"
NUMBERS = list(range(1, 13))


# --- the notebook's exercise cells ----------------------------------------------------------


def test_every_exercise_has_its_task_its_marked_cell_and_its_check():
    cells = nbformat.read(str(SOLVED), as_version=4).cells
    marked = [(i, exercises.exercise_number(c)) for i, c in enumerate(cells) if exercises.exercise_number(c)]
    assert [n for _, n in marked] == sorted(covertype.ASSIGNMENT.exercises) == NUMBERS
    for (index, number), following in zip(marked, [*marked[1:], (len(cells), None)], strict=True):
        task = next(c for c in reversed(cells[:index]) if c.cell_type == "markdown")
        assert f"### Exercise {number}:" in task.source
        between = [c.source for c in cells[index + 1 : following[0]]]
        # the check follows its exercise, or the unit test that runs it (exercise 9's module file)
        assert f"covertype.check({number}, globals())" in between, number


def test_the_exercise_cells_ask_for_the_lessons_calls():
    answers = exercises.solution_lines(SOLVED)
    text = {n: "\n".join(lines) for n, lines in answers.items()}
    assert "pipeline.CsvExampleGen(" in text[1] and "context.run(example_gen)" in text[1]
    assert "tfdv.set_domain(" in text[4] and "is_categorical=True" in text[4]
    assert 'environment="SERVING"' in text[6] and "pipeline.ImportSchemaGen(" in text[7]
    assert "tft.hash_strings(" in text[9] and "pipeline.Transform(" in text[10]
    assert "store.get_artifacts_by_type(" in text[11] and "store.get_events_by_execution_ids(" in text[12]


def test_a_blank_namespace_reads_as_not_done_everywhere():
    # what a cleared copy defines: the plumbing before each exercise and the function shell of exercise 12
    namespace = {"context": object(), "store": object(), "selected_csv": "x.csv", "get_parent_artifacts": len}
    verdicts = [covertype.ASSIGNMENT.evaluate(n, namespace) for n in NUMBERS]
    assert [v.status for v in verdicts] == [checks.NOT_DONE] * 12
    assert all("not done yet" in v.message for v in verdicts)


# --- exercise 4: the curated schema, on a small table ---------------------------------------


@pytest.fixture(scope="module")
def small_schema_inputs(tmp_path_factory):
    """Statistics of a small table with the curated columns, and its inferred schema as an artifact."""
    import tensorflow_data_validation as tfdv

    frame = pd.DataFrame(
        {
            "Elevation": [2000, 2500, 3000, 3500],
            "Slope": [0, 10, 30, 60],
            "Hillshade_9am": [0, 100, 200, 254],
            "Hillshade_Noon": [50, 150, 220, 255],
            "Cover_Type": [0, 2, 4, 6],
        }
    )
    stats = tfdv.generate_statistics_from_dataframe(frame)
    folder = tmp_path_factory.mktemp("schema")
    tfdv.write_schema_text(tfdv.infer_schema(stats), str(folder / "schema.pbtxt"))
    return stats, SimpleNamespace(path=folder, uri=str(folder))


def _curate(schema, ranges, categorical=True):
    import tensorflow_data_validation as tfdv
    from tensorflow_metadata.proto.v0 import schema_pb2

    for feature, (low, high) in ranges.items():
        domain = schema_pb2.IntDomain(name=feature, min=low, max=high)
        domain.is_categorical = categorical and feature == covertype.LABEL
        tfdv.set_domain(schema, feature, domain)


RIGHT = dict(covertype.CURATED_RANGES)
CURATION_MISTAKES = {
    "right": (RIGHT, True, True, checks.PASSED, "the label is a category"),
    "wrong_feature": (
        {**{k: v for k, v in RIGHT.items() if k != "Slope"}, "Elevation": (0, 90)},
        True,
        True,
        checks.FAILED,
        "Slope has no range, but Elevation has 0-90: the domain went on the wrong feature",
    ),
    "not_categorical": (RIGHT, False, True, checks.FAILED, "domain is not marked categorical"),
    "wrong_range": ({**RIGHT, "Slope": (0, 360)}, True, True, checks.FAILED, "Slope's range is 0-360"),
    "not_revalidated": (RIGHT, True, False, checks.FAILED, "from before your change to the schema"),
}


@pytest.mark.parametrize(
    ("ranges", "categorical", "revalidated", "status", "fragment"),
    list(CURATION_MISTAKES.values()),
    ids=list(CURATION_MISTAKES),
)
def test_curation_mistakes_get_their_message(
    small_schema_inputs, ranges, categorical, revalidated, status, fragment
):
    import tensorflow_data_validation as tfdv

    from labs_utils import pipeline

    stats, artifact = small_schema_inputs
    schema = pipeline.load_schema(artifact)
    before = tfdv.validate_statistics(stats, schema)
    _curate(schema, ranges, categorical)
    namespace = {
        "schema_gen": object(),
        "schema": schema,
        "schema_artifact": artifact,
        "train_stats": stats,
        "eval_stats": stats,
        "eval_anomalies": before,
        "curated_anomalies": tfdv.validate_statistics(stats, schema) if revalidated else before,
    }
    verdict = covertype.ASSIGNMENT.evaluate(4, namespace)
    assert verdict.status == status and fragment in verdict.message, verdict.message


# --- exercise 6: environments ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("leave_out_of", "named", "status", "fragment"),
    [
        ("SERVING", True, checks.PASSED, "the missing Cover_Type is expected"),
        ("SERVING", False, checks.FAILED, "still reports Cover_Type missing: an environment applies only"),
        ("TRAINING", True, checks.FAILED, "Cover_Type is left out of TRAINING"),
    ],
)
def test_environment_mistakes_get_their_message(small_schema_inputs, leave_out_of, named, status, fragment):
    import tensorflow_data_validation as tfdv

    from labs_utils import pipeline

    stats, artifact = small_schema_inputs
    schema = pipeline.load_schema(artifact)
    serving = tfdv.generate_statistics_from_dataframe(
        pd.DataFrame({"Elevation": [2100], "Slope": [5], "Hillshade_9am": [9], "Hillshade_Noon": [99]})
    )
    schema.default_environment.extend(["TRAINING", "SERVING"])
    tfdv.get_feature(schema, covertype.LABEL).not_in_environment.append(leave_out_of)
    environment = "SERVING" if named else None
    namespace = {
        "serving_options": object(),
        "serving_stats": serving,
        "serving_anomalies": object(),
        "schema": schema,
        "serving_anomalies_env": tfdv.validate_statistics(serving, schema, environment=environment),
    }
    verdict = covertype.ASSIGNMENT.evaluate(6, namespace)
    assert verdict.status == status and fragment in verdict.message, verdict.message


# --- exercises 11 and 12: ML Metadata queries on a small store --------------------------------


@pytest.fixture()
def lineage():
    """A store shaped like the pipeline's: ExampleGen -> examples; ImportSchemaGen -> schema; Transform."""
    store = metadata.open_store()
    for name in ("Examples", "Schema", "TransformGraph"):
        metadata.register_artifact_type(store, name)
    examples = metadata.new_artifact(store, "Examples", "/root/CsvExampleGen/examples/1")
    metadata.record_execution(store, "CsvExampleGen", outputs={"examples": [examples]})
    inferred = metadata.new_artifact(store, "Schema", "/root/SchemaGen/schema/2")
    metadata.record_execution(store, "SchemaGen", outputs={"schema": [inferred]})
    imported = metadata.new_artifact(store, "Schema", "/root/ImportSchemaGen/schema/3")
    metadata.record_execution(store, "ImportSchemaGen", outputs={"schema": [imported]})
    transformed = metadata.new_artifact(store, "Examples", "/root/Transform/transformed_examples/4")
    graph = metadata.new_artifact(store, "TransformGraph", "/root/Transform/transform_graph/4")
    metadata.record_execution(
        store,
        "Transform",
        inputs={"examples": [examples], "schema": [imported]},
        outputs={"transformed_examples": [transformed], "transform_graph": [graph]},
    )
    return {
        "store": store,
        "examples": examples,
        "transformed_examples": transformed,
        "transform_graph": graph,
        "example_gen": object(),
        "transform_component": object(),
    }


def _walk(first, second, answer="artifacts"):
    """Return a get_parent_artifacts that follows `first` events to executions, then `second` events."""
    from ml_metadata.proto import metadata_store_pb2

    kinds = {"OUTPUT": metadata_store_pb2.Event.OUTPUT, "INPUT": metadata_store_pb2.Event.INPUT}

    def get_parent_artifacts(store, artifact):
        events = store.get_events_by_artifact_ids([artifact.id])
        execution_ids = sorted({e.execution_id for e in events if e.type == kinds[first]})
        if answer == "executions":
            return store.get_executions_by_id(execution_ids)
        linked = store.get_events_by_execution_ids(execution_ids)
        return store.get_artifacts_by_id(sorted({e.artifact_id for e in linked if e.type == kinds[second]}))

    return get_parent_artifacts


@pytest.mark.parametrize(
    ("walk", "status", "fragment"),
    [
        (_walk("OUTPUT", "INPUT"), checks.PASSED, "come from ['Examples', 'Schema']"),
        (
            _walk("INPUT", "OUTPUT"),
            checks.FAILED,
            "its children: the walk starts from the wrong kind of event",
        ),
        (_walk("OUTPUT", "OUTPUT"), checks.FAILED, "lists transformed_examples itself among its parents"),
        (_walk("OUTPUT", "INPUT", "executions"), checks.FAILED, "returns executions"),
    ],
    ids=["right", "children", "itself", "executions"],
)
def test_parent_artifact_mistakes_get_their_message(lineage, walk, status, fragment):
    namespace = {**lineage, "get_parent_artifacts": walk}
    namespace["parents"] = metadata.parent_artifacts(lineage["store"], lineage["transformed_examples"])
    verdict = covertype.ASSIGNMENT.evaluate(12, namespace)
    assert verdict.status == status and fragment in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        (lambda store: store.get_artifacts_by_type("Schema"), checks.PASSED, "2 Schema artifacts"),
        (
            lambda store: store.get_artifacts_by_type("Examples"),
            checks.FAILED,
            "of type ['Examples'], not Schema",
        ),
        (lambda store: store.get_artifacts_by_type("Schema")[-1:], checks.FAILED, "holds 1 of the store's 2"),
    ],
    ids=["right", "wrong_type", "one_of_them"],
)
def test_artifact_type_mistakes_get_their_message(lineage, query, status, fragment):
    namespace = {**lineage, "schema_artifacts": list(query(lineage["store"]))}
    verdict = covertype.ASSIGNMENT.evaluate(11, namespace)
    assert verdict.status == status and fragment in verdict.message, verdict.message


# --- the grader on real runs ----------------------------------------------------------------


CURATION = "\n".join(
    f'tfdv.set_domain(schema, "{f}", schema_pb2.IntDomain(name="{f}", min={lo}, max={hi}'
    + (", is_categorical=True))" if f == covertype.LABEL else "))")
    for f, (lo, hi) in covertype.CURATED_RANGES.items()
)
SEEDED = {
    4: CURATION + "\ncurated_anomalies = eval_anomalies",  # the schema changed, not validated again
    6: 'schema.default_environment.append("TRAINING")\nschema.default_environment.append("SERVING")\n'
    'tfdv.get_feature(schema, LABEL).not_in_environment.append("SERVING")\n'
    "serving_anomalies_env = tfdv.validate_statistics(serving_stats, schema)",  # environment not named
    8: "statistics_gen_typed = pipeline.StatisticsGen(examples, schema=imported_schema,\n"
    "    stats_options=tfdv.StatsOptions(infer_type_from_schema=True))\n"
    "context.run(statistics_gen_typed)\n"
    "example_validator_typed = pipeline.ExampleValidator(statistics_gen_typed.outputs['statistics'],\n"
    "    schema_artifact)\n"
    "context.run(example_validator_typed)",  # validated against SchemaGen's schema, not the imported one
    11: 'schema_artifacts = store.get_artifacts_by_type("Examples")',  # the wrong artifact type
    12: "events = store.get_events_by_artifact_ids([artifact.id])\n"
    "ids = {e.execution_id for e in events if e.type == metadata_store_pb2.Event.INPUT}\n"
    "linked = store.get_events_by_execution_ids(sorted(ids))\n"
    "return store.get_artifacts_by_id(sorted({e.artifact_id for e in linked "
    "if e.type == metadata_store_pb2.Event.OUTPUT}))",  # walked to the children
}
SEEDED_MESSAGES = {
    4: "`curated_anomalies` is ExampleValidator's result from before your change to the schema",
    6: "still reports Cover_Type missing: an environment applies only when you name it",
    8: "`example_validator_typed` validates against SchemaGen's inferred schema",
    11: "holds artifacts of type ['Examples'], not Schema",
    12: "returns the artifacts made from transformed_examples, its children",
}


@pytest.mark.notebook
def test_seeded_mistakes_get_their_specific_message(tmp_path):
    path = learner_notebook(SOLVED, tmp_path / "in" / SOLVED.name, SEEDED)
    result = exercises.grade(path, output_dir=tmp_path / "out")
    by_number = {v.exercise: v for v in result.verdicts}
    for number, fragment in SEEDED_MESSAGES.items():
        assert by_number[number].status == checks.FAILED, by_number[number]
        assert fragment in by_number[number].message, by_number[number].message
    assert all(v.passed for n, v in by_number.items() if n not in SEEDED), result.verdicts
    assert result.score == 12 - len(SEEDED)


# --- exercise 9: the preprocessing_fn, judged on the one-row unit test's outputs -------------


SELECTED = ["Elevation", "Slope", *covertype.ZERO_ONE, "Horizontal_Distance_To_Roadways"]


def _one_row_outputs():
    """Return one raw row and what the right preprocessing_fn gives on it alone."""
    import math

    import tensorflow as tf

    raw = pd.DataFrame([{**{k: 10 + i for i, k in enumerate(SELECTED)}, "Wilderness_Area": "Rawah",
                         "Soil_Type": "C7745", covertype.LABEL: 4}])  # fmt: skip
    row = raw.iloc[0]
    outputs = {f"{k}_xf": 1 / (1 + math.exp(-float(row[k]))) for k in covertype.ZERO_ONE}
    outputs |= {f"{k}_xf": 0.0 for k in covertype.Z_SCORE}
    bucket = int(tf.strings.to_hash_bucket_fast(["C7745"], covertype.HASH_BUCKETS).numpy()[0])
    outputs |= {"Wilderness_Area_xf": 0, "Soil_Type_xf": bucket, covertype.LABEL: 4}
    return raw, outputs


def _swap_soil_bucket(out):
    out["Soil_Type_xf"] = (out["Soil_Type_xf"] + 1) % covertype.HASH_BUCKETS


@pytest.mark.parametrize(
    ("change", "status", "fragment"),
    [
        (lambda out: None, checks.PASSED, "every output is what its transform gives"),
        (
            lambda out: out.update(Hillshade_9am_xf=0.0),
            checks.FAILED,
            "Hillshade_9am belongs to the 0-1 scalings",
        ),
        (lambda out: out.update(Slope_xf=0.5), checks.FAILED, "Slope_xf is not a z-score"),
        (_swap_soil_bucket, checks.FAILED, "Soil_Type_xf is not the hash bucket"),
        (lambda out: out.pop("Wilderness_Area_xf"), checks.FAILED, "returns no ['Wilderness_Area_xf']"),
        (
            lambda out: out.update(Cover_Type_xf=out.pop("Cover_Type")),
            checks.FAILED,
            "comes out as Cover_Type_xf",
        ),
    ],
    ids=["right", "zero_one_as_z_score", "z_score_scaled", "wrong_buckets", "no_vocabulary", "label_renamed"],
)
def test_preprocessing_fn_mistakes_get_their_message(change, status, fragment):
    raw, outputs = _one_row_outputs()
    change(outputs)
    namespace = {"example_gen": object(), "one_row_input": raw, "one_row": pd.Series(outputs),
                 "selected_features": SELECTED}  # fmt: skip
    verdict = covertype.ASSIGNMENT.evaluate(9, namespace)
    assert verdict.status == status and fragment in verdict.message, verdict.message
