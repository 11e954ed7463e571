"""How far the QCA result depends on choices: defensible alternative codes, scoring maps and
crisp-set thresholds.

The alternative codes (``alternatives.csv``) are the readings the review contested, each
with the lines that support it. :func:`qca_run` is one analysis (crisp sets, the cases at
the crossover taken out, truth table, minimisation); :func:`qca_sensitivity` repeats it over
every combination and keeps the solutions side by side.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy import qca
from analysis.casestudy.conditions import (
    crisp_sets,
    identical_sets,
    membership_scores,
    split_ambiguous,
)
from analysis.casestudy.framework import NAMED_MAPS, parse_scoring_map, score
from analysis.casestudy.minimise import minimise
from analysis.casestudy.sources import (
    SITES,
    at_cell,
    data_path,
    file_problems,
    provenance_columns,
)
from analysis.core.datasets import read_table

ALTERNATIVES_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "theme": Column(str),
        "code": Column(str),
        "rationale": Column(str),
        **provenance_columns(),
    },
    strict=True,
)
DIRECTIONS = {
    "history": 1,
    "ccg_relationship": 1,
    "money": 1,
    "size_geography": 1,
    "leadership_management": 1,
    "central_authority_style": 1,
    "control_over_members": 1,
    "system_proactivity": 1,
}
"""Expected direction of each condition for the intermediate solution: the top of each scale
was expected to help a federation succeed. Competition for members has no expectation (the
report finds it both eased demands on members, line 817, and distanced the CCG, line 740)."""
THRESHOLDS = (0.4, 0.5, 0.6)


def read_alternatives(
    path: Path | None = None, evidence: pd.DataFrame | None = None, codebook=None
) -> pd.DataFrame:
    """Alternative codes for contested judgements, each on its theme's scale and different.

    Raises
    ------
    DataError
        Naming file, line and column of an alternative with no judgement, off its scale, or
        equal to the code it replaces.
    """
    path = path or data_path("alternatives")
    alt = read_table(path, ALTERNATIVES_SCHEMA, unique=["site", "theme"])
    if evidence is None or codebook is None:
        return alt
    coded = evidence.set_index(["site", "theme"])["code"]
    scales = codebook.groupby("theme")["code"].apply(set)
    problems = []
    for i, row in alt.iterrows():
        key = (row["site"], row["theme"])
        if key not in coded.index:
            problems.append(at_cell(i, "theme", f"no judgement for {key} in evidence.csv"))
        elif row["code"] not in scales[row["theme"]]:
            problems.append(
                at_cell(i, "code", f"{row['code']!r} is not on the {row['theme']!r} scale")
            )
        elif row["code"] == coded[key]:
            problems.append(at_cell(i, "code", f"{row['code']!r} is already the coded value"))
    if problems:
        raise file_problems(path, problems)
    return alt


def codings(evidence: pd.DataFrame, alternatives: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The evidence as coded, with each alternative alone, and with all alternatives."""
    out = {"as coded": evidence}

    def apply(rows: pd.DataFrame) -> pd.DataFrame:
        changed = evidence.copy()
        for row in rows.itertuples(index=False):
            where = (changed["site"] == row.site) & (changed["theme"] == row.theme)
            changed.loc[where, "code"] = row.code
        return changed

    for row in alternatives.itertuples(index=False):
        out[f"{row.site} {row.theme}: {row.code}"] = apply(pd.DataFrame([row._asdict()]))
    if len(alternatives) > 1:
        out["all alternatives"] = apply(alternatives)
    return out


@dataclass(frozen=True)
class QCAResult:
    """One crisp-set analysis: the sets, the cases left out, the truth table and solutions."""

    scores: pd.DataFrame
    crisp: pd.DataFrame
    excluded: pd.DataFrame
    identical: pd.DataFrame
    truth: pd.DataFrame
    conditions: pd.DataFrame
    solutions: pd.DataFrame


