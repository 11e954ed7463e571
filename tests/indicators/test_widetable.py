"""A wide indicator table turned into a panel folder: ids, domains, values and units read by
the mapping, every problem named, and the shipped REAL PCN table's mapping.

Expected panels are written out by hand from the small tables below.
"""

from __future__ import annotations

import math
import textwrap

import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators import widetable as wt
from analysis.paths import data_dir
from analysis.safeyaml import load_yaml

PCN_MAPPING = data_dir() / "indicators" / "mappings" / "wide_pcn_data_matrix.yml"
MAPPING = {
    "level": "organisation",
    "unit": "CODE",
    "year": 2021,
    "exclude": ["U"],
    "indicators": [
        {
            "prefix": "ACH_",
            "domain": "achievement",
            "distribution": "binomial",
            "higher_is_better": True,
            "name": "Achievement",
        },
        {
            "prefix": "PREV_",
            "id_prefix": "P_",
            "domain_from_id": "P_(?P<domain>[A-Z]+)",
            "distribution": "continuous",
            "higher_is_better": None,
            "scale": "percent",
        },
    ],
    "characteristics": {"list_size": "POP", "region": "REGION"},
}


def _table(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "CODE": [" B2", "A1", "U", None],
            "POP": ["100", "200", "5", "7"],
            "REGION": ["north", "south", "x", "y"],
            "ACH_AF006": ["0.9", "0.5", "1", "1"],
            "PREV_AF": ["2.5", None, "3", "3"],
            **extra,
        }
    )


def test_a_wide_table_becomes_long_observations_a_catalogue_and_organisations():
    panel = wt.to_panel(_table(), MAPPING)
    observations = panel["observations"]
    assert list(observations.columns) == ["organisation_id", "year", "indicator_id", "value"]
    rows = observations.astype(object).where(observations.notna(), None).values.tolist()
    assert rows == [
        ["A1", 2021, "AF006", 0.5],
        ["A1", 2021, "P_AF", None],
        ["B2", 2021, "AF006", 0.9],
        ["B2", 2021, "P_AF", 2.5],
    ]
    assert observations.index.tolist() == [0, 1, 2, 3]
    catalogue = panel["indicator_catalogue"]
    assert catalogue.to_dict("records") == [
        {
            "indicator_id": "AF006",
            "name": "Achievement AF006",
            "domain": "achievement",
            "distribution": "binomial",
            "higher_is_better": "true",
            "scale": "proportion",
        },
        {
            "indicator_id": "P_AF",
            "name": "PREV P_AF",
            "domain": "af",
            "distribution": "continuous",
            "higher_is_better": "",
            "scale": "percent",
        },
    ]
    organisations = panel["organisations"]
    assert organisations["organisation_id"].tolist() == ["B2", "A1"]
    assert organisations["list_size"].tolist() == [100, 200]  # numbers where all are
    assert organisations["region"].tolist() == ["north", "south"]  # text otherwise


def test_a_practice_level_table_has_no_organisations_and_false_directions():
    mapping = {
        **MAPPING,
        "level": "practice",
        "characteristics": {},
        "indicators": [{**MAPPING["indicators"][0], "higher_is_better": False}],
    }
    panel = wt.to_panel(_table(), mapping)
    assert set(panel) == {"observations", "indicator_catalogue"}
    assert panel["observations"]["practice_code"].tolist() == ["A1", "B2"]
    assert panel["indicator_catalogue"]["higher_is_better"].tolist() == ["false"]


def test_a_column_that_is_only_the_prefix_keeps_its_name_as_id():
    mapping = {**MAPPING, "indicators": [{**MAPPING["indicators"][0], "prefix": "ACH_AF006"}]}
    panel = wt.to_panel(_table(), mapping)
    assert panel["indicator_catalogue"]["indicator_id"].tolist() == ["ACH_AF006"]


