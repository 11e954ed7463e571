"""Bad input to the quality-indicator analysis: one line each, naming file, line (or row) and
column, all found in one pass; what only loses data the analysis could not use is a notice."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources import panel
from analysis.indicators.validation import check_run, prepare_run

CATALOGUE = """indicator_id,name,domain,distribution,higher_is_better,scale
AF006,Atrial fibrillation treated,cardiovascular,binomial,true,proportion
CHD005,Coronary heart disease treated,cardiovascular,binomial,true,percent
SMOK_PREV,Smoking prevalence,prevalence,binomial,,proportion
"""
OBSERVATIONS = """practice_code,year,indicator_id,value,denominator
P1,2021,AF006,0.8,100
P2,2021,AF006,0.7,120
P3,2021,AF006,0.75,90
P1,2021,CHD005,81.5,50
P2,2021,CHD005,90,60
P3,2021,CHD005,70,55
P1,2021,SMOK_PREV,,
P2,2021,SMOK_PREV,,
P3,2021,SMOK_PREV,,
"""
MEMBERSHIP = """practice_code,year,organisation_id
P1,2021,N1
P2,2021,N1
P3,2021,N2
"""


def _folder(tmp_path, **files):
    texts = {"indicator_catalogue.csv": CATALOGUE, "observations.csv": OBSERVATIONS,
             "membership.csv": MEMBERSHIP}  # fmt: skip
    texts.update({k.replace("__", "."): v for k, v in files.items()})
    for name, text in texts.items():
        if text is not None:
            (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def _problems(folder, **parameters) -> list[str]:
    with pytest.raises(DataError) as err:
        prepare_run(data_source=str(folder), **parameters)
    first, *lines = str(err.value).splitlines()
    assert re.search(r"\d+ problem\(s\) found before the analysis:$", first)
    return [line.strip() for line in lines]


def _one(problems, file, *needles):
    """The one problem line about ``file`` holding every needle (a file, line and column)."""
    found = [p for p in problems if p.startswith(str(file)) and all(n in p for n in needles)]
    assert len(found) == 1, problems
    return found[0]


def _replace(text, old, new):
    assert old in text
    return text.replace(old, new)


def test_a_clean_folder_loads_with_notices_for_what_is_set_aside(tmp_path):
    loaded, chosen, findings = check_run({"data_source": str(_folder(tmp_path))})
    assert not findings.errors
    notices = "\n".join(findings.notices)
    # an indicator whose values are all missing is set aside, named, with file and column
    assert f"{tmp_path / 'observations.csv'}: column 'value': every value is missing" in notices
    assert "['SMOK_PREV']" in notices
    # an organisation with one practice (N2) is said, with file and column
    single = [n for n in findings.notices if "one member practice" in n]
    assert single == [
        f"{tmp_path / 'membership.csv'}: column 'organisation_id': 1 organisation(s) with one "
        "member practice in some year (e.g. ['N2']): their level is that practice's and their "
        "variation between members is not estimated"
    ]
    assert chosen.indicators == ["AF006", "CHD005"]  # the empty one is not analysed
    percent = loaded.observations.set_index(["practice_code", "indicator_id"])["numerator"]
    assert percent[("P1", "CHD005")] == pytest.approx(0.815 * 50)


def test_a_catalogue_with_an_unknown_domain_or_an_id_clash_is_refused_by_line(tmp_path):
    catalogue = CATALOGUE + "AF006,Again,cardiovascular,binomial,true,proportion\n"
    catalogue += "prevalence,A clash with a domain,prevalence,binomial,,proportion\n"
    panel_yml = "domains: [prevalence, respiratory]\n"
    problems = _problems(_folder(tmp_path, indicator_catalogue__csv=catalogue,
                                 panel__yml=panel_yml))  # fmt: skip
    file = tmp_path / "indicator_catalogue.csv"
    _one(problems, file, "column 'indicator_id': id clash, 'AF006' on lines [2, 5]")
    _one(problems, file, "line 6, column 'indicator_id': id clash, 'prevalence' is also a domain")
    for line in (2, 3, 5):
        _one(problems, file, f"line {line}, column 'domain': unknown domain 'cardiovascular'")


def test_a_practice_in_two_organisations_in_one_year_is_refused_naming_both_lines(tmp_path):
    problems = _problems(_folder(tmp_path, membership__csv=MEMBERSHIP + "P1,2021,N2\n"))
    _one(problems, tmp_path / "membership.csv", "column 'organisation_id': practice 'P1' is in N1 "
         "(line 2) and N2 (line 5) in overlapping years (from 2021)")  # fmt: skip


def test_membership_naming_practices_absent_from_the_data_is_a_notice(tmp_path):
    folder = _folder(tmp_path, membership__csv=MEMBERSHIP + "P9,2021,N2\nP8,2021,N3\n")
    _, _, findings = check_run({"data_source": str(folder)})
    assert not findings.errors
    (notice,) = [n for n in findings.notices if "no observations" in n]
    assert notice.startswith(f"{tmp_path / 'membership.csv'}: column 'practice_code': 2 row(s)")
    assert "line(s) 5, 6" in notice and "\n" not in notice


@pytest.mark.parametrize(
    "old, new, needle",
    [
        ("P2,2021,AF006,0.7,120", "P2,2021,AF006,1.3,120", "a proportion outside [0, 1]"),
        ("P2,2021,AF006,0.7,120", "P2,2021,AF006,-0.1,120", "a proportion outside [0, 1]"),
        ("P2,2021,CHD005,90,60", "P2,2021,CHD005,104,60", "a percentage above 100"),
    ],
)
def test_a_value_out_of_range_is_refused_naming_file_line_and_column(tmp_path, old, new, needle):
    folder = _folder(tmp_path, observations__csv=_replace(OBSERVATIONS, old, new))
    line = OBSERVATIONS.splitlines().index(old) + 1
    problem = _one(_problems(folder), tmp_path / "observations.csv", needle)
    assert problem.startswith(f"{tmp_path / 'observations.csv'}: column 'value': ")
    assert f"line(s) {line} " in problem


def test_an_indicator_named_that_has_no_values_is_a_parameter_problem(tmp_path):
    problems = _problems(_folder(tmp_path), indicators=["SMOK_PREV"])
    assert problems == [
        "parameter 'indicators': ['SMOK_PREV'] have no values in the data (every value is "
        "missing or the indicator has no rows)"
    ]


def test_a_parquet_file_that_is_not_parquet_is_refused_in_one_line(tmp_path):
    folder = _folder(tmp_path, membership__csv=None)
    (folder / "membership.parquet").write_text(MEMBERSHIP, encoding="utf-8")
    problems = _problems(folder)
    assert problems == [
        f"{folder / 'membership.parquet'}: not a Parquet file (it does not start and end with "
        "the bytes 'PAR1'; it starts with b'prac'); expected Parquet, or rename a CSV to .csv"
    ]


def test_a_parquet_table_names_the_row_and_column(tmp_path):
    import pandas as pd

    folder = _folder(tmp_path, membership__csv=None)
    frame = pd.DataFrame({"practice_code": ["P1", "P2", "P3"], "year": [2021, 20210, 2021],
                          "organisation_id": ["N1", "N1", "N2"]})  # fmt: skip
    frame.to_parquet(folder / "membership.parquet")
    (problem,) = _problems(folder)
    assert problem.startswith(f"{folder / 'membership.parquet'}: row 2, column 'year': 20210")


def test_every_problem_of_every_file_and_parameter_is_reported_in_one_pass(tmp_path):
    bad = {
        "observations__csv": _replace(
            OBSERVATIONS, "P3,2021,CHD005,70,55", "P3,2021,CHD005,170,55"
        ),
        "membership__csv": MEMBERSHIP + "P3,2021,N1\n",
        "organisations__csv": "organisation_id,n_practices\nN1,2\nN2,1.5\n",
    }
    (tmp_path / "a").mkdir()
    problems = _problems(_folder(tmp_path / "a", **bad), years=[2019], organisations=["N9"])
    where = {
        "observations.csv": "column 'value': a percentage above 100",
        "membership.csv": "practice 'P3' is in N2 (line 4) and N1 (line 5)",
        "organisations.csv": "line 3, column 'n_practices': '1.5' is not a whole number",
    }
    for file, needle in where.items():
        _one(problems, tmp_path / "a" / file, needle)
    assert "parameter 'years': [2019] outside the data, which has years 2021-2021" in problems
    assert any(p.startswith("parameter 'organisations': unknown value(s) ['N9']") for p in problems)
    assert len(problems) == 5
    # A catalogue that cannot be read leaves the observations unchecked against it, but the
    # other files are still checked in the same pass.
    (tmp_path / "b").mkdir()
    catalogue = CATALOGUE + "AF006,Again,cardiovascular,binomial,true,\n"
    problems = _problems(_folder(tmp_path / "b", indicator_catalogue__csv=catalogue, **bad))
    files = {p.split(": ", 1)[0] for p in problems}
    assert {
        str(tmp_path / "b" / f) for f in ("indicator_catalogue.csv", "organisations.csv")
    } <= files


def test_the_validation_command_exits_2_listing_every_problem_without_a_traceback(tmp_path):
    folder = _folder(tmp_path, membership__csv=MEMBERSHIP + "P1,2021,N2\n")
    done = subprocess.run(
        [sys.executable, "-m", "analysis.indicators.validation", "--parameters",
         json.dumps({"data_source": str(folder), "organisations": ["N9"]})],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "2 problem(s) found before the analysis" in done.stderr
    assert "parameter 'organisations': unknown value(s) ['N9']" in done.stderr
    assert "practice 'P1' is in N1 (line 2) and N2 (line 5)" in done.stderr
    good = subprocess.run(
        [sys.executable, "-m", "analysis.indicators.validation", "--parameters",
         json.dumps({"data_source": str(_folder(tmp_path))})],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert good.returncode == 0 and "note: " in good.stdout


def test_the_stored_panel_still_loads_without_notices():
    assert panel.load_panel().notices == []
