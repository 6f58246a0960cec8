"""Verify data files: hashes, first-use records in ``<file>.source.json`` sidecars, atomic installs.

A fetched file is checked against its registered sha256 (or git blob id, or the hash recorded on
first use) before it is moved into the cache; a cached file is re-checked unless its sidecar
vouches for it (same size and mtime).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import secrets
import warnings
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from labs_utils.datasets.archives import MAX_UNPACK_RATIO, MIN_UNPACK_LIMIT
from labs_utils.datasets.catalog import UNKNOWN, FileEntry

__all__ = ["DataIntegrityError"]

CHUNK = 1 << 20
TOFU = "trust-on-first-use"


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
        problem: str = "",
    ) -> None:
        self.dataset, self.file, self.expected, self.actual = dataset, file, expected, actual
        where_from = f"{dataset}/{file} from {where}"
        problem = problem or f"{kind} mismatch for {where_from}: expected {expected}, got {actual}"
        super().__init__(f"{problem}. The file was not used. {hint}".strip())


def unpack_limit(entry: FileEntry, packed_size: int) -> int:
    """Return how many bytes an entry's content may unpack to: its registered size, else a ratio cap."""
    if entry.size is not None:
        return entry.size
    return max(MAX_UNPACK_RATIO * packed_size, MIN_UNPACK_LIMIT)


def gunzip(src: Path, dst: Path, entry: FileEntry, dataset: str, where: str) -> None:
    """Return None once ``src`` is unpacked to ``dst``; stop at the size limit, refuse damaged streams.

    Raises:
        DataIntegrityError: the stream is corrupt or truncated, or unpacks past :func:`unpack_limit`.
    """
    limit = unpack_limit(entry, src.stat().st_size)
    written = 0
    try:
        with gzip.open(src, "rb") as fin, dst.open("wb") as fout:
            while chunk := fin.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise DataIntegrityError(
                        dataset,
                        entry.name,
                        str(limit),
                        f"more than {limit} bytes",
                        where,
                        kind="size",
                        problem=f"size mismatch for {dataset}/{entry.name} from {where}: it unpacks to "
                        f"more than {limit} bytes (the {_limit_kind(entry)}); unpacking stopped there",
                    )
                fout.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        cause = f"{type(exc).__name__}: {exc}"
        raise DataIntegrityError(
            dataset,
            entry.name,
            "",
            "",
            where,
            problem=f"decompression failed for {dataset}/{entry.name} from {where} ({cause})",
        ) from exc


def _limit_kind(entry: FileEntry) -> str:
    if entry.size is not None:
        return "registered size"
    return f"limit of {MAX_UNPACK_RATIO}x the packed size for a file of unknown size"


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
    size: int,
    sha256: str,
    blob: str,
    recorded: dict | None,
    where: str,
    hint: str = "",
    record_file: Path | None = None,
) -> str:
    """Check a file's size and hashes against the registry or a first-use record; return the method."""
    name = entry.name
    if entry.sha256 != UNKNOWN and sha256 != entry.sha256:
        raise DataIntegrityError(dataset, name, entry.sha256, sha256, where, hint=hint)
    # Size first for files without a published hash: a cut copy must never be pinned on first use.
    if entry.size is not None and size != entry.size:
        expected, actual = f"{entry.size} bytes", f"{size} bytes"
        raise DataIntegrityError(dataset, name, expected, actual, where, kind="size", hint=hint)
    if entry.sha256 != UNKNOWN:
        return "sha256"
    if entry.git_blob_sha1:
        if blob != entry.git_blob_sha1:
            raise DataIntegrityError(
                dataset, name, entry.git_blob_sha1, blob, where, kind="git blob sha1", hint=hint
            )
        return "git_blob_sha1"
    if recorded and recorded.get("sha256"):
        if sha256 != recorded["sha256"]:
            pinned = (
                f"The expected hash was recorded when the first copy was fetched; if that copy was "
                f"damaged and this one is right, delete {record_file} (the first-use record) and fetch again."
            )
            raise DataIntegrityError(
                dataset,
                name,
                recorded["sha256"],
                sha256,
                where,
                kind="sha256 (recorded on first use)",
                hint=f"{hint} {pinned}".strip(),
            )
        return TOFU
    warnings.warn(
        f"{dataset}/{name} has no published checksum: trusting this copy on first use "
        f"(sha256 {sha256}); later fetches are checked against it.",
        UserWarning,
        stacklevel=5,
    )
    return TOFU


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


def install(tmp: Path, target: Path, entry: FileEntry, dataset: str, origin: str, where: str) -> str:
    """Return how a fetched temp file was verified, once it is, its source recorded and it is in the cache."""
    sidecar = _sidecar(target)
    sha256, blob = _hashes(tmp)
    size = tmp.stat().st_size
    verified_by = _verify(entry, dataset, size, sha256, blob, _read_json(sidecar), where, record_file=sidecar)
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
    return verified_by


def check_cached(target: Path, entry: FileEntry, dataset: str, *, rehash: bool = False) -> tuple[str, str]:
    """Return the origin of a verified cached file and how it was verified.

    An up-to-date sidecar is trusted unless ``rehash``. A file that fails its check loses the
    sidecar's vouching (its first-use hash is kept), so later fetches refuse it too.
    """
    sidecar = _sidecar(target)
    meta = _read_json(sidecar)
    stat = target.stat()
    if not rehash and _sidecar_trusted(meta, entry, stat.st_size, stat.st_mtime_ns):
        return meta.get("origin", "local"), meta.get("verified_by", "sha256")
    sha256, blob = _hashes(target)
    hint = f"Delete {target} and {sidecar.name} to fetch it again."
    try:
        verified_by = _verify(
            entry, dataset, stat.st_size, sha256, blob, meta, f"the cache ({target})", hint, sidecar
        )
    except DataIntegrityError:
        if meta and meta.get("mtime_ns") is not None:
            _write_json(sidecar, meta | {"mtime_ns": None})
        raise
    base = meta or {
        "dataset": dataset,
        "file": entry.name,
        "origin": "local",
        "location": str(target),
        "fetched_at": None,
    }
    if not (meta and rehash and _sidecar_trusted(meta, entry, stat.st_size, stat.st_mtime_ns)):
        _write_json(sidecar, _record(target, base, sha256, blob, verified_by))
    return base["origin"], verified_by
