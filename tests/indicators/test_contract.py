"""The panel contract's checks beyond the schemas, each on a small frame whose problems and
messages are worked out by hand (file line = 0-based data row + 2)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.errors import CompendiumError
from analysis.indicators.sources import contract

CATALOGUE = pd.DataFrame(
    {
        "indicator_id": ["AAA01", "BBB01", "CCC01"],
        "domain": ["d1", "d1", "d2"],
        "distribution": ["binomial", "poisson", "continuous"],
        "scale": ["proportion", None, None],
        "years_available": ["2019-2020", None, "2021-2021"],
    }
)


def _observations(**columns) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P1"],
            "year": [2019, 2020, 2021],
            "indicator_id": ["AAA01", "AAA01", "BBB01"],
            "numerator": [1.0, 2.0, 3.0],
            "denominator": [4.0, 4.0, 1.0],
        }
    )
    return frame.assign(**columns)


def _error(function, *args, **kwargs) -> str:
    with pytest.raises(DataError) as err:
        function(*args, **kwargs)
    return str(err.value)


# --------------------------------------------------------------------------- Findings


def test_findings_add_prefixes_the_file_and_strips_each_problem():
    findings = contract.Findings()
    findings.add("f.csv", [" one ", "two\n"])
    assert findings.errors == ["f.csv: one", "f.csv: two"] and findings.notices == []


def test_findings_absorb_splits_a_listing_error_into_its_lines():
    findings = contract.Findings()
    findings.absorb(DataError("f.csv: 2 problem(s):\n  line 2 bad\n\n  line 3 bad"))
    findings.absorb(ValueError("3 parameter problem(s):\n  a\n  b"))
    findings.absorb(DataError("g.csv: one line only"))
    findings.absorb(DataError("g.csv: not a listing\n  but two lines"))
    findings.absorb(DataError("f.csv: 1 problem(s):"))
    findings.absorb(ValueError(""))
    findings.absorb(DataError("data source x: 1 problem(s) found before the analysis:\n  c"))
    assert findings.errors == [
        "f.csv: line 2 bad",
        "f.csv: line 3 bad",
        "a",
        "b",
        "g.csv: one line only",
        "g.csv: not a listing but two lines",
        "f.csv: 1 problem(s):",
        "ValueError",
        "data source x: c",
    ]


def test_findings_attempt_returns_the_result_or_records_the_error():
    findings = contract.Findings()
    assert findings.attempt(lambda a, b=0: a + b, 1, b=2) == 3
    assert findings.attempt(int, "x") is None
    assert findings.attempt(_raise, CompendiumError("h.csv: broken")) is None
    assert findings.errors == ["invalid literal for int() with base 10: 'x'", "h.csv: broken"]
    with pytest.raises(KeyError):
        findings.attempt(_raise, KeyError("not a data problem"))


def _raise(err):
    raise err


def test_findings_raise_every_distinct_error_once_or_nothing():
    findings = contract.Findings()
    findings.raise_errors("data source x")  # no errors: nothing raised
    findings.errors += ["a", "b", "a"]
    assert _error(findings.raise_errors, "data source x") == (
        "data source x: 2 problem(s) found before the analysis:\n  a\n  b"
    )


# --------------------------------------------------------------------------- lines


def test_describe_lines_lists_ten_lines_then_counts_the_rest():
    frame = pd.DataFrame({"x": range(13)}, index=range(13))
    assert contract.describe_lines(frame, frame["x"].isin([0, 5])) == "line(s) 2, 7"
    assert contract.describe_lines(frame, np.ones(13, bool)) == (
        "line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 3 more"
    )
    assert contract.describe_lines(frame, np.arange(13) < 10) == (
        "line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
    )
    # a 0/1 mask marks rows, as True/False does; it is not a list of positions
    assert contract.describe_lines(frame, (np.arange(13) % 5 == 0).astype(int)) == (
        "line(s) 2, 7, 12"
    )


def test_raise_problems_names_the_file_and_counts():
    contract.raise_problems([], "f")
    assert _error(contract.raise_problems, ["a", "b"], "f") == "f: 2 problem(s):\n  a\n  b"


# --------------------------------------------------------------------------- catalogue


def test_a_clean_catalogue_has_no_problems():
    assert contract.check_catalogue(CATALOGUE) == []
    assert contract.check_catalogue(CATALOGUE, domains=["d1", "d2"]) == []
    # pandas' nullable dtypes (a catalogue made with convert_dtypes): a missing scale is
    # not a percentage
    assert contract.check_catalogue(CATALOGUE.convert_dtypes()) == []
    odd = CATALOGUE.assign(scale=["proportion", "percent", None]).convert_dtypes()
    assert contract.check_catalogue(odd) == [
        "line 3, column 'scale': 'percent' needs a binomial indicator (a proportion); this one "
        "is 'poisson'"
    ]


def test_catalogue_id_clashes_unknown_domains_and_scales_are_named_by_line():
    catalogue = pd.DataFrame(
        {
            "indicator_id": ["X1", "X1", "d9", "Y1", "Z1", "X1"],
            "domain": ["d1", "d1", "d1", "d9", "d1", "d2"],
            "distribution": ["binomial", "binomial", "poisson", "poisson", "binomial", "poisson"],
            "scale": [None, "percent", None, "percent", "percent", None],
        }
    )
    assert contract.check_catalogue(catalogue, domains=["d1"]) == [
        "column 'indicator_id': id clash, 'X1' on lines [2, 3, 7]; expected one row per indicator",
        "line 4, column 'indicator_id': id clash, 'd9' is also a domain name (the indicators "
        "parameter takes both); expected a distinct id",
        "line 5, column 'domain': unknown domain 'd9'; expected one of ['d1'] (the domains "
        "panel.yml declares)",
        "line 7, column 'domain': unknown domain 'd2'; expected one of ['d1'] (the domains "
        "panel.yml declares)",
        "line 5, column 'scale': 'percent' needs a binomial indicator (a proportion); this one "
        "is 'poisson'",
    ]


def test_a_repeated_id_with_year_columns_is_named_as_a_clash_not_a_crash():
    catalogue = pd.DataFrame(
        {
            "indicator_id": ["X1", "X1"],
            "domain": ["d1", "d1"],
            "distribution": ["binomial", "binomial"],
            "years_available": ["2015-2018", "2016-2019"],
            "single_year": [None, 2015],
        }
    )
    assert contract.check_catalogue(catalogue) == [
        "column 'indicator_id': id clash, 'X1' on lines [2, 3]; expected one row per indicator",
    ]


def test_a_single_year_outside_its_indicators_years_is_named_by_line():
    catalogue = pd.DataFrame(
        {
            "indicator_id": ["A1", "A2", "A3", "A4", "A5", "A6"],
            "domain": ["d1"] * 6,
            "distribution": ["binomial"] * 6,
            "single_year": pd.array([2018, 2021, 2020, pd.NA, 2022, 2019], dtype="Int64"),
            "years_available": ["2019-2021", None, "2020-2020", "2019-2021", "2019-2021",
                                "2019-2021"],
        }
    )  # fmt: skip
    assert contract.check_catalogue(catalogue) == [
        "line 2, column 'single_year': outside years_available 2019-2021",
        "line 6, column 'single_year': outside years_available 2019-2021",
    ]
    assert contract.check_catalogue(catalogue.drop(columns="years_available")) == []


def test_an_id_that_is_a_declared_domain_clashes_even_when_no_row_uses_it():
    catalogue = CATALOGUE.assign(indicator_id=["AAA01", "d3", "CCC01"])
    assert contract.check_catalogue(catalogue) == []
    assert contract.check_catalogue(catalogue, domains=["d1", "d2", "d3"]) == [
        "line 3, column 'indicator_id': id clash, 'd3' is also a domain name (the indicators "
        "parameter takes both); expected a distinct id"
    ]


def test_catalogue_problems_of_one_kind_stop_at_ten():
    n = 12
    catalogue = pd.DataFrame(
        {
            "indicator_id": [f"I{i}" for i in range(n)],
            "domain": ["zz"] * n,
            "distribution": ["poisson"] * n,
            "scale": ["percent"] * n,
        }
    )
    problems = contract.check_catalogue(catalogue, domains=["d1"])
    assert len(problems) == 20
    assert problems[9].startswith("line 11, column 'domain'")
    assert problems[19].startswith("line 11, column 'scale'")


def test_year_window_gives_each_rows_first_and_last_year():
    first, last = contract.year_window(pd.Series(["CCC01", "AAA01", "BBB01", "CCC01"]), CATALOGUE)
    np.testing.assert_array_equal(first, [2021, 2019, 1900, 2021])
    np.testing.assert_array_equal(last, [2021, 2020, 2100, 2021])
    assert first.dtype == last.dtype == np.float64  # floats, for the NaN of an unknown id
    unknown = contract.year_window(pd.Series(["ZZZ99"]), CATALOGUE)
    assert np.isnan(unknown[0]).all() and np.isnan(unknown[1]).all()
    plain = contract.year_window(pd.Series(["AAA01"]), CATALOGUE.drop(columns="years_available"))
    assert np.isnan(plain[0]).all() and np.isnan(plain[1]).all()


# --------------------------------------------------------------------------- values


def test_values_with_denominators_become_counts_and_percentages_proportions():
    catalogue = CATALOGUE.assign(scale=["percent", None, None])
    frame = pd.DataFrame(
        {
            "organisation_id": ["N1", "N2", "N3"],
            "year": [2019, 2019, 2019],
            "indicator_id": ["AAA01", "BBB01", "CCC01"],
            "value": [25.0, 2.5, -3.0],
            "denominator": [8, 2, 5],
        }
    )
    out, problems = contract.values_to_counts(frame, catalogue, "value_denominator")
    assert problems == []
    assert out.columns.tolist() == [
        "organisation_id", "year", "indicator_id", "numerator", "denominator",
    ]  # fmt: skip
    assert out["numerator"].tolist() == [2.0, 5.0, -15.0]
    assert out["denominator"].tolist() == [8.0, 2.0, 5.0]
    # denominators held as Python objects (a frame built by hand) give float counts too
    boxed, _ = contract.values_to_counts(
        frame.astype({"denominator": object}), catalogue, "value_denominator"
    )
    assert boxed["numerator"].dtype == boxed["denominator"].dtype == np.float64
    assert boxed["numerator"].tolist() == [2.0, 5.0, -15.0]
    alone, _ = contract.values_to_counts(frame.drop(columns="denominator"), catalogue, "value")
    assert alone["numerator"].tolist() == [0.25, 2.5, -3.0]
    assert alone["denominator"].tolist() == [1.0, 1.0, 1.0]


def test_values_out_of_range_are_named_and_left_out():
    catalogue = pd.DataFrame(
        {
            "indicator_id": ["AAA01", "PCT01", "BBB01"],
            "distribution": ["binomial", "binomial", "poisson"],
            "scale": [None, "percent", None],
        }
    )
    frame = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8"],
            "year": [2020] * 8,
            "indicator_id": ["AAA01"] * 3 + ["PCT01"] * 3 + ["BBB01"] * 2,
            "value": [0.0, 1.0, 1.5, 100.0, 101.0, -1.0, 7.0, -0.5],
        }
    )
    out, problems = contract.values_to_counts(frame, catalogue, "value")
    assert problems == [
        "column 'value': a proportion outside [0, 1] (a binomial indicator's value; set scale: "
        "percent in the catalogue for percentages) on line(s) 4 (values [1.5])",
        "column 'value': a percentage above 100 or below 0 (scale: percent) on line(s) 6, 7 "
        "(values [101.0, -1.0])",
        "column 'value': a negative rate (Poisson indicator) on line(s) 9 (values [-0.5])",
    ]
    assert out["practice_code"].tolist() == ["P1", "P2", "P4", "P7"]
    assert out["numerator"].tolist() == [0.0, 1.0, 1.0, 7.0]
    below = frame.assign(value=[-0.1, 0.5, 0.5, 50.0, 50.0, 50.0, 0.0, 0.0])
    assert contract.values_to_counts(below, catalogue, "value")[1] == [
        "column 'value': a proportion outside [0, 1] (a binomial indicator's value; set scale: "
        "percent in the catalogue for percentages) on line(s) 2 (values [-0.1])"
    ]


def test_without_a_scale_column_no_value_is_a_percentage():
    catalogue = pd.DataFrame({"indicator_id": ["AAA01"], "distribution": ["binomial"]})
    frame = pd.DataFrame(
        {"practice_code": ["P1"], "year": [2020], "indicator_id": ["AAA01"], "value": [50.0]}
    )
    out, problems = contract.values_to_counts(frame, catalogue, "value")
    assert out.empty and len(problems) == 1 and "a proportion outside [0, 1]" in problems[0]


# --------------------------------------------------------------------------- observations


def test_valid_observations_come_back_typed():
    frame = _observations(year=["2019", "2020", "2021"])
    out = contract.validate_observations(frame, CATALOGUE, "f")
    assert out["year"].tolist() == [2019, 2020, 2021] and out["year"].dtype == np.int64
    assert out["numerator"].dtype == np.float64


def test_missing_counts_are_named_before_the_schema_runs():
    frame = _observations(numerator=[1.0, None, "x"], denominator=[None, 4.0, 1.0])
    assert _error(contract.validate_observations, frame, CATALOGUE, "f") == (
        "f: 2 problem(s):\n  column 'numerator': missing or not a number on line(s) 3, 4\n"
        "  column 'denominator': missing or not a number on line(s) 2"
    )


def test_schema_failures_name_column_check_lines_and_values():
    frame = _observations(practice_code=["P1", "P-2", "P1"], denominator=[4.0, 0.0, 1.0])
    assert _error(contract.validate_observations, frame, CATALOGUE, "f") == (
        "f: 2 problem(s):\n"
        "  column 'practice_code': str_matches('^[A-Za-z0-9]{1,20}$') fails on line(s) 3 "
        "(values ['P-2'])\n"
        "  column 'denominator': greater_than(0) fails on line(s) 3 (values ['0.0'])"
    )


def test_counts_must_be_whole_numbers_of_at_least_one():
    frame = _observations(numerator=[1.5, 2.0, np.inf], denominator=[4.0, 0.5, 2.5])
    assert _error(contract.validate_observations, frame, CATALOGUE, "f") == (
        "f: 4 problem(s):\n"
        "  column 'numerator': not a finite whole number (a count) on line(s) 2, 4\n"
        "  column 'denominator': not a finite whole number (a count) on line(s) 3, 4\n"
        "  column 'denominator': below 1 (a count of at least one) on line(s) 3\n"
        "  numerator greater than denominator (binomial indicator) on line(s) 3"
    )


def test_derived_counts_need_only_be_finite_and_positive():
    fractional = _observations(numerator=[1.5, 0.25, 3.0], denominator=[4.0, 0.5, 2.5])
    out = contract.validate_observations(fractional, CATALOGUE, "f", whole_counts=False)
    assert out["numerator"].tolist() == [1.5, 0.25, 3.0]
    infinite = _observations(numerator=[np.inf, 0.5, 3.0], denominator=[4.0, 0.5, np.inf])
    assert _error(contract.validate_observations, infinite, CATALOGUE, "f", whole_counts=False) == (
        "f: 3 problem(s):\n"
        "  column 'numerator': not a finite number on line(s) 2\n"
        "  column 'denominator': not a finite number on line(s) 4\n"
        "  numerator greater than denominator (binomial indicator) on line(s) 2"
    )


def test_unknown_ids_years_outside_their_window_and_duplicates_are_named():
    frame = pd.DataFrame(
        {
            "organisation_id": ["N1", "N1", "N2", "N1", "N3"],
            "year": [2018, 2021, 2021, 2018, 2021],
            "indicator_id": ["AAA01", "ZZZ01", "CCC01", "AAA01", "YYY01"],
            "numerator": [1.0, 1.0, 1.0, 5.0, 1.0],
            "denominator": [4.0, 4.0, 4.0, 4.0, 4.0],
        }
    )
    assert _error(
        contract.validate_observations, frame, CATALOGUE, "f", unit="organisation_id"
    ) == (
        "f: 4 problem(s):\n"
        "  unknown indicator id(s) ['YYY01', 'ZZZ01'] (not in the catalogue) on line(s) 3, 6\n"
        "  column 'year': outside the indicator's years_available on line(s) 2, 5\n"
        "  numerator greater than denominator (binomial indicator) on line(s) 5\n"
        "  duplicated organisation-year-indicator rows ['organisation_id', 'year', "
        "'indicator_id'] on line(s) 2, 5"
    )


def test_a_year_after_the_window_is_outside_and_its_ends_are_inside():
    frame = _observations(indicator_id=["AAA01"] * 3, denominator=[4.0] * 3)  # 2019-2020
    assert _error(contract.validate_observations, frame, CATALOGUE, "f") == (
        "f: 1 problem(s):\n  column 'year': outside the indicator's years_available on line(s) 4"
    )


def test_not_a_count_flags_fractions_and_infinities():
    values = np.array([0.0, 3.0, 2.5, np.inf, -np.inf, np.nan, -2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an infinity's remainder is checked silently
        flagged = contract._not_a_count(values)
    assert flagged.tolist() == [False, False, True, True, True, True, False]


def test_every_copy_of_a_practice_year_indicator_is_named_under_the_default_name():
    frame = pd.DataFrame(
        {
            "practice_code": ["P1", "P1", "P2", "P1", "P1", "P2"],
            "year": [2019, 2020, 2019, 2019, 2019, 2019],
            "indicator_id": ["AAA01", "AAA01", "AAA01", "BBB01", "AAA01", "BBB01"],
            "numerator": 1.0,
            "denominator": 4.0,
        }
    )
    assert _error(contract.validate_observations, frame, CATALOGUE) == (
        "observations: 1 problem(s):\n  duplicated practice-year-indicator rows "
        "['practice_code', 'year', 'indicator_id'] on line(s) 2, 6"
    )


def test_schema_problems_list_at_most_ten_lines_and_three_values():
    cases = pd.DataFrame(
        {
            "column": ["x"] * 12 + [None],
            "check": ["ge(0)"] * 12 + ["column_in_schema"],
            "index": [*range(12), None],
            "failure_case": [-i for i in range(12)] + ["extra"],
        }
    )
    assert contract._schema_problems(cases) == [
        "column 'x': ge(0) fails on line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more "
        "(values ['0', '-1', '-2'])",
        # a table-wide failure (no column, no line) is kept, not dropped by the grouping
        "column nan: column_in_schema fails on line(s)  (values ['extra'])",
    ]


# --------------------------------------------------------------------------- membership


def test_year_rows_become_one_year_spells_keeping_the_file_lines():
    rows = pd.DataFrame(
        {
            "practice_code": ["P1", "P2"],
            "year": [2020, 2021],
            "organisation_id": ["N1", "N2"],
            "list_size": [10, None],
        },
        index=[3, 4],
    )
    spells = contract.year_rows_to_spells(rows)
    assert spells.columns.tolist() == [
        "practice_code", "organisation_id", "joined", "left", "list_size",
    ]  # fmt: skip
    assert spells.index.tolist() == [3, 4]
    assert spells["joined"].tolist() == [2020, 2021] and spells["left"].tolist() == [2021, 2022]
    assert str(spells["joined"].dtype) == "Int64" and str(spells["left"].dtype) == "Int64"
    plain = contract.year_rows_to_spells(rows.drop(columns="list_size"))
    assert plain.columns.tolist() == ["practice_code", "organisation_id", "joined", "left"]


def _spells(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["practice_code", "organisation_id", "joined", "left"])
    return frame.astype({"joined": "Int64", "left": "Int64"})


def test_spells_that_end_before_they_start_or_too_late_are_named():
    spells = _spells(
        [("P1", "N1", 2020, 2020), ("P2", "N1", 2020, 2023), ("P3", "N1", 2020, 2022),
         ("P4", "N1", 2021, None), ("P5", "N1", 2021, 2019)]
    )  # fmt: skip
    assert _error(contract.validate_membership, spells, name="m", years=[2020, 2021]) == (
        "m: 2 problem(s):\n"
        "  line 3, column 'left': 2023 is more than a year after the data's last year 2021\n"
        "  'left' not after 'joined' on line(s) 2, 6"
    )
    assert contract.validate_membership(spells.iloc[1:4], years=[2020, 2022]) is not None
    assert contract.validate_membership(spells.iloc[1:4], years=[]) is not None


def test_overlapping_spells_of_a_practice_name_both_lines_and_the_first_shared_year():
    spells = _spells(
        [("P1", "N2", 2021, None), ("P1", "N1", 2019, 2022), ("P2", "N1", 2019, 2021),
         ("P2", "N2", 2021, None), ("P3", "N1", 2019, None), ("P3", "N1", 2020, 2021)]
    )  # fmt: skip
    assert contract._overlaps(spells) == [
        "column 'organisation_id': practice 'P1' is in N1 (line 3) and N2 (line 2) in "
        "overlapping years (from 2021); expected one organisation per practice and year",
        "column 'organisation_id': practice 'P3' is in N1 (line 6) and N1 (line 7) in "
        "overlapping years (from 2020); expected one organisation per practice and year",
    ]


def test_an_open_spell_overlaps_one_that_starts_in_the_last_year_allowed():
    spells = _spells([("P1", "N1", 2000, None), ("P1", "N2", 2100, None)])
    assert contract._overlaps(spells) == [
        "column 'organisation_id': practice 'P1' is in N1 (line 2) and N2 (line 3) in "
        "overlapping years (from 2100); expected one organisation per practice and year"
    ]


def test_overlaps_on_the_same_start_year_are_ordered_by_line():
    spells = _spells([("P1", "N2", 2020, None), ("P1", "N1", 2020, None)])
    assert contract._overlaps(spells) == [
        "column 'organisation_id': practice 'P1' is in N2 (line 2) and N1 (line 3) in "
        "overlapping years (from 2020); expected one organisation per practice and year"
    ]


def test_membership_problems_stop_after_eleven():
    spells = _spells([(f"P{i}", "N1", 2020, 2019) for i in range(3)]
                     + [("Q1", "N1", 2000 + i, None) for i in range(13)])  # fmt: skip
    message = _error(contract.validate_membership, spells, name="m")
    lines = message.splitlines()
    assert lines[0] == "m: 11 problem(s):"
    assert lines[1] == "  'left' not after 'joined' on line(s) 2, 3, 4"
    assert len(lines) == 12


def test_unknown_organisations_and_absent_practices():
    spells = _spells([("P1", "N1", 2020, None), ("P2", "N9", 2020, None),
                      ("P3", "N1", 2020, None), ("P3", "N1", 2019, 2020)])  # fmt: skip
    organisations = pd.DataFrame({"organisation_id": ["N1"]})
    assert _error(contract.validate_membership, spells, organisations, name="m") == (
        "m: 1 problem(s):\n  organisation_id not in the organisations table on line(s) 3"
    )
    notices: list[str] = []
    known = pd.DataFrame({"organisation_id": ["N1", "N9"]})
    out = contract.validate_membership(spells, known, pd.Series(["P1"]), name="m", notices=notices)
    assert out is spells
    assert notices == [
        "m: column 'practice_code': 3 row(s) name practices with no observations (e.g. "
        "['P2', 'P3']) on line(s) 3, 4, 5; left out of the analysis"
    ]
    contract.validate_membership(spells, known, pd.Series(["P1"]), name="m")  # no notices list
    many = _spells([(f"P{i}", "N1", 2020, None) for i in range(1, 6)])
    contract.validate_membership(many, known, pd.Series(["P1"]), name="m", notices=notices)
    assert notices[-1].startswith(
        "m: column 'practice_code': 4 row(s) name practices with no observations (e.g. "
        "['P2', 'P3', 'P4']) on line(s) 3, 4, 5, 6;"
    )


def test_percentages_at_their_bounds_are_accepted_and_four_bad_values_show_three():
    catalogue = pd.DataFrame(
        {
            "indicator_id": ["PCT01", "AAA01"],
            "distribution": ["binomial", "binomial"],
            "scale": pd.array(["percent", pd.NA], dtype="string"),  # a blank scale: proportion
        }
    )
    frame = pd.DataFrame(
        {
            "practice_code": [f"P{i}" for i in range(8)],
            "year": [2020] * 8,
            "indicator_id": ["PCT01"] * 4 + ["AAA01"] * 4,
            "value": ["0", "0.5", "100", "50", "2", "3", "4", "5"],  # text, as a reader gives
            "denominator": [10, 10, 10, 10, 1, 1, 1, 1],
        }
    )
    out, problems = contract.values_to_counts(frame, catalogue, "value_denominator")
    assert problems == [
        "column 'value': a proportion outside [0, 1] (a binomial indicator's value; set scale: "
        "percent in the catalogue for percentages) on line(s) 6, 7, 8, 9 (values "
        "['2', '3', '4'])"
    ]
    assert out["numerator"].tolist() == [0.0, 0.05, 10.0, 5.0]
    assert out["denominator"].dtype == np.float64 and out["numerator"].dtype == np.float64


def test_schema_problems_keep_the_order_found_and_count_exactly_ten():
    cases = pd.DataFrame(
        {
            "column": ["b"] * 10 + ["a"],
            "check": ["ge(0)"] * 10 + ["ge(1)"],
            "index": [*range(10), 3],
            "failure_case": [-1] * 11,
        }
    )
    assert contract._schema_problems(cases) == [
        "column 'b': ge(0) fails on line(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 (values "
        "['-1', '-1', '-1'])",
        "column 'a': ge(1) fails on line(s) 5 (values ['-1'])",
    ]


def test_membership_problems_are_named_membership_by_default():
    spells = _spells([("P1", "N1", 2020, 2019)])
    assert _error(contract.validate_membership, spells) == (
        "membership: 1 problem(s):\n  'left' not after 'joined' on line(s) 2"
    )
