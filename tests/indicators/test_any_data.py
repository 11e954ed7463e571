"""One analysis on any data: organisation-level tables, values, membership by year, own ids.

Each statistic is checked against an independent calculation (numpy or scipy), not against
the analysis's own output.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from analysis.indicators.methods import selection
from analysis.indicators.methods.associations import association_tests, performance_scores
from analysis.indicators.methods.results import run_analysis
from analysis.indicators.sources import panel

CATALOGUE = """indicator_id,name,domain,distribution,higher_is_better
SMOK_PREV,Smoking prevalence,prevalence,binomial,
AF006,Atrial fibrillation treated,cardiovascular,binomial,true
"""


def _write(folder, **files):
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("__", ".")).write_text(text, encoding="utf-8")
    return folder


def _org_table(rng, n=40):
    rows = ["organisation_id,year,indicator_id,value"]
    values = {}
    for i in range(n):
        for indicator in ("SMOK_PREV", "AF006"):
            value = float(np.clip(rng.normal(0.2 if indicator == "SMOK_PREV" else 0.8, 0.05), 0, 1))
            values[(f"PCN{i:03d}", indicator)] = value
            rows.append(f"PCN{i:03d},2021,{indicator},{value!r}")
    return "\n".join(rows) + "\n", values


def _run(loaded, **kwargs):
    chosen = selection.select(loaded.observations, loaded.catalogue, loaded.organisations, **kwargs)
    data = selection.prepare(
        loaded.observations, loaded.membership, loaded.catalogue, chosen, unit=loaded.unit
    )
    return data, run_analysis(
        data, loaded.catalogue, loaded.organisations, chosen, level=loaded.level
    )


def test_an_organisation_level_table_uses_the_between_organisation_spread(tmp_path):
    text, values = _org_table(np.random.default_rng(7))
    folder = _write(tmp_path, observations__csv=text, indicator_catalogue__csv=CATALOGUE)
    loaded = panel.load_panel(folder)
    assert loaded.level == "organisation" and loaded.unit == "organisation_id"
    assert set(loaded.catalogue["distribution"]) == {"continuous"}  # no denominators
    assert any("analysed as continuous" in n for n in loaded.notices)
    _, results = _run(loaded)
    assert results.trend.empty and results.variation.empty  # nothing to cluster on
    level = results.level[results.level["indicator_id"] == "AF006"].set_index("organisation_id")
    y = np.array([values[(o, "AF006")] for o in level.index])
    mean, sd = y.mean(), y.std(ddof=1)  # the units' spread: no sampling variance known
    np.testing.assert_allclose(level["national_rate"], mean, rtol=1e-12)
    np.testing.assert_allclose(level["se_adjusted"], sd, rtol=1e-12)
    np.testing.assert_allclose(level["z_adjusted"], (y - mean) / sd, rtol=1e-10)
    p = 2 * sps.norm.sf(np.abs((y - mean) / sd))
    expected = np.where(p < 0.05, np.where(y > mean, "better", "worse"), "not different")
    assert level["classification"].tolist() == expected.tolist()
    assert level["z"].isna().all()  # no sampling-only z without a sampling variance
    smok = results.summary[results.summary["indicator_id"] == "SMOK_PREV"]
    assert set(smok["class_unadjusted"]) <= {"higher", "lower", "not different"}
    assert (smok["class_unadjusted"] != "not different").any()


def test_values_with_denominators_become_binomial_counts(tmp_path):
    obs = "practice_code,year,indicator_id,value,denominator\n" + "".join(
        f"P{i},2021,AF006,{0.5 + 0.01 * i},{100 + 10 * i}\n" for i in range(30)
    )
    membership = "practice_code,year,organisation_id\n" + "".join(
        f"P{i},2021,N{i % 3}\n" for i in range(30)
    )
    folder = _write(
        tmp_path,
        observations__csv=obs,
        membership__csv=membership,
        indicator_catalogue__csv=CATALOGUE,
    )
    loaded = panel.load_panel(folder)
    assert loaded.catalogue.set_index("indicator_id").at["AF006", "distribution"] == "binomial"
    numerators = loaded.observations.set_index("practice_code")["numerator"]
    assert numerators["P3"] == pytest.approx(0.53 * 130)
    _, results = _run(loaded)
    row = results.level.set_index("organisation_id").loc["N0"]
    members = [i for i in range(30) if i % 3 == 0]
    x = sum((0.5 + 0.01 * i) * (100 + 10 * i) for i in members)
    n = sum(100 + 10 * i for i in members)
    total_x = sum((0.5 + 0.01 * i) * (100 + 10 * i) for i in range(30))
    total_n = sum(100 + 10 * i for i in range(30))
    target = total_x / total_n
    assert row["rate"] == pytest.approx(x / n)
    assert row["z"] == pytest.approx((x / n - target) / np.sqrt(target * (1 - target) / n))


def test_tables_in_memory_load_as_their_folder_and_take_the_between_organisation_variance(
    tmp_path,
):
    rng = np.random.default_rng(11)
    ids = [f"P{i:03d}" for i in range(120)]
    n = rng.integers(50, 400, (len(ids), 2))
    rate = np.clip(np.array([0.2, 0.8]) + rng.normal(0, 0.05, (len(ids), 2)), 0.01, 0.99)
    observations = pd.DataFrame(
        {
            "practice_code": np.repeat(ids, 2),
            "year": 2021,
            "indicator_id": ["SMOK_PREV", "AF006"] * len(ids),
            "numerator": np.round(rate * n).ravel(),
            "denominator": n.ravel(),
        }
    )
    membership = pd.DataFrame(
        {
            "practice_code": ids,
            "year": 2021,
            "organisation_id": [f"N{i % 30:02d}" for i in range(120)],
        }
    )
    catalogue = pd.read_csv(io.StringIO(CATALOGUE), dtype=str, keep_default_na=False)
    folder = _write(tmp_path, indicator_catalogue__csv=CATALOGUE)
    observations.to_csv(folder / "observations.csv", index=False)
    membership.to_csv(folder / "membership.csv", index=False)
    from_files = panel.load_panel(folder)
    in_memory = panel.panel_from_tables(observations, catalogue, membership=membership)
    pd.testing.assert_frame_equal(
        in_memory.observations.reset_index(drop=True),
        from_files.observations.reset_index(drop=True),
        check_dtype=False,
    )
    chosen = selection.select(
        in_memory.observations, in_memory.catalogue, in_memory.organisations,
        overdispersion="none",
    )  # fmt: skip
    chosen = selection.with_methods(chosen, organisation_variance="dl", bh_family="domain")
    data = selection.prepare(
        in_memory.observations, in_memory.membership, in_memory.catalogue, chosen
    )
    results = run_analysis(data, in_memory.catalogue, in_memory.organisations, chosen)
    level = results.level
    for indicator, part in level.groupby("indicator_id"):
        national = data.loc[data["indicator_id"] == indicator]
        target = national["numerator"].sum() / national["denominator"].sum()
        v = target * (1 - target) / part["denominator"]  # each organisation's pooled rate
        tau2 = combine_effects(part["rate"], v, method_re="dl").tau2
        np.testing.assert_allclose(part["tau2_organisations"], tau2, rtol=1e-9)
        np.testing.assert_allclose(part["z_adjusted"], (part["rate"] - target) / np.sqrt(v + tau2))
        np.testing.assert_allclose(part["z_members"], (part["rate"] - target) / np.sqrt(v))
    summary = results.summary
    for _, part in summary.groupby("domain"):  # Benjamini-Hochberg within each domain
        np.testing.assert_allclose(part["p_bh"], multipletests(part["p"], method="fdr_bh")[1])
    assert len(summary.groupby("domain")) == 2


def test_membership_by_year_equals_the_same_spells_and_a_year_can_be_held_fixed(tmp_path):
    obs = "practice_code,year,indicator_id,numerator,denominator\n" + "".join(
        f"P{i},{y},AF006,{40 + i + y % 7},{60 + i}\n" for i in range(12) for y in (2020, 2021, 2022)
    )
    by_year = "practice_code,year,organisation_id\n" + "".join(
        f"P{i},{y},{'A' if (i < 6) != (i == 5 and y == 2022) else 'B'}\n"
        for i in range(12)
        for y in (2020, 2021, 2022)
    )
    spells = (
        "practice_code,organisation_id,joined,left\n"
        + "".join(
            f"P{i},{'A' if i < 6 else 'B'},2020,{2022 if i == 5 else ''}\n" for i in range(12)
        )
        + "P5,B,2022,\n"
    )
    one = panel.load_panel(
        _write(
            tmp_path / "a",
            observations__csv=obs,
            membership__csv=by_year,
            indicator_catalogue__csv=CATALOGUE,
        )  # fmt: skip
    )
    two = panel.load_panel(
        _write(
            tmp_path / "b",
            observations__csv=obs,
            membership__csv=spells,
            indicator_catalogue__csv=CATALOGUE,
        )  # fmt: skip
    )
    first, _ = _run(one)
    second, _ = _run(two)
    pd.testing.assert_frame_equal(first, second)
    assert first.set_index(["practice_code", "year"]).at[("P5", 2022), "organisation_id"] == "B"
    fixed, _ = _run(one, membership_year=2021, membership=one.membership)
    assert (fixed[fixed["practice_code"] == "P5"]["organisation_id"] == "A").all()


def test_without_organisations_csv_size_comes_from_the_membership_and_nothing_crashes(tmp_path):
    rng = np.random.default_rng(3)
    obs = "practice_code,year,indicator_id,numerator,denominator\n" + "".join(
        f"P{i:02d},2021,AF006,{rng.integers(50, 90)},100\n" for i in range(60)
    )
    membership = "practice_code,year,organisation_id,list_size\n" + "".join(
        f"P{i:02d},2021,N{i % 12:02d},{1000 + i}\n" for i in range(60)
    )
    folder = _write(tmp_path, observations__csv=obs, membership__csv=membership,
                    indicator_catalogue__csv=CATALOGUE)  # fmt: skip
    loaded = panel.load_panel(folder)
    orgs = loaded.organisations.set_index("organisation_id")
    assert orgs.at["N03", "n_practices"] == 5
    assert orgs.at["N03", "list_size"] == sum(1000 + i for i in range(60) if i % 12 == 3)
    _, results = _run(loaded)
    tests = association_tests(performance_scores(results.summary), loaded.organisations)
    size = tests.set_index("characteristic").loc["list_size"]
    scores = performance_scores(results.summary).set_index("organisation_id")["score"]
    rho, p = sps.spearmanr(orgs.loc[scores.index, "list_size"].astype(float), scores)
    assert size["statistic"] == pytest.approx(rho)
    assert size["n"] == 12 and np.isfinite(size["p_exact"])
    assert "case_study" not in set(tests["characteristic"])  # not given: not tested


def test_many_organisations_use_the_large_sample_tests_of_scipy():
    rng = np.random.default_rng(11)
    scores = pd.DataFrame({"organisation_id": [f"O{i}" for i in range(80)], "comparison": "level",
                           "score": rng.normal(size=80)})  # fmt: skip
    table = pd.DataFrame({"organisation_id": scores["organisation_id"],
                          "imd_score": rng.gamma(3, 5, 80), "region": rng.choice(list("abc"), 80)})  # fmt: skip  # noqa: E501
    tests = association_tests(scores, table).set_index("characteristic")
    rho, p = sps.spearmanr(table["imd_score"], scores["score"])
    assert tests.at["imd_score", "statistic"] == pytest.approx(rho)
    assert tests.at["imd_score", "p_exact"] == pytest.approx(p)
    groups = [scores["score"][table["region"] == g] for g in "abc"]
    assert tests.at["region", "p_exact"] == pytest.approx(sps.kruskal(*groups).pvalue)


def test_parquet_and_csv_give_the_same_panel(tmp_path):
    text, _ = _org_table(np.random.default_rng(5), n=8)
    csv = _write(tmp_path / "csv", observations__csv=text, indicator_catalogue__csv=CATALOGUE)
    parquet = _write(tmp_path / "parquet", indicator_catalogue__csv=CATALOGUE)
    pd.read_csv(csv / "observations.csv").to_parquet(parquet / "observations.parquet")
    one, two = panel.load_panel(csv), panel.load_panel(parquet)
    pd.testing.assert_frame_equal(
        one.observations.reset_index(drop=True), two.observations.reset_index(drop=True)
    )


def test_empty_parameters_mean_everything_in_the_data_and_the_panel_default(tmp_path):
    stored = panel.load_panel()
    chosen = selection.select(
        stored.observations, stored.catalogue, stored.organisations,
        organisations=stored.default_organisations,
    )  # fmt: skip
    assert chosen.organisations == [f"ORG0{i}" for i in range(1, 9)]
    assert chosen.years == list(range(2009, 2015)) and chosen.baseline_year == 2009
    assert chosen.indicators == stored.catalogue["indicator_id"].tolist()
    everything = selection.select(stored.observations, stored.catalogue, stored.organisations)
    assert len(everything.organisations) == len(stored.organisations) == 48


def test_qof_totals_grouped_by_the_pcns_of_a_chosen_year(tmp_path):
    from analysis.core.datasets import write_csv
    from analysis.indicators.sources import qof
    from analysis.indicators.sources.qofmembership import membership_spells, qof_panel

    files = [f for f in qof.stored_files() if "2019-20" in f.name or "2021-22" in f.name]
    practices = qof.read_qof_years(files).practices
    tables = qof_panel(practices, membership_spells(practices, group="pcn"))
    for name, frame in tables.items():
        write_csv(frame, tmp_path / f"{name}.csv")
    loaded = panel.load_panel(tmp_path)
    assert loaded.catalogue["distribution"].tolist() == ["continuous"]
    data, results = _run(loaded, membership_year=2021, membership=loaded.membership)
    # Independently: the 2021-22 PCN of each practice, its share of available points in
    # 2019-20, and the PCN's unweighted mean of its members' shares.
    raw = practices[practices["points_available"] > 0]
    pcn = raw[raw["year"] == 2021].set_index("practice_code")["pcn"]
    early = raw[raw["year"] == 2019].assign(pcn=lambda f: f["practice_code"].map(pcn))
    early = early[early["pcn"].notna() & early["pcn"].ne("U")]
    share = early["points_achieved"] / early["points_available"]
    expected = share.groupby(early["pcn"]).mean()
    level = results.level[results.level["year"] == 2019].set_index("organisation_id")["rate"]
    np.testing.assert_allclose(level[expected.index], expected, rtol=1e-12)
    assert results.trend.empty  # a continuous value has no binomial or Poisson trend
