"""Where an interactive lab run writes: the git-ignored `runs/interactive/<lab>/` of the checkout.

Headless runs pass their own OUTPUT_DIR; an interactive run uses each notebook's default, which must
never land inside the repository's tracked folders whatever the kernel's working directory is.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["interactive_dir", "project_root"]


def _is_checkout(folder: Path) -> bool:
    """Tell whether `folder` looks like this project's checkout."""
    return (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir()


def project_root(start: str | Path | None = None) -> Path:
    """Return the checkout holding labs_utils (editable install), else the first checkout above `start`.

    Falls back to `start` (default: the working directory) when neither is a checkout.
    """
    installed = Path(__file__).resolve().parents[2]
    if _is_checkout(installed):
        return installed
    here = Path(start or Path.cwd()).resolve()
    return next((folder for folder in (here, *here.parents) if _is_checkout(folder)), here)


def interactive_dir(lab: str) -> str:
    """Return `<project root>/runs/interactive/<lab>`, the default OUTPUT_DIR of an interactive run.

    Introduced in every lab's parameters cell.
    """
    if not lab or "/" in lab or lab in {".", ".."}:
        raise ValueError(f"lab name {lab!r} must be a plain notebook name such as 'c2w1_lab_tfdv_census'")
    return str(project_root() / "runs" / "interactive" / lab)
