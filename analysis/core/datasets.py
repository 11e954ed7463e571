"""Reading and writing data files safely.

Every data file is read against a pandera schema. Whatever is wrong with it, the
error names the file, the row (1-based line number in the file, header = line 1),
the column and what was expected, so a user can go straight to the cell.

Outputs are written to a temporary file in the destination folder and moved into
place, so a failure never leaves a half-written file or loses the previous one.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from analysis.errors import CompendiumError
from analysis.files import atomic_path, sha256_file

__all__ = ["DataError", "read_table", "write_csv", "atomic_path", "sha256_file"]

MAX_REPORTED = 10


class DataError(CompendiumError, ValueError):
    """A data file does not meet its contract. The message says where and why."""


def file_line(index: int) -> int:
    """File line number of a 0-based data row (the header is line 1)."""
    return int(index) + 2


def _check_text(path: Path, expected: Sequence[str]) -> str:
    if not path.exists():
        raise DataError(f"{path}: file not found; expected a CSV with columns {list(expected)}")
    if not path.is_file():
        raise DataError(f"{path}: not a regular file (a folder, device or pipe); expected a CSV")
    try:
        raw = path.read_bytes()
        raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror or err})") from err
    except EOFError as err:
        raise DataError(f"{path}: truncated gzip stream ({err})") from err
    if not raw.strip():
        raise DataError(f"{path}: file is empty; expected a header row {list(expected)}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: byte {raw[err.start]:#04x} is not valid UTF-8; "
            "expected a UTF-8 encoded CSV (re-save it as UTF-8)"
        ) from err
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise DataError(f"{path}: line {line}: contains a NUL byte; expected plain UTF-8 text")
    return text


def record_lines(text: str) -> list[int]:
    """The physical line on which each CSV record starts (header first).

    Blank lines are skipped (as pandas does) and a quoted cell may span lines, so the
    n-th record is not always on line n + 1.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    starts, previous = [], 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if row:
                starts.append(start)
    except csv.Error:
        return []
    return starts


def _check_header(path: Path, header: list[str], expected: Sequence[str], optional: Sequence[str]):
    if len(header) == 1 and len(expected) > 1:
        for sep, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if sep in header[0]:
                raise DataError(
                    f"{path}: line 1: header is {name}-separated; expected comma-separated "
                    f"columns {list(expected)}"
                )
    missing = [c for c in expected if c not in header]
    if missing:
        raise DataError(f"{path}: line 1: missing column(s) {missing}; expected {list(expected)}")
    unknown = [c for c in header if c not in expected and c not in optional]
    if unknown:
        raise DataError(
            f"{path}: line 1: unknown column(s) {unknown}; expected only {list(expected)}"
            + (f" and optionally {list(optional)}" if optional else "")
        )
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(f"{path}: line 1: column(s) {dupes} appear more than once")


def _parse_numbers(frame: pd.DataFrame, schema: pa.DataFrameSchema) -> list[str]:
    """Convert numeric columns in place; return one message per unparsable cell."""
    problems = []
    for name, column in schema.columns.items():
        kind = str(column.dtype)
        if not any(k in kind.lower() for k in ("int", "float")):
            continue
        values = pd.to_numeric(frame[name], errors="coerce")
        bad = values.isna() & frame[name].notna()
        for index in frame.index[bad]:
            problems.append(
                f"  line {file_line(index)}, column {name!r}: {frame.at[index, name]!r} "
                f"is not a number (expected {kind})"
            )
        wanted_int = "int" in kind.lower()
        for index, value in values[values.notna()].items():
            if not math.isfinite(value):
                why = "is not a finite number"
            elif wanted_int and (value != int(value) or abs(value) > 2**63 - 1):
                why = "is not a whole number in range"
            else:
                continue
            bad[index] = True
            problems.append(
                f"  line {file_line(index)}, column {name!r}: {frame.at[index, name]!r} "
                f"{why} (expected {kind})"
            )
        integer = wanted_int and not bad.any()
        frame[name] = values.astype("Int64") if integer else values.where(~bad)
    return problems


def _describe_failures(
    path: Path, type_problems: list[str], cases: pd.DataFrame | None, n_rows: int
) -> str:
    lines = list(type_problems)
    cases = cases if cases is not None else pd.DataFrame(columns=["index"])
    for _, case in cases.iterrows():
        column = case.get("column")
        check = str(case.get("check"))
        value = case.get("failure_case")
        index = case.get("index")
        if index is None or pd.isna(index):
            lines.append(f"  column {column!r}: {check} (value {value!r})")
            continue
        line = file_line(index)
        if pd.isna(value) and any(
            m.startswith(f"  line {line}, column {column!r}:") for m in type_problems
        ):
            continue
        hint = " (truncated file?)" if int(index) == n_rows - 1 and pd.isna(value) else ""
        if check == "not_nullable":
            lines.append(f"  line {line}, column {column!r}: missing value{hint}")
        elif check.startswith(("coerce_dtype", "dtype(")):
            if pd.isna(value):
                lines.append(f"  line {line}, column {column!r}: missing value{hint}")
        else:
            lines.append(f"  line {line}, column {column!r}: {value!r} fails {check}")
    lines = list(dict.fromkeys(lines))
    shown = "\n".join(lines[:MAX_REPORTED])
    more = f"\n  ... and {len(lines) - MAX_REPORTED} more" if len(lines) > MAX_REPORTED else ""
    return f"{path}: {len(lines)} problem(s):\n{shown}{more}"


