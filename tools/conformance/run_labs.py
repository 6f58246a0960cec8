"""Run the census pipeline through labs_utils.pipeline and summarize it as JSON (see run_tfx.py).

``python run_labs.py --csv-dir DIR --module-file census_transform.py --root ROOT --out labs.json``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from labs_utils import pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))
import summarize  # noqa: E402  (a sibling file, importable once the folder is on sys.path)

__all__ = ["main"]


def main() -> None:
    """Run the same components as run_tfx.py, then write the summary JSON."""
    args = summarize.run_arguments(__doc__)

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
    summarize.write_summary(
        args, root / "pipeline" / "metadata.sqlite", seconds, component_seconds=context.timings
    )


if __name__ == "__main__":
    main()
