"""Reading data files: every kind of bad file gets an error naming file, line and column."""

from __future__ import annotations

import pandera.pandas as pa
import pytest

from analysis.core.datasets import DataError, read_table, write_csv
from analysis.files import sha256_file

SCHEMA = pa.DataFrameSchema(
    {
        "code": pa.Column(str),
        "year": pa.Column(int, pa.Check.in_range(2009, 2014)),
        "value": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    coerce=True,
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"file is empty; expected a header row \['code', 'year', 'value'\]"),
        (b"code,year,value\n", r"header only, no data rows"),
        (b"code;year;value\nA;2010;1\n", r"line 1: header is semicolon-separated"),
        (b"code\tyear\tvalue\nA\t2010\t1\n", r"line 1: header is tab-separated"),
        (b"code,year\nA,2010\n", r"line 1: missing column\(s\) \['value'\]"),
        (b"code,year,value,extra\nA,2010,1,x\n", r"line 1: unknown column\(s\) \['extra'\]"),
        (b"code,year,value\nA,2010,1\nB,twenty,2\n", r"line 3, column 'year': 'twenty' is not a"),
        (b"code,year,value\nA,2010,1\nB,2020,2\n", r"line 3, column 'year': 2020 fails in_range"),
        (b"code,year,value\nA,2010,-1\n", r"line 2, column 'value': -1.0 fails greater_than"),
        (
            b"code,year,value\nA,2010,1\nB,20",
            r"line 3: truncated \(2 of 3 fields, no final newline\)",
        ),
        (b"code,year,value\nA,2010,1\nA,2010,2\n", r"duplicated key \['code', 'year'\] on lines"),
        (b"code,year,value\nA,2010,1,9,9\n", r"line 2: 5 fields, expected 3"),
        (b"code,year,value\nA,2010,1\nB,2011,1,9\n", r"line 3: 4 fields, expected 3"),
        (b"code,year,value\n\xe9,2010,1\n", r"line 2: byte 0xe9 is not valid UTF-8"),
    ],
)
def test_bad_files_are_named(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path, SCHEMA, unique=["code", "year"])
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"nope.csv: file not found"):
        read_table(tmp_path / "nope.csv", SCHEMA)


def test_good_file_is_typed(tmp_path):
    path = tmp_path / "good.csv"
    path.write_text("code,year,value\nA,2010,1.5\nB,2011,\n")
    frame = read_table(path, SCHEMA, unique=["code", "year"])
    assert frame["year"].tolist() == [2010, 2011]
    assert frame["value"].isna().tolist() == [False, True]


def test_write_csv_is_deterministic_and_atomic(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"a": [1 / 3, 2.0], "b": ["x", "y"]})
    path = write_csv(frame, tmp_path / "t.csv")
    assert path.read_text() == "a,b\n0.3333333333333333,x\n2,y\n"
    assert pd.read_csv(path)["a"].tolist() == [1 / 3, 2.0]  # round-trips exactly
    rounded = write_csv(frame, tmp_path / "r.csv", float_digits=6)
    assert rounded.read_text() == "a,b\n0.333333,x\n2,y\n"
    rounded.unlink()
    digest = sha256_file(path)

    class Failing(pd.DataFrame):
        def to_csv(self, target, **kwargs):
            open(target, "w").write("partial")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_csv(Failing({"a": [1]}), path)  # a failure mid-write leaves the old file
    assert sha256_file(path) == digest
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


# --------------------------------------------------------------------------- hardening


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # physical lines: a blank line and a quoted newline shift the records
        (b"code,year,value\n\nA,2010,1\nB,2020,2\n", r"line 4, column 'year': 2020 fails"),
        (b'code,year,value\n"A\nA",2010,1\nB,2020,2\n', r"line 4, column 'year': 2020 fails"),
        (b"code,year,value\nA,2010,1\n\n\nA,2010,2\n", r"duplicated key .* on lines \[2, 5\]"),
        (b'code,year,value\n"A\nA",2010,1\nB,2011,1,9\n', r"line 4: 4 fields, expected 3"),
        # text: valid UTF-8 with the line, no NUL
        (b"code,year,value\nA,2010,1\nB,2011,1\n\xff,2012,1\n", r"line 4: byte 0xff is not"),
        (b"code,year,value\nA,2010,1\nB\x00,2011,1\n", r"line 3: contains a NUL byte"),
        # numbers: finite, and whole where the column is an integer
        (b"code,year,value\nA,2010,inf\n", r"line 2, column 'value': 'inf' is not a finite"),
        (b"code,year,value\nA,2010,-Infinity\n", r"'-Infinity' is not a finite number"),
        (b"code,year,value\nA,2010.5,1\n", r"line 2, column 'year': '2010.5' is not a whole"),
        (b"code,year,value\nA,1e30,1\n", r"line 2, column 'year': '1e30' is not a whole"),
    ],
)
def test_bad_values_name_the_physical_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_table(path, SCHEMA, unique=["code", "year"])
    assert str(path) in str(info.value)
    assert "Traceback" not in str(info.value)


def test_index_is_the_physical_line_minus_two(tmp_path):
    from analysis.core.datasets import file_line

    path = tmp_path / "gaps.csv"
    path.write_bytes(b'code,year,value\n\n"A\nA",2010,1\n\nB,2011,2\nC,2012,3\n')
    frame = read_table(path, SCHEMA)
    # records start on lines 3, 6 and 7 of the file (counted by hand)
    assert [file_line(i) for i in frame.index] == [3, 6, 7]
    plain = tmp_path / "plain.csv"
    plain.write_text("code,year,value\nA,2010,1\nB,2011,2\n")
    assert read_table(plain, SCHEMA).index.tolist() == [0, 1]


def test_a_device_or_folder_is_refused_without_reading_it(tmp_path):
    for path in ("/dev/zero", tmp_path):
        with pytest.raises(DataError, match="not a regular file"):
            read_table(path, SCHEMA)
