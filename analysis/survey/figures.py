"""The survey chapter's figures of the published figures: percentages with their intervals,
Table 1 against the quarter rule, and collaboration over time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def plot_proportions(props: pd.DataFrame) -> plt.Figure:
    """Published percentages with Wilson intervals; grey bands span the rounding interval."""
    frame = props.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(frame) + 1.2))
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
    labels = [f"{q} (n={n})" for q, n in zip(frame["quantity"], frame["n"], strict=True)]
    ax.set_yticks(y, [_wrap(label, 60) for label in labels], fontsize=8)
    ax.set_xlabel(
        "percent (point: published; bar: Wilson CI of the point count;\n"
        "grey: widest CI over the rounding interval)",
        fontsize=8,
    )
    ax.set_xlim(0, 100)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_table1(rule_table: pd.DataFrame) -> plt.Figure:
    """Table 1 as percentages of each maturity group; hatched bars bound unpublished cells."""
    groups = rule_table.drop_duplicates("group_id")[["group_id", "maturity_group"]]
    activities = (
        rule_table.groupby("activity_id")["percent"].max().sort_values(na_position="first").index
    )
    labels = rule_table.drop_duplicates("activity_id").set_index("activity_id")["activity"]
    fig, ax = plt.subplots(figsize=(8.5, 6))
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
    ax.set_yticks(range(len(activities)), [_wrap(labels[a], 45) for a in activities], fontsize=8)
    ax.set_xlabel(
        "percent of the maturity group citing the activity\n"
        "(hatched: not published, at most the rule's bound)"
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_collaboration_over_time(frame: pd.DataFrame) -> plt.Figure:
    """One panel per measure: the 2015 survey (with Wilson CI) beside the 2018 figures."""
    measures = list(dict.fromkeys(frame["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(11, 3.8), sharey=True)
    style = {
        "practice_2015": ("o", "#1f4e79"),
        "nhse_2018": ("s", "#33a02c"),
        "pcc_2018": ("D", "#e6550d"),
    }
    for ax, measure in zip(np.atleast_1d(axes), measures, strict=True):
        part = frame[frame["measure"].eq(measure)]
        for row in part.itertuples(index=False):
            marker, colour = style[row.study]
            # Hollow: reported in 2018 but undated, possibly restating the 2015 survey.
            face = "none" if row.study == "pcc_2018" else colour
            ax.plot(row.year, row.percent, marker, color=colour, mfc=face, ms=7)
            if pd.notna(row.ci_lower):
                ax.vlines(row.year, row.ci_lower, row.ci_upper, color=colour)
            ax.annotate(
                f"{row.value_text}\n{_wrap(row.population, 22)}",
                (row.year, row.percent),
                xytext=(6, -4),
                textcoords="offset points",
                fontsize=7,
                va="top",
            )
        ax.set_title(_wrap(measure, 30), fontsize=9)
        ax.set_xlim(2014.5, 2019.6)
        ax.set_xticks([2015, 2016, 2017, 2018, 2019])
        ax.grid(axis="y", color="#eeeeee")
    np.atleast_1d(axes)[0].set_ylabel("percent")
    np.atleast_1d(axes)[0].set_ylim(0, 100)
    handles = [
        plt.Line2D([], [], marker=m, color=c, ls="", mfc="none" if k == "pcc_2018" else c)
        for k, (m, c) in style.items()
    ]
    fig.legend(
        handles,
        [
            "2015 survey respondents (Wilson CI; n partly assumed)",
            "NHS England, March 2018 (practices)",
            "Reported Dec 2018: source and data year not given (may restate 2015)",
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, 0.05),
        ncol=3,
        fontsize=8,
    )
    fig.tight_layout(rect=(0, 0.15, 1, 1))
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width))
