"""Where Beam runs: pipeline flags (TFX's ``beam_pipeline_args``) and a local portable cluster.

TFX hands every component one list of Beam flags, ``beam_pipeline_args``. Here the same list
decides where TFDV statistics and tf.Transform run: empty means the fast in-process
DirectRunner; ``--direct_running_mode=multi_processing`` uses worker processes on this machine;
``--runner=PortableRunner`` sends the job to a job service whose workers run elsewhere, the way
Flink, Spark and Dataflow run Python pipelines. ``PortableCluster`` starts Beam's own job service
and an external worker pool on this machine, loopback only, to show and test exactly that.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from apache_beam.options.pipeline_options import PipelineOptions
    from matplotlib.figure import Figure
    from tensorflow_metadata.proto.v0 import statistics_pb2

__all__ = [
    "DEFAULT_BEAM_FLAGS",
    "PortableCluster",
    "ProcessWatch",
    "StartError",
    "compare_examples",
    "compare_statistics",
    "is_running",
    "pipeline_options",
    "plot_runners",
    "runner_label",
    "runner_table",
    "runs_in_process",
]

DEFAULT_BEAM_FLAGS = ("--runner=DirectRunner", "--direct_running_mode=in_memory")
# Beam 2.61's PortableRunner (and Flink/Spark, which use it) waits for a job's state with a deadline
# of --job_server_timeout seconds, 60 by default: a longer job fails with DEADLINE_EXCEEDED.
JOB_SERVER_TIMEOUT_FLAG = "--job_server_timeout=86400"


def pipeline_options(beam_pipeline_args: Sequence[str] | PipelineOptions | None = None) -> PipelineOptions:
    """Return new Beam options: in-process DirectRunner unless the flags say otherwise.

    Flags come from the given list only, never from ``sys.argv`` (inside Jupyter it holds the
    kernel's arguments). Whenever workers run outside this process (multi-processing, or any
    other runner) cloudpickle becomes the default pickler, so workers can rebuild functions
    defined in a notebook: dill drops their globals (NameError: tft) without
    ``--save_main_session``. Other runners also get a day's ``--job_server_timeout`` unless the
    flags set one: Beam's default, 60 s, bounds the whole job, not just connecting. Every call
    returns a new object, and given ``PipelineOptions`` are copied: a portable run resets its
    options' runner to None, so reusing one object would send the next pipeline to the
    in-process DirectRunner.
    Introduced in c2w2_lab_simple_transform.
    """
    from apache_beam.options.pipeline_options import PipelineOptions

    if isinstance(beam_pipeline_args, PipelineOptions):
        return copy.deepcopy(beam_pipeline_args)
    if isinstance(beam_pipeline_args, str):
        raise TypeError(f"beam_pipeline_args is a list of flags, got the string {beam_pipeline_args!r}")
    flags = list(beam_pipeline_args or [])
    names = {f.split("=")[0] for f in flags}
    other_runner = any(f.startswith("--runner") and "DirectRunner" not in f for f in flags)
    defaults = [] if other_runner else [f for f in DEFAULT_BEAM_FLAGS if f.split("=")[0] not in names]
    if other_runner and "--job_server_timeout" not in names:
        defaults.append(JOB_SERVER_TIMEOUT_FLAG)
    if not runs_in_process(flags) and "--pickle_library" not in names:
        defaults.append("--pickle_library=cloudpickle")
    return PipelineOptions(defaults + flags)


def runs_in_process(beam_pipeline_args: Sequence[str] | None) -> bool:
    """Return True when these flags keep all work in the calling process (the default).

    The DirectRunner's ``in_memory`` and ``multi_threading`` modes run here; ``multi_processing``
    and every other runner run the work in other processes.
    """
    flags = list(beam_pipeline_args or [])
    if any(f.startswith("--runner") and "DirectRunner" not in f for f in flags):
        return False
    modes = [f.split("=", 1)[1] for f in flags if f.startswith("--direct_running_mode=")]
    return not modes or modes[-1] in ("in_memory", "multi_threading")


def runner_label(beam_pipeline_args: Sequence[str] | None) -> str:
    """Describe where these flags run a pipeline, e.g. ``multi_processing x2`` or ``PortableRunner``."""
    flags = dict(f.split("=", 1) for f in (beam_pipeline_args or []) if "=" in f)
    runner = flags.get("--runner", "DirectRunner")
    workers = flags.get("--direct_num_workers")
    if runner == "DirectRunner":
        label = flags.get("--direct_running_mode", "in_memory")
        return label if label == "in_memory" else f"{label} x{workers or 1}"
    return f"{runner} x{workers}" if workers else runner


class StartError(RuntimeError):
    """A Beam service did not come up; the message quotes its log."""


class PortableCluster:
    """Beam's Python job service plus an external worker pool, started here and stopped by PID.

    Both are Beam's own servicers (``LocalJobServicer``, ``BeamFnExternalWorkerPoolServicer``)
    launched by ``python -m labs_utils.scaling``, which binds them to loopback and lets the job
    service honour ``--direct_num_workers`` (Beam's ``local_job_service_main`` always asks the
    pool for one worker, and ``worker_pool_main`` listens on every interface).

    Use it as a context manager; ``pipeline_args()`` gives the flags that send a pipeline there::

        with scaling.PortableCluster() as cluster:
            transform.transform_data(fn, df, beam_pipeline_args=cluster.pipeline_args(workers=2))

    Both servers listen on loopback only and run in their own process group, so stopping one
    also stops the SDK worker processes the pool started. The pool runs with umask 077: every
    file its workers create is private (mode 0600), which tells their files from the caller's.

    With ``network_namespace=True`` (root and iproute2 needed) both servers and their workers run
    in a network namespace of their own, a second host joined to this one by a veth pair: the
    caller reaches the job service only at the namespace's address, as it would reach a cluster.
    Files stay shared (same filesystem), as on a cluster with a shared mount.
    """

    def __init__(
        self,
        *,
        start_timeout: float = 120.0,
        stop_timeout: float = 10.0,
        log_dir: str | Path | None = None,
        pythonpath: Sequence[str | Path] = (),
        network_namespace: bool = False,
    ) -> None:
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_dir = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="labs-beam-cluster-"))
        self.pythonpath = [str(p) for p in pythonpath]
        self.job_port: int | None = None
        self.pool_port: int | None = None
        self.namespace: _Namespace | None = _Namespace() if network_namespace else None
        self._processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> PortableCluster:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def pool_pid(self) -> int | None:
        """Return the worker pool's process id (the parent of every SDK worker), or None."""
        process = self._processes.get("worker pool")
        return process.pid if process else None

    @property
    def job_service_pid(self) -> int | None:
        """Return the job service's process id, or None."""
        process = self._processes.get("job service")
        return process.pid if process else None

    def start(self) -> None:
        """Start the job service and the worker pool; wait for both ports or raise ``StartError``."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        job_port_file, pool_port_file = self.log_dir / "job_service.port", self.log_dir / "worker_pool.port"
        for stale in (job_port_file, pool_port_file):
            stale.unlink(missing_ok=True)
        try:
            if self.namespace is not None:
                self.namespace.create()
            self._spawn("job service", job_port_file, umask=None)
            self._spawn("worker pool", pool_port_file, umask=0o077)
            deadline = time.monotonic() + self.start_timeout
            self.job_port = self._wait_for_port("job service", job_port_file, deadline)
            self.pool_port = self._wait_for_port("worker pool", pool_port_file, deadline)
        except BaseException:
            self.stop()
            raise

    def pipeline_args(self, workers: int = 1) -> list[str]:
        """Return the flags that run a pipeline on this cluster with ``workers`` SDK workers."""
        if self.job_port is None or self.pool_port is None:
            raise RuntimeError("the cluster is not running; use `with PortableCluster() as cluster:`")
        host = self.namespace.address if self.namespace else "localhost"
        return [
            "--runner=PortableRunner",
            f"--job_endpoint={host}:{self.job_port}",
            "--environment_type=EXTERNAL",
            # the job service starts workers: the pool's address as the job service sees it
            f"--environment_config=127.0.0.1:{self.pool_port}",
            f"--direct_num_workers={workers}",  # the job service's runner starts this many workers
        ]

    def stop(self) -> None:
        """Stop both servers and their workers: SIGTERM to each process group, SIGKILL when late."""
        for name in ("worker pool", "job service"):
            process = self._processes.pop(name, None)
            if process is not None:
                _stop_group(process, self.stop_timeout)
        if self.namespace is not None:
            self.namespace.delete()
        self.job_port = self.pool_port = None

    def _spawn(self, name: str, port_file: Path, umask: int | None) -> None:
        """Start one server with this interpreter, the venv's bin first on PATH, in a new session."""
        env = dict(os.environ)
        # The pool starts workers as plain `python`: it must be this environment's interpreter.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, env.get("PYTHONPATH", "")])
        log = open(self.log_dir / f"{name.replace(' ', '_')}.log", "wb")  # the child keeps its own copy
        command = [sys.executable, "-m", "labs_utils.scaling", name.replace(" ", "-"), "--port-file"]
        command.append(str(port_file))
        if self.namespace is not None:
            command = [*self.namespace.exec_prefix(), *command]  # `ip netns exec` execs: same PID
            if name == "job service":
                command += ["--host", self.namespace.address]
        self._processes[name] = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            umask=-1 if umask is None else umask,
        )
        log.close()

    def _wait_for_port(self, name: str, port_file: Path, deadline: float) -> int:
        """Return the port a server wrote to ``port_file``; raise if it exits or the deadline passes."""
        process = self._processes[name]
        while time.monotonic() < deadline:
            if port_file.exists():
                return int(port_file.read_text().strip())
            if process.poll() is not None:
                raise StartError(f"the {name} exited with code {process.returncode}: {self._log_tail(name)}")
            time.sleep(0.1)
        raise StartError(
            f"the {name} did not start within {self.start_timeout:.0f} s: {self._log_tail(name)}"
        )

    def _log_tail(self, name: str, lines: int = 15) -> str:
        path = self.log_dir / f"{name.replace(' ', '_')}.log"
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
        return f"log {path}:\n" + "\n".join(text)


