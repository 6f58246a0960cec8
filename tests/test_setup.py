"""Environment set-up: tools/envsetup.sh's choice of installer and interpreter, and the hashed lock.

The selection tests run the real script with a PATH of stub executables (a python3.11, a python3 at
3.12, a uv) that log their calls, so they are fast and need no network. The last test checks the
built .venv itself and is marked `venv`.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "tools" / "envsetup.sh"
LOCK = REPO_ROOT / "requirements.lock"
PY_REQUEST = ">=3.11.5,<3.12"

PYTHON_STUB = """#!/bin/sh
printf '%s\\n' "python {version} $*" >>"$STUB_LOG"
case "$1 $2" in
  "-c import sys"*) exit {status};;
  "-c import platform"*) echo {version}; exit 0;;
  "-m venv") /bin/mkdir -p "$3/bin" && /bin/cp "$0" "$3/bin/python"; exit 0;;
esac
case "$*" in
  *--target*)
    {bootstrap}
    echo "ERROR: Could not find a version that satisfies the requirement uv" >&2; exit 1;;
esac
exit 0
"""

BOOTSTRAP = """prev=; for a; do [ "$prev" = --target ] && t=$a; prev=$a; done
    /bin/mkdir -p "$t/bin" && /bin/cp "$UV_TEMPLATE" "$t/bin/uv"; exit 0"""

UV_STUB = """#!/bin/sh
printf '%s\\n' "uv $*" >>"$STUB_LOG"
case "$1" in
  --version) echo "uv 0.13.9 (stub)";;
  venv)
    if [ -n "${STUB_UV_NO_PYTHON:-}" ]; then
      echo "error: No interpreter found for Python >=3.11.5, <3.12 in managed installations or PATH" >&2
      echo "  Caused by: Failed to download a managed Python: network unreachable" >&2
      exit 2
    fi
    for a; do d=$a; done
    /bin/mkdir -p "$d/bin" && /bin/cp "$PY_TEMPLATE" "$d/bin/python";;
esac
exit 0
"""


def write_stub(path: Path, text: str) -> Path:
    """Write an executable stub script at `path` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def python_stub(path: Path, version: str, can_bootstrap_uv: bool = False) -> Path:
    """Write a stub Python reporting `version`; its pip installs uv only when `can_bootstrap_uv`."""
    parts = tuple(int(p) for p in version.split("."))
    status = 0 if (3, 11, 5) <= parts < (3, 12) else 1
    text = PYTHON_STUB.format(
        version=version, status=status, bootstrap=BOOTSTRAP if can_bootstrap_uv else ":"
    )
    return write_stub(path, text)


