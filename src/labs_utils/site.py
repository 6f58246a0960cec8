"""An offline web page of a lab run: `<run>/index.html`, one card per lab.

Reads only what a run leaves on disk: `summary.json`, each lab's `results.json` and the first cell of
its executed notebook (title and "What you will learn"). No CDN, no JavaScript: it opens straight from
the file system.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["LabCard", "data_label", "headline_results", "lab_cards", "render_index", "write_site"]

# data_source value -> (short tag, what a reader should understand)
DATA_LABELS = {
    "official": ("full", "full data, from the official source"),
    "mirror": ("full", "full data, from the offline mirror"),
    "mirror-subset": ("subset", "a subset of the official data"),
    "lossy": ("lossy", "a lossy copy of the official data"),
    "synthetic": ("synthetic", "synthetic data, not the real dataset"),
}
# results.json keys that describe the run rather than what the lab found
BOOKKEEPING = {"lab", "quick", "mode", "data_source", "seed", "lossy", "headline"}
HEADLINES = 3


@dataclass
class LabCard:
    """What the index shows for one lab; links are relative to the run folder."""

    lab: str
    title: str
    status: str
    seconds: float | None = None
    peak_mb: float | None = None
    data_source: str = "-"
    lossy: bool = False
    learn: list[str] = field(default_factory=list)
    headline: list[tuple[str, str]] = field(default_factory=list)
    html: str | None = None
    notebook: str | None = None
    failed_cell: str | None = None
    error: str | None = None
    stand_ins: list[dict[str, Any]] = field(default_factory=list)


def data_label(data_source: str, lossy: bool = False) -> tuple[str, str]:
    """Return (tag, plain description) for a lab's data source: full / subset / lossy / synthetic."""
    if lossy:
        return DATA_LABELS["lossy"]
    key = str(data_source).split()[0] if str(data_source).strip() else "-"
    unknown = ("unknown", "data source not recorded" + ("" if key == "-" else f" ({data_source})"))
    tag, text = DATA_LABELS.get(key, unknown)
    if "unverified" in str(data_source) or "first-use" in str(data_source):
        text += "; first download, not yet verified against a published checksum"
    return tag, text


def headline_results(results: Mapping[str, Any] | None, limit: int = HEADLINES) -> list[tuple[str, str]]:
    """Return up to `limit` (label, value) pairs from a lab's results.json.

    A `headline` entry (a list of keys, or a mapping of label to value) wins; otherwise the first
    scalar results and small flat mappings (e.g. split sizes) are shown, run bookkeeping skipped.
    """
    if not results:
        return []
    chosen = results.get("headline")
    if isinstance(chosen, Mapping):
        return [(str(k), _shown(v)) for k, v in list(chosen.items())[:limit]]
    if isinstance(chosen, list):
        return [(_label(k), _shown(results[k])) for k in chosen if k in results][:limit]
    pairs = []
    for key, value in results.items():
        if key in BOOKKEEPING or not (_is_scalar(value) or _is_small_mapping(value)):
            continue
        pairs.append((_label(key), _shown(value)))
        if len(pairs) == limit:
            break
    return pairs


def _is_scalar(value: Any) -> bool:
    """Tell whether a JSON value is a number, string or boolean."""
    return isinstance(value, (int, float, str, bool)) and not (isinstance(value, str) and len(value) > 80)


def _is_small_mapping(value: Any) -> bool:
    """Tell whether a JSON value is a mapping of at most four scalars."""
    return isinstance(value, Mapping) and 0 < len(value) <= 4 and all(_is_scalar(v) for v in value.values())


def _label(key: str) -> str:
    """Turn a results.json key into a label: `eval_size_after_cleaning` -> `eval size after cleaning`."""
    return str(key).replace("_", " ")


