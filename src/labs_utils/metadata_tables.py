"""ML Metadata as tables: the types, artifacts, executions and properties a store holds.

``labs_utils.metadata`` re-exports these helpers (``metadata.artifacts_table`` ...); notebooks call them
there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

from labs_utils import metadata

__all__ = ["artifacts_table", "executions_table", "properties_table", "types_table"]

_TYPE_NAMES = {value: name for name, value in metadata_store_pb2.PropertyType.items()}


def types_table(store: metadata_store.MetadataStore) -> pd.DataFrame:
    """Return a table of every registered artifact, execution and context type with its properties.

    Introduced in c2w3_lab_ml_metadata.
    """
    rows = []
    for kind, types in (
        ("artifact", store.get_artifact_types()),
        ("execution", store.get_execution_types()),
        ("context", store.get_context_types()),
    ):
        for stored in types:
            props = ", ".join(
                f"{key}:{_TYPE_NAMES.get(value, value)}" for key, value in sorted(stored.properties.items())
            )
            rows.append({"kind": kind, "type": stored.name, "id": stored.id, "properties": props})
    return pd.DataFrame(rows, columns=["kind", "type", "id", "properties"])


def _relative_uri(uri: str, root: str | Path | None) -> str:
    if root is None or not uri:
        return uri
    try:
        return Path(uri).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return uri


def artifacts_table(
    store: metadata_store.MetadataStore,
    root: str | Path | None = None,
    *,
    type_name: str | None = None,
) -> pd.DataFrame:
    """Return a table of artifacts (optionally of one type): producer, state, URI relative to root.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    artifacts = metadata.artifacts_of_type(store, type_name) if type_name else list(store.get_artifacts())
    artifact_types = {t.id: t.name for t in store.get_artifact_types()}
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    ids = [a.id for a in artifacts]
    events = store.get_events_by_artifact_ids(ids) if ids else []
    producers = {e.artifact_id: e.execution_id for e in events if e.type in metadata.OUTPUT_EVENTS}
    executions = {e.id: e for e in metadata._executions_by_id(store, producers.values())}
    rows = []
    for artifact in sorted(artifacts, key=lambda a: a.id):
        producer = executions.get(producers.get(artifact.id, -1))
        rows.append(
            {
                "id": artifact.id,
                "type": artifact_types.get(artifact.type_id, ""),
                "producer": execution_types.get(producer.type_id, "") if producer else "",
                "execution_id": producer.id if producer else None,
                "state": metadata_store_pb2.Artifact.State.Name(artifact.state),
                "uri": _relative_uri(artifact.uri, root),
            }
        )
    columns = ["id", "type", "producer", "execution_id", "state", "uri"]
    return pd.DataFrame(rows, columns=columns)


def executions_table(store: metadata_store.MetadataStore) -> pd.DataFrame:
    """Return a table of executions with their state and numbers of input and output artifacts.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    executions = sorted(store.get_executions(), key=lambda e: e.id)
    execution_types = {t.id: t.name for t in store.get_execution_types()}
    ids = [e.id for e in executions]
    events = store.get_events_by_execution_ids(ids) if ids else []
    rows = []
    for execution in executions:
        mine = [e for e in events if e.execution_id == execution.id]
        rows.append(
            {
                "id": execution.id,
                "type": execution_types.get(execution.type_id, ""),
                "state": metadata_store_pb2.Execution.State.Name(execution.last_known_state),
                "inputs": sum(e.type in metadata.INPUT_EVENTS for e in mine),
                "outputs": sum(e.type in metadata.OUTPUT_EVENTS for e in mine),
            }
        )
    return pd.DataFrame(rows, columns=["id", "type", "state", "inputs", "outputs"])


def properties_table(node: Any) -> pd.DataFrame:
    """Return a table of the properties and custom properties of an artifact, execution or context.

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    node = metadata._proto(node)
    rows = [
        {"property": key, "value": metadata.get_value(value), "kind": kind}
        for kind, props in (("property", node.properties), ("custom", node.custom_properties))
        for key, value in sorted(props.items())
    ]
    return pd.DataFrame(rows, columns=["property", "value", "kind"])
