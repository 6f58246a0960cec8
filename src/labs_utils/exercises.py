"""Learner copies of the assignments, and grading them.

The solved notebook in ``notebooks/`` is the only source. Each exercise's answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` in a cell whose nbgrader metadata carries
``grade_id: exercise-<n>``. `labs exercises` clears the answers with nbgrader's ``ClearSolutions``
preprocessor into ``exercises/<assignment>.ipynb``; `labs grade` runs a learner's copy headlessly
through the runner (errors allowed, so one failing exercise does not stop the rest) and scores every
exercise from the verdict its check cell left (``labs_utils.checks``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labs_utils import checks, hygiene, runner

__all__ = [
    "BEGIN", "END", "STUB", "Grade", "assignment_notebooks", "default_exercises_dir", "exercise_number",
    "generate", "grade", "grade_executed", "score_table", "solution_lines", "write_exercises",
]  # fmt: skip

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"  # ClearSolutions' stub for Python
GRADE_ID = re.compile(r"^exercise-(\d+)$")
BANNER = """**Your copy of this assignment.** Each exercise cell holds `# YOUR CODE HERE` and
`raise NotImplementedError()`: replace those two lines with your code, run the cell, then run the check cell
below it. A check never shows the answer; it tells you what is wrong and where to look. To score the whole
notebook, run `labs grade exercises/{name}.ipynb`: it prints points and a message per exercise.

This file is generated from the solved `notebooks/{name}.ipynb` by `labs exercises` (`make exercises`), which
overwrites it: keep your work under another name before you regenerate."""


def default_exercises_dir() -> Path:
    """Return the checkout's exercises/ folder (beside notebooks/)."""
    return runner.default_notebooks_dir().parent / "exercises"


def exercise_number(cell: Mapping[str, Any]) -> int | None:
    """Return the exercise number in a cell's nbgrader ``grade_id`` (``exercise-<n>``), else None."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
    match = GRADE_ID.match(grade_id)
    return int(match.group(1)) if match else None


def assignment_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """Return the lab notebooks that hold exercise cells, in course order."""
    import nbformat

    found = []
    for lab in runner.discover(notebooks_dir):
        cells = nbformat.read(str(lab.path), as_version=4).cells
        if any(exercise_number(cell) is not None for cell in cells):
            found.append(lab.path)
    return found


def solution_lines(source: str | Path) -> dict[int, list[str]]:
    """Return, per exercise, the stripped code lines between its solution markers.

    Raises:
        ValueError: an exercise cell lacks its markers, or an exercise number repeats.
    """
    import nbformat

    lines: dict[int, list[str]] = {}
    for cell in nbformat.read(str(source), as_version=4).cells:
        number = exercise_number(cell)
        if number is None:
            continue
        if number in lines:
            raise ValueError(f"{Path(source).name}: exercise {number} is marked on two cells")
        text = cell.source
        if BEGIN not in text or END not in text:
            raise ValueError(f"{Path(source).name}: exercise {number}'s cell lacks {BEGIN!r} / {END!r}")
        region = text.split(BEGIN, 1)[1].split(END, 1)[0]
        lines[number] = [line.strip() for line in region.splitlines() if line.strip()]
    return lines


def generate(source: str | Path) -> str:
    """Return the learner copy of a solved notebook as notebook JSON text (answers cleared, no outputs)."""
    import nbformat
    from nbgrader.preprocessors import ClearSolutions

    source = Path(source)
    solution_lines(source)  # refuses unmarked exercise cells before anything is written
    nb = nbformat.read(str(source), as_version=4)
    clear = ClearSolutions(code_stub={"python": STUB}, enforce_metadata=True)
    nb, _ = clear.preprocess(nb, {})
    banner = nbformat.v4.new_markdown_cell(BANNER.format(name=source.stem))
    banner.id = "learner-copy"
    nb.cells.insert(1, banner)
    text = nbformat.writes(nb)
    return hygiene.strip_text(text)


def write_exercises(
    notebooks_dir: str | Path | None = None, exercises_dir: str | Path | None = None
) -> list[Path]:
    """Return the learner copies (re)written because they differ from a fresh generation."""
    out = Path(exercises_dir) if exercises_dir is not None else default_exercises_dir()
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for source in assignment_notebooks(notebooks_dir):
        target = out / source.name
        text = generate(source)
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            changed.append(target)
    return changed


# --- grading --------------------------------------------------------------------------------


@dataclass
class Grade:
    """The score of one learner notebook: a verdict per exercise, and where the executed copy is."""

    lab: str
    verdicts: list[checks.Verdict]
    seconds: float
    notebook: Path | None
    run_status: str

    @property
    def score(self) -> int:
        """Return the points earned."""
        return sum(v.earned for v in self.verdicts)

    @property
    def total(self) -> int:
        """Return the points available."""
        return sum(v.points for v in self.verdicts)

    @property
    def full_marks(self) -> bool:
        """Return whether every exercise passed."""
        return self.score == self.total and all(v.passed for v in self.verdicts)


def grade_executed(notebook: str | Path, assignment: checks.Assignment) -> list[checks.Verdict]:
    """Return each exercise's verdict from an executed notebook: its cell, its error and its check.

    An exercise cell that still holds the stub is "not done"; a filled cell that defined nothing is
    "blocked" when an exercise it needs is missing, else "failed" with the cell's error; otherwise the
    check cell's verdict stands. An exercise without a verdict had its check cell never run.
    """
    import nbformat

    cells = nbformat.read(str(notebook), as_version=4).cells
    recorded = checks.verdicts_in_notebook(cells)
    exercise_cells = {exercise_number(cell): cell for cell in cells if exercise_number(cell) is not None}
    final = []
    for number in sorted(assignment.exercises):
        cell = exercise_cells.get(number)
        verdict = recorded.get(number)
        if cell is None:
            final.append(
                _failed(assignment, number, f"no exercise cell marked exercise-{number}; restore it.")
            )
        elif _is_stub(cell.source):
            final.append(assignment.unchecked(number, "not done yet: the cell still holds the placeholder."))
        elif verdict is None:
            final.append(
                _failed(assignment, number, "its check cell did not run: the run stopped before it.")
            )
        elif verdict.status == checks.NOT_DONE:
            final.append(_unfinished(assignment, number, verdict, _cell_error(cell)))
        else:
            final.append(verdict)
    return final


def grade(
    path: str | Path,
    *,
    output_dir: str | Path,
    quick: bool = True,
    timeout: float | None = 600,
) -> Grade:
    """Return the grade of a learner notebook after running it headlessly into ``output_dir``.

    Raises:
        KeyError: the notebook's name is no assignment with exercises.
        FileNotFoundError: the notebook does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; the learner copies are in exercises/")
    assignment = checks.assignment(path.stem)
    lab = runner.Lab(path.stem, path.resolve(), hygiene.notebook_title(path))
    start = time.perf_counter()
    result = runner.run_lab(
        lab, output_dir=output_dir, quick=quick, timeout=timeout, html=False, allow_errors=True
    )
    seconds = round(time.perf_counter() - start, 1)
    verdicts = (
        grade_executed(result.notebook, assignment) if result.notebook else _all_failed(assignment, result)
    )
    return Grade(path.stem, verdicts, seconds, result.notebook, result.status)


