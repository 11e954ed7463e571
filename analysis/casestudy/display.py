"""Tables as the chapter shows them: readable column names, no index, no NaN, numbered captions."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from pandas.io.formats.style import Styler

MISSING = "—"
"""Shown for a missing value: a lost cell, a value not reported, or not applicable."""


class Captions:
    """Numbers table captions in order: ``Table CS-1. ...``, ``Table CS-2. ...``."""

    def __init__(self, prefix: str = "Table CS") -> None:
        self.prefix = prefix
        self.count = 0

    def __call__(self, text: str) -> str:
        self.count += 1
        return f"{self.prefix}-{self.count}. {text}"


def readable(name: str) -> str:
    """``n_models`` -> ``N models``: a column name for a reader."""
    text = str(name).replace("_", " ")
    return text[:1].upper() + text[1:]


def styled(
    frame: pd.DataFrame,
    caption: str,
    *,
    names: Mapping[str, str] | None = None,
    precision: int = 2,
) -> Styler:
    """``frame`` with readable column names, no index, missing values as :data:`MISSING`.

    Parameters
    ----------
    frame
        The table (its index is hidden, so keep identifying columns as columns).
    caption
        The numbered caption (see :class:`Captions`).
    names
        Column names to use instead of :func:`readable` ones.
    precision
        Decimal places for floats.
    """
    names = dict(names or {})
    shown = frame.rename(columns={c: names.get(c, readable(c)) for c in frame.columns})
    return (
        shown.style.hide(axis="index")
        .format(na_rep=MISSING, precision=precision)
        .set_caption(caption)
        .set_table_styles(
            [{"selector": "caption", "props": "caption-side: top; text-align: left;"}]
        )
    )
