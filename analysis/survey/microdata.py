"""Respondent-level survey microdata: a SYNTHETIC reconstruction, and tabulations of it or of a
real file in the same schema.

The 2015 practice survey and the staff survey were published only as aggregates. So that
cross-tabulations, weighting, subgroup tables and small-cell suppression can be built and
tested, this module generates synthetic respondents whose tabulation gives back every
published marginal. They are *not* study data: every file, table, caption and figure made
from them says "synthetic", and the ``tier`` column of each row is ``synthetic``.

Method (practice survey, ``generate_practice``; seed :data:`PRACTICE_SEED`)
    1. Exact target counts: each published percentage is turned into the point count of its
       rounding interval (:func:`analysis.survey.published.point_count`), with the
       denominators of :func:`analysis.survey.published.figure_counts` (stated, or assumed where
       the text gives none, as recorded in ``key_figures.csv``): 982 respondents from 184 CCGs;
       717 (73%) collaborate; of them 315 (44%) formed in 2014/15 and 602 (84%) work within one CCG;
       355 are taken to be in a formal collaboration (the 355 main collaborations of Table
       1, an assumption), of whom 234 (66%) cover 50,000+ patients, 227 (64%) are federations
       and 7 (2%) super-partnerships; 151, 100 and 97 are in the three maturity groups and
       7 gave none.
    2. Table 1 cells: published counts are used as they are. An activity the table does not
       show for a group gets a count drawn uniformly from 0 to the largest count that neither
       reading of the quarter rule would report (36 of 151, 24 of 100), so both readings give
       back the published table. The 7 respondents without a maturity cite each activity with
       probability 0.2.
    3. Ordinal findings (no numbers published): motivation counts are drawn so that
       "achieve efficiencies" and "offer extended services" are the top two, "CCG
       encouraged" third and "tendering" a few (2-6%); support needs so that managing demand
       is the most cited.
    4. Which respondents carry which attribute is a seeded random permutation within the
       nesting above (collaborating > formal > maturity group). No association between
       variables is published, so none is imposed: cross-tabulations of the reconstruction
       show only chance association and are illustrative.
    5. Every respondent has ``weight`` 1.0 (no weighting information was published).

Method (staff survey, ``generate_staff``; seed :data:`STAFF_SEED`)
    The summary names four roles and gives only their order of overall satisfaction:
    administrators and receptionists highest, GP partners among the most satisfied, salaried
    GPs lowest. Role sizes (:data:`STAFF_ROLE_SIZES`) and a 1-7 satisfaction scale are
    synthetic choices (the number of staff respondents and the scale are not in the summary).
    Scores per role are exact counts from a discretised normal distribution whose means keep
    the published order (largest-remainder rounding), shuffled with the seed.

A real microdata file is read with :func:`read_microdata` against the same schema
(:data:`PRACTICE_SCHEMA` or :data:`STAFF_SCHEMA`; the ``tier`` column is optional) and goes
through the same :func:`tabulate` and :func:`marginal_checks`.

Regenerate the stored files with ``python -m analysis.survey.microdata --write``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
from scipy import stats as sps

from analysis.core.datasets import DataError, read_table, write_csv
from analysis.core.reproduction import Check, check_from
from analysis.core.stats import round_half_up, wilson_interval, z_value
from analysis.core.suppression import TOTAL, suppress
from analysis.paths import data_dir
from analysis.survey import published as survey

PRACTICE_SEED = 20150
STAFF_SEED = 20151
SURVEYS = ("practice", "staff")
MATURITY = ("0-12 months", "13-24 months", "25+ months")
ORG_FORMS = ("federation", "super-partnership", "other")
ACTIVITIES = (
    "strategy",
    "extended_services",
    "staff_training",
    "clinical_pathways",
    "patient_access",
    "pooled_hr",
    "opening_hours",
    "new_clinics",
    "back_office",
    "new_workforce",
    "shared_it",
    "peer_review",
)
MOTIVES = ("efficiencies", "extended_services", "ccg_encouraged", "tendering")
SUPPORT = ("demand", "org_development", "legal")
ROLES = ("administrators", "receptionists", "GP partners", "salaried GPs", "other roles")
STAFF_ROLE_SIZES = {
    "administrators": 45,
    "receptionists": 70,
    "GP partners": 40,
    "salaried GPs": 35,
    "other roles": 110,
}
"""Synthetic: the summary gives no staff-survey sizes. ``other roles`` = roles it does not name."""
STAFF_SCORE_MEANS = {
    "administrators": 5.7,
    "receptionists": 5.6,
    "GP partners": 5.2,
    "other roles": 4.9,
    "salaried GPs": 4.2,
}
"""Synthetic means on a 1-7 scale, ordered as the text orders the roles."""

_FLAG = pa.Check.isin([0, 1])


def _flag(nullable: bool = True) -> pa.Column:
    return pa.Column("Int64", _FLAG, nullable=nullable)


PRACTICE_SCHEMA = pa.DataFrameSchema(
    {
        "respondent_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "ccg_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "weight": pa.Column(float, pa.Check.gt(0)),
        "collaborates": _flag(nullable=False),
        "formed_2014_15": _flag(),
        "same_ccg": _flag(),
        "formal": _flag(),
        "maturity_group": pa.Column(str, pa.Check.isin(MATURITY), nullable=True),
        "population_50k_plus": _flag(),
        "org_form": pa.Column(str, pa.Check.isin(ORG_FORMS), nullable=True),
        **{f"act_{a}": _flag() for a in ACTIVITIES},
        **{f"motive_{m}": _flag() for m in MOTIVES},
        **{f"support_{s}": _flag(nullable=False) for s in SUPPORT},
    },
    coerce=True,
)
"""One row per practice-survey respondent (binary items 1/0; empty where not asked)."""

STAFF_SCHEMA = pa.DataFrameSchema(
    {
        "respondent_id": pa.Column(str, pa.Check.str_length(min_value=1)),
        "role": pa.Column(str, pa.Check.isin(ROLES)),
        "overall_satisfaction": pa.Column("Int64", pa.Check.in_range(1, 7)),
        "weight": pa.Column(float, pa.Check.gt(0)),
    },
    coerce=True,
)
"""One row per staff-survey respondent; satisfaction 1 (low) to 7 (high)."""

_SYNTHETIC_TIER = {"tier": pa.Column(str, pa.Check.isin(["synthetic"]))}
PRACTICE_SYNTHETIC_SCHEMA = PRACTICE_SCHEMA.add_columns(_SYNTHETIC_TIER)
"""The stored synthetic practice file: :data:`PRACTICE_SCHEMA` plus ``tier`` = synthetic."""
STAFF_SYNTHETIC_SCHEMA = STAFF_SCHEMA.add_columns(_SYNTHETIC_TIER)
"""The stored synthetic staff file: :data:`STAFF_SCHEMA` plus ``tier`` = synthetic."""

SCHEMAS = {"practice": PRACTICE_SCHEMA, "staff": STAFF_SCHEMA}
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


def synthetic_path(survey_name: str) -> Path:
    """The stored synthetic file of a survey."""
    _check_survey(survey_name)
    return data_dir() / "survey" / "synthetic" / f"{survey_name}_respondents_synthetic.csv"


def _check_survey(survey_name: str) -> None:
    if survey_name not in SURVEYS:
        raise ValueError(f"parameter survey={survey_name!r}: expected one of {list(SURVEYS)}")


# --- generation -----------------------------------------------------------------------------


def practice_targets(key: pd.DataFrame, table1: pd.DataFrame) -> dict[str, int]:
    """Exact counts the practice reconstruction must contain (see the module docstring)."""
    counts = survey.figure_counts(key)
    sizes = table1.drop_duplicates("group_id").set_index("maturity_group")["n"]
    if tuple(sizes.index) != MATURITY:
        raise DataError(f"Table 1 groups {list(sizes.index)} differ from {list(MATURITY)}")
    return {
        "respondents": counts["practice_respondents"],
        "ccgs": counts["practice_respondent_ccgs"],
        "collaborates": counts["collaborating_pct"],
        "formed_2014_15": counts["formed_2014_15_pct"],
        "same_ccg": counts["same_ccg_pct"],
        "formal": counts["main_collaborations"],
        "with_maturity": counts["main_collaborations_with_maturity"],
        "population_50k_plus": counts["population_50k_pct"],
        "federation": counts["federation_pct"],
        "super-partnership": counts["super_partnership_pct"],
        **{g: int(sizes[g]) for g in MATURITY},
    }


def _choose(rng: np.random.Generator, members: np.ndarray, k: int, size: int) -> pd.Series:
    """A 0/1 column over ``size`` rows: ``k`` of ``members`` get 1, other members 0, rest NA."""
    if not 0 <= k <= len(members):
        raise ValueError(f"cannot choose {k} of {len(members)} respondents")
    column = pd.Series(pd.NA, index=range(size), dtype="Int64")
    column[members] = 0
    column[rng.permutation(members)[:k]] = 1
    return column


def _activity_counts(rng: np.random.Generator, table1: pd.DataFrame) -> dict[tuple[str, str], int]:
    """(activity, group) -> count: published where shown, else a draw under both rules' bound."""
    out = {}
    for row in table1.itertuples(index=False):
        if pd.notna(row.count):
            out[row.activity_id, row.maturity_group] = int(row.count)
        else:
            bound = min(survey.largest_unshown(row.n, r) for r in survey.RULES)
            out[row.activity_id, row.maturity_group] = int(rng.integers(0, bound + 1))
    return out


