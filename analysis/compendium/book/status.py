"""The landing page's status of this build, read from the reproduction report's own tables.

Nothing here is typed by hand: rows per kind of evidence (never summed across kinds) and per
publication with its verdict, from the report's tables (:data:`.collect.REPORT_TABLES`, in
its run folder); the report's own sentences; the findings about the sources; the executed
notebooks' figures by data tier; the data files by tier (the data catalogue); and whether
the runs shown are fresh.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from analysis.compendium import pipeline as pl
from analysis.compendium.book.collect import (
    FIGURE_TIERS,
    figure_tiers,
    read_json,
    report_notebook,
    report_tables,
)
from analysis.compendium.book.markdown import markdown_table
from analysis.paths import build_dir

#: The report's sentences (``tables/sentences.csv``, keyed) the landing page repeats: its
#: counts are the report's, generated from its tables and checked against them.
STATUS_SENTENCES = ("findings", "coded-rule", "must-match")
KIND_NAMES = {
    "recomputed": "recomputed from independent data",
    "consistency": "consistency between published figures",
    "coded_rule": "the compendium's own rules and coding",
    "method_recovery": "method recovery on synthetic data",
    "round_trip": "round-trip of a synthetic reconstruction (not evidence)",
    "transcribed": "transcribed only (nothing can check it)",
}


def _datasets_by_tier() -> pd.DataFrame:
    from analysis.core import catalogue

    rows = [(ds.tier, ds.rows) for ds in catalogue.load()]
    frame = pd.DataFrame(rows, columns=["tier", "rows"])
    return frame.groupby("tier").agg(files=("rows", "size"), rows=("rows", "sum"))


def _figures_line(figures: Counter) -> str:
    if not figures:
        return "none"
    parts = ", ".join(f"{figures[t]} {t}" for t in FIGURE_TIERS)
    return f"{sum(figures.values())} ({parts})"


def _data_line(tiers: pd.DataFrame) -> str:
    names = {
        "published": "published",
        "compiled": "compiled (with assumed definitions)",
        "real": "real public data",
        "synthetic": "synthetic",
        "user": "user-supplied",
    }
    parts = [
        f"{int(tiers.loc[t, 'files'])} {names[t]} ({int(tiers.loc[t, 'rows']):,} rows)"
        for t in names
        if t in tiers.index
    ]
    return ", ".join(parts) or "none catalogued"


def _freshness(pipeline: pl.Pipeline) -> str:
    """Whether the runs shown are those the current code, data and parameters give."""
    from analysis.compendium.execute import status

    stale = [f"{p.notebook.name} ({'; '.join(p.reasons)})" for p in status(pipeline) if p.reasons]
    if not stale:
        return "every chapter's run is up to date with the code, data and parameters"
    return "**stale runs shown** (rerun `make all`): " + ", ".join(stale)


def _cell(row: pd.Series | None, kind: str) -> str:
    if row is None or int(row["checks"]) == 0:
        return "0"
    checks, agree, disagree = (int(row[c]) for c in ("checks", "agree", "disagree"))
    if kind == "transcribed":
        return str(checks)
    if kind in ("consistency", "coded_rule"):
        return f"{agree} agree, **{disagree} disagree**" if disagree else f"{agree} agree"
    verb = "hold" if kind == "method_recovery" else "agree"
    return f"{agree} of {checks} {verb}"


def status_table(kinds: pd.DataFrame, verdicts: pd.DataFrame | None) -> pd.DataFrame:
    """One row per kind of evidence, one column per publication and one over all of them,
    and a last row with each publication's verdict.

    Never a total across kinds; ``kinds`` and ``verdicts`` are the report's
    ``kind_counts.csv`` and ``verdicts.csv``.
    """
    whole = {}
    if verdicts is not None and len(verdicts):
        rows = verdicts[verdicts["item"] == "whole publication"]
        label = "label" if "label" in rows.columns else "verdict"
        whole = dict(zip(rows["publication"], rows[label], strict=True))
    publications = sorted(set(kinds["source_document"]) - {"all publications"})
    columns = {}
    for publication in [*publications, "all publications"]:
        part = kinds[kinds["source_document"] == publication].set_index("kind")
        cells = [_cell(part.loc[k] if k in part.index else None, k) for k in KIND_NAMES]
        columns[publication] = [*cells, f"*{whole.get(publication, '–')}*"]
    table = pd.DataFrame(columns)
    table.insert(0, "kind of evidence", [*STATUS_ROWS, "**verdict**"])
    return table


STATUS_ROWS = [
    "**recomputed** from independent data",
    "**consistency** of published figures",
    "**coded rule**: the compendium's own rules and coding (not evidence about the source)",
    "**method recovery** on synthetic data",
    "**round-trip** of a synthetic reconstruction (not evidence)",
    "**transcribed only**",
]


def _findings_list(findings: pd.DataFrame) -> list[str]:
    """The findings as two lists, inconsistencies and then tensions (never mixed)."""
    if "class" not in findings.columns:
        return []
    lines = []
    tension = findings["class"] == "tension"
    for title, part in (
        ("Inconsistencies in the sources", findings[~tension]),
        ("Tensions open to interpretation (not inconsistencies)", findings[tension]),
    ):
        if part.empty:
            continue
        lines += [f"#### {title}", ""]
        for row in part.itertuples(index=False):
            lines.append(
                f"- **{row.finding_id}** ({row.publication}; {row.class_label}): {row.what}. "
                f"*{row.location_a}*: \u201c{row.stated_a}\u201d; against *{row.location_b}*: "
                f"\u201c{str(row.stated_b).rstrip('.')}\u201d."
            )
        lines.append("")
    return lines


def _sentences(tables: dict[str, pd.DataFrame]) -> list[str]:
    """The report's keyed sentences the landing page repeats, in :data:`STATUS_SENTENCES` order."""
    frame = tables.get("sentences")
    if frame is None or frame.empty:
        return []
    text = dict(zip(frame["key"], frame["text"], strict=False))
    return [f"- {text[key]}" for key in STATUS_SENTENCES if key in text]


