"""The conditions and outcomes of the cross-case truth table, as crisp sets.

Which coded themes may be conditions (:data:`QCA_CONDITIONS`: the drivers of difference
and the two typology dimensions) and outcomes (:data:`OUTCOMES`), and each site's crisp
membership in them. The truth table itself is :mod:`analysis.casestudy.qca`.
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


def crisp_sets(scored: pd.DataFrame, theme_names: Sequence[str], threshold: float) -> pd.DataFrame:
    """Crisp membership (1 when the score is strictly above ``threshold``) per site and theme.

    Raises
    ------
    ValueError
        If a chosen theme has a code without a score at some site.
    """
    t = check_threshold("qca_threshold", threshold)
    rows = scored[scored["theme"].isin(theme_names)]
    missing = rows[rows["score"].isna()]
    if not missing.empty:
        pairs = list(zip(missing["site"], missing["theme"], missing["code"], strict=True))
        raise ValueError(f"qca: codes without a score {pairs}; choose other conditions")
    wide = rows.pivot(index="site", columns="theme", values="score")
    wide = wide.reindex(index=[s for s in SITES if s in wide.index], columns=list(theme_names))
    out = (wide > t).astype(int)
    out.columns.name = None
    out.index.name = "case"
    return out