def qca_run(
    scored: pd.DataFrame,
    outcome: str,
    conditions: Sequence[str],
    threshold: float,
    directions: Mapping[str, int] | None = None,
) -> QCAResult:
    """Crisp sets, crossover cases out, truth table, single conditions and minimisation.

    With no complete case left the truth table and solutions are empty.
    """
    columns = [*conditions, outcome]
    scores = membership_scores(scored, columns)
    crisp = crisp_sets(scored, columns, threshold)
    kept, excluded = split_ambiguous(crisp, scores)
    dirs = {
        c: v
        for c, v in (directions if directions is not None else DIRECTIONS).items()
        if c in conditions
    }
    if kept.empty:
        empty = pd.DataFrame()
        return QCAResult(scores, crisp, excluded, identical_sets(crisp), empty, empty, empty)
    truth = qca.truth_table(kept, outcome, conditions)
    return QCAResult(
        scores=scores,
        crisp=crisp,
        excluded=excluded,
        identical=identical_sets(crisp),
        truth=truth,
        conditions=qca.condition_table(kept, outcome, conditions),
        solutions=minimise(truth, kept, outcome, conditions, directions=dirs),
    )


def case_summary(result: QCAResult, threshold: float) -> pd.DataFrame:
    """How many cases enter the analysis and why the others do not: one row.

    Columns: ``sites`` given, ``cases_in`` (a crisp value on every set), ``cases_out``,
    ``threshold``, ``left_out`` (each case left out with the sets whose score is exactly at
    the threshold, ``Small (ccg_relationship 0.5, iagp_outcome 0.5)``; empty when none),
    ``observed_rows`` and ``remainder_rows`` of the truth table.
    """
    left = result.excluded
    reasons = {
        case: ", ".join(f"{r.set} {r.score:g}" for r in part.itertuples(index=False))
        for case, part in left.groupby("case", sort=False)
    }
    truth = result.truth
    observed = int((truth["n"] > 0).sum()) if not truth.empty else 0
    return pd.DataFrame(
        [
            {
                "sites": len(result.crisp),
                "cases_in": len(result.crisp) - len(reasons),
                "cases_out": len(reasons),
                "threshold": float(threshold),
                "left_out": "; ".join(f"{case} ({why})" for case, why in reasons.items()),
                "observed_rows": observed,
                "remainder_rows": len(truth) - observed,
            }
        ]
    )


def _solutions(solutions: pd.DataFrame, kind: str) -> str:
    if solutions.empty:
        return "no case left"
    part = solutions[solutions["solution"] == kind]
    return " | ".join(part["expression"])


def qca_sensitivity(
    evidence: pd.DataFrame,
    codebook: pd.DataFrame,
    alternatives: pd.DataFrame,
    outcomes: Sequence[str],
    conditions: Sequence[str],
    *,
    maps: Sequence[str] = tuple(NAMED_MAPS),
    thresholds: Sequence[float] = THRESHOLDS,
) -> pd.DataFrame:
    """The QCA over every coding x scoring map x threshold x outcome.

    Returns
    -------
    pandas.DataFrame
        One row per combination: ``coding, scoring_map, threshold, outcome``, ``cases``
        used, ``left_out`` (case: set at the crossover), ``complex``, ``parsimonious`` and
        ``intermediate`` solutions (equally minimal models separated by `` | ``) and
        ``n_parsimonious`` models.
    """
    rows = []
    variants = codings(evidence, alternatives)
    for (name, coded), scoring_map, t, outcome in itertools.product(
        variants.items(), maps, thresholds, outcomes
    ):
        scored = score(coded, parse_scoring_map(scoring_map, codebook))
        result = qca_run(scored, outcome, conditions, t)
        left = result.excluded
        sol = result.solutions
        rows.append(
            {
                "coding": name,
                "scoring_map": scoring_map,
                "threshold": t,
                "outcome": outcome,
                "cases": len(result.crisp) - left["case"].nunique()
                if not left.empty
                else len(result.crisp),
                "left_out": "; ".join(sorted({f"{r.case} ({r.set})" for r in left.itertuples()})),
                "complex": _solutions(sol, "complex"),
                "parsimonious": _solutions(sol, "parsimonious"),
                "intermediate": _solutions(sol, "intermediate"),
                "n_parsimonious": 0
                if sol.empty
                else int((sol["solution"] == "parsimonious").sum()),
            }
        )
    return pd.DataFrame(rows)
