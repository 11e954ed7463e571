"""Quality-indicator panel: the indicator catalogue, the practice panel and its synthetic version.

Data contract
-------------
A panel is four tables, each validated on reading (errors name file, line and column):

``observations``
    The tidy contract: one row per ``practice_code``, ``year``, ``indicator_id`` with a
    ``numerator`` (>= 0) and a ``denominator`` (> 0). ``year`` is the start of the financial
    year (2009 means 2009/10), 2009 to 2014. For binomial indicators the numerator may not
    exceed the denominator; the indicator must be in the catalogue and the year within the
    indicator's ``years_available``.
``membership``
    ``practice_code``, ``organisation_id``, ``joined``, ``left``: the practice is a member in
    financial years ``joined <= year < left`` (``left`` empty: still a member at the end).
    A practice in two organisations in overlapping years is an error.
``organisations``
    One row per large-scale organisation (ORG01..ORG08): label, form, number of practices,
    list size, CCGs spanned, rurality and whether it was a case-study site.
``catalogue``
    ``data/indicators/published/indicator_catalogue.csv``: the 15 indicators (see
    :data:`INDICATOR_SCHEMA`), with ``definition_source`` ``published`` where the research
    summary {cite}`rosen2016bigger` states the indicator and ``assumed`` where we chose a
    standard public definition.

The synthetic national panel (SYNTHETIC, illustrative; not study data)
-----------------------------------------------------------------------
:func:`generate_panel` draws about 7,000 practices x 6 years x 15 indicators. For practice
``p`` in year ``t`` and indicator ``i`` the linear predictor on the link scale (log for
``poisson`` indicators, logit for ``binomial``) is::

    eta = national_level[i] + national_trend[i] * (t - 2009)
          + u[p, i]                                   # between-practice, SD between_practice_sd
          + e[p, t, i]                                # practice-year noise, SD practice_year_sd
          + level_log_ratio[o, i] + trend_log_ratio[o, i] * (t - 2009)   # if p in o in year t

* List sizes are lognormal (median about 6,800 patients, clipped to 1,000-40,000) and grow
  about 1% a year; rate indicators count events among registered patients
  (numerator ~ Poisson(list size x rate)).
* Broad-spectrum antibiotic items are binomial out of the practice's antibacterial items;
  emergency readmissions are binomial out of discharges (Poisson, about 10% of the list);
  QOF points are binomial out of illustrative points available (1,000 total, 650 clinical,
  170 organisational: not the real QOF maxima); GP patient survey items are binomial out of
  the respondents to each item (about 118 respondents per practice, 100-115 per item).
* Eight organisations of 12 to 100 practices; founding members joined 2004-2009, about a
  fifth of the final members joined during 2010-2014, about 6% left, and two practices
  moved from one organisation to another. ORG01-ORG03 are flagged as case-study sites.
* The published findings {cite}`rosen2016bigger` are the truth: prescribing improves
  nationally and six of eight organisations improve faster (``trend_log_ratio`` -0.04 a
  year, i.e. better for these lower-is-better indicators), some from a worse level;
  hospital use and patient satisfaction deteriorate nationally and every organisation
  follows the national trend (``trend_log_ratio`` 0); QOF has no trend and four of eight
  organisations are better (``level_log_ratio`` +0.4 on the logit scale); the three
  case-study organisations are better on more than half of the 15 indicators, no
  organisation is better (or worse) on all; between-practice spread (``u``) is constant
  over time, so variation between member practices does not fall; organisation effects
  are set without regard to size, form or rurality (no association).
* The truth table lists, per indicator, the national parameters (``organisation_id``
  ``ENGLAND``: ``national_level``, ``national_trend``, ``between_practice_sd``,
  ``practice_year_sd``) and per organisation ``level_log_ratio``, ``trend_log_ratio`` and
  ``mean_practice_effect`` (the mean ``u`` of the practices that were ever members: the
  finite-sample part of an organisation's level that is not in ``level_log_ratio``).
  Effects are conditional (practice-level) on the link scale; a population-averaged logit
  GLM estimates them attenuated by roughly ``1 / sqrt(1 + 0.346 * sd**2)``, a log-link GLM
  does not attenuate trends.

The stored copy lives in ``data/indicators/synthetic/`` (``observations.csv.gz``,
``membership.csv``, ``organisations.csv``, ``truth.csv``); ``python -m analysis.indicators.panel
--write`` regenerates it byte-identically from the default seed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import (
    MAX_REPORTED,
    DataError,
    atomic_path,
    file_line,
    read_table,
    write_csv,
)
from analysis.paths import data_dir

FIRST_YEAR, LAST_YEAR = 2009, 2014
YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))
DOMAINS = ("prescribing", "hospital_use", "qof", "patient_satisfaction")
DISTRIBUTIONS = ("binomial", "poisson")
FORMS = ("network", "federation", "super-partnership", "multisite")
RURALITY = ("urban", "rural", "mixed")
NATIONAL = "ENGLAND"
TRUTH_PARAMETERS = (
    "national_level",
    "national_trend",
    "between_practice_sd",
    "practice_year_sd",
    "level_log_ratio",
    "trend_log_ratio",
    "mean_practice_effect",
)
OBSERVATION_COLUMNS = ["practice_code", "year", "indicator_id", "numerator", "denominator"]
KEY = ["practice_code", "year", "indicator_id"]
OBSERVATION_DTYPES = {
    "practice_code": str,
    "year": "int64",
    "indicator_id": str,
    "numerator": "float64",
    "denominator": "float64",
}
DEFAULT_SEED = 20160701
SYNTHETIC_FILES = {
    "observations": "observations.csv.gz",
    "membership": "membership.csv",
    "organisations": "organisations.csv",
    "truth": "truth.csv",
}


def indicators_dir() -> Path:
    """The strand's data folder, ``data/indicators``."""
    return data_dir() / "indicators"


