"""The survey strand: the published figures of the 2015 GP/practice and CCG surveys,
Table 1 and later figures, as transcribed, and their readers.

Published figures are transcribed, with provenance, in ``data/survey/published/``:

- ``key_figures.csv``: every scalar figure (counts, percentages, prose such as "almost three
  quarters") of the 2015 surveys (Rosen et al. 2016, lines 14-168), the 2018 news report and
  NHS England's March 2018 group-membership figure (McDonald et al. 2020, Appendix 2).
- ``ordinal_findings.csv``: motivations, challenges and support needs, ranked only where the
  text ranks them (``rank_min``/``rank_max``; empty where no rank is given).
- ``table1_groups.csv``, ``table1_achievements.csv``: Table 1, every activity by maturity
  group; cells the table does not show have an empty count (not published, never guessed).
- ``staff_satisfaction.csv``: the staff-survey statements about which roles were most and
  least satisfied.

What is computed from them: counts and intervals behind the printed percentages
(:mod:`analysis.survey.rounding`), Table 1's quarter rule (:mod:`analysis.survey.quarter_rule`),
collaboration over time (:mod:`analysis.survey.over_time`), the checks that need only the
published figures (:mod:`analysis.survey.published_checks`) and the figures
(:mod:`analysis.survey.figures`). Respondent-level microdata is in
:mod:`analysis.survey.microdata`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import DataError, file_line, read_table
from analysis.paths import data_dir

STRAND = "surveys"
STUDIES = ("practice_2015", "ccg_2015", "both_2015", "pcc_2018", "nhse_2018")
UNITS = ("count", "percent", "percentage_points")
QUALIFIERS = ("exact", "about", "almost", "over", "some")
BASES = ("stated", "assumed", "not stated", "not applicable")
ID = r"^[a-z0-9_]+$"

_PROVENANCE = {
    "excerpt": pa.Column(str, nullable=True),
    "source_file": pa.Column(str, pa.Check.str_matches(r"^\d{3}_[0-9a-f]{16}\.txt$")),
    "source_lines": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
    "source_location": pa.Column(str),
    "note": pa.Column(str, nullable=True),
}

KEY_FIGURES_SCHEMA = pa.DataFrameSchema(
    {
        "figure_id": pa.Column(str, pa.Check.str_matches(ID)),
        "study": pa.Column(str, pa.Check.isin(STUDIES)),
        "quantity": pa.Column(str),
        "value": pa.Column(float, pa.Check.ge(0)),
        "unit": pa.Column(str, pa.Check.isin(UNITS)),
        "value_text": pa.Column(str),
        "qualifier": pa.Column(str, pa.Check.isin(QUALIFIERS)),
        "decimals": pa.Column("Int64", pa.Check.in_range(0, 3), nullable=True),
        "numerator_id": pa.Column(str, pa.Check.str_matches(ID), nullable=True),
        "denominator_id": pa.Column(str, pa.Check.str_matches(ID), nullable=True),
        "denominator_basis": pa.Column(str, pa.Check.isin(BASES)),
        "population": pa.Column(str),
        "period": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)

ORDINAL_SCHEMA = pa.DataFrameSchema(
    {
        "item_id": pa.Column(str, pa.Check.str_matches(ID)),
        "study": pa.Column(str, pa.Check.isin(STUDIES)),
        "topic": pa.Column(str, pa.Check.isin(("motivation", "challenge", "support_need"))),
        "item": pa.Column(str),
        "rank_min": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "rank_max": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        "rank_basis": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)

TABLE1_GROUPS_SCHEMA = pa.DataFrameSchema(
    {
        "group_id": pa.Column(str, pa.Check.str_matches(ID)),
        "maturity_group": pa.Column(str),
        "n": pa.Column("Int64", pa.Check.ge(1)),
        "position": pa.Column("Int64", pa.Check.ge(1)),
        **_PROVENANCE,
    },
    coerce=True,
)

TABLE1_CELLS_SCHEMA = pa.DataFrameSchema(
    {
        "activity_id": pa.Column(str, pa.Check.str_matches(ID)),
        "group_id": pa.Column(str, pa.Check.str_matches(ID)),
        "activity": pa.Column(str),
        "count": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "shown": pa.Column("Int64", pa.Check.isin([0, 1])),
        "position": pa.Column("Int64", pa.Check.ge(1), nullable=True),
        **_PROVENANCE,
    },
    coerce=True,
)

STAFF_SCHEMA = pa.DataFrameSchema(
    {
        "statement_id": pa.Column(str, pa.Check.str_matches(ID)),
        "role": pa.Column(str),
        "standing": pa.Column(
            str, pa.Check.isin(("highest", "among the most satisfied", "lowest"))
        ),
        "measure": pa.Column(str),
        **_PROVENANCE,
    },
    coerce=True,
)


def published_path(name: str) -> Path:
    """A file of ``data/survey/published/``."""
    return data_dir() / "survey" / "published" / name


def _shown(value) -> str:
    """A cell value as a user would type it: ``'abc'``, ``380``, ``173.5`` or ``<missing>``."""
    if pd.isna(value):
        return "<missing>"
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value)


def rows_error(path: Path, frame: pd.DataFrame, mask: pd.Series, column: str, why: str):
    """Raise a DataError naming the file, each offending line, the column and the value."""
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        lines = [
            f"  line {file_line(i)}, column {column!r}: {_shown(frame.at[i, column])} {why}"
            for i in frame.index[mask]
        ]
        raise DataError(f"{path}: {len(lines)} problem(s):\n" + "\n".join(lines))


# --- reading the transcriptions -------------------------------------------------------------


def check_key_figures(frame: pd.DataFrame, path: str | os.PathLike = "key_figures.csv"):
    """Cross-row checks of ``key_figures.csv``; raises :class:`DataError` naming line and column."""
    ids = set(frame["figure_id"])
    percent = frame["unit"].eq("percent")
    needs_n = percent & frame["denominator_basis"].isin(("stated", "assumed"))
    numerator_unit = frame["numerator_id"].map(frame.set_index("figure_id")["unit"])
    rules = [
        (percent & frame["value"].gt(100), "value", "is a percentage over 100"),
        (frame["unit"].eq("count") & frame["value"].mod(1).ne(0), "value", "is not a whole count"),
        (
            frame["numerator_id"].notna() & ~frame["numerator_id"].isin(ids),
            "numerator_id",
            "is not a figure_id of this file",
        ),
        (
            frame["denominator_id"].notna() & ~frame["denominator_id"].isin(ids),
            "denominator_id",
            "is not a figure_id of this file",
        ),
        (
            frame["numerator_id"].notna() & numerator_unit.ne("count"),
            "numerator_id",
            "must name a count",
        ),
        (
            needs_n & frame["denominator_id"].isna(),
            "denominator_id",
            "is missing although denominator_basis is stated or assumed",
        ),
        (
            frame["denominator_id"].notna() & ~needs_n,
            "denominator_id",
            "is given but the row is not a percentage with a stated or assumed denominator",
        ),
        (
            percent & frame["qualifier"].eq("exact") & frame["decimals"].isna(),
            "decimals",
            "is missing for a printed percentage",
        ),
    ]
    for mask, column, why in rules:
        rows_error(Path(path), frame, mask, column, why)


def read_key_figures(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``key_figures.csv`` validated against :data:`KEY_FIGURES_SCHEMA` and cross-row checks."""
    path = Path(path or published_path("key_figures.csv"))
    frame = read_table(path, KEY_FIGURES_SCHEMA, unique=["figure_id"])
    check_key_figures(frame, path)
    return frame


