"""McDonald et al. (2020) Box 1 (form and function of each site), Table 5 (central authority
leadership and management) and the surviving cells of Table 6 (managing interdependence):
read, laid out and checked.

The plain text lost Box 1's site labels and five of Table 6's sixteen cells; the notes
of each file say how every surviving cell was placed. Checks:

- Box 1 against Table 7 (``consistency``): a site Box 1 describes with a provider function
  holds at least one service contract of its own in Table 7.
- Table 5 and the surviving Table 6 cells against the coded evidence (``transcribed``):
  the coded matrix says what the published table says. This checks the coding, not the
  report.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column, DataFrameSchema

from analysis.casestudy.published import _read_with_lost_cells, one_row
from analysis.casestudy.sources import SITES, STRAND, data_path, provenance_columns
from analysis.core.datasets import read_table
from analysis.core.reproduction import Check, check_from

TABLE5_ASPECTS = ("Relationships", "Structures", "Temporal focus", "Spatial focus", "Proactivity")
TABLE6_ACTIVITIES = ("Directing", "Engineering", "Co-producing", "Effect of above")
BOX1_SCHEMA = DataFrameSchema(
    {"site": Column(str, PaCheck.isin(SITES)), "feature": Column(str), **provenance_columns()},
    strict=True,
)
TABLE5_SCHEMA = DataFrameSchema(
    {
        "aspect": Column(str, PaCheck.isin(TABLE5_ASPECTS)),
        "site": Column(str, PaCheck.isin(SITES)),
        "value": Column(str),
        **provenance_columns(),
    },
    strict=True,
)
TABLE6_SCHEMA = DataFrameSchema(
    {
        "activity": Column(str, PaCheck.isin(TABLE6_ACTIVITIES)),
        "site": Column(str, PaCheck.isin(SITES)),
        "value": Column(str, nullable=True),
        **provenance_columns(),
    },
    strict=True,
)
#: Table 5 aspect or Table 6 activity -> the theme of the coded evidence that records it.
THEME_OF = {
    "Relationships": "relationships",
    "Structures": "structures",
    "Temporal focus": "temporal_focus",
    "Spatial focus": "spatial_focus",
    "Proactivity": "proactivity",
    "Directing": "directing",
    "Engineering": "engineering",
    "Co-producing": "co_producing",
    "Effect of above": "activity_effect",
}
_NO_PROVIDER = "No significant provider function"
_HELD_ELSEWHERE = "contract held by another"


def read_box1(path: Path | None = None) -> pd.DataFrame:
    """Box 1: one key feature per site (site labels lost in the plain text; see notes)."""
    return read_table(path or data_path("box1"), BOX1_SCHEMA, unique=["site"])


def read_table5(path: Path | None = None) -> pd.DataFrame:
    """Table 5, one row per (aspect, site) cell; every cell survives."""
    return read_table(path or data_path("table5"), TABLE5_SCHEMA, unique=["aspect", "site"])


def read_table6(path: Path | None = None) -> pd.DataFrame:
    """Table 6, one row per (activity, site) cell; lost cells have no value and a note."""
    return _read_with_lost_cells("table6", TABLE6_SCHEMA, ["activity", "site"], "value", path)


def table_matrix(table: pd.DataFrame, row: str) -> pd.DataFrame:
    """A transcribed table laid out as published: ``row`` x sites (lost cells missing)."""
    order = list(dict.fromkeys(table[row]))
    wide = table.pivot(index=row, columns="site", values="value").reindex(
        index=order, columns=list(SITES)
    )
    wide.columns.name = None
    return wide.reset_index()


def provider_function(feature: str) -> str:
    """``"Yes"`` unless Box 1 says the site has no significant provider function."""
    return "No" if feature.startswith(_NO_PROVIDER) else "Yes"


def holds_own_contract(table7: pd.DataFrame, site: str) -> str:
    """``"Yes"`` when Table 7 lists a service for ``site`` whose contract it holds itself."""
    services = table7.loc[table7["site"] == site, "service"].dropna()
    own = [s for s in services if _HELD_ELSEWHERE not in s]
    return "Yes" if own else "No"


#: Why Box 1 against Table 7 is the compendium's rule, not a consistency of the report.
BOX1_RULE = (
    "the compendium's rule, not the report's: a site with a provider function (Box 1) holds "
    "a contract of its own in Table 7; the report states no such rule"
)


def box1_checks(box1: pd.DataFrame, table7: pd.DataFrame) -> list[Check]:
    """Box 1's provider function of each site against the contracts Table 7 lists for it
    (kind ``coded_rule``: the link between the two is the compendium's rule)."""
    return [
        check_from(
            f"cs_box1_provider_{row.site.lower()}",
            row,
            strand=STRAND,
            quantity=f"Provider function, {row.site}: Box 1 against own contracts in Table 7",
            published=provider_function(row.feature),
            reproduced=holds_own_contract(table7, row.site),
            kind="coded_rule",
            reason=BOX1_RULE,
        )
        for row in box1.itertuples(index=False)
    ]


def coded_table_checks(table: pd.DataFrame, row: str, evidence: pd.DataFrame) -> list[Check]:
    """Every surviving cell of Table 5 or 6 against the coded evidence for that site and theme.

    The evidence row must cite the same lines and quote the cell (its excerpt is a part of
    the cell); published is the cell, reproduced the excerpt when it is a part of the cell.
    """
    checks = []
    prefix = "t5" if row == "aspect" else "t6"
    for cell in table.dropna(subset=["value"]).itertuples(index=False):
        label = getattr(cell, row)
        coded = one_row(evidence, site=cell.site, theme=THEME_OF[label])
        quoted = (
            coded["excerpt"].rstrip(".") in cell.value
            and coded["source_lines"] == cell.source_lines
        )
        slug = THEME_OF[label]
        checks.append(
            check_from(
                f"cs_{prefix}_{slug}_{cell.site.lower()}",
                cell,
                strand=STRAND,
                quantity=f"{label}, {cell.site}: published cell quoted by the coded evidence",
                published=cell.value,
                reproduced=cell.value
                if quoted
                else f"{coded['excerpt']} (lines {coded['source_lines']})",
                kind="transcribed",
                reason=(
                    "transcribed with provenance; the coded evidence for this site and theme "
                    + ("quotes the cell" if quoted else "does not quote the cell")
                    + " (the compendium's own coding, not an independent check)"
                ),
            )
        )
    return checks
