"""The REAL networks chapter's own tables: hand-worked small frames, statsmodels, and one run of
the whole chapter on the stored REAL files checked against counts taken from those files.
"""

from __future__ import annotations

import gzip
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from references import statsmodels_cluster_glm
from scipy import stats as sps
from sharedscope import module_unless_mutating

from analysis.indicators.networks import real_chapter, real_inputs, rule_trends
from analysis.indicators.sources import structures as st
from analysis.paths import repo_root


def test_practice_values_keep_the_included_practices_with_a_value():
    values = pd.DataFrame(
        {
            "unit": ["A", "B", "C", "D"],
            "year": 2023,
            "indicator_id": ["AF", "AF", "BP", "BP"],
            "value": [90.0, np.nan, 80.0, 70.0],
            "list_size": [1000.0, 2000.0, 3000.0, 4000.0],
            "excluded": [False, False, True, False],
        },
        index=[5, 6, 7, 8],
    )
    out = real_chapter.practice_values(SimpleNamespace(values=values))
    expected = pd.DataFrame(
        {
            "practice_code": ["A", "D"],
            "indicator_id": ["AF", "BP"],
            "value": [90.0, 70.0],
            "list_size": [1000.0, 4000.0],
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_a_practices_list_size_is_the_one_most_of_its_groups_give():
    values = pd.DataFrame(
        {
            "practice_code": ["B", "A", "A", "A", "B", "B"],
            # A's blank value still counts its list size; B's tie goes to the smaller size
            "value": [1.0, np.nan, 1.0, 1.0, 1.0, 1.0],
            "list_size": [500.0, 100.0, 100.0, 90.0, 400.0, np.nan],
        }
    )
    pd.testing.assert_series_equal(
        real_chapter._practice_list(values),
        pd.Series([100.0, 400.0], index=pd.Index(["A", "B"], name="practice_code"),
                  name="list_size"),
    )  # fmt: skip


def _structures() -> pd.DataFrame:
    rows = [
        ("A", 2021, "P1", True), ("B", 2021, "P1", True), ("C", 2021, "P2", True),
        ("D", 2021, "U", False), ("A", 2023, "P1", True), ("B", 2023, "P2", True),
        ("C", 2023, "P2", True), ("E", 2023, "P2", True), ("D", 2023, "U", False),
        ("F", 2023, "P3", True),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["practice_code", "year", "pcn_code", "in_pcn"])


def test_characteristics_count_members_patients_and_deprivation_by_hand():
    table = SimpleNamespace(
        year=2021,
        units=pd.DataFrame(
            {
                "unit": ["U", "P1", "P2"],
                "excluded": [True, False, False],
                "list_size": [5000, 20_000, 80_000],
                "imd_score": [20.0, 12.0, 30.0],
            }
        ),
    )
    groups = pd.DataFrame(
        {
            # A's list is 1000 in two groups (500 in a group counting part of the list); E's
            # two sizes tie and the smaller is taken; C's blank size is ignored.
            "practice_code": ["A", "A", "A", "B", "C", "C", "E", "E"],
            "list_size": [1000, 500, 1000, 3000, 2000, np.nan, 6000, 4000],
        }
    )
    out = real_chapter.characteristics(_structures(), table, groups, 2023)
    expected = pd.DataFrame(
        {
            "source": ["pcn_table"] * 2 + ["cvd_groups"] * 3,
            "organisation_id": ["P1", "P2", "P1", "P2", "P3"],
            "practices": [2, 1, 1, 3, 1],
            "patients": [20_000.0, 80_000.0, 1000.0, 9000.0, 0.0],
        }
    )
    pd.testing.assert_frame_equal(
        out[["source", "organisation_id"]], expected[["source", "organisation_id"]]
    )
    assert out.columns.tolist() == [
        "source", "organisation_id", "practices", "patients", "log2_practices",
        "log2_patients", "imd_per10",
    ]  # fmt: skip
    np.testing.assert_array_equal(out["practices"].astype(float), expected["practices"])
    np.testing.assert_array_equal(out["patients"].astype(float), expected["patients"])
    np.testing.assert_allclose(out["log2_practices"], np.log2(expected["practices"]))
    patients = [2.0, 8.0, 0.1, 0.9]  # per 10,000; P3's no known list gives no value
    np.testing.assert_allclose(out["log2_patients"][:4], np.log2(patients))
    assert np.isnan(out["log2_patients"][4])
    np.testing.assert_allclose(out["imd_per10"], [1.2, 3.0, 1.2, 3.0, np.nan])


def test_a_list_of_one_patient_has_a_size_and_a_list_of_none_has_none():
    table = SimpleNamespace(
        year=2021,
        units=pd.DataFrame(
            {"unit": ["P1", "P2"], "excluded": [False, False], "list_size": [1, 0],
             "imd_score": [10.0, 20.0]}
        ),
    )  # fmt: skip
    groups = pd.DataFrame({"practice_code": ["A"], "list_size": [1]})
    out = real_chapter.characteristics(_structures(), table, groups, 2023)
    first = out[out["source"] == "pcn_table"].set_index("organisation_id")["log2_patients"]
    assert first["P1"] == np.log2(1 / 10_000)
    assert np.isnan(first["P2"])


def test_pcn_code_agreement_counts_practices_in_both_files_per_year():
    qof = pd.DataFrame(
        {
            "practice_code": ["A", "B", "C", "D", "A", "B", "Z"],
            "year": [2021] * 4 + [2023] * 3,
            "pcn": ["P1", "P9", "P2", np.nan, "P1", "P2", "P1"],
            "list_size": [np.nan, 100, 200, 300, 400, 500, 600],  # A's blank does not count
        }
    )
    out = real_chapter.pcn_code_agreement(qof, _structures())
    expected = pd.DataFrame(
        {
            "year": [2021, 2023],
            "practices_in_both": [3, 2],  # D has no code; Z is in no mapping
            "same_pcn_code": [2, 2],
            "share_same": [2 / 3, 1.0],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["same_pcn_code"].dtype == np.int64  # a count
    assert real_chapter.pcn_code_agreement(qof.drop(columns="pcn"), _structures()).empty


def test_qof_panel_is_the_share_of_available_points_in_the_trend_years():
    practices = pd.DataFrame(
        {
            "practice_code": ["A", "B", "C", "D", "E"],
            "year": [2019, 2019, 2021, 2020, 2021],
            "points_achieved": [500.0, 10.0, 540.0, 300.0, 0.0],
            "points_available": [559.0, np.nan, 560.0, 400.0, 0.0],
        }
    )
    out = real_chapter.qof_panel(practices, [2019, 2021])
    expected = pd.DataFrame(
        {
            "practice_code": ["A", "C"],
            "year": np.array([2019, 2021], dtype=np.int64),
            "indicator_id": "QOF total",
            "value": [100 * 500 / 559, 100 * 540 / 560],
        }
    )
    pd.testing.assert_frame_equal(out, expected)


def test_fixed_effects_logit_matches_statsmodels_with_practice_dummies():
    rng = np.random.default_rng(7)
    rows, own = [], []
    for i in range(24):
        code, organisation = f"Q{i:02d}", f"N{i % 4}"
        years = (2019, 2020) if i == 0 else (2019, 2020, 2021)  # Q00: two years
        for year in years:
            share = 1.0 if i == 1 else 1 / (1 + np.exp(-(1 + 0.1 * i % 3 + 0.05 * (year - 2019))))
            value = 100 * float(np.clip(share + rng.normal(0, 0.02) * (i != 1), 0, 1))
            rows.append((code, year, value))
            moved = i == 3 and year == 2021  # Q03 moves to a smaller PCN in its last year
            own.append((code, year, "N9" if i == 2 else "N0" if moved else organisation))
    panel = pd.DataFrame(rows, columns=["practice_code", "year", "value"])
    panel["indicator_id"] = "QOF total"
    panel["note"] = panel["year"].where(panel["year"] != 2020)  # blank beside a value: kept
    own = pd.DataFrame(own, columns=["practice_code", "year", "organisation_id"])
    sizes = pd.Series({"N0": 1.0, "N1": 2.0, "N2": 2.5, "N3": 4.0})  # N9 has no size
    out = real_chapter.fixed_effects_logit(panel, own, sizes)
    # Q01 is at 100% every year (no within-practice information), Q02's PCN has no size.
    kept = panel.merge(own, on=["practice_code", "year"])
    kept = kept[~kept["practice_code"].isin(["Q01", "Q02"])].reset_index(drop=True)
    size = kept["organisation_id"].map(sizes)
    time = (kept["year"] - 2019).to_numpy(float)
    frame = kept.assign(numerator=kept["value"] / 100, denominator=1.0)
    dummies = pd.get_dummies(kept["practice_code"], dtype=float).to_numpy()
    centred = (size - size.mean()).to_numpy()
    fit = statsmodels_cluster_glm(
        frame, np.column_stack([dummies, time, time * centred]), "binomial"
    )
    beta, se = fit.params[-2:], np.sqrt(np.diag(fit.cov_params())[-2:])
    assert out["term"].tolist() == ["time (per year)", "time x log2 member practices"]
    np.testing.assert_allclose(out["estimate"], beta, rtol=1e-6)
    np.testing.assert_allclose(out["se"], se, rtol=1e-6)
    np.testing.assert_allclose(out["ci_lower"], beta - 1.959963984540054 * se, rtol=1e-6)
    np.testing.assert_allclose(out["ci_upper"], beta + 1.959963984540054 * se, rtol=1e-6)
    np.testing.assert_allclose(out["p"], 2 * sps.norm.sf(np.abs(beta / se)), rtol=1e-5)
    assert (out["practices"] == 22).all() and (out["practice_years"] == len(kept)).all()
    assert (out["scale"] == "log odds of the share of available points").all()


def test_with_pcns_of_one_size_the_logit_fits_the_trend_alone():
    """A small area whose PCNs all have one size: the interaction with size is not
    identified (its column is 0 once centred), so it is missing and the trend is statsmodels'
    with practice dummies and time only; with no practice left, both are missing."""
    rng = np.random.default_rng(11)
    rows = [
        (f"Q{i}", year, 100 / (1 + np.exp(-(0.5 + 0.2 * i + 0.1 * (year - 2019))))
         + rng.normal(0, 1))
        for i in range(6) for year in (2019, 2020, 2021)
    ]  # fmt: skip
    panel = pd.DataFrame(rows, columns=["practice_code", "year", "value"])
    own = panel[["practice_code", "year"]].assign(
        organisation_id=np.where(panel["practice_code"] < "Q3", "N0", "N1")
    )
    out = real_chapter.fixed_effects_logit(panel, own, pd.Series({"N0": 1.0, "N1": 1.0}))
    frame = panel.assign(numerator=panel["value"] / 100, denominator=1.0)
    dummies = pd.get_dummies(panel["practice_code"], dtype=float).to_numpy()
    fit = statsmodels_cluster_glm(
        frame, np.column_stack([dummies, (panel["year"] - 2019).to_numpy(float)]), "binomial"
    )
    assert out["estimate"].iloc[0] == pytest.approx(fit.params[-1], rel=1e-6)
    assert out["se"].iloc[0] == pytest.approx(np.sqrt(fit.cov_params()[-1, -1]), rel=1e-6)
    assert out.iloc[1][["estimate", "se", "ci_lower", "ci_upper", "p"]].isna().all()
    assert (out["practices"] == 6).all() and (out["practice_years"] == 18).all()
    # sizes that differ by less than a doubling (log2 apart by 0.5) still identify it
    close = real_chapter.fixed_effects_logit(panel, own, pd.Series({"N0": 1.0, "N1": 1.5}))
    assert np.isfinite(close["estimate"]).all() and np.isfinite(close["se"]).all()
    nobody = real_chapter.fixed_effects_logit(
        panel, own.assign(organisation_id="N9"), pd.Series({"N0": 1.0})
    )
    assert nobody["estimate"].isna().all() and (nobody["practices"] == 0).all()
    assert (nobody["practice_years"] == 0).all()


def test_financial_years_and_the_real_label():
    assert real_chapter.financial_year(2023) == "2023-24"
    assert real_chapter.financial_year(2099.0) == "2099-00"
    assert real_chapter.financial_year(2008) == "2008-09"
    years = pd.Series([2019.0, 2020.0], index=[3, 4])
    pd.testing.assert_series_equal(
        real_chapter.financial_year(years), pd.Series(["2019-20", "2020-21"], index=[3, 4])
    )
    frame = pd.DataFrame({"a": [1, 2]})
    labelled = real_chapter.label_real(frame)
    assert labelled.columns.tolist() == ["data_tier", "a"]
    assert labelled["data_tier"].tolist() == ["REAL", "REAL"]
    assert frame.columns.tolist() == ["a"]  # the table given is left as it was


def test_financial_year_columns_follow_the_year_columns_they_read():
    tables = {
        "membership_years": pd.DataFrame({"year": [2019], "pcns": [3]}),
        "turnover": pd.DataFrame({"from_year": [2019], "to_year": [2020], "moved": [1]}),
        "turnover_summary": pd.DataFrame({"first_year": [2019], "last_year": [2023]}),
        "pcn_code_agreement": pd.DataFrame(),  # no QOF PCN column: nothing to label
        "qof_variation": pd.DataFrame({"year": pd.Series([], dtype=int)}),
        "group_variation": pd.DataFrame({"year": [2023]}),  # not a table with years to label
    }
    real_chapter._with_financial_years(tables)
    assert tables["membership_years"].columns.tolist() == ["year", "financial_year", "pcns"]
    assert tables["membership_years"]["financial_year"].tolist() == ["2019-20"]
    turnover = tables["turnover"]
    assert turnover.columns.tolist() == [
        "from_year", "from_financial_year", "to_year", "to_financial_year", "moved",
    ]  # fmt: skip
    assert turnover.iloc[0, 1] == "2019-20" and turnover.iloc[0, 3] == "2020-21"
    summary = tables["turnover_summary"]
    assert summary.columns.tolist() == [
        "first_year", "first_financial_year", "last_year", "last_financial_year",
    ]  # fmt: skip
    assert summary.iloc[0].tolist() == [2019, "2019-20", 2023, "2023-24"]
    assert tables["pcn_code_agreement"].empty and tables["qof_variation"].columns.tolist() == [
        "year"
    ]
    assert tables["group_variation"].columns.tolist() == ["year"]
    # the two tables left unlabelled above, now with rows
    with_rows = {name: pd.DataFrame() for name in tables} | {
        "pcn_code_agreement": pd.DataFrame({"year": [2022], "same": [1]}),
        "qof_variation": pd.DataFrame({"year": [2018], "sd": [0.1]}),
    }
    real_chapter._with_financial_years(with_rows)
    for name, row in (("pcn_code_agreement", [2022, "2022-23", 1]), ("qof_variation",
                      [2018, "2018-19", 0.1])):  # fmt: skip
        assert with_rows[name].columns.tolist()[:2] == ["year", "financial_year"]
        assert with_rows[name].values.tolist() == [row]


# --------------------------------------------------------------------------- the stored files


@pytest.fixture(scope=module_unless_mutating)
def timed_chapter():
    """The chapter on the stored files, and the seconds the whole call took."""
    started = time.perf_counter()
    # The paths only: the chapter's own defaults give the years, alpha and estimator.
    chapter = real_chapter.run_real_chapter(
        **{k: real_inputs.DEFAULTS[k] for k in real_inputs.PATHS}
    )
    return chapter, time.perf_counter() - started


@pytest.fixture
def chapter(timed_chapter):
    return timed_chapter[0]


def _raw_pcn_table() -> pd.DataFrame:
    path = repo_root() / real_inputs.DEFAULTS["organisation_table"]
    with gzip.open(path, "rt") as handle:
        return pd.read_csv(handle, na_values=["NA"], keep_default_na=False)


def test_every_table_of_the_stored_chapter_is_labelled_real_and_timed(timed_chapter):
    chapter, elapsed = timed_chapter
    assert set(chapter.tables) == {
        "membership_years", "turnover", "turnover_summary", "pcn_code_agreement", "levels",
        "indicator_summary", "domain_summary", "organisation_profile",
        "denominator_sensitivity", "characteristics", "associations", "association_summary",
        "trends", "trend_summary", "trend_fe_logit", "qof_variation", "group_variation",
        "files", "set_aside", "sources",
    }  # fmt: skip
    for name, table in chapter.tables.items():
        assert table.columns[0] == "data_tier" and (table["data_tier"] == "REAL").all(), name
        assert len(table) or name == "set_aside", name
        # rows numbered afresh, as a caller reading one table by position expects
        assert table.index.equals(pd.RangeIndex(len(table))), name
    assert set(chapter.timings) == {"read files", "membership", "levels", "associations", "trends"}
    assert all(seconds > 0 for seconds in chapter.timings.values())
    assert sum(chapter.timings.values()) <= elapsed  # parts of the call, not clock readings


def test_the_stored_chapters_levels_and_files_are_those_of_the_files(chapter):
    raw = _raw_pcn_table()
    pcns = raw[raw["PCN_CODE"] != "U"]
    levels = chapter.tables["levels"]
    assert levels.columns.tolist() == ["data_tier", *real_chapter.LEVEL_COLUMNS]
    table = levels[levels["source"] == "pcn_table"]
    cells = [c for c in raw.columns if c.startswith(("QOF_ACHV_", "QOF_PREV_"))]
    assert len(table) == pcns[cells].notna().sum().sum()
    groups = levels[levels["source"] == "cvd_groups"]
    practices = st.read_structure_years(st.stored_files()).practices
    in_2023 = practices[(practices["year"] == 2023) & practices["in_pcn"]]
    assert set(groups["organisation_id"]) <= set(in_2023["pcn_code"])
    assert groups["organisation_id"].nunique() > 1000
    summary = chapter.tables["indicator_summary"]
    assert (summary["tau2_method"] == "DerSimonian-Laird").all()
    # Benjamini-Hochberg at alpha 0.05 decides the class of a judged indicator.
    judged = table[table["family"] == "pcn_table achievement"]
    england = summary.set_index("indicator_id").loc[judged["indicator_id"], "england"]
    expected = np.where(
        judged["p_bh"] < 0.05,
        np.where(judged["value"].to_numpy() > england.to_numpy(), "better", "worse"),
        "not different",
    )
    assert (judged["classification"].to_numpy() == expected).all()
    sensitivity = chapter.tables["denominator_sensitivity"].set_index("family")
    assert set(sensitivity.index) == {"pcn_table achievement", "pcn_table prevalence"}
    assert sensitivity["comparisons"].to_dict() == table.groupby("family").size().to_dict()
    chars = chapter.tables["characteristics"]
    assert (chars["source"] == "pcn_table").sum() == len(pcns)
    assert (chars["source"] == "cvd_groups").sum() == in_2023["pcn_code"].nunique()
    files = chapter.tables["files"]
    membership = files[files["source"] == "membership"]
    assert membership["year"].tolist() == [2019, 2020, 2021, 2022, 2023]
    counts = practices.groupby("year").size()
    assert membership["rows"].tolist() == counts.loc[membership["year"]].tolist()
    assert membership["file"].tolist() == [p.name for p in st.stored_files()]
    wide = files[files["source"].isin(["pcn_table", "cvd_groups"])].set_index("source")
    assert wide.loc["pcn_table"].tolist()[1:] == [
        "pcn_data_matrix.csv.gz", 2021, len(raw), "wide_pcn_data_matrix.yml",
    ]  # fmt: skip
    assert wide.loc["cvd_groups", "file"] == "qof_cvd_groups.csv.gz"
    assert wide.loc["cvd_groups", "year"] == 2023
    assert wide.loc["cvd_groups", "layout"] == "wide_qof_cvd_groups.yml"
    assert wide.loc["cvd_groups", "rows"] > 6000
    qof = files[files["source"] == "qof_totals"]
    assert qof["year"].tolist() == [2019, 2021]
    assert qof["file"].tolist() == ["qof_2019-20.csv.gz", "qof_2021-22.csv.gz"]
    assert qof["layout"].tolist() == ["qof_2019-20.yml", "qof_2021-22.yml"]
    set_aside = chapter.tables["set_aside"]
    assert set(set_aside["source"]) == {"cvd_groups"}  # the PCN table sets nothing aside
    sources = chapter.tables["sources"]
    assert sources["source"].tolist() == list(real_chapter.SOURCES)
    assert (sources["licence"] == real_chapter.ATTRIBUTION).all()


def test_the_stored_chapters_trends_use_the_membership_years_sizes(chapter):
    years = chapter.tables["membership_years"]
    assert years["financial_year"].tolist() == ["2019-20", "2020-21", "2021-22", "2022-23",
                                                "2023-24"]  # fmt: skip
    assert chapter.tables["pcn_code_agreement"]["year"].tolist() == [2019, 2021]
    assert chapter.tables["qof_variation"]["financial_year"].tolist() == ["2019-20", "2021-22"]
    practices = st.read_structure_years(st.stored_files()).practices
    counts = practices[(practices["year"] == 2023) & practices["in_pcn"]].groupby("pcn_code")
    sizes = pd.DataFrame({"log2_practices": np.log2(counts.size())}).rename_axis("organisation_id")
    trends = chapter.tables["trends"].drop(columns="data_tier")
    expected = rule_trends.rule_summary(trends, sizes.reset_index())
    got = chapter.tables["trend_summary"].drop(columns="data_tier")
    pd.testing.assert_frame_equal(got, expected)
    assert set(trends["rule"]) == {"fixed", "own", "practice_fe"}
    logit = chapter.tables["trend_fe_logit"]
    in_2021 = practices[(practices["year"] == 2021) & practices["in_pcn"]]
    assert logit["practices"].iloc[0] <= in_2021["practice_code"].nunique()
    association = chapter.tables["association_summary"]
    assert set(association["measure"]) <= set(real_chapter.MEASURES)
