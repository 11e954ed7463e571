"""Quality-indicator statistics (analysis.indicators), each against an independent calculation.

Hand-made tables and a small seeded simulation (tests/indicators_sim.py, written apart from
the panel generator) with known truth; references are statsmodels, scipy and hand-worked
numbers.
"""

from __future__ import annotations

import itertools

import indicators_sim as sim
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analysis.indicators.methods import associations
from analysis.indicators.methods.associations import critical_rho, exact_kruskal, exact_spearman
from analysis.indicators.methods.comparison import (
    classify,
    compare_to_national,
    overdispersion_table,
    reference_years,
)
from analysis.indicators.methods.results import run_analysis
from analysis.indicators.methods.selection import prepare, select
from analysis.indicators.methods.trends import fit_trend, trend_models
from analysis.indicators.methods.truth import attenuation, classification_recovery, recovery_summary
from analysis.indicators.methods.variation import practice_variation, variation_trend


@pytest.fixture(scope="module")
def panel():
    return sim.simulate(seed=3, n_practices=400, practice_sd=0.1)


def _select(panel, **kwargs):
    return select(panel["observations"], panel["catalogue"], panel["organisations"], **kwargs)


@pytest.fixture(scope="module")
def prepared(panel):
    selection = _select(panel)
    data = prepare(panel["observations"], panel["membership"], panel["catalogue"], selection)
    return selection, data


@pytest.fixture(scope="module")
def results(panel, prepared):
    selection, data = prepared
    return run_analysis(
        data, panel["catalogue"], panel["organisations"], selection, truth=panel["truth"]
    )


# --------------------------------------------------------------------------- parameters


