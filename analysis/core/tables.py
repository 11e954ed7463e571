"""Publication tables for the book: numbered, captioned, readable, with pandas ``Styler``.

Every table a chapter shows goes through :class:`Tables`: it gets a number and a caption,
readable column names, formatted numbers (an estimate and its interval in one cell with
:func:`with_interval`), no index column, a missing value shown as a symbol the caption
explains, and, for a long table, the rows shown out of how many with the CSV that holds
them all. Wide tables are wrapped in a container that scrolls on its own, so every column
stays reachable on a narrow screen and the page itself never scrolls sideways.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "–"
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
    below 100 and one above (by the column's largest value).
    """
    finite = pd.to_numeric(values, errors="coerce").astype(float)
    finite = finite[np.isfinite(finite)]
    if finite.empty or bool((finite == finite.round()).all()):
        decimals = 0
    else:
        largest = float(finite.abs().max())
        decimals = 3 if largest < 1 else 2 if largest < 100 else 1

    def fmt(value: object) -> str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        if math.isnan(number):
            return MISSING
        return f"{number:,.{decimals}f}" if grouping else f"{number:.{decimals}f}"

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


def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def publication_table(
    frame: pd.DataFrame,
    *,
    label: str,
    caption: str,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    missing_meaning: str = MISSING_MEANING,
    max_rows: int | None = None,
    full_csv: str | None = None,
    wide: bool = False,
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
    missing_meaning
        What :data:`MISSING` means in this table, added to the caption when it appears.
    max_rows
        Show at most this many rows; the caption then says how many of how many and
        names ``full_csv``.
    full_csv
        The CSV holding the whole table (a file of the chapter's run).
    wide
        Lay the table out wider than the text column on purpose (class
        ``pub-table-wide``): long text columns wrap, and it scrolls in its own box.
    """
    total = len(frame)
    shown = frame.reset_index(drop=True)
    if max_rows is not None and total > max_rows:
        shown = shown.head(max_rows)
    formatters = {}
    for column in shown.columns:
        if formats and column in formats:
            formatters[column] = formats[column]
        elif pd.api.types.is_bool_dtype(shown[column]):
            formatters[column] = _text
        elif pd.api.types.is_numeric_dtype(shown[column]):
            formatters[column] = number_format(
                shown[column], grouping="year" not in str(column).lower()
            )
        else:
            formatters[column] = _text
    notes = [f"Table {label}. {caption.rstrip('.')}."]
    has_missing = bool(shown.isna().to_numpy().any()) or any(
        (shown[c].astype(str) == MISSING).any() for c in shown.columns
    )
    if has_missing:
        notes.append(f"{MISSING}: {missing_meaning}.")
    if len(shown) < total:
        where = f"; all rows in {full_csv}" if full_csv else ""
        notes.append(f"First {len(shown)} of {total} rows shown{where}.")
    elif full_csv:
        notes.append(f"Also as {full_csv}.")
    names = {c: (columns or {}).get(c, readable(c)) for c in shown.columns}
    styler = (
        shown.style.format(formatters, na_rep=MISSING, escape="html")
        .hide(axis="index")
        .relabel_index([html.escape(names[c]) for c in shown.columns], axis="columns")
        .set_caption(html.escape(" ".join(notes)))
        .set_table_attributes(f'class="pub-table{" pub-table-wide" if wide else ""}"')
    )
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    if numeric:
        styler = styler.set_properties(subset=numeric, **{"text-align": "right"})
    return styler


def table_html(styler: Styler) -> str:
    """The caption as a paragraph, then the table in a container that scrolls sideways on its
    own when needed (the caption stays readable however wide the table is)."""
    caption = styler.caption or ""
    styler.caption = None
    table = styler.to_html()
    styler.caption = caption or None
    return (
        f'<p class="pub-table-caption">{caption}</p>'
        f'<div class="pub-table-scroll" tabindex="0" role="region" aria-label="{caption[:80]}">'
        f"{table}</div>"
    )


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

    def show(self, frame: pd.DataFrame, *, caption: str, **kwargs):
        """Display the next numbered table in a notebook."""
        from IPython.display import HTML, display

        display(HTML(table_html(self.styler(frame, caption=caption, **kwargs))))
