"""Find, fetch, verify and load the labs' datasets.

The registry (``datasets/registry.toml``) names every data file by the sha256 of its content and
says how to get it officially. :func:`fetch` looks in the verified cache, then in the mirror, then
at the official URL; it checks the hash after unpacking, installs files atomically and records
where the bytes came from in ``<file>.source.json``, so a lab can report its ``data_source``.
The ``load_*`` functions return DataFrames in the course's layout, derived from the official files.

Environment: ``LABS_REGISTRY`` (registry file), ``LABS_DATA_DIR`` (cache, default
``datasets/cache``), ``LABS_DATA_MIRROR`` (a directory or an http(s) base URL laid out as
``<dataset>/<file>``) and ``LABS_OFFLINE=1`` (never try official URLs). Relative paths in these
variables are taken from the repository root, so notebooks and ``make`` agree whatever their cwd.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import json
import os
import secrets
import shutil
import sys
import tarfile
import tempfile
import tomllib
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]
DATASETS_DIR = REPO_ROOT / "datasets"
UNKNOWN = "unknown"
VARIANTS = ("full", "subset", "lossy", "course_variant")
DATA_SOURCES = ("official", "mirror", "mirror-subset", "lossy", "synthetic")

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_TIMEOUT = (15, 120)  # seconds to connect, seconds between bytes
_CHUNK = 1 << 20
_FETCH_ERRORS = (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError)

CENSUS_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "label",
]  # fmt: skip
_WDBC_MEASURES = [
    "radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
    "concave points", "symmetry", "fractal_dimension",
]  # fmt: skip
BREAST_CANCER_COLUMNS = ["id", "diagnosis"] + [
    f"{measure}_{stat}" for stat in ("mean", "se", "worst") for measure in _WDBC_MEASURES
]


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


class DataNotAvailableError(RuntimeError):
    """No verified copy of a data file could be found or fetched."""

    def __init__(
        self, message: str, dataset: str = "", file: str = "", reasons: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.dataset, self.file, self.reasons = dataset, file, reasons


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the destination, or is a device file."""


