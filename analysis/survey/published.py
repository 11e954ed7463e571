"""The survey strand (issue 5): the 2015 GP/practice and CCG surveys, Table 1 and later figures.

Published figures are transcribed, with provenance, in ``data/survey/published/``:

- ``key_figures.csv``: every scalar figure (counts, percentages, prose such as "almost three
  quarters") of the 2015 surveys (Rosen et al. 2016, lines 14-168), the 2018 news report and
  NHS England's March 2018 group-membership figure (McDonald et al. 2020, Appendix 2).
- ``ordinal_findings.csv``: motivations, challenges and support needs, ranked only where the
  text ranks them (``rank_min``/``rank_max``; empty where no rank is given).
- ``table1_groups.csv``, ``table1_achievements.csv``: Table 1, every activity by maturity
  group; cells the table does not show have an empty count (not published, never guessed).
- ``staff_satisfaction.csv``: the staff-survey statements about which roles were most and
  least satisfied.

Rounding convention: a printed percentage ``p`` with ``d`` decimals is taken to be rounded
half up, so a count ``k`` of ``n`` is consistent with it when ``p - h <= 100 k / n < p + h``,
``h = 0.5 / 10**d`` (:func:`analysis.core.stats.rounding_interval`). The *point count* is the
count in that interval nearest ``p n / 100``; Wilson intervals are computed from it, and the
widest interval over the whole rounding interval is reported beside it.

Table 1's rule ("reported if cited by at least a quarter of respondents in the group") is
applied in two readings: ``exact`` (``4 k >= n``) and ``rounded_percent`` (the whole-number
percentage, rounded half up, is at least 25). Only the second reproduces the published
table: it shows peer review for 24 of 97 (24.7%).

Microdata (synthetic reconstruction, tabulation, suppression) is in
:mod:`analysis.survey.microdata` and :mod:`analysis.core.suppression`.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import DataError, file_line, read_table
from analysis.core.reproduction import Check, check_from
from analysis.core.stats import _exact, round_half_up, rounding_interval, wilson_interval
from analysis.paths import data_dir

STRAND = "surveys"
STUDIES = ("practice_2015", "ccg_2015", "both_2015", "pcc_2018", "nhse_2018")
UNITS = ("count", "percent", "percentage_points")
QUALIFIERS = ("exact", "about", "almost", "over", "some")
BASES = ("stated", "assumed", "not stated", "not applicable")
RULES = ("exact", "rounded_percent")
ID = r"^[a-z0-9_]+$"

_PROVENANCE = {
    "excerpt": pa.Column(str, nullable=True),
    "source_file": pa.Column(str, pa.Check.str_matches(r"^\d{3}_[0-9a-f]{16}\.txt$")),
    "source_lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
    "source_location": pa.Column(str),
    "note": pa.Column(str, nullable=True),
}

KEY_FIGURES_SCHEMA = pa.DataFrameSchema(
    {
        "figure_id": pa.Column(str, pa.Check.str_matches(ID)),
        "study": pa.Column(str, pa.Check.isin(STUDIES)),
        "quantity": pa.Column(str),
        "value": pa.Column(float, pa.Check.ge(0)),
        "unit": pa.Column(str, pa.Check.isin(UNITS)),
        "value_text": pa.Column(str),
        "qualifier": pa.Column(str, pa.Check.isin(QUALIFIERS)),
        "decimals": pa.Column("Int64", pa.Check.in_range(0, 3), nullable=True),
        "numerator_id": pa.Column(str, pa.Check.str_matches(ID), nullable=True),
        "denominator_id": pa.Column(str, pa.Check.str_matches(ID), nullable=True),
        "denominator_basis": pa.Column(str, pa.Check.isin(BASES)),
        "population": pa.Column(str),
        "period": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)

ORDINAL_SCHEMA = pa.DataFrameSchema(
    {
        "item_id": pa.Column(str, pa.Check.str_matches(ID)),
        "study": pa.Column(str, pa.Check.isin(STUDIES)),
        "topic": pa.Column(str, pa.Check.isin(("motivation", "challenge", "support_need"))),
        "item": pa.Column(str),
        "rank_min": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "rank_max": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "rank_basis": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)

TABLE1_GROUPS_SCHEMA = pa.DataFrameSchema(
    {
        "group_id": pa.Column(str, pa.Check.str_matches(ID)),
        "maturity_group": pa.Column(str),
        "n": pa.Column("Int64", pa.Check.ge(1)),
        "position": pa.Column("Int64", pa.Check.ge(1)),
        **_PROVENANCE,
    },
    coerce=True,
)

TABLE1_CELLS_SCHEMA = pa.DataFrameSchema(
    {
        "activity_id": pa.Column(str, pa.Check.str_matches(ID)),
        "group_id": pa.Column(str, pa.Check.str_matches(ID)),
        "activity": pa.Column(str),
        "count": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "shown": pa.Column("Int64", pa.Check.isin([0, 1])),
        "position": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        **_PROVENANCE,
    },
    coerce=True,
)

STAFF_SCHEMA = pa.DataFrameSchema(
    {
        "statement_id": pa.Column(str, pa.Check.str_matches(ID)),
        "role": pa.Column(str),
        "standing": pa.Column(
            str, pa.Check.isin(("highest", "among the most satisfied", "lowest"))
        ),
        "measure": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)


def published_path(name: str) -> Path:
    """A file of ``data/survey/published/``."""
    return data_dir() / "survey" / "published" / name


def _shown(value) -> str:
    """A cell value as a user would type it: ``'abc'``, ``380``, ``173.5`` or ``<missing>``."""
    if pd.isna(value):
        return "<missing>"
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def rows_error(path: Path, frame: pd.DataFrame, mask: pd.Series, column: str, why: str):
    """Raise a DataError naming the file, each offending line, the column and the value."""
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        lines = [
            f"  line {file_line(i)}, column {column!r}: {_shown(frame.at[i, column])} {why}"
            for i in frame.index[mask]
        ]
        raise DataError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(lines))


# --- reading the transcriptions -------------------------------------------------------------


def check_key_figures(frame: pd.DataFrame, path: str | os.PathLike = "key_figures.csv"):
    """Cross-row checks of ``key_figures.csv``; raises :class:`DataError` naming line and column."""
    ids = set(frame["figure_id"])
    percent = frame["unit"].eq("percent")
    needs_n = percent & frame["denominator_basis"].isin(("stated", "assumed"))
    numerator_unit = frame["numerator_id"].map(frame.set_index("figure_id")["unit"])
    rules = [
        (percent & frame["value"].gt(100), "value", "is a percentage over 100"),
        (frame["unit"].eq("count") & frame["value"].mod(1).ne(0), "value", "is not a whole count"),
        (
            frame["numerator_id"].notna() & ~frame["numerator_id"].isin(ids),
            "numerator_id",
            "is not a figure_id of this file",
        ),
        (
            frame["denominator_id"].notna() & ~frame["denominator_id"].isin(ids),
            "denominator_id",
            "is not a figure_id of this file",
        ),
        (
            frame["numerator_id"].notna() & numerator_unit.ne("count"),
            "numerator_id",
            "must name a count",
        ),
        (
            needs_n & frame["denominator_id"].isna(),
            "denominator_id",
            "is missing although denominator_basis is stated or assumed",
        ),
        (
            frame["denominator_id"].notna() & ~needs_n,
            "denominator_id",
            "is given but the row is not a percentage with a stated or assumed denominator",
        ),
        (
            percent & frame["qualifier"].eq("exact") & frame["decimals"].isna(),
            "decimals",
            "is missing for a printed percentage",
        ),
    ]
    for mask, column, why in rules:
        rows_error(Path(path), frame, mask, column, why)


def read_key_figures(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``key_figures.csv`` validated against :data:`KEY_FIGURES_SCHEMA` and cross-row checks."""
    path = Path(path or published_path("key_figures.csv"))
    frame = read_table(path, KEY_FIGURES_SCHEMA, unique=["figure_id"])
    check_key_figures(frame, path)
    return frame


