"""The simulation study: its truths, its methods, its Monte-Carlo errors and its rule.

Designed truths against scipy quadrature; every vectorised method against the chapter's own
functions (compare_to_national, trend_models, variation_trend) and scipy on one replication;
clustered Monte-Carlo standard errors against statsmodels' cluster-robust mean; batching and
chunking that cannot change a number; the calibration rule and the choice of defaults on
hand-made tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate
from scipy import stats as sps

from analysis.indicators.methods.comparison import compare_to_national
from analysis.indicators.methods.trends import trend_models
from analysis.indicators.methods.variation import practice_variation, variation_trend
from analysis.indicators.synthetic import simulation as sim
from analysis.indicators.synthetic import simulation_design as sd
from analysis.indicators.synthetic import simulation_fits as sf
from analysis.indicators.synthetic import simulation_report as rep

CATALOGUE = pd.DataFrame(
    {"indicator_id": ["SIM01"], "single_year": [np.nan], "distribution": ["binomial"]}
)


def _expit(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize(
    "name, half", [("reference", 0), ("outlying_practices", 0), ("skewed_score", 0),
                   ("turnover", 1), ("turnover", -1)]
)  # fmt: skip
def test_designed_expected_rates_by_quadrature(name, half):
    """scipy's adaptive quadrature over the practice effect, the practice-year effect
    integrated by the trapezoid rule on a fine grid."""
    item = sd.scenario(name)
    nodes, weights = sd.deviation_nodes(item, half)
    e = np.linspace(-9 * item.year_sd, 9 * item.year_sd, 4001)
    e_density = sps.norm.pdf(e, scale=item.year_sd)

    def integrand(z, x):
        zz = half * abs(z) if half else z
        u = sd._skewed(np.array([zz]), item.practice_sd, item.skew)[0]
        density = sps.norm.pdf(z) * (2 if half else 1)
        return np.trapezoid(_expit(x + u + e) * e_density, e) * density

    x = item.base - 0.3
    low = 0.0 if half else -9.0
    shifts = (0.0, item.outlier_shift, -item.outlier_shift) if item.outlier_share else (0.0,)
    parts = [integrate.quad(integrand, low, 9.0, args=(x + s,), epsabs=1e-12)[0] for s in shifts]
    if item.outlier_share:
        share = item.outlier_share
        expected = (1 - share) * parts[0] + share / 2 * (parts[1] + parts[2])
    else:
        expected = parts[0]
    assert float(_expit(x + nodes) @ weights) == pytest.approx(expected, rel=1e-7)


def test_design_has_the_declared_structure():
    plan = sd.design(sd.scenario("turnover"))
    assert sorted(set(plan.org_size)) == list(sd.SIZES)
    sixty = np.flatnonzero(plan.org_size == 60)[0]
    ever = (plan.member == sixty).any(axis=1)
    assert ((plan.member == sixty).sum(axis=0)[-1]) == 60  # members in the last year
    joiners = ever & (plan.member[:, 0] != sixty)
    leavers = ever & (plan.member[:, -1] != sixty)
    assert (joiners.sum(), leavers.sum()) == (15, 9)
    assert (plan.half[joiners] == 1).all() and (plan.half[leavers] == -1).all()
    assert (sd.design(sd.scenario("reference")).half == 0).all()
    with pytest.raises(ValueError, match="parameter 'scenario': unknown value 'nope'"):
        sd.scenario("nope")


@pytest.fixture(scope="module")
def one_replication():
    """Two replications of each of two scenarios, and the first as the chapter's data."""
    out = {}
    for name, index in (("reference", 0), ("turnover", 6)):
        plan = sd.design(sd.scenario(name))
        y, n = sd.draw(plan, [sd.replication_seed(3, index, i) for i in range(2)])
        out[name] = plan, y, n, sim.as_prepared(plan, y, n, 0)
    return out


def _org(index: int) -> str:
    return f"ORG{index:02d}"


@pytest.mark.parametrize("method", sf.LEVEL_METHODS)
def test_level_methods_equal_the_chapters_compare_to_national(one_replication, method):
    plan, y, n, data = one_replication["reference"]
    outcome, _, _ = sf.level_results(plan, y, n, 0.05)
    orgs = [_org(k) for k in range(plan.organisations)]
    last = data[data["year"] == data["year"].max()]
    if method in ("none", "multiplicative"):
        level = compare_to_national(last, orgs, overdispersion=method)
    else:
        level = compare_to_national(last, orgs, overdispersion="additive", tau2_method=method)
    level = level.set_index("organisation_id").loc[orgs]
    np.testing.assert_allclose(outcome.se[method][0], level["se_adjusted"], rtol=1e-9)
    np.testing.assert_allclose(
        outcome.estimate[method][0], level["rate"] - level["national_rate"], rtol=1e-12
    )
    assert (outcome.reject[method][0] == (level["p_adjusted"] < 0.05)).all()


