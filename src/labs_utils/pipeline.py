"""TFX's data components on our stack, run the way the course ran them: ``context.run(component)``.

TFX 1.16 does not install on Python 3.11 with this TFDV, so each component here does what its TFX
namesake does (checked against TFX's source and, by ``make conformance``, against TFX itself), on
the same libraries (TFDV, tf.Transform, tfx-bsl, Beam)::

    context = pipeline.InteractiveContext("root", pipeline_name="census")
    example_gen = pipeline.CsvExampleGen(input_base="data/")
    context.run(example_gen)
    examples = example_gen.outputs["examples"]      # an artifacts.Artifact (TFX: a Channel)

Outputs land under ``<root>/<Component>/<output key>/<execution id>/`` and in the MLMD store with
TFX's type names and properties (``labs_utils.artifacts``); ExampleGen's CSV reading and hash split
live in ``labs_utils.example_gen``; Transform in ``labs_utils.pipeline_transform``.
"""

from __future__ import annotations

import copy
import datetime
import json
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import tensorflow_data_validation as tfdv
from apache_beam.options.pipeline_options import PipelineOptions
from ml_metadata.metadata_store import metadata_store

from labs_utils import artifacts, example_gen, metadata
from labs_utils.artifacts import (
    Artifact,
    Component,
    Output,
    compute_statistics,
    load_anomalies,
    load_schema,
    load_statistics,
    load_transform_output,
    read_schema_file,
)
from labs_utils.pipeline_transform import Transform, load_preprocessing_fn

__all__ = [
    "Artifact",
    "Component",
    "CsvExampleGen",
    "ExampleValidator",
    "ImportExampleGen",
    "ImportSchemaGen",
    "InteractiveContext",
    "SchemaGen",
    "StatisticsGen",
    "Transform",
    "compute_statistics",
    "load_anomalies",
    "load_preprocessing_fn",
    "load_schema",
    "load_statistics",
    "load_transform_output",
    "read_schema_file",
]

DEFAULT_SPLITS = {"train": 2, "eval": 1}


class InteractiveContext:
    """A pipeline root with a SQLite MLMD store that runs components one at a time (TFX's name).

    Args:
        pipeline_root: components write under ``<pipeline_root>/<Component>/``.
        pipeline_name: the name of the ``pipeline`` context every run is attached to.
        metadata_path: SQLite file of the MLMD store (default ``<pipeline_root>/metadata.sqlite``).
        beam_pipeline_args: Beam flags or ``PipelineOptions`` (in-process DirectRunner by default;
            see ``scaling.pipeline_options``), kept as given; each Beam pipeline gets fresh options.

    Reusing a root reuses its store; each context starts a new ``pipeline_run`` context.
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    def __init__(
        self,
        pipeline_root: str | Path,
        *,
        pipeline_name: str,
        metadata_path: str | Path | None = None,
        beam_pipeline_args: Sequence[str] | PipelineOptions | None = None,
    ) -> None:
        self.pipeline_root = Path(pipeline_root).resolve()
        self.pipeline_root.mkdir(parents=True, exist_ok=True)
        self.pipeline_name = pipeline_name
        self.store: metadata_store.MetadataStore = metadata.open_store(
            metadata_path or self.pipeline_root / "metadata.sqlite"
        )
        # Flags, not one options object: a portable run sets the runner of the options it is given to
        # None, so every pipeline builds fresh options from these (scaling.pipeline_options).
        self.beam_pipeline_args = beam_pipeline_args
        self.pipeline_context = metadata.get_or_create_context(self.store, "pipeline", pipeline_name)
        run_id = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        while self.store.get_context_by_type_and_name("pipeline_run", f"{pipeline_name}:{run_id}"):
            run_id = f"{run_id}-{uuid.uuid4().hex[:6]}"
        self.run_context = metadata.get_or_create_context(
            self.store, "pipeline_run", f"{pipeline_name}:{run_id}", parent=self.pipeline_context
        )
        # wall seconds per component run, in run order ("StatisticsGen #2" for a second run)
        self.timings: dict[str, float] = {}

    def __repr__(self) -> str:
        name, root = self.pipeline_name, str(self.pipeline_root)
        return f"InteractiveContext(pipeline_name={name!r}, root={root!r}, run_id={self.run_id!r})"

    @property
    def run_id(self) -> str:
        """Return the unique name of this run's ``pipeline_run`` context."""
        return self.run_context.name

    def run(self, component: Component) -> Component:
        """Return ``component`` after running it once; its ``outputs`` then hold its artifacts."""
        start = time.perf_counter()
        name = type(component).__name__
        component.outputs = artifacts.record_run(
            self.store,
            self.pipeline_root,
            name,
            component.inputs(),
            component.parameters(),
            lambda dirs: component.produce(self, dirs),
            component.output_keys,
            [self.pipeline_context, self.run_context],
        )
        runs = sum(1 for key in self.timings if key.split(" #")[0] == name)
        self.timings[name if runs == 0 else f"{name} #{runs + 1}"] = round(time.perf_counter() - start, 2)
        return component


