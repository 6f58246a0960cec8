"""Run lab notebooks headlessly with papermill and export HTML; ``report`` summarises the runs.

papermill, nbconvert and nbformat are imported inside the functions that need them: together
they take seconds to import, and `labs list` should answer at once.
"""

from __future__ import annotations

import json
import os
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from labs_utils import hygiene, kernel

__all__ = [
    "KERNEL_ENV", "KERNEL_NAME", "NOTEBOOK_PATTERNS", "Lab", "LabResult", "UnknownLabError",
    "default_notebooks_dir", "discover", "export_html", "run_lab", "run_labs", "select",
]  # fmt: skip

# Course labs are c<course>w<week>_*.ipynb; labs beyond the course c<course>x_*.ipynb (after the weeks).
NOTEBOOK_PATTERNS = ("c[0-9]*w[0-9]*_*.ipynb", "c[0-9]*x_*.ipynb")
KERNEL_NAME = hygiene.KERNEL_NAME
KERNEL_ENV = kernel.KERNEL_ENV


@dataclass(frozen=True)
class Lab:
    """A lab notebook: short name (file stem), path and title (first H1)."""

    name: str
    path: Path
    title: str


@dataclass
class LabResult:
    """The outcome of one lab run.

    For failures, `cell_index` counts cells of the source notebook from 0, `cell_source` is the
    cell's first line and `cell_line` the line that raised ("3: assert ...") when known.
    """

    lab: str
    status: str  # passed | failed | timeout
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
    results: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """Return whether the lab ran to the end without an error."""
        return self.status == "passed"


class UnknownLabError(ValueError):
    """Raised when a name matches no lab."""


class _LabKernelManager(AsyncKernelManager):
    """Start kernels with the lab environment (UTC, fixed hash seed) on top of ours."""

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        # Encrypted kernels also skip ipykernel's "running over TCP without encryption" warning.
        return "auto" if zmq.has("curve") else "disabled"

    memory: _PeakMemory | None = None  # set on a per-run subclass by run_lab

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        """Start the kernel with `KERNEL_ENV` added to its environment."""
        kw["env"] = {**(kw.get("env") or os.environ), **KERNEL_ENV}
        await super().start_kernel(**kw)
        process = getattr(self.provisioner, "process", None)
        if self.memory is not None and process is not None:
            self.memory.watch(process.pid)


class _PeakMemory:
    """Sample the resident memory of a process and its children until it exits; keep the peak."""

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peak_bytes = 0

    def watch(self, pid: int) -> None:
        """Start sampling `pid` in a daemon thread."""
        threading.Thread(target=self._sample, args=(pid,), daemon=True).start()

    def _sample(self, pid: int) -> None:
        import psutil

        try:
            root = psutil.Process(pid)
            while root.is_running() and root.status() != psutil.STATUS_ZOMBIE:
                total = 0
                for proc in [root, *root.children(recursive=True)]:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak_bytes = max(self.peak_bytes, total)
                time.sleep(self.interval)
        except psutil.Error:
            return

    @property
    def peak_mb(self) -> float | None:
        """Return the peak in MiB, or None if nothing was sampled."""
        return round(self.peak_bytes / 2**20, 1) if self.peak_bytes else None


# --- discovery ------------------------------------------------------------------------------


def default_notebooks_dir() -> Path:
    """Return the project's notebooks/ (source checkout) or ./notebooks."""
    checkout = Path(__file__).resolve().parents[2] / "notebooks"
    return checkout if checkout.is_dir() else Path.cwd() / "notebooks"


