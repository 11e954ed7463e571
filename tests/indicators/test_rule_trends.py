"""Organisation trends under membership rules, checked against statsmodels, scipy and
hand-worked cases (small frames: these tests run once per mutant of the module)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from references import statsmodels_cluster_slope
from scipy import stats as sps
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests

from analysis.indicators.networks import rule_trends

# --------------------------------------------------------------------------- _slopes


def _two_groups() -> pd.DataFrame:
    """Z (first in the rows) has practices p1 (10, 12) and p2 (20, 21) in 2019 and 2020;
    A has one practice, p3 (5, 6, 9 in 2019-2021)."""
    return pd.DataFrame(
        {
            "indicator_id": "T",
            "organisation_id": ["Z", "Z", "Z", "Z", "A", "A", "A"],
            "practice_code": ["p1", "p1", "p2", "p2", "p3", "p3", "p3"],
            "year": [2019, 2020, 2019, 2020, 2019, 2020, 2021],
            "value": [10.0, 12.0, 20.0, 21.0, 5.0, 6.0, 9.0],
        }
    )


@pytest.mark.parametrize("fixed_effects", [False, True])
def test_slopes_by_hand_in_order_of_first_appearance(fixed_effects):
    # Z: years centred -.5, .5 (Sxx = 1). Pooled: Sxy = (-10 + 12 - 20 + 21) / 2 = 1.5;
    # within each practice: (2 + 1) / 2 = 1.5, the same (balanced). Residuals of the pooled
    # fit: -5, -4.5 (p1), 5, 4.5 (p2); of the within fit: -.25, .25, .25, -.25. Each
    # practice's score sum(xc e): pooled .25 and -.25, within .25 and -.25, so
    # se = sqrt(2 / 1 * (.0625 + .0625)) / 1 = .5 both ways.
    # A: one practice, Sxx = 2, Sxy = -5 + 9 = 4, slope 2; one cluster, so no standard error.
    got = rule_trends._slopes(_two_groups(), ["indicator_id", "organisation_id"], fixed_effects)
    expected = pd.DataFrame(
        {
            "indicator_id": ["T", "T"],
            "organisation_id": ["Z", "A"],
            "slope": [1.5, 2.0],
            "se": [0.5, np.nan],
            "practice_years": [4, 3],
            "practices": [2, 1],
        }
    )
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_slopes_without_a_trend_or_a_second_practice_are_nan_without_a_warning():
    frame = _two_groups()
    frame.loc[frame["organisation_id"] == "Z", "year"] = 2020  # Z: one year, Sxx = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = rule_trends._slopes(frame, ["organisation_id"], fixed_effects=False)
    assert got["organisation_id"].tolist() == ["Z", "A"]
    assert np.isnan(got["slope"].iloc[0]) and np.isnan(got["se"].iloc[0])
    assert got["slope"].iloc[1] == pytest.approx(2.0)
    assert np.isnan(got["se"].iloc[1])


@pytest.mark.parametrize("fixed_effects", [False, True])
def test_one_practice_has_no_standard_error_even_when_rounding_leaves_a_score(fixed_effects):
    """One practice is one cluster: G / (G - 1) is undefined, so the SE is missing. Its score
    sum(xc e) is 0 in exact arithmetic but -3e-16 here, which must not make the SE infinite."""
    frame = pd.DataFrame(
        {
            "organisation_id": "A",
            "practice_code": "p",
            "year": [2019, 2020, 2023],
            "value": [91.3, 88.7, 90.1],
        }
    )
    got = rule_trends._slopes(frame, ["organisation_id"], fixed_effects)
    assert got["practices"].tolist() == [1] and np.isnan(got["se"].iloc[0])
    x = np.array([2019.0, 2020.0, 2023.0])
    expected = np.polyfit(x, [91.3, 88.7, 90.1], 1)[0]
    assert got["slope"].iloc[0] == pytest.approx(expected, rel=1e-10)


def _on_a_line(scale: float, wiggle: float) -> pd.DataFrame:
    """Two practices on one line over nine years (Sxx = 120), each year moved by ``wiggle``
    times a pattern of alternating signs; every value times ``scale``."""
    years = np.arange(2015, 2024)
    rows = [
        ("A", practice, year, scale * (50.3 + 0.7 * i + wiggle * (-1) ** (i + k) * (1 + 0.3 * i)))
        for k, practice in enumerate(("p", "q"))
        for i, year in enumerate(years)
    ]
    return pd.DataFrame(rows, columns=["organisation_id", "practice_code", "year", "value"])


@pytest.mark.parametrize("scale", [1e-3, 1e4])
def test_the_standard_error_floor_scales_with_the_values(scale):
    """The floor is 1e-9 of the largest value over sqrt(Sxx): a real error 3e-7 of the values
    is kept at any scale (and scales with them), while rounding on an exact line (6e-14 at a
    scale of 1e4) is 0."""
    unit = rule_trends._slopes(_on_a_line(1.0, 3e-7), ["organisation_id"], False)["se"].iloc[0]
    assert unit > 1e-8
    got = rule_trends._slopes(_on_a_line(scale, 3e-7), ["organisation_id"], False)
    assert got["se"].iloc[0] == pytest.approx(scale * unit, rel=1e-6)
    exact = rule_trends._slopes(_on_a_line(scale, 0.0), ["organisation_id"], False)
    assert exact["se"].iloc[0] == 0.0 and exact["slope"].iloc[0] == pytest.approx(0.7 * scale)


def test_no_rows_give_no_slopes():
    got = rule_trends._slopes(_on_a_line(1.0, 0.0).iloc[:0], ["organisation_id"], False)
    assert got.empty
    assert got.columns.tolist() == [
        "organisation_id", "slope", "se", "practice_years", "practices"
    ]  # fmt: skip


def test_an_organisation_whose_practices_lie_on_its_line_has_no_standard_error():
    """Two practices, one seen once: the fit passes through every point, so the cluster
    sandwich is 0 exactly (by hand), not the 1e-14 floating rounding leaves (which, as a
    weight 1e27 times the others', sent the between-organisation variance to infinity)."""
    frame = pd.DataFrame(
        {
            "organisation_id": ["E", "E", "E", "F", "F", "F", "F"],
            "practice_code": ["a", "b", "a", "c", "c", "d", "d"],
            "year": [2019, 2019, 2021, 2019, 2021, 2019, 2021],
            "value": [100.0, 100.0, 98.91811, 90.0, 93.0, 80.0, 81.0],
        }
    )
    got = rule_trends._slopes(frame, ["organisation_id"], fixed_effects=False)
    assert got["se"].iloc[0] == 0.0
    assert got["slope"].iloc[0] == pytest.approx((98.91811 - 100.0) / 2, rel=1e-12)
    # F: residuals of the pooled fit (slope 1) are 1.5, -1.5... : a real error, kept
    assert got["se"].iloc[1] > 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trends = rule_trends.organisation_trends(
            frame.assign(indicator_id="T").drop(columns="organisation_id"),
            {"own": frame[["practice_code", "year", "organisation_id"]].drop_duplicates()},
        )
    assert trends["organisation_id"].tolist() == ["F"]  # E has no error to compare
    assert np.isnan(trends["tau2"]).all()  # one organisation left: no between variance


def test_with_no_organisation_to_compare_the_trends_and_summary_are_empty_tables():
    """Practices in one organisation of one practice each year: no trend has an error to
    compare, so both tables are empty but keep their columns and types."""
    frame = _two_groups()
    frame = frame[frame["organisation_id"] == "A"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trends = rule_trends.organisation_trends(
            frame.drop(columns="organisation_id"),
            {"own": frame[["practice_code", "year", "organisation_id"]]},
        )
    assert trends.empty and trends["tau2"].dtype == float and "classification" in trends
    for sizes in (None, pd.DataFrame({"organisation_id": ["A"], "log2_practices": [0.0]})):
        summary = rule_trends.rule_summary(trends, sizes)
        extra = [] if sizes is None else ["size_slope", "size_p"]
        assert summary.empty and summary.columns.tolist() == [*rule_trends.SUMMARY_COLUMNS, *extra]
    full = rule_trends.rule_summary(_summary_input(), None)
    assert full.columns.tolist() == rule_trends.SUMMARY_COLUMNS  # the same names as filled


# --------------------------------------------------------------------------- organisation_trends


def _membership(year_of_move: int | None) -> pd.DataFrame:
    """O0..O7 of three practices each (practice k in O{k // 3}); practice 22 moves from O7 to
    O6 in 2021 (each year's own membership) or is in O6 throughout (``year_of_move`` None,
    the 2021 membership traced back); X24 alone forms O9; N0..N4 are in no organisation."""
    rows = []
    for year in (2019, 2020, 2021):
        for k in range(24):
            org = k // 3
            if k == 22 and (year_of_move is None or year >= year_of_move):
                org = 6
            rows.append({"practice_code": f"X{k:02d}", "year": year, "organisation_id": f"O{org}"})
        rows.append({"practice_code": "X24", "year": year, "organisation_id": "O9"})
    return pd.DataFrame(rows)


def _trend_panel() -> pd.DataFrame:
    """Indicators: T (every practice, organisation effects on the trend, noise); S (O0 and O1
    with identical data rising 0.6 a year faster than the rest); U (O2 and O3 falling 0.6 a
    year slower); Q (O5 only); R (O4 only, exactly linear and parallel: no residual).
    Practices whose index is a multiple of 4 miss 2019 and are 5 points higher."""
    rng = np.random.default_rng(11)
    practices = [f"X{k:02d}" for k in range(25)] + [f"N{k}" for k in range(5)]
    effect = dict(zip(range(10), rng.normal(0, 0.5, 10), strict=True))
    rows = []
    for i, practice in enumerate(practices):
        org = i // 3 if i < 24 else (9 if i == 24 else None)
        late = i % 4 == 0
        level = 50 + 5 * late + rng.normal(0, 3)
        for year in (2020, 2021) if late else (2019, 2020, 2021):
            t = year - 2019
            noise = rng.normal(0, 0.3)
            slope_t = 0.3 + (effect[org] if org is not None else 0.0)
            rows.append((practice, year, "T", level + slope_t * t + noise))
            base = 40 + i % 3 + 0.1 * (i % 3) * t + 0.05 * (year == 2020)
            if org in (0, 1) or org is None:
                rows.append((practice, year, "S", base + (0.3 + 0.6 * (org is not None)) * t))
            if org in (2, 3) or org is None:
                rows.append((practice, year, "U", base + (0.3 - 0.6 * (org is not None)) * t))
            if org == 5 or org is None:
                rows.append((practice, year, "Q", base + 0.3 * t + rng.normal(0, 0.2)))
            if org == 4:
                rows.append((practice, year, "R", 60.0 + 1.0 * t))
            elif org is None:
                rows.append((practice, year, "R", base + 0.3 * t))
    return pd.DataFrame(rows, columns=rule_trends.PANEL_COLUMNS)


def _expected_trends(panel, memberships, alpha=0.05) -> pd.DataFrame:
    frames = []
    for rule, members in memberships.items():
        fe = rule == "practice_fe"
        data = panel.merge(members, on=["practice_code", "year"])
        england = {
            ind: statsmodels_cluster_slope(part.reset_index(drop=True), fe)[0]
            for ind, part in panel.groupby("indicator_id")
        }
        rows = []
        for (ind, org), part in data.groupby(["indicator_id", "organisation_id"]):
            slope, se, clusters = statsmodels_cluster_slope(part.reset_index(drop=True), fe)
            if not se > 1e-6:  # a single practice, or no residual at all (R)
                continue
            rows.append(
                {
                    "rule": rule,
                    "indicator_id": ind,
                    "organisation_id": org,
                    "slope": slope,
                    "se": se,
                    "practice_years": len(part),
                    "practices": clusters,
                    "england_slope": england[ind],
                    "difference": slope - england[ind],
                }
            )
        out = pd.DataFrame(rows)
        for _, part in out.groupby("indicator_id"):
            tau2 = np.nan
            if len(part) > 1:
                fit = combine_effects(part["difference"], part["se"] ** 2, method_re="dl")
                tau2 = max(fit.tau2, 0.0)  # statsmodels leaves DerSimonian-Laird untruncated
            z = part["difference"] / np.sqrt(part["se"] ** 2 + tau2)
            p = 2 * sps.norm.sf(np.abs(z))
            p_bh = multipletests(p, method="fdr_bh")[1] if len(part) > 1 else p
            out.loc[part.index, "tau2"] = tau2
            out.loc[part.index, "z"] = z
            out.loc[part.index, "p"] = p
            out.loc[part.index, "p_bh"] = p_bh
        label = np.where(out["difference"] > 0, "faster", "slower")
        out["classification"] = np.where(out["p_bh"] < alpha, label, "not different")
        frames.append(out)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def trends_case():
    panel = _trend_panel()
    own = _membership(2021)
    memberships = {"own": own, "practice_fe": own, "fixed": _membership(None)}
    return panel, memberships, rule_trends.organisation_trends(panel, memberships)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["rule", "indicator_id", "organisation_id"]).sort_index()


def test_organisation_trends_match_statsmodels_scipy_and_multipletests(trends_case):
    panel, memberships, got = trends_case
    expected = _expected_trends(panel, memberships)
    assert list(got.columns) == [
        "rule", "indicator_id", "organisation_id", "slope", "se", "practice_years",
        "practices", "england_slope", "difference", "tau2", "z", "p", "p_bh", "classification",
    ]  # fmt: skip
    assert isinstance(got.index, pd.RangeIndex) and got.index.is_monotonic_increasing
    assert got["rule"].drop_duplicates().tolist() == ["own", "practice_fe", "fixed"]
    pd.testing.assert_frame_equal(
        _keyed(got), _keyed(expected)[list(_keyed(got).columns)], check_exact=False, rtol=1e-6
    )
    # The case exercises every branch: all three verdicts, dropped organisations (O9 has one
    # practice, R's O4 no residual), an indicator of one organisation (no tau2) and of two.
    assert set(got["classification"]) == {"faster", "slower", "not different"}
    assert not got["organisation_id"].eq("O9").any() and "R" not in set(got["indicator_id"])
    q = got[got["indicator_id"] == "Q"]
    assert len(q) == 3 and q["tau2"].isna().all() and q["classification"].eq("not different").all()
    p_bh = got["p_bh"]
    assert ((p_bh > 0.05) & (p_bh < 1)).any()  # a default alpha of 1 or more would differ
    faster = got[got["classification"] == "faster"]
    assert (faster["difference"] < 1).all()
    fe = got[got["rule"] == "practice_fe"].set_index(["indicator_id", "organisation_id"])
    pooled = got[got["rule"] == "own"].set_index(["indicator_id", "organisation_id"])
    assert not np.allclose(fe.loc["T", "england_slope"], pooled.loc["T", "england_slope"])


def test_organisation_trends_at_another_alpha_and_tau2_method(trends_case):
    panel, memberships, _ = trends_case
    own = {"own": memberships["own"]}
    got = rule_trends.organisation_trends(panel, own, alpha=0.5, tau2_method="reml")
    expected = _expected_trends(panel, own, alpha=0.5)
    t = got[got["indicator_id"] == "T"].reset_index(drop=True)
    # REML's tau2 solves its score equation (Viechtbauer 2005, eq. 12):
    v, d = t["se"].to_numpy() ** 2, t["difference"].to_numpy()
    tau2 = t["tau2"].iloc[0]
    w = 1 / (v + tau2)
    mu = np.sum(w * d) / np.sum(w)
    score = np.sum(w**2 * ((d - mu) ** 2 - v - tau2)) + np.sum(w**2) / np.sum(w)
    assert tau2 > 0 and abs(score) < 1e-6 * np.sum(w)
    assert (got["classification"] == np.where(
        got["p_bh"] < 0.5, np.where(got["difference"] > 0, "faster", "slower"), "not different"
    )).all()  # fmt: skip
    assert ((got["p_bh"] > 0.05) & (got["p_bh"] < 0.5)).any()
    pd.testing.assert_frame_equal(
        _keyed(got)[["slope", "se", "england_slope", "difference"]],
        _keyed(expected)[["slope", "se", "england_slope", "difference"]],
        check_exact=False,
        rtol=1e-6,
    )


def test_only_practice_and_year_join_the_membership():
    panel = _trend_panel()
    panel["source"] = "qof"
    own = _membership(2021).assign(source="pcn mapping")
    got = rule_trends.organisation_trends(panel, {"own": own})
    expected = rule_trends.organisation_trends(_trend_panel(), {"own": _membership(2021)})
    pd.testing.assert_frame_equal(got, expected)


# --------------------------------------------------------------------------- rule_summary


def _summary_input() -> pd.DataFrame:
    """Hand-made trends: indicator B has o1-o4 under every rule and an extra rule "annual";
    indicator A has o1-o3 under practice_fe, o1-o2 under own (two matched: no correlation) and
    o5 under fixed (none matched)."""
    ref_b = {"o1": 0.10, "o2": 0.30, "o3": -0.20, "o4": 0.05}
    shift = {"o1": 0.01, "o2": 0.06, "o3": 0.20, "o4": -0.30}
    rows = []
    for rule, scale in (("annual", -1.0), ("own", 1.0), ("practice_fe", 0.0), ("fixed", 2.0)):
        for org, slope in ref_b.items():
            rows.append(("B", rule, org, slope + scale * shift[org], 0.02 * scale))
    rows += [
        ("A", "practice_fe", "o1", 0.4, 0.1),
        ("A", "practice_fe", "o2", 0.5, 0.1),
        ("A", "practice_fe", "o3", 0.9, 0.1),
        ("A", "own", "o2", 0.45, 0.3),
        ("A", "own", "o1", 0.7, 0.3),
        ("A", "fixed", "o5", -0.1, 0.2),
    ]
    frame = pd.DataFrame(
        rows, columns=["indicator_id", "rule", "organisation_id", "slope", "england_slope"]
    )
    frame = frame.sample(frac=1, random_state=3).reset_index(drop=True)  # any row order
    frame["difference"] = frame["slope"] - frame["england_slope"]
    frame["tau2"] = frame["rule"].map({"annual": 0.04, "own": 0.01, "practice_fe": 0.0})
    frame["tau2"] = frame["tau2"].fillna(0.09) + (frame["indicator_id"] == "A") * 0.16
    frame["classification"] = np.select(
        [frame["difference"] > 0.2, frame["difference"] < -0.1], ["faster", "slower"],
        "not different",
    )  # fmt: skip
    return frame


SIZES = pd.DataFrame(
    {"organisation_id": ["o1", "o2", "o3", "o4", "o5"], "log2_practices": [1.0, 2.0, 2.5, 3.0, 4]}
)


def _expected_summary(trends: pd.DataFrame, sizes, reference="practice_fe") -> pd.DataFrame:
    ref = {
        (r.indicator_id, r.organisation_id): r.slope
        for r in trends[trends["rule"] == reference].itertuples()
    }
    rows = []
    for indicator in sorted(trends["indicator_id"].unique()):
        present = set(trends.loc[trends["indicator_id"] == indicator, "rule"])
        rules = [r for r in ("fixed", "own", "practice_fe") if r in present]
        for rule in rules + sorted(present - set(rules)):
            part = trends[(trends["rule"] == rule) & (trends["indicator_id"] == indicator)]
            pairs = [
                (r.slope, ref[(indicator, r.organisation_id)])
                for r in part.itertuples()
                if (indicator, r.organisation_id) in ref
            ]
            a, b = np.array(pairs).reshape(-1, 2).T
            gaps = np.abs(a - b)
            row = {
                "rule": rule,
                "indicator_id": indicator,
                "organisations": len(part),
                "england_slope": part["england_slope"].iloc[0],
                "median_slope": float(np.median(part["slope"])),
                "between_sd": float(np.sqrt(part["tau2"].iloc[0])),
                "faster": int(sum(part["classification"] == "faster")),
                "slower": int(sum(part["classification"] == "slower")),
                "correlation": sps.pearsonr(a, b)[0] if len(a) >= 3 else np.nan,
                "moved_by_rule": int(sum(gaps > 0.05)),
                "p90_abs_difference": np.percentile(gaps, 90) if len(a) else np.nan,
            }
            if sizes is not None:
                joined = part.merge(sizes, on="organisation_id")
                if len(joined) >= 3:
                    fit = sm.OLS(
                        joined["difference"], sm.add_constant(joined["log2_practices"])
                    ).fit(cov_type="HC1")
                    row["size_slope"] = fit.params["log2_practices"]
                    row["size_p"] = fit.pvalues["log2_practices"]
                else:
                    row["size_slope"] = row["size_p"] = np.nan
            rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("sizes", [None, SIZES])
def test_rule_summary_against_scipy_numpy_and_statsmodels(sizes):
    trends = _summary_input()
    got = rule_trends.rule_summary(trends, sizes)
    expected = _expected_summary(trends, sizes)
    assert got["rule"].tolist()[:3] == ["fixed", "own", "practice_fe"]
    assert got["rule"].tolist()[3:] == ["fixed", "own", "practice_fe", "annual"]
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
    # The case holds each branch: a correlation from four pairs, none from two, no pair at all.
    b = got.set_index(["indicator_id", "rule"])
    assert np.isfinite(b.loc[("B", "own"), "correlation"])
    assert np.isnan(b.loc[("A", "own"), "correlation"])
    assert np.isnan(b.loc[("A", "fixed"), "p90_abs_difference"])
    assert b.loc[("B", "fixed"), "moved_by_rule"] == 3  # shifts .02, .12, .4, .6 beyond .05


def test_rules_the_module_does_not_name_follow_in_the_order_they_first_appear():
    trends = _summary_input()
    zeta = trends[trends["rule"] == "annual"].assign(rule="zeta")
    got = rule_trends.rule_summary(pd.concat([zeta, trends], ignore_index=True))
    b = got.loc[got["indicator_id"] == "B", "rule"].tolist()
    assert b == ["fixed", "own", "practice_fe", "zeta", "annual"]


def test_a_trend_moved_by_exactly_the_threshold_is_not_moved():
    trends = _summary_input()
    own_b = (trends["rule"] == "own") & (trends["indicator_id"] == "B")
    reference = trends[(trends["rule"] == "practice_fe") & (trends["indicator_id"] == "B")]
    by_org = reference.set_index("organisation_id")["slope"]
    trends.loc[own_b, "slope"] = trends.loc[own_b, "organisation_id"].map(by_org) + 0.05
    trends.loc[own_b & (trends["organisation_id"] == "o1"), "slope"] = by_org["o1"] + 0.06
    got = rule_trends.rule_summary(trends).set_index(["indicator_id", "rule"])
    shifts = trends.loc[own_b].set_index("organisation_id")["slope"] - by_org
    assert (shifts.drop("o1") == rule_trends.CHANGED).sum() >= 1  # some land on it exactly
    assert got.loc[("B", "own"), "moved_by_rule"] == 1 + int((shifts.drop("o1") > 0.05).sum())


def test_only_the_organisation_joins_the_sizes():
    """A column the sizes and the trends both carry is not a key of their join."""
    trends = _summary_input().assign(note="trend")
    sizes = SIZES.assign(note="size")
    got = rule_trends.rule_summary(trends, sizes)
    expected = rule_trends.rule_summary(trends.drop(columns="note"), SIZES)
    pd.testing.assert_frame_equal(got, expected)
    assert got["size_slope"].notna().any()


def test_rule_summary_against_another_reference():
    trends = _summary_input()
    got = rule_trends.rule_summary(trends, reference="own")
    expected = _expected_summary(trends, None, reference="own")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


# --------------------------------------------------------------------------- within_variation


def _values_and_members():
    rng = np.random.default_rng(5)
    members = pd.DataFrame(
        {
            "practice_code": [f"p{i:02d}" for i in range(14)],
            "organisation_id": ["a"] * 4 + ["b"] * 3 + ["c"] * 5 + ["d", "e"],
        }
    )
    rows = []
    for indicator, shift in (("I2", 3.0), ("I1", 0.0)):
        for year in (2021, 2020):
            for i, org in enumerate(members["organisation_id"]):
                level = {"a": 70, "b": 74, "c": 77, "d": 72, "e": 79}[org]
                rows.append((indicator, year, f"p{i:02d}", level + shift + rng.normal(0, 2)))
    values = pd.DataFrame(rows, columns=["indicator_id", "year", "practice_code", "value"])
    values = values[~((values["indicator_id"] == "I2") & (values["practice_code"] == "p13"))]
    values.loc[len(values) + 100] = ("I3", 2020, "p00", 50.0)  # one organisation: skipped
    values.loc[len(values) + 101] = ("I3", 2020, "p01", 52.0)
    return values, members


def test_within_variation_matches_statsmodels_reml():
    values, members = _values_and_members()
    got = rule_trends.within_variation(values, members, ["indicator_id", "year"])
    rows = []
    for (indicator, year), part in sorted(
        values.merge(members, on="practice_code").groupby(["indicator_id", "year"])
    ):
        if part["organisation_id"].nunique() < 2:
            continue
        fit = sm.MixedLM(
            part["value"].to_numpy(), np.ones((len(part), 1)), part["organisation_id"].to_numpy()
        ).fit(reml=True)
        between, within = float(np.asarray(fit.cov_re)[0, 0]), float(fit.scale)
        counts = part["organisation_id"].value_counts()
        sds = [
            np.std(part.loc[part["organisation_id"] == org, "value"], ddof=1)
            for org in counts.index[counts > 1]
        ]
        rows.append(
            {
                "indicator_id": indicator,
                "year": year,
                "organisations": counts.size,
                "practices": len(part),
                "single_practice": int((counts == 1).sum()),
                "mean": fit.fe_params[0],
                "between_sd": np.sqrt(between),
                "within_sd": np.sqrt(within),
                "icc": between / (between + within),
                "median_within_sd": float(np.median(sds)),
            }
        )
    expected = pd.DataFrame(rows)
    assert got[["indicator_id", "year"]].values.tolist() == [
        ["I1", 2020], ["I1", 2021], ["I2", 2020], ["I2", 2021],
    ]  # fmt: skip
    assert got["single_practice"].tolist() == [2, 2, 1, 1]  # d and e; e has no I2 value
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-4)