# --- ExampleGen ---------------------------------------------------------------------------------


class CsvExampleGen(Component):
    """Ingest CSV files into hash-split gzip TFRecords of tf.Example, as TFX's CsvExampleGen does.

    Args:
        input_base: a CSV file or a folder of ``*.csv`` / ``*.csv.gz`` files with one header row.
            Column types are inferred over the whole input and empty cells kept as features
            without values, exactly as TFX does (``labs_utils.example_gen``).
        output_splits: split name -> hash buckets; default ``{"train": 2, "eval": 1}`` (TFX's).
            A record goes to a split by the SHA-256 of its serialization, so every rerun, and TFX,
            splits the same way.
        partition_feature_name: hash this feature instead of the whole record, so records with
            equal values stay together (TFX's ``SplitConfig.partition_feature_name``).

    Output ``examples``: Examples with ``Split-<name>/data_tfrecord-00000-of-00001.gz`` per split.
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    output_keys = ("examples",)
    input_format = "csv"

    def __init__(
        self,
        input_base: str | Path,
        *,
        output_splits: Mapping[str, int] | None = None,
        partition_feature_name: str | None = None,
    ) -> None:
        super().__init__()
        splits = dict(DEFAULT_SPLITS if output_splits is None else output_splits)
        if not splits or any(not isinstance(w, int) or w <= 0 for w in splits.values()):
            raise ValueError(f"output_splits must map split names to positive integer buckets, got {splits}")
        self.input_base = Path(input_base).resolve()
        self.files = example_gen.input_files(self.input_base, self.input_format)
        self.output_splits = splits
        self.partition_feature_name = partition_feature_name

    def parameters(self) -> dict[str, Any]:
        """Return TFX's execution properties for ExampleGen."""
        return {
            "input_base": str(self.input_base),
            "output_config": {"split_config": self.output_splits},
            "partition_feature_name": self.partition_feature_name,
            "input_fingerprint": self._fingerprint(),
        }

    def _fingerprint(self) -> str:
        # TFX's input_fingerprint: file count, bytes and whole-second mtimes (io_utils).
        stats = [f.stat() for f in self.files]
        mtimes = [int(s.st_mtime) for s in stats]
        xor = 0
        for mtime in mtimes:
            xor ^= mtime
        return (
            f"split:single_split,num_files:{len(stats)},total_bytes:{sum(s.st_size for s in stats)},"
            f"xor_checksum:{xor},sum_checksum:{sum(mtimes)}"
        )

    def _records(self):
        return example_gen.csv_records(self.files)

    def produce(self, context: InteractiveContext, dirs: dict[str, Path]) -> dict[str, Output]:
        """Write every split and describe the Examples artifact as TFX does."""
        out = dirs["examples"]
        example_gen.write_splits(self._records(), out, self.output_splits, self.partition_feature_name)
        properties = {"split_names": json.dumps(list(self.output_splits))}
        # TFX's ExampleGen records span as a custom property and no version.
        custom = {
            "span": 0,
            "file_format": "tfrecords_gzip",
            "payload_format": "FORMAT_TF_EXAMPLE",
            "input_fingerprint": self._fingerprint(),
        }
        return {"examples": Output("Examples", properties, custom)}


