"""Findings about the sources: where a publication contradicts itself, and where two of its
passages pull apart without contradicting each other.

Each finding has a class (:data:`FINDING_CLASSES`): an inconsistency between printed
figures or statements, an inconsistency between a figure and a rule the source states, or a
tension between passages open to interpretation (never counted as an inconsistency). The
classes are judgements, so they are made once, by a reader, in the findings register
(``data/sources/published/findings.csv``): both passages quoted verbatim with file and lines,
the checks that show the discrepancy, and a note. One discrepancy is one finding, however
many checks show it.

A source check never stops the build: every ``consistency`` check that disagrees becomes a
finding (:func:`source_findings`), through its register entry or, when no reader has
classed it yet, as an unreviewed finding with both locations. A ``coded_rule`` check that
disagrees says what the compendium's own rule gives, not that the source is wrong; those are
listed apart (:func:`rule_disagreements`). Comparisons between passages that belong to no
strand's tables are transcribed in ``data/sources/published/passages.csv`` (both passages
quoted, with file and lines) and turned into checks here (:func:`passage_checks`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from analysis.core.reproduction import Check, check, source_document
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


def passages_path() -> Path:
    return data_dir() / "sources" / "published" / "passages.csv"


def findings_path() -> Path:
    return data_dir() / "sources" / "published" / "findings.csv"


def read_passages(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the transcribed passage comparisons; bad rows name file, line and column.

    A ``consistency`` row must quote both passages; a ``transcribed`` row quotes one and
    gives the reason it cannot be checked.
    """
    from analysis.core.datasets import DataError, read_table

    path = Path(path or passages_path())
    frame = read_table(path, PASSAGES_SCHEMA, unique=["check_id"])
    # read_table reads an empty cell as missing (NaN), never as "".
    for position, row in enumerate(frame.itertuples(), start=2):
        pair = [row.location_b, row.lines_b, row.excerpt_b, row.value_b]
        if row.kind == "consistency" and any(pd.isna(v) for v in pair):
            raise DataError(
                f"{path}, line {position}: a consistency row needs location_b, lines_b, "
                "excerpt_b and value_b (the second passage)"
            )
        if row.kind == "transcribed" and pd.isna(row.reason):
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
    for row in passages.itertuples():
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


#: What each class of finding is (defined on the methods page). Only the first two are
#: inconsistencies; a tension is never counted as one.
FINDING_CLASSES = {
    "figures": "inconsistency between printed figures or statements",
    "rule": "inconsistency between a figure and a rule the source states",
    "tension": "tension between passages open to interpretation",
}
INCONSISTENCIES = ("figures", "rule")
FINDINGS_SCHEMA = pa.DataFrameSchema(
    {
        "finding": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9-]+$")),
        "class": pa.Column(str, pa.Check.isin(list(FINDING_CLASSES))),
        "source_file": pa.Column(str, pa.Check.str_matches(r"^\d{3}_[0-9a-f]{16}\.txt$")),
        "what": pa.Column(str, pa.Check.str_length(min_value=10, max_value=300)),
        "location_a": pa.Column(str, pa.Check.str_length(min_value=3)),
        "lines_a": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "excerpt_a": pa.Column(str, pa.Check.str_length(min_value=1, max_value=300)),
        "location_b": pa.Column(str, pa.Check.str_length(min_value=3)),
        "lines_b": pa.Column(str, pa.Check.str_matches(r"^\d+(-\d+)?$")),
        "excerpt_b": pa.Column(str, pa.Check.str_length(min_value=1, max_value=300)),
        "checks": pa.Column(str, nullable=True),
        "note": pa.Column(str, pa.Check.str_length(min_value=10)),
    },
    strict=True,
)
FINDING_COLUMNS = [
    "finding_id",
    "class",
    "class_label",
    "publication",
    "what",
    "location_a",
    "stated_a",
    "location_b",
    "stated_b",
    "checks",
    "note",
]
UNREVIEWED = "not yet classed by a reader: listed because the check disagrees"


