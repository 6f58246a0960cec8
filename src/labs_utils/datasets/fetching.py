"""Fetch registered data files: verified cache, then the mirror, then the official URL.

:func:`fetch` checks the hash after unpacking, installs files atomically and records where the
bytes came from in ``<file>.source.json``, so a lab can report its ``data_source``.
Environment: ``LABS_DATA_MIRROR`` (a directory or an http(s) base URL laid out as
``<dataset>/<file>``) and ``LABS_OFFLINE=1`` (never try official URLs).
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.util
import os
import shutil
import sys
import tarfile
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from labs_utils.datasets.archives import UnsafeArchiveError, archive_kind, extract_member
from labs_utils.datasets.catalog import (
    DATASETS_DIR,
    FileEntry,
    cache_dir,
    env_path,
    registry,
    select_files,
)
from labs_utils.datasets.standins import official_data_required, record_use
from labs_utils.datasets.verify import (
    TOFU,
    DataIntegrityError,
    check_cached,
    gunzip,
    install,
    temp_path,
    unpack_limit,
)

__all__ = [
    "DataNotAvailableError", "Fetched", "fetch", "fetch_best", "fetch_file", "fetch_many", "refuse_stand_in",
    "verify_cache",
]  # fmt: skip

_TIMEOUT = (15, 120)  # seconds to connect, seconds between bytes
_FETCH_ERRORS = (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError)


class DataNotAvailableError(RuntimeError):
    """No verified copy of a data file could be found or fetched."""

    def __init__(
        self, message: str, dataset: str = "", file: str = "", reasons: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.dataset, self.file, self.reasons = dataset, file, reasons


@dataclass(frozen=True)
class Fetched:
    """Verified local paths of a dataset's files, and where their content came from.

    ``data_source`` is ``official`` or ``mirror`` for complete official content (named by
    origin), ``mirror-subset`` when any file is a subset or lossy copy, ``unverified`` when any
    file has no published checksum and was trusted on first use, or ``synthetic``.
    """

    dataset: str
    paths: dict[str, Path]
    data_source: str

    def path(self, name: str | None = None) -> Path:
        """Return the path of file ``name``; omit ``name`` when only one file was fetched."""
        if name is None:
            if len(self.paths) != 1:
                raise ValueError(f"{self.dataset}: name one of {sorted(self.paths)}")
            return next(iter(self.paths.values()))
        if name not in self.paths:
            raise KeyError(f"{name!r} was not fetched for {self.dataset}: {sorted(self.paths)}")
        return self.paths[name]


def _mirror(mirror: str | os.PathLike | None) -> str | Path | None:
    """Return the mirror as a base URL or a directory, or None when there is none."""
    if mirror is None:
        value = os.environ.get("LABS_DATA_MIRROR", "").strip()
        if value and not value.startswith(("http://", "https://")):
            return env_path("LABS_DATA_MIRROR")
    else:
        value = os.fspath(mirror).strip()
    if not value:
        return None
    if value.startswith(("http://", "https://")):
        return value.rstrip("/")
    return Path(value).expanduser()


def _use_progress(progress: bool | None) -> bool:
    """Decide whether to draw a download progress bar (needs tqdm)."""
    wanted = sys.stderr.isatty() if progress is None else progress
    return bool(wanted) and importlib.util.find_spec("tqdm") is not None


def _download(url: str, out: Path, progress: bool) -> None:
    """Download ``url`` to ``out`` with pooch's HTTP downloader."""
    import pooch  # lazy: pulls in requests

    pooch.HTTPDownloader(progressbar=progress, timeout=_TIMEOUT)(url, str(out), None)


