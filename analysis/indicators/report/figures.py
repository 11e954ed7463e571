"""Figures of the quality-indicator chapter, drawn with seaborn from result tables.

Each function takes result tables (:mod:`analysis.indicators.methods.results`) and returns one
matplotlib figure; the notebook saves it with :func:`analysis.core.figures.save_figure`, which
stamps the data tier. Titles carry the tier too (``SYNTHETIC`` for the stored synthetic panel).
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines  # noqa: E402
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from analysis.core.layout import WIDE, is_narrow, legend_columns, responsive, wrap  # noqa: E402
from analysis.indicators.methods.comparison import (  # noqa: E402
    CLASSES,
    funnel_curves,
    funnel_points,
    reference_years,
)
from analysis.indicators.methods.selection import Selection  # noqa: E402

TIER_TITLES = {
    "synthetic": "SYNTHETIC data",
    "user": "user-supplied data",
    "published": "published data",
    "real": "REAL public data",
}
DOMAIN_ORDER = ("prescribing", "hospital_use", "qof", "patient_satisfaction")
CLASS_COLOURS = {"worse": "#c0392b", "not different": "#d9d9d9", "better": "#1a9850"}


def tier_title(tier: str) -> str:
    """Short tier text for figure titles; raises for an unknown tier."""
    if tier not in TIER_TITLES:
        raise ValueError(f"unknown data tier {tier!r}; expected one of {sorted(TIER_TITLES)}")
    return TIER_TITLES[tier]


def _lines(ax, rows: pd.DataFrame, y: str, palette: dict) -> None:
    for org, group in rows.groupby("organisation_id", sort=True):
        group = group.sort_values("year")
        ax.plot(group["year"], group[y], color=palette[org], lw=1, marker="o", ms=2.5, label=org)


def _thousands(value: float, _position: int) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def _domain_sorted(rows: pd.DataFrame) -> list[str]:
    """Indicator ids ordered by domain (prescribing, hospital use, QOF, satisfaction), then id."""
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    domain = dict(zip(rows["indicator_id"], rows["domain"], strict=False))
    return sorted(domain, key=lambda i: (rank.get(domain[i], len(rank)), i))


def _names(catalogue: pd.DataFrame) -> dict[str, str]:
    return dict(zip(catalogue["indicator_id"], catalogue["name"], strict=True))


def _palette(organisations: list[str]) -> dict[str, tuple]:
    return dict(zip(organisations, sns.color_palette("tab10", len(organisations)), strict=True))


FUNNEL_NAMES = {d: f"funnel_{d}" for d in DOMAIN_ORDER}
"""The file name (without suffix) of each domain's funnel figure, as declared in pipeline.yml."""


