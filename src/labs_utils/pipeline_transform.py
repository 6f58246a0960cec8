"""The Transform component: TFX 1.16's full output set from one ``preprocessing_fn``.

Besides the graph and the transformed examples, TFX's Transform writes the raw schema and the
statistics of the analyzed split (``pre_transform_*``), the transformed schema with statistics over
every transformed split and their anomalies against it (``post_transform_*``), and the analyzer
cache a later run can reuse (``updated_analyzer_cache``); see ``tfx/components/transform/executor.py``.
``labs_utils.pipeline`` re-exports ``Transform``; run it with ``context.run(transform)``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tensorflow_data_validation as tfdv
import tensorflow_transform as tft
from tensorflow_metadata.proto.v0 import schema_pb2
from tensorflow_transform.tf_metadata import dataset_metadata, metadata_io

from labs_utils import artifacts
from labs_utils import transform as transform_lib
from labs_utils.artifacts import Artifact, Component, Output

__all__ = ["TRANSFORM_OUTPUTS", "Transform", "load_preprocessing_fn"]

# Transform's output keys and their TFX artifact types, in TFX's order.
TRANSFORM_OUTPUTS = {
    "transform_graph": "TransformGraph",
    "transformed_examples": "Examples",
    "pre_transform_schema": "Schema",
    "pre_transform_stats": "ExampleStatistics",
    "post_transform_schema": "Schema",
    "post_transform_stats": "ExampleStatistics",
    "post_transform_anomalies": "ExampleAnomalies",
    "updated_analyzer_cache": "TransformCache",
}


def load_preprocessing_fn(module_file: str | Path) -> Callable:
    """Return ``preprocessing_fn`` imported from a Python file (its folder importable meanwhile).

    Introduced in c2w2_assignment_transform_traffic.
    """
    path = Path(module_file).resolve()
    if not path.is_file():
        raise ValueError(f"module file {path} does not exist")
    name = f"_labs_transform_module_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    # Registered like an import, so the module (and the globals preprocessing_fn uses) stays alive.
    sys.modules[name] = module
    # Course module files import a constants module that sits next to them.
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    fn = getattr(module, "preprocessing_fn", None)
    if not callable(fn):
        raise ValueError(
            f"module file {path} defines no preprocessing_fn: add "
            "`def preprocessing_fn(inputs): ...` returning a dict of transformed features"
        )
    return fn


def _stats_options(schema: schema_pb2.Schema, vocab_paths: dict[str, str] | None = None) -> tfdv.StatsOptions:
    # The options TFX's Transform gives TFDV (_InvokeStatsOptionsUpdaterFn).
    return tfdv.StatsOptions(
        schema=schema, vocab_paths=vocab_paths, experimental_use_sketch_based_topk_uniques=True
    )


def _vocab_paths(graph: Path) -> dict[str, str]:
    """Return vocabulary name -> asset file, from the graph's ``asset_map`` (empty without one)."""
    mapping = graph / tft.TFTransformOutput.TRANSFORMED_METADATA_DIR / tft.TFTransformOutput.ASSET_MAP
    if not mapping.is_file():
        return {}
    assets = graph / tft.TFTransformOutput.TRANSFORM_FN_DIR / "assets"
    return {name: str(assets / file) for name, file in json.loads(mapping.read_text()).items()}