class ImportExampleGen(CsvExampleGen):
    """Import TFRecord files of tf.Example unchanged and hash-split them (TFX's ImportExampleGen).

    Introduced in c2w4_lab_images_cifar10.
    """

    input_format = "tfrecord"

    def _records(self):
        return example_gen.tfrecord_records(self.files)


# --- StatisticsGen ------------------------------------------------------------------------------


def _options_json(options: tfdv.StatsOptions) -> str:
    light = copy.copy(options)
    light.schema = None  # the schema is an input artifact; don't copy it into MLMD
    try:
        return light.to_json()
    except ValueError as exc:  # slice functions and custom generators can't be serialized
        return json.dumps({"unserializable": str(exc)})


class StatisticsGen(Component):
    """Compute TFDV statistics for every split of ``examples`` (TFX's StatisticsGen).

    Args:
        schema: a Schema artifact to put into the stats options (with
            ``StatsOptions(infer_type_from_schema=True)`` types then follow the schema).
        stats_options: ``tfdv.StatsOptions``; not modified (a copy gets the schema).
        exclude_splits: splits to leave out.
        beam: always run TFDV's Beam pipeline (default: in-process where a split fits in memory).

    Output ``statistics``: ExampleStatistics with ``Split-<name>/FeatureStats.pb`` per split.
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    output_keys = ("statistics",)

    def __init__(
        self,
        examples: Artifact,
        *,
        schema: Artifact | None = None,
        stats_options: tfdv.StatsOptions | None = None,
        exclude_splits: Sequence[str] = (),
        beam: bool = False,
    ) -> None:
        super().__init__()
        self.examples, self.schema, self.beam = examples, schema, beam
        self.options = copy.copy(stats_options) if stats_options is not None else tfdv.StatsOptions()
        if schema is not None:
            self.options.schema = load_schema(schema)
        self.split_names = [s for s in examples.split_names if s not in exclude_splits]
        self.exclude_splits = list(exclude_splits)

    def inputs(self) -> dict[str, Artifact]:
        """Return the examples (and the schema when given)."""
        return {"examples": self.examples, **({"schema": self.schema} if self.schema is not None else {})}

    def parameters(self) -> dict[str, Any]:
        """Return the stats options and excluded splits."""
        return {"stats_options_json": _options_json(self.options), "exclude_splits": self.exclude_splits}

    def produce(self, context: InteractiveContext, dirs: dict[str, Path]) -> dict[str, Output]:
        """Write each split's statistics."""
        out = dirs["statistics"]
        groups = {out / f"Split-{s}" / artifacts.STATS_FILE: self.examples.files(s) for s in self.split_names}
        compute_statistics(
            groups, self.options, beam_pipeline_args=context.beam_pipeline_args, beam=self.beam
        )
        span = metadata.property_value(self.examples.mlmd, "span", 0)
        custom = {
            "stats_dashboard_link": "",
            "sample_rate_by_split": {"__value__": json.dumps(dict.fromkeys(sorted(self.split_names), 1.0))},
        }
        properties = artifacts.split_properties(self.split_names, span=span)
        return {"statistics": Output("ExampleStatistics", properties, custom)}


# --- SchemaGen and ImportSchemaGen --------------------------------------------------------------


