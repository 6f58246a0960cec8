"""Repository hygiene: clean notebooks, and pins that agree in one place."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from labs_utils import runner

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


def lock_pins() -> dict[str, str]:
    """Map each locked distribution to its pinned version."""
    assert LOCK.exists(), f"requirements.lock is missing; {REGENERATE}"
    pins = {}
    for line in requirement_lines(LOCK):
        name, sep, version = line.partition("==")
        assert sep and version.strip(), f"requirements.lock: {line!r} is not pinned with ==; {REGENERATE}"
        pins[normalise(name.strip())] = version.strip()
    return pins


def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks in {REPO_ROOT / 'notebooks'}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_clean(path):
    problems = runner.check_notebook_hygiene(path)
    assert not problems, "\n".join(problems)


def test_notebooks_follow_the_naming_scheme():
    labs = {lab.path.name for lab in runner.discover(REPO_ROOT / "notebooks")}
    strays = [p.name for p in NOTEBOOKS if p.name not in labs]
    scheme = "c<course>w<week>_<lab|assignment>_<topic>.ipynb (beyond the course: c<course>x_lab_<topic>)"
    assert not strays, f"rename {strays} to {scheme}"


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
    spec = importlib.util.spec_from_file_location(
        "write_environment_yml", REPO_ROOT / "tools" / "write_environment_yml.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render(LOCK.read_text().splitlines())
    assert env_file.read_text() == expected, f"environment.yml is out of date; {REGENERATE}"
