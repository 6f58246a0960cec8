"""Run the census pipeline through labs_utils.pipeline and summarize it as JSON (see run_tfx.py).

``python run_labs.py --csv-dir DIR --module-file census_transform.py --root ROOT --out labs.json``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from labs_utils import pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import summarize  # noqa: E402  (a sibling file, importable once the folder is on sys.path)

__all__ = ["main"]


def main() -> None:
    """Run the same components as run_tfx.py, then write the summary JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv-dir", required=True, help="folder holding the one input CSV")
    parser.add_argument("--module-file", help="Transform module file; omit to skip Transform")
    parser.add_argument("--root", required=True, help="pipeline root (created)")
    parser.add_argument("--probe", help="file of raw records (TFRecord) to send through the graph")
    parser.add_argument("--out", required=True, help="summary JSON path")
    args = parser.parse_args()

    root = Path(args.root)
    start = time.perf_counter()
    context = pipeline.InteractiveContext(root / "pipeline", pipeline_name="conformance")
    example_gen = context.run(pipeline.CsvExampleGen(input_base=args.csv_dir))
    examples = example_gen.outputs["examples"]
    statistics = context.run(pipeline.StatisticsGen(examples)).outputs["statistics"]
    schema = context.run(pipeline.SchemaGen(statistics, infer_feature_shape=True)).outputs["schema"]
    context.run(pipeline.ExampleValidator(statistics, schema))
    if args.module_file:
        context.run(pipeline.Transform(examples, schema, module_file=args.module_file))
    seconds = time.perf_counter() - start
    probe = summarize.read_probe(args.probe) if args.probe else []
    summary = summarize.summarize_run(root / "pipeline" / "metadata.sqlite", probe)
    summary["seconds"] = round(seconds, 1)
    summary["component_seconds"] = context.timings
    Path(args.out).write_text(json.dumps(summary, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
