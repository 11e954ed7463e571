"""Quality-indicator data contract: the tables of a panel, their schemas and the checks beyond.

One analysis takes any of three kinds of data, told apart by the observation file's header:

``observations`` (practice level)
    ``practice_code, year, indicator_id`` and either counts (finite whole numbers:
    ``numerator`` >= 0, ``denominator`` >= 1) or a ``value`` (optionally with a
    ``denominator``). ``year`` is the start of the financial year (2009 means 2009/10). One
    row per practice, year and indicator. For binomial indicators the numerator may not
    exceed the denominator.
``observations`` (organisation level)
    The same with ``organisation_id`` in place of ``practice_code``: one row per
    organisation (a PCN's own published rate), no practice rows and no membership file.
    The analyses then treat each organisation as its own single unit.
``value``
    A proportion in [0, 1] for a binomial indicator (a percentage in [0, 100] where the
    catalogue's ``scale`` is ``percent``), a rate >= 0 for a Poisson one, any finite number
    for a continuous one. With a ``denominator`` a value becomes counts
    (``numerator = value x denominator``); without one the indicator is analysed as
    ``continuous``: compared with the spread between units, no sampling variance. A blank
    value is a missing row (counted); an indicator whose values are all blank is set aside.
``membership`` (practice level only)
    Either spells ``practice_code, organisation_id, joined, left`` (member in financial
    years ``joined <= year < left``; ``left`` blank: still a member) or one row per year
    ``practice_code, year, organisation_id`` (the official mapping of each year), both with
    an optional ``list_size``. A practice in two organisations in one year is an error;
    codes listed under ``exclude`` in ``panel.yml`` (``U``: no PCN) mean no organisation.
``organisations`` (optional)
    ``organisation_id`` and any characteristics: the known ones are typed
    (:data:`KNOWN_CHARACTERISTICS`), any other column is numeric when every cell is a number
    and text otherwise. Without the file, the organisations are those of the data, with the
    number of member practices and, where the membership gives list sizes, their sum.
``catalogue``
    ``indicator_id, name, domain, distribution, higher_is_better`` and optional columns
    (:data:`CATALOGUE_OPTIONAL`). Ids and domains are the user's own (:data:`ANY_ID`,
    :data:`DOMAIN_PATTERN`); ``higher_is_better`` blank means no direction (classes
    ``higher`` / ``lower``). The stored catalogue,
    ``data/indicators/published/indicator_catalogue.csv``, has the study's 15 indicators in
    its four :data:`DOMAINS`, with ``definition_source`` ``published`` where the research
    summary {cite}`rosen2016bigger` states the indicator and ``assumed`` where we chose a
    standard public definition.
``panel.yml`` (optional)
    :data:`PANEL_CONFIG_SCHEMA`: the data's tier, publisher and licence, its domains in
    display order (a catalogue row with another domain is then an error) and the codes that
    mean no organisation.

The synthetic panel's truth table has :data:`TRUTH_SCHEMA`. Reading and loading the files is
:mod:`analysis.indicators.sources.panel`; problems are collected by :class:`Findings` so that a run
reports every one at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import MAX_REPORTED, DataError, file_line
from analysis.errors import CompendiumError
from analysis.indicators.sources.schemas import (  # noqa: F401 - the contract's names, re-exported
    _ANY_ID,
    _CODE,
    _ID,
    ANY_ID,
    CATALOGUE_OPTIONAL,
    CATALOGUE_REQUIRED,
    DISTRIBUTIONS,
    DOMAIN_PATTERN,
    DOMAINS,
    FIRST_YEAR,
    FORMS,
    INDICATOR_SCHEMA,
    KEY,
    KNOWN_CHARACTERISTICS,
    LAST_YEAR,
    LEVELS,
    MAX_YEAR,
    MEMBERSHIP_SCHEMA,
    MEMBERSHIP_YEAR_SCHEMA,
    MIN_YEAR,
    NATIONAL,
    OBSERVATION_COLUMNS,
    OBSERVATION_DTYPES,
    OBSERVATION_FORMS,
    ORGANISATION_SCHEMA,
    PANEL_CONFIG_SCHEMA,
    PANEL_SCHEMA,
    RURALITY,
    SCALES,
    TRUTH_PARAMETERS,
    TRUTH_SCHEMA,
    UNIT_COLUMNS,
    YEARS,
    catalogue_schema,
    membership_schema,
    observation_schema,
    organisation_schema,
)

# --------------------------------------------------------------------------- findings


@dataclass
class Findings:
    """Every problem (stops the run) and notice (data set aside, said) of one data source.

    Each entry is one line naming the file and where in it; :meth:`attempt` runs a reader
    and keeps going after a :class:`DataError`, so one pass finds every problem.
    """

    errors: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def add(self, name: str, problems: Sequence[str]) -> None:
        """Record ``problems`` of file ``name`` (each without the file)."""
        self.errors.extend(f"{name}: {p.strip()}" for p in problems)

    def absorb(self, err: BaseException) -> None:
        """Record the lines of an error: ``[file: ]N problem(s)...:`` then one line each."""
        first, *rest = str(err).strip().splitlines() or [type(err).__name__]
        match = re.match(r"^(?:(.*?): )?\d+ [\w ]*?problem\(s\)[\w ]*:$", first)
        if match and rest:
            lines = [r.strip() for r in rest if r.strip()]
            if match.group(1):
                self.add(match.group(1), lines)
            else:
                self.errors.extend(lines)
        else:
            self.errors.append(" ".join([first, *(r.strip() for r in rest)]))

    def attempt(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``function(*args, **kwargs)``, or ``None`` with its error recorded."""
        try:
            return function(*args, **kwargs)
        except (CompendiumError, ValueError) as err:
            self.absorb(err)
            return None

    def raise_errors(self, what: str) -> None:
        """Raise one :class:`DataError` listing every error (one line each), if any."""
        if self.errors:
            errors = list(dict.fromkeys(self.errors))
            raise DataError(
                f"{what}: {len(errors)} problem(s) found before the analysis:\n  "
                + "\n  ".join(errors)
            )


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


