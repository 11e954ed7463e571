"""Each organisation against England: the between-organisation variance against statsmodels'
DerSimonian-Laird, and the funnel plot's points and curves against their closed form."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from analysis.core import stats
from analysis.indicators.methods import comparison

ORGANISATIONS = ["A", "B", "C", "D", "E"]


def _data() -> pd.DataFrame:
    """Five organisations of two practices and four practices in none on X01; on X02 only
    A has members (one organisation: no between-organisation variance to estimate)."""
    num = [30, 50, 10, 12, 40, 45, 18, 22, 90, 70, 25, 18, 22, 15]
    den = [100, 200, 80, 60, 100, 120, 120, 140, 200, 180, 160, 120, 140, 100]
    orgs = [o for o in ORGANISATIONS for _ in range(2)] + [np.nan] * 4
    x01 = pd.DataFrame(
        {
            "practice_code": [f"P{i:02d}" for i in range(14)],
            "year": 2014,
            "indicator_id": "X01",
            "numerator": np.array(num, dtype=float),
            "denominator": np.array(den, dtype=float),
            "organisation_id": orgs,
        }
    )
    x02 = x01.iloc[[0, 10, 11, 12, 13]].assign(indicator_id="X02")
    frame = pd.concat([x01, x02], ignore_index=True)
    return frame.assign(
        domain="d",
        distribution="binomial",
        higher_is_better=True,
        rate=frame["numerator"] / frame["denominator"],
    )


def _spiegelhalter(rates: np.ndarray, p: float, n: np.ndarray) -> tuple[float, float]:
    """Spiegelhalter 2005, worked out here: z under the target rate ``p``, phi their mean
    square Winsorised at 10% (with few units the quantiles pull in the extreme z), tau2 from
    phi and the weights 1 / se^2, truncated at 0."""
    se = np.sqrt(p * (1 - p) / n)
    z = (rates - p) / se
    low, high = np.quantile(z, [0.1, 0.9])
    phi = np.mean(np.clip(z, low, high) ** 2)
    w = 1 / se**2
    return phi, max(0.0, (len(z) * phi - (len(z) - 1)) / (w.sum() - (w**2).sum() / w.sum()))


def _x01_by_organisation(data: pd.DataFrame) -> tuple[float, np.ndarray, np.ndarray]:
    """England's X01 rate from every row, and each organisation's pooled rate and denominator
    (in the organisations' sorted order), worked out here with a plain groupby."""
    x01 = data[data["indicator_id"] == "X01"]
    p0 = x01["numerator"].sum() / x01["denominator"].sum()
    sums = x01.groupby("organisation_id")[["numerator", "denominator"]].sum()
    return p0, (sums["numerator"] / sums["denominator"]).to_numpy(), sums["denominator"].to_numpy()


def test_the_between_organisation_variance_is_dersimonian_laird_of_the_organisations():
    data = _data()
    out = comparison.compare_to_national(
        data, ORGANISATIONS, overdispersion="none", organisation_variance="dl"
    )
    p0, y, n = _x01_by_organisation(data)
    v = p0 * (1 - p0) / n
    tau2 = combine_effects(y, v, method_re="dl").tau2
    assert tau2 > 0
    got = out[out["indicator_id"] == "X01"].set_index("organisation_id").loc[ORGANISATIONS]
    np.testing.assert_allclose(got["tau2_organisations"], tau2, rtol=1e-10)
    np.testing.assert_allclose(got["z_members"], (y - p0) / np.sqrt(v), rtol=1e-10)
    np.testing.assert_allclose(
        got["p_members"], 2 * sps.norm.sf(np.abs((y - p0) / np.sqrt(v))), rtol=1e-10
    )
    np.testing.assert_allclose(got["se_adjusted"], np.sqrt(v + tau2), rtol=1e-10)
    np.testing.assert_allclose(got["z_adjusted"], (y - p0) / np.sqrt(v + tau2), rtol=1e-10)
    # One organisation on X02: nothing to estimate, so no adjusted comparison either.
    alone = out[out["indicator_id"] == "X02"].iloc[0]
    assert alone["organisation_id"] == "A" and np.isnan(alone["tau2_organisations"])
    assert np.isnan(alone["se_adjusted"]) and np.isfinite(alone["z_members"])
    assert pd.isna(alone["classification"])


def test_the_winsorised_between_organisation_variance_is_centred_on_england():
    data = _data()
    out = comparison.compare_to_national(
        data, ORGANISATIONS, overdispersion="none", organisation_variance="winsorised"
    )
    p0, y, n = _x01_by_organisation(data)
    _, expected = _spiegelhalter(y, p0, n)
    assert expected > 0
    got = out[out["indicator_id"] == "X01"]["tau2_organisations"]
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("method", ["dl_within", "median"])
def test_an_unknown_between_organisation_estimator_is_named(method):
    with pytest.raises(ValueError) as err:
        comparison.compare_to_national(_data(), ORGANISATIONS, organisation_variance=method)
    assert str(err.value) == (
        f"parameter 'organisation_variance': unknown value(s) ['{method}']; "
        "expected none, winsorised, winsorised_rescaled, dl, reml"
    )


def test_funnel_points_are_one_indicator_and_years_practices():
    data = _data()
    data.loc[data["indicator_id"] == "X01", "year"] = [2014] * 7 + [2015] * 7
    points = comparison.funnel_points(data, "X01", 2015)
    expected = data.iloc[7:14][["practice_code", "organisation_id", "denominator", "rate"]]
    pd.testing.assert_frame_equal(points, expected.reset_index(drop=True))
    with pytest.raises(ValueError) as err:
        comparison.funnel_points(data, "X02", 2015)
    assert str(err.value) == "no observations for indicator 'X02' in year 2015"


def _closed_form(p: float, n: np.ndarray, z: float, phi: float, tau2: float):
    half = z * np.sqrt(phi * p * (1 - p) / n + tau2)
    return np.clip(p - half, 0, 1), np.clip(p + half, 0, 1)


@pytest.mark.parametrize(("phi", "tau2"), [(None, None), (1.7, 0.0004)])
def test_funnel_curves_are_the_closed_form_limits_over_a_log_grid(phi, tau2):
    given = {} if phi is None else {"phi": phi, "tau2": tau2}
    out = comparison.funnel_curves(0.3, "binomial", 20, 20_000, **given)
    grid = np.exp(np.linspace(np.log(20), np.log(20_000), 200))
    assert out.columns.tolist() == ["denominator", "level", "lower", "upper"]
    assert out.index.equals(pd.RangeIndex(400))
    assert out["level"].tolist() == ["95%"] * 200 + ["99.8%"] * 200
    for k, (level, confidence) in enumerate((("95%", 0.975), ("99.8%", 0.999))):
        part = out.iloc[200 * k : 200 * (k + 1)]
        np.testing.assert_allclose(part["denominator"], grid, rtol=1e-12)
        lower, upper = _closed_form(0.3, grid, sps.norm.ppf(confidence), phi or 1.0, tau2 or 0.0)
        np.testing.assert_allclose(part["lower"], lower, rtol=1e-10, err_msg=level)
        np.testing.assert_allclose(part["upper"], upper, rtol=1e-10, err_msg=level)
    few = comparison.funnel_curves(0.3, "binomial", 10, 1000, points=3)
    np.testing.assert_allclose(few["denominator"], [10, 100, 1000] * 2, rtol=1e-12)
    assert stats.z_value(0.95) == pytest.approx(sps.norm.ppf(0.975))


def test_an_unknown_overdispersion_is_named():
    with pytest.raises(ValueError) as err:
        comparison.compare_to_national(_data(), ORGANISATIONS, overdispersion="scaled")
    assert str(err.value) == (
        "parameter 'overdispersion': unknown value(s) ['scaled']; "
        "expected none, multiplicative, additive"
    )


def test_two_organisations_are_enough_and_unusable_rows_are_left_out_without_a_warning():
    """Per indicator and year: two organisations with a rate and a variance give an estimate,
    a third with no rate is left out of it; a zero or missing variance gives no z, silently."""
    out = pd.DataFrame(
        {
            "indicator_id": "I",
            "year": [2020, 2020, 2020, 2021, 2022, 2021],
            "rate": [0.20, 0.32, np.nan, 0.30, 0.25, 0.40],
            "national_rate": [0.25, 0.25, 0.25, 0.25, 0.25, 0.25],
        }
    )
    variance = np.array([0.001, 0.002, 0.004, 0.0, 0.0, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = comparison._add_organisation_variance(out, variance.copy(), "dl")
    tau2 = combine_effects(np.array([0.20, 0.32]), variance[:2], method_re="dl").tau2
    assert tau2 > 0
    np.testing.assert_allclose(out["tau2_organisations"].iloc[:3], tau2, rtol=1e-12)
    np.testing.assert_allclose(total[:3], variance[:3] + tau2, rtol=1e-12)
    # 2021 and 2022: one usable row each (a zero variance is usable, a missing one is not)
    assert out["tau2_organisations"].iloc[3:].isna().all() and np.isnan(total[3:]).all()
    np.testing.assert_allclose(out["z_members"].iloc[:2], [-0.05, 0.07] / np.sqrt(variance[:2]))
    assert out["z_members"].iloc[2:].isna().all()
    assert out["p_members"].iloc[2:].isna().all()


def test_a_continuous_indicator_has_no_sampling_interval():
    data = _data()
    data.loc[data["indicator_id"] == "X02", "distribution"] = "continuous"
    out = comparison.compare_to_national(data, ORGANISATIONS, overdispersion="additive")
    assert out["ci_lower"].dtype == out["ci_upper"].dtype == np.float64
    x02 = out["indicator_id"] == "X02"
    assert out.loc[x02, ["ci_lower", "ci_upper"]].isna().all().all()
    assert out.loc[~x02, ["ci_lower", "ci_upper"]].notna().all().all()


def test_a_dispersion_table_without_an_indicator_leaves_it_unadjusted_and_a_repeat_fails():
    data = _data()
    dispersion = comparison.overdispersion_table(data)
    out = comparison.compare_to_national(
        data, ORGANISATIONS, dispersion=dispersion[dispersion["indicator_id"] == "X01"]
    )
    x02 = out[out["indicator_id"] == "X02"]
    assert x02["organisation_id"].tolist() == ["A"]
    assert x02[["tau2", "se_adjusted", "z_adjusted"]].isna().all().all()
    assert out.loc[out["indicator_id"] == "X01", "se_adjusted"].notna().all()
    with pytest.raises(pd.errors.MergeError):
        comparison.compare_to_national(
            data, ORGANISATIONS, dispersion=pd.concat([dispersion, dispersion.iloc[[0]]])
        )


def test_an_indicator_with_no_practice_outside_the_organisations_has_no_rest_to_compare_to():
    data = _data()
    data = data[(data["indicator_id"] == "X01") | (data["organisation_id"] == "A")]
    out = comparison.compare_to_national(data, ORGANISATIONS, comparator="rest")
    x02 = out[out["indicator_id"] == "X02"]
    assert x02["organisation_id"].tolist() == ["A"]
    assert x02["national_rate"].isna().all() and x02["classification"].isna().all()
    assert out.loc[out["indicator_id"] == "X01", "national_rate"].notna().all()


def _by_hand(rows: pd.DataFrame) -> tuple[float, float, float]:
    """Pooled rate, denominator and Herfindahl index of some practices' rows."""
    n = rows["denominator"].to_numpy()
    return rows["numerator"].sum() / n.sum(), n.sum(), (n**2).sum() / n.sum() ** 2


@pytest.mark.parametrize("overdispersion", ["none", "multiplicative", "additive"])
def test_against_the_rest_of_england_each_variance_is_worked_out_by_hand(overdispersion):
    """Organisation A against the practices in no organisation: both sides' sampling
    variance, and the chosen adjustment with a given phi and tau2 on X01; X02 continuous,
    whose only variance is tau2 over both sides' Herfindahl indices, whatever the option."""
    data = _data()
    data.loc[data["indicator_id"] == "X02", "distribution"] = "continuous"
    dispersion = pd.DataFrame(
        {"indicator_id": ["X01", "X02"], "year": 2014, "phi": [1.6, 0.7], "tau2": [4e-4, 0.05]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a continuous z is left out silently
        out = comparison.compare_to_national(
            data, ["A"], overdispersion=overdispersion, dispersion=dispersion, comparator="rest"
        ).set_index("indicator_id")
    assert (out["overdispersion"] == overdispersion).all()
    assert out["z"].dtype == np.float64
    rest = data[data["organisation_id"].isna()]
    for indicator, phi, tau2 in (("X01", 1.6, 4e-4), ("X02", 0.7, 0.05)):
        a = data[(data["organisation_id"] == "A") & (data["indicator_id"] == indicator)]
        rate, n, h = _by_hand(a)
        p, n_rest, h_rest = _by_hand(rest[rest["indicator_id"] == indicator])
        row = out.loc[indicator]
        assert row["national_rate"] == pytest.approx(p, rel=1e-12)
        if indicator == "X02":  # continuous: no sampling variance on either side
            variance = tau2 * (h + h_rest)
            assert np.isnan(row["z"]) and np.isnan(row["p"])
        else:
            sampling = p * (1 - p) / n + p * (1 - p) / n_rest
            assert row["z"] == pytest.approx((rate - p) / np.sqrt(sampling), rel=1e-12)
            variance = {
                "none": sampling,
                "multiplicative": max(phi, 1.0) * sampling,
                "additive": sampling + tau2 * (h + h_rest),
            }[overdispersion]
        assert row["se_adjusted"] == pytest.approx(np.sqrt(variance), rel=1e-12)
        assert row["z_adjusted"] == pytest.approx((rate - p) / np.sqrt(variance), rel=1e-12)
    # a continuous value's limits are not held at 0: X02's fall below it
    x02 = out.loc["X02"]
    half = sps.norm.ppf(0.999) * x02["se_adjusted"]
    assert x02["lower998"] == pytest.approx(x02["national_rate"] - half, rel=1e-12)
    assert x02["lower998"] < 0
    assert x02["ci_lower_adjusted"] < 0


def test_each_class_follows_the_side_of_england_and_the_rows_are_numbered_afresh():
    out = comparison.compare_to_national(_data(), ORGANISATIONS, overdispersion="none")
    assert out.index.equals(pd.RangeIndex(len(out)))
    side = np.where(out["rate"] > out["national_rate"], "better", "worse")
    expected = np.where(out["p_adjusted"] < 0.05, side, "not different")
    assert out["classification"].tolist() == expected.tolist()
    assert {"better", "worse", "not different"} <= set(expected)


def test_two_sided_p_reads_boxed_and_missing_z_and_an_unknown_estimator_is_named():
    boxed = comparison.two_sided_p(pd.Series([1.959963984540054, None, -3.0], dtype=object))
    np.testing.assert_allclose(boxed, [0.05, np.nan, 2 * sps.norm.sf(3.0)], rtol=1e-12)
    with pytest.raises(ValueError) as err:
        comparison.overdispersion_table(_data(), tau2_method="median")
    assert str(err.value) == (
        "parameter 'tau2_method': unknown value(s) ['median']; "
        "expected winsorised, winsorised_rescaled, dl, reml, dl_within"
    )


def test_classify_reads_boxed_values_and_a_missing_one_gives_no_class():
    got = comparison.classify(
        pd.Series([0.1, None, -0.2, 0.3], dtype=object),
        pd.Series([0.01, 0.01, None, 0.01], dtype=object),
        pd.array([True, True, False, pd.NA], dtype="boolean"),
        0.05,
    )
    assert got.tolist() == ["better", None, None, "higher"]
    # no direction: higher or lower than England (a difference of 0 is not higher); a p of
    # exactly alpha is not below it
    neutral = comparison.classify(
        np.array([0.3, -0.3, 0.0, 0.3]), np.array([0.01, 0.01, 0.01, 0.05]), [None] * 4, 0.05
    )
    assert neutral.tolist() == ["higher", "lower", "lower", "not different"]


def test_interval_checks_count_an_interval_touching_england_as_not_excluding_it():
    level = pd.DataFrame(
        {
            "national_rate": 0.5,
            "classification": ["not different"] * 4 + ["better"],
            "ci_lower": [0.5, 0.3, 0.51, 0.2, 0.6],
            "ci_upper": [0.7, 0.5, 0.8, 0.49, 0.7],
        }
    )
    level["ci_lower_adjusted"], level["ci_upper_adjusted"] = level["ci_lower"], level["ci_upper"]
    expected = pd.DataFrame(
        {"rows": [5], "not_different": [4], "sampling_only_excludes": [2], "adjusted_excludes": [2]}
    )
    pd.testing.assert_frame_equal(comparison.interval_checks(level), expected)


def test_qof_rows_are_each_indicators_single_year_sorted_and_numbered_afresh():
    level = pd.DataFrame(
        {
            "organisation_id": ["B", "A", "B", "A", "A"],
            "indicator_id": ["Q1", "Q1", "Q1", "Q1", "X1"],
            "year": [2014, 2014, 2013, 2013, 2014],
        }
    )
    catalogue = pd.DataFrame(
        {"indicator_id": ["Q1", "X1"], "single_year": pd.array([2014, pd.NA], dtype="Int64")}
    )
    out = comparison.qof_single_points(level, catalogue)
    assert out[["organisation_id", "indicator_id", "year"]].values.tolist() == [
        ["A", "Q1", 2014],
        ["B", "Q1", 2014],
    ]
    assert out.index.equals(pd.RangeIndex(2))
    years = comparison.reference_years(catalogue, [2012, 2013])
    assert years["reference_year"].tolist() == [2014, 2013]
    assert years["reference_year"].dtype == np.int64
    assert years["single_point"].tolist() == [True, False]


def test_the_between_practice_overdispersion_by_hand_for_counts_and_continuous_values():
    data = _data()
    data.loc[data["indicator_id"] == "X02", "distribution"] = "continuous"
    table = comparison.overdispersion_table(data.iloc[::-1])  # X02 first: still in id order
    assert table.columns.tolist() == [
        "indicator_id", "year", "n_units", "phi", "tau2", "tau2_method",
    ]  # fmt: skip
    assert table[["indicator_id", "year", "n_units", "tau2_method"]].values.tolist() == [
        ["X01", 2014, 14, "winsorised"],
        ["X02", 2014, 5, "winsorised"],
    ]
    x01 = data[data["indicator_id"] == "X01"]
    p = x01["numerator"].sum() / x01["denominator"].sum()
    phi, tau2 = _spiegelhalter(x01["rate"].to_numpy(), p, x01["denominator"].to_numpy())
    assert tau2 > 0
    assert table["phi"].iloc[0] == pytest.approx(phi, rel=1e-12)
    assert table["tau2"].iloc[0] == pytest.approx(tau2, rel=1e-12)
    # a continuous value has no sampling variance: no phi, and tau2 is the values' variance
    x02 = data.loc[data["indicator_id"] == "X02", "rate"]
    assert np.isnan(table["phi"].iloc[1])
    assert table["tau2"].iloc[1] == pytest.approx(np.var(x02, ddof=1), rel=1e-12)


def test_two_practices_are_enough_to_estimate_the_overdispersion_and_one_is_not():
    data = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3", "P4", "P5"],
            "year": 2020,
            "indicator_id": ["Y01", "Y01", "Y02", "Y03", "Y03"],
            "numerator": [10.0, 30.0, 5.0, 0.4, 0.4],
            "denominator": [100.0, 100.0, 50.0, 1.0, 1.0],
            "organisation_id": ["A", "B", "A", "A", "B"],
            "distribution": ["binomial", "binomial", "binomial", "continuous", "continuous"],
        }
    )
    table = comparison.overdispersion_table(
        data.assign(rate=data["numerator"] / data["denominator"])
    )
    two, one, same = table.to_dict("records")
    assert np.isfinite(two["phi"]) and two["tau2"] > 0
    assert np.isnan(one["phi"]) and np.isnan(one["tau2"])
    assert np.isnan(same["phi"]) and same["tau2"] == 0  # two equal values: no spread


def test_a_practice_without_a_count_is_left_out_of_the_spread_but_england_stays_its_own():
    """England's rate is the sum over every row (practice_z_scores); the spread is estimated
    from the practices with a rate, still centred on that England."""
    data = _data()
    data = data[data["indicator_id"] == "X01"].copy()
    data.loc[data.index[3], "numerator"] = np.nan
    data["rate"] = data["numerator"] / data["denominator"]
    table = comparison.overdispersion_table(data)
    p = data["numerator"].sum() / data["denominator"].sum()  # pandas skips the missing count
    kept = data[data["rate"].notna()]
    phi, tau2 = _spiegelhalter(kept["rate"].to_numpy(), p, kept["denominator"].to_numpy())
    assert table["n_units"].iloc[0] == 14
    assert table["phi"].iloc[0] == pytest.approx(phi, rel=1e-12)
    assert table["tau2"].iloc[0] == pytest.approx(tau2, rel=1e-12)
