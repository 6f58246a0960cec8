"""Run lab notebooks headlessly with papermill and export HTML; ``report`` summarises the runs.

papermill, nbconvert and nbformat are imported inside the functions that need them: together
they take seconds to import, and `labs list` should answer at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
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
    "default_notebooks_dir", "discover", "export_html", "run_lab", "run_labs", "select", "stand_ins",
    "stop_kernels",
]  # fmt: skip

# Course labs are c<course>w<week>_*.ipynb; labs beyond the course c<course>x_*.ipynb (after the weeks).
NOTEBOOK_PATTERNS = ("c[0-9]*w[0-9]*_*.ipynb", "c[0-9]*x_*.ipynb")
KERNEL_NAME = hygiene.KERNEL_NAME
KERNEL_ENV = kernel.KERNEL_ENV
DATA_LOG = "data_used.jsonl"  # in each lab's folder: what the data helpers handed out


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
    stand_ins: list[dict[str, Any]] = field(default_factory=list)  # see `stand_ins`
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
    run_env: dict[str, str] = {}  # per-run variables (data log, official data), ditto

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
        """Start the kernel with `KERNEL_ENV` and the run's own variables added to its environment."""
        kw["env"] = {**(kw.get("env") or os.environ), **KERNEL_ENV, **self.run_env}
        await super().start_kernel(**kw)
        process = getattr(self.provisioner, "process", None)
        with _KERNELS_LOCK:
            _KERNELS[self.connection_file] = process.pid if process is not None else None
        if self.memory is not None and process is not None:
            self.memory.watch(process.pid)


# Kernels started by this process: connection file -> pid. Normally papermill shuts each down and
# deletes its connection file (which holds the kernel's key); after Ctrl-C or SIGTERM,
# stop_kernels does both.
_KERNELS: dict[str, int | None] = {}
_KERNELS_LOCK = threading.Lock()


def stop_kernels() -> list[str]:
    """Return the connection files removed after killing every kernel this process started that still runs."""
    import psutil

    with _KERNELS_LOCK:
        kernels = dict(_KERNELS)
        _KERNELS.clear()
    removed = []
    for connection_file, pid in kernels.items():
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                kernel = psutil.Process(pid)
                tree = [*kernel.children(recursive=True), kernel]
                for proc in tree:
                    with contextlib.suppress(psutil.Error):
                        proc.kill()
                psutil.wait_procs(tree, timeout=5)
        if connection_file and os.path.exists(connection_file):
            os.unlink(connection_file)
            removed.append(connection_file)
    return removed


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
    files: list[Lab] = []
    for raw in names:
        if raw.endswith(".ipynb") and (Path(raw).is_file() or Path(raw).parent != Path(".")):
            files.append(_lab_file(labs, Path(raw)))
            continue
        name = Path(raw).stem if raw.endswith(".ipynb") else raw
        exact = [lab.name for lab in labs if lab.name == name]
        matches = exact or [lab.name for lab in labs if name.lower() in lab.name.lower()]
        if not matches:
            available = "\n  ".join(lab.name for lab in labs) or "(none)"
            raise UnknownLabError(f"no lab matches {raw!r}. Available labs:\n  {available}")
        chosen.update(matches)
    picked = [lab for lab in labs if lab.name in chosen or lab in files]
    return picked + [lab for lab in files if lab not in picked]


def _lab_file(labs: Sequence[Lab], path: Path) -> Lab:
    """Return the lab for a notebook path given on the command line: that very file, wherever it is."""
    if not path.is_file():
        raise UnknownLabError(f"no notebook file {path}; pass an existing .ipynb file or a lab name")
    resolved = path.resolve()
    for lab in labs:
        if lab.path == resolved:
            return lab
    return Lab(resolved.stem, resolved, hygiene.notebook_title(resolved))


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
    data_log = lab_dir / DATA_LOG
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
    memory = _PeakMemory()
    manager_class = type("_RunKernelManager", (_LabKernelManager,), {"memory": memory, "run_env": run_env})
    start = time.perf_counter()
    started_at = time.time()
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
    _check_data(result, data_log, require_official)
    if result.stand_ins and result.notebook is not None:
        _banner_cell(result.notebook, result)
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


