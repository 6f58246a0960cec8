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
    """Write ``<directory>/<pid>`` holding the process's ancestors for every record batch it adds."""

    def __init__(self, directory: str | Path) -> None:
        super().__init__("WhereRan")
        self._directory = str(directory)

    def create_accumulator(self) -> int:
        return 0

    def add_input(self, accumulator: int, examples) -> int:
        Path(self._directory, str(os.getpid())).write_text(" ".join(map(str, _ancestors())))
        return accumulator + examples.num_rows

    def merge_accumulators(self, accumulators) -> int:
        return sum(accumulators)

    def extract_output(self, accumulator: int) -> statistics_pb2.DatasetFeatureStatistics:
        return statistics_pb2.DatasetFeatureStatistics()


def processes(directory: str | Path) -> dict[int, list[int]]:
    """Map each recorded process id to its ancestors' ids, parent first."""
    return {int(p.name): [int(n) for n in p.read_text().split()] for p in Path(directory).iterdir()}


def _ancestors() -> list[int]:
    """Return this process's parent, grandparent, ... up to init, read from /proc."""
    chain, pid = [], os.getppid()
    while pid > 1:
        chain.append(pid)
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        pid = int(fields[1])  # the field after the state is the parent's id
    return chain
