"""The typology of central-authority styles (McDonald et al. 2020, Chapter 6), derived.

Each site is placed on two coded dimensions, control over members and system
proactivity (:data:`DIMENSIONS`); a score strictly above a threshold is ``high``, and the
pair of levels names the style (:data:`analysis.casestudy.published.STYLES`). The
thresholds are parameters: :func:`threshold_ranges` gives the ones that reproduce the
published levels, and :func:`typology_checks` compares the derived styles with the
published classification.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.casestudy.parameters import check_threshold
from analysis.casestudy.published import STYLES, cross_check, one_row
from analysis.casestudy.sources import SITES, STRAND
from analysis.core.reproduction import Check, check

DIMENSIONS = ("control_over_members", "system_proactivity")
STYLE_COLOURS = {
    "authoritative": "#0072B2",
    "indulgent": "#009E73",
    "neglectful": "#D55E00",
    "authoritarian": "#CC79A7",
}


def dimension_scores(scored: pd.DataFrame) -> pd.DataFrame:
    """Each site's score on the two typology dimensions.

    Raises
    ------
    ValueError
        If a dimension code has no score (off the ordinal scale and not overridden).
    """
    dims = scored[scored["theme"].isin(DIMENSIONS)]
    missing = dims[dims["score"].isna()]
    if not missing.empty:
        pairs = list(zip(missing["site"], missing["theme"], missing["code"], strict=True))
        raise ValueError(f"typology: codes without a score {pairs}; give them one in scoring_map")
    wide = dims.pivot(index="site", columns="theme", values="score")
    sites = [s for s in SITES if s in wide.index]
    wide = wide.reindex(index=sites, columns=list(DIMENSIONS))
    wide.columns.name = None
    return wide.rename(columns={"control_over_members": "control"}).reset_index()


def classify(
    dims: pd.DataFrame, control_threshold: float = 0.5, proactivity_threshold: float = 0.5
) -> pd.DataFrame:
    """Place each site in a quadrant: a score strictly above a threshold is ``high``.

    Parameters
    ----------
    dims
        Output of :func:`dimension_scores` (``site, control, system_proactivity``).
    control_threshold, proactivity_threshold
        Cut points on the 0-1 score scale.

    Returns
    -------
    pandas.DataFrame
        ``dims`` with ``control_level``, ``proactivity_level`` (``high``/``low``) and
        ``style`` (authoritative, indulgent, neglectful or authoritarian).
    """
    c = check_threshold("control_threshold", control_threshold)
    p = check_threshold("proactivity_threshold", proactivity_threshold)
    high_c = dims["control"] > c
    high_p = dims["system_proactivity"] > p
    out = dims.copy()
    out["control_level"] = np.where(high_c, "high", "low")
    out["proactivity_level"] = np.where(high_p, "high", "low")
    out["style"] = [STYLES[(bool(a), bool(b))] for a, b in zip(high_c, high_p, strict=True)]
    return out


def threshold_ranges(dims: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """For each dimension, the thresholds that reproduce the published high/low levels.

    A threshold ``t`` reproduces them when every published-high site scores above ``t``
    and every published-low site scores at or below it: ``max(low) <= t < min(high)``.

    Returns
    -------
    pandas.DataFrame
        ``dimension, lowest, below, reproducible``: thresholds in ``[lowest, below)``
        work; ``reproducible`` is False when no threshold does.
    """
    levels = published[["site", "control", "system_proactivity"]]
    merged = dims.merge(levels, on="site", suffixes=("", "_published"))
    rows = []
    for dim in ("control", "system_proactivity"):
        level = merged[f"{dim}_published"]
        high = merged.loc[level == "high", dim]
        low = merged.loc[level == "low", dim]
        lowest = float(low.max()) if len(low) else 0.0
        below = float(high.min()) if len(high) else math.inf
        rows.append(
            {"dimension": dim, "lowest": lowest, "below": below, "reproducible": lowest < below}
        )
    return pd.DataFrame(rows)


def typology_checks(typology: pd.DataFrame, published: pd.DataFrame) -> list[Check]:
    """The derived style of each site against the published one, and no authoritarian site."""
    checks = []
    for _, row in typology.iterrows():
        pub = one_row(published, site=row["site"])
        checks.append(
            cross_check(
                f"typology_{row['site'].lower()}",
                f"Central-authority style, {row['site']}",
                pub,
                pub["style"],
                row["style"],
            )
        )
    anchor = published.iloc[0]
    checks.append(
        check(
            "cs_typology_authoritarian_count",
            strand=STRAND,
            quantity="Sites classified authoritarian",
            source_file=anchor["source_file"],
            source_location="Chapter 4, Central authority leadership and management",
            source_lines="657",
            published=0,
            reproduced=int((typology["style"] == "authoritarian").sum()),
            kind="consistency",
        )
    )
    return checks


def _quadrant_labels(ax: plt.Axes, c: float) -> None:
    spots = {
        "authoritative": ((c + 1.05) / 2, 1.02),
        "indulgent": ((c - 0.05) / 2, 1.02),
        "neglectful": ((c - 0.05) / 2, -0.09),
        "authoritarian": ((c + 1.05) / 2, -0.09),
    }
    for name, (x, y) in spots.items():
        ax.text(x, y, name, ha="center", va="bottom", fontsize=9, style="italic", color="#444444")


def plot_typology(typology: pd.DataFrame, control_threshold: float, p_threshold: float):
    """The sites on control x system proactivity, with the thresholds and quadrant names."""
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    ax.axvline(control_threshold, color="grey", linestyle="--", linewidth=1)
    ax.axhline(p_threshold, color="grey", linestyle="--", linewidth=1)
    for (x, y), group in typology.groupby(["control", "system_proactivity"], sort=True):
        right = x > 0.7
        for k, (_, row) in enumerate(group.iterrows()):
            ax.scatter(x, y, s=90, color=STYLE_COLOURS[row["style"]], edgecolor="black", zorder=3)
            ax.annotate(
                f"{row['site']} ({row['style']})",
                (x, y),
                xytext=(-8 if right else 8, (-16 if y > 0.9 else 6) - 12 * k),
                textcoords="offset points",
                ha="right" if right else "left",
                fontsize=8.5,
            )
    _quadrant_labels(ax, control_threshold)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("control over members (score)")
    ax.set_ylabel("system proactivity (score)")
    fig.tight_layout()
    return fig
