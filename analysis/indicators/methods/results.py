"""Every quality-indicator analysis for one selection, and the tables a run writes.

:func:`run_analysis` runs analyses 1-6 (:mod:`~analysis.indicators.methods.comparison`,
:mod:`~analysis.indicators.methods.trends`, :mod:`~analysis.indicators.methods.variation`,
:mod:`~analysis.indicators.methods.associations`, :mod:`~analysis.indicators.methods.summary`) and,
given the synthetic truth, :mod:`~analysis.indicators.methods.truth`; it returns an
:class:`IndicatorResults`. :func:`output_tables` names the tables a run writes
(:data:`OUTPUT_TABLES`), each labelled with its data tier (:func:`label_tier`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.indicators.methods.associations import association_tests, performance_scores
from analysis.indicators.methods.comparison import (
    compare_to_national,
    overdispersion_table,
    qof_single_points,
)
from analysis.indicators.methods.selection import Selection
from analysis.indicators.methods.summary import summary_counts, summary_table
from analysis.indicators.methods.trends import FIT_OPTIONS, classify_trends, trend_fits
from analysis.indicators.methods.truth import (
    EMPTY_COLUMNS,
    classification_recovery,
    recovery_summary,
    truth_summary,
    truth_vs_estimate,
)
from analysis.indicators.methods.variation import practice_variation, variation_trend


@dataclass
class IndicatorResults:
    """Every table of one run."""

    selection: Selection
    dispersion: pd.DataFrame
    level: pd.DataFrame
    trend: pd.DataFrame
    qof: pd.DataFrame
    variation: pd.DataFrame
    variation_trend: pd.DataFrame
    summary: pd.DataFrame
    counts: pd.DataFrame
    scores: pd.DataFrame
    associations: pd.DataFrame
    truth: pd.DataFrame = field(default_factory=pd.DataFrame)
    truth_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    recovery: pd.DataFrame = field(default_factory=pd.DataFrame)
    recovery_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    trend_fits: pd.DataFrame = field(default_factory=pd.DataFrame)
    """The fitted trend models before ``alpha``
    (:func:`~analysis.indicators.methods.trends.trend_fits`), to pass as ``fits`` to another
    analysis of the same data and trend options."""


def _trend_fits(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    selection: Selection,
    trend_method: str,
    fits: pd.DataFrame | None,
) -> pd.DataFrame:
    """``fits`` when given (checked against the selection's trend options), else fitted."""
    wanted = {
        "baseline_year": selection.baseline_year,
        "method": trend_method,
        "comparator": selection.trend_comparator,
        "members": selection.trend_members,
        "model": selection.trend_model,
    }
    if fits is None:
        return trend_fits(data, catalogue, selection.organisations, **wanted)
    if len(fits):
        made = {k: fits[k].unique().tolist() for k in FIT_OPTIONS}
        organisations = set(fits["organisation_id"])
        if any(made[k] != [wanted[k]] for k in FIT_OPTIONS) or organisations - set(
            selection.organisations
        ):
            raise ValueError(
                f"fits: made with {made} for {sorted(organisations)}; this analysis needs "
                f"{wanted} for {list(selection.organisations)}"
            )
    return fits


def run_analysis(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations_table: pd.DataFrame,
    selection: Selection,
    *,
    truth: pd.DataFrame | None = None,
    trend_method: str = "separate",
    national: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
    level: str = "practice",
) -> IndicatorResults:
    """Analyses 1-6 (and truth against estimate when ``truth`` is given) for a selection.

    ``data`` is the output of :func:`analysis.indicators.methods.selection.prepare` for
    ``selection``; ``national`` optional published England rows (the default comparator where
    given); ``fits`` the ``trend_fits`` of an earlier analysis of the same data with the same trend
    options (checked), which then are not fitted again. At ``level="organisation"`` (one
    row per organisation, no practices) there is no trend (nothing to cluster on) and no
    variation between member practices: those tables are empty.
    """
    orgs, alpha = selection.organisations, selection.alpha
    if level == "organisation":
        fits = pd.DataFrame()
        members = data.iloc[:0]
    else:
        members = data
    dispersion = overdispersion_table(data, tau2_method=selection.tau2_method)
    level = compare_to_national(
        data,
        orgs,
        alpha=alpha,
        overdispersion=selection.overdispersion,
        dispersion=dispersion,
        comparator=selection.comparator,
        national=national,
        organisation_variance=selection.organisation_variance,
    )
    fits = _trend_fits(data, catalogue, selection, trend_method, fits)
    trend = classify_trends(fits, alpha=alpha, reference=selection.trend_reference)
    variation = practice_variation(members, orgs)
    summary = summary_table(
        level, trend, catalogue, selection.years, alpha=alpha, bh_family=selection.bh_family
    )
    scores = performance_scores(summary, score=selection.score)
    results = IndicatorResults(
        selection=selection,
        dispersion=dispersion,
        level=level,
        trend=trend,
        qof=qof_single_points(level, catalogue),
        variation=variation,
        variation_trend=variation_trend(
            variation, alpha=alpha, measure=selection.variation_measure
        ),
        summary=summary,
        counts=summary_counts(summary),
        scores=scores,
        associations=association_tests(scores, organisations_table, alpha=alpha),
        trend_fits=fits,
    )
    if truth is not None:
        results.truth = truth_vs_estimate(trend, truth, catalogue, alpha=alpha)
        results.truth_summary = truth_summary(results.truth)
        results.recovery = classification_recovery(summary, truth)
        results.recovery_summary = recovery_summary(results.recovery)
    return results


OUTPUT_TABLES = (
    "level",
    "overdispersion",
    "trend",
    "qof",
    "variation",
    "variation_trend",
    "associations",
    "summary",
    "summary_counts",
    "truth_vs_estimate",
    "truth_summary",
    "classification_recovery",
)
"""Tables a run writes (``tables/<name>.csv``), besides the statements and reproduction."""


def output_tables(results: IndicatorResults, tier: str) -> dict[str, pd.DataFrame]:
    """Every result table keyed by its output name, each with ``data_tier`` as first column.

    ``truth_*`` and ``classification_recovery`` are empty (header only) without a truth
    table, so a run on user data writes the same files.
    """
    tables = {
        "level": results.level,
        "overdispersion": results.dispersion,
        "trend": results.trend,
        "qof": results.qof,
        "variation": results.variation,
        "variation_trend": results.variation_trend,
        "associations": results.associations,
        "summary": results.summary,
        "summary_counts": results.counts,
        "truth_vs_estimate": results.truth,
        "truth_summary": results.truth_summary,
        "classification_recovery": results.recovery_summary,
    }
    for name, columns in EMPTY_COLUMNS.items():
        if tables[name].empty and not len(tables[name].columns):
            tables[name] = pd.DataFrame(columns=columns)
    return {name: label_tier(frame, tier) for name, frame in tables.items()}


def label_tier(frame: pd.DataFrame, tier: str) -> pd.DataFrame:
    """``frame`` with a first column ``data_tier`` (``synthetic`` / ``user``)."""
    out = frame.copy()
    out.insert(0, "data_tier", tier)
    return out


def method_changes(current: IndicatorResults, previous: IndicatorResults) -> pd.DataFrame:
    """How many classifications moved between two runs (e.g. new against published methods).

    Compares the summary classes (level and trend, unadjusted and Benjamini-Hochberg), the
    variation-change classes and the association tests' significance, row by row.

    Returns
    -------
    pandas.DataFrame
        ``table``, ``comparison``, ``n`` (rows compared), ``moved`` (rows whose class
        differs) and ``moves`` (``from -> to: count``, most frequent first).
    """
    pairs = []
    key = ["organisation_id", "indicator_id", "comparison"]
    merged = current.summary.merge(previous.summary, on=key, suffixes=("", "_previous"))
    for column, label in (("class_unadjusted", "unadjusted"), ("class_bh", "BH")):
        for comparison, group in merged.groupby("comparison", sort=True):
            pairs.append(
                (f"summary ({label})", comparison, group[column], group[f"{column}_previous"])
            )
    var = current.variation_trend.merge(
        previous.variation_trend, on=["organisation_id", "indicator_id"], suffixes=("", "_prev")
    )
    pairs.append(
        ("variation_trend", "variation", var["variation_change"], var["variation_change_prev"])
    )
    assoc = current.associations.merge(
        previous.associations, on=["comparison", "characteristic"], suffixes=("", "_prev")
    )
    pairs.append(
        (
            "associations",
            "significant",
            assoc["significant"].map({True: "significant", False: "not significant"}),
            assoc["significant_prev"].map({True: "significant", False: "not significant"}),
        )
    )
    rows = []
    for table, comparison, now, before in pairs:
        now, before = now.astype(str).to_numpy(), before.astype(str).to_numpy()
        moved = now != before
        moves = pd.Series([f"{b} -> {n}" for b, n in zip(before[moved], now[moved], strict=True)])
        counts = moves.value_counts()
        rows.append(
            {
                "table": table,
                "comparison": comparison,
                "n": len(now),
                "moved": int(moved.sum()),
                "moves": "; ".join(f"{m}: {c}" for m, c in counts.items()),
            }
        )
    return pd.DataFrame(rows)


def sensitivity_counts(
    data: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations_table: pd.DataFrame,
    selection: Selection,
    *,
    alphas: tuple[float, ...] = (0.01, 0.05, 0.1),
    tau2_methods: tuple[str, ...] = ("winsorised", "dl"),
    results: IndicatorResults | None = None,
) -> pd.DataFrame:
    """Better / worse counts (unadjusted, all domains) over a grid of ``alpha`` x ``tau2_method``.

    The same grid as the ``qi_sensitivity`` sweep of ``pipeline.yml``, computed in-process on
    the already prepared ``data``: the counts of :func:`run_analysis` at each grid point, from
    only the analyses they need (levels and trends), each between-practice variance estimated
    once per method and the trend models fitted once. ``results``, the analysis of ``data``
    for ``selection``, lends its trend fits and its between-practice variances.

    Returns
    -------
    pandas.DataFrame
        ``alpha``, ``tau2_method``, ``comparison``, ``better``, ``not different``, ``worse``,
        ``n``.
    """
    orgs = selection.organisations
    known = {results.selection.tau2_method: results.dispersion} if results is not None else {}
    dispersions = {
        m: known[m] if m in known else overdispersion_table(data, tau2_method=m)
        for m in tau2_methods
    }
    frames = []
    fits = _trend_fits(
        data, catalogue, selection, "separate", results.trend_fits if results else None
    )
    for alpha in alphas:
        trend = classify_trends(fits, alpha=float(alpha), reference=selection.trend_reference)
        for method in tau2_methods:
            level = compare_to_national(
                data,
                orgs,
                alpha=float(alpha),
                overdispersion=selection.overdispersion,
                dispersion=dispersions[method],
                comparator=selection.comparator,
                organisation_variance=selection.organisation_variance,
            )
            summary = summary_table(
                level, trend, catalogue, selection.years, alpha=float(alpha),
                bh_family=selection.bh_family,
            )  # fmt: skip
            counts = summary_counts(summary)
            counts = counts[(counts["domain"] == "all") & (counts["adjustment"] == "unadjusted")]
            summed = counts.groupby("comparison", as_index=False)[
                ["better", "not different", "worse", "n"]
            ].sum()
            frames.append(summed.assign(alpha=float(alpha), tau2_method=method))
    out = pd.concat(frames, ignore_index=True)
    cols = ["alpha", "tau2_method", "comparison", "better", "not different", "worse", "n"]
    return out[cols]