class SchemaGen(Component):
    """Infer a schema from statistics, as TFX's SchemaGen does: every split unless excluded.

    The first split is inferred with ``tfdv.infer_schema``, each further split folded in with
    ``tfdv.update_schema`` (so an eval-only category joins the domain).

    Args:
        infer_feature_shape: give features that always hold one value a fixed shape (dense
            tensors in Transform); TFX's default True.
        exclude_splits: statistics splits to leave out, e.g. ``["eval"]`` to learn from train only.

    Output ``schema``: Schema holding ``schema.pbtxt``.
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    output_keys = ("schema",)

    def __init__(
        self, statistics: Artifact, *, infer_feature_shape: bool = True, exclude_splits: Sequence[str] = ()
    ) -> None:
        super().__init__()
        self.statistics, self.infer_feature_shape = statistics, infer_feature_shape
        self.exclude_splits = list(exclude_splits)
        self.splits = [s for s in statistics.split_names if s not in self.exclude_splits]
        if not self.splits:
            raise ValueError(f"exclude_splits {self.exclude_splits} leaves none of {statistics.split_names}")

    def inputs(self) -> dict[str, Artifact]:
        """Return the statistics."""
        return {"statistics": self.statistics}

    def parameters(self) -> dict[str, Any]:
        """Return TFX's execution properties for SchemaGen."""
        return {"infer_feature_shape": int(self.infer_feature_shape), "exclude_splits": self.exclude_splits}

    def produce(self, context: InteractiveContext, dirs: dict[str, Path]) -> dict[str, Output]:
        """Infer on the first split, update with the rest, write ``schema.pbtxt``."""
        schema = None
        for split in self.splits:
            stats = load_statistics(self.statistics, split)
            if schema is None:
                schema = tfdv.infer_schema(stats, infer_feature_shape=self.infer_feature_shape)
            else:
                schema = tfdv.update_schema(schema, stats, infer_feature_shape=self.infer_feature_shape)
        tfdv.write_schema_text(schema, str(dirs["schema"] / artifacts.SCHEMA_FILE))
        return {"schema": Output("Schema")}


class ImportSchemaGen(Component):
    """Import a curated ``schema.pbtxt`` as a Schema artifact (TFX's ImportSchemaGen).

    The file is parsed first: a missing or corrupt file raises a ValueError and records nothing.
    Introduced in c2w3_lab_iterative_schema.
    """

    output_keys = ("schema",)

    def __init__(self, schema_file: str | Path) -> None:
        super().__init__()
        self.schema_file = Path(schema_file).resolve()
        read_schema_file(self.schema_file)

    def parameters(self) -> dict[str, Any]:
        """Return the imported file's path."""
        return {"schema_file": str(self.schema_file)}

    def produce(self, context: InteractiveContext, dirs: dict[str, Path]) -> dict[str, Output]:
        """Copy the schema file into the artifact."""
        shutil.copyfile(self.schema_file, dirs["schema"] / artifacts.SCHEMA_FILE)
        return {"schema": Output("Schema")}


# --- ExampleValidator ---------------------------------------------------------------------------


class ExampleValidator(Component):
    """Validate every split's statistics against a schema (TFX's ExampleValidator).

    Args:
        environment: validate in this schema environment (e.g. ``"SERVING"``); TFX has no such
            argument, the course validated serving data with ``tfdv.validate_statistics``.
        exclude_splits: splits to leave out.

    Output ``anomalies``: ExampleAnomalies with ``Split-<name>/SchemaDiff.pb`` (an Anomalies
    proto) and TFX's ``blessed`` custom property (1 per split without anomalies, else 0).
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    output_keys = ("anomalies",)

    def __init__(
        self,
        statistics: Artifact,
        schema: Artifact,
        *,
        environment: str | None = None,
        exclude_splits: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.statistics, self.schema, self.environment = statistics, schema, environment
        self.exclude_splits = list(exclude_splits)
        self.split_names = [s for s in statistics.split_names if s not in self.exclude_splits]

    def inputs(self) -> dict[str, Artifact]:
        """Return the statistics and the schema."""
        return {"statistics": self.statistics, "schema": self.schema}

    def parameters(self) -> dict[str, Any]:
        """Return the environment and excluded splits."""
        return {"environment": self.environment, "exclude_splits": self.exclude_splits}

    def produce(self, context: InteractiveContext, dirs: dict[str, Path]) -> dict[str, Output]:
        """Write each split's anomalies."""
        schema = load_schema(self.schema)
        blessed = {}
        for split in self.split_names:
            stats = load_statistics(self.statistics, split)
            anomalies = tfdv.validate_statistics(stats, schema, environment=self.environment)
            path = dirs["anomalies"] / f"Split-{split}" / artifacts.ANOMALIES_FILE
            path.parent.mkdir(parents=True)
            path.write_bytes(anomalies.SerializeToString())
            found = anomalies.anomaly_info or anomalies.HasField("dataset_anomaly_info")
            blessed[split] = 0 if found else 1
        span = metadata.property_value(self.statistics.mlmd, "span", 0)
        properties = artifacts.split_properties(self.split_names, span=span)
        return {"anomalies": Output("ExampleAnomalies", properties, {"blessed": blessed})}
