"""Schemas and constants of the quality-indicator data contract.

The contract itself (what each table means, and the checks beyond these schemas) is
:mod:`analysis.indicators.sources.contract`, which re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pandera.pandas as pa

FIRST_YEAR, LAST_YEAR = 2009, 2014
YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))
DOMAINS = ("prescribing", "hospital_use", "qof", "patient_satisfaction")
"""The study's four domains (the stored catalogue's); a user's catalogue may have its own."""
DISTRIBUTIONS = ("binomial", "poisson", "continuous")
SCALES = ("proportion", "percent")
LEVELS = ("practice", "organisation")
UNIT_COLUMNS = {"practice": "practice_code", "organisation": "organisation_id"}
"""The column naming the unit of each row, by level of the observation file."""
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
    "organisation_id": str,
    "year": "int64",
    "indicator_id": str,
    "numerator": "float64",
    "denominator": "float64",
    "value": "float64",
}
OBSERVATION_FORMS = {
    "counts": ["numerator", "denominator"],
    "value": ["value"],
    "value_denominator": ["value", "denominator"],
}
"""The measure columns after ``<unit>, year, indicator_id``, by form of the file."""


def _boolean_text(nullable: bool = False) -> pa.Check:
    allowed = ["true", "false", *([""] if nullable else [])]
    return pa.Check(lambda s: s.str.lower().isin(allowed), error="one of true/false")


_ID = r"^[A-Z]{3}\d{2}$"
_CODE = r"^[A-Za-z0-9]{1,20}$"
ANY_ID = r"^[A-Za-z0-9_.\-]{1,40}$"
"""Indicator and organisation ids: letters, digits, ``_ . -``, at most 40 characters."""
_ANY_ID = ANY_ID
DOMAIN_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
"""A domain: lower-case letters, digits and ``_`` (``prescribing``, ``prevalence``...)."""
MIN_YEAR, MAX_YEAR = 1900, 2100


def _matches(pattern: str) -> pa.Check:
    """``str_matches`` evaluated once per distinct value (fast on long columns)."""

    def check(values: pd.Series) -> pd.Series:
        codes, uniques = pd.factorize(values)
        ok = pd.Series(uniques).str.fullmatch(pattern).to_numpy(dtype=bool)
        return pd.Series(np.where(codes >= 0, ok[codes], False), index=values.index)

    return pa.Check(check, name="str_matches", error=f"str_matches('{pattern}')")


_CATALOGUE_COLUMNS = {
    "indicator_id": pa.Column(str, _matches(ANY_ID)),
    "name": pa.Column(str),
    "domain": pa.Column(str, _matches(DOMAIN_PATTERN)),
    "numerator": pa.Column(str, nullable=True),
    "denominator": pa.Column(str, nullable=True),
    "unit": pa.Column(str, nullable=True),
    "distribution": pa.Column(str, pa.Check.isin(DISTRIBUTIONS)),
    "higher_is_better": pa.Column(str, _boolean_text(), nullable=True),
    "scale": pa.Column(str, pa.Check.isin(SCALES), nullable=True),
    "data_source": pa.Column(str, nullable=True),
    "years_available": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{4}$"), nullable=True),
    "single_year": pa.Column(
        "Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), nullable=True, coerce=True
    ),
    "definition_source": pa.Column(str, pa.Check.isin(["published", "assumed"]), nullable=True),
    "definition_note": pa.Column(str, nullable=True),
    "source_file": pa.Column(str, nullable=True),
    "source_lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$"), nullable=True),
    "source_location": pa.Column(str, nullable=True),
    "note": pa.Column(str, nullable=True),
}
CATALOGUE_REQUIRED = ("indicator_id", "name", "domain", "distribution", "higher_is_better")
"""Columns every catalogue has; ``higher_is_better`` may be blank (no direction)."""
CATALOGUE_OPTIONAL = tuple(c for c in _CATALOGUE_COLUMNS if c not in CATALOGUE_REQUIRED)
"""Columns a catalogue may add (``scale``: ``percent`` for values given as percentages)."""


def catalogue_schema(header: Sequence[str]) -> pa.DataFrameSchema:
    """Schema of a user's catalogue with this header: the required columns and the known
    optional ones it has (an unknown column is an error when the file is read)."""
    names = [*CATALOGUE_REQUIRED, *(c for c in header if c in CATALOGUE_OPTIONAL)]
    return pa.DataFrameSchema({c: _CATALOGUE_COLUMNS[c] for c in names}, strict=True)


INDICATOR_SCHEMA = pa.DataFrameSchema(
    {
        "indicator_id": pa.Column(str, pa.Check.str_matches(_ID)),
        "name": pa.Column(str),
        "domain": pa.Column(str, pa.Check.isin(DOMAINS)),
        "numerator": pa.Column(str),
        "denominator": pa.Column(str),
        "unit": pa.Column(str),
        "distribution": pa.Column(str, pa.Check.isin(DISTRIBUTIONS[:2])),
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
"""Schema of the stored catalogue (the study's 15 indicators, fully sourced)."""

PANEL_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, _matches(_CODE)),
        "year": pa.Column("int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), coerce=True),
        "indicator_id": pa.Column(str, _matches(ANY_ID)),
        "numerator": pa.Column("float64", pa.Check.ge(0), coerce=True),
        "denominator": pa.Column("float64", pa.Check.gt(0), coerce=True),
    },
    strict=True,
    ordered=True,
)
"""Tidy observation contract: one row per practice, year and indicator."""


