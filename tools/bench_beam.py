"""Benchmark where Beam runs: the fixed cost of one tf.Transform pipeline and its per-row throughput.

Run by `make bench`: ``python tools/bench_beam.py --output runs/bench/beam.md``. The workload is
``tools/bench_transform.py``'s census transform (5 scaled features, age buckets, 9 vocabularies,
gzip TFRecords out). Each runner gets a fresh Python process that runs the transform once cold
(imports, first graph trace; reported, not fitted), then warm at each of ``--sizes`` rows (the
census file repeated as often as needed). A least-squares line through (rows, wall seconds),
``wall = fixed + rows / throughput``, splits each runner's time into the fixed cost of one
pipeline (its intercept) and its per-row throughput (one over its slope); with three or more sizes
the largest residual shows how well a line fits. Portable runs also report how long the job
service and worker pool took to start. The load average before and after each runner is printed:
on a shared machine, numbers taken under different load do not compare.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
DEFAULT_SIZES = (1_000, 40_000, 130_000)
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
RUNNERS = {
    "in_process": "DirectRunner, in_memory (the default)",
    "multi_processing_2": "DirectRunner, multi_processing, 2 worker processes",
    "portable_1": "PortableRunner, external worker pool, 1 SDK worker",
    "portable_2": "PortableRunner, external worker pool, 2 SDK workers",
}


def measure(runner: str, sizes: list[int]) -> dict:
    """Run the transform cold, then at each size, for one runner in this process; return the timings."""
    import bench_transform
    import pandas as pd

    from labs_utils import scaling, transform

    census = bench_transform.load_census()
    copies = -(-max(sizes) // len(census))  # ceiling division
    frame = pd.concat([census] * copies, ignore_index=True)
    result: dict = {"sizes": sizes, "load_before": os.getloadavg()[0]}
    cluster = None
    if runner.startswith("portable"):
        started = time.perf_counter()
        cluster = scaling.PortableCluster(pythonpath=[TOOLS])
        cluster.start()
        result["cluster_start_s"] = time.perf_counter() - started
    try:
        if cluster is not None:
            args = cluster.pipeline_args(workers=int(runner[-1]))
        else:
            args = MULTI_PROCESSING if runner == "multi_processing_2" else []
        with tempfile.TemporaryDirectory(prefix="bench_beam_") as tmp:
            seconds = []
            for index, rows in enumerate([min(sizes), *sizes]):
                started = time.perf_counter()
                transform.transform_data(
                    bench_transform.preprocessing_fn,
                    frame.head(rows),
                    output_dir=Path(tmp) / str(index),
                    write_examples=True,
                    materialize=False,
                    beam_pipeline_args=args,
                )
                seconds.append(time.perf_counter() - started)
    finally:
        if cluster is not None:
            cluster.stop()
    result["cold_s"], result["wall_s"] = seconds[0], seconds[1:]
    result.update(fit_line(sizes, result["wall_s"]))
    result["load_after"] = os.getloadavg()[0]
    return result


def fit_line(rows: list[int], seconds: list[float]) -> dict:
    """Return fixed seconds (intercept), rows/s (1 / slope) and the largest residual of a fitted line."""
    n = len(rows)
    mean_r, mean_s = sum(rows) / n, sum(seconds) / n
    spread = sum((r - mean_r) ** 2 for r in rows)
    if n < 2 or spread == 0:
        raise ValueError(
            f"need at least two different sizes to separate fixed cost and throughput, got {rows}"
        )
    slope = sum((r - mean_r) * (s - mean_s) for r, s in zip(rows, seconds, strict=True)) / spread
    fixed = mean_s - slope * mean_r
    residual = max(abs(s - fixed - slope * r) for r, s in zip(rows, seconds, strict=True))
    return {
        "fixed_s": fixed,
        "rows_per_s": 1 / slope if slope > 0 else None,  # None: time did not grow with rows (noise)
        "max_residual_s": residual,
    }


def run_in_subprocess(runner: str, sizes: list[int], log_dir: Path) -> dict:
    """Measure one runner in a fresh interpreter (tools/ on PYTHONPATH for its workers too)."""
    env = {**os.environ, "TZ": "UTC", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONPATH"] = os.pathsep.join([str(TOOLS), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", runner, "--sizes", *map(str, sizes)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        log = log_dir / f"beam-{runner}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(proc.stderr)
        errors = [line for line in proc.stderr.splitlines() if "Error" in line] or ["no output"]
        return {"error": f"{errors[-1][:120]} (log: {log})"}
    return json.loads(lines[-1])


def markdown_table(results: dict[str, dict]) -> str:
    """Render one row per runner: start-up, cold run, wall time per size, fitted fixed cost and rows/s."""
    sizes = next((r["sizes"] for r in results.values() if "sizes" in r), [])
    size_columns = " | ".join(f"{n:,} rows (s)" for n in sizes)
    lines = [
        f"| runner | what | load | cluster start (s) | 1st pipeline (s) | {size_columns} | "
        "fixed cost (s) | rows/s | largest residual (s) |",
        "| --- | --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in sizes) + " | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | {RUNNERS[name]} | failed: {r['error']} |")
            continue
        start = f"{r['cluster_start_s']:.1f}" if "cluster_start_s" in r else "-"
        walls = " | ".join(f"{s:.1f}" for s in r["wall_s"])
        rate = f"{r['rows_per_s']:,.0f}" if r["rows_per_s"] else "n/a: time did not grow with rows"
        lines.append(
            f"| {name} | {RUNNERS[name]} | {r['load_before']:.1f}-{r['load_after']:.1f} | {start} | "
            f"{r['cold_s']:.1f} | {walls} | {r['fixed_s']:.1f} | {rate} | "
            f"{r['max_residual_s']:.1f} |"
        )
    lines += [
        "",
        "Fixed cost and rows/s: a least-squares line wall = fixed + rows / throughput through the warm runs "
        f"at {', '.join(f'{n:,}' for n in sizes)} rows (census, repeated). Load: the 1-minute load average "
        "before and after the runner.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the selected runners one after another and print (and save) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", nargs="+", choices=list(RUNNERS), default=list(RUNNERS), help="runners")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="rows per warm run (two or more)"
    )
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if len(set(args.sizes)) < 2:
        parser.error("--sizes needs at least two different row counts")
    if args.worker:
        print(json.dumps(measure(args.worker, args.sizes)), flush=True)
        return 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = f"{os.cpu_count()} CPUs, load average {load} at start; one run per cell."
    print(header, file=sys.stderr, flush=True)
    results = {}
    for name in args.runners:
        results[name] = run_in_subprocess(name, args.sizes, (args.output or Path("runs/bench/x")).parent)
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    table = header + "\n\n" + markdown_table(results)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n")
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