def _shown(value: Any) -> str:
    """Format a result for a card: thousands separators, four significant digits, short lists."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        text = ", ".join(_shown(v) for v in value[:4])
        return text + (", …" if len(value) > 4 else "")
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def read_intro(notebook: Path) -> tuple[str, list[str]]:
    """Return the H1 title and the "What you will learn" bullets of a notebook's first markdown cell."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return "", []
    first = next((c for c in cells if c.get("cell_type") == "markdown"), None)
    if first is None:
        return "", []
    source = first.get("source", "")
    text = "".join(source) if isinstance(source, list) else source
    title = re.search(r"^#\s+(.+?)\s*$", text, re.MULTILINE)
    return (title.group(1) if title else ""), _learn_bullets(text)


def _learn_bullets(markdown: str) -> list[str]:
    """Return the bullets following a "What you will learn" line, continuation lines joined."""
    lines = markdown.splitlines()
    start = next((i for i, ln in enumerate(lines) if "what you will learn" in ln.lower()), None)
    if start is None:
        return []
    bullets: list[str] = []
    for line in lines[start + 1 :]:
        if re.match(r"^\s*[-*]\s+", line):
            bullets.append(re.sub(r"^\s*[-*]\s+", "", line).strip())
        elif bullets and line.startswith((" ", "\t")) and line.strip():
            bullets[-1] += " " + line.strip()
        elif bullets or line.strip():
            break
    return [b.rstrip(";.") for b in bullets]


def _read_json(path: Path) -> Any:
    """Load a JSON file, or None if it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_summary(run_dir: Path) -> list[dict[str, Any]]:
    """Load the run's summary.json records; a clear error names the file and the fix."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; run labs into this folder first (labs run --output {run_dir})"
        )
    records = _read_json(path)
    if not isinstance(records, list) or not all(isinstance(r, dict) and "lab" in r for r in records):
        raise ValueError(f"{path} is not a lab run summary (a list of records with a 'lab'); rerun the labs")
    return records


def _failed_cell(record: Mapping[str, Any]) -> str | None:
    """Describe where a failed lab stopped: cell number, its first line and the raising line."""
    if record.get("cell_index") is None:
        return None
    text = f"cell {record['cell_index']}: {record.get('cell_source') or ''}".strip()
    line = record.get("cell_line")
    return f"{text} (line {line})" if line and not str(line).startswith("1: ") else text


def lab_cards(run_dir: str | Path) -> list[LabCard]:
    """Return one card per lab of the run in `run_dir`, in the summary's order."""
    run_dir = Path(run_dir)
    cards = []
    for record in _read_summary(run_dir):
        lab = str(record["lab"])
        results = _read_json(run_dir / lab / "results.json")
        results = results if isinstance(results, dict) else None
        notebook = record.get("notebook")
        title, learn = read_intro(run_dir / notebook) if notebook else ("", [])
        cards.append(
            LabCard(
                lab=lab,
                title=title or lab,
                status=str(record.get("status", "unknown")),
                seconds=record.get("seconds"),
                peak_mb=record.get("peak_rss_mb"),
                data_source=str((results or {}).get("data_source", record.get("data_source", "-"))),
                lossy=bool((results or {}).get("lossy", False)),
                learn=learn,
                headline=headline_results(results),
                html=record.get("html"),
                notebook=notebook,
                failed_cell=_failed_cell(record),
                error=record.get("error"),
                stand_ins=[s for s in record.get("stand_ins") or [] if isinstance(s, dict)],
            )
        )
    return cards


STYLE = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --ok: #1a7f37; --bad: #cf222e;
        --warn: #9a6700; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       background: var(--bg); }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta a { color: inherit; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
        display: flex; flex-direction: column; gap: 8px; }
.card.failed, .card.timeout { border-color: var(--bad); }
.card h2 { font-size: 1.05rem; margin: 0; }
.lab { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; color: var(--muted); }
.facts { display: flex; flex-wrap: wrap; gap: 6px; margin: 0; padding: 0; list-style: none; }
.facts li { background: var(--bg); border: 1px solid var(--line); border-radius: 999px; padding: 0 10px;
            font-size: 13px; }
