"""Tests for labs_utils.inputs: malformed CSV files and schema files are named with line and cause."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from tensorflow_metadata.proto.v0 import schema_pb2

from labs_utils import inputs

GOOD = b"a,b,c\n1,2,3\n4,5,6\n"


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") and data is not None else data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("ragged.csv", b"a,b,c\n1,2,3\n4,5,6,7\n", "ragged.csv, line 3: 4 fields, but the header has 3"),
        ("short.csv", b"a,b,c\n1,2,3\n\n4,5\n", "short.csv, line 4: 2 fields, but the header has 3"),
        ("dup.csv", b"a,b,a\n1,2,3\n", "dup.csv, line 1: duplicate column names ['a']"),
        ("latin1.csv", b"a,b,c\n1,2,3\n4,caf\xe9,6\n", "latin1.csv, line 3: not UTF-8 text (byte 0xe9"),
        ("empty.csv", b"", "empty.csv: no header row"),
        ("quoted.csv", b'a,b,c\n1,"x\ny",3\n4,5\n', "quoted.csv, line 4: 2 fields"),
    ],
)
def test_find_csv_problem_names_file_line_and_cause(tmp_path, name, data, expected):
    good = write(tmp_path, "good.csv", GOOD)
    bad = write(tmp_path, name, data)
    problem = inputs.find_csv_problem([good, bad])
    assert problem is not None and problem.startswith(str(tmp_path)) and expected in problem


def test_find_csv_problem_names_a_truncated_gzip(tmp_path):
    packed = gzip.compress(b"a,b\n" + b"1,2\n" * 5000)
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    problem = inputs.find_csv_problem([path])
    assert problem.startswith(f"{path}, after line ") and "damaged or cut short" in problem


def test_find_csv_problem_accepts_good_files(tmp_path):
    files = [write(tmp_path, "g.csv", GOOD), write(tmp_path, "g.csv.gz", GOOD)]
    assert inputs.find_csv_problem(files) is None


def test_read_checked_reraises_what_it_cannot_explain(tmp_path):
    good = write(tmp_path, "good.csv", GOOD)

    def reader(files):
        raise ValueError("something else")

    with pytest.raises(ValueError, match="something else"):
        inputs.read_checked(reader, [good])
    bad = write(tmp_path, "bad.csv", b"a,b\n1\n")
    with pytest.raises(inputs.InputFileError, match="bad.csv, line 2"):
        inputs.read_checked(reader, [good, bad])


@pytest.mark.parametrize(
    ("data", "expected", "header", "message"),
    [
        (b"1,2,3,4\n5,6,7\n8,9,10\n", 3, False, "line 1: 1 row(s) do not have 3 fields (the first has 4)"),
        (b"1,2,3\n4,5\n6,7,8\n", 3, False, "line 2: 1 row(s) do not have 3 fields (the first has 2)"),
        (b"", 3, False, "has no data rows"),
        (b"a,b,c\n1,2,3\n4,5,6,7\n", None, True, "line 3: 1 row(s) do not have 3 fields"),
        (b"a,b\n1,2\n", 3, True, "line 1: the header has 2 columns, expected 3"),
    ],
)
def test_check_field_counts_refuses_malformed_rows(tmp_path, data, expected, header, message):
    path = write(tmp_path, "mine.csv", data)
    with pytest.raises(inputs.InputFileError) as info:
        inputs.check_field_counts(path, expected, header=header)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_check_field_counts_accepts_well_formed_files(tmp_path):
    assert inputs.check_field_counts(write(tmp_path, "h.csv.gz", GOOD)) is None
    assert inputs.check_field_counts(write(tmp_path, "n.csv", b"1,2\n3,4\n\n"), 2, header=False) is None


def test_check_schema_path_reports_a_directory(tmp_path):
    (tmp_path / "schema.pbtxt").write_text("")
    with pytest.raises(ValueError, match=r"is a directory \(it holds \['schema.pbtxt'\]\)"):
        inputs.check_schema_path(tmp_path)


def test_check_schema_lists_every_problem():
    schema = schema_pb2.Schema()
    for name, kind in [("age", schema_pb2.INT), ("age", schema_pb2.INT), ("city", schema_pb2.BYTES)]:
        schema.feature.add(name=name, type=kind)
    schema.feature[2].int_domain.max = 10
    schema.feature.add(name="sex", type=schema_pb2.BYTES, domain="sexes")
    with pytest.raises(ValueError) as info:
        inputs.check_schema(schema, "s.pbtxt")
    message = str(info.value)
    assert "schema file s.pbtxt" in message
    assert "feature names used more than once: ['age']" in message
    assert "'city' is BYTES but has an int_domain" in message
    assert "string domain 'sexes', which the schema does not define" in message


def test_check_schema_accepts_a_consistent_schema():
    schema = schema_pb2.Schema()
    schema.feature.add(name="age", type=schema_pb2.INT).int_domain.max = 90
    schema.feature.add(name="sex", type=schema_pb2.BYTES, domain="sex")
    schema.string_domain.add(name="sex", value=["F", "M"])
    assert inputs.check_schema(schema, "s.pbtxt") is None
