"""The REAL chapter as a user runs it on their own files: one region's rows of the stored files
(tests/realregion.py) with every parameter other than the book's. Each parameter reaches the
tables it decides, checked against those tables' own functions called with it, and what a
region has that England has not (an indicator every practice achieves in full) passes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from realregion import BLANK_INDICATOR, write_region
from sharedscope import module_unless_mutating

from analysis.indicators.methods.associations import value_associations
from analysis.indicators.networks import real_chapter, real_inputs, real_levels, rule_trends
from analysis.indicators.sources import structures as st

PARAMETERS = {"membership_year": 2022, "trend_years": (2019, 2021), "alpha": 0.1}
ESTIMATOR = "winsorised"


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return write_region(tmp_path_factory.mktemp("region"))


@pytest.fixture(scope=module_unless_mutating)
def chapter(region):
    paths, _ = region
    return real_chapter.run_real_chapter(**paths, **PARAMETERS, tau2_method=ESTIMATOR)


@pytest.fixture(scope="module")
def inputs(region):
    paths, _ = region
    return real_inputs.read_inputs(
        **paths, **{k: PARAMETERS[k] for k in ("membership_year", "trend_years")},
        tau2_method=ESTIMATOR,
    )  # fmt: skip


def _table(chapter, name: str) -> pd.DataFrame:
    return chapter.tables[name].drop(columns="data_tier")


def test_the_files_table_names_the_regions_files_and_the_rows_each_gave(chapter, region):
    paths, rows = region
    files = _table(chapter, "files")
    assert files["rows"].tolist() == [rows[name] for name in files["file"]]
    assert files["file"].tolist() == [
        *(p.name for p in sorted(paths["membership_source"].glob("*.parquet"))),
        paths["organisation_table"].name, paths["practice_groups"].name,
        "qof_2019-20.csv.gz", "qof_2021-22.csv.gz",
    ]  # fmt: skip
    assert files["source"].tolist() == ["membership"] * 5 + [
        "pcn_table", "cvd_groups", "qof_totals", "qof_totals",
    ]  # fmt: skip
    assert (chapter.tables["membership_years"]["practices"] < 500).all()  # a region, not England


def test_what_each_table_set_aside_is_named_with_its_source(chapter, region):
    _, rows = region
    set_aside = _table(chapter, "set_aside")
    blank = set_aside[set_aside["column"] == BLANK_INDICATOR]
    assert blank[["source", "rows"]].values.tolist() == [
        ["pcn_table", rows["pcn_data_matrix.csv.gz"]]
    ]
    assert set(set_aside["source"]) == {"pcn_table", "cvd_groups"}
    for name, table in chapter.tables.items():  # several sources, rows numbered afresh
        assert table.index.equals(pd.RangeIndex(len(table))), name


def test_the_estimator_and_alpha_decide_the_levels(chapter):
    summary = _table(chapter, "indicator_summary")
    assert set(summary["tau2_method"]) == {"Winsorised phi, as published by Spiegelhalter"}
    levels = _table(chapter, "levels")
    judged = levels[levels["family"] == "pcn_table achievement"]
    england = summary.set_index(["source", "indicator_id"])["england"]
    at = england.loc[list(zip(judged["source"], judged["indicator_id"], strict=True))].to_numpy()
    expected = np.where(
        judged["p_bh"] < PARAMETERS["alpha"],
        np.where(judged["value"].to_numpy() > at, "better", "worse"),
        "not different",
    )
    assert (judged["classification"].to_numpy() == expected).all()
    # alpha 0.1 separates some PCNs that 0.05 would not
    assert ((judged["p_bh"] >= 0.05) & (judged["p_bh"] < 0.1)).any()


def test_the_sensitivity_compares_the_pcn_table_without_its_denominators(chapter, inputs):
    flat = real_levels.table_panel(inputs.table, denominators=False)
    compared = real_levels.compare(flat, alpha=PARAMETERS["alpha"], tau2_method=ESTIMATOR)
    without = real_levels.level_rows(compared, real_levels.TABLE_SOURCE, ESTIMATOR)
    expected = real_levels.denominator_sensitivity(_table(chapter, "levels"), without)
    got = _table(chapter, "denominator_sensitivity")
    pd.testing.assert_frame_equal(got, expected)
    assert got["changed_class"].sum() > 0  # the two rules differ on this region


def test_the_sources_table_says_who_published_each_file_and_its_licence(chapter):
    sources = _table(chapter, "sources")
    assert sources.columns.tolist() == ["source", "publisher_and_derivation", "licence"]
    assert dict(zip(sources["source"], sources["publisher_and_derivation"], strict=True)) == (
        real_chapter.SOURCES
    )
    assert (sources["licence"] == real_chapter.ATTRIBUTION).all()


def test_associations_are_the_judged_levels_against_the_characteristics_at_alpha(chapter):
    # the per-PCN table leaves each indicator's domain and direction to the summary
    about = _table(chapter, "indicator_summary")[["source", "indicator_id", "domain", "direction"]]
    levels = _table(chapter, "levels").merge(about, on=["source", "indicator_id"])
    expected = value_associations(
        levels[levels["direction"] != "neutral"],
        _table(chapter, "characteristics"),
        real_chapter.MEASURES,
        alpha=PARAMETERS["alpha"],
    )
    got = _table(chapter, "associations")
    pd.testing.assert_frame_equal(got, expected)
    assert "neutral" not in set(got["direction"]) and len(got)


def test_trends_follow_the_membership_year_alpha_and_estimator(chapter, inputs):
    mapped, years = inputs.structures.practices, list(PARAMETERS["trend_years"])
    own = st.membership_table(mapped, years, None)
    memberships = {
        "fixed": st.membership_table(mapped, years, PARAMETERS["membership_year"]),
        "own": own,
        "practice_fe": own,
    }
    panel = real_chapter.qof_panel(inputs.qof.practices, years)
    expected = rule_trends.organisation_trends(
        panel, memberships, alpha=PARAMETERS["alpha"], tau2_method=ESTIMATOR
    )
    pd.testing.assert_frame_equal(_table(chapter, "trends"), expected)
    # the fixed rule is the membership year's, so it differs from each year's own
    fixed = expected[expected["rule"] == "fixed"]["organisation_id"]
    assert set(fixed) != set(expected[expected["rule"] == "own"]["organisation_id"])

    # sizes: PCNs' member practices in the membership year, and for the logit in the last year
    def log2_sizes(year: int) -> pd.Series:
        members = mapped[(mapped["year"] == year) & mapped["in_pcn"]]
        return np.log2(members.groupby("pcn_code").size())

    by_year = log2_sizes(PARAMETERS["membership_year"])
    summary = rule_trends.rule_summary(
        expected, by_year.rename_axis("organisation_id").reset_index(name="log2_practices")
    )
    pd.testing.assert_frame_equal(_table(chapter, "trend_summary"), summary)
    logit = real_chapter.fixed_effects_logit(panel, own, log2_sizes(max(years)))
    pd.testing.assert_frame_equal(_table(chapter, "trend_fe_logit"), logit)
    variation = rule_trends.within_variation(panel, own, ["indicator_id", "year"])
    variation.insert(2, "financial_year", ["2019-20", "2021-22"])
    pd.testing.assert_frame_equal(_table(chapter, "qof_variation"), variation)


def test_an_indicator_every_practice_achieves_in_full_has_no_variation(chapter):
    variation = _table(chapter, "group_variation").set_index("indicator_id")
    pad = variation.loc["PAD"]
    assert pad["mean"] == 100.0 and pad["between_sd"] == 0.0 and pad["within_sd"] == 0.0
    assert np.isnan(pad["icc"])
    assert (variation.drop(index="PAD")["within_sd"] > 0).all()


@pytest.mark.filterwarnings("ignore:England is the sum of fewer than 30 practices")
def test_the_chapter_runs_on_a_handful_of_practices(tmp_path):
    """Five practices (codes B8200*): no PCN trend has an error to compare and the PCNs share
    one size, so those tables are empty or missing, and nothing fails."""
    paths, rows = write_region(tmp_path, "B8200")
    assert rows["structures_2023_2024.parquet"] == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        small = real_chapter.run_real_chapter(**paths)
    logit = _table(small, "trend_fe_logit").set_index("term")
    assert np.isfinite(logit.loc["time (per year)", "estimate"])
    assert np.isnan(logit.loc["time x log2 member practices", "estimate"])
    assert len(_table(small, "levels")) > 0