def _first_ragged_line(text: str, width: int) -> str:
    reader = csv.reader(io.StringIO(text, newline=""))
    previous = 0
    try:
        for row in reader:
            start, previous = previous + 1, reader.line_num
            if row and len(row) != width:
                return f"line {start}: {len(row)} fields, expected {width} (as in the header)"
    except csv.Error as err:
        return f"line {reader.line_num}: {err}"
    return ""


def read_table(
    path: str | os.PathLike,
    schema: pa.DataFrameSchema,
    *,
    unique: Sequence[str] | None = None,
    optional: Sequence[str] = (),
) -> pd.DataFrame:
    """Read a CSV file and validate it against ``schema``.

    Parameters
    ----------
    path
        The CSV file (UTF-8, comma-separated, one header row).
    schema
        Columns, types and checks. Columns not in the schema are an error unless
        named in ``optional``.
    unique
        Columns that together identify a row; duplicated keys are an error
        naming every line involved.
    optional
        Extra columns that may be present and are kept as text.

    Returns
    -------
    pandas.DataFrame
        The validated, type-coerced table.

    Raises
    ------
    DataError
        With the file, line, column and what was expected.
    """
    path = Path(path)
    expected = list(schema.columns)
    text = _check_text(path, expected)
    lines = text.splitlines()
    header = next(csv.reader([lines[0]]))
    _check_header(path, header, expected, optional)
    last = next(csv.reader([lines[-1]]), [])
    if len(lines) > 1 and not text.endswith("\n") and len(last) < len(header):
        raise DataError(
            f"{path}: line {len(lines)}: truncated ({len(last)} of {len(header)} fields, "
            "no final newline); expected a complete last line"
        )
    try:
        with warnings.catch_warnings():
            # pandas only warns (and drops data) when a line has more fields than the header.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                on_bad_lines="error",
                index_col=False,
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        raise DataError(f"{path}: {_first_ragged_line(text, len(header)) or err}") from None
    if frame.empty:
        raise DataError(f"{path}: header only, no data rows")
    starts = record_lines(text)
    if len(starts) == len(frame) + 1:
        # The index is the file line minus 2, so file_line(index) is the physical line
        # even after blank lines or a quoted cell spanning lines (unchanged otherwise).
        frame.index = pd.Index([start - 2 for start in starts[1:]])
    return validate_text_frame(path, frame, schema, unique=unique)


def validate_text_frame(
    path: str | os.PathLike,
    frame: pd.DataFrame,
    schema: pa.DataFrameSchema,
    *,
    unique: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Parse the numeric columns of an all-text ``frame`` and validate it against ``schema``.

    The second half of :func:`read_table`, for tables read from another format (a Parquet
    file's columns as text): the index is the 0-based data row (reported as
    :func:`file_line`). Raises :class:`DataError` naming ``path``, line and column.
    """
    path = Path(path)
    type_problems = _parse_numbers(frame, schema)
    try:
        frame = schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        cases = cases[~cases["failure_case"].astype(str).str.contains("TypeError")]
        raise DataError(_describe_failures(path, type_problems, cases, len(frame))) from None
    if type_problems:
        raise DataError(_describe_failures(path, type_problems, None, len(frame)))
    if unique:
        dup = frame.duplicated(list(unique), keep=False)
        if dup.any():
            lines = [file_line(i) for i in frame.index[dup][:MAX_REPORTED]]
            raise DataError(
                f"{path}: duplicated key {list(unique)} on lines {lines}"
                f"{' ...' if dup.sum() > MAX_REPORTED else ''}; expected one row per key"
            )
    return frame


def _round_trip(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def write_csv(
    frame: pd.DataFrame, path: str | os.PathLike, *, float_digits: int | None = None
) -> Path:
    """Write a table deterministically (``\\n`` line ends), atomically.

    Floats are written at full precision (the shortest text that reads back to the same
    double; whole numbers without ``.0``), so an independent recomputation can be compared
    to 1e-9; ``float_digits`` rounds to that many significant digits instead.
    """
    path = Path(path)
    float_format = _round_trip if float_digits is None else f"%.{float_digits}g"
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
    return path
