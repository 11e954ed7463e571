"""Loader: practice-level QOF tables with one column per indicator group and measure, by mapping.

Some published derivatives of the QOF practice tables are wide: one row per practice and, for
each indicator group (AF, CHD, HYP...), an achievement column (percentage of the group's
points), a prevalence column (percentage of the list on the register) and a list-size column.
The compendium ships one, ``qof_cvd_groups.csv.gz`` (nine cardiovascular groups, reshaped by
the HealthEquityEvidenceCentre/HEEC repository from NHS Digital's tables; its year is not
stated and 2023-24 is inferred, see the data page). Its layout is described by a mapping file,
``data/indicators/mappings/practice_groups_*.yml``, checked against :data:`MAPPING_SCHEMA`:
the practice column, the cells meaning "not available", the scale, the groups and a column
template per measure (``Achievement_{group}``). Another year's or another publisher's table
of this shape is taken by a new mapping file, with no code change.

:func:`read_practice_groups` returns the table long: one row per practice and group, with
every problem of the file reported together (file, line, column).
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.configschema import load_config
from analysis.core.datasets import MAX_REPORTED, DataError
from analysis.indicators.panel import indicators_dir

MEASURES = ("achievement", "prevalence", "list_size")
SCALES = {"percent": 100.0, "proportion": 1.0}
PRACTICE_CODE = r"^[A-Z][0-9A-Z]\d{4}$"

CVD_GROUPS_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, pa.Check.str_matches(PRACTICE_CODE)),
        "year": pa.Column("int64", pa.Check.in_range(1990, 2100)),
        "group": pa.Column(str),
        "achievement": pa.Column("float64", pa.Check.in_range(0, 100)),
        "prevalence": pa.Column("float64", pa.Check.in_range(0, 100), nullable=True),
        "list_size": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "line": pa.Column("int64", pa.Check.ge(2)),
    },
    strict=True,
)
"""What :func:`read_practice_groups` returns (percent scale; one row per practice and group)."""

MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["layout", "year", "practice_code", "groups", "measures"],
    "properties": {
        "layout": {"type": "string", "minLength": 1},
        "year": {"type": "integer", "minimum": 1990, "maximum": 2100},
        "year_basis": {"type": "string", "minLength": 1},
        "practice_code": {"type": "string", "minLength": 1},
        "practice_code_pattern": {"type": "string", "minLength": 1},
        "missing": {"type": "array", "items": {"type": "string"}},
        "scale": {"enum": list(SCALES)},
        "groups": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,20}$"},
        },
        "measures": {
            "type": "object",
            "additionalProperties": False,
            "required": ["achievement"],
            "properties": {
                name: {"type": "string", "pattern": ".*[{]group[}].*"} for name in MEASURES
            },
        },
        "ignore_columns": {"type": "array", "items": {"type": "string"}},
    },
}
"""JSON Schema of a practice-groups mapping file."""


@dataclass(frozen=True)
class GroupsMapping:
    """One wide practice-level layout: groups and a column template per measure."""

    path: Path
    layout: str
    year: int
    practice_code: str
    groups: tuple[str, ...]
    measures: dict[str, str]
    missing: tuple[str, ...] = ("NA",)
    scale: str = "percent"
    year_basis: str = ""
    practice_code_pattern: str = PRACTICE_CODE
    ignore_columns: tuple[str, ...] = ()

    def column(self, measure: str, group: str) -> str:
        """The file's column of ``measure`` for ``group``."""
        return self.measures[measure].replace("{group}", group)

    def needed(self) -> list[str]:
        """Every column the layout names."""
        cells = [self.column(m, g) for m in self.measures for g in self.groups]
        return [self.practice_code, *cells]


def mapping_files(folder: str | os.PathLike | None = None) -> list[Path]:
    """Every ``practice_groups_*.yml`` mapping under ``data/indicators/mappings``."""
    return sorted(Path(folder or indicators_dir() / "mappings").glob("practice_groups_*.yml"))


def read_mapping(path: str | os.PathLike) -> GroupsMapping:
    """Read a mapping file checked against :data:`MAPPING_SCHEMA` (one-line errors)."""
    path = Path(path)
    doc = load_config(path, MAPPING_SCHEMA)
    return GroupsMapping(
        path=path,
        layout=doc["layout"],
        year=int(doc["year"]),
        practice_code=doc["practice_code"],
        groups=tuple(doc["groups"]),
        measures=dict(doc["measures"]),
        missing=tuple(doc.get("missing", ["NA"])),
        scale=doc.get("scale", "percent"),
        year_basis=doc.get("year_basis", ""),
        practice_code_pattern=doc.get("practice_code_pattern", PRACTICE_CODE),
        ignore_columns=tuple(doc.get("ignore_columns", [])),
    )


def _text(path: Path) -> str:
    if not path.is_file():
        raise DataError(f"{path}: {'a folder' if path.is_dir() else 'not found'}; expected a CSV")
    raw = path.read_bytes()
    try:
        raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
        return raw.decode("utf-8-sig")
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err})") from None
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text; expected a UTF-8 CSV") from None


def _lines(mask: pd.Series) -> str:
    lines = (mask.index[mask.to_numpy()] + 2).tolist()
    more = f" and {len(lines) - MAX_REPORTED} more" if len(lines) > MAX_REPORTED else ""
    return f"line(s) {', '.join(map(str, lines[:MAX_REPORTED]))}{more}"


