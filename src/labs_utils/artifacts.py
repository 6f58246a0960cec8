"""Pipeline artifacts: TFX's artifact types, a handle to read each one, and how a run is recorded.

A component run is one MLMD execution of the component's type, linked to its input artifacts by
INPUT events and to the artifacts it wrote by OUTPUT events, attached to the pipeline and
pipeline-run contexts. Outputs live under ``<root>/<Component>/<output key>/<execution id>/`` and are
registered only when the run succeeds, under TFX's type names and properties
(``tfx/types/standard_artifacts.py``). The components themselves are in ``labs_utils.pipeline``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apache_beam
import tensorflow as tf
import tensorflow_data_validation as tfdv
import tensorflow_transform as tft
from apache_beam.options.pipeline_options import PipelineOptions
from google.protobuf import text_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tensorflow_data_validation.statistics import stats_impl
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx_bsl.coders import example_coder
from tfx_bsl.public import tfxio

from labs_utils import inputs, metadata, records, scaling
from labs_utils import transform as transform_lib

__all__ = [
    "ANOMALIES_FILE",
    "ARTIFACT_TYPES",
    "SCHEMA_FILE",
    "STATS_FILE",
    "Artifact",
    "Component",
    "Output",
    "compute_statistics",
    "example_to_dict",
    "load_anomalies",
    "load_schema",
    "load_statistics",
    "load_transform_output",
    "read_records",
    "read_schema_file",
    "record_run",
    "split_properties",
]

# The MLMD artifact types TFX registers, with the properties TFX declares for them.
ARTIFACT_TYPES = {
    "Examples": {"span": metadata.INT, "version": metadata.INT, "split_names": metadata.STRING},
    "ExampleStatistics": {"span": metadata.INT, "split_names": metadata.STRING},
    "Schema": {},
    "ExampleAnomalies": {"span": metadata.INT, "split_names": metadata.STRING},
    "TransformGraph": {},
    "TransformCache": {},
}

STATS_FILE = "FeatureStats.pb"
SCHEMA_FILE = "schema.pbtxt"
ANOMALIES_FILE = "SchemaDiff.pb"


@dataclass
class Artifact:
    """A component output: the stored MLMD artifact plus helpers to find and read its files."""

    mlmd: metadata_store_pb2.Artifact
    type_name: str

    def __repr__(self) -> str:
        splits = f", split_names={self.split_names}" if self.split_names else ""
        return f"Artifact(type_name={self.type_name!r}, id={self.id}, uri={self.uri!r}{splits})"

    @property
    def id(self) -> int:
        """Return the artifact's MLMD id."""
        return self.mlmd.id

    @property
    def uri(self) -> str:
        """Return the artifact's directory as a string."""
        return self.mlmd.uri

    @property
    def path(self) -> Path:
        """Return the artifact's directory."""
        return Path(self.mlmd.uri)

    @property
    def split_names(self) -> list[str]:
        """Return the split names recorded in the ``split_names`` property (TFX's JSON list)."""
        raw = metadata.property_value(self.mlmd, "split_names")
        return json.loads(raw) if raw else []

    @property
    def properties(self) -> dict[str, Any]:
        """Return properties and custom properties as one dict of python values."""
        table = metadata.properties_table(self.mlmd)
        return dict(zip(table["property"], table["value"], strict=True))

    def split_uri(self, split: str) -> str:
        """Return the directory of one split (``<uri>/Split-<split>``)."""
        if split not in self.split_names:
            raise KeyError(f"{self.type_name} artifact has no split {split!r}: {self.split_names}")
        return str(self.path / f"Split-{split}")

    def files(self, split: str) -> list[str]:
        """Return the data files of one split, sorted."""
        return sorted(str(p) for p in Path(self.split_uri(split)).iterdir() if p.is_file())

    def read(self, split: str = "train", n: int | None = 3) -> list[dict[str, Any]]:
        """Return the first ``n`` tf.Examples of a split (all if None) as dicts of python values.

        Single values come back as scalars, lists stay lists, bytes become ``str`` when they are
        UTF-8 text, and a feature present without values (an empty CSV cell) is None.
        Introduced in c2w2_lab_transform_pipeline_census.
        """
        self._require_examples()
        rows = []
        for record in read_records(self.files(split)):
            if n is not None and len(rows) >= n:
                break
            rows.append(example_to_dict(tf.train.Example.FromString(record)))
        return rows

    def count(self, split: str) -> int:
        """Return the number of records in a split."""
        self._require_examples()
        return sum(1 for _ in read_records(self.files(split)))

    def _require_examples(self) -> None:
        if self.type_name != "Examples":
            raise TypeError(f"only Examples artifacts hold records; this is {self.type_name}")


