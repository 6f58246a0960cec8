"""The `labs` command's bad-argument paths (an `error:` line and exit 2, no traceback) and `labs bench`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labs_utils import cli, runner

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
README = Path(__file__).resolve().parents[1] / "README.md"
MISSING = "/no/such/folder"


@pytest.fixture
def empty_dir(tmp_path: Path) -> Path:
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty"


@pytest.fixture(autouse=True)
def no_lab_runs(request, monkeypatch):
    """Fail the test if a bad-argument path reaches the runner (tests marked `notebook` run labs)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a bad argument reached runner.run_labs")

    if request.node.get_closest_marker("notebook") is None:
        monkeypatch.setattr(runner, "run_labs", refuse)


# Every subcommand, each of its bad arguments, and the words the error must contain.
BAD_ARGUMENTS = [
    (["list", "--notebooks", MISSING], f"notebooks directory {MISSING} does not exist"),
    (["run", "--notebooks", MISSING], f"notebooks directory {MISSING} does not exist"),
    (["run", "census", "--notebooks", str(FIXTURES)], "no lab matches 'census'"),
    (["run", "--notebooks", "{empty}"], "no lab notebooks found"),
    (["site", MISSING], "summary.json does not exist"),
    (["bench", "--notebooks", MISSING], f"notebooks directory {MISSING} does not exist"),
    (["bench", "census", "--notebooks", str(FIXTURES)], "no lab matches 'census'"),
    (["bench", "--notebooks", "{empty}"], "no lab notebooks found"),
    (["bench", "--notebooks", str(FIXTURES), "--modes", "slow"], "unknown mode(s) ['slow']"),
    (["bench", "--notebooks", str(FIXTURES), "--modes", ","], "--modes names no mode"),
    (["bench", "--notebooks", str(FIXTURES), "--jobs", "two"], "--jobs takes comma-separated whole"),
    (["bench", "--notebooks", str(FIXTURES), "--jobs", "0,2"], "--jobs needs numbers of at least 1"),
    (["bench", "--notebooks", str(FIXTURES), "--timeout", "-1"], "--timeout must be 0 (no limit) or more"),
    (["check", str(README)], f"{README} is neither a notebook nor a directory"),
    (["check", MISSING], f"{MISSING} is neither a notebook nor a directory"),
    (["strip", str(README)], f"{README} is neither a notebook nor a directory"),
    (["strip", MISSING], f"{MISSING} is neither a notebook nor a directory"),
    (["exercises", "--notebooks", MISSING], f"notebooks directory {MISSING} does not exist"),
    (["grade", MISSING + ".ipynb"], f"{MISSING}.ipynb does not exist"),
    (["grade", str(README)], "'README' has no exercises; assignments with exercises: ["),
    (["data", "fetch"], "name the datasets to fetch or pass --all"),
    (["data", "fetch", "no_such_dataset"], "unknown dataset(s) ['no_such_dataset']; registered: ["),
    (["data", "fetch", "--all", "census_adult"], "name datasets or pass --all, not both"),
]


@pytest.mark.parametrize(
    ("argv", "message"), BAD_ARGUMENTS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_bad_arguments_print_one_error_line_and_exit_2(argv, message, empty_dir, capsys):
    argv = [str(empty_dir) if a == "{empty}" else a for a in argv]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: "), captured.err
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_every_subcommand_has_a_bad_argument_case():
    parser = cli.build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    covered = {argv[0] for argv, _ in BAD_ARGUMENTS}
    assert covered == set(commands.choices)


def test_strip_with_one_bad_path_changes_no_notebook(tmp_path, capsys):
    executed = tmp_path / "nb.ipynb"
    executed.write_text(
        json.dumps({"cells": [], "metadata": {"papermill": {}}, "nbformat": 4, "nbformat_minor": 5})
    )
    before = executed.read_text()
    assert cli.main(["strip", str(executed), str(README)]) == 2
    assert executed.read_text() == before


@pytest.mark.parametrize(
    "argv", [[], ["data"], ["nope"], ["run", "--jobs", "x"], ["data", "fetch", "--bogus"]], ids=str
)
def test_argparse_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    assert "usage: labs" in capsys.readouterr().err


@pytest.mark.parametrize(("given", "passed"), [("0", None), ("2.5", 2.5)])
def test_run_timeout_zero_means_no_limit(given, passed, tmp_path, monkeypatch):
    seen: dict = {}

    def record(labs, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(runner, "run_labs", record)
    argv = ["run", "passing", "--notebooks", str(FIXTURES), "--output", str(tmp_path), "--timeout", given]
    assert cli.main(argv) == 0
    assert "timeout" in seen and seen["timeout"] == passed


@pytest.mark.parametrize(("given", "passed"), [("0", None), ("2.5", 2.5)])
def test_bench_timeout_zero_means_no_limit(given, passed, tmp_path, monkeypatch):
    seen: list = []

    def record(labs, **kwargs):
        seen.append(kwargs)
        return [runner.LabResult(lab.name, "passed", 1.0, kwargs["quick"]) for lab in labs]

    monkeypatch.setattr(runner, "run_labs", record)
    argv = ["bench", "passing", "--notebooks", str(FIXTURES), "--output", str(tmp_path), "--timeout", given]
    argv += ["--modes", "quick", "--jobs", "1"]
    assert cli.main(argv) == 0
    assert [kwargs["timeout"] for kwargs in seen] == [passed]


def test_data_fetch_reports_what_it_fetched(tmp_path, monkeypatch, capsys):
    from labs_utils import datasets

    rows = [("census_adult", "adult.data", "cached"), ("census_adult", "adult.test", "missing: no mirror")]
    calls: list = []
    monkeypatch.setattr(datasets, "fetch_many", lambda names, allow_missing: calls.append(names) or rows)
    assert cli.main(["data", "fetch", "census_adult", "--allow-missing"]) == 0
    assert calls == [["census_adult"]]
    out = capsys.readouterr().out
    assert "1 file(s) not reachable here" in out and "- census_adult/adult.test: missing: no mirror" in out


# --- labs bench on the fixture notebooks ---------------------------------------------------


@pytest.mark.notebook
def test_bench_runs_each_setting_and_writes_the_tables(tmp_path, capsys):
    out = tmp_path / "bench"
    argv = ["bench", "--notebooks", str(FIXTURES), "--modes", "quick", "--jobs", "1,2", "--output", str(out)]
    assert cli.main(argv) == 1  # the failing fixture fails in every setting
    text = (out / "bench.md").read_text()
    assert capsys.readouterr().out.strip().endswith(text.strip())
    whole = text.split("## Whole runs")[1].split("## Per lab")[0]
    rows = [line.split("|")[1:-1] for line in whole.splitlines() if line.startswith("| quick")]
    assert [[c.strip() for c in row[:3]] for row in rows] == [
        ["quick, jobs=1", "2", "1"],
        ["quick, jobs=2", "2", "1"],
    ]
    assert all(float(row[3]) > 0 for row in rows)
    per_lab = text.split("## Per lab")[1]
    for lab in ("c0w1_lab_failing", "c0w1_lab_passing"):
        (line,) = [ln for ln in per_lab.splitlines() if ln.startswith(f"| {lab}")]
        seconds = [float(c) for c in line.strip("|").split("|")[1:3]]
        assert all(s > 0 for s in seconds)
        for setting in ("quick-jobs1", "quick-jobs2"):
            written = json.loads((out / setting / lab / "results.json").read_text())
            assert written["quick"] is True
            assert not (out / setting / lab / f"{lab}.html").exists()  # bench skips the HTML
