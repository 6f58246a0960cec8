"""Guard a `labs run` before it starts: argument checks, a data re-check and the output-folder lock.

A run writes executed notebooks, ``work/`` folders and a summary under one output folder, so two
runs into the same folder would delete each other's files and overwrite each other's summary.
:func:`output_lock` holds an exclusive lock on ``<output>/.labs-run.lock`` for the whole run; a
second run is told who holds it (pid, host, start time) and stops. The lock is an ``flock``, so
the kernel releases it when its holder dies, however it dies: a lock file left by a dead process
is simply taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["LOCK_NAME", "OutputLockedError", "check_run_args", "output_lock", "stale_data"]

LOCK_NAME = ".labs-run.lock"


class OutputLockedError(RuntimeError):
    """Another run holds the output folder's lock."""


def check_run_args(jobs: int, timeout: float, output: Path) -> list[str]:
    """Return one line per invalid `labs run` argument (empty when all are fine); writes nothing."""
    problems = []
    if jobs < 1:
        problems.append(f"--jobs must be 1 or more, got {jobs}")
    if timeout < 0:
        problems.append(f"--timeout must be 0 (no limit) or a positive number of seconds, got {timeout:g}")
    if output.exists() and not output.is_dir():
        problems.append(f"--output {output} is a file, not a folder; pass a folder for the run's outputs")
    elif why := _why_not_writable(output):
        problems.append(f"cannot write to --output {output}: {why}")
    return problems


def _why_not_writable(folder: Path) -> str | None:
    """Return why no file can be created in ``folder`` (or its nearest existing parent); None if one can."""
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file"
    try:
        with tempfile.TemporaryFile(dir=existing):
            return None
    except OSError:
        return f"{existing} is read-only or not yours; pass a folder you can write to"


def stale_data(data_dir: str | os.PathLike | None) -> list[str]:
    """Return one line per cached data file whose content no longer matches (re-hashing every file)."""
    from labs_utils import datasets  # imported here: the registry and pandas are not free

    rows = datasets.verify_cache(data_dir=data_dir)
    return [f"{d}/{f}: {status}" for d, f, status in rows if status.startswith("MISMATCH")]


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[Path]:
    """Return a context holding the output folder's lock; raise OutputLockedError naming the holder."""
    output.mkdir(parents=True, exist_ok=True)
    path = output / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLockedError(_held_by(output, path)) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock; the file stays, so no run ever locks an unlinked inode


def _held_by(output: Path, path: Path) -> str:
    """Describe the run holding the lock from what it wrote in the lock file."""
    try:
        holder = json.loads(path.read_text())
        who = f"pid {holder['pid']} on {holder['host']}, running since {holder['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        who = "a run that is just starting"
    return (
        f"{output} is in use by another `labs run` ({who}); wait for it to finish, stop it, "
        "or pass another --output"
    )
