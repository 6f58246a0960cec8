"""What a run leaves behind: HTML with the cell outputs, results in lab order, one folder per lab,
no stale files from an earlier run, a kernel from this environment, and unreadable results.json."""

from __future__ import annotations

import html
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from test_runner import new_notebook, parameters_cell, tiny_lab

from labs_utils import execution, hygiene, kernel_runs, report, runner

# Each lab records where it ran and prints a line whose text appears only in the cell's output.
# A lab can first wait (up to three minutes) for other labs' HTML pages, the last file a run writes,
# to fix the finishing order.
RECORD = """\
import json, os, time
from pathlib import Path
deadline = time.time() + 180
while time.time() < deadline and not all(
    (Path(OUTPUT_DIR).parent / other / f"{{other}}.html").exists() for other in {wait_for!r}
):
    time.sleep(0.2)
Path("relative.txt").write_text("{name}")
print("answer:", 6 * 7, "from", "{name}".upper())
(Path(OUTPUT_DIR) / "results.json").write_text(json.dumps(
    {{"lab": "{name}", "cwd": os.getcwd(), "output_dir": OUTPUT_DIR, "data_source": "synthetic"}}
))"""


def page_text(path: Path) -> str:
    """Return the text of an HTML page without its tags (syntax highlighting splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def recording_lab(folder: Path, name: str, wait_for: tuple[str, ...] = ()) -> runner.Lab:
    """Write a lab that records its working directory and OUTPUT_DIR once `wait_for` labs are done."""
    return tiny_lab(folder, name, RECORD.format(name=name, wait_for=wait_for))


@pytest.fixture(scope="module")
def parallel_run(tmp_path_factory):
    """Three labs, two at a time; the first waits for the other two, so that it finishes last."""
    root = tmp_path_factory.mktemp("parallel")
    names = ["c0w1_lab_slow", "c0w2_lab_fast", "c0w3_lab_fast"]
    labs = [recording_lab(root / "nbs", names[0], wait_for=tuple(names[1:]))]
    labs += [recording_lab(root / "nbs", name) for name in names[1:]]
    finished: list[str] = []
    results = runner.run_labs(labs, output_dir=root / "out", quick=True, jobs=2, on_event=finished.append)
    return root / "out", names, results, finished


@pytest.mark.notebook
def test_parallel_results_come_back_in_lab_order_not_finishing_order(parallel_run):
    _, names, results, events = parallel_run
    finish_order = [e.split()[2] for e in events if "start" not in e]
    assert finish_order[-1] == "c0w1_lab_slow", f"the fixture needs the slow lab last: {events}"
    assert [r.lab for r in results] == names
    assert all(r.passed for r in results), [(r.lab, r.error) for r in results]


@pytest.mark.notebook
def test_parallel_labs_each_run_in_their_own_folder(parallel_run):
    out, names, results, _ = parallel_run
    for name, result in zip(names, results, strict=True):
        lab_dir = (out / name).resolve()
        recorded = json.loads((lab_dir / "results.json").read_text())
        assert recorded["lab"] == name
        assert Path(recorded["cwd"]) == lab_dir and Path(recorded["output_dir"]) == lab_dir
        assert (lab_dir / "relative.txt").read_text() == name
        assert result.results == recorded and result.notebook == lab_dir / f"{name}.ipynb"
    assert sorted(p.name for p in out.iterdir()) == names


@pytest.mark.notebook
def test_html_export_holds_the_cell_outputs(parallel_run):
    _, names, results, _ = parallel_run
    for name, result in zip(names, results, strict=True):
        text = page_text(result.html)
        # The source says `6 * 7` and `"{name}".upper()`; only the output has the evaluated text.
        assert f"answer: 42 from {name.upper()}" in text
        assert "time.sleep(0.2)" in text  # and the code is there too


@pytest.mark.notebook
def test_export_html_of_a_failure_shows_the_error_output(tmp_path):
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_raising", 'raise ValueError("bad " + "value " + str(40 + 2))')
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True)
    assert result.status == "failed" and result.error == "ValueError: bad value 42"
    assert "ValueError: bad value 42" in page_text(result.html)


@pytest.mark.notebook
def test_a_rerun_deletes_the_outputs_of_the_previous_run(tmp_path):
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_early", 'raise RuntimeError("fails before results.json")')
    lab_dir = tmp_path / "out" / lab.name
    lab_dir.mkdir(parents=True)
    (lab_dir / "results.json").write_text(json.dumps({"data_source": "official", "passed": True}))
    (lab_dir / f"{lab.name}.html").write_text("<p>stale page</p>")
    (lab_dir / f"{lab.name}.ipynb").write_text("stale notebook")
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.status == "failed" and "fails before results.json" in result.error
    assert result.results is None and result.data_source == "-"
    assert not (lab_dir / "results.json").exists()
    assert not (lab_dir / f"{lab.name}.html").exists() and result.html is None
    executed = nbformat.read(str(lab_dir / f"{lab.name}.ipynb"), as_version=4)  # this run's
    assert any("fails before results.json" in str(c.get("outputs")) for c in executed.cells)


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2, 3]", '"a string"', ""], ids=["broken", "list", "string", "empty"]
)
def test_an_invalid_results_json_is_no_results(tmp_path, content):
    path = tmp_path / "results.json"
    path.write_text(content)
    assert execution._read_results(path) is None
    assert execution._read_results(tmp_path / "absent.json") is None
    path.write_text('{"data_source": "mirror", "rows": 3}')
    assert execution._read_results(path) == {"data_source": "mirror", "rows": 3}


@pytest.mark.notebook
def test_a_lab_writing_invalid_results_json_has_no_data_source(tmp_path):
    write = 'from pathlib import Path\n(Path(OUTPUT_DIR) / "results.json").write_text("{\\"data_source\\": ")'
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_badjson", write)
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=True, html=False)
    assert result.passed and result.results is None and result.data_source == "-"
    report.write_summary([result], tmp_path / "out")
    (record,) = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert record["data_source"] == "-"


@pytest.fixture
def other_kernel(tmp_path, monkeypatch) -> Path:
    """Register kernel `other-python`, whose interpreter lies outside this environment; return its bin/."""
    other_bin = tmp_path / "other-env" / "bin"
    other_bin.mkdir(parents=True)
    (other_bin / "python").symlink_to(sys.executable)  # the same Python, in another folder
    spec_dir = tmp_path / "jupyter" / "kernels" / "other-python"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [str(other_bin / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Other Python",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    jupyter_path = str(tmp_path / "jupyter") + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    return other_bin


def test_check_kernel_says_which_interpreter_and_how_to_fix_it(other_kernel):
    ours = Path(os.path.abspath(sys.executable)).parent
    with pytest.raises(RuntimeError) as info:
        kernel_runs.check_kernel("other-python")
    assert str(info.value) == (
        f"kernel 'other-python' runs {other_kernel / 'python'}, not this environment ({ours}); remove "
        "the other 'other-python' kernelspec (`jupyter kernelspec list`) or unset JUPYTER_PATH"
    )


def test_a_kernel_from_another_environment_is_refused(tmp_path, other_kernel):
    passing = Path(__file__).parent / "fixtures" / "notebooks" / "c0w1_lab_passing.ipynb"
    lab = runner.Lab(passing.stem, passing, "Passing fixture")
    result = runner.run_lab(
        lab, output_dir=tmp_path / "out", quick=True, timeout=60, kernel_name="other-python"
    )
    ours = Path(os.path.abspath(sys.executable)).parent
    refusal = (
        f"RuntimeError: kernel 'other-python' runs {other_kernel / 'python'}, not this environment ({ours}); "
        "remove the other 'other-python' kernelspec (`jupyter kernelspec list`) or unset JUPYTER_PATH"
    )
    assert result.status == "failed"
    assert result.error == hygiene.first_line(refusal)  # shortened as every error line is
    assert result.results is None  # refused before the notebook ran


# --- run_labs without kernels: order, folders and progress with a stand-in for run_lab -------


@pytest.mark.parametrize("jobs", [1, 2, 3])
def test_run_labs_returns_lab_order_and_reports_each_lab_once(tmp_path, monkeypatch, jobs):
    labs = [runner.Lab(f"c0w{i}_lab", tmp_path / f"c0w{i}_lab.ipynb", "") for i in range(1, 5)]
    delays = {"c0w1_lab": 0.3, "c0w2_lab": 0.0, "c0w3_lab": 0.2, "c0w4_lab": 0.0}  # finish out of order
    calls: list[dict] = []

    def fake_run_lab(lab, **kwargs):
        import time

        calls.append({"lab": lab.name, **kwargs})
        time.sleep(delays[lab.name])
        if lab.name == "c0w3_lab":
            raise RuntimeError("runner bug")
        return runner.LabResult(lab.name, "passed", delays[lab.name], kwargs["quick"])

    monkeypatch.setattr(runner, "run_lab", fake_run_lab)
    events: list[str] = []
    results = runner.run_labs(
        labs, output_dir=tmp_path, quick=True, jobs=jobs, seed=5, timeout=9.0, on_event=events.append
    )
    assert [r.lab for r in results] == [lab.name for lab in labs]
    assert [r.status for r in results] == ["passed", "passed", "failed", "passed"]
    assert results[2].error == "RuntimeError: runner bug" and results[2].quick is True
    assert sorted(c["lab"] for c in calls) == [lab.name for lab in labs]
    for call in calls:
        assert (call["output_dir"], call["quick"], call["seed"], call["timeout"]) == (tmp_path, True, 5, 9.0)
        assert call["html"] is True and call["data_dir"] is None
        assert call["progress_bar"] is False  # never a bar when stderr is not a terminal
    assert sorted(e for e in events if "start" in e) == [f"[{i}/4] start   c0w{i}_lab" for i in range(1, 5)]
    finished = sorted(e for e in events if "start" not in e)
    assert finished[2] == "[3/4] failed  c0w3_lab in 0.0 s (RuntimeError: runner bug)"
    assert finished[0] == "[1/4] passed  c0w1_lab in 0.3 s"


def test_progress_line_names_the_cell_and_line_of_a_failure():
    failed = runner.LabResult("lab", "failed", 2.0, True, cell_index=4, cell_line="2: assert x", error="E: x")
    assert runner._progress_line(failed) == "failed  lab in 2.0 s (cell 4, line 2: E: x)"
    failed.cell_line = None
    assert runner._progress_line(failed) == "failed  lab in 2.0 s (cell 4: E: x)"
    timeout = runner.LabResult("lab", "timeout", 1.25, True, error="CellTimeoutError: slow")
    assert runner._progress_line(timeout) == "timeout lab in 1.2 s (CellTimeoutError: slow)"


def test_source_index_maps_executed_cells_back_to_the_source(tmp_path):
    path = new_notebook(
        tmp_path / "c0w1_lab_x.ipynb",
        [nbformat.v4.new_markdown_cell("# X"), parameters_cell(), nbformat.v4.new_code_cell("y = 1")]
        + [nbformat.v4.new_code_cell("same = 1") for _ in range(2)],
    )
    # The executed notebook has one injected cell, so its indexes are one higher.
    assert execution._source_index(path, 3, "y = 1") == 2
    assert execution._source_index(path, 5, "same = 1") == 4
    assert execution._source_index(path, 7, "not in the source") == 7


def test_run_labs_defaults_run_one_at_a_time_with_seed_42_and_html(tmp_path, monkeypatch):
    labs = [runner.Lab(f"c0w{i}_lab", tmp_path / f"c0w{i}_lab.ipynb", "") for i in (1, 2)]
    running: list[str] = []
    calls: list[dict] = []

    def fake_run_lab(lab, **kwargs):
        import time

        running.append(lab.name)
        time.sleep(0.3)  # long enough for a second worker to start the other lab
        calls.append({**kwargs, "alongside": list(running)})
        running.remove(lab.name)
        return runner.LabResult(lab.name, "passed", 0.0, kwargs["quick"])

    monkeypatch.setattr(runner, "run_lab", fake_run_lab)
    results = runner.run_labs(labs, output_dir=tmp_path, quick=False, on_event=None)
    assert [r.lab for r in results] == ["c0w1_lab", "c0w2_lab"]
    assert [(c["seed"], c["html"], c["timeout"], c["quick"]) for c in calls] == [(42, True, None, False)] * 2
    assert [c["alongside"] for c in calls] == [["c0w1_lab"], ["c0w2_lab"]]  # one at a time


def test_an_unknown_lab_name_lists_the_labs_one_per_line():
    labs = [runner.Lab("c0w1_a", Path("a"), ""), runner.Lab("c0w2_b", Path("b"), "")]
    with pytest.raises(runner.UnknownLabError) as info:
        runner.select(labs, ["zzz"])
    assert str(info.value) == "no lab matches 'zzz'. Available labs:\n  c0w1_a\n  c0w2_b"
    with pytest.raises(runner.UnknownLabError) as info:
        runner.select([], ["zzz"])
    assert str(info.value) == "no lab matches 'zzz'. Available labs:\n  (none)"


class _Terminal:
    """A stand-in stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize(("jobs", "bar"), [(1, True), (2, False)])
