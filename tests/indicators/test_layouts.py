"""The steps the layout readers share (analysis.indicators.sources.layouts), on small inputs
written here: which mapping fits a header, a file's year, a CSV read as text, the lines named
in a message and the problems of a column of codes, each with its exact one-line wording.

Expected values are written out by hand from the small inputs (line = data row + 2 for a CSV,
row = data row + 1 for Parquet).
"""

from __future__ import annotations

import fnmatch
import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources.layouts import (
    PRACTICE_CODE,
    choose_layout,
    code_problems,
    mapping_files,
    mappings_dir,
    read_text_table,
    where,
    year_from_name,
)
from analysis.paths import repo_root
from analysis.patterns import ConfigPattern, PatternError

# --------------------------------------------------------------------------- mappings


def test_the_stored_mappings_are_in_data_indicators_mappings():
    assert mappings_dir() == repo_root() / "data" / "indicators" / "mappings"
    assert (mappings_dir() / "qof_2019-20.yml").is_file()


def test_mapping_files_lists_the_matching_files_sorted_by_name(tmp_path):
    for name in ("qof_b.yml", "qof_a.yml", "other.yml", "qof_c.txt", "structures_a.yml"):
        (tmp_path / name).write_text("layout: x\n")
    assert mapping_files("qof_*.yml", tmp_path) == [tmp_path / "qof_a.yml", tmp_path / "qof_b.yml"]
    assert mapping_files("qof_*.yml", str(tmp_path))[0] == tmp_path / "qof_a.yml"


def test_mapping_files_default_to_the_stored_mappings():
    names = sorted(n for n in os.listdir(mappings_dir()) if fnmatch.fnmatch(n, "structures_*.yml"))
    assert len(names) >= 3
    assert [p.name for p in mapping_files("structures_*.yml")] == names
    assert all(p.parent == mappings_dir() for p in mapping_files("structures_*.yml"))


# --------------------------------------------------------------------------- choose_layout


@dataclass(frozen=True)
class Layout:
    path: Path
    columns: tuple[str, ...]


A = Layout(Path("maps/qof_a.yml"), ("Code", "Points"))
B = Layout(Path("maps/qof_b.yml"), ("Code", "Achieved", "Available"))
C = Layout(Path("maps/qof_c.yml"), ("PRACTICE_CODE",))


def choose(header, mappings=(A, B, C)):
    return choose_layout(
        "in/QOF.csv", header, list(mappings), lambda m: m.columns, kind="QOF", hint="add one"
    )


def test_the_one_layout_whose_columns_are_all_in_the_header_is_chosen():
    assert choose(["Name", "Achieved", "Code", "Available"]) is B
    assert choose(("Points", "Code")) is A
    assert choose(["PRACTICE_CODE", "Code"]) is C


def test_a_header_that_several_layouts_fit_is_refused_naming_them():
    with pytest.raises(DataError) as raised:
        choose(["Code", "Points", "PRACTICE_CODE"])
    assert str(raised.value) == (
        "in/QOF.csv: line 1: the header matches several QOF mappings ['qof_a.yml', 'qof_c.yml']"
    )


def test_a_header_no_layout_fits_is_refused_with_what_each_layout_missed():
    # Every layout has some of its columns here: a layout fits only with all of them.
    with pytest.raises(DataError) as raised:
        choose(["Code", "Achieved", "Extra"])
    assert str(raised.value) == (
        "in/QOF.csv: line 1: layout matches no QOF mapping; columns found ['Code', 'Achieved', "
        "'Extra']; mappings tried: qof_a.yml lacks ['Points']; qof_b.yml lacks ['Available']; "
        "qof_c.yml lacks ['PRACTICE_CODE']; add one"
    )


def test_without_any_layout_the_message_says_none_was_tried():
    with pytest.raises(DataError) as raised:
        choose(["Code"], mappings=())
    assert str(raised.value) == (
        "in/QOF.csv: line 1: layout matches no QOF mapping; columns found ['Code']; "
        "mappings tried: none; add one"
    )


