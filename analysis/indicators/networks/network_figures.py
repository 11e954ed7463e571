"""Figures of the primary-care-network chapter, drawn with seaborn from its REAL result tables.

Each function takes tables of :mod:`analysis.indicators.networks.achievement` and returns one
figure; the notebook saves it with :func:`analysis.core.figures.save_figure` (tier ``real``).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from scipy import stats as sps  # noqa: E402

from analysis.core.layout import WIDE, is_narrow, legend_columns, responsive, wrap  # noqa: E402

POSITION_COLOURS = {
    "below 99.8%": "#b2182b",
    "below 95%": "#ef8a62",
    "within 95%": "#bdbdbd",
    "above 95%": "#67a9cf",
    "above 99.8%": "#2166ac",
}


@responsive
def funnel_figure(
    funnel: pd.DataFrame, national: pd.DataFrame, *, width: float = WIDE
) -> plt.Figure:
    """Each organisation's mean percentage of available points against its member practices.

    Points are coloured by their position against the limits with the between-organisation
    variance; those limits are drawn dark (95% dashed, 99.8% solid), the sampling-only 99.8%
    limits light and dotted. The figure is drawn for the book column's ``width`` whatever
    the number of organisations, its legend under it.

    Parameters
    ----------
    funnel
        :func:`analysis.indicators.networks.network_funnel.organisation_funnel`.
    national
        :func:`analysis.indicators.networks.achievement.national_comparator` (the row of the
        funnel's year gives the centre line and the between-practice SD).
    """
    year = int(funnel["year"].iloc[0])
    england = national.set_index("year").loc[year]
    tau2 = float(funnel["tau2"].iloc[0])
    fig, ax = plt.subplots(
        figsize=(width, 6.2 + (2.4 if is_narrow(width) else 0)), layout="constrained"
    )
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
        wrap(
            f"REAL data: {len(funnel):,} networks against England, "
            f"QOF {year}-{(year + 1) % 100:02d}",
            width,
        )
    )
    title = "against England (with between-network variance)"
    labels = [wrap(label, width * 0.45) for label in labels]
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=legend_columns(labels, width),
        title=wrap(title, width),
        frameon=False,
    )
    return fig


@responsive
def variance_figure(
    partition: pd.DataFrame, sensitivity: pd.DataFrame, *, width: float = WIDE
) -> plt.Figure:
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
    fig, ax = plt.subplots(
        figsize=(width, 4.0 + 0.35 * long["rule"].nunique() + 1.4), layout="constrained"
    )
    sns.lineplot(data=long, x="year", y="sd", hue="component", style="rule", markers=True, ax=ax)
    ax.set_xticks(sorted(partition["year"].unique()))
    ax.xaxis.set_major_formatter(
        plt.FuncFormatter(
            lambda v, _: (
                f"{int(v)}-{(int(v) + 1) % 100:02d}" if not is_narrow(width) else f"{int(v)}"
            )
        )
    )
    ax.set_ylabel(wrap("SD, percentage points of available QOF points", 3.0))
    ax.set_xlabel("financial year (start)")
    ax.set_title(wrap("REAL data: where the variation in QOF achievement lies", width))
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    labels = [wrap(label, width * 0.45) for label in labels]
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=legend_columns(labels, width),
        frameon=False,
    )
    return fig
