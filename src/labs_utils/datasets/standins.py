"""Stand-ins: which data a run used when an official file was out of reach, and how to get it.

Full mode runs on the best data reachable: the official file, else the mirror's real subset (or a
lossy rebuild), else the labelled synthetic stand-in quick mode uses. This module names those
labels, words the "how to get the official file" advice from the registry, and shows a banner.

Environment, set by ``labs run`` for each lab's kernel:

- ``LABS_REQUIRE_OFFICIAL_DATA=1``: the fetch helpers refuse stand-ins and raise
  ``DataNotAvailableError`` instead (``labs run --require-official-data``).
- ``LABS_DATA_LOG=<file>``: every fetch appends one JSON line (dataset, files, data source, and
  the official files a stand-in replaced), so the runner can tell which labs ran on stand-ins.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labs_utils.datasets.catalog import DATASETS_DIR, cache_path, registry

__all__ = [
    "DATA_LOG_ENV", "FULL_SOURCES", "REQUIRE_OFFICIAL_ENV", "STAND_IN_SOURCES", "DataBanner",
    "data_banner", "how_to_get", "is_stand_in", "official_data_required", "read_data_log", "record_use",
    "show_data_source",
]  # fmt: skip

REQUIRE_OFFICIAL_ENV = "LABS_REQUIRE_OFFICIAL_DATA"
DATA_LOG_ENV = "LABS_DATA_LOG"
# The complete official file: verified from the official URL or the mirror, or (``unverified``)
# trusted on first use because no checksum is published for it.
FULL_SOURCES = ("official", "mirror", "unverified")
STAND_IN_SOURCES = ("mirror-subset", "lossy", "synthetic")
_STAND_IN_TEXT = {
    "mirror-subset": "a real subset of the official data (the mirror's copy)",
    "lossy": "a lossy rebuild of the official data",
    "synthetic": "a synthetic stand-in in the official format, not the real dataset",
}


def official_data_required() -> bool:
    """Return whether ``LABS_REQUIRE_OFFICIAL_DATA`` asks the fetch helpers to refuse stand-ins."""
    return os.environ.get(REQUIRE_OFFICIAL_ENV, "").strip() not in ("", "0")


def is_stand_in(data_source: str, lossy: bool = False) -> bool:
    """Return whether a ``data_source`` label (or a lossy flag) marks data that is not the full file."""
    key = str(data_source).split()[0] if str(data_source).strip() else ""
    return lossy or key in STAND_IN_SOURCES


def how_to_get(dataset: str, files: Sequence[str] = ()) -> list[str]:
    """Return the steps that get the official ``files`` of ``dataset`` (default: its full files).

    Each official file is named with its URL (and archive member) from the registry; then the
    three ways in: ``labs data fetch`` with network, ``LABS_DATA_MIRROR``, or a copy in the cache.
    """
    entry = registry().get(dataset)
    if entry is None:
        return [f"{dataset} is not in the registry ({DATASETS_DIR / 'registry.toml'})"]
    wanted = [f for f in entry.files if (f.name in files if files else f.variant == "full")]
    steps = []
    for item in wanted:
        source = item.url or "no public URL: the course mirror only"
        if item.member and item.url:
            source += f" (member {item.member})"
        steps.append(f"official file {dataset}/{item.name}: {source}")
    names = " ".join(item.name for item in wanted[:1]) or "<file>"
    steps += [
        f"with network access: `labs data fetch {dataset}` (or `make data`)",
        f"offline: set LABS_DATA_MIRROR to a folder or http(s) URL holding {dataset}/{names}, "
        f"then `labs data fetch {dataset}`",
        f"or copy the file to {cache_path(dataset, names)}; "
        f"see {DATASETS_DIR / 'README.md'} (section {dataset})",
    ]
    return steps


def record_use(
    dataset: str, files: Iterable[str], data_source: str, stand_in_for: Sequence[str] = ()
) -> None:
    """Append what a fetch handed out to the ``LABS_DATA_LOG`` file, when that variable is set."""
    target = os.environ.get(DATA_LOG_ENV, "").strip()
    if not target:
        return
    record = {
        "dataset": dataset,
        "files": sorted(files),
        "data_source": data_source,
        "stand_in_for": list(stand_in_for),
    }
    with open(target, "a", encoding="utf-8") as fh:  # one short line per write: appends stay whole
        fh.write(json.dumps(record) + "\n")


def read_data_log(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Return the records of a ``LABS_DATA_LOG`` file; none when it is missing, bad lines skipped."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "dataset" in record:
            records.append(record)
    return records


@dataclass(frozen=True)
class DataBanner:
    """What a lab shows right after fetching: the data this run used and, for a stand-in, the fix."""

    dataset: str
    data_source: str
    files: tuple[str, ...]
    steps: tuple[str, ...] = ()

    @property
    def stand_in(self) -> bool:
        """Return whether the run uses a stand-in rather than the full official file."""
        return bool(self.steps)

    def headline(self) -> str:
        """Return the one-line statement of which data this run uses."""
        files = ", ".join(self.files)
        if not self.stand_in:
            what = "first download, not yet verified" if self.data_source == "unverified" else "verified"
            return f"Data: the official {self.dataset} file(s) {files} ({self.data_source}, {what})."
        text = _STAND_IN_TEXT.get(self.data_source.split()[0], self.data_source)
        return (
            f"STAND-IN DATA ({self.data_source}): the official {self.dataset} file was not reachable, "
            f"so this run uses {text}: {files}. Every number below describes this data."
        )

    def __str__(self) -> str:
        lines = [self.headline()]
        if self.stand_in:
            lines += ["To run on the official data:", *(f"  - {step}" for step in self.steps)]
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        if not self.stand_in:
            return f"**{self.headline()}**"
        steps = "\n".join(f"- {step}" for step in self.steps)
        return f"> **{self.headline()}**\n>\n> To run on the official data:\n\n{steps}"

    def _repr_html_(self) -> str:
        if not self.stand_in:
            return f"<p><b>{html.escape(self.headline())}</b></p>"
        steps = "".join(f"<li>{html.escape(step)}</li>" for step in self.steps)
        return (
            '<div style="border:2px solid #9a6700;background:#fff8c5;padding:8px 12px;'
            'border-radius:6px"><b>'
            f"{html.escape(self.headline())}</b><br>To run on the official data:<ul>{steps}</ul></div>"
        )


def data_banner(fetched: Any) -> DataBanner:
    """Return the banner for a fetch result (anything with ``dataset``, ``data_source``, ``paths``)."""
    source = str(fetched.data_source)
    files = tuple(sorted(Path(path).name for path in fetched.paths.values()))
    if not is_stand_in(source):
        return DataBanner(fetched.dataset, source, files)
    entry = registry().get(fetched.dataset)
    full = {f.name for f in entry.files if f.variant == "full"} if entry else set()
    wanted = [name for name in fetched.paths if name in full]  # a synthetic log keeps the real name
    return DataBanner(fetched.dataset, source, files, tuple(how_to_get(fetched.dataset, wanted)))


def show_data_source(fetched: Any) -> None:
    """Return None after showing which data ``fetched`` is (a rich banner in Jupyter, else text).

    A stand-in gets a boxed warning with the steps to the official file; official data one line.

    Introduced in c2w4_lab_weather_timeseries.
    """
    banner = data_banner(fetched)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display(banner)
    else:
        print(banner)
