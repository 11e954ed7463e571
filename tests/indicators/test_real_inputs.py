"""The REAL networks chapter's input check: the one-line messages it gives, word for word."""

from __future__ import annotations

import shutil

import pytest

from analysis.core.datasets import DataError
from analysis.indicators.networks import real_inputs


def test_an_empty_folder_is_named_with_its_parameter_and_pattern(tmp_path):
    with pytest.raises(DataError) as err:
        real_inputs.folder_files(tmp_path, "*.parquet", "membership_source")
    assert str(err.value) == f"parameter 'membership_source': no *.parquet files in {tmp_path}"
    with pytest.raises(DataError) as err:
        real_inputs.qof_year_files(tmp_path)
    assert str(err.value) == f"parameter 'qof_source': no *.csv* files in {tmp_path}"


def test_the_notebooks_check_names_the_chapter_and_every_problem(tmp_path):
    parameters = {"qof_source": str(tmp_path), "tau2_method": "mean"}
    findings, what = real_inputs.check(parameters)
    assert what == "its REAL files"
    assert findings.errors == [
        "parameter 'tau2_method': 'mean'; expected one of "
        "('winsorised', 'winsorised_rescaled', 'dl', 'reml')",
        f"parameter 'qof_source': no *.csv* files in {tmp_path}",
    ]
    with pytest.raises(DataError) as err:
        real_inputs.read_inputs(**parameters)
    assert str(err.value).splitlines() == [
        "notebook 'networks_real', its REAL files: 2 problem(s) found before the analysis:",
        *(f"  {line}" for line in findings.errors),
    ]


def test_a_table_at_the_wrong_level_and_an_empty_membership_folder_are_named(tmp_path):
    groups = real_inputs.DEFAULTS["practice_groups_mapping"]
    parameters = {
        "membership_source": str(tmp_path),
        "organisation_table": real_inputs.DEFAULTS["practice_groups"],
        "organisation_mapping": groups,
    }
    inputs, findings = real_inputs.check_inputs(parameters)
    assert inputs is None
    mapping = real_inputs.resolve_path(groups)
    assert findings.errors == [  # nothing read from a folder without files
        f"parameter 'membership_source': no *.parquet files in {tmp_path}",
        f"{mapping}: level 'practice'; the chapter needs 'organisation'",
    ]


def test_a_groups_file_of_a_year_without_a_mapping_file_is_named(tmp_path):
    stored = real_inputs.resolve_path(real_inputs.DEFAULTS["membership_source"])
    for name in ("structures_2019_2020.parquet", "structures_2021_2022.parquet"):
        shutil.copy(stored / name, tmp_path / name)
    inputs, findings = real_inputs.check_inputs(
        {"membership_source": str(tmp_path), "membership_year": 2021}
    )
    assert inputs is None
    mapping = real_inputs.resolve_path(real_inputs.DEFAULTS["practice_groups_mapping"])
    assert findings.errors == [
        f"{mapping}: year 2023 has no mapping file in parameter 'membership_source' "
        "([2019, 2021]); its practices cannot be placed in PCNs"
    ]