@dataclass(frozen=True)
class Fetched:
    """Verified local paths of a dataset's files, and where their content came from.

    ``data_source`` is ``official`` or ``mirror`` for complete official content (named by
    origin), ``mirror-subset`` when any file is a subset, ``lossy`` when a file is a complete but
    lossily re-encoded copy, or ``synthetic``.
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


# --- registry and locations ----------------------------------------------------------------------


def _env_path(var: str) -> Path | None:
    """Return the path in environment variable ``var``, relative ones taken from the repo root."""
    value = os.environ.get(var, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def registry_path() -> Path:
    """Return the registry file: ``LABS_REGISTRY``, else ``<repo>/datasets/registry.toml``."""
    return _env_path("LABS_REGISTRY") or DATASETS_DIR / "registry.toml"


def registry() -> dict[str, dict]:
    """Parse the registry into ``{dataset: {title, licence, citation, homepage, files}}``.

    ``files`` is a list of dicts with ``name``, ``variant``, ``sha256`` (or ``"unknown"``) and,
    where known, ``url``, ``member``, ``git_blob_sha1``, ``size`` and ``note``.
    """
    path = registry_path()
    with path.open("rb") as fh:
        datasets = tomllib.load(fh).get("datasets", {})
    for name, entry in datasets.items():
        _check_entry(name, entry, path)
    return datasets


def _check_entry(dataset: str, entry: dict, path: Path) -> None:
    """Raise ValueError when a registry entry lacks a field or has an invalid value."""
    where = f"{path}: dataset {dataset}"
    missing = {"title", "licence", "citation", "homepage", "files"} - set(entry)
    if missing or not entry.get("files"):
        raise ValueError(f"{where}: missing {sorted(missing) or ['files']}")
    names = [f.get("name") for f in entry["files"]]
    if len(set(names)) != len(names) or not all(names):
        raise ValueError(f"{where}: file names must be present and unique: {names}")
    for item in entry["files"]:
        sha = item.get("sha256", "")
        if item.get("variant") not in VARIANTS:
            raise ValueError(f"{where}, {item['name']}: variant must be one of {VARIANTS}")
        if sha != UNKNOWN and (len(sha) != 64 or set(sha) - set("0123456789abcdef")):
            raise ValueError(f"{where}, {item['name']}: sha256 must be 64 hex digits or 'unknown'")
        if item.get("url") and _archive_kind(item["url"], item["name"]) in ("zip", "tar"):
            item.setdefault("member", item["name"])


def _select(dataset: str, files: list[str] | None) -> list[dict]:
    """Return the registry entries of ``files`` (default: the dataset's full files)."""
    entries = registry()
    if dataset not in entries:
        raise ValueError(f"unknown dataset {dataset!r}; {registry_path()} has {sorted(entries)}")
    by_name = {item["name"]: item for item in entries[dataset]["files"]}
    if files is None:
        return [item for item in by_name.values() if item["variant"] == "full"]
    unknown = [name for name in files if name not in by_name]
    if unknown:
        raise ValueError(f"{dataset} has no files {unknown}; registered: {sorted(by_name)}")
    return [by_name[name] for name in files]


def cache_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Return the cache root: ``data_dir``, else ``LABS_DATA_DIR``, else ``datasets/cache``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return _env_path("LABS_DATA_DIR") or DATASETS_DIR / "cache"


def cache_path(dataset: str, file: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return where ``file`` of ``dataset`` lives in the cache (it may not exist yet)."""
    return cache_dir(data_dir) / dataset / file


def _mirror(mirror: str | os.PathLike | None) -> str | Path | None:
    """Return the mirror as a base URL or a directory, or None when there is none."""
    if mirror is None:
        value = os.environ.get("LABS_DATA_MIRROR", "").strip()
        if value and not value.startswith(("http://", "https://")):
            return _env_path("LABS_DATA_MIRROR")
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


# --- hashing, sidecars, temp files ---------------------------------------------------------------


def _hashes(path: Path) -> tuple[str, str]:
    """Return the sha256 and the git blob sha1 of a file, read once."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
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
def _temp_path(target: Path) -> Iterator[Path]:
    """Yield a fresh temp path beside ``target``; remove it on exit unless it was moved."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    tmp.open("xb").close()  # unlike mkstemp, honours the umask, so cached files get normal modes
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def _verify(
    entry: dict,
    dataset: str,
    sha256: str,
    blob: str,
    recorded: dict | None,
    where: str,
    hint: str = "",
) -> str:
    """Check a file's hashes against the registry or a first-use record; return the method."""
    name = entry["name"]
    if entry["sha256"] != UNKNOWN:
        if sha256 != entry["sha256"]:
            raise DataIntegrityError(dataset, name, entry["sha256"], sha256, where, hint=hint)
        return "sha256"
    if entry.get("git_blob_sha1"):
        if blob != entry["git_blob_sha1"]:
            raise DataIntegrityError(
                dataset, name, entry["git_blob_sha1"], blob, where, kind="git blob sha1", hint=hint
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


def _sidecar_trusted(meta: dict | None, entry: dict, size: int, mtime_ns: int) -> bool:
    """Tell whether a sidecar vouches for an unchanged cached file (skips re-hashing)."""
    if not meta or meta.get("size") != size or meta.get("mtime_ns") != mtime_ns:
        return False
    if entry["sha256"] != UNKNOWN:
        return meta.get("sha256") == entry["sha256"]
    if entry.get("git_blob_sha1"):
        return meta.get("git_blob_sha1") == entry["git_blob_sha1"]
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


def _install(tmp: Path, target: Path, entry: dict, dataset: str, origin: str, where: str) -> None:
    """Verify a fetched temp file, record its source, then move it into the cache."""
    sidecar = _sidecar(target)
    sha256, blob = _hashes(tmp)
    verified_by = _verify(entry, dataset, sha256, blob, _read_json(sidecar), where)
    meta = {
        "dataset": dataset,
        "file": entry["name"],
        "origin": origin,
        "location": where,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Sidecar first: a first-use hash must survive even if the rename below is interrupted.
    _write_json(sidecar, _record(tmp, meta, sha256, blob, verified_by))
    os.replace(tmp, target)


def _check_cached(target: Path, entry: dict, dataset: str) -> str:
    """Verify a cached file (trusting an up-to-date sidecar); return its origin."""
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
        "file": entry["name"],
        "origin": "local",
        "location": str(target),
        "fetched_at": None,
    }
    _write_json(sidecar, _record(target, base, sha256, blob, verified_by))
    return base["origin"]


# --- sources -------------------------------------------------------------------------------------


def _download(url: str, out: Path, progress: bool) -> None:
    """Download ``url`` to ``out`` with pooch's HTTP downloader."""
    import pooch  # lazy: pulls in requests

    pooch.HTTPDownloader(progressbar=progress, timeout=_TIMEOUT)(url, str(out), None)


def _gunzip(src: Path, dst: Path) -> None:
    with gzip.open(src, "rb") as fin, dst.open("wb") as fout:
        shutil.copyfileobj(fin, fout, _CHUNK)


def _archive_kind(url: str, name: str) -> str | None:
    """Classify an official URL: ``zip``, ``tar``, ``gz`` (one gzipped file) or None (plain)."""
    path = urllib.parse.urlparse(url).path.lower()
    if path.endswith(".zip"):
        return "zip"
    if path.endswith(_TAR_SUFFIXES):
        return "tar"
    if path.endswith(".gz") and not name.endswith(".gz"):
        return "gz"
    return None


def _from_mirror(mirror: str | Path, dataset: str, name: str, tmp: Path, progress: bool) -> str:
    """Copy ``name`` (or ``name.gz``, unpacked) from the mirror to ``tmp``; return its location.

    Returns "" when the mirror does not have the file.
    """
    candidates = [name] if name.endswith(".gz") else [name, name + ".gz"]
    for candidate in candidates:
        packed = candidate != name
        if isinstance(mirror, Path):
            src = mirror / dataset / candidate
            if not src.is_file():
                continue
            if packed:
                _gunzip(src, tmp)
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
            with _temp_path(tmp) as unpacked:
                _gunzip(tmp, unpacked)
                os.replace(unpacked, tmp)
        return url
    return ""


def _download_cached(url: str, downloads: Path, progress: bool) -> Path:
    """Download an archive once into ``downloads`` (atomically) and return its path."""
    archive = downloads / Path(urllib.parse.urlparse(url).path).name
    if not archive.is_file():
        try:
            with _temp_path(archive) as tmp:
                _download(url, tmp, progress)
                os.replace(tmp, archive)
        except OSError:
            with contextlib.suppress(OSError):
                downloads.rmdir()  # only when empty
            raise
    return archive


def _archive_files(archive: Path) -> list[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return [info.filename for info in zf.infolist() if not info.is_dir()]
    with tarfile.open(archive, "r:*") as tf:
        return [member.name for member in tf.getmembers() if member.isfile()]


def _extract_member(archive: Path, member: str, out: Path) -> str:
    """Extract one member (exact path, else a unique base-name match) to ``out``; return it."""
    names = _archive_files(archive)
    wanted = PurePosixPath(member)
    exact = [n for n in names if PurePosixPath(n) == wanted]
    matches = exact or [n for n in names if PurePosixPath(n).name == wanted.name]
    if len(matches) != 1:
        raise FileNotFoundError(f"{member} not found (or ambiguous) in {archive.name}")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".extract-") as tmpdir:
        extract_archive(archive, tmpdir, members=matches)
        os.replace(Path(tmpdir) / matches[0], out)
    return matches[0]


def _from_official(entry: dict, tmp: Path, downloads: Path, progress: bool) -> str:
    """Fetch an entry's content from its official URL into ``tmp``; return the location."""
    url = entry["url"]
    kind = _archive_kind(url, entry["name"])
    if kind is None:
        _download(url, tmp, progress)
        return url
    if kind == "gz":
        with _temp_path(tmp) as packed:
            _download(url, packed, progress)
            _gunzip(packed, tmp)
        return url
    archive = _download_cached(url, downloads, progress)
    try:
        member = _extract_member(archive, entry["member"], tmp)
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
    dataset: str, entry: dict, root: Path, mirror: str | Path | None, progress: bool
) -> tuple[Path, str, str]:
    """Get one verified file: cache, then mirror, then official URL.

    Returns the path, its origin (official, mirror or local) and a status message.
    """
    name = entry["name"]
    target = root / dataset / name
    if target.is_file():
        return target, _check_cached(target, entry, dataset), "cached"
    reasons = [f"cache: no file at {target}"]
    if mirror is None:
        reasons.append("mirror: none (LABS_DATA_MIRROR is not set)")
    else:
        with _temp_path(target) as tmp:
            try:
                where = _from_mirror(mirror, dataset, name, tmp, progress)
            except OSError as exc:
                where, reason = "", f"mirror {mirror}: {_short(exc)}"
            else:
                reason = f"mirror: {mirror}/{dataset}/{name} not found (nor a .gz of it)"
                if isinstance(mirror, Path) and not mirror.is_dir():
                    reason = f"mirror: directory {mirror} does not exist"
            if where:
                _install(tmp, target, entry, dataset, "mirror", where)
                return target, "mirror", "fetched from mirror"
            reasons.append(reason)
    url = entry.get("url")
    if not url:
        reasons.append("official: no official URL, this file exists only in the course mirror")
    elif os.environ.get("LABS_OFFLINE", "").strip() not in ("", "0"):
        reasons.append(f"official: {url} skipped because LABS_OFFLINE is set")
    else:
        with _temp_path(target) as tmp:
            try:
                where = _from_official(entry, tmp, root / dataset / ".downloads", progress)
            except _FETCH_ERRORS as exc:
                reasons.append(f"official: {url}: {_short(exc)}")
            else:
                _install(tmp, target, entry, dataset, "official", where)
                return target, "official", "fetched from official URL"
    raise DataNotAvailableError(_not_available(dataset, name, target, reasons), dataset, name, tuple(reasons))


# --- public fetch API ----------------------------------------------------------------------------


def _data_source(entries: list[dict], origins: list[str]) -> str:
    if any(entry["variant"] == "subset" for entry in entries):
        return "mirror-subset"
    if any(entry["variant"] == "lossy" for entry in entries):
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
    entries = _select(dataset, files)
    root, where, bar = cache_dir(data_dir), _mirror(mirror), _use_progress(progress)
    paths, origins = {}, []
    for entry in entries:
        path, origin, _ = _fetch_entry(dataset, entry, root, where, bar)
        paths[entry["name"]] = path
        origins.append(origin)
    return Fetched(dataset, paths, _data_source(entries, origins))


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
    """Fetch the ``full`` files, else (if allowed) the ``subset`` files as ``mirror-subset``.

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
        missing_full = exc
    try:
        fetched = fetch(dataset, subset, **kw)
    except DataNotAvailableError as exc:
        message = f"{missing_full}\n\nThe subset {subset} is not available either:\n{exc}"
        raise DataNotAvailableError(message, dataset, exc.file, exc.reasons) from exc
    return Fetched(dataset, fetched.paths, "mirror-subset")


def fetch_many(
    names: list[str] | None = None,
    *,
    allow_missing: bool = False,
    data_dir: str | os.PathLike | None = None,
    mirror: str | os.PathLike | None = None,
    progress: bool | None = None,
) -> list[tuple[str, str, str]]:
    """Fetch every registered file of ``names`` (None: all datasets), subsets included.

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
        for entry in entries[dataset]["files"]:
            try:
                status = _fetch_entry(dataset, entry, root, where, bar)[2]
            except DataNotAvailableError as exc:
                status = "missing: " + "; ".join(exc.reasons[1:])
                missing.append(exc)
            except DataIntegrityError as exc:
                status = f"missing: {exc}"
                corrupt.append(exc)
            rows.append((dataset, entry["name"], status))
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
        files = entry["files"]
        size = _human_size(sum(f.get("size", 0) for f in files))
        cached = sum(cache_path(name, f["name"], data_dir).is_file() for f in files)
        rows.append(
            {
                "dataset": name,
                "files": len(files),
                "size": size + ("+" if any("size" not in f for f in files) else ""),
                "licence": entry["licence"],
                "variants": ", ".join(v for v in VARIANTS if any(f["variant"] == v for f in files)),
                "cached": f"{cached}/{len(files)}",
            }
        )
    return pd.DataFrame(rows)


# --- safe extraction -----------------------------------------------------------------------------


def _inside(path: str) -> bool:
    """Tell whether a relative POSIX path stays inside its root after normalisation."""
    norm = os.path.normpath(path) if path else "."
    return not (norm == ".." or norm.startswith("../") or os.path.isabs(norm))


def _check_name(archive: Path, name: str) -> None:
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive.name}: absolute member path {name!r}")
    if ".." in pure.parts:
        raise UnsafeArchiveError(f"{archive.name}: member path {name!r} contains '..'")


def _check_link(archive: Path, name: str, target: str, base: str) -> None:
    """Reject a link whose target is absolute or resolves outside the destination."""
    if not target or os.path.isabs(target) or not _inside(os.path.join(base, target)):
        raise UnsafeArchiveError(f"{archive.name}: link {name!r} -> {target!r} leaves the folder")


def _tar_members(archive: Path, tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    for m in members:
        _check_name(archive, m.name)
        if m.isdev():
            raise UnsafeArchiveError(f"{archive.name}: device or fifo member {m.name!r}")
        if m.issym():
            _check_link(archive, m.name, m.linkname, os.path.dirname(m.name))
        elif m.islnk():
            _check_link(archive, m.name, m.linkname, "")
    return members


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = zf.infolist()
    for info in members:
        _check_name(archive, info.filename)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a Unix symlink entry
            target = zf.read(info).decode("utf-8", "replace")
            _check_link(archive, info.filename, target, os.path.dirname(info.filename))
    return members


def _pick(all_names: list[str], members: list[str] | None, archive: Path) -> set[str]:
    if members is None:
        return set(all_names)
    absent = sorted(set(members) - set(all_names))
    if absent:
        raise FileNotFoundError(f"{archive.name} has no members {absent}")
    return set(members)


def extract_archive(
    archive: str | os.PathLike, dest: str | os.PathLike, members: list[str] | None = None
) -> list[Path]:
    """Extract a tar (any compression) or zip archive safely into ``dest``.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    links pointing outside ``dest`` and device files raise :class:`UnsafeArchiveError`.
    Zip symlink entries inside ``dest`` are written as plain files holding the link text.

    Args:
        archive: the archive file.
        dest: destination folder, created if needed.
        members: member names to extract; None extracts all.

    Returns:
        The paths of the extracted members.

    Introduced in c2w4_lab_accelerometer_signals.
    """
    archive, dest = Path(archive), Path(dest)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = _zip_members(archive, zf)
            chosen = _pick([i.filename for i in infos], members, archive)
            dest.mkdir(parents=True, exist_ok=True)
            for info in infos:
                if info.filename in chosen:
                    zf.extract(info, dest)
        return [dest / name for name in sorted(chosen)]
    if not tarfile.is_tarfile(archive):
        raise ValueError(f"{archive} is neither a zip nor a tar archive")
    with tarfile.open(archive, "r:*") as tf:
        infos = _tar_members(archive, tf)
        chosen = _pick([m.name for m in infos], members, archive)
        dest.mkdir(parents=True, exist_ok=True)
        # The "data" filter re-checks every member at write time (defence in depth).
        tf.extractall(dest, members=[m for m in infos if m.name in chosen], filter="data")
    return [dest / name for name in sorted(chosen)]


# --- loaders -------------------------------------------------------------------------------------


def _with_source(df: pd.DataFrame, fetched: Fetched) -> pd.DataFrame:
    df.attrs["data_source"] = fetched.data_source
    return df


def load_census_adult(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Load the official ``adult.data`` in the course layout (named columns, 32,561 x 15).

    Values are read with ``skipinitialspace=True``; ``df.attrs["data_source"]`` says where the
    bytes came from. ``fetch_kw`` go to :func:`fetch`.

    Introduced in c2w1_lab_tfdv_census.
    """
    fetched = fetched or fetch("census_adult", ["adult.data"], **fetch_kw)
    df = pd.read_csv(fetched.path("adult.data"), header=None, names=CENSUS_COLUMNS, skipinitialspace=True)
    return _with_source(df, fetched)


def write_census_course_csv(path_out: str | os.PathLike, fetched: Fetched | None = None, **fetch_kw) -> Path:
    """Write the course's census CSV: a header line followed by the official ``adult.data``.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    fetched = fetched or fetch("census_adult", ["adult.data"], **fetch_kw)
    out = Path(path_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fout, fetched.path("adult.data").open("rb") as fin:
        fout.write((",".join(CENSUS_COLUMNS) + "\n").encode())
        shutil.copyfileobj(fin, fout, _CHUNK)
    return out


def load_diabetes(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Load ``diabetic_data.csv``: ``?`` is missing, the string ``None`` stays a category.

    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w1_assignment_validation_diabetes.
    """
    fetched = fetched or fetch("diabetes_130us", ["diabetic_data.csv"], **fetch_kw)
    df = pd.read_csv(
        fetched.path("diabetic_data.csv"),
        na_values=["?"],
        keep_default_na=False,
        low_memory=False,
    )
    return _with_source(df, fetched)


def load_breast_cancer(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Load ``wdbc.data`` in the course's (Kaggle) layout: id, diagnosis, 30 named features.

    Feature names follow the course file (``radius_mean`` … ``fractal_dimension_worst``, with
    ``concave points_mean`` spelled with a space); it has no empty ``Unnamed: 32`` column.
    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w2_lab_feature_selection_breast_cancer.
    """
    fetched = fetched or fetch("breast_cancer", ["wdbc.data"], **fetch_kw)
    df = pd.read_csv(fetched.path("wdbc.data"), header=None, names=BREAST_CANCER_COLUMNS)
    return _with_source(df, fetched)


def load_metro_traffic(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Load the UCI traffic file plus the course's month, day, day_of_week (Mon=0), hour.

    The holiday value ``None`` stays a string. ``df.attrs["data_source"]`` says where the bytes
    came from.

    Introduced in c2w2_assignment_transform_traffic.
    """
    name = "Metro_Interstate_Traffic_Volume.csv"
    fetched = fetched or fetch("metro_traffic", [name], **fetch_kw)
    df = pd.read_csv(fetched.path(name), keep_default_na=False)
    stamp = pd.to_datetime(df["date_time"])
    df["month"] = stamp.dt.month.astype("int64")
    df["day"] = stamp.dt.day.astype("int64")
    df["day_of_week"] = stamp.dt.dayofweek.astype("int64")
    df["hour"] = stamp.dt.hour.astype("int64")
    return _with_source(df, fetched)


def load_chicago_taxi(fetched: Fetched | None = None, **fetch_kw) -> pd.DataFrame:
    """Load the TFX Chicago taxi sample (15,002 trips x 18 columns, empty cells as NaN).

    ``df.attrs["data_source"]`` says where the bytes came from.

    Introduced in c2w3_lab_ml_metadata.
    """
    fetched = fetched or fetch("chicago_taxi", ["data.csv"], **fetch_kw)
    return _with_source(pd.read_csv(fetched.path("data.csv")), fetched)


def load_covertype(fetched: Fetched | None = None, *, allow_subset: bool = True, **fetch_kw) -> pd.DataFrame:
    """Load Covertype in the course layout: the full 581k-row file, else the mirror subset.

    ``df.attrs["data_source"]`` is ``mirror-subset`` when only the 351,885-row subset could be
    had (set ``allow_subset=False`` to require the full file).

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    fetched = fetched or fetch_best(
        "covertype",
        ["dataset.csv"],
        ["covertype_course_format_subset.csv.gz"],
        allow_subset=allow_subset,
        **fetch_kw,
    )
    return _with_source(pd.read_csv(fetched.path()), fetched)


# --- week 4 time series: Jena climate and the raw WISDM log --------------------------------------

JENA_FULL = "jena_climate_2009_2016.csv"
JENA_SUBSET = "jena_climate_2009_2016_rows419552-420551_official_layout.csv"
WISDM_RAW = "WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt"


def fetch_jena_climate(quick: bool = False, data_dir: str | os.PathLike | None = None, **fetch_kw) -> Fetched:
    """Fetch the full Jena climate CSV; quick mode falls back to the 1,000-row mirror slice.

    The slice comes back as ``mirror-subset``. Full mode without the full file raises
    ``DataNotAvailableError`` naming the file and how to get it.
    Introduced in c2w4_lab_weather_timeseries.
    """
    try:
        return fetch_best(
            "jena_climate", [JENA_FULL], [JENA_SUBSET], allow_subset=quick, data_dir=data_dir, **fetch_kw
        )
    except DataNotAvailableError as exc:
        if quick:
            raise
        hint = (
            f"\n\nFull mode needs the complete {JENA_FULL} (420,551 rows, 43 MB; see "
            "jena_climate/SOURCE.md for its official URLs). Quick mode (QUICK=True) runs on the "
            f"1,000-row slice {JENA_SUBSET} instead."
        )
        raise DataNotAvailableError(f"{exc}{hint}", exc.dataset, exc.file, exc.reasons) from exc


def fetch_wisdm_raw(quick: bool = False, data_dir: str | os.PathLike | None = None, **fetch_kw) -> Fetched:
    """Fetch the raw WISDM v1.1 log (from the official tarball, extracted safely).

    When no real copy is reachable, quick mode writes a deterministic synthetic stand-in in the
    exact raw format into the cache (``wisdm/synthetic/``) and returns it with ``data_source``
    ``synthetic``; full mode raises ``DataNotAvailableError`` naming the file and how to get it.
    Introduced in c2w4_lab_accelerometer_signals.
    """
    try:
        return fetch("wisdm", [WISDM_RAW], data_dir=data_dir, **fetch_kw)
    except DataNotAvailableError as exc:
        if not quick:
            hint = (
                f"\n\nThe lab needs the raw 20 Hz log {WISDM_RAW} (1,098,207 lines) from the "
                "official tarball WISDM_ar_latest.tar.gz (see wisdm/SOURCE.md); the derived ARFF "
                "cannot replace it. Quick mode (QUICK=True) runs on a synthetic stand-in instead."
            )
            raise DataNotAvailableError(f"{exc}{hint}", exc.dataset, exc.file, exc.reasons) from exc
    from labs_utils import timeseries

    path = cache_dir(data_dir) / "wisdm" / "synthetic" / "WISDM_ar_v1.1_raw_synthetic.txt"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    timeseries.write_synthetic_wisdm(tmp)
    os.replace(tmp, path)  # readers never see a half-written log
    return Fetched("wisdm", {WISDM_RAW: path}, "synthetic")


# --- week 4 images: CIFAR-10 in the course's TFRecord layout -------------------------------------

CIFAR10_COURSE = "train.tfrecord"
CIFAR10_SUBSET = "cifar10_train.tfrecord"
CIFAR10_JPEG = "cifar10_train_jpeg.tar.gz"
CIFAR10_LABELS = "labels.txt"
CIFAR10_SHAPE = (32, 32, 3)


@dataclass(frozen=True)
class CourseRecords:
    """A TFRecord file written in a course layout, and where its content came from.

    ``source`` is the registry file it was made from; ``lossy`` is True when the pixels went
    through lossy compression on the way (the CIFAR-10 JPEG rebuild).
    """

    dataset: str
    path: Path
    data_source: str
    n_records: int
    source: str
    lossy: bool = False


def read_cifar10_labels(data_dir: str | os.PathLike | None = None, **fetch_kw) -> list[str]:
    """Return the ten CIFAR-10 class names in label order (from ``labels.txt``).

    Introduced in c2w4_lab_images_cifar10.
    """
    path = fetch("cifar10", [CIFAR10_LABELS], data_dir=data_dir, **fetch_kw).path()
    return _class_names(path.read_text(encoding="utf-8"))


def _class_names(text: str) -> list[str]:
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"labels.txt must list unique class names, one per line; got {names}")
    return names


def cifar10_example(image_png: bytes, label: int) -> bytes:
    """Serialize one tf.Example in the course layout: ``image_raw`` (PNG bytes) and ``label``.

    Introduced in c2w4_lab_images_cifar10.
    """
    import tensorflow as tf  # lazy: only the image labs need TensorFlow here

    feature = {
        "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image_png])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    example = tf.train.Example(features=tf.train.Features(feature=feature))
    return example.SerializeToString(deterministic=True)


def write_cifar10_course_tfrecord(
    out_path: str | os.PathLike,
    *,
    quick: bool,
    data_dir: str | os.PathLike | None = None,
    **fetch_kw,
) -> CourseRecords:
    """Write the course's CIFAR-10 ``train.tfrecord`` (``image_raw`` PNG + ``label``) to ``out_path``.

    Quick mode converts the 128 lossless TFX records ``cifar10_train.tfrecord``: ``image`` is
    renamed ``image_raw`` with its PNG bytes unchanged, ``id`` is dropped (``mirror-subset``).
    Full mode copies the course's 50,000-image file when the cache, mirror or official URL has
    it (verified by its git blob id). Otherwise it rebuilds the 50,000 training images from the
    mirror's JPEG tarball: each JPEG decoded and re-encoded as PNG, labelled by its class's line
    in ``labels.txt``, ordered by rank within the class, then by class. That copy is complete
    but JPEG-degraded: ``lossy=True`` and ``data_source`` ``lossy``.
    The file is written atomically (temp file, then rename).

    Raises:
        DataNotAvailableError: full mode found neither the course file nor the JPEG tarball.

    Introduced in c2w4_lab_images_cifar10.
    """
    out = Path(out_path)
    kw = {"data_dir": data_dir, **fetch_kw}
    if quick:
        fetched = fetch("cifar10", [CIFAR10_SUBSET], **kw)
        n = _write_tfrecord(out, _renamed_tfx_records(fetched.path()))
        return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_SUBSET)
    try:
        fetched = fetch("cifar10", [CIFAR10_COURSE], **kw)
    except DataNotAvailableError as exc:
        missing_course = exc
    else:
        n = _write_tfrecord(out, _tfrecord_records(fetched.path()))
        return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_COURSE)
    try:
        fetched = fetch("cifar10", [CIFAR10_JPEG, CIFAR10_LABELS], **kw)
    except DataNotAvailableError as exc:
        message = (
            f"{missing_course}\n\nThe lossy rebuild source {CIFAR10_JPEG} is not available "
            f"either:\n{exc}\n\nQuick mode (QUICK=True) runs on the 128 lossless records "
            f"{CIFAR10_SUBSET}; see cifar10/SOURCE.md."
        )
        raise DataNotAvailableError(message, exc.dataset, exc.file, exc.reasons) from exc
    names = _class_names(fetched.path(CIFAR10_LABELS).read_text(encoding="utf-8"))
    images = _cifar10_jpegs(fetched.path(CIFAR10_JPEG), names, split="train")
    pngs = _jpegs_to_pngs([jpeg for _, jpeg in images])
    examples = (cifar10_example(png, label) for (label, _), png in zip(images, pngs, strict=True))
    n = _write_tfrecord(out, examples)
    return CourseRecords("cifar10", out, fetched.data_source, n, CIFAR10_JPEG, lossy=True)


def _tfrecord_records(path: Path) -> Iterator[bytes]:
    import tensorflow as tf

    yield from tf.data.TFRecordDataset(str(path)).as_numpy_iterator()


def _renamed_tfx_records(path: Path) -> Iterator[bytes]:
    """Yield TFX's CIFAR-10 records (``image``, ``label``, ``id``) in the course layout."""
    import tensorflow as tf

    for record in _tfrecord_records(path):
        feature = tf.train.Example.FromString(record).features.feature
        yield cifar10_example(feature["image"].bytes_list.value[0], feature["label"].int64_list.value[0])


def _write_tfrecord(out: Path, records: Iterator[bytes]) -> int:
    """Write records to an uncompressed TFRecord file atomically; return how many."""
    import tensorflow as tf

    n = 0
    with _temp_path(out) as tmp:
        with tf.io.TFRecordWriter(str(tmp)) as writer:
            for record in records:
                writer.write(record)
                n += 1
        os.replace(tmp, out)
    return n


def _cifar10_jpegs(archive: Path, names: list[str], split: str) -> list[tuple[int, bytes]]:
    """Read ``<split>/<class>/<rank>.jpg`` members in memory; return (label, JPEG bytes) pairs.

    Nothing is written to disk, and every member name is checked like ``extract_archive`` does.
    Pairs come ordered by rank, then label, so the classes interleave.
    """
    labels = {name: index for index, name in enumerate(names)}
    found = {}
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            _check_name(archive, member.name)
            if member.isdir():
                continue
            if not member.isfile():
                raise UnsafeArchiveError(f"{archive.name}: {member.name!r} is not a regular file")
            parts = PurePosixPath(member.name).parts
            if len(parts) != 3 or parts[0] != split:
                continue
            cls, stem = parts[1], PurePosixPath(parts[2]).stem
            if cls not in labels or not stem.isdigit() or not parts[2].endswith(".jpg"):
                raise ValueError(f"{archive.name}: unexpected member {member.name!r}")
            found[(int(stem), labels[cls])] = tar.extractfile(member).read()
    if not found:
        raise ValueError(f"{archive.name} holds no {split}/<class>/<rank>.jpg images")
    return [(label, found[(rank, label)]) for rank, label in sorted(found)]


def _jpegs_to_pngs(jpegs: list[bytes]) -> Iterator[bytes]:
    """Decode each 32x32 RGB JPEG and re-encode it as PNG, in order."""
    import tensorflow as tf

    def convert(data: tf.Tensor) -> tf.Tensor:
        image = tf.ensure_shape(tf.io.decode_jpeg(data, channels=3), CIFAR10_SHAPE)
        return tf.io.encode_png(image)

    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(jpegs, dtype=tf.string))
    dataset = dataset.map(convert, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    # Batches: fetching 50,000 single elements costs more than converting them.
    for batch in dataset.batch(512).as_numpy_iterator():
        yield from batch
