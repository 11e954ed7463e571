"""Membership spells into practice-year members, checked against a brute-force reading of
the spell rule ``joined <= year < left`` (``left`` missing: still a member)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.indicators.sources.contract import MAX_YEAR
from analysis.indicators.sources.spells import (
    attach_organisation,
    fixed_membership,
    members_in_year,
    membership_by_year,
)


def _spells(rows: list[tuple[str, str, int, int | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["practice_code", "organisation_id", "joined", "left"])
    frame["joined"] = frame["joined"].astype("Int64")
    frame["left"] = pd.array(frame["left"].tolist(), dtype="Int64")
    return frame


# Deliberately out of order: the functions' sorting is part of what is checked.
SPELLS = _spells(
    [
        ("P3", "B", 2012, None),
        ("P1", "B", 2014, None),
        ("P1", "A", 2010, 2014),
        ("P2", "A", 2011, 2013),
        ("P4", "C", 2016, 2017),
        ("P5", "A", MAX_YEAR, None),
    ]
)


def _brute(spells: pd.DataFrame, year: int) -> list[tuple[str, str]]:
    """The members of ``year``, read spell by spell without pandas' vector operations."""
    found = []
    for practice, organisation, joined, left in spells.itertuples(index=False):
        if joined <= year and (pd.isna(left) or year < left):
            found.append((organisation, practice))
    return [(p, o) for o, p in sorted(found)]


@pytest.mark.parametrize("year", range(2009, 2019))
def test_members_of_a_year_follow_the_spell_rule_sorted_by_organisation_then_practice(year):
    out = members_in_year(SPELLS, year)
    assert list(out.columns) == ["practice_code", "organisation_id"]
    assert list(out.itertuples(index=False, name=None)) == _brute(SPELLS, year)
    assert list(out.index) == list(range(len(out)))


def test_a_spell_counts_from_its_first_year_and_stops_before_the_year_it_left():
    assert members_in_year(SPELLS, 2013)["practice_code"].tolist() == ["P1", "P3"]
    assert ("P2", "A") not in members_in_year(SPELLS, 2013).itertuples(index=False, name=None)
    assert members_in_year(SPELLS, 2011)["practice_code"].tolist() == ["P1", "P2"]
    assert members_in_year(SPELLS, 2016)["organisation_id"].tolist() == ["B", "B", "C"]
    assert "P4" not in members_in_year(SPELLS, 2017)["practice_code"].tolist()


def test_an_open_spell_lasts_to_the_last_year_the_contract_allows():
    assert members_in_year(SPELLS, MAX_YEAR)["practice_code"].tolist() == ["P5", "P1", "P3"]
    # Beyond the contract's last year no spell runs, open or not.
    assert members_in_year(SPELLS, MAX_YEAR + 1).empty


def test_membership_by_year_lists_every_member_practice_year_sorted_by_practice_then_year():
    years = (2010, 2012, 2013, 2016)
    out = membership_by_year(SPELLS, years)
    assert list(out.columns) == ["practice_code", "year", "organisation_id"]
    expected = sorted((p, y, o) for y in years for p, o in _brute(SPELLS, y))
    assert list(out.itertuples(index=False, name=None)) == expected
    assert list(out.index) == list(range(len(out)))


def test_fixed_membership_holds_each_practice_in_its_organisation_of_the_year_throughout():
    years = (2012, 2013, 2014, 2015)
    fixed = fixed_membership(SPELLS, 2014, years)
    assert list(fixed.columns) == ["practice_code", "organisation_id", "joined", "left"]
    assert list(fixed[["practice_code", "organisation_id"]].itertuples(index=False, name=None)) == (
        _brute(SPELLS, 2014)
    )
    assert str(fixed["joined"].dtype) == "Int64" and str(fixed["left"].dtype) == "Int64"
    assert (fixed["joined"] == 2012).all() and fixed["left"].isna().all()
    for year in years:
        assert list(members_in_year(fixed, year).itertuples(index=False, name=None)) == (
            _brute(SPELLS, 2014)
        )


def test_fixed_membership_starts_at_the_chosen_year_when_it_precedes_the_years_analysed():
    fixed = fixed_membership(SPELLS, 2012, (2014, 2015))
    assert (fixed["joined"] == 2012).all()


def test_fixed_spells_are_int64_whatever_integer_type_the_years_come_as():
    # Years read from a file may be unsigned (a Parquet uint16 column); the spells stay Int64.
    years = tuple(np.arange(2010, 2016, dtype=np.uint16))
    fixed = fixed_membership(SPELLS, np.uint16(2014), years)
    assert str(fixed["joined"].dtype) == "Int64" and str(fixed["left"].dtype) == "Int64"
    assert fixed["joined"].tolist() == [2010, 2010]


def test_a_year_without_members_is_refused_naming_the_parameter_and_the_years_that_have_some():
    with pytest.raises(ValueError) as raised:
        fixed_membership(SPELLS, 2009, (2008, 2011, 2012))
    assert str(raised.value) == (
        "parameter 'membership_year': no practice is a member of an organisation in 2009; "
        "years with members: [2010, 2011, 2012]"
    )


def test_each_observation_gets_its_organisation_of_that_year_or_none():
    observations = pd.DataFrame(
        {
            "practice_code": ["P1", "P1", "P2", "P9", "P4"],
            "year": [2013, 2014, 2013, 2013, 2016],
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    out = attach_organisation(observations, SPELLS)
    assert list(out.columns) == ["practice_code", "year", "value", "organisation_id"]
    assert out["value"].tolist() == observations["value"].tolist()
    got = [None if pd.isna(o) else o for o in out["organisation_id"]]
    assert got == ["A", "B", None, None, "C"]


def test_a_practice_in_two_organisations_in_one_year_is_refused_when_attaching():
    overlapping = pd.concat([SPELLS, _spells([("P1", "C", 2013, 2015)])], ignore_index=True)
    observations = pd.DataFrame({"practice_code": ["P1"], "year": np.array([2013])})
    with pytest.raises(pd.errors.MergeError):
        attach_organisation(observations, overlapping)
