"""Organisation trends under three membership rules, and variation within organisations.

A network's trend depends on who counts as its members. With practice-level values for
several years and yearly membership
(:func:`analysis.indicators.sources.structures.membership_table`), :func:`organisation_trends`
estimates each organisation's linear trend (units per year) three ways:

``fixed``
    Membership of one year applied to every year (today's networks traced back); pooled
    least squares over the member practice-years, so practices that close or open inside the
    window change the organisation's mix.
``own``
    Each year's own membership, pooled: a practice that moves takes its level with it.
``practice_fe``
    Each year's own membership with one intercept per practice and organisation spell
    (the within estimator): only change inside practices while members counts; turnover
    drops out.

Each trend is compared with England's trend estimated the same way over every practice;
standard errors are clustered by practice; the between-organisation variance of the trend
differences (:func:`analysis.core.stats.between_variance`) enters each test, and p-values are
Benjamini-Hochberg adjusted over the organisations of one indicator and rule.
:func:`rule_summary` compares the rules; :func:`within_variation` splits each indicator-year's
variance between and within organisations by REML (:mod:`analysis.indicators.methods.mixed`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.methods.associations import simple_regression
from analysis.indicators.methods.mixed import fit_random_intercept

RULES = {
    "fixed": "membership of one year in every year, pooled",
    "own": "each year's own membership, pooled",
    "practice_fe": "each year's own membership, practice fixed effects (within-practice change)",
}
PANEL_COLUMNS = ["practice_code", "year", "indicator_id", "value"]
CHANGED = 0.05
"""A trend that differs from the reference rule's by more than this (units per year) has
been moved by the rule."""


def _codes(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer codes of the distinct rows of ``frame[columns]`` and those rows."""
    codes = frame.groupby(columns, sort=False).ngroup().to_numpy()
    # ngroup numbers groups in order of first appearance, as drop_duplicates keeps them
    return codes, frame[columns].drop_duplicates().reset_index(drop=True)


def _slopes(frame: pd.DataFrame, by: list[str], fixed_effects: bool) -> pd.DataFrame:
    """Least-squares slope of ``value`` on ``year`` per ``by`` group, clustered by practice.

    Pooled: year and value are centred on the group's means. With ``fixed_effects`` they are
    centred within each practice of the group (the within estimator, the same slope as least
    squares with one intercept per practice). The variance of a slope is the cluster-robust
    sandwich ``G / (G - 1) * sum_p (sum_t xc e)^2 / Sxx^2`` over the group's ``G`` practices.
    """
    group, groups = _codes(frame, by)
    cluster, _ = _codes(frame, [*by, "practice_code"])
    cell = cluster if fixed_effects else group
    x = frame["year"].to_numpy(float)
    y = frame["value"].to_numpy(float)
    # the codes number every group, cluster and cell 0..n-1, so no bincount needs a minlength
    count = np.bincount(cell)
    xc = x - (np.bincount(cell, x) / count)[cell]
    yc = y - (np.bincount(cell, y) / count)[cell]
    sxx = np.bincount(group, xc * xc)
    sxy = np.bincount(group, xc * yc)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(sxx > 1e-12, sxy / sxx, np.nan)
        resid = yc - slope[group] * xc
        score = np.bincount(cluster, xc * resid)
        cluster_group = group[np.unique(cluster, return_index=True)[1]]
        meat = np.bincount(cluster_group, score**2)
        practices = np.bincount(cluster_group)
        factor = np.where(practices > 1, practices / (practices - 1.0), np.nan)
        se = np.sqrt(factor * meat) / sxx
        # Residuals at rounding level (every practice on the fitted line, e.g. one year of
        # one practice beside two of another) leave an SE of 1e-14, not 0: as an inverse-
        # variance weight it swamps the others and the between-organisation variance goes
        # to infinity. Below this floor the SE is 0, which has no sampling error to compare.
        floor = 1e-9 * np.abs(y).max(initial=0.0) / np.sqrt(sxx)
        se = np.where(np.isnan(se) | (se > floor), se, 0.0)
    out = groups.copy()
    out["slope"], out["se"] = slope, se
    out["practice_years"] = np.bincount(group)
    out["practices"] = practices
    return out


