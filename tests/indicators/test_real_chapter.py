"""The REAL networks chapter's analyses, checked against statsmodels and hand-worked cases.

The chapter end to end (its notebook in the session's pipeline build, its sentences against its
written tables) is in tests/e2e/test_real_chapter_build.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from analysis.indicators import org_compare, real_chapter, rule_trends, turnover
from analysis.indicators import real_figures as figs
from analysis.indicators import structures as st


def _units(rng: np.random.Generator, indicators: int, organisations: int) -> pd.DataFrame:
    rows = []
    for i in range(indicators):
        v = rng.uniform(0.0005, 0.004, organisations)
        y = 0.7 + rng.normal(0, 0.05, organisations) + rng.normal(0, np.sqrt(v))
        y[:2] += (0.4, -0.4)  # two planted outliers beyond the between-organisation spread
        rows.append(
            pd.DataFrame(
                {
                    "source": "s",
                    "family": "s achievement",
                    "indicator_id": f"X{i:03d}",
                    "domain": "X" if i % 2 else "Y",
                    "direction": "lower" if i == 0 else "higher",
                    "organisation_id": [f"O{j}" for j in range(organisations)],
                    "value": y,
                    "variance": v,
                    "size": 1 / v,
                    "england": 0.7,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_levels_use_the_dersimonian_laird_variance_and_bh_as_statsmodels_computes_them():
    units = _units(np.random.default_rng(1), 3, 60)
    out = org_compare.compare_to_england(units, alpha=0.05, tau2_method="dl")
    for _, group in out.groupby("indicator_id"):
        reference = combine_effects(group["value"], group["variance"], method_re="dl")
        assert group["tau2"].iloc[0] == pytest.approx(reference.tau2, rel=1e-10)
        z = (group["value"] - 0.7) / np.sqrt(group["variance"] + reference.tau2)
        assert np.allclose(group["z"], z)
    assert np.allclose(out["p_bh"], multipletests(out["p"], method="fdr_bh")[1])
    significant = out["p_bh"] < 0.05
    above = out["value"] > 0.7
    lower_better = out["direction"] == "lower"
    expected = np.where(
        significant, np.where(above ^ lower_better, "better", "worse"), "not different"
    )
    assert (out["classification"] == expected).all()
    assert (out["classification"] != "not different").any()
    # the sampling-only classification ignores tau2 and flags far more
    assert (out["classification_sampling"] != "not different").sum() > significant.sum()


def test_summaries_count_what_the_comparison_says():
    out = org_compare.compare_to_england(_units(np.random.default_rng(2), 4, 50))
    summary = org_compare.domain_summary(out).set_index("domain")
    for domain in ("X", "Y"):
        part = out[out["domain"] == domain]
        assert summary.loc[domain, "comparisons"] == len(part)
        assert summary.loc[domain, "worse"] == (part["classification"] == "worse").sum()
    assert summary.loc["all", "comparisons"] == len(out)
    per_indicator = org_compare.indicator_summary(out)
    assert per_indicator[["better", "not different", "worse"]].sum().sum() == len(out)


def test_simple_regression_matches_statsmodels_hc1():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    y = 0.3 * x + rng.normal(size=80) * (1 + np.abs(x))
    slope, se, p = org_compare.simple_regression(x, y)
    fit = sm.OLS(y, sm.add_constant(x)).fit(cov_type="HC1")
    assert slope == pytest.approx(fit.params[1], rel=1e-10)
    assert se == pytest.approx(fit.bse[1], rel=1e-10)
    assert p == pytest.approx(fit.pvalues[1], rel=1e-8)


def _panel(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for practice in range(30):
        years = [2019, 2020, 2021] if practice % 5 else [2020, 2021]
        level = rng.normal(90, 4)
        for year in years:
            value = level + 0.8 * (year - 2019) + rng.normal(0, 1)
            rows.append({"practice_code": f"P{practice:02d}", "year": year, "value": value})
    frame = pd.DataFrame(rows)
    frame["organisation_id"] = "G" + (frame["practice_code"].str[1:].astype(int) % 3).astype(str)
    frame["indicator_id"] = "T"
    return frame


@pytest.mark.parametrize("fixed_effects", [False, True])
def test_slopes_and_cluster_errors_match_statsmodels(fixed_effects):
    frame = _panel(np.random.default_rng(4))
    out = rule_trends._slopes(frame, ["indicator_id", "organisation_id"], fixed_effects)
    for row in out.itertuples():
        part = frame[frame["organisation_id"] == row.organisation_id].reset_index(drop=True)
        design = pd.DataFrame({"year": part["year"].astype(float)})
        if fixed_effects:
            design = design.join(pd.get_dummies(part["practice_code"], dtype=float))
        else:
            design = sm.add_constant(design)
        groups = pd.factorize(part["practice_code"])[0]
        fit = sm.OLS(part["value"], design).fit(
            cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}
        )
        clusters = len(set(groups))
        assert row.slope == pytest.approx(fit.params["year"], rel=1e-9)
        assert row.se == pytest.approx(
            fit.bse["year"] * np.sqrt(clusters / (clusters - 1)), rel=1e-7
        )
        assert row.practices == clusters


def test_fixed_effects_remove_what_turnover_does_to_a_trend():
    # Every practice rises by 0.3 to 0.7 points from 2019 to 2021; B (level 50) moves from
    # Y to X in 2021, among X's practices at 80 and 90.
    change = {"A": 0.6, "E": 0.4, "B": 0.5, "C": 0.3, "D": 0.7}
    level = {"A": 90.0, "E": 80.0, "B": 50.0, "C": 70.0, "D": 71.0}
    panel = pd.DataFrame(
        [
            {
                "practice_code": p,
                "year": y,
                "indicator_id": "T",
                "value": level[p] + change[p] * (y == 2021),
            }
            for p in change
            for y in (2019, 2021)
        ]
    )
    own = pd.DataFrame(
        {
            "practice_code": ["A", "A", "E", "E", "B", "B", "C", "C", "D", "D"],
            "year": [2019, 2021] * 5,
            "organisation_id": ["X", "X", "X", "X", "Y", "X", "Y", "Y", "Y", "Y"],
        }
    )
    trends = rule_trends.organisation_trends(panel, {"own": own, "practice_fe": own})
    slope = trends.set_index(["rule", "organisation_id"])["slope"]
    assert slope["practice_fe", "X"] == pytest.approx((0.6 + 0.4) / 2 / 2)  # within A and E
    assert slope["own", "X"] < -5  # B's lower level, brought in 2021, looks like a fall
    assert slope["own", "Y"] > 3  # and its leaving looks like a rise
    assert np.allclose(trends["england_slope"], 0.5 / 2)


def test_turnover_counts_a_hand_worked_move():
    frame = pd.DataFrame(
        {
            "practice_code": ["A", "B", "C", "D", "A", "B", "C", "E"],
            "year": [2019] * 4 + [2020] * 4,
            "pcn_code": ["P1", "P1", "P2", "U", "P1", "P3", "P2", "P3"],
        }
    )
    frame["in_pcn"] = frame["pcn_code"] != "U"
    got = turnover.compare_years(frame, 2019, 2020)
    assert got["practices_both"] == 3 and got["changed_pcn"] == 1  # B: P1 -> P3
    assert got["closed"] == 1 and got["opened"] == 1  # D closed, E opened
    assert got["pcns_formed"] == 1 and got["pcns_closed"] == 0  # P3 new
    assert got["pcns_same_members"] == 1  # P2 = {C}; P1 lost B
    assert got["share_changed_pcn"] == pytest.approx(1 / 3)
    sizes = turnover.year_sizes(frame).set_index("year")
    assert sizes.loc[2019, "pcns"] == 2 and sizes.loc[2019, "not_in_pcn"] == 1
    assert turnover.turnover_summary(frame).loc[0, "moved"] == 1


def test_group_units_are_member_means_with_within_variance_over_n():
    values = pd.DataFrame(
        {"practice_code": list("ABCDE"), "indicator_id": "AF", "value": [90.0, 100, 80, 70, 60]}
    )
    members = pd.DataFrame({"practice_code": list("ABCD"), "organisation_id": ["X", "X", "Y", "Y"]})
    variation = pd.DataFrame({"indicator_id": ["AF"], "within_sd": [10.0]})
    units = real_chapter.group_units(values, members, variation).set_index("organisation_id")
    assert units.loc["X", "value"] == 95 and units.loc["Y", "value"] == 75
    assert units.loc["X", "variance"] == 50 and units.loc["X", "size"] == 2
    assert (units["england"] == 80).all()  # every practice, E (in no PCN) included


def test_membership_rules_on_the_stored_mappings_give_what_the_files_say():
    practices = st.read_structure_years(st.stored_files()).practices
    own = st.membership_table(practices, [2019, 2021], None)
    fixed = st.membership_table(practices, [2019, 2021], 2023)
    in_2023 = practices[(practices["year"] == 2023) & practices["in_pcn"]]
    assert len(fixed) == 2 * len(in_2023)
    assert set(own["year"]) == {2019, 2021}
    assert not own.duplicated(["practice_code", "year"]).any()


def test_funnel_grid_and_summary_stay_bounded_at_1300_organisations_and_50_indicators():
    units = _units(np.random.default_rng(5), 50, 1300)
    out = org_compare.compare_to_england(units)
    summary = org_compare.indicator_summary(out)
    fig = figs.funnel_grid(out, summary, "s achievement", columns=7, label=1)
    assert len(fig.axes) == 1  # one drawing area, whatever the number of indicators
    width, height = fig.get_size_inches()
    # Drawn for the book column: three cells across (of the seven asked for), each as tall as
    # its funnel and a three-line title at the smallest type; rows grow with the indicators.
    cell = 1.3 + 3 * figs.MIN_FONT * 1.25 / 72
    assert width == figs.WIDE and height == pytest.approx(cell * -(-50 // 3) + 1.4)
    named = {t.get_text().strip() for t in fig.axes[0].texts} - {
        t.get_text() for t in fig.axes[0].texts if "\n" in t.get_text()
    }
    assert len(fig.axes[0].texts) <= 50 + 2 * 50  # a title and at most two names per indicator
    assert {"O0", "O1"} <= named  # the planted outliers are named
    figs.plt.close(fig)
    fig = figs.summary_figure(org_compare.domain_summary(out))
    assert len(fig.axes[0].get_yticks()) == 2  # one row per domain, not per organisation
    figs.plt.close(fig)


def test_bad_parameters_are_named(tmp_path):
    from analysis.indicators import organisation_table as ot
    from analysis.indicators import practice_groups as pg

    files = {
        "membership_source": st.stored_files()[0].parent,
        "organisation_table": ot.stored_file(),
        "organisation_mapping": ot.stored_mapping(),
        "practice_groups": pg.stored_file(),
        "practice_groups_mapping": pg.stored_mapping(),
        "qof_source": st.stored_files()[0].parent.parent / "qof",
    }
    with pytest.raises(ValueError) as err:  # one run, every problem named
        real_chapter.run_real_chapter(**files, membership_year=2018, tau2_method="mean")
    message = str(err.value)
    assert message.startswith("2 input problem(s):")
    assert "parameter 'membership_year': 2018 has no mapping file" in message
    assert "parameter 'tau2_method': 'mean'" in message
    from analysis.indicators.real_inputs import folder_files

    with pytest.raises(ValueError, match="parameter 'membership_source': .* is not a folder"):
        folder_files(tmp_path / "none", "*.parquet", "membership_source")


def test_every_input_problem_is_reported_at_once(tmp_path):
    from analysis.indicators import organisation_table as ot
    from analysis.indicators import practice_groups as pg
    from analysis.indicators import real_inputs

    folder = tmp_path / "membership"
    folder.mkdir()
    for path in st.stored_files():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "structures_2024_2025.parquet").write_text("not parquet\n")
    mapping = tmp_path / "practice_groups_x.yml"
    mapping.write_text(pg.stored_mapping().read_text().replace("scale: percent", "scale: per cent"))
    parameters = {
        **real_inputs.DEFAULTS,
        "membership_source": str(folder),
        "practice_groups_mapping": str(mapping),
        "trend_years": [2020, 2021],
        "tau2_method": "mean",
    }
    with pytest.raises(real_inputs.InputProblems) as err:
        real_inputs.read_inputs(**parameters)
    lines = str(err.value).splitlines()
    assert lines[0] == "4 input problem(s):"
    assert lines[1].strip().startswith("parameter 'tau2_method': 'mean'")
    assert "structures_2024_2025.parquet: not a readable Parquet file" in lines[2]
    assert "practice_groups_x.yml:12: scale: expected one of percent, proportion" in lines[3]
    assert "parameter 'trend_years': [2020, 2021] needs" in lines[4]
    assert ot.stored_file().exists()  # nothing was written or moved
    code = real_inputs.main(["--parameters", __import__("json").dumps(parameters)])
    assert code == 2
