"""Figures that stay readable and bounded with hundreds of organisations and dozens of indicators.

The chapter's study figures (:mod:`analysis.indicators.report.figures`) draw one colour, row or cell
per organisation: right for eight organisations, unbounded for every primary care network of
England. These draw the same results so that nothing grows with the number of organisations
and each figure has a bounded number of panels:

- :func:`funnel_pages`: per indicator an organisation funnel (each organisation at its pooled
  denominator, coloured by its class, the most extreme labelled), at most
  :data:`PANELS_PER_PAGE` a figure, drawn as cells of one drawing area;
- :func:`class_overview`: across indicators, the share of organisations better, not
  different or worse (or higher / lower), one bar per indicator grouped by domain (one bar per
  domain beyond :data:`MAX_BARS` indicators);
- :func:`variation_overview`: the share of organisations whose variation between member
  practices fell, did not change or rose, per indicator.

Every title carries the data tier; the full tables are the run's CSV files.
"""

from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.core import stats  # noqa: E402
from analysis.indicators.methods.comparison import reference_years  # noqa: E402
from analysis.indicators.methods.summary import NEUTRAL  # noqa: E402
from analysis.indicators.report.figures import CLASS_COLOURS, tier_title  # noqa: E402

FEW_ORGANISATIONS = 10
"""Up to this many organisations the study figures (a colour per organisation) are drawn."""
PANELS_PER_PAGE = 12
MAX_BARS = 60
LABELLED = 3
"""Organisations labelled at each end of a funnel (the most extreme beyond the 99.8% limits)."""
COLOURS = {**CLASS_COLOURS, "higher": "#7b3294", "lower": "#2c7bb6"}
ORDER = ("better", "higher", "not different", "lower", "worse")
WIDTH = 6.8  # inches: the book column


def many(organisations: list[str] | int) -> bool:
    """Whether a run has too many organisations for the one-colour-each study figures."""
    count = organisations if isinstance(organisations, int) else len(organisations)
    return count > FEW_ORGANISATIONS


def _limits(rows: pd.DataFrame, disp: pd.Series, overdispersion: str, grid: np.ndarray):
    """Funnel limits over ``grid`` at the median organisation's concentration of members.

    Each organisation's own limit (its ``herfindahl``) is in the level table; the curves are
    drawn for the typical one, so a point's colour (its own test) can differ near a curve.
    """
    target = float(rows["national_rate"].iloc[0])
    distribution = str(rows["distribution"].iloc[0])
    concentration = float(rows["herfindahl"].median())
    tau2 = float(disp.get("tau2", 0.0)) if pd.notna(disp.get("tau2", np.nan)) else 0.0
    phi = float(disp.get("phi", 1.0)) if pd.notna(disp.get("phi", np.nan)) else 1.0
    options = {"none": {}, "multiplicative": {"phi": max(phi, 1.0)}}
    adjust = options.get(overdispersion, {"tau2": tau2 * concentration})
    if distribution == "continuous":
        adjust = {"tau2": tau2 * concentration}
    curves = {}
    for label, confidence in (("95%", 0.95), ("99.8%", 0.998)):
        curves[label] = stats.funnel_limits(target, grid, distribution, confidence, **adjust)
    return target, curves


def _cell(values: np.ndarray, low: float, high: float, start: float, span: float) -> np.ndarray:
    """``values`` mapped from ``[low, high]`` into ``[start, start + span]`` (clipped)."""
    width = high - low if high > low else 1.0
    return start + span * (np.clip(np.asarray(values, dtype=float), low, high) - low) / width