def observation_schema(unit: str = "practice_code") -> pa.DataFrameSchema:
    """:data:`PANEL_SCHEMA` with ``unit`` (``organisation_id``: any id) as the unit column."""
    if unit == "practice_code":
        return PANEL_SCHEMA
    columns = dict(PANEL_SCHEMA.columns)
    columns.pop("practice_code")
    unit_column = pa.Column(str, _matches(ANY_ID), name=unit)
    return pa.DataFrameSchema({unit: unit_column, **columns}, strict=True, ordered=True)


_MEMBERSHIP_COLUMNS = {
    "practice_code": pa.Column(str, pa.Check.str_length(1, 20)),
    "organisation_id": pa.Column(str, pa.Check.str_matches(ANY_ID)),
    "joined": pa.Column("Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), coerce=True),
    "left": pa.Column("Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), nullable=True, coerce=True),
    "year": pa.Column("Int64", pa.Check.in_range(MIN_YEAR, MAX_YEAR), coerce=True),
    "list_size": pa.Column("Int64", pa.Check.ge(0), nullable=True, coerce=True),
}
MEMBERSHIP_SCHEMA = pa.DataFrameSchema(
    {c: _MEMBERSHIP_COLUMNS[c] for c in ("practice_code", "organisation_id", "joined", "left")},
    strict=True,
    ordered=True,
)
"""Membership spells: member in financial years ``joined <= year < left``."""
MEMBERSHIP_YEAR_SCHEMA = pa.DataFrameSchema(
    {c: _MEMBERSHIP_COLUMNS[c] for c in ("practice_code", "year", "organisation_id")},
    strict=True,
)
"""Membership by year: the organisation of each practice in each year."""


def membership_schema(header: Sequence[str]) -> pa.DataFrameSchema:
    """Spells or one row per year, by header; ``list_size`` optional in both."""
    base = MEMBERSHIP_YEAR_SCHEMA if "year" in header else MEMBERSHIP_SCHEMA
    names = [*base.columns, *(["list_size"] if "list_size" in header else [])]
    return pa.DataFrameSchema({c: _MEMBERSHIP_COLUMNS[c] for c in names}, strict=True)


KNOWN_CHARACTERISTICS = {
    "organisation_id": pa.Column(str, pa.Check.str_matches(ANY_ID), unique=True),
    "label": pa.Column(str, nullable=True),
    "form": pa.Column(str, nullable=True),
    "n_practices": pa.Column("Int64", pa.Check.ge(1), nullable=True, coerce=True),
    "list_size": pa.Column("Int64", pa.Check.ge(1), nullable=True, coerce=True),
    "ccgs_spanned": pa.Column("Int64", pa.Check.ge(1), nullable=True, coerce=True),
    "rurality": pa.Column(str, nullable=True),
    "case_study": pa.Column(str, _boolean_text(), nullable=True),
}
"""Typed organisation characteristics; any other column is a characteristic too."""

ORGANISATION_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str, pa.Check.str_matches(ANY_ID), unique=True),
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
"""The synthetic panel's organisation characteristics (``case_study`` as true/false text)."""


def organisation_schema(header: Sequence[str]) -> pa.DataFrameSchema:
    """Schema of an organisations file: ``organisation_id``, typed known characteristics
    and any other column as text (made numeric after reading when every cell is)."""
    columns = {"organisation_id": KNOWN_CHARACTERISTICS["organisation_id"]}
    for name in header:
        if name != "organisation_id":
            columns[name] = KNOWN_CHARACTERISTICS.get(name, pa.Column(str, nullable=True))
    return pa.DataFrameSchema(columns, strict=True)


TRUTH_SCHEMA = pa.DataFrameSchema(
    {
        "organisation_id": pa.Column(str, pa.Check.str_matches(ANY_ID)),
        "indicator_id": pa.Column(str, pa.Check.str_matches(_ID)),
        "parameter": pa.Column(str, pa.Check.isin(TRUTH_PARAMETERS)),
        "value": pa.Column("float64", coerce=True),
    },
    strict=True,
    ordered=True,
)
"""What the synthetic data-generating process put in (link scale)."""

PANEL_CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "tier": {"enum": ["user", "real"]},
        "publisher": {"type": "string", "minLength": 1},
        "licence": {"type": "string", "minLength": 1},
        "domains": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": DOMAIN_PATTERN},
        },
        "exclude": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "organisations": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": ANY_ID},
        },
    },
    "if": {"properties": {"tier": {"const": "real"}}, "required": ["tier"]},
    "then": {"required": ["publisher", "licence"]},
}
"""``panel.yml`` beside the observations (all keys optional): ``tier: real`` needs the
``publisher`` and ``licence`` every real table names; ``domains`` in display order (a
catalogue row with another domain is an error); ``exclude``: organisation codes meaning
"in no organisation" (``U``: a practice not allocated to a PCN); ``organisations``: those a
run analyses when its ``organisations`` parameter is empty (default: every one)."""
