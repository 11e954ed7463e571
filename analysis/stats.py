"""Interval estimates and multiple-testing corrections shared by every strand.

Each function is checked in ``tests/test_stats.py`` against statsmodels or scipy
and against hand-worked examples.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

ArrayLike = np.ndarray | float | int


def z_value(confidence: float) -> float:
    """Two-sided standard normal quantile for a confidence level in (0, 1)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(sps.norm.ppf(0.5 + confidence / 2))


def wilson_interval(
    count: ArrayLike, n: ArrayLike, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    Parameters
    ----------
    count, n
        Successes and trials (arrays broadcast together); ``0 <= count <= n``, ``n > 0``.
    confidence
        Two-sided confidence level.

    Returns
    -------
    lower, upper : numpy.ndarray
        Bounds within [0, 1].
    """
    count = np.asarray(count, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0) or np.any(count < 0) or np.any(count > n):
        raise ValueError("wilson_interval needs 0 <= count <= n and n > 0")
    z = z_value(confidence)
    p = count / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg (1995) adjusted p-values; NaNs are kept and ignored."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    values = p[ok]
    m = values.size
    if m == 0:
        return adjusted
    order = np.argsort(values, kind="mergesort")
    ranked = values[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty(m)
    result[order] = np.minimum(ranked, 1.0)
    adjusted[ok] = result
    return adjusted