def _from_mirror(mirror: str | Path, dataset: str, entry: FileEntry, tmp: Path, progress: bool) -> str:
    """Copy ``name`` (or ``name.gz``, unpacked) from the mirror to ``tmp``; return its location.

    Returns "" when the mirror does not have the file.
    """
    name = entry.name
    candidates = [name] if name.endswith(".gz") else [name, name + ".gz"]
    for candidate in candidates:
        packed = candidate != name
        if isinstance(mirror, Path):
            src = mirror / dataset / candidate
            if not src.is_file():
                continue
            if packed:
                gunzip(src, tmp, entry, dataset, str(src))
            else:
                shutil.copyfile(src, tmp)
            return str(src)
        url = f"{mirror}/{urllib.parse.quote(f'{dataset}/{candidate}')}"
        try:
            _download(url, tmp, progress)
        except OSError as exc:  # requests' errors are OSErrors
            if getattr(getattr(exc, "response", None), "status_code", None) == 404:
                continue
            raise
        if packed:
            with temp_path(tmp) as unpacked:
                gunzip(tmp, unpacked, entry, dataset, url)
                os.replace(unpacked, tmp)
        return url
    return ""


def _download_cached(url: str, downloads: Path, progress: bool) -> Path:
    """Download an archive once into ``downloads`` (atomically) and return its path."""
    archive = downloads / Path(urllib.parse.urlparse(url).path).name
    if not archive.is_file():
        try:
            with temp_path(archive) as tmp:
                _download(url, tmp, progress)
                os.replace(tmp, archive)
        except OSError:
            with contextlib.suppress(OSError):
                downloads.rmdir()  # only when empty
            raise
    return archive


def _from_official(dataset: str, entry: FileEntry, tmp: Path, downloads: Path, progress: bool) -> str:
    """Fetch an entry's content from its official URL into ``tmp``; return the location."""
    url = entry.url
    kind = archive_kind(url, entry.name)
    if kind is None:
        _download(url, tmp, progress)
        return url
    if kind == "gz":
        with temp_path(tmp) as packed:
            _download(url, packed, progress)
            gunzip(packed, tmp, entry, dataset, url)
        return url
    archive = _download_cached(url, downloads, progress)
    try:
        member = extract_member(archive, entry.member, tmp, unpack_limit(entry, archive.stat().st_size))
    except UnsafeArchiveError as exc:
        archive.unlink(missing_ok=True)
        problem = f"unsafe archive for {dataset}/{entry.name} from {url}: {exc}"
        raise DataIntegrityError(dataset, entry.name, "", "", url, problem=problem) from exc
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, gzip.BadGzipFile):
        archive.unlink(missing_ok=True)  # a damaged download must not be reused
        raise
    return f"{url} (member {member})"


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


def _not_available(dataset: str, name: str, target: Path, reasons: list[str]) -> str:
    return "\n".join(
        [
            f"{dataset}/{name} is not available (no cache, mirror or download); "
            f"set LABS_DATA_MIRROR or place the file at {target}. Tried:",
            *[f"  - {r}" for r in reasons],
            f"Where it comes from: the data card {DATASETS_DIR / 'README.md'} (section {dataset}) "
            f"and {dataset}/SOURCE.md in the course mirror. To get it:",
            f"  - set LABS_DATA_MIRROR to a directory or http(s) URL laid out as "
            f"<mirror>/{dataset}/{name}, or",
            f"  - place the file at {target}, or",
            f"  - run `labs data fetch {dataset}` on a machine with internet access and copy "
            f"{target.parents[len(PurePosixPath(name).parts) - 1]} here.",
        ]
    )