def discover(notebooks_dir: str | Path | None = None) -> list[Lab]:
    """Return the lab notebooks (`c<course>w<week>_*.ipynb`, then `c<course>x_*.ipynb`) in course order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"notebooks directory {folder} does not exist")
    paths = sorted({p for pattern in NOTEBOOK_PATTERNS for p in folder.glob(pattern)})
    return [Lab(p.stem, p.resolve(), hygiene.notebook_title(p)) for p in paths]


def select(labs: Sequence[Lab], names: Iterable[str] | None) -> list[Lab]:
    """Return the labs picked by exact name or by substring (all matches), in course order.

    Args:
        labs: the labs to choose from, e.g. `discover()`.
        names: stems, substrings or notebook paths; empty or None selects every lab.

    Raises:
        UnknownLabError: a name matches no lab; the message lists the available ones.
    """
    names = list(names or [])
    if not names:
        return list(labs)
    chosen: set[str] = set()
    for raw in names:
        name = Path(raw).stem if raw.endswith(".ipynb") else raw
        exact = [lab.name for lab in labs if lab.name == name]
        matches = exact or [lab.name for lab in labs if name.lower() in lab.name.lower()]
        if not matches:
            available = "\n  ".join(lab.name for lab in labs) or "(none)"
            raise UnknownLabError(f"no lab matches {raw!r}. Available labs:\n  {available}")
        chosen.update(matches)
    return [lab for lab in labs if lab.name in chosen]


# --- running --------------------------------------------------------------------------------


def _kernel_executable(kernel_name: str = KERNEL_NAME) -> str:
    """Return the Python executable jupyter_client launches for `kernel_name`."""
    return AsyncKernelManager(kernel_name=kernel_name).format_kernel_cmd()[0]


def _check_kernel(kernel_name: str) -> None:
    """Fail unless the kernel runs in this interpreter's environment."""
    kernel_bin = Path(os.path.abspath(_kernel_executable(kernel_name))).parent
    our_bin = Path(os.path.abspath(sys.executable)).parent
    if kernel_bin != our_bin:
        raise RuntimeError(
            f"kernel {kernel_name!r} runs {_kernel_executable(kernel_name)}, not this environment "
            f"({our_bin}); remove the other {kernel_name!r} kernelspec (`jupyter kernelspec list`) "
            "or unset JUPYTER_PATH"
        )


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
    kernel_name: str = KERNEL_NAME,
    allow_errors: bool = False,
) -> LabResult:
    """Return how one lab run into `<output_dir>/<lab>/` went; never raises for lab errors.

    The notebook runs with its working directory and OUTPUT_DIR set to `<output_dir>/<lab>/`,
    gets QUICK, SEED (and DATA_DIR when given) injected where its `parameters` cell declares them,
    and stops a cell after `timeout` seconds (None: no limit). The executed notebook and its HTML
    export land there too, also for failed runs. `allow_errors` runs every cell even after one raised
    (the grader's mode); the run still counts as failed, at the first cell that raised.
    """
    import papermill
    from nbclient.exceptions import CellTimeoutError

    lab_dir = Path(output_dir).resolve() / lab.name
    lab_dir.mkdir(parents=True, exist_ok=True)
    executed = lab_dir / f"{lab.name}.ipynb"
    for stale in (executed, lab_dir / f"{lab.name}.html", lab_dir / "results.json"):
        stale.unlink(missing_ok=True)
    parameters: dict[str, Any] = {"QUICK": quick, "OUTPUT_DIR": str(lab_dir), "SEED": seed}
    if data_dir is not None:
        parameters["DATA_DIR"] = str(Path(data_dir).resolve())
    # A lab declares only the parameters that change something in it (no QUICK without a quick mode).
    declared = hygiene.declared_parameters(lab.path) | {"OUTPUT_DIR"}
    parameters = {name: value for name, value in parameters.items() if name in declared}
    result = LabResult(lab=lab.name, status="passed", seconds=0.0, quick=quick)
    memory = _PeakMemory()
    manager_class = type("_RunKernelManager", (_LabKernelManager,), {"memory": memory})
    start = time.perf_counter()
    try:
        if kernel_name == KERNEL_NAME:
            kernel.install()
        _check_kernel(kernel_name)
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
            kernel_manager_class=manager_class,
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
    result.seconds = round(time.perf_counter() - start, 1)
    result.peak_rss_mb = memory.peak_mb
    result.notebook = executed if executed.exists() else None
    result.results = _read_results(lab_dir / "results.json")
    if result.results and "data_source" in result.results:
        result.data_source = str(result.results["data_source"])
    if html and result.notebook is not None:
        result.html = export_html(result.notebook, lab_dir / f"{lab.name}.html")
    return result


