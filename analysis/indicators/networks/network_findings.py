"""The primary-care-network chapter's results in words, every number a cell of its tables.

:func:`network_findings` builds the chapter's sentences with
:class:`analysis.core.sentences.Sentences` from the tables of
:func:`analysis.indicators.networks.network_run.run_networks` (the names are those of the CSV files
the notebook writes, so :func:`analysis.core.sentences.check_sentences` can read them back). Words
that depend on a number (left- or right-skewed, inside or outside the range of the shuffles)
are chosen from the same cells; nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.core.sentences import Sentences

UNITS = {"pcn": "networks", "ccg": "CCGs"}


def _lie(count) -> str:
    """The verb agreeing with a cited count."""
    return "lies" if count.value == 1 else "lie"


def _funnel_cite(said: Sentences, column: str, limits: str, side: str, fmt: str = ""):
    where = {"limits": limits, "confidence": "99.8%", "side": side}
    return said.cite("funnel_summary", column, format=fmt, **where)


def _beyond(said: Sentences, limits: str, cells: dict) -> str:
    """Whether the networks below the 99.8% limits are beyond the shuffles' range, in words."""
    summary = said.tables["funnel_summary"].set_index(["limits", "confidence", "side"])
    row = summary.loc[(limits, "99.8%", "below")]
    cells["below_again"] = _funnel_cite(said, "organisations", limits, "below")
    cells["high"] = _funnel_cite(said, "permutation_high", limits, "below")
    if row["organisations"] > row["permutation_high"]:
        return (
            "the {below_again} below is more than the 97.5th percentile of the shuffles ({high})."
        )
    cells["low"] = _funnel_cite(said, "permutation_low", limits, "below")
    return (
        "the {below_again} below is within the shuffles' 2.5th to 97.5th percentiles "
        "({low} to {high})."
    )


def _funnel(said: Sentences, unit: str) -> None:
    year = said.cite("funnel_reference", "financial_year")
    limits = "sampling only"
    cells = {
        "year": year,
        "below": _funnel_cite(said, "organisations", limits, "below"),
        "above": _funnel_cite(said, "organisations", limits, "above"),
        "k": said.cite("funnel_reference", "organisations", format=","),
        "perm_below": _funnel_cite(said, "expected_permutation", limits, "below", ".1f"),
        "perm_above": _funnel_cite(said, "expected_permutation", limits, "above", ".1f"),
        "b": said.cite("funnel_reference", "permutations", format=","),
        "normal": _funnel_cite(said, "expected_normal", limits, "below", ".1f"),
    }
    verdict = _beyond(said, limits, cells)
    said.add(
        "funnel_sampling",
        f"In {{year}}, of the {{k}} {unit}, {{below}} {_lie(cells['below'])} below and "
        f"{{above}} above the 99.8% limits of a funnel with sampling variation only. If {unit} "
        "did not differ, "
        "{perm_below} below and {perm_above} above would be expected (mean of {b} shuffles of "
        f"practices across {unit}, each keeping its number of practices; the normal "
        "distribution gives {normal} on each side): " + verdict,
        **cells,
    )
    skew = said.tables["funnel_reference"]["skewness_england"].iloc[0]
    direction = ("left", "below") if skew < 0 else ("right", "above")
    said.add(
        "skew",
        f"Practices' percentages of available points are {direction[0]}-skewed in {{year}} "
        "(skewness {skew} over the {n_file} practices in the file, {skew_members} over the "
        "{n_members} member practices), so a mean of a few practices falls far "
        f"{direction[1]} England more often than a normal distribution allows: the expected "
        "counts are therefore taken from the shuffles, not from normal tail areas.",
        year=year,
        skew=said.cite("funnel_reference", "skewness_england", format=".2f"),
        n_file=said.cite("funnel_reference", "practices_in_file", format=","),
        skew_members=said.cite("funnel_reference", "skewness_members", format=".2f"),
        n_members=said.cite("funnel_reference", "member_practices", format=","),
    )
    limits = "with between-network variance"
    cells = {
        "tau2": said.cite("funnel_reference", "tau2", format=".2f"),
        "method": said.cite("funnel_reference", "tau2_method"),
        "below": _funnel_cite(said, "organisations", limits, "below"),
        "above": _funnel_cite(said, "organisations", limits, "above"),
        "perm_below": _funnel_cite(said, "expected_permutation", limits, "below", ".1f"),
        "perm_above": _funnel_cite(said, "expected_permutation", limits, "above", ".1f"),
        "normal": _funnel_cite(said, "expected_normal", limits, "below", ".1f"),
    }
    verdict = _beyond(said, limits, cells)
    said.add(
        "funnel_tau2",
        f"With the variance between {unit} added to the limits (tau-squared {{tau2}} squared "
        f"percentage points, {{method}}), {{below}} {_lie(cells['below'])} below and {{above}} "
        "above the 99.8% limits. "
        f"If {unit} differed only by a normal effect of that variance, {{perm_below}} below "
        "and {perm_above} above would be expected (the normal distribution gives {normal} on "
        "each side): " + verdict,
        **cells,
    )


