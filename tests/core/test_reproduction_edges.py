"""The reproduction checks at their edges: the tolerance's boundary, the report's re-check of
every claimed match, the messages a failure prints, reading the strands' tables.

Every expectation is worked out by hand from the rule the docstring states.
"""

from __future__ import annotations

import collections
import math

import pandas as pd
import pytest
from references import check_row

from analysis.core import reproduction as rp
from analysis.core.datasets import DataError, write_csv
from analysis.paths import run_dir


def test_a_difference_is_judged_by_the_tolerance_itself_not_a_unit_of_slack():
    # The re-check must not accept a difference of 0.5 when the tolerance is 0 (a slack of
    # one whole unit would pass any figure within 1 of its source).
    assert not rp.agrees("1", "1.5", 0.0)
    assert not rp.agrees("10", "10.75", 0.5)
    assert rp.agrees("10", "10.5", 0.5)
    assert rp.status_of(1.0, 1.5) == "mismatch"  # exact by default
    assert rp.status_of(10.0, 10.75, 0.5) == "mismatch"


def test_the_boundary_is_inclusive_with_only_rounding_slack():
    # A difference equal to the tolerance (within 1e-12 of float rounding) agrees.
    assert rp.agrees("1e-12", "0", 0.0)
    assert rp.status_of(1e-12, 0.0) == "match"
    assert not rp.agrees("3e-12", "0", 0.0)
    assert rp.status_of(3e-12, 0.0) == "mismatch"


def test_non_finite_values_never_agree_whatever_the_tolerance():
    assert not rp.agrees("inf", "1", math.inf)
    assert not rp.agrees("nan", "NaN", math.inf)
    assert rp.agrees("inf", "inf", 0.0)  # the same text is the same record
    assert rp.status_of(math.nan, math.nan) == "mismatch"
    assert rp.status_of(math.nan, 1.0, 10.0) == "mismatch"


def test_text_and_numbers_compare_as_text_when_either_is_text():
    assert rp.status_of("85", 85) == "match"
    assert rp.status_of(85, " 85") == "match"
    assert rp.status_of("85", 85.0) == "mismatch"  # "85" is not "85.0" as printed


def test_the_report_rechecks_claimed_matches_on_any_index():
    rows = [check_row("ok", 139, 139.0), check_row("forged", 1, 1), check_row("no", 1, 2)]
    frame = rp.to_frame(rows)
    frame.loc[1, "reproduced"] = "1.5"  # recorded as a match, values 0.5 apart
    frame.index = [10, 20, 30]
    assert rp.inconsistent(frame)["check_id"].tolist() == ["forged"]
    assert rp.inconsistent(frame.iloc[0:0]).empty


def test_a_forged_match_stops_the_report_naming_it():
    frame = rp.to_frame([check_row("c1", 1, 1, tolerance=0.25)])
    frame.loc[0, "reproduced"] = "1.5"
    combined = rp.combine({"nb": frame})
    with pytest.raises(rp.ReproductionError) as err:
        rp.assert_reproduced(combined)
    assert str(err.value) == (
        "1 check(s) of the compendium's own code failed:\n"
        "  nb/c1: recorded as a match but published '1' and reproduced '1.5' differ by more "
        "than the tolerance 0.25"
    )
    # Without a notebook column (one strand's own table) the strand names the row.
    with pytest.raises(rp.ReproductionError, match=r"^1 check.*\n  s/c1: recorded as a match"):
        rp.assert_reproduced(frame)


def test_a_failed_must_match_row_is_named_by_its_notebook():
    rows = [check_row("a", 1, 2, kind="round_trip", strand="strand")]
    with pytest.raises(rp.ReproductionError, match=r"\n  nb/a: quantity a: published 1,"):
        rp.assert_reproduced(rp.combine({"nb": rp.to_frame(rows)}))


def test_every_failure_is_one_line_of_the_message():
    rows = [check_row("a", 1, 2, kind="round_trip"), check_row("b", 3, 4, kind="round_trip")]
    with pytest.raises(rp.ReproductionError) as err:
        rp.assert_reproduced(rp.to_frame(rows))
    lines = str(err.value).splitlines()
    assert lines[0] == "2 check(s) of the compendium's own code failed:"
    assert lines[1].startswith("  s/a: quantity a: published 1, reproduced 2 (tolerance 0;")
    assert lines[2].startswith("  s/b: quantity b: published 3, reproduced 4 (tolerance 0;")


def test_the_must_match_message_names_the_kinds_it_is_reserved_for():
    with pytest.raises(ValueError) as err:
        check_row("a", 1, 1, kind="recomputed", must_match=True)
    assert str(err.value) == (
        "check 'a': a recomputed row is never must-match (must-match is reserved for checks "
        "of the compendium's own code: round_trip)"
    )


def test_check_from_takes_provenance_from_a_row_of_any_shape():
    provenance = {"source_file": "f.txt", "source_location": "Table 9", "source_lines": "3-4"}
    Row = collections.namedtuple("Row", ["source_file", "source_location", "source_lines", "x"])
    rows = [
        pd.Series({**provenance, "x": 1}),
        provenance,
        Row(**provenance, x=1),
        next(pd.DataFrame([{**provenance, "x": 1}]).itertuples(index=False)),
    ]
    for row in rows:
        made = rp.check_from(
            "a", row, strand="s", quantity="q", published=1, reproduced=1, kind="consistency"
        )
        assert (made.source_file, made.source_location, made.source_lines) == (
            "f.txt",
            "Table 9",
            "3-4",
        )


