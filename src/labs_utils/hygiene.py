"""Notebook files: read titles and cells, strip run state before committing, check what is committed.

nbformat is imported inside the functions that need it, so ``labs list`` answers at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labs_utils import kernel

__all__ = [
    "KERNEL_NAME", "PARAMETER_NAMES", "REQUIRED_PARAMETERS", "cell_source", "check_notebook_hygiene",
    "declared_parameters", "first_line", "lesson_problems", "notebook_paths", "notebook_title",
    "strip_outputs", "strip_text",
]  # fmt: skip

KERNEL_NAME = kernel.KERNEL_NAME
# The parameters the runner passes; a lab's `parameters` cell holds only those that change something in
# it (a lab without a quick mode has no QUICK), and every lab writes its results to OUTPUT_DIR.
PARAMETER_NAMES = ("QUICK", "DATA_DIR", "OUTPUT_DIR", "SEED", "BEAM_ARGS")
REQUIRED_PARAMETERS = ("OUTPUT_DIR",)
# Cell metadata that belongs in git (nbgrader marks the assignments' exercise cells); everything else
# (papermill, execution, collapsed, ...) is run or editor state.
KEEP_CELL_METADATA = {"tags", "slideshow", "editable", "deletable", "name", "nbgrader"}
DROP_NOTEBOOK_METADATA = {"papermill", "widgets", "execution"}
# Tags papermill puts on the cells it adds to an executed notebook.
PAPERMILL_TAGS = {"injected-parameters", "papermill-error-cell-tag"}
STRIP_HINT = "run `labs strip {path}`"
# The lesson comes first, with at most this many asserts per section; the other checks go to the
# closing section named CHECK_SECTION (see DESIGN.md, notebook conventions).
LESSON_ASSERTS = 2
CHECK_SECTION = "Check this run"


def notebook_title(path: Path) -> str:
    """Return the first H1 of the notebook's first markdown cell, or "" if it has none."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            return _h1(cell_source(cell)) or ""
    return ""


def notebook_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Return the notebooks that files and directories name or hold (checkpoints skipped)."""
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
    """Return the notebooks changed by removing outputs, execution counts and run metadata (tags kept).

    Args:
        paths: notebooks, or directories searched for them.

    Returns:
        The notebooks whose file content changed.
    """
    changed = []
    for path in notebook_paths(paths):
        before = path.read_text(encoding="utf-8")
        after = strip_text(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            changed.append(path)
    return changed


def strip_text(text: str) -> str:
    """Return notebook JSON text without outputs, execution counts, run metadata or papermill cells."""
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    nb.cells = [cell for cell in nb.cells if not PAPERMILL_TAGS & set(_tags(cell))]
    for cell in nb.cells:
        _strip_cell(cell)
    for key in DROP_NOTEBOOK_METADATA:
        nb.metadata.pop(key, None)
    after = nbformat.writes(nb)
    return after if after.endswith("\n") else after + "\n"


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
    """Return what is wrong with a committed notebook, each problem with how to fix it."""
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
    empty = [i for i, c in cells if not cell_source(c).strip()]
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


def lesson_problems(path: str | Path, limit: int = LESSON_ASSERTS) -> list[str]:
    """Return the lesson-first rule's problems: no check section, or a section crowded with asserts."""
    path = Path(path)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    section, counts, in_checks = "(before the first heading)", {}, False
    for cell in cells:
        text = cell_source(cell)
        if cell["cell_type"] == "markdown":
            headings = re.findall(r"^#+\s+(.+?)\s*$", text, re.MULTILINE)
            section = headings[-1] if headings else section
            in_checks = in_checks or any(h.lower().startswith(CHECK_SECTION.lower()) for h in headings)
        elif cell["cell_type"] == "code" and not in_checks:
            counts[section] = counts.get(section, 0) + len(re.findall(r"^\s*assert\b", text, re.MULTILINE))
    problems = [
        f"{path.name}: section {name!r} has {n} asserts; keep at most {limit} that state the lesson and move "
        f"the rest to the {CHECK_SECTION!r} section or into the tests"
        for name, n in counts.items()
        if n > limit
    ]
    if not in_checks:
        problems.append(
            f"{path.name}: no {CHECK_SECTION!r} section; end the lesson with one that writes results.json"
        )
    return problems


def _title_problems(path: Path, cells: list[dict[str, Any]]) -> list[str]:
    """Check that the first markdown cell opens with an H1 title."""
    markdown = [cell for cell in cells if cell.get("cell_type") == "markdown"]
    if not markdown or not _h1(cell_source(markdown[0])):
        return [f"{path.name}: the first markdown cell has no H1 title; start it with '# <Title>'"]
    return []


def _parameter_problems(path: Path, cells: list[dict[str, Any]]) -> list[str]:
    """Check for a `parameters` cell that defines at least OUTPUT_DIR."""
    tagged = [cell for cell in cells if "parameters" in _tags(cell)]
    if not tagged:
        return [
            f"{path.name}: no cell tagged `parameters`; tag the cell defining the lab's parameters, "
            f'at least {", ".join(REQUIRED_PARAMETERS)} (jupytext: `# %% tags=["parameters"]`)'
        ]
    source = cell_source(tagged[0])
    missing = [n for n in REQUIRED_PARAMETERS if not re.search(rf"^{n}\s*=", source, re.MULTILINE)]
    if missing:
        return [f"{path.name}: the `parameters` cell does not define {missing}; add them"]
    return []


def declared_parameters(path: str | Path) -> set[str]:
    """Return the names the notebook's `parameters` cell assigns (empty without such a cell)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    tagged = [cell for cell in cells if "parameters" in _tags(cell)]
    if not tagged:
        return set()
    return set(re.findall(r"^([A-Za-z_]\w*)\s*(?::[^=]*)?=", cell_source(tagged[0]), re.MULTILINE))


def _tags(cell: dict[str, Any]) -> list[str]:
    """Return a cell's tags."""
    return list(cell.get("metadata", {}).get("tags", []))


def cell_source(cell: dict[str, Any]) -> str:
    """Return a cell's source as one string (JSON stores it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _h1(markdown: str) -> str | None:
    """Return the first H1 heading's text in a markdown string."""
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", markdown, re.MULTILINE)
    return match.group(1) if match else None


def first_line(text: str, width: int = 120) -> str:
    """Return the first non-blank line of text, shortened to `width` characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"
