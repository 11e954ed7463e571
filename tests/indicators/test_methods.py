"""Method options of the indicator analyses beyond the published ones, each checked against an
independent calculation.

The fast cluster-robust GLM against statsmodels (to 1e-8), DerSimonian-Laird per group against
the textbook formula, intervals that agree with the classification, the size-neutral score,
the link-scale variation and its vectorised slope test against scipy.
"""

from __future__ import annotations

import indicators_sim as sim
import numpy as np
import pandas as pd
import pytest
from references import statsmodels_cluster_glm
from scipy import stats as sps

from analysis.core import stats
from analysis.indicators.methods.associations import performance_scores
from analysis.indicators.methods.comparison import compare_to_national, overdispersion_table
from analysis.indicators.methods.results import method_changes, run_analysis
from analysis.indicators.methods.selection import PUBLISHED_METHODS, prepare, select, with_methods
from analysis.indicators.methods.trends import fit_trend, trend_models
from analysis.indicators.methods.variation import (
    _slopes,
    link_scale,
    link_variance,
    practice_variation,
)


@pytest.fixture(scope="module")
def panel():
    return sim.simulate(seed=5, n_practices=400, practice_sd=0.3)


@pytest.fixture(scope="module")
def prepared(panel):
    selection = select(panel["observations"], panel["catalogue"], panel["organisations"])
    data = prepare(panel["observations"], panel["membership"], panel["catalogue"], selection)
    return selection, data


@pytest.mark.parametrize("indicator", ["PRE01", "HOS01"])
def test_fast_glm_matches_statsmodels(prepared, indicator):
    _, data = prepared
    frame = data[(data["indicator_id"] == indicator) & data["organisation_id"].isna()]
    distribution = frame["distribution"].iloc[0]
    mine = fit_trend(frame, distribution, 2009)
    time = (frame["year"] - 2009).to_numpy(dtype=float)
    design = np.column_stack([np.ones_like(time), time])
    ref = statsmodels_cluster_glm(frame, design, distribution)
    se = np.sqrt(np.diag(ref.cov_params()))
    got = [mine["level"], mine["slope"], mine["level_se"], mine["slope_se"]]
    np.testing.assert_allclose(got, [*ref.params, *se], rtol=1e-8, atol=1e-12)


def test_overdispersion_dl_against_textbook_formula(prepared):
    _, data = prepared
    table = overdispersion_table(data, tau2_method="dl").set_index(["indicator_id", "year"])
    for (indicator, year), group in data.groupby(["indicator_id", "year"]):
        p0 = group["numerator"].sum() / group["denominator"].sum()
        if group["distribution"].iloc[0] == "binomial":
            v = p0 * (1 - p0) / group["denominator"]
        else:
            v = p0 / group["denominator"]
        w = 1 / v
        ybar = np.sum(w * group["rate"]) / w.sum()
        q = np.sum(w * (group["rate"] - ybar) ** 2)
        tau2 = max(q - (len(group) - 1), 0) / (w.sum() - (w**2).sum() / w.sum())
        assert table.loc[(indicator, year), "tau2"] == pytest.approx(tau2, rel=1e-9, abs=1e-15)


def test_reml_and_rescaled_options_run_and_order(prepared):
    _, data = prepared
    tau2 = {
        m: overdispersion_table(data, tau2_method=m)["tau2"].to_numpy() for m in stats.TAU2_METHODS
    }
    # rescaling divides phi by 0.6787 > 0: never smaller than the published estimate
    assert np.all(tau2["winsorised_rescaled"] >= tau2["winsorised"] - 1e-15)
    assert np.all(tau2["reml"] >= 0) and np.all(np.isfinite(tau2["reml"]))
    with pytest.raises(ValueError, match="tau2_method"):
        overdispersion_table(data, tau2_method="ml")


