"""Reproduction checks that need only the published survey figures.

Every row here is a ``consistency`` check (published figures against each other or a
stated rule) or ``transcribed`` only. Table 1's group sizes against its total; every
checkable cell of Table 1 against its rule *as the note states it* ("at least a quarter",
line 168), so a cell that breaks it is a finding (the kinder rounded reading is shown in
the chapter beside it, never as a check); the direction of the prose restatements ("almost
three quarters") against the percentages they restate; the CCG figures against one total;
and the 2018 event report's figures, which nothing can check.
"""

from __future__ import annotations

import pandas as pd

from analysis.core.reproduction import Check, check_from
from analysis.survey.published import STRAND
from analysis.survey.quarter_rule import table1_check
from analysis.survey.rounding import implied_denominators

VERBAL = {
    "three_quarters_almost": "collaborating_pct",
    "three_quarters_over": "collaborating_pct",
    "almost_half_formed": "formed_2014_15_pct",
}
"""Prose restatements of a survey percentage: checked for the direction of 'almost'/'over'."""

UNCHECKABLE = {
    "pcc2018_same_ccg_pct": "same_ccg_pct",
    "pcc2018_population_50k_pct": "population_50k_pct",
}
"""The 2018 event report's figures, with the 2015 survey figure each may restate."""


def verbal_qualifier(percent: float, target: float) -> str:
    """``almost`` below the round figure, ``over`` above it, ``exact`` at it."""
    return "almost" if percent < target else "over" if percent > target else "exact"


def _check(cid: str, row: pd.Series | tuple, **kwargs) -> Check:
    return check_from(f"survey-{cid}", row, strand=STRAND, **kwargs)


def _where(row: pd.Series) -> str:
    return f"{row['source_location']}, line {row['source_lines']}"


def published_checks(key: pd.DataFrame, table1: pd.DataFrame) -> list[Check]:
    """Checks that need only the published figures (see the module docstring)."""
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
            must_match=False,
            kind="consistency",
            compared_with=f"Table 1, header row, line {groups['group_source_lines'].iloc[0]}",
        )
    ]
    for row in table1_check(table1, "exact").itertuples(index=False):
        if row.status == "not checkable":
            continue
        cell = table1[(table1.activity_id == row.activity_id) & (table1.group_id == row.group_id)]
        checks.append(
            _check(
                f"table1-rule-{row.group_id}-{row.activity_id}",
                cell.iloc[0],
                quantity=(
                    f"Table 1 {row.maturity_group}: '{row.activity}' {row.count} of {row.n} "
                    f"({row.percent:.1f}%) reported? Rule as stated: at least a quarter"
                ),
                published="shown" if row.shown_published else "not shown",
                reproduced="shown" if row.shown_by_rule else "not shown",
                must_match=False,
                kind="consistency",
                reason="Table 1's note (line 168): reported if cited by at least a quarter "
                "of respondents in the group",
            )
        )
    for fid, target_id in VERBAL.items():
        row = key_rows.loc[fid]
        target = key_rows.loc[target_id]
        checks.append(
            _check(
                f"verbal-{fid}",
                row,
                quantity=(
                    f"prose '{row['value_text']}' against {target['value']:g}% ({target_id}): "
                    "direction of 'almost' / 'over'"
                ),
                published=row["qualifier"],
                reproduced=verbal_qualifier(target["value"], row["value"]),
                must_match=False,
                kind="consistency",
                compared_with=f"{_where(target)} ({target['value_text']})",
            )
        )
    checks += _ccg_total(key_rows) + _uncheckable(key_rows)
    return checks


def _ccg_total(key_rows: pd.DataFrame) -> list[Check]:
    implied = implied_denominators(key_rows.reset_index(drop=True))
    both = implied[implied["figure_id"].eq("all")]
    checks = []
    for row in both.itertuples(index=False):
        first = key_rows[key_rows["population"].eq(row.population)].iloc[0]
        checks.append(
            _check(
                "implied-total-ccgs" if "CCG" in row.population else f"implied-{row.population}",
                first,
                quantity=(
                    f"{row.population}: one total consistent with every printed count and "
                    f"percentage (totals {row.n_min}-{row.n_max})"
                ),
                published="consistent",
                reproduced="consistent" if row.consistent else "no common total",
                must_match=False,
                kind="consistency",
            )
        )
    return checks


def _uncheckable(key_rows: pd.DataFrame) -> list[Check]:
    checks = []
    for fid, earlier_id in UNCHECKABLE.items():
        row, earlier = key_rows.loc[fid], key_rows.loc[earlier_id]
        checks.append(
            _check(
                f"transcribed-{fid}",
                row,
                quantity=f"{row['quantity']} ({row['value_text']}), reported December 2018",
                published=row["value_text"],
                reproduced="",
                must_match=False,
                kind="transcribed",
                reason=(
                    "the event report names no data source, population or date; it may restate "
                    f"the 2015 survey's {earlier['value_text']} ({_where(earlier)}) rather than "
                    "measure 2018"
                ),
            )
        )
    return checks
