"""Learner copies of the assignments, the exercise checks and the local grader."""

from __future__ import annotations

import json

import nbformat
import pytest
from helpers import NOTEBOOKS_DIR, REPO_ROOT, learner_notebook, passed_results

from labs_utils import checks, cli, exercises, kernel
from labs_utils.checks import diabetes

EXERCISES_DIR = REPO_ROOT / "exercises"
DIABETES = "c2w1_assignment_validation_diabetes"
SOLVED = NOTEBOOKS_DIR / f"{DIABETES}.ipynb"
ASSIGNMENT_SOURCES = exercises.assignment_notebooks(NOTEBOOKS_DIR)


# --- one source, two forms ------------------------------------------------------------------


def test_the_assignments_with_exercises_are_the_registered_ones():
    assert [p.stem for p in ASSIGNMENT_SOURCES] == sorted(checks.ASSIGNMENTS)


@pytest.mark.parametrize("source", ASSIGNMENT_SOURCES, ids=[p.stem for p in ASSIGNMENT_SOURCES])
def test_learner_copy_equals_a_fresh_generation(source):
    committed = EXERCISES_DIR / source.name
    assert committed.is_file(), f"{committed} is missing; run `labs exercises`"
    assert committed.read_text(encoding="utf-8") == exercises.generate(source), (
        f"{committed} is stale; run `labs exercises` (make exercises)"
    )


def test_generation_is_idempotent_and_rewrites_only_stale_copies(tmp_path):
    first = exercises.write_exercises(NOTEBOOKS_DIR, tmp_path)
    assert [p.name for p in first] == [p.name for p in ASSIGNMENT_SOURCES]
    assert exercises.write_exercises(NOTEBOOKS_DIR, tmp_path) == []
    (tmp_path / SOLVED.name).write_text("stale", encoding="utf-8")
    assert exercises.write_exercises(NOTEBOOKS_DIR, tmp_path) == [tmp_path / SOLVED.name]


@pytest.mark.parametrize("source", ASSIGNMENT_SOURCES, ids=[p.stem for p in ASSIGNMENT_SOURCES])
def test_no_solution_text_is_left_in_the_learner_copy(source):
    copy = nbformat.read(str(EXERCISES_DIR / source.name), as_version=4)
    code_lines = {
        line.strip() for cell in copy.cells if cell.cell_type == "code" for line in cell.source.splitlines()
    }
    text = (EXERCISES_DIR / source.name).read_text(encoding="utf-8")
    assert exercises.BEGIN not in text and exercises.END not in text
    for number, lines in exercises.solution_lines(source).items():
        assert lines, f"exercise {number} has an empty answer"
        leaked = [line for line in lines if line in code_lines]
        assert not leaked, f"exercise {number}'s answer is left in the learner copy: {leaked}"


@pytest.mark.parametrize("source", ASSIGNMENT_SOURCES, ids=[p.stem for p in ASSIGNMENT_SOURCES])
def test_learner_copy_is_clean_and_names_the_project_kernel(source):
    copy = nbformat.read(str(EXERCISES_DIR / source.name), as_version=4)
    assert all(not cell.get("outputs") for cell in copy.cells)
    assert copy.metadata["kernelspec"]["name"] == kernel.KERNEL_NAME
    stubs = [c for c in copy.cells if exercises.exercise_number(c) is not None]
    assert all(exercises.STUB.splitlines()[1] in c.source for c in stubs)


def test_every_exercise_has_a_marked_cell_and_then_its_check_cell():
    cells = nbformat.read(str(SOLVED), as_version=4).cells
    numbers = [exercises.exercise_number(c) for c in cells if exercises.exercise_number(c) is not None]
    assert numbers == sorted(diabetes.ASSIGNMENT.exercises) == list(range(1, 13))
    for index, cell in enumerate(cells):
        number = exercises.exercise_number(cell)
        if number is not None:
            task = next(c for c in reversed(cells[:index]) if c.cell_type == "markdown")
            assert f"### Exercise {number}:" in task.source
            assert cells[index + 1].source == f"diabetes.check({number}, globals())"


