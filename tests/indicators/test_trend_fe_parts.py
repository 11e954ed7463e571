"""The trend GLMs' parts on small hand-made cases: which practices are informative, one
Newton step against a dense solve, the group fit's fallbacks, Welch's degrees of freedom and
the cross-covariance of two fits (fast: these run once per mutant of the module)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from references import statsmodels_cluster_glm

from analysis.indicators.methods import trend_fe


def _panel(practices: dict[str, list[tuple[int, float, float]]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(code, year, y, n) for code, rows in practices.items() for year, y, n in rows],
        columns=["practice_code", "year", "numerator", "denominator"],
    )


def _drawn(distribution: str, practices: int = 6, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = {}
    for p in range(practices):
        years = range(2015, 2019 if p % 2 else 2020)
        eta = [-1.0 + 0.2 * p + (0.05 - 0.02 * p) * (year - 2015) for year in years]
        n = rng.integers(100, 400, len(eta)).astype(float)
        mean = n / (1 + np.exp(-np.array(eta))) if distribution == "binomial" else n * np.exp(eta)
        y = (
            rng.binomial(n.astype(int), mean / n)
            if distribution == "binomial"
            else rng.poisson(mean)
        )
        rows[f"Q{p}"] = list(zip(years, y.astype(float), n, strict=True))
    return _panel(rows)


# --------------------------------------------------------------------------- informative


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [("binomial", [0, 0, 0, 1, 1]), ("poisson", [0, 1, 0, 1, 1])],
)
def test_informative_practices(distribution, expected):
    # g0 no events; g1 every trial an event (uninformative for a proportion only);
    # g2 one year; g3 one event; g4 19 of 20.
    groups = np.array([0, 0, 1, 1, 2, 3, 3, 4, 4])
    y = np.array([0, 0, 10, 10, 3, 1, 0, 9, 10], dtype=float)
    n = np.array([10, 10, 10, 10, 10, 10, 10, 10, 10], dtype=float)
    got = trend_fe.informative(y, n, groups, distribution)
    assert got.tolist() == [bool(expected[g]) for g in groups]


# --------------------------------------------------------------------------- one Newton step


def _dense_newton(frame, design, distribution, steps):
    """Newton-Raphson on the full design (practice dummies and ``design``) from the practices'
    own log odds (log rates) and zero slopes, then the cluster-robust influence of the slope
    rows of the inverse information, with statsmodels' small-sample factor."""
    groups = pd.factorize(frame["practice_code"])[0]
    y = frame["numerator"].to_numpy(float)
    n = frame["denominator"].to_numpy(float)
    full = np.column_stack([np.eye(groups.max() + 1)[groups], design])
    rate = np.bincount(groups, y) / np.bincount(groups, n)
    start = np.log(rate / (1 - rate)) if distribution == "binomial" else np.log(rate)
    theta = np.concatenate([start, np.zeros(design.shape[1])])

    def moments(theta):
        eta = full @ theta
        if distribution == "binomial":
            p = 1 / (1 + np.exp(-eta))
            return n * p, n * p * (1 - p)
        mu = n * np.exp(eta)
        return mu, mu

    for _ in range(steps):
        mu, w = moments(theta)
        theta = theta + np.linalg.solve(full.T @ (full * w[:, None]), full.T @ (y - mu))
    mu, w = moments(theta)
    inverse = np.linalg.inv(full.T @ (full * w[:, None]))
    k, g = design.shape[1], groups.max() + 1
    scores = np.array([full[groups == j].T @ (y - mu)[groups == j] for j in range(g)])
    factor = g / (g - 1) * (len(y) - 1) / (len(y) - k - g)
    influence = np.sqrt(factor) * scores @ inverse[-k:, :].T
    return theta[-k:], influence, theta[:g]


