"""The case-study chapter's tables, through the book's one table renderer.

The renderer is :mod:`analysis.core.tables`.

``styled(frame, caption("..."))`` shows a numbered publication table (``Table CS-1. ...``):
readable column names, no index, the case-study strand's missing-value mark, long text cells
and long tables collapsed, laid out for the text column like every other table of the book.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.core import tables as tb

MISSING = "—"
"""Shown for a missing value: a lost cell, a value not reported, or not applicable."""
MISSING_MEANING = "lost in the plain text, not reported or not applicable"


class Caption(str):
    """A caption text that knows its table number (``label``), as :class:`Captions` makes it."""

    label: str
    text: str


class Captions:
    """Numbers table captions in order: ``Table CS-1. ...``, ``Table CS-2. ...``."""

    def __init__(self, prefix: str = "Table CS") -> None:
        self.prefix = prefix
        self.count = 0

    def __call__(self, text: str) -> Caption:
        self.count += 1
        caption = Caption(f"{self.prefix}-{self.count}. {text}")
        caption.label = f"{self.prefix.removeprefix('Table ')}-{self.count}"
        caption.text = text
        return caption


def readable(name: str) -> str:
    """``n_models`` -> ``N models``: a column name for a reader."""
    text = str(name).replace("_", " ")
    return text[:1].upper() + text[1:]


class StyledTable:
    """A numbered publication table that a notebook displays (``_repr_html_``)."""

    def __init__(self, styler, summary: str | None = None) -> None:
        self.styler = styler
        self.summary = summary

    def _repr_html_(self) -> str:
        return tb.table_html(self.styler, summary=self.summary)

    def to_html(self) -> str:
        return self._repr_html_()


def _fixed(decimals: int):
    def fmt(value: object) -> str:
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return str(value)
        if pd.isna(number):
            return MISSING
        text = f"{number:,.{decimals}f}"
        return text[1:] if text.startswith("-") and float(text.replace(",", "")) == 0 else text

    return fmt


def styled(
    frame: pd.DataFrame,
    caption: str,
    *,
    names: Mapping[str, str] | None = None,
    precision: int = 2,
    summary: str | None = None,
    details: list[str] | tuple[str, ...] = (),
) -> StyledTable:
    """``frame`` as a numbered publication table (:func:`.tables.publication_table`).

    Parameters
    ----------
    frame
        The table (its index is dropped, so keep identifying columns as columns).
    caption
        The numbered caption (see :class:`Captions`); a plain string is shown unnumbered.
    names
        Column names to use instead of :func:`readable` ones.
    precision
        Decimal places for columns of non-whole numbers.
    summary
        The one line shown when the table is long enough to be collapsed.
    details
        Secondary columns folded into one last *Details* column (see
        :func:`analysis.core.tables.publication_table`).
    """
    label = getattr(caption, "label", None)
    text = getattr(caption, "text", str(caption))
    columns = {c: (names or {}).get(c, readable(c)) for c in frame.columns}
    formats = {
        c: _fixed(precision)
        for c in frame.columns
        if pd.api.types.is_float_dtype(frame[c])
        and not bool((frame[c].dropna() == frame[c].dropna().round()).all())
    }
    styler = tb.publication_table(
        frame,
        label=label or "",
        caption=text,
        columns=columns,
        formats=formats,
        missing=MISSING,
        missing_meaning=MISSING_MEANING,
        details=details,
    )
    return StyledTable(styler, summary)
