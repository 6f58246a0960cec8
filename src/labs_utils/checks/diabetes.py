"""Checks of the twelve exercises of c2w1_assignment_validation_diabetes.

Each check reads the notebook's namespace, judges the learner's own result against what TFDV gives for
the same inputs, and names a recognised mistake with a hint: the wrong split passed, identifiers left in
the statistics, a domain value appended to the wrong feature, a schema changed but not validated again,
a threshold put on the wrong comparator, the environment not named. Heavy imports happen inside the
checks, so the grader can read the exercise list at once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labs_utils.checks import Assignment, Exercise, Mistake

__all__ = ["ASSIGNMENT", "check", "assert_all_passed"]

LAB = "c2w1_assignment_validation_diabetes"
IDENTIFIERS = ("encounter_id", "patient_nbr")
LABEL = "readmitted"
SPLITS = {"train_df": "the training split", "eval_df": "the eval split", "serving_df": "the serving split"}
FINGERPRINT = "time_in_hospital"  # a numeric column whose mean tells the three splits apart
RELAXED = ("payer_code", "medical_specialty")
SHARED_DOMAIN = "metformin"
THRESHOLD = 0.03

Namespace = Mapping[str, Any]


# --- shared pieces --------------------------------------------------------------------------


def _tfdv() -> Any:
    """Return tensorflow_data_validation (imported on first use: it takes seconds)."""
    import tensorflow_data_validation as tfdv

    return tfdv


def _statistics(ns: Namespace, name: str) -> Any:
    """Return the statistics proto called ``name``, or raise Mistake if it is something else."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    value = ns[name]
    if not isinstance(value, statistics_pb2.DatasetFeatureStatisticsList):
        raise Mistake(
            f"`{name}` is a {type(value).__name__}, not a statistics proto.",
            "tfdv.generate_statistics_from_dataframe returns one.",
        )
    return value


def _schema(ns: Namespace) -> Any:
    """Return ``schema``, or raise Mistake if it is not a schema proto."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    value = ns["schema"]
    if not isinstance(value, schema_pb2.Schema):
        raise Mistake(
            f"`schema` is a {type(value).__name__}, not a schema proto.", "tfdv.infer_schema returns one."
        )
    return value


def _anomalies(ns: Namespace, name: str) -> Any:
    """Return the anomalies proto called ``name``, or raise Mistake if it is something else."""
    from tensorflow_metadata.proto.v0 import anomalies_pb2

    value = ns[name]
    if not isinstance(value, anomalies_pb2.Anomalies):
        raise Mistake(
            f"`{name}` is a {type(value).__name__}, not the anomalies proto validation returns.",
            "keep what your `validate` returns.",
        )
    return value


def _kinds(anomalies: Any) -> dict[str, list[str]]:
    """Return each anomalous feature's reason types."""
    from labs_utils import validation

    return validation.anomaly_kinds(anomalies)


def _features(stats: Any) -> set[str]:
    """Return the feature names of the first dataset of a statistics proto."""
    return {feature.path.step[0] for feature in stats.datasets[0].features}


def _split_of(stats: Any, ns: Namespace) -> str | None:
    """Return which split frame the statistics describe (row count and a column's mean), if any."""
    tfdv = _tfdv()
    dataset = stats.datasets[0]
    if FINGERPRINT not in _features(stats):
        return None
    mean = tfdv.get_feature_stats(dataset, tfdv.FeaturePath([FINGERPRINT])).num_stats.mean
    for name in SPLITS:
        frame = ns[name]
        if dataset.num_examples == len(frame) and math.isclose(mean, frame[FINGERPRINT].mean(), rel_tol=1e-6):
            return name
    return None


def _expect_split(stats: Any, ns: Namespace, name: str, frame: str) -> None:
    """Raise Mistake unless statistics ``name`` describe the DataFrame ``frame``."""
    found = _split_of(stats, ns)
    if found == frame:
        return
    if found is not None:
        raise Mistake(
            f"`{name}` describes {SPLITS[found]} ({len(ns[found]):,} rows), not {SPLITS[frame]}.",
            "check which DataFrame you pass to tfdv.generate_statistics_from_dataframe.",
        )
    raise Mistake(
        f"`{name}` counts {stats.datasets[0].num_examples:,} examples, "
        f"but `{frame}` has {len(ns[frame]):,} rows.",
        f"compute the statistics of the whole of `{frame}`.",
    )


