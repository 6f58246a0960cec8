"""Run lab notebooks headlessly with papermill, export HTML and summarise the results.

papermill, nbconvert, nbformat and pandas are imported inside the functions that need them:
together they take seconds to import, and `labs list` should answer at once.
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

if TYPE_CHECKING:
    import pandas as pd

NOTEBOOK_PATTERN = "c[0-9]*w[0-9]*_*.ipynb"
KERNEL_NAME = "python3"
KERNEL_ENV = {"TZ": "UTC", "PYTHONHASHSEED": "0"}
PARAMETER_NAMES = ("QUICK", "DATA_DIR", "OUTPUT_DIR", "SEED")
# Cell metadata that belongs in git; everything else (papermill, execution, collapsed, ...) is
# run or editor state.
KEEP_CELL_METADATA = {"tags", "slideshow", "editable", "deletable", "name"}
DROP_NOTEBOOK_METADATA = {"papermill", "widgets", "execution"}
# Tags papermill puts on the cells it adds to an executed notebook.
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
STRIP_HINT = "run `labs strip {path}`"


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
        """Tell whether the lab ran to the end without an error."""
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
        env = {**(kw.get("env") or os.environ), **KERNEL_ENV}
        # TensorFlow's C++ start-up chatter (CUDA probes, CPU flags) goes to the terminal, not the
        # notebook; keep it out of the run log unless the user asked for it.
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        kw["env"] = env
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


def notebook_title(path: Path) -> str:
    """Return the first H1 of the notebook's first markdown cell, or "" if it has none."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            return _h1(_source(cell)) or ""
    return ""


def discover(notebooks_dir: str | Path | None = None) -> list[Lab]:
    """List the lab notebooks (`c<course>w<week>_*.ipynb`) in course order."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"notebooks directory {folder} does not exist")
    paths = sorted(folder.glob(NOTEBOOK_PATTERN))
    return [Lab(p.stem, p.resolve(), notebook_title(p)) for p in paths]


def select(labs: Sequence[Lab], names: Iterable[str] | None) -> list[Lab]:
    """Pick labs by exact name or by substring (all matches), keeping course order.

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


def kernel_executable(kernel_name: str = KERNEL_NAME) -> str:
    """Return the Python executable jupyter_client launches for `kernel_name`."""
    return AsyncKernelManager(kernel_name=kernel_name).format_kernel_cmd()[0]


def _check_kernel(kernel_name: str) -> None:
    """Fail unless the kernel runs in this interpreter's environment."""
    kernel_bin = Path(os.path.abspath(kernel_executable(kernel_name))).parent
    our_bin = Path(os.path.abspath(sys.executable)).parent
    if kernel_bin != our_bin:
        raise RuntimeError(
            f"kernel {kernel_name!r} runs {kernel_executable(kernel_name)}, not this environment "
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
    beam_args: Sequence[str] | None = None,
) -> LabResult:
    """Execute one lab into `<output_dir>/<lab>/` and report how it went; never raises for lab errors.

    The notebook runs with its working directory and OUTPUT_DIR set to `<output_dir>/<lab>/`,
    gets QUICK, SEED (and DATA_DIR when given) injected, and stops a cell after `timeout`
    seconds (None: no limit). The executed notebook and its HTML export land there too, also
    for failed runs. `beam_args` become BEAM_ARGS in labs whose parameters cell declares it
    (`declares_parameter`); other labs run without them.
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
    if beam_args and declares_parameter(lab.path, "BEAM_ARGS"):
        parameters["BEAM_ARGS"] = list(beam_args)
    result = LabResult(lab=lab.name, status="passed", seconds=0.0, quick=quick)
    memory = _PeakMemory()
    manager_class = type("_RunKernelManager", (_LabKernelManager,), {"memory": memory})
    start = time.perf_counter()
    try:
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
        )
    except papermill.PapermillExecutionError as err:
        result.status = "failed"
        result.cell_index = _source_index(lab.path, err.cell_index, err.source)
        result.cell_source = _first_line(err.source)
        result.cell_line = _raising_line(err.traceback, err.source)
        result.error = _first_line(f"{err.ename}: {err.evalue}" if err.evalue else err.ename)
    except CellTimeoutError:
        result.status = "timeout"
        result.error = f"CellTimeoutError: a cell ran longer than the {timeout} s timeout"
        _mark_timeout(lab, executed, result)
    except Exception as err:  # noqa: BLE001 - kernel deaths, bad notebooks: report, don't stop
        result.status = "failed"
        result.error = _first_line(f"{type(err).__name__}: {err}")
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
    beam_args: Sequence[str] | None = None,
) -> list[LabResult]:
    """Run every lab (`jobs` at a time), even after failures; return results in the given order.

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
                beam_args=beam_args,
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
    """Export an executed notebook to a standalone HTML file; fetches nothing from the web."""
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
    result.cell_source = _first_line(nb.cells[index].source)
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
    return f"{number}: {_first_line(lines[number - 1])}"


