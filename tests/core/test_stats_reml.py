"""The REML estimate of tau^2 against calculations written out here: the restricted
log-likelihood and its score, scipy's brentq on that score, and the closed form when every
unit has the same sampling variance; rows with no between-unit variance, very unequal
variances, many rows solved at once, and the bracket the solver starts from.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from analysis.core import stats

BCG_Y = np.array(
    [-0.889, -1.585, -1.348, -1.442, -0.218, -0.786, -1.621, 0.012, -0.469, -1.371, -0.339, 0.446]
)
BCG_V = np.array(
    [0.326, 0.195, 0.415, 0.020, 0.051, 0.007, 0.223, 0.004, 0.056, 0.073, 0.012, 0.53]
)


def restricted_loglik(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """``-1/2 [sum log(v + tau2) + log sum w + sum w (y - mu)^2]``, ``w = 1 / (v + tau2)``."""
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return -0.5 * (np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (y - mu) ** 2))


def reference_score(y: np.ndarray, v: np.ndarray, tau2: float) -> float:
    """Twice the derivative of :func:`restricted_loglik`, written as Viechtbauer (2005) does:
    ``sum w^2 ((y - mu)^2 - (v + tau2)) + sum w^2 / sum w``."""
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / np.sum(w)
    return float(np.sum(w**2 * ((y - mu) ** 2 - (v + tau2))) + np.sum(w**2) / np.sum(w))


def _derivative(f, x: float, h: float) -> float:
    """Five-point central difference."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def reference_root(y: np.ndarray, v: np.ndarray) -> float:
    """REML by brentq on :func:`reference_score` between 0 and the first of ``mean v`` times
    2, 4, 8, ... at which the score is not positive; 0 when the score at 0 is not positive."""
    if reference_score(y, v, 0.0) <= 0:
        return 0.0
    hi = np.mean(v)
    while reference_score(y, v, hi) > 0:
        hi *= 2
    score = lambda t: reference_score(y, v, t)  # noqa: E731
    return brentq(score, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=2000)


def _sets():
    rng = np.random.default_rng(11)
    sets = [(BCG_Y, BCG_V), (np.array([0.0, 3.0]), np.array([0.4, 1.1]))]
    for k, scale in ((5, 1.0), (13, 1.0), (40, 1.0), (8, 0.01), (6, 1e6)):
        v = rng.uniform(0.01, 2.0, k) * scale
        sets.append((rng.normal(0, np.sqrt(v + 0.4 * scale)), v))
    v = rng.uniform(1e-5, 4e-4, 3000)  # an England of practices: small v, small tau^2
    sets.append((rng.normal(0.3, np.sqrt(v + 2e-4)), v))
    return sets


@pytest.mark.parametrize("tau2", [0.0, 0.05, 0.3, 2.0])
def test_the_score_is_twice_the_derivative_of_the_restricted_likelihood(tau2):
    for y, v in _sets()[:6]:
        h = 1e-4 * max(tau2, 0.01)
        at = tau2 + 3 * h
        expected = 2 * _derivative(lambda t, y=y, v=v: restricted_loglik(y, v, t), at, h)
        score = stats._reml_score(y[None], v[None], np.array([at]))
        assert score.shape == (1,)
        assert score[0] == pytest.approx(expected, rel=1e-6, abs=1e-9)
        assert score[0] == pytest.approx(reference_score(y, v, at), rel=1e-12, abs=1e-12)


def test_the_estimate_is_the_independent_root_to_near_machine_precision():
    for y, v in _sets():
        root = reference_root(y, v)
        assert root > 0
        got = stats.reml_tau2(y, v)
        assert got == pytest.approx(root, rel=1e-13)
        best = restricted_loglik(y, v, got)
        for moved in (got * (1 - 1e-6), got * (1 + 1e-6)):
            assert restricted_loglik(y, v, moved) < best


def test_equal_sampling_variances_give_the_closed_form():
    # With every v_i = v the score is (k - 1) w (w s^2 - 1), so REML is max(0, s^2 - v).
    rng = np.random.default_rng(4)
    k = rng.integers(2, 60, 200)
    positive = zero = 0
    for size in np.unique(k):
        rows = int(np.sum(k == size))
        v = np.repeat(rng.uniform(0.01, 3.0, (rows, 1)), size, axis=1)
        y = rng.normal(1.0, np.sqrt(v + rng.uniform(0, 2, (rows, 1))))
        expected = np.maximum(y.var(axis=1, ddof=1) - v[:, 0], 0.0)
        np.testing.assert_allclose(stats.reml_tau2_rows(y, v), expected, rtol=1e-12, atol=0)
        positive, zero = positive + np.sum(expected > 0), zero + np.sum(expected == 0)
    assert positive > 100 and zero > 10