def _funnel_cell(rows: pd.DataFrame, disp: pd.Series, overdispersion: str, box: tuple) -> dict:
    """One indicator's organisations against England, mapped into the cell ``box``
    (``x0, y0, width, height``): points, limit lines, labels of the extremes and the title.

    With (nearly) equal denominators (values without counts) the organisations are ranked
    along x; otherwise x is the logarithm of the denominator.
    """
    x0, y0, width, height = box
    n = rows["denominator"].to_numpy(dtype=float)
    value = rows["rate"].to_numpy(dtype=float)
    ranked = bool(n.max() < 1.5 * n.min())
    if ranked:
        order = np.argsort(value, kind="stable")
        x = np.empty(len(rows))
        x[order] = (np.arange(len(rows)) + 0.5) / len(rows)
        grid, gx = np.array([n.min(), n.min()]), np.array([0.0, 1.0])
    else:
        logs = np.log10(n)
        span = (logs.max() - logs.min()) or 1.0
        x = (logs - logs.min()) / span
        grid = np.geomspace(n.min(), n.max(), 60)
        gx = (np.log10(grid) - logs.min()) / span
    target, curves = _limits(rows, disp, overdispersion, grid)
    outer = np.concatenate([*curves["99.8%"], value, [target]])
    outer = outer[np.isfinite(outer)]  # the range holds every point, England and the limits
    low, high = outer.min(), outer.max()

    def to_x(v):
        return x0 + 0.02 + (width - 0.04) * np.asarray(v)

    def to_y(v):
        return _cell(v, low, high, y0 + 0.02, height - 0.04)

    lines = {"england": [np.column_stack([to_x([0.0, 1.0]), to_y([target, target])])]}
    for label, (lower, upper) in curves.items():
        lines[label] = [np.column_stack([to_x(gx), to_y(lower)]),
                        np.column_stack([to_x(gx), to_y(upper)])]  # fmt: skip
    classes = rows["classification"].fillna("not classified").to_numpy()
    px, py = to_x(x), to_y(value)
    z = rows["z_adjusted"].to_numpy(dtype=float)
    beyond = np.abs(z) > stats.z_value(0.998)
    labels, links = [], []
    for sign, (lx, ly) in ((1, (0.62, 0.08)), (-1, (0.06, 0.64))):  # low ones bottom right
        side = beyond & (sign * z < 0)
        order = [i for i in np.argsort(np.where(side, sign * z, np.inf))[:LABELLED] if side[i]]
        for step, i in enumerate(order):
            tx, ty = x0 + lx * width, y0 + (ly + sign * 0.1 * step) * height
            labels.append((tx, ty, str(rows["organisation_id"].iloc[i])))
            links.append(np.array([[px[i], py[i]], [tx, ty]]))
    counts = {c: int((classes == c).sum()) for c in ORDER if (classes == c).any()}
    return {"x": px, "y": py, "classes": classes, "lines": lines, "labels": labels,
            "links": links, "counts": counts, "range": (low, high, target), "ranked": ranked,
            "box": box}  # fmt: skip


def _page(cells: list[tuple[str, int, str, dict]], columns: int) -> plt.Figure:
    """One drawing area holding every cell of a page (one layer of points per class, one
    collection per kind of line): drawing and saving cost about the same for twelve cells as
    for one, unlike an axes each."""
    from matplotlib.collections import LineCollection, PatchCollection

    rows = int(np.ceil(len(cells) / columns))
    fig, ax = plt.subplots(figsize=(WIDTH, 1.95 * rows + 0.6))
    frames = []
    for indicator, year, name, cell in cells:
        x0, y0, width, height = cell["box"]
        frames.append(matplotlib.patches.Rectangle((x0, y0), width, height))
        low, high, target = cell["range"]
        tally = ", ".join(f"{v} {k}" for k, v in cell["counts"].items() if k != "not different")
        axis = "rank" if cell["ranked"] else "log denominator"
        title = (
            f"{indicator} {year}: {name}\n{low:.3g} to {high:.3g}; England {target:.3g}; "
            f"x: {axis}\n({tally or 'none outside'})"
        )
        ax.text(x0 + width / 2, y0 + height + 0.02, title, ha="center", va="bottom", fontsize=5.5)
        for tx, ty, text in cell["labels"]:
            ax.text(tx, ty, text, fontsize=5, va="center", gid="extreme")
    xs = np.concatenate([c["x"] for *_, c in cells])
    ys = np.concatenate([c["y"] for *_, c in cells])
    kinds = np.concatenate([c["classes"] for *_, c in cells])
    for name in ("not classified", "not different", *(c for c in ORDER if c != "not different")):
        chosen = kinds == name
        if chosen.any():
            colour = COLOURS.get(name, "#9e9e9e")
            ax.plot(xs[chosen], ys[chosen], linestyle="none", marker="o", markersize=1.8,
                    markeredgewidth=0, color=colour, rasterized=True)  # fmt: skip
    styles = {"england": ("#1f4e79", "-", 0.9), "95%": ("black", "--", 0.6),
              "99.8%": ("black", "-", 0.6)}  # fmt: skip
    for kind, (colour, style, width) in styles.items():
        segments = [line for *_, c in cells for line in c["lines"][kind]]
        ax.add_collection(
            LineCollection(segments, colors=colour, linestyles=style, linewidths=width)
        )
    links = [link for *_, c in cells for link in c["links"]]
    if links:
        ax.add_collection(LineCollection(links, colors="#777777", linewidths=0.3))
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="#bbbbbb", linewidth=0.5))
    ax.set_xlim(0, columns)
    ax.set_ylim(0, rows)
    ax.axis("off")
    return fig