class _Namespace:
    """A network namespace joined to this one by a veth pair: 10.231.N.1 here, 10.231.N.2 there."""

    def __init__(self) -> None:
        self.number = os.getpid() % 250 + 1  # distinct per process, so parallel test runs do not clash
        self.name = f"labsbeam{os.getpid()}"
        self.address = f"10.231.{self.number}.2"
        self._host_link, self._inner_link = f"lbh{os.getpid()}"[:15], f"lbn{os.getpid()}"[:15]
        self.created = False

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def create(self) -> None:
        """Create the namespace and the link; raise ``StartError`` saying what failed."""
        inside = self.exec_prefix()
        self._ip(["netns", "add", self.name])
        self.created = True
        for args in (
            ["ip", "link", "add", self._host_link, "type", "veth", "peer", "name", self._inner_link],
            ["ip", "link", "set", self._inner_link, "netns", self.name],
            ["ip", "addr", "add", f"10.231.{self.number}.1/30", "dev", self._host_link],
            ["ip", "link", "set", self._host_link, "up"],
            [*inside, "ip", "addr", "add", f"{self.address}/30", "dev", self._inner_link],
            [*inside, "ip", "link", "set", self._inner_link, "up"],
            [*inside, "ip", "link", "set", "lo", "up"],
        ):
            self._run(args)

    def delete(self) -> None:
        """Delete the namespace (its end of the veth pair takes ours with it)."""
        if self.created:
            self._ip(["netns", "delete", self.name], check=False)
            self.created = False

    def _ip(self, args: list[str], check: bool = True) -> None:
        self._run(["ip", *args], check=check)

    @staticmethod
    def _run(args: list[str], check: bool = True) -> None:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
        if check and done.returncode:
            raise StartError(f"`{' '.join(args)}` failed: {done.stderr.strip()} (needs root and iproute2)")