@pytest.mark.parametrize("distribution", ["binomial", "poisson"])
@pytest.mark.parametrize("steps", [1, 2])
def test_fe_fit_newton_steps_and_influence_match_a_dense_solve(distribution, steps):
    frame = _drawn(distribution)
    time = (frame["year"] - 2015).to_numpy(float)
    design = np.column_stack([time, time**2 / 10])
    groups = pd.factorize(frame["practice_code"])[0]
    y, n = frame["numerator"].to_numpy(float), frame["denominator"].to_numpy(float)
    fit = trend_fe.fe_fit(y, n, design, groups, distribution, max_iter=steps)
    beta, influence, alpha = _dense_newton(frame, design, distribution, steps)
    np.testing.assert_allclose(fit.beta, beta, rtol=1e-9)
    np.testing.assert_allclose(fit.intercepts, alpha, rtol=1e-9)
    np.testing.assert_allclose(fit.influence, influence, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(fit.cov, influence.T @ influence, rtol=1e-7, atol=1e-14)
    # fe_glm passes the stopping rule through
    got = trend_fe.fe_glm(y, n, design, groups, distribution, max_iter=steps)
    np.testing.assert_allclose(got[0], beta, rtol=1e-9)
    loose = trend_fe.fe_glm(y, n, design, groups, distribution, tol=10.0)
    np.testing.assert_allclose(loose[0], _dense_newton(frame, design, distribution, 1)[0])
    converged = trend_fe.fe_glm(y, n, design, groups, distribution)[0]
    assert not np.allclose(beta, converged, rtol=1e-10, atol=0)  # steps short of the optimum


@pytest.mark.parametrize("distribution", ["binomial", "poisson"])
def test_pooled_glm_against_statsmodels(distribution):
    frame = _drawn(distribution, seed=5)
    time = (frame["year"] - 2015).to_numpy(float)
    design = np.column_stack([np.ones_like(time), time])
    groups = pd.factorize(frame["practice_code"])[0]
    fit = trend_fe.pooled_glm(
        frame["numerator"].to_numpy(float),
        frame["denominator"].to_numpy(float),
        design,
        groups,
        distribution,
    )
    ref = statsmodels_cluster_glm(frame, design, distribution)
    np.testing.assert_allclose(fit.beta, ref.params, rtol=1e-8)
    np.testing.assert_allclose(fit.cov, ref.cov_params(), rtol=1e-7)
    np.testing.assert_allclose(fit.influence.T @ fit.influence, ref.cov_params(), rtol=1e-7)
    assert fit.intercepts.shape == (0,)


# --------------------------------------------------------------------------- group_fit


def _is_empty(array) -> bool:
    return isinstance(array, np.ndarray) and array.shape == (0,)


NAN_FIT = {"level": np.nan, "level_se": np.nan, "slope": np.nan, "slope_se": np.nan}


@pytest.mark.parametrize("model", ["pooled", "practice_fe"])
def test_group_fit_needs_two_practices_and_two_years(model):
    one_practice = _panel({"A": [(2019, 3, 50), (2020, 4, 50), (2021, 6, 50)]})
    one_year = _panel({"A": [(2020, 3, 50)], "B": [(2020, 5, 60)]})
    for frame, practices, years in ((one_practice, 1, 3), (one_year, 2, 1)):
        got = trend_fe.group_fit(frame, "binomial", 2019, model)
        expected = {"n_practices": practices, "n_years": years, "slope_clusters": 0, **NAN_FIT}
        assert got.values == pytest.approx(expected, nan_ok=True)
        assert all(_is_empty(a) for a in got[1:])


def test_group_fit_pooled_against_statsmodels():
    frame = _panel(
        {
            "A": [(2019, 3, 50), (2020, 9, 50)],
            "B": [(2019, 12, 60), (2020, 10, 70)],
        }
    )
    got = trend_fe.group_fit(frame, "binomial", 2019, "pooled")
    time = (frame["year"] - 2019).to_numpy(float)
    ref = statsmodels_cluster_glm(frame, np.column_stack([np.ones_like(time), time]), "binomial")
    se = np.sqrt(np.diag(ref.cov_params()))
    expected = {
        "n_practices": 2,
        "n_years": 2,
        "slope_clusters": 2,
        "level": ref.params[0],
        "level_se": se[0],
        "slope": ref.params[1],
        "slope_se": se[1],
    }
    assert got.values == pytest.approx(expected, rel=1e-7)
    assert got.level_practices.tolist() == ["A", "B"] == got.slope_practices.tolist()
    assert got.level_influence @ got.level_influence == pytest.approx(se[0] ** 2, rel=1e-7)
    assert got.slope_influence @ got.slope_influence == pytest.approx(se[1] ** 2, rel=1e-7)
    cross = got.level_influence @ got.slope_influence
    assert cross == pytest.approx(ref.cov_params()[0, 1], rel=1e-7)
    assert trend_fe.fit_trend(frame, "binomial", 2019) == got.values


def test_group_fit_practice_fe_uses_the_informative_practices_only():
    frame = _panel(
        {
            "Z": [(2019, 0, 40), (2020, 0, 45)],  # no events
            "A": [(2019, 3, 50), (2020, 9, 50), (2021, 11, 55)],
            "W": [(2019, 30, 30), (2020, 31, 31)],  # every trial an event
            "S": [(2020, 7, 40)],  # one year
            "B": [(2019, 12, 60), (2020, 10, 70), (2021, 16, 65)],
        }
    )
    got = trend_fe.group_fit(frame, "binomial", 2019, "practice_fe")
    kept = frame[frame["practice_code"].isin(["A", "B"])].reset_index(drop=True)
    time = (kept["year"] - 2019).to_numpy(float)
    dummies = pd.get_dummies(kept["practice_code"], dtype=float).to_numpy()
    ref = statsmodels_cluster_glm(kept, np.column_stack([dummies, time]), "binomial")
    assert got.values["slope"] == pytest.approx(ref.params[-1], rel=1e-7)
    assert got.values["slope_se"] == pytest.approx(np.sqrt(ref.cov_params()[-1, -1]), rel=1e-7)
    assert got.values["slope_clusters"] == 2 and got.values["n_practices"] == 5
    assert got.slope_practices.tolist() == ["A", "B"]
    assert got.level_practices.tolist() == ["Z", "A", "W", "S", "B"]
    assert got.slope_influence @ got.slope_influence == pytest.approx(
        got.values["slope_se"] ** 2, rel=1e-9
    )
    pooled = trend_fe.group_fit(frame, "binomial", 2019, "pooled")
    assert {k: got.values[k] for k in ("level", "level_se")} == {
        k: pooled.values[k] for k in ("level", "level_se")
    }
    assert trend_fe.fit_trend(frame, "binomial", 2019, model="practice_fe") == got.values


def test_group_fit_practice_fe_without_two_informative_practices_keeps_the_pooled_level():
    frame = _panel(
        {
            "A": [(2019, 3, 50), (2020, 9, 50)],
            "B": [(2019, 12, 60)],
            "C": [(2020, 10, 70)],
        }
    )
    got = trend_fe.group_fit(frame, "binomial", 2019, "practice_fe")
    pooled = trend_fe.group_fit(frame, "binomial", 2019, "pooled")
    expected = {**pooled.values, "slope": np.nan, "slope_se": np.nan, "slope_clusters": 0}
    assert got.values == pytest.approx(expected, nan_ok=True)
    assert np.isfinite(got.values["level"]) and np.isfinite(got.values["level_se"])
    assert _is_empty(got.slope_practices) and _is_empty(got.slope_influence)
    np.testing.assert_array_equal(got.level_influence, pooled.level_influence)


# --------------------------------------------------------------------------- welch_df


def test_welch_df_by_hand():
    # (Va + Vb)^2 / (Va^2 / (Ga - 1) + Vb^2 / (Gb - 1))
    assert trend_fe.welch_df(1.0, 1.0, 2, 2) == pytest.approx(4 / 2)
    assert trend_fe.welch_df(10**10, 10**10, 11, 11) == pytest.approx(20)  # no int overflow
    got = trend_fe.welch_df([1.0, 2.0], [3.0, 2.0], [5, 1], [21, 4])
    assert got[0] == pytest.approx(16 / (1 / 4 + 9 / 20)) and np.isnan(got[1])


def test_welch_df_with_too_few_clusters_is_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(trend_fe.welch_df(1.0, 1.0, 1, 30))  # division by zero
        assert np.isnan(trend_fe.welch_df(0.0, 0.0, 1, 1))  # zero over zero


# --------------------------------------------------------------------------- cross_covariance


def test_cross_covariance_sums_the_shared_practices_products():
    codes_a = np.array(["b", "a", "c"], dtype=object)
    codes_b = np.array(["c", "d", "b"], dtype=object)
    got = trend_fe.cross_covariance(codes_a, np.array([1.0, 2.0, 3.0]), codes_b, np.array(
        [10.0, 1000.0, 100.0]))  # fmt: skip
    assert got == (1.0 * 100.0 + 3.0 * 10.0, 2)
    empty = np.empty(0)
    assert trend_fe.cross_covariance(empty, empty, codes_b, np.ones(3)) == (0.0, 0)
    assert trend_fe.cross_covariance(codes_a, np.ones(3), empty, empty) == (0.0, 0)
