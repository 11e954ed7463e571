"""Figures of the primary-care-network chapter, drawn with seaborn from its REAL result tables.

Each function takes tables of :mod:`analysis.indicators.networks` and returns one figure;
the notebook saves it with :func:`analysis.core.figures.save_figure` (tier ``real``).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats as sps  # noqa: E402

POSITION_COLOURS = {
    "below 99.8%": "#b2182b",
    "below 95%": "#ef8a62",
    "within 95%": "#bdbdbd",
    "above 95%": "#67a9cf",
    "above 99.8%": "#2166ac",
}


def funnel_figure(funnel: pd.DataFrame, national: pd.DataFrame) -> plt.Figure:
    """Each organisation's mean percentage of available points against its member practices.

    Parameters
    ----------
    funnel
        :func:`analysis.indicators.networks.organisation_funnel`.
    national
        :func:`analysis.indicators.networks.national_comparator` (the row of the funnel's year
        gives the centre line and the between-practice SD).
    """
    year = int(funnel["year"].iloc[0])
    england = national.set_index("year").loc[year]
    fig, ax = plt.subplots(figsize=(8, 5))
    rng = np.random.default_rng(0)  # horizontal jitter only, so points of equal size separate
    shown = funnel.assign(x=funnel["n_practices"] + rng.uniform(-0.25, 0.25, len(funnel)))
    sns.scatterplot(
        data=shown,
        x="x",
        y="mean_pct",
        hue="position",
        hue_order=list(POSITION_COLOURS),
        palette=POSITION_COLOURS,
        s=14,
        linewidth=0,
        ax=ax,
    )
    grid = np.linspace(1, max(funnel["n_practices"].max(), 2), 300)
    for confidence, style in ((0.95, "--"), (0.998, "-")):
        half = sps.norm.ppf(0.5 + confidence / 2) * england["sd"] / np.sqrt(grid)
        for sign in (-1, 1):
            ax.plot(grid, england["value"] + sign * half, style, color="#444444", lw=0.9)
    ax.axhline(england["value"], color="#1f4e79", lw=1.2)
    ax.set_ylim(max(funnel["mean_pct"].min() - 2, 0), 101)
    ax.set_xlabel("member practices in the network")
    ax.set_ylabel("mean % of available QOF points")
    ax.set_title(
        f"REAL data: {len(funnel):,} networks against England, QOF {year}-{(year + 1) % 100:02d}",
        fontsize=11,
    )
    ax.legend(title="against England", fontsize=8, title_fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def variance_figure(partition: pd.DataFrame, sensitivity: pd.DataFrame) -> plt.Figure:
    """Between-network and within-network SD per year, under each membership rule."""
    long = sensitivity.melt(
        id_vars=["rule", "year"],
        value_vars=["between_sd", "within_sd"],
        var_name="component",
        value_name="sd",
    )
    long["component"] = long["component"].map(
        {"between_sd": "between networks", "within_sd": "between practices within a network"}
    )
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.lineplot(data=long, x="year", y="sd", hue="component", style="rule", markers=True, ax=ax)
    ax.set_xticks(sorted(partition["year"].unique()))
    ax.set_ylabel("SD, percentage points of available QOF points")
    ax.set_xlabel("financial year (start)")
    ax.set_title("REAL data: where the variation in QOF achievement lies", fontsize=11)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    return fig
