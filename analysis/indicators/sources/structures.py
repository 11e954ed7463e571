"""Loader: the official practice -> PCN -> sub-ICB -> ICB -> region mapping, any year, by layout.

NHS Digital publishes with each year's QOF release a geography mapping
(``MAPPING_NHS_GEOGRAPHIES_<yy><yy>.csv``): one row per practice with its primary care network
(PCN), its CCG or sub-ICB location, its STP or ICB and its region. The compendium ships the
five years 2019-20 to 2023-24 as converted to Parquet by a third party (the
wylie102/QOF-visualisation repository; see the data page). Column names change across years
(``CCG_*`` to ``SUB_ICB_LOC_*`` to ``SUB_ICB_*``, ``STP_*`` to ``ICB_*``), so each layout has one
small mapping file, ``data/indicators/mappings/structures_*.yml``, checked against
:data:`MAPPING_SCHEMA` by :func:`analysis.configschema.load_config`; a file is matched to the one
mapping whose columns are all in its schema and its year is read from the file name. Next
year's file is taken by a mapping file only (or none, when its layout is one already mapped).

:func:`read_structures` returns one row per practice (:data:`FIELDS`, ``year``, ``row``);
:func:`read_structure_years` stacks several years and refuses two files of one year.
Every problem of a file is reported together, each naming the file, the row and the column.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.commandline import CommandParser
from analysis.configschema import distinct_values, load_config
from analysis.core.datasets import DataError
from analysis.indicators.sources import layouts, tablefiles
from analysis.indicators.sources.layouts import PRACTICE_CODE, mappings_dir
from analysis.indicators.sources.panel import indicators_dir
from analysis.paths import path_argument

FIELDS = (
    "practice_code",
    "practice_name",
    "pcn_code",
    "pcn_name",
    "sub_icb_code",
    "icb_code",
    "region_code",
)
REQUIRED_FIELDS = ("practice_code", "pcn_code")
DEFAULT_YEAR_PATTERN = r"(?P<year>\d{4})_\d{4}"

STRUCTURES_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, pa.Check.str_matches(PRACTICE_CODE)),
        "practice_name": pa.Column(str, nullable=True),
        "pcn_code": pa.Column(str),
        "pcn_name": pa.Column(str, nullable=True),
        "sub_icb_code": pa.Column(str, nullable=True),
        "icb_code": pa.Column(str, nullable=True),
        "region_code": pa.Column(str, nullable=True),
        "year": pa.Column("int64", pa.Check.in_range(1990, 2100)),
        "in_pcn": pa.Column(bool),
    },
    strict=False,
)
"""What :func:`read_structures` returns for every layout (one row per practice)."""

MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["layout", "columns"],
    "properties": {
        "layout": {"type": "string", "minLength": 1},
        "year": {"type": "integer", "minimum": 1990, "maximum": 2100},
        "year_from_filename": {"type": "string", "patternGroups": ["year"]},
        "practice_code_pattern": {"type": "string", "patternGroups": []},
        "no_organisation": {"type": "array", "items": {"type": "string"}},
        "columns": {
            "type": "object",
            "additionalProperties": False,
            "required": list(REQUIRED_FIELDS),
            "properties": {name: {"type": "string", "minLength": 1} for name in FIELDS},
        },
    },
}
"""JSON Schema of a structures mapping file (checked before any file is read)."""


@dataclass(frozen=True)
class StructureMapping:
    """One layout of the geography mapping: which column holds each field."""

    path: Path
    layout: str
    columns: dict[str, str]
    year: int | None = None
    year_from_filename: str = DEFAULT_YEAR_PATTERN
    practice_code_pattern: str = PRACTICE_CODE
    no_organisation: tuple[str, ...] = ("U",)


def mapping_files(folder: str | os.PathLike | None = None) -> list[Path]:
    """Every ``structures_*.yml`` mapping, sorted by name."""
    return layouts.mapping_files("structures_*.yml", folder or mappings_dir())


def read_mapping(path: str | os.PathLike) -> StructureMapping:
    """Read one mapping file, checked against :data:`MAPPING_SCHEMA`.

    Raises
    ------
    analysis.configschema.ConfigError
        One line naming the file, the line and the key.
    """
    path = Path(path)
    doc = load_config(path, MAPPING_SCHEMA)
    distinct_values(doc["columns"], path, "columns")
    pattern = doc.get("year_from_filename", DEFAULT_YEAR_PATTERN)
    return StructureMapping(
        path=path,
        layout=doc["layout"],
        columns=dict(doc["columns"]),
        year=doc.get("year"),
        year_from_filename=pattern,
        practice_code_pattern=doc.get("practice_code_pattern", PRACTICE_CODE),
        no_organisation=tuple(doc.get("no_organisation", ["U"])),
    )


def choose_mapping(
    path: str | os.PathLike, mappings: Sequence[StructureMapping] | None = None
) -> StructureMapping:
    """The one mapping whose columns are all in the file; an error lists what each missed."""
    mappings = [read_mapping(p) for p in mapping_files()] if mappings is None else mappings
    return layouts.choose_layout(
        path, tablefiles.parquet_header(path), mappings, lambda m: list(m.columns.values()),
        kind="structures",
        hint="add data/indicators/mappings/structures_<layout>.yml naming its columns",
    )  # fmt: skip


def file_year(path: str | os.PathLike, mapping: StructureMapping) -> int:
    """The financial year (its first calendar year) of a file: the mapping's or its name's."""
    return layouts.year_from_name(
        path, mapping.year, mapping.year_from_filename, mapping.path,
        example="structures_2024_2025.parquet",
    )  # fmt: skip


def read_structures(
    path: str | os.PathLike, mapping: str | os.PathLike | StructureMapping | None = None
) -> pd.DataFrame:
    """One year's geography mapping: one row per practice.

    Parameters
    ----------
    path
        The Parquet file.
    mapping
        A mapping file or :class:`StructureMapping`; default the one stored mapping whose
        columns are all in the file.

    Returns
    -------
    pandas.DataFrame
        :data:`FIELDS` (fields a layout lacks are missing), ``year``, ``in_pcn`` (False where
        the PCN code is one of the mapping's ``no_organisation`` codes, ``U``: not allocated),
        ``layout`` and ``row`` (1-based row of the file).

    Raises
    ------
    DataError
        Every problem together, each naming the file, rows and column: not Parquet, a layout
        no mapping fits, a malformed, missing or duplicated practice code (one practice in
        two PCNs), a missing PCN code, or no year in the file name.
    """
    path = Path(path)
    if mapping is None:
        mapping = choose_mapping(path)
    elif not isinstance(mapping, StructureMapping):
        mapping = read_mapping(mapping)
    header = tablefiles.parquet_header(path)
    absent = [c for c in mapping.columns.values() if c not in header]
    if absent:
        raise DataError(f"{mapping.path}: names column(s) {absent} that {path} lacks ({header})")
    year = file_year(path, mapping)
    raw = tablefiles.read_parquet(path, list(mapping.columns.values())).reset_index(drop=True)
    if raw.empty:
        raise DataError(f"{path}: no rows; expected one row per practice of {year}")
    out = pd.DataFrame(index=raw.index)
    problems = []
    for field, column in mapping.columns.items():
        values = raw[column]
        text = values.astype("string").str.strip()
        # pandas counts an object column as text only when it holds strings (not bytes)
        if not pd.api.types.is_string_dtype(values):
            problems.append(f"column {column!r}: type {values.dtype}, expected text")
        out[field] = text.where(text.ne("")).astype(object).where(text.notna(), None)
    problems += layouts.code_problems(
        out["practice_code"], mapping.columns["practice_code"],
        pattern=mapping.practice_code_pattern, what="practice code",
        twice="practice listed twice (in two PCNs or repeated)", rows=True,
    )  # fmt: skip
    no_pcn = out["pcn_code"].isna()
    if no_pcn.any():
        problems.append(
            f"column {mapping.columns['pcn_code']!r}: missing PCN code on "
            f"{layouts.where(no_pcn, rows=True)} (practices in no PCN carry a code such as "
            f"{list(mapping.no_organisation)})"
        )
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
    for field in FIELDS:
        if field not in out:
            out[field] = None
    out = out[list(FIELDS)]
    out["year"] = np.int64(year)
    out["in_pcn"] = ~out["pcn_code"].isin(list(mapping.no_organisation))
    out["layout"] = mapping.path.name
    out["row"] = out.index.to_numpy() + 1
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class StructureYears:
    """Several years of the geography mapping, stacked.

    Attributes
    ----------
    practices
        :func:`read_structures` rows of every file, by year and practice.
    files
        One row per file: ``file``, ``year``, ``layout``, ``practices``, ``pcns`` (codes,
        ``U`` excluded), ``not_in_pcn`` (practices with a no-PCN code).
    """

    practices: pd.DataFrame
    files: pd.DataFrame


def read_structure_years(
    paths: Sequence[str | os.PathLike], mappings: Sequence[StructureMapping] | None = None
) -> StructureYears:
    """Read several yearly mapping files, each matched to its layout.

    Raises
    ------
    DataError
        As :func:`read_structures`; also two files of one year (naming both).
    """
    if not paths:
        raise DataError("no structures files given; expected structures_<year>_<year>.parquet")
    frames, files = [], []
    for path in paths:
        frame = read_structures(path, choose_mapping(path, mappings))
        frames.append(frame)
        files.append(
            {
                "file": Path(path).name,
                "year": int(frame["year"].iloc[0]),
                "layout": frame["layout"].iloc[0],
                "practices": len(frame),
                "pcns": int(frame.loc[frame["in_pcn"], "pcn_code"].nunique()),
                "not_in_pcn": int((~frame["in_pcn"]).sum()),
            }
        )
    table = pd.DataFrame(files)
    twice = table["year"].duplicated(keep=False)
    if twice.any():
        raise DataError(f"two structures files for one year: {table.loc[twice, 'file'].tolist()}")
    practices = pd.concat(frames).sort_values(["year", "practice_code"], ignore_index=True)
    return StructureYears(practices, table.sort_values("year", ignore_index=True))


def stored_files() -> list[Path]:
    """The shipped REAL mapping files, ``data/indicators/real/membership/*.parquet``, by year."""
    return sorted((indicators_dir() / "real" / "membership").glob("structures_*.parquet"))


def membership_table(
    structures: pd.DataFrame, years: Sequence[int], rule: int | None
) -> pd.DataFrame:
    """Practice-year membership in PCNs for ``years`` under one rule.

    Parameters
    ----------
    structures
        :attr:`StructureYears.practices`.
    years
        The years of the outcome data to place practices in.
    rule
        A year: that year's PCN for the same practice code in every year (fixed membership).
        ``None``: each year's own PCN (years without a mapping file have no members).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``year``, ``organisation_id`` for every practice in a PCN.
    """
    members = structures.loc[structures["in_pcn"], ["practice_code", "year", "pcn_code"]]
    members = members.rename(columns={"pcn_code": "organisation_id"})
    if rule is None:
        return members[members["year"].isin(list(years))].reset_index(drop=True)
    known = sorted(int(y) for y in structures["year"].unique())
    if int(rule) not in known:
        raise ValueError(f"parameter 'membership_year': {rule} has no mapping file; files: {known}")
    fixed = members[members["year"] == int(rule)].drop(columns="year")
    grid = pd.DataFrame({"year": list(years)}).merge(fixed, how="cross")
    return grid[["practice_code", "year", "organisation_id"]]


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.indicators.sources.structures FOLDER_OR_FILE ...``: read every mapping
    file (each matched to its layout) and print the practices and PCNs of each year and what
    changed between consecutive years; a bad file stops with one line naming it."""

    from analysis.indicators.sources import turnover

    parser = CommandParser("analysis.indicators.sources.structures", description=main.__doc__)
    parser.add_argument(
        "paths",
        nargs="+",
        type=path_argument,
        help="structures_<year>_<year>.parquet files or folders",
    )
    args = parser.parse_args(argv)
    files: list[Path] = []
    for given in args.paths:
        found = sorted(given.glob("*.parquet")) if given.is_dir() else [given]
        if not found:
            raise DataError(f"{given}: no .parquet files in the folder")
        files += found
    years = read_structure_years(files)
    print(years.files.to_string(index=False))
    if len(years.files) > 1:
        print()
        columns = ["period", "changed_pcn", "closed", "opened", "pcns_formed", "pcns_closed"]
        print(turnover.transitions(years.practices)[columns].to_string(index=False))
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
