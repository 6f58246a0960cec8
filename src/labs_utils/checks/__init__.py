"""Exercise checks: instant feedback after each exercise, and the verdicts `labs grade` scores.

An assignment's solved notebook is the single source: each answer sits between ``### BEGIN SOLUTION``
and ``### END SOLUTION`` in a cell whose nbgrader metadata names the exercise, and `labs exercises`
clears the answers into ``exercises/``. After each exercise a check cell calls
``<assignment>.check(n, globals())``. It prints one line: passed; what is wrong with a hint (never the
answer); or "not done yet". The verdict also travels as JSON in the cell's output (``MIME_TYPE``),
where the grader reads it. The assignment's own "Check this run" asserts the same verdicts.

A check takes the notebook's namespace, not the variables themselves, so a cleared exercise (whose
cell stops at ``raise NotImplementedError()`` and defines nothing) reads as "not done yet" instead
of a ``NameError`` in the check cell.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "ASSIGNMENTS", "BLOCKED", "FAILED", "MIME_TYPE", "NOT_DONE", "PASSED", "Assignment", "Exercise",
    "Mistake", "Verdict", "assignment", "verdicts_in_notebook",
]  # fmt: skip

MIME_TYPE = "application/vnd.mlops-data-labs.verdict+json"
PASSED, FAILED, NOT_DONE, BLOCKED = "passed", "failed", "not done", "blocked"
MARKS = {PASSED: "PASS", FAILED: "FAIL", NOT_DONE: "TODO", BLOCKED: "WAIT"}
# Assignments with exercises: lab name -> module defining ``ASSIGNMENT``.
ASSIGNMENTS = {
    "c2w1_assignment_validation_diabetes": "labs_utils.checks.diabetes",
    "c2w2_assignment_transform_traffic": "labs_utils.checks.traffic",
    "c2w3_assignment_pipeline_covertype": "labs_utils.checks.covertype",
}


class Mistake(Exception):
    """A recognised learner mistake: what is wrong, and a hint that points the way without the answer."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint


@dataclass(frozen=True)
class Verdict:
    """The outcome of one exercise check; ``unmet`` lists earlier exercises it still needs."""

    exercise: int
    title: str
    status: str
    message: str
    points: int
    earned: int
    unmet: tuple[int, ...] = ()

    @property
    def passed(self) -> bool:
        """Return whether the exercise passed."""
        return self.status == PASSED

    def line(self) -> str:
        """Return the one line a check cell prints."""
        return f"[{MARKS[self.status]}] Exercise {self.exercise} ({self.title}): {self.message}"

    def to_json(self) -> dict[str, Any]:
        """Return the verdict as a JSON-ready dict."""
        return {**asdict(self), "unmet": list(self.unmet)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Verdict:
        """Return a verdict from ``to_json`` output."""
        return cls(**{**data, "unmet": tuple(data.get("unmet", ()))})


@dataclass(frozen=True)
class Exercise:
    """One exercise: the names its cell defines, the earlier exercises it needs, and its check.

    ``check(namespace)`` returns the pass message or raises ``Mistake``.
    """

    number: int
    title: str
    defines: tuple[str, ...]
    check: Callable[[Mapping[str, Any]], str]
    needs: tuple[int, ...] = ()
    points: int = 1


class Assignment:
    """An assignment's exercises and the verdicts its check cells recorded in this kernel."""

    def __init__(self, lab: str, exercises: Sequence[Exercise]) -> None:
        self.lab = lab
        self.exercises = {exercise.number: exercise for exercise in exercises}
        self.recorded: dict[int, Verdict] = {}

    @property
    def total_points(self) -> int:
        """Return the points of all exercises together."""
        return sum(exercise.points for exercise in self.exercises.values())

    def evaluate(self, number: int, namespace: Mapping[str, Any]) -> Verdict:
        """Return exercise ``number``'s verdict on ``namespace`` (prints and records nothing)."""
        exercise = self.exercises[number]
        unmet = tuple(n for n in exercise.needs if not self._defined(n, namespace))

        def verdict(status: str, message: str) -> Verdict:
            earned = exercise.points if status == PASSED else 0
            return Verdict(number, exercise.title, status, message, exercise.points, earned, unmet)

        missing = [name for name in exercise.defines if name not in namespace]
        if missing:
            message = (
                f"not done yet: {_names(missing)} not defined. Replace `raise NotImplementedError()` in "
                "the exercise cell with your code, run it, then run this check."
            )
            if unmet:
                those = "that" if len(unmet) == 1 else "those"
                message += f" It builds on {_exercises(unmet)}, so do {those} first."
            return verdict(NOT_DONE, message)
        if unmet:
            return verdict(BLOCKED, f"it needs the results of {_exercises(unmet)} first.")
        try:
            return verdict(PASSED, exercise.check(namespace))
        except Mistake as mistake:
            message = mistake.what + (f" Hint: {mistake.hint}" if mistake.hint else "")
            failing = [n for n in exercise.needs if n in self.recorded and not self.recorded[n].passed]
            if failing:
                message += f" ({_exercises(failing).capitalize()} did not pass either; fix that first.)"
            return verdict(FAILED, message)
        except NotImplementedError:
            return verdict(BLOCKED, "it calls code an earlier exercise has not written yet.")
        except Exception as error:  # noqa: BLE001 - a learner's odd value must not crash the check cell
            return verdict(FAILED, f"the check could not read your result ({type(error).__name__}: {error}).")

    def check(self, number: int, namespace: Mapping[str, Any]) -> Verdict:
        """Return exercise ``number``'s verdict after showing its line and recording it for this run."""
        result = self.evaluate(number, namespace)
        self.recorded[number] = result
        _show(result)
        return result

    def verdicts(self) -> list[Verdict]:
        """Return the recorded verdict of every exercise in order (NOT_DONE where no check ran)."""
        return [self.recorded.get(n) or self.unchecked(n) for n in sorted(self.exercises)]

    def unchecked(self, number: int, message: str = "its check cell has not run.") -> Verdict:
        """Return a NOT_DONE verdict for an exercise whose check did not run."""
        exercise = self.exercises[number]
        return Verdict(number, exercise.title, NOT_DONE, message, exercise.points, 0)

    def assert_all_passed(self) -> None:
        """Raise AssertionError naming every exercise whose recorded check did not pass."""
        failing = [v.line() for v in self.verdicts() if not v.passed]
        assert not failing, "exercises not passed:\n" + "\n".join(failing)

    def _defined(self, number: int, namespace: Mapping[str, Any]) -> bool:
        """Tell whether exercise ``number``'s names are all in the namespace."""
        return all(name in namespace for name in self.exercises[number].defines)


def assignment(lab: str) -> Assignment:
    """Return the ``Assignment`` of lab ``lab`` (KeyError names the labs that have exercises)."""
    if lab not in ASSIGNMENTS:
        raise KeyError(f"{lab!r} has no exercises; assignments with exercises: {sorted(ASSIGNMENTS)}")
    return importlib.import_module(ASSIGNMENTS[lab]).ASSIGNMENT


def verdicts_in_notebook(cells: Iterable[Mapping[str, Any]]) -> dict[int, Verdict]:
    """Return the last verdict each exercise's check cell left in an executed notebook's outputs."""
    found: dict[int, Verdict] = {}
    for cell in cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {}).get(MIME_TYPE)
            if data:
                verdict = Verdict.from_json(data)
                found[verdict.exercise] = verdict
    return found


def _show(verdict: Verdict) -> None:
    """Display the verdict's line, with the verdict as JSON for the grader, or print the line."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with the kernel
        print(verdict.line())
        return
    if get_ipython() is None:
        print(verdict.line())
        return
    display({"text/plain": verdict.line(), MIME_TYPE: verdict.to_json()}, raw=True)


def _names(names: Sequence[str]) -> str:
    """Return names as `a`, `b` and `c` plus the right verb."""
    quoted = [f"`{name}`" for name in names]
    text = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return text + (" is" if len(quoted) == 1 else " are")


def _exercises(numbers: Sequence[int]) -> str:
    """Return 'exercise 2' or 'exercises 2 and 3'."""
    if len(numbers) == 1:
        return f"exercise {numbers[0]}"
    return "exercises " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