def test_empty_inputs_keep_their_columns():
    assert list(rp.to_frame([]).columns) == rp.COLUMNS
    assert list(rp.combine({}).columns) == ["notebook", "source_document", *rp.COLUMNS]
    assert list(rp.summary(rp.combine({})).columns) == rp.SUMMARY_COLUMNS


def test_combined_and_summary_tables_are_indexed_from_zero():
    first = rp.to_frame([check_row("b", 1, 1), check_row("a", 1, 2)])
    second = rp.to_frame([check_row("c", 1, 1, kind="round_trip")])
    combined = rp.combine({"one": first, "two": second})
    assert list(combined.columns) == ["notebook", "source_document", *rp.COLUMNS]
    assert combined.index.tolist() == [0, 1, 2]
    table = rp.summary(combined)
    assert table.index.tolist() == list(range(len(table)))
    assert all(str(table[c].dtype) == "int64" for c in rp.SUMMARY_COLUMNS[2:])


def test_summary_keeps_notebooks_in_their_order_and_kinds_in_kinds_order():
    # Notebooks in the order they come (zeta before alpha), kinds in KINDS order within each.
    zeta = rp.to_frame([check_row("z1", 1, 1, kind="coded_rule"), check_row("z2", 1, 1)])
    alpha = rp.to_frame(
        [check_row("a1", 1, 1, kind="transcribed", reason="r"), check_row("a2", 1, 1)]
    )
    table = rp.summary(rp.combine({"zeta": zeta, "alpha": alpha}))
    per = table[table["notebook"] != "all notebooks"]
    assert list(zip(per["notebook"], per["kind"], strict=True)) == [
        ("zeta", "consistency"),
        ("zeta", "coded_rule"),
        ("alpha", "consistency"),
        ("alpha", "transcribed"),
    ]


def test_unknown_source_files_are_cited_by_name():
    assert rp.source_document("000_088f6aeed890f33a.txt") == "McDonald et al. (2020)"
    assert rp.source_document("elsewhere.txt") == "elsewhere.txt"


def test_read_checks_keeps_empty_text_empty_and_refuses_a_repeated_id(tmp_path):
    row = check_row("a", 26, 20)
    path = write_csv(rp.to_frame([row]), tmp_path / "r.csv")
    back = rp.read_checks(path)
    assert back.loc[0, "reason"] == "" and back.loc[0, "compared_with"] == ""
    path.write_text(path.read_text() + path.read_text().splitlines()[1] + "\n")
    with pytest.raises(DataError, match=r"duplicated key \['check_id'\] on lines \[2, 3\]"):
        rp.read_checks(path)


def test_read_checks_says_what_must_match_is_reserved_for(tmp_path):
    path = write_csv(rp.to_frame([check_row("a", 1, 1)]), tmp_path / "r.csv")
    path.write_text(path.read_text().replace(",False,", ",True,", 1))
    with pytest.raises(DataError) as err:
        rp.read_checks(path)
    assert str(err.value) == (
        f"{path}, line 2, column 'must_match': a consistency row must be False (must-match is "
        "reserved for round_trip rows, checks of the compendium's own code)"
    )


def test_report_inputs_take_the_notebook_before_the_first_colon():
    with pytest.raises(ValueError) as err:
        rp.report_inputs([], [])
    assert str(err.value) == "parameter 'strands': give at least one notebook"
    declared = ["a:b:tables/reproduction.csv"]
    assert rp.report_inputs(["a"], declared) == {"a": "a:tables/reproduction.csv"}


def _write_table(folder, rows) -> None:
    (folder / "tables").mkdir(parents=True)
    write_csv(rp.to_frame(rows), folder / rp.REPORT_INPUT)


def test_load_checks_reads_each_strand_from_its_default_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    _write_table(run_dir("alpha"), [check_row("a", 1, 1)])
    _write_table(run_dir("beta"), [check_row("b", 1, 2), check_row("c", "x", "x")])
    tables = rp.load_checks(
        {"alpha": "alpha:tables/reproduction.csv", "beta": "beta:" + rp.REPORT_INPUT}
    )
    assert list(tables) == ["alpha", "beta"]
    assert tables["beta"]["check_id"].tolist() == ["b", "c"]
    assert tables["alpha"]["must_match"].tolist() == [False]


def test_load_checks_reads_an_output_whose_name_holds_a_colon(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    (run_dir("alpha") / "t:1").mkdir(parents=True)
    write_csv(rp.to_frame([check_row("a", 1, 1)]), run_dir("alpha") / "t:1" / "r.csv")
    assert rp.load_checks({"alpha": "alpha:t:1/r.csv"})["alpha"]["check_id"].tolist() == ["a"]


def test_a_missing_table_names_the_strand_and_any_hand_run_it_ignores(tmp_path, monkeypatch):
    build = tmp_path / "build"
    monkeypatch.setenv("COMPENDIUM_BUILD", str(build))
    with pytest.raises(FileNotFoundError) as err:
        rp.load_checks({"alpha": "alpha:" + rp.REPORT_INPUT})
    assert str(err.value) == (
        f"{run_dir('alpha') / rp.REPORT_INPUT}: 'alpha' has no reproduction table; run "
        "`compendium run alpha` first"
    )
    _write_table(build / "manual" / "alpha" / "mine", [check_row("a", 1, 1)])
    with pytest.raises(FileNotFoundError) as err:
        rp.load_checks({"alpha": "alpha:" + rp.REPORT_INPUT})
    hand = build / "manual" / "alpha"
    assert str(err.value).endswith(f"first (hand runs in {hand} are not used)")
