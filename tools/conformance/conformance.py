"""Run the census pipeline through real TFX 1.16 and through labs_utils.pipeline; compare them.

``make conformance`` runs this with the project's Python 3.11. It builds (once) a scratch Python 3.10
venv under ``build/conformance-py310`` with ``tfx==1.16.0`` and the project's stack pins, runs
CSV -> ExampleGen -> StatisticsGen -> SchemaGen -> ExampleValidator -> Transform (the census
``preprocessing_fn``) through TFX's LocalDagRunner there and through ``labs_utils.pipeline`` here,
then compares split membership, schema, anomalies, every output artifact (type, properties,
parents), Transform's outputs and the transformed records. A second, small CSV with empty cells,
quotes and mixed types (``tests/fixtures/tfx_reference/rows.csv``) checks ExampleGen's reading.

Without a Python 3.10 (``PY310=/path/to/python3.10`` overrides the pyenv default) it prints a
"skipped" line and exits 0. Exit status 1 means a difference that is not a known, explained one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = ["compare", "find_python310", "main"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_PY310 = "/root/.pyenv/versions/3.10.13/bin/python"
VENV = REPO / "build" / "conformance-py310"
REFERENCE_CSV = REPO / "tests" / "fixtures" / "tfx_reference" / "rows.csv"
# Pins that cannot hold on Python 3.10: keras 3.15 needs 3.11, and TFMD 1.16.1 needs protobuf<4.21
# there. Everything else TF/TFDV/TFT/Beam/pandas/pyarrow/numpy is pinned as in requirements.lock.
STACK = (
    "apache-beam", "ml-metadata", "numpy", "pandas", "pyarrow", "tensorflow",
    "tensorflow-data-validation", "tensorflow-metadata", "tensorflow-serving-api",
    "tensorflow-transform", "tfx-bsl",
)  # fmt: skip


def find_python310() -> str | None:
    """Return a Python 3.10 interpreter path (``PY310`` or pyenv's), or None if there is none."""
    candidate = os.environ.get("PY310") or DEFAULT_PY310
    path = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
    if path is None:
        return None
    version = subprocess.run(
        [path, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    return path if version.stdout.strip() == "(3, 10)" else None


def _constraints() -> Path:
    """Write the stack pins of requirements.lock as a constraints file; return its path."""
    pins = []
    for line in (REPO / "requirements.lock").read_text().splitlines():
        name = line.split("==")[0].strip().lower()
        if name in STACK:
            pins.append(line.split()[0])  # the hashed lock continues each pin with " \" and --hash lines
    path = VENV.parent / "conformance-constraints.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(pins) + "\n")
    return path


def ensure_venv(python310: str) -> Path:
    """Return the reference venv's python, creating the venv with tfx==1.16.0 when needed."""
    stamp = VENV / ".installed"
    python = VENV / "bin" / "python"
    constraints = _constraints()
    if stamp.is_file() and stamp.read_text() == constraints.read_text():
        return python
    print(f"conformance: building the TFX 1.16 reference venv in {VENV} (several minutes, once)")
    subprocess.run([python310, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "uv"], check=True)
    subprocess.run(
        [str(VENV / "bin" / "uv"), "pip", "install", "--python", str(python), "--quiet",
         "tfx==1.16.0", "apache-beam[gcp]", "-c", str(constraints)],
        check=True,
    )  # fmt: skip
    stamp.write_text(constraints.read_text())
    return python


def _prepare_inputs(work: Path, rows: int | None, seed: int) -> dict[str, Path]:
    """Write the census CSV (all rows, or a seeded sample), the module files and the probe records."""
    import pandas as pd
    import tensorflow as tf

    from labs_utils import datasets, example_gen

    csv_dir = work / "census_csv"
    csv_dir.mkdir(parents=True)
    full = datasets.write_census_course_csv(work / "census_full.csv")
    census = csv_dir / "census.csv"
    if rows:
        table = pd.read_csv(full, dtype=str, keep_default_na=False)
        table.sample(n=rows, random_state=seed).sort_index().to_csv(census, index=False)
    else:
        shutil.copyfile(full, census)
    module_dir = work / "module"
    module_dir.mkdir()
    for name in ("census_constants.py", "census_transform.py"):
        shutil.copyfile(HERE / "census_module" / name, module_dir / name)
    probe = work / "probe.tfrecord"
    with tf.io.TFRecordWriter(str(probe)) as writer:
        for record in next(example_gen.csv_records([census]))[:3]:
            writer.write(record)
    edge_dir = work / "edge_csv"
    edge_dir.mkdir()
    shutil.copyfile(REFERENCE_CSV, edge_dir / REFERENCE_CSV.name)
    return {"csv": csv_dir, "module": module_dir / "census_transform.py", "probe": probe, "edge": edge_dir}


def _run(python: Path | str, script: str, out: Path, root: Path, csv_dir: Path, extra: list[str]) -> dict:
    command = [
        str(python),
        str(HERE / script),
        "--csv-dir",
        str(csv_dir),
        "--root",
        str(root),
        "--out",
        str(out),
    ]
    log = out.with_suffix(".log")
    with log.open("w") as stream:
        done = subprocess.run(
            command + extra, stdout=stream, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"}
        )
    if done.returncode != 0:
        raise SystemExit(f"conformance: {script} failed (exit {done.returncode}); see {log}")
    return json.loads(out.read_text())


# --- comparison -------------------------------------------------------------------------------


def _strip_analyzer_domains(features: dict[str, Any]) -> dict[str, Any]:
    """Drop int_domain min/max: TFX records the transformed schema before analyzers fill them."""
    out = {}
    for name, feature in features.items():
        tokens = feature["int_domain"].split()
        kept = [
            t
            for i, t in enumerate(tokens)
            if t not in ("min:", "max:") and tokens[i - 1 : i] not in (["min:"], ["max:"])
        ]
        out[name] = {**feature, "int_domain": " ".join(kept)}
    return out


def _unordered(value: Any) -> Any:
    """Return ``value`` with a ``split_names`` list sorted: TFX's Transform lists them in set order."""
    if isinstance(value, dict) and isinstance(value.get("split_names"), str):
        try:
            return {**value, "split_names": sorted(json.loads(value["split_names"]))}
        except ValueError:
            return value
    return value


def compare(tfx: dict[str, Any], ours: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (status, check, detail) rows: status is "same", "known" (explained) or "DIFF"."""
    rows: list[tuple[str, str, str]] = []

    def check(name: str, a: Any, b: Any, detail: str = "") -> None:
        rows.append(
            ("same" if a == b else "DIFF", name, detail or ("" if a == b else f"TFX {a!r} vs ours {b!r}"))
        )

    for split, data in tfx["splits"].items():
        mine = ours["splits"].get(split, {"size": 0, "keys": []})
        sizes = f"TFX {data['size']}, ours {mine['size']}"
        check(f"ExampleGen split {split}: same records", data["keys"], mine["keys"], sizes)
    check("schema (SchemaGen)", tfx.get("schema"), ours.get("schema"))
    check("anomalies (ExampleValidator)", tfx.get("anomalies"), ours.get("anomalies"))
    check("artifact types and properties", tfx["artifact_types"], ours["artifact_types"])
    check("artifact types without artifacts", tfx["unused_artifact_types"], ours["unused_artifact_types"])
    for component, outputs in sorted(tfx["components"].items()):
        check(f"{component}: output keys", sorted(outputs), sorted(ours["components"].get(component, {})))
        for key, artifact in sorted(outputs.items()):
            mine = ours["components"].get(component, {}).get(key)
            if mine is None:
                continue
            for field in ("type", "properties", "custom_properties", "parents"):
                check(f"{component}.{key}: {field}", _unordered(artifact[field]), _unordered(mine[field]))
            if key == "updated_analyzer_cache":
                same = len(artifact["files"]) == len(mine["files"])
                rows.append(
                    (
                        "known" if same else "DIFF",
                        f"{component}.{key}: files",
                        "cache entries are named by dataset key; TFX's key is its file pattern",
                    )
                )
            else:
                check(f"{component}.{key}: files", artifact["files"], mine["files"])
    if "transform" in tfx:
        a, b = tfx["transform"], ours.get("transform", {})
        for key in (
            "pre_transform_schema",
            "pre_transform_stats",
            "post_transform_stats",
            "post_transform_anomalies",
        ):
            check(f"Transform {key}", a.get(key), b.get(key))
        post_a, post_b = a.get("post_transform_schema"), b.get("post_transform_schema")
        if post_a != post_b and _strip_analyzer_domains(post_a) == _strip_analyzer_domains(post_b):
            rows.append(
                (
                    "known",
                    "Transform post_transform_schema",
                    "TFX writes it before analyzers fill int_domain min/max (TFX b/70392441); "
                    "ours is the graph's final schema",
                )
            )
        else:
            check("Transform post_transform_schema", post_a, post_b)
        for split, data in a["transformed"].items():
            mine = b.get("transformed", {}).get(split, {"size": 0, "keys": []})
            sizes = f"TFX {data['size']}, ours {mine['size']}"
            check(f"Transform split {split}: same transformed records", data["keys"], mine["keys"], sizes)
        check(
            "Transform graph on the probe records (first transformed records)", a.get("probe"), b.get("probe")
        )
    return rows


def _report(title: str, rows: list[tuple[str, str, str]]) -> list[str]:
    lines = [f"## {title}", "", "| result | check | detail |", "| --- | --- | --- |"]
    lines += [f"| {status} | {name} | {detail.replace('|', '/')[:300]} |" for status, name, detail in rows]
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    """Run both pipelines and print the comparison; return the exit status."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=None, help="census rows to sample (default: all 32,561)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the census sample")
    parser.add_argument(
        "--output", default=str(REPO / "build" / "conformance"), help="work and report folder"
    )
    args = parser.parse_args(argv)

    python310 = find_python310()
    if python310 is None:
        where = os.environ.get("PY310") or DEFAULT_PY310
        print(
            f"conformance: skipped: no Python 3.10 at {where} "
            "(set PY310=/path/to/python3.10 to compare with TFX)"
        )
        return 0
    reference_python = ensure_venv(python310)
    work = Path(args.output)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    inputs = _prepare_inputs(work, args.rows, args.seed)
    census_args = ["--module-file", str(inputs["module"]), "--probe", str(inputs["probe"])]
    results = {}
    for name, csv_dir, extra in (
        ("census", inputs["csv"], census_args),
        ("reference_csv", inputs["edge"], []),
    ):
        print(f"conformance: {name}: running TFX 1.16 (LocalDagRunner) ...", flush=True)
        tfx = _run(
            reference_python, "run_tfx.py", work / f"{name}_tfx.json", work / f"{name}_tfx", csv_dir, extra
        )
        print(f"conformance: {name}: running labs_utils.pipeline ...", flush=True)
        ours = _run(
            sys.executable, "run_labs.py", work / f"{name}_labs.json", work / f"{name}_labs", csv_dir, extra
        )
        results[name] = (tfx, ours, compare(tfx, ours))
    lines = ["# Conformance: labs_utils.pipeline vs TFX 1.16.0", ""]
    for name, (tfx, ours, rows) in results.items():
        lines.append(f"{name}: TFX {tfx['seconds']} s, labs_utils {ours['seconds']} s (wall, this machine)")
        lines.append("")
        lines += _report(name, rows)
    report = "\n".join(lines)
    (work / "report.md").write_text(report)
    summary = {name: [list(r) for r in rows] for name, (_, _, rows) in results.items()}
    (work / "report.json").write_text(json.dumps(summary, indent=1))
    print(report)
    diffs = [r for _, _, rows in results.values() for r in rows if r[0] == "DIFF"]
    print(f"conformance: {len(diffs)} unexplained difference(s); report in {work / 'report.md'}")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
