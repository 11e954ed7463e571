"""Property-based tests (hypothesis) of the statistical functions.

For any valid input: an interval contains its estimate, stays within [0, 1] for a
proportion (>= 0 for a rate), narrows as n grows; funnel limits widen as n shrinks and with
overdispersion or confidence. Where an independent calculation exists (scipy, statsmodels,
Python's decimal module) the property is checked against it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from references import CONFIDENCE, SETTINGS, TINY, funnel_case
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from analysis.core import stats


@st.composite
def count_and_n(draw, max_n: int = 10_000):
    n = draw(st.integers(1, max_n))
    return draw(st.integers(0, n)), n


# --------------------------------------------------------------------------- Wilson


@SETTINGS
@given(count_and_n(), CONFIDENCE, st.integers(2, 50))
def test_wilson_contains_estimate_within_unit_interval_and_narrows(kn, confidence, factor):
    k, n = kn
    lo, hi = stats.wilson_interval(k, n, confidence)
    assert 0.0 <= lo <= k / n <= hi <= 1.0
    lo2, hi2 = stats.wilson_interval(k * factor, n * factor, confidence)
    assert hi2 - lo2 < hi - lo


@SETTINGS
@given(count_and_n(), st.tuples(CONFIDENCE, CONFIDENCE).filter(lambda c: c[0] < c[1]))
def test_wilson_widens_with_confidence(kn, levels):
    k, n = kn
    narrow, wide = (stats.wilson_interval(k, n, c) for c in levels)
    assert wide[0] <= narrow[0] + TINY and narrow[1] <= wide[1] + TINY


# --------------------------------------------------------------------------- Garwood


@SETTINGS
@given(
    st.integers(0, 5_000),
    st.floats(0.5, 1e5, allow_nan=False),
    CONFIDENCE,
    st.integers(2, 50),
)
def test_garwood_contains_rate_and_matches_chi_square(count, exposure, confidence, factor):
    lo, hi = stats.garwood_interval(count, exposure, confidence)
    rate = count / exposure
    assert 0.0 <= lo <= rate <= hi
    alpha = 1 - confidence
    # Independent: the exact Poisson limits are chi-square quantiles (Garwood 1936).
    ref_lo = sps.chi2.ppf(alpha / 2, 2 * count) / 2 / exposure if count else 0.0
    ref_hi = sps.chi2.ppf(1 - alpha / 2, 2 * count + 2) / 2 / exposure
    assert float(lo) == pytest.approx(ref_lo, rel=1e-9, abs=1e-12)
    assert float(hi) == pytest.approx(ref_hi, rel=1e-9)
    lo2, hi2 = stats.garwood_interval(count * factor, exposure * factor, confidence)
    assert hi2 - lo2 < hi - lo


# --------------------------------------------------------------------------- funnel limits


@SETTINGS
@given(funnel_case(), CONFIDENCE, st.floats(0.2, 5.0), st.floats(0.0, 0.01))
def test_funnel_limits_widen_as_n_shrinks(case, confidence, phi, tau2):
    distribution, target, n_small, n_large = case
    lower, upper = stats.funnel_limits(
        target, np.array([n_small, n_large]), distribution, confidence, phi=phi, tau2=tau2
    )
    assert lower[0] <= lower[1] + TINY and upper[0] >= upper[1] - TINY
    assert np.all(lower <= target + TINY) and np.all(upper >= target - TINY)
    assert np.all(lower >= 0.0)
    if distribution == "binomial":
        assert np.all(upper <= 1.0)


@SETTINGS
@given(funnel_case(), st.floats(1.0, 5.0), st.floats(0.0, 0.01))
def test_funnel_limits_widen_with_overdispersion_and_confidence(case, phi, tau2):
    distribution, target, n, _ = case
    plain = stats.funnel_limits(target, n, distribution, 0.95)
    wider = stats.funnel_limits(target, n, distribution, 0.95, phi=phi, tau2=tau2)
    outer = stats.funnel_limits(target, n, distribution, 0.998, phi=phi, tau2=tau2)
    for inner, outside in ((plain, wider), (wider, outer)):
        assert outside[0] <= inner[0] + TINY and inner[1] <= outside[1] + TINY


@SETTINGS
@given(funnel_case())
def test_null_standard_error_falls_with_n(case):
    distribution, target, n_small, n_large = case
    se = stats.null_standard_error(target, np.array([n_small, n_large]), distribution)
    assert se[0] > se[1] > 0


# --------------------------------------------------------------------------- overdispersion

Z_SCORES = st.lists(st.floats(-20, 20, allow_nan=False), min_size=2, max_size=60)


@SETTINGS
@given(Z_SCORES, st.floats(0.0, 0.45), st.floats(0.1, 10.0))
def test_winsorised_phi_is_a_scaled_mean_square(z, fraction, scale):
    z = np.array(z)
    phi = stats.winsorised_phi(z, fraction)
    assert phi >= 0
    assert stats.winsorised_phi(z, 0.0) == pytest.approx(np.mean(z**2), rel=1e-9, abs=1e-12)
    assert stats.winsorised_phi(z * scale, fraction) == pytest.approx(
        phi * scale**2, rel=1e-9, abs=1e-12
    )


@SETTINGS
@given(Z_SCORES, st.data())
def test_additive_tau2_is_never_negative(z, data):
    se = data.draw(st.lists(st.floats(0.001, 1.0), min_size=len(z), max_size=len(z)))
    assert stats.additive_tau2(np.array(z), np.array(se)) >= 0


# --------------------------------------------------------------------------- multiple testing


@SETTINGS
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=80))
def test_benjamini_hochberg_bounds_order_and_statsmodels(p):
    p = np.array(p)
    adjusted = stats.benjamini_hochberg(p)
    assert np.all(adjusted >= p - TINY) and np.all(adjusted <= 1.0)
    order = np.argsort(p, kind="mergesort")
    assert np.all(np.diff(adjusted[order]) >= -TINY)
    np.testing.assert_allclose(adjusted, multipletests(p, method="fdr_bh")[1], atol=1e-12)


# --------------------------------------------------------------------------- rounding


@SETTINGS
@given(st.integers(1, 20_000), st.data(), st.integers(0, 2))
def test_rounding_interval_holds_exactly_the_counts_that_print(n, data, decimals):
    k = data.draw(st.integers(0, n))
    printed = stats.round_half_up(100 * k / n, decimals)
    k_min, k_max = stats.rounding_interval(printed, n, decimals)
    assert k_min <= k <= k_max

    def prints(count: int) -> bool:
        exact = Decimal(100 * count) / Decimal(n)
        step = Decimal(1).scaleb(-decimals)
        return exact.quantize(step, rounding=ROUND_HALF_UP) == Decimal(str(printed))

    assert prints(k_min) and prints(k_max)
    assert k_min == 0 or not prints(k_min - 1)
    assert k_max == n or not prints(k_max + 1)


@SETTINGS
@given(st.decimals(0, 1000, places=4, allow_nan=False, allow_infinity=False), st.integers(0, 3))
def test_round_half_up_matches_decimal(value, decimals):
    expected = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    assert Decimal(str(stats.round_half_up(float(value), decimals))) == expected
