"""Run the census pipeline through real TFX 1.16 (LocalDagRunner) and summarize it as JSON.

Runs only in the Python 3.10 reference venv that ``tools/conformance/conformance.py`` builds:
``python run_tfx.py --csv-dir DIR --module-file census_transform.py --root ROOT --out tfx.json``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tfx import v1 as tfx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import summarize  # noqa: E402  (a sibling file, importable once the folder is on sys.path)

__all__ = ["main"]


def main() -> None:
    """Build and run the pipeline, then write the summary JSON."""
    args = summarize.run_arguments(__doc__)

    root = Path(args.root)
    example_gen = tfx.components.CsvExampleGen(input_base=str(Path(args.csv_dir).resolve()))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(
        statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
    )
    validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    components = [example_gen, statistics_gen, schema_gen, validator]
    if args.module_file:
        transform = tfx.components.Transform(
            examples=example_gen.outputs["examples"],
            schema=schema_gen.outputs["schema"],
            module_file=str(Path(args.module_file).resolve()),
        )
        components.append(transform)
    metadata_path = root / "metadata.sqlite"
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="conformance",
        pipeline_root=str(root / "pipeline"),
        components=components,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(metadata_path)
        ),
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    start = time.perf_counter()
    tfx.orchestration.LocalDagRunner().run(pipeline)
    seconds = time.perf_counter() - start
    summarize.write_summary(args, metadata_path, seconds)


if __name__ == "__main__":
    main()
