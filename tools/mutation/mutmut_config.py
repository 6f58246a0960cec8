"""mutmut hooks for `make mutation`: mutate only the functions listed in TARGETS, each with its tests.

tools/mutation/run.py copies this file into a scratch copy of the project, where mutmut reads it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

# A mutant that deadlocks a test hangs mutmut 2.5 for good when mutmut's own timeout (10 x the
# baseline) kills only the direct child: `timeout` ends the tests first, well inside that limit.
PYTEST = "python -m pytest -x -q -p no:cacheprovider"


def _pytest(files: list[str], options: str = "", seconds: int = 60) -> str:
    """Return a pytest command over the test files that exist (earlier checkouts lack some).

    mutmut 2.5 counts only exit code 1 as "tests failed" (a killed run exits 137, a collection error
    2), so any failure is reported as 1.
    """
    limit = f"timeout --foreground -s KILL {seconds}"
    command = " ".join([limit, PYTEST, *[f for f in files if Path(f).exists()], options])
    return f"sh -c '{command} || exit 1'"


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


def _transform_tests(test: str) -> str:
    """Return the pytest command for one transform test, or for the older cache test when it is absent."""
    source = Path("tests/test_transform.py")
    present = source.exists() and f"def {test}(" in source.read_text(encoding="utf-8")
    return _pytest([str(source)], f'-k "{test if present else "cache"}"', seconds=600)


# Per function: the one Beam test of the analyzer cache is slow, so the fingerprint gets its own.
TRANSFORM_TESTS = {
    "_fingerprint": _transform_tests("test_fingerprints_change_with_the_content"),
    "_analyze_with_cache": _transform_tests("test_the_analyzer_cache_is_keyed_by_the_data_and_read_back"),
}

# file -> (functions to mutate, the tests that must kill their mutants; TRANSFORM_TESTS narrows them)
TARGETS: dict[str, tuple[frozenset[str], str]] = {
    "src/labs_utils/datasets/fetching.py": (
        frozenset({"_from_mirror", "_fetch_entry", "_data_source", "fetch_best"}),
        DATA_TESTS,
    ),
    "src/labs_utils/datasets/verify.py": (frozenset({"_verify", "check_cached", "install"}), DATA_TESTS),
    "src/labs_utils/discovery.py": (frozenset({"select"}), RUNNER_TESTS),
    "src/labs_utils/kernel_runs.py": (frozenset({"check_kernel"}), RUNNER_TESTS),
    "src/labs_utils/runner.py": (frozenset({"run_labs", "_run_parallel"}), RUNNER_TESTS),
    "src/labs_utils/execution.py": (frozenset({"_read_results"}), RUNNER_TESTS),
    "src/labs_utils/transform.py": (frozenset(TRANSFORM_TESTS), TRANSFORM_TESTS["_analyze_with_cache"]),
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
    function = _function_lines(context.filename)[context.current_line_index]
    context.config.test_command = TRANSFORM_TESTS.get(function, target[1])
