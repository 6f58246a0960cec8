"""Write environment.yml from requirements.lock so conda users get the same pins."""

from pathlib import Path

__all__ = ["locked_requirements", "render"]

ROOT = Path(__file__).resolve().parents[1]


def locked_requirements(lock_lines: list[str]) -> list[tuple[str, list[str]]]:
    """Return (``name==version``, [sha256 hashes]) per entry of a hashed pip requirements file."""
    entries: list[tuple[str, list[str]]] = []
    for raw in lock_lines:
        line = raw.split("#", 1)[0].strip().rstrip("\\").strip()
        if not line:
            continue
        if line.startswith("--hash="):
            if not entries:
                raise ValueError(f"requirements.lock: hash line {raw.strip()!r} before any requirement")
            entries[-1][1].append(line.removeprefix("--hash=").removeprefix("sha256:"))
            continue
        requirement, *options = line.split()
        entries.append((requirement, [o.removeprefix("--hash=sha256:") for o in options]))
    return entries


def render(lock_lines: list[str]) -> str:
    """Render an environment.yml body for the given lock lines (pins only: conda takes no hashes)."""
    pins = [requirement for requirement, _ in locked_requirements(lock_lines)]
    body = [
        "# Generated from requirements.lock by tools/write_environment_yml.py (make lock). Do not edit.",
        "name: mlops-data-labs",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        "  - python=3.11",
        "  - pip",
        "  - pip:",
        *[f"      - {p}" for p in pins],
        "      - -e .",
    ]
    return "\n".join(body) + "\n"


if __name__ == "__main__":
    lock = (ROOT / "requirements.lock").read_text().splitlines()
    (ROOT / "environment.yml").write_text(render(lock))
    print("wrote environment.yml")
