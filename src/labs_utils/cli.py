"""The `labs` command: list, run, strip and check the lab notebooks, and fetch their data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tabulate import tabulate

from labs_utils import exercises, hygiene, report, runguard, runner, site

__all__ = ["build_parser", "main"]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show every option's default unless its help text already states one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for `labs` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="labs",
        description="Run the lab notebooks headlessly and manage their data.",
        formatter_class=_HelpFormatter,
    )
    add = _subcommands(parser, "command", "COMMAND")

    notebooks_help = f"folder holding the lab notebooks (default: {_shown(runner.default_notebooks_dir())})"

    p = add("list", "List the labs in course order with their titles.")
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.set_defaults(func=_cmd_list)

    p = add("run", "Run labs with papermill; write executed notebooks, HTML and a summary.")
    p.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="lab names or substrings of them, e.g. census (default: all labs)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="run on sampled data for a fast check (sets QUICK=True in each lab)",
    )
    p.add_argument("--jobs", type=int, default=1, help="labs to run at the same time")
    p.add_argument(
        "--timeout",
        type=float,
        default=3600,
        help="seconds a single cell may run before the lab is stopped (0: no limit)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output folder; each lab writes to OUTPUT/<lab>/ "
        "(default: runs/quick with --quick, else runs/full)",
    )
    p.add_argument("--seed", type=int, default=42, help="SEED passed to every lab")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="DATA_DIR passed to every lab (default: each lab's own, i.e. LABS_DATA_DIR or datasets/cache)",
    )
    p.add_argument(
        "--no-html",
        dest="html",
        action="store_false",
        help="skip the HTML export of executed notebooks (default: export HTML)",
    )
    p.add_argument(
        "--require-official-data",
        action="store_true",
        help="fail every lab that would run on a stand-in (subset, lossy or synthetic) because an "
        "official file is out of reach (default: run on the best data reachable, labelled)",
    )
    p.add_argument(
        "--beam-arg",
        dest="beam_args",
        action="append",
        default=[],
        metavar="ARG",
        help="a Beam pipeline flag passed as BEAM_ARGS to labs that declare it, e.g. "
        "--beam-arg=--direct_running_mode=multi_processing; repeat for more flags "
        "(default: none, the in-process DirectRunner)",
    )
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.set_defaults(func=_cmd_run)

    p = add("site", "Write RUN_DIR/index.html: one card per lab of a finished run (labs run does it too).")
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder holding summary.json")
    p.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="API reference folder to link (default: docs/ beside RUN_DIR, linked when built)",
    )
    p.set_defaults(func=_cmd_site)

    p = add("bench", "Time every lab and measure its peak memory, quick and full, sequential and parallel.")
    p.add_argument("names", nargs="*", metavar="NAME", help="lab names or substrings (default: all labs)")
    p.add_argument("--modes", default="quick,full", help="comma-separated modes to run: quick, full or both")
    p.add_argument("--jobs", default="1,2", help="comma-separated parallelism settings to compare")
    p.add_argument("--timeout", type=float, default=3600, help="per-cell timeout in seconds (0: no limit)")
    p.add_argument("--output", type=Path, default=Path("runs/bench"), help="output folder")
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.set_defaults(func=_cmd_bench)

    for name, help_text, func in (
        ("strip", "Remove outputs, execution counts and run metadata (keeps cell tags).", _cmd_strip),
        ("check", "Check notebook hygiene: no outputs, a parameters cell, a title.", _cmd_check),
    ):
        p = add(name, help_text)
        p.add_argument(
            "paths",
            nargs="*",
            type=Path,
            metavar="PATH",
            help=f"notebooks or folders of notebooks (default: {_shown(runner.default_notebooks_dir())})",
        )
        p.set_defaults(func=func)

    p = add("exercises", "Write the learner copies of the assignments into exercises/ (answers cleared).")
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"folder for the learner copies (default: {_shown(exercises.default_exercises_dir())})",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a learner copy differs from a fresh generation",
    )
    p.set_defaults(func=_cmd_exercises)

    p = add("grade", "Run a learner's assignment notebook headlessly and score each exercise.")
    p.add_argument(
        "path", type=Path, metavar="NOTEBOOK", help="e.g. exercises/c2w1_assignment_validation_diabetes.ipynb"
    )
    p.add_argument(
        "--full", action="store_true", help="run in full mode (default: quick mode, same exercises)"
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds a single cell may run (0: no limit)")
    p.add_argument("--output", type=Path, default=Path("runs/grade"), help="folder for the executed notebook")
    p.set_defaults(func=_cmd_grade)

    add_data = _subcommands(add("data", "List or fetch the datasets the labs use."), "data_command", "ACTION")
    p = add_data("list", "Show the dataset registry.")
    p.set_defaults(func=_cmd_data_list)
    p = add_data("fetch", "Fetch datasets into the cache (cache -> mirror -> official URL).")
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: none; see --all)")
    p.add_argument("--all", action="store_true", help="fetch every registered dataset")
    p.add_argument(
        "--allow-missing", action="store_true", help="report files that cannot be fetched instead of failing"
    )
    p.set_defaults(func=_cmd_data_fetch)
    p = add_data("verify", "Re-hash every cached file against the registry (or its first-use record).")
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: all datasets)")
    p.set_defaults(func=_cmd_data_verify)
    return parser


def _subcommands(
    parser: argparse.ArgumentParser, dest: str, metavar: str
) -> Callable[..., argparse.ArgumentParser]:
    """Return ``add(name, help_text)``, which adds a subcommand of `parser` with that help and description."""
    sub = parser.add_subparsers(dest=dest, required=True, metavar=metavar)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)

    return add


def _cmd_list(args: argparse.Namespace) -> int:
    """Print the labs as a markdown table."""
    try:
        labs = runner.discover(args.notebooks)
    except FileNotFoundError as err:
        return _usage_error(err)
    print(tabulate([(lab.name, lab.title) for lab in labs], headers=["lab", "title"], tablefmt="github"))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Run the selected labs, print and write the summary; 1 if any lab did not pass."""
    try:
        labs = runner.select(runner.discover(args.notebooks), args.names)
    except (runner.UnknownLabError, FileNotFoundError) as err:
        return _usage_error(err)
    if not labs:
        print("error: no lab notebooks found", file=sys.stderr)
        return 2
    output = args.output or Path("runs") / ("quick" if args.quick else "full")
    if problems := runguard.check_run_args(args.jobs, args.timeout, output):
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    if rotten := runguard.stale_data(args.data_dir):  # once per run: ~0.3 s for the 67 MB cache
        print("error: cached data no longer matches its hash (run `labs data verify`):", file=sys.stderr)
        print("\n".join(f"  {line}" for line in rotten), file=sys.stderr)
        return 2
    try:
        with runguard.output_lock(output):
            return _run_locked(args, labs, output)
    except runguard.OutputLockedError as err:
        return _usage_error(err)


