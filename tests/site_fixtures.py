"""A small fake run folder for the site tests: three labs (passed, failed, synthetic data)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

from labs_utils import kernel

INTRO = """# {title}

**What you will learn**
- compute statistics of a training set,
  then compare them with the evaluation set;
- infer a schema.

**Dataset.** A made-up dataset for the site tests.
"""

LABS = [
    {
        "lab": "c9w1_lab_alpha",
        "title": "Alpha: statistics and schema",
        "status": "passed",
        "seconds": 12.34,
        "peak_rss_mb": 812.6,
        "results": {
            "lab": "c9w1_lab_alpha",
            "quick": True,
            "data_source": "official",
            "rows": 32561,
            "split_sizes": {"train": 26048, "eval": 6513},
            "auc": 0.912345,
            "features": ["a", "b"],
        },
    },
    {
        "lab": "c9w2_lab_beta",
        "title": "Beta: a lab that fails",
        "status": "failed",
        "seconds": 3.0,
        "peak_rss_mb": None,
        "cell_index": 7,
        "cell_source": "assert anomalies == expected",
        "cell_line": "2: assert len(rows) == 3",
        "error": "AssertionError: the cleaned eval set has 4 anomalies, not 3",
        "results": None,
    },
    {
        "lab": "c9w3_lab_gamma",
        "title": "Gamma <synthetic> & friends",
        "status": "passed",
        "seconds": 40.0,
        "peak_rss_mb": 1024.0,
        "results": {
            "lab": "c9w3_lab_gamma",
            "data_source": "synthetic",
            "headline": {"windows": 1200, "majority label": "walking"},
            "windows": 1200,
        },
    },
]


def make_fake_run(run_dir: Path) -> Path:
    """Write summary.json, executed notebooks, HTML exports and results.json like `labs run` does."""
    records = []
    for lab in LABS:
        name = lab["lab"]
        folder = run_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(INTRO.format(title=lab["title"])),
                nbformat.v4.new_code_cell("1"),
            ]
        )
        nb.metadata["kernelspec"] = kernel.notebook_metadata()
        nbformat.write(nb, str(folder / f"{name}.ipynb"))
        (folder / f"{name}.html").write_text(
            f"<!doctype html><title>{name}</title><h1 id='executed'>{name} (executed)</h1>", encoding="utf-8"
        )
        if lab["results"] is not None:
            (folder / "results.json").write_text(json.dumps(lab["results"]), encoding="utf-8")
        records.append(
            {
                "lab": name,
                "status": lab["status"],
                "seconds": lab["seconds"],
                "quick": True,
                "data_source": (lab["results"] or {}).get("data_source", "-"),
                "cell_index": lab.get("cell_index"),
                "cell_source": lab.get("cell_source"),
                "cell_line": lab.get("cell_line"),
                "error": lab.get("error"),
                "notebook": f"{name}/{name}.ipynb",
                "html": f"{name}/{name}.html",
                "peak_rss_mb": lab["peak_rss_mb"],
            }
        )
    (run_dir / "summary.json").write_text(json.dumps(records, indent=2), encoding="utf-8")
    return run_dir
