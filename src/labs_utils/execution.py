"""Run one lab notebook headlessly with papermill and say how it went: the cell that failed or
timed out, whether it ran to the end and wrote results.json, and its HTML export.

papermill, nbconvert and nbformat are imported inside the functions that need them: together
they take seconds to import, and `labs list` should answer at once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labs_utils import data_used, hygiene, kernel, kernel_runs
from labs_utils.discovery import Lab

__all__ = ["LabResult", "export_html", "run_lab"]


@dataclass
class LabResult:
    """The outcome of one lab run.

    For failures, `cell_index` counts cells of the source notebook from 0, `cell_source` is the
    cell's first line and `cell_line` the line that raised ("3: assert ...") when known.
    `stand_ins` lists the datasets the lab ran on stand-ins for, each with the steps to the
    official files (``dataset``, ``data_source``, ``files``, ``how_to_get``).
    """

    lab: str
    status: str  # passed | failed | timeout | interrupted
    seconds: float
    quick: bool
    data_source: str = "-"
    cell_index: int | None = None
    cell_source: str | None = None
    cell_line: str | None = None
    error: str | None = None
    notebook: Path | None = None
    html: Path | None = None
    peak_rss_mb: float | None = None  # kernel process tree (Beam workers included), sampled
    stand_ins: list[dict[str, Any]] = field(default_factory=list)  # see `data_used.stand_ins`
    results: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """Return whether the lab ran to the end without an error."""
        return self.status == "passed"


def run_lab(
    lab: Lab,
    *,
    output_dir: str | Path,
    quick: bool,
    seed: int = 42,
    timeout: float | None = None,
    data_dir: str | Path | None = None,
    html: bool = True,
    progress_bar: bool = False,
    kernel_name: str = kernel_runs.KERNEL_NAME,
    require_official: bool = False,
    allow_errors: bool = False,
    beam_args: Sequence[str] | None = None,
) -> LabResult:
    """Return how one lab run into `<output_dir>/<lab>/` went; never raises for lab errors.

    The notebook runs with its working directory and OUTPUT_DIR set to `<output_dir>/<lab>/`,
    gets QUICK, SEED (and DATA_DIR when given) injected where its `parameters` cell declares them,
    and stops a cell after `timeout` seconds (None: no limit). The executed notebook and its HTML
    export land there too, also for failed runs. The data helpers log what they hand out to
    `data_used.jsonl` there; a lab that ran on stand-ins gets a banner cell on top of its executed
    notebook. With `require_official`, the helpers refuse stand-ins (``LABS_REQUIRE_OFFICIAL_DATA=1``)
    and a lab that still used one fails. `allow_errors` runs every cell even after one raised (the
    grader's mode); the run still counts as failed, at the first cell that raised. `beam_args` become
    BEAM_ARGS, like the other parameters only in labs that declare it; other labs run without them.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError

    lab_dir = Path(output_dir).resolve() / lab.name
    lab_dir.mkdir(parents=True, exist_ok=True)
    executed = lab_dir / f"{lab.name}.ipynb"
    data_log = lab_dir / data_used.DATA_LOG
    for stale in (executed, lab_dir / f"{lab.name}.html", lab_dir / "results.json", data_log):
        stale.unlink(missing_ok=True)
    run_env = {"LABS_DATA_LOG": str(data_log)}
    if require_official:
        run_env["LABS_REQUIRE_OFFICIAL_DATA"] = "1"
    parameters: dict[str, Any] = {"QUICK": quick, "OUTPUT_DIR": str(lab_dir), "SEED": seed}
    if data_dir is not None:
        parameters["DATA_DIR"] = str(Path(data_dir).resolve())
    if beam_args:
        parameters["BEAM_ARGS"] = list(beam_args)
    # A lab declares only the parameters that change something in it (no QUICK without a quick mode).
    declared = hygiene.declared_parameters(lab.path) | {"OUTPUT_DIR"}
    parameters = {name: value for name, value in parameters.items() if name in declared}
    result = LabResult(lab=lab.name, status="passed", seconds=0.0, quick=quick)
    memory = kernel_runs.PeakMemory()
    start = time.perf_counter()
    started_at = time.time()
    try:
        if kernel_name == kernel_runs.KERNEL_NAME:
            kernel.install()
        kernel_runs.check_kernel(kernel_name)
        papermill.execute_notebook(
            str(lab.path),
            str(executed),
            parameters=parameters,
            kernel_name=kernel_name,
            progress_bar=progress_bar,
            execution_timeout=timeout,
            # papermill's own `cwd` chdirs the whole process, which breaks parallel runs; this
            # starts only the kernel in lab_dir.
            resources={"metadata": {"path": str(lab_dir)}},
            kernel_manager_class=kernel_runs.manager_class(memory, run_env),
            **({"allow_errors": True} if allow_errors else {}),
        )
    except papermill.PapermillExecutionError as err:
        result.status = "failed"
        result.cell_index = _source_index(lab.path, err.cell_index, err.source)
        result.cell_source = hygiene.first_line(err.source)
        result.cell_line = _raising_line(err.traceback, err.source)
        result.error = hygiene.first_line(f"{err.ename}: {err.evalue}" if err.evalue else err.ename)
    except CellTimeoutError:
        result.status = "timeout"
        result.error = f"CellTimeoutError: a cell ran longer than the {timeout} s timeout"
        _mark_timeout(lab, executed, result)
    except Exception as err:  # noqa: BLE001 - kernel deaths, bad notebooks: report, don't stop
        result.status = "failed"
        result.error = hygiene.first_line(f"{type(err).__name__}: {err}")
        if type(err).__name__ == "DeadKernelError":
            _name_dead_kernel_cell(lab, executed, result)
    result.seconds = round(time.perf_counter() - start, 1)
    result.peak_rss_mb = memory.peak_mb
    result.notebook = executed if executed.exists() else None
    results_file = lab_dir / "results.json"
    if result.passed:
        _check_ran_to_the_end(lab, executed, results_file, started_at, result)
    if _written_since(results_file, started_at):
        result.results = _read_results(results_file)
    if result.results and "data_source" in result.results:
        result.data_source = str(result.results["data_source"])
    data_used.check_data(result, data_log, require_official)
    if result.stand_ins and result.notebook is not None:
        data_used.add_banner(result.notebook, result.stand_ins)
    if html and result.notebook is not None:
        result.html = export_html(result.notebook, lab_dir / f"{lab.name}.html")
    return result


def _check_ran_to_the_end(
    lab: Lab, executed: Path, results: Path, started_at: float, result: LabResult
) -> None:
    """Fail a "passed" run whose notebook stopped early (``sys.exit()``) or wrote no fresh results.json."""
    import nbformat

    cells = nbformat.read(str(executed), as_version=4).cells if executed.exists() else []
    for index, cell in enumerate(cells):
        meta = cell.get("metadata", {}).get("papermill", {})
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if meta.get("status") == "completed" and meta.get("start_time"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        cause = f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else "it was never run"
        result.status = "failed"
        result.cell_index = _source_index(lab.path, index, cell.source)
        result.cell_source = hygiene.first_line(cell.source)
        result.error = hygiene.first_line(
            f"the notebook did not run to the end: cell {result.cell_index} stopped it ({cause})"
        )
        return
    if not results.exists():
        result.status = "failed"
        result.error = "the notebook ran to the end but wrote no results.json to OUTPUT_DIR"
    elif not _written_since(results, started_at):
        result.status = "failed"
        result.error = "OUTPUT_DIR/results.json was not written by this run (it is older than the run)"


def _written_since(path: Path, started_at: float) -> bool:
    """Tell whether ``path`` exists and was modified after ``started_at`` (1 s of clock slack)."""
    try:
        return path.stat().st_mtime >= started_at - 1
    except OSError:
        return False


def _name_dead_kernel_cell(lab: Lab, executed: Path, result: LabResult) -> None:
    """Name the cell that was running when the kernel died (os._exit, a segfault, the OOM killer)."""
    running = _running_cell(lab, executed)
    if running is None:
        return
    result.cell_index, result.cell_source = running
    result.error = hygiene.first_line(
        f"DeadKernelError: the kernel died while running cell {result.cell_index} "
        f"({result.cell_source}); it may have run out of memory or called os._exit()"
    )


def export_html(notebook: str | Path, html_path: str | Path) -> Path:
    """Return the path of a standalone HTML export of an executed notebook (fetches nothing)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = HTMLExporter(embed_images=False).from_notebook_node(nb)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _running_cell(lab: Lab, executed: Path) -> tuple[int, str] | None:
    """Return the source index and first line of the last cell papermill started."""
    import nbformat

    if not executed.exists():
        return None
    nb = nbformat.read(str(executed), as_version=4)
    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return None
    source = nb.cells[started[-1]].source
    return _source_index(lab.path, started[-1], source), hygiene.first_line(source)


def _mark_timeout(lab: Lab, executed: Path, result: LabResult) -> None:
    """Find the cell that timed out and flag it at the top of the executed notebook."""
    import nbformat

    running = _running_cell(lab, executed)
    if running is None:
        return
    result.cell_index, result.cell_source = running
    nb = nbformat.read(str(executed), as_version=4)
    banner = nbformat.v4.new_markdown_cell(
        f"**Timed out**: cell {result.cell_index} (`{result.cell_source}`) ran longer than the "
        "per-cell timeout; the run stopped there."
    )
    nb.cells.insert(0, banner)
    nbformat.write(nb, str(executed))


def _raising_line(traceback: list[str], source: str) -> str | None:
    """Return "<n>: <code>" for the cell line an IPython traceback points at, if it names one."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))
    match = re.search(r"Cell In\[\d*\], line (\d+)", text)
    lines = source.splitlines()
    if not match or not 0 < int(match.group(1)) <= len(lines):
        return None
    number = int(match.group(1))
    return f"{number}: {hygiene.first_line(lines[number - 1])}"


def _source_index(source_path: Path, executed_index: int, source: str) -> int:
    """Map a cell index of the executed notebook (which has an injected cell) to the source's."""
    cells = json.loads(Path(source_path).read_text(encoding="utf-8"))["cells"]
    same = [i for i, cell in enumerate(cells) if hygiene.cell_source(cell) == source]
    return min(same, key=lambda i: abs(i - executed_index)) if same else executed_index


def _read_results(path: Path) -> dict[str, Any] | None:
    """Load a lab's results.json, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
