"""Quality-indicator analysis parameters and the one table every analysis takes (issue 4).

:func:`select` checks the notebook parameters against a practice panel
(:mod:`analysis.indicators.panel`) and returns a :class:`Selection`. :func:`prepare` joins the
panel's ``observations`` (one row per ``practice_code``, ``year``, ``indicator_id`` with
``numerator`` and ``denominator``), its ``membership`` spells and the indicator ``catalogue``
(``domain``, ``distribution``, ``higher_is_better``, ``single_year``) into the tidy table the
analyses (:mod:`~analysis.indicators.comparison`, :mod:`~analysis.indicators.trends`,
:mod:`~analysis.indicators.variation`) take. Nothing here reads or writes files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.indicators.panel import members_in_year

OVERDISPERSION = ("none", "multiplicative", "additive")
"""Overdispersion adjustments of :func:`analysis.indicators.comparison.compare_to_national`."""

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


METHOD_CHOICES = {
    "tau2_method": ("winsorised", "winsorised_rescaled", "dl", "reml"),
    "comparator": ("england", "rest"),
    "score": ("z", "effect"),
    "variation_measure": ("cv", "tau2_link"),
    "trend_comparator": ("rest", "england"),
    "trend_members": ("all", "stable"),
    "trend_model": ("pooled", "practice_fe"),
}
"""Method options of issue 14; the first choice of each is the method as published."""

PUBLISHED_METHODS = {name: choices[0] for name, choices in METHOD_CHOICES.items()}
"""The method options as published (the defaults before issue 14)."""


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
) -> Selection:
    """Check the notebook parameters against the panel; empty lists mean "all".

    A single string (or year) is taken as a list of one.

    Parameters
    ----------
    observations, catalogue, organisations_table
        The panel's tables.
    organisations
        Organisation ids (``ORG01``...).
    indicators
        Indicator ids and/or domain names (``prescribing``, ``hospital_use``, ``qof``,
        ``patient_satisfaction``), expanded to indicator ids in catalogue order.
    years
        Years (start of the financial year) within the data.
    baseline_year
        Year at which GLM levels are reported (time is ``year - baseline_year``); one of
        ``years``; default the first.
    alpha
        Significance level in (0, 0.5); intervals are ``1 - alpha``.
    overdispersion
        ``none``, ``multiplicative`` or ``additive``.

    Raises
    ------
    ValueError
        Naming the parameter and the unknown values, and listing what the panel has.
    """
    organisations = [organisations] if isinstance(organisations, str) else list(organisations)
    indicators = [indicators] if isinstance(indicators, str) else list(indicators)
    years = [years] if isinstance(years, int | np.integer) else list(years)
    known_orgs = sorted(organisations_table["organisation_id"])
    bad = [o for o in organisations if o not in known_orgs]
    if bad:
        raise unknown_value("organisations", bad, known_orgs)
    ids = list(catalogue["indicator_id"])
    domains = list(dict.fromkeys(catalogue["domain"]))
    bad = [i for i in indicators if i not in ids and i not in domains]
    if bad:
        raise unknown_value("indicators", bad, [*domains, *ids])
    wanted = set(indicators)
    chosen = [
        i
        for i, d in zip(catalogue["indicator_id"], catalogue["domain"], strict=True)
        if not wanted or i in wanted or d in wanted
    ]
    data_years = sorted(int(y) for y in observations["year"].unique())
    bad = sorted({int(y) for y in years} - set(data_years))
    if bad:
        raise ValueError(
            f"parameter 'years': {bad} outside the data, which has years "
            f"{data_years[0]}-{data_years[-1]}"
        )
    chosen_years = sorted({int(y) for y in years}) if len(years) else data_years
    baseline = chosen_years[0] if baseline_year is None else int(baseline_year)
    if baseline not in chosen_years:
        raise ValueError(
            f"parameter 'baseline_year': {baseline} is not one of the selected years {chosen_years}"
        )
    if not 0 < alpha < 0.5:
        raise ValueError(f"parameter 'alpha': {alpha} is not in (0, 0.5)")
    if overdispersion not in OVERDISPERSION:
        raise unknown_value("overdispersion", [overdispersion], OVERDISPERSION)
    return Selection(
        organisations=sorted(set(organisations)) if len(organisations) else known_orgs,
        indicators=chosen,
        years=chosen_years,
        baseline_year=baseline,
        alpha=float(alpha),
        overdispersion=overdispersion,
    )


def prepare(
    observations: pd.DataFrame,
    membership: pd.DataFrame,
    catalogue: pd.DataFrame,
    selection: Selection,
) -> pd.DataFrame:
    """Observations of the selected indicators and years with organisation and indicator facts.

    Adds ``organisation_id`` (missing for practices outside every organisation that year;
    all organisations are kept so the comparator excludes every member),
    ``rate = numerator / denominator`` and the catalogue's ``domain``, ``distribution`` and
    ``higher_is_better``.
    """
    keep = observations["indicator_id"].isin(selection.indicators) & observations["year"].isin(
        selection.years
    )
    frame = observations.loc[keep, ["practice_code", "year", "indicator_id"]].copy()
    frame["numerator"] = observations.loc[keep, "numerator"].astype(float)
    frame["denominator"] = observations.loc[keep, "denominator"].astype(float)
    frame["year"] = frame["year"].astype(int)
    spells = pd.concat(
        [members_in_year(membership, y).assign(year=y) for y in selection.years],
        ignore_index=True,
    )
    frame = frame.merge(spells, on=["practice_code", "year"], how="left", validate="m:1")
    facts = catalogue[["indicator_id", "domain", "distribution", "higher_is_better"]]
    frame = frame.merge(facts, on="indicator_id", how="left", validate="m:1")
    frame["higher_is_better"] = frame["higher_is_better"].astype(bool)
    frame["rate"] = frame["numerator"] / frame["denominator"]
    return frame.sort_values(["indicator_id", "year", "practice_code"], ignore_index=True)
