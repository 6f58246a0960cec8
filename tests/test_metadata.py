"""Tests for labs_utils.metadata: types, executions, lineage and tables on small stores."""

from __future__ import annotations

import pytest
from ml_metadata.proto import metadata_store_pb2

from labs_utils import metadata


@pytest.fixture()
def store():
    return metadata.open_store()


def _chain(store):
    """DataSet -> Validation -> Schema, all in the context 'Demo'."""
    metadata.register_artifact_type(store, "DataSet", {"split": metadata.STRING})
    metadata.register_artifact_type(store, "Schema")
    context = metadata.get_or_create_context(store, "Experiment", "Demo", properties={"note": "x"})
    dataset = metadata.new_artifact(store, "DataSet", "/data/train.csv", properties={"split": "train"})
    [dataset.id] = store.put_artifacts([dataset])
    schema = metadata.new_artifact(store, "Schema", "/root/schema/schema.pbtxt")
    execution = metadata.record_execution(
        store,
        "Data Validation",
        inputs={"examples": [dataset]},
        outputs={"schema": [schema]},
        contexts=context,
        properties={"options": {"infer": True}, "rows": 3},
    )
    return dataset, schema, execution, context


def test_register_types_twice_returns_same_ids(store):
    first = metadata.register_artifact_type(store, "DataSet", {"name": metadata.STRING})
    again = metadata.register_artifact_type(store, "DataSet", {"name": metadata.STRING})
    widened = metadata.register_artifact_type(
        store, "DataSet", {"name": metadata.STRING, "version": metadata.INT}
    )
    assert first == again == widened
    stored = store.get_artifact_type("DataSet")
    assert dict(stored.properties) == {"name": metadata.STRING, "version": metadata.INT}
    assert metadata.register_execution_type(store, "Trainer") == metadata.register_execution_type(
        store, "Trainer"
    )
    assert metadata.register_context_type(store, "Run") == metadata.register_context_type(store, "Run")


def test_conflicting_property_type_is_a_clear_error(store):
    metadata.register_artifact_type(store, "DataSet", {"version": metadata.INT})
    with pytest.raises(ValueError, match="DataSet"):
        metadata.register_artifact_type(store, "DataSet", {"version": metadata.STRING})


def test_sqlite_store_reopens_with_the_same_types(tmp_path):
    path = tmp_path / "nested" / "mlmd.sqlite"
    store = metadata.open_store(path)
    type_id = metadata.register_artifact_type(store, "Examples", {"split_names": metadata.STRING})
    del store
    reopened = metadata.open_store(path)
    assert path.exists()
    assert metadata.register_artifact_type(reopened, "Examples") == type_id


def test_record_execution_links_events_and_context(store):
    dataset, schema, execution, context = _chain(store)
    assert schema.id > 0, "new outputs get their ids set in place"
    assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE
    assert metadata.type_name(store, execution) == "Data Validation"
    inputs = metadata.execution_inputs(store, execution)
    outputs = metadata.execution_outputs(store, execution)
    assert {key: [a.uri for a in group] for key, group in inputs.items()} == {"examples": ["/data/train.csv"]}
    assert {key: [a.uri for a in group] for key, group in outputs.items()} == {
        "schema": ["/root/schema/schema.pbtxt"]
    }
    assert {a.id for a in store.get_artifacts_by_context(context.id)} == {dataset.id, schema.id}
    assert [e.id for e in store.get_executions_by_context(context.id)] == [execution.id]
    assert metadata.property_value(execution, "rows") == 3
    assert metadata.property_value(execution, "options") == {"infer": True}


def test_lineage_parents_children_and_producer(store):
    dataset, schema, execution, _ = _chain(store)
    assert [a.id for a in metadata.parent_artifacts(store, schema)] == [dataset.id]
    assert [a.id for a in metadata.child_artifacts(store, dataset)] == [schema.id]
    assert metadata.parent_artifacts(store, dataset) == []
    assert metadata.child_artifacts(store, schema) == []
    assert metadata.producer_execution(store, schema).id == execution.id
    assert metadata.producer_execution(store, dataset) is None
    assert [e.id for e in metadata.consumer_executions(store, dataset)] == [execution.id]
    assert [a.id for a in metadata.artifacts_of_type(store, "Schema")] == [schema.id]
    assert metadata.artifacts_of_type(store, "NoSuchType") == []


