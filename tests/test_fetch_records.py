"""What fetch records and reports about a file: how it was verified, and the exact words of a hash
mismatch (dataset, file, where it came from, both hashes, and the fix for a bad cached copy)."""

from __future__ import annotations

import json
import warnings
from datetime import datetime

import pytest
import test_datasets
from test_datasets import CONTENT, make_mirror, sha256, toy_entry

from labs_utils import datasets
from labs_utils.datasets import verify

isolated = test_datasets.isolated  # an empty cache, no mirror, offline (autouse)
toy = test_datasets.toy  # a one-dataset registry


def verified_by(path) -> str:
    return json.loads(path.with_name(f"{path.name}.source.json").read_text())["verified_by"]


def test_a_registered_hash_is_recorded_as_the_check_used(toy, tmp_path):
    toy([toy_entry()])
    path = datasets.fetch_file("toy", "table.csv", mirror=make_mirror(tmp_path / "m", {"table.csv": CONTENT}))
    assert verified_by(path) == "sha256"


def test_a_first_use_hash_is_recorded_then_enforced_with_its_own_name(toy, tmp_path):
    toy([toy_entry(sha256="unknown")])
    mirror = make_mirror(tmp_path / "m", {"table.csv": CONTENT})
    with pytest.warns(UserWarning, match="no published checksum"):
        path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert verified_by(path) == "trust-on-first-use"
    path.unlink()  # the sidecar keeps the first-use hash
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # checked against the record: no second warning
        path = datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert verified_by(path) == "trust-on-first-use"
    path.unlink()
    changed = b"changed\n"
    make_mirror(mirror, {"table.csv": changed})
    with pytest.raises(datasets.DataIntegrityError) as info:
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert str(info.value) == (
        f"sha256 (recorded on first use) mismatch for toy/table.csv from {mirror / 'toy' / 'table.csv'}: "
        f"expected {sha256(CONTENT)}, got {sha256(changed)}. The file was not used. The expected hash was "
        "recorded when the first copy was fetched; if that copy was damaged and this one is right, delete "
        f"{datasets.cache_dir() / 'toy' / 'table.csv.source.json'} (the first-use record) and fetch again."
    )


def test_a_tampered_cached_file_is_refused_with_the_fix(toy, tmp_path, isolated):
    toy([toy_entry()])
    path = datasets.fetch_file("toy", "table.csv", mirror=make_mirror(tmp_path / "m", {"table.csv": CONTENT}))
    tampered = b"tampered\n"
    path.write_bytes(tampered)
    with pytest.raises(datasets.DataIntegrityError) as info:
        datasets.fetch_file("toy", "table.csv", mirror="")
    assert str(info.value) == (
        f"sha256 mismatch for toy/table.csv from the cache ({path}): expected {sha256(CONTENT)}, "
        f"got {sha256(tampered)}. The file was not used. "
        f"Delete {path} and table.csv.source.json to fetch it again."
    )
    assert (info.value.dataset, info.value.file) == ("toy", "table.csv")


def test_a_mirror_mismatch_has_no_cache_hint(toy, tmp_path):
    toy([toy_entry()])
    mirror = make_mirror(tmp_path / "m", {"table.csv": b"other\n"})
    with pytest.raises(datasets.DataIntegrityError) as info:
        datasets.fetch_file("toy", "table.csv", mirror=mirror)
    assert str(info.value).endswith("The file was not used.")


def sidecar(path) -> dict:
    return json.loads(path.with_name(f"{path.name}.source.json").read_text())


def test_the_sidecar_records_where_the_bytes_came_from(toy, tmp_path):
    toy([toy_entry()])
    mirror = make_mirror(tmp_path / "m", {"table.csv": CONTENT})
    path = datasets.fetch("toy", mirror=mirror).path()
    record = sidecar(path)
    fetched_at = record.pop("fetched_at")
    assert datetime.fromisoformat(fetched_at).tzinfo is not None
    assert record == {
        "dataset": "toy",
        "file": "table.csv",
        "origin": "mirror",
        "location": str(mirror / "toy" / "table.csv"),
        "sha256": sha256(CONTENT),
        "git_blob_sha1": record["git_blob_sha1"],
        "verified_by": "sha256",
        "size": len(CONTENT),
        "mtime_ns": path.stat().st_mtime_ns,
    }
    again = datasets.fetch("toy", mirror="")  # from the cache: still labelled by its origin
    assert again.data_source == "mirror" and sidecar(path) == {**record, "fetched_at": fetched_at}


def test_a_file_placed_in_the_cache_by_hand_is_recorded_as_local(toy, isolated):
    toy([toy_entry()])
    path = isolated / "toy" / "table.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(CONTENT)
    assert datasets.fetch("toy", mirror="").data_source == "official"  # complete official content
    record = sidecar(path)
    assert {k: record[k] for k in ("dataset", "file", "origin", "location", "fetched_at", "verified_by")} == {
        "dataset": "toy",
        "file": "table.csv",
        "origin": "local",
        "location": str(path),
        "fetched_at": None,
        "verified_by": "sha256",
    }
    entry = datasets.registry()["toy"].files[0]
    assert verify.check_cached(path, entry, "toy") == ("local", "sha256")  # now trusted from its sidecar
    record.pop("origin")  # an older sidecar without an origin
    path.with_name("table.csv.source.json").write_text(json.dumps(record))
    assert verify.check_cached(path, entry, "toy") == ("local", "sha256")


def test_the_first_use_warning_names_the_file_and_points_at_the_caller(toy, tmp_path):
    toy([toy_entry(sha256="unknown")])
    mirror = make_mirror(tmp_path / "m", {"table.csv": CONTENT})
    with pytest.warns(UserWarning) as caught:
        datasets.fetch("toy", mirror=mirror)
    (warning,) = caught
    assert str(warning.message) == (
        f"toy/table.csv has no published checksum: trusting this copy on first use "
        f"(sha256 {sha256(CONTENT)}); later fetches are checked against it."
    )
    assert warning.filename == __file__  # the lab's call to fetch, not the package's internals
