"""`make mutation`: run mutmut over the fetch/verify code, the runner and the transform cache.

Works in a scratch copy (build/mutation/project) so the checkout is never left mutated, and
writes build/mutation/report.md: mutants killed, survived and timed out per file, and every
survivor's diff. mutmut itself lives in its own venv (build/mutmut), not in the project's.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_project(dest: Path, tests_from: str | None) -> None:
    """Copy the checkout to `dest` (no venv, runs, git data or caches) with the mutmut hooks.

    With `tests_from`, tests/ comes from that git revision instead (to measure older tests).
    """
    shutil.rmtree(dest, ignore_errors=True)
    ignore = shutil.ignore_patterns(".venv", "runs", ".git", "build", "__pycache__", ".pytest_cache", "cache")
    shutil.copytree(ROOT, dest, ignore=ignore)
    shutil.copy(Path(__file__).parent / "mutmut_config.py", dest / "mutmut_config.py")
    for path in TARGET_FILES:
        _parso_friendly(dest / path)
    if tests_from:
        shutil.rmtree(dest / "tests")
        archive = subprocess.run(
            ["git", "archive", tests_from, "tests"], cwd=ROOT, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)


TARGET_FILES = (
    "src/labs_utils/datasets/fetching.py",
    "src/labs_utils/datasets/verify.py",
    "src/labs_utils/discovery.py",
    "src/labs_utils/kernel_runs.py",
    "src/labs_utils/runner.py",
    "src/labs_utils/execution.py",
    "src/labs_utils/transform.py",
)


def _parso_friendly(path: Path) -> None:
    """Rewrite `with (a as x, b,):` (Python 3.10) as `with a as x, b:`, which mutmut's parser reads."""
    source = path.read_text(encoding="utf-8")
    pattern = re.compile(r"with \(\n((?:\s+.+,\n)+)\s+\):")
    joined = pattern.sub(
        lambda m: "with " + ", ".join(x.strip().rstrip(",") for x in m[1].splitlines()) + ":", source
    )
    path.write_text(joined, encoding="utf-8")


def _check_unmutated(project: Path) -> None:
    """Refuse to reuse a scratch copy whose sources an interrupted mutmut run left mutated."""
    for path in TARGET_FILES:
        expected = project / f"{path}.expected"
        shutil.copy(ROOT / path, expected)
        _parso_friendly(expected)
        same = expected.read_bytes() == (project / path).read_bytes()
        expected.unlink()
        if not same:
            raise SystemExit(f"{project / path} differs from the checkout (an interrupted run?); run afresh")


def mutmut(mutmut_bin: str, args: list[str], project: Path) -> subprocess.CompletedProcess:
    """Run mutmut in `project` with the project's Python first on PATH and its src/ importable."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(project / "src"),
        "TZ": "UTC",
    }
    return subprocess.run([mutmut_bin, *args], cwd=project, env=env, capture_output=True, text=True)


def _ids(results: str, status: str) -> list[int]:
    """Return the mutant ids `mutmut results` lists under `status` ("4-6, 9" -> [4, 5, 6, 9])."""
    match = re.search(rf"^{status}\b.*?\n(.*?)(?=^[A-Z][a-z].*\(\d+\)$|\Z)", results, re.M | re.S)
    if match is None:
        return []
    ids: list[int] = []
    for line in match.group(1).splitlines():
        if line.startswith("----") or not line.strip():
            continue
        for part in line.split(","):
            low, _, high = part.strip().partition("-")
            ids += range(int(low), int(high or low) + 1)
    return ids


def _survivors(cache: Path) -> list[tuple[int, str]]:
    """Return (mutant id, source file) of every surviving mutant in a mutmut cache."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(cache)) as db:
        rows = db.execute(
            "select m.id, s.filename from Mutant m join Line l on m.line = l.id "
            "join SourceFile s on l.sourcefile = s.id where m.status = 'bad_survived'"
        ).fetchall()
    return [(int(n), str(filename)) for n, filename in rows]


def main() -> int:
    """Run mutmut per target file and write the report; 0 even when mutants survive."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutmut", default=str(ROOT / "build" / "mutmut" / "bin" / "mutmut"))
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "mutation")
    parser.add_argument("--tests-from", help="git revision whose tests/ to use (default: the checkout's)")
    parser.add_argument(
        "--rerun-survivors",
        action="store_true",
        help="reuse OUT's earlier run: refresh its tests and the hooks, then test only its survivors again",
    )
    parser.add_argument("files", nargs="*", help="target files (default: all in mutmut_config.TARGETS)")
    args = parser.parse_args()
    args.out = args.out.resolve()
    project = args.out / "project"
    if args.rerun_survivors:
        _check_unmutated(project)
        shutil.rmtree(project / "tests")
        shutil.copytree(ROOT / "tests", project / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(Path(__file__).parent / "mutmut_config.py", project / "mutmut_config.py")
    else:
        copy_project(project, args.tests_from)
    os.chdir(project)  # mutmut_config picks the test files that exist in this copy
    sys.path.insert(0, str(project))
    from mutmut_config import TARGETS

    start = time.perf_counter()
    if args.rerun_survivors:
        for n, filename in _survivors(project / ".mutmut-cache"):
            tests = TARGETS[filename][1]
            mutmut(
                args.mutmut, ["run", str(n), "--runner", tests, "--no-progress", "--simple-output"], project
            )
    for path in [] if args.rerun_survivors else args.files or list(TARGETS):
        _, tests = TARGETS[path]
        print(f"== {path}: {tests}", flush=True)
        done = mutmut(
            args.mutmut,
            ["run", "--paths-to-mutate", path, "--runner", tests, "--no-progress", "--simple-output"],
            project,
        )
        print(done.stdout[-2000:], done.stderr[-2000:], sep="\n", flush=True)
    results = mutmut(args.mutmut, ["results"], project).stdout
    survivors = _ids(results, "Survived")
    diffs = [mutmut(args.mutmut, ["show", str(n)], project).stdout for n in survivors]
    report = args.out / "report.md"
    report.write_text(
        f"# Mutation testing\n\nWall time: {time.perf_counter() - start:.0f} s.\n\n"
        f"```\n{results}\n```\n\n## Survivors\n\n" + "\n".join(f"```diff\n{d}\n```" for d in diffs),
        encoding="utf-8",
    )
    print(results)
    print(f"report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
