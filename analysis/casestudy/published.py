"""McDonald et al. (2020) Tables 1, 2, 3 and 7 and the published typology: read, laid out,
and checked.

The tables are transcribed as published, with provenance; cells the plain text lost are
rows with no value and a note saying so. Tables 1 and 2 have their totals added up again
from their cells (consistency); Table 3's "Competition for members" row and Table 7's IAGP
entries are checked against the codes read from the prose (:mod:`analysis.casestudy.evidence`;
kind ``coded_rule``). The
published classification of the sites (:data:`STYLES`) is read here and derived in
:mod:`analysis.casestudy.typology`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy.framework import set_membership
from analysis.casestudy.sources import (
    MAX_EXCERPT,
    SITES,
    STRAND,
    at_cell,
    data_path,
    file_problems,
    line_breaks,
    provenance_columns,
)
from analysis.core.datasets import DataError, read_table
from analysis.core.reproduction import Check, check_from

STYLES = {
    (True, True): "authoritative",
    (False, True): "indulgent",
    (False, False): "neglectful",
    (True, False): "authoritarian",
}
"""(high control over members, high system proactivity) -> the report's name for the style."""

TABLE1_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin([*SITES, "All sites"])),
        "meeting_type": Column(
            str, PaCheck.isin(["Federation", "Federation services", "Practice", "Other", "Total"])
        ),
        "reported_in": Column(str, PaCheck.isin(["table", "text"])),
        "n": Column(int, PaCheck.ge(0), nullable=True),
        **provenance_columns(),
    },
    strict=True,
)
INTERVIEW_TYPES = ("Clinicians", "PMs", "Federation staff", "Patients", "CCG", "Other")
TABLE2_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin([*SITES, "National perspectives", "All sites"])),
        "interviewee_type": Column(str, PaCheck.isin([*INTERVIEW_TYPES, "Total"])),
        "reported_in": Column(str, PaCheck.isin(["table", "text"])),
        "n": Column(int, PaCheck.ge(0)),
        **provenance_columns(),
    },
    strict=True,
)
TABLE3_SCHEMA = DataFrameSchema(
    {
        "characteristic": Column(str),
        "site": Column(str, PaCheck.isin(SITES)),
        "value": Column(str),
        **provenance_columns(),
    },
    strict=True,
)
TABLE7_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "item": Column(int, PaCheck.ge(1)),
        "service": Column(str, nullable=True),
        **provenance_columns(),
    },
    strict=True,
)
TYPOLOGY_SCHEMA = DataFrameSchema(
    {
        "site": Column(str, PaCheck.isin(SITES)),
        "style": Column(str, PaCheck.isin(sorted(set(STYLES.values())))),
        "control": Column(str, PaCheck.isin(["high", "low"])),
        "system_proactivity": Column(str, PaCheck.isin(["high", "low"])),
        "excerpt": Column(str, PaCheck.str_length(min_value=3, max_value=MAX_EXCERPT)),
        **provenance_columns(),
    },
    strict=True,
)


def _lost_cells_need_note(frame: pd.DataFrame, value: str) -> list[str]:
    bad = frame[value].isna() & frame["note"].isna()
    return [
        at_cell(i, value, "missing value without a note saying why (lost cell?)")
        for i in frame.index[bad]
    ]


def _read_with_lost_cells(name: str, schema, unique, value: str, path: Path | None):
    path = path or data_path(name)
    frame = read_table(path, schema, unique=unique)
    problems = _lost_cells_need_note(frame, value) + line_breaks(frame, ["note"])
    if problems:
        raise file_problems(path, problems)
    return frame


def read_table1(path: Path | None = None) -> pd.DataFrame:
    """Table 1 (meetings observed); lost cells are rows with no ``n`` and a note."""
    return _read_with_lost_cells(
        "table1", TABLE1_SCHEMA, ["site", "meeting_type", "reported_in"], "n", path
    )


def read_table2(path: Path | None = None) -> pd.DataFrame:
    """Table 2 (interviews by type and site) and the text's total."""
    return _read_with_lost_cells(
        "table2", TABLE2_SCHEMA, ["site", "interviewee_type", "reported_in"], "n", path
    )


def read_table3(path: Path | None = None) -> pd.DataFrame:
    """Table 3 (site characteristics) as published text."""
    return read_table(path or data_path("table3"), TABLE3_SCHEMA, unique=["characteristic", "site"])


def read_table7(path: Path | None = None) -> pd.DataFrame:
    """Table 7 (services won); lost cells are rows with no ``service`` and a note."""
    return _read_with_lost_cells("table7", TABLE7_SCHEMA, ["site", "item"], "service", path)


def read_published_typology(path: Path | None = None) -> pd.DataFrame:
    """The published classification of the four sites (Chapter 6)."""
    return read_table(path or data_path("typology"), TYPOLOGY_SCHEMA, unique=["site"])


