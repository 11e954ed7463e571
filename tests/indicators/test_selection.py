"""Which organisations, indicators and years an analysis takes: :func:`select` and
:func:`prepare` on small hand-made panels, expected tables written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.indicators.methods import selection as sel

CATALOGUE = pd.DataFrame(
    {
        "indicator_id": ["A1", "A2", "B1", "C1"],
        "domain": ["alpha", "alpha", "beta", "gamma"],
        "distribution": ["binomial", "binomial", "poisson", "continuous"],
        "higher_is_better": [True, False, True, True],
    }
)
OBSERVATIONS = pd.DataFrame(
    {
        "practice_code": ["P2", "P1", "P1", "P2", "P3", "P1"],
        "year": [2020, 2020, 2021, 2021, 2021, 2022],
        "indicator_id": ["A1", "A1", "A1", "B1", "A2", "A2"],
        "numerator": [1, 2, 3, 4, 5, 6],
        "denominator": [10, 10, 10, 8, 20, 12],
    }
)
ORGS = pd.DataFrame({"organisation_id": ["N2", "N1"]})
MEMBERSHIP = pd.DataFrame(
    {
        "practice_code": ["P1", "P2", "P2", "P3"],
        "organisation_id": ["N1", "N1", "N2", "N2"],
        "joined": pd.array([2020, 2020, 2021, 2022], dtype="Int64"),
        "left": pd.array([pd.NA, 2021, pd.NA, pd.NA], dtype="Int64"),
    }
)


def _select(**kwargs):
    return sel.select(OBSERVATIONS, CATALOGUE, ORGS, membership=MEMBERSHIP, **kwargs)


def _problem(**kwargs) -> str:
    with pytest.raises(ValueError) as err:
        _select(**kwargs)
    return str(err.value)


# --------------------------------------------------------------------------- select


def test_empty_parameters_take_everything_in_the_data():
    chosen = _select()
    assert chosen == sel.Selection(
        organisations=["N1", "N2"],
        indicators=["A1", "A2", "B1"],  # catalogue order; C1 has no rows
        years=[2020, 2021, 2022],
        baseline_year=2020,
        alpha=0.05,
        overdispersion="additive",
        membership_year=0,
    )
    assert type(chosen.alpha) is float and type(chosen.membership_year) is int


def test_a_single_value_is_a_list_of_one_and_domains_expand_to_their_indicators():
    chosen = _select(
        organisations="N2",
        indicators="alpha",
        years=np.int64(2021),
        baseline_year=np.int64(2021),
        alpha=np.float64(0.1),
        overdispersion="none",
        membership_year=np.int64(2021),
    )
    assert chosen.organisations == ["N2"] and chosen.indicators == ["A1", "A2"]
    assert chosen.years == [2021] and chosen.baseline_year == 2021
    assert (chosen.alpha, chosen.overdispersion, chosen.membership_year) == (0.1, "none", 2021)
    assert type(chosen.alpha) is float and type(chosen.membership_year) is int
    both = _select(organisations=["N1", "N1", "N2"], indicators=["B1", "A1"], years=[2022, 2020])
    assert both.organisations == ["N1", "N2"]
    assert both.indicators == ["A1", "B1"] and both.years == [2020, 2022]


def test_without_an_organisations_table_the_named_ones_are_taken_as_given():
    chosen = sel.select(OBSERVATIONS, CATALOGUE, None, organisations=["Z9", "Z1"])
    assert chosen.organisations == ["Z1", "Z9"]
    assert sel.select(OBSERVATIONS, CATALOGUE, None).organisations == []


def test_unknown_organisations_list_at_most_twenty_known_ones():
    many = pd.DataFrame({"organisation_id": [f"N{i:02d}" for i in range(25)]})
    with pytest.raises(ValueError) as err:
        sel.select(OBSERVATIONS, CATALOGUE, many, organisations=["N01", "X", "Y"])
    known = ", ".join(f"N{i:02d}" for i in range(20))
    expected = f"parameter 'organisations': unknown value(s) ['X', 'Y']; expected {known}"
    assert str(err.value) == expected


def test_unknown_indicators_list_the_domains_then_the_ids():
    assert _problem(indicators=["A1", "zeta"]) == (
        "parameter 'indicators': unknown value(s) ['zeta']; expected alpha, beta, gamma, "
        "A1, A2, B1, C1"
    )


def test_an_indicator_without_data_is_named_and_a_domain_without_data_selects_nothing():
    assert _problem(indicators=["C1", "A1"]) == (
        "parameter 'indicators': ['C1'] have no values in the data (every value is missing or "
        "the indicator has no rows)"
    )
    assert _problem(indicators=["gamma"]) == (
        "parameter 'indicators': ['gamma'] select no indicator with data"
    )


def test_years_outside_the_data_and_a_baseline_outside_the_selection():
    assert _problem(years=[2019, 2020, 2030]) == (
        "parameter 'years': [2019, 2030] outside the data, which has years 2020-2022"
    )
    assert _problem(years=[2021, 2022], baseline_year=2020) == (
        "parameter 'baseline_year': 2020 is not one of the selected years [2021, 2022] "
        "(0: the first)"
    )
    repeated = sel.select(OBSERVATIONS, CATALOGUE, ORGS, years=[2021, 2021])
    assert repeated.years == [2021] and repeated.baseline_year == 2021
    assert _select(baseline_year=0, years=[2022, 2021]).baseline_year == 2021
    assert _select(baseline_year=2022).baseline_year == 2022


@pytest.mark.parametrize("alpha", [0, 0.5, -0.1, 0.7])
def test_alpha_must_lie_strictly_between_0_and_a_half(alpha):
    assert _problem(alpha=alpha) == f"parameter 'alpha': {alpha} is not in (0, 0.5)"


def test_alpha_just_inside_its_bounds_is_accepted():
    assert _select(alpha=0.4999).alpha == 0.4999
    assert _select(alpha=1e-9).alpha == 1e-9


def test_an_unknown_overdispersion_lists_the_choices():
    assert _problem(overdispersion="big") == (
        "parameter 'overdispersion': unknown value(s) ['big']; expected none, multiplicative, "
        "additive"
    )
    for choice in sel.OVERDISPERSION:
        assert _select(overdispersion=choice).overdispersion == choice


def test_a_membership_year_needs_members_in_the_data_years():
    late = MEMBERSHIP.assign(joined=pd.array([2021, 2021, 2021, 2022], dtype="Int64"))
    with pytest.raises(ValueError) as err:
        sel.select(OBSERVATIONS, CATALOGUE, ORGS, membership=late, membership_year=2020)
    assert str(err.value) == (
        "parameter 'membership_year': 2020 has no members in the data's membership; years "
        "with members: [2021, 2022] (0: each year's own)"
    )
    # without a membership there is nothing to check it against
    assert sel.select(OBSERVATIONS, CATALOGUE, ORGS, membership_year=2030).membership_year == 2030


def test_every_problem_is_listed_in_one_error():
    assert _problem(organisations=["X"], alpha=1, overdispersion="big") == (
        "3 parameter problem(s):\n"
        "  parameter 'organisations': unknown value(s) ['X']; expected N1, N2\n"
        "  parameter 'alpha': 1 is not in (0, 0.5)\n"
        "  parameter 'overdispersion': unknown value(s) ['big']; expected none, multiplicative, "
        "additive"
    )


# --------------------------------------------------------------------------- method options


def test_method_options_are_set_and_unknown_ones_named():
    base = _select()
    changed = sel.with_methods(base, tau2_method="reml", bh_family="domain")
    assert (changed.tau2_method, changed.bh_family) == ("reml", "domain")
    assert changed.comparator == "england" and changed.indicators == base.indicators
    assert sel.with_methods(base) == base
    with pytest.raises(ValueError) as err:
        sel.with_methods(base, flavour="x")
    assert str(err.value) == (
        "parameter 'method option': unknown value(s) ['flavour']; expected "
        + ", ".join(sel.METHOD_CHOICES)
    )
    with pytest.raises(ValueError) as err:
        sel.with_methods(base, score="t")
    assert str(err.value) == "parameter 'score': unknown value(s) ['t']; expected z, effect"


def test_the_published_methods_are_each_options_first_choice():
    assert sel.PUBLISHED_METHODS["tau2_method"] == "winsorised"
    assert sel.PUBLISHED_METHODS["organisation_variance"] == "none"
    assert set(sel.PUBLISHED_METHODS) == set(sel.METHOD_CHOICES)


# --------------------------------------------------------------------------- prepare


def test_prepare_joins_each_years_organisation_and_the_indicator_facts():
    chosen = _select(indicators=["A1", "B1"], years=[2020, 2021])
    frame = sel.prepare(OBSERVATIONS, MEMBERSHIP, CATALOGUE, chosen)
    expected = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P1", "P2"],
            "year": [2020, 2020, 2021, 2021],
            "indicator_id": ["A1", "A1", "A1", "B1"],
            "numerator": [2.0, 1.0, 3.0, 4.0],
            "denominator": [10.0, 10.0, 10.0, 8.0],
            "organisation_id": ["N1", "N1", "N1", "N2"],  # P2 moved to N2 in 2021
            "domain": ["alpha", "alpha", "alpha", "beta"],
            "distribution": ["binomial", "binomial", "binomial", "poisson"],
            "higher_is_better": [True, True, True, True],
            "rate": [0.2, 0.1, 0.3, 0.5],
        }
    )
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    assert frame["year"].dtype == int and frame["numerator"].dtype == float
    assert frame["denominator"].dtype == float and frame["higher_is_better"].dtype == bool


def test_prepare_keeps_practices_outside_every_organisation_and_a_missing_direction():
    catalogue = CATALOGUE.assign(
        higher_is_better=pd.array([True, pd.NA, False, True], dtype="boolean")
    )
    chosen = _select(indicators=["A2"], years=[2021, 2022])
    frame = sel.prepare(OBSERVATIONS, MEMBERSHIP.iloc[:2], catalogue, chosen)
    assert frame["practice_code"].tolist() == ["P3", "P1"]
    assert frame["organisation_id"].isna().tolist() == [True, False]
    assert frame["higher_is_better"].dtype == "boolean"
    assert frame["higher_is_better"].isna().all()
    assert frame["rate"].tolist() == [0.25, 0.5]


def test_prepare_holds_the_membership_of_one_year_fixed():
    chosen = _select(indicators=["A1"], years=[2020, 2021], membership_year=2021)
    frame = sel.prepare(OBSERVATIONS, MEMBERSHIP, CATALOGUE, chosen)
    # 2021's organisations in both years: P2 is in N2 in 2020 as well
    assert frame[["practice_code", "year", "organisation_id"]].values.tolist() == [
        ["P1", 2020, "N1"],
        ["P2", 2020, "N2"],
        ["P1", 2021, "N1"],
    ]


def test_prepare_at_organisation_level_makes_each_organisation_its_own_unit():
    observations = pd.DataFrame(
        {
            "organisation_id": ["N2", "N1"],
            "year": [2020, 2020],
            "indicator_id": ["A1", "A1"],
            "numerator": [3, 1],
            "denominator": [4, 2],
        }
    )
    chosen = sel.select(observations, CATALOGUE, ORGS)
    frame = sel.prepare(observations, None, CATALOGUE, chosen, unit="organisation_id")
    assert frame.columns.tolist() == [
        "practice_code", "year", "indicator_id", "numerator", "denominator",
        "organisation_id", "domain", "distribution", "higher_is_better", "rate",
    ]  # fmt: skip
    assert frame["practice_code"].tolist() == ["N1", "N2"]
    assert frame["organisation_id"].tolist() == ["N1", "N2"]
    assert frame["rate"].tolist() == [0.5, 0.75]


def test_prepare_refuses_a_practice_in_two_organisations_or_an_indicator_listed_twice():
    """Either would count an observation twice; the membership and catalogue checks reject
    both in files, and prepare does not count them silently when given them directly."""
    chosen = _select(indicators=["A1"], years=[2020])
    twice = pd.concat([MEMBERSHIP, MEMBERSHIP.iloc[[0]].assign(organisation_id="N2")])
    with pytest.raises(pd.errors.MergeError):
        sel.prepare(OBSERVATIONS, twice, CATALOGUE, chosen)
    with pytest.raises(pd.errors.MergeError):
        sel.prepare(OBSERVATIONS, MEMBERSHIP, pd.concat([CATALOGUE, CATALOGUE.iloc[[0]]]), chosen)


def test_prepare_keeps_a_selected_indicator_the_catalogue_given_lacks_without_its_facts():
    chosen = _select(indicators=["A1", "B1"], years=[2021])
    frame = sel.prepare(
        OBSERVATIONS, MEMBERSHIP, CATALOGUE[CATALOGUE["indicator_id"] != "B1"], chosen
    )
    assert frame["indicator_id"].tolist() == ["A1", "B1"]
    assert frame["domain"].tolist()[0] == "alpha" and pd.isna(frame["domain"].iloc[1])
