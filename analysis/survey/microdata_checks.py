"""Every published marginal of a survey against its microdata.

For the synthetic reconstruction the rows are ``round_trip``: the reconstruction was
generated to match these very totals, so they are a must-match regression test of the
generator and never evidence that a figure was reproduced. For real respondent-level data
they are ``recomputed`` (informational: a mismatch is a finding).
"""

from __future__ import annotations

import pandas as pd

from analysis.core.reproduction import Check, check_from
from analysis.core.stats import round_half_up
from analysis.survey.microdata import ACTIVITIES, check_survey, microdata_tier
from analysis.survey.published import STRAND
from analysis.survey.quarter_rule import table1_check


def _pct(k: int, n: int, decimals: int = 0) -> float:
    return float(round_half_up(100 * k / n, decimals)) if n else float("nan")


ROUND_TRIP_REASON = (
    "synthetic reconstruction generated to match this figure: a regression test of the "
    "generator, not a reproduction"
)


def _from(row, cid: str, quantity: str, published, reproduced, must: bool) -> Check:
    """``must`` is True for the synthetic reconstruction (round trip), False for real data."""
    return check_from(
        f"survey-micro-{cid}",
        row,
        strand=STRAND,
        quantity=quantity,
        published=published,
        reproduced=reproduced,
        must_match=must,
        kind="round_trip" if must else "recomputed",
        reason=ROUND_TRIP_REASON if must else "",
    )


PERCENT_CHECKS = {
    "collaborating_pct": ("collaborates", lambda f: f["collaborates"].notna()),
    "formed_2014_15_pct": ("formed_2014_15", lambda f: f["collaborates"].eq(1)),
    "same_ccg_pct": ("same_ccg", lambda f: f["collaborates"].eq(1)),
    "population_50k_pct": ("population_50k_plus", lambda f: f["formal"].eq(1)),
    "federation_pct": ("org_form", lambda f: f["formal"].eq(1)),
    "super_partnership_pct": ("org_form", lambda f: f["formal"].eq(1)),
}
_POSITIVE = {"federation_pct": "federation", "super_partnership_pct": "super-partnership"}


def practice_checks(
    frame: pd.DataFrame, key: pd.DataFrame, table1: pd.DataFrame, ordinal: pd.DataFrame, must: bool
) -> list[Check]:
    """Tabulate the microdata and compare every published marginal of the practice survey."""
    tag = " (synthetic reconstruction)" if must else " (microdata)"
    rows = key.set_index("figure_id", drop=False)
    checks = [
        _from(
            rows.loc["practice_respondents"],
            "respondents",
            "respondents" + tag,
            float(rows.loc["practice_respondents", "value"]),
            float(len(frame)),
            must,
        ),
        _from(
            rows.loc["practice_respondent_ccgs"],
            "ccgs",
            "distinct CCGs of respondents" + tag,
            float(rows.loc["practice_respondent_ccgs", "value"]),
            float(frame["ccg_id"].nunique()),
            must,
        ),
        _from(
            rows.loc["main_collaborations"],
            "formal",
            "respondents in a formal (main) collaboration, assumed = Table 1's 355" + tag,
            float(rows.loc["main_collaborations", "value"]),
            float(frame["formal"].eq(1).sum()),
            must,
        ),
        _from(
            rows.loc["main_collaborations_with_maturity"],
            "with-maturity",
            "formal collaborations with a maturity" + tag,
            float(rows.loc["main_collaborations_with_maturity", "value"]),
            float(frame["maturity_group"].notna().sum()),
            must,
        ),
    ]
    for fid, (column, base) in PERCENT_CHECKS.items():
        row = rows.loc[fid]
        among = frame[base(frame).fillna(False)]
        positive = among[column].eq(_POSITIVE.get(fid, 1)).fillna(False)
        checks.append(
            _from(
                row,
                fid,
                f"{row['quantity']}, % (printed, rounded half up){tag}",
                float(row["value"]),
                _pct(int(positive.sum()), len(among), int(row["decimals"])),
                must,
            )
        )
    checks += _table1_checks(frame, table1, tag, must)
    checks += _ordinal_checks(frame, ordinal, tag, must)
    return checks