class Sandbox:
    """A scratch directory with a stub-only PATH in which tools/envsetup.sh is run."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.venv = root / "venv"
        self.tools = root / "tools"
        core = root / "core"
        core.mkdir()
        for tool in ("rm", "mkdir", "date"):
            (core / tool).symlink_to(shutil.which(tool))
        self.path = f"{self.bin}:{core}"
        self.uv_template = write_stub(root / "templates" / "uv", UV_STUB)
        self.py_template = python_stub(root / "templates" / "python", "3.11.9")

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """Run the set-up script with the stub PATH plus `env`; return the finished process."""
        base = {
            "PATH": self.path,
            "STUB_LOG": str(self.log),
            "VENV": str(self.venv),
            "LOCK": str(LOCK),
            "ENV_TOOLS": str(self.tools),
            "UV_TEMPLATE": str(self.uv_template),
            "PY_TEMPLATE": str(self.py_template),
        }
        return subprocess.run(
            ["/bin/sh", str(SCRIPT), *args],
            cwd=self.root,
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self) -> list[str]:
        """Return the logged stub calls, one string each."""
        return self.log.read_text().splitlines() if self.log.exists() else []

    def stamp(self) -> str:
        """Return the stamp file the script writes into the environment."""
        return (self.venv / ".installed").read_text()


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    """Return a fresh sandbox whose PATH holds no Python and no uv yet."""
    return Sandbox(tmp_path)


def test_python311_without_uv_falls_back_to_venv_and_pip(sandbox):
    python_stub(sandbox.bin / "python3.11", "3.11.7")
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert "setup: pip, the fallback" in done.stdout
    calls = sandbox.calls()
    assert any("--target" in c and "--require-hashes" in c for c in calls), "uv bootstrap not tried"
    assert any(c.startswith("python 3.11.7 -m venv") for c in calls)
    pip_install = "-m pip install --quiet --disable-pip-version-check --require-hashes --no-deps"
    assert f"python 3.11.7 {pip_install} -r {LOCK}" in calls
    assert sandbox.stamp().startswith("installer=pip\n")


def test_python311_that_can_bootstrap_uv_takes_the_uv_path(sandbox):
    python_stub(sandbox.bin / "python3.11", "3.11.7", can_bootstrap_uv=True)
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert f"bootstrapped into {sandbox.tools}/uv with python3.11" in done.stdout
    assert (sandbox.tools / "uv" / "bin" / "uv").exists()
    assert sandbox.stamp().startswith("installer=uv\n")


def test_only_uv_on_path_asks_uv_for_a_311_and_syncs_the_lock(sandbox):
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert "setup: uv 0.13.9 (from PATH)" in done.stdout
    assert f"with Python 3.11.9 from {LOCK}" in done.stdout
    venv_python = f"{sandbox.venv}/bin/python"
    assert [c for c in sandbox.calls() if c.startswith("uv ")] == [
        "uv --version",
        f"uv venv --quiet --python {PY_REQUEST} {sandbox.venv}",
        f"uv pip sync --quiet --python {venv_python} --require-hashes {LOCK}",
        f"uv pip install --quiet --python {venv_python} --no-deps --no-build-isolation -e .",
    ]


def test_a_python312_is_not_handed_to_uv(sandbox):
    python_stub(sandbox.bin / "python3", "3.12.1")
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert f"uv venv --quiet --python {PY_REQUEST} {sandbox.venv}" in sandbox.calls()


def test_an_existing_good_venv_is_synced_not_recreated(sandbox):
    write_stub(sandbox.bin / "uv", UV_STUB)
    assert sandbox.run().returncode == 0
    sandbox.log.unlink()
    done = sandbox.run()
    assert done.returncode == 0, done.stderr
    assert not any(c.startswith("uv venv") for c in sandbox.calls())
    assert any(c.startswith("uv pip sync") for c in sandbox.calls())


def test_neither_python311_nor_uv_names_both_fixes(sandbox):
    python_stub(sandbox.bin / "python3", "3.12.1")
    done = sandbox.run()
    assert done.returncode == 1
    err = done.stderr
    assert "error: no Python 3.11.5+" in err
    assert "python3 3.12.1" in err, "the error should say which Pythons it found"
    assert "'python3 -m pip install uv' failed" in err
    assert "make test PYTHON=/path/to/python3.11" in err
    assert "install Python 3.11" in err
    assert "network access" in err and "managed-Python downloads" in err
    assert not sandbox.venv.exists()


def test_nothing_at_all_on_path_names_both_fixes(sandbox):
    done = sandbox.run()
    assert done.returncode == 1
    assert "uv: not on PATH, and no python3 to bootstrap it with" in done.stderr
    assert "PYTHON=/path/to/python3.11" in done.stderr and "network access" in done.stderr


def test_uv_that_cannot_fetch_python_reports_what_it_tried(sandbox):
    python_stub(sandbox.bin / "python3", "3.12.1")
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run(STUB_UV_NO_PYTHON="1")
    assert done.returncode == 1
    err = done.stderr
    assert f"'uv venv --python \"{PY_REQUEST}\"' looked on PATH" in err
    assert "tried to download a managed CPython 3.11" in err
    assert "Failed to download a managed Python" in err, "uv's own words should be shown"
    assert "make test PYTHON=/path/to/python3.11" in err and "network access" in err
    assert not (sandbox.venv / ".installed").exists()


def test_debian_312_python311_is_below_the_lock_floor(sandbox):
    python_stub(sandbox.bin / "python3.11", "3.11.2")
    done = sandbox.run()
    assert done.returncode == 1
    assert "python3.11 3.11.2" in done.stderr and "no Python 3.11.5+" in done.stderr


def test_python_variable_is_handed_to_uv(sandbox):
    given = python_stub(sandbox.root / "elsewhere" / "python", "3.11.8")
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run(PYTHON=str(given))
    assert done.returncode == 0, done.stderr
    assert f"uv venv --quiet --python {given} {sandbox.venv}" in sandbox.calls()


def test_python_variable_that_is_not_311_is_refused(sandbox):
    given = python_stub(sandbox.root / "elsewhere" / "python", "3.12.1")
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run(PYTHON=str(given))
    assert done.returncode == 1
    assert f"PYTHON={given} is Python 3.12.1" in done.stderr
    assert not any(c.startswith("uv venv") for c in sandbox.calls())


def test_forcing_pip_ignores_uv_on_path(sandbox):
    python_stub(sandbox.bin / "python3.11", "3.11.7")
    write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run(ENV_INSTALLER="pip")
    assert done.returncode == 0, done.stderr
    assert "pip, the fallback (uv: ENV_INSTALLER=pip)" in done.stdout
    assert not any(c.startswith("uv ") for c in sandbox.calls())


def test_uv_flag_prints_the_binary_for_make_lock(sandbox):
    uv = write_stub(sandbox.bin / "uv", UV_STUB)
    done = sandbox.run("--uv")
    assert done.returncode == 0 and done.stdout.strip() == str(uv)


# --- the lock ----------------------------------------------------------------


def locked() -> dict[str, tuple[str, list[str]]]:
    """Map each normalised name in requirements.lock to (version, hashes)."""
    spec = importlib.util.spec_from_file_location("writer", REPO_ROOT / "tools" / "write_environment_yml.py")
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    out = {}
    for requirement, hashes in writer.locked_requirements(LOCK.read_text().splitlines()):
        name, _, version = requirement.partition("==")
        out[normalise(name)] = (version, hashes)
    return out


def normalise(name: str) -> str:
    """Normalise a distribution name the PEP 503 way."""
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_locked_file_has_a_sha256():
    bad = {
        n: h
        for n, (_, h) in locked().items()
        if not h or not all(re.fullmatch(r"[0-9a-f]{64}", x) for x in h)
    }
    assert not bad, f"entries without proper sha256 hashes: {sorted(bad)}; run `make lock`"


def test_lock_pulls_no_torch_or_cuda():
    heavy = [n for n in locked() if n.startswith(("torch", "nvidia-", "triton"))]
    assert not heavy, f"the CPU-only stack must not lock {heavy} (a multi-GB CUDA download on PyPI)"


def test_uv_bootstrap_pin_matches_the_makefile_and_is_hashed():
    version = re.search(r"^UV_VERSION := (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.M).group(1)
    text = (REPO_ROOT / "tools" / "uv-bootstrap.txt").read_text()
    assert f"uv=={version} \\" in text, f"tools/uv-bootstrap.txt does not pin uv=={version}; run `make lock`"
    assert text.count("--hash=sha256:") >= 1


# --- the built environment ---------------------------------------------------

LIST_DISTS = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


@pytest.mark.venv
def test_installed_environment_is_exactly_the_lock():
    venv = REPO_ROOT / ".venv"
    assert (venv / ".installed").exists(), f"{venv} was not built by tools/envsetup.sh; run `make setup`"
    installer = (venv / ".installed").read_text().split("\n", 1)[0].removeprefix("installer=")
    found = json.loads(subprocess.check_output([str(venv / "bin" / "python"), "-c", LIST_DISTS], text=True))
    installed = {normalise(n): v for n, v in found.items()}
    assert installed.pop("mlops-data-labs", None) == "0.1.0", "the project itself is not installed"
    if installer == "pip":
        installed.pop("pip", None)  # the fallback's own installer, seeded by python -m venv
    want = {n: v for n, (v, _) in locked().items()}
    extra = sorted(set(installed) - set(want))
    missing = sorted(set(want) - set(installed))
    moved = sorted(
        f"{n} {installed[n]} != {want[n]}" for n in set(want) & set(installed) if installed[n] != want[n]
    )
    assert not (extra or missing or moved), (
        f"{installer} env vs lock: extra {extra}, missing {missing}, moved {moved}"
    )