def funnel_pages(
    level: pd.DataFrame,
    dispersion: pd.DataFrame,
    catalogue: pd.DataFrame,
    indicators: list[str],
    years: list[int],
    tier: str,
    *,
    domain: str,
    overdispersion: str = "additive",
    per_page: int = PANELS_PER_PAGE,
) -> list[plt.Figure]:
    """Organisation funnels of one domain's indicators at their reference years, in pages.

    Returns one figure per ``per_page`` indicators (none when the domain has none).
    """
    ref = reference_years(catalogue, years).set_index("indicator_id")["reference_year"]
    info = catalogue.set_index("indicator_id")
    wanted = [i for i in indicators if i in info.index and info.at[i, "domain"] == domain]
    by_indicator = {k: g for k, g in level.groupby("indicator_id", sort=False)}
    rows = {
        i: by_indicator[i][by_indicator[i]["year"] == ref[i]]
        for i in wanted
        if i in by_indicator and (by_indicator[i]["year"] == ref[i]).any()
    }
    disp = dispersion.set_index(["indicator_id", "year"])
    chosen = list(rows)
    pages = [chosen[k : k + per_page] for k in range(0, len(chosen), per_page)]
    figures, columns = [], 3
    for number, page in enumerate(pages, start=1):
        count = int(np.ceil(len(page) / columns))
        cells = []
        for i, indicator in enumerate(page):
            year = int(ref[indicator])
            box = (i % columns + 0.05, count - 1 - i // columns + 0.04, 0.9, 0.68)
            cell = _funnel_cell(rows[indicator], disp.loc[(indicator, year)], overdispersion, box)
            name = textwrap.shorten(str(info.at[indicator, "name"]), 34, placeholder="...")
            cells.append((indicator, year, name, cell))
        fig = _page(cells, columns)
        of = f" (page {number} of {len(pages)})" if len(pages) > 1 else ""
        fig.suptitle(f"{tier_title(tier)}: organisations against England, "
                     f"{domain.replace('_', ' ')}{of}", fontsize=9)  # fmt: skip
        height = fig.get_figheight()
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=1 - 0.45 / height)
        figures.append(fig)
    return figures


def _shares(summary: pd.DataFrame, column: str, by: str) -> pd.DataFrame:
    counts = pd.crosstab(summary[by], summary[column].fillna("not classified"))
    present = [c for c in ORDER if c in counts.columns]
    return counts[present].div(counts.sum(axis=1), axis=0)


