"""The reproduction checks: kinds of evidence, tolerances, reading, combining and asserting.

Hand-counted expectations throughout; the report's verdicts and findings are tested in
``test_reproduction_verdicts.py``.
"""

from __future__ import annotations

import pytest
from references import check_row

from analysis.core import reproduction as rp
from analysis.core.datasets import DataError, write_csv


@pytest.mark.parametrize(
    ("published", "expected"),
    [("85", 0.5), ("12.3", 0.05), ("0.125", 0.0005), ("139", 0.5), ("-4.20", 0.005), (7, 0.5)],
)
def test_rounding_tolerance_is_half_the_last_printed_digit(published, expected):
    assert rp.rounding_tolerance(published) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("bad", ["almost half", "", "nan", "inf"])
def test_rounding_tolerance_rejects_non_numbers(bad):
    with pytest.raises(ValueError, match="not a"):
        rp.rounding_tolerance(bad)


def test_status_respects_tolerance_both_ways():
    # 84.5 and 85.5 both round (half up / half even aside) to a printed 85: inside tolerance.
    assert check_row("a", 85, 84.5, rp.rounding_tolerance("85")).status == "match"
    assert check_row("b", 85, 85.5, rp.rounding_tolerance("85")).status == "match"
    assert check_row("c", 85, 85.51, rp.rounding_tolerance("85")).status == "mismatch"
    assert check_row("d", "Embedded", "Embedded ").status == "match"
    assert check_row("e", 139, float("nan")).status == "mismatch"


def test_agrees_and_inconsistent_catch_a_false_match():
    frame = rp.to_frame([check_row("ok", 139, 139.0), check_row("text", "x", "x")])
    assert rp.inconsistent(frame).empty
    forged = frame.copy()
    forged.loc[0, "reproduced"] = "141"
    assert list(rp.inconsistent(forged)["check_id"]) == ["ok"]
    assert rp.agrees("0.50", "0.5", 0.0)  # numbers compare as numbers
    assert not rp.agrees("almost", "0.5", 1.0)


