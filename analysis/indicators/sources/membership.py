"""Membership of practices in organisations, derived from a parent-code column or read from a file.

Today's large-scale organisations are named in the published data itself: the QOF practice
summaries carry each practice's primary care network (PCN) code from 2019-20. :func:`derive`
turns such a parent-code column into practice-year membership, either *by year* (each year's
own column) or *fixed* at one membership year (that year's codes applied to the same
practice codes in every year, so earlier years, before PCNs existed, are grouped too).
Named exclusions (such as ``U``, the code of practices not allocated to a PCN) give no
organisation. :func:`read_membership_file` reads a user's own ``practice_code,
organisation_id[,year]`` file and checks it against the data.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import MAX_REPORTED, DataError, read_table

MEMBERSHIP_FILE_SCHEMA = pa.DataFrameSchema(
    {
        "practice_code": pa.Column(str, pa.Check.str_length(1, 20)),
        "organisation_id": pa.Column(str, pa.Check.str_length(1, 40)),
    },
    strict=False,  # an optional ``year`` column is checked by read_membership_file
)
"""A user's membership file: one organisation per practice (and per year, if ``year`` given)."""


@dataclass(frozen=True)
class Membership:
    """Practice-year membership and how it was made.

    Attributes
    ----------
    table
        ``practice_code``, ``year``, ``organisation_id`` (missing: in no organisation).
    counts
        One row per year: ``practices``, ``members``, ``excluded`` (a named exclusion
        code), ``no_code`` (no code in the membership year's data or column absent).
    rule
        Plain-words description (``"PCN of 2019, fixed"``...).
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    rule: str


def _counts(table: pd.DataFrame, excluded: pd.Series) -> pd.DataFrame:
    frame = table.assign(
        member=table["organisation_id"].notna(),
        excluded=excluded.to_numpy(),
        no_code=table["organisation_id"].isna() & ~excluded.to_numpy(),
    )
    return frame.groupby("year", as_index=False).agg(
        practices=("practice_code", "size"),
        members=("member", "sum"),
        excluded=("excluded", "sum"),
        no_code=("no_code", "sum"),
    )


def derive(
    practices: pd.DataFrame,
    *,
    group: str = "pcn",
    exclude: Sequence[str] = ("U",),
    membership_year: int | None = None,
) -> Membership:
    """Membership from a parent-code column of the practice table.

    Parameters
    ----------
    practices
        One row per ``practice_code`` and ``year`` with the column ``group``
        (e.g. :func:`analysis.indicators.sources.qof.read_qof_years`).
    group
        The parent-code column (``pcn``, ``ccg``...).
    exclude
        Codes that mean "in no organisation" (``U``: not allocated to a PCN).
    membership_year
        ``None``: each year's own codes (years without the column have no members). A year:
        that year's codes, joined to every year by practice code (fixed membership).

    Returns
    -------
    Membership

    Raises
    ------
    ValueError
        ``group`` is not a column, or ``membership_year`` is not a year of the data or has
        no codes in ``group``.
    """
    if group not in practices.columns:
        raise ValueError(f"parameter 'grouping': no column {group!r} in the data")
    # Read as text whatever its dtype: a year whose column is blank throughout is read as
    # float, where filling with "" warns (and will raise in a future pandas).
    text = practices[group].astype("string").str.strip()
    codes = practices[group].where(text.ne(""))  # a missing code stays missing
    base = practices[["practice_code", "year"]].reset_index(drop=True)
    codes = codes.reset_index(drop=True)
    if membership_year is None:
        assigned = codes
        rule = f"{group} of each year"
    else:
        year = int(membership_year)
        in_year = (base["year"] == year).to_numpy()
        if codes[in_year].isna().all():  # also a year not in the data (no row)
            having = sorted({int(y) for y in base.loc[codes.notna(), "year"]})
            raise ValueError(
                f"parameter 'membership_year': {year} has no {group!r} codes; years with "
                f"codes: {having}"
            )
        lookup = pd.Series(codes[in_year].to_numpy(), index=base.loc[in_year, "practice_code"])
        assigned = base["practice_code"].map(lookup)
        rule = f"{group} of {year}, fixed (same practice codes in every year)"
    excluded = assigned.isin(list(exclude))
    table = base.assign(organisation_id=assigned.where(~excluded))
    counts = _counts(table, excluded)
    return Membership(table.sort_values(["year", "practice_code"], ignore_index=True), counts, rule)


def read_membership_file(path: str | os.PathLike, practices: pd.DataFrame) -> Membership:
    """A user's membership file, checked against the practices in the data.

    Parameters
    ----------
    path
        CSV with ``practice_code``, ``organisation_id`` and optionally ``year`` (without a
        year, the organisation holds in every year).
    practices
        The data's ``practice_code`` and ``year``.

    Raises
    ------
    DataError
        Naming the file and lines of practices absent from the data, of a practice listed
        twice (for the same year) and every schema problem.
    """
    path = Path(path)
    frame = read_table(path, MEMBERSHIP_FILE_SCHEMA, optional=["year"])
    by_year = "year" in frame.columns
    key = ["practice_code", "year"] if by_year else ["practice_code"]
    problems = []
    if by_year:
        years = pd.to_numeric(frame["year"], errors="coerce")
        bad = years.isna() | (years != years.round())
        if bad.any():
            lines = (frame.index[bad][:MAX_REPORTED] + 2).tolist()
            raise DataError(f"{path}: column 'year': not a whole year on lines {lines}")
        frame["year"] = years.astype(np.int64)
    absent = ~frame["practice_code"].isin(practices["practice_code"])
    if absent.any():
        lines = (frame.index[absent][:MAX_REPORTED] + 2).tolist()
        shown = frame.loc[absent, "practice_code"].head(3).tolist()
        problems.append(f"column 'practice_code': practices absent from the data on lines {lines}")
        problems[-1] += f" (e.g. {shown})"
    twice = frame.duplicated(key, keep=False)
    if twice.any():
        lines = (frame.index[twice][:MAX_REPORTED] + 2).tolist()
        problems.append(f"practice listed twice {key} on lines {lines}")
    if problems:
        raise DataError(f"{path}: {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    base = practices[["practice_code", "year"]].reset_index(drop=True)
    if by_year:
        spells = frame[["practice_code", "year", "organisation_id"]]
        table = base.merge(spells, on=key, how="left", validate="1:1")
    else:
        table = base.merge(frame, on="practice_code", how="left", validate="m:1")
    counts = _counts(table, pd.Series(False, index=table.index))
    rule = f"membership file {path.name}" + (" (by year)" if by_year else " (fixed)")
    return Membership(table.sort_values(["year", "practice_code"], ignore_index=True), counts, rule)
