"""Report on lab runs: the summary table and files, and the benchmark tables.

pandas is imported inside the functions that need it, so ``labs list`` answers at once.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labs_utils import runner
from labs_utils.runner import Lab, LabResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "bench", "markdown_table", "remove_summary", "stand_in_notes", "summary_table", "write_bench",
    "write_summary",
]  # fmt: skip

SUMMARY_FILES = ("summary.md", "summary.json")


def summary_table(results: Iterable[LabResult]) -> pd.DataFrame:
    """Return a table of lab results: status, time, data source and, for failures, cell and error."""
    import pandas as pd

    rows = [
        {
            "lab": r.lab,
            "status": r.status,
            "seconds": r.seconds,
            "peak_mb": r.peak_rss_mb,
            "data_source": r.data_source,
            "quick": r.quick,
            "failed_cell": _failed_cell(r),
            "error": r.error or "",
        }
        for r in results
    ]
    columns = ["lab", "status", "seconds", "peak_mb", "data_source", "quick", "failed_cell", "error"]
    return pd.DataFrame(rows, columns=columns)


def _failed_cell(result: LabResult) -> str:
    """Describe where a lab failed: cell index, first line and, if elsewhere, the raising line."""
    if result.cell_index is None:
        return ""
    text = f"{result.cell_index}: {result.cell_source}"
    if result.cell_line and not result.cell_line.startswith("1: "):
        text += f" (line {result.cell_line})"
    return text


def stand_in_notes(results: Iterable[LabResult]) -> str:
    """Return the markdown list of labs that ran on stand-in data, each with how to get the official files.

    Empty when every lab ran on the official data (or read none).
    """
    lines = []
    for r in results:
        for item in r.stand_ins:
            files = ", ".join(item["files"])
            source = item["data_source"]
            lines.append(f"- **{r.lab}** ({r.status}): {item['dataset']} as `{source}` ({files})")
            lines += [f"  - {step}" for step in item["how_to_get"]]
    if not lines:
        return ""
    head = (
        "## Labs that ran on stand-in data\n\n"
        "The official files below were not reachable, so these labs ran on the best data that was "
        "(a real subset, a lossy rebuild or a labelled synthetic stand-in); their numbers describe "
        "that data. `labs run --require-official-data` (`make labs STRICT_DATA=1`) fails them instead.\n"
    )
    return head + "\n" + "\n".join(lines) + "\n"


def markdown_table(df: pd.DataFrame) -> str:
    """Return a DataFrame as a GitHub markdown table, pipes inside cells escaped."""
    escaped = df.apply(lambda col: col.map(lambda v: v.replace("|", "\\|") if isinstance(v, str) else v))
    return escaped.to_markdown(index=False)


def write_summary(results: Sequence[LabResult], output_dir: str | Path) -> tuple[Path, Path]:
    """Return the paths of `summary.md` (markdown table) and `summary.json` (a record per lab) written."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    passed = sum(r.passed for r in results)
    interrupted = sum(r.status == "interrupted" for r in results)
    note = (
        f" The run was interrupted (Ctrl-C or SIGTERM); {interrupted} lab(s) did not finish."
        if interrupted
        else ""
    )
    standing_in = sum(bool(r.stand_ins) for r in results)
    if standing_in:
        note += f" {standing_in} ran on stand-in data (listed below the table)."
    notes = stand_in_notes(results)
    md = out / "summary.md"
    md.write_text(
        "# Lab run summary\n\n"
        f"{passed} of {len(results)} labs passed.{note}\n\n"
        f"{markdown_table(summary_table(results))}\n" + (f"\n{notes}" if notes else ""),
        encoding="utf-8",
    )
    records = []
    for r in results:
        record = asdict(r)
        record.pop("results")
        for key in ("notebook", "html"):
            if record[key] is not None:
                record[key] = os.path.relpath(record[key], out.resolve())
        records.append(record)
    js = out / "summary.json"
    js.write_text(json.dumps(records, indent=2) + "\n", encoding="utf-8")
    return md, js


def remove_summary(output_dir: str | Path) -> list[Path]:
    """Return the summary files removed from ``output_dir`` (left there by an earlier run)."""
    removed = [Path(output_dir) / name for name in SUMMARY_FILES if (Path(output_dir) / name).exists()]
    for path in removed:
        path.unlink()
    return removed


# --- benchmark ------------------------------------------------------------------------------


def bench(
    labs: Sequence[Lab],
    *,
    output_dir: str | Path,
    modes: Sequence[str] = ("quick", "full"),
    jobs: Sequence[int] = (1, 2),
    timeout: float | None = None,
    on_event: Callable[[str], Any] | None = print,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return per-lab and per-setting tables from running the labs once per (mode, jobs) setting.

    The per-lab table has each lab's wall time and peak memory per setting; the per-setting
    table has the whole run's wall time, so sequential and parallel runs compare.
    """
    import pandas as pd

    per_lab, per_run = [], []
    for mode in modes:
        for n in jobs:
            setting = f"{mode}, jobs={n}"
            if on_event is not None:
                on_event(f"== {setting}")
            start = time.perf_counter()
            results = runner.run_labs(
                labs,
                output_dir=Path(output_dir) / f"{mode}-jobs{n}",
                quick=mode == "quick",
                jobs=n,
                timeout=timeout,
                html=False,
                on_event=on_event,
            )
            wall = round(time.perf_counter() - start, 1)
            per_run.append(
                {
                    "setting": setting,
                    "labs": len(results),
                    "passed": sum(r.passed for r in results),
                    "wall_seconds": wall,
                }
            )
            per_lab += [
                {
                    "lab": r.lab,
                    "setting": setting,
                    "status": r.status,
                    "seconds": r.seconds,
                    "peak_mb": r.peak_rss_mb,
                    "data_source": r.data_source,
                }
                for r in results
            ]
    return pd.DataFrame(per_lab), pd.DataFrame(per_run)


def write_bench(per_lab: pd.DataFrame, per_run: pd.DataFrame, output_dir: str | Path) -> Path:
    """Return the path of `<output_dir>/bench.md`, the benchmark tables written as markdown."""
    import platform

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    # dropna=False keeps a column whose values are all missing (no memory sample, e.g. no kernel).
    wide = per_lab.pivot_table(
        index="lab", columns="setting", values=["seconds", "peak_mb"], aggfunc="first", dropna=False
    )
    settings = list(dict.fromkeys(per_lab["setting"]))  # run order, not alphabetical
    wide = wide[[(value, setting) for value in ("seconds", "peak_mb") for setting in settings]]
    wide.columns = [f"{value} ({setting})" for value, setting in wide.columns]
    body = (
        "# Lab benchmark\n\n"
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Seconds are wall time per "
        "lab including kernel start and imports; peak_mb is the kernel's resident memory (children "
        "included), sampled every 0.25 s.\n\n"
        f"## Whole runs\n\n{markdown_table(per_run)}\n\n"
        f"## Per lab\n\n{markdown_table(wide.reset_index())}\n"
    )
    path = out / "bench.md"
    path.write_text(body, encoding="utf-8")
    return path
