"""The scaling-out lab in quick mode: every runner's outputs re-read from the run's files, and each
runner's work traced to the processes that did it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from helpers import results_fixture

from labs_utils import scaling

pytestmark = [pytest.mark.notebook, pytest.mark.beam]

LAB = "c2x_lab_scaling_out"
RUNNERS = ("in_process", "multi_processing_2", "portable_1", "portable_2")
POOL_RUNNERS = ("portable_1", "portable_2")

scaling_lab = results_fixture(LAB)


def _working(run: dict) -> dict[int, dict]:
    """Return the processes other than the caller that spent CPU during a run."""
    return {int(pid): w for pid, w in run["workers"].items() if w["cpu_s"] > 0}


def _statistics(run: dict, split: str):
    """Read one split of a run's StatisticsGen output from disk."""
    import tensorflow_data_validation as tfdv

    return tfdv.load_stats_binary(str(Path(run["statistics_uri"]) / f"Split-{split}" / "FeatureStats.pb"))


def _example_files(run: dict, split: str) -> list[Path]:
    files = sorted(
        p for p in (Path(run["transformed_examples_uri"]) / f"Split-{split}").iterdir() if p.is_file()
    )
    assert files, f"no transformed examples for {split} in {run['transformed_examples_uri']}"
    return files


def test_the_run_names_its_lab_mode_data_and_machine(scaling_lab):
    assert scaling_lab["data_source"] in {"official", "mirror", "mirror-subset"}
    assert scaling_lab["quick_changes"], "quick mode must say what it changed"
    assert set(scaling_lab["runners"]) == set(RUNNERS)
    assert scaling_lab["rows"] == sum(scaling_lab["split_sizes"].values()) < scaling_lab["rows_loaded"]
    assert len(scaling_lab["machine"]["load_average_start"]) == 3


def test_each_runner_ran_with_the_flags_the_lesson_teaches(scaling_lab):
    flags = {name: scaling_lab["runners"][name]["flags"] for name in RUNNERS}
    assert flags["in_process"] == []
    assert flags["multi_processing_2"] == ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]
    for name, workers in (("portable_1", 1), ("portable_2", 2)):
        assert flags[name][0] == "--runner=PortableRunner"
        assert flags[name][1].startswith("--job_endpoint=localhost:")
        assert flags[name][2] == "--environment_type=EXTERNAL"
        assert flags[name][3].startswith("--environment_config=127.0.0.1:")
        assert flags[name][-1] == f"--direct_num_workers={workers}"


def test_every_runner_wrote_the_same_statistics_as_the_in_process_run(scaling_lab):
    runs, tolerance = scaling_lab["runners"], scaling_lab["tolerances"]["statistics_relative"]
    assert tolerance <= 1e-6
    for split in ("train", "eval"):
        expected = _statistics(runs["in_process"], split)
        assert expected.datasets[0].num_examples == scaling_lab["split_sizes"][split]
        for name in RUNNERS[1:]:
            diff = scaling.compare_statistics(expected, _statistics(runs[name], split))
            assert diff["exact_fields_equal"], (name, split)
            assert diff["max_relative_float_difference"] <= tolerance, (name, split, diff)


def test_every_runner_wrote_the_same_transformed_examples(scaling_lab):
    runs, tolerance = scaling_lab["runners"], scaling_lab["tolerances"]["examples_absolute"]
    assert tolerance <= 1e-5
    for split, size in scaling_lab["split_sizes"].items():
        expected = _example_files(runs["in_process"], split)
        for name in RUNNERS[1:]:
            diff = scaling.compare_examples(expected, _example_files(runs[name], split))
            assert diff["rows"] == size, f"{split}: one transformed example per input row"
            assert diff["rows_equal"] and diff["max_abs_float_difference"] <= tolerance, (name, split, diff)


