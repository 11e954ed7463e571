"""REAL QOF practice summaries: every published layout loads by its mapping; bad files are refused.

Expected numbers are recounted here from the published bytes with the ``csv`` module, not
taken from the loader.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.core import catalogue
from analysis.core.datasets import DataError
from analysis.files import sha256_file
from analysis.indicators.sources import qof

STORED = {p.name: p for p in qof.stored_files()}
LAYOUTS = {
    "qof_2017-18.csv.gz": ("qof_2017-18.yml", 2017, 559, "All ages", None),
    "qof_2018-19.csv.gz": ("qof_2018-19.yml", 2018, 559, "List size", None),
    "qof_2019-20.csv.gz": ("qof_2019-20.yml", 2019, 559, "List size", "PCN ODS code"),
    "qof_2021-22.csv.gz": ("qof_2021-22.yml", 2021, 635, "List size", "PCN ODS code"),
}


def _raw_rows(path: Path) -> list[dict[str, str]]:
    text = gzip.decompress(path.read_bytes()).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_four_real_years_are_shipped_with_their_provenance():
    assert sorted(STORED) == sorted(LAYOUTS)
    first = ("indicators/real/qof/", "indicators/real/fingertips/", "indicators/real/list_sizes/")
    entries = {d.path: d for d in catalogue.load() if d.path.startswith(first)}
    # four QOF years, two Fingertips exports, the 2013 list sizes (the derived files added
    # later are checked in test_real_chapter_data.py)
    assert len(entries) == 7
    for ds in entries.values():
        raw = gzip.decompress(ds.file.read_bytes())
        assert sha256_file(ds.file) == ds.sha256, ds.path
        assert hashlib.sha256(raw).hexdigest() == ds.published_sha256, ds.path
        assert len(raw.splitlines()) - 1 == ds.rows, ds.path
        assert "Open Government Licence v3.0" in ds.licence
        assert ds.publisher and ds.release and "github.com/" in ds.rehosted
        assert ds.title.startswith("REAL")
        # gzip -n: no name and no time stamp in the header, so the bytes are reproducible
        assert ds.file.read_bytes()[4:8] == b"\0\0\0\0", ds.path


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_loads_by_its_own_mapping(name):
    mapping_name, year, max_points, list_column, pcn_column = LAYOUTS[name]
    path = STORED[name]
    assert qof.choose_mapping(path).path.name == mapping_name
    frame = qof.read_qof(path)
    raw = _raw_rows(path)
    assert len(frame) == len(raw)
    assert set(frame["year"]) == {year}
    assert set(frame["max_points"]) == {max_points}
    # an independent recount from the published bytes
    available_column = next(c for c in raw[0] if c.startswith("Total points") or "Max. QOF" in c)
    achieved_column = next(c for c in raw[0] if c.startswith("Achievement score"))
    not_available = sum(r[available_column] == ":" for r in raw)
    assert frame["points_available"].isna().sum() == not_available
    total = sum(float(r[achieved_column]) for r in raw if r[achieved_column] != ":")
    assert frame["points_achieved"].sum() == pytest.approx(total, rel=1e-12)
    assert frame["list_size"].sum() == sum(int(r[list_column]) for r in raw)
    if pcn_column:
        assert frame["pcn"].tolist() == [r[pcn_column] for r in raw]
    else:
        assert "pcn" not in frame
    assert frame["line"].iloc[0] == 2


def test_all_years_stack_and_count_what_is_not_available():
    years = qof.read_qof_years(qof.stored_files())
    files = years.files.set_index("year")
    assert files["rows"].to_dict() == {2017: 7100, 2018: 6873, 2019: 6720, 2021: 6470}
    assert files["not_available"].to_dict() == {2017: 11, 2018: 19, 2019: 0, 2021: 0}
    # the source contradicts itself once: achievement above the points available
    assert files["achieved_above_available"].to_dict() == {2017: 0, 2018: 0, 2019: 0, 2021: 1}
    pcns = years.practices.loc[years.practices["year"] == 2019, "pcn"]
    assert pcns.nunique() == 1251  # 1,250 networks and U (not allocated)


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def _small(tmp_path: Path, name: str = "QOF 2022-23.csv", changes: dict | None = None) -> Path:
    header = [
        "Sub ICB Loc ODS code",
        "PCN ODS code",
        "Practice code",
        "Practice name",
        "Registered patients",
        "Achievement score (635 max)",
        "Points available",
    ]
    rows = [
        ["00L", "U1", "A00001", "One", "5000", "600.5", "635"],
        ["00L", "U1", "A00002", "Two", "7000", "580", "630"],
        ["00M", "U", "A00003", "Three", "3000", ":", ":"],
    ]
    for (line, column), value in (changes or {}).items():
        rows[line - 2][header.index(column)] = value
    return _write_csv(tmp_path / name, [header, *rows])


NEW_MAPPING = {
    "layout": "a future layout",
    "max_points": 635,
    "columns": {
        "practice_code": "Practice code",
        "practice_name": "Practice name",
        "list_size": "Registered patients",
        "points_achieved": "Achievement score (635 max)",
        "points_available": "Points available",
    },
    "groups": {"pcn": "PCN ODS code", "ccg": "Sub ICB Loc ODS code"},
}


def _mapping(tmp_path: Path, doc: dict = NEW_MAPPING) -> Path:
    path = tmp_path / "qof_2022-23.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_a_new_layout_is_taken_by_adding_a_mapping_file_only(tmp_path, monkeypatch):
    folder = tmp_path / "mappings"
    folder.mkdir()
    for path in qof.mapping_files():
        shutil.copy(path, folder)
    data = _small(tmp_path)
    monkeypatch.setattr(qof, "mappings_dir", lambda: folder)
    with pytest.raises(DataError, match="layout matches no QOF mapping"):
        qof.read_qof(data)
    _mapping(folder)
    frame = qof.read_qof(data)
    assert frame["practice_code"].tolist() == ["A00001", "A00002", "A00003"]
    assert frame["year"].tolist() == [2022] * 3
    assert frame["points_achieved"].tolist()[:2] == [600.5, 580.0]
    assert frame["points_available"].isna().tolist() == [False, False, True]
    assert frame["pcn"].tolist() == ["U1", "U1", "U"]


def test_an_unknown_layout_lists_the_columns_found_and_the_mappings_tried(tmp_path):
    data = _small(tmp_path)
    with pytest.raises(DataError) as err:
        qof.read_qof(data)
    message = str(err.value)
    assert "QOF 2022-23.csv: line 1: layout matches no QOF mapping" in message
    assert "'Registered patients'" in message
    for path in qof.mapping_files():
        assert path.name in message
    assert "lacks ['Practice code'" not in message  # the file has this column
    assert message.count(" lacks [") == len(qof.mapping_files())  # what each mapping missed


SCORE = "Achievement score (635 max)"
BAD_CELLS = [
    (
        (3, "Practice code"),
        "A00001",
        "'Practice code': duplicated practice rows on line\\(s\\) 2, 3",
    ),
    ((2, SCORE), "700", ".Achievement score .635 max..: above the year's maximum 635 points"),
    ((3, "Points available"), "-5", "'Points available': negative on line\\(s\\) 3"),
    ((2, SCORE), "n/a", "'Achievement score \\(635 max\\)': not a number on line\\(s\\) 2"),
    ((4, "Practice code"), "A0003", "'Practice code': malformed practice code on line\\(s\\) 4"),
    ((3, "Registered patients"), "lots", "'Registered patients': not a number on line\\(s\\) 3"),
]


@pytest.mark.parametrize("cell, value, pattern", BAD_CELLS)
def test_bad_cells_are_refused_naming_file_line_and_column(tmp_path, cell, value, pattern):
    data = _small(tmp_path, changes={cell: value})
    mapping = _mapping(tmp_path)
    with pytest.raises(DataError, match=f"column {pattern}\\b") as err:
        qof.read_qof(data, mapping)
    assert str(data) in str(err.value)


def test_a_mapping_naming_a_missing_column_and_an_unparsable_period(tmp_path):
    data = _small(tmp_path)
    broken = dict(NEW_MAPPING, columns=dict(NEW_MAPPING["columns"], list_size="List size"))
    with pytest.raises(DataError, match=r"qof_2022-23.yml: names column\(s\) \['List size'\]"):
        qof.read_qof(data, _mapping(tmp_path, broken))
    undated = _small(tmp_path, name="qof latest.csv")
    with pytest.raises(DataError, match=r"qof latest.csv: the file name does not give a year"):
        qof.read_qof(undated, _mapping(tmp_path))
    bad_key = _mapping(tmp_path, dict(NEW_MAPPING, colums={}))
    unknown = r"qof_2022-23.yml:\d+: \(top level\): unknown key\(s\) colums"
    with pytest.raises(DataError, match=unknown):
        qof.read_mapping(bad_key)


def test_nothing_is_written_by_a_failed_read(tmp_path):
    data = _small(tmp_path, changes={(2, "Points available"): "-1"})
    before = data.read_bytes()
    with pytest.raises(DataError):
        qof.read_qof(data, _mapping(tmp_path))
    assert data.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["QOF 2022-23.csv", "qof_2022-23.yml"]


def test_a_file_with_a_header_only_is_refused_in_one_line(tmp_path):
    data = _small(tmp_path)
    data.write_text(data.read_text().splitlines()[0] + "\r\n")
    message = f"{data}: no data row below the header; expected one row per practice"
    with pytest.raises(DataError) as raised:
        qof.read_qof(data, _mapping(tmp_path))
    assert str(raised.value) == message
    with pytest.raises(DataError) as raised:  # several years: the same line, not IndexError
        qof.read_qof_years([data], [qof.read_mapping(_mapping(tmp_path))])
    assert str(raised.value) == message


def test_every_stored_mapping_file_is_documented_and_valid():
    for path in qof.mapping_files():
        mapping = qof.read_mapping(path)
        assert re.match(r"qof_\d{4}-\d{2}\.yml", path.name)
        assert path.read_text().startswith("# Column mapping")
        assert set(mapping.columns) == set(qof.FIELDS)
