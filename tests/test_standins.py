"""Stand-in data through the runner, the summary, the run site and `labs run --require-official-data`.

Tiny fixture labs fetch from a toy registry whose full file is out of reach and whose mirror holds
only a real subset, the situation of Jena and WISDM on an offline machine.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from labs_utils import cli, kernel, report, runner, site

FULL, PART = b"a,b\n1,2\n3,4\n5,6\n", b"a,b\n1,2\n"
FULL_URL = "https://example.invalid/toy/table.csv"
PARAMETERS = "QUICK = False  # sampled data\nOUTPUT_DIR = 'out'  # results\nSEED = 42  # seed"
FETCH_BEST = (
    "from labs_utils import datasets\n"
    "fetched = datasets.fetch_best('toy', ['table.csv'], ['part.csv'])\n"
    "datasets.show_data_source(fetched)"
)
FETCH_SUBSET = "from labs_utils import datasets\nfetched = datasets.fetch('toy', ['part.csv'])"
FETCH_FULL = "from labs_utils import datasets\nfetched = datasets.fetch('toy', ['table.csv'])"


def write_results(data_source: str = "{fetched.data_source}") -> str:
    """Return a cell that writes results.json with ``data_source`` (default: what was fetched)."""
    record = f"{{'data_source': f'{data_source}'}}"
    return f"import json, pathlib\npathlib.Path(OUTPUT_DIR, 'results.json').write_text(json.dumps({record}))"


def tiny_lab(folder: Path, name: str, *code: str) -> runner.Lab:
    """Write a lab notebook: title, parameters, then one code cell per ``code``."""
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    cells = [nbformat.v4.new_markdown_cell(f"# {name}"), params, *map(nbformat.v4.new_code_cell, code)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = kernel.notebook_metadata()
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder / f"{name}.ipynb"))
    return runner.Lab(name, folder / f"{name}.ipynb", name)


@pytest.fixture
def toy_data(tmp_path, monkeypatch):
    """A toy registry (full file official-only, subset in the mirror), an empty cache, offline."""
    registry = tmp_path / "registry.toml"
    registry.write_text(
        '[datasets.toy]\ntitle = "Toy"\nlicence = "CC0"\ncitation = "none"\nhomepage = "none"\n'
        f'[[datasets.toy.files]]\nname = "table.csv"\nvariant = "full"\nurl = "{FULL_URL}"\n'
        f'sha256 = "{hashlib.sha256(FULL).hexdigest()}"\n'
        '[[datasets.toy.files]]\nname = "part.csv"\nvariant = "subset"\n'
        f'sha256 = "{hashlib.sha256(PART).hexdigest()}"\n'
    )
    mirror = tmp_path / "mirror"
    (mirror / "toy").mkdir(parents=True)
    (mirror / "toy" / "part.csv").write_bytes(PART)
    for var, value in {
        "LABS_REGISTRY": registry,
        "LABS_DATA_DIR": tmp_path / "cache",
        "LABS_DATA_MIRROR": mirror,
        "LABS_OFFLINE": "1",
    }.items():
        monkeypatch.setenv(var, str(value))
    for var in ("LABS_REQUIRE_OFFICIAL_DATA", "LABS_DATA_LOG"):
        monkeypatch.delenv(var, raising=False)
    return mirror


@pytest.fixture
def stand_in_lab(tmp_path, toy_data):
    return tiny_lab(tmp_path / "nbs", "c0w1_lab_stand_in", FETCH_BEST, write_results())


@pytest.mark.notebook
def test_a_lab_on_a_stand_in_passes_labelled_with_the_way_to_the_official_file(stand_in_lab, tmp_path):
    out = tmp_path / "out"
    result = runner.run_lab(stand_in_lab, output_dir=out, quick=False, html=True)
    assert result.status == "passed" and result.data_source == "mirror-subset"
    [item] = result.stand_ins
    assert (item["dataset"], item["data_source"], item["files"]) == ("toy", "mirror-subset", ["part.csv"])
    assert any(FULL_URL in step for step in item["how_to_get"])
    assert any("labs data fetch toy" in step for step in item["how_to_get"])

    cells = nbformat.read(str(result.notebook), as_version=4).cells
    assert cells[0].metadata.get("tags") == ["stand-in-data"]  # the banner on top
    assert "stand-in data" in cells[0].source and FULL_URL in cells[0].source
    fetch_cell = next(c for c in cells if c.cell_type == "code" and "fetch_best" in c.source)
    shown = [o for o in fetch_cell.outputs if o.output_type == "display_data"]
    assert "STAND-IN DATA (mirror-subset)" in shown[0].data["text/html"]
    assert "STAND-IN DATA" in result.html.read_text(encoding="utf-8")

    md, js = report.write_summary([result], out)
    summary = md.read_text(encoding="utf-8")
    assert "1 ran on stand-in data" in summary and "## Labs that ran on stand-in data" in summary
    assert "**c0w1_lab_stand_in** (passed): toy as `mirror-subset` (part.csv)" in summary
    assert FULL_URL in summary
    [record] = json.loads(js.read_text(encoding="utf-8"))
    assert record["stand_ins"] == result.stand_ins

    page = site.write_site(out).read_text(encoding="utf-8")
    assert "1 lab(s) ran on stand-in data" in page and FULL_URL in page
    assert '<a href="#c0w1_lab_stand_in">' in page


@pytest.mark.notebook
def test_required_official_data_fails_the_fetch_cell(stand_in_lab, tmp_path):
    result = runner.run_lab(stand_in_lab, output_dir=tmp_path / "out", quick=False, html=False)
    strict = runner.run_lab(
        stand_in_lab, output_dir=tmp_path / "strict", quick=False, html=False, require_official=True
    )
    assert result.passed
    assert strict.status == "failed" and strict.cell_index == 2  # the fetch cell
    assert strict.error.startswith("DataNotAvailableError") and "table.csv" in strict.error
    assert not (tmp_path / "strict" / stand_in_lab.name / "results.json").exists()


@pytest.mark.notebook
def test_required_official_data_checks_results_json_afterwards(tmp_path, toy_data):
    (toy_data / "toy" / "table.csv").write_bytes(FULL)  # the full file is reachable now
    lab = tiny_lab(tmp_path / "nbs", "c0w1_lab_mislabelled", FETCH_FULL, write_results("synthetic"))
    result = runner.run_lab(lab, output_dir=tmp_path / "out", quick=False, html=False)
    strict = runner.run_lab(
        lab, output_dir=tmp_path / "strict", quick=False, html=False, require_official=True
    )
    assert result.passed and [s["dataset"] for s in result.stand_ins] == ["toy"]
    assert strict.status == "failed" and strict.cell_index is None
    assert strict.error.startswith("official data required (--require-official-data)")
    assert "'synthetic'" in strict.error and "labs data fetch toy" in strict.error


@pytest.mark.notebook
@pytest.mark.parametrize(
    ("name", "quick", "code"),
    [
        ("c0w1_lab_inline", False, ()),  # the lesson's own rows: nothing stands in for a file
        ("c0w1_lab_sampled", True, (FETCH_SUBSET,)),  # quick mode's chosen subset
    ],
)
def test_data_that_replaces_no_official_file_is_no_stand_in(tmp_path, toy_data, name, quick, code):
    source = "synthetic" if not code else "mirror-subset"
    lab = tiny_lab(tmp_path / "nbs", name, *code, write_results(source))
    strict = runner.run_lab(lab, output_dir=tmp_path / "out", quick=quick, html=False, require_official=True)
    assert strict.status == "passed" and strict.data_source == source and strict.stand_ins == []


@pytest.mark.notebook
def test_cli_lists_stand_ins_at_the_end_and_the_flag_fails_them(stand_in_lab, tmp_path, capsys):
    base = ["run", "stand_in", "--notebooks", str(stand_in_lab.path.parent), "--no-html", "--output"]
    assert cli.main([*base, str(tmp_path / "out")]) == 0
    stdout = capsys.readouterr().out.rstrip()
    tail = stdout[stdout.index("Run site:") :]
    assert "## Labs that ran on stand-in data" in tail and FULL_URL in tail
    assert stdout.splitlines()[-1].strip().startswith("- or copy the file to")

    assert cli.main([*base, str(tmp_path / "strict"), "--require-official-data"]) == 1
    stdout = capsys.readouterr().out
    assert "official data required" in stdout and "0 of 1 labs passed" in stdout
    [record] = json.loads((tmp_path / "strict" / "summary.json").read_text())
    assert record["status"] == "failed" and "LABS_REQUIRE_OFFICIAL_DATA" in record["error"]


def test_make_labs_strict_data_passes_the_flag(repo_root):
    import subprocess

    dry = subprocess.run(
        ["make", "-n", "-o", "data", "labs", "STRICT_DATA=1"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--require-official-data" in dry
    plain = subprocess.run(
        ["make", "-n", "-o", "data", "labs"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout
    assert "--require-official-data" not in plain