def test_the_recorded_comparisons_match_the_files(scaling_lab):
    recorded = {(c["runner"], c["split"]): c for c in scaling_lab["comparisons"]}
    assert set(recorded) == {(name, split) for name in RUNNERS[1:] for split in ("train", "eval")}
    runs = scaling_lab["runners"]
    for (name, split), c in recorded.items():
        diff = scaling.compare_statistics(
            _statistics(runs["in_process"], split), _statistics(runs[name], split)
        )
        assert c["statistics_max_rel_diff"] == pytest.approx(diff["max_relative_float_difference"], abs=1e-18)


def test_the_pool_runs_worked_in_the_pools_workers_not_in_the_kernel(scaling_lab):
    kernel = scaling_lab["kernel_pid"]
    for name in POOL_RUNNERS:
        run = scaling_lab["runners"][name]
        pool = run["cluster_pids"]["worker_pool"]
        assert pool and pool != kernel and run["cluster_pids"]["job_service"] not in (kernel, pool)
        working = _working(run)
        assert working and kernel not in working, (name, working)
        assert {w["parent"] for w in working.values()} == {pool}, name
        # the work happened there: the workers spent more CPU than the kernel that submitted the jobs
        assert run["workers_cpu_s"] > run["caller_cpu_s"], name
    # with two workers asked for, more distinct worker processes did the work than with one
    assert len(_working(scaling_lab["runners"]["portable_2"])) > len(
        _working(scaling_lab["runners"]["portable_1"])
    )


def test_files_the_pool_wrote_are_the_pools_and_the_kernels_are_not(scaling_lab):
    # The pool runs with umask 077: a file its workers create is private to the owner (no group bits).
    def private(run: dict) -> set[bool]:
        files = [f for split in run["split_names"] for f in _example_files(run, split)]
        return {stat.S_IMODE(f.stat().st_mode) & 0o077 == 0 for f in files}

    runs = scaling_lab["runners"]
    assert private(runs["in_process"]) == {False}
    for name in POOL_RUNNERS:
        assert private(runs[name]) == {True}, name


def test_the_multi_processing_run_worked_in_processes_the_kernel_started(scaling_lab):
    kernel = scaling_lab["kernel_pid"]
    run = scaling_lab["runners"]["multi_processing_2"]
    working = _working(run)
    assert working and kernel not in working
    everyone = {int(pid): w["parent"] for pid, w in run["workers"].items()}
    for pid in working:
        chain, parent = [], everyone[pid]
        while parent in everyone and parent not in chain:  # up through shells the kernel started
            chain.append(parent)
            parent = everyone[parent]
        assert parent == kernel, (pid, chain)
    assert run["workers_cpu_s"] > 0


def test_the_in_process_run_did_its_work_in_the_kernel(scaling_lab):
    run = scaling_lab["runners"]["in_process"]
    assert run["caller_cpu_s"] > 0 and run["workers_cpu_s"] <= 0.05 * run["caller_cpu_s"]


def test_the_clusters_were_stopped(scaling_lab):
    assert scaling_lab["servers_left"] == {name: [] for name in POOL_RUNNERS}
    pids = [pid for name in POOL_RUNNERS for pid in scaling_lab["runners"][name]["cluster_pids"].values()]
    for pid in pids:
        cmdline = Path(f"/proc/{pid}/cmdline")
        alive = scaling.is_running(pid) and b"labs_utils.scaling" in cmdline.read_bytes()
        assert not alive, f"cluster process {pid} still runs"


def test_the_table_and_memory_come_from_the_recorded_runs(scaling_lab):
    table, runs = scaling_lab["table"], scaling_lab["runners"]
    assert set(table) == set(RUNNERS)
    for name in RUNNERS:
        assert table[name]["wall_s"] == pytest.approx(runs[name]["wall_s"], abs=0.05)
        assert table[name]["rows_per_s"] == pytest.approx(
            scaling_lab["rows"] / runs[name]["wall_s"], rel=0.01, abs=0.5
        )
        assert runs[name]["caller_peak_rss_mb"] > 100  # a kernel with TensorFlow loaded
    for name in ("multi_processing_2", *POOL_RUNNERS):
        assert runs[name]["workers_peak_rss_mb"] > 100, name  # workers import TensorFlow too
    for name in POOL_RUNNERS:
        assert runs[name]["servers_peak_rss_mb"] > 0, name