# --------------------------------------------------------------------------- Tables 1-3, 7


def one_row(frame: pd.DataFrame, **where) -> pd.Series:
    """The single row of ``frame`` whose columns equal ``where``; a DataError unless exactly one."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in where.items():
        mask &= (frame[column] == value).to_numpy()
    rows = frame[mask]
    if len(rows) != 1:
        raise DataError(f"expected exactly one row where {where}, found {len(rows)}")
    return rows.iloc[0]


def _check_against(check_id: str, quantity: str, row: pd.Series, reproduced) -> Check:
    return check_from(
        f"cs_{check_id}",
        row,
        strand=STRAND,
        quantity=quantity,
        published=int(row["n"]),
        reproduced=int(reproduced),
        kind="consistency",
    )


def table1_checks(table1: pd.DataFrame) -> list[Check]:
    """Table 1: the total of meetings added up from site totals and from meeting-type totals,
    and each site's total against the figure given in the text.

    The per-site, per-type cells were lost in the plain text, so row sums cannot be checked.
    """
    table = table1[table1["reported_in"] == "table"]
    sites = table[(table["site"] != "All sites") & (table["meeting_type"] == "Total")]
    types = table[(table["site"] == "All sites") & (table["meeting_type"] != "Total")]
    total = one_row(table, site="All sites", meeting_type="Total")
    checks = [
        _check_against("t1_total_by_site", "Meetings, sum of site totals", total, sites["n"].sum()),
        _check_against("t1_total_by_type", "Meetings, sum of type totals", total, types["n"].sum()),
    ]
    text = table1[table1["reported_in"] == "text"]
    for site in [*SITES, "All sites"]:
        row = one_row(text, site=site, meeting_type="Total")
        reproduced = one_row(table, site=site, meeting_type="Total")["n"]
        checks.append(
            _check_against(
                f"t1_text_{site.lower().replace(' ', '_')}",
                f"Meetings at {site}: text against Table 1",
                row,
                reproduced,
            )
        )
    return checks


def table2_matrix(table2: pd.DataFrame) -> pd.DataFrame:
    """Table 2 as sites x interviewee types with published totals and the sums of their cells."""
    table = table2[table2["reported_in"] == "table"]
    wide = table.pivot(index="site", columns="interviewee_type", values="n")
    wide = wide.reindex(index=[*SITES, "National perspectives", "All sites"])
    wide = wide.reindex(columns=[*INTERVIEW_TYPES, "Total"])
    cells = wide.loc[list(SITES), list(INTERVIEW_TYPES)]
    recomputed = pd.Series(np.nan, index=wide.index, dtype="float64")
    recomputed[list(SITES)] = cells.sum(axis=1).to_numpy()
    recomputed["All sites"] = wide.loc[[*SITES, "National perspectives"], "Total"].sum()
    wide["Total (sum of cells)"] = recomputed
    type_sums = cells.sum(axis=0)
    out = wide.astype("Float64")
    out.loc["All sites (sum of cells)"] = pd.NA
    out.loc["All sites (sum of cells)", list(INTERVIEW_TYPES)] = type_sums.to_numpy()
    out.columns.name = None
    return out.reset_index(names="site")


def table2_checks(table2: pd.DataFrame) -> list[Check]:
    """Table 2: every site total and type total added up again from the cells, and 205 overall."""
    table = table2[table2["reported_in"] == "table"]
    cells = table[table["site"].isin(SITES) & (table["interviewee_type"] != "Total")]
    checks = []
    for site in SITES:
        row = one_row(table, site=site, interviewee_type="Total")
        n = cells.loc[cells["site"] == site, "n"].sum()
        checks.append(_check_against(f"t2_site_{site.lower()}", f"Interviews, {site}", row, n))
    for kind in INTERVIEW_TYPES:
        row = one_row(table, site="All sites", interviewee_type=kind)
        n = cells.loc[cells["interviewee_type"] == kind, "n"].sum()
        slug = kind.lower().replace(" ", "_")
        checks.append(_check_against(f"t2_type_{slug}", f"Interviews, all sites, {kind}", row, n))
    total = one_row(table, site="All sites", interviewee_type="Total")
    site_totals = table[
        table["site"].isin([*SITES, "National perspectives"])
        & (table["interviewee_type"] == "Total")
    ]["n"].sum()
    national = one_row(table, site="National perspectives", interviewee_type="Total")["n"]
    type_totals = table[(table["site"] == "All sites") & (table["interviewee_type"] != "Total")]
    checks += [
        _check_against(
            "t2_total_by_site", "Interviews, sum of site totals and national", total, site_totals
        ),
        _check_against(
            "t2_total_by_type",
            "Interviews, sum of type totals and national",
            total,
            type_totals["n"].sum() + national,
        ),
        _check_against(
            "t2_text_total",
            "Interviews: text against the sum of the cells",
            one_row(table2, site="All sites", interviewee_type="Total", reported_in="text"),
            cells["n"].sum() + national,
        ),
    ]
    return checks


def table1_matrix(table1: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as published: sites x meeting types (lost cells empty) with the sums of its cells."""
    table = table1[table1["reported_in"] == "table"]
    wide = table.pivot(index="site", columns="meeting_type", values="n")
    columns = ["Federation", "Federation services", "Practice", "Other", "Total"]
    wide = wide.reindex(index=[*SITES, "All sites"], columns=columns).astype("Float64")
    recomputed = wide["Total"].copy()
    recomputed["All sites"] = wide.loc[list(SITES), "Total"].sum()
    recomputed[list(SITES)] = pd.NA
    wide["Total (sum of cells)"] = recomputed
    wide.columns.name = None
    return wide.reset_index(names="site")