def table1_counts(frame: pd.DataFrame, table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 rebuilt from microdata: each activity's count in each maturity group."""
    grouped = frame[frame["maturity_group"].notna()]
    out = table1[
        ["activity_id", "activity", "group_id", "maturity_group", "shown", "group_position"]
    ].copy()
    out["n"] = (
        out["maturity_group"]
        .map(grouped["maturity_group"].value_counts())
        .fillna(0)
        .astype("Int64")
    )
    counts = grouped.groupby("maturity_group")[[f"act_{a}" for a in ACTIVITIES]].sum()
    out["count"] = [
        int(counts.at[g, f"act_{a}"]) if g in counts.index else 0
        for a, g in zip(out["activity_id"], out["maturity_group"], strict=True)
    ]
    out["count"] = out["count"].astype("Int64")
    return out


def _table1_checks(frame, table1, tag: str, must: bool) -> list[Check]:
    rebuilt = table1_check(table1_counts(frame, table1), "rounded_percent")
    checks = []
    for group in table1.drop_duplicates("group_id").itertuples(index=False):
        header = {
            "source_file": group.source_file,
            "source_location": "Table 1, header row",
            "source_lines": group.group_source_lines,
        }
        checks.append(
            _from(
                header,
                f"table1-n-{group.group_id}",
                f"Table 1 {group.maturity_group}: collaborations{tag}",
                float(group.n),
                float(frame["maturity_group"].eq(group.maturity_group).sum()),
                must,
            )
        )
    for pub, new in zip(
        table1.itertuples(index=False), rebuilt.itertuples(index=False), strict=True
    ):
        cid = f"table1-{pub.group_id}-{pub.activity_id}"
        if pd.notna(pub.count):
            checks.append(
                _from(
                    pub._asdict(),
                    cid + "-count",
                    f"Table 1 {pub.maturity_group}: '{pub.activity}' count{tag}",
                    float(pub.count),
                    float(new.count),
                    must,
                )
            )
        checks.append(
            _from(
                pub._asdict(),
                cid + "-shown",
                f"Table 1 {pub.maturity_group}: '{pub.activity}' "
                f"reported under the quarter rule (rounded reading){tag}",
                "shown" if pub.shown == 1 else "not shown",
                "shown" if new.shown_by_rule else "not shown",
                must,
            )
        )
    return checks


def _ordinal_checks(frame, ordinal, tag: str, must: bool) -> list[Check]:
    checks = []
    for topic, prefix, wanted in (
        ("motivation", "motive_", "practice_2015"),
        ("support_need", "support_", "practice_2015"),
    ):
        items = ordinal[ordinal["topic"].eq(topic) & ordinal["study"].eq(wanted)]
        items = items[items["rank_max"].notna()]
        columns = {r.item_id: prefix + r.item_id.split("_", 1)[1] for r in items.itertuples()}
        counts = {i: int(frame[c].eq(1).sum()) for i, c in columns.items()}
        order = sorted(counts, key=lambda i: -counts[i])
        for rank in sorted(set(items["rank_max"])):
            at = items[items["rank_max"].eq(rank)]
            published = "; ".join(sorted(at["item_id"]))
            top = order[int(rank) - len(at) : int(rank)]
            checks.append(
                _from(
                    at.iloc[0],
                    f"{topic}-rank-{rank}",
                    f"{topic}: item(s) ranked "
                    f"{int(at['rank_min'].min())}-{int(rank)} by respondents citing them{tag}",
                    published,
                    "; ".join(sorted(top)),
                    must,
                )
            )
    return checks


def staff_checks(frame: pd.DataFrame, staff: pd.DataFrame, must: bool) -> list[Check]:
    """Compare the order of role means with the published statements about satisfaction."""
    tag = " (synthetic reconstruction)" if must else " (microdata)"
    means = frame.groupby("role")["overall_satisfaction"].mean().sort_values(ascending=False)
    order = list(means.index)
    checks = []
    for standing, cid in (
        ("highest", "highest"),
        ("lowest", "lowest"),
        ("among the most satisfied", "among-most"),
    ):
        rows = staff[staff["standing"].eq(standing)]
        roles = sorted(set(rows["role"]))
        if standing == "highest":
            reproduced = sorted(order[: len(roles)])
        elif standing == "lowest":
            reproduced = sorted(order[-len(roles) :])
        else:
            reproduced = sorted(r for r in order[: len(roles)] if r in roles)
        checks.append(
            _from(
                rows.iloc[0],
                f"staff-{cid}",
                f"roles with the {standing} mean overall satisfaction{tag}",
                "; ".join(roles),
                "; ".join(reproduced),
                must,
            )
        )
    return checks


def marginal_checks(
    frame: pd.DataFrame,
    survey_name: str,
    *,
    key: pd.DataFrame,
    table1: pd.DataFrame,
    ordinal: pd.DataFrame,
    staff: pd.DataFrame,
) -> list[Check]:
    """Every published marginal of the survey against the microdata. Must-match only for the
    synthetic reconstruction (built to match); for real data a mismatch is a finding."""
    must = microdata_tier(frame) == "synthetic"
    if survey_name == "practice":
        return practice_checks(frame, key, table1, ordinal, must)
    check_survey(survey_name)
    return staff_checks(frame, staff, must)