def test_select_defaults_and_domains(panel):
    selection = _select(panel)
    assert selection.organisations == ["ORG01", "ORG02", "ORG03"]
    assert selection.indicators == ["PRE01", "HOS01", "QOF01"]
    assert selection.years == list(range(2009, 2015))
    assert selection.baseline_year == 2009
    chosen = _select(panel, indicators=["qof", "PRE01"], years=[2014, 2010], baseline_year=2010)
    assert chosen.indicators == ["PRE01", "QOF01"]
    assert chosen.years == [2010, 2014]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"organisations": ["ORG01", "ORG99"]}, r"'organisations': unknown value\(s\) \['ORG99'\]"),
        ({"indicators": ["PRE09", "dentistry"]}, r"'indicators': unknown value\(s\) \['PRE09'"),
        ({"years": [2008, 2009, 2016]}, r"'years': \[2008, 2016\] outside the data.*2009-2014"),
        ({"years": [2010, 2011], "baseline_year": 2009}, r"'baseline_year': 2009 is not one"),
        ({"alpha": 0.7}, r"'alpha': 0.7 is not in \(0, 0.5\)"),
        ({"overdispersion": "robust"}, r"'overdispersion': unknown value\(s\) \['robust'\]"),
    ],
)
def test_select_names_the_bad_parameter(panel, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _select(panel, **kwargs)


def test_prepare_follows_membership_changes(prepared):
    _, data = prepared
    org = data.drop_duplicates(["practice_code", "year"]).set_index(["practice_code", "year"])[
        "organisation_id"
    ]
    assert org[("P0059", 2012)] == "ORG03" and pd.isna(org[("P0059", 2013)])  # left 2013
    assert pd.isna(org[("P0045", 2011)]) and org[("P0045", 2012)] == "ORG02"  # joined 2012
    assert pd.isna(org[("P0100", 2014)])
    assert (data["rate"] == data["numerator"] / data["denominator"]).all()


# --------------------------------------------------------------------------- 1. level


def _tiny(distribution="binomial", higher=True):
    """Two organisations of two practices and six others, one indicator and year."""
    num = [30, 50, 10, 12, 20, 25, 18, 22, 15, 40]
    den = [100, 200, 80, 60, 150, 160, 120, 140, 100, 250]
    return pd.DataFrame(
        {
            "practice_code": [f"P{i}" for i in range(10)],
            "year": 2014,
            "indicator_id": "X01",
            "numerator": np.array(num, dtype=float),
            "denominator": np.array(den, dtype=float),
            "organisation_id": ["A", "A", "B", "B"] + [np.nan] * 6,
            "domain": "d",
            "distribution": distribution,
            "higher_is_better": higher,
        }
    ).assign(rate=lambda f: f["numerator"] / f["denominator"])


def test_compare_to_national_binomial_against_statsmodels():
    data = _tiny()
    out = compare_to_national(data, ["A", "B"], overdispersion="none").set_index("organisation_id")
    p0 = data["numerator"].sum() / data["denominator"].sum()
    a = out.loc["A"]
    assert (a["numerator"], a["denominator"], a["n_practices"]) == (80, 300, 2)
    assert a["national_rate"] == pytest.approx(p0)
    low, high = proportion_confint(80, 300, alpha=0.05, method="wilson")
    assert (a["ci_lower"], a["ci_upper"]) == pytest.approx((low, high), rel=1e-10)
    z, p = proportions_ztest(80, 300, value=p0, prop_var=p0)
    assert (a["z"], a["p"]) == pytest.approx((z, p), rel=1e-10)
    assert a["z_adjusted"] == pytest.approx(z)  # no overdispersion adjustment
    se = np.sqrt(p0 * (1 - p0) / 300)
    assert a["upper95"] == pytest.approx(p0 + 1.959964 * se, rel=1e-6)
    assert a["lower998"] == pytest.approx(p0 - 3.090232 * se, rel=1e-6)
    assert a["classification"] == ("better" if p < 0.05 else "not different")


def test_compare_to_national_poisson_hand_worked():
    data = _tiny("poisson", higher=False)
    out = compare_to_national(data, ["B"], overdispersion="none", alpha=0.1).iloc[0]
    rate0 = data["numerator"].sum() / data["denominator"].sum()
    expected = rate0 * 140  # events expected in B at the national rate
    assert out["z"] == pytest.approx((22 - expected) / np.sqrt(expected))
    low, high = (sps.chi2.ppf(0.05, 44) / 2 / 140, sps.chi2.ppf(0.95, 46) / 2 / 140)
    assert (out["ci_lower"], out["ci_upper"]) == pytest.approx((low, high), rel=1e-10)


def test_overdispersion_adjustments_hand_worked():
    data = _tiny()
    disp = overdispersion_table(data).iloc[0]
    p0 = data["numerator"].sum() / data["denominator"].sum()
    se = np.sqrt(p0 * (1 - p0) / data["denominator"])
    z = (data["rate"] - p0) / se
    lo, hi = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, lo, hi) ** 2)
    w = 1 / se**2
    tau2 = max(10 * phi - 9, 0) / (w.sum() - (w**2).sum() / w.sum())
    assert (disp["phi"], disp["tau2"]) == pytest.approx((phi, tau2), rel=1e-10)
    base = compare_to_national(data, ["A"], overdispersion="none").iloc[0]
    mult = compare_to_national(data, ["A"], overdispersion="multiplicative").iloc[0]
    add = compare_to_national(data, ["A"], overdispersion="additive").iloc[0]
    assert mult["z_adjusted"] == pytest.approx(base["z"] / np.sqrt(max(phi, 1)))
    herfindahl = (100**2 + 200**2) / 300**2
    se_a = np.sqrt(p0 * (1 - p0) / 300)
    assert add["se_adjusted"] == pytest.approx(np.sqrt(se_a**2 + tau2 * herfindahl))
    assert add["upper95"] - p0 == pytest.approx(1.959964 * add["se_adjusted"], rel=1e-6)


def test_classify_respects_direction():
    got = classify(
        [0.1, 0.1, -0.1, -0.1, 0.1, 0.1],
        [0.01, 0.01, 0.01, 0.01, 0.2, np.nan],
        [True, False, True, False, True, True],
        0.05,
    )
    assert list(got) == ["better", "worse", "worse", "better", "not different", None]