def status_summary(pipeline: pl.Pipeline) -> str:
    """Markdown status of this build for the top of the landing page.

    Read from the reproduction report's tables (:func:`report_tables`): rows per kind of
    evidence (never summed across kinds), per publication with its verdict, the report's own
    sentences on the findings, the compendium's rules and the must-match rows (generated
    from its tables), and the findings by class, inconsistencies apart from tensions; then
    the book's figures by data tier (from their captions), the data files by tier (from the
    catalogue) and whether the runs are fresh.
    """
    tables = report_tables(pipeline)
    manifest = read_json(build_dir() / "manifest.json") or {}
    report = report_notebook(pipeline)
    link = f" ({{doc}}`/chapters/{report}`)" if report else ""
    lines = ["## Status of this build", ""]
    if "kinds" not in tables:
        lines += ["No reproduction report in this build: run `compendium run` first.", ""]
    else:
        kinds = tables["kinds"]
        overall = kinds[kinds["source_document"] == "all publications"].set_index("kind")
        recomputed = int(overall["checks"].get("recomputed", 0))
        findings = tables.get("findings", pd.DataFrame())
        lines += [
            "Published figures checked, by publication and by what kind of evidence each "
            "check is (defined in {doc}`/methods`; kinds are never added together), from the "
            f"reproduction report's tables{link}:",
            "",
            markdown_table(status_table(kinds, tables.get("verdicts"))),
        ]
        if recomputed == 0:
            lines.append(
                "- **No published figure is recomputed from independent data**: the studies' "
                "respondent-level and practice-level data are not public. Round trips and "
                "method recovery run on synthetic data."
            )
        lines += _sentences(tables)
        lines.append("")
        if len(findings):
            lines += ["### Findings about the sources", "", *_findings_list(findings)]
    lines += [
        "### This build",
        "",
        f"- **Figures in this book:** {_figures_line(figure_tiers(pipeline))}.",
        f"- **Data files:** {_data_line(_datasets_by_tier())}; see {{doc}}`/data`.",
        f"- **Run:** commit `{manifest.get('git_commit', 'unknown')}`, manifest written "
        f"{manifest.get('written', 'unknown')}; {_freshness(pipeline)}; "
        "see {doc}`/reproducibility`.",
        "",
    ]
    return "\n".join(lines)
