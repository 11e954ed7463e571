"""The published quality-indicator findings beside what a run of the analysis finds.

The research summary {cite}`rosen2016bigger` reports its 15-indicator analysis only in
words. Each statement is quoted here with its file and lines, turned into an explicit rule
on the result tables of :mod:`analysis.indicators.methods.results`, and judged ``holds`` / ``does
not hold`` for the run. On the synthetic panel, whose data-generating process was built to make the
statements true, ``holds`` means the method recovers what was put in (kind
``method_recovery``: whether the method can see such an effect, never whether the study was
right); on user data it is a ``recomputed`` check of the published finding. The statements
are qualitative, so the rows of ``reproduction.csv`` are ``must_match=False``; a
statement's ``note`` says why it is expected not to hold, when it is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.reproduction import Check, check
from analysis.indicators.methods.results import IndicatorResults

SOURCE_FILE = "002_d1de2aebef7660af.txt"
STRAND = "quality_indicators"
HOLDS, FAILS, NOT_EVALUATED = "holds", "does not hold", "not evaluated"


@dataclass(frozen=True)
class Statement:
    """One published statement, where it is and how a run is judged against it."""

    statement_id: str
    source_lines: str
    source_location: str
    excerpt: str
    rule: str
    evaluate: Callable[[IndicatorResults, pd.DataFrame], tuple[str, str]]
    note: str = ""
    tolerance: float = 0.0


def _orgs(results: IndicatorResults) -> list[str]:
    return results.selection.organisations


def _prescribing(results, _organisations):
    trend = results.trend
    rows = trend[trend["domain"] == "prescribing"] if not trend.empty else trend
    if rows.empty:
        return NOT_EVALUATED, "no prescribing trend indicators selected"
    all_improved = rows.groupby("organisation_id")["org_change"].apply(
        lambda s: bool((s == "improved").all())
    )
    count, n = int(all_improved.sum()), len(_orgs(results))
    share = (rows["org_change"] == "improved").mean()
    finding = (
        f"{count} of {n} organisations improved significantly on all "
        f"{rows['indicator_id'].nunique()} prescribing indicators; {share:.0%} of "
        "organisation x indicator trends improved"
    )
    return (HOLDS if count > n / 2 else FAILS), finding


def _qof(results, _organisations):
    qof = results.qof
    if qof.empty:
        return NOT_EVALUATED, "no QOF indicator at its single year in the selection"
    n = len(_orgs(results))
    better = qof.assign(b=qof["classification"] == "better").groupby(["indicator_id", "year"])
    counts = better["b"].sum()
    parts = [f"{ind} {year}: {int(c)} of {n}" for (ind, year), c in counts.items()]
    ok = bool((np.abs(counts - n / 2) <= 1).all())
    return (HOLDS if ok else FAILS), "better than England: " + "; ".join(parts)


def _mirrored(results, _organisations):
    trend = results.trend
    rows = (
        trend[trend["domain"].isin(["hospital_use", "patient_satisfaction"])]
        if not trend.empty
        else trend
    )
    if rows.empty:
        return NOT_EVALUATED, "no hospital-use or satisfaction trend indicators selected"
    national = rows.drop_duplicates("indicator_id")
    deteriorated = int((national["national_change"] == "deteriorated").sum())
    same = (rows["classification"] == "not different").mean()
    own = (rows["org_change"] == "deteriorated").mean()
    ok = deteriorated == len(national) and same >= 0.75
    finding = (
        f"England deteriorated on {deteriorated} of {len(national)} indicators; "
        f"{same:.0%} of organisation trends not different from England's; "
        f"{own:.0%} deteriorated themselves"
    )
    return (HOLDS if ok else FAILS), finding


def _level_rows(results: IndicatorResults) -> pd.DataFrame:
    return results.summary[results.summary["comparison"] == "level"]


def _no_consistent(results, _organisations):
    rows = _level_rows(results)
    per_org = rows.groupby("organisation_id")["class_unadjusted"]
    all_better = [o for o, s in per_org if (s == "better").all()]
    all_worse = [o for o, s in per_org if (s == "worse").all()]
    best = per_org.apply(lambda s: int((s == "better").sum())).max()
    finding = (
        f"better on all {rows['indicator_id'].nunique()} indicators: {all_better or 'none'}; "
        f"worse on all: {all_worse or 'none'}; most indicators better for one organisation: "
        f"{best}"
    )
    return (HOLDS if not all_better and not all_worse else FAILS), finding


def _variation(results, _organisations):
    trend = results.variation_trend
    measure = trend["measure"].iloc[0] if "measure" in trend and len(trend) else "cv"
    tested = trend.dropna(subset=["slope_p" if "slope_p" in trend else "cv_slope_p"])
    label = "CV" if measure == "cv" else "link-scale between-practice variance"
    if tested.empty:
        return NOT_EVALUATED, "fewer than three years: variation trend not tested"
    fell = tested.groupby("organisation_id")["variation_change"].apply(
        lambda s: (s == "fell").mean()
    )
    counts = tested["variation_change"].value_counts()
    finding = (
        f"of {len(tested)} organisation x indicator {label} trends: "
        f"{int(counts.get('fell', 0))} "
        f"fell, {int(counts.get('rose', 0))} rose, "
        f"{int(counts.get('no significant change', 0))} no significant change; "
        f"largest share falling in one organisation {fell.max():.0%}"
    )
    return (HOLDS if (fell <= 0.5).all() else FAILS), finding


def _associations(results, _organisations):
    tests = results.associations.dropna(subset=["p_exact"])
    if tests.empty:
        return NOT_EVALUATED, "too few organisations to test"
    alpha = results.selection.alpha
    raw = tests[tests["significant"]]
    adjusted = tests[tests["significant_bh"]]
    names = [
        f"{r.characteristic} ({r.comparison}, p={r.p_exact:.3f}, BH {r.p_bh:.3f})"
        for r in raw.itertuples()
    ]
    finding = (
        f"{len(adjusted)} of {len(tests)} exact tests with Benjamini-Hochberg p < {alpha:g}; "
        f"{len(raw)} before adjustment"
        + (f" ({', '.join(names)})" if names else "")
        + f"; n = {int(tests['n'].max())} organisations, low power"
    )
    return (HOLDS if adjusted.empty else FAILS), finding


def _case_study_level(results, organisations):
    return _case_study(results, organisations, "level")


def _case_study_improved(results, organisations):
    return _case_study(results, organisations, "improved")


def _case_study(results, organisations, kind):
    cases = organisations.loc[organisations["case_study"].astype(bool), "organisation_id"]
    cases = [o for o in cases if o in _orgs(results)]
    if not cases:
        return NOT_EVALUATED, "no case-study organisation selected"
    if kind == "level":
        rows = _level_rows(results)
        hit = rows["class_unadjusted"] == "better"
    else:
        rows = results.trend
        if rows.empty:
            return NOT_EVALUATED, "no trend indicators selected"
        hit = rows["org_change"] == "improved"
    share = hit.groupby(rows["organisation_id"]).mean()
    over_half = [o for o in cases if share.get(o, 0) > 0.5]
    detail = ", ".join(f"{o} {share.get(o, 0):.0%}" for o in cases)
    finding = f"{len(over_half)} of {len(cases)} case-study organisations over half ({detail})"
    return (HOLDS if len(over_half) == 3 else FAILS), finding


def _marked_differences(results, _organisations):
    rows = _level_rows(results)
    if rows.empty:
        return NOT_EVALUATED, "no level comparisons"
    differs = rows["class_unadjusted"].isin(["better", "worse"])
    share = differs.groupby(rows["organisation_id"]).mean()
    marked = sorted(share[share > 0.5].index)
    finding = (
        f"organisations significantly different from England on over half of "
        f"{rows['indicator_id'].nunique()} indicators: {marked or 'none'}"
    )
    return (HOLDS if not marked else FAILS), finding


def _case_study_prescribing(results, organisations):
    cases = organisations.loc[organisations["case_study"].astype(bool), "organisation_id"]
    cases = [o for o in cases if o in _orgs(results)]
    trend = results.trend
    rows = trend[trend["domain"] == "prescribing"] if not trend.empty else trend
    if not cases or rows.empty:
        return NOT_EVALUATED, "no case-study organisation or prescribing trend selected"
    improved = rows.groupby("organisation_id")["org_change"].apply(
        lambda s: int((s == "improved").sum())
    )
    n = rows["indicator_id"].nunique()
    detail = ", ".join(f"{o} {improved.get(o, 0)} of {n}" for o in cases)
    all_ok = all(improved.get(o, 0) == n for o in cases)
    return (HOLDS if all_ok else FAILS), f"prescribing indicators improving: {detail}"


def _followed(results, _organisations):
    trend = results.trend
    if trend.empty:
        return NOT_EVALUATED, "no trend indicators selected"
    share = trend.groupby("organisation_id")["classification"].apply(
        lambda s: (s == "not different").mean()
    )
    count, n = int((share > 0.5).sum()), len(share)
    finding = (
        f"{count} of {n} organisations had trends not different from England's on more than "
        f"half of their {trend['indicator_id'].nunique()} trend indicators"
    )
    return (HOLDS if count > n / 2 else FAILS), finding


def _none_improved_all(results, _organisations):
    trend = results.trend
    if trend.empty:
        return NOT_EVALUATED, "no trend indicators selected"
    all_improved = trend.groupby("organisation_id")["org_change"].apply(
        lambda s: bool((s == "improved").all())
    )
    names = list(all_improved[all_improved].index)
    finding = f"organisations improving on every trend indicator: {names or 'none'}"
    return (HOLDS if not names else FAILS), finding


LOCATION = "Can we detect changes in quality in large-scale general practice organisations?"

STATEMENTS = (
    Statement(
        "QI-S1",
        "291",
        f"{LOCATION}: Findings, Prescribing",
        "most organisations significantly improved over time on all indicators",
        "more than half of the organisations have a significantly improving own trend "
        "on every selected prescribing indicator",
        _prescribing,
    ),
    Statement(
        "QI-S2",
        "293-297",
        f"{LOCATION}: Findings, Quality and Outcomes Framework",
        "Half of the organisations performed significantly better than the national "
        "average on total QOF (in 2014), clinical QOF (in 2014) and organisational QOF "
        "(in 2013)",
        "on each QOF indicator at its single year, the number of organisations "
        "significantly better than England is half of those analysed, plus or minus one",
        _qof,
        "'Half' is read with a tolerance of one organisation either way (not stated in "
        "the source): with eight organisations, three to five count as half.",
        tolerance=1.0,
    ),
    Statement(
        "QI-S3",
        "299",
        f"{LOCATION}: Findings, Hospital activity and patient satisfaction",
        "showed trends of deterioration over time which mirrored national patterns",
        "England's trend deteriorates significantly on every selected hospital-use and "
        "satisfaction indicator and at least 75% of organisation trends are not "
        "significantly different from England's",
        _mirrored,
    ),
    Statement(
        "QI-S4",
        "301",
        f"{LOCATION}: Findings, Overall",
        "No single organisation consistently outperformed or underperformed the others "
        "on all indicators",
        "no organisation is significantly better (or worse) than England on every "
        "selected indicator at its reference year",
        _no_consistent,
    ),
    Statement(
        "QI-S5",
        "301",
        f"{LOCATION}: Findings, Overall",
        "examined the variation in performance of member practices within organisations "
        "and similarly found no patterns",
        "no organisation shows a significant fall in the spread (variation_measure) between "
        "member practices "
        "on more than half of its tested indicators",
        _variation,
    ),
    Statement(
        "QI-S6",
        "301",
        f"{LOCATION}: Findings, Overall",
        "There were also no associations between characteristics (such as size, "
        "geographic location of member practices, or organisational form) and "
        "explained differences in performance",
        "no exact association test (size, list size, CCGs spanned, form, rurality, "
        "case-study status; for levels and trends) has a Benjamini-Hochberg adjusted "
        "p < alpha across those twelve tests",
        _associations,
    ),
    Statement(
        "QI-S7",
        "78",
        "Key points: Quality of care and patient satisfaction",
        "three of the case study organisations performed significantly better than the "
        "national average on over half of the measures",
        "exactly three case-study organisations are significantly better than England "
        "on more than half of the selected indicators at their reference years",
        _case_study_level,
    ),
    Statement(
        "QI-S8",
        "301",
        f"{LOCATION}: Findings, Overall",
        "most organisations followed national trends",
        "more than half of the organisations have trends not significantly different "
        "from England's on more than half of their trend indicators",
        _followed,
    ),
    Statement(
        "QI-S9",
        "333",
        "Conclusion: Impact on quality and patient experience",
        "three of the case study sites significantly improved in over half of the "
        "measures over time",
        "exactly three case-study organisations have a significantly improving own "
        "trend on more than half of the selected trend indicators",
        _case_study_improved,
        "Expected not to hold on the synthetic panel: it encodes the key points' reading "
        "(better than England on over half of the measures, QI-S7, line 78), not the "
        "conclusion's 'improved over time' (line 333). The two passages disagree (finding "
        "src-qi-case-sites-over-half).",
    ),
    Statement(
        "QI-S10",
        "333",
        "Conclusion: Impact on quality and patient experience",
        "none of the organisations showed consistent improvement over time across all "
        "the indicators",
        "no organisation has a significantly improving own trend on every selected trend indicator",
        _none_improved_all,
    ),
    Statement(
        "QI-S11",
        "301",
        f"{LOCATION}: Findings, Overall",
        "We were unable to detect marked differences in the quality of the large-scale "
        "general practice organisations compared to the national average",
        "no organisation is significantly different from England (better or worse) on "
        "more than half of the selected indicators at their reference years",
        _marked_differences,
        "Expected not to hold on the synthetic panel, which encodes QI-S7 (three case-study "
        "organisations better on over half of the measures): the two statements, both in "
        "the key points (line 78), disagree (finding src-qi-marked-differences).",
    ),
    Statement(
        "QI-S12",
        "333",
        "Conclusion: Impact on quality and patient experience",
        "All three sites improved on prescribing measures",
        "every case-study organisation has a significantly improving own trend on every "
        "selected prescribing indicator",
        _case_study_prescribing,
    ),
)
"""The published statements, in the order the chapter discusses them."""


def statements_table() -> pd.DataFrame:
    """The statements with their provenance and rule (no run needed)."""
    return pd.DataFrame(
        [
            {
                "statement_id": s.statement_id,
                "source_file": SOURCE_FILE,
                "source_lines": s.source_lines,
                "source_location": s.source_location,
                "published": s.excerpt,
                "rule": s.rule,
                "note": s.note,
                "tolerance": s.tolerance,
            }
            for s in STATEMENTS
        ]
    )


NEEDS = {
    "QI-S1": ("trend", "org_change"),
    "QI-S2": ("qof", "classification"),
    "QI-S3": ("trend", "national_change"),
    "QI-S4": ("summary", "class_unadjusted"),
    "QI-S7": ("summary", "class_unadjusted"),
    "QI-S8": ("trend", "classification"),
    "QI-S9": ("trend", "org_change"),
    "QI-S10": ("trend", "org_change"),
}
"""The result column each statement's rule reads (checked for being all missing)."""


