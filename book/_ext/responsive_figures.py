"""A local Sphinx extension that shows every figure at the size it was drawn for.

The book's assembly writes ``_figures.json`` beside the pages: for each figure PNG (by the
sha256 of its bytes, which is also the name MyST-NB gives the image it writes), its width
in CSS pixels (the figure's inches at 100 px per inch) and, when the chapter drew one, the
phone version (``<name>.narrow.png``) with its own width. Each such image gets its width and
the class ``figure-wide``; the phone version is added beside it with the class
``figure-narrow``, and the book's CSS shows one or the other by the screen's width (print
shows the wide one). Sphinx copies the phone version like any other image.
"""

from __future__ import annotations

import json
from pathlib import Path

from docutils import nodes

INDEX = "_figures.json"


def _index(app) -> dict:
    cached = getattr(app, "_compendium_figures", None)
    if cached is None:
        path = Path(app.srcdir) / INDEX
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cached = {}
        app._compendium_figures = cached  # once per build (never pickled with the env)
    return cached


def _responsive(app, doctree) -> None:
    index = _index(app)
    if not index:
        return
    for image in list(doctree.findall(nodes.image)):
        entry = index.get(Path(str(image.get("uri", ""))).stem)
        if entry is None or "figure-wide" in image["classes"]:
            continue
        image["width"] = f"{entry['width']}px"
        image["classes"].append("figure-wide")
        if entry.get("narrow"):
            narrow = nodes.image(
                uri=entry["narrow"],
                width=f"{entry['narrow_width']}px",
                alt=image.get("alt", "") or "the same figure drawn for a narrow screen",
                classes=["figure-narrow"],
            )
            image.parent.insert(image.parent.index(image) + 1, narrow)


def setup(app):
    # Before Sphinx's image collector (priority 500), so the phone version is collected too.
    app.connect("doctree-read", _responsive, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