def _columns(width: float, most: int, panel: float = 3.0) -> int:
    """Panels side by side at ``width`` inches: as many ``panel`` inches wide as fit (1 to
    ``most``)."""
    return max(1, min(most, int(width // panel)))


def _funnel_limits(ax, points: pd.DataFrame, curves: pd.DataFrame, target: float) -> int:
    """Zoom the rate axis on the bulk of practices with the 99.8% limits, not on outliers.

    Near-ceiling rates (QOF points achieved) otherwise leave the funnel a flat line at the
    top of a range stretched by a few low outliers. Returns how many practices lie outside.
    """
    inner = _at_median(points, curves).loc["99.8%"]
    low = min(points["rate"].quantile(0.005), inner["lower"], target)
    high = max(points["rate"].quantile(0.995), inner["upper"], target)
    pad = 0.08 * (high - low) if high > low else 0.01
    low, high = low - pad, high + pad
    ax.set_ylim(low, high)
    return int(((points["rate"] < low) | (points["rate"] > high)).sum())


def _at_median(points: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """The limits (one row per level) at the grid denominator nearest the median practice's."""
    gap = (curves["denominator"] - points["denominator"].median()).abs()
    return curves.loc[gap.groupby(curves["level"]).idxmin()].set_index("level")


def _ranked(points: pd.DataFrame) -> pd.DataFrame:
    """Practices ranked by rate, as a percentile (ties broken by practice code)."""
    ordered = points.sort_values(["rate", "practice_code"], ignore_index=True)
    return ordered.assign(denominator=100 * (np.arange(len(ordered)) + 0.5) / len(ordered))


def _funnel_panel(ax, points, curves, target, palette, *, ranked: bool) -> int:
    """One funnel; ``ranked`` draws practices by rank when denominators are all alike.

    With (nearly) equal denominators (QOF points available) a funnel collapses to a
    vertical line; ranking the practices spreads them out against the same limits.
    """
    limits = _at_median(points, curves)
    shown = _ranked(points) if ranked else points
    others = shown[~shown["organisation_id"].isin(palette)]
    ax.scatter(
        others["denominator"],
        others["rate"],
        s=3,
        color="#9e9e9e",
        alpha=0.45,
        rasterized=True,
        linewidths=0,
    )
    sns.scatterplot(
        data=shown[shown["organisation_id"].isin(palette)],
        x="denominator",
        y="rate",
        hue="organisation_id",
        palette=palette,
        s=12,
        ax=ax,
        legend=False,
        linewidth=0,
        rasterized=True,
    )
    for level, style in (("95%", "--"), ("99.8%", "-")):
        if ranked:
            ax.axhline(limits.at[level, "lower"], ls=style, color="black", lw=0.9)
            ax.axhline(limits.at[level, "upper"], ls=style, color="black", lw=0.9)
        else:
            c = curves[curves["level"] == level]
            ax.plot(c["denominator"], c["lower"], style, color="black", lw=0.9)
            ax.plot(c["denominator"], c["upper"], style, color="black", lw=0.9)
    ax.axhline(target, color="#1f4e79", lw=1.2)
    if ranked:
        ax.set_xlim(0, 100)
        ax.xaxis.set_major_locator(matplotlib.ticker.MultipleLocator(25))
        ax.set_xlabel(
            "practice's rank (percentile);\ndenominators all about "
            f"{points['denominator'].median():,.0f}"
        )
    else:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(numticks=4))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_thousands))
        ax.set_xlabel("denominator (log scale)")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    return _funnel_limits(ax, points, curves, target)


@responsive
def funnel_figure(
    data: pd.DataFrame,
    dispersion: pd.DataFrame,
    catalogue: pd.DataFrame,
    selection: Selection,
    tier: str,
    *,
    domain: str,
    width: float = WIDE,
) -> plt.Figure:
    """Practice-level funnel plots of one domain, one panel per indicator at its reference year.

    Every practice in England is a point (grey; member practices of the selected
    organisations coloured by organisation) at its denominator and rate, with the national
    rate and 95% (dashed) and 99.8% (solid) limits, widened for overdispersion as selected.
    Panels are two to a row at the book column's ``width`` (inches), one on a phone. The
    rate axis is zoomed on the central 99% of practices and the 99.8% limits; the panel
    title counts practices outside.
    When denominators are all alike (QOF points available) a funnel collapses to a line, so
    the panel ranks practices by rate (x: percentile) against the limits at the common
    denominator, and its title counts practices below the 99.8% limit.

    Parameters
    ----------
    domain
        One of :data:`DOMAIN_ORDER` or of the catalogue's domains. A domain with no selected
        indicator gives a figure saying so, so that every declared output exists.

    Raises
    ------
    ValueError
        For an unknown domain or tier.
    """
    known = list(dict.fromkeys([*DOMAIN_ORDER, *catalogue["domain"]]))
    if domain not in known:
        raise ValueError(f"domain: unknown value {domain!r}; expected one of {known}")
    label = domain.replace("_", " ")
    title = f"{tier_title(tier)}: practice funnel plots, {label}"
    ref = reference_years(catalogue, selection.years).set_index("indicator_id")
    info = catalogue.set_index("indicator_id")
    by_indicator = dict(tuple(data.groupby("indicator_id", sort=False)))
    indicators = [
        i
        for i in selection.indicators
        if i in by_indicator
        and info.at[i, "domain"] == domain
        and ref.at[i, "reference_year"] in set(by_indicator[i]["year"])
    ]
    if not indicators:
        fig, ax = plt.subplots(figsize=(width, 1.6), layout="constrained")
        ax.axis("off")
        ax.text(
            0.5, 0.5, wrap(f"No {label} indicators among the selected ones", width), ha="center"
        )
        fig.suptitle(wrap(title, width))
        return fig
    palette = _palette(selection.organisations)
    ncols = _columns(width, 2)
    nrows = int(np.ceil(len(indicators) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, 3.9 * nrows + 1.6), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(indicators) :]:
        ax.set_visible(False)
    disp = dispersion.set_index(["indicator_id", "year"])
    for ax, indicator in zip(axes.flat, indicators, strict=False):
        year = int(ref.at[indicator, "reference_year"])
        points = funnel_points(by_indicator[indicator], indicator, year)
        target = float(np.average(points["rate"], weights=points["denominator"]))
        distribution = by_indicator[indicator]["distribution"].iloc[0]
        phi, tau2 = disp.loc[(indicator, year), ["phi", "tau2"]]
        adjust = {"none": {}, "multiplicative": {"phi": max(phi, 1.0)}, "additive": {"tau2": tau2}}
        n_min, n_max = points["denominator"].min(), points["denominator"].max()
        ranked = bool(n_max < 1.5 * n_min)  # (nearly) equal denominators: QOF points available
        if ranked:
            n_min, n_max = n_min / 2, n_max * 2
        curves = funnel_curves(
            target, distribution, n_min, n_max, **adjust[selection.overdispersion]
        )
        outside = _funnel_panel(ax, points, curves, target, palette, ranked=ranked)
        name = textwrap.shorten(str(info.at[indicator, "name"]), 60, placeholder="...")
        heading = wrap(f"{indicator} {year}: {name}", width / ncols * 0.75)
        notes = [f"{len(points):,} practices"]
        if ranked:
            below = int((points["rate"] < _at_median(points, curves).at["99.8%", "lower"]).sum())
            notes.append(f"{below} below the 99.8% limit")
        if outside:
            notes.append(f"{outside} off the y-range")
        ax.set_title(f"{heading}\n" + wrap(f"({'; '.join(notes)})", width / ncols * 0.75))
        unit = info.at[indicator, "unit"] if "unit" in info.columns else "rate"
        ax.set_ylabel(textwrap.fill(str(unit), 24))
    handles = [
        matplotlib.lines.Line2D([], [], marker="o", ls="", color=palette[o], label=o)
        for o in selection.organisations
    ]
    handles.append(
        matplotlib.lines.Line2D([], [], marker="o", ls="", color="#9e9e9e", label="other")
    )
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=legend_columns([h.get_label() for h in handles], width),
        frameon=False,
        handletextpad=0.2,
        columnspacing=0.8,
    )
    fig.suptitle(wrap(f"{title}, overdispersion {selection.overdispersion}", width))
    return fig


