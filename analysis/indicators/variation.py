"""Analysis 4: variation between an organisation's member practices (issue 4).

:func:`practice_variation`: SD, CV and IQR of member practices' rates per organisation,
indicator and year; :func:`variation_trend`: a least-squares slope test of the CV over years.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.indicators.selection import KEY


def practice_variation(data: pd.DataFrame, organisations: Sequence[str]) -> pd.DataFrame:
    """Analysis 4: spread of member practices' rates per organisation, indicator and year.

    Returns
    -------
    pandas.DataFrame
        ``n_practices``, ``mean``, ``sd`` (sample, ddof 1), ``cv = sd / mean``, ``q1``,
        ``q3``, ``iqr`` of the unweighted practice rates.
    """
    members = data[data["organisation_id"].isin(organisations)]
    grouped = members.groupby(["organisation_id", "indicator_id", "year"])["rate"]
    out = grouped.agg(n_practices="size", mean="mean", sd="std").reset_index()
    quartiles = grouped.quantile([0.25, 0.75]).unstack()
    out["q1"] = quartiles[0.25].to_numpy()
    out["q3"] = quartiles[0.75].to_numpy()
    out["cv"] = out["sd"] / out["mean"]
    out["iqr"] = out["q3"] - out["q1"]
    cols = [
        "organisation_id",
        "indicator_id",
        "year",
        "n_practices",
        "mean",
        "sd",
        "cv",
        "q1",
        "q3",
        "iqr",
    ]
    return out[cols].sort_values(["organisation_id", "indicator_id", "year"], ignore_index=True)


def variation_trend(variation: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Did variation between member practices fall? OLS slope of the CV on year.

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: ``n_years``, ``cv_first``, ``cv_last``,
        ``cv_slope`` (per year), ``cv_slope_p`` (two-sided t-test, needs 3+ years) and
        ``variation_change``: ``fell`` / ``no significant change`` / ``rose``.
    """
    rows = []
    for (org, indicator), group in variation.groupby(KEY, sort=True):
        group = group.dropna(subset=["cv"]).sort_values("year")
        row = {
            "organisation_id": org,
            "indicator_id": indicator,
            "n_years": len(group),
            "cv_first": np.nan,
            "cv_last": np.nan,
            "cv_slope": np.nan,
            "cv_slope_p": np.nan,
        }
        if len(group):
            row.update(cv_first=group["cv"].iloc[0], cv_last=group["cv"].iloc[-1])
        if len(group) >= 3:
            fit = sps.linregress(group["year"].astype(float), group["cv"])
            row.update(cv_slope=fit.slope, cv_slope_p=fit.pvalue)
        rows.append(row)
    out = pd.DataFrame(rows)
    change = np.where(out["cv_slope"] < 0, "fell", "rose")
    out["variation_change"] = np.where(
        out["cv_slope_p"] < alpha,
        change,
        np.where(out["cv_slope_p"].isna(), "not tested", "no significant change"),
    )
    return out