def check_catalogue(catalogue: pd.DataFrame, *, domains: Sequence[str] | None = None) -> list[str]:
    """Problems of a catalogue beyond its schema: id clashes and unknown domains.

    Parameters
    ----------
    catalogue
        As read (index: 0-based data row of the file).
    domains
        The declared domains (``panel.yml``); ``None``: any well-formed domain.

    Returns
    -------
    list of str
        One line per problem, naming the line(s) and column (an id listed twice; an id that
        is also a domain name, which the ``indicators`` parameter could not tell apart; a
        domain not among the declared ones; a ``single_year`` outside ``years_available``;
        ``scale: percent`` on an indicator that is not binomial).
    """
    problems = []
    ids = catalogue["indicator_id"]
    for value, rows in catalogue[ids.duplicated(keep=False)].groupby("indicator_id").groups.items():
        problems.append(
            f"column 'indicator_id': id clash, {value!r} on lines "
            f"{[file_line(i) for i in rows[:MAX_REPORTED]]}; expected one row per indicator"
        )
    clash = ids.isin(set(catalogue["domain"]) | set(domains or ()))
    for index in catalogue.index[clash.to_numpy()][:MAX_REPORTED]:
        problems.append(
            f"line {file_line(index)}, column 'indicator_id': id clash, {ids[index]!r} is also "
            "a domain name (the indicators parameter takes both); expected a distinct id"
        )
    if domains is not None:
        unknown = ~catalogue["domain"].isin(list(domains))
        for index in catalogue.index[unknown.to_numpy()][:MAX_REPORTED]:
            problems.append(
                f"line {file_line(index)}, column 'domain': unknown domain "
                f"{catalogue.at[index, 'domain']!r}; expected one of {list(domains)} "
                "(the domains panel.yml declares)"
            )
    # A repeated id is reported above; its year window would be ambiguous.
    if {"single_year", "years_available"} <= set(catalogue.columns) and not ids.duplicated().any():
        first, last = year_window(ids, catalogue)
        single = catalogue["single_year"].astype(float).to_numpy()
        outside = ~np.isnan(single) & ((single < first) | (single > last))
        for index in catalogue.index[outside][:MAX_REPORTED]:
            problems.append(
                f"line {file_line(index)}, column 'single_year': outside years_available "
                f"{catalogue.at[index, 'years_available']}"
            )
    if "scale" in catalogue.columns:
        percent = catalogue["scale"].eq("percent").fillna(False)
        wrong = percent & catalogue["distribution"].ne("binomial")
        for index in catalogue.index[wrong.to_numpy()][:MAX_REPORTED]:
            problems.append(
                f"line {file_line(index)}, column 'scale': 'percent' needs a binomial "
                f"indicator (a proportion); this one is {catalogue.at[index, 'distribution']!r}"
            )
    return problems


def _year_bounds(catalogue: pd.DataFrame) -> pd.DataFrame:
    if "years_available" not in catalogue.columns:
        return pd.DataFrame(
            {"first": np.nan, "last": np.nan}, index=catalogue["indicator_id"].to_numpy()
        )
    text = catalogue["years_available"].fillna(f"{MIN_YEAR}-{MAX_YEAR}")
    bounds = text.str.split("-", expand=True).astype(int)
    return pd.DataFrame(
        {"first": bounds[0].to_numpy(), "last": bounds[1].to_numpy()},
        index=catalogue["indicator_id"].to_numpy(),
    )


