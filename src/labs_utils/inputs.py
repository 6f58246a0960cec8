"""Check a user's input files before they reach a lab: CSV tables and curated schema files.

Readers built for speed (pyarrow, pandas) report a bad file as ``ArrowInvalid: Expected 3 columns,
got 4`` or, worse, pad and shift columns silently. These checks name the file, the line and the
cause, and say how to fix it:

- :func:`read_checked` runs a CSV reader over files and, if it fails, finds the first bad file.
- :func:`check_field_counts` refuses rows with the wrong number of fields (and empty files).
- :func:`check_schema_path` and :func:`check_schema` catch what a text-proto parse lets through.
"""

from __future__ import annotations

import codecs
import collections
import csv
import gzip
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
from tensorflow_metadata.proto.v0 import schema_pb2

__all__ = [
    "InputFileError", "check_field_counts", "check_schema", "check_schema_path", "find_csv_problem",
    "read_checked",
]  # fmt: skip

T = TypeVar("T")
_READ_ERRORS = (ValueError, KeyError, OSError, EOFError, zlib.error)  # ArrowInvalid is a ValueError


class InputFileError(ValueError):
    """An input file is malformed; the message names the file, the line when known, and the cause."""


def read_checked(reader: Callable[[Sequence[Path]], T], files: Sequence[Path]) -> T:
    """Return ``reader(files)``; if it fails on bad input, raise InputFileError naming the bad file.

    Introduced in c2w2_lab_transform_pipeline_census.
    """
    try:
        return reader(files)
    except _READ_ERRORS as exc:
        problem = find_csv_problem(files)
        if problem is None:
            raise
        raise InputFileError(problem) from exc


def find_csv_problem(files: Sequence[Path]) -> str | None:
    """Return "<file>, line <n>: <cause>. <fix>" for the first malformed CSV file, or None if all are fine.

    Checks, file by file: the gzip stream (``.gz``), UTF-8 text, a header row with unique
    names, and the same number of fields in every row as in the header.
    """
    for path in files:
        problem = _csv_file_problem(Path(path))
        if problem:
            return problem
    return None


def _csv_file_problem(path: Path) -> str | None:
    lines = _text_lines(path)
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
        if not header:
            return f"{path}: no header row; the first line must name the columns"
        repeated = sorted(name for name, n in collections.Counter(header).items() if n > 1)
        if repeated:
            return f"{path}, line 1: duplicate column names {repeated}; give every column its own name"
        for row in reader:
            if row and len(row) != len(header):
                return (
                    f"{path}, line {reader.line_num}: {len(row)} fields, but the header has "
                    f"{len(header)}; check for a missing or extra comma (or an unquoted comma in a value)"
                )
    except _BadText as exc:
        return str(exc)
    except csv.Error as exc:
        return f"{path}, line {reader.line_num}: {exc}"
    return None


class _BadText(Exception):
    """Raised inside the line iterator; its message is the finished problem report."""


def _text_lines(path: Path) -> Iterator[str]:
    """Yield the decoded lines of a (possibly gzipped) file; raise _BadText naming the line at fault."""
    number = 0
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        with gzip.open(path, "rb") if path.name.endswith(".gz") else path.open("rb") as raw:
            for number, line in enumerate(raw, start=1):  # noqa: B007 - read after the loop
                try:
                    yield decoder.decode(line)
                except UnicodeDecodeError as exc:
                    bad = line[exc.start : exc.start + 1].hex()
                    raise _BadText(
                        f"{path}, line {number}: not UTF-8 text (byte 0x{bad} at column {exc.start + 1}); "
                        "save the file as UTF-8"
                    ) from exc
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _BadText(
            f"{path}, after line {number}: the gzip stream is damaged or cut short ({type(exc).__name__}: "
            f"{exc}); copy or download the file again"
        ) from exc