def synthetic_dir() -> Path:
    """Where the stored synthetic panel lives."""
    return indicators_dir() / "synthetic"


def catalogue_path() -> Path:
    """The indicator catalogue CSV."""
    return indicators_dir() / "published" / "indicator_catalogue.csv"


def _boolean_text() -> pa.Check:
    return pa.Check(lambda s: s.str.lower().isin(["true", "false"]), error="one of true/false")


_ID = r"^[A-Z]{3}\d{2}$"
_CODE = r"^[A-Za-z0-9]{1,20}$"


def _matches(pattern: str) -> pa.Check:
    """``str_matches`` evaluated once per distinct value (fast on long columns)."""

    def check(values: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(values)
        ok = pd.Series(uniques).str.fullmatch(pattern).to_numpy(dtype=bool)
        return pd.Series(np.where(codes >= 0, ok[codes], False), index=values.index)

    return pa.Check(check, name="str_matches", error=f"str_matches('{pattern}')")


INDICATOR_SCHEMA = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, pa.Check.str_matches(_ID)),
        "name": pa.Column(str),
        "domain": pa.Column(str, pa.Check.isin(DOMAINS)),
        "numerator": pa.Column(str),
        "denominator": pa.Column(str),
        "unit": pa.Column(str),
        "distribution": pa.Column(str, pa.Check.isin(DISTRIBUTIONS)),
        "higher_is_better": pa.Column(str, _boolean_text()),
        "data_source": pa.Column(str),
        "years_available": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{4}$")),
        "single_year": pa.Column(
            "Int64", pa.Check.in_range(FIRST_YEAR, LAST_YEAR), nullable=True, coerce=True
        ),
        "definition_source": pa.Column(str, pa.Check.isin(["published", "assumed"])),
        "definition_note": pa.Column(str),
        "source_file": pa.Column(str),
        "source_lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "source_location": pa.Column(str),
        "note": pa.Column(str, nullable=True),
    },
    strict=True,
    ordered=True,
)
"""Schema of the indicator catalogue file (booleans stored as ``true``/``false`` text)."""

PANEL_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, _matches(_CODE)),
        "year": pa.Column("int64", pa.Check.in_range(FIRST_YEAR, LAST_YEAR), coerce=True),
        "indicator_id": pa.Column(str, _matches(_ID)),
        "numerator": pa.Column("float64", pa.Check.ge(0), coerce=True),
        "denominator": pa.Column("float64", pa.Check.gt(0), coerce=True),
    },
    strict=True,
    ordered=True,
)
"""Tidy observation contract: one row per practice, year and indicator."""

MEMBERSHIP_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, pa.Check.str_length(1, 20)),
        "organisation_id": pa.Column(str, pa.Check.str_matches(r"^ORG\d{2}$")),
        "joined": pa.Column("Int64", pa.Check.in_range(1990, LAST_YEAR), coerce=True),
        "left": pa.Column(
            "Int64", pa.Check.in_range(FIRST_YEAR + 1, LAST_YEAR + 1), nullable=True, coerce=True
        ),
    },
    strict=True,
    ordered=True,
)
"""Membership spells: member in financial years ``joined <= year < left``."""

ORGANISATION_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str, pa.Check.str_matches(r"^ORG\d{2}$"), unique=True),
        "label": pa.Column(str),
        "form": pa.Column(str, pa.Check.isin(FORMS)),
        "n_practices": pa.Column("Int64", pa.Check.ge(1), coerce=True),
        "list_size": pa.Column("Int64", pa.Check.ge(1), coerce=True),
        "ccgs_spanned": pa.Column("Int64", pa.Check.ge(1), coerce=True),
        "rurality": pa.Column(str, pa.Check.isin(RURALITY)),
        "case_study": pa.Column(str, _boolean_text()),
    },
    strict=True,
    ordered=True,
)
"""Organisation characteristics (``case_study`` stored as ``true``/``false`` text)."""

