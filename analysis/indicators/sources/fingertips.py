"""Adapter: Fingertips (National General Practice Profiles) long CSV exports to the tidy panel.

A Fingertips export has one row per indicator, area, sex, age, category and time period,
with the columns in :data:`FINGERTIPS_COLUMNS` plus one parent comparison column after
``Compared to England value or percentiles`` whose title varies between exports
(``Compared to CCGs value or percentiles``, ``Compared to percentiles``, ``Column not
used``...; any title is taken there) and, in some exports, ``Time period range``. Practice
rows have ``Area Type`` ``GPs`` (``GP`` in some exports; both by default); the file's own
England row is kept as the published national value.

The column-mapping file (``data/indicators/mappings/fingertips.yml``) says which column
holds each tidy field, which area types are practices and England, how a time period
becomes a financial year and which Fingertips indicator ids are which catalogue indicators.
Rows of indicators not in the mapping (named), of other area types (CCG, region), of other
sexes or ages than ``select`` asks (:data:`DEFAULT_SELECT`: Persons, all ages; a blank Sex
or Age, as in some practice rows, counts as the selected one; a mapping states e.g.
``Age: [16+ yrs]`` for an export without an all-ages row) and with a category breakdown
(no category by default) are set aside and counted; every other row must meet the tidy
contract (:mod:`analysis.indicators.sources.contract`), and an error names the export's lines. A
score indicator published without counts is refused with a message saying so, unless the
mapping says ``missing_counts: value`` (the ``Value`` column analysed as a continuous
measure, in :attr:`Extract.values`) or ``drop``.

Use ``python -m analysis.indicators.sources.fingertips EXPORT.csv --out FOLDER`` to write
``FOLDER/observations.csv`` (and ``england.csv``, and ``values.csv`` with the scores kept
without counts; an export with no practice row with counts is refused, writing nothing);
add ``membership.csv`` and
``organisations.csv`` there and point the notebook's ``data_source`` at the folder.
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.commandline import CommandParser
from analysis.configschema import ConfigError, distinct_values, load_config
from analysis.core.datasets import DataError, read_table, write_csv
from analysis.indicators.sources.contract import (
    DISTRIBUTIONS,
    OBSERVATION_COLUMNS,
    describe_lines,
    validate_observations,
)
from analysis.indicators.sources.panel import indicators_dir, read_catalogue, write_observations
from analysis.paths import path_argument
from analysis.patterns import ConfigPattern

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
REQUIRED = {"Area Code", "Area Type", "Time period"}
COUNT_POLICIES = ("error", "drop", "value")
DEFAULT_SELECT = {"Sex": ["Persons"], "Age": ["All ages"]}
"""Rows kept unless the mapping's ``select`` says otherwise for that column (``[]``: any)."""
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
    values
        With ``missing_counts: value``: ``practice_code``, ``year``, ``indicator_id``,
        ``value`` of practice rows without counts (a continuous measure, not a proportion).
    unmapped
        Indicator ids in the export that the mapping does not name.
    """

    observations: pd.DataFrame
    england: pd.DataFrame
    set_aside: dict[str, int]
    values: pd.DataFrame | None = None
    unmapped: tuple[str, ...] = ()


def parent_columns(header: list[str]) -> list[str]:
    """The parent comparison column(s): whatever follows the England comparison column
    (its title varies: ``Compared to percentiles``, ``Column not used``...) and any titled
    ``Compared to <parent> value or percentiles``."""
    england = "Compared to England value or percentiles"
    parents = [c for c in header if PARENT_COLUMN.match(c)]
    if england in header:
        position = header.index(england) + 1
        after = header[position] if position < len(header) else ""
        known = set(FINGERTIPS_COLUMNS) | set(OPTIONAL_COLUMNS)
        if after and after not in known and after not in parents:
            parents.insert(0, after)
    return parents


def export_schema(header: list[str]) -> pa.DataFrameSchema:
    """Schema of an export with this header (the parent comparison column found by place)."""
    parents = parent_columns(header)
    if len(parents) > 1:
        raise DataError(f"line 1: more than one parent comparison column {parents}")
    columns = {}
    for name in FINGERTIPS_COLUMNS + parents:
        kind = "float64" if name in NUMERIC else str
        columns[name] = pa.Column(kind, nullable=name not in REQUIRED, coerce=name in NUMERIC)
    return pa.DataFrameSchema(columns)


EXPORT_SCHEMA = export_schema([])
"""The fixed columns of every export (the parent comparison column varies; see above)."""


_TEXT = {"type": "string", "minLength": 1}
_TEXTS = {"type": "array", "items": _TEXT}
_INDICATOR = {
    "oneOf": [
        _TEXT,
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["indicator_id"],
            "properties": {
                "indicator_id": _TEXT,
                "name": _TEXT,
                "distribution": {"enum": list(DISTRIBUTIONS)},
                "domain": _TEXT,
                "higher_is_better": {"type": ["boolean", "null"]},
            },
        },
    ]
}
MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["columns", "indicators"],
    "properties": {
        "source": {"type": "string"},
        "columns": {
            "type": "object",
            "additionalProperties": False,
            "required": list(ROLES),
            "properties": {role: _TEXT for role in ROLES},
        },
        "practice_area_type": {"oneOf": [_TEXT, {**_TEXTS, "minItems": 1}]},
        "national_area_type": _TEXT,
        "period_pattern": {"type": "string", "patternGroups": ["year"]},
        "keep_empty": _TEXTS,
        "missing_counts": {"enum": list(COUNT_POLICIES)},
        "indicators": {"type": "object", "additionalProperties": _INDICATOR},
        # a column's selected values: one text or a flat list of texts (none nested)
        "select": {
            "type": ["object", "null"],
            "additionalProperties": {"oneOf": [_TEXT, _TEXTS]},
        },
    },
}
"""What a Fingertips column-mapping file may say (checked by
:func:`analysis.configschema.load_config`)."""


def read_mapping(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read and check a column-mapping file against :data:`MAPPING_SCHEMA`: allowed keys and
    types, a period pattern RE2 can run, each export column in one role only; errors name the
    file, line and key."""
    path = Path(path or mapping_path())
    try:
        doc = load_config(path, MAPPING_SCHEMA)
        distinct_values(doc["columns"], path, "columns")
    except ConfigError as err:
        raise DataError(str(err)) from None
    if not doc["indicators"]:
        raise DataError(
            f"{path}: 'indicators' is empty; map each Fingertips Indicator ID to a catalogue "
            "indicator_id (e.g. '12345: SAT01')"
        )
    area = doc.get("practice_area_type", ["GPs", "GP"])
    select = doc.get("select") or {}
    return {
        "columns": doc["columns"],
        "practice_area_type": [area] if isinstance(area, str) else list(area),
        "national_area_type": doc.get("national_area_type", "England"),
        "period_pattern": doc.get("period_pattern", r"^(?P<year>\d{4})(?:/\d{2})?$"),
        "keep_empty": list(doc.get("keep_empty", ["Category Type"])),
        "missing_counts": doc.get("missing_counts", "error"),
        "indicators": {
            str(key): {"indicator_id": value} if isinstance(value, str) else dict(value)
            for key, value in doc["indicators"].items()
        },
        "select": DEFAULT_SELECT
        | {str(k): vs if isinstance(vs, list) else [vs] for k, vs in select.items()},
    }


