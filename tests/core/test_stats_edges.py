"""Edges and defaults of the shared statistics that the main tests never reach.

Every expected value comes from an independent calculation (scipy, statsmodels' meta-analysis,
exact fractions) or is worked by hand in a comment; nothing is copied from the module.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.proportion import proportion_confint

from analysis.core import stats

# --------------------------------------------------------------------------- confidence levels


@pytest.mark.parametrize("confidence", [0.0, 1.0, -0.5, 1.5])
def test_confidence_must_lie_strictly_between_zero_and_one(confidence):
    with pytest.raises(ValueError, match=rf"^confidence must be in \(0, 1\), got {confidence}$"):
        stats.z_value(confidence)
    with pytest.raises(ValueError, match="confidence"):
        stats.wilson_interval(3, 10, confidence)
    with pytest.raises(ValueError, match="confidence"):
        stats.garwood_interval(3, 10.0, confidence)
    with pytest.raises(ValueError, match="confidence"):
        stats.funnel_limits(0.1, 100, "binomial", confidence)


def test_z_value_is_the_two_sided_normal_quantile():
    for confidence in (1e-9, 0.5, 0.95, 0.999999):
        assert stats.z_value(confidence) == pytest.approx(sps.norm.isf((1 - confidence) / 2))
    assert isinstance(stats.z_value(0.95), float)


# --------------------------------------------------------------------------- Wilson


def test_wilson_bounds_are_exactly_zero_and_one_at_the_extremes():
    lower, upper = stats.wilson_interval([0, 7, 7], [7, 7, 70])
    assert lower[0] == 0.0 and upper[1] == 1.0
    assert 0.0 < lower[1] < 1.0 and 0.0 < upper[0] < 1.0
    assert 0.0 < lower[2] < 0.1 < upper[2] < 1.0


@pytest.mark.parametrize(("count", "n"), [(0, 0), (1, 0), (-1, 5), (0, -3), (6, 5)])
def test_wilson_rejects_zero_over_zero_and_impossible_counts(count, n):
    with pytest.raises(ValueError, match=r"^wilson_interval needs 0 <= count <= n and n > 0$"):
        stats.wilson_interval(count, n)


def test_wilson_default_confidence_is_95_percent():
    assert np.allclose(stats.wilson_interval(5, 20), stats.wilson_interval(5, 20, 0.95))
    assert not np.allclose(stats.wilson_interval(5, 20), stats.wilson_interval(5, 20, 0.9))


# --------------------------------------------------------------------------- Benjamini-Hochberg


def test_benjamini_hochberg_hand_worked_with_cap_and_empty_input():
    # m = 4, sorted p: 0.01, 0.02, 0.03, 0.5 -> p*m/rank: 0.04, 0.04, 0.04, 0.5
    np.testing.assert_allclose(
        stats.benjamini_hochberg([0.03, 0.5, 0.01, 0.02]), [0.04, 0.5, 0.04, 0.04]
    )
    # p*m/rank above 1 is capped at 1: m = 2, p = (0.9, 0.8) -> 1.6 -> min(0.9, 1.6) = 0.9
    np.testing.assert_allclose(stats.benjamini_hochberg([0.9, 0.8]), [0.9, 0.9])
    np.testing.assert_allclose(stats.benjamini_hochberg([0.7, 1.0, 1.0]), [1.0, 1.0, 1.0])
    assert stats.benjamini_hochberg([]).shape == (0,)
    assert np.isnan(stats.benjamini_hochberg([np.nan, np.nan])).all()


def test_benjamini_hochberg_ties_get_one_value():
    adjusted = stats.benjamini_hochberg([0.04, 0.01, 0.04, 0.04])
    # sorted 0.01, 0.04, 0.04, 0.04 -> 0.04, 0.08, 0.0533, 0.04 -> running min from the top
    np.testing.assert_allclose(adjusted, [0.04, 0.04, 0.04, 0.04])


# --------------------------------------------------------------------------- Garwood


def test_garwood_default_exposure_is_one_and_confidence_95():
    count = np.array([0, 3, 12])
    lower, upper = stats.garwood_interval(count)
    expected_upper = sps.chi2.ppf(0.975, 2 * count + 2) / 2
    expected_lower = np.where(count > 0, sps.chi2.ppf(0.025, 2 * count) / 2, 0.0)
    np.testing.assert_allclose(upper, expected_upper, rtol=1e-10)
    np.testing.assert_allclose(lower, expected_lower, rtol=1e-10)


def test_garwood_broadcasts_a_scalar_exposure_and_rejects_bad_confidence():
    lower, upper = stats.garwood_interval([2, 4], 2.0, 0.9)
    assert lower.shape == upper.shape == (2,)
    np.testing.assert_allclose(upper, sps.chi2.ppf(0.95, [6, 10]) / 2 / 2.0, rtol=1e-10)
    lower, upper = stats.garwood_interval(0, [1.0, 10.0])
    assert lower.tolist() == [0.0, 0.0]
    np.testing.assert_allclose(upper, -np.log(0.025) / np.array([1.0, 10.0]), rtol=1e-10)


# --------------------------------------------------------------------------- funnel limits


def test_null_standard_error_at_one_patient_and_the_distribution_named():
    assert stats.null_standard_error(0.5, 1, "binomial") == pytest.approx(0.5)
    assert stats.null_standard_error(4.0, 1, "poisson") == pytest.approx(2.0)
    # a continuous value has no known sampling variance: all its spread is between units
    np.testing.assert_array_equal(stats.null_standard_error([0.3, 7.0], 10, "continuous"), 0.0)
    message = r"^distribution 'normal' is not one of \('binomial', 'poisson', 'continuous'\)$"
    with pytest.raises(ValueError, match=message):
        stats.null_standard_error(0.1, 10, "normal")
    with pytest.raises(ValueError, match=r"^null_standard_error needs denominators n > 0$"):
        stats.null_standard_error(0.1, [10, -1], "poisson")


def test_funnel_limit_defaults_are_the_plain_limits():
    plain = stats.funnel_limits(0.3, 50, "binomial", 0.95)
    explicit = stats.funnel_limits(0.3, 50, "binomial", 0.95, phi=1.0, tau2=0.0)
    np.testing.assert_array_equal(plain, explicit)
    # se = sqrt(0.21 / 50): limits are 0.3 -/+ z se
    half = sps.norm.ppf(0.975) * np.sqrt(0.21 / 50)
    np.testing.assert_allclose(plain, (0.3 - half, 0.3 + half))


def test_funnel_limits_accept_tau2_zero_and_reject_negative_overdispersion():
    stats.funnel_limits(0.1, 10, "poisson", 0.95, phi=1e-9, tau2=0.0)
    with pytest.raises(ValueError, match=r"^funnel_limits needs phi > 0 and tau2 >= 0"):
        stats.funnel_limits(0.1, 10, "poisson", 0.95, tau2=-1e-9)
    with pytest.raises(ValueError, match="got -1.0, 0.0"):
        stats.funnel_limits(0.1, 10, "poisson", 0.95, phi=-1.0)


def test_poisson_limits_are_not_capped_at_one_but_stop_at_zero():
    # target 0.9 events per patient, n = 1: se = sqrt(0.9); 0.9 + 1.96 * 0.949 > 1
    lower, upper = stats.funnel_limits(0.9, 1, "poisson", 0.95)
    assert upper == pytest.approx(0.9 + sps.norm.ppf(0.975) * np.sqrt(0.9))
    assert upper > 1.0 and lower == 0.0
    lower, upper = stats.funnel_limits(0.9, 1, "binomial", 0.95)
    assert upper == 1.0


# --------------------------------------------------------------------------- overdispersion


@pytest.mark.parametrize("fraction", [0.5, 0.6, -0.01])
def test_winsorising_fraction_outside_zero_to_a_half_is_rejected(fraction):
    with pytest.raises(ValueError, match=rf"^fraction must be in \[0, 0.5\), got {fraction}$"):
        stats.winsorised_phi(np.arange(10.0), fraction)


def test_winsorising_just_below_a_half_pulls_everything_to_the_median():
    z = np.array([-3.0, -1.0, 0.5, 2.0, 10.0])
    # quantiles at 0.49999 and 0.50001 both approach the median 0.5
    assert stats.winsorised_phi(z, 0.4999999) == pytest.approx(0.25, rel=1e-4)


def test_winsorised_phi_drops_missing_z_scores_and_rejects_an_empty_set():
    z = np.arange(-4.5, 5.0, 1.0)
    with_nan = np.concatenate([z, [np.nan, np.nan]])
    assert stats.winsorised_phi(with_nan) == pytest.approx(stats.winsorised_phi(z))
    with pytest.raises(ValueError, match=r"^winsorised_phi needs at least one z-score$"):
        stats.winsorised_phi([])


def _dersimonian_laird(effects, se):
    """tau^2 from statsmodels' random-effects meta-analysis (DerSimonian-Laird)."""
    return combine_effects(np.asarray(effects), np.asarray(se) ** 2, method_re="dl").tau2


