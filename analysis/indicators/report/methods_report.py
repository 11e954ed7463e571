"""The quality-indicator chapter's methods tables and the sentences built from them.

A run with this chapter's methods is set beside the same data analysed with the methods as
published (:data:`analysis.indicators.methods.selection.PUBLISHED_METHODS`):
:func:`method_tables` gives the trend table of both fits side by side
(:func:`analysis.indicators.methods.trends.side_by_side`) with their class counts, which interval
agrees with the level classes (:func:`analysis.indicators.methods.comparison.interval_checks`) and
how many classifications moved (:func:`analysis.indicators.methods.results.method_changes`);
:func:`method_sentences` states those results, each number cited from its table
(:class:`analysis.core.sentences.Sentences`).
"""

from __future__ import annotations

import pandas as pd

from analysis.core.sentences import Sentences
from analysis.indicators.methods.comparison import interval_checks
from analysis.indicators.methods.results import IndicatorResults, method_changes
from analysis.indicators.methods.trends import side_by_side, trend_counts

METHOD_TABLES = (
    "trend_side_by_side",
    "trend_counts",
    "interval_checks",
    "method_changes",
    "method_moves",
)
"""The tables :func:`method_tables` returns, by output name."""


def method_tables(
    results: IndicatorResults, published: IndicatorResults
) -> dict[str, pd.DataFrame]:
    """``trend_side_by_side``, ``trend_counts``, ``interval_checks``, ``method_changes`` and
    ``method_moves`` (its unadjusted level and trend rows), each keyed by its output name
    (``tables/<name>.csv``); the trend tables are empty when no selected indicator has a
    time series."""
    if results.trend.empty:
        side = pd.DataFrame()
        counts = pd.DataFrame(columns=["fit", "label", "better", "not different", "worse",
                                       "higher", "lower", "pairs", "moved"])  # fmt: skip
    else:
        side = side_by_side(results.trend, published.trend)
        counts = trend_counts(side)
    changes = method_changes(results, published)
    unadjusted = changes[changes["table"] == "summary (unadjusted)"]
    return {
        "trend_side_by_side": side,
        "trend_counts": counts,
        "interval_checks": interval_checks(results.level),
        "method_changes": changes,
        "method_moves": unadjusted[["comparison", "n", "moved"]].reset_index(drop=True),
    }


def method_sentences(tables: dict[str, pd.DataFrame]) -> Sentences:
    """The chapter's method sentences: ``intervals``, ``trends`` (when there are trend
    indicators) and ``moved``."""
    said = Sentences(tables)
    check = {k: said.cite("interval_checks", k) for k in
             ("rows", "not_different", "sampling_only_excludes", "adjusted_excludes")}  # fmt: skip
    said.add(
        "intervals",
        "Of {rows} organisation-indicator-year rows, {not_different} are classed *not "
        "different*. The sampling-only interval excludes England in {sampling_only_excludes} "
        "of them; the interval for the underlying rate, which the tables show, "
        "in {adjusted_excludes}.",
        **check,
    )
    counts = tables["trend_counts"]
    if len(counts):

        def count(fit: str, column: str) -> object:
            return said.cite("trend_counts", column, fit=fit)

        said.add(
            "trends",
            "With this run's trend model ({label}), {better} organisation-indicator trends are "
            "better than the rest of England's and {worse} worse; with the fit as published "
            "({published_fit}), {published_better} and {published_worse}. {moved} of the "
            "{pairs} classifications differ between the two.",
            label=said.cite("trend_counts", "label", fit="headline"),
            better=count("headline", "better"),
            worse=count("headline", "worse"),
            published_fit=said.cite("trend_counts", "label", fit="published"),
            published_better=count("published", "better"),
            published_worse=count("published", "worse"),
            moved=count("headline", "moved"),
            pairs=count("headline", "pairs"),
        )
    moves = tables["method_moves"]
    cells = {}
    for comparison in moves["comparison"]:
        cells[f"{comparison}_moved"] = said.cite("method_moves", "moved", comparison=comparison)
        cells[f"{comparison}_n"] = said.cite("method_moves", "n", comparison=comparison)
    if "trend_moved" in cells:
        said.add(
            "moved",
            "With the published methods instead of this run's, {level_moved} of {level_n} "
            "unadjusted level classifications and {trend_moved} of {trend_n} trend "
            "classifications move.",
            **cells,
        )
    else:
        said.add(
            "moved",
            "With the published methods instead of this run's, {level_moved} of {level_n} "
            "unadjusted level classifications move.",
            **cells,
        )
    return said
