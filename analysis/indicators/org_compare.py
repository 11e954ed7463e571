"""Every organisation against England on every indicator, with the between-organisation variance.

The input is one row per organisation and indicator (:data:`UNIT_COLUMNS`): the organisation's
value, the sampling variance of that value and England's value. For each indicator the
between-organisation variance ``tau2`` is estimated from all organisations with
:func:`analysis.core.stats.between_variance` (DerSimonian-Laird by default, the method the
simulation chapter found calibrated; any of :data:`analysis.core.stats.TAU2_METHODS`), and each
organisation is compared with England by ``z = (value - england) / sqrt(variance + tau2)``:
the random-effects funnel of Spiegelhalter (2005), which asks whether an organisation lies
beyond the spread that organisations show anyway, not merely beyond sampling noise. The
sampling-only ``z`` (``tau2 = 0``) is kept beside it. Two-sided p-values are adjusted by
Benjamini-Hochberg within each ``family`` (a set of tests the caller declares, such as all
achievement indicators of one source) and each comparison is classified better / not
different / worse (``higher`` / ``lower`` for indicators with no better direction, such as
prevalence).

:func:`domain_summary` gives the shares by domain; :func:`indicator_summary` one row per
indicator; :func:`size_associations` regresses organisations' values on their size and
deprivation with heteroscedasticity-robust (HC1) standard errors, Benjamini-Hochberg within
each source and measure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.core import stats

UNIT_COLUMNS = [
    "source",
    "family",
    "indicator_id",
    "domain",
    "direction",
    "organisation_id",
    "value",
    "variance",
    "size",
    "england",
]
"""Columns of the comparison input: ``direction`` is ``higher`` (higher is better), ``lower``
(lower is better) or ``neutral``; ``size`` is the funnel's x-axis (practices or a register)."""
DIRECTIONS = ("higher", "lower", "neutral")
CLASS_ORDER = ("better", "not different", "worse", "higher", "lower")
LIMITS = {"95": 0.95, "998": 0.998}
TAU2_NAMES = {
    "winsorised": "Winsorised phi, as published by Spiegelhalter",
    "winsorised_rescaled": "Winsorised phi rescaled",
    "dl": "DerSimonian-Laird",
    "reml": "REML",
}
"""Readable names of :data:`analysis.core.stats.TAU2_METHODS`, as the tables show them."""


def _classes(diff: np.ndarray, p: np.ndarray, direction: np.ndarray, alpha: float) -> np.ndarray:
    significant = p < alpha
    up = diff > 0
    better = np.where(direction == "lower", ~up, up)
    judged = np.where(better, "better", "worse")
    neutral = np.where(up, "higher", "lower")
    named = np.where(direction == "neutral", neutral, judged)
    out = np.where(significant, named, "not different").astype(object)
    out[np.isnan(p)] = None
    return out


def compare_to_england(
    units: pd.DataFrame, *, alpha: float = 0.05, tau2_method: str = "dl"
) -> pd.DataFrame:
    """Each organisation against England per indicator, with ``tau2`` in the limits.

    Parameters
    ----------
    units
        :data:`UNIT_COLUMNS`; ``variance`` > 0 (rows without a value are dropped).
    alpha
        Significance level after Benjamini-Hochberg within each ``family``.
    tau2_method
        Between-organisation variance estimator (:data:`analysis.core.stats.TAU2_METHODS`).

    Returns
    -------
    pandas.DataFrame
        The input columns plus ``difference``, ``tau2``, ``tau2_method``, ``z``, ``p``,
        ``p_bh``, ``classification`` (after BH), ``z_sampling``, ``p_sampling``,
        ``classification_sampling`` (sampling variance only, unadjusted, as a plain funnel
        would), ``sampling_share`` (variance over variance + tau2) and the funnel limits
        ``lower95``, ``upper95``, ``lower998``, ``upper998``.

    Raises
    ------
    ValueError
        An unknown direction or a variance that is not positive.
    """
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise ValueError(f"comparison input lacks column(s) {missing}")
    frame = units[units["value"].notna() & units["variance"].notna()].copy()
    bad = ~frame["direction"].isin(DIRECTIONS)
    if bad.any():
        raise ValueError(
            f"direction {frame.loc[bad, 'direction'].iloc[0]!r}; expected {DIRECTIONS}"
        )
    if (frame["variance"] <= 0).any():
        row = frame[frame["variance"] <= 0].iloc[0]
        raise ValueError(
            f"indicator {row['indicator_id']}, organisation {row['organisation_id']}: "
            "sampling variance must be > 0"
        )
    key = ["source", "indicator_id"]
    tau2 = {
        name: stats.between_variance(group["value"], group["variance"], method=tau2_method)
        for name, group in frame.groupby(key, sort=False)
        if len(group) >= 2
    }
    frame["tau2"] = [
        tau2.get(k, np.nan) for k in zip(frame["source"], frame["indicator_id"], strict=True)
    ]
    frame["tau2_method"] = TAU2_NAMES.get(tau2_method, tau2_method)
    frame["difference"] = frame["value"] - frame["england"]
    total = frame["variance"] + frame["tau2"]
    frame["z"] = frame["difference"] / np.sqrt(total)
    frame["p"] = 2 * sps.norm.sf(np.abs(frame["z"].to_numpy()))
    frame["p_bh"] = np.nan
    for _, index in frame.groupby("family", sort=False).groups.items():
        frame.loc[index, "p_bh"] = stats.benjamini_hochberg(frame.loc[index, "p"].to_numpy())
    direction = frame["direction"].to_numpy()
    diff = frame["difference"].to_numpy()
    frame["classification"] = _classes(diff, frame["p_bh"].to_numpy(), direction, alpha)
    frame["z_sampling"] = diff / np.sqrt(frame["variance"])
    frame["p_sampling"] = 2 * sps.norm.sf(np.abs(frame["z_sampling"].to_numpy()))
    frame["classification_sampling"] = _classes(
        diff, frame["p_sampling"].to_numpy(), direction, alpha
    )
    frame["sampling_share"] = frame["variance"] / total
    for label, confidence in LIMITS.items():
        half = stats.z_value(confidence) * np.sqrt(total)
        frame[f"lower{label}"] = frame["england"] - half
        frame[f"upper{label}"] = frame["england"] + half
    return frame.reset_index(drop=True)


