"""Reader: a wide indicator table (one row per unit, columns per indicator), by its mapping file.

Published derivatives often hold a year of indicators as one row per organisation (a PCN's
own achievement) or per practice, with one column per indicator, or one per indicator and
measure (``Achievement_AF``, ``Prevalence_AF``, ``List.Size_AF``). One mapping file per
table (:data:`MAPPING_SCHEMA`, checked by :mod:`analysis.configschema`) says which column is
the unit and its code format, which year the table is, which codes mean "no organisation"
(``exclude``: their rows are read and kept apart, never compared), which cells are missing,
which columns describe the units (``characteristics``), and, for each family of indicator
columns, where its columns are (a ``prefix``, or a ``columns`` template over ``ids``), its
domain, distribution, direction and scale, and the measures beside it (``prevalence``,
``list_size`` templates). The compendium's mappings are ``data/indicators/mappings/wide_*.yml``.

:func:`read_wide_table` reads a table with every problem of the file reported together (file,
line, column): a mapped column absent, an unmapped column where the mapping lists the columns
it ignores, a code missing, malformed or listed twice, a value that is not a number or is out
of its scale's range, a list size that is not a whole number. Rows with no value in any mapped
column and columns with no value at all are set aside and listed. :func:`panel_tables` turns
it into the tables of a quality-indicator panel (:mod:`analysis.indicators.sources.contract`):
``observations`` (``<unit>, year, indicator_id, value``: values without denominators),
``indicator_catalogue`` and, at organisation level, ``organisations``.

``python -m analysis.indicators.sources.widetable TABLE.csv[.gz] --mapping MAPPING.yml --out
FOLDER`` writes them as a panel folder with its ``panel.yml``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
import yaml

from analysis.commandline import CommandParser
from analysis.configschema import load_config
from analysis.core.datasets import MAX_REPORTED, DataError, atomic_path, write_csv
from analysis.indicators.sources import layouts
from analysis.indicators.sources.schemas import ANY_ID, DOMAIN_PATTERN, UNIT_COLUMNS
from analysis.paths import path_argument
from analysis.patterns import ConfigPattern

SCALES = {"proportion": 1.0, "percent": 100.0}
TEMPLATE = {"type": "string", "pattern": ".*[{]id[}].*"}
FAMILY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["distribution"],
    "properties": {
        "prefix": {"type": "string", "minLength": 1},
        "columns": TEMPLATE,
        "ids": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
        "id_prefix": {"type": "string"},
        "name": {"type": "string", "minLength": 1},
        "domain": {"type": "string", "pattern": DOMAIN_PATTERN},
        "domain_from_id": {"type": "string", "patternGroups": ["domain"]},
        "distribution": {"enum": ["binomial", "poisson", "continuous"]},
        "higher_is_better": {"type": ["boolean", "null"]},
        "scale": {"enum": list(SCALES)},
        "prevalence": TEMPLATE,
        "list_size": TEMPLATE,
    },
    "allOf": [
        {"oneOf": [{"required": ["prefix"]}, {"required": ["columns", "ids"]}]},
        {"oneOf": [{"required": ["domain"]}, {"required": ["domain_from_id"]}]},
    ],
}
MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["level", "unit", "year", "indicators"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "tier": {"enum": ["user", "real"]},
        "publisher": {"type": "string", "minLength": 1},
        "licence": {"type": "string", "minLength": 1},
        "level": {"enum": list(UNIT_COLUMNS)},
        "unit": {"type": "string", "minLength": 1},
        "unit_name": {"type": "string", "minLength": 1},
        "unit_pattern": {"type": "string", "patternGroups": []},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        "year_basis": {"type": "string", "minLength": 1},
        "exclude": {"type": "array", "items": {"type": "string"}},
        "missing": {"type": "array", "items": {"type": "string"}},
        "ignore_columns": {"type": "array", "items": {"type": "string"}},
        "indicators": {"type": "array", "minItems": 1, "items": FAMILY_SCHEMA},
        "characteristics": {
            "type": "object",
            "propertyNames": {"pattern": r"^[a-z][a-z0-9_]*$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    },
    "if": {"properties": {"tier": {"const": "real"}}, "required": ["tier"]},
    "then": {"required": ["publisher", "licence"]},
}
"""A wide table's mapping. ``level`` (``practice``/``organisation``), ``unit`` (its code
column), ``unit_name``, ``unit_pattern`` (an RE2 pattern the codes must match; at practice
level an NHS practice code by default), ``year`` (and ``year_basis``: how it is known),
``exclude`` (codes meaning no organisation), ``missing`` (cells meaning no value),
``ignore_columns`` (when given, every other column must be mapped), ``characteristics``
(name: column) and ``indicators``, families of columns: ``prefix`` (every column starting
with it; the id is the rest) or ``columns`` (a template such as ``Achievement_{id}``) over
``ids``; ``id_prefix`` put before the id; ``domain`` or ``domain_from_id`` (an RE2 pattern
whose group ``domain`` is read from the id, lower case); ``distribution``;
``higher_is_better`` (null: no direction); ``scale``; ``name``; and the measures published
beside each indicator, ``prevalence`` (same scale) and ``list_size`` (templates). ``tier``,
``publisher``, ``licence``, ``title`` go to ``panel.yml``."""

WIDE_VALUES_SCHEMA = pa.DataFrameSchema(
    {
        "unit": pa.Column(str, pa.Check.str_matches(ANY_ID)),
        "year": pa.Column("int64", pa.Check.in_range(1900, 2100)),
        "indicator_id": pa.Column(str, pa.Check.str_matches(ANY_ID)),
        "value": pa.Column("float64", nullable=True),
        "prevalence": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "list_size": pa.Column("float64", pa.Check.ge(0), nullable=True),
        "excluded": pa.Column(bool),
        "line": pa.Column("int64", pa.Check.ge(2)),
    },
    strict=True,
)
"""What :func:`read_wide_table` returns as ``values``: one row per unit and indicator (values
on the file's scale; ``excluded``: a code meaning no organisation; ``line``: of the file)."""
KNOWN_COUNTS = {"list_size": 0, "n_practices": 1}
"""Characteristics that are counts (whole numbers at least this)."""


def read_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping file, checked against :data:`MAPPING_SCHEMA` (one line naming the key)."""
    mapping = dict(load_config(path, MAPPING_SCHEMA))
    mapping["path"] = Path(path)
    return mapping


@dataclass(frozen=True)
class WideTable:
    """A wide table read by its mapping.

    Attributes
    ----------
    values
        :data:`WIDE_VALUES_SCHEMA`, every unit (excluded ones too) and indicator (a blank cell
        is a missing ``value``).
    catalogue
        One row per indicator: ``indicator_id``, ``name``, ``domain``, ``distribution``,
        ``higher_is_better`` (``true``/``false``/blank), ``scale``.
    units
        One row per unit: ``unit``, ``name``, ``excluded``, ``line`` and the characteristics.
    set_aside
        ``what``, ``column``, ``rows``, ``reason``: rows and columns with no value.
    mapping
        The mapping (its ``path`` included).
    source
        The file read.
    """

    values: pd.DataFrame
    catalogue: pd.DataFrame
    units: pd.DataFrame
    set_aside: pd.DataFrame
    mapping: dict[str, Any]
    source: Path = Path("table")

    @property
    def level(self) -> str:
        return self.mapping["level"]

    @property
    def year(self) -> int:
        return int(self.mapping["year"])


def _columns(family: dict, header: list[str]) -> dict[str, str]:
    """The family's columns in the file: column -> the id part (before ``id_prefix``)."""
    if "prefix" in family:
        return {c: c[len(family["prefix"]) :] for c in header if c.startswith(family["prefix"])}
    return {family["columns"].replace("{id}", i): i for i in family["ids"]}


def _domain(family: dict, part: str) -> str | None:
    if "domain" in family:
        return family["domain"]
    found = ConfigPattern(family["domain_from_id"], ["domain"]).search(part)
    return found["domain"].lower() if found and found.get("domain") else None


def _numbers(cells: pd.Series, blank: pd.Series) -> tuple[pd.Series, pd.Series]:
    values = pd.to_numeric(cells.where(~blank), errors="coerce").astype(float)
    return values, values.isna() & ~blank


def read_wide_table(
    path: str | os.PathLike, mapping: str | os.PathLike | dict[str, Any]
) -> WideTable:
    """Read a wide indicator table by its mapping (see the module notes).

    Raises
    ------
    DataError
        One message listing every problem of the file, each naming the line(s) and column.
    """
    path = Path(path)
    mapping = mapping if isinstance(mapping, dict) else read_mapping(mapping)
    name = mapping.get("path", "the mapping")
    frame = layouts.read_text_table(path)
    frame.columns = ["" if c.startswith("Unnamed: ") else c for c in frame.columns]
    header = list(frame.columns)
    unit, traits = mapping["unit"], mapping.get("characteristics", {})
    named = [unit, *([mapping["unit_name"]] if "unit_name" in mapping else []), *traits.values()]
    problems, catalogue, families = [], [], []
    for family in mapping["indicators"]:
        found = _columns(family, header)
        if not found:
            problems.append(f"line 1: no column starts with {family['prefix']!r}")
        extras = {
            extra: {part: family[extra].replace("{id}", part) for part in found.values()}
            for extra in ("prevalence", "list_size")
            if extra in family
        }
        named += [*found, *(c for columns in extras.values() for c in columns.values())]
        families.append((family, found, extras))
    absent = [c for c in dict.fromkeys(named) if c not in header]
    if absent:
        problems.append(f"line 1: column(s) {_some(absent)} named by {Path(name).name} are absent")
    if "ignore_columns" in mapping:
        unknown = [c for c in header if c not in named and c not in mapping["ignore_columns"]]
        if unknown:
            problems.append(f"line 1: column(s) {_some(unknown)} are not in {Path(name).name}")
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    cells = frame[list(dict.fromkeys(named))].apply(lambda s: s.str.strip())
    blank = cells.isin(list(mapping.get("missing", []))) | cells.eq("")
    mapped = [
        c for _, found, extras in families
        for c in [*found, *(x for columns in extras.values() for x in columns.values())]
    ]  # fmt: skip
    empty_row = blank[list(dict.fromkeys(mapped))].all(axis=1)
    kept, blank = cells[~empty_row], blank[~empty_row]
    codes = kept[unit]
    pattern = mapping.get("unit_pattern")
    if pattern is None and mapping["level"] == "practice":
        pattern = layouts.PRACTICE_CODE
    what = "practice code" if mapping["level"] == "practice" else "organisation code"
    problems += layouts.code_problems(codes, unit, missing=blank[unit], pattern=pattern, what=what)
    long, aside = [], []
    if empty_row.any():
        aside.append(
            {"what": "row", "column": "", "rows": int(empty_row.sum()),
             "reason": f"no value in any mapped column ({layouts.where(empty_row)})"}
        )  # fmt: skip
    excluded = codes.isin(list(mapping.get("exclude", [])))

    def read(column: str, measure: str, part: str, family: dict) -> pd.Series:
        values, bad = _numbers(kept[column], blank[column])
        if bad.any():
            problems.append(f"column {column!r}: not a number on {layouts.where(bad)}")
        wrong = _out_of_range(values, measure, family)
        if wrong is not None and wrong[0].any():
            problems.append(f"column {column!r}: not {wrong[1]} on {layouts.where(wrong[0])}")
        if values.isna().all():
            aside.append(
                {"what": f"{part} ({measure})", "column": column, "rows": len(kept),
                 "reason": "no value in the column (as published)"}
            )  # fmt: skip
        return values

    for family, found, extras in families:
        for column, part in found.items():
            values = read(column, "value", part, family)
            one = pd.DataFrame({"unit": codes, "indicator_id": "", "value": values})
            for extra in ("prevalence", "list_size"):
                source = extras.get(extra, {}).get(part)
                one[extra] = read(source, extra, part, family) if source else np.nan
            if values.isna().all():
                continue
            indicator = family.get("id_prefix", "") + part
            domain = _domain(family, part)
            if not re.fullmatch(ANY_ID, indicator) or not domain:
                problems.append(f"line 1, column {column!r}: no indicator id or domain in it")
                continue
            catalogue.append(_catalogue_row(family, indicator, domain))
            long.append(one.assign(indicator_id=indicator, excluded=excluded, line=kept.index + 2))
    units = pd.DataFrame({"unit": codes, "excluded": excluded, "line": kept.index + 2})
    label = mapping.get("unit_name")
    units.insert(1, "name", kept[label].where(~blank[label], "") if label else "")
    for trait, column in traits.items():
        units[trait] = _trait(kept[column].where(~blank[column]), trait, column, problems)
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    if not long:
        why = "no data row below the header" if frame.empty else "no value in any indicator column"
        raise DataError(f"{path}: {why}; expected at least one {what} with a value")
    values = pd.concat(long, ignore_index=True)
    values.insert(1, "year", np.int64(mapping["year"]))
    return WideTable(
        values.reset_index(drop=True).astype({"line": np.int64}),
        pd.DataFrame(catalogue).drop_duplicates("indicator_id"),
        units.reset_index(drop=True),
        pd.DataFrame(aside, columns=["what", "column", "rows", "reason"]),
        mapping,
        path,
    )


def _some(columns: list[str]) -> str:
    """At most ten column names, and how many more."""
    more = f" and {len(columns) - MAX_REPORTED} more" if len(columns) > MAX_REPORTED else ""
    return f"{columns[:MAX_REPORTED]}{more}"


def _out_of_range(values: pd.Series, measure: str, family: dict) -> tuple[pd.Series, str] | None:
    """Where a value is outside its range, and the range in words (None: any number)."""
    if measure == "list_size":
        return (values < 0) | (values != values.round()) & values.notna(), "a whole number >= 0"
    if family["distribution"] == "poisson" and measure == "value":
        return values < 0, "a rate >= 0"
    if family["distribution"] == "continuous" and "scale" not in family and measure == "value":
        return None
    scale = family.get("scale", "proportion")
    top = SCALES[scale]
    return (values < 0) | (values > top), f"in [0, {top:g}] ({scale})"


def _catalogue_row(family: dict, indicator: str, domain: str) -> dict[str, str]:
    binomial = family["distribution"] == "binomial"
    return {
        "indicator_id": indicator,
        "name": f"{family.get('name', family.get('prefix', '').rstrip('_'))} {indicator}".strip(),
        "domain": domain,
        "distribution": family["distribution"],
        "higher_is_better": {True: "true", False: "false"}.get(family.get("higher_is_better"), ""),
        # a percentage is divided by 100 only for a proportion; other values stay as published
        "scale": family.get("scale", "proportion") if binomial else "proportion",
    }


def _trait(text: pd.Series, trait: str, column: str, problems: list[str]) -> pd.Series:
    """A characteristic: numbers where every cell is one, text otherwise; counts checked."""
    numbers = pd.to_numeric(text, errors="coerce")
    if trait in KNOWN_COUNTS:
        wrong = text.notna() & ~(numbers.round().eq(numbers) & (numbers >= KNOWN_COUNTS[trait]))
        if wrong.any():
            problems.append(
                f"column {column!r}: {trait} not a whole number >= {KNOWN_COUNTS[trait]} on "
                f"{layouts.where(wrong)}"
            )
        return numbers
    return numbers if numbers.notna().eq(text.notna()).all() else text


def panel_tables(wide: WideTable) -> dict[str, pd.DataFrame]:
    """The panel tables of a wide table (excluded units left out): ``observations``
    (``<unit>, year, indicator_id, value``), ``indicator_catalogue`` and, at organisation
    level, ``organisations`` (the characteristics)."""
    code = UNIT_COLUMNS[wide.level]
    kept = wide.values[~wide.values["excluded"]]
    observations = kept[["unit", "year", "indicator_id", "value"]].rename(columns={"unit": code})
    out = {
        "observations": observations.sort_values([code, "indicator_id"], ignore_index=True),
        "indicator_catalogue": wide.catalogue.reset_index(drop=True),
    }
    if wide.level == "organisation":
        units = wide.units[~wide.units["excluded"]]
        traits = list(wide.mapping.get("characteristics", {}))
        out["organisations"] = units[["unit", *traits]].rename(columns={"unit": code})
    return out


def panel_config(mapping: dict[str, Any], catalogue: pd.DataFrame) -> dict[str, Any]:
    """``panel.yml`` of the folder: the mapping's tier, publisher, licence, title and the
    catalogue's domains in order."""
    config = {k: mapping[k] for k in ("title", "tier", "publisher", "licence") if k in mapping}
    config["domains"] = list(dict.fromkeys(catalogue["domain"]))
    return config


def write_panel_folder(
    table: str | os.PathLike, mapping_path: str | os.PathLike, out: Path
) -> tuple[WideTable, dict[str, pd.DataFrame]]:
    """Read ``table`` by its mapping and write the panel folder ``out``; returns the table and
    the panel tables. A failure writes nothing."""
    wide = read_wide_table(table, read_mapping(mapping_path))
    tables = panel_tables(wide)
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_csv(frame, out / f"{name}.csv")
    config = panel_config(wide.mapping, tables["indicator_catalogue"])
    with atomic_path(out / "panel.yml") as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return wide, tables


def main(argv: list[str] | None = None) -> int:
    parser = CommandParser(
        "analysis.indicators.sources.widetable", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("table", type=path_argument)
    parser.add_argument("--mapping", type=path_argument, required=True)
    parser.add_argument("--out", type=path_argument, required=True)
    args = parser.parse_args(argv)
    wide, tables = write_panel_folder(args.table, args.mapping, args.out)
    observations = tables["observations"]
    print(
        f"wrote {args.out}: {observations.iloc[:, 0].nunique():,} units x "
        f"{observations['indicator_id'].nunique()} indicators "
        f"({int(observations['value'].isna().sum())} blank values)"
    )
    for row in wide.set_aside.itertuples():
        print(f"set aside: {row.what} ({row.column or 'rows'}): {row.reason}")
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
