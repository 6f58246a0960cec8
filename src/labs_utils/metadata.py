"""ML Metadata (MLMD): open a store, register types, record executions, walk lineage, show tables.

The calls the course teaches (``put_artifact_type``, ``put_execution``, ``get_events_by_*``) stay
visible in the notebooks; this module holds the repeated plumbing around them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from ml_metadata import errors
from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2

# Also metadata.artifacts_table, executions_table, properties_table, types_table (labs_utils.metadata_tables).
__all__ = [
    "DOUBLE", "INPUT_EVENTS", "INT", "OUTPUT_EVENTS", "STRING", "Event", "artifacts_of_type",
    "child_artifacts", "complete_execution", "consumer_executions", "execution_inputs",
    "execution_outputs", "executions_of_type", "fail_execution", "get_or_create_context", "get_value",
    "new_artifact", "open_store", "parent_artifacts", "producer_execution", "property_value",
    "record_execution", "register_artifact_type", "register_context_type", "register_execution_type",
    "set_value", "start_execution", "type_name",
]  # fmt: skip

STRING = metadata_store_pb2.STRING
INT = metadata_store_pb2.INT
DOUBLE = metadata_store_pb2.DOUBLE

Event = metadata_store_pb2.Event
INPUT_EVENTS = frozenset({Event.INPUT, Event.DECLARED_INPUT, Event.INTERNAL_INPUT})
OUTPUT_EVENTS = frozenset({Event.OUTPUT, Event.DECLARED_OUTPUT, Event.INTERNAL_OUTPUT})

Node = metadata_store_pb2.Artifact | metadata_store_pb2.Execution | metadata_store_pb2.Context


def open_store(path: str | Path | None = None) -> metadata_store.MetadataStore:
    """Return an MLMD store: a SQLite file at ``path`` (created if missing) or in memory if None.

    Introduced in c2w3_lab_ml_metadata.
    """
    config = metadata_store_pb2.ConnectionConfig()
    if path is None:
        config.fake_database.SetInParent()
    else:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        config.sqlite.filename_uri = str(path)
        config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return metadata_store.MetadataStore(config)


def _fill_type(type_proto: Any, name: str, properties: Mapping[str, int] | None) -> Any:
    type_proto.name = name
    for key, value_type in (properties or {}).items():
        type_proto.properties[key] = value_type
    return type_proto


def _put_type(put: Any, type_proto: Any) -> int:
    # Both flags make a rerun a no-op: stored fields stay, new ones are added.
    try:
        return put(type_proto, can_add_fields=True, can_omit_fields=True)
    except errors.AlreadyExistsError as exc:
        raise ValueError(
            f"type {type_proto.name!r} already exists in this store with different property "
            f"types ({exc}); use a fresh store or another type name"
        ) from exc


def register_artifact_type(
    store: metadata_store.MetadataStore, name: str, properties: Mapping[str, int] | None = None
) -> int:
    """Return the id of an artifact type, registering it first if the store lacks it.

    Args:
        properties: property name -> ``metadata_store_pb2.STRING`` / ``INT`` / ``DOUBLE``.
    """
    type_proto = _fill_type(metadata_store_pb2.ArtifactType(), name, properties)
    return _put_type(store.put_artifact_type, type_proto)


def register_execution_type(
    store: metadata_store.MetadataStore, name: str, properties: Mapping[str, int] | None = None
) -> int:
    """Return the id of an execution type, registering it first if the store lacks it."""
    type_proto = _fill_type(metadata_store_pb2.ExecutionType(), name, properties)
    return _put_type(store.put_execution_type, type_proto)


def register_context_type(
    store: metadata_store.MetadataStore, name: str, properties: Mapping[str, int] | None = None
) -> int:
    """Return the id of a context type, registering it first if the store lacks it."""
    type_proto = _fill_type(metadata_store_pb2.ContextType(), name, properties)
    return _put_type(store.put_context_type, type_proto)


def set_value(value_proto: metadata_store_pb2.Value, value: Any) -> None:
    """Store a python value in an MLMD ``Value``: str, int, float, bool, dict (a struct), else JSON."""
    if isinstance(value, dict):
        value_proto.struct_value.update(value)
    elif isinstance(value, bool):
        value_proto.bool_value = value
    elif isinstance(value, int):
        value_proto.int_value = value
    elif isinstance(value, float):
        value_proto.double_value = value
    elif isinstance(value, str):
        value_proto.string_value = value
    else:
        value_proto.string_value = json.dumps(value, default=str)


def get_value(value_proto: metadata_store_pb2.Value) -> Any:
    """Return the python value held by an MLMD ``Value`` (a struct as a dict, as TFX reads it)."""
    kind = value_proto.WhichOneof("value")
    if kind == "struct_value":
        value = json_format.MessageToDict(value_proto.struct_value)
        # TFX wraps a JSON value that is not an object as {"__value__": <JSON text>}.
        return json.loads(value["__value__"]) if set(value) == {"__value__"} else value
    return None if kind is None else getattr(value_proto, kind)


def _set_properties(node: Node, properties: Mapping[str, Any] | None, custom: bool) -> None:
    target = node.custom_properties if custom else node.properties
    for key, value in (properties or {}).items():
        set_value(target[key], value)


def new_artifact(
    store: metadata_store.MetadataStore,
    type_name: str,
    uri: str | Path,
    *,
    properties: Mapping[str, Any] | None = None,
    custom_properties: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> metadata_store_pb2.Artifact:
    """Return an unsaved LIVE artifact of a registered type (``complete_execution`` stores it)."""
    artifact = metadata_store_pb2.Artifact(
        type_id=store.get_artifact_type(type_name).id,
        uri=str(uri),
        state=metadata_store_pb2.Artifact.LIVE,
    )
    if name:
        artifact.name = name
    _set_properties(artifact, properties, custom=False)
    _set_properties(artifact, custom_properties, custom=True)
    return artifact


def get_or_create_context(
    store: metadata_store.MetadataStore,
    type_name: str,
    name: str,
    *,
    properties: Mapping[str, Any] | None = None,
    parent: metadata_store_pb2.Context | None = None,
) -> metadata_store_pb2.Context:
    """Return the context ``name`` of a type, creating the type, the context and its parent link."""
    register_context_type(store, type_name, {key: STRING for key in properties or {}})
    existing = store.get_context_by_type_and_name(type_name, name)
    if existing is not None:
        return existing
    context = metadata_store_pb2.Context(type_id=store.get_context_type(type_name).id, name=name)
    for key, value in (properties or {}).items():
        context.properties[key].string_value = str(value)
    [context.id] = store.put_contexts([context])
    if parent is not None:
        link = metadata_store_pb2.ParentContext(child_id=context.id, parent_id=parent.id)
        store.put_parent_contexts([link])
    return context


def _as_list(contexts: metadata_store_pb2.Context | Sequence[metadata_store_pb2.Context] | None):
    if contexts is None:
        return []
    if isinstance(contexts, metadata_store_pb2.Context):
        return [contexts]
    return list(contexts)


def _event(kind: int, key: str, index: int) -> metadata_store_pb2.Event:
    event = metadata_store_pb2.Event(type=kind)
    event.path.steps.add().key = key
    event.path.steps.add().index = index
    return event


def _pairs(artifacts: Mapping[str, Sequence[metadata_store_pb2.Artifact]] | None, kind: int):
    return [
        (_proto(artifact), _event(kind, key, index))
        for key, group in (artifacts or {}).items()
        for index, artifact in enumerate(group)
    ]


def _put(
    store: metadata_store.MetadataStore,
    execution: metadata_store_pb2.Execution,
    pairs: list,
    contexts: list[metadata_store_pb2.Context],
) -> metadata_store_pb2.Execution:
    execution_id, artifact_ids, _ = store.put_execution(execution, pairs, contexts, force_reuse_context=True)
    for (artifact, _), artifact_id in zip(pairs, artifact_ids, strict=True):
        artifact.id = artifact_id
    [stored] = store.get_executions_by_id([execution_id])
    return stored


def start_execution(
    store: metadata_store.MetadataStore,
    type_name: str,
    inputs: Mapping[str, Sequence[metadata_store_pb2.Artifact]] | None = None,
    *,
    contexts: metadata_store_pb2.Context | Sequence[metadata_store_pb2.Context] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> metadata_store_pb2.Execution:
    """Return a stored RUNNING execution with its INPUT events, linked to ``contexts``.

    Pair it with ``complete_execution`` (or ``fail_execution``) once the outputs exist.
    """
    register_execution_type(store, type_name)
    execution = metadata_store_pb2.Execution(
        type_id=store.get_execution_type(type_name).id,
        last_known_state=metadata_store_pb2.Execution.RUNNING,
    )
    _set_properties(execution, properties, custom=True)
    return _put(store, execution, _pairs(inputs, Event.INPUT), _as_list(contexts))


def complete_execution(
    store: metadata_store.MetadataStore,
    execution: metadata_store_pb2.Execution,
    outputs: Mapping[str, Sequence[metadata_store_pb2.Artifact]] | None = None,
    *,
    contexts: metadata_store_pb2.Context | Sequence[metadata_store_pb2.Context] | None = None,
) -> metadata_store_pb2.Execution:
    """Return the execution marked COMPLETE, its output artifacts stored with OUTPUT events.

    New output artifacts get their ids set in place.
    """
    execution.last_known_state = metadata_store_pb2.Execution.COMPLETE
    return _put(store, execution, _pairs(outputs, Event.OUTPUT), _as_list(contexts))


def fail_execution(
    store: metadata_store.MetadataStore, execution: metadata_store_pb2.Execution
) -> metadata_store_pb2.Execution:
    """Return the execution marked FAILED (it keeps its inputs and registers no outputs)."""
    execution.last_known_state = metadata_store_pb2.Execution.FAILED
    return _put(store, execution, [], [])


def record_execution(
    store: metadata_store.MetadataStore,
    type_name: str,
    inputs: Mapping[str, Sequence[metadata_store_pb2.Artifact]] | None = None,
    outputs: Mapping[str, Sequence[metadata_store_pb2.Artifact]] | None = None,
    *,
    contexts: metadata_store_pb2.Context | Sequence[metadata_store_pb2.Context] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> metadata_store_pb2.Execution:
    """Return a stored, finished execution with INPUT/OUTPUT events, attached to ``contexts``.

    Args:
        inputs, outputs: event key (e.g. ``"examples"``) -> artifacts. Inputs must be stored
            already; new outputs are stored and get their ids set in place.
        properties: custom properties of the execution (non-scalars are stored as JSON text).
    """
    register_execution_type(store, type_name)
    execution = metadata_store_pb2.Execution(
        type_id=store.get_execution_type(type_name).id,
        last_known_state=metadata_store_pb2.Execution.COMPLETE,
    )
    _set_properties(execution, properties, custom=True)
    pairs = _pairs(inputs, Event.INPUT) + _pairs(outputs, Event.OUTPUT)
    return _put(store, execution, pairs, _as_list(contexts))


# --- lineage -------------------------------------------------------------------------------


def _proto(node: Any) -> Any:
    """Accept an MLMD proto or a handle that wraps one in ``.mlmd`` (``pipeline.Artifact``)."""
    return getattr(node, "mlmd", node)


def _key(event: metadata_store_pb2.Event) -> str:
    return next((step.key for step in event.path.steps if step.HasField("key")), "")


def _artifacts_by_id(store: metadata_store.MetadataStore, ids: Iterable[int]) -> list:
    ids = sorted(set(ids))
    return list(store.get_artifacts_by_id(ids)) if ids else []


def _executions_by_id(store: metadata_store.MetadataStore, ids: Iterable[int]) -> list:
    ids = sorted(set(ids))
    return list(store.get_executions_by_id(ids)) if ids else []


def producer_execution(
    store: metadata_store.MetadataStore, artifact: Any
) -> metadata_store_pb2.Execution | None:
    """Return the execution that output ``artifact``, or None for an artifact nobody produced.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    events = store.get_events_by_artifact_ids([_proto(artifact).id])
    found = _executions_by_id(store, (e.execution_id for e in events if e.type in OUTPUT_EVENTS))
    return found[0] if found else None


