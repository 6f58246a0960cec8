"""Repository hygiene: clean notebooks, and pins that agree in one place."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from labs_utils import hygiene, runner

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
LOCK = REPO_ROOT / "requirements.lock"
REGENERATE = "run `make lock` (or `python tools/write_environment_yml.py` after editing the lock)"


def requirement_lines(path: Path) -> list[str]:
    """Return the requirement lines of a pip requirements file (comments and blanks dropped)."""
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return [ln for ln in lines if ln]


def normalise(name: str) -> str:
    """Normalise a distribution name the PEP 503 way, extras dropped."""
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()


def environment_writer():
    """Return tools/write_environment_yml.py loaded as a module (it also parses the lock)."""
    spec = importlib.util.spec_from_file_location(
        "write_environment_yml", REPO_ROOT / "tools" / "write_environment_yml.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lock_pins() -> dict[str, str]:
    """Map each locked distribution to its pinned version, checking each carries a hash."""
    assert LOCK.exists(), f"requirements.lock is missing; {REGENERATE}"
    pins = {}
    for requirement, hashes in environment_writer().locked_requirements(LOCK.read_text().splitlines()):
        name, sep, version = requirement.partition("==")
        assert sep and version.strip(), (
            f"requirements.lock: {requirement!r} is not pinned with ==; {REGENERATE}"
        )
        assert hashes, f"requirements.lock: {requirement!r} has no --hash; {REGENERATE}"
        pins[normalise(name.strip())] = version.strip()
    return pins


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks in {REPO_ROOT / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    problems = hygiene.check_notebook_hygiene(path)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_puts_the_lesson_first_and_the_checks_last(path):
    problems = hygiene.lesson_problems(path)
    assert not problems, "\n".join(problems)


def test_a_crowded_lesson_section_and_a_missing_check_section_are_named(tmp_path):
    def cell(kind: str, text: str) -> dict:
        return {
            "cell_type": kind,
            "metadata": {},
            "source": text,
            **({"outputs": []} if kind == "code" else {}),
        }

    crowded = tmp_path / "crowded.ipynb"
    cells = [
        cell("markdown", "# Lab\n## Load"),
        cell("code", "assert a\nassert b"),
        cell("code", "  assert c"),
    ]
    crowded.write_text(
        json.dumps({"cells": [*cells, cell("markdown", "## Check this run"), cell("code", "assert d")]})
    )
    assert hygiene.lesson_problems(crowded) == [
        "crowded.ipynb: section 'Load' has 3 asserts; keep at most 2 that state the lesson and move the rest "
        "to the 'Check this run' section or into the tests"
    ]
    (tmp_path / "no_checks.ipynb").write_text(json.dumps({"cells": cells[:2]}))
    assert hygiene.lesson_problems(tmp_path / "no_checks.ipynb") == [
        "no_checks.ipynb: no 'Check this run' section; end the lesson with one that writes results.json"
    ]


def test_notebooks_follow_the_naming_scheme():
    labs = {lab.path.name for lab in runner.discover(REPO_ROOT / "notebooks")}
    strays = [p.name for p in NOTEBOOKS if p.name not in labs]
    expected = "c<course>w<week>_<lab|assignment>_<topic>.ipynb or c<course>x_lab_<topic>.ipynb"
    assert not strays, f"rename {strays} to {expected}"


def test_lock_pins_every_package():
    assert len(lock_pins()) > 0


def test_lock_keeps_the_stack_pins_of_requirements_in():
    pins = lock_pins()
    for line in requirement_lines(REPO_ROOT / "requirements.in"):
        if "==" not in line:
            continue
        name, _, version = line.partition("==")
        locked = pins.get(normalise(name.strip()))
        assert locked == version.strip(), (
            f"requirements.in pins {line!r} but requirements.lock has {locked!r}; {REGENERATE}"
        )


def test_environment_yml_matches_the_lock():
    env_file = REPO_ROOT / "environment.yml"
    assert env_file.exists(), f"environment.yml is missing; {REGENERATE}"
    expected = environment_writer().render(LOCK.read_text().splitlines())
    assert env_file.read_text() == expected, f"environment.yml is out of date; {REGENERATE}"
