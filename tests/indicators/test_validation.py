"""The quality-indicator chapter's input check, in process: each parameter reaches the
selection, method options are checked, and the command's exit codes and lines."""

from __future__ import annotations

import json

import pytest
from commandline import help_text, parser_exit

from analysis.core.datasets import DataError
from analysis.indicators import validation
from analysis.parameters import resolve_path

CATALOGUE = """indicator_id,name,domain,distribution,higher_is_better
A1,First,alpha,binomial,true
B1,Second,beta,poisson,false
"""
OBSERVATIONS = """practice_code,year,indicator_id,numerator,denominator
P1,2020,A1,1,4
P2,2020,A1,2,4
P3,2020,A1,3,4
P1,2021,A1,1,4
P2,2021,A1,2,4
P3,2021,B1,3,4
"""
MEMBERSHIP = """practice_code,year,organisation_id
P1,2020,N1
P2,2020,N1
P3,2020,N2
P1,2021,N1
P2,2021,N2
P3,2021,N2
"""


@pytest.fixture
def folder(tmp_path):
    files = {"indicator_catalogue.csv": CATALOGUE, "observations.csv": OBSERVATIONS,
             "membership.csv": MEMBERSHIP, "panel.yml": "organisations: [N2]\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_the_data_source_is_a_resolved_path_or_none_for_the_stored_panel():
    assert validation.source_path({}) is None
    assert validation.source_path({"data_source": "  "}) is None
    assert validation.source_path({"data_source": None}) is None
    assert validation.source_path({"data_source": " mydata/x "}) == resolve_path("mydata/x")


def test_no_organisations_means_the_panel_yml_list_and_the_defaults_hold(folder):
    panel, selection, findings = validation.check_run({"data_source": str(folder)})
    assert findings.errors == [] and panel.default_organisations == ["N2"]
    assert selection.organisations == ["N2"]
    assert selection.indicators == ["A1", "B1"] and selection.years == [2020, 2021]
    assert (selection.baseline_year, selection.alpha) == (2020, 0.05)
    assert (selection.overdispersion, selection.membership_year) == ("additive", 0)


def test_every_selection_parameter_reaches_the_selection(folder):
    chosen = {
        "organisations": ["N1"],
        "indicators": ["alpha"],
        "years": [2021],
        "baseline_year": 2021,
        "alpha": 0.1,
        "overdispersion": "none",
        "membership_year": 2020,
    }
    _, selection, findings = validation.check_run({"data_source": str(folder), **chosen})
    assert findings.errors == []
    assert selection.organisations == ["N1"] and selection.indicators == ["A1"]
    assert selection.years == [2021] and selection.baseline_year == 2021
    assert selection.alpha == 0.1 and selection.overdispersion == "none"
    assert selection.membership_year == 2020


def test_the_membership_year_is_checked_against_the_membership(folder):
    _, selection, findings = validation.check_run(
        {"data_source": str(folder), "membership_year": 2019}
    )
    assert selection is None
    assert findings.errors == [
        "parameter 'membership_year': 2019 has no members in the data's membership; years "
        "with members: [2020, 2021] (0: each year's own)"
    ]


def test_valid_method_options_pass_and_a_failed_selection_skips_them(folder):
    _, selection, findings = validation.check_run(
        {"data_source": str(folder), "score": "effect", "trend_model": "practice_fe"}
    )
    assert findings.errors == [] and selection.score == "z"  # checked, not applied here
    _, selection, findings = validation.check_run(
        {"data_source": str(folder), "alpha": 0.7, "score": "effect"}
    )
    assert selection is None
    assert findings.errors == ["parameter 'alpha': 0.7 is not in (0, 0.5)"]


def test_a_method_option_is_checked_and_the_selection_kept(folder):
    _, selection, findings = validation.check_run(
        {"data_source": str(folder), "score": "effect", "comparator": "nowhere"}
    )
    assert selection is not None
    assert findings.errors == [
        "parameter 'comparator': unknown value(s) ['nowhere']; expected england, rest"
    ]


def test_an_unreadable_source_gives_neither_panel_nor_selection(tmp_path):
    panel, selection, findings = validation.check_run({"data_source": str(tmp_path / "no")})
    assert (panel, selection) == (None, None)
    assert findings.errors == [f"{tmp_path / 'no'}: panel source not found"]


def test_prepare_run_names_the_source_in_its_one_error(folder):
    with pytest.raises(DataError) as err:
        validation.prepare_run(data_source=str(folder), alpha=0.7)
    assert str(err.value) == (
        f"data source {folder}: 1 problem(s) found before the analysis:\n"
        "  parameter 'alpha': 0.7 is not in (0, 0.5)"
    )
    panel, selection = validation.prepare_run(data_source=str(folder), years=[2020])
    assert selection.years == [2020] and panel.tier == "user"


def test_prepare_run_and_the_chapter_check_name_the_stored_panel():
    with pytest.raises(DataError) as err:
        validation.prepare_run(alpha=0.7)
    assert str(err.value) == (
        "data source the stored synthetic panel: 1 problem(s) found before the analysis:\n"
        "  parameter 'alpha': 0.7 is not in (0, 0.5)"
    )
    findings, what = validation.check_quality_indicators({"alpha": 0.7})
    assert what == "data source the stored synthetic panel"
    assert findings.errors == ["parameter 'alpha': 0.7 is not in (0, 0.5)"]


def test_the_chapter_check_names_a_folder(folder):
    findings, what = validation.check_quality_indicators({"data_source": str(folder)})
    assert what == f"data source {folder}" and findings.errors == []


def test_each_notebook_has_its_check_and_an_unknown_one_is_named():
    assert validation.checker("quality_indicators") is validation.check_quality_indicators
    with pytest.raises(DataError) as err:
        validation.checker("nope")
    assert str(err.value) == (
        "--notebook 'nope': no input check; known: "
        "['networks_real', 'primary_care_networks', 'quality_indicators']"
    )


def test_the_command_prints_notices_and_exits_0(folder, capsys):
    assert validation.main(["--parameters", json.dumps({"data_source": str(folder)})]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [  # N2 in 2020 (P3) and N1 in 2021 (P1)
        f"note: {folder / 'membership.csv'}: column 'organisation_id': 2 organisation(s) with "
        "one member practice in some year (e.g. ['N1', 'N2']): their level is that practice's and "
        "their variation between members is not estimated"
    ]


def test_the_command_checks_the_stored_panel_by_default(capsys):
    assert validation.main([]) == 0
    assert capsys.readouterr().out == ""  # the stored panel sets nothing aside


def test_the_command_describes_itself_and_its_options(capsys):
    text = help_text(validation.main, capsys)
    assert text.startswith("usage: ")
    summary = (
        "Every input problem of a run, found in one pass before the run starts: the strand's "
        "check. options:"
    )
    assert summary in text
    assert "--notebook NOTEBOOK whose check to run" in text
    assert "--parameters PARAMETERS the run's parameters as JSON" in text


def test_the_command_refuses_parameters_that_are_not_json(capsys):
    assert validation.main(["--parameters", "{oops"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --parameters: not JSON (Expecting property name")
    assert err.count("\n") == 1


def test_the_command_raises_every_problem_naming_the_notebook(folder):
    parameters = json.dumps({"data_source": str(folder), "alpha": 0.7, "years": [1999]})
    with pytest.raises(DataError) as err:
        validation.main(["--notebook", "quality_indicators", "--parameters", parameters])
    assert str(err.value).splitlines() == [
        f"notebook 'quality_indicators', data source {folder}: 2 problem(s) found before the "
        "analysis:",
        "  parameter 'years': [1999] outside the data, which has years 2020-2021",
        "  parameter 'alpha': 0.7 is not in (0, 0.5)",
    ]


def test_a_usage_error_is_one_line_naming_the_command(capsys):
    code, _, err = parser_exit(validation.main, ["--notebook"], capsys)
    command = "python -m analysis.indicators.validation"
    assert code == 2
    assert err.splitlines() == [
        f"error: {command}: argument --notebook: expected one argument (see {command} --help)"
    ]