def consumer_executions(
    store: metadata_store.MetadataStore, artifact: Any
) -> list[metadata_store_pb2.Execution]:
    """Return the executions that read ``artifact``.

    Introduced in c2w3_lab_iterative_schema.
    """
    events = store.get_events_by_artifact_ids([_proto(artifact).id])
    return _executions_by_id(store, (e.execution_id for e in events if e.type in INPUT_EVENTS))


def _execution_artifacts(store, execution: Any, kinds: frozenset) -> dict[str, list]:
    events = [e for e in store.get_events_by_execution_ids([_proto(execution).id]) if e.type in kinds]
    by_id = {a.id: a for a in _artifacts_by_id(store, (e.artifact_id for e in events))}
    grouped: dict[str, list] = {}
    for event in events:
        grouped.setdefault(_key(event), []).append(by_id[event.artifact_id])
    return grouped


def execution_inputs(
    store: metadata_store.MetadataStore, execution: Any
) -> dict[str, list[metadata_store_pb2.Artifact]]:
    """Return an execution's input artifacts grouped by event key (``"examples"``, ``"schema"``).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return _execution_artifacts(store, execution, INPUT_EVENTS)


def execution_outputs(
    store: metadata_store.MetadataStore, execution: Any
) -> dict[str, list[metadata_store_pb2.Artifact]]:
    """Return an execution's output artifacts grouped by event key."""
    return _execution_artifacts(store, execution, OUTPUT_EVENTS)


