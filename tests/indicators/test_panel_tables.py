"""Loading a panel from small hand-written folders and tables: what is set aside and said,
membership at each level, and the written observation file, worked out by hand."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources import panel

CATALOGUE = """indicator_id,name,domain,distribution,higher_is_better
A1,First,alpha,binomial,true
B1,Second,alpha,poisson,false
C1,Third,beta,continuous,
"""
COUNTS = """practice_code,year,indicator_id,numerator,denominator
P1,2020,A1,1,4
P2,2020,A1,2,4
P3,2020,A1,3,4
P1,2021,A1,1,4
"""
MEMBERSHIP = """practice_code,organisation_id,joined,left
P1,N1,2020,
P2,N1,2020,
P3,N2,2020,
P4,U,2020,
"""


def _folder(path, **files):
    texts = {"indicator_catalogue.csv": CATALOGUE, "observations.csv": COUNTS,
             "membership.csv": MEMBERSHIP}  # fmt: skip
    texts.update({k.replace("__", "."): v for k, v in files.items()})
    path.mkdir(exist_ok=True)
    for name, text in texts.items():
        if text is not None:
            (path / name).write_text(text, encoding="utf-8")
    return path


def _load(folder):
    findings = panel.Findings()
    return panel.load_panel(folder, findings=findings), findings


# --------------------------------------------------------------------------- the Panel


def test_a_panel_says_its_unit_and_default_organisations(tmp_path):
    loaded = panel.load_panel(_folder(tmp_path, panel__yml="organisations: [N2, N1]\n"))
    assert loaded.unit == "practice_code" and loaded.level == "practice"
    assert loaded.default_organisations == ["N2", "N1"]
    assert loaded.tier == "user" and loaded.national is None
    assert loaded.config == {"organisations": ["N2", "N1"]}
    empty = panel.Panel(*[pd.DataFrame()] * 4, "user", level="organisation")
    assert empty.unit == "organisation_id" and empty.default_organisations == []


def test_observations_are_found_by_suffix_or_named(tmp_path):
    with pytest.raises(DataError) as err:
        panel._find_observations(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: no observations.csv, observations.csv.gz or observations.parquet"
    )
    (tmp_path / "observations.parquet").write_bytes(b"")
    assert panel._find_observations(tmp_path) == tmp_path / "observations.parquet"


# --------------------------------------------------------------------------- set aside, said


def test_blank_values_are_left_out_and_an_all_blank_indicator_set_aside():
    observations = pd.DataFrame(
        {
            "indicator_id": ["A1", "A1", "B1", "B1", "A1", "C1"],
            "numerator": [1.0, np.nan, np.nan, np.nan, np.nan, 2.0],
        }
    )
    findings = panel.Findings()
    kept = panel._set_aside_blank(observations, "obs.csv", findings)
    assert kept.index.tolist() == [0, 5]
    assert findings.notices == [
        "obs.csv: column 'value': every value is missing for indicator(s) ['B1']; set aside "
        "(nothing to analyse)",
        "obs.csv: column 'value': 2 blank value(s) left out on line(s) 3, 6",
    ]
    assert findings.errors == []
    whole = observations.iloc[[0, 5]]
    assert panel._set_aside_blank(whole, "obs.csv", findings) is whole
    only_empty = panel.Findings()
    panel._set_aside_blank(observations.iloc[[0, 2, 3]], "o", only_empty)
    assert len(only_empty.notices) == 1 and "['B1']" in only_empty.notices[0]


def test_values_without_denominators_make_their_indicators_continuous():
    catalogue = pd.DataFrame(
        {"indicator_id": ["A1", "B1", "C1"], "distribution": ["binomial", "poisson", "continuous"]}
    )
    findings = panel.Findings()
    out = panel._continuous(catalogue, ["A1", "C1"], "obs.csv", findings)
    assert out["distribution"].tolist() == ["continuous", "poisson", "continuous"]
    assert findings.notices == [
        "obs.csv: values without denominators for 1 indicator(s): analysed as continuous "
        "(compared with the spread between units; no sampling variance is known)"
    ]
    unchanged = panel.Findings()
    same = panel._continuous(catalogue, ["C1"], "obs.csv", unchanged)
    assert unchanged.notices == [] and same["distribution"].tolist() == [
        "binomial",
        "poisson",
        "continuous",
    ]


def test_organisations_with_one_member_in_some_year_are_said():
    spells = pd.DataFrame(
        {
            "practice_code": [f"P{i}" for i in range(9)],
            "organisation_id": ["N1", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N7"],
            "joined": pd.array([2020] * 8 + [2021], dtype="Int64"),
            "left": pd.array([pd.NA] * 9, dtype="Int64"),
        }
    )
    findings = panel.Findings()
    panel._single_member(spells, [2020, 2021], "m.csv", findings)
    assert findings.notices == [
        "m.csv: column 'organisation_id': 6 organisation(s) with one member practice in some "
        "year (e.g. ['N2', 'N3', 'N4', 'N5', 'N6']): their level is that practice's and their "
        "variation between members is not estimated"
    ]
    quiet = panel.Findings()
    panel._single_member(spells, [], "m.csv", quiet)
    panel._single_member(spells.iloc[:2], [2020], "m.csv", quiet)
    assert quiet.notices == []


# --------------------------------------------------------------------------- load_panel


def test_codes_meaning_no_organisation_are_dropped_and_said(tmp_path):
    folder = _folder(tmp_path, panel__yml="exclude: [U]\n")
    loaded, findings = _load(folder)
    assert findings.errors == []
    assert loaded.membership["organisation_id"].tolist() == ["N1", "N1", "N2"]
    assert loaded.organisations["organisation_id"].tolist() == ["N1", "N2"]
    assert (
        f"{folder / 'membership.csv'}: column 'organisation_id': 1 row(s) with a code "
        "meaning no organisation ['U'] (panel.yml exclude): those practices are in no "
        "organisation there" in findings.notices
    )


def test_without_an_organisations_file_they_come_from_the_membership(tmp_path):
    loaded = panel.load_panel(_folder(tmp_path))
    orgs = loaded.organisations
    assert orgs["organisation_id"].tolist() == ["N1", "N2", "U"]
    assert orgs["n_practices"].tolist() == [2, 1, 1]  # in 2021, the data's last year
    assert orgs["case_study"].tolist() == [False] * 3


def test_a_single_observation_file_reads_the_rest_from_its_folder(tmp_path):
    england = "indicator_id,year,numerator,denominator\nA1,2020,5,9\n"
    real = "tier: real\npublisher: P\nlicence: L\n"
    folder = _folder(tmp_path, panel__yml=real, england__csv=england)
    loaded = panel.load_panel(folder / "observations.csv")
    assert loaded.tier == "real"
    assert loaded.national["numerator"].tolist() == [5]
    assert loaded.observations["practice_code"].tolist() == ["P1", "P2", "P3", "P1"]


def test_a_practice_level_folder_without_membership_is_refused(tmp_path):
    folder = _folder(tmp_path, membership__csv=None)
    loaded, findings = _load(folder)
    assert findings.errors == [
        f"{folder}: no membership.csv or membership.parquet; a practice-level panel needs one "
        "(practice_code, organisation_id, joined, left; or practice_code, year, "
        "organisation_id)"
    ]
    assert loaded.membership is None and loaded.organisations is None
    assert len(loaded.observations) == 4


def test_an_organisation_level_table_is_its_own_membership(tmp_path):
    values = "organisation_id,year,indicator_id,value\nN2,2021,C1,1.5\nN1,2020,A1,0.5\n"
    folder = _folder(tmp_path, observations__csv=values)
    loaded, findings = _load(folder)
    assert findings.errors == [] and loaded.level == "organisation"
    assert (
        f"{folder / 'membership.csv'}: not used: the observations are an organisation-level "
        "table (each organisation is its own single unit)" in findings.notices
    )
    spells = loaded.membership
    assert spells["practice_code"].tolist() == ["N1", "N2"]
    assert spells["organisation_id"].tolist() == ["N1", "N2"]
    assert spells["joined"].tolist() == [2020, 2020] and spells["left"].isna().all()
    assert str(spells["joined"].dtype) == "Int64" and str(spells["left"].dtype) == "Int64"
    distribution = loaded.catalogue.set_index("indicator_id")["distribution"]
    assert distribution.to_dict() == {"A1": "continuous", "B1": "poisson", "C1": "continuous"}
    # no file at all: nothing to say about it
    loaded, findings = _load(_folder(tmp_path / "b", observations__csv=values,
                                     membership__csv=None))  # fmt: skip
    assert not any("not used" in n for n in findings.notices)


def test_failed_files_still_give_what_checks_the_parameters(tmp_path):
    bad = COUNTS.replace("P3,2020,A1,3,4", "P3,2020,A1,5,4") + "P9,x,A1,1,4\n"
    folder = _folder(tmp_path, observations__csv=bad,
                     organisations__csv="organisation_id,n_practices\nN1,0\nN2,1\n")  # fmt: skip
    loaded, findings = _load(folder)
    # the year on line 6, n_practices 0 on line 2, and U (line 5) not among the organisations
    assert [e.split(": ")[0] for e in findings.errors] == [
        str(folder / name) for name in ("observations.csv", "organisations.csv", "membership.csv")
    ]
    assert loaded.observations.columns.tolist() == ["practice_code", "year", "indicator_id"]
    assert loaded.observations["year"].tolist() == [2020, 2020, 2020, 2021]
    assert loaded.observations["year"].dtype == np.int64
    assert loaded.organisations["organisation_id"].tolist() == ["N1", "N2"]
    # raising at once: no partial tables, so no cross-check against the organisations' ids
    with pytest.raises(DataError, match=r"^data source .*: 2 problem\(s\) found"):
        panel.load_panel(folder)


def test_unchecked_observations_are_none_when_unreadable(tmp_path):
    assert panel._unchecked(tmp_path / "absent.csv", "practice_code") is None


def test_membership_that_fails_is_none_and_its_problem_is_reported(tmp_path):
    folder = _folder(tmp_path, membership__csv="practice_code,organisation_id,joined,left\n"
                     "P1,N1,2020,2019\n")  # fmt: skip
    loaded, findings = _load(folder)
    # found when read and again in the cross-check: reported once
    assert list(dict.fromkeys(findings.errors)) == [
        f"{folder / 'membership.csv'}: 'left' not after 'joined' on line(s) 2"
    ]
    assert loaded.membership["practice_code"].tolist() == ["P1"]  # kept to check the rest
    broken = _folder(tmp_path / "b", membership__csv="practice_code,organisation_id\nP1,N1\n")
    loaded, findings = _load(broken)
    assert loaded.membership is None and len(findings.errors) == 1


# --------------------------------------------------------------------------- panel_from_tables


def _catalogue() -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(CATALOGUE), dtype=str)


def test_a_panel_from_tables_at_practice_level():
    observations = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3"],
            "year": [2020, 2021, 2021],
            "indicator_id": ["A1", "A1", "A1"],
            "numerator": [1.0, 2.0, 3.0],
            "denominator": [4.0, 4.0, 4.0],
        },
        index=[7, 8, 9],
    )
    membership = pd.DataFrame(
        {"practice_code": ["P1", "P2", "P3"], "year": [2020, 2021, 2021],
         "organisation_id": ["N1", "N1", "N1"]}
    )  # fmt: skip
    made = panel.panel_from_tables(observations, _catalogue(), membership=membership, name="t")
    assert made.level == "practice" and made.tier == "user" and made.config == {}
    assert made.observations.index.tolist() == [0, 1, 2]
    assert made.membership["joined"].tolist() == [2020, 2021, 2021]
    assert made.membership["left"].tolist() == [2021, 2022, 2022]
    assert str(made.membership["left"].dtype) == "Int64"
    assert made.organisations["n_practices"].tolist() == [2]  # P2 and P3 in 2021
    assert made.notices == [
        "t membership: column 'organisation_id': 1 organisation(s) with one member practice in "
        "some year (e.g. ['N1']): their level is that practice's and their variation between "
        "members is not estimated"
    ]
    with pytest.raises(DataError) as err:
        panel.panel_from_tables(observations, _catalogue(), name="t")
    assert str(err.value) == "t: a practice-level panel needs a membership"


def test_a_panel_from_tables_of_values_at_organisation_level():
    observations = pd.DataFrame(
        {
            "organisation_id": ["N2", "N1", "N3"],
            "year": [2021, 2020, 2021],
            "indicator_id": ["A1", "A1", "A1"],
            "value": [0.5, 0.25, np.nan],
        }
    )
    organisations = pd.DataFrame({"organisation_id": ["N1", "N2", "N3"]})
    made = panel.panel_from_tables(
        observations, _catalogue(), organisations=organisations, tier="real", name="t"
    )
    assert made.level == "organisation" and made.tier == "real"
    assert made.membership["practice_code"].tolist() == ["N1", "N2", "N3"]
    assert made.membership["joined"].tolist() == [2020] * 3
    assert made.membership["left"].isna().all()
    assert made.organisations["label"].tolist() == ["N1", "N2", "N3"]
    assert made.organisations["case_study"].tolist() == [False] * 3
    assert made.observations["numerator"].tolist() == [0.5, 0.25]
    assert made.catalogue.set_index("indicator_id")["distribution"]["A1"] == "continuous"
    assert made.notices == [
        "t: column 'value': 1 blank value(s) left out on line(s) 4",
        "t: values without denominators for 1 indicator(s): analysed as continuous "
        "(compared with the spread between units; no sampling variance is known)",
        "t membership: column 'practice_code': 1 row(s) name practices with no observations "
        "(e.g. ['N3']) on line(s) 4; left out of the analysis",
    ]


def test_a_panel_from_tables_refuses_unknown_columns_and_lists_problems():
    frame = pd.DataFrame({"practice_code": ["P1"], "year": [2020], "indicator_id": ["A1"],
                          "count": [1]})  # fmt: skip
    with pytest.raises(DataError) as err:
        panel.panel_from_tables(frame, _catalogue(), name="t")
    assert str(err.value) == (
        "t: columns ['practice_code', 'year', 'indicator_id', 'count']; expected "
        "{'practice': 'practice_code', 'organisation': 'organisation_id'}"
    )
    counts = pd.DataFrame({"organisation_id": ["N1"], "year": [2020], "indicator_id": ["A1"],
                           "numerator": [5.0], "denominator": [4.0]})  # fmt: skip
    with pytest.raises(DataError) as err:
        panel.panel_from_tables(counts, _catalogue(), name="t")
    assert str(err.value) == (
        "t: 1 problem(s) found before the analysis:\n"
        "  t: numerator greater than denominator (binomial indicator) on line(s) 2"
    )


# --------------------------------------------------------------------------- writing


def test_observations_are_written_as_whole_counts_when_they_are(tmp_path):
    frame = pd.DataFrame(
        {
            "practice_code": ["P1"],
            "year": [2020],
            "indicator_id": ["A1"],
            "numerator": [3.0],
            "denominator": [4.0],
            "extra": ["dropped"],
        }
    )
    path = panel.write_observations(frame, tmp_path / "o.csv")
    assert path.read_text() == (
        "practice_code,year,indicator_id,numerator,denominator\nP1,2020,A1,3,4\n"
    )
    fractional = frame.assign(numerator=[1 / 3]).rename(
        columns={"practice_code": "organisation_id"}
    )
    gz = panel.write_observations(fractional, tmp_path / "o.csv.gz")
    assert gzip.decompress(gz.read_bytes()).decode() == (
        "organisation_id,year,indicator_id,numerator,denominator\nP1,2020,A1,0.3333333333,4\n"
    )
    first = gz.read_bytes()
    assert first[4:8] == b"\x00\x00\x00\x00"  # gzip mtime 0: the same bytes on every run
    assert panel.write_observations(fractional, tmp_path / "o.csv.gz").read_bytes() == first


def test_large_counts_stay_whole_tiny_values_keep_a_small_e_and_lines_end_in_newline(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("os.linesep", "\r\n")  # as on Windows: the file must not change
    frame = pd.DataFrame(
        {
            "practice_code": ["P1", "P2"],
            "year": [2020, 2020],
            "indicator_id": ["A1", "A1"],
            "numerator": [123456789012.0, 5.0],
            "denominator": [234567890123.0, 7.0],
        }
    )
    path = panel.write_observations(frame, tmp_path / "o.csv")
    assert path.read_bytes() == (
        b"practice_code,year,indicator_id,numerator,denominator\n"
        b"P1,2020,A1,123456789012,234567890123\nP2,2020,A1,5,7\n"
    )
    tiny = frame.assign(numerator=[1.5e-12, 0.5])
    assert panel.write_observations(tiny, tmp_path / "t.csv").read_text().splitlines()[1] == (
        "P1,2020,A1,1.5e-12,234567890123"
    )


def test_a_panel_from_tables_keeps_what_it_is_given_and_checks_it():
    observations = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3", "P4"],
            "year": [2020] * 4,
            "indicator_id": ["A1"] * 4,
            "numerator": [1.5, 2.0, 1.0, 3.0],  # counts derived from values may be fractional
            "denominator": [4.0] * 4,
        }
    )
    spells = pd.DataFrame(
        {"practice_code": ["P1", "P2", "P3", "P4"], "organisation_id": ["N1", "N1", "N2", "N2"],
         "joined": pd.array([2020] * 4, dtype="Int64"),
         "left": pd.array([pd.NA] * 4, dtype="Int64")}
    )  # fmt: skip
    organisations = pd.DataFrame(
        {"organisation_id": ["N1", "N2"], "label": ["One", "Two"], "case_study": [True, False]}
    )
    national = pd.DataFrame({"indicator_id": ["A1"], "year": [2020], "national_rate": [0.4]})
    made = panel.panel_from_tables(
        observations, _catalogue(), membership=spells, organisations=organisations,
        national=national, config={"domains": ["alpha", "beta"]},
    )  # fmt: skip
    assert made.national is national
    assert made.organisations[["label", "case_study"]].values.tolist() == [
        ["One", True], ["Two", False],
    ]  # fmt: skip
    assert made.observations["numerator"].tolist() == [1.5, 2.0, 1.0, 3.0]
    assert made.membership["practice_code"].tolist() == ["P1", "P2", "P3", "P4"]
    assert made.config == {"domains": ["alpha", "beta"]} and made.notices == []
    problems = {
        "a domain panel.yml does not declare": {"config": {"domains": ["alpha"]}},
        "an organisation the table lacks": {"organisations": organisations.iloc[:1]},
        "a spell ending after the data": {
            "membership": spells.assign(left=pd.array([2023, pd.NA, pd.NA, pd.NA], dtype="Int64"))
        },
    }
    for why, change in problems.items():
        given = {"membership": spells, "organisations": organisations} | change
        with pytest.raises(DataError) as err:
            panel.panel_from_tables(observations, _catalogue(), **given)
        assert str(err.value).startswith("observations: 1 problem(s) found"), why