@pytest.mark.parametrize("comparator", ["england", "rest"])
def test_adjusted_interval_agrees_with_classification(prepared, comparator):
    selection, data = prepared
    level = compare_to_national(
        data, selection.organisations, tau2_method="dl", comparator=comparator
    )
    excludes = (level["ci_lower_adjusted"] > level["national_rate"]) | (
        level["ci_upper_adjusted"] < level["national_rate"]
    )
    assert ((level["classification"] != "not different") == excludes).all()
    if comparator == "rest":
        rest = data[data["organisation_id"].isna()]
        rates = rest.groupby(["indicator_id", "year"])[["numerator", "denominator"]].sum()
        expected = (rates["numerator"] / rates["denominator"]).rename("expected")
        joined = level.join(expected, on=["indicator_id", "year"])
        np.testing.assert_allclose(joined["national_rate"], joined["expected"], rtol=1e-12)


def test_effect_score_is_the_mean_signed_link_effect():
    summary = pd.DataFrame(
        {
            "organisation_id": ["A", "A", "B"],
            "comparison": "level",
            "higher_is_better": [True, False, True],
            "z": [2.0, 1.0, -1.0],
            "effect": [0.2, 0.1, -0.3],
        }
    )
    z = performance_scores(summary, score="z").set_index("organisation_id")["score"]
    effect = performance_scores(summary, score="effect").set_index("organisation_id")["score"]
    assert z.to_dict() == pytest.approx({"A": 0.5, "B": -1.0})
    assert effect.to_dict() == pytest.approx({"A": 0.05, "B": -0.3})
    with pytest.raises(ValueError, match="'score'"):
        performance_scores(summary, score="rank")


def test_link_variance_is_dersimonian_laird_per_group(prepared):
    selection, data = prepared
    members = data[data["organisation_id"].isin(selection.organisations)]
    fast = link_variance(members).set_index(["organisation_id", "indicator_id", "year"])
    scaled = link_scale(members)
    for key, group in scaled.groupby(["organisation_id", "indicator_id", "year"]):
        if len(group) < 2:
            continue
        expected = stats.dersimonian_laird(group["y"], group["v"])
        assert fast.loc[key, "tau2_link"] == pytest.approx(expected, rel=1e-9, abs=1e-14)
    # hand-worked link scale: 3 of 10 -> log(3.5 / 7.5), variance 1/3.5 + 1/7.5
    one = pd.DataFrame({"numerator": [3.0], "denominator": [10.0], "distribution": ["binomial"]})
    row = link_scale(one).iloc[0]
    assert (row["y"], row["v"]) == pytest.approx((np.log(3.5 / 7.5), 1 / 3.5 + 1 / 7.5))


def test_vectorised_slopes_match_linregress(prepared):
    selection, data = prepared
    variation = practice_variation(data, selection.organisations)
    fast = _slopes(variation, "tau2_link")
    for key, group in variation.groupby(["organisation_id", "indicator_id"]):
        group = group.dropna(subset=["tau2_link"])
        if len(group) < 3:
            assert np.isnan(fast.loc[key, "slope"])
            continue
        ref = sps.linregress(group["year"].astype(float), group["tau2_link"])
        assert fast.loc[key, "slope"] == pytest.approx(ref.slope, rel=1e-9, abs=1e-15)
        assert fast.loc[key, "slope_p"] == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-12)


def test_trend_options(panel, prepared):
    selection, data = prepared
    base = trend_models(data, panel["catalogue"], selection.organisations, baseline_year=2009)
    stable = trend_models(
        data, panel["catalogue"], selection.organisations, baseline_year=2009, members="stable"
    )
    assert (stable["n_practices"] <= base["n_practices"]).all()
    assert (stable["n_practices"] < base["n_practices"]).any()  # the simulated panel has joiners
    england = trend_models(
        data, panel["catalogue"], selection.organisations, baseline_year=2009, comparator="england"
    )
    everyone = data[data["indicator_id"] == england["indicator_id"].iloc[0]]
    fit = fit_trend(everyone, everyone["distribution"].iloc[0], 2009)
    assert england["national_slope"].iloc[0] == pytest.approx(fit["slope"], rel=1e-12)
    with pytest.raises(ValueError, match="trend_comparator"):
        trend_models(
            data,
            panel["catalogue"],
            selection.organisations,
            baseline_year=2009,
            comparator="england",
            method="interaction",
        )


