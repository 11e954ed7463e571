"""Membership spells into practice-year members: who is in which organisation in a year.

A membership table holds spells (``practice_code``, ``organisation_id``, ``joined``, ``left``;
a practice is a member in financial year ``joined <= year < left``, ``left`` missing for an
open spell). :func:`members_in_year` and :func:`membership_by_year` give the members of a year
or of every year, :func:`fixed_membership` holds one year's membership fixed and
:func:`attach_organisation` adds each observation's organisation. The panel
(:mod:`analysis.indicators.sources.panel`) and its file readers
(:mod:`analysis.indicators.sources.panelfiles`) both use these, so they live apart from either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.indicators.sources.contract import MAX_YEAR, YEARS


def members_in_year(membership: pd.DataFrame, year: int) -> pd.DataFrame:
    """Practices that are members in financial year ``year`` (``joined <= year < left``).

    Returns
    -------
    pandas.DataFrame
        ``practice_code``, ``organisation_id``, sorted, one row per member practice.
    """
    left = membership["left"].fillna(MAX_YEAR + 1)
    mask = (membership["joined"] <= year) & (left > year)
    out = membership.loc[mask, ["practice_code", "organisation_id"]]
    return out.sort_values(["organisation_id", "practice_code"]).reset_index(drop=True)


def membership_by_year(membership: pd.DataFrame, years: tuple[int, ...] = YEARS) -> pd.DataFrame:
    """Every member practice-year: ``practice_code``, ``year``, ``organisation_id``."""
    frames = [members_in_year(membership, y).assign(year=y) for y in years]
    out = pd.concat(frames)[["practice_code", "year", "organisation_id"]]
    return out.sort_values(["practice_code", "year"]).reset_index(drop=True)


def fixed_membership(membership: pd.DataFrame, year: int, years: tuple[int, ...]) -> pd.DataFrame:
    """Spells that put each practice in its organisation of ``year`` in every one of ``years``.

    A practice that is in no organisation in ``year`` is in none in any year (the
    membership of one year, held fixed, as for the PCNs of a chosen year).

    Raises
    ------
    ValueError
        Naming the parameter when no practice is a member in ``year``.
    """
    members = members_in_year(membership, int(year))
    if members.empty:
        having = sorted(
            {y for y in range(min(years), max(years) + 1) if len(members_in_year(membership, y))}
        )
        raise ValueError(
            f"parameter 'membership_year': no practice is a member of an organisation in "
            f"{year}; years with members: {having}"
        )
    first = min(min(years), int(year))
    return members.assign(
        joined=pd.array([first] * len(members), dtype="Int64"),
        left=pd.array([pd.NA] * len(members), dtype="Int64"),
    )[["practice_code", "organisation_id", "joined", "left"]]


def attach_organisation(observations: pd.DataFrame, membership: pd.DataFrame) -> pd.DataFrame:
    """Observations with the ``organisation_id`` of the practice in that year (NaN if none)."""
    years = tuple(int(y) for y in np.unique(observations["year"]))
    spells = membership_by_year(membership, years)
    return observations.merge(spells, on=["practice_code", "year"], how="left", validate="m:1")
