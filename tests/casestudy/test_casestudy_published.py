"""McDonald et al. Tables 1, 2, 3 and 7: totals recomputed and checked against the codes."""

from __future__ import annotations

import pandas as pd

from analysis.casestudy.evidence import load
from analysis.casestudy.framework import parse_scoring_map, score
from analysis.casestudy.published import (
    table1_checks,
    table2_checks,
    table2_matrix,
    table3_checks,
    table3_matrix,
    table7_checks,
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
    assert wide.loc["Embedded", "Total (recomputed)"] == 68
    assert wide.loc["All sites", "Total (recomputed)"] == 205
    assert wide.loc["All sites (recomputed)", "Patients"] == 45


def test_a_transcription_error_shows_up_as_a_mismatch():
    table2 = DATA.table2.copy()
    cell = (table2["site"] == "Expanding") & (table2["interviewee_type"] == "Clinicians")
    table2.loc[cell, "n"] = 18
    status = {c.check_id: c.status for c in table2_checks(table2)}
    assert status["cs_t2_site_expanding"] == "mismatch"
    assert status["cs_t2_type_clinicians"] == "mismatch"
    assert status["cs_t2_type_patients"] == "match"


def test_table3_and_table7_agree_with_the_codes_read_from_the_prose():
    checks = table3_checks(DATA.table3, scored()) + table7_checks(DATA.table7, scored())
    assert len(checks) == 8 and all(c.status == "match" for c in checks)
    wide = table3_matrix(DATA.table3).set_index("characteristic")
    assert wide.loc["Size (n patients)", "Struggling"] == "500,000"
    assert wide.loc["Size (n organisations)", "Small"] == "< 10"
