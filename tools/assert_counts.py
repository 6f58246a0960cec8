"""Count assert lines in each lab's lesson sections versus its "Check this run" section.

Usage: `.venv/bin/python tools/assert_counts.py [--rev GIT_REV]` prints a markdown table per lab:
assert lines before the first "Check this run" heading (the lesson), and from it on. With `--rev`
the notebooks are read from that git revision as well and shown side by side (before / after).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_HEADING = re.compile(r"^#+\s*Check this run", re.IGNORECASE | re.MULTILINE)
ASSERT_LINE = re.compile(r"^\s*assert\b", re.MULTILINE)


def count_asserts(notebook: dict) -> tuple[int, int]:
    """Return (assert lines in the lesson, assert lines in and after "Check this run")."""
    lesson = checks = 0
    in_checks = False
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown" and CHECK_HEADING.search(text):
            in_checks = True
        if cell["cell_type"] != "code":
            continue
        found = len(ASSERT_LINE.findall(text))
        if in_checks:
            checks += found
        else:
            lesson += found
    return lesson, checks


def notebooks_at(rev: str | None) -> dict[str, dict]:
    """Return the lab notebooks by name, from the working tree or from a git revision."""
    if rev is None:
        return {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, "notebooks/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found = {}
    for path in listed:
        if path.endswith(".ipynb"):
            blob = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True, check=True)
            found[Path(path).stem] = json.loads(blob.stdout)
    return found


def main() -> int:
    """Print the table; 0 always (a measurement, not a check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="git revision to compare against (e.g. 30c5754)")
    args = parser.parse_args()
    now = {name: count_asserts(nb) for name, nb in notebooks_at(None).items()}
    before = {name: count_asserts(nb) for name, nb in notebooks_at(args.rev).items()} if args.rev else {}
    head = "| lab | lesson asserts | check-section asserts |"
    if args.rev:
        head = f"| lab | lesson asserts at {args.rev} | lesson asserts now | check-section asserts now |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for name, (lesson, checks) in now.items():
        if args.rev:
            old = before.get(name)
            old_shown = "new lab" if old is None else str(old[0])
            print(f"| {name} | {old_shown} | {lesson} | {checks} |")
        else:
            print(f"| {name} | {lesson} | {checks} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