def _stop_group(process: subprocess.Popen, timeout: float) -> None:
    """Terminate a process and its group (it leads a session of its own), killing it when late."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    # Workers may outlive a leader that exited on SIGTERM; the group id is still the leader's PID.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class _Seen:
    """What the sampler saw of one process: its parent, peak RSS and CPU seconds."""

    parent: int
    peak_rss: int = 0
    cpu_first: float | None = None
    cpu_last: float = 0.0

    @property
    def cpu_s(self) -> float:
        """Return the CPU seconds spent while watched."""
        return self.cpu_last - (self.cpu_first or 0.0)


@dataclass
class ProcessWatch:
    """Sample this process and every process below it (and below ``servers``) while a block runs.

    Reads ``/proc`` every ``interval`` seconds (Linux only). ``summary()`` then says how long the block
    took, the peak memory (resident set) of this process, of the servers and of their worker
    processes, and the CPU seconds each spent, so a run shows where its work really happened::

        with scaling.ProcessWatch(servers=[cluster.job_service_pid, cluster.pool_pid]) as watch:
            context.run(statistics_gen)
        watch.summary()

    Workers are the processes below this one or below a server, other than the servers themselves.
    Peaks are sampled (a spike shorter than ``interval`` can be missed); RSS counts shared pages in
    every process, so the workers' summed peak overstates what they needed together.
    Introduced in c2x_lab_scaling_out.
    """

    servers: Sequence[int | None] = ()
    interval: float = 0.2
    _seen: dict[int, _Seen] = field(default_factory=dict, init=False, repr=False)
    _workers_peak: int = field(default=0, init=False, repr=False)
    _servers_peak: int = field(default=0, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _wall: float = field(default=0.0, init=False, repr=False)
    _cpu: float = field(default=0.0, init=False, repr=False)

    def __enter__(self) -> ProcessWatch:
        self._stop.clear()
        self._sample()  # baseline: CPU already spent by existing processes is not this block's
        self._wall, self._cpu = time.perf_counter(), _own_cpu()
        self._thread = threading.Thread(target=self._loop, name="ProcessWatch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wall = time.perf_counter() - self._wall
        self._cpu = _own_cpu() - self._cpu
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def summary(self) -> dict:
        """Return wall and CPU seconds and peak memory (MB) of the caller, servers and workers."""
        me, mb = os.getpid(), 1024 * 1024
        servers = {pid for pid in self.servers if pid}
        workers = {
            pid: {"parent": s.parent, "peak_rss_mb": round(s.peak_rss / mb, 1), "cpu_s": round(s.cpu_s, 2)}
            for pid, s in self._seen.items()
            if pid != me and pid not in servers
        }
        return {
            "wall_s": round(self._wall, 3),
            "caller_pid": me,
            "caller_cpu_s": round(self._cpu, 2),
            "caller_peak_rss_mb": round(self._seen[me].peak_rss / mb, 1),
            "servers_peak_rss_mb": round(self._servers_peak / mb, 1) if servers else None,
            "servers_cpu_s": round(sum(self._seen[p].cpu_s for p in servers if p in self._seen), 2),
            "workers_peak_rss_mb": round(self._workers_peak / mb, 1),
            "workers_cpu_s": round(sum(w["cpu_s"] for w in workers.values()), 2),
            "workers": workers,
        }

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        """Read every process below the caller and the servers once; update peaks and CPU."""
        me = os.getpid()
        servers = {pid for pid in self.servers if pid}
        table = _process_table()
        watched, frontier = {me} | servers, [me, *servers]
        while frontier:
            parent = frontier.pop()
            for pid, (ppid, _, _) in table.items():
                if ppid == parent and pid not in watched:
                    watched.add(pid)
                    frontier.append(pid)
        workers_now = servers_now = 0
        for pid in watched:
            if pid not in table:
                continue
            ppid, rss, cpu = table[pid]
            seen = self._seen.setdefault(pid, _Seen(parent=ppid))
            seen.peak_rss = max(seen.peak_rss, rss)
            seen.cpu_first = cpu if seen.cpu_first is None else seen.cpu_first
            seen.cpu_last = cpu
            if pid in servers:
                servers_now += rss
            elif pid != me:
                workers_now += rss
        self._workers_peak = max(self._workers_peak, workers_now)
        self._servers_peak = max(self._servers_peak, servers_now)


def _own_cpu() -> float:
    """Return this process's user + system CPU seconds so far."""
    times = os.times()
    return times.user + times.system


