"""Code checks for labs_utils.datasets: registry, fetch order, hashes, sidecars, safe extraction.

Everything runs offline: mirrors are temp folders or the course mirror, served over HTTP on
127.0.0.1 by the test itself; unreachable official URLs point at a closed local port.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from labs_utils import datasets
from labs_utils.datasets import verify

DATASETS = {
    "census_adult", "diabetes_130us", "breast_cancer", "chicago_taxi", "metro_traffic",
    "covertype", "jena_climate", "wisdm", "cifar10",
}  # fmt: skip
CONTENT = b"a,b\n1,2\n3,4\n"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` over HTTP on 127.0.0.1 and yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url(path: str) -> str:
    """Return an http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{path}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_registry(path: Path, files: list[dict], dataset: str = "toy") -> Path:
    """Write a one-dataset registry with the given file entries."""
    lines = [f"[datasets.{dataset}]", 'title = "Toy"', 'licence = "CC0"', 'citation = "none"']
    lines.append('homepage = "http://example.invalid"')
    for entry in files:
        lines.append(f"[[datasets.{dataset}.files]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def toy_entry(name: str = "table.csv", content: bytes = CONTENT, **extra) -> dict:
    return {"name": name, "variant": "full", "sha256": sha256(content), **extra}


def make_mirror(root: Path, files: dict[str, bytes], dataset: str = "toy") -> Path:
    for name, data in files.items():
        path = root / dataset / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def cached_files(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Give each test an empty cache, no mirror, and no official downloads unless it asks."""
    for var in ("LABS_DATA_MIRROR", "LABS_REGISTRY", "LABS_REQUIRE_OFFICIAL_DATA", "LABS_DATA_LOG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LABS_OFFLINE", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    cache = tmp_path / "cache"
    monkeypatch.setenv("LABS_DATA_DIR", str(cache))
    return cache


@pytest.fixture
def toy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Return a function that installs a temporary registry (via LABS_REGISTRY)."""

    def install(files: list[dict]) -> Path:
        path = write_registry(tmp_path / "registry.toml", files)
        monkeypatch.setenv("LABS_REGISTRY", str(path))
        return path

    return install


# --- registry ------------------------------------------------------------------------------------


def test_registry_lists_every_dataset_with_valid_entries():
    entries = datasets.registry()
    assert set(entries) == DATASETS
    assert datasets.registry_path() == datasets.REPO_ROOT / "datasets" / "registry.toml"
    for name, entry in entries.items():
        assert entry.name == name and entry.licence and entry.citation and entry.homepage, name
        assert any(f.variant == "full" for f in entry.files), name
        for item in entry.files:
            assert item.variant in datasets.VARIANTS
            assert item.url or item.variant in ("subset", "lossy"), item.name


def test_registry_marks_unhashed_files_explicitly():
    unknown = {
        (name, f.name)
        for name, entry in datasets.registry().items()
        for f in entry.files
        if f.sha256 == datasets.UNKNOWN
    }
    assert unknown == {
        ("covertype", "dataset.csv"),
        ("jena_climate", "jena_climate_2009_2016.csv"),
        ("wisdm", "WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt"),
        ("cifar10", "train.tfrecord"),
    }


def test_registry_rejects_bad_entries(toy):
    toy([{"name": "x.csv", "variant": "sample", "sha256": datasets.UNKNOWN}])
    with pytest.raises(ValueError, match="variant"):
        datasets.registry()
    toy([{"name": "x.csv", "variant": "full", "sha256": "abc"}])
    with pytest.raises(ValueError, match="64 hex"):
        datasets.registry()


def test_relative_env_paths_are_taken_from_the_repo_root(monkeypatch):
    monkeypatch.setenv("LABS_DATA_DIR", "build/cache")
    assert datasets.cache_dir() == datasets.REPO_ROOT / "build" / "cache"
    assert datasets.cache_dir("/elsewhere") == Path("/elsewhere")


# --- fetch from a mirror -------------------------------------------------------------------------


def test_fetch_from_mirror_directory_records_source(mirror_dir, isolated):
    fetched = datasets.fetch("breast_cancer", ["wdbc.data"], mirror=mirror_dir)
    path = fetched.path("wdbc.data")
    assert path == isolated / "breast_cancer" / "wdbc.data"
    assert path.read_bytes() == (mirror_dir / "breast_cancer" / "wdbc.data").read_bytes()
    assert fetched.data_source == "mirror"
    sidecar = json.loads(path.with_name("wdbc.data.source.json").read_text())
    assert sidecar["origin"] == "mirror"
    assert sidecar["location"] == str(mirror_dir / "breast_cancer" / "wdbc.data")
    assert sidecar["sha256"] == sha256(path.read_bytes())
    assert sidecar["fetched_at"]
    # The origin survives caching, and fetch_many reports what it did per file.
    assert datasets.fetch("breast_cancer", ["wdbc.data"]).data_source == "mirror"
    rows = datasets.fetch_many(["breast_cancer"], mirror=mirror_dir)
    assert dict((f, s) for _, f, s in rows) == {
        "wdbc.data": "cached",
        "wdbc.names": "fetched from mirror",
        "course_variant/breast_cancer_data.csv": "fetched from mirror",
    }


def test_fetch_from_http_mirror(mirror_dir, monkeypatch):
    with serve(mirror_dir) as url:
        monkeypatch.setenv("LABS_DATA_MIRROR", url)
        path = datasets.fetch_file("cifar10", "labels.txt")
    labels = path.read_text().split()
    assert len(labels) == 10 and labels[:3] == ["airplane", "automobile", "bird"]
    sidecar = json.loads(path.with_name("labels.txt.source.json").read_text())
    assert sidecar["origin"] == "mirror"
    assert sidecar["location"] == f"{url}/cifar10/labels.txt"


@pytest.mark.parametrize("kind", ["dir", "http"])
def test_gz_in_mirror_stands_for_the_file(kind, toy, tmp_path):
    toy([toy_entry()])
    mirror = tmp_path / "mirror"
    make_mirror(mirror, {"table.csv.gz": gzip.compress(CONTENT)})
    with contextlib.ExitStack() as stack:
        where = stack.enter_context(serve(mirror)) if kind == "http" else mirror
        path = datasets.fetch_file("toy", "table.csv", mirror=where)
    assert path.name == "table.csv"
    assert path.read_bytes() == CONTENT


def test_subset_files_are_labelled_mirror_subset(toy, tmp_path):
    toy([toy_entry(), toy_entry("part.csv", b"a,b\n1,2\n", variant="subset")])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT, "part.csv": b"a,b\n1,2\n"})
    full = datasets.fetch("toy", mirror=mirror)
    assert list(full.paths) == ["table.csv"]  # files=None means the full files only
    assert full.path() == full.path("table.csv")
    both = datasets.fetch("toy", ["table.csv", "part.csv"], mirror=mirror)
    assert both.data_source == "mirror-subset"
    with pytest.raises(ValueError, match="name one of"):
        both.path()
    with pytest.raises(KeyError, match="nope"):
        both.path("nope")