def _draw_counts(rng: np.random.Generator, n: int, ranges: list[tuple[float, float]]) -> list[int]:
    """Counts out of ``n`` with shares drawn uniformly from ``ranges``.

    Non-overlapping ranges fix the published order (e.g. motivations 45-65%, 45-65%, 25-40%
    and 2-6%: the first two always above the third, the third above the fourth).
    """
    return [int(round_half_up(rng.uniform(lo, hi) * n)) for lo, hi in ranges]


def generate_practice(key: pd.DataFrame, table1: pd.DataFrame, seed: int = PRACTICE_SEED):
    """A SYNTHETIC practice-survey file consistent with every published marginal.

    Parameters
    ----------
    key, table1
        :func:`analysis.survey.published.read_key_figures` and
        :func:`analysis.survey.published.read_table1`.
    seed
        Seed of the NumPy generator; the same seed gives the same file.

    Returns
    -------
    pandas.DataFrame
        One row per respondent in :data:`PRACTICE_SCHEMA` plus ``tier`` = ``synthetic``.
    """
    rng = np.random.default_rng(seed)
    t = practice_targets(key, table1)
    size = t["respondents"]
    frame = pd.DataFrame({"respondent_id": [f"S{i:04d}" for i in range(1, size + 1)]})
    ccg = np.concatenate([np.arange(t["ccgs"]), rng.integers(0, t["ccgs"], size - t["ccgs"])])
    frame["ccg_id"] = [f"CCG{c + 1:03d}" for c in rng.permutation(ccg)]
    frame["weight"] = 1.0
    everyone = np.arange(size)
    frame["collaborates"] = _choose(rng, everyone, t["collaborates"], size)
    collab = everyone[frame["collaborates"].eq(1).to_numpy()]
    for column in ("formed_2014_15", "same_ccg", "formal"):
        frame[column] = _choose(rng, collab, t[column], size)
    formal = rng.permutation(everyone[frame["formal"].eq(1).fillna(False).to_numpy()])
    labels = [g for g in MATURITY for _ in range(t[g])]
    labels += [pd.NA] * (len(formal) - len(labels))
    frame["maturity_group"] = pd.Series(pd.NA, index=everyone, dtype="str")
    frame.loc[formal, "maturity_group"] = labels
    frame["population_50k_plus"] = _choose(rng, formal, t["population_50k_plus"], size)
    forms = ["federation"] * t["federation"] + ["super-partnership"] * t["super-partnership"]
    forms += ["other"] * (len(formal) - len(forms))
    frame["org_form"] = pd.Series(pd.NA, index=everyone, dtype="str")
    frame.loc[rng.permutation(formal), "org_form"] = forms
    _add_activities(rng, frame, table1, formal)
    motives = _draw_counts(
        rng, len(collab), [(0.45, 0.65), (0.45, 0.65), (0.25, 0.4), (0.02, 0.06)]
    )
    for name, k in zip(MOTIVES, motives, strict=True):
        frame[f"motive_{name}"] = _choose(rng, collab, k, size)
    support = _draw_counts(rng, size, [(0.45, 0.6), (0.2, 0.35), (0.2, 0.35)])
    for name, k in zip(SUPPORT, support, strict=True):
        frame[f"support_{name}"] = _choose(rng, everyone, k, size)
    frame["tier"] = "synthetic"
    return frame[[*PRACTICE_SCHEMA.columns, "tier"]]