def run_labs(
    labs: Sequence[Lab],
    *,
    output_dir: str | Path,
    quick: bool,
    jobs: int = 1,
    seed: int = 42,
    timeout: float | None = None,
    data_dir: str | Path | None = None,
    html: bool = True,
    on_event: Callable[[str], Any] | None = print,
) -> list[LabResult]:
    """Return the results of running every lab (`jobs` at a time, even after failures), in order.

    `on_event` receives one progress line when each lab starts and finishes.
    """
    labs = list(labs)
    total = len(labs)
    lock = threading.Lock()

    def emit(line: str) -> None:
        if on_event is not None:
            with lock:
                on_event(line)

    def one(index: int, lab: Lab) -> LabResult:
        emit(f"[{index + 1}/{total}] start   {lab.name}")
        try:
            result = run_lab(
                lab,
                output_dir=output_dir,
                quick=quick,
                seed=seed,
                timeout=timeout,
                data_dir=data_dir,
                html=html,
                progress_bar=jobs <= 1 and sys.stderr.isatty(),
            )
        except Exception as err:  # noqa: BLE001 - a runner bug must not hang the other labs
            result = LabResult(lab.name, "failed", 0.0, quick, error=f"{type(err).__name__}: {err}")
        emit(f"[{index + 1}/{total}] {_progress_line(result)}")
        return result

    if jobs <= 1 or total <= 1:
        return [one(i, lab) for i, lab in enumerate(labs)]
    return _run_parallel(labs, one, jobs)


def _run_parallel(labs: list[Lab], one: Callable[[int, Lab], LabResult], jobs: int) -> list[LabResult]:
    """Run `one` over the labs in `jobs` daemon threads so Ctrl-C ends the run at once."""
    todo: queue.SimpleQueue[tuple[int, Lab]] = queue.SimpleQueue()
    done: queue.SimpleQueue[tuple[int, LabResult]] = queue.SimpleQueue()
    stop = threading.Event()
    for item in enumerate(labs):
        todo.put(item)

    def worker() -> None:
        while not stop.is_set():
            try:
                index, lab = todo.get_nowait()
            except queue.Empty:
                return
            done.put((index, one(index, lab)))

    for _ in range(min(jobs, len(labs))):
        threading.Thread(target=worker, daemon=True).start()
    results: list[LabResult | None] = [None] * len(labs)
    try:
        for _ in labs:
            index, result = done.get()
            results[index] = result
    finally:
        stop.set()
    return [r for r in results if r is not None]


def export_html(notebook: str | Path, html_path: str | Path) -> Path:
    """Return the path of a standalone HTML export of an executed notebook (fetches nothing)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = HTMLExporter(embed_images=False).from_notebook_node(nb)
    html_path = Path(html_path)
    html_path.write_text(body, encoding="utf-8")
    return html_path


def _progress_line(result: LabResult) -> str:
    """Format the progress line that reports a finished lab."""
    line = f"{result.status:<7} {result.lab} in {result.seconds:.1f} s"
    if not result.passed:
        where = f"cell {result.cell_index}: " if result.cell_index is not None else ""
        if result.cell_line:
            where = f"cell {result.cell_index}, line {result.cell_line.split(':')[0]}: "
        line += f" ({where}{result.error})"
    return line


def _mark_timeout(lab: Lab, executed: Path, result: LabResult) -> None:
    """Find the cell that timed out and flag it at the top of the executed notebook."""
    import nbformat

    if not executed.exists():
        return
    nb = nbformat.read(str(executed), as_version=4)
    started = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.get("metadata", {}).get("papermill", {}).get("start_time")
    ]
    if not started:
        return
    index = started[-1]
    result.cell_index = _source_index(lab.path, index, nb.cells[index].source)
    result.cell_source = hygiene.first_line(nb.cells[index].source)
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
