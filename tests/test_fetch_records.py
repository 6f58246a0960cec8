"""What fetch records and reports about a file: how it was verified, and the exact words of a hash
mismatch (dataset, file, where it came from, both hashes, and the fix for a bad cached copy)."""

from __future__ import annotations

import json
import warnings

import pytest
import test_datasets
from test_datasets import CONTENT, make_mirror, sha256, toy_entry

from labs_utils import datasets

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
        f"expected {sha256(CONTENT)}, got {sha256(changed)}. The file was not used."
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
