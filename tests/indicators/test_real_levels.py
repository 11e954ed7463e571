"""The REAL networks chapter's levels: the counting summaries on a hand-made table of
comparisons, and the approximate denominators and England on a hand-made PCN table.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.indicators.networks import real_levels
from analysis.indicators.sources import widetable as wt
from analysis.indicators.sources.panel import indicators_dir

#: A wide table mapping for a practice-level groups file (one achievement column).
GROUPS_MAPPING = Path(__file__).parent / "fixtures" / "wide_groups.yml"

ND = "not different"


def _compared() -> pd.DataFrame:
    """Three indicators of one source: I1 (AF) and I2 (BP) judged, I3 (AF) a prevalence."""
    rows = [
        # indicator, family, domain, direction, org, class, class without tau2, share; in
        # an order no sort gives (families, indicators and domains)
        ("I3", "s prevalence", "AF", "neutral", "O1", "higher", "higher", 0.4),
        ("I3", "s prevalence", "AF", "neutral", "O2", "lower", "higher", 0.6),
        ("I3", "s prevalence", "AF", "neutral", "O3", ND, ND, 0.8),
        ("I2", "s achievement", "BP", "lower", "O1", ND, ND, 0.1),
        ("I2", "s achievement", "BP", "lower", "O2", ND, "worse", 0.3),
        ("I1", "s achievement", "AF", "higher", "O1", "better", "worse", 0.2),
        ("I1", "s achievement", "AF", "higher", "O2", ND, ND, 0.5),
        ("I1", "s achievement", "AF", "higher", "O3", "worse", "better", 0.9),
    ]
    columns = ["indicator_id", "family", "domain", "direction", "organisation_id",
               "classification", "classification_sampling", "sampling_share"]  # fmt: skip
    frame = pd.DataFrame(rows, columns=columns)
    england = {"I1": 0.8, "I2": 0.6, "I3": 0.02}
    tau2 = {"I1": 0.04, "I2": 0.09, "I3": 0.0001}
    return frame.assign(
        source="s",
        england=frame["indicator_id"].map(england),
        tau2=frame["indicator_id"].map(tau2),
        tau2_method="DerSimonian-Laird",
    )


def test_indicator_summary_counts_each_indicators_classes_by_hand():
    out = real_levels.indicator_summary(_compared())
    expected = pd.DataFrame(
        {
            "source": "s",
            "family": ["s prevalence", "s achievement", "s achievement"],
            "indicator_id": ["I3", "I2", "I1"],
            "domain": ["AF", "BP", "AF"],
            "direction": ["neutral", "lower", "higher"],
            "organisations": [3, 2, 3],
            "england": [0.02, 0.6, 0.8],
            "between_sd": [0.01, 0.3, 0.2],
            "tau2_method": "DerSimonian-Laird",
            "median_sampling_share": [0.6, 0.2, 0.5],
            "better": [0, 0, 1],
            "not different": [1, 2, 1],
            "worse": [0, 0, 1],
            "higher": [1, 0, 0],
            "lower": [1, 0, 0],
            "outside_sampling_only": [2, 1, 2],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    alone = real_levels.indicator_summary(_compared().iloc[[5]])  # one organisation: I1's O1
    assert alone[["indicator_id", "organisations", "better"]].values.tolist() == [["I1", 1, 1]]


def test_domain_summary_counts_and_shares_by_hand():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a family with no judged comparison divides nothing
        out = real_levels.domain_summary(_compared())
    nan = np.nan
    expected = pd.DataFrame(
        {
            "source": "s",
            "family": ["s prevalence"] * 2 + ["s achievement"] * 3,
            "domain": ["AF", "all", "AF", "BP", "all"],
            "indicators": [1, 1, 1, 1, 2],
            "comparisons": [3, 3, 3, 2, 5],
            "better": [0, 0, 1, 0, 1],
            "not different": [1, 1, 1, 2, 3],
            "worse": [0, 0, 1, 0, 1],
            "higher": [1, 1, 0, 0, 0],
            "lower": [1, 1, 0, 0, 0],
            # shares of the judged comparisons: a prevalence has none
            "share_better": [nan, nan, 1 / 3, 0.0, 0.2],
            "share_not_different": [nan, nan, 1 / 3, 1.0, 0.6],
            "share_worse": [nan, nan, 1 / 3, 0.0, 0.2],
            "outside_sampling_only": [2, 2, 2, 1, 3],
            "share_outside_sampling_only": [2 / 3, 2 / 3, 2 / 3, 0.5, 0.6],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_organisation_profile_counts_judged_indicators_and_sorts_by_net():
    out = real_levels.organisation_profile(_compared())
    expected = pd.DataFrame(
        {
            "source": "s",
            "organisation_id": ["O3", "O2", "O1"],  # net -1, 0, +1; the prevalence not counted
            "indicators": [1, 2, 2],
            "better": [0, 0, 1],
            "worse": [1, 0, 0],
            "net": [-1, 0, 1],
        }
    )
    pd.testing.assert_frame_equal(out, expected)  # counts as integers


def test_denominator_sensitivity_counts_classes_under_each_and_the_changes():
    levels = _compared()
    without = levels.copy()
    # Without denominators: O1 on I1 no longer better, O3 on I1 better, O2 on I3 higher.
    without["classification"] = ["higher", "higher", "lower", ND, ND, ND, ND, "better"]
    without = without.iloc[::-1]  # joined by key, not by position
    out = real_levels.denominator_sensitivity(levels, without)
    expected = pd.DataFrame(
        {
            "family": ["s prevalence", "s achievement"],
            "comparisons": [3, 5],
            "better_denominators": [0, 1],
            "worse_denominators": [0, 1],
            "higher_denominators": [1, 0],
            "lower_denominators": [1, 0],
            "better_none": [0, 1],
            "worse_none": [0, 0],
            "higher_none": [2, 0],
            "lower_none": [1, 0],
            "changed_class": [2, 2],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)


def test_clinical_area_is_the_leading_letters_of_the_id():
    assert real_levels.clinical_area("af006") == "AF"
    assert real_levels.clinical_area("CHD005") == "CHD"
    assert real_levels.clinical_area("123") == "123"  # no letters: the id itself
    ids = pd.Series(["AF006", "BP002", "AF007"], index=[4, 5, 6])
    pd.testing.assert_series_equal(
        real_levels.clinical_areas(ids), pd.Series(["AF", "BP", "AF"], index=[4, 5, 6])
    )


def _wide() -> SimpleNamespace:
    """A hand-made PCN table: AF prevalence and two achievements, one with no register."""
    units = pd.DataFrame(
        {"unit": ["U", "P1", "P2", "P3"], "list_size": [1000.0, 2000.0, 4000.0, np.nan]}
    )
    values = pd.DataFrame(
        {
            "unit": ["U", "P1", "P2", "P3"] * 3,
            "year": 2021,
            "indicator_id": ["AF"] * 4 + ["AF006"] * 4 + ["XY001"] * 4,
            "value": [0.01, 0.02, 0.03, 0.05, 0.8, 0.9, np.nan, 0.7, 0.5, 0.6, 0.7, 0.9],
            "excluded": [True, False, False, False] * 3,
        }
    )
    catalogue = pd.DataFrame(
        {"indicator_id": ["AF", "AF006", "XY001"],
         "domain": ["prevalence", "achievement", "achievement"]}
    )  # fmt: skip
    return SimpleNamespace(values=values, units=units, catalogue=catalogue)


def test_approximate_denominators_are_registers_or_the_population():
    out = real_levels.approximate_denominators(_wide())
    register = "register (AF prevalence x population)"
    np.testing.assert_allclose(
        out["denominator"],
        [1000, 2000, 4000, np.nan, 10, 40, 120, np.nan, 1000, 2000, 4000, np.nan],
    )
    assert out["basis"].tolist() == ["population"] * 4 + [register] * 4 + ["population"] * 4
    england = real_levels.england_from_table(out)
    expected = pd.DataFrame(
        {
            "indicator_id": ["AF", "AF006", "XY001"],
            "year": 2021,
            # every row with a value and a denominator, U included
            "numerator": [10 + 40 + 120, 0.8 * 10 + 0.9 * 40, 500 + 1200 + 2800],
            "denominator": [7000.0, 50.0, 7000.0],
            "comparator": real_levels.ENGLAND_BASIS,
        }
    )
    pd.testing.assert_frame_equal(england, expected, check_dtype=False, rtol=1e-12)
    zero = out.assign(denominator=out["denominator"].where(out["unit"] != "P1", 0.0))
    assert real_levels.england_from_table(zero)["denominator"].tolist() == pytest.approx(
        [5000, 10, 5000]
    )


def test_the_groups_panel_is_real_leaves_blanks_out_and_names_its_mapping(tmp_path):
    (tmp_path / "groups.csv").write_text(
        '"","Practice.Code","Achievement_AF"\n"1","A00001",90\n"2","A00002",NA\n"3","A00003",80\n'
    )
    mapping = tmp_path / "wide_groups.yml"
    mapping.write_text(GROUPS_MAPPING.read_text())
    wide = wt.read_wide_table(tmp_path / "groups.csv", mapping)
    members = pd.DataFrame(
        {"practice_code": ["A00001", "A00002", "A00003", "A00009"], "year": 2023,
         "organisation_id": ["X", "X", "Y", "Y"]}
    )  # fmt: skip
    panel = real_levels.groups_panel(wide, members)
    assert panel.tier == "real"
    assert panel.observations["practice_code"].tolist() == ["A00001", "A00003"]
    # A00002's blank is left out before the panel is made: its only notice is as a member
    # with no observations, under the mapping's name
    assert len(panel.notices) == 1
    assert panel.notices[0].startswith(f"{mapping} membership: column 'practice_code': 2 row(s)")
    assert "['A00002', 'A00009']" in panel.notices[0]


def test_the_stored_pcn_table_as_a_panel_with_and_without_denominators():
    folder = indicators_dir()
    wide = wt.read_wide_table(
        folder / "real/qof_indicators/pcn_data_matrix.csv.gz",
        folder / "mappings/wide_pcn_data_matrix.yml",
    )
    counts, flat = real_levels.table_panel(wide), real_levels.table_panel(wide, denominators=False)
    assert counts.tier == flat.tier == "real"
    # Without denominators each value stands alone (a value, so a denominator of 1); with
    # them it has the approximate register or population.
    assert (flat.observations["denominator"] == 1).all()
    assert counts.observations["denominator"].median() > 100
    np.testing.assert_allclose(
        flat.observations["numerator"],
        counts.observations["numerator"] / counts.observations["denominator"],
    )
    assert "U" not in set(flat.observations["organisation_id"])  # the no-PCN row is England's
    # the PCNs' characteristics come with them, from the table's own columns
    pcns = counts.organisations.set_index("organisation_id")
    assert {"list_size", "imd_score", "gp_fte"} <= set(pcns.columns)
    assert set(counts.observations["organisation_id"]) <= set(pcns.index)
    assert pcns["list_size"].median() > 10_000
