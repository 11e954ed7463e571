"""Tabulating survey microdata: every outcome by a grouping variable, small cells suppressed.

Counts are respondents; percentages and their Wilson intervals are weighted (``weight``),
the intervals using Kish's effective sample size. Small counts are suppressed with
:mod:`analysis.core.suppression`, and a percentage is withheld whenever its count or its
group total is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core.layout import WIDE, is_narrow, key_height, responsive, wrap
from analysis.core.stats import wilson_interval, z_value
from analysis.core.suppression import TOTAL, suppress
from analysis.survey.microdata import (
    ACTIVITIES,
    ASKED,
    MATURITY,
    MOTIVES,
    OPTIONAL_ASKED,
    ORG_FORMS,
    ROLES,
    SUPPORT,
    check_survey,
    prepare,
)

GROUPINGS = {
    "practice": (
        "maturity_group",
        "org_form",
        "formed_2014_15",
        "same_ccg",
        "population_50k_plus",
        "collaborates",
    ),
    "staff": ("role",),
}
"""Grouping variables each survey offers (the notebook's ``grouping`` parameter)."""

ALL_GROUPINGS = tuple(dict.fromkeys(g for gs in GROUPINGS.values() for g in gs))

OUTCOMES = {
    "practice": (
        "collaborates",
        "formed_2014_15",
        "same_ccg",
        "formal",
        "maturity_group",
        "population_50k_plus",
        "org_form",
        *(f"act_{a}" for a in ACTIVITIES),
        *(f"motive_{m}" for m in MOTIVES),
        *(f"support_{s}" for s in SUPPORT),
    ),
    "staff": ("satisfied", "overall_satisfaction"),
}
LEVELS = {
    "maturity_group": MATURITY,
    "org_form": ORG_FORMS,
    "role": ROLES,
    "overall_satisfaction": tuple(str(s) for s in range(1, 8)),
}
"""Category order of non-binary variables; binary (0/1) variables are ``yes``/``no``."""


def check_grouping(frame: pd.DataFrame, survey_name: str, grouping: str) -> None:
    """The grouping variable exists for this survey and has values; else a named error."""
    check_survey(survey_name)
    if grouping not in GROUPINGS[survey_name]:
        raise ValueError(
            f"parameter grouping={grouping!r} is not a grouping variable of the {survey_name} "
            f"survey; choose one of {list(GROUPINGS[survey_name])}"
        )
    if grouping not in frame or frame[grouping].isna().all():
        raise ValueError(f"parameter grouping={grouping!r}: the microdata has no values for it")


def _ancestors(column: str) -> set[str]:
    parents = {**ASKED, **OPTIONAL_ASKED}
    found = set()
    while column in parents:
        column = parents[column]
        found.add(column)
    return found


def outcomes_for(survey_name: str, grouping: str) -> list[str]:
    """Outcomes tabulated by ``grouping``: all but itself and the items that route to it."""
    skip = {grouping} | _ancestors(grouping)
    return [o for o in OUTCOMES[survey_name] if o not in skip]


def _labels(series: pd.Series, column: str) -> pd.Series:
    if column in LEVELS:
        return series.astype("str").where(series.notna())
    return series.map({1: "yes", 0: "no"})


def _levels(column: str) -> list[str]:
    return list(LEVELS.get(column, ("yes", "no")))


def crosstab(frame: pd.DataFrame, grouping: str, outcome: str) -> dict[str, pd.DataFrame]:
    """Respondents, sum of weights and sum of squared weights by group and category.

    Respondents missing the group or the outcome are left out; every level appears.
    """
    data = pd.DataFrame(
        {
            "group": _labels(frame[grouping], grouping),
            "category": _labels(frame[outcome], outcome),
            "w": frame["weight"].astype(float),
        }
    ).dropna(subset=["group", "category"])
    data["w2"] = data["w"] ** 2
    data["n"] = 1
    sums = data.groupby(["group", "category"])[["n", "w", "w2"]].sum()
    index, columns = _levels(grouping), _levels(outcome)
    return {
        value: sums[value]
        .unstack("category")
        .reindex(index=index, columns=columns)
        .fillna(0)
        .astype(int if value == "n" else float)
        for value in ("n", "w", "w2")
    }


def _with_totals(table: pd.DataFrame) -> pd.DataFrame:
    full = table.astype(float).copy()
    full[TOTAL] = full.sum(axis=1)
    full.loc[TOTAL] = full.sum(axis=0)
    return full


def tabulate_outcome(
    frame: pd.DataFrame, grouping: str, outcome: str, confidence: float, threshold: int
) -> pd.DataFrame:
    """One outcome by group: suppressed counts, weighted row percentages and Wilson CIs.

    Percentages are weighted; their Wilson interval uses Kish's effective sample size
    ``(sum w)^2 / sum w^2`` of the group. A percentage is withheld whenever its count or
    its group total is suppressed, since either would let the other be recovered.
    """
    tables = crosstab(frame, grouping, outcome)
    published, status = suppress(tables["n"], threshold)
    w, w2 = _with_totals(tables["w"]), _with_totals(tables["w2"])
    long = published.stack(future_stack=True).rename("count").reset_index()
    long.columns = ["group", "category", "count"]
    long["suppressed"] = status.stack(future_stack=True).to_numpy()
    share = w.div(w[TOTAL], axis=0).stack(future_stack=True).to_numpy()
    n_eff = (w[TOTAL] ** 2 / w2[TOTAL]).reindex(long["group"]).to_numpy()
    long["percent"] = 100 * share
    long["n_effective"] = n_eff
    ok = np.isfinite(share) & (n_eff > 0)
    lower, upper = np.full(len(long), np.nan), np.full(len(long), np.nan)
    if ok.any():
        lo, hi = wilson_interval(share[ok] * n_eff[ok], n_eff[ok], confidence)
        lower[ok], upper[ok] = 100 * lo, 100 * hi
    long["ci_lower"], long["ci_upper"] = lower, upper
    row_hidden = status[TOTAL].reindex(long["group"]).ne("").to_numpy()
    hide = long["suppressed"].ne("").to_numpy() | row_hidden | long["category"].eq(TOTAL).to_numpy()
    long.loc[hide, ["percent", "ci_lower", "ci_upper"]] = np.nan
    long.loc[row_hidden, "n_effective"] = np.nan
    long.insert(0, "outcome", outcome)
    long.insert(1, "grouping", grouping)
    return long


def tabulate(
    frame: pd.DataFrame,
    survey_name: str,
    grouping: str,
    confidence: float = 0.95,
    threshold: int = 5,
) -> pd.DataFrame:
    """Every outcome of the survey by ``grouping``, small cells suppressed (see
    :mod:`analysis.core.suppression`), in one long table."""
    z_value(confidence)
    frame = prepare(frame, survey_name)
    check_grouping(frame, survey_name, grouping)
    parts = [
        tabulate_outcome(frame, grouping, outcome, confidence, threshold)
        for outcome in outcomes_for(survey_name, grouping)
    ]
    out = pd.concat(parts, ignore_index=True)
    out["confidence"] = confidence
    out["threshold"] = threshold
    return out


def coverage(frame: pd.DataFrame, survey_name: str, grouping: str) -> pd.DataFrame:
    """Per outcome: respondents tabulated and respondents left out for a missing group."""
    frame = prepare(frame, survey_name)
    records = []
    for outcome in outcomes_for(survey_name, grouping):
        answered = frame[outcome].notna()
        records.append(
            {
                "outcome": outcome,
                "tabulated": int((answered & frame[grouping].notna()).sum()),
                "missing_group": int((answered & frame[grouping].isna()).sum()),
            }
        )
    return pd.DataFrame(records)


@responsive
def plot_subgroups(table: pd.DataFrame, tier: str, *, width: float = WIDE):
    """Percentage answering ``yes`` (binary outcomes) by group with Wilson CIs."""
    import matplotlib.pyplot as plt

    from analysis.core.figures import category_labels, place_legend

    part = table[table["category"].eq("yes") & table["group"].ne(TOTAL)]
    outcomes = list(dict.fromkeys(part["outcome"]))
    groups = list(dict.fromkeys(part["group"]))
    row = max(0.24 * max(len(groups), 2), 0.6)
    fig, ax = plt.subplots(
        figsize=(
            width,
            row * len(outcomes) + 2.4 + 0.25 * len(groups) + key_height(outcomes, width),
        ),
        layout="constrained",
    )
    palette = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(groups)))
    step = 0.8 / max(len(groups), 1)
    for j, group in enumerate(groups):
        rows = part[part["group"].eq(group)].set_index("outcome").reindex(outcomes)
        y = np.arange(len(outcomes)) + (j - (len(groups) - 1) / 2) * step
        shown = rows["percent"].notna().to_numpy()
        ax.errorbar(
            rows["percent"][shown],
            y[shown],
            xerr=[
                (rows["percent"] - rows["ci_lower"])[shown],
                (rows["ci_upper"] - rows["percent"])[shown],
            ],
            fmt="o",
            ms=4,
            color=palette[j],
            capsize=2,
            label=str(group),
        )
        ax.plot(np.zeros((~shown).sum()), y[~shown], "x", color=palette[j], ms=5)
    ax.invert_yaxis()
    category_labels(ax, range(len(outcomes)), outcomes, width=width)
    ax.set_ylim(len(outcomes) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xlabel(
        wrap(
            f"percent answering yes ({tier} microdata; x at 0 = suppressed)",
            width if is_narrow(width) else width * 0.55,
        )
    )
    title = str(part["grouping"].iloc[0]) if len(part) else ""
    place_legend(fig, ax, *ax.get_legend_handles_labels(), width=width, title=title)
    return fig