def _count_classes(frame: pd.DataFrame, column: str) -> dict[str, int]:
    counts = frame[column].value_counts()
    return {name: int(counts.get(name, 0)) for name in CLASS_ORDER}


def indicator_summary(compared: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator: England, ``tau2``, and the organisations in each class.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``family``, ``indicator_id``, ``domain``, ``direction``,
        ``organisations``, ``england``, ``between_sd`` (``sqrt(tau2)``), ``tau2_method``,
        ``median_sampling_share``, the counts ``better`` ... ``lower`` (after BH) and
        ``outside_sampling_only`` (organisations a sampling-only funnel would flag).
    """
    rows = []
    for (source, indicator), group in compared.groupby(["source", "indicator_id"], sort=False):
        first = group.iloc[0]
        counts = _count_classes(group, "classification")
        sampling = group["classification_sampling"].ne("not different").sum()
        rows.append(
            {
                "source": source,
                "family": first["family"],
                "indicator_id": indicator,
                "domain": first["domain"],
                "direction": first["direction"],
                "organisations": len(group),
                "england": float(first["england"]),
                "between_sd": float(np.sqrt(first["tau2"])),
                "tau2_method": first["tau2_method"],
                "median_sampling_share": float(group["sampling_share"].median()),
                **counts,
                "outside_sampling_only": int(sampling),
            }
        )
    return pd.DataFrame(rows)


def domain_summary(compared: pd.DataFrame) -> pd.DataFrame:
    """Comparisons by class per family and domain (after BH), with a row ``all`` per family.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``family``, ``domain``, ``indicators``, ``comparisons``, the counts
        ``better`` ... ``lower``, the shares ``share_better``, ``share_not_different``,
        ``share_worse`` (of the domain's comparisons of indicators with a better direction),
        ``outside_sampling_only`` and ``share_outside_sampling_only``.
    """
    rows = []
    for (source, family), part in compared.groupby(["source", "family"], sort=False):
        domains = [(d, g) for d, g in part.groupby("domain", sort=True)]
        for domain, group in [*domains, ("all", part)]:
            judged = group[group["direction"] != "neutral"]
            counts = _count_classes(group, "classification")
            outside = int(group["classification_sampling"].ne("not different").sum())
            n_judged = len(judged)
            rows.append(
                {
                    "source": source,
                    "family": family,
                    "domain": domain,
                    "indicators": group["indicator_id"].nunique(),
                    "comparisons": len(group),
                    **counts,
                    "share_better": counts["better"] / n_judged if n_judged else np.nan,
                    "share_not_different": (
                        (judged["classification"] == "not different").sum() / n_judged
                        if n_judged
                        else np.nan
                    ),
                    "share_worse": counts["worse"] / n_judged if n_judged else np.nan,
                    "outside_sampling_only": outside,
                    "share_outside_sampling_only": outside / len(group),
                }
            )
    return pd.DataFrame(rows)


def organisation_profile(compared: pd.DataFrame) -> pd.DataFrame:
    """Per source and organisation: indicators compared and how many better / worse.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``organisation_id``, ``indicators``, ``better``, ``worse``,
        ``net`` (better minus worse), sorted by source and ``net``.
    """
    judged = compared[compared["direction"] != "neutral"]
    judged = judged.assign(
        better=judged["classification"].eq("better").astype(int),
        worse=judged["classification"].eq("worse").astype(int),
    )
    out = judged.groupby(["source", "organisation_id"], as_index=False).agg(
        indicators=("indicator_id", "size"), better=("better", "sum"), worse=("worse", "sum")
    )
    out["net"] = out["better"] - out["worse"]
    return out.sort_values(["source", "net", "organisation_id"], ignore_index=True)


def simple_regression(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Slope of ``y`` on ``x`` by least squares with its HC1 standard error and p-value.

    The HC1 variance of the slope is ``n / (n - 2) * sum((x - xbar)^2 e^2) / Sxx^2`` (White's
    estimator with the small-sample factor statsmodels applies for ``cov_type="HC1"``); the
    p-value is two-sided against the normal, as statsmodels reports for a robust covariance.
    """
    n = len(x)
    xc = x - x.mean()
    sxx = float(np.sum(xc**2))
    if n < 3 or sxx == 0:
        return np.nan, np.nan, np.nan
    slope = float(np.sum(xc * (y - y.mean())) / sxx)
    resid = y - y.mean() - slope * xc
    se = float(np.sqrt(n / (n - 2) * np.sum(xc**2 * resid**2)) / sxx)
    p = float(2 * sps.norm.sf(abs(slope / se))) if se > 0 else np.nan
    return slope, se, p


def size_associations(
    compared: pd.DataFrame,
    characteristics: pd.DataFrame,
    measures: dict[str, str],
    *,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each indicator's organisation values regressed on each organisation characteristic.

    Parameters
    ----------
    compared
        :func:`compare_to_england` (``source``, ``indicator_id``, ``organisation_id``,
        ``value``, ``direction``).
    characteristics
        ``source``, ``organisation_id`` and one column per measure.
    measures
        Column -> what one unit of it means (``log2_practices``: "a doubling of member
        practices").
    alpha
        Level of the Benjamini-Hochberg adjustment within each source and measure.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``indicator_id``, ``domain``, ``direction``, ``measure``, ``per``,
        ``organisations``, ``slope`` (the indicator's units per unit of the measure),
        ``se`` (HC1), ``ci_lower``, ``ci_upper``, ``p``, ``p_bh``, ``association``
        (``better`` / ``worse`` / ``higher`` / ``lower`` with the measure, or ``none``).
    """
    data = compared.merge(characteristics, on=["source", "organisation_id"], how="inner")
    z = stats.z_value(0.95)
    rows = []
    for (source, indicator), group in data.groupby(["source", "indicator_id"], sort=False):
        for measure, meaning in measures.items():
            ok = group[measure].notna() & group["value"].notna()
            x = group.loc[ok, measure].to_numpy(float)
            y = group.loc[ok, "value"].to_numpy(float)
            slope, se, p = simple_regression(x, y)
            rows.append(
                {
                    "source": source,
                    "indicator_id": indicator,
                    "domain": group["domain"].iloc[0],
                    "direction": group["direction"].iloc[0],
                    "measure": measure,
                    "per": meaning,
                    "organisations": int(ok.sum()),
                    "slope": slope,
                    "se": se,
                    "ci_lower": slope - z * se,
                    "ci_upper": slope + z * se,
                    "p": p,
                }
            )
    out = pd.DataFrame(rows)
    out["p_bh"] = np.nan
    for _, index in out.groupby(["source", "measure"], sort=False).groups.items():
        out.loc[index, "p_bh"] = stats.benjamini_hochberg(out.loc[index, "p"].to_numpy())
    named = _classes(
        out["slope"].to_numpy(), out["p_bh"].to_numpy(), out["direction"].to_numpy(), alpha
    )
    out["association"] = np.where(named == "not different", "none", named)
    return out


def association_summary(associations: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    """Per source and measure: tests, and how many associations are better / worse / none.

    Returns
    -------
    pandas.DataFrame
        ``source``, ``measure``, ``per``, ``tests``, ``better``, ``worse``, ``higher``,
        ``lower``, ``none``, ``median_slope``.
    """
    rows = []
    for (source, measure), group in associations.groupby(["source", "measure"], sort=False):
        counts = group["association"].value_counts()
        rows.append(
            {
                "source": source,
                "measure": measure,
                "per": group["per"].iloc[0],
                "tests": int(group["p"].notna().sum()),
                **{
                    k: int(counts.get(k, 0)) for k in ("better", "worse", "higher", "lower", "none")
                },
                "median_slope": float(group["slope"].median()),
            }
        )
    out = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(measures)}
    return out.sort_values(
        ["source", "measure"],
        key=lambda s: s.map(order) if s.name == "measure" else s,
        ignore_index=True,
    )