def _run_locked(args: argparse.Namespace, labs: list[runner.Lab], output: Path) -> int:
    """Run the labs into an output folder this process holds the lock of; return the exit code."""
    report.remove_summary(output)  # a summary left from an earlier run must not pass for this one
    mode = "quick" if args.quick else "full"
    strict = ", official data required" if args.require_official_data else ""
    print(f"Running {len(labs)} lab(s) in {mode} mode, {args.jobs} at a time{strict}, into {output}/")
    if args.beam_args:
        print(_beam_args_note(labs, args.beam_args))
    results = runner.run_labs(
        labs,
        output_dir=output,
        quick=args.quick,
        jobs=args.jobs,
        seed=args.seed,
        timeout=args.timeout or None,
        data_dir=args.data_dir,
        html=args.html,
        require_official=args.require_official_data,
        beam_args=args.beam_args,
    )
    md, js = report.write_summary(results, output)
    print()
    print(report.markdown_table(report.summary_table(results)))
    failed = [r.lab for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)} of {len(results)} labs passed; summary in {md} and {js}")
    print(f"Run site: {site.write_site(output)}")
    if notes := report.stand_in_notes(results):
        print(f"\n{notes}", end="")
    if any(r.status == "interrupted" for r in results):
        return 130
    return 1 if failed else 0