def score_table(verdicts: Sequence[checks.Verdict]) -> str:
    """Return a markdown table: exercise, title, points, result and message."""
    from tabulate import tabulate

    rows = [(v.exercise, v.title, f"{v.earned}/{v.points}", v.status, v.message) for v in verdicts]
    total = f"{sum(v.earned for v in verdicts)}/{sum(v.points for v in verdicts)}"
    rows.append(("", "total", total, "", ""))
    return tabulate(rows, headers=["exercise", "title", "points", "result", "message"], tablefmt="github")


def _is_stub(source: str) -> bool:
    """Tell whether an exercise cell still holds ClearSolutions' stub."""
    lines = [line.strip() for line in source.splitlines()]
    return all(stub.strip() in lines for stub in STUB.splitlines())


def _cell_error(cell: Mapping[str, Any]) -> str | None:
    """Return "<ename>: <evalue>" of the error a cell raised, if any."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return hygiene.first_line(f"{output.get('ename')}: {output.get('evalue')}")
    return None


def _unfinished(
    assignment: checks.Assignment, number: int, verdict: checks.Verdict, error: str | None
) -> checks.Verdict:
    """Return the verdict of a filled exercise cell that defined nothing."""
    if verdict.unmet:
        needed = " and ".join(str(n) for n in verdict.unmet)
        message = f"your cell could not run: it needs exercise {needed}, which is not done yet."
        exercise = assignment.exercises[number]
        return checks.Verdict(
            number, exercise.title, checks.BLOCKED, message, exercise.points, 0, verdict.unmet
        )
    if error:
        return _failed(assignment, number, f"your cell raised {error}.")
    return _failed(assignment, number, verdict.message)


def _failed(assignment: checks.Assignment, number: int, message: str) -> checks.Verdict:
    """Return a FAILED verdict with ``message``."""
    exercise = assignment.exercises[number]
    return checks.Verdict(number, exercise.title, checks.FAILED, message, exercise.points, 0)


def _all_failed(assignment: checks.Assignment, result: runner.LabResult) -> list[checks.Verdict]:
    """Return FAILED verdicts for a run that left no executed notebook."""
    return [
        _failed(assignment, n, f"the notebook did not run: {result.error}")
        for n in sorted(assignment.exercises)
    ]
