"""Time sliced TFDV statistics on the diabetes training rows: one call per slice versus one pass.

Run by `make bench`: ``python tools/bench_slicing.py --output runs/bench/slicing.md``. Both paths
see the same record batch and options as c2w1_assignment_validation_diabetes (allow-list, inferred
schema, one slice per ``medical_specialty``); the script also checks that their protos are equal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import tensorflow_data_validation as tfdv

from labs_utils import datasets, slicing, validation


def diabetes_options(train_df) -> tfdv.StatsOptions:
    """Return the lab's slicing options: approved features, inferred schema, medical_specialty slices."""
    approved = [c for c in train_df.columns if c not in ("encounter_id", "patient_nbr")]
    stats = validation.generate_statistics(train_df, tfdv.StatsOptions(feature_allowlist=approved))
    slicer = tfdv.experimental_get_feature_value_slicer(features={"medical_specialty": None})
    return tfdv.StatsOptions(
        schema=tfdv.infer_schema(stats),
        infer_type_from_schema=True,
        feature_allowlist=approved,
        experimental_slice_functions=[slicer],
    )


def timed(fn, *args) -> tuple[float, float, object]:
    """Return (wall seconds, CPU seconds, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> int:
    """Time both paths ``--repeats`` times, alternating, and write a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each path, alternating")
    parser.add_argument("--output", type=Path, default=Path("runs/bench/slicing.md"), help="markdown report")
    args = parser.parse_args()

    df = datasets.load_diabetes()
    train_df = df.iloc[: int(len(df) * 0.7)].sample(frac=1, random_state=48).reset_index(drop=True)
    options = diabetes_options(train_df)
    batch = validation._record_batch(train_df)
    runs: dict[str, list[tuple[float, float]]] = {"per slice": [], "one pass": []}
    load_before = os.getloadavg()
    results = {}
    paths = {"per slice": slicing.per_slice_statistics, "one pass": slicing.sliced_statistics}
    for _ in range(args.repeats):
        for name, fn in paths.items():
            wall, cpu, results[name] = timed(fn, batch, options)
            runs[name].append((wall, cpu))
    equal = _by_name(results["per slice"]) == _by_name(results["one pass"])
    load = os.getloadavg()
    lines = [
        f"# Sliced statistics: {batch.num_rows:,} diabetes training rows, "
        f"{len(results['one pass'].datasets)} datasets (All Examples + slices)",
        "",
        f"{args.repeats} alternating runs of each path; medians. Load average before/after: "
        f"{load_before[0]:.1f} / {load[0]:.1f} on {os.cpu_count()} cores (a shared machine: CPU time is the "
        "steadier measure).",
        "",
        "| path | median wall s | median CPU s | best CPU s |",
        "| --- | --- | --- | --- |",
    ]
    for name, times in runs.items():
        walls, cpus = [w for w, _ in times], [c for _, c in times]
        lines.append(
            f"| {name} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | {min(cpus):.2f} |"
        )
    speedup = statistics.median(c for _, c in runs["per slice"]) / statistics.median(
        c for _, c in runs["one pass"]
    )
    lines += ["", f"CPU speed-up (medians) {speedup:.1f}x; protos equal: {equal}", ""]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if equal else 1


def _by_name(stats) -> dict[str, bytes]:
    """Map each dataset's name to its serialized proto (slice order is not part of the result)."""
    return {d.name: d.SerializeToString(deterministic=True) for d in stats.datasets}


if __name__ == "__main__":
    raise SystemExit(main())
