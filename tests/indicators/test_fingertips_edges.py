"""The Fingertips adapter at its edges, on small exports built here: what a mapping file
leaves to the defaults, how periods become years, which rows are England's, the catalogue
rows a mapping declares, and every problem's exact one-line wording.

Expected values are written out from the small tables below (a data row ``i`` of an export
is its file line ``i + 2``); the catalogue's directions are read from the stored catalogue.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from commandline import parser_exit

from analysis.core.datasets import DataError
from analysis.indicators.sources import fingertips
from analysis.indicators.sources.panel import read_catalogue
from analysis.patterns import PatternError

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "fingertips_small.csv"
MAPPING = FIXTURES / "fingertips_mapping.yml"
COLUMNS = {
    "indicator": "Indicator ID",
    "area_code": "Area Code",
    "area_type": "Area Type",
    "period": "Time period",
    "numerator": "Count",
    "denominator": "Denominator",
}
YEAR = r"^(?P<year>\d{4})(?:/\d{2})?$"  # the fixture mapping's pattern is the default one
FIELDS = (
    "  (tidy fields from export columns: numerator = 'Count', denominator = 'Denominator', "
    "year from 'Time period', practice_code from 'Area Code')"
)
# One practice row of HOS01 (fixture id 990002); each row of an export below changes some cells.
BASE = {
    "Indicator ID": "990002",
    "Indicator Name": "Fixture: emergency admissions",
    "Area Code": "X99001",
    "Area Type": "GPs",
    "Sex": "Persons",
    "Age": "All ages",
    "Category Type": None,
    "Time period": "2013/14",
    "Value": 90.0,
    "Count": 9.0,
    "Denominator": 100.0,
}


def export(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame([BASE | row for row in rows])


def mapping(**changes) -> dict:
    return fingertips.read_mapping(MAPPING) | changes


@pytest.fixture(scope="module")
def catalogue() -> pd.DataFrame:
    return read_catalogue()


def problem(frame: pd.DataFrame, catalogue, name: str = "x.csv", **changes) -> str:
    with pytest.raises(DataError) as err:
        fingertips.to_tidy(frame, mapping(**changes), catalogue, name=name)
    return str(err.value)


def write_mapping(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def fixture_rows() -> list[list[str]]:
    with open(SMALL, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


# --------------------------------------------------------------------------- the mapping


def test_a_mapping_leaves_area_types_years_categories_and_counts_to_the_defaults(tmp_path):
    doc = {
        "columns": COLUMNS,
        "indicators": {990001: "SAT01", 990002: {"indicator_id": "ZZZ01", "name": "Z"}},
        "select": {"Sex": "Male"},
    }
    read = fingertips.read_mapping(write_mapping(tmp_path / "m.yml", doc))
    assert read["columns"] == COLUMNS
    assert read["practice_area_type"] == ["GPs", "GP"]
    assert read["national_area_type"] == "England"
    assert read["keep_empty"] == ["Category Type"]
    assert read["missing_counts"] == "error"
    assert read["indicators"] == {
        "990001": {"indicator_id": "SAT01"},
        "990002": {"indicator_id": "ZZZ01", "name": "Z"},
    }
    # one value for a column is a list of one; the other column keeps the default
    assert read["select"] == {"Sex": ["Male"], "Age": ["All ages"]}
    # the default period: a financial year '2013/14' or a calendar year '2014', by its start
    periods = pd.Series(["2013/14", "2014"])
    assert fingertips._years(periods, read["period_pattern"], "f").tolist() == [2013, 2014]
    with pytest.raises(DataError, match="line"):
        fingertips._years(pd.Series(["2013-14"]), read["period_pattern"], "f")


def test_what_a_mapping_states_replaces_the_defaults(tmp_path):
    doc = {
        "columns": COLUMNS,
        "indicators": {990001: "SAT01"},
        "practice_area_type": "Practice",
        "national_area_type": "Nation",
        "period_pattern": r"^FY(?P<year>\d{4})$",
        "keep_empty": ["Category"],
        "missing_counts": "drop",
    }
    read = fingertips.read_mapping(write_mapping(tmp_path / "m.yml", doc))
    assert read["practice_area_type"] == ["Practice"]
    assert read["national_area_type"] == "Nation"
    assert read["period_pattern"] == r"^FY(?P<year>\d{4})$"
    assert read["keep_empty"] == ["Category"]
    assert read["missing_counts"] == "drop"


def test_one_export_column_in_two_roles_is_refused_naming_the_line(tmp_path):
    doc = {"columns": COLUMNS | {"denominator": "Count"}, "indicators": {990001: "SAT01"}}
    path = write_mapping(tmp_path / "m.yml", doc)
    line = path.read_text(encoding="utf-8").splitlines().index("  denominator: Count") + 1
    with pytest.raises(DataError) as err:
        fingertips.read_mapping(path)
    assert str(err.value) == (
        f"{path}:{line}: columns.denominator and columns.numerator both name 'Count'; "
        "one column can have one role only"
    )


def test_a_mapping_without_indicators_is_refused_saying_how_to_map_one(tmp_path):
    path = write_mapping(tmp_path / "m.yml", {"columns": COLUMNS, "indicators": {}})
    with pytest.raises(DataError) as err:
        fingertips.read_mapping(path)
    assert str(err.value) == (
        f"{path}: 'indicators' is empty; map each Fingertips Indicator ID to a catalogue "
        "indicator_id (e.g. '12345: SAT01')"
    )


# --------------------------------------------------------------------------- the export


def test_an_empty_or_missing_export_is_refused_in_one_line(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError) as err:
        fingertips.read_export(empty)
    assert str(err.value).startswith(f"{empty}: file is empty; expected a header row [")
    missing = tmp_path / "missing.csv"
    with pytest.raises(DataError) as err:
        fingertips.read_export(missing)
    assert str(err.value) == (
        f"{missing}: cannot be read as a UTF-8 CSV "
        f"([Errno 2] No such file or directory: '{missing}')"
    )


def test_a_byte_order_mark_does_not_hide_the_first_column_title(tmp_path):
    rows = fixture_rows()
    parent = rows[0].index("Compared to CCGs value or percentiles")
    moved = [[row[parent], *row[:parent], *row[parent + 1 :]] for row in rows]
    path = tmp_path / "bom.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(moved)
    read = fingertips.read_export(path)
    assert read.columns[0] == "Compared to CCGs value or percentiles"
    assert read.shape == (len(rows) - 1, len(rows[0]))


def test_the_parent_comparison_column_is_the_one_after_england_or_titled_so():
    england = "Compared to England value or percentiles"
    ccgs = "Compared to CCGs value or percentiles"
    assert fingertips.parent_columns(fingertips.FINGERTIPS_COLUMNS) == []
    assert fingertips.parent_columns(["Value", england]) == []  # England's column is last
    assert fingertips.parent_columns([england, "Time period range", "Value"]) == []
    assert fingertips.parent_columns(["Value", england, "Column not used", "Count", ccgs]) == [
        "Column not used",
        ccgs,
    ]


# --------------------------------------------------------------------------- years


def test_periods_become_the_years_they_start_in_on_the_same_rows():
    periods = pd.Series(["2013/14", "2014", "2015/16"], index=[4, 7, 9])
    years = fingertips._years(periods, YEAR, "f.csv")
    pd.testing.assert_series_equal(
        years, pd.Series([2013, 2014, 2015], index=[4, 7, 9], dtype=np.int64)
    )


def test_periods_that_are_not_years_are_named_by_line():
    periods = pd.Series(["2013/14", "Q1 2014", None, "2014/15"])
    with pytest.raises(DataError) as err:
        fingertips._years(periods, YEAR, "f.csv")
    assert str(err.value) == (
        f"f.csv: column 'Time period': not a year matching {YEAR!r} on line(s) 3, 4"
    )
    with pytest.raises(DataError, match=r"on line\(s\) 2$"):  # no period of the file is a year
        fingertips._years(pd.Series(["Q1 2014"]), YEAR, "f.csv")


def test_a_year_group_that_takes_more_than_four_digits_is_refused():
    with pytest.raises(DataError, match=r"on line\(s\) 3$"):
        fingertips._years(pd.Series(["2013/14", "13/14"]), r"^(?P<year>\d+)/", "f.csv")


def test_a_period_pattern_without_a_year_group_is_refused_as_a_pattern():
    with pytest.raises(PatternError, match=r"needs a named group \(\?P<year>\.\.\.\)"):
        fingertips._years(pd.Series(["2013/14"]), r"^(?P<start>\d{4})", "f.csv")


# --------------------------------------------------------------------------- indicator ids


def test_indicator_ids_read_as_numbers_lose_their_decimal_and_blank_ids_are_found_by_name():
    frame = pd.DataFrame(
        {
            "Indicator ID": ["247.0", "247", None, None, "10.05"],
            "Indicator Name": ["a", "b", "Smoking", "Other", "c"],
        }
    )
    declared = {
        "247": {"indicator_id": "QOF01"},
        "900": {"indicator_id": "SMK01", "name": "Smoking"},
    }
    ids = fingertips._indicator_ids(frame, {"columns": COLUMNS, "indicators": declared})
    assert ids.tolist() == ["247", "247", "900", "", "10.05"]
    # an export without the name column: blank ids stay blank
    bare = frame[["Indicator ID"]]
    ids = fingertips._indicator_ids(bare, {"columns": COLUMNS, "indicators": declared})
    assert ids.tolist() == ["247", "247", "", "", "10.05"]


# --------------------------------------------------------------------------- the catalogue


def test_a_mapping_that_declares_nothing_leaves_the_catalogue_as_it_is(catalogue):
    assert fingertips.indicator_catalogue(mapping(), catalogue) is catalogue


def test_indicators_a_mapping_declares_join_the_catalogue_with_their_defaults(catalogue):
    declared = {
        "1": {"indicator_id": "SAT01"},  # the catalogue's own: not declared again
        "2": {"indicator_id": "NEW01", "name": "New one"},
        "3": {"indicator_id": "NEW02", "distribution": "poisson"},
        "4": {
            "indicator_id": "NEW03",
            "name": "Third",
            "distribution": "binomial",
            "domain": "access",
            "higher_is_better": False,
        },
    }
    joined = fingertips.indicator_catalogue(mapping(indicators=declared), catalogue)
    assert joined.index.tolist() == list(range(len(catalogue) + 3))
    pd.testing.assert_frame_equal(joined.iloc[: len(catalogue)], catalogue, check_dtype=False)
    added = joined.iloc[len(catalogue) :]
    shown = ["indicator_id", "name", "domain", "distribution", "higher_is_better"]
    assert added[shown].to_dict("split")["data"] == [
        ["NEW01", "New one", "declared", "binomial", None],
        ["NEW02", "NEW02", "declared", "poisson", None],
        ["NEW03", "Third", "access", "binomial", False],
    ]
    assert added["years_available"].tolist() == ["1900-2100"] * 3  # any year


def test_a_declared_indicator_already_in_the_catalogue_is_refused(catalogue):
    declared = {"1": {"indicator_id": "SAT01", "name": "Again"}}
    with pytest.raises(DataError) as err:
        fingertips.indicator_catalogue(mapping(indicators=declared), catalogue)
    assert str(err.value) == "mapping declares indicator id(s) ['SAT01'] already in the catalogue"


def test_a_given_catalogue_is_the_one_used(catalogue):
    own = catalogue.assign(indicator_id=catalogue["indicator_id"].replace({"HOS01": "OWN01"}))
    chosen = mapping(indicators={"990002": {"indicator_id": "OWN01"}})
    extract = fingertips.read_fingertips(SMALL, chosen, catalogue=own)
    assert set(extract.observations["indicator_id"]) == {"OWN01"}


# --------------------------------------------------------------------------- practice rows


def test_select_naming_a_column_not_in_the_export_is_refused(catalogue):
    frame = export({})
    select = {"Sex": ["Persons"], "Region": ["North"]}
    expected = "line 1: 'select' names column 'Region', not in the export"
    assert problem(frame, catalogue, select=select) == f"x.csv: {expected}"
    with pytest.raises(DataError) as err:  # the name messages use by default
        fingertips.to_tidy(frame, mapping(select=select), catalogue)
    assert str(err.value) == f"export: {expected}"


def test_a_selection_that_keeps_no_practice_row_says_what_the_rows_have(catalogue):
    frame = export({"Age": "65+ yrs"}, {"Age": "16+ yrs", "Area Code": "X99002"})
    select = {"Sex": ["Persons"], "Age": ["All ages"]}
    assert problem(frame, catalogue, select=select) == (
        "x.csv: 'select' {'Sex': ['Persons'], 'Age': ['All ages']} keeps none of the 2 "
        "practice rows of the mapped indicators, which have {'Sex': ['Persons'], "
        "'Age': ['16+ yrs', '65+ yrs']}; state the values in the mapping's 'select' "
        "(e.g. 'Age: [16+ yrs]')"
    )


def test_an_export_without_practice_rows_names_its_first_twelve_area_types_and_ids(catalogue):
    frame = export(*({"Area Type": f"T{i:02d}", "Indicator ID": f"{i:02d}"} for i in range(14)))
    assert problem(frame, catalogue) == (
        "x.csv: no practice rows after filtering (Area Type in ['GPs'], indicator ids "
        "['990001', '990002'], select {'Sex': ['Persons'], 'Age': ['All ages', '16+ yrs']}); "
        "the export has area types ['T00', 'T01', 'T02', 'T03', 'T04', 'T05', 'T06', 'T07', "
        "'T08', 'T09', 'T10', 'T11'] and indicator ids ['00', '01', '02', '03', '04', '05', "
        "'06', '07', '08', '09', '10', '11']"
    )


def test_missing_counts_are_refused_naming_the_lines_and_the_ways_out(catalogue):
    frame = export(
        {},
        {"Area Code": "X99002", "Count": None},
        {"Indicator ID": "990001", "Denominator": None, "Age": "16+ yrs"},
    )
    assert problem(frame, catalogue) == (
        "x.csv: missing counts ('Count' or 'Denominator') on line(s) 3, 4 (indicator(s) "
        "['990001', '990002']); a score indicator published without counts cannot be "
        "analysed as a proportion: set 'missing_counts: value' in the mapping to analyse "
        "'Value' as a continuous measure, or 'missing_counts: drop' to leave these rows out "
        "(Fingertips also suppresses small counts)"
    )


def test_scores_without_counts_are_kept_as_values_on_their_own_rows(catalogue):
    frame = export(
        {},
        {"Area Code": "X99002", "Count": None, "Value": 42.5},
        {"Indicator ID": "990001", "Time period": "2014/15", "Denominator": None, "Value": 7.0},
    )
    extract = fingertips.to_tidy(frame, mapping(missing_counts="value"), catalogue, "x.csv")
    assert extract.set_aside["missing counts (kept as values)"] == 2
    assert "missing counts (dropped)" not in extract.set_aside
    assert extract.values.index.tolist() == [1, 2]
    assert extract.values.to_dict("list") == {
        "practice_code": ["X99002", "X99001"],
        "year": [2013, 2014],
        "indicator_id": ["HOS01", "SAT01"],
        "value": [42.5, 7.0],
    }
    assert extract.observations.index.tolist() == [0]
    dropped = fingertips.to_tidy(frame, mapping(missing_counts="drop"), catalogue, "x.csv")
    assert dropped.values is None
    assert dropped.set_aside["missing counts (dropped)"] == 2


def test_a_score_kept_as_a_value_needs_a_year_too(catalogue):
    frame = export({}, {"Count": None, "Time period": "Q1 2013"})
    assert problem(frame, catalogue, missing_counts="value") == (
        f"x.csv: column 'Time period': not a year matching {YEAR!r} on line(s) 3"
    )


def test_a_row_the_contract_refuses_is_named_with_the_export_columns_it_came_from(catalogue):
    frame = export({"Indicator ID": "990001", "Age": "16+ yrs", "Count": 12.0, "Denominator": 10})
    message = problem(frame, catalogue)
    assert message.startswith("x.csv: ")
    assert "line(s) 2" in message
    assert message.splitlines()[-1] == FIELDS


# --------------------------------------------------------------------------- England


def test_england_rows_are_one_per_indicator_and_year_in_order():
    rows = export(
        {"Area Type": "England", "Time period": "2014/15", "Count": 20.0, "Denominator": 200},
        {"Area Type": "England", "Indicator ID": "990001", "Count": 5.0, "Denominator": 10},
        {"Area Type": "England", "Count": 10.0, "Value": 100.0},
        {"Area Type": "England", "Count": 10.0, "Value": 100.0},  # the repeat under England
    )
    targets = {"990001": "SAT01", "990002": "HOS01"}
    england = fingertips._england(rows, targets, mapping(), "x.csv")
    assert england.index.tolist() == [0, 1, 2]
    assert england["year"].dtype == np.int64
    assert england.to_dict("list") == {
        "year": [2013, 2014, 2013],
        "indicator_id": ["HOS01", "HOS01", "SAT01"],
        "numerator": [10.0, 20.0, 5.0],
        "denominator": [100.0, 200.0, 10.0],
        "value": [100.0, 90.0, 90.0],
    }


def test_england_rows_that_disagree_are_refused_naming_both_lines(catalogue):
    frame = export(
        {},
        {"Area Type": "England", "Time period": "2014/15"},
        {"Area Type": "England", "Value": 95.0},
        {"Area Type": "England", "Value": 96.0},
    )
    assert problem(frame, catalogue) == (
        "x.csv: England rows disagree for the same indicator and year on line(s) 4, 5"
    )


def test_an_england_row_without_a_year_is_named(catalogue):
    frame = export({}, {"Area Type": "England", "Time period": "2013-14"})
    assert problem(frame, catalogue) == (
        f"x.csv: column 'Time period': not a year matching {YEAR!r} on line(s) 3"
    )


# --------------------------------------------------------------------------- the command


def _directions() -> dict[str, str]:
    stored = read_catalogue().set_index("indicator_id")["higher_is_better"]
    return {k: "true" if v else "false" for k, v in stored.items()}


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_command_writes_a_panel_folder_and_says_what_it_set_aside(tmp_path, capsys):
    out = tmp_path / "out"
    assert fingertips.main([str(SMALL), "--mapping", str(MAPPING), "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""
    assert printed.out.splitlines() == [
        f"wrote {out / 'observations.csv'}",
        f"wrote {out / 'england.csv'}",
        f"wrote {out / 'indicator_catalogue.csv'}",
        "set aside: 2 row(s), indicator not in mapping",
        "set aside: 1 row(s), category breakdown",
        "set aside: 0 row(s), other sex or age than selected",
        "set aside: 4 row(s), other area type",
        "set aside: 0 row(s), missing counts (dropped)",
        "indicator ids not in the mapping: ['990003']",
    ]
    rows = _csv(out / "indicator_catalogue.csv")
    directions = _directions()
    assert {r["indicator_id"]: r["higher_is_better"] for r in rows} == {
        "HOS01": directions["HOS01"],
        "SAT01": directions["SAT01"],
    }
    assert {directions["HOS01"], directions["SAT01"]} == {"true", "false"}
    assert sorted(p.name for p in out.iterdir()) == [
        "england.csv",
        "indicator_catalogue.csv",
        "observations.csv",
    ]


def test_the_command_writes_scores_without_counts_and_declared_indicators(tmp_path, capsys):
    rows = fixture_rows()
    header = rows[0]
    col = {name: header.index(name) for name in header}
    blanked = []
    for number, row in enumerate(rows[1:], start=2):
        key = (row[col["Area Code"]], row[col["Indicator ID"]], row[col["Time period"]])
        if key in {("X99003", "990001", "2014/15"), ("X99001", "990002", "2013/14")}:
            if not row[col["Category Type"]]:
                row[col["Count"]] = ""
                blanked.append((number, row[col["Value"]]))
    export_path = write_rows(tmp_path / "scores.csv", rows)
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8"))
    doc |= {
        "missing_counts": "value",
        "indicators": {990001: "SAT01", 990002: {"indicator_id": "NEW01", "name": "Admissions"}},
    }
    mapping_path = write_mapping(tmp_path / "m.yml", doc)
    out = tmp_path / "out"
    code = fingertips.main([str(export_path), "--mapping", str(mapping_path), "--out", str(out)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"wrote {out / 'values.csv'} (scores without counts)" in lines
    assert "set aside: 2 row(s), missing counts (kept as values)" in lines
    assert len(blanked) == 2
    # sorted by practice, year and indicator, whatever the export's order
    assert _csv(out / "values.csv") == [
        {"practice_code": "X99001", "year": "2013", "indicator_id": "NEW01", "value": "89.987"},
        {"practice_code": "X99003", "year": "2014", "indicator_id": "SAT01", "value": "78.261"},
    ]
    written = {r["indicator_id"]: r for r in _csv(out / "indicator_catalogue.csv")}
    assert written["SAT01"]["higher_is_better"] == _directions()["SAT01"]
    assert written["NEW01"]["higher_is_better"] == ""  # declared without a direction
    assert written["NEW01"]["name"] == "Admissions"


@pytest.mark.parametrize(
    "policy, kept",
    [("value", "; 12 practice row(s) without counts were kept as values"), ("drop", "")],
)
def test_the_command_refuses_an_export_without_counts_writing_nothing(
    tmp_path, capsys, policy, kept
):
    rows = fixture_rows()
    count = rows[0].index("Count")
    for row in rows[1:]:
        row[count] = ""
    write_rows(tmp_path / "score.csv", rows)
    doc = yaml.safe_load(MAPPING.read_text(encoding="utf-8")) | {"missing_counts": policy}
    mapping_path = write_mapping(tmp_path / "m.yml", doc)
    out = tmp_path / "out"
    # the file is named by its path as Python spells it (the doubled slash is gone)
    argv = [f"{tmp_path}//score.csv", "--mapping", str(mapping_path), "--out", str(out)]
    assert fingertips.main(argv) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == (
        f"error: {tmp_path / 'score.csv'}: no practice row with counts to convert{kept}; "
        "the tidy panel needs counts (numerator and denominator), so nothing was written\n"
    )
    assert not out.exists()


def test_the_command_line_arguments(tmp_path, capsys):
    code, out, _ = parser_exit(fingertips.main, ["--help"], capsys)
    assert code == 0 and "Convert a Fingertips export to the tidy panel." in out.splitlines()
    with pytest.raises(SystemExit) as stop:
        fingertips.main([str(SMALL)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    command = "python -m analysis.indicators.sources.fingertips"
    assert err.splitlines() == [
        f"error: {command}: the following arguments are required: --out (see {command} --help)"
    ]
    # an empty --mapping is refused, not read as the stored mapping or the working folder
    argv = [str(SMALL), "--mapping", "", "--out", str(tmp_path / "out")]
    code, _, err = parser_exit(fingertips.main, argv, capsys)
    assert code == 2
    assert err.splitlines() == [
        f"error: {command}: argument --mapping: an empty path; expected a file or folder name "
        f"(see {command} --help)"
    ]
    assert not (tmp_path / "out").exists()