def read_export(path: str | os.PathLike) -> pd.DataFrame:
    """Read a Fingertips long CSV export, validated (errors name file, line and column)."""
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({err})") from None
    try:
        schema = export_schema(header)
    except DataError as err:
        raise DataError(f"{path}: {err}") from None
    return read_table(path, schema, optional=OPTIONAL_COLUMNS)


def _years(periods: pd.Series, pattern: str, name: str) -> pd.Series:
    # A missing period has no four-digit year whether astype(str) keeps it missing or not.
    extracted = ConfigPattern(pattern, ["year"]).extract(periods.astype(str), "year")
    parsed = pd.Series(extracted, index=periods.index)
    bad = ~parsed.str.fullmatch(r"\d{4}", na=False)
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
        ids = sorted(rows.loc[missing, cols["indicator"]].astype(str).unique())
        raise DataError(
            f"{name}: missing counts ({cols['numerator']!r} or {cols['denominator']!r}) on "
            f"{describe_lines(rows, missing)} (indicator(s) {ids}); a score indicator "
            "published without counts cannot be analysed as a proportion: set "
            "'missing_counts: value' in the mapping to analyse 'Value' as a continuous "
            "measure, or 'missing_counts: drop' to leave these rows out (Fingertips also "
            "suppresses small counts)"
        )
    return missing