def class_overview(
    summary: pd.DataFrame,
    tier: str,
    *,
    comparisons: tuple[str, ...] = ("level", "trend"),
    column: str = "class_bh",
) -> plt.Figure:
    """Share of organisations in each class per indicator (bars grouped by domain).

    One panel per comparison present; one bar per indicator (``domain: id``) up to
    :data:`MAX_BARS` indicators, one bar per domain beyond.
    """
    present = [c for c in comparisons if (summary["comparison"] == c).any()]
    if not present:
        fig, ax = plt.subplots(figsize=(WIDTH, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "No comparisons to summarise", ha="center")
        return fig
    per_indicator = summary["indicator_id"].nunique() <= MAX_BARS
    labels = summary["domain"] + (": " + summary["indicator_id"] if per_indicator else "")
    frame = summary.assign(_bar=labels)
    bars = sorted(frame["_bar"].unique())
    height = 0.16 * len(bars) + 1.6
    fig, axes = plt.subplots(1, len(present), figsize=(WIDTH, height), squeeze=False, sharey=True)
    for ax, comparison in zip(axes.flat, present, strict=True):
        shares = _shares(frame[frame["comparison"] == comparison], column, "_bar")
        shares = shares.reindex(bars).fillna(0.0)
        left = np.zeros(len(bars))
        for name in shares.columns:
            ax.barh(np.arange(len(bars)), shares[name], left=left, height=0.8,
                    color=COLOURS.get(name, "#9e9e9e"), label=name)  # fmt: skip
            left += shares[name].to_numpy()
        ax.set_yticks(np.arange(len(bars)), bars, fontsize=6 if len(bars) > 30 else 7)
        ax.set_ylim(len(bars) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of organisations", fontsize=7)
        ax.set_title(f"{comparison} ({'BH-adjusted' if column == 'class_bh' else 'unadjusted'})",
                     fontsize=8)  # fmt: skip
        ax.tick_params(axis="x", labelsize=7)
    names = [c for c in ORDER if c in set(summary[column].dropna())]
    handles = [matplotlib.patches.Patch(color=COLOURS[c], label=c) for c in names]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7, frameon=False)
    organisations = summary["organisation_id"].nunique()
    fig.suptitle(f"{tier_title(tier)}: {organisations:,} organisations against England",
                 fontsize=9)  # fmt: skip
    left = min(0.5, (0.2 + 0.045 * max(len(b) for b in bars)) / WIDTH)
    fig.subplots_adjust(left=left, right=0.98, bottom=0.85 / height, top=1 - 0.55 / height,
                        wspace=0.08)  # fmt: skip
    return fig


def variation_overview(trend: pd.DataFrame, tier: str) -> plt.Figure:
    """Share of organisations whose variation between member practices fell, did not change,
    rose or was not tested, per indicator (bounded like :func:`class_overview`)."""
    if trend.empty:
        fig, ax = plt.subplots(figsize=(WIDTH, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "Variation between member practices not estimated "
                "(fewer than two practices per organisation, or one year)", ha="center",
                fontsize=8)  # fmt: skip
        fig.suptitle(f"{tier_title(tier)}: variation between member practices", fontsize=9)
        return fig
    colours = {"fell": "#2166ac", "no significant change": "#d9d9d9", "rose": "#b2182b",
               "not tested": "#f7f7f7"}  # fmt: skip
    shares = pd.crosstab(trend["indicator_id"], trend["variation_change"], normalize="index")
    shares = shares[[c for c in colours if c in shares.columns]].head(MAX_BARS)
    height = 0.16 * len(shares) + 1.6
    fig, ax = plt.subplots(figsize=(WIDTH, height))
    left = np.zeros(len(shares))
    for name in shares.columns:
        ax.barh(np.arange(len(shares)), shares[name], left=left, color=colours[name],
                label=name, edgecolor="#bbbbbb", linewidth=0.3)  # fmt: skip
        left += shares[name].to_numpy()
    ax.set_yticks(np.arange(len(shares)), shares.index, fontsize=6 if len(shares) > 30 else 7)
    ax.set_ylim(len(shares) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of organisations", fontsize=7)
    ax.legend(fontsize=7, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.suptitle(f"{tier_title(tier)}: did variation between member practices fall?", fontsize=9)
    left = min(0.5, (0.3 + 0.055 * max(len(str(i)) for i in shares.index)) / WIDTH)
    fig.subplots_adjust(left=left, right=0.98, bottom=0.5 / height, top=1 - 0.8 / height)
    return fig


def neutral_note(summary: pd.DataFrame) -> str:
    """A sentence part naming the indicators with no direction (classed higher / lower)."""
    neutral = summary.loc[summary["class_unadjusted"].isin(NEUTRAL), "indicator_id"].unique()
    return ", ".join(sorted(neutral))
