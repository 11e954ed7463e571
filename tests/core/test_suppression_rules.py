"""Disclosure control: which cells secondary suppression picks, how much it hides, the
defaults, the published table's layout, and ``cell_bounds`` against brute force.

The documented rule (module docstring of analysis.core.suppression): lines are visited rows
first, then columns; a line with exactly one withheld cell gets one more, the smallest
non-zero interior cell (totals only when no interior cell is left; ties by position);
then any primary cell an attacker can bound under the threshold gets one more cell in its
row or column. Each expected status below is worked by hand from that rule.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from analysis.core.suppression import (
    TOTAL,
    cell_bounds,
    suppress,
    suppression_status,
    with_totals,
)

CODE = {"primary": "P", "secondary": "S", "": "."}


def codes(status: pd.DataFrame) -> list[str]:
    """Each row of a status table as a string: P primary, S secondary, . published."""
    return ["".join(CODE[v] for v in row) for row in status.to_numpy().tolist()]


def test_secondary_cells_follow_the_greedy_rule_and_how_much_it_hides():
    counts = pd.DataFrame(
        [[3, 20, 15, 7], [12, 30, 40, 50], [60, 70, 80, 90]],
        index=list("abc"),
        columns=list("wxyz"),
    )
    # row a: (a,w)=3 primary; smallest other cell in row a is (a,z)=7
    # column w: (b,w)=12 (interior before the total); row b: (b,x)=30, its smallest
    # column x: (a,x)=20 < (c,x)=70; column z: (b,z)=50 < (c,z)=90
    status = suppression_status(counts)
    assert codes(status) == ["PS.S.", "SS.S.", ".....", "....."]
    assert (status == "secondary").to_numpy().sum() == 5
    # The greedy rule hides 6 cells here where the rectangle (a,w), (a,z), (b,w), (b,z)
    # would also protect the small cell: it is a heuristic, not a minimum.


def test_zero_cells_are_picked_last_and_shown():
    counts = pd.DataFrame(
        [[3, 0, 15, 7], [12, 30, 40, 50], [60, 70, 80, 90]],
        index=list("abc"),
        columns=list("wxyz"),
    )
    # row a: (a,x)=0 is skipped for (a,z)=7; column x: (c,x)=70 is taken, not (a,x)=0
    # column w: (b,w)=12; row b: (b,x)=30; row c: (c,w)=60; column z: (b,z)=50
    assert codes(suppression_status(counts)) == ["P..S.", "SS.S.", "SS...", "....."]


def test_ties_go_to_the_first_cell_and_totals_only_when_nothing_else_is_left():
    ties = pd.DataFrame([[3, 9, 9], [9, 30, 40], [60, 70, 80]])
    assert codes(suppression_status(ties)) == ["PS..", "SS..", "....", "...."]
    # One column: row a's total equals its only cell (3, primary too); column 0 takes
    # (b,0)=20 before the total 23; row b then has only its total left.
    column = pd.DataFrame([[3], [20]], index=["a", "b"], columns=["x"])
    assert codes(suppression_status(column)) == ["PP", "SS", ".."]


def test_a_cell_an_attacker_can_bound_gets_one_more_cell_in_its_line():
    # After the line rule: (a,x)=6 and (b,x)=9 hide the primary 1 and 3 in column y, but
    # the published column total leaves (a,y) + (b,y) = 13 - 9 = 4, so (a,y) <= 4 < 5.
    # Its row and column offer (c,y)=9 (interior, before the totals); row c then takes
    # (c,x)=30.
    counts = pd.DataFrame([[6, 1], [9, 3], [30, 9]], index=list("abc"), columns=list("xy"))
    assert codes(suppression_status(counts)) == ["SP.", "SP.", "SS.", "..."]


def test_when_the_weak_cells_row_and_column_are_all_withheld_any_cell_may_be_taken():
    #        x  y   z |  T     threshold 9, zeros suppressed: primary a:x,y  b:x,y,z  T:x,y
    #   a    0  1  30 | 31     line rule: column z takes (a,z)=30 (interior before 34)
    #   b    0  6   4 | 10     (a,x) is bounded: its row offers only the total (a,T)=31;
    #   T    0  7  34 | 41     then column T takes (b,T)=10 (smaller than 41).
    # (a,x) is still bounded and its row and column are all withheld: the best cell
    # anywhere is taken, the total (T,z)=34 (smaller than the grand total 41).
    counts = pd.DataFrame([[0, 1, 30], [0, 6, 4]], index=["a", "b"], columns=list("xyz"))
    status = suppression_status(counts, threshold=9, suppress_zeros=True)
    assert codes(status) == ["PPSS", "PPPS", "PPS."]
    #        x  y |  T     threshold 8, zeros suppressed: primary a:x,y,T  b:x  c:x,y,T  T:x
    #   a    3  0 |  3     line rule: row b takes (b,y)=30, row T takes (T,y)=31
    #   b    0 30 | 30     (a,x) is bounded with row a and column x all withheld: the best
    #   c    1  1 |  2     cell anywhere is the total (b,T)=30 (smaller than 35)
    #   T    4 31 | 35
    counts = pd.DataFrame([[3, 0], [0, 30], [1, 1]], index=list("abc"), columns=list("xy"))
    assert codes(suppression_status(counts, 8, True)) == ["PPP", "PSS", "PPP", "PS."]


def test_a_zero_interior_cell_is_taken_before_a_total():
    #        w  x  y  z |  T    threshold 5, zeros shown: primary (a,z)=2
    #   a    0 30  0  2 | 32    row a: (a,x)=30 (non-zero before zero)
    #   b   30  0  6  6 | 42    column x: (b,x)=0, interior, before the total (T,x)=30
    #   T   30 30  6  8 | 74    row b: (b,y)=6 (tie with (b,z), first by position)
    #                           column y: (a,y)=0 before (T,y)=6; column z: (b,z)=6
    counts = pd.DataFrame([[0, 30, 0, 2], [30, 0, 6, 6]], index=["a", "b"], columns=list("wxyz"))
    assert codes(suppression_status(counts)) == [".SSP.", ".SSS.", "....."]


def test_the_extra_cell_for_a_weak_cell_comes_from_its_own_row():
    #        w  x  y  z |   T    threshold 2, zeros suppressed: primary (a,w)=1 (c,w)=0 (c,z)=1
    #   a    1 30  3  3 |  37    line rule: row a (a,y)=3, column y (b,y)=30, row b (b,w)=9,
    #   b    9  9 30 30 |  78    column z (a,z)=3
    #   c    0  2 30  1 |  33    (c,w) is bounded under 2: its row c offers (c,x)=2, the
    #   T   10 41 63 34 | 148    smallest; then column x takes (b,x)=9
    counts = pd.DataFrame(
        [[1, 30, 3, 3], [9, 9, 30, 30], [0, 2, 30, 1]], index=list("abc"), columns=list("wxyz")
    )
    status = suppression_status(counts, threshold=2, suppress_zeros=True)
    assert codes(status) == ["P.SS.", "SSS..", "PS.P.", "....."]


def test_a_cell_bounded_at_exactly_the_threshold_is_protected_enough():
    # As in the attacker test above, (a,y) + (b,y) = 4 is published; with threshold 4 a
    # largest possible value of 4 is not "under the threshold", so nothing more is hidden.
    counts = pd.DataFrame([[6, 1], [9, 3], [30, 9]], index=list("abc"), columns=list("xy"))
    assert codes(suppression_status(counts, threshold=4)) == ["SP.", "SP.", "...", "..."]
    assert cell_bounds(
        with_totals(counts).to_numpy(), np.array([[1, 1, 0]] * 2 + [[0, 0, 0]] * 2, dtype=bool)
    )[(0, 1)] == (0.0, 4.0)


def test_a_missing_count_in_a_nullable_column_is_named():
    counts = pd.DataFrame({"x": pd.array([1, None], dtype="Int64"), "y": [2, 3]})
    message = r"^counts must be non-negative whole numbers with no missing cells$"
    with pytest.raises(ValueError, match=message):
        suppression_status(counts)


def test_default_threshold_is_five_and_zeros_are_shown():
    counts = pd.DataFrame([[4, 5], [0, 60]], index=["a", "b"], columns=["x", "y"])
    status = suppression_status(counts)
    assert status.loc["a", "x"] == "primary" and status.loc["a", "y"] != "primary"
    assert status.loc["b", "x"] != "primary"
    pd.testing.assert_frame_equal(status, suppression_status(counts, 5, False))
    published, status2 = suppress(counts)
    expected_published, expected_status = suppress(counts, threshold=5, suppress_zeros=False)
    pd.testing.assert_frame_equal(published, expected_published)
    pd.testing.assert_frame_equal(status2, expected_status)
    # A cell equal to the threshold is published; one under it is not.
    assert suppression_status(counts, threshold=6).loc["a", "y"] == "primary"
    assert suppression_status(counts, threshold=4).loc["a", "x"] == ""
    assert suppression_status(counts, suppress_zeros=True).loc["b", "x"] == "primary"


def test_published_table_layout_and_types():
    counts = pd.DataFrame([[3, 20], [50, 60]], index=["a", "b"], columns=["x", "y"])
    published, status = suppress(counts)
    assert published.index.tolist() == ["a", "b", TOTAL]
    assert published.columns.tolist() == ["x", "y", TOTAL]
    assert (published.dtypes.astype(str) == "Int64").all()
    assert status.index.equals(published.index) and status.columns.equals(published.columns)
    assert set(np.unique(status.to_numpy())) == {"primary", "secondary", ""}
    assert published.isna().to_numpy().tolist() == (status != "").to_numpy().tolist()
    assert published.loc[TOTAL].tolist() == [53, 80, 133]
    assert published[TOTAL].tolist() == [23, 110, 133]


def test_with_totals_sums_and_checks():
    full = with_totals(pd.DataFrame([[1.0, 2.0], [3.0, 4.0]], columns=["p", "q"]))
    assert full.dtypes.astype(str).tolist() == ["int64"] * 3
    assert full.to_numpy().tolist() == [[1, 2, 3], [3, 4, 7], [4, 6, 10]]
    assert full.index[-1] == TOTAL and full.columns[-1] == TOTAL
    counts_message = r"^counts must be non-negative whole numbers with no missing cells$"
    for bad, message in [
        (pd.DataFrame([[1, -1]]), counts_message),
        (pd.DataFrame([[0.5, 1]]), counts_message),
        (pd.DataFrame([[np.nan, 1]]), counts_message),
        (pd.DataFrame(), r"^the count table is empty$"),
    ]:
        with pytest.raises(ValueError, match=message):
            with_totals(bad)


@pytest.mark.parametrize("threshold", [0, -3, 2.5])
def test_threshold_must_be_a_whole_number_of_at_least_one(threshold):
    with pytest.raises(
        ValueError, match=rf"^threshold must be a whole number >= 1, got {threshold}$"
    ):
        suppression_status(pd.DataFrame([[1, 2]]), threshold)


def test_threshold_one_hides_nothing_but_zeros_on_request():
    counts = pd.DataFrame([[0, 1], [2, 3]])
    assert codes(suppression_status(counts, 1)) == ["...", "...", "..."]
    assert "P" in "".join(codes(suppression_status(counts, 1, suppress_zeros=True)))


# --------------------------------------------------------------------------- cell_bounds


def brute_force_bounds(full: np.ndarray, hidden: np.ndarray) -> dict:
    """Every non-negative whole-number filling of the hidden cells that adds up, by enumeration."""
    cells = [tuple(int(x) for x in c) for c in np.argwhere(hidden)]
    rows, cols = full.shape[0] - 1, full.shape[1] - 1
    top = int(full[-1, -1])
    seen = {c: [] for c in cells}
    for values in itertools.product(range(top + 1), repeat=len(cells)):
        table = full.astype(float).copy()
        for cell, value in zip(cells, values, strict=True):
            table[cell] = value
        rows_ok = all(table[i, :cols].sum() == table[i, cols] for i in range(rows + 1))
        cols_ok = all(table[:rows, j].sum() == table[rows, j] for j in range(cols + 1))
        if rows_ok and cols_ok:
            for cell, value in zip(cells, values, strict=True):
                seen[cell].append(value)
    return {c: (min(v), max(v)) for c, v in seen.items()}


FULL = with_totals(pd.DataFrame([[3, 2], [1, 4]])).to_numpy()  # grand total 10


@pytest.mark.parametrize(
    "hidden_cells",
    [
        [(0, 0), (0, 1)],
        [(0, 0), (0, 1), (1, 0), (1, 1)],
        [(0, 0), (1, 0), (0, 2), (1, 2)],
        [(0, 0), (0, 1), (2, 0), (2, 1)],
        [(0, 0), (2, 2)],
    ],
)
def test_cell_bounds_agree_with_brute_force_enumeration(hidden_cells):
    hidden = np.zeros(FULL.shape, dtype=bool)
    for cell in hidden_cells:
        hidden[cell] = True
    bounds = cell_bounds(FULL, hidden)
    assert set(bounds) == set(hidden_cells)
    expected = brute_force_bounds(FULL, hidden)
    for cell in hidden_cells:
        assert bounds[cell] == pytest.approx(expected[cell]), cell


def test_cell_bounds_targets_and_unbounded_cells():
    hidden = np.zeros(FULL.shape, dtype=bool)
    hidden[:2, :2] = True
    # the whole interior hidden: (0,0) lies in [0, 4] (row 0 sums to 5, column 0 to 4)
    assert cell_bounds(FULL, hidden, targets=[(0, 0)]) == {(0, 0): (0.0, 4.0)}
    everything = np.ones(FULL.shape, dtype=bool)
    bounds = cell_bounds(FULL, everything)
    assert len(bounds) == FULL.size
    assert all(low == 0.0 and high == np.inf for low, high in bounds.values())
