"""Framework-method charts for the report's research questions, and each site's data
completeness.

McDonald et al. (2020) asked about motivations for joining, what members thought the
federation contributed and their commitment, directives taken from outside, core aims,
governance, membership, the business model and change over time, relationships with trusts,
local authorities, other federations, STPs and PCNs and patients, and practice processes,
workforce and the interface with health and social care (lines 100-104, 138, 811-815). Each
is a chart (:data:`CHARTS`): sites x sub-themes, each cell a short charted summary with the
line it rests on. A cell the report gives no evidence for is shown as not reported (the
framework method keeps gaps visible) and counted in :func:`completeness`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy.evidence import attribution_problems
from analysis.casestudy.sources import (
    EVIDENCE_KINDS,
    MAX_EXCERPT,
    SITES,
    data_path,
    file_problems,
    line_breaks,
    provenance_columns,
)
from analysis.core.datasets import read_table

CHARTS = {
    "motivations": "Motivations for joining",
    "contribution": "What members thought the federation contributed",
    "commitment": "Members' commitment",
    "external_directives": "Directives taken from outside",
    "core_aims": "Core aims",
    "governance": "Governance",
    "membership": "Membership",
    "business_model": "Business model",
    "change_over_time": "Change over time",
    "trusts": "Relationships with trusts",
    "local_authorities": "Relationships with local authorities",
    "other_federations": "Relationships with other federations",
    "stp_pcn": "STPs and PCNs",
    "patients": "Patients",
    "practice_processes": "Practice processes",
    "workforce": "Workforce",
    "health_social_care_interface": "Interface with health and social care",
}
NOT_REPORTED = "—"
"""Shown in a chart cell for which the report gives no evidence at that site."""

CHARTS_SCHEMA = DataFrameSchema(
    {
        "chart": Column(str, PaCheck.isin(list(CHARTS))),
        "sub_theme": Column(str, PaCheck.str_matches(r"^[a-z][a-z0-9_]*$")),
        "site": Column(str, PaCheck.isin(SITES)),
        "summary": Column(str, PaCheck.str_length(min_value=3, max_value=80)),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        "evidence_kind": Column(str, PaCheck.isin(EVIDENCE_KINDS)),
        "attribution": Column(str, nullable=True),
        **provenance_columns(),
    },
    strict=True,
)
COMPLETENESS_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "observed_from": Column(str, PaCheck.str_matches(r"^\d{4}-\d{2}$")),
        "observed_to": Column(str, PaCheck.str_matches(r"^\d{4}-\d{2}$")),
        "iagp_drivers_analysed": Column(str, PaCheck.isin(["yes", "no"])),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **provenance_columns(),
    },
    strict=True,
)


def read_charts(path: Path | None = None) -> pd.DataFrame:
    """The charted evidence: one row per (chart, sub-theme, site) summary.

    Raises
    ------
    DataError
        Naming file, line and column (unknown chart, summary too long, attribution that
        does not fit the kind of evidence, line breaks).
    """
    path = path or data_path("charts")
    charts = read_table(path, CHARTS_SCHEMA, unique=["chart", "sub_theme", "site", "excerpt"])
    problems = line_breaks(charts, ["summary", "excerpt", "note"]) + attribution_problems(charts)
    if problems:
        raise file_problems(path, problems)
    return charts


def read_completeness(path: Path | None = None) -> pd.DataFrame:
    """Each site's observation window and whether the IAGP key-driver analysis covered it."""
    return read_table(path or data_path("completeness"), COMPLETENESS_SCHEMA, unique=["site"])


def chart(charts: pd.DataFrame, name: str, sites=SITES) -> pd.DataFrame:
    """One framework chart: a row per sub-theme, a column per site, ``summary (line N)`` cells.

    Several excerpts for one cell are joined with ``; ``. A cell without evidence shows
    :data:`NOT_REPORTED`.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`CHARTS`.
    """
    if name not in CHARTS:
        raise ValueError(f"chart: {name!r} is not one of {list(CHARTS)}")
    rows = charts[charts["chart"] == name]
    cells = rows.assign(cell=rows["summary"] + " (line " + rows["source_lines"] + ")")
    wide = cells.groupby(["sub_theme", "site"], sort=False)["cell"].agg("; ".join).unstack("site")
    wide = wide.reindex(columns=list(sites)).fillna(NOT_REPORTED)
    wide.columns.name = None
    out = wide.reset_index().rename(columns={"sub_theme": "Sub-theme"})
    out["Sub-theme"] = out["Sub-theme"].map(_label)
    return out


def _label(name: str) -> str:
    text = name.replace("_", " ")
    return text.upper() if len(text) <= 3 else text[0].upper() + text[1:]


def chart_summary(charts: pd.DataFrame) -> pd.DataFrame:
    """Per chart: sub-themes, excerpts, cells reported out of cells possible, kinds of evidence."""
    rows = []
    for name, label in CHARTS.items():
        part = charts[charts["chart"] == name]
        subs = part["sub_theme"].nunique()
        rows.append(
            {
                "Research question": label,
                "Sub-themes": subs,
                "Excerpts": len(part),
                "Cells reported": part[["sub_theme", "site"]].drop_duplicates().shape[0],
                "Cells possible": subs * len(SITES),
                "Interview quotes": int((part["evidence_kind"] == "interview_quote").sum()),
            }
        )
    return pd.DataFrame(rows)


def completeness(
    record: pd.DataFrame,
    table1: pd.DataFrame,
    table2: pd.DataFrame,
    table6: pd.DataFrame,
    charts: pd.DataFrame,
    evidence: pd.DataFrame,
) -> pd.DataFrame:
    """Per site: how much evidence the report gives and how much of it survives here.

    Returns
    -------
    pandas.DataFrame
        Observation window, meetings observed and interviews (the report's Tables 1 and 2),
        whether the IAGP key-driver analysis covered the site, surviving Table 6 cells,
        framework-chart cells with evidence, and judgements with disconfirming evidence.
    """
    meetings = table1[(table1["reported_in"] == "text") & (table1["meeting_type"] == "Total")]
    interviews = table2[
        (table2["reported_in"] == "table") & (table2["interviewee_type"] == "Total")
    ]
    possible = charts[["chart", "sub_theme"]].drop_duplicates().shape[0]
    rows = []
    for site in SITES:
        rec = record.set_index("site").loc[site]
        cells = charts[charts["site"] == site][["chart", "sub_theme"]].drop_duplicates()
        t6 = table6[table6["site"] == site]
        rows.append(
            {
                "Site": site,
                "Observed": f"{rec['observed_from']} to {rec['observed_to']}",
                "Meetings observed": int(meetings.loc[meetings["site"] == site, "n"].iloc[0]),
                "Interviews": int(interviews.loc[interviews["site"] == site, "n"].iloc[0]),
                "In IAGP driver analysis": rec["iagp_drivers_analysed"],
                "Table 6 cells surviving": f"{int(t6['value'].notna().sum())} of {len(t6)}",
                "Chart cells with evidence": f"{len(cells)} of {possible}",
                "Judgements with disconfirming evidence": int(
                    evidence.loc[evidence["site"] == site, "disconfirming"].notna().sum()
                ),
            }
        )
    return pd.DataFrame(rows)
