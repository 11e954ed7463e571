"""Practice fixed-effects GLM for the trend model (issue 14 item 1).

The pooled trend model (:func:`analysis.indicators.trends.fit_trend`) compares practice-years
across practices, so an organisation whose later members are better practices shows an
"improvement" that is only membership turnover. With one intercept per practice the slope
is estimated from change within each practice only.

:func:`fe_glm` fits a canonical-link binomial (logit) or Poisson (log, offset log
denominator) GLM with one intercept per practice by Newton-Raphson, eliminating the
practice intercepts through the Schur complement of the (diagonal) intercept block, so the
cost is linear in the number of practices instead of cubic. The covariance of the slope
parameters is the cluster-robust sandwich clustered by practice, with statsmodels' small
sample factor ``G / (G - 1) (N - 1) / (N - K)`` where ``K`` counts the practice intercepts
too: the numbers ``sm.GLM`` gives with practice dummies and ``cov_type="cluster"`` (checked
to 1e-8 in the tests). Counting the intercepts makes the factor about ``T / (T - 1)`` for
``T`` years per practice, a conservative choice.

Practices without within-practice information (a single year; no events, or for
proportions all events, in every year) add nothing to the slope (their intercept fits them
exactly or is infinite); :func:`informative` marks them so that the caller leaves them out
of the fit (as conditional logit does).
"""

from __future__ import annotations

import numpy as np


def glm_moments(eta: np.ndarray, n: np.ndarray, binomial: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean and IRLS weight of a canonical-link binomial (logit) or Poisson (log) GLM."""
    if binomial:
        p = 1 / (1 + np.exp(-eta))
        return n * p, n * p * (1 - p)
    mu = np.exp(eta)
    return mu, mu


def _group_sums(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``values`` (rows x k) within each group: ``n_groups x k``."""
    return np.column_stack(
        [
            np.bincount(groups, weights=values[:, j], minlength=n_groups)
            for j in range(values.shape[1])
        ]
    )


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
    tuple
        ``beta`` (k), its cluster-robust covariance (k x k) and the practice intercepts (G).
    """
    binomial = distribution == "binomial"
    offset = np.zeros_like(y) if binomial else np.log(n)
    n_groups = int(groups.max()) + 1
    events = np.bincount(groups, weights=y, minlength=n_groups)
    trials = np.bincount(groups, weights=n, minlength=n_groups)
    rate = events / trials
    alpha = np.log(rate / (1 - rate)) if binomial else np.log(rate)
    beta = np.zeros(design.shape[1])
    for _ in range(max_iter):
        mu, w = glm_moments(alpha[groups] + design @ beta + offset, n, binomial)
        resid = y - mu
        # Information [[D, B], [B', C]] with D diagonal: solve by the Schur complement.
        d = np.bincount(groups, weights=w, minlength=n_groups)
        b = _group_sums(groups, design * w[:, None], n_groups)
        c = (design * w[:, None]).T @ design
        score_a = np.bincount(groups, weights=resid, minlength=n_groups)
        score_b = design.T @ resid
        schur = c - (b / d[:, None]).T @ b
        step_b = np.linalg.solve(schur, score_b - b.T @ (score_a / d))
        step_a = (score_a - b @ step_b) / d
        alpha, beta = alpha + step_a, beta + step_b
        if max(np.max(np.abs(step_a)), np.max(np.abs(step_b))) < tol:
            break
    mu, w = glm_moments(alpha[groups] + design @ beta + offset, n, binomial)
    resid = y - mu
    d = np.bincount(groups, weights=w, minlength=n_groups)
    b = _group_sums(groups, design * w[:, None], n_groups)
    schur = (design * w[:, None]).T @ design - (b / d[:, None]).T @ b
    # Slope rows of the inverse information times each practice's score (intercept part
    # included, though it is zero at the optimum up to the tolerance).
    cluster = _group_sums(groups, design * resid[:, None], n_groups)
    cluster -= b * (np.bincount(groups, weights=resid, minlength=n_groups) / d)[:, None]
    bread = np.linalg.inv(schur)
    nobs, k = design.shape[0], design.shape[1] + n_groups
    factor = n_groups / (n_groups - 1) * (nobs - 1) / (nobs - k)
    return beta, factor * bread @ (cluster.T @ cluster) @ bread, alpha
