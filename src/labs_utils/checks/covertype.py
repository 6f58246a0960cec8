"""Checks of the twelve exercises of c2w3_assignment_pipeline_covertype.

The learner wires the pipeline's components (ExampleGen, StatisticsGen, SchemaGen, ImportSchemaGen,
ExampleValidator, Transform), curates the schema with TFDV, writes the ``preprocessing_fn`` and queries
ML Metadata. Each check reads what the learner's components consumed and produced, and names a
recognised mistake with a hint: a component not run, the wrong split or file, a range on the wrong
feature, a label not marked categorical, a schema changed but not validated again, an environment not
named, SchemaGen's inferred schema where the imported one belongs, a scaling swapped, a wrong artifact
type, children or executions where parents were asked for. Checks read files and the MLMD store; none
runs a Beam pipeline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labs_utils.checks import Assignment, Exercise, Mistake

__all__ = ["ASSIGNMENT", "CURATED_RANGES", "LABEL", "assert_all_passed", "check"]

LAB = "c2w3_assignment_pipeline_covertype"
LABEL = "Cover_Type"
CURATED_RANGES = {"Hillshade_9am": (0, 255), "Hillshade_Noon": (0, 255), "Slope": (0, 90), LABEL: (0, 6)}
ZERO_ONE = (
    "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology", "Hillshade_9am", "Hillshade_Noon",
    "Horizontal_Distance_To_Fire_Points",
)  # fmt: skip  # scale_by_min_max and scale_to_0_1: both map to [0, 1]
Z_SCORE = ("Elevation", "Slope", "Horizontal_Distance_To_Roadways")
HASH_BUCKETS = 10

Namespace = Mapping[str, Any]


# --- shared pieces --------------------------------------------------------------------------


def _tfdv() -> Any:
    """Return tensorflow_data_validation (imported on first use: it takes seconds)."""
    import tensorflow_data_validation as tfdv

    return tfdv


def _kinds(anomalies: Any) -> dict[str, list[str]]:
    """Return each anomalous feature's reason types."""
    from labs_utils import validation

    return validation.anomaly_kinds(anomalies)


def _component(ns: Namespace, name: str, kind: str) -> Any:
    """Return the pipeline component ``name`` after checking its class and that it ran."""
    from labs_utils import pipeline

    value = ns[name]
    expected = getattr(pipeline, kind)
    if not isinstance(value, expected):
        raise Mistake(
            f"`{name}` is a {type(value).__name__}, not a {kind}.", f"build it with pipeline.{kind}(...)."
        )
    if not value.outputs:
        raise Mistake(f"`{name}` has not run: it has no outputs yet.", f"run it with context.run({name}).")
    return value


def _same(artifact: Any, other: Any) -> bool:
    """Tell whether two artifacts (wrappers or MLMD protos) are the same MLMD artifact."""
    return artifact is not None and other is not None and artifact.id == other.id


def _schema_input(ns: Namespace, component: Any, name: str, what: str) -> None:
    """Raise Mistake unless ``component`` read the imported schema, naming the inferred one if it did."""
    given = component.inputs().get("schema")
    if _same(given, ns.get("schema_artifact")):
        raise Mistake(
            f"`{name}` {what} SchemaGen's inferred schema, which knows none of your curation.",
            "pass the Schema artifact ImportSchemaGen produced (`imported_schema`).",
        )
    if not _same(given, ns["imported_schema"]):
        raise Mistake(f"`{name}` does not read the imported schema.", "pass `imported_schema`.")


def _stats_kind(stats: Any, feature: str) -> str | None:
    """Return which statistics TFDV computed for a feature (num_stats, string_stats), if any."""
    tfdv = _tfdv()
    for feature_stats in stats.datasets[0].features:
        if feature_stats.path == tfdv.FeaturePath([feature]).to_proto():
            return feature_stats.WhichOneof("stats")
    return None


def _features(stats: Any) -> set[str]:
    """Return the feature names of the first dataset of a statistics proto."""
    return {feature.path.step[0] for feature in stats.datasets[0].features}


