"""Fingertips long-CSV adapter: the fixture read into the tidy contract, and bad exports refused."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.core.datasets import DataError
from analysis.indicators.sources import contract, fingertips, panel

FIXTURES = Path(__file__).parent / "fixtures"
SMALL = FIXTURES / "fingertips_small.csv"
RANGE = FIXTURES / "fingertips_small_range.csv"
MAPPING = FIXTURES / "fingertips_mapping.yml"

# Hand-copied from the practice rows of the fixture (Area Type GPs, no category breakdown).
EXPECTED = [
    ("X99001", 2013, "HOS01", 541, 6012),
    ("X99001", 2013, "SAT01", 88, 112),
    ("X99001", 2014, "HOS01", 560, 6088),
    ("X99001", 2014, "SAT01", 84, 109),
    ("X99002", 2013, "HOS01", 1102, 11930),
    ("X99002", 2013, "SAT01", 71, 104),
    ("X99002", 2014, "HOS01", 1150, 12044),
    ("X99002", 2014, "SAT01", 70, 107),
    ("X99003", 2013, "HOS01", 301, 3401),
    ("X99003", 2013, "SAT01", 95, 118),
    ("X99003", 2014, "HOS01", 318, 3390),
    ("X99003", 2014, "SAT01", 90, 115),
]


def _tidy(extract):
    frame = extract.observations.sort_values(contract.KEY)
    return [
        (r.practice_code, int(r.year), r.indicator_id, r.numerator, r.denominator)
        for r in frame.itertuples()
    ]


def _rows(path=SMALL):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _write(tmp_path, rows, name="export.csv"):
    path = tmp_path / name
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return path


def _set(rows, line, column, value):
    rows = [list(r) for r in rows]
    rows[line - 1][rows[0].index(column)] = value
    return rows


def _line_of(rows, area, indicator, period):
    header = rows[0]
    for number, row in enumerate(rows, start=1):
        if (
            row[header.index("Area Code")] == area
            and row[header.index("Indicator ID")] == indicator
            and row[header.index("Time period")] == period
            and not row[header.index("Category Type")]
        ):
            return number
    raise AssertionError("row not in fixture")


def test_fixture_becomes_the_tidy_contract_with_england_as_comparator():
    extract = fingertips.read_fingertips(SMALL, MAPPING)
    assert _tidy(extract) == EXPECTED
    assert list(extract.observations.columns) == contract.OBSERVATION_COLUMNS
    england = extract.england.set_index(["indicator_id", "year"])
    assert england.loc[("SAT01", 2013), "numerator"] == 614230
    assert england.loc[("HOS01", 2014), "denominator"] == 55877300
    assert england.loc[("SAT01", 2014), "value"] == pytest.approx(100 * 598410 / 839880, abs=1e-3)
    assert extract.set_aside == {
        "indicator not in mapping": 2,
        "category breakdown": 1,
        "other sex or age than selected": 0,
        "other area type": 4,  # the CCG rows
        "missing counts (dropped)": 0,
    }


def test_variant_with_time_period_range_and_another_parent_column_reads_the_same():
    header = _rows(RANGE)[0]
    assert "Time period range" in header
    assert "Compared to CCGs value or percentiles" not in header
    assert _tidy(fingertips.read_fingertips(RANGE, MAPPING)) == EXPECTED


def test_converted_export_loads_as_a_user_panel(tmp_path):
    assert fingertips.main([str(SMALL), "--mapping", str(MAPPING), "--out", str(tmp_path)]) == 0
    (tmp_path / "membership.csv").write_text(
        "practice_code,organisation_id,joined,left\nX99001,ORG01,2012,\nX99002,ORG01,2014,\n"
    )
    (tmp_path / "organisations.csv").write_text(
        "organisation_id,label,form,n_practices,list_size,ccgs_spanned,rurality,case_study\n"
        "ORG01,Fixture org,federation,2,18132,1,urban,false\n"
    )
    loaded = panel.load_panel(tmp_path)
    assert loaded.tier == "user"
    assert _tidy(panel.Panel(loaded.observations, *[None] * 4)) == EXPECTED
    assert pd.read_csv(tmp_path / "england.csv").shape == (4, 5)


@pytest.mark.parametrize(
    "area, indicator, period, column, value, message",
    [
        ("X99002", "990001", "2013/14", "Count", "105", r"numerator greater than denominator"),
        ("X99002", "990002", "2014/15", "Count", "-3", r"'numerator'"),
        (
            "X99003",
            "990001",
            "2014/15",
            "Count",
            "",
            r"missing counts \('Count' or 'Denominator'\)",
        ),
        ("X99003", "990002", "2013/14", "Denominator", "", r"missing counts"),
        ("X99001", "990002", "2014/15", "Time period", "2016/17", r"'year'"),
        ("X99001", "990002", "2014/15", "Time period", "Q1 2014", r"not a year matching"),
        ("X99001", "990002", "2014/15", "Count", "n/a", r"line \d+, column 'Count'"),
    ],
)
def test_bad_practice_rows_are_refused_naming_the_line(
    tmp_path, area, indicator, period, column, value, message
):
    rows = _rows()
    line = _line_of(rows, area, indicator, period)
    path = _write(tmp_path, _set(rows, line, column, value))
    with pytest.raises(DataError, match=message) as err:
        fingertips.read_fingertips(path, MAPPING)
    assert "export.csv" in str(err.value)
    assert re.search(rf"line(\(s\))? {line}\b", str(err.value)), str(err.value)


def test_duplicated_practice_rows_are_refused_naming_both_lines(tmp_path):
    rows = _rows()
    line = _line_of(rows, "X99001", "990001", "2013/14")
    path = _write(tmp_path, [*rows, rows[line - 1]])
    with pytest.raises(DataError, match=rf"duplicated .* line\(s\) {line}, {len(rows) + 1}\b"):
        fingertips.read_fingertips(path, MAPPING)


def test_missing_counts_can_be_dropped_by_the_mapping(tmp_path):
    rows = _rows()
    line = _line_of(rows, "X99003", "990001", "2014/15")
    path = _write(tmp_path, _set(rows, line, "Count", ""))
    mapping = fingertips.read_mapping(MAPPING) | {"missing_counts": "drop"}
    extract = fingertips.read_fingertips(path, mapping)
    assert len(extract.observations) == len(EXPECTED) - 1
    assert extract.set_aside["missing counts (dropped)"] == 1


def test_bad_headers_are_refused(tmp_path):
    rows = _rows()
    no_count = [[c for i, c in enumerate(r) if i != rows[0].index("Count")] for r in rows]
    with pytest.raises(DataError, match=r"line 1: missing column\(s\) \['Count'\]"):
        fingertips.read_export(_write(tmp_path, no_count))
    extra = [[*r, ""] for r in rows]
    extra[0][-1] = "Compared to Regions value or percentiles"
    with pytest.raises(DataError, match="more than one parent comparison column"):
        fingertips.read_export(_write(tmp_path, extra))
    unknown = [[*r, ""] for r in rows]
    unknown[0][-1] = "Surprise"
    with pytest.raises(DataError, match=r"unknown column\(s\) \['Surprise'\]"):
        fingertips.read_export(_write(tmp_path, unknown))


def test_mapping_checks(tmp_path):
    doc = yaml.safe_load(MAPPING.read_text())
    bad_id = tmp_path / "bad_id.yml"
    bad_id.write_text(yaml.safe_dump(doc | {"indicators": {990001: "XYZ01"}}))
    with pytest.raises(DataError, match=r"indicator id\(s\) \['XYZ01'\] not in the catalogue"):
        fingertips.read_fingertips(SMALL, bad_id)
    bad_key = tmp_path / "bad_key.yml"
    bad_key.write_text(yaml.safe_dump(doc | {"colums": {}}))
    with pytest.raises(DataError, match=r"bad_key.yml:\d+: \(top level\): unknown key\(s\) colums"):
        fingertips.read_mapping(bad_key)
    bad_role = tmp_path / "bad_role.yml"
    bad_role.write_text(yaml.safe_dump(doc | {"columns": {"indicator": "Indicator ID"}}))
    with pytest.raises(DataError, match=r"bad_role.yml:\d+: columns: 'area_code' is required"):
        fingertips.read_mapping(bad_role)


def test_stored_mapping_is_valid_but_asks_for_the_indicator_ids(tmp_path):
    with pytest.raises(DataError, match="'indicators' is empty"):
        fingertips.read_mapping()
    doc = yaml.safe_load(fingertips.mapping_path().read_text())
    assert doc["select"] == fingertips.DEFAULT_SELECT  # the stored mapping states the default
    filled = tmp_path / "filled.yml"
    filled.write_text(
        yaml.safe_dump(
            doc
            | {
                "indicators": {990001: "SAT01", 990002: "HOS01"},
                "select": {"Sex": ["Persons"], "Age": ["All ages", "16+ yrs"]},
            }
        )
    )
    assert _tidy(fingertips.read_fingertips(SMALL, filled)) == EXPECTED


def _mapping_without_select(tmp_path, indicators):
    doc = yaml.safe_load(MAPPING.read_text())
    del doc["select"]
    path = tmp_path / "default_select.yml"
    path.write_text(yaml.safe_dump(doc | {"indicators": indicators}))
    return path


def test_default_selection_is_persons_all_ages_no_category(tmp_path):
    mapping = fingertips.read_mapping(_mapping_without_select(tmp_path, {990002: "HOS01"}))
    assert mapping["select"] == {"Sex": ["Persons"], "Age": ["All ages"]}
    rows = _rows(SMALL)
    header = rows[0]
    # A practice row of another age band and one of another sex: both set aside by default.
    for column, value in (("Age", "65+ yrs"), ("Sex", "Male")):
        extra = list(rows[_line_of(rows, "X99001", "990002", "2013/14") - 1])
        extra[header.index(column)] = value
        rows.append(extra)
    extract = fingertips.read_fingertips(_write(tmp_path, rows), mapping)
    assert _tidy(extract) == [row for row in EXPECTED if row[2] == "HOS01"]
    assert extract.set_aside["other sex or age than selected"] == 2
    assert extract.set_aside["category breakdown"] == 0  # the breakdown row is SAT01's


def test_default_selection_leaves_16_plus_rows_aside_and_the_mapping_can_state_them(tmp_path):
    both = {990001: "SAT01", 990002: "HOS01"}
    default = fingertips.read_fingertips(SMALL, _mapping_without_select(tmp_path, both))
    assert _tidy(default) == [row for row in EXPECTED if row[2] == "HOS01"]
    # SAT01 is 16+ yrs only: its six practice, two England and two CCG rows.
    assert default.set_aside["other sex or age than selected"] == 10
    assert set(default.england["indicator_id"]) == {"HOS01"}
    explicit = fingertips.read_fingertips(SMALL, MAPPING)  # states Age: [All ages, 16+ yrs]
    assert _tidy(explicit) == EXPECTED
    only_16 = fingertips.read_mapping(MAPPING)
    only_16["select"] = {"Sex": ["Persons"], "Age": ["16+ yrs"]}
    assert _tidy(fingertips.read_fingertips(SMALL, only_16)) == [
        row for row in EXPECTED if row[2] == "SAT01"
    ]


def test_default_selection_that_keeps_no_rows_names_the_file_and_the_ages(tmp_path):
    mapping = _mapping_without_select(tmp_path, {990001: "SAT01"})
    with pytest.raises(DataError) as err:
        fingertips.read_fingertips(SMALL, mapping)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{SMALL}: 'select'")
    assert "'Age': ['16+ yrs']" in message
    assert "keeps none of the 6 practice rows" in message
    assert fingertips.main([str(SMALL), "--mapping", str(mapping), "--out", str(tmp_path)]) == 2
