"""Survey strand: transcriptions, rounding intervals, Wilson intervals, Table 1's quarter rule."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from analysis.core.catalogue import load
from analysis.core.datasets import DataError, sha256_file
from analysis.core.provenance import excerpt_found
from analysis.core.reproduction import to_frame
from analysis.core.stats import round_half_up, rounding_interval, wilson_interval
from analysis.paths import sources_dir
from analysis.survey.over_time import collaboration_over_time
from analysis.survey.published import (
    published_path,
    read_key_figures,
    read_ordinal,
    read_staff,
    read_table1,
)
from analysis.survey.published_checks import published_checks
from analysis.survey.quarter_rule import largest_unshown, quarter_rule, table1_check
from analysis.survey.rounding import (
    denominator_interval,
    implied_denominators,
    point_count,
    proportions,
)


def printed(k: int, n: int, decimals: int = 0) -> Decimal:
    """How 100 k / n is printed, rounded half up: the independent reference (decimal module)."""
    exact = Decimal(100 * k) / Decimal(n)
    return exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def key():
    return read_key_figures()


@pytest.fixture(scope="module")
def table1():
    return read_table1()


# --- rounding intervals ---------------------------------------------------------------------


def test_rounding_interval_hand_worked():
    # 73% of 982: 712/982 = 72.51% is the first to print as 73, 721/982 = 73.42% the last.
    assert rounding_interval(73, 982) == (712, 721)
    assert printed(711, 982) == 72 and printed(722, 982) == 74
    # Exactly half rounds up: 145/200 = 72.5% prints 73 (Python's round would give 72).
    assert rounding_interval(73, 200) == (145, 146)
    assert rounding_interval(72, 200) == (143, 144)
    assert round(72.5) == 72 and round_half_up(72.5) == 73
    assert rounding_interval(79.6, 6657, decimals=1) == (5296, 5302)


@settings(max_examples=300, deadline=None)
@given(n=st.integers(1, 3000), data=st.data(), decimals=st.integers(0, 1))
def test_rounding_interval_is_exactly_the_counts_that_print_as_the_percentage(n, data, decimals):
    k = data.draw(st.integers(0, n))
    p = printed(k, n, decimals)
    k_min, k_max = rounding_interval(float(p), n, decimals)
    assert k_min <= k <= k_max
    assert all(printed(j, n, decimals) == p for j in (k_min, k_max))
    assert k_min == 0 or printed(k_min - 1, n, decimals) != p
    assert k_max == n or printed(k_max + 1, n, decimals) != p
    point = point_count(float(p), n, decimals)
    assert k_min <= point <= k_max


@pytest.mark.parametrize(
    ("percent", "n", "message"),
    [
        (100.5, 10, "within \\[0, 100\\]"),
        (-1, 10, "within"),
        (50, 0, "n must"),
        (50, 3, "no count"),
    ],
)
def test_rounding_interval_rejects_bad_input(percent, n, message):
    with pytest.raises(ValueError, match=message):
        rounding_interval(percent, n)


def test_denominator_interval_brute_force():
    assert denominator_interval(94, 45) == (207, 211)
    assert denominator_interval(184, 87) == (211, 212)
    for count, percent, decimals in ((94, 45, 0), (184, 87, 0), (5299, 79.6, 1), (7, 2, 0)):
        lo, hi = denominator_interval(count, percent, decimals)
        top = math.ceil(100 * count / (percent - 1)) + 2  # beyond it count / n is under p - 1
        want = Decimal(str(percent))
        fits = [n for n in range(count, top) if printed(count, n, decimals) == want]
        assert (lo, hi) == (min(fits), max(fits))
    with pytest.raises(ValueError):
        denominator_interval(0, 45)


def test_implied_number_of_ccgs_is_211(key):
    implied = implied_denominators(key)
    both = implied[implied["figure_id"].eq("all")].iloc[0]
    assert (both["n_min"], both["n_max"]) == (211, 211)
    nhse = implied.set_index("figure_id").loc["nhse2018_group_pct"]
    assert (nhse["n_min"], nhse["n_max"]) == (6653, 6661)


# --- proportions and Wilson intervals -------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_proportions_wilson_matches_statsmodels(key, confidence):
    props = proportions(key, confidence)
    lo, hi = proportion_confint(props["k_point"], props["n"], alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(props["ci_lower"], 100 * lo, rtol=1e-10)
    np.testing.assert_allclose(props["ci_upper"], 100 * hi, rtol=1e-10)
    lo_min, _ = proportion_confint(
        props["k_min"], props["n"], alpha=1 - confidence, method="wilson"
    )
    np.testing.assert_allclose(props["ci_lower_min"], 100 * lo_min, rtol=1e-10)


def test_proportions_counts_and_denominators(key):
    props = proportions(key).set_index("figure_id")
    expected = {
        "collaborating_pct": (982, "stated", 717),
        "formed_2014_15_pct": (717, "assumed", 315),
        "same_ccg_pct": (717, "assumed", 602),
        "population_50k_pct": (355, "assumed", 234),
        "federation_pct": (355, "assumed", 227),
        "super_partnership_pct": (355, "assumed", 7),
    }
    for fid, (n, basis, k) in expected.items():
        row = props.loc[fid]
        assert (row["n"], row["n_basis"], row["k_point"]) == (n, basis, k)
        assert printed(k, n) == Decimal(int(row["percent"]))
    # 73% of 982 is 717.0 (716.86 rounded); its Wilson 95% interval by hand: centre and half-width.
    z = 1.959963984540054
    p, n = 717 / 982, 982
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert props.loc["collaborating_pct", "ci_lower"] == pytest.approx(100 * (centre - half))


def test_wilson_interval_agrees_with_statsmodels_on_the_published_counts():
    lo, hi = wilson_interval([717, 38, 24, 7], [982, 151, 97, 355])
    ref = proportion_confint([717, 38, 24, 7], [982, 151, 97, 355], method="wilson")
    np.testing.assert_allclose(lo, ref[0], rtol=1e-12)
    np.testing.assert_allclose(hi, ref[1], rtol=1e-12)


# --- Table 1 and the quarter rule -----------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "n", "exact", "rounded"),
    [
        (1, 4, True, True),  # exactly a quarter
        (0, 4, False, False),
        (24, 97, False, True),  # 24.74%: prints as 25% but is under 97/4 = 24.25
        (25, 100, True, True),
        (24, 100, False, False),
        (37, 151, False, True),  # 24.50% rounds half up to 25
        (36, 151, False, False),
        (38, 151, True, True),
        (0, 1, False, False),
        (1, 1, True, True),
    ],
)
def test_quarter_rule_edge_cases(count, n, exact, rounded):
    assert bool(quarter_rule(count, n, "exact")[0]) is exact
    assert bool(quarter_rule(count, n, "rounded_percent")[0]) is rounded


def test_quarter_rule_bounds_and_errors():
    assert largest_unshown(151, "exact") == 37
    assert largest_unshown(151, "rounded_percent") == 36
    assert largest_unshown(97, "exact") == 24
    assert largest_unshown(97, "rounded_percent") == 23
    with pytest.raises(ValueError, match="count <= n"):
        quarter_rule(5, 4)
    with pytest.raises(ValueError, match="n >= 1"):
        quarter_rule(0, 0)
    with pytest.raises(ValueError, match="rule must be"):
        quarter_rule(1, 4, "half")


def test_table1_transcription(table1):
    assert len(table1) == 36 and table1["activity_id"].nunique() == 12
    sizes = table1.drop_duplicates("group_id").set_index("group_id")["n"]
    assert sizes.to_dict() == {"m00_12": 151, "m13_24": 100, "m25_plus": 97}
    assert sizes.sum() == 348
    shown = table1[table1["shown"].eq(1)]
    assert shown.groupby("group_id").size().to_dict() == {"m00_12": 1, "m13_24": 2, "m25_plus": 12}
    assert shown["count"].sum() == 38 + 34 + 29 + (
        43 + 37 + 37 + 36 + 34 + 33 + 30 + 29 + 29 + 28 + 25 + 24
    )


def test_table1_rule_reproduces_the_published_table_only_in_the_rounded_reading(table1):
    rounded = table1_check(table1, "rounded_percent")
    assert rounded["status"].value_counts().to_dict() == {"not checkable": 21, "match": 15}
    exact = table1_check(table1, "exact")
    wrong = exact[exact["status"].eq("mismatch")]
    assert list(zip(wrong["group_id"], wrong["activity_id"], strict=True)) == [
        ("m25_plus", "peer_review")
    ]
    unknown = rounded[rounded["status"].eq("not checkable")]
    assert unknown["count"].isna().all() and not unknown["shown_published"].any()


def test_published_checks(key, table1):
    checks = to_frame(published_checks(key, table1)).set_index("check_id")
    assert checks.index.is_unique
    assert set(checks["kind"]) == {"consistency", "transcribed"}
    # Consistency checks of the source's own figures can fail: none is must-match.
    assert not checks["must_match"].any()
    assert checks.loc["survey-table1-total", "status"] == "match"
    assert "line 165" in checks.loc["survey-table1-total", "compared_with"]
    # The rule as the note states it (4k >= n) is the check; 24 of 97 breaks it.
    peer = checks.loc["survey-table1-rule-m25_plus-peer_review"]
    assert (peer["published"], peer["reproduced"], peer["status"]) == (
        "shown",
        "not shown",
        "mismatch",
    )
    rule = checks[checks.index.str.startswith("survey-table1-rule-")]
    assert (rule["status"] == "mismatch").sum() == 1
    # The kinder rounded reading is never a check.
    assert not checks.index.str.contains("rounded").any()
    assert checks.loc["survey-verbal-three_quarters_almost", "status"] == "match"
    over = checks.loc["survey-verbal-three_quarters_over"]
    assert over["status"] == "mismatch" and "line 146" in over["compared_with"]
    assert checks.loc["survey-implied-total-ccgs", "status"] == "match"
    transcribed = checks[checks["kind"] == "transcribed"]
    assert set(transcribed.index) == {
        "survey-transcribed-pcc2018_same_ccg_pct",
        "survey-transcribed-pcc2018_population_50k_pct",
    }
    assert (transcribed["status"] == "not checked").all()
    assert transcribed["reason"].str.contains("may restate the 2015 survey").all()


def test_implied_total_check_fails_when_no_total_fits(key, table1):
    bad = key.copy()
    bad.loc[bad["figure_id"] == "practice_respondent_ccgs_pct", "value"] = 60.0
    checks = to_frame(published_checks(bad, table1)).set_index("check_id")
    assert checks.loc["survey-implied-total-ccgs", "status"] == "mismatch"


def test_collaboration_over_time(key):
    props = proportions(key)
    frame = collaboration_over_time(key, props)
    assert len(frame) == 6 and frame["measure"].nunique() == 3
    row = frame.set_index("figure_id").loc["nhse2018_group_pct"]
    assert row["percent"] == 79.6 and pd.isna(row["ci_lower"])
    got = frame.set_index("figure_id").loc["collaborating_pct", "ci_upper"]
    assert got == props.set_index("figure_id").loc["collaborating_pct", "ci_upper"]


# --- bad input ------------------------------------------------------------------------------


def _edit(src: Path, dst: Path, old: str, new: str) -> Path:
    text = src.read_text(encoding="utf-8")
    assert old in text
    dst.write_text(text.replace(old, new, 1), encoding="utf-8")
    return dst


def test_percent_over_100_is_named(tmp_path):
    bad = _edit(
        published_path("key_figures.csv"),
        tmp_path / "key.csv",
        "practice-based respondents,2015,73%",
        "practice-based respondents,2015,173%",
    )
    bad = _edit(bad, bad, ",73,percent,", ",173,percent,")
    with pytest.raises(
        DataError, match=r"key\.csv.*\n.*line 8, column 'value': 173 is a percentage over 100"
    ):
        read_key_figures(bad)


def test_dangling_denominator_is_named(tmp_path):
    bad = _edit(
        published_path("key_figures.csv"),
        tmp_path / "key.csv",
        ",collaborating_pct,assumed,",
        ",collaborating_pc,assumed,",
    )
    with pytest.raises(
        DataError, match="line 9, column 'denominator_id': 'collaborating_pc' is not"
    ):
        read_key_figures(bad)


def test_table1_count_over_n_is_named(tmp_path):
    bad = _edit(
        published_path("table1_achievements.csv"),
        tmp_path / "cells.csv",
        "plan,38,1,1,",
        "plan,380,1,1,",
    )
    with pytest.raises(DataError, match=r"cells\.csv.*\n.*line \d+, column 'count': 380 exceeds"):
        read_table1(bad)


def test_table1_missing_group_is_named(tmp_path):
    groups = _edit(
        published_path("table1_groups.csv"),
        tmp_path / "groups.csv",
        "m13_24,13-24 months",
        "m13_25,13-24 months",
    )
    with pytest.raises(DataError, match="column 'group_id': 'm13_24' is not a group"):
        read_table1(groups_path=groups)


def test_missing_count_for_a_shown_cell_is_named(tmp_path):
    bad = _edit(
        published_path("table1_achievements.csv"),
        tmp_path / "cells.csv",
        "plan,38,1,1,",
        "plan,,1,1,",
    )
    with pytest.raises(DataError, match="column 'count': <missing> is missing for a shown cell"):
        read_table1(bad)


# --- provenance and catalogue ---------------------------------------------------------------

TRANSCRIPTIONS = [
    ("key_figures.csv", read_key_figures),
    ("ordinal_findings.csv", read_ordinal),
    ("table1_achievements.csv", lambda p: read_table1(p)),
    ("table1_groups.csv", lambda p: read_table1(groups_path=p)),
    ("staff_satisfaction.csv", read_staff),
]


@pytest.mark.parametrize(("name", "reader"), TRANSCRIPTIONS, ids=[t[0] for t in TRANSCRIPTIONS])
def test_every_excerpt_is_in_its_cited_lines(name, reader):
    if not sources_dir().exists():
        pytest.skip(f"source documents not found at {sources_dir()}")
    frame = pd.read_csv(published_path(name), dtype=str, keep_default_na=False)
    reader(published_path(name))
    rows = frame[frame["excerpt"].ne("")]
    assert len(rows) > 0
    missing = [
        (r.source_file, r.source_lines, r.excerpt)
        for r in rows.itertuples()
        if not excerpt_found(r.excerpt, r.source_file, r.source_lines)
    ]
    assert not missing


def test_survey_catalogue_files_read_and_match_their_hashes():
    entries = [d for d in load() if d.path.startswith("survey/")]
    assert {d.tier for d in entries} == {"published", "synthetic"}
    assert len(entries) == 7
    for entry in entries:
        frame = entry.read()
        assert len(frame) == entry.rows, entry.path
        assert sha256_file(entry.file) == entry.sha256, entry.path
        if entry.tier == "synthetic":
            assert "SYNTHETIC" in entry.title and entry.generator.get("seed") is not None