def test_method_changes_count_moved_classes(panel, prepared):
    selection, data = prepared
    args = (data, panel["catalogue"], panel["organisations"])
    new = run_analysis(
        *args, with_methods(selection, tau2_method="dl", variation_measure="tau2_link")
    )
    old = run_analysis(*args, with_methods(selection, **PUBLISHED_METHODS))
    same = method_changes(old, old)
    assert (same["moved"] == 0).all()
    changes = method_changes(new, old).set_index(["table", "comparison"])
    merged = new.summary.merge(
        old.summary, on=["organisation_id", "indicator_id", "comparison"], suffixes=("", "_old")
    )
    level = merged[merged["comparison"] == "level"]
    moved = int((level["class_unadjusted"] != level["class_unadjusted_old"]).sum())
    assert changes.loc[("summary (unadjusted)", "level"), "moved"] == moved
    assert changes.loc[("summary (unadjusted)", "level"), "n"] == len(level)


def test_with_methods_names_the_parameter(prepared):
    selection, _ = prepared
    with pytest.raises(ValueError, match="parameter 'tau2_method'"):
        with_methods(selection, tau2_method="nope")
    with pytest.raises(ValueError, match="method option"):
        with_methods(selection, colour="red")
    assert with_methods(selection, score="effect").score == "effect"


def test_truth_table_has_the_designed_level_target(panel, prepared):
    selection, data = prepared
    res = run_analysis(
        data, panel["catalogue"], panel["organisations"], selection, truth=panel["truth"]
    )
    table = res.truth.set_index(["parameter", "organisation_id", "indicator_id"])
    realised = table.loc["realised_level_log_ratio"]
    designed = table.loc["designed_level_log_ratio"]
    # same estimate and interval, a target without the finite-sample practice effects
    pd.testing.assert_series_equal(realised["estimate"], designed["estimate"])
    truth = panel["truth"]
    mean_u = truth[truth["parameter"] == "mean_practice_effect"].set_index(
        ["organisation_id", "indicator_id"]
    )["value"]
    shift = (realised["truth"] - designed["truth"]).dropna()
    assert len(shift)
    # the shift is mean_practice_effect times the (positive, at most 1) attenuation
    ratio = shift / mean_u.reindex(shift.index)
    ok = mean_u.reindex(shift.index).abs() > 1e-9
    assert ((ratio[ok] > 0) & (ratio[ok] <= 1 + 1e-12)).all()


def test_sensitivity_counts_equal_single_runs(panel, prepared):
    from dataclasses import replace

    from analysis.indicators.methods.results import sensitivity_counts

    selection, data = prepared
    args = (data, panel["catalogue"], panel["organisations"])
    methods = ("winsorised", "dl")
    grid = sensitivity_counts(*args, selection, alphas=(0.01, 0.1), tau2_methods=methods)
    assert len(grid) == 2 * 2 * grid["comparison"].nunique()
    for alpha in (0.01, 0.1):
        for method in methods:
            chosen = replace(with_methods(selection, tau2_method=method), alpha=alpha)
            single = run_analysis(*args, chosen).summary
            point = grid[(grid["alpha"] == alpha) & (grid["tau2_method"] == method)]
            for comparison, group in single.groupby("comparison"):
                row = point[point["comparison"] == comparison].iloc[0]
                assert row["better"] == (group["class_unadjusted"] == "better").sum()
                assert row["worse"] == (group["class_unadjusted"] == "worse").sum()
                assert row["n"] == len(group)
    # the grid is not trivially constant: the estimator or alpha moves some classes
    moved = grid.groupby(["alpha", "tau2_method"])[["better", "worse"]].sum()
    assert len(moved.drop_duplicates()) > 1