def test_a_progress_bar_only_for_one_lab_at_a_time_on_a_terminal(tmp_path, monkeypatch, jobs, bar):
    labs = [runner.Lab(f"c0w{i}_lab", tmp_path / f"c0w{i}_lab.ipynb", "") for i in (1, 2)]
    bars: list[bool] = []

    def fake_run_lab(lab, **kwargs):
        bars.append(kwargs["progress_bar"])
        return runner.LabResult(lab.name, "passed", 0.0, True)

    monkeypatch.setattr(runner, "run_lab", fake_run_lab)
    monkeypatch.setattr(sys, "stderr", _Terminal())
    runner.run_labs(labs, output_dir=tmp_path, quick=True, jobs=jobs, on_event=None)
    assert bars == [bar, bar]


def test_two_jobs_run_two_labs_at_the_same_time(tmp_path, monkeypatch):
    import threading

    labs = [runner.Lab(f"c0w{i}_lab", tmp_path / f"c0w{i}_lab.ipynb", "") for i in (1, 2)]
    both_started = threading.Barrier(2, timeout=10)  # breaks unless the two labs overlap

    def fake_run_lab(lab, **kwargs):
        both_started.wait()
        return runner.LabResult(lab.name, "passed", 0.0, True)

    monkeypatch.setattr(runner, "run_lab", fake_run_lab)
    results = runner.run_labs(labs, output_dir=tmp_path, quick=True, jobs=2, on_event=None)
    assert [r.status for r in results] == ["passed", "passed"], [r.error for r in results]
