"""An ML Metadata store on disk keeps what was written: artifacts, executions, events and contexts
survive closing and reopening the SQLite file (type ids alone cannot show it: they are deterministic)."""

from __future__ import annotations

import gc
from pathlib import Path

from ml_metadata.proto import metadata_store_pb2

from labs_utils import metadata


def write_run(path: Path) -> dict[str, int]:
    """Record `examples -> Validate -> schema` in a fresh store at `path`, close it; return the ids."""
    store = metadata.open_store(path)
    metadata.register_artifact_type(store, "Examples", {"split_names": metadata.STRING})
    metadata.register_artifact_type(store, "Schema")
    run = metadata.get_or_create_context(store, "pipeline_run", "run-1", properties={"note": "first"})
    examples = metadata.new_artifact(
        store, "Examples", "/data/examples", properties={"split_names": '["train", "eval"]'}, name="ex"
    )
    [examples.id] = store.put_artifacts([examples])
    schema = metadata.new_artifact(store, "Schema", "/data/schema", custom_properties={"rows": 1234})
    execution = metadata.record_execution(
        store,
        "Validate",
        inputs={"examples": [examples]},
        outputs={"schema": [schema]},
        contexts=run,
        properties={"state": "done"},
    )
    ids = {"examples": examples.id, "schema": schema.id, "execution": execution.id, "context": run.id}
    del store, execution
    gc.collect()  # the store's handle closes the SQLite connection when it is collected
    return ids


def test_a_reopened_sqlite_store_still_holds_the_artifacts_and_their_lineage(tmp_path):
    path = tmp_path / "metadata" / "mlmd.sqlite"
    ids = write_run(path)
    size = path.stat().st_size
    reopened = metadata.open_store(path)
    assert path.stat().st_size == size  # opening does not rewrite the file

    [examples] = metadata.artifacts_of_type(reopened, "Examples")
    [schema] = metadata.artifacts_of_type(reopened, "Schema")
    assert (examples.id, examples.uri, examples.name) == (ids["examples"], "/data/examples", "ex")
    assert metadata.property_value(examples, "split_names") == '["train", "eval"]'
    assert (schema.id, schema.uri) == (ids["schema"], "/data/schema")
    assert metadata.property_value(schema, "rows") == 1234

    [execution] = metadata.executions_of_type(reopened, "Validate")
    assert execution.id == ids["execution"]
    assert execution.last_known_state == metadata_store_pb2.Execution.COMPLETE
    assert metadata.property_value(execution, "state") == "done"
    assert [a.id for a in metadata.parent_artifacts(reopened, schema)] == [ids["examples"]]
    assert metadata.producer_execution(reopened, schema).id == ids["execution"]

    context = reopened.get_context_by_type_and_name("pipeline_run", "run-1")
    assert context is not None and context.id == ids["context"]
    assert {a.id for a in reopened.get_artifacts_by_context(context.id)} == {ids["examples"], ids["schema"]}
    # get_or_create_context finds the stored context instead of making another
    again = metadata.get_or_create_context(reopened, "pipeline_run", "run-1", properties={"note": "first"})
    assert again.id == ids["context"]


def test_a_second_run_appends_to_the_store(tmp_path):
    path = tmp_path / "mlmd.sqlite"
    first = write_run(path)
    store = metadata.open_store(path)
    examples = metadata.new_artifact(store, "Examples", "/data/examples-2")
    [examples.id] = store.put_artifacts([examples])
    del store
    gc.collect()
    reopened = metadata.open_store(path)
    uris = sorted(a.uri for a in metadata.artifacts_of_type(reopened, "Examples"))
    assert uris == ["/data/examples", "/data/examples-2"]
    assert first["examples"] in {a.id for a in metadata.artifacts_of_type(reopened, "Examples")}
