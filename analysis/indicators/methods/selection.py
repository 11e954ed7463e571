"""Quality-indicator analysis parameters and the one table every analysis takes.

:func:`select` checks the notebook parameters against a practice panel
(:mod:`analysis.indicators.sources.panel`) and returns a :class:`Selection`. :func:`prepare` joins
the panel's ``observations`` (one row per ``practice_code``, ``year``, ``indicator_id`` with
``numerator`` and ``denominator``), its ``membership`` spells and the indicator ``catalogue``
(``domain``, ``distribution``, ``higher_is_better``, ``single_year``) into the tidy table the
analyses (:mod:`~analysis.indicators.methods.comparison`,
:mod:`~analysis.indicators.methods.trends`, :mod:`~analysis.indicators.methods.variation`) take.
Nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.indicators.sources.spells import fixed_membership, members_in_year

OVERDISPERSION = ("none", "multiplicative", "additive")
"""Overdispersion adjustments of
:func:`analysis.indicators.methods.comparison.compare_to_national`."""

KEY = ["organisation_id", "indicator_id"]
"""Key of the per-organisation, per-indicator result tables."""


@dataclass(frozen=True)
class Selection:
    """Validated analysis parameters."""

    organisations: list[str]
    indicators: list[str]
    years: list[int]
    baseline_year: int
    alpha: float
    overdispersion: str
    tau2_method: str = "winsorised"
    comparator: str = "england"
    score: str = "z"
    variation_measure: str = "cv"
    trend_comparator: str = "rest"
    trend_members: str = "all"
    trend_model: str = "pooled"
    membership_year: int = 0
    trend_reference: str = "normal"
    organisation_variance: str = "none"
    bh_family: str = "comparison"


METHOD_CHOICES = {
    "tau2_method": ("winsorised", "winsorised_rescaled", "dl", "reml", "dl_within"),
    "comparator": ("england", "rest"),
    "score": ("z", "effect"),
    "variation_measure": ("cv", "tau2_link"),
    "trend_comparator": ("rest", "england"),
    "trend_members": ("all", "stable"),
    "trend_model": ("pooled", "practice_fe"),
    "trend_reference": ("normal", "t"),
    "organisation_variance": ("none", "dl", "reml", "winsorised", "winsorised_rescaled"),
    "bh_family": ("comparison", "domain"),
}
"""Method options; the first choice of each is the method as published. ``organisation_variance``
adds the between-organisation variance to each level comparison, estimated by the named
estimator (a random-effects funnel: an organisation is flagged only beyond the spread
organisations show anyway); ``bh_family`` is the family of the Benjamini-Hochberg adjustment:
every organisation x indicator test of a comparison, or those of each domain."""

PUBLISHED_METHODS = {name: choices[0] for name, choices in METHOD_CHOICES.items()}
"""The method options as published (the defaults before the simulation study chose others)."""


def with_methods(selection: Selection, **methods: str) -> Selection:
    """``selection`` with the method options of :data:`METHOD_CHOICES` set.

    Raises
    ------
    ValueError
        Naming the parameter and listing its choices, for an unknown option or value.
    """
    from dataclasses import replace

    for name, value in methods.items():
        if name not in METHOD_CHOICES:
            raise unknown_value("method option", [name], METHOD_CHOICES)
        if value not in METHOD_CHOICES[name]:
            raise unknown_value(name, [value], METHOD_CHOICES[name])
    return replace(selection, **methods)


def unknown_value(name: str, values: Sequence, known: Sequence) -> ValueError:
    """The error for parameter ``name`` given ``values`` outside ``known`` (listed)."""
    shown = ", ".join(str(k) for k in known)
    return ValueError(f"parameter {name!r}: unknown value(s) {list(values)}; expected {shown}")


def _as_list(value: object, scalar: type | tuple) -> list:
    return [value] if isinstance(value, scalar) else list(value)  # type: ignore[arg-type]


def select(
    observations: pd.DataFrame,
    catalogue: pd.DataFrame,
    organisations_table: pd.DataFrame,
    *,
    organisations: Sequence[str] = (),
    indicators: Sequence[str] = (),
    years: Sequence[int] = (),
    baseline_year: int | None = None,
    alpha: float = 0.05,
    overdispersion: str = "additive",
    membership_year: int = 0,
    membership: pd.DataFrame | None = None,
) -> Selection:
    """Check the notebook parameters against the panel; empty lists mean "all in the data".

    A single string (or year) is taken as a list of one. Every problem is found before
    anything is raised, so one error lists them all.

    Parameters
    ----------
    observations, catalogue, organisations_table
        The panel's tables.
    organisations
        Organisation ids (``ORG01``, a PCN code...); empty: every organisation.
    indicators
        Indicator ids and/or domain names, expanded to indicator ids in catalogue order;
        empty: every catalogued indicator with data. A named indicator without data is an
        error.
    years
        Years (start of the financial year) within the data; empty: all.
    baseline_year
        Year at which GLM levels are reported (time is ``year - baseline_year``); one of
        ``years``; ``None`` or 0: the first.
    alpha
        Significance level in (0, 0.5); intervals are ``1 - alpha``.
    overdispersion
        ``none``, ``multiplicative`` or ``additive``.
    membership_year
        0: each year's own membership; a year: that year's organisations in every year
        (needs ``membership`` to check that the year has members).

    Raises
    ------
    ValueError
        Naming each parameter with unknown values and listing what the panel has (one line
        per parameter).
    """
    organisations = _as_list(organisations, str)
    indicators = _as_list(indicators, str)
    years = _as_list(years, int | np.integer)
    problems = []
    # None: the organisations could not be read (reported elsewhere); nothing to check against
    known_orgs = (
        sorted(set(organisations))
        if organisations_table is None
        else sorted(organisations_table["organisation_id"])
    )
    bad = [o for o in organisations if o not in known_orgs]
    if bad:
        problems.append(str(unknown_value("organisations", bad, known_orgs[:20])))
    present = set(observations["indicator_id"].unique())
    ids = list(catalogue["indicator_id"])
    domains = list(dict.fromkeys(catalogue["domain"]))
    bad = [i for i in indicators if i not in ids and i not in domains]
    if bad:
        problems.append(str(unknown_value("indicators", bad, [*domains, *ids])))
    empty = [i for i in indicators if i in ids and i not in present]
    if empty:
        problems.append(
            f"parameter 'indicators': {empty} have no values in the data (every value is "
            "missing or the indicator has no rows)"
        )
    wanted = set(indicators)
    chosen = [
        i
        for i, d in zip(catalogue["indicator_id"], catalogue["domain"], strict=True)
        if i in present and (not wanted or i in wanted or d in wanted)
    ]
    if not chosen and not empty:
        problems.append(f"parameter 'indicators': {indicators} select no indicator with data")
    data_years = sorted(int(y) for y in observations["year"].unique())
    bad = sorted({int(y) for y in years} - set(data_years))
    if bad:
        problems.append(
            f"parameter 'years': {bad} outside the data, which has years "
            f"{data_years[0]}-{data_years[-1]}"
        )
    chosen_years = sorted({int(y) for y in years} & set(data_years)) or data_years
    baseline = chosen_years[0] if not baseline_year else int(baseline_year)
    if baseline not in chosen_years:
        problems.append(
            f"parameter 'baseline_year': {baseline} is not one of the selected years "
            f"{chosen_years} (0: the first)"
        )
    if not 0 < alpha < 0.5:
        problems.append(f"parameter 'alpha': {alpha} is not in (0, 0.5)")
    if overdispersion not in OVERDISPERSION:
        problems.append(str(unknown_value("overdispersion", [overdispersion], OVERDISPERSION)))
    if membership_year and membership is not None:
        having = [y for y in data_years if len(members_in_year(membership, y))]
        if int(membership_year) not in having:
            problems.append(
                f"parameter 'membership_year': {membership_year} has no members in the data's "
                f"membership; years with members: {having} (0: each year's own)"
            )
    if len(problems) == 1:
        raise ValueError(problems[0])
    if problems:
        raise ValueError(f"{len(problems)} parameter problem(s):\n  " + "\n  ".join(problems))
    return Selection(
        organisations=sorted(set(organisations)) if len(organisations) else known_orgs,
        indicators=chosen,
        years=chosen_years,
        baseline_year=baseline,
        alpha=float(alpha),
        overdispersion=overdispersion,
        membership_year=int(membership_year),
    )


def prepare(
    observations: pd.DataFrame,
    membership: pd.DataFrame,
    catalogue: pd.DataFrame,
    selection: Selection,
    *,
    unit: str = "practice_code",
) -> pd.DataFrame:
    """Observations of the selected indicators and years with organisation and indicator facts.

    Adds ``organisation_id`` (missing for practices outside every organisation that year;
    all organisations are kept so the comparator excludes every member; the organisations
    of ``selection.membership_year`` in every year when it is set),
    ``rate = numerator / denominator`` and the catalogue's ``domain``, ``distribution`` and
    ``higher_is_better`` (missing: no direction). At organisation level (``unit`` is
    ``organisation_id``) each organisation is its own single unit: ``practice_code`` then
    holds the organisation's id, so every analysis runs unchanged on one unit per
    organisation.
    """
    keep = observations["indicator_id"].isin(selection.indicators) & observations["year"].isin(
        selection.years
    )
    frame = observations.loc[keep, [unit, "year", "indicator_id"]].rename(
        columns={unit: "practice_code"}
    )
    frame["numerator"] = observations.loc[keep, "numerator"].to_numpy(dtype=float)
    frame["denominator"] = observations.loc[keep, "denominator"].to_numpy(dtype=float)
    frame["year"] = frame["year"].astype(int)
    if unit == "organisation_id":
        frame["organisation_id"] = frame["practice_code"]
    else:
        if selection.membership_year:
            membership = fixed_membership(
                membership, selection.membership_year, tuple(selection.years)
            )
        spells = pd.concat(
            [members_in_year(membership, y).assign(year=y) for y in selection.years],
            ignore_index=True,
        )
        frame = frame.merge(spells, on=["practice_code", "year"], how="left", validate="m:1")
    facts = catalogue[["indicator_id", "domain", "distribution", "higher_is_better"]]
    frame = frame.merge(facts, on="indicator_id", how="left", validate="m:1")
    direction = frame["higher_is_better"].astype("boolean")
    frame["higher_is_better"] = direction.astype(bool) if direction.notna().all() else direction
    frame["rate"] = frame["numerator"] / frame["denominator"]
    return frame.sort_values(["indicator_id", "year", "practice_code"], ignore_index=True)