def test_additive_tau2_is_dersimonian_laird_with_unequal_weights():
    # With z the deviations from the inverse-variance weighted mean over se and no
    # Winsorising, Spiegelhalter's tau^2 is DerSimonian-Laird's. These standard errors give
    # different weight sets for 1/se^2 and se^2, so the formula is pinned.
    effects = np.array([0.1, 0.5, -0.2, 0.9, 0.3, 1.4])
    se = np.array([0.2, 0.3, 0.5, 0.4, 0.25, 0.6])
    w = 1 / se**2
    z = (effects - (w * effects).sum() / w.sum()) / se
    expected = _dersimonian_laird(effects, se)
    assert expected > 0
    assert stats.additive_tau2(z, se, fraction=0.0) == pytest.approx(expected, rel=1e-10)


def test_additive_tau2_winsorises_at_ten_percent_by_default():
    z = np.array([0.2, -0.4, 0.9, -1.1, 1.6, -0.3, 0.5, 8.0, -0.8, 0.1])
    se = np.linspace(0.5, 1.4, 10)
    w = 1 / se**2
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    expected = (10 * phi - 9) / (w.sum() - (w**2).sum() / w.sum())
    assert stats.additive_tau2(z, se) == pytest.approx(expected, rel=1e-12)
    assert stats.additive_tau2(z, se, fraction=0.0) > stats.additive_tau2(z, se)


