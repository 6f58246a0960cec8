"""Safe archive extraction: tar (any compression) and zip, checked member by member before writing.

No absolute paths, no ``..`` components, no links leading out of the destination (also through
chains of the archive's own links), no device files, and no more bytes than a limit allows.
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
# Content of unknown size may unpack to at most this many times its packed size (CSV and text
# compress 3-10x, a gzip of zeros 1000x), and never less than MIN_UNPACK_LIMIT bytes.
MAX_UNPACK_RATIO = 100
MIN_UNPACK_LIMIT = 10 << 20
_MAX_LINK_HOPS = 40


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


def extract_member(archive: Path, member: str, out: Path, max_bytes: int | None = None) -> str:
    """Return the name of the member extracted to ``out`` (exact path, else a unique base-name match).

    ``max_bytes`` caps the member's size (see :func:`extract_archive`).
    """
    names = _archive_files(archive)
    wanted = PurePosixPath(member)
    exact = [n for n in names if PurePosixPath(n) == wanted]
    matches = exact or [n for n in names if PurePosixPath(n).name == wanted.name]
    if len(matches) != 1:
        raise FileNotFoundError(f"{member} not found (or ambiguous) in {archive.name}")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".extract-") as tmpdir:
        extract_archive(archive, tmpdir, members=matches, max_bytes=max_bytes)
        os.replace(Path(tmpdir) / matches[0], out)
    return matches[0]


def check_member_name(archive: Path, name: str) -> None:
    """Return None for a safe member name; raise UnsafeArchiveError for an absolute or ``..`` path."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchiveError(f"{archive.name}: absolute member path {name!r}")
    if ".." in pure.parts:
        raise UnsafeArchiveError(f"{archive.name}: member path {name!r} contains '..'")


def _parts(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part not in ("", ".")]


def _resolve(path: str, links: dict[str, str], *, follow_last: bool = True) -> str | None:
    """Return where ``path`` lands inside the destination after following the archive's symlinks.

    ``links`` maps symlink member paths to their targets. Returns None when the path leaves the
    destination (a ``..`` above the root, an absolute target, or a link loop).
    """
    todo, done, hops = _parts(path), [], 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        done.append(part)
        target = links.get("/".join(done))
        if target is None or (not todo and not follow_last):
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS or not target or target.startswith("/") or target[1:2] == ":":
            return None
        done.pop()  # a symlink's target is relative to the folder holding it
        todo = _parts(target) + todo
    return "/".join(done)


def _check_link(archive: Path, name: str, target: str, start: str, links: dict[str, str]) -> None:
    """Reject a link whose target, followed through the archive's own links, leaves the destination."""
    absolute = target.startswith(("/", "\\")) or target[1:2] == ":"
    if not target or absolute or _resolve(f"{start}/{target}" if start else target, links) is None:
        raise UnsafeArchiveError(f"{archive.name}: link {name!r} -> {target!r} leaves the folder")


def _tar_members(archive: Path, tf: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tf.getmembers()
    for m in members:
        check_member_name(archive, m.name)
        if m.isdev():
            raise UnsafeArchiveError(f"{archive.name}: device or fifo member {m.name!r}")
        if m.issparse():
            raise UnsafeArchiveError(f"{archive.name}: sparse member {m.name!r} (its size is not known)")
    # Check every path against every link before anything is written, so no order of members
    # (a link first, a file through it later) gets past.
    links = {"/".join(_parts(m.name)): m.linkname for m in members if m.issym()}
    for m in members:
        if _resolve(m.name, links, follow_last=not m.issym()) is None:
            raise UnsafeArchiveError(f"{archive.name}: member {m.name!r} leads out of the folder via a link")
        if m.issym():
            parent = _resolve(os.path.dirname(m.name), links)
            _check_link(archive, m.name, m.linkname, parent or "", links)
        elif m.islnk():
            _check_link(archive, m.name, m.linkname, "", links)
    return members


def _zip_members(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = zf.infolist()
    for info in members:
        check_member_name(archive, info.filename)
        if (info.external_attr >> 16) & 0o170000 == 0o120000:  # a Unix symlink entry
            target = zf.read(info).decode("utf-8", "replace")
            _check_link(archive, info.filename, target, os.path.dirname(info.filename), {})
    return members


def _pick(all_names: list[str], members: list[str] | None, archive: Path) -> set[str]:
    if members is None:
        return set(all_names)
    absent = sorted(set(members) - set(all_names))
    if absent:
        raise FileNotFoundError(f"{archive.name} has no members {absent}")
    return set(members)


def _check_total(archive: Path, total: int, max_bytes: int | None) -> None:
    """Refuse, before writing, members whose sizes add up to more than the limit."""
    limit = max_bytes
    if limit is None:
        limit = max(MAX_UNPACK_RATIO * archive.stat().st_size, MIN_UNPACK_LIMIT)
    if total > limit:
        raise UnsafeArchiveError(
            f"{archive.name}: the chosen members would expand to {total} bytes, more than the "
            f"{limit} allowed (the expected size, or {MAX_UNPACK_RATIO}x the archive); nothing was written"
        )


def extract_archive(
    archive: str | os.PathLike,
    dest: str | os.PathLike,
    members: list[str] | None = None,
    max_bytes: int | None = None,
) -> list[Path]:
    """Return the paths of the members extracted safely from a tar (any compression) or zip archive.

    Every member is checked before anything is written: absolute paths, ``..`` components,
    links pointing outside ``dest`` (also through chains of the archive's own links), device
    files and members adding up to more than the size limit raise :class:`UnsafeArchiveError`.
    Zip symlink entries inside ``dest`` are written as plain files holding the link text.

    Args:
        archive: the archive file.
        dest: destination folder, created if needed.
        members: member names to extract; None extracts all.
        max_bytes: most bytes the chosen members may hold; None allows 100x the archive's size
            (at least 10 MB).

    Returns:
        The paths of the extracted members.

    Introduced in c2w4_lab_accelerometer_signals.
    """
    archive, dest = Path(archive), Path(dest)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            infos = _zip_members(archive, zf)
            chosen = _pick([i.filename for i in infos], members, archive)
            _check_total(archive, sum(i.file_size for i in infos if i.filename in chosen), max_bytes)
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
        _check_total(archive, sum(m.size for m in infos if m.name in chosen and m.isfile()), max_bytes)
        dest.mkdir(parents=True, exist_ok=True)
        # The "data" filter re-checks every member at write time (defence in depth).
        tf.extractall(dest, members=[m for m in infos if m.name in chosen], filter="data")
    return [dest / name for name in sorted(chosen)]
