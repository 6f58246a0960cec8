"""mutmut hooks for `make mutation`: mutate only the functions listed in TARGETS, each with its tests.

tools/mutation/run.py copies this file into a scratch copy of the project, where mutmut reads it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PYTEST = "python -m pytest -x -q -p no:cacheprovider"


def _pytest(files: list[str], options: str = "") -> str:
    """Return a pytest command over the test files that exist (earlier checkouts lack some)."""
    return " ".join([PYTEST, *[f for f in files if Path(f).exists()], options])


# Each mutant's test run must take seconds: tests that start kernels or Beam pipelines are left out,
# except the one Beam test that exercises the analyzer cache.
DATA_TESTS = _pytest(
    ["tests/test_datasets.py", "tests/test_fetch_fallback.py", "tests/test_fetch_records.py"], '-m "not data"'
)
RUNNER_TESTS = _pytest(
    ["tests/test_runner.py", "tests/test_runner_outputs.py"],
    '-m "not notebook" -k "select or discover or raising_line or run_labs or progress_line or '
    "source_index or invalid_results or kernel_from_another or check_kernel or unknown_lab or "
    'progress_bar or two_jobs"',
)
FINGERPRINT_TESTS = _pytest(["tests/test_transform.py"], '-k "fingerprint or cache"')

# file -> (functions to mutate, the tests that must kill their mutants)
TARGETS: dict[str, tuple[frozenset[str], str]] = {
    "src/labs_utils/datasets/fetching.py": (
        frozenset({"_from_mirror", "_fetch_entry", "_data_source", "fetch_best"}),
        DATA_TESTS,
    ),
    "src/labs_utils/datasets/verify.py": (frozenset({"_verify", "check_cached", "install"}), DATA_TESTS),
    "src/labs_utils/runner.py": (
        frozenset({"select", "_check_kernel", "run_labs", "_run_parallel", "_read_results"}),
        RUNNER_TESTS,
    ),
    "src/labs_utils/transform.py": (frozenset({"_fingerprint", "_analyze_with_cache"}), FINGERPRINT_TESTS),
}


@functools.cache
def _function_lines(filename: str) -> dict[int, str]:
    """Map each 0-based line of a file to the top-level function (or class) that holds it."""
    tree = ast.parse(Path(filename).read_text(encoding="utf-8"))
    lines: dict[int, str] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for line in range(node.lineno - 1, node.end_lineno):
                lines[line] = node.name
    return lines


def _target(filename: str) -> tuple[frozenset[str], str] | None:
    return next((t for path, t in TARGETS.items() if filename.endswith(path)), None)


def pre_mutation(context) -> None:
    """Skip mutants outside the chosen functions; run the chosen tests for the rest."""
    target = _target(context.filename)
    if target is None or _function_lines(context.filename).get(context.current_line_index) not in target[0]:
        context.skip = True
        return
    context.config.test_command = target[1]