def test_an_exercise_cell_without_markers_is_refused(tmp_path):
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "exercise-1", "solution": True}
    path = tmp_path / "c0w1_assignment_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(path))
    with pytest.raises(ValueError, match="exercise 1's cell lacks"):
        exercises.solution_lines(path)


def test_cli_check_passes_on_current_copies_and_names_a_stale_one(tmp_path, capsys):
    assert cli.main(["exercises", "--check"]) == 0
    (tmp_path / SOLVED.name).write_text("stale", encoding="utf-8")
    assert cli.main(["exercises", "--check", "--output", str(tmp_path)]) == 1
    assert f"stale: {tmp_path / SOLVED.name}" in capsys.readouterr().out


def test_cli_grade_refuses_a_notebook_without_exercises(capsys):
    assert cli.main(["grade", str(NOTEBOOKS_DIR / "c2w1_lab_tfdv_census.ipynb")]) == 2
    assert "has no exercises" in capsys.readouterr().err


# --- checks: the machinery on a toy assignment ----------------------------------------------


def _positive(ns):
    if ns["x"] <= 0:
        raise checks.Mistake("x is not positive.", "count from one.")
    return f"x = {ns['x']}."


def _double(ns):
    if ns["y"] != 2 * ns["x"]:
        raise checks.Mistake("y is not twice x.")
    return "y doubles x."


def _crash(ns):
    raise ZeroDivisionError("odd value")


@pytest.fixture()
def toy():
    return checks.Assignment(
        "c0w1_assignment_toy",
        [
            checks.Exercise(1, "a positive x", ("x",), _positive),
            checks.Exercise(2, "y from x", ("y",), _double, needs=(1,), points=2),
            checks.Exercise(3, "a crashing check", ("z",), _crash),
        ],
    )


@pytest.mark.parametrize(
    ("namespace", "number", "status", "fragment"),
    [
        ({}, 1, checks.NOT_DONE, "`x` is not defined"),
        ({}, 2, checks.NOT_DONE, "builds on exercise 1, so do that first"),
        ({"y": 4}, 2, checks.BLOCKED, "needs the results of exercise 1"),
        ({"x": 0}, 1, checks.FAILED, "x is not positive. Hint: count from one."),
        ({"x": 2, "y": 5}, 2, checks.FAILED, "y is not twice x."),
        ({"x": 2, "y": 4}, 2, checks.PASSED, "y doubles x."),
        ({"z": 1}, 3, checks.FAILED, "could not read your result (ZeroDivisionError: odd value)"),
    ],
)
def test_verdicts_name_the_state_of_each_exercise(toy, namespace, number, status, fragment):
    verdict = toy.evaluate(number, namespace)
    assert verdict.status == status and fragment in verdict.message
    assert verdict.earned == (verdict.points if status == checks.PASSED else 0)


def test_a_failing_earlier_exercise_is_named_in_a_later_failure(toy, capsys):
    toy.check(1, {"x": -1})
    later = toy.check(2, {"x": -1, "y": 3})
    assert later.status == checks.FAILED and "Exercise 1 did not pass either" in later.message
    printed = capsys.readouterr().out.splitlines()  # outside IPython the check prints its line
    assert printed == [toy.recorded[1].line(), later.line()] and printed[1].startswith("[FAIL] Exercise 2")


def test_all_passed_names_every_exercise_that_did_not(toy, capsys):
    toy.check(1, {"x": 1})
    with pytest.raises(AssertionError, match=r"(?s)Exercise 2 .*check cell has not run.*Exercise 3"):
        toy.assert_all_passed()
    assert [v.status for v in toy.verdicts()] == [checks.PASSED, checks.NOT_DONE, checks.NOT_DONE]


