"""Membership spells and the QOF panel from the parent codes of QOF practice summaries
(analysis.indicators.sources.qofmembership), on small tables written out here.

Expected spells are written by hand: a practice's spell in a year runs to the next year, the
last year's stays open, blank and excluded codes give no spell.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources.qofmembership import (
    QOF_TOTAL,
    main,
    membership_spells,
    qof_panel,
)


def practices() -> pd.DataFrame:
    # Deliberately out of order; years 2019, 2020 and 2021 (the last).
    return pd.DataFrame(
        {
            "practice_code": ["B2", "A1", "A1", "C3", "A1", "D4", "E5", "F6", "B2"],
            "year": [2021, 2021, 2019, 2019, 2020, 2020, 2020, 2021, 2019],
            "pcn": ["P2", " P1 ", "P1", "U", "P9", None, "  ", "X", "P2"],
            "ccg": ["C1", "C1", "C1", "C2", "C1", "C2", "C2", "C3", "C1"],
            "list_size": [1000.4, 2500.5, 2400.0, 800.0, 2450.6, 10.0, 20.0, 30.0, 990.0],
            "points_achieved": [500.0, 600.0, 1.0, 0.0, 300.0, 2.0, 3.0, 4.0, 450.0],
            "points_available": [550.0, 635.0, 1.0, 0.0, 600.0, np.nan, 3.0, 8.0, 500.0],
        }
    )


def spells_of(frame: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]


def test_each_year_gives_a_spell_to_the_next_and_the_last_year_stays_open():
    out = membership_spells(practices())
    assert list(out.columns) == ["practice_code", "organisation_id", "joined", "left", "list_size"]
    assert spells_of(out) == [
        ("A1", "P1", 2019, 2020, 2400),
        ("A1", "P9", 2020, 2021, 2451),
        ("A1", "P1", 2021, None, 2500),  # codes are stripped; 2500.5 rounds to even
        ("B2", "P2", 2019, 2020, 990),
        ("B2", "P2", 2021, None, 1000),
        ("F6", "X", 2021, None, 30),
    ]
    assert [str(out[c].dtype) for c in ("joined", "left", "list_size")] == ["Int64"] * 3
    assert out.index.tolist() == list(range(6))


def test_the_last_year_is_the_datas_last_even_when_its_practices_are_in_no_group():
    frame = practices()
    frame.loc[frame["year"] == 2021, "pcn"] = "U"
    out = membership_spells(frame)
    assert out["left"].tolist() == [2020, 2021, 2020]
    assert out["joined"].tolist() == [2019, 2020, 2019]


def test_one_years_file_gives_open_spells_only():
    frame = practices()
    out = membership_spells(frame[frame["year"] == 2020])
    assert spells_of(out) == [("A1", "P9", 2020, None, 2451)]
    assert str(out["left"].dtype) == "Int64"


def test_excluded_codes_are_the_ones_given_and_the_group_any_column():
    out = membership_spells(practices(), exclude=("X", "P9"))
    assert spells_of(out)[:3] == [
        ("A1", "P1", 2019, 2020, 2400),
        ("A1", "P1", 2021, None, 2500),
        ("B2", "P2", 2019, 2020, 990),
    ]
    assert ("C3", "U", 2019, 2020, 800) in spells_of(out)
    by_ccg = membership_spells(practices(), group="ccg", exclude=["C2"])
    assert by_ccg["organisation_id"].tolist() == ["C1", "C1", "C1", "C1", "C1", "C3"]


@pytest.mark.parametrize("missing", ["drop", "empty"])
def test_a_group_no_file_has_is_refused_naming_the_parameter(missing):
    frame = practices()
    frame = frame.drop(columns="pcn") if missing == "drop" else frame.assign(pcn=None)
    with pytest.raises(DataError) as raised:
        membership_spells(frame)
    assert str(raised.value) == "parameter 'group': no file has a 'pcn' column of parent codes"


def test_the_panel_holds_each_practices_share_of_the_points_available():
    spells = membership_spells(practices())
    tables = qof_panel(practices(), spells)
    assert list(tables) == ["observations", "membership", "indicator_catalogue"]
    observations = tables["observations"]
    assert list(observations.columns) == ["practice_code", "year", "indicator_id", "value"]
    # C3 has no points available (0) and D4 none published: they are left out.
    assert spells_of(observations) == [
        ("A1", 2019, "QOF_TOTAL", 1.0),
        ("A1", 2020, "QOF_TOTAL", 0.5),
        ("A1", 2021, "QOF_TOTAL", 600 / 635),
        ("B2", 2019, "QOF_TOTAL", 0.9),
        ("B2", 2021, "QOF_TOTAL", 500 / 550),
        ("E5", 2020, "QOF_TOTAL", 1.0),
        ("F6", 2021, "QOF_TOTAL", 0.5),
    ]
    assert observations.index.tolist() == list(range(7))
    assert tables["membership"] is spells
    assert tables["indicator_catalogue"].to_dict("records") == [
        {
            "indicator_id": "QOF_TOTAL",
            "name": "QOF points achieved as a share of the points available",
            "domain": "qof",
            "distribution": "continuous",
            "higher_is_better": "true",
        }
    ]
    assert QOF_TOTAL["indicator_id"] == "QOF_TOTAL"


# --------------------------------------------------------------------------- the command

HEADER = [
    "Practice code",
    "Practice name",
    "List size",
    "Achievement score (635 max)",
    "Total points for indicators where register exists. (Max QOF points available)",
    "PCN ODS code",
    "Sub ICB Loc ODS code",
]


def qof_files(folder: Path) -> list[Path]:
    """Two small QOF summaries in the stored 2021-22 layout, years 2021 and 2022."""
    rows = {
        2021: [
            ["A81001", "One", "5000", "600", "635", "P1", "S1"],
            ["A81002", "Two", "3000", "300", "600", "U", "S1"],
            ["A81003", "Three", "2000", "500", "625", "P2", "S2"],
        ],
        2022: [
            ["A81001", "One", "5100", "610", "635", "P1", "S1"],
            ["A81002", "Two", "3100", "320", "0", "X", "S1"],
        ],
    }
    paths = []
    for year, body in rows.items():
        path = folder / f"QOF {year}-{str(year + 1)[2:]}.csv"
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([HEADER, *body])
        paths.append(path)
    return paths


def test_the_command_writes_the_membership_file_and_says_what_it_holds(tmp_path, capsys):
    out = tmp_path / "membership.csv"
    assert main([*map(str, qof_files(tmp_path)), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 3 practices in 3 organisations (pcn)\n"
    assert out.read_text() == (
        "practice_code,organisation_id,joined,left,list_size\n"
        "A81001,P1,2021,2022,5000\n"
        "A81001,P1,2022,,5100\n"
        "A81002,X,2022,,3100\n"
        "A81003,P2,2021,2022,2000\n"
    )


def test_the_command_takes_the_group_and_a_list_of_codes_meaning_none(tmp_path, capsys):
    out = tmp_path / "membership.csv"
    files = [str(p) for p in qof_files(tmp_path)]
    assert main([*files, "--exclude", "U,X", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 2 practices in 2 organisations (pcn)\n"
    assert main([*files, "--group", "ccg", "--exclude", "S2", "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 2 practices in 1 organisations (ccg)\n"


def test_the_command_writes_a_panel_folder(tmp_path, capsys):
    folder = tmp_path / "panel"
    assert main([*map(str, qof_files(tmp_path)), "--panel", "--out", str(folder)]) == 0
    names = ["observations", "membership", "indicator_catalogue"]
    assert capsys.readouterr().out == "".join(f"wrote {folder / n}.csv\n" for n in names)
    assert (folder / "observations.csv").read_text() == (
        "practice_code,year,indicator_id,value\n"
        f"A81001,2021,QOF_TOTAL,{600 / 635!r}\n"
        f"A81001,2022,QOF_TOTAL,{610 / 635!r}\n"
        "A81002,2021,QOF_TOTAL,0.5\n"
        "A81003,2021,QOF_TOTAL,0.8\n"
    )
    assert (folder / "membership.csv").read_text().splitlines()[1] == "A81001,P1,2021,2022,5000"
    assert (
        (folder / "indicator_catalogue.csv")
        .read_text()
        .splitlines()[1]
        .startswith("QOF_TOTAL,QOF points achieved")
    )


def test_the_command_needs_files_and_an_output(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["--out", str(tmp_path / "m.csv")])
    assert raised.value.code == 2
    assert "the following arguments are required: files" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(p) for p in qof_files(tmp_path)])
    assert "the following arguments are required: --out" in capsys.readouterr().err


def test_the_commands_help_says_what_it_does_and_each_option(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as raised:
        main(["--help"])
    assert raised.value.code == 0
    shown = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert shown[0].startswith("usage: ")
    assert shown[0].endswith(
        "[--group GROUP] [--exclude EXCLUDE] --out OUT [--panel] files [files ...]"
    )
    assert (
        "A membership file from the parent codes of QOF practice summaries (a PCN, a CCG...)."
        in shown
    )
    for line in (
        "files QOF practice summaries, one a year",
        "--group GROUP parent-code column (pcn, ccg...)",
        "--exclude EXCLUDE comma-separated codes meaning none",
        "--out OUT",
        "--panel --out is a panel folder",
    ):
        assert line in shown