def test_trend_fits_are_shared_only_between_analyses_with_the_same_trend_options(
    panel, prepared, monkeypatch
):
    from dataclasses import fields, replace

    from analysis.indicators.methods import results as results_module
    from analysis.indicators.methods.results import sensitivity_counts

    selection, data = prepared
    args = (data, panel["catalogue"], panel["organisations"])
    fresh = run_analysis(*args, selection)
    assert len(fresh.trend_fits) and "classification" not in fresh.trend_fits
    other = with_methods(selection, tau2_method="winsorised", score="z")
    alone = run_analysis(*args, other)
    with monkeypatch.context() as patched:  # given fits, nothing is fitted again
        patched.setattr(results_module, "trend_fits", lambda *a, **k: pytest.fail("refitted"))
        shared = run_analysis(*args, other, fits=fresh.trend_fits)
        borrowed = sensitivity_counts(*args, selection, alphas=(0.01, 0.05), results=fresh)
    for f in fields(shared):
        if isinstance(getattr(shared, f.name), pd.DataFrame):
            pd.testing.assert_frame_equal(getattr(shared, f.name), getattr(alone, f.name))
    # fits made for other trend options or organisations are refused, naming both
    with pytest.raises(ValueError, match=r"fits: made with .*'model': \['pooled'\].* needs .*"
                       r"'model': 'practice_fe'"):  # fmt: skip
        run_analysis(*args, replace(selection, trend_model="practice_fe"), fits=fresh.trend_fits)
    fewer = replace(selection, organisations=selection.organisations[:2])
    with pytest.raises(ValueError, match="fits: made with"):
        run_analysis(*args, fewer, fits=fresh.trend_fits)
    # the sensitivity grid borrowing the analysis's fits and variances is the same grid
    grid = sensitivity_counts(*args, selection, alphas=(0.01, 0.05))
    pd.testing.assert_frame_equal(grid, borrowed)


def test_within_organisation_variance_of_the_overdispersion_table(prepared):
    _, data = prepared
    table = overdispersion_table(data, tau2_method="dl_within").set_index(["indicator_id", "year"])
    for (indicator, year), group in data.groupby(["indicator_id", "year"]):
        p0 = group["numerator"].sum() / group["denominator"].sum()
        binomial = group["distribution"].iloc[0] == "binomial"
        w = group["denominator"] / (p0 * (1 - p0) if binomial else p0)
        q = denominator = 0.0
        for _, part in group.assign(w=w).groupby(group["organisation_id"].fillna("none")):
            mean = np.sum(part["w"] * part["rate"]) / part["w"].sum()
            q += np.sum(part["w"] * (part["rate"] - mean) ** 2) - (len(part) - 1)
            denominator += part["w"].sum() - np.sum(part["w"] ** 2) / part["w"].sum()
        expected = max(q, 0.0) / denominator
        assert table.loc[(indicator, year), "tau2"] == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_method_tables_and_their_sentences(panel, prepared):
    from analysis.core.sentences import check_sentences
    from analysis.indicators.report.methods_report import method_sentences, method_tables

    selection, data = prepared
    args = (data, panel["catalogue"], panel["organisations"])
    new = with_methods(selection, tau2_method="dl_within", trend_model="practice_fe",
                       trend_reference="t")  # fmt: skip
    results = run_analysis(*args, new)
    published = run_analysis(*args, with_methods(selection, **PUBLISHED_METHODS))
    tables = method_tables(results, published)
    said = method_sentences(tables)
    assert check_sentences(said.frame(), tables) == []
    level = results.level
    quiet = level["classification"] == "not different"
    outside = (level["ci_lower"] > level["national_rate"]) | (
        level["ci_upper"] < level["national_rate"]
    )
    checks = tables["interval_checks"].iloc[0]
    assert checks["rows"] == len(level) and checks["not_different"] == quiet.sum()
    assert checks["sampling_only_excludes"] == (outside & quiet).sum()
    assert checks["adjusted_excludes"] == 0  # the shown interval agrees with the class
    side = tables["trend_side_by_side"].set_index(["organisation_id", "indicator_id"])
    head = results.trend.set_index(["organisation_id", "indicator_id"])
    old = published.trend.set_index(["organisation_id", "indicator_id"])
    assert (side["classification"] == head["classification"]).all()
    assert (side["classification_published"] == old["classification"]).all()
    counts = tables["trend_counts"].set_index("fit")
    assert counts.loc["headline", "label"] == "practice_fe, t reference"
    assert counts.loc["published", "label"] == "pooled, normal reference"
    assert counts.loc["published", "better"] == (old["classification"] == "better").sum()
    assert (
        counts.loc["headline", "moved"] == (head["classification"] != old["classification"]).sum()
    )
    moves = tables["method_moves"].set_index("comparison")
    assert moves.loc["trend", "moved"] == counts.loc["headline", "moved"]
    assert str(moves.loc["level", "moved"]) in said.text("moved")
