"""mutmut hooks for `make mutation`: mutate only the functions listed in TARGETS, each with its tests.

tools/mutation/run.py copies this file into a scratch copy of the project, where mutmut reads it.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PYTEST = "python -m pytest -x -q -p no:cacheprovider"
# Tests that start kernels are left out: each mutant run must take seconds, not minutes.
KERNEL_TESTS = (
    "statuses_and_order or failure_names or parameters_are_injected or executed_notebooks or "
    "data_source_comes or one_progress_line or summary_table_and_files or timeout_is_reported or "
    "cli_run_in_parallel or cli_run_passes or strip_outputs_cleans"
)


def _pytest(files: list[str], options: str = "") -> str:
    """Return a pytest command over the test files that exist (earlier checkouts lack some)."""
    return " ".join([PYTEST, *[f for f in files if Path(f).exists()], options])


DATA_TESTS = _pytest(["tests/test_datasets.py", "tests/test_fetch_fallback.py"], '-m "not data"')
RUNNER_TESTS = _pytest(
    ["tests/test_runner.py", "tests/test_runner_outputs.py", "tests/test_cli.py"],
    f'-m "not notebook" -k "not ({KERNEL_TESTS})"',
)
TRANSFORM_TESTS = _pytest(["tests/test_transform.py"], '-k "cache or fingerprint"')

# file -> (functions to mutate, the tests that must kill their mutants)
TARGETS: dict[str, tuple[frozenset[str], str]] = {
    "src/labs_utils/datasets/fetching.py": (
        frozenset(
            {"_mirror", "_from_mirror", "_fetch_entry", "_data_source", "fetch", "fetch_best", "fetch_many"}
        ),
        DATA_TESTS,
    ),
    "src/labs_utils/datasets/verify.py": (
        frozenset(
            {"_hashes", "_verify", "_sidecar_trusted", "_record", "install", "check_cached", "temp_path"}
        ),
        DATA_TESTS,
    ),
    "src/labs_utils/runner.py": (
        frozenset(
            {"discover", "select", "_check_kernel", "run_labs", "_run_parallel", "_progress_line",
             "_source_index", "_read_results"}
        ),
        RUNNER_TESTS,
    ),
    "src/labs_utils/transform.py": (frozenset({"_fingerprint", "_analyze_with_cache"}), TRANSFORM_TESTS),
}  # fmt: skip


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