def _icc(said: Sentences, unit: str) -> None:
    partition = said.tables["variance_partition"]
    years = [int(y) for y in partition["year"]]
    parts = ", ".join(f"{{icc_{y}}} in {{fy_{y}}}" for y in years)
    cells = {}
    for y in years:
        cells[f"icc_{y}"] = said.cite("variance_partition", "icc", format=".2f", year=y)
        cells[f"fy_{y}"] = said.cite("variance_partition", "financial_year", year=y)
    said.add(
        "icc_by_year",
        f"The share of the variance of practices' percentages that lies between {unit} "
        f"(the intraclass correlation, ICC, from the REML random-intercept model) was {parts}.",
        **cells,
    )
    membership = said.tables["membership"]
    before = [
        y
        for y in years
        if not bool(membership.loc[membership["year"] == y, "codes_in_file"].iloc[0])
    ]
    if not before:
        return
    first, last = before[0], years[-1]
    said.add(
        "icc_before_networks",
        f"In {{fy}}, before the QOF file records any of these {unit}, the practices later "
        "grouped into one were already alike: the ICC was {icc}, against {icc_last} in "
        "{fy_last}. Practices grouped together are neighbours that share a place, a CCG and "
        f"a population, so the ICC measures how alike neighbouring practices are, not an "
        f"effect of the {unit}.",
        fy=said.cite("variance_partition", "financial_year", year=first),
        icc=said.cite("variance_partition", "icc", format=".2f", year=first),
        icc_last=said.cite("variance_partition", "icc", format=".2f", year=last),
        fy_last=said.cite("variance_partition", "financial_year", year=last),
    )


def _size(said: Sentences, unit: str) -> None:
    smallest = said.tables["size_associations"].sort_values("p").iloc[0]
    where = {"outcome": smallest["outcome"], "size_measure": smallest["size_measure"]}
    family = said.tables["size_family"].iloc[0]
    asked = "against achievement in {years} " + (
        "year" if family["achievement_years"] == 1 else "years"
    )
    if family["change_tests"] > 0:
        asked += " and against its change"
    cells = {
        "m": said.cite("size_family", "tests"),
        "measures": said.cite("size_family", "size_measures"),
        "years": said.cite("size_family", "achievement_years"),
        "p": said.cite("size_associations", "p", format=".3f", **where),
        "outcome": said.cite("size_associations", "outcome", **where),
        "per": said.cite("size_associations", "per", **where),
        "q": said.cite("size_associations", "q", format=".3f", **where),
        "d": said.cite("size_family", "discoveries"),
        "fdr": said.cite("size_family", "fdr", format="g"),
        "coef": said.cite("size_associations", "coefficient", format=".2f", **where),
        "lower": said.cite("size_associations", "ci_lower", format=".2f", **where),
        "upper": said.cite("size_associations", "ci_upper", format=".2f", **where),
    }
    said.add(
        "size_tests",
        f"The size of the {unit} was tested {{m}} times, one family ({{measures}} size measures, "
        + asked
        + "). The smallest p-value, {p} ({outcome}, per {per}), is q = {q} after "
        "Benjamini-Hochberg over the family; tests with q below {fdr}: {d}. That estimate is "
        "{coef} percentage points per doubling (95% CI {lower} to {upper}).",
        **cells,
    )


def _reml(said: Sentences) -> None:
    method = said.tables["mixedlm_check"]["method"]
    ours = {"method": method.iloc[0]}
    theirs = {"method": method.iloc[1]}
    said.add(
        "reml_check",
        "Recomputed for {fy} by statsmodels' MixedLM (started at the method-of-moments ratio, "
        "gradient tolerance {gtol}), the REML estimates agree with the closed-form fit to a "
        "relative difference of {rel}; statsmodels' REML score at the closed-form estimate is "
        "{score}.",
        fy=said.cite("funnel_reference", "financial_year"),
        gtol=said.cite("mixedlm_check", "gtol", format=".0e", **theirs),
        rel=said.cite("mixedlm_check", "relative_difference", format=".1e", **theirs),
        score=said.cite("mixedlm_check", "reml_score", format=".1e", **ours),
    )


def network_findings(tables: Mapping[str, pd.DataFrame], *, grouping: str = "pcn") -> Sentences:
    """The chapter's sentences, built from ``tables`` (keys: the CSV names of the run).

    Parameters
    ----------
    tables
        :attr:`analysis.indicators.networks.network_run.NetworkRun.tables`.
    grouping
        ``pcn`` or ``ccg`` (the word used for the organisations).

    Returns
    -------
    Sentences
        Keys ``funnel_sampling``, ``skew``, ``funnel_tau2``, ``icc_by_year``,
        ``icc_before_networks`` (only when a year precedes the grouping's codes), ``size_tests``
        and ``reml_check``.
    """
    said = Sentences(tables)
    unit = UNITS.get(grouping, "organisations")
    _funnel(said, unit)
    _icc(said, unit)
    _size(said, unit)
    _reml(said)
    return said