def _cmd_site(args: argparse.Namespace) -> int:
    """Write a run's index.html; 2 if the folder holds no run summary."""
    try:
        index = site.write_site(args.run_dir, args.docs)
    except (FileNotFoundError, ValueError) as err:
        return _usage_error(err)
    print(index)
    return 0


def _beam_args_note(labs: Sequence[runner.Lab], beam_args: Sequence[str]) -> str:
    """Say which labs take the Beam flags (they declare BEAM_ARGS) and which run without them."""
    taking = [lab.name for lab in labs if "BEAM_ARGS" in hygiene.declared_parameters(lab.path)]
    others = [lab.name for lab in labs if lab.name not in taking]
    note = f"BEAM_ARGS={list(beam_args)} for {', '.join(taking) or 'no lab'}"
    if others:
        note += f"; without Beam flags (no BEAM_ARGS parameter): {', '.join(others)}"
    return note


def _cmd_bench(args: argparse.Namespace) -> int:
    """Benchmark the selected labs and write runs/bench/bench.md; 1 if any run failed."""
    try:
        labs = runner.select(runner.discover(args.notebooks), args.names)
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    except (runner.UnknownLabError, FileNotFoundError) as err:
        return _usage_error(err)
    except ValueError:
        return _usage_error(f"--jobs takes comma-separated whole numbers, e.g. 1,2 (got {args.jobs!r})")
    if not labs:
        return _usage_error("no lab notebooks found")
    if not modes:
        return _usage_error("--modes names no mode; use quick and/or full")
    if bad := sorted(set(modes) - {"quick", "full"}):
        return _usage_error(f"unknown mode(s) {bad}; use quick and/or full")
    if not jobs or min(jobs) < 1:
        return _usage_error(f"--jobs needs numbers of at least 1 (got {args.jobs!r})")
    if args.timeout < 0:
        return _usage_error(f"--timeout must be 0 (no limit) or more seconds (got {args.timeout:g})")
    per_lab, per_run = report.bench(
        labs, output_dir=args.output, modes=modes, jobs=jobs, timeout=args.timeout or None
    )
    path = report.write_bench(per_lab, per_run, args.output)
    print(path.read_text(encoding="utf-8"))
    return 0 if (per_run["passed"] == per_run["labs"]).all() else 1


