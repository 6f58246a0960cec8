"""Tests for labs_utils.runner and the `labs` CLI, on two tiny fixture notebooks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest

from labs_utils import cli, execution, hygiene, kernel, kernel_runs, report, runner

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
PASSING, FAILING = "c0w1_lab_passing", "c0w1_lab_failing"
FAILING_CELL = 4  # index of the failing assert in the failing fixture
PARAMETERS = (
    "QUICK = False  # True: sampled data\nDATA_DIR = None  # None: default cache\n"
    'OUTPUT_DIR = "outputs/x"  # results\nSEED = 42  # seed'
)


def new_notebook(path: Path, cells: list[nbformat.NotebookNode]) -> Path:
    """Write a notebook for the project kernel made of `cells` to `path`."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = kernel.notebook_metadata()
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def parameters_cell(source: str = PARAMETERS) -> nbformat.NotebookNode:
    """Return a code cell tagged `parameters`."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["parameters"]
    return cell


def tiny_lab(folder: Path, name: str, *code: str) -> runner.Lab:
    """Write an import-light lab notebook: title, parameters, then one code cell per ``code``."""
    cells = [nbformat.v4.new_markdown_cell(f"# {name}"), parameters_cell()]
    path = new_notebook(folder / f"{name}.ipynb", cells + [nbformat.v4.new_code_cell(c) for c in code])
    return runner.Lab(name, path, name)


@pytest.fixture(scope="module")
def labs() -> list[runner.Lab]:
    return runner.discover(FIXTURES)


@pytest.fixture(scope="module")
def sequential_run(labs, tmp_path_factory):
    """Run both fixtures one after the other with QUICK=True, SEED=123."""
    out = tmp_path_factory.mktemp("sequential")
    events: list[str] = []
    results = runner.run_labs(labs, output_dir=out, quick=True, jobs=1, seed=123, on_event=events.append)
    report.write_summary(results, out)
    return out, {r.lab: r for r in results}, events


# --- discover and select --------------------------------------------------------------------


def test_discover_lists_labs_in_course_order_with_titles(labs):
    assert [(lab.name, lab.title) for lab in labs] == [
        (FAILING, "Failing fixture"),
        (PASSING, "Passing fixture"),
    ]
    assert all(lab.path.is_absolute() and lab.path.exists() for lab in labs)


def test_discover_adds_labs_beyond_the_course_after_the_course_labs(tmp_path):
    for name in ("c2x_lab_data_augmentation", "c2w4_lab_images", "c2w1_lab_census", "notes", "c2_draft"):
        nbformat.write(nbformat.v4.new_notebook(), tmp_path / f"{name}.ipynb")
    names = [lab.name for lab in runner.discover(tmp_path)]
    assert names == ["c2w1_lab_census", "c2w4_lab_images", "c2x_lab_data_augmentation"]


def test_discover_missing_folder_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        runner.discover(tmp_path / "absent")


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        ([], [FAILING, PASSING]),
        ([PASSING], [PASSING]),
        (["passing"], [PASSING]),
        (["PASS"], [PASSING]),
        (["c0w1"], [FAILING, PASSING]),
        (["passing", "failing"], [FAILING, PASSING]),
        ([str(FIXTURES / f"{FAILING}.ipynb")], [FAILING]),
        ([f"{FAILING}.ipynb"], [FAILING]),
    ],
)
def test_select_matches_names_and_substrings(labs, names, expected):
    assert [lab.name for lab in runner.select(labs, names)] == expected


def test_select_prefers_an_exact_name_over_substring_matches():
    labs = [runner.Lab("c2w1_lab", Path("a"), ""), runner.Lab("c2w1_lab_more", Path("b"), "")]
    assert [lab.name for lab in runner.select(labs, ["c2w1_lab"])] == ["c2w1_lab"]
    assert [lab.name for lab in runner.select(labs, ["c2w1"])] == ["c2w1_lab", "c2w1_lab_more"]


def test_select_unknown_name_lists_available_labs(labs):
    with pytest.raises(runner.UnknownLabError, match="no lab matches 'census'") as info:
        runner.select(labs, ["passing", "census"])
    assert PASSING in str(info.value) and FAILING in str(info.value)


# --- running --------------------------------------------------------------------------------


def test_kernel_runs_this_interpreter():
    kernel.install()  # `make setup` registers it; a bare venv may not have yet
    assert Path(kernel_runs.kernel_executable()).parent == Path(sys.executable).parent


@pytest.mark.notebook
def test_statuses_and_order(sequential_run):
    _, results, _ = sequential_run
    assert list(results) == [FAILING, PASSING]
    assert results[PASSING].status == "passed" and results[PASSING].passed
    assert results[FAILING].status == "failed" and not results[FAILING].passed


@pytest.mark.notebook
def test_failure_names_the_cell_and_the_error(sequential_run):
    failed = sequential_run[1][FAILING]
    source_cells = json.loads((FIXTURES / f"{FAILING}.ipynb").read_text())["cells"]
    assert failed.cell_index == FAILING_CELL
    assert "".join(source_cells[FAILING_CELL]["source"]).startswith(failed.cell_source)
    assert failed.cell_source == "doubled = 2 * value"
    assert failed.cell_line == '2: assert value == 3, f"expected 3, got {value}"'
    assert failed.error == "AssertionError: expected 3, got 2"
    passed = sequential_run[1][PASSING]
    assert (passed.cell_index, passed.cell_line, passed.error) == (None, None, None)


@pytest.mark.notebook
def test_parameters_are_injected_and_round_trip(sequential_run):
    out, results, _ = sequential_run
    lab_dir = out / PASSING
    written = json.loads((lab_dir / "results.json").read_text())
    assert results[PASSING].results == written
    assert written["quick"] is True and written["seed"] == 123
    assert written["data_dir"] is None  # not injected without --data-dir
    assert Path(written["cwd"]) == lab_dir.resolve()
    assert (lab_dir / "written_relative.txt").exists()  # relative writes land in the lab dir
    assert written["python"] == sys.executable
    assert (written["tz"], written["pythonhashseed"]) == ("UTC", "0")


@pytest.mark.notebook
def test_only_the_parameters_a_lab_declares_are_injected(tmp_path):
    source = 'OUTPUT_DIR = "x"  # results\nDATA_DIR = None  # data'
    writer = nbformat.v4.new_code_cell(
        "import json, pathlib\n"
        "names = sorted(n for n in ('QUICK', 'SEED', 'DATA_DIR') if n in globals())\n"
        "pathlib.Path(OUTPUT_DIR, 'results.json').write_text(json.dumps({'names': names}))"
    )
    path = new_notebook(tmp_path / "nb" / "c0w1_lab_lean.ipynb", [parameters_cell(source), writer])
    assert hygiene.declared_parameters(path) == {"OUTPUT_DIR", "DATA_DIR"}
    lab = runner.Lab("c0w1_lab_lean", path, "")
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, seed=7, html=False)
    assert result.passed, result.error
    assert result.results == {"names": ["DATA_DIR"]}  # QUICK and SEED would change nothing here


@pytest.mark.notebook
def test_executed_notebooks_and_html_exist_also_for_failures(sequential_run):
    out, results, _ = sequential_run
    for name in (PASSING, FAILING):
        assert results[name].notebook == (out / name / f"{name}.ipynb").resolve()
        assert results[name].notebook.exists() and results[name].html.exists()
    assert "AssertionError" in results[FAILING].html.read_text()
    executed = nbformat.read(str(results[PASSING].notebook), as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "SEED = 123" in injected[0].source


@pytest.mark.notebook
def test_data_source_comes_from_results_json(sequential_run):
    _, results, _ = sequential_run
    assert results[PASSING].data_source == "synthetic"
    assert results[FAILING].data_source == "mirror-subset"  # written before the failing cell


@pytest.mark.notebook
def test_one_progress_line_per_start_and_finish(sequential_run):
    events = sequential_run[2]
    assert len(events) == 4
    assert [("start" in e, FAILING in e) for e in events[:2]] == [(True, True), (False, True)]
    assert f"cell {FAILING_CELL}, line 2: AssertionError: expected 3" in events[1]
    assert events[3].split()[1:3] == ["passed", PASSING]


@pytest.mark.notebook
def test_summary_table_and_files(sequential_run):
    out, results, _ = sequential_run
    table = report.summary_table(results.values())
    assert list(table.columns) == [
        "lab",
        "status",
        "seconds",
        "peak_mb",
        "data_source",
        "quick",
        "failed_cell",
        "error",
    ]
    assert table.set_index("lab")["status"].to_dict() == {FAILING: "failed", PASSING: "passed"}
    # a running Python kernel holds tens of MiB; the sampler must have seen it
    assert (table["peak_mb"] > 20).all()
    row = table.set_index("lab").loc[FAILING]
    assert row["failed_cell"] == (
        f'{FAILING_CELL}: doubled = 2 * value (line 2: assert value == 3, f"expected 3, got {{value}}")'
    )
    assert row["error"] == "AssertionError: expected 3, got 2"
    records = {r["lab"]: r for r in json.loads((out / "summary.json").read_text())}
    assert records[FAILING]["cell_index"] == FAILING_CELL
    assert records[FAILING]["error"] == "AssertionError: expected 3, got 2"
    assert records[PASSING]["data_source"] == "synthetic" and records[PASSING]["quick"] is True
    assert records[PASSING]["html"] == f"{PASSING}/{PASSING}.html"
    summary_md = (out / "summary.md").read_text()
    assert "1 of 2 labs passed" in summary_md
    assert "AssertionError: expected 3, got 2" in summary_md


def test_markdown_table_escapes_pipes():
    text = report.markdown_table(pd.DataFrame({"lab": ["a"], "error": ["x | y"]}))
    assert text.splitlines()[0].startswith("| lab") and "x \\| y" in text


@pytest.mark.notebook
def test_timeout_is_reported_with_its_cell(tmp_path):
    sleeping = ("import time\ntime.sleep(120)", "print('unreached')")
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_sleeping", *sleeping)
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, seed=1, timeout=2)
    assert result.status == "timeout"
    assert (result.cell_index, result.cell_source) == (2, "import time")
    assert result.error.startswith("CellTimeoutError")
    assert "Timed out" in result.html.read_text()


# --- CLI ------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_cli_run_in_parallel_runs_every_lab_and_fails(tmp_path, capsys):
    code = cli.main(
        ["run", "--notebooks", str(FIXTURES), "--jobs", "2", "--quick", "--output", str(tmp_path)]
    )
    assert code == 1
    records = json.loads((tmp_path / "summary.json").read_text())
    assert {r["lab"]: r["status"] for r in records} == {FAILING: "failed", PASSING: "passed"}
    assert json.loads((tmp_path / PASSING / "results.json").read_text())["quick"] is True
    stdout = capsys.readouterr().out
    assert "| lab" in stdout and "AssertionError: expected 3, got 2" in stdout


@pytest.mark.notebook
def test_cli_run_passes_options_and_exits_zero(tmp_path):
    data_dir = tmp_path / "data"
    code = cli.main(
        [
            "run",
            "passing",
            "--notebooks",
            str(FIXTURES),
            "--output",
            str(tmp_path / "out"),
            "--seed",
            "7",
            "--data-dir",
            str(data_dir),
            "--no-html",
        ]
    )
    assert code == 0
    written = json.loads((tmp_path / "out" / PASSING / "results.json").read_text())
    assert (written["quick"], written["seed"], written["data_dir"]) == (False, 7, str(data_dir))
    assert not (tmp_path / "out" / PASSING / f"{PASSING}.html").exists()
    assert not (tmp_path / "out" / FAILING).exists()


def test_cli_run_unknown_name_lists_labs(capsys):
    assert cli.main(["run", "census", "--notebooks", str(FIXTURES)]) == 2
    err = capsys.readouterr().err
    assert "no lab matches 'census'" in err and PASSING in err


def test_cli_list_shows_names_and_titles(capsys):
    assert cli.main(["list", "--notebooks", str(FIXTURES)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("|")[1:3] == [" lab              ", " title           "]
    assert any(PASSING in line and "Passing fixture" in line for line in lines)


def test_cli_help_shows_defaults(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--help"])
    assert info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for shown in ("(default: 1)", "(default: 3600", "(default: 42)", "(default: all labs)"):
        assert shown in help_text


def test_cli_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "labs_utils.cli", "list", "--notebooks", str(FIXTURES)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert PASSING in proc.stdout


# --- hygiene --------------------------------------------------------------------------------


def test_fixture_notebooks_are_clean(tmp_path):
    for path in FIXTURES.glob("*.ipynb"):
        assert hygiene.check_notebook_hygiene(path) == []
    copy = shutil.copytree(FIXTURES, tmp_path / "copy")
    assert hygiene.strip_outputs([copy]) == []


@pytest.mark.notebook
def test_strip_outputs_cleans_an_executed_notebook_and_keeps_tags(sequential_run, tmp_path):
    executed = Path(shutil.copy(sequential_run[1][FAILING].notebook, tmp_path / "nb.ipynb"))
    problems = hygiene.check_notebook_hygiene(executed)
    assert any("have outputs" in p for p in problems)
    assert any("execution counts" in p for p in problems)
    assert any("added by papermill" in p for p in problems)
    assert all("labs strip" in p for p in problems)

    assert hygiene.strip_outputs([executed]) == [executed]
    nb = nbformat.read(str(executed), as_version=4)
    source = nbformat.read(str(FIXTURES / f"{FAILING}.ipynb"), as_version=4)
    assert [c.source for c in nb.cells] == [c.source for c in source.cells]  # papermill cells gone
    assert all(c.get("outputs", []) == [] for c in nb.cells)
    assert all(c.get("execution_count") is None for c in nb.cells)
    assert nb.cells[2].metadata == {"tags": ["parameters"]}
    assert "papermill" not in nb.metadata
    assert hygiene.check_notebook_hygiene(executed) == []
    assert hygiene.strip_outputs([tmp_path]) == []  # idempotent


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ([nbformat.v4.new_markdown_cell("Intro"), parameters_cell()], "no H1 title"),
        ([nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1")], "no cell tagged"),
        ([nbformat.v4.new_markdown_cell("# T"), parameters_cell("QUICK = True")], "['OUTPUT_DIR']"),
        (
            [nbformat.v4.new_markdown_cell("# T"), parameters_cell(), nbformat.v4.new_code_cell("")],
            "cells [2] are empty",
        ),
    ],
)
def test_hygiene_names_each_problem(tmp_path, cells, expected):
    problems = hygiene.check_notebook_hygiene(new_notebook(tmp_path / "c0w1_x.ipynb", cells))
    assert len(problems) == 1 and expected in problems[0]


def test_cli_strip_and_check(tmp_path, capsys):
    executed = tmp_path / "nb.ipynb"
    cell = nbformat.v4.new_code_cell("1 + 1", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"}, execution_count=1)]
    new_notebook(executed, [nbformat.v4.new_markdown_cell("# T"), parameters_cell(), cell])
    assert cli.main(["check", str(tmp_path)]) == 1
    assert cli.main(["strip", str(tmp_path)]) == 0
    assert cli.main(["check", str(executed)]) == 0
    out = capsys.readouterr().out
    assert "cells [2] have outputs; run `labs strip" in out and f"stripped {executed}" in out


@pytest.mark.parametrize(
    ("traceback", "expected"),
    [
        (["\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[14]\x1b[39m\x1b[32m, line 2\x1b[39m"], "2: b = 2"),
        (["Cell In[3], line 9"], None),  # beyond the cell: not trusted
        (["no cell frame"], None),
    ],
)
def test_raising_line_reads_ipython_tracebacks(traceback, expected):
    assert execution._raising_line(traceback, "a = 1\nb = 2\n") == expected


def test_bench_table_keeps_run_order_and_both_measures(tmp_path):
    rows = [
        {
            "lab": lab,
            "setting": setting,
            "status": "passed",
            "seconds": secs,
            "peak_mb": mb,
            "data_source": "-",
        }
        for lab, setting, secs, mb in [
            ("lab_a", "quick, jobs=1", 3.0, 100.0),
            ("lab_a", "quick, jobs=2", 4.0, 110.0),
            ("lab_b", "quick, jobs=1", 5.0, 200.0),
            ("lab_b", "quick, jobs=2", 6.0, 210.0),
        ]
    ]
    per_run = pd.DataFrame(
        [
            {"setting": "quick, jobs=1", "labs": 2, "passed": 2, "wall_seconds": 8.0},
            {"setting": "quick, jobs=2", "labs": 2, "passed": 2, "wall_seconds": 6.0},
        ]
    )
    text = report.write_bench(pd.DataFrame(rows), per_run, tmp_path).read_text()
    header = next(line for line in text.splitlines() if line.startswith("| lab"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns == [
        "lab",
        "seconds (quick, jobs=1)",
        "seconds (quick, jobs=2)",
        "peak_mb (quick, jobs=1)",
        "peak_mb (quick, jobs=2)",
    ]
    lab_b = next(line for line in text.splitlines() if line.startswith("| lab_b"))
    assert [float(c) for c in lab_b.strip("|").split("|")[1:]] == [5.0, 6.0, 200.0, 210.0]
    whole_runs = text.split("## Whole runs")[1].split("## Per lab")[0]
    assert "quick, jobs=1" in whole_runs and "quick, jobs=2" in whole_runs


# --- hardening (issue 11): honest status, safe concurrent runs, argument checks -----------------

WRITE_RESULTS = (
    "import json, pathlib\n"
    "pathlib.Path(OUTPUT_DIR).mkdir(parents=True, exist_ok=True)\n"
    "pathlib.Path(OUTPUT_DIR, 'results.json').write_text(json.dumps({'data_source': 'synthetic'}))"
)


@pytest.mark.notebook
def test_sys_exit_in_a_cell_is_not_a_pass(tmp_path):
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_exiting", "import sys\nsys.exit(0)", WRITE_RESULTS)
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.status == "failed"
    assert (result.cell_index, result.cell_source) == (2, "import sys")
    assert "did not run to the end" in result.error and result.results is None


@pytest.mark.notebook
def test_a_lab_that_writes_no_results_json_does_not_pass(tmp_path):
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_silent", "x = 1")
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.status == "failed" and "results.json" in result.error


@pytest.mark.notebook
def test_a_results_json_older_than_the_run_does_not_count(tmp_path):
    stale = tmp_path / "stale.json"
    stale.write_text('{"data_source": "official"}')
    os.utime(stale, (1, 1))  # 1970: certainly older than this run
    copy = f"import shutil\nshutil.copy2({str(stale)!r}, OUTPUT_DIR + '/results.json')"
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_stale", copy)
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.status == "failed" and "results.json" in result.error


@pytest.mark.notebook
def test_kernel_crash_names_the_running_cell(tmp_path):
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_crashing", "x = 1", "import os\nos._exit(3)", WRITE_RESULTS)
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.status == "failed"
    assert (result.cell_index, result.cell_source) == (3, "import os")
    assert result.error.startswith("DeadKernelError") and "cell 3" in result.error


def test_a_notebook_path_outside_the_notebooks_folder_runs_that_file(labs, tmp_path):
    other = tmp_path / "other" / f"{PASSING}.ipynb"
    other.parent.mkdir()
    shutil.copy(FIXTURES / f"{PASSING}.ipynb", other)
    [chosen] = runner.select(labs, [str(other)])
    assert chosen.path == other.resolve() and chosen.name == PASSING
    [inside] = runner.select(labs, [str(FIXTURES / f"{FAILING}.ipynb")])
    assert inside.path == (FIXTURES / f"{FAILING}.ipynb").resolve()
    with pytest.raises(runner.UnknownLabError, match="no notebook file"):
        runner.select(labs, [str(tmp_path / "other" / f"{FAILING}.ipynb")])


@pytest.mark.notebook
def test_cli_runs_the_notebook_file_it_was_given(tmp_path):
    other = tmp_path / "other" / f"{PASSING}.ipynb"
    nb = nbformat.read(str(FIXTURES / f"{PASSING}.ipynb"), as_version=4)
    nb.cells[0].source = "# Passing fixture, the other copy"
    other.parent.mkdir()
    nbformat.write(nb, str(other))
    out = tmp_path / "out"
    assert cli.main(["run", str(other), "--notebooks", str(FIXTURES), "--output", str(out), "--no-html"]) == 0
    executed = nbformat.read(str(out / PASSING / f"{PASSING}.ipynb"), as_version=4)
    assert executed.cells[0].source == "# Passing fixture, the other copy"


def connection_files(folder: Path) -> list[Path]:
    """Return the kernel connection files in ``folder`` (jupyter_client writes them to TMPDIR)."""
    found = []
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            if {"key", "shell_port"} <= set(json.loads(path.read_text())):
                found.append(path)
    return found


def _sleeping_run(tmp_path: Path, out: Path, runtime: Path) -> subprocess.Popen:
    """Start `labs run` of a lab that sleeps, in its own process; return once its kernel sleeps."""
    tiny_lab(tmp_path / "sleepy", "c0w1_lab_sleepy", "import time\ntime.sleep(300)")
    runtime.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(runtime)}
    command = [sys.executable, "-m", "labs_utils.cli", "run", "--notebooks", str(tmp_path / "sleepy")]
    proc = subprocess.Popen([*command, "--output", str(out)], env=env, stdout=subprocess.PIPE, text=True)
    executed = out / "c0w1_lab_sleepy" / "c0w1_lab_sleepy.ipynb"
    deadline = time.monotonic() + 120
    while not (connection_files(runtime) and executed.exists() and "time.sleep" in executed.read_text()):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the sleeping run did not start its kernel: {proc.communicate()[0]}")
        time.sleep(0.2)
    time.sleep(1)  # let the kernel reach the sleeping cell
    return proc


def _stop(proc: subprocess.Popen, runtime: Path) -> None:
    """End a sleeping run and any kernel it left behind (found by its connection file)."""
    proc.terminate()
    proc.communicate(timeout=60)
    for proc_ in psutil.process_iter(["cmdline"]):
        if str(runtime) in " ".join(proc_.info["cmdline"] or []):
            proc_.kill()


@pytest.mark.notebook
def test_second_run_into_the_same_output_says_who_holds_it(tmp_path, capsys):
    out, runtime = tmp_path / "out", tmp_path / "runtime"
    proc = _sleeping_run(tmp_path, out, runtime)
    try:
        code = cli.main(["run", "passing", "--notebooks", str(FIXTURES), "--output", str(out), "--no-html"])
        err = capsys.readouterr().err
    finally:
        _stop(proc, runtime)
    assert code == 2
    assert f"pid {proc.pid}" in err and socket.gethostname() in err and "since" in err
    assert not (out / PASSING).exists()


@pytest.mark.notebook
def test_a_stale_lock_from_a_dead_process_is_taken_over(tmp_path, capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    out.mkdir()
    holder = {"pid": dead.pid, "host": socket.gethostname(), "started": "2020-01-01T00:00:00+00:00"}
    (out / ".labs-run.lock").write_text(json.dumps(holder))
    code = cli.main(["run", "passing", "--notebooks", str(FIXTURES), "--output", str(out), "--no-html"])
    assert code == 0
    assert json.loads((out / "summary.json").read_text())[0]["status"] == "passed"


@pytest.mark.notebook
def test_sigterm_writes_an_interrupted_summary_and_removes_connection_files(tmp_path):
    out, runtime = tmp_path / "out", tmp_path / "runtime"
    out.mkdir()
    old = [{"lab": "c0w1_lab_sleepy", "status": "passed"}]
    (out / "summary.json").write_text(json.dumps(old))  # a previous run's summary
    proc = _sleeping_run(tmp_path, out, runtime)
    kernel_files = connection_files(runtime)
    try:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
        kernels = [
            k for k in psutil.process_iter(["cmdline"]) if str(runtime) in " ".join(k.info["cmdline"] or [])
        ]
        alive = psutil.wait_procs(kernels, timeout=5)[1]
    finally:
        _stop(proc, runtime)
    assert proc.returncode == 130
    records = json.loads((out / "summary.json").read_text())
    assert [(r["lab"], r["status"]) for r in records] == [("c0w1_lab_sleepy", "interrupted")]
    assert "interrupted" in (out / "summary.md").read_text()
    assert kernel_files and connection_files(runtime) == []  # they hold the kernel's key
    assert alive == []  # no orphaned kernel keeps sleeping


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--jobs", "0"], "error: --jobs must be 1 or more, got 0"),
        (["--jobs", "-1"], "error: --jobs must be 1 or more, got -1"),
        (
            ["--timeout", "-1"],
            "error: --timeout must be 0 (no limit) or a positive number of seconds, got -1",
        ),
    ],
)
def test_cli_run_rejects_bad_numbers_before_starting(tmp_path, capsys, option, message):
    out = tmp_path / "out"
    assert cli.main(["run", "passing", "--notebooks", str(FIXTURES), "--output", str(out), *option]) == 2
    assert capsys.readouterr().err.strip() == message
    assert not out.exists()


def test_cli_run_rejects_an_output_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "results.txt"
    target.write_text("not a folder")
    assert cli.main(["run", "passing", "--notebooks", str(FIXTURES), "--output", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: --output {target} is a file, not a folder; pass a folder for the run's outputs"


def test_cli_run_rejects_an_output_it_cannot_write(tmp_path, capsys):
    if os.geteuid() == 0:  # root writes through permission bits; /sys refuses even root
        target = Path("/sys/labs-run-output")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
        target = locked / "out"
    assert cli.main(["run", "passing", "--notebooks", str(FIXTURES), "--output", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: cannot write to --output {target}") and "\n" not in err


def test_cli_run_reverifies_the_data_cache_first(tmp_path, monkeypatch, capsys):
    data = tmp_path / "cache"
    (data / "toy").mkdir(parents=True)
    registry = tmp_path / "registry.toml"
    registry.write_text(
        '[datasets.toy]\ntitle = "Toy"\nlicence = "CC0"\ncitation = "none"\nhomepage = "none"\n'
        '[[datasets.toy.files]]\nname = "a.csv"\nvariant = "full"\n'
        f'sha256 = "{hashlib.sha256(b"a,b").hexdigest()}"\n'
    )
    (data / "toy" / "a.csv").write_bytes(b"a,c")  # rotten copy
    monkeypatch.setenv("LABS_REGISTRY", str(registry))
    out = tmp_path / "out"
    argv = ["run", "passing", "--notebooks", str(FIXTURES), "--output", str(out), "--data-dir", str(data)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "toy/a.csv" in err and "labs data verify" in err
    assert not (out / PASSING).exists()
