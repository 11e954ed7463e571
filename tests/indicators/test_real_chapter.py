"""The REAL networks chapter's analyses, checked against statsmodels and hand-worked cases.

The chapter end to end (its notebook in the session's pipeline build, its sentences against its
written tables) is in tests/e2e/test_real_chapter_build.py.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from references import statsmodels_cluster_slope
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from analysis.core.datasets import DataError
from analysis.errors import run_main
from analysis.indicators.methods.associations import simple_regression
from analysis.indicators.networks import real_chapter, real_levels, rule_trends
from analysis.indicators.networks import real_figures as figs
from analysis.indicators.sources import structures as st
from analysis.indicators.sources import turnover
from analysis.indicators.sources import widetable as wt
from analysis.paths import repo_root

#: A wide table mapping for a practice-level groups file (one achievement column).
GROUPS_MAPPING = Path(__file__).parent / "fixtures" / "wide_groups.yml"

PCN_MAPPING = """level: organisation
unit: PCN_CODE
year: 2021
exclude: [U]
missing: [NA]
indicators:
  - {prefix: ACHV_, domain: achievement, distribution: binomial, higher_is_better: true}
  - {prefix: PREV_, domain: prevalence, distribution: binomial, higher_is_better: null}
characteristics: {list_size: POP}
"""


def _pcn_table(tmp_path, rng: np.random.Generator, organisations: int = 80) -> dict:
    """A small PCN table (two achievement indicators, one register, a no-PCN row U) written
    as CSV with its mapping, and the columns drawn."""
    codes = ["U", *(f"P{i:03d}" for i in range(organisations))]
    n = len(codes)
    columns = {
        "PCN_CODE": codes,
        "POP": rng.integers(20_000, 90_000, n),
        "PREV_AF": rng.uniform(0.01, 0.03, n),
        "ACHV_AF006": np.clip(0.85 + rng.normal(0, 0.04, n), 0, 1),
        "ACHV_XY001": np.clip(0.6 + rng.normal(0, 0.08, n), 0, 1),  # no XY register
    }
    columns["ACHV_AF006"][1:3] = (0.2, 0.999)  # two planted outliers beyond the spread
    frame = pd.DataFrame(columns)
    (tmp_path / "pcn.csv").write_text(frame.to_csv(index=False))
    (tmp_path / "wide_pcn.yml").write_text(PCN_MAPPING)
    return columns


@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_pcn_levels_are_the_generic_analysis_with_dersimonian_laird_and_bh_per_family(
    tmp_path, alpha
):
    drawn = _pcn_table(tmp_path, np.random.default_rng(1))
    wide = wt.read_wide_table(tmp_path / "pcn.csv", tmp_path / "wide_pcn.yml")
    results = real_levels.compare(real_levels.table_panel(wide), alpha=alpha, tau2_method="dl")
    # each PCN is one unit: no between-practice adjustment, the PCNs' variance added instead
    chosen = results.selection
    assert (chosen.alpha, chosen.overdispersion, chosen.organisation_variance) == (
        alpha, "none", "dl"
    )  # fmt: skip
    assert results.variation.empty and results.trend_fits.empty  # no practices to spread
    levels = real_levels.level_rows(results, "pcn_table", "dl")
    # rows by the selection's indicator order (not sorted ids), then organisation
    assert chosen.indicators != sorted(chosen.indicators)
    order = {indicator: k for k, indicator in enumerate(chosen.indicators)}
    keys = list(zip(levels["indicator_id"].map(order), levels["organisation_id"], strict=True))
    assert keys == sorted(keys)
    assert levels.index.equals(pd.RangeIndex(len(levels)))
    assert set(levels["organisation_id"]) == {f"P{i:03d}" for i in range(80)}  # U is England's
    pop, prev = drawn["POP"].astype(float), drawn["PREV_AF"]
    registers = {"AF006": prev * pop, "XY001": pop, "AF": pop}  # a register, or the population
    values = {"AF006": drawn["ACHV_AF006"], "XY001": drawn["ACHV_XY001"], "AF": prev}
    for indicator, n in registers.items():
        y = values[indicator]
        england = np.sum(y * n) / np.sum(n)  # every row, U included
        part = levels[levels["indicator_id"] == indicator]
        v = england * (1 - england) / n[1:]  # sampling variance under England's rate
        reference = combine_effects(y[1:], v, method_re="dl")
        assert part["england"].iloc[0] == pytest.approx(england, rel=1e-12)
        assert part["tau2"].iloc[0] == pytest.approx(reference.tau2, rel=1e-9)
        np.testing.assert_allclose(part["z"], (y[1:] - england) / np.sqrt(v + reference.tau2))
        np.testing.assert_allclose(part["z_sampling"], (y[1:] - england) / np.sqrt(v))
    for _, part in levels.groupby("family"):  # BH within each family (domain)
        assert np.allclose(part["p_bh"], multipletests(part["p"], method="fdr_bh")[1])
    achievement = levels[levels["family"] == "pcn_table achievement"]
    significant = achievement["p_bh"] < alpha
    expected = np.where(
        significant, np.where(achievement["value"] > achievement["england"], "better", "worse"),
        "not different",
    )  # fmt: skip
    assert (achievement["classification"] == expected).all()
    assert set(achievement.loc[achievement["classification"] == "worse", "organisation_id"]) >= {
        "P000"
    }
    prevalence = levels[levels["family"] == "pcn_table prevalence"]
    assert set(prevalence["classification"]) <= {"higher", "lower", "not different"}
    assert (levels["domain"].isin(["AF", "XY"])).all()  # the clinical area: letters of the id
    unadjusted = achievement["p_sampling"] < alpha
    above = achievement["value"] > achievement["england"]
    assert (
        achievement["classification_sampling"]
        == np.where(unadjusted, np.where(above, "better", "worse"), "not different")
    ).all()
    # the sampling-only classification ignores tau2 and flags far more
    assert (achievement["classification_sampling"] != "not different").sum() > significant.sum()


def test_summaries_count_what_the_comparison_says(tmp_path):
    _pcn_table(tmp_path, np.random.default_rng(2))
    wide = wt.read_wide_table(tmp_path / "pcn.csv", tmp_path / "wide_pcn.yml")
    results = real_levels.compare(real_levels.table_panel(wide), alpha=0.05, tau2_method="dl")
    out = real_levels.level_rows(results, "pcn_table", "dl")
    summary = real_levels.domain_summary(out).set_index(["family", "domain"])
    for (family, domain), part in out.groupby(["family", "domain"]):
        assert summary.loc[(family, domain), "comparisons"] == len(part)
        assert summary.loc[(family, domain), "worse"] == (part["classification"] == "worse").sum()
    assert summary.loc[("pcn_table achievement", "all"), "comparisons"] == 160
    per_indicator = real_levels.indicator_summary(out)
    classes = ["better", "not different", "worse", "higher", "lower"]
    assert per_indicator[classes].sum().sum() == len(out)
    without = real_levels.level_rows(
        real_levels.compare(
            real_levels.table_panel(wide, denominators=False), alpha=0.05, tau2_method="dl"
        ),
        "pcn_table", "dl",
    )  # fmt: skip
    sensitivity = real_levels.denominator_sensitivity(out, without).set_index("family")
    joined = out.merge(without, on=["indicator_id", "organisation_id"], suffixes=("", "_none"))
    changed = (joined["classification"] != joined["classification_none"]).groupby(joined["family"])
    assert sensitivity["changed_class"].to_dict() == changed.sum().to_dict()


def test_simple_regression_matches_statsmodels_hc1():
    rng = np.random.default_rng(3)
    x = rng.normal(size=80)
    y = 0.3 * x + rng.normal(size=80) * (1 + np.abs(x))
    slope, se, p = simple_regression(x, y)
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
        slope, se, clusters = statsmodels_cluster_slope(part, fixed_effects)
        assert row.slope == pytest.approx(slope, rel=1e-9)
        assert row.se == pytest.approx(se, rel=1e-7)
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


def test_group_levels_are_member_means_against_the_spread_between_and_within_pcns(tmp_path):
    (tmp_path / "groups.csv").write_text(
        '"","Practice.Code","Achievement_AF"\n"1","A00001",90\n"2","A00002",100\n'
        '"3","A00003",80\n"4","A00004",70\n"5","A00005",60\n'
    )
    (tmp_path / "wide_groups.yml").write_text(GROUPS_MAPPING.read_text())
    wide = wt.read_wide_table(tmp_path / "groups.csv", tmp_path / "wide_groups.yml")
    members = pd.DataFrame(
        {"practice_code": ["A00001", "A00002", "A00003", "A00004"], "year": 2023,
         "organisation_id": ["X", "X", "Y", "Y"]}
    )  # fmt: skip
    panel = real_levels.groups_panel(wide, members)
    results = real_levels.compare(panel, alpha=0.05, tau2_method="dl")
    # practices in PCNs: the between-practice variance within PCNs, then the PCNs' between
    assert results.selection.overdispersion == "additive"
    assert results.selection.organisations == ["X", "Y"]
    assert not results.variation.empty  # the practices' spread within each PCN
    reml = real_levels.compare(panel, alpha=0.05, tau2_method="reml").selection
    assert (reml.organisation_variance, reml.tau2_method) == ("reml", "dl_within")
    levels = real_levels.level_rows(results, "cvd_groups", "dl").set_index("organisation_id")
    assert levels.loc["X", "value"] == 95 and levels.loc["Y", "value"] == 75
    assert (levels["england"] == 80).all()  # every practice, A00005 (in no PCN) included
    # within PCNs: (5^2 + 5^2 + 5^2 + 5^2) / (5 practices - 3 groups) = 50; over 2 members
    assert levels.loc["X", "variance"] == pytest.approx(25) and levels.loc["X", "size"] == 2
    # between PCNs, DerSimonian-Laird with equal variances: the means' variance less theirs
    assert levels["tau2"].iloc[0] == pytest.approx(np.var([95, 75], ddof=1) - 25)
    assert levels.loc["X", "z"] == pytest.approx(15 / np.sqrt(25 + 175))


def test_membership_rules_on_the_stored_mappings_give_what_the_files_say():
    practices = st.read_structure_years(st.stored_files()).practices
    own = st.membership_table(practices, [2019, 2021], None)
    fixed = st.membership_table(practices, [2019, 2021], 2023)
    in_2023 = practices[(practices["year"] == 2023) & practices["in_pcn"]]
    assert len(fixed) == 2 * len(in_2023)
    assert set(own["year"]) == {2019, 2021}
    assert not own.duplicated(["practice_code", "year"]).any()


def _levels(rng: np.random.Generator, indicators: int, organisations: int) -> pd.DataFrame:
    """A table of comparisons in the chapter's columns, two planted outliers per indicator."""
    rows = []
    for i in range(indicators):
        v = rng.uniform(0.0005, 0.004, organisations)
        y = 0.7 + rng.normal(0, 0.05, organisations) + rng.normal(0, np.sqrt(v))
        y[:2] += (0.4, -0.4)
        z = (y - 0.7) / np.sqrt(v + 0.05**2)
        worse, better = z < -3.5, z > 3.5
        rows.append(
            pd.DataFrame(
                {
                    "source": "s",
                    "family": "s achievement",
                    "indicator_id": f"X{i:03d}",
                    "domain": "X" if i % 2 else "Y",
                    "direction": "higher",
                    "organisation_id": [f"O{j}" for j in range(organisations)],
                    "value": y,
                    "variance": v,
                    "size": 1 / v,
                    "england": 0.7,
                    "tau2": 0.05**2,
                    "tau2_method": "DerSimonian-Laird",
                    "z": z,
                    "classification": np.where(
                        worse, "worse", np.where(better, "better", "not different")
                    ),
                    "classification_sampling": "worse",
                    "sampling_share": 0.5,
                }
            )  # fmt: skip
        )
    return pd.concat(rows, ignore_index=True)


