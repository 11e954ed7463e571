"""The REML estimate of tau^2 by its parts: the score and its slope against derivatives of
the restricted log-likelihood written out here, the bracket that holds the root, and Newton
steps that reach the root (found independently by scipy's brentq) in a few iterations.
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


def _derivative(f, x: float, h: float) -> float:
    """Five-point central difference."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def _sets():
    rng = np.random.default_rng(11)
    sets = [(BCG_Y, BCG_V)]
    for k, scale in ((5, 1.0), (13, 1.0), (40, 1.0), (8, 0.01)):
        v = rng.uniform(0.01, 2.0, k) * scale
        sets.append((rng.normal(0, np.sqrt(v + 0.4)), v))
    return sets


@pytest.mark.parametrize("tau2", [0.0, 0.05, 0.3, 2.0])
def test_score_and_slope_are_the_derivatives_of_the_restricted_likelihood(tau2):
    for y, v in _sets():
        score, slope = stats._reml_score(y[None], v[None], np.array([tau2]))
        h = 1e-4 * max(tau2, 0.01)
        expected = _derivative(lambda t, y=y, v=v: restricted_loglik(y, v, t), tau2 + 3 * h, h)
        at = stats._reml_score(y[None], v[None], np.array([tau2 + 3 * h]))[0][0]
        assert at == pytest.approx(expected, rel=1e-6, abs=1e-9)
        numeric = _derivative(
            lambda t, y=y, v=v: stats._reml_score(y[None], v[None], np.array([t]))[0][0],
            tau2 + 3 * h,
            h,
        )
        at_slope = stats._reml_score(y[None], v[None], np.array([tau2 + 3 * h]))[1][0]
        assert at_slope == pytest.approx(numeric, rel=1e-6, abs=1e-9)
        assert score.shape == slope.shape == (1,)


def _root(y, v):
    score = lambda t: stats._reml_score(y[None], v[None], np.array([t]))[0][0]  # noqa: E731
    if score(0.0) <= 0:
        return 0.0
    hi = 1.0
    while score(hi) > 0:
        hi *= 2
    return brentq(score, 0.0, hi, xtol=1e-15, rtol=1e-15)


def test_newton_reaches_the_independent_root_within_six_steps():
    sets = _sets()
    for y, v in sets:
        root = _root(y, v)
        assert root > 0
        assert stats.reml_tau2_rows(y[None], v[None], max_iter=6)[0] == pytest.approx(
            root, rel=1e-12
        )
    # Rows solved together: each row's own root, however fast its neighbours converge.
    y = np.vstack([s[0][:5] for s in sets])
    v = np.vstack([s[1][:5] for s in sets])
    expected = [_root(y[i], v[i]) for i in range(len(y))]
    np.testing.assert_allclose(stats.reml_tau2_rows(y, v), expected, rtol=1e-12, atol=1e-15)


def test_a_row_whose_likelihood_falls_from_zero_gets_zero():
    y = np.array([[0.0, 0.1, -0.1, 0.05], [0.0, 3.0, -3.0, 1.0]])
    v = np.ones((2, 4))
    got = stats.reml_tau2_rows(y, v)
    assert got[0] == 0.0 and got[1] == pytest.approx(_root(y[1], v[1]), rel=1e-12)
    assert stats.reml_tau2_rows(y[:1], v[:1]).tolist() == [0.0]


def test_the_bracket_is_widened_fourfold_until_the_score_is_not_positive():
    y = np.vstack([BCG_Y, BCG_Y * 3])
    v = np.vstack([BCG_V, BCG_V])
    roots = [_root(y[0], v[0]), _root(y[1], v[1])]
    start = np.array([roots[0] / 100, roots[1] * 2])
    lo, hi = stats._reml_bracket(y, v, start)
    # Row 0 starts below its root: 4, 16, 64, 256 times the start, the last above the root.
    assert hi[0] == pytest.approx(start[0] * 256) and lo[0] == pytest.approx(start[0] * 64)
    assert lo[0] < roots[0] <= hi[0]
    # Row 1 starts above its root and is left alone.
    assert (lo[1], hi[1]) == (0.0, start[1])
    score_lo = stats._reml_score(y, v, lo)[0]
    score_hi = stats._reml_score(y, v, hi)[0]
    assert score_lo[0] > 0 and score_hi[0] <= 0 and score_hi[1] <= 0


def test_very_unequal_sampling_variances_reach_the_root_in_at_most_25_steps():
    # Variances spread over several orders of magnitude (tiny and large units side by
    # side): Newton steps leave the bracket and the bisection safeguard takes over; 300 sets
    # of 10 units, solved together, each at its own brentq root.
    rng = np.random.default_rng(8)
    v = np.exp(rng.normal(0, 2.5, (300, 10)))
    y = rng.normal(0, np.sqrt(v + np.exp(rng.normal(-1, 2, (300, 1)))))
    expected = np.array([_root(y[i], v[i]) for i in range(len(y))])
    assert (expected > 0).sum() > 200 and (expected == 0).sum() > 20
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a zero slope is handled, not warned about
        got = stats.reml_tau2_rows(y, v)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(
        stats.reml_tau2_rows(y, v, max_iter=25), expected, rtol=1e-10, atol=1e-300
    )
