"""Which data a lab run used: the stand-ins it ran on (from its data log and results.json), the
official-data check of `labs run --require-official-data`, and the banner naming them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labs_utils.execution import LabResult

__all__ = ["DATA_LOG", "add_banner", "check_data", "stand_ins"]

DATA_LOG = "data_used.jsonl"  # in each lab's folder: what the data helpers handed out


def stand_ins(
    records: Sequence[dict[str, Any]], results: dict[str, Any] | None, quick: bool = False
) -> list[dict[str, Any]]:
    """Return one entry per dataset a lab ran on a stand-in for, from its data log and results.json.

    A stand-in is what a data helper handed out in place of an unreachable official file (the log
    names the files it replaced). In full mode, a results.json labelled subset, lossy or synthetic
    also counts when the lab read registered data; quick mode's samples are chosen on purpose,
    and data a lesson writes itself (three inline rows) replaces no official file.
    """
    from labs_utils.datasets import standins

    found: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("stand_in_for"):
            found[str(record["dataset"])] = _stand_in(record, record["stand_in_for"])
    results = results or {}
    label = str(results.get("data_source", ""))
    if quick or found or not records or not standins.is_stand_in(label, bool(results.get("lossy"))):
        return list(found.values())
    partial = [r for r in records if standins.is_stand_in(str(r.get("data_source", "")))]
    for record in partial or records:
        found.setdefault(str(record["dataset"]), _stand_in({**record, "data_source": label}, []))
    return list(found.values())


def _stand_in(record: dict[str, Any], replaced: Sequence[str]) -> dict[str, Any]:
    """Return a stand-in entry for a data-log record, with the steps to the official files."""
    from labs_utils.datasets import standins

    dataset = str(record["dataset"])
    return {
        "dataset": dataset,
        "data_source": str(record.get("data_source", "")),
        "files": list(record.get("files", [])),
        "how_to_get": standins.how_to_get(dataset, replaced),
    }


def check_data(result: LabResult, data_log: Path, require_official: bool) -> None:
    """Record the lab's stand-ins; with ``require_official``, fail a passed lab that used any."""
    from labs_utils.datasets import standins

    records = standins.read_data_log(data_log)
    result.stand_ins = stand_ins(records, result.results, result.quick)
    if not require_official or not result.passed or not result.stand_ins:
        return
    used = ", ".join(f"{item['dataset']} ({item['data_source']})" for item in result.stand_ins)
    names = " ".join(item["dataset"] for item in result.stand_ins)
    result.status = "failed"
    result.error = (
        f"official data required (--require-official-data), but the lab ran on stand-in data: {used}; "
        f"results.json data_source {result.data_source!r}. Get the official files with "
        f"`labs data fetch {names}` (network access or LABS_DATA_MIRROR)"
    )


def add_banner(executed: Path, stand_ins_used: Sequence[dict[str, Any]]) -> None:
    """Put a markdown cell on top of the executed notebook naming the stand-ins and the way out."""
    import nbformat

    lines = ["**This run used stand-in data**, not (all of) the official files:", ""]
    for item in stand_ins_used:
        files = ", ".join(f"`{f}`" for f in item["files"])
        lines.append(f"- **{item['dataset']}**: `{item['data_source']}` {files}".rstrip())
        lines += [f"  - {step}" for step in item["how_to_get"]]
    nb = nbformat.read(str(executed), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("\n".join(lines), metadata={"tags": ["stand-in-data"]}))
    nbformat.write(nb, str(executed))
