"""Saving figures deterministically, labelled with where their data came from, for the width
they are shown at.

Every figure carries its data tier (``published``, ``synthetic``, ``user``, ``real`` or
``coded``, the compendium's own coding of a published report) in a corner stamp, so a
synthetic result or the compendium's own coding can never be mistaken for a study finding
or a published figure, and is written as PNG and SVG with no dates or software versions
in the metadata, so two runs give byte-identical files.

Figures are drawn for the width they are shown at. The book's text column is about
:data:`WIDE` inches (660 CSS pixels at 100 per inch) on a laptop and :data:`NARROW` inches
on a phone; a figure function takes a ``width`` and lays itself out for it (panels side by
side or one above another). :func:`save_figure` given such a function draws both: the PNG
and SVG at :data:`WIDE`, and ``<name>.narrow.png`` at :data:`NARROW`, which the book shows
on a narrow screen instead. No text in a figure is smaller than :data:`MIN_FONT` points,
which at the width shown is at least the book's body text (16 px); each PNG records its
smallest text in pixels (``compendium:min-text-px``) so a browser test can check the size
as shown.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis.core.layout import (  # noqa: E402, F401  (re-exported for figure modules)
    MIN_FONT,
    NARROW,
    NARROW_ATTRIBUTE,
    WIDE,
    is_narrow,
    legend_columns,
    responsive,
    wrap,
)
from analysis.files import atomic_path  # noqa: E402

TIERS = {
    "published": "Data: published figures (transcribed)",
    "synthetic": "Data: SYNTHETIC (illustrative, not study findings)",
    "user": "Data: user-supplied",
    "real": "Data: REAL public data (OGL v3; see caption for publisher)",
    "coded": "Data: this compendium's own coding of a published report (not published figures)",
}

#: Pixels per inch of the saved PNG: twice the 100 CSS pixels per inch, for sharp screens.
DPI = 200
#: PNG text chunk holding the smallest text of the image, in the image's own pixels.
MIN_TEXT_KEY = "compendium:min-text-px"
#: Inches of white space around a saved figure (within the width it was drawn for).
PAD = 0.03
NARROW_SUFFIX = ".narrow.png"

plt.rcParams.update(
    {
        "svg.hashsalt": "compendium",
        "figure.dpi": 100,
        "savefig.dpi": DPI,
        "font.size": MIN_FONT,
        "axes.titlesize": MIN_FONT,
        "axes.labelsize": MIN_FONT,
        "xtick.labelsize": MIN_FONT,
        "ytick.labelsize": MIN_FONT,
        "legend.fontsize": MIN_FONT,
        "legend.title_fontsize": MIN_FONT,
        "figure.titlesize": MIN_FONT + 1,
    }
)

Draw = Callable[[float], plt.Figure]


def tier_label(tier: str) -> str:
    """The stamp text for a data tier; raises for an unknown tier."""
    if tier not in TIERS:
        raise ValueError(f"unknown data tier {tier!r}; expected one of {sorted(TIERS)}")
    return TIERS[tier]


def stamp(fig: plt.Figure, tier: str) -> plt.Figure:
    """Write the data-tier label over the figure's top-right corner, wrapped to its width."""
    colour = "#b00020" if tier == "synthetic" else "#555555"
    label = wrap(tier_label(tier), fig.get_figwidth() * 0.95)
    # Above the figure's own area (the saved image grows to hold it), so that it never
    # covers a title, a legend or an axis label, and is read first.
    import matplotlib.transforms as mtransforms

    above = mtransforms.offset_copy(fig.transFigure, fig=fig, y=6, units="points")
    fig.text(
        0.995, 1.0, label, ha="right", va="bottom", fontsize=MIN_FONT, color=colour, transform=above
    )
    return fig


def legible(fig: plt.Figure) -> float:
    """Raise every text of ``fig`` to at least :data:`MIN_FONT` points; return the smallest
    text's size in points."""
    sizes = []
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        if text.get_fontsize() < MIN_FONT:
            text.set_fontsize(MIN_FONT)
        sizes.append(text.get_fontsize())
    return min(sizes, default=MIN_FONT)


def fit_width(fig: plt.Figure, width: float | None = None) -> plt.Figure:
    """Narrow ``fig`` until its saved (tight) width is at most ``width`` inches (its own
    width by default): labels, legends or the stamp reaching past the edge would otherwise
    widen the image, which the book then shows smaller, text and all."""
    target = width or fig.get_figwidth()
    original = fig.get_size_inches().copy()
    for _ in range(4):
        fig.draw_without_rendering()  # lays the figure out (constrained layout) first
        tight = fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * PAD
        if tight <= target + 0.02:
            return fig
        narrower = fig.get_figwidth() - (tight - target) - 0.01
        if narrower < target * 0.7:
            break
        fig.set_size_inches(narrower, fig.get_figheight())
    # Text wider than the figure cannot be fitted by narrowing it: keep the drawn size (the
    # browser test reports the figure as shown smaller).
    fig.set_size_inches(*original)
    return fig