def _source_index(source_path: Path, executed_index: int, source: str) -> int:
    """Map a cell index of the executed notebook (which has an injected cell) to the source's."""
    cells = json.loads(Path(source_path).read_text(encoding="utf-8"))["cells"]
    same = [i for i, cell in enumerate(cells) if _source(cell) == source]
    return min(same, key=lambda i: abs(i - executed_index)) if same else executed_index


def _read_results(path: Path) -> dict[str, Any] | None:
    """Load a lab's results.json, or None if it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- summary --------------------------------------------------------------------------------


def summary_table(results: Iterable[LabResult]) -> pd.DataFrame:
    """Tabulate lab results: status, time, data source and, for failures, cell and error."""
    import pandas as pd

    rows = [
        {
            "lab": r.lab,
            "status": r.status,
            "seconds": r.seconds,
            "peak_mb": r.peak_rss_mb,
            "data_source": r.data_source,
            "quick": r.quick,
            "failed_cell": _failed_cell(r),
            "error": r.error or "",
        }
        for r in results
    ]
    columns = ["lab", "status", "seconds", "peak_mb", "data_source", "quick", "failed_cell", "error"]
    return pd.DataFrame(rows, columns=columns)


def _failed_cell(result: LabResult) -> str:
    """Describe where a lab failed: cell index, first line and, if elsewhere, the raising line."""
    if result.cell_index is None:
        return ""
    text = f"{result.cell_index}: {result.cell_source}"
    if result.cell_line and not result.cell_line.startswith("1: "):
        text += f" (line {result.cell_line})"
    return text


def markdown_table(df: pd.DataFrame) -> str:
    """Render a DataFrame as a GitHub markdown table, escaping pipes inside cells."""
    escaped = df.apply(lambda col: col.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v))
    return escaped.to_markdown(index=False)


def write_summary(results: Sequence[LabResult], output_dir: str | Path) -> tuple[Path, Path]:
    """Write `summary.md` (markdown table) and `summary.json` (one record per lab) to `output_dir`."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    passed = sum(r.passed for r in results)
    md = out / "summary.md"
    md.write_text(
        "# Lab run summary\n\n"
        f"{passed} of {len(results)} labs passed.\n\n"
        f"{markdown_table(summary_table(results))}\n",
        encoding="utf-8",
    )
    records = []
    for r in results:
        record = asdict(r)
        record.pop("results")
        for key in ("notebook", "html"):
            if record[key] is not None:
                record[key] = os.path.relpath(record[key], out.resolve())
        records.append(record)
    js = out / "summary.json"
    js.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return md, js


# --- benchmark ------------------------------------------------------------------------------


