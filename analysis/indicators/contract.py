"""Quality-indicator panel contract: the schemas of its four tables and the checks beyond them.

A panel is four tables, each validated on reading (errors name file, line and column):

``observations``
    The tidy contract: one row per ``practice_code``, ``year``, ``indicator_id`` with a
    ``numerator`` (>= 0) and a ``denominator`` (>= 1), both counts (finite whole numbers).
    ``year`` is the start of the financial year (2009 means 2009/10); which years are allowed
    comes from the catalogue's ``years_available`` (2009 to 2014 for the study's
    indicators), not from this schema. For binomial indicators the numerator may not exceed
    the denominator; the indicator must be in the catalogue.
``membership``
    ``practice_code``, ``organisation_id`` (any code: ``ORG01``, a PCN's ``U12345``...),
    ``joined``, ``left``: the practice is a member in financial years
    ``joined <= year < left`` (``left`` empty: still a member at the end; at most one year
    after the data's last year). A practice in two organisations in overlapping years is an
    error. Any number of organisations.
``organisations``
    One row per organisation: label, form, number of practices, list size, CCGs spanned,
    rurality and whether it was a case-study site. The file is optional: without it the
    organisations are those of the membership file, with no characteristics.
``catalogue``
    ``data/indicators/published/indicator_catalogue.csv``: the 15 indicators (see
    :data:`INDICATOR_SCHEMA`), with ``definition_source`` ``published`` where the research
    summary {cite}`rosen2016bigger` states the indicator and ``assumed`` where we chose a
    standard public definition.

The synthetic panel's truth table has :data:`TRUTH_SCHEMA`. Reading and loading the files is
:mod:`analysis.indicators.panel`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import MAX_REPORTED, DataError, file_line

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


def _boolean_text() -> pa.Check:
    return pa.Check(lambda s: s.str.lower().isin(["true", "false"]), error="one of true/false")


_ID = r"^[A-Z]{3}\d{2}$"
_CODE = r"^[A-Za-z0-9]{1,20}$"
_ANY_ID = r"^[A-Za-z0-9_.\-]{1,40}$"
MIN_YEAR, MAX_YEAR = 1900, 2100


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
            "Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), nullable=True, coerce=True
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
        "year": pa.Column("int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), coerce=True),
        "indicator_id": pa.Column(str, _matches(_ANY_ID)),
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
        "organisation_id": pa.Column(str, pa.Check.str_matches(_ANY_ID)),
        "joined": pa.Column("Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), coerce=True),
        "left": pa.Column(
            "Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), nullable=True, coerce=True
        ),
    },
    strict=True,
    ordered=True,
)
"""Membership spells: member in financial years ``joined <= year < left``."""

ORGANISATION_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str, pa.Check.str_matches(_ANY_ID), unique=True),
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
        "organisation_id": pa.Column(str, pa.Check.str_matches(_ANY_ID)),
        "indicator_id": pa.Column(str, pa.Check.str_matches(_ID)),
        "parameter": pa.Column(str, pa.Check.isin(TRUTH_PARAMETERS)),
        "value": pa.Column("float64", coerce=True),
    },
    strict=True,
    ordered=True,
)
"""What the synthetic data-generating process put in (link scale)."""


def describe_lines(frame: pd.DataFrame, mask: pd.Series | np.ndarray) -> str:
    """``"line(s) 3, 7 and 2 more"``: the file lines of the rows where ``mask`` is true."""
    index = frame.index[np.asarray(mask, dtype=bool)]
    shown = ", ".join(str(file_line(i)) for i in index[:MAX_REPORTED])
    more = f" and {len(index) - MAX_REPORTED} more" if len(index) > MAX_REPORTED else ""
    return f"line(s) {shown}{more}"


def raise_problems(problems: list[str], name: str) -> None:
    """Raise one :class:`DataError` for file ``name`` listing ``problems`` (if any)."""
    if problems:
        raise DataError(f"{name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))


def _year_bounds(catalogue: pd.DataFrame) -> pd.DataFrame:
    bounds = catalogue["years_available"].str.split("-", expand=True).astype(int)
    return pd.DataFrame(
        {"first": bounds[0].to_numpy(), "last": bounds[1].to_numpy()},
        index=catalogue["indicator_id"].to_numpy(),
    )


def year_window(indicator_ids: pd.Series, catalogue: pd.DataFrame) -> tuple[np.ndarray, ...]:
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
        The indicator catalogue (:func:`analysis.indicators.panel.read_catalogue`).
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
    raise_problems(problems, name)
    try:
        frame = PANEL_SCHEMA.validate(observations, lazy=True)
    except pa.errors.SchemaErrors as err:
        raise_problems(_schema_problems(err.failure_cases), name)
    known = frame["indicator_id"].isin(catalogue["indicator_id"])
    unknown = sorted(frame.loc[~known, "indicator_id"].unique())[:MAX_REPORTED]
    first, last = year_window(frame["indicator_id"], catalogue)
    binomial = catalogue.loc[catalogue["distribution"] == "binomial", "indicator_id"]
    numerator, denominator = frame["numerator"].to_numpy(), frame["denominator"].to_numpy()
    checks = {
        "column 'numerator': not a finite whole number (a count)": _not_a_count(numerator),
        "column 'denominator': not a finite whole number (a count)": _not_a_count(denominator),
        "column 'denominator': below 1 (a count of at least one)": denominator < 1,
        f"unknown indicator id(s) {unknown} (not in the catalogue)": ~known,
        "column 'year': outside the indicator's years_available": (
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
    raise_problems(problems, name)
    return frame


def _not_a_count(values: np.ndarray) -> np.ndarray:
    """True where a value is infinite or fractional (counts are finite whole numbers)."""
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(values) | (np.mod(values, 1) != 0)


def _duplicated_key(frame: pd.DataFrame) -> pd.Series:
    """``frame.duplicated(KEY, keep=False)`` on one integer key (fast on long columns)."""
    if frame.empty:
        return pd.Series(False, index=frame.index)
    practice = pd.factorize(frame["practice_code"])[0].astype(np.int64)
    indicator = pd.factorize(frame["indicator_id"])[0].astype(np.int64)
    year, years = pd.factorize(frame["year"])
    key = (practice * (indicator.max() + 1) + indicator) * len(years) + year.astype(np.int64)
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
    years: Sequence[int] | None = None,
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
    years
        If given, the data's years: ``left`` may be at most a year after the last.

    Raises
    ------
    DataError
        Naming the lines of a spell that ends before it starts or too late, of a practice in two
        organisations (or twice in one) in overlapping years, of an unknown organisation
        or of a practice without observations.
    """
    problems = []
    if years is not None and len(years):
        late = membership["left"].notna() & (membership["left"] > int(max(years)) + 1)
        for index in membership.index[late.to_numpy(dtype=bool)][:MAX_REPORTED]:
            problems.append(
                f"line {file_line(index)}, column 'left': {membership.at[index, 'left']} is "
                f"more than a year after the data's last year {int(max(years))}"
            )
    bad_order = membership["left"].notna() & (membership["left"] <= membership["joined"])
    if bad_order.any():
        problems.append(f"'left' not after 'joined' on {describe_lines(membership, bad_order)}")
    spells = membership.assign(
        _line=membership.index.map(file_line),
        _end=membership["left"].fillna(MAX_YEAR + 1),
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
    raise_problems(problems[: MAX_REPORTED + 1], name)
    return membership