@dataclass(frozen=True)
class PracticeGroups:
    """A practice-level group table, long, and what was set aside.

    Attributes
    ----------
    values
        ``practice_code``, ``year``, ``group``, ``achievement`` (percent), ``prevalence``
        (percent), ``list_size``, ``line``: one row per practice and group with an achievement.
    set_aside
        ``what``, ``column``, ``rows``, ``reason``: empty rows, columns with no value at all.
    mapping
        The layout used.
    """

    values: pd.DataFrame
    set_aside: pd.DataFrame
    mapping: GroupsMapping


def read_practice_groups(
    path: str | os.PathLike, mapping: str | os.PathLike | GroupsMapping
) -> PracticeGroups:
    """Read a wide practice-level group table into one row per practice and group.

    Rows with no value in any mapped column (a trailing ``NA`` row) are set aside and counted,
    as are measure columns with no value at all (a group without published achievement has
    no rows). Percentages are returned on the percent scale whatever the file's ``scale``.

    Raises
    ------
    DataError
        Every problem together, each naming the file, the lines and the column: a mapped
        column absent or an unknown column, a malformed, missing or duplicated practice code,
        a value that is not a number, a percentage outside [0, 100] (or a proportion outside
        [0, 1]) and a negative or fractional list size.
    """
    path = Path(path)
    mapping = mapping if isinstance(mapping, GroupsMapping) else read_mapping(mapping)
    text = _text(path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None
    frame.columns = ["" if c.startswith("Unnamed: ") else c for c in frame.columns]
    header = list(frame.columns)
    absent = [c for c in mapping.needed() if c not in header]
    unknown = [c for c in header if c not in mapping.needed() and c not in mapping.ignore_columns]
    if absent or unknown:
        raise DataError(
            f"{path}: line 1: column(s) {absent} missing and {unknown} not in the mapping "
            f"{mapping.path.name}; expected {mapping.needed()}"
        )
    cells = frame[mapping.needed()].apply(lambda s: s.str.strip())
    missing = cells.isin(list(mapping.missing)) | cells.eq("")
    empty_row = missing.all(axis=1)
    problems: list[str] = []
    kept = cells[~empty_row]
    numbers: dict[str, pd.Series] = {}
    top = SCALES[mapping.scale]
    for measure in mapping.measures:
        for group in mapping.groups:
            column = mapping.column(measure, group)
            text_values = kept[column].where(~missing.loc[kept.index, column])
            values = pd.to_numeric(text_values, errors="coerce")
            bad = values.isna() & text_values.notna()
            if bad.any():
                problems.append(f"column {column!r}: not a number on {_lines(bad)}")
            if measure == "list_size":
                wrong = values.notna() & ((values < 0) | (values != values.round()))
                why = "not a whole number >= 0"
            else:
                wrong = (values < 0) | (values > top)
                why = f"outside [0, {top:g}] ({mapping.scale})"
            if wrong.any():
                problems.append(f"column {column!r}: {why} on {_lines(wrong)}")
            numbers[column] = values * (100.0 / top if measure != "list_size" else 1.0)
    codes = kept[mapping.practice_code]
    no_code = missing.loc[kept.index, mapping.practice_code]
    if no_code.any():
        problems.append(
            f"column {mapping.practice_code!r}: missing practice code on {_lines(no_code)}"
        )
    malformed = ~no_code & ~codes.str.fullmatch(mapping.practice_code_pattern)
    if malformed.any():
        problems.append(
            f"column {mapping.practice_code!r}: malformed practice code on {_lines(malformed)} "
            f"(expected {mapping.practice_code_pattern!r})"
        )
    twice = codes.duplicated(keep=False) & ~no_code
    if twice.any():
        problems.append(
            f"column {mapping.practice_code!r}: practice listed twice on {_lines(twice)}"
        )
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
    set_aside = []
    if empty_row.any():
        set_aside.append(
            {"what": "row", "column": "", "rows": int(empty_row.sum()),
             "reason": f"no value in any mapped column ({_lines(empty_row)})"}
        )  # fmt: skip
    long = []
    for group in mapping.groups:
        part = pd.DataFrame({"practice_code": codes, "group": group, "line": kept.index + 2})
        for measure in MEASURES:
            part[measure] = (
                numbers[mapping.column(measure, group)] if measure in mapping.measures else np.nan
            )
        long.append(part)
        for measure in mapping.measures:
            column = mapping.column(measure, group)
            if numbers[column].isna().all():
                set_aside.append(
                    {"what": f"{measure} of {group}", "column": column, "rows": len(kept),
                     "reason": "no value in the column (as published)"}
                )  # fmt: skip
    values = pd.concat(long, ignore_index=True)
    values = values[values["achievement"].notna()].copy()
    values.insert(1, "year", np.int64(mapping.year))
    order = ["practice_code", "year", "group", *MEASURES, "line"]
    values = values[order].sort_values(["group", "practice_code"], ignore_index=True)
    aside = pd.DataFrame(set_aside, columns=["what", "column", "rows", "reason"])
    return PracticeGroups(values, aside, mapping)


def stored_file() -> Path:
    """The shipped REAL cardiovascular group table."""
    return indicators_dir() / "real" / "qof_indicators" / "qof_cvd_groups.csv.gz"


def stored_mapping() -> Path:
    """Its layout mapping."""
    return indicators_dir() / "mappings" / "practice_groups_qof_cvd.yml"
