"""The REAL networks chapter's findings, as sentences built from its own tables.

Every number of every sentence is a cell of one of the chapter's tables, cited by table, row
and column with :class:`analysis.core.sentences.Sentences`; the notebook writes them to
``tables/sentences.csv`` and a test re-reads the written tables with
:func:`analysis.core.sentences.check_sentences`. Rows are chosen from the tables (the last
membership year, the clinical area with the largest share worse...), never typed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.core.sentences import Sentences
from analysis.indicators.networks.real_chapter import GROUPS_SOURCE, TABLE_SOURCE, TOTAL

PCT = ".1%"
SMALL_PCT = ".2%"
"""Shares that may be a small fraction of a per cent (a PCN class among tens of thousands)."""


def plural(count: object, one: str, many: str) -> str:
    """``one`` or ``many`` by the cited count (the word only, the count is cited)."""
    return one if int(count.value) == 1 else many  # type: ignore[attr-defined]


def _membership(said: Sentences, tables: Mapping[str, pd.DataFrame]) -> None:
    last = int(tables["membership_years"]["year"].max())

    def cite(column: str, fmt: str = "") -> object:
        return said.cite("membership_years", column, format=fmt, year=last)

    said.add(
        "membership",
        "In the {year} geography mapping, {pcns} PCNs held {in_pcn} of the {practices} "
        "practices, with a median of {median} member practices (largest {largest}); "
        "{unallocated} practices were in no PCN and {single} PCNs had a single practice.",
        year=cite("financial_year"), pcns=cite("pcns", ","), in_pcn=cite("in_pcn", ","),
        practices=cite("practices", ","), median=cite("median_practices", "g"),
        largest=cite("max_practices"), unallocated=cite("not_in_pcn"),
        single=cite("single_practice_pcns"),
    )  # fmt: skip
    period = tables["turnover"]["period"].iloc[-1]

    def move(column: str, fmt: str = "") -> object:
        return said.cite("turnover", column, format=fmt, period=period)

    said.add(
        "turnover",
        "Between the {first} and {last} mappings, {changed} of the {both} practices in both "
        "files and in a PCN in both changed PCN ({share}); {closed} practice codes left the "
        "files (closed or merged) and {opened} joined; {formed} PCN codes appeared and "
        "{ended} disappeared, and {same} of the {before} PCNs of {first2} kept exactly the "
        "same practices.",
        first=move("from_financial_year"), last=move("to_financial_year"),
        changed=move("changed_pcn"),
        both=move("practices_both", ","), share=move("share_changed_pcn", PCT),
        closed=move("closed"), opened=move("opened"), formed=move("pcns_formed"),
        ended=move("pcns_closed"), same=move("pcns_same_members", ","),
        before=move("pcns_before", ","), first2=move("from_financial_year"),
    )  # fmt: skip
    summary = tables["turnover_summary"]
    first = int(summary["first_year"].iloc[0])
    said.add(
        "moved",
        "Over the five files, {moved} practices ({share} of those ever in a PCN) were in more "
        "than one PCN.",
        moved=said.cite("turnover_summary", "moved", first_year=first),
        share=said.cite("turnover_summary", "share_moved", format=PCT, first_year=first),
    )
    agreement = tables["pcn_code_agreement"]
    if len(agreement):
        year = int(agreement["year"].iloc[-1])
        said.add(
            "agreement",
            "The geography mapping and the QOF summary of {year} give the same PCN code for "
            "{same} of the {both} practices in both.",
            year=said.cite("pcn_code_agreement", "financial_year", year=year),
            same=said.cite("pcn_code_agreement", "same_pcn_code", format=",", year=year),
            both=said.cite("pcn_code_agreement", "practices_in_both", format=",", year=year),
        )


def _levels(said: Sentences, tables: Mapping[str, pd.DataFrame]) -> None:
    domains = tables["domain_summary"]
    first = tables["indicator_summary"].iloc[0]
    method = said.cite(
        "indicator_summary", "tau2_method", source=first["source"],
        indicator_id=first["indicator_id"],
    )  # fmt: skip
    for key, family, what in (
        ("levels_table", f"{TABLE_SOURCE} achievement",
         "QOF achievement indicators of the PCN table"),
        ("levels_groups", f"{GROUPS_SOURCE} achievement",
         "cardiovascular groups (practice-level achievement, mean of member practices)"),
    ):  # fmt: skip
        if not ((domains["family"] == family) & (domains["domain"] == "all")).any():
            continue

        def cite(column: str, fmt: str = "", family: str = family) -> object:
            return said.cite("domain_summary", column, format=fmt, family=family, domain="all")

        said.add(
            key,
            "On the {indicators} " + what + ", {better} of the {comparisons} comparisons of a "
            "PCN with England ({share_better}) were better and {worse} ({share_worse}) worse, "
            "the rest not different, with the between-PCN variance ({method}) in the limits "
            "and Benjamini-Hochberg over the family; 95% limits with sampling variance only "
            "(unadjusted) would have put {outside} ({share_outside}) outside.",
            indicators=cite("indicators"), better=cite("better", ","),
            comparisons=cite("comparisons", ","), share_better=cite("share_better", SMALL_PCT),
            worse=cite("worse", ","), share_worse=cite("share_worse", SMALL_PCT), method=method,
            outside=cite("outside_sampling_only", ","),
            share_outside=cite("share_outside_sampling_only", PCT),
        )  # fmt: skip
        judged = domains[(domains["family"] == family) & (domains["domain"] != "all")].dropna(
            subset=["share_worse"]
        )
        if len(judged) > 1:
            worst = judged.sort_values(["share_worse", "domain"], ascending=[False, True]).iloc[0]
            best = judged.sort_values(["share_better", "domain"], ascending=[False, True]).iloc[0]

            def at(domain: str, column: str, fmt: str = "", family: str = family) -> object:
                return said.cite("domain_summary", column, format=fmt, family=family, domain=domain)

            worse = {
                "worst": at(worst["domain"], "domain"),
                "worst_share": at(worst["domain"], "share_worse", SMALL_PCT),
                "worst_n": at(worst["domain"], "comparisons", ","),
            }
            text = (
                "By clinical area, the largest share worse was in {worst} ({worst_share} of "
                "{worst_n})"
            )
            if best["share_better"] > 0:
                said.add(
                    f"{key}_domains",
                    text + " and the largest share better in {best} ({best_share} of {best_n}).",
                    **worse,
                    best=at(best["domain"], "domain"),
                    best_share=at(best["domain"], "share_better", SMALL_PCT),
                    best_n=at(best["domain"], "comparisons", ","),
                )
            else:
                said.add(f"{key}_domains", text + "; no area had a PCN better.", **worse)
    sensitivity = tables.get("denominator_sensitivity")
    family = f"{TABLE_SOURCE} achievement"
    if sensitivity is not None and (sensitivity["family"] == family).any():

        def alt(column: str, fmt: str = ",") -> object:
            return said.cite("denominator_sensitivity", column, format=fmt, family=family)

        said.add(
            "denominators",
            "The table publishes no denominators; comparing each PCN with the spread between "
            "PCNs only (no sampling variance, the generic analysis's rule for values without "
            "denominators) instead of the approximate registers gives {better} better and "
            "{worse} worse, and changes the class of {changed} of the {comparisons} "
            "comparisons.",
            better=alt("better_none"), worse=alt("worse_none"),
            changed=alt("changed_class"), comparisons=alt("comparisons"),
        )  # fmt: skip
    family = f"{TABLE_SOURCE} prevalence"
    if ((domains["family"] == family) & (domains["domain"] == "all")).any():

        def prev(column: str, fmt: str = "") -> object:
            return said.cite("domain_summary", column, format=fmt, family=family, domain="all")

        said.add(
            "prevalence",
            "Register prevalence has no better direction: of {comparisons} comparisons on "
            "{indicators} registers, {higher} were higher than England and {lower} lower.",
            comparisons=prev("comparisons", ","), indicators=prev("indicators"),
            higher=prev("higher", ","), lower=prev("lower", ","),
        )  # fmt: skip


def _variation(said: Sentences, tables: Mapping[str, pd.DataFrame]) -> None:
    groups = tables["group_variation"].sort_values(["icc", "indicator_id"])
    if len(groups) > 1:
        low, high = groups.iloc[0]["indicator_id"], groups.iloc[-1]["indicator_id"]

        def at(group: str, column: str, fmt: str = "") -> object:
            return said.cite("group_variation", column, format=fmt, indicator_id=group)

        said.add(
            "variation_groups",
            "Practices differ more within PCNs than PCNs differ from each other: the share of "
            "the variance of practices' cardiovascular achievement lying between PCNs (ICC, "
            "REML) ranged from {low_icc} ({low}) to {high_icc} ({high}); for {high} the SD "
            "within PCNs was {within} points against {between} between them.",
            low_icc=at(low, "icc", ".2f"), low=at(low, "indicator_id"),
            high_icc=at(high, "icc", ".2f"), high=at(high, "indicator_id"),
            within=at(high, "within_sd", ".1f"), between=at(high, "between_sd", ".1f"),
        )  # fmt: skip
    totals = tables["qof_variation"]
    if len(totals) > 1:
        first, last = int(totals["year"].min()), int(totals["year"].max())

        def year(value: int, column: str, fmt: str = "") -> object:
            return said.cite("qof_variation", column, format=fmt, indicator_id=TOTAL, year=value)

        said.add(
            "variation_total",
            "For QOF total achievement the ICC was {icc1} in {y1} and {icc2} in {y2}.",
            icc1=year(first, "icc", ".2f"), y1=year(first, "financial_year"),
            icc2=year(last, "icc", ".2f"), y2=year(last, "financial_year"),
        )  # fmt: skip


def _associations(said: Sentences, tables: Mapping[str, pd.DataFrame]) -> None:
    summary = tables["association_summary"]
    for source, what in (
        (TABLE_SOURCE, "achievement indicators of the PCN table"),
        (GROUPS_SOURCE, "cardiovascular groups"),
    ):
        rows = summary[summary["source"] == source]
        if len(rows) < 3:
            continue

        def at(measure: str, column: str, source: str = source) -> object:
            return said.cite("association_summary", column, source=source, measure=measure)

        said.add(
            f"associations_{source}",
            "Across the {tests} " + what + ", a doubling of member practices went with "
            "better achievement on {p_better} and worse on {p_worse}; a doubling of registered "
            "patients with better on {n_better} and worse on {n_worse}; 10 more points of IMD "
            "2019 (more deprived) with better on {d_better} and worse on {d_worse} "
            "(Benjamini-Hochberg within each measure).",
            tests=at("log2_practices", "tests"),
            p_better=at("log2_practices", "better"), p_worse=at("log2_practices", "worse"),
            n_better=at("log2_patients", "better"), n_worse=at("log2_patients", "worse"),
            d_better=at("imd_per10", "better"), d_worse=at("imd_per10", "worse"),
        )  # fmt: skip


def _trends(said: Sentences, tables: Mapping[str, pd.DataFrame]) -> None:
    summary = tables["trend_summary"]
    rules = set(summary["rule"])
    if not {"fixed", "own", "practice_fe"} <= rules:
        return

    def at(rule: str, column: str, fmt: str = "") -> object:
        return said.cite("trend_summary", column, format=fmt, rule=rule, indicator_id=TOTAL)

    said.add(
        "trends",
        "For QOF total achievement, England's trend was {england} points a year pooled and "
        "{england_fe} within practices; the SD of PCN trends beyond sampling was {sd_fixed} "
        "points a year with one year's membership fixed, {sd_own} with each year's own and "
        "{sd_fe} with practice fixed effects, and against the fixed-effects estimate the rule "
        "moved {moved_fixed} PCN trends (fixed) and {moved_own} (each year's own) by more "
        "than 0.05 points a year.",
        england=at("fixed", "england_slope", ".2f"),
        england_fe=at("practice_fe", "england_slope", ".2f"),
        sd_fixed=at("fixed", "between_sd", ".2f"), sd_own=at("own", "between_sd", ".2f"),
        sd_fe=at("practice_fe", "between_sd", ".2f"),
        moved_fixed=at("fixed", "moved_by_rule", ","), moved_own=at("own", "moved_by_rule", ","),
    )  # fmt: skip
    faster = at("practice_fe", "faster")
    said.add(
        "trend_classes",
        "After Benjamini-Hochberg, {faster} " + plural(faster, "PCN", "PCNs") + " changed "
        "faster than England and {slower} more slowly under practice fixed effects "
        "({faster_own} and {slower_own} under each year's own membership, pooled); "
        "the rest did not differ beyond the spread of PCN trends.",
        faster=faster,
        slower=at("practice_fe", "slower"),
        faster_own=at("own", "faster"),
        slower_own=at("own", "slower"),
    )
    logit = tables["trend_fe_logit"]
    term = logit["term"].iloc[-1]
    said.add(
        "trend_size",
        "In the practice fixed-effects fractional logit, the within-practice trend changed by "
        "{estimate} log-odds a year per doubling of the PCN's member practices "
        "(95% CI {lower} to {upper}, p = {p}).",
        estimate=said.cite("trend_fe_logit", "estimate", format=".3f", term=term),
        lower=said.cite("trend_fe_logit", "ci_lower", format=".3f", term=term),
        upper=said.cite("trend_fe_logit", "ci_upper", format=".3f", term=term),
        p=said.cite("trend_fe_logit", "p", format=".3f", term=term),
    )


def chapter_sentences(tables: Mapping[str, pd.DataFrame]) -> Sentences:
    """Every finding of the chapter, in the order the chapter shows them."""
    said = Sentences(tables)
    _membership(said, tables)
    _levels(said, tables)
    _variation(said, tables)
    _associations(said, tables)
    _trends(said, tables)
    return said