def _expect_approved(stats: Any, ns: Namespace, name: str, *, label: bool = True) -> None:
    """Raise Mistake unless statistics ``name`` hold exactly the approved features."""
    features = _features(stats)
    leaked = sorted(set(IDENTIFIERS) & features)
    if leaked:
        raise Mistake(
            f"`{name}` describes the identifiers {leaked}, which are no features.",
            "pass StatsOptions that keep only `approved_features` (look up feature_allowlist).",
        )
    expected = set(ns["approved_features"]) - (set() if label else {LABEL})
    if features != expected:
        raise Mistake(
            f"`{name}` has {len(features)} features; the approved ones in the data are {len(expected)}.",
            "keep exactly `approved_features` with the StatsOptions allowlist.",
        )


def _expect_revalidated(ns: Namespace, name: str, fresh: Any, before: Any | None = None) -> None:
    """Raise Mistake unless anomalies ``name`` equal a fresh validation against the current schema."""
    kept = _kinds(_anomalies(ns, name))
    if kept == _kinds(fresh):
        return
    if before is not None and kept == _kinds(before):
        raise Mistake(
            f"`{name}` still lists the anomalies from before your change to the schema.",
            "validate again after changing the schema, and keep that result.",
        )
    raise Mistake(
        f"`{name}` does not match validating the same statistics against the current schema.",
        "keep the result of `validate` called after your change.",
    )


def _domain(schema: Any, feature: str) -> set[str]:
    """Return the values of a feature's own or shared string domain."""
    from labs_utils import validation

    return set(validation.domain_values(schema, feature))


# --- the exercises ----------------------------------------------------------------------------


def _train_statistics(ns: Namespace) -> str:
    """Exercise 1: statistics of the approved training features."""
    if not isinstance(ns["stats_options"], _tfdv().StatsOptions):
        raise Mistake("`stats_options` is not a tfdv.StatsOptions.", "build one with feature_allowlist.")
    stats = _statistics(ns, "train_stats")
    _expect_approved(stats, ns, "train_stats")
    _expect_split(stats, ns, "train_stats", "train_df")
    rows, features = stats.datasets[0].num_examples, len(_features(stats))
    return f"statistics of {rows:,} training rows, {features} approved features."


def _inferred_schema(ns: Namespace) -> str:
    """Exercise 2: the schema inferred from the training statistics."""
    schema = _schema(ns)
    leaked = sorted(set(IDENTIFIERS) & {f.name for f in schema.feature})
    if leaked:
        raise Mistake(
            f"the schema has the identifiers {leaked} as features.",
            "infer it from `train_stats`, the statistics of the approved features.",
        )
    reference = _tfdv().infer_schema(statistics=_statistics(ns, "train_stats"))

    def shape(s: Any) -> list[tuple[str, int, bool]]:
        return sorted((f.name, f.type, f.presence.min_fraction == 1.0) for f in s.feature)

    if shape(schema) != shape(reference):
        raise Mistake(
            "the schema's features, types or presence differ from those of the training statistics.",
            "infer it from `train_stats` with tfdv.infer_schema.",
        )
    optional = sum(f.presence.min_fraction < 1.0 for f in schema.feature)
    return f"{len(schema.feature)} features inferred, {optional} of them optional."


def _eval_statistics(ns: Namespace) -> str:
    """Exercise 3: eval statistics with the same options."""
    stats = _statistics(ns, "eval_stats")
    _expect_split(stats, ns, "eval_stats", "eval_df")
    _expect_approved(stats, ns, "eval_stats")
    return f"statistics of {stats.datasets[0].num_examples:,} eval rows with the same features as training."


