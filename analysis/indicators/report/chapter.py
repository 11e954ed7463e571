"""The parts of the quality-indicator chapter that follow the data: what a run analysed, what
was set aside, which figures it draws and what it found, in words built from its tables.

The chapter runs on the stored synthetic panel, on a practice-level panel grouped into any
number of organisations and on an organisation-level table. With few organisations
(:data:`~analysis.indicators.report.scalefigures.FEW_ORGANISATIONS`) it draws the study's figures
(:mod:`analysis.indicators.report.figures`); with more it draws figures whose size does not grow
with the number of organisations (:mod:`analysis.indicators.report.scalefigures`). Funnels come one
figure per domain and page: the study's four domains always (saying so when a domain has no
indicator, so every declared output exists), and the data's own domains beside them.
"""

from __future__ import annotations

import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

from analysis.core.sentences import Sentences
from analysis.indicators.methods.results import IndicatorResults
from analysis.indicators.methods.selection import Selection
from analysis.indicators.report import figures as figs
from analysis.indicators.report import scalefigures as scale
from analysis.indicators.sources.panel import Panel

TIER_TEXT = {
    "synthetic": " (the stored synthetic panel: illustrative, not study findings).",
    "user": " (user-supplied extracts).",
}


def describe_data(panel: Panel, selection: Selection) -> str:
    """One paragraph of markdown: tier (and for real data publisher and licence), units,
    rows, organisations, indicators, years and parameters of the run."""
    tier = panel.tier
    if tier == "real":
        text = (
            f" ({panel.config.get('title', 'real public data')}; publisher: "
            f"{panel.config['publisher']}; licence: {panel.config['licence']})."
        )
    else:
        text = TIER_TEXT.get(tier, ".")
    units = "organisations (an organisation-level table)" if panel.level == "organisation" else (
        "practices"
    )  # fmt: skip
    n_units = panel.observations[panel.unit].nunique()
    return (
        f"**Data tier: {tier.upper()}**{text} {n_units:,} {units}, "
        f"{len(panel.observations):,} rows; {len(selection.organisations):,} organisations, "
        f"{len(selection.indicators)} indicators, years {selection.years[0]}-"
        f"{selection.years[-1]} (baseline {selection.baseline_year}), alpha "
        f"{selection.alpha:g}, overdispersion `{selection.overdispersion}`"
        + (
            f", membership of {selection.membership_year} held fixed"
            if selection.membership_year
            else ""
        )
        + "."
    )


def notices_table(panel: Panel) -> pd.DataFrame:
    """What the run set aside or took as given, one row per notice: ``file``, ``notice``."""
    rows = [notice.split(": ", 1) if ": " in notice else ["", notice] for notice in panel.notices]
    return pd.DataFrame(rows, columns=["file", "notice"])


INDICATOR_COLUMNS = [
    "indicator_id",
    "name",
    "domain",
    "distribution",
    "higher_is_better",
    "single_year",
    "definition_source",
    "definition_note",
]


