"""Interval estimates and multiple-testing corrections shared by every strand.

Each function is checked in ``tests/test_stats.py`` against statsmodels or scipy
and against hand-worked examples.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps
from scipy.optimize import elementwise

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
    # At count = 0 or count = n the bound is exactly 0 or 1; rounding would leave 1e-17.
    lower = np.where(count == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(count == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    return lower, upper


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


# --------------------------------------------------------------------------- indicators
# Exact Poisson intervals, funnel-plot limits and Spiegelhalter's (2005) overdispersion
# estimates; checked in tests/test_stats_indicators.py.

DISTRIBUTIONS = ("binomial", "poisson", "continuous")
"""Binomial proportions, Poisson rates, and continuous values whose sampling variance is not
known (a published score without its counts): their null standard error is 0."""


def garwood_interval(
    count: ArrayLike, exposure: ArrayLike = 1.0, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood 1936) interval for a Poisson rate ``count / exposure``.

    Parameters
    ----------
    count, exposure
        Events (``>= 0``) and exposure (``> 0``), broadcast together.
    confidence
        Two-sided confidence level.

    Returns
    -------
    lower, upper : numpy.ndarray
        Bounds for the rate; the lower bound is 0 when ``count`` is 0.
    """
    from statsmodels.stats.rates import confint_poisson

    count = np.asarray(count, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    if np.any(exposure <= 0) or np.any(count < 0) or np.any(np.isnan(count)):
        raise ValueError("garwood_interval needs count >= 0 and exposure > 0")
    count, exposure = np.broadcast_arrays(count, exposure)
    z_value(confidence)
    lower, upper = confint_poisson(count, exposure, method="exact-c", alpha=1 - confidence)
    return np.nan_to_num(np.asarray(lower, dtype=float), nan=0.0), np.asarray(upper, dtype=float)


def null_standard_error(target: ArrayLike, n: ArrayLike, distribution: str) -> np.ndarray:
    """Standard error of an observed rate with denominator ``n`` if its true rate is ``target``.

    ``sqrt(target (1 - target) / n)`` for a binomial proportion, ``sqrt(target / n)`` for a
    Poisson rate per unit of denominator (Spiegelhalter 2005, funnel plots); 0 for a
    continuous value (no sampling variance is known: all its spread is between units).
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution {distribution!r} is not one of {DISTRIBUTIONS}")
    target = np.asarray(target, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(n <= 0):
        raise ValueError("null_standard_error needs denominators n > 0")
    if distribution == "continuous":
        return np.zeros(np.broadcast(target, n).shape)
    variance = target * (1 - target) if distribution == "binomial" else target
    return np.sqrt(variance / n)


def funnel_limits(
    target: ArrayLike,
    n: ArrayLike,
    distribution: str,
    confidence: float,
    *,
    phi: float = 1.0,
    tau2: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Funnel-plot control limits ``target +/- z sqrt(phi s^2 + tau2)`` at denominators ``n``.

    ``s`` is :func:`null_standard_error`; ``phi`` is a multiplicative and ``tau2`` an additive
    overdispersion adjustment (Spiegelhalter 2005); the defaults give the plain limits.
    Binomial limits are clipped to [0, 1], Poisson lower limits at 0.
    """
    if phi <= 0 or tau2 < 0:
        raise ValueError(f"funnel_limits needs phi > 0 and tau2 >= 0, got {phi}, {tau2}")
    se = null_standard_error(target, n, distribution)
    half = z_value(confidence) * np.sqrt(phi * se**2 + tau2)
    target = np.asarray(target, dtype=float)
    if distribution == "continuous":
        return target - half, target + half
    upper_bound = 1.0 if distribution == "binomial" else np.inf
    return np.clip(target - half, 0.0, None), np.clip(target + half, None, upper_bound)


def winsorised_phi(z: ArrayLike, fraction: float = 0.1) -> float:
    """Multiplicative overdispersion ``phi``: mean of squared z-scores Winsorised at ``fraction``.

    The z-scores below the ``fraction`` and above the ``1 - fraction`` quantile are pulled in
    to those quantiles before averaging (Spiegelhalter 2005, Qual Saf Health Care).
    """
    z = np.asarray(z, dtype=float)
    z = z[~np.isnan(z)]
    if z.size == 0:
        raise ValueError("winsorised_phi needs at least one z-score")
    if not 0 <= fraction < 0.5:
        raise ValueError(f"fraction must be in [0, 0.5), got {fraction}")
    low, high = np.quantile(z, [fraction, 1 - fraction])
    return float(np.mean(np.clip(z, low, high) ** 2))


def additive_tau2(z: ArrayLike, se: ArrayLike, fraction: float = 0.1) -> float:
    """Additive (random-effects) overdispersion ``tau^2`` from z-scores and their standard errors.

    ``tau2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w)`` with ``w = 1 / se^2`` and ``phi``
    the Winsorised estimate, truncated at 0 (Spiegelhalter 2005, Qual Saf Health Care).
    """
    z = np.asarray(z, dtype=float)
    se = np.asarray(se, dtype=float)
    ok = ~(np.isnan(z) | np.isnan(se))
    z, se = z[ok], se[ok]
    if np.any(se <= 0):
        raise ValueError("additive_tau2 needs standard errors > 0")
    count = z.size
    if count < 2:
        raise ValueError("additive_tau2 needs at least two units")
    phi = winsorised_phi(z, fraction)
    w = 1 / se**2
    excess = count * phi - (count - 1)
    return float(max(excess, 0.0) / (w.sum() - (w**2).sum() / w.sum()))


# --- survey strand: the counts a rounded published percentage allows --------------------------
# (imports are local so that this block only appends to the module)


def _exact(value):
    """A printed number as an exact fraction (``79.6`` is 796/10, not its binary float)."""
    from decimal import Decimal
    from fractions import Fraction

    return value if isinstance(value, Fraction) else Fraction(Decimal(str(value)))


def round_half_up(value: float, decimals: int = 0) -> float:
    """Round half up (2.5 -> 3, 0.125 -> 0.13 at 2 decimals), as published tables are printed.

    Python's ``round`` rounds half to even (2.5 -> 2) on binary floats; this works on the
    exact decimal value. Intended for non-negative values.
    """
    import math

    scale = 10**decimals
    return math.floor(_exact(value) * scale + _exact("0.5")) / scale


def rounding_interval(percent: float, n: int, decimals: int = 0) -> tuple[int, int]:
    """Counts ``k`` out of ``n`` whose percentage rounds (half up) to the printed ``percent``.

    ``k`` qualifies when ``percent - h <= 100 k / n < percent + h`` with ``h = 0.5 / 10**decimals``,
    in exact rational arithmetic. Example: 73% of 982 allows k = 712 ... 721.

    Raises
    ------
    ValueError
        If ``percent`` is outside [0, 100], ``n`` is not a whole number >= 1, or no count out
        of ``n`` prints as ``percent``.
    """
    import math

    p, half = _exact(percent), _exact(5) / 10 ** (decimals + 1)
    if not 0 <= p <= 100:
        raise ValueError(f"percent must be within [0, 100], got {percent}")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a whole number >= 1, got {n}")
    k_min = max(math.ceil((p - half) * int(n) / 100), 0)
    k_max = min(math.ceil((p + half) * int(n) / 100) - 1, int(n))
    if k_min > k_max:
        raise ValueError(f"no count out of n={n} rounds to {percent}% at {decimals} decimals")
    return int(k_min), int(k_max)


# --- between-unit variance estimators -----------------------------------------------------
# Random-effects variance of estimates ``y`` with known sampling variances ``v``; checked in
# tests/core/test_stats_tau2.py against the BCG vaccine meta-analysis (Viechtbauer 2010) and
# statsmodels' ``combine_effects``.

TAU2_METHODS = ("winsorised", "winsorised_rescaled", "dl", "reml", "dl_within")
"""Between-practice variance estimators: Spiegelhalter's Winsorised phi as published, the same
rescaled to be unbiased under the null, DerSimonian-Laird, REML, and DerSimonian-Laird within
groups (each unit against its own group's mean, so differences between groups are left out)."""


def winsorised_null_moment(fraction: float = 0.1) -> float:
    """Mean of ``Z^2`` for a standard normal ``Z`` Winsorised at ``fraction`` (each tail).

    ``1 - 2f - 2 q phi(q) + 2 f q^2`` with ``q`` the ``1 - f`` quantile: 0.6787 at 10%,
    the expectation of :func:`winsorised_phi` when there is no overdispersion.
    """
    if not 0 <= fraction < 0.5:
        raise ValueError(f"fraction must be in [0, 0.5), got {fraction}")
    if fraction == 0:
        return 1.0
    q = sps.norm.ppf(1 - fraction)
    return float(1 - 2 * fraction - 2 * q * sps.norm.pdf(q) + 2 * fraction * q**2)


def rescaled_winsorised_phi(z: ArrayLike, fraction: float = 0.1) -> float:
    """:func:`winsorised_phi` divided by :func:`winsorised_null_moment`: about 1 under the null."""
    return winsorised_phi(z, fraction) / winsorised_null_moment(fraction)


def _effects(y: ArrayLike, v: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(v))
    y, v = y[ok], v[ok]
    if np.any(v <= 0):
        raise ValueError("sampling variances must be > 0")
    if y.size < 2:
        raise ValueError("a between-unit variance needs at least two units")
    return y, v


def dersimonian_laird(y: ArrayLike, v: ArrayLike) -> float:
    """DerSimonian-Laird (1986) moment estimate of the between-unit variance ``tau^2``.

    Parameters
    ----------
    y, v
        Unit estimates and their sampling variances (NaN pairs are dropped).

    Returns
    -------
    float
        ``max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w))`` with ``w = 1 / v`` and
        ``Q = sum w (y - ybar_w)^2``.
    """
    y, v = _effects(y, v)
    return float(dersimonian_laird_rows(y[None, :], v[None, :])[0])


def dersimonian_laird_rows(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`dersimonian_laird` of every row of ``y`` and ``v`` (2-D, no NaN, ``v > 0``)."""
    w = 1 / v
    sw = w.sum(axis=1)
    mean = (w * y).sum(axis=1) / sw
    q = (w * (y - mean[:, None]) ** 2).sum(axis=1)
    return np.maximum(q - (y.shape[1] - 1), 0.0) / (sw - (w**2).sum(axis=1) / sw)


def dersimonian_laird_within(y: ArrayLike, v: ArrayLike, groups: ArrayLike) -> float:
    """DerSimonian-Laird moment estimate of the between-unit variance within ``groups``.

    Each unit is compared with the weighted mean of its own group, so variation between
    the groups' means is left out: ``max(0, (Q_w - (k - G)) / sum_g (S1_g - S2_g / S1_g))``
    with ``Q_w = sum_g sum_i w_i (y_i - ybar_g)^2``, ``w = 1 / v``, ``S1_g`` and ``S2_g`` the
    sums of ``w`` and ``w^2`` in group ``g``, ``k`` units in ``G`` groups; its expectation
    under ``y_i ~ N(mu_g, v_i + tau^2)`` gives ``tau^2``. With one group it is
    :func:`dersimonian_laird`; so it is when no group has two units (every unit its own
    group, as when the units are the organisations), there being no spread within groups to
    estimate. NaN pairs are dropped.
    """
    y, v = np.asarray(y, dtype=float), np.asarray(v, dtype=float)
    codes = _group_codes(groups)
    ok = ~(np.isnan(y) | np.isnan(v))
    y, v = _effects(y[ok], v[ok])
    return float(dersimonian_laird_within_rows(y[None, :], v[None, :], _group_codes(codes[ok]))[0])


def _group_codes(groups: ArrayLike) -> np.ndarray:
    """Integer codes ``0..G-1`` of any labels (missing labels are one group)."""
    if np.issubdtype(np.asarray(groups).dtype, np.integer):
        return np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    labels = np.asarray(groups, dtype=object)
    labels = np.where([label is None or label != label for label in labels], "\0none", labels)
    return np.unique(labels.astype(str), return_inverse=True)[1].ravel()


def dersimonian_laird_within_rows(y: np.ndarray, v: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """:func:`dersimonian_laird_within` of every row of ``y`` and ``v`` (2-D, no NaN), the
    units' groups (integer codes ``0..G-1``) the same in every row."""
    groups = np.asarray(groups)
    order = np.argsort(groups, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(groups[order]) != 0])
    if len(starts) == y.shape[1]:  # no group of two units: nothing within groups
        return dersimonian_laird_rows(y, v)
    y, w = y[:, order], 1 / v[:, order]
    s1 = np.add.reduceat(w, starts, axis=1)
    sy = np.add.reduceat(w * y, starts, axis=1)
    q = (np.add.reduceat(w * y**2, starts, axis=1) - sy**2 / s1).sum(axis=1)
    denominator = (s1 - np.add.reduceat(w**2, starts, axis=1) / s1).sum(axis=1)
    return np.maximum(q - (y.shape[1] - len(starts)), 0.0) / denominator


def _reml_score(y: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Twice the restricted log-likelihood's derivative in ``tau^2``, per row:
    ``sum w^2 (y - mu)^2 - sum w + sum w^2 / sum w`` with ``w = 1 / (v + tau^2)`` and ``mu``
    the ``w``-weighted mean."""
    w = 1 / (v + tau2[:, None])
    sw = w.sum(axis=1)
    r = y - ((w * y).sum(axis=1) / sw)[:, None]
    return (w**2 * r**2).sum(axis=1) - sw + (w**2).sum(axis=1) / sw


def _reml_bracket_top(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per row, a ``tau^2`` at which :func:`_reml_score` is negative: ``max v + 4 s^2``, with
    ``s^2`` the sample variance of ``y``.

    With ``k`` units and ``w`` between ``w_min`` and ``w_max``: ``sum w^2 (y - mu)^2 <= w_max^2
    (k - 1) s^2`` (``mu`` minimises the weighted sum of squares) and ``sum w - sum w^2 / sum w
    = sum_{i != j} w_i w_j / sum w >= (k - 1) w_min^2 / w_max``, so the score is negative once
    ``s^2 < (min v + tau^2)^3 / (max v + tau^2)^2``. At ``tau^2 = max v + 4 s^2`` the right
    side is at least ``tau^2 / 4`` (``tau^2 >= max v`` makes ``(max v + tau^2) <= 2 tau^2``),
    which exceeds ``s^2`` by ``max v / 4``.
    """
    return v.max(axis=1) + 4 * y.var(axis=1, ddof=1)


def reml_tau2(y: ArrayLike, v: ArrayLike) -> float:
    """Restricted maximum likelihood estimate of ``tau^2`` (Viechtbauer 2005), at least 0.

    The root of the restricted log-likelihood's score equation for ``y_i ~ N(mu, v_i +
    tau^2)`` (:func:`reml_tau2_rows`), or 0 when the restricted likelihood falls from
    ``tau^2 = 0``.
    """
    y, v = _effects(y, v)
    return float(reml_tau2_rows(y[None, :], v[None, :])[0])


def reml_tau2_rows(y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`reml_tau2` of every row of ``y`` and ``v`` (2-D, no NaN, ``v > 0``).

    Parameters
    ----------
    y, v
        Unit estimates and their sampling variances, one set of units per row.

    Returns
    -------
    numpy.ndarray
        Per row, the root of the score equation ``sum w^2 (y - mu)^2 - sum w + sum w^2 /
        sum w = 0`` (``w = 1 / (v + tau^2)``, ``mu`` the ``w``-weighted mean), found by
        scipy's vectorised bracketing solver ``scipy.optimize.elementwise.find_root``
        (Chandrupatla's method, at its default tolerances: the final bracket a few units in
        the last place wide) between 0 and :func:`_reml_bracket_top`; 0 for a row whose
        score at 0 is not positive (the restricted likelihood falls from ``tau^2 = 0``).
        With very unequal variances the restricted likelihood can have two local maxima;
        the root found is then one of them, not necessarily the higher.
    """
    y, v = np.asarray(y), np.asarray(v)
    rising = np.flatnonzero(_reml_score(y, v, np.zeros(len(y))) > 0)

    def score(tau2: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return _reml_score(y[rows], v[rows], tau2)

    top = _reml_bracket_top(y[rising], v[rising])
    out = np.zeros(len(y))
    out[rising] = elementwise.find_root(score, (0.0, top), args=(rising,)).x
    return out


def between_variance(
    y: ArrayLike,
    v: ArrayLike,
    *,
    method: str = "dl",
    target: float | None = None,
    groups: ArrayLike | None = None,
) -> float:
    """Between-unit variance ``tau^2`` of estimates ``y`` with sampling variances ``v``.

    Parameters
    ----------
    y, v
        Unit estimates and sampling variances (NaN pairs are dropped).
    method
        One of :data:`TAU2_METHODS`. ``winsorised`` is :func:`additive_tau2` (Spiegelhalter
        2005, as published: phi Winsorised at 10%, not rescaled); ``winsorised_rescaled``
        divides phi by :func:`winsorised_null_moment`; ``dl`` is :func:`dersimonian_laird`;
        ``reml`` is :func:`reml_tau2`; ``dl_within`` is :func:`dersimonian_laird_within`.
    target
        Value the z-scores of the Winsorised methods are centred on (default the
        inverse-variance weighted mean of ``y``).
    groups
        The units' groups, for ``dl_within`` (required there, ignored otherwise).
    """
    if method not in TAU2_METHODS:
        raise ValueError(f"method {method!r} is not one of {TAU2_METHODS}")
    if method == "dl_within" and groups is None:
        raise ValueError("method 'dl_within' needs the units' groups")
    if np.size(v) and not np.any(np.asarray(v, dtype=float)):
        # No sampling variance (continuous values): every method's estimate is then the
        # spread of the estimates (around each group's mean for dl_within), the moment and
        # REML limit as v -> 0.
        values = np.asarray(y, dtype=float)
        ok = ~np.isnan(values)
        if method != "dl_within":
            return float(np.var(values[ok], ddof=1))
        codes = _group_codes(groups)[ok]
        means = np.bincount(codes, weights=values[ok]) / np.bincount(codes)
        free = ok.sum() - len(np.unique(codes))
        if free == 0:  # no group of two units: the spread between them, as for dl
            return float(np.var(values[ok], ddof=1))
        return float(np.sum((values[ok] - means[codes]) ** 2) / free)
    if method == "dl_within":
        return dersimonian_laird_within(y, v, groups)
    y, v = _effects(y, v)
    centre = None if target is None else np.array([target], dtype=float)
    return float(between_variance_rows(y[None, :], v[None, :], method=method, target=centre)[0])


def between_variance_rows(
    y: np.ndarray,
    v: np.ndarray,
    *,
    method: str = "dl",
    target: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`between_variance` of every row of ``y`` and ``v`` (2-D, no NaN, ``v > 0``).

    ``target`` gives one centre per row for the Winsorised methods, ``groups`` the units'
    integer group codes (the same in every row) for ``dl_within``. The Winsorised phi uses
    the same quantiles (linear interpolation) as :func:`winsorised_phi`.
    """
    if method not in TAU2_METHODS:
        raise ValueError(f"method {method!r} is not one of {TAU2_METHODS}")
    if method == "dl":
        return dersimonian_laird_rows(y, v)
    if method == "reml":
        return reml_tau2_rows(y, v)
    if method == "dl_within":
        if groups is None:
            raise ValueError("method 'dl_within' needs the units' groups")
        return dersimonian_laird_within_rows(y, v, groups)
    w = 1 / v
    sw = w.sum(axis=1)
    centre = (y * w).sum(axis=1) / sw if target is None else np.asarray(target, dtype=float)
    z = (y - centre[:, None]) * np.sqrt(w)
    low, high = np.quantile(z, [0.1, 0.9], axis=1)
    phi = (np.clip(z, low[:, None], high[:, None]) ** 2).mean(axis=1)
    if method == "winsorised_rescaled":
        phi = phi / winsorised_null_moment(0.1)
    count = y.shape[1]
    return np.maximum(count * phi - (count - 1), 0.0) / (sw - (w**2).sum(axis=1) / sw)