def stand_ins(
    records: Sequence[dict[str, Any]], results: dict[str, Any] | None, quick: bool = False
) -> list[dict[str, Any]]:
    """Return one entry per dataset a lab ran on a stand-in for, from its data log and results.json.

    A stand-in is what a data helper handed out in place of an unreachable official file (the log
    names the files it replaced). In full mode, a results.json labelled subset, lossy or synthetic
    also counts when the lab read registered data; quick mode's samples are chosen on purpose,
    and data a lesson writes itself (three inline rows) replaces no official file.
    """
    from labs_utils.datasets import standins

    found: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("stand_in_for"):
            found[str(record["dataset"])] = _stand_in(record, record["stand_in_for"])
    results = results or {}
    label = str(results.get("data_source", ""))
    if quick or found or not records or not standins.is_stand_in(label, bool(results.get("lossy"))):
        return list(found.values())
    partial = [r for r in records if standins.is_stand_in(str(r.get("data_source", "")))]
    for record in partial or records:
        found.setdefault(str(record["dataset"]), _stand_in({**record, "data_source": label}, []))
    return list(found.values())


def _stand_in(record: dict[str, Any], replaced: Sequence[str]) -> dict[str, Any]:
    """Return a stand-in entry for a data-log record, with the steps to the official files."""
    from labs_utils.datasets import standins

    dataset = str(record["dataset"])
    return {
        "dataset": dataset,
        "data_source": str(record.get("data_source", "")),
        "files": list(record.get("files", [])),
        "how_to_get": standins.how_to_get(dataset, replaced),
    }


def _check_data(result: LabResult, data_log: Path, require_official: bool) -> None:
    """Record the lab's stand-ins; with ``require_official``, fail a passed lab that used any."""
    from labs_utils.datasets import standins

    records = standins.read_data_log(data_log)
    result.stand_ins = stand_ins(records, result.results, result.quick)
    if not require_official or not result.passed or not result.stand_ins:
        return
    used = ", ".join(f"{item['dataset']} ({item['data_source']})" for item in result.stand_ins)
    names = " ".join(item["dataset"] for item in result.stand_ins)
    result.status = "failed"
    result.error = (
        f"official data required (--require-official-data), but the lab ran on stand-in data: {used}; "
        f"results.json data_source {result.data_source!r}. Get the official files with "
        f"`labs data fetch {names}` (network access or LABS_DATA_MIRROR)"
    )


def _banner_cell(executed: Path, result: LabResult) -> None:
    """Put a markdown cell on top of the executed notebook naming the stand-ins and the way out."""
    import nbformat

    lines = ["**This run used stand-in data**, not (all of) the official files:", ""]
    for item in result.stand_ins:
        files = ", ".join(f"`{f}`" for f in item["files"])
        lines.append(f"- **{item['dataset']}**: `{item['data_source']}` {files}".rstrip())
        lines += [f"  - {step}" for step in item["how_to_get"]]
    nb = nbformat.read(str(executed), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines), metadata={"tags": ["stand-in-data"]}))
    nbformat.write(nb, str(executed))


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
    require_official: bool = False,
    beam_args: Sequence[str] | None = None,
) -> list[LabResult]:
    """Return the results of running every lab (`jobs` at a time, even after failures), in order.

    `on_event` receives one progress line when each lab starts and finishes; `require_official`
    fails labs that ran on stand-in data (see `run_lab`). Ctrl-C or SIGTERM
    stops the run: its kernels are killed (their connection files removed) and every lab that
    had not finished is returned with status ``interrupted``.
    """
    labs = list(labs)
    total = len(labs)
    lock = threading.Lock()
    finished: dict[int, LabResult] = {}

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
                require_official=require_official,
                beam_args=beam_args,
            )
        except Exception as err:  # noqa: BLE001 - a runner bug must not hang the other labs
            result = LabResult(lab.name, "failed", 0.0, quick, error=f"{type(err).__name__}: {err}")
        emit(f"[{index + 1}/{total}] {_progress_line(result)}")
        finished[index] = result
        return result

    try:
        with _sigterm_as_interrupt():
            if jobs <= 1 or total <= 1:
                for i, lab in enumerate(labs):
                    one(i, lab)
            else:
                _run_parallel(labs, one, jobs)
    except KeyboardInterrupt:
        stop_kernels()
        emit(f"interrupted: {len(finished)} of {total} labs finished")
        for i, lab in enumerate(labs):
            if i not in finished:
                error = "interrupted (Ctrl-C or SIGTERM) before the lab finished"
                finished[i] = LabResult(lab.name, "interrupted", 0.0, quick, error=error)
    return [finished[i] for i in range(total)]


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Any:
    """Return a context in which SIGTERM raises KeyboardInterrupt, as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    if result.passed and result.stand_ins:
        line += f" on stand-in data ({', '.join(i['data_source'] for i in result.stand_ins)})"
    if not result.passed:
        where = f"cell {result.cell_index}: " if result.cell_index is not None else ""
        if result.cell_line:
            where = f"cell {result.cell_index}, line {result.cell_line.split(':')[0]}: "
        line += f" ({where}{result.error})"
    return line


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
