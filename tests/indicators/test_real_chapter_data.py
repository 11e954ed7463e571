"""The REAL derived files of the networks chapter: provenance, loaders by mapping, bad inputs.

Expected numbers are recounted here from the stored bytes with pyarrow and the ``csv`` module,
not taken from the loaders. Nothing here needs ``../shared``.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.configschema import ConfigError
from analysis.core import catalogue
from analysis.core.datasets import DataError
from analysis.files import sha256_file
from analysis.indicators.networks import real_levels
from analysis.indicators.sources import structures as st
from analysis.indicators.sources import widetable as wt
from analysis.indicators.sources.panel import indicators_dir

PCN_TABLE = indicators_dir() / "real/qof_indicators/pcn_data_matrix.csv.gz"
PCN_MAPPING = indicators_dir() / "mappings/wide_pcn_data_matrix.yml"
CVD_TABLE = indicators_dir() / "real/qof_indicators/qof_cvd_groups.csv.gz"
CVD_MAPPING = indicators_dir() / "mappings/wide_qof_cvd_groups.yml"

DERIVED = ("indicators/real/membership/", "indicators/real/qof_indicators/")
REPOSITORIES = {
    "membership": "wylie102/QOF-visualisation",
    "pcn_data_matrix": "blackwellrd/display_nearest_neighbour_data",
    "qof_cvd_groups": "HealthEquityEvidenceCentre/HEEC",
}
PUBLISHED = {  # sha256 of the published bytes, as the shared README lists them
    "structures_2019_2020.parquet": (
        "332705a8de5c32adc690097a8eae901b4f17650f97a9786d3914ba4a11b85e4d"
    ),
    "structures_2023_2024.parquet": (
        "064d5e26e355a6c996bec781a00604a70cda043df6d5dfa62d79a8ee99e07418"
    ),
    "pcn_data_matrix.csv.gz": "4da8106c9de457ad094ecde4a8122434634d1c1cdc30b3bfaf465f1bb8660952",
    "qof_cvd_groups.csv.gz": "b09822867fde0e387c53e4b3ef8d847bb96616986ed46a3624c4c1d650e589e6",
}


def _entries():
    return {d.path: d for d in catalogue.load() if d.path.startswith(DERIVED)}


def test_the_derived_files_are_catalogued_with_their_provenance():
    entries = _entries()
    assert len(entries) == 7  # five mapping years, the PCN table, the CVD groups
    for ds in entries.values():
        stored = ds.file.read_bytes()
        published = gzip.decompress(stored) if ds.path.endswith(".gz") else stored
        assert sha256_file(ds.file) == ds.sha256, ds.path
        assert hashlib.sha256(published).hexdigest() == ds.published_sha256, ds.path
        if ds.file.name in PUBLISHED:
            assert ds.published_sha256 == PUBLISHED[ds.file.name]
        assert ds.tier == "real" and ds.title.startswith("REAL, DERIVED")
        assert "Open Government Licence v3.0" in ds.licence
        assert "Contains public sector information licensed under the Open Government" in ds.licence
        repository = next(r for k, r in REPOSITORIES.items() if k in ds.path)
        assert f"github.com/{repository}@" in ds.rehosted and "DERIVED" in ds.source
        if ds.path.endswith(".gz"):
            assert stored[4:8] == b"\0\0\0\0", ds.path  # gzip -n: reproducible bytes
            assert len(published.splitlines()) - 1 == ds.rows
        else:
            assert pq.ParquetFile(ds.file).metadata.num_rows == ds.rows
        ds.load_schema()  # the schema named for the data page exists


def test_cvd_year_is_said_to_be_inferred():
    ds = next(d for d in _entries().values() if "cvd" in d.path)
    assert "not stated" in ds.source and "inferred" in ds.source
    assert "inferred" in wt.read_mapping(CVD_MAPPING)["year_basis"]


# --------------------------------------------------------------------------- structures


@pytest.mark.parametrize("path", st.stored_files(), ids=lambda p: p.name)
def test_each_year_loads_by_its_layout_mapping(path):
    raw = pq.read_table(path).to_pandas()
    frame = st.read_structures(path)
    st.STRUCTURES_SCHEMA.validate(frame)
    assert len(frame) == len(raw)
    assert frame["practice_code"].tolist() == raw["PRACTICE_CODE"].tolist()
    assert frame["pcn_code"].tolist() == raw["PCN_ODS_CODE"].tolist()
    assert set(frame["year"]) == {int(path.name.split("_")[1])}
    sub_icb = next(c for c in raw.columns if c.endswith("_ODS_CODE") and ("CCG" in c or "SUB" in c))
    assert frame["sub_icb_code"].tolist() == raw[sub_icb].tolist()
    assert (~frame["in_pcn"]).sum() == (raw["PCN_ODS_CODE"] == "U").sum()


def test_three_layouts_cover_the_five_years_and_counts_are_the_published_ones():
    years = st.read_structure_years(st.stored_files())
    files = years.files.set_index("year")
    assert files["practices"].tolist() == [6720, 6571, 6470, 6378, 6267]
    # the shared README counts PCN codes with U: 1,251 / 1,252 / 1,262 / 1,268 / 1,276
    assert (files["pcns"] + 1).tolist() == [1251, 1252, 1262, 1268, 1276]
    assert files["layout"].nunique() == 3


def _write_parquet(path: Path, columns: dict[str, list]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _layout(codes, pcns, prefix="SUB_ICB"):
    n = len(codes)
    return {
        "PRACTICE_CODE": codes,
        "PRACTICE_NAME": ["x"] * n,
        "PCN_ODS_CODE": pcns,
        "PCN_NAME": ["n"] * n,
        f"{prefix}_ODS_CODE": ["16C"] * n,
        "ICB_ODS_CODE": ["QHM"] * n,
        "REGION_ODS_CODE": ["Y63"] * n,
    }


def test_next_years_new_layout_needs_a_mapping_file_only(tmp_path):
    folder = tmp_path / "mappings"
    folder.mkdir()
    for path in st.mapping_files():
        shutil.copy(path, folder)
    new = _write_parquet(
        tmp_path / "structures_2024_2025.parquet",
        _layout(["A81001", "A81002", "A81003"], ["U1", "U1", "U"], prefix="SUBICB"),
    )
    with pytest.raises(DataError, match="layout matches no structures mapping") as err:
        st.choose_mapping(new, [st.read_mapping(p) for p in st.mapping_files(folder)])
    assert "\n" not in str(err.value) and "SUBICB_ODS_CODE" in str(err.value)
    text = (
        (folder / "structures_sub_icb.yml")
        .read_text()
        .replace("SUB_ICB_ODS_CODE", "SUBICB_ODS_CODE")
    )
    (folder / "structures_2024.yml").write_text(text)
    frame = st.read_structures(
        new, st.choose_mapping(new, [st.read_mapping(p) for p in st.mapping_files(folder)])
    )
    assert frame["year"].iloc[0] == 2024 and frame["in_pcn"].tolist() == [True, True, False]


def test_a_file_that_is_not_parquet_is_refused_in_one_line(tmp_path):
    fake = tmp_path / "structures_2024_2025.parquet"
    fake.write_text("PRACTICE_CODE,PCN_ODS_CODE\nA81001,U1\n")
    with pytest.raises(DataError) as err:
        st.read_structures(fake)
    message = str(err.value)
    assert message.startswith(f"{fake}: not a Parquet file") and "\n" not in message


def test_bad_rows_are_reported_together_with_rows_and_columns(tmp_path):
    path = _write_parquet(
        tmp_path / "structures_2023_2024.parquet",
        _layout(["A81001", "A81001", "bad", None], ["U1", "U2", "U3", None]),
    )
    with pytest.raises(DataError) as err:
        st.read_structures(path)
    message = str(err.value)
    assert "\n" not in message and "4 problem(s)" in message
    assert "'PRACTICE_CODE': missing practice code on row(s) 4" in message
    assert "malformed practice code on row(s) 3" in message
    assert "practice listed twice (in two PCNs or repeated) on row(s) 1, 2" in message
    assert "'PCN_ODS_CODE': missing PCN code on row(s) 4" in message


def test_two_files_for_one_year_and_a_bad_mapping_are_refused(tmp_path):
    first = st.stored_files()[0]
    twin = shutil.copy(first, tmp_path / "copy_2019_2020.parquet")
    with pytest.raises(DataError, match="two structures files for one year"):
        st.read_structure_years([first, twin])
    bad = tmp_path / "structures_bad.yml"
    bad.write_text("layout: x\ncolumns:\n  practice_code: A\n  pcn_code: A\n")
    with pytest.raises(ConfigError, match="both name 'A'"):
        st.read_mapping(bad)
    bad.write_text("layout: x\ncolumns:\n  practice_code: A\n  pcn_cod: B\n")
    with pytest.raises(
        ConfigError, match=r"structures_bad.yml:4: columns: unknown key\(s\) pcn_cod"
    ):
        st.read_mapping(bad)


def test_membership_rules():
    practices = st.read_structure_years(st.stored_files()[:2]).practices
    fixed = st.membership_table(practices, [2017, 2019, 2020], 2020)
    own = st.membership_table(practices, [2017, 2019, 2020], None)
    in_2020 = practices[(practices["year"] == 2020) & practices["in_pcn"]]
    assert len(fixed) == 3 * len(in_2020)
    assert set(own["year"]) == {2019, 2020}  # no file for 2017: no members under "own"
    with pytest.raises(ValueError, match="parameter 'membership_year': 2017 has no mapping"):
        st.membership_table(practices, [2019], 2017)


# --------------------------------------------------------------------------- CVD groups


def _csv_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(path.read_bytes()).decode("utf-8"))))


def test_cvd_groups_load_long_with_what_was_set_aside():
    raw = _csv_rows(CVD_TABLE)
    groups = wt.read_wide_table(CVD_TABLE, CVD_MAPPING)
    wt.WIDE_VALUES_SCHEMA.validate(groups.values)
    values = groups.values.dropna(subset=["value"])
    for group in ("AF", "HYP", "CHOL"):
        column = f"Achievement_{group}"
        expected = [float(r[column]) for r in raw if r[column] != "NA"]
        got = values.loc[values["indicator_id"] == group, "value"]
        assert len(got) == len(expected) and got.sum() == pytest.approx(sum(expected), rel=1e-12)
        sizes = [r[f"List.Size_{group}"] for r in raw if r[column] != "NA"]
        listed = values.loc[values["indicator_id"] == group, "list_size"]
        assert listed.sum() == sum(float(x) for x in sizes if x != "NA")
        assert listed.isna().sum() == sizes.count("NA")
    assert "LVSD" not in set(values["indicator_id"])  # no achievement published for LVSD
    aside = groups.set_aside.set_index("column")
    assert aside.loc["Achievement_LVSD", "rows"] == 6267
    assert {"Prevalence_BP", "Prevalence_CHOL", "List.Size_LVSD"} <= set(aside.index)
    assert groups.set_aside.iloc[0]["reason"].endswith("(line(s) 6269)")
    assert values["unit"].nunique() == 6267 and groups.year == 2023


def _cvd_file(tmp_path: Path, rows: list[str]) -> Path:
    header = '"","Practice.Code","Achievement_AF","Prevalence_AF","List.Size_AF"'
    path = tmp_path / "groups.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    mapping = tmp_path / "wide_test.yml"
    mapping.write_text(
        "level: practice\nunit: Practice.Code\nyear: 2023\nignore_columns: ['']\n"
        "indicators:\n  - {columns: 'Achievement_{id}', ids: [AF], domain: achievement,\n"
        "     distribution: continuous, scale: percent, prevalence: 'Prevalence_{id}',\n"
        "     list_size: 'List.Size_{id}'}\n"
    )
    return path


def test_cvd_bad_cells_are_reported_together(tmp_path):
    path = _cvd_file(
        tmp_path,
        ['"1","A84006",101,2,100', '"2","A84006",50,x,100', '"3","Z",50,2,10.5'],
    )
    with pytest.raises(DataError) as err:
        wt.read_wide_table(path, tmp_path / "wide_test.yml")
    message = str(err.value)
    assert message.startswith(f"{path}: 5 problem(s):")
    assert "column 'Achievement_AF': not in [0, 100] (percent) on line(s) 2" in message
    assert "column 'Prevalence_AF': not a number on line(s) 3" in message
    assert "column 'List.Size_AF': not a whole number >= 0 on line(s) 4" in message
    assert "malformed practice code on line(s) 4" in message
    assert "practice code listed twice on line(s) 2, 3" in message


def test_cvd_mapping_errors_name_file_line_and_key(tmp_path):
    _cvd_file(tmp_path, ['"1","A84006",100,2,100'])
    mapping = tmp_path / "wide_test.yml"
    mapping.write_text(mapping.read_text().replace("year: 2023", "year: 20x"))
    with pytest.raises(ConfigError, match=r"wide_test.yml:3: year: expected integer"):
        wt.read_mapping(mapping)
    path = _cvd_file(tmp_path, ['"1","A84006",100,2,100'])
    text = path.read_text().replace('"List.Size_AF"', '"List.Size_AF","Extra"')
    path.write_text(text.replace(",100\n", ",100,1\n"))
    with pytest.raises(DataError, match=r"line 1: column\(s\) \['Extra'\] are not in wide"):
        wt.read_wide_table(path, tmp_path / "wide_test.yml")


# --------------------------------------------------------------------------- PCN table


def test_pcn_table_loads_every_indicator_and_derives_england():
    raw = _csv_rows(PCN_TABLE)
    table = wt.read_wide_table(PCN_TABLE, PCN_MAPPING)
    wt.WIDE_VALUES_SCHEMA.validate(table.values)
    catalogue = table.catalogue.set_index("indicator_id")
    assert (catalogue["domain"] == "achievement").sum() == 49
    assert (catalogue["domain"] == "prevalence").sum() == 21
    assert table.units["unit"].nunique() == 1264
    assert set(table.units.loc[table.units["excluded"], "unit"]) == {"U"}
    values = real_levels.approximate_denominators(table)
    england = real_levels.england_from_table(values).set_index("indicator_id")
    england = england["numerator"] / england["denominator"]
    # England prevalence of AF recomputed from the published bytes: sum(prev * pop) / sum(pop)
    pop = [float(r["POPN_PERSON"]) for r in raw]
    prev = [float(r["QOF_PREV_AF"]) for r in raw]
    expected = sum(a * b for a, b in zip(prev, pop, strict=True)) / sum(pop)
    assert england["AF"] == pytest.approx(expected, rel=1e-12)
    # achievement AF006: weighted by the AF register, prevalence x population
    rows = [r for r in raw if r["QOF_ACHV_AF006"] != "NA"]
    weights = [float(r["QOF_PREV_AF"]) * float(r["POPN_PERSON"]) for r in rows]
    achieved = [float(r["QOF_ACHV_AF006"]) for r in rows]
    expected = sum(a * w for a, w in zip(achieved, weights, strict=True)) / sum(weights)
    assert england["AF006"] == pytest.approx(expected, rel=1e-12)
    assert values.query("indicator_id == 'AF006'")["value"].notna().sum() == 1262


def test_pcn_table_bad_cells(tmp_path):
    text = gzip.decompress(PCN_TABLE.read_bytes()).decode("utf-8").splitlines()
    header = text[0].split(",")
    column = header.index("QOF_ACHV_AF006")
    row = text[2].split(",")
    row[column] = "1.5"
    twin = text[3]
    path = tmp_path / "pcn.csv"
    path.write_text("\n".join([text[0], text[1], ",".join(row), twin, twin]) + "\n")
    with pytest.raises(DataError) as err:
        wt.read_wide_table(path, PCN_MAPPING)
    message = str(err.value)
    assert message.startswith(f"{path}: 2 problem(s):")
    assert "column 'QOF_ACHV_AF006': not in [0, 1] (proportion) on line(s) 3" in message
    assert "column 'PCN_CODE': organisation code listed twice on line(s) 4, 5" in message
