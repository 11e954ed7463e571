"""Crisp-set QCA: consistency and coverage against hand-worked examples and an independent
group-by calculation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.casestudy import qca
from analysis.casestudy.conditions import crisp_sets, split_ambiguous
from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score

# Six cases, conditions A and B, outcome Y. Worked by hand:
#   A B | cases      | Y=1 | consistency | coverage (sum Y = 3)
#   1 1 | c1 c2 c3   |  2  |    2/3      |   2/3
#   1 0 | c4         |  1  |    1        |   1/3
#   0 1 | c5         |  0  |    0        |   0
#   0 0 | c6         |  0  |    0        |   0
HAND = pd.DataFrame(
    {
        "A": [1, 1, 1, 1, 0, 0],
        "B": [1, 1, 1, 0, 1, 0],
        "Y": [1, 1, 0, 1, 0, 0],
    },
    index=pd.Index(["c1", "c2", "c3", "c4", "c5", "c6"], name="case"),
)


def test_truth_table_matches_the_hand_worked_example():
    table = qca.truth_table(HAND, "Y", ["A", "B"]).set_index("expression")
    assert list(table.index) == ["A*B", "A*~B", "~A*B", "~A*~B"]
    assert table.loc["A*B", "n"] == 3
    assert table.loc["A*B", "cases"] == "c1; c2; c3"
    assert table.loc["A*B", "consistency"] == pytest.approx(2 / 3)
    assert table.loc["A*B", "coverage"] == pytest.approx(2 / 3)
    assert table.loc["A*~B", "consistency"] == 1.0
    assert table.loc["A*~B", "coverage"] == pytest.approx(1 / 3)
    assert table.loc["~A*B", "consistency"] == table.loc["~A*~B", "coverage"] == 0.0
    assert table.loc["A*B", "contradictory"]
    assert not table.loc["A*~B", "contradictory"]
    assert list(table["outcome_code"]) == [0, 1, 0, 0]  # cutoff 0.8
    assert qca.truth_table(HAND, "Y", ["A", "B"], cutoff=0.6)["outcome_code"].iloc[0] == 1


def test_condition_table_matches_the_hand_worked_example():
    # A: sum A = 4, sum min(A, Y) = 3, sum Y = 3 -> consistency 3/4, coverage 1
    # B: sum B = 4, sum min(B, Y) = 2 -> consistency 1/2, coverage 2/3
    # ~A: sum = 2, sum min(~A, Y) = 0 -> 0, 0
    table = qca.condition_table(HAND, "Y", ["A", "B"]).set_index("condition")
    assert table.loc["A", "consistency"] == pytest.approx(3 / 4)
    assert table.loc["A", "coverage"] == 1.0
    assert table.loc["B", "consistency"] == pytest.approx(1 / 2)
    assert table.loc["B", "coverage"] == pytest.approx(2 / 3)
    assert table.loc["~A", "consistency"] == table.loc["~A", "coverage"] == 0.0
    assert table.loc["~B", "n"] == 2
    assert table.loc["~B", "consistency"] == pytest.approx(1 / 2)


def test_fuzzy_formula_by_hand():
    # Ragin's set-theoretic formulae on fuzzy scores:
    # sum min = 0.8 + 0.4 + 0.3 = 1.5; sum x = 1.7; sum y = 1.8
    x, y = np.array([0.8, 0.6, 0.3]), np.array([0.9, 0.4, 0.5])
    assert qca.consistency(x, y) == pytest.approx(1.5 / 1.7)
    assert qca.coverage(x, y) == pytest.approx(1.5 / 1.8)
    assert np.isnan(qca.consistency(np.zeros(3), y))
    assert np.isnan(qca.coverage(x, np.zeros(3)))


def test_remainders_are_listed_after_observed_configurations():
    data = HAND[HAND["A"] == 1]  # only A=1 rows: two observed configurations
    table = qca.truth_table(data, "Y", ["A", "B"])
    assert list(table["n"]) == [3, 1, 0, 0]
    assert table["outcome_code"].iloc[2:].isna().all()
    assert table["consistency"].iloc[2:].isna().all()
    assert len(qca.truth_table(data, "Y", ["A", "B"], remainders=False)) == 2


crisp_frames = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.lists(st.tuples(*[st.integers(0, 1)] * 4), min_size=n, max_size=n).map(
        lambda rows: pd.DataFrame(rows, columns=["a", "b", "c", "y"])
    )
)


@settings(max_examples=60, deadline=None)
@given(crisp_frames)
def test_truth_table_agrees_with_an_independent_groupby(data):
    conditions = ["a", "b", "c"]
    table = qca.truth_table(data, "y", conditions)
    assert len(table) == 2 ** len(conditions)
    assert table["n"].sum() == len(data)
    grouped = data.groupby(conditions)["y"].agg(["size", "mean", "sum"])
    total_y = data["y"].sum()
    for config in itertools.product((0, 1), repeat=3):
        row = table[(table[conditions].to_numpy() == np.array(config)).all(axis=1)].iloc[0]
        if config in grouped.index:
            assert row["n"] == grouped.loc[config, "size"]
            assert row["consistency"] == pytest.approx(grouped.loc[config, "mean"])
            if total_y:
                assert row["coverage"] == pytest.approx(grouped.loc[config, "sum"] / total_y)
        else:
            assert row["n"] == 0 and np.isnan(row["consistency"])
    if total_y:
        assert table["coverage"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("outcome", "conditions", "message"),
    [
        ("Z", ["A"], "outcome: 'Z' is not a column"),
        ("Y", [], "conditions: at least one"),
        ("Y", ["A", "C"], r"conditions: unknown column\(s\) \['C'\]"),
        ("Y", ["A", "Y"], "must not include the outcome"),
        ("Y", ["A", "A"], "must be distinct"),
        ("Y", "A", "conditions: expected a list"),
    ],
)
def test_bad_parameters_are_named(outcome, conditions, message):
    with pytest.raises(ValueError, match=message):
        qca.truth_table(HAND, outcome, conditions)


def test_values_other_than_zero_or_one_name_case_and_column():
    data = HAND.astype(float)
    data.loc["c4", "B"] = 0.7
    with pytest.raises(ValueError, match=r"case 'c4', column 'B': 0.7 is not 0 or 1"):
        qca.truth_table(data, "Y", ["A", "B"])
    with pytest.raises(ValueError, match="cutoff"):
        qca.truth_table(HAND, "Y", ["A"], cutoff=1.2)


def test_case_study_truth_table_describes_the_complete_cases():
    data = load()
    scored = score(data.evidence, parse_scoring_map("linear", data.codebook))
    conditions = ["ccg_relationship", "competition_for_members", "leadership_management"]
    crisp = crisp_sets(scored, [*conditions, "iagp_outcome"], 0.5)
    kept, excluded = split_ambiguous(crisp, crisp.astype(float))
    # Expanding's and Small's distant CCG relationships and Small's partner bid score 0.5
    assert set(excluded["case"]) == {"Expanding", "Small"}
    table = qca.truth_table(kept, "iagp_outcome", conditions)
    observed = table[table["n"] > 0].set_index("cases")
    assert set(observed.index) == {"Embedded", "Struggling"}
    assert observed.loc["Embedded", "consistency"] == 1
    assert observed.loc["Struggling", "consistency"] == 0
    singles = qca.condition_table(kept, "iagp_outcome", conditions).set_index("condition")
    # of the two complete cases, only Embedded has a close CCG relationship, and it delivered
    assert singles.loc["ccg_relationship", ["consistency", "coverage"]].tolist() == [1.0, 1.0]
    assert np.isnan(singles.loc["competition_for_members", "consistency"])
