"""The two REAL Fingertips exports load by their mapping, and the export's variations are taken.

Expected counts are recounted from the published bytes with the ``csv`` module.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from analysis.core.datasets import DataError
from analysis.indicators.sources import fingertips
from analysis.indicators.sources.panel import indicators_dir

REAL = indicators_dir() / "real" / "fingertips"
MAPPING = indicators_dir() / "mappings" / "fingertips_qof_prevalence.yml"
FIXTURES = Path(__file__).parent / "fixtures"


def _rows(path: Path) -> list[list[str]]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _write(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def test_dementia_export_keeps_its_own_england_row():
    extract = fingertips.read_fingertips(REAL / "dementia_qof_prev.csv.gz", MAPPING)
    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    header, body = rows[0], rows[1:]
    col = {name: header.index(name) for name in header}
    practices = [r for r in body if r[col["Area Type"]] == "GPs"]
    assert len(extract.observations) == len(practices) == 196
    assert extract.observations["practice_code"].nunique() == 14
    assert sorted(extract.observations["year"].unique()) == list(range(2009, 2023))
    england = extract.england.set_index("year")
    # the export repeats each England row (blank parent and under England): kept once
    assert len(england) == 14
    published = {
        int(r[col["Time period"]][:4]): float(r[col["Value"]])
        for r in body
        if r[col["Area Type"]] == "England"
    }
    assert england["value"].to_dict() == published
    first = next(r for r in body if r[col["Area Type"]] == "England")
    assert england.at[2009, "numerator"] == float(first[col["Count"]])
    assert england.at[2009, "denominator"] == float(first[col["Denominator"]])
    # England is the file's row, not the sum of its 14 practices
    summed = extract.observations.groupby("year")["denominator"].sum()
    assert summed[2009] < england.at[2009, "denominator"] / 100


def test_smoking_export_mixes_area_types_and_appends_rows_without_ids():
    extract = fingertips.read_fingertips(REAL / "smok_qof_prev.csv.gz", MAPPING)
    rows = _rows(REAL / "smok_qof_prev.csv.gz")
    header, body = rows[0], rows[1:]
    col = {name: header.index(name) for name in header}
    practices = [r for r in body if r[col["Area Type"]] == "GPs"]
    blank_ids = [r for r in practices if not r[col["Indicator ID"]]]
    assert len(blank_ids) == 6267  # the 2023/24 rows: blank id, parent, sex and age
    assert len(extract.observations) == len(practices) == 12645
    years = extract.observations["year"].value_counts().to_dict()
    assert years == {2022: 6378, 2023: 6267}
    others = sum(r[col["Area Type"]] not in ("GPs", "England") for r in body)
    assert sum(extract.set_aside.values()) == len(body) - len(practices) - 10
    assert (
        extract.set_aside["other area type"]
        + extract.set_aside["category breakdown"]
        + (extract.set_aside["other sex or age than selected"])
        == others + 81
    )  # England rows of categories and ages not selected
    assert extract.england["year"].tolist() == list(range(2013, 2023))


def _variant(tmp_path: Path, title: str | None = None, area: str = "GPs") -> Path:
    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    if title:
        rows[0][22] = title
    for row in rows[1:]:
        if row[6] == "GPs":
            row[6] = area
    return _write(tmp_path / "variant.csv", rows)


@pytest.mark.parametrize(
    "title",
    [
        "Compared to percentiles",
        "Column not used",
        "Compared to CCGs value or percentiles",
        "Compared to PCNs value or percentiles",
    ],
)
def test_any_title_of_the_parent_comparison_column_is_taken(tmp_path, title):
    extract = fingertips.read_fingertips(_variant(tmp_path, title), MAPPING)
    assert len(extract.observations) == 196


def test_area_type_gp_or_gps_and_a_clear_error_when_nothing_is_left(tmp_path):
    assert len(fingertips.read_fingertips(_variant(tmp_path, area="GP"), MAPPING).observations)
    mapping = fingertips.read_mapping(MAPPING) | {"practice_area_type": ["GPs"]}
    with pytest.raises(DataError) as err:
        fingertips.read_fingertips(_variant(tmp_path, area="GP"), mapping)
    message = str(err.value)
    assert "variant.csv: no practice rows after filtering" in message
    assert "area types ['England', 'GP']" in message and "indicator ids ['247']" in message


def test_a_score_without_counts_is_refused_saying_so_or_analysed_as_a_value(tmp_path):
    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    line = next(i for i, r in enumerate(rows) if r[6] == "GPs") + 1
    for row in rows[1:]:
        row[17] = row[18] = ""  # Count and Denominator
    path = _write(tmp_path / "score.csv", rows)
    with pytest.raises(DataError) as err:
        fingertips.read_fingertips(path, MAPPING)
    message = str(err.value)
    assert f"score.csv: missing counts ('Count' or 'Denominator') on line(s) {line}," in message
    assert "cannot be analysed as a proportion" in message and "missing_counts: value" in message
    as_value = fingertips.read_mapping(MAPPING) | {"missing_counts": "value"}
    extract = fingertips.read_fingertips(path, as_value)
    assert extract.observations.empty and len(extract.values) == 196
    assert extract.values["value"].iloc[0] == float(rows[line - 1][12])


def test_unmapped_indicator_ids_are_named(tmp_path):
    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    rows[5][0] = "99999"
    extract = fingertips.read_fingertips(_write(tmp_path / "x.csv", rows), MAPPING)
    assert extract.unmapped == ("99999",)
    assert extract.set_aside["indicator not in mapping"] == 1


def test_command_line_reports_a_bad_export_in_one_line(tmp_path, capsys):
    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    rows[3][11] = "Q3 2009"
    path = _write(tmp_path / "bad.csv", rows)
    code = fingertips.main([str(path), "--mapping", str(MAPPING), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "bad.csv" in err and "line(s) 4" in err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_the_published_england_row_is_the_default_comparator(tmp_path):
    """Converted export + membership: England is the file's row, not the sum of 14 practices."""
    from analysis.indicators.methods.comparison import compare_to_national
    from analysis.indicators.methods.selection import prepare, select
    from analysis.indicators.sources import panel as pn

    rows = _rows(REAL / "dementia_qof_prev.csv.gz")
    rows = [r for r in rows if r[11] in ("Time period", "2013/14", "2014/15")]
    export = _write(tmp_path / "export.csv", rows)
    mapping = fingertips.read_mapping(MAPPING)
    mapping["indicators"] = {"247": {"indicator_id": "QOF01"}}  # into the study's catalogue
    extract = fingertips.read_fingertips(export, mapping)
    out = tmp_path / "panel"
    from analysis.core.datasets import write_csv
    from analysis.indicators.sources.panel import write_observations

    write_observations(extract.observations, out / "observations.csv")
    write_csv(extract.england, out / "england.csv")
    codes = sorted(extract.observations["practice_code"].unique())
    (out / "membership.csv").write_text(
        "practice_code,organisation_id,joined,left\n"
        + "".join(f"{c},PCN_A,2013,\n" for c in codes[:5])
    )
    loaded = pn.load_panel(out)
    assert loaded.organisations["organisation_id"].tolist() == ["PCN_A"]  # no characteristics
    selection = select(
        loaded.observations, loaded.catalogue, loaded.organisations, indicators=["QOF01"]
    )
    data = prepare(loaded.observations, loaded.membership, loaded.catalogue, selection)
    level = compare_to_national(data, ["PCN_A"], national=loaded.national).set_index("year")
    published = extract.england.set_index("year")
    expected = published["numerator"] / published["denominator"]
    assert level.loc[2013, "national_rate"] == pytest.approx(expected[2013], rel=1e-12)
    assert set(level["comparator"]) == {"published England value"}
    assert (level["comparator_practices"] == 14).all()
    with pytest.warns(UserWarning, match="sum of fewer than 30 practices"):
        plain = compare_to_national(data, ["PCN_A"]).set_index("year")
    pooled = data.groupby("year")["numerator"].sum() / data.groupby("year")["denominator"].sum()
    assert plain.loc[2014, "national_rate"] == pytest.approx(pooled[2014], rel=1e-12)
    assert set(plain["comparator"]) == {"sum of practices"}
