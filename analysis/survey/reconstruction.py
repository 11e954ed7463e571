"""Respondent-level survey microdata: the SYNTHETIC reconstruction of the two surveys.

The 2015 practice survey and the staff survey were published only as aggregates. So that
cross-tabulations, weighting, subgroup tables and small-cell suppression can be built and
tested, this module generates synthetic respondents whose tabulation gives back every
published marginal. They are *not* study data: every file, table, caption and figure made
from them says "synthetic", and the ``tier`` column of each row is ``synthetic``.

Method (practice survey, ``generate_practice``; seed :data:`PRACTICE_SEED`)
    1. Exact target counts: each published percentage is turned into the point count of its
       rounding interval (:func:`analysis.survey.rounding.point_count`), with the
       denominators of :func:`analysis.survey.rounding.figure_counts` (stated, or assumed where
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

The files are in the schema of :mod:`analysis.survey.microdata`; a real microdata file in that
schema goes through the same tabulation (:mod:`analysis.survey.tabulation`) and checks
(:mod:`analysis.survey.microdata_checks`).

Regenerate the stored files with ``python -m analysis.survey.reconstruction --write``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.commandline import CommandParser
from analysis.core.datasets import DataError, write_csv
from analysis.core.stats import round_half_up
from analysis.paths import data_dir
from analysis.survey.microdata import (
    ACTIVITIES,
    MATURITY,
    MOTIVES,
    PRACTICE_SCHEMA,
    ROLES,
    SUPPORT,
)
from analysis.survey.published import read_key_figures, read_table1
from analysis.survey.quarter_rule import RULES, largest_unshown
from analysis.survey.rounding import figure_counts

PRACTICE_SEED = 20150
STAFF_SEED = 20151
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


def practice_targets(key: pd.DataFrame, table1: pd.DataFrame) -> dict[str, int]:
    """Exact counts the practice reconstruction must contain (see the module docstring)."""
    counts = figure_counts(key)
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
            bound = min(largest_unshown(row.n, r) for r in RULES)
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
    practice = generate_practice(read_key_figures(), read_table1())
    staff = generate_staff()
    return [
        write_csv(practice, folder / "practice_respondents_synthetic.csv"),
        write_csv(staff, folder / "staff_respondents_synthetic.csv"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        "analysis.survey.reconstruction", description="Write the survey strand's synthetic files."
    )
    parser.add_argument("--write", action="store_true", help="(re)generate data/survey/synthetic")
    args = parser.parse_args(argv)
    if args.write:
        for path in write_synthetic():
            print(path)
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