# --- integrity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["dir", "http"])
def test_tampered_mirror_copy_raises_and_leaves_nothing(kind, tmp_path, isolated):
    mirror = make_mirror(tmp_path / "mirror", {"wdbc.data": b"tampered\n"}, "breast_cancer")
    expected = datasets.registry()["breast_cancer"].file("wdbc.data").sha256
    with contextlib.ExitStack() as stack:
        where = stack.enter_context(serve(mirror)) if kind == "http" else mirror
        with pytest.raises(datasets.DataIntegrityError) as info:
            datasets.fetch("breast_cancer", ["wdbc.data"], mirror=where)
    message = str(info.value)
    assert "breast_cancer/wdbc.data" in message
    assert expected in message and sha256(b"tampered\n") in message
    assert isinstance(info.value, ValueError)
    assert cached_files(isolated) == []  # no data, no temp file, no sidecar


def test_tampered_cache_file_is_refused(toy, tmp_path):
    toy([toy_entry()])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    path.write_bytes(CONTENT + b"5,6\n")
    with pytest.raises(datasets.DataIntegrityError, match="Delete"):
        datasets.fetch_file("toy", "table.csv", mirror=mirror)


def test_unchanged_cache_is_trusted_without_rehashing(toy, tmp_path, monkeypatch):
    toy([toy_entry()])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    path = datasets.fetch_file("toy", "table.csv", mirror=mirror)

    def refuse(_path):
        raise AssertionError("re-hashed an unchanged cached file")

    monkeypatch.setattr(verify, "_hashes", refuse)
    assert datasets.fetch_file("toy", "table.csv") == path
    path.touch()  # a new mtime means the sidecar no longer vouches for the file
    with pytest.raises(AssertionError, match="re-hashed"):
        datasets.fetch_file("toy", "table.csv")


