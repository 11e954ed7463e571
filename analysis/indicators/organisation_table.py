"""Loader: an organisation-level indicator table (one row per PCN, one column per indicator).

Some published derivatives hold indicators already aggregated to organisations. The compendium
ships one: ``pcn_data_matrix.csv.gz``, one row per primary care network for QOF 2021-22 with 49
indicator achievement proportions (``QOF_ACHV_<id>``), 21 register prevalences
(``QOF_PREV_<register>``), the registered population, IMD 2019 scores and workforce, aggregated
by the blackwellrd/display_nearest_neighbour_data repository from NHS Digital's releases, plus
one row ``U`` for the practices in no network. Its layout is a mapping file,
``data/indicators/mappings/organisations_*.yml`` (:data:`MAPPING_SCHEMA`): the organisation
column, the no-organisation code, missing-value cells, and for each family of indicator columns
its prefix, scale and better direction; a domain is the QOF clinical area, the letters that
begin the indicator id (``AF`` of ``AF006``), named in ``domain_names``.

The table gives no denominators. :func:`read_organisation_table` approximates each
organisation's denominator for an indicator by its register (the prevalence of the indicator's
clinical area times its population) where the table has that register, else by its population;
England is derived from every row, the ``U`` row included, as the denominator-weighted mean
(:func:`england_values`). Both are the compendium's approximations, stated in the chapter.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.configschema import load_config
from analysis.core.datasets import MAX_REPORTED, DataError
from analysis.indicators.panel import indicators_dir

SCALES = {"proportion": 1.0, "percent": 100.0}
PCN_TABLE_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str),
        "indicator_id": pa.Column(str),
        "family": pa.Column(str),
        "domain": pa.Column(str),
        "direction": pa.Column(str, pa.Check.isin(["higher", "lower", "neutral"])),
        "value": pa.Column("float64", pa.Check.in_range(0, 1)),
        "denominator": pa.Column("float64", pa.Check.gt(0), nullable=True),
        "denominator_basis": pa.Column(str),
        "in_organisation": pa.Column(bool),
        "line": pa.Column("int64", pa.Check.ge(2)),
    },
    strict=True,
)
"""What :func:`read_organisation_table` returns (values as proportions; one row per
organisation and indicator)."""
FAMILY_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["prefix", "family", "direction"],
    "properties": {
        "prefix": {"type": "string", "minLength": 1},
        "family": {"type": "string", "pattern": "^[a-z_]{1,30}$"},
        "direction": {"enum": ["higher", "lower", "neutral"]},
        "scale": {"enum": list(SCALES)},
        "register_prefix": {"type": "string", "minLength": 1},
    },
}
MAPPING_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["layout", "year", "organisation", "population", "indicators"],
    "properties": {
        "layout": {"type": "string", "minLength": 1},
        "year": {"type": "integer", "minimum": 1990, "maximum": 2100},
        "organisation": {"type": "string", "minLength": 1},
        "organisation_name": {"type": "string", "minLength": 1},
        "no_organisation": {"type": "array", "items": {"type": "string"}},
        "missing": {"type": "array", "items": {"type": "string"}},
        "population": {"type": "string", "minLength": 1},
        "indicators": {"type": "array", "minItems": 1, "items": FAMILY_SCHEMA},
        "characteristics": {"type": "object", "additionalProperties": {"type": "string"}},
        "domain_names": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
"""JSON Schema of an organisation-table mapping file."""


@dataclass(frozen=True)
class TableMapping:
    """One organisation-level layout."""

    path: Path
    layout: str
    year: int
    organisation: str
    population: str
    families: tuple[dict, ...]
    organisation_name: str = ""
    no_organisation: tuple[str, ...] = ("U",)
    missing: tuple[str, ...] = ("NA",)
    characteristics: dict[str, str] | None = None
    domain_names: dict[str, str] | None = None


def mapping_files(folder: str | os.PathLike | None = None) -> list[Path]:
    """Every ``organisations_*.yml`` mapping under ``data/indicators/mappings``."""
    return sorted(Path(folder or indicators_dir() / "mappings").glob("organisations_*.yml"))


def read_mapping(path: str | os.PathLike) -> TableMapping:
    """Read a mapping file checked against :data:`MAPPING_SCHEMA` (one-line errors)."""
    path = Path(path)
    doc = load_config(path, MAPPING_SCHEMA)
    return TableMapping(
        path=path,
        layout=doc["layout"],
        year=int(doc["year"]),
        organisation=doc["organisation"],
        population=doc["population"],
        families=tuple(doc["indicators"]),
        organisation_name=doc.get("organisation_name", ""),
        no_organisation=tuple(doc.get("no_organisation", ["U"])),
        missing=tuple(doc.get("missing", ["NA"])),
        characteristics=dict(doc.get("characteristics") or {}),
        domain_names=dict(doc.get("domain_names") or {}),
    )


def _lines(mask: pd.Series) -> str:
    lines = (mask.index[mask.to_numpy()] + 2).tolist()
    more = f" and {len(lines) - MAX_REPORTED} more" if len(lines) > MAX_REPORTED else ""
    return f"line(s) {', '.join(map(str, lines[:MAX_REPORTED]))}{more}"


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path}: {'a folder' if path.is_dir() else 'not found'}; expected a CSV")
    raw = path.read_bytes()
    try:
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({err})") from None
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None


@dataclass(frozen=True)
class OrganisationTable:
    """An organisation-level table, long.

    Attributes
    ----------
    values
        ``organisation_id``, ``indicator_id``, ``family``, ``domain``, ``direction``,
        ``value`` (a proportion), ``denominator`` (approximate), ``denominator_basis``,
        ``in_organisation`` (False for the no-organisation row), ``line``.
    organisations
        ``organisation_id``, ``name``, ``population``, ``in_organisation`` and the mapped
        characteristics.
    set_aside
        Indicator columns with no value at all (``column``, ``reason``).
    mapping
        The layout used.
    """

    values: pd.DataFrame
    organisations: pd.DataFrame
    set_aside: pd.DataFrame
    mapping: TableMapping


def _domain(indicator: str) -> str:
    found = re.match(r"[A-Za-z]+", indicator)
    return found.group(0).upper() if found else indicator


def read_organisation_table(
    path: str | os.PathLike, mapping: str | os.PathLike | TableMapping
) -> OrganisationTable:
    """Read an organisation-level indicator table by its mapping.

    Raises
    ------
    DataError
        Every problem together, each naming the file, lines and column: a mapped column
        absent, an organisation code missing or listed twice, a value that is not a number,
        a proportion outside [0, 1] or a percentage outside [0, 100], a population that is not
        a positive number.
    """
    path = Path(path)
    mapping = mapping if isinstance(mapping, TableMapping) else read_mapping(mapping)
    frame = _read_csv(path)
    header = list(frame.columns)
    needed = [mapping.organisation, mapping.population, *(mapping.characteristics or {}).values()]
    absent = [c for c in needed if c not in header]
    families = {
        f["prefix"]: [c for c in header if c.startswith(f["prefix"])] for f in mapping.families
    }
    absent += [f"{p}*" for p, columns in families.items() if not columns]
    if absent:
        raise DataError(
            f"{path}: line 1: column(s) {absent} named by {mapping.path.name} not found"
        )
    cells = frame.apply(lambda s: s.str.strip())
    missing = cells.isin(list(mapping.missing)) | cells.eq("")
    problems = []
    codes = cells[mapping.organisation]
    no_code = missing[mapping.organisation]
    if no_code.any():
        problems.append(f"column {mapping.organisation!r}: missing code on {_lines(no_code)}")
    twice = codes.duplicated(keep=False) & ~missing[mapping.organisation]
    if twice.any():
        problems.append(
            f"column {mapping.organisation!r}: organisation listed twice on {_lines(twice)}"
        )

    def numbers(column: str) -> pd.Series:
        values = pd.to_numeric(cells[column].where(~missing[column]), errors="coerce")
        values = values.astype(float)
        bad = values.isna() & ~missing[column]
        if bad.any():
            problems.append(f"column {column!r}: not a number on {_lines(bad)}")
        return values

    population = numbers(mapping.population)
    if (population <= 0).any() or population.isna().any():
        problems.append(
            f"column {mapping.population!r}: missing or not positive on "
            f"{_lines(population.isna() | (population <= 0))}"
        )
    long, aside = [], []
    for family in mapping.families:
        top = SCALES[family.get("scale", "proportion")]
        for column in families[family["prefix"]]:
            values = numbers(column)
            outside = (values < 0) | (values > top)
            if outside.any():
                problems.append(f"column {column!r}: outside [0, {top:g}] on {_lines(outside)}")
            if values.isna().all():
                aside.append({"column": column, "reason": "no value in the column"})
                continue
            indicator = column[len(family["prefix"]) :]
            domain = _domain(indicator)
            register = f"{family.get('register_prefix', '')}{domain}"
            long.append(
                pd.DataFrame(
                    {
                        "organisation_id": codes,
                        "indicator_id": indicator,
                        "family": family["family"],
                        "domain": domain,
                        "direction": family["direction"],
                        "value": values / top,
                        "register": register if register in header else "",
                        "line": frame.index + 2,
                    }
                )
            )
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
    values = pd.concat(long, ignore_index=True)
    prevalence = {c: numbers(c) for c in set(values["register"]) - {""}}
    values["denominator"] = population.reindex(values["line"] - 2).to_numpy()
    values["denominator_basis"] = "population"
    for column, share in prevalence.items():
        rows = values["register"] == column
        scaled = (
            share.reindex(values.loc[rows, "line"] - 2).to_numpy() * values.loc[rows, "denominator"]
        )
        values.loc[rows, "denominator"] = scaled
        values.loc[rows, "denominator_basis"] = f"register ({column} x population)"
    values = values[values["value"].notna()].drop(columns="register")
    inside = ~values["organisation_id"].isin(list(mapping.no_organisation))
    values.insert(len(values.columns) - 1, "in_organisation", inside)
    organisations = pd.DataFrame(
        {
            "organisation_id": codes,
            "name": cells[mapping.organisation_name] if mapping.organisation_name else "",
            "population": population,
            "in_organisation": ~codes.isin(list(mapping.no_organisation)),
        }
    )
    for name, column in (mapping.characteristics or {}).items():
        organisations[name] = numbers(column)
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s): " + "; ".join(problems))
    return OrganisationTable(
        values.reset_index(drop=True),
        organisations,
        pd.DataFrame(aside, columns=["column", "reason"]),
        mapping,
    )


def england_values(table: OrganisationTable) -> pd.DataFrame:
    """England per indicator from every row (the no-organisation row included).

    ``england = sum(value * denominator) / sum(denominator)``: exact for a prevalence (whose
    denominator is the population), an approximation for achievement (whose denominators are
    approximated, see the module notes).

    Returns
    -------
    pandas.DataFrame
        ``indicator_id``, ``family``, ``england``, ``rows`` (organisations with a value,
        including the no-organisation row), ``denominator`` and ``basis`` (how derived).
    """
    v = table.values[table.values["denominator"] > 0]
    weighted = v.assign(product=v["value"] * v["denominator"])
    out = weighted.groupby(["indicator_id", "family"], as_index=False, sort=False).agg(
        product=("product", "sum"), denominator=("denominator", "sum"), rows=("value", "size")
    )
    out["england"] = out["product"] / out["denominator"]
    out["basis"] = (
        "derived: denominator-weighted mean of every row of the table, the no-PCN row included "
        "(the table has no England row)"
    )
    return out[["indicator_id", "family", "england", "rows", "denominator", "basis"]]


def stored_file() -> Path:
    """The shipped REAL PCN table."""
    return indicators_dir() / "real" / "qof_indicators" / "pcn_data_matrix.csv.gz"


def stored_mapping() -> Path:
    """Its layout mapping."""
    return indicators_dir() / "mappings" / "organisations_pcn_data_matrix.yml"