def _add_activities(rng, frame: pd.DataFrame, table1: pd.DataFrame, formal: np.ndarray) -> None:
    counts = _activity_counts(rng, table1)
    size = len(frame)
    no_group = formal[frame.loc[formal, "maturity_group"].isna().to_numpy()]
    for activity in ACTIVITIES:
        column = pd.Series(pd.NA, index=range(size), dtype="Int64")
        column[formal] = 0
        for group in MATURITY:
            members = formal[frame.loc[formal, "maturity_group"].eq(group).fillna(False).to_numpy()]
            column[rng.permutation(members)[: counts[activity, group]]] = 1
        column[no_group] = (rng.random(len(no_group)) < 0.2).astype(int)
        frame[f"act_{activity}"] = column


def _score_counts(n: int, mean: float, sd: float = 1.2) -> np.ndarray:
    """Exact counts of scores 1..7 for ``n`` people: a discretised normal, largest remainder."""
    edges = np.concatenate([[-np.inf], np.arange(1.5, 7.5), [np.inf]])
    share = np.diff(sps.norm.cdf(edges, loc=mean, scale=sd))
    raw = share * n
    counts = np.floor(raw).astype(int)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: n - counts.sum()]] += 1
    return counts


def generate_staff(seed: int = STAFF_SEED) -> pd.DataFrame:
    """A SYNTHETIC staff-survey file whose role means follow the published order."""
    rng = np.random.default_rng(seed)
    rows = []
    for role in ROLES:
        counts = _score_counts(STAFF_ROLE_SIZES[role], STAFF_SCORE_MEANS[role])
        rows += [
            (role, score) for score, c in zip(range(1, 8), counts, strict=True) for _ in range(c)
        ]
    frame = pd.DataFrame(rows, columns=["role", "overall_satisfaction"]).iloc[
        rng.permutation(len(rows))
    ]
    frame.insert(0, "respondent_id", [f"T{i:04d}" for i in range(1, len(frame) + 1)])
    frame["overall_satisfaction"] = frame["overall_satisfaction"].astype("Int64")
    frame["weight"] = 1.0
    frame["tier"] = "synthetic"
    return frame.reset_index(drop=True)


