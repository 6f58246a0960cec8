"""Benchmark tf.Transform on Census: instance dicts vs record batches, fixed overhead, knobs.

Run ``python tools/bench_transform.py`` (all variants) or pick some with ``--variants``. Each variant
runs in a fresh Python process, so TF tracing and import caches never leak from one row into the
next; the table reports the transform call alone (data loading and imports excluded).

The workload is the census lab's: 5 features scaled to [0, 1], age in 4 buckets and 9 vocabularies
(8 categoricals and the label), written out as gzip TFRecords of transformed tf.Examples.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The shared dataset mirror next to the checkout, used when LABS_DATA_MIRROR is not set.
SHARED_MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]

# name: (what it measures, settings for run_variant)
VARIANTS: dict[str, tuple[str, dict]] = {
    "dicts": ("instance dicts in and out (course style)", {"feed": "dicts"}),
    "batches": ("record batches via TFXIO (`transform.transform_data`)", {"feed": "batches"}),
    "dicts-100": ("instance dicts, 100 rows (fixed overhead)", {"feed": "dicts", "rows": 100}),
    "batches-100": ("record batches, 100 rows (fixed overhead)", {"rows": 100}),
    "batches-rerun": ("record batches, 2nd run in the same process", {"repeat": 2}),
    "batches-cache": (
        "record batches with an analyzer cache, 2nd run hits it",
        {"repeat": 2, "cache": True},
    ),
    "batches-csv": ("record batches from a CSV file (CsvTFXIO)", {"feed": "csv"}),
    "batches-materialize": ("record batches + DataFrame of results", {"materialize": True}),
    "batches-cloudpickle": (
        "record batches, `--pickle_library=cloudpickle`",
        {"flags": ["--pickle_library=cloudpickle"]},
    ),
    "batches-100-cloudpickle": (
        "record batches, 100 rows, `--pickle_library=cloudpickle`",
        {"rows": 100, "flags": ["--pickle_library=cloudpickle"]},
    ),
    "batches-no-typecheck": (
        "record batches, `--no_pipeline_type_check`",
        {"flags": ["--no_pipeline_type_check"]},
    ),
    "batches-mp2": ("record batches, multi_processing, 2 workers", {"flags": MULTI_PROCESSING}),
    "batches-bs100": ("record batches, batch_size=100", {"batch_size": 100}),
    "batches-bs10000": ("record batches, batch_size=10000", {"batch_size": 10_000}),
    "batches-deepcopy": (
        "record batches, `use_deep_copy_optimization=True`",
        {"context": {"use_deep_copy_optimization": True}},
    ),
    "batches-compat-v1": (
        "record batches, `force_tf_compat_v1=True`",
        {"context": {"force_tf_compat_v1": True}},
    ),
}


def load_census():
    """Return the census DataFrame (cache → LABS_DATA_MIRROR → the shared mirror → official)."""
    from labs_utils import datasets

    try:
        return datasets.load_census_adult(progress=False)
    except datasets.DataNotAvailableError:
        if not SHARED_MIRROR.is_dir():
            raise
        return datasets.load_census_adult(mirror=str(SHARED_MIRROR), progress=False)


def preprocessing_fn(inputs):
    """Scale 5 numeric features, bucketize age and integerize 9 string features."""
    import tensorflow_transform as tft

    from labs_utils import datasets

    outputs = {f"{name}_xf": tft.scale_to_0_1(inputs[name]) for name in datasets.CENSUS_NUMERIC_FEATURES}
    outputs["age_xf"] = tft.bucketize(inputs["age"], 4)
    for name in [*datasets.CENSUS_CATEGORICAL_FEATURES, datasets.CENSUS_LABEL]:
        outputs[f"{name}_xf"] = tft.compute_and_apply_vocabulary(inputs[name])
    return outputs


def run_instance_dicts(frame, output_dir: Path, flags: list[str]) -> None:
    """Run the course's way: instance dicts + DatasetMetadata in, instance dicts out."""
    import apache_beam as beam
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata

    from labs_utils import transform

    schema = transform.infer_raw_schema(frame)
    rows = frame.to_dict("records")
    options = transform.beam_pipeline_options(flags)
    with (
        beam.Pipeline(options=options) as pipeline,
        tft_beam.Context(temp_dir=str(output_dir / "tmp")),
    ):
        raw = pipeline | beam.Create(rows)
        metadata = dataset_metadata.DatasetMetadata(schema)
        transformed, transform_fn = (raw, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(output_dir / "transform_graph"))
        _ = (
            transformed
            | tft_beam.EncodeTransformedDataset()
            | beam.io.WriteToTFRecord(
                str(output_dir / "transformed_examples" / "part"), file_name_suffix=".gz"
            )
        )