def read_findings(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the findings register; bad rows name file, line and column.

    ``checks`` becomes a list of check ids (empty for a finding no check tests: a tension,
    or two statements that no figure carries). A check id may belong to one finding only.
    """
    from analysis.core.datasets import DataError, file_line, read_table

    path = Path(path or findings_path())
    frame = read_table(path, FINDINGS_SCHEMA, unique=["finding"])
    frame["checks"] = [
        [c.strip() for c in str(v).split(";") if c.strip()] if isinstance(v, str) else []
        for v in frame["checks"]
    ]
    seen: dict[str, int] = {}
    for index, ids in frame["checks"].items():
        if frame.loc[index, "class"] == "tension" and ids:
            raise DataError(
                f"{path}, line {file_line(index)}, column checks: a tension is not tested by "
                "a check (a disagreeing check is an inconsistency)"
            )
        for cid in ids:
            if cid in seen:
                raise DataError(
                    f"{path}, line {file_line(index)}, column checks: {cid!r} already belongs "
                    f"to the finding on line {seen[cid]} (one discrepancy is one finding)"
                )
            seen[cid] = file_line(index)
    return frame


def _where(location: str, lines: str) -> str:
    return f"{location}, line {lines}" if lines else location


def source_findings(report: pd.DataFrame, register: pd.DataFrame | None = None) -> pd.DataFrame:
    """The findings about the sources, by class, each with both passages.

    ``report`` is :func:`analysis.core.reproduction.combine` output and ``register`` the
    findings register (:func:`read_findings`; read from ``data/`` when None). A register
    entry whose checks are listed appears when at least one of them disagrees in ``report``
    (its checks are the evidence); an entry without checks always appears. Every
    disagreeing ``consistency`` check that no entry lists appears as an unreviewed finding,
    classed by its shape (another passage: between figures; none: against the table's rule)
    with both locations, so no disagreement can go unreported.

    Returns
    -------
    pandas.DataFrame
        :data:`FINDING_COLUMNS`; inconsistencies first, numbered ``F1``..., then tensions,
        numbered ``T1``... (a tension is never numbered as an inconsistency).
    """
    register = read_findings() if register is None else register
    bad = report[(report["kind"] == "consistency") & (report["status"] == "mismatch")]
    disagreeing = set(bad["check_id"])
    listed: set[str] = set()
    rows = []
    for entry in register.to_dict("records"):
        listed.update(entry["checks"])
        shown = [c for c in entry["checks"] if c in disagreeing]
        if entry["checks"] and not shown:
            continue
        rows.append(
            {
                "class": entry["class"],
                "publication": source_document(entry["source_file"]),
                "what": entry["what"],
                "location_a": _where(entry["location_a"], entry["lines_a"]),
                "stated_a": entry["excerpt_a"],
                "location_b": _where(entry["location_b"], entry["lines_b"]),
                "stated_b": entry["excerpt_b"],
                "checks": "; ".join(shown),
                "note": entry["note"],
            }
        )
    for row in bad[~bad["check_id"].isin(listed)].itertuples():
        between = bool(row.compared_with)
        rows.append(
            {
                "class": "figures" if between else "rule",
                "publication": row.source_document,
                "what": row.quantity,
                "location_a": _where(row.source_location, row.source_lines),
                "stated_a": row.published,
                "location_b": row.compared_with
                if between
                else "the rule or total the same table states",
                "stated_b": row.reproduced,
                "checks": row.check_id,
                "note": "; ".join(part for part in (row.reason, UNREVIEWED) if part),
            }
        )
    if not rows:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    frame = pd.DataFrame(rows)
    tension = frame["class"] == "tension"
    frame = pd.concat([frame[~tension], frame[tension]], ignore_index=True)
    tension = frame["class"] == "tension"
    numbers = frame.groupby(tension).cumcount() + 1
    frame["finding_id"] = np.where(tension, "T", "F") + numbers.astype(str)
    frame["class_label"] = frame["class"].map(FINDING_CLASSES)
    return frame[FINDING_COLUMNS]


def finding_counts(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings per class (every class, zero included) and the inconsistencies together.

    Columns ``class``, ``class_label``, ``findings``; the last row, ``inconsistencies``, adds
    the two inconsistency classes (never a tension).
    """
    counts = findings["class"].value_counts()
    rows = [
        {"class": key, "class_label": label, "findings": int(counts.get(key, 0))}
        for key, label in FINDING_CLASSES.items()
    ]
    rows.append(
        {
            "class": "inconsistencies",
            "class_label": "inconsistencies (the first two classes; tensions are not counted)",
            "findings": sum(int(counts.get(key, 0)) for key in INCONSISTENCIES),
        }
    )
    return pd.DataFrame(rows, columns=["class", "class_label", "findings"])


RULE_COLUMNS = ["check_id", "publication", "what", "source", "published", "compendium", "reason"]


def rule_disagreements(report: pd.DataFrame) -> pd.DataFrame:
    """``coded_rule`` checks that disagree: what the compendium's own rule or coding gives
    where it differs from the source. Not findings about the source."""
    bad = report[(report["kind"] == "coded_rule") & (report["status"] == "mismatch")]
    return pd.DataFrame(
        {
            "check_id": bad["check_id"].to_numpy(),
            "publication": bad["source_document"].to_numpy(),
            "what": bad["quantity"].to_numpy(),
            "source": (bad["source_location"] + ", line " + bad["source_lines"]).to_numpy(),
            "published": bad["published"].to_numpy(),
            "compendium": bad["reproduced"].to_numpy(),
            "reason": bad["reason"].to_numpy(),
        },
        columns=RULE_COLUMNS,
    )