.status-passed { color: var(--ok); font-weight: 600; }
.status-failed, .status-timeout { color: var(--bad); font-weight: 600; }
.data-full { } .data-subset, .data-lossy { color: var(--warn); font-weight: 600; }
.data-synthetic, .data-unknown { color: var(--bad); font-weight: 600; }
.learn { margin: 0; padding-left: 18px; color: var(--muted); font-size: 14px; }
table.results { border-collapse: collapse; font-size: 14px; width: 100%; }
table.results th { text-align: left; font-weight: normal; color: var(--muted); padding: 2px 8px 2px 0;
                   vertical-align: top; width: 45%; }
table.results td { padding: 2px 0; font-variant-numeric: tabular-nums; }
.error { background: #ffebe9; border: 1px solid #ffcecb; border-radius: 6px; padding: 8px 10px;
         font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap;
         overflow-wrap: anywhere; margin: 0; }
.standin { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 10px;
           font-size: 13.5px; }
.standin ul { margin: 4px 0 0; padding-left: 18px; }
.standins { background: #fff8c5; border: 2px solid #d4a72c; border-radius: 8px; padding: 10px 16px;
            margin: 0 0 16px; }
.standins h2 { font-size: 1.1rem; margin: 0 0 4px; }
.standins ul { margin: 4px 0; }
.links { margin-top: auto; display: flex; gap: 16px; font-size: 14px; }
footer { color: var(--muted); font-size: 13px; padding: 24px; }
"""


def _esc(value: Any) -> str:
    """Escape a value for HTML text or attributes."""
    return html.escape(str(value), quote=True)


def _card_html(card: LabCard) -> str:
    """Render one lab card."""
    tag, data_text = data_label(card.data_source, card.lossy)
    facts = [f'<li class="status-{_esc(card.status)}">{_esc(card.status)}</li>']
    if card.seconds is not None:
        facts.append(f"<li>{float(card.seconds):.1f} s</li>")
    if card.peak_mb is not None:
        facts.append(f"<li>peak {float(card.peak_mb):,.0f} MiB</li>")
    facts.append(
        f'<li class="data-{tag}" title="data_source: {_esc(card.data_source)}">{_esc(data_text)}</li>'
    )
    parts = [
        f'<article class="card {_esc(card.status)}" id="{_esc(card.lab)}">',
        f"<h2>{_esc(card.title)}</h2>",
        f'<div class="lab">{_esc(card.lab)}</div>',
        f'<ul class="facts">{"".join(facts)}</ul>',
    ]
    if card.learn:
        parts.append('<ul class="learn">' + "".join(f"<li>{_esc(b)}</li>" for b in card.learn) + "</ul>")
    if card.headline:
        rows = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in card.headline)
        parts.append(f'<table class="results">{rows}</table>')
    if card.stand_ins:
        parts.append(_stand_in_html(card.stand_ins, "standin"))
    if card.status != "passed":
        where = f"{card.failed_cell}\n" if card.failed_cell else ""
        parts.append(f'<pre class="error">{_esc(where + (card.error or "no error recorded"))}</pre>')
    links = []
    if card.html:
        links.append(f'<a href="{_esc(_href(card.html))}">executed notebook (HTML)</a>')
    if card.notebook:
        links.append(f'<a href="{_esc(_href(card.notebook))}">notebook (.ipynb)</a>')
    parts.append(f'<div class="links">{"".join(links)}</div></article>')
    return "\n".join(parts)


def _stand_in_html(stand_ins: Sequence[Mapping[str, Any]], css: str) -> str:
    """Render which stand-ins a lab ran on and the steps to each official file."""
    items = []
    for item in stand_ins:
        files = ", ".join(str(f) for f in item.get("files", []))
        steps = "".join(f"<li>{_esc(step)}</li>" for step in item.get("how_to_get", []))
        items.append(
            f"<b>Stand-in data</b>: {_esc(item.get('dataset', ''))} as "
            f"<code>{_esc(item.get('data_source', ''))}</code> ({_esc(files)}). To run on the "
            f"official data:<ul>{steps}</ul>"
        )
    return f'<div class="{css}">{"".join(items)}</div>'


def _stand_ins_notice(cards: Sequence[LabCard]) -> str:
    """Render the page-top notice listing the labs that ran on stand-in data (empty if none)."""
    labs = [card for card in cards if card.stand_ins]
    if not labs:
        return ""
    rows = []
    for card in labs:
        used = ", ".join(f"{s.get('dataset', '')} ({s.get('data_source', '')})" for s in card.stand_ins)
        fetch = " ".join(str(s.get("dataset", "")) for s in card.stand_ins)
        rows.append(
            f'<li><a href="#{_esc(card.lab)}">{_esc(card.lab)}</a>: {_esc(used)}; official files: '
            f"<code>labs data fetch {_esc(fetch)}</code> with network access or LABS_DATA_MIRROR</li>"
        )
    return (
        f'<section class="standins"><h2>{len(labs)} lab(s) ran on stand-in data</h2>'
        "The official files were out of reach, so these labs ran on the best data that was, "
        f"labelled; each card says which and how to get the official file.<ul>{''.join(rows)}</ul>"
        "<code>labs run --require-official-data</code> fails them instead.</section>"
    )


def _href(path: str) -> str:
    """Turn a relative file path into a URL path (forward slashes, spaces escaped)."""
    return "/".join(part.replace(" ", "%20") for part in Path(path).parts)


def render_index(cards: Sequence[LabCard], *, mode: str, docs_href: str | None, written: str) -> str:
    """Return the index page's HTML for the given cards."""
    passed = sum(card.status == "passed" for card in cards)
    total_s = sum(float(card.seconds or 0) for card in cards)
    docs = (
        f'<a href="{_esc(docs_href)}">API reference of labs_utils</a>'
        if docs_href
        else "API reference: run <code>make docs</code>"
    )
    body = "\n".join(_card_html(card) for card in cards)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab run ({_esc(mode)}): {passed} of {len(cards)} passed</title>
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>Machine Learning Data Lifecycle in Production: lab run</h1>
<p class="meta">{_esc(mode)} mode · {passed} of {len(cards)} labs passed · {total_s:,.0f} s of lab time ·
written {_esc(written)} · {docs}</p>
</header>
<main>
{_stand_ins_notice(cards)}
<div class="grid">
{body}
</div>
</main>
<footer>Each card links the executed notebook exported to HTML and the executed .ipynb; numbers come from
the lab's own <code>results.json</code>. "Full data" means the complete official files; subsets, lossy
copies and synthetic stand-ins are named as such.</footer>
</body>
</html>
"""


def write_site(run_dir: str | Path, docs_dir: str | Path | None = None) -> Path:
    """Write `<run_dir>/index.html` from the run's files; return its path.

    `docs_dir` holds the API reference (default: `runs/docs` beside the run folder); the index
    links it when its index.html exists.
    """
    run_dir = Path(run_dir)
    cards = lab_cards(run_dir)
    records = _read_summary(run_dir)
    quick = {bool(r.get("quick")) for r in records}
    mode = "quick" if quick == {True} else "full" if quick == {False} else "mixed"
    docs = Path(docs_dir) if docs_dir is not None else run_dir.resolve().parent / "docs"
    docs_href = (
        _href(os.path.relpath(docs / "index.html", run_dir.resolve()))
        if (docs / "index.html").is_file()
        else None
    )
    stamp = datetime.fromtimestamp((run_dir / "summary.json").stat().st_mtime, tz=UTC)
    page = render_index(cards, mode=mode, docs_href=docs_href, written=stamp.strftime("%Y-%m-%d %H:%M UTC"))
    index = run_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
