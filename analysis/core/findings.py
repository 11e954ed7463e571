"""Findings about the sources: where a publication contradicts itself or another one.

A source's stated rule, total or restated figure is the check (kind ``consistency``);
when its own figure breaks it, the failed check is a *finding*, reported with both
locations rather than absorbed by a kinder reading. Most consistency checks are built by
the strands; comparisons between passages that belong to no strand's tables are
transcribed in ``data/sources/published/passages.csv`` (both passages quoted, with file
and lines) and turned into checks here (:func:`passage_checks`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.core.reproduction import Check, check
from analysis.paths import data_dir

STRAND = "sources"
PASSAGE_KINDS = ("consistency", "transcribed")
_TEXT = pa.Column(str, nullable=True)
_LINES = pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$"), nullable=True)

PASSAGES_SCHEMA = pa.DataFrameSchema(
    {
        "check_id": pa.Column(str, pa.Check.str_matches(r"^src-[a-z0-9-]+$")),
        "kind": pa.Column(str, pa.Check.isin(PASSAGE_KINDS)),
        "quantity": pa.Column(str, pa.Check.str_length(min_value=3)),
        "source_file": pa.Column(str, pa.Check.str_matches(r"^\d{3}_[0-9a-f]{16}\.txt$")),
        "location_a": pa.Column(str, pa.Check.str_length(min_value=3)),
        "lines_a": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "excerpt_a": pa.Column(str, pa.Check.str_length(min_value=3, max_value=300)),
        "value_a": pa.Column(str),
        "location_b": _TEXT,
        "lines_b": _LINES,
        "excerpt_b": pa.Column(str, pa.Check.str_length(max_value=300), nullable=True),
        "value_b": _TEXT,
        "tolerance": pa.Column(float, pa.Check.ge(0), coerce=True),
        "reason": _TEXT,
    },
    strict=True,
)
FINDING_COLUMNS = [
    "finding_id",
    "publication",
    "kind_of_inconsistency",
    "what",
    "location",
    "stated_there",
    "against",
    "stated_or_implied_there",
    "note",
]


def passages_path() -> Path:
    return data_dir() / "sources" / "published" / "passages.csv"


def read_passages(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the transcribed passage comparisons; bad rows name file, line and column.

    A ``consistency`` row must quote both passages; a ``transcribed`` row quotes one and
    gives the reason it cannot be checked.
    """
    from analysis.core.datasets import DataError, read_table

    path = Path(path or passages_path())
    frame = read_table(path, PASSAGES_SCHEMA, unique=["check_id"])
    for position, row in enumerate(frame.itertuples(index=False), start=2):
        pair = [row.location_b, row.lines_b, row.excerpt_b, row.value_b]
        if row.kind == "consistency" and any(pd.isna(v) or v == "" for v in pair):
            raise DataError(
                f"{path}, line {position}: a consistency row needs location_b, lines_b, "
                "excerpt_b and value_b (the second passage)"
            )
        if row.kind == "transcribed" and (pd.isna(row.reason) or not row.reason):
            raise DataError(
                f"{path}, line {position}, column reason: a transcribed row must say why "
                "it cannot be checked"
            )
    return frame


def _number(text: str) -> int | float | str:
    """A number when the text is one (kept as an integer when printed as one), else the text."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return str(text)
    return int(value) if value.is_integer() and "." not in str(text) else value


def passage_checks(passages: pd.DataFrame) -> list[Check]:
    """One reproduction row per passage comparison: passage A's value is ``published``,
    passage B's ``reproduced``; numbers agree within ``tolerance``, text exactly."""
    checks = []
    for row in passages.itertuples(index=False):
        consistency = row.kind == "consistency"
        checks.append(
            check(
                row.check_id,
                strand=STRAND,
                quantity=f"{row.quantity}: '{row.excerpt_a}'"
                + (f" against '{row.excerpt_b}'" if consistency else ""),
                source_file=row.source_file,
                source_location=row.location_a,
                source_lines=row.lines_a,
                published=_number(row.value_a),
                reproduced=_number(row.value_b) if consistency else "",
                tolerance=float(row.tolerance),
                must_match=False,
                kind=row.kind,
                reason="" if pd.isna(row.reason) else str(row.reason),
                compared_with=f"{row.location_b}, line {row.lines_b}" if consistency else "",
            )
        )
    return checks


def source_findings(report: pd.DataFrame) -> pd.DataFrame:
    """Every consistency check that disagrees, as a finding with both locations.

    ``report`` is :func:`analysis.core.reproduction.combine` output. A check with a
    ``compared_with`` location is a conflict *between passages*; one without is a figure
    that breaks its own table's stated rule or total (*within a table*).
    """
    bad = report[(report["kind"] == "consistency") & (report["status"] == "mismatch")]
    if bad.empty:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    where = bad["source_location"] + ", line " + bad["source_lines"]
    between = bad["compared_with"].astype(str).str.len() > 0
    against = bad["compared_with"].where(between, "the same table's stated rule or total")
    frame = pd.DataFrame(
        {
            "finding_id": [f"F{i}" for i in range(1, len(bad) + 1)],
            "publication": bad["source_document"].to_numpy(),
            "kind_of_inconsistency": between.map(
                {True: "between passages", False: "within a table"}
            ).to_numpy(),
            "what": bad["quantity"].to_numpy(),
            "location": where.to_numpy(),
            "stated_there": bad["published"].to_numpy(),
            "against": against.to_numpy(),
            "stated_or_implied_there": bad["reproduced"].to_numpy(),
            "note": bad["reason"].to_numpy(),
        }
    )
    return frame[FINDING_COLUMNS]