def year_window(indicator_ids: pd.Series, catalogue: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """First and last year available for each row's indicator (NaN: unknown or not stated)."""
    codes, uniques = pd.factorize(indicator_ids)
    bounds = _year_bounds(catalogue).reindex(uniques)
    return tuple(bounds[c].to_numpy(dtype=float)[codes] for c in ("first", "last"))


def values_to_counts(
    frame: pd.DataFrame, catalogue: pd.DataFrame, form: str
) -> tuple[pd.DataFrame, list[str]]:
    """A ``value`` file in the counts form, and the problems of its values.

    With a ``denominator`` (form ``value_denominator``), ``numerator = value x
    denominator``; without one, ``numerator = value`` and ``denominator = 1`` (the indicator
    is then analysed as continuous). Percentages (catalogue ``scale: percent``) are divided
    by 100. Blank values stay blank (NaN numerator) for the caller to count and set aside.

    Returns
    -------
    frame, problems
        ``frame`` in :data:`OBSERVATION_COLUMNS` order (with the file's unit column first),
        without the rows whose value is out of range; ``problems`` name the lines of a
        proportion outside [0, 1], a percentage outside [0, 100] or a negative rate.
    """
    facts = catalogue.set_index("indicator_id")
    distribution = frame["indicator_id"].map(facts["distribution"])
    scale = frame["indicator_id"].map(facts["scale"]) if "scale" in facts else None
    percent = np.zeros(len(frame), bool)
    if scale is not None:
        percent = scale.eq("percent").fillna(False).to_numpy(dtype=bool)
    value = frame["value"].to_numpy(dtype=float)
    binomial = distribution.eq("binomial").to_numpy()
    checks = {
        "a proportion outside [0, 1] (a binomial indicator's value; set scale: percent in "
        "the catalogue for percentages)": binomial & ~percent & ((value < 0) | (value > 1)),
        "a percentage above 100 or below 0 (scale: percent)": percent
        & ((value < 0) | (value > 100)),
        "a negative rate (Poisson indicator)": distribution.eq("poisson").to_numpy() & (value < 0),
    }
    problems = [
        f"column 'value': {label} on {describe_lines(frame, mask)} (values "
        f"{frame.loc[np.asarray(mask), 'value'].head(3).tolist()})"
        for label, mask in checks.items()
        if mask.any()
    ]
    proportion = np.where(percent, value / 100, value)
    unit = frame.columns[0]
    out = frame[[unit, "year", "indicator_id"]].copy()
    invalid = np.logical_or.reduce(list(checks.values()))
    if form == "value_denominator":
        out["numerator"] = proportion * frame["denominator"].to_numpy(dtype=float)
        out["denominator"] = frame["denominator"].to_numpy(dtype=float)
    else:
        out["numerator"] = proportion
        out["denominator"] = 1.0
    return out[~invalid], problems


def validate_observations(
    observations: pd.DataFrame,
    catalogue: pd.DataFrame,
    name: str = "observations",
    *,
    unit: str = "practice_code",
    whole_counts: bool = True,
) -> pd.DataFrame:
    """Check tidy observations against the contract and the catalogue.

    Parameters
    ----------
    observations
        Columns of :func:`observation_schema` (``unit`` first); the index is the 0-based
        data row of the file (reported as file line ``index + 2``).
    catalogue
        The indicator catalogue (:func:`analysis.indicators.sources.panel.read_catalogue`).
    name
        File name used in messages.
    unit
        ``practice_code`` or ``organisation_id`` (an organisation-level table).
    whole_counts
        Whether numerators and denominators are counts read from a file (finite whole
        numbers, denominators at least 1). False for counts derived from values
        (``numerator = value x denominator``), which need only be finite, with positive
        denominators.

    Returns
    -------
    pandas.DataFrame
        The observations, type-coerced.

    Raises
    ------
    DataError
        Naming the lines with missing or negative counts, a numerator above the
        denominator of a binomial indicator, unknown indicator ids, years outside the
        indicator's ``years_available`` or duplicated unit-year-indicator rows.
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
        frame = observation_schema(unit).validate(observations, lazy=True)
    except pa.errors.SchemaErrors as err:
        raise_problems(_schema_problems(err.failure_cases), name)
    known = frame["indicator_id"].isin(catalogue["indicator_id"])
    unknown = sorted(frame.loc[~known, "indicator_id"].unique())[:MAX_REPORTED]
    first, last = year_window(frame["indicator_id"], catalogue)
    binomial = catalogue.loc[catalogue["distribution"] == "binomial", "indicator_id"]
    kind = "practice" if unit == "practice_code" else "organisation"
    numerator, denominator = frame["numerator"].to_numpy(), frame["denominator"].to_numpy()
    if whole_counts:
        count_checks = {
            "column 'numerator': not a finite whole number (a count)": _not_a_count(numerator),
            "column 'denominator': not a finite whole number (a count)": _not_a_count(denominator),
            "column 'denominator': below 1 (a count of at least one)": denominator < 1,
        }
    else:
        count_checks = {
            "column 'numerator': not a finite number": ~np.isfinite(numerator),
            # the schema has already required denominators above 0
            "column 'denominator': not a finite number": ~np.isfinite(denominator),
        }
    checks = {
        **count_checks,
        f"unknown indicator id(s) {unknown} (not in the catalogue)": ~known,
        "column 'year': outside the indicator's years_available": (
            known & ((frame["year"] < first) | (frame["year"] > last))
        ),
        "numerator greater than denominator (binomial indicator)": (
            frame["indicator_id"].isin(binomial) & (frame["numerator"] > frame["denominator"])
        ),
        f"duplicated {kind}-year-indicator rows {[unit, *KEY[1:]]}": frame.duplicated(
            [unit, *KEY[1:]], keep=False
        ),
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


def year_rows_to_spells(membership: pd.DataFrame) -> pd.DataFrame:
    """Membership by year (``practice_code, year, organisation_id``) as one-year spells
    (``joined = year``, ``left = year + 1``), keeping the file's lines as the index."""
    spells = membership.assign(
        joined=membership["year"].astype("Int64"), left=membership["year"].astype("Int64") + 1
    )
    columns = ["practice_code", "organisation_id", "joined", "left"]
    return spells[columns + (["list_size"] if "list_size" in spells else [])]


def validate_membership(
    membership: pd.DataFrame,
    organisations: pd.DataFrame | None = None,
    practices: pd.Series | None = None,
    name: str = "membership",
    years: Sequence[int] | None = None,
    notices: list[str] | None = None,
) -> pd.DataFrame:
    """Check membership spells: ordered years, no overlaps, known organisations.

    Parameters
    ----------
    membership
        Columns of :data:`MEMBERSHIP_SCHEMA` (index = 0-based data row of the file).
    organisations
        If given, every ``organisation_id`` must be listed there.
    practices
        If given, member practices without observations are noted (the official
        membership lists practices an indicator file leaves out: closed, merged or
        suppressed): one line in ``notices`` naming the file, lines and column.
    name
        File name used in messages.
    years
        If given, the data's years: ``left`` may be at most a year after the last.
    notices
        Where notices go (default: dropped).

    Raises
    ------
    DataError
        Naming the lines of a spell that ends before it starts or too late, of a practice in two
        organisations (or twice in one) in overlapping years, or of an unknown organisation.
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
    problems += _overlaps(membership)
    if organisations is not None:
        unknown = ~membership["organisation_id"].isin(organisations["organisation_id"])
        if unknown.any():
            where = describe_lines(membership, unknown)
            problems.append(f"organisation_id not in the organisations table on {where}")
    if practices is not None and notices is not None:
        absent = ~membership["practice_code"].isin(practices)
        if absent.any():
            shown = membership.loc[absent, "practice_code"].drop_duplicates().head(3).tolist()
            notices.append(
                f"{name}: column 'practice_code': {absent.sum()} row(s) name practices with no "
                f"observations (e.g. {shown}) on {describe_lines(membership, absent)}; "
                "left out of the analysis"
            )
    raise_problems(problems[: MAX_REPORTED + 1], name)
    return membership


def _overlaps(membership: pd.DataFrame) -> list[str]:
    """A practice in two organisations (or twice in one) in overlapping years."""
    spells = membership.assign(
        _line=membership.index.map(file_line),
        _end=membership["left"].fillna(MAX_YEAR + 1),
    ).sort_values(["practice_code", "joined", "_line"])
    same = spells["practice_code"].eq(spells["practice_code"].shift())
    overlap = same & (spells["joined"] < spells["_end"].shift())
    problems = []
    for i in np.flatnonzero(overlap.to_numpy())[: MAX_REPORTED + 1]:
        a, b = spells.iloc[i - 1], spells.iloc[i]
        problems.append(
            f"column 'organisation_id': practice {b['practice_code']!r} is in "
            f"{a['organisation_id']} (line {a['_line']}) "
            f"and {b['organisation_id']} (line {b['_line']}) in overlapping years "
            f"(from {max(int(a['joined']), int(b['joined']))}); expected one organisation "
            "per practice and year"
        )
    return problems
