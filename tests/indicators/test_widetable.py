"""A wide indicator table read by its mapping (analysis.indicators.sources.widetable), on small
tables and mappings written here.

Every expected value, catalogue row, unit and message is written out by hand from the small
table below (a CSV line is the data row + 2).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from commandline import help_text

from analysis.core.datasets import DataError
from analysis.indicators.sources import widetable as wt

TABLE = """\
,PCN,PCN_NAME,N_PRACTICES,REGION,ACH_AF,ACH_HYP,PREV_AF,PREV_HYP,LS_AF,LS_HYP
1,P001,One,3,North,0.5,0.25,0.02,0.1,100,200
2,P002, Two ,4,South,NA,0.75,NA,0.2,NA,400
3,U,,,,0.1,0.2,0.01,0.1,10,20
4,P003,Three,2,North,NA,NA,NA,NA,NA,
"""
MAPPING = {
    "title": "A small table",
    "tier": "real",
    "publisher": "Someone",
    "licence": "OGL",
    "level": "organisation",
    "unit": "PCN",
    "unit_name": "PCN_NAME",
    "unit_pattern": "P[0-9]{3}|U",
    "year": 2022,
    "exclude": ["U"],
    "missing": ["NA"],
    "ignore_columns": [""],
    "characteristics": {"n_practices": "N_PRACTICES", "region": "REGION"},
    "indicators": [
        {
            "prefix": "ACH_",
            "domain": "achievement",
            "distribution": "binomial",
            "higher_is_better": True,
            "prevalence": "PREV_{id}",
            "list_size": "LS_{id}",
        }
    ],
}
COLUMNS = ["unit", "year", "indicator_id", "value", "prevalence", "list_size", "excluded", "line"]


def table(tmp_path: Path, text: str = TABLE) -> Path:
    path = tmp_path / "wide.csv"
    path.write_text(text)
    return path


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]


def problems_of(tmp_path: Path, text: str, mapping: dict) -> list[str]:
    path = table(tmp_path, text)
    with pytest.raises(DataError) as raised:
        wt.read_wide_table(path, mapping)
    message = str(raised.value)
    head, *lines = message.split("\n  ")
    assert head == f"{path}: {len(lines)} problem(s):"
    return lines


def test_a_wide_table_is_read_into_one_row_per_unit_and_indicator(tmp_path):
    wide = wt.read_wide_table(table(tmp_path), MAPPING)
    assert list(wide.values.columns) == COLUMNS
    assert rows(wide.values) == [
        ("P001", 2022, "AF", 0.5, 0.02, 100.0, False, 2),
        ("P002", 2022, "AF", None, None, None, False, 3),
        ("U", 2022, "AF", 0.1, 0.01, 10.0, True, 4),
        ("P001", 2022, "HYP", 0.25, 0.1, 200.0, False, 2),
        ("P002", 2022, "HYP", 0.75, 0.2, 400.0, False, 3),
        ("U", 2022, "HYP", 0.2, 0.1, 20.0, True, 4),
    ]
    assert wide.values.index.tolist() == list(range(6))
    assert wide.values["line"].dtype == np.int64 and wide.values["year"].dtype == np.int64
    wt.WIDE_VALUES_SCHEMA.validate(wide.values)
    assert wide.catalogue.to_dict("records") == [
        {
            "indicator_id": i,
            "name": f"ACH {i}",
            "domain": "achievement",
            "distribution": "binomial",
            "higher_is_better": "true",
            "scale": "proportion",
        }
        for i in ("AF", "HYP")
    ]
    assert list(wide.units.columns) == ["unit", "name", "excluded", "line", "n_practices", "region"]
    assert rows(wide.units) == [
        ("P001", "One", False, 2, 3.0, "North"),
        ("P002", "Two", False, 3, 4.0, "South"),
        ("U", "", True, 4, None, None),
    ]
    assert wide.units.index.tolist() == [0, 1, 2]
    assert wide.set_aside.to_dict("records") == [
        {"what": "row", "column": "", "rows": 1,
         "reason": "no value in any mapped column (line(s) 5)"}
    ]  # fmt: skip
    assert (wide.level, wide.year, wide.source) == ("organisation", 2022, tmp_path / "wide.csv")
    assert wide.mapping is MAPPING


def test_a_mapping_file_is_read_with_its_path(tmp_path):
    path = tmp_path / "wide_small.yml"
    path.write_text(yaml.safe_dump(MAPPING))
    mapping = wt.read_mapping(path)
    assert mapping == {**MAPPING, "path": path}
    wide = wt.read_wide_table(table(tmp_path), path)
    assert wide.mapping["path"] == path and len(wide.values) == 6


def test_panel_tables_and_config_of_an_organisation_table(tmp_path):
    wide = wt.read_wide_table(table(tmp_path), MAPPING)
    tables = wt.panel_tables(wide)
    assert list(tables) == ["observations", "indicator_catalogue", "organisations"]
    assert list(tables["observations"].columns) == [
        "organisation_id",
        "year",
        "indicator_id",
        "value",
    ]
    assert rows(tables["observations"]) == [
        ("P001", 2022, "AF", 0.5),
        ("P001", 2022, "HYP", 0.25),
        ("P002", 2022, "AF", None),
        ("P002", 2022, "HYP", 0.75),
    ]
    assert tables["observations"].index.tolist() == [0, 1, 2, 3]
    assert tables["indicator_catalogue"].index.tolist() == [0, 1]
    assert tables["indicator_catalogue"]["indicator_id"].tolist() == ["AF", "HYP"]
    assert list(tables["organisations"].columns) == ["organisation_id", "n_practices", "region"]
    assert rows(tables["organisations"]) == [("P001", 3.0, "North"), ("P002", 4.0, "South")]
    assert wt.panel_config(wide.mapping, wide.catalogue) == {
        "title": "A small table",
        "tier": "real",
        "publisher": "Someone",
        "licence": "OGL",
        "domains": ["achievement"],
    }


PRACTICES = """\
Code,Name,QDM01,QHF02,R_X9,Other
A81002,b,10,1,0.5,z
A81001,a,20,2,,z
"""


def test_a_practice_table_by_column_templates_with_domains_from_the_ids(tmp_path):
    mapping = {
        "level": "practice",
        "unit": "Code",
        "year": 2019,
        "indicators": [
            {"columns": "Q{id}", "ids": ["DM01", "HF02"], "id_prefix": "QOF_", "name": "Counts",
             "domain_from_id": "^(?P<domain>[A-Z]+)", "distribution": "poisson",
             "higher_is_better": False},
            {"prefix": "R_", "domain": "rates", "distribution": "continuous",
             "higher_is_better": None, "scale": "percent"},
        ],
    }  # fmt: skip
    wide = wt.read_wide_table(table(tmp_path, PRACTICES), mapping)
    assert rows(wide.values) == [
        ("A81002", 2019, "QOF_DM01", 10.0, None, None, False, 2),
        ("A81001", 2019, "QOF_DM01", 20.0, None, None, False, 3),
        ("A81002", 2019, "QOF_HF02", 1.0, None, None, False, 2),
        ("A81001", 2019, "QOF_HF02", 2.0, None, None, False, 3),
        ("A81002", 2019, "X9", 0.5, None, None, False, 2),
        ("A81001", 2019, "X9", None, None, None, False, 3),
    ]
    assert wide.catalogue.to_dict("list") == {
        "indicator_id": ["QOF_DM01", "QOF_HF02", "X9"],
        "name": ["Counts QOF_DM01", "Counts QOF_HF02", "R X9"],
        "domain": ["dm", "hf", "rates"],
        "distribution": ["poisson", "poisson", "continuous"],
        "higher_is_better": ["false", "false", ""],
        "scale": ["proportion"] * 3,  # only a binomial value is rescaled
    }
    assert wide.units.to_dict("list") == {
        "unit": ["A81002", "A81001"], "name": ["", ""], "excluded": [False, False], "line": [2, 3]
    }  # fmt: skip
    tables = wt.panel_tables(wide)
    assert list(tables) == ["observations", "indicator_catalogue"]
    assert tables["observations"]["practice_code"].tolist() == ["A81001"] * 3 + ["A81002"] * 3
    assert wt.panel_config(mapping, wide.catalogue) == {"domains": ["dm", "hf", "rates"]}


def test_an_empty_column_is_set_aside_and_its_indicator_left_out(tmp_path):
    text = "Code,ACH_A,ACH_B,PREV_A,PREV_B\nA81001,0.5,NA,NA,0.1\nA81002,0.25,,NA,0.2\n"
    mapping = {
        "level": "practice", "unit": "Code", "year": 2020, "missing": ["NA"],
        "indicators": [{"prefix": "ACH_", "domain": "d", "distribution": "binomial",
                        "scale": "percent", "prevalence": "PREV_{id}"}],
    }  # fmt: skip
    wide = wt.read_wide_table(table(tmp_path, text), mapping)
    assert wide.values["indicator_id"].unique().tolist() == ["A"]
    assert wide.catalogue["scale"].tolist() == ["percent"]
    assert wide.catalogue["higher_is_better"].tolist() == [""]
    assert wide.set_aside.to_dict("records") == [
        {"what": "A (prevalence)", "column": "PREV_A", "rows": 2,
         "reason": "no value in the column (as published)"},
        {"what": "B (value)", "column": "ACH_B", "rows": 2,
         "reason": "no value in the column (as published)"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (TABLE.splitlines()[0] + "\n", "no data row below the header"),
        (TABLE.splitlines()[0] + "\n1,P001,One,3,North" + ",NA" * 6 + "\n",
         "no value in any indicator column"),  # a row blank in every mapped column
        ("\n".join(TABLE.splitlines()[:2]).replace("0.5,0.25", "NA,NA") + "\n",
         "no value in any indicator column"),  # prevalence and list size, no value
    ],
)  # fmt: skip
def test_a_table_without_any_value_is_refused_in_one_line(tmp_path, text, why):
    path = table(tmp_path, text)
    with pytest.raises(DataError) as raised:
        wt.read_wide_table(path, MAPPING)
    assert str(raised.value) == (
        f"{path}: {why}; expected at least one organisation code with a value"
    )


def test_a_header_problem_is_reported_before_the_cells_are_read(tmp_path):
    mapping = {
        **MAPPING,
        "path": Path("maps/wide_x.yml"),
        "unit_name": "NAME",
        "indicators": [
            *MAPPING["indicators"],
            {"prefix": "NONE_", "domain": "d", "distribution": "binomial"},
        ],
    }
    text = (
        TABLE.replace("REGION,", "REGION,EXTRA,")
        .replace("North,", "North,1,")
        .replace("South,", "South,1,")
        .replace(",,,,0.1", ",,,,,0.1")
    )
    assert problems_of(tmp_path, text, mapping) == [
        "line 1: no column starts with 'NONE_'",
        "line 1: column(s) ['NAME'] named by wide_x.yml are absent",
        "line 1: column(s) ['PCN_NAME', 'EXTRA'] are not in wide_x.yml",
    ]


def test_many_absent_columns_are_shown_ten_and_counted(tmp_path):
    ids = [f"{i:02d}" for i in range(12)]
    mapping = {"level": "practice", "unit": "Code", "year": 2020,
               "indicators": [{"columns": "V{id}", "ids": ids, "domain": "d",
                               "distribution": "binomial"}]}  # fmt: skip
    assert problems_of(tmp_path, "Code,V00\nA81001,1\n", mapping) == [
        f"line 1: column(s) {[f'V{i}' for i in ids[1:11]]} and 1 more named by the mapping "
        "are absent"
    ]


def test_every_bad_cell_is_reported_together(tmp_path):
    text = (
        "Code,Count,Size,V_A,V_B,P_A,P_B,L_A,L_B\n"
        "A81001,0,12.5,-1,x,0.5,1.5,-1,2\n"
        "A81001,2,-3,2,0.5,0.1,0.1,1.5,2\n"
        "bad,x,7,0.5,0.5,0.1,0.1,1,1\n"
        ",3,7,0.5,0.5,0.1,0.1,1,1\n"
    )
    mapping = {
        "level": "practice", "unit": "Code", "year": 2020,
        "characteristics": {"n_practices": "Count", "list_size": "Size"},
        "indicators": [{"prefix": "V_", "domain": "d", "distribution": "binomial",
                        "prevalence": "P_{id}", "list_size": "L_{id}"}],
    }  # fmt: skip
    assert problems_of(tmp_path, text, mapping) == [
        "column 'Code': missing practice code on line(s) 5",
        "column 'Code': malformed practice code on line(s) 4 (e.g. ['bad']; "
        "expected '^[A-Z][0-9A-Z][0-9]{4}$')",
        "column 'Code': practice code listed twice on line(s) 2, 3",
        "column 'V_A': not in [0, 1] (proportion) on line(s) 2, 3",
        "column 'L_A': not a whole number >= 0 on line(s) 2, 3",
        "column 'V_B': not a number on line(s) 2",
        "column 'P_B': not in [0, 1] (proportion) on line(s) 2",
        "column 'Count': n_practices not a whole number >= 1 on line(s) 2, 4",
        "column 'Size': list_size not a whole number >= 0 on line(s) 2, 3",
    ]


def test_an_indicator_without_a_valid_id_or_domain_is_refused(tmp_path):
    text = "Code,V_AF,V_9,V_bad id\nA81001,0.5,0.5,0.5\n"
    mapping = {"level": "practice", "unit": "Code", "year": 2020,
               "indicators": [{"prefix": "V_", "domain_from_id": "^(?P<domain>[A-Z]+)$",
                               "distribution": "binomial"}]}  # fmt: skip
    assert problems_of(tmp_path, text, mapping) == [
        "line 1, column 'V_9': no indicator id or domain in it",
        "line 1, column 'V_bad id': no indicator id or domain in it",
    ]


@pytest.mark.parametrize(
    ("values", "measure", "family", "wrong", "words"),
    [
        ([0, 2, -1, 1.5, np.nan], "list_size", {"distribution": "binomial"},
         [False, False, True, True, False], "a whole number >= 0"),
        ([0, 7.5, -0.1, np.nan], "value", {"distribution": "poisson"},
         [False, False, True, False], "a rate >= 0"),
        ([0, 1, 1.01, -0.01], "value", {"distribution": "binomial"},
         [False, False, True, True], "in [0, 1] (proportion)"),
        ([0, 100, 100.5, -1], "prevalence", {"distribution": "poisson", "scale": "percent"},
         [False, False, True, True], "in [0, 100] (percent)"),
        ([0, 100, 101], "value", {"distribution": "continuous", "scale": "percent"},
         [False, False, True], "in [0, 100] (percent)"),
        ([2, -3], "prevalence", {"distribution": "continuous"},
         [True, True], "in [0, 1] (proportion)"),
    ],
)  # fmt: skip
def test_the_range_of_each_measure(values, measure, family, wrong, words):
    found, said = wt._out_of_range(pd.Series(values, dtype=float), measure, family)
    assert found.tolist() == wrong and said == words


def test_a_continuous_value_without_a_scale_may_be_any_number():
    assert wt._out_of_range(pd.Series([-5.0, 1e9]), "value", {"distribution": "continuous"}) is None


def test_a_characteristic_is_numbers_when_every_cell_is_one_else_text():
    problems: list[str] = []
    mixed = wt._trait(pd.Series(["1", "x", None]), "kind", "K", problems)
    assert mixed.tolist()[:2] == ["1", "x"] and mixed.isna().tolist() == [False, False, True]
    numbers = wt._trait(pd.Series(["1.5", None, "-2"]), "score", "S", problems)
    assert (
        numbers.tolist()[0] == 1.5 and math.isnan(numbers.tolist()[1]) and numbers.tolist()[2] == -2
    )
    counts = wt._trait(pd.Series(["1", "2", None]), "n_practices", "N", problems)
    assert counts.tolist()[:2] == [1.0, 2.0] and problems == []


def test_the_command_writes_a_panel_folder_and_says_what_it_set_aside(tmp_path, capsys):
    mapping_path = tmp_path / "wide_small.yml"
    mapping_path.write_text(yaml.safe_dump(MAPPING))
    out = tmp_path / "new" / "panel"  # its parent made too; written again over itself below
    assert wt.main([str(table(tmp_path)), "--mapping", str(mapping_path), "--out", str(out)]) == 0
    assert wt.main([str(table(tmp_path)), "--mapping", str(mapping_path), "--out", str(out)]) == 0
    assert capsys.readouterr().out == 2 * (
        f"wrote {out}: 2 units x 2 indicators (1 blank values)\n"
        "set aside: row (rows): no value in any mapped column (line(s) 5)\n"
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "indicator_catalogue.csv", "observations.csv", "organisations.csv", "panel.yml"
    ]  # fmt: skip
    assert (out / "observations.csv").read_text() == (
        "organisation_id,year,indicator_id,value\n"
        "P001,2022,AF,0.5\nP001,2022,HYP,0.25\nP002,2022,AF,\nP002,2022,HYP,0.75\n"
    )
    assert yaml.safe_load((out / "panel.yml").read_text()) == {
        "title": "A small table", "tier": "real", "publisher": "Someone", "licence": "OGL",
        "domains": ["achievement"],
    }  # fmt: skip
    assert list(yaml.safe_load((out / "panel.yml").read_text())) == [
        "title", "tier", "publisher", "licence", "domains"
    ]  # fmt: skip


def test_the_command_names_a_column_it_set_aside(tmp_path, capsys):
    text = "Code,ACH_A,PREV_A\nA81001,0.5,\n"
    mapping_path = tmp_path / "wide_small.yml"
    mapping_path.write_text(yaml.safe_dump({
        "level": "practice", "unit": "Code", "year": 2020,
        "indicators": [{"prefix": "ACH_", "domain": "d", "distribution": "binomial",
                        "prevalence": "PREV_{id}"}],
    }))  # fmt: skip
    out = tmp_path / "panel"
    assert (
        wt.main([str(table(tmp_path, text)), "--mapping", str(mapping_path), "--out", str(out)])
        == 0
    )
    assert capsys.readouterr().out == (
        f"wrote {out}: 1 units x 1 indicators (0 blank values)\n"
        "set aside: A (prevalence) (PREV_A): no value in the column (as published)\n"
    )


def test_the_commands_help_and_its_required_options(capsys):
    shown = help_text(wt.main, capsys)
    assert "Reader: a wide indicator table (one row per unit, columns per indicator), by its" in (
        shown
    )
    assert "Published derivatives" not in shown  # the first paragraph only
    for missing in (["t.csv", "--out", "o"], ["t.csv", "--mapping", "m.yml"]):
        with pytest.raises(SystemExit) as stopped:
            wt.main(missing)
        assert stopped.value.code == 2
    errors = capsys.readouterr().err
    assert "the following arguments are required: --mapping" in errors
    assert "the following arguments are required: --out" in errors
