"""Reading a published table by a layout mapping file: the steps every such reader shares.

Published files change their columns from year to year and publisher to publisher, so each
reader of this strand takes a small mapping file per layout (``data/indicators/mappings/``,
checked by :func:`analysis.configschema.load_config`): the QOF practice summaries
(:mod:`~analysis.indicators.sources.qof`), the yearly practice -> PCN mappings
(:mod:`~analysis.indicators.sources.structures`) and wide indicator tables
(:mod:`~analysis.indicators.sources.widetable`). What they share is here:

* :func:`mapping_files`: the stored mappings of one reader (``qof_*.yml``...);
* :func:`choose_layout`: the one mapping whose columns are all in a file's header, or an error
  listing the columns found and what each mapping missed;
* :func:`year_from_name`: a file's year from its mapping or its name (an RE2 pattern);
* :func:`read_text_table`: a CSV (``.csv`` or ``.csv.gz``) as text cells, one-line errors;
* :func:`where`: ``line(s) 3, 7 and 2 more`` (``row(s)`` for Parquet);
* :func:`code_problems`: codes missing, malformed or listed twice.

Each reader keeps its own checks of the values (points, proportions, Parquet types).
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis.core.datasets import MAX_REPORTED, DataError
from analysis.paths import data_dir
from analysis.patterns import ConfigPattern, PatternError

PRACTICE_CODE = r"^[A-Z][0-9A-Z][0-9]{4}$"
"""An NHS practice code (ODS): a letter, a letter or digit, four digits (``A81001``)."""

Layout = TypeVar("Layout")


def mappings_dir() -> Path:
    """Where the layout mappings live: ``data/indicators/mappings``."""
    return data_dir() / "indicators" / "mappings"


def mapping_files(pattern: str, folder: str | os.PathLike | None = None) -> list[Path]:
    """The mapping files matching ``pattern`` (``qof_*.yml``), sorted by name."""
    return sorted(Path(folder or mappings_dir()).glob(pattern))


def choose_layout(
    path: str | os.PathLike,
    header: Sequence[str],
    mappings: Sequence[Layout],
    needed: Callable[[Layout], Sequence[str]],
    *,
    kind: str,
    hint: str,
) -> Layout:
    """The one mapping all of whose ``needed`` columns are in ``header``.

    Parameters
    ----------
    mappings
        The candidate layouts (each with a ``path``).
    needed
        The columns a layout names.
    kind
        What the layouts are, for messages (``QOF``, ``structures``).
    hint
        What to do when none fits (``add a mapping file ...``).

    Raises
    ------
    DataError
        One line: several layouts fit (naming them), or none does (the columns found and,
        for each layout tried, the columns it missed).
    """
    present = set(header)
    fits = [m for m in mappings if all(c in present for c in needed(m))]
    if len(fits) == 1:
        return fits[0]
    if fits:
        names = [m.path.name for m in fits]  # type: ignore[attr-defined]
        raise DataError(f"{path}: line 1: the header matches several {kind} mappings {names}")
    tried = "; ".join(
        f"{m.path.name} lacks {[c for c in needed(m) if c not in present]}"  # type: ignore[attr-defined]
        for m in mappings
    )
    raise DataError(
        f"{path}: line 1: layout matches no {kind} mapping; columns found {list(header)}; "
        f"mappings tried: {tried or 'none'}; {hint}"
    )


def year_from_name(
    path: str | os.PathLike,
    year: int | None,
    pattern: str,
    mapping_path: str | os.PathLike,
    *,
    example: str,
) -> int:
    """A file's financial year (its first calendar year): ``year`` when the mapping sets it,
    else group ``year`` of ``pattern`` (an RE2 pattern) in the file name.

    Raises
    ------
    DataError
        Naming the file, the pattern, an example name, and the mapping where ``year:`` may be
        set instead.
    """
    if year is not None:
        return int(year)
    try:
        found = ConfigPattern(pattern, ["year"]).search(Path(path).name)
    except PatternError as err:
        raise DataError(f"{mapping_path}: year_from_filename: {err}") from None
    if not found or not str(found.get("year")).isdigit():
        raise DataError(
            f"{path}: the file name does not give a year: expected a match of {pattern!r} "
            f"(e.g. {example!r}), or set 'year:' in {mapping_path}"
        )
    return int(found["year"])


def read_text_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV (``.csv``, or gzip-compressed ``.csv.gz``; a UTF-8 BOM dropped) as text cells.

    Every cell is text (blank cells are empty strings); the index is the data row, so a cell
    of index ``i`` is on file line ``i + 2``.

    Raises
    ------
    DataError
        One line naming the file: absent, a folder, not gzip, not UTF-8 (with the line),
        malformed or empty.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: {'a folder' if path.is_dir() else 'not found'}; expected a CSV")
    raw = path.read_bytes()
    try:
        raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 text; expected a UTF-8 CSV") from None
    _check_field_counts(text, path)
    try:
        # index_col=False: a row ending in a delimiter (common in published CSVs) would
        # otherwise turn the first column into the index and shift every column left.
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, index_col=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: malformed CSV ({str(err).splitlines()[0]})") from None


def _check_field_counts(text: str, path: Path) -> None:
    """A row may end in empty fields beyond the header (a trailing delimiter); a value
    there has no column to go to, so the file is refused, naming its line."""
    rows = csv.reader(io.StringIO(text))
    width = len(next(rows, []))
    for fields in rows:
        if any(f.strip() for f in fields[width:]):
            raise DataError(
                f"{path}: line {rows.line_num}: {len(fields)} fields but the header has "
                f"{width}; expected one value per column"
            )


def where(mask: pd.Series | np.ndarray, *, rows: bool = False) -> str:
    """``line(s) 3, 7 and 2 more``: the file lines of the rows of a 0-based data index where
    ``mask`` is true (CSV: line = index + 2); ``rows=True``: ``row(s)`` (index + 1, Parquet)."""
    mask = pd.Series(mask)
    index = mask.index[mask.to_numpy(dtype=bool)]
    offset, word = (1, "row(s)") if rows else (2, "line(s)")
    shown = ", ".join(str(int(i) + offset) for i in index[:MAX_REPORTED])
    more = f" and {len(index) - MAX_REPORTED} more" if len(index) > MAX_REPORTED else ""
    return f"{word} {shown}{more}"


def code_problems(
    codes: pd.Series,
    column: str,
    *,
    missing: pd.Series | None = None,
    pattern: str | None = None,
    what: str = "code",
    twice: str | None = None,
    rows: bool = False,
) -> list[str]:
    """Problems of a column of codes, one line each: missing, malformed (not matching
    ``pattern``, an RE2 pattern) and listed twice.

    Parameters
    ----------
    codes
        The codes as text (index: the 0-based data row).
    missing
        Where a code is missing (default: null or blank).
    what, twice
        What a code is (``practice code``), and what a repeated one is called (default
        ``<what> listed twice``).
    rows
        Name Parquet rows rather than CSV lines.
    """
    text = codes.fillna("")
    if missing is None:
        missing = text.str.strip().eq("")
    problems = []
    if missing.any():
        problems.append(f"column {column!r}: missing {what} on {where(missing, rows=rows)}")
    malformed = pd.Series(False, index=codes.index)
    if pattern is not None:
        if pattern == PRACTICE_CODE:
            matched = text.str.fullmatch(PRACTICE_CODE)
        else:  # the mapping's own pattern, run by RE2 (linear time)
            matched = text.map(ConfigPattern(pattern).fullmatch).astype(bool)
        malformed = ~missing & ~matched
        if malformed.any():
            shown = codes[malformed].head(3).tolist()
            problems.append(
                f"column {column!r}: malformed {what} on {where(malformed, rows=rows)} "
                f"(e.g. {shown}; expected {pattern!r})"
            )
    doubled = codes.duplicated(keep=False) & ~missing & ~malformed
    if doubled.any():
        phrase = twice or f"{what} listed twice"
        problems.append(f"column {column!r}: {phrase} on {where(doubled, rows=rows)}")
    return problems