def organisation_trends(
    panel: pd.DataFrame,
    memberships: Mapping[str, pd.DataFrame],
    *,
    alpha: float = 0.05,
    tau2_method: str = "dl",
) -> pd.DataFrame:
    """Each organisation's trend against England's under each membership rule.

    Parameters
    ----------
    panel
        :data:`PANEL_COLUMNS`: one value per practice, year and indicator (every practice,
        members or not: England is all of them).
    memberships
        Rule -> ``practice_code``, ``year``, ``organisation_id`` (members only); the rule
        ``practice_fe`` adds practice intercepts (give it each year's own membership).
    alpha, tau2_method
        Level after Benjamini-Hochberg, and the between-organisation variance estimator.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``indicator_id``, ``organisation_id``, ``slope``, ``se``,
        ``practice_years``, ``practices``, ``england_slope``, ``difference``, ``tau2``,
        ``z``, ``p``, ``p_bh``, ``classification`` (``faster``, ``not different``,
        ``slower`` than England).
    """
    frames = []
    for rule, members in memberships.items():
        fe = rule == "practice_fe"
        data = panel.merge(members, on=["practice_code", "year"])
        group = ["indicator_id", "organisation_id"]
        trends = _slopes(data, group, fe)
        england = _slopes(panel, ["indicator_id"], fe)
        trends = trends.merge(
            england[["indicator_id", "slope"]].rename(columns={"slope": "england_slope"})
        )
        trends = trends[trends["se"].notna() & (trends["se"] > 0)].copy()
        trends.insert(0, "rule", rule)
        trends["difference"] = trends["slope"] - trends["england_slope"]
        tau2 = {
            indicator: stats.between_variance(
                part["difference"], part["se"] ** 2, method=tau2_method
            )
            for indicator, part in trends.groupby("indicator_id")
            if len(part) > 1
        }
        trends["tau2"] = trends["indicator_id"].map(tau2).astype(float)  # float when empty too
        trends["z"] = trends["difference"] / np.sqrt(trends["se"] ** 2 + trends["tau2"])
        trends["p"] = 2 * sps.norm.sf(np.abs(trends["z"]))
        trends["p_bh"] = trends.groupby("indicator_id")["p"].transform(
            lambda p: pd.Series(stats.benjamini_hochberg(p.to_numpy()), index=p.index)
        )
        significant = trends["p_bh"] < alpha
        direction = np.where(trends["difference"] > 0, "faster", "slower")
        trends["classification"] = np.where(significant, direction, "not different")
        frames.append(trends)
    return pd.concat(frames, ignore_index=True)


SUMMARY_COLUMNS = [
    "rule", "indicator_id", "organisations", "england_slope", "median_slope", "between_sd",
    "faster", "slower", "correlation", "moved_by_rule", "p90_abs_difference",
]  # fmt: skip
"""Columns of :func:`rule_summary` (``size_slope`` and ``size_p`` follow, given sizes)."""


