"""Run lab notebooks headlessly, `jobs` at a time, with a progress line per lab; Ctrl-C stops them.

The front door of the runner: `run_labs` schedules the labs, and the names a caller needs are
here too. Finding labs lives in `discovery`, running one notebook in `execution`, the data a run
used in `data_used` and its kernels in `kernel_runs`; ``report`` summarises the runs.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labs_utils.data_used import stand_ins
from labs_utils.discovery import (
    NOTEBOOK_PATTERNS,
    Lab,
    UnknownLabError,
    default_notebooks_dir,
    discover,
    select,
)
from labs_utils.execution import LabResult, export_html, run_lab
from labs_utils.kernel_runs import KERNEL_ENV, KERNEL_NAME, stop_kernels

__all__ = [
    "KERNEL_ENV", "KERNEL_NAME", "NOTEBOOK_PATTERNS", "Lab", "LabResult", "UnknownLabError",
    "default_notebooks_dir", "discover", "export_html", "run_lab", "run_labs", "select", "stand_ins",
    "stop_kernels",
]  # fmt: skip


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


def _run_parallel(labs: list[Lab], one: Callable[[int, Lab], LabResult], jobs: int) -> None:
    """Run `one` over the labs in `jobs` daemon threads (so Ctrl-C ends the run at once) until all are done.

    `one` keeps each result itself (``run_labs`` puts them back in lab order), so nothing is returned.
    """
    todo: queue.SimpleQueue[tuple[int, Lab]] = queue.SimpleQueue()
    done: queue.SimpleQueue[int] = queue.SimpleQueue()
    stop = threading.Event()
    for item in enumerate(labs):
        todo.put(item)

    def worker() -> None:
        while not stop.is_set():
            try:
                index, lab = todo.get_nowait()
            except queue.Empty:
                return
            one(index, lab)
            done.put(index)

    for _ in range(min(jobs, len(labs))):
        threading.Thread(target=worker, daemon=True).start()
    try:
        for _ in labs:
            done.get()
    finally:
        stop.set()


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