def test_unknown_hash_is_trusted_on_first_use_then_enforced(toy, tmp_path):
    toy([toy_entry(sha256=datasets.UNKNOWN)])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    with pytest.warns(UserWarning, match="trusting this copy on first use"):
        path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    sidecar = path.with_name("table.csv.source.json")
    record = json.loads(sidecar.read_text())
    assert record["sha256"] == sha256(CONTENT)
    assert record["verified_by"] == "trust-on-first-use"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert datasets.fetch_file("toy", "table.csv") == path
    # Re-fetching different bytes is checked against the recorded hash.
    path.unlink()
    make_mirror(mirror, {"table.csv": b"other\n"})
    with pytest.raises(datasets.DataIntegrityError) as info:
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert sha256(CONTENT) in str(info.value) and sha256(b"other\n") in str(info.value)
    assert not path.exists()


def test_git_blob_id_verifies_a_file_without_sha256(toy, tmp_path):
    # `printf 'hello\n' | git hash-object --stdin`
    toy([toy_entry("hello.txt", sha256="unknown", git_blob_sha1="ce013625030ba8dba906f756967f9e9ca394464a")])
    mirror = make_mirror(tmp_path / "mirror", {"hello.txt": b"hello\n"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified, so no trust-on-first-use warning
        path = datasets.fetch_file("toy", "hello.txt", mirror=mirror)
    assert json.loads(path.with_name("hello.txt.source.json").read_text())["verified_by"] == ("git_blob_sha1")
    path.unlink()
    make_mirror(mirror, {"hello.txt": b"hello!\n"})
    with pytest.raises(datasets.DataIntegrityError, match="git blob sha1 mismatch"):
        datasets.fetch_file("toy", "hello.txt", mirror=mirror)


# --- official URLs and missing data --------------------------------------------------------------


def _archive(kind: str, root: Path) -> tuple[str, dict]:
    """Write ``CONTENT`` into an archive of ``kind`` under ``root``; return (path, entry extras)."""
    if kind == "plain":
        (root / "table.csv").write_bytes(CONTENT)
        return "table.csv", {}
    if kind == "gz":
        (root / "table.csv.gz").write_bytes(gzip.compress(CONTENT))
        return "table.csv.gz", {}
    if kind == "zip":
        with zipfile.ZipFile(root / "bundle.zip", "w") as zf:
            zf.writestr("bundle/readme.txt", "hi")
            zf.writestr("bundle/table.csv", CONTENT)
        return "bundle.zip", {"member": "bundle/table.csv"}
    with tarfile.open(root / "bundle.tar.gz", "w:gz") as tf:
        info = tarfile.TarInfo("./bundle/table.csv")
        info.size = len(CONTENT)
        tf.addfile(info, io.BytesIO(CONTENT))
    return "bundle.tar.gz", {"member": "bundle/table.csv"}


@pytest.mark.parametrize("kind", ["plain", "gz", "zip", "tar"])
def test_fetch_from_official_url_unpacks_and_verifies(kind, toy, tmp_path, monkeypatch):
    monkeypatch.delenv("LABS_OFFLINE")
    site = tmp_path / "site"
    site.mkdir()
    rel, extra = _archive(kind, site)
    with serve(site) as url:
        toy([toy_entry(url=f"{url}/{rel}", **extra)])
        fetched = datasets.fetch("toy")
    assert fetched.data_source == "official"
    assert fetched.path().read_bytes() == CONTENT
    sidecar = json.loads(fetched.path().with_name("table.csv.source.json").read_text())
    assert sidecar["origin"] == "official" and sidecar["location"].startswith(url)


def test_nothing_reachable_raises_data_not_available(toy, monkeypatch, isolated):
    monkeypatch.delenv("LABS_OFFLINE")
    toy([toy_entry(url=closed_port_url("toy/table.csv"))])
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch("toy")
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "toy/table.csv is not available" in message
    assert "SOURCE.md" in message and "README.md" in message
    assert "LABS_DATA_MIRROR" in message and "labs data fetch toy" in message
    assert str(isolated / "toy" / "table.csv") in message
    assert "127.0.0.1" in message  # the failed official attempt is reported
    assert cached_files(isolated) == []


def test_fetch_best_falls_back_to_subset(toy, tmp_path, monkeypatch):
    monkeypatch.delenv("LABS_OFFLINE")
    part = b"a,b\n1,2\n"
    toy([toy_entry(url=closed_port_url("toy/table.csv")), toy_entry("part.csv", part, variant="subset")])
    mirror = make_mirror(tmp_path / "mirror", {"part.csv": part})
    fetched = datasets.fetch_best("toy", ["table.csv"], ["part.csv"], mirror=mirror)
    assert fetched.data_source == "mirror-subset"
    assert list(fetched.paths) == ["part.csv"]
    with pytest.raises(datasets.DataNotAvailableError, match="table.csv"):
        datasets.fetch_best("toy", ["table.csv"], ["part.csv"], allow_subset=False, mirror=mirror)
    (datasets.cache_path("toy", "part.csv")).unlink()
    with pytest.raises(datasets.DataNotAvailableError, match="not available either"):
        datasets.fetch_best("toy", ["table.csv"], ["part.csv"], mirror="")


def test_fetch_best_refuses_the_subset_when_official_data_is_required(toy, tmp_path, monkeypatch):
    part = b"a,b\n1,2\n"
    toy([toy_entry(), toy_entry("part.csv", part, variant="subset")])
    mirror = make_mirror(tmp_path / "mirror", {"part.csv": part})
    monkeypatch.setenv("LABS_REQUIRE_OFFICIAL_DATA", "1")
    with pytest.raises(datasets.DataNotAvailableError, match="LABS_REQUIRE_OFFICIAL_DATA=1") as info:
        datasets.fetch_best("toy", ["table.csv"], ["part.csv"], mirror=mirror)
    assert "toy/table.csv is not available" in str(info.value)
    assert not datasets.cache_path("toy", "part.csv").exists()
    monkeypatch.setenv("LABS_REQUIRE_OFFICIAL_DATA", "0")  # "0" means off, as unset does
    fetched = datasets.fetch_best("toy", ["table.csv"], ["part.csv"], mirror=mirror)
    assert fetched.data_source == "mirror-subset"


def test_fetch_many_reports_status_and_missing(toy, tmp_path):
    toy([toy_entry(), toy_entry("gone.csv", b"x\n")])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    rows = datasets.fetch_many(None, allow_missing=True, mirror=mirror)
    assert rows[0] == ("toy", "table.csv", "fetched from mirror")
    assert rows[1][:2] == ("toy", "gone.csv") and rows[1][2].startswith("missing: ")
    rows = datasets.fetch_many(["toy"], allow_missing=True, mirror=mirror)
    assert rows[0][2] == "cached"
    with pytest.raises(datasets.DataNotAvailableError, match="gone.csv"):
        datasets.fetch_many(["toy"], allow_missing=False, mirror=mirror)
    with pytest.raises(ValueError, match="unknown datasets"):
        datasets.fetch_many(["nope"], allow_missing=True)


def test_datasets_table_has_one_row_per_dataset():
    table = datasets.datasets_table()
    assert isinstance(table, pd.DataFrame)
    assert set(table["dataset"]) == DATASETS
    assert list(table.columns) == ["dataset", "files", "size", "licence", "variants", "cached"]
    assert table["cached"].str.startswith("0/").all()  # the test cache is empty
    assert table.set_index("dataset").loc["census_adult", "size"] == "10.0 MB"


# --- safe extraction -----------------------------------------------------------------------------


def _tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            data = b"payload" if info.isfile() else None
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_extract_good_tar_and_zip(tmp_path):
    archive = _tar(
        tmp_path / "good.tar.gz",
        [
            _info("pkg", tarfile.DIRTYPE),
            _info("pkg/a.txt"),
            _info("pkg/alias.txt", tarfile.SYMTYPE, "a.txt"),
        ],
    )
    paths = datasets.extract_archive(archive, tmp_path / "out")
    assert (tmp_path / "out" / "pkg" / "a.txt").read_bytes() == b"payload"
    assert (tmp_path / "out" / "pkg" / "alias.txt").read_bytes() == b"payload"
    assert tmp_path / "out" / "pkg" / "a.txt" in paths
    only = datasets.extract_archive(archive, tmp_path / "one", members=["pkg/a.txt"])
    assert only == [tmp_path / "one" / "pkg" / "a.txt"]
    assert not (tmp_path / "one" / "pkg" / "alias.txt").exists()
    with zipfile.ZipFile(tmp_path / "good.zip", "w") as zf:
        zf.writestr("d/b.txt", "zip payload")
    datasets.extract_archive(tmp_path / "good.zip", tmp_path / "zout")
    assert (tmp_path / "zout" / "d" / "b.txt").read_text() == "zip payload"


def _zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("good.txt", "fine")
        for name in names:
            zf.writestr(zipfile.ZipInfo(name), "evil")
    return path


MALICIOUS = {
    "dotdot": lambda d: _tar(d / "a.tar.gz", [_info("good.txt"), _info("../evil.txt")]),
    "absolute": lambda d: _tar(d / "a.tar", [_info("good.txt"), _info(str(d / "evil.txt"))]),
    "symlink_out": lambda d: _tar(d / "a.tar.gz", [
        _info("good.txt"), _info("link", tarfile.SYMTYPE, "../.."), _info("link/evil.txt"),
    ]),
    "symlink_absolute": lambda d: _tar(d / "a.tar.gz", [
        _info("good.txt"), _info("link", tarfile.SYMTYPE, str(d)),
    ]),
    "hardlink_out": lambda d: _tar(d / "a.tar.gz", [
        _info("good.txt"), _info("evil.txt", tarfile.LNKTYPE, "../outside.txt"),
    ]),
    "device": lambda d: _tar(d / "a.tar.gz", [_info("good.txt"), _info("dev", tarfile.CHRTYPE)]),
    "zip_slip": lambda d: _zip(d / "a.zip", ["../evil.txt"]),
    "zip_absolute": lambda d: _zip(d / "a.zip", [str(d / "evil.txt")]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_archive_is_rejected_before_writing(case, tmp_path):
    archive = MALICIOUS[case](tmp_path)
    dest = tmp_path / "sandbox" / "out"
    with pytest.raises(datasets.UnsafeArchiveError):
        datasets.extract_archive(archive, dest)
    assert not (tmp_path / "sandbox").exists()  # nothing inside dest, not even dest itself
    written = {p.name for p in tmp_path.rglob("*")} - {archive.name}
    assert written == set(), f"extraction wrote {written}"


def test_extract_rejects_non_archives(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        datasets.extract_archive(path, tmp_path / "out")


# --- hardening (issue 11): damaged downloads, sizes, first use, bit-rot, archive limits ----------


def _damaged_gz(damage: str) -> bytes:
    """Return a gzip of a few KB of CSV, with one byte flipped mid-stream or cut in half."""
    packed = bytearray(gzip.compress(b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000))))
    if damage == "truncated":
        return bytes(packed[: len(packed) // 2])
    packed[len(packed) // 2] ^= 0xFF
    return bytes(packed)


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
@pytest.mark.parametrize("kind", ["dir", "http"])
def test_damaged_gz_in_mirror_is_refused_and_later_files_still_fetch(damage, kind, toy, tmp_path, isolated):
    content = b"".join(b"%d,%d\n" % (i, i * i) for i in range(2000))
    toy([toy_entry("table.csv", content), toy_entry("other.csv", b"x\n")])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv.gz": _damaged_gz(damage), "other.csv": b"x\n"})
    with contextlib.ExitStack() as stack:
        where = stack.enter_context(serve(mirror)) if kind == "http" else mirror
        with pytest.raises(datasets.DataIntegrityError) as info:
            datasets.fetch_many(["toy"], allow_missing=True, mirror=where)
    message = str(info.value)
    assert "toy/table.csv" in message and "not used" in message
    assert any(word in message for word in ("decompression failed", "sha256 mismatch")), message
    assert sorted(p.name for p in cached_files(isolated)) == ["other.csv", "other.csv.source.json"]


def test_gz_that_expands_past_the_registered_size_is_stopped(toy, tmp_path, isolated):
    toy([toy_entry()])  # registered size: len(CONTENT)
    reg = datasets.registry_path()
    reg.write_text(reg.read_text() + f"size = {len(CONTENT)}\n")
    bomb = gzip.compress(b"\0" * (8 << 20))  # 8 MiB of zeros in ~8 KB
    mirror = make_mirror(tmp_path / "mirror", {"table.csv.gz": bomb})
    with pytest.raises(datasets.DataIntegrityError, match=f"more than {len(CONTENT)} bytes"):
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert cached_files(isolated) == []


def test_size_is_checked_for_files_without_a_hash(toy, tmp_path, isolated):
    toy([toy_entry(sha256=datasets.UNKNOWN, size=len(CONTENT))])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT[:-4]})  # cut short
    with pytest.raises(datasets.DataIntegrityError, match=f"size mismatch.*expected {len(CONTENT)}"):
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert cached_files(isolated) == []  # in particular no first-use record pinning the bad hash
    make_mirror(mirror, {"table.csv": CONTENT})
    with pytest.warns(UserWarning, match="first use"):
        fetched = datasets.fetch("toy", mirror=mirror)
    assert fetched.path().read_bytes() == CONTENT


def test_size_is_checked_for_hashed_files_too(toy, tmp_path):
    toy([toy_entry(size=len(CONTENT) + 1)])  # registry and hash disagree on purpose: size wins first
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    with pytest.raises(datasets.DataIntegrityError, match="size mismatch"):
        datasets.fetch_file("toy", "table.csv", mirror=mirror)


def test_first_use_download_is_labelled_unverified_not_official(toy, tmp_path):
    toy([toy_entry(sha256=datasets.UNKNOWN)])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    with pytest.warns(UserWarning, match="first use"):
        fetched = datasets.fetch("toy", mirror=mirror)
    assert fetched.data_source == "unverified"
    assert datasets.fetch("toy").data_source == "unverified"  # and so it stays once cached
    rows = datasets.fetch_many(["toy"])
    assert rows == [("toy", "table.csv", "cached (unverified: trusted on first use)")]


def test_pinned_first_use_hash_says_which_record_to_delete(toy, tmp_path):
    toy([toy_entry(sha256=datasets.UNKNOWN)])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    with pytest.warns(UserWarning):
        path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    path.unlink()
    make_mirror(mirror, {"table.csv": b"a,b\n9,9\n"})
    with pytest.raises(datasets.DataIntegrityError) as info:
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert f"delete {path.with_name('table.csv.source.json')}" in str(info.value)


def _rot(path: Path) -> None:
    """Flip one byte of ``path`` keeping its size and mtime (bit-rot the sidecar cannot see)."""
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[1] ^= 0x01
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_verify_cache_finds_bit_rot_that_the_sidecar_hides(toy, tmp_path):
    toy([toy_entry(), toy_entry("ok.csv", b"x\n"), toy_entry("absent.csv", b"y\n")])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT, "ok.csv": b"x\n"})
    path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    datasets.fetch_file("toy", "ok.csv", mirror=mirror)
    _rot(path)
    assert datasets.fetch_many(["toy"], allow_missing=True)[0][2] == "cached"  # the sidecar is fooled
    rows = {file: status for _, file, status in datasets.verify_cache(["toy"])}
    assert rows["ok.csv"] == "ok (sha256)"
    assert rows["absent.csv"] == "not cached"
    assert rows["table.csv"].startswith("MISMATCH: sha256 mismatch for toy/table.csv")
    # Once found, the bad copy is no longer vouched for: the next fetch refuses it.
    with pytest.raises(datasets.DataIntegrityError, match="Delete"):
        datasets.fetch_file("toy", "table.csv")


def test_cli_data_verify_exits_nonzero_on_mismatch(toy, tmp_path, capsys):
    from labs_utils import cli

    toy([toy_entry()])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv": CONTENT})
    path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert cli.main(["data", "verify", "toy"]) == 0
    _rot(path)
    assert cli.main(["data", "verify"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "toy" in out and "table.csv" in out


def test_symlink_chain_is_rejected_before_anything_is_written(tmp_path):
    archive = _tar(
        tmp_path / "chain.tar.gz",
        [
            _info("l1", tarfile.SYMTYPE, "."),
            _info("l2", tarfile.SYMTYPE, "l1/.."),
            _info("l2/x"),
        ],
    )
    dest = tmp_path / "sandbox" / "out"
    with pytest.raises(datasets.UnsafeArchiveError, match="l2"):
        datasets.extract_archive(archive, dest)
    assert not (tmp_path / "sandbox").exists()


def _zero_tar(path: Path, size: int) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo("big.bin")
        info.size = size
        tf.addfile(info, io.BytesIO(b"\0" * size))
    return path


def test_archive_expansion_is_capped_before_writing(tmp_path):
    archive = _zero_tar(tmp_path / "bomb.tar.gz", 16 << 20)  # 16 MiB in ~16 KB: ratio ~1000
    with pytest.raises(datasets.UnsafeArchiveError, match="expand"):
        datasets.extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(datasets.UnsafeArchiveError, match="expand"):
        datasets.extract_archive(archive, tmp_path / "out", max_bytes=1 << 20)
    extracted = datasets.extract_archive(archive, tmp_path / "ok", max_bytes=16 << 20)
    assert extracted[0].stat().st_size == 16 << 20


def test_official_archive_member_is_capped_by_the_registered_size(toy, tmp_path, monkeypatch, isolated):
    monkeypatch.delenv("LABS_OFFLINE")
    site = tmp_path / "site"
    site.mkdir()
    _zero_tar(site / "bundle.tar.gz", 1 << 20)
    with serve(site) as url:
        toy([toy_entry("big.bin", url=f"{url}/bundle.tar.gz", size=1000)])
        with pytest.raises(datasets.DataIntegrityError, match="expand"):
            datasets.fetch("toy")
    assert [p for p in cached_files(isolated) if not p.name.startswith("bundle")] == []


def _own(tmp_path: Path, dataset: str, file: str, data: bytes) -> datasets.Fetched:
    """Return a Fetched pointing a loader at a user's own file."""
    path = tmp_path / "own" / Path(file).name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return datasets.Fetched(dataset, {file: path}, "synthetic")


CENSUS_ROW = b"39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K\n"  # noqa: E501


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"extra, " + CENSUS_ROW + CENSUS_ROW, "line 1: 1 row(s) do not have 15 fields (the first has 16)"),
        (CENSUS_ROW + CENSUS_ROW.rsplit(b",", 1)[0] + b"\n", "line 2: 1 row(s) do not have 15 fields"),
        (b"", "has no data rows"),
    ],
)
def test_course_loader_refuses_a_malformed_own_file(tmp_path, data, message):
    fetched = _own(tmp_path, "census_adult", "adult.data", data)
    with pytest.raises(ValueError) as info:
        datasets.load_census_adult(fetched)
    assert str(fetched.path()) in str(info.value) and message in str(info.value)


def test_course_loader_with_a_header_refuses_short_rows(tmp_path):
    fetched = _own(tmp_path, "chicago_taxi", "data.csv", b"a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(ValueError, match="line 3: 1 row"):
        datasets.load_chicago_taxi(fetched)
