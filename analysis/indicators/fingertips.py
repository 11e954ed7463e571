"""Adapter: Fingertips (National General Practice Profiles) long CSV exports to the tidy panel.

A Fingertips export has one row per indicator, area, sex, age, category and time period,
with the columns in :data:`FINGERTIPS_COLUMNS` plus one parent comparison column whose name
depends on the parent area type (``Compared to CCGs value or percentiles``, ...) and, in
some exports, ``Time period range``. Practice rows have ``Area Type`` ``GPs``; the England
row is the national comparator.

The column-mapping file (``data/indicators/mappings/fingertips.yml``) says which column
holds each tidy field, which area types are practices and England, how a time period
becomes a financial year and which Fingertips indicator ids are which catalogue indicators.
Rows of indicators not in the mapping, of other area types (CCG, region) and with a
category breakdown are set aside; every other row must meet the tidy contract
(:mod:`analysis.indicators.contract`), and an error names the export's lines.

Use ``python -m analysis.indicators.fingertips EXPORT.csv --out FOLDER`` to write
``FOLDER/observations.csv`` (and ``england.csv``); add ``membership.csv`` and
``organisations.csv`` there and point the notebook's ``data_source`` at the folder.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from analysis.core.datasets import DataError, read_table, write_csv
from analysis.indicators.contract import (
    OBSERVATION_COLUMNS,
    describe_lines,
    validate_observations,
)
from analysis.indicators.panel import indicators_dir, read_catalogue, write_observations

FINGERTIPS_COLUMNS = [
    "Indicator ID",
    "Indicator Name",
    "Parent Code",
    "Parent Name",
    "Area Code",
    "Area Name",
    "Area Type",
    "Sex",
    "Age",
    "Category Type",
    "Category",
    "Time period",
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
    "Value note",
    "Recent Trend",
    "Compared to England value or percentiles",
    "Time period Sortable",
    "New data",
    "Compared to goal",
]
"""The fixed columns of the export (the parent comparison column is matched separately)."""

OPTIONAL_COLUMNS = ["Time period range"]
PARENT_COLUMN = re.compile(r"^Compared to (?!England |goal$).+ value or percentiles$")
NUMERIC = {
    "Value",
    "Lower CI 95.0 limit",
    "Upper CI 95.0 limit",
    "Lower CI 99.8 limit",
    "Upper CI 99.8 limit",
    "Count",
    "Denominator",
}
REQUIRED = {"Indicator ID", "Area Code", "Area Type", "Time period"}
MAPPING_KEYS = {
    "source",
    "columns",
    "practice_area_type",
    "national_area_type",
    "period_pattern",
    "keep_empty",
    "missing_counts",
    "indicators",
}
ROLES = ("indicator", "area_code", "area_type", "period", "numerator", "denominator")


def mapping_path() -> Path:
    """The stored mapping for Fingertips exports."""
    return indicators_dir() / "mappings" / "fingertips.yml"


@dataclass(frozen=True)
class Extract:
    """A Fingertips export in tidy form.

    Attributes
    ----------
    observations
        Practice rows in the tidy contract (index: 0-based data row of the export).
    england
        The England rows: ``year``, ``indicator_id``, ``numerator``, ``denominator``,
        ``value`` (the published value, in Fingertips' units).
    set_aside
        Rows not used, counted by reason.
    """

    observations: pd.DataFrame
    england: pd.DataFrame
    set_aside: dict[str, int]


def export_schema(header: list[str]) -> pa.DataFrameSchema:
    """Schema of an export with this header (the parent comparison column found by name)."""
    parents = [c for c in header if PARENT_COLUMN.match(c)]
    if len(parents) > 1:
        raise DataError(f"line 1: more than one parent comparison column {parents}")
    columns = {}
    for name in FINGERTIPS_COLUMNS + parents:
        kind = "float64" if name in NUMERIC else str
        columns[name] = pa.Column(kind, nullable=name not in REQUIRED, coerce=name in NUMERIC)
    return pa.DataFrameSchema(columns)


def read_mapping(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read and check a column-mapping file; errors name the file and the key."""
    path = Path(path or mapping_path())
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as err:
        raise DataError(f"{path}: cannot read the mapping ({err})") from None
    unknown = sorted(set(doc) - MAPPING_KEYS)
    missing = sorted({"columns", "indicators"} - set(doc))
    if unknown or missing:
        raise DataError(f"{path}: unknown key(s) {unknown}, missing key(s) {missing}")
    columns = doc["columns"] or {}
    if sorted(columns) != sorted(ROLES):
        raise DataError(f"{path}: 'columns' must map exactly {list(ROLES)}; got {sorted(columns)}")
    if not doc["indicators"]:
        raise DataError(
            f"{path}: 'indicators' is empty; map each Fingertips Indicator ID to a catalogue "
            "indicator_id (e.g. '12345: SAT01')"
        )
    mapping = {
        "columns": columns,
        "practice_area_type": doc.get("practice_area_type", "GPs"),
        "national_area_type": doc.get("national_area_type", "England"),
        "period_pattern": doc.get("period_pattern", r"^(?P<year>\d{4})(?:/\d{2})?$"),
        "keep_empty": list(doc.get("keep_empty", ["Category Type"])),
        "missing_counts": doc.get("missing_counts", "error"),
        "indicators": {str(k): str(v) for k, v in doc["indicators"].items()},
    }
    if mapping["missing_counts"] not in ("error", "drop"):
        raise DataError(f"{path}: missing_counts must be 'error' or 'drop'")
    if "year" not in re.compile(mapping["period_pattern"]).groupindex:
        raise DataError(f"{path}: period_pattern needs a named group (?P<year>...)")
    return mapping


def read_export(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Fingertips long CSV export, validated (errors name file, line and column)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({err})") from None
    try:
        schema = export_schema(header)
    except DataError as err:
        raise DataError(f"{path}: {err}") from None
    return read_table(path, schema, optional=OPTIONAL_COLUMNS)


def _years(periods: pd.Series, pattern: str, name: str) -> pd.Series:
    parsed = periods.str.extract(pattern)["year"]
    bad = parsed.isna()
    if bad.any():
        raise DataError(
            f"{name}: column 'Time period': not a year matching {pattern!r} on "
            f"{describe_lines(periods.to_frame(), bad)}"
        )
    return parsed.astype(np.int64)


def _missing_counts(rows: pd.DataFrame, mapping: dict, name: str) -> pd.Series:
    cols = mapping["columns"]
    missing = rows[cols["numerator"]].isna() | rows[cols["denominator"]].isna()
    if missing.any() and mapping["missing_counts"] == "error":
        raise DataError(
            f"{name}: missing counts ({cols['numerator']!r} or {cols['denominator']!r}) on "
            f"{describe_lines(rows, missing)}; Fingertips suppresses small counts: remove "
            "these rows or set 'missing_counts: drop' in the mapping"
        )
    return missing


def to_tidy(
    export: pd.DataFrame, mapping: dict[str, Any], catalogue: pd.DataFrame, name: str = "export"
) -> Extract:
    """Turn a validated export into tidy practice observations and England rows.

    Parameters
    ----------
    export
        From :func:`read_export` (index: 0-based data row, reported as line ``index + 2``).
    mapping
        From :func:`read_mapping`.
    catalogue
        The indicator catalogue; mapped indicator ids must be in it.
    name
        File name for messages.

    Raises
    ------
    DataError
        Mapped ids not in the catalogue; unparsable periods, missing, negative or
        inconsistent counts, duplicates and years outside the data, naming the lines.
    """
    cols = mapping["columns"]
    unknown = sorted(set(mapping["indicators"].values()) - set(catalogue["indicator_id"]))
    if unknown:
        raise DataError(f"{name}: mapping names indicator id(s) {unknown} not in the catalogue")
    ids = export[cols["indicator"]].astype(str)
    mapped = ids.isin(list(mapping["indicators"]))
    breakdown = export[mapping["keep_empty"]].notna().any(axis=1)
    area = export[cols["area_type"]]
    practice = mapped & ~breakdown & area.eq(mapping["practice_area_type"])
    national = mapped & ~breakdown & area.eq(mapping["national_area_type"])
    set_aside = {
        "indicator not in mapping": int((~mapped).sum()),
        "category breakdown": int((mapped & breakdown).sum()),
        "other area type": int((mapped & ~breakdown & ~practice & ~national).sum()),
    }
    rows = export[practice]
    missing = _missing_counts(rows, mapping, name)
    set_aside["missing counts (dropped)"] = int(missing.sum())
    rows = rows[~missing]
    tidy = pd.DataFrame(
        {
            "practice_code": rows[cols["area_code"]],
            "year": _years(rows[cols["period"]], mapping["period_pattern"], name),
            "indicator_id": ids[rows.index].map(mapping["indicators"]),
            "numerator": rows[cols["numerator"]],
            "denominator": rows[cols["denominator"]],
        },
        index=rows.index,
    )[OBSERVATION_COLUMNS]
    try:
        tidy = validate_observations(tidy, catalogue, name=name)
    except DataError as err:
        fields = ", ".join(f"{role} = {cols[role]!r}" for role in ("numerator", "denominator"))
        raise DataError(
            f"{err}\n  (tidy fields from export columns: {fields}, year from "
            f"{cols['period']!r}, practice_code from {cols['area_code']!r})"
        ) from None
    return Extract(tidy, _england(export[national], mapping, name), set_aside)


def _england(rows: pd.DataFrame, mapping: dict, name: str) -> pd.DataFrame:
    cols = mapping["columns"]
    out = pd.DataFrame(
        {
            "year": _years(rows[cols["period"]], mapping["period_pattern"], name),
            "indicator_id": rows[cols["indicator"]].astype(str).map(mapping["indicators"]),
            "numerator": rows[cols["numerator"]],
            "denominator": rows[cols["denominator"]],
            "value": rows["Value"],
        },
        index=rows.index,
    )
    return out.sort_values(["indicator_id", "year"], ignore_index=True)


def read_fingertips(
    path: str | os.PathLike,
    mapping: str | os.PathLike | dict | None = None,
    catalogue: pd.DataFrame | None = None,
) -> Extract:
    """Read a Fingertips export into tidy form (see :func:`to_tidy`)."""
    mapping = mapping if isinstance(mapping, dict) else read_mapping(mapping)
    catalogue = read_catalogue() if catalogue is None else catalogue
    return to_tidy(read_export(path), mapping, catalogue, name=str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Convert a Fingertips export to the tidy panel.")
    parser.add_argument("export", type=Path)
    parser.add_argument("--mapping", type=Path, default=None)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    extract = read_fingertips(args.export, args.mapping)
    ordered = extract.observations.sort_values(["practice_code", "year", "indicator_id"])
    print(f"wrote {write_observations(ordered, args.out / 'observations.csv')}")
    print(f"wrote {write_csv(extract.england, args.out / 'england.csv')}")
    for reason, count in extract.set_aside.items():
        print(f"set aside: {count} row(s), {reason}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
