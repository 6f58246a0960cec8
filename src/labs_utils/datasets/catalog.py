"""The dataset registry (``datasets/registry.toml``): typed entries, and where the cache lives.

Every data file the labs read is named by the sha256 of its content, with how to get it
officially. Environment: ``LABS_REGISTRY`` (registry file), ``LABS_DATA_DIR`` (cache, default
``datasets/cache``). Relative paths in these variables are taken from the repository root, so
notebooks and ``make`` agree whatever their cwd.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labs_utils.datasets.archives import archive_kind

__all__ = [
    "DATASETS_DIR", "DATA_SOURCES", "REPO_ROOT", "UNKNOWN", "VARIANTS", "DatasetEntry", "FileEntry",
    "cache_dir", "cache_path", "datasets_table", "registry", "registry_path",
]  # fmt: skip

REPO_ROOT = Path(__file__).resolve().parents[3]
DATASETS_DIR = REPO_ROOT / "datasets"
UNKNOWN = "unknown"
VARIANTS = ("full", "subset", "lossy", "course_variant")
PARTIAL_VARIANTS = frozenset({"subset", "lossy"})
DATA_SOURCES = ("official", "mirror", "mirror-subset", "lossy", "unverified", "synthetic")
_DATASET_FIELDS = ("title", "licence", "citation", "homepage")


@dataclass(frozen=True)
class FileEntry:
    """One registered file: its name in the cache, variant, hashes and official source.

    ``sha256`` is ``"unknown"`` when no copy could be hashed (trust on first use); ``member`` is
    the path inside the archive at ``url``; ``size`` (None when unknown) is checked on every
    fetch and caps how far a .gz or archive may unpack.
    """

    name: str
    variant: str
    sha256: str
    url: str = ""
    member: str = ""
    git_blob_sha1: str = ""
    size: int | None = None
    note: str = ""


@dataclass(frozen=True)
class DatasetEntry:
    """One registered dataset: its card fields and its files."""

    name: str
    title: str
    licence: str
    citation: str
    homepage: str
    files: tuple[FileEntry, ...]

    def file(self, name: str) -> FileEntry:
        """Return the entry of file ``name``; KeyError lists the registered names."""
        for item in self.files:
            if item.name == name:
                return item
        raise KeyError(f"{self.name} has no file {name!r}; registered: {[f.name for f in self.files]}")


def env_path(var: str) -> Path | None:
    """Return the path in environment variable ``var`` (relative ones from the repo root), or None."""
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def registry_path() -> Path:
    """Return the registry file: ``LABS_REGISTRY``, else ``<repo>/datasets/registry.toml``."""
    return env_path("LABS_REGISTRY") or DATASETS_DIR / "registry.toml"


def registry() -> dict[str, DatasetEntry]:
    """Return the registry as ``{dataset: DatasetEntry}``, checked field by field.

    Raises:
        ValueError: an entry lacks a field or has an invalid value; the message names the file.
    """
    path = registry_path()
    with path.open("rb") as fh:
        raw = tomllib.load(fh).get("datasets", {})
    return {name: _entry(name, fields, path) for name, fields in raw.items()}


def _entry(dataset: str, fields: dict, path: Path) -> DatasetEntry:
    """Return a checked DatasetEntry; raise ValueError naming the registry file and the problem."""
    where = f"{path}: dataset {dataset}"
    missing = {*_DATASET_FIELDS, "files"} - set(fields)
    if missing or not fields.get("files"):
        raise ValueError(f"{where}: missing {sorted(missing) or ['files']}")
    names = [f.get("name") for f in fields["files"]]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"{where}: file names must be present and unique: {names}")
    files = tuple(_file_entry(item, where) for item in fields["files"])
    return DatasetEntry(dataset, *(fields[key] for key in _DATASET_FIELDS), files)


def _file_entry(item: dict, where: str) -> FileEntry:
    """Return a checked FileEntry; an archive URL's ``member`` defaults to the file name."""
    sha = item.get("sha256", "")
    if item.get("variant") not in VARIANTS:
        raise ValueError(f"{where}, {item['name']}: variant must be one of {VARIANTS}")
    if sha != UNKNOWN and (len(sha) != 64 or set(sha) - set("0123456789abcdef")):
        raise ValueError(f"{where}, {item['name']}: sha256 must be 64 hex digits or 'unknown'")
    unknown = set(item) - set(FileEntry.__dataclass_fields__)
    if unknown:
        raise ValueError(f"{where}, {item['name']}: unknown fields {sorted(unknown)}")
    member = item.get("member", "")
    if not member and item.get("url") and archive_kind(item["url"], item["name"]) in ("zip", "tar"):
        member = item["name"]
    return FileEntry(**{**item, "member": member})


def select_files(dataset: str, files: list[str] | None) -> list[FileEntry]:
    """Return the registry entries of ``files`` (default: the dataset's full files).

    Raises:
        ValueError: the dataset or a file is not registered; the message lists what is.
    """
    entries = registry()
    if dataset not in entries:
        raise ValueError(f"unknown dataset {dataset!r}; {registry_path()} has {sorted(entries)}")
    by_name = {item.name: item for item in entries[dataset].files}
    if files is None:
        return [item for item in by_name.values() if item.variant == "full"]
    unknown = [name for name in files if name not in by_name]
    if unknown:
        raise ValueError(f"{dataset} has no files {unknown}; registered: {sorted(by_name)}")
    return [by_name[name] for name in files]


def cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache root: ``data_dir``, else ``LABS_DATA_DIR``, else ``datasets/cache``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return env_path("LABS_DATA_DIR") or DATASETS_DIR / "cache"


def cache_path(dataset: str, file: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return where ``file`` of ``dataset`` lives in the cache (it may not exist yet)."""
    return cache_dir(data_dir) / dataset / file


def _human_size(n: float) -> str:
    units = ["B", "KB", "MB", "GB"]
    step = 0
    while n >= 1000 and step < len(units) - 1:
        n, step = n / 1000, step + 1
    return f"{n:.0f} B" if step == 0 else f"{n:.1f} {units[step]}"


def datasets_table(data_dir: str | os.PathLike | None = None) -> pd.DataFrame:
    """Return one row per registered dataset: files, size, licence, variants, files cached."""
    rows = []
    for name, entry in registry().items():
        files = entry.files
        size = _human_size(sum(f.size or 0 for f in files))
        cached = sum(cache_path(name, f.name, data_dir).is_file() for f in files)
        rows.append(
            {
                "dataset": name,
                "files": len(files),
                "size": size + ("+" if any(f.size is None for f in files) else ""),
                "licence": entry.licence,
                "variants": ", ".join(v for v in VARIANTS if any(f.variant == v for f in files)),
                "cached": f"{cached}/{len(files)}",
            }
        )
    return pd.DataFrame(rows)