@pytest.mark.parametrize("model", ["pooled", "stable", "practice_fe"])
def test_trend_methods_equal_the_chapters_trend_models(one_replication, model):
    """On the turnover scenario, so that practices move between organisation and rest."""
    plan, y, n, data = one_replication["turnover"]
    outcome = sf.trend_results(
        plan,
        sf.trend_groups(plan, stable=True),
        sf.trend_groups(plan, stable=False),
        y,
        n,
        0.05,
    )
    orgs = [_org(k) for k in np.flatnonzero(plan.org_size >= 2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = trend_models(
            data,
            CATALOGUE,
            orgs,
            baseline_year=2009,
            model="pooled" if model == "stable" else model,
            members="stable" if model == "stable" else "all",
            reference="t",
        ).set_index("organisation_id")
    columns = plan.org_size >= 2
    method = f"{model}, t"
    np.testing.assert_allclose(
        outcome.estimate[method][0, columns], table.loc[orgs, "slope_difference"], rtol=1e-8
    )
    np.testing.assert_allclose(
        outcome.se[method][0, columns], table.loc[orgs, "slope_difference_se"], rtol=1e-7
    )
    np.testing.assert_allclose(outcome.df[method][0, columns], table.loc[orgs, "df"], rtol=1e-7)
    classed = table.loc[orgs, "classification"] != "not different"
    assert (outcome.reject[method][0, columns] == classed.to_numpy()).all()
    if model == "pooled":
        assert (table["shared_practices"] > 0).any()  # joiners and leavers are in both fits


def test_variation_and_score_equal_the_chapter_and_scipy(one_replication):
    plan, y, n, data = one_replication["reference"]
    outcome = sf.variation_results(plan, y, n, 0.05)
    orgs = [_org(k) for k in range(plan.organisations)]
    variation = practice_variation(data, orgs)
    for measure in ("cv", "tau2_link"):
        table = variation_trend(variation, measure=measure).set_index("organisation_id")
        tested = table.loc[orgs, "variation_change"].isin(["fell", "rose"])
        got = outcome.reject[measure][0]
        sized = plan.org_size >= 2
        assert (got[sized] == tested.to_numpy()[sized]).all()
    _, _, scores = sf.level_results(plan, y, n, 0.05)
    rho = sf.score_results(plan, scores)
    for k, sign in enumerate(sf.SCORE_EFFECTS):
        which = np.isclose(plan.level_effect, sign * sd.LEVEL_EFFECT)
        for method in ("effect", "z"):
            expected = sps.spearmanr(plan.org_size[which], sign * scores[method][0, which])
            assert rho[method][0, k] == pytest.approx(expected.statistic, rel=1e-12)


def test_clustered_mcse_is_statsmodels_cluster_robust_mean():
    rng = np.random.default_rng(4)
    values = (rng.random((30, 5)) < 0.3).astype(float)
    values[rng.random((30, 5)) < 0.2] = np.nan  # some units without a result
    moments = sim.Moments()
    moments.add(("s", "level", "m", "covered"), values, [(0, "all", np.arange(5))])
    row = rep.summarise(moments.frame()).iloc[0]
    reps, units = np.nonzero(np.isfinite(values))
    x = values[reps, units]
    fit = sm.OLS(x, np.ones_like(x)).fit(cov_type="cluster", cov_kwds={"groups": reps})
    assert row["coverage"] == pytest.approx(x.mean(), rel=1e-12)
    assert row["coverage_mcse"] == pytest.approx(fit.bse[0], rel=1e-9)
    assert row["n"] == len(x) and row["replications"] == 30


def test_batches_and_chunks_add_up_to_one_run():
    whole = sim.simulate(4, scenarios=["rare_outcome"], chunk=3)
    parts = pd.concat(
        [sim.simulate(2, scenarios=["rare_outcome"]),
         sim.simulate(2, start=2, scenarios=["rare_outcome"], chunk=1)]
    )  # fmt: skip
    combined = rep.combine(parts)
    pd.testing.assert_frame_equal(
        combined.reset_index(drop=True), whole[combined.columns], rtol=1e-12, check_dtype=False
    )
    assert set(whole["analysis"]) == {"level", "trend", "tau2", "variation", "score"}
    other = sim.simulate(2, scenarios=["rare_outcome"], seed=5)
    assert not np.allclose(other["total"], sim.simulate(2, scenarios=["rare_outcome"])["total"])


def _calibration_rows(errors: dict[str, list[float]], mcse: float = 0.002) -> pd.DataFrame:
    rows = []
    for method, values in errors.items():
        for k, err in enumerate(values):
            coverage, type1 = 0.95 - err, 0.05 + err
            rows.append({"analysis": "level", "scenario": f"s{k}", "method": method,
                         "coverage": coverage, "coverage_mcse": mcse, "type1": type1,
                         "type1_mcse": mcse, "error": err,
                         "verdict": rep._verdict([coverage, type1], [mcse, mcse],
                                                 [(0.94, 0.96), (0.04, 0.06)])})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_rule_and_the_choice_follow_the_results():
    assert rep._verdict([0.951, 0.049], [0.004, 0.005], [(0.94, 0.96), (0.04, 0.06)]) == (
        "calibrated"
    )
    assert rep._verdict([0.951, 0.049], [0.004, 0.006], [(0.94, 0.96), (0.04, 0.06)]) == (
        "undetermined"
    )
    assert rep._verdict([0.93, 0.05], [0.004, 0.004], [(0.94, 0.96), (0.04, 0.06)]) == (
        "not calibrated"
    )
    assert rep._verdict([0.90, 0.05], [0.01, 0.004], [(0.94, 0.96), (0.04, 0.06)]) == (
        "not calibrated"  # wholly outside the band even with a large error
    )
    level = _calibration_rows(
        {"dl": [0.0, 0.02, 0.0], "dl_within": [0.005, 0.004, 0.003], "winsorised": [0.04] * 3}
    )
    others = {
        "trend": (["pooled, normal", "practice_fe, t"], [0.1, 0.0]),
        "variation": (["cv", "tau2_link"], [0.1, 0.0]),
    }
    frames = [level]
    for analysis, (methods, errs) in others.items():
        part = _calibration_rows(dict(zip(methods, [[e] * 3 for e in errs], strict=True)))
        frames.append(part.assign(analysis=analysis))
    score = pd.DataFrame({"analysis": "score", "scenario": ["s0", "s0"], "method": ["z", "effect"],
                          "size": 0, "effect": "non-null", "rho": [0.8, -0.02]})  # fmt: skip
    choices = rep.method_choices(pd.concat(frames), score).set_index("analysis")
    # dl_within is calibrated in all three scenarios, dl in two: the count decides
    assert choices.loc["level", "chosen"] == "dl_within"
    assert choices.loc["level", "runner_up"] == "dl"
    assert choices.loc["level", "decided_by"] == "s1"
    assert choices.loc["level", "options"] == ("overdispersion = additive, tau2_method = dl_within")
    assert choices.loc["trend", "options"] == (
        "trend_model = practice_fe, trend_members = all, trend_reference = t"
    )
    assert choices.loc["variation", "chosen"] == "tau2_link"
    assert choices.loc["score", "chosen"] == "effect"


def test_command_writes_the_batch_and_refuses_bad_input_in_one_line(tmp_path, capsys):
    out = tmp_path / "batch.csv"
    command = [sys.executable, "-m", "analysis.indicators.synthetic.simulation"]
    done = subprocess.run(
        [*command, "--batch", "1", "--replications", "2", "--scenario", "rare_outcome",
         "--alpha", "0.1", "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out, keep_default_na=False, na_values=[""])
    expected = sim.simulate(2, start=2, scenarios=["rare_outcome"], alpha=0.1)
    pd.testing.assert_frame_equal(
        written, expected.astype({"effect": object}), check_dtype=False, rtol=0, atol=0
    )
    for bad, message in (
        (["--batch", "-1"], "error: --batch -1"),
        (["--batch", "0", "--scenario", "nope"], "error: --scenario 'nope'"),
    ):
        assert sim.main([*bad, "--output", str(out)]) == 2
        said = capsys.readouterr().err.strip()
        assert said.startswith(message) and len(said.splitlines()) == 1


def _gathered(folder, frame, fixed):
    folder.mkdir(parents=True)
    frame.to_csv(folder / "results.csv", index=False)
    record = {"title": "t", "grid": {"batch": [0, 1]}, "fixed": fixed, "keys": ["k1", "k2"]}
    (folder / "gathered.json").write_text(json.dumps(record))


def test_load_replications_adds_up_the_batches(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"sweeps/simulation/results.csv: no gathered "
                       r"results of sweep 'simulation'; run `compendium run`"):  # fmt: skip
        rep.load_replications()
    first = sim.simulate(1, scenarios=["rare_outcome"])
    second = sim.simulate(1, start=1, scenarios=["rare_outcome"])
    both = pd.concat([first.assign(batch=0), second.assign(batch=1)])
    _gathered(tmp_path / "sweeps" / "simulation", both, {"replications": 1, "alpha": 0.05})
    loaded = rep.load_replications()
    expected = sim.simulate(2, scenarios=["rare_outcome"])
    np.testing.assert_allclose(loaded.frame["total"], expected["total"], rtol=1e-12)
    assert (loaded.frame["replications"] == expected["replications"]).all()
    assert loaded.alpha == 0.05 and loaded.tasks == 2 and loaded.title == "t"
    assert loaded.settings == {"batch": [0, 1], "replications": 1, "alpha": 0.05}
    _gathered(tmp_path / "sweeps" / "other", first.drop(columns="n_sq"), {})
    with pytest.raises(ValueError, match=r"other/results.csv: missing column\(s\) \['n_sq'\]"):
        rep.load_replications("other")