def _not_computable(statement: Statement, results: IndicatorResults) -> tuple[str, str] | None:
    """``not evaluated`` with the reason when every value the rule needs is missing."""
    if statement.statement_id not in NEEDS:
        return None
    table_name, column = NEEDS[statement.statement_id]
    table = getattr(results, table_name)
    if table.empty or column not in table or table[column].notna().any():
        return None
    return NOT_EVALUATED, (
        f"every {column!r} in the {table_name} table of this run is missing (its models "
        "could not be estimated), so the statement's statistic cannot be computed"
    )


def evaluate_statements(results: IndicatorResults, organisations: pd.DataFrame) -> pd.DataFrame:
    """Judge every statement on a run: ``this_run`` (what was found) and ``verdict``.

    Rules use the unadjusted classes (as the published analysis appears to); the
    Benjamini-Hochberg classes are in the summary table beside them. A statement whose
    statistic cannot be computed (every value it needs is missing) is ``not evaluated``,
    with the reason.
    """
    table = statements_table()
    verdicts = [
        _not_computable(s, results) or s.evaluate(results, organisations) for s in STATEMENTS
    ]
    table["this_run"] = [finding for _, finding in verdicts]
    table["verdict"] = [verdict for verdict, _ in verdicts]
    return table


def reproduction_checks(evaluated: pd.DataFrame, tier: str) -> list[Check]:
    """One ``must_match=False`` reproduction row per statement (qualitative).

    The kind is ``method_recovery`` on synthetic data and ``recomputed`` on user data.
    """
    what = "the method recovers the synthetic truth" if tier == "synthetic" else "this run"
    return [
        check(
            row.statement_id,
            strand=STRAND,
            quantity=(
                f"'{row.published}' ({tier} data, so 'holds' means {what}). Rule: {row.rule}. "
                f"This run: {row.this_run}"
            ),
            source_file=row.source_file,
            source_location=row.source_location,
            source_lines=row.source_lines,
            published=HOLDS,
            reproduced=row.verdict,
            # Shown in the report: the organisations' count the rule allows either way.
            tolerance=row.tolerance,
            must_match=False,
            kind="method_recovery" if tier == "synthetic" else "recomputed",
            reason=row.note,
        )
        for row in evaluated.itertuples()
    ]