def test_funnel_grid_and_summary_stay_bounded_at_1300_organisations_and_50_indicators():
    out = _levels(np.random.default_rng(5), 50, 1300)
    summary = real_levels.indicator_summary(out)
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
    fig = figs.summary_figure(real_levels.domain_summary(out))
    assert len(fig.axes[0].get_yticks()) == 2  # one row per domain, not per organisation
    figs.plt.close(fig)


def test_bad_parameters_are_named(tmp_path):
    from analysis.indicators.networks.real_inputs import DEFAULTS, folder_files

    with pytest.raises(ValueError) as err:  # one run, every problem named
        real_chapter.run_real_chapter(**{**DEFAULTS, "membership_year": 2018, "tau2_method": "m"})
    message = str(err.value)
    assert "2 problem(s) found before the analysis:" in message.splitlines()[0]
    assert "parameter 'membership_year': 2018 has no mapping file" in message
    assert "parameter 'tau2_method': 'm'" in message
    with pytest.raises(ValueError, match="parameter 'membership_source': .* is not a folder"):
        folder_files(tmp_path / "none", "*.parquet", "membership_source")


def test_every_argument_of_the_chapter_reaches_its_input_check(tmp_path):
    """Each path and parameter given to run_real_chapter is the one checked (none is left to
    its default): two calls whose every argument is wrong name each of them."""
    from analysis.indicators.networks.real_inputs import DEFAULTS, PATHS

    def problems(**given) -> list[str]:
        with pytest.raises(DataError) as err:
            real_chapter.run_real_chapter(**{**{k: DEFAULTS[k] for k in PATHS}, **given})
        return [line.strip() for line in str(err.value).splitlines()[1:]]

    gone = {k: tmp_path / name for k, name in (
        ("membership_source", "m"), ("organisation_mapping", "t.yml"),
        ("practice_groups_mapping", "g.yml"), ("qof_source", "q"),
    )}  # fmt: skip
    assert problems(**gone, tau2_method="zz") == [
        "parameter 'tau2_method': 'zz'; expected one of "
        "('winsorised', 'winsorised_rescaled', 'dl', 'reml')",
        f"parameter 'membership_source': {gone['membership_source']} is not a folder",
        f"{gone['organisation_mapping']}: cannot be read ({os.strerror(errno.ENOENT)})",
        f"{gone['practice_groups_mapping']}: cannot be read ({os.strerror(errno.ENOENT)})",
        f"parameter 'qof_source': {gone['qof_source']} is not a folder",
    ]
    table, groups = tmp_path / "t.csv", tmp_path / "g.csv"
    said = problems(organisation_table=table, practice_groups=groups, membership_year=2018,
                    trend_years=(2019, 2016))  # fmt: skip
    assert said == [
        f"{table}: not found; expected a CSV",
        f"{groups}: not found; expected a CSV",
        "parameter 'membership_year': 2018 has no mapping file; files: "
        "[2019, 2020, 2021, 2022, 2023]",
        "parameter 'trend_years': [2019, 2016] needs two or more years with both a QOF summary "
        "([2017, 2018, 2019, 2021]) and a mapping file ([2019, 2020, 2021, 2022, 2023]); "
        "missing [2016]",
    ]


