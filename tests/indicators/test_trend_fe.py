"""Practice fixed effects in the trend model and the small trend comparator warning.

The fixed-effects GLM against statsmodels with practice dummies and cluster-robust covariance
(to 1e-8), its removal of the membership-turnover bias the pooled model has on a planted
panel, and the trend table's comparator size with its warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from references import statsmodels_cluster_glm

from analysis.indicators.methods.comparison import SMALL_COMPARATOR
from analysis.indicators.methods.selection import METHOD_CHOICES, PUBLISHED_METHODS
from analysis.indicators.methods.trend_fe import fe_glm
from analysis.indicators.methods.trends import fit_interaction, fit_trend, trend_models
from analysis.indicators.methods.truth import attenuation, truth_vs_estimate


def _hand_panel(distribution: str) -> pd.DataFrame:
    """Seven practices over four to five years, counts drawn once from a fixed seed."""
    rng = np.random.default_rng(11)
    rows = []
    for practice in range(7):
        effect = -1.2 + 0.25 * practice
        slope = 0.04 * (practice % 3) - 0.02
        for year in range(2009, 2014 if practice % 2 else 2014 + 1):
            n = int(rng.integers(200, 900))
            eta = effect + slope * (year - 2009)
            if distribution == "binomial":
                y = rng.binomial(n, 1 / (1 + np.exp(-eta)))
            else:
                y = rng.poisson(n * np.exp(eta))
            rows.append((f"P{practice}", year, float(y), float(n)))
    return pd.DataFrame(rows, columns=["practice_code", "year", "numerator", "denominator"])


def _statsmodels_fe(frame: pd.DataFrame, covariates: np.ndarray, distribution: str):
    dummies = pd.get_dummies(frame["practice_code"], dtype=float).to_numpy()
    design = np.column_stack([dummies, covariates])
    fit = statsmodels_cluster_glm(frame, design, distribution)
    k = covariates.shape[1]
    return fit.params[-k:], fit.cov_params()[-k:, -k:], fit.params[:-k]


@pytest.mark.parametrize("distribution", ["binomial", "poisson"])
def test_fixed_effects_glm_matches_statsmodels_with_practice_dummies(distribution):
    frame = _hand_panel(distribution)
    time = (frame["year"] - 2009).to_numpy(dtype=float)[:, None]
    groups = pd.factorize(frame["practice_code"])[0]
    beta, cov, alpha = fe_glm(
        frame["numerator"].to_numpy(), frame["denominator"].to_numpy(), time, groups, distribution
    )
    ref_beta, ref_cov, ref_alpha = _statsmodels_fe(frame, time, distribution)
    np.testing.assert_allclose(beta, ref_beta, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(cov, ref_cov, rtol=1e-8, atol=1e-14)
    # get_dummies orders practices by name, factorize by first appearance: the same here.
    np.testing.assert_allclose(alpha, ref_alpha, rtol=1e-8, atol=1e-12)
    fit = fit_trend(frame, distribution, 2009, model="practice_fe")
    assert fit["slope"] == pytest.approx(ref_beta[0], rel=1e-8)
    assert fit["slope_se"] == pytest.approx(np.sqrt(ref_cov[0, 0]), rel=1e-8)
    pooled = fit_trend(frame, distribution, 2009)
    assert fit["level"] == pooled["level"]  # levels stay those of the pooled model
    assert fit["slope"] != pytest.approx(pooled["slope"], rel=1e-3)


def test_fixed_effects_interaction_matches_statsmodels_with_a_practice_changing_group():
    frame = _hand_panel("binomial")
    org_codes = ["P0", "P1", "P2"]
    is_org = frame["practice_code"].isin(org_codes) | (
        (frame["practice_code"] == "P3") & (frame["year"] >= 2011)  # P3 joins in 2011
    )
    org, rest = frame[is_org], frame[~is_org]
    got = fit_interaction(org, rest, "binomial", 2009, model="practice_fe")
    both = pd.concat([org.assign(g=1.0), rest.assign(g=0.0)], ignore_index=True)
    time = (both["year"] - 2009).to_numpy(dtype=float)
    g = both["g"].to_numpy()
    beta, cov, _ = _statsmodels_fe(both, np.column_stack([time, g * time, g]), "binomial")
    assert got["slope_difference"] == pytest.approx(beta[1], rel=1e-8)
    assert got["slope_difference_se"] == pytest.approx(np.sqrt(cov[1, 1]), rel=1e-8)


def _planted(n_rest: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Noise-free counts: every practice's log odds rise by 0.05 a year, members included.

    ORG01 has ten founding practices (log odds -1.0) and, from 2012, ten joiners that are
    better (-0.2): the organisation's within-practice trend equals England's, but its pooled
    rate rises faster because the later members are better practices.
    """
    rows = []
    groups = [("F", 10, -1.0, 2009, "ORG01"), ("J", 10, -0.2, 2012, "ORG01")]
    groups.append(("R", n_rest, -0.8, 2009, None))
    for prefix, count, effect, start, org in groups:
        for i in range(count):
            for year in range(2009, 2015):
                n = 20_000.0
                p = 1 / (1 + np.exp(-(effect + 0.01 * i + 0.05 * (year - 2009))))
                # Joiners are in the data before joining, outside every organisation.
                member = org if year >= start else None
                rows.append((f"{prefix}{i:02d}", year, "PRE01", member, np.round(n * p), n))
    data = pd.DataFrame(
        rows,
        columns=[
            "practice_code",
            "year",
            "indicator_id",
            "organisation_id",
            "numerator",
            "denominator",
        ],
    ).assign(domain="prescribing", distribution="binomial", higher_is_better=True)
    catalogue = pd.DataFrame(
        {"indicator_id": ["PRE01"], "single_year": [np.nan], "distribution": ["binomial"]}
    )
    return data, catalogue