@responsive
def trend_figure(trend: pd.DataFrame, tier: str, *, width: float = WIDE) -> plt.Figure:
    """Annual odds or rate ratios per organisation (colours, with intervals) against England.

    One panel per domain; within it one block of rows per indicator. The black line and grey
    band are the annual ratio of the practices outside every organisation, with its interval;
    the dotted line is no change (ratio 1).
    """
    present = set(trend["domain"])
    domains = [d for d in DOMAIN_ORDER if d in present] + sorted(present - set(DOMAIN_ORDER))
    orgs = sorted(trend["organisation_id"].unique())
    palette = _palette(orgs)
    rows_max = max(len(trend[trend["domain"] == d]) for d in domains)
    ncols = _columns(width, len(domains))
    nrows = int(np.ceil(len(domains) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width, nrows * (0.14 * rows_max + 1.4) + 2.2),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(domains) :]:
        ax.set_visible(False)
    for ax, domain in zip(axes.flat, domains, strict=False):
        rows = trend[trend["domain"] == domain]
        ticks, labels, start = [], [], 0
        for indicator, block in rows.groupby("indicator_id", sort=True):
            block = block.sort_values("organisation_id")
            y = start + np.arange(len(block))
            ratio = block["org_annual_ratio"]
            ax.errorbar(
                ratio,
                y,
                xerr=[ratio - block["org_ratio_lower"], block["org_ratio_upper"] - ratio],
                fmt="none",
                ecolor="#888888",
                lw=0.8,
            )
            ax.scatter(ratio, y, c=[palette[o] for o in block["organisation_id"]], s=16, zorder=3)
            nat = block.iloc[0]
            ax.fill_betweenx(
                [y[0] - 0.5, y[-1] + 0.5],
                nat["national_ratio_lower"],
                nat["national_ratio_upper"],
                color="black",
                alpha=0.12,
                lw=0,
            )
            ax.vlines(nat["national_annual_ratio"], y[0] - 0.5, y[-1] + 0.5, color="black", lw=1.4)
            ticks.append(y.mean())
            labels.append(indicator)
            start = y[-1] + 2
        ax.axvline(1.0, color="#555555", lw=0.7, ls=":")
        ax.set_yticks(ticks, labels)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
        ax.set_title(domain.replace("_", " "))
    handles = [
        matplotlib.lines.Line2D([], [], marker="o", ls="", color=palette[o], label=o) for o in orgs
    ]
    handles.append(matplotlib.lines.Line2D([], [], color="black", label="rest of England"))
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=legend_columns([h.get_label() for h in handles], width),
        frameon=False,
        handletextpad=0.2,
        columnspacing=0.8,
    )
    fig.suptitle(
        wrap(f"{tier_title(tier)}: annual trend of each organisation against England", width)
    )
    for ax in axes.flat:
        ax.set_xlabel(wrap("annual odds or rate ratio", width / ncols))
    return fig


