"""Publication tables for the book: numbered, captioned, readable, with pandas ``Styler``.

Every table a chapter shows goes through :class:`Tables`: it gets a number and a caption,
readable column names, formatted numbers (an estimate and its interval in one cell with
:func:`with_interval`), no index column, a missing value shown as a symbol the caption
explains, and, for a long table, the rows shown out of how many with the CSV that holds
them all.

Every table is laid out for the text column: it takes the column's width and its text
wraps between words (never inside one), a long text cell shows its opening words with the
rest one click away (so no row grows taller than a few lines), and a long table is
collapsed under its caption with a one-line summary, its CSV linked beside it. On a screen
narrower than the table's fewest possible columns, the table scrolls inside its own box,
so the page itself never scrolls sideways.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "–"
#: Text cells longer than this many characters show their opening words and a "more" toggle.
LONG_TEXT = 120
#: Each line of a table's *Details* cell shows this many characters before its "more" toggle.
DETAIL_TEXT = 60
#: A table whose estimated height is over this many pixels (two screens of 900 px, with a
#: margin under the three that a browser test allows) is collapsed under its caption.
COLLAPSE_HEIGHT = 1800
#: What :data:`MISSING` means unless a table says otherwise.
MISSING_MEANING = "not applicable or not published"


def readable(name: str) -> str:
    """A column name for readers: ``ci_lower`` gives ``CI lower``."""
    words = str(name).replace("_", " ").strip().split(" ")
    short = {"ci": "CI", "cv": "CV", "sd": "SD", "iqr": "IQR", "id": "ID", "qof": "QOF"}
    words = [short.get(w.lower(), w) for w in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def number_format(values: pd.Series, *, grouping: bool = True) -> Callable[[object], str]:
    """A formatter with sensible decimals for a numeric column.

    Whole numbers print without decimals and with thousands separators (unless
    ``grouping`` is False, as for years); other numbers get three decimals below 1, two
    below 100 and one above (by the column's largest value), and a column of numbers all
    below 0.01 in size gets two significant figures (``3.2e-05``), so a small bias never
    prints as ``0.000``. A value that rounds to zero prints without a minus sign.
    """
    finite = pd.to_numeric(values, errors="coerce").astype(float)
    finite = finite[np.isfinite(finite)]
    tiny = False
    if finite.empty or bool((finite == finite.round()).all()):
        decimals = 0
    else:
        largest = float(finite.abs().max())
        tiny = largest < 0.01
        decimals = 3 if largest < 1 else 2 if largest < 100 else 1

    def fmt(value: object) -> str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return MISSING
        if tiny and number != 0:
            return f"{number:.2g}"
        text = f"{number:,.{decimals}f}" if grouping else f"{number:.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text

    return fmt


def with_interval(
    frame: pd.DataFrame,
    estimate: str,
    lower: str,
    upper: str,
    *,
    name: str | None = None,
    decimals: int = 3,
) -> pd.DataFrame:
    """Replace three columns with one text column ``"0.123 (0.100 to 0.150)"``.

    A missing estimate gives :data:`MISSING`; a missing bound gives the estimate alone.
    The new column takes the estimate's place.
    """

    def cell(e: float, lo: float, hi: float) -> str:
        if pd.isna(e):
            return MISSING
        text = f"{e:,.{decimals}f}"
        if pd.isna(lo) or pd.isna(hi):
            return text
        return f"{text} ({lo:,.{decimals}f} to {hi:,.{decimals}f})"

    values = [
        cell(e, lo, hi)
        for e, lo, hi in zip(frame[estimate], frame[lower], frame[upper], strict=True)
    ]
    out = frame.drop(columns=[lower, upper]).copy()
    out[estimate] = values
    return out.rename(columns={estimate: name or f"{estimate} (interval)"})


def _text(value: object, missing: str = MISSING) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return missing
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


_BREAK_AFTER = re.compile(r"([/_.:;,=|+*])(?=[^\s])")
_LONG_TOKEN = re.compile(r"\S{12,}")


def _breakable(text: str) -> str:
    """``text`` escaped, with a line-break opportunity (``<wbr>``) after the separators of a
    long token (a path, an identifier, a list without spaces), so it wraps at a separator
    rather than widening its column or breaking inside a word."""
    parts = []
    last = 0
    for match in _LONG_TOKEN.finditer(text):
        parts.append(html.escape(text[last : match.start()], quote=False))
        pieces = _BREAK_AFTER.split(match.group())
        parts.append(
            "".join(
                html.escape(p, quote=False) + ("<wbr>" if i % 2 else "")
                for i, p in enumerate(pieces)
            )
        )
        last = match.end()
    parts.append(html.escape(text[last:], quote=False))
    return "".join(parts)


def cell_html(text: str, *, limit: int = LONG_TEXT) -> str:
    """``text`` escaped for HTML; beyond ``limit`` characters, its opening words with the
    rest behind a ``<details>`` toggle, so a long excerpt never makes a row tall.

    >>> cell_html("a < b")
    'a &lt; b'
    """
    if len(text) <= limit:
        return _breakable(text)
    head = text[: int(limit * 0.6)].rsplit(" ", 1)[0] or text[: int(limit * 0.6)]
    return (
        f'<details class="pub-cell-more"><summary>{_breakable(head)} …</summary>'
        f"… {_breakable(text[len(head) :].lstrip())}</details>"
    )


def _escaped(formatter: Callable[[object], str]) -> Callable[[object], str]:
    """A caller's formatter whose text is made HTML-safe (and long text collapsible)."""
    return lambda value: cell_html(str(formatter(value)))


def _fold_details(
    shown: pd.DataFrame, columns: list[str], names: Mapping[str, str], missing: str
) -> pd.DataFrame:
    """``shown`` with ``columns`` replaced by one ``details`` column of ``name: value`` lines."""

    numbers = {
        c: number_format(shown[c], grouping="year" not in str(c).lower())
        for c in columns
        if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])
    }

    def cell(row: pd.Series) -> str:
        lines = []
        for column in columns:
            value = row[column]
            text = (
                _text(value, missing)
                if column not in numbers or pd.isna(value)
                else (numbers[column](value))
            )
            if text != missing and text.strip():
                lines.append(
                    f"<b>{html.escape(names[column])}:</b> {cell_html(text, limit=DETAIL_TEXT)}"
                )
        return "<br>".join(lines) or missing

    out = shown.drop(columns=columns)
    out["details"] = shown.apply(cell, axis=1) if len(shown) else []
    return out


