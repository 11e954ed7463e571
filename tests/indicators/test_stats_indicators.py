"""Exact Poisson intervals, funnel limits and overdispersion (analysis.core.stats).

Each function is checked against an independent calculation: the chi-square form of the
Garwood interval (scipy.stats.chi2), published table values, hand-worked limits and
Winsorised moments, and the normal distribution's Winsorised second moment.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from analysis.core import stats

# --------------------------------------------------------------------------- Garwood


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_garwood_matches_chi_square_form(confidence):
    counts = np.array([0, 1, 2, 5, 37, 1000, 12345])
    exposure = np.array([10.0, 100.0, 1.0, 50.0, 3000.0, 1e5, 2e6])
    a = 1 - confidence
    lower = np.where(counts > 0, sps.chi2.ppf(a / 2, 2 * counts) / 2, 0.0) / exposure
    upper = sps.chi2.ppf(1 - a / 2, 2 * counts + 2) / 2 / exposure
    got_lower, got_upper = stats.garwood_interval(counts, exposure, confidence)
    np.testing.assert_allclose(got_lower, lower, rtol=1e-10)
    np.testing.assert_allclose(got_upper, upper, rtol=1e-10)


def test_garwood_published_table_values():
    # Exact 95% limits for a Poisson count (e.g. Sahai and Khurshid's tables):
    # 0 -> (0, 3.689), 1 -> (0.0253, 5.572), 10 -> (4.795, 18.39).
    lower, upper = stats.garwood_interval([0, 1, 10], 1.0)
    np.testing.assert_allclose(lower, [0.0, 0.0253, 4.795], atol=6e-4)
    np.testing.assert_allclose(upper, [3.689, 5.572, 18.39], atol=6e-3)


@pytest.mark.parametrize("count, exposure", [(-1, 10.0), (3, 0.0), (3, -2.0), (np.nan, 10.0)])
def test_garwood_rejects_bad_input(count, exposure):
    with pytest.raises(ValueError, match="count >= 0 and exposure > 0"):
        stats.garwood_interval(count, exposure)


# --------------------------------------------------------------------------- funnel limits


def test_funnel_limits_binomial_hand_worked():
    # target 0.1, n = 100: se = sqrt(0.09 / 100) = 0.03
    lower, upper = stats.funnel_limits(0.1, 100, "binomial", 0.95)
    assert lower == pytest.approx(0.1 - 1.959964 * 0.03, abs=1e-6)
    assert upper == pytest.approx(0.1 + 1.959964 * 0.03, abs=1e-6)
    lower, upper = stats.funnel_limits(0.1, 100, "binomial", 0.998)
    assert (lower, upper) == pytest.approx((0.1 - 3.090232 * 0.03, 0.1 + 3.090232 * 0.03), abs=1e-6)


def test_funnel_limits_poisson_and_overdispersion_hand_worked():
    # target 0.05 events per patient, n = 1000: se = sqrt(0.05 / 1000)
    se = np.sqrt(0.05 / 1000)
    assert stats.null_standard_error(0.05, 1000, "poisson") == pytest.approx(se)
    lower, upper = stats.funnel_limits(0.05, 1000, "poisson", 0.95, phi=4.0)
    assert upper - 0.05 == pytest.approx(1.959964 * 2 * se, rel=1e-6)
    lower, upper = stats.funnel_limits(0.1, 100, "binomial", 0.95, tau2=0.0001)
    assert upper - 0.1 == pytest.approx(1.959964 * np.sqrt(0.0009 + 0.0001), rel=1e-6)


def test_funnel_limits_clip_and_reject():
    lower, upper = stats.funnel_limits(0.01, 10, "binomial", 0.998)
    assert lower == 0.0
    lower, upper = stats.funnel_limits(0.99, 10, "binomial", 0.998)
    assert upper == 1.0
    with pytest.raises(ValueError, match="distribution 'normal'"):
        stats.funnel_limits(0.1, 10, "normal", 0.95)
    with pytest.raises(ValueError, match="phi > 0"):
        stats.funnel_limits(0.1, 10, "binomial", 0.95, phi=0.0)
    with pytest.raises(ValueError, match="n > 0"):
        stats.null_standard_error(0.1, 0, "binomial")


def test_funnel_limits_agree_with_wilson_for_large_n():
    # The normal-approximation funnel limit is where a unit's Wilson interval would just
    # touch the target; for large n both are the same to first order.
    lower, upper = stats.funnel_limits(0.2, 1e6, "binomial", 0.95)
    ci_low, ci_high = proportion_confint(200000, 1e6, alpha=0.05, method="wilson")
    assert upper - 0.2 == pytest.approx(ci_high - 0.2, rel=5e-3)
    assert 0.2 - lower == pytest.approx(0.2 - ci_low, rel=5e-3)


# --------------------------------------------------------------------------- overdispersion


def test_winsorised_phi_hand_worked():
    z = np.arange(-4.5, 5.0, 1.0)  # ten values; 10% and 90% quantiles are -3.6 and 3.6
    expected = (2 * 3.6**2 + 2 * (3.5**2 + 2.5**2 + 1.5**2 + 0.5**2)) / 10
    assert stats.winsorised_phi(z) == pytest.approx(expected)
    assert expected == pytest.approx(6.792)
    assert stats.winsorised_phi(z, fraction=0.0) == pytest.approx(np.mean(z**2))


def test_winsorised_phi_scales_and_matches_normal_moment():
    rng = np.random.default_rng(5)
    z = rng.normal(size=200_000)
    # E[winsorised Z^2] at 10%/90% for a standard normal, computed from scipy.stats.norm
    c = sps.norm.ppf(0.9)
    moment = (0.8 - 2 * c * sps.norm.pdf(c)) + 0.2 * c**2
    assert stats.winsorised_phi(z) == pytest.approx(moment, rel=0.01)
    assert stats.winsorised_phi(3 * z) == pytest.approx(9 * stats.winsorised_phi(z), rel=1e-12)


def test_additive_tau2_hand_worked():
    z = np.array([2.0, -2.0, 2.0, -2.0])
    se = np.ones(4)
    # (I phi - (I - 1)) / (sum w - sum w^2 / sum w) = (16 - 3) / (4 - 1)
    assert stats.additive_tau2(z, se) == pytest.approx(13 / 3)
    # unequal weights: w = 1/se^2 = [4, 1, 1, 0.25]
    se = np.array([0.5, 1.0, 1.0, 2.0])
    w = 1 / se**2
    expected = (16 - 3) / (w.sum() - (w**2).sum() / w.sum())
    assert stats.additive_tau2(z, se) == pytest.approx(expected)


def test_additive_tau2_truncates_and_rejects():
    assert stats.additive_tau2(np.array([0.1, -0.1, 0.2, 0.0]), np.ones(4)) == 0.0
    with pytest.raises(ValueError, match="at least two units"):
        stats.additive_tau2(np.array([1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match="standard errors > 0"):
        stats.additive_tau2(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="at least one z-score"):
        stats.winsorised_phi(np.array([np.nan]))
