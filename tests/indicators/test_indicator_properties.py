"""Property-based tests (hypothesis) of the quality-indicator statistics.

For any valid input: funnel curves widen as n shrinks and with confidence; organisation
intervals contain their rates; the exact Spearman and Kruskal-Wallis statistics equal
scipy's; classifications mirror when the direction of "better" flips.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from references import CONFIDENCE, DISTRIBUTION, SETTINGS, TINY, funnel_case
from scipy import stats as sps

from analysis.indicators.methods import associations, comparison


@SETTINGS
@given(funnel_case(), st.floats(1.0, 3.0), st.floats(0.0, 0.01))
def test_funnel_curves_widen_as_n_shrinks(case, phi, tau2):
    distribution, target, n_small, n_large = case
    curves = comparison.funnel_curves(
        target, distribution, n_small, n_large, phi=phi, tau2=tau2, points=25
    )
    for _, level in curves.groupby("level"):
        level = level.sort_values("denominator")
        assert np.all(np.diff(level["lower"]) >= -TINY)
        assert np.all(np.diff(level["upper"]) <= TINY)
    wide = curves.pivot(index="denominator", columns="level", values=["lower", "upper"])
    assert np.all(wide[("lower", "99.8%")] <= wide[("lower", "95%")] + TINY)
    assert np.all(wide[("upper", "99.8%")] >= wide[("upper", "95%")] - TINY)


@st.composite
def small_panel(draw):
    """One indicator-year of 4 to 30 practices, some in ORG01 or ORG02."""
    distribution = draw(DISTRIBUTION)
    size = draw(st.integers(4, 30))
    denominators = draw(st.lists(st.integers(5, 5000), min_size=size, max_size=size))
    shares = draw(st.lists(st.floats(0.0, 1.0), min_size=size, max_size=size))
    numerators = [round(s * d) for s, d in zip(shares, denominators, strict=True)]
    orgs = draw(st.lists(st.sampled_from(["ORG01", "ORG02", None]), min_size=size, max_size=size))
    assume({"ORG01", "ORG02"} <= set(orgs))
    frame = pd.DataFrame(
        {
            "practice_code": [f"P{i:03d}" for i in range(size)],
            "year": 2012,
            "indicator_id": "IND01",
            "numerator": np.array(numerators, dtype=float),
            "denominator": np.array(denominators, dtype=float),
            "organisation_id": orgs,
            "domain": "qof",
            "distribution": distribution,
            "higher_is_better": draw(st.booleans()),
        }
    )
    return frame.assign(rate=frame["numerator"] / frame["denominator"])


@settings(SETTINGS, max_examples=25)
@given(small_panel(), st.sampled_from(["none", "multiplicative", "additive"]), CONFIDENCE)
def test_compare_to_national_intervals_and_limits(data, overdispersion, confidence):
    out = comparison.compare_to_national(
        data, ["ORG01", "ORG02"], alpha=1 - confidence, overdispersion=overdispersion
    )
    assert len(out) == 2
    assert np.all(out["ci_lower"] <= out["rate"] + TINY)
    assert np.all(out["rate"] <= out["ci_upper"] + TINY)
    assert np.all(out["ci_lower"] >= 0)
    if data["distribution"].iloc[0] == "binomial":
        assert np.all(out["ci_upper"] <= 1.0)
        assert np.all(out["upper998"] <= 1.0)
    national = out["national_rate"]
    assert np.all(out["lower998"] <= out["lower95"] + TINY)
    assert np.all(out["lower95"] <= national + TINY)
    assert np.all(national <= out["upper95"] + TINY)
    assert np.all(out["upper95"] <= out["upper998"] + TINY)
    if overdispersion == "none":
        # Funnel limits widen as the organisation's pooled denominator shrinks.
        small, large = out.sort_values("denominator").itertuples(index=False)
        if small.denominator < large.denominator:
            assert small.lower95 <= large.lower95 + TINY
            assert small.upper95 >= large.upper95 - TINY


@SETTINGS
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=6),
    st.data(),
)
def test_exact_spearman_matches_scipy(x, data):
    y = data.draw(st.permutations(list(range(len(x)))))
    assume(len(set(x)) > 1)
    rho, p, null = associations.exact_spearman(np.array(x), np.array(y, dtype=float))
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic, abs=1e-9)
    assert 0 < p <= 1 and -1 - TINY <= rho <= 1 + TINY
    assert len(null) == int(np.prod(range(1, len(x) + 1)))


@SETTINGS
@given(st.lists(st.integers(0, 20), min_size=4, max_size=7), st.data())
def test_exact_kruskal_matches_scipy(values, data):
    labels = data.draw(st.lists(st.sampled_from("abc"), min_size=len(values), max_size=len(values)))
    assume(len(set(labels)) > 1 and len(set(values)) > 1)
    h, p = associations.exact_kruskal(np.array(values, dtype=float), labels)
    groups = [np.array(values)[np.array(labels) == g] for g in sorted(set(labels))]
    assert h == pytest.approx(sps.kruskal(*groups).statistic, rel=1e-9, abs=1e-12)
    assert 0 < p <= 1


@SETTINGS
@given(
    st.lists(st.tuples(st.floats(-5, 5), st.floats(0, 1), st.booleans()), min_size=1, max_size=20)
)
def test_classify_is_symmetric_in_direction(rows):
    estimate, p, higher = (np.array(col) for col in zip(*rows, strict=True))
    ahead = comparison.classify(estimate, p, higher, 0.05)
    mirrored = comparison.classify(-estimate, p, ~higher, 0.05)
    assert list(ahead) == list(mirrored)
    assert set(ahead) <= {"better", "worse", "not different"}
