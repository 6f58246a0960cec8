"""The fetch order's fallbacks: a mirror that lacks a file (or cannot be reached) falls through
to the official URL, and the file is labelled by where its bytes really came from."""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest
import test_datasets
from test_datasets import CONTENT, closed_port_url, make_mirror, serve, toy_entry

from labs_utils import datasets

# The datasets tests' fixtures: an empty cache, no mirror, offline (autouse) and a toy registry.
isolated = test_datasets.isolated
toy = test_datasets.toy


@pytest.fixture
def official_site(tmp_path, monkeypatch):
    """Serve the official copy of table.csv over HTTP (official downloads allowed)."""
    monkeypatch.delenv("LABS_OFFLINE")
    site = tmp_path / "site"
    site.mkdir()
    (site / "table.csv").write_bytes(CONTENT)
    with serve(site) as url:
        yield url


def assert_official(fetched, url: str) -> None:
    assert fetched.data_source == "official"
    assert fetched.path().read_bytes() == CONTENT
    sidecar = json.loads(fetched.path().with_name("table.csv.source.json").read_text())
    assert sidecar["origin"] == "official" and sidecar["location"] == f"{url}/table.csv"


def test_a_mirror_folder_without_the_file_falls_back_to_the_official_url(official_site, toy, tmp_path):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    mirror = make_mirror(tmp_path / "mirror", {"other.csv": b"x\n"})
    assert_official(datasets.fetch("toy", mirror=mirror), official_site)


def test_a_missing_mirror_folder_falls_back_to_the_official_url(official_site, toy, tmp_path):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    assert_official(datasets.fetch("toy", mirror=tmp_path / "no-mirror"), official_site)


def test_an_http_mirror_without_the_file_falls_back_to_the_official_url(official_site, toy, tmp_path):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    mirror_root = make_mirror(tmp_path / "http-mirror", {"other.csv": b"x\n"})
    with serve(mirror_root) as mirror_url:  # answers 404 for toy/table.csv and toy/table.csv.gz
        assert_official(datasets.fetch("toy", mirror=mirror_url), official_site)


def test_an_unreachable_http_mirror_falls_back_to_the_official_url(official_site, toy):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    assert_official(datasets.fetch("toy", mirror=closed_port_url("").rstrip("/")), official_site)


def test_the_mirror_wins_over_the_official_url_when_it_has_the_file(official_site, toy, tmp_path):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    mirror = make_mirror(tmp_path / "mirror", {"table.csv.gz": gzip.compress(CONTENT)})
    fetched = datasets.fetch("toy", mirror=mirror)
    assert fetched.data_source == "mirror" and fetched.path().read_bytes() == CONTENT
    sidecar = json.loads(fetched.path().with_name("table.csv.source.json").read_text())
    assert sidecar["origin"] == "mirror" and sidecar["location"].endswith("toy/table.csv.gz")


def test_fetch_many_reports_the_official_fallback(official_site, toy, tmp_path):
    toy([toy_entry(url=f"{official_site}/table.csv")])
    rows = datasets.fetch_many(["toy"], mirror=tmp_path / "empty-mirror")
    assert rows == [("toy", "table.csv", "fetched from official URL")]


def reasons_for(mirror) -> tuple[str, ...]:
    """Return the reasons DataNotAvailableError gives for toy/table.csv with `mirror`, offline."""
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch("toy", mirror=mirror)
    return info.value.reasons


def test_each_source_tried_is_named_with_why_it_failed(toy, tmp_path, isolated, monkeypatch):
    toy([toy_entry(url="http://example.invalid/table.csv")])
    target = isolated / "toy" / "table.csv"
    official = "official: http://example.invalid/table.csv skipped because LABS_OFFLINE is set"
    assert reasons_for("") == (
        f"cache: no file at {target}",
        "mirror: none (LABS_DATA_MIRROR is not set)",
        official,
    )
    missing = tmp_path / "no-mirror"
    assert reasons_for(missing)[1] == f"mirror: directory {missing} does not exist"
    empty = make_mirror(tmp_path / "mirror", {"other.csv": b"x\n"})
    assert reasons_for(empty)[1] == f"mirror: {empty}/toy/table.csv not found (nor a .gz of it)"
    unreachable = closed_port_url("").rstrip("/")
    reason = reasons_for(unreachable)[1]
    assert reason.startswith(f"mirror {unreachable}: ") and "Error" in reason
    toy([toy_entry()])  # no official URL at all
    assert reasons_for("")[2] == "official: no official URL, this file exists only in the course mirror"


def test_a_registered_gz_file_is_taken_from_the_mirror_as_is(toy, tmp_path):
    packed = gzip.compress(CONTENT)
    toy([toy_entry("table.csv.gz", packed)])
    # A .gz stands in for a plain file only: no .gz.gz for a registered .gz.
    doubled = make_mirror(tmp_path / "doubled", {"table.csv.gz.gz": gzip.compress(packed)})
    with pytest.raises(datasets.DataNotAvailableError, match="table.csv.gz not found"):
        datasets.fetch("toy", mirror=doubled)
    mirror = make_mirror(tmp_path / "mirror", {"table.csv.gz": packed})
    fetched = datasets.fetch("toy", mirror=mirror)
    assert fetched.path().read_bytes() == packed and fetched.data_source == "mirror"


def test_labs_offline_0_still_downloads(official_site, toy, monkeypatch):
    monkeypatch.setenv("LABS_OFFLINE", "0")
    toy([toy_entry(url=f"{official_site}/table.csv")])
    assert_official(datasets.fetch("toy", mirror=""), official_site)


def test_an_official_archive_is_kept_in_the_hidden_downloads_folder(toy, tmp_path, monkeypatch, isolated):
    monkeypatch.delenv("LABS_OFFLINE")
    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "bundle.zip", "w") as archive:
        archive.writestr("bundle/table.csv", CONTENT)
    with serve(site) as url:
        toy([toy_entry(url=f"{url}/bundle.zip", member="bundle/table.csv")])
        datasets.fetch("toy", mirror="")
    assert (isolated / "toy" / ".downloads" / "bundle.zip").is_file()  # fetched once, not re-downloaded
    assert sorted(p.name for p in (isolated / "toy").iterdir()) == [
        ".downloads",
        "table.csv",
        "table.csv.source.json",
    ]


def test_a_failed_download_is_named_with_its_url(toy, monkeypatch):
    monkeypatch.delenv("LABS_OFFLINE")
    url = closed_port_url("toy/table.csv")
    toy([toy_entry(url=url)])
    reason = reasons_for("")[2]
    assert reason.startswith(f"official: {url}: ") and "Error" in reason


def test_when_neither_full_nor_subset_is_there_the_message_covers_both(toy):
    toy([toy_entry(), toy_entry("part.csv", b"a\n", variant="subset")])
    with pytest.raises(datasets.DataNotAvailableError) as info:
        datasets.fetch_best("toy", ["table.csv"], ["part.csv"], mirror="")
    message = str(info.value)
    assert message.startswith("toy/table.csv is not available")
    full, subset = message.split("\n\nThe subset ['part.csv'] is not available either:\n")
    assert subset.startswith("toy/part.csv is not available") and subset.rstrip().endswith("here.")
    assert info.value.file == "part.csv"