# --------------------------------------------------------------------------- year_from_name

DEFAULT = r"(?P<year>\d{4})_\d{4}"


def year(path, pattern=DEFAULT, given=None):
    return year_from_name(path, given, pattern, "maps/s.yml", example="s_2024_2025.parquet")


def test_the_year_a_mapping_sets_wins_over_the_file_name():
    found = year("in/s_2019_2020.parquet", given=np.int64(2023))
    assert found == 2023 and type(found) is int
    # A name without a year, or a pattern that cannot run, is not read when the year is set.
    assert year("in/nothing.parquet", pattern="(?P<year>", given=2021) == 2021


def test_the_year_is_read_from_the_file_name_only():
    found = year(Path("in/2000_2001/s_2019_2020.parquet"))
    assert found == 2019 and type(found) is int
    assert year("s-x2022_2023.csv") == 2022


def test_a_name_without_a_year_is_refused_naming_the_pattern_an_example_and_the_mapping():
    expected = (
        "in/s.parquet: the file name does not give a year: expected a match of "
        "'(?P<year>\\\\d{4})_\\\\d{4}' (e.g. 's_2024_2025.parquet'), or set 'year:' in maps/s.yml"
    )
    with pytest.raises(DataError) as raised:
        year("in/s.parquet")
    assert str(raised.value) == expected


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("qof_abc.csv", r"_(?P<year>[a-z]+)\."),  # the group is not a number
        ("qof.csv", r"qof(?P<year>\d{4})?"),  # the group is optional and absent
    ],
)
def test_a_year_group_that_is_not_digits_is_refused(name, pattern):
    with pytest.raises(DataError, match="the file name does not give a year") as raised:
        year(name, pattern=pattern)
    assert str(raised.value).startswith(f"{name}: ")


@pytest.mark.parametrize("pattern", [r"(\d{4})", r"(?P<year>\d{4}"])
def test_a_pattern_that_cannot_give_a_year_is_refused_naming_the_mapping_key(pattern):
    with pytest.raises(PatternError) as direct:
        ConfigPattern(pattern, ["year"])
    with pytest.raises(DataError) as raised:
        year("s_2019_2020.csv", pattern=pattern)
    assert str(raised.value) == f"maps/s.yml: year_from_filename: {direct.value}"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# --------------------------------------------------------------------------- read_text_table


def test_cells_are_text_blank_cells_empty_and_a_bom_dropped(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffcode,NA,n\nA81001,NA,007\nA81002,,1.50\nA81003\n".encode())
    frame = read_text_table(path)
    assert frame.to_dict("list") == {
        "code": ["A81001", "A81002", "A81003"],
        "NA": ["NA", "", ""],
        "n": ["007", "1.50", ""],
    }
    assert frame.index.tolist() == [0, 1, 2]


def test_a_gzip_file_is_read_by_its_suffix_only(tmp_path):
    text = "code,n\nA81001,1\n"
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert read_text_table(packed).to_dict("list") == {"code": ["A81001"], "n": ["1"]}
    plain = tmp_path / "t.gz.csv"  # gzip bytes under another suffix are not unpacked
    plain.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError, match="not UTF-8 text"):
        read_text_table(plain)


# mtime=0: the gzip header's time would otherwise make the test's id differ between the
# parallel workers' collections.
@pytest.mark.parametrize(
    "data",
    [b"code,n\nA81001,1\n", gzip.compress(b"code,n\nA81001,1\n", mtime=0)[:-6]],
    ids=["plain-text", "truncated-gzip"],
)
def test_a_gz_file_that_is_not_whole_gzip_is_refused_in_one_line(tmp_path, data):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(data)
    with pytest.raises((OSError, EOFError)) as direct:
        gzip.decompress(data)
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    assert str(raised.value) == f"{path}: not a readable gzip file ({direct.value})"
    assert raised.value.__suppress_context__


