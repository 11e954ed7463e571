"""The typology of central-authority styles (McDonald et al. 2020, Chapter 6), derived.

Each site is placed on two coded dimensions, control over members and system
proactivity (:data:`DIMENSIONS`); a score strictly above a threshold is ``high``, strictly
below it ``low``, and a score exactly at it is at the cut (:data:`AT_CUT`): the same rule as
the QCA's crisp sets (:func:`analysis.casestudy.framework.set_membership`, Ragin's
crossover), so a site at the cut is placed in neither level and its style is
:data:`UNDETERMINED`. The pair of levels names the style
(:data:`analysis.casestudy.published.STYLES`). The report states no cut: its styles are
relational (line 807). The
thresholds are parameters: :func:`threshold_ranges` gives the ones that reproduce the
published levels. The coded dimensions were read by someone who knew the published answer,
so this classification is not a check; :mod:`analysis.casestudy.definitions` derives the
styles from the report's tables and definitions and compares those with the report.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from analysis.casestudy.framework import set_membership
from analysis.casestudy.parameters import check_threshold
from analysis.casestudy.published import STYLES
from analysis.casestudy.sources import SITES
from analysis.core.layout import WIDE, is_narrow, responsive, wrap

DIMENSIONS = ("control_over_members", "system_proactivity")
AT_CUT = "at the cut"
"""The level of a dimension whose score is exactly the threshold (neither high nor low)."""
UNDETERMINED = "undetermined"
"""The style of a site at the cut on either dimension."""
LEVELS = {"in": "high", "out": "low", "crossover": AT_CUT}
STYLE_COLOURS = {
    "authoritative": "#0072B2",
    "indulgent": "#009E73",
    "neglectful": "#D55E00",
    "authoritarian": "#CC79A7",
    UNDETERMINED: "#BBBBBB",
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
    """Place each site in a quadrant: a score strictly above a threshold is ``high``,
    strictly below ``low``, exactly at it :data:`AT_CUT` (style :data:`UNDETERMINED`).

    Parameters
    ----------
    dims
        Output of :func:`dimension_scores` (``site, control, system_proactivity``).
    control_threshold, proactivity_threshold
        Cut points on the 0-1 score scale.

    Returns
    -------
    pandas.DataFrame
        ``dims`` with ``control_level``, ``proactivity_level`` (``high``, ``low`` or
        :data:`AT_CUT`) and ``style`` (authoritative, indulgent, neglectful, authoritarian,
        or :data:`UNDETERMINED` when a score is at the cut).
    """
    c = check_threshold("control_threshold", control_threshold)
    p = check_threshold("proactivity_threshold", proactivity_threshold)
    out = dims.copy()
    out["control_level"] = [LEVELS[set_membership(float(v), c)] for v in dims["control"]]
    out["proactivity_level"] = [
        LEVELS[set_membership(float(v), p)] for v in dims["system_proactivity"]
    ]
    out["style"] = [
        UNDETERMINED if AT_CUT in (a, b) else STYLES[(a == "high", b == "high")]
        for a, b in zip(out["control_level"], out["proactivity_level"], strict=True)
    ]
    return out


def threshold_ranges(dims: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """For each dimension, the thresholds that reproduce the published high/low levels.

    A threshold ``t`` reproduces them when every published-high site scores above ``t``
    and every published-low site below it: ``max(low) < t < min(high)`` (a score at the
    threshold is at the cut, in neither level).

    Returns
    -------
    pandas.DataFrame
        ``dimension, lowest, below, reproducible``: thresholds strictly between
        ``lowest`` and ``below`` work; ``reproducible`` is False when no threshold does.
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


def _quadrant_labels(ax: plt.Axes, c: float) -> None:
    spots = {
        "authoritative": ((c + 1.05) / 2, 1.02),
        "indulgent": ((c - 0.05) / 2, 1.02),
        "neglectful": ((c - 0.05) / 2, -0.09),
        "authoritarian": ((c + 1.05) / 2, -0.09),
    }
    for name, (x, y) in spots.items():
        ax.text(x, y, name, ha="center", va="bottom", style="italic", color="#444444")


@responsive
def plot_typology(
    typology: pd.DataFrame, control_threshold: float, p_threshold: float, *, width: float = WIDE
):
    """The sites on control x system proactivity, with the thresholds and quadrant names
    (on a phone's ``width``, the sites' labels go in a key below the axes)."""
    narrow = is_narrow(width)
    fig, ax = plt.subplots(
        figsize=(width, width * 0.85 + (1.6 if narrow else 0)), layout="constrained"
    )
    key = []
    ax.axvline(control_threshold, color="grey", linestyle="--", linewidth=1)
    ax.axhline(p_threshold, color="grey", linestyle="--", linewidth=1)
    for (x, y), group in typology.groupby(["control", "system_proactivity"], sort=True):
        right = x > 0.7
        for k, (_, row) in enumerate(group.iterrows()):
            ax.scatter(x, y, s=90, color=STYLE_COLOURS[row["style"]], edgecolor="black", zorder=3)
            published = row.get("published", row["style"])
            label = (
                row["style"]
                if published == row["style"]
                else f"{row['style']}; report: {published}"
            )
            text = f"{row['site']} ({label})"
            if narrow:
                key.append(f"{row['site'][0]}: {text}")
                text = row["site"][0]
            ax.annotate(
                text,
                (x, y),
                xytext=(-8 if right else 8, (-18 if y > 0.9 else 6) - 17 * k),
                textcoords="offset points",
                ha="right" if right else "left",
            )
    _quadrant_labels(ax, control_threshold)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel("control over members (score)")
    ax.set_ylabel("system proactivity (score)")
    if key:
        fig.supxlabel("\n".join(wrap(k, width * 0.95) for k in key), ha="left", x=0.02, fontsize=12)
    return fig
