"""A statistics generator that records which process ran it, for the portable-runner tests.

It lives in its own module so that Beam workers, started with this folder on PYTHONPATH, can
import it by name when they unpickle TFDV's combiners.
"""

from __future__ import annotations

import os
from pathlib import Path

from tensorflow_data_validation.statistics.generators import stats_generator
from tensorflow_metadata.proto.v0 import statistics_pb2


class WhereRan(stats_generator.CombinerStatsGenerator):
    """Write ``<directory>/<pid>``: the process's ancestors, then its network namespace, per batch."""

    def __init__(self, directory: str | Path) -> None:
        super().__init__("WhereRan")
        self._directory = str(directory)

    def create_accumulator(self) -> int:
        return 0

    def add_input(self, accumulator: int, examples) -> int:
        ancestors = " ".join(map(str, _ancestors()))
        Path(self._directory, str(os.getpid())).write_text(f"{ancestors}\n{network_namespace()}\n")
        return accumulator + examples.num_rows

    def merge_accumulators(self, accumulators) -> int:
        return sum(accumulators)

    def extract_output(self, accumulator: int) -> statistics_pb2.DatasetFeatureStatistics:
        return statistics_pb2.DatasetFeatureStatistics()


def processes(directory: str | Path) -> dict[int, list[int]]:
    """Map each recorded process id to its ancestors' ids, parent first."""
    return {int(p.name): [int(n) for n in p.read_text().splitlines()[0].split()] for p in _files(directory)}


def namespaces(directory: str | Path) -> set[str]:
    """Return the network namespaces the recorded processes ran in."""
    return {p.read_text().splitlines()[1] for p in _files(directory)}


def network_namespace() -> str:
    """Return this process's network namespace, e.g. ``net:[4026531840]``."""
    return os.readlink("/proc/self/ns/net")


def _files(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).iterdir())


def _ancestors() -> list[int]:
    """Return this process's parent, grandparent, ... up to init, read from /proc."""
    chain, pid = [], os.getppid()
    while pid > 1:
        chain.append(pid)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        pid = int(fields[1])  # the field after the state is the parent's id
    return chain
