"""The project kernel: notebooks and the registered kernel agree, and its start-up is quiet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager

from labs_utils import kernel, outputs, runner

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def setup_cell_imports() -> str:
    """Return every import statement of the labs' set-up cells (the first code cell), deduplicated."""
    lines: dict[str, None] = {}
    for path in NOTEBOOKS:
        cell = next(c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code")
        for line in cell.source.splitlines():
            if line.startswith(("import ", "from ")):
                lines[line] = None
    return "\n".join(lines)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_names_the_project_kernel(path):
    spec = nbformat.read(str(path), as_version=4).metadata.get("kernelspec")
    assert spec == kernel.notebook_metadata(), (
        f"{path.name}: kernelspec is {spec}; set it to {kernel.notebook_metadata()} so every Jupyter "
        "front end starts the project kernel"
    )


def test_registered_kernel_matches_the_notebooks():
    kernel.install()
    spec = KernelSpecManager().get_kernel_spec(kernel.KERNEL_NAME)
    assert spec.display_name == kernel.notebook_metadata()["display_name"]
    assert Path(spec.argv[0]).parent == Path(sys.executable).parent, "the kernel must run this environment"
    assert spec.env == kernel.KERNEL_ENV
    assert runner.KERNEL_NAME == kernel.KERNEL_NAME, "the headless runner starts another kernel"


def test_install_writes_once_and_is_idempotent(tmp_path):
    folder = kernel.install(tmp_path)
    path = folder / "kernel.json"
    assert folder == tmp_path / "share" / "jupyter" / "kernels" / kernel.KERNEL_NAME
    written = json.loads(path.read_text())
    assert written["argv"][0] == sys.executable and written["env"]["TF_CPP_MIN_LOG_LEVEL"] == "3"
    os.utime(path, (0, 0))
    kernel.install(tmp_path)
    assert path.stat().st_mtime == 0, "an unchanged kernel.json must not be rewritten"


def test_warning_filters_name_packages_only():
    for action, category, module in kernel.WARNING_FILTERS:
        assert action == "ignore" and category == "FutureWarning"
        assert module.startswith("google."), f"{module}: filter only the known third-party noise"


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter of this environment with `env` added."""
    clean = {k: v for k, v in os.environ.items() if k not in kernel.KERNEL_ENV}
    return subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.mark.notebook
def test_setup_cell_imports_are_quiet_in_the_kernel_environment():
    imports = setup_cell_imports()
    assert "import tensorflow_data_validation as tfdv" in imports.splitlines()
    proc = _python(imports, kernel.KERNEL_ENV)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", f"importing the lab stack wrote to stderr:\n{proc.stderr}"


def test_a_learners_own_warnings_still_show():
    code = "import warnings\nimport google.api_core\nwarnings.warn('mine', FutureWarning)"
    proc = _python(code, kernel.KERNEL_ENV)
    assert "FutureWarning: mine" in proc.stderr


# --- interactive outputs --------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_default_output_dir_is_the_labs_interactive_folder(path):
    nb = nbformat.read(str(path), as_version=4)
    source = next(c.source for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    expected = f'OUTPUT_DIR = outputs.interactive_dir("{path.stem}")'
    assert expected in source.splitlines(), f"{path.name}: the parameters cell should set {expected}"


def test_interactive_dir_lies_in_the_git_ignored_runs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the kernel's working directory must not matter
    folder = Path(outputs.interactive_dir("c2w1_lab_tfdv_census"))
    assert folder == REPO_ROOT / "runs" / "interactive" / "c2w1_lab_tfdv_census"
    ignored = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "check-ignore", "-q", str(folder / "results.json")], check=False
    )
    assert ignored.returncode == 0, "runs/ must be git-ignored"


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".."])
def test_interactive_dir_rejects_paths(bad):
    with pytest.raises(ValueError, match="plain notebook name"):
        outputs.interactive_dir(bad)


def test_project_root_finds_a_checkout_above_the_start(tmp_path, monkeypatch):
    checkout = tmp_path / "clone"
    (checkout / "notebooks").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    monkeypatch.setattr(outputs, "__file__", str(tmp_path / "site-packages" / "labs_utils" / "outputs.py"))
    assert outputs.project_root(checkout / "notebooks") == checkout
    assert outputs.project_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