def publication_table(
    frame: pd.DataFrame,
    *,
    label: str,
    caption: str,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    missing: str = MISSING,
    missing_meaning: str = MISSING_MEANING,
    max_rows: int | None = None,
    full_csv: str | None = None,
    wide: bool = False,
    details: Sequence[str] = (),
    fold_constant: bool = True,
) -> Styler:
    """A ``Styler`` of ``frame`` laid out as a numbered, captioned publication table.

    Parameters
    ----------
    frame
        The table; its index is dropped (put anything that matters in a column).
    label
        The table's number as shown, such as ``"S3"`` (caption ``Table S3. ...``).
    caption
        What the table shows and its data tier.
    columns
        Readable names for columns (others are made readable by :func:`readable`).
    formats
        Formatters per (original) column name; numeric columns default to
        :func:`number_format`, others to text with :data:`MISSING` for a missing value.
    missing
        The mark of a missing value (:data:`MISSING` unless a strand has its own).
    missing_meaning
        What ``missing`` means in this table, added to the caption when it appears.
    max_rows
        Show at most this many rows; the caption then says how many of how many and
        names ``full_csv``.
    full_csv
        The CSV holding the whole table (a file of the chapter's run).
    wide
        A table of many text columns (class ``pub-table-wide``): set in smaller type so
        that it still fits the text column.
    details
        Secondary columns folded into one last *Details* column, one ``name: value`` line
        each (missing values left out), so that a table of many columns fits the text
        column with the columns a reader needs most first.
    fold_constant
        A text column with one value in every row (a data tier, a method) leaves the table
        and is stated once in the caption.
    """
    total = len(frame)
    shown = frame.reset_index(drop=True)
    if max_rows is not None and total > max_rows:
        shown = shown.head(max_rows)
    names = {c: (columns or {}).get(c, readable(c)) for c in shown.columns}
    constant = []
    if fold_constant and len(shown) > 2:
        constant = [
            c
            for c in shown.columns
            if c not in details
            and not pd.api.types.is_numeric_dtype(shown[c])
            and shown[c].notna().all()
            and shown[c].astype(str).nunique() == 1
        ]
    folded = [f"{names[c]}: {_text(shown[c].iloc[0])}" for c in constant]
    shown = shown.drop(columns=constant)
    if details:
        shown = _fold_details(shown, [c for c in details if c in shown.columns], names, missing)
        names["details"] = (columns or {}).get("details", "Details")
    formatters = {}
    as_text = _escaped(lambda value: _text(value, missing))
    for column in shown.columns:
        if details and column == "details":
            formatters[column] = str  # already HTML
        elif formats and column in formats:
            formatters[column] = _escaped(formats[column])
        elif pd.api.types.is_bool_dtype(shown[column]):
            formatters[column] = as_text
        elif pd.api.types.is_numeric_dtype(shown[column]):
            formatters[column] = number_format(
                shown[column], grouping="year" not in str(column).lower()
            )
        else:
            formatters[column] = as_text
    notes = [f"Table {label}. {caption.rstrip('.')}." if label else f"{caption.rstrip('.')}."]
    has_missing = bool(shown.isna().to_numpy().any()) or any(
        (shown[c].astype(str) == missing).any() for c in shown.columns
    )
    if folded:
        notes.append("In every row: " + "; ".join(folded) + ".")
    if has_missing:
        notes.append(f"{missing}: {missing_meaning}.")
    if len(shown) < total:
        where = f"; all rows in {full_csv}" if full_csv else ""
        notes.append(f"First {len(shown)} of {total} rows shown{where}.")
    elif full_csv:
        notes.append(f"Also as {full_csv}.")
    styler = (
        shown.style.format(formatters, na_rep=missing)
        .hide(axis="index")
        .relabel_index([html.escape(names[c]) for c in shown.columns], axis="columns")
        .set_caption(html.escape(" ".join(notes)))
        .set_table_attributes(
            f'class="pub-table{" pub-table-wide" if wide else ""}'
            f'{" pub-table-details-column" if details else ""}"'
        )
    )
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    return styler


