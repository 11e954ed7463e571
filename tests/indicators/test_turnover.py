"""Membership turnover of networks, checked on a hand-worked three-year mapping.

Every expected number below is counted by hand from :data:`MAPPING` (the reasoning is in the
comments), not taken from the code's output.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.indicators.sources import turnover

#: practice -> network per year; ``U`` is no network. Read down a column for one year.
#:
#: ======== ==== ==== ====
#: practice 2019 2020 2021
#: ======== ==== ==== ====
#: A        P1   P1   P1     never moves
#: B        P1   P2   P2     moves P1 -> P2 in 2020
#: C        P2   P2   U      leaves networks in 2021
#: D        U    P3   P4     joins in 2020, moves in 2021
#: E        P3   -    -      closes after 2019
#: F        -    P3   P4     opens in 2020, moves in 2021
#: G        -    U    P4     opens unallocated, joins in 2021
#: H        P5   -    -      closes after 2019 and with it network P5
#: I        -    -    U      opens in 2021, never in a network
#: ======== ==== ==== ====
MAPPING = {
    2019: {"A": "P1", "B": "P1", "C": "P2", "D": "U", "E": "P3", "H": "P5"},
    2020: {"A": "P1", "B": "P2", "C": "P2", "D": "P3", "F": "P3", "G": "U"},
    2021: {"A": "P1", "B": "P2", "C": "U", "D": "P4", "F": "P4", "G": "P4", "I": "U"},
}


def structures(years=(2021, 2019, 2020)) -> pd.DataFrame:
    """The stacked mapping files, years deliberately out of order."""
    rows = [
        {"year": year, "practice_code": practice, "pcn_code": pcn, "in_pcn": pcn != "U"}
        for year in years
        for practice, pcn in MAPPING[year].items()
    ]
    return pd.DataFrame(rows)


def test_year_sizes_count_each_years_practices_and_networks():
    # 2019: 6 practices, D unallocated; networks P1 {A,B}, P2 {C}, P3 {E}, P5 {H}.
    # 2020: 6 practices, G unallocated; P1 {A}, P2 {B,C}, P3 {D,F}.
    # 2021: 7 practices, C and I unallocated; P1 {A}, P2 {B}, P4 {D,F,G}.
    expected = pd.DataFrame(
        {
            "year": [2019, 2020, 2021],
            "practices": [6, 6, 7],
            "in_pcn": [5, 5, 5],
            "not_in_pcn": [1, 1, 2],
            "pcns": [4, 3, 3],
            "median_practices": [1.0, 2.0, 1.0],
            "max_practices": [2, 2, 3],
            "single_practice_pcns": [3, 1, 2],
        }
    )
    pd.testing.assert_frame_equal(turnover.year_sizes(structures()), expected)


#: What changed, counted by hand from MAPPING, for each pair compared.
CHANGES = {
    # Both files: A B C D. In a network both years: A B C (D joins); B moved (1 of 3).
    # Closed E H; opened F G. P5 closed; no network kept its members (P1 lost B, P2 gained B,
    # P3 swapped E for D F).
    (2019, 2020): {
        "practices_both": 4,
        "changed_pcn": 1,
        "joined_pcn": 1,
        "left_pcn": 0,
        "closed": 2,
        "opened": 2,
        "pcns_before": 4,
        "pcns_after": 3,
        "pcns_formed": 0,
        "pcns_closed": 1,
        "pcns_same_members": 0,
        "share_changed_pcn": 1 / 3,
    },
    # Both files: A B C D F G. In a network both years: A B D F; D and F moved (2 of 4).
    # G joined, C left, I opened. P4 formed, P3 closed; P1 kept {A}, P2 lost C.
    (2020, 2021): {
        "practices_both": 6,
        "changed_pcn": 2,
        "joined_pcn": 1,
        "left_pcn": 1,
        "closed": 0,
        "opened": 1,
        "pcns_before": 3,
        "pcns_after": 3,
        "pcns_formed": 1,
        "pcns_closed": 1,
        "pcns_same_members": 1,
        "share_changed_pcn": 2 / 4,
    },
    # End points. Both files: A B C D. In a network both years: A B; B moved (1 of 2).
    # D joined, C left; closed E H, opened F G I. P4 formed, P3 and P5 closed.
    (2019, 2021): {
        "practices_both": 4,
        "changed_pcn": 1,
        "joined_pcn": 1,
        "left_pcn": 1,
        "closed": 2,
        "opened": 3,
        "pcns_before": 4,
        "pcns_after": 3,
        "pcns_formed": 1,
        "pcns_closed": 2,
        "pcns_same_members": 0,
        "share_changed_pcn": 1 / 2,
    },
}


@pytest.mark.parametrize("pair", list(CHANGES))
def test_compare_years_counts_every_kind_of_change(pair):
    got = turnover.compare_years(structures(), *pair)
    assert got == pytest.approx(CHANGES[pair])
    assert list(got) == list(CHANGES[pair])


def test_compare_years_without_a_practice_in_a_network_both_years_is_nan_without_a_warning():
    # 2019 -> 2020 restricted to D and G: D is unallocated in 2019, G in 2020.
    frame = structures()
    frame = frame[frame["practice_code"].isin(["D", "G"])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = turnover.compare_years(frame, 2019, 2020)
    assert np.isnan(got["share_changed_pcn"])
    assert got["changed_pcn"] == 0
    assert got["joined_pcn"] == 1


def test_transitions_are_consecutive_years_then_the_end_points():
    got = turnover.transitions(structures())
    expected = pd.DataFrame(
        [
            {"period": f"{a}-{b}", "from_year": a, "to_year": b, **CHANGES[(a, b)]}
            for a, b in [(2019, 2020), (2020, 2021), (2019, 2021)]
        ]
    )
    pd.testing.assert_frame_equal(got, expected)


def test_two_years_give_one_transition_and_one_year_none():
    got = turnover.transitions(structures(years=(2020, 2019)))
    assert got["period"].tolist() == ["2019-2020"]
    assert got.drop(columns=["period", "from_year", "to_year"]).iloc[0].to_dict() == (
        pytest.approx(CHANGES[(2019, 2020)])
    )
    assert turnover.transitions(structures(years=(2021,))).empty


def test_practice_histories_follow_each_practice():
    # years in the files, distinct networks (U not counted), moved = more than one network,
    # ever unallocated = U in some year.
    expected = pd.DataFrame(
        {
            "practice_code": list("ABCDEFGHI"),
            "years": [3, 3, 3, 3, 1, 2, 2, 1, 1],
            "pcns": [1, 2, 1, 2, 1, 2, 1, 1, 0],
            "moved": [False, True, False, True, False, True, False, False, False],
            "ever_unallocated": [False, False, True, True, False, False, True, False, True],
        }
    )
    pd.testing.assert_frame_equal(turnover.practice_histories(structures()), expected)


def test_turnover_summary_of_the_whole_period():
    # Nine practices seen, A B C D in all three files; B D F moved, of the eight ever in a
    # network (I never was). Network codes P1 P2 P3 P4 P5; P1 and P2 in every year.
    expected = pd.DataFrame(
        [
            {
                "first_year": 2019,
                "last_year": 2021,
                "practices_seen": 9,
                "in_every_file": 4,
                "moved": 3,
                "share_moved": 3 / 8,
                "pcn_codes_seen": 5,
                "pcn_codes_every_year": 2,
            }
        ]
    )
    pd.testing.assert_frame_equal(turnover.turnover_summary(structures()), expected)
