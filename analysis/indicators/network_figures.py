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

    Points are coloured by their position against the limits with the between-organisation
    variance; those limits are drawn dark (95% dashed, 99.8% solid), the sampling-only 99.8%
    limits light and dotted. The figure is 8 x 5 inches whatever the number of organisations.

    Parameters
    ----------
    funnel
        :func:`analysis.indicators.network_funnel.organisation_funnel`.
    national
        :func:`analysis.indicators.networks.national_comparator` (the row of the funnel's year
        gives the centre line and the between-practice SD).
    """
    year = int(funnel["year"].iloc[0])
    england = national.set_index("year").loc[year]
    tau2 = float(funnel["tau2"].iloc[0])
    fig, ax = plt.subplots(figsize=(8, 5))
    rng = np.random.default_rng(0)  # horizontal jitter only, so points of equal size separate
    shown = funnel.assign(x=funnel["n_practices"] + rng.uniform(-0.25, 0.25, len(funnel)))
    sns.scatterplot(
        data=shown,
        x="x",
        y="mean_pct",
        hue="position_tau2",
        hue_order=list(POSITION_COLOURS),
        palette=POSITION_COLOURS,
        s=14,
        linewidth=0,
        ax=ax,
    )
    grid = np.linspace(1, max(funnel["n_practices"].max(), 2), 300)
    sampling = england["sd"] ** 2 / grid
    lines = [
        (0.998, sampling, ":", "#9e9e9e", "99.8%, sampling only"),
        (0.95, sampling + tau2, "--", "#333333", "95%, with between-network variance"),
        (0.998, sampling + tau2, "-", "#333333", "99.8%, with between-network variance"),
    ]
    handles, labels = ax.get_legend_handles_labels()
    for confidence, variance, style, colour, label in lines:
        half = sps.norm.ppf(0.5 + confidence / 2) * np.sqrt(variance)
        for sign in (-1, 1):
            (line,) = ax.plot(grid, england["value"] + sign * half, style, color=colour, lw=1)
        handles.append(line)
        labels.append(label)
    ax.axhline(england["value"], color="#1f4e79", lw=1.2)
    ax.set_ylim(max(funnel["mean_pct"].min() - 2, 0), 101)
    ax.set_xlabel("member practices in the network")
    ax.set_ylabel("mean % of available QOF points")
    ax.set_title(
        f"REAL data: {len(funnel):,} networks against England, QOF {year}-{(year + 1) % 100:02d}",
        fontsize=11,
    )
    ax.legend(
        handles,
        labels,
        title="against England (with between-network variance)",
        fontsize=8,
        title_fontsize=8,
        loc="lower right",
    )
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