def _lines(value: object, share: int) -> int:
    """Lines a cell takes in a column ``share`` characters wide: each ``<br>`` line of a
    Details cell apart, a long text as its collapsed opening words."""
    total = 0
    for part in str(value).split("<br>"):
        plain = html.unescape(re.sub(r"<[^>]+>", "", part))
        shown = min(len(plain), int(LONG_TEXT * 0.6) + 6)
        total += max(1, math.ceil(shown / share))
    return total


def estimated_height(frame: pd.DataFrame, *, column_chars: int = 110) -> float:
    """Pixels a table of ``frame`` takes in the text column, roughly: each row as many
    19 px lines as its tallest cell needs in an equal share of ``column_chars`` characters."""
    if frame.empty:
        return 0.0
    share = max(6, column_chars // max(1, frame.shape[1]))
    lines = frame.map(lambda v: _lines(v, share)).to_numpy().max(axis=1)
    return float((lines * 19 + 8).sum() + 40)


def table_html(styler: Styler, *, summary: str | None = None) -> str:
    """The caption as a paragraph, then the table in a container that scrolls sideways on
    its own should a screen be too narrow for it.

    A table taller than :data:`COLLAPSE_HEIGHT` (by :func:`estimated_height`) is collapsed
    (``<details>``) under its caption with a one-line ``summary`` (by default its size), so
    a page's tables never push the narrative screens away; the chapter links its CSV beside
    it.
    """
    caption = styler.caption or ""
    styler.caption = None
    table = styler.to_html()
    styler.caption = caption or None
    rows, columns = styler.data.shape
    collapse = estimated_height(styler.data) > COLLAPSE_HEIGHT
    box = (
        f'<div class="pub-table-scroll" tabindex="0" role="region" aria-label="{caption[:80]}">'
        f"{table}</div>"
    )
    if collapse:
        shown = summary or f"{rows:,} rows of {columns} columns"
        box = (
            f'<details class="pub-table-details"><summary>{html.escape(shown)}: '
            f"show the table</summary>{box}</details>"
        )
    return f'<p class="pub-table-caption">{caption}</p>{box}'


class Tables:
    """Numbers and shows a chapter's tables in order: ``Table <prefix>1``, ``<prefix>2``...

    >>> tables = Tables("S")
    >>> tables.show(frame, caption="Published: key figures")  # doctest: +SKIP
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0

    def styler(self, frame: pd.DataFrame, *, caption: str, **kwargs) -> Styler:
        """The next numbered table as a ``Styler`` (see :func:`publication_table`)."""
        self.count += 1
        return publication_table(
            frame, label=f"{self.prefix}{self.count}", caption=caption, **kwargs
        )

    def show(self, frame: pd.DataFrame, *, caption: str, summary: str | None = None, **kwargs):
        """Display the next numbered table in a notebook (``summary``: see :func:`table_html`)."""
        from IPython.display import HTML, display

        styler = self.styler(frame, caption=caption, **kwargs)
        display(HTML(table_html(styler, summary=summary)))