@responsive
def summary_heatmap(summary: pd.DataFrame, tier: str, *, width: float = WIDE) -> plt.Figure:
    """Better / not different / worse per organisation x indicator (BH-adjusted colours).

    A cell marked ``u`` is significant before but not after the Benjamini-Hochberg adjustment.
    One panel per comparison, one above the other; at a phone's ``width`` the grid is
    transposed (indicators down, organisations across).
    """
    comparisons = list(dict.fromkeys(summary["comparison"]))
    codes = {c: i for i, c in enumerate(CLASSES[::-1])}
    cmap = matplotlib.colors.ListedColormap([CLASS_COLOURS[c] for c in CLASSES[::-1]])
    transpose = is_narrow(width)
    n_orgs = summary["organisation_id"].nunique()
    n_indicators = summary["indicator_id"].nunique()
    down = n_indicators if transpose else n_orgs
    fig, axes = plt.subplots(
        len(comparisons),
        1,
        figsize=(width, len(comparisons) * (0.3 * down + 2.2) + 1.2),
        squeeze=False,
        layout="constrained",
    )
    for ax, comparison in zip(axes.flat, comparisons, strict=True):
        rows = summary[summary["comparison"] == comparison]
        grid = rows.pivot(index="organisation_id", columns="indicator_id", values="class_bh")
        marks = rows.pivot(
            index="organisation_id", columns="indicator_id", values="class_unadjusted"
        )
        order = _domain_sorted(rows)
        grid, marks = grid[order], marks[order]
        annot = np.where((marks != grid) & marks.notna(), "u", "")
        if transpose:
            grid, annot = grid.T, annot.T
        sns.heatmap(
            grid.map(codes.get).astype(float),
            cmap=cmap,
            vmin=-0.5,
            vmax=2.5,
            cbar=False,
            linewidths=0.5,
            linecolor="white",
            annot=annot,
            fmt="",
            ax=ax,
        )
        ax.set_title(f"{comparison} (BH-adjusted)")
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.tick_params(axis="y", rotation=0)
    handles = [matplotlib.patches.Patch(color=CLASS_COLOURS[c], label=c) for c in CLASSES]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=legend_columns(CLASSES, width),
        frameon=False,
    )
    fig.suptitle(wrap(f"{tier_title(tier)}: organisations against England", width))
    return fig


