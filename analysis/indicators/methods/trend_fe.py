"""The GLMs of the trend models: pooled and with practice fixed effects.

:func:`pooled_glm` fits a canonical-link binomial (logit) or Poisson (log, offset log
denominator) GLM by Newton-Raphson (identical to IRLS for a canonical link) with the
cluster-robust sandwich written out: the numbers of ``sm.GLM(...).fit(cov_type="cluster")``
without its per-fit overhead, which dominated the analysis time.

The pooled trend model compares practice-years across practices, so an organisation whose
later members are better practices shows an "improvement" that is only membership
turnover. With one intercept per practice the slope is estimated from change within each
practice only. :func:`fe_fit` fits that model by Newton-Raphson, eliminating the practice
intercepts through the Schur complement of the (diagonal) intercept block, so the cost is
linear in the number of practices instead of cubic.

Both return the cluster-robust covariance clustered by practice, with statsmodels' small
sample factor ``G / (G - 1) (N - 1) / (N - K)`` (``K`` counts the practice intercepts of the
fixed-effects model too, which makes the factor about ``T / (T - 1)`` for ``T`` years per
practice, a conservative choice), and each practice's **influence** on the estimates:
``sqrt(factor) H^-1 s_g`` for the practice's summed score ``s_g``, so that the covariance
is the sum of the influences' outer products. Two fits that share practices (a practice
that moves between an organisation and the rest of England is in both) are then combined
with their cross-covariance, the sum over the shared practices of the products of their
influences (:func:`analysis.indicators.methods.trends.trend_fits`).

Practices without within-practice information (a single year; no events, or for
proportions all events, in every year) add nothing to a fixed-effects slope (their
intercept fits them exactly or is infinite); :func:`informative` marks them so that the
caller leaves them out of the fit (as conditional logit does).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd


class GLMFit(NamedTuple):
    """A fitted trend GLM: coefficients, cluster-robust covariance, per-practice influence."""

    beta: np.ndarray
    """Coefficients (``k``): the design's columns (the practice intercepts excluded)."""
    cov: np.ndarray
    """Cluster-robust covariance (``k x k``) with the small-sample factor."""
    influence: np.ndarray
    """``G x k``: each practice's influence, ``cov = influence' influence``."""
    intercepts: np.ndarray
    """The practice intercepts (``G``) of :func:`fe_fit`; empty for :func:`pooled_glm`."""


