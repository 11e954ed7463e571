"""Analysis 4: variation between an organisation's member practices.

:func:`practice_variation`: SD, CV and IQR of member practices' rates per organisation,
indicator and year, and ``tau2_link``: the between-practice variance on the link scale net
of sampling noise (DerSimonian-Laird on practice log odds or log rates; the compendium's addition).
The CV of raw rates moves with the mean and includes binomial/Poisson noise, so it can trend when
the spread of true practice effects does not. :func:`variation_trend`: a least-squares
slope test over years of the chosen measure (``cv`` as published, or ``tau2_link``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.indicators.methods.selection import KEY

VARIATION_COLUMNS = [
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
    "tau2_link",
]


def practice_variation(data: pd.DataFrame, organisations: Sequence[str]) -> pd.DataFrame:
    """Analysis 4: spread of member practices' rates per organisation, indicator and year.

    Returns
    -------
    pandas.DataFrame
        ``n_practices``, ``mean``, ``sd`` (sample, ddof 1), ``cv = sd / mean``, ``q1``,
        ``q3``, ``iqr`` of the unweighted practice rates.
    """
    members = data[data["organisation_id"].isin(organisations)]
    if members.empty:
        return pd.DataFrame(columns=VARIATION_COLUMNS)
    grouped = members.groupby(["organisation_id", "indicator_id", "year"])["rate"]
    out = grouped.agg(n_practices="size", mean="mean", sd="std").reset_index()
    quartiles = grouped.quantile([0.25, 0.75]).unstack()
    out["q1"] = quartiles[0.25].to_numpy()
    out["q3"] = quartiles[0.75].to_numpy()
    out["cv"] = out["sd"] / out["mean"]
    out["iqr"] = out["q3"] - out["q1"]
    tau2 = link_variance(members)
    out = out.merge(tau2, on=["organisation_id", "indicator_id", "year"], how="left")
    return out[VARIATION_COLUMNS].sort_values(
        ["organisation_id", "indicator_id", "year"], ignore_index=True
    )


VARIATION_MEASURES = ("cv", "tau2_link")
"""Measures :func:`variation_trend` can test: CV of raw rates (as published) or link-scale tau2."""


def link_scale(data: pd.DataFrame) -> pd.DataFrame:
    """Practice log odds (binomial) or log rates (Poisson) with their sampling variances.

    Half a count is added to each cell (``log((x + 0.5) / (n - x + 0.5))`` with variance
    ``1 / (x + 0.5) + 1 / (n - x + 0.5)``; ``log((x + 0.5) / n)`` with ``1 / (x + 0.5)``), so
    zero counts stay finite. Returns ``data`` with ``y`` and ``v``.
    """
    x = data["numerator"].to_numpy(dtype=float) + 0.5
    n = data["denominator"].to_numpy(dtype=float)
    binomial = (data["distribution"] == "binomial").to_numpy()
    rest = np.where(binomial, n - x + 1.0, n)
    y = np.log(x / rest)
    v = 1 / x + np.where(binomial, 1 / np.where(binomial, rest, 1.0), 0.0)
    return data.assign(y=y, v=v)


def link_variance(data: pd.DataFrame) -> pd.DataFrame:
    """DerSimonian-Laird between-practice variance on the link scale, per group.

    Groups are ``organisation_id``, ``indicator_id``, ``year``; the estimate is
    :func:`analysis.core.stats.dersimonian_laird` of :func:`link_scale`, computed for all
    groups at once from weighted sums (NaN for a group of one practice).
    """
    keys = ["organisation_id", "indicator_id", "year"]
    continuous = (data["distribution"] == "continuous").to_numpy()
    if continuous.any():  # no sampling variance known: the members' spread itself
        counted = link_variance(data[~continuous]) if (~continuous).any() else None
        spread = data[continuous].groupby(keys)["rate"].var(ddof=1).rename("tau2_link")
        return pd.concat([counted, spread.reset_index()], ignore_index=True)
    frame = link_scale(data)
    w = 1 / frame["v"]
    sums = (
        frame.assign(w=w, wy=w * frame["y"], wyy=w * frame["y"] ** 2, ww=w**2)
        .groupby(keys, as_index=False)[["w", "wy", "wyy", "ww"]]
        .sum()
    )
    k = frame.groupby(keys).size().to_numpy()
    q = sums["wyy"] - sums["wy"] ** 2 / sums["w"]
    tau2 = np.maximum(q - (k - 1), 0.0) / (sums["w"] - sums["ww"] / sums["w"])
    sums["tau2_link"] = np.where(k >= 2, tau2, np.nan)
    return sums[[*keys, "tau2_link"]]


def variation_trend(
    variation: pd.DataFrame, *, alpha: float = 0.05, measure: str = "cv"
) -> pd.DataFrame:
    """Did variation between member practices fall? OLS slope of a spread measure on year.

    Parameters
    ----------
    variation
        :func:`practice_variation`.
    alpha
        Significance level of the slope test.
    measure
        ``cv`` (coefficient of variation of raw rates, as published) or ``tau2_link``
        (between-practice variance on the link scale net of sampling noise).

    Returns
    -------
    pandas.DataFrame
        Per organisation and indicator: ``n_years``, ``cv_first``, ``cv_last``,
        ``cv_slope`` (per year), ``cv_slope_p`` (two-sided t-test, needs 3+ years), the
        same for the chosen ``measure`` as ``first``, ``last``, ``slope``, ``slope_p``, and
        ``variation_change``: ``fell`` / ``no significant change`` / ``rose`` (of
        ``measure``), plus ``measure``.
    """
    if measure not in VARIATION_MEASURES:
        raise ValueError(
            f"parameter 'variation_measure': unknown value {measure!r}; "
            f"expected one of {VARIATION_MEASURES}"
        )
    cv = _slopes(variation, "cv").add_prefix("cv_").rename(columns={"cv_n_years": "n_years"})
    chosen = _slopes(variation, measure).drop(columns="n_years")
    out = cv.join(chosen).reset_index()
    change = np.where(out["slope"] < 0, "fell", "rose")
    out["variation_change"] = np.where(
        out["slope_p"] < alpha,
        change,
        np.where(out["slope_p"].isna(), "not tested", "no significant change"),
    )
    out["measure"] = measure
    return out


def _slopes(variation: pd.DataFrame, column: str) -> pd.DataFrame:
    """Least-squares slope of ``column`` on year per organisation and indicator, all at once.

    The closed form of :func:`scipy.stats.linregress` (two-sided t-test on ``k - 2``
    degrees of freedom) from grouped sums; NaN slope and p below three years.
    """
    frame = variation.dropna(subset=[column]).sort_values([*KEY, "year"])
    x = frame["year"].astype(float)
    y = frame[column].astype(float)
    grouped = frame.assign(_x=x, _y=y, _xx=x * x, _xy=x * y, _yy=y * y).groupby(KEY, sort=True)
    sums = grouped[["_x", "_y", "_xx", "_xy", "_yy"]].sum()
    k = grouped.size().astype(float)
    sxx = sums["_xx"] - sums["_x"] ** 2 / k
    sxy = sums["_xy"] - sums["_x"] * sums["_y"] / k
    syy = sums["_yy"] - sums["_y"] ** 2 / k
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        residual = np.maximum(syy - slope * sxy, 0.0) / (k - 2)
        t = slope / np.sqrt(residual / sxx)
    p = 2 * sps.t.sf(np.abs(t), k - 2)
    enough = k >= 3
    out = pd.DataFrame(
        {
            "n_years": k.astype(int),
            "first": grouped["_y"].first(),
            "last": grouped["_y"].last(),
            "slope": slope.where(enough),
            "slope_p": pd.Series(p, index=k.index).where(enough),
        }
    )
    keys = variation[KEY].drop_duplicates().set_index(KEY).sort_index()
    out = keys.join(out)
    out["n_years"] = out["n_years"].fillna(0).astype(int)
    return out
