"""Table 1's quarter rule: which activities the table reports, and whether it reports them.

Table 1's rule ("reported if cited by at least a quarter of respondents in the group") is
applied in two readings (:data:`RULES`): ``exact`` (``4 k >= n``) and ``rounded_percent``
(the whole-number percentage, rounded half up, is at least 25). Only the second reproduces
the published table: it shows peer review for 24 of 97 (24.7%).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd

from analysis.core.stats import round_half_up

RULES = ("exact", "rounded_percent")


def quarter_rule(count, n, rule: str = "exact") -> np.ndarray:
    """Whether an activity cited by ``count`` of ``n`` is reported under the quarter rule.

    ``exact``: ``count / n >= 1/4``. ``rounded_percent``: the whole-number percentage,
    rounded half up, is at least 25 (so 24 of 97 = 24.7% counts).
    """
    count = np.atleast_1d(np.asarray(count, dtype=float))
    n = np.broadcast_to(np.asarray(n, dtype=float), count.shape)
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if np.any(n < 1) or np.any(count < 0) or np.any(count > n):
        raise ValueError("quarter_rule needs 0 <= count <= n and n >= 1")
    if rule == "exact":
        return 4 * count >= n
    return np.array(
        [round_half_up(Fraction(int(k) * 100, int(m))) >= 25 for k, m in zip(count, n, strict=True)]
    )


def largest_unshown(n: int, rule: str = "exact") -> int:
    """The largest count of ``n`` that the rule would not report."""
    counts = np.arange(int(n) + 1)
    return int(counts[~quarter_rule(counts, n, rule)].max())


def table1_check(table1: pd.DataFrame, rule: str = "exact") -> pd.DataFrame:
    """Apply the quarter rule to every activity and group and compare with the published table.

    Cells whose count is not published are ``not checkable``; for them the rule only bounds
    the count (``max_count_if_unshown``).
    """
    known = table1["count"].notna()
    shown_by_rule = pd.Series(pd.NA, index=table1.index, dtype="boolean")
    if known.any():
        shown_by_rule[known] = quarter_rule(
            table1.loc[known, "count"], table1.loc[known, "n"], rule
        )
    shown = table1["shown"].eq(1)
    status = np.where(
        ~known,
        "not checkable",
        np.where(shown_by_rule.eq(shown).fillna(False), "match", "mismatch"),
    )
    out = table1[["activity_id", "activity", "group_id", "maturity_group", "n", "count"]].copy()
    out["percent"] = 100 * table1["count"].astype("Float64") / table1["n"]
    out["shown_published"] = shown
    out["rule"] = rule
    out["shown_by_rule"] = shown_by_rule
    out["status"] = status
    out["max_count_if_unshown"] = [largest_unshown(m, rule) for m in table1["n"]]
    return out