TRUTH_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str, pa.Check.str_matches(rf"^(ORG\d{{2}}|{NATIONAL})$")),
        "indicator_id": pa.Column(str, pa.Check.str_matches(_ID)),
        "parameter": pa.Column(str, pa.Check.isin(TRUTH_PARAMETERS)),
        "value": pa.Column("float64", coerce=True),
    },
    strict=True,
    ordered=True,
)
"""What the synthetic data-generating process put in (link scale)."""


@dataclass
class Panel:
    """A validated indicator panel.

    Attributes
    ----------
    observations
        Tidy counts (:data:`PANEL_SCHEMA`), sorted by practice, year and indicator.
    membership
        Membership spells (:data:`MEMBERSHIP_SCHEMA`).
    organisations
        Organisation characteristics; ``case_study`` as bool.
    catalogue
        Indicator catalogue; ``higher_is_better`` as bool.
    tier
        ``"synthetic"`` for the stored synthetic panel, ``"user"`` for user data.
    """

    observations: pd.DataFrame
    membership: pd.DataFrame
    organisations: pd.DataFrame
    catalogue: pd.DataFrame
    tier: str


# --------------------------------------------------------------------------- validation


def describe_lines(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> str:
    """``"line(s) 3, 7 and 2 more"``: the file lines of the rows where ``mask`` is true."""
    index = frame.index[np.asarray(mask, dtype=bool)]
    shown = ", ".join(str(file_line(i)) for i in index[:MAX_REPORTED])
    more = f" and {len(index) - MAX_REPORTED} more" if len(index) > MAX_REPORTED else ""
    return f"line(s) {shown}{more}"


def _raise_if(problems: list[str], name: str) -> None:
    if problems:
        raise DataError(f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


def _to_bool(values: pd.Series) -> pd.Series:
    return values.str.lower().eq("true")


def _year_bounds(catalogue: pd.DataFrame) -> pd.DataFrame:
    bounds = catalogue["years_available"].str.split("-", expand=True).astype(int)
    return pd.DataFrame(
        {"first": bounds[0].to_numpy(), "last": bounds[1].to_numpy()},
        index=catalogue["indicator_id"].to_numpy(),
    )


def _year_window(indicator_ids: pd.Series, catalogue: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """First and last year available for each row's indicator (NaN for unknown ids)."""
    codes, uniques = pd.factorize(indicator_ids)
    bounds = _year_bounds(catalogue).reindex(uniques)
    return tuple(bounds[c].to_numpy(dtype=float)[codes] for c in ("first", "last"))


def validate_observations(
    observations: pd.DataFrame, catalogue: pd.DataFrame, name: str = "observations"
) -> pd.DataFrame:
    """Check tidy observations against the contract and the catalogue.

    Parameters
    ----------
    observations
        Columns of :data:`PANEL_SCHEMA`; the index is the 0-based data row of the file
        (reported as file line ``index + 2``).
    catalogue
        The indicator catalogue (:func:`read_catalogue`).
    name
        File name used in messages.

    Returns
    -------
    pandas.DataFrame
        The observations, type-coerced.

    Raises
    ------
    DataError
        Naming the lines with missing or negative counts, a numerator above the
        denominator of a binomial indicator, unknown indicator ids, years outside the data
        or duplicated practice-year-indicator rows.
    """
    problems = []
    for column in ("numerator", "denominator"):
        values = pd.to_numeric(observations[column], errors="coerce")
        if values.isna().any():
            problems.append(
                f"column {column!r}: missing or not a number on "
                f"{describe_lines(observations, values.isna())}"
            )
    _raise_if(problems, name)
    try:
        frame = PANEL_SCHEMA.validate(observations, lazy=True)
    except pa.errors.SchemaErrors as err:
        _raise_if(_schema_problems(err.failure_cases), name)
    known = frame["indicator_id"].isin(catalogue["indicator_id"])
    unknown = sorted(frame.loc[~known, "indicator_id"].unique())[:MAX_REPORTED]
    first, last = _year_window(frame["indicator_id"], catalogue)
    binomial = catalogue.loc[catalogue["distribution"] == "binomial", "indicator_id"]
    checks = {
        f"unknown indicator id(s) {unknown} (not in the catalogue)": ~known,
        "year outside the indicator's years_available": (
            known & ((frame["year"] < first) | (frame["year"] > last))
        ),
        "numerator greater than denominator (binomial indicator)": (
            frame["indicator_id"].isin(binomial) & (frame["numerator"] > frame["denominator"])
        ),
        f"duplicated practice-year-indicator rows {KEY}": _duplicated_key(frame),
    }
    for label, mask in checks.items():
        if mask.any():
            problems.append(f"{label} on {describe_lines(frame, mask)}")
    _raise_if(problems, name)
    return frame


def _duplicated_key(frame: pd.DataFrame) -> pd.Series:
    """``frame.duplicated(KEY, keep=False)`` on one integer key (fast on long columns)."""
    practice = pd.factorize(frame["practice_code"])[0].astype(np.int64)
    indicator = pd.factorize(frame["indicator_id"])[0].astype(np.int64)
    year = frame["year"].to_numpy(dtype=np.int64) - FIRST_YEAR
    key = (practice * (indicator.max() + 1) + indicator) * (LAST_YEAR - FIRST_YEAR + 1) + year
    return pd.Series(key, index=frame.index).duplicated(keep=False)


def _schema_problems(cases: pd.DataFrame) -> list[str]:
    problems = []
    for (column, check), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        index = group["index"].dropna().astype(int).to_numpy()
        values = group["failure_case"].astype(str).tolist()[:3]
        where = ", ".join(str(file_line(i)) for i in index[:MAX_REPORTED])
        more = f" and {len(index) - MAX_REPORTED} more" if len(index) > MAX_REPORTED else ""
        problems.append(
            f"column {column!r}: {check} fails on line(s) {where}{more} (values {values})"
        )
    return problems


def validate_membership(
    membership: pd.DataFrame,
    organisations: pd.DataFrame | None = None,
    practices: pd.Series | None = None,
    name: str = "membership",
) -> pd.DataFrame:
    """Check membership spells: ordered years, no overlaps, known organisations and practices.

    Parameters
    ----------
    membership
        Columns of :data:`MEMBERSHIP_SCHEMA` (index = 0-based data row of the file).
    organisations
        If given, every ``organisation_id`` must be listed there.
    practices
        If given, every member practice must have observations.
    name
        File name used in messages.

    Raises
    ------
    DataError
        Naming the lines of a spell that ends before it starts, of a practice in two
        organisations (or twice in one) in overlapping years, of an unknown organisation
        or of a practice without observations.
    """
    problems = []
    bad_order = membership["left"].notna() & (membership["left"] <= membership["joined"])
    if bad_order.any():
        problems.append(f"'left' not after 'joined' on {describe_lines(membership, bad_order)}")
    spells = membership.assign(
        _line=membership.index.map(file_line),
        _end=membership["left"].fillna(LAST_YEAR + 100),
    ).sort_values(["practice_code", "joined", "_line"])
    same = spells["practice_code"].eq(spells["practice_code"].shift())
    overlap = same & (spells["joined"] < spells["_end"].shift())
    for i in np.flatnonzero(overlap.to_numpy()):
        a, b = spells.iloc[i - 1], spells.iloc[i]
        problems.append(
            f"practice {b['practice_code']!r} is in {a['organisation_id']} (line {a['_line']}) "
            f"and {b['organisation_id']} (line {b['_line']}) in overlapping years"
        )
    if organisations is not None:
        unknown = ~membership["organisation_id"].isin(organisations["organisation_id"])
        if unknown.any():
            where = describe_lines(membership, unknown)
            problems.append(f"organisation_id not in the organisations table on {where}")
    if practices is not None:
        absent = ~membership["practice_code"].isin(practices)
        if absent.any():
            problems.append(
                f"practice_code with no observations on {describe_lines(membership, absent)}"
            )
    _raise_if(problems[: MAX_REPORTED + 1], name)
    return membership


def validate_panel(panel: Panel) -> Panel:
    """Validate every table of ``panel`` and their cross-references; returns the panel."""
    validate_observations(panel.observations, panel.catalogue)
    practices = pd.Series(panel.observations["practice_code"].unique())
    validate_membership(panel.membership, panel.organisations, practices)
    if panel.tier not in ("synthetic", "user"):
        raise DataError(f"panel tier {panel.tier!r}: expected 'synthetic' or 'user'")
    return panel


# --------------------------------------------------------------------------- reading


def read_catalogue(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the indicator catalogue; ``higher_is_better`` becomes bool."""
    frame = read_table(path or catalogue_path(), INDICATOR_SCHEMA, unique=["indicator_id"])
    return frame.assign(higher_is_better=_to_bool(frame["higher_is_better"]))


def read_membership(path: str | os.PathLike) -> pd.DataFrame:
    """Read and check a membership file (:data:`MEMBERSHIP_SCHEMA`)."""
    frame = read_table(path, MEMBERSHIP_SCHEMA)
    return validate_membership(frame, name=str(path))


def read_organisations(path: str | os.PathLike) -> pd.DataFrame:
    """Read an organisations file; ``case_study`` becomes bool."""
    frame = read_table(path, ORGANISATION_SCHEMA)
    return frame.assign(case_study=_to_bool(frame["case_study"]))


def read_truth(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the synthetic panel's truth table."""
    path = path or synthetic_dir() / SYNTHETIC_FILES["truth"]
    return read_table(path, TRUTH_SCHEMA, unique=["organisation_id", "indicator_id", "parameter"])


def _header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            return handle.readline().rstrip("\r\n").split(",")
    except (OSError, UnicodeDecodeError, EOFError) as err:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({err})") from None


def read_observations(path: str | os.PathLike, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Read tidy observations (``.csv`` or ``.csv.gz``) quickly and validate them.

    The C parser reads typed columns directly; only when a cell does not parse are the
    columns re-read as text so the error can name every bad line.

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
    header = _header(path)
    if header != OBSERVATION_COLUMNS:
        raise DataError(f"{path}: line 1: header {header}; expected exactly {OBSERVATION_COLUMNS}")
    try:
        frame = pd.read_csv(path, dtype=OBSERVATION_DTYPES)
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: malformed CSV ({err})") from None
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(f"{path}: truncated or corrupt gzip file ({err})") from None
    except ValueError as err:
        _raise_if(_unparsable(pd.read_csv(path, dtype=str)), str(path))
        raise DataError(f"{path}: cannot be read ({err})") from None
    if frame.empty:
        raise DataError(f"{path}: header only, no data rows")
    return validate_observations(frame, catalogue, name=str(path))


def _unparsable(frame: pd.DataFrame) -> list[str]:
    problems = []
    for column in ("year", "numerator", "denominator"):
        bad = pd.to_numeric(frame[column], errors="coerce").isna()
        if bad.any():
            problems.append(
                f"column {column!r}: missing or not a number on {describe_lines(frame, bad)}"
            )
    return problems


def _find_observations(folder: Path) -> Path:
    for file_name in ("observations.csv.gz", "observations.csv"):
        if (folder / file_name).exists():
            return folder / file_name
    raise DataError(f"{folder}: no observations.csv or observations.csv.gz")


def load_panel(source: str | os.PathLike | None = None) -> Panel:
    """Load and validate a panel.

    Parameters
    ----------
    source
        ``None`` or ``""``: the stored synthetic panel (tier ``synthetic``). A folder:
        the same layout (``observations.csv[.gz]``, ``membership.csv``,
        ``organisations.csv`` and optionally its own ``indicator_catalogue.csv``). A tidy
        observations CSV: ``membership.csv`` and ``organisations.csv`` are read from the
        same folder. Anything but the stored synthetic folder is tier ``user``.

    Returns
    -------
    Panel

    Raises
    ------
    DataError
        With file, line and column of whatever does not meet the contract.
    """
    stored = synthetic_dir().resolve()
    blank = source is None or not str(source).strip()
    path = stored if blank else Path(source).expanduser().resolve()
    if not path.exists():
        raise DataError(f"{path}: panel source not found")
    folder = path if path.is_dir() else path.parent
    obs_path = _find_observations(folder) if path.is_dir() else path
    own_catalogue = folder / "indicator_catalogue.csv"
    catalogue = read_catalogue(own_catalogue if own_catalogue.exists() else None)
    observations = read_observations(obs_path, catalogue)
    organisations = read_organisations(folder / "organisations.csv")
    membership = read_table(folder / "membership.csv", MEMBERSHIP_SCHEMA)
    practices = pd.Series(observations["practice_code"].unique())
    validate_membership(membership, organisations, practices, name=str(folder / "membership.csv"))
    tier = "synthetic" if folder == stored else "user"
    return Panel(observations, membership, organisations, catalogue, tier)


def members_in_year(membership: pd.DataFrame, year: int) -> pd.DataFrame:
    """Practices that are members in financial year ``year`` (``joined <= year < left``).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``organisation_id``, sorted, one row per member practice.
    """
    left = membership["left"].fillna(LAST_YEAR + 100)
    mask = (membership["joined"] <= year) & (left > year)
    out = membership.loc[mask.to_numpy(dtype=bool), ["practice_code", "organisation_id"]]
    return out.sort_values(["organisation_id", "practice_code"]).reset_index(drop=True)


def membership_by_year(membership: pd.DataFrame, years: tuple[int, ...] = YEARS) -> pd.DataFrame:
    """Every member practice-year: ``practice_code``, ``year``, ``organisation_id``."""
    frames = [members_in_year(membership, y).assign(year=y) for y in years]
    out = pd.concat(frames, ignore_index=True)[["practice_code", "year", "organisation_id"]]
    return out.sort_values(["practice_code", "year"]).reset_index(drop=True)


def attach_organisation(observations: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Observations with the ``organisation_id`` of the practice in that year (NaN if none)."""
    years = tuple(int(y) for y in np.unique(observations["year"]))
    spells = membership_by_year(membership, years)
    return observations.merge(spells, on=["practice_code", "year"], how="left", validate="m:1")


# --------------------------------------------------------------------------- synthetic panel

# indicator -> national level at 2009 (link scale), national trend per year, between-practice SD,
# practice-year SD and what the denominator counts. Levels are illustrative round numbers.
_DGP = {
    "PRE01": (np.log(0.65), -0.02, 0.20, 0.05, "list"),
    "PRE02": (np.log(0.20 / 0.80), -0.05, 0.30, 0.05, "PRE01"),
    "PRE03": (np.log(0.12), -0.02, 0.35, 0.05, "list"),
    "PRE04": (np.log(0.30), -0.04, 0.25, 0.05, "list"),
    "HOS01": (np.log(0.090), 0.02, 0.20, 0.04, "list"),
    "HOS02": (np.log(0.014), 0.02, 0.25, 0.05, "list"),
    "HOS03": (np.log(0.30), 0.03, 0.25, 0.04, "list"),
    "HOS04": (np.log(0.12 / 0.88), 0.02, 0.15, 0.05, "discharges"),
    "QOF01": (np.log(0.96 / 0.04), 0.0, 0.50, 0.10, "points:1000"),
    "QOF02": (np.log(0.95 / 0.05), 0.0, 0.50, 0.10, "points:650"),
    "QOF03": (np.log(0.97 / 0.03), 0.0, 0.60, 0.10, "points:170"),
    "SAT01": (np.log(0.80 / 0.20), -0.08, 0.60, 0.10, "survey:0.97"),
    "SAT02": (np.log(0.88 / 0.12), -0.05, 0.40, 0.10, "survey:0.95"),
    "SAT03": (np.log(0.40 / 0.60), -0.05, 0.50, 0.10, "survey:0.90"),
    "SAT04": (np.log(0.80 / 0.20), -0.03, 0.30, 0.10, "survey:0.96"),
}

# organisation_id -> label, form, target members in 2014, CCGs spanned, rurality, case study
_ORGANISATIONS = {
    "ORG01": ("Synthetic multisite A", "multisite", 20, 12, "urban", True),
    "ORG02": ("Synthetic federation B", "federation", 21, 1, "urban", True),
    "ORG03": ("Synthetic super-partnership C", "super-partnership", 16, 3, "urban", True),
    "ORG04": ("Synthetic federation D", "federation", 100, 3, "mixed", False),
    "ORG05": ("Synthetic network E", "network", 55, 2, "rural", False),
    "ORG06": ("Synthetic federation F", "federation", 38, 1, "mixed", False),
    "ORG07": ("Synthetic network G", "network", 27, 1, "rural", False),
    "ORG08": ("Synthetic multisite H", "multisite", 12, 4, "urban", False),
}
_CASE_STUDIES = ("ORG01", "ORG02", "ORG03")
_PRESCRIBING = ("PRE01", "PRE02", "PRE03", "PRE04")


def _organisation_effects() -> pd.DataFrame:
    """True organisation effects (link scale) encoding the published findings."""
    rows = []
    for org in _ORGANISATIONS:
        for ind in _DGP:
            level, trend = 0.0, 0.0
            if ind in _PRESCRIBING:
                trend = -0.04 if org not in ("ORG07", "ORG08") else 0.0
                level = {"ORG04": 0.10, "ORG05": 0.10}.get(
                    org, -0.05 if org in _CASE_STUDIES else 0
                )
            elif ind.startswith("QOF"):
                level = {"ORG01": 0.4, "ORG02": 0.4, "ORG03": 0.4, "ORG06": 0.4, "ORG08": -0.3}.get(
                    org, 0.0
                )
            elif org in _CASE_STUDIES and ind in ("HOS01", "HOS03"):
                level = -0.10
            elif org in _CASE_STUDIES and ind in ("SAT02", "SAT04"):
                level = 0.20
            else:
                level = {("ORG08", "HOS01"): 0.10, ("ORG04", "SAT01"): -0.20}.get((org, ind), 0.0)
                level = {("ORG07", "SAT03"): 0.20}.get((org, ind), level)
            rows.append((org, ind, float(level), float(trend)))
    return pd.DataFrame(rows, columns=["organisation_id", "indicator_id", "level", "trend"])


def _draw_membership(rng: np.random.Generator, n_practices: int) -> pd.DataFrame:
    """Membership spells: founders, joiners, leavers and two practices that move."""
    sizes = [spec[2] for spec in _ORGANISATIONS.values()]
    extra = [round(0.06 * n) for n in sizes]
    needed = sum(sizes) + sum(extra)
    if n_practices < 2 * needed:
        raise ValueError(f"n_practices={n_practices} is too small; need at least {2 * needed}")
    chosen = rng.choice(n_practices, size=needed, replace=False)
    rows, start = [], 0
    for org, n, n_leave in zip(_ORGANISATIONS, sizes, extra, strict=True):
        ids = chosen[start : start + n + n_leave]
        start += n + n_leave
        n_join = round(0.2 * n)
        joined = rng.integers(2004, FIRST_YEAR + 1, size=len(ids))
        joined[:n_join] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, size=n_join)
        left = np.full(len(ids), -1)
        left[n_join : n_join + n_leave] = rng.integers(FIRST_YEAR + 1, LAST_YEAR + 1, size=n_leave)
        rows += [(int(i), org, int(j), int(k)) for i, j, k in zip(ids, joined, left, strict=True)]
    frame = pd.DataFrame(rows, columns=["practice", "organisation_id", "joined", "left"])
    movers = frame.index[(frame["organisation_id"] == "ORG05") & (frame["left"] < 0)][-2:]
    frame.loc[movers, "left"] = 2012
    moved = frame.loc[movers].assign(organisation_id="ORG07", joined=2012, left=-1)
    frame = pd.concat([frame, moved], ignore_index=True)
    frame["left"] = frame["left"].where(frame["left"] > 0).astype("Int64")
    frame["joined"] = frame["joined"].astype("Int64")
    return frame


def _member_matrix(membership: pd.DataFrame, n_practices: int, orgs: list[str]) -> np.ndarray:
    """Organisation index (or -1) of every practice in every year, shape (practices, years)."""
    matrix = np.full((n_practices, len(YEARS)), -1)
    for t, year in enumerate(YEARS):
        members = membership[
            (membership["joined"] <= year) & (membership["left"].fillna(9999) > year)
        ]
        matrix[members["practice"].to_numpy(), t] = members["organisation_id"].map(
            {o: k for k, o in enumerate(orgs)}
        )
    return matrix


def _denominators(
    kind: str, rng: np.random.Generator, lists: np.ndarray, responses: np.ndarray, counts: dict
) -> np.ndarray:
    if kind == "list":
        return lists
    if kind in counts:
        return np.maximum(counts[kind], 1)
    if kind == "discharges":
        return np.maximum(rng.poisson(0.10 * lists), 1)
    name, _, value = kind.partition(":")
    if name == "points":
        return np.full(lists.shape, int(value))
    return np.maximum(rng.binomial(responses, float(value)), 1)


def _draw_counts(
    rng: np.random.Generator, catalogue: pd.DataFrame, member: np.ndarray, effects: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numerators, denominators (practices x years x indicators) and practice effects u."""
    n_p, n_t = member.shape
    base = np.clip(np.exp(rng.normal(np.log(6800), 0.55, n_p)), 1000, 40000)
    growth = 0.01 * np.arange(n_t) + rng.normal(0, 0.02, (n_p, n_t))
    lists = np.round(base[:, None] * np.exp(growth)).astype(np.int64)
    responses = rng.binomial(320, 0.37, (n_p, n_t))
    ids = sorted(catalogue["indicator_id"])
    dist = dict(zip(catalogue["indicator_id"], catalogue["distribution"], strict=True))
    level = effects.pivot(index="organisation_id", columns="indicator_id", values="level")
    trend = effects.pivot(index="organisation_id", columns="indicator_id", values="trend")
    years = np.arange(n_t)[None, :]
    num = np.zeros((n_p, n_t, len(ids)))
    den = np.zeros((n_p, n_t, len(ids)))
    u = np.zeros((n_p, len(ids)))
    counts: dict[str, np.ndarray] = {}
    for k, ind in enumerate(ids):
        nat_level, nat_trend, sd, noise, kind = _DGP[ind]
        u[:, k] = rng.normal(0, sd, n_p)
        org_level = np.append(level[ind].to_numpy(), 0.0)[member]
        org_trend = np.append(trend[ind].to_numpy(), 0.0)[member]
        eta = nat_level + nat_trend * years + u[:, k, None] + org_level + org_trend * years
        eta = eta + rng.normal(0, noise, (n_p, n_t))
        den[:, :, k] = _denominators(kind, rng, lists, responses, counts)
        if dist[ind] == "poisson":
            num[:, :, k] = rng.poisson(den[:, :, k] * np.exp(eta))
        else:
            num[:, :, k] = rng.binomial(den[:, :, k].astype(np.int64), 1 / (1 + np.exp(-eta)))
        counts[ind] = num[:, :, k].astype(np.int64)
    return num, den, u, lists


def _truth_table(effects: pd.DataFrame, membership: pd.DataFrame, u: np.ndarray, ids: list[str]):
    national = [
        (NATIONAL, ind, name, float(value))
        for ind in ids
        for name, value in zip(TRUTH_PARAMETERS[:4], _DGP[ind][:4], strict=True)
    ]
    rows = []
    for org, group in membership.groupby("organisation_id"):
        mean_u = u[np.unique(group["practice"].to_numpy())].mean(axis=0)
        for k, ind in enumerate(ids):
            eff = effects[(effects["organisation_id"] == org) & (effects["indicator_id"] == ind)]
            rows += [
                (org, ind, "level_log_ratio", float(eff["level"].iloc[0])),
                (org, ind, "trend_log_ratio", float(eff["trend"].iloc[0])),
                (org, ind, "mean_practice_effect", float(mean_u[k])),
            ]
    truth = pd.DataFrame(national + rows, columns=list(TRUTH_SCHEMA.columns))
    return truth.sort_values(["organisation_id", "indicator_id", "parameter"], ignore_index=True)


def _organisation_table(membership: pd.DataFrame, lists: np.ndarray) -> pd.DataFrame:
    final = membership[(membership["joined"] <= LAST_YEAR) & membership["left"].isna()]
    rows = []
    for org, (label, form, _, ccgs, rurality, case) in _ORGANISATIONS.items():
        practices = final.loc[final["organisation_id"] == org, "practice"].to_numpy()
        total = int(lists[practices, -1].sum())
        rows.append((org, label, form, len(practices), total, ccgs, rurality, case))
    frame = pd.DataFrame(rows, columns=list(ORGANISATION_SCHEMA.columns))
    return frame.astype({"n_practices": "Int64", "list_size": "Int64", "ccgs_spanned": "Int64"})


def generate_panel(
    seed: int = DEFAULT_SEED, n_practices: int = 7000, catalogue: pd.DataFrame | None = None
) -> tuple[Panel, pd.DataFrame]:
    """Draw the SYNTHETIC national panel and the truth that generated it.

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`; the same seed gives identical data.
    n_practices
        Number of practices in England (at least twice the organisations' members).
    catalogue
        Indicator catalogue; default the stored one. Rows outside an indicator's
        ``years_available`` are not generated.

    Returns
    -------
    panel : Panel
        Tier ``"synthetic"``; practice codes ``S00001``... (synthetic, not real codes).
    truth : pandas.DataFrame
        ``organisation_id``, ``indicator_id``, ``parameter``, ``value`` (module docstring).
    """
    catalogue = read_catalogue() if catalogue is None else catalogue
    missing = sorted(set(catalogue["indicator_id"]) - set(_DGP))
    if missing:
        raise ValueError(f"catalogue indicators {missing} have no synthetic model")
    rng = np.random.default_rng(seed)
    orgs = list(_ORGANISATIONS)
    spells = _draw_membership(rng, n_practices)
    effects = _organisation_effects()
    member = _member_matrix(spells, n_practices, orgs)
    num, den, u, lists = _draw_counts(rng, catalogue, member, effects)
    codes = np.array([f"S{i + 1:05d}" for i in range(n_practices)], dtype=object)
    ids = np.array(sorted(catalogue["indicator_id"]), dtype=object)
    n_t, n_i = len(YEARS), len(ids)
    observations = pd.DataFrame(
        {
            "practice_code": np.repeat(codes, n_t * n_i),
            "year": np.tile(np.repeat(np.array(YEARS, dtype=np.int64), n_i), n_practices),
            "indicator_id": np.tile(ids, n_practices * n_t),
            "numerator": num.reshape(-1),
            "denominator": den.reshape(-1),
        }
    )
    first, last = _year_window(observations["indicator_id"], catalogue)
    inside = (observations["year"] >= first) & (observations["year"] <= last)
    observations = observations[inside].reset_index(drop=True)  # already in KEY order
    membership = spells.assign(practice_code=codes[spells["practice"].to_numpy()])
    membership = membership[list(MEMBERSHIP_SCHEMA.columns)].sort_values(
        ["practice_code", "joined"], ignore_index=True
    )
    organisations = _organisation_table(spells, lists)
    truth = _truth_table(effects, spells, u, list(ids))
    return Panel(observations, membership, organisations, catalogue, "synthetic"), truth


# --------------------------------------------------------------------------- writing


def write_observations(observations: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write tidy observations deterministically; ``.gz`` paths are gzip-compressed (mtime 0)."""
    path = Path(path)
    frame = observations[OBSERVATION_COLUMNS]
    counts = {c: frame[c].astype(np.int64) for c in ("numerator", "denominator")}
    integral = all((frame[c] == counts[c]).all() for c in counts)
    frame = frame.assign(**counts) if integral else frame
    text = frame.to_csv(index=False, lineterminator="\n", float_format="%.10g").encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(
            gzip.compress(text, compresslevel=6, mtime=0) if path.suffix == ".gz" else text
        )
    return path


def _as_text_bool(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    return frame.assign(**{column: np.where(frame[column].astype(bool), "true", "false")})


def write_panel(panel: Panel, folder: str | os.PathLike, truth: pd.DataFrame | None = None):
    """Write a panel (and its truth table) in the stored layout; returns the written paths."""
    folder = Path(folder)
    written = [write_observations(panel.observations, folder / SYNTHETIC_FILES["observations"])]
    written.append(write_csv(panel.membership, folder / SYNTHETIC_FILES["membership"]))
    organisations = _as_text_bool(panel.organisations, "case_study")
    written.append(write_csv(organisations, folder / SYNTHETIC_FILES["organisations"]))
    if truth is not None:
        written.append(write_csv(truth, folder / SYNTHETIC_FILES["truth"]))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the SYNTHETIC indicator panel.")
    parser.add_argument("--write", action="store_true", help="write data/indicators/synthetic/")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None, help="folder (default: stored one)")
    args = parser.parse_args(argv)
    panel, truth = generate_panel(seed=args.seed)
    print(f"{len(panel.observations)} observations, {len(panel.membership)} membership spells")
    if args.write:
        for path in write_panel(panel, args.out or synthetic_dir(), truth):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