def test_declared_events_count_as_lineage(store):
    """Hand-built runs (lab 7) use DECLARED_INPUT/OUTPUT events; lineage follows them too."""
    metadata.register_artifact_type(store, "DataSet")
    metadata.register_execution_type(store, "Data Validation")
    dataset = metadata.new_artifact(store, "DataSet", "/d.csv")
    schema = metadata.new_artifact(store, "DataSet", "/s.pbtxt")
    dataset.id, schema.id = store.put_artifacts([dataset, schema])
    execution = metadata_store_pb2.Execution(type_id=store.get_execution_type("Data Validation").id)
    [execution.id] = store.put_executions([execution])
    store.put_events(
        [
            metadata_store_pb2.Event(
                artifact_id=dataset.id,
                execution_id=execution.id,
                type=metadata_store_pb2.Event.DECLARED_INPUT,
            ),
            metadata_store_pb2.Event(
                artifact_id=schema.id,
                execution_id=execution.id,
                type=metadata_store_pb2.Event.DECLARED_OUTPUT,
            ),
        ]
    )
    assert [a.uri for a in metadata.parent_artifacts(store, schema)] == ["/d.csv"]


def test_start_then_fail_registers_no_outputs(store):
    metadata.register_artifact_type(store, "DataSet")
    dataset = metadata.new_artifact(store, "DataSet", "/d.csv")
    [dataset.id] = store.put_artifacts([dataset])
    execution = metadata.start_execution(store, "Trainer", {"examples": [dataset]})
    assert execution.last_known_state == metadata_store_pb2.Execution.RUNNING
    failed = metadata.fail_execution(store, execution)
    assert failed.last_known_state == metadata_store_pb2.Execution.FAILED
    assert metadata.execution_outputs(store, failed) == {}
    assert list(metadata.execution_inputs(store, failed)) == ["examples"]


def test_context_is_created_once(store):
    parent = metadata.get_or_create_context(store, "pipeline", "p")
    first = metadata.get_or_create_context(store, "pipeline_run", "r1", parent=parent)
    again = metadata.get_or_create_context(store, "pipeline_run", "r1", parent=parent)
    assert first.id == again.id
    assert [c.id for c in store.get_parent_contexts_by_context(first.id)] == [parent.id]


def test_tables(store, tmp_path):
    metadata.register_artifact_type(store, "Examples", {"split_names": metadata.STRING})
    context = metadata.get_or_create_context(store, "pipeline_run", "run")
    examples = metadata.new_artifact(
        store,
        "Examples",
        tmp_path / "ExampleGen" / "examples" / "1",
        properties={"split_names": '["train", "eval"]'},
        custom_properties={"file_format": "tfrecords_gzip"},
    )
    metadata.record_execution(store, "ExampleGen", outputs={"examples": [examples]}, contexts=context)

    types = metadata.types_table(store)
    assert {"Examples", "ExampleGen", "pipeline_run"} <= set(types["type"])
    assert types.set_index("type").loc["Examples", "properties"] == "split_names:STRING"

    table = metadata.artifacts_table(store, root=tmp_path)
    assert table[["type", "producer", "state", "uri"]].to_dict("records") == [
        {"type": "Examples", "producer": "ExampleGen", "state": "LIVE", "uri": "ExampleGen/examples/1"}
    ]
    assert metadata.artifacts_table(store, type_name="Schema").empty

    props = metadata.properties_table(examples).set_index("property")
    assert props.loc["split_names", "value"] == '["train", "eval"]'
    assert props.loc["file_format", "kind"] == "custom"

    executions = metadata.executions_table(store)
    assert executions[["type", "state", "inputs", "outputs"]].to_dict("records") == [
        {"type": "ExampleGen", "state": "COMPLETE", "inputs": 0, "outputs": 1}
    ]


def test_dict_values_are_structs_read_back_as_tfx_does(store):
    metadata.register_artifact_type(store, "ExampleAnomalies")
    artifact = metadata.new_artifact(
        store,
        "ExampleAnomalies",
        "/a",
        custom_properties={"blessed": {"train": 1, "eval": 0}, "rates": {"__value__": '{"train": 1.0}'}},
    )
    [artifact.id] = store.put_artifacts([artifact])
    [stored] = store.get_artifacts_by_id([artifact.id])
    assert stored.custom_properties["blessed"].WhichOneof("value") == "struct_value"
    assert metadata.property_value(stored, "blessed") == {"train": 1.0, "eval": 0.0}
    # TFX wraps a JSON value as {"__value__": <JSON text>}; reading it unwraps the value.
    assert metadata.property_value(stored, "rates") == {"train": 1.0}