def test_practice_fixed_effects_remove_the_membership_turnover_bias():
    data, catalogue = _planted()
    args = (data, catalogue, ["ORG01"])
    pooled = trend_models(*args, baseline_year=2009).iloc[0]
    fe = trend_models(*args, baseline_year=2009, model="practice_fe").iloc[0]
    # Planted truth: the organisation's within-practice slope equals the comparator's (0.05).
    assert pooled["slope_difference"] > 0.1  # turnover read as improvement
    assert pooled["classification"] == "better"
    assert abs(fe["slope_difference"]) < 1e-3  # only the rounding of the counts is left
    assert fe["org_slope"] == pytest.approx(0.05, abs=1e-3)
    assert fe["national_slope"] == pytest.approx(0.05, abs=1e-3)
    assert fe["level_difference"] == pooled["level_difference"]
    assert fe["model"] == "practice_fe" and pooled["model"] == "pooled"
    # The joint (interaction) fixed-effects model, with the joiners changing group, agrees.
    joint = trend_models(*args, baseline_year=2009, model="practice_fe", method="interaction")
    assert abs(joint["slope_difference"].iloc[0]) < 1e-3


def test_trend_model_is_a_method_option_with_the_published_default():
    assert METHOD_CHOICES["trend_model"] == ("pooled", "practice_fe")
    assert PUBLISHED_METHODS["trend_model"] == "pooled"
    data, catalogue = _planted()
    with pytest.raises(ValueError, match="parameter 'trend_model'.*pooled, practice_fe"):
        trend_models(data, catalogue, ["ORG01"], baseline_year=2009, model="fe")