def test_absent_files_and_folders_are_refused(tmp_path):
    with pytest.raises(DataError) as raised:
        read_text_table(tmp_path / "none.csv")
    assert str(raised.value) == f"{tmp_path / 'none.csv'}: not found; expected a CSV"
    with pytest.raises(DataError) as raised:
        read_text_table(str(tmp_path))
    assert str(raised.value) == f"{tmp_path}: a folder; expected a CSV"


@pytest.mark.parametrize(("data", "line"), [(b"\xffa,b\n", 1), (b"a,b\n1,2\n\xe9,3\n", 3)])
def test_text_that_is_not_utf8_is_refused_naming_its_line(tmp_path, data, line):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    assert str(raised.value) == f"{path}: line {line}: not UTF-8 text; expected a UTF-8 CSV"
    assert raised.value.__suppress_context__


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "No columns to parse from file"),
        ('a,b\n"1,2\n', "Error tokenizing data. C error: EOF inside string starting at row 1"),
    ],
)
def test_an_empty_or_malformed_csv_is_refused_in_one_line(tmp_path, text, reason):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    assert str(raised.value) == f"{path}: malformed CSV ({reason})"
    assert raised.value.__suppress_context__


def test_rows_ending_in_a_delimiter_keep_every_column_in_place(tmp_path):
    # Without care pandas makes the first column the index and shifts the rest left.
    path = tmp_path / "qof.csv"
    path.write_text('code,name,points\nA81001,The Practice,512,\nA81002,"Other, Ltd",498, \n')
    frame = read_text_table(path)
    assert list(frame.columns) == ["code", "name", "points"]
    assert frame.to_dict("list") == {
        "code": ["A81001", "A81002"],
        "name": ["The Practice", "Other, Ltd"],
        "points": ["512", "498"],
    }
    assert frame.index.tolist() == [0, 1]


def test_a_value_beyond_the_header_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "qof.csv.gz"
    text = 'code,name\nA81001,"two\nlines"\nA81002,Other,512\n'
    path.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    message = str(raised.value)
    assert message == (
        f"{path}: line 4: 3 fields but the header has 2; expected one value per column"
    )


def test_only_a_value_beyond_the_header_is_refused_not_a_short_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1\n2,3,4,,\n5,6,7, ,x\n")
    with pytest.raises(DataError) as raised:
        read_text_table(path)
    assert str(raised.value) == (
        f"{path}: line 4: 5 fields but the header has 3; expected one value per column"
    )


# --------------------------------------------------------------------------- where


def test_where_names_csv_lines_or_parquet_rows_of_the_true_cells():
    mask = np.array([False, True, False, True])
    assert where(mask) == "line(s) 3, 5"
    assert where(mask, rows=True) == "row(s) 2, 4"
    assert where(pd.Series(mask)) == "line(s) 3, 5"


def test_where_follows_the_index_of_a_series_not_its_positions():
    mask = pd.Series([True, False, True], index=[5, 9, 12])
    assert where(mask) == "line(s) 7, 14"
    assert where(mask, rows=True) == "row(s) 6, 13"


def test_where_reads_a_mask_of_python_truth_values_as_true_or_false():
    mask = pd.Series([True, False, True], dtype=object)
    assert where(mask) == "line(s) 2, 4"
    assert where(np.array([0, 1, 0, 2])) == "line(s) 3, 5"  # counts: non-zero is true
    assert where(pd.Series([True, pd.NA, False, True], dtype="boolean").fillna(False)) == (
        "line(s) 2, 5"
    )


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (10, "line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"),
        (11, "line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 1 more"),
        (13, "line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 3 more"),
    ],
)
def test_where_shows_ten_lines_and_counts_the_rest(count, expected):
    assert where(np.ones(count, dtype=bool)) == expected


# --------------------------------------------------------------------------- code_problems


def test_a_clean_column_of_codes_has_no_problem():
    codes = pd.Series(["A81001", "B82002", "Y00001"])
    assert code_problems(codes, "Code", pattern=PRACTICE_CODE) == []
    assert code_problems(codes, "Code") == []


