"""Small-cell suppression of count tables, with secondary suppression checked by linear programming.

A table of counts (rows = groups, columns = categories) is published with its row totals,
column totals and grand total. Cells under ``threshold`` are *primary* suppressed. Because
totals are published, a lone suppressed cell in a row or column could be recovered by
subtraction, so further *secondary* cells are suppressed until

1. every row and column (totals included) holds either no suppressed cell or at least two, and
2. an attacker who knows every published cell, every published total and that counts are
   non-negative cannot narrow any primary cell to values below ``threshold``: the largest
   value the cell can take, found by linear programming (:func:`cell_bounds`), is at least
   ``threshold``.

Secondary cells are chosen greedily: within the offending row or column, the smallest
non-zero interior cell, so as little as possible is hidden. Zero cells are shown by default
(``suppress_zeros=False``): a zero reveals that no respondent in a group has the attribute,
which is rarely disclosive; set it to ``True`` to treat zeros as small cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linprog

TOTAL = "Total"
PRIMARY, SECONDARY, SHOWN = "primary", "secondary", ""


def with_totals(counts: pd.DataFrame) -> pd.DataFrame:
    """Append a ``Total`` column and row to a table of non-negative whole counts."""
    values = counts.to_numpy()
    if values.size == 0:
        raise ValueError("the count table is empty")
    if np.any(pd.isna(values)) or np.any(values < 0) or np.any(values != np.floor(values)):
        raise ValueError("counts must be non-negative whole numbers with no missing cells")
    full = counts.astype("int64").copy()
    full[TOTAL] = full.sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    return full


def _lines(shape: tuple[int, int]) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Every additive relation of a table with totals: (parts, total cell)."""
    rows, cols = shape[0] - 1, shape[1] - 1
    lines = [([(i, j) for j in range(cols)], (i, cols)) for i in range(rows + 1)]
    lines += [([(i, j) for i in range(rows)], (rows, j)) for j in range(cols + 1)]
    return lines


def cell_bounds(
    full: np.ndarray, hidden: np.ndarray, targets: list[tuple[int, int]] | None = None
) -> dict[tuple[int, int], tuple[float, float]]:
    """Smallest and largest value each hidden cell can take given everything published.

    Parameters
    ----------
    full
        The table with totals (last row and column), as a 2-D array of counts.
    hidden
        Boolean mask of the same shape: cells not published.
    targets
        The hidden cells to bound (default: all).

    Returns
    -------
    dict
        ``(row, column) -> (lower, upper)``; ``upper`` is ``inf`` when unbounded.
    """
    cells = [tuple(int(x) for x in c) for c in np.argwhere(hidden)]
    index = {c: k for k, c in enumerate(cells)}
    a_eq, b_eq = _equations(full, index)
    bounds = {}
    for cell in cells if targets is None else targets:
        objective = np.zeros(len(cells))
        objective[index[cell]] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * objective, A_eq=a_eq, b_eq=b_eq, method="highs")
            ends.append(np.inf if res.status == 3 else sign * res.fun)
        bounds[cell] = (float(ends[0]), float(ends[1]))
    return bounds


def _equations(full: np.ndarray, index: dict[tuple[int, int], int]):
    """Row and column sums as equations in the hidden cells (published cells moved right)."""
    a_eq, b_eq = [], []
    for parts, total in _lines(full.shape):
        coef = np.zeros(len(index))
        rhs = 0.0
        for cell, sign in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if cell in index:
                coef[index[cell]] += sign
            else:
                rhs -= sign * full[cell]
        if coef.any():
            a_eq.append(coef)
            b_eq.append(rhs)
    return (np.array(a_eq), np.array(b_eq)) if a_eq else (None, None)


def _upper_bound_below(full: np.ndarray, hidden: np.ndarray, cell, threshold: int) -> bool:
    """True when everything published shows ``cell`` to be under ``threshold``."""
    cells = [tuple(int(x) for x in c) for c in np.argwhere(hidden)]
    index = {c: k for k, c in enumerate(cells)}
    a_eq, b_eq = _equations(full, index)
    objective = np.zeros(len(cells))
    objective[index[cell]] = -1.0
    res = linprog(objective, A_eq=a_eq, b_eq=b_eq, method="highs")
    return res.status != 3 and -res.fun < threshold


def _line_pass(full: np.ndarray, status: np.ndarray) -> bool:
    """Suppress one more cell in any line with exactly one suppressed cell; True if changed."""
    for parts, total in _lines(full.shape):
        members = parts + [total]
        hidden = [c for c in members if status[c] != SHOWN]
        if len(hidden) == 1:
            return _suppress_one(full, status, members)
    return False


def _suppress_one(full: np.ndarray, status: np.ndarray, candidates: list[tuple[int, int]]) -> bool:
    """Secondary-suppress the best candidate: interior before totals, non-zero, smallest."""
    last = (full.shape[0] - 1, full.shape[1] - 1)
    free = [c for c in candidates if status[c] == SHOWN]
    if not free:
        return False
    best = min(free, key=lambda c: (c[0] == last[0] or c[1] == last[1], full[c] == 0, full[c], c))
    status[best] = SECONDARY
    return True


def _weak_primary(full: np.ndarray, status: np.ndarray, threshold: int) -> tuple[int, int] | None:
    """The first primary cell an attacker can show to be under the threshold, if any."""
    hidden = status != SHOWN
    for cell in np.argwhere(status == PRIMARY):
        cell = (int(cell[0]), int(cell[1]))
        if _upper_bound_below(full, hidden, cell, threshold):
            return cell
    return None


def _protect(full: np.ndarray, status: np.ndarray, cell: tuple[int, int]) -> None:
    """Suppress one more cell in the weak cell's row or column, else anywhere in the table."""
    rows, cols = full.shape
    same_line = [(cell[0], j) for j in range(cols)] + [(i, cell[1]) for i in range(rows)]
    if not _suppress_one(full, status, same_line):
        _suppress_one(full, status, [(i, j) for i in range(rows) for j in range(cols)])


def suppression_status(
    counts: pd.DataFrame, threshold: int = 5, suppress_zeros: bool = False
) -> pd.DataFrame:
    """Which cells of ``counts`` and its totals to withhold, and why.

    Parameters
    ----------
    counts
        Rows = groups, columns = categories; non-negative whole counts.
    threshold
        Cells with a count under it are primary suppressed (``threshold >= 1``).
    suppress_zeros
        Treat zero cells as small cells too.

    Returns
    -------
    pandas.DataFrame
        The table with totals (:func:`with_totals` layout) holding ``"primary"``,
        ``"secondary"`` or ``""`` (published).
    """
    if int(threshold) != threshold or threshold < 1:
        raise ValueError(f"threshold must be a whole number >= 1, got {threshold!r}")
    frame = with_totals(counts)
    full = frame.to_numpy()
    small = (full < threshold) & ((full > 0) | suppress_zeros)
    status = np.where(small, PRIMARY, SHOWN).astype(object)
    while True:
        while _line_pass(full, status):
            pass
        weak = _weak_primary(full, status, threshold)
        if weak is None:
            break
        _protect(full, status, weak)
    return pd.DataFrame(status, index=frame.index, columns=frame.columns)


def suppress(
    counts: pd.DataFrame, threshold: int = 5, suppress_zeros: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table with totals, withheld cells as ``<NA>``, and its suppression status."""
    status = suppression_status(counts, threshold, suppress_zeros)
    published = with_totals(counts).astype("Int64").mask(status.ne(SHOWN))
    return published, status