# --------------------------------------------------------------------------- 2. trend


def test_trend_glm_matches_year_aggregated_fit(prepared):
    # Grouped binomial counts per practice-year give the same likelihood as year totals,
    # so the point estimates agree with a GLM on six aggregated rows.
    _, data = prepared
    rows = data[(data["indicator_id"] == "PRE01") & (data["organisation_id"] == "ORG01")]
    fit = fit_trend(rows, "binomial", baseline_year=2009)
    totals = rows.groupby("year")[["numerator", "denominator"]].sum().reset_index()
    ref = sm.GLM(
        np.column_stack([totals["numerator"], totals["denominator"] - totals["numerator"]]),
        sm.add_constant(totals["year"] - 2009.0),
        family=sm.families.Binomial(),
    ).fit()
    assert (fit["level"], fit["slope"]) == pytest.approx(tuple(ref.params), rel=1e-7)
    assert fit["n_practices"] == 30 and fit["n_years"] == 6


def test_trend_recovers_known_slopes(results):
    trend = results.trend.set_index(["organisation_id", "indicator_id"])
    # national: PRE01 -0.05 (logit, attenuated by <0.5% at SD 0.1), HOS01 +0.03 (log)
    assert trend.loc[("ORG02", "PRE01"), "national_slope"] == pytest.approx(-0.05, abs=0.004)
    assert trend.loc[("ORG02", "HOS01"), "national_slope"] == pytest.approx(0.03, abs=0.003)
    # ORG01 improves 0.08 a year faster than England on both indicators
    for indicator in ("PRE01", "HOS01"):
        row = trend.loc[("ORG01", indicator)]
        assert row["slope_difference"] == pytest.approx(-0.08, abs=3 * row["slope_difference_se"])
        assert row["classification"] == "better" and row["org_change"] == "improved"
        assert row["ror_lower"] < np.exp(row["slope_difference"]) < row["ror_upper"]
    assert trend.loc[("ORG02", "HOS01"), "level_difference"] == pytest.approx(0.3, abs=0.06)
    assert trend.loc[("ORG01", "HOS01"), "national_change"] == "deteriorated"
    assert "QOF01" not in results.trend["indicator_id"].values  # single point, no trend


def test_separate_fits_agree_with_interaction_model(panel, prepared):
    selection, data = prepared
    kwargs = {"baseline_year": 2009}
    sep = trend_models(data, panel["catalogue"], ["ORG02", "ORG03"], **kwargs)
    joint = trend_models(
        data, panel["catalogue"], ["ORG02", "ORG03"], method="interaction", **kwargs
    )
    np.testing.assert_allclose(sep["slope_difference"], joint["slope_difference"], atol=1e-8)
    np.testing.assert_allclose(sep["level_difference"], joint["level_difference"], atol=1e-8)
    # clustered SEs differ only by the small-sample correction G/(G-1)
    np.testing.assert_allclose(sep["slope_difference_se"], joint["slope_difference_se"], rtol=0.08)
    with pytest.raises(ValueError, match="'method'"):
        trend_models(data, panel["catalogue"], ["ORG02"], method="gee", **kwargs)


def test_trend_interval_coverage_over_simulations():
    covered, total = 0, 0
    for seed in range(8):
        p = sim.simulate(
            seed=100 + seed,
            n_practices=250,
            practice_sd=0.15,
            org_trend={"ORG01": -0.06, "ORG02": 0.02, "ORG03": 0.0},
        )
        selection = select(
            p["observations"], p["catalogue"], p["organisations"], indicators=["HOS01", "PRE01"]
        )
        data = prepare(p["observations"], p["membership"], p["catalogue"], selection)
        trend = trend_models(data, p["catalogue"], selection.organisations, baseline_year=2009)
        truth = trend["organisation_id"].map({"ORG01": -0.06, "ORG02": 0.02, "ORG03": 0.0})
        shrink = np.where(
            trend["distribution"] == "binomial", 1 / np.sqrt(1 + 0.346 * 0.15**2), 1.0
        )
        half = 1.959964 * trend["slope_difference_se"]
        covered += int((np.abs(trend["slope_difference"] - truth * shrink) <= half).sum())
        total += len(trend)
    assert total == 48
    assert covered >= 41  # nominal 95%: 45.6 expected; 41 is the binomial 1.5% quantile