def bench(
    labs: Sequence[Lab],
    *,
    output_dir: str | Path,
    modes: Sequence[str] = ("quick", "full"),
    jobs: Sequence[int] = (1, 2),
    timeout: float | None = None,
    on_event: Callable[[str], Any] | None = print,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the labs once per (mode, jobs) setting; return per-lab and per-setting tables.

    The per-lab table has each lab's wall time and peak memory per setting; the per-setting
    table has the whole run's wall time, so sequential and parallel runs compare.
    """
    import pandas as pd

    per_lab, per_run = [], []
    for mode in modes:
        for n in jobs:
            setting = f"{mode}, jobs={n}"
            if on_event is not None:
                on_event(f"== {setting}")
            start = time.perf_counter()
            results = run_labs(
                labs,
                output_dir=Path(output_dir) / f"{mode}-jobs{n}",
                quick=mode == "quick",
                jobs=n,
                timeout=timeout,
                html=False,
                on_event=on_event,
            )
            wall = round(time.perf_counter() - start, 1)
            per_run.append(
                {
                    "setting": setting,
                    "labs": len(results),
                    "passed": sum(r.passed for r in results),
                    "wall_seconds": wall,
                }
            )
            per_lab += [
                {
                    "lab": r.lab,
                    "setting": setting,
                    "status": r.status,
                    "seconds": r.seconds,
                    "peak_mb": r.peak_rss_mb,
                    "data_source": r.data_source,
                }
                for r in results
            ]
    return pd.DataFrame(per_lab), pd.DataFrame(per_run)


def write_bench(per_lab: pd.DataFrame, per_run: pd.DataFrame, output_dir: str | Path) -> Path:
    """Write the benchmark tables as markdown to `<output_dir>/bench.md`."""
    import platform

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    wide = per_lab.pivot_table(index="lab", columns="setting", values=["seconds", "peak_mb"], aggfunc="first")
    settings = list(dict.fromkeys(per_lab["setting"]))  # run order, not alphabetical
    wide = wide[[(value, setting) for value in ("seconds", "peak_mb") for setting in settings]]
    wide.columns = [f"{value} ({setting})" for value, setting in wide.columns]
    body = (
        "# Lab benchmark\n\n"
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Seconds are wall time per "
        "lab including kernel start and imports; peak_mb is the kernel's resident memory (children "
        "included), sampled every 0.25 s.\n\n"
        f"## Whole runs\n\n{markdown_table(per_run)}\n\n"
        f"## Per lab\n\n{markdown_table(wide.reset_index())}\n"
    )
    path = out / "bench.md"
    path.write_text(body, encoding="utf-8")
    return path


# --- hygiene --------------------------------------------------------------------------------


def notebook_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories into the notebooks they hold (checkpoints skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.suffix == ".ipynb":
            found.append(path)
        else:
            raise FileNotFoundError(f"{path} is neither a notebook nor a directory")
    return found


def strip_outputs(paths: Iterable[str | Path]) -> list[Path]:
    """Remove outputs, execution counts and run metadata; keep cell tags such as `parameters`.

    Args:
        paths: notebooks, or directories searched for them.

    Returns:
        The notebooks whose file content changed.
    """
    import nbformat

    changed = []
    for path in notebook_paths(paths):
        before = path.read_text(encoding="utf-8")
        nb = nbformat.reads(before, as_version=4)
        nb.cells = [cell for cell in nb.cells if not PAPERMILL_TAGS & set(_tags(cell))]
        for cell in nb.cells:
            _strip_cell(cell)
        for key in DROP_NOTEBOOK_METADATA:
            nb.metadata.pop(key, None)
        after = nbformat.writes(nb)
        after += "" if after.endswith("\n") else "\n"
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed


def _strip_cell(cell: dict[str, Any]) -> None:
    """Clear one cell's outputs, execution count and run metadata in place."""
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    meta = cell.get("metadata", {})
    for key in list(meta):
        if key not in KEEP_CELL_METADATA or (key == "tags" and not meta[key]):
            del meta[key]


def check_notebook_hygiene(path: str | Path) -> list[str]:
    """List what is wrong with a committed notebook, each problem with how to fix it."""
    import nbformat

    path = Path(path)
    strip = STRIP_HINT.format(path=path)
    nb = nbformat.read(str(path), as_version=4)
    cells = list(enumerate(nb.cells))
    strippable = {
        "have outputs": [i for i, c in cells if c.get("outputs")],
        "have execution counts": [i for i, c in cells if c.get("execution_count") is not None],
        "have run or editor metadata": [
            i for i, c in cells if set(c.get("metadata", {})) - KEEP_CELL_METADATA
        ],
        "were added by papermill": [i for i, c in cells if PAPERMILL_TAGS & set(_tags(c))],
    }
    problems = [f"{path.name}: cells {idx} {what}; {strip}" for what, idx in strippable.items() if idx]
    stray = sorted(DROP_NOTEBOOK_METADATA & set(nb.metadata))
    if stray:
        problems.append(f"{path.name}: notebook metadata has {stray}; {strip}")
    empty = [i for i, c in cells if not _source(c).strip()]
    if empty:
        problems.append(f"{path.name}: cells {empty} are empty; delete them")
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL_NAME:
        problems.append(
            f"{path.name}: kernelspec name is {kernel!r}; set metadata.kernelspec.name to "
            f"{KERNEL_NAME!r} so the runner and every reader use the project interpreter"
        )
    own_cells = [c for c in nb.cells if not PAPERMILL_TAGS & set(_tags(c))]
    return problems + _title_problems(path, own_cells) + _parameter_problems(path, own_cells)


def _title_problems(path: Path, cells: list[dict[str, Any]]) -> list[str]:
    """Check that the first markdown cell opens with an H1 title."""
    markdown = [cell for cell in cells if cell.get("cell_type") == "markdown"]
    if not markdown or not _h1(_source(markdown[0])):
        return [f"{path.name}: the first markdown cell has no H1 title; start it with '# <Title>'"]
    return []


def _parameter_problems(path: Path, cells: list[dict[str, Any]]) -> list[str]:
    """Check for one `parameters` cell that defines QUICK, DATA_DIR, OUTPUT_DIR and SEED."""
    tagged = [cell for cell in cells if "parameters" in _tags(cell)]
    if not tagged:
        return [
            f"{path.name}: no cell tagged `parameters`; tag the cell defining "
            f'{", ".join(PARAMETER_NAMES)} (jupytext: `# %% tags=["parameters"]`)'
        ]
    source = _source(tagged[0])
    missing = [n for n in PARAMETER_NAMES if not re.search(rf"^{n}\s*=", source, re.MULTILINE)]
    if missing:
        return [f"{path.name}: the `parameters` cell does not define {missing}; add them"]
    return []


def declares_parameter(path: str | Path, name: str) -> bool:
    """Return True when the notebook's `parameters` cell assigns `name` (e.g. BEAM_ARGS)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    tagged = [_source(cell) for cell in cells if "parameters" in _tags(cell)]
    return any(re.search(rf"^{re.escape(name)}\s*=", source, re.MULTILINE) for source in tagged)


def _tags(cell: dict[str, Any]) -> list[str]:
    """Return a cell's tags."""
    return list(cell.get("metadata", {}).get("tags", []))


def _source(cell: dict[str, Any]) -> str:
    """Return a cell's source as one string (JSON stores it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _h1(markdown: str) -> str | None:
    """Return the first H1 heading's text in a markdown string."""
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", markdown, re.MULTILINE)
    return match.group(1) if match else None


def _first_line(text: str, width: int = 120) -> str:
    """Return the first non-blank line of text, shortened to `width` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
