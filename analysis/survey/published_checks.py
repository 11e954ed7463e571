"""Reproduction checks that need only the published survey figures.

Table 1's group sizes against its total, every checkable cell of Table 1 under both readings
of the quarter rule (only the rounded reading must match), and the direction of the prose
restatements ("almost three quarters") against the percentages they restate.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.reproduction import Check, check_from
from analysis.survey.published import STRAND
from analysis.survey.quarter_rule import table1_check

VERBAL = {
    "three_quarters_almost": "collaborating_pct",
    "three_quarters_over": "collaborating_pct",
    "almost_half_formed": "formed_2014_15_pct",
}
"""Prose restatements of a survey percentage: checked for the direction of 'almost'/'over'."""


def verbal_qualifier(percent: float, target: float) -> str:
    """``almost`` below the round figure, ``over`` above it, ``exact`` at it."""
    return "almost" if percent < target else "over" if percent > target else "exact"


def _check(cid: str, row: pd.Series | tuple, **kwargs) -> Check:
    return check_from(f"survey-{cid}", row, strand=STRAND, **kwargs)


def published_checks(key: pd.DataFrame, table1: pd.DataFrame) -> list[Check]:
    """Checks that need only the published figures: Table 1's group sizes and quarter rule,
    and the direction of the prose restatements."""
    key_rows = key.set_index("figure_id", drop=False)
    total = key_rows.loc["main_collaborations_with_maturity"]
    groups = table1.drop_duplicates("group_id")
    checks = [
        _check(
            "table1-total",
            total,
            quantity="Table 1: collaborations with a maturity (sum of the group sizes)",
            published=float(total["value"]),
            reproduced=float(groups["n"].sum()),
        )
    ]
    for rule, must in (("rounded_percent", True), ("exact", False)):
        for row in table1_check(table1, rule).itertuples(index=False):
            if row.status == "not checkable":
                continue
            cell = table1[
                (table1.activity_id == row.activity_id) & (table1.group_id == row.group_id)
            ]
            checks.append(
                _check(
                    f"table1-{rule}-{row.group_id}-{row.activity_id}",
                    cell.iloc[0],
                    quantity=(
                        f"Table 1 {row.maturity_group}: '{row.activity}' {row.count} of {row.n} "
                        f"reported? (quarter rule, {rule.replace('_', ' ')} reading)"
                    ),
                    published="shown" if row.shown_published else "not shown",
                    reproduced="shown" if row.shown_by_rule else "not shown",
                    must_match=must,
                )
            )
    for fid, target_id in VERBAL.items():
        row = key_rows.loc[fid]
        checks.append(
            _check(
                f"verbal-{fid}",
                row,
                quantity=(
                    f"prose '{row['value_text']}' against {key_rows.loc[target_id, 'value']:g}% "
                    f"({target_id}); prose, so not must-match"
                ),
                published=row["qualifier"],
                reproduced=verbal_qualifier(key_rows.loc[target_id, "value"], row["value"]),
                must_match=False,
            )
        )
    return checks