def test_every_input_problem_is_reported_at_once_by_the_strands_validation_command(tmp_path):
    from analysis.indicators import validation
    from analysis.indicators.networks import real_inputs

    folder = tmp_path / "membership"
    folder.mkdir()
    for path in st.stored_files():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "structures_2024_2025.parquet").write_text("not parquet\n")
    stored_mapping = real_inputs.DEFAULTS["practice_groups_mapping"]
    mapping = tmp_path / "wide_x.yml"
    text = (repo_root() / stored_mapping).read_text()
    mapping.write_text(text.replace("scale: percent", "scale: per cent"))
    parameters = {
        "membership_source": str(folder),
        "practice_groups_mapping": str(mapping),
        "trend_years": [2020, 2021],
        "tau2_method": "mean",
    }
    inputs, findings = real_inputs.check_inputs(parameters)
    assert inputs is None
    lines = findings.errors
    assert len(lines) == 4
    assert lines[0].startswith("parameter 'tau2_method': 'mean'")
    assert "structures_2024_2025.parquet: not a Parquet file" in lines[1]
    assert "wide_x.yml:26: indicators[0].scale: expected one of proportion, percent" in lines[2]
    assert "parameter 'trend_years': [2020, 2021] needs" in lines[3]
    assert (repo_root() / real_inputs.DEFAULTS["organisation_table"]).exists()  # nothing moved
    said: list[str] = []
    argv = ["--notebook", "networks_real", "--parameters", json.dumps(parameters)]
    assert run_main(validation.main, argv, write=said.append) == 2
    assert said[0].count("\n  ") == 4 and "Traceback" not in said[0]  # the same four lines