def _fetch_entry(
    dataset: str, entry: FileEntry, root: Path, mirror: str | Path | None, progress: bool
) -> tuple[Path, str, str, str]:
    """Get one verified file: cache, then mirror, then official URL.

    Returns the path, its origin (official, mirror or local), how it was verified and a status
    message (which says so when the file was only trusted on first use).
    """
    name = entry.name
    target = root / dataset / name
    if target.is_file():
        origin, verified_by = check_cached(target, entry, dataset)
        return target, origin, verified_by, _status("cached", verified_by)
    reasons = [f"cache: no file at {target}"]
    if mirror is None:
        reasons.append("mirror: none (LABS_DATA_MIRROR is not set)")
    else:
        with temp_path(target) as tmp:
            try:
                where = _from_mirror(mirror, dataset, entry, tmp, progress)
            except OSError as exc:
                where, reason = "", f"mirror {mirror}: {_short(exc)}"
            else:
                reason = f"mirror: {mirror}/{dataset}/{name} not found (nor a .gz of it)"
                if isinstance(mirror, Path) and not mirror.is_dir():
                    reason = f"mirror: directory {mirror} does not exist"
            if where:
                verified_by = install(tmp, target, entry, dataset, "mirror", where)
                return target, "mirror", verified_by, _status("fetched from mirror", verified_by)
            reasons.append(reason)
    url = entry.url
    if not url:
        reasons.append("official: no official URL, this file exists only in the course mirror")
    elif os.environ.get("LABS_OFFLINE", "").strip() not in ("", "0"):
        reasons.append(f"official: {url} skipped because LABS_OFFLINE is set")
    else:
        with temp_path(target) as tmp:
            try:
                where = _from_official(dataset, entry, tmp, root / dataset / ".downloads", progress)
            except _FETCH_ERRORS as exc:
                reasons.append(f"official: {url}: {_short(exc)}")
            else:
                verified_by = install(tmp, target, entry, dataset, "official", where)
                return target, "official", verified_by, _status("fetched from official URL", verified_by)
    raise DataNotAvailableError(_not_available(dataset, name, target, reasons), dataset, name, tuple(reasons))


# --- public fetch API ----------------------------------------------------------------------------


def _status(action: str, verified_by: str) -> str:
    return f"{action} (unverified: trusted on first use)" if verified_by == TOFU else action


def _data_source(entries: list[FileEntry], origins: list[str], methods: list[str]) -> str:
    if TOFU in methods:
        return "unverified"  # no published checksum: never labelled as verified official data
    if any(entry.variant == "subset" for entry in entries):
        return "mirror-subset"
    if any(entry.variant == "lossy" for entry in entries):
        return "lossy"  # complete, but re-encoded with loss: no rows are missing
    return "mirror" if "mirror" in origins else "official"


