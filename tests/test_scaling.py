"""labs_utils.scaling: one list of Beam flags (TFX's beam_pipeline_args) from `labs run` to Beam."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    PortableOptions,
    SetupOptions,
    StandardOptions,
)

from labs_utils import cli, hygiene, kernel, scaling, transform, validation

PORTABLE = [
    "--runner=PortableRunner",
    "--job_endpoint=localhost:8099",
    "--environment_type=EXTERNAL",
    "--environment_config=127.0.0.1:50000",
]


def test_no_flags_mean_the_in_process_direct_runner():
    options = scaling.pipeline_options([])
    assert options.view_as(StandardOptions).runner == "DirectRunner"
    assert options.view_as(DirectOptions).direct_running_mode == "in_memory"
    assert options.view_as(SetupOptions).pickle_library == "default"
    assert scaling.runs_in_process([]) and scaling.runs_in_process(None)


@pytest.mark.parametrize(
    ("flags", "in_process", "label"),
    [
        ([], True, "in_memory"),
        (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], True, "multi_threading x2"),
        (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], False, "multi_processing x2"),
        ([*PORTABLE, "--direct_num_workers=2"], False, "PortableRunner x2"),
        (["--runner=DataflowRunner", "--project=p", "--region=r"], False, "DataflowRunner"),
    ],
)
def test_where_flags_run_a_pipeline(flags, in_process, label):
    assert scaling.runs_in_process(flags) is in_process
    assert scaling.runner_label(flags) == label
    pickler = scaling.pipeline_options(flags).view_as(SetupOptions).pickle_library
    # workers in other processes rebuild notebook functions only with cloudpickle
    assert pickler == ("default" if in_process else "cloudpickle")


def test_other_runners_get_no_direct_runner_defaults():
    options = scaling.pipeline_options(PORTABLE)
    assert options.view_as(StandardOptions).runner == "PortableRunner"
    assert options.view_as(PortableOptions).environment_config == "127.0.0.1:50000"
    assert "--direct_running_mode=in_memory" not in options.get_all_options(drop_default=True).values()


def test_other_runners_may_run_longer_than_a_minute():
    # Beam's 60 s default deadline covers the whole portable job (see test_scaling_portable)
    assert scaling.pipeline_options(PORTABLE).view_as(PortableOptions).job_server_timeout == 86400
    chosen = scaling.pipeline_options([*PORTABLE, "--job_server_timeout=5"])
    assert chosen.view_as(PortableOptions).job_server_timeout == 5


def test_a_string_is_not_a_list_of_flags():
    with pytest.raises(TypeError, match="list of flags"):
        scaling.pipeline_options("--runner=PortableRunner")


def test_each_call_gets_its_own_options_so_a_portable_run_cannot_reset_the_next():
    given = PipelineOptions(PORTABLE)
    first, second = scaling.pipeline_options(given), scaling.pipeline_options(given)
    # What PortableRunner.run_portable_pipeline does to the options it is handed:
    first.view_as(StandardOptions).runner = None
    assert second.view_as(StandardOptions).runner == "PortableRunner"
    assert given.view_as(StandardOptions).runner == "PortableRunner"


def test_in_process_statistics_refuse_beam_flags_instead_of_ignoring_them():
    frame = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.raises(ValueError, match="would be ignored"):
        validation.generate_statistics(frame, beam=False, beam_pipeline_args=["--direct_num_workers=2"])


def test_beam_flags_alone_choose_the_beam_statistics_path(monkeypatch):
    seen = []
    monkeypatch.setattr(validation, "_beam_statistics", lambda batch, options, args: seen.append(args))
    frame = pd.DataFrame({"x": [1, 2, 3]})
    validation.generate_statistics(frame, beam_pipeline_args=["--direct_num_workers=1"])
    validation.generate_statistics(frame, beam_pipeline_args=[])
    assert seen == [["--direct_num_workers=1"]]  # the empty list stayed in process


def test_statistics_beam_options_is_a_deprecated_alias(monkeypatch):
    seen = []
    monkeypatch.setattr(validation, "_beam_statistics", lambda batch, options, args: seen.append(args))
    frame = pd.DataFrame({"x": [1, 2, 3]})
    with pytest.warns(DeprecationWarning, match="beam_pipeline_args"):
        validation.generate_statistics(frame, beam_options=["--direct_num_workers=1"])
    assert seen == [["--direct_num_workers=1"]]
    with pytest.raises(TypeError, match="beam_pipeline_args only"):
        validation.generate_statistics(frame, beam_options=[], beam_pipeline_args=[])


def _sum_fn(inputs):
    import tensorflow_transform as tft

    return {"x_scaled": tft.scale_to_0_1(inputs["x"])}


def test_transform_beam_options_is_a_deprecated_alias(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with pytest.warns(DeprecationWarning, match="beam_pipeline_args"):
        old = transform.transform_data(_sum_fn, frame, beam_options=[], output_dir=tmp_path / "old")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = transform.transform_data(_sum_fn, frame, beam_pipeline_args=[], output_dir=tmp_path / "new")
    pd.testing.assert_frame_equal(old.transformed["train"], new.transformed["train"])
    with pytest.raises(TypeError, match="beam_pipeline_args only"):
        transform.transform_data(_sum_fn, frame, beam_options=[], beam_pipeline_args=[])


# --- `labs run --beam-arg` ------------------------------------------------------------------


def _lab(path: Path, title: str, parameters: str) -> Path:
    """Write a lab that records whether BEAM_ARGS reached it into results.json."""
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    record = (
        "import json, pathlib\n"
        "got = globals().get('BEAM_ARGS', 'undefined')\n"
        "pathlib.Path(OUTPUT_DIR, 'results.json').write_text(json.dumps({'beam_args': got}))"
    )
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(f"# {title}"), cell, nbformat.v4.new_code_cell(record)]
    )
    nb.metadata["kernelspec"] = kernel.notebook_metadata()
    nbformat.write(nb, str(path))
    return path


@pytest.mark.notebook
def test_labs_run_injects_beam_args_only_where_declared(tmp_path, capsys):
    base = 'QUICK = False\nDATA_DIR = None\nOUTPUT_DIR = "out"\nSEED = 42\n'
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lab(folder / "c0w1_lab_beam.ipynb", "Beam lab", base + "BEAM_ARGS = []  # Beam flags")
    _lab(folder / "c0w1_lab_plain.ipynb", "Plain lab", base)
    assert "BEAM_ARGS" in hygiene.declared_parameters(folder / "c0w1_lab_beam.ipynb")
    assert "BEAM_ARGS" not in hygiene.declared_parameters(folder / "c0w1_lab_plain.ipynb")

    flags = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    argv = ["run", "--notebooks", str(folder), "--output", str(tmp_path / "out"), "--no-html"]
    assert cli.main(argv + [f"--beam-arg={flag}" for flag in flags]) == 0
    got = {
        name: json.loads((tmp_path / "out" / name / "results.json").read_text())["beam_args"]
        for name in ("c0w1_lab_beam", "c0w1_lab_plain")
    }
    assert got == {"c0w1_lab_beam": flags, "c0w1_lab_plain": "undefined"}
    out = capsys.readouterr().out
    assert "without Beam flags (no BEAM_ARGS parameter): c0w1_lab_plain" in out


BEAM_LABS = ("c2w2_lab_simple_transform", "c2w4_lab_weather_timeseries", "c2w4_lab_accelerometer_signals")


def test_the_beam_labs_declare_beam_args(repo_root):
    for name in BEAM_LABS:
        assert "BEAM_ARGS" in hygiene.declared_parameters(repo_root / "notebooks" / f"{name}.ipynb"), name


def _stats_list(mean: float, count: int, reverse: bool = False):
    """Statistics of two numeric features, optionally listed in reverse order."""
    from tensorflow_metadata.proto.v0 import statistics_pb2

    stats = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats.datasets.add(name="All Examples", num_examples=count)
    for name in reversed(("a", "b")) if reverse else ("a", "b"):
        feature = dataset.features.add()
        feature.path.step.append(name)
        feature.num_stats.mean = mean
        feature.num_stats.common_stats.num_non_missing = count
    return stats


def test_statistics_compare_equal_whatever_the_feature_order():
    diff = scaling.compare_statistics(_stats_list(2.5, 10), _stats_list(2.5, 10, reverse=True))
    assert diff == {"exact_fields_equal": True, "max_relative_float_difference": 0.0, "largest_at": None}


def test_statistics_report_float_rounding_apart_from_different_counts():
    rounded = scaling.compare_statistics(_stats_list(2.5, 10), _stats_list(2.5 * (1 + 1e-12), 10))
    assert rounded["exact_fields_equal"] and 5e-13 < rounded["max_relative_float_difference"] < 2e-12
    assert rounded["largest_at"].endswith("num_stats.mean")
    assert not scaling.compare_statistics(_stats_list(2.5, 10), _stats_list(2.5, 11))["exact_fields_equal"]


def _write_examples(path: Path, rows: list[tuple[float, int]]) -> list[Path]:
    import tensorflow as tf

    with tf.io.TFRecordWriter(str(path)) as writer:
        for x, k in rows:
            example = tf.train.Example()
            example.features.feature["x"].float_list.value.append(x)
            example.features.feature["k"].int64_list.value.append(k)
            writer.write(example.SerializeToString())
    return [path]


def test_examples_compare_equal_in_any_order_and_up_to_rounding(tmp_path):
    rows = [(-1.5, 0), (0.25, 1), (2.0, 1), (0.25, 2)]
    left = _write_examples(tmp_path / "left", rows)
    shuffled = [(x + 1e-6 if x > 1 else x, k) for x, k in reversed(rows)]
    diff = scaling.compare_examples(left, _write_examples(tmp_path / "right", shuffled))
    assert diff["rows_equal"] and diff["rows"] == 4
    assert 5e-7 < diff["max_abs_float_difference"] < 2e-6  # float32 of 2.0 + 1e-6
    swapped = [(-1.5, 0), (0.25, 2), (2.0, 1), (0.25, 2)]  # a row's integer changed
    assert not scaling.compare_examples(left, _write_examples(tmp_path / "swapped", swapped))["rows_equal"]


BUSY = "import time\nwhile time.process_time() < 0.5:\n    pass"  # half a second of CPU, whatever the load


def test_process_watch_sees_a_child_do_the_work():
    import os
    import subprocess
    import sys

    with scaling.ProcessWatch(interval=0.05) as watch:
        child = subprocess.Popen([sys.executable, "-c", BUSY])
        child.wait()
    summary = watch.summary()
    assert summary["workers"][child.pid]["parent"] == os.getpid()
    assert summary["workers"][child.pid]["cpu_s"] > 0.25  # half a CPU second, sampled
    assert summary["workers_cpu_s"] > summary["caller_cpu_s"]
    assert summary["caller_peak_rss_mb"] > 10 and summary["wall_s"] > 0.4
    assert not scaling.is_running(child.pid) and scaling.is_running(os.getpid())