# --------------------------------------------------------------------------- 3. QOF


def test_qof_single_points(results):
    qof = results.qof
    assert set(qof["indicator_id"]) == {"QOF01"} and set(qof["year"]) == {2014}
    cls = qof.set_index("organisation_id")["classification"]
    assert cls["ORG01"] == "better" and cls["ORG02"] == "better"  # +0.4 logit in the sim


def test_reference_years():
    catalogue = sim.CATALOGUE
    ref = reference_years(catalogue, [2009, 2012]).set_index("indicator_id")
    assert ref.loc["PRE01", "reference_year"] == 2012
    assert ref.loc["QOF01", "reference_year"] == 2014 and ref.loc["QOF01", "single_point"]


# --------------------------------------------------------------------------- 4. variation


def test_practice_variation_against_numpy(prepared):
    _, data = prepared
    out = practice_variation(data, ["ORG01"]).set_index(["indicator_id", "year"])
    rates = data[
        (data["organisation_id"] == "ORG01")
        & (data["indicator_id"] == "HOS01")
        & (data["year"] == 2011)
    ]["rate"].to_numpy()
    row = out.loc[("HOS01", 2011)]
    assert row["sd"] == pytest.approx(np.std(rates, ddof=1))
    assert row["cv"] == pytest.approx(np.std(rates, ddof=1) / np.mean(rates))
    q1, q3 = np.percentile(rates, [25, 75])
    assert row["iqr"] == pytest.approx(q3 - q1)


def test_variation_trend_against_statsmodels_ols():
    variation = pd.DataFrame(
        {
            "organisation_id": "A",
            "indicator_id": "X",
            "year": range(2009, 2015),
            "cv": [0.30, 0.28, 0.27, 0.24, 0.22, 0.21],
        }
    )
    out = variation_trend(variation).iloc[0]
    ols = sm.OLS(variation["cv"], sm.add_constant(variation["year"].astype(float))).fit()
    assert out["cv_slope"] == pytest.approx(ols.params["year"])
    assert out["cv_slope_p"] == pytest.approx(ols.pvalues["year"])
    assert out["variation_change"] == "fell"
    short = variation_trend(variation.iloc[:2]).iloc[0]
    assert short["variation_change"] == "not tested"


# --------------------------------------------------------------------------- 5. associations


def _enumerated_p(values, statistic, greater_only=False):
    observed = statistic(values)
    null = np.array([statistic(np.array(p)) for p in itertools.permutations(values)])
    extreme = null >= observed - 1e-12 if greater_only else np.abs(null) >= abs(observed) - 1e-12
    return observed, extreme.mean()


def test_exact_spearman_against_hand_enumeration():
    x = np.array([3.0, 1.0, 4.0, 1.5, 5.0, 9.0])
    y = np.array([2.0, 7.0, 1.0, 8.0, 2.5, 0.5])
    rho, p, null = exact_spearman(x, y)
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic)
    obs, p_hand = _enumerated_p(x, lambda v: sps.spearmanr(v, y).statistic)
    assert p == pytest.approx(p_hand)
    assert null.size == 720


def test_critical_rho_matches_published_table():
    # Two-sided critical values of Spearman's rho for n = 8 (Zar 1972): 0.738 at 0.05.
    _, _, null = exact_spearman(np.arange(8.0), np.arange(8.0))
    assert critical_rho(null, 0.05) == pytest.approx(0.738, abs=0.002)
    assert critical_rho(null, 0.01) == pytest.approx(0.881, abs=0.002)