def test_a_blank_diabetes_notebook_reads_as_not_done_everywhere():
    namespace = {"validate": object()}  # the helper's def survives clearing; its result does not
    verdicts = [diabetes.ASSIGNMENT.evaluate(n, namespace) for n in diabetes.ASSIGNMENT.exercises]
    assert [v.status for v in verdicts] == [checks.NOT_DONE] * 12
    assert all("not done yet" in v.message for v in verdicts)


# --- the grader on synthetic executed notebooks ---------------------------------------------


def _exercise_cell(number, source, error=None):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"grade_id": f"exercise-{number}", "solution": True}
    if error:
        cell.outputs = [nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[])]
    return cell


def _check_cell(verdict):
    cell = nbformat.v4.new_code_cell("toy.check(...)")
    data = {"text/plain": verdict.line(), checks.MIME_TYPE: verdict.to_json()}
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    return cell


def test_grader_reads_stubs_errors_dependencies_and_verdicts(toy, tmp_path):
    stub = exercises.STUB
    cells = [
        _exercise_cell(1, stub, ("NotImplementedError", "")),
        _check_cell(toy.evaluate(1, {})),
        _exercise_cell(2, "y = 2 * x", ("NameError", "name 'x' is not defined")),
        _check_cell(toy.evaluate(2, {})),
        _exercise_cell(3, "z = 1 / 0", ("ZeroDivisionError", "division by zero")),
        _check_cell(toy.evaluate(3, {})),
    ]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    verdicts = exercises.grade_executed(path, toy)
    assert [v.status for v in verdicts] == [checks.NOT_DONE, checks.BLOCKED, checks.FAILED]
    assert "placeholder" in verdicts[0].message
    assert "needs exercise 1" in verdicts[1].message
    assert "raised ZeroDivisionError: division by zero" in verdicts[2].message
    table = exercises.score_table(verdicts)
    header = [part.strip() for part in table.splitlines()[0].split("|")[1:-1]]
    assert header == ["exercise", "title", "points", "result", "message"]
    assert "0/4" in table.splitlines()[-1]


def test_grader_fails_an_exercise_whose_check_never_ran(toy, tmp_path):
    cells = [_exercise_cell(1, "x = 1"), _check_cell(toy.evaluate(1, {"x": 1})), _exercise_cell(2, "y = 2")]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=cells), str(path))
    verdicts = exercises.grade_executed(path, toy)
    assert verdicts[0].passed
    assert verdicts[1].status == checks.FAILED and "check cell did not run" in verdicts[1].message
    assert verdicts[2].status == checks.FAILED and "no exercise cell marked exercise-3" in verdicts[2].message


def test_verdicts_round_trip_through_json():
    verdict = checks.Verdict(4, "t", checks.BLOCKED, "m", 2, 0, (1, 2))
    assert checks.Verdict.from_json(json.loads(json.dumps(verdict.to_json()))) == verdict


def test_grade_refuses_unknown_assignments_and_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="exercises/"):
        exercises.grade(tmp_path / "absent.ipynb", output_dir=tmp_path)
    other = tmp_path / "c2w1_lab_tfdv_census.ipynb"
    other.write_text("{}")
    with pytest.raises(KeyError, match="has no exercises"):
        exercises.grade(other, output_dir=tmp_path)


# --- the grader on real runs ----------------------------------------------------------------


# (assignment, exercises): every assignment's solved notebook and blank copy, graded
GRADED = [
    (DIABETES, 12),
    ("c2w2_assignment_transform_traffic", 10),
    ("c2w3_assignment_pipeline_covertype", 12),
]