def _process_table() -> dict[int, tuple[int, int, float]]:
    """Return pid -> (parent pid, resident bytes, CPU seconds) for every process in /proc."""
    ticks, page = os.sysconf("SC_CLK_TCK"), os.sysconf("SC_PAGE_SIZE")
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended between listing and reading
            continue
        # after the command name: state, ppid, ..., utime (12th), stime (13th), ..., rss (22nd)
        table[int(entry.name)] = (
            int(fields[1]),
            int(fields[21]) * page,
            (int(fields[11]) + int(fields[12])) / ticks,
        )
    return table


def is_running(pid: int | None) -> bool:
    """Return True when process ``pid`` exists and is not a zombie (read from /proc)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def compare_statistics(
    left: statistics_pb2.DatasetFeatureStatisticsList, right: statistics_pb2.DatasetFeatureStatisticsList
) -> dict:
    """Return how two statistics differ: whether every count and string agrees, and the largest float gap.

    Datasets are matched by name and features by path, so order does not matter. Integer and string
    fields (counts, top values, bucket counts of categorical features) must agree exactly to count as
    equal; float fields (means, deviations, histogram edges and weights) are compared by relative
    difference, since workers add the same numbers in another order and round differently.
    Introduced in c2x_lab_scaling_out.
    """
    left_fields, right_fields = _flat_statistics(left), _flat_statistics(right)
    exact_equal = left_fields.keys() == right_fields.keys()
    largest, where = 0.0, None
    for key in left_fields.keys() & right_fields.keys():
        a, b = left_fields[key], right_fields[key]
        if isinstance(a, float) or isinstance(b, float):
            gap = abs(float(a) - float(b)) / max(abs(float(a)), abs(float(b)), 1e-300)
            if gap > largest:
                largest, where = gap, key
        elif a != b:
            exact_equal = False
    return {"exact_fields_equal": exact_equal, "max_relative_float_difference": largest, "largest_at": where}


def _flat_statistics(stats: statistics_pb2.DatasetFeatureStatisticsList) -> dict[str, object]:
    """Return path -> value for every leaf of the statistics, datasets by name, features by path."""
    from google.protobuf import json_format

    flat: dict[str, object] = {}

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{path}.{key}")
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, f"{path}[{index}]")
        else:
            flat[path] = value

    for dataset in stats.datasets:
        for feature in dataset.features:
            name = ".".join(feature.path.step) or feature.name
            as_dict = json_format.MessageToDict(feature, preserving_proto_field_name=True)
            as_dict.pop("path", None)
            walk(as_dict, f"{dataset.name}/{name}")
        walk({"num_examples": dataset.num_examples}, dataset.name)
    # MessageToDict writes int64 as strings and whole floats as ints: keep their kinds apart
    return {k: (float(v) if isinstance(v, float) else v) for k, v in flat.items()}


def compare_examples(left: Sequence[str | Path], right: Sequence[str | Path]) -> dict:
    """Return how two sets of transformed-example files differ, whatever order the rows were written in.

    Each float column's values are replaced by their rank among the column's distinct values, so
    rows can be matched although workers round differently: the rows are equal when both files
    hold the same multiset of rows of ranks and integers, and ``max_abs_float_difference`` is the
    largest gap between matching distinct float values.
    Introduced in c2x_lab_scaling_out.
    """
    import numpy as np

    frames = [_example_frame(files) for files in (left, right)]
    if list(frames[0].columns) != list(frames[1].columns) or len(frames[0]) != len(frames[1]):
        return {"rows_equal": False, "max_abs_float_difference": float("inf"), "rows": len(frames[0])}
    ranked, largest = [frame.copy() for frame in frames], 0.0
    for column in frames[0].columns:
        if frames[0][column].dtype.kind != "f":
            continue
        distinct = [np.unique(frame[column].to_numpy()) for frame in frames]
        if len(distinct[0]) != len(distinct[1]):
            return {"rows_equal": False, "max_abs_float_difference": float("inf"), "rows": len(frames[0])}
        largest = max(largest, float(np.max(np.abs(distinct[0] - distinct[1]), initial=0.0)))
        for frame, values in zip(ranked, distinct, strict=True):
            frame[column] = np.searchsorted(values, frame[column].to_numpy())
    rows = [sorted(map(tuple, frame.to_numpy().tolist())) for frame in ranked]
    return {"rows_equal": rows[0] == rows[1], "max_abs_float_difference": largest, "rows": len(frames[0])}


def _example_frame(files: Sequence[str | Path]) -> pd.DataFrame:
    """Return tf.Examples of one value per feature as a DataFrame, columns in name order."""
    import pandas as pd
    import tensorflow as tf

    rows = []
    for name in files:
        compression = "GZIP" if str(name).endswith(".gz") else ""
        for raw in tf.data.TFRecordDataset([str(name)], compression_type=compression).as_numpy_iterator():
            features = tf.train.Example.FromString(raw).features.feature
            row = {}
            for key, feature in features.items():
                kind = feature.WhichOneof("kind")
                values = list(getattr(feature, kind).value) if kind else []
                if len(values) != 1:
                    raise ValueError(
                        f"{name}: feature {key} holds {len(values)} values; expected one per example"
                    )
                row[key] = values[0]
            rows.append(row)
    frame = pd.DataFrame(rows)
    return frame[sorted(frame.columns)]


def runner_table(runs: dict[str, dict], rows: int) -> pd.DataFrame:
    """Return one row per runner: wall time, rows/s, peak memory and CPU of caller, servers, workers.

    ``runs`` maps a runner name to a ``ProcessWatch.summary()`` (plus ``label``); ``rows`` is the
    number of input rows each run processed. Introduced in c2x_lab_scaling_out.
    """
    import pandas as pd

    table = pd.DataFrame(
        {
            "runner": run.get("label", name),
            "wall_s": run["wall_s"],
            "rows_per_s": rows / run["wall_s"],
            "caller_peak_mb": run["caller_peak_rss_mb"],
            "workers_peak_mb": run["workers_peak_rss_mb"],
            "servers_peak_mb": run["servers_peak_rss_mb"],
            "worker_processes": len([w for w in run["workers"].values() if w["cpu_s"] > 0]),
            "caller_cpu_s": run["caller_cpu_s"],
            "workers_cpu_s": run["workers_cpu_s"],
        }
        for name, run in runs.items()
    )
    table.index = list(runs)
    return table.round({"wall_s": 1, "rows_per_s": 0, "caller_cpu_s": 1, "workers_cpu_s": 1})


def plot_runners(table: pd.DataFrame, timings: dict[str, dict[str, float]] | None = None) -> Figure:
    """Plot wall time (split by component when ``timings`` are given) and peak memory per runner.

    Introduced in c2x_lab_scaling_out.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    y = np.arange(len(table))[::-1]
    timings = timings or {name: {"wall": wall} for name, wall in table["wall_s"].items()}
    parts = list(dict.fromkeys(part for name in table.index for part in timings.get(name, {})))
    left = np.zeros(len(table))
    for part in parts:
        seconds = np.array([timings.get(name, {}).get(part, 0.0) for name in table.index])
        time_ax.barh(y, seconds, left=left, label=part)
        left += seconds
    for yi, (total, rate) in zip(y, zip(left, table["rows_per_s"], strict=True), strict=True):
        time_ax.text(total, yi, f" {total:.0f} s, {rate:,.0f} rows/s", va="center", fontsize=8)
    time_ax.set_yticks(y, table["runner"])
    time_ax.set_xlabel("wall time (s)")
    time_ax.set_xlim(0, left.max() * 1.45)
    time_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    left = np.zeros(len(table))
    for column, label in (
        ("caller_peak_mb", "caller (this kernel)"),
        ("servers_peak_mb", "job service + pool"),
        ("workers_peak_mb", "worker processes (sum)"),
    ):
        megabytes = table[column].fillna(0).to_numpy(float)
        memory_ax.barh(y, megabytes, left=left, label=label)
        left += megabytes
    memory_ax.set_yticks(y, [""] * len(table))
    memory_ax.set_xlabel("peak resident memory (MB, sampled)")
    memory_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, fontsize=8, frameon=False)
    time_ax.set_title("Time", loc="left")
    memory_ax.set_title("Memory", loc="left")
    return fig