def _anomalies(ns: Namespace, name: str) -> Any:
    """Return the anomalies proto called ``name``, or raise Mistake if it is something else."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    value = ns[name]
    if not isinstance(value, anomalies_pb2.Anomalies):
        raise Mistake(
            f"`{name}` is a {type(value).__name__}, not an anomalies proto.",
            "keep what tfdv.validate_statistics returns.",
        )
    return value


# --- the pipeline's first components ---------------------------------------------------------


def _example_gen(ns: Namespace) -> str:
    """Exercise 1: CsvExampleGen on the file of selected columns, split two to one."""
    example_gen = _component(ns, "example_gen", "CsvExampleGen")
    read = Path(example_gen.input_base)
    wanted = Path(ns["selected_csv"]).resolve()
    if read != wanted and read != wanted.parent:
        raise Mistake(
            f"ExampleGen read {read}, not the file of selected columns.",
            "give it `selected_csv`, the file the cell above wrote.",
        )
    examples = example_gen.outputs["examples"]
    if examples.split_names != ["train", "eval"]:
        raise Mistake(
            f"the examples have the splits {examples.split_names}.",
            "keep ExampleGen's default output splits: train and eval, two to one.",
        )
    columns = set(examples.read("train", n=1)[0])
    if columns != set(ns["pipeline_columns"]):
        raise Mistake(f"the examples hold the columns {sorted(columns)}, not the selected ones.")
    return f"{examples.type_name} with the splits {examples.split_names}, {len(columns)} columns each."


def _statistics_gen(ns: Namespace) -> str:
    """Exercise 2: StatisticsGen over ExampleGen's examples, every split."""
    statistics_gen = _component(ns, "statistics_gen", "StatisticsGen")
    if not _same(statistics_gen.inputs()["examples"], ns["example_gen"].outputs["examples"]):
        raise Mistake("`statistics_gen` does not read ExampleGen's examples.", "pass `examples`.")
    splits = statistics_gen.outputs["statistics"].split_names
    if splits != ["train", "eval"]:
        raise Mistake(
            f"`statistics_gen` described only {splits}: the schema needs statistics of every split.",
            "leave exclude_splits out.",
        )
    if statistics_gen.schema is not None:
        raise Mistake(
            "`statistics_gen` already has a schema: this first pass infers types from the data.",
            "give it the examples only.",
        )
    return "statistics of both splits, types inferred from the data."


def _schema_gen(ns: Namespace) -> str:
    """Exercise 3: SchemaGen over the statistics of both splits."""
    schema_gen = _component(ns, "schema_gen", "SchemaGen")
    if not _same(schema_gen.inputs()["statistics"], ns["statistics_gen"].outputs["statistics"]):
        raise Mistake("`schema_gen` does not read StatisticsGen's statistics.", "pass `statistics`.")
    if schema_gen.splits != ["train", "eval"]:
        raise Mistake(
            f"`schema_gen` inferred from {schema_gen.splits} only; an eval-only soil type would then be an "
            "anomaly.",
            "let SchemaGen read every split, as TFX's does (no exclude_splits).",
        )
    if not schema_gen.infer_feature_shape:
        raise Mistake(
            "`schema_gen` does not infer feature shapes, so Transform would get sparse tensors.",
            "keep infer_feature_shape=True.",
        )
    return "a schema inferred from both splits."


# --- the schema --------------------------------------------------------------------------------


def _range(feature: Any) -> tuple[int, int] | None:
    """Return a feature's integer domain as (min, max), or None without one."""
    if not feature.HasField("int_domain"):
        return None
    return int(feature.int_domain.min), int(feature.int_domain.max)