def read_ordinal(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``ordinal_findings.csv``: ranks only where the text gives them."""
    path = Path(path or published_path("ordinal_findings.csv"))
    frame = read_table(path, ORDINAL_SCHEMA, unique=["item_id"])
    rows_error(path, frame, frame["rank_min"].gt(frame["rank_max"]), "rank_min", "exceeds rank_max")
    return frame


def read_staff(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """``staff_satisfaction.csv``: which roles the text calls most and least satisfied."""
    path = Path(path or published_path("staff_satisfaction.csv"))
    return read_table(path, STAFF_SCHEMA, unique=["statement_id"])


def check_table1(cells: pd.DataFrame, groups: pd.DataFrame, path: str | os.PathLike):
    """Every cell names a known group, a count never exceeds its group's n, shown cells have
    a count and position; raises :class:`DataError` naming line and column."""
    path = Path(path)
    known = cells["group_id"].isin(groups["group_id"])
    rows_error(path, cells, ~known, "group_id", "is not a group of table1_groups.csv")
    n = cells["group_id"].map(groups.set_index("group_id")["n"])
    rows_error(path, cells, cells["count"].gt(n), "count", "exceeds its group's n")
    shown = cells["shown"].eq(1)
    rows_error(path, cells, shown & cells["count"].isna(), "count", "is missing for a shown cell")
    rows_error(
        path,
        cells,
        ~shown & cells["count"].notna(),
        "count",
        "is given for a cell the table does not show",
    )
    rows_error(path, cells, shown & cells["position"].isna(), "position", "is missing")


def read_table1(
    cells_path: str | os.PathLike | None = None, groups_path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Table 1 as one row per activity and maturity group, with the group's label and ``n``
    (and ``group_source_lines``, the line of the header that prints ``n``)."""
    cells_path = Path(cells_path or published_path("table1_achievements.csv"))
    groups_path = Path(groups_path or published_path("table1_groups.csv"))
    groups = read_table(groups_path, TABLE1_GROUPS_SCHEMA, unique=["group_id"])
    cells = read_table(cells_path, TABLE1_CELLS_SCHEMA, unique=["activity_id", "group_id"])
    check_table1(cells, groups, cells_path)
    merged = cells.merge(
        groups[["group_id", "maturity_group", "n", "position", "source_lines"]].rename(
            columns={"position": "group_position", "source_lines": "group_source_lines"}
        ),
        on="group_id",
        how="left",
        validate="many_to_one",
    )
    return merged.sort_values(["group_position", "activity_id"], ignore_index=True)
