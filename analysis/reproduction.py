"""Published against reproduced: one row per checked figure.

Each strand's notebook writes ``tables/reproduction.csv`` with :func:`check` rows;
the reproduction report gathers them all and fails the build when a must-match
figure does not match.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

COLUMNS = [
    "check_id",
    "strand",
    "quantity",
    "source_file",
    "source_location",
    "source_lines",
    "published",
    "reproduced",
    "tolerance",
    "must_match",
    "status",
]


@dataclass(frozen=True)
class Check:
    """One published figure compared with its reproduction."""

    check_id: str
    strand: str
    quantity: str
    source_file: str
    source_location: str
    source_lines: str
    published: str
    reproduced: str
    tolerance: float
    must_match: bool
    status: str


def status_of(published: float | str, reproduced: float | str, tolerance: float = 0.0) -> str:
    """``match`` if values agree (numbers within ``tolerance``, text exactly), else ``mismatch``."""
    if isinstance(published, str) or isinstance(reproduced, str):
        return "match" if str(published).strip() == str(reproduced).strip() else "mismatch"
    if math.isnan(published) or math.isnan(reproduced):
        return "mismatch"
    return "match" if abs(float(published) - float(reproduced)) <= tolerance + 1e-12 else "mismatch"


def check(
    check_id: str,
    *,
    strand: str,
    quantity: str,
    source_file: str,
    source_location: str,
    source_lines: str,
    published: float | str,
    reproduced: float | str,
    tolerance: float = 0.0,
    must_match: bool = True,
) -> Check:
    """Compare one published figure with the reproduced one."""
    return Check(
        check_id=check_id,
        strand=strand,
        quantity=quantity,
        source_file=source_file,
        source_location=source_location,
        source_lines=source_lines,
        published=str(published),
        reproduced=str(reproduced),
        tolerance=float(tolerance),
        must_match=bool(must_match),
        status=status_of(published, reproduced, tolerance),
    )


def to_frame(checks: list[Check]) -> pd.DataFrame:
    """Checks as a table with the standard columns, in the order given."""
    return pd.DataFrame([asdict(c) for c in checks], columns=COLUMNS)
