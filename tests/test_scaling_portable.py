"""TFDV statistics and tf.Transform on Beam's portable runner with an external worker pool.

The pool's SDK worker processes must do the work (not the test process), the outputs must equal
the default in-process run, and every pipeline of one process must land in the pool (a reused
``PipelineOptions`` object once sent the second pipeline to the in-process DirectRunner).
Marked ``beam``: each portable pipeline costs seconds of worker start-up.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

tfdv = pytest.importorskip("tensorflow_data_validation")
import beam_probes  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_transform as tft  # noqa: E402

from labs_utils import scaling, transform, validation  # noqa: E402

pytestmark = pytest.mark.beam
TESTS_DIR = Path(__file__).parent
MULTI_PROCESSING = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A job service and worker pool on loopback for this module; stopped (by PID) afterwards."""
    logs = tmp_path_factory.mktemp("cluster")
    with scaling.PortableCluster(log_dir=logs, pythonpath=[TESTS_DIR]) as running:
        yield running
    for pid in (running.pool_pid, running.job_service_pid):
        assert pid is None  # stop() forgot them


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """400 rows: numbers with gaps, a category, an integer."""
    rng = np.random.default_rng(11)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 90, size=400),
            "dose": rng.exponential(2.0, size=400),
            "colour": rng.choice(["red", "green", "blue"], size=400),
        }
    )
    df.loc[rng.random(400) < 0.1, "dose"] = np.nan
    return df


def _stats(frame, tmp_path: Path, name: str, args: list[str] | None, beam: bool | None = None):
    """Return (statistics, processes that computed them) for one run with the WhereRan probe."""
    record = tmp_path / name
    record.mkdir()
    slicer = tfdv.experimental_get_feature_value_slicer({"colour": None})
    probe = beam_probes.WhereRan(record)
    options = tfdv.StatsOptions(generators=[probe], experimental_slice_functions=[slicer])
    stats = validation.generate_statistics(frame, options, beam=beam, beam_pipeline_args=args)
    return stats, beam_probes.processes(record)


def _normalized(stats) -> dict[str, bytes]:
    """Map slice names to their statistics with features in name order (runners may reorder them)."""
    result = {}
    for dataset in stats.datasets:
        copy = type(dataset)()
        copy.CopyFrom(dataset)
        features = sorted(copy.features, key=lambda f: ".".join(f.path.step))
        del copy.features[:]
        copy.features.extend(features)
        result[copy.name] = copy.SerializeToString(deterministic=True)
    return result


def test_statistics_run_in_the_pool_and_equal_the_default_beam_run(cluster, frame, tmp_path):
    expected, here = _stats(frame, tmp_path, "default", None, beam=True)
    assert set(here) == {os.getpid()}  # the default Beam run stays in this process

    args = cluster.pipeline_args()
    for run in ("first", "second"):  # the second pipeline of a process must land in the pool too
        stats, where = _stats(frame, tmp_path, run, args)
        # only SDK worker processes the pool started did the work, never this process
        assert where and all(up[0] == cluster.pool_pid for up in where.values()), (run, where)
        assert os.getpid() not in where
        assert _normalized(stats) == _normalized(expected)
    assert set(_normalized(expected)) == {"All Examples", "colour_red", "colour_green", "colour_blue"}


def _can_make_namespaces() -> bool:
    """Return True when this process may create network namespaces (root with iproute2)."""
    import shutil

    return os.geteuid() == 0 and shutil.which("ip") is not None


@pytest.mark.skipif(not _can_make_namespaces(), reason="creating a network namespace needs root and iproute2")
def test_workers_in_a_network_namespace_of_their_own(frame, tmp_path):
    expected, _ = _stats(frame, tmp_path, "default", None, beam=True)
    logs = tmp_path / "logs"
    with scaling.PortableCluster(network_namespace=True, pythonpath=[TESTS_DIR], log_dir=logs) as c:
        address = c.namespace.address
        assert c.pipeline_args()[1] == f"--job_endpoint={address}:{c.job_port}"
        stats, where = _stats(frame, tmp_path, "namespaced", c.pipeline_args())
        record, pool = tmp_path / "namespaced", c.pool_pid
    assert _normalized(stats) == _normalized(expected)
    assert where and all(up[0] == pool for up in where.values()), (where, pool)
    # the workers saw another network: another host, as far as sockets go
    seen = beam_probes.namespaces(record)
    assert seen and beam_probes.network_namespace() not in seen, seen
    assert not Path(f"/var/run/netns/{c.namespace.name}").exists()  # deleted on stop