def test_additive_tau2_drops_incomplete_pairs_and_takes_two_units():
    z, se = np.array([2.0, -2.0, np.nan, 3.0]), np.array([1.0, 0.5, 1.0, np.nan])
    # the pairs (nan, 1.0) and (3.0, nan) are dropped: two units with w = [1, 4];
    # phi from z = (2, -2) Winsorised at their own 10% and 90% quantiles (-1.2, 1.2)
    low, high = np.quantile([2.0, -2.0], [0.1, 0.9])
    phi = np.mean(np.clip([2.0, -2.0], low, high) ** 2)
    expected = (2 * phi - 1) / (5 - 17 / 5)
    assert stats.additive_tau2(z, se) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"^additive_tau2 needs standard errors > 0$"):
        stats.additive_tau2([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match=r"^additive_tau2 needs at least two units$"):
        stats.additive_tau2([1.0, np.nan], [1.0, 1.0])


# --------------------------------------------------------------------------- printed percentages


def test_round_half_up_defaults_to_whole_numbers():
    assert stats.round_half_up(72.5) == 73
    assert stats.round_half_up(72.49) == 72
    assert stats.round_half_up(0.125, 2) == pytest.approx(0.13)
    assert stats.round_half_up(Fraction(5, 2)) == 3


def test_rounding_interval_at_zero_and_one_hundred_percent():
    # 0% of 10: only k = 0 prints as 0; 100% of 10: only k = 10 prints as 100.
    assert stats.rounding_interval(0, 10) == (0, 0)
    assert stats.rounding_interval(100, 10) == (10, 10)
    # 0% of 1000 allows k = 0..4 (0.4% rounds to 0), 100% allows 995..1000 (99.5% rounds up)
    assert stats.rounding_interval(0, 1000) == (0, 4)
    assert stats.rounding_interval(100, 1000) == (995, 1000)
    assert stats.rounding_interval(100, 1) == (1, 1)


def test_rounding_interval_rejections_name_what_was_expected():
    with pytest.raises(ValueError, match=r"^percent must be within \[0, 100\], got 100.5$"):
        stats.rounding_interval(100.5, 10)
    with pytest.raises(ValueError, match=r"^percent must be within \[0, 100\], got -1$"):
        stats.rounding_interval(-1, 10)
    with pytest.raises(ValueError, match=r"^n must be a whole number >= 1, got 0$"):
        stats.rounding_interval(50, 0)
    with pytest.raises(ValueError, match=r"^n must be a whole number >= 1, got 2.5$"):
        stats.rounding_interval(50, 2.5)
    # 1 of 3 is 33.3%, 2 of 3 is 66.7%: nothing prints as 50%
    with pytest.raises(ValueError, match=r"^no count out of n=3 rounds to 50% at 0 decimals$"):
        stats.rounding_interval(50, 3)
    assert stats.rounding_interval(50, 2) == (1, 1)
    assert stats.rounding_interval(33.3, 3, decimals=1) == (1, 1)


def test_statistics_raise_no_warnings_on_ordinary_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats.wilson_interval([0, 5], [5, 5])
        stats.garwood_interval([0, 5], 2.0)
        stats.benjamini_hochberg([0.01, np.nan])


# --------------------------------------------------------------------------- input types


def test_wilson_with_integer_counts_beyond_three_billion():
    # n**2 overflows 64-bit integers above about 3.04e9 (at n = 2**32 it wraps to 0);
    # integer denominators must still give the statsmodels interval.
    count, n = np.int64(2**31), np.int64(2**32)
    lower, upper = stats.wilson_interval(count, n)
    ref_lower, ref_upper = proportion_confint(2.0**31, 2.0**32, alpha=0.05, method="wilson")
    assert lower == pytest.approx(ref_lower, abs=1e-12)
    assert upper == pytest.approx(ref_upper, abs=1e-12)


def test_none_is_a_missing_value_like_nan():
    np.testing.assert_allclose(
        stats.benjamini_hochberg([0.01, None, 0.04]), [0.02, np.nan, 0.04], equal_nan=True
    )
    assert stats.winsorised_phi([1.0, None, -2.0, 3.0]) == stats.winsorised_phi([1.0, -2.0, 3.0])
    assert stats.additive_tau2([2.0, -2.0, None, 1.0], [1.0, 0.5, 1.0, None]) == (
        stats.additive_tau2([2.0, -2.0], [1.0, 0.5])
    )


def test_a_missing_count_is_rejected_with_the_rule():
    message = r"^garwood_interval needs count >= 0 and exposure > 0$"
    with pytest.raises(ValueError, match=message):
        stats.garwood_interval([3, None], 1.0)
    with pytest.raises(ValueError, match=message):
        stats.garwood_interval([3, 4], [1.0, 0.0])


def test_wilson_upper_bound_stays_within_one_despite_rounding():
    # At n ~ 7e15 the formula's centre + half rounds to 1.0000000000000002 for count = n - 1;
    # the documented bounds are within [0, 1].
    n = 7073332279644439.0
    lower, upper = stats.wilson_interval(n - 1, n)
    assert upper <= 1.0 and upper == pytest.approx(1.0)
    assert 0.0 < lower < 1.0


def test_a_continuous_value_has_no_sampling_variance_and_tau2_is_the_sample_variance():
    # A published score without its counts: every method's tau2 is the spread of the values.
    y = np.array([0.61, 0.72, 0.55, 0.80, 0.69, 0.74])
    assert stats.null_standard_error(0.7, [1.0, 5.0], "continuous").tolist() == [0.0, 0.0]
    for method in stats.TAU2_METHODS:
        one_group = np.zeros(len(y), dtype=int)  # dl_within's spread around one mean
        got = stats.between_variance(y, np.zeros_like(y), method=method, groups=one_group)
        assert got == pytest.approx(((y - y.mean()) ** 2).sum() / (len(y) - 1), rel=1e-12)
    lower, upper = stats.funnel_limits(0.7, [1.0], "continuous", 0.95, tau2=0.01)
    assert upper[0] - 0.7 == pytest.approx(0.7 - lower[0]) == pytest.approx(1.959964 * 0.1)