def test_the_generic_analysis_at_real_scale_every_pcn_on_every_indicator():
    """The stored PCN table of QOF 2021-22 (REAL, derived): every PCN on all 70 indicators,
    tau2 and z per indicator against statsmodels, BH per family against multipletests."""
    data = repo_root() / "data" / "indicators"
    path = data / "real" / "qof_indicators" / "pcn_data_matrix.csv.gz"
    wide = wt.read_wide_table(path, data / "mappings" / "wide_pcn_data_matrix.yml")
    panel = real_levels.table_panel(wide)
    levels = real_levels.level_rows(
        real_levels.compare(panel, alpha=0.05, tau2_method="dl"), "pcn_table", "dl"
    )
    raw = pd.read_csv(path, na_values=["NA"], keep_default_na=False)
    pcns = raw[raw["PCN_CODE"] != "U"]
    achievement = [c for c in raw.columns if c.startswith("QOF_ACHV_")]
    prevalence = [c for c in raw.columns if c.startswith("QOF_PREV_")]
    assert (len(pcns), len(achievement), len(prevalence)) == (1263, 49, 21)
    counts = levels.groupby("family").size()
    assert counts["pcn_table achievement"] == pcns[achievement].notna().sum().sum()
    assert counts["pcn_table prevalence"] == pcns[prevalence].notna().sum().sum()
    for indicator, part in levels.groupby("indicator_id"):
        national = part["england"].iloc[0]
        value, v = part["value"].to_numpy(), national * (1 - national) / part["size"].to_numpy()
        reference = combine_effects(value, v, method_re="dl").tau2
        assert part["tau2"].iloc[0] == pytest.approx(reference, rel=1e-8), indicator
        np.testing.assert_allclose(part["z"], (value - national) / np.sqrt(v + reference))
    for _, part in levels.groupby("family"):
        np.testing.assert_allclose(part["p_bh"], multipletests(part["p"], method="fdr_bh")[1])
