"""Describe one pipeline run (TFX's or labs_utils') as plain JSON, so two runs can be compared.

Runs under both interpreters: Python 3.10 with TFX 1.16 and Python 3.11 with labs_utils. It reads
only what both write: the ML Metadata store and the artifact files, never the producing code.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import tensorflow as tf
import tensorflow_data_validation as tfdv
from google.protobuf import json_format, text_format
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

__all__ = [
    "canonical_example", "component_kind", "read_probe", "record_key", "run_arguments", "summarize_run",
    "write_summary",
]  # fmt: skip

OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)
# Custom properties that name a run rather than describe an artifact.
VOLATILE = {"tfx_version", "is_external", "input_fingerprint"}
FIRST_RECORDS = 3


def component_kind(execution_type: str) -> str:
    """Return the component kind of an execution type ("...CsvExampleGen" -> "ExampleGen")."""
    kind = execution_type.rsplit(".", 1)[-1]
    return "ExampleGen" if kind.endswith("ExampleGen") and kind != "ImportSchemaGen" else kind


def canonical_example(record: bytes) -> dict[str, Any]:
    """Return a tf.Example as {feature: [kind, values]}, bytes as latin-1 text, keys sorted."""
    example = tf.train.Example.FromString(record)
    row = {}
    for name in sorted(example.features.feature):
        feature = example.features.feature[name]
        kind = feature.WhichOneof("kind")
        values = list(getattr(feature, kind).value) if kind else []
        if kind == "bytes_list":
            values = [v.decode("latin-1") for v in values]
        row[name] = [kind, values]
    return row


def record_key(record: bytes) -> str:
    """Return a short hash of a record's canonical content (serialization order ignored)."""
    text = json.dumps(canonical_example(record), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _records(directory: Path) -> list[bytes]:
    files = sorted(str(p) for p in directory.iterdir() if p.is_file())
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _value(value: metadata_store_pb2.Value) -> Any:
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        return json_format.MessageToDict(value.struct_value)
    if kind == "proto_value":
        return str(value.proto_value)
    return getattr(value, kind) if kind else None


def _files(uri: Path) -> list[str]:
    if not uri.exists():
        return []
    return sorted(p.relative_to(uri).as_posix() for p in uri.rglob("*") if p.is_file())[:12]


def _split_names(artifact: metadata_store_pb2.Artifact) -> list[str]:
    raw = artifact.properties["split_names"].string_value if "split_names" in artifact.properties else ""
    return json.loads(raw) if raw else []


def _anomalies(path: Path) -> dict[str, list[str]]:
    anomalies = anomalies_pb2.Anomalies.FromString(path.read_bytes())
    names = anomalies_pb2.AnomalyInfo.Type.Name
    found = sorted(anomalies.anomaly_info.items())
    return {feature: sorted(names(r.type) for r in info.reason) for feature, info in found}


def _schema(path: Path) -> dict[str, Any]:
    """Return a schema's features (type, presence, shape, domain values) and its text."""
    schema = text_format.Parse(path.read_text(), schema_pb2.Schema())
    features = {}
    for feature in schema.feature:
        domain = feature.domain or (feature.name if feature.HasField("string_domain") else "")
        values = []
        for candidate in schema.string_domain:
            if candidate.name == domain:
                values = sorted(candidate.value)
        features[feature.name] = {
            "type": schema_pb2.FeatureType.Name(feature.type),
            "presence": [feature.presence.min_fraction, feature.presence.min_count],
            "shape": [d.size for d in feature.shape.dim] if feature.HasField("shape") else None,
            "domain": values,
            "int_domain": text_format.MessageToString(feature.int_domain, as_one_line=True),
        }
    return {"features": dict(sorted(features.items())), "text": text_format.MessageToString(schema)}


def _statistics(path: Path) -> dict[str, Any]:
    stats = tfdv.load_stats_binary(str(path))
    dataset = stats.datasets[0]
    return {
        "datasets": len(stats.datasets),
        "num_examples": int(dataset.num_examples),
        "features": sorted(".".join(f.path.step) or f.name for f in dataset.features),
    }


def _artifact_summary(store, artifact, type_names, execution_types) -> dict[str, Any]:
    uri = Path(artifact.uri)
    events = store.get_events_by_artifact_ids([artifact.id])
    producers = {e.execution_id for e in events if e.type in OUTPUT_EVENTS}
    inputs = store.get_events_by_execution_ids(sorted(producers)) if producers else []
    parent_ids = sorted({e.artifact_id for e in inputs if e.type in INPUT_EVENTS})
    parents = []
    for parent in store.get_artifacts_by_id(parent_ids) if parent_ids else []:
        parent_events = store.get_events_by_artifact_ids([parent.id])
        made_by = [e.execution_id for e in parent_events if e.type in OUTPUT_EVENTS]
        producer = store.get_executions_by_id(made_by)[0] if made_by else None
        kind = component_kind(execution_types[producer.type_id]) if producer else ""
        parents.append([type_names[parent.type_id], kind])
    return {
        "type": type_names[artifact.type_id],
        "properties": {k: _value(v) for k, v in sorted(artifact.properties.items())},
        "custom_properties": {
            k: _value(v) for k, v in sorted(artifact.custom_properties.items()) if k not in VOLATILE
        },
        "parents": sorted(parents),
        "files": _files(uri),
    }


def _outputs_by_component(store) -> dict[str, dict[str, Any]]:
    type_names = {t.id: t.name for t in store.get_artifact_types()}
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    found: dict[str, dict[str, Any]] = {}
    for execution in sorted(store.get_executions(), key=lambda e: e.id):
        kind = component_kind(execution_types[execution.type_id])
        events = [e for e in store.get_events_by_execution_ids([execution.id]) if e.type in OUTPUT_EVENTS]
        outputs = {}
        for event in events:
            key = next(s.key for s in event.path.steps if s.HasField("key"))
            [artifact] = store.get_artifacts_by_id([event.artifact_id])
            outputs[key] = (artifact, _artifact_summary(store, artifact, type_names, execution_types))
        found[kind] = outputs
    return found


def summarize_run(metadata_path: str | Path, probe: list[bytes] | None = None) -> dict[str, Any]:
    """Return what a pipeline run produced, read from its MLMD store and artifact files.

    ``probe`` holds raw serialized tf.Examples that the run's transform graph is applied to, so both
    runs' "first transformed records" are the same records whatever order each run wrote.
    """
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    store = metadata_store.MetadataStore(config)
    outputs = _outputs_by_component(store)
    artifact_types = {
        t.name: {k: metadata_store_pb2.PropertyType.Name(v) for k, v in sorted(t.properties.items())}
        for t in store.get_artifact_types()
    }
    used_types = {s["type"] for group in outputs.values() for _, s in group.values()}
    summary: dict[str, Any] = {
        "artifact_types": dict(sorted(artifact_types.items())),
        "unused_artifact_types": sorted(set(artifact_types) - used_types),
        "components": {k: {key: s for key, (_, s) in v.items()} for k, v in outputs.items()},
    }
    examples, _ = outputs["ExampleGen"]["examples"]
    splits = {}
    for split in _split_names(examples):
        records = _records(Path(examples.uri) / f"Split-{split}")
        rows = [canonical_example(r) for r in records]
        splits[split] = {"size": len(records), "keys": sorted(record_key(r) for r in records)}
        splits[split]["first"] = rows[:FIRST_RECORDS]
        if all("id" in row and row["id"][1] for row in rows):  # the reference CSV's row numbers
            splits[split]["ids"] = sorted(row["id"][1][0] for row in rows)
    summary["splits"] = splits
    if "SchemaGen" in outputs:
        schema, _ = outputs["SchemaGen"]["schema"]
        summary["schema"] = _schema(Path(schema.uri) / "schema.pbtxt")
    if "ExampleValidator" in outputs:
        anomalies, _ = outputs["ExampleValidator"]["anomalies"]
        uri = Path(anomalies.uri)
        splits = _split_names(anomalies)
        summary["anomalies"] = {s: _anomalies(uri / f"Split-{s}" / "SchemaDiff.pb") for s in splits}
    if "Transform" in outputs:
        transform = {k: a for k, (a, _) in outputs["Transform"].items()}
        summary["transform"] = _transform_summary(transform)
        schema, _ = outputs["SchemaGen"]["schema"]
        graph = transform["transform_graph"].uri
        summary["transform"]["probe"] = _apply_graph(graph, Path(schema.uri) / "schema.pbtxt", probe or [])
    return summary


def _apply_graph(graph_uri: str, schema_path: Path, records: list[bytes]) -> list[dict[str, Any]]:
    """Return the transform graph's outputs for raw serialized records, as plain values."""
    if not records:
        return []
    import tensorflow_transform as tft
    from tensorflow_transform.tf_metadata import schema_utils

    schema = text_format.Parse(schema_path.read_text(), schema_pb2.Schema())
    spec = schema_utils.schema_as_feature_spec(schema).feature_spec
    raw = tf.io.parse_example(tf.constant(records), spec)
    outputs = tft.TFTransformOutput(graph_uri).transform_raw_features(raw)
    rows = []
    for i in range(len(records)):
        row = {}
        for name, tensor in sorted(outputs.items()):
            value = tensor[i].numpy().ravel().tolist()
            row[name] = [v.decode("latin-1") if isinstance(v, bytes) else v for v in value]
        rows.append(row)
    return rows


def _transform_summary(artifacts: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    uri = {key: Path(a.uri) for key, a in artifacts.items()}
    if "pre_transform_schema" in uri:
        result["pre_transform_schema"] = _schema(uri["pre_transform_schema"] / "schema.pbtxt")["features"]
        result["post_transform_schema"] = _schema(uri["post_transform_schema"] / "schema.pbtxt")["features"]
        result["pre_transform_stats"] = _statistics(uri["pre_transform_stats"] / "FeatureStats.pb")
        result["post_transform_stats"] = _statistics(uri["post_transform_stats"] / "FeatureStats.pb")
        result["post_transform_anomalies"] = _anomalies(uri["post_transform_anomalies"] / "SchemaDiff.pb")
    transformed = artifacts["transformed_examples"]
    result["transformed"] = {}
    for split in _split_names(transformed):
        records = _records(uri["transformed_examples"] / f"Split-{split}")
        result["transformed"][split] = {
            "size": len(records),
            "keys": sorted(record_key(r) for r in records),
            "first": [canonical_example(r) for r in records[:FIRST_RECORDS]],
        }
    return result


def read_probe(path: str | Path) -> list[bytes]:
    """Return the raw records of an uncompressed TFRecord file."""
    return [r.numpy() for r in tf.data.TFRecordDataset([str(path)])]


def run_arguments(description: str) -> argparse.Namespace:
    """Return the command-line arguments that run_tfx.py and run_labs.py both take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--csv-dir", required=True, help="folder holding the one input CSV")
    parser.add_argument("--module-file", help="Transform module file; omit to skip Transform")
    parser.add_argument("--root", required=True, help="pipeline root (created)")
    parser.add_argument("--probe", help="file of raw records (TFRecord) to send through the graph")
    parser.add_argument("--out", required=True, help="summary JSON path")
    return parser.parse_args()


def write_summary(args: argparse.Namespace, metadata_path: Path, seconds: float, **extra: Any) -> Path:
    """Return the path of the summary JSON written for a run (its store, the probe records, its time)."""
    probe = read_probe(args.probe) if args.probe else []
    summary = summarize_run(metadata_path, probe)
    summary.update(seconds=round(seconds, 1), **extra)
    out = Path(args.out)
    out.write_text(json.dumps(summary, indent=1, sort_keys=True))
    return out
