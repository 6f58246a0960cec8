"""Benchmark building the environment: pip path vs uv path, cold and warm caches, side by side.

Each row runs ``tools/envsetup.sh`` into a fresh environment under ``build/bench-setup/``. "cold"
starts from an empty cache folder of its own (UV_CACHE_DIR / PIP_CACHE_DIR, and an empty ENV_TOOLS
so the uv row includes bootstrapping uv when it is not on PATH); "warm" repeats into another fresh
environment with the cache the cold row filled. The machine's own caches are never touched.

pip runs with the machine's pip configuration switched off (PIP_CONFIG_FILE=/dev/null, no local
find-links or extra indexes) so both installers fetch from the same place, PyPI, as a fresh machine
would. ``--keep-pip-config`` measures pip as this machine is configured instead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main", "render", "run_row"]

ROOT = Path(__file__).resolve().parents[1]
ROWS = [("pip", "cold"), ("pip", "warm"), ("uv", "cold"), ("uv", "warm")]
PIP_LOCAL_SOURCES = ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_INDEX_URL", "PIP_CONSTRAINT")


def base_python() -> str:
    """Return the interpreter this venv was made from, so both paths build on the same Python."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate if candidate.exists() else sys.executable)


def run_row(installer: str, cache: str, work: Path, python: str, keep_pip_config: bool) -> dict:
    """Build one fresh environment with `installer`; return its timing and envsetup's summary line."""
    cache_dir = work / f"cache-{installer}"
    tools = work / f"tools-{installer}"
    if cache == "cold":
        for path in (cache_dir, tools):
            shutil.rmtree(path, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv = work / f"{installer}-{cache}" / ".venv"
    shutil.rmtree(venv.parent, ignore_errors=True)
    env = {
        **os.environ,
        "ENV_INSTALLER": installer,
        "PYTHON": python,
        "VENV": str(venv),
        "ENV_TOOLS": str(tools),
        "UV_CACHE_DIR": str(cache_dir),
        "PIP_CACHE_DIR": str(cache_dir),
    }
    if installer == "pip" and not keep_pip_config:
        env["PIP_CONFIG_FILE"] = os.devnull
        for name in PIP_LOCAL_SOURCES:
            env.pop(name, None)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(["sh", "tools/envsetup.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{installer} {cache}: tools/envsetup.sh failed:\n{done.stdout}{done.stderr}")
    line = done.stdout.strip().splitlines()[-1]
    shutil.rmtree(venv.parent, ignore_errors=True)
    return {"installer": installer, "cache": cache, "seconds": round(seconds, 1), "load": load, "line": line}


def render(rows: list[dict], note: str) -> str:
    """Return the Markdown report: one row per (installer, cache) plus the speed-up per cache state."""
    out = [
        "## Building the environment (`tools/bench_setup.py`)",
        "",
        note,
        "",
        "| installer | caches | seconds | 1-min load before | what envsetup.sh said |",
        "| --- | --- | ---: | ---: | --- |",
    ]
    for r in rows:
        cells = [r["installer"], r["cache"], f"{r['seconds']:.1f}", f"{r['load']:.1f}", r["line"]]
        out.append("| " + " | ".join(cells) + " |")
    by = {(r["installer"], r["cache"]): r["seconds"] for r in rows}
    for cache in ("cold", "warm"):
        if ("pip", cache) in by and ("uv", cache) in by:
            ratio = by[("pip", cache)] / by[("uv", cache)]
            out.append(f"\n{cache}: uv is {ratio:.1f}x faster than pip.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the rows and write the Markdown report and its JSON beside it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "runs" / "bench" / "setup.md")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-setup")
    parser.add_argument("--python", default=base_python(), help="interpreter both paths build on")
    parser.add_argument("--rows", nargs="+", default=[f"{i}-{c}" for i, c in ROWS])
    parser.add_argument("--keep-pip-config", action="store_true", help="let pip use this machine's config")
    args = parser.parse_args(argv)
    rows = []
    for name in args.rows:
        installer, cache = name.split("-")
        rows.append(run_row(installer, cache, args.work, args.python, args.keep_pip_config))
        print(f"{name}: {rows[-1]['seconds']:.1f} s", flush=True)
    pip_source = "this machine's pip config" if args.keep_pip_config else "PyPI only (machine pip config off)"
    note = (
        f"Fresh `.venv` from requirements.lock (hashes checked) plus the editable project, on "
        f"{args.python} ({sys.version.split()[0]}); pip fetched from {pip_source}. "
        f"{os.cpu_count()} cores shared with other work: the load column shows how busy the machine was."
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(rows, note))
    args.output.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
