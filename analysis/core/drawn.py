"""What a saved figure draws, recorded beside it, and whether its caption names only that.

:func:`analysis.core.figures.save_figure` writes ``<name>.json`` beside ``<name>.png``: for
each panel its title, axis labels, tick labels, legend entries and labelled series, and the
figure's own texts (:func:`describe`). A caption can then be checked against the figure
(:func:`caption_problems`): every series it names by colour, ``England (black)``, must be a
label the figure draws, and every axis it names, ``x: percentile``, must be an axis label.
A caption describing another plot than the one shown fails that check.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from analysis.files import atomic_path

#: Colour words a caption uses to point at a series: ``England (black)``.
COLOURS = (
    "black",
    "blue",
    "brown",
    "green",
    "grey",
    "gray",
    "orange",
    "pink",
    "purple",
    "red",
    "teal",
    "white",
    "yellow",
)
_SERIES = re.compile(
    r"((?:[A-Z][\w'-]*)(?:\s+[A-Z][\w'-]*)*)\s+\((?:dashed\s+|solid\s+|dotted\s+)?("
    + "|".join(COLOURS)
    + r")(?:\s+(?:line|lines|points|dots|bars|band))?\)"
)
_AXIS = re.compile(r"\b([xy]):\s*([A-Za-z][\w-]*)")


def _texts(items) -> list[str]:
    return [t.get_text() for t in items if t.get_text().strip()]


_HUES = (
    (15, "red"),
    (45, "orange"),
    (70, "yellow"),
    (170, "green"),
    (200, "teal"),
    (260, "blue"),
    (300, "purple"),
    (345, "pink"),
    (360, "red"),
)


def colour_name(colour) -> str:
    """The name of :data:`COLOURS` a matplotlib colour is read as (``""`` when it has none).

    By hue, as a reader names colours: low saturation is black, grey (or white); dark reds
    and oranges are brown.
    """
    import colorsys

    from matplotlib import colors

    try:
        r, g, b = colors.to_rgb(colour)
    except (TypeError, ValueError):
        return ""
    hue, saturation, value = colorsys.rgb_to_hsv(r, g, b)
    if value < 0.2:
        return "black"
    if saturation < 0.2:
        return "white" if value > 0.95 else "grey"
    degrees = hue * 360
    name = next(n for top, n in _HUES if degrees < top)
    if name in ("red", "orange") and value < 0.55:
        return "brown"
    return name


def _colour_of(artist) -> str:
    for getter in ("get_color", "get_facecolor", "get_edgecolor"):
        if hasattr(artist, getter):
            value = getattr(artist, getter)()
            if hasattr(value, "ndim") and value.ndim == 2:
                if len(value) == 0:
                    continue
                value = value[0]
            return colour_name(value)
    return ""


def _legend_colours(legend) -> dict[str, str]:
    if legend is None:
        return {}
    handles = getattr(legend, "legend_handles", None) or getattr(legend, "legendHandles", [])
    return {
        text.get_text(): _colour_of(handle)
        for text, handle in zip(legend.get_texts(), handles, strict=False)
        if text.get_text().strip()
    }


def describe(fig, *, skip: tuple[str, ...] = ()) -> dict:
    """The texts ``fig`` draws: per panel and for the figure, ``skip`` texts left out."""
    panels = []
    colours: dict[str, str] = {}
    for ax in fig.axes:
        legend = ax.get_legend()
        series = {}
        for artist in (*ax.lines, *ax.collections, *ax.patches, *ax.containers):
            label = artist.get_label()
            if label and not label.startswith("_"):
                parts = getattr(artist, "patches", None)  # a bar container: its first bar
                series[label] = _colour_of(parts[0] if parts else artist)
        colours |= series | _legend_colours(legend)
        panels.append(
            {
                "title": ax.get_title() or ax.get_title(loc="left"),
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "xticks": _texts(ax.get_xticklabels()),
                "yticks": _texts(ax.get_yticklabels()),
                "legend": _texts(legend.get_texts()) if legend else [],
                "series": sorted(series),
                "texts": _texts(ax.texts),
            }
        )
    legends = [t for legend in fig.legends for t in _texts(legend.get_texts())]
    for legend in fig.legends:
        colours |= _legend_colours(legend)
    texts = [t for t in _texts(fig.texts) if t not in skip]
    suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) else ""
    return {
        "axes": panels,
        "legend": legends,
        "texts": texts,
        "suptitle": suptitle,
        "colours": {k: v for k, v in sorted(colours.items()) if v},
    }


def write_description(fig, path: str | os.PathLike, *, skip: tuple[str, ...] = ()) -> Path:
    """Write :func:`describe` of ``fig`` to ``path`` (JSON, sorted keys) atomically."""
    target = Path(path)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(
            json.dumps(describe(fig, skip=skip), indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
    return target


def drawn_labels(drawn: dict) -> list[str]:
    """Every label and text the figure draws (titles, axis and tick labels, legends, series)."""
    out = [*drawn.get("legend", []), *drawn.get("texts", []), drawn.get("suptitle", "")]
    for panel in drawn.get("axes", []):
        out += [panel["title"], panel["xlabel"], panel["ylabel"]]
        for key in ("xticks", "yticks", "legend", "series", "texts"):
            out += panel.get(key, [])
    return [t for t in out if t]


def caption_problems(caption: str, drawn: dict) -> list[str]:
    """What ``caption`` names that the figure does not draw, as messages (empty: none).

    A series named with its colour (``England (black)``, ``Struggling (red points)``) must be
    a label the figure draws (a legend entry, series, tick label, title or text, compared
    case-insensitively); when the figure records a colour for a legend entry or series with
    that name, one of them must be that colour (nearest of :data:`COLOURS`). An axis named as
    ``x: percentile`` must have that word in an x-axis label (``y:`` likewise).
    """
    labels = [t.lower() for t in drawn_labels(drawn)]
    problems = []
    for name, colour in _SERIES.findall(caption):
        if not any(name.lower() in label for label in labels):
            problems.append(f"caption names the series {name!r} ({colour}), which is not drawn")
            continue
        recorded = {v for k, v in drawn.get("colours", {}).items() if name.lower() in k.lower()}
        wanted = "grey" if colour == "gray" else colour
        if recorded and wanted not in recorded:
            problems.append(
                f"caption names the series {name!r} {colour}, but it is drawn "
                + " or ".join(sorted(recorded))
            )
    for axis, word in _AXIS.findall(caption):
        axes = [p[f"{axis}label"].lower() for p in drawn.get("axes", [])]
        if not any(word.lower() in label for label in axes):
            problems.append(f"caption names the {axis} axis {word!r}, no {axis}-axis label has it")
    return problems