def write_synthetic(folder: str | os.PathLike | None = None) -> list[Path]:
    """Generate both synthetic files from the published transcriptions and write them."""
    folder = Path(folder) if folder else data_dir() / "survey" / "synthetic"
    practice = generate_practice(survey.read_key_figures(), survey.read_table1())
    staff = generate_staff()
    return [
        write_csv(practice, folder / "practice_respondents_synthetic.csv"),
        write_csv(staff, folder / "staff_respondents_synthetic.csv"),
    ]


# --- reading (synthetic or real) ------------------------------------------------------------

# Who was asked what: column -> the column whose value 1 means the respondent was asked it.
ASKED = {
    **{c: "collaborates" for c in ("formed_2014_15", "same_ccg", "formal")},
    **{f"motive_{m}": "collaborates" for m in MOTIVES},
    **{c: "formal" for c in ("population_50k_plus", "org_form")},
    **{f"act_{a}": "formal" for a in ACTIVITIES},
}
OPTIONAL_ASKED = {"maturity_group": "formal"}
"""Asked of formal collaborations but may be missing (7 of 355 gave no maturity)."""


def resolve_microdata(path: str | os.PathLike | None, survey_name: str) -> Path:
    """The file to tabulate: the synthetic one when ``path`` is empty, else ``path``
    (absolute, or relative to the repository root as for every ``path`` parameter)."""
    _check_survey(survey_name)
    if not path:
        return synthetic_path(survey_name)
    path = Path(path).expanduser()
    return path if path.is_absolute() else data_dir().parent / path


