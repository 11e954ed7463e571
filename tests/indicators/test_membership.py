"""Membership of practices in organisations (analysis.indicators.sources.membership): derived
from a parent-code column, by year or fixed at one year, and read from a user's file.

Expected tables and counts are written out by hand from the small practice table below.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources.membership import derive, read_membership_file


def practices() -> pd.DataFrame:
    # Out of order, with an index that is not 0..n-1 (a filtered table).
    frame = pd.DataFrame(
        {
            "practice_code": ["A3", "A1", "A2", "A1", "A4", "A2", "A3", "A5", "A4"],
            "year": [2021, 2018, 2021, 2021, 2018, 2018, 2018, 2021, 2021],
            "pcn": ["U", None, "P1", "P1", "", None, "  ", "P2", "X"],
            "ccg": ["C1", "C1", "C1", "C1", "C2", "C1", "C2", "C2", "C2"],
        }
    )
    frame.index = [40, 31, 22, 13, 54, 65, 76, 87, 98]
    return frame


def rows(table: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in table.itertuples(index=False, name=None)
    ]


def counts(table: pd.DataFrame) -> list[tuple]:
    return [tuple(int(v) for v in row) for row in table.itertuples(index=False, name=None)]


def test_each_years_own_codes_give_its_members():
    m = derive(practices(), exclude=["U", "X"])
    assert m.rule == "pcn of each year"
    assert list(m.table.columns) == ["practice_code", "year", "organisation_id"]
    assert rows(m.table) == [
        ("A1", 2018, None),
        ("A2", 2018, None),
        ("A3", 2018, None),
        ("A4", 2018, None),
        ("A1", 2021, "P1"),
        ("A2", 2021, "P1"),
        ("A3", 2021, None),
        ("A4", 2021, None),
        ("A5", 2021, "P2"),
    ]
    assert m.table.index.tolist() == list(range(9))
    assert list(m.counts.columns) == ["year", "practices", "members", "excluded", "no_code"]
    assert counts(m.counts) == [(2018, 4, 0, 0, 4), (2021, 5, 3, 2, 0)]


def test_the_default_group_is_pcn_and_the_default_exclusion_u():
    m = derive(practices())
    assert m.rule == "pcn of each year"
    assert counts(m.counts) == [(2018, 4, 0, 0, 4), (2021, 5, 4, 1, 0)]
    assert rows(m.table)[7] == ("A4", 2021, "X")


def test_membership_fixed_at_a_year_applies_its_codes_to_every_year_by_practice_code():
    m = derive(practices(), group="pcn", exclude=["U"], membership_year="2021")
    assert m.rule == "pcn of 2021, fixed (same practice codes in every year)"
    assert rows(m.table) == [
        ("A1", 2018, "P1"),
        ("A2", 2018, "P1"),
        ("A3", 2018, None),
        ("A4", 2018, "X"),
        ("A1", 2021, "P1"),
        ("A2", 2021, "P1"),
        ("A3", 2021, None),
        ("A4", 2021, "X"),
        ("A5", 2021, "P2"),
    ]
    assert counts(m.counts) == [(2018, 4, 3, 1, 0), (2021, 5, 4, 1, 0)]


def test_a_fixed_year_reaches_practices_absent_that_year_as_no_code():
    m = derive(practices(), group="ccg", exclude=[], membership_year=2018)
    assert m.rule == "ccg of 2018, fixed (same practice codes in every year)"
    assert rows(m.table)[4:] == [
        ("A1", 2021, "C1"),
        ("A2", 2021, "C1"),
        ("A3", 2021, "C2"),
        ("A4", 2021, "C2"),
        ("A5", 2021, None),
    ]
    assert counts(m.counts) == [(2018, 4, 4, 0, 0), (2021, 5, 4, 0, 1)]


def test_a_group_that_is_not_a_column_is_refused_naming_the_parameter():
    with pytest.raises(ValueError) as raised:
        derive(practices(), group="stp")
    assert str(raised.value) == "parameter 'grouping': no column 'stp' in the data"


@pytest.mark.parametrize("year", [2018, 2019])
def test_a_membership_year_without_codes_is_refused_naming_the_years_with_some(year):
    # 2018 is in the data but every code there is blank; 2019 is not in the data.
    with pytest.raises(ValueError) as raised:
        derive(practices(), membership_year=year)
    assert str(raised.value) == (
        f"parameter 'membership_year': {year} has no 'pcn' codes; years with codes: [2021]"
    )


# --------------------------------------------------------------------------- a user's file


def membership_file(tmp_path, text: str):
    path = tmp_path / "groups.csv"
    path.write_text(text)
    return path


def test_a_file_without_years_holds_each_practice_in_its_organisation_in_every_year(tmp_path):
    path = membership_file(tmp_path, "practice_code,organisation_id\nA2,G1\nA1,G2\nA5,G1\n")
    m = read_membership_file(path, practices())
    assert m.rule == "membership file groups.csv (fixed)"
    assert rows(m.table) == [
        ("A1", 2018, "G2"),
        ("A2", 2018, "G1"),
        ("A3", 2018, None),
        ("A4", 2018, None),
        ("A1", 2021, "G2"),
        ("A2", 2021, "G1"),
        ("A3", 2021, None),
        ("A4", 2021, None),
        ("A5", 2021, "G1"),
    ]
    assert m.table.index.tolist() == list(range(9))
    assert counts(m.counts) == [(2018, 4, 2, 0, 2), (2021, 5, 3, 0, 2)]


def test_a_file_by_year_places_each_practice_year_it_names(tmp_path):
    path = membership_file(
        tmp_path, "practice_code,organisation_id,year\nA1,G1,2018\nA1,G2,2021.0\nA3,G2,2021\n"
    )
    m = read_membership_file(path, practices())
    assert m.rule == "membership file groups.csv (by year)"
    assert list(m.table.columns) == ["practice_code", "year", "organisation_id"]
    assert rows(m.table) == [
        ("A1", 2018, "G1"),
        ("A2", 2018, None),
        ("A3", 2018, None),
        ("A4", 2018, None),
        ("A1", 2021, "G2"),
        ("A2", 2021, None),
        ("A3", 2021, "G2"),
        ("A4", 2021, None),
        ("A5", 2021, None),
    ]
    assert counts(m.counts) == [(2018, 4, 1, 0, 3), (2021, 5, 2, 0, 3)]


def test_a_year_that_is_not_whole_is_refused_naming_its_lines(tmp_path):
    path = membership_file(
        tmp_path, "practice_code,organisation_id,year\nA1,G1,2018\nA1,G2,2021.5\nA3,G2,x\n"
    )
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value) == f"{path}: column 'year': not a whole year on lines [3, 4]"


def test_every_problem_of_a_file_is_reported_together(tmp_path):
    path = membership_file(
        tmp_path,
        "practice_code,organisation_id,year\nA1,G1,2018\nZ9,G1,2018\nA1,G2,2018\nZ8,G1,2021\n",
    )
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value) == (
        f"{path}: 2 problem(s):\n"
        "  column 'practice_code': practices absent from the data on lines [3, 5] "
        "(e.g. ['Z9', 'Z8'])\n"
        "  practice listed twice ['practice_code', 'year'] on lines [2, 4]"
    )


def test_a_practice_listed_twice_without_years_is_refused(tmp_path):
    path = membership_file(tmp_path, "practice_code,organisation_id\nA1,G1\nA2,G1\nA1,G1\n")
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value) == (
        f"{path}: 1 problem(s):\n  practice listed twice ['practice_code'] on lines [2, 4]"
    )


def test_ten_lines_and_three_practices_are_shown_of_many_absent(tmp_path):
    body = "".join(f"Z{i},G1\n" for i in range(12))
    path = membership_file(tmp_path, "practice_code,organisation_id\n" + body)
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value) == (
        f"{path}: 1 problem(s):\n  column 'practice_code': practices absent from the data on "
        "lines [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] (e.g. ['Z0', 'Z1', 'Z2'])"
    )


def test_ten_lines_are_shown_of_many_bad_years_and_many_doubled(tmp_path):
    body = "".join(f"A{i},G1,2018.5\n" for i in range(12))
    path = membership_file(tmp_path, "practice_code,organisation_id,year\n" + body)
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value).endswith("lines [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]")
    path = membership_file(tmp_path, "practice_code,organisation_id\n" + "A1,G1\n" * 12)
    with pytest.raises(DataError) as raised:
        read_membership_file(path, practices())
    assert str(raised.value).endswith(
        "practice listed twice ['practice_code'] on lines [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]"
    )


@pytest.mark.filterwarnings("error")  # pandas warns when "" fills a float column
def test_a_group_column_without_any_code_gives_no_members():
    # A column read with no value at all comes as floats (all NaN), not as text.
    frame = practices().assign(pcn=float("nan"))
    m = derive(frame)
    assert m.table["organisation_id"].isna().all()
    assert counts(m.counts) == [(2018, 4, 0, 0, 4), (2021, 5, 0, 0, 5)]
