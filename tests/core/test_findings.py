"""Findings about the sources at their edges, worked out by hand: passages turned into
checks, the register read and refused, findings numbered and counted, the compendium's own
rules listed apart."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import findings as fd
from analysis.core import reproduction as rp
from analysis.core.datasets import DataError, write_csv

ROSEN = "002_d1de2aebef7660af.txt"
PASSAGE = {
    "check_id": "src-one",
    "kind": "consistency",
    "quantity": "members",
    "source_file": ROSEN,
    "location_a": "Table 2, row A",
    "lines_a": "201",
    "excerpt_a": "running 26 practices",
    "value_a": "26",
    "location_b": "Table 2, row B",
    "lines_b": "202",
    "excerpt_b": "20 (April 2016)",
    "value_b": "20.0",
    "tolerance": "0.5",
    "reason": "two counts",
}


def _passages(tmp_path, *rows: dict):
    return write_csv(pd.DataFrame([{**PASSAGE, **r} for r in rows]), tmp_path / "p.csv")


def test_passages_become_checks_field_by_field(tmp_path):
    path = _passages(
        tmp_path,
        {},
        {
            "check_id": "src-two",
            "kind": "transcribed",
            "value_a": "twelve",
            "location_b": "",
            "lines_b": "",
            "excerpt_b": "",
            "value_b": "",
        },
        {"check_id": "src-three", "value_a": "12.0", "value_b": "12", "reason": ""},
    )
    one, two, three = fd.passage_checks(fd.read_passages(path))
    assert one == rp.Check(
        check_id="src-one",
        strand="sources",
        quantity="members: 'running 26 practices' against '20 (April 2016)'",
        source_file=ROSEN,
        source_location="Table 2, row A",
        source_lines="201",
        published="26",
        reproduced="20.0",
        tolerance=0.5,
        must_match=False,
        status="mismatch",
        kind="consistency",
        reason="two counts",
        compared_with="Table 2, row B, line 202",
    )
    assert two == rp.Check(
        check_id="src-two",
        strand="sources",
        quantity="members: 'running 26 practices'",
        source_file=ROSEN,
        source_location="Table 2, row A",
        source_lines="201",
        published="twelve",
        reproduced="",
        tolerance=0.5,
        must_match=False,
        status="not checked",
        kind="transcribed",
        reason="two counts",
        compared_with="",
    )
    # A number keeps the form it was printed in; an empty reason stays empty.
    assert (three.published, three.reproduced, three.status) == ("12.0", "12", "match")
    assert three.reason == ""


def test_passages_refuse_a_half_comparison_a_silent_transcription_and_a_repeat(tmp_path):
    path = _passages(tmp_path, {"excerpt_b": ""})
    with pytest.raises(DataError) as err:
        fd.read_passages(path)
    assert str(err.value) == (
        f"{path}, line 2: a consistency row needs location_b, lines_b, excerpt_b and value_b "
        "(the second passage)"
    )
    path = _passages(tmp_path, {}, {"check_id": "src-two", "kind": "transcribed", "reason": ""})
    with pytest.raises(DataError) as err:
        fd.read_passages(path)
    assert str(err.value) == (
        f"{path}, line 3, column reason: a transcribed row must say why it cannot be checked"
    )
    path = _passages(tmp_path, {}, {})
    with pytest.raises(DataError, match=r"duplicated key \['check_id'\] on lines \[2, 3\]"):
        fd.read_passages(path)


REGISTER = {
    "finding": "one",
    "class": "figures",
    "source_file": ROSEN,
    "what": "two counts of one thing",
    "location_a": "Table 2",
    "lines_a": "199",
    "excerpt_a": "2009",
    "location_b": "Table 2",
    "lines_b": "202",
    "excerpt_b": "2 (2008)",
    "checks": "a; b",
    "note": "a note on the finding",
}


def _register_file(tmp_path, *rows: dict):
    return write_csv(pd.DataFrame([{**REGISTER, **r} for r in rows]), tmp_path / "f.csv")


def test_the_register_is_read_with_its_checks_and_refuses_repeats(tmp_path):
    path = _register_file(tmp_path, {}, {"finding": "two", "checks": "", "class": "tension"})
    register = fd.read_findings(path)
    assert register["checks"].tolist() == [["a", "b"], []]
    path = _register_file(tmp_path, {}, {})
    with pytest.raises(DataError, match=r"duplicated key \['finding'\] on lines \[2, 3\]"):
        fd.read_findings(path)
    path = _register_file(tmp_path, {}, {"finding": "two", "checks": "c; b"})
    with pytest.raises(DataError) as err:
        fd.read_findings(path)
    assert str(err.value) == (
        f"{path}, line 3, column checks: 'b' already belongs to the finding on line 2 "
        "(one discrepancy is one finding)"
    )
    path = _register_file(tmp_path, {"class": "tension"})
    with pytest.raises(DataError) as err:
        fd.read_findings(path)
    assert str(err.value) == (
        f"{path}, line 2, column checks: a tension is not tested by a check (a disagreeing "
        "check is an inconsistency)"
    )


def _report(*rows) -> pd.DataFrame:
    return rp.combine({"s": rp.to_frame(list(rows))})


def _row(cid, published, reproduced, kind="consistency", **kw):
    fields = {
        "strand": "s",
        "quantity": f"q {cid}",
        "source_file": ROSEN,
        "source_location": "Table 1",
        "source_lines": "10",
    }
    return rp.check(cid, published=published, reproduced=reproduced, kind=kind, **fields | kw)


def _register(*rows: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**REGISTER, **r} for r in rows])
    frame["checks"] = [[c for c in v.split("; ") if c] for v in frame["checks"]]
    return frame


def test_findings_are_numbered_inconsistencies_first_in_register_order():
    rows = [{"finding": f"t{i}", "class": "tension", "checks": ""} for i in range(3)]
    rows += [
        {"finding": f"f{i}", "class": "figures", "checks": "", "what": f"w{i}"} for i in range(20)
    ]
    rows.insert(1, {"finding": "r", "class": "rule", "checks": "", "what": "rule one"})
    findings = fd.source_findings(_report(_row("x", 1, 1)), _register(*rows))
    assert list(findings.columns) == fd.FINDING_COLUMNS
    assert findings.index.tolist() == list(range(24))
    assert findings["finding_id"].tolist() == [f"F{i}" for i in range(1, 22)] + [
        "T1",
        "T2",
        "T3",
    ]
    assert findings["what"].tolist()[:3] == ["rule one", "w0", "w1"]
    first = findings.iloc[0]
    assert first["publication"] == "Rosen et al. (2016)"
    assert first["class_label"] == fd.FINDING_CLASSES["rule"]
    assert (first["location_a"], first["location_b"]) == ("Table 2, line 199", "Table 2, line 202")


def test_a_register_entry_without_lines_names_its_location_only():
    findings = fd.source_findings(
        _report(_row("x", 1, 1)), _register({"checks": "", "lines_a": "", "lines_b": ""})
    )
    assert (findings.loc[0, "location_a"], findings.loc[0, "location_b"]) == ("Table 2", "Table 2")


def test_an_unreviewed_rule_finding_says_what_it_was_compared_with():
    report = _report(_row("r", "shown", "hidden", reason="cut stated in a note"), _row("s", 1, 2))
    findings = fd.source_findings(report, _register({"checks": "other"}))
    assert findings[
        ["finding_id", "class", "location_b", "stated_b", "checks"]
    ].values.tolist() == [
        ["F1", "rule", "the rule or total the same table states", "hidden", "r"],
        ["F2", "rule", "the rule or total the same table states", "2", "s"],
    ]
    assert findings["note"].tolist() == [f"cut stated in a note; {fd.UNREVIEWED}", fd.UNREVIEWED]


def test_no_finding_keeps_the_columns_and_the_stored_register_is_the_default():
    none = fd.source_findings(_report(_row("x", 1, 1)), _register({"checks": "x"}))
    assert none.empty and list(none.columns) == fd.FINDING_COLUMNS
    report = _report(_row("x", 1, 1))
    stored = fd.source_findings(report, fd.read_findings())
    pd.testing.assert_frame_equal(fd.source_findings(report), stored)


def test_finding_counts_every_class_zero_included():
    findings = fd.source_findings(
        _report(_row("x", 1, 1)),
        _register({"checks": ""}, {"finding": "b", "checks": ""}, {"finding": "c", "checks": ""}),
    )
    counts = fd.finding_counts(findings)
    assert counts.values.tolist() == [
        ["figures", fd.FINDING_CLASSES["figures"], 3],
        ["rule", fd.FINDING_CLASSES["rule"], 0],
        ["tension", fd.FINDING_CLASSES["tension"], 0],
        [
            "inconsistencies",
            "inconsistencies (the first two classes; tensions are not counted)",
            3,
        ],
    ]
    assert list(counts.columns) == ["class", "class_label", "findings"]
    empty = fd.finding_counts(pd.DataFrame(columns=fd.FINDING_COLUMNS))
    assert empty["findings"].tolist() == [0, 0, 0, 0]


def test_rule_disagreements_list_the_compendiums_rules_apart():
    report = _report(
        _row("cr", "indulgent", "neglectful", "coded_rule", reason="no cut stated"),
        _row("ok", "x", "x", "coded_rule"),
        _row("c", 1, 2),
    )
    rules = fd.rule_disagreements(report)
    assert list(rules.columns) == fd.RULE_COLUMNS
    assert rules.values.tolist() == [
        [
            "cr",
            "Rosen et al. (2016)",
            "q cr",
            "Table 1, line 10",
            "indulgent",
            "neglectful",
            "no cut stated",
        ]
    ]
    assert list(fd.rule_disagreements(_report(_row("c", 1, 2))).columns) == fd.RULE_COLUMNS