def _curated_schema(ns: Namespace) -> str:
    """Exercise 4: ranges on the hillshades and slope, a categorical label, and eval validated again."""
    from labs_utils import pipeline

    tfdv = _tfdv()
    schema = ns["schema"]
    inferred = {
        f.name for f in pipeline.load_schema(ns["schema_artifact"]).feature if f.HasField("int_domain")
    }
    ranges = {f.name: _range(f) for f in schema.feature if _range(f) is not None and f.name not in inferred}
    for feature, wanted in CURATED_RANGES.items():
        got = ranges.get(feature)
        if got is None:
            elsewhere = sorted(f for f, r in ranges.items() if r == wanted and f not in CURATED_RANGES)
            if elsewhere:
                raise Mistake(
                    f"{feature} has no range, but {elsewhere[0]} has {wanted[0]}-{wanted[1]}: the domain "
                    "went on the wrong feature.",
                    "check the feature name you pass to tfdv.set_domain.",
                )
            raise Mistake(
                f"{feature} has no range yet.",
                "tfdv.set_domain with a schema_pb2.IntDomain(min=..., max=...).",
            )
        if got != wanted:
            raise Mistake(
                f"{feature}'s range is {got[0]}-{got[1]}.",
                "hillshade is an 8-bit index, slope an angle from flat to vertical, the label one of 7 "
                "classes.",
            )
    extra = sorted(set(ranges) - set(CURATED_RANGES))
    if extra:
        raise Mistake(f"you also set a range on {extra}, which this exercise leaves as inferred.")
    if not tfdv.get_feature(schema, LABEL).int_domain.is_categorical:
        raise Mistake(
            f"{LABEL}'s domain is not marked categorical, so statistics would still average class ids.",
            "look up is_categorical in schema_pb2.IntDomain.",
        )
    curated = _anomalies(ns, "curated_anomalies")
    if curated is ns.get("eval_anomalies"):
        raise Mistake(
            "`curated_anomalies` is ExampleValidator's result from before your change to the schema.",
            "validate eval_stats again, against the curated `schema`.",
        )
    fresh = tfdv.validate_statistics(ns["eval_stats"], schema)
    if _kinds(curated) != _kinds(fresh):
        raise Mistake(
            "`curated_anomalies` does not match validating eval_stats against the curated schema.",
            "validate eval_stats (not train_stats) with tfdv.validate_statistics after your changes.",
        )
    broken = sorted(set(_kinds(fresh)) | set(_kinds(tfdv.validate_statistics(ns["train_stats"], schema))))
    if broken:
        raise Mistake(f"the data breaks your schema in {broken}.", "read those anomalies.")
    return "the hillshades, slope and label have ranges, the label is a category, and eval still validates."


def _serving_statistics(ns: Namespace) -> str:
    """Exercise 5: serving statistics typed by the curated schema, validated against it."""
    tfdv = _tfdv()
    options = ns["serving_options"]
    if not isinstance(options, tfdv.StatsOptions):
        raise Mistake("`serving_options` is not a tfdv.StatsOptions.")
    if options.schema is None:
        raise Mistake("`serving_options` has no schema.", "give StatsOptions the curated schema.")
    if not options.infer_type_from_schema:
        raise Mistake(
            "`serving_options` does not take the feature types from the schema.",
            "look up infer_type_from_schema in tfdv.StatsOptions.",
        )
    stats, serving_df = ns["serving_stats"], ns["serving_df"]
    rows = stats.datasets[0].num_examples
    if LABEL in _features(stats) or rows != len(serving_df):
        raise Mistake(
            f"`serving_stats` counts {rows:,} rows"
            + (f" and has the label {LABEL}" if LABEL in _features(stats) else "")
            + f": it does not describe the {len(serving_df)}-row serving file.",
            "compute the statistics of `serving_df`.",
        )
    if _features(stats) != set(serving_df.columns):
        raise Mistake(
            f"`serving_stats` describes {len(_features(stats))} of the serving file's {serving_df.shape[1]} "
            "columns.",
            "describe all of `serving_df`: the next step looks at what the file really holds.",
        )
    fresh = tfdv.validate_statistics(stats, options.schema)
    if _kinds(_anomalies(ns, "serving_anomalies")) != _kinds(fresh):
        raise Mistake(
            "`serving_anomalies` is not the validation of serving_stats against the schema.",
            "validate without an environment for now.",
        )
    return f"statistics of {rows} serving rows typed by the schema, and their anomalies."


def _environments(ns: Namespace) -> str:
    """Exercise 6: TRAINING and SERVING environments, the label left out of SERVING, validated there."""
    tfdv = _tfdv()
    schema, serving_stats = ns["schema"], ns["serving_stats"]
    environments = set(schema.default_environment)
    if environments != {"TRAINING", "SERVING"}:
        raise Mistake(
            f"the schema's default environments are {sorted(environments)}.",
            "every feature belongs to TRAINING and SERVING unless it says otherwise.",
        )
    excluded = {f.name: set(f.not_in_environment) for f in schema.feature if f.not_in_environment}
    if excluded.get(LABEL) != {"SERVING"}:  # a cell run twice appends twice: compare sets
        if "TRAINING" in excluded.get(LABEL, set()):
            raise Mistake(
                f"{LABEL} is left out of TRAINING, but training needs the label; serving data lacks it.",
                "name the environment whose data has no label.",
            )
        others = sorted(excluded)
        raise Mistake(
            f"{LABEL} is not left out of SERVING" + (f" ({others} are instead)." if others else "."),
            "look up not_in_environment on the label's feature.",
        )
    if set(excluded) != {LABEL}:
        raise Mistake(
            f"{sorted(set(excluded) - {LABEL})} are left out of SERVING too; only the label is missing."
        )
    result = _anomalies(ns, "serving_anomalies_env")
    if result is ns.get("selected_anomalies") or LABEL in _kinds(result):
        raise Mistake(
            f"`serving_anomalies_env` still reports {LABEL} missing: an environment applies only when you "
            "name it, and only to a fresh validation.",
            "validate serving_stats again and pass the environment.",
        )
    fresh = tfdv.validate_statistics(serving_stats, schema, environment="SERVING")
    if _kinds(result) != _kinds(fresh):
        raise Mistake("`serving_anomalies_env` is not the SERVING validation of serving_stats.")
    return f"under SERVING the missing {LABEL} is expected: the selected serving columns validate cleanly."