def fetch(
    dataset: str,
    files: list[str] | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> Fetched:
    """Return verified local copies of a dataset's files (cache → mirror → official URL).

    Args:
        dataset: registry name, e.g. ``"census_adult"``.
        files: registry file names; None means the dataset's ``full`` files.
        data_dir: cache root; None means ``LABS_DATA_DIR`` or ``datasets/cache``.
        mirror: directory or http(s) base URL; None means ``LABS_DATA_MIRROR``, "" none.
        progress: draw a download progress bar; None means when stderr is a terminal.

    Raises:
        DataNotAvailableError: a file is in no source; the message says how to get it.
        DataIntegrityError: a file's content does not match its hash.

    Introduced in c2w1_lab_tfdv_census.
    """
    entries = select_files(dataset, files)
    root, where, bar = cache_dir(data_dir), _mirror(mirror), _use_progress(progress)
    paths, origins, methods = {}, [], []
    for entry in entries:
        path, origin, verified_by, _ = _fetch_entry(dataset, entry, root, where, bar)
        paths[entry.name] = path
        origins.append(origin)
        methods.append(verified_by)
    fetched = Fetched(dataset, paths, _data_source(entries, origins, methods))
    record_use(dataset, paths, fetched.data_source)
    return fetched


def fetch_file(
    dataset: str,
    file: str,
    *,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> Path:
    """Return the verified local path of one registered file (see :func:`fetch`)."""
    fetched = fetch(dataset, [file], data_dir=data_dir, mirror=mirror, progress=progress)
    return fetched.path(file)


def fetch_best(
    dataset: str,
    full: list[str],
    subset: list[str],
    *,
    allow_subset: bool = True,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> Fetched:
    """Return the ``full`` files fetched, else (if allowed) the ``subset`` files as ``mirror-subset``.

    ``LABS_REQUIRE_OFFICIAL_DATA=1`` forbids the subset as ``allow_subset=False`` does.

    Raises:
        DataNotAvailableError: neither set is available; the message covers both.

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    kw = {"data_dir": data_dir, "mirror": mirror, "progress": progress}
    try:
        return fetch(dataset, full, **kw)
    except DataNotAvailableError as exc:
        if not allow_subset:
            raise
        if official_data_required():
            raise refuse_stand_in(exc) from exc
        missing_full = exc
    try:
        fetched = fetch(dataset, subset, **kw)
    except DataNotAvailableError as exc:
        message = f"{missing_full}\n\nThe subset {subset} is not available either:\n{exc}"
        raise DataNotAvailableError(message, dataset, exc.file, exc.reasons) from exc
    source = "unverified" if fetched.data_source == "unverified" else "mirror-subset"
    record_use(dataset, fetched.paths, source, stand_in_for=full)
    return Fetched(dataset, fetched.paths, source)


def refuse_stand_in(missing: DataNotAvailableError) -> DataNotAvailableError:
    """Return the error for a stand-in refused because ``LABS_REQUIRE_OFFICIAL_DATA`` is set.

    Its first line (what a run summary shows) says why; the fetch's own report follows.
    """
    message = (
        f"{missing.dataset}/{missing.file}: the official file is required (LABS_REQUIRE_OFFICIAL_DATA=1, "
        "from `labs run --require-official-data` or `make labs STRICT_DATA=1`), so no subset, "
        "lossy or synthetic stand-in is used; without that option the lab runs on the best data "
        f"reachable, labelled.\n\n{missing}"
    )
    return DataNotAvailableError(message, missing.dataset, missing.file, missing.reasons)


def fetch_many(
    names: list[str] | None = None,
    *,
    allow_missing: bool = False,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> list[tuple[str, str, str]]:
    """Return one status row per registered file of ``names`` (None: all datasets), after fetching it.

    Returns:
        ``(dataset, file, status)`` rows; status is ``cached``, ``fetched from mirror``,
        ``fetched from official URL`` or ``missing: <reason>``.

    Raises:
        DataNotAvailableError: something is missing and ``allow_missing`` is False.
        DataIntegrityError: a file failed its hash check (always, after trying the rest).
    """
    entries = registry()
    unknown = sorted(set(names or []) - set(entries))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; registered: {sorted(entries)}")
    root, where, bar = cache_dir(data_dir), _mirror(mirror), _use_progress(progress)
    rows, missing, corrupt = [], [], []
    for dataset in entries if names is None else names:
        for entry in entries[dataset].files:
            try:
                status = _fetch_entry(dataset, entry, root, where, bar)[3]
            except DataNotAvailableError as exc:
                status = "missing: " + "; ".join(exc.reasons[1:])
                missing.append(exc)
            except DataIntegrityError as exc:
                status = f"missing: {exc}"
                corrupt.append(exc)
            rows.append((dataset, entry.name, status))
    if corrupt:
        raise corrupt[0]
    if missing and not allow_missing:
        listing = "\n".join(f"  {d}/{f}: {s}" for d, f, s in rows if s.startswith("missing"))
        raise DataNotAvailableError(
            f"{len(missing)} data file(s) missing:\n{listing}\n\n{missing[0]}",
            missing[0].dataset,
            missing[0].file,
            missing[0].reasons,
        )
    return rows


def verify_cache(
    names: list[str] | None = None, *, data_dir: str | os.PathLike | None = None
) -> list[tuple[str, str, str]]:
    """Return one row per registered file of ``names`` (None: all) after re-hashing its cached copy.

    Unlike a fetch, the sidecar's size-and-mtime shortcut is not trusted, so bit-rot that kept
    both is found. A file that fails loses the sidecar's vouching, so later fetches refuse it.

    Returns:
        ``(dataset, file, status)`` rows; status is ``ok (<method>)``, ``not cached`` or
        ``MISMATCH: <the integrity error>``.
    """
    entries = registry()
    unknown = sorted(set(names or []) - set(entries))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; registered: {sorted(entries)}")
    root = cache_dir(data_dir)
    rows = []
    for dataset in entries if not names else names:
        for entry in entries[dataset].files:
            target = root / dataset / entry.name
            if not target.is_file():
                rows.append((dataset, entry.name, "not cached"))
                continue
            try:
                verified_by = check_cached(target, entry, dataset, rehash=True)[1]
            except DataIntegrityError as exc:
                rows.append((dataset, entry.name, f"MISMATCH: {exc}"))
            else:
                label = "unverified: trusted on first use" if verified_by == TOFU else verified_by
                rows.append((dataset, entry.name, f"ok ({label})"))
    return rows
