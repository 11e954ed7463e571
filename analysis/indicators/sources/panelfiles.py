"""Reading the single files of a quality-indicator panel (CSV or Parquet), each validated.

Each reader raises one :class:`~analysis.core.datasets.DataError` naming the file, line
(row, for Parquet) and column of every problem it finds; :func:`analysis.indicators.sources.panel.
load_panel` calls them all and reports their problems together. The contract they check is
:mod:`analysis.indicators.sources.contract`.
"""

from __future__ import annotations

import os
import zlib
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.configschema import load_config
from analysis.core.datasets import DataError, read_table, validate_text_frame
from analysis.core.fastcache import cached_read
from analysis.indicators.sources import contract, schemas, tablefiles
from analysis.indicators.sources.contract import (
    DOMAINS,
    INDICATOR_SCHEMA,
    OBSERVATION_COLUMNS,
    OBSERVATION_DTYPES,
    OBSERVATION_FORMS,
    PANEL_CONFIG_SCHEMA,
    TRUTH_SCHEMA,
    UNIT_COLUMNS,
    catalogue_schema,
    check_catalogue,
    describe_lines,
    membership_schema,
    organisation_schema,
    raise_problems,
    validate_membership,
    validate_observations,
    values_to_counts,
    year_rows_to_spells,
)
from analysis.indicators.sources.spells import members_in_year
from analysis.paths import data_dir


def indicators_dir() -> Path:
    """The strand's data folder, ``data/indicators``."""
    return data_dir() / "indicators"


def synthetic_dir() -> Path:
    """Where the stored synthetic panel lives."""
    return indicators_dir() / "synthetic"


def catalogue_path() -> Path:
    """The indicator catalogue CSV."""
    return indicators_dir() / "published" / "indicator_catalogue.csv"


def _direction(values: pd.Series) -> pd.Series:
    """``true``/``false`` text as bool; blank (no direction) as missing (nullable bool)."""
    text = values.fillna("").str.lower()
    out = pd.Series(pd.array(text.map({"true": True, "false": False}), dtype="boolean"))
    out.index = values.index
    return out.astype(bool) if out.notna().all() else out


def read_catalogue(
    path: str | os.PathLike | None = None, *, domains: list[str] | None = None
) -> pd.DataFrame:
    """Read an indicator catalogue; ``higher_is_better`` becomes bool (missing: no direction).

    Parameters
    ----------
    path
        A user's catalogue (:func:`~analysis.indicators.sources.contract.catalogue_schema`); default
        the stored catalogue (:data:`~analysis.indicators.sources.contract.INDICATOR_SCHEMA`).
    domains
        Declared domains (``panel.yml``); a row with another domain is an error. The stored
        catalogue's are the study's four.

    Raises
    ------
    DataError
        Every schema problem, id clash and unknown domain, naming line and column.
    """
    stored = path is None or Path(path).resolve() == catalogue_path().resolve()
    path = catalogue_path() if path is None else Path(path)
    if stored:
        frame = read_table(path, INDICATOR_SCHEMA, unique=["indicator_id"])
        domains = list(DOMAINS)
    else:
        frame = tablefiles.read_checked(path, catalogue_schema)
    return _checked_catalogue(frame, str(path), domains)


def catalogue_from_frame(
    frame: pd.DataFrame, name: str, *, domains: list[str] | None = None
) -> pd.DataFrame:
    """A catalogue held in memory (text cells, as a reader makes it), checked as
    :func:`read_catalogue` checks a file; ``name`` is what messages call it."""
    text = frame.astype(object).where(frame.notna(), None)
    text = text.map(lambda v: None if v is None or v == "" else str(v))
    text.index = pd.RangeIndex(len(text))
    checked = validate_text_frame(name, text, catalogue_schema(list(frame.columns)))
    return _checked_catalogue(checked, name, domains)


def _checked_catalogue(frame: pd.DataFrame, name: str, domains: list[str] | None) -> pd.DataFrame:
    raise_problems(check_catalogue(frame, domains=domains), name)
    for column in ("unit", "scale", "single_year"):  # the analyses read these
        if column not in frame.columns:
            frame[column] = pd.array(
                [pd.NA] * len(frame), dtype="Int64" if column == "single_year" else "string"
            )
    return frame.assign(higher_is_better=_direction(frame["higher_is_better"]))


def read_panel_config(path: str | os.PathLike) -> dict:
    """``panel.yml`` checked against
    :data:`~analysis.indicators.sources.contract.PANEL_CONFIG_SCHEMA`."""
    return dict(load_config(path, PANEL_CONFIG_SCHEMA))


