"""Safe archive extraction: tar (any compression) and zip, checked member by member before writing.

No absolute paths, no ``..`` components, no links leading out of the destination, no device files.
"""

from __future__ import annotations

import os
import tarfile
import tempfile
import urllib.parse
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "extract_archive"]

_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the destination, or is a device file."""


def archive_kind(url: str, name: str) -> str | None:
    """Return how an official URL is packed: ``zip``, ``tar``, ``gz`` (one gzipped file) or None."""
    path = urllib.parse.urlparse(url).path.lower()
    if path.endswith(".zip"):
        return "zip"
    if path.endswith(_TAR_SUFFIXES):
        return "tar"
    if path.endswith(".gz") and not name.endswith(".gz"):
        return "gz"
    return None


def _archive_files(archive: Path) -> list[str]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            return [info.filename for info in zf.infolist() if not info.is_dir()]
    with tarfile.open(archive, "r:*") as tf:
        return [member.name for member in tf.getmembers() if member.isfile()]


def extract_member(archive: Path, member: str, out: Path) -> str:
    """Return the name of the member extracted to ``out`` (exact path, else a unique base-name match)."""
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


def _inside(path: str) -> bool:
    """Tell whether a relative POSIX path stays inside its root after normalisation."""
    norm = os.path.normpath(path) if path else "."
    return not (norm == ".." or norm.startswith("../") or os.path.isabs(norm))


def check_member_name(archive: Path, name: str) -> None:
    """Return None for a safe member name; raise UnsafeArchiveError for an absolute or ``..`` path."""
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
        check_member_name(archive, m.name)
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
        check_member_name(archive, info.filename)
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
    """Return the paths of the members extracted safely from a tar (any compression) or zip archive.

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
