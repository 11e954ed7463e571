"""Figures of the REAL networks chapter, bounded in size however many PCNs and indicators.

Each function takes the chapter's tables (:mod:`analysis.indicators.networks.real_chapter`) and
returns one figure; the notebook saves it with :func:`analysis.core.figures.save_figure` (tier
``real``). A funnel grid has one small panel per indicator (at most ``columns`` across, the
rows growing with the indicators, never with the organisations), points drawn rasterised and
only the most extreme organisations labelled; the summary figure has one row per clinical
area.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.core import stats  # noqa: E402
from analysis.core.layout import (  # noqa: E402
    MIN_FONT,
    WIDE,
    is_narrow,
    responsive,
    wrap,
)

CLASS_COLOURS = {
    "worse": "#b2182b",
    "not different": "#bdbdbd",
    "better": "#2166ac",
    "higher": "#7b3294",
    "lower": "#008837",
}
Z95 = 1.959963984540054
"""The two-sided 95% normal quantile: only organisations beyond it are named in a funnel."""
RULE_LABELS = {
    "fixed": "one year's membership, fixed",
    "own": "each year's own membership",
    "practice_fe": "practice fixed effects",
}


def _cell_scale(values: np.ndarray, low: float, high: float, start: float, span: float):
    """Map ``values`` from ``[low, high]`` into ``[start, start + span]``."""
    width = high - low if high > low else 1.0
    return start + span * (np.asarray(values, dtype=float) - low) / width


@responsive
def funnel_grid(
    levels: pd.DataFrame,
    indicator_summary: pd.DataFrame,
    family: str,
    *,
    columns: int = 7,
    label: int = 1,
    scale: float = 1.0,
    x_label: str = "size",
    width: float = WIDE,
) -> plt.Figure:
    """One funnel per indicator of ``family``: value against size, England and its limits.

    The limits are England +- 1.96 and 3.09 ``sqrt(c / n + tau2)``, with ``c`` the median of
    ``variance x size`` of the indicator's organisations (exact when the variance is
    ``c / size``); the ``label`` most extreme organisations on each side (by ``z``) beyond the
    95% limits are named.
    The panels are cells of one drawing area (one rasterised layer of points, one set of line
    collections) rather than one axes each: drawing and saving then cost about the same for
    50 indicators as for 5. Each cell's title gives its value range and England; the size
    axis is logarithmic, smallest on the left. At most ``columns`` cells go across, and no
    more than fit the book column's ``width`` (inches) with their titles at the book's
    smallest type (three on a laptop, two on a phone).
    """
    from matplotlib.collections import LineCollection, PatchCollection
    from matplotlib.patches import Rectangle

    summary = indicator_summary[indicator_summary["family"] == family].reset_index(drop=True)
    data = levels[levels["family"] == family]
    columns = max(1, min(columns, int(width // (1.5 if is_narrow(width) else 2.1))))
    cell = width / columns  # inches per cell
    rows = max(1, math.ceil(len(summary) / columns))
    title_lines = 3 if not is_narrow(width) else 2
    # Cell height in the drawing's units: the funnel (1.3 in) and its title lines.
    head = title_lines * MIN_FONT * 1.25 / 72
    unit = 1.3 + head
    fig, ax = plt.subplots(figsize=(width, unit * rows + 1.4), layout="constrained")
    top_share = 1.3 / unit
    grouped = dict(tuple(data.groupby("indicator_id", sort=False)))
    xs, ys, colours, frames, texts = [], [], [], [], []
    lines: dict[str, list[np.ndarray]] = {"england": [], "95": [], "998": []}
    for i, row in summary.iterrows():
        col, top = i % columns, rows - 1 - i // columns
        x0, y0, w, h = col + 0.04, top + 0.04, 0.92, top_share - 0.06
        frames.append(Rectangle((x0, y0), w, h))
        part = grouped[row["indicator_id"]]
        logs = np.log10(part["size"].to_numpy(float))
        value = scale * part["value"].to_numpy(float)
        grid = np.linspace(logs.min(), logs.max(), 40)
        spread = float(np.median(part["variance"] * part["size"]))
        england = scale * float(row["england"])
        curves = {}
        for key, confidence in (("95", 0.95), ("998", 0.998)):
            half = (
                scale
                * stats.z_value(confidence)
                * np.sqrt(spread / 10**grid + row["between_sd"] ** 2)
            )
            curves[key] = (england - half, england + half)
        low = min(value.min(), england)
        high = max(value.max(), england)
        x_range = (float(logs.min()), float(logs.max()), x0 + 0.02, w - 0.04)
        y_range = (low, high, y0 + 0.02, h - 0.04)

        def to_x(v, r=x_range):
            return _cell_scale(v, *r)

        def to_y(v, r=y_range):
            return _cell_scale(np.clip(v, r[0], r[1]), *r)

        xs.append(to_x(logs))
        ys.append(to_y(value))
        colours.append(part["classification"].map(CLASS_COLOURS).fillna("#bdbdbd").to_numpy())
        lines["england"].append(np.column_stack([to_x(grid[[0, -1]]), to_y([england, england])]))
        for key, (lower, upper) in curves.items():
            lines[key] += [np.column_stack([to_x(grid), to_y(lower)]),
                           np.column_stack([to_x(grid), to_y(upper)])]  # fmt: skip
        heading = f"{row['indicator_id']}: {row['worse']} worse, {row['better']} better"
        if not is_narrow(width):
            heading += f"; {low:.3g} to {high:.3g}, England {england:.3g}"
        texts.append((col + 0.5, top + top_share, wrap(heading, cell * 0.95), "center", MIN_FONT))
        # Name the most extreme on each side, among those outside the 95% limits only: a PCN
        # at a ceiling shared by hundreds is not an extreme worth a name.
        ordered = part.assign(x=xs[-1], y=ys[-1]).sort_values("z")
        low_side = ordered[ordered["z"] < -Z95].head(label)
        high_side = ordered[ordered["z"] > Z95].tail(label)
        for _, extreme in pd.concat([low_side, high_side]).iterrows():
            texts.append(
                (extreme["x"], extreme["y"], f" {extreme['organisation_id']}", "left", -MIN_FONT)
            )
    x_all, y_all, colour_all = np.concatenate(xs), np.concatenate(ys), np.concatenate(colours)
    # One marker line per class (drawn with one cached marker), "not different" first: faster
    # to draw than a scatter of 60,000 points, and the flagged points stay on top.
    for colour in sorted(set(colour_all), key=lambda c: c != CLASS_COLOURS["not different"]):
        chosen = colour_all == colour
        ax.plot(x_all[chosen], y_all[chosen], linestyle="none", marker="o", markersize=1.6,
                markeredgewidth=0, color=colour, rasterized=True)  # fmt: skip
    ax.add_collection(LineCollection(lines["england"], colors="black", linewidths=0.8))
    ax.add_collection(
        LineCollection(lines["95"], colors="#555555", linewidths=0.6, linestyles="--")
    )
    ax.add_collection(LineCollection(lines["998"], colors="#555555", linewidths=0.6))
    ax.add_collection(PatchCollection(frames, facecolor="none", edgecolor="#999999", linewidth=0.5))
    for x, y, text, align, size in texts:  # a negative size marks a point's name
        ax.text(x, y, text, ha=align, va="center" if size < 0 else "bottom", fontsize=abs(size))
    ax.set_xlim(0, columns)
    ax.set_ylim(0, rows)
    ax.axis("off")
    ax.set_title(
        wrap(
            f"{x_label} (log scale, smallest left) against value; England (line), 95% (dashed) "
            "and 99.8% (solid) limits with the between-PCN variance",
            width,
        )
    )
    return fig


@responsive
def summary_figure(
    domain_summary: pd.DataFrame, labels: dict[str, str] | None = None, *, width: float = WIDE
) -> plt.Figure:
    """Shares of comparisons better and worse than England by clinical area, per family.

    One row per family and clinical area with a better direction. Left: the shares better and
    worse with the between-PCN variance in the limits (after Benjamini-Hochberg); right: the
    share a funnel with sampling variance only would put outside its 95% limits.
    ``labels`` names the families (default: the family column).
    """
    data = domain_summary[
        (domain_summary["domain"] != "all") & domain_summary["share_worse"].notna()
    ].copy()
    names = data["family"].map(labels or {}).fillna(data["family"])
    data["label"] = names + ": " + data["domain"]
    data = data.iloc[::-1]
    from analysis.core.figures import category_labels
    from analysis.core.layout import key_height

    y = np.arange(len(data))
    narrow = is_narrow(width)
    rows = 0.3 * len(data) + 1.6
    fig, (left, right) = plt.subplots(
        2 if narrow else 1,
        1 if narrow else 2,
        figsize=(width, (2 * rows if narrow else rows) + 1.0 + key_height(data["label"], width)),
        sharey=True,
        layout="constrained",
        **({} if narrow else {"width_ratios": [2, 1]}),
    )
    left.scatter(data["share_worse"], y, color=CLASS_COLOURS["worse"], s=16, label="worse")
    left.scatter(data["share_better"], y, color=CLASS_COLOURS["better"], s=16, label="better")
    left.set_xlabel(
        wrap("share of PCN comparisons (between-PCN variance in the limits, BH)", width * 0.6)
    )
    left.legend(loc="lower right")
    right.scatter(data["share_outside_sampling_only"], y, color="#555555", s=16)
    right.set_xlim(0, 1)
    right.set_xlabel(wrap("share outside sampling-only limits", width * (0.9 if narrow else 0.3)))
    category_labels(left, y, list(data["label"]), width=width)
    for ax in (left, right):
        ax.xaxis.set_major_locator(plt.MaxNLocator(3))
        ax.grid(axis="x", color="#eeeeee")
    return fig


@responsive
def turnover_figure(turnover: pd.DataFrame, *, width: float = WIDE) -> plt.Figure:
    """Practices and PCN codes changing between consecutive mapping years (one panel above
    the other, each with its legend under it)."""
    steps = turnover[turnover["to_year"] - turnover["from_year"] == 1]
    practice = ["changed_pcn", "closed", "opened", "joined_pcn", "left_pcn"]
    network = ["pcns_formed", "pcns_closed"]
    fig, (left, right) = plt.subplots(2, 1, figsize=(width, 9.0), layout="constrained")
    steps.set_index("period")[practice].plot.bar(ax=left, rot=0, width=0.8)
    left.set_title("practices")
    steps.set_index("period")[network].plot.bar(ax=right, rot=0, width=0.6)
    right.set_title("PCN codes")
    for ax in (left, right):
        ax.set_xlabel("")
        handles, names = ax.get_legend_handles_labels()
        names = [n.replace("_", " ") for n in names]
        ax.legend(handles, names, loc="upper right", ncol=1, framealpha=0.9)
        if is_narrow(width):  # "2019-2020" as "2019-20", so four periods fit across
            ax.set_xticklabels([t.get_text()[:5] + t.get_text()[-2:] for t in ax.get_xticklabels()])
    return fig


@responsive
def trend_figure(
    trends: pd.DataFrame, indicator: str, reference: str = "practice_fe", *, width: float = WIDE
) -> plt.Figure:
    """Each PCN's trend under the pooled rules against its fixed-effects trend (panels side
    by side at the book column's ``width``, one above the other on a phone)."""
    data = trends[trends["indicator_id"] == indicator]
    ref = data[data["rule"] == reference].set_index("organisation_id")["slope"]
    others = [r for r in RULE_LABELS if r != reference and r in set(data["rule"])]
    across = 1 if is_narrow(width) else max(1, min(len(others), 2))
    down = math.ceil(len(others) / across)
    fig, axes = plt.subplots(
        down, across, figsize=(width, 3.6 * down + 0.8), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(others) :]:
        ax.set_visible(False)
    for ax, rule in zip(axes.flat, others, strict=False):
        slopes = data[data["rule"] == rule].set_index("organisation_id")["slope"]
        common = slopes.index.intersection(ref.index)
        ax.scatter(ref[common], slopes[common], s=4, alpha=0.5, rasterized=True)
        low = float(min(ref[common].min(), slopes[common].min()))
        high = float(max(ref[common].max(), slopes[common].max()))
        ax.plot([low, high], [low, high], color="black", lw=0.8)
        ax.set_xlabel(wrap(f"{RULE_LABELS[reference]} (points a year)", width / across * 0.8))
        ax.set_ylabel(wrap(f"{RULE_LABELS[rule]} (points a year)", 2.6))
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
    return fig
