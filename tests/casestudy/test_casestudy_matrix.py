"""Box 1, Tables 5 and 6, the further excerpts, the framework charts, the completeness record
and the alternative codes: each transcription against its source lines (skipped, with the
reason, when the sources are absent), the kinds of evidence, and bad input named."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.casestudy import charts as fw
from analysis.casestudy.central_authority import (
    box1_checks,
    coded_table_checks,
    holds_own_contract,
    provider_function,
    read_table6,
)
from analysis.casestudy.evidence import cell_excerpts, load, read_excerpts
from analysis.casestudy.sensitivity import codings, qca_sensitivity, read_alternatives
from analysis.casestudy.sources import EVIDENCE_KINDS, SITES, data_path
from analysis.core.datasets import DataError
from analysis.core.provenance import excerpt_found
from analysis.paths import sources_dir

DATA = load()
CHARTS = fw.read_charts()
ALTERNATIVES = read_alternatives(evidence=DATA.evidence, codebook=DATA.codebook)
COMPLETENESS = fw.read_completeness()


def sources_or_skip():
    root = sources_dir()
    if not root.exists():
        pytest.skip(f"source documents not found at {root}")
    return root


NEW_TRANSCRIPTIONS = {
    "box1": (DATA.box1, "feature"),
    "table5": (DATA.table5, "value"),
    "table6": (DATA.table6, "value"),
    "excerpts": (DATA.excerpts, "excerpt"),
    "charts": (CHARTS, "excerpt"),
    "completeness": (COMPLETENESS, "excerpt"),
}


@pytest.mark.parametrize("name", sorted(NEW_TRANSCRIPTIONS))
def test_every_new_transcription_is_found_at_its_cited_lines(name):
    root = sources_or_skip()
    frame, column = NEW_TRANSCRIPTIONS[name]
    missing = [
        (i + 2, str(row[column])[:50], row["source_lines"])
        for i, row in frame.iterrows()
        if pd.notna(row[column])
        and not excerpt_found(str(row[column]), row["source_file"], row["source_lines"], root)
    ]
    assert not missing


def test_interview_attributions_are_the_line_after_the_quote():
    root = sources_or_skip()
    lines = (root / "000_088f6aeed890f33a.txt").read_text(encoding="utf-8").splitlines()
    for frame in (DATA.evidence, DATA.excerpts, CHARTS):
        quotes = frame[frame["evidence_kind"] == "interview_quote"]
        assert len(quotes)
        for _, row in quotes.iterrows():
            last = int(row["source_lines"].split("-")[-1])
            assert row["attribution"] in (lines[last - 1].strip(), lines[last].strip())


def test_evidence_kinds_are_the_defined_values():
    for frame in (DATA.evidence, DATA.excerpts, CHARTS):
        assert set(frame["evidence_kind"]) <= set(EVIDENCE_KINDS)
    # table cells cite the table lines: Table 5 (647-651), Table 6 (747-758), Table 7 ...
    cells = DATA.evidence[DATA.evidence["evidence_kind"] == "table_cell"]
    assert cells["source_lines"].str.split("-").str[0].astype(int).between(143, 798).all()
    assert (
        len(DATA.evidence[DATA.evidence["theme"] == "proactivity"]["evidence_kind"].unique()) == 1
    )


def test_table5_survives_whole_and_table6_keeps_eleven_cells():
    assert DATA.table5["value"].notna().sum() == 20
    assert DATA.table6["value"].notna().sum() == 11
    lost = DATA.table6[DATA.table6["value"].isna()]
    assert set(zip(lost["activity"], lost["site"], strict=True)) == {
        ("Directing", "Expanding"),
        ("Directing", "Embedded"),
        ("Directing", "Struggling"),
        ("Engineering", "Expanding"),
        ("Co-producing", "Expanding"),
    }
    assert lost["note"].str.contains("lost").all()


def test_box1_against_table7_and_a_changed_cell_mismatches():
    assert provider_function("No significant provider function; less developed") == "No"
    assert holds_own_contract(DATA.table7, "Small") == "No"
    assert holds_own_contract(DATA.table7, "Struggling") == "Yes"
    checks = box1_checks(DATA.box1, DATA.table7)
    # The link between Box 1 and Table 7 is the compendium's rule: a coded rule check.
    assert [c.status for c in checks] == ["match"] * 4 and {c.kind for c in checks} == {
        "coded_rule"
    }
    assert all("the report states no such rule" in c.reason for c in checks)
    box1 = DATA.box1.copy()
    box1.loc[box1["site"] == "Small", "feature"] = "Bidding for service contracts"
    status = {c.check_id: c.status for c in box1_checks(box1, DATA.table7)}
    assert status["cs_box1_provider_small"] == "mismatch"


def test_tables5_and_6_are_what_the_coded_evidence_quotes():
    checks = coded_table_checks(DATA.table5, "aspect", DATA.evidence) + coded_table_checks(
        DATA.table6, "activity", DATA.evidence
    )
    # Transcribed rows: never must-match, never counted as agreeing; the reason says whether
    # the coded evidence quotes the published cell.
    assert len(checks) == 31 and all(c.status == "not checked" for c in checks)
    assert {c.kind for c in checks} == {"transcribed"} and not any(c.must_match for c in checks)
    assert all("evidence for this site and theme quotes the cell" in c.reason for c in checks)
    table5 = DATA.table5.copy()
    table5.loc[(table5["aspect"] == "Proactivity") & (table5["site"] == "Small"), "value"] = (
        "Passive"
    )
    reason = {c.check_id: c.reason for c in coded_table_checks(table5, "aspect", DATA.evidence)}
    assert "does not quote the cell" in reason["cs_t5_proactivity_small"]


def test_contested_codes_were_re_examined():
    coded = DATA.evidence.set_index(["site", "theme"])
    assert coded.loc[("Expanding", "ccg_relationship"), "code"] == "distant"
    assert coded.loc[("Small", "ccg_relationship"), "code"] == "distant"
    assert coded.loc[("Struggling", "size_geography"), "code"] == "coterminous_urban"
    assert "compact" not in coded.loc[("Struggling", "size_geography"), "summary"].split(";")[0]
    assert coded.loc[("Struggling", "leadership_management"), "source_lines"] == "361"
    assert "much more reactive" in coded.loc[("Embedded", "system_proactivity"), "disconfirming"]
    assert set(zip(ALTERNATIVES["site"], ALTERNATIVES["theme"], strict=True)) == {
        ("Expanding", "ccg_relationship"),
        ("Embedded", "system_proactivity"),
        ("Struggling", "size_geography"),
    }


def test_several_excerpts_per_contested_cell_with_disconfirming_ones():
    every = cell_excerpts(DATA.evidence, DATA.excerpts)
    per_cell = every.groupby(["site", "theme"]).size()
    assert per_cell[("Expanding", "ccg_relationship")] >= 4
    disconfirming = every[every["stance"] == "disconfirms"]
    assert {("Expanding", "ccg_relationship"), ("Embedded", "system_proactivity")} <= set(
        zip(disconfirming["site"], disconfirming["theme"], strict=True)
    )


def test_charts_cover_the_research_questions_and_show_gaps():
    assert set(CHARTS["chart"]) == set(fw.CHARTS)
    stp = fw.chart(CHARTS, "stp_pcn").set_index("Sub-theme")
    assert stp.loc["PCN", "Struggling"] == fw.NOT_REPORTED
    assert "(line 271)" in stp.loc["STP", "Expanding"]
    summary = fw.chart_summary(CHARTS)
    assert summary["Excerpts"].sum() == len(CHARTS)
    assert (summary["Cells reported"] <= summary["Cells possible"]).all()
    with pytest.raises(ValueError, match="chart: 'weather'"):
        fw.chart(CHARTS, "weather")


def test_completeness_flags_struggling():
    table = fw.completeness(
        COMPLETENESS, DATA.table1, DATA.table2, DATA.table6, CHARTS, DATA.evidence
    ).set_index("Site")
    assert table.loc["Struggling", "Observed"] == "2016-12 to 2017-09"
    assert table.loc["Struggling", "In IAGP driver analysis"] == "no"
    assert (table.drop(index="Struggling")["In IAGP driver analysis"] == "yes").all()
    assert table["Meetings observed"].sum() == 139 and table["Interviews"].sum() == 196


def test_sensitivity_covers_every_combination_and_discloses_the_crossover():
    variants = codings(DATA.evidence, ALTERNATIVES)
    assert list(variants)[0] == "as coded" and len(variants) == 5
    conditions = ["ccg_relationship", "leadership_management"]
    table = qca_sensitivity(
        DATA.evidence, DATA.codebook, ALTERNATIVES, ["iagp_outcome"], conditions, maps=["linear"]
    )
    assert len(table) == 5 * 3
    row = table[(table["coding"] == "as coded") & (table["threshold"] == 0.5)].iloc[0]
    assert "Small (iagp_outcome)" in row["left_out"] and row["cases"] == 2
    assert row["n_parsimonious"] == 2  # the two conditions are identical on the kept cases
    assert set(row["parsimonious"].split(" | ")) == set(conditions)


def _copy_with(tmp_path, name, change):
    frame = pd.read_csv(data_path(name), dtype=str, keep_default_na=False)
    change(frame)
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_bad_evidence_kind_and_missing_attribution_are_named(tmp_path):
    def kind(frame):
        frame.loc[3, "evidence_kind"] = "hearsay"

    with pytest.raises(DataError, match=r"line 5, column 'evidence_kind'"):
        read_excerpts(_copy_with(tmp_path, "excerpts", kind), evidence=DATA.evidence)

    def attribution(frame):
        row = frame.index[frame["evidence_kind"] == "interview_quote"][0]
        frame.loc[row, "attribution"] = ""

    with pytest.raises(DataError, match=r"column 'attribution': an interview_quote needs"):
        read_excerpts(_copy_with(tmp_path, "excerpts", attribution), evidence=DATA.evidence)


def test_unknown_judgement_lost_cell_and_bad_alternative_are_named(tmp_path):
    def theme(frame):
        frame.loc[0, "theme"] = "weather"

    with pytest.raises(DataError, match=r"line 2, column 'theme': no judgement for"):
        read_excerpts(_copy_with(tmp_path, "excerpts", theme), evidence=DATA.evidence)

    def note(frame):
        frame.loc[0, "note"] = ""

    with pytest.raises(DataError, match=r"line 2, column 'value': missing value without a note"):
        read_table6(_copy_with(tmp_path, "table6", note))

    def same(frame):
        frame.loc[0, "code"] = "distant"

    with pytest.raises(DataError, match=r"line 2, column 'code': 'distant' is already the coded"):
        read_alternatives(
            _copy_with(tmp_path, "alternatives", same),
            evidence=DATA.evidence,
            codebook=DATA.codebook,
        )

    def chart(frame):
        frame.loc[1, "chart"] = "weather"

    with pytest.raises(DataError, match=r"line 3, column 'chart'"):
        fw.read_charts(_copy_with(tmp_path, "charts", chart))
    assert set(SITES) == set(COMPLETENESS["site"])