def read_membership(path: str | os.PathLike, *, check: bool = True) -> pd.DataFrame:
    """Read and check a membership file: spells, or one row per practice and year (turned into
    one-year spells); ``list_size`` optional. CSV or Parquet. ``check=False`` leaves the
    spells' order and overlaps to the caller (:func:`~analysis.indicators.sources.contract.
    validate_membership`)."""
    frame = tablefiles.read_checked(path, membership_schema)
    if "year" in frame.columns:
        frame = year_rows_to_spells(frame)
    if check:
        validate_membership(frame, name=str(path))
    return frame


def read_organisations(path: str | os.PathLike) -> pd.DataFrame:
    """Read an organisations file: ``case_study`` becomes bool (False where not given), a
    column whose every cell is a number becomes numeric, ``label`` defaults to the id."""
    frame = tablefiles.read_checked(path, organisation_schema)  # its id column is unique
    known = set(contract.KNOWN_CHARACTERISTICS)
    for name in frame.columns:
        if name in known:
            continue
        numbers = pd.to_numeric(frame[name], errors="coerce")
        if numbers.notna().sum() and numbers.notna().eq(frame[name].notna()).all():
            frame[name] = numbers.astype(float)
    if "label" not in frame.columns:
        frame.insert(1, "label", frame["organisation_id"])
    study = frame["case_study"] if "case_study" in frame.columns else pd.Series("", frame.index)
    return frame.assign(case_study=study.fillna("").str.lower().eq("true"))


def organisations_from_membership(
    membership: pd.DataFrame, years: list[int] | None = None, *, level: str = "practice"
) -> pd.DataFrame:
    """The organisations of a membership table, with the characteristics it gives.

    Used when a panel folder has no ``organisations`` file: ``n_practices`` is the number
    of member practices in the data's last year and ``list_size`` their summed list size
    where the membership gives one for every member (missing otherwise); an
    organisation-level table gives neither (its members are not known).
    """
    ids = sorted(membership["organisation_id"].unique())
    frame = pd.DataFrame({"organisation_id": ids, "label": ids})
    if level == "practice":
        year = max(years) if years else None
        spells = membership
        if year is not None:
            members = members_in_year(membership, year)
            spells = membership.merge(members, on=["practice_code", "organisation_id"])
            spells = spells.drop_duplicates("practice_code", keep="last")
        grouped = spells.groupby("organisation_id")
        counts = grouped["practice_code"].nunique()
        frame["n_practices"] = pd.array(frame["organisation_id"].map(counts), dtype="Int64")
        if "list_size" in spells.columns:
            sizes = grouped["list_size"].agg(lambda s: s.sum() if s.notna().all() else pd.NA)
            frame["list_size"] = pd.array(frame["organisation_id"].map(sizes), dtype="Int64")
    frame["case_study"] = False
    return frame