def test_trend_table_counts_the_comparator_practices_without_warning_when_large():
    data, catalogue = _planted(n_rest=SMALL_COMPARATOR + 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rest = trend_models(data, catalogue, ["ORG01"], baseline_year=2009)
        england = trend_models(data, catalogue, ["ORG01"], baseline_year=2009, comparator="england")
    # Rest of England: the 40 outside practices and the 10 joiners before they joined.
    assert rest["comparator_practices"].iloc[0] == SMALL_COMPARATOR + 10 + 10
    assert england["comparator_practices"].iloc[0] == data["practice_code"].nunique()


def test_small_trend_comparator_warns_and_says_how_many_practices():
    data, catalogue = _planted(n_rest=5)
    with pytest.warns(UserWarning, match=r"rest of England\) covers fewer than 30 .*PRE01: 15"):
        table = trend_models(data, catalogue, ["ORG01"], baseline_year=2009)
    assert table["comparator_practices"].iloc[0] == 15
    # All of England here has 25 practices: still small.
    with pytest.warns(UserWarning, match=r"\(England\) covers fewer than 30 .*PRE01: 25"):
        trend_models(data, catalogue, ["ORG01"], baseline_year=2009, comparator="england")


def test_truth_for_fixed_effects_slopes_is_attenuated_by_the_practice_year_part_only():
    data, catalogue = _planted()
    catalogue = catalogue.assign(distribution="binomial")
    truth = pd.DataFrame(
        [
            ("ENGLAND", "PRE01", "between_practice_sd", 0.4),
            ("ENGLAND", "PRE01", "practice_year_sd", 0.1),
            ("ENGLAND", "PRE01", "national_trend", 0.05),
            ("ORG01", "PRE01", "trend_log_ratio", 0.0),
            ("ORG01", "PRE01", "level_log_ratio", 0.0),
        ],
        columns=["organisation_id", "indicator_id", "parameter", "value"],
    )
    assert attenuation(catalogue, truth, within_practice=True)["PRE01"] == pytest.approx(
        1 / np.sqrt(1 + 0.346 * 0.1**2)
    )
    for model, sigma2 in (("pooled", 0.4**2 + 0.1**2), ("practice_fe", 0.1**2)):
        trend = trend_models(data, catalogue, ["ORG01"], baseline_year=2009, model=model)
        table = truth_vs_estimate(trend, truth, catalogue).set_index("parameter")
        assert table.loc["national_trend", "truth"] == pytest.approx(
            0.05 / np.sqrt(1 + 0.346 * sigma2)
        )


def _small_sample_factor(groups: int, nobs: int, k: int) -> float:
    return groups / (groups - 1) * (nobs - 1) / (nobs - k)


def _indicator(frame: pd.DataFrame, organisation) -> pd.DataFrame:
    return frame.assign(
        indicator_id="PRE01",
        organisation_id=organisation,
        domain="prescribing",
        distribution="binomial",
        higher_is_better=True,
    )


@pytest.mark.parametrize("model", ["pooled", "practice_fe"])
@pytest.mark.parametrize("comparator", ["rest", "england"])
def test_shared_practices_enter_the_difference_as_in_one_stacked_statsmodels_fit(model, comparator):
    """The separate fits' cross-covariance equals that of statsmodels' stacked (block-diagonal)
    GLM clustered by practice, each side's small-sample factor taken out."""
    frame = _hand_panel("binomial")
    # P3 joins ORG01 in 2011 and P0 leaves it from 2012: both are in the comparator too.
    joins = (frame["practice_code"] == "P3") & (frame["year"] >= 2011)
    stays = frame["practice_code"].isin(["P0", "P1", "P2"]) & ~(
        (frame["practice_code"] == "P0") & (frame["year"] >= 2012)
    )
    data = _indicator(frame, np.where(joins | stays, "ORG01", None))
    catalogue = pd.DataFrame(
        {"indicator_id": ["PRE01"], "single_year": [np.nan], "distribution": ["binomial"]}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a comparator of a few practices
        row = trend_models(
            data, catalogue, ["ORG01"], baseline_year=2009, model=model, comparator=comparator
        ).iloc[0]
    org = data[data["organisation_id"] == "ORG01"]
    comp = data[data["organisation_id"].isna()] if comparator == "rest" else data
    stacked = pd.concat([org.assign(block=0), comp.assign(block=1)], ignore_index=True)
    time = (stacked["year"] - 2009).to_numpy(dtype=float)
    block = stacked["block"].to_numpy()
    if model == "pooled":
        design = np.column_stack([1 - block, (1 - block) * time, block, block * time])
        slopes, k = [1, 3], 4
        sides = [(len(part["practice_code"].unique()), len(part), 2) for part in (org, comp)]
    else:
        cells = stacked["practice_code"] + "/" + stacked["block"].astype(str)
        dummies = pd.get_dummies(cells, dtype=float).to_numpy()
        design = np.column_stack([dummies, (1 - block) * time, block * time])
        slopes, k = [-2, -1], dummies.shape[1] + 2
        sides = [
            (len(part["practice_code"].unique()), len(part), part["practice_code"].nunique() + 1)
            for part in (org, comp)
        ]
    ref = statsmodels_cluster_glm(stacked, design, "binomial")
    cov = ref.cov_params()[np.ix_(slopes, slopes)]
    joint = _small_sample_factor(stacked["practice_code"].nunique(), len(stacked), k)
    own, other = (_small_sample_factor(*side) for side in sides)
    raw_cross = cov[0, 1] / joint
    assert row["org_slope_se"] ** 2 == pytest.approx(cov[0, 0] / joint * own, rel=1e-7)
    assert row["national_slope_se"] ** 2 == pytest.approx(cov[1, 1] / joint * other, rel=1e-7)
    expected = row["org_slope_se"] ** 2 + row["national_slope_se"] ** 2
    expected -= 2 * raw_cross * np.sqrt(own * other)
    assert row["slope_difference_se"] ** 2 == pytest.approx(expected, rel=1e-7)
    assert raw_cross != pytest.approx(0.0, abs=1e-9)  # the shared practices matter here
    shared = {"rest": 2, "england": 4}[comparator]  # P0 and P3; or every member
    assert row["shared_practices"] == shared


def test_welch_degrees_of_freedom_and_the_t_reference():
    from scipy import stats as sps

    from analysis.indicators.methods.trends import welch_df

    assert welch_df(1.0, 0.0, 13, 5000) == pytest.approx(12)
    assert welch_df(2.0, 2.0, 11, 11) == pytest.approx(20)
    assert welch_df(1.0, 3.0, 6, 21) == pytest.approx(16 / (1 / 5 + 9 / 20))
    assert np.isnan(welch_df(1.0, 1.0, 1, 30))
    data, catalogue = _planted()
    noisy = data.assign(numerator=np.round(data["numerator"] * (1 + 0.03 * np.sin(
        np.arange(len(data))))))  # fmt: skip
    normal = trend_models(noisy, catalogue, ["ORG01"], baseline_year=2009, model="practice_fe")
    t = trend_models(
        noisy, catalogue, ["ORG01"], baseline_year=2009, model="practice_fe", reference="t"
    )
    row, n_row = t.iloc[0], normal.iloc[0]
    assert row["reference"] == "t" and n_row["reference"] == "normal"
    # 20 member practices (ten joiners) and 50 in the comparator (the joiners before joining)
    assert (row["org_df"], row["national_df"]) == (19, 49)
    expected_df = welch_df(row["org_slope_se"] ** 2, row["national_slope_se"] ** 2, 20, 50)
    assert row["df"] == pytest.approx(expected_df, rel=1e-12) and 19 < row["df"] < 69
    assert row["p"] == pytest.approx(2 * sps.t.sf(abs(row["z"]), row["df"]), rel=1e-12)
    assert n_row["p"] == pytest.approx(2 * sps.norm.sf(abs(n_row["z"])), rel=1e-12)
    half = sps.t.isf(0.025, row["df"]) * row["slope_difference_se"]
    assert np.log(row["ror_upper"]) == pytest.approx(row["slope_difference"] + half, rel=1e-12)
    assert row["p"] > n_row["p"] and row["ror_upper"] > n_row["ror_upper"]
    with pytest.raises(ValueError, match="parameter 'trend_reference'"):
        trend_models(data, catalogue, ["ORG01"], baseline_year=2009, reference="z")
