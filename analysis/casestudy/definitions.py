"""The typology of central-authority styles derived from the report's own definitions and
tables, with the range of rules over which each site's style holds.

McDonald et al. (2020) define the two dimensions in words:

- **control**: "Directing involves high levels of control" (line 617); Embedded is "low
  level in terms of control over members, as it asks very little of member practices"
  (line 656). Control is scored from the Directing row of Table 6 (line 751 survives for
  Small; the three lost cells are read from the prose, lines 621-623).
- **system proactivity**: "the extent to which federations are proactive in working
  across a broader system, reflecting the range of spatial and temporal contexts", with
  a high degree indicating the ability "to both grasp the significance of external
  organisations and take an expansive view with regard to spatiotemporal horizons"
  (line 656). It is scored from the Temporal focus, Spatial focus and Proactivity rows of
  Table 5 (lines 649-651).

Each Table 5 row is an ordered scale of the report's own words (:data:`TABLE5_LEVELS`); a
cell scores its rank over the top rank, through a scoring map. Three rules combine the rows
(:data:`RULES`), and "Divergent views" (Struggling's leaders disagreed; Table 6, line 757)
is scored three ways (:data:`DIVERGENT`). The report states no cut on either dimension: it
defines the styles relationally (Embedded "was low on control and more proactive than the
neglectful sites", line 807). Comparing the derived styles with the published classification
therefore checks the compendium's own rule (kind ``coded_rule``), not the report's
consistency: where they differ, the rule or the coding does not give what the report says,
and each check states the range of cuts over which the compendium's scores give the
published styles (:func:`definition_checks`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.casestudy.framework import NAMED_MAPS
from analysis.casestudy.parameters import check_threshold
from analysis.casestudy.published import one_row
from analysis.casestudy.sources import SITES, STRAND
from analysis.casestudy.typology import AT_CUT, classify, threshold_ranges
from analysis.core.reproduction import Check, check, check_from

TABLE5_LEVELS = {
    "Temporal focus": ("Short term", "Short to medium term", "Medium and long term"),
    "Spatial focus": ("Local", "System wide"),
    "Proactivity": (
        "Passive",
        "Passive/reactive",
        "Responsive and sometimes proactive",
        "Highly proactive",
    ),
}
"""Each Table 5 row used for system proactivity, its published values from lowest to highest."""
DIVERGENT_VIEWS = "Divergent views"
DIVERGENT = {"midpoint": 0.5, "narrower": 0.0, "wider": 1.0}
"""How a 'Divergent views' cell scores: between the leaders, the narrower view, the wider."""
RULES = {
    "mean": "mean of temporal focus, spatial focus and proactivity",
    "horizons": "mean of temporal and spatial focus (the spatiotemporal horizons alone)",
    "both": "the lower of proactivity and the mean of the horizons (both must be high)",
}
CONTROL_LEVELS = ("no_constraining_directives", "rules_unenforced", "monitored_directives")
"""The Directing codes (Table 6 row and the prose on directives), lowest to highest control."""


def _scale(
    value: str, levels: Sequence[str], scoring_map: str, divergent: str, where: str
) -> float:
    if value == DIVERGENT_VIEWS:
        return DIVERGENT[divergent]
    if value not in levels:
        raise ValueError(f"{where}: {value!r} is not one of {list(levels)} or {DIVERGENT_VIEWS!r}")
    return float(NAMED_MAPS[scoring_map](np.array(levels.index(value) / (len(levels) - 1))))


def _check_options(scoring_map: str, rule: str, divergent: str) -> None:
    for name, value, allowed in (
        ("scoring map", scoring_map, NAMED_MAPS),
        ("rule", rule, RULES),
        ("divergent", divergent, DIVERGENT),
    ):
        if value not in allowed:
            raise ValueError(f"typology {name}: {value!r} is not one of {sorted(allowed)}")


def definition_scores(
    table5: pd.DataFrame,
    evidence: pd.DataFrame,
    *,
    scoring_map: str = "linear",
    rule: str = "mean",
    divergent: str = "midpoint",
) -> pd.DataFrame:
    """Each site's control and system proactivity scored from the report's tables.

    Parameters
    ----------
    table5
        Transcribed Table 5 (``aspect, site, value``).
    evidence
        The coded evidence; its ``directing`` rows give control (Table 6 Directing row).
    scoring_map
        ``linear``, ``convex`` or ``concave``: how a rank becomes a 0-1 score.
    rule
        How the three Table 5 rows combine into system proactivity (:data:`RULES`).
    divergent
        How a "Divergent views" cell scores (:data:`DIVERGENT`).

    Returns
    -------
    pandas.DataFrame
        ``site, temporal, spatial, proactivity, control, system_proactivity``.

    Raises
    ------
    ValueError
        For an unknown option, or a Table 5 or Directing value off its scale (naming it).
    """
    _check_options(scoring_map, rule, divergent)
    rows = []
    for site in [s for s in SITES if s in set(table5["site"])]:
        part = {}
        for aspect, key in zip(TABLE5_LEVELS, ("temporal", "spatial", "proactivity"), strict=True):
            cell = one_row(table5, site=site, aspect=aspect)
            where = f"Table 5, {aspect}, {site} (line {cell['source_lines']})"
            part[key] = _scale(cell["value"], TABLE5_LEVELS[aspect], scoring_map, divergent, where)
        directing = one_row(evidence, site=site, theme="directing")["code"]
        part["control"] = _scale(
            directing, CONTROL_LEVELS, scoring_map, divergent, f"directing, {site}"
        )
        horizons = (part["temporal"] + part["spatial"]) / 2
        part["system_proactivity"] = {
            "mean": (part["temporal"] + part["spatial"] + part["proactivity"]) / 3,
            "horizons": horizons,
            "both": min(part["proactivity"], horizons),
        }[rule]
        rows.append({"site": site, **part})
    return pd.DataFrame(rows)


def stability(
    table5: pd.DataFrame,
    evidence: pd.DataFrame,
    published: pd.DataFrame,
    *,
    control_threshold: float = 0.5,
    proactivity_threshold: float = 0.5,
) -> pd.DataFrame:
    """Every scoring map x rule x divergent-views choice: styles and reproducing thresholds.

    Returns
    -------
    pandas.DataFrame
        One row per (``scoring_map``, ``rule``, ``divergent``, ``site``): the two scores,
        the derived ``style`` at the given thresholds, the ``published`` style, whether
        they ``agree``, and the proactivity thresholds strictly between ``p_from`` and
        ``p_below`` (control: ``c_from``, ``c_below``) over which this site keeps its
        published level. A low site keeps it for thresholds above its score, a high site
        for thresholds below it; at its score it is at the cut (in neither level).
    """
    c = check_threshold("control_threshold", control_threshold)
    p = check_threshold("proactivity_threshold", proactivity_threshold)
    pub = published.set_index("site")
    rows = []
    for scoring_map, rule, divergent in itertools.product(NAMED_MAPS, RULES, DIVERGENT):
        dims = definition_scores(
            table5, evidence, scoring_map=scoring_map, rule=rule, divergent=divergent
        )
        styled = classify(dims[["site", "control", "system_proactivity"]], c, p)
        for row in styled.itertuples(index=False):
            level = pub.loc[row.site]
            p_lo, p_hi = _interval(row.system_proactivity, level["system_proactivity"])
            c_lo, c_hi = _interval(row.control, level["control"])
            rows.append(
                {
                    "scoring_map": scoring_map,
                    "rule": rule,
                    "divergent": divergent,
                    "site": row.site,
                    "control": row.control,
                    "system_proactivity": row.system_proactivity,
                    "style": row.style,
                    "published": level["style"],
                    "agree": row.style == level["style"],
                    "c_from": c_lo,
                    "c_below": c_hi,
                    "p_from": p_lo,
                    "p_below": p_hi,
                }
            )
    return pd.DataFrame(rows)


def _interval(score: float, level: str) -> tuple[float, float]:
    return (0.0, float(score)) if level == "high" else (float(score), 1.0 + 1e-9)


def reproducing_thresholds(stable: pd.DataFrame) -> pd.DataFrame:
    """Per choice of map, rule and divergent scoring: the thresholds reproducing all four sites.

    Returns
    -------
    pandas.DataFrame
        ``scoring_map, rule, divergent``, ``c_from, c_below, p_from, p_below`` (the
        intersection of the sites' intervals: cuts strictly between ``from`` and
        ``below``; empty when ``from >= below``),
        ``reproducible`` and ``sites_agreeing`` at the chosen thresholds.
    """
    keys = ["scoring_map", "rule", "divergent"]
    out = stable.groupby(keys, sort=False).agg(
        c_from=("c_from", "max"),
        c_below=("c_below", "min"),
        p_from=("p_from", "max"),
        p_below=("p_below", "min"),
        sites_agreeing=("agree", "sum"),
    )
    out["c_below"] = out["c_below"].clip(upper=1.0)
    out["p_below"] = out["p_below"].clip(upper=1.0)
    out["reproducible"] = (out["c_from"] < out["c_below"]) & (out["p_from"] < out["p_below"])
    return out.reset_index()


def _cut_range(ranges: pd.DataFrame, dimension: str, name: str) -> str:
    row = ranges.set_index("dimension").loc[dimension]
    if not row["reproducible"]:
        return f"no {name} cut separates the published levels"
    low, high = float(row["lowest"]), float(row["below"])
    if high == float("inf"):
        return f"any {name} cut above {low:.3f}"
    return f"any {name} cut strictly between {low:.3f} and {high:.3f}"


def cut_reason(dims: pd.DataFrame, published: pd.DataFrame) -> str:
    """Why a typology check is the compendium's rule, with the cuts its scores allow.

    The report states no cut (line 807 defines the styles relationally); the range is
    computed from ``dims`` by :func:`analysis.casestudy.typology.threshold_ranges`.
    """
    ranges = threshold_ranges(dims, published)
    control = _cut_range(ranges, "control", "control")
    proactivity = _cut_range(ranges, "system_proactivity", "system-proactivity")
    both = bool(ranges["reproducible"].all())
    return (
        "the compendium's rule, not the report's: the report states no cut and defines the "
        "styles relationally (line 807); on these scores "
        + (
            f"{control} and {proactivity} give all four published styles"
            if both
            else f"no pair of cuts gives all four published styles ({control}; {proactivity})"
        )
    )


def definition_checks(
    typology: pd.DataFrame, published: pd.DataFrame, rule_text: str
) -> list[Check]:
    """Derived against published style per site, the report's order of the sites on system
    proactivity, and the count of authoritarian sites (kind ``coded_rule``).

    The derived styles rest on the compendium's scoring and cut, not on a rule the report
    states, so a disagreement says what the compendium's rule gives, not that the report is
    inconsistent; each row's reason gives the range of cuts over which the compendium's
    scores give every published style (:func:`cut_reason`).
    """
    reason = cut_reason(typology, published)
    checks = []
    for row in typology.itertuples(index=False):
        pub = one_row(published, site=row.site)
        checks.append(
            check_from(
                f"cs_typology_{row.site.lower()}",
                pub,
                strand=STRAND,
                quantity=f"Central-authority style, {row.site}: published against {rule_text}",
                published=pub["style"],
                reproduced=row.style,
                kind="coded_rule",
                reason=reason,
            )
        )
    anchor = published.iloc[0]
    styles = set(published.loc[published["site"].isin(typology["site"]), "style"])
    if {"indulgent", "neglectful"} <= styles:
        checks.append(order_check(typology, published))
    checks.append(
        check(
            "cs_typology_authoritarian_count",
            strand=STRAND,
            quantity="Sites classified authoritarian (report: none), from the tables",
            source_file=anchor["source_file"],
            source_location="Chapter 4, Central authority leadership and management",
            source_lines="657",
            published=0,
            reproduced=int((typology["style"] == "authoritarian").sum()),
            kind="coded_rule",
            reason=reason,
        )
    )
    return checks


def order_check(typology: pd.DataFrame, published: pd.DataFrame) -> Check:
    """The report's relational statement (line 807): the indulgent site "more proactive than
    the neglectful sites", against the order of the compendium's system-proactivity scores."""
    pub = published.set_index("site")
    here = typology.set_index("site")["system_proactivity"]
    indulgent = [s for s in here.index if pub.loc[s, "style"] == "indulgent"]
    neglectful = [s for s in here.index if pub.loc[s, "style"] == "neglectful"]
    anchor = pub.loc[indulgent[0]].to_dict() | {"site": indulgent[0]}
    claim = f"{', '.join(indulgent)} above {', '.join(neglectful)}"
    holds = min(here[indulgent]) > max(here[neglectful])
    scores = "; ".join(f"{site} {here[site]:.3f}" for site in [*indulgent, *neglectful])
    return check_from(
        "cs_typology_order",
        anchor,
        strand=STRAND,
        quantity="System proactivity: the indulgent site 'more proactive than the neglectful "
        f"sites' against the compendium's scores ({scores})",
        published=claim,
        reproduced=claim if holds else "not in that order",
        kind="coded_rule",
        reason="the scores are the compendium's coding of Table 5; the order is the report's "
        "own relational definition (line 807)",
    )


