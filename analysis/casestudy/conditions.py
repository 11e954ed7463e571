"""The conditions and outcomes of the cross-case truth table, as crisp sets.

Which coded themes may be conditions (:data:`QCA_CONDITIONS`: the drivers of difference
and the two typology dimensions) and outcomes (:data:`OUTCOMES`), and each site's crisp
membership in them. A score exactly at the threshold is the crossover of Ragin's
calibration, the point of maximum ambiguity: the site is in neither the set nor its
complement, so :func:`crisp_sets` leaves it missing and :func:`split_ambiguous` takes it
out of the analysis with a record of why, instead of assigning it silently. The truth
table itself is :mod:`analysis.casestudy.qca`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.casestudy.parameters import check_choices, check_threshold
from analysis.casestudy.sources import SITES
from analysis.casestudy.typology import DIMENSIONS

OUTCOMES = ("iagp_outcome", "financial_stability")
QCA_CONDITIONS = (
    "history",
    "ccg_relationship",
    "competition_for_members",
    "money",
    "size_geography",
    "leadership_management",
    "central_authority_style",
    *DIMENSIONS,
)


def check_qca_parameters(outcome: str, conditions: Sequence[str]) -> list[str]:
    """Validate the QCA outcome (one of :data:`OUTCOMES`) and conditions (drivers, dimensions).

    Raises
    ------
    ValueError
        Naming ``qca_outcome`` or ``qca_conditions``.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"qca_outcome: {outcome!r} is not one of {list(OUTCOMES)}")
    return check_choices("qca_conditions", conditions, QCA_CONDITIONS)


def membership_scores(scored: pd.DataFrame, theme_names: Sequence[str]) -> pd.DataFrame:
    """Sites x themes table of scores (the one scoring every check and the QCA share).

    Raises
    ------
    ValueError
        If a chosen theme has a code without a score at some site.
    """
    rows = scored[scored["theme"].isin(theme_names)]
    missing = rows[rows["score"].isna()]
    if not missing.empty:
        pairs = list(zip(missing["site"], missing["theme"], missing["code"], strict=True))
        raise ValueError(f"qca: codes without a score {pairs}; choose other conditions")
    wide = rows.pivot(index="site", columns="theme", values="score")
    wide = wide.reindex(index=[s for s in SITES if s in wide.index], columns=list(theme_names))
    wide.columns.name = None
    wide.index.name = "case"
    return wide


def crisp_sets(scored: pd.DataFrame, theme_names: Sequence[str], threshold: float) -> pd.DataFrame:
    """Crisp membership per site and theme: 1 above ``threshold``, 0 below, missing at it.

    Returns
    -------
    pandas.DataFrame
        ``Int64`` columns; a missing value marks a score exactly at the crossover.
    """
    t = check_threshold("qca_threshold", threshold)
    wide = membership_scores(scored, theme_names)
    out = (wide > t).astype("Int64")
    return out.mask(wide == t)


def split_ambiguous(crisp: pd.DataFrame, scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cases with a crisp value on every column, and a record of the cases left out.

    Returns
    -------
    tuple of pandas.DataFrame
        The complete cases as ``int`` 0/1, and ``case, set, score`` for every value at
        the crossover (a case left out once per ambiguous set).
    """
    at = crisp.isna()
    excluded = [
        {"case": case, "set": column, "score": float(scores.loc[case, column])}
        for case in crisp.index
        for column in crisp.columns
        if at.loc[case, column]
    ]
    kept = crisp[~at.any(axis=1)].astype(int)
    return kept, pd.DataFrame(excluded, columns=["case", "set", "score"])


def identical_sets(crisp: pd.DataFrame) -> pd.DataFrame:
    """Groups of columns with the same crisp values across the cases (or exact complements).

    With four cases many codings coincide; the chapter discloses them because the
    minimisation cannot tell identical conditions apart.

    Returns
    -------
    pandas.DataFrame
        ``pattern`` (the 0/1 values in case order), ``sets`` (columns with it; a ``~``
        prefix marks a column matching as the complement) and ``n_sets``.
    """
    complete = crisp.dropna()
    groups: dict[str, list[str]] = {}
    for column in complete.columns:
        values = complete[column].astype(int).tolist()
        key, flip = "".join(map(str, values)), "".join(str(1 - v) for v in values)
        if flip in groups and key not in groups:
            groups[flip].append(f"~{column}")
        else:
            groups.setdefault(key, []).append(column)
    rows = [{"pattern": k, "sets": "; ".join(v), "n_sets": len(v)} for k, v in groups.items()]
    out = pd.DataFrame(rows, columns=["pattern", "sets", "n_sets"])
    return out[out["n_sets"] > 1].reset_index(drop=True)
