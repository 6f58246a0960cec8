"""Find the lab notebooks: discover them in course order and select them by name, substring or path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from labs_utils import hygiene

__all__ = ["NOTEBOOK_PATTERNS", "Lab", "UnknownLabError", "default_notebooks_dir", "discover", "select"]

# Course labs are c<course>w<week>_*.ipynb; labs beyond the course c<course>x_*.ipynb (after the weeks).
NOTEBOOK_PATTERNS = ("c[0-9]*w[0-9]*_*.ipynb", "c[0-9]*x_*.ipynb")


@dataclass(frozen=True)
class Lab:
    """A lab notebook: short name (file stem), path and title (first H1)."""

    name: str
    path: Path
    title: str


class UnknownLabError(ValueError):
    """Raised when a name matches no lab."""


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