def indicator_catalogue(mapping: dict[str, Any], catalogue: pd.DataFrame) -> pd.DataFrame:
    """The catalogue plus indicators the mapping declares itself (any years, no direction)."""
    declared = [e for e in mapping["indicators"].values() if len(e) > 1]
    if not declared:
        return catalogue
    extra = pd.DataFrame(
        {
            "indicator_id": [e["indicator_id"] for e in declared],
            "name": [e.get("name", e["indicator_id"]) for e in declared],
            "domain": [e.get("domain", "declared") for e in declared],
            "distribution": [e.get("distribution", "binomial") for e in declared],
            "higher_is_better": [e.get("higher_is_better") for e in declared],
            "years_available": "1900-2100",
        }
    )
    clash = sorted(set(extra["indicator_id"]) & set(catalogue["indicator_id"]))
    if clash:
        raise DataError(f"mapping declares indicator id(s) {clash} already in the catalogue")
    return pd.concat([catalogue, extra], ignore_index=True)


def _indicator_ids(export: pd.DataFrame, mapping: dict[str, Any]) -> pd.Series:
    """Indicator ids as text; a blank id (as in rows some exports append) is taken from a
    declared indicator whose ``name`` equals the row's ``Indicator Name``."""
    raw = export[mapping["columns"]["indicator"]]
    ids = raw.astype("string").str.replace(r"\.0$", "", regex=True)
    names = {e["name"]: k for k, e in mapping["indicators"].items() if "name" in e}
    if names and "Indicator Name" in export.columns:
        ids = ids.fillna(export["Indicator Name"].map(names).astype("string"))
    return ids.fillna("").astype(str)