def _imported_schema(ns: Namespace) -> str:
    """Exercise 7: the curated schema written to `schema_file` and imported with ImportSchemaGen."""
    from labs_utils import pipeline

    tfdv = _tfdv()
    component = _component(ns, "import_schema_gen", "ImportSchemaGen")
    imported = pipeline.load_schema(component.outputs["schema"])
    schema, schema_file = ns["schema"], Path(ns["schema_file"])
    if imported == schema:
        return "ImportSchemaGen made your curated schema a Schema artifact of the pipeline."
    if imported == pipeline.load_schema(ns["schema_artifact"]):
        raise Mistake(
            "ImportSchemaGen imported SchemaGen's inferred schema, without your curation.",
            "import the file you wrote the curated schema to.",
        )
    if schema_file.is_file() and tfdv.load_schema_text(str(schema_file)) != schema:
        raise Mistake(
            f"{schema_file.name} does not hold the current schema.",
            "write it with tfdv.write_schema_text after your last change, then import it.",
        )
    raise Mistake("the imported schema differs from your curated `schema`.", "import `schema_file`.")


def _validated_with_imported_schema(ns: Namespace) -> str:
    """Exercise 8: StatisticsGen typed by the imported schema, then ExampleValidator on those statistics."""
    statistics_gen = _component(ns, "statistics_gen_typed", "StatisticsGen")
    if not _same(statistics_gen.inputs()["examples"], ns["examples"]):
        raise Mistake("`statistics_gen_typed` does not read ExampleGen's examples.", "pass `examples`.")
    if statistics_gen.schema is None:
        raise Mistake("`statistics_gen_typed` has no schema.", "pass schema=imported_schema.")
    _schema_input(ns, statistics_gen, "statistics_gen_typed", "reads")
    if not statistics_gen.options.infer_type_from_schema:
        raise Mistake(
            f"`statistics_gen_typed` still infers types from the data, so {LABEL} is described as a number.",
            "give it tfdv.StatsOptions(infer_type_from_schema=True).",
        )
    from labs_utils import pipeline

    typed = statistics_gen.outputs["statistics"]
    if _stats_kind(pipeline.load_statistics(typed, "train"), LABEL) != "string_stats":
        if (
            not _tfdv()
            .get_feature(pipeline.load_schema(ns["imported_schema"]), LABEL)
            .int_domain.is_categorical
        ):
            raise Mistake(
                f"the imported schema does not mark {LABEL} categorical, so its statistics stay numeric.",
                "curate the label in exercise 4, then write and import the schema again.",
            )
        raise Mistake(f"{LABEL} is not described as a category in `statistics_gen_typed`'s statistics.")
    validator = _component(ns, "example_validator_typed", "ExampleValidator")
    given = validator.inputs()["statistics"]
    if _same(given, ns["statistics_gen"].outputs["statistics"]):
        raise Mistake(
            "`example_validator_typed` validates exercise 2's statistics, made before the schema existed.",
            "pass the statistics of `statistics_gen_typed`.",
        )
    if not _same(given, typed):
        raise Mistake("`example_validator_typed` does not validate `statistics_gen_typed`'s statistics.")
    _schema_input(ns, validator, "example_validator_typed", "validates against")
    anomalies = validator.outputs["anomalies"]
    found = {split: _kinds(pipeline.load_anomalies(anomalies, split)) for split in anomalies.split_names}
    if not any(found.values()):
        return f"{LABEL} is counted per class, and both splits validate cleanly against the imported schema."
    return f"{LABEL} is counted per class; anomalies against the imported schema: {found}."


# --- Transform ---------------------------------------------------------------------------------