def read_truth(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the synthetic panel's truth table."""
    path = path or synthetic_dir() / "truth.csv"
    return read_table(path, TRUTH_SCHEMA, unique=["organisation_id", "indicator_id", "parameter"])


def read_national(path: Path) -> pd.DataFrame | None:
    """Published England rows (``england.csv``), or None where there is no such file."""
    if not path.exists():
        return None
    national = pd.read_csv(path)
    if not {"indicator_id", "year", "numerator", "denominator"} <= set(national.columns):
        raise DataError(
            f"{path}: line 1: expected columns indicator_id, year, numerator, denominator"
        )
    return national


def light_table(path: str | os.PathLike, columns: list[str]) -> pd.DataFrame | None:
    """``columns`` of a table as text, read without validation (``None`` if they cannot be
    read): enough of a failed file to check the run's parameters against it."""
    try:
        if tablefiles.is_parquet(path):
            return tablefiles.as_text(tablefiles.read_parquet(path, columns))
        return pd.read_csv(path, usecols=columns, dtype=str)
    except (DataError, OSError, ValueError, EOFError, zlib.error):
        return None


def observation_form(path: str | os.PathLike) -> tuple[str, str]:
    """The level (``practice``/``organisation``) and form (:data:`OBSERVATION_FORMS`) of an
    observation file, from its header."""
    header = tablefiles.header(path)
    levels = {column: level for level, column in UNIT_COLUMNS.items()}
    if header[:1] and header[0] in levels and header[1:3] == ["year", "indicator_id"]:
        for form, columns in OBSERVATION_FORMS.items():
            if header[3:] == columns:
                return levels[header[0]], form
    raise DataError(
        f"{path}: line 1: header {header}; expected exactly {OBSERVATION_COLUMNS} (or "
        "organisation_id first, for an organisation-level table; or value, or value and "
        "denominator, in place of numerator and denominator)"
    )


def read_observations(path: str | os.PathLike, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Read observations (``.csv``, ``.csv.gz`` or ``.parquet``) quickly and validate them.

    The C parser reads typed columns directly; only when a cell does not parse are the
    columns re-read as text so the error can name every bad line. The validated frame is
    kept as Parquet keyed by the file's content (:mod:`analysis.core.fastcache`): the same
    file is parsed and validated once. A value file comes back as counts
    (:func:`~analysis.indicators.sources.contract.values_to_counts`), a blank value as a row with a
    missing numerator (the caller counts and sets these aside).

    Raises
    ------
    DataError
        Missing file, wrong header, unparsable or invalid cells (naming the lines).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: file not found; expected a CSV with columns {OBSERVATION_COLUMNS}"
        )
    reader = partial(_read_observations, catalogue=catalogue)
    return cached_read(path, reader, extra=[catalogue], modules=[contract, schemas, tablefiles])


def _read_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    dtypes = {c: OBSERVATION_DTYPES[c] for c in columns}
    try:
        return pd.read_csv(path, dtype=dtypes)
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: malformed CSV ({' '.join(str(err).split())})") from None
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: truncated or corrupt gzip file ({err})") from None
    except ValueError as err:
        raise_problems(_unparsable(pd.read_csv(path, dtype=str), columns), str(path))
        raise DataError(f"{path}: cannot be read ({err})") from None


def _read_parquet(path: Path, columns: list[str]) -> pd.DataFrame:
    frame = tablefiles.read_parquet(path)  # the header is exactly ``columns`` (checked)
    raise_problems(_unparsable(frame, columns), str(path))
    for column in columns:
        kind = OBSERVATION_DTYPES[column]
        if kind is str:
            frame[column] = frame[column].astype(str).where(frame[column].notna())
        else:
            frame[column] = pd.to_numeric(frame[column]).astype(kind)
    return frame


def _read_observations(path: Path, catalogue: pd.DataFrame) -> pd.DataFrame:
    level, form = observation_form(path)
    unit = UNIT_COLUMNS[level]
    columns = [unit, "year", "indicator_id", *OBSERVATION_FORMS[form]]
    parquet = tablefiles.is_parquet(path)
    try:
        frame = _read_parquet(path, columns) if parquet else _read_csv(path, columns)
        if frame.empty:
            raise DataError(f"{path}: header only, no data rows")
        if form == "counts":
            return validate_observations(frame, catalogue, name=str(path), unit=unit)
        return values_as_counts(frame, catalogue, form, unit, str(path))
    except DataError as err:
        raise DataError(tablefiles.rows_wording(str(err)) if parquet else str(err)) from None


def values_as_counts(
    frame: pd.DataFrame, catalogue: pd.DataFrame, form: str, unit: str, name: str
) -> pd.DataFrame:
    """A value file as counts, validated; blank values kept as missing numerators."""
    blank = frame["value"].isna()
    problems = []
    if form == "value_denominator":
        no_denominator = ~blank & frame["denominator"].isna()
        if no_denominator.any():
            problems.append(
                f"column 'denominator': missing on {describe_lines(frame, no_denominator)} "
                "where a value is given; expected a denominator on every row with a value "
                "(or no denominator column: values analysed as continuous)"
            )
    counts, value_problems = values_to_counts(frame[~blank], catalogue, form)
    problems += value_problems
    try:
        # rows without a denominator are reported above
        counts = validate_observations(
            counts.dropna(subset=["denominator"]), catalogue, unit=unit, whole_counts=False
        )
    except DataError as err:  # its lines, without its first (naming no file)
        problems += [line.strip() for line in str(err).splitlines()[1:]]
    raise_problems(problems, name)
    empty = frame.loc[blank, [unit, "year", "indicator_id"]].assign(
        numerator=np.nan, denominator=np.nan
    )
    return pd.concat([counts, empty]).sort_index()


def _unparsable(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    problems = []
    for column in columns:
        if OBSERVATION_DTYPES[column] is str:
            continue
        values = frame[column]
        bad = pd.to_numeric(values, errors="coerce").isna() & values.notna()
        if column == "year" or (column in ("numerator", "denominator") and "value" not in columns):
            bad |= values.isna()
        if bad.any():
            problems.append(
                f"column {column!r}: missing or not a number on {describe_lines(frame, bad)}"
            )
    return problems