def test_missing_codes_are_null_empty_or_blank_and_never_twice_or_malformed():
    codes = pd.Series(["A81001", None, "", "  ", np.nan, "A81002"])
    assert code_problems(codes, "Code", pattern=PRACTICE_CODE) == [
        "column 'Code': missing code on line(s) 3, 4, 5, 6"
    ]
    # A column with no value at all, as a reader may give it (floats, all NaN).
    assert code_problems(pd.Series([np.nan, np.nan]), "Code", pattern=r"P\d") == [
        "column 'Code': missing code on line(s) 2, 3"
    ]


def test_malformed_practice_codes_are_named_with_three_examples_and_the_pattern():
    codes = pd.Series(["A81001", "a81001", "A8100", "A810011", "A81-01", "AA1001"])
    assert code_problems(codes, "Code", pattern=PRACTICE_CODE, what="practice code") == [
        "column 'Code': malformed practice code on line(s) 3, 4, 5, 6 "
        "(e.g. ['a81001', 'A8100', 'A810011']; expected '^[A-Z][0-9A-Z][0-9]{4}$')"
    ]


def test_a_practice_code_has_ascii_digits_only():
    # Python's \d would take other scripts' digits; RE2's and ODS codes' do not.
    codes = pd.Series(["A8100\u0661", "A8\u0661001"])
    problems = code_problems(codes, "Code", pattern=PRACTICE_CODE)
    assert problems == [
        "column 'Code': malformed code on line(s) 2, 3 "
        f"(e.g. {codes.tolist()}; expected '^[A-Z][0-9A-Z][0-9]{{4}}$')"
    ]


def test_a_mappings_own_pattern_must_match_the_whole_code():
    codes = pd.Series(["P12", "P123", "XP12", "p12"])
    assert code_problems(codes, "PCN", pattern=r"P\d{2}", rows=True) == [
        "column 'PCN': malformed code on row(s) 2, 3, 4 "
        "(e.g. ['P123', 'XP12', 'p12']; expected 'P\\\\d{2}')"
    ]


def test_codes_listed_twice_are_named_on_every_line_they_are_on():
    codes = pd.Series(["A81001", "A81002", "A81001", "A81003", "A81002", "A81001"])
    assert code_problems(codes, "Code", what="practice code") == [
        "column 'Code': practice code listed twice on line(s) 2, 3, 4, 6, 7"
    ]
    assert code_problems(codes, "Code", twice="practice in two PCNs", rows=True) == [
        "column 'Code': practice in two PCNs on row(s) 1, 2, 3, 5, 6"
    ]


def test_problems_come_in_order_and_a_malformed_or_missing_code_is_not_also_twice():
    codes = pd.Series(["bad", "bad", "", "", "A81001", "A81001"])
    assert code_problems(codes, "Code", pattern=PRACTICE_CODE) == [
        "column 'Code': missing code on line(s) 4, 5",
        "column 'Code': malformed code on line(s) 2, 3 (e.g. ['bad', 'bad']; "
        "expected '^[A-Z][0-9A-Z][0-9]{4}$')",
        "column 'Code': code listed twice on line(s) 6, 7",
    ]


def test_the_caller_says_which_cells_are_missing():
    codes = pd.Series(["-", "", "P12", "-"], index=[3, 4, 5, 6])
    missing = codes.eq("-")
    assert code_problems(codes, "PCN", missing=missing, pattern=r"P\d{2}", rows=True) == [
        "column 'PCN': missing code on row(s) 4, 7",
        "column 'PCN': malformed code on row(s) 5 (e.g. ['']; expected 'P\\\\d{2}')",
    ]
    # A null the caller does not count as missing is checked as an empty code.
    nulls = pd.Series(["P12", None])
    assert code_problems(nulls, "PCN", missing=pd.Series([False, False]), pattern=r"[0-9]*") == [
        "column 'PCN': malformed code on line(s) 2 (e.g. ['P12']; expected '[0-9]*')"
    ]
    problems = code_problems(nulls, "PCN", missing=pd.Series([False, False]), pattern=PRACTICE_CODE)
    assert len(problems) == 1 and problems[0].startswith(
        "column 'PCN': malformed code on line(s) 2, 3 "
    )
