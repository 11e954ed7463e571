"""Shared statistics against statsmodels and hand-worked values, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analysis.core.stats import benjamini_hochberg, wilson_interval, z_value


def test_wilson_matches_statsmodels():
    counts, n = np.array([0, 1, 37, 50, 98, 100]), np.array([10, 10, 100, 100, 100, 100])
    for confidence in (0.9, 0.95, 0.99):
        lo, hi = wilson_interval(counts, n, confidence)
        ref_lo, ref_hi = proportion_confint(counts, n, alpha=1 - confidence, method="wilson")
        np.testing.assert_allclose(lo, ref_lo, atol=1e-12)
        np.testing.assert_allclose(hi, ref_hi, atol=1e-12)


def test_wilson_hand_worked():
    # 5 of 20, z = 1.959964: centre (0.25 + z^2/40) / (1 + z^2/20) = 0.2941...
    lo, hi = wilson_interval(5, 20)
    assert float(lo) == pytest.approx(0.11186, abs=1e-5)
    assert float(hi) == pytest.approx(0.46871, abs=1e-5)


def test_wilson_rejects_impossible_counts():
    with pytest.raises(ValueError, match="0 <= count <= n"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match="confidence"):
        z_value(1.5)


@given(st.integers(1, 5000), st.data())
def test_wilson_properties(n, data):
    count = data.draw(st.integers(0, n))
    lo, hi = wilson_interval(count, n)
    assert 0 <= lo <= count / n <= hi <= 1
    lo2, hi2 = wilson_interval(count * 4, n * 4)
    assert hi2 - lo2 < hi - lo


def test_benjamini_hochberg_matches_statsmodels():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=40) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])
    with_nan = benjamini_hochberg([0.01, np.nan, 0.04])
    assert np.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2]], [0.02, 0.04])