def rule_summary(
    trends: pd.DataFrame, sizes: pd.DataFrame | None = None, reference: str = "practice_fe"
) -> pd.DataFrame:
    """Per rule and indicator: England's trend, the spread of trends and agreement with
    ``reference``.

    Parameters
    ----------
    trends
        :func:`organisation_trends`.
    sizes
        Optional ``organisation_id``, ``log2_practices``: the trend difference regressed on
        size (HC1) per rule.
    reference
        The rule the others are compared with (matched organisations).

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``indicator_id``, ``organisations``, ``england_slope``, ``median_slope``,
        ``between_sd`` (``sqrt(tau2)``), ``faster``, ``slower``, ``correlation`` (with the
        reference rule's slopes), ``moved_by_rule`` (organisations whose trend differs from
        the reference rule's by more than :data:`CHANGED`), ``p90_abs_difference`` (90th
        percentile of the absolute differences), ``size_slope`` and ``size_p`` (the trend
        difference on ``log2`` member practices, HC1).
    """
    ref = trends[trends["rule"] == reference].set_index(["indicator_id", "organisation_id"])
    rows = []
    for (rule, indicator), group in trends.groupby(["rule", "indicator_id"], sort=False):
        keyed = group.set_index(["indicator_id", "organisation_id"])
        common = keyed.index.intersection(ref.index)
        a, b = keyed.loc[common, "slope"], ref.loc[common, "slope"]
        row = {
            "rule": rule,
            "indicator_id": indicator,
            "organisations": len(group),
            "england_slope": float(group["england_slope"].iloc[0]),
            "median_slope": float(group["slope"].median()),
            "between_sd": float(np.sqrt(group["tau2"].iloc[0])),
            "faster": int((group["classification"] == "faster").sum()),
            "slower": int((group["classification"] == "slower").sum()),
            "correlation": float(np.corrcoef(a, b)[0, 1]) if len(common) > 2 else np.nan,
            "moved_by_rule": int(((a - b).abs() > CHANGED).sum()),
            "p90_abs_difference": float((a - b).abs().quantile(0.9)) if len(common) else np.nan,
        }
        if sizes is not None:
            joined = group.merge(sizes, on="organisation_id", how="inner")
            slope, _, p = simple_regression(
                joined["log2_practices"].to_numpy(float), joined["difference"].to_numpy(float)
            )
            row.update(size_slope=slope, size_p=p)
        rows.append(row)
    order = {rule: i for i, rule in enumerate(RULES)}
    columns = [*SUMMARY_COLUMNS, *(["size_slope", "size_p"] if sizes is not None else [])]
    out = pd.DataFrame(rows, columns=columns)  # the columns even when no trend was compared
    return out.sort_values(
        ["indicator_id", "rule"],
        key=lambda s: s.map(order) if s.name == "rule" else s,
        ignore_index=True,
    )


def within_variation(values: pd.DataFrame, members: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Between- and within-organisation variance of practice values by REML, per ``by`` cell.

    Parameters
    ----------
    values
        ``practice_code``, ``value`` and the ``by`` columns (e.g. ``indicator_id``, ``year``).
    members
        ``practice_code``, ``organisation_id`` and any ``by`` column it shares with ``values``.
    by
        Cells fitted separately.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``organisations``, ``practices``, ``single_practice`` (members of
        organisations of one practice, which carry no within information), ``mean``,
        ``between_sd``, ``within_sd``, ``icc``, ``median_within_sd`` (median over
        organisations of two or more practices of their practices' SD).
    """
    keys = [c for c in ["practice_code", *by] if c in members.columns]
    data = values.merge(members, on=keys, how="inner")
    rows = []
    for cell, frame in data.groupby(by):  # by is a list, so each cell is a tuple
        sizes = frame.groupby("organisation_id")["value"].transform("size")
        if frame["organisation_id"].nunique() < 2:
            continue
        fit = fit_random_intercept(
            frame["value"],
            pd.DataFrame({"Intercept": 1.0}, index=frame.index),
            frame["organisation_id"],
        )
        spread = frame[sizes > 1].groupby("organisation_id")["value"].std()
        rows.append(
            {
                **dict(zip(by, cell, strict=True)),
                "organisations": fit.n_groups,
                "practices": fit.n_obs,
                "single_practice": int((sizes == 1).sum()),
                "mean": float(fit.params["Intercept"]),
                "between_sd": float(np.sqrt(fit.between_var)),
                "within_sd": float(np.sqrt(fit.within_var)),
                "icc": fit.icc,
                "median_within_sd": float(spread.median()) if len(spread) else np.nan,
            }
        )
    return pd.DataFrame(rows)
