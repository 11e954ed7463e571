"""Reading the single files of a panel: each reader on small hand-written files, with the
expected frames and one-line messages worked out by hand."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources import panelfiles
from analysis.indicators.sources.schemas import DOMAINS
from analysis.paths import data_dir

CATALOGUE = """indicator_id,name,domain,distribution,higher_is_better,scale
AF006,Atrial fibrillation treated,cardio,binomial,TRUE,proportion
CHD005,Coronary heart disease treated,cardio,binomial,false,percent
SMOK,Smoking prevalence,prevalence,poisson,,
"""


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def catalogue(tmp_path):
    return panelfiles.read_catalogue(_write(tmp_path / "cat.csv", CATALOGUE))


# --------------------------------------------------------------------------- where files live


def test_the_stored_files_live_under_the_data_folder():
    strand = data_dir() / "indicators"
    assert panelfiles.indicators_dir() == strand
    assert panelfiles.synthetic_dir() == strand / "synthetic"
    assert panelfiles.catalogue_path() == strand / "published" / "indicator_catalogue.csv"


# --------------------------------------------------------------------------- catalogue


def test_direction_reads_true_and_false_in_any_case_and_blank_as_missing():
    mixed = panelfiles._direction(pd.Series(["TRUE", "false", None, "True"], index=[5, 6, 7, 8]))
    assert mixed.dtype == "boolean"
    assert list(mixed.index) == [5, 6, 7, 8]
    assert mixed.tolist() == [True, False, pd.NA, True]
    full = panelfiles._direction(pd.Series(["False", "true"], index=[3, 4]))
    assert full.dtype == bool and full.tolist() == [False, True] and list(full.index) == [3, 4]


def test_a_user_catalogue_is_typed_and_given_the_columns_the_analyses_read(catalogue):
    assert catalogue["indicator_id"].tolist() == ["AF006", "CHD005", "SMOK"]
    assert catalogue["higher_is_better"].tolist() == [True, False, pd.NA]
    assert catalogue["scale"].tolist()[:2] == ["proportion", "percent"]
    assert str(catalogue["unit"].dtype) == "string" and catalogue["unit"].isna().all()
    assert str(catalogue["single_year"].dtype) == "Int64"
    assert catalogue["single_year"].isna().all()


def test_a_user_catalogue_is_checked_against_the_domains_given(tmp_path):
    path = _write(tmp_path / "cat.csv", CATALOGUE)
    with pytest.raises(DataError) as err:
        panelfiles.read_catalogue(path, domains=["cardio"])
    assert str(err.value) == (
        f"{path}: 1 problem(s):\n  line 4, column 'domain': unknown domain 'prevalence'; "
        "expected one of ['cardio'] (the domains panel.yml declares)"
    )


def test_the_stored_catalogue_named_by_path_keeps_the_study_domains():
    by_path = panelfiles.read_catalogue(panelfiles.catalogue_path(), domains=["other"])
    default = panelfiles.read_catalogue()
    pd.testing.assert_frame_equal(by_path, default)
    assert set(default["domain"]) == set(DOMAINS)
    assert default["higher_is_better"].dtype == bool


def test_a_catalogue_in_memory_is_checked_as_a_file_and_named_by_its_caller():
    frame = pd.DataFrame(
        {
            "indicator_id": ["A1", "A1"],
            "name": ["First", "Second"],
            "domain": ["d", "d"],
            "distribution": ["binomial", "poisson"],
            "higher_is_better": ["true", np.nan],
        },
        index=[10, 11],
    )
    with pytest.raises(DataError) as err:
        panelfiles.catalogue_from_frame(frame, "my table")
    assert str(err.value) == (
        "my table: 1 problem(s):\n  column 'indicator_id': id clash, 'A1' on lines [2, 3]; "
        "expected one row per indicator"
    )
    frame["indicator_id"] = ["A1", "A2"]
    frame["higher_is_better"] = ["", "FALSE"]
    checked = panelfiles.catalogue_from_frame(frame, "my table", domains=["d"])
    assert checked.index.tolist() == [0, 1]
    assert checked["higher_is_better"].tolist() == [pd.NA, False]
    assert checked["distribution"].tolist() == ["binomial", "poisson"]
    with pytest.raises(DataError, match=r"^my table: 2 problem\(s\):\n  line 2, column 'domain'"):
        panelfiles.catalogue_from_frame(frame, "my table", domains=["e"])


# --------------------------------------------------------------------------- panel.yml, membership


def test_panel_config_is_read_as_a_checked_dict(tmp_path):
    path = _write(tmp_path / "panel.yml", "tier: user\ndomains: [a, b]\n")
    assert panelfiles.read_panel_config(path) == {"tier": "user", "domains": ["a", "b"]}


def test_membership_by_year_becomes_one_year_spells_and_is_checked(tmp_path):
    path = _write(
        tmp_path / "membership.csv",
        "practice_code,year,organisation_id\nP1,2020,N1\nP1,2020,N2\nP2,2021,N1\n",
    )
    spells = panelfiles.read_membership(path, check=False)
    assert spells.columns.tolist() == ["practice_code", "organisation_id", "joined", "left"]
    assert spells["joined"].tolist() == [2020, 2020, 2021]
    assert spells["left"].tolist() == [2021, 2021, 2022]
    with pytest.raises(DataError) as err:
        panelfiles.read_membership(path)
    assert str(err.value).startswith(
        f"{path}: 1 problem(s):\n  column 'organisation_id': practice 'P1' is in N1 (line 2) "
        "and N2 (line 3)"
    )


# --------------------------------------------------------------------------- organisations


def test_organisations_are_typed_labelled_and_marked_as_case_studies(tmp_path):
    path = _write(
        tmp_path / "organisations.csv",
        "organisation_id,case_study,score,note,blank,list_size\n"
        "N1,TRUE,1.5,12,,100\nN2,false,2,x,,\nN3,,3,,,\n",
    )
    orgs = panelfiles.read_organisations(path)
    assert orgs.columns.tolist() == [
        "organisation_id", "label", "case_study", "score", "note", "blank", "list_size",
    ]  # fmt: skip
    assert orgs["label"].tolist() == ["N1", "N2", "N3"]
    assert orgs["case_study"].tolist() == [True, False, False]
    assert orgs["score"].dtype == float and orgs["score"].tolist() == [1.5, 2.0, 3.0]
    assert orgs["note"].tolist()[:2] == ["12", "x"]  # one cell is not a number: text
    assert pd.isna(orgs["note"][2])
    assert orgs["blank"].isna().all() and not pd.api.types.is_float_dtype(orgs["blank"])
    assert str(orgs["list_size"].dtype) == "Int64"  # a known characteristic keeps its type
    plain = panelfiles.read_organisations(
        _write(tmp_path / "plain.csv", "organisation_id,label\nN1,North\nN2,South\n")
    )
    assert plain["label"].tolist() == ["North", "South"]
    assert plain["case_study"].tolist() == [False, False] and plain["case_study"].dtype == bool


def test_organisations_from_membership_count_the_last_years_members():
    membership = pd.DataFrame(
        {
            "practice_code": ["P1", "P1", "P2", "P3", "P4"],
            "organisation_id": ["N1", "N1", "N1", "N2", "N2"],
            "joined": pd.array([2019, 2020, 2019, 2019, 2019], dtype="Int64"),
            "left": pd.array([2020, pd.NA, pd.NA, 2020, pd.NA], dtype="Int64"),
            "list_size": [100.0, 150.0, 50.0, 70.0, np.nan],
        }
    )
    orgs = panelfiles.organisations_from_membership(membership, [2019, 2021])
    assert orgs.columns.tolist() == [
        "organisation_id", "label", "n_practices", "list_size", "case_study",
    ]  # fmt: skip
    assert orgs["label"].tolist() == ["N1", "N2"]
    # 2021: P1 (its later spell, 150) and P2 in N1; only P4 (no list size) in N2
    assert orgs["n_practices"].tolist() == [2, 1]
    assert orgs["list_size"].tolist() == [200, pd.NA]
    assert str(orgs["n_practices"].dtype) == "Int64" and str(orgs["list_size"].dtype) == "Int64"
    assert orgs["case_study"].tolist() == [False, False]
    every = panelfiles.organisations_from_membership(membership.drop(columns="list_size"))
    assert every["n_practices"].tolist() == [2, 2] and "list_size" not in every
    level = panelfiles.organisations_from_membership(membership, [2021], level="organisation")
    assert level.columns.tolist() == ["organisation_id", "label", "case_study"]


# --------------------------------------------------------------------------- truth, England, light


def test_the_truth_table_is_read_from_the_stored_panel_by_default():
    stored = panelfiles.read_truth()
    assert not stored.empty
    pd.testing.assert_frame_equal(
        stored, panelfiles.read_truth(panelfiles.synthetic_dir() / "truth.csv")
    )


def test_england_rows_are_optional_and_need_their_columns(tmp_path):
    assert panelfiles.read_national(tmp_path / "england.csv") is None
    good = _write(tmp_path / "england.csv", "indicator_id,year,numerator,denominator\nA,2020,1,2\n")
    assert panelfiles.read_national(good)["denominator"].tolist() == [2]
    bad = _write(tmp_path / "bad.csv", "indicator_id,year,numerator\nA,2020,1\n")
    with pytest.raises(DataError) as err:
        panelfiles.read_national(bad)
    assert str(err.value) == (
        f"{bad}: line 1: expected columns indicator_id, year, numerator, denominator"
    )


def test_a_light_table_is_text_or_none_when_unreadable(tmp_path):
    csv = _write(tmp_path / "obs.csv", "practice_code,year,x\nP1,2020,1\n")
    assert panelfiles.light_table(csv, ["practice_code", "year"]).to_dict("list") == {
        "practice_code": ["P1"],
        "year": ["2020"],
    }
    parquet = tmp_path / "obs.parquet"
    pd.DataFrame({"practice_code": ["P1"], "year": [2020]}).to_parquet(parquet)
    assert panelfiles.light_table(parquet, ["year"]).to_dict("list") == {"year": ["2020"]}
    assert panelfiles.light_table(csv, ["missing"]) is None
    assert panelfiles.light_table(tmp_path / "absent.csv", ["year"]) is None
    assert panelfiles.light_table(_write(tmp_path / "not.parquet", "x"), ["year"]) is None
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"practice_code,year\nP1,2020\n")[:20])
    assert panelfiles.light_table(broken, ["year"]) is None


# --------------------------------------------------------------------------- observations


@pytest.mark.parametrize(
    "header, expected",
    [
        ("practice_code,year,indicator_id,numerator,denominator", ("practice", "counts")),
        ("organisation_id,year,indicator_id,value", ("organisation", "value")),
        ("practice_code,year,indicator_id,value,denominator", ("practice", "value_denominator")),
    ],
)
def test_the_form_of_an_observation_file_is_told_by_its_header(tmp_path, header, expected):
    assert panelfiles.observation_form(_write(tmp_path / "o.csv", header + "\n")) == expected


@pytest.mark.parametrize(
    "header",
    [
        "year,practice_code,indicator_id,numerator,denominator",
        "practice_code,indicator_id,year,numerator,denominator",
        "practice_code,year,indicator_id,numerator",
        "practice_code,year,indicator_id,numerator,denominator,extra",
        "",
    ],
)
def test_any_other_header_is_refused_in_one_line(tmp_path, header):
    path = _write(tmp_path / "o.csv", header + "\n")
    with pytest.raises(DataError) as err:
        panelfiles.observation_form(path)
    assert str(err.value) == (
        f"{path}: line 1: header {header.split(',') if header else []}; expected exactly "
        "['practice_code', 'year', 'indicator_id', 'numerator', 'denominator'] (or "
        "organisation_id first, for an organisation-level table; or value, or value and "
        "denominator, in place of numerator and denominator)"
    )


def test_a_missing_observation_file_is_named(tmp_path, catalogue):
    path = tmp_path / "observations.csv"
    with pytest.raises(DataError) as err:
        panelfiles.read_observations(path, catalogue)
    assert str(err.value) == (
        f"{path}: file not found; expected a CSV with columns "
        "['practice_code', 'year', 'indicator_id', 'numerator', 'denominator']"
    )


def test_counts_are_read_typed_and_validated(tmp_path, catalogue):
    path = _write(
        tmp_path / "o.csv",
        "practice_code,year,indicator_id,numerator,denominator\nP1,2020,AF006,3,4\n"
        "P2,2021,SMOK,5,10\n",
    )
    frame = panelfiles._read_observations(path, catalogue)
    assert frame.to_dict("list") == {
        "practice_code": ["P1", "P2"],
        "year": [2020, 2021],
        "indicator_id": ["AF006", "SMOK"],
        "numerator": [3.0, 5.0],
        "denominator": [4.0, 10.0],
    }
    assert frame["year"].dtype == np.int64 and frame["numerator"].dtype == float


def test_a_gzip_file_is_read_and_a_truncated_one_refused(tmp_path, catalogue):
    text = b"practice_code,year,indicator_id,numerator,denominator\nP1,2020,AF006,3,4\n"
    good = tmp_path / "o.csv.gz"
    good.write_bytes(gzip.compress(text))
    assert panelfiles._read_observations(good, catalogue)["numerator"].tolist() == [3.0]
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(text * 50)[:-30])
    with pytest.raises(DataError, match=rf"^{bad}: truncated or corrupt gzip file \("):
        panelfiles._read_observations(bad, catalogue)


def test_an_observation_file_with_a_header_only_is_refused(tmp_path, catalogue):
    path = _write(tmp_path / "o.csv", "practice_code,year,indicator_id,numerator,denominator\n")
    with pytest.raises(DataError) as err:
        panelfiles._read_observations(path, catalogue)
    assert str(err.value) == f"{path}: header only, no data rows"


def test_a_malformed_csv_is_refused_in_one_line(tmp_path, catalogue):
    path = _write(
        tmp_path / "o.csv",
        "practice_code,year,indicator_id,numerator,denominator\nP1,2020,AF006,3,4\n"
        "P2,2020,AF006,3,4,9,9\n",
    )
    with pytest.raises(DataError, match=rf"^{path}: malformed CSV \(Error tokenizing data") as err:
        panelfiles._read_observations(path, catalogue)
    assert "\n" not in str(err.value) and str(err.value).endswith("saw 7)")


def test_unparsable_cells_are_named_by_line_and_column(tmp_path, catalogue):
    path = _write(
        tmp_path / "o.csv",
        "practice_code,year,indicator_id,numerator,denominator\nP1,2020,AF006,x,4\n"
        "P1,,AF006,1,4\nP2,2020,AF006,,4\n",
    )
    with pytest.raises(DataError) as err:
        panelfiles._read_observations(path, catalogue)
    assert str(err.value) == (
        f"{path}: 2 problem(s):\n  column 'year': missing or not a number on line(s) 3\n"
        "  column 'numerator': missing or not a number on line(s) 2, 4"
    )


def test_unparsable_values_are_named_but_a_blank_value_is_allowed():
    frame = pd.DataFrame(
        {"year": ["2020", "2020", None], "value": ["0.5", "x", None], "denominator": [None] * 3}
    )
    assert panelfiles._unparsable(frame, ["year", "value", "denominator"]) == [
        "column 'year': missing or not a number on line(s) 4",
        "column 'value': missing or not a number on line(s) 3",
    ]
    counts = pd.DataFrame({"numerator": ["1", None], "denominator": [None, "2"]})
    assert panelfiles._unparsable(counts, ["numerator", "denominator"]) == [
        "column 'numerator': missing or not a number on line(s) 3",
        "column 'denominator': missing or not a number on line(s) 2",
    ]


def test_a_parquet_file_is_typed_and_its_problems_name_rows(tmp_path, catalogue):
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {
            "practice_code": ["P1", None],
            "year": [2020, 2021],
            "indicator_id": ["AF006", "AF006"],
            "numerator": [3, 2],
            "denominator": [4, 4],
        }
    ).to_parquet(path)
    frame = panelfiles._read_parquet(
        path, ["practice_code", "year", "indicator_id", "numerator", "denominator"]
    )
    assert frame["practice_code"].tolist()[0] == "P1" and pd.isna(frame["practice_code"][0])
    assert frame["year"].dtype == np.int64 and frame["numerator"].dtype == np.float64
    assert frame["denominator"].tolist() == [4.0, 4.0]
    with pytest.raises(DataError) as err:
        panelfiles._read_observations(path, catalogue)
    message = str(err.value)
    assert message.startswith(f"{path}: 1 problem(s):\n  column 'practice_code'")
    assert "row(s) 2" in message and "line" not in message


def test_a_value_file_becomes_counts_with_blank_values_kept_missing(tmp_path, catalogue):
    path = _write(
        tmp_path / "o.csv",
        "practice_code,year,indicator_id,value,denominator\nP1,2020,AF006,0.25,8\n"
        "P1,2020,SMOK,,\nP2,2020,CHD005,50,10\n",
    )
    frame = panelfiles._read_observations(path, catalogue)
    assert frame.index.tolist() == [0, 1, 2]
    assert frame["indicator_id"].tolist() == ["AF006", "SMOK", "CHD005"]
    assert frame["numerator"].tolist()[::2] == [2.0, 5.0]  # 0.25 x 8; 50% x 10
    assert frame["denominator"].tolist()[::2] == [8.0, 10.0]
    assert frame.loc[1, ["numerator", "denominator"]].isna().all()


def test_a_value_without_its_denominator_is_refused_with_the_other_problems():
    catalogue = pd.DataFrame({"indicator_id": ["A"], "distribution": ["binomial"], "domain": ["d"]})
    frame = pd.DataFrame(
        {
            "practice_code": ["P1", "P2", "P3"],
            "year": [2020, 2020, 2020],
            "indicator_id": ["A", "A", "A"],
            "value": [0.5, 1.5, 0.5],
            "denominator": [np.nan, 4.0, 0.0],
        }
    )
    with pytest.raises(DataError) as err:
        panelfiles.values_as_counts(frame, catalogue, "value_denominator", "practice_code", "f")
    assert str(err.value) == (
        "f: 3 problem(s):\n  column 'denominator': missing on line(s) 2 where a value is "
        "given; expected a denominator on every row with a value (or no denominator column: "
        "values analysed as continuous)\n"
        "  column 'value': a proportion outside [0, 1] (a binomial indicator's value; set "
        "scale: percent in the catalogue for percentages) on line(s) 3 (values [1.5])\n"
        "  column 'denominator': greater_than(0) fails on line(s) 4 (values ['0.0'])"
    )


def test_a_truth_table_with_a_repeated_key_is_refused(tmp_path):
    row = "ORG01,HOS01,between_practice_sd,0.2\n"
    path = _write(
        tmp_path / "truth.csv", "organisation_id,indicator_id,parameter,value\n" + row * 2
    )
    with pytest.raises(DataError) as err:
        panelfiles.read_truth(path)
    assert str(err.value) == (
        f"{path}: duplicated key ['organisation_id', 'indicator_id', 'parameter'] on lines "
        "[2, 3]; expected one row per key"
    )


def test_a_value_file_of_organisations_gives_fractional_counts(tmp_path, catalogue):
    path = _write(
        tmp_path / "o.csv",
        "organisation_id,year,indicator_id,value,denominator\nN1,2020,AF006,0.3,7\n"
        "N2,2020,AF006,,\n",
    )
    frame = panelfiles._read_observations(path, catalogue)
    assert frame.columns.tolist() == [
        "organisation_id", "year", "indicator_id", "numerator", "denominator",
    ]  # fmt: skip
    assert frame["numerator"].tolist()[0] == pytest.approx(2.1)
    assert frame["numerator"].dtype == float and frame["denominator"].dtype == float
    assert frame["numerator"].isna().tolist() == [False, True]


def test_a_parquet_cell_that_is_not_a_number_names_the_file_and_row(tmp_path, catalogue):
    path = tmp_path / "o.parquet"
    pd.DataFrame(
        {"practice_code": ["P1"], "year": ["x"], "indicator_id": ["AF006"], "numerator": [1],
         "denominator": [4]}
    ).to_parquet(path)  # fmt: skip
    with pytest.raises(DataError) as err:
        panelfiles._read_observations(path, catalogue)
    assert str(err.value) == (
        f"{path}: 1 problem(s):\n  column 'year': missing or not a number on row(s) 1"
    )


def test_the_cached_observations_depend_on_the_catalogue(tmp_path, monkeypatch, catalogue):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path / "build"))
    path = _write(
        tmp_path / "o.csv",
        "practice_code,year,indicator_id,numerator,denominator\nP1,2020,AF006,3,4\n",
    )
    assert len(panelfiles.read_observations(path, catalogue)) == 1
    other = catalogue.assign(indicator_id=["ZZZ01", "CHD005", "SMOK"])
    with pytest.raises(DataError, match=r"unknown indicator id\(s\) \['AF006'\]"):
        panelfiles.read_observations(path, other)