def _cmd_strip(args: argparse.Namespace) -> int:
    """Strip outputs and run metadata from notebooks in place."""
    try:
        notebooks = _notebooks(args.paths)  # check every path before changing any notebook
    except FileNotFoundError as err:
        return _usage_error(err)
    changed = hygiene.strip_outputs(notebooks)
    for path in changed:
        print(f"stripped {path}")
    print(f"{len(changed)} notebook(s) changed")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    """Print hygiene problems; 1 if there are any."""
    try:
        notebooks = _notebooks(args.paths)
    except FileNotFoundError as err:
        return _usage_error(err)
    problems = [p for path in notebooks for p in hygiene.check_notebook_hygiene(path)]
    for problem in problems:
        print(problem)
    if not notebooks:
        print("error: no notebooks found", file=sys.stderr)
        return 1
    print(f"{len(notebooks)} notebook(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _cmd_exercises(args: argparse.Namespace) -> int:
    """Write (or with --check, compare) the learner copies; 1 if --check finds a stale copy."""
    try:
        sources = exercises.assignment_notebooks(args.notebooks)
    except FileNotFoundError as err:
        return _usage_error(err)
    if args.check:
        out = args.output or exercises.default_exercises_dir()
        stale = [
            out / source.name
            for source in sources
            if not (out / source.name).is_file()
            or (out / source.name).read_text(encoding="utf-8") != exercises.generate(source)
        ]
        for path in stale:
            print(f"stale: {path}; run `labs exercises`")
        return 1 if stale else 0
    changed = exercises.write_exercises(args.notebooks, args.output)
    for path in changed:
        print(f"wrote {path}")
    print(f"{len(changed)} learner copy(ies) changed")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    """Grade a learner notebook and print the score table; 0 only for full marks."""
    try:
        result = exercises.grade(
            args.path, output_dir=args.output, quick=not args.full, timeout=args.timeout or None
        )
    except (FileNotFoundError, KeyError) as err:
        return _usage_error(err.args[0] if isinstance(err, KeyError) else err)
    print(exercises.score_table(result.verdicts))
    where = f"; executed notebook: {result.notebook}" if result.notebook else ""
    print(f"\nScore {result.score}/{result.total} in {result.seconds:.0f} s{where}")
    if result.run_status == "timeout":
        print("The run stopped at a cell that ran past the timeout; later exercises could not be checked.")
    return 0 if result.full_marks else 1


def _cmd_data_list(args: argparse.Namespace) -> int:
    """Print the dataset registry as a markdown table."""
    from labs_utils import datasets  # imported here: loading the registry is not free

    print(report.markdown_table(datasets.datasets_table()))
    return 0


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    """Fetch datasets and print one row per file; 1 if a needed file is unavailable."""
    from labs_utils import datasets

    if not args.names and not args.all:
        return _usage_error("name the datasets to fetch or pass --all (see `labs data list`)")
    if args.names and args.all:
        return _usage_error("name datasets or pass --all, not both")
    registered = sorted(datasets.registry())
    if unknown := sorted(set(args.names) - set(registered)):
        return _usage_error(f"unknown dataset(s) {unknown}; registered: {registered} (see `labs data list`)")
    try:
        rows = datasets.fetch_many(None if args.all else args.names, allow_missing=args.allow_missing)
    except (datasets.DataNotAvailableError, ValueError) as err:  # ValueError: a bad hash
        print(f"error: {err}", file=sys.stderr)
        return 1
    _print_files(rows, "missing", "file(s) not reachable here; labs that need them say how to get them:")
    return 0


def _cmd_data_verify(args: argparse.Namespace) -> int:
    """Re-hash the cached files and print one row per file; 1 if any copy does not match."""
    from labs_utils import datasets

    try:
        rows = datasets.verify_cache(args.names or None)
    except ValueError as err:
        return _usage_error(err)
    bad = _print_files(rows, "MISMATCH")
    checked = sum(not row[2].startswith("not cached") for row in rows)
    print(f"\n{checked} cached file(s) re-hashed, {len(bad)} mismatch(es)")
    return 1 if bad else 0


def _print_files(
    rows: Sequence[tuple[str, str, str]], flagged: str, heading: str | None = None
) -> list[tuple[str, str, str]]:
    """Return the rows whose status starts with `flagged`, after printing all rows, then those in full."""
    print(tabulate([_short(row) for row in rows], headers=["dataset", "file", "status"], tablefmt="github"))
    picked = [row for row in rows if row[2].startswith(flagged)]
    if picked and heading:
        print(f"\n{len(picked)} {heading}")
    for dataset, file, status in picked:
        print(f"- {dataset}/{file}: {status}")
    return picked


def _notebooks(paths: Sequence[Path]) -> list[Path]:
    """Return the notebook files in `paths` (default: the notebooks folder); raise for a non-notebook."""
    return hygiene.notebook_paths(paths or [runner.default_notebooks_dir()])


def _usage_error(err: Exception | str) -> int:
    """Print an `error:` line and return 2, the exit code for usage errors (bad arguments, a busy folder)."""
    print(f"error: {err}", file=sys.stderr)
    return 2


def _short(row: tuple[str, str, str], width: int = 60) -> tuple[str, str, str]:
    """Shorten a long status so the table stays readable (the full reason follows the table)."""
    dataset, file, status = row
    return dataset, file, status if len(status) <= width else status[: width - 1] + "…"


def _shown(path: Path) -> str:
    """Show a path relative to the working directory when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Return the exit code of running the `labs` command line with `argv`."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
