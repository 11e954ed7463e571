"""The QOF loader at its edges, on small files written here: what a mapping file sets, which
mapping is chosen, the bounds of the values and every problem's exact one-line wording.

Expected values and messages are written out from the small tables below.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest
import yaml

from analysis.core.datasets import DataError
from analysis.indicators.sources import qof

HEADER = ["PCN", "Code", "Name", "List", "Achieved", "Available"]
ROWS = [
    ["P1", "A00002", "Two", "7000", "580", "630"],
    ["P1", "A00001", "One", "5000", "600.5", "635"],
    ["U", "A00003", "Three", "3000", ":", ":"],
]
MAPPING = {
    "layout": "a small layout",
    "max_points": 635,
    "columns": {
        "practice_code": "Code",
        "practice_name": "Name",
        "list_size": "List",
        "points_achieved": "Achieved",
        "points_available": "Available",
    },
    "groups": {"pcn": "PCN"},
}


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows([header, *rows])
    return path


def write_mapping(folder: Path, doc: dict = MAPPING, name: str = "qof_small.yml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def small(tmp_path: Path, rows: list[list[str]] = ROWS, name: str = "QOF 2022-23.csv") -> Path:
    return write_csv(tmp_path / name, rows)


def problem(tmp_path: Path, rows: list[list[str]], doc: dict = MAPPING) -> str:
    data = small(tmp_path, rows)
    with pytest.raises(DataError) as err:
        qof.read_qof(data, write_mapping(tmp_path, doc))
    return str(err.value).removeprefix(f"{data}: ")


def test_a_mapping_file_sets_every_field_and_leaves_the_rest_at_their_defaults(tmp_path):
    bare = qof.read_mapping(write_mapping(tmp_path, {**MAPPING, "groups": None}))
    assert (bare.layout, bare.max_points, bare.groups) == ("a small layout", 635.0, {})
    assert bare.columns == MAPPING["columns"] and bare.path == tmp_path / "qof_small.yml"
    assert bare.missing == (":",) and bare.year is None
    assert bare.year_from_filename == r"(?P<year>\d{4})-\d{2}"
    assert bare.practice_code_pattern == qof.PRACTICE_CODE
    full = {
        **MAPPING,
        "missing": ["*", "x"],
        "year": 2030,
        "year_from_filename": r"y(?P<year>\d{4})",
        "practice_code_pattern": r"P\d{3}",
    }
    mapping = qof.read_mapping(write_mapping(tmp_path, full))
    assert mapping.missing == ("*", "x") and mapping.year == 2030
    assert mapping.year_from_filename == r"y(?P<year>\d{4})"
    assert mapping.practice_code_pattern == r"P\d{3}" and mapping.groups == {"pcn": "PCN"}


def test_a_column_in_two_roles_is_named_with_its_line(tmp_path):
    doc = {**MAPPING, "groups": {"pcn": "PCN", "other": "Code"}}
    path = write_mapping(tmp_path, doc)
    with pytest.raises(DataError) as err:
        qof.read_mapping(path)
    line = path.read_text(encoding="utf-8").splitlines().index("  other: Code") + 1
    assert str(err.value).startswith(
        f"{path}:{line}: groups.other and columns.practice_code both name 'Code'"
    )


def test_one_fitting_mapping_is_chosen_from_those_given_two_are_refused(tmp_path):
    data = small(tmp_path)
    one = qof.read_mapping(write_mapping(tmp_path))
    assert qof.choose_mapping(data, [one]) is one  # those given, not the stored ones
    two = qof.read_mapping(write_mapping(tmp_path, name="qof_twin.yml"))
    with pytest.raises(DataError) as err:
        qof.choose_mapping(data, [one, two])
    assert str(err.value) == (
        f"{data}: line 1: the header matches several QOF mappings ['qof_small.yml', 'qof_twin.yml']"
    )


def test_no_fitting_mapping_lists_what_each_one_missed(tmp_path, monkeypatch):
    monkeypatch.setattr(qof, "mappings_dir", lambda: tmp_path / "mappings")
    data = write_csv(tmp_path / "QOF 2022-23.csv", [], header=["Code", "Name"])
    first = qof.read_mapping(write_mapping(tmp_path))
    other = {**MAPPING, "groups": {}, "columns": {**MAPPING["columns"], "list_size": "Size"}}
    second = qof.read_mapping(write_mapping(tmp_path, other, "qof_other.yml"))
    with pytest.raises(DataError) as err:
        qof.choose_mapping(data, [first, second])
    assert str(err.value) == (
        f"{data}: line 1: layout matches no QOF mapping; columns found ['Code', 'Name']; "
        "mappings tried: qof_small.yml lacks ['List', 'Achieved', 'Available', 'PCN']; "
        "qof_other.yml lacks ['Size', 'Achieved', 'Available']; "
        f"add a mapping file qof_<year>.yml to {tmp_path / 'mappings'} naming this file's "
        "columns"
    )


def test_headers_as_the_csv_module_reads_them(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert qof.read_header(empty) == []
    with pytest.raises(DataError, match=r"columns found \[\]"):
        qof.choose_mapping(empty, [qof.read_mapping(write_mapping(tmp_path))])
    # A quoted line break inside a title is kept as written, as the rows' reader keeps it.
    (tmp_path / "t.csv").write_bytes(b'"Code","Points\r\navailable"\r\nA00001,1\r\n')
    assert qof.read_header(tmp_path / "t.csv") == ["Code", "Points\r\navailable"]
    packed = tmp_path / "t.csv.gz"
    packed.write_bytes(gzip.compress(b"\xef\xbb\xbfCode,Name\r\n"))
    assert qof.read_header(packed) == ["Code", "Name"]


def test_unreadable_files_are_one_line_naming_the_file(tmp_path):
    absent = tmp_path / "absent.csv"
    with pytest.raises(DataError) as err:
        qof.read_header(absent)
    assert str(err.value) == f"{absent}: file not found"
    latin = tmp_path / "QOF 2022-23.csv"
    # Past the header reader's first block, the byte that is not UTF-8 is found by line.
    body = "".join(f"P1,A{i:05d},Name,1,1,1\r\n" for i in range(1, 700))
    latin.write_bytes(
        (",".join(HEADER) + "\r\n" + body + "P1,A00700,Caf\xe9,1,1,1\r\n").encode("latin-1")
    )
    with pytest.raises(DataError) as err:
        qof.read_qof(latin, write_mapping(tmp_path))
    assert str(err.value) == f"{latin}: line 701: not UTF-8 text; expected a UTF-8 CSV"
    (tmp_path / "bad.csv").write_bytes(b"Code\xff,Name\r\n")
    with pytest.raises(DataError, match=r"bad.csv: cannot be read as a UTF-8 CSV \(.+\)$"):
        qof.read_header(tmp_path / "bad.csv")
    broken = tmp_path / "QOF 2021-22.csv"
    head = ",".join(HEADER)
    broken.write_text(f"{head}\nP1,A00001,One,1,1,1\nP1,A00002,Two,1,1,1,extra\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        qof.read_qof(broken, write_mapping(tmp_path))
    assert str(err.value) == (
        f"{broken}: line 3: 7 fields but the header has 6; expected one value per column"
    )
    assert "\n" not in str(err.value)


def test_a_name_or_cell_reading_na_is_text_not_missing(tmp_path):
    rows = [["P1", "A00001", "NA", "5000", "600", "635"]]
    frame = qof.read_qof(small(tmp_path, rows), write_mapping(tmp_path))
    assert frame["practice_name"].tolist() == ["NA"]
    rows = [["P1", "A00001", "One", "5000", "NA", "635"]]
    assert problem(tmp_path, rows) == (
        "1 problem(s):\n  column 'Achieved': not a number on line(s) 2 (values ['NA'])"
    )


def test_the_year_comes_from_the_mapping_or_only_digits_of_the_file_name(tmp_path):
    mapping = qof.read_mapping(write_mapping(tmp_path))
    assert qof.file_year("QOF 2019-20.csv", mapping) == 2019
    fixed = qof.read_mapping(write_mapping(tmp_path, {**MAPPING, "year": 2015}))
    assert qof.file_year("QOF 2019-20.csv", fixed) == 2015
    letters = {**MAPPING, "year_from_filename": r"QOF (?P<year>\w{4})"}
    named = qof.read_mapping(write_mapping(tmp_path, letters))
    assert qof.file_year("QOF 2019.csv", named) == 2019
    with pytest.raises(DataError, match=r"^QOF abcd.csv: the file name does not give a year"):
        qof.file_year("QOF abcd.csv", named)
    optional = {**MAPPING, "year_from_filename": r"QOF (?P<year>\d{4})?x"}
    with pytest.raises(DataError, match=r"^QOF x.csv: the file name does not give a year"):
        qof.file_year("QOF x.csv", qof.read_mapping(write_mapping(tmp_path, optional)))


def test_a_mapping_built_in_code_needs_a_year_group_in_its_file_name_pattern(tmp_path):
    mapping = qof.Mapping(tmp_path / "m.yml", "m", 1.0, {}, year_from_filename=r"\d{4}")
    with pytest.raises(Exception, match=r"needs a named group"):
        qof.file_year("QOF 2019-20.csv", mapping)


def test_rows_read_with_names_groups_layout_and_lines(tmp_path):
    frame = qof.read_qof(small(tmp_path), write_mapping(tmp_path))
    assert frame["practice_code"].tolist() == ["A00002", "A00001", "A00003"]
    assert frame["practice_name"].tolist() == ["Two", "One", "Three"]
    assert frame["list_size"].tolist() == [7000.0, 5000.0, 3000.0]
    assert frame["pcn"].tolist() == ["P1", "P1", "U"]
    assert frame["layout"].tolist() == ["qof_small.yml"] * 3
    assert frame["line"].tolist() == [2, 3, 4]
    assert frame["max_points"].tolist() == [635.0] * 3


def test_zero_and_fractions_of_a_point_are_accepted_the_maximum_itself_too(tmp_path):
    rows = [["P1", "A00001", "One", "0", "0", "0.5"], ["P1", "A00002", "Two", "1", "635", "635"]]
    frame = qof.read_qof(small(tmp_path, rows), write_mapping(tmp_path))
    assert frame["points_achieved"].tolist() == [0.0, 635.0]
    assert frame["points_available"].tolist() == [0.5, 635.0]
    assert frame["list_size"].tolist() == [0.0, 1.0]


def test_a_list_size_is_never_published_as_not_available(tmp_path):
    rows = [["P1", "A00001", "One", ":", ":", ":"]]
    assert problem(tmp_path, rows) == (
        "1 problem(s):\n  column 'List': not a number on line(s) 2 (values [':'])"
    )


def test_at_most_three_values_and_ten_lines_are_shown_then_how_many_more(tmp_path):
    rows = [["P1", f"A{i:05d}", "x", "1", str(i), "1"] for i in range(10)]
    rows = [[*r[:4], "a" if i < 4 else r[4], "-1" if i < 10 else r[5]] for i, r in enumerate(rows)]
    assert problem(tmp_path, rows) == (
        "2 problem(s):\n"
        "  column 'Achieved': not a number on line(s) 2, 3, 4, 5 (values ['a', 'a', 'a'])\n"
        "  column 'Available': negative on line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
    )
    rows += [["P1", "A00010", "x", "1", "1", "-1"], ["P1", "A00011", "x", "1", "1", "-1"]]
    assert problem(tmp_path, rows).endswith(
        "negative on line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more"
    )


def test_a_mapping_s_own_practice_code_pattern_is_used(tmp_path):
    doc = {**MAPPING, "practice_code_pattern": r"P\d{3}"}
    rows = [["P1", "P001", "One", "1", "1", "1"], ["P1", " P002 ", "Two", "1", "1", "1"]]
    frame = qof.read_qof(small(tmp_path, rows), write_mapping(tmp_path, doc))
    assert frame["practice_code"].tolist() == ["P001", "P002"]
    rows = [["P1", c, "x", "1", "1", "1"] for c in ("P001", "A00001", "P1", "PX01", "Q002")]
    assert problem(tmp_path, rows, doc) == (
        "1 problem(s):\n  column 'Code': malformed practice code on line(s) 3, 4, 5, 6 "
        "(e.g. ['A00001', 'P1', 'PX01']; expected 'P\\\\d{3}')"
    )


def test_years_are_stacked_in_year_and_practice_order_with_a_fresh_index(tmp_path):
    mapping = qof.read_mapping(write_mapping(tmp_path))
    later = small(tmp_path, name="QOF 2023-24.csv")
    earlier = small(tmp_path, ROWS[:2], name="QOF 2022-23.csv")
    years = qof.read_qof_years([later, earlier], [mapping])
    practices = years.practices
    assert list(zip(practices["year"], practices["practice_code"], strict=True)) == [
        (2022, "A00001"),
        (2022, "A00002"),
        (2023, "A00001"),
        (2023, "A00002"),
        (2023, "A00003"),
    ]
    assert practices.index.tolist() == [0, 1, 2, 3, 4]
    assert years.files.to_dict("records") == [
        {
            "file": "QOF 2023-24.csv",
            "year": 2023,
            "layout": "qof_small.yml",
            "rows": 3,
            "not_available": 1,
            "achieved_above_available": 0,
        },
        {
            "file": "QOF 2022-23.csv",
            "year": 2022,
            "layout": "qof_small.yml",
            "rows": 2,
            "not_available": 0,
            "achieved_above_available": 0,
        },
    ]
    again = write_csv(tmp_path / "QOF 2022-23 revised.csv", ROWS)
    with pytest.raises(DataError) as err:
        qof.read_qof_years([earlier, later, again], [mapping])
    assert str(err.value) == (
        "two files for the same year: ['QOF 2022-23.csv', 'QOF 2022-23 revised.csv']"
    )
