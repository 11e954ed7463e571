"""Counts per kind, verdicts, findings about the sources, and publication tables.

Expectations are hand counted. The central rule: a round trip (or a method recovered on
synthetic data) is never counted as a reproduced figure.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from analysis.core import findings as fd
from analysis.core import reproduction as rp
from analysis.core import tables as tb
from analysis.core import verdicts as vd
from analysis.core.datasets import DataError


def _row(cid, published, reproduced, kind, *, location="Table 1", **kw):
    return rp.check(
        cid,
        strand="s",
        quantity=f"q {cid}",
        source_file=kw.pop("source_file", "002_d1de2aebef7660af.txt"),
        source_location=location,
        source_lines="10",
        published=published,
        reproduced=reproduced,
        kind=kind,
        **kw,
    )


def _report(*rows) -> pd.DataFrame:
    return rp.combine({"s": rp.to_frame(list(rows))})


NO_DATA = pd.DataFrame(
    {
        "source_file": ["002_d1de2aebef7660af.txt"],
        "item": ["Table 2"],
        "lines": ["188-204"],
        "excerpt": ["Table 2"],
        "reason": ["a descriptive overview"],
    }
)


def test_round_trips_are_never_counted_as_reproduced():
    report = _report(*[_row(f"r{i}", 5, 5, "round_trip") for i in range(5)])
    assert vd.verdict_of(report) == (vd.NOT_ABLE, vd.DATA_NOT_AVAILABLE)
    verdicts = vd.verdicts(report, NO_DATA)
    assert set(verdicts["label"]) == {"not able to reproduce: data not available"}
    assert (verdicts["recomputed"] == 0).all() and (verdicts["round_trip"] == 5).all()
    reasons = verdicts.loc[0, "reasons"]
    assert "data not available" in reasons and "regression test of the generator" in reasons
    counts = vd.kind_counts(report)
    per = counts[counts["source_document"] != "all publications"]
    assert set(per["kind"]) == {"round_trip"}  # no row for kinds added together
    overall = counts[counts["source_document"] == "all publications"].set_index("kind")
    assert list(overall.index) == list(rp.KINDS)  # every kind, zero included, none summed
    assert overall.loc["round_trip", "checks"] == 5 and overall.loc["recomputed", "checks"] == 0
    # Method recovery on synthetic data and coded rules are not reproductions either.
    for kind in ("method_recovery", "coded_rule", "consistency"):
        assert vd.verdict_of(_report(_row("m", "holds", "holds", kind)))[0] == vd.NOT_ABLE


@pytest.mark.parametrize(
    ("agree", "disagree", "expected"),
    [
        # The AEA template: a partial reproduction when more than a quarter differ, not able
        # to reproduce when fewer than a quarter reproduce.
        (4, 0, (vd.FULL, "")),
        (3, 1, (vd.MINOR, vd.DISCREPANCY)),  # a quarter differ: still minor
        (5, 2, (vd.PARTIAL, vd.DISCREPANCY)),  # 2 of 7 = 29% differ
        (1, 3, (vd.PARTIAL, vd.DISCREPANCY)),  # a quarter agree
        (1, 4, (vd.NOT_ABLE, vd.DISCREPANCY)),  # a fifth agree
        (0, 2, (vd.NOT_ABLE, vd.DISCREPANCY)),
    ],
)
def test_verdict_categories_follow_the_aea_shares(agree, disagree, expected):
    rows = [_row(f"a{i}", 1, 1, "recomputed") for i in range(agree)]
    rows += [_row(f"d{i}", 1, 2, "recomputed") for i in range(disagree)]
    rows.append(_row("c", 2, 3, "consistency"))  # a finding about the source lowers nothing
    assert vd.verdict_of(_report(*rows)) == expected
    assert vd.verdict_label(*expected) == (
        f"{expected[0]}: {expected[1]}" if expected[1] else expected[0]
    )


def test_kind_counts_by_publication_hand_counted():
    report = _report(
        _row("a", 1, 1, "consistency"),
        _row("b", 1, 2, "consistency"),
        _row("c", "85", "", "transcribed", reason="no source"),
        _row("d", 1, 1, "consistency", source_file="000_088f6aeed890f33a.txt"),
        _row("e", "x", "y", "coded_rule"),
    )
    counts = vd.kind_counts(report).set_index(["source_document", "kind"])
    rosen = counts.loc[("Rosen et al. (2016)", "consistency")]
    assert rosen[["checks", "agree", "disagree", "not checked"]].tolist() == [2, 1, 1, 0]
    assert counts.loc[("Rosen et al. (2016)", "transcribed"), "not checked"] == 1
    overall = counts.loc[("all publications", "consistency")]
    assert overall[["checks", "agree", "disagree"]].tolist() == [3, 2, 1]
    assert counts.loc[("all publications", "coded_rule"), "disagree"] == 1
    assert counts.loc[("all publications", "coded_rule"), "kind_label"] == "coded rule"


def test_verdicts_per_publication_and_table_with_reasons():
    report = _report(
        _row("a", 1, 1, "recomputed", location="Table 1, note"),
        _row("b", 1, 2, "consistency", location="Table 2: row X"),
        _row("c", "x", "", "transcribed", reason="value lost in the text conversion"),
        _row("d", 1, 1, "consistency", location="Table 3", source_file="000_088f6aeed890f33a.txt"),
    )
    verdicts = vd.verdicts(report, NO_DATA).set_index(["publication", "item"])
    rosen = verdicts.loc["Rosen et al. (2016)"]
    assert rosen.loc["whole publication", "label"] == vd.FULL
    assert rosen.loc["Table 1", "label"] == vd.FULL
    # Table 2 is listed as containing no data, whatever its rows say.
    assert rosen.loc["Table 2", "label"] == "contains no data"
    assert "contains no data: a descriptive overview" in rosen.loc["Table 2", "reasons"]
    assert "the source is inconsistent: 1 of 1" in rosen.loc["Table 2", "reasons"]
    assert "value lost in the text conversion" in rosen.loc["whole publication", "reasons"]
    # The same item name in another publication is not affected.
    assert verdicts.loc[("McDonald et al. (2020)", "Table 3"), "label"] == (
        "not able to reproduce: data not available"
    )


def test_the_stored_no_data_items_are_read():
    items = vd.read_no_data_items().set_index(["source_file", "item"])
    for item in ("Table 5", "Table 6"):
        assert ("000_088f6aeed890f33a.txt", item) in items.index
    assert ("002_d1de2aebef7660af.txt", "Table 2") in items.index
    assert ("002_d1de2aebef7660af.txt", "Table 1") not in items.index  # survey counts


@pytest.mark.parametrize(
    ("location", "item"),
    [
        ("Table 1, column 25+ months", "Table 1"),
        ("Chapter 2, Table 1: meetings", "Table 1"),
        ("Chapter 2, Box 1 (key features of each site)", "Box 1"),
        ("Appendix 2 (Changes to the initial design)", "Appendix 2"),
        ("Key points > Rate of formation", "Key points"),
        ("Conclusion: Impact on quality", "Conclusion"),
    ],
)
def test_item_of(location, item):
    assert vd.item_of(location) == item


# --------------------------------------------------------------------------- findings

REGISTER_COLUMNS = [
    "finding",
    "class",
    "source_file",
    "what",
    "location_a",
    "lines_a",
    "excerpt_a",
    "location_b",
    "lines_b",
    "excerpt_b",
    "checks",
    "note",
]


def _register(*rows) -> pd.DataFrame:
    frame = pd.DataFrame([dict(zip(REGISTER_COLUMNS, r, strict=True)) for r in rows])
    frame["checks"] = [[c for c in v.split("; ") if c] for v in frame["checks"]]
    return frame


def _entry(finding, cls, checks=""):
    return (
        finding,
        cls,
        "002_d1de2aebef7660af.txt",
        f"what the finding {finding} is",
        "Table 2",
        "199",
        "2009",
        "Table 2",
        "202",
        "2 (2008)",
        checks,
        f"a note on the finding {finding}",
    )


def test_one_discrepancy_shown_by_two_checks_is_one_finding():
    report = _report(
        _row("year", 2009, 2008, "consistency", compared_with="Table 2, line 202"),
        _row("age", 10, 7, "consistency", tolerance=2, compared_with="line 178"),
        _row("fine", 1, 1, "consistency"),
    )
    register = _register(_entry("modality", "figures", "year; age"))
    findings = fd.source_findings(report, register)
    assert list(findings["finding_id"]) == ["F1"]
    assert findings.loc[0, "checks"] == "year; age"
    assert findings.loc[0, "class_label"] == fd.FINDING_CLASSES["figures"]
    assert (findings.loc[0, "location_a"], findings.loc[0, "stated_a"]) == (
        "Table 2, line 199",
        "2009",
    )
    assert (findings.loc[0, "location_b"], findings.loc[0, "stated_b"]) == (
        "Table 2, line 202",
        "2 (2008)",
    )


def test_tensions_are_numbered_apart_and_never_counted_as_inconsistencies():
    report = _report(_row("rule", "shown", "not shown", "consistency", location="Table 1, col"))
    register = _register(
        _entry("level-trend", "tension"),
        _entry("peer-review", "rule", "rule"),
        _entry("qof", "figures"),
    )
    findings = fd.source_findings(report, register)
    assert list(zip(findings["finding_id"], findings["class"], strict=True)) == [
        ("F1", "rule"),
        ("F2", "figures"),
        ("T1", "tension"),
    ]
    counts = fd.finding_counts(findings).set_index("class")["findings"]
    assert counts.to_dict() == {"figures": 1, "rule": 1, "tension": 1, "inconsistencies": 2}


def test_every_disagreeing_consistency_check_is_a_finding_even_unreviewed():
    report = _report(
        _row("rule", "shown", "not shown", "consistency", location="Table 1, column 25+"),
        _row("pair", 26, 20, "consistency", compared_with="Table 2, row Number, line 202"),
        _row("fine", 1, 1, "consistency"),
        _row("rt", 1, 2, "round_trip"),
        _row("mr", "holds", "does not hold", "method_recovery"),
        _row("cr", "indulgent", "neglectful", "coded_rule", reason="no cut stated"),
    )
    findings = fd.source_findings(report, _register(_entry("other", "figures", "gone")))
    # The register entry's check is absent (or agrees): not a finding. The two unlisted
    # disagreeing consistency checks are, classed by shape; the coded rule is not.
    assert list(findings["checks"]) == ["pair", "rule"]  # the report's order (by check id)
    by = findings.set_index("checks")
    assert by.loc["pair", "class"] == "figures"
    assert by.loc["pair", "location_b"] == "Table 2, row Number, line 202"
    assert (by.loc["pair", "stated_a"], by.loc["pair", "stated_b"]) == ("26", "20")
    assert by.loc["rule", "class"] == "rule"
    assert by.loc["rule", "location_a"] == "Table 1, column 25+, line 10"
    assert fd.UNREVIEWED in by.loc["rule", "note"]
    rules = fd.rule_disagreements(report)
    assert list(rules["check_id"]) == ["cr"] and rules.loc[0, "reason"] == "no cut stated"


def test_register_refuses_a_check_in_two_findings_and_a_checked_tension(tmp_path):
    frame = _register(_entry("a", "figures", "x"), _entry("b", "rule", "x"))
    path = tmp_path / "findings.csv"
    frame.assign(checks=["x", "x"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"findings.csv, line 3, column checks: 'x' already"):
        fd.read_findings(path)
    _register(_entry("t", "tension", "y")).assign(checks=["y"]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"line 2, column checks: a tension is not tested"):
        fd.read_findings(path)


def test_the_stored_register_classes_the_known_findings():
    register = fd.read_findings().set_index("finding")
    assert register.loc["modality-founding", "checks"] == [
        "src-t2-modality-began",
        "src-sites-age-modality",
    ]
    assert register.loc["table1-peer-review", "class"] == "rule"
    assert set(register.loc[register["class"] == "tension"].index) == {
        "level-or-trend",
        "marked-differences",
        "embedded-proactivity",
    }
    # The typology is the compendium's rule: no finding rests on a typology check.
    listed = {c for ids in register["checks"] for c in ids}
    assert not any(c.startswith("cs_typology") for c in listed)


def test_passages_of_the_nuffield_summary():
    checks = rp.to_frame(fd.passage_checks(fd.read_passages())).set_index("check_id")
    status = checks["status"]
    # Two counts of AT Medics' practices in consecutive rows of Table 2 (lines 201, 202).
    assert status["src-t2-atmedics-practices"] == "mismatch"
    assert checks.loc["src-t2-atmedics-practices", ["published", "reproduced"]].tolist() == [
        "26",
        "20",
    ]
    assert status["src-t2-gpcare-practices"] == "match"
    # Founded 2009 but member practices in 2008; formed 7 years before July 2016, not 8-12.
    assert status["src-t2-modality-began"] == "mismatch"
    assert status["src-sites-age-modality"] == "mismatch"
    for site in ("atmedics", "gpcare", "harness"):
        assert status[f"src-sites-age-{site}"] == "match"  # 12, 10 and 10 years: within 10 +- 2
    # Restatements of a count, each side its own transcription of a printed number.
    for cid in ("src-qi-organisations", "src-qi-case-sites", "src-case-studies-four"):
        assert status[cid] == "match"
    assert checks.loc["src-qi-case-sites", ["published", "reproduced"]].tolist() == ["3", "3"]
    # No typed paraphrase is compared with another: every consistency value is a number.
    consistency = checks[checks["kind"] == "consistency"]
    assert pd.to_numeric(consistency["published"], errors="coerce").notna().all()
    assert pd.to_numeric(consistency["reproduced"], errors="coerce").notna().all()
    for gone in ("src-qi-qof-trends", "src-qi-marked-differences", "src-qi-case-sites-over-half"):
        assert gone not in checks.index
    assert (checks.loc[checks["kind"] == "transcribed", "status"] == "not checked").all()
    assert {"src-staff-valued-working-at-scale", "src-staff-valued-peer-support"} <= set(
        checks.index
    )
    assert not checks["must_match"].any()


def test_passages_bad_rows_are_named(tmp_path):
    text = fd.passages_path().read_text(encoding="utf-8").splitlines()
    # Blank the second passage of the first consistency row (file line 2).
    bad = text[1].replace(",20 (April 2016),20,", ",,,", 1)
    assert bad != text[1]
    path = tmp_path / "passages.csv"
    path.write_text("\n".join([text[0], bad, *text[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"passages.csv, line 2: a consistency row needs"):
        fd.read_passages(path)


# --------------------------------------------------------------------------- tables


def test_publication_table_is_numbered_captioned_without_index_or_nan():
    frame = pd.DataFrame(
        {"site_name": ["A", "B", "C"], "n_total": [1200, None, 3], "share": [0.1234, 0.5, None]},
        index=[7, 8, 9],
    )
    html = tb.publication_table(
        frame, label="S1", caption="Published: a test", max_rows=2, full_csv="tables/t.csv"
    ).to_html()
    assert "Table S1. Published: a test." in html
    assert "First 2 of 3 rows shown; all rows in tables/t.csv." in html
    assert f"{tb.MISSING}: not applicable or not published." in html
    assert "NaN" not in html and "nan" not in html and "&lt;NA&gt;" not in html
    assert 'class="row_heading' not in html and "index_name" not in html
    assert ">Site name<" in html and ">N total<" in html
    assert ">1,200<" in html and ">0.123<" in html
    assert ">C<" not in html  # the third row is cut, and the caption says so


def test_with_interval_and_number_format():
    frame = pd.DataFrame({"rate": [0.12345, None], "lo": [0.1, 0.2], "hi": [0.15, 0.3]})
    out = tb.with_interval(frame, "rate", "lo", "hi", name="rate (CI)")
    assert out.columns.tolist() == ["rate (CI)"]
    assert out["rate (CI)"].tolist() == ["0.123 (0.100 to 0.150)", tb.MISSING]
    assert tb.number_format(pd.Series([1.0, 2.0]))(1234.0) == "1,234"
    assert tb.number_format(pd.Series([12.345, 50.0]))(12.345) == "12.35"
    assert tb.number_format(pd.Series([250.5]))(250.55) == "250.6"
    assert tb.number_format(pd.Series([2014]), grouping=False)(2014) == "2014"
    assert tb.readable("rule") == "Rule" and tb.readable("ci_lower") == "CI lower"


def test_tables_number_in_order():
    tables = tb.Tables("R")
    frame = pd.DataFrame({"a": [1]})
    first = tables.styler(frame, caption="one").to_html()
    second = tables.styler(frame, caption="two").to_html()
    assert "Table R1. one." in first and "Table R2. two." in second
    assert re.search(
        r'<div class="pub-table-scroll"', tb.table_html(tables.styler(frame, caption="x"))
    )