def typology_summary(
    typology: pd.DataFrame,
    published: pd.DataFrame,
    ranges: pd.DataFrame,
    *,
    control_threshold: float,
    proactivity_threshold: float,
) -> pd.DataFrame:
    """The typology in one row, for the chapter's sentences.

    ``typology`` is :func:`analysis.casestudy.typology.classify` output with a ``published``
    column, ``ranges`` :func:`reproducing_thresholds` output (every scoring choice).

    Columns: ``sites``; ``agree`` (derived style equals the published one at the chosen
    cuts); ``at_cut`` and ``at_cut_sites`` (sites with a score exactly at a cut, so placed in
    neither level); the chosen cuts ``control_cut``, ``proactivity_cut``; the cuts that give
    every published style on these scores, strictly between ``control_from`` and
    ``control_below`` and between ``proactivity_from`` and ``proactivity_below``, and
    ``reproducible`` (both ranges non-empty); ``choices`` (scoring map x rule x divergent
    views) and ``choices_reproducible`` (those with such cuts).
    """
    cuts = threshold_ranges(typology, published).set_index("dimension")
    at_cut = typology[
        typology["control_level"].eq(AT_CUT) | typology["proactivity_level"].eq(AT_CUT)
    ]
    return pd.DataFrame(
        [
            {
                "sites": len(typology),
                "agree": int((typology["style"] == typology["published"]).sum()),
                "at_cut": len(at_cut),
                "at_cut_sites": ", ".join(at_cut["site"]),
                "control_cut": float(control_threshold),
                "proactivity_cut": float(proactivity_threshold),
                "control_from": float(cuts.loc["control", "lowest"]),
                "control_below": float(cuts.loc["control", "below"]),
                "proactivity_from": float(cuts.loc["system_proactivity", "lowest"]),
                "proactivity_below": float(cuts.loc["system_proactivity", "below"]),
                "reproducible": bool(cuts["reproducible"].all()),
                "choices": len(ranges),
                "choices_reproducible": int(ranges["reproducible"].sum()),
            }
        ]
    )
