"""Write environment.yml from requirements.lock so conda users get the same pins."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def render(lock_lines: list[str]) -> str:
    """Render an environment.yml body for the given pinned requirement lines."""
    pins = [ln.strip() for ln in lock_lines if ln.strip() and not ln.startswith("#")]
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