def serve(kind: str, port_file: str | Path, host: str = "localhost") -> None:
    """Serve a ``job-service`` or ``worker-pool``; write its port to ``port_file``.

    Runs until SIGTERM. The worker pool listens on 127.0.0.1 and is Beam's servicer, which starts
    one ``python`` SDK worker process per worker the job service asks for. The job service listens
    on ``host`` (loopback unless it runs in a network namespace of its own).
    """
    import grpc
    from apache_beam.portability.api import beam_fn_api_pb2_grpc
    from apache_beam.runners.worker.worker_pool_main import BeamFnExternalWorkerPoolServicer
    from apache_beam.utils import thread_pool_executor

    if kind == "job-service":
        servicer = _job_servicer(host)
        port = servicer.start_grpc_server(0)
        stop = servicer.stop
    elif kind == "worker-pool":
        server = grpc.server(thread_pool_executor.shared_unbounded_instance())
        port = server.add_insecure_port("127.0.0.1:0")
        pool = BeamFnExternalWorkerPoolServicer(use_process=True)
        beam_fn_api_pb2_grpc.add_BeamFnExternalWorkerPoolServicer_to_server(pool, server)
        server.start()

        def stop() -> None:
            server.stop(0)
    else:
        raise ValueError(f"unknown service {kind!r}; use job-service or worker-pool")
    tmp = Path(f"{port_file}.tmp")
    tmp.write_text(str(port))
    tmp.replace(port_file)  # atomic: the caller never reads half a number
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parent = os.getppid()
    try:
        # A caller killed without stopping us (SIGKILL, a crash) must not leave servers behind.
        while os.getppid() == parent:
            time.sleep(1.0)
    finally:
        stop()
        if os.getpgid(0) == os.getpid():  # we lead our group: take the SDK workers with us
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.killpg(0, signal.SIGTERM)