def parent_artifacts(store: metadata_store.MetadataStore, artifact: Any) -> list[metadata_store_pb2.Artifact]:
    """Return the inputs of the executions that output ``artifact`` (OUTPUT -> INPUT events).

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    return _linked_artifacts(store, artifact, OUTPUT_EVENTS, INPUT_EVENTS)


def child_artifacts(store: metadata_store.MetadataStore, artifact: Any) -> list[metadata_store_pb2.Artifact]:
    """Return the outputs of the executions that read ``artifact`` (INPUT -> OUTPUT events).

    Introduced in c2w3_lab_ml_metadata.
    """
    return _linked_artifacts(store, artifact, INPUT_EVENTS, OUTPUT_EVENTS)


def _linked_artifacts(
    store: metadata_store.MetadataStore, artifact: Any, via: Any, to: Any
) -> list[metadata_store_pb2.Artifact]:
    """Return the artifacts on the ``to`` side of the executions linked to ``artifact`` by ``via`` events."""
    events = store.get_events_by_artifact_ids([_proto(artifact).id])
    execution_ids = {e.execution_id for e in events if e.type in via}
    if not execution_ids:
        return []
    linked = store.get_events_by_execution_ids(sorted(execution_ids))
    return _artifacts_by_id(store, (e.artifact_id for e in linked if e.type in to))


def artifacts_of_type(
    store: metadata_store.MetadataStore, type_name: str
) -> list[metadata_store_pb2.Artifact]:
    """Return all artifacts of a type, oldest first (none if the type is not registered)."""
    return _oldest_first(store.get_artifacts_by_type, type_name)


def executions_of_type(
    store: metadata_store.MetadataStore, type_name: str
) -> list[metadata_store_pb2.Execution]:
    """Return all executions of a type, oldest first (none if the type is not registered)."""
    return _oldest_first(store.get_executions_by_type, type_name)


def _oldest_first(get_by_type: Callable[[str], list[Any]], type_name: str) -> list[Any]:
    """Return what ``get_by_type(type_name)`` finds in id order; none if the type is not registered."""
    try:
        return sorted(get_by_type(type_name), key=lambda node: node.id)
    except errors.NotFoundError:
        return []


def type_name(store: metadata_store.MetadataStore, node: Any) -> str:
    """Return the type name of an artifact, execution or context.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    node = _proto(node)
    if node.type:
        return node.type
    getter = {
        metadata_store_pb2.Artifact: store.get_artifact_types_by_id,
        metadata_store_pb2.Execution: store.get_execution_types_by_id,
        metadata_store_pb2.Context: store.get_context_types_by_id,
    }[type(node)]
    return getter([node.type_id])[0].name


def property_value(node: Any, name: str, default: Any = None) -> Any:
    """Return a property (or custom property) of an MLMD node as a python value.

    Introduced in c2w3_lab_iterative_schema.
    """
    node = _proto(node)
    for props in (node.properties, node.custom_properties):
        if name in props:
            return get_value(props[name])
    return default


_TABLES = ("artifacts_table", "executions_table", "properties_table", "types_table")


def __getattr__(name: str) -> Any:
    """Return the table helpers of ``labs_utils.metadata_tables`` as ``metadata.<name>``."""
    # Imported on first use: metadata_tables imports this module, so a top-level import would loop.
    if name in _TABLES:
        from labs_utils import metadata_tables

        return getattr(metadata_tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
