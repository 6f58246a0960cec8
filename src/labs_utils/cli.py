"""The `labs` command: list, run, strip and check the lab notebooks, and fetch their data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from labs_utils import runner


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show every option's default unless its help text already states one."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for `labs` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="labs",
        description="Run the lab notebooks headlessly and manage their data.",
        formatter_class=_HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)

    notebooks_help = f"folder holding the lab notebooks (default: {_shown(runner.default_notebooks_dir())})"

    p = add("list", "List the labs in course order with their titles.")
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.set_defaults(func=cmd_list)

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
    p.set_defaults(func=cmd_run)

    p = add("bench", "Time every lab and measure its peak memory, quick and full, sequential and parallel.")
    p.add_argument("names", nargs="*", metavar="NAME", help="lab names or substrings (default: all labs)")
    p.add_argument("--modes", default="quick,full", help="comma-separated modes to run: quick, full or both")
    p.add_argument("--jobs", default="1,2", help="comma-separated parallelism settings to compare")
    p.add_argument("--timeout", type=float, default=3600, help="per-cell timeout in seconds (0: no limit)")
    p.add_argument("--output", type=Path, default=Path("runs/bench"), help="output folder")
    p.add_argument("--notebooks", type=Path, default=None, help=notebooks_help)
    p.set_defaults(func=cmd_bench)

    for name, help_text, func in (
        ("strip", "Remove outputs, execution counts and run metadata (keeps cell tags).", cmd_strip),
        ("check", "Check notebook hygiene: no outputs, a parameters cell, a title.", cmd_check),
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

    data = add("data", "List or fetch the datasets the labs use.")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    p = data_sub.add_parser("list", help="show the dataset registry", formatter_class=_HelpFormatter)
    p.set_defaults(func=cmd_data_list)
    p = data_sub.add_parser(
        "fetch",
        help="fetch datasets into the cache (cache -> mirror -> official URL)",
        formatter_class=_HelpFormatter,
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="registry names (default: none; see --all)")
    p.add_argument("--all", action="store_true", help="fetch every registered dataset")
    p.add_argument(
        "--allow-missing", action="store_true", help="report files that cannot be fetched instead of failing"
    )
    p.set_defaults(func=cmd_data_fetch)
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    """Print the labs as a markdown table."""
    labs = runner.discover(args.notebooks)
    print(tabulate([(lab.name, lab.title) for lab in labs], headers=["lab", "title"], tablefmt="github"))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run the selected labs, print and write the summary; 1 if any lab did not pass."""
    try:
        labs = runner.select(runner.discover(args.notebooks), args.names)
    except (runner.UnknownLabError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not labs:
        print("error: no lab notebooks found", file=sys.stderr)
        return 2
    output = args.output or Path("runs") / ("quick" if args.quick else "full")
    mode = "quick" if args.quick else "full"
    print(f"Running {len(labs)} lab(s) in {mode} mode, {args.jobs} at a time, into {output}/")
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
        beam_args=args.beam_args,
    )
    md, js = runner.write_summary(results, output)
    print()
    print(runner.markdown_table(runner.summary_table(results)))
    failed = [r.lab for r in results if not r.passed]
    print(f"\n{len(results) - len(failed)} of {len(results)} labs passed; summary in {md} and {js}")
    return 1 if failed else 0


def _beam_args_note(labs: Sequence[runner.Lab], beam_args: Sequence[str]) -> str:
    """Say which labs take the Beam flags (they declare BEAM_ARGS) and which run without them."""
    taking = [lab.name for lab in labs if runner.declares_parameter(lab.path, "BEAM_ARGS")]
    others = [lab.name for lab in labs if lab.name not in taking]
    note = f"BEAM_ARGS={list(beam_args)} for {', '.join(taking) or 'no lab'}"
    if others:
        note += f"; without Beam flags (no BEAM_ARGS parameter): {', '.join(others)}"
    return note


def cmd_bench(args: argparse.Namespace) -> int:
    """Benchmark the selected labs and write runs/bench/bench.md; 1 if any run failed."""
    try:
        labs = runner.select(runner.discover(args.notebooks), args.names)
        modes = [m.strip() for m in args.modes.split(",") if m.strip()]
        jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    except (runner.UnknownLabError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if bad := sorted(set(modes) - {"quick", "full"}):
        print(f"error: unknown mode(s) {bad}; use quick and/or full", file=sys.stderr)
        return 2
    per_lab, per_run = runner.bench(
        labs, output_dir=args.output, modes=modes, jobs=jobs, timeout=args.timeout or None
    )
    path = runner.write_bench(per_lab, per_run, args.output)
    print(path.read_text(encoding="utf-8"))
    return 0 if (per_run["passed"] == per_run["labs"]).all() else 1


def cmd_strip(args: argparse.Namespace) -> int:
    """Strip outputs and run metadata from notebooks in place."""
    paths = args.paths or [runner.default_notebooks_dir()]
    changed = runner.strip_outputs(paths)
    for path in changed:
        print(f"stripped {path}")
    print(f"{len(changed)} notebook(s) changed")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Print hygiene problems; 1 if there are any."""
    notebooks = runner.notebook_paths(args.paths or [runner.default_notebooks_dir()])
    problems = [p for path in notebooks for p in runner.check_notebook_hygiene(path)]
    for problem in problems:
        print(problem)
    if not notebooks:
        print("error: no notebooks found", file=sys.stderr)
        return 1
    print(f"{len(notebooks)} notebook(s) checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def cmd_data_list(args: argparse.Namespace) -> int:
    """Print the dataset registry as a markdown table."""
    from labs_utils import datasets  # imported here: loading the registry is not free

    print(runner.markdown_table(datasets.datasets_table()))
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    """Fetch datasets and print one row per file; 1 if a needed file is unavailable."""
    from labs_utils import datasets

    if not args.names and not args.all:
        print("error: name the datasets to fetch or pass --all (see `labs data list`)", file=sys.stderr)
        return 2
    try:
        rows = datasets.fetch_many(None if args.all else args.names, allow_missing=args.allow_missing)
    except (datasets.DataNotAvailableError, ValueError) as err:  # ValueError: unknown name, bad hash
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(tabulate([_short(row) for row in rows], headers=["dataset", "file", "status"], tablefmt="github"))
    missing = [row for row in rows if row[2].startswith("missing")]
    if missing:
        print(f"\n{len(missing)} file(s) not reachable here; labs that need them say how to get them:")
        for dataset, file, status in missing:
            print(f"- {dataset}/{file}: {status}")
    return 0


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
    """Run the `labs` command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
