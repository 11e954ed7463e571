"""McDonald et al. Tables 1, 2, 3 and 7: totals recomputed and checked against the codes."""

from __future__ import annotations

import pandas as pd

from analysis.casestudy.conditions import crisp_sets
from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score
from analysis.casestudy.published import (
    table1_checks,
    table2_checks,
    table2_matrix,
    table3_checks,
    table3_matrix,
    table7_checks,
    table7_iagp_code,
)
from analysis.casestudy.sources import SITES

DATA = load()


def scored(spec: str = "linear", evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    evidence = DATA.evidence if evidence is None else evidence
    return score(evidence, parse_scoring_map(spec, DATA.codebook))


# --------------------------------------------------------------------------- Tables 1-3, 7


def test_table1_totals_recompute_to_139_meetings():
    table = DATA.table1[DATA.table1["reported_in"] == "table"]
    sites = table[table["site"].isin(SITES) & (table["meeting_type"] == "Total")]
    assert dict(zip(sites["site"], sites["n"], strict=True)) == {
        "Expanding": 43,
        "Embedded": 28,
        "Struggling": 39,
        "Small": 29,
    }
    checks = table1_checks(DATA.table1)
    assert all(c.status == "match" for c in checks)
    by_id = {c.check_id: c for c in checks}
    assert by_id["cs_t1_total_by_site"].reproduced == "139"
    assert by_id["cs_t1_total_by_type"].reproduced == str(77 + 25 + 29 + 8)


def test_table2_totals_recompute_to_205_interviews_by_type_and_site():
    checks = {c.check_id: c for c in table2_checks(DATA.table2)}
    assert len(checks) == 4 + 6 + 3 and all(c.status == "match" for c in checks.values())
    expected_types = {"clinicians": 74, "pms": 24, "federation_staff": 27, "patients": 45}
    for slug, n in {**expected_types, "ccg": 10, "other": 16}.items():
        assert float(checks[f"cs_t2_type_{slug}"].reproduced) == n
    for site, n in {"expanding": 45, "embedded": 68, "struggling": 43, "small": 40}.items():
        assert float(checks[f"cs_t2_site_{site}"].reproduced) == n
    assert float(checks["cs_t2_total_by_site"].reproduced) == 45 + 68 + 43 + 40 + 9 == 205


def test_table2_matrix_recomputes_margins():
    wide = table2_matrix(DATA.table2).set_index("site")
    assert wide.loc["Embedded", "Total (sum of cells)"] == 68
    assert wide.loc["All sites", "Total (sum of cells)"] == 205
    assert wide.loc["All sites (sum of cells)", "Patients"] == 45


def test_a_transcription_error_shows_up_as_a_mismatch():
    table2 = DATA.table2.copy()
    cell = (table2["site"] == "Expanding") & (table2["interviewee_type"] == "Clinicians")
    table2.loc[cell, "n"] = 18
    status = {c.check_id: c.status for c in table2_checks(table2)}
    assert status["cs_t2_site_expanding"] == "mismatch"
    assert status["cs_t2_type_clinicians"] == "mismatch"
    assert status["cs_t2_type_patients"] == "match"


def test_table3_and_table7_agree_with_the_codes_read_from_the_prose():
    scores = parse_scoring_map("linear", DATA.codebook)
    checks = table3_checks(DATA.table3, scored()) + table7_checks(
        DATA.table7, scored(), scores, 0.5
    )
    assert len(checks) == 8 and all(c.status == "match" for c in checks)
    # The other side is the compendium's coding of prose: a coded rule, not consistency.
    assert {c.kind for c in checks} == {"coded_rule"} and not any(c.must_match for c in checks)
    assert all("compendium's coding of the report's prose" in c.reason for c in checks)
    small = {c.check_id: c for c in checks}["cs_t7_iagp_small"]
    assert small.published == small.reproduced == "partner_bid_only (score 0.50, crossover)"
    wide = table3_matrix(DATA.table3).set_index("characteristic")
    assert wide.loc["Size (n patients)", "Struggling"] == "500,000"
    assert wide.loc["Size (n organisations)", "Small"] == "< 10"


def test_table7_reading_of_iagp_and_a_changed_cell_is_a_mismatch():
    assert table7_iagp_code(DATA.table7, "Expanding") == "won_and_delivered"
    assert table7_iagp_code(DATA.table7, "Small") == "partner_bid_only"
    assert table7_iagp_code(DATA.table7, "Struggling") == "no_bid"
    table7 = DATA.table7.copy()
    table7.loc[(table7["site"] == "Small") & (table7["item"] == 1), "service"] = "IAGP"
    scores = parse_scoring_map("linear", DATA.codebook)
    status = {c.check_id: c.status for c in table7_checks(table7, scored(), scores, 0.5)}
    assert status["cs_t7_iagp_small"] == "mismatch" and status["cs_t7_iagp_expanding"] == "match"


def test_the_table7_check_and_the_qca_share_one_scoring_of_the_outcome():
    """Under a convex map Small's partner bid scores 0.25: out for both, never in for one."""
    scores = parse_scoring_map("convex", DATA.codebook)
    check = {c.check_id: c for c in table7_checks(DATA.table7, scored("convex"), scores, 0.5)}
    assert check["cs_t7_iagp_small"].reproduced == "partner_bid_only (score 0.25, out)"
    crisp = crisp_sets(scored("convex"), ["iagp_outcome"], 0.5)
    assert crisp.loc["Small", "iagp_outcome"] == 0
