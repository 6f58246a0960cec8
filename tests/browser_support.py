"""Shared set-up of the browser tests: Debian's chromium driven by Playwright, and a JupyterLab server.

Browser tests run only under `make test-browser` (LABS_BROWSER_TESTS=1); `make test` skips them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO_ROOT / "runs" / "browser"
CHROMIUM = os.environ.get("LABS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENABLED = os.environ.get("LABS_BROWSER_TESTS") == "1"

browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not ENABLED, reason="browser test; run it with `make test-browser`"),
]


@contextlib.contextmanager
def chromium_page(profile_dir: Path, width: int = 1366, height: int = 900) -> Iterator:
    """Yield a Playwright page in a fresh chromium profile; close everything afterwards."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; install Debian's browser with `apt-get install -y chromium`")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),  # a fresh --user-data-dir
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def screenshot_path(name: str) -> Path:
    """Return runs/browser/<name>.png, creating the folder."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class JupyterLab:
    """A running JupyterLab server: its URL, token and process."""

    url: str
    token: str
    process: subprocess.Popen
    log: Path

    def api(self, path: str) -> object:
        """GET a Jupyter server REST path and return its JSON."""
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


# User settings for the test server: no news pop-up, no update check, every cell kept in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


@contextlib.contextmanager
def jupyterlab(root_dir: Path, home: Path, start_timeout: float = 180) -> Iterator[JupyterLab]:
    """Run JupyterLab on 127.0.0.1 (free port, token, no browser) over `root_dir`; kill it by PID after.

    Config, runtime, settings and workspaces live under `home`, so the test neither reads nor
    writes the user's Jupyter state; kernels come from this environment (the project kernel).
    """
    for relative, values in LAB_SETTINGS.items():
        path = home / "settings" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
    }
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = home / "jupyterlab.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = JupyterLab(f"http://127.0.0.1:{port}", token, process, log)
    try:
        _wait_until_up(server, start_timeout)
        yield server
    finally:
        process.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_until_up(server: JupyterLab, timeout: float) -> None:
    """Poll the server's status endpoint until it answers; fail with its log after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"JupyterLab exited with {server.process.returncode}:\n{server.log.read_text()[-3000:]}"
            )
        with contextlib.suppress(OSError, urllib.error.URLError):
            server.api("/api/status")
            return
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {timeout} s:\n{server.log.read_text()[-3000:]}")


def copy_notebook(name: str, folder: Path) -> Path:
    """Copy notebooks/<name>.ipynb into `folder` (the browser run saves there, not into the repo)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(REPO_ROOT / "notebooks" / f"{name}.ipynb", folder))
