"""Adapter: a wide indicator table (one row per unit, one column per indicator) to a panel folder.

Published derivatives often hold a year of indicators as one row per organisation (a PCN's own
achievement) or per practice, one column per indicator. A mapping file
(:data:`MAPPING_SCHEMA`, checked by :mod:`analysis.configschema`) says which column is the
unit, which year the table is, which codes mean "no organisation", which cells are missing,
and for each family of indicator columns (a prefix) its domain, distribution, direction and
scale; ``characteristics`` names the columns that describe the units (size, deprivation).
:func:`write_panel_folder` writes the folder the quality-indicator chapter reads
(:mod:`analysis.indicators.contract`): ``observations.csv`` (``<unit>, year, indicator_id,
value``), ``indicator_catalogue.csv``, ``organisations.csv`` (organisation level) and
``panel.yml`` (tier, publisher, licence, domains).

``python -m analysis.indicators.widetable TABLE.csv[.gz] --mapping MAPPING.yml --out FOLDER``
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analysis.configschema import load_config
from analysis.core.datasets import MAX_REPORTED, DataError, atomic_path, write_csv
from analysis.indicators.schemas import ANY_ID, DOMAIN_PATTERN

FAMILY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["prefix", "distribution"],
    "properties": {
        "prefix": {"type": "string", "minLength": 1},
        "domain": {"type": "string", "pattern": DOMAIN_PATTERN},
        "domain_from_id": {"type": "string", "minLength": 1},
        "distribution": {"enum": ["binomial", "poisson", "continuous"]},
        "higher_is_better": {"type": ["boolean", "null"]},
        "scale": {"enum": ["proportion", "percent"]},
        "name": {"type": "string", "minLength": 1},
        "id_prefix": {"type": "string"},
    },
    "oneOf": [{"required": ["domain"]}, {"required": ["domain_from_id"]}],
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
        "level": {"enum": ["practice", "organisation"]},
        "unit": {"type": "string", "minLength": 1},
        "year": {"type": "integer", "minimum": 1900, "maximum": 2100},
        "exclude": {"type": "array", "items": {"type": "string"}},
        "missing": {"type": "array", "items": {"type": "string"}},
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
"""A wide table's mapping: ``level``, ``unit`` (its code column), ``year``, ``exclude``,
``missing``, ``indicators`` (families of columns by ``prefix``: ``domain`` or
``domain_from_id`` (a regular expression whose group ``domain`` is read from the id, lower
case), ``distribution``, ``higher_is_better`` (null: no direction), ``scale``, ``name``,
``id_prefix`` put before the column's name less its prefix to make the id) and
``characteristics`` (name: column); ``tier``, ``publisher``, ``licence``, ``title`` go to
``panel.yml``."""


def read_mapping(path: str | os.PathLike) -> dict[str, Any]:
    """The mapping file, checked against :data:`MAPPING_SCHEMA` (one line naming the key)."""
    mapping = dict(load_config(path, MAPPING_SCHEMA))
    for family in mapping["indicators"]:
        if "domain_from_id" in family:
            try:
                compiled = re.compile(family["domain_from_id"])
            except re.error as err:
                raise DataError(
                    f"{path}: domain_from_id: not a regular expression ({err})"
                ) from None
            if "domain" not in compiled.groupindex:
                raise DataError(f"{path}: domain_from_id needs a named group (?P<domain>...)")
    return mapping


def _read(path: Path, missing: list[str]) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=["", *missing])
    except (OSError, UnicodeDecodeError, EOFError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot be read as a CSV ({err})") from None


def _domain(family: dict, indicator: str) -> str | None:
    if "domain" in family:
        return family["domain"]
    found = re.match(family["domain_from_id"], indicator)
    return found["domain"].lower() if found else None


def to_panel(
    table: pd.DataFrame, mapping: dict[str, Any], name: str = "table"
) -> dict[str, pd.DataFrame]:
    """The panel tables of a wide table: ``observations``, ``indicator_catalogue`` and (at
    organisation level) ``organisations``.

    Raises
    ------
    DataError
        One line per problem: a mapped column absent, no column with a family's prefix, an id
        whose domain cannot be read, a cell that is not a number, a unit code twice.
    """
    problems = []
    unit = mapping["unit"]
    wanted = [unit, *mapping.get("characteristics", {}).values()]
    absent = [c for c in wanted if c not in table.columns]
    if absent:
        problems.append(f"line 1: column(s) {absent} named by the mapping are not in the table")
    columns, catalogue = {}, []
    for family in mapping["indicators"]:
        found = [c for c in table.columns if c.startswith(family["prefix"])]
        if not found:
            problems.append(f"line 1: no column starts with {family['prefix']!r}")
        for column in found:
            indicator = family.get("id_prefix", "") + (column[len(family["prefix"]) :] or column)
            domain = _domain(family, indicator)
            if not re.fullmatch(ANY_ID, indicator) or not domain:
                problems.append(f"line 1, column {column!r}: no indicator id or domain in it")
                continue
            columns[column] = indicator
            catalogue.append(
                {
                    "indicator_id": indicator,
                    "name": f"{family.get('name', family['prefix'].rstrip('_'))} {indicator}",
                    "domain": domain,
                    "distribution": family["distribution"],
                    "higher_is_better": {True: "true", False: "false"}.get(
                        family.get("higher_is_better"), ""
                    ),
                    "scale": family.get("scale", "proportion"),
                }
            )
    if problems:
        raise DataError(f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    kept = table[table[unit].notna() & ~table[unit].isin(mapping.get("exclude", []))]
    twice = kept[unit].duplicated(keep=False)
    if twice.any():
        lines = (kept.index[twice][:MAX_REPORTED] + 2).tolist()
        problems.append(f"column {unit!r}: a code appears twice on lines {lines}")
    values = kept[list(columns)].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & kept[list(columns)].notna()
    for column in bad.columns[bad.any()][:MAX_REPORTED]:
        lines = (kept.index[bad[column]][:MAX_REPORTED] + 2).tolist()
        problems.append(f"column {column!r}: not a number on lines {lines}")
    if problems:
        raise DataError(f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    code = "organisation_id" if mapping["level"] == "organisation" else "practice_code"
    long = values.rename(columns=columns).assign(**{code: kept[unit].str.strip()})
    observations = long.melt(id_vars=code, var_name="indicator_id", value_name="value")
    observations.insert(1, "year", mapping["year"])
    out = {
        "observations": observations.sort_values([code, "indicator_id"], ignore_index=True),
        "indicator_catalogue": pd.DataFrame(catalogue),
    }
    if mapping["level"] == "organisation":
        traits = {
            k: _numbers_or_text(kept[c]) for k, c in mapping.get("characteristics", {}).items()
        }
        out["organisations"] = pd.DataFrame({"organisation_id": kept[unit].str.strip(), **traits})
    return out


def _numbers_or_text(column: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    return numbers if numbers.notna().eq(column.notna()).all() else column


def panel_config(mapping: dict[str, Any], catalogue: pd.DataFrame) -> dict[str, Any]:
    """``panel.yml`` of the folder: the mapping's tier, publisher, licence, title and the
    catalogue's domains in order."""
    config = {k: mapping[k] for k in ("title", "tier", "publisher", "licence") if k in mapping}
    config["domains"] = list(dict.fromkeys(catalogue["domain"]))
    return config


def write_panel_folder(
    table: str | os.PathLike, mapping_path: str | os.PathLike, out: Path
) -> dict:
    """Convert ``table`` with its mapping and write the panel folder ``out``; returns its
    tables. A failure writes nothing."""
    mapping = read_mapping(mapping_path)
    tables = to_panel(_read(Path(table), mapping.get("missing", [])), mapping, name=str(table))
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        write_csv(frame, out / f"{name}.csv")
    config = panel_config(mapping, tables["indicator_catalogue"])
    with atomic_path(out / "panel.yml") as tmp:
        tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("table", type=Path)
    parser.add_argument("--mapping", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tables = write_panel_folder(args.table, args.mapping, args.out)
    observations = tables["observations"]
    print(
        f"wrote {args.out}: {observations.iloc[:, 0].nunique():,} units x "
        f"{observations['indicator_id'].nunique()} indicators "
        f"({int(observations['value'].isna().sum())} blank values)"
    )
    return 0


if __name__ == "__main__":
    from analysis.errors import run_main

    raise SystemExit(run_main(main))
