"""Analysis 6: better / not different / worse per organisation and indicator.

:func:`summary_table` and :func:`summary_counts`: the level and trend classes (respecting
``higher_is_better``), unadjusted and Benjamini-Hochberg adjusted.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.core import stats
from analysis.indicators.methods.comparison import CLASSES, classify, reference_years
from analysis.indicators.methods.selection import KEY


def _link(rate: pd.Series, distribution: pd.Series) -> np.ndarray:
    """Logit for binomial, log for Poisson rates, the value itself for continuous ones."""
    rate = rate.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        link = np.where(distribution == "binomial", np.log(rate / (1 - rate)), np.log(rate))
    return np.where(distribution == "continuous", rate, link)


def summary_table(
    level: pd.DataFrame,
    trend: pd.DataFrame,
    catalogue: pd.DataFrame,
    years: Sequence[int],
    *,
    alpha: float = 0.05,
    bh_family: str = "comparison",
) -> pd.DataFrame:
    """Analysis 6: better / not different / worse per organisation, indicator and comparison.

    ``level``: the organisation against England at the indicator's reference year
    (:func:`~analysis.indicators.methods.comparison.reference_years`: QOF at its single year, other
    indicators at the last year), overdispersion-adjusted z. ``trend``: the organisation's
    annual ratio against the rest of England. Benjamini-Hochberg adjustment is across all
    organisation x indicator tests of one comparison (``bh_family="comparison"``, as
    published) or of one comparison and domain (``bh_family="domain"``).

    Returns
    -------
    pandas.DataFrame
        ``organisation_id``, ``indicator_id``, ``domain``, ``higher_is_better``,
        ``comparison``, ``year``, ``estimate`` (rate difference or log ratio of ratios),
        ``effect`` (on the link scale: logit or log of the organisation's rate minus the
        comparator's for levels, the log ratio of ratios for trends; size-free, unlike
        ``z``), ``z``, ``p``, ``p_bh``, ``class_unadjusted``, ``class_bh``.
    """
    ref = reference_years(catalogue, years)
    lev = level.merge(
        ref, left_on=["indicator_id", "year"], right_on=["indicator_id", "reference_year"]
    )
    lev = pd.DataFrame(
        {
            "organisation_id": lev["organisation_id"],
            "indicator_id": lev["indicator_id"],
            "domain": lev["domain"],
            "higher_is_better": lev["higher_is_better"],
            "comparison": "level",
            "year": lev["year"],
            "estimate": lev["rate"] - lev["national_rate"],
            "effect": _link(lev["rate"], lev["distribution"])
            - _link(lev["national_rate"], lev["distribution"]),
            "z": lev["z_adjusted"],
            "p": lev["p_adjusted"],
        }
    )
    frames = [lev]
    if not trend.empty:
        frames.append(
            pd.DataFrame(
                {
                    "organisation_id": trend["organisation_id"],
                    "indicator_id": trend["indicator_id"],
                    "domain": trend["domain"],
                    "higher_is_better": trend["higher_is_better"],
                    "comparison": "trend",
                    "year": pd.NA,
                    "estimate": trend["slope_difference"],
                    "effect": trend["slope_difference"],
                    "z": trend["z"],
                    "p": trend["p"],
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype("Int64")
    if bh_family not in ("comparison", "domain"):
        raise ValueError(f"parameter 'bh_family': {bh_family!r}; expected comparison or domain")
    family = ["comparison", *(["domain"] if bh_family == "domain" else [])]
    out["p_bh"] = np.nan
    for index in out.groupby(family, sort=False).groups.values():
        out.loc[index, "p_bh"] = stats.benjamini_hochberg(out.loc[index, "p"])
    higher = out["higher_is_better"]  # missing: no direction (higher / lower)
    out["class_unadjusted"] = classify(out["estimate"], out["p"], higher, alpha)
    out["class_bh"] = classify(out["estimate"], out["p_bh"], higher, alpha)
    return out.sort_values(["comparison", *KEY], ignore_index=True)


NEUTRAL = ("higher", "lower")
"""Classes of an indicator with no direction (a prevalence): above or below the comparator."""


def _classes(summary: pd.DataFrame) -> list[str]:
    present = {
        *summary["class_unadjusted"].dropna().unique(),
        *summary["class_bh"].dropna().unique(),
    }
    return [*CLASSES, *(c for c in NEUTRAL if c in present)]


def summary_counts(summary: pd.DataFrame) -> pd.DataFrame:
    """Counts of better / not different / worse per organisation, domain and comparison.

    Returns one row per ``organisation_id``, ``domain`` (plus ``all``), ``comparison`` and
    ``adjustment`` (``unadjusted`` / ``BH``) with columns ``better``, ``not different``,
    ``worse`` (and ``higher``, ``lower`` when an indicator has no direction), ``n``.
    """
    classes = _classes(summary)
    keys = ["organisation_id", "domain", "comparison"]
    frames = []
    for adjustment, column in (("unadjusted", "class_unadjusted"), ("BH", "class_bh")):
        for domain_level in (True, False):
            frame = summary.assign(domain=summary["domain"] if domain_level else "all")
            frame = frame[[*keys, column]].dropna(subset=[column])
            counts = frame.groupby([*keys, column], sort=True).size().unstack(column, fill_value=0)
            counts = counts.reindex(columns=classes, fill_value=0)
            counts = counts.reset_index().rename_axis(columns=None)
            counts["adjustment"] = adjustment
            frames.append(counts)
    out = pd.concat(frames, ignore_index=True)
    out = out[out[classes].sum(axis=1) > 0].copy()
    out["n"] = out[classes].sum(axis=1)
    cols = ["organisation_id", "domain", "comparison", "adjustment", *classes, "n"]
    return out[cols].sort_values(cols[:4], ignore_index=True)


def domain_shares(summary: pd.DataFrame) -> pd.DataFrame:
    """Across organisations: how many comparisons are better, not different or worse, by domain.

    Returns
    -------
    pandas.DataFrame
        One row per ``domain`` (plus ``all``), ``comparison`` and ``adjustment``: the counts
        of each class, ``n`` (organisation x indicator comparisons with a class),
        ``indicators``, ``organisations`` and ``share_<class>`` (count / n).
    """
    classes = _classes(summary)
    rows = []
    for adjustment, column in (("unadjusted", "class_unadjusted"), ("BH", "class_bh")):
        for domain, frame in [*summary.groupby("domain", sort=True), ("all", summary)]:
            for comparison, group in frame.groupby("comparison", sort=True):
                counts = group[column].value_counts()
                n = int(counts.sum())
                row = {"domain": domain, "comparison": comparison, "adjustment": adjustment}
                row |= {c: int(counts.get(c, 0)) for c in classes}
                row |= {
                    "n": n,
                    "indicators": group["indicator_id"].nunique(),
                    "organisations": group["organisation_id"].nunique(),
                }
                row |= {f"share_{c}": counts.get(c, 0) / n if n else np.nan for c in classes}
                rows.append(row)
    return pd.DataFrame(rows)