def _validate_helper(ns: Namespace) -> str:
    """Exercise 4: a validate helper that validates its argument, and the eval anomalies."""
    from IPython.utils.capture import capture_output

    tfdv = _tfdv()
    validate, schema = ns["validate"], _schema(ns)
    train_stats, eval_stats = _statistics(ns, "train_stats"), _statistics(ns, "eval_stats")
    eval_anomalies = _anomalies(ns, "eval_anomalies")
    with capture_output():  # the helper displays its anomalies; the check shows only its verdict
        on_train = validate(train_stats, schema)
    expected_train = _kinds(tfdv.validate_statistics(statistics=train_stats, schema=schema))
    expected_eval = _kinds(tfdv.validate_statistics(statistics=eval_stats, schema=schema))
    if on_train is None or type(on_train).__name__ != "Anomalies":
        raise Mistake(
            f"`validate(train_stats, schema)` returned {type(on_train).__name__}.", "return the anomalies."
        )
    if _kinds(on_train) != expected_train:
        if _kinds(on_train) == expected_eval:
            raise Mistake(
                "`validate(train_stats, schema)` returned the anomalies of eval_stats: your function "
                "validates a fixed variable instead of its argument.",
                "validate the `statistics` parameter.",
            )
        raise Mistake(
            "`validate(train_stats, schema)` differs from tfdv.validate_statistics on the same inputs."
        )
    if inspect.getsource(validate).count("**kwargs") < 2:
        raise Mistake(
            "`validate` drops its keyword arguments.",
            "hand **kwargs on to tfdv.validate_statistics: later exercises pass environment= and the "
            "statistics comparators need.",
        )
    if _kinds(eval_anomalies) != expected_eval:
        raise Mistake("`eval_anomalies` is not the validation of eval_stats against the schema.")
    return (
        f"`validate` checks the statistics you pass it; eval data has anomalies in {sorted(expected_eval)}."
    )


def _eval_fixes(ns: Namespace) -> str:
    """Exercise 5: append the two legitimate eval values to their domains, then validate again."""
    from labs_utils import validation

    tfdv = _tfdv()
    schema, eval_stats = _schema(ns), _statistics(ns, "eval_stats")
    inferred = tfdv.infer_schema(statistics=_statistics(ns, "train_stats"))
    with_domain = [f.name for f in inferred.feature if f.HasField("domain") or f.HasField("string_domain")]
    needed = validation.unexpected_values(ns["eval_df"], {f: _domain(inferred, f) for f in with_domain})
    for feature, values in needed.items():
        for value in values:
            if value in _domain(schema, feature):
                continue
            elsewhere = sorted(f for f in with_domain if value in _domain(schema, f) - _domain(inferred, f))
            if elsewhere:
                raise Mistake(
                    f"'{value}' went into the domain of {elsewhere[0]}, but the eval anomaly with this value "
                    f"is on {feature}.",
                    "append each value to the domain of the feature its anomaly names.",
                )
            raise Mistake(
                f"the domain of {feature} still lacks a value the eval data holds.",
                "read that feature's anomaly above; append its value to tfdv.get_domain(schema, ...).value.",
            )
    fresh = tfdv.validate_statistics(statistics=eval_stats, schema=schema)
    _expect_revalidated(ns, "eval_anomalies_fixed", fresh, ns.get("eval_anomalies"))
    if _kinds(fresh):
        raise Mistake(f"eval data still has anomalies in {sorted(_kinds(fresh))}.")
    return "both values are in their domains, and eval data now validates without anomalies."


def _serving_statistics(ns: Namespace) -> str:
    """Exercise 6: serving statistics typed by the schema."""
    options = ns["serving_options"]
    if not isinstance(options, _tfdv().StatsOptions):
        raise Mistake("`serving_options` is not a tfdv.StatsOptions.")
    if options.schema is None:
        raise Mistake(
            "`serving_options` has no schema.", "give StatsOptions the schema, so types come from it."
        )
    if not options.infer_type_from_schema:
        raise Mistake(
            "`serving_options` does not take the feature types from the schema.",
            "look up infer_type_from_schema in tfdv.StatsOptions.",
        )
    stats = _statistics(ns, "serving_stats")
    if LABEL in _features(stats):
        raise Mistake(
            f"`serving_stats` has the label {LABEL}, which serving data lacks: it does not describe "
            "the serving split.",
            "check which DataFrame you pass.",
        )
    _expect_split(stats, ns, "serving_stats", "serving_df")
    _expect_approved(stats, ns, "serving_stats", label=False)
    return f"statistics of {stats.datasets[0].num_examples:,} serving rows, typed by the schema."