@pytest.fixture
def workers_import_tests(monkeypatch):
    """Let worker processes this process starts import this module and beam_probes by name."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.usefixtures("workers_import_tests")
def test_statistics_on_the_multi_processing_direct_runner(frame, tmp_path):
    expected, _ = _stats(frame, tmp_path, "default", None, beam=True)
    stats, where = _stats(frame, tmp_path, "multi", MULTI_PROCESSING)
    # worker processes started by this process (through a shell), none of them this process itself
    assert where and os.getpid() not in where, where
    assert all(os.getpid() in up for up in where.values()), where
    assert _normalized(stats) == _normalized(expected)


def preprocessing_fn(inputs):
    """Scale, standardise and encode: full-pass analyzers plus a row-wise op."""
    dose = tf.sparse.to_dense(inputs["dose"], default_value=0.0)
    return {
        "age_scaled": tft.scale_to_0_1(inputs["age"]),
        "dose_z": tft.scale_to_z_score(tf.squeeze(dose, axis=1)),
        "colour_id": tft.compute_and_apply_vocabulary(inputs["colour"]),
        "old": tf.cast(inputs["age"] > 60, tf.int64),
    }


def _transform(frame, out: Path, args: list[str] | None) -> transform.TransformResult:
    splits = {"train": frame.iloc[:300], "eval": frame.iloc[300:].reset_index(drop=True)}
    return transform.transform_data(
        preprocessing_fn, splits, output_dir=out, write_examples=True, batch_size=64, beam_pipeline_args=args
    )


def _rows(shards: list[Path]) -> pd.DataFrame:
    """Load transformed examples in a canonical order (files hold rows in the runner's order)."""
    frame = transform.load_example_files(shards)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _created_by_umask(path: Path) -> int:
    """Return the permission bits a file got at creation (the writer's umask decides them)."""
    return stat.S_IMODE(path.stat().st_mode)


class _Sleep:
    """A DoFn body that takes a few seconds per element."""

    def __call__(self, element):
        time.sleep(4)
        return element


def test_beams_job_server_timeout_bounds_the_whole_job(cluster):
    import apache_beam as beam

    def run(args: list[str]) -> None:
        with beam.Pipeline(options=scaling.pipeline_options(args)) as pipeline:
            _ = pipeline | beam.Create([1, 2]) | beam.Map(_Sleep())

    with pytest.raises(Exception, match="DEADLINE_EXCEEDED|Deadline Exceeded"):
        run([*cluster.pipeline_args(), "--job_server_timeout=3"])
    run(cluster.pipeline_args())  # the helpers' default waits as long as the job takes


@pytest.mark.parametrize("workers", [1, 2])
def test_transform_runs_in_the_pool_and_equals_the_default_run(cluster, frame, tmp_path, workers):
    expected = _transform(frame, tmp_path / "default", None)
    result = _transform(frame, tmp_path / "portable", cluster.pipeline_args(workers))
    for split in ("train", "eval"):
        pd.testing.assert_frame_equal(result.transformed[split], expected.transformed[split])
        shards = result.transformed_examples[split]
        assert shards
        # The pool runs with umask 077, this process does not: its workers wrote these files.
        assert {_created_by_umask(p) for p in shards} == {0o600}
        assert {_created_by_umask(p) for p in expected.transformed_examples[split]} == {0o666 & ~_umask()}
        pd.testing.assert_frame_equal(_rows(shards), _rows(expected.transformed_examples[split]))
    assert result.transformed_schema == expected.transformed_schema


@pytest.mark.usefixtures("workers_import_tests")
def test_transform_on_the_multi_processing_direct_runner(frame, tmp_path):
    expected = _transform(frame, tmp_path / "default", None)
    result = _transform(frame, tmp_path / "multi", MULTI_PROCESSING)
    for split in ("train", "eval"):
        pd.testing.assert_frame_equal(result.transformed[split], expected.transformed[split])


def _umask() -> int:
    """Return this process's umask (reading it means setting it; set it straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_server_that_cannot_start_is_reported_and_cleaned_up(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # shadow labs_utils with a broken package
    (tmp_path / "labs_utils").mkdir()
    (tmp_path / "labs_utils" / "__init__.py").write_text("raise ImportError('broken on purpose')\n")
    cluster = scaling.PortableCluster(log_dir=tmp_path / "logs", start_timeout=60)
    with pytest.raises(scaling.StartError, match="exited with code 1"):
        cluster.start()
    assert cluster.pool_pid is None and cluster.job_service_pid is None


def _alive(pid: int) -> bool:
    """Return True while a process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def test_servers_stop_when_their_caller_dies(tmp_path):
    script = (
        "import sys, time\n"
        "from labs_utils import scaling\n"
        "cluster = scaling.PortableCluster(log_dir=sys.argv[1])\n"
        "cluster.start()\n"
        "print(cluster.job_service_pid, cluster.pool_pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    command = [sys.executable, "-c", script, str(tmp_path)]
    caller = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in caller.stdout.readline().split()]
    try:
        assert len(pids) == 2 and all(_alive(pid) for pid in pids)
        caller.kill()  # no chance to stop its cluster
        caller.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(_alive(pid) for pid in pids)
    finally:
        for pid in pids:
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