def indicator_table(catalogue: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """The analysed indicators with the catalogue columns the chapter shows (those it has)."""
    columns = [c for c in INDICATOR_COLUMNS if c in catalogue.columns]
    return catalogue.loc[catalogue["indicator_id"].isin(selection.indicators), columns]


def domains(catalogue: pd.DataFrame, selection: Selection) -> list[str]:
    """The analysed indicators' domains: the study's four first (in their order), then the
    data's own in catalogue order."""
    chosen = catalogue.loc[catalogue["indicator_id"].isin(selection.indicators), "domain"]
    own = list(dict.fromkeys(chosen))
    return [d for d in figs.DOMAIN_ORDER if d in own] + [
        d for d in own if d not in figs.DOMAIN_ORDER
    ]


def funnel_figures(
    data: pd.DataFrame,
    results: IndicatorResults,
    catalogue: pd.DataFrame,
    selection: Selection,
    tier: str,
    *,
    domain: str,
) -> list[plt.Figure]:
    """A domain's funnels, one figure per page of at most
    :data:`~analysis.indicators.report.scalefigures.PANELS_PER_PAGE` indicators (one figure saying
    so when the domain has none). Practice funnels coloured by organisation with few
    organisations; organisation funnels with many."""
    ids = [
        i
        for i in selection.indicators
        if i in set(catalogue.loc[catalogue["domain"] == domain, "indicator_id"])
    ]
    if scale.many(selection.organisations) and ids:
        return scale.funnel_pages(
            results.level, results.dispersion, catalogue, ids, selection.years, tier,
            domain=domain, overdispersion=selection.overdispersion,
        )  # fmt: skip
    per_page = scale.PANELS_PER_PAGE
    pages = [ids[k : k + per_page] for k in range(0, len(ids), per_page)] or [[]]
    return [
        figs.funnel_figure(
            data,
            results.dispersion,
            catalogue,
            dataclasses.replace(selection, indicators=page),
            tier,
            domain=domain,
        )  # fmt: skip
        for page in pages
    ]


def funnel_names(domain: str, count: int) -> list[str]:
    """File names (no suffix) of a domain's funnel pages: ``funnel_<domain>``, then ``_2``..."""
    return [f"funnel_{domain}" + (f"_{k}" if k > 1 else "") for k in range(1, count + 1)]


def trend_figure(results: IndicatorResults, tier: str) -> plt.Figure:
    """The trend figure: a row per organisation with few, class shares with many, or a figure
    saying there is no trend (single-year data, an organisation-level table)."""
    trend = results.trend
    if not trend.empty:
        trend = trend.dropna(subset=["org_annual_ratio"])
    if trend.empty:  # the declared figure still exists, saying why it is empty
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "No trends: no indicator with two years or more of counts "
                "from member practices", ha="center", fontsize=9)  # fmt: skip
        return fig
    if scale.many(results.selection.organisations):
        return scale.class_overview(results.summary, tier, comparisons=("trend",))
    return figs.trend_figure(trend, tier)


def variation_figure(results: IndicatorResults, catalogue: pd.DataFrame, tier: str) -> plt.Figure:
    """Variation between member practices: a heatmap with few organisations, shares with many."""
    if scale.many(results.selection.organisations) or results.variation_trend.empty:
        return scale.variation_overview(results.variation_trend, tier)
    return figs.variation_figure(results.variation_trend, catalogue, tier)


def summary_figure(results: IndicatorResults, tier: str) -> plt.Figure:
    """Better / not different / worse: organisation x indicator cells with few organisations,
    the share of organisations per indicator (by domain) with many."""
    if scale.many(results.selection.organisations):
        return scale.class_overview(results.summary, tier)
    return figs.summary_heatmap(results.summary, tier)


def summary_sentences(shares: pd.DataFrame) -> Sentences:
    """The findings across organisations in words, each number a cell of ``summary_shares``
    (:func:`analysis.indicators.methods.summary.domain_shares`): per comparison, all domains, after
    the Benjamini-Hochberg adjustment."""
    said = Sentences({"summary_shares": shares})
    for comparison in ("level", "trend"):
        where = {"domain": "all", "comparison": comparison, "adjustment": "BH"}
        rows = shares[(shares[list(where)] == pd.Series(where)).all(axis=1)]
        if rows.empty:
            continue
        columns = ["n", "indicators", "organisations", "better", "worse", "not different"]
        neutral = [c for c in ("higher", "lower") if c in shares.columns]
        cite = {
            c.replace(" ", "_"): said.cite("summary_shares", c, **where)
            for c in [*columns, *neutral]
        }
        what, than = (
            ("levels (each indicator at its reference year)", "than England")
            if comparison == "level"
            else ("annual trends", "than the comparator's trend")
        )
        extra = (
            ", {higher} higher and {lower} lower (indicators without a direction)"
            if neutral
            else ""
        )
        said.add(
            f"summary-{comparison}",
            f"Of {{n}} {what} of {{organisations}} organisations on {{indicators}} indicators, "
            f"{{better}} were better {than}, {{worse}} worse{extra} and {{not_different}} not "
            "different after the Benjamini-Hochberg adjustment.",
            **cite,
        )
    return said