def test_every_problem_is_one_line_naming_column_and_lines():
    table = _table(ACH_X=["1", "a", "2", "3"]).drop(columns=["POP"])
    mapping = {
        **MAPPING,
        "indicators": [*MAPPING["indicators"], {**MAPPING["indicators"][0], "prefix": "NONE_"}],
    }
    with pytest.raises(DataError) as err:
        wt.to_panel(table, mapping, name="t.csv")
    assert str(err.value) == (
        "t.csv: 2 problem(s):\n"
        "  line 1: column(s) ['POP'] named by the mapping are not in the table\n"
        "  line 1: no column starts with 'NONE_'"
    )
    with pytest.raises(DataError) as err:
        wt.to_panel(_table(ACH_X=["1", "a", "2", "b"], ACH_Y=["x", "1", "2", "3"]), MAPPING)
    assert str(err.value) == (
        "table: 2 problem(s):\n"
        "  column 'ACH_X': not a number on lines [3]\n"
        "  column 'ACH_Y': not a number on lines [2]"
    )
    twice = _table()
    twice.loc[1, "CODE"] = "B2"
    with pytest.raises(DataError) as err:
        wt.to_panel(twice.assign(CODE=["B2", "B2", "U", None]), MAPPING)
    assert (
        str(err.value)
        == "table: 1 problem(s):\n  column 'CODE': a code appears twice on lines [2, 3]"
    )


def test_an_id_without_a_domain_is_named():
    mapping = {**MAPPING, "indicators": [MAPPING["indicators"][1]]}
    with pytest.raises(DataError) as err:
        wt.to_panel(_table(PREV_af=["1", "2", "3", "4"]), mapping)
    assert str(err.value) == (
        "table: 1 problem(s):\n  line 1, column 'PREV_af': no indicator id or domain in it"
    )


def _mapping_file(tmp_path, text: str):
    path = tmp_path / "m.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


BASE = """\
level: organisation
unit: CODE
year: 2021
indicators:
  - prefix: PREV_
    distribution: continuous
    domain_from_id: {pattern}
"""


def test_the_mapping_file_needs_a_regular_expression_with_a_domain_group(tmp_path):
    good = wt.read_mapping(_mapping_file(tmp_path, BASE.format(pattern="'(?P<domain>[A-Z]+)'")))
    assert good["indicators"][0]["domain_from_id"] == "(?P<domain>[A-Z]+)"
    path = _mapping_file(tmp_path, BASE.format(pattern="'([A-Z]+)'"))
    with pytest.raises(DataError) as err:
        wt.read_mapping(path)
    assert str(err.value) == f"{path}: domain_from_id needs a named group (?P<domain>...)"
    path = _mapping_file(tmp_path, BASE.format(pattern="'(unclosed'"))
    with pytest.raises(DataError, match=rf"^{path}: domain_from_id: not a regular expression \("):
        wt.read_mapping(path)


def test_the_folder_is_written_with_its_panel_yml_and_missing_codes(tmp_path, capsys):
    table = tmp_path / "t.csv"
    _table().fillna("").assign(PREV_AF=["2.5", "NA", "3", "3"]).to_csv(table, index=False)
    mapping = _mapping_file(
        tmp_path,
        """\
        title: A table
        tier: real
        publisher: Someone
        licence: OGL
        level: organisation
        unit: CODE
        year: 2021
        exclude: [U]
        missing: [NA]
        indicators:
          - {prefix: ACH_, domain: achievement, distribution: binomial}
          - {prefix: PREV_, domain: prevalence, distribution: continuous}
        """,
    )
    out = tmp_path / "panel"
    assert wt.main([str(table), "--mapping", str(mapping), "--out", str(out)]) == 0
    assert capsys.readouterr().out == f"wrote {out}: 2 units x 2 indicators (1 blank values)\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "indicator_catalogue.csv",
        "observations.csv",
        "organisations.csv",
        "panel.yml",
    ]
    assert load_yaml(out / "panel.yml") == {
        "title": "A table",
        "tier": "real",
        "publisher": "Someone",
        "licence": "OGL",
        "domains": ["achievement", "prevalence"],
    }
    values = pd.read_csv(out / "observations.csv").set_index(["organisation_id", "indicator_id"])
    assert math.isnan(values.loc[("A1", "AF"), "value"])  # "NA" is a missing cell


def test_an_unreadable_table_is_named(tmp_path):
    with pytest.raises(DataError, match=r"cannot be read as a CSV"):
        wt.write_panel_folder(tmp_path / "absent.csv", PCN_MAPPING, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_panel_config_keeps_only_what_the_mapping_says():
    catalogue = pd.DataFrame({"domain": ["b", "a", "b"]})
    assert wt.panel_config({"tier": "user", "level": "practice"}, catalogue) == {
        "tier": "user",
        "domains": ["b", "a"],
    }


def test_the_shipped_pcn_mapping_is_valid():
    mapping = wt.read_mapping(PCN_MAPPING)
    assert mapping["unit"] == "PCN_CODE" and mapping["exclude"] == ["U"]
    assert [f["prefix"] for f in mapping["indicators"]] == ["QOF_ACHV_", "QOF_PREV_"]
