"""The random-intercept REML fit solves its score equation: statsmodels' own REML
log-likelihood, score and fit, and a dense direct evaluation, agree with it to 1e-9."""

from __future__ import annotations

import warnings
from statistics import NormalDist
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import optimize
from statsmodels.regression.mixed_linear_model import MixedLMParams

from analysis.indicators.methods.mixed import (
    GRID,
    LOWER,
    UPPER,
    Profile,
    _solve_score,
    fit_random_intercept,
    variance_share,
)


def _simulate(seed=3, groups=60, between=1.5, within=2.0, sizes=None):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, groups) if sizes is None else np.asarray(sizes)
    g = np.repeat(np.arange(len(sizes)), sizes)
    x = rng.normal(size=len(g))
    y = 3 + 0.5 * x + rng.normal(0, between, len(sizes))[g] + rng.normal(0, within, len(g))
    return pd.DataFrame({"y": y, "x": x, "g": g})


def _fit(frame):
    return fit_random_intercept(
        frame["y"], frame.assign(Intercept=1.0)[["Intercept", "x"]], frame["g"]
    )


def _statsmodels(frame):
    """statsmodels' REML log-likelihood and score in gamma (profiled), and its model."""
    model = smf.mixedlm("y ~ x", frame, groups=frame["g"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(reml=True)  # sets the attributes loglike and score_full need

    def at(gamma: float) -> tuple[float, float]:
        cov_re = np.array([[gamma]])
        fe_params, _ = model.get_fe_params(cov_re, np.zeros(0))
        params = MixedLMParams.from_components(fe_params=fe_params, cov_re=cov_re)
        loglik = model.loglike(params, profile_fe=False)
        return float(loglik), float(model.score_full(params, calc_fe=False)[1][0])

    return model, at


def _dense_reml(frame, gamma: float) -> float:
    """The REML log-likelihood profiled over beta and sigma^2, from dense matrices
    (``V = I + gamma Z Z'``), up to a constant: an independent formula."""
    x = frame.assign(Intercept=1.0)[["Intercept", "x"]].to_numpy()
    y = frame["y"].to_numpy()
    z = (frame["g"].to_numpy()[:, None] == np.unique(frame["g"])[None, :]).astype(float)
    v = np.eye(len(y)) + gamma * z @ z.T
    vi_x, vi_y = np.linalg.solve(v, x), np.linalg.solve(v, y)
    xvx = x.T @ vi_x
    beta = np.linalg.solve(xvx, x.T @ vi_y)
    r = y - x @ beta
    dof = len(y) - x.shape[1]
    quadratic = r @ np.linalg.solve(v, r)
    return -0.5 * (dof * np.log(quadratic) + np.linalg.slogdet(v)[1] + np.linalg.slogdet(xvx)[1])


def test_reml_estimate_is_the_root_of_statsmodels_score_to_1e9():
    frame = _simulate()
    fit = _fit(frame)
    gamma = fit.between_var / fit.within_var
    _, at = _statsmodels(frame)
    # statsmodels' score, solved by Brent's method from a bracket that does not use our answer
    root = optimize.brentq(lambda g: at(g)[1], 0.05, 20.0, xtol=1e-15, rtol=1e-15)
    assert abs(gamma - root) / root < 1e-9
    assert abs(at(gamma)[1]) < 1e-9 * abs(at(gamma)[0])


def test_reml_agrees_with_a_tightly_converged_mixedlm_to_1e9():
    frame = _simulate(seed=8, groups=80)
    fit = _fit(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smf.mixedlm("y ~ x", frame, groups=frame["g"]).fit(
            reml=True, method=["bfgs"], gtol=1e-10
        )
    assert fit.between_var == pytest.approx(float(theirs.cov_re.iloc[0, 0]), rel=1e-9)
    assert fit.within_var == pytest.approx(theirs.scale, rel=1e-9)
    assert fit.params.to_numpy() == pytest.approx(theirs.fe_params.to_numpy(), rel=1e-9)


def test_standard_errors_p_values_intervals_and_icc_by_independent_formulas():
    """Standard errors from the GLS covariance ``(X' V^-1 X)^-1`` with dense ``V`` at the REML
    estimates; p-values and intervals from the standard library's normal distribution.
    (statsmodels' ``bse_fe`` inverts its own Hessian of the likelihood and differs by about
    0.2% here, so it is not the reference.)"""
    frame = _simulate(seed=8, groups=80)
    fit = _fit(frame)
    x = frame.assign(Intercept=1.0)[["Intercept", "x"]].to_numpy()
    z = (frame["g"].to_numpy()[:, None] == np.unique(frame["g"])[None, :]).astype(float)
    v = fit.within_var * np.eye(len(x)) + fit.between_var * z @ z.T
    se = np.sqrt(np.diag(np.linalg.inv(x.T @ np.linalg.solve(v, x))))
    assert fit.bse.to_numpy() == pytest.approx(se, rel=1e-10)
    normal = NormalDist()
    b = fit.params.to_numpy()
    p = [2 * (1 - normal.cdf(abs(coef / s))) for coef, s in zip(b, se, strict=True)]
    assert fit.pvalues.to_numpy() == pytest.approx(p, rel=1e-8, abs=1e-15)
    for alpha in (0.05, 0.1):
        z_crit = normal.inv_cdf(1 - alpha / 2)
        expected = np.column_stack([b - z_crit * se, b + z_crit * se])
        assert fit.conf_int(alpha).to_numpy() == pytest.approx(expected, rel=1e-10)
    assert fit.conf_int().columns.tolist() == ["lower", "upper"]
    assert fit.conf_int().to_numpy() == pytest.approx(fit.conf_int(0.05).to_numpy(), rel=1e-15)
    between, within = fit.between_var, fit.within_var
    assert fit.icc == pytest.approx(between / (between + within), rel=1e-15)
    assert 0.05 < fit.icc < 0.95  # both variances matter in this sample


@pytest.mark.parametrize(
    ("between", "within", "share"),
    [(1.0, 3.0, 0.25), (0.2, 0.3, 0.4), (0.0, 2.0, 0.0), (5.0, 0.0, 1.0)],
)
def test_the_variance_share_is_between_over_the_total(between, within, share):
    assert variance_share(between, within) == pytest.approx(share, rel=1e-15)


def test_no_variance_has_no_share():
    assert np.isnan(variance_share(0.0, 0.0))


@pytest.mark.parametrize("seed", [3, 21])
def test_no_nearby_variance_ratio_has_a_higher_reml_loglikelihood(seed):
    frame = _simulate(seed=seed, groups=20)
    fit = _fit(frame)
    gamma = fit.between_var / fit.within_var
    best = _dense_reml(frame, gamma)
    _, at = _statsmodels(frame)
    for step in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2):
        for nearby in (gamma * (1 - step), gamma * (1 + step)):
            assert _dense_reml(frame, nearby) < best
            assert at(nearby)[0] < at(gamma)[0]
    # the dense formula and statsmodels' differ by a constant only: the same function
    shift = [_dense_reml(frame, g) - at(g)[0] for g in (gamma / 2, gamma, 2 * gamma)]
    assert np.ptp(shift) < 1e-9


def test_the_between_variance_is_zero_when_the_score_is_negative_at_zero():
    """Groups less alike than chance: REML's maximum is at the boundary."""
    rng = np.random.default_rng(4)
    g = np.repeat(np.arange(30), 5)
    y = rng.normal(size=g.size)
    y -= pd.Series(y).groupby(g).transform("mean").to_numpy() * 0.9  # shrink group means
    frame = pd.DataFrame({"y": y, "x": rng.normal(size=g.size), "g": g})
    fit = _fit(frame)
    _, at = _statsmodels(frame)
    assert fit.between_var == 0.0
    assert at(1e-12)[1] < 0  # the log-likelihood falls from gamma = 0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("level", [100.0, 0.0])
def test_an_outcome_the_design_fits_exactly_has_no_variance_to_split(level):
    """Every practice at 100% (one region's PAD achievement in 2023-24): no likelihood to
    maximise, so no variance, the least-squares mean, and no p-value, instead of a solver
    that fails on NaN."""
    frame = pd.DataFrame({"y": level, "g": np.repeat(np.arange(5), 3)})
    fit = fit_random_intercept(frame["y"], frame.assign(Intercept=1.0)[["Intercept"]], frame["g"])
    assert (fit.between_var, fit.within_var) == (0.0, 0.0)
    assert fit.params.to_dict() == {"Intercept": level}
    assert fit.bse.to_dict() == {"Intercept": 0.0} and fit.pvalues.isna().all()
    assert np.isnan(fit.icc) and (fit.n_obs, fit.n_groups) == (15, 5)
    # a slope fitted exactly too: y = 2 + 3x within and between groups
    x = np.arange(15.0)
    exact = pd.DataFrame({"Intercept": 1.0, "x": x})
    fit = fit_random_intercept(2 + 3 * x, exact, frame["g"])
    assert fit.params.to_numpy() == pytest.approx([2.0, 3.0], rel=1e-12)
    assert fit.within_var == 0.0 and fit.between_var == 0.0


def test_the_smallest_variation_left_is_still_fitted_against_statsmodels():
    """One value off by 1e-6 in a hundred is variation: it is estimated, not called exact."""
    frame = pd.DataFrame({"y": 100.0, "x": 0.0, "g": np.repeat(np.arange(10), 10)})
    frame.loc[[3, 47], "y"] = [100.0 - 1e-6, 100.0 + 1e-6]
    fit = fit_random_intercept(frame["y"], frame.assign(Intercept=1.0)[["Intercept"]], frame["g"])
    assert fit.within_var > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smf.mixedlm("y ~ 1", frame, groups=frame["g"]).fit(reml=True)
    assert fit.within_var == pytest.approx(theirs.scale, rel=1e-6)


def _solve(objective, score) -> float:
    return _solve_score(SimpleNamespace(objective=objective, score=score))


# The search on its own, with objectives whose minima are known: ``score`` is the derivative
# of ``objective`` in log(gamma), as the fit's are; the answer is gamma (0 at the boundary).


def test_the_grid_reads_the_score_every_half_unit_of_log_gamma_over_the_range():
    assert (GRID[0], GRID[-1]) == (LOWER, UPPER)
    np.testing.assert_array_equal(np.diff(GRID), 0.5)


def test_an_interior_maximum_is_solved_to_machine_precision():
    gamma = _solve(lambda t: (t - 0.3) ** 2, lambda t: 2 * (t - 0.3))
    assert gamma == pytest.approx(np.exp(0.3), rel=1e-13)


def test_a_root_on_a_grid_point_is_found():
    gamma = _solve(lambda t: (t - 0.5) ** 2, lambda t: 2 * (t - 0.5))
    assert gamma == np.exp(0.5)


@pytest.mark.parametrize(
    ("objective", "score"),
    [
        (lambda t: t, lambda t: 1.0),  # the likelihood falls from the boundary
        (lambda t: 0.0, lambda t: 0.0),  # flat: nothing to prefer a ratio above 0
    ],
)
def test_the_boundary_gives_no_between_variance(objective, score):
    assert _solve(objective, score) == 0.0


def test_a_likelihood_still_rising_at_the_top_of_the_range_stops_there():
    assert _solve(lambda t: -t, lambda t: -1.0) == np.exp(UPPER)


@pytest.mark.parametrize(("tilt", "expected_near"), [(1.0, -3.0), (-1.0, 4.0)])
def test_of_two_local_maxima_the_higher_is_taken(tilt, expected_near):
    """(t + 3)^2 (t - 4)^2 + tilt * t: two minima, the lower one on the side the tilt favours."""

    def objective(t):
        return (t + 3) ** 2 * (t - 4) ** 2 + tilt * t

    def score(t):
        return 2 * (t + 3) * (t - 4) ** 2 + 2 * (t + 3) ** 2 * (t - 4) + tilt

    # the derivative is the cubic 4t^3 - 6t^2 - 46t + 24 + tilt: its roots, independently
    roots = np.sort(np.roots([4.0, -6.0, -46.0, 24.0 + tilt]).real)
    lowest = min((roots[0], roots[2]), key=objective)
    assert abs(lowest - expected_near) < 0.1
    assert _solve(objective, score) == pytest.approx(np.exp(lowest), rel=1e-13)


@pytest.mark.parametrize(("tilt", "interior"), [(1e-3, True), (0.1, False)])
def test_a_maximum_inside_is_taken_only_when_above_the_one_at_the_boundary(tilt, interior):
    """The likelihood falls from gamma = 0 at first (a local maximum at the boundary), then
    rises to a second maximum near log(gamma) = 2: higher than the boundary's with a slight
    tilt, lower with a steep one (-1 + 0.1 x 27 > 0 = the objective at the boundary)."""

    def objective(t):
        return -np.exp(-((t - 2) ** 2)) + tilt * (t - LOWER)

    def score(t):
        return 2 * (t - 2) * np.exp(-((t - 2) ** 2)) + tilt

    assert score(LOWER) > 0 and score(1.5) < 0  # two local minima of the objective
    gamma = _solve(objective, score)
    if interior:
        assert abs(score(np.log(gamma))) < 1e-12 and abs(np.log(gamma) - 2) < 0.01
    else:
        assert gamma == 0.0


def test_a_boundary_maximum_narrower_than_the_grid_still_counts():
    """The likelihood falls from gamma = 0 over only 0.1 of log(gamma), and every maximum
    inside is lower: the score is read at LOWER itself, so the boundary wins."""

    def objective(t):
        u = t - LOWER
        return u * np.exp(-u / 0.1) + 0.01 + 0.005 * np.tanh(u) - 0.001 * np.exp(-((u - 10) ** 2))

    def score(t):
        u = t - LOWER
        return (
            np.exp(-u / 0.1) * (1 - u / 0.1)
            + 0.005 / np.cosh(u) ** 2
            + 0.002 * (u - 10) * np.exp(-((u - 10) ** 2))
        )

    assert score(LOWER) > 0 > score(GRID[1])  # the boundary maximum ends before the next point
    assert objective(LOWER) < min(objective(t) for t in GRID[1:])
    assert _solve(objective, score) == 0.0


def test_two_maxima_in_neighbouring_cells_of_the_grid_are_both_found():
    """Score (t - 0.25)(t - 0.75)(t - 1.25) + 0.01: two local maxima of the likelihood
    about 1 apart, with a minimum between them, each in its own cell of the grid."""
    score = np.polynomial.Polynomial.fromroots([0.25, 0.75, 1.25]) + 0.01
    objective = score.integ()
    roots = np.sort(score.roots().real)
    lowest = min((roots[0], roots[2]), key=objective)
    assert abs(lowest - 0.25) < 0.05  # the tilt makes the first the higher maximum
    assert _solve(objective, score) == pytest.approx(np.exp(lowest), rel=1e-13)


def test_the_likelihood_turns_only_in_the_last_cell_of_the_grid():
    """Rising from the boundary almost to the top, falling over the last 0.2: the maximum is
    at the top of the range, read from the score there alone."""

    def objective(t):
        return 0.001 * (t - LOWER) - 100 * max(0.0, t - 11.8) ** 2

    def score(t):
        return 0.001 - 200 * max(0.0, t - 11.8)

    assert score(GRID[-2]) > 0 > score(UPPER) and objective(UPPER) < objective(LOWER)
    assert _solve(objective, score) == np.exp(UPPER)


def _profile(frame) -> Profile:
    codes, _ = pd.factorize(frame["g"])
    x = frame.assign(Intercept=1.0)[["Intercept", "x"]].to_numpy()
    return Profile(frame["y"].to_numpy(), x, codes)


def test_the_profile_is_statsmodels_restricted_likelihood_and_its_score():
    """objective = -2 x statsmodels' REML log-likelihood + a constant, and score its
    derivative in log(gamma): statsmodels' score in gamma times gamma, and a central
    difference of the objective."""
    frame = _simulate(seed=5, groups=25)
    profile = _profile(frame)
    _, at = _statsmodels(frame)
    ts = np.array([-3.0, -1.0, 0.0, 0.7, 2.0])
    shift = [profile.objective(t) + 2 * at(np.exp(t))[0] for t in ts]
    assert np.ptp(shift) < 1e-8
    for t in ts:
        theirs = -2 * np.exp(t) * at(np.exp(t))[1]
        assert profile.score(t) == pytest.approx(theirs, rel=1e-6, abs=1e-9)
        h = 1e-5
        central = (profile.objective(t + h) - profile.objective(t - h)) / (2 * h)
        assert profile.score(t) == pytest.approx(central, rel=1e-5, abs=1e-7)
    assert profile.dof == len(frame) - 2


@pytest.mark.parametrize("where", ["y", "x"])
def test_a_missing_value_is_refused(where):
    frame = _simulate(seed=3, groups=10)
    frame.loc[4, where] = np.nan
    with pytest.raises(ValueError, match="^missing values in the outcome or the design$"):
        _fit(frame)


def test_one_group_is_refused():
    frame = _simulate(seed=3, groups=10).assign(g=7)
    with pytest.raises(ValueError, match="^a random intercept needs at least two groups; got 1$"):
        _fit(frame)
    two = _fit(_simulate(seed=3, groups=2, sizes=[6, 9]))
    assert (two.n_obs, two.n_groups) == (15, 2)


def test_numbers_held_as_python_objects_are_read_as_numbers():
    """pandas leaves numbers in an object column after some joins: the fit reads them."""
    frame = _simulate(seed=8, groups=30)
    exog = frame.assign(Intercept=1.0)[["Intercept", "x"]]
    as_objects = fit_random_intercept(frame["y"].astype(object), exog.astype(object), frame["g"])
    fit = _fit(frame)
    assert as_objects.between_var == fit.between_var and as_objects.within_var == fit.within_var
    assert (fit.n_obs, fit.n_groups) == (len(frame), 30)


def test_an_exact_fit_has_missing_p_values_by_name():
    frame = pd.DataFrame({"y": 50.0, "g": np.repeat(np.arange(4), 2)})
    exog = frame.assign(Intercept=1.0)[["Intercept"]]
    fit = fit_random_intercept(frame["y"], exog, frame["g"])
    pd.testing.assert_series_equal(fit.pvalues, pd.Series(np.nan, index=["Intercept"]))
