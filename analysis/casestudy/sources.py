"""The case-study strand's sources and data files, and what every reader shares.

- The two source reports (:data:`MCDONALD`, McDonald et al. 2020; :data:`NUFFIELD`, the
  Nuffield summary) and the four sites McDonald and colleagues followed (:data:`SITES`).
- The data files of ``data/casestudy/`` (:data:`FILES`, :func:`data_path`).
- The provenance columns every file carries and the form of a reading error: file, line,
  column and what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pandera.pandas import Check as PaCheck
from pandera.pandas import Column

from analysis.core.datasets import DataError, file_line
from analysis.paths import data_dir

STRAND = "casestudy"
MCDONALD = "000_088f6aeed890f33a.txt"
NUFFIELD = "002_d1de2aebef7660af.txt"
SOURCES = (MCDONALD, NUFFIELD)
SITES = ("Expanding", "Embedded", "Struggling", "Small")
MAX_EXCERPT = 200
FILES = {
    "themes": "casestudy/coded/themes.csv",
    "codebook": "casestudy/coded/codebook.csv",
    "evidence": "casestudy/coded/evidence.csv",
    "table1": "casestudy/published/mcdonald_table1_meetings.csv",
    "table2": "casestudy/published/mcdonald_table2_interviews.csv",
    "table3": "casestudy/published/mcdonald_table3_characteristics.csv",
    "table7": "casestudy/published/mcdonald_table7_services.csv",
    "typology": "casestudy/published/mcdonald_typology.csv",
    "nuffield": "casestudy/published/nuffield_table2_organisations.csv",
    "forms": "casestudy/published/nuffield_forms_spectrum.csv",
    "box1": "casestudy/published/mcdonald_box1_sites.csv",
    "table5": "casestudy/published/mcdonald_table5_leadership.csv",
    "table6": "casestudy/published/mcdonald_table6_interdependence.csv",
    "excerpts": "casestudy/coded/excerpts.csv",
    "charts": "casestudy/coded/charts.csv",
    "alternatives": "casestudy/coded/alternatives.csv",
    "completeness": "casestudy/coded/completeness.csv",
}
EVIDENCE_KINDS = ("authors_interpretation", "table_cell", "interview_quote")
"""What an excerpt is: the authors' own account or reading, a published table cell, or an
interview quotation (with the report's attribution, such as ``GP, Expanding, 22``)."""

_LINES = r"^\d+(-\d+)?$"


def provenance_columns(note: bool = True) -> dict[str, Column]:
    """The columns citing where a row comes from (and a ``note`` column unless ``note=False``)."""
    columns = {
        "source_file": Column(str, PaCheck.isin(SOURCES)),
        "source_lines": Column(str, PaCheck.str_matches(_LINES)),
        "source_location": Column(str),
    }
    if note:
        columns["note"] = Column(str, nullable=True)
    return columns


def data_path(name: str) -> Path:
    """The data file called ``name`` in :data:`FILES` (for example ``"evidence"``)."""
    if name not in FILES:
        raise KeyError(f"unknown case-study data file {name!r}; expected one of {sorted(FILES)}")
    return data_dir() / FILES[name]


def file_problems(path: Path, items: list[str]) -> DataError:
    """One error for ``path`` listing the first ten problems and how many more there are."""
    shown = "\n".join(f"  {item}" for item in items[:10])
    more = f"\n  ... and {len(items) - 10} more" if len(items) > 10 else ""
    return DataError(f"{path}: {len(items)} problem(s):\n{shown}{more}")


def at_cell(index: int, column: str, message: str) -> str:
    """A problem at a cell, by file line (``index`` is the 0-based data row) and column."""
    return f"line {file_line(index)}, column {column!r}: {message}"


def line_breaks(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """A problem for every cell of ``columns`` that contains a line break."""
    problems = []
    for column in columns:
        bad = frame[column].fillna("").str.contains(r"[\r\n]", regex=True)
        problems += [at_cell(i, column, "contains a line break") for i in frame.index[bad]]
    return problems