def table3_matrix(table3: pd.DataFrame) -> pd.DataFrame:
    """Table 3 as published: characteristics x sites."""
    order = list(dict.fromkeys(table3["characteristic"]))
    wide = table3.pivot(index="characteristic", columns="site", values="value")
    wide = wide.loc[order, list(SITES)]
    wide.columns.name = None
    return wide.reset_index()


def cross_check(
    check_id, quantity, row: pd.Series, published: str, reproduced: str, *, kind: str, reason: str
) -> Check:
    """A check (id ``cs_<check_id>``) of a published value against one derived from the codes."""
    return check_from(
        f"cs_{check_id}",
        row,
        strand=STRAND,
        quantity=quantity,
        published=published,
        reproduced=reproduced,
        kind=kind,
        reason=reason,
    )


CODED_PROSE = (
    "rests on the compendium's coding of the report's prose ({theme}), not on a second "
    "printed figure: it checks the coding against the table, not the report's consistency"
)


def table3_checks(table3: pd.DataFrame, scored: pd.DataFrame) -> list[Check]:
    """Table 3's 'Competition for members' against the code read from the prose (kind
    ``coded_rule``: the other side is the compendium's coding, not a printed figure)."""
    checks = []
    for site in sorted(set(scored["site"]), key=SITES.index):
        row = one_row(table3, characteristic="Competition for members", site=site)
        code = one_row(scored, site=site, theme="competition_for_members")["code"]
        checks.append(
            cross_check(
                f"t3_competition_{site.lower()}",
                f"Competition for members, {site}: Table 3 against coded prose",
                row,
                row["value"],
                "Yes" if code == "yes" else "No",
                kind="coded_rule",
                reason=CODED_PROSE.format(theme="competition_for_members"),
            )
        )
    return checks


IAGP_VIA_PARTNER = "contract held by another"


def table7_iagp_code(table7: pd.DataFrame, site: str) -> str:
    """The IAGP outcome code Table 7 gives a site.

    ``won_and_delivered`` when Table 7 lists IAGP, ``partner_bid_only`` when it lists IAGP
    with the contract held by another federation, ``no_bid`` when it does not list IAGP.
    """
    services = table7.loc[table7["site"] == site, "service"].dropna()
    iagp = [s for s in services if s.startswith("IAGP")]
    if not iagp:
        return "no_bid"
    return "partner_bid_only" if all(IAGP_VIA_PARTNER in s for s in iagp) else "won_and_delivered"


def table7_checks(
    table7: pd.DataFrame, scored: pd.DataFrame, scores: pd.DataFrame, threshold: float
) -> list[Check]:
    """Table 7's IAGP entry of each site against the IAGP outcome coded from the prose.

    Both are put through the same scoring (``scores``, from the scoring map) and the same
    crisp-set rule as the QCA (:func:`analysis.casestudy.framework.set_membership`): the
    check compares code, score and set membership, so the QCA cannot count a site as
    showing the outcome that this check counts otherwise. Kind ``coded_rule``: the prose
    side is the compendium's coding.
    """
    iagp = scores[scores["theme"] == "iagp_outcome"].set_index("code")["score"]

    def label(code: str) -> str:
        value = float(iagp[code])
        return f"{code} (score {value:.2f}, {set_membership(value, threshold)})"

    checks = []
    for site in sorted(set(scored["site"]), key=SITES.index):
        rows = table7[table7["site"] == site]
        coded = one_row(scored, site=site, theme="iagp_outcome")["code"]
        checks.append(
            cross_check(
                f"t7_iagp_{site.lower()}",
                f"IAGP outcome, {site}: Table 7 against coded Chapter 4 prose",
                rows.iloc[0],
                label(table7_iagp_code(table7, site)),
                label(coded),
                kind="coded_rule",
                reason=CODED_PROSE.format(theme="iagp_outcome")
                + "; both sides are scored and cut by the compendium's rule",
            )
        )
    return checks
