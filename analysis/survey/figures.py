"""The survey chapter's figures of the published figures: percentages with their intervals,
Table 1 against the quarter rule, and collaboration over time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.core.figures import WIDE, category_labels, is_narrow, place_legend, responsive, wrap
from analysis.core.layout import key_height


@responsive
def plot_proportions(props: pd.DataFrame, *, width: float = WIDE) -> plt.Figure:
    """Published percentages with Wilson intervals; grey bands span the rounding interval."""
    frame = props.iloc[::-1].reset_index(drop=True)
    labels = [f"{q} (n={n})" for q, n in zip(frame["quantity"], frame["n"], strict=True)]
    lines = max(
        wrap(label, width * 0.4).count("\n") + 1 if not is_narrow(width) else 1 for label in labels
    )
    row = 0.24 * lines + 0.2
    fig, ax = plt.subplots(
        figsize=(width, row * len(frame) + 2.2 + key_height(labels, width)), layout="constrained"
    )
    y = np.arange(len(frame))
    ax.hlines(y, frame["ci_lower_min"], frame["ci_upper_max"], color="#cccccc", lw=7)
    ax.errorbar(
        frame["percent_point"],
        y,
        xerr=[
            frame["percent_point"] - frame["ci_lower"],
            frame["ci_upper"] - frame["percent_point"],
        ],
        fmt="none",
        ecolor="#1f4e79",
        capsize=3,
    )
    for basis, marker in (("stated", "o"), ("assumed", "o")):
        part = frame[frame["n_basis"].eq(basis)]
        face = "#1f4e79" if basis == "stated" else "white"
        ax.plot(
            part["percent"], part.index, marker, mfc=face, mec="#1f4e79", ls="", label=f"n {basis}"
        )
    category_labels(ax, y, labels, width=width)
    ax.set_ylim(-0.6, len(frame) - 0.4)
    ax.set_xlabel(
        wrap(
            "percent (point: published; bar: Wilson CI of the point count; "
            "grey: widest CI over the rounding interval)",
            width if is_narrow(width) else width * 0.55,
        )
    )
    ax.set_xlim(0, 100)
    place_legend(fig, ax, *ax.get_legend_handles_labels(), width=width)
    return fig


@responsive
def plot_table1(rule_table: pd.DataFrame, *, width: float = WIDE) -> plt.Figure:
    """Table 1 as percentages of each maturity group; hatched bars bound unpublished cells."""
    groups = rule_table.drop_duplicates("group_id")[["group_id", "maturity_group"]]
    activities = (
        rule_table.groupby("activity_id")["percent"].max().sort_values(na_position="first").index
    )
    labels = rule_table.drop_duplicates("activity_id").set_index("activity_id")["activity"]
    lines = max(
        wrap(labels[a], width * 0.4).count("\n") + 1 if not is_narrow(width) else 1
        for a in activities
    )
    row = max(0.24 * lines + 0.25, 0.85)
    key = key_height([labels[a] for a in activities], width)
    fig, ax = plt.subplots(figsize=(width, row * len(activities) + 2.6 + key), layout="constrained")
    y_of = {a: i for i, a in enumerate(activities)}
    colours = ["#a6cee3", "#1f78b4", "#08306b"]
    for j, (gid, label) in enumerate(groups.itertuples(index=False)):
        part = rule_table[rule_table["group_id"].eq(gid)]
        y = part["activity_id"].map(y_of) + (j - 1) * 0.25
        shown = part["count"].notna()
        ax.barh(
            y[shown],
            part.loc[shown, "percent"].astype(float),
            height=0.24,
            color=colours[j],
            label=label,
        )
        bound = 100 * part.loc[~shown, "max_count_if_unshown"] / part.loc[~shown, "n"]
        ax.barh(
            y[~shown], bound, height=0.24, color="none", edgecolor=colours[j], hatch="///", lw=0.5
        )
    ax.axvline(25, color="#b00020", lw=1, ls="--", label="a quarter of the group")
    category_labels(ax, range(len(activities)), [labels[a] for a in activities], width=width)
    ax.set_ylim(-0.6, len(activities) - 0.4)
    ax.set_xlabel(
        wrap(
            "percent of the maturity group citing the activity "
            "(hatched: not published, at most the rule's bound)",
            width if is_narrow(width) else width * 0.55,
        )
    )
    place_legend(fig, ax, *ax.get_legend_handles_labels(), width=width)
    return fig


@responsive
def plot_collaboration_over_time(frame: pd.DataFrame, *, width: float = WIDE) -> plt.Figure:
    """One panel per measure: the 2015 survey (with Wilson CI) beside the 2018 figures (two
    panels to a row at the book column's ``width``, one on a phone)."""
    measures = list(dict.fromkeys(frame["measure"]))
    ncols = 1 if is_narrow(width) else min(2, len(measures))
    nrows = int(np.ceil(len(measures) / ncols))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(width, 4.2 * nrows + 2.4),
        sharey=True,
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat[len(measures) :]:
        ax.set_visible(False)
    style = {
        "practice_2015": ("o", "#1f4e79"),
        "nhse_2018": ("s", "#33a02c"),
        "pcc_2018": ("D", "#e6550d"),
    }
    for ax, measure in zip(axes.flat, measures, strict=False):
        part = frame[frame["measure"].eq(measure)]
        for row in part.itertuples(index=False):
            marker, colour = style[row.study]
            # Hollow: reported in 2018 but undated, possibly restating the 2015 survey.
            face = "none" if row.study == "pcc_2018" else colour
            ax.plot(row.year, row.percent, marker, color=colour, mfc=face, ms=7)
            if pd.notna(row.ci_lower):
                ax.vlines(row.year, row.ci_lower, row.ci_upper, color=colour)
            ax.annotate(
                f"{row.value_text}\n{wrap(row.population, width / ncols * 0.45)}",
                (row.year, row.percent),
                xytext=(6, -4),
                textcoords="offset points",
                va="top",
                fontsize=12,
            )
        ax.set_title(wrap(measure, width / ncols))
        ax.set_xlim(2014.5, 2019.6)
        ax.set_xticks([2015, 2017, 2019])
        ax.grid(axis="y", color="#eeeeee")
    for ax in axes[:, 0]:
        ax.set_ylabel("percent")
    axes.flat[0].set_ylim(0, 100)
    handles = [
        plt.Line2D([], [], marker=m, color=c, ls="", mfc="none" if k == "pcc_2018" else c)
        for k, (m, c) in style.items()
    ]
    fig.legend(
        handles,
        [
            wrap(text, width * 0.85)
            for text in (
                "2015 survey respondents (Wilson CI; n partly assumed)",
                "NHS England, March 2018 (practices)",
                "Reported Dec 2018: source and data year not given (may restate 2015)",
            )
        ],
        loc="outside lower center",
        ncol=1,
        frameon=False,
    )
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width))
