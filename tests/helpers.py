"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labs_utils import runner

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
REAL_SOURCES = frozenset({"official", "mirror", "mirror-subset"})
# Labs whose quick and full runs are the same (whole data in seconds): no QUICK parameter, no "quick" result.
NO_QUICK_MODE = frozenset({
    "c2w1_lab_tfdv_census", "c2w2_lab_feature_selection_breast_cancer", "c2w3_lab_ml_metadata",
    "c2w2_lab_simple_transform",
})  # fmt: skip
# The data each lab may report in quick mode (see each notebook's data section).
QUICK_DATA_SOURCES = {
    "c2w1_lab_tfdv_census": REAL_SOURCES,
    "c2w1_assignment_validation_diabetes": REAL_SOURCES,
    "c2w2_lab_simple_transform": {"synthetic"},
    "c2w2_lab_feature_selection_breast_cancer": {"official", "mirror"},
    "c2w2_lab_transform_pipeline_census": REAL_SOURCES,
    "c2w2_assignment_transform_traffic": REAL_SOURCES,
    "c2w3_lab_ml_metadata": REAL_SOURCES,
    "c2w3_lab_iterative_schema": REAL_SOURCES,
    "c2w3_assignment_pipeline_covertype": REAL_SOURCES,
    "c2w4_lab_weather_timeseries": REAL_SOURCES,
    "c2w4_lab_accelerometer_signals": REAL_SOURCES | {"synthetic"},
    "c2w4_lab_images_cifar10": {"mirror-subset"},
    "c2x_lab_advanced_labeling": {"official", "mirror"},
    "c2x_lab_data_augmentation": {"lossy"},
    "c2x_lab_drift_and_skew": REAL_SOURCES,
    "c2x_lab_scaling_out": REAL_SOURCES,
}


# TFX 1.16's Transform outputs and their artifact types, in TFX's order (tfx/components/transform/
# component.py; verified by make conformance). Written out here, not read from labs_utils, so that
# the tests compare the component with TFX rather than with itself.
TFX_TRANSFORM_OUTPUTS = {
    "transform_graph": "TransformGraph",
    "transformed_examples": "Examples",
    "pre_transform_schema": "Schema",
    "pre_transform_stats": "ExampleStatistics",
    "post_transform_schema": "Schema",
    "post_transform_stats": "ExampleStatistics",
    "post_transform_anomalies": "ExampleAnomalies",
    "updated_analyzer_cache": "TransformCache",
}


def passed_results(result: runner.LabResult) -> dict[str, Any]:
    """Return a lab run's results.json after asserting that the lab passed and wrote it."""
    assert result.passed, (
        f"{result.lab} {result.status} in cell {result.cell_index} ({result.cell_source!r}): "
        f"{result.error}; see {result.html or result.notebook}"
    )
    assert result.results is not None, f"{result.lab} passed but wrote no results.json"
    return result.results


def results_fixture(name: str) -> Any:
    """Return a module-scoped fixture that gives lab ``name``'s results.json from its quick run.

    Assign it in a test module: ``census = results_fixture("c2w1_lab_tfdv_census")``.
    """

    @pytest.fixture(scope="module")
    def results(lab_run) -> dict[str, Any]:
        return passed_results(lab_run(name))

    return results


def split_files(lab_dir: Path, component: str, split: str) -> list[Path]:
    """Return the record files a pipeline component wrote for `split` in a lab run's folder.

    Looks for `<component>/<artifact>/<execution id>/Split-<split>/*` anywhere below the lab
    folder and insists on exactly one such split folder.
    """
    folders = [p for p in lab_dir.rglob(f"Split-{split}") if component in p.parts and p.is_dir()]
    assert len(folders) == 1, f"expected one {component} Split-{split} folder under {lab_dir}: {folders}"
    files = sorted(p for p in folders[0].iterdir() if p.is_file())
    assert files, f"{folders[0]} holds no files"
    return files


def read_example_rows(files: list[Path]) -> list[dict[str, Any]]:
    """Return the tf.Examples of (gzip) TFRecord files as rows: scalar features unwrapped, bytes decoded."""
    import tensorflow as tf

    compression = "GZIP" if files[0].suffix == ".gz" else ""
    rows = []
    for record in tf.data.TFRecordDataset([str(f) for f in files], compression_type=compression):
        example = tf.train.Example.FromString(record.numpy())
        row = {}
        for name, feature in example.features.feature.items():
            kind = feature.WhichOneof("kind")
            values = list(getattr(feature, kind).value) if kind else []
            values = [v.decode() if isinstance(v, bytes) else v for v in values]
            row[name] = values[0] if len(values) == 1 else values
        rows.append(row)
    return rows


def learner_notebook(solved: Path, path: Path, answers: dict[int, str | None]) -> Path:
    """Write `solved` to `path` with some exercises' answers replaced: code, or None for the blank stub."""
    import re

    import nbformat

    from labs_utils import exercises

    nb = nbformat.read(str(solved), as_version=4)
    marked = rf"^( *){re.escape(exercises.BEGIN)}\n.*?^ *{re.escape(exercises.END)}$"
    for cell in nb.cells:
        number = exercises.exercise_number(cell)
        if number not in answers:
            continue
        code = answers[number] if answers[number] is not None else exercises.STUB
        match = re.search(marked, cell.source, re.S | re.M)
        indented = "\n".join(match.group(1) + line for line in code.splitlines())
        cell.source = cell.source.replace(match.group(0), indented)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path