def check_asked(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Items are answered exactly by the respondents who were asked them."""
    for column, parent in {**ASKED, **OPTIONAL_ASKED}.items():
        asked = frame[parent].eq(1).fillna(False)
        survey.rows_error(
            path,
            frame,
            ~asked & frame[column].notna(),
            column,
            f"is given but {parent} is not 1 (expected empty)",
        )
        if column in ASKED:
            survey.rows_error(
                path,
                frame,
                asked & frame[column].isna(),
                column,
                f"is missing although {parent} is 1",
            )


def read_microdata(path: str | os.PathLike, survey_name: str) -> pd.DataFrame:
    """Read and validate a microdata file (synthetic or real) of ``survey_name``.

    Raises
    ------
    DataError
        Naming file, line and column for any cell that breaks the schema or the routing of
        the questionnaire (e.g. an activity given for a respondent not in a formal
        collaboration).
    """
    _check_survey(survey_name)
    frame = read_table(path, SCHEMAS[survey_name], unique=["respondent_id"], optional=["tier"])
    if "tier" in frame:
        bad = ~frame["tier"].isin(("synthetic", "user"))
        survey.rows_error(Path(path), frame, bad, "tier", "is not 'synthetic' or 'user'")
        if frame["tier"].nunique() > 1:
            raise DataError(f"{path}: column 'tier' mixes {sorted(frame['tier'].unique())}")
    if survey_name == "practice":
        check_asked(frame, Path(path))
    return frame


def microdata_tier(frame: pd.DataFrame) -> str:
    """``synthetic`` when the file says so in its ``tier`` column, else ``user``."""
    if "tier" in frame and frame["tier"].eq("synthetic").all():
        return "synthetic"
    return "user"


# --- tabulation -----------------------------------------------------------------------------

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


def prepare(frame: pd.DataFrame, survey_name: str) -> pd.DataFrame:
    """Add derived variables: staff ``satisfied`` = satisfaction 5, 6 or 7 of 7."""
    frame = frame.copy()
    if survey_name == "staff":
        frame["satisfied"] = frame["overall_satisfaction"].ge(5).astype("Int64")
    return frame


def check_grouping(frame: pd.DataFrame, survey_name: str, grouping: str) -> None:
    """The grouping variable exists for this survey and has values; else a named error."""
    _check_survey(survey_name)
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


def plot_subgroups(table: pd.DataFrame, tier: str):
    """Percentage answering ``yes`` (binary outcomes) by group with Wilson CIs."""
    import matplotlib.pyplot as plt

    part = table[table["category"].eq("yes") & table["group"].ne(TOTAL)]
    outcomes = list(dict.fromkeys(part["outcome"]))
    groups = list(dict.fromkeys(part["group"]))
    fig, ax = plt.subplots(figsize=(8.5, 0.32 * len(outcomes) * max(len(groups), 2) / 2 + 1.5))
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
    ax.set_yticks(range(len(outcomes)), outcomes, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"percent answering yes ({tier} microdata; x at 0 = suppressed)")
    ax.legend(title=str(part["grouping"].iloc[0]) if len(part) else "", fontsize=8)
    fig.tight_layout()
    return fig


# --- marginal checks ------------------------------------------------------------------------


def _pct(k: int, n: int, decimals: int = 0) -> float:
    return float(round_half_up(100 * k / n, decimals)) if n else float("nan")


def _from(row, cid: str, quantity: str, published, reproduced, must: bool) -> Check:
    return check_from(
        f"survey-micro-{cid}",
        row,
        strand=survey.STRAND,
        quantity=quantity,
        published=published,
        reproduced=reproduced,
        must_match=must,
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
    rebuilt = survey.table1_check(table1_counts(frame, table1), "rounded_percent")
    checks = []
    for group in table1.drop_duplicates("group_id").itertuples(index=False):
        checks.append(
            _from(
                group._asdict(),
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
    _check_survey(survey_name)
    return staff_checks(frame, staff, must)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the survey strand's synthetic files.")
    parser.add_argument("--write", action="store_true", help="(re)generate data/survey/synthetic")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_synthetic():
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
