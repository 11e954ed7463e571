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


def _row(cid, published, reproduced, kind, *, must=False, location="Table 1", **kw):
    return rp.check(
        cid,
        strand="s",
        quantity=f"q {cid}",
        source_file=kw.pop("source_file", "002_d1de2aebef7660af.txt"),
        source_location=location,
        source_lines="10",
        published=published,
        reproduced=reproduced,
        must_match=must,
        kind=kind,
        **kw,
    )


def _report(*rows) -> pd.DataFrame:
    return rp.combine({"s": rp.to_frame(list(rows))})


def test_round_trips_are_never_counted_as_reproduced():
    report = _report(*[_row(f"r{i}", 5, 5, "round_trip", must=True) for i in range(5)])
    assert vd.verdict_of(report) == "not reproducible"
    verdicts = vd.verdicts(report)
    assert set(verdicts["verdict"]) == {"not reproducible"}
    assert (verdicts["recomputed"] == 0).all() and (verdicts["round_trip"] == 5).all()
    reasons = verdicts.loc[0, "reasons"]
    assert "data not available" in reasons and "regression test of the generator" in reasons
    counts = vd.kind_counts(report)
    assert set(counts["kind"]) == {"round_trip"}  # no row for kinds added together
    # Method recovery on synthetic data is not a reproduction either.
    recovered = _report(_row("m", "holds", "holds", "method_recovery"))
    assert vd.verdict_of(recovered) == "not reproducible"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("a", 1, 1, "recomputed"), ("b", 2, 2, "consistency")], "reproduced"),
        ([("a", 1, 1, "recomputed"), ("b", 2, 3, "consistency")], "reproduced with minor issues"),
        ([("a", 1, 1, "recomputed"), ("b", 2, 3, "recomputed")], "partly reproduced"),
        ([("a", 1, 2, "recomputed")], "not reproducible"),
        ([("a", 1, 1, "consistency"), ("b", 1, 1, "round_trip")], "not reproducible"),
    ],
)
def test_verdict_categories(rows, expected):
    assert vd.verdict_of(_report(*[_row(*r) for r in rows])) == expected


def test_kind_counts_by_publication_hand_counted():
    report = _report(
        _row("a", 1, 1, "consistency"),
        _row("b", 1, 2, "consistency"),
        _row("c", "85", "", "transcribed", reason="no source"),
        _row("d", 1, 1, "consistency", source_file="000_088f6aeed890f33a.txt"),
    )
    counts = vd.kind_counts(report).set_index(["source_document", "kind"])
    rosen = counts.loc[("Rosen et al. (2016)", "consistency")]
    assert rosen[["checks", "agree", "disagree", "not checked"]].tolist() == [2, 1, 1, 0]
    assert counts.loc[("Rosen et al. (2016)", "transcribed"), "not checked"] == 1
    overall = counts.loc[("all publications", "consistency")]
    assert overall[["checks", "agree", "disagree"]].tolist() == [3, 2, 1]
    assert counts.loc[("all publications", "consistency"), "kind_label"] == "consistency"


def test_verdicts_per_publication_and_table_with_reasons():
    report = _report(
        _row("a", 1, 1, "recomputed", location="Table 1, note"),
        _row("b", 1, 2, "consistency", location="Table 2: row X"),
        _row("c", "x", "", "transcribed", reason="value lost in the text conversion"),
    )
    verdicts = vd.verdicts(report).set_index("item")
    assert verdicts.loc["whole publication", "verdict"] == "reproduced with minor issues"
    assert verdicts.loc["Table 1", "verdict"] == "reproduced"
    assert verdicts.loc["Table 2", "verdict"] == "not reproducible"
    assert "inconsistency in the source: 1 of 1" in verdicts.loc["Table 2", "reasons"]
    assert "value lost in the text conversion" in verdicts.loc["whole publication", "reasons"]


@pytest.mark.parametrize(
    ("location", "item"),
    [
        ("Table 1, column 25+ months", "Table 1"),
        ("Chapter 2, Table 1: meetings", "Table 1"),
        ("Appendix 2 (Changes to the initial design)", "Appendix 2"),
        ("Key points > Rate of formation", "Key points"),
        ("Conclusion: Impact on quality", "Conclusion"),
    ],
)
def test_item_of(location, item):
    assert vd.item_of(location) == item


def test_findings_keep_both_locations_and_only_consistency_mismatches():
    report = _report(
        _row("rule", "shown", "not shown", "consistency", location="Table 1, column 25+"),
        _row("pair", 26, 20, "consistency", compared_with="Table 2, row Number, line 202"),
        _row("fine", 1, 1, "consistency"),
        _row("rt", 1, 2, "round_trip"),
        _row("mr", "holds", "does not hold", "method_recovery"),
    )
    findings = fd.source_findings(report).set_index("finding_id")
    assert list(findings.index) == ["F1", "F2"]
    assert findings.loc["F1", "kind_of_inconsistency"] == "between passages"
    assert findings.loc["F1", "against"] == "Table 2, row Number, line 202"
    assert (findings.loc["F1", "stated_there"], findings.loc["F1", "stated_or_implied_there"]) == (
        "26",
        "20",
    )
    assert findings.loc["F2", "kind_of_inconsistency"] == "within a table"
    assert findings.loc["F2", "location"] == "Table 1, column 25+, line 10"


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
    assert status["src-qi-qof-trends"] == "mismatch"
    assert status["src-qi-organisations"] == "match"
    assert (checks.loc[checks["kind"] == "transcribed", "status"] == "not checked").all()
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
