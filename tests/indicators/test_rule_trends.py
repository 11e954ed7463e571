"""Organisation trends under membership rules, checked against statsmodels, scipy and
hand-worked cases (small frames: these tests run once per mutant of the module)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from analysis.indicators.networks import rule_trends

# --------------------------------------------------------------------------- _slopes


def _two_groups() -> pd.DataFrame:
    """Z (first in the rows) has practices p1 (10, 12) and p2 (20, 21) in 2019 and 2020;
    A has one practice, p3 (5, 6, 9 in 2019-2021)."""
    return pd.DataFrame(
        {
            "indicator_id": "T",
            "organisation_id": ["Z", "Z", "Z", "Z", "A", "A", "A"],
            "practice_code": ["p1", "p1", "p2", "p2", "p3", "p3", "p3"],
            "year": [2019, 2020, 2019, 2020, 2019, 2020, 2021],
            "value": [10.0, 12.0, 20.0, 21.0, 5.0, 6.0, 9.0],
        }
    )


@pytest.mark.parametrize("fixed_effects", [False, True])
def test_slopes_by_hand_in_order_of_first_appearance(fixed_effects):
    # Z: years centred -.5, .5 (Sxx = 1). Pooled: Sxy = (-10 + 12 - 20 + 21) / 2 = 1.5;
    # within each practice: (2 + 1) / 2 = 1.5, the same (balanced). Residuals of the pooled
    # fit: -5, -4.5 (p1), 5, 4.5 (p2); of the within fit: -.25, .25, .25, -.25. Each
    # practice's score sum(xc e): pooled .25 and -.25, within .25 and -.25, so
    # se = sqrt(2 / 1 * (.0625 + .0625)) / 1 = .5 both ways.
    # A: one practice, Sxx = 2, Sxy = -5 + 9 = 4, slope 2; one cluster, so no standard error.
    got = rule_trends._slopes(_two_groups(), ["indicator_id", "organisation_id"], fixed_effects)
    expected = pd.DataFrame(
        {
            "indicator_id": ["T", "T"],
            "organisation_id": ["Z", "A"],
            "slope": [1.5, 2.0],
            "se": [0.5, np.nan],
            "practice_years": [4, 3],
            "practices": [2, 1],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_slopes_without_a_trend_or_a_second_practice_are_nan_without_a_warning():
    frame = _two_groups()
    frame.loc[frame["organisation_id"] == "Z", "year"] = 2020  # Z: one year, Sxx = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rule_trends._slopes(frame, ["organisation_id"], fixed_effects=False)
    assert got["organisation_id"].tolist() == ["Z", "A"]
    assert np.isnan(got["slope"].iloc[0]) and np.isnan(got["se"].iloc[0])
    assert got["slope"].iloc[1] == pytest.approx(2.0)
    assert np.isnan(got["se"].iloc[1])


# --------------------------------------------------------------------------- organisation_trends


def _membership(year_of_move: int | None) -> pd.DataFrame:
    """O0..O7 of three practices each (practice k in O{k // 3}); practice 22 moves from O7 to
    O6 in 2021 (each year's own membership) or is in O6 throughout (``year_of_move`` None,
    the 2021 membership traced back); X24 alone forms O9; N0..N4 are in no organisation."""
    rows = []
    for year in (2019, 2020, 2021):
        for k in range(24):
            org = k // 3
            if k == 22 and (year_of_move is None or year >= year_of_move):
                org = 6
            rows.append({"practice_code": f"X{k:02d}", "year": year, "organisation_id": f"O{org}"})
        rows.append({"practice_code": "X24", "year": year, "organisation_id": "O9"})
    return pd.DataFrame(rows)


def _trend_panel() -> pd.DataFrame:
    """Indicators: T (every practice, organisation effects on the trend, noise); S (O0 and O1
    with identical data rising 0.6 a year faster than the rest); U (O2 and O3 falling 0.6 a
    year slower); Q (O5 only); R (O4 only, exactly linear and parallel: no residual).
    Practices whose index is a multiple of 4 miss 2019 and are 5 points higher."""
    rng = np.random.default_rng(11)
    practices = [f"X{k:02d}" for k in range(25)] + [f"N{k}" for k in range(5)]
    effect = dict(zip(range(10), rng.normal(0, 0.5, 10), strict=True))
    rows = []
    for i, practice in enumerate(practices):
        org = i // 3 if i < 24 else (9 if i == 24 else None)
        late = i % 4 == 0
        level = 50 + 5 * late + rng.normal(0, 3)
        for year in (2020, 2021) if late else (2019, 2020, 2021):
            t = year - 2019
            noise = rng.normal(0, 0.3)
            slope_t = 0.3 + (effect[org] if org is not None else 0.0)
            rows.append((practice, year, "T", level + slope_t * t + noise))
            base = 40 + i % 3 + 0.1 * (i % 3) * t + 0.05 * (year == 2020)
            if org in (0, 1) or org is None:
                rows.append((practice, year, "S", base + (0.3 + 0.6 * (org is not None)) * t))
            if org in (2, 3) or org is None:
                rows.append((practice, year, "U", base + (0.3 - 0.6 * (org is not None)) * t))
            if org == 5 or org is None:
                rows.append((practice, year, "Q", base + 0.3 * t + rng.normal(0, 0.2)))
            if org == 4:
                rows.append((practice, year, "R", 60.0 + 1.0 * t))
            elif org is None:
                rows.append((practice, year, "R", base + 0.3 * t))
    return pd.DataFrame(rows, columns=rule_trends.PANEL_COLUMNS)


def _cluster_slope(part: pd.DataFrame, fixed_effects: bool) -> tuple[float, float, int]:
    """statsmodels OLS of value on year (practice dummies or a constant), clustered by
    practice with the G / (G - 1) factor only; NaN standard error for one practice."""
    design = pd.DataFrame({"year": part["year"].astype(float)})
    if fixed_effects:
        design = design.join(pd.get_dummies(part["practice_code"], dtype=float))
    else:
        design = sm.add_constant(design)
    groups = pd.factorize(part["practice_code"])[0]
    clusters = len(set(groups))
    if clusters < 2:
        return np.nan, np.nan, clusters
    fit = sm.OLS(part["value"], design).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
    )
    return fit.params["year"], fit.bse["year"] * np.sqrt(clusters / (clusters - 1)), clusters


def _expected_trends(panel, memberships, alpha=0.05) -> pd.DataFrame:
    frames = []
    for rule, members in memberships.items():
        fe = rule == "practice_fe"
        data = panel.merge(members, on=["practice_code", "year"])
        england = {
            ind: _cluster_slope(part.reset_index(drop=True), fe)[0]
            for ind, part in panel.groupby("indicator_id")
        }
        rows = []
        for (ind, org), part in data.groupby(["indicator_id", "organisation_id"]):
            slope, se, clusters = _cluster_slope(part.reset_index(drop=True), fe)
            if not se > 1e-6:  # a single practice, or no residual at all (R)
                continue
            rows.append(
                {
                    "rule": rule,
                    "indicator_id": ind,
                    "organisation_id": org,
                    "slope": slope,
                    "se": se,
                    "practice_years": len(part),
                    "practices": clusters,
                    "england_slope": england[ind],
                    "difference": slope - england[ind],
                }
            )
        out = pd.DataFrame(rows)
        for _, part in out.groupby("indicator_id"):
            tau2 = np.nan
            if len(part) > 1:
                fit = combine_effects(part["difference"], part["se"] ** 2, method_re="dl")
                tau2 = max(fit.tau2, 0.0)  # statsmodels leaves DerSimonian-Laird untruncated
            z = part["difference"] / np.sqrt(part["se"] ** 2 + tau2)
            p = 2 * sps.norm.sf(np.abs(z))
            p_bh = multipletests(p, method="fdr_bh")[1] if len(part) > 1 else p
            out.loc[part.index, "tau2"] = tau2
            out.loc[part.index, "z"] = z
            out.loc[part.index, "p"] = p
            out.loc[part.index, "p_bh"] = p_bh
        label = np.where(out["difference"] > 0, "faster", "slower")
        out["classification"] = np.where(out["p_bh"] < alpha, label, "not different")
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def trends_case():
    panel = _trend_panel()
    own = _membership(2021)
    memberships = {"own": own, "practice_fe": own, "fixed": _membership(None)}
    return panel, memberships, rule_trends.organisation_trends(panel, memberships)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["rule", "indicator_id", "organisation_id"]).sort_index()


def test_organisation_trends_match_statsmodels_scipy_and_multipletests(trends_case):
    panel, memberships, got = trends_case
    expected = _expected_trends(panel, memberships)
    assert list(got.columns) == [
        "rule", "indicator_id", "organisation_id", "slope", "se", "practice_years",
        "practices", "england_slope", "difference", "tau2", "z", "p", "p_bh", "classification",
    ]  # fmt: skip
    assert isinstance(got.index, pd.RangeIndex) and got.index.is_monotonic_increasing
    assert got["rule"].drop_duplicates().tolist() == ["own", "practice_fe", "fixed"]
    pd.testing.assert_frame_equal(
        _keyed(got), _keyed(expected)[list(_keyed(got).columns)], check_exact=False, rtol=1e-6
    )
    # The case exercises every branch: all three verdicts, dropped organisations (O9 has one
    # practice, R's O4 no residual), an indicator of one organisation (no tau2) and of two.
    assert set(got["classification"]) == {"faster", "slower", "not different"}
    assert not got["organisation_id"].eq("O9").any() and "R" not in set(got["indicator_id"])
    q = got[got["indicator_id"] == "Q"]
    assert len(q) == 3 and q["tau2"].isna().all() and q["classification"].eq("not different").all()
    p_bh = got["p_bh"]
    assert ((p_bh > 0.05) & (p_bh < 1)).any()  # a default alpha of 1 or more would differ
    faster = got[got["classification"] == "faster"]
    assert (faster["difference"] < 1).all()
    fe = got[got["rule"] == "practice_fe"].set_index(["indicator_id", "organisation_id"])
    pooled = got[got["rule"] == "own"].set_index(["indicator_id", "organisation_id"])
    assert not np.allclose(fe.loc["T", "england_slope"], pooled.loc["T", "england_slope"])


def test_organisation_trends_at_another_alpha_and_tau2_method(trends_case):
    panel, memberships, _ = trends_case
    own = {"own": memberships["own"]}
    got = rule_trends.organisation_trends(panel, own, alpha=0.5, tau2_method="reml")
    expected = _expected_trends(panel, own, alpha=0.5)
    t = got[got["indicator_id"] == "T"].reset_index(drop=True)
    # REML's tau2 solves its score equation (Viechtbauer 2005, eq. 12):
    v, d = t["se"].to_numpy() ** 2, t["difference"].to_numpy()
    tau2 = t["tau2"].iloc[0]
    w = 1 / (v + tau2)
    mu = np.sum(w * d) / np.sum(w)
    score = np.sum(w**2 * ((d - mu) ** 2 - v - tau2)) + np.sum(w**2) / np.sum(w)
    assert tau2 > 0 and abs(score) < 1e-6 * np.sum(w)
    assert (got["classification"] == np.where(
        got["p_bh"] < 0.5, np.where(got["difference"] > 0, "faster", "slower"), "not different"
    )).all()  # fmt: skip
    assert ((got["p_bh"] > 0.05) & (got["p_bh"] < 0.5)).any()
    pd.testing.assert_frame_equal(
        _keyed(got)[["slope", "se", "england_slope", "difference"]],
        _keyed(expected)[["slope", "se", "england_slope", "difference"]],
        check_exact=False,
        rtol=1e-6,
    )


def test_only_practice_and_year_join_the_membership():
    panel = _trend_panel()
    panel["source"] = "qof"
    own = _membership(2021).assign(source="pcn mapping")
    got = rule_trends.organisation_trends(panel, {"own": own})
    expected = rule_trends.organisation_trends(_trend_panel(), {"own": _membership(2021)})
    pd.testing.assert_frame_equal(got, expected)
