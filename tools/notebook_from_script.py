"""Convert a jupytext percent script into a clean lab notebook (no outputs, python3 kernel, tags kept).

Usage: python tools/notebook_from_script.py SCRIPT.py notebooks/NAME.ipynb
"""

import sys

import jupytext
import nbformat


def convert(script: str, target: str) -> None:
    """Write ``target`` from ``script``, dropping jupytext's own metadata."""
    nb = jupytext.read(script, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"  # stable ids keep git diffs to real changes
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbformat.validate(nb)
    nbformat.write(nb, target)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
