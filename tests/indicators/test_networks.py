"""PCN analysis: the REML fit against statsmodels and ANOVA, membership rules, funnel arithmetic,
and the REAL chapter's tables recomputed independently from the published bytes."""

from __future__ import annotations

import csv
import gzip
import io
import warnings
from statistics import fmean

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy.stats import false_discovery_control

from analysis.core.datasets import DataError, write_csv
from analysis.core.sentences import check_sentences
from analysis.indicators.methods.mixed import fit_random_intercept
from analysis.indicators.networks import achievement as networks
from analysis.indicators.networks import network_funnel
from analysis.indicators.networks.network_findings import network_findings
from analysis.indicators.networks.network_run import check_parameters, qof_files, run_networks
from analysis.indicators.sources import membership, qof
from analysis.indicators.validation import checker


def _simulate(seed=3, groups=60, between=1.5, within=2.0, slope=0.5, balanced=False):
    rng = np.random.default_rng(seed)
    sizes = np.full(groups, 6) if balanced else rng.integers(1, 12, groups)
    g = np.repeat(np.arange(groups), sizes)
    x = rng.normal(size=len(g))
    y = 3 + slope * x + rng.normal(0, between, groups)[g] + rng.normal(0, within, len(g))
    return pd.DataFrame({"y": y, "x": x, "g": g})


