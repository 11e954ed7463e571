"""The networks' funnel: limits with the between-network variance against statsmodels'
DerSimonian-Laird, the shuffled reference against exact enumeration, the summary's counts,
and the skewness against its textbook formula."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects

from analysis.indicators.networks import achievement as networks
from analysis.indicators.networks import network_funnel

# a left-skewed handful of practices in three organisations of 1, 2 and 4 practices
PCT = np.array([30.0, 95.0, 96.0, 97.0, 98.0, 99.0, 99.5])
ORGS = np.array(["A", "B", "B", "C", "C", "C", "C"])


def _data(pct=PCT, orgs=ORGS, year=2021):
    return pd.DataFrame(
        {
            "practice_code": [f"P{i}" for i in range(len(pct))],
            "year": year,
            "organisation_id": orgs,
            "list_size": 5000,
            "points_achieved": pct,
            "points_available": 100.0,
            "pct": pct,
        }
    )


def _funnel(data, method="dl"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", networks.SmallComparatorWarning)
        national = networks.national_comparator(data)
    organisations = networks.organisation_table(data)
    return national, network_funnel.organisation_funnel(
        organisations, national, 2021, tau2_method=method
    )


def test_limits_add_the_dersimonian_laird_variance_of_statsmodels():
    rng = np.random.default_rng(7)
    sizes = rng.integers(1, 9, 40)
    orgs = np.repeat([f"O{i:02d}" for i in range(40)], sizes)
    pct = 90 + np.repeat(rng.normal(0, 2, 40), sizes) + rng.normal(0, 4, sizes.sum())
    national, funnel = _funnel(_data(pct, orgs))
    sd, value = float(national["sd"].iloc[0]), float(national["value"].iloc[0])
    v = sd**2 / funnel["n_practices"].to_numpy()
    expected_tau2 = combine_effects(funnel["mean_pct"].to_numpy(), v, method_re="dl").tau2
    assert funnel["tau2"].iloc[0] == pytest.approx(expected_tau2, rel=1e-12)
    assert expected_tau2 > 0
    half = sps.norm.ppf(0.999) * np.sqrt(v + expected_tau2)
    assert funnel["lower998_tau2"].to_numpy() == pytest.approx(value - half, rel=1e-12)
    assert funnel["upper95"].to_numpy() == pytest.approx(
        value + sps.norm.ppf(0.975) * np.sqrt(v), rel=1e-12
    )
    outside = funnel["position_tau2"].isin(["below 99.8%", "above 99.8%"])
    assert (outside == (funnel["z_tau2"].abs() > sps.norm.ppf(0.999))).all()
    assert funnel["tau2_method"].iloc[0] == "DerSimonian-Laird"
    with pytest.raises(ValueError, match="parameter 'tau2_method'"):
        _funnel(_data(pct, orgs), method="pm")


def _exact_expectations(funnel):
    """Expected counts over all 5,040 deals of the seven practices (the permutation null)."""
    table = funnel.set_index("organisation_id")
    sizes = table["n_practices"].to_numpy()
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    tau = np.sqrt(table["tau2"].iloc[0])
    deals = np.array(list(itertools.permutations(PCT)))
    means = np.add.reduceat(deals, starts, axis=1) / sizes
    below = (means < table["lower95"].to_numpy()).sum(axis=1)
    # with a normal effect of variance tau2: the chance each mean falls below
    chance = sps.norm.cdf((table["lower95_tau2"].to_numpy() - means) / tau).sum(axis=1)
    return {"sampling": below.mean(), "tau2": chance.mean()}


def test_shuffled_counts_match_exact_enumeration_of_every_deal():
    data = _data()
    _, funnel = _funnel(data)
    assert funnel["tau2"].iloc[0] > 0
    exact = _exact_expectations(funnel)
    shuffles = network_funnel.permutation_reference(
        PCT, ORGS, funnel, permutations=20_000, seed=1, chunk=3_000
    )
    for kind in ("sampling", "tau2"):
        counts = shuffles.counts[(kind, "95%", "below")]
        standard_error = counts.std() / np.sqrt(counts.size)
        assert abs(counts.mean() - exact[kind]) < 4 * standard_error + 1e-12, kind
    # the skew: the one low practice is below the limits whenever it is dealt alone (1 in 7);
    # no deal puts anything above them
    assert exact["sampling"] == pytest.approx(1 / 7)
    assert shuffles.counts[("sampling", "99.8%", "above")].sum() == 0


def test_shuffles_are_seeded_and_refuse_practices_that_do_not_match():
    _, funnel = _funnel(_data())
    first = network_funnel.permutation_reference(PCT, ORGS, funnel, permutations=50, seed=3)
    again = network_funnel.permutation_reference(PCT, ORGS, funnel, permutations=50, seed=3)
    other = network_funnel.permutation_reference(PCT, ORGS, funnel, permutations=50, seed=4)
    key = ("tau2", "95%", "below")
    assert np.array_equal(first.counts[key], again.counts[key])
    assert not np.array_equal(first.counts[key], other.counts[key])
    with pytest.raises(ValueError, match="numbers of practices"):
        network_funnel.permutation_reference(PCT[:-1], ORGS[:-1], funnel, permutations=5)
    with pytest.raises(ValueError, match="not in the funnel"):
        network_funnel.permutation_reference(PCT, np.array([*ORGS[:-1], "Z"]), funnel)
    with pytest.raises(ValueError, match="parameter 'permutations'"):
        network_funnel.permutation_reference(PCT, ORGS, funnel, permutations=0)


def test_summary_counts_the_funnel_and_the_normal_expectation():
    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 9, 60)
    orgs = np.repeat([f"O{i:02d}" for i in range(60)], sizes)
    pct = 100 - rng.gamma(1.0, 4.0, sizes.sum()) - np.repeat(rng.gamma(1.0, 2.0, 60), sizes)
    data = _data(pct, orgs)
    national, funnel = _funnel(data)
    shuffles = network_funnel.permutation_reference(pct, orgs, funnel, permutations=200, seed=5)
    summary = network_funnel.funnel_summary(funnel, shuffles).set_index(
        ["limits", "confidence", "side"]
    )
    assert len(summary) == 12
    for kind, suffix in (("sampling only", ""), ("with between-network variance", "_tau2")):
        row = summary.loc[(kind, "99.8%", "below")]
        assert row["organisations"] == (funnel[f"position{suffix}"] == "below 99.8%").sum()
        assert row["expected_normal"] == pytest.approx(60 * 0.001)
        either = summary.loc[(kind, "95%", "outside")]
        assert either["expected_normal"] == pytest.approx(60 * 0.05)
        assert either["organisations"] == (funnel[f"position{suffix}"] != "within 95%").sum()
        assert either["permutation_low"] <= either["expected_permutation"]
        assert either["expected_permutation"] <= either["permutation_high"]
    reference = network_funnel.funnel_reference(data, national, funnel, shuffles, 2021).iloc[0]
    # adjusted Fisher-Pearson skewness by its textbook formula
    n, centred = len(pct), pct - pct.mean()
    g1 = np.mean(centred**3) / np.mean(centred**2) ** 1.5
    assert reference["skewness_england"] == pytest.approx(g1 * np.sqrt(n * (n - 1)) / (n - 2))
    assert reference["skewness_england"] < 0
    assert reference["financial_year"] == "2021-22"
    assert reference["permutations"] == 200 and reference["seed"] == 5