def _selected(export: pd.DataFrame, select: dict[str, list[str]], name: str) -> pd.Series:
    keep = pd.Series(True, index=export.index)
    for column, values in select.items():
        if column not in export.columns:
            raise DataError(f"{name}: line 1: 'select' names column {column!r}, not in the export")
        if values:
            cell = export[column].fillna("")
            keep &= cell.isin(values) | cell.eq("")
    return keep


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
        The indicator catalogue; mapped indicator ids must be in it (or declared in the
        mapping, see :func:`indicator_catalogue`).
    name
        File name for messages.

    Raises
    ------
    DataError
        Mapped ids not in the catalogue; no practice rows after filtering (naming the area
        types and ids found); unparsable periods, missing, negative or inconsistent counts,
        duplicates and years outside the data, naming the lines.
    """
    cols = mapping["columns"]
    catalogue = indicator_catalogue(mapping, catalogue)
    targets = {k: e["indicator_id"] for k, e in mapping["indicators"].items()}
    unknown = sorted(set(targets.values()) - set(catalogue["indicator_id"]))
    if unknown:
        raise DataError(f"{name}: mapping names indicator id(s) {unknown} not in the catalogue")
    ids = _indicator_ids(export, mapping)
    mapped = ids.isin(list(targets))
    unmapped = tuple(sorted(ids[~mapped].unique()))
    breakdown = export[mapping["keep_empty"]].notna().any(axis=1)
    chosen = _selected(export, mapping["select"], name)
    area = export[cols["area_type"]]
    is_practice = area.isin(mapping["practice_area_type"])
    is_national = area.eq(mapping["national_area_type"])
    usable = mapped & ~breakdown & chosen
    practice, national = usable & is_practice, usable & is_national
    set_aside = {
        "indicator not in mapping": int((~mapped).sum()),
        "category breakdown": int((mapped & breakdown).sum()),
        "other sex or age than selected": int((mapped & ~breakdown & ~chosen).sum()),
        "other area type": int((usable & ~is_practice & ~is_national).sum()),
    }
    candidates = mapped & ~breakdown & is_practice
    if candidates.any() and not (candidates & chosen).any():
        found = {c: sorted(export.loc[candidates, c].dropna().unique()) for c in mapping["select"]}
        raise DataError(
            f"{name}: 'select' {mapping['select']} keeps none of the {int(candidates.sum())} "
            f"practice rows of the mapped indicators, which have {found}; state the values "
            "in the mapping's 'select' (e.g. 'Age: [16+ yrs]')"
        )
    if not practice.any():
        raise DataError(
            f"{name}: no practice rows after filtering (Area Type in "
            f"{mapping['practice_area_type']}, indicator ids {sorted(targets)}, "
            f"select {mapping['select']}); the export has area types "
            f"{sorted(area.dropna().unique())[:12]} and indicator ids {sorted(ids.unique())[:12]}"
        )
    rows = export[practice]
    missing = _missing_counts(rows, mapping, name)
    kept = mapping["missing_counts"] == "value"
    set_aside[f"missing counts ({'kept as values' if kept else 'dropped'})"] = int(missing.sum())
    values = None
    if mapping["missing_counts"] == "value":
        scored = rows[missing]
        values = pd.DataFrame(
            {
                "practice_code": scored[cols["area_code"]],
                "year": _years(scored[cols["period"]], mapping["period_pattern"], name),
                "indicator_id": ids[scored.index].map(targets),
                "value": scored["Value"],
            },
        )
    rows = rows[~missing]
    tidy = pd.DataFrame(
        {
            "practice_code": rows[cols["area_code"]],
            "year": _years(rows[cols["period"]], mapping["period_pattern"], name),
            "indicator_id": ids[rows.index].map(targets),
            "numerator": rows[cols["numerator"]],
            "denominator": rows[cols["denominator"]],
        },
    )[OBSERVATION_COLUMNS]
    try:
        tidy = validate_observations(tidy, catalogue, name=name)
    except DataError as err:
        fields = ", ".join(f"{role} = {cols[role]!r}" for role in ("numerator", "denominator"))
        raise DataError(
            f"{err}\n  (tidy fields from export columns: {fields}, year from "
            f"{cols['period']!r}, practice_code from {cols['area_code']!r})"
        ) from None
    england = _england(export[national], targets, mapping, name)
    return Extract(tidy, england, set_aside, values, unmapped)


def _england(rows: pd.DataFrame, targets: dict, mapping: dict, name: str) -> pd.DataFrame:
    """The export's own England rows (the published national value), one per indicator-year.

    Exports repeat the England row (once with a blank parent, once under England); identical
    repeats are kept once, differing ones are an error.
    """
    cols = mapping["columns"]
    out = pd.DataFrame(
        {
            "year": _years(rows[cols["period"]], mapping["period_pattern"], name),
            "indicator_id": _indicator_ids(rows, mapping).map(targets),
            "numerator": rows[cols["numerator"]],
            "denominator": rows[cols["denominator"]],
            "value": rows["Value"],
        },
    ).drop_duplicates()
    clash = out.duplicated(["indicator_id", "year"], keep=False)
    if clash.any():
        raise DataError(
            f"{name}: England rows disagree for the same indicator and year on "
            f"{describe_lines(out, clash)}"
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


def write_catalogue(extract: Extract, mapping: dict[str, Any], path: Path) -> Path:
    """The catalogue rows of the extract's indicators (stored or declared by the mapping),
    beside the observations, so the folder is a panel on its own."""
    catalogue = indicator_catalogue(mapping, read_catalogue())
    rows = catalogue[catalogue["indicator_id"].isin(extract.observations["indicator_id"])]
    direction = rows["higher_is_better"].map({True: "true", False: "false"})
    return write_csv(rows.assign(higher_is_better=direction), path)


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        "analysis.indicators.sources.fingertips",
        description="Convert a Fingertips export to the tidy panel.",
    )
    parser.add_argument("export", type=path_argument)
    parser.add_argument("--mapping", type=path_argument)
    parser.add_argument("--out", type=path_argument, required=True)
    args = parser.parse_args(argv)
    try:
        mapping = read_mapping(args.mapping)
        extract = read_fingertips(args.export, mapping)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if extract.observations.empty:
        kept = 0 if extract.values is None else len(extract.values)
        why = f"; {kept} practice row(s) without counts were kept as values" if kept else ""
        print(
            f"error: {args.export}: no practice row with counts to convert{why}; the tidy "
            "panel needs counts (numerator and denominator), so nothing was written",
            file=sys.stderr,
        )
        return 2
    ordered = extract.observations.sort_values(["practice_code", "year", "indicator_id"])
    print(f"wrote {write_observations(ordered, args.out / 'observations.csv')}")
    print(f"wrote {write_csv(extract.england, args.out / 'england.csv')}")
    print(f"wrote {write_catalogue(extract, mapping, args.out / 'indicator_catalogue.csv')}")
    if extract.values is not None and not extract.values.empty:
        scored = extract.values.sort_values(["practice_code", "year", "indicator_id"])
        print(f"wrote {write_csv(scored, args.out / 'values.csv')} (scores without counts)")
    for reason, count in extract.set_aside.items():
        print(f"set aside: {count} row(s), {reason}")
    if extract.unmapped:
        print(f"indicator ids not in the mapping: {list(extract.unmapped)}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