def _preprocessing_fn(ns: Namespace) -> str:
    """Exercise 9: the preprocessing_fn, judged on the one-row unit test's outputs."""
    import tensorflow as tf

    row, raw = ns["one_row"], ns["one_row_input"].iloc[0]
    expected = {f"{k}_xf" for k in [*ns["selected_features"], "Wilderness_Area", "Soil_Type"]} | {LABEL}
    got = set(row.index)
    if LABEL not in got and f"{LABEL}_xf" in got:
        raise Mistake(f"the label comes out as {LABEL}_xf.", f"pass {LABEL} through under its own name.")
    missing, extra = sorted(expected - got), sorted(got - expected)
    if missing:
        raise Mistake(f"the function returns no {missing}.", "compare your outputs with the table above.")
    if extra:
        raise Mistake(
            f"the function also returns {extra}.", "return the ten `_xf` features and the label only."
        )
    for key in ZERO_ONE:
        value = float(row[f"{key}_xf"])
        sigmoid = 1 / (1 + math.exp(-float(raw[key])))
        if math.isclose(value, sigmoid, abs_tol=1e-6):
            continue
        if value == 0.0:
            raise Mistake(
                f"{key}_xf is 0 on one row, as a z-score is: {key} belongs to the 0-1 scalings.",
                "compare your key lists with the table above.",
            )
        raise Mistake(f"{key}_xf is not scaled to [0, 1].", "see the table above for its transform.")
    for key in Z_SCORE:
        if float(row[f"{key}_xf"]) != 0.0:
            raise Mistake(
                f"{key}_xf is not a z-score (on one row a z-score is 0).",
                "see the table above for its transform.",
            )
    if int(row["Wilderness_Area_xf"]) != 0:
        raise Mistake(
            "Wilderness_Area_xf is not a vocabulary id (the only value of one row gets id 0).",
            "look up tft.compute_and_apply_vocabulary.",
        )
    bucket = int(tf.strings.to_hash_bucket_fast([raw["Soil_Type"]], HASH_BUCKETS).numpy()[0])
    if int(row["Soil_Type_xf"]) != bucket:
        raise Mistake(
            "Soil_Type_xf is not the hash bucket of the soil type among NUM_HASH_BUCKETS.",
            "look up tft.hash_strings and its hash_buckets argument.",
        )
    if int(row[LABEL]) != int(raw[LABEL]):
        raise Mistake(f"{LABEL} changed on the way through.", "return the label as it came in.")
    return "every output is what its transform gives on one row: scaled, z-scored, looked up, hashed, passed."


def _transform(ns: Namespace) -> str:
    """Exercise 10: Transform on ExampleGen's examples, the imported schema and the module file."""
    component = _component(ns, "transform_component", "Transform")
    if not _same(component.inputs()["examples"], ns["examples"]):
        raise Mistake("`transform_component` does not read ExampleGen's examples.", "pass `examples`.")
    _schema_input(ns, component, "transform_component", "reads")
    module = Path(ns["module_file"]).resolve()
    if component.module_file is None or component.module_file != module:
        raise Mistake(f"`transform_component` does not run {module.name}.", "pass module_file=module_file.")
    from labs_utils import pipeline

    output = pipeline.load_transform_output(component.outputs["transform_graph"])
    names = {f.name for f in output.transformed_metadata.schema.feature}
    return f"Transform wrote {len(names)} features for every split, from the imported schema."


# --- ML Metadata -------------------------------------------------------------------------------


def _artifacts_of_type(ns: Namespace) -> str:
    """Exercise 11: every Schema artifact in the store."""
    from ml_metadata.proto import metadata_store_pb2

    from labs_utils import metadata

    store, found = ns["store"], ns["schema_artifacts"]
    if not isinstance(found, list | tuple) or not all(
        isinstance(a, metadata_store_pb2.Artifact) for a in found
    ):
        raise Mistake(
            "`schema_artifacts` is not a list of MLMD artifacts.",
            "ask the store for the artifacts of a type.",
        )
    kinds = sorted({metadata.type_name(store, a) for a in found})
    if kinds != ["Schema"]:
        raise Mistake(
            f"`schema_artifacts` holds artifacts of type {kinds}, not Schema.",
            "the type names are in the types table above.",
        )
    every = metadata.artifacts_of_type(store, "Schema")
    if sorted(a.id for a in found) != sorted(a.id for a in every):
        raise Mistake(f"`schema_artifacts` holds {len(found)} of the store's {len(every)} schemas.")
    producers = sorted(metadata.type_name(store, metadata.producer_execution(store, a)) for a in every)
    return f"{len(every)} Schema artifacts, produced by {producers}."


