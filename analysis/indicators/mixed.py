"""Linear model with a random intercept per group, fitted by REML in closed form per group.

The model is statsmodels' ``MixedLM`` with ``groups`` and no other random effects,
``y = X beta + u[g] + e`` with ``u ~ N(0, sigma_b^2)`` and ``e ~ N(0, sigma^2)``. With one
variance ratio ``gamma = sigma_b^2 / sigma^2`` every group's covariance inverts in closed form
(``V_g^-1 = (I - w_g J) / sigma^2``, ``w_g = gamma / (1 + n_g gamma)``), so the restricted
likelihood profiled over ``beta`` and ``sigma^2`` is a function of ``gamma`` alone, evaluated
with group sums in a few vectorised operations and maximised with
:func:`scipy.optimize.minimize_scalar`. ``MixedLM`` loops over groups in Python and takes about
2 s per fit on 6,400 practices in 1,260 primary care networks; this takes milliseconds and
gives the same estimates (the tests compare the two on every quantity reported, and the
chapter reports a ``MixedLM`` fit beside it for its headline year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps


@dataclass(frozen=True)
class RandomIntercept:
    """REML estimates of a random-intercept model.

    Attributes
    ----------
    params, bse, pvalues
        Fixed effects, their standard errors and two-sided Wald p-values (Series by name).
    between_var, within_var
        ``sigma_b^2`` and ``sigma^2``.
    n_obs, n_groups
        Observations and groups.
    """

    params: pd.Series
    bse: pd.Series
    pvalues: pd.Series
    between_var: float
    within_var: float
    n_obs: int
    n_groups: int

    @property
    def icc(self) -> float:
        """Share of the variance between groups, ``sigma_b^2 / (sigma_b^2 + sigma^2)``."""
        return self.between_var / (self.between_var + self.within_var)

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Wald intervals of the fixed effects (``lower``, ``upper``)."""
        z = sps.norm.ppf(1 - alpha / 2)
        return pd.DataFrame(
            {"lower": self.params - z * self.bse, "upper": self.params + z * self.bse}
        )


def _group_sums(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.zeros((n_groups, values.shape[1]))
    np.add.at(out, codes, values)
    return out


def fit_random_intercept(
    y: np.ndarray | pd.Series,
    exog: pd.DataFrame,
    groups: np.ndarray | pd.Series,
) -> RandomIntercept:
    """Fit ``y ~ exog`` with a random intercept per group by REML.

    Parameters
    ----------
    y
        Outcome, one value per observation.
    exog
        Fixed-effect design (include a constant column, e.g. ``Intercept`` = 1).
    groups
        Group label of each observation.

    Returns
    -------
    RandomIntercept

    Raises
    ------
    ValueError
        Fewer than two groups, or missing values.
    """
    y = np.asarray(y, dtype=float)
    x = exog.to_numpy(dtype=float)
    if np.isnan(y).any() or np.isnan(x).any():
        raise ValueError("missing values in the outcome or the design")
    codes, uniques = pd.factorize(np.asarray(groups))
    k = len(uniques)
    if k < 2:
        raise ValueError(f"a random intercept needs at least two groups; got {k}")
    n_obs, p = x.shape
    n = np.bincount(codes, minlength=k).astype(float)
    sx = _group_sums(x, codes, k)
    sy = _group_sums(y[:, None], codes, k)[:, 0]
    xtx, xty, yty = x.T @ x, x.T @ y, y @ y

    def pieces(gamma: float):
        w = gamma / (1 + n * gamma)
        a = xtx - (sx * w[:, None]).T @ sx
        b = xty - (sx * w[:, None]).T @ sy
        beta = np.linalg.solve(a, b)
        # r'V^-1 r sigma^2 = sum r^2 - sum_g w_g (sum_g r)^2, with r = y - X beta
        sr = sy - sx @ beta
        rss = yty - 2 * beta @ xty + beta @ xtx @ beta
        q = rss - np.sum(w * sr**2)
        return beta, a, q, w

    def objective(log_gamma: float) -> float:
        gamma = np.exp(log_gamma)
        _, a, q, _ = pieces(gamma)
        sign, logdet = np.linalg.slogdet(a)
        return (n_obs - p) * np.log(q / (n_obs - p)) + np.sum(np.log1p(n * gamma)) + logdet

    found = optimize.minimize_scalar(
        objective, bounds=(-25.0, 12.0), method="bounded", options={"xatol": 1e-10}
    )
    boundary = objective(-25.0)
    gamma = float(np.exp(found.x)) if found.fun < boundary else 0.0
    beta, a, q, _ = pieces(gamma)
    sigma2 = q / (n_obs - p)
    cov = sigma2 * np.linalg.inv(a)
    names = list(exog.columns)
    params = pd.Series(beta, index=names)
    bse = pd.Series(np.sqrt(np.diag(cov)), index=names)
    pvalues = pd.Series(2 * sps.norm.sf(np.abs(beta / bse.to_numpy())), index=names)
    return RandomIntercept(params, bse, pvalues, gamma * sigma2, sigma2, n_obs, k)
