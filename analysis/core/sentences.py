"""Sentences that state a result, generated from the cells of the tables they cite.

A chapter never types a result into its text. It builds each sentence from cells of its own
output tables with :meth:`Sentences.add`, naming for every number the table, the row (by the
values of key columns) and the column it comes from, and the format it is shown in. The
sentences and the cells they cite are written to ``tables/sentences.csv``;
:func:`check_sentences` reads the cited tables back and confirms that each number shown is its
cell, formatted the same way, and that the sentence holds it. The tests run that check over
every chapter of the pipeline's run, so a sentence cannot state a number its table does not hold.

>>> tables = {"summary": pd.DataFrame({"domain": ["qof"], "better": [12], "total": [49]})}
>>> said = Sentences(tables)
>>> said.add("qof", "{better} of {total} QOF indicators are better than England.",
...          better=said.cite("summary", "better", domain="qof"),
...          total=said.cite("summary", "total", domain="qof"))
'12 of 49 QOF indicators are better than England.'
"""

from __future__ import annotations

import json
import math
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of ``tables/sentences.csv``: one row per number of a sentence.
COLUMNS = ["key", "text", "placeholder", "table", "where", "column", "value", "format", "shown"]


class SentenceError(ValueError):
    """A sentence cites a cell that does not exist, or a number without a format."""


@dataclass(frozen=True)
class Cited:
    """One cell of an output table, as a sentence shows it."""

    table: str
    where: Mapping[str, object]
    column: str
    value: object
    format: str = ""

    def __str__(self) -> str:
        return format_value(self.value, self.format)


def format_value(value: object, spec: str) -> str:
    """``value`` in the format ``spec`` (Python's format mini-language; ``""`` for text
    and whole numbers). A number that is not whole needs a format."""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return format(int(value), spec)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "not available"
        if not spec:
            if number != round(number):
                raise SentenceError(f"{number!r} needs a format (such as '.3f')")
            return format(int(number), "")
        return format(number, spec)
    return format(str(value), spec)


def _rows(frame: pd.DataFrame, where: Mapping[str, object]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, wanted in where.items():
        if column not in frame.columns:
            raise SentenceError(f"no column {column!r} to select by")
        mask &= frame[column].astype(str) == str(wanted)
    return frame[mask]


def cell(tables: Mapping[str, pd.DataFrame], table: str, column: str, where: Mapping) -> object:
    """The one cell of ``tables[table]`` in ``column`` on the row matching ``where``."""
    if table not in tables:
        raise SentenceError(f"no table {table!r} (tables: {', '.join(sorted(tables))})")
    frame = tables[table]
    if column not in frame.columns:
        raise SentenceError(f"table {table!r} has no column {column!r}")
    rows = _rows(frame, where)
    if len(rows) != 1:
        raise SentenceError(
            f"table {table!r} has {len(rows)} rows where {dict(where)}, not exactly one"
        )
    value = rows[column].iloc[0]
    return value.item() if isinstance(value, np.generic) else value


@dataclass
class Sentences:
    """The sentences of one chapter, each built from cells of the chapter's ``tables``."""

    tables: Mapping[str, pd.DataFrame]
    rows: list[dict] = field(default_factory=list)

    def cite(self, table: str, column: str, *, format: str = "", **where: object) -> Cited:
        """The cell of ``table`` in ``column`` on the one row whose columns equal ``where``."""
        value = cell(self.tables, table, column, where)
        cited = Cited(table, dict(where), column, value, format)
        str(cited)  # a number that is not whole without a format fails here, not later
        return cited

    def add(self, key: str, template: str, **cited: Cited) -> str:
        """Fill ``template``'s ``{placeholders}`` with cited cells and record the sentence."""
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        if names != set(cited):
            raise SentenceError(
                f"sentence {key!r}: placeholders {sorted(names)} but cells {sorted(cited)}"
            )
        text = template.format(**{name: str(value) for name, value in cited.items()})
        for name, value in cited.items():
            self.rows.append(
                {
                    "key": key,
                    "text": text,
                    "placeholder": name,
                    "table": value.table,
                    "where": json.dumps(dict(value.where), sort_keys=True, default=str),
                    "column": value.column,
                    "value": value.value,
                    "format": value.format,
                    "shown": str(value),
                }
            )
        return text

    def frame(self) -> pd.DataFrame:
        """One row per number of every sentence (:data:`COLUMNS`)."""
        return pd.DataFrame(self.rows, columns=COLUMNS)

    def text(self, key: str) -> str:
        """The sentence recorded under ``key``."""
        for row in self.rows:
            if row["key"] == key:
                return row["text"]
        raise KeyError(key)


def check_sentences(sentences: pd.DataFrame, tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Every disagreement between the sentences and the tables they cite, as messages.

    Each number is looked up again in ``tables`` (as read back from the run's CSV files)
    by its table, row selector and column, formatted with its recorded format, and compared
    with what the sentence shows; the sentence must contain it. An empty list means every
    number stated is its table's.
    """
    problems = []
    for row in sentences.itertuples(index=False):
        where = json.loads(row.where)
        spec = "" if pd.isna(row.format) else str(row.format)
        try:
            shown = format_value(cell(tables, row.table, row.column, where), spec)
        except SentenceError as err:
            problems.append(f"sentence {row.key!r}, {{{row.placeholder}}}: {err}")
            continue
        if shown != str(row.shown):
            problems.append(
                f"sentence {row.key!r}, {{{row.placeholder}}}: shows {row.shown!r} but "
                f"{row.table}.{row.column} where {where} is {shown!r}"
            )
        elif shown not in str(row.text):
            problems.append(f"sentence {row.key!r} does not contain {shown!r}")
    return problems


def read_tables(folder: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """Every ``*.csv`` in ``folder`` (a run's ``tables/``) by file stem, as written to disk.

    A chapter builds its :class:`Sentences` from these, and the check reads them the same
    way, so a sentence cites exactly what a reader of the CSV sees. ``sentences.csv`` is
    left out (it cites the others).
    """
    return {
        path.stem: pd.read_csv(path, keep_default_na=False, na_values=[""])
        for path in sorted(Path(folder).glob("*.csv"))
        if path.name != "sentences.csv"
    }