def test_within_variation_with_yearly_membership_and_single_practices_only():
    values, members = _values_and_members()
    yearly = pd.concat([members.assign(year=2020), members.assign(year=2021)])
    yearly.loc[(yearly["year"] == 2021) & (yearly["practice_code"] == "p00"), "organisation_id"] = (
        "e"
    )
    got = rule_trends.within_variation(values, yearly, ["indicator_id", "year"])
    assert (
        got.loc[(got["indicator_id"] == "I1") & (got["year"] == 2021), "single_practice"].item()
        == 1
    )
    # organisations of one practice each: no within spread to take a median of
    lone = pd.DataFrame(
        {"practice_code": ["p00", "p04", "p07"], "organisation_id": ["a", "b", "c"]}
    )
    got = rule_trends.within_variation(values, lone, ["indicator_id", "year"])
    assert got["indicator_id"].tolist() == ["I1", "I1", "I2", "I2"]
    assert got["single_practice"].tolist() == [3] * 4 and got["median_within_sd"].isna().all()


def test_within_variation_skips_a_cell_of_one_organisation_and_fits_the_next_of_two():
    """Cell A0 has one organisation (skipped, and the cells after it are still fitted); B1
    has two of two practices each, enough for a fit and a within-organisation SD. Only the
    practice code and the cell columns join the two tables: a column both happen to carry
    is not a key."""
    members = pd.DataFrame(
        {
            "practice_code": ["p1", "p2", "p3", "p4", "p5"],
            "organisation_id": ["a", "a", "b", "b", "c"],
            "note": "the membership file's own column",
        }
    )
    values = pd.DataFrame(
        {
            "indicator_id": ["A0", "A0", "B1", "B1", "B1", "B1"],
            "practice_code": ["p1", "p2", "p1", "p2", "p3", "p4"],
            "value": [50.0, 52.0, 60.0, 64.0, 70.0, 71.0],
            "note": "the values file's own column",
        }
    )
    got = rule_trends.within_variation(values, members, ["indicator_id"])
    assert got["indicator_id"].tolist() == ["B1"]
    row = got.iloc[0]
    assert (row["organisations"], row["practices"], row["single_practice"]) == (2, 4, 0)
    sds = [np.std([60.0, 64.0], ddof=1), np.std([70.0, 71.0], ddof=1)]
    assert row["median_within_sd"] == pytest.approx(np.median(sds), rel=1e-12)
    assert row["mean"] == pytest.approx(66.25, rel=1e-9)  # balanced groups: the plain mean