def test_exact_kruskal_against_scipy_and_enumeration():
    values = np.array([1.2, 3.4, 0.5, 2.2, 5.1, 4.4, 0.9])
    labels = ["a", "a", "b", "b", "b", "c", "d"]  # groups of one are allowed
    h, p = exact_kruskal(values, labels)
    groups = [values[np.array(labels) == g] for g in "abcd"]
    assert h == pytest.approx(sps.kruskal(*groups).statistic)

    # enumerate every distinct assignment of the labels (7! / (2! 3!) = 420 regroupings)
    arrangements = {tuple(p) for p in itertools.permutations(labels)}
    null = [
        sps.kruskal(*[values[np.array(a) == g] for g in "abcd"]).statistic for a in arrangements
    ]
    assert len(null) == 420
    assert p == pytest.approx(np.mean(np.array(null) >= h - 1e-12))


@pytest.mark.parametrize("n", [10, 13, 60])
def test_monte_carlo_permutation_p_values_equal_scipys(n):
    # Beyond EXACT_MAX_N the orderings are scipy's seeded sample, drawn once per n and cached
    # (n = 60 is past the cache limit and goes to scipy itself): p-values must equal scipy's.
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=n), np.round(rng.normal(size=n), 1)  # ties in y
    labels = np.array(list("abc" * n)[:n])
    ry = sps.rankdata(y) - sps.rankdata(y).mean()

    def rho_of(rx, axis=-1):
        rx = rx - rx.mean(axis=axis, keepdims=True)
        return (rx * ry).sum(axis=axis) / np.sqrt((rx**2).sum(axis=axis) * (ry**2).sum())

    def h_of(r, axis=-1):  # Kruskal-Wallis H of the ranks r (no ties in x)
        sums = sum((r[..., labels == g].sum(axis=-1)) ** 2 / (labels == g).sum() for g in "abc")
        return 12 / (n * (n + 1)) * sums - 3 * (n + 1)

    def scipy_p(statistic, alternative):
        return sps.permutation_test(
            (sps.rankdata(x),),
            statistic,
            permutation_type="pairings",
            n_resamples=associations.MONTE_CARLO_RESAMPLES,
            vectorized=True,
            alternative=alternative,
            rng=np.random.default_rng(associations.MONTE_CARLO_SEED),
        ).pvalue

    rho, p, _ = exact_spearman(x, y)
    assert rho == pytest.approx(sps.spearmanr(x, y).statistic)
    assert p == scipy_p(rho_of, "two-sided")
    h, p_h = exact_kruskal(x, labels)
    assert h == pytest.approx(sps.kruskal(*[x[labels == g] for g in "abc"]).statistic)
    assert p_h == scipy_p(h_of, "greater")


def test_association_table_states_power_caveat(results):
    table = results.associations
    assert set(table["characteristic"]) == {
        "n_practices",
        "list_size",
        "ccgs_spanned",
        "form",
        "rurality",
        "case_study",
    }
    assert table["caveat"].str.contains("n=3").all()
    form = table[table["characteristic"] == "form"].iloc[0]
    assert form["p_exact"] == pytest.approx(1.0)  # three singleton groups: H never varies
    spearman = table[table["test"].str.startswith("Spearman")]
    assert spearman["caveat"].str.contains("no value of rho can reach p < 0.05").all()


# --------------------------------------------------------------------------- 6. summary


def test_summary_bh_matches_statsmodels(results):
    summary = results.summary
    for _, rows in summary.groupby("comparison"):
        expected = multipletests(rows["p"], method="fdr_bh")[1]
        np.testing.assert_allclose(rows["p_bh"], expected, rtol=1e-12)
    assert set(summary["comparison"]) == {"level", "trend"}
    level = summary[summary["comparison"] == "level"]
    assert dict(zip(level["indicator_id"], level["year"], strict=False)) == {
        "HOS01": 2014,
        "PRE01": 2014,
        "QOF01": 2014,
    }
    # adjusted classes are never more significant than unadjusted ones
    changed = summary[summary["class_bh"] != summary["class_unadjusted"]]
    assert (changed["class_bh"] == "not different").all()


