"""Between-unit variance estimators (analysis.core.stats) against published values.

The BCG vaccine trials (Colditz et al. 1994; ``dat.bcg`` in metafor) are the classic
meta-analysis example: on the log risk ratio scale metafor reports tau^2 = 0.3088 (DL) and
0.3132 (REML) (Viechtbauer 2010, J Stat Softw 36(3), section 3).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy import stats as sps
from scipy.optimize import brentq
from statsmodels.stats.meta_analysis import combine_effects

from analysis.core import stats

# trial: vaccinated TB+, TB-, control TB+, TB-
BCG = np.array(
    [
        [4, 119, 11, 128],
        [6, 300, 29, 274],
        [3, 228, 11, 209],
        [62, 13536, 248, 12619],
        [33, 5036, 47, 5761],
        [180, 1361, 372, 1079],
        [8, 2537, 10, 619],
        [505, 87886, 499, 87892],
        [29, 7470, 45, 7232],
        [17, 1699, 65, 1600],
        [186, 50448, 141, 27197],
        [5, 2493, 3, 2338],
        [27, 16886, 29, 17825],
    ],
    dtype=float,
)


def _bcg():
    tpos, tneg, cpos, cneg = BCG.T
    y = np.log(tpos / (tpos + tneg)) - np.log(cpos / (cpos + cneg))
    v = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    return y, v


def test_dersimonian_laird_bcg_published():
    y, v = _bcg()
    assert stats.dersimonian_laird(y, v) == pytest.approx(0.3088, abs=5e-5)


def test_reml_bcg_published():
    y, v = _bcg()
    assert stats.reml_tau2(y, v) == pytest.approx(0.3132, abs=5e-5)


def test_dersimonian_laird_matches_statsmodels():
    y, v = _bcg()
    ref = combine_effects(y, v, method_re="chi2")
    assert stats.dersimonian_laird(y, v) == pytest.approx(ref.tau2, rel=1e-10)


def test_dersimonian_laird_hand_worked():
    # y = (0, 2), v = (1, 1): w = 1, mean 1, Q = 2, tau2 = (2 - 1) / (2 - 1) = 1
    assert stats.dersimonian_laird([0.0, 2.0], [1.0, 1.0]) == pytest.approx(1.0)
    # no excess dispersion: truncated at 0
    assert stats.dersimonian_laird([0.0, 0.5], [1.0, 1.0]) == 0.0


def test_reml_stationary_point_and_boundary():
    y, v = _bcg()
    tau2 = stats.reml_tau2(y, v)
    # REML score equation: sum w^2 ((y - mu)^2 - v - tau2) = tr-correction sum w^2 / sum w
    w = 1 / (v + tau2)
    mu = np.sum(w * y) / w.sum()
    score = np.sum(w**2 * ((y - mu) ** 2 - 1 / w)) + np.sum(w**2) / w.sum()
    assert abs(score) < 1e-6
    assert stats.reml_tau2([0.0, 0.1, -0.1], [1.0, 1.0, 1.0]) == 0.0


def _restricted_loglik(y, v, tau2):
    w = 1 / (v + tau2)
    mean = np.sum(w * y) / w.sum()
    return -0.5 * (np.sum(np.log(v + tau2)) + np.log(w.sum()) + np.sum(w * (y - mean) ** 2))


def _score_root(y, v, upper):
    """REML by scipy's brentq on the score equation, written out here independently."""

    def score(tau2):
        w = 1 / (v + tau2)
        mean = np.sum(w * y) / w.sum()
        return np.sum(w**2 * (y - mean) ** 2) - np.sum(w) + np.sum(w**2) / np.sum(w)

    return brentq(score, 0.0, upper, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


def test_reml_to_1e9_of_an_independent_root_and_no_higher_likelihood_nearby():
    rng = np.random.default_rng(7)
    cases = [(*_bcg(), 5.0)]
    for k, tau2 in ((40, 0.05), (3000, 2e-4)):  # a meta-analysis and an England of practices
        v = rng.uniform(1e-5, 4e-4, k) if k > 100 else rng.uniform(0.01, 0.2, k)
        cases.append((rng.normal(0.3, np.sqrt(v + tau2)), v, 1.0))
    ys, vs = [], []
    for y, v, upper in cases:
        mine = stats.reml_tau2(y, v)
        assert mine == pytest.approx(_score_root(y, v, upper), rel=1e-9)
        best = _restricted_loglik(y, v, mine)
        for moved in (mine * (1 - 1e-7), mine * (1 + 1e-7)):
            assert _restricted_loglik(y, v, moved) <= best
        ys.append(y[:13]), vs.append(v[:13])
    # the row-wise solver gives each row's own estimate
    rows = stats.reml_tau2_rows(np.array(ys), np.array(vs))
    expected = [stats.reml_tau2(y, v) for y, v in zip(ys, vs, strict=True)]
    np.testing.assert_allclose(rows, expected, rtol=1e-12)


def test_row_wise_estimators_equal_one_row_at_a_time():
    rng = np.random.default_rng(3)
    v = rng.uniform(0.5, 2.0, (4, 60))
    y = rng.normal(0, np.sqrt(v + 0.3))
    target = np.array([0.0, 0.1, -0.1, 0.2])
    groups = np.arange(60) % 7
    for method in stats.TAU2_METHODS:
        rows = stats.between_variance_rows(y, v, method=method, target=target, groups=groups)
        for i in range(4):
            one = stats.between_variance(y[i], v[i], method=method, target=target[i], groups=groups)
            assert rows[i] == pytest.approx(one, rel=1e-12, abs=1e-15)
    z = (y[0] - 0.0) / np.sqrt(v[0])
    assert stats.between_variance(y[0], v[0], method="winsorised", target=0.0) == pytest.approx(
        stats.additive_tau2(z, np.sqrt(v[0])), rel=1e-12
    )


def test_winsorised_null_moment_by_integration():
    q = sps.norm.ppf(0.9)
    inside, _ = integrate.quad(lambda x: x**2 * sps.norm.pdf(x), -q, q)
    assert stats.winsorised_null_moment(0.1) == pytest.approx(inside + 0.2 * q**2, rel=1e-10)
    assert stats.winsorised_null_moment(0.1) == pytest.approx(0.6787, abs=1e-4)
    assert stats.winsorised_null_moment(0.0) == 1.0


def test_rescaled_phi_is_unbiased_under_the_null():
    z = sps.norm.ppf((np.arange(200_000) + 0.5) / 200_000)  # exact normal quantiles
    assert stats.winsorised_phi(z) == pytest.approx(0.6787, abs=1e-3)
    assert stats.rescaled_winsorised_phi(z) == pytest.approx(1.0, abs=1e-3)


def test_between_variance_methods_recover_a_known_tau2():
    rng = np.random.default_rng(1)
    v = rng.uniform(0.5, 2.0, 20_000)
    y = rng.normal(0, np.sqrt(v + 0.7))
    for method in ("dl", "reml", "winsorised_rescaled"):
        assert stats.between_variance(y, v, method=method) == pytest.approx(0.7, abs=0.06)
    # the published Winsorised phi is biased low: about two thirds of the variance
    assert stats.between_variance(y, v, method="winsorised") < 0.5


def test_between_variance_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        stats.between_variance([1.0, 2.0], [1.0, 1.0], method="ml")
    with pytest.raises(ValueError, match="variances"):
        stats.dersimonian_laird([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="two units"):
        stats.reml_tau2([1.0], [1.0])


def test_dersimonian_laird_within_groups_hand_worked_and_unbiased():
    # groups (0, 2) and (10, 14), v = 1: Q_w = 2 + 8, k - G = 2, sum (S1 - S2 / S1) = 1 + 1
    got = stats.dersimonian_laird_within([0.0, 2.0, 10.0, 14.0], [1.0] * 4, ["a", "a", "b", "b"])
    assert got == pytest.approx((10 - 2) / 2)
    # one group: the ordinary estimator; a missing label is a group of its own
    y, v = _bcg()
    assert stats.dersimonian_laird_within(y, v, ["g"] * len(y)) == pytest.approx(
        stats.dersimonian_laird(y, v), rel=1e-12
    )
    labels = np.array([None] * 6 + ["x"] * 7, dtype=object)
    w, rows = 1 / v, []
    for part in (slice(0, 6), slice(6, 13)):
        yy, ww = y[part], w[part]
        mean = np.sum(ww * yy) / ww.sum()
        rows.append((np.sum(ww * (yy - mean) ** 2), ww.sum() - np.sum(ww**2) / ww.sum()))
    q, denominator = map(sum, zip(*rows, strict=True))
    assert stats.between_variance(y, v, method="dl_within", groups=labels) == pytest.approx(
        max(q - 11, 0) / denominator, rel=1e-12
    )
    # organisations far apart: within them the estimator finds the practices' variance
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(400), 25)
    v = rng.uniform(0.5, 2.0, groups.size)
    y = rng.normal(0, 3, 400)[groups] + rng.normal(0, np.sqrt(v + 0.7))
    assert stats.dersimonian_laird_within(y, v, groups) == pytest.approx(0.7, abs=0.06)
    assert stats.dersimonian_laird(y, v) > 5
    with pytest.raises(ValueError, match="needs the units' groups"):
        stats.between_variance(y, v, method="dl_within")
    # every unit its own group (organisation-level data): the spread between the units
    alone = np.arange(len(y[:50]))
    assert stats.dersimonian_laird_within(y[:50], v[:50], alone) == pytest.approx(
        stats.dersimonian_laird(y[:50], v[:50]), rel=1e-12
    )
    assert stats.between_variance(
        y[:50], np.zeros(50), method="dl_within", groups=alone
    ) == pytest.approx(np.var(y[:50], ddof=1), rel=1e-12)
    pairs = np.repeat(np.arange(25), 2)  # without sampling variance: the pooled within spread
    within = np.sum((y[:50] - np.repeat(y[:50].reshape(25, 2).mean(axis=1), 2)) ** 2) / 25
    assert stats.between_variance(
        y[:50], np.zeros(50), method="dl_within", groups=pairs
    ) == pytest.approx(within, rel=1e-12)


def _winsorised_by_hand(y, v, centre):
    """Spiegelhalter's additive tau^2 from its formula, with scipy's count-based Winsorising:
    with 11 units the 10% quantiles are the second smallest and second largest z-score, so
    it clips exactly where linear-interpolation quantiles do."""
    from scipy.stats import mstats

    w = 1 / v
    z = (y - centre) / np.sqrt(v)
    phi = float(np.mean(np.asarray(mstats.winsorize(z, limits=(0.1, 0.1))) ** 2))
    k = len(y)
    return phi, max(k * phi - (k - 1), 0.0) / (w.sum() - (w**2).sum() / w.sum())


def test_winsorised_tau2_centred_on_the_weighted_mean_or_a_target_from_its_formula():
    y = np.array([0.1, 2.9, -1.7, 0.4, 1.2, -0.6, 3.8, 0.0, -2.5, 1.9, 0.7])
    v = np.array([0.2, 0.5, 0.3, 0.1, 0.4, 0.25, 0.6, 0.15, 0.35, 0.3, 0.2])
    centre = np.average(y, weights=1 / v)
    phi, expected = _winsorised_by_hand(y, v, centre)
    assert phi > 2 and expected > 0  # overdispersed: the estimate is not clipped at 0
    assert stats.between_variance(y, v, method="winsorised") == pytest.approx(expected, rel=1e-12)
    rescaled = stats.between_variance(y, v, method="winsorised_rescaled")
    k, w = len(y), 1 / v
    null = integrate.quad(lambda x: x**2 * sps.norm.pdf(x), -sps.norm.ppf(0.9), sps.norm.ppf(0.9))
    moment = null[0] + 0.2 * sps.norm.ppf(0.9) ** 2
    assert rescaled == pytest.approx(
        (k * phi / moment - (k - 1)) / (w.sum() - (w**2).sum() / w.sum()), rel=1e-9
    )
    _, at_target = _winsorised_by_hand(y, v, 1.5)
    assert stats.between_variance(y, v, method="winsorised", target=1.5) == pytest.approx(
        at_target, rel=1e-12
    )
    assert at_target != pytest.approx(expected, rel=1e-3)  # the centre matters here