def _min_domain_mass(ns: Namespace) -> str:
    """Exercise 7: accept 90 % in-domain values for payer codes and specialties."""
    tfdv = _tfdv()
    schema, serving_stats = _schema(ns), _statistics(ns, "serving_stats")
    relaxed = {
        f.name: f.distribution_constraints.min_domain_mass
        for f in schema.feature
        if f.HasField("distribution_constraints")
    }
    for feature in RELAXED:
        if feature not in relaxed:
            raise Mistake(
                f"{feature} still requires every value to be in its domain.", "set its min_domain_mass."
            )
        if relaxed[feature] > 1:
            raise Mistake(
                f"{feature} has min_domain_mass {relaxed[feature]:g}: it is a share between 0 and 1.",
                "90 % is a fraction of one.",
            )
        if not math.isclose(relaxed[feature], 0.9):
            raise Mistake(
                f"{feature} has min_domain_mass {relaxed[feature]:g}; the exercise accepts 90 % in domain."
            )
    extra = sorted(set(relaxed) - set(RELAXED))
    if extra:
        raise Mistake(f"you relaxed {extra} too.", "relax only the features whose new values are expected.")
    fresh = tfdv.validate_statistics(statistics=serving_stats, schema=schema)
    _expect_revalidated(ns, "serving_anomalies_relaxed", fresh, ns.get("serving_anomalies"))
    left = sorted(set(RELAXED) & set(_kinds(fresh)))
    if left:
        raise Mistake(f"serving data still has anomalies in {left}.")
    return "payer codes and specialties accept 10 % new values; their serving anomalies are gone."


def _shared_domain(ns: Namespace) -> str:
    """Exercise 8: the drug columns share metformin's domain."""
    tfdv = _tfdv()
    schema, serving_stats = _schema(ns), _statistics(ns, "serving_stats")
    drugs = list(ns["drug_features"])
    own = [f for f in drugs if tfdv.get_feature(schema, f).domain != SHARED_DOMAIN]
    if own:
        raise Mistake(
            f"{len(own)} of the {len(drugs)} drug columns still have their own domain (e.g. {own[0]}).",
            "give every column of `drug_features` the domain named after metformin with tfdv.set_domain.",
        )
    others = sorted(
        f.name
        for f in schema.feature
        if f.domain == SHARED_DOMAIN and f.name not in drugs and f.name != SHARED_DOMAIN
    )
    if others:
        raise Mistake(f"{others} now use the drug domain too, but they are no drug columns.")
    fresh = tfdv.validate_statistics(statistics=serving_stats, schema=schema)
    _expect_revalidated(ns, "serving_anomalies_shared", fresh, ns.get("serving_anomalies_relaxed"))
    left = sorted(set(drugs) & set(_kinds(fresh)))
    if left:
        raise Mistake(f"serving data still has anomalies in the drug columns {left}.")
    return f"all {len(drugs)} drug columns share the domain '{SHARED_DOMAIN}'; their anomalies are gone."


