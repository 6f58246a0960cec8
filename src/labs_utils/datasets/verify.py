"""Verify data files: hashes, first-use records in ``<file>.source.json`` sidecars, atomic installs.

A fetched file is checked against its registered sha256 (or git blob id, or the hash recorded on
first use) before it is moved into the cache; a cached file is re-checked unless its sidecar
vouches for it (same size and mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from labs_utils.datasets.catalog import UNKNOWN, FileEntry

__all__ = ["DataIntegrityError"]

CHUNK = 1 << 20


class DataIntegrityError(ValueError):
    """A file's content does not match its registered (or first-use) hash."""

    def __init__(
        self,
        dataset: str,
        file: str,
        expected: str,
        actual: str,
        where: str,
        *,
        kind: str = "sha256",
        hint: str = "",
    ) -> None:
        self.dataset, self.file, self.expected, self.actual = dataset, file, expected, actual
        message = (
            f"{kind} mismatch for {dataset}/{file} from {where}: expected {expected}, "
            f"got {actual}. The file was not used."
        )
        super().__init__(f"{message} {hint}".strip())


def _hashes(path: Path) -> tuple[str, str]:
    """Return the sha256 and the git blob sha1 of a file, read once."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".source.json")


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: dict) -> None:
    """Write JSON atomically (temp file in the same directory, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def temp_path(target: Path) -> Iterator[Path]:
    """Return a context yielding a fresh temp path beside ``target``, removed on exit unless moved."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    tmp.open("xb").close()  # unlike mkstemp, honours the umask, so cached files get normal modes
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _verify(
    entry: FileEntry,
    dataset: str,
    sha256: str,
    blob: str,
    recorded: dict | None,
    where: str,
    hint: str = "",
) -> str:
    """Check a file's hashes against the registry or a first-use record; return the method."""
    name = entry.name
    if entry.sha256 != UNKNOWN:
        if sha256 != entry.sha256:
            raise DataIntegrityError(dataset, name, entry.sha256, sha256, where, hint=hint)
        return "sha256"
    if entry.git_blob_sha1:
        if blob != entry.git_blob_sha1:
            raise DataIntegrityError(
                dataset, name, entry.git_blob_sha1, blob, where, kind="git blob sha1", hint=hint
            )
        return "git_blob_sha1"
    if recorded and recorded.get("sha256"):
        if sha256 != recorded["sha256"]:
            raise DataIntegrityError(
                dataset,
                name,
                recorded["sha256"],
                sha256,
                where,
                kind="sha256 (recorded on first use)",
                hint=hint,
            )
        return "trust-on-first-use"
    warnings.warn(
        f"{dataset}/{name} has no published checksum: trusting this copy on first use "
        f"(sha256 {sha256}); later fetches are checked against it.",
        UserWarning,
        stacklevel=5,
    )
    return "trust-on-first-use"


def _sidecar_trusted(meta: dict | None, entry: FileEntry, size: int, mtime_ns: int) -> bool:
    """Tell whether a sidecar vouches for an unchanged cached file (skips re-hashing)."""
    if not meta or meta.get("size") != size or meta.get("mtime_ns") != mtime_ns:
        return False
    if entry.sha256 != UNKNOWN:
        return meta.get("sha256") == entry.sha256
    if entry.git_blob_sha1:
        return meta.get("git_blob_sha1") == entry.git_blob_sha1
    return bool(meta.get("sha256"))


def _record(path: Path, meta: dict, sha256: str, blob: str, verified_by: str) -> dict:
    stat = path.stat()
    return meta | {
        "sha256": sha256,
        "git_blob_sha1": blob,
        "verified_by": verified_by,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
    }


def install(tmp: Path, target: Path, entry: FileEntry, dataset: str, origin: str, where: str) -> None:
    """Return None once a fetched temp file is verified, its source recorded and it is in the cache."""
    sidecar = _sidecar(target)
    sha256, blob = _hashes(tmp)
    verified_by = _verify(entry, dataset, sha256, blob, _read_json(sidecar), where)
    meta = {
        "dataset": dataset,
        "file": entry.name,
        "origin": origin,
        "location": where,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Sidecar first: a first-use hash must survive even if the rename below is interrupted.
    _write_json(sidecar, _record(tmp, meta, sha256, blob, verified_by))
    os.replace(tmp, target)


def check_cached(target: Path, entry: FileEntry, dataset: str) -> str:
    """Return the origin of a verified cached file (an up-to-date sidecar is trusted)."""
    sidecar = _sidecar(target)
    meta = _read_json(sidecar)
    stat = target.stat()
    if _sidecar_trusted(meta, entry, stat.st_size, stat.st_mtime_ns):
        return meta.get("origin", "local")
    sha256, blob = _hashes(target)
    hint = f"Delete {target} and {sidecar.name} to fetch it again."
    verified_by = _verify(entry, dataset, sha256, blob, meta, f"the cache ({target})", hint)
    base = meta or {
        "dataset": dataset,
        "file": entry.name,
        "origin": "local",
        "location": str(target),
        "fetched_at": None,
    }
    _write_json(sidecar, _record(target, base, sha256, blob, verified_by))
    return base["origin"]