@pytest.mark.notebook
@pytest.mark.parametrize(("name", "count"), GRADED)
def test_the_solved_notebook_scores_full_marks(lab_run, name, count):
    result = lab_run(name)
    results = passed_results(result)
    assignment = checks.assignment(name)
    verdicts = exercises.grade_executed(result.notebook, assignment)
    assert [v.status for v in verdicts] == [checks.PASSED] * count
    assert sum(v.earned for v in verdicts) == assignment.total_points == count
    assert results["exercises"] == {str(n): checks.PASSED for n in range(1, count + 1)}


@pytest.mark.notebook
@pytest.mark.parametrize(("name", "count"), GRADED)
def test_the_blank_copy_scores_zero_with_every_exercise_not_done(tmp_path, name, count):
    result = exercises.grade(EXERCISES_DIR / f"{name}.ipynb", output_dir=tmp_path)
    assert result.notebook is not None and result.run_status == "failed"  # it ran to the end, errors and all
    assert [v.status for v in result.verdicts] == [checks.NOT_DONE] * count
    assert all("not done yet" in v.message for v in result.verdicts)
    assert result.score == 0 and not result.full_marks


SEEDED = {
    3: "eval_stats = tfdv.generate_statistics_from_dataframe(train_df, stats_options=stats_options)",
    5: 'tfdv.get_domain(schema, "medical_specialty").value.append("Neurophysiology")\n'
    'tfdv.get_domain(schema, "metformin-rosiglitazone").value.append("Steady")\n'
    "eval_anomalies_fixed = validate(eval_stats, schema)",
    7: "serving_anomalies_relaxed = validate(serving_stats, schema)\n"
    'for feature in ["payer_code", "medical_specialty"]:\n'
    "    tfdv.get_feature(schema, feature).distribution_constraints.min_domain_mass = 0.9",
    9: 'schema.default_environment.append("TRAINING")\nschema.default_environment.append("SERVING")\n'
    'tfdv.get_feature(schema, "readmitted").not_in_environment.append("SERVING")\n'
    "serving_anomalies_env = validate(serving_stats, schema)",
    10: 'tfdv.get_feature(schema, "diabetesMed").drift_comparator.infinity_norm.threshold = 0.03\n'
    'tfdv.get_feature(schema, "payer_code").drift_comparator.infinity_norm.threshold = 0.03',
}
SEEDED_MESSAGES = {
    3: "`eval_stats` describes the training split",  # wrong split passed
    5: "'Steady' went into the domain of metformin-rosiglitazone",  # domain on the wrong feature
    7: "still lists the anomalies from before your change",  # schema changed, not validated again
    9: "still reports readmitted missing: an environment applies only when you name it",
    10: "diabetesMed has a drift comparator",  # threshold on the wrong comparator
}


@pytest.mark.notebook
def test_seeded_mistakes_get_their_specific_message(tmp_path):
    path = learner_notebook(SOLVED, tmp_path / "in" / SOLVED.name, SEEDED)
    result = exercises.grade(path, output_dir=tmp_path / "out")
    by_number = {v.exercise: v for v in result.verdicts}
    for number, fragment in SEEDED_MESSAGES.items():
        assert by_number[number].status == checks.FAILED, by_number[number]
        assert fragment in by_number[number].message, by_number[number].message
    assert all(v.passed for n, v in by_number.items() if n not in SEEDED)
    assert result.score == 12 - len(SEEDED)


@pytest.mark.notebook
def test_a_blank_exercise_blocks_only_the_exercises_that_need_it(tmp_path):
    path = learner_notebook(SOLVED, tmp_path / "in" / SOLVED.name, {4: None})
    result = exercises.grade(path, output_dir=tmp_path / "out")
    statuses = {v.exercise: v.status for v in result.verdicts}
    assert statuses[4] == checks.NOT_DONE
    assert {n for n, s in statuses.items() if s == checks.BLOCKED} == {5, 7, 8, 9, 10}
    assert {n for n, s in statuses.items() if s == checks.PASSED} == {1, 2, 3, 6, 11, 12}
    assert all("needs exercise 4" in v.message for v in result.verdicts if v.status == checks.BLOCKED)