def glm_moments(eta: np.ndarray, n: np.ndarray, binomial: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and IRLS weight of a canonical-link binomial (logit) or Poisson (log) GLM."""
    if binomial:
        p = 1 / (1 + np.exp(-eta))
        return n * p, n * p * (1 - p)
    mu = np.exp(eta)
    return mu, mu


def _group_sums(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Column sums of ``values`` (rows x k) within each group: ``G x k``.

    The group codes here are always ``0..G-1`` with every code present, so no bincount in
    this module needs a ``minlength``.
    """
    return np.column_stack(
        [np.bincount(groups, weights=values[:, j]) for j in range(values.shape[1])]
    )


def _influence(
    bread: np.ndarray, cluster: np.ndarray, nobs: int, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Scaled influence ``sqrt(factor) s_g H^-1`` per cluster and the covariance it sums to."""
    n_groups = cluster.shape[0]
    factor = n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    influence = np.sqrt(factor) * cluster @ bread  # bread is symmetric
    return influence, influence.T @ influence


def pooled_glm(
    y: np.ndarray, n: np.ndarray, design: np.ndarray, groups: np.ndarray, distribution: str
) -> GLMFit:
    """Maximum likelihood of a canonical-link binomial or Poisson GLM, clustered by ``groups``.

    Newton-Raphson to machine precision, then the sandwich ``H^-1 (sum_g s_g s_g') H^-1``
    times the small-sample factor (module notes). ``groups`` are integer codes ``0..G-1``.
    """
    binomial = distribution == "binomial"
    offset = 0.0 if binomial else np.log(n)
    total = y.sum() / n.sum()
    start = np.log(total / (1 - total)) if binomial else np.log(total)
    beta = np.zeros(design.shape[1])
    beta[0] = start if np.isfinite(start) else 0.0
    for _ in range(100):
        mu, w = glm_moments(design @ beta + offset, n, binomial)
        info = (design * w[:, None]).T @ design
        step = np.linalg.solve(info, design.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    mu, w = glm_moments(design @ beta + offset, n, binomial)
    bread = np.linalg.inv((design * w[:, None]).T @ design)
    cluster = _group_sums(groups, design * (y - mu)[:, None])
    influence, cov = _influence(bread, cluster, *design.shape)
    return GLMFit(beta, cov, influence, np.empty(0))


def informative(y: np.ndarray, n: np.ndarray, groups: np.ndarray, distribution: str) -> np.ndarray:
    """Rows of practices whose counts carry within-practice information (see module notes)."""
    events = np.bincount(groups, weights=y)
    trials = np.bincount(groups, weights=n)
    keep = events > 0
    if distribution == "binomial":
        keep &= events < trials
    years = np.bincount(groups)
    return (keep & (years > 1))[groups]


def fe_glm(
    y: np.ndarray,
    n: np.ndarray,
    design: np.ndarray,
    groups: np.ndarray,
    distribution: str,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`fe_fit`'s coefficients, cluster-robust covariance and practice intercepts."""
    fit = fe_fit(y, n, design, groups, distribution, tol=tol, max_iter=max_iter)
    return fit.beta, fit.cov, fit.intercepts


def fe_fit(
    y: np.ndarray,
    n: np.ndarray,
    design: np.ndarray,
    groups: np.ndarray,
    distribution: str,
    *,
    tol: float = 1e-12,
    max_iter: int = 100,
) -> GLMFit:
    """Binomial or Poisson GLM with practice intercepts; practice-clustered covariance.

    Parameters
    ----------
    y, n
        Events and denominators (trials or exposure) per practice-year.
    design
        Covariates without an intercept (rows x k), e.g. ``year - baseline``.
    groups
        Practice of each row as integer codes ``0..G-1``, every code present; the
        intercepts and the clusters.
    distribution
        ``binomial`` (logit) or ``poisson`` (log link, offset ``log n``).
    tol, max_iter
        Newton-Raphson stops when no parameter moves by more than ``tol``.

    Returns
    -------
    GLMFit
        ``beta`` (k), its cluster-robust covariance (k x k), the practices' influence
        (G x k) and the practice intercepts (G).
    """
    binomial = distribution == "binomial"
    offset = np.zeros_like(y) if binomial else np.log(n)
    events = np.bincount(groups, weights=y)
    trials = np.bincount(groups, weights=n)
    rate = events / trials
    alpha = np.log(rate / (1 - rate)) if binomial else np.log(rate)
    beta = np.zeros(design.shape[1])
    for _ in range(max_iter):
        mu, w = glm_moments(alpha[groups] + design @ beta + offset, n, binomial)
        resid = y - mu
        # Information [[D, B], [B', C]] with D diagonal: solve by the Schur complement.
        d = np.bincount(groups, weights=w)
        b = _group_sums(groups, design * w[:, None])
        c = (design * w[:, None]).T @ design
        score_a = np.bincount(groups, weights=resid)
        score_b = design.T @ resid
        schur = c - (b / d[:, None]).T @ b
        step_b = np.linalg.solve(schur, score_b - b.T @ (score_a / d))
        step_a = (score_a - b @ step_b) / d
        alpha, beta = alpha + step_a, beta + step_b
        if max(np.max(np.abs(step_a)), np.max(np.abs(step_b))) < tol:
            break
    mu, w = glm_moments(alpha[groups] + design @ beta + offset, n, binomial)
    resid = y - mu
    d = np.bincount(groups, weights=w)
    b = _group_sums(groups, design * w[:, None])
    schur = (design * w[:, None]).T @ design - (b / d[:, None]).T @ b
    # Slope rows of the inverse information times each practice's score (intercept part
    # included, though it is zero at the optimum up to the tolerance).
    cluster = _group_sums(groups, design * resid[:, None])
    cluster -= b * (np.bincount(groups, weights=resid) / d)[:, None]
    influence, cov = _influence(
        np.linalg.inv(schur), cluster, design.shape[0], design.shape[1] + len(d)
    )
    return GLMFit(beta, cov, influence, alpha)


# --- one group's trend (an organisation, or the comparator) ---------------------------


class GroupFit(NamedTuple):
    """One group's trend fit with each practice's influence on its level and slope."""

    values: dict[str, float]
    level_practices: np.ndarray
    level_influence: np.ndarray
    slope_practices: np.ndarray
    slope_influence: np.ndarray


_EMPTY = np.empty(0)


def within_slope(
    frame: pd.DataFrame, columns: list[np.ndarray], distribution: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Practice fixed-effects coefficients of ``columns``, their covariance, the informative
    practices' codes and their influence (or None when fewer than two are informative)."""
    y = frame["numerator"].to_numpy(dtype=float)
    n = frame["denominator"].to_numpy(dtype=float)
    codes = frame["practice_code"].to_numpy()
    groups = pd.factorize(codes)[0]
    keep = informative(y, n, groups, distribution)
    if len(np.unique(groups[keep])) < 2:
        return None
    design = np.column_stack(columns)[keep]
    kept, uniques = pd.factorize(codes[keep])
    fit = fe_fit(y[keep], n[keep], design, kept, distribution)
    return fit.beta, fit.cov, np.asarray(uniques), fit.influence


def group_fit(frame: pd.DataFrame, distribution: str, baseline_year: int, model: str) -> GroupFit:
    groups, practices = pd.factorize(frame["practice_code"])
    n_practices = len(practices)
    n_years = frame["year"].nunique()
    values = {"n_practices": n_practices, "n_years": n_years, "slope_clusters": n_practices}
    nan = dict.fromkeys(("level", "level_se", "slope", "slope_se"), np.nan)
    if n_practices < 2 or n_years < 2:
        return GroupFit({**values, **nan, "slope_clusters": 0}, _EMPTY, _EMPTY, _EMPTY, _EMPTY)
    time = (frame["year"] - baseline_year).to_numpy(dtype=float)
    design = np.column_stack([np.ones_like(time), time])
    fit = pooled_glm(
        frame["numerator"].to_numpy(dtype=float),
        frame["denominator"].to_numpy(dtype=float),
        design,
        groups,
        distribution,
    )
    se = np.sqrt(np.diag(fit.cov))
    values.update(level=fit.beta[0], level_se=se[0], slope=fit.beta[1], slope_se=se[1])
    practices = np.asarray(practices)
    out = GroupFit(values, practices, fit.influence[:, 0], practices, fit.influence[:, 1])
    if model == "practice_fe":
        within = within_slope(frame, [time], distribution)
        if within is None:
            values.update(slope=np.nan, slope_se=np.nan, slope_clusters=0)
            return out._replace(slope_practices=_EMPTY, slope_influence=_EMPTY)
        beta, cov, kept, influence = within
        values.update(slope=beta[0], slope_se=np.sqrt(cov[0, 0]), slope_clusters=len(kept))
        out = out._replace(slope_practices=kept, slope_influence=influence[:, 0])
    return out


def fit_trend(
    frame: pd.DataFrame, distribution: str, baseline_year: int, *, model: str = "pooled"
) -> dict[str, float]:
    """GLM of practice-year counts on ``year - baseline_year``, SEs clustered by practice.

    Fitted by :func:`analysis.indicators.methods.trend_fe.pooled_glm` (checked against statsmodels
    to 1e-8 in the tests); with ``model="practice_fe"`` the slope is that of the practice
    fixed-effects model (:func:`analysis.indicators.methods.trend_fe.fe_glm`) and the level stays
    the pooled one.

    Returns
    -------
    dict
        ``level`` (link-scale intercept at the baseline year), ``level_se``, ``slope``
        (annual log odds or rate ratio), ``slope_se``, ``n_practices``, ``n_years`` and
        ``slope_clusters`` (practices behind the slope: those with within-practice
        information for ``practice_fe``); NaN estimates when fewer than two practices or
        two years are available.
    """
    return group_fit(frame, distribution, baseline_year, model).values


def cross_covariance(
    codes_a: np.ndarray, infl_a: np.ndarray, codes_b: np.ndarray, infl_b: np.ndarray
) -> tuple[float, int]:
    """Cross-covariance of two fits from their shared practices, and how many they share:
    the sum over practices in both of the products of their influences."""
    # practice codes are unique within a fit; with no practice on one side nothing is shared
    _, ia, ib = np.intersect1d(codes_a, codes_b, return_indices=True)
    return float(infl_a[ia] @ infl_b[ib]), len(ia)


def welch_df(var_a, var_b, clusters_a, clusters_b) -> np.ndarray:
    """Welch-Satterthwaite degrees of freedom of a sum of two cluster-robust variances.

    ``(V_a + V_b)^2 / (V_a^2 / (G_a - 1) + V_b^2 / (G_b - 1))``; each variance has
    ``G - 1`` degrees of freedom for ``G`` clusters. NaN where either has fewer than two.
    """
    var_a, var_b = np.asarray(var_a, dtype=float), np.asarray(var_b, dtype=float)
    ga = np.asarray(clusters_a, dtype=float) - 1
    gb = np.asarray(clusters_b, dtype=float) - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (var_a + var_b) ** 2 / (var_a**2 / ga + var_b**2 / gb)
    return np.where((ga >= 1) & (gb >= 1), df, np.nan)