def test_reml_fit_equals_statsmodels_mixedlm():
    frame = _simulate()
    ours = fit_random_intercept(
        frame["y"], frame.assign(Intercept=1.0)[["Intercept", "x"]], frame["g"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = smf.mixedlm("y ~ x", frame, groups=frame["g"]).fit(reml=True)
    assert ours.params.to_numpy() == pytest.approx(theirs.fe_params.to_numpy(), rel=1e-4)
    # statsmodels' standard errors come from the observed information of all parameters,
    # ours (like lme4 and nlme) from (X' V^-1 X)^-1: close, not identical
    assert ours.bse.to_numpy() == pytest.approx(theirs.bse_fe.to_numpy(), rel=1e-2)
    assert ours.between_var == pytest.approx(float(theirs.cov_re.iloc[0, 0]), rel=1e-3)
    assert ours.within_var == pytest.approx(theirs.scale, rel=1e-4)


def test_reml_fixed_effects_are_gls_with_the_fitted_covariance():
    """Dense GLS with V = sigma^2 I + sigma_b^2 Z Z' gives the same beta and covariance."""
    frame = _simulate(groups=25)
    x = frame.assign(Intercept=1.0)[["Intercept", "x"]]
    fit = fit_random_intercept(frame["y"], x, frame["g"])
    z = (frame["g"].to_numpy()[:, None] == np.arange(25)[None, :]).astype(float)
    v = fit.within_var * np.eye(len(frame)) + fit.between_var * z @ z.T
    vi = np.linalg.inv(v)
    xm = x.to_numpy()
    cov = np.linalg.inv(xm.T @ vi @ xm)
    beta = cov @ xm.T @ vi @ frame["y"].to_numpy()
    assert fit.params.to_numpy() == pytest.approx(beta, rel=1e-9)
    assert fit.bse.to_numpy() == pytest.approx(np.sqrt(np.diag(cov)), rel=1e-9)


def test_reml_equals_the_anova_estimator_on_balanced_groups():
    """For balanced groups REML has a closed form: (MSB - MSW) / n and MSW."""
    frame = _simulate(balanced=True)
    fit = fit_random_intercept(
        frame["y"], pd.DataFrame({"Intercept": np.ones(len(frame))}), frame["g"]
    )
    n, k = 6, frame["g"].nunique()
    means = frame.groupby("g")["y"].mean()
    msw = ((frame["y"] - frame["g"].map(means)) ** 2).sum() / (len(frame) - k)
    msb = n * ((means - frame["y"].mean()) ** 2).sum() / (k - 1)
    assert fit.within_var == pytest.approx(msw, rel=1e-6)
    assert fit.between_var == pytest.approx((msb - msw) / n, rel=1e-5)
    assert fit.params["Intercept"] == pytest.approx(frame["y"].mean(), rel=1e-9)


def test_reml_gives_zero_between_variance_when_groups_do_not_differ():
    frame = _simulate(between=0.0, seed=11, balanced=True)
    fit = fit_random_intercept(
        frame["y"], pd.DataFrame({"Intercept": np.ones(len(frame))}), frame["g"]
    )
    assert fit.icc < 0.05


def _practices():
    return pd.DataFrame(
        {
            "practice_code": ["A1", "A2", "A3", "A4", "A1", "A2", "A3", "A5"],
            "year": [2018] * 4 + [2021] * 4,
            "pcn": [None, None, None, None, "P1", "P1", "U", "P2"],
            "list_size": [5000, 6000, 7000, 8000, 5100, 6100, 7100, 9000],
            "points_achieved": [500, 540, 550, 400, 600, 620, 630, 500],
            "points_available": [559, 559, 559, 559, 635, 635, 635, 625],
            "max_points": [559] * 4 + [635] * 4,
        }
    )


def test_membership_fixed_at_a_year_reaches_back_by_practice_code():
    m = membership.derive(_practices(), group="pcn", exclude=["U"], membership_year=2021)
    table = m.table.set_index(["year", "practice_code"])["organisation_id"]
    assert table[(2018, "A1")] == "P1" and table[(2018, "A2")] == "P1"
    assert pd.isna(table[(2018, "A3")])  # U: not allocated, excluded
    assert pd.isna(table[(2018, "A4")])  # absent from the 2021 file
    counts = m.counts.set_index("year")
    assert counts.loc[2018, ["members", "excluded", "no_code"]].tolist() == [2, 1, 1]
    by_year = membership.derive(_practices(), group="pcn", exclude=["U"])
    assert by_year.table.loc[by_year.table["year"] == 2018, "organisation_id"].isna().all()
    with pytest.raises(ValueError, match=r"parameter 'membership_year': 2018 has no 'pcn' codes"):
        membership.derive(_practices(), membership_year=2018)
    with pytest.raises(ValueError, match=r"parameter 'grouping': no column 'stp'"):
        membership.derive(_practices(), group="stp")


def test_a_membership_file_naming_absent_practices_is_refused(tmp_path):
    path = tmp_path / "membership.csv"
    path.write_text("practice_code,organisation_id\nA1,P1\nZ9,P1\nA2,P2\n")
    with pytest.raises(
        DataError, match=r"(?s)membership.csv: .*practices absent from the data on lines \[3\]"
    ):
        membership.read_membership_file(path, _practices())
    path.write_text("practice_code,organisation_id,year\nA1,P1,2018\nA1,P2,2018\n")
    with pytest.raises(DataError, match=r"practice listed twice .* lines \[2, 3\]"):
        membership.read_membership_file(path, _practices())
    path.write_text("practice_code,organisation_id\nA1,P1\nA2,P1\n")
    read = membership.read_membership_file(path, _practices())
    assert read.table.dropna()["practice_code"].tolist() == ["A1", "A2", "A1", "A2"]


def test_comparator_and_funnel_by_hand():
    m = membership.derive(_practices(), group="pcn", exclude=["U"], membership_year=2021)
    data = networks.practice_outcomes(_practices(), m)
    with pytest.warns(networks.SmallComparatorWarning, match="fewer than 30 practices"):
        england = networks.national_comparator(data, "practice_mean")
    pct_2021 = [100 * 600 / 635, 100 * 620 / 635, 100 * 630 / 635, 100 * 500 / 625]
    row = england.set_index("year").loc[2021]
    assert row["value"] == pytest.approx(fmean(pct_2021), abs=1e-12)
    assert row["pooled_points"] == pytest.approx(100 * 2350 / 2530, abs=1e-12)
    assert row["n_practices"] == 4
    organisations = networks.organisation_table(data)
    funnel = network_funnel.organisation_funnel(organisations, england, 2021)
    funnel = funnel.set_index("organisation_id")
    sd = float(np.std(pct_2021, ddof=1))
    p1 = fmean(pct_2021[:2])
    assert funnel.loc["P1", "mean_pct"] == pytest.approx(p1, abs=1e-12)
    assert funnel.loc["P1", "z"] == pytest.approx((p1 - fmean(pct_2021)) / (sd / np.sqrt(2)))
    assert funnel.loc["P1", "upper95"] == pytest.approx(
        fmean(pct_2021) + 1.959964 * sd / np.sqrt(2), abs=1e-5
    )
    with pytest.raises(ValueError, match="parameter 'comparator'"):
        networks.national_comparator(data, "england_row")


def test_size_association_recovers_a_planted_slope():
    rng = np.random.default_rng(5)
    sizes = rng.integers(2, 40, 300)
    org = np.repeat([f"P{i}" for i in range(300)], sizes)
    n = np.repeat(sizes, sizes)
    effect = rng.normal(0, 2, 300)[np.repeat(np.arange(300), sizes)]
    pct = 90 - 1.5 * np.log2(n) + effect + rng.normal(0, 4, len(n))
    data = pd.DataFrame(
        {
            "practice_code": [f"X{i}" for i in range(len(n))],
            "year": 2021,
            "organisation_id": org,
            "list_size": 8000,
            "pct": pct,
        }
    )
    sizes_table = networks.size_associations(data, 2021, 2021)
    row = sizes_table.set_index("size_measure").loc["log2_practices"]
    assert row["ci_lower"] < -1.5 < row["ci_upper"]
    assert row["p"] < 1e-6
    # Benjamini-Hochberg over the family (both size measures here), as scipy computes it
    assert sizes_table["q"].to_numpy() == pytest.approx(false_discovery_control(sizes_table["p"]))
    assert (sizes_table["tests_in_family"] == 2).all()


def test_parameters_the_data_lacks_fail_naming_the_parameter():
    files = qof_files(qof.stored_files()[0].parent)
    assert sorted(files) == [2017, 2018, 2019, 2021]
    base = {
        "first_year": 2017,
        "last_year": 2021,
        "grouping": "pcn",
        "membership_year": 2021,
        "comparator": "practice_mean",
        "sensitivity_years": [2019],
    }
    has = r"the data has \[2017, 2018, 2019, 2021\]"
    for change, pattern in [
        ({"first_year": 2020}, rf"parameter 'first_year': 2020 has no file; {has}"),
        ({"last_year": 2016}, r"parameter 'last_year'"),
        ({"first_year": 2021, "last_year": 2019}, r"parameter 'first_year': 2021 is after"),
        ({"grouping": "stp"}, r"parameter 'grouping'"),
        ({"sensitivity_years": [2015]}, r"parameter 'sensitivity_years': \[2015\]"),
        ({"tau2_method": "pm"}, r"parameter 'tau2_method': 'pm'"),
        ({"permutations": 0}, r"parameter 'permutations': 0"),
        ({"fdr": 1.5}, r"parameter 'fdr': 1.5"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            check_parameters(files, **{**base, **change})
    # every problem at once, and the same check (files read) before the kernel starts
    both = {**base, "first_year": 2020, "grouping": "stp"}
    with pytest.raises(ValueError) as err:
        check_parameters(files, **both)
    assert str(err.value).splitlines() == [
        "parameter 'first_year': 2020 has no file; the data has [2017, 2018, 2019, 2021]",
        "parameter 'grouping': 'stp'; expected one of ('pcn', 'ccg')",
    ]
    findings, what = checker("primary_care_networks")(
        {**both, "data_source": str(qof.stored_files()[0].parent)}
    )
    assert findings.errors == str(err.value).splitlines() and "data source" in what
    assert checker("primary_care_networks")({})[0].errors == []  # the defaults are good


@pytest.fixture(scope="module")
def real_run():
    return run_networks(qof.stored_files()[0].parent)


def _published(year: str) -> list[dict[str, str]]:
    path = qof.stored_files()[0].parent / f"qof_{year}.csv.gz"
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8-sig"))))


def test_real_tables_recompute_from_the_published_bytes_to_1e9(real_run, tmp_path):
    """Written at full precision, the tables agree with a recount from the raw CSV to 1e-9."""
    for name in ("england", "pcn_funnel"):
        write_csv(real_run.tables[name], tmp_path / f"{name}.csv")
    england = pd.read_csv(tmp_path / "england.csv").set_index("year")
    funnel = pd.read_csv(tmp_path / "pcn_funnel.csv").set_index("organisation_id")
    rows = _published("2021-22")
    achieved = "Achievement score (635 max)"
    available = "Total points for indicators where register exists. (Max QOF points available)"
    pct = {r["Practice code"]: 100 * float(r[achieved]) / float(r[available]) for r in rows}
    assert abs(england.at[2021, "value"] - fmean(pct.values())) < 1e-9
    pooled = 100 * sum(float(r[achieved]) for r in rows) / sum(float(r[available]) for r in rows)
    assert abs(england.at[2021, "pooled_points"] - pooled) < 1e-9
    members = [r for r in rows if r["PCN ODS code"] == "U13557"]  # Norwich PCN
    assert (
        abs(funnel.at["U13557", "mean_pct"] - fmean(pct[r["Practice code"]] for r in members))
        < 1e-9
    )
    assert funnel.at["U13557", "n_practices"] == len(members)
    assert funnel.at["U13557", "patients"] == sum(int(r["List size"]) for r in members)
    assert not (funnel.index == "U").any()  # not-allocated practices are no network
    assert len(funnel) == len({r["PCN ODS code"] for r in rows} - {"U"})


def test_real_run_is_labelled_and_its_checks_agree(real_run):
    for name, table in real_run.tables.items():
        assert (table["data_tier"] == "REAL").all(), name
        assert table["source"].str.contains("Open Government Licence v3.0").all(), name
    check = real_run.tables["mixedlm_check"]
    assert check["between_var"].iloc[0] == pytest.approx(check["between_var"].iloc[1], rel=1e-3)
    assert check["within_var"].iloc[0] == pytest.approx(check["within_var"].iloc[1], rel=1e-3)
    summary = real_run.tables["funnel_summary"]
    sides = summary.pivot_table("organisations", ["limits", "confidence"], "side")
    assert (sides["below"] + sides["above"] == sides["outside"]).all()
    assert len(real_run.tables["pcn_funnel"]) == real_run.headline["organisations"]
    england = real_run.tables["england"]
    assert england["basis"].str.contains("publish no England row").all()
    anomalies = real_run.tables["anomalies"]
    assert anomalies[["practice_code", "year", "line"]].values.tolist() == [["D82088", 2021, 3338]]


def test_real_size_tests_are_one_family_with_scipy_benjamini_hochberg(real_run):
    sizes = real_run.tables["size_associations"]
    assert len(sizes) == 10  # 2 measures x (4 years + the change)
    assert (sizes["tests_in_family"] == 10).all() and sizes["family"].nunique() == 1
    assert sizes["q"].to_numpy() == pytest.approx(false_discovery_control(sizes["p"]), rel=1e-12)
    family = real_run.tables["size_family"].iloc[0]
    assert family["discoveries"] == (sizes["q"] < family["fdr"]).sum()
    assert family["smallest_q"] == pytest.approx(sizes["q"].min())
    sensitivity = real_run.tables["membership_sensitivity"]
    fixed = sensitivity[sensitivity["rule"].str.contains("of 2021")].iloc[0]
    change = sizes[sizes["outcome"].str.startswith("change")].set_index("size_measure")
    assert fixed["change_q_practices"] == pytest.approx(change.at["log2_practices", "q"])


def test_real_funnel_at_scale_and_the_reml_check_to_1e9(real_run):
    funnel = real_run.tables["pcn_funnel"]
    summary = real_run.tables["funnel_summary"].set_index(["limits", "confidence", "side"])
    for kind, suffix in (("sampling only", ""), ("with between-network variance", "_tau2")):
        below = summary.loc[(kind, "99.8%", "below"), "organisations"]
        assert below == (funnel[f"position{suffix}"] == "below 99.8%").sum()
    # adding the between-network variance can only narrow the set of networks outside
    wide = funnel["position_tau2"].isin(["below 99.8%", "above 99.8%"])
    narrow = funnel["position"].isin(["below 99.8%", "above 99.8%"])
    assert not (wide & ~narrow).any() and wide.sum() < narrow.sum()
    assert summary["permutations"].eq(500).all()
    check = real_run.tables["mixedlm_check"]
    assert check["relative_difference"].iloc[1] < 1e-9
    assert abs(check["reml_score"].iloc[0]) < 1e-9 * abs(check["reml_loglik"].iloc[0])


def _written(run, folder):
    for name, table in run.tables.items():
        write_csv(table, folder / f"{name}.csv")
    write_csv(run.findings.frame(), folder / "sentences.csv")
    tables = {path.stem: pd.read_csv(path) for path in folder.glob("*.csv")}
    return tables.pop("sentences"), tables


def test_real_findings_are_their_tables_cells_and_a_changed_cell_is_caught(real_run, tmp_path):
    sentences, tables = _written(real_run, tmp_path)
    assert check_sentences(sentences, tables) == []
    keys = set(sentences["key"])
    assert {"funnel_sampling", "skew", "funnel_tau2", "icc_by_year", "size_tests"} <= keys
    assert "icc_before_networks" in keys  # 2017-18 has no PCN codes in its file
    before = sentences.loc[sentences["key"] == "icc_before_networks", "text"].iloc[0]
    assert before.startswith("In 2017-18, before the QOF file records any of these networks")
    summary = tables["funnel_summary"]
    row = (summary["limits"] == "sampling only") & (summary["confidence"] == "99.8%")
    summary.loc[row & (summary["side"] == "below"), "organisations"] += 1
    problems = check_sentences(sentences, tables)
    assert problems and all("funnel_summary.organisations" in p for p in problems)
    tables["funnel_summary"] = pd.read_csv(tmp_path / "funnel_summary.csv")
    partition = tables["variance_partition"]
    partition.loc[partition["year"] == 2017, "icc"] += 0.01
    assert any("variance_partition.icc" in p for p in check_sentences(sentences, tables))


def test_findings_choose_their_words_from_the_cells(real_run):
    tables = {name: table.copy() for name, table in real_run.tables.items()}
    tables["membership"]["codes_in_file"] = True  # as for CCGs: no year before the codes
    summary = tables["funnel_summary"]
    summary["permutation_high"] = 10_000  # far beyond every observed count
    said = network_findings(tables, grouping="ccg")
    keys = {row["key"] for row in said.rows}
    assert "icc_before_networks" not in keys
    assert "within the shuffles' 2.5th to 97.5th percentiles" in said.text("funnel_tau2")
    assert said.text("funnel_sampling").startswith("In 2021-22, of the 1,261 CCGs, 36 lie below")
    assert said.text("size_tests").startswith("The size of the CCGs was tested 10 times")
    assert "in 4 years and against its change)" in said.text("size_tests")
    tables["funnel_reference"]["skewness_england"] = 0.5
    tables["size_family"][["achievement_years", "change_tests"]] = [1, 0]
    again = network_findings(tables)
    assert "right-skewed" in again.text("skew")
    assert "against achievement in 1 year)" in again.text("size_tests")
