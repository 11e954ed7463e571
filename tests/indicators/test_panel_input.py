"""User panels: the tidy contract accepted, and every bad input the issue names refused by line."""

from __future__ import annotations

import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources import panel

OBSERVATIONS = """practice_code,year,indicator_id,numerator,denominator
P1,2013,HOS01,540,6000
P1,2013,SAT01,80,110
P1,2014,HOS01,560,6100
P1,2014,SAT01,78,108
P2,2013,HOS01,300,3400
P2,2013,SAT01,90,115
P2,2012,QOF03,150,170
"""
MEMBERSHIP = """practice_code,organisation_id,joined,left
P1,ORG01,2008,
P2,ORG02,2010,2014
"""
ORGANISATIONS = """organisation_id,label,form,n_practices,list_size,ccgs_spanned,rurality,case_study
ORG01,Org one,network,1,6100,1,urban,true
ORG02,Org two,federation,1,3400,2,rural,FALSE
"""


def _folder(
    tmp_path, observations=OBSERVATIONS, membership=MEMBERSHIP, organisations=ORGANISATIONS
):
    (tmp_path / "observations.csv").write_text(observations, encoding="utf-8")
    (tmp_path / "membership.csv").write_text(membership, encoding="utf-8")
    (tmp_path / "organisations.csv").write_text(organisations, encoding="utf-8")
    return tmp_path


def _replace_line(text, line, new):
    lines = text.splitlines()
    lines[line - 1] = new
    return "\n".join(lines) + "\n"


def test_a_valid_user_folder_and_a_tidy_file_load_as_user_tier(tmp_path):
    folder = _folder(tmp_path)
    loaded = panel.load_panel(folder)
    assert loaded.tier == "user"
    assert len(loaded.observations) == 7
    assert loaded.organisations["case_study"].tolist() == [True, False]
    assert loaded.observations["numerator"].dtype == "float64"
    from_file = panel.load_panel(folder / "observations.csv")
    assert from_file.observations.equals(loaded.observations)
    assert panel.members_in_year(loaded.membership, 2014).values.tolist() == [["P1", "ORG01"]]


@pytest.mark.parametrize(
    "line, row, message",
    [
        (3, "P1,2013,SAT01,111,110", r"numerator greater than denominator .* line\(s\) 3\b"),
        (5, "P1,2014,SAT01,-1,108", r"'numerator'.*line\(s\) 5\b"),
        (4, "P1,2014,HOS01,,6100", r"column 'numerator': missing or not a number on line\(s\) 4\b"),
        (
            4,
            "P1,2014,HOS01,560,",
            r"column 'denominator': missing or not a number on line\(s\) 4\b",
        ),
        (6, "P2,2013,HOS01,300,0", r"'denominator'.*line\(s\) 6\b"),
        (
            6,
            "P1,2013,HOS01,300,3400",
            r"duplicated practice-year-indicator rows .* line\(s\) 2, 6\b",
        ),
        (7, "P2,2013,XYZ99,1,2", r"unknown indicator id\(s\) \['XYZ99'\] .* line\(s\) 7\b"),
        (7, "P2,2015,SAT01,1,2", r"'year'.*line\(s\) 7\b"),
        (8, "P2,2014,QOF03,150,170", r"years_available on line\(s\) 8\b"),
        (2, "P1,2013,HOS01,many,6000", r"'numerator': missing or not a number on line\(s\) 2\b"),
    ],
)
def test_bad_observations_are_refused_naming_the_line(tmp_path, line, row, message):
    folder = _folder(tmp_path, observations=_replace_line(OBSERVATIONS, line, row))
    with pytest.raises(DataError, match=message) as err:
        panel.load_panel(folder)
    assert "observations.csv" in str(err.value)


@pytest.mark.parametrize(
    "membership, message",
    [
        (MEMBERSHIP + "P1,ORG02,2012,\n", r"'P1' is in ORG01 \(line 2\) and ORG02 \(line 4\)"),
        (MEMBERSHIP + "P1,ORG01,2013,\n", r"'P1' is in ORG01 \(line 2\) and ORG01 \(line 4\)"),
        (MEMBERSHIP.replace("2010,2014", "2014,2012"), r"'left' not after 'joined' on line\(s\) 3"),
        (MEMBERSHIP.replace("2010,2014", "2010,2017"), r"line 3, column 'left'"),
        (
            MEMBERSHIP.replace("P2,ORG02", "P2,ORG09"),
            r"not in the organisations table on line\(s\) 3",
        ),
    ],
)
def test_bad_membership_is_refused_naming_the_lines(tmp_path, membership, message):
    folder = _folder(tmp_path, membership=membership)
    with pytest.raises(DataError, match=message):
        panel.load_panel(folder)


def test_a_member_practice_without_observations_is_a_notice_naming_file_line_and_column(
    tmp_path,
):
    # Official membership lists practices an indicator file leaves out (closed, suppressed):
    # said in one line, not a failure.
    folder = _folder(tmp_path, membership=MEMBERSHIP.replace("P2,ORG02", "P9,ORG02"))
    loaded = panel.load_panel(folder)
    (notice,) = [n for n in loaded.notices if "no observations" in n]
    assert "membership.csv: column 'practice_code'" in notice and "line(s) 3" in notice
    assert "P9" in notice and "\n" not in notice


def test_bad_organisations_and_headers_are_refused(tmp_path):
    folder = _folder(tmp_path, organisations=ORGANISATIONS.replace("FALSE", "no"))
    with pytest.raises(DataError, match=r"(?s)organisations.csv.*line 3, column 'case_study'"):
        panel.load_panel(folder)
    folder = _folder(tmp_path, observations=OBSERVATIONS.replace("numerator", "count"))
    with pytest.raises(DataError, match=r"line 1: header .*expected exactly"):
        panel.load_panel(folder)
    (tmp_path / "observations.csv").unlink()
    with pytest.raises(DataError, match="no observations.csv"):
        panel.load_panel(folder)
    with pytest.raises(DataError, match="not found"):
        panel.load_panel(tmp_path / "nowhere")


def test_an_empty_data_source_means_the_stored_synthetic_panel():
    assert panel.load_panel("").tier == "synthetic"


def test_validate_panel_checks_tier_and_cross_references():
    stored = panel.load_panel()
    bad = panel.Panel(
        stored.observations.head(30),
        stored.membership,
        stored.organisations,
        stored.catalogue,
        "synthetic",
    )
    panel.validate_panel(bad)  # member practices without observations: a notice
    assert any("no observations" in n for n in bad.notices)
    bad.tier = "published"
    bad.membership = stored.membership[stored.membership["practice_code"] == "none"]
    with pytest.raises(DataError, match="tier"):
        panel.validate_panel(bad)