def read_ordinal(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``ordinal_findings.csv``: ranks only where the text gives them."""
    path = Path(path or published_path("ordinal_findings.csv"))
    frame = read_table(path, ORDINAL_SCHEMA, unique=["item_id"])
    rows_error(path, frame, frame["rank_min"].gt(frame["rank_max"]), "rank_min", "exceeds rank_max")
    return frame


def read_staff(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``staff_satisfaction.csv``: which roles the text calls most and least satisfied."""
    path = Path(path or published_path("staff_satisfaction.csv"))
    return read_table(path, STAFF_SCHEMA, unique=["statement_id"])


def check_table1(cells: pd.DataFrame, groups: pd.DataFrame, path: str | os.PathLike):
    """Every cell names a known group, a count never exceeds its group's n, shown cells have
    a count and position; raises :class:`DataError` naming line and column."""
    path = Path(path)
    known = cells["group_id"].isin(groups["group_id"])
    rows_error(path, cells, ~known, "group_id", "is not a group of table1_groups.csv")
    n = cells["group_id"].map(groups.set_index("group_id")["n"])
    rows_error(path, cells, cells["count"].gt(n), "count", "exceeds its group's n")
    shown = cells["shown"].eq(1)
    rows_error(path, cells, shown & cells["count"].isna(), "count", "is missing for a shown cell")
    rows_error(
        path,
        cells,
        ~shown & cells["count"].notna(),
        "count",
        "is given for a cell the table does not show",
    )
    rows_error(path, cells, shown & cells["position"].isna(), "position", "is missing")


def read_table1(
    cells_path: str | os.PathLike | None = None, groups_path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Table 1 as one row per activity and maturity group, with the group's label and ``n``."""
    cells_path = Path(cells_path or published_path("table1_achievements.csv"))
    groups_path = Path(groups_path or published_path("table1_groups.csv"))
    groups = read_table(groups_path, TABLE1_GROUPS_SCHEMA, unique=["group_id"])
    cells = read_table(cells_path, TABLE1_CELLS_SCHEMA, unique=["activity_id", "group_id"])
    check_table1(cells, groups, cells_path)
    merged = cells.merge(
        groups[["group_id", "maturity_group", "n", "position"]].rename(
            columns={"position": "group_position"}
        ),
        on="group_id",
        how="left",
        validate="many_to_one",
    )
    return merged.sort_values(["group_position", "activity_id"], ignore_index=True)


# --- percentages, counts and intervals ------------------------------------------------------


def point_count(percent: float, n: int, decimals: int = 0) -> int:
    """The count out of ``n`` nearest ``percent * n / 100`` that still prints as ``percent``."""
    k_min, k_max = rounding_interval(percent, n, decimals)
    nearest = int(round_half_up(_exact(percent) * int(n) / 100))
    return min(max(nearest, k_min), k_max)


def denominator_interval(count: int, percent: float, decimals: int = 0) -> tuple[int, int]:
    """Totals ``n >= count`` for which ``count / n`` prints (half up) as ``percent``.

    Example: 94 CCGs printed as 45% allows 207 to 211 CCGs in all.
    """
    p, half = _exact(percent), Fraction(5, 10 ** (decimals + 1))
    if not (0 < p - half and p <= 100):
        raise ValueError(f"percent {percent} too small to bound the denominator")
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    n_min = max(math.floor(100 * count / (p + half)) + 1, int(count))
    n_max = math.floor(100 * count / (p - half))
    if n_min > n_max:
        raise ValueError(f"no total makes {count} print as {percent}%")
    return int(n_min), int(n_max)


def figure_counts(key: pd.DataFrame) -> dict[str, int]:
    """Count behind each figure that has one: counts as printed, percentages as point counts
    of their (stated or assumed) denominator, resolved recursively."""
    rows = key.set_index("figure_id")
    counts: dict[str, int] = {}

    def resolve(fid: str, seen: tuple[str, ...] = ()) -> int | None:
        if fid in seen:
            raise DataError(f"key figures: denominators form a cycle through {fid!r}")
        if fid in counts:
            return counts[fid]
        row = rows.loc[fid]
        if row["unit"] == "count":
            counts[fid] = int(row["value"])
        elif row["unit"] == "percent" and pd.notna(row["denominator_id"]):
            n = resolve(row["denominator_id"], (*seen, fid))
            counts[fid] = point_count(row["value"], n, int(row["decimals"]))
        return counts.get(fid)

    for fid in rows.index:
        resolve(fid)
    return counts


def proportions(key: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Each printed percentage with a denominator: rounding interval, point count and Wilson CI.

    Returns
    -------
    pandas.DataFrame
        One row per percentage: ``n`` and its basis (stated/assumed), ``k_min``-``k_max``
        (counts that print as the percentage), ``k_point``, the Wilson interval from the point
        count (``ci_lower``, ``ci_upper``, in percent) and the widest interval over the
        rounding interval (``ci_lower_min`` at ``k_min``, ``ci_upper_max`` at ``k_max``).
    """
    counts = figure_counts(key)
    rows = key[key["unit"].eq("percent") & key["denominator_id"].notna()]
    records = []
    for row in rows.itertuples(index=False):
        n, decimals = counts[row.denominator_id], int(row.decimals)
        k_min, k_max = rounding_interval(row.value, n, decimals)
        k = counts[row.figure_id]
        lo, hi = wilson_interval(np.array([k, k_min, k_max]), n, confidence)
        records.append(
            {
                "figure_id": row.figure_id,
                "study": row.study,
                "quantity": row.quantity,
                "percent": row.value,
                "decimals": decimals,
                "denominator_id": row.denominator_id,
                "n": n,
                "n_basis": row.denominator_basis,
                "k_min": k_min,
                "k_max": k_max,
                "k_point": k,
                "percent_point": 100 * k / n,
                "ci_lower": 100 * lo[0],
                "ci_upper": 100 * hi[0],
                "ci_lower_min": 100 * lo[1],
                "ci_upper_max": 100 * hi[2],
                "confidence": confidence,
            }
        )
    return pd.DataFrame(records)


def implied_denominators(key: pd.DataFrame) -> pd.DataFrame:
    """Totals implied by a printed count and percentage whose total the text does not give.

    Adds, per population, the intersection of the intervals (``figure_id`` = ``all``): 94 CCGs
    = 45% and 184 CCGs = 87% both hold only if England had 211 CCGs.
    """
    rows = key[key["unit"].eq("percent") & key["numerator_id"].notna()]
    values = key.set_index("figure_id")["value"]
    records = []
    for row in rows.itertuples(index=False):
        count = int(values[row.numerator_id])
        n_min, n_max = denominator_interval(count, row.value, int(row.decimals))
        records.append(
            {
                "population": row.population,
                "figure_id": row.figure_id,
                "count": count,
                "percent": row.value,
                "n_min": n_min,
                "n_max": n_max,
            }
        )
    frame = pd.DataFrame(records)
    combined = frame.groupby("population", sort=True).agg(
        n_min=("n_min", "max"), n_max=("n_max", "min")
    )
    combined = combined[frame.groupby("population")["figure_id"].count() > 1].reset_index()
    combined["figure_id"] = "all"
    combined["consistent"] = combined["n_min"] <= combined["n_max"]
    frame["consistent"] = True
    return pd.concat([frame, combined], ignore_index=True)[
        ["population", "figure_id", "count", "percent", "n_min", "n_max", "consistent"]
    ].astype({"count": "Int64"})


# --- Table 1: the quarter rule --------------------------------------------------------------


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


# --- collaboration over time ----------------------------------------------------------------

OVER_TIME = (
    ("collaborating_pct", "In a collaboration or group", 2015.0),
    ("nhse2018_group_pct", "In a collaboration or group", 2018.2),
    ("same_ccg_pct", "Collaboration within one CCG", 2015.0),
    ("pcc2018_same_ccg_pct", "Collaboration within one CCG", 2018.9),
    ("population_50k_pct", "Collaboration covering 50,000+ patients", 2015.0),
    ("pcc2018_population_50k_pct", "Collaboration covering 50,000+ patients", 2018.9),
)
"""(figure, measure, plotting year): 2015 survey, NHS England March 2018, report of Dec 2018."""


def collaboration_over_time(key: pd.DataFrame, props: pd.DataFrame) -> pd.DataFrame:
    """The 2015, March 2018 and December 2018 figures side by side, with their populations."""
    spec = pd.DataFrame(OVER_TIME, columns=["figure_id", "measure", "year"])
    cols = ["figure_id", "study", "period", "value", "value_text", "population", "note"]
    frame = spec.merge(key[cols], on="figure_id", how="left", validate="one_to_one")
    missing = frame["study"].isna()
    if missing.any():
        raise DataError(f"key figures lack {list(frame.loc[missing, 'figure_id'])}")
    ci = props.set_index("figure_id")[["ci_lower", "ci_upper", "n", "n_basis"]]
    frame = frame.join(ci, on="figure_id").rename(columns={"value": "percent"})
    return frame.astype({"n": "Int64"})


# --- reproduction checks from published figures alone ---------------------------------------

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


# --- figures --------------------------------------------------------------------------------


def plot_proportions(props: pd.DataFrame) -> plt.Figure:
    """Published percentages with Wilson intervals; grey bands span the rounding interval."""
    frame = props.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.2))
    y = np.arange(len(frame))
    ax.hlines(y, frame["ci_lower_min"], frame["ci_upper_max"], color="#cccccc", lw=7)
    ax.errorbar(
        frame["percent_point"],
        y,
        xerr=[
            frame["percent_point"] - frame["ci_lower"],
            frame["ci_upper"] - frame["percent_point"],
        ],
        fmt="none",
        ecolor="#1f4e79",
        capsize=3,
    )
    for basis, marker in (("stated", "o"), ("assumed", "o")):
        part = frame[frame["n_basis"].eq(basis)]
        face = "#1f4e79" if basis == "stated" else "white"
        ax.plot(
            part["percent"], part.index, marker, mfc=face, mec="#1f4e79", ls="", label=f"n {basis}"
        )
    labels = [f"{q} (n={n})" for q, n in zip(frame["quantity"], frame["n"], strict=True)]
    ax.set_yticks(y, [_wrap(label, 60) for label in labels], fontsize=8)
    ax.set_xlabel(
        "percent (point: published; bar: Wilson CI of the point count;\n"
        "grey: widest CI over the rounding interval)",
        fontsize=8,
    )
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_table1(rule_table: pd.DataFrame) -> plt.Figure:
    """Table 1 as percentages of each maturity group; hatched bars bound unpublished cells."""
    groups = rule_table.drop_duplicates("group_id")[["group_id", "maturity_group"]]
    activities = (
        rule_table.groupby("activity_id")["percent"].max().sort_values(na_position="first").index
    )
    labels = rule_table.drop_duplicates("activity_id").set_index("activity_id")["activity"]
    fig, ax = plt.subplots(figsize=(8.5, 6))
    y_of = {a: i for i, a in enumerate(activities)}
    colours = ["#a6cee3", "#1f78b4", "#08306b"]
    for j, (gid, label) in enumerate(groups.itertuples(index=False)):
        part = rule_table[rule_table["group_id"].eq(gid)]
        y = part["activity_id"].map(y_of) + (j - 1) * 0.25
        shown = part["count"].notna()
        ax.barh(
            y[shown],
            part.loc[shown, "percent"].astype(float),
            height=0.24,
            color=colours[j],
            label=label,
        )
        bound = 100 * part.loc[~shown, "max_count_if_unshown"] / part.loc[~shown, "n"]
        ax.barh(
            y[~shown], bound, height=0.24, color="none", edgecolor=colours[j], hatch="///", lw=0.5
        )
    ax.axvline(25, color="#b00020", lw=1, ls="--", label="a quarter of the group")
    ax.set_yticks(range(len(activities)), [_wrap(labels[a], 45) for a in activities], fontsize=8)
    ax.set_xlabel(
        "percent of the maturity group citing the activity\n"
        "(hatched: not published, at most the rule's bound)"
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_collaboration_over_time(frame: pd.DataFrame) -> plt.Figure:
    """One panel per measure: the 2015 survey (with Wilson CI) beside the 2018 figures."""
    measures = list(dict.fromkeys(frame["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(11, 3.8), sharey=True)
    style = {
        "practice_2015": ("o", "#1f4e79"),
        "nhse_2018": ("s", "#33a02c"),
        "pcc_2018": ("D", "#e6550d"),
    }
    for ax, measure in zip(np.atleast_1d(axes), measures, strict=True):
        part = frame[frame["measure"].eq(measure)]
        for row in part.itertuples(index=False):
            marker, colour = style[row.study]
            ax.plot(row.year, row.percent, marker, color=colour, ms=7)
            if pd.notna(row.ci_lower):
                ax.vlines(row.year, row.ci_lower, row.ci_upper, color=colour)
            ax.annotate(
                f"{row.value_text}\n{_wrap(row.population, 22)}",
                (row.year, row.percent),
                xytext=(6, -4),
                textcoords="offset points",
                fontsize=7,
                va="top",
            )
        ax.set_title(_wrap(measure, 30), fontsize=9)
        ax.set_xlim(2014.5, 2019.6)
        ax.set_xticks([2015, 2016, 2017, 2018, 2019])
        ax.grid(axis="y", color="#eeeeee")
    np.atleast_1d(axes)[0].set_ylabel("percent")
    np.atleast_1d(axes)[0].set_ylim(0, 100)
    handles = [plt.Line2D([], [], marker=m, color=c, ls="") for m, c in style.values()]
    fig.legend(
        handles,
        [
            "2015 survey respondents (Wilson CI; n partly assumed)",
            "NHS England, March 2018 (practices)",
            "Event report, Dec 2018 (source not given)",
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.05),
        ncol=3,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.15, 1, 1))
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width))


def describe_rule_mismatches(rule_table: pd.DataFrame) -> str:
    """Markdown bullets for published cells a reading of the quarter rule would not report."""
    wrong = rule_table[rule_table["status"].eq("mismatch")]
    lines = [
        f"- {r.rule.replace('_', ' ')} reading: **{r.activity}** ({r.maturity_group}) is shown "
        f"with {r.count} of {r.n} = {r.percent:.1f}%, which this reading would not report."
        for r in wrong.itertuples(index=False)
    ]
    return "\n".join(lines) or "- Every reading reproduces every published cell."