def test_summary_counts_add_up(results):
    counts = results.counts
    summary = results.summary
    total = counts[(counts["domain"] == "all") & (counts["adjustment"] == "BH")]
    for row in total.itertuples():
        rows = summary[
            (summary["organisation_id"] == row.organisation_id)
            & (summary["comparison"] == row.comparison)
        ]
        assert row.n == len(rows)
        assert row.better == (rows["class_bh"] == "better").sum()
        assert row.worse == (rows["class_bh"] == "worse").sum()
    per_domain = counts[(counts["domain"] != "all")]
    sums = per_domain.groupby(["organisation_id", "comparison", "adjustment"])["n"].sum()
    alls = counts[counts["domain"] == "all"].set_index(
        ["organisation_id", "comparison", "adjustment"]
    )["n"]
    pd.testing.assert_series_equal(sums.sort_index(), alls.sort_index(), check_names=False)


# --------------------------------------------------------------------------- truth


def test_attenuation_hand_worked():
    truth = pd.DataFrame(
        {
            "organisation_id": "ENGLAND",
            "indicator_id": ["PRE01", "PRE01", "HOS01", "HOS01"],
            "parameter": ["between_practice_sd", "practice_year_sd"] * 2,
            "value": [0.3, 0.4, 0.3, 0.4],
        }
    )
    factor = attenuation(sim.CATALOGUE, truth)
    assert factor["PRE01"] == pytest.approx(1 / np.sqrt(1 + 0.346 * 0.25))
    assert factor["HOS01"] == 1.0


def test_truth_vs_estimate_recovers_simulation(results):
    comparison = results.truth.set_index(["parameter", "organisation_id", "indicator_id"])
    row = comparison.loc[("trend_log_ratio", "ORG01", "HOS01")]
    assert row["truth"] == pytest.approx(-0.08)
    assert row["error"] == pytest.approx(row["estimate"] + 0.08)
    assert row["covered"] == (row["ci_lower"] <= -0.08 <= row["ci_upper"])
    summary = results.truth_summary.set_index("parameter")
    assert summary.loc["trend_log_ratio", "n"] == 6
    assert summary.loc["trend_log_ratio", "coverage"] >= 5 / 6
    assert abs(summary.loc["national_trend", "mean_bias"]) < 0.003


def test_classification_recovery_outcomes():
    summary = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "B"],
            "indicator_id": ["X", "Y", "X", "Y"],
            "domain": "d",
            "higher_is_better": [False, False, False, False],
            "comparison": "trend",
            "year": pd.array([pd.NA] * 4, dtype="Int64"),
            "class_unadjusted": ["better", "not different", "better", "worse"],
        }
    )
    truth = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B", "B"] * 2,
            "indicator_id": ["X", "Y"] * 4,
            "parameter": ["trend_log_ratio"] * 4 + ["level_log_ratio"] * 4,
            "value": [-0.04, -0.04, 0.0, 0.03, 0, 0, 0, 0],
        }
    )
    out = classification_recovery(summary, truth)
    assert list(out["truth_class"]) == ["better", "better", "not different", "worse"]
    assert list(out["outcome"]) == ["detected", "missed", "false positive", "detected"]
    counts = recovery_summary(out).iloc[0]
    assert (counts["detected"], counts["missed"], counts["false positive"]) == (2, 1, 1)


def test_select_takes_a_single_value_as_a_list(panel):
    chosen = _select(panel, organisations="ORG02", indicators="qof", years=2014)
    assert (chosen.organisations, chosen.indicators, chosen.years) == (["ORG02"], ["QOF01"], [2014])


def test_association_bh_matches_statsmodels(results):
    table = results.associations.dropna(subset=["p_exact"])
    expected = multipletests(table["p_exact"], method="fdr_bh")[1]
    np.testing.assert_allclose(table["p_bh"], expected, rtol=1e-12)
    assert (table["significant_bh"] <= table["significant"]).all()
