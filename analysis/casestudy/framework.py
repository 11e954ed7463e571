"""The framework matrix (sites x themes): scoring the codes, choosing sites and themes, the
matrix of summaries with its evidence footnotes, and the heatmap.

A scoring map turns each code into a score from 0 (bottom of its theme's scale) to 1
(top): ``linear``, ``convex`` or ``concave`` in the rank, optionally with per-code
overrides; codes off an ordinal scale score NaN unless overridden.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from analysis.casestudy.parameters import check_choices
from analysis.casestudy.sources import SITES
from analysis.core.layout import WIDE, is_narrow, responsive, wrap

NAMED_MAPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "convex": lambda x: x**2,
    "concave": np.sqrt,
}


def _scoring_overrides(spec: str) -> tuple[str, dict]:
    try:
        raw = ast.literal_eval(spec)
    except (ValueError, SyntaxError):
        raw = None
    if not isinstance(raw, dict):
        raise ValueError(
            f"scoring_map: {spec!r} is neither a named map {sorted(NAMED_MAPS)} nor a dict "
            "such as {'base': 'linear', 'system_proactivity:reactive': 0.4}"
        )
    raw = dict(raw)
    base = raw.pop("base", "linear")
    if base not in NAMED_MAPS:
        raise ValueError(f"scoring_map: base {base!r} is not one of {sorted(NAMED_MAPS)}")
    return base, raw


def parse_scoring_map(spec: str, codebook: pd.DataFrame) -> pd.DataFrame:
    """The score of every code under a named map, optionally with per-code overrides.

    Parameters
    ----------
    spec
        ``"linear"`` (rank / top rank), ``"convex"`` ((rank / top rank) squared: only
        the top of a scale scores high) or ``"concave"`` (square root: lenient); or a
        dict-like string ``"{'base': 'linear', 'theme:code': 0.4, ...}"`` overriding
        single codes with scores in [0, 1]. Codes off the ordinal scale (rank missing)
        score NaN unless overridden.
    codebook
        The theme scales.

    Returns
    -------
    pandas.DataFrame
        ``theme, code, rank, score`` for every code.

    Raises
    ------
    ValueError
        Naming ``scoring_map`` and the bad key or value.
    """
    if not isinstance(spec, str):
        raise ValueError(f"scoring_map: expected a string, got {spec!r}")
    text = spec.strip()
    base, overrides = (text, {}) if text in NAMED_MAPS else _scoring_overrides(text)
    table = codebook[["theme", "code", "rank"]].copy()
    table["rank"] = pd.to_numeric(table["rank"], errors="coerce").astype("Int64")
    rank = table["rank"].to_numpy(dtype=float, na_value=np.nan)
    top = table.groupby("theme")["rank"].transform("max").to_numpy(dtype=float, na_value=np.nan)
    table["score"] = NAMED_MAPS[base](rank / top)
    known = set(zip(table["theme"], table["code"], strict=True))
    for key, value in overrides.items():
        theme, sep, code = str(key).partition(":")
        if not sep or (theme, code) not in known:
            raise ValueError(f"scoring_map: {key!r} is not a 'theme:code' pair in the codebook")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or not 0 <= value <= 1:
            raise ValueError(f"scoring_map: {key!r} = {value!r}; expected a number in [0, 1]")
        table.loc[(table["theme"] == theme) & (table["code"] == code), "score"] = float(value)
    return table.reset_index(drop=True)


def set_membership(value: float, threshold: float) -> str:
    """``in`` above the threshold, ``out`` below, ``crossover`` exactly at it (Ragin's 0.5)."""
    if value == threshold:
        return "crossover"
    return "in" if value > threshold else "out"


def score(evidence: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """The evidence with each code's ``rank`` and ``score`` added."""
    return evidence.merge(scores, on=["theme", "code"], how="left", validate="many_to_one")


def select(
    evidence: pd.DataFrame, themes: pd.DataFrame, sites: Sequence[str], theme_names: Sequence[str]
) -> pd.DataFrame:
    """The rows for the chosen sites and themes, ordered as chosen (sites) and as catalogued.

    Raises
    ------
    ValueError
        Naming the ``sites`` or ``themes`` parameter when a value is unknown.
    """
    sites = check_choices("sites", sites, SITES)
    theme_names = check_choices("themes", theme_names, list(themes["theme"]))
    order = [t for t in themes["theme"] if t in theme_names]
    chosen = evidence[evidence["site"].isin(sites) & evidence["theme"].isin(order)].copy()
    chosen["site"] = pd.Categorical(chosen["site"], categories=sites, ordered=True)
    chosen["theme"] = pd.Categorical(chosen["theme"], categories=order, ordered=True)
    chosen = chosen.sort_values(["theme", "site"]).reset_index(drop=True)
    chosen["footnote"] = np.arange(1, len(chosen) + 1)
    chosen["site"] = chosen["site"].astype(str)
    chosen["theme"] = chosen["theme"].astype(str)
    return chosen


# --------------------------------------------------------------------------- framework matrix


def framework_matrix(selected: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """Sites x themes as a table of summaries, each with its evidence footnote number.

    Parameters
    ----------
    selected
        Output of :func:`select` (has ``footnote``).
    themes
        The themes table (for labels and groups).

    Returns
    -------
    pandas.DataFrame
        One row per theme (``group``, ``theme``, ``label``) and one column per site.
    """
    cells = selected.assign(
        cell=selected["summary"] + " [" + selected["footnote"].astype(str) + "]"
    )
    wide = cells.pivot(index="theme", columns="site", values="cell")
    order = [t for t in themes["theme"] if t in wide.index]
    sites = list(dict.fromkeys(selected["site"]))
    wide = wide.loc[order, sites].reset_index()
    info = themes.set_index("theme").loc[order, ["group", "label"]].reset_index()
    out = info.merge(wide, on="theme")
    out.columns.name = None
    return out


def footnotes(selected: pd.DataFrame) -> pd.DataFrame:
    """The evidence behind each matrix cell, numbered as in :func:`framework_matrix`."""
    out = selected.assign(source=selected["source_file"] + ":" + selected["source_lines"])
    columns = ["footnote", "site", "theme", "code", "excerpt", "source", "source_location", "note"]
    return out[columns].reset_index(drop=True)


HEATMAP_PARTS = {
    "framework_heatmap_drivers": ("driver", "leadership_aspect"),
    "framework_heatmap_outcomes": ("interdependence_activity", "outcome", "typology"),
}
"""The heatmap split into two figures by theme group (file name -> groups), each legible
at the book's column width."""


@responsive
def plot_heatmap(
    selected: pd.DataFrame,
    themes: pd.DataFrame,
    *,
    groups: Sequence[str] | None = None,
    title: str = "Coded evidence by site",
    width: float = WIDE,
) -> plt.Figure:
    """Heatmap of the scored codes (themes x sites), each cell labelled with code and footnote.

    Parameters
    ----------
    selected
        :func:`select` output (one row per site and theme, with ``score`` and ``footnote``).
    themes
        The themes table (``theme, group, label``).
    groups
        Theme groups to draw (e.g. ``HEATMAP_PARTS[name]``); all groups when None. A part
        with no selected theme gives a figure saying so, so every declared output exists.
    title
        Figure title; the grey-cell key is appended.
    width
        Inches: the book column's. On a phone's width a cell shows its footnote number only
        (the code is in the evidence table under that number).

    Returns
    -------
    matplotlib.figure.Figure
        ``width`` inches wide, with wrapped theme labels and cell text.

    Raises
    ------
    ValueError
        For a group not in ``themes``.
    """
    if groups is not None:
        check_choices("groups", list(groups), list(dict.fromkeys(themes["group"])))
        themes = themes[themes["group"].isin(groups)]
    order = [t for t in themes["theme"] if t in set(selected["theme"])]
    title = f"{title} (grey: code not on an ordered scale)"
    if not order:
        fig, ax = plt.subplots(figsize=(width, 1.6), layout="constrained")
        ax.axis("off")
        ax.text(0.5, 0.5, "No selected theme in this part of the framework", ha="center")
        fig.suptitle(wrap(title, width))
        return fig
    narrow = is_narrow(width)
    selected = selected[selected["theme"].isin(order)]
    sites = list(dict.fromkeys(selected["site"]))
    scores = selected.pivot(index="theme", columns="site", values="score").loc[order, sites]
    cell = (width * 0.66) / max(len(sites), 1)  # inches per site column
    codes = selected["code"].str.replace("_", " ").map(lambda c: wrap(c, cell * 0.95))
    text = "[" + selected["footnote"].astype(str) + "]"
    if not narrow:
        text = codes + " " + text
    labels = selected.assign(text=text).pivot(index="theme", columns="site", values="text")
    labels = labels.loc[order, sites]
    names = themes.set_index("theme").loc[order, "label"].map(lambda t: wrap(t, width * 0.34))
    lines = max(
        1,
        *(str(v).count("\n") + 1 for v in labels.to_numpy().ravel()),
        *(n.count("\n") + 1 for n in names),
    )
    fig, ax = plt.subplots(
        figsize=(width, 2.6 + (0.22 * lines + 0.12) * len(order)), layout="constrained"
    )
    ax.set_facecolor("#d9d9d9")
    sns.heatmap(
        scores.astype(float),
        ax=ax,
        cmap="viridis",
        vmin=0,
        vmax=1,
        annot=labels.to_numpy(),
        fmt="",
        annot_kws={"fontsize": 12},
        linewidths=0.5,
        linecolor="white",
        cbar_kws={
            "label": "score (0 = bottom of the theme's scale, 1 = top)",
            "orientation": "horizontal",
            "shrink": 0.8,
            "fraction": 0.04,
            "pad": 0.02,
            "aspect": 30,
        },
        yticklabels=list(names),
        xticklabels=[s if not narrow else s[:6] for s in sites],
    )
    for r, c in zip(*np.where(scores.isna().to_numpy()), strict=True):
        ax.text(c + 0.5, r + 0.5, labels.iat[r, c], ha="center", va="center")
    groups_of = themes.set_index("theme").loc[order, "group"].tolist()
    for row in range(1, len(order)):
        if groups_of[row] != groups_of[row - 1]:
            ax.axhline(row, color="black", linewidth=1.5)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.xaxis.tick_top()
    ax.tick_params(axis="x", length=0, rotation=90 if narrow else 0)
    ax.tick_params(axis="y", rotation=0)
    cbar = ax.collections[0].colorbar
    cbar.set_label(wrap(cbar.ax.get_xlabel(), width * 0.8))
    fig.suptitle(wrap(title, width))
    return fig