def _parent_artifacts(ns: Namespace) -> str:
    """Exercise 12: get_parent_artifacts follows OUTPUT events to executions, then their INPUT events."""
    from ml_metadata.proto import metadata_store_pb2

    from labs_utils import metadata

    store, get_parents = ns["store"], ns["get_parent_artifacts"]
    probes = {
        "transformed_examples": ns["transformed_examples"],
        "transform_graph": ns["transform_graph"],
        "examples": ns["examples"],
    }
    for name, artifact in probes.items():
        got = list(get_parents(store, artifact))
        if any(isinstance(a, metadata_store_pb2.Execution) for a in got):
            raise Mistake(
                f"get_parent_artifacts({name}) returns executions.",
                "go one step further: the artifacts those executions read (their INPUT events).",
            )
        if not all(isinstance(a, metadata_store_pb2.Artifact) for a in got):
            raise Mistake(f"get_parent_artifacts({name}) does not return MLMD artifacts.")
        ids = sorted(a.id for a in got)
        wanted = sorted(a.id for a in metadata.parent_artifacts(store, artifact))
        if ids == wanted:
            continue
        if artifact.id in ids:
            raise Mistake(
                f"get_parent_artifacts({name}) lists {name} itself among its parents.",
                "from the producing execution, follow its INPUT events, not its OUTPUT events.",
            )
        if ids == sorted(a.id for a in metadata.child_artifacts(store, artifact)):
            raise Mistake(
                f"get_parent_artifacts({name}) returns the artifacts made from {name}, its children: the "
                "walk starts from the wrong kind of event.",
                "a parent comes from the execution that OUTPUT the artifact.",
            )
        raise Mistake(
            f"get_parent_artifacts({name}) returns {len(ids)} artifacts; {name} has {len(wanted)} parents."
        )
    parents = list(ns["parents"])
    if sorted(a.id for a in parents) != sorted(
        a.id for a in metadata.parent_artifacts(store, ns["transformed_examples"])
    ):
        raise Mistake("`parents` are not the parents of `transformed_examples`.")
    kinds = sorted(metadata.type_name(store, a) for a in parents)
    return f"the transformed examples come from {kinds}; ExampleGen's examples have no parent artifact."


# An exercise that builds a component defines just that component: one built but not run then reads as
# "has not run" (its check says so), not as "not done yet".
ASSIGNMENT = Assignment(
    LAB,
    [
        Exercise(1, "ExampleGen", ("example_gen",), _example_gen),
        Exercise(2, "StatisticsGen", ("statistics_gen",), _statistics_gen, needs=(1,)),
        Exercise(3, "SchemaGen", ("schema_gen",), _schema_gen, needs=(2,)),
        Exercise(4, "curate the schema", ("curated_anomalies",), _curated_schema, needs=(3,)),
        Exercise(
            5,
            "serving statistics",
            ("serving_options", "serving_stats", "serving_anomalies"),
            _serving_statistics,
            needs=(3,),
        ),
        Exercise(6, "serving environment", ("serving_anomalies_env",), _environments, needs=(5,)),
        Exercise(7, "ImportSchemaGen", ("import_schema_gen",), _imported_schema, needs=(3,)),
        Exercise(
            8,
            "statistics and validation with the imported schema",
            ("statistics_gen_typed", "example_validator_typed"),
            _validated_with_imported_schema,
            needs=(1, 4, 7),
        ),
        Exercise(9, "preprocessing_fn", ("one_row",), _preprocessing_fn, needs=(1,)),
        Exercise(10, "Transform", ("transform_component",), _transform, needs=(1, 7, 9)),
        Exercise(11, "artifacts of a type", ("schema_artifacts",), _artifacts_of_type),
        Exercise(12, "parent artifacts", ("parents",), _parent_artifacts, needs=(1, 10)),
    ],
)


def check(number: int, namespace: Namespace) -> None:
    """Show and record exercise ``number``'s verdict on the notebook's ``namespace`` (``globals()``).

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    ASSIGNMENT.check(number, namespace)


def assert_all_passed() -> None:
    """Raise AssertionError unless every exercise's check passed in this run.

    Introduced in c2w3_assignment_pipeline_covertype.
    """
    ASSIGNMENT.assert_all_passed()