def _environments(ns: Namespace) -> str:
    """Exercise 9: TRAINING and SERVING environments, the label left out of SERVING."""
    tfdv = _tfdv()
    schema, serving_stats = _schema(ns), _statistics(ns, "serving_stats")
    environments = list(schema.default_environment)
    if set(environments) != {"TRAINING", "SERVING"}:
        raise Mistake(
            f"the schema's default environments are {environments}.",
            "every feature belongs to TRAINING and SERVING unless it says otherwise.",
        )
    excluded = {f.name: list(f.not_in_environment) for f in schema.feature if f.not_in_environment}
    if set(excluded.get(LABEL, [])) != {"SERVING"}:  # a cell run twice appends twice: compare sets
        if "TRAINING" in excluded.get(LABEL, []):
            raise Mistake(
                f"{LABEL} is left out of TRAINING, but training needs the label; serving data lacks it.",
                "name the environment whose data has no label.",
            )
        raise Mistake(
            f"{LABEL} is not left out of SERVING.", "look up not_in_environment on the label's feature."
        )
    others = sorted(set(excluded) - {LABEL})
    if others:
        raise Mistake(
            f"{others} are left out of an environment too; only the label is missing from serving data."
        )
    result = _kinds(_anomalies(ns, "serving_anomalies_env"))
    if LABEL in result:
        raise Mistake(
            f"`serving_anomalies_env` still reports {LABEL} missing: an environment applies only when "
            "you name it.",
            "pass the environment to validate.",
        )
    fresh = tfdv.validate_statistics(statistics=serving_stats, schema=schema, environment="SERVING")
    if result != _kinds(fresh):
        raise Mistake(
            "`serving_anomalies_env` is not the SERVING validation of serving_stats against the schema."
        )
    return f"in the SERVING environment the missing {LABEL} is expected: serving data validates cleanly."


def _comparators(ns: Namespace) -> str:
    """Exercise 10: a skew comparator on diabetesMed, a drift comparator on payer_code, at 0.03."""
    from labs_utils import validation

    tfdv = _tfdv()
    schema = _schema(ns)
    med, payer = tfdv.get_feature(schema, "diabetesMed"), tfdv.get_feature(schema, "payer_code")
    skew, drift = med.skew_comparator.infinity_norm.threshold, payer.drift_comparator.infinity_norm.threshold
    if med.drift_comparator.infinity_norm.threshold and not skew:
        raise Mistake(
            "diabetesMed has a drift comparator, but training/serving skew is what it is checked for.",
            "look at skew_comparator.",
        )
    if payer.skew_comparator.infinity_norm.threshold and not drift:
        raise Mistake(
            "payer_code has a skew comparator, but drift from one span to the next is its question.",
            "look at drift_comparator.",
        )
    if not (math.isclose(skew, THRESHOLD) and math.isclose(drift, THRESHOLD)):
        raise Mistake(
            f"the thresholds are {skew:g} (diabetesMed skew) and {drift:g} (payer_code drift).",
            f"start both at {THRESHOLD}; the lesson relaxes them after you measured.",
        )
    table = validation.comparator_table(_anomalies(ns, "comparator_anomalies"))
    pairs = set(zip(table["feature"], table["comparator"], strict=True))
    if ("payer_code", "drift") not in pairs:
        raise Mistake(
            "no drift was measured: validation compares with earlier data only when you give it.",
            "look up previous_statistics.",
        )
    if ("diabetesMed", "skew") not in pairs:
        raise Mistake(
            "no skew was measured: validation compares with serving data only when you give it.",
            "look up serving_statistics.",
        )
    reference = validation.comparator_table(
        tfdv.validate_statistics(
            statistics=_statistics(ns, "train_stats"),
            schema=schema,
            previous_statistics=_statistics(ns, "eval_stats"),
            serving_statistics=_statistics(ns, "serving_stats"),
        )
    )
    measured = dict(zip(zip(table["feature"], table["comparator"], strict=True), table["value"], strict=True))
    for row in reference.itertuples():
        if not math.isclose(measured.get((row.feature, row.comparator), -1.0), row.value, abs_tol=1e-9):
            raise Mistake(
                f"the {row.comparator} distance of {row.feature} is not measured between the right sets.",
                "validate train_stats, with eval_stats as the previous span and serving_stats as serving.",
            )
    shown = ", ".join(f"{r.feature} {r.comparator} {r.value:.4f}" for r in reference.itertuples())
    return f"both comparators measured at {THRESHOLD}: {shown}."