def example_to_dict(example: tf.train.Example) -> dict[str, Any]:
    """Return a tf.Example as ``{feature: value}`` with plain python values, keys sorted."""
    row = {}
    for name in sorted(example.features.feature):
        feature = example.features.feature[name]
        kind = feature.WhichOneof("kind")
        values = [transform_lib.as_text(v) for v in getattr(feature, kind).value] if kind else []
        row[name] = None if not values else values[0] if len(values) == 1 else values
    return row


def read_records(files: Sequence[str | Path]) -> Iterator[bytes]:
    """Return an iterator over the raw records of an artifact's TFRecord files (none for no files)."""
    if files:
        yield from records.read_records([str(f) for f in files])


# --- loading what an artifact holds --------------------------------------------------------------


def _stats_path(statistics: Artifact, split: str | None) -> Path:
    # Transform's pre/post-transform statistics hold one file and no splits, as in TFX.
    if split is None or not statistics.split_names:
        return statistics.path / STATS_FILE
    return Path(statistics.split_uri(split)) / STATS_FILE


def load_statistics(
    statistics: Artifact, split: str | None = "train"
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """Return one split's statistics from an ExampleStatistics artifact (the only file if unsplit).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return tfdv.load_stats_binary(str(_stats_path(statistics, split)))


def read_schema_file(path: str | Path) -> schema_pb2.Schema:
    """Return the schema in a text file; a ValueError names the file and the fix.

    Introduced in c2w3_lab_iterative_schema.
    """
    path = Path(path)
    fix = "write it with tfdv.write_schema_text(schema, path) and rerun"
    inputs.check_schema_path(path)  # a directory is reported as one, not as "missing"
    if not path.is_file():
        raise ValueError(f"schema file {path} does not exist: {fix}")
    try:
        schema = text_format.Parse(path.read_text(encoding="utf-8"), schema_pb2.Schema())
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise ValueError(f"schema file {path} is not a valid Schema text proto ({exc}): {fix}") from exc
    if not schema.feature:
        raise ValueError(f"schema file {path} defines no features: {fix}")
    inputs.check_schema(schema, path)  # duplicate names, domains that don't fit the type
    return schema


def load_schema(schema: Artifact) -> schema_pb2.Schema:
    """Return the schema of a Schema artifact.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return read_schema_file(schema.path / SCHEMA_FILE)


def load_anomalies(anomalies: Artifact, split: str | None = "eval") -> anomalies_pb2.Anomalies:
    """Return one split's anomalies from an ExampleAnomalies artifact (the only file if unsplit).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    unsplit = split is None or not anomalies.split_names
    path = anomalies.path if unsplit else Path(anomalies.split_uri(split))
    return anomalies_pb2.Anomalies.FromString((path / ANOMALIES_FILE).read_bytes())


def load_transform_output(transform_graph: Artifact) -> tft.TFTransformOutput:
    """Return a TransformGraph artifact as a ``tft.TFTransformOutput``.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return tft.TFTransformOutput(transform_graph.uri)


# --- statistics files -------------------------------------------------------------------------

# Decoded Arrow data plus TFDV's working copies take several times the gzip size on disk;
# statistics stay in-process while that estimate uses under half the available memory.
_IN_MEMORY_EXPANSION = 12


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2 * 1024**3


def _fits_in_memory(files: Sequence[str | Path]) -> bool:
    size = sum(Path(f).stat().st_size for f in files)
    return size * _IN_MEMORY_EXPANSION < _available_memory() // 2


def compute_statistics(
    files_by_output: Mapping[Path, Sequence[str | Path]],
    options: tfdv.StatsOptions,
    *,
    beam_pipeline_args: Sequence[str] | PipelineOptions | None = None,
    schema: schema_pb2.Schema | None = None,
    beam: bool = False,
) -> bool:
    """Write TFDV statistics of each group of TFRecord files to its path; return True if Beam ran.

    Records are decoded with ``schema`` when given (TFXIO's way), else by their own types. Groups
    that fit in memory are computed in-process (TFDV's ``generate_statistics_in_memory``: ~1 s where
    the Beam DirectRunner takes ~40 s on 100k rows) unless ``beam`` is set.
    """
    use_beam = beam or not all(_fits_in_memory(files) for files in files_by_output.values())
    for path in files_by_output:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not use_beam:
        serialized = schema.SerializeToString() if schema is not None else None
        for path, files in files_by_output.items():
            records = list(read_records(files))
            if not records:
                raise ValueError(f"{files} hold no records: nothing to describe")
            batch = example_coder.ExamplesToRecordBatchDecoder(serialized).DecodeBatch(records)
            stats = stats_impl.generate_statistics_in_memory(batch, options)
            path.write_bytes(stats.SerializeToString())
        return False
    with apache_beam.Pipeline(options=scaling.pipeline_options(beam_pipeline_args)) as pipeline:
        for i, (path, files) in enumerate(files_by_output.items()):
            source = tfxio.TFExampleRecord(
                file_pattern=[str(f) for f in files],
                schema=schema,
                telemetry_descriptors=["labs_utils", "StatisticsGen"],
            )
            _ = (
                pipeline
                | f"Read[{i}]" >> source.BeamSource()
                | f"Stats[{i}]" >> tfdv.GenerateStatistics(options)
                | f"Write[{i}]" >> tfdv.WriteStatisticsToBinaryFile(str(path))
            )
    return True


# --- recording a component run -----------------------------------------------------------------


@dataclass
class Output:
    """One output a component wrote: its TFX type and the properties to record with it."""

    type_name: str
    properties: dict[str, Any] = field(default_factory=dict)
    custom_properties: dict[str, Any] = field(default_factory=dict)


def split_properties(split_names: Sequence[str], **extra: Any) -> dict[str, Any]:
    """Return TFX's ``split_names`` (a JSON list) and ``span`` properties, plus ``extra``."""
    return {"span": 0, "split_names": json.dumps(list(split_names)), **extra}


def record_run(
    store: metadata_store.MetadataStore,
    root: Path,
    component: str,
    inputs: Mapping[str, Artifact],
    parameters: Mapping[str, Any],
    produce: Callable[[dict[str, Path]], dict[str, Output]],
    output_keys: Sequence[str],
    contexts: Sequence[metadata_store_pb2.Context],
) -> dict[str, Artifact]:
    """Return the outputs of ``produce`` run as one MLMD execution, registered only on success."""
    execution = metadata.start_execution(
        store,
        component,
        {key: [artifact.mlmd] for key, artifact in inputs.items()},
        contexts=contexts,
        # Execution properties hold JSON text for structured values, as TFX's do.
        properties={
            k: json.dumps(v) if isinstance(v, dict | list) else v
            for k, v in parameters.items()
            if v is not None
        },
    )
    dirs = {key: root / component / key / str(execution.id) for key in output_keys}
    try:
        for directory in dirs.values():
            _fresh_dir(store, directory)
        outputs = produce(dirs)
    except BaseException:
        metadata.fail_execution(store, execution)
        for directory in dirs.values():
            shutil.rmtree(directory, ignore_errors=True)
        raise
    stored = {}
    for key, output in outputs.items():
        metadata.register_artifact_type(store, output.type_name, ARTIFACT_TYPES[output.type_name])
        stored[key] = metadata.new_artifact(
            store,
            output.type_name,
            dirs[key],
            properties=output.properties,
            custom_properties=output.custom_properties,
        )
    metadata.complete_execution(store, execution, {k: [a] for k, a in stored.items()}, contexts=contexts)
    return {key: Artifact(artifact, outputs[key].type_name) for key, artifact in stored.items()}


def _fresh_dir(store: metadata_store.MetadataStore, directory: Path) -> None:
    # A directory left from a store that was deleted (execution ids restart at 1) is stale; one
    # that the store knows about must never be overwritten.
    if directory.exists():
        if store.get_artifacts_by_uri(str(directory)):
            raise FileExistsError(f"{directory} belongs to a registered artifact; use a new root")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)


class Component:
    """A component: inputs and parameters now, ``outputs`` once an InteractiveContext ran it."""

    output_keys: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.outputs: dict[str, Artifact] = {}

    def __repr__(self) -> str:
        state = ", ".join(f"{k}={v!r}" for k, v in self.outputs.items()) or "not run"
        return f"{type(self).__name__}({state})"

    def inputs(self) -> dict[str, Artifact]:
        """Return the input artifacts by TFX's input key."""
        return {}

    def parameters(self) -> dict[str, Any]:
        """Return the execution properties recorded in MLMD."""
        return {}

    def produce(self, context: Any, dirs: dict[str, Path]) -> dict[str, Output]:
        """Write the outputs into ``dirs`` and return what to record for each."""
        raise NotImplementedError
