"""The QCA truth table's secondary outputs: every column, the cutoff edge, contradictions,
ordering and the published column types.

Expected values are worked by hand from the tables in the comments, never computed with
the module under test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analysis.casestudy import qca

# Seven cases, conditions P and Q, outcome Y. Worked by hand (sum Y = 4):
#   P Q | cases          | n | Y=1 | consistency | coverage | code (cutoff 0.8) | contradictory
#   1 1 | k1 k2 k3 k4 k5 | 5 |  4  |   4/5 = 0.8 |   4/4    |  1 (exactly at it) | yes
#   1 0 | k6             | 1 |  0  |   0         |   0      |  0                 | no
#   0 1 | k7             | 1 |  0  |   0         |   0      |  0                 | no
#   0 0 | (none)         | 0 |  0  |   missing   |   0      |  missing           | no
EDGE = pd.DataFrame(
    {
        "P": [1, 1, 1, 1, 1, 1, 0],
        "Q": [1, 1, 1, 1, 1, 0, 1],
        "Y": [1, 1, 0, 1, 1, 0, 0],
    },
    index=pd.Index([f"k{i}" for i in range(1, 8)], name="case"),
)

COLUMNS = [
    "P",
    "Q",
    "expression",
    "n",
    "cases",
    "n_outcome",
    "consistency",
    "coverage",
    "outcome_code",
    "contradictory",
]


def test_every_column_of_the_truth_table_by_hand():
    table = qca.truth_table(EDGE, "Y", ["P", "Q"])
    assert list(table.columns) == COLUMNS
    expected = pd.DataFrame(
        {
            "P": [1, 1, 0, 0],
            "Q": [1, 0, 1, 0],
            "expression": ["P*Q", "P*~Q", "~P*Q", "~P*~Q"],
            "n": [5, 1, 1, 0],
            "cases": ["k1; k2; k3; k4; k5", "k6", "k7", ""],
            "n_outcome": [4, 0, 0, 0],
            "consistency": [0.8, 0.0, 0.0, np.nan],
            "coverage": [1.0, 0.0, 0.0, 0.0],
            "outcome_code": pd.array([1, 0, 0, pd.NA], dtype="Int64"),
            "contradictory": [True, False, False, False],
        }
    )
    pd.testing.assert_frame_equal(table, expected)


def test_published_column_types():
    table = qca.truth_table(EDGE, "Y", ["P", "Q"])
    # Labels are text (object or pandas' str, depending on the pandas version).
    text = [c for c in table if pd.api.types.is_string_dtype(table[c])]
    assert text == ["expression", "cases"]
    assert table.drop(columns=text).dtypes.astype(str).to_dict() == {
        "P": "int64",
        "Q": "int64",
        "n": "int64",
        "n_outcome": "int64",
        "consistency": "float64",
        "coverage": "float64",
        "outcome_code": "Int64",
        "contradictory": "bool",
    }
    singles = qca.condition_table(EDGE, "Y", ["P", "Q"])
    assert list(singles.columns) == ["condition", "n", "consistency", "coverage"]
    assert pd.api.types.is_string_dtype(singles["condition"])
    assert singles.dtypes.astype(str).tolist()[1:] == ["int64", "float64", "float64"]


def test_a_configuration_exactly_at_the_cutoff_shows_the_outcome():
    # P*Q has consistency 4/5 = 0.8: "at or above" the cutoff codes it 1; just above, 0.
    codes = {
        cutoff: qca.truth_table(EDGE, "Y", ["P", "Q"], cutoff=cutoff)["outcome_code"].iloc[0]
        for cutoff in (0.8, 0.8000001, 0.0, 1.0)
    }
    assert codes == {0.8: 1, 0.8000001: 0, 0.0: 1, 1.0: 0}
    assert qca.truth_table(EDGE, "Y", ["P", "Q"])["outcome_code"].iloc[0] == 1  # default 0.8
    # A cutoff of 0 codes every observed configuration 1, even those with consistency 0.
    zero = qca.truth_table(EDGE, "Y", ["P", "Q"], cutoff=0.0)
    assert zero["outcome_code"].iloc[:3].tolist() == [1, 1, 1]
    assert pd.isna(zero["outcome_code"].iloc[3])


@pytest.mark.parametrize("cutoff", [-0.01, 1.01])
def test_cutoff_outside_zero_one_is_named(cutoff):
    with pytest.raises(ValueError, match=rf"cutoff: {cutoff} is outside \[0, 1\]"):
        qca.truth_table(EDGE, "Y", ["P", "Q"], cutoff=cutoff)


def test_contradictory_rows_are_exactly_those_with_cases_on_both_sides():
    data = pd.DataFrame(
        {"A": [1, 1, 0, 0, 0], "Y": [1, 1, 1, 0, 1]}, index=pd.Index(list("abcde"), name="case")
    )
    table = qca.truth_table(data, "Y", ["A"]).set_index("expression")
    # A: 2 cases, both Y = 1 -> consistent; ~A: 3 cases, 2 with Y -> contradictory.
    assert table["contradictory"].to_dict() == {"~A": True, "A": False}
    assert table.loc["~A", "n_outcome"] == 2 and table.loc["A", "n_outcome"] == 2
    assert table.loc["~A", "consistency"] == pytest.approx(2 / 3)
    # All-outcome and no-outcome configurations are not contradictory.
    everyone = data.assign(Y=1)
    assert not qca.truth_table(everyone, "Y", ["A"])["contradictory"].any()


def test_observed_rows_come_by_cases_then_consistency_then_label_and_remainders_last():
    data = pd.DataFrame(
        {
            "A": [1, 1, 0, 0, 1, 0],
            "B": [1, 1, 1, 1, 0, 0],
            "C": [0, 0, 0, 0, 0, 0],
            "Y": [0, 0, 1, 1, 1, 0],
        },
        index=pd.Index(list("uvwxyz"), name="case"),
    )
    table = qca.truth_table(data, "Y", ["A", "B", "C"])
    observed = table[table["n"] > 0]
    # Two configurations with 2 cases: ~A*B*~C (consistency 1) before A*B*~C (0);
    # two with 1 case: A*~B*~C (1) before ~A*~B*~C (0).
    assert observed["expression"].tolist() == ["~A*B*~C", "A*B*~C", "A*~B*~C", "~A*~B*~C"]
    remainders = table[table["n"] == 0]["expression"].tolist()
    assert remainders == sorted(remainders) and len(remainders) == 4
    assert table.index.tolist() == list(range(8))
    only = qca.truth_table(data, "Y", ["A", "B", "C"], remainders=False)
    pd.testing.assert_frame_equal(only, observed.reset_index(drop=True))


def test_remainders_have_coverage_zero_and_no_code():
    table = qca.truth_table(EDGE.iloc[:6], "Y", ["P", "Q"])  # drop k7: ~P*Q unobserved
    remainders = table[table["n"] == 0]
    assert remainders["expression"].tolist() == ["~P*Q", "~P*~Q"]
    assert remainders["cases"].tolist() == ["", ""]
    assert remainders["coverage"].tolist() == [0.0, 0.0]
    assert remainders["outcome_code"].isna().all()
    assert not remainders["contradictory"].any()


def test_empty_sets_give_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(qca.consistency(np.zeros(4), np.ones(4)))
        assert np.isnan(qca.coverage(np.ones(4), np.zeros(4)))
        table = qca.truth_table(EDGE.assign(Y=0), "Y", ["P", "Q"])
    assert table["coverage"].isna().all()
    assert (table["consistency"].iloc[:3] == 0).all()


def test_condition_table_lists_present_then_absent_for_each_condition():
    table = qca.condition_table(EDGE, "Y", ["P", "Q"])
    assert table["condition"].tolist() == ["P", "~P", "Q", "~Q"]
    # P: 6 cases, 4 with Y; ~P: k7 only, no Y; Q: 6 cases, 4 with Y; ~Q: k6, no Y.
    assert table["n"].tolist() == [6, 1, 6, 1]
    np.testing.assert_allclose(table["consistency"], [4 / 6, 0.0, 4 / 6, 0.0])
    np.testing.assert_allclose(table["coverage"], [1.0, 0.0, 1.0, 0.0])


def test_a_tuple_of_conditions_is_accepted_and_order_is_kept():
    table = qca.truth_table(EDGE, "Y", ("Q", "P"))
    assert list(table.columns[:2]) == ["Q", "P"]
    assert table["expression"].iloc[0] == "Q*P"


def test_a_non_crisp_outcome_names_the_first_bad_case():
    data = EDGE.copy()
    data["Y"] = data["Y"].astype(float)
    data.loc["k3", "Y"] = 2.0
    data.loc["k5", "Y"] = 0.5
    with pytest.raises(ValueError, match=r"^case 'k3', column 'Y': 2.0 is not 0 or 1$"):
        qca.truth_table(data, "Y", ["P", "Q"])
    with pytest.raises(ValueError, match=r"case 'k3', column 'Y'"):
        qca.condition_table(data, "Y", ["P"])


def test_parameter_errors_name_the_parameter_and_the_columns():
    with pytest.raises(ValueError, match=r"^outcome: 'Z' is not a column; have \['P', 'Q', 'Y'\]$"):
        qca.check_crisp(EDGE, "Z", ["P"])
    with pytest.raises(
        ValueError, match=r"^conditions: unknown column\(s\) \['R'\]; have \['P', 'Q', 'Y'\]$"
    ):
        qca.check_crisp(EDGE, "Y", ["P", "R"])
    with pytest.raises(ValueError, match=r"^conditions: expected a list of column names, got 'P'$"):
        qca.check_crisp(EDGE, "Y", "P")
    with pytest.raises(ValueError, match=r"^conditions: at least one condition is needed$"):
        qca.check_crisp(EDGE, "Y", [])
    message = r"^conditions: must be distinct and must not include the outcome$"
    with pytest.raises(ValueError, match=message):
        qca.check_crisp(EDGE, "Y", ["P", "P"])
    assert qca.check_crisp(EDGE, "Y", ("P", "Q")) == ["P", "Q"]
    assert qca.expression((1, 0, 1), ["a", "b", "c"]) == "a*~b*c"
    with pytest.raises(ValueError):
        qca.expression((1, 0), ["a", "b", "c"])


def test_crisp_data_stored_as_floats_or_booleans_give_the_same_table():
    as_int = qca.truth_table(EDGE, "Y", ["P", "Q"], remainders=False)
    for stored in (EDGE.astype(float), EDGE.astype(bool)):
        pd.testing.assert_frame_equal(
            qca.truth_table(stored, "Y", ["P", "Q"], remainders=False), as_int
        )
        pd.testing.assert_frame_equal(
            qca.condition_table(stored, "Y", ["P", "Q"]), qca.condition_table(EDGE, "Y", ["P", "Q"])
        )
