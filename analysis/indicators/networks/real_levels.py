"""The REAL networks chapter's levels: every PCN against England, by the generic analysis.

The chapter compares PCNs with England with the quality-indicator analysis every other run
uses (:func:`analysis.indicators.methods.results.run_analysis` on a
:class:`~analysis.indicators.sources.panel.Panel`), with these choices of its own:

* the between-PCN variance in the limits (``organisation_variance``: DerSimonian-Laird by
  default, the estimator the simulation chapter found calibrated), and Benjamini-Hochberg
  within each domain of the data (``bh_family="domain"``: the achievement indicators of the
  PCN table, its prevalences, the cardiovascular groups);
* the PCN table (organisation level) publishes no denominators: each PCN's denominator for an
  indicator is approximated by its register, the prevalence of the indicator's clinical area
  times the PCN's registered population, or, where the table has no such register, by its
  population (:func:`approximate_denominators`); the comparison without denominators (each
  PCN against the spread between PCNs only) is made beside it (:func:`denominator_sensitivity`);
* England is derived from the table's every row, the row of practices in no PCN included, as
  the denominator-weighted mean (:func:`england_from_table`); the table has no England row;
* the cardiovascular groups (practice level) are each practice's percentage of the group's
  points, a score: a PCN's value is the mean of its member practices, its variance the
  between-practice variance within PCNs over its member practices, England the mean of every
  practice (the generic analysis's rules for a continuous value);
* a domain of the summaries is the QOF clinical area, the letters that begin an indicator id
  (:func:`clinical_area`).

:func:`level_rows` turns the analysis into the chapter's table of comparisons;
:func:`indicator_summary`, :func:`domain_summary` and :func:`organisation_profile` count it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.indicators.methods.comparison import classify
from analysis.indicators.methods.results import IndicatorResults, run_analysis
from analysis.indicators.methods.selection import prepare, select, with_methods
from analysis.indicators.sources.panel import Panel, panel_from_tables
from analysis.indicators.sources.widetable import WideTable, panel_tables

TABLE_SOURCE = "pcn_table"
GROUPS_SOURCE = "cvd_groups"
CLASS_ORDER = ("better", "not different", "worse", "higher", "lower")
TAU2_NAMES = {
    "winsorised": "Winsorised phi, as published by Spiegelhalter",
    "winsorised_rescaled": "Winsorised phi rescaled",
    "dl": "DerSimonian-Laird",
    "reml": "REML",
}
"""Readable names of the between-PCN variance estimators, as the tables show them."""
ENGLAND_BASIS = (
    "derived: denominator-weighted mean of every row of the table, the no-PCN row included "
    "(the table has no England row)"
)


def clinical_area(indicator_id: str) -> str:
    """The QOF clinical area of an indicator: the letters its id begins with (``AF006``: AF)."""
    found = re.match(r"[A-Za-z]+", indicator_id)
    return found.group(0).upper() if found else indicator_id


def clinical_areas(ids: pd.Series) -> pd.Series:
    """:func:`clinical_area` of each id (computed once per distinct id)."""
    return ids.map({i: clinical_area(i) for i in ids.unique()})


def approximate_denominators(wide: WideTable) -> pd.DataFrame:
    """The PCN table's values with an approximate ``denominator`` and its ``basis``.

    A prevalence's denominator is the population (exact); an achievement's, its clinical
    area's register (that area's prevalence times the population) where the table has that
    prevalence, else the population. Rows without a population get no denominator.
    """
    values = wide.values.copy()
    population = wide.units.set_index("unit")["list_size"]
    prevalence_ids = set(
        wide.catalogue.loc[wide.catalogue["domain"] == "prevalence", "indicator_id"]
    )
    share = values[values["indicator_id"].isin(prevalence_ids)].set_index(["unit", "indicator_id"])
    area = clinical_areas(values["indicator_id"])
    register = ~values["indicator_id"].isin(prevalence_ids) & area.isin(prevalence_ids)
    values["denominator"] = values["unit"].map(population).astype(float)
    values["basis"] = "population"
    keys = pd.MultiIndex.from_arrays([values.loc[register, "unit"], area[register]])
    values.loc[register, "denominator"] *= share["value"].reindex(keys).to_numpy()
    values.loc[register, "basis"] = "register (" + area[register] + " prevalence x population)"
    return values


def england_from_table(values: pd.DataFrame) -> pd.DataFrame:
    """England per indicator from every row (the no-organisation row included):
    ``sum(value x denominator) / sum(denominator)`` (:func:`approximate_denominators`),
    exact for a prevalence, approximate for achievement; as England rows for the analysis
    (``indicator_id``, ``year``, ``numerator``, ``denominator``, ``comparator``)."""
    ok = values["value"].notna() & (values["denominator"] > 0)
    rows = values[ok].assign(product=values["value"] * values["denominator"])
    out = rows.groupby(["indicator_id", "year"], as_index=False, sort=False).agg(
        numerator=("product", "sum"), denominator=("denominator", "sum")
    )
    return out.assign(comparator=ENGLAND_BASIS)


def table_panel(wide: WideTable, *, denominators: bool = True) -> Panel:
    """The PCN table as an organisation-level panel: values with approximate denominators
    (binomial counts) or without (continuous), England derived from every row."""
    values = approximate_denominators(wide)
    tables = panel_tables(wide)
    kept = values[~values["excluded"] & values["value"].notna()]
    columns = ["value", "denominator"] if denominators else ["value"]
    observations = kept[["unit", "year", "indicator_id", *columns]].rename(
        columns={"unit": "organisation_id"}
    )
    return panel_from_tables(
        observations.dropna().reset_index(drop=True),
        tables["indicator_catalogue"],
        organisations=tables["organisations"],
        national=england_from_table(values),
        tier="real",
        name=str(wide.mapping["path"]),
    )


def groups_panel(wide: WideTable, members: pd.DataFrame) -> Panel:
    """The practice-level group table as a panel grouped by ``members`` (``practice_code``,
    ``year``, ``organisation_id``: the PCNs of the table's year)."""
    tables = panel_tables(wide)
    return panel_from_tables(
        tables["observations"].dropna(),  # only a value can be blank
        tables["indicator_catalogue"],
        membership=members,
        tier="real",
        name=str(wide.mapping["path"]),
    )


def compare(panel: Panel, *, alpha: float, tau2_method: str) -> IndicatorResults:
    """Every organisation of ``panel`` against England on every indicator with data: the
    generic analysis with the between-organisation variance (``tau2_method``) in the limits
    and Benjamini-Hochberg within each domain. At practice level the members' variance is the
    between-practice variance within organisations (``dl_within``)."""
    chosen = select(
        panel.observations, panel.catalogue, panel.organisations, membership=panel.membership,
        alpha=alpha, overdispersion="none" if panel.level == "organisation" else "additive",
    )  # fmt: skip
    chosen = with_methods(
        chosen, tau2_method="dl_within", organisation_variance=tau2_method, bh_family="domain"
    )
    data = prepare(panel.observations, panel.membership, panel.catalogue, chosen, unit=panel.unit)
    return run_analysis(
        data, panel.catalogue, panel.organisations, chosen, national=panel.national,
        level=panel.level,
    )  # fmt: skip


DIRECTION = {True: "higher", False: "lower"}


def level_rows(results: IndicatorResults, source: str, tau2_method: str) -> pd.DataFrame:
    """One row per organisation and indicator: the chapter's table of comparisons.

    ``family`` is the source and domain (the Benjamini-Hochberg family); ``domain`` the
    clinical area; ``value`` the organisation's rate, ``variance`` its variance without the
    between-organisation variance ``tau2``, ``size`` its denominator (the approximate register
    or, for a mean of practices, its member practices); ``z``, ``p``, ``p_bh`` and
    ``classification`` (after Benjamini-Hochberg) with ``tau2`` in the limits;
    ``z_sampling``, ``p_sampling`` and ``classification_sampling`` (unadjusted) without it;
    the limits ``lower95`` ... ``upper998``.
    """
    level = results.level
    summary = results.summary[results.summary["comparison"] == "level"]
    classes = level.merge(
        summary[["organisation_id", "indicator_id", "year", "p_bh", "class_bh"]],
        on=["organisation_id", "indicator_id", "year"],
        how="left",
        validate="1:1",
    )
    order = {indicator: k for k, indicator in enumerate(results.selection.indicators)}
    classes = classes.sort_values(
        ["indicator_id", "organisation_id"],
        key=lambda s: s.map(order) if s.name == "indicator_id" else s,
        ignore_index=True,
    )
    variance = classes["se_adjusted"] ** 2 - classes["tau2_organisations"]
    hib = classes["higher_is_better"]
    out = pd.DataFrame(
        {
            "source": source,
            "family": f"{source} " + classes["domain"],
            "indicator_id": classes["indicator_id"],
            "domain": clinical_areas(classes["indicator_id"]),
            "direction": hib.map(DIRECTION).fillna("neutral"),
            "organisation_id": classes["organisation_id"],
            "value": classes["rate"],
            "variance": variance,
            "size": classes["denominator"],
            "england": classes["national_rate"],
            "tau2": classes["tau2_organisations"],
            "tau2_method": TAU2_NAMES.get(tau2_method, tau2_method),
            "z": classes["z_adjusted"],
            "p": classes["p_adjusted"],
            "p_bh": classes["p_bh"],
            "classification": classes["class_bh"],
            "z_sampling": classes["z_members"],
            "p_sampling": classes["p_members"],
            "classification_sampling": classify(
                classes["rate"] - classes["national_rate"],
                classes["p_members"],
                hib,
                results.selection.alpha,
            ),  # fmt: skip
            "sampling_share": variance / classes["se_adjusted"] ** 2,
        }
    )
    for name in ("lower95", "upper95", "lower998", "upper998"):
        out[name] = classes[name]
    return out


def _count_classes(frame: pd.DataFrame, column: str) -> dict[str, int]:
    counts = frame[column].value_counts()
    return {name: int(counts.get(name, 0)) for name in CLASS_ORDER}


def indicator_summary(compared: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator: England, the between-organisation SD, and the organisations in
    each class (after Benjamini-Hochberg), with ``outside_sampling_only`` (those a funnel
    without the between-organisation variance would flag, unadjusted)."""
    rows = []
    for (source, indicator), group in compared.groupby(["source", "indicator_id"], sort=False):
        first = group.iloc[0]
        sampling = group["classification_sampling"].ne("not different").sum()
        rows.append(
            {
                "source": source,
                "family": first["family"],
                "indicator_id": indicator,
                "domain": first["domain"],
                "direction": first["direction"],
                "organisations": len(group),
                "england": float(first["england"]),
                "between_sd": float(np.sqrt(first["tau2"])),
                "tau2_method": first["tau2_method"],
                "median_sampling_share": float(group["sampling_share"].median()),
                **_count_classes(group, "classification"),
                "outside_sampling_only": int(sampling),
            }
        )
    return pd.DataFrame(rows)


def domain_summary(compared: pd.DataFrame) -> pd.DataFrame:
    """Comparisons by class per family and domain (after Benjamini-Hochberg), with a row
    ``all`` per family: ``indicators``, ``comparisons``, the counts, ``share_better``,
    ``share_not_different``, ``share_worse`` (of the comparisons of indicators with a better
    direction), ``outside_sampling_only`` and ``share_outside_sampling_only``."""
    rows = []
    for (source, family), part in compared.groupby(["source", "family"], sort=False):
        domains = list(part.groupby("domain", sort=True))
        for domain, group in [*domains, ("all", part)]:
            judged = group[group["direction"] != "neutral"]
            counts = _count_classes(group, "classification")
            outside = int(group["classification_sampling"].ne("not different").sum())
            n = len(judged)
            rows.append(
                {
                    "source": source,
                    "family": family,
                    "domain": domain,
                    "indicators": group["indicator_id"].nunique(),
                    "comparisons": len(group),
                    **counts,
                    "share_better": counts["better"] / n if n else np.nan,
                    "share_not_different": (
                        (judged["classification"] == "not different").sum() / n if n else np.nan
                    ),
                    "share_worse": counts["worse"] / n if n else np.nan,
                    "outside_sampling_only": outside,
                    "share_outside_sampling_only": outside / len(group),
                }
            )
    return pd.DataFrame(rows)


def organisation_profile(compared: pd.DataFrame) -> pd.DataFrame:
    """Per source and organisation: indicators compared and how many better / worse, and
    ``net`` (better minus worse), sorted by source and ``net``."""
    judged = compared[compared["direction"] != "neutral"]
    judged = judged.assign(
        better=judged["classification"].eq("better").astype(int),
        worse=judged["classification"].eq("worse").astype(int),
    )
    out = judged.groupby(["source", "organisation_id"], as_index=False).agg(
        indicators=("indicator_id", "size"), better=("better", "sum"), worse=("worse", "sum")
    )
    out["net"] = out["better"] - out["worse"]
    return out.sort_values(["source", "net", "organisation_id"], ignore_index=True)


def denominator_sensitivity(levels: pd.DataFrame, without: pd.DataFrame) -> pd.DataFrame:
    """The PCN table's classes with its approximate denominators and with none (each PCN
    against the spread between PCNs only, the generic analysis's rule for values without
    denominators): one row per family with the comparisons, better / worse / higher / lower
    under each, and how many change class."""
    key = ["family", "indicator_id", "organisation_id"]
    joined = levels.merge(without[[*key, "classification"]], on=key, suffixes=("", "_none"))
    rows = []
    for family, part in joined.groupby("family", sort=False):
        row = {"family": family, "comparisons": len(part)}
        for label, column in (("denominators", "classification"), ("none", "classification_none")):
            counts = part[column].value_counts()
            for name in ("better", "worse", "higher", "lower"):
                row[f"{name}_{label}"] = int(counts.get(name, 0))
        row["changed_class"] = int((part["classification"] != part["classification_none"]).sum())
        rows.append(row)
    return pd.DataFrame(rows)
