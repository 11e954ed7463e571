"""Survey microdata: the synthetic reconstruction gives back every published marginal, the
same code reads a real file, tabulations are weighted correctly and suppressed."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.core.catalogue import load
from analysis.core.datasets import DataError, sha256_file
from analysis.core.reproduction import to_frame
from analysis.core.suppression import TOTAL
from analysis.survey.microdata import (
    MOTIVES,
    SUPPORT,
    microdata_tier,
    read_microdata,
    resolve_microdata,
    synthetic_path,
)
from analysis.survey.microdata_checks import marginal_checks, practice_checks
from analysis.survey.published import read_key_figures, read_ordinal, read_staff, read_table1
from analysis.survey.reconstruction import (
    STAFF_ROLE_SIZES,
    STAFF_SEED,
    generate_staff,
    write_synthetic,
)
from analysis.survey.tabulation import coverage, tabulate


def printed(k: int, n: int) -> int:
    return int(
        (Decimal(100 * int(k)) / Decimal(int(n))).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


@pytest.fixture(scope="module")
def published():
    return {
        "key": read_key_figures(),
        "table1": read_table1(),
        "ordinal": read_ordinal(),
        "staff": read_staff(),
    }


@pytest.fixture(scope="module")
def practice():
    return read_microdata(synthetic_path("practice"), "practice")


@pytest.fixture(scope="module")
def staff():
    return read_microdata(synthetic_path("staff"), "staff")


# --- the reconstruction ---------------------------------------------------------------------


def test_stored_synthetic_files_are_what_the_seeded_generator_writes(tmp_path):
    written = write_synthetic(tmp_path)
    catalogue = {
        d.path: d for d in load() if d.tier == "synthetic" and d.path.startswith("survey/")
    }
    for path in written:
        entry = catalogue[f"survey/synthetic/{path.name}"]
        assert sha256_file(path) == entry.sha256, (
            f"{path.name}: regenerate and update the catalogue"
        )
    other = generate_staff(seed=STAFF_SEED + 1)
    assert not other["role"].equals(generate_staff()["role"])


def test_reconstruction_gives_back_the_published_marginals(practice, published):
    """Independent of marginal_checks: recount from the rows and print as the text does."""
    n = len(practice)
    collab = practice[practice["collaborates"].eq(1)]
    formal = practice[practice["formal"].eq(1).fillna(False)]
    assert n == 982 and practice["ccg_id"].nunique() == 184
    assert printed(len(collab), n) == 73
    assert printed(int(collab["formed_2014_15"].sum()), len(collab)) == 44
    assert printed(int(collab["same_ccg"].sum()), len(collab)) == 84
    assert len(formal) == 355 and formal["maturity_group"].notna().sum() == 348
    assert printed(int(formal["population_50k_plus"].sum()), 355) == 66
    assert printed(int(formal["org_form"].eq("federation").sum()), 355) == 64
    assert printed(int(formal["org_form"].eq("super-partnership").sum()), 355) == 2
    sizes = formal["maturity_group"].value_counts().to_dict()
    assert sizes == {"0-12 months": 151, "13-24 months": 100, "25+ months": 97}
    table1 = published["table1"]
    for row in table1.itertuples(index=False):
        members = formal[formal["maturity_group"].eq(row.maturity_group)]
        count = int(members[f"act_{row.activity_id}"].sum())
        if row.shown == 1:
            assert count == row.count, (row.maturity_group, row.activity_id)
        else:  # not shown: under a quarter in both readings of the rule
            assert 4 * count < row.n and printed(count, row.n) < 25
    motives = {m: int(collab[f"motive_{m}"].sum()) for m in MOTIVES}
    top_two = sorted(motives, key=motives.get, reverse=True)[:2]
    assert set(top_two) == {"efficiencies", "extended_services"}
    assert motives["ccg_encouraged"] > motives["tendering"]
    assert min(motives["efficiencies"], motives["extended_services"]) > motives["ccg_encouraged"]
    support = {s: int(practice[f"support_{s}"].sum()) for s in SUPPORT}
    assert max(support, key=support.get) == "demand"


def test_marginal_checks_all_match_for_the_reconstruction(practice, staff, published):
    for frame, name, expected in ((practice, "practice", 68), (staff, "staff", 3)):
        checks = to_frame(marginal_checks(frame, name, **published))
        assert len(checks) == expected and checks["check_id"].is_unique
        assert checks["must_match"].all()
        assert (checks["status"] == "match").all(), checks[checks["status"] != "match"]
        # Built to match these totals: a round trip, never a reproduction.
        assert (checks["kind"] == "round_trip").all()
        assert checks["reason"].str.contains("regression test of the generator").all()
    checks = to_frame(marginal_checks(practice, "practice", **published)).set_index("check_id")
    # The group sizes are printed in Table 1's header row (line 165), not in its cells.
    for group in ("m00_12", "m13_24", "m25_plus"):
        row = checks.loc[f"survey-micro-table1-n-{group}"]
        assert (row["source_lines"], row["source_location"]) == ("165", "Table 1, header row")


def test_staff_order_follows_the_text(staff):
    means = staff.groupby("role")["overall_satisfaction"].mean().sort_values()
    assert means.index[0] == "salaried GPs"
    assert set(means.index[-2:]) == {"administrators", "receptionists"}
    assert "GP partners" in set(means.index[-3:])
    assert staff["role"].value_counts().to_dict() == STAFF_ROLE_SIZES


def test_a_broken_marginal_is_caught(practice, published):
    frame = practice.copy()
    frame.loc[frame["collaborates"].eq(0).idxmax(), "collaborates"] = 1
    frame["tier"] = "user"
    checks = to_frame(practice_checks(frame, **_pub(published), must=False)).set_index("check_id")
    # 718 / 982 = 73.1% still prints 73, but the respondent now lacks routed answers:
    assert checks.loc["survey-micro-collaborating_pct", "status"] == "match"
    frame.loc[frame["collaborates"].eq(0), "collaborates"] = 1
    checks = to_frame(practice_checks(frame, **_pub(published), must=False)).set_index("check_id")
    assert checks.loc["survey-micro-collaborating_pct", "reproduced"] == "100.0"
    assert checks.loc["survey-micro-collaborating_pct", "status"] == "mismatch"
    assert not checks["must_match"].any()


def _pub(published):
    return {k: published[k] for k in ("key", "table1", "ordinal")}


# --- real microdata in the same schema ------------------------------------------------------


def test_a_user_file_in_the_same_schema_goes_through_the_same_code(tmp_path, practice, published):
    user = practice.drop(columns="tier").iloc[:400]
    path = tmp_path / "real.csv"
    user.to_csv(path, index=False)
    frame = read_microdata(path, "practice")
    assert microdata_tier(frame) == "user"
    checks = to_frame(marginal_checks(frame, "practice", **published))
    assert not checks["must_match"].any()
    assert (checks["kind"] == "recomputed").all()  # real data recompute the figures
    assert (checks["status"] == "mismatch").any()  # 400 respondents are not 982
    table = tabulate(frame, "practice", "org_form")
    assert set(table["grouping"]) == {"org_form"}


def test_resolve_microdata(tmp_path):
    assert resolve_microdata("", "staff") == synthetic_path("staff")
    assert resolve_microdata(str(tmp_path / "x.csv"), "staff") == tmp_path / "x.csv"
    relative = resolve_microdata("data/x.csv", "practice")
    assert relative.is_absolute() and relative.parts[-2:] == ("data", "x.csv")
    with pytest.raises(ValueError, match="parameter survey='ccg'"):
        resolve_microdata("", "ccg")


def _write_edited(tmp_path, survey_name, edit):
    text = synthetic_path(survey_name).read_text(encoding="utf-8").splitlines()
    text = edit(text)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_routing_errors_name_line_and_column(tmp_path, practice):
    line = int(practice.index[practice["collaborates"].eq(0)][0]) + 2  # file line of that row

    def answer_unasked(lines):
        cells = lines[line - 1].split(",")
        cells[lines[0].split(",").index("same_ccg")] = "1"
        lines[line - 1] = ",".join(cells)
        return lines

    path = _write_edited(tmp_path, "practice", answer_unasked)
    with pytest.raises(
        DataError, match=rf"line {line}, column 'same_ccg': 1 is given but collaborates"
    ):
        read_microdata(path, "practice")


def test_schema_errors_name_line_and_column(tmp_path):
    def bad_score(lines):
        lines[3] = lines[3].replace(",synthetic", "").rsplit(",", 2)[0] + ",9,1,synthetic"
        return lines

    path = _write_edited(tmp_path, "staff", bad_score)
    with pytest.raises(DataError, match="line 4, column 'overall_satisfaction': 9"):
        read_microdata(path, "staff")

    def bad_tier(lines):
        lines[2] = lines[2].replace(",synthetic", ",made-up")
        return lines

    path = _write_edited(tmp_path, "staff", bad_tier)
    with pytest.raises(DataError, match="line 3, column 'tier': 'made-up'"):
        read_microdata(path, "staff")


# --- tabulation -----------------------------------------------------------------------------


def test_bad_parameters_are_named(practice, staff):
    with pytest.raises(ValueError, match="parameter grouping='role' is not a grouping variable"):
        tabulate(practice, "practice", "role")
    with pytest.raises(ValueError, match="parameter survey='ccg'"):
        tabulate(practice, "ccg", "role")
    with pytest.raises(ValueError, match="confidence"):
        tabulate(staff, "staff", "role", confidence=1.5)
    with pytest.raises(ValueError, match="threshold"):
        tabulate(staff, "staff", "role", threshold=0)
    empty = practice.assign(org_form=pd.NA)
    with pytest.raises(ValueError, match="grouping='org_form': the microdata has no values"):
        tabulate(empty, "practice", "org_form")


def test_unweighted_tabulation_matches_statsmodels(practice):
    table = tabulate(practice, "practice", "maturity_group", confidence=0.9, threshold=5)
    shown = table[table["percent"].notna()]
    totals = table[table["category"].eq(TOTAL)].set_index(["outcome", "group"])["count"]
    n = totals.reindex(pd.MultiIndex.from_frame(shown[["outcome", "group"]])).to_numpy(dtype=float)
    k = shown["count"].to_numpy(dtype=float)
    np.testing.assert_allclose(shown["percent"], 100 * k / n)
    lo, hi = proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(shown["ci_lower"], 100 * lo, atol=1e-9)
    np.testing.assert_allclose(shown["ci_upper"], 100 * hi, atol=1e-9)
    # One cross-tab recomputed by hand with pandas.
    part = table[(table["outcome"] == "act_peer_review") & (table["category"] == "yes")]
    assert part.set_index("group").loc["25+ months", "count"] == 24
    assert part.set_index("group").loc[TOTAL, "count"] == int(
        practice.loc[practice["maturity_group"].notna(), "act_peer_review"].sum()
    )


def test_weighted_percentages_use_kish_effective_n():
    frame = pd.DataFrame(
        {
            "respondent_id": list("abcdef"),
            "role": ["receptionists"] * 4 + ["salaried GPs"] * 2,
            "overall_satisfaction": [6, 6, 2, 3, 7, 1],
            "weight": [1.0, 3.0, 2.0, 2.0, 1.0, 1.0],
        }
    )
    table = tabulate(frame, "staff", "role", confidence=0.95, threshold=1)
    row = table[(table.outcome == "satisfied") & (table.group == "receptionists")]
    yes = row.set_index("category").loc["yes"]
    # Weighted share 4/8; Kish n_eff = 8^2 / (1 + 9 + 4 + 4) = 64/18.
    assert yes["percent"] == pytest.approx(50.0)
    assert yes["n_effective"] == pytest.approx(64 / 18)
    lo, hi = proportion_confint(0.5 * 64 / 18, 64 / 18, alpha=0.05, method="wilson")
    assert (yes["ci_lower"], yes["ci_upper"]) == pytest.approx((100 * lo, 100 * hi))
    assert yes["count"] == 2  # counts stay unweighted respondents


@pytest.mark.parametrize(
    ("name", "grouping", "threshold"),
    [("practice", "maturity_group", 5), ("practice", "org_form", 10), ("staff", "role", 3)],
)
def test_tabulations_never_publish_a_small_cell(practice, staff, name, grouping, threshold):
    frame = practice if name == "practice" else staff
    table = tabulate(frame, name, grouping, threshold=threshold)
    counts = table["count"].dropna()
    assert not ((counts > 0) & (counts < threshold)).any()
    hidden = table[table["count"].isna()]
    assert hidden["percent"].isna().all() and hidden["suppressed"].ne("").all()
    assert (table["suppressed"] == "primary").any()
    # A withheld group total hides every percentage of that group.
    groups_hidden = table[table["category"].eq(TOTAL) & table["count"].isna()]["group"]
    for outcome, group in zip(
        table.loc[groups_hidden.index, "outcome"], groups_hidden, strict=True
    ):
        rows = table[(table["outcome"] == outcome) & (table["group"] == group)]
        assert rows["percent"].isna().all()


def test_coverage_counts_missing_groups(practice):
    cover = coverage(practice, "practice", "maturity_group").set_index("outcome")
    assert cover.loc["act_strategy", "tabulated"] == 348
    assert cover.loc["act_strategy", "missing_group"] == 7
    assert "formal" not in cover.index and "collaborates" not in cover.index
