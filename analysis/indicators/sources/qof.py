"""Loader: NHS Digital QOF practice achievement summaries, any year, by column mapping.

Each published layout of the practice achievement summary has one small mapping file,
``data/indicators/mappings/qof_*.yml``, saying which column holds each field (practice code,
list size, points achieved, points available), which columns are parent codes (PCN, CCG, ...),
the year's maximum points, the cells published as not available (``":"``) and how the
financial year is read from the file name. :func:`read_qof` finds the mapping whose columns
are all in the file's header (or takes the one given) and returns one row per practice.

A new year's file with a new layout is taken by copying the nearest mapping file, changing
the column titles and ``max_points``: no code changes. A file that matches no mapping is
refused with the columns found and, for each mapping tried, the columns it missed.

Points are not counts of independent events, so nothing here treats them as binomial:
the analysis (:mod:`analysis.indicators.networks.achievement`) takes each practice's percentage of
its available points as a continuous outcome.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.configschema import ConfigError, distinct_values, load_config
from analysis.core.datasets import DataError
from analysis.indicators.sources import layouts, tablefiles
from analysis.indicators.sources.layouts import PRACTICE_CODE, mappings_dir
from analysis.indicators.sources.panel import indicators_dir

FIELDS = ("practice_code", "practice_name", "list_size", "points_achieved", "points_available")
NUMERIC_FIELDS = ("list_size", "points_achieved", "points_available")

QOF_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, pa.Check.str_matches(PRACTICE_CODE)),
        "year": pa.Column("int64", pa.Check.in_range(1990, 2100)),
        "list_size": pa.Column("float64", pa.Check.ge(0)),
        "points_achieved": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "points_available": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "max_points": pa.Column("float64", pa.Check.gt(0)),
    }
)
"""What :func:`read_qof` returns for every published layout (plus the layout's group columns)."""


def mapping_files(folder: str | os.PathLike | None = None) -> list[Path]:
    """Every ``qof_*.yml`` mapping, sorted by name."""
    return layouts.mapping_files("qof_*.yml", folder or mappings_dir())


@dataclass(frozen=True)
class Mapping:
    """One QOF layout: which column holds each field."""

    path: Path
    layout: str
    max_points: float
    columns: dict[str, str]
    groups: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = (":",)
    year: int | None = None
    year_from_filename: str = r"(?P<year>\d{4})-\d{2}"
    practice_code_pattern: str = PRACTICE_CODE

    def needed(self) -> list[str]:
        """Every column the layout names."""
        return [*self.columns.values(), *self.groups.values()]


MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["layout", "max_points", "columns"],
    "properties": {
        "layout": {"type": "string", "minLength": 1},
        "max_points": {"type": "number", "exclusiveMinimum": 0},
        "missing": {"type": "array", "items": {"type": "string"}},
        "year": {"type": ["integer", "null"], "minimum": 1990, "maximum": 2100},
        "year_from_filename": {"type": "string", "patternGroups": ["year"]},
        "practice_code_pattern": {"type": "string", "patternGroups": []},
        "columns": {
            "type": "object",
            "additionalProperties": False,
            "required": list(FIELDS),
            "properties": {name: {"type": "string", "minLength": 1} for name in FIELDS},
        },
        "groups": {
            "type": ["object", "null"],
            "propertyNames": {"pattern": "^[a-z][a-z0-9_]*$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    },
}
"""What a QOF layout mapping file may say (checked by :func:`analysis.configschema.load_config`)."""


def read_mapping(path: str | os.PathLike) -> Mapping:
    """Read and check one mapping file against :data:`MAPPING_SCHEMA`: allowed keys, types,
    a finite positive ``max_points``, patterns RE2 can run, and each column in one role
    only; errors name the file, line and key."""
    path = Path(path)
    try:
        doc = load_config(path, MAPPING_SCHEMA)
        groups = doc.get("groups") or {}
        roles = {f"columns.{k}": v for k, v in doc["columns"].items()}
        distinct_values(roles | {f"groups.{k}": v for k, v in groups.items()}, path, "")
    except ConfigError as err:
        raise DataError(str(err)) from None
    return Mapping(
        path=path,
        layout=doc["layout"],
        max_points=float(doc["max_points"]),
        columns=dict(doc["columns"]),
        groups=dict(groups),
        missing=tuple(doc.get("missing", [":"])),
        year=doc.get("year"),
        year_from_filename=doc.get("year_from_filename", Mapping.year_from_filename),
        practice_code_pattern=doc.get("practice_code_pattern", PRACTICE_CODE),
    )


def read_header(path: str | os.PathLike) -> list[str]:
    """The header of a CSV or gzip-compressed CSV (a UTF-8 BOM is dropped)."""
    return tablefiles.header(path)


def choose_mapping(path: str | os.PathLike, mappings: Sequence[Mapping] | None = None) -> Mapping:
    """The one mapping whose columns are all in the file's header.

    Raises
    ------
    DataError
        No mapping matches (listing the columns found and, per mapping, what it missed), or
        more than one does.
    """
    mappings = [read_mapping(p) for p in mapping_files()] if mappings is None else mappings
    return layouts.choose_layout(
        path, read_header(path), mappings, Mapping.needed, kind="QOF",
        hint=f"add a mapping file qof_<year>.yml to {mappings_dir()} naming this file's columns",
    )  # fmt: skip


def file_year(path: str | os.PathLike, mapping: Mapping) -> int:
    """The financial year (its first calendar year) of a file, from the mapping or its name."""
    return layouts.year_from_name(
        path, mapping.year, mapping.year_from_filename, mapping.path, example="QOF 2019-20.csv"
    )


def _numbers(frame: pd.DataFrame, mapping: Mapping) -> tuple[dict, list[str]]:
    problems, out = [], {}
    for key in NUMERIC_FIELDS:
        column = mapping.columns[key]
        text = frame[column].str.strip()
        blank = text.isin(mapping.missing) if key != "list_size" else pd.Series(False, frame.index)
        values = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = values.isna() & ~blank
        if bad.any():
            shown = frame.loc[bad, column].head(3).tolist()
            problems.append(
                f"column {column!r}: not a number on {layouts.where(bad)} (values {shown})"
            )
        negative = values < 0
        if negative.any():
            problems.append(f"column {column!r}: negative on {layouts.where(negative)}")
        if key != "list_size":
            above = values > mapping.max_points
            if above.any():
                problems.append(
                    f"column {column!r}: above the year's maximum {mapping.max_points:g} points "
                    f"on {layouts.where(above)}"
                )
        out[key] = values
    return out, problems


def read_qof(
    path: str | os.PathLike, mapping: str | os.PathLike | Mapping | None = None
) -> pd.DataFrame:
    """Read one QOF practice achievement summary into one row per practice.

    Parameters
    ----------
    path
        The published CSV (or ``.csv.gz``).
    mapping
        A mapping file or :class:`Mapping`; default the one stored mapping whose columns are
        all in the header.

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``practice_name``, ``year``, ``list_size``, ``points_achieved``,
        ``points_available`` (NaN where published as not available), ``max_points``, one
        column per group of the layout (``pcn``, ``ccg``, ...), ``layout`` and ``line`` (the
        line of the file).

    Raises
    ------
    DataError
        Naming file, line and column: a layout that matches no mapping, a mapping naming a
        column the file lacks, a malformed or duplicated practice code, points that are not
        numbers, negative or above the year's maximum, or a year the file name does not give.
    """
    path = Path(path)
    if mapping is None:
        mapping = choose_mapping(path)
    elif not isinstance(mapping, Mapping):
        mapping = read_mapping(mapping)
    header = read_header(path)
    absent = [c for c in mapping.needed() if c not in header]
    if absent:
        raise DataError(
            f"{mapping.path}: names column(s) {absent} that {path} does not have; "
            f"columns found {header}"
        )
    year = file_year(path, mapping)
    frame = layouts.read_text_table(path)
    name = str(path)
    if frame.empty:
        raise DataError(f"{name}: no data row below the header; expected one row per practice")
    codes = frame[mapping.columns["practice_code"]].str.strip()
    problems = layouts.code_problems(
        codes, mapping.columns["practice_code"], pattern=mapping.practice_code_pattern,
        what="practice code", twice="duplicated practice rows",
    )  # fmt: skip
    values, numeric_problems = _numbers(frame, mapping)
    problems += numeric_problems
    if problems:
        raise DataError(f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    out = pd.DataFrame(
        {
            "practice_code": codes,
            "practice_name": frame[mapping.columns["practice_name"]],
            "year": np.int64(year),
            **values,
            "max_points": mapping.max_points,
        }
    )
    for group, column in mapping.groups.items():
        out[group] = frame[column].str.strip()
    out["layout"] = mapping.path.name
    out["line"] = frame.index.to_numpy() + 2
    return out


@dataclass(frozen=True)
class QofYears:
    """Several years of QOF practice summaries, stacked.

    Attributes
    ----------
    practices
        :func:`read_qof` rows of every file (group columns a file lacks are empty).
    files
        One row per file: ``file``, ``year``, ``layout``, ``rows``, ``not_available``
        (practices whose points are published as not available), ``achieved_above_available``.
    """

    practices: pd.DataFrame
    files: pd.DataFrame


def read_qof_years(
    paths: Sequence[str | os.PathLike], mappings: Sequence[Mapping] | None = None
) -> QofYears:
    """Read several QOF files (one per year); each is matched to its layout's mapping.

    Raises
    ------
    DataError
        As :func:`read_qof`; also two files of the same year.
    """
    mappings = [read_mapping(p) for p in mapping_files()] if mappings is None else mappings
    frames, files = [], []
    for path in paths:
        frame = read_qof(path, choose_mapping(path, mappings))
        frames.append(frame)
        files.append(
            {
                "file": Path(path).name,
                "year": int(frame["year"].iloc[0]),
                "layout": frame["layout"].iloc[0],
                "rows": len(frame),
                "not_available": int(frame["points_available"].isna().sum()),
                "achieved_above_available": int(
                    (frame["points_achieved"] > frame["points_available"]).sum()
                ),
            }
        )
    table = pd.DataFrame(files)
    twice = table["year"].duplicated(keep=False)
    if twice.any():
        raise DataError(f"two files for the same year: {table.loc[twice, 'file'].tolist()}")
    practices = pd.concat(frames, ignore_index=True)
    return QofYears(practices.sort_values(["year", "practice_code"], ignore_index=True), table)


def stored_files() -> list[Path]:
    """The shipped REAL QOF summaries, ``data/indicators/real/qof/*.csv.gz``, by year."""
    return sorted((indicators_dir() / "real" / "qof").glob("qof_*.csv.gz"))
