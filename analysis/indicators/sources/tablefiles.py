"""A panel's files as CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``), read the same way.

:func:`header` gives a file's columns (so the reader can choose the schema of the file's
form), :func:`read_checked` reads and validates a table against a pandera schema chosen
from that header, and :func:`find` picks ``<stem>.csv``, ``<stem>.csv.gz`` or
``<stem>.parquet`` in a folder. A Parquet file is checked for its magic bytes before
pyarrow reads it, so a file that is not Parquet is refused in one line; its problems name
the data *row* (1 = the first) where a CSV's name the file *line* (1 = the header).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.core.datasets import DataError, read_table, validate_text_frame

PARQUET_MAGIC = b"PAR1"
SUFFIXES = (".csv", ".csv.gz", ".parquet")


def is_parquet(path: str | os.PathLike) -> bool:
    """Whether ``path`` is named as a Parquet file."""
    return Path(path).suffix.lower() == ".parquet"


def find(folder: Path, stem: str) -> Path | None:
    """``folder/<stem>.csv``, ``.csv.gz`` or ``.parquet`` (the first that exists), or None."""
    for suffix in SUFFIXES:
        if (folder / f"{stem}{suffix}").exists():
            return folder / f"{stem}{suffix}"
    return None


def check_parquet(path: Path) -> None:
    """Refuse a ``.parquet`` file that is not Parquet (no ``PAR1`` at both ends)."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(4)
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - 4, 0))
            end = handle.read(4)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from None
    if size < 12 or start != PARQUET_MAGIC or end != PARQUET_MAGIC:
        raise DataError(
            f"{path}: not a Parquet file (it does not start and end with the bytes 'PAR1'; "
            f"it starts with {start!r}); expected Parquet, or rename a CSV to .csv"
        )


def _parquet_error(path: Path, err: Exception) -> DataError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return DataError(f"{path}: damaged Parquet file ({first}); expected a readable Parquet file")


def parquet_header(path: str | os.PathLike) -> list[str]:
    """The column names of a Parquet file (whatever its name), read from its footer only."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: a folder; expected a Parquet file")
    check_parquet(path)
    try:
        return list(pq.read_schema(path).names)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several kinds
        raise _parquet_error(path, err) from None


def header(path: str | os.PathLike) -> list[str]:
    """The column names of a CSV (first line; a UTF-8 BOM dropped) or Parquet file."""
    path = Path(path)
    if is_parquet(path):
        return parquet_header(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            return next(csv.reader(handle), [])
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, EOFError, csv.Error) as err:
        raise DataError(f"{path}: cannot be read as a UTF-8 CSV ({err})") from None


def read_parquet(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A Parquet file, checked to be one; its index is the data row minus 2 (see module)."""
    path = Path(path)
    check_parquet(path)
    try:
        frame = pd.read_parquet(path, columns=list(columns) if columns else None)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several kinds
        raise _parquet_error(path, err) from None
    frame.index = pd.RangeIndex(-1, len(frame) - 1)  # file_line(index) is then the row
    return frame


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text (missing stays missing), as a CSV would be read."""
    out = pd.DataFrame(index=frame.index)
    for name, column in frame.items():
        if (
            pd.api.types.is_float_dtype(column)
            and column.dropna().eq(column.dropna().round()).all()
        ):
            column = column.astype("Int64")
        text = column.astype("string").astype(object)
        out[name] = text.where(column.notna(), None)
    return out


def rows_wording(message: str) -> str:
    """A message about a Parquet file: its ``line`` numbers are data rows."""
    return re.sub(r"\bline(s|\(s\))?\b", lambda m: "row" + (m.group(1) or ""), message)


def read_checked(
    path: str | os.PathLike,
    schema_for: Callable[[list[str]], pa.DataFrameSchema],
    *,
    unique: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a CSV or Parquet table and validate it against ``schema_for(header)``.

    Raises
    ------
    DataError
        The file, line (CSV) or row (Parquet), column and what was expected.
    """
    path = Path(path)
    columns = header(path)
    schema = schema_for(columns)
    if not is_parquet(path):
        return read_table(path, schema, unique=unique)
    expected = list(schema.columns)
    missing = [c for c in expected if c not in columns]
    unknown = [c for c in columns if c not in expected]
    if missing or unknown:
        raise DataError(
            f"{path}: missing column(s) {missing}, unknown column(s) {unknown}; expected {expected}"
        )
    if not len(frame := read_parquet(path)):
        raise DataError(f"{path}: no data rows")
    try:
        return validate_text_frame(path, as_text(frame)[expected], schema, unique=unique)
    except DataError as err:
        raise DataError(rows_wording(str(err))) from None
