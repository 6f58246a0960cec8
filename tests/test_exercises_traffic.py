"""The traffic assignment's exercises: marked cells, checks that name mistakes, and the grader on real runs.

The machinery (generation, grading, verdicts) is tested in test_exercises.py; here the traffic checks
themselves. The notebook tests reuse the session's quick run of the solved notebook (``lab_run``) and
grade two learner copies: the blank one, and one with five seeded mistakes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from helpers import NOTEBOOKS_DIR, REPO_ROOT, learner_notebook

from labs_utils import checks, exercises
from labs_utils.checks import traffic

TRAFFIC = "c2w2_assignment_transform_traffic"
SOLVED = NOTEBOOKS_DIR / f"{TRAFFIC}.ipynb"
LEARNER_COPY = REPO_ROOT / "exercises" / f"{TRAFFIC}.ipynb"
NUMBERS = list(range(1, 11))


def _module_cells(notebook: Path) -> list[str]:
    """Return the bodies of the cells that write or append to the transform module file."""
    cells = nbformat.read(str(notebook), as_version=4).cells
    return [
        c.source.split("\n", 1)[1]
        for c in cells
        if c.source.startswith("%%writefile") and "{module_file}" in c.source
    ]


def test_every_exercise_has_a_marked_cell_and_then_its_check_cell():
    cells = nbformat.read(str(SOLVED), as_version=4).cells
    numbers = [exercises.exercise_number(c) for c in cells if exercises.exercise_number(c) is not None]
    assert numbers == sorted(traffic.ASSIGNMENT.exercises) == NUMBERS
    for index, cell in enumerate(cells):
        number = exercises.exercise_number(cell)
        if number is not None:
            task = next(c for c in reversed(cells[:index]) if c.cell_type == "markdown")
            assert f"### Exercise {number}:" in task.source
            assert cells[index + 1].source == f"traffic.check({number}, globals())"


def test_each_helper_exercise_appends_the_helper_its_check_reads():
    cells = nbformat.read(str(SOLVED), as_version=4).cells
    for number, helper in traffic.HELPERS.items():
        cell = next(c for c in cells if exercises.exercise_number(c) == number)
        assert cell.source.startswith("%%writefile -a {module_file}\n")
        assert f"def {helper}(inputs):" in cell.source
        assert re.search(
            rf"^\s+outputs\.update\({helper}\(inputs\)\)$", "\n".join(_module_cells(SOLVED)), re.M
        )


def test_a_blank_copy_reads_as_not_done_everywhere(tmp_path):
    """The learner copy's module file (placeholders in every helper) gives no helper to check."""
    module_file = tmp_path / "traffic_transform.py"
    module_file.write_text("\n".join(_module_cells(LEARNER_COPY)), encoding="utf-8")
    assert traffic.module_helpers(module_file) == {}
    namespace = traffic._with_helpers({"module_file": module_file})
    verdicts = [traffic.ASSIGNMENT.evaluate(n, namespace) for n in traffic.ASSIGNMENT.exercises]
    assert [v.status for v in verdicts] == [checks.NOT_DONE] * 10
    assert all("not done yet" in v.message for v in verdicts)
    assert "`scale_z_scores` is not defined" in verdicts[4].message
    assert "builds on exercises 1, 3, 5, 6, 7, 8 and 9" in verdicts[9].message


def test_a_helper_counts_as_written_only_without_the_placeholder(tmp_path):
    stub = "def scale_z_scores(inputs):\n    raise NotImplementedError()\n"
    module_file = tmp_path / "m.py"
    module_file.write_text(stub, encoding="utf-8")
    assert traffic.module_helpers(module_file) == {}
    module_file.write_text(
        "def preprocessing_fn(inputs):\n    return {}\n\n\n" + stub.replace("raise", "return")
    )
    assert list(traffic.module_helpers(module_file)) == ["scale_z_scores"]
    assert traffic.module_helpers(tmp_path / "absent.py") == {}


def test_a_module_file_that_does_not_parse_fails_the_written_helpers_with_the_error(tmp_path):
    module_file = tmp_path / "traffic_transform.py"
    module_file.write_text(
        "def scale_z_scores(inputs):\n    return {key: tft.scale_to_z_score(inputs[key]]}\n\n\n"
        "def label_busy_hours(inputs):\n    raise NotImplementedError()\n",
        encoding="utf-8",
    )
    namespace = traffic._with_helpers({"module_file": module_file})
    z_scores, label = (traffic.ASSIGNMENT.evaluate(n, namespace) for n in (5, 9))
    assert z_scores.status == checks.FAILED
    assert "the module file does not load: SyntaxError" in z_scores.message and "line 2" in z_scores.message
    assert label.status == checks.NOT_DONE  # its placeholder is still in place


# --- the grader on real runs ----------------------------------------------------------------


SEEDED = {
    3: "schema_gen = pipeline.SchemaGen(statistics, exclude_splits=['eval'])\ncontext.run(schema_gen)",
    5: "outputs[_transformed_name(key)] = tft.scale_to_0_1(inputs[key])",
    7: "outputs[_transformed_name(key)] = tft.compute_and_apply_vocabulary(\n"
    "    inputs[key], top_k=_VOCAB_SIZE, vocab_filename=key)",
    9: "volume = tf.cast(inputs[_VOLUME_KEY], tf.float32)\n"
    "label = tf.cast(tf.greater_equal(volume, tft.mean(volume)), tf.int64)",
    10: "transform_component = pipeline.Transform(examples, schema, module_file=module_file,\n"
    "                                         analyze_split='eval')\ncontext.run(transform_component)",
}
SEEDED_MESSAGES = {
    3: "`schema_gen` learns from train only",  # a split left out of a component
    5: "runs from 0 to 1: that scales by the minimum and maximum, not to a z-score",  # wrong tft function
    7: "the vocabulary has no OOV buckets",
    9: "hours exactly at the mean get label 1",  # >= instead of >
    10: "`transform_component` analyzes the eval split",  # the wrong split analyzed
}


@pytest.mark.notebook
def test_seeded_mistakes_get_their_specific_message(tmp_path):
    path = learner_notebook(SOLVED, tmp_path / "in" / SOLVED.name, SEEDED)
    result = exercises.grade(path, output_dir=tmp_path / "out")
    by_number = {v.exercise: v for v in result.verdicts}
    for number, fragment in SEEDED_MESSAGES.items():
        assert by_number[number].status == checks.FAILED, by_number[number]
        assert fragment in by_number[number].message, by_number[number].message
        assert "Hint:" in by_number[number].message
    assert all(v.passed for n, v in by_number.items() if n not in SEEDED), result.verdicts
    assert result.score == 10 - len(SEEDED)