def _slices(ns: Namespace) -> str:
    """Exercise 11: statistics per medical specialty."""
    from labs_utils import validation

    stats = _statistics(ns, "sliced_stats")
    names = validation.slice_names(stats)
    slices = [name for name in names if name != validation.ALL_EXAMPLES]
    if not slices:
        raise Mistake(
            "`sliced_stats` holds only 'All Examples': your options carry no slice function.",
            "pass your slicer in experimental_slice_functions.",
        )
    wrong = [name for name in slices if not name.startswith("medical_specialty_")]
    if wrong:
        raise Mistake(f"the slices are named like '{wrong[0]}': you sliced by another feature.")
    if set(IDENTIFIERS) & _features(validation.slice_statistics(stats, validation.ALL_EXAMPLES)):
        raise Mistake(
            "the sliced statistics describe the identifiers too.", "keep the approved features only."
        )
    rows = int(ns["slice_df"]["medical_specialty"].notna().sum())
    sizes = sum(validation.num_examples(stats, name) for name in slices)
    if sizes != rows:
        raise Mistake(f"the slices hold {sizes:,} rows, but {rows:,} rows of `slice_df` have a specialty.")
    return f"{len(slices)} specialty slices, {rows:,} rows between them."


def _frozen_schema(ns: Namespace) -> str:
    """Exercise 12: the schema written to OUTPUT_DIR/schema.pbtxt and read back."""
    tfdv = _tfdv()
    schema = _schema(ns)
    path = Path(str(ns["schema_file"]))
    if path.name != "schema.pbtxt" or path.parent.resolve() != Path(str(ns["OUTPUT_DIR"])).resolve():
        raise Mistake(f"`schema_file` is {path}, not schema.pbtxt in OUTPUT_DIR.")
    if not path.is_file():
        raise Mistake(f"{path} does not exist.", "write the schema as text with tfdv.write_schema_text.")
    if tfdv.load_schema_text(str(path)) != schema:
        raise Mistake(f"{path.name} does not hold the current schema.", "write it after your last change.")
    if ns["reloaded_schema"] != schema:
        raise Mistake(
            "`reloaded_schema` differs from `schema`.", "read the file back with tfdv.load_schema_text."
        )
    return f"{path.name} holds the curated schema and reads back unchanged."


ASSIGNMENT = Assignment(
    LAB,
    [
        Exercise(
            1, "statistics of the approved features", ("stats_options", "train_stats"), _train_statistics
        ),
        Exercise(2, "infer the schema", ("schema",), _inferred_schema, needs=(1,)),
        Exercise(3, "eval statistics", ("eval_stats",), _eval_statistics, needs=(1,)),
        Exercise(4, "a validation helper", ("validate", "eval_anomalies"), _validate_helper, needs=(2, 3)),
        Exercise(5, "fix the eval anomalies", ("eval_anomalies_fixed",), _eval_fixes, needs=(2, 3, 4)),
        Exercise(
            6, "serving statistics", ("serving_options", "serving_stats"), _serving_statistics, needs=(2,)
        ),
        Exercise(7, "relax the domain mass", ("serving_anomalies_relaxed",), _min_domain_mass, needs=(4, 6)),
        Exercise(8, "one shared drug domain", ("serving_anomalies_shared",), _shared_domain, needs=(4, 6)),
        Exercise(9, "schema environments", ("serving_anomalies_env",), _environments, needs=(4, 6)),
        Exercise(
            10, "skew and drift comparators", ("comparator_anomalies",), _comparators, needs=(1, 3, 4, 6)
        ),
        Exercise(11, "slice by specialty", ("slice_options", "sliced_stats"), _slices, needs=(2,)),
        Exercise(12, "freeze the schema", ("schema_file", "reloaded_schema"), _frozen_schema, needs=(2,)),
    ],
)


def check(number: int, namespace: Namespace) -> None:
    """Show and record exercise ``number``'s verdict on the notebook's ``namespace`` (``globals()``).

    Introduced in c2w1_assignment_validation_diabetes.
    """
    ASSIGNMENT.check(number, namespace)


def assert_all_passed() -> None:
    """Raise AssertionError unless every exercise's check passed in this run.

    Introduced in c2w1_assignment_validation_diabetes.
    """
    ASSIGNMENT.assert_all_passed()
