"""Benchmark where Beam runs: the fixed cost of one tf.Transform pipeline and its per-row throughput.

Run by `make bench`: ``python tools/bench_beam.py --output runs/bench/beam.md``. The workload is
``tools/bench_transform.py``'s census transform (5 scaled features, age buckets, 9 vocabularies,
gzip TFRecords out). Each runner gets a fresh Python process that runs the transform on a small
sample twice (cold, then warm) and on the whole file; the warm small run is the fixed cost, and
the extra rows of the large run (the census file repeated ``--copies`` times, so per-row work
outweighs noise) over the extra time is the throughput. Portable runs also report
how long the job service and worker pool took to start.
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
SMALL_ROWS = 1_000
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
RUNNERS = {
    "in_process": "DirectRunner, in_memory (the default)",
    "multi_processing_2": "DirectRunner, multi_processing, 2 worker processes",
    "portable_1": "PortableRunner, external worker pool, 1 SDK worker",
    "portable_2": "PortableRunner, external worker pool, 2 SDK workers",
}


def measure(runner: str, copies: int) -> dict:
    """Run the three transforms for one runner in this process and return the timings."""
    import bench_transform
    import pandas as pd

    from labs_utils import scaling, transform

    census = bench_transform.load_census()
    frame = pd.concat([census] * copies, ignore_index=True)
    result: dict = {"rows": len(frame), "small_rows": SMALL_ROWS}
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
            for name, data in (
                ("cold_s", census.head(SMALL_ROWS)),
                ("fixed_s", census.head(SMALL_ROWS)),
                ("full_s", frame),
            ):
                started = time.perf_counter()
                transform.transform_data(
                    bench_transform.preprocessing_fn,
                    data,
                    output_dir=Path(tmp) / name,
                    write_examples=True,
                    materialize=False,
                    beam_pipeline_args=args,
                )
                result[name] = time.perf_counter() - started
    finally:
        if cluster is not None:
            cluster.stop()
    extra_rows = result["rows"] - SMALL_ROWS
    result["rows_per_s"] = extra_rows / max(result["full_s"] - result["fixed_s"], 1e-9)
    return result


def run_in_subprocess(runner: str, copies: int, log_dir: Path) -> dict:
    """Measure one runner in a fresh interpreter (tools/ on PYTHONPATH for its workers too)."""
    env = {**os.environ, "TZ": "UTC", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONPATH"] = os.pathsep.join([str(TOOLS), env.get("PYTHONPATH", "")])
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", runner, "--copies", str(copies)],
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
    """Render one row per runner: start-up, cold and warm fixed cost, full run, throughput."""
    lines = [
        "| runner | what | cluster start (s) | 1st pipeline (s) | fixed cost (s) | large run (s) | rows/s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | {RUNNERS[name]} | failed: {r['error']} | | | | |")
            continue
        start = f"{r['cluster_start_s']:.1f}" if "cluster_start_s" in r else "-"
        lines.append(
            f"| {name} | {RUNNERS[name]} | {start} | {r['cold_s']:.1f} | {r['fixed_s']:.1f} | "
            f"{r['full_s']:.1f} | {r['rows_per_s']:,.0f} |"
        )
    rows = next((r["rows"] for r in results.values() if "rows" in r), 0)
    lines += [
        "",
        f"Fixed cost: a warm {SMALL_ROWS:,}-row pipeline. Throughput: the other {rows - SMALL_ROWS:,} "
        "rows of the large run (census, repeated) over the extra time it took.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure the selected runners one after another and print (and save) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", nargs="+", choices=list(RUNNERS), default=list(RUNNERS), help="runners")
    parser.add_argument("--copies", type=int, default=4, help="census copies in the large run")
    parser.add_argument("--output", type=Path, help="also write the table to this file")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(measure(args.worker, args.copies)), flush=True)
        return 0
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    header = f"{os.cpu_count()} CPUs, load average {load} at start; one run per cell."
    print(header, file=sys.stderr, flush=True)
    results = {}
    for name in args.runners:
        results[name] = run_in_subprocess(name, args.copies, (args.output or Path("runs/bench/x")).parent)
        print(f"{name}: {results[name]}", file=sys.stderr, flush=True)
    table = header + "\n\n" + markdown_table(results)
    print(table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table + "\n")
    return 0 if all("error" not in r for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