PANEL_SOURCE = ("Methods, quantitative analysis", "136")


def panel_checks(
    organisations: pd.DataFrame, tier: str, *, analysed: Sequence[str] | None = None
) -> list[Check]:
    """The organisations analysed and their case-study sites against the eight and three of
    line 136.

    ``analysed`` is the run's selection of organisation ids (default: every organisation in
    the table). For the synthetic panel the generator hard-codes the eight study
    organisations, so the row is a ``round_trip``.
    """
    if analysed is not None:
        organisations = organisations[organisations["organisation_id"].isin(list(analysed))]
    cases = int(organisations["case_study"].astype(bool).sum())
    synthetic = tier == "synthetic"
    return [
        check(
            "QI-panel-organisations",
            strand=STRAND,
            quantity="organisations analysed; of them case-study sites",
            source_file=SOURCE_FILE,
            source_location=PANEL_SOURCE[0],
            source_lines=PANEL_SOURCE[1],
            published="8 organisations; 3 case-study sites",
            reproduced=f"{len(organisations)} organisations; {cases} case-study sites",
            must_match=synthetic,
            kind="round_trip" if synthetic else "recomputed",
            reason="the synthetic generator hard-codes eight study organisations, three of "
            "them case-study sites (the small networks it adds are not analysed by default)"
            if synthetic
            else "",
        )
    ]
