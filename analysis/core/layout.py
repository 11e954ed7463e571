"""The widths figures are drawn for, without importing matplotlib.

The book's text column is about :data:`WIDE` inches (660 CSS pixels at 100 per inch) on a
laptop at 1280 px and :data:`NARROW` inches on a phone at 390 px. A figure function takes a
``width`` and lays itself out for it; :func:`responsive` makes the figure it returns at
:data:`WIDE` remember how to draw itself at :data:`NARROW`, which
:func:`analysis.core.figures.save_figure` saves beside it (``<name>.narrow.png``).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable
from typing import Any

#: Inches of the book's text column on a laptop (1280 px) and on a phone (390 px), at
#: 100 CSS pixels per inch: a figure drawn at these widths is shown at its own size.
WIDE = 6.6
NARROW = 3.1
#: Points: the smallest text in any figure (12 pt at 100 px per inch is 16.7 px, above the
#: book's 16 px body text).
MIN_FONT = 12.0
#: Attribute of a figure holding the function that draws it at :data:`NARROW`.
NARROW_ATTRIBUTE = "compendium_narrow"


def is_narrow(width: float) -> bool:
    """Whether ``width`` inches is a phone's column rather than a laptop's."""
    return width < WIDE * 0.75


def wrap(text: str, width: float, *, size: float = MIN_FONT) -> str:
    """``text`` wrapped to lines that fit ``width`` inches at ``size`` points (about 0.55 em
    per character)."""
    chars = max(12, int(width * 72 / (size * 0.55)))
    return textwrap.fill(str(text), chars)


def responsive(draw: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a figure function that takes ``width=`` (inches): the figure it returns
    remembers how to draw itself at :data:`NARROW`."""

    @functools.wraps(draw)
    def wrapper(*args, width: float = WIDE, **kwargs):
        fig = draw(*args, width=width, **kwargs)
        setattr(fig, NARROW_ATTRIBUTE, functools.partial(draw, *args, width=NARROW, **kwargs))
        return fig

    return wrapper


def legend_columns(labels, width: float, *, size: float = MIN_FONT) -> int:
    """How many columns a legend of ``labels`` can have across ``width`` inches (a marker
    and its gap take about half an inch, a character about 0.55 em)."""
    labels = [str(label) for label in labels]
    if not labels:
        return 1
    widest = max(max(len(line) for line in label.split("\n")) for label in labels)
    column = widest * size * 0.55 / 72 + 0.55
    return max(1, min(len(labels), int(width * 0.95 // column)))


def key_height(labels, width: float) -> float:
    """Inches the numbered key of :func:`analysis.core.figures.category_labels` takes under
    a figure on a phone (none at the book column's width)."""
    if not is_narrow(width):
        return 0.0
    lines = sum(
        wrap(f"{i}  {label}", width * 0.92).count("\n") + 1
        for i, label in enumerate(labels, start=1)
    )
    return 0.23 * lines + 0.2