def run_variant(settings: dict) -> dict:
    """Time one variant in this process and return its measurements."""
    started = time.perf_counter()
    import tensorflow_transform  # noqa: F401  (import cost reported apart)

    from labs_utils import transform

    import_s = time.perf_counter() - started
    frame = load_census()
    if "rows" in settings:
        frame = frame.head(settings["rows"])
    feed = settings.get("feed", "batches")
    flags = settings.get("flags", [])
    run_s, cpu_s = [], []
    with tempfile.TemporaryDirectory(prefix="bench_transform_") as tmp:
        data = frame
        if feed == "csv":
            data = Path(tmp) / "census.csv"
            frame.to_csv(data, index=False)
        for attempt in range(settings.get("repeat", 1)):
            out = Path(tmp) / f"run{attempt}"
            started, cpu = time.perf_counter(), _cpu_seconds()
            if feed == "dicts":
                run_instance_dicts(frame, out, flags)
            else:
                transform.transform_data(
                    preprocessing_fn,
                    data,
                    output_dir=out,
                    write_examples=True,
                    materialize=settings.get("materialize", False),
                    beam_pipeline_args=flags,
                    batch_size=settings.get("batch_size"),
                    tft_context=settings.get("context"),
                    cache_dir=Path(tmp) / "cache" if settings.get("cache") else None,
                )
            run_s.append(time.perf_counter() - started)
            cpu_s.append(_cpu_seconds() - cpu)
    return {"rows": len(frame), "import_s": import_s, "run_s": run_s, "cpu_s": cpu_s}


def _cpu_seconds() -> float:
    """Return CPU seconds used by this process and its finished children (Beam workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best_of(runs: list[dict]) -> dict:
    """Merge repeated runs of one variant: the minimum of each timing (the least disturbed run)."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[-1]
    merged = {"rows": good[0]["rows"], "repeats": len(good)}
    merged["import_s"] = min(r["import_s"] for r in good)
    for key in ("run_s", "cpu_s"):
        merged[key] = [min(times) for times in zip(*(r[key] for r in good), strict=True)]
    return merged


def markdown_table(results: dict[str, dict]) -> str:
    """Render the measurements as a markdown table, then the headline ratios."""
    lines = [
        "| variant | what | rows | wall (s) | CPU (s) | imports (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        if "error" in result:
            lines.append(f"| {name} | {VARIANTS[name][0]} | | failed: {result['error']} | | |")
            continue
        wall, cpu = (" → ".join(f"{t:.1f}" for t in result[key]) for key in ("run_s", "cpu_s"))
        lines.append(
            f"| {name} | {VARIANTS[name][0]} | {result['rows']:,} | {wall} | {cpu} | "
            f"{result['import_s']:.1f} |"
        )
    ok = {name: r for name, r in results.items() if "error" not in r}
    if {"dicts", "batches"} <= set(ok):
        ratio = ok["dicts"]["run_s"][0] / ok["batches"]["run_s"][0]
        lines.append(f"\nRecord batches vs instance dicts on the full file: {ratio:.1f}x faster (wall).")
    if {"batches", "batches-100"} <= set(ok):
        share = ok["batches-100"]["run_s"][0] / ok["batches"]["run_s"][0]
        lines.append(f"Fixed overhead (100 rows) is {share:.0%} of the full record-batch run (wall).")
    return "\n".join(lines)


def machine_line() -> str:
    """Describe the machine and how busy it was when the benchmark started."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load} at start; best of the repeats per cell."


def run_in_subprocess(name: str) -> dict:
    """Run one variant in a fresh interpreter and parse its JSON line."""
    env = {**os.environ, "TZ": "UTC", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", name],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:120]}
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the selected variants and print (and optionally save) the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS),
        help="variants to run (default: all)",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=1, help="runs per variant; the table keeps the best")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_variant(VARIANTS[args.worker][1])), flush=True)
        return 0
    header = machine_line()
    print(header, file=sys.stderr, flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in args.variants}
    for _ in range(args.repeats):  # interleave repeats so a busy spell hits every variant alike
        for name in args.variants:
            runs[name].append(run_in_subprocess(name))
            print(f"{name}: {runs[name][-1]}", file=sys.stderr, flush=True)
    results = {name: best_of(r) for name, r in runs.items()}
    table = header + "\n\n" + markdown_table(results)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n")
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