class Transform(Component):
    """Analyze one split with a ``preprocessing_fn`` and transform every split (TFX's Transform).

    Args:
        examples: the Examples artifact to analyze and transform.
        schema: the raw Schema artifact (it decides the input tensors: dense for a fixed shape).
        module_file: a Python file defining ``preprocessing_fn`` (TFX's style); or pass
            ``preprocessing_fn`` directly. Exactly one of the two.
        analyze_split: the split whose full-pass statistics (means, vocabularies) are computed
            (TFX: ``splits_config.analyze``, default train).
        disable_analyzer_cache: skip writing the analyzer cache (TFX's flag: no
            ``updated_analyzer_cache`` output); saves the time spent encoding the cache.

    Outputs (``TRANSFORM_OUTPUTS``): ``transform_graph`` (``metadata/``, ``transform_fn/``,
    ``transformed_metadata/``), ``transformed_examples``, ``pre_transform_schema`` and
    ``pre_transform_stats`` (the analyzed split), ``post_transform_schema``,
    ``post_transform_stats`` and ``post_transform_anomalies`` (all transformed splits together),
    ``updated_analyzer_cache``. Statistics and anomalies are single files without splits, as in TFX.
    Introduced in c2w2_lab_transform_pipeline_census.
    """

    output_keys = tuple(TRANSFORM_OUTPUTS)

    def __init__(
        self,
        examples: Artifact,
        schema: Artifact,
        *,
        module_file: str | Path | None = None,
        preprocessing_fn: Callable | None = None,
        analyze_split: str = "train",
        disable_analyzer_cache: bool = False,
    ) -> None:
        super().__init__()
        self.disable_analyzer_cache = disable_analyzer_cache
        self.output_keys = tuple(
            k for k in TRANSFORM_OUTPUTS if not (disable_analyzer_cache and k == "updated_analyzer_cache")
        )
        if (module_file is None) == (preprocessing_fn is None):
            raise ValueError("pass exactly one of module_file= and preprocessing_fn=")
        if analyze_split not in examples.split_names:
            raise ValueError(f"analyze_split {analyze_split!r} is not one of {examples.split_names}")
        self.examples, self.schema, self.analyze_split = examples, schema, analyze_split
        self.module_file = Path(module_file).resolve() if module_file is not None else None
        self.preprocessing_fn = load_preprocessing_fn(module_file) if module_file else preprocessing_fn

    def inputs(self) -> dict[str, Artifact]:
        """Return the examples and the raw schema."""
        return {"examples": self.examples, "schema": self.schema}

    def parameters(self) -> dict[str, Any]:
        """Return the module file or function name and the analyzed split."""
        fn = self.preprocessing_fn
        return {
            "module_file": str(self.module_file) if self.module_file else None,
            "preprocessing_fn": f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', fn)}",
            "splits_config": {"analyze": [self.analyze_split], "transform": self.examples.split_names},
            "disable_statistics": 0,
            "disable_analyzer_cache": int(self.disable_analyzer_cache),
        }

    def produce(self, context: Any, dirs: dict[str, Path]) -> dict[str, Output]:
        """Run tf.Transform, then write the schemas, statistics and anomalies around it."""
        splits = self.examples.split_names
        raw_schema = artifacts.load_schema(self.schema)
        graph = dirs["transform_graph"]
        transform_lib.transform_data(
            self.preprocessing_fn,
            {split: self.examples.files(split) for split in splits},
            schema=raw_schema,
            analyze_split=self.analyze_split,
            output_dir=graph,
            transform_graph_dir=graph,
            examples_dir=dirs["transformed_examples"],
            write_examples=True,
            materialize=False,
            beam_pipeline_args=context.beam_pipeline_args,
            cache_dir=dirs.get("updated_analyzer_cache"),
        )
        # TFX also keeps the raw schema in the graph, so raw_feature_spec() works.
        metadata_io.write_metadata(
            dataset_metadata.DatasetMetadata(raw_schema), str(graph / tft.TFTransformOutput.RAW_METADATA_DIR)
        )
        output = tft.TFTransformOutput(str(graph))
        post_schema = output.transformed_metadata.schema
        tfdv.write_schema_text(raw_schema, str(dirs["pre_transform_schema"] / artifacts.SCHEMA_FILE))
        tfdv.write_schema_text(post_schema, str(dirs["post_transform_schema"] / artifacts.SCHEMA_FILE))
        pre_stats = dirs["pre_transform_stats"] / artifacts.STATS_FILE
        post_stats = dirs["post_transform_stats"] / artifacts.STATS_FILE
        vocab_paths = _vocab_paths(graph)
        transformed_dir = dirs["transformed_examples"]
        transformed_files = sorted(str(p) for s in splits for p in (transformed_dir / f"Split-{s}").iterdir())
        compute = artifacts.compute_statistics
        compute(
            {pre_stats: self.examples.files(self.analyze_split)},
            _stats_options(raw_schema),
            beam_pipeline_args=context.beam_pipeline_args,
            schema=raw_schema,
        )
        compute(
            {post_stats: transformed_files},
            _stats_options(post_schema, vocab_paths),
            beam_pipeline_args=context.beam_pipeline_args,
            schema=post_schema,
        )
        anomalies = tfdv.validate_statistics(tfdv.load_stats_binary(str(post_stats)), post_schema)
        path = dirs["post_transform_anomalies"] / artifacts.ANOMALIES_FILE
        path.write_bytes(anomalies.SerializeToString())
        return self._outputs(splits)

    def _outputs(self, splits: list[str]) -> dict[str, Output]:
        """Return what TFX 1.16 records for each output: only the examples' split names."""
        outputs = {key: Output(TRANSFORM_OUTPUTS[key]) for key in self.output_keys}
        properties = {"split_names": json.dumps(splits)}
        outputs["transformed_examples"] = Output("Examples", properties)
        return outputs