def test_read_checks_round_trip(tmp_path):
    frame = rp.to_frame([check_row("b", 43, 43.0, kind="round_trip"), check_row("a", "x", "y")])
    path = write_csv(frame, tmp_path / "reproduction.csv")
    back = rp.read_checks(path)
    assert list(back.columns) == rp.COLUMNS
    assert back["must_match"].tolist() == [True, False]
    assert back["tolerance"].dtype == float
    assert back.loc[0, "published"] == "43" and back.loc[0, "reproduced"] == "43.0"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace(",match,", ",matched,", 1), "line 2, column 'status'"),
        (lambda t: t.replace(",139-164,", ",lines 139,", 1), "line 2, column 'source_lines'"),
        (lambda t: t.replace(",True,", ",yes,", 1), "line 2, column 'must_match'"),
        (lambda t: t.replace("check_id,", "id,", 1), "line 1: missing column(s) ['check_id']"),
        # must-match is reserved for checks of the compendium's own code (round trips)
        (lambda t: t.replace(",True,", ",False,", 1), "line 2, column 'must_match': a round_trip"),
        (
            lambda t: t.replace(",round_trip,", ",consistency,", 1),
            "line 2, column 'must_match': a consistency row must be False",
        ),
    ],
)
def test_read_checks_names_line_and_column(tmp_path, edit, message):
    rows = [check_row("a", 1, 1, kind="round_trip")]
    path = write_csv(rp.to_frame(rows), tmp_path / "reproduction.csv")
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataError) as err:
        rp.read_checks(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_combine_orders_by_notebook_then_id_and_summary_counts_per_kind():
    first = rp.to_frame([check_row("z", 1, 1, kind="round_trip"), check_row("a", 1, 2)])
    second = rp.to_frame([check_row("m", 5, 9, kind="round_trip"), check_row("b", "t", "t")])
    combined = rp.combine({"surveys": first, "case_studies": second})
    assert list(zip(combined["notebook"], combined["check_id"], strict=True)) == [
        ("surveys", "a"),
        ("surveys", "z"),
        ("case_studies", "b"),
        ("case_studies", "m"),
    ]
    assert combined["source_document"].unique().tolist() == ["McDonald et al. (2020)"]
    counts = rp.summary(combined).set_index(["notebook", "kind"])
    # Hand count. Columns: checks, agree, disagree, not_checked, must_match, must_match_failed.
    assert counts.loc[("surveys", "consistency")].tolist() == [1, 0, 1, 0, 0, 0]
    assert counts.loc[("surveys", "round_trip")].tolist() == [1, 1, 0, 0, 1, 0]
    assert counts.loc[("case_studies", "consistency")].tolist() == [1, 1, 0, 0, 0, 0]
    assert counts.loc[("case_studies", "round_trip")].tolist() == [1, 0, 1, 0, 1, 1]
    assert counts.loc[("all notebooks", "round_trip")].tolist() == [2, 1, 1, 0, 2, 1]
    assert counts.loc[("all notebooks", "consistency")].tolist() == [2, 1, 1, 0, 0, 0]
    # every kind over all notebooks, zero included; never a row across kinds
    overall = counts.loc["all notebooks"]
    assert list(overall.index) == list(rp.KINDS)
    assert overall.loc["recomputed"].sum() == 0
    assert "total" not in counts.index.get_level_values("notebook")
    assert list(dict.fromkeys(counts.index.get_level_values("notebook"))) == [
        "surveys",
        "case_studies",
        "all notebooks",
    ]


def test_combine_rejects_repeated_ids():
    frame = rp.to_frame([check_row("a", 1, 1), check_row("a", 2, 2)])
    with pytest.raises(rp.ReproductionError, match=r"'surveys': check_id repeated: \['a'\]"):
        rp.combine({"surveys": frame})


def test_assert_reproduced_names_each_failure():
    ok = rp.combine(
        {"s": rp.to_frame([check_row("a", 1, 1, kind="round_trip"), check_row("b", 1, 3)])}
    )
    rp.assert_reproduced(ok)  # a disagreeing source check never stops the build
    for kind in ("consistency", "coded_rule", "recomputed", "method_recovery"):
        rp.assert_reproduced(rp.combine({"s": rp.to_frame([check_row("c", 1, 3, kind=kind)])}))
    bad = rp.combine({"s": rp.to_frame([check_row("a", 139, 140, 0.5, kind="round_trip")])})
    with pytest.raises(rp.ReproductionError) as err:
        rp.assert_reproduced(bad)
    text = str(err.value)
    assert "1 check(s) of the compendium's own code failed" in text
    assert "s/a: quantity a: published 139, reproduced 140 (tolerance 0.5" in text
    assert "000_088f6aeed890f33a.txt lines 139-164" in text


def test_report_inputs_name_the_parameter():
    declared = ["surveys:tables/reproduction.csv", "data/x.csv", "case_studies:tables/other.csv"]
    assert rp.report_inputs(["surveys"], declared) == {"surveys": "surveys:tables/reproduction.csv"}
    with pytest.raises(ValueError, match=r"parameter 'strands': \['case_studies'\] not declared"):
        rp.report_inputs(["case_studies"], declared)
    with pytest.raises(ValueError, match="parameter 'strands': give at least one"):
        rp.report_inputs([], declared)
    with pytest.raises(ValueError, match=r"\['surveys'\] given more than once"):
        rp.report_inputs(["surveys", "surveys"], declared)


def test_kind_is_required_and_named():
    with pytest.raises(TypeError, match="kind"):
        rp.check(
            "x", strand="s", quantity="q", source_file="f", source_location="l",
            source_lines="1", published=1, reproduced=1,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"check 'x': kind 'reproduced' is not one of"):
        check_row("x", 1, 1, kind="reproduced")
    with pytest.raises(ValueError, match=r"check 'x': kind '' is not one of"):
        check_row("x", 1, 1, kind="")
    assert rp.KINDS == (
        "recomputed",
        "consistency",
        "coded_rule",
        "method_recovery",
        "round_trip",
        "transcribed",
    )
    assert set(rp.KIND_LABELS) == set(rp.KINDS)
    assert rp.KIND_LABELS["coded_rule"] == "coded rule"


@pytest.mark.parametrize("kind", ["recomputed", "consistency", "coded_rule", "method_recovery"])
def test_must_match_is_reserved_for_checks_of_the_compendiums_own_code(kind):
    assert check_row("a", 1, 2, kind=kind).must_match is False
    with pytest.raises(ValueError, match=rf"check 'a': a {kind} row is never must-match"):
        check_row("a", 1, 1, kind=kind, must_match=True)
    assert check_row("r", 1, 1, kind="round_trip").must_match is True
    with pytest.raises(ValueError, match="a round_trip row is always must-match"):
        check_row("r", 1, 1, kind="round_trip", must_match=False)


def test_transcribed_rows_are_not_checked_never_must_match_and_give_a_reason():
    row = check_row("t", "some 85%", "", kind="transcribed", reason="no source")
    assert row.status == "not checked" and row.reason == "no source"
    with pytest.raises(ValueError, match="a transcribed row is never must-match"):
        check_row("t", "85", "", must_match=True, kind="transcribed", reason="r")
    with pytest.raises(ValueError, match="must give a reason"):
        check_row("t", "85", "", kind="transcribed")
    frame = rp.combine({"s": rp.to_frame([row, check_row("m", 1, 1)])})
    counts = rp.summary(frame).set_index(["notebook", "kind"])
    assert counts.loc[("all notebooks", "transcribed"), "not_checked"] == 1
    assert counts.loc[("all notebooks", "consistency"), "disagree"] == 0
    rp.assert_reproduced(frame)  # a transcribed row is never a failure


def test_empty_kind_in_a_table_is_named(tmp_path):
    path = write_csv(rp.to_frame([check_row("a", 1, 1)]), tmp_path / "reproduction.csv")
    path.write_text(path.read_text().replace(",consistency,", ",,", 1))
    with pytest.raises(DataError) as err:
        rp.read_checks(path)
    assert "line 2, column 'kind'" in str(err.value)


def test_reason_and_compared_with_survive_the_csv(tmp_path):
    row = check_row("a", 26, 20, reason="two counts", compared_with="row 2, line 9")
    back = rp.read_checks(write_csv(rp.to_frame([row]), tmp_path / "r.csv"))
    assert back.loc[0, "reason"] == "two counts"
    assert back.loc[0, "compared_with"] == "row 2, line 9"
    assert back.loc[0, "status"] == "mismatch"