def _job_servicer(host: str):
    """Return Beam's ``LocalJobServicer`` listening on (and handing out addresses at) ``host``."""
    from apache_beam.runners.portability import local_job_service

    class JobServicer(local_job_service.LocalJobServicer):
        def get_service_address(self) -> str:
            return host

    return JobServicer(beam_job_type=_job_type())


def _job_type() -> type:
    """Return a ``BeamJob`` whose runner starts ``--direct_num_workers`` SDK workers per environment."""
    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.runners.portability import local_job_service
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    class ParallelBeamJob(local_job_service.BeamJob):
        def _invoke_runner(self):
            self.set_state(local_job_service.beam_job_api_pb2.JobState.RUNNING)
            options = self.pipeline_options()
            runner = fn_runner.FnApiRunner(provision_info=self._provision_info)
            # FnApiRunner reads the worker count only in run_pipeline, which a job service skips.
            runner._num_workers = int(options.view_as(DirectOptions).direct_num_workers or 1)
            return runner.run_via_runner_api(self._pipeline_proto, options)

    return ParallelBeamJob


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Serve Beam's job service or worker pool on loopback.")
    parser.add_argument("kind", choices=["job-service", "worker-pool"], help="which server to run")
    parser.add_argument("--port-file", required=True, help="file to write the chosen port to")
    parser.add_argument("--host", default="localhost", help="address the job service listens on")
    cli = parser.parse_args()
    serve(cli.kind, cli.port_file, cli.host)
