"""Crisp-set qualitative comparative analysis: truth tables, consistency and coverage.

Following Ragin (2008), for a configuration (or single condition) X and an outcome Y,
with membership scores per case,

- consistency of X as sufficient for Y: sum(min(X, Y)) / sum(X)
- coverage of Y by X:                   sum(min(X, Y)) / sum(Y)
- consistency of X as necessary for Y:  sum(min(X, Y)) / sum(Y) (the same number as coverage)

For crisp sets (0/1) a case belongs to a configuration when it matches it on every
condition, so consistency is the share of the configuration's cases that show the
outcome and coverage is the share of outcome cases the configuration accounts for.

With a handful of cases these numbers describe the cases; they are not estimates
and support no inference about other federations.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd


def consistency(x: np.ndarray, y: np.ndarray) -> float:
    """Sufficiency consistency sum(min(x, y)) / sum(x); NaN when no case is in ``x``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    total = x.sum()
    return float(np.minimum(x, y).sum() / total) if total > 0 else float("nan")


def coverage(x: np.ndarray, y: np.ndarray) -> float:
    """Coverage sum(min(x, y)) / sum(y); NaN when no case shows the outcome."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    total = y.sum()
    return float(np.minimum(x, y).sum() / total) if total > 0 else float("nan")


def check_crisp(data: pd.DataFrame, outcome: str, conditions: Sequence[str]) -> list[str]:
    """Validate the outcome and condition names and that every value is 0 or 1.

    Raises
    ------
    ValueError
        Naming the ``outcome`` or ``conditions`` parameter, or the case and column of a
        value that is not 0 or 1.
    """
    if isinstance(conditions, str):
        raise ValueError(f"conditions: expected a list of column names, got {conditions!r}")
    conditions = list(conditions)
    if outcome not in data.columns:
        raise ValueError(f"outcome: {outcome!r} is not a column; have {list(data.columns)}")
    if not conditions:
        raise ValueError("conditions: at least one condition is needed")
    unknown = [c for c in conditions if c not in data.columns]
    if unknown:
        raise ValueError(f"conditions: unknown column(s) {unknown}; have {list(data.columns)}")
    if outcome in conditions or len(set(conditions)) != len(conditions):
        raise ValueError("conditions: must be distinct and must not include the outcome")
    for column in [*conditions, outcome]:
        bad = ~data[column].isin([0, 1])
        if bad.any():
            case = data.index[bad][0]
            raise ValueError(
                f"case {case!r}, column {column!r}: {data.loc[case, column]} is not 0 or 1"
            )
    return conditions


def expression(config: Sequence[int], conditions: Sequence[str]) -> str:
    """Boolean label of a configuration: ``a*~b*c`` (``~`` marks absence)."""
    return "*".join(c if v else f"~{c}" for v, c in zip(config, conditions, strict=True))


def truth_table(
    data: pd.DataFrame,
    outcome: str,
    conditions: Sequence[str],
    *,
    cutoff: float = 0.8,
    remainders: bool = True,
) -> pd.DataFrame:
    """Crisp-set truth table with consistency and coverage for each configuration.

    Parameters
    ----------
    data
        One row per case (the index names the cases), 0/1 columns.
    outcome
        The outcome column.
    conditions
        The condition columns.
    cutoff
        Consistency at or above which a configuration is coded as showing the outcome.
    remainders
        Also list the logically possible configurations that no case shows.

    Returns
    -------
    pandas.DataFrame
        One row per configuration: the conditions, ``expression``, ``n`` cases, ``cases``,
        ``n_outcome`` (cases with the outcome), ``consistency``, ``coverage``,
        ``outcome_code`` (1, 0, or missing for remainders) and ``contradictory``
        (cases both with and without the outcome). Observed configurations come first
        (most cases, then highest consistency), then remainders.
    """
    conditions = check_crisp(data, outcome, conditions)
    if not 0 <= cutoff <= 1:
        raise ValueError(f"cutoff: {cutoff} is outside [0, 1]")
    y = data[outcome].to_numpy(dtype=float)
    observed = set(map(tuple, data[conditions].to_numpy(dtype=int).tolist()))
    configs = (
        list(itertools.product((1, 0), repeat=len(conditions)))
        if remainders
        else sorted(observed, reverse=True)
    )
    rows = []
    for config in configs:
        member = (data[conditions].to_numpy(dtype=int) == np.array(config)).all(axis=1)
        x = member.astype(float)
        cons = consistency(x, y)
        rows.append(
            {
                **dict(zip(conditions, config, strict=True)),
                "expression": expression(config, conditions),
                "n": int(member.sum()),
                "cases": "; ".join(map(str, data.index[member])),
                "n_outcome": int((member & (y == 1)).sum()),
                "consistency": cons,
                "coverage": coverage(x, y),
                "outcome_code": pd.NA if np.isnan(cons) else int(cons >= cutoff),
                "contradictory": bool(0 < cons < 1) if not np.isnan(cons) else False,
            }
        )
    table = pd.DataFrame(rows)
    table["outcome_code"] = table["outcome_code"].astype("Int64")
    order = table.assign(_obs=table["n"] > 0, _c=table["consistency"].fillna(-1))
    order = order.sort_values(
        ["_obs", "n", "_c", "expression"], ascending=[False, False, False, True], kind="mergesort"
    )
    return table.loc[order.index].reset_index(drop=True)


def condition_table(data: pd.DataFrame, outcome: str, conditions: Sequence[str]) -> pd.DataFrame:
    """Each condition, present and absent, as sufficient and as necessary for the outcome.

    Returns
    -------
    pandas.DataFrame
        ``condition`` (``c`` or ``~c``), ``n`` cases in the set, and ``consistency``
        and ``coverage`` of the condition as sufficient for the outcome. Read as a
        necessary condition the roles swap: necessity consistency is sum(min(X, Y)) /
        sum(Y), the ``coverage`` column, and necessity coverage is the ``consistency``
        column.
    """
    conditions = check_crisp(data, outcome, conditions)
    y = data[outcome].to_numpy(dtype=float)
    rows = []
    for name in conditions:
        present = data[name].to_numpy(dtype=float)
        for label, x in ((name, present), (f"~{name}", 1.0 - present)):
            rows.append(
                {
                    "condition": label,
                    "n": int(x.sum()),
                    "consistency": consistency(x, y),
                    "coverage": coverage(x, y),
                }
            )
    return pd.DataFrame(rows)