def check_field_counts(path: str | Path, expected: int | None = None, *, header: bool = True) -> None:
    """Return None when every row of a CSV file has the expected number of fields; raise otherwise.

    Args:
        path: the CSV file (``.gz`` and other compressions pyarrow knows are read as such).
        expected: fields per row; None means as many as the header names (``header=True``).
        header: whether the first line names the columns.

    Raises:
        InputFileError: the file is empty, or rows have too many or too few fields; the message
            names the file, the first bad line and how many rows are bad.

    Introduced in c2w1_lab_tfdv_census.
    """
    path = Path(path)
    names = _header_names(path) if header else None
    count = expected if expected is not None else len(names or [])
    if header and expected is not None and names is not None and len(names) != expected:
        raise InputFileError(
            f"{path}, line 1: the header has {len(names)} columns, expected {expected}; "
            "is this the right file, in the course layout?"
        )
    if not count:
        raise InputFileError(f"{path} is empty; expected a CSV file with {expected or 'a header and'} rows")
    bad: list[int] = []

    def note(row: pa_csv.InvalidRow) -> str:
        bad.append(row.actual_columns)
        return "skip"

    columns = [f"c{i}" for i in range(count)]
    try:
        pa_csv.read_csv(
            path,
            # One thread: the handler is Python code, and pyarrow worker threads calling it can abort
            # the interpreter at exit.
            read_options=pa_csv.ReadOptions(
                column_names=columns, skip_rows=1 if header else 0, use_threads=False
            ),
            parse_options=pa_csv.ParseOptions(invalid_row_handler=note),
            # Parse every field but keep one column: the field counts are checked, little is stored.
            convert_options=pa_csv.ConvertOptions(include_columns=["c0"], column_types={"c0": pa.string()}),
        )
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            message = f"{path} has no data rows; expected a CSV file with {count} fields per row"
            raise InputFileError(message) from exc
        raise InputFileError(f"{path}: {exc}") from exc
    if bad:
        where = _first_bad_line(path, count, header)
        raise InputFileError(
            f"{path}{where}: {len(bad)} row(s) do not have {count} fields (the first has {bad[0]}); "
            "the file is not in the expected layout or has malformed rows; fix or remove them"
        )


def _header_names(path: Path) -> list[str] | None:
    try:
        return next(csv.reader(_text_lines(path)), None)
    except _BadText as exc:
        raise InputFileError(str(exc)) from exc


def _first_bad_line(path: Path, count: int, header: bool) -> str:
    """Return ", line <n>" for the first row whose field count is not ``count`` ("" if not found)."""
    reader = csv.reader(_text_lines(path))
    if header:
        next(reader, None)
    for row in reader:
        if row and len(row) != count:
            return f", line {reader.line_num}"
    return ""


def check_schema_path(path: str | Path) -> None:
    """Return None when ``path`` is a schema file; raise ValueError saying what it is instead.

    Introduced in c2w3_lab_iterative_schema.
    """
    path = Path(path)
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.pbtxt"))
        hint = f" (it holds {inside})" if inside else ""
        raise ValueError(f"schema file {path} is a directory{hint}: pass the schema.pbtxt file inside it")


def check_schema(schema: schema_pb2.Schema, path: str | Path) -> None:
    """Return None for a consistent schema; raise ValueError listing what is wrong in file ``path``.

    Catches what the text-proto parser lets through: a feature name used twice, a domain that
    does not fit the feature's type (an ``int_domain`` or ``float_domain`` on a BYTES feature) and
    a ``domain:`` reference to a string domain the schema does not define.

    Introduced in c2w3_lab_iterative_schema.
    """
    problems = []
    names = [f.name for f in schema.feature] + [f.name for f in schema.sparse_feature]
    repeated = sorted(name for name, n in collections.Counter(names).items() if n > 1)
    if repeated:
        problems.append(f"feature names used more than once: {repeated}")
    domains = {d.name for d in schema.string_domain}
    for feature in schema.feature:
        kind = feature.WhichOneof("domain_info")
        if feature.type == schema_pb2.BYTES and kind in ("int_domain", "float_domain"):
            problems.append(
                f"feature {feature.name!r} is BYTES but has an {kind}; ExampleGen types a column "
                "whose values are all numbers as INT or FLOAT, so a BYTES column holds text and every "
                f"value would be flagged. Set its type to {'INT' if kind == 'int_domain' else 'FLOAT'} "
                f"or remove the {kind}"
            )
        if kind == "domain" and feature.domain not in domains:
            problems.append(
                f"feature {feature.name!r} refers to string domain {feature.domain!r}, which the schema "
                f"does not define (it defines {sorted(domains)})"
            )
    if problems:
        listing = "\n".join(f"  - {p}" for p in problems)
        raise ValueError(
            f"schema file {path} is not consistent:\n{listing}\n"
            "Fix the file (tfdv.set_domain / tfdv.get_feature help) and write it again with "
            "tfdv.write_schema_text(schema, path)"
        )