@responsive
def variation_figure(
    trend: pd.DataFrame, catalogue: pd.DataFrame, tier: str, *, width: float = WIDE
) -> plt.Figure:
    """Annual change in the CV between member practices, organisation x indicator.

    ``trend`` is :func:`analysis.indicators.methods.variation.variation_trend`. Colour: CV slope per
    year (blue falling, red rising); ``v`` / ``^`` mark a significant fall / rise; blank cells
    were not tested (fewer than three years).
    """
    grid = trend.pivot(index="organisation_id", columns="indicator_id", values="cv_slope")
    change = trend.pivot(index="organisation_id", columns="indicator_id", values="variation_change")
    order = [i for i in catalogue["indicator_id"] if i in grid.columns]
    grid, change = grid[order], change[order]
    marks = change.map({"fell": "v", "rose": "^"}.get).fillna("")
    limit = float(np.nanmax(np.abs(grid.to_numpy()))) if grid.notna().any().any() else 1.0
    if is_narrow(width):  # a phone: indicators down, organisations across
        grid, marks = grid.T, marks.T
    fig, ax = plt.subplots(
        figsize=(width, 0.32 * len(grid) + 3.0 + (1.0 if is_narrow(width) else 0)),
        layout="constrained",
    )
    sns.heatmap(
        grid,
        cmap="RdBu_r",
        center=0,
        vmin=-limit,
        vmax=limit,
        annot=marks,
        fmt="",
        linewidths=0.5,
        linecolor="white",
        ax=ax,
        cbar_kws={"label": "change in CV per year", "location": "bottom", "shrink": 0.8},
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    fig.suptitle(
        wrap(
            f"{tier_title(tier)}: did variation between member practices fall? "
            "(v fell, ^ rose, p < alpha)",
            width,
        )
    )
    return fig


@responsive
def truth_figure(comparison: pd.DataFrame, tier: str, *, width: float = WIDE) -> plt.Figure:
    """Estimate (with interval) against the data-generating truth, per parameter."""
    if comparison.empty:
        fig, ax = plt.subplots(figsize=(width, 2), layout="constrained")
        ax.axis("off")
        ax.text(
            0.5,
            0.5,
            wrap("No truth table: truth against estimate needs the synthetic panel", width),
            ha="center",
            va="center",
        )
        fig.suptitle(wrap(f"{tier_title(tier)}: truth against estimate", width))
        return fig
    parameters = list(dict.fromkeys(comparison["parameter"]))
    ncols = _columns(width, len(parameters))
    nrows = int(np.ceil(len(parameters) / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, 3.4 * nrows + 1.4), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(parameters) :]:
        ax.set_visible(False)
    for ax, parameter in zip(axes.flat, parameters, strict=False):
        rows = comparison[comparison["parameter"] == parameter]
        colour = np.where(rows["covered"], "#1f77b4", "#d62728")
        ax.errorbar(
            rows["truth"],
            rows["estimate"],
            yerr=[rows["estimate"] - rows["ci_lower"], rows["ci_upper"] - rows["estimate"]],
            fmt="none",
            ecolor="#bbbbbb",
            lw=0.8,
        )
        ax.scatter(rows["truth"], rows["estimate"], c=colour, s=12, zorder=3)
        lims = np.nanpercentile(np.r_[rows["truth"], rows["ci_lower"], rows["ci_upper"]], [0, 100])
        ax.plot(lims, lims, color="black", lw=0.8)
        ax.set_title(wrap(f"{parameter} ({rows['covered'].mean():.0%} covered)", width / ncols))
        ax.set_xlabel("truth (link scale)")
        ax.set_ylabel("estimate")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
    fig.suptitle(
        wrap(f"{tier_title(tier)}: truth against estimate (red: interval misses truth)", width)
    )
    return fig
