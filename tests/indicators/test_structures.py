"""The practice -> PCN geography mapping by layout (analysis.indicators.sources.structures), on
small Parquet files and mapping files written here.

Expected rows, counts and messages are written out by hand from the small files (a Parquet
row is numbered from 1).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from commandline import help_text

from analysis.configschema import ConfigError
from analysis.core.datasets import DataError
from analysis.indicators.sources import structures as st
from analysis.indicators.sources import turnover
from analysis.indicators.sources.layouts import PRACTICE_CODE, mappings_dir
from analysis.indicators.sources.panel import indicators_dir

MAPPING = """\
layout: a small layout
columns:
  practice_code: CODE
  pcn_code: PCN
  pcn_name: PCN_NAME
"""
FULL = """\
layout: every field
year: 2030
year_from_filename: 'y(?P<year>\\d{4})'
practice_code_pattern: 'P[0-9]+'
no_organisation: [NONE, U2]
columns:
  practice_code: C
  practice_name: N
  pcn_code: P
  pcn_name: PN
  sub_icb_code: S
  icb_code: I
  region_code: R
"""


def mapping(folder: Path, text: str = MAPPING, name: str = "structures_small.yml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def parquet(path: Path, columns: dict[str, list]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def small(folder: Path, name: str = "s_2021_2022.parquet", **extra) -> Path:
    columns = {
        "CODE": ["A81002", " A81001 ", "A81003"],
        "PCN": ["U1", "U1 ", "U"],
        "PCN_NAME": ["One", "", None],
        "OTHER": [1, 2, 3],
        **extra,
    }
    return parquet(folder / name, columns)


def test_a_file_without_rows_is_refused_in_one_line(tmp_path):
    path = parquet(
        tmp_path / "s_2021_2022.parquet",
        {c: pa.array([], pa.string()) for c in ("CODE", "PCN", "PCN_NAME")},
    )
    with pytest.raises(DataError) as raised:
        st.read_structures(path, mapping(tmp_path))
    assert str(raised.value) == f"{path}: no rows; expected one row per practice of 2021"
    with pytest.raises(DataError) as raised:  # several files: the same line, not IndexError
        st.read_structure_years([path], [st.read_mapping(mapping(tmp_path))])
    assert str(raised.value) == f"{path}: no rows; expected one row per practice of 2021"


def test_a_mapping_file_gives_its_columns_and_the_defaults(tmp_path):
    folder_mapping = st.read_mapping(mapping(tmp_path))
    assert folder_mapping.layout == "a small layout"
    assert folder_mapping.columns == {
        "practice_code": "CODE",
        "pcn_code": "PCN",
        "pcn_name": "PCN_NAME",
    }
    assert folder_mapping.year is None
    assert folder_mapping.year_from_filename == r"(?P<year>\d{4})_\d{4}"
    assert folder_mapping.practice_code_pattern == PRACTICE_CODE
    assert folder_mapping.no_organisation == ("U",)


def test_a_mapping_file_sets_every_key(tmp_path):
    path = mapping(tmp_path, FULL)
    m = st.read_mapping(str(path))
    assert m.path == path and m.layout == "every field"
    assert m.columns == dict(zip(st.FIELDS, ["C", "N", "P", "PN", "S", "I", "R"], strict=True))
    assert (m.year, m.year_from_filename, m.practice_code_pattern) == (
        2030,
        r"y(?P<year>\d{4})",
        "P[0-9]+",
    )
    assert m.no_organisation == ("NONE", "U2")


def test_a_column_in_two_roles_is_refused_naming_both_keys_and_the_line(tmp_path):
    path = mapping(tmp_path, MAPPING.replace("PCN_NAME", "PCN"))
    with pytest.raises(ConfigError) as raised:
        st.read_mapping(path)
    assert str(raised.value) == (
        f"{path}:5: columns.pcn_name and columns.pcn_code both name 'PCN'; "
        "one column can have one role only"
    )


def test_the_stored_mappings_are_listed_and_a_folder_may_be_given(tmp_path):
    names = sorted(
        n for n in os.listdir(mappings_dir()) if n.startswith("structures_") and n.endswith(".yml")
    )
    assert [p.name for p in st.mapping_files()] == names
    for name in ("structures_b.yml", "structures_a.yml", "qof_a.yml"):
        mapping(tmp_path, name=name)
    assert st.mapping_files(tmp_path) == [
        tmp_path / "structures_a.yml",
        tmp_path / "structures_b.yml",
    ]
    stored = sorted(os.listdir(indicators_dir() / "real" / "membership"))
    assert [p.name for p in st.stored_files()] == [n for n in stored if n.endswith(".parquet")]


def test_a_file_is_read_by_its_mapping_one_row_per_practice(tmp_path):
    path = small(tmp_path)
    frame = st.read_structures(path, mapping(tmp_path))
    assert list(frame.columns) == [*st.FIELDS, "year", "in_pcn", "layout", "row"]
    assert frame.to_dict("list") == {
        "practice_code": ["A81002", "A81001", "A81003"],
        "practice_name": [None, None, None],
        "pcn_code": ["U1", "U1", "U"],
        "pcn_name": ["One", None, None],
        "sub_icb_code": [None, None, None],
        "icb_code": [None, None, None],
        "region_code": [None, None, None],
        "year": [2021, 2021, 2021],
        "in_pcn": [True, True, False],
        "layout": ["structures_small.yml"] * 3,
        "row": [1, 2, 3],
    }
    assert frame["year"].dtype == "int64" and frame["in_pcn"].dtype == bool
    assert frame.index.tolist() == [0, 1, 2]
    st.STRUCTURES_SCHEMA.validate(frame)


def test_a_mappings_year_codes_and_no_organisation_codes_are_used(tmp_path):
    path = parquet(
        tmp_path / "y1999.parquet",
        {
            "C": ["P1", "P22"],
            "N": ["a", "b"],
            "P": ["U2", "U"],
            "PN": ["x", "y"],
            "S": ["s", "s"],
            "I": ["i", "i"],
            "R": ["r", "r"],
        },
    )
    frame = st.read_structures(path, st.read_mapping(mapping(tmp_path, FULL)))
    assert frame["year"].tolist() == [2030, 2030]  # the mapping's year wins over the name
    assert frame["in_pcn"].tolist() == [False, True]
    assert frame["region_code"].tolist() == ["r", "r"]


def test_the_year_comes_from_the_file_name_by_the_mappings_pattern(tmp_path):
    text = FULL.replace("year: 2030\n", "")
    m = st.read_mapping(mapping(tmp_path, text))
    assert st.file_year(tmp_path / "x_y2018_2019.parquet", m) == 2018
    with pytest.raises(DataError) as raised:
        st.file_year(tmp_path / "s_2021_2022.parquet", m)
    assert str(raised.value) == (
        f"{tmp_path / 's_2021_2022.parquet'}: the file name does not give a year: expected a "
        "match of 'y(?P<year>\\\\d{4})' (e.g. 'structures_2024_2025.parquet'), or set "
        f"'year:' in {m.path}"
    )


def test_the_stored_mapping_that_fits_is_chosen_and_none_fitting_is_refused(tmp_path):
    path = small(tmp_path, "structures_2021_2022.parquet")
    with pytest.raises(DataError) as raised:
        st.choose_mapping(path)
    message = str(raised.value)
    assert message.startswith(
        f"{path}: line 1: layout matches no structures mapping; columns found "
        "['CODE', 'PCN', 'PCN_NAME', 'OTHER']; mappings tried: structures_ccg_stp.yml lacks"
    )
    assert message.endswith(
        "; add data/indicators/mappings/structures_<layout>.yml naming its columns"
    )
    chosen = st.choose_mapping(st.stored_files()[-1])
    assert chosen.path.name == "structures_sub_icb.yml"
    small_mapping = st.read_mapping(mapping(tmp_path))
    assert st.choose_mapping(path, [small_mapping]) is small_mapping
    frame = st.read_structures(st.stored_files()[-1])
    assert frame["layout"].iloc[0] == "structures_sub_icb.yml"


def test_a_column_the_mapping_names_and_the_file_lacks_is_refused(tmp_path):
    path = parquet(tmp_path / "s_2021_2022.parquet", {"CODE": ["A81001"], "PCN": ["U1"]})
    m = mapping(tmp_path)
    with pytest.raises(DataError) as raised:
        st.read_structures(path, m)
    assert str(raised.value) == (
        f"{m}: names column(s) ['PCN_NAME'] that {path} lacks (['CODE', 'PCN'])"
    )


def test_a_column_of_bytes_is_not_text(tmp_path):
    path = parquet(
        tmp_path / "s_2021_2022.parquet",
        {"CODE": ["A81001", "A81002"], "PCN": ["U1", "U2"], "PCN_NAME": [b"One", b"Two"]},
    )
    with pytest.raises(DataError) as raised:
        st.read_structures(path, mapping(tmp_path))
    assert str(raised.value) == (
        f"{path}: 1 problem(s): column 'PCN_NAME': type object, expected text"
    )


def test_every_problem_of_a_file_is_reported_together_in_one_line(tmp_path):
    path = parquet(
        tmp_path / "s_2021_2022.parquet",
        {
            "CODE": ["A81001", "A81001", "bad", None, "  ", "A81004"],
            "PCN": ["U1", "U2", "U3", None, "P", " "],
            "PCN_NAME": [1, 2, 3, 4, 5, 6],
        },
    )
    with pytest.raises(DataError) as raised:
        st.read_structures(path, mapping(tmp_path))
    assert str(raised.value) == (
        f"{path}: 5 problem(s): column 'PCN_NAME': type int64, expected text; "
        "column 'CODE': missing practice code on row(s) 4, 5; "
        "column 'CODE': malformed practice code on row(s) 3 (e.g. ['bad']; "
        "expected '^[A-Z][0-9A-Z][0-9]{4}$'); "
        "column 'CODE': practice listed twice (in two PCNs or repeated) on row(s) 1, 2; "
        "column 'PCN': missing PCN code on row(s) 4, 6 (practices in no PCN carry a code such "
        "as ['U'])"
    )


def test_several_years_are_stacked_with_one_row_per_file(tmp_path):
    m = st.read_mapping(mapping(tmp_path))
    late = small(tmp_path, "s_2021_2022.parquet")
    early = parquet(  # one row
        tmp_path / "s_2020_2021.parquet", {"CODE": ["A81009"], "PCN": ["U"], "PCN_NAME": ["a"]}
    )
    years = st.read_structure_years([late, early], [m])
    assert years.files.to_dict("list") == {
        "file": ["s_2020_2021.parquet", "s_2021_2022.parquet"],
        "year": [2020, 2021],
        "layout": ["structures_small.yml"] * 2,
        "practices": [1, 3],
        "pcns": [0, 1],
        "not_in_pcn": [1, 1],
    }
    assert years.files.index.tolist() == [0, 1]
    assert list(zip(years.practices["year"], years.practices["practice_code"], strict=True)) == [
        (2020, "A81009"),
        (2021, "A81001"),
        (2021, "A81002"),
        (2021, "A81003"),
    ]
    assert years.practices["row"].tolist() == [1, 2, 1, 3]
    assert years.practices.index.tolist() == list(range(4))


def test_no_files_or_two_of_one_year_are_refused(tmp_path):
    with pytest.raises(DataError) as raised:
        st.read_structure_years([])
    assert str(raised.value) == (
        "no structures files given; expected structures_<year>_<year>.parquet"
    )
    m = st.read_mapping(mapping(tmp_path))
    one, two = small(tmp_path, "a_2021_2022.parquet"), small(tmp_path, "b_2021_2022.parquet")
    other = small(tmp_path, "c_2020_2021.parquet")
    with pytest.raises(DataError) as raised:
        st.read_structure_years([one, other, two], [m])
    assert str(raised.value) == (
        "two structures files for one year: ['a_2021_2022.parquet', 'b_2021_2022.parquet']"
    )


STRUCTURES = pd.DataFrame(
    {
        "practice_code": ["A1", "A2", "A3", "A1", "A2", "A4"],
        "year": [2019, 2019, 2019, 2020, 2020, 2020],
        "pcn_code": ["P1", "U", "P2", "P1", "P2", "P2"],
        "in_pcn": [True, False, True, True, True, True],
    }
)


def test_membership_under_each_years_own_pcn():
    out = st.membership_table(STRUCTURES, [2018, 2020], None)
    assert list(out.columns) == ["practice_code", "year", "organisation_id"]
    assert list(out.itertuples(index=False, name=None)) == [
        ("A1", 2020, "P1"),
        ("A2", 2020, "P2"),
        ("A4", 2020, "P2"),
    ]
    assert out.index.tolist() == [0, 1, 2]


def test_membership_fixed_at_one_years_pcn_in_every_year():
    out = st.membership_table(STRUCTURES, [2021, 2018], 2019)
    assert list(out.columns) == ["practice_code", "year", "organisation_id"]
    assert list(out.itertuples(index=False, name=None)) == [
        ("A1", 2021, "P1"),
        ("A3", 2021, "P2"),
        ("A1", 2018, "P1"),
        ("A3", 2018, "P2"),
    ]
    with pytest.raises(ValueError) as raised:
        st.membership_table(STRUCTURES, [2019], 2018)
    assert str(raised.value) == (
        "parameter 'membership_year': 2018 has no mapping file; files: [2019, 2020]"
    )


def stored_layout(path: Path, codes: list[str], pcns: list[str]) -> Path:
    """A file in the stored 2022-23 layout (SUB_ICB_* columns)."""
    n = len(codes)
    return parquet(
        path,
        {
            "PRACTICE_CODE": codes,
            "PRACTICE_NAME": ["x"] * n,
            "PCN_ODS_CODE": pcns,
            "PCN_NAME": ["n"] * n,
            "SUB_ICB_ODS_CODE": ["16C"] * n,
            "ICB_ODS_CODE": ["QHM"] * n,
            "REGION_ODS_CODE": ["Y63"] * n,
        },
    )


def test_the_command_prints_each_files_counts_and_what_changed(tmp_path, capsys):
    folder = tmp_path / "files"
    folder.mkdir()
    stored_layout(
        folder / "structures_2023_2024.parquet", ["A81001", "A81002", "A81004"], ["P2", "P1", "P2"]
    )
    (folder / "notes.txt").write_text("not read")
    single = stored_layout(
        tmp_path / "structures_2022_2023.parquet", ["A81001", "A81002", "A81003"], ["P1", "U", "P1"]
    )
    assert st.main([str(folder), str(single)]) == 0
    out = capsys.readouterr().out
    years = st.read_structure_years(sorted(folder.glob("*.parquet")) + [single])
    changes = turnover.transitions(years.practices)
    # the two tables, without their index
    assert out.startswith(years.files.to_string(index=False) + "\n\n")
    last = out.splitlines()[-1]
    assert (
        last
        == changes[["period", "changed_pcn", "closed", "opened", "pcns_formed", "pcns_closed"]]
        .to_string(index=False)
        .splitlines()[-1]
    )
    lines = [line.split() for line in out.splitlines()]
    assert lines[:3] == [
        ["file", "year", "layout", "practices", "pcns", "not_in_pcn"],
        ["structures_2022_2023.parquet", "2022", "structures_sub_icb.yml", "3", "1", "1"],
        ["structures_2023_2024.parquet", "2023", "structures_sub_icb.yml", "3", "2", "0"],
    ]
    assert lines[3] == []
    assert lines[4] == ["period", "changed_pcn", "closed", "opened", "pcns_formed", "pcns_closed"]
    assert lines[5][0] == "2022-2023" and len(lines) == 6


def test_the_command_on_one_file_prints_its_counts_only(tmp_path, capsys):
    single = stored_layout(tmp_path / "structures_2022_2023.parquet", ["A81001"], ["P1"])
    assert st.main([str(single)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_the_command_refuses_a_folder_without_parquet_files(tmp_path):
    (tmp_path / "a.csv").write_text("x\n")
    with pytest.raises(DataError) as raised:
        st.main([str(tmp_path)])
    assert str(raised.value) == f"{tmp_path}: no .parquet files in the folder"


def test_the_commands_help_says_what_it_does_and_what_it_takes(capsys):
    shown = help_text(st.main, capsys)
    assert "python -m analysis.indicators.sources.structures FOLDER_OR_FILE ...``: read every" in (
        shown
    )
    assert "paths structures_<year>_<year>.parquet files or folders" in shown
