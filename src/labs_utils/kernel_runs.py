"""The kernels lab runs start: their environment, peak memory, the check that they run this
interpreter, and stopping the ones still running after Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from labs_utils import hygiene, kernel

__all__ = [
    "KERNEL_ENV", "KERNEL_NAME", "LabKernelManager", "PeakMemory", "check_kernel", "kernel_executable",
    "manager_class", "stop_kernels",
]  # fmt: skip

KERNEL_NAME = hygiene.KERNEL_NAME
KERNEL_ENV = kernel.KERNEL_ENV


class LabKernelManager(AsyncKernelManager):
    """Start kernels with the lab environment (UTC, fixed hash seed) on top of ours."""

    @default("transport_encryption")
    def _encrypt_when_possible(self) -> str:
        # Encrypted kernels also skip ipykernel's "running over TCP without encryption" warning.
        return "auto" if zmq.has("curve") else "disabled"

    memory: PeakMemory | None = None  # set on a per-run subclass by manager_class
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


class PeakMemory:
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


def kernel_executable(kernel_name: str = KERNEL_NAME) -> str:
    """Return the Python executable jupyter_client launches for `kernel_name`."""
    return AsyncKernelManager(kernel_name=kernel_name).format_kernel_cmd()[0]


def check_kernel(kernel_name: str) -> None:
    """Fail unless the kernel runs in this interpreter's environment."""
    kernel_bin = Path(os.path.abspath(kernel_executable(kernel_name))).parent
    our_bin = Path(os.path.abspath(sys.executable)).parent
    if kernel_bin != our_bin:
        raise RuntimeError(
            f"kernel {kernel_name!r} runs {kernel_executable(kernel_name)}, not this environment "
            f"({our_bin}); remove the other {kernel_name!r} kernelspec (`jupyter kernelspec list`) "
            "or unset JUPYTER_PATH"
        )


def manager_class(memory: PeakMemory, run_env: dict[str, str]) -> type[LabKernelManager]:
    """Return a kernel manager class for one run: its memory sampler and extra environment variables."""
    return type("RunKernelManager", (LabKernelManager,), {"memory": memory, "run_env": run_env})
