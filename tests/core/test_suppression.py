"""Small-cell suppression: no cell under the threshold can be recovered from what is published.

The attacks here are written independently of analysis.core.suppression: a subtraction attack
(solve any row or column with one unknown, repeat) and a linear-programming attack over all
cells with the published ones fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from analysis.core.suppression import TOTAL, suppress, suppression_status


def relations(shape):
    """Row and column sums of a table whose last row and column are totals."""
    rows, cols = shape[0] - 1, shape[1] - 1
    for i in range(rows + 1):
        yield [(i, j) for j in range(cols)], (i, cols)
    for j in range(cols + 1):
        yield [(i, j) for i in range(rows)], (rows, j)


def subtraction_attack(published: np.ndarray) -> np.ndarray:
    """Fill in every cell that repeated single-unknown subtraction can recover."""
    known = published.copy()
    changed = True
    while changed:
        changed = False
        for parts, total in relations(known.shape):
            cells = parts + [total]
            unknown = [c for c in cells if np.isnan(known[c])]
            if len(unknown) == 1:
                (cell,) = unknown
                parts_sum = sum(known[c] for c in parts if c != cell)
                known[cell] = known[total] - parts_sum if cell != total else parts_sum
                changed = True
    return known


def lp_attack(published: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """Tightest bounds on each hidden cell: all cells are variables, published ones fixed."""
    shape = published.shape
    flat = published.ravel()
    bounds = [(v, v) if not np.isnan(v) else (0, None) for v in flat]
    a_eq = []
    for parts, total in relations(shape):
        row = np.zeros(flat.size)
        for c in parts:
            row[np.ravel_multi_index(c, shape)] = 1
        row[np.ravel_multi_index(total, shape)] = -1
        a_eq.append(row)
    b_eq = np.zeros(len(a_eq))
    result = {}
    for k in np.flatnonzero(np.isnan(flat)):
        c = np.zeros(flat.size)
        c[k] = 1
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0
        upper = np.inf if high.status == 3 else -high.fun
        result[tuple(int(x) for x in np.unravel_index(k, shape))] = (low.fun, upper)
    return result


def assert_protected(counts: pd.DataFrame, threshold: int, suppress_zeros: bool = False):
    published, status = suppress(counts, threshold, suppress_zeros)
    truth = counts.copy()
    truth[TOTAL] = truth.sum(axis=1)
    truth.loc[TOTAL] = truth.sum(axis=0)
    shown = published.notna().to_numpy()
    # Published cells are the true ones, and none is a small cell.
    assert (published.to_numpy()[shown] == truth.to_numpy()[shown]).all()
    small = (truth.to_numpy() < threshold) & ((truth.to_numpy() > 0) | suppress_zeros)
    assert not (small & shown).any()
    assert (status.to_numpy()[small] == "primary").all()
    # Each row and column has no hidden cell or at least two.
    hidden = ~shown
    for parts, total in relations(hidden.shape):
        assert sum(hidden[c] for c in parts + [total]) != 1
    # Neither attack narrows a small cell to values under the threshold.
    values = published.to_numpy(dtype=float, na_value=np.nan)
    recovered = subtraction_attack(values)
    assert np.isnan(recovered[small]).all()
    bounds = lp_attack(values)
    for cell in zip(*np.nonzero(small), strict=True):
        lower, upper = bounds[cell]
        assert upper >= threshold, (cell, lower, upper)
    return published, status


def test_hand_worked_table():
    counts = pd.DataFrame(
        [[3, 20, 15], [12, 1, 30], [40, 25, 2]], index=["a", "b", "c"], columns=["x", "y", "z"]
    )
    published, status = assert_protected(counts, 5)
    assert status.loc["a", "x"] == status.loc["b", "y"] == status.loc["c", "z"] == "primary"
    assert (status == "secondary").to_numpy().sum() == 3
    # Totals stay published and the large cells survive.
    assert published.loc[TOTAL].notna().all() and published[TOTAL].notna().all()
    assert published.loc["b", "z"] == 30


def test_single_small_cell_in_a_two_by_two_hides_the_whole_interior():
    counts = pd.DataFrame([[3, 20], [50, 60]], index=["a", "b"], columns=["x", "y"])
    published, status = assert_protected(counts, 5)
    assert published.iloc[:2, :2].isna().all().all()
    assert published.loc[TOTAL, TOTAL] == 133


def test_small_totals_are_suppressed_too():
    counts = pd.DataFrame([[1, 2], [0, 1]], index=["a", "b"], columns=["x", "y"])
    published, status = assert_protected(counts, 5)
    assert pd.isna(published.loc[TOTAL, TOTAL])
    assert published.loc["b", "x"] == 0  # zeros are published by default


def test_zeros_can_be_suppressed():
    counts = pd.DataFrame([[0, 20, 30], [10, 12, 14]], index=["a", "b"], columns=["x", "y", "z"])
    _, status = assert_protected(counts, 5, suppress_zeros=True)
    assert status.loc["a", "x"] == "primary"
    _, status = assert_protected(counts, 5)
    assert (status == "").all().all()


def test_nothing_to_suppress():
    counts = pd.DataFrame([[10, 20], [30, 40]], index=["a", "b"], columns=["x", "y"])
    published, status = suppress(counts, 5)
    assert (status == "").all().all()
    assert published.loc[TOTAL, TOTAL] == 100


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    rows=st.integers(1, 4),
    cols=st.integers(1, 4),
    threshold=st.integers(1, 10),
    zeros=st.booleans(),
)
def test_no_small_cell_is_ever_recoverable(data, rows, cols, threshold, zeros):
    cells = data.draw(
        st.lists(
            st.one_of(st.integers(0, 6), st.integers(0, 60)),
            min_size=rows * cols,
            max_size=rows * cols,
        )
    )
    counts = pd.DataFrame(np.array(cells).reshape(rows, cols))
    assert_protected(counts, threshold, zeros)


@pytest.mark.parametrize(
    ("table", "threshold", "message"),
    [
        (pd.DataFrame([[1, -2]]), 5, "non-negative"),
        (pd.DataFrame([[1.5, 2]]), 5, "whole"),
        (pd.DataFrame([[1, np.nan]]), 5, "missing"),
        (pd.DataFrame([[1, 2]]), 0, "threshold"),
        (pd.DataFrame(), 5, "empty"),
    ],
)
def test_bad_input_is_named(table, threshold, message):
    with pytest.raises(ValueError, match=message):
        suppression_status(table, threshold)