def _save_png(fig: plt.Figure, target: Path, smallest: float) -> None:
    metadata = {"Software": None, MIN_TEXT_KEY: f"{smallest * DPI / 72:.1f}"}
    with atomic_path(target) as tmp:
        fig.savefig(
            tmp, format="png", dpi=DPI, metadata=metadata, bbox_inches="tight", pad_inches=PAD
        )


def save_figure(figure: plt.Figure | Draw, path: str | os.PathLike, tier: str) -> list[Path]:
    """Stamp a figure with its tier and save ``<path>.png`` and ``<path>.svg`` atomically.

    ``figure`` is a drawn figure, or a function of the width in inches that draws one. A
    function, or a figure from a :func:`responsive` figure function, is also drawn at
    :data:`NARROW` and saved as ``<path>.narrow.png`` (shown on phones). ``path`` is given
    without a suffix. Returns the written paths: the PNG, the SVG, then any narrow PNG. What
    the figure draws (titles, axis labels, legends, labelled series) is recorded in
    ``<path>.json`` beside them, so its caption can be checked against it
    (:mod:`analysis.core.drawn`).
    """
    drawn = figure(WIDE) if not isinstance(figure, plt.Figure) else figure
    narrow_draw = getattr(drawn, NARROW_ATTRIBUTE, None)
    if drawn is not figure:
        narrow_draw = functools.partial(figure, NARROW)
    drawn_width = drawn.get_figwidth()
    stamp(drawn, tier)
    stamped = drawn.texts[-1].get_text()
    smallest = legible(drawn)
    fit_width(drawn, drawn_width)
    base = Path(path)
    written = [base.with_suffix(".png"), base.with_suffix(".svg")]
    _save_png(drawn, written[0], smallest)
    with atomic_path(written[1]) as tmp:
        drawn.savefig(tmp, format="svg", metadata={"Date": None}, bbox_inches="tight")
    # What the figure draws, for its caption's check (analysis.core.drawn); the stamp is not
    # part of the drawing.
    from analysis.core.drawn import write_description

    write_description(drawn, base.with_suffix(".json"), skip=(tier_label(tier), stamped))
    if drawn is not figure:
        plt.close(drawn)
    if narrow_draw is not None:
        narrow = narrow_draw()
        narrow_width = narrow.get_figwidth()
        stamp(narrow, tier)
        narrow_smallest = legible(narrow)
        fit_width(narrow, narrow_width)
        written.append(base.with_name(base.name + NARROW_SUFFIX))
        _save_png(narrow, written[-1], narrow_smallest)
        plt.close(narrow)
    return written


def category_labels(ax, positions, labels, *, width: float) -> int:
    """Label the rows of a horizontal chart: tick labels wrapped to two fifths of ``width``
    beside the rows at the book column's width; on a phone, numbers beside the rows and a
    numbered key under the figure (its width is the chart's then). Returns the most lines
    a tick label takes, for the caller's row height."""
    labels = [str(label) for label in labels]
    if not is_narrow(width):
        wrapped = [wrap(label, width * 0.4) for label in labels]
        ax.set_yticks(list(positions), wrapped)
        return max((w.count("\n") + 1 for w in wrapped), default=1)
    positions = list(positions)
    # Numbered from the top of the chart down, as the key under it is read.
    order = sorted(
        range(len(positions)), key=lambda i: positions[i], reverse=not ax.yaxis_inverted()
    )
    number = {i: n for n, i in enumerate(order, start=1)}
    ax.set_yticks(positions, [str(number[i]) for i in range(len(positions))])
    key = "\n".join(
        wrap(f"{number[i]}  {labels[i]}", width * 0.92).replace("\n", "\n     ") for i in order
    )
    ax.figure.supxlabel(key, x=0.02, ha="left", fontsize=MIN_FONT, color="#333333")
    return 1


def place_legend(fig, ax, handles, labels, *, width: float, title: str | None = None) -> None:
    """A legend under the figure at the book column's width; on a phone over it, leaving the
    space under it to the numbered key of :func:`category_labels` (for a figure without a
    suptitle, which would share the top)."""
    labels = [wrap(label, width * 0.45) for label in labels]
    where = "outside upper center" if is_narrow(width) else "outside lower center"
    fig.legend(
        handles, labels, loc=where, ncol=legend_columns(labels, width), frameon=False, title=title
    )
