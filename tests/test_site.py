"""Tests for labs_utils.site on a small fake run folder."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from site_fixtures import LABS, make_fake_run

from labs_utils import cli, site


class _Page(HTMLParser):
    """Collect every link and resource reference, and the text of each card."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: list[str] = []
        self.cards: dict[str, str] = {}
        self._card: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.refs += [attrs[k] for k in ("href", "src") if k in attrs]
        if tag == "article":
            self._card = attrs["id"]
            self.cards[self._card] = ""

    def handle_endtag(self, tag):
        if tag == "article":
            self._card = None

    def handle_data(self, data):
        if self._card:
            self.cards[self._card] += data


@pytest.fixture
def run(tmp_path) -> Path:
    return make_fake_run(tmp_path / "runs" / "quick")


def parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_one_card_per_lab_in_summary_order(run):
    page = parse(site.write_site(run))
    assert list(page.cards) == [lab["lab"] for lab in LABS]


def test_card_shows_title_learning_goals_status_time_memory_and_data(run):
    card = parse(site.write_site(run)).cards["c9w1_lab_alpha"]
    assert "Alpha: statistics and schema" in card
    # a wrapped bullet is joined into one goal
    assert "compute statistics of a training set, then compare them with the evaluation set" in card
    assert "infer a schema" in card
    assert "passed" in card and "12.3 s" in card and "peak 813 MiB" in card
    assert "full data, from the official source" in card


def test_headline_results_come_from_results_json(run):
    card = parse(site.write_site(run)).cards["c9w1_lab_alpha"]
    assert "rows" in card and "32,561" in card
    assert "train 26,048, eval 6,513" in card
    assert "0.9123" in card
    assert "quick" not in card.split("infer a schema")[1], "run bookkeeping is not a result"


def test_failed_lab_shows_the_cell_and_the_error(run):
    card = parse(site.write_site(run)).cards["c9w2_lab_beta"]
    assert "failed" in card
    assert "cell 7: assert anomalies == expected (line 2: assert len(rows) == 3)" in card
    assert "AssertionError: the cleaned eval set has 4 anomalies, not 3" in card


def test_synthetic_data_is_said_plainly_and_text_is_escaped(run):
    text = site.write_site(run).read_text()
    card = parse(run / "index.html").cards["c9w3_lab_gamma"]
    assert "synthetic data, not the real dataset" in card
    assert "Gamma <synthetic> & friends" in card and "Gamma &lt;synthetic&gt; &amp; friends" in text
    assert "majority label" in card and "walking" in card  # the lab's own headline wins


def test_links_are_relative_and_resolve_and_nothing_loads_from_the_web(run):
    page = parse(site.write_site(run))
    assert "script" not in page.tags and "link" not in page.tags
    assert not [r for r in page.refs if re.match(r"^[a-z]+:", r)], "the page must work offline"
    assert len(page.refs) == 2 * len(LABS)  # HTML and notebook per lab; no docs built yet
    for ref in page.refs:
        assert (run / ref).is_file(), ref


def test_api_reference_is_linked_once_built(run):
    assert "make docs" in site.write_site(run).read_text()
    docs = run.parent / "docs"
    docs.mkdir()
    (docs / "index.html").write_text("<title>API</title>")
    page = parse(site.write_site(run))
    assert "../docs/index.html" in page.refs


@pytest.mark.parametrize(
    ("source", "lossy", "tag"),
    [
        ("official", False, "full"),
        ("mirror", False, "full"),
        ("mirror-subset", False, "subset"),
        ("mirror-subset", True, "lossy"),
        ("synthetic", False, "synthetic"),
        ("-", False, "unknown"),
    ],
)
def test_data_label(source, lossy, tag):
    assert site.data_label(source, lossy)[0] == tag


def test_headline_results_keeps_a_listed_order_and_limit():
    results = {"lab": "x", "a": 1, "b": 2.5, "c": "text", "d": 4, "headline": ["d", "a", "missing"]}
    assert site.headline_results(results) == [("d", "4"), ("a", "1")]
    del results["headline"]
    assert site.headline_results(results) == [("a", "1"), ("b", "2.5"), ("c", "text")]
    assert site.headline_results(None) == []


def test_missing_summary_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"summary\.json does not exist; run labs"):
        site.write_site(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"not": "a run"}))
    with pytest.raises(ValueError, match="not a lab run summary"):
        site.write_site(tmp_path)
    assert not (tmp_path / "index.html").exists()


def test_cli_site_writes_the_index(run, capsys, tmp_path):
    assert cli.main(["site", str(run)]) == 0
    assert capsys.readouterr().out.strip() == str(run / "index.html")
    assert cli.main(["site", str(tmp_path / "empty")]) == 2
    assert "does not exist" in capsys.readouterr().err