def test_rows_whose_likelihood_falls_from_zero_get_zero():
    y = np.array(
        [
            [0.0, 0.1, -0.1, 0.05],  # far less spread than v: falls from 0
            [0.0, 3.0, -3.0, 1.0],
            [4.0, 4.0, 4.0, 4.0],  # no spread at all
            [0.0, 0.0, 0.0, 1.0],  # the score at 0 is exactly 0: 12 - 16 + 4 with w = 4
        ]
    )
    v = np.array([[1.0] * 4, [1.0] * 4, [0.3] * 4, [0.25] * 4])
    assert reference_score(y[3], v[3], 0.0) == 0.0
    got = stats.reml_tau2_rows(y, v)
    assert got[0] == got[2] == got[3] == 0.0
    assert got[1] == pytest.approx(reference_root(y[1], v[1]), rel=1e-13)
    only_zeros = stats.reml_tau2_rows(y[[0, 2, 3]], v[[0, 2, 3]])
    assert only_zeros.tolist() == [0.0, 0.0, 0.0]
    assert stats.reml_tau2([0.0, 0.1, -0.1], [1.0, 1.0, 1.0]) == 0.0


def test_very_unequal_sampling_variances_reach_each_independent_root():
    # Variances spread over several orders of magnitude (tiny and large units side by side),
    # 300 sets of 10 units solved together, each at its own brentq root.
    rng = np.random.default_rng(8)
    v = np.exp(rng.normal(0, 2.5, (300, 10)))
    y = rng.normal(0, np.sqrt(v + np.exp(rng.normal(-1, 2, (300, 1)))))
    expected = np.array([reference_root(y[i], v[i]) for i in range(len(y))])
    assert (expected > 0).sum() > 200 and (expected == 0).sum() > 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = stats.reml_tau2_rows(y, v)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)


def test_many_rows_at_once_equal_one_row_at_a_time():
    rng = np.random.default_rng(21)
    v = rng.uniform(1e-4, 5e-3, (100, 30))
    y = rng.normal(0.6, np.sqrt(v + rng.uniform(0, 3e-3, (100, 1))))
    together = stats.reml_tau2_rows(y, v)
    alone = np.array([stats.reml_tau2(y[i], v[i]) for i in range(len(y))])
    assert 2 < np.sum(together == 0) < 50
    np.testing.assert_allclose(together, alone, rtol=1e-13, atol=0)
    order = rng.permutation(len(y))
    np.testing.assert_allclose(stats.reml_tau2_rows(y[order], v[order]), together[order], 1e-13)


def test_two_local_maxima_the_estimate_is_one_of_them():
    # Very unequal variances can give the restricted likelihood two local maxima; the
    # estimate is a root where the score falls through zero, i.e. one of them.
    y, v = np.array([9.0, 2.0, 1.0]), np.array([10.0, 0.001, 0.001])
    grid = np.geomspace(1e-6, 1e4, 4000)
    signs = np.sign([reference_score(y, v, t) for t in grid])
    crossings = np.flatnonzero(signs[1:] != signs[:-1])
    assert len(crossings) == 3  # down, up, down: two local maxima, a minimum between
    maxima = [
        brentq(lambda t: reference_score(y, v, t), grid[i], grid[i + 1], xtol=1e-300, rtol=1e-15)
        for i in crossings[[0, 2]]
    ]
    got = stats.reml_tau2(y, v)
    assert min(abs(got / m - 1) for m in maxima) < 1e-13


def test_the_bracket_top_has_a_negative_score():
    rng = np.random.default_rng(2)
    cases = [(BCG_Y[None], BCG_V[None])]
    for spread in (0.0, 1.0, 4.0):
        for k in (2, 3, 10, 100):
            v = np.exp(rng.normal(0, spread, (200, k)))
            y = rng.standard_t(2, (200, k)) * np.exp(rng.normal(0, 3, (200, 1)))
            cases.append((y, v))
    for y, v in cases:
        top = stats._reml_bracket_top(y, v)
        roots = stats.reml_tau2_rows(y, v)
        assert (top > roots).all()
        assert all(reference_score(y[i], v[i], top[i]) < 0 for i in range(len(y)))
